"""End to end: build the examples with real cargo, pip and CPython, then run the executables (issue 3)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.artifacts.pyo3_config import plan_link
from pyoxidizer_py.distribution.installed import introspect_installed
from pyoxidizer_py.environment import config_work_dir
from pyoxidizer_py.errors import BuildError

pytestmark = pytest.mark.cargo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PY310 = "/root/.pyenv/versions/3.10.13/bin/python3.10"
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
DEBIAN311 = "/usr/bin/python3.11"
TRIPLE_DIR = Path("build") / "x86_64-unknown-linux-gnu" / "debug"


@pytest.fixture(scope="session")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir per test process, so crates compile once."""
    return tmp_path_factory.mktemp("cargo-target")


def pyoxidizer(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, cargo_target: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    if cargo_target is not None:
        full["CARGO_TARGET_DIR"] = str(cargo_target)
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args], cwd=cwd, env=full, capture_output=True, text=True
    )


def copy_example(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("build"))
    return dest


def build_example(name: str, tmp_path: Path, python: str, link: str, cargo_target: Path) -> Path:
    project = copy_example(name, tmp_path)
    result = pyoxidizer(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        python,
        "--var",
        "LINK_MODE",
        link,
        cargo_target=cargo_target,
    )
    assert result.returncode == 0, result.stderr
    return project / TRIPLE_DIR / "install"


def run(
    exe: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)


def linked_libpython(exe: Path) -> bool:
    out = subprocess.run(["ldd", str(exe)], capture_output=True, text=True).stdout
    return "libpython" in out


MATRIX = [(PY310, "static"), (PY310, "dynamic"), (PY311, "static"), (PY311, "dynamic"), (DEBIAN311, "static")]
IDS = ["3.10-static", "3.10-dynamic", "3.11-static", "3.11-dynamic", "debian3.11-static"]


@pytest.mark.parametrize(("python", "link"), MATRIX, ids=IDS)
def test_hello(tmp_path: Path, cargo_target: Path, python: str, link: str) -> None:
    install = build_example("hello", tmp_path, python, link, cargo_target)
    exe = install / "hello"
    result = run(exe, "a b", "c")
    assert result.returncode == 0, result.stderr
    version = python.rsplit("python", 1)[1]
    assert result.stdout.startswith(f"hello from {exe} {version}.")
    assert result.stdout.rstrip().endswith("['a b', 'c']")
    assert linked_libpython(exe) == (link == "dynamic")
    if link == "dynamic":
        assert any(p.name.startswith("libpython") for p in (install / "lib").iterdir())
    # Moved elsewhere, run from another directory with a hostile environment: still works.
    moved = tmp_path / "elsewhere" / "app"
    shutil.move(str(install), moved)
    other = tmp_path / "cwd"
    other.mkdir()
    result = run(moved / "hello", cwd=other, env={"PYTHONHOME": "/nonsense", "PYTHONPATH": "/nonsense:/x"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"hello from {moved / 'hello'} {version}.")


FOUR = MATRIX[:4]
FOUR_IDS = IDS[:4]


@pytest.mark.parametrize(("python", "link"), FOUR, ids=FOUR_IDS)
def test_pyflakes_from_pypi(tmp_path: Path, cargo_target: Path, python: str, link: str) -> None:
    install = build_example("pyflakes", tmp_path, python, link, cargo_target)
    target = tmp_path / "bad.py"
    target.write_text("import os\n")
    result = run(install / "pyflakes", str(target))
    assert result.returncode == 1  # pyflakes' status when it reports problems
    assert f"{target}:1:1: 'os' imported but unused" in result.stdout
    clean = tmp_path / "good.py"
    clean.write_text("print(1)\n")
    assert run(install / "pyflakes", str(clean)).returncode == 0


@pytest.mark.parametrize(("python", "link"), MATRIX, ids=IDS)
def test_local_package_with_entry_point_and_c_extension(
    tmp_path: Path, cargo_target: Path, python: str, link: str
) -> None:
    install = build_example("local-app", tmp_path, python, link, cargo_target)
    result = run(install / "greet", "Ann", "Bob")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Hello, Ann!", "Hello, Bob!", "libyaml: True"]
    assert run(install / "greet", "--fail").returncode == 3


def test_run_forwards_arguments_and_exit_status(tmp_path: Path, cargo_target: Path) -> None:
    project = copy_example("local-app", tmp_path)
    result = pyoxidizer(
        "run",
        "--system-rust",
        "--path",
        str(project),
        "--python-distribution",
        PY311,
        "--",
        "Zed",
        cargo_target=cargo_target,
    )
    assert result.returncode == 0, result.stderr
    assert "Hello, Zed!" in result.stdout
    result = pyoxidizer(
        "run", "--path", str(project), "--python-distribution", PY311, "--", "--fail", cargo_target=cargo_target
    )
    assert result.returncode == 3


def test_rebuild_after_python_edit_does_not_recompile_pyo3(tmp_path: Path, cargo_target: Path) -> None:
    project = copy_example("local-app", tmp_path)
    first = pyoxidizer(
        "build", "--path", str(project), "--python-distribution", PY311, "-vv", cargo_target=cargo_target
    )
    assert first.returncode == 0, first.stderr
    cli = project / "src" / "greeter" / "cli.py"
    cli.write_text(cli.read_text().replace("{doc['greeting']}, {name}!", "{doc['greeting']} again, {name}!"))
    second = pyoxidizer(
        "build", "--path", str(project), "--python-distribution", PY311, "-vv", cargo_target=cargo_target
    )
    assert second.returncode == 0, second.stderr
    assert "Compiling pyo3" not in second.stderr
    install = project / TRIPLE_DIR / "install"
    assert run(install / "greet", "Kim").stdout.startswith("Hello again, Kim!")
    # build/ holds only the output tree: the install dir, with what the config installs.
    assert [p.name for p in (project / "build").iterdir()] == ["x86_64-unknown-linux-gnu"]
    assert [p.name for p in (project / TRIPLE_DIR).iterdir()] == ["install"]
    # A static libpython: the C extension modules load from memory, so there is no lib/.
    assert sorted(p.name for p in install.iterdir()) == ["COPYING.txt", "greet", "sbom.cdx.json"]
    assert not any(p.name.startswith(".") for p in install.rglob("*"))
    # The intermediates persist in the config's work dir, outside build/.
    work = config_work_dir(project / "pyoxidizer.bzl")
    assert f"work dir: {work}" in second.stderr
    exe_work = work / "x86_64-unknown-linux-gnu" / "debug" / "greet"
    assert (exe_work / "project" / "Cargo.toml").is_file()
    assert (exe_work / "artifacts" / "default_python_config.rs").is_file()
    # The resources stage wrote no file into install/ (PyYAML's _yaml loads from memory), so it
    # keeps no list of installed files.
    assert not (work / "x86_64-unknown-linux-gnu" / "debug" / "manifests" / "install.json").exists()


def test_work_dir_flag_places_intermediates_and_cache_clear_removes_them(tmp_path: Path, cargo_target: Path) -> None:
    project = copy_example("hello", tmp_path)
    work_root = tmp_path / "work"
    result = pyoxidizer(
        "build",
        "--system-rust",
        "--path",
        str(project),
        "--python-distribution",
        PY311,
        "--work-dir",
        str(work_root),
        cargo_target=cargo_target,
    )
    assert result.returncode == 0, result.stderr
    (work,) = [p for p in work_root.iterdir() if p.is_dir()]
    assert work.name.startswith("hello-")
    assert (work / "x86_64-unknown-linux-gnu" / "debug" / "hello" / "project" / "Cargo.toml").is_file()
    assert not list((project / "build").rglob("Cargo.toml"))
    cleared = pyoxidizer(
        "cache-clear", "--work-dir", str(work_root), env={"PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache")}
    )
    assert cleared.returncode == 0, cleared.stderr
    assert f"removing {work_root}" in cleared.stdout
    assert not work_root.exists()


