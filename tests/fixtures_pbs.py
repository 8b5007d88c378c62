"""Build python-build-standalone-format archives from real CPython installs, and serve them.

Nothing here is downloaded: archives are made on this machine from

- Debian's ``/usr/bin/python3.11`` for *full* archives (``.tar.zst``, ``python/PYTHON.json``
  first, version 7 or 8): the stdlib from ``/usr/lib/python3.11``, headers from
  ``/usr/include/python3.11``, real object files from ``ar x`` of
  ``config-3.11-x86_64-linux-gnu/libpython3.11-pic.a`` laid out under ``python/build/`` with the
  directories CPython's Makefile names, the shared ``libpython3.11.so.1.0``, and a PYTHON.json
  built from the interpreter's own sysconfig data (validated by ``PythonJson.from_dict``);
- pyenv's ``/root/.pyenv/versions/3.11.7`` for an *install_only* archive (``.tar.gz``, no
  PYTHON.json, with its ``_sysconfigdata``).

The stdlib is reduced to the modules an interpreter needs to start and run common code
(``stdlib="minimal"``) unless ``stdlib="full"`` is asked. ``PbsServer`` is a loopback HTTP server
(a thread) with ``Range`` support, a request log and fault injection.

Use from a test module: ``from fixtures_pbs import *`` (pytest fixtures included).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard

__all__ = [
    "DEBIAN_PYTHON",
    "PYENV_PREFIX",
    "BuiltArchive",
    "PbsServer",
    "build_full_archive",
    "build_install_only_archive",
    "full_python_json",
    "pbs_archives",
    "pbs_server",
    "tar_entry",
    "write_raw_tar",
    "write_tar_gz",
    "write_tar_zst",
]

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
DEBIAN_STDLIB = Path("/usr/lib/python3.11")
DEBIAN_INCLUDE = Path("/usr/include/python3.11")
DEBIAN_CONFIG = DEBIAN_STDLIB / "config-3.11-x86_64-linux-gnu"
DEBIAN_LIBPYTHON_SO = Path("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
PYENV_PREFIX = Path("/root/.pyenv/versions/3.11.7")
RELEASE = "20250101"
TRIPLE = "x86_64-unknown-linux-gnu"

_IMPORTS = (
    "import sys, os, json, argparse, runpy, zipfile, importlib.metadata, importlib.resources, "
    "encodings.idna, encodings.ascii, encodings.latin_1, email.parser, logging, tempfile, shutil, "
    "textwrap, typing, dataclasses, pathlib, subprocess, collections.abc, contextlib, locale, "
    "codecs, io, stat, struct, base64, hashlib, random, datetime, traceback, inspect, ast, "
    "multiprocessing, unittest, sysconfig, platform, string, glob, fnmatch, site"
)
_IN_CORE = {"_ast", "_imp", "_string", "_tokenize", "_warnings", "builtins", "gc", "marshal", "sys"}
_REQUIRED = {"_codecs", "_io", "_signal", "_thread", "_tracemalloc", "_weakref", "faulthandler", "posix"}


@dataclass(frozen=True)
class BuiltArchive:
    """An archive made by this module."""

    path: Path
    sha256: str
    kind: str  # "full" or "install_only"
    json_version: str | None
    python_version: str

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Archive writers: members are (archive name, TarInfo-ish spec).

Member = tuple[str, Path | bytes | None, str | None]  # name, file source / bytes / None for dir, symlink target


def _add(tf: tarfile.TarFile, name: str, source: Path | bytes | None, link: str | None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 315532800  # 1980-01-01
    if link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = link
        tf.addfile(info)
    elif source is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tf.addfile(info)
    elif isinstance(source, bytes):
        info.size = len(source)
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(source))
    else:
        st = source.stat()
        info.size = st.st_size
        info.mode = 0o755 if st.st_mode & 0o111 else 0o644
        with source.open("rb") as fh:
            tf.addfile(info, fh)


def write_tar_zst(path: Path, members: list[Member], *, level: int = 3, checksum: bool = False) -> None:
    """Write a zstandard-compressed tar with the members in order.

    ``checksum`` adds the frame's content checksum; python-build-standalone's own archives are
    written without one (``ZstdCompressor(compression_params=...)`` in its ``pythonbuild/utils.py``).
    """
    with (
        path.open("wb") as raw,
        zstandard.ZstdCompressor(level=level, write_checksum=checksum).stream_writer(raw, closefd=False) as zw,
        tarfile.open(fileobj=zw, mode="w|", format=tarfile.PAX_FORMAT) as tf,
    ):
        for name, source, link in members:
            _add(tf, name, source, link)


def write_raw_tar(
    path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]], *, compression: str = "zst", checksum: bool = False
) -> None:
    """Write ``(TarInfo, data)`` entries as given (hard links, odd types and names included).

    Args:
        compression: ``"zst"`` or ``"gz"``.
        checksum: zstandard frame checksum.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if compression == "zst":
        path.write_bytes(zstandard.ZstdCompressor(level=1, write_checksum=checksum).compress(raw))
    else:
        path.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))


