"""Real packages survive packaging (issue 11): namespace packages, mypyc-compiled wheels, data read
beside ``__file__``, ``from .__init__ import``, and PyOxidizer's ``files`` resource handling mode.

The packages come from PyPI through the target Python's pip: ``jaraco.functools``,
``jaraco.context`` and ``jaraco.text`` (three distributions sharing the PEP 420 namespace
``jaraco``), ``setuptools`` (``setuptools/_distutils/compilers/C`` has no ``__init__.py``, and
its ``distutils`` shim aliases a package), ``black`` (mypyc: ``black/__init__.cpython-3XX-*.so``
and a top-level ``<hex>__mypyc`` module; ``blib2to3`` reads its grammar beside ``__file__``),
``pytz`` (``os.path.exists`` + ``open`` on ``dirname(__file__)/zoneinfo``), and ``zope.interface`` with
``zope.event`` (the namespace ``zope`` holding C extension modules; zope.interface declares it with a
``*-nspkg.pth`` file, which the executable does not run, and it is served as PEP 420).
``tests/data/compatcheck`` adds an ``__init__``-less subdirectory, ``from .__init__ import``, a
top-level namespace package with data, and a data file read with ``open()``.

The first part runs the importer in plain interpreters over real packed resources; the second part
(marker ``cargo``) builds executables, sharing one cargo target directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_runtime import IMPORTER, PYENV_PYTHONS

from pyoxidizer_py.artifacts.packed_resources import (
    MODULE_EXTENSION,
    MODULE_PACKAGE,
    PackedContents,
    PackedFileModule,
    encode_packed_resources,
    read_packed_resources,
)
from pyoxidizer_py.artifacts.resource_artifacts import write_resource_artifacts
from pyoxidizer_py.distribution.installed import introspect_installed
from pyoxidizer_py.resources.collect import make_python_module_source, pip_install, read_package_root
from pyoxidizer_py.resources.file_users import place_data_beside_file_users, uses_file_attribute
from pyoxidizer_py.resources.model import PythonExtensionModule, PythonModuleSource, PythonPackageResource
from pyoxidizer_py.resources.placement import apply_policy
from pyoxidizer_py.resources.plan import plan_resources
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.scan import ScanOptions, scan_tree
from pyoxidizer_py.resources.stdlib import stdlib_resources

DATA = Path(__file__).parent / "data"
PYTHONS = PYENV_PYTHONS
REQUIREMENTS = [
    "jaraco.functools==4.6.0",
    "jaraco.context==6.1.2",
    "jaraco.text==4.3.0",
    "setuptools==84.2.1",
    "black==26.10.1",
    "pytz==2026.6",
    "zope.interface==7.2",  # ships zope.interface-7.2-py3.X-nspkg.pth, no zope/__init__.py
    "zope.event==6.2",
]
SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


# --- classification and the index ------------------------------------------------------------------


def test_scan_extension_packages_and_mypyc_group_modules(tmp_path: Path) -> None:
    for rel in (
        f"black/__init__{SUFFIX}",
        "black/__init__.py",
        f"black/linegen{SUFFIX}",
        "black/resources/black.schema.json",
        f"85cae5375ceb5d1ca6c6__mypyc{SUFFIX}",
        f"fast/__init__{SUFFIX}",
        "fast/data/table.txt",
        "libfoo.so",
        "odd-name.so",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = scan_tree(tmp_path, ScanOptions(extension_suffixes=(SUFFIX, ".abi3.so", ".so")))
    extensions = {r.name: r.is_package for r in found if isinstance(r, PythonExtensionModule)}
    assert extensions == {
        "black": True,
        "black.linegen": False,
        "85cae5375ceb5d1ca6c6__mypyc": False,  # not an identifier, imported by C code
        "fast": True,
    }
    data = {(r.package, r.name) for r in found if isinstance(r, PythonPackageResource)}
    # A directory whose __init__ is an extension module is a regular package owning its data.
    assert ("fast", "data/table.txt") in data
    assert ("black", "resources/black.schema.json") in data


def test_index_marks_extension_packages() -> None:
    blob = encode_packed_resources(
        PackedContents(
            bytecode_magic=b"abcd",
            file_modules=[
                PackedFileModule(name="black", prefix="lib", is_package=True, extension=f"black/__init__{SUFFIX}"),
                PackedFileModule(name="black.report", prefix="lib", source=True),
            ],
        )
    )
    view = read_packed_resources(blob)
    assert view.modules["black"] == (MODULE_EXTENSION | MODULE_PACKAGE, 1, f"black/__init__{SUFFIX}")
    assert "black" in view.modules and view.modules["black.report"][1] == 1


def test_file_users_rule(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reads = b"import os\nHERE = os.path.dirname(__file__)\nP = os.path.join(HERE, 'z')\nX = os.path.exists(P)\n"
    assert uses_file_attribute(reads) == 4
    assert uses_file_attribute(b"import os\nopen(os.path.join(os.path.dirname(__file__), 'x'))\n") == 2
    assert uses_file_attribute(b"import pathlib\nT = (pathlib.Path(__file__).parent / 'g').read_text()\n") == 2
    # A path computed from __file__ but never read (numpy.get_include()) does not count.
    computed = b"import os\ndef inc():\n    return os.path.join(os.path.dirname(__file__), 'i')\n"
    assert uses_file_attribute(computed) is None
    assert uses_file_attribute(b"# __file__ in a comment\nx = '__file__'\ny = open(mod.__file__)\n") is None
    policy = PackagingPolicy()
    resources = [
        apply_policy(make_python_module_source("tz", reads.decode(), True), policy),
        apply_policy(make_python_module_source("tz.conftest", "import os\nopen(__file__)\n"), policy),
        apply_policy(PythonPackageResource(package="tz", name="py.typed", data=b""), policy),
        apply_policy(make_python_module_source("tz.sub", "X = 1\n"), policy),
        apply_policy(PythonPackageResource(package="tz.sub", name="zone/UTC", data=b"TZif"), policy),
        apply_policy(make_python_module_source("plain", "X = 1\n", True), policy),
        apply_policy(PythonPackageResource(package="plain", name="x.txt", data=b"x"), policy),
    ]
    placed, notes = place_data_beside_file_users(resources)
    locations = {(r.package, r.name): r.add.location for r in placed if isinstance(r, PythonPackageResource)}
    assert locations == {
        ("tz.sub", "zone/UTC"): "filesystem-relative:lib",
        ("tz", "py.typed"): "in-memory",  # type-checker files stay in memory
        ("plain", "x.txt"): "in-memory",
    }
    assert [(n.package, n.module, n.moved, n.prefix) for n in notes] == [("tz", "tz:4", 1, "lib")]
    # Without a filesystem fallback the data stays in memory and the build says what to add.
    strict = PackagingPolicy(resources_location_fallback=None)
    with caplog.at_level(logging.WARNING):
        placed, notes = place_data_beside_file_users([apply_policy(r, strict) for r in resources])
    assert all(r.add.location == "in-memory" for r in placed)
    assert notes[0].in_memory == 1
    assert (
        "tz: its code uses __file__ (tz:4) but 1 of its data files are in memory, where open() cannot read "
        'them; add policy.resources_location_fallback = "filesystem-relative:lib"'
    ) in caplog.text


# --- the importer in plain interpreters -------------------------------------------------------------

_HARNESS = r"""
import runpy, sys, types
blob_path, origin, importer_path, filesystem_importer = sys.argv[1:5]
with open(blob_path, "rb") as f:
    blob = f.read()
