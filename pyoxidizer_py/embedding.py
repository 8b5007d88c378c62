"""Artifacts for cargo-driven builds: ``run-build-script`` and ``generate-python-embedding-artifacts``.

Both commands end where ``build`` hands over to cargo: they write an artifacts
directory (``default_python_config.rs``, ``pyo3-build-config-file.txt``, the
libpython to link, resources, ``COPYING.txt``, ``extra-files.txt``) that a Rust
project builds against (docs/rust-projects.md).

``run-build-script`` follows PyOxidizer's environment contract
(https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_rust_projects.html): it reads ``TARGET``, ``PROFILE``,
``CARGO_MANIFEST_DIR``, ``OUT_DIR``, ``PYOXIDIZER_ARTIFACT_DIR`` and
``PYOXIDIZER_CONFIG``, prints only ``cargo:`` lines on stdout (logs go to stderr),
and skips evaluating the config when its stamp is newer than every input.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from pyoxidizer_py import __version__
from pyoxidizer_py.artifacts.atomic_write import copy_if_changed, write_text_if_changed
from pyoxidizer_py.artifacts.pyo3_config import PYO3_CONFIG_FILENAME
from pyoxidizer_py.artifacts.python_config_rs import DEFAULT_PYTHON_CONFIG_FILENAME
from pyoxidizer_py.build import BuildOptions, build_embedded_artifacts
from pyoxidizer_py.config.discovery import find_config
from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config
from pyoxidizer_py.distribution.resolve import DISTRIBUTION_ENV
from pyoxidizer_py.distribution.triples import host_triple
from pyoxidizer_py.errors import BuildError, ConfigError, PyOxidizerError
from pyoxidizer_py.rust_project.project import (
    FIRST_BUILD_PLACEHOLDER,
    persistent_distribution_spec,
    record_distribution,
)

__all__ = [
    "BUILD_SCRIPT_ENV_VARS",
    "FLAVORS",
    "STAMP_FILENAME",
    "BuildScriptOptions",
    "BuildScriptResult",
    "EmbeddingArtifactsOptions",
    "generate_python_embedding_artifacts",
    "run_build_script",
]

log = logging.getLogger(__name__)

STAMP_FILENAME = ".pyoxidizer-py-build-script.json"
"""Written into the artifacts directory after each evaluation: the inputs and cargo lines to replay."""

_CARGO_VARS = ("CARGO_MANIFEST_DIR", "TARGET", "PROFILE")
BUILD_SCRIPT_ENV_VARS = (*_CARGO_VARS, "OUT_DIR")
"""Cargo's build-script variables ``run-build-script`` reads; without them it runs in by-hand mode."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildScriptOptions:
    """What ``run-build-script`` was asked to do.

    Attributes:
        script: the build script's path as given (``build.rs``), printed back in
            ``cargo:rerun-if-changed``.
        target: the config target to resolve (``--target``); None = the config's default
            build-script target.
        env: the environment to read cargo's variables from (normally ``os.environ``).
        cwd: directory relative paths are resolved against (normally the current one).
        distribution_spec: ``--python-distribution`` (``host``, a python executable or an archive
            path); None = ``PYOXIDIZER_PY_DISTRIBUTION`` from ``env``, else the config's choice.
    """

    script: str
    target: str | None = None
    distribution_spec: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildScriptResult:
    """What ``run-build-script`` did.

    Attributes:
        artifacts_dir: where the artifacts are.
        cargo_lines: the ``cargo:`` lines for cargo, in order.
        up_to_date: True when the evaluation was skipped (the stamp was newer than every input).
        under_cargo: False when run by hand (no cargo variables): the CLI then prints a summary
            instead of the cargo lines.
        pyo3_config_changed: True when an existing ``pyo3-build-config-file.txt`` got new content.
        recorded_distribution: the ``--python-distribution`` spec newly written into the project's
            ``.cargo/config.toml`` (by-hand runs only), so cargo's own builds embed the same CPython;
            None when nothing was recorded.
    """

    artifacts_dir: Path
    cargo_lines: tuple[str, ...]
    up_to_date: bool
    under_cargo: bool
    pyo3_config_changed: bool = False
    recorded_distribution: str | None = None


