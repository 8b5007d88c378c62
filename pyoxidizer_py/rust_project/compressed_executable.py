"""Compressed executables: ``exe.executable_compression = "zstd"`` (Linux).

The built executable is compressed and appended to a small launcher, a Rust program of its own
(``templates/stub``), so the file on disk is about half the size at the cost of start-up time:
every start decodes the whole executable into memory before it runs. The file's layout:

* the launcher (an ordinary ELF executable; loaders ignore what follows its segments);
* the payload: the executable in pieces of ``PIECE_SIZE`` bytes, each compressed as one
  Zstandard frame with its content size and an XXH64 checksum (RFC 8878, sections 3.1.1 and
  3.1.1.1.4: concatenated frames, so the launcher decodes pieces on several threads and a
  corrupt file is refused before anything of it runs);
* a 32-byte trailer: the payload's offset and length and the executable's size (u64
  little-endian each), then the magic ``PYOXZEX1``.

At run time the launcher decodes the payload into a sealed memory file (``memfd_create(2)``)
and executes it with ``fexecve(3)``, passing the arguments and the environment through and
adding ``PYOXIDIZER_PY_EXECUTABLE`` (the launcher's own path), which the runtime uses as
``sys.executable`` and ``$ORIGIN``. Nothing is extracted to disk.

Only executables that need no file beside them by ``$ORIGIN``-relative dynamic linking can be
compressed: the dynamic loader resolves ``$ORIGIN`` from the memory file, so a dynamic
libpython in ``lib/`` would not be found (``check_compressible`` refuses that).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import struct
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed, write_text_if_changed
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.cargo import CargoBuildOptions, cargo_build
from pyoxidizer_py.rust_project.lockfile import render_lockfile
from pyoxidizer_py.templates_dir import templates_dir

__all__ = [
    "COMPRESSIONS",
    "EXECUTABLE_VAR",
    "MAGIC",
    "PIECE_SIZE",
    "STUB_NAME",
    "build_stub",
    "check_compressible",
    "compress_executable",
    "read_trailer",
    "render_stub_project",
]

COMPRESSIONS = ("none", "zstd")
"""Values of ``PythonExecutable.executable_compression``."""
MAGIC = b"PYOXZEX1"
"""The last 8 bytes of a compressed executable."""
EXECUTABLE_VAR = "PYOXIDIZER_PY_EXECUTABLE"
"""The variable the launcher sets to its own path for the executable it starts."""
STUB_NAME = "pyoxidizer-py-stub"
"""The launcher's package and binary name."""
PIECE_SIZE = 1 << 20
"""Bytes of the executable per Zstandard frame (1 MiB: 1.7% larger than one frame for a 6.5 MB
executable, and decodable on as many threads as there are pieces)."""
LEVEL = 19
"""Zstandard level of the payload (the smallest output of the standard levels, 1 to 19)."""

_TRAILER = struct.Struct("<QQQ8s")
_STAMP = "compressed-executable.json"
_FORMAT = 1  # bump when the payload layout or LEVEL/PIECE_SIZE change, to invalidate stamps


def check_compressible(exe_name: str, *, target_triple: str, link_mode: str) -> None:
    """Refuse settings a compressed executable cannot run with.

    Args:
        exe_name: the executable's name (for the message).
        target_triple: the Rust target triple being built.
        link_mode: how libpython is linked (``"static"`` or ``"dynamic"``).

    Raises:
        BuildError: the target is not Linux (the launcher needs ``memfd_create(2)`` and
            ``fexecve(3)``), or libpython is linked dynamically.
    """
    if "-linux" not in target_triple:
        raise BuildError(
            f'executable {exe_name}: executable_compression = "zstd" needs a Linux target '
            f"(memfd_create and fexecve), not {target_triple}",
            hint='set exe.executable_compression = "none" for this target',
        )
    if link_mode != "static":
        raise BuildError(
            f'executable {exe_name}: executable_compression = "zstd" needs a static libpython: the '
            "decompressed executable runs from memory, where the dynamic loader cannot find a "
            "libpython beside it",
            hint='set exe.libpython_link_mode = "static" (with a distribution that has a static libpython)',
        )


