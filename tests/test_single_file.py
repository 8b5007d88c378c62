"""One file for every application on Linux (issue 12): extension modules and the shared libraries
they need load from memory, so a release executable copied alone into an empty directory runs.

Two executables, built with real pip installs from PyPI and real cargo release builds, with the
default packaging policy:

* ``big`` (pyenv's CPython 3.11, static ``libpython3.11.a``, every stdlib extension module a
  ``lib-dynload`` shared object): numpy (with its ``numpy.libs`` OpenBLAS and gfortran), pydantic v2,
  cryptography, PyYAML with ``CLoader``, sqlite3 and Pillow (with its ``pillow.libs``);
* ``strict`` (Debian's CPython 3.11, static ``libpython3.11-pic.a``): PyYAML and a multiprocessing
  spawn pool, with ``in_memory_shared_library_fallback = "error"``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cargo

PYENV_311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
DEBIAN_311 = "/usr/bin/python3.11"
RELEASE = Path("build") / "x86_64-unknown-linux-gnu" / "release" / "exe"

BIG_APP = """\
import io, sys
import numpy as np
a = np.arange(12, dtype=np.float64).reshape(3, 4)
print("numpy", float((a @ a.T).trace()), np.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]])).tolist())
import pydantic
class User(pydantic.BaseModel):
    id: int
    name: str
print("pydantic", User(id="7", name="ann").model_dump())
try:
    User(id="x", name="b")
except pydantic.ValidationError as exc:
    print("pydantic-error", exc.errors()[0]["type"])
from cryptography.fernet import Fernet
fernet = Fernet(Fernet.generate_key())
print("fernet", fernet.decrypt(fernet.encrypt(b"secret")).decode())
import yaml
print("yaml", yaml.__with_libyaml__, yaml.load("a: [1, 2]", Loader=yaml.CLoader))
import sqlite3
print("sqlite", sqlite3.connect(":memory:").execute("select 6 * 7").fetchone())
from PIL import Image
buf = io.BytesIO()
Image.new("RGB", (3, 2), (10, 20, 30)).save(buf, format="PNG")
back = Image.open(io.BytesIO(buf.getvalue()))
back.load()
print("pillow", back.size, back.getpixel((1, 1)))
origin = sys.executable.rpartition("/")[0]
import numpy.linalg._umath_linalg as umath_linalg
for module in (np, umath_linalg, yaml._yaml, sqlite3):
    print("file", module.__name__, module.__file__.replace(origin, "$ORIGIN"))
print("loader", type(umath_linalg.__spec__.loader).__name__)
"""

BIG_OUTPUT = [
    "numpy 506.0 [[0.5, 0.0], [0.0, 0.25]]",
    "pydantic {'id': 7, 'name': 'ann'}",
    "pydantic-error int_parsing",
    "fernet secret",
    "yaml True {'a': [1, 2]}",
    "sqlite (42,)",
    "pillow (3, 2) (10, 20, 30)",
    "file numpy $ORIGIN/lib/numpy/__init__.py",
    "file numpy.linalg._umath_linalg $ORIGIN/lib/numpy/linalg/_umath_linalg.cpython-311-x86_64-linux-gnu.so",
    "file yaml._yaml $ORIGIN/lib/yaml/_yaml.cpython-311-x86_64-linux-gnu.so",
    "file sqlite3 $ORIGIN/lib/sqlite3/__init__.py",
    "loader _MemoryExtensionLoader",
]

STRICT_APP = """\
import multiprocessing
import yaml
from yaml import _yaml

def parse(text):
    import yaml
    return yaml.load(text, Loader=yaml.CLoader)

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        print("spawn", pool.map(parse, ["a: 1", "b: [2]"]))
    print("yaml", yaml.__with_libyaml__, _yaml.__file__.rpartition("/")[2])
