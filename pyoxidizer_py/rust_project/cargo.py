"""Run ``cargo build`` on a generated project and return the executable it built.

The build uses ``build-mode-prebuilt-artifacts``: ``PYOXIDIZER_ARTIFACT_DIR`` names
the artifacts directory holding ``default_python_config.rs``, and the absolute
``PYO3_CONFIG_FILE`` tells PyO3 how to link libpython. ``PYO3_BUILD_EXTENSION_MODULE``
is removed from the environment (it would stop PyO3 from linking libpython).

Cargo's output is captured and logged line by line (``logging`` at DEBUG, or INFO
with ``verbose``); on failure the last error lines go into the BuildError.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyoxidizer_py import progress
from pyoxidizer_py.errors import BuildError

__all__ = ["CargoBuildOptions", "build_environment", "cargo_build", "cargo_features", "find_cargo"]

_log = logging.getLogger(__name__)

_MAX_ERROR_LINES = 40
_COMPILING = re.compile(r"^\s*Compiling (\S+) v")  # cargo's status line for each crate it compiles


@dataclass(frozen=True, kw_only=True, slots=True)
class CargoBuildOptions:
    """How to run cargo.

    Attributes:
        release: build the release profile (else debug).
        target_triple: ``--target`` value, or None for the host.
        features: extra Cargo features (``allocator-mimalloc``, ``global-allocator-jemalloc``)
            added to the build mode.
        build_mode: the build-mode feature (``build-mode-prebuilt-artifacts``), or None for a
            project without build modes (the compressed executables' launcher).
        verbose: log cargo's output at INFO instead of DEBUG.
        jobs: ``--jobs`` value, or None for cargo's default.
        extra_env: more environment variables for cargo (for example ``RUSTFLAGS``).
        remap_paths: run rustc through a wrapper that remaps the project, artifacts, target,
            cargo-home and sysroot paths (``rust_project.reproducible``), so the executable
            holds no absolute build paths.
    """

    release: bool = False
    target_triple: str | None = None
    features: tuple[str, ...] = ()
    build_mode: str | None = "build-mode-prebuilt-artifacts"
    verbose: bool = False
    jobs: int | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    remap_paths: bool = True


def find_cargo() -> str:
    """The cargo executable: ``$CARGO`` when set, else ``cargo`` on PATH.

    Raises:
        BuildError: cargo cannot be found.
    """
    env = os.environ.get("CARGO")
    if env and Path(env).is_file():
        return env
    found = shutil.which("cargo")
    if found is None:
        raise BuildError(
            "cargo not found on PATH",
            hint="install Rust with rustup (https://rustup.rs) or put cargo on PATH (or set CARGO)",
        )
    return found


def cargo_features(options: CargoBuildOptions) -> list[str]:
    """The feature list passed to cargo: the build mode first, then ``options.features`` (deduplicated)."""
    out = [options.build_mode] if options.build_mode else []
    for f in options.features:
        if f not in out:
            out.append(f)
    return out


def build_environment(
    *, artifacts_dir: Path, pyo3_config_file: Path, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment cargo runs with (a copy of ``os.environ`` plus our variables).

    Returns:
        The environment with ``PYOXIDIZER_ARTIFACT_DIR`` and an absolute ``PYO3_CONFIG_FILE``
        set and ``PYO3_BUILD_EXTENSION_MODULE`` removed.
    """
    env = dict(os.environ)
    env.pop("PYO3_BUILD_EXTENSION_MODULE", None)
    env["PYOXIDIZER_ARTIFACT_DIR"] = os.path.abspath(artifacts_dir)
    env["PYO3_CONFIG_FILE"] = os.path.abspath(pyo3_config_file)
    if extra_env:
        env.update(extra_env)
    return env


def _use_remap_wrapper(env: dict[str, str], *, project_dir: Path, artifacts_dir: Path, target_dir: Path) -> None:
    """Point ``RUSTC_WRAPPER`` in ``env`` at a script adding ``--remap-path-prefix`` flags; add
    ``-ffile-prefix-map`` flags to ``CFLAGS`` for C sources built by crates."""
    from pyoxidizer_py.rust_project.reproducible import build_path_remaps, c_prefix_map_flags, write_rustc_wrapper

    remaps = build_path_remaps(project_dir=project_dir, artifacts_dir=artifacts_dir, target_dir=target_dir, environ=env)
    try:
        wrapper = write_rustc_wrapper(
            Path(os.path.abspath(target_dir)) / ".pyoxidizer-py",
            remaps,
            chained_wrapper=env.get("RUSTC_WRAPPER") or None,
        )
    except OSError as e:
        raise BuildError(f"cannot write the rustc wrapper in {target_dir}: {e}") from e
    env["RUSTC_WRAPPER"] = str(wrapper)
    c_flags = " ".join(c_prefix_map_flags(remaps))
    env["CFLAGS"] = f"{env['CFLAGS']} {c_flags}" if env.get("CFLAGS") else c_flags


def _error_tail(lines: Sequence[str]) -> str:
    """The part of cargo's stderr that explains a failure."""
    meaningful = [
        ln
        for ln in lines
        if ln.strip()
        and not ln.lstrip().startswith(
            ("Compiling ", "Downloaded ", "Downloading ", "Updating ", "Locking ", "Adding ", "Blocking ")
        )
    ]
    first_error = next((i for i, ln in enumerate(meaningful) if ln.startswith("error")), None)
    if first_error is not None:
        chosen = meaningful[first_error:]
        if len(chosen) > _MAX_ERROR_LINES:
            chosen = [*chosen[: _MAX_ERROR_LINES // 2], "...", *chosen[-_MAX_ERROR_LINES // 2 :]]
    else:
        chosen = meaningful[-_MAX_ERROR_LINES:]
    return "\n".join(chosen)


def cargo_build(
    project_dir: Path,
    *,
    artifacts_dir: Path,
    pyo3_config_file: Path,
    target_dir: Path,
    options: CargoBuildOptions | None = None,
    bin_name: str | None = None,
) -> Path:
    """Build ``project_dir`` with cargo in ``build-mode-prebuilt-artifacts``.

    Args:
        project_dir: the Rust project (cargo runs there, so its ``.cargo/config.toml`` applies).
        artifacts_dir: directory with ``default_python_config.rs`` (``PYOXIDIZER_ARTIFACT_DIR``).
        pyo3_config_file: PyO3's config file (made absolute for ``PYO3_CONFIG_FILE``).
        target_dir: cargo's ``--target-dir`` (reuse it across builds for incremental builds).
        options: profile, target, features, verbosity.
        bin_name: the binary to return when the project has several (default: the only one).

    Returns:
        The absolute path of the built executable inside ``target_dir``.

    Raises:
        BuildError: cargo is missing, cannot be started, or fails (the message names
            the project and includes cargo's last error lines).
    """
    options = options or CargoBuildOptions()
    project_dir = Path(os.path.abspath(project_dir))
    cargo = find_cargo()
    cmd = [
        cargo,
        "build",
        "--manifest-path",
        str(project_dir / "Cargo.toml"),
        "--no-default-features",
        "--target-dir",
        os.path.abspath(target_dir),
        "--message-format",
        "json-render-diagnostics",
        "--color",
        "never",
    ]
    features = cargo_features(options)
    if features:
        cmd += ["--features", ",".join(features)]
    if options.release:
        cmd.append("--release")
    if options.target_triple:
        cmd += ["--target", options.target_triple]
    if options.jobs:
        cmd += ["--jobs", str(options.jobs)]
    env = build_environment(artifacts_dir=artifacts_dir, pyo3_config_file=pyo3_config_file, extra_env=options.extra_env)
    if options.remap_paths:
        _use_remap_wrapper(env, project_dir=project_dir, artifacts_dir=artifacts_dir, target_dir=target_dir)
    level = logging.INFO if options.verbose else logging.DEBUG
    _log.info("building Rust project %s with cargo", project_dir)
    _log.debug("running %s", " ".join(cmd))

    executables: list[tuple[str, str]] = []  # (target name, executable)
    stdout_other: list[str] = []
    done = [0]  # for the progress line: units cargo finished (counted by the stdout reader)
    current = [""]  # the crate cargo compiles now (from its stderr)

    def show() -> None:
        compiling = f"compiling {current[0]}, " if current[0] else ""
        progress.update(f"{compiling}{done[0]} crates done")

    def read_stdout(stream: object) -> None:
        for raw in stream:  # type: ignore[attr-defined]
            line = raw.rstrip("\n")
            try:
                msg = json.loads(line)
            except ValueError:
                stdout_other.append(line)
                _log.log(level, "%s", line)
                continue
            if msg.get("reason") == "compiler-artifact":
                if not msg.get("fresh", False):  # compiled now, not reused from the target dir
                    done[0] += 1
                    show()
                if msg.get("executable"):
                    executables.append((msg["target"]["name"], msg["executable"]))

    stderr_lines: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=project_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as e:
        raise BuildError(f"cannot run {cargo}: {e}") from e
    with proc:
        reader = threading.Thread(target=read_stdout, args=(proc.stdout,), daemon=True)
        reader.start()
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.rstrip("\n")
            stderr_lines.append(line)
            _log.log(level, "%s", line)
            compiling = _COMPILING.match(line)
            if compiling:
                current[0] = compiling.group(1)
                show()
        reader.join()
        rc = proc.wait()
    progress.update(f"{done[0]} crates compiled" if done[0] else "up to date")
    if rc != 0:
        raise BuildError(
            f"cargo build failed for the Rust project {project_dir} (exit status {rc}):\n"
            + _error_tail(stderr_lines + stdout_other),
            hint="run with --verbose to see cargo's full output",
        )
    wanted = [exe for name, exe in executables if bin_name is None or name == bin_name]
    if not wanted:
        raise BuildError(
            f"cargo built the Rust project {project_dir} but reported no executable"
            + (f" named {bin_name!r}" if bin_name else "")
        )
    return Path(wanted[-1])
