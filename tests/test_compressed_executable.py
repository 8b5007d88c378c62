"""``exe.executable_compression = "zstd"``: the executable compressed behind a launcher that
decodes it into memory and runs it (Linux).

One real release build (Debian's CPython 3.11, static ``libpython3.11-pic.a``) of an app with
PyYAML's C extension loaded from memory and a multiprocessing spawn pool, whose children start
the compressed file again through ``sys.executable``; the launcher alone is also tried on
system programs and on damaged files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.cargo import CargoBuildOptions
from pyoxidizer_py.rust_project.compressed_executable import (
    build_stub,
    check_compressible,
    compress_executable,
    read_trailer,
)

DEBIAN_311 = "/usr/bin/python3.11"
RELEASE = Path("build") / "x86_64-unknown-linux-gnu" / "release" / "exe"

APP = """\
import multiprocessing
import os
import sys
import yaml
from yaml import _yaml

def parse(text):
    return yaml.load(text, Loader=yaml.CLoader)

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        print("spawn", pool.map(parse, ["a: 1", "b: [2]"]))
    print("yaml", yaml.__with_libyaml__, type(_yaml.__spec__.loader).__name__)
    print("executable", sys.executable)
    print("argv", sys.argv[1:])
    print("variable", "PYOXIDIZER_PY_EXECUTABLE" in os.environ)
    with open("/proc/self/comm") as comm:
        print("process name", comm.read().strip())
    sys.exit(3)
"""

BZL = """\
def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
    config.run_module = "app"
    exe = dist.to_python_executable(name = "zapp", config = config)
    exe.libpython_link_mode = VARS.get("LINK", "static")
    exe.executable_compression = "zstd"
    exe.add_python_resources(exe.pip_install(["PyYAML==6.0.2"]))
    exe.add_python_resources(exe.read_package_root(CWD, ["app"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYOXIDIZER_PY_")}


def _build(project: Path, cargo_target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pyoxidizer_py", "build", "--release", "--path", str(project)]
    return subprocess.run(
        [*cmd, "--python-distribution", DEBIAN_311, *extra],
        env={**_clean_env(), "CARGO_TARGET_DIR": str(cargo_target)},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compressed-cargo-target")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compressed")
    (root / "app.py").write_text(APP)
    (root / "pyoxidizer.bzl").write_text(BZL)
    return root


@pytest.fixture(scope="module")
def built(project: Path, cargo_target: Path) -> Path:
    result = _build(project, cargo_target)
    assert result.returncode == 0, result.stderr
    return project / RELEASE / "zapp"


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher alone, built from its template."""
    work = tmp_path_factory.mktemp("stub")
    return build_stub(
        work / "project",
        artifacts_dir=work,
        pyo3_config_file=work / "unused.txt",
        target_dir=work / "target",
        options=CargoBuildOptions(),
    )


pytestmark = pytest.mark.cargo


def test_compressed_executable_runs_from_memory(built: Path, cargo_target: Path, tmp_path: Path) -> None:
    data = built.read_bytes()
    trailer = read_trailer(data)
    assert trailer is not None
    inner = cargo_target / "release" / "zapp"
    assert trailer[2] == inner.stat().st_size
    # Well under the uncompressed executable (whose stdlib bytecode is compressed already).
    assert len(data) < 0.7 * trailer[2]

    alone = tmp_path / "alone"
    alone.mkdir()
    exe = alone / "zapp"
    shutil.copy2(built, exe)
    result = subprocess.run(
        [str(exe), "one", "two words"], cwd=alone, env=_clean_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [
        "spawn [{'a': 1}, {'b': [2]}]",
        "yaml True _MemoryExtensionLoader",
        f"executable {exe}",
        "argv ['one', 'two words']",
        "variable False",
        "process name zapp",
    ]
    assert list(alone.iterdir()) == [exe]  # nothing extracted beside it

    # A damaged file is refused before any of it runs.
    broken = bytearray(data)
    offset, length, _size = trailer
    broken[offset + length // 2] ^= 0xFF
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(broken))
    damaged.chmod(0o755)
    result = subprocess.run([str(damaged)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {damaged}: the compressed executable is corrupt"), lines


def test_the_launcher_alone_says_nothing_is_appended(stub: Path) -> None:
    result = subprocess.run([str(stub)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"error: {stub}: no compressed executable is appended to this launcher\n"


@pytest.mark.parametrize("program", ["/bin/echo", "/bin/false"])
def test_any_executable_keeps_its_arguments_and_exit_status(stub: Path, tmp_path: Path, program: str) -> None:
    dest = tmp_path / "wrapped"
    assert compress_executable(stub, Path(program), dest, work_dir=tmp_path)
    assert not compress_executable(stub, Path(program), dest, work_dir=tmp_path)  # unchanged: not redone
    direct = subprocess.run([program, "-n", "a  b", "ü"], capture_output=True, timeout=60)
    wrapped = subprocess.run([str(dest), "-n", "a  b", "ü"], capture_output=True, timeout=60)
    assert (wrapped.returncode, wrapped.stdout, wrapped.stderr) == (direct.returncode, direct.stdout, direct.stderr)


def test_dynamic_libpython_cannot_be_compressed(project: Path, cargo_target: Path) -> None:
    result = _build(project, cargo_target, "--var", "LINK", "dynamic")
    assert result.returncode == 1
    assert 'error: executable zapp: executable_compression = "zstd" needs a static libpython' in result.stderr
    assert "Traceback" not in result.stderr


def test_only_linux_targets_can_be_compressed() -> None:
    with pytest.raises(BuildError, match="needs a Linux target"):
        check_compressible("app", target_triple="x86_64-apple-darwin", link_mode="static")
    check_compressible("app", target_triple="aarch64-unknown-linux-gnu", link_mode="static")
