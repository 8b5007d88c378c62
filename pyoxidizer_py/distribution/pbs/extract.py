"""Safe, streamed extraction of python-build-standalone archives, and layout validation.

Archives are ``.tar.zst`` (full; zstandard, decompressed as a stream) or ``.tar.gz``
(install_only); the format is detected from the first bytes, not the name. Every member is
checked before it is written: absolute paths, ``..`` components, device files, and
symbolic or hard links whose target lies outside the destination are refused
(``DistributionError`` naming the member). As PyOxidizer does (pyoxidizer-facts.md §4.3),
modification times are set to now (pip's zip writer rejects pre-1980 times) and every file
is made writable by its owner.

``extract_archive`` writes into a staging directory next to the destination and renames it
into place only when extraction and layout validation succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import zstandard

from pyoxidizer_py.errors import DistributionError

__all__ = [
    "FULL_ENTRIES",
    "archive_format",
    "extract_archive",
    "extract_members",
    "validate_layout",
]

logger = logging.getLogger(__name__)

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
FULL_ENTRIES = frozenset({"build", "install", "lib", "licenses", "LICENSE.rst", "PYTHON.json"})
"""Entries PyOxidizer accepts directly under ``python/`` of a full archive."""


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
    raise DistributionError(
        f"{path} is not a python-build-standalone archive (expected a .tar.zst or .tar.gz file)"
    )


@contextlib.contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    fmt = archive_format(path)
    with path.open("rb") as raw:
        if fmt == "zst":
            reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            with reader, tarfile.open(fileobj=reader, mode="r|") as tf:
                yield tf
        else:
            with tarfile.open(fileobj=raw, mode="r|gz") as tf:
                yield tf


def _member_parts(name: str) -> tuple[str, ...]:
    while name.startswith("./"):
        name = name[2:]
    return tuple(p for p in name.split("/") if p not in ("", "."))


def _check_member(member: tarfile.TarInfo, dest: Path, archive: Path) -> None:
    """Raise if writing ``member`` under ``dest`` could touch anything outside ``dest``."""
    name = member.name
    where = f"{archive}: member {name!r}"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DistributionError(f"{where} has an absolute path; refusing to extract")
    parts = _member_parts(name)
    if ".." in parts or any("\\" in p for p in parts):
        raise DistributionError(f"{where} escapes the destination ('..'); refusing to extract")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise DistributionError(f"{where} is a device or special file; refusing to extract")
    real_dest = os.path.realpath(dest)
    target = os.path.realpath(os.path.join(dest, *parts)) if parts else real_dest
    # A parent that is an (earlier, in-bounds) symlink must not lead outside either.
    parent = os.path.realpath(os.path.join(dest, *parts[:-1])) if parts else real_dest
    if not _within(parent, real_dest) or (not member.issym() and not _within(target, real_dest)):
        raise DistributionError(f"{where} is written through a link leading outside the destination")
    if member.issym():
        link = member.linkname
        lexical = posixpath.normpath(posixpath.join(*parts[:-1], link)) if parts[:-1] else posixpath.normpath(link)
        if link.startswith("/") or lexical == ".." or lexical.startswith("../"):
            raise DistributionError(f"{where} is a symlink to {link!r} outside the destination")
        resolved = os.path.realpath(os.path.join(parent, link))
        if not _within(resolved, real_dest):
            raise DistributionError(f"{where} is a symlink to {link!r} outside the destination")
    if member.islnk():
        link_parts = _member_parts(member.linkname)
        if member.linkname.startswith("/") or ".." in link_parts or not link_parts:
            raise DistributionError(f"{where} is a hard link to {member.linkname!r} outside the destination")
        if not _within(os.path.realpath(os.path.join(dest, *link_parts)), real_dest):
            raise DistributionError(f"{where} is a hard link to {member.linkname!r} outside the destination")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_EXTRACT_KWARGS: dict[str, object] = (
    {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
)  # members are checked by _check_member; the filter argument only silences 3.12+'s warning


def extract_members(archive: Path, dest: Path) -> int:
    """Stream every member of ``archive`` into the existing directory ``dest``, checking each first.

    Args:
        archive: a ``.tar.zst`` or ``.tar.gz`` file.
        dest: an existing (normally empty) directory.

    Returns:
        The number of members written.

    Raises:
        DistributionError: a member escapes ``dest`` or is a special file, or the archive is corrupt
            or truncated (message names the archive).
    """
    count = 0
    now = time.time()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    gid = os.getgid() if hasattr(os, "getgid") else 0
    try:
        with _open_tar(archive) as tf:
            for member in tf:
                _check_member(member, dest, archive)
                member.mtime = now
                member.uid, member.gid, member.uname, member.gname = uid, gid, "", ""
                if member.isdir():
                    member.mode = (member.mode | 0o700) & 0o777
                elif member.isfile():
                    member.mode = (member.mode | 0o600) & 0o777
                tf.extract(member, dest, set_attrs=not member.issym(), **_EXTRACT_KWARGS)  # type: ignore[arg-type]
                count += 1
    except DistributionError:
        raise
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError) as exc:
        raise DistributionError(f"cannot extract {archive}: {exc}") from exc
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
        f"{where}: neither a full archive (python/PYTHON.json) nor an install_only archive "
        "(python/lib/python3.X/os.py)"
    )


def extract_archive(archive: Path, dest: Path, *, source: str = "") -> str:
    """Extract ``archive`` to ``dest`` atomically: staging dir beside ``dest``, validate, rename.

    Args:
        archive: the archive (already verified by the caller).
        dest: final directory; must not exist yet (callers hold the cache lock).
        source: name for messages (default: the archive path).

    Returns:
        The layout kind from ``validate_layout``.

    Raises:
        DistributionError: unsafe member, corrupt archive or invalid layout; the staging
            directory is removed and ``dest`` is not created.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{dest.name[:16]}-", dir=dest.parent))
    try:
        count = extract_members(archive, staging)
        kind = validate_layout(staging, source=source or str(archive))
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("extracted %d members of %s to %s", count, archive, dest)
    return kind
