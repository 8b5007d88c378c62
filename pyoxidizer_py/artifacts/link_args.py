"""``link-args.txt``: linker arguments for the executable, read by the generated project's build.rs.

Cargo drops ``rustc-link-arg`` lines printed by dependencies, so arguments the final link
needs are listed in the artifacts directory, one per line, and the project's ``build.rs``
prints them as ``cargo:rustc-link-arg=...`` lines (cargo's build script reference,
https://doc.rust-lang.org/cargo/reference/build-scripts.html#rustc-link-arg).

Today the list holds at most one argument, ``-Wl,-z,pack-relative-relocs``: the linker stores
the executable's relative relocations as a DT_RELR bitmap instead of ``.rela.dyn`` entries of
24 bytes each (GNU ld 2.38 and later, ``ld(1)``; the dynamic loader understands it from glibc
2.36). A static libpython holds tens of thousands of pointers (type objects, method tables,
deep-frozen code objects), so this removes about 0.9 MB from every Linux executable and the
loader's work of applying them one by one. The executable then needs glibc 2.36 or later at
run time (the ``GLIBC_ABI_DT_RELR`` version), so it is used only when the build machine's own
glibc already is that new (the executable needs the build machine's glibc symbol versions
anyway) and only for native builds; ``exe.packed_relocations = "never"`` turns it off for
executables meant for older systems.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed
from pyoxidizer_py.errors import BuildError

__all__ = ["LINK_ARGS_FILENAME", "PACK_RELATIVE_RELOCS", "packed_relocations_supported", "write_link_args"]

LINK_ARGS_FILENAME = "link-args.txt"
PACK_RELATIVE_RELOCS = "-Wl,-z,pack-relative-relocs"
_MIN_GLIBC = (2, 36)


def _host_glibc() -> tuple[int, int] | None:
    """The running C library's glibc version (``confstr(_CS_GNU_LIBC_VERSION)``), or None."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return None
    name, _, version = text.partition(" ")
    parts = version.split(".")
    if name != "glibc" or len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


@functools.lru_cache(maxsize=8)
def packed_relocations_supported(target_triple: str) -> bool:
    """Whether an executable for ``target_triple`` built here can use DT_RELR relocations.

    True only for a native ``*-linux-gnu`` build (the triple's architecture is this machine's)
    whose glibc is 2.36 or later and whose C compiler driver (``$CC``, else ``cc``, the linker
    rustc uses on Linux) links a test program with ``-Wl,-z,pack-relative-relocs`` without a
    word on stderr (older GNU ld warns that it ignores the option). Cached per process.

    Args:
        target_triple: the Rust target triple of the executable.

    Returns:
        True when ``link-args.txt`` should carry ``PACK_RELATIVE_RELOCS``.
    """
    if not target_triple.endswith("-linux-gnu") or target_triple.split("-", maxsplit=1)[0] != platform.machine():
        return False
    glibc = _host_glibc()
    if glibc is None or glibc < _MIN_GLIBC:
        return False
    cc = os.environ.get("CC") or "cc"
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-relr-") as tmp:
        src = Path(tmp, "t.c")
        src.write_text("int main(void) { return 0; }\n")
        try:
            proc = subprocess.run(
                [cc, str(src), "-o", str(Path(tmp, "t")), PACK_RELATIVE_RELOCS],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    return proc.returncode == 0 and not proc.stderr.strip()


def write_link_args(artifacts_dir: Path, *, target_triple: str, packed_relocations: str) -> tuple[str, ...]:
    """Write ``<artifacts_dir>/link-args.txt`` (atomically; untouched when unchanged).

    Args:
        artifacts_dir: the executable's artifacts directory.
        target_triple: the Rust target triple of the executable.
        packed_relocations: ``exe.packed_relocations``, ``"auto"`` or ``"never"``.

    Returns:
        The arguments written, in order (possibly none: the file is then empty).

    Raises:
        BuildError: the file cannot be written.
    """
    args: list[str] = []
    if packed_relocations == "auto" and packed_relocations_supported(target_triple):
        args.append(PACK_RELATIVE_RELOCS)
    path = artifacts_dir / LINK_ARGS_FILENAME
    try:
        write_bytes_if_changed(path, "".join(f"{a}\n" for a in args).encode())
    except OSError as exc:
        raise BuildError(f"cannot write {path}: {exc}") from exc
    return tuple(args)