def tar_entry(
    name: str,
    *,
    data: bytes | None = None,
    kind: str = "file",
    link: str = "",
    size: int | None = None,
    mode: int = 0o644,
) -> tuple[tarfile.TarInfo, bytes | None]:
    """One entry for ``write_raw_tar``: ``kind`` is file, dir, symlink, hardlink, fifo, chr or blk."""
    info = tarfile.TarInfo(name)
    info.mtime = 315532800
    info.mode = mode
    info.type = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "fifo": tarfile.FIFOTYPE,
        "chr": tarfile.CHRTYPE,
        "blk": tarfile.BLKTYPE,
    }[kind]
    info.linkname = link
    if kind == "file":
        data = data or b""
        info.size = len(data) if size is None else size
    return info, data if kind == "file" else None


def write_tar_gz(path: Path, members: list[Member]) -> None:
    """Write a gzip tar with the members in order."""
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tf,
    ):
        for name, source, link in members:
            _add(tf, name, source, link)


def _tree_members(src: Path, prefix: str, *, skip: Callable[[Path], bool] = lambda p: False) -> list[Member]:
    out: list[Member] = [(prefix, None, None)]
    for path in sorted(src.rglob("*")):
        if "__pycache__" in path.parts or skip(path):
            continue
        name = f"{prefix}/{path.relative_to(src).as_posix()}"
        if path.is_symlink():
            continue
        out.append((name, None if path.is_dir() else path, None))
    return out


def _stdlib_files(python: Path, stdlib: Path, mode: str) -> list[Path]:
    """Stdlib files (relative to ``stdlib``) the interpreter needs."""
    if mode == "full":
        return [
            p.relative_to(stdlib)
            for p in sorted(stdlib.rglob("*"))
            if p.is_file()
            and "__pycache__" not in p.parts
            and "site-packages" not in p.parts
            and "dist-packages" not in p.parts
            and "lib-dynload" not in p.parts
            and not p.name.startswith("config-")
            and not any(part.startswith("config-") for part in p.relative_to(stdlib).parts)
            and "test" not in p.relative_to(stdlib).parts[:1]
        ]
    code = (
        f"{_IMPORTS}\nfor m in list(sys.modules.values()):\n    f = getattr(m, '__file__', None)\n    if f: print(f)\n"
    )
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    files: set[Path] = set()
    for line in out.splitlines():
        p = Path(line)
        try:
            rel = p.relative_to(stdlib)
        except ValueError:
            continue
        if rel.parts[0] in ("lib-dynload", "site-packages", "dist-packages") or p.suffix != ".py":
            continue
        files.add(rel)
        if p.name == "__init__.py":  # whole packages (data files too) keep resources realistic
            for q in p.parent.rglob("*"):
                if q.is_file() and "__pycache__" not in q.parts and "tests" not in q.parts:
                    files.add(q.relative_to(stdlib))
    for name in (
        "os.py",
        "LICENSE.txt",
        "site.py",
        "_sysconfigdata__x86_64-linux-gnu.py",
        "_sysconfigdata__linux_x86_64-linux-gnu.py",
    ):
        if (stdlib / name).is_file():
            files.add(Path(name))
    for p in (stdlib / "encodings").glob("*.py"):
        files.add(p.relative_to(stdlib))
    return sorted(files)


