"""The Distribution record: one CPython that a build embeds.

A distribution comes from an installed CPython (introspected by running it) or
from a python-build-standalone archive (read from its PYTHON.json or files).
Later stages only see this record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Distribution"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Distribution:
    """One CPython, described well enough to collect its stdlib and link against it.

    Attributes:
        origin: ``"installed"`` or ``"python-build-standalone"``.
        description: what the user named (a path, ``host``, an archive URL), for messages.
        python_exe: an interpreter runnable on this host for this distribution (pip,
            bytecode compilation), or None when it cannot run here (foreign triple).
        version: full version, ``"3.11.7"``.
        major_minor: ``"3.11"``.
        abiflags: ``sys.abiflags`` (``""``, ``"d"``, ``"t"``).
        target_triple: Rust target triple this distribution runs on.
        cache_tag: ``sys.implementation.cache_tag`` (``"cpython-311"``).
        bytecode_magic: ``importlib.util.MAGIC_NUMBER`` (4 bytes).
        extension_suffixes: ``importlib.machinery.EXTENSION_SUFFIXES``.
        prefix: the installation prefix (``sys.prefix``).
        stdlib_dir: pure-Python stdlib directory (``lib/python3.11``).
        lib_dynload_dir: directory of stdlib extension modules, or None.
        include_dir: C headers directory.
        shared_library: path of the shared libpython, or None.
        static_library: path of a static libpython usable in a PIE executable (PIC), or None.
        static_link_libraries: system libraries a static link needs (``["m", "dl", "pthread", "util"]``).
        builtin_extensions: extension modules compiled into libpython (``sys.builtin_module_names``).
        licenses: SPDX identifiers of CPython's license.
        license_text: the LICENSE text, if found.
        pbs: the parsed PYTHON.json for python-build-standalone distributions, else None.
    """

    origin: str
    description: str
    python_exe: Path | None
    version: str
    major_minor: str
    abiflags: str
    target_triple: str
    cache_tag: str
    bytecode_magic: bytes
    extension_suffixes: tuple[str, ...]
    prefix: Path
    stdlib_dir: Path
    lib_dynload_dir: Path | None
    include_dir: Path
    shared_library: Path | None
    static_library: Path | None
    static_link_libraries: tuple[str, ...] = ()
    builtin_extensions: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ("Python-2.0",)
    license_text: str | None = None
    pbs: object | None = field(default=None, compare=False)

    @property
    def version_tuple(self) -> tuple[int, int]:
        """``(major, minor)`` as ints."""
        major, minor = self.major_minor.split(".")
        return int(major), int(minor)
