"""Keep absolute build paths out of the executables cargo builds.

rustc writes the paths of the sources it compiles into the output: panic locations
(``file!()``), the DWARF compilation directory and file tables of debug builds, and the
paths of files pulled in with ``include!``. For a generated project these are the
project directory, the artifacts directory (``default_python_config.rs``), cargo's
target directory (build-script output), cargo's home (registry sources) and the Rust
toolchain's sysroot; every one of them differs between two checkouts or machines.

rustc's ``--remap-path-prefix FROM=TO`` rewrites them (rustc book, "Command-line
Arguments"; when several prefixes match, the last one given wins, so the longest
prefixes are passed last). Cargo's own ``trim-paths`` profile setting does this but is
not stable (cargo book, "Unstable Features: profile-trim-paths-option").

The flags are not passed through ``RUSTFLAGS``: cargo fingerprints RUSTFLAGS, and since
the project and artifacts paths differ per project, a cargo target directory shared by
several projects (``CARGO_TARGET_DIR``) would rebuild every crate at every switch.
Instead cargo runs rustc through a small wrapper script (``RUSTC_WRAPPER``, cargo book,
"Environment Variables") that appends the flags. The prefixes a registry crate can see
(cargo home, sysroot, target dir) are the same for every project sharing a target dir,
so sharing stays correct; an existing ``RUSTC_WRAPPER`` (sccache, ...) is chained.

C sources that crates compile with the ``cc`` crate (libzstd in ``zstd-sys``, the allocators)
embed their paths through ``__FILE__`` in assertions; GCC's and Clang's
``-ffile-prefix-map=OLD=NEW`` rewrites those (GCC manual, "Options for Code Generation
Conventions"). They go into ``CFLAGS``, which ``cc`` reads (docs.rs/cc, "External
configuration via environment variables"), with only the prefixes shared by every project of
a target dir (cargo home, target dir), so a shared target dir is not rebuilt per project.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed

__all__ = [
    "PathRemap",
    "build_path_remaps",
    "c_prefix_map_flags",
    "cargo_home",
    "remap_flags",
    "rust_sysroot",
    "source_date_epoch",
    "write_rustc_wrapper",
]

PROJECT_PREFIX = "/pyoxidizer-py/project"
ARTIFACTS_PREFIX = "/pyoxidizer-py/artifacts"
TARGET_PREFIX = "/pyoxidizer-py/target"
CARGO_HOME_PREFIX = "/cargo"
SYSROOT_PREFIX = "/rust-sysroot"


@dataclass(frozen=True, kw_only=True, slots=True)
class PathRemap:
    """One ``--remap-path-prefix FROM=TO`` pair.

    Attributes:
        source: the absolute directory as it is on this machine.
        replacement: what the executable shows instead (a fixed, machine-independent path).
    """

    source: str
    replacement: str


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int | None:
    """The ``SOURCE_DATE_EPOCH`` timestamp, if set.

    Format: decimal seconds since 1970-01-01 UTC (https://reproducible-builds.org/specs/source-date-epoch/).

    Args:
        environ: environment to read (default ``os.environ``).

    Returns:
        The timestamp in seconds, or None when the variable is unset or empty.

    Raises:
        ValueError: the value is not a non-negative decimal integer (the spec says to fail then).
    """
    env = os.environ if environ is None else environ
    raw = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"SOURCE_DATE_EPOCH must be a non-negative integer (seconds since 1970), got {raw!r}")
    return int(raw)


def cargo_home(environ: Mapping[str, str] | None = None) -> Path:
    """Cargo's home: ``$CARGO_HOME``, else ``~/.cargo`` (cargo book, "Cargo Home")."""
    env = os.environ if environ is None else environ
    return Path(env["CARGO_HOME"]) if env.get("CARGO_HOME") else Path.home() / ".cargo"


def rust_sysroot(environ: Mapping[str, str] | None = None) -> Path | None:
    """The sysroot of the rustc cargo will use (``$RUSTC`` or ``rustc`` on PATH), or None if unknown."""
    env = os.environ if environ is None else environ
    rustc = env.get("RUSTC") or shutil.which("rustc")
    if not rustc:
        return None
    try:
        out = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, check=True, env=dict(env))
    except (OSError, subprocess.CalledProcessError):
        return None
    path = out.stdout.strip()
    return Path(path) if path else None