# ---------------------------------------------------------------------------------------------
# Full archive (Debian python3.11).


def _interpreter_facts(python: Path) -> dict[str, Any]:
    code = r"""
import sys, sysconfig, importlib.util, importlib.machinery, json
print(json.dumps({
    "config_vars": {k: str(v) for k, v in sysconfig.get_config_vars().items()},
    "paths_abstract": sysconfig.get_paths(expand=False),
    "platform": sysconfig.get_platform(),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "impl_version": [str(x) for x in sys.implementation.version],
    "hexversion": sys.implementation.hexversion,
    "cache_tag": sys.implementation.cache_tag,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "ext": importlib.machinery.EXTENSION_SUFFIXES,
    "abiflags": sys.abiflags,
}))
"""
    return json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout)


def _object_layout(workdir: Path) -> dict[str, str]:
    """``ar x`` libpython3.11-pic.a into ``workdir``; map object basename -> ``build/<dir>/<name>.o``."""
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ar", "x", str(DEBIAN_CONFIG / "libpython3.11-pic.a")], cwd=workdir, check=True)
    makefile = (DEBIAN_CONFIG / "Makefile").read_text(encoding="utf-8", errors="replace")
    known: dict[str, str] = {}
    for m in re.finditer(r"\b((?:Objects|Python|Parser|Modules|Programs)/[\w/]*?([\w-]+\.o))\b", makefile):
        known.setdefault(m.group(2), m.group(1))
    layout = {}
    for obj in sorted(p.name for p in workdir.glob("*.o")):
        layout[obj] = "build/" + known.get(obj, f"Modules/{obj}")
    return layout


def _setup_modules() -> dict[str, tuple[list[str], list[str]]]:
    """Module -> (source files, -l libraries) from Debian's Setup files."""
    modules: dict[str, tuple[list[str], list[str]]] = {}
    for name in ("Setup.bootstrap", "Setup.local", "Setup.stdlib"):
        for raw_line in (DEBIAN_CONFIG / name).read_text(encoding="utf-8").splitlines():
            line = raw_line.split("#", 1)[0].strip()
            if not line or line.startswith("*") or "=" in line.split()[0]:
                continue
            words = line.split()
            srcs = [w for w in words[1:] if w.endswith(".c")]
            libs = [w[2:] for w in words[1:] if w.startswith("-l")]
            modules.setdefault(words[0], (srcs, libs))
    return modules


