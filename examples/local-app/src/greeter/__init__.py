"""A tiny application used by the local-app example."""
