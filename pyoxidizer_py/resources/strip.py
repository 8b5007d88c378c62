"""Strip debug info from the extension modules and shared libraries a release build installs.

Release executables are stripped by cargo (``[profile.release] strip``); the shared objects
installed beside them are copied from the distribution and from wheels, and some carry their
debug info (pyenv's ``lib-dynload`` modules are 15 MiB with it, 4 MiB without). For a release
build each such file is replaced by a copy made with ``strip --strip-debug`` (binutils,
https://sourceware.org/binutils/docs/binutils/strip.html): the symbol tables, the dynamic one
that ``dlopen`` uses included, stay. Only objects with a ``.debug_*`` section are stripped:
wheels' libraries are stripped already, and those ``auditwheel`` rewrote with ``patchelf``
(``numpy.libs/libgfortran-*.so``) come out of ``strip`` with load segments the dynamic loader
refuses ("ELF load command address/offset not page-aligned"), so each stripped copy is also
checked (every ``PT_LOAD`` has ``p_offset`` congruent to ``p_vaddr`` modulo ``p_align``, the
System V ABI's rule) and dropped if it fails. Copies are cached by content hash, so a rebuild
strips nothing again. ``CARGO_PROFILE_RELEASE_STRIP=false`` (or ``none``) keeps the debug info, as it
keeps the executable's symbols.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyoxidizer_py.resources.model import PythonExtensionModule, Resource, SharedLibrary

__all__ = ["keep_symbols", "strip_shared_objects"]

_log = logging.getLogger(__name__)


def keep_symbols(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``CARGO_PROFILE_RELEASE_STRIP`` asks to keep symbols (``false`` or ``none``)."""
    value = (env if env is not None else os.environ).get("CARGO_PROFILE_RELEASE_STRIP", "")
    return value.strip().strip('"').lower() in ("false", "none")


def _has_debug_info(path: Path) -> bool:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as f:
            return any(s.name.startswith(".debug") for s in ELFFile(f).iter_sections())
    except (ELFError, OSError, ValueError):
        return False


def _loadable(path: Path) -> bool:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as f:
            for seg in ELFFile(f).iter_segments():
                align = seg["p_align"]
                if seg["p_type"] == "PT_LOAD" and align > 1 and seg["p_offset"] % align != seg["p_vaddr"] % align:
                    return False
    except (ELFError, OSError, ValueError):
        return False
    return True


def _stripped(path: Path, cache_dir: Path, strip: str) -> Path | None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    cached = cache_dir / f"{digest.hexdigest()}.so"
    if cached.is_file():
        return cached
    if not _has_debug_info(path):
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f"{digest.hexdigest()}.{os.getpid()}.tmp"
    proc = subprocess.run(
        [strip, "--strip-debug", "-o", str(tmp), str(path)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        _log.debug("strip %s failed: %s", path, proc.stderr.strip())
        return None
    if tmp.stat().st_size >= path.stat().st_size or not _loadable(tmp):
        tmp.unlink()
        shutil.copyfile(path, tmp)  # nothing to strip: cache the original, so it is not tried again
    os.replace(tmp, cached)
    return cached


def strip_shared_objects(resources: Sequence[Resource], cache_dir: Path) -> list[Resource]:
    """Point included extension modules and shared libraries at stripped copies.

    Args:
        resources: the executable's resources.
        cache_dir: where stripped copies are kept (``<sha256 of the original>.so``).

    Returns:
        The resources, with ``path`` of each file-backed extension module (not built into
        libpython) and shared library replaced by its stripped copy; unchanged when ``strip``
        is not on PATH, when a file cannot be stripped, or with ``keep_symbols()``.
    """
    strip = shutil.which("strip")
    if strip is None or keep_symbols():
        return list(resources)
    out: list[Resource] = []
    for resource in resources:
        if (
            isinstance(resource, PythonExtensionModule | SharedLibrary)
            and resource.add.include
            and resource.path is not None
            and resource.data is None
            and not getattr(resource, "is_builtin", False)
        ):
            try:
                stripped = _stripped(resource.path, cache_dir, strip)
            except OSError as exc:
                _log.debug("cannot strip %s: %s", resource.path, exc)
                stripped = None
            if stripped is not None:
                out.append(dataclasses.replace(resource, path=stripped))
                continue
        out.append(resource)
    return out