def full_python_json(facts: dict[str, Any], layout: dict[str, str], *, json_version: str) -> dict[str, Any]:
    """A PYTHON.json (version 7 or 8) describing the Debian-made tree."""
    inittab = re.findall(r'\{"([\w.]+)",\s*([\w]+)\}', (DEBIAN_CONFIG / "config.c").read_text(encoding="utf-8"))
    setup = _setup_modules()
    extensions: dict[str, list[dict[str, Any]]] = {}
    claimed: set[str] = set()
    for name, init_fn in inittab:
        srcs, libs = setup.get(name, ([], []))
        objs = []
        if name not in _IN_CORE:
            for src in srcs:
                base = Path(src).with_suffix(".o").name
                if base in layout:
                    objs.append(layout[base])
                    claimed.add(base)
        extensions[name] = [
            {
                "in_core": name in _IN_CORE,
                "init_fn": init_fn,
                "links": [{"name": lib, "system": True} for lib in libs],
                "objs": objs,
                "required": name in _REQUIRED,
                "variant": "default",
            }
        ]
    ext_suffix = facts["ext"][0]
    for name, links, licenses in (
        ("_ssl", [{"name": "ssl", "system": True}, {"name": "crypto", "system": True}], ["Apache-2.0"]),
        ("_sqlite3", [{"name": "sqlite3", "system": True}], None),
        ("_decimal", [{"name": "mpdec", "system": True}], ["BSD-2-Clause"]),
    ):
        variant: dict[str, Any] = {
            "in_core": False,
            "init_fn": f"PyInit_{name}",
            "links": links,
            "objs": [],
            "required": False,
            "variant": "default",
            "shared_lib": f"install/lib/python3.11/lib-dynload/{name}{ext_suffix}",
        }
        if licenses is not None:
            variant["licenses"] = licenses
            variant["license_paths"] = [f"licenses/LICENSE.{name}.txt"]
        extensions[name] = [variant]
    extensions["pyexpat"][0]["license_public_domain"] = False
    extensions["pyexpat"][0]["licenses"] = ["MIT"]
    core_objs = [path for base, path in layout.items() if base not in claimed]
    cv = dict(facts["config_vars"])
    cv.update(
        {
            "LIBRARY": "libpython3.11.a",
            "LDLIBRARY": "libpython3.11.so",
            "INSTSONAME": "libpython3.11.so.1.0",
            "LDVERSION": "3.11",
            "Py_ENABLE_SHARED": "1",
            "abiflags": "",
            "prefix": "/install",
            "LIBPL": "/install/lib/python3.11/config-3.11-x86_64-linux-gnu",
        }
    )
    doc: dict[str, Any] = {
        "version": json_version,
        "target_triple": TRIPLE,
        "optimizations": "noopt",
        "python_tag": "cp311",
        "python_abi_tag": facts["abiflags"],
        "python_version": facts["version"],
        "python_major_minor_version": "3.11",
        "python_implementation_cache_tag": facts["cache_tag"],
        "python_implementation_hex_version": facts["hexversion"],
        "python_implementation_name": "cpython",
        "python_implementation_version": facts["impl_version"],
        "python_platform_tag": facts["platform"],
        "python_exe": "install/bin/python3.11",
        "python_paths": {
            "stdlib": "install/lib/python3.11",
            "platstdlib": "install/lib/python3.11",
            "purelib": "install/lib/python3.11/site-packages",
            "platlib": "install/lib/python3.11/site-packages",
            "include": "install/include/python3.11",
            "platinclude": "install/include/python3.11",
            "scripts": "install/bin",
            "data": "install",
        },
        "python_paths_abstract": facts["paths_abstract"],
        "python_config_vars": cv,
        "python_suffixes": {
            "bytecode": [".pyc"],
            "debug_bytecode": [".pyc"],
            "extension": facts["ext"],
            "optimized_bytecode": [".pyc"],
            "source": [".py"],
        },
        "python_bytecode_magic_number": facts["magic"],
        "python_stdlib_platform_config": "install/lib/python3.11/config-3.11-x86_64-linux-gnu",
        "python_stdlib_test_packages": ["test"],
        "python_symbol_visibility": "global-default",
        "python_extension_module_loading": ["builtin", "shared-library"],
        "libpython_link_mode": "shared",
        "crt_features": ["glibc-dynamic", "glibc-max-symbol-version:2.36"],
        "run_tests": "build/run_tests.py",
        "licenses": ["Python-2.0", "CNRI-Python"],
        "license_path": "licenses/LICENSE.cpython.txt",
        "tcl_library_path": None,
        "build_info": {
            "core": {
                "objs": core_objs,
                "links": [{"name": n, "system": True} for n in ("dl", "m", "pthread", "util")],
                "static_lib": "install/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a",
                "shared_lib": "install/lib/libpython3.11.so.1.0",
            },
            "extensions": extensions,
            "inittab_object": "build/Modules/config.o",
            "inittab_source": "build/Modules/config.c",
            "inittab_cflags": ["-std=c99", "-DNDEBUG", "-DPy_BUILD_CORE"],
            "object_file_format": "elf",
        },
    }
    if json_version != "7":
        doc["build_options"] = "noopt"
    return doc


