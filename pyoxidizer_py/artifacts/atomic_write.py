"""Atomic, change-aware file writes for files a later run (or cargo) trusts.

A file is written to a temporary file in the same directory and moved into place
with ``os.replace``, and only when its content differs, so the mtimes cargo and
build scripts track stay put when nothing changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["copy_if_changed", "write_bytes_if_changed", "write_text_if_changed"]


def write_bytes_if_changed(path: Path, data: bytes, *, mode: int | None = None) -> bool:
    """Write ``data`` to ``path`` atomically unless the file already holds exactly ``data``.

    Args:
        path: destination; its parent directory is created if missing.
        data: the complete content.
        mode: permission bits to set on a newly written file (default: umask default).

    Returns:
        True when the file was (re)written, False when it was already up to date.

    Raises:
        OSError: the directory or file cannot be written.
    """
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            if mode is not None and (path.stat().st_mode & 0o7777) != mode:
                path.chmod(mode)
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def write_text_if_changed(path: Path, text: str) -> bool:
    """``write_bytes_if_changed`` for UTF-8 text (newlines written as given).

    Returns:
        True when the file was (re)written.
    """
    return write_bytes_if_changed(path, text.encode("utf-8"))


def copy_if_changed(src: Path, dest: Path) -> bool:
    """Copy ``src`` to ``dest`` atomically (keeping mtime and mode) unless ``dest`` already matches.

    ``dest`` is considered up to date when it has the same size and nanosecond mtime as
    ``src`` (the copy preserves the mtime), so large libraries are not re-read on every build.

    Returns:
        True when ``dest`` was (re)written.

    Raises:
        OSError: ``src`` cannot be read or ``dest`` cannot be written.
    """
    src, dest = Path(src), Path(dest)
    st = src.stat()
    try:
        dst = dest.stat()
        if dst.st_size == st.st_size and dst.st_mtime_ns == st.st_mtime_ns:
            return False
    except OSError:
        pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _umask() -> int:
    # There is no way to read the umask without setting it; this is not thread-safe
    # with respect to other umask users, which this program does not have.
    mask = os.umask(0)
    os.umask(mask)
    return mask
