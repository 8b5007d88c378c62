"""Building executables with python-build-standalone distributions (issue 4, item 6).

Real cargo builds from the PBS-format archives ``fixtures_pbs`` makes on this machine: the full
archive linked statically (``libpython3.a`` assembled from its objects with a regenerated
``config.c``) and dynamically (through ``PythonDistribution(sha256, local_path=...)``), the
install_only archive dynamically; and the refusals that need no cargo (LLVM-bitcode objects).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import one_error_line
from fixtures_pbs import BuiltArchive, PbsArchives, build_full_archive, pbs_archives  # noqa: F401 - fixture

from pyoxidizer_py.artifacts.libpython import plan_static_libpython, render_config_c
from pyoxidizer_py.artifacts.pyo3_config import plan_link
from pyoxidizer_py.distribution.pbs import load_archive
from pyoxidizer_py.environment import config_work_dir
from pyoxidizer_py.errors import BuildError

OUT = Path("build") / "x86_64-unknown-linux-gnu" / "debug" / "exe"

# Prints what the embedded interpreter sees; lib-dynload modules are imported by name.
PROGRAM = (
    "import sys, json, binascii\\n"
    "import _json\\n"
    "mods = {}\\n"
    "for name in sys.argv[1:]:\\n"
    "    m = __import__(name)\\n"
    "    mods[name] = getattr(m, '__file__', None)\\n"
    "print(json.dumps({'version': sys.version.split()[0], 'builtin': sorted(sys.builtin_module_names), "
    "'_json': getattr(_json, '__file__', None), 'mods': mods, "
    "'crc': binascii.crc32(b'pbs'), 'stdlib': json.__file__}))\\n"
)


def config_text(distribution: str) -> str:
    return (
        "def make_exe():\n"
        f"    dist = {distribution}\n"
        "    config = dist.make_python_interpreter_config()\n"
        f'    config.run_command = "{PROGRAM}"\n'
        "    exe = dist.to_python_executable(name = 'pbsapp', config = config)\n"
        "    exe.libpython_link_mode = VARS.get('LINK_MODE', 'default')\n"
        "    return exe\n"
        "register_target('exe', make_exe)\n"
        "resolve_targets()\n"
    )


@pytest.fixture(scope="session")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir per test session (per xdist worker), so crates compile once."""
    return tmp_path_factory.mktemp("pbs-cargo-target")


@pytest.fixture(scope="session")
def bitcode_archive(tmp_path_factory: pytest.TempPathFactory, pbs_archives: PbsArchives) -> BuiltArchive:  # noqa: F811
    """A full archive whose PYTHON.json says its objects are LLVM bitcode (as PBS's lto builds)."""

    def lto(doc: dict[str, Any]) -> None:
        doc["build_info"]["object_file_format"] = "llvm-bitcode:%22.1.3"
        doc["build_options"] = doc["optimizations"] = "pgo+lto"

    return build_full_archive(tmp_path_factory.mktemp("pbs-lto"), mutate=lto, workdir=pbs_archives.workdir)


def pyoxidizer(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args], env={**os.environ, **env}, capture_output=True, text=True
    )


