"""Size defaults and filters (issue 13): ``stdlib_filter = "imported"``, ``extension_module_filter =
"no-unused-ui"``, the run-time message for a dropped module, and stripped release executables.

The first part runs the filters on real standard libraries and the runtime's importer in plain
interpreters; the last test (marker ``cargo``) builds one release single-file executable.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_runtime import IMPORTER, PYENV_PYTHONS

from pyoxidizer_py.artifacts.packed_resources import read_packed_resources
from pyoxidizer_py.artifacts.resource_artifacts import startup_modules, write_resource_artifacts
from pyoxidizer_py.distribution.installed import introspect_installed
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.resources.collect import make_python_module_source
from pyoxidizer_py.resources.model import PythonExtensionModule, PythonModuleSource, Resource
from pyoxidizer_py.resources.plan import plan_resources
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.stdlib import stdlib_resources
from pyoxidizer_py.resources.stdlib_filter import DROPPED_MODULE, FilterResult, apply_import_filters

PYTHONS = {v: PYENV_PYTHONS[v] for v in ("3.10", "3.11", "3.13")}
APP = """
import json
from xml.dom import minidom
from . import helper

def main():
    import decimal
    return json.dumps({"doc": minidom.parseString("<a/>").documentElement.tagName})

if __name__ == "__main__":
    import argparse  # the application's own entry code is followed
"""


def _app(policy: PackagingPolicy, source: str = APP) -> list[Resource]:
    return [
        make_python_module_source("app", "", is_package=True, policy=policy),
        make_python_module_source("app.main", source, policy=policy),
        make_python_module_source("app.helper", "import csv\n", policy=policy),
    ]


def _filtered(version: str, policy: PackagingPolicy, source: str = APP, **kw: str) -> tuple[Distribution, FilterResult]:
    dist = introspect_installed(PYTHONS[version])
    resources = [r for r in stdlib_resources(dist, policy) if r.add.include] + _app(policy, source)
    startup = startup_modules(PYTHONS[version]).imported
    return dist, apply_import_filters(resources, dist, policy, startup=startup, **kw)


def _kept(result: FilterResult) -> set[str]:
    return {r.name for r in result.resources if isinstance(r, PythonModuleSource | PythonExtensionModule)}


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_imported_keeps_what_the_app_reaches(version: str) -> None:
    policy = PackagingPolicy(stdlib_filter="imported")
    _dist, result = _filtered(version, policy, run_command="import app.main; print(app.main.main())")
    kept = _kept(result)
    dropped = {d.name: d for d in result.dropped}
    # What the application imports, with what those modules import (function bodies included) ...
    assert {"json", "json.decoder", "xml.dom.minidom", "csv", "decimal", "numbers", "argparse"} <= kept
    # ... imports by computed name (xml.dom.domreg imports minidom by name; codecs by name) ...
    assert {"xml.dom.domreg", "encodings.cp1252", "encodings.idna", "traceback"} <= kept
    # ... and what the interpreter imports while it starts.
    assert {"site", "os", "codecs", "io", "_sitebuiltins"} <= kept
    # Unreached modules and lib-dynload extension modules are dropped; built-in ones stay.
    gone = {"sqlite3", "sqlite3.dump", "_sqlite3", "tkinter", "asyncio", "email.mime.text", "http.server"}
    assert gone <= set(dropped)
    assert dropped["sqlite3"].setting == 'stdlib_filter = "imported"'
    assert dropped["_sqlite3"].kind == "extension module"
    assert "posix" in kept and "_json" in kept
    # `python -m` entry points of stdlib modules are not followed (json.tool, pickle's doctest run).
    assert "doctest" not in kept and "pdb" not in kept
    assert 0 < result.kept_stdlib_modules < result.stdlib_modules
    report = result.report()
    assert report.startswith("# Resources left out of this executable by the packaging policy")
    assert 'sqlite3\tmodule\tstdlib_filter = "imported"\n' in report
    assert DROPPED_MODULE in kept


def test_keep_list_and_default_policy() -> None:
    policy = PackagingPolicy(stdlib_filter="imported", stdlib_filter_keep=["sqlite3"])
    _dist, result = _filtered("3.11", policy)
    kept = _kept(result)
    # A kept module brings what it imports, statically and by name (Connection.iterdump).
    assert {"sqlite3", "sqlite3.dbapi2", "sqlite3.dump", "_sqlite3", "datetime"} <= kept
    # The default keeps the whole stdlib except unused Tk / curses modules.
    default = PackagingPolicy()
    _dist, everything = _filtered("3.11", default)
    dropped = {d.name for d in everything.dropped}
    assert {"_tkinter", "tkinter", "tkinter.ttk", "turtle", "_curses", "curses", "_curses_panel"} <= dropped
    assert all(d.setting == 'extension_module_filter = "no-unused-ui"' for d in everything.dropped)
    assert {"sqlite3", "asyncio", "email.mime.text"} <= _kept(everything)
    # ... and keeps them when the application mentions them, or with extension_module_filter = "all".
    _dist, tk_app = _filtered("3.11", default, source="import tkinter\n")
    assert tk_app.dropped == () and DROPPED_MODULE not in _kept(tk_app)
    _dist, explicit = _filtered("3.11", PackagingPolicy(extension_module_filter="all"))
    assert explicit.dropped == ()


_HARNESS = r"""
import sys, types
blob_path, origin, importer_path = sys.argv[1:4]
with open(blob_path, "rb") as f:
    blob = f.read()
