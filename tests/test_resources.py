"""Resources: classification, stdlib collection, pip installs, package roots, virtualenvs, bytecode and
the filesystem install, checked by importing the result with the real target interpreter."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from pyoxidizer_py.artifacts.filesystem import MANIFEST_NAME, install_filesystem_resources
from pyoxidizer_py.distribution.installed import introspect_installed
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import ResourceError
from pyoxidizer_py.resources.bytecode import BytecodeRequest, compile_bytecode
from pyoxidizer_py.resources.collect import (
    make_python_module_source,
    pip_install,
    read_package_root,
    read_virtualenv,
)
from pyoxidizer_py.resources.model import (
    File,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageDistributionResource,
    PythonPackageResource,
    Resource,
    SharedLibrary,
)
from pyoxidizer_py.resources.placement import apply_policy
from pyoxidizer_py.resources.plan import plan_resources
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.scan import ScanOptions, scan_tree
from pyoxidizer_py.resources.stdlib import stdlib_resources

DATA = Path(__file__).parent / "data"
PY310 = Path("/root/.pyenv/versions/3.10.13/bin/python")
PY311 = Path("/root/.pyenv/versions/3.11.7/bin/python")
DEBIAN311 = Path("/usr/bin/python3.11")
FS_LIB = "filesystem-relative:lib"


def _policy(**kw: object) -> PackagingPolicy:
    return PackagingPolicy(resources_location=FS_LIB, **kw)  # type: ignore[arg-type]


def _by_name(resources: Sequence[Resource], kind: type) -> dict[str, Resource]:
    return {r.name: r for r in resources if isinstance(r, kind)}  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def dist311() -> Distribution:
    return introspect_installed(PY311)


@pytest.fixture(scope="session")
def staging_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pip-staging")


@pytest.fixture(scope="session")
def yaml_resources(dist311: Distribution, staging_root: Path) -> list[Resource]:
    return pip_install(dist311, ["PyYAML", "six"], _policy(), staging_root=staging_root)


# --- classification ---------------------------------------------------------------------------------


def _touch(root: Path, rel: str, data: bytes = b"") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_scan_classifies_a_site_packages_tree(tmp_path: Path) -> None:
    for rel in [
        "top.py",
        "pkg/__init__.py",
        "pkg/mod.py",
        "pkg/data/table.csv",
        "pkg/sub/inner.py",
        "pkg/web-assets/app.js",
        "pkg/__pycache__/mod.cpython-311.pyc",
        "pkg/old.pyc",
        "pkg/_speed.cpython-311-x86_64-linux-gnu.so",
        "pkg/_limited.abi3.so",
        "Pkg_Name-1.2.3.dist-info/METADATA",
        "Pkg_Name-1.2.3.dist-info/licenses/LICENSE",
        "pkg_name.libs/libfoo-abc123.so.1.2",
        "pkg/libbar.so",
        "README.md",
        "extra-dir/notes.txt",
        "not-a-module.py",
    ]:
        _touch(tmp_path, rel, b"x = 1\n")
    suffixes = (".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so")
    found = scan_tree(tmp_path, ScanOptions(extension_suffixes=suffixes))
    modules = _by_name(found, PythonModuleSource)
    assert sorted(modules) == ["pkg", "pkg.mod", "pkg.sub.inner", "top"]
    assert modules["pkg"].is_package
    assert not modules["pkg.mod"].is_package
    resources = {(r.package, r.name) for r in found if isinstance(r, PythonPackageResource)}
    assert resources == {("pkg", "data/table.csv"), ("pkg", "web-assets/app.js")}
    exts = _by_name(found, PythonExtensionModule)
    assert {n: e.file_suffix for n, e in exts.items()} == {  # type: ignore[attr-defined]
        "pkg._speed": ".cpython-311-x86_64-linux-gnu.so",
        "pkg._limited": ".abi3.so",
    }
    dist_info = [r for r in found if isinstance(r, PythonPackageDistributionResource)]
    assert {(r.package, r.version, r.name) for r in dist_info} == {
        ("Pkg_Name", "1.2.3", "METADATA"),
        ("Pkg_Name", "1.2.3", "licenses/LICENSE"),
    }
    assert sorted(_by_name(found, SharedLibrary)) == ["pkg/libbar.so", "pkg_name.libs/libfoo-abc123.so.1.2"]
    assert not [r for r in found if isinstance(r, File)]
    # With file emission every file is also a File record (bytecode still skipped).
    both = scan_tree(tmp_path, ScanOptions(extension_suffixes=suffixes, emit_files=True))
    files = sorted(r.path_in_install for r in both if isinstance(r, File))
    assert "README.md" in files
    assert "extra-dir/notes.txt" in files
    assert not any(f.endswith(".pyc") for f in files)


# --- stdlib -----------------------------------------------------------------------------------------


def test_stdlib_excludes_tests_and_dev_tools_by_default(dist311: Distribution) -> None:
    found = stdlib_resources(dist311, _policy())
    included = {r.name for r in found if isinstance(r, PythonModuleSource) and r.add.include}
    excluded = {r.name for r in found if isinstance(r, PythonModuleSource) and not r.add.include}
    assert {"os", "json", "json.decoder", "unittest", "asyncio", "encodings.utf_8"} <= included
    # sysconfig imports its build-time data module by a name that is not an identifier.
    assert any(n.startswith("_sysconfigdata_") for n in included)
    assert {
        "test.test_os",
        "unittest.test.test_case",
        "idlelib.pyshell",
        "ensurepip",
        "lib2to3.tests.test_parser",
        "ctypes.test.test_funcptr",
        "turtledemo.clock",
    } <= excluded
    assert not any(n.startswith(("site-packages", "test.")) for n in included)
    # Bytecode only by default (include_distribution_sources = False).
    assert all(r.is_stdlib and not r.add.source for r in found if isinstance(r, PythonModuleSource))
    # Stdlib package data needs include_distribution_resources.
    assert not [r for r in found if isinstance(r, PythonPackageResource) and r.add.include]
    exts = {r.name: r for r in found if isinstance(r, PythonExtensionModule)}
    assert exts["_ssl"].add.include
    assert not exts["_ssl"].is_builtin
    assert not exts["_testcapi"].add.include
    assert exts["posix"].is_builtin


def test_stdlib_include_test_and_resources(dist311: Distribution) -> None:
    policy = _policy(include_test=True, include_distribution_resources=True, include_distribution_sources=True)
    found = stdlib_resources(dist311, policy)
    modules = {r.name: r for r in found if isinstance(r, PythonModuleSource)}
    assert modules["test.test_os"].add.include
    assert modules["idlelib.pyshell"].add.include
    assert modules["os"].add.source
    resources = {(r.package, r.name) for r in found if isinstance(r, PythonPackageResource) and r.add.include}
    assert any(p == "ensurepip" and n.startswith("_bundled/pip-") and n.endswith(".whl") for p, n in resources)
    assert {r.name: r for r in found if isinstance(r, PythonExtensionModule)}["_testcapi"].add.include


@pytest.mark.parametrize(
    ("filter_name", "kept", "dropped"),
    [
        ("all", {"_ssl", "readline", "_json"}, set()),
        ("minimal", set(), {"_ssl", "_json", "readline"}),
        ("no-libraries", {"_json", "math"}, {"_ssl", "_sqlite3", "readline"}),
        ("no-copyleft", {"_ssl", "_sqlite3", "_json"}, {"readline", "_dbm"}),
    ],
)
def test_extension_module_filter(filter_name: str, kept: set[str], dropped: set[str]) -> None:
    dist = introspect_installed(DEBIAN311)
    found = stdlib_resources(dist, _policy(extension_module_filter=filter_name))
    exts = {r.name: r.add.include for r in found if isinstance(r, PythonExtensionModule) and not r.is_builtin}
    assert all(exts[name] for name in kept - {"math"})
    assert not any(exts[name] for name in dropped)
    if "math" in kept:  # built into Debian's libpython: always there
        assert "math" in dist.builtin_extensions


# --- pip, package roots, virtualenvs ----------------------------------------------------------------


def test_pip_install_pure_and_c_extension(yaml_resources: list[Resource]) -> None:
    exts = _by_name(yaml_resources, PythonExtensionModule)
    assert "yaml._yaml" in exts
    assert exts["yaml._yaml"].file_suffix == ".cpython-311-x86_64-linux-gnu.so"  # type: ignore[attr-defined]
    modules = _by_name(yaml_resources, PythonModuleSource)
    assert {"yaml", "yaml.constructor", "six"} <= set(modules)
    assert all(not m.is_stdlib and m.add.include and m.add.location == FS_LIB for m in modules.values())  # type: ignore[attr-defined]
    # Installed packages ship bytecode only unless include_third_party_sources.
    assert not any(m.add.source for m in modules.values())  # type: ignore[attr-defined]
    metadata = {r.package.lower() for r in yaml_resources if isinstance(r, PythonPackageDistributionResource)}
    assert {"pyyaml", "six"} <= metadata
    assert not [r for r in yaml_resources if isinstance(r, File)]


def test_pip_install_nonexistent_package(dist311: Distribution, staging_root: Path) -> None:
    name = "pyoxidizer-py-no-such-package-xyz"
    with pytest.raises(ResourceError) as info:
        pip_install(dist311, [name], _policy(), staging_root=staging_root)
    message = str(info.value)
    assert message.startswith(f"pip install {name} failed (exit status 1): ")
    assert "No matching distribution found" in message or "Could not find a version" in message


def test_pip_install_for_python_without_pip(tmp_path: Path, staging_root: Path) -> None:
    # A venv without pip stands in for a Debian python3.X without python3-pip: the tool's own pip
    # runs with --python <target>.
    venv = tmp_path / "nopip"
    subprocess.run([str(DEBIAN311), "-m", "venv", "--without-pip", str(venv)], check=True)
    dist = introspect_installed(venv / "bin" / "python")
    assert dist.stdlib_dir == Path("/usr/lib/python3.11")
    probe = subprocess.run([str(venv / "bin/python"), "-c", "import pip"], capture_output=True, check=False)
    assert probe.returncode != 0
    found = pip_install(dist, ["six"], _policy(include_third_party_sources=True), staging_root=staging_root)
    assert _by_name(found, PythonModuleSource)["six"].add.source  # type: ignore[attr-defined]


def test_read_package_root(dist311: Distribution, caplog: pytest.LogCaptureFixture) -> None:
    found = read_package_root(DATA / "pkgroot", ["myapp"], dist311, _policy())
    modules = _by_name(found, PythonModuleSource)
    assert sorted(modules) == ["myapp", "myapp.__main__", "myapp.sub", "myapp.sub.mod"]
    assert all(m.add.source for m in modules.values())  # type: ignore[attr-defined]  # first-party code keeps it
    assert [(r.package, r.name) for r in found if isinstance(r, PythonPackageResource)] == [
        ("myapp", "data/greeting.txt")
    ]
    # A dotted name selects that subpackage only (PyOxidizer's is_in_packages filter).
    sub = read_package_root(DATA / "pkgroot", ["myapp.sub"], dist311, _policy())
    assert sorted(_by_name(sub, PythonModuleSource)) == ["myapp.sub", "myapp.sub.mod"]
    assert not [r for r in sub if isinstance(r, PythonPackageResource)]
    # A name matching nothing is a warning, and the other names are still read.
    with caplog.at_level("WARNING", logger="pyoxidizer_py"):
        both = read_package_root(DATA / "pkgroot", ["myapp.sub", "nothere"], dist311, _policy())
    assert sorted(_by_name(both, PythonModuleSource)) == ["myapp.sub", "myapp.sub.mod"]
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: read_package_root({DATA / 'pkgroot'}): no package or module named 'nothere' there"
    ]
    with pytest.raises(ResourceError, match="package root is not a directory"):
        read_package_root(DATA / "missing", ["myapp"], dist311, _policy())


def test_read_virtualenv(tmp_path: Path, dist311: Distribution) -> None:
    venv = tmp_path / "venv"
    subprocess.run([str(PY311), "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin/python"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "six",
        ],
        check=True,
        capture_output=True,
    )
    found = read_virtualenv(venv, dist311, _policy())
    assert not _by_name(found, PythonModuleSource)["six"].add.source  # type: ignore[attr-defined]
    both_off = read_virtualenv(
        venv, dist311, _policy(include_third_party_sources=True, include_non_distribution_sources=False)
    )
    assert not _by_name(both_off, PythonModuleSource)["six"].add.source  # type: ignore[attr-defined]
    with pytest.raises(ResourceError, match=r"not a virtualenv for Python 3\.11"):
        read_virtualenv(tmp_path, dist311, _policy())


def test_make_python_module_source() -> None:
    module = make_python_module_source("app.main", "print('hi')\n", policy=_policy())
    assert module.data == b"print('hi')\n"
    assert module.add.include
    assert module.add.bytecode_optimization_level_zero
    with pytest.raises(ResourceError, match=r"invalid Python module name 'app\.1bad'"):
        make_python_module_source("app.1bad", "")


# --- bytecode ---------------------------------------------------------------------------------------


def test_compile_bytecode_batches_and_skips_syntax_errors(dist311: Distribution, tmp_path: Path) -> None:
    requests = [
        BytecodeRequest(name="good", source=b"x = 1\nassert x\n", filename="good.py", optimize=0),
        BytecodeRequest(name="good", source=b"x = 1\nassert x\n", filename="good.py", optimize=2),
        BytecodeRequest(name="bad", source=b"def (:\n", filename="bad.py", optimize=0),
        BytecodeRequest(
            name="latin",
            source="# -*- coding: latin-1 -*-\ns = 'é'\n".encode("latin-1"),
            filename="latin.py",
            optimize=0,
        ),
    ]
    assert dist311.python_exe is not None
    out = compile_bytecode(dist311.python_exe, dist311.bytecode_magic, requests, cache_dir=tmp_path)
    assert set(out) == {("good", 0), ("good", 2), ("latin", 0)}
    for pyc in out.values():
        magic, flags = struct.unpack_from("<4sI", pyc)
        assert magic == dist311.bytecode_magic
        assert flags == 0b01  # hash-based, unchecked
    assert out[("good", 0)] != out[("good", 2)]
    # Second run is served from the cache, byte for byte.
    again = compile_bytecode(Path("/nonexistent/python"), dist311.bytecode_magic, requests[:2], cache_dir=tmp_path)
    assert again == {k: v for k, v in out.items() if k[0] == "good"}


# --- filesystem install -----------------------------------------------------------------------------

_IMPORT_CHECK = """
import sys
sys.path[:] = [sys.argv[1]]
import importlib.metadata, json, yaml, six, ssl
print(yaml.__with_libyaml__, importlib.metadata.version("PyYAML"), six.__name__)
print(json.__file__)
print(json.__cached__)
print(yaml.load("a: [1, 2]", Loader=yaml.CLoader))
"""


def _run_isolated(python: Path, lib: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": "/nonsense", "PYTHONHOME": "/nonsense"}
    return subprocess.run(
        [str(python), "-S", "-I", "-c", code, str(lib)], capture_output=True, text=True, env=env, check=False
    )


def test_install_and_import(dist311: Distribution, yaml_resources: list[Resource], tmp_path: Path) -> None:
    # The default policy installs bytecode only (sourceless .pyc files in place of the sources) ...
    bare = install_filesystem_resources(
        plan_resources([*stdlib_resources(dist311, _policy()), *yaml_resources], in_memory_as="lib"),
        dist311,
        tmp_path / "bare",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert "lib/json/__init__.pyc" in bare.files and "lib/yaml/__init__.pyc" in bare.files
    assert not [f for f in bare.files if f.endswith(".py")]
    # ... and keeps sources beside __pycache__ bytecode when asked to.
    keep = _policy(include_distribution_sources=True, include_third_party_sources=True)
    install = tmp_path / "install"
    resources = [*stdlib_resources(dist311, keep), *(apply_policy(r, keep) for r in yaml_resources)]
    result = install_filesystem_resources(
        plan_resources(resources, in_memory_as="lib"), dist311, install, bytecode_cache_dir=tmp_path / "bc"
    )
    assert result.module_search_paths == ("$ORIGIN/lib",)
    lib = install / "lib"
    assert (lib / "yaml" / "__pycache__" / "__init__.cpython-311.pyc").is_file()
    assert next(lib.glob("pyyaml-*.dist-info/METADATA")).is_file()
    assert (lib / "_ssl.cpython-311-x86_64-linux-gnu.so").is_file()
    assert not (lib / "test").exists()
    assert not (lib / "idlelib").exists()
    proc = _run_isolated(PY311, lib, _IMPORT_CHECK)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("True ")
    assert lines[0].endswith(" six")
    assert lines[1] == str(lib / "json" / "__init__.py")
    assert lines[2] == str(lib / "json" / "__pycache__" / "__init__.cpython-311.pyc")
    assert lines[3] == "{'a': [1, 2]}"
    # The interpreter used our pycs: it did not write new ones.
    assert not [p for p in lib.rglob("*.pyc") if str(p.relative_to(install)) not in result.files]

    # Rebuild with nothing changed: no file rewritten.
    again = install_filesystem_resources(
        plan_resources(resources, in_memory_as="lib"), dist311, install, bytecode_cache_dir=tmp_path / "bc"
    )
    assert again.written == ()
    assert again.removed == ()
    # Drop six: its files go, the manifest tracks the rest.
    without_six = [r for r in resources if getattr(r, "name", "") != "six" and getattr(r, "package", "") != "six"]
    third = install_filesystem_resources(
        plan_resources(without_six, in_memory_as="lib"), dist311, install, bytecode_cache_dir=tmp_path / "bc"
    )
    assert "lib/six.py" in third.removed
    assert not (lib / "six.py").exists()
    assert (install / MANIFEST_NAME).is_file()


@pytest.mark.parametrize("python", [PY310, DEBIAN311], ids=["3.10", "debian-3.11"])
def test_install_sourceless_app_and_run(python: Path, tmp_path: Path) -> None:
    dist = introspect_installed(python)
    policy = _policy(include_non_distribution_sources=False)
    app = read_package_root(DATA / "pkgroot", ["myapp"], dist, policy)
    extra = apply_policy(make_python_module_source("hello_mod", "MESSAGE = 'from memory'\n"), policy)
    # A plan with in_memory_as="lib" (what a FileManifest uses: it holds only files) installs
    # in-memory resources under lib/.
    in_memory = apply_policy(make_python_module_source("mem_mod", "X = 42\n"), PackagingPolicy())
    resources = [*stdlib_resources(dist, policy), *app, extra, in_memory]
    result = install_filesystem_resources(plan_resources(resources, in_memory_as="lib"), dist, tmp_path / "out")
    lib = tmp_path / "out" / "lib"
    assert result.module_search_paths == ("$ORIGIN/lib",)
    assert (lib / "myapp" / "sub" / "mod.pyc").is_file()
    assert not (lib / "myapp" / "sub" / "mod.py").exists()
    assert (lib / "myapp" / "data" / "greeting.txt").is_file()
    assert (lib / "os.pyc").is_file() and not (lib / "os.py").exists()  # the stdlib: bytecode only by default
    code = (
        "import sys; sys.path[:] = [sys.argv[1]]; import runpy, hello_mod, mem_mod; "
        "print(hello_mod.MESSAGE, mem_mod.X); runpy.run_module('myapp', run_name='__main__')"
    )
    proc = _run_isolated(python, lib, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["from memory 42", "hello from myapp"]


# --- pip_install cache ----------------------------------------------------------------------------------


def test_pip_cache_key_only_for_pinned_requirements(dist311: Distribution, tmp_path: Path) -> None:
    from pyoxidizer_py.resources.pip_cache import install_key

    (tmp_path / "locked.txt").write_text("# lock\nsix==1.16.0\nPyYAML==6.0.2 ; python_version >= '3'\n")
    (tmp_path / "loose.txt").write_text("six>=1.0\n")
    (tmp_path / "nested.txt").write_text("-r locked.txt\n--index-url https://pypi.org/simple\n")
    key = install_key(dist311, ["six==1.16.0"], None, tmp_path)
    assert key is not None
    assert install_key(dist311, ["six==1.16.0"], None, tmp_path) == key
    assert install_key(dist311, ["six==1.16.0"], {"X": "1"}, tmp_path) != key
    assert install_key(dist311, ["six==1.17.0"], None, tmp_path) not in (None, key)
    assert install_key(dist311, ["-r", "locked.txt"], None, tmp_path) is not None
    assert install_key(dist311, ["-r", "nested.txt"], None, tmp_path) is not None
    assert install_key(dist311, ["--no-deps", "--only-binary", ":all:", "six==1.16.0"], None, tmp_path) is not None
    for not_cached in (
        ["six"],
        ["six>=1"],
        ["-r", "loose.txt"],
        ["-r", "missing.txt"],
        ["-e", "."],
        ["."],
        ["./pkg"],
        ["--upgrade", "six==1.16.0"],
        ["--find-links", "wheels", "six==1.16.0"],
    ):
        assert install_key(dist311, not_cached, None, tmp_path) is None, not_cached


def test_pip_install_of_pinned_requirements_is_reused(
    dist311: Distribution, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PYOXIDIZER_PY_CACHE_DIR", str(tmp_path / "cache"))
    first = pip_install(dist311, ["six==1.16.0"], _policy())
    entries = list((tmp_path / "cache" / "pip-installs").iterdir())
    assert len(entries) == 1 and entries[0].is_dir()
    caplog.set_level("INFO", logger="pyoxidizer_py.resources.collect")
    second = pip_install(dist311, ["six==1.16.0"], _policy())
    assert "reusing the cached install" in caplog.text
    assert sorted(r.name for r in second) == sorted(r.name for r in first)
    assert {"six"} <= {r.name for r in second if isinstance(r, PythonModuleSource)}

    # Staging dirs of a run killed mid-pip (its lock died with it) and of one still running.
    root = tmp_path / "cache" / "pip-installs"
    hour_ago = time.time() - 3600
    killed = root / ".staging-killed"
    killed.mkdir()
    (killed / "six.py").write_text("half written")
    os.utime(killed, (hour_ago, hour_ago))
    running = root / ".staging-running"
    hold = [sys.executable, "-c", _HOLD_LOCK, str(running)]
    with subprocess.Popen(hold, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            # A failed install leaves nothing a later run would trust, and removes the killed run's dir.
            with pytest.raises(ResourceError, match="no-such-package-pyoxidizer-py"):
                pip_install(dist311, ["no-such-package-pyoxidizer-py==1.0"], _policy())
            assert sorted(p.name for p in root.iterdir()) == sorted([entries[0].name, running.name])
        finally:
            holder.kill()


_HOLD_LOCK = """
import fcntl, os, sys, time
path = sys.argv[1]
os.mkdir(path)
fd = os.open(path, os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
os.utime(path, (time.time() - 3600, time.time() - 3600))
print("locked", flush=True)
time.sleep(600)
"""
