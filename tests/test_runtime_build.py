"""End-to-end tests of the Rust side: real cargo builds of a generated project
against real CPythons (pyenv 3.11 and 3.10 shared libpython: dynamic; Debian's
python3.11 PIC static libpython: static), then running the executables.

The stdlib is not copied yet (another stage does that): the executables point
``module_search_paths`` at the distribution's own stdlib and lib-dynload, plus
``$ORIGIN/app`` holding a tiny application.

To keep CI time low, every build shares one cargo target dir per session and,
per distribution, the three executables (run_command, run_module, REPL) differ
only in ``default_python_config.rs``, so pyo3 is compiled once per distribution.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fixtures_runtime import debian_311_static, pyenv_310, pyenv_311

from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.artifacts.pyo3_config import LinkPlan, install_runtime_files, plan_link, write_link_artifacts
from pyoxidizer_py.artifacts.python_config_rs import write_python_config_rs
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.cargo import CargoBuildOptions, cargo_build
from pyoxidizer_py.rust_project.project import render_project

pytestmark = pytest.mark.cargo

APPMOD = """\
import json, os, sys

def main():
    args = sys.argv[1:]
    cmd = args[0] if args else "info"
    if cmd == "info":
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f.read().splitlines() if "libpython" in ln})
        main_mod = sys.modules["__main__"]
        print(json.dumps({
            "argv": sys.argv,
            "executable": sys.executable,
            "frozen": getattr(sys, "frozen", None),
            "version": "%d.%d.%d" % sys.version_info[:3],
            "path": sys.path,
            "prefix": sys.prefix,
            "isolated": sys.flags.isolated,
            "no_user_site": sys.flags.no_user_site,
            "ignore_environment": sys.flags.ignore_environment,
            "main_file": getattr(main_mod, "__file__", None),
            "main_spec": getattr(getattr(main_mod, "__spec__", None), "name", None),
            "runpy_imported": "runpy" in sys.modules,
            "libpython": libs,
            "json_ext": getattr(__import__("_json"), "__file__", "builtin"),
        }))
    elif cmd == "exit":
        sys.exit(int(args[1]))
    elif cmd == "raise":
        raise ValueError("boom from the app")
    else:
        print("unknown command", cmd, file=sys.stderr)
        sys.exit(2)
"""

APPRUN = 'import appmod\n\nif __name__ == "__main__":\n    appmod.main()\n'

NONSENSE_ENV = {
    "PYTHONHOME": "/nonsense/home",
    "PYTHONPATH": "/nonsense/path:/also/nonsense",
    "PYTHONSTARTUP": "/nonsense/startup.py",
    "PYTHONNOUSERSITE": "",
}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class Built:
    """One distribution's build directory and its three installed executables."""

    dist: Distribution
    plan: LinkPlan
    root: Path
    name: str
    target_dir: Path
    pyo3_config_file: Path
    exes: dict[str, Path] = field(default_factory=dict)  # "command" | "module" | "repl" -> exe
    build_logs: dict[str, list[str]] = field(default_factory=dict)


def _search_paths(dist: Distribution) -> list[str]:
    paths = ["$ORIGIN/app", str(dist.stdlib_dir)]
    if dist.lib_dynload_dir is not None:
        paths.append(str(dist.lib_dynload_dir))
    return paths


def _build_variant(built: Built, variant: str, config: InterpreterConfig, artifacts: Path) -> Path:
    """Write the config, build with cargo, install into ``root/install-<variant>``."""
    write_python_config_rs(artifacts, config, module_search_paths=_search_paths(built.dist))
    project = render_project(built.root / "project", name=built.name)
    collector = _Collect()
    logger = logging.getLogger("pyoxidizer_py.rust_project.cargo")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(collector)
    try:
        exe = cargo_build(
            project.path,
            artifacts_dir=artifacts,
            pyo3_config_file=built.pyo3_config_file,
            target_dir=built.target_dir,
            options=CargoBuildOptions(),
        )
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
    built.build_logs[variant] = collector.lines
    install = built.root / f"install-{variant}"
    install.mkdir(exist_ok=True)
    shutil.copy2(exe, install / built.name)
    install_runtime_files(built.plan, install)
    (install / "app").mkdir(exist_ok=True)
    (install / "app" / "appmod.py").write_text(APPMOD)
    (install / "app" / "apprun.py").write_text(APPRUN)
    return install / built.name


