"""Safe, streamed, bounded and atomic extraction of python-build-standalone archives.

Archives are ``.tar.zst`` (full; zstandard) or ``.tar.gz`` (install_only); the format is detected
from the first bytes, not the name. The decompressed stream is read once:

- every member is checked before it is written: absolute paths, ``..`` components, NUL bytes,
  device files, symbolic links whose target lies outside the destination, and hard links to
  anything but a regular file extracted earlier are refused (``DistributionError`` naming the
  member). After the last member every symbolic link is resolved again, so a chain whose links
  only escape together (``a -> b/../..`` written before ``b -> ../..``) is refused too;
- the stream is read to its very end, so zstandard frame checksums (when the frame has one;
  RFC 8878 §3.1.1) and the declared frame content size, or gzip's CRC-32 and length
  (RFC 1952 §2.3.1), are verified before anything is renamed into place;
- sizes are bounded (``ExtractLimits``: decompressed bytes, member count, metadata header size),
  and a frame that declares more bytes than the destination file system has free is refused
  before anything is written.

As PyOxidizer does (``StandaloneDistribution::from_tar`` in
``pyoxidizer/src/py_packaging/standalone_distribution.rs``, https://github.com/indygreg/PyOxidizer),
modification times are set to now (pip's zip writer
rejects pre-1980 times) and every file is made writable by its owner; set-id bits are dropped.

``extract_archive`` writes into a staging directory beside the destination
(``.staging-<dest name>-<random>``, locked with ``flock`` while in use) and renames it into place
only when extraction and layout validation succeeded; staging directories whose lock is free
(their process died) are removed by the next extraction into the same parent.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import posixpath
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import zstandard

from pyoxidizer_py.distribution.pbs.safepaths import LinkLoop, real_path
from pyoxidizer_py.distribution.pbs.safepaths import within as _within
from pyoxidizer_py.errors import DistributionError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: staging dirs are aged out instead of lock-probed
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FULL_ENTRIES",
    "MAX_BYTES_ENV",
    "MAX_DEPTH",
    "STAGING_PREFIX",
    "ExtractLimits",
    "archive_format",
    "extract_archive",
    "extract_members",
    "lock_dir",
    "remove_stale_staging",
    "validate_layout",
]

logger = logging.getLogger(__name__)

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
FULL_ENTRIES = frozenset({"build", "install", "lib", "licenses", "LICENSE.rst", "PYTHON.json"})
"""Entries PyOxidizer accepts directly under ``python/`` of a full archive."""

MAX_BYTES_ENV = "PYOXIDIZER_PY_MAX_EXTRACT_BYTES"
"""Environment variable overriding ``ExtractLimits.max_bytes`` (bytes, or with a K/M/G/T suffix)."""

MAX_DEPTH = 64
"""Most path components in a member name or link target (python-build-standalone's deepest is ~12)."""

STAGING_PREFIX = ".staging-"
_STALE_UNLOCKABLE_AGE = 24 * 3600.0  # seconds; where flock is unavailable, a day-old staging dir is stale
_CREATION_GRACE = 60.0  # seconds; a just-made staging dir may not be locked yet
_MAX_HEADER_BYTES = 1 << 20  # pax / GNU long-name headers are held in memory by tarfile


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtractLimits:
    """Bounds on what one archive may expand to (defaults far above real archives).

    A python-build-standalone full archive decompresses to well under 2 GiB and holds some
    tens of thousands of members.

    Attributes:
        max_bytes: decompressed tar stream bytes (which bound the bytes written), default 8 GiB.
        max_members: number of members, default 1,000,000.
    """

    max_bytes: int = 8 << 30
    max_members: int = 1_000_000

    @classmethod
    def from_env(cls) -> ExtractLimits:
        """The defaults, with ``max_bytes`` from ``PYOXIDIZER_PY_MAX_EXTRACT_BYTES`` (read now) if set.

        Raises:
            DistributionError: the variable is not a positive size (``4096``, ``512M``, ``16G``).
        """
        raw = os.environ.get(MAX_BYTES_ENV, "").strip()
        if not raw:
            return cls()
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
        number, unit = (raw[:-1], units[raw[-1].upper()]) if raw[-1].upper() in units else (raw, 1)
        if not number.isdigit() or int(number) <= 0:
            raise DistributionError(f"{MAX_BYTES_ENV}={raw!r}: expected a positive size such as 4096, 512M or 16G")
        return cls(max_bytes=int(number) * unit)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n < 1 << 30 else f"{n / (1 << 30):.1f} GiB"


class _Limited(Exception):
    """The decompressed stream passed ``ExtractLimits.max_bytes``."""


class _CountingReader:
    """A read-only file object over a decompressor that fails once ``limit`` bytes came out."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        want = self.limit + 1 - self.count if size is None or size < 0 else min(size, self.limit + 1 - self.count)
        data = self.inner.read(max(want, 1))
        self.count += len(data)
        if self.count > self.limit:
            raise _Limited
        return data

    def drain(self) -> None:
        """Read to the end (so trailing checksums and lengths are verified)."""
        while self.read(1 << 20):
            pass


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses oversized pax / GNU long-name headers before tarfile reads them.

    tarfile keeps those headers' payload in memory (``TarInfo._proc_pax`` and ``_proc_gnulong``
    in CPython's ``Lib/tarfile.py``), so a header declaring gigabytes would be read whole.
    """

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        meta = (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        )
        if self.type in meta and self.size > _MAX_HEADER_BYTES:
            raise DistributionError(
                f"a tar metadata header of {_size(self.size)} (more than {_MAX_HEADER_BYTES >> 10} KiB); "
                "refusing to read it"
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc,no-any-return]


def archive_format(path: Path) -> str:
    """``"zst"`` or ``"gz"`` from the file's magic bytes.

    Raises:
        DistributionError: unreadable, or neither zstandard nor gzip.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise DistributionError(f"cannot read archive {path}: {exc.strerror}") from exc
    if head.startswith(_ZSTD_MAGIC):
        return "zst"
    if head.startswith(_GZIP_MAGIC):
        return "gz"
    raise DistributionError(f"{path} is not a python-build-standalone archive (expected a .tar.zst or .tar.gz file)")


def _zstd_declared_size(path: Path) -> int | None:
    """The first frame's declared content size, or None when the header does not say."""
    with path.open("rb") as fh:
        head = fh.read(18)  # the largest zstandard frame header (RFC 8878 §3.1.1.1)
    try:
        params = zstandard.get_frame_parameters(head)
    except zstandard.ZstdError as exc:
        raise DistributionError(f"cannot extract {path}: bad zstandard frame header: {exc}") from exc
    size = params.content_size
    return None if size in (zstandard.CONTENTSIZE_UNKNOWN, zstandard.CONTENTSIZE_ERROR) else int(size)


@contextlib.contextmanager
def _open_tar(path: Path, limits: ExtractLimits, space_for: Path | None) -> Iterator[tarfile.TarFile]:
    """Iterate ``path`` as a tar stream; on normal exit the decompressed stream is drained and verified."""
    fmt = archive_format(path)
    with path.open("rb") as raw:
        if fmt == "zst":
            declared = _zstd_declared_size(path)
            if declared is not None:
                if declared > limits.max_bytes:
                    raise _Limited
                if space_for is not None:
                    free = shutil.disk_usage(space_for).free
                    if declared > free:
                        raise DistributionError(
                            f"cannot extract {path}: it expands to {_size(declared)} but {space_for} has only "
                            f"{_size(free)} free"
                        )
            inner: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        else:
            inner = cast("IO[bytes]", gzip.GzipFile(fileobj=raw, mode="rb"))  # checks CRC-32 and ISIZE at the end
        with inner:
            counted = _CountingReader(inner, limits.max_bytes)
            with tarfile.open(fileobj=counted, mode="r|", tarinfo=_BoundedTarInfo) as tf:  # type: ignore[call-overload]
                yield tf
            counted.drain()


def _member_parts(name: str) -> tuple[str, ...]:
    while name.startswith("./"):
        name = name[2:]
    return tuple(p for p in name.split("/") if p not in ("", "."))


@dataclass
class _State:
    """What has been written so far (for hard links and the final link check)."""

    kinds: dict[tuple[str, ...], str] = field(default_factory=dict)  # parts -> "file" | "dir" | "symlink" | "hardlink"
    symlinks: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (member name, parts)
    written: int = 0


def _check_member(member: tarfile.TarInfo, dest: Path, archive: Path, state: _State) -> None:
    """Raise if writing ``member`` under ``dest`` could touch anything outside ``dest``."""
    name = member.name
    where = f"{archive}: member {name!r}"
    if "\0" in name or "\0" in member.linkname:
        raise DistributionError(f"{where} has a NUL byte in its name; refusing to extract")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DistributionError(f"{where} has an absolute path; refusing to extract")
    parts = _member_parts(name)
    if ".." in parts or any("\\" in p for p in parts):
        raise DistributionError(f"{where} escapes the destination ('..'); refusing to extract")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise DistributionError(f"{where} is a device or special file; refusing to extract")
    if not parts and not member.isdir():
        raise DistributionError(f"{where} has an empty name; refusing to extract")
    if len(parts) > MAX_DEPTH or len(member.linkname.split("/")) > MAX_DEPTH:
        # os.makedirs and shutil.rmtree recurse once per directory level
        raise DistributionError(f"{where} is nested more than {MAX_DEPTH} directories deep; refusing to extract")
    real_dest = real_path(dest)
    target = real_path(os.path.join(dest, *parts)) if parts else real_dest
    # A parent that is an (earlier, in-bounds) symlink must not lead outside either.
    parent = real_path(os.path.join(dest, *parts[:-1])) if parts else real_dest
    if not _within(parent, real_dest) or (not member.issym() and not _within(target, real_dest)):
        raise DistributionError(f"{where} is written through a link leading outside the destination")
    if member.issym():
        link = member.linkname
        lexical = posixpath.normpath(posixpath.join(*parts[:-1], link)) if parts[:-1] else posixpath.normpath(link)
        if not link or link.startswith("/") or lexical == ".." or lexical.startswith("../"):
            raise DistributionError(f"{where} is a symlink to {link!r} outside the destination")
        resolved = real_path(os.path.join(parent, link))
        if not _within(resolved, real_dest):
            raise DistributionError(f"{where} is a symlink to {link!r} outside the destination")
    if member.islnk():
        link_parts = _member_parts(member.linkname)
        if member.linkname.startswith("/") or ".." in link_parts or not link_parts:
            raise DistributionError(f"{where} is a hard link to {member.linkname!r} outside the destination")
        if state.kinds.get(link_parts) not in ("file", "hardlink"):
            raise DistributionError(
                f"{where} is a hard link to {member.linkname!r}, which is not a regular file earlier in the archive"
            )
        if not _within(real_path(os.path.join(dest, *link_parts)), real_dest):
            raise DistributionError(f"{where} is a hard link to {member.linkname!r} outside the destination")


def _check_links_after(dest: Path, archive: Path, state: _State) -> None:
    """Resolve every symbolic link again now that all of them exist (catches chains)."""
    real_dest = real_path(dest)
    for name, parts in state.symlinks:
        path = os.path.join(dest, *parts)
        if not os.path.islink(path):
            continue  # replaced by a later member
        try:
            resolved = real_path(path)
        except LinkLoop:
            raise DistributionError(
                f"{archive}: member {name!r} is a symlink that leads through more than 40 symbolic links "
                "(a loop or a chain); refusing to extract"
            ) from None
        if not _within(resolved, real_dest):
            raise DistributionError(
                f"{archive}: member {name!r} is a symlink to {os.readlink(path)!r}, which resolves outside the "
                "destination once the archive's other links exist"
            )


_EXTRACT_KWARGS: dict[str, object] = (
    {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
)  # members are checked by _check_member; the filter argument only silences 3.12+'s warning


def extract_members(archive: Path, dest: Path, *, limits: ExtractLimits | None = None, check_space: bool = True) -> int:
    """Stream every member of ``archive`` into the existing directory ``dest``, checking each first.

    Callers normally use ``extract_archive``, which stages and renames; on an error this function
    leaves whatever it wrote in ``dest``.

    Args:
        archive: a ``.tar.zst`` or ``.tar.gz`` file.
        dest: an existing (normally empty) directory.
        limits: size bounds (default: ``ExtractLimits.from_env()``).
        check_space: refuse a zstandard frame declaring more bytes than ``dest``'s file system has free.

    Returns:
        The number of members written.

    Raises:
        DistributionError: a member escapes ``dest``, is a special file or a dangling hard link; a
            limit is passed (the message names it and ``PYOXIDIZER_PY_MAX_EXTRACT_BYTES``); the
            archive is corrupt or truncated, or a checksum does not match (message names the archive).
    """
    limits = limits or ExtractLimits.from_env()
    state = _State()
    now = time.time()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    gid = os.getgid() if hasattr(os, "getgid") else 0
    count = 0
    try:
        with _open_tar(archive, limits, dest if check_space else None) as tf:
            for member in tf:
                count += 1
                if count > limits.max_members:
                    raise DistributionError(
                        f"cannot extract {archive}: more than {limits.max_members} members; refusing it"
                    )
                try:
                    _check_member(member, dest, archive, state)
                except LinkLoop:
                    raise DistributionError(
                        f"{archive}: member {member.name!r} leads through more than 40 symbolic links (a loop or "
                        "a chain); refusing to extract"
                    ) from None
                if member.isfile():
                    state.written += member.size
                    if state.written > limits.max_bytes:
                        raise _Limited
                parts = _member_parts(member.name)
                lexical = os.path.join(dest, *parts)
                if parts and not member.isdir() and os.path.islink(lexical):
                    os.unlink(lexical)  # replace a link by the member, never write through it
                member.mtime = now
                member.uid, member.gid, member.uname, member.gname = uid, gid, "", ""
                if member.isdir():
                    member.mode = (member.mode | 0o700) & 0o777
                elif member.isfile():
                    member.mode = (member.mode | 0o600) & 0o777
                tf.extract(member, dest, set_attrs=not member.issym(), **_EXTRACT_KWARGS)  # type: ignore[arg-type]
                kind = (
                    "dir"
                    if member.isdir()
                    else "symlink"
                    if member.issym()
                    else ("hardlink" if member.islnk() else "file")
                )
                if parts:
                    state.kinds[parts] = kind
                if kind == "symlink":
                    state.symlinks.append((member.name, parts))
        _check_links_after(dest, archive, state)
    except DistributionError:
        raise
    except LinkLoop as exc:
        raise DistributionError(
            f"cannot extract {archive}: resolving {exc.args[0]} follows more than 40 symbolic links (a loop or a "
            "chain); refusing it"
        ) from None
    except _Limited:
        raise DistributionError(
            f"cannot extract {archive}: it expands to more than {_size(limits.max_bytes)} (the limit; set "
            f"{MAX_BYTES_ENV} to raise it)"
        ) from None
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError, KeyError, ValueError) as exc:
        # KeyError: tarfile's fallback for a hard link it cannot create; ValueError: bad header numbers
        raise DistributionError(f"cannot extract {archive}: {type(exc).__name__}: {exc}") from exc
    return count


def validate_layout(root: Path, *, source: str = "") -> str:
    """Check the extracted tree and say what kind of archive it was.

    Args:
        root: the directory holding ``python/``.
        source: archive name for messages.

    Returns:
        ``"full"`` (``python/PYTHON.json`` and ``python/install/``) or ``"install_only"``
        (``python/lib/python3.*/`` or Windows ``python/Lib/``).

    Raises:
        DistributionError: anything other than ``python/`` at the top, an unexpected entry in a
            full archive's ``python/``, or neither layout.
    """
    where = source or str(root)
    top = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    if top != ["python"]:
        extra = [n for n in top if n != "python"]
        if extra:
            raise DistributionError(
                f"{where}: unexpected entry at the archive root: {extra[0]!r} (expected only python/)"
            )
        raise DistributionError(f"{where}: the archive has no python/ directory")
    python = root / "python"
    if python.is_symlink() or not python.is_dir():
        raise DistributionError(f"{where}: python is not a directory")
    if (python / "PYTHON.json").is_file():
        for entry in python.iterdir():
            if entry.name not in FULL_ENTRIES:
                raise DistributionError(f"{where}: unexpected entry in python/ directory: {entry.name}")
        if not (python / "install").is_dir():
            raise DistributionError(f"{where}: full archive without python/install/")
        return "full"
    if any((python / "lib").glob("python3.*/os.py")) or (python / "Lib" / "os.py").is_file():
        return "install_only"
    raise DistributionError(
        f"{where}: neither a full archive (python/PYTHON.json) nor an install_only archive (python/lib/python3.X/os.py)"
    )


def lock_dir(path: Path) -> int | None:
    """Open ``path`` and take an exclusive non-blocking ``flock`` on it.

    Returns:
        The descriptor holding the lock, or None when flock is unavailable (Windows, some
        network file systems).

    Raises:
        BlockingIOError: another process holds the lock.
    """
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_staging(parent: Path, name: str | None = None) -> list[Path]:
    """Remove staging directories in ``parent`` left by runs that died (extractions, pip installs).

    A staging directory is stale when no process holds its lock (the kernel drops an ``flock``
    when its process exits, however it was killed) and it is older than a minute (the time
    between creating and locking it); where locks are unavailable, when it is a day old.

    Args:
        parent: the directory holding ``.staging-*`` directories.
        name: only consider ``.staging-<name>-*`` (a destination's own), or None for all.

    Returns:
        The directories removed.
    """
    prefix = f"{STAGING_PREFIX}{name}-" if name is not None else STAGING_PREFIX
    removed: list[Path] = []
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    now = time.time()
    for path in entries:
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            age = now - path.stat().st_mtime
            if age < _CREATION_GRACE:
                continue
            try:
                fd = lock_dir(path)
            except BlockingIOError:
                continue  # an extraction in progress
            try:
                if fd is None and age < _STALE_UNLOCKABLE_AGE:
                    continue
                shutil.rmtree(path)
                removed.append(path)
                logger.info("removed stale staging directory %s", path)
            finally:
                if fd is not None:
                    os.close(fd)
        except OSError as exc:
            logger.debug("cannot remove stale staging directory %s: %s", path, exc)
    return removed


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    source: str = "",
    limits: ExtractLimits | None = None,
    check: Callable[[Path], object] | None = None,
) -> str:
    """Extract ``archive`` to ``dest`` atomically: locked staging dir beside ``dest``, validate, rename.

    Args:
        archive: the archive.
        dest: final directory; must not exist, or be an empty directory (it is replaced).
        source: name for messages (default: the archive path).
        limits: size bounds (default: ``ExtractLimits.from_env()``).
        check: called with the staging directory (holding ``python/``) after the layout is
            validated and before the rename; raising ``DistributionError`` there keeps the tree out
            of ``dest`` (used to validate ``PYTHON.json`` and its paths first).

    Returns:
        The layout kind from ``validate_layout``.

    Raises:
        DistributionError: ``dest`` exists and is not an empty directory; unsafe member, corrupt
            archive, a limit passed or invalid layout (the staging directory is removed and
            ``dest`` is left as it was).
    """
    limits = limits or ExtractLimits.from_env()
    try:
        if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
            raise DistributionError(
                f"{dest} already exists and is not an empty directory; remove it or choose another destination"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DistributionError(f"cannot create {dest}: {exc.strerror}") from exc
    remove_stale_staging(dest.parent, dest.name)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{dest.name}-", dir=dest.parent))
    except OSError as exc:
        raise DistributionError(f"cannot create a staging directory in {dest.parent}: {exc.strerror}") from exc
    fd = None
    try:
        fd = lock_dir(staging)
        count = extract_members(archive, staging, limits=limits)
        kind = validate_layout(staging, source=source or str(archive))
        if check is not None:
            check(staging)
        try:
            os.replace(staging, dest)
        except OSError as exc:
            raise DistributionError(f"cannot move the extracted archive to {dest}: {exc.strerror}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if fd is not None:
            os.close(fd)
    logger.info("extracted %d members of %s to %s", count, archive, dest)
    return kind
