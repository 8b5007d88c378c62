"""Link plans, ``pyo3-build-config-file.txt``, ``default_python_config.rs`` and project
rendering, checked against real CPython installs on this machine (no cargo)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import tomlkit
from fixtures_runtime import DEBIAN_311_PIC, PYENV_311, debian_311_static, pyenv_310, pyenv_311

from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.artifacts.pyo3_config import (
    PYO3_CONFIG_FILENAME,
    STATIC_LIBRARY_FILENAME,
    install_runtime_files,
    plan_link,
    render_pyo3_config,
    shared_library_soname,
    write_link_artifacts,
)
from pyoxidizer_py.artifacts.python_config_rs import (
    RENDERED_ATTRIBUTES,
    render_python_config_rs,
    rust_string_literal,
    write_python_config_rs,
)
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.cargo import CargoBuildOptions, build_environment, cargo_build, cargo_features
from pyoxidizer_py.rust_project.project import render_cargo_toml, render_project, templates_dir

# --- link plans and the PyO3 config file ------------------------------------------------


def test_default_link_is_static_when_a_static_library_exists(tmp_path: Path) -> None:
    plan = plan_link(debian_311_static(), "default", artifacts_dir=tmp_path)
    assert plan.mode == "static"
    assert plan.library == DEBIAN_311_PIC
    assert plan.rpath is None
    assert plan.runtime_files == ()
    assert plan.link_lines == (
        f"cargo:rustc-link-search=native={tmp_path}",
        "cargo:rustc-link-lib=static:+whole-archive,-bundle=python3",
        "cargo:rustc-link-lib=m",
        "cargo:rustc-link-lib=dl",
        "cargo:rustc-link-lib=pthread",
        "cargo:rustc-link-lib=util",
        "cargo:rustc-link-lib=expat",
        "cargo:rustc-link-lib=z",
        "cargo:rustc-link-arg=-Wl,--export-dynamic",
    )


def test_default_link_is_dynamic_without_a_static_library(tmp_path: Path) -> None:
    dist = pyenv_311()
    plan = plan_link(dist, "default", artifacts_dir=tmp_path)
    assert plan.mode == "dynamic"
    lib_dir = PYENV_311.parent.parent / "lib"
    assert plan.lib_dir == lib_dir
    assert plan.link_lines == (
        f"cargo:rustc-link-search=native={lib_dir}",
        "cargo:rustc-link-lib=dylib=python3.11",
        "cargo:rustc-link-arg=-Wl,--export-dynamic",
    )
    assert plan.rpath == "$ORIGIN/lib"
    (rf,) = plan.runtime_files
    assert rf.dest == PurePosixPath("lib/libpython3.11.so.1.0")
    assert rf.source == lib_dir / "libpython3.11.so.1.0"


def test_static_requested_without_static_library_says_why_and_suggests_dynamic(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        plan_link(pyenv_310(), "static", artifacts_dir=tmp_path)
    assert "static" in info.value.message
    assert str(PYENV_311.parent.parent.parent / "3.10.13") in info.value.message
    assert "no static libpython" in info.value.message
    assert info.value.hint is not None
    assert "dynamic" in info.value.hint


def test_dynamic_requested_without_shared_library_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no shared libpython") as info:
        plan_link(debian_311_static(), "dynamic", artifacts_dir=tmp_path)
    assert info.value.hint is not None
    assert "static" in info.value.hint


def test_unknown_link_mode_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown libpython link mode 'shared'"):
        plan_link(pyenv_311(), "shared", artifacts_dir=tmp_path)


def test_verbatim_link_when_only_the_versioned_shared_library_exists(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy2(PYENV_311.parent.parent / "lib" / "libpython3.11.so.1.0", lib / "libpython3.11.so.1.0")
    dist = dataclasses.replace(pyenv_311(), shared_library=lib / "libpython3.11.so.1.0")
    plan = plan_link(dist, "dynamic", artifacts_dir=tmp_path / "art")
    assert "cargo:rustc-link-lib=dylib:+verbatim=libpython3.11.so.1.0" in plan.link_lines


def test_pyo3_config_file_static_golden(tmp_path: Path) -> None:
    dist = debian_311_static()
    plan = plan_link(dist, "static", artifacts_dir=tmp_path)
    assert render_pyo3_config(dist, plan) == (
        "implementation=CPython\n"
        "version=3.11\n"
        "shared=false\n"
        "abi3=false\n"
        "lib_name=python3.11\n"
        f"lib_dir={tmp_path}\n"
        "executable=/usr/bin/python3.11\n"
        "pointer_width=64\n"
        "build_flags=\n"
        "suppress_build_script_link_lines=true\n"
        f"extra_build_script_line=cargo:rustc-link-search=native={tmp_path}\n"
        "extra_build_script_line=cargo:rustc-link-lib=static:+whole-archive,-bundle=python3\n"
        "extra_build_script_line=cargo:rustc-link-lib=m\n"
        "extra_build_script_line=cargo:rustc-link-lib=dl\n"
        "extra_build_script_line=cargo:rustc-link-lib=pthread\n"
        "extra_build_script_line=cargo:rustc-link-lib=util\n"
        "extra_build_script_line=cargo:rustc-link-lib=expat\n"
        "extra_build_script_line=cargo:rustc-link-lib=z\n"
        "extra_build_script_line=cargo:rustc-link-arg=-Wl,--export-dynamic\n"
    )


def test_pyo3_config_file_dynamic_golden(tmp_path: Path) -> None:
    dist = pyenv_310()
    plan = plan_link(dist, "default", artifacts_dir=tmp_path)
    lib_dir = "/root/.pyenv/versions/3.10.13/lib"
    assert render_pyo3_config(dist, plan) == (
        "implementation=CPython\n"
        "version=3.10\n"
        "shared=true\n"
        "abi3=false\n"
        "lib_name=python3.10\n"
        f"lib_dir={lib_dir}\n"
        "executable=/root/.pyenv/versions/3.10.13/bin/python3.10\n"
        "pointer_width=64\n"
        "build_flags=\n"
        "suppress_build_script_link_lines=true\n"
        f"extra_build_script_line=cargo:rustc-link-search=native={lib_dir}\n"
        "extra_build_script_line=cargo:rustc-link-lib=dylib=python3.10\n"
        "extra_build_script_line=cargo:rustc-link-arg=-Wl,--export-dynamic\n"
    )


def test_pyo3_config_omits_executable_that_cannot_run_and_flags_abi(tmp_path: Path) -> None:
    dist = dataclasses.replace(pyenv_311(), python_exe=None, abiflags="d", target_triple="i686-unknown-linux-gnu")
    text = render_pyo3_config(dist, plan_link(dist, "dynamic", artifacts_dir=tmp_path))
    assert "executable=" not in text
    assert "lib_name=python3.11d\n" in text
    assert "build_flags=Py_DEBUG,Py_REF_DEBUG\n" in text
    assert "pointer_width=32\n" in text
    # PyO3's reader: every line is key=value, keys untrimmed, no blank lines.
    for line in text.splitlines():
        key, sep, _ = line.partition("=")
        assert sep == "="
        assert key == key.strip()
        assert key


def test_write_link_artifacts_copies_static_lib_and_is_idempotent(tmp_path: Path) -> None:
    dist = debian_311_static()
    art = tmp_path / "artifacts"
    plan = plan_link(dist, "default", artifacts_dir=art)
    cfg = write_link_artifacts(dist, plan, art)
    assert cfg == art / PYO3_CONFIG_FILENAME
    assert cfg.is_absolute()
    lib = art / STATIC_LIBRARY_FILENAME
    assert lib.read_bytes()[:8] == b"!<arch>\n"
    assert lib.stat().st_size == DEBIAN_311_PIC.stat().st_size
    before = (cfg.stat().st_mtime_ns, lib.stat().st_mtime_ns, lib.stat().st_ino, cfg.stat().st_ino)
    write_link_artifacts(dist, plan, art)
    after = (cfg.stat().st_mtime_ns, lib.stat().st_mtime_ns, lib.stat().st_ino, cfg.stat().st_ino)
    assert before == after


def test_install_runtime_files_puts_the_soname_file_in_lib(tmp_path: Path) -> None:
    plan = plan_link(pyenv_311(), "default", artifacts_dir=tmp_path / "art")
    (installed,) = install_runtime_files(plan, tmp_path / "install")
    assert installed == tmp_path / "install" / "lib" / "libpython3.11.so.1.0"
    assert installed.stat().st_size == (PYENV_311.parent.parent / "lib" / "libpython3.11.so.1.0").stat().st_size


def test_shared_library_soname_reads_elf() -> None:
    assert shared_library_soname(PYENV_311.parent.parent / "lib" / "libpython3.11.so") == "libpython3.11.so.1.0"
    assert shared_library_soname(Path("/usr/bin/python3.11")) is None
    assert shared_library_soname(DEBIAN_311_PIC) is None  # an ar archive, not ELF


# --- default_python_config.rs -----------------------------------------------------------


def test_every_interpreter_config_field_is_rendered() -> None:
    names = {f.name for f in dataclasses.fields(InterpreterConfig)}
    assert names == RENDERED_ATTRIBUTES
    text = render_python_config_rs(InterpreterConfig())
    for name in names - {"config_profile"}:
        assert f" {name}: " in text, name
    assert "profile: pyembed::PythonInterpreterProfile::Isolated," in text


def test_python_config_rs_header_and_values() -> None:
    config = InterpreterConfig()
    config.run_module = "app.main"
    config.optimization_level = 2
    config.hash_seed = 42
    config.allocator = "malloc-debug"
    config.coerce_c_locale = "LC_CTYPE"
    config.bytes_warning = "raise"
    config.x_options = ["dev", "utf8"]
    config.home = "$ORIGIN/py"
    config.terminfo_resolution = "static:/usr/share/terminfo"
    config.multiprocessing_start_method = "forkserver"
    config.allocator_backend = "mimalloc"
    text = render_python_config_rs(config, module_search_paths=["$ORIGIN/lib"])
    assert text.startswith("// Generated by pyoxidizer-py")
    assert "Do not edit" in text.splitlines()[1]
    assert "pub fn default_python_config<'a>() -> pyembed::OxidizedPythonInterpreterConfig<'a> {" in text
    for expected in (
        'run_module: Some("app.main".to_string()),',
        "optimization_level: Some(pyembed::BytecodeOptimizationLevel::Two),",
        "hash_seed: Some(42),",
        "allocator: Some(pyembed::Allocator::MallocDebug),",
        "coerce_c_locale: Some(pyembed::CoerceCLocale::LCCType),",
        "bytes_warning: Some(pyembed::BytesWarning::Raise),",
        'x_options: Some(vec!["dev".to_string(), "utf8".to_string()]),',
        'home: Some(std::path::PathBuf::from("$ORIGIN/py")),',
        'module_search_paths: Some(vec![std::path::PathBuf::from("$ORIGIN/lib")]),',
        'terminfo_resolution: pyembed::TerminfoResolution::Static("/usr/share/terminfo".to_string()),',
        "multiprocessing_start_method: pyembed::MultiprocessingStartMethod::ForkServer,",
        "allocator_backend: pyembed::MemoryAllocatorBackend::Mimalloc,",
        "set_missing_path_configuration: true,",
        "sys_frozen: true,",
        "configure_locale: Some(true),",
        "run_command: None,",
    ):
        assert expected in text, expected


def test_explicit_module_search_paths_win_over_computed() -> None:
    config = InterpreterConfig()
    config.module_search_paths = ["/explicit"]
    text = render_python_config_rs(config, module_search_paths=["$ORIGIN/lib"])
    assert 'module_search_paths: Some(vec![std::path::PathBuf::from("/explicit")]),' in text
    assert "$ORIGIN/lib" not in text


def test_rust_string_escaping() -> None:
    assert rust_string_literal('a"b\\c\n\t\r\0') == '"a\\"b\\\\c\\n\\t\\r\\0"'
    assert rust_string_literal("ünï €") == '"ünï €"'
    assert rust_string_literal("\x1b[0m\u2028") == '"\\u{1b}[0m\\u{2028}"'
    with pytest.raises(BuildError, match="surrogate"):
        rust_string_literal("bad\udcff")


def test_invalid_value_is_a_build_error() -> None:
    config = InterpreterConfig()
    config.bytes_warning = "loud"
    with pytest.raises(BuildError, match=r"PythonInterpreterConfig\.bytes_warning"):
        render_python_config_rs(config)


def test_write_python_config_rs_only_when_changed(tmp_path: Path) -> None:
    config = InterpreterConfig()
    path = write_python_config_rs(tmp_path, config)
    assert path == tmp_path / "default_python_config.rs"
    stamp = (path.stat().st_mtime_ns, path.stat().st_ino)
    write_python_config_rs(tmp_path, config)
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp
    config.run_command = "print(1)"
    write_python_config_rs(tmp_path, config)
    assert 'run_command: Some("print(1)".to_string()),' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["default_python_config.rs"]  # no temp files left


# --- the Rust project ---------------------------------------------------------------------


def test_cargo_toml_features_and_edition() -> None:
    doc = tomlkit.parse(render_cargo_toml("myapp")).unwrap()
    assert doc["package"]["name"] == "myapp"
    assert doc["package"]["edition"] == "2021"
    assert doc["bin"] == [{"name": "myapp", "path": "src/main.rs"}]
    assert doc["dependencies"]["pyembed"] == {"path": "pyembed", "default-features": False}
    assert doc["workspace"] == {}
    # Release executables are stripped (symbols and debug info); debug builds keep both.
    assert doc["profile"] == {"release": {"strip": "symbols"}}
    features = doc["features"]
    assert features["default"] == ["build-mode-pyoxidizer-exe"]
    assert set(features) == {
        "default",
        "build-mode-standalone",
        "build-mode-pyoxidizer-exe",
        "build-mode-prebuilt-artifacts",
        "global-allocator-jemalloc",
        "global-allocator-mimalloc",
        "global-allocator-snmalloc",
        "allocator-jemalloc",
        "allocator-mimalloc",
        "allocator-snmalloc",
    }
    for name in ("jemalloc", "mimalloc", "snmalloc"):
        assert features[f"allocator-{name}"] == [f"pyembed/allocator-{name}"]
    runtime = tomlkit.parse((templates_dir() / "pyembed" / "Cargo.toml").read_text()).unwrap()
    assert runtime["dependencies"]["pyo3"] == {"version": "0.30.1", "default-features": False}
    assert {"allocator-jemalloc", "allocator-mimalloc", "allocator-snmalloc"} <= set(runtime["features"])


@pytest.mark.parametrize("name", ["1app", "my app", "std", "test", "fn", "pyembed", ""])
def test_bad_executable_names_are_rejected(name: str) -> None:
    with pytest.raises(BuildError, match="cannot be used as the executable's name"):
        render_cargo_toml(name)


def test_render_project_layout_and_idempotence(tmp_path: Path) -> None:
    project = render_project(tmp_path / "proj", name="hello")
    files = sorted(p.relative_to(project.path).as_posix() for p in project.path.rglob("*") if p.is_file())
    runtime_crate = templates_dir() / "pyembed"
    runtime_files = [
        "pyembed/" + p.relative_to(runtime_crate).as_posix()
        for p in runtime_crate.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "Cargo.lock"
    ]
    expected = [".cargo/config.toml", "Cargo.lock", "Cargo.toml", "build.rs", "src/main.rs", *runtime_files]
    assert files == sorted(expected)
    assert {"pyembed/Cargo.toml", "pyembed/build.rs", "pyembed/src/lib.rs", "pyembed/src/interpreter.rs"} <= set(files)
    assert set(project.changed) == set(files)
    stamps = {f: (project.path / f).stat().st_mtime_ns for f in files}
    stale = project.path / "pyembed" / "src" / "old.rs"
    stale.write_text("// left over\n")
    again = render_project(tmp_path / "proj", name="hello")
    assert again.changed == ()
    assert again.removed == ("pyembed/src/old.rs",)
    assert {f: (project.path / f).stat().st_mtime_ns for f in files} == stamps
    renamed = render_project(tmp_path / "proj", name="other", pyoxidizer_bzl="# config\n")
    assert set(renamed.changed) == {"Cargo.lock", "Cargo.toml", "pyoxidizer.bzl"}  # the lock names the package


def test_cargo_environment_and_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYO3_BUILD_EXTENSION_MODULE", "1")
    env = build_environment(artifacts_dir=Path("art"), pyo3_config_file=Path("art/pyo3-build-config-file.txt"))
    assert "PYO3_BUILD_EXTENSION_MODULE" not in env
    assert env["PYO3_CONFIG_FILE"] == os.path.abspath("art/pyo3-build-config-file.txt")
    assert env["PYOXIDIZER_ARTIFACT_DIR"] == os.path.abspath("art")
    options = CargoBuildOptions(features=("allocator-mimalloc", "build-mode-prebuilt-artifacts"))
    assert cargo_features(options) == ["build-mode-prebuilt-artifacts", "allocator-mimalloc"]


def test_no_cargo_on_path_is_a_build_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CARGO", raising=False)
    with pytest.raises(BuildError, match=r"^cargo not found on PATH$") as info:
        cargo_build(tmp_path, artifacts_dir=tmp_path, pyo3_config_file=tmp_path / "x", target_dir=tmp_path)
    assert info.value.hint is not None
    assert "rustup" in info.value.hint


def test_rust_templates_parse_and_are_rustfmt_clean() -> None:
    rustfmt = shutil.which("rustfmt")
    assert rustfmt is not None, "rustfmt is installed with the Rust toolchain"
    root = templates_dir()
    sources = [*root.glob("project/**/*.rs"), *root.glob("pyembed/**/*.rs")]
    assert sources
    proc = subprocess.run(
        [rustfmt, "--check", "--edition", "2021", *map(str, sources)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
