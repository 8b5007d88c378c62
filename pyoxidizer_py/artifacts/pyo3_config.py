"""How the executable links libpython, written as PyO3's ``pyo3-build-config-file.txt``.

``plan_link`` decides static or dynamic linking for a Distribution and returns a
frozen ``LinkPlan``; ``write_link_artifacts`` puts what the link needs into the
artifacts directory (``libpython3.a`` for a static link: a copy of an installed
CPython's PIC static library, or one assembled from a python-build-standalone full
archive's objects by ``artifacts.libpython``) and writes the PyO3 config file;
``LinkPlan.runtime_files`` lists what the install step copies beside the executable
(the shared libpython for a dynamic link, into ``lib/``).

PyO3 reads its link configuration only from ``PYO3_CONFIG_FILE`` (an absolute
path). We always set ``suppress_build_script_link_lines=true`` and give every
link line ourselves as ``extra_build_script_line`` (PyO3's config file keys:
https://pyo3.rs/main/building-and-distribution.html#advanced-config-files and
``pyo3-build-config``'s ``InterpreterConfig``).
``rustc-link-arg`` lines printed by pyo3-ffi do not reach the executable, so the
generated project's own build.rs prints the exported symbols (on ELF targets a
``--dynamic-list`` of CPython's ``Py*``/``_Py*`` C API) and the ``$ORIGIN/lib``
rpath as well.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pyoxidizer_py.artifacts.atomic_write import copy_if_changed, write_text_if_changed
from pyoxidizer_py.artifacts.libpython import (
    LibpythonAssembly,
    assemble_static_libpython,
    bitcode_reason,
    can_assemble_static_libpython,
    plan_static_libpython,
)
from pyoxidizer_py.artifacts.static_check import check_static_libpython
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.distribution.triples import host_triple
from pyoxidizer_py.errors import BuildError

__all__ = [
    "LINK_MODES",
    "PYO3_CONFIG_FILENAME",
    "RUNTIME_LIB_DIR",
    "STATIC_LIBRARY_FILENAME",
    "LinkPlan",
    "RuntimeFile",
    "install_runtime_files",
    "plan_link",
    "render_pyo3_config",
    "shared_library_soname",
    "write_link_artifacts",
]

_log = logging.getLogger(__name__)

LINK_MODES = ("default", "static", "dynamic")
"""Link modes a build may request; ``default`` = static when possible, else dynamic."""

PYO3_CONFIG_FILENAME = "pyo3-build-config-file.txt"
STATIC_LIBRARY_FILENAME = "libpython3.a"
RUNTIME_LIB_DIR = "lib"
"""Directory, relative to the executable, holding a shared libpython (rpath ``$ORIGIN/lib``)."""

_32BIT_ARCHES = ("i386", "i586", "i686", "arm", "armv7", "thumbv7", "mips", "mipsel", "powerpc", "wasm32")


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeFile:
    """A file the executable needs at run time, copied into the install directory.

    Attributes:
        source: the file to copy (symlinks resolved).
        dest: its path relative to the install directory (``lib/libpython3.11.so.1.0``).
    """

    source: Path
    dest: PurePosixPath


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkPlan:
    """How the executable links libpython.

    Attributes:
        mode: ``"static"`` or ``"dynamic"``.
        requested: the mode that was asked for (``"default"``, ``"static"``, ``"dynamic"``).
        library: the distribution's library file (the static ``.a`` or the shared ``.so``).
        lib_name: PyO3's ``lib_name`` (``python3.11``, ``python3.13t``).
        lib_dir: directory the linker searches for libpython (the artifacts dir for
            a static link, the distribution's library dir for a dynamic one).
        link_lines: the ``extra_build_script_line`` values (``cargo:...`` lines), in order.
        rpath: run-time search path the executable needs (``$ORIGIN/lib``), or None.
        runtime_files: files the install step copies beside the executable.
        reason: one sentence saying why this mode was chosen, for logs.
        assembly: for a static link from a python-build-standalone archive's objects, how
            ``write_link_artifacts`` assembles ``libpython3.a``; None otherwise.
    """

    mode: str
    requested: str
    library: Path
    lib_name: str
    lib_dir: Path
    link_lines: tuple[str, ...]
    rpath: str | None
    runtime_files: tuple[RuntimeFile, ...]
    reason: str
    assembly: LibpythonAssembly | None = None

    @property
    def shared(self) -> bool:
        """True for a dynamic link (PyO3's ``shared`` key)."""
        return self.mode == "dynamic"


def _is_linux(triple: str) -> bool:
    return "-linux" in triple


def _is_apple(triple: str) -> bool:
    return "-apple-" in triple


def _target_link_lines(triple: str) -> list[str]:
    """Link arguments that export libpython's symbols to extension modules."""
    if _is_apple(triple):
        return ["cargo:rustc-link-arg=-rdynamic"]
    if "windows" in triple:
        return []
    return ["cargo:rustc-link-arg=-Wl,--export-dynamic"]


def _system_lib_line(entry: str) -> str:
    """``m`` -> ``cargo:rustc-link-lib=m``; entries with a kind (``static:-bundle=ffi``) pass verbatim."""
    return f"cargo:rustc-link-lib={entry}"


def _lib_name(dist: Distribution) -> str:
    return f"python{dist.major_minor}{dist.abiflags}"


def plan_link(dist: Distribution, requested: str = "default", *, artifacts_dir: Path) -> LinkPlan:
    """Decide how to link ``dist``'s libpython.

    Args:
        dist: the distribution the executable embeds.
        requested: ``"default"`` (static when ``dist.static_library`` exists or a
            python-build-standalone full archive has machine-code objects, else dynamic),
            ``"static"`` or ``"dynamic"``.
        artifacts_dir: the artifacts directory (a static link searches it for
            ``libpython3.a``); made absolute.

    Returns:
        The LinkPlan.

    Raises:
        BuildError: an unknown mode, or a mode the distribution cannot provide
            (the message says why and the hint suggests the other mode; for LLVM-bitcode
            objects it names the LTO build and the alternatives). A static libpython that
            fails ``static_check.check_static_libpython`` (bitcode, symbols left undefined,
            a missing system library) is an error for ``"static"``; ``"default"`` then links
            dynamically and logs one ``note:`` line saying why.
    """
    if requested not in LINK_MODES:
        raise BuildError(
            f"unknown libpython link mode {requested!r}",
            hint=f"use one of {', '.join(repr(m) for m in LINK_MODES)}",
        )
    artifacts_dir = Path(os.path.abspath(artifacts_dir))
    static_lib = dist.static_library
    shared_lib = dist.shared_library
    assembly = None
    if static_lib is None and requested != "dynamic":
        if can_assemble_static_libpython(dist):
            assembly = plan_static_libpython(dist, artifacts_dir / STATIC_LIBRARY_FILENAME)
            static_lib = assembly.output
        elif requested == "static" and bitcode_reason(dist) is not None:
            plan_static_libpython(dist, artifacts_dir / STATIC_LIBRARY_FILENAME)  # raises, naming the reason
    if requested == "static" and static_lib is None:
        raise BuildError(
            f"static linking of libpython was requested, but the Python distribution "
            f"{dist.description} has no static libpython usable in an executable "
            f"(no position-independent libpython{dist.major_minor}{dist.abiflags}.a was found)",
            hint="request dynamic linking instead (the shared libpython is installed in lib/ beside "
            "the executable)"
            + (
                f", or install a static libpython (Debian: libpython{dist.major_minor}-dev ships "
                f"libpython{dist.major_minor}-pic.a)"
                if dist.origin == "installed"
                else ", or use a python-build-standalone full archive whose objects are not LLVM bitcode "
                "(install_only archives carry no object files)"
                if dist.pbs is not None
                else ""
            ),
        )
    if requested == "dynamic" and shared_lib is None:
        raise BuildError(
            f"dynamic linking of libpython was requested, but the Python distribution "
            f"{dist.description} has no shared libpython",
            hint="request static linking instead" if static_lib is not None else None,
        )
    if static_lib is None and shared_lib is None:
        if bitcode_reason(dist) is not None:
            plan_static_libpython(dist, artifacts_dir / STATIC_LIBRARY_FILENAME)  # raises, naming the reason
        raise BuildError(
            f"the Python distribution {dist.description} has neither a static nor a shared libpython to link against",
            hint="use a CPython built with --enable-shared, or one that ships a PIC static libpython",
        )
    if requested == "static" or (requested == "default" and static_lib is not None):
        assert static_lib is not None
        reason = (
            "static linking requested"
            if requested == "static"
            else f"static libpython available ({static_lib})"
            if assembly is None
            else "static libpython assembled from the distribution's object files"
        )
        plan = _plan_static(dist, static_lib, requested, artifacts_dir, reason, assembly)
        if assembly is not None:
            return plan
        why = check_static_libpython(
            Path(static_lib),
            plan.link_lines[len(_LIBPYTHON_LINES) :],
            target_triple=dist.target_triple,
            cache_dir=artifacts_dir,
        )
        if why is None:
            return plan
        if requested == "static" or shared_lib is None:
            raise BuildError(
                f"static linking of libpython was requested, but the static libpython {static_lib} of "
                f"{dist.description} cannot be linked into an executable: {why}"
                if requested == "static"
                else f"the Python distribution {dist.description} has no shared libpython, and its static "
                f"libpython {static_lib} cannot be linked into an executable: {why}",
                hint='request dynamic linking (libpython_link_mode = "dynamic"; the shared libpython goes in '
                "lib/ beside the executable), or use a python-build-standalone distribution"
                if shared_lib is not None
                else "use a CPython built with --enable-shared",
            )
        _log.warning(
            "note: linking libpython dynamically: the static libpython %s cannot be linked into an executable: %s",
            static_lib,
            why,
        )
        return _plan_dynamic(dist, shared_lib, requested, f"static libpython unusable: {why}")
    assert shared_lib is not None
    if requested == "dynamic":
        reason = "dynamic linking requested"
    else:
        why = bitcode_reason(dist)
        reason = f"no static libpython available ({why})" if why else "no static libpython available"
        if why:  # a full archive whose objects cannot be linked: say why the build is dynamic
            _log.warning(
                "note: linking libpython dynamically: the objects of %s cannot be linked statically: %s",
                dist.description,
                why,
            )
    return _plan_dynamic(dist, shared_lib, requested, reason)


_LIBPYTHON_LINES = ("search", "libpython")
"""The first link lines of a static plan, libpython's own (the static check links the library itself)."""


def _plan_static(  # noqa: PLR0917 - private helper of plan_link
    dist: Distribution,
    library: Path,
    requested: str,
    artifacts_dir: Path,
    reason: str,
    assembly: LibpythonAssembly | None,
) -> LinkPlan:
    lines = [
        f"cargo:rustc-link-search=native={artifacts_dir}",
        # whole-archive: keep every C-API function, including those only extension
        # modules (lib-dynload, wheels) use. -bundle: pyo3-ffi is an rlib, and
        # +whole-archive with the default +bundle is rejected there.
        "cargo:rustc-link-lib=static:+whole-archive,-bundle=python3",
    ]
    assert len(lines) == len(_LIBPYTHON_LINES)
    if assembly is not None:
        lines += assembly.link_lines
    else:
        seen: set[str] = set()
        for entry in dist.static_link_libraries:
            if entry and entry not in seen:
                seen.add(entry)
                lines.append(_system_lib_line(entry))
    lines += _target_link_lines(dist.target_triple)
    return LinkPlan(
        mode="static",
        requested=requested,
        library=Path(library),
        lib_name=_lib_name(dist),
        lib_dir=artifacts_dir,
        link_lines=tuple(lines),
        rpath=None,
        runtime_files=(),
        reason=reason,
        assembly=assembly,
    )


def _plan_dynamic(dist: Distribution, library: Path, requested: str, reason: str) -> LinkPlan:
    library = Path(library)
    real = Path(os.path.realpath(library))
    lib_dir = Path(os.path.abspath(library.parent))
    lib_name = _lib_name(dist)
    lines = [f"cargo:rustc-link-search=native={lib_dir}"]
    dev_name = f"lib{lib_name}.dylib" if _is_apple(dist.target_triple) else f"lib{lib_name}.so"
    if (lib_dir / dev_name).exists():
        lines.append(f"cargo:rustc-link-lib=dylib={lib_name}")
    else:
        # Only the versioned file exists (a runtime package without the -dev symlink).
        lines.append(f"cargo:rustc-link-lib=dylib:+verbatim={library.name}")
    lines += _target_link_lines(dist.target_triple)
    soname = shared_library_soname(real) or library.name
    return LinkPlan(
        mode="dynamic",
        requested=requested,
        library=library,
        lib_name=lib_name,
        lib_dir=lib_dir,
        link_lines=tuple(lines),
        rpath=f"$ORIGIN/{RUNTIME_LIB_DIR}",
        runtime_files=(RuntimeFile(source=real, dest=PurePosixPath(RUNTIME_LIB_DIR, soname)),),
        reason=reason,
    )


def _pointer_width(triple: str) -> int:
    arch = triple.split("-", 1)[0]
    if arch in _32BIT_ARCHES or arch.startswith(("armv5", "armv6", "armv7", "thumbv")):
        return 32
    return 64


def _build_flags(dist: Distribution) -> list[str]:
    flags = []
    if "d" in dist.abiflags:
        flags += ["Py_DEBUG", "Py_REF_DEBUG"]
    if "t" in dist.abiflags:
        flags.append("Py_GIL_DISABLED")
    return flags


def render_pyo3_config(dist: Distribution, plan: LinkPlan) -> str:
    """Render PyO3's ``key=value`` config for ``plan`` (every line has ``=``; no comments).

    Keys: implementation, version (``X.Y``), shared, abi3=false, lib_name, lib_dir,
    executable (only when the distribution is for the host's triple: a foreign
    interpreter is never run or named), pointer_width,
    build_flags, suppress_build_script_link_lines=true, then one
    ``extra_build_script_line`` per link line.

    Returns:
        The file content, ending with a newline.
    """
    lines = [
        "implementation=CPython",
        f"version={dist.major_minor}",
        f"shared={'true' if plan.shared else 'false'}",
        "abi3=false",
        f"lib_name={plan.lib_name}",
        f"lib_dir={plan.lib_dir}",
    ]
    exe = dist.python_exe
    # A foreign triple's interpreter cannot run here: leave it out rather than point PyO3 at it.
    runs_here = dist.target_triple == host_triple()
    if runs_here and exe is not None and Path(exe).is_file() and os.access(exe, os.X_OK):
        lines.append(f"executable={os.path.abspath(exe)}")
    lines += [
        f"pointer_width={_pointer_width(dist.target_triple)}",
        f"build_flags={','.join(_build_flags(dist))}",
        "suppress_build_script_link_lines=true",
    ]
    lines += [f"extra_build_script_line={line}" for line in plan.link_lines]
    for line in lines:
        if "\n" in line or "\r" in line:
            raise BuildError(f"cannot write a PyO3 config line containing a newline: {line!r}")
    return "\n".join(lines) + "\n"


def write_link_artifacts(dist: Distribution, plan: LinkPlan, artifacts_dir: Path) -> Path:
    """Write the link inputs into ``artifacts_dir``.

    Static: copies the static libpython to ``<artifacts_dir>/libpython3.a`` (only when
    it changed), or assembles it from a python-build-standalone archive's objects
    (``plan.assembly``; only when its inputs changed). Both modes: writes
    ``pyo3-build-config-file.txt`` (atomically, only
    when its content changed, so cargo does not rebuild pyo3 needlessly).

    Args:
        dist: the distribution ``plan`` was made for.
        plan: from ``plan_link`` with the same ``artifacts_dir``.
        artifacts_dir: the artifacts directory (created if missing).

    Returns:
        The absolute path of ``pyo3-build-config-file.txt`` (the value for ``PYO3_CONFIG_FILE``).

    Raises:
        BuildError: the library cannot be copied, assembled (compiler or archiver failure)
            or the file cannot be written.
    """
    artifacts_dir = Path(os.path.abspath(artifacts_dir))
    try:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        if plan.mode == "static" and plan.assembly is not None:
            assemble_static_libpython(plan.assembly)
        elif plan.mode == "static" and copy_if_changed(plan.library, artifacts_dir / STATIC_LIBRARY_FILENAME):
            _log.info("copied %s to %s", plan.library, artifacts_dir / STATIC_LIBRARY_FILENAME)
        config_path = artifacts_dir / PYO3_CONFIG_FILENAME
        if write_text_if_changed(config_path, render_pyo3_config(dist, plan)):
            _log.info("wrote %s", config_path)
    except OSError as e:
        raise BuildError(f"cannot write link artifacts to {artifacts_dir}: {e}") from e
    return config_path


def install_runtime_files(plan: LinkPlan, install_dir: Path) -> list[Path]:
    """Copy ``plan.runtime_files`` into ``install_dir`` (only files that changed).

    Args:
        plan: the build's LinkPlan.
        install_dir: the directory holding the executable.

    Returns:
        The installed paths, in ``plan.runtime_files`` order.

    Raises:
        BuildError: a file cannot be copied.
    """
    out = []
    for rf in plan.runtime_files:
        dest = Path(install_dir, *rf.dest.parts)
        try:
            copy_if_changed(rf.source, dest)
        except OSError as e:
            raise BuildError(f"cannot copy {rf.source} to {dest}: {e}") from e
        out.append(dest)
    return out


# --- ELF SONAME ------------------------------------------------------------------------

_DT_NULL = 0
_DT_STRTAB = 5
_DT_SONAME = 14
_PT_LOAD = 1
_PT_DYNAMIC = 2


def shared_library_soname(path: Path) -> str | None:
    """The ``DT_SONAME`` of an ELF shared library (``libpython3.11.so.1.0``), or None.

    None when the file is not ELF, has no SONAME, or cannot be read; callers then
    use the file's own name.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return _soname(data)
    except (struct.error, IndexError, UnicodeDecodeError):
        return None


def _soname(data: bytes) -> str | None:
    if data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        (e_phoff,) = struct.unpack_from(end + "Q", data, 32)
        e_phentsize, e_phnum = struct.unpack_from(end + "HH", data, 54)
        ph_fmt, dyn_fmt = end + "IIQQQQQQ", end + "qQ"
    else:
        (e_phoff,) = struct.unpack_from(end + "I", data, 28)
        e_phentsize, e_phnum = struct.unpack_from(end + "HH", data, 42)
        ph_fmt, dyn_fmt = end + "IIIIIIII", end + "iI"
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    for i in range(e_phnum):
        fields = struct.unpack_from(ph_fmt, data, e_phoff + i * e_phentsize)
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    strtab_vaddr = soname_off = None
    step = struct.calcsize(dyn_fmt)
    off, size = dynamic
    for pos in range(off, off + size, step):
        tag, val = struct.unpack_from(dyn_fmt, data, pos)
        if tag == _DT_NULL:
            break
        if tag == _DT_STRTAB:
            strtab_vaddr = val
        elif tag == _DT_SONAME:
            soname_off = val
    if strtab_vaddr is None or soname_off is None:
        return None
    for vaddr, offset, filesz in loads:
        if vaddr <= strtab_vaddr < vaddr + filesz:
            start = offset + (strtab_vaddr - vaddr) + soname_off
            stop = data.index(b"\0", start)
            return data[start:stop].decode("utf-8")
    return None
