"""The newest CPythons (3.14, 3.15) end to end: build, in-memory imports, multiprocessing, a C-extension
wheel, init-rust-project + cargo, a plain PyO3 program, and the static-libpython check.

The interpreters are found, not hard-coded: ``PYOXIDIZER_PY_TEST_PYTHONS`` (paths separated by
``os.pathsep``) or else ``python3.14`` and ``python3.15`` on PATH. A machine without them skips this
module; CI runs it in a Debian unstable chroot (``.ci/run``), where Debian's ``libpython3.X-pic.a``
cannot be linked statically (its hashlib modules miss the HACL* objects, python/cpython#131298):
``libpython_link_mode = "static"`` must be one ``error:`` line before cargo runs, and ``"default"``
a dynamic build that runs, announced by one ``note:`` line.

Every build of one interpreter shares a cargo target directory, so crates compile once per version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line

TRIPLE = "x86_64-unknown-linux-gnu"
PLAIN_PYO3 = Path(__file__).parent / "data" / "plain_pyo3"
SQUARES = [x * x for x in range(8)]
TIMEOUT = 1800


def _find_pythons() -> dict[str, Path]:
    """``{"3.14.10": path, "3.14.10t": path}``: the version label (``t``: free-threaded) of each interpreter."""
    listed = os.environ.get("PYOXIDIZER_PY_TEST_PYTHONS")
    candidates = listed.split(os.pathsep) if listed else [shutil.which(f"python3.{m}") or "" for m in (14, 15)]
    found: dict[str, Path] = {}
    probe = "import sys; print('%d.%d.%d' % sys.version_info[:3] + sys.abiflags)"
    for candidate in filter(None, candidates):
        proc = subprocess.run([candidate, "-I", "-c", probe], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            found[proc.stdout.strip()] = Path(candidate)
    return found


def _ldversion(version: str) -> str:
    """``3.14.10t`` -> ``3.14t`` (the libpython name part)."""
    return ".".join(version.rstrip("t").split(".")[:2]) + ("t" if version.endswith("t") else "")


def _debian_pic(version: str) -> Path:
    mm = _ldversion(version)
    return Path(f"/usr/lib/python{mm}/config-{mm}-x86_64-linux-gnu/libpython{mm}-pic.a")


PYTHONS = _find_pythons()
pytestmark = [
    pytest.mark.cargo,
    pytest.mark.skipif(not PYTHONS, reason="no CPython 3.14/3.15 here (set PYOXIDIZER_PY_TEST_PYTHONS)"),
]
VERSIONS = sorted(PYTHONS, key=lambda v: (tuple(int(p) for p in v.rstrip("t").split(".")), v.endswith("t")))

APP_MAIN = """\
import json
import sys

GIL_AT_START = getattr(sys, "_is_gil_enabled", lambda: True)()


def square(x):
    return x * x


