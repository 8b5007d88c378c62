"""CLI start-up imports only what a command uses (issue 13 item 7).

``pyoxidizer-py --version`` and ``list-targets`` (on the ``init-config-file`` template) run in a fresh
interpreter through the real entry point (``python -m pyoxidizer_py``); the modules they import
beyond what the interpreter had loaded at start (``site`` and its ``.pth`` files) are compared with
what each command needs. The time these imports cost is measured in bench/bench_config.py, not here.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Runs the CLI as `python -m pyoxidizer_py ARGS...` would, then writes the names of the modules
# the run added to sys.modules to the file named by the first argument.
_PROBE = """
import runpy, sys
before = set(sys.modules)
out, *args = sys.argv[1:]
sys.argv = ["pyoxidizer-py", *args]
try:
    runpy.run_module("pyoxidizer_py", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    status = exc.code
else:
    status = 0
sys.stdout.flush()
added = sorted(set(sys.modules) - before)
with open(out, "w", encoding="utf-8") as f:
    f.write(repr((status, added)))
"""

# Third-party libraries of other commands (building, downloading, templates, SBOM, completion).
THIRD_PARTY = (
    "jinja2",
    "markupsafe",
    "rich",
    "requests",
    "urllib3",
    "certifi",
    "charset_normalizer",
    "idna",
    "zstandard",
    "tomlkit",
    "cyclonedx",
    "elftools",
    "filelock",
    "platformdirs",
    "shtab",
    "markdown_it",
    "hypothesis",
    "packaging",
)
# Our stages that evaluating a config does not reach.
OTHER_STAGES = (
    "pyoxidizer_py.build",
    "pyoxidizer_py.embedding",
    "pyoxidizer_py.environment",
    "pyoxidizer_py.artifacts",
    "pyoxidizer_py.resources",
    "pyoxidizer_py.rust_project",
    "pyoxidizer_py.distribution.pbs",
    "pyoxidizer_py.distribution.resolve",
    "pyoxidizer_py.distribution.installed",
    "pyoxidizer_py.distribution.elf",
    "pyoxidizer_py.config.pyproject",
    "pyoxidizer_py.config.dialect.python",
    "pyoxidizer_py.config.dialect.resources",
    "pyoxidizer_py.config.dialect.removed",  # only for a name the config lacks
    "pyoxidizer_py.config.dialect.files",  # only when the config calls FileManifest, FileContent or glob
    "pyoxidizer_py.settings",  # only for the dialect's façade types (dialect.python, dialect.resources)
    "pyoxidizer_py.progress",  # with logging, set up when something logs (pyoxidizer_py.logs)
)
# What evaluating a config needs and printing the version does not.
CONFIG_STAGE = ("xingque", "pyoxidizer_py.config", "pyoxidizer_py.commands", "pyoxidizer_py.distribution")
# Standard-library modules only other commands (or error paths) need.
STDLIB = (
    "subprocess",
    "shlex",
    "json",
    "tempfile",
    "shutil",  # argparse's help formatter imports it (and lzma, bz2) unless given a width
    "lzma",
    "bz2",
    "difflib",
    "platform",
    "zipfile",
    "tarfile",
    "tomllib",
    "hashlib",
    "socket",
    "ssl",
    "http",
    "email",
    "sysconfig",
    "importlib.metadata",
    "logging",  # set up on first use for list-targets (pyoxidizer_py.logs)
    "traceback",  # only for errors (and with logging)
    "string",  # logging's
    "glob",  # dialect.files'
    "typing",  # annotations only: `if TYPE_CHECKING:` imports
)


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _run(args: list[str], cwd: Path, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[list[str], str, str]:
    """(modules the command added, its stdout, its stderr) for ``pyoxidizer-py ARGS`` run in ``cwd``."""
    out = tmp_path / f"modules-{len(list(tmp_path.iterdir()))}.txt"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        cwd=cwd,
        env={**_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status, added = ast.literal_eval(out.read_text(encoding="utf-8"))
    assert status in (0, None), (status, result.stderr)
    return added, result.stdout, result.stderr


def _imported_by(args: list[str], cwd: Path, tmp_path: Path) -> tuple[list[str], str]:
    """(modules the command added, its stdout) for ``pyoxidizer-py ARGS`` run in ``cwd``."""
    added, stdout, _stderr = _run(args, cwd, tmp_path)
    return added, stdout


def _offending(added: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in added if any(m == p or m.startswith(p + ".") for p in prefixes)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the ``init-config-file`` template."""
    root = tmp_path_factory.mktemp("startup")
    subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "init-config-file", str(root / "app")],
        env=_env(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert (root / "app" / "pyoxidizer.bzl").is_file()
    return root / "app"


def test_list_targets_imports_only_the_config_stage(project: Path, tmp_path: Path) -> None:
    added, stdout = _imported_by(["list-targets"], project, tmp_path)
    assert stdout.split() == ["exe", "*install", "msi_installer", "resources"]
    assert "xingque" in added and "pyoxidizer_py.config.evaluate" in added  # it did evaluate the file
    assert _offending(added, THIRD_PARTY) == []
    assert _offending(added, OTHER_STAGES) == []
    assert _offending(added, STDLIB) == []


def test_version_imports_no_config_engine(project: Path, tmp_path: Path) -> None:
    from pyoxidizer_py import __version__

    for flag in ("--version", "-V"):
        added, stdout = _imported_by([flag], project, tmp_path)
        assert stdout == f"pyoxidizer-py {__version__}\n"
        assert _offending(added, THIRD_PARTY) == []
        assert _offending(added, OTHER_STAGES) == []
        assert _offending(added, STDLIB) == []
        assert _offending(added, CONFIG_STAGE) == []
        # Printed without the CLI's parser (pyoxidizer_py.__main__).
        assert _offending(added, ("argparse", "pathlib", "pyoxidizer_py.cli")) == []
    # The parser's own --version (cli.main, the library entry point) prints the same line.
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from pyoxidizer_py.cli import main; sys.exit(main(['--version']))"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, f"pyoxidizer-py {__version__}\n")


def test_version_to_a_closed_pipe_is_quiet() -> None:
    # The reader is gone before the version is written: status 0, nothing on stderr (as cli.main).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pyoxidizer_py", "--version"],
            env=_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (0, "")


def test_list_targets_of_a_pyproject_reads_it(tmp_path: Path) -> None:
    # The pyproject stack is loaded when a pyproject.toml, not a pyoxidizer.bzl, decides.
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "hello"\nversion = "1.0"\n[project.scripts]\nhello = "hello:main"\n', encoding="utf-8"
    )
    (project / "hello.py").write_text("def main():\n    print('hi')\n", encoding="utf-8")
    probes = tmp_path / "probes"
    probes.mkdir()
    added, stdout = _imported_by(["list-targets"], project, probes)
    assert "pyoxidizer_py.config.pyproject" in added
    assert stdout.split() == ["exe_hello", "*install"]


def test_list_targets_sets_logging_up_when_the_config_prints(tmp_path: Path) -> None:
    # Logging is set up only when something logs; then it is the CLI's (no `warning:` before a
    # print() line, -v shows info lines).
    config = tmp_path / "pyoxidizer.bzl"
    config.write_text('def a():\n    return 1\nregister_target("a", a, default = True)\nprint("hello", 1)\n')
    probes = tmp_path / "probes"
    probes.mkdir()
    added, stdout, stderr = _run(["list-targets"], tmp_path, probes)
    assert stdout.split() == ["*a"]
    assert stderr == "hello 1\n"
    assert "logging" in added
    added, stdout, stderr = _run(["-v", "list-targets"], probes, probes, env={"PYOXIDIZER_CONFIG": str(config)})
    assert stdout.split() == ["*a"]
    assert stderr.splitlines() == [f"using config file from PYOXIDIZER_CONFIG: {config}", "hello 1"]
