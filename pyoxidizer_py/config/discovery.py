"""Find the ``pyoxidizer.bzl`` a command works on (https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_locating.html).

Order: ``PYOXIDIZER_CONFIG`` (used as is); the ancestors of ``OUT_DIR`` when set
(cargo build scripts); the ancestors of the start directory (``--path``, or
``CARGO_MANIFEST_DIR`` for build scripts). A start path that is a file is used as is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pyoxidizer_py import logs
from pyoxidizer_py.errors import ConfigError

__all__ = ["CONFIG_FILENAME", "PYPROJECT_FILENAME", "find_config", "find_zero_config_dir"]

CONFIG_FILENAME = "pyoxidizer.bzl"
PYPROJECT_FILENAME = "pyproject.toml"


def _search_up(start: Path) -> Path | None:
    for d in [start, *start.parents]:
        candidate = d / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def find_config(start: Path, env: Mapping[str, str] | None = None) -> Path:
    """Locate the config file.

    Args:
        start: the directory to search from (or a config file path).
        env: environment to read (default: ``os.environ``).

    Returns:
        The config file path.

    Raises:
        ConfigError: no config file was found (the message names where it looked).
    """
    environ = os.environ if env is None else env
    explicit = environ.get("PYOXIDIZER_CONFIG")
    if explicit:
        logs.logger(__name__).info("using config file from PYOXIDIZER_CONFIG: %s", explicit)
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"PYOXIDIZER_CONFIG names {path}, which is not a file")
        return path
    if start.is_file():
        return start
    out_dir = environ.get("OUT_DIR")
    if out_dir:
        logs.logger(__name__).info("looking for config file in ancestry of %s", out_dir)
        found = _search_up(Path(out_dir).resolve())
        if found:
            return found
    found = _search_up(start.resolve())
    if found is None:
        raise ConfigError(
            f"unable to find {CONFIG_FILENAME} at {start} or in any directory above it",
            hint="create one with `pyoxidizer-py init-config-file DIR`, or name its directory "
            "(build and run: --path DIR; list-targets: DIR)",
        )
    return found


def find_zero_config_dir(start: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The project directory of a zero-configuration build for ``start``, or None when a
    ``pyoxidizer.bzl`` applies.

    From ``start`` (``--path``) upwards, the first directory holding a ``pyoxidizer.bzl`` or a
    ``pyproject.toml`` decides: a ``pyoxidizer.bzl`` wins (None); a ``pyproject.toml`` alone gives
    its directory. A ``start`` that is a ``pyproject.toml`` file gives its directory;
    ``PYOXIDIZER_CONFIG`` or a ``start`` naming any other file gives None. Only the file system
    is looked at (``config.pyproject`` reads the file), so commands that evaluate a
    ``pyoxidizer.bzl`` never import the pyproject stack.

    Args:
        start: a directory, or a file.
        env: environment (default ``os.environ``).

    Returns:
        The absolute directory holding the deciding ``pyproject.toml``, or None.
    """
    environ = os.environ if env is None else env
    if environ.get("PYOXIDIZER_CONFIG"):
        return None
    if start.is_file():
        return start.resolve().parent if start.name == PYPROJECT_FILENAME else None
    for d in [start.resolve(), *start.resolve().parents]:
        if (d / CONFIG_FILENAME).is_file():
            return None
        if (d / PYPROJECT_FILENAME).is_file():
            return d
    return None
