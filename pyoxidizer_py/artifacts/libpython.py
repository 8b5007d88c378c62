"""Assemble a static ``libpython3.a`` from a python-build-standalone full archive's objects.

A PBS *full* archive lists, in ``PYTHON.json``'s ``build_info``, the object files of
libpython's core and of every extension module, with the libraries each needs
(``build_info`` in
https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html; PyOxidizer does the same
in ``pyoxidizer/src/py_packaging/libpython.rs``, https://github.com/indygreg/PyOxidizer). For a
static link we:

1. choose the extension modules to build in: every module whose variant is compiled into
   libpython (no ``shared_lib``; ``in_core`` and ``required`` ones always); modules the
   archive ships as shared libraries stay ``lib-dynload`` files, loaded from the filesystem;
2. write a new ``config.c`` whose ``_PyImport_Inittab`` lists exactly those modules, and
   compile it with ``cc``, the archive's include dir and ``build_info.inittab_cflags``;
3. archive it with every ``core.objs`` object except ``build_info.inittab_object`` (CPython's
   own inittab) and the chosen extensions' ``objs`` into an indexed archive (``ar rcsD``);
4. turn the ``links`` of the core and the chosen extensions into cargo link lines: static
   libraries (``path_static``, with their directories as search paths) before dynamic ones,
   then frameworks and system libraries, so a single-pass linker resolves dependents first.

Objects that are LLVM bitcode (PBS's ``lto`` builds) cannot be linked by the system
toolchain; ``plan_static_libpython`` refuses them with a ``BuildError`` that says why and
what to use instead.

``plan_static_libpython`` only computes (a frozen ``LibpythonAssembly``); ``assemble_static_libpython``
does the work, and skips it when the inputs recorded beside the library are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxidizer_py.artifacts.atomic_write import write_text_if_changed
from pyoxidizer_py.errors import BuildError

if TYPE_CHECKING:
    from pyoxidizer_py.distribution.model import Distribution
    from pyoxidizer_py.distribution.pbs.distribution import PbsInfo
    from pyoxidizer_py.distribution.pbs.python_json import LinkEntry

__all__ = [
    "LibpythonAssembly",
    "assemble_static_libpython",
    "bitcode_reason",
    "can_assemble_static_libpython",
    "plan_static_libpython",
    "render_config_c",
]

_log = logging.getLogger(__name__)

WORK_SUBDIR = "libpython"
"""Directory (in the artifacts dir) holding ``config.c``, its object and the staged objects."""
_STAMP_SUFFIX = ".inputs.json"
_MISSING_SHOWN = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class LibpythonAssembly:
    """Everything needed to build ``libpython3.a`` from a PBS archive's objects.

    Attributes:
        output: the library to write (``<artifacts>/libpython3.a``).
        work_dir: scratch directory (``<artifacts>/libpython``).
        objects: absolute object paths, core first, then the chosen extensions' (no inittab object).
        object_names: one unique member name per object (``Objects_abstract.o``), same order.
        inittab: ``(module, init function)`` pairs for the new ``config.c`` (``"NULL"`` kept).
        include_dir: the archive's C headers.
        cflags: ``build_info.inittab_cflags``.
        builtin_extensions: sorted names of the modules compiled in.
        link_lines: cargo lines for the libraries libpython needs (search paths, static,
            dynamic, frameworks, system), in link order; without libpython's own lines.
    """

    output: Path
    work_dir: Path
    objects: tuple[Path, ...]
    object_names: tuple[str, ...]
    inittab: tuple[tuple[str, str], ...]
    include_dir: Path
    cflags: tuple[str, ...]
    builtin_extensions: tuple[str, ...]
    link_lines: tuple[str, ...]


def _pbs_info(dist: Distribution) -> PbsInfo | None:
    from pyoxidizer_py.distribution.pbs.distribution import PbsInfo

    info = dist.pbs
    return info if isinstance(info, PbsInfo) and info.python_json is not None else None


def can_assemble_static_libpython(dist: Distribution) -> bool:
    """True when ``dist`` is a PBS full archive whose objects are machine code (not LLVM bitcode)."""
    info = _pbs_info(dist)
    return info is not None and info.has_linkable_objects


def bitcode_reason(dist: Distribution) -> str | None:
    """Why ``dist``'s objects cannot be statically linked, when they are LLVM bitcode; else None.

    Returns:
        One sentence naming the format and the toolchain it needs, or None when ``dist`` is not a
        PBS full archive or its objects are not bitcode.
    """
    info = _pbs_info(dist)
    if info is None or info.python_json is None or not info.python_json.build_info.is_llvm_bitcode:
        return None
    bi = info.python_json.build_info
    version = bi.llvm_version or "unknown"
    return (
        f"its object files are LLVM bitcode ({bi.object_file_format!r}, an LTO build: "
        f"{info.python_json.effective_build_options or info.python_json.optimizations}), which only the exact "
        f"LLVM {version} toolchain that built them can link; this toolchain links machine code (ELF/Mach-O) only"
    )


def _member_name(relative: str) -> str:
    """``build/Objects/abstract.o`` -> ``Objects_abstract.o`` (unique across directories)."""
    parts = Path(relative).parts
    if parts and parts[0] == "build":
        parts = parts[1:]
    return "_".join(parts)


def _choose_extensions(info: PbsInfo) -> list[tuple[str, Any]]:
    """``(name, variant)`` for each extension compiled into libpython, sorted by name."""
    chosen = []
    for name, variants in sorted(info.extension_variants().items()):
        builtin = [v for v in variants if v.in_core or v.shared_lib is None]
        if builtin:
            chosen.append((name, builtin[0]))
        elif any(v.required for v in variants):
            raise BuildError(
                f"the Python distribution's required extension module {name} is only available as a "
                "shared library, so it cannot be built into a static libpython",
                hint="request dynamic linking of libpython",
            )
    return chosen


def _link_lines(info: PbsInfo, links: Iterable[LinkEntry], triple: str) -> tuple[str, ...]:
    search: list[str] = []
    static: list[str] = []
    dynamic: list[str] = []
    frameworks: list[str] = []
    system: list[str] = []

    def add(bucket: list[str], value: str) -> None:
        if value not in bucket:
            bucket.append(value)

    for link in links:
        if not link.name:
            continue
        if link.framework:
            add(frameworks, f"cargo:rustc-link-lib=framework={link.name}")
        elif link.system:
            add(system, f"cargo:rustc-link-lib={link.name}")
        elif link.path_static:
            add(search, f"cargo:rustc-link-search=native={info.path(link.path_static).parent}")
            # -bundle: keep the declared order (a bundled lib would be placed before libpython).
            add(static, f"cargo:rustc-link-lib=static:-bundle={link.name}")
        elif link.path_dynamic:
            add(search, f"cargo:rustc-link-search=native={info.path(link.path_dynamic).parent}")
            add(dynamic, f"cargo:rustc-link-lib=dylib={link.name}")
        else:
            add(system, f"cargo:rustc-link-lib={link.name}")
    if "-apple-" in triple:
        clang_rt = info.path("build/lib/libclang_rt.osx.a")
        if clang_rt.is_file():  # ___isOSVersionAtLeast; PBS ships it but does not list it
            add(search, f"cargo:rustc-link-search=native={clang_rt.parent}")
            add(static, "cargo:rustc-link-lib=static:-bundle=clang_rt.osx")
    return tuple(search + static + dynamic + frameworks + system)


def plan_static_libpython(dist: Distribution, output: Path) -> LibpythonAssembly:
    """Compute how to assemble a static libpython for a PBS full archive (no files are written).

    Args:
        dist: a python-build-standalone distribution with a PYTHON.json.
        output: the library to produce (``<artifacts dir>/libpython3.a``); made absolute.

    Returns:
        The LibpythonAssembly.

    Raises:
        BuildError: ``dist`` is not a PBS full archive, its objects are LLVM bitcode (the message
            names the format; the hint names the alternatives), a required module is only a shared
            library, or object files named by PYTHON.json are missing.
    """
    info = _pbs_info(dist)
    if info is None or info.python_json is None:
        raise BuildError(
            f"cannot assemble a static libpython from {dist.description}: it is not a "
            "python-build-standalone full archive (no PYTHON.json lists its object files)",
            hint="use a full archive whose objects are not LLVM bitcode, or request dynamic linking",
        )
    reason = bitcode_reason(dist)
    if reason is not None:
        raise BuildError(
            f"static linking of libpython was requested, but the Python distribution {dist.description} "
            f"cannot be linked statically: {reason}",
            hint='request dynamic linking (libpython_link_mode = "dynamic"; the shared libpython goes in '
            "lib/ beside the executable), or use a non-LTO full archive (python-build-standalone's "
            "noopt or debug builds, whose object_file_format is elf)",
        )
    bi = info.python_json.build_info
    rel_objects = [o for o in bi.core.objs if o != bi.inittab_object]
    chosen = _choose_extensions(info)
    links: list[LinkEntry] = list(bi.core.links)
    for _name, variant in chosen:
        if not variant.in_core:
            rel_objects += [o for o in variant.objs if o not in rel_objects]
        links += variant.links
    missing = [o for o in rel_objects if not info.path(o).is_file()]
    if missing:
        shown = ", ".join(missing[:_MISSING_SHOWN]) + (
            f" and {len(missing) - _MISSING_SHOWN} more" if len(missing) > _MISSING_SHOWN else ""
        )
        raise BuildError(
            f"cannot assemble a static libpython from {dist.description}: {len(missing)} object file(s) "
            f"named by PYTHON.json are missing under {info.root}: {shown}",
            hint="the archive is incomplete; request dynamic linking or use another archive",
        )
    names: list[str] = []
    seen: set[str] = set()
    for rel in rel_objects:
        name = _member_name(rel)
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base[:-2]}_{n}.o" if base.endswith(".o") else f"{base}_{n}"
        seen.add(name)
        names.append(name)
    output = Path(os.path.abspath(output))
    return LibpythonAssembly(
        output=output,
        work_dir=output.parent / WORK_SUBDIR,
        objects=tuple(info.path(o) for o in rel_objects),
        object_names=tuple(names),
        inittab=tuple((name, variant.init_fn) for name, variant in chosen),
        include_dir=Path(dist.include_dir),
        cflags=tuple(bi.inittab_cflags),
        builtin_extensions=tuple(name for name, _ in chosen),
        link_lines=_link_lines(info, links, dist.target_triple),
    )


def render_config_c(inittab: Iterable[tuple[str, str]]) -> str:
    """The ``config.c`` defining ``_PyImport_Inittab`` for ``(module, init function)`` pairs.

    Init functions named ``NULL`` (``builtins``, ``sys``) are listed without a declaration.
    """
    entries = list(inittab)
    lines = [
        "/* generated by pyoxidizer-py from PYTHON.json; do not edit */",
        '#include "Python.h"',
        "",
    ]
    lines += [f"extern PyObject* {fn}(void);" for _name, fn in entries if fn != "NULL"]
    lines += ["", "struct _inittab _PyImport_Inittab[] = {"]
    lines += [f'    {{"{name}", {fn}}},' for name, fn in entries]
    lines += ["    {0, 0}", "};", ""]
    return "\n".join(lines)


def _tool(env_var: str, default: str) -> list[str]:
    value = os.environ.get(env_var, "").strip()
    return shlex.split(value) if value else [default]


def _run(cmd: list[str], *, what: str, cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace", check=False)
    except OSError as e:
        raise BuildError(
            f"cannot run {cmd[0]} to {what}: {e.strerror or e}",
            hint="install a C toolchain (cc and ar), or set CC/AR; or request dynamic linking",
        ) from e
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise BuildError(
            f"{what} failed ({shlex.join(cmd[:2])} ... exited with status {proc.returncode})"
            + (f":\n{output}" if output else ""),
        )


def _stamp(assembly: LibpythonAssembly, cc: list[str], ar: list[str]) -> str:
    objects = []
    for path, name in zip(assembly.objects, assembly.object_names, strict=True):
        st = path.stat()
        objects.append([str(path), name, st.st_size, st.st_mtime_ns])
    doc = {
        "config_c": hashlib.sha256(render_config_c(assembly.inittab).encode()).hexdigest(),
        "cflags": list(assembly.cflags),
        "include_dir": str(assembly.include_dir),
        "cc": cc,
        "ar": ar,
        "objects": objects,
    }
    return json.dumps(doc, indent=0, sort_keys=True) + "\n"


def _stage(source: Path, dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def assemble_static_libpython(assembly: LibpythonAssembly) -> bool:
    """Build ``assembly.output``: compile the new ``config.c``, then ``ar rcsD`` every object.

    Nothing is rebuilt when the inputs (objects' sizes and mtimes, ``config.c``, flags, tools)
    match those recorded in ``<output>.inputs.json`` and the library exists. The library is
    written to a temporary name and moved into place. ``CC`` and ``AR`` override ``cc``/``ar``.

    Args:
        assembly: from ``plan_static_libpython``.

    Returns:
        True when the library was (re)built, False when it was up to date.

    Raises:
        BuildError: the compiler or archiver is missing or fails (its output is in the message),
            or a file cannot be written.
    """
    cc, ar = _tool("CC", "cc"), _tool("AR", "ar")
    stamp_path = assembly.output.with_name(assembly.output.name + _STAMP_SUFFIX)
    try:
        stamp = _stamp(assembly, cc, ar)
        if assembly.output.is_file() and stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp:
            _log.debug("%s is up to date", assembly.output)
            return False
        work = assembly.work_dir
        staged = work / "objs"
        if staged.exists():
            shutil.rmtree(staged)
        staged.mkdir(parents=True)
        config_c = work / "config.c"
        write_text_if_changed(config_c, render_config_c(assembly.inittab))
        config_o = staged / "config.o"
        _run(
            [*cc, "-c", "-fPIC", *assembly.cflags, f"-I{assembly.include_dir}", "-o", str(config_o), str(config_c)],
            what=f"compiling {config_c} (the inittab of the static libpython)",
            cwd=work,
        )
        for source, name in zip(assembly.objects, assembly.object_names, strict=True):
            _stage(source, staged / name)
        members = ["config.o", *assembly.object_names]
        tmp = assembly.output.with_name(assembly.output.name + ".tmp")
        if tmp.exists():
            tmp.unlink()
        _run(
            [*ar, "rcsD", str(tmp), *members],
            what=f"archiving {len(members)} objects into {assembly.output}",
            cwd=staged,
        )
        os.replace(tmp, assembly.output)
        write_text_if_changed(stamp_path, stamp)
        shutil.rmtree(staged, ignore_errors=True)
    except OSError as e:
        raise BuildError(f"cannot assemble {assembly.output}: {e}") from e
    _log.info(
        "assembled %s from %d objects (%d built-in extension modules)",
        assembly.output,
        len(assembly.objects) + 1,
        len(assembly.builtin_extensions),
    )
    return True
