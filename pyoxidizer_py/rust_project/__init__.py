"""Stage 5: render ``templates/`` into a Rust project and run cargo on it."""
