"""Behaving like ``python`` for re-exec (issue 6, item 5): ``sys.executable`` is the executable,
``multiprocessing`` works under every start method, and the ``python`` profile parses ``-c``, ``-m``,
``-I``, ``-S`` and script paths like the ``python`` command.

Three executables, built with real cargo against real CPythons and the config's default resources
location, share one cargo target dir (shared by pytest-xdist workers too; cargo locks it):

* ``isolated``: the default profile, ``run_module`` = the app, ``multiprocessing_start_method = "spawn"``;
* ``python``: the ``python`` profile and no program of its own (a ``python`` command with the app inside);
* ``python313``: CPython 3.13, the ``python`` profile *and* ``run_module``, ``forkserver`` start method.

The app's worker function lives in the module run as ``__main__`` (installed with
``read_package_root``), so spawn and forkserver children must re-import it by name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cargo

PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
PY313 = "/root/.pyenv/versions/3.13.0/bin/python3.13"
INSTALL = Path("build") / "x86_64-unknown-linux-gnu" / "debug" / "install"
SQUARES = [x * x for x in range(10)]
# A safety net so a broken dispatch (children re-running the app) fails instead of hanging.
TIMEOUT = 300

APP_MAIN = '''\
"""The test application: multiprocessing under every start method, and what the process sees."""

import json
import sys

MP_AT_START = "multiprocessing" in sys.modules


def square(x):
    return x * x


def pools():
    import multiprocessing

    out = {"fixed_at_import": multiprocessing.get_start_method(allow_none=True)}
    out["default_method"] = multiprocessing.get_start_method()
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            out[method] = pool.map(square, range(10))
    # Without sys.frozen, spawn starts children with `-c ... --multiprocessing-fork`.
    frozen = sys.__dict__.pop("frozen", None)
    try:
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            out["spawn_unfrozen"] = pool.map(square, range(10))
    finally:
        if frozen is not None:
            sys.frozen = frozen
    with multiprocessing.Pool(2) as pool:
        out["default"] = pool.map(square, range(10))
    return out


def main():
    args = sys.argv[1:]
    if args == ["pools"]:
        out = pools()
    elif args[:1] == ["set-method"]:
        import multiprocessing

        multiprocessing.set_start_method(args[1])
        out = {"method": multiprocessing.get_start_method()}
    else:
        out = {"argv": args}
    out.update(executable=sys.executable, frozen=getattr(sys, "frozen", None), mp_at_start=MP_AT_START)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
'''

BZL = """\
def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
{settings}
    exe = dist.to_python_executable(name = "mpapp", config = config)
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["mpapp"]))
    return exe

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