"""

BZL = """\
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
{policy}
    config = dist.make_python_interpreter_config()
    config.run_module = "app"
    exe = dist.to_python_executable(name = "{name}", packaging_policy = policy, config = config)
    exe.add_python_resources(exe.pip_install({requirements}))
    exe.add_python_resources(exe.read_package_root(CWD, ["app"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("single-file-cargo-target")


def _build(
    root: Path, cargo_target: Path, *, name: str, python: str, app: str, requirements: list[str], policy: str = ""
) -> Path:
    """Build a release executable; return it copied alone into an empty directory."""
    project = root / name
    project.mkdir()
    (project / "app.py").write_text(app)
    (project / "pyoxidizer.bzl").write_text(
        BZL.format(name=name, policy=policy or "    pass", requirements=repr(requirements))
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyoxidizer_py",
            "build",
            "--release",
            "--path",
            str(project),
            "--python-distribution",
            python,
        ],
        env={**os.environ, "CARGO_TARGET_DIR": str(cargo_target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    built = project / RELEASE
    # Nothing but the executable and its notices (license report, SBOM).
    assert sorted(p.name for p in built.iterdir()) == sorted(["COPYING.txt", name, "sbom.cdx.json"])
    alone = root / f"{name}-alone"
    alone.mkdir()
    shutil.copy2(built / name, alone / name)
    return alone / name


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, cargo_target: Path) -> Path:
    return _build(
        tmp_path_factory.mktemp("big"),
        cargo_target,
        name="big",
        python=PYENV_311,
        app=BIG_APP,
        requirements=["numpy==2.1.3", "pydantic==2.10.3", "cryptography==44.0.0", "PyYAML==6.0.2", "pillow==11.0.0"],
    )


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, cargo_target: Path) -> Path:
    return _build(
        tmp_path_factory.mktemp("strict"),
        cargo_target,
        name="strict",
        python=DEBIAN_311,
        app=STRICT_APP,
        requirements=["PyYAML==6.0.2"],
        policy='    policy.in_memory_shared_library_fallback = "error"',
    )


CACHED_APP = """\
import yaml
from yaml import _yaml
print("yaml", yaml.load("a: [1, 2]", Loader=yaml.CLoader), _yaml.__file__.rpartition("/")[2])
"""


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory, cargo_target: Path) -> Path:
    return _build(
        tmp_path_factory.mktemp("cached"),
        cargo_target,
        name="cached",
        python=DEBIAN_311,
        app=CACHED_APP,
        requirements=["PyYAML==6.0.2"],
        policy="    policy.in_memory_shared_library_cache = True",
    )


def _run(
    exe: Path, env: dict[str, str] | None = None, *, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``exe`` (under ``prefix``, a tracer) in its directory, without our own variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYOXIDIZER_PY_")}
    return subprocess.run(
        [*prefix, str(exe)], cwd=exe.parent, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300
    )


def test_real_applications_run_from_one_file(big: Path) -> None:
    result = _run(big)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == BIG_OUTPUT
    assert list(big.parent.iterdir()) == [big]


def test_no_shared_object_is_opened_from_the_filesystem_but_the_systems(big: Path, tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    cache = tmp_path / "cache"
    result = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e", "trace=openat,open,creat,memfd_create", str(big)],
        cwd=big.parent,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    opened = [
        m.group(1) for line in calls if (m := re.search(r'open(?:at)?\(.*?"([^"]+)"', line)) and "ENOENT" not in line
    ]
    shared = [p for p in opened if re.search(r"\.so(\.\d+)*$", p) and not p.startswith("/proc/self/fd/")]
    assert shared and all(p.startswith(("/lib/", "/usr/lib/", "/lib64/")) for p in shared), shared
    # Extension modules and wheel-bundled libraries come from memory files ...
    memfds = [line for line in calls if "memfd_create(" in line]
    for name in (
        "_multiarray_umath",
        "_pydantic_core",
        "_rust.abi3.so",
        "_yaml",
        "_imaging",
        "libscipy_openblas",
        "libjpeg",
    ):
        assert any(name in line for line in memfds), name
    # ... and nothing is written anywhere.
    assert not [line for line in calls if "creat(" in line or "O_CREAT" in line]
    assert not cache.exists()


def test_refused_memfd_extracts_once_into_the_cache_then_reuses_it(big: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"PYOXIDIZER_PY_NO_MEMFD": "1", "XDG_CACHE_HOME": str(cache)}
    first = _run(big, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == BIG_OUTPUT
    extracted = sorted(p for p in (cache / "pyoxidizer-py" / "extracted").rglob("*") if p.is_file())
    names = {p.name for p in extracted}
    assert {"_yaml.cpython-311-x86_64-linux-gnu.so", "_rust.abi3.so"} <= names
    assert any(n.startswith("libscipy_openblas") for n in names)
    assert not [p for p in extracted if ".tmp-" in p.name]
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in extracted}

    again = _run(big, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == BIG_OUTPUT
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in extracted} == before  # reused, not rewritten

    # A damaged cached copy is noticed (compared with the packed bytes) and replaced.
    victim = next(p for p in extracted if p.name.startswith("_yaml"))
    victim.write_bytes(b"not the library")
    fixed = _run(big, env)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.splitlines() == BIG_OUTPUT
    assert victim.stat().st_size > 1000


def test_memory_only_executable_with_spawn_children(strict: Path) -> None:
    result = _run(strict)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "spawn [{'a': 1}, {'b': [2]}]",
        "yaml True _yaml.cpython-311-x86_64-linux-gnu.so",
    ]
    # Memory only: a refused memfd is an import error naming the module, not an extraction.
    refused = _run(strict, {"PYOXIDIZER_PY_NO_MEMFD": "1", "HOME": str(strict.parent)})
    assert refused.returncode == 1
    assert "_yaml" in refused.stderr and 'in_memory_shared_library_fallback = "error"' in refused.stderr
    assert not (strict.parent / ".cache").exists()


def _dynamic_tags(exe: Path) -> set[str]:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    with exe.open("rb") as f:
        elf = ELFFile(f)
        return {tag.entry.d_tag for s in elf.iter_sections() if isinstance(s, DynamicSection) for tag in s.iter_tags()}


def test_release_executable_packs_its_relative_relocations(big: Path) -> None:
    # exe.packed_relocations = "auto": DT_RELR when this machine's glibc and linker have it.
    from pyoxidizer_py.artifacts.link_args import packed_relocations_supported

    tags = _dynamic_tags(big)
    assert ("DT_RELR" in tags) == packed_relocations_supported("x86_64-unknown-linux-gnu")
    if "DT_RELR" in tags:
        needed = subprocess.run(["readelf", "-V", str(big)], capture_output=True, text=True, check=True).stdout
        assert "GLIBC_ABI_DT_RELR" in needed


def _traced(exe: Path, log: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    result = _run(exe, env, prefix=("strace", "-f", "-qq", "-o", str(log), "-e", "trace=openat,memfd_create"))
    return result, log.read_text().splitlines()


def test_cached_shared_objects_are_written_once_then_opened_from_the_cache(cached: Path, tmp_path: Path) -> None:
    expected = ["yaml {'a': [1, 2]} _yaml.cpython-311-x86_64-linux-gnu.so"]
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    first = _run(cached, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == expected
    files = [p for p in (cache / "pyoxidizer-py" / "extracted").rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["_yaml.cpython-311-x86_64-linux-gnu.so"]
    copy = files[0]
    assert copy.parent.stat().st_mode & 0o777 == 0o700
    size, stamp = copy.stat().st_size, (copy.stat().st_ino, copy.stat().st_mtime_ns)

    # Later starts open the copy: no memory file, nothing rewritten.
    again, calls = _traced(cached, tmp_path / "again.log", env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == expected
    assert not [line for line in calls if "memfd_create(" in line]
    assert any(f'"{copy}"' in line and "O_CREAT" not in line for line in calls)
    assert (copy.stat().st_ino, copy.stat().st_mtime_ns) == stamp

    # A copy of the wrong size is replaced.
    copy.write_bytes(b"truncated")
    fixed = _run(cached, env)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.splitlines() == expected
    assert copy.stat().st_size == size

    # A copy others could have written is not used (rewritten, then opened).
    copy.chmod(0o777)
    shared = _run(cached, env)
    assert shared.returncode == 0, shared.stderr
    assert copy.stat().st_mode & 0o022 == 0


def test_cached_shared_objects_load_from_memory_where_the_cache_cannot_be_written(cached: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result, calls = _traced(cached, tmp_path / "trace.log", {"XDG_CACHE_HOME": str(blocker)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["yaml {'a': [1, 2]} _yaml.cpython-311-x86_64-linux-gnu.so"]
    assert any("memfd_create(" in line and "_yaml" in line for line in calls)