module = types.ModuleType("_pyoxidizer_importer")
with open(importer_path, "rb") as f:
    exec(compile(f.read(), "_pyoxidizer_importer.py", "exec"), module.__dict__)
sys.modules["_pyoxidizer_importer"] = module
module.install([memoryview(blob)], origin, False)
import app.main
print(app.main.main())
for name in ("sqlite3", "tkinter", "no_such_module"):
    try:
        __import__(name)
    except ModuleNotFoundError as exc:
        print(name, exc.name, str(exc))
try:
    import xml.dom.minidom, json
except ImportError as exc:
    print("unexpected", exc)
"""


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_dropped_module_import_names_the_policy(version: str, tmp_path: Path) -> None:
    policy = PackagingPolicy(stdlib_filter="imported")
    dist, result = _filtered(version, policy, run_command="import app.main")
    artifacts = write_resource_artifacts(
        plan_resources(result.resources),
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert artifacts.blob_path is not None
    proc = subprocess.run(
        [
            str(PYTHONS[version]),
            "-I",
            "-S",
            "-c",
            _HARNESS,
            str(artifacts.blob_path),
            str(tmp_path / "inst"),
            str(IMPORTER),
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == '{"doc": "a"}'
    assert lines[1] == (
        "sqlite3 sqlite3 No module named 'sqlite3': left out of this executable by policy.stdlib_filter = "
        '"imported" (no import of it was found); list it in policy.stdlib_filter_keep or set '
        'policy.stdlib_filter = "all"'
    )
    assert lines[2].startswith("tkinter tkinter No module named 'tkinter': left out of this executable by policy.")
    assert lines[3] == "no_such_module no_such_module No module named 'no_such_module'"
    assert len(lines) == 4


RELEASE_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.stdlib_filter = "imported"
    config = dist.make_python_interpreter_config()
    config.run_module = "tool"
    exe = dist.to_python_executable(name = "tool", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["tool"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""

TOOL = """
import decimal, sys
print("sum", decimal.Decimal("0.1") + decimal.Decimal("0.2"), "runpy" in sys.modules)
name = "sql" + "ite3"  # an import by computed name: the scan cannot see it
try:
    __import__(name)
except ModuleNotFoundError as exc:
    print(exc)
"""


@pytest.mark.cargo
def test_release_single_file_is_stripped_and_filtered(tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    project = tmp_path / "tool"
    (project / "src").mkdir(parents=True)
    (project / "src" / "tool.py").write_text(TOOL)
    (project / "pyoxidizer.bzl").write_text(RELEASE_CONFIG)
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"), PYOXIDIZER_PY_WORK_DIR=str(tmp_path / "work"))
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyoxidizer_py",
            "build",
            "--release",
            "--path",
            str(project),
            "--python-distribution",
            str(PYTHONS["3.11"]),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert "left out" in build.stderr and "dropped-modules.txt" in build.stderr
    install = project / "build" / "x86_64-unknown-linux-gnu" / "release" / "exe"
    exe = install / "tool"
    # Stripped: no symbol table and no debug info, but the dynamic symbols extension modules need.
    with exe.open("rb") as f:
        elf = ELFFile(f)
        sections = {s.name for s in elf.iter_sections()}
        assert ".symtab" not in sections and ".debug_info" not in sections
        assert elf.get_section_by_name(".dynsym").num_symbols() > 1000
    # Extension modules are stripped of debug info too (pyenv's carry it); they are in memory, compressed.
    blob = next((tmp_path / "work").rglob("release/*/artifacts/packed-resources")).read_bytes()
    view = read_packed_resources(blob)
    assert view.modules["_decimal"][4] < 0  # a zstd frame
    decimal = view.extension_data("_decimal")
    assert decimal is not None
    with io.BytesIO(decimal) as f:
        assert ELFFile(f).get_section_by_name(".debug_info") is None
    original = next(Path(PYTHONS["3.11"]).parent.parent.glob("lib/python3.11/lib-dynload/_decimal.*.so"))
    assert len(decimal) < original.stat().st_size / 2
    assert not (install / "lib").exists()
    # A copy runs alone.
    alone = tmp_path / "alone"
    shutil.copytree(install, alone)
    proc = subprocess.run([str(alone / "tool")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "sum 0.3 False"  # run_module ran without importing runpy
    assert out[1].startswith("No module named 'sqlite3': left out of this executable by policy.stdlib_filter")
    # The build names its report (in the work dir, outside the output tree).
    found = re.search(r"list in (\S+/artifacts/dropped-modules\.txt)", build.stderr)
    assert found, build.stderr
    report = Path(found.group(1)).read_text()
    assert 'sqlite3\tmodule\tstdlib_filter = "imported"' in report.splitlines()