def _mtime_ns(path: Path) -> int:
    """Newest modification time (ns) of a file, or of a directory tree's files and directories."""
    try:
        newest = path.stat().st_mtime_ns
    except OSError:
        return -1
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in (*dirnames, *filenames):
                try:
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime_ns)
                except OSError:
                    return -1
    return newest


def _tool_mtime_ns() -> int:
    """Newest modification time of pyoxidizer-py's own code and templates (an input of every build)."""
    from pyoxidizer_py.templates_dir import templates_dir

    return max(_mtime_ns(Path(__file__).parent), _mtime_ns(templates_dir()))


def _artifact_dir_from_cargo_config(manifest_dir: Path) -> Path | None:
    """``PYOXIDIZER_ARTIFACT_DIR`` from ``<manifest_dir>/.cargo/config.toml``'s ``[env]`` table, if set there."""
    path = manifest_dir / ".cargo" / "config.toml"
    try:
        env = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap().get("env", {})
    except (OSError, tomlkit.exceptions.TOMLKitError):
        return None
    value = env.get("PYOXIDIZER_ARTIFACT_DIR")
    if isinstance(value, str):
        return Path(value) if Path(value).is_absolute() else None
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        p = Path(value["value"])
        return p if p.is_absolute() or not value.get("relative") else manifest_dir / p
    return None


def _build_script_setup(options: BuildScriptOptions) -> tuple[bool, Path, str, str, Path]:
    """(under cargo, manifest dir, target triple, profile, artifacts dir) from the environment.

    Raises:
        BuildError: some cargo variables are set but not all, or no artifacts directory is known.
    """
    env = options.env
    present = [v for v in _CARGO_VARS if env.get(v)]
    if not present:
        manifest_dir = (options.cwd / options.script).resolve().parent
        explicit = env.get("PYOXIDIZER_ARTIFACT_DIR")
        dest = Path(explicit) if explicit else _artifact_dir_from_cargo_config(manifest_dir)
        if dest is None:
            raise BuildError(
                f"run-build-script outside cargo: no artifacts directory for {manifest_dir}",
                hint="set PYOXIDIZER_ARTIFACT_DIR, or PYOXIDIZER_ARTIFACT_DIR in the [env] table of "
                ".cargo/config.toml (init-rust-project writes one)",
            )
        return False, manifest_dir, host_triple(), "debug", options.cwd / dest
    missing = [v for v in _CARGO_VARS if not env.get(v)]
    if missing:
        raise BuildError(
            f"run-build-script: {', '.join(missing)} not set (it reads cargo's build script environment)",
            hint="run it from build.rs, or set CARGO_MANIFEST_DIR, TARGET, PROFILE and OUT_DIR "
            "(or PYOXIDIZER_ARTIFACT_DIR) yourself",
        )
    dest_value = env.get("PYOXIDIZER_ARTIFACT_DIR") or env.get("OUT_DIR")
    if not dest_value:
        raise BuildError("run-build-script: neither PYOXIDIZER_ARTIFACT_DIR nor OUT_DIR is set")
    manifest_dir = options.cwd / env["CARGO_MANIFEST_DIR"]
    return True, manifest_dir, env["TARGET"], env["PROFILE"], options.cwd / dest_value


def _stamp_key(
    config: Path, triple: str, profile: str, target: str | None, env: Mapping[str, str], *, spec: str | None
) -> dict[str, str]:
    return {
        "pyoxidizer-py": __version__,
        "config": str(config),
        "target_triple": triple,
        "profile": profile,
        "target": target or "",
        "distribution": spec if spec is not None else env.get(DISTRIBUTION_ENV, ""),
    }


