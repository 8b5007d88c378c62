"""Distributions from an installed CPython, described by running the interpreter once.

``introspect_installed`` runs the given ``python`` with a small script that prints
one JSON object (version, ABI flags, platform, cache tag, bytecode magic,
extension suffixes, sysconfig paths and link variables, built-in modules); this
module turns it into a ``Distribution`` record, finding the shared libpython
(resolved to its real SONAME file) and a static libpython usable in a
position-independent executable.

Static library rule: candidates are ``libpythonX.Y-pic.a`` (Debian ships it beside a
non-PIC ``libpythonX.Y.a``) then ``libpythonX.Y.a``, looked up in ``LIBPL`` and
``LIBDIR``. A candidate is accepted when its objects are verified PIC on x86_64
(``elf.archive_is_pic``: no absolute 32-bit relocations in loaded sections). For
other architectures, where that check cannot tell, a ``-pic.a`` is accepted, and a
plain ``.a`` only when CPython was configured with ``--enable-shared`` (then every
object is compiled with ``CCSHARED``, i.e. ``-fPIC``) and no ``-pic.a`` sibling
signals a separate non-PIC static build.

``resolve_distribution_spec`` maps a user's ``--python-distribution`` SPEC
(``host`` or a path to a python executable) to a Distribution; archive paths and
URLs are the python-build-standalone reader's job.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, TypedDict

from pyoxidizer_py.distribution.elf import archive_is_pic
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import DistributionError

__all__ = [
    "MIN_PYTHON",
    "introspect_installed",
    "resolve_distribution_spec",
    "rust_target_triple",
    "static_link_libraries",
]

_log = logging.getLogger(__name__)

MIN_PYTHON = (3, 10)
"""Oldest CPython a build can embed (PEP 587 init API, ``sys.stdlib_module_names``)."""

# Runs under the target interpreter; must stay valid Python 2.7 syntax-wise up to the
# version check so that old interpreters report themselves instead of failing to parse.
_PROBE = r"""
import json, sys
import platform
info = {"implementation": platform.python_implementation().lower(),
        "version_info": list(sys.version_info[:3])}
if info["implementation"] == "cpython" and tuple(sys.version_info[:2]) >= (3, 10):
    import importlib.machinery, importlib.util, sysconfig
    keys = ("LIBDIR", "LIBPL", "LDLIBRARY", "LIBRARY", "INSTSONAME", "Py_ENABLE_SHARED",
            "LIBS", "SYSLIBS", "MODLIBS", "LOCALMODLIBS", "MULTIARCH", "SOABI", "EXT_SUFFIX",
            "CONFIG_ARGS", "CCSHARED", "LIBDEST", "DESTSHARED", "INCLUDEPY", "LINKFORSHARED")
    info.update(
        version=platform.python_version(),
        abiflags=getattr(sys, "abiflags", ""),
        cache_tag=sys.implementation.cache_tag,
        magic=importlib.util.MAGIC_NUMBER.hex(),
        extension_suffixes=list(importlib.machinery.EXTENSION_SUFFIXES),
        executable=sys.executable,
        prefix=sys.prefix,
        base_prefix=sys.base_prefix,
        platform=sysconfig.get_platform(),
        machine=platform.machine(),
        libc=list(platform.libc_ver()),
        paths=sysconfig.get_paths(),
        config={k: sysconfig.get_config_var(k) for k in keys},
        builtin_module_names=list(sys.builtin_module_names),
        pointer_bits=8 * __import__("struct").calcsize("P"),
    )