def test_uncaught_exception_and_system_exit(tmp_path: Path, cargo_target: Path) -> None:
    project = tmp_path / "boom"
    project.mkdir()
    (project / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    config = dist.make_python_interpreter_config()\n"
        "    config.run_command = 'import sys\\n"
        'if sys.argv[1:] == ["exit"]: raise SystemExit(7)\\nraise ValueError("boom")\'\n'
        "    return dist.to_python_executable(name = 'boom', config = config)\n"
        "register_target('exe', make_exe)\nresolve_targets()\n"
    )
    result = pyoxidizer("build", "--path", str(project), "--python-distribution", PY311, cargo_target=cargo_target)
    assert result.returncode == 0, result.stderr
    exe = project / TRIPLE_DIR / "exe" / "boom"
    failed = run(exe)
    assert failed.returncode == 1
    assert "Traceback (most recent call last)" in failed.stderr and "ValueError: boom" in failed.stderr
    assert run(exe, "exit").returncode == 7


# --- errors a user can cause ------------------------------------------------------------------


def test_error_no_cargo_on_path(tmp_path: Path) -> None:
    project = copy_example("hello", tmp_path)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "cargo").exists())
    line = one_error_line(
        pyoxidizer("build", "--path", str(project), "--python-distribution", PY311, env={"PATH": path, "CARGO": ""})
    )
    assert "cargo" in line and "PATH" in line


def test_error_cargo_compile_failure(tmp_path: Path, cargo_target: Path) -> None:
    project = copy_example("hello", tmp_path)
    result = pyoxidizer(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        PY311,
        env={"RUSTFLAGS": "-C link-arg=-lno_such_library_pyoxidizer_py"},
        cargo_target=cargo_target,
    )
    line = one_error_line(result)
    assert "cargo build" in line
    assert "no_such_library_pyoxidizer_py" in result.stderr


def test_error_pip_package_does_not_exist(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    exe = dist.to_python_executable(name = 'p')\n"
        "    exe.add_python_resources(exe.pip_install(['no-such-package-pyoxidizer-py-test']))\n"
        "    return exe\n"
        "register_target('exe', make_exe)\nresolve_targets()\n"
    )
    line = one_error_line(pyoxidizer("build", "--path", str(project), "--python-distribution", PY311))
    assert "no-such-package-pyoxidizer-py-test" in line
    assert f"{project / 'pyoxidizer.bzl'}:4:" in line


@pytest.mark.parametrize(
    "python", ["/root/.pyenv/versions/3.9.18/bin/python", "/root/.pyenv/versions/2.7.18/bin/python", "/bin/ls"]
)
def test_error_not_cpython_310(tmp_path: Path, python: str) -> None:
    project = copy_example("hello", tmp_path)
    line = one_error_line(pyoxidizer("build", "--path", str(project), "--python-distribution", python))
    assert python in line


def test_error_static_link_without_static_libpython(tmp_path: Path) -> None:
    dist = dataclasses.replace(introspect_installed(PY311), static_library=None)
    with pytest.raises(BuildError, match="static linking of libpython was requested") as info:
        plan_link(dist, "static", artifacts_dir=tmp_path)
    assert info.value.hint and "dynamic" in info.value.hint
