"""Cache of ``pip_install`` results for pinned requirements (incremental and offline rebuilds).

A rebuild after a Python-only edit evaluates the config again, and ``pip_install`` would run pip
again: a second or more with pip's own cache, a failure without network. When every requirement
of a ``pip_install`` call is pinned (``name==version``, directly or in ``-r``/``-c`` files), the
installed tree is kept under ``<cache root>/pip-installs/<key>/`` and reused. The key covers the
target interpreter (path, version, triple, bytecode magic), every argument (requirement files by
content), the extra environment and pip's ``PIP_*`` variables.

Transitive dependencies are those pip resolved the first time; pin them too (a lock file) to
control them, and run ``pyoxidizer-py cache-clear`` to start over. Anything not reproducible
(an unpinned or local requirement, ``-e``, ``--upgrade``, local ``--find-links``) runs pip every
time. ``PYOXIDIZER_PY_PIP_CACHE=0`` turns the cache off.

Entries are created by renaming a complete staging directory into place, so an interrupted or
failed install never leaves an entry a later run trusts. A staging directory
(``<cache root>/pip-installs/.staging-*``) is ``flock``ed while pip writes into it; those of runs
that were killed (the kernel released their lock) are removed when the next install starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from pyoxidizer_py.distribution.model import Distribution

__all__ = ["PIP_CACHE_ENV", "cache_entry", "discard", "install_key", "new_staging", "publish"]

_log = logging.getLogger(__name__)

PIP_CACHE_ENV = "PYOXIDIZER_PY_PIP_CACHE"
_FORMAT = 1
_locks: dict[Path, int] = {}  # staging dir -> descriptor holding its flock until publish/discard
_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_VALUE_OPTIONS = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--only-binary",
    "--no-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--progress-bar",
)
_NOT_REPRODUCIBLE = ("-e", "--editable", "-U", "--upgrade", "--force-reinstall", "--upgrade-strategy")


def _pinned(spec: str) -> bool:
    """True for ``name==1.2.3`` (extras and markers allowed), False for anything else."""
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return False
    if req.url:
        return False
    clauses = list(req.specifier)
    return len(clauses) == 1 and clauses[0].operator in ("==", "===") and "*" not in clauses[0].version


def _requirements_file(path: Path, parts: list[str], depth: int = 0) -> bool:
    """Add a requirements file's content to ``parts``; False when a line is not reproducible."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    parts.append(f"file:{hashlib.sha256(text.encode()).hexdigest()}")
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "-c ", "--constraint ")) and depth < 8:
            nested = Path(line.split(None, 1)[1])
            if not _requirements_file(path.parent / nested, parts, depth + 1):
                return False
        elif line.startswith(_NOT_REPRODUCIBLE) or line.startswith(("-f ", "--find-links")):
            return False
        elif line.startswith("-"):
            continue  # index options: part of the file's hash
        elif not _pinned(line.split(" --hash", 1)[0].strip()):
            return False
    return True


def install_key(dist: Distribution, args: Sequence[str], extra_envs: Mapping[str, str] | None, cwd: Path) -> str | None:
    """The cache key of a ``pip_install`` call, or None when its result must not be cached.

    Args:
        dist: the target distribution.
        args: the pip install arguments.
        extra_envs: environment added for pip.
        cwd: directory relative requirement files are resolved against (pip's working directory).

    Returns:
        A hex digest, or None (unpinned/local requirements, options that change results over time,
        or ``PYOXIDIZER_PY_PIP_CACHE=0``).
    """
    if os.environ.get(PIP_CACHE_ENV, "1") == "0" or dist.python_exe is None:
        return None
    parts = [
        f"format:{_FORMAT}",
        f"python:{os.path.realpath(dist.python_exe)}",
        f"version:{dist.version}",
        f"abiflags:{dist.abiflags}",
        f"triple:{dist.target_triple}",
        f"magic:{dist.bytecode_magic.hex()}",
    ]
    parts += sorted(f"env:{k}={v}" for k, v in os.environ.items() if k.startswith("PIP_"))
    parts += sorted(f"extra:{k}={v}" for k, v in (extra_envs or {}).items())
    requirements = 0
    i = 0
    while i < len(args):
        arg = args[i]
        value = args[i + 1] if i + 1 < len(args) else None
        if arg in _NOT_REPRODUCIBLE or arg.startswith(tuple(f"{o}=" for o in _NOT_REPRODUCIBLE)):
            return None
        if arg in _FILE_OPTIONS or arg.startswith(tuple(f"{o}=" for o in _FILE_OPTIONS)):
            name = value if arg in _FILE_OPTIONS else arg.split("=", 1)[1]
            if name is None or not _requirements_file(cwd / name, parts):
                return None
            requirements += 1
            i += 2 if arg in _FILE_OPTIONS else 1
            continue
        if arg in _VALUE_OPTIONS:
            if value is None or (arg in ("-f", "--find-links") and "://" not in value):
                return None
            parts.append(f"opt:{arg}={value}")
            i += 2
            continue
        if arg.startswith("-"):
            if arg.startswith(("--find-links=", "-f")) and "://" not in arg:
                return None
            parts.append(f"opt:{arg}")
        elif _pinned(arg):
            parts.append(f"req:{arg}")
            requirements += 1
        else:
            return None
        i += 1
    if not requirements:
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _root() -> Path:
    from pyoxidizer_py.distribution.pbs.cache import default_cache_root

    return default_cache_root() / "pip-installs"


def cache_entry(key: str) -> Path | None:
    """The installed tree cached under ``key``, or None."""
    path = _root() / key
    return path if path.is_dir() else None


def new_staging() -> Path:
    """A fresh, locked staging directory inside the cache (same file system, so ``publish`` can rename it).

    Staging directories left by killed runs (unlocked, older than a minute) are removed first, as
    ``remove_stale_staging`` of the distribution cache does. The lock is held by this process
    until ``publish`` or ``discard`` (or its exit).

    Returns:
        ``<cache root>/pip-installs/.staging-<random>``.

    Raises:
        OSError: the cache directory cannot be created.
    """
    from pyoxidizer_py.distribution.pbs.extract import STAGING_PREFIX, lock_dir, remove_stale_staging

    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(root)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    fd = lock_dir(staging)
    if fd is not None:
        _locks[staging] = fd
    return staging


def _unlock(staging: Path) -> None:
    fd = _locks.pop(staging, None)
    if fd is not None:
        os.close(fd)


def discard(staging: Path) -> None:
    """Remove a staging directory of ``new_staging`` after a failed install, and release its lock."""
    shutil.rmtree(staging, ignore_errors=True)
    _unlock(staging)


def publish(staging: Path, key: str) -> Path:
    """Move a complete install into the cache under ``key``; return the entry.

    When another process published the same key first, its entry is kept and ``staging`` removed.
    """
    dest = _root() / key
    try:
        os.rename(staging, dest)
    except OSError:
        if not dest.is_dir():
            _unlock(staging)
            raise
        shutil.rmtree(staging, ignore_errors=True)
    _unlock(staging)
    _log.debug("cached pip install %s", dest)
    return dest
