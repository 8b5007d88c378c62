"""Where pyoxidizer-py keeps state between runs: the cache root and the build work dirs.

Both are read from the environment at call time (never at import time), so a caller such as
a build system that clears the environment (Pants runs the tool under ``env -i``) gets the
same answers as a shell.

Cache root, first match wins:

1. ``PYOXIDIZER_PY_CACHE_DIR``: used as is;
2. ``PYOXIDIZER_CACHE_DIR`` (PyOxidizer's variable, set by Pants' ``pyoxidizer_binary`` to a
   named cache): the subdirectory ``pyoxidizer-py/`` of it, so a directory shared with
   PyOxidizer keeps its own files and ``cache-clear`` deletes only ours;
3. the platform user cache dir for ``pyoxidizer-py`` (``platformdirs``; on Linux
   ``$XDG_CACHE_HOME/pyoxidizer-py`` or ``~/.cache/pyoxidizer-py``, where ``~`` comes from
   ``HOME`` or else the password database).

Work dirs (intermediates of ``build``/``run``: the generated Rust project, the artifacts,
cargo's target dir, the bytecode cache, install manifests) live outside the build path, under
``--work-dir DIR`` / ``PYOXIDIZER_PY_WORK_DIR`` or else ``<cache root>/work``, one
subdirectory per config (see ``config_work_dir``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from pyoxidizer_py.errors import PyOxidizerError

__all__ = [
    "CACHE_DIR_ENV",
    "PYOXIDIZER_CACHE_DIR_ENV",
    "WORK_DIR_ENV",
    "cache_root",
    "config_identity",
    "config_work_dir",
    "work_root",
]

CACHE_DIR_ENV = "PYOXIDIZER_PY_CACHE_DIR"
PYOXIDIZER_CACHE_DIR_ENV = "PYOXIDIZER_CACHE_DIR"
WORK_DIR_ENV = "PYOXIDIZER_PY_WORK_DIR"
_APP = "pyoxidizer-py"


def _env_path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name, "").strip()
    return Path(os.path.abspath(os.path.expanduser(value))) if value else None


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache root (see the module docstring for the order).

    Args:
        environ: the environment to read (default: ``os.environ``, read now).

    Returns:
        An absolute path (not created here).

    Raises:
        PyOxidizerError: no variable is set and the platform gives no absolute user cache dir
            (no ``HOME``, ``XDG_CACHE_HOME`` or password database entry for this user).
    """
    env = os.environ if environ is None else environ
    explicit = _env_path(env, CACHE_DIR_ENV)
    if explicit is not None:
        return explicit
    shared = _env_path(env, PYOXIDIZER_CACHE_DIR_ENV)
    if shared is not None:
        return shared / _APP
    try:
        found = platformdirs.user_cache_dir(_APP, appauthor=False)
    except RuntimeError:  # newer platformdirs: "could not determine the home directory"
        found = ""
    # Without HOME and a password database entry, os.path.expanduser leaves "~" as is and older
    # platformdirs return a relative "~/.cache/...": never write there.
    if not os.path.isabs(found):
        raise PyOxidizerError(
            "no cache location: HOME is not set and the user cache directory is unknown",
            hint=f"set {CACHE_DIR_ENV} (or {PYOXIDIZER_CACHE_DIR_ENV}) to a writable directory",
        )
    return Path(found)


def work_root(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The directory under which per-config work dirs live.

    Args:
        explicit: ``--work-dir`` (wins when given).
        environ: the environment (default ``os.environ``): ``PYOXIDIZER_PY_WORK_DIR``, else the
            cache root's ``work/``.

    Returns:
        An absolute path (not created here).

    Raises:
        PyOxidizerError: no work dir was named and there is no cache location (``cache_root``).
    """
    env = os.environ if environ is None else environ
    if explicit is not None:
        return Path(os.path.abspath(explicit))
    named = _env_path(env, WORK_DIR_ENV)
    if named is not None:
        return named
    return cache_root(env) / "work"


def config_identity(config_path: Path, root: Path) -> str:
    """The string a config's work dir is keyed by.

    Normally the config's absolute path. When the work root lies inside the config's directory
    (a build system's fresh sandbox holding both, as Pants' ``pyoxidizer_binary`` does: cwd is a
    new directory with ``pyoxidizer.bzl`` and ``.cache/pyoxidizer`` linked to a persistent named
    cache), the sandbox path changes on every run, so the key is the config's path relative to
    that directory instead and rebuilds in the next sandbox stay incremental.

    Args:
        config_path: the config file.
        root: the work root in use (``work_root``).

    Returns:
        ``"path:<absolute path>"`` or ``"sandbox:<relative path>"``.
    """
    config = Path(os.path.abspath(config_path))
    sandbox = os.path.realpath(config.parent)
    # Compare real paths of the ancestors (the last components may be links into a
    # persistent cache, which is the point of them).
    for ancestor in Path(os.path.abspath(root)).parents:
        if os.path.realpath(ancestor) == sandbox:
            return f"sandbox:{config.name}"
    return f"path:{config}"


def config_work_dir(
    config_path: Path, *, explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The work dir of one config: ``<real work root>/<config dir name>-<16 hex digits>``.

    The digits are the start of the sha256 of ``config_identity``; the readable prefix only
    helps a human find it. Triple, profile and executable name are subdirectories below it
    (``<triple>/<profile>/<exe>/``), shared parts (``cargo-target/``, ``bytecode-cache/``) sit
    at its top.

    Args:
        config_path: the config file.
        explicit: ``--work-dir``.
        environ: the environment (default ``os.environ``).

    Returns:
        An absolute path (not created here).

    Raises:
        PyOxidizerError: no work dir was named and there is no cache location.
    """
    root = work_root(explicit, environ)
    identity = config_identity(config_path, root)
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    if identity.startswith("sandbox:"):
        stem = "sandbox"
    else:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(os.path.abspath(config_path)).parent.name)[:40] or "config"
    # Through symbolic links to where it really is: cargo keys its fingerprints (and PyO3 its
    # rebuilds) on absolute paths, and a sandbox reaches a persistent cache through a link whose
    # own path changes every run.
    return Path(os.path.realpath(root)) / f"{stem}-{digest}"