sys.stdout.write(json.dumps(info))
"""


class _ProbeResult(TypedDict, total=False):
    """Raw shape printed by ``_PROBE`` (only ``implementation`` and ``version_info`` always)."""

    implementation: str
    version_info: list[int]
    version: str
    abiflags: str
    cache_tag: str
    magic: str
    extension_suffixes: list[str]
    executable: str
    prefix: str
    base_prefix: str
    platform: str
    machine: str
    libc: list[str]
    paths: dict[str, str]
    config: dict[str, Any]
    builtin_module_names: list[str]
    pointer_bits: int


_ARCHES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "i686": "i686",
    "x86": "i686",
    "armv7l": "armv7",
    "ppc64le": "powerpc64le",
    "s390x": "s390x",
    "riscv64": "riscv64gc",
}


def rust_target_triple(platform: str, machine: str, multiarch: str = "", pointer_bits: int = 64) -> str:
    """Map a sysconfig platform and machine to a Rust target triple.

    Args:
        platform: ``sysconfig.get_platform()`` (``linux-x86_64``, ``macosx-11.0-arm64``, ``win-amd64``).
        machine: ``platform.machine()``.
        multiarch: sysconfig ``MULTIARCH`` (``x86_64-linux-gnu``, ``x86_64-linux-musl``), may be empty.
        pointer_bits: 32 or 64 (a 32-bit interpreter on a 64-bit kernel reports ``x86_64``).

    Returns:
        A triple such as ``x86_64-unknown-linux-gnu`` or ``aarch64-apple-darwin``.

    Raises:
        DistributionError: the platform is not one this tool can build for.
    """
    arch = _ARCHES.get(machine.lower(), machine.lower())
    if arch == "x86_64" and pointer_bits == 32:
        arch = "i686"
    if platform.startswith("linux"):
        env = "musl" if "musl" in multiarch else "gnu"
        if arch == "armv7":
            env += "eabihf"
        return f"{arch}-unknown-linux-{env}"
    if platform.startswith("macosx"):
        return f"{'aarch64' if platform.endswith('arm64') else 'x86_64'}-apple-darwin"
    if platform.startswith("win"):
        return {"win-amd64": "x86_64", "win-arm64": "aarch64"}.get(platform, "i686") + "-pc-windows-msvc"
    raise DistributionError(f"unsupported platform {platform!r} (machine {machine!r})")


def static_link_libraries(config: dict[str, Any], target_triple: str) -> tuple[str, ...]:
    """Return the system libraries a static libpython link needs, from sysconfig link variables.

    ``-l`` names are taken in order from ``LIBS``, ``SYSLIBS`` and ``MODLIBS`` (the latter lists
    libraries of extension modules compiled into libpython, e.g. ``expat`` and ``z`` on Debian);
    ``-L``/``-Wl`` flags are dropped. On Linux ``pthread``, ``dl``, ``util`` and ``m`` are always
    added (empty stubs on glibc >= 2.34, real libraries before).

    Args:
        config: sysconfig variables (at least those keys, missing ones are ignored).
        target_triple: the distribution's triple.

    Returns:
        Library names without ``-l``, de-duplicated, first occurrence kept.
    """
    names: list[str] = []
    for key in ("LIBS", "SYSLIBS", "MODLIBS"):
        value = config.get(key) or ""
        try:
            tokens = shlex.split(str(value))
        except ValueError:
            tokens = str(value).split()
        names.extend(tok[2:] for tok in tokens if tok.startswith("-l") and len(tok) > 2)
    if "linux" in target_triple:
        names.extend(["pthread", "dl", "util", "m"])
    return tuple(dict.fromkeys(names))


def _run_probe(python_exe: Path) -> _ProbeResult:
    try:
        proc = subprocess.run(
            [str(python_exe), "-E", "-s", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
    except PermissionError as exc:
        raise DistributionError(f"{python_exe}: not executable ({exc.strerror})") from exc
    except OSError as exc:
        reason = exc.strerror or exc
        raise DistributionError(f"{python_exe}: cannot run as a Python interpreter ({reason})") from exc
    except subprocess.TimeoutExpired as exc:
        raise DistributionError(f"{python_exe}: timed out while describing the interpreter") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise DistributionError(
            f"{python_exe}: not a usable Python interpreter (exit status {proc.returncode})"
            + (f": {tail}" if tail else "")
        )
    try:
        result: _ProbeResult = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise DistributionError(f"{python_exe}: not a Python interpreter (unexpected output)") from exc
    return result


def _shared_library(config: dict[str, Any]) -> Path | None:
    if not config.get("Py_ENABLE_SHARED"):
        return None
    libdir = config.get("LIBDIR")
    names = [n for n in (config.get("INSTSONAME"), config.get("LDLIBRARY")) if n]
    for name in names:
        if not str(name).endswith((".so", ".dylib", ".dll")) and ".so." not in str(name):
            continue
        candidate = Path(str(libdir), str(name)) if libdir else None
        if candidate is not None and candidate.exists():
            # Resolve symlinks (libpython3.11.so -> libpython3.11.so.1.0) to the real file.
            return candidate.resolve()
    return None


def _static_library(config: dict[str, Any], major_minor: str, abiflags: str) -> Path | None:
    base = f"libpython{major_minor}{abiflags}"
    dirs = list(dict.fromkeys(str(d) for d in (config.get("LIBPL"), config.get("LIBDIR")) if d))
    for directory in dirs:
        pic = Path(directory, f"{base}-pic.a")
        plain = Path(directory, f"{base}.a")
        for candidate in (pic, plain):
            if not candidate.is_file():
                continue
            verdict = archive_is_pic(candidate)
            if verdict is None:
                verdict = candidate is pic or (bool(config.get("Py_ENABLE_SHARED")) and not pic.exists())
            if verdict:
                return candidate.resolve()
            _log.debug("%s: not position independent, unusable for a PIE executable", candidate)
    return None


def _license_text(stdlib_dir: Path, prefix: Path, major_minor: str) -> str | None:
    for candidate in (
        stdlib_dir / "LICENSE.txt",
        prefix / "share" / "doc" / f"python{major_minor}" / "copyright",
        prefix / "LICENSE.txt",
    ):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8", errors="replace")
    return None


@functools.lru_cache(maxsize=32)
def _introspect_cached(python_exe: Path, description: str) -> Distribution:
    info = _run_probe(python_exe)
    impl = info.get("implementation", "unknown")
    vi = tuple(info.get("version_info", [0, 0, 0]))
    shown = ".".join(str(x) for x in vi)
    if impl != "cpython":
        raise DistributionError(f"{python_exe}: not CPython (implementation {impl!r} {shown})")
    if vi[:2] < MIN_PYTHON:
        raise DistributionError(
            f"{python_exe}: CPython {shown} is too old; CPython {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer is required"
        )
    config = info["config"]
    paths = info["paths"]
    major_minor = f"{vi[0]}.{vi[1]}"
    abiflags = info.get("abiflags", "")
    triple = rust_target_triple(
        info["platform"], info["machine"], str(config.get("MULTIARCH") or ""), info.get("pointer_bits", 64)
    )
    stdlib_dir = Path(paths["stdlib"])
    dynload = config.get("DESTSHARED")
    lib_dynload = Path(str(dynload)) if dynload and Path(str(dynload)).is_dir() else None
    if lib_dynload is None and (stdlib_dir / "lib-dynload").is_dir():
        lib_dynload = stdlib_dir / "lib-dynload"
    prefix = Path(info["base_prefix"])
    return Distribution(
        origin="installed",
        description=description,
        python_exe=python_exe,
        version=info["version"],
        major_minor=major_minor,
        abiflags=abiflags,
        target_triple=triple,
        cache_tag=info["cache_tag"],
        bytecode_magic=bytes.fromhex(info["magic"]),
        extension_suffixes=tuple(info["extension_suffixes"]),
        prefix=prefix,
        stdlib_dir=stdlib_dir,
        lib_dynload_dir=lib_dynload,
        include_dir=Path(paths.get("include") or str(config.get("INCLUDEPY"))),
        shared_library=_shared_library(config),
        static_library=_static_library(config, major_minor, abiflags),
        static_link_libraries=static_link_libraries(config, triple),
        builtin_extensions=tuple(info["builtin_module_names"]),
        license_text=_license_text(stdlib_dir, prefix, major_minor),
    )


def introspect_installed(python_exe: Path | str, *, description: str | None = None) -> Distribution:
    """Describe an installed CPython by running it once.

    Args:
        python_exe: path of the interpreter (a venv's python is followed to its base installation
            for libraries and stdlib; ``python_exe`` itself is kept for pip and bytecode).
        description: what the user named, for messages (default: the path).

    Returns:
        A ``Distribution`` with ``origin="installed"``. Results are cached per path in-process.

    Raises:
        DistributionError: the path does not exist or is not executable, is not CPython, or is a
            CPython older than 3.10 (the message names the path).
    """
    path = Path(python_exe).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        raise DistributionError(f"{path}: no such Python executable")
    if path.is_dir():
        raise DistributionError(f"{path}: is a directory, not a Python executable")
    if not os.access(path, os.X_OK):
        raise DistributionError(f"{path}: not executable")
    return _introspect_cached(path, description or str(path))


_ARCHIVE_RE = re.compile(r"\.(tar\.zst|tar\.gz|tgz|tar\.xz|tar|zip)$")


def resolve_distribution_spec(spec: str) -> Distribution:
    """Resolve a ``--python-distribution`` / ``PYOXIDIZER_PY_DISTRIBUTION`` SPEC.

    Args:
        spec: ``host`` (the interpreter running this tool, ``sys.executable``) or a path to a
            python executable. Archive paths and URLs are handled by the python-build-standalone
            reader (not here).

    Returns:
        The introspected ``Distribution``.

    Raises:
        DistributionError: for archive specs (not supported by this resolver), and everything
            ``introspect_installed`` raises.
    """
    if spec == "host":
        return introspect_installed(Path(sys.executable), description="host")
    if "://" in spec or _ARCHIVE_RE.search(spec):
        raise DistributionError(
            f"{spec}: python-build-standalone archives are not handled by the installed-CPython "
            "resolver; pass 'host' or the path of a python executable"
        )
    return introspect_installed(Path(spec), description=spec)