def build_path_remaps(
    *,
    project_dir: Path,
    artifacts_dir: Path,
    target_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> tuple[PathRemap, ...]:
    """The remaps for one cargo build of a generated project.

    Args:
        project_dir: the Rust project (its own crates' sources).
        artifacts_dir: ``PYOXIDIZER_ARTIFACT_DIR`` (``default_python_config.rs`` is included from it).
        target_dir: cargo's target directory (build-script ``OUT_DIR``s).
        environ: environment for ``CARGO_HOME``/``RUSTC`` (default ``os.environ``).

    Returns:
        Remaps ordered from the shortest source path to the longest, so a nested directory's
        own remap (given later) wins over its parent's. Sources are absolute, symlinks resolved
        as well as kept (rustc compares the paths it was given).
    """
    pairs: list[tuple[Path, str]] = [
        (cargo_home(environ), CARGO_HOME_PREFIX),
        (target_dir, TARGET_PREFIX),
        (artifacts_dir, ARTIFACTS_PREFIX),
        (project_dir, PROJECT_PREFIX),
    ]
    sysroot = rust_sysroot(environ)
    if sysroot is not None:
        pairs.append((sysroot, SYSROOT_PREFIX))
    seen: dict[str, str] = {}
    for path, replacement in pairs:
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            seen.setdefault(variant, replacement)
    ordered = sorted(seen.items(), key=lambda item: (len(item[0]), item[0]))
    return tuple(PathRemap(source=s, replacement=r) for s, r in ordered)


def c_prefix_map_flags(remaps: Sequence[PathRemap]) -> list[str]:
    """C compiler arguments for the cargo-home and target-dir ``remaps``: ``["-ffile-prefix-map=FROM=TO", ...]``."""
    shared = (CARGO_HOME_PREFIX, TARGET_PREFIX)
    return [f"-ffile-prefix-map={r.source}={r.replacement}" for r in remaps if r.replacement in shared]


def remap_flags(remaps: Sequence[PathRemap]) -> list[str]:
    """rustc arguments for ``remaps``: ``["--remap-path-prefix=FROM=TO", ...]`` in order."""
    return [f"--remap-path-prefix={r.source}={r.replacement}" for r in remaps]


def write_rustc_wrapper(directory: Path, remaps: Sequence[PathRemap], *, chained_wrapper: str | None = None) -> Path:
    """Write a ``RUSTC_WRAPPER`` script that runs rustc with the remap flags appended.

    Cargo runs ``$RUSTC_WRAPPER <rustc> <args...>``; the script runs
    ``[chained_wrapper] <rustc> <args...> --remap-path-prefix=...``.

    Args:
        directory: where to write it (created); the file name carries a hash of the content,
            so concurrent builds with other remaps never overwrite each other's script.
        remaps: the remaps, in the order rustc should see them.
        chained_wrapper: a wrapper the user had set in ``RUSTC_WRAPPER``, run in turn.

    Returns:
        The script's absolute path (mode 0755).

    Raises:
        OSError: the script cannot be written.
    """
    lines = [
        "#!/bin/sh",
        "# Generated by pyoxidizer-py, do not edit: rustc with --remap-path-prefix flags, so the",
        "# executable holds no absolute build paths (pyoxidizer_py/rust_project/reproducible.py).",
    ]
    command = ['"$@"', *(shlex.quote(flag) for flag in remap_flags(remaps))]
    if chained_wrapper:
        command.insert(0, shlex.quote(chained_wrapper))
    lines.append("exec " + " ".join(command))
    text = "\n".join(lines) + "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = Path(os.path.abspath(directory)) / f"rustc-wrapper-{digest}.sh"
    write_bytes_if_changed(path, text.encode("utf-8"), mode=0o755)
    return path
