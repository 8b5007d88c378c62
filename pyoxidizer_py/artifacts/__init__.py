"""Stage 4: write the artifacts directory the Rust build consumes: libpython,
``pyo3-build-config-file.txt``, ``default_python_config.rs``, resources, ``COPYING.txt``.
"""