register_target("exe", make_exe)
register_target("install", make_install, depends = ["exe"], default = True)
resolve_targets()
"""


@pytest.fixture(scope="session")
def mp_cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir for every build here, shared by pytest-xdist workers (cargo locks it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "multiprocessing-cargo-target"
    path.mkdir(exist_ok=True)
    return path


def build(tmp_path: Path, cargo_target: Path, python: str, settings: dict[str, str]) -> Path:
    """Build the test app with ``config.KEY = VALUE`` lines; return the executable."""
    project = tmp_path / "project"
    (project / "src" / "mpapp").mkdir(parents=True)
    (project / "src" / "mpapp" / "__init__.py").write_text("")
    (project / "src" / "mpapp" / "main.py").write_text(APP_MAIN)
    lines = "\n".join(f"    config.{key} = {json.dumps(value)}" for key, value in settings.items())
    (project / "pyoxidizer.bzl").write_text(BZL.format(settings=lines))
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(project), "--python-distribution", python],
        env={**os.environ, "CARGO_TARGET_DIR": str(cargo_target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return project / INSTALL / "mpapp"


def run(exe: Path | str, *args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    """Run the executable; assert it succeeded; return its stdout."""
    result = subprocess.run([str(exe), *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def run_json(exe: Path | str, *args: str, cwd: Path | None = None) -> dict[str, object]:
    return json.loads(run(exe, *args, cwd=cwd))  # type: ignore[no-any-return]


def assert_pools(out: dict[str, object], default_method: str) -> None:
    """Every start method computed the squares, and the default start method was not fixed early."""
    for key in ("fork", "spawn", "forkserver", "spawn_unfrozen", "default"):
        assert out[key] == SQUARES, key
    assert out["fixed_at_import"] is None
    assert out["default_method"] == default_method
    assert out["mp_at_start"] is False


def test_isolated_profile_multiprocessing_and_sys_executable(tmp_path: Path, mp_cargo_target: Path) -> None:
    exe = build(tmp_path, mp_cargo_target, PY311, {"run_module": "mpapp.main", "multiprocessing_start_method": "spawn"})

    out = run_json(exe, "pools")
    assert_pools(out, default_method="spawn")
    assert out["executable"] == os.path.realpath(exe) and out["frozen"] is True

    # The app's own -c arguments reach the app: only multiprocessing's exact commands are dispatched.
    assert run_json(exe, "-c", "hello")["argv"] == ["-c", "hello"]
    assert run_json(exe, "-I", "-c", "print(1)")["argv"] == ["-I", "-c", "print(1)"]
    assert run_json(exe, "-c", "from multiprocessing.forkserver import main")["argv"] == [
        "-c",
        "from multiprocessing.forkserver import main",
    ]
    # The configured start method is a default, not fixed: the app may still choose.
    assert run_json(exe, "set-method", "fork")["method"] == "fork"

    # Moved, then run through a symlink and through a relative path from elsewhere:
    # sys.executable is the real executable, and multiprocessing children find it.
    moved = tmp_path / "moved" / "app"
    shutil.move(str(exe.parent), moved)
    real = moved / "mpapp"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mpapp-link").symlink_to(real)
    out = run_json(bin_dir / "mpapp-link", "pools", cwd=tmp_path)
    assert_pools(out, default_method="spawn")
    assert out["executable"] == os.path.realpath(real)
    assert run_json("./app/mpapp", "info", cwd=moved.parent)["executable"] == os.path.realpath(real)


def test_python_profile_is_a_python_command(tmp_path: Path, mp_cargo_target: Path) -> None:
    exe = build(tmp_path, mp_cargo_target, PY311, {"config_profile": "python"})

    code = (
        "import json, subprocess, sys\n"
        "child = subprocess.run([sys.executable, '-c', 'import sys; print(sys.argv)', 'x'],"
        " capture_output=True, text=True, check=True).stdout\n"
        "print(json.dumps({'executable': sys.executable, 'argv': sys.argv, 'child': child,"
        " 'isolated': sys.flags.isolated, 'site': 'site' in sys.modules}))\n"
    )
    out = run_json(exe, "-c", code, "a", "b")
    assert out == {
        "executable": os.path.realpath(exe),
        "argv": ["-c", "a", "b"],
        "child": "['-c', 'x']\n",
        "isolated": 0,
        "site": True,
    }
    out = run_json(exe, "-I", "-S", "-c", code)
    assert (out["isolated"], out["site"], out["child"]) == (1, False, "['-c', 'x']\n")

    assert_pools(run_json(exe, "-m", "mpapp.main", "pools"), default_method="fork")
    assert run_json(exe, "-m", "mpapp.main", "a", "-c")["argv"] == ["a", "-c"]

    script = tmp_path / "script.py"
    script.write_text("import sys\nprint(sys.argv)\n")
    assert run(exe, str(script), "q", "-r") == f"{[str(script), 'q', '-r']}\n"
    assert run(exe, stdin="print(6 * 7)\n") == "42\n"


def test_python_profile_with_run_module_on_313(tmp_path: Path, mp_cargo_target: Path) -> None:
    exe = build(
        tmp_path,
        mp_cargo_target,
        PY313,
        {"config_profile": "python", "run_module": "mpapp.main", "multiprocessing_start_method": "forkserver"},
    )

    assert_pools(run_json(exe, "pools"), default_method="forkserver")
    # Positional arguments belong to the app, `--` passes options to it.
    assert run_json(exe, "info", "a.py", "b")["argv"] == ["info", "a.py", "b"]
    assert run_json(exe, "--", "-x", "--verbose")["argv"] == ["-x", "--verbose"]
    # -c and -m on the command line win over the configured module, like python.
    assert run(exe, "-c", "import sys; print(sys.argv)", "p") == "['-c', 'p']\n"
    assert "January 2024" in run(exe, "-m", "calendar", "2024", "1")
    assert run(exe, "-I", "-S", "-c", "import sys; print(sys.flags.isolated, 'site' in sys.modules)") == "1 False\n"
    # Interpreter options before the app's arguments are Python's, like python.
    assert run_json(exe, "-O", "info")["argv"] == ["info"]
    unknown = subprocess.run([str(exe), "--verbose"], capture_output=True, text=True, timeout=TIMEOUT)
    assert unknown.returncode == 2 and "unknown option --verbose" in unknown.stderr
