"""Stage 1: evaluate ``pyoxidizer.bzl`` (Starlark) into dialect objects and resolved targets.

``engine`` is the only module that touches the Starlark engine (xingque);
``dialect`` holds PyOxidizer's types and globals as thin façades over the
records of later stages; ``targets`` implements target registration and
resolution; ``discovery`` finds the config file.
"""