module = types.ModuleType("_pyoxidizer_importer")
with open(importer_path, "rb") as f:
    exec(compile(f.read(), "_pyoxidizer_importer.py", "exec"), module.__dict__)
sys.modules["_pyoxidizer_importer"] = module
module.install([memoryview(blob)], origin, sys.argv[4] == "1")
sys.path[:] = [origin + "/lib"]  # what the executable's module_search_paths give
del sys.argv[1:5]
runpy.run_module("compatcheck", run_name="__main__", alter_sys=True)
"""


def check_report(report: dict[str, object], lib: str, version: str) -> None:
    """What every build of ``compatcheck`` must report (``lib``: the directory beside the executable
    that ``__file__`` and ``__path__`` name)."""
    tag = f"cpython-{version.replace('.', '')}-x86_64-linux-gnu.so"
    errors = {k: v for k, v in report.items() if k.startswith("error_")}
    assert not errors, errors
    assert report["version"] == version
    # 1. namespace packages: three distributions share jaraco; __path__ is CPython's _NamespacePath.
    assert report["ns_path_type"] == "_NamespacePath"
    assert report["ns_path"] == [f"{lib}/jaraco"]
    assert report["ns_origin"] is None and report["ns_file"] is None
    assert report["ns_loader_is_namespace_loader"] is True
    assert report["ns_functools"] == "OK"
    assert report["ns_text_lorem"] == "Lorem"  # jaraco.text reads its data through importlib.resources
    assert {"context", "functools", "text"} <= set(report["ns_iter_modules"])  # type: ignore[arg-type]
    assert report["ns_extended"] == "a portion added to __path__ at run time"
    assert report["ns_find_spec"] is True
    # ... and a namespace (zope: zope.interface and zope.event) holding extension modules.
    assert report["zope_path_type"] == "_NamespacePath" and report["zope_path"] == [f"{lib}/zope"]
    assert report["zope_provides"] is True and report["zope_c_optimizations"] is True
    assert report["zope_event"] == ["ping"]
    assert report["ns_data_module"] == "compatns.hello, a module of a top-level namespace package"
    assert report["ns_data"] == "data of a namespace package\n"  # importlib.resources on a namespace
    # ... an __init__-less subdirectory of a regular package, ours and setuptools'.
    assert report["local_ns_type"] == report["setuptools_ns_type"] == "_NamespacePath"
    assert report["local_ns_plugin"] == "first plugin (compatcheck/plugins has no __init__.py)"
    assert report["setuptools_ns_origin"] is None
    assert report["setuptools_unix"] == "unix"
    # 2. and 3. mypyc: black's __init__ is an extension module and a package; the group module loads.
    assert report["black_file"] == f"{lib}/black/__init__.{tag}"
    assert report["black_path"] == [f"{lib}/black"]
    assert report["black_is_package"] is True
    assert report["black_loader"] == "ExtensionFileLoader"
    assert report["black_report_file"] == f"{lib}/black/report.py"  # a pure-Python submodule
    assert report["black_format"] == 'x = {\n    "a": 37,\n    "b": 42,\n}\nprint(x)\n'
    groups = report["mypyc_group"]
    assert isinstance(groups, list) and groups
    assert all(name.endswith("__mypyc") and file == f"{name}.{tag}" for name, file in groups)
    # 4. from .__init__ import X: a second module named compatcheck.__init__, as under python -m.
    assert report["init_reexport"] == "defined in compatcheck/__init__.py"
    assert report["init_module_name"] == "compatcheck.__init__"
    assert report["init_distinct"] is True
    # 9. data read beside __file__ with os.path.exists/isfile + open().
    assert report["pytz_zone"] == "Europe/Paris" and report["pytz_offset"] == "2:00:00"
    assert report["pytz_zoneinfo_on_disk"] is True
    assert report["motd"] == "message of the day, read with open()\n"


def _resources(version: str, location: str) -> list[object]:
    dist = introspect_installed(PYTHONS[version])
    policy = PackagingPolicy()
    app_policy = policy.copy()
    app_policy.resources_location = location
    resources = [*stdlib_resources(dist, policy)]
    resources += pip_install(dist, REQUIREMENTS, app_policy)
    resources += read_package_root(DATA / "compatcheck", ["compatcheck", "compatns"], dist, app_policy)
    return resources


# (version, location of the packages, filesystem_importer)
HARNESS_CASES = [
    ("3.10", "in-memory", False),
    ("3.11", "filesystem-relative:lib", False),
    ("3.12", "in-memory", True),  # namespace portions also come through CPython's PathFinder
    ("3.13", "in-memory", False),
]


@pytest.mark.parametrize(
    "case", HARNESS_CASES, ids=[f"{v}-{loc.split(':')[0]}{'-fsimporter' * fs}" for v, loc, fs in HARNESS_CASES]
)
def test_real_packages_in_plain_interpreter(case: tuple[str, str, bool], tmp_path: Path) -> None:
    version, location, filesystem_importer = case
    dist = introspect_installed(PYTHONS[version])
    result = write_resource_artifacts(
        plan_resources(_resources(version, location)),  # type: ignore[arg-type]
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert result.blob_path is not None
    origin = tmp_path / "inst"
    view = read_packed_resources(result.blob_path.read_bytes())
    assert view.modules["black"][0] == MODULE_EXTENSION | MODULE_PACKAGE
    if location == "in-memory":
        assert view.modules["compatcheck"][1] == 0  # in memory
        assert not (origin / "lib" / "compatcheck" / "__init__.py").exists()
    assert (origin / "lib" / "pytz" / "zoneinfo" / "Europe" / "Paris").is_file()  # placed beside __file__
    proc = subprocess.run(
        [
            str(PYTHONS[version]),
            *("-I", "-S", "-c", _HARNESS),
            *(str(result.blob_path), str(origin), str(IMPORTER), "1" if filesystem_importer else "0"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    check_report(json.loads(proc.stdout), f"{origin}/lib", version)


# --- executables (cargo) ----------------------------------------------------------------------------

TRIPLE_DIR = Path("build") / "x86_64-unknown-linux-gnu" / "debug"
COMPAT_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.resources_location = VARS.get("LOCATION", "in-memory")
    config = dist.make_python_interpreter_config()
    config.run_module = "compatcheck"
    exe = dist.to_python_executable(name = "compatcheck", packaging_policy = policy, config = config)
    exe.add_python_resources(exe.pip_install([REQUIREMENTS]))
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["compatcheck", "compatns"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
""".replace("REQUIREMENTS", ", ".join(f'"{r}"' for r in REQUIREMENTS))


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir for this module's builds (same Python), so crates compile once."""
    return tmp_path_factory.mktemp("cargo-target")