def _replay(stamp: Path, key: Mapping[str, str], reference: Path) -> list[str] | None:
    """The stamp's cargo lines when nothing changed since it was written, else None."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        stamp_time = stamp.stat().st_mtime_ns
    except (OSError, ValueError):
        return None
    if data.get("key") != dict(key) or not reference.is_file():
        return None
    if not all((stamp.parent / name).exists() for name in data.get("outputs", [])):
        return None  # an artifact was deleted since
    inputs = [Path(p) for p in data.get("inputs", [])]
    newest = max([_tool_mtime_ns(), *(_mtime_ns(p) for p in inputs)])
    if any(_mtime_ns(p) < 0 for p in inputs) or newest >= stamp_time:
        return None
    lines = data.get("cargo_lines")
    return list(lines) if isinstance(lines, list) else None


def _record(under_cargo: bool, manifest_dir: Path, spec: str | None) -> str | None:
    """Record a by-hand run's ``--python-distribution`` for cargo's builds; the spec when newly recorded."""
    if under_cargo or spec is None:
        return None
    return spec if record_distribution(manifest_dir, spec) else None


def run_build_script(options: BuildScriptOptions) -> BuildScriptResult:
    """``pyoxidizer-py run-build-script SCRIPT [--target T]``: write a project's artifacts for cargo.

    Evaluates the config found from ``CARGO_MANIFEST_DIR`` (or ``PYOXIDIZER_CONFIG``) in
    build-script mode, writes the resolved target's artifacts into
    ``PYOXIDIZER_ARTIFACT_DIR`` (else ``OUT_DIR``), and returns the cargo lines: a
    ``rerun-if-changed`` for the script, the config, every ``load()``ed file and every
    local input (package roots, requirements files), ``rerun-if-env-changed`` for the
    variables read, and ``rustc-env=DEFAULT_PYTHON_CONFIG_RS=...``.

    Run by hand (none of ``CARGO_MANIFEST_DIR``, ``TARGET``, ``PROFILE`` set), it works
    for the project containing SCRIPT, the host triple and the debug profile, and writes
    into ``PYOXIDIZER_ARTIFACT_DIR`` from the environment or the project's
    ``.cargo/config.toml``: the preparatory step before a project's first ``cargo build``.
    A by-hand run's ``--python-distribution`` is recorded in that ``.cargo/config.toml``
    (``PYOXIDIZER_PY_DISTRIBUTION`` in ``[env]``), so the run of this command by ``build.rs``
    under cargo sees the same distribution and finds the artifacts up to date.

    Args:
        options: see ``BuildScriptOptions``.

    Returns:
        A ``BuildScriptResult``.

    Raises:
        BuildError: cargo variables missing, or the target writes no ``default_python_config.rs``.
        ConfigError: no config, or an error in it.
        PyOxidizerError: a stage failed (distribution, pip).
    """
    under_cargo, manifest_dir, triple, profile, dest = _build_script_setup(options)
    env = options.env
    if not under_cargo and options.distribution_spec is not None:
        # The spec cargo's later builds see (recorded in .cargo/config.toml below): same stamp key.
        spec = persistent_distribution_spec(options.distribution_spec, options.cwd)
        options = replace(options, distribution_spec=spec)
    config = find_config(manifest_dir, env)
    lines = [
        f"cargo:rerun-if-changed={options.script}",
        "cargo:rerun-if-env-changed=PYOXIDIZER_CONFIG",
        f"cargo:rerun-if-env-changed={DISTRIBUTION_ENV}",
    ]
    dest = Path(os.path.abspath(dest))
    stamp = dest / STAMP_FILENAME
    reference = dest / DEFAULT_PYTHON_CONFIG_FILENAME
    key = _stamp_key(config.resolve(), triple, profile, options.target, env, spec=options.distribution_spec)
    replay = _replay(stamp, key, reference)
    if replay is not None:
        log.info("artifacts in %s are up to date", dest)
        return BuildScriptResult(
            artifacts_dir=dest,
            cargo_lines=tuple(replay),
            up_to_date=True,
            under_cargo=under_cargo,
            recorded_distribution=_record(under_cargo, manifest_dir, options.distribution_spec),
        )

    release = profile == "release"
    evaluation = evaluate_config(
        EvaluationOptions(
            config_path=config,
            target_triple=triple,
            release=release,
            build_script_mode=True,
            requested_targets=[options.target] if options.target else None,
            distribution_spec=options.distribution_spec,
        )
    )
    if not evaluation.resolved:
        raise BuildError(
            f"{config}: no target to resolve for run-build-script",
            hint="pass --target NAME, or register a target with default_build_script = True",
        )
    pyo3_path = dest / PYO3_CONFIG_FILENAME
    old_pyo3 = pyo3_path.read_text(encoding="utf-8") if pyo3_path.is_file() else None
    name = evaluation.resolved[-1]
    build_embedded_artifacts(
        evaluation,
        name,
        dest,
        BuildOptions(release=release, target_triple=triple, start=config, distribution_spec=options.distribution_spec),
    )
    if not reference.is_file():
        raise BuildError(
            f"unable to find generated {DEFAULT_PYTHON_CONFIG_FILENAME} in {dest}; "
            "did you specify the correct target to resolve?"
        )
    new_pyo3 = pyo3_path.read_text(encoding="utf-8") if pyo3_path.is_file() else None
    # init-rust-project's placeholder never reached a link (PyO3's build script stops on it).
    changed = old_pyo3 not in (None, FIRST_BUILD_PLACEHOLDER) and new_pyo3 != old_pyo3
    inputs = sorted(str(p) for p in evaluation.context.inputs)
    lines += [f"cargo:rerun-if-changed={p}" for p in inputs]
    lines.append(f"cargo:rustc-env=DEFAULT_PYTHON_CONFIG_RS={reference}")
    outputs = sorted(p.name for p in dest.iterdir() if p.name != STAMP_FILENAME)
    write_text_if_changed(
        stamp, json.dumps({"key": key, "inputs": inputs, "outputs": outputs, "cargo_lines": lines}, indent=1)
    )
    os.utime(stamp)  # the stamp's time is "evaluated at", even when its content did not change
    if changed:  # this build only: a replay of the stamp must not repeat it
        lines.append(
            "cargo:warning=PyO3's link configuration (pyo3-build-config-file.txt) changed during this build; "
            "if linking fails, run the build again"
        )
    return BuildScriptResult(
        artifacts_dir=dest,
        cargo_lines=tuple(lines),
        up_to_date=False,
        under_cargo=under_cargo,
        pyo3_config_changed=changed,
        recorded_distribution=_record(under_cargo, manifest_dir, options.distribution_spec),
    )


# --- generate-python-embedding-artifacts --------------------------------------------------

FLAVORS = {
    "standalone": ("standalone", "default"),
    "standalone_static": ("standalone_static", "static"),
    "standalone-static": ("standalone_static", "static"),
    "standalone_dynamic": ("standalone_dynamic", "dynamic"),
    "standalone-dynamic": ("standalone_dynamic", "dynamic"),
}
"""``--flavor`` value -> (distribution flavor, ``libpython_link_mode``)."""

_EMBEDDING_CONFIG = """\
# Written by pyoxidizer-py generate-python-embedding-artifacts.
def make_resources():
    dist = default_python_distribution(flavor = {flavor}, python_version = {version})
    policy = dist.make_python_packaging_policy()
    config = dist.make_python_interpreter_config()
    config.config_profile = "python"
    config.allocator_backend = "default"
    exe = dist.to_python_executable(name = "python", packaging_policy = policy, config = config)
    exe.libpython_link_mode = {link_mode}
    exe.tcl_files_path = "tcl"
    return exe.to_embedded_resources()