def build_full_archive(
    dest_dir: Path,
    *,
    json_version: str = "8",
    stdlib: str = "minimal",
    mutate: Callable[[dict[str, Any]], None] | None = None,
    workdir: Path | None = None,
    extra_members: list[Member] | None = None,
    checksum: bool = False,
    filename: str | None = None,
) -> BuiltArchive:
    """Make ``cpython-3.11.X+RELEASE-x86_64-unknown-linux-gnu-noopt-full.tar.zst`` in ``dest_dir``.

    Args:
        json_version: ``"7"`` or ``"8"`` (or anything, to test rejection).
        stdlib: ``"minimal"`` or ``"full"``.
        mutate: edits the PYTHON.json dict before writing (to make invalid documents).
        workdir: scratch directory for ``ar x`` (default: ``dest_dir/.work-objs``).
        extra_members: appended after the regular members (links, odd files).
        checksum: write a zstandard frame checksum (python-build-standalone does not).
        filename: the archive's file name (default: PBS's name for it).
    """
    from pyoxidizer_py.distribution.pbs.python_json import PythonJson

    facts = _interpreter_facts(DEBIAN_PYTHON)
    workdir = workdir or dest_dir / ".work-objs"
    if not workdir.exists() or not any(workdir.glob("*.o")):
        _object_layout(workdir)
    layout = _object_layout_cached(workdir)
    doc = full_python_json(facts, layout, json_version=json_version)
    if mutate is None and json_version in ("7", "8"):
        PythonJson.from_dict(doc, source="fixture")  # our own validator must accept it
    if mutate is not None:
        mutate(doc)
    py = "python/install/lib/python3.11"
    members: list[Member] = [
        ("python/PYTHON.json", json.dumps(doc, indent=1).encode(), None),
        ("python", None, None),
        ("python/install", None, None),
        ("python/install/bin", None, None),
        ("python/install/bin/python3.11", DEBIAN_PYTHON, None),
        ("python/install/bin/python3", None, "python3.11"),
        ("python/install/lib", None, None),
        ("python/install/lib/libpython3.11.so.1.0", DEBIAN_LIBPYTHON_SO, None),
        ("python/install/lib/libpython3.11.so", None, "libpython3.11.so.1.0"),
        ("python/install/lib/libpython3.11.a", None, "python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a"),
        (py, None, None),
    ]
    dirs: set[str] = {py}
    for rel in _stdlib_files(DEBIAN_PYTHON, DEBIAN_STDLIB, stdlib):
        for parent in reversed(rel.parents[:-1]):
            d = f"{py}/{parent.as_posix()}"
            if d not in dirs:
                dirs.add(d)
                members.append((d, None, None))
        members.append((f"{py}/{rel.as_posix()}", DEBIAN_STDLIB / rel, None))
    members.append((f"{py}/site-packages", None, None))
    readme = b"This directory exists so that 3rd party packages can be installed here.\n"
    members.append((f"{py}/site-packages/README.txt", readme, None))
    members.append((f"{py}/lib-dynload", None, None))
    for name in ("_ssl", "_sqlite3", "_decimal", "_json", "_ctypes"):
        so = DEBIAN_STDLIB / "lib-dynload" / f"{name}.cpython-311-x86_64-linux-gnu.so"
        members.append((f"{py}/lib-dynload/{so.name}", so, None))
    cfg = f"{py}/config-3.11-x86_64-linux-gnu"
    members.append((cfg, None, None))
    for name in ("config.c", "config.c.in", "Setup", "Setup.local", "Setup.stdlib", "Setup.bootstrap"):
        members.append((f"{cfg}/{name}", DEBIAN_CONFIG / name, None))
    members.append((f"{cfg}/libpython3.11.a", DEBIAN_CONFIG / "libpython3.11-pic.a", None))
    members += _tree_members(DEBIAN_INCLUDE, "python/install/include/python3.11")
    members.append(("python/build", None, None))
    build_dirs: set[str] = set()
    for base, rel in layout.items():
        parent = str(Path(rel).parent)
        for p in reversed([*Path(parent).parents][:-1]):
            if f"python/{p}" not in build_dirs:
                build_dirs.add(f"python/{p}")
                members.append((f"python/{p}", None, None))
        if f"python/{parent}" not in build_dirs:
            build_dirs.add(f"python/{parent}")
            members.append((f"python/{parent}", None, None))
        members.append((f"python/{rel}", workdir / base, None))
    members.append(("python/build/Modules/config.c", DEBIAN_CONFIG / "config.c", None))
    members.append(("python/build/run_tests.py", b"# placeholder\n", None))
    members.append(("python/licenses", None, None))
    members.append(("python/licenses/LICENSE.cpython.txt", DEBIAN_STDLIB / "LICENSE.txt", None))
    for name in ("_ssl", "_decimal"):
        members.append((f"python/licenses/LICENSE.{name}.txt", f"license text of {name}\n".encode(), None))
    members += extra_members or []
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / (filename or f"cpython-{facts['version']}+{RELEASE}-{TRIPLE}-noopt-full.tar.zst")
    write_tar_zst(path, members, checksum=checksum)
    return BuiltArchive(
        path=path, sha256=_sha256(path), kind="full", json_version=json_version, python_version=facts["version"]
    )


