"""Rust projects built with cargo: init-rust-project, run-build-script, the three build modes,
generate-python-embedding-artifacts with a plain PyO3 program (docs/rust-projects.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit

from pyoxidizer_py.artifacts.packed_resources import read_packed_resources
from tests.cli_helpers import one_error_line

PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
PY310 = "/root/.pyenv/versions/3.10.13/bin/python3.10"
HOST = "x86_64-unknown-linux-gnu"
PLAIN_PYO3 = Path(__file__).parent / "data" / "plain_pyo3"


def pyoxidizer_exe() -> str:
    """The installed ``pyoxidizer-py`` console script (build.rs runs it as PYOXIDIZER_EXE)."""
    beside = Path(sys.executable).parent / "pyoxidizer-py"
    found = str(beside) if beside.is_file() else shutil.which("pyoxidizer-py")
    assert found, "pyoxidizer-py is not installed (pip install -e .)"
    return found


def tool_env(distribution: str = PY311, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "PYO3_", "PYOXIDIZER"))}
    env.pop("OUT_DIR", None)
    env.pop("TARGET", None)
    env.pop("PROFILE", None)
    env["PYOXIDIZER_EXE"] = pyoxidizer_exe()
    env["PYOXIDIZER_PY_DISTRIBUTION"] = distribution
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def tool(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([pyoxidizer_exe(), *args], cwd, env, check)


def without_distribution(env: dict[str, str]) -> dict[str, str]:
    """ENV without PYOXIDIZER_PY_DISTRIBUTION: only what a project records for itself chooses the CPython."""
    return {k: v for k, v in env.items() if k != "PYOXIDIZER_PY_DISTRIBUTION"}


def init_project(tmp_path: Path, name: str, code: str, *args: str) -> Path:
    """``init-rust-project NAME --python-code CODE ARGS`` with no distribution in the environment
    (no ARGS: the project gets the placeholder PyO3 config, and tests run run-build-script themselves)."""
    tool("init-rust-project", name, "--python-code", code, *args, cwd=tmp_path, env=without_distribution(tool_env()))
    return tmp_path / name


def cargo_env_table(project: Path) -> dict[str, object]:
    return dict(tomlkit.parse((project / ".cargo" / "config.toml").read_text()).unwrap()["env"])


def set_run_command(project: Path, code: str) -> None:
    bzl = project / "pyoxidizer.bzl"
    lines = bzl.read_text().splitlines()
    out = [
        f"    python_config.run_command = {json.dumps(code)}" if "python_config.run_command =" in ln else ln
        for ln in lines
    ]
    bzl.write_text("\n".join(out) + "\n")


# --- no cargo ------------------------------------------------------------------------------


def test_init_rust_project_writes_a_complete_project(tmp_path: Path) -> None:
    project = init_project(tmp_path, "myapp", "print('hi')")
    for rel in (
        "Cargo.toml",
        "build.rs",
        "src/main.rs",
        ".cargo/config.toml",
        "pyoxidizer.bzl",
        "README.md",
        ".gitignore",
        "pyembed/Cargo.toml",
        "pyembed/src/lib.rs",
    ):
        assert (project / rel).is_file(), rel
    cargo = tomlkit.parse((project / "Cargo.toml").read_text()).unwrap()
    assert cargo["package"]["name"] == "myapp"
    assert cargo["package"]["edition"] == "2021"
    assert cargo["features"]["default"] == ["build-mode-pyoxidizer-exe"]
    assert cargo["dependencies"]["pyembed"]["path"] == "pyembed"
    readme = (project / "README.md").read_text()
    assert "cargo build" in readme and "pyoxidizer-py run-build-script build.rs" in readme
    assert "pyoxidizer-py build" in readme
    env_table = tomlkit.parse((project / ".cargo" / "config.toml").read_text()).unwrap()["env"]
    assert env_table["PYO3_CONFIG_FILE"] == {"value": "artifacts/pyo3-build-config-file.txt", "relative": True}
    assert "run_command = \"print('hi')\"" in (project / "pyoxidizer.bzl").read_text()


def test_init_rust_project_with_a_distribution_writes_artifacts_and_records_it(tmp_path: Path) -> None:
    env = without_distribution(tool_env())
    made = tool("init-rust-project", "ready", "--python-distribution", PY311, cwd=tmp_path, env=env)
    project = tmp_path / "ready"
    assert "  cd ready\n  cargo run\n" in made.stderr and "run-build-script" not in made.stderr
    assert (project / "artifacts" / "default_python_config.rs").is_file()
    assert "version=3.11" in (project / "artifacts" / "pyo3-build-config-file.txt").read_text().splitlines()
    assert cargo_env_table(project)["PYOXIDIZER_PY_DISTRIBUTION"] == PY311

    # Without one, the placeholder; a by-hand run-build-script --python-distribution is recorded the same way.
    later = init_project(tmp_path, "later", "print(1)")
    assert "run-build-script build.rs" in (later / "artifacts" / "pyo3-build-config-file.txt").read_text()
    assert "PYOXIDIZER_PY_DISTRIBUTION" not in cargo_env_table(later)
    prep = tool("run-build-script", "build.rs", "--python-distribution", PY310, cwd=later, env=env)
    assert f"note: PYOXIDIZER_PY_DISTRIBUTION = {PY310!r} recorded in .cargo/config.toml" in prep.stderr
    assert cargo_env_table(later)["PYOXIDIZER_PY_DISTRIBUTION"] == PY310
    assert "version=3.10" in (later / "artifacts" / "pyo3-build-config-file.txt").read_text().splitlines()


def test_init_rust_project_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = tool("init-rust-project", "taken", cwd=tmp_path, env=tool_env(), check=False)
    assert result.returncode == 1
    assert "not an empty directory" in one_error_line(result)
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    keyword = tool("init-rust-project", "fn", cwd=tmp_path, env=without_distribution(tool_env()), check=False)
    assert keyword.returncode == 0, keyword.stderr  # a Rust keyword becomes a usable name, with a note
    assert "note: the program is named fn-app:" in keyword.stderr
    assert 'name = "fn-app"' in (tmp_path / "fn" / "Cargo.toml").read_text()


def test_run_build_script_follows_cargos_environment_contract(tmp_path: Path) -> None:
    project = init_project(tmp_path, "contract", "import app")
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("print('app')\n")
    (project / "app" / "data.txt").write_text("payload\n")
    bzl = project / "pyoxidizer.bzl"
    bzl.write_text(
        bzl.read_text().replace(
            "    return exe\n",
            '    exe.add_python_resources(exe.read_package_root(path = ".", packages = ["app"]))\n    return exe\n',
            1,
        )
    )
    out_dir = tmp_path / "out"
    env = tool_env(CARGO_MANIFEST_DIR=str(project), TARGET=HOST, PROFILE="debug", OUT_DIR=str(out_dir))
    first = tool("run-build-script", "build.rs", cwd=project, env=env)
    lines = first.stdout.splitlines()
    assert lines and all(ln.startswith("cargo:") for ln in lines), first.stdout
    assert "cargo:rerun-if-changed=build.rs" in lines
    assert "cargo:rerun-if-env-changed=PYOXIDIZER_CONFIG" in lines
    assert f"cargo:rerun-if-changed={bzl}" in lines
    assert f"cargo:rerun-if-changed={project / 'app'}" in lines
    assert lines[-1] == f"cargo:rustc-env=DEFAULT_PYTHON_CONFIG_RS={out_dir / 'default_python_config.rs'}"
    for name in (
        "default_python_config.rs",
        "pyo3-build-config-file.txt",
        "libpython3.a",
        "COPYING.txt",
        "extra-files.txt",
    ):
        assert (out_dir / name).is_file(), name
    extra = [ln for ln in (out_dir / "extra-files.txt").read_text().splitlines() if not ln.startswith("#")]
    assert "COPYING.txt" in extra
    assert all((out_dir / rel).is_file() for rel in extra)
    # In-memory resources (the default location) are in packed-resources, embedded by include_bytes!.
    packed = read_packed_resources((out_dir / "packed-resources").read_bytes())
    assert "app" in packed.modules and "data.txt" in packed.package_data["app"]

    # Nothing changed: the evaluation is skipped and the same lines are printed.
    config_rs = out_dir / "default_python_config.rs"
    stamp_before = (out_dir / ".pyoxidizer-py-build-script.json").stat().st_mtime_ns
    again = tool("run-build-script", "build.rs", "-v", cwd=project, env=env)
    assert again.stdout == first.stdout
    assert "up to date" in again.stderr
    assert (out_dir / ".pyoxidizer-py-build-script.json").stat().st_mtime_ns == stamp_before

    # An artifact deleted since: evaluated again.
    (out_dir / "libpython3.a").unlink()
    rewritten = tool("run-build-script", "build.rs", "-v", cwd=project, env=env)
    assert "up to date" not in rewritten.stderr
    assert (out_dir / "libpython3.a").is_file()

    # An input changed: evaluated again, the new file reaches the artifacts directory.
    (project / "app" / "more.py").write_text("X = 1\n")
    third = tool("run-build-script", "build.rs", "-v", cwd=project, env=env)
    assert "up to date" not in third.stderr
    assert "app.more" in read_packed_resources((out_dir / "packed-resources").read_bytes()).modules
    assert config_rs.is_file()

    # PYOXIDIZER_ARTIFACT_DIR wins over OUT_DIR.
    elsewhere = tmp_path / "elsewhere"
    moved = tool("run-build-script", "build.rs", cwd=project, env={**env, "PYOXIDIZER_ARTIFACT_DIR": str(elsewhere)})
    assert moved.stdout.splitlines()[-1].endswith(f"{elsewhere}/default_python_config.rs")


def test_run_build_script_errors(tmp_path: Path) -> None:
    project = init_project(tmp_path, "errs", "pass")
    partial = tool_env(CARGO_MANIFEST_DIR=str(project), PROFILE="debug", OUT_DIR=str(tmp_path / "o"))
    result = tool("run-build-script", "build.rs", cwd=project, env=partial, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert "TARGET not set" in one_error_line(result)
    full = {**partial, "TARGET": HOST}
    wrong = tool("run-build-script", "build.rs", "--target", "nope", cwd=project, env=full, check=False)
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert "target nope does not exist" in one_error_line(wrong)
    install = tool("run-build-script", "build.rs", "--target", "install", cwd=project, env=full, check=False)
    assert install.returncode == 1
    assert "to_embedded_resources" in one_error_line(install)


def test_generate_embedding_artifacts_usage_errors(tmp_path: Path) -> None:
    missing = tool("generate-python-embedding-artifacts", cwd=tmp_path, env=tool_env(), check=False)
    assert missing.returncode == 2
    assert "required" in missing.stderr
    flavor = tool(
        "generate-python-embedding-artifacts", "d", "--flavor", "bogus", cwd=tmp_path, env=tool_env(), check=False
    )
    assert flavor.returncode == 2
    env = tool_env()
    del env["PYOXIDIZER_PY_DISTRIBUTION"]
    version = tool(
        "generate-python-embedding-artifacts", "d", "--python-version", "3.99", cwd=tmp_path, env=env, check=False
    )
    line = one_error_line(version)
    assert "3.99 is not in the python-build-standalone catalog" in line
    assert "pyoxidizer-py-embedding" not in version.stderr  # the internal config is not blamed


# --- cargo ---------------------------------------------------------------------------------


def cargo(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["cargo", *args], project, env)


@pytest.mark.cargo
def test_cargo_build_default_and_pyoxidizer_exe_modes_pick_up_edits(tmp_path: Path) -> None:
    # init with a distribution writes the artifacts and records the choice: a plain cargo build follows,
    # with nothing in the environment naming the CPython.
    project = init_project(tmp_path, "edits", "print('first version')", "--python-distribution", PY311)
    env = without_distribution(tool_env())
    first = cargo(project, "build", env=env)
    assert "changed during this build" not in first.stderr, first.stderr  # init's placeholder is no link change
    exe = project / "target" / "debug" / "edits"
    assert run([str(exe)], tmp_path, env).stdout == "first version\n"
    # Extra files beside the executable (extension modules load from memory, so no lib/).
    assert (project / "target" / "debug" / "COPYING.txt").is_file()
    assert not (project / "target" / "debug" / "lib").exists()
    assert "first version" in cargo(project, "run", env=env).stdout

    # Editing pyoxidizer.bzl: picked up, pyo3 is not rebuilt.
    set_run_command(project, "import app")
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("print('app v1')\n")
    bzl = project / "pyoxidizer.bzl"
    bzl.write_text(
        bzl.read_text().replace(
            "    return exe\n",
            '    exe.add_python_resources(exe.read_package_root(path = ".", packages = ["app"]))\n    return exe\n',
            1,
        )
    )
    rebuilt = cargo(project, "build", env=env)
    assert "Compiling pyo3" not in rebuilt.stderr
    assert run([str(exe)], tmp_path, env).stdout == "app v1\n"

    # Editing the application's Python file: picked up by the next cargo build.
    (project / "app" / "__init__.py").write_text("print('app v2')\n")
    rebuilt = cargo(project, "build", env=env)
    assert "Compiling pyo3" not in rebuilt.stderr
    assert run([str(exe)], tmp_path, env).stdout == "app v2\n"

    # The explicit build-mode-pyoxidizer-exe feature set builds the same program.
    cargo(project, "build", "--no-default-features", "--features", "build-mode-pyoxidizer-exe", env=env)
    assert run([str(exe)], tmp_path, env).stdout == "app v2\n"


@pytest.mark.cargo
def test_two_step_prebuilt_artifacts_flow(tmp_path: Path) -> None:
    project = init_project(tmp_path, "twostep", "import sys; print('two-step', sys.version_info[:2])")
    env = tool_env(PY310)
    out = project / "target" / "out"
    script_env = {**env, "CARGO_MANIFEST_DIR": ".", "TARGET": HOST, "PROFILE": "debug", "OUT_DIR": "target/out"}
    printed = tool("run-build-script", "build.rs", cwd=project, env=script_env)
    assert printed.stdout.splitlines()[-1] == f"cargo:rustc-env=DEFAULT_PYTHON_CONFIG_RS={out}/default_python_config.rs"
    build_env = {
        **env,
        "PYOXIDIZER_ARTIFACT_DIR": str(out),
        "PYO3_CONFIG_FILE": str(out / "pyo3-build-config-file.txt"),
    }
    build_env.pop("PYOXIDIZER_EXE")  # this mode never runs pyoxidizer-py
    cargo(project, "build", "--no-default-features", "--features", "build-mode-prebuilt-artifacts", env=build_env)
    result = run([str(project / "target" / "debug" / "twostep")], tmp_path, env)
    assert result.stdout == "two-step (3, 10)\n"
    # Nothing was generated into the project's artifacts/ (init-rust-project's placeholder PyO3 config aside).
    assert sorted(p.name for p in (project / "artifacts").iterdir()) == ["pyo3-build-config-file.txt"]


@pytest.mark.cargo
@pytest.mark.parametrize("flavor", ["standalone_static", "standalone_dynamic"])
def test_plain_pyo3_program_against_embedding_artifacts(tmp_path: Path, flavor: str) -> None:
    env = tool_env()
    dest = tmp_path / "pyembedded"
    tool("generate-python-embedding-artifacts", str(dest), "--flavor", flavor, cwd=tmp_path, env=env)
    for name in (
        "pyo3-build-config-file.txt",
        "default_python_config.rs",
        "packed-resources",
        "COPYING.txt",
        "extra-files.txt",
        "stdlib",
    ):
        assert (dest / name).exists(), name
    pyo3_config = (dest / "pyo3-build-config-file.txt").read_text()
    if flavor == "standalone_static":
        assert (dest / "libpython3.a").is_file() and "shared=false" in pyo3_config
    else:
        assert list((dest / "lib").glob("libpython3.11.so*")) and "shared=true" in pyo3_config
    program = tmp_path / "plain"
    shutil.copytree(PLAIN_PYO3, program)
    cargo(program, "build", env={**env, "PYO3_CONFIG_FILE": str(dest / "pyo3-build-config-file.txt")})
    stdlib = dest / "stdlib"
    run_env = {**env, "PYTHONPATH": f"{stdlib}:{stdlib / 'lib-dynload'}", "LD_LIBRARY_PATH": str(dest / "lib")}
    result = run([str(program / "target" / "debug" / "plain-pyo3")], tmp_path, run_env)
    assert result.stdout.splitlines() == [
        "json.dumps -> [1, 2, 3]",
        f"json from {stdlib / 'json' / '__init__.py'}",
        "python 3.11",
        "version 3.11.7",
    ]


# --- cross-compilation: foreign distributions are never run ----------------------------------


def test_foreign_triple_pyo3_config_and_bytecode_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from pyoxidizer_py.artifacts.pyo3_config import plan_link, render_pyo3_config
    from pyoxidizer_py.distribution.host_python import bytecode_python
    from pyoxidizer_py.errors import DistributionError
    from tests.fixtures_runtime import pyenv_311

    host = pyenv_311()
    assert bytecode_python(host) == host.python_exe
    # A marker script in place of the foreign interpreter: running it would leave a file behind.
    marker = tmp_path / "ran"
    fake = tmp_path / "python3"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    for triple, width in (("aarch64-unknown-linux-gnu", "64"), ("i686-unknown-linux-gnu", "32")):
        foreign = dataclasses.replace(host, target_triple=triple, python_exe=fake)
        text = render_pyo3_config(foreign, plan_link(foreign, "dynamic", artifacts_dir=tmp_path))
        assert "executable=" not in text
        assert f"pointer_width={width}" in text.splitlines()
    assert not marker.exists()

    # Bytecode for a foreign 3.11 is compiled by a 3.11 of this machine with the same magic number.
    foreign = dataclasses.replace(host, target_triple="aarch64-unknown-linux-gnu", python_exe=None)
    monkeypatch.setenv("PYOXIDIZER_PY_HOST_PYTHON", PY311)
    assert bytecode_python(foreign) == Path(PY311)
    monkeypatch.setenv("PYOXIDIZER_PY_HOST_PYTHON", PY310)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DistributionError, match="cannot run here"):
        bytecode_python(foreign)