register_target("resources", make_resources, default = True)
resolve_targets()
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbeddingArtifactsOptions:
    """What ``generate-python-embedding-artifacts`` was asked to do.

    Attributes:
        dest: the directory to write (created if missing).
        flavor: a key of ``FLAVORS``.
        python_version: ``X.Y``, or None for the default version.
        target_triple: the Rust target triple (None: the host's).
        distribution_spec: ``--python-distribution`` override (None: ``PYOXIDIZER_PY_DISTRIBUTION``
            or the python-build-standalone catalog).
    """

    dest: Path
    flavor: str = "standalone"
    python_version: str | None = None
    target_triple: str | None = None
    distribution_spec: str | None = None


_STDLIB_COPY_SKIP = frozenset({"__pycache__", "site-packages", "test", "idle_test"})


def _copy_stdlib(stdlib: Path, dest: Path) -> int:
    """Copy a distribution's stdlib tree into ``dest`` (no ``__pycache__``, ``site-packages`` or tests).

    Returns:
        The number of files copied or already up to date.
    """
    count = 0
    for dirpath, dirnames, filenames in os.walk(stdlib):
        dirnames[:] = sorted(d for d in dirnames if d not in _STDLIB_COPY_SKIP)
        rel = Path(dirpath).relative_to(stdlib)
        for name in filenames:
            src = Path(dirpath, name)
            if src.is_symlink() and not src.exists():
                continue
            copy_if_changed(src, dest / rel / name)
            count += 1
    return count