_LAYOUT_CACHE: dict[Path, dict[str, str]] = {}


def _object_layout_cached(workdir: Path) -> dict[str, str]:
    if workdir not in _LAYOUT_CACHE:
        makefile = (DEBIAN_CONFIG / "Makefile").read_text(encoding="utf-8", errors="replace")
        known: dict[str, str] = {}
        for m in re.finditer(r"\b((?:Objects|Python|Parser|Modules|Programs)/[\w/]*?([\w-]+\.o))\b", makefile):
            known.setdefault(m.group(2), m.group(1))
        _LAYOUT_CACHE[workdir] = {
            obj: "build/" + known.get(obj, f"Modules/{obj}") for obj in sorted(p.name for p in workdir.glob("*.o"))
        }
    return _LAYOUT_CACHE[workdir]


# ---------------------------------------------------------------------------------------------
# install_only archive (pyenv 3.11.7).


def _loaded_extension_modules(python: Path, dynload: Path, *extra: str) -> list[Path]:
    """``lib-dynload`` files that ``python`` loads for ``_IMPORTS`` plus ``extra`` modules."""
    code = (
        f"{_IMPORTS}, {', '.join(extra) or 'sys'}\n"
        "for m in list(sys.modules.values()):\n"
        "    f = getattr(m, '__file__', None)\n"
        "    if f: print(f)\n"
    )
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    found = {Path(line) for line in out.splitlines() if Path(line).parent == dynload}
    return sorted(found)


def build_install_only_archive(dest_dir: Path, *, stdlib: str = "minimal") -> BuiltArchive:
    """Make ``cpython-3.11.7+RELEASE-x86_64-unknown-linux-gnu-install_only.tar.gz`` (PBS's
    ``python/install/*`` -> ``python/*`` layout, no PYTHON.json, no static libpython)."""
    prefix = PYENV_PREFIX
    lib = prefix / "lib" / "python3.11"
    members: list[Member] = [
        ("python", None, None),
        ("python/bin", None, None),
        ("python/bin/python3.11", prefix / "bin" / "python3.11", None),
        ("python/bin/python3", None, "python3.11"),
        ("python/lib", None, None),
        ("python/lib/libpython3.11.so.1.0", prefix / "lib" / "libpython3.11.so.1.0", None),
        ("python/lib/libpython3.11.so", None, "libpython3.11.so.1.0"),
        ("python/lib/python3.11", None, None),
    ]
    dirs: set[str] = set()
    for rel in _stdlib_files(prefix / "bin" / "python3.11", lib, stdlib):
        for parent in reversed(rel.parents[:-1]):
            d = f"python/lib/python3.11/{parent.as_posix()}"
            if d not in dirs:
                dirs.add(d)
                members.append((d, None, None))
        members.append((f"python/lib/python3.11/{rel.as_posix()}", lib / rel, None))
    members.append(("python/lib/python3.11/lib-dynload", None, None))
    # The extension modules the stdlib's common imports load (pyenv builds binascii, math, _random
    # ... as lib-dynload files), so that the archive's interpreter and an embedding executable run.
    for so in _loaded_extension_modules(prefix / "bin" / "python3.11", lib / "lib-dynload", "json"):
        members.append((f"python/lib/python3.11/lib-dynload/{so.name}", so, None))
    cfg = "python/lib/python3.11/config-3.11-x86_64-linux-gnu"
    members.append((cfg, None, None))
    members.append((f"{cfg}/config.c", lib / "config-3.11-x86_64-linux-gnu" / "config.c", None))
    members += _tree_members(prefix / "include" / "python3.11", "python/include/python3.11")
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"cpython-3.11.7+{RELEASE}-{TRIPLE}-install_only.tar.gz"
    write_tar_gz(path, members)
    return BuiltArchive(
        path=path, sha256=_sha256(path), kind="install_only", json_version=None, python_version="3.11.7"
    )


