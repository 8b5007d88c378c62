"""Distribution records for the runtime/link tests, built by asking real CPythons on this machine.

The installed-distribution stage (``distribution/installed.py``) is developed in
parallel; these helpers only fill the fields the link and runtime stages read.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pyoxidizer_py.artifacts.resource_artifacts import IMPORTER_MODULE
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.templates_dir import templates_dir

PYENV_311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
PYENV_310 = Path("/root/.pyenv/versions/3.10.13/bin/python3.10")
# pyenv's CPythons by minor version (the tests that run the importer under each).
PYENV_PYTHONS = {
    "3.10": PYENV_310,
    "3.11": PYENV_311,
    "3.12": Path("/root/.pyenv/versions/3.12.1/bin/python3.12"),
    "3.13": Path("/root/.pyenv/versions/3.13.0/bin/python3.13"),
}
# The importer's source, which those tests run directly in a plain interpreter.
IMPORTER = templates_dir() / "pyembed" / "python" / f"{IMPORTER_MODULE}.py"
DEBIAN_311 = Path("/usr/bin/python3.11")
DEBIAN_311_PIC = Path("/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11-pic.a")

_PROBE = r"""
import importlib.machinery, importlib.util, json, os, sys, sysconfig
v = sysconfig.get_config_var
print(json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "major_minor": "%d.%d" % sys.version_info[:2],
    "abiflags": sys.abiflags,
    "cache_tag": sys.implementation.cache_tag,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "suffixes": importlib.machinery.EXTENSION_SUFFIXES,
    "prefix": sys.prefix,
    "stdlib": sysconfig.get_paths()["stdlib"],
    "platstdlib": sysconfig.get_paths()["platstdlib"],
    "include": sysconfig.get_paths()["include"],
    "libdir": v("LIBDIR"),
    "ldlibrary": v("LDLIBRARY"),
    "shared": v("Py_ENABLE_SHARED"),
    "builtins": sorted(sys.builtin_module_names),
}))
"""


def installed_distribution(
    python: Path,
    *,
    static_library: Path | None = None,
    static_link_libraries: tuple[str, ...] = (),
    use_shared: bool = True,
) -> Distribution:
    """A Distribution for an installed CPython, from what the interpreter reports."""
    info = json.loads(
        subprocess.run([str(python), "-I", "-c", _PROBE], check=True, capture_output=True, text=True).stdout
    )
    shared = None
    if use_shared and info["shared"]:
        candidate = Path(info["libdir"]) / info["ldlibrary"]
        shared = candidate if candidate.exists() else None
    dynload = Path(info["platstdlib"]) / "lib-dynload"
    return Distribution(
        origin="installed",
        description=str(python),
        python_exe=python,
        version=info["version"],
        major_minor=info["major_minor"],
        abiflags=info["abiflags"],
        target_triple="x86_64-unknown-linux-gnu",
        cache_tag=info["cache_tag"],
        bytecode_magic=bytes.fromhex(info["magic"]),
        extension_suffixes=tuple(info["suffixes"]),
        prefix=Path(info["prefix"]),
        stdlib_dir=Path(info["stdlib"]),
        lib_dynload_dir=dynload if dynload.is_dir() else None,
        include_dir=Path(info["include"]),
        shared_library=shared,
        static_library=static_library,
        static_link_libraries=static_link_libraries,
        builtin_extensions=tuple(info["builtins"]),
    )


def pyenv_311() -> Distribution:
    """pyenv's CPython 3.11.7: shared libpython only (dynamic linking)."""
    return installed_distribution(PYENV_311)


def pyenv_310() -> Distribution:
    """pyenv's CPython 3.10.13: shared libpython only (dynamic linking)."""
    return installed_distribution(PYENV_310)


def debian_311_static() -> Distribution:
    """Debian's python3.11 with its PIC static libpython (static linking)."""
    return installed_distribution(
        DEBIAN_311,
        static_library=DEBIAN_311_PIC,
        static_link_libraries=("m", "dl", "pthread", "util", "expat", "z"),
        use_shared=False,
    )
