"""Describe an install_only python-build-standalone tree from its files, without running it.

install_only archives carry no ``PYTHON.json`` (https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html):
their layout is ``python/bin``, ``python/include/python3.X``, ``python/lib/python3.X`` and the
shared libpython in ``python/lib``. This module reads:

- ``include/python3.X*/patchlevel.h`` for the full version (``PY_VERSION``);
- ``lib/python3.X*/_sysconfigdata_*.py``, whose ``build_time_vars`` dict literal is evaluated
  with ``ast.literal_eval`` (never executed), for ABI flags, suffixes, library names and the
  host type;
- ``importlib/_bootstrap_external.py`` (3.10-3.13) or ``internal/pycore_magic_number.h`` (3.14+)
  for the bytecode magic number;
- ``config-3.X-*/config.c`` for the built-in modules (the inittab), falling back to the
  ``MODBUILT_NAMES``/``MODSHARED_NAMES`` config vars.

So a distribution for another target triple can be inspected on this host.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxidizer_py.distribution.pbs.safepaths import LinkLoop, real_path, within
from pyoxidizer_py.errors import DistributionError

__all__ = [
    "InstallTreeInfo",
    "builtin_modules_from_config_c",
    "introspect_install_tree",
    "read_sysconfigdata",
    "triple_from_host_type",
]

logger = logging.getLogger(__name__)

_PY_VERSION_RE = re.compile(r'#define\s+PY_VERSION\s+"([^"]+)"')
_MAGIC_PY_RE = re.compile(r"MAGIC_NUMBER\s*=\s*\((\d+)\)\.to_bytes\(2,\s*'little'\)\s*\+\s*b'\\r\\n'")
_MAGIC_H_RE = re.compile(r"#define\s+PYC_MAGIC_NUMBER\s+(\d+)")
_MAX_SYSCONFIGDATA_BYTES = 16 << 20  # real ones are ~50 KB
_INITTAB_RE = re.compile(r'\{\s*"([A-Za-z0-9_.]+)"\s*,\s*([A-Za-z0-9_]+)\s*\}')


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallTreeInfo:
    """What the files of an install tree say about the CPython in it.

    Attributes:
        prefix: the installation root (``<root>/python``).
        version: ``"3.11.7"``; major_minor ``"3.11"``; abiflags ``""``/``"t"``/``"d"``.
        target_triple: Rust triple derived from the host type, or ``""`` when unknown (Windows).
        stdlib_dir, include_dir, lib_dynload_dir, shared_library, python_exe: paths (None when absent).
        bytecode_magic: 4 bytes.
        extension_suffixes: in import order.
        builtin_extensions: modules compiled into libpython.
        link_libraries: system library names from ``LIBS``.
        config_vars: the sysconfig ``build_time_vars`` (empty on Windows).
    """

    prefix: Path
    version: str
    major_minor: str
    abiflags: str
    target_triple: str
    stdlib_dir: Path
    include_dir: Path
    lib_dynload_dir: Path | None
    shared_library: Path | None
    python_exe: Path | None
    bytecode_magic: bytes
    extension_suffixes: tuple[str, ...]
    builtin_extensions: tuple[str, ...]
    link_libraries: tuple[str, ...]
    config_vars: dict[str, Any] = field(hash=False, compare=False)


def read_sysconfigdata(path: Path) -> dict[str, Any]:
    """Evaluate the ``build_time_vars = {...}`` literal of a ``_sysconfigdata_*.py`` file.

    Raises:
        DistributionError: the file is unreadable or has no literal ``build_time_vars`` dict.
    """
    try:
        if path.stat().st_size > _MAX_SYSCONFIGDATA_BYTES:
            raise DistributionError(f"{path}: larger than {_MAX_SYSCONFIGDATA_BYTES >> 20} MiB; not a sysconfig file")
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise DistributionError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "build_time_vars" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
                raise DistributionError(f"{path}: build_time_vars is not a literal: {exc}") from exc
            if isinstance(value, dict):
                return value
    raise DistributionError(f"{path}: no build_time_vars dict found")


def builtin_modules_from_config_c(path: Path) -> tuple[str, ...]:
    """Module names of the ``_PyImport_Inittab`` in a CPython ``config.c`` (sorted)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    start = text.find("_PyImport_Inittab")
    return tuple(sorted({m.group(1) for m in _INITTAB_RE.finditer(text, max(start, 0))}))