DISTS: dict[str, tuple[Callable[[], Distribution], str]] = {
    "py311-dynamic": (pyenv_311, "dynamic"),
    "py311-static": (debian_311_static, "static"),
    "py310-dynamic": (pyenv_310, "dynamic"),
}


@pytest.fixture(scope="session")
def cargo_target_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir for every build of the session (crates compile once)."""
    return tmp_path_factory.mktemp("cargo-target")


@pytest.fixture(scope="module", params=list(DISTS), ids=list(DISTS))
def built(
    request: pytest.FixtureRequest, cargo_target_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    make_dist, expected_mode = DISTS[request.param]
    dist = make_dist()
    root = tmp_path_factory.mktemp(request.param)
    artifacts = root / "artifacts"
    plan = plan_link(dist, "default", artifacts_dir=artifacts)
    assert plan.mode == expected_mode
    cfgfile = write_link_artifacts(dist, plan, artifacts)
    built = Built(
        dist=dist,
        plan=plan,
        root=root,
        name="app" + request.param.replace("-", "").replace("py", ""),
        target_dir=cargo_target_dir,
        pyo3_config_file=cfgfile,
    )
    command = InterpreterConfig()
    command.run_command = "import appmod; appmod.main()"
    built.exes["command"] = _build_variant(built, "command", command, artifacts)
    module = InterpreterConfig()
    module.run_module = "apprun"
    built.exes["module"] = _build_variant(built, "module", module, artifacts)
    built.exes["repl"] = _build_variant(built, "repl", InterpreterConfig(), artifacts)
    return built


def _run(exe: Path | str, *args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **NONSENSE_ENV}
    return subprocess.run(
        [str(exe), *args],
        check=False,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _info(exe: Path | str, *args: str, cwd: Path) -> dict[str, object]:
    proc = _run(exe, "info", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_run_command_runs_the_app_with_isolated_config(built: Built, tmp_path: Path) -> None:
    exe = built.exes["command"]
    info = _info(exe, cwd=tmp_path)
    assert info["argv"] == [str(exe), "info"]
    assert info["executable"] == str(exe.resolve())
    assert info["frozen"] is True
    assert info["version"] == built.dist.version
    assert info["prefix"] == str(exe.resolve().parent)
    assert info["main_file"] is None  # run_command: __main__ has no file
    assert info["runpy_imported"] is False
    # PYTHONHOME / PYTHONPATH / PYTHONSTARTUP are ignored: isolated profile.
    assert info["isolated"] == 1
    assert info["no_user_site"] == 1
    assert info["ignore_environment"] == 1
    paths = [str(p) for p in info["path"]]  # type: ignore[attr-defined]
    assert not any("nonsense" in p for p in paths)
    assert paths[:3] == [str(exe.resolve().parent / "app"), *_search_paths(built.dist)[1:]]
    # lib-dynload extension modules load (their Py* symbols resolve from the executable).
    assert str(info["json_ext"]).endswith(".so")


def test_libpython_is_the_planned_one(built: Built, tmp_path: Path) -> None:
    exe = built.exes["command"]
    libs = _info(exe, cwd=tmp_path)["libpython"]
    if built.plan.mode == "static":
        assert libs == []
        assert built.plan.runtime_files == ()
    else:
        # The shared libpython installed beside the executable, found through $ORIGIN/lib,
        # not another copy with the same SONAME elsewhere on the system.
        (rf,) = built.plan.runtime_files
        installed = exe.parent / rf.dest
        assert installed.is_file()
        assert libs == [str(installed.resolve())]


def test_argv_is_passed_through(built: Built, tmp_path: Path) -> None:
    exe = built.exes["command"]
    args = ["-c", "print(1)", "--", "two words", "ünïcode", "-m", "x"]
    assert _info(exe, *args, cwd=tmp_path)["argv"] == [str(exe), "info", *args]
    # argv[0] is the program as invoked; sys.executable is still the absolute path.
    info = _info(f"./{exe.name}", cwd=exe.parent)
    assert info["argv"] == [f"./{exe.name}", "info"]
    assert info["executable"] == str(exe.resolve())


def test_system_exit_status_is_returned(built: Built, tmp_path: Path) -> None:
    for variant in ("command", "module"):
        proc = _run(built.exes[variant], "exit", "3", cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr == ""
        assert _run(built.exes[variant], "exit", "0", cwd=tmp_path).returncode == 0


def test_uncaught_exception_prints_traceback_and_exits_1(built: Built, tmp_path: Path) -> None:
    proc = _run(built.exes["command"], "raise", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback (most recent call last):" in proc.stderr
    assert proc.stderr.rstrip().endswith("ValueError: boom from the app")
    assert proc.stdout == ""


def test_run_module_runs_module_as_main(built: Built, tmp_path: Path) -> None:
    exe = built.exes["module"]
    info = _info(exe, "x", cwd=tmp_path)
    assert str(info["main_file"]).endswith("apprun.py")
    assert info["main_spec"] == "apprun"
    assert info["runpy_imported"] is False  # run like `python -m`, without runpy's import cost
    assert info["argv"][0] == str(exe.resolve().parent / "app" / "apprun.py")  # type: ignore[index]
    assert info["argv"][1:] == ["info", "x"]  # type: ignore[index]
    assert info["frozen"] is True
    proc = _run(exe, "raise", cwd=tmp_path)
    assert proc.returncode == 1
    assert "ValueError: boom from the app" in proc.stderr


def test_repl_when_nothing_to_run(built: Built, tmp_path: Path) -> None:
    exe = built.exes["repl"]
    proc = _run(exe, "a1", cwd=tmp_path, stdin="import sys\nprint('repl says', sys.argv[1:])\nraise SystemExit(4)\n")
    assert proc.returncode == 4, proc.stderr
    assert "repl says ['a1']" in proc.stdout


def test_rebuild_after_config_change_does_not_recompile_pyo3(built: Built) -> None:
    first = "\n".join(built.build_logs["command"])
    second = "\n".join(built.build_logs["module"])
    assert f"Compiling {built.name} " in second
    assert "Compiling pyo3" not in second
    assert "Compiling pyembed" not in second
    # The first build of this distribution did compile pyo3 against its libpython.
    assert "Compiling pyo3-ffi" in first


def test_installed_directory_still_runs_after_moving(built: Built, tmp_path: Path) -> None:
    moved = tmp_path / "moved elsewhere"
    shutil.copytree(built.exes["command"].parent, moved, symlinks=True)
    exe = moved / built.name
    info = _info(exe, cwd=tmp_path)
    assert info["executable"] == str(exe.resolve())
    assert str(exe.resolve().parent / "app") in info["path"]  # type: ignore[operator]


def test_compile_error_is_a_build_error_naming_the_project(built: Built) -> None:
    broken = built.root / "broken-artifacts"
    broken.mkdir(exist_ok=True)
    (broken / "default_python_config.rs").write_text(
        "pub fn default_python_config<'a>() -> pyembed::OxidizedPythonInterpreterConfig<'a> {\n"
        '    compile_error!("broken on purpose")\n'
        "}\n"
    )
    project = built.root / "project"
    with pytest.raises(BuildError) as info:
        cargo_build(
            project,
            artifacts_dir=broken,
            pyo3_config_file=built.pyo3_config_file,
            target_dir=built.target_dir,
        )
    text = str(info.value)
    assert str(project) in text
    assert "broken on purpose" in text
    assert "error" in text
    assert info.value.hint
