"""Zero configuration: turn a project's ``pyproject.toml`` into ``pyoxidizer.bzl`` text.

A directory with a ``pyproject.toml`` and no ``pyoxidizer.bzl`` builds without a config:
``generate_config`` writes the Starlark a user would have written (one executable per
``[project.scripts]`` entry, the project installed with pip from its directory, its
dependencies pinned from a lock when there is one), and the normal evaluation runs that
text as if it were ``<project>/pyoxidizer.bzl``. ``init-config-file --from-pyproject``
writes the same text to that file (eject), so both builds are the same build.

Formats read:

- ``[project]`` and ``[project.scripts]``: PEP 621 / the "Declaring project metadata"
  specification (packaging.python.org/en/latest/specifications/pyproject-toml/); entry
  points ``module:attr.attr`` as in the entry points specification
  (packaging.python.org/en/latest/specifications/entry-points/).
- ``pylock.toml``: PEP 751 (``[[packages]]`` with ``name``, ``version``, ``marker``,
  ``wheels``/``sdist``/``archive``/``vcs``/``directory``).
- ``uv.lock``: exported with ``uv export --format requirements-txt`` (uv's own format is
  not read directly).
- ``[tool.pyoxidizer-py]``: the keys in ``TABLE_KEYS``; docs/pyproject.md describes them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxidizer_py.config.discovery import PYPROJECT_FILENAME, find_zero_config_dir
from pyoxidizer_py.errors import ConfigError

__all__ = [
    "PYPROJECT_FILENAME",
    "TABLE_KEYS",
    "EntryPoint",
    "ZeroConfig",
    "ZeroConfigOptions",
    "check_entry_points",
    "entry_point_command",
    "find_zero_config",
    "generate_config",
    "parse_entry_point",
    "pylock_requirements",
]

TABLE = "tool.pyoxidizer-py"

#: ``[tool.pyoxidizer-py]`` keys -> the dialect attribute (or CLI flag) each one sets.
TABLE_KEYS: Mapping[str, str] = {
    "python-version": 'default_python_distribution(python_version = "X.Y")',
    "distribution": "default_python_distribution(flavor = ...), or PythonDistribution(sha256, url/local_path)",
    "resources-location": "PythonPackagingPolicy.resources_location",
    "resources-location-fallback": "PythonPackagingPolicy.resources_location_fallback",
    "single-file": "PythonPackagingPolicy.resources_location_fallback = None and "
    'PythonExecutable.libpython_link_mode = "static" (true), the defaults (false)',
    "stdlib-filter": "PythonPackagingPolicy.stdlib_filter",
    "allocator": "PythonInterpreterConfig.allocator_backend",
    "extra-files": "glob(include = [...]) added to the install FileManifest",
    "release": "build --release (a CLI flag: the ejected file says so in a comment)",
    "requirements": 'exe.pip_install(["-r", FILE]) before the project (installed with --no-deps)',
}

_FLAVORS = ("standalone", "standalone_static", "standalone_dynamic")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ENTRY = re.compile(r"^\s*(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?(\[.*\])?\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class EntryPoint:
    """One executable to build.

    Attributes:
        name: the executable's name (the ``[project.scripts]`` key).
        module: the module to import (``pkg.cli``).
        attr: the dotted attribute path of the callable (``main``, ``App.run``), or None to
            run the module as ``__main__`` (``--module``).
    """

    name: str
    module: str
    attr: str | None

    @property
    def spec(self) -> str:
        """``module:attr`` (or the module alone)."""
        return f"{self.module}:{self.attr}" if self.attr else self.module


def parse_entry_point(name: str, value: str) -> EntryPoint:
    """Parse ``module:attr.attr`` (entry points specification; extras in brackets are ignored).

    Raises:
        ValueError: the value is not an object reference.
    """
    m = _ENTRY.match(value)
    if not m or not _IDENT.match(m["module"]) or (m["attr"] and not _IDENT.match(m["attr"])):
        raise ValueError(f"{value!r} is not an object reference (module:function)")
    return EntryPoint(name=name, module=m["module"], attr=m["attr"])


def entry_point_command(entry: EntryPoint) -> str:
    """The ``run_command`` code that calls an entry point like pip's console-script wrapper.

    The callable's return value becomes the exit status (``sys.exit(func())``), as in the
    wrapper pip writes (pip's ``_internal/operations/install/wheel.py`` script template).
    """
    assert entry.attr is not None
    top, *rest = entry.attr.split(".")
    call = ".".join([top, *rest])
    return f"import sys\nfrom {entry.module} import {top}\nsys.exit({call}())\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class ZeroConfigOptions:
    """What the command line chose.

    Attributes:
        script: ``--script NAME`` (one ``[project.scripts]`` entry) or ``NAME=module:func``
            (an entry point the project does not declare); None = every entry.
        module: ``--module MOD``: one executable running ``python -m MOD``.
    """

    script: str | None = None
    module: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ZeroConfig:
    """A config generated from ``pyproject.toml``.

    Attributes:
        project_dir: the directory holding ``pyproject.toml``.
        pyproject: the ``pyproject.toml`` path.
        config_path: where the equivalent ``pyoxidizer.bzl`` goes (it need not exist).
        text: the generated ``pyoxidizer.bzl`` text.
        entry_points: the executables, in build order.
        release: ``[tool.pyoxidizer-py] release`` (None when not set).
        deps_origin: where the dependencies came from, in words (``pylock.toml``, ...).
        inputs: files the generated text was derived from.
    """

    project_dir: Path
    pyproject: Path
    config_path: Path
    text: str
    entry_points: tuple[EntryPoint, ...]
    release: bool | None = None
    deps_origin: str = ""
    inputs: tuple[Path, ...] = field(default_factory=tuple)


# -- positions -----------------------------------------------------------------------------


def _key_position(text: str, key: str) -> tuple[int, int] | None:
    """1-based (line, col) of ``key`` inside ``[tool.pyoxidizer-py]`` in the raw TOML text."""
    lines = text.splitlines()
    header = re.compile(r"""^\s*\[\s*tool\s*\.\s*(["']?)pyoxidizer-py\1\s*\]""")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    key_re = re.compile(rf"""^(\s*)(["']?){re.escape(key)}\2\s*[=.]""")
    # The key as a sub-table of its own: [tool.pyoxidizer-py.KEY] (or [[...]]).
    sub_re = re.compile(
        rf"""^(\s*\[\[?\s*tool\s*\.\s*(["']?)pyoxidizer-py\2\s*\.\s*)(["']?){re.escape(key)}\3\s*[\].]"""
    )
    for i, line in enumerate(lines):
        if m := sub_re.match(line):
            return i + 1, len(m.group(1)) + 1
    if start is not None:
        for i in range(start + 1, len(lines)):
            if re.match(r"^\s*\[", lines[i]):
                break
            if m := key_re.match(lines[i]):
                return i + 1, len(m.group(1)) + 1
        return start + 1, 1
    for i, line in enumerate(lines):  # dotted keys or an inline table under [tool]
        if "pyoxidizer-py" in line and (col := line.find(key, line.find("pyoxidizer-py") + 13)) >= 0:
            return i + 1, col + 1
    return None


def _error(pyproject: Path, text: str, key: str | None, message: str, hint: str | None = None) -> ConfigError:
    pos = _key_position(text, key) if key else None
    line, col = pos if pos else (None, None)
    return ConfigError(message, file=str(pyproject), line=line, col=col, hint=hint)


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _Table:
    python_version: str | None = None
    distribution: str | dict[str, str] | None = None
    resources_location: str | None = None
    resources_location_fallback: str | None = None
    single_file: bool | None = None
    stdlib_filter: str | None = None
    allocator: str | None = None
    extra_files: tuple[str, ...] = ()
    release: bool | None = None
    requirements: str | None = None


def _choices(key: str) -> tuple[str, ...]:
    """The values the dialect attribute behind an enumerated table key accepts (its ``setting()``)."""
    from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
    from pyoxidizer_py.resources.policy import PackagingPolicy
    from pyoxidizer_py.settings import settings_of

    if key == "allocator":
        return settings_of(InterpreterConfig)["allocator_backend"].choices
    if key == "stdlib-filter":
        return settings_of(PackagingPolicy)["stdlib_filter"].choices
    return ()


def _read_table(pyproject: Path, text: str, raw: Mapping[str, Any]) -> _Table:
    """Validate ``[tool.pyoxidizer-py]``; every problem is reported, the first one raised with
    the others listed in its message."""
    import difflib

    problems: list[ConfigError] = []
    values: dict[str, Any] = {}

    def bad(key: str, message: str, hint: str | None = None) -> None:
        problems.append(_error(pyproject, text, key, message, hint))

    for key, raw_value in raw.items():
        value: Any = raw_value
        if key not in TABLE_KEYS:
            near = difflib.get_close_matches(key, list(TABLE_KEYS), n=1, cutoff=0.5)
            bad(
                key,
                f"unknown key {key!r} in [{TABLE}]" + (f"; did you mean {near[0]!r}?" if near else ""),
                hint="valid keys: " + ", ".join(TABLE_KEYS),
            )
            continue
        attr = key.replace("-", "_")
        if key in ("single-file", "release"):
            if not isinstance(value, bool):
                bad(key, f"[{TABLE}] {key} must be true or false, not {value!r}")
                continue
        elif key == "extra-files":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad(key, f'[{TABLE}] extra-files must be a list of glob patterns, e.g. ["data/*.json"]')
                continue
            value = tuple(str(v) for v in value)
        elif key == "distribution":
            if isinstance(value, str):
                if value not in _FLAVORS:
                    bad(
                        key,
                        f"[{TABLE}] distribution must be one of {', '.join(_FLAVORS)} or a table "
                        f"{{sha256 = ..., url = ... | path = ...}}, not {value!r}",
                    )
                    continue
                value = str(value)
            elif isinstance(value, Mapping):
                d = {str(k): v for k, v in value.items()}
                unknown = sorted(set(d) - {"sha256", "url", "path", "flavor"})
                if unknown or not isinstance(d.get("sha256"), str) or not ("url" in d or "path" in d):
                    bad(
                        key,
                        f"[{TABLE}] distribution table needs sha256 and url or path"
                        + (f" (unknown key {unknown[0]!r})" if unknown else ""),
                    )
                    continue
                value = {k: str(v) for k, v in d.items()}
            else:
                bad(key, f"[{TABLE}] distribution must be a string or a table")
                continue
        else:
            if not isinstance(value, str):
                bad(key, f"[{TABLE}] {key} must be a string, not {value!r}")
                continue
            value = str(value)
            choices = _choices(key)
            if choices and value not in choices:
                bad(key, f"[{TABLE}] {key} must be one of {', '.join(choices)}, not {value!r}")
                continue
            if (
                key.startswith("resources-location")
                and value != "in-memory"
                and not value.startswith("filesystem-relative:")
            ):
                bad(key, f'[{TABLE}] {key} must be "in-memory" or "filesystem-relative:PREFIX", not {value!r}')
                continue
            if key == "python-version" and not re.fullmatch(r"3\.\d+t?", value):
                bad(key, f'[{TABLE}] python-version must look like "3.12", not {value!r}')
                continue
        values[attr] = value
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first.message += "".join(f"\n{p}" for p in problems[1:])
        raise first
    return _Table(**values)


# -- dependencies --------------------------------------------------------------------------


def _normalize(name: str) -> str:
    """PEP 503 normalized name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pylock_requirements(lock_path: Path, project_name: str | None) -> list[str]:
    """The pip requirements that install what a PEP 751 ``pylock.toml`` locks.

    Each package becomes ``name==version`` (with its ``marker``, which pip evaluates for the
    target interpreter); a package locked to exactly one wheel and no sdist becomes a direct
    reference ``name @ URL#sha256=HASH``, which pip downloads and checks against the hash. An
    ``archive`` becomes its URL (with hash), a ``vcs`` entry ``name @ git+URL@COMMIT``, a
    ``directory`` its path. The project itself (a ``directory`` at ``.`` or its own name) is
    left out: it is installed from its directory.

    Args:
        lock_path: the lock file.
        project_name: ``[project].name``, or None.

    Returns:
        Requirement strings, sorted by name as the lock lists them.

    Raises:
        ConfigError: the file is not valid TOML or not a PEP 751 lock (the message names the
            file and the package).
    """
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        doc = tomlkit.parse(lock_path.read_text(encoding="utf-8")).unwrap()
    except ParseError as exc:
        raise ConfigError(f"{lock_path}:{exc.line}:{exc.col}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {lock_path}: {exc}") from exc
    version = doc.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise ConfigError(f"{lock_path}: lock-version {version!r} is not a PEP 751 lock (1.x)")
    packages = doc.get("packages", [])
    if not isinstance(packages, list):
        raise ConfigError(f"{lock_path}: packages must be an array of tables ([[packages]])")
    own = _normalize(project_name) if project_name else None
    reqs: list[str] = []
    for i, pkg in enumerate(packages):
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            raise ConfigError(f"{lock_path}: packages[{i}] has no name")
        name = pkg["name"]
        directory = pkg.get("directory")
        if _normalize(name) == own or (isinstance(directory, dict) and directory.get("path") in (".", "./")):
            continue
        marker = pkg.get("marker")
        suffix = f" ; {marker}" if isinstance(marker, str) and marker else ""
        wheels = pkg.get("wheels") or []
        if isinstance(pkg.get("vcs"), dict):
            vcs = pkg["vcs"]
            url = vcs.get("url") or vcs.get("path")
            ref = f"{vcs.get('type', 'git')}+{url}@{vcs.get('commit-id', '')}".rstrip("@")
            reqs.append(f"{name} @ {ref}{suffix}")
        elif isinstance(pkg.get("archive"), dict) and pkg["archive"].get("url"):
            reqs.append(f"{name} @ {_with_hash(pkg['archive'])}{suffix}")
        elif isinstance(directory, dict) and directory.get("path"):
            path = (lock_path.parent / str(directory["path"])).resolve()
            reqs.append(f"{name} @ {path.as_uri()}{suffix}")
        elif len(wheels) == 1 and not pkg.get("sdist") and isinstance(wheels[0], dict) and wheels[0].get("url"):
            reqs.append(f"{name} @ {_with_hash(wheels[0])}{suffix}")
        elif isinstance(pkg.get("version"), str):
            reqs.append(f"{name}=={pkg['version']}{suffix}")
        else:
            raise ConfigError(f"{lock_path}: package {name} has neither a version nor a source pip can install")
    return reqs


def _with_hash(source: Mapping[str, Any]) -> str:
    url = str(source["url"])
    hashes = source.get("hashes") or {}
    if isinstance(hashes, dict) and "#" not in url:
        for algo in ("sha256", "sha384", "sha512"):
            if isinstance(hashes.get(algo), str):
                return f"{url}#{algo}={hashes[algo]}"
    return url


def _uv_requirements(project_dir: Path) -> list[str]:
    """``uv export`` of ``uv.lock`` as requirement lines (the project itself left out)."""
    uv = shutil.which("uv")
    lock = project_dir / "uv.lock"
    if uv is None:
        raise ConfigError(
            f"{lock}: uv.lock is the project's lock, but uv is not installed to export it",
            hint="install uv (pip install uv), or write a pylock.toml (uv export --format pylock.toml -o pylock.toml)",
        )
    cmd = [
        uv,
        "export",
        "--frozen",
        "--format",
        "requirements-txt",
        "--no-hashes",
        "--no-emit-project",
        "--no-header",
        "--no-annotate",
        "--no-dev",
    ]
    proc = subprocess.run(cmd, cwd=project_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"{lock}: `uv export` failed (exit status {proc.returncode}): {last}")
    reqs = []
    for raw_line in proc.stdout.splitlines():
        line = raw_line.strip()
        if line and not line.startswith(("#", "-")):
            reqs.append(line)
    return reqs


# -- generation ----------------------------------------------------------------------------


def _select(pyproject: Path, text: str, project: Mapping[str, Any], options: ZeroConfigOptions) -> list[EntryPoint]:
    import difflib

    raw_scripts = project.get("scripts") or {}
    if not isinstance(raw_scripts, Mapping):
        raise _error(pyproject, text, None, f"{pyproject}: [project.scripts] must be a table")
    scripts: dict[str, EntryPoint] = {}
    for name, value in raw_scripts.items():
        try:
            scripts[str(name)] = parse_entry_point(str(name), str(value))
        except ValueError as exc:
            raise ConfigError(f"{pyproject}: [project.scripts] {name}: {exc}") from exc
    if options.module:
        if not _IDENT.match(options.module):
            raise ConfigError(f"--module {options.module!r} is not a module name")
        name = str(project.get("name") or options.module.split(".")[0])
        return [EntryPoint(name=_exe_name(name), module=options.module, attr=None)]
    if options.script:
        if "=" in options.script:
            name, _, value = options.script.partition("=")
            try:
                return [parse_entry_point(name.strip(), value.strip())]
            except ValueError as exc:
                raise ConfigError(f"--script {options.script}: {exc}") from exc
        if options.script not in scripts:
            known = ", ".join(scripts) or "none"
            near = difflib.get_close_matches(options.script, list(scripts), n=1)
            raise ConfigError(
                f"--script {options.script}: {pyproject} has no such [project.scripts] entry (entries: {known})"
                + (f"; did you mean {near[0]!r}?" if near else ""),
                hint="or pass --script NAME=module:function",
            )
        return [scripts[options.script]]
    if not scripts:
        raise ConfigError(
            f'{pyproject}: nothing to build: add a [project.scripts] entry (name = "module:function"), '
            "or pass --script NAME=module:function or --module MODULE"
        )
    return list(scripts.values())


def _exe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "app"


def _starlark_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def generate_config(
    project_dir: Path, options: ZeroConfigOptions | None = None, *, pyproject_text: str | None = None
) -> ZeroConfig:
    """Generate the ``pyoxidizer.bzl`` text for a project with a ``pyproject.toml``.

    Args:
        project_dir: the project's directory.
        options: ``--script`` / ``--module`` choices.
        pyproject_text: the file's text, when already read.

    Returns:
        The generated config.

    Raises:
        ConfigError: ``pyproject.toml`` is missing or invalid, ``[tool.pyoxidizer-py]`` has an
            unknown key or a bad value (``file:line:col``), there is nothing to build, or a
            lock cannot be read or exported.
    """
    import jinja2
    import tomlkit
    from tomlkit.exceptions import ParseError

    from pyoxidizer_py import __version__
    from pyoxidizer_py.templates_dir import templates_dir

    options = options or ZeroConfigOptions()
    project_dir = project_dir.resolve()
    pyproject = project_dir / PYPROJECT_FILENAME
    if pyproject_text is None:
        try:
            pyproject_text = pyproject.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {pyproject}: {exc}") from exc
    try:
        doc = tomlkit.parse(pyproject_text)
    except ParseError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(pyproject), line=exc.line, col=exc.col) from exc
    project = doc.get("project")
    if not isinstance(project, Mapping):
        project = {}
    tool = doc.get("tool")
    raw_table = tool.get("pyoxidizer-py") if isinstance(tool, Mapping) else None
    if raw_table is not None and not isinstance(raw_table, Mapping):
        raise _error(pyproject, pyproject_text, None, f"[{TABLE}] must be a table")
    table = _read_table(pyproject, pyproject_text, dict(raw_table or {}))
    entries = _select(pyproject, pyproject_text, project, options)
    project_name = str(project.get("name")) if project.get("name") else None

    inputs = [pyproject]
    pins: list[str] = []
    no_deps = True
    requirements = None
    if (project_dir / "pylock.toml").is_file():
        pins = pylock_requirements(project_dir / "pylock.toml", project_name)
        deps_origin = "pinned from pylock.toml (PEP 751)"
        inputs.append(project_dir / "pylock.toml")
    elif (project_dir / "uv.lock").is_file():
        pins = _uv_requirements(project_dir)
        deps_origin = "pinned from uv.lock (uv export)"
        inputs.append(project_dir / "uv.lock")
    elif table.requirements:
        req = project_dir / table.requirements
        if not req.is_file():
            raise _error(pyproject, pyproject_text, "requirements", f"[{TABLE}] requirements: {req} is not a file")
        requirements = table.requirements
        deps_origin = f"from {table.requirements}"
        inputs.append(req)
    else:
        no_deps = False
        deps_origin = "resolved by pip from the project's metadata"

    # Distribution.
    if isinstance(table.distribution, dict):
        d = table.distribution
        args = [f"sha256 = {_starlark_str(d['sha256'])}"]
        if "url" in d:
            args.append(f"url = {_starlark_str(d['url'])}")
        if "path" in d:
            args.append(f'local_path = CWD + "/" + {_starlark_str(d["path"])}')
        if "flavor" in d:
            args.append(f"flavor = {_starlark_str(d['flavor'])}")
        dist_expr = f"PythonDistribution({', '.join(args)})"
    else:
        args = []
        if table.distribution:
            args.append(f"flavor = {_starlark_str(table.distribution)}")
        if table.python_version:
            args.append(f"python_version = {_starlark_str(table.python_version)}")
        dist_expr = f"default_python_distribution({', '.join(args)})"

    policy_lines = []
    if table.resources_location:
        policy_lines.append(f"policy.resources_location = {_starlark_str(table.resources_location)}")
    if table.resources_location_fallback:
        policy_lines.append(f"policy.resources_location_fallback = {_starlark_str(table.resources_location_fallback)}")
    if table.single_file:
        policy_lines.append("policy.resources_location_fallback = None  # single-file = true")
    if table.stdlib_filter:
        policy_lines.append(f"policy.stdlib_filter = {_starlark_str(table.stdlib_filter)}")
    config_lines = []
    if table.allocator:
        config_lines.append(f"python_config.allocator_backend = {_starlark_str(table.allocator)}")
    exe_lines = []
    if table.single_file:
        exe_lines.append('exe.libpython_link_mode = "static"  # single-file = true')

    executables = []
    seen: set[str] = set()
    for entry in entries:
        ident = re.sub(r"\W", "_", entry.name)
        while ident in seen:
            ident += "_"
        seen.add(ident)
        executables.append(
            {
                "name": _exe_name(entry.name),
                "ident": ident,
                "target": f"exe_{ident}",
                "entry_point": entry.spec,
                "run_module": entry.module if entry.attr is None else None,
                "run_command": entry_point_command(entry) if entry.attr else None,
            }
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "config")),
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["starlark_str"] = _starlark_str
    text = env.get_template("pyproject.bzl.j2").render(
        project_name=project_name or project_dir.name,
        version=__version__,
        has_table=raw_table is not None,
        deps_origin=deps_origin,
        release=table.release,
        dist_expr=dist_expr,
        executables=executables,
        policy_lines=policy_lines,
        config_lines=config_lines,
        exe_lines=exe_lines,
        pins=pins,
        requirements=requirements,
        no_deps=no_deps,
        extra_files=list(table.extra_files),
    )
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return ZeroConfig(
        project_dir=project_dir,
        pyproject=pyproject,
        config_path=project_dir / "pyoxidizer.bzl",
        text=text,
        entry_points=tuple(entries),
        release=table.release,
        deps_origin=deps_origin,
        inputs=tuple(inputs),
    )


# -- checking the entry points -------------------------------------------------------------

_CHECK = r"""
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
failures = []
for name, module, attr in json.loads(sys.argv[2]):
    try:
        obj = importlib.import_module(module)
        for part in (attr.split(".") if attr else []):
            obj = getattr(obj, part)
        if attr and not callable(obj):
            raise TypeError(f"{module}:{attr} is not callable")
    except BaseException as exc:
        failures.append([name, module + (":" + attr if attr else ""), f"{type(exc).__name__}: {exc}"])
print(json.dumps(failures))
"""


def _resource_roots(resources: Sequence[Any]) -> list[str]:
    """Directories that hold the non-stdlib modules of a resource list (pip's staging dirs)."""
    from pyoxidizer_py.resources import model

    roots: list[str] = []
    for r in resources:
        path = getattr(r, "path", None)
        if path is None or getattr(r, "is_stdlib", False):
            continue
        if isinstance(r, model.PythonModuleSource):
            depth = r.name.count(".") + (1 if r.is_package else 0)
        elif type(r).__name__ == "PythonExtensionModule":
            depth = r.name.count(".")
        else:
            continue
        root = str(Path(path).parents[depth])
        if root not in roots:
            roots.append(root)
    return roots


def check_entry_points(exe: Any, entries: Sequence[EntryPoint], host_triple: str) -> None:
    """Import each entry point with the executable's interpreter and packages, before building.

    The target interpreter (``dist.python_exe``) runs in isolated mode without ``site``
    (``-I -S``), with only the directories pip installed the executable's packages into on
    ``sys.path``, so a module missing from the build fails here as it would in the executable.
    Skipped when the distribution has no runnable interpreter or targets another platform.

    Args:
        exe: the ``PythonExecutable`` the entry points run in.
        entries: the entry points.
        host_triple: the machine's target triple.

    Raises:
        ConfigError: an entry point does not import (the message names the script, its
            ``module:function`` and the exception).
    """
    dist = exe.distribution.resolve()
    if dist.python_exe is None or dist.target_triple != host_triple:
        return
    roots = _resource_roots(exe.resources)
    spec = [[e.name, e.module, e.attr] for e in entries]
    proc = subprocess.run(
        [str(dist.python_exe), "-I", "-S", "-c", _CHECK, json.dumps(roots), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        failures = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"cannot check the entry points with {dist.python_exe}: {last}") from None
    if failures:
        name, target, why = failures[0]
        raise ConfigError(
            f"[project.scripts] {name} = {target!r} does not import in the executable: {why}",
            hint="check the entry point's module and function names, and that the project "
            "declares the dependencies it imports",
        )


def find_zero_config(
    start: Path, options: ZeroConfigOptions | None = None, env: Mapping[str, str] | None = None
) -> ZeroConfig | None:
    """The zero-configuration build for ``start``, or None when a ``pyoxidizer.bzl`` applies.

    From ``start`` (``--path``) upwards, the first directory holding a ``pyoxidizer.bzl`` or a
    ``pyproject.toml`` decides: a ``pyoxidizer.bzl`` wins (None is returned and the normal
    discovery runs); a ``pyproject.toml`` alone gives a generated config. A ``start`` that is a
    ``pyproject.toml`` file uses it; ``PYOXIDIZER_CONFIG`` or a ``start`` naming any other file
    returns None.

    Args:
        start: a directory, or a file.
        options: ``--script`` / ``--module``.
        env: environment (default ``os.environ``).

    Returns:
        The generated config, or None.

    Raises:
        ConfigError: see ``generate_config``.
    """
    project_dir = find_zero_config_dir(start, env)
    return generate_config(project_dir, options) if project_dir is not None else None