def pyoxidizer(*args: str, cargo_target: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CARGO_TARGET_DIR=str(cargo_target))
    return subprocess.run([sys.executable, "-m", "pyoxidizer_py", *args], env=env, capture_output=True, text=True)


@pytest.mark.cargo
@pytest.mark.parametrize("location", ["in-memory", "filesystem-relative:lib"])
def test_real_packages_in_executable(tmp_path: Path, cargo_target: Path, location: str) -> None:
    project = tmp_path / "compat"
    shutil.copytree(DATA / "compatcheck", project / "src")
    (project / "pyoxidizer.bzl").write_text(COMPAT_CONFIG)
    build = pyoxidizer(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        str(PYTHONS["3.11"]),
        "--var",
        "LOCATION",
        location,
        cargo_target=cargo_target,
    )
    assert build.returncode == 0, build.stderr
    # Run a copy elsewhere, from another directory: every path follows the executable.
    app = tmp_path / "elsewhere" / "app"
    shutil.copytree(project / TRIPLE_DIR / "exe", app)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = subprocess.run(
        [str(app / "compatcheck")],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    check_report(json.loads(result.stdout), f"{app}/lib", "3.11")
    in_memory = location == "in-memory"
    assert (app / "lib" / "compatcheck" / "__init__.py").exists() is not in_memory
    assert (app / "lib" / "compatcheck" / "data" / "motd.txt").is_file()  # read with open(): on disk


# PyOxidizer's documented example for set_resource_handling_mode("files") ("Installing Unclassified
# Files on the Filesystem" in docs/pyoxidizer_packaging_additional_files.rst), unchanged but for
# the numpy version (1.19.0 has no wheels for current CPythons), a run_command to check it, and
# the register_target lines the page leaves out.
FILES_MODE_CONFIG = """
def make_dist():
    return default_python_distribution()

def make_exe(dist):
    policy = dist.make_python_packaging_policy()
    policy.set_resource_handling_mode("files")
    policy.resources_location_fallback = "filesystem-relative:lib"

    python_config = dist.make_python_interpreter_config()
    python_config.module_search_paths = ["$ORIGIN/lib"]
    python_config.run_command = RUN

    exe = dist.to_python_executable(
        name = "numpy",
        packaging_policy = policy,
        config = python_config,
    )

    for resource in exe.pip_download(["numpy==2.2.6"]):
        resource.add_location = "filesystem-relative:lib"
        exe.add_python_resource(resource)

    return exe

register_target("dist", make_dist)
register_target("exe", make_exe, depends = ["dist"], default = True)
resolve_targets()
"""
FILES_MODE_RUN = (
    "import json, numpy, pathlib, sys; "
    "print(json.dumps({'numpy_loader': type(numpy.__loader__).__name__, 'numpy_file': numpy.__file__, "
    "'sum': int(numpy.arange(10).sum()), 'pathlib_loader': type(pathlib.__loader__).__name__, "
    "'fs_encoding': sys.getfilesystemencoding()}))"
)


@pytest.mark.cargo
def test_pyoxidizer_files_mode_example(tmp_path: Path, cargo_target: Path) -> None:
    project = tmp_path / "numpy"
    project.mkdir()
    (project / "pyoxidizer.bzl").write_text(FILES_MODE_CONFIG.replace("RUN", json.dumps(FILES_MODE_RUN)))
    build = pyoxidizer(
        "build", "--path", str(project), "--python-distribution", str(PYTHONS["3.11"]), cargo_target=cargo_target
    )
    assert build.returncode == 0, build.stderr
    install = project / TRIPLE_DIR / "exe"
    assert (install / "lib" / "numpy" / "__init__.py").is_file()
    assert any((install / "lib" / "numpy.libs").iterdir())  # the wheel's shared libraries, as files
    result = subprocess.run([str(install / "numpy")], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # As the page shows: numpy from lib/ through CPython's own importer, the stdlib from memory.
    assert json.loads(result.stdout) == {
        "numpy_loader": "SourceFileLoader",
        "numpy_file": f"{install}/lib/numpy/__init__.py",
        "sum": 45,
        "pathlib_loader": "OxidizedFinder",
        "fs_encoding": "utf-8",
    }


def test_files_mode_policy_keeps_classified_resources() -> None:
    policy = PackagingPolicy()
    policy.set_resource_handling_mode("files")
    # PyOxidizer's ResourceHandlingMode::Files: files only from the scanner, but classified resources
    # (the distribution's standard library) are still included, so the interpreter can start.
    assert (policy.file_scanner_classify_files, policy.file_scanner_emit_files) == (False, True)
    assert policy.include_classified_resources and policy.include_file_resources and policy.allow_files
    assert apply_policy(PythonModuleSource(name="encodings", is_package=True, is_stdlib=True), policy).add.include


_SPLIT_HARNESS = r"""
import sys, types
blob_path, origin, importer_path = sys.argv[1:4]
with open(blob_path, "rb") as f:
    blob = f.read()
module = types.ModuleType("_pyoxidizer_importer")
with open(importer_path, "rb") as f:
    exec(compile(f.read(), "_pyoxidizer_importer.py", "exec"), module.__dict__)
module.install([memoryview(blob)], origin, False)
import nsx.a, nsx.b, nsx.deep.c
print(repr((list(nsx.__path__), nsx.a.WHERE, nsx.b.WHERE, nsx.b.__file__, list(nsx.deep.__path__), nsx.deep.c.WHERE)))
"""


def test_namespace_split_across_locations(tmp_path: Path) -> None:
    """One namespace package with portions in memory and in a filesystem-relative prefix."""
    dist = introspect_installed(PYTHONS["3.12"])
    memory = PackagingPolicy()
    files = PackagingPolicy(resources_location="filesystem-relative:site")
    resources = [
        apply_policy(make_python_module_source("nsx.a", "WHERE = 'memory'\n"), memory),
        apply_policy(make_python_module_source("nsx.b", "WHERE = 'site'\n"), files),
        apply_policy(make_python_module_source("nsx.deep.c", "WHERE = 'deep'\n"), files),
    ]
    result = write_resource_artifacts(
        plan_resources(resources), dist, artifacts_dir=tmp_path / "art", install_dir=tmp_path / "inst"
    )
    assert result.blob_path is not None
    origin = tmp_path / "inst"
    proc = subprocess.run(
        [str(PYTHONS["3.12"]), "-I", "-S", "-c", _SPLIT_HARNESS, str(result.blob_path), str(origin), str(IMPORTER)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr(
        (
            [f"{origin}/lib/nsx", f"{origin}/site/nsx"],
            "memory",
            "site",
            f"{origin}/site/nsx/b.py",
            [f"{origin}/site/nsx/deep"],
            "deep",
        )
    )


def test_missing_encodings_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dist = introspect_installed(PYTHONS["3.11"])
    policy = PackagingPolicy()
    policy.include_classified_resources = False  # what "files" mode did before it kept classified resources
    with caplog.at_level(logging.WARNING):
        write_resource_artifacts(
            plan_resources(stdlib_resources(dist, policy)),
            dist,
            artifacts_dir=tmp_path / "art",
            install_dir=tmp_path / "inst",
        )
    assert "the standard library's encodings package is not among the resources" in caplog.text
