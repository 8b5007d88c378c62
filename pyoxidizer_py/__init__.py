"""pyoxidizer-py: build self-contained executables that embed CPython.

The package is split by stage, in the order data flows through a build:
``config`` (Starlark evaluation) -> ``distribution`` (which CPython) ->
``resources`` (what Python code and data go in) -> ``artifacts`` (files the
Rust build consumes) -> ``rust_project`` (render templates, run cargo).
``cli`` is a thin layer over those stages.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