def build(
    tmp_path: Path, cargo_target: Path, *, distribution: str, link: str, archive: Path | None = None
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Build the test program; return (install dir, the CLI's result)."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyoxidizer.bzl").write_text(config_text(distribution))
    args = ["build", "--path", str(project), "--var", "LINK_MODE", link]
    if archive is not None:
        args += ["--python-distribution", str(archive)]
    env = {"CARGO_TARGET_DIR": str(cargo_target), "PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache")}
    return project / OUT, pyoxidizer(*args, env=env)


def run_app(exe: Path, *modules: str, cwd: Path | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [str(exe), *modules],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONHOME": "/nonsense", "PYTHONPATH": "/nonsense"},
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def ldd(exe: Path) -> str:
    return subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=True).stdout


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr


# --- real builds (cargo) ----------------------------------------------------------------------


@pytest.mark.cargo
def test_full_archive_static(tmp_path: Path, cargo_target: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    archive = pbs_archives.full_v8
    install, result = build(
        tmp_path, cargo_target, distribution="default_python_distribution()", link="static", archive=archive.path
    )
    assert_ok(result)
    exe = install / "pbsapp"
    assert "libpython" not in ldd(exe)
    assert not (install / "lib" / "libpython3.11.so.1.0").exists()
    work = config_work_dir(tmp_path / "app" / "pyoxidizer.bzl")
    artifacts = work / "x86_64-unknown-linux-gnu" / "debug" / "pbsapp"
    config_c = (artifacts / "artifacts" / "libpython" / "config.c").read_text()
    assert '{"zlib", PyInit_zlib},' in config_c and '{"sys", NULL},' in config_c
    assert "PyInit__ssl" not in config_c  # a shared-library module stays in lib-dynload
    members = subprocess.run(
        ["ar", "t", str(artifacts / "artifacts" / "libpython3.a")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "config.o" in members and "Modules_config.o" not in members and "Objects_abstract.o" in members
    info = run_app(exe, "_sqlite3", "_ctypes", cwd=tmp_path)
    assert info["version"] == archive.python_version
    assert {"zlib", "pyexpat", "binascii", "_io", "sys"} <= set(info["builtin"])
    assert "_ssl" not in info["builtin"]
    # Modules the archive ships as shared libraries are files beside the executable (lib/).
    for name in ("_json", "_sqlite3", "_ctypes"):
        path = info["_json"] if name == "_json" else info["mods"][name]
        assert path is not None and Path(path).parent == install / "lib", (name, path)
    import binascii

    assert info["crc"] == binascii.crc32(b"pbs")
    # The license report and the SBOM cover the archive's CPython and its bundled libraries (issue 16).
    from pyoxidizer_py.artifacts.sbom import validate_sbom

    copying = (install / "COPYING.txt").read_text()
    assert f"CPython {archive.python_version}  Python-2.0 OR CNRI-Python" in copying
    assert "Libraries bundled with CPython" in copying and "license text of _ssl" in copying
    validate_sbom((install / "sbom.cdx.json").read_text())


@pytest.mark.cargo
def test_full_archive_dynamic_from_python_distribution(
    tmp_path: Path,
    cargo_target: Path,
    pbs_archives: PbsArchives,  # noqa: F811
) -> None:
    archive = pbs_archives.full_v8
    dist = f"PythonDistribution(sha256 = '{archive.sha256}', local_path = '{archive.path}')"
    install, result = build(tmp_path, cargo_target, distribution=dist, link="dynamic")
    assert_ok(result)
    assert (install / "lib" / "libpython3.11.so.1.0").is_file()
    # Moved elsewhere: libpython is found through the $ORIGIN/lib rpath, the stdlib beside it.
    moved = tmp_path / "elsewhere" / "app"
    shutil.move(str(install), moved)
    assert f"{moved}/lib/libpython3.11.so.1.0" in ldd(moved / "pbsapp")
    info = run_app(moved / "pbsapp", "_sqlite3", cwd=tmp_path)
    assert info["version"] == archive.python_version
    assert Path(info["_json"]).parent == moved / "lib"
    assert Path(info["mods"]["_sqlite3"]).parent == moved / "lib"


@pytest.mark.cargo
def test_install_only_archive_dynamic(tmp_path: Path, cargo_target: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    archive = pbs_archives.install_only
    install, result = build(
        tmp_path, cargo_target, distribution="default_python_distribution()", link="default", archive=archive.path
    )
    assert_ok(result)  # default = dynamic: an install_only archive has no objects to link statically
    exe = install / "pbsapp"
    assert f"{install}/lib/libpython3.11.so.1.0" in ldd(exe)
    info = run_app(exe, "math", "_struct", cwd=tmp_path)
    assert info["version"] == "3.11.7"
    assert Path(info["mods"]["math"]).parent == install / "lib"


# --- refusals and planning (no cargo) --------------------------------------------------------


def test_bitcode_objects_static_is_an_error(tmp_path: Path, bitcode_archive: BuiltArchive) -> None:
    _install, result = build(
        tmp_path,
        tmp_path / "unused-target",
        distribution="default_python_distribution()",
        link="static",
        archive=bitcode_archive.path,
    )
    line = one_error_line(result)
    assert "static linking of libpython was requested" in line
    assert "LLVM bitcode" in line and "llvm-bitcode:%22.1.3" in line and "LTO" in line
    assert "dynamic" in result.stderr and "non-LTO" in result.stderr
    assert not (tmp_path / "unused-target").exists()  # refused before cargo ran


def test_bitcode_objects_default_is_dynamic(
    tmp_path: Path, bitcode_archive: BuiltArchive, caplog: pytest.LogCaptureFixture
) -> None:
    dist = load_archive(bitcode_archive.path, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="pyoxidizer_py"):
        plan = plan_link(dist, "default", artifacts_dir=tmp_path / "artifacts")
    assert plan.mode == "dynamic" and plan.assembly is None
    assert "LLVM bitcode" in plan.reason
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and notes[0].startswith("note: linking libpython dynamically: the objects of ")
    assert "LLVM bitcode" in notes[0]
    with pytest.raises(BuildError, match="LLVM bitcode") as info:
        plan_static_libpython(dist, tmp_path / "libpython3.a")
    assert info.value.hint and "dynamic" in info.value.hint and "non-LTO" in info.value.hint


def test_full_archive_default_is_static(tmp_path: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    dist = load_archive(pbs_archives.full_v7.path, cache_dir=tmp_path / "cache")
    plan = plan_link(dist, "default", artifacts_dir=tmp_path / "artifacts")
    assert plan.mode == "static" and plan.assembly is not None
    assert plan.library == tmp_path / "artifacts" / "libpython3.a"
    lines = plan.link_lines
    assert lines[:2] == (
        f"cargo:rustc-link-search=native={tmp_path / 'artifacts'}",
        "cargo:rustc-link-lib=static:+whole-archive,-bundle=python3",
    )
    assert "cargo:rustc-link-lib=expat" in lines and "cargo:rustc-link-lib=z" in lines
    assert lines[-1] == "cargo:rustc-link-arg=-Wl,--export-dynamic"
    assert all(not p.name.endswith("config.o") or "Modules" not in str(p) for p in plan.assembly.objects)


def test_install_only_static_is_an_error(tmp_path: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    dist = load_archive(pbs_archives.install_only.path, cache_dir=tmp_path / "cache")
    with pytest.raises(BuildError, match="static linking of libpython was requested") as info:
        plan_link(dist, "static", artifacts_dir=tmp_path)
    assert info.value.hint and "full archive" in info.value.hint


def test_static_link_lines_order_and_missing_objects(tmp_path: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    """Static libraries (path_static) come before system libraries; a missing object is named."""

    def with_static_dep(doc: dict[str, Any]) -> None:
        doc["build_info"]["extensions"]["zlib"][0]["links"] = [{"name": "z", "path_static": "build/lib/libz.a"}]

    archive = build_full_archive(tmp_path / "a", mutate=with_static_dep, workdir=pbs_archives.workdir)
    dist = load_archive(archive.path, cache_dir=tmp_path / "cache")
    assembly = plan_static_libpython(dist, tmp_path / "out" / "libpython3.a")
    lines = assembly.link_lines
    root = dist.pbs.root  # type: ignore[union-attr]
    assert f"cargo:rustc-link-search=native={root / 'build' / 'lib'}" in lines
    assert lines.index("cargo:rustc-link-lib=static:-bundle=z") < lines.index("cargo:rustc-link-lib=m")

    def with_missing_object(doc: dict[str, Any]) -> None:
        doc["build_info"]["core"]["objs"].append("build/Objects/nope.o")

    broken = build_full_archive(tmp_path / "b", mutate=with_missing_object, workdir=pbs_archives.workdir)
    dist = load_archive(broken.path, cache_dir=tmp_path / "cache")
    with pytest.raises(BuildError, match=r"build/Objects/nope\.o"):
        plan_static_libpython(dist, tmp_path / "out" / "libpython3.a")


def test_render_config_c() -> None:
    text = render_config_c([("_io", "PyInit__io"), ("sys", "NULL"), ("marshal", "PyMarshal_Init")])
    assert "extern PyObject* PyInit__io(void);" in text and "extern PyObject* NULL" not in text
    assert '{"sys", NULL},' in text and '{"marshal", PyMarshal_Init},' in text
    assert text.rstrip().endswith("{0, 0}\n};")