def generate_python_embedding_artifacts(options: EmbeddingArtifactsOptions) -> list[str]:
    """Write the files a Rust program needs to embed CPython into ``options.dest``.

    The files: the libpython to link (``libpython3.a`` for a static link; a dynamic link
    copies the shared library to ``lib/``), ``pyo3-build-config-file.txt`` (set
    ``PYO3_CONFIG_FILE`` to it), ``default_python_config.rs`` (the ``python`` profile, for
    the runtime crate), the stdlib resources, ``COPYING.txt``, ``extra-files.txt`` and
    ``stdlib/`` (a plain copy of the distribution's stdlib, for programs that start
    CPython without the runtime crate: put it on ``PYTHONPATH``).

    Args:
        options: see ``EmbeddingArtifactsOptions``.

    Returns:
        The sorted names of the top-level entries of ``dest``.

    Raises:
        BuildError: unknown flavor, or a file cannot be written.
        PyOxidizerError: the distribution cannot be resolved or used.
    """
    try:
        dist_flavor, link_mode = FLAVORS[options.flavor]
    except KeyError:
        raise BuildError(
            f"unknown flavor {options.flavor!r}", hint=f"use one of {', '.join(sorted(FLAVORS))}"
        ) from None
    dest = Path(os.path.abspath(options.dest))
    text = _EMBEDDING_CONFIG.format(
        flavor=json.dumps(dist_flavor),
        version=json.dumps(options.python_version) if options.python_version else "None",
        link_mode=json.dumps(link_mode),
    )
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BuildError(f"cannot create {dest}: {e.strerror or e}") from e
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-embedding-") as tmp:
        config = Path(tmp, "pyoxidizer.bzl")
        config.write_text(text, encoding="utf-8")
        try:
            evaluation = evaluate_config(
                EvaluationOptions(
                    config_path=config,
                    target_triple=options.target_triple,
                    requested_targets=["resources"],
                    distribution_spec=options.distribution_spec,
                )
            )
        except ConfigError as e:
            # The config is ours (a temporary file): its location would only confuse.
            raise PyOxidizerError(e.message, hint=e.hint) from e
        exe = evaluation.values["resources"].exe
        build_embedded_artifacts(
            evaluation, "resources", dest, BuildOptions(target_triple=options.target_triple, start=config)
        )
        dist = exe.distribution.resolve()
    try:
        copied = _copy_stdlib(Path(dist.stdlib_dir), dest / "stdlib")
    except OSError as e:
        raise BuildError(f"cannot copy the stdlib of {dist.description} to {dest / 'stdlib'}: {e}") from e
    log.info("copied %d stdlib files to %s", copied, dest / "stdlib")
    if not (dest / "stdlib").is_dir():
        raise PyOxidizerError(f"{dist.description} has no stdlib at {dist.stdlib_dir}")
    return sorted(p.name for p in dest.iterdir())
