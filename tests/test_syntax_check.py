"""A syntax error in the application's own code fails the build with FILE:LINE:COL (issue 17, item 3).

The check runs before cargo, so these builds stop in about a second; the target Python judges the
syntax (a 3.12 ``type`` statement is an error for a 3.11 target, fine for 3.12).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.resources.model import AddAttributes, PythonModuleSource
from pyoxidizer_py.resources.syntax import SourceCheck, first_party_sources, syntax_problems

PY311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")

_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    python_config = dist.make_python_interpreter_config()
    {config}
    exe = dist.to_python_executable(name = "app", packaging_policy = policy, config = python_config)
    {resources}
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


def _project(tmp_path: Path, *, config: str = "python_config.run_module = 'app'", resources: str = "") -> Path:
    project = tmp_path / "proj"
    (project / "src" / "app").mkdir(parents=True)
    (project / "src" / "app" / "__init__.py").write_text("")
    (project / "src" / "app" / "__main__.py").write_text("print('hi')\n")
    (project / "pyoxidizer.bzl").write_text(_CONFIG.format(config=config, resources=resources or "pass"))
    return project


def _build(project: Path, python: Path = PY311) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CARGO_TARGET_DIR": str(project / "cargo-target")}
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(project), "--python-distribution", str(python)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_syntax_error_in_a_package_root_module_fails_with_file_line_col(tmp_path: Path) -> None:
    project = _project(tmp_path, resources="exe.add_python_resources(exe.read_package_root(CWD + '/src', ['app']))")
    broken = project / "src" / "app" / "broken.py"
    broken.write_text("x = 1\nif x\n    pass\n")
    line = one_error_line(_build(project))
    assert line.startswith(f"error: {broken}:2:5: SyntaxError: "), line
    assert not (project / "build" / "x86_64-unknown-linux-gnu" / "debug" / "exe" / "app").exists()


def test_every_broken_module_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, resources="exe.add_python_resources(exe.read_package_root(CWD + '/src', ['app']))")
    (project / "src" / "app" / "a.py").write_text("def f(:\n")
    (project / "src" / "app" / "b.py").write_text("\n\nreturn = 3\n")
    line = one_error_line(_build(project))
    assert "a.py:1:7: SyntaxError" in line and "b.py:3:" in line, line


def test_syntax_error_in_make_python_module_source(tmp_path: Path) -> None:
    add = "exe.add_python_resource(exe.make_python_module_source('gen', 'a = (1,\\n'))"
    project = _project(tmp_path, resources=add)
    line = one_error_line(_build(project))
    assert line.startswith("error: <gen>:1:5: SyntaxError: "), line


def test_syntax_error_in_run_command(tmp_path: Path) -> None:
    project = _project(tmp_path, config="python_config.run_command = 'print(1))'")
    line = one_error_line(_build(project))
    assert line.startswith("error: run_command:1:9: SyntaxError: "), line


def test_the_target_python_judges_the_syntax(tmp_path: Path) -> None:
    if not PY312.exists():
        pytest.skip("needs CPython 3.12")
    checks = [SourceCheck(filename="new.py", source=b"type Alias = int\n")]
    assert [str(p) for p in syntax_problems(PY311, checks)] == ["new.py:1:6: SyntaxError: invalid syntax"]
    assert syntax_problems(PY312, checks) == []


def test_only_first_party_included_sources_are_checked() -> None:
    bad = b"def (:\n"
    third_party = PythonModuleSource(name="dep.tests.data", data=bad)
    stdlib = PythonModuleSource(name="lib2to3.tests.data.bom", data=bad, is_stdlib=True, is_test=True)
    excluded = PythonModuleSource(name="app.off", data=bad, first_party=True, add=AddAttributes(include=False))
    own = PythonModuleSource(name="app.mod", data=bad, first_party=True)
    assert [c.filename for c in first_party_sources([third_party, stdlib, excluded, own])] == ["<app.mod>"]


def test_syntax_error_in_a_pyproject_project_fails_with_file_line_col(tmp_path: Path) -> None:
    """A build from pyproject.toml alone pip-installs the project from its directory (PEP 610
    ``dir_info``): its modules are first-party; its dependencies are not."""
    project = tmp_path / "proj"
    (project / "src" / "tool").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "tool"\nversion = "1.0"\n\n[project.scripts]\ntool = "tool.cli:main"\n'
    )
    (project / "src" / "tool" / "__init__.py").write_text("")
    (project / "src" / "tool" / "cli.py").write_text("def main():\n    print('hi')\n")
    (project / "src" / "tool" / "extra.py").write_text("def later():\n    print('hi'\n")  # not imported by main
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--python-distribution", str(PY311)],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "cargo-target")},
        check=False,
    )
    line = one_error_line(result)
    assert "tool/extra.py:2:10: SyntaxError: " in line, line


def test_only_distributions_from_a_local_directory_are_first_party(tmp_path: Path) -> None:
    from pyoxidizer_py.resources.collect import _local_directory_sources

    for name, origin in (
        ("own", {"url": "file:///src/own", "dir_info": {}}),
        ("dep", {"url": "https://x/dep.whl", "archive_info": {}}),
    ):
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "direct_url.json").write_text(json.dumps(origin))
        (info / "RECORD").write_text(f"{name}/__init__.py,sha256=x,1\n{name}/data.txt,,\n{info.name}/RECORD,,\n")
    assert _local_directory_sources(tmp_path) == {tmp_path / "own" / "__init__.py"}