def triple_from_host_type(host_type: str) -> str:
    """Map a GNU host type (``x86_64-pc-linux-gnu``, ``aarch64-apple-darwin20.1``) to a Rust triple,
    or ``""`` when it is not recognised."""
    parts = host_type.split("-")
    if len(parts) < 3:
        return ""
    arch = {"arm64": "aarch64", "amd64": "x86_64", "i386": "i686"}.get(parts[0], parts[0])
    if "darwin" in host_type:
        return f"{arch}-apple-darwin"
    if "linux" in host_type:
        env = parts[-1] if parts[-1].startswith(("gnu", "musl")) else "gnu"
        return f"{arch}-unknown-linux-{env}"
    if "mingw" in host_type or "windows" in host_type:
        return f"{arch}-pc-windows-msvc"
    return ""


def _resolves_inside(path: Path, root: Path) -> bool:
    try:
        return within(real_path(path), real_path(root))
    except LinkLoop:
        return False


def _single(paths: list[Path], what: str, root: Path) -> Path:
    if not paths:
        raise DistributionError(f"{root}: install_only tree has no {what}")
    return sorted(paths)[0]


def _magic(stdlib: Path, include: Path) -> bytes:
    bootstrap = stdlib / "importlib" / "_bootstrap_external.py"
    if bootstrap.is_file():
        m = _MAGIC_PY_RE.search(bootstrap.read_text(encoding="utf-8", errors="replace"))
        if m:
            return int(m.group(1)).to_bytes(2, "little") + b"\r\n"
    header = include / "internal" / "pycore_magic_number.h"
    if header.is_file():
        m = _MAGIC_H_RE.search(header.read_text(encoding="utf-8", errors="replace"))
        if m:
            return int(m.group(1)).to_bytes(2, "little") + b"\r\n"
    raise DistributionError(f"cannot find the bytecode magic number in {bootstrap} or {header}")


def _windows_tree(prefix: Path) -> InstallTreeInfo:
    stdlib = prefix / "Lib"
    include = prefix / "include"
    m = _PY_VERSION_RE.search((include / "patchlevel.h").read_text(encoding="utf-8", errors="replace"))
    if not m:
        raise DistributionError(f"{include / 'patchlevel.h'}: no PY_VERSION")
    version = m.group(1)
    major, minor = version.split(".")[:2]
    dll = prefix / f"python{major}{minor}.dll"
    exe = prefix / "python.exe"
    return InstallTreeInfo(
        prefix=prefix,
        version=version,
        major_minor=f"{major}.{minor}",
        abiflags="",
        target_triple="x86_64-pc-windows-msvc",
        stdlib_dir=stdlib,
        include_dir=include,
        lib_dynload_dir=(prefix / "DLLs") if (prefix / "DLLs").is_dir() else None,
        shared_library=dll if dll.exists() else None,
        python_exe=exe if exe.exists() else None,
        bytecode_magic=_magic(stdlib, include),
        extension_suffixes=(f".cp{major}{minor}-win_amd64.pyd", ".pyd"),
        builtin_extensions=(),
        link_libraries=(),
        config_vars={},
    )


