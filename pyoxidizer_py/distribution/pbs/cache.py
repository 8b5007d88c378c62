"""The on-disk cache of python-build-standalone archives and their extracted trees.

Layout (everything keyed by the archive's sha256, so a poisoned or partial entry can never be
mistaken for another)::

    <cache>/CACHEDIR.TAG
    <cache>/python_distributions/archives/<sha256>/<archive file name>
    <cache>/python_distributions/extracted/<sha256>/python/...     (+ .complete marker)
    <cache>/python_distributions/extracted/.staging-<sha256>-*     (an extraction in progress, flock'ed)
    <cache>/python_distributions/partial/<sha256>.part             (a download in progress)
    <cache>/python_distributions/locks/<sha256>.lock               (filelock)

The cache root is ``PYOXIDIZER_PY_CACHE_DIR`` (read at call time), else the ``pyoxidizer-py``
subdirectory of PyOxidizer's ``PYOXIDIZER_CACHE_DIR``, else the platform user cache dir for
``pyoxidizer-py`` (``platformdirs``); see ``pyoxidizer_py.environment``. Entries only appear
by ``os.replace`` of a verified file or a fully extracted staging directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import filelock

from pyoxidizer_py.errors import DistributionError

__all__ = [
    "CACHEDIR_TAG",
    "CACHE_DIR_ENV",
    "COMPLETE_MARKER",
    "EXTRACT_FORMAT",
    "DistributionCache",
    "clear_cache",
    "default_cache_root",
    "open_cache",
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "PYOXIDIZER_PY_CACHE_DIR"
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by pyoxidizer-py.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
COMPLETE_MARKER = ".complete"
EXTRACT_FORMAT = "extract-checks-2"
"""Written into the completion marker; bumped whenever extraction checks become stricter."""
_LOCK_TIMEOUT = 3600.0  # seconds: a download of a large archive over a slow link


def default_cache_root() -> Path:
    """``PYOXIDIZER_PY_CACHE_DIR``, else ``$PYOXIDIZER_CACHE_DIR/pyoxidizer-py``, else the platform
    user cache dir (read now; ``pyoxidizer_py.environment.cache_root``).

    Raises:
        PyOxidizerError: no cache location can be found (no variable, no ``HOME``).
    """
    from pyoxidizer_py.environment import cache_root

    return cache_root()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True, kw_only=True, slots=True)
class DistributionCache:
    """Paths of one cache root. Create with ``open_cache``."""

    root: Path

    @property
    def base(self) -> Path:
        """``<root>/python_distributions``."""
        return self.root / "python_distributions"

    def archive_path(self, sha256: str, filename: str) -> Path:
        """Where a verified archive lives."""
        return self.base / "archives" / sha256 / filename

    def cached_archive(self, sha256: str) -> Path | None:
        """The verified archive with this digest, whatever its file name, or None."""
        d = self.base / "archives" / sha256
        if not d.is_dir():
            return None
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
        return files[0] if files else None

    def extracted_path(self, sha256: str) -> Path:
        """The directory holding ``python/`` for this archive."""
        return self.base / "extracted" / sha256

    def is_extracted(self, sha256: str) -> bool:
        """True when a complete extraction by this version's checks exists.

        The marker holds the digest and ``EXTRACT_FORMAT``; a tree extracted by an older
        pyoxidizer-py (whose member checks were weaker) is not trusted and is extracted again.
        """
        marker = self.extracted_path(sha256) / COMPLETE_MARKER
        try:
            return marker.read_text(encoding="utf-8").split() == [sha256, EXTRACT_FORMAT]
        except (OSError, UnicodeDecodeError):
            return False

    def mark_extracted(self, sha256: str) -> None:
        """Write the completion marker of ``extracted/<sha256>`` (atomically)."""
        _write_atomic(self.extracted_path(sha256) / COMPLETE_MARKER, f"{sha256}\n{EXTRACT_FORMAT}\n")

    def partial_path(self, sha256: str) -> Path:
        """The partial download file (resumed by the next attempt)."""
        return self.base / "partial" / f"{sha256}.part"

    def staging_dir(self) -> Path:
        """Parent of extraction staging directories (same filesystem as ``extracted/``)."""
        return self.base / "extracted"

    @contextlib.contextmanager
    def lock(self, sha256: str, *, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the inter-process lock for one archive (download and extraction).

        Raises:
            DistributionError: the lock was not obtained within ``timeout`` seconds.
        """
        path = self.base / "locks" / f"{sha256}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(path), timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DistributionError(
                f"timed out after {timeout:.0f}s waiting for the cache lock {path}; "
                "is another pyoxidizer-py process stuck?"
            ) from None
        try:
            yield
        finally:
            lock.release()


def open_cache(root: Path | None = None) -> DistributionCache:
    """Create (if needed) the cache directories and ``CACHEDIR.TAG``.

    Args:
        root: cache root, or None for ``default_cache_root()``.

    Returns:
        The cache.

    Raises:
        DistributionError: the directory cannot be created.
    """
    root = root or default_cache_root()
    try:
        for sub in ("archives", "extracted", "partial", "locks"):
            (root / "python_distributions" / sub).mkdir(parents=True, exist_ok=True)
        tag = root / "CACHEDIR.TAG"
        if not tag.exists():
            _write_atomic(tag, CACHEDIR_TAG)
    except OSError as exc:
        raise DistributionError(
            f"cannot create the cache directory {root}: {exc.strerror}; set {CACHE_DIR_ENV} to a writable directory"
        ) from exc
    return DistributionCache(root=root)


def clear_cache(root: Path | None = None) -> list[str]:
    """Delete the whole cache directory (the ``cache-clear`` command).

    Args:
        root: cache root, or None for ``default_cache_root()``.

    Returns:
        Lines describing what was done (``removing <dir>`` or ``cache directory <dir> does not exist``).

    Raises:
        DistributionError: the directory is not a pyoxidizer-py cache (no ``CACHEDIR.TAG`` written by us
            and not empty), so deleting it could destroy user data; or removal failed.
    """
    root = root or default_cache_root()
    if not root.exists():
        return [f"cache directory {root} does not exist"]
    tag = root / "CACHEDIR.TAG"
    ours = tag.is_file() and "pyoxidizer-py" in tag.read_text(encoding="utf-8", errors="replace")
    if not ours and any(root.iterdir()):
        raise DistributionError(
            f"refusing to remove {root}: it has no CACHEDIR.TAG written by pyoxidizer-py; check {CACHE_DIR_ENV}"
        )
    try:
        shutil.rmtree(root)
    except OSError as exc:
        raise DistributionError(f"cannot remove {root}: {exc.strerror}") from exc
    return [f"removing {root}"]
