"""Just enough ELF and ``ar`` reading to judge an installed CPython's libraries.

Two questions are answered without external tools (``readelf``/``ldd`` may be
missing on a build machine):

* ``archive_is_pic``: can a static ``libpythonX.Y.a`` be linked into a
  position-independent executable? On x86_64 a non-PIC object carries absolute
  32-bit relocations (``R_X86_64_32``/``R_X86_64_32S``) in sections that are loaded
  at run time; PIC objects have none (debug sections are ignored: DWARF uses
  32-bit offsets either way).
* ``needed_libraries``: the ``DT_NEEDED`` entries of a shared object, used to
  filter extension modules (``no-libraries``, ``no-copyleft``).

``dynamic_names`` (``DT_SONAME`` and ``DT_NEEDED`` of any ELF class and byte order) reads
with pyelftools; it orders the shared libraries that extension modules loaded from memory
need.
"""

from __future__ import annotations

import logging
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DynamicNames", "archive_is_pic", "dynamic_names", "needed_libraries"]

_log = logging.getLogger(__name__)

_EM_X86_64 = 62
_SHT_RELA = 4
_SHT_DYNAMIC = 6
_SHF_ALLOC = 0x2
_R_X86_64_32 = 10
_R_X86_64_32S = 11
_DT_NEEDED = 1
_DT_STRTAB = 5


def _elf64_sections(buf: bytes | mmap.mmap, base: int) -> tuple[int, list[tuple[int, ...]]] | None:
    """Return ``(e_machine, sections)`` of a little-endian ELF64 object at ``base``, or None.

    Each section is ``(sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info,
    sh_addralign, sh_entsize)`` with ``sh_offset`` made absolute.
    """
    if buf[base : base + 4] != b"\x7fELF" or buf[base + 4] != 2 or buf[base + 5] != 1:
        return None
    e_machine = struct.unpack_from("<H", buf, base + 18)[0]
    (e_shoff,) = struct.unpack_from("<Q", buf, base + 40)
    e_shentsize, e_shnum = struct.unpack_from("<HH", buf, base + 58)
    sections = []
    for i in range(e_shnum):
        sh = struct.unpack_from("<IIQQQQIIQQ", buf, base + e_shoff + i * e_shentsize)
        sections.append((*sh[:4], sh[4] + base, *sh[5:]))
    return e_machine, sections


def _object_is_pic(buf: bytes | mmap.mmap, base: int) -> bool | None:
    """True/False for an x86_64 object; None when the object cannot be judged."""
    parsed = _elf64_sections(buf, base)
    if parsed is None or parsed[0] != _EM_X86_64:
        return None
    sections = parsed[1]
    for sh in sections:
        if sh[1] != _SHT_RELA:
            continue
        target = sections[sh[7]] if sh[7] < len(sections) else None
        if target is None or not target[2] & _SHF_ALLOC:
            continue
        offset, size = sh[4], sh[5]
        for _r_offset, r_info, _addend in struct.iter_unpack("<QQq", buf[offset : offset + size]):
            if r_info & 0xFFFFFFFF in (_R_X86_64_32, _R_X86_64_32S):
                return False
    return True


def archive_is_pic(path: Path) -> bool | None:
    """Judge whether a static archive's objects are position independent.

    Args:
        path: a System V / GNU ``ar`` archive (``libpython3.11.a``).

    Returns:
        True when every x86_64 member is PIC, False as soon as one is not, None when
        the archive holds no x86_64 ELF objects (another architecture: cannot tell).

    Raises:
        OSError: the file cannot be read.
    """
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:8] != b"!<arch>\n":
            return None
        pos = 8
        seen = False
        while pos + 60 <= len(buf):
            header = buf[pos : pos + 60]
            name = header[:16].rstrip()
            size = int(header[48:58].strip() or b"0")
            data = pos + 60
            if not name.startswith(b"/") or name[1:2].isdigit():
                verdict = _object_is_pic(buf, data)
                if verdict is False:
                    _log.debug("%s: member at offset %d is not PIC", path, data)
                    return False
                seen = seen or verdict is True
            pos = data + size + (size & 1)
        return True if seen else None


def needed_libraries(path: Path) -> tuple[str, ...]:
    """Return the ``DT_NEEDED`` names of an ELF64 little-endian shared object.

    Args:
        path: a shared library or extension module.

    Returns:
        The needed library names in order (``("libyaml-0.so.2", "libc.so.6")``); empty when
        the file is not such an ELF file or has no dynamic section.

    Raises:
        OSError: the file cannot be read.
    """
    data = path.read_bytes()
    parsed = _elf64_sections(data, 0)
    if parsed is None:
        return ()
    sections = parsed[1]
    for sh in sections:
        if sh[1] != _SHT_DYNAMIC:
            continue
        strtab = sections[sh[6]]
        str_off = strtab[4]
        names = []
        for d_tag, d_val in struct.iter_unpack("<qQ", data[sh[4] : sh[4] + sh[5]]):
            if d_tag == 0:
                break
            if d_tag == _DT_NEEDED:
                end = data.index(b"\0", str_off + d_val)
                names.append(data[str_off + d_val : end].decode("utf-8", "replace"))
        return tuple(names)
    return ()


@dataclass(frozen=True, slots=True)
class DynamicNames:
    """The names in a shared object's dynamic section (elf(5), "Dynamic section").

    Attributes:
        soname: ``DT_SONAME``, or None.
        needed: ``DT_NEEDED`` entries in order.
    """

    soname: str | None
    needed: tuple[str, ...]


def dynamic_names(path: Path) -> DynamicNames | None:
    """Read ``DT_SONAME`` and ``DT_NEEDED`` of an ELF shared object (with pyelftools).

    Args:
        path: a shared library or extension module file.

    Returns:
        Its ``DynamicNames``, ``DynamicNames(None, ())`` for an ELF file without a dynamic
        section, or None when the file is not ELF.

    Raises:
        OSError: the file cannot be read.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            return None
        fh.seek(0)
        try:
            elf = ELFFile(fh)
            soname = None
            needed: list[str] = []
            for section in elf.iter_sections():
                if not isinstance(section, DynamicSection):
                    continue
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)  # type: ignore[attr-defined]  # set per tag kind by pyelftools
                    elif tag.entry.d_tag == "DT_SONAME":
                        soname = tag.soname  # type: ignore[attr-defined]
                break
        except (ELFError, ValueError, KeyError) as exc:
            _log.debug("%s: unreadable ELF dynamic section (%s)", path, exc)
            return DynamicNames(None, ())
    return DynamicNames(soname, tuple(needed))