def introspect_install_tree(prefix: Path) -> InstallTreeInfo:
    """Read an installation (``<root>/python`` of an install_only archive) from its files.

    Args:
        prefix: the directory containing ``bin/``, ``lib/``, ``include/`` (or Windows ``Lib/``).

    Returns:
        The description; nothing is executed.

    Raises:
        DistributionError: a required file (stdlib, ``_sysconfigdata_*.py``, ``patchlevel.h``,
            magic number) is missing or unreadable.
    """
    if (prefix / "Lib" / "os.py").is_file():
        return _windows_tree(prefix)
    stdlib = _single([p.parent for p in (prefix / "lib").glob("python3.*/os.py")], "lib/python3.X/os.py", prefix)
    sysconfig_file = _single(list(stdlib.glob("_sysconfigdata_*.py")), "_sysconfigdata_*.py", prefix)
    config_vars = read_sysconfigdata(sysconfig_file)
    abiflags = str(config_vars.get("ABIFLAGS", config_vars.get("abiflags", "")) or "")
    major_minor = str(config_vars.get("VERSION") or stdlib.name.removeprefix("python").rstrip("td"))
    include = prefix / "include" / f"python{major_minor}{abiflags}"
    if not include.is_dir():
        include = _single(list((prefix / "include").glob("python3.*")), "include/python3.X", prefix)
    patchlevel = include / "patchlevel.h"
    try:
        m = _PY_VERSION_RE.search(patchlevel.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise DistributionError(f"cannot read {patchlevel}: {exc.strerror}") from exc
    if not m:
        raise DistributionError(f"{patchlevel}: no PY_VERSION")
    version = m.group(1)

    host_type = str(config_vars.get("HOST_GNU_TYPE") or config_vars.get("MULTIARCH") or "")
    triple = triple_from_host_type(host_type)
    if not triple:
        multiarch = str(config_vars.get("MULTIARCH") or "")
        triple = triple_from_host_type(multiarch.replace("-linux-", "-unknown-linux-")) if multiarch else ""

    ext_suffix = str(config_vars.get("EXT_SUFFIX") or ".so")
    suffixes = tuple(dict.fromkeys((ext_suffix, ".abi3.so", ".so")))
    soname = str(config_vars.get("INSTSONAME") or "")
    shared = prefix / "lib" / soname if soname else None
    if shared is not None and not shared.exists():
        shared = None
    ldversion = str(config_vars.get("LDVERSION") or major_minor + abiflags)
    exe = prefix / "bin" / f"python{ldversion}"
    if not exe.exists():
        exe = prefix / "bin" / "python3"

    builtins: tuple[str, ...] = ()
    for config_c in stdlib.glob("config-*/config.c"):
        builtins = builtin_modules_from_config_c(config_c)
        break
    if not builtins and config_vars.get("MODBUILT_NAMES"):
        shared_names = set(str(config_vars.get("MODSHARED_NAMES", "")).split())
        builtins = tuple(sorted(set(str(config_vars["MODBUILT_NAMES"]).split()) - shared_names))
    libs = tuple(tok[2:] for tok in str(config_vars.get("LIBS", "")).split() if tok.startswith("-l"))
    lib_dynload = stdlib / "lib-dynload"
    # Paths built from config variables (VERSION, ABIFLAGS, INSTSONAME, LDVERSION) or found through
    # links must stay inside the tree: later stages copy, compile against and run them.
    for what, path in (
        ("the stdlib directory", stdlib),
        ("build_time_vars VERSION/ABIFLAGS (include directory)", include),
        ("build_time_vars INSTSONAME", shared),
        ("build_time_vars LDVERSION (python executable)", exe),
        ("lib-dynload", lib_dynload),
        ("_sysconfigdata", sysconfig_file),
    ):
        if path is not None and not _resolves_inside(path, prefix):
            raise DistributionError(f"{sysconfig_file}: {what} resolves outside {prefix}; refusing the archive")
    return InstallTreeInfo(
        prefix=prefix,
        version=version,
        major_minor=major_minor,
        abiflags=abiflags,
        target_triple=triple,
        stdlib_dir=stdlib,
        include_dir=include,
        lib_dynload_dir=lib_dynload if lib_dynload.is_dir() else None,
        shared_library=shared,
        python_exe=exe if exe.exists() else None,
        bytecode_magic=_magic(stdlib, include),
        extension_suffixes=suffixes,
        builtin_extensions=builtins,
        link_libraries=libs,
        config_vars=config_vars,
    )
