"""One function per command, taking plain values and returning a result record.

The CLI (``pyoxidizer_py.cli``) parses arguments, calls these and renders what
they return; everything here is usable as a Python API too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py import __version__
from pyoxidizer_py.config.discovery import CONFIG_FILENAME, find_config, find_zero_config_dir
from pyoxidizer_py.errors import PyOxidizerError
from pyoxidizer_py.templates_dir import templates_dir

# jinja2 and json are imported by the functions that render templates, and the config engine by
# list_targets: `pyoxidizer-py --version` and `list-targets` import only what they use.

__all__ = [
    "NewRustProject",
    "ProgramName",
    "TargetListing",
    "cache_clear",
    "eject_pyproject_config",
    "init_config_file",
    "init_rust_project",
    "list_targets",
    "program_name_for",
    "read_sbom",
    "render_config_template",
]


def render_config_template(program_name: str, python_code: str | None = None, pip_install: Sequence[str] = ()) -> str:
    """Render the ``pyoxidizer.bzl`` that ``init-config-file`` writes.

    Args:
        program_name: executable name (the last component of the target directory).
        python_code: code for ``run_command``, or None for a REPL.
        pip_install: package specifiers, one ``pip_install([...])`` call each.

    Returns:
        The config text.
    """
    import json

    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "config")),
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    # A Starlark string literal: JSON's escapes are valid Starlark (jinja's tojson would
    # HTML-escape quotes and angle brackets into \u0027 and friends).
    env.filters["starlark_str"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env.get_template("pyoxidizer.bzl.j2").render(
        program_name=program_name, python_code=python_code, pip_install=list(pip_install), version=__version__
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgramName:
    """The executable name a new config or project gets from its directory.

    Attributes:
        given: the directory's last component (``my app``).
        name: a valid executable and Cargo package name made from it (``my-app``); equal to
            ``given`` when that is already valid.
    """

    given: str
    name: str

    @property
    def changed(self) -> bool:
        """Whether ``name`` differs from ``given`` (the CLI then prints a ``note:``)."""
        return self.name != self.given


def program_name_for(path: Path) -> ProgramName:
    """The program name ``init-config-file PATH`` and ``init-rust-project PATH`` use.

    Args:
        path: the directory (need not exist); relative paths are resolved against the working directory.

    Returns:
        The name (see ``rust_project.project.program_name`` for the rules).

    Raises:
        PyOxidizerError: ``path`` has no last component (``/``).
    """
    from pyoxidizer_py.rust_project.project import program_name

    given = path.resolve().name
    if not given:
        raise PyOxidizerError(f"cannot derive a program name from {path}", hint="pass a directory such as ./myapp")
    return ProgramName(given=given, name=program_name(given))


def init_config_file(path: Path, python_code: str | None = None, pip_install: Sequence[str] = ()) -> Path:
    """Create ``PATH/pyoxidizer.bzl`` (creating PATH).

    Args:
        path: the directory; its last component names the program (made valid: ``program_name_for``).
        python_code: code the executable runs (``run_command``).
        pip_install: packages to install into the executable.

    Returns:
        The written file.

    Raises:
        PyOxidizerError: PATH exists and is not a directory, or the file already exists.
    """
    if path.exists() and not path.is_dir():
        raise PyOxidizerError(f"{path} exists and is not a directory")
    dest = path / CONFIG_FILENAME
    if dest.exists():
        raise PyOxidizerError(f"{dest} already exists; not overwriting it")
    text = render_config_template(program_name_for(path).name, python_code, pip_install)
    path.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)
    return dest


def eject_pyproject_config(path: Path, *, script: str | None = None, module: str | None = None) -> Path:
    """``init-config-file --from-pyproject``: write the ``pyoxidizer.bzl`` a build of
    ``PATH/pyproject.toml`` alone evaluates (docs/pyproject.md), so later builds use the file.

    Args:
        path: the project directory (holding ``pyproject.toml``).
        script: ``--script`` (one ``[project.scripts]`` entry, or ``NAME=module:function``).
        module: ``--module``.

    Returns:
        The written file.

    Raises:
        PyOxidizerError: the file already exists.
        ConfigError: ``pyproject.toml`` is missing or invalid (see ``generate_config``).
    """
    from pyoxidizer_py.config.pyproject import ZeroConfigOptions, generate_config

    dest = path / CONFIG_FILENAME
    if dest.exists():
        raise PyOxidizerError(f"{dest} already exists; not overwriting it")
    if not (path / "pyproject.toml").is_file():
        raise PyOxidizerError(f"{path / 'pyproject.toml'} does not exist", hint="pass the project's directory")
    zero = generate_config(path, ZeroConfigOptions(script=script, module=module))
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(zero.text, encoding="utf-8")
    tmp.replace(dest)
    return dest


@dataclass(frozen=True, kw_only=True, slots=True)
class NewRustProject:
    """Result of ``init-rust-project``.

    Attributes:
        path: the project directory.
        artifacts_dir: where the first artifacts were written (``artifacts/``), or None when no
            distribution was at hand and ``artifacts/pyo3-build-config-file.txt`` holds the
            placeholder that tells a first ``cargo build`` to run ``run-build-script``.
    """

    path: Path
    artifacts_dir: Path | None


def init_rust_project(
    path: Path,
    python_code: str | None = None,
    pip_install: Sequence[str] = (),
    *,
    distribution_spec: str | None = None,
    env: Mapping[str, str] | None = None,
) -> NewRustProject:
    """Create a Rust project at PATH that builds with plain ``cargo build`` (``init-rust-project``).

    With a distribution at hand (``distribution_spec``, else ``PYOXIDIZER_PY_DISTRIBUTION`` in
    ``env``) the project's artifacts are written right away (``run-build-script`` by hand), so a
    first ``cargo build`` works; an explicit ``distribution_spec`` is also recorded in the
    project's ``.cargo/config.toml`` for cargo's later builds.

    Args:
        path: the new project's directory (must not exist, or be empty); its name, made valid
            (``program_name_for``), is the program's and the Cargo package's.
        python_code: code the executable runs (``run_command`` in the config); None = a REPL.
        pip_install: packages to install into the executable.
        distribution_spec: ``--python-distribution`` (``host``, a python executable, an archive).
        env: the environment (default ``os.environ``).

    Returns:
        A ``NewRustProject``.

    Raises:
        BuildError: the directory is not empty, or files cannot be written.
        PyOxidizerError: the project was created but writing its artifacts failed (the message
            says so and names the command to retry).
    """
    import os
    import shlex

    from pyoxidizer_py.distribution.resolve import DISTRIBUTION_ENV
    from pyoxidizer_py.rust_project.project import init_rust_project as init_project

    env = os.environ if env is None else env
    name = program_name_for(path).name
    project = init_project(path, pyoxidizer_bzl=render_config_template(name, python_code, pip_install), name=name)
    spec = distribution_spec if distribution_spec is not None else env.get(DISTRIBUTION_ENV) or None
    if spec is None:
        return NewRustProject(path=project.path, artifacts_dir=None)
    from pyoxidizer_py.embedding import BUILD_SCRIPT_ENV_VARS, BuildScriptOptions, run_build_script

    script = project.path / "build.rs"
    try:
        result = run_build_script(
            BuildScriptOptions(
                script=str(script),
                distribution_spec=distribution_spec,
                # a by-hand run: cargo's build-script variables of an enclosing build do not apply
                env={k: v for k, v in env.items() if k not in BUILD_SCRIPT_ENV_VARS},
                cwd=Path.cwd(),
            )
        )
    except PyOxidizerError as e:
        retry = "pyoxidizer-py run-build-script build.rs"
        if distribution_spec is not None:
            retry += f" --python-distribution {shlex.quote(distribution_spec)}"
        raise PyOxidizerError(
            f"created the Rust project {project.path}, but writing its artifacts failed: {e.message}",
            hint=f"{e.hint + '; then' if e.hint else 'fix that, then'} run `{retry}` in {project.path}",
        ) from e
    return NewRustProject(path=project.path, artifacts_dir=result.artifacts_dir)


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetListing:
    """Result of ``list-targets``: target names sorted, and the default."""

    config_path: Path
    names: tuple[str, ...]
    default: str | None


def list_targets(start: Path, vars: Mapping[str, str | None] | None = None) -> TargetListing:
    """Evaluate a config without resolving targets and list them.

    Args:
        start: config file or a directory at or below the config's directory.
        vars: ``VARS`` values.

    Returns:
        The listing.

    Raises:
        ConfigError: no config found, or the config has an error.
    """
    from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config

    zero = None
    project_dir = find_zero_config_dir(start)
    if project_dir is not None:  # the pyproject stack is imported only when a pyproject.toml decides
        from pyoxidizer_py.config.pyproject import generate_config

        zero = generate_config(project_dir)
    config = zero.config_path if zero is not None else find_config(start)
    evaluation = evaluate_config(
        EvaluationOptions(
            config_path=config,
            vars=dict(vars or {}),
            requested_targets=[],
            config_text=zero.text if zero is not None else None,
            display_name=f"{config} (generated from pyproject.toml)" if zero is not None else None,
        )
    )
    return TargetListing(
        config_path=config,
        names=tuple(sorted(t.name for t in evaluation.targets)),
        default=evaluation.default_target,
    )


def cache_clear(work_dir: Path | None = None) -> str:
    """``cache-clear``: delete the cache root, and the work root when it lies elsewhere.

    Args:
        work_dir: ``--work-dir`` (else ``PYOXIDIZER_PY_WORK_DIR``); the default work root is
            inside the cache root and goes with it.

    Returns:
        One line per directory (``removing <dir>`` or ``cache directory <dir> does not exist``).

    Raises:
        PyOxidizerError: a directory is not one pyoxidizer-py created (no ``CACHEDIR.TAG`` of
            ours and not empty), there is no cache location, or removal failed.
    """
    from pyoxidizer_py.distribution.pbs.cache import clear_cache
    from pyoxidizer_py.environment import cache_root, work_root

    root = cache_root()
    lines = clear_cache(root)
    work = work_root(work_dir)
    if not work.is_relative_to(root):
        lines += clear_cache(work)
    return "\n".join(lines)


def read_sbom(executable: Path, *, validate: bool = False) -> str:
    """``sbom EXECUTABLE``: the CycloneDX SBOM embedded in a built executable (``exe.sbom_embed = True``).

    Args:
        executable: an executable built by pyoxidizer-py.
        validate: also check the document against the CycloneDX 1.6 JSON schema.

    Returns:
        The SBOM's JSON text.

    Raises:
        PyOxidizerError: the file is missing or not an ELF executable, has no embedded SBOM,
            or (with ``validate``) the SBOM is not valid CycloneDX 1.6.
    """
    from pyoxidizer_py.artifacts.sbom import read_embedded_sbom, validate_sbom

    try:
        text = read_embedded_sbom(executable)
    except OSError as e:
        raise PyOxidizerError(f"cannot read {executable}: {e.strerror or e}") from e
    except ValueError as e:
        raise PyOxidizerError(str(e)) from e
    if text is None:
        raise PyOxidizerError(
            f"{executable} has no embedded SBOM",
            hint="set exe.sbom_embed = True in its config and rebuild; the SBOM file beside the executable "
            "(exe.sbom_filename) is written either way",
        )
    if validate:
        try:
            validate_sbom(text)
        except ValueError as e:
            raise PyOxidizerError(f"{executable}: the embedded SBOM is {e}") from e
    return text