def main():
    import multiprocessing
    import msgpack

    import newapp

    out = {
        "version": "%d.%d.%d" % sys.version_info[:3] + sys.abiflags,
        "gil_enabled": GIL_AT_START,
        "json_loader": type(sys.modules["json"].__loader__).__name__,
        "app_loader": type(newapp.__loader__).__name__,
        "app_origin": newapp.__spec__.origin,
        "msgpack_impl": msgpack.Packer.__module__,
        "msgpack_roundtrip": msgpack.unpackb(msgpack.packb({"a": [1, 2]})),
    }
    for method in ("spawn", "forkserver", "fork"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            out[method] = pool.map(square, range(8))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
"""

BZL = """\
def make_exe():
    dist = default_python_distribution(python_version = VARS.get("PYTHON_VERSION"))
    config = dist.make_python_interpreter_config()
    config.run_module = "newapp.main"
    exe = dist.to_python_executable(name = "newapp", config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    exe.add_python_resources(exe.pip_install(["msgpack==1.2.4"]))
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["newapp"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


def pyoxidizer_exe() -> str:
    beside = Path(sys.executable).parent / "pyoxidizer-py"
    found = str(beside) if beside.is_file() else shutil.which("pyoxidizer-py")
    assert found, "pyoxidizer-py is not installed (pip install -e .)"
    return found


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "PYO3_", "PYOXIDIZER"))}
    env.update(extra)
    return env


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def tool(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pyoxidizer_py", *args], cwd=cwd, env=env)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.args, result.stdout[-2000:], result.stderr[-6000:])
    return result


def app_project(root: Path) -> Path:
    project = root / "newapp"
    (project / "src" / "newapp").mkdir(parents=True)
    (project / "src" / "newapp" / "__init__.py").write_text("")
    (project / "src" / "newapp" / "main.py").write_text(APP_MAIN)
    (project / "pyoxidizer.bzl").write_text(BZL)
    return project


@pytest.fixture(scope="module", params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory, version: str) -> Path:
    return tmp_path_factory.mktemp(f"cargo-target-{version}")


@pytest.fixture(scope="module")
def default_build(
    tmp_path_factory: pytest.TempPathFactory, version: str, cargo_target: Path
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The app built in the default link mode with this interpreter: (install dir, build result)."""
    project = app_project(tmp_path_factory.mktemp(f"app-{version}"))
    result = ok(
        tool(
            "build",
            "--path",
            str(project),
            "--python-distribution",
            str(PYTHONS[version]),
            cwd=project,
            env=clean_env(CARGO_TARGET_DIR=str(cargo_target)),
        )
    )
    return project / "build" / TRIPLE / "debug" / "exe", result


def test_static_with_debians_libpython_is_one_error_before_cargo(tmp_path: Path, version: str) -> None:
    if not _debian_pic(version).is_file():
        pytest.skip(f"{PYTHONS[version]} is not Debian's CPython (no {_debian_pic(version)})")
    project = app_project(tmp_path)
    result = tool(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        str(PYTHONS[version]),
        "--var",
        "LINK_MODE",
        "static",
        cwd=project,
        env=clean_env(CARGO_TARGET_DIR=str(tmp_path / "t")),
    )
    line = one_error_line(result)
    assert line.startswith(
        f"error: static linking of libpython was requested, but the static libpython {_debian_pic(version)}"
    )
    assert "cannot be linked into an executable: it leaves" in line and "_Py_LibHacl_" in line
    assert "python/cpython#131298" in line
    assert "undefined reference" not in result.stderr  # no linker output
    assert not (tmp_path / "t").exists()  # cargo never ran


def test_default_links_dynamically_with_a_note_and_runs(
    default_build: tuple[Path, subprocess.CompletedProcess[str]], version: str, tmp_path: Path
) -> None:
    install, build = default_build
    notes = [ln for ln in build.stderr.splitlines() if ln.startswith("note:") and "libpython" in ln]
    if _debian_pic(version).is_file():  # Debian's static libpython cannot be linked: dynamic, said once
        assert len(notes) == 1 and notes[0].startswith("note: linking libpython dynamically: the static libpython ")
        assert "_Py_LibHacl_" in notes[0]
        assert (install / "lib" / f"libpython{_ldversion(version)}.so.1.0").is_file()
    # Run a copy from elsewhere: the app, its C extension and libpython travel with it.
    app = tmp_path / "moved"
    shutil.copytree(install, app)
    result = ok(run([str(app / "newapp")], cwd=tmp_path))
    report = json.loads(result.stdout)
    assert report["version"] == version  # printed by the embedded interpreter
    assert report["gil_enabled"] is (not version.endswith("t"))
    assert report["json_loader"] == report["app_loader"] == "OxidizedFinder"  # imported from memory
    assert report["app_origin"] == f"{app}/lib/newapp/__init__.py"
    assert report["msgpack_impl"] == "msgpack._cmsgpack"  # the wheel's C extension, not the fallback
    assert report["msgpack_roundtrip"] == {"a": [1, 2]}
    assert report["spawn"] == report["forkserver"] == report["fork"] == SQUARES


def test_installed_cpython_of_another_version_is_an_error(tmp_path: Path, version: str) -> None:
    project = app_project(tmp_path)
    other = "3.13"
    env = clean_env(PYOXIDIZER_PY_DISTRIBUTION=str(PYTHONS[version]))
    line = one_error_line(tool("build", "--path", str(project), "--var", "PYTHON_VERSION", other, cwd=project, env=env))
    assert (
        f"the Python distribution {PYTHONS[version]} (from PYOXIDIZER_PY_DISTRIBUTION) is CPython {version} "
        f"({TRIPLE}), but Python {other} was requested" in line
    )
    assert not (project / "build").exists() or not any((project / "build").rglob("newapp"))


def test_init_rust_project_builds_with_cargo(tmp_path: Path, version: str, cargo_target: Path) -> None:
    env = clean_env(
        PYOXIDIZER_EXE=pyoxidizer_exe(),
        PYOXIDIZER_PY_DISTRIBUTION=str(PYTHONS[version]),
        CARGO_TARGET_DIR=str(cargo_target),
    )
    ok(
        tool(
            "init-rust-project",
            "rusty",
            "--python-code",
            "import sys, json; print(json.dumps(['rusty', '%d.%d.%d' % sys.version_info[:3] + sys.abiflags]))",
            cwd=tmp_path,
            env=env,
        )
    )
    ok(tool("run-build-script", "build.rs", cwd=tmp_path / "rusty", env=env))  # once: writes artifacts/
    ok(run(["cargo", "build"], cwd=tmp_path / "rusty", env=env))
    result = ok(run([str(cargo_target / "debug" / "rusty")], cwd=tmp_path))
    assert json.loads(result.stdout) == ["rusty", version]


def test_plain_pyo3_program(tmp_path: Path, version: str, cargo_target: Path) -> None:
    env = clean_env()
    dest = tmp_path / "artifacts"
    # An explicit --python-distribution that is not the requested version: one warning, then used as given.
    generated = ok(
        tool(
            "generate-python-embedding-artifacts",
            str(dest),
            "--python-version",
            "3.10",
            "--python-distribution",
            str(PYTHONS[version]),
            cwd=tmp_path,
            env=env,
        )
    )
    warnings = [ln for ln in generated.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and f"is CPython {version} ({TRIPLE}), but Python 3.10 was requested" in warnings[0]
    pyo3_config = (dest / "pyo3-build-config-file.txt").read_text()
    assert f"lib_name=python{_ldversion(version)}\n" in pyo3_config
    assert ("build_flags=Py_GIL_DISABLED\n" in pyo3_config) is version.endswith("t")
    if _debian_pic(version).is_file():
        assert "shared=true" in pyo3_config
    program = tmp_path / "plain"
    shutil.copytree(PLAIN_PYO3, program)
    ok(
        run(
            ["cargo", "build"],
            cwd=program,
            env={
                **env,
                "PYO3_CONFIG_FILE": str(dest / "pyo3-build-config-file.txt"),
                "CARGO_TARGET_DIR": str(cargo_target),
            },
        )
    )
    stdlib = dest / "stdlib"
    run_env = {**env, "PYTHONPATH": f"{stdlib}:{stdlib / 'lib-dynload'}", "LD_LIBRARY_PATH": str(dest / "lib")}
    result = ok(run([str(cargo_target / "debug" / "plain-pyo3")], cwd=tmp_path, env=run_env))
    assert result.stdout.splitlines() == [
        "json.dumps -> [1, 2, 3]",
        f"json from {stdlib / 'json' / '__init__.py'}",
        f"python {_ldversion(version).rstrip('t')}",
        f"version {version.rstrip('t')}",
    ]