# ---------------------------------------------------------------------------------------------
# Loopback HTTP server.


@dataclass
class PbsServer:
    """Serves ``root`` on 127.0.0.1 in a thread.

    ``faults`` is consumed one entry per GET request (FIFO); an entry is a dict with any of:
    ``status`` (answer this HTTP status), ``truncate`` (send only this many body bytes, then close),
    ``ignore_range`` (answer 200 with the whole body), ``delay`` (seconds before the body),
    ``tamper`` (flip the last byte of the body), ``slow`` (seconds between 64 KiB chunks).
    ``log`` records ``(path, range header or None, status)`` for every GET.
    """

    root: Path
    faults: list[dict[str, Any]] = field(default_factory=list)
    log: list[tuple[str, str | None, int]] = field(default_factory=list)
    _httpd: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, rel: str) -> str:
        return f"{self.base_url}/{rel}"

    def gets(self, suffix: str = "") -> list[tuple[str, str | None, int]]:
        with self._lock:
            return [e for e in self.log if e[0].endswith(suffix)]

    def start(self) -> PbsServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                from urllib.parse import unquote

                with server._lock:
                    fault = server.faults.pop(0) if server.faults else {}
                rel = unquote(self.path.split("?", 1)[0]).lstrip("/")
                path = (server.root / rel).resolve()
                rng = self.headers.get("Range")
                if "status" in fault:
                    self._answer(int(fault["status"]), b"injected failure\n", rng)
                    return
                if not path.is_file() or server.root.resolve() not in path.parents:
                    self._answer(404, b"not found\n", rng)
                    return
                data = path.read_bytes()
                if fault.get("tamper"):
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                start = 0
                status = 200
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and not fault.get("ignore_range"):
                    start = int(m.group(1))
                    if start >= len(data):
                        self._answer(416, b"", rng)
                        return
                    status = 206
                body = data[start:]
                with server._lock:
                    server.log.append((self.path, rng, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                limit = int(fault.get("truncate", len(body)))
                sent = 0
                try:
                    while sent < limit:
                        chunk = body[sent : min(limit, sent + 65536)]
                        self.wfile.write(chunk)
                        sent += len(chunk)
                        if fault.get("slow"):
                            time.sleep(float(fault["slow"]))
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if limit < len(body):
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)

            def _answer(self, status: int, body: bytes, rng: str | None) -> None:
                with server._lock:
                    server.log.append((self.path, rng, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


# ---------------------------------------------------------------------------------------------
# pytest fixtures.


@dataclass(frozen=True)
class PbsArchives:
    """The session's archives."""

    full_v8: BuiltArchive
    full_v7: BuiltArchive
    install_only: BuiltArchive
    workdir: Path


@pytest.fixture(scope="session")
def pbs_archives(tmp_path_factory: pytest.TempPathFactory) -> PbsArchives:
    """Full (PYTHON.json v8 and v7) and install_only archives, built once per session."""
    d = tmp_path_factory.mktemp("pbs-archives")
    work = d / "objs"
    v8_dir, v7_dir, io_dir = d / "v8", d / "v7", d / "install_only"
    return PbsArchives(
        full_v8=build_full_archive(v8_dir, json_version="8", workdir=work),
        full_v7=build_full_archive(v7_dir, json_version="7", workdir=work),
        install_only=build_install_only_archive(io_dir),
        workdir=work,
    )


@pytest.fixture
def pbs_server(tmp_path: Path) -> Iterator[PbsServer]:
    """A running loopback server over ``tmp_path / "www"`` (copy archives there)."""
    www = tmp_path / "www"
    www.mkdir()
    server = PbsServer(root=www).start()
    try:
        yield server
    finally:
        server.stop()


def publish(server: PbsServer, archive: BuiltArchive, *, release: str = RELEASE) -> str:
    """Copy an archive to ``<www>/<release>/<name>``; return its URL (``+`` percent-encoded)."""
    from urllib.parse import quote

    target = server.root / release / archive.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.link(archive.path, target) if archive.path.stat().st_dev == target.parent.stat().st_dev else shutil.copy(
            archive.path, target
        )
    return server.url_for(f"{release}/{quote(archive.filename, safe='')}")


__all__ += ["PbsArchives", "publish"]