def render_stub_project(project_dir: Path) -> Path:
    """Write the launcher's Rust project (``templates/stub``) into ``project_dir``.

    Files are written only when their content differs; ``Cargo.lock`` (the shipped lock, so the
    launcher's crates have the runtime's versions) only when missing, after which cargo keeps it.

    Returns:
        The project's ``Cargo.toml``.

    Raises:
        BuildError: a file cannot be written.
    """
    source = templates_dir() / "stub"
    try:
        for rel in ("Cargo.toml", "src/main.rs"):
            write_bytes_if_changed(project_dir / rel, (source / rel).read_bytes())
        lock = project_dir / "Cargo.lock"
        if not lock.is_file():
            write_text_if_changed(lock, render_lockfile(STUB_NAME))
    except OSError as exc:
        raise BuildError(f"cannot write the launcher project in {project_dir}: {exc}") from exc
    return project_dir / "Cargo.toml"


def build_stub(
    project_dir: Path, *, artifacts_dir: Path, pyo3_config_file: Path, target_dir: Path, options: CargoBuildOptions
) -> Path:
    """Render and build the launcher (always its release profile: it is small and fast either way).

    Args:
        project_dir: where its Rust project goes (a work directory).
        artifacts_dir, pyo3_config_file: passed to ``cargo_build`` (the launcher uses neither).
        target_dir: cargo's target directory (shared with the executable's build).
        options: the executable's cargo options; the target triple, verbosity and jobs are kept.

    Returns:
        The built launcher.

    Raises:
        BuildError: cargo fails or a project file cannot be written.
    """
    render_stub_project(project_dir)
    stub_options = CargoBuildOptions(
        release=True,
        target_triple=options.target_triple,
        build_mode=None,
        verbose=options.verbose,
        jobs=options.jobs,
        extra_env=options.extra_env,
        remap_paths=options.remap_paths,
    )
    return cargo_build(
        project_dir,
        artifacts_dir=artifacts_dir,
        pyo3_config_file=pyo3_config_file,
        target_dir=target_dir,
        options=stub_options,
        bin_name=STUB_NAME,
    )


def _compress_pieces(data: bytes) -> list[bytes]:
    import zstandard

    pieces = [data[i : i + PIECE_SIZE] for i in range(0, len(data), PIECE_SIZE)]

    def one(piece: bytes) -> bytes:
        return zstandard.ZstdCompressor(level=LEVEL, write_checksum=True, write_content_size=True).compress(piece)

    # zstandard releases the GIL while it compresses.
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(pieces), os.cpu_count() or 1)) as pool:
        return list(pool.map(one, pieces))


def compress_executable(stub: Path, executable: Path, dest: Path, *, work_dir: Path) -> bool:
    """Write ``dest``: the launcher ``stub`` with ``executable`` compressed after it.

    Unchanged inputs skip the compression (a stamp in ``work_dir`` records the inputs' and the
    output's SHA-256). ``dest`` is replaced atomically, mode 0755.

    Args:
        stub: the built launcher.
        executable: the executable to compress.
        dest: the file to write (the installed executable).
        work_dir: where the stamp is kept.

    Returns:
        True when ``dest`` was (re)written.

    Raises:
        BuildError: an input cannot be read or ``dest`` cannot be written.
    """
    try:
        launcher = stub.read_bytes()
        inner = executable.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    inputs = hashlib.sha256(b"%d\0" % _FORMAT + hashlib.sha256(launcher).digest() + inner).hexdigest()
    stamp_path = work_dir / _STAMP
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        current = hashlib.sha256(dest.read_bytes()).hexdigest()
        if stamp == {"inputs": inputs, "output": current}:
            return False
    except (OSError, ValueError):
        pass
    payload = b"".join(_compress_pieces(inner))
    data = launcher + payload + _TRAILER.pack(len(launcher), len(payload), len(inner), MAGIC)
    try:
        write_bytes_if_changed(dest, data, mode=0o755)
        write_text_if_changed(
            stamp_path, json.dumps({"inputs": inputs, "output": hashlib.sha256(data).hexdigest()}) + "\n"
        )
    except OSError as exc:
        raise BuildError(f"cannot write {dest}: {exc}") from exc
    return True


def read_trailer(data: bytes) -> tuple[int, int, int] | None:
    """``(payload offset, payload length, executable size)`` of a compressed executable's bytes.

    Returns:
        The trailer's fields, or None when ``data`` does not end with a compressed executable's
        trailer.
    """
    if len(data) < _TRAILER.size:
        return None
    offset, length, size, magic = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    return (offset, length, size) if magic == MAGIC else None
