"""What is inside, provably (issue 16).

- The license report (COPYING.txt) of an app with two PyPI distributions (PyYAML with its C
  extension, packaging) names each distribution, CPython and every linked crate, with license texts.
- The CycloneDX 1.6 SBOM beside the executable validates, lists the same components, and is
  embedded in the executable (``pyoxidizer-py sbom`` reads it back).
- Reproducible builds: the same project built twice, in two directories of different lengths,
  from different working directories, with different source mtimes, gives byte-identical
  executables and install trees, for the debug and the release profile; no build path leaks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line
from fixtures_pbs import PbsArchives, pbs_archives  # noqa: F401 - fixture

from pyoxidizer_py.artifacts.licensing import (
    Component,
    check_unknown_licenses,
    cpython_components,
    python_distribution_components,
)
from pyoxidizer_py.artifacts.sbom import read_embedded_sbom, validate_sbom
from pyoxidizer_py.distribution.pbs.distribution import distribution_from_tree
from pyoxidizer_py.distribution.pbs.extract import extract_members
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.model import File, PythonExtensionModule, PythonPackageDistributionResource
from pyoxidizer_py.rust_project.lockfile import LOCK_PLACEHOLDER_NAME, lock_template_path, render_lockfile
from pyoxidizer_py.rust_project.project import render_project
from pyoxidizer_py.rust_project.reproducible import (
    PathRemap,
    build_path_remaps,
    remap_flags,
    source_date_epoch,
    write_rustc_wrapper,
)

APP = Path(__file__).resolve().parent / "data" / "trustapp"
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
TRIPLE = "x86_64-unknown-linux-gnu"


def build_app(
    root: Path,
    *,
    release: bool,
    cwd: Path,
    mtime: float | None = None,
    source_date_epoch: int | None = None,
    licenses_filename: str | None = None,
) -> Path:
    """Copy the test app to ``root/app`` and build it with the work dir ``root/work``; returns the
    install directory (``root/app/build/<triple>/<profile>/install``)."""
    project = root / "app"
    shutil.copytree(APP, project, ignore=shutil.ignore_patterns("build", "__pycache__"))
    if mtime is not None:
        for path in project.rglob("*"):
            os.utime(path, (mtime, mtime))
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "SOURCE_DATE_EPOCH")}
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    args = [
        sys.executable,
        "-m",
        "pyoxidizer_py",
        "build",
        "--path",
        str(project),
        "--python-distribution",
        PY311,
        "--var",
        "LINK_MODE",
        "static",
        "--work-dir",
        str(root / "work"),
    ]
    if licenses_filename is not None:
        args += ["--var", "LICENSES", licenses_filename]
    if release:
        args.append("--release")
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return project / "build" / TRIPLE / ("release" if release else "debug") / "install"


def tree_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


SOURCE_DATE_EPOCH = 1_700_000_000


def build_twice(tmp: Path, *, release: bool) -> tuple[Path, Path]:
    """Two builds; the release pair also sets SOURCE_DATE_EPOCH (the same value for both) and names
    its license report NOTICES.txt (``exe.licenses_filename``)."""
    epoch = SOURCE_DATE_EPOCH if release else None
    licenses = "NOTICES.txt" if release else None
    first = build_app(tmp / "one", release=release, cwd=tmp, source_date_epoch=epoch, licenses_filename=licenses)
    elsewhere = tmp / "a-much-longer-directory-name" / "nested"
    elsewhere.mkdir(parents=True)
    second = build_app(
        elsewhere,
        release=release,
        cwd=Path("/"),
        mtime=1_000_000_000,
        source_date_epoch=epoch,
        licenses_filename=licenses,
    )
    return first, second


@pytest.fixture(scope="module")
def debug_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_twice(tmp_path_factory.mktemp("repro-debug"), release=False)


@pytest.fixture(scope="module")
def release_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_twice(tmp_path_factory.mktemp("repro-release"), release=True)


def _assert_identical(first: Path, second: Path) -> None:
    exe_a, exe_b = first / "trustapp", second / "trustapp"
    assert hashlib.sha256(exe_a.read_bytes()).hexdigest() == hashlib.sha256(exe_b.read_bytes()).hexdigest()
    assert tree_digests(first) == tree_digests(second)
    # The packed resources (embedded in the executable) as written in each build's work dir,
    # whose paths differ in length.
    roots = [install.parents[4] for install in (first, second)]  # <root>/app/build/<triple>/<profile>/install
    packed = [list((root / "work").rglob("packed-resources")) for root in roots]
    assert [len(found) for found in packed] == [1, 1]
    assert packed[0][0].read_bytes() == packed[1][0].read_bytes()
    data = exe_a.read_bytes()
    for root in roots:
        assert str(root / "app").encode() not in data
        assert str(root / "work").encode() not in data
    assert str(Path.home() / ".cargo").encode() not in data
    # The SBOM beside the executable is the one inside it.
    assert read_embedded_sbom(exe_b) == (second / "sbom.cdx.json").read_text()
    result = subprocess.run([str(exe_b)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["version: 1.2.3", "libyaml: True"]


@pytest.mark.cargo
def test_debug_builds_are_byte_identical(debug_builds: tuple[Path, Path]) -> None:
    _assert_identical(*debug_builds)


@pytest.mark.cargo
def test_release_builds_are_byte_identical(release_builds: tuple[Path, Path]) -> None:
    _assert_identical(*release_builds)
    install = release_builds[0]
    assert sorted(p.name for p in install.iterdir()) == ["NOTICES.txt", "sbom.cdx.json", "trustapp"]
    assert "PyYAML 6.0.2" in (install / "NOTICES.txt").read_text()
    bom = json.loads((release_builds[0] / "sbom.cdx.json").read_text())
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"  # SOURCE_DATE_EPOCH


def test_remaps_longest_prefix_last(tmp_path: Path) -> None:
    target = tmp_path / "build" / "target"
    project = tmp_path / "build" / "target" / "nested-project"
    remaps = build_path_remaps(
        project_dir=project,
        artifacts_dir=tmp_path / "a",
        target_dir=target,
        environ={"CARGO_HOME": str(tmp_path / "cargo"), "PATH": os.environ["PATH"]},
    )
    sources = [r.source for r in remaps]
    assert sources == sorted(sources, key=len)
    assert sources.index(str(target)) < sources.index(str(project))
    assert PathRemap(source=str(tmp_path / "cargo"), replacement="/cargo") in remaps


def test_rustc_wrapper_appends_flags_and_chains(tmp_path: Path) -> None:
    remaps = (PathRemap(source="/x y", replacement="/p"),)
    plain = write_rustc_wrapper(tmp_path, remaps)
    echo = tmp_path / "echo-args"
    echo.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    echo.chmod(0o755)
    out = subprocess.run([str(plain), str(echo), "-vV"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["-vV", *remap_flags(remaps)]
    chained = write_rustc_wrapper(tmp_path, remaps, chained_wrapper=str(echo))
    assert chained != plain
    out = subprocess.run([str(chained), "rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["rustc", "-vV", "--remap-path-prefix=/x y=/p"]


def test_source_date_epoch() -> None:
    assert source_date_epoch({}) is None
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1_700_000_000
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        source_date_epoch({"SOURCE_DATE_EPOCH": "yesterday"})


def test_generated_project_gets_the_shipped_lock(tmp_path: Path) -> None:
    project = render_project(tmp_path / "demo", name="demo")
    lock = (project.path / "Cargo.lock").read_text()
    assert lock == render_lockfile("demo")
    assert 'name = "demo"' in lock and LOCK_PLACEHOLDER_NAME not in lock
    assert render_lockfile(LOCK_PLACEHOLDER_NAME) == lock_template_path().read_text()


@pytest.mark.cargo
def test_shipped_lock_is_current(tmp_path: Path) -> None:
    """The shipped lock covers every dependency of the templates: cargo accepts it with --locked.

    When this fails, run `python -m pyoxidizer_py.rust_project.lockfile` and commit the result.
    """
    project = render_project(tmp_path / "demo", name="demo")
    result = subprocess.run(
        [
            "cargo",
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--manifest-path",
            str(project.manifest_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


# --- licensing report and SBOM ------------------------------------------------------------------

LINKED_CRATES = {"libc", "pyo3", "pyo3-ffi", "pyembed", "once_cell"}


def report_summary(copying: str) -> dict[str, str]:
    """``{"NAME VERSION": license}`` from COPYING.txt's summary tables."""
    summary = copying.split("Components with an unknown license:", maxsplit=1)[0]
    out = {}
    for line in summary.splitlines():
        m = re.match(r"^  (\S+ \S+)\s{2,}(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.mark.cargo
def test_copying_names_every_component_with_license_texts(debug_builds: tuple[Path, Path]) -> None:
    copying = (debug_builds[0] / "COPYING.txt").read_text()
    summary = report_summary(copying)
    assert summary["CPython 3.11.7"] == "Python-2.0"
    assert summary["PyYAML 6.0.2"] == "MIT"
    assert summary["packaging 25.0"] == "Apache Software License; BSD License"
    crates = {title.split()[0] for title in summary} - {"CPython", "PyYAML", "packaging"}
    assert crates >= LINKED_CRATES
    assert "pyo3-build-config" not in crates  # a build dependency, not linked
    assert "Components with an unknown license: none" in copying
    sections = copying.split("=" * 78 + "\n")[1:]
    headings = [sections[i].strip() for i in range(0, len(sections), 2)]
    bodies = [sections[i] for i in range(1, len(sections), 2)]
    assert len(headings) == len(summary)
    for heading, body in zip(headings, bodies, strict=True):
        assert "\n--- " in body, f"{heading} has no license text"
    assert "PyYAML 6.0.2 (python-distribution)" in headings
    yaml_body = bodies[headings.index("PyYAML 6.0.2 (python-distribution)")]
    assert "Permission is hereby granted" in yaml_body and "Kirill Simonov" in yaml_body
    packaging_body = bodies[headings.index("packaging 25.0 (python-distribution)")]
    assert "--- licenses/LICENSE.APACHE ---" in packaging_body and "--- licenses/LICENSE.BSD ---" in packaging_body
    cpython_body = bodies[headings.index("CPython 3.11.7 (cpython)")]
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in cpython_body
    pyembed_body = bodies[headings.index("pyembed 0.1.0 (rust-crate)")]
    assert "Mozilla Public License Version 2.0" in pyembed_body


@pytest.mark.cargo
def test_sbom_validates_and_lists_the_same_components(debug_builds: tuple[Path, Path]) -> None:
    install = debug_builds[0]
    text = (install / "sbom.cdx.json").read_text()
    validate_sbom(text)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6" and bom["metadata"]["component"]["name"] == "trustapp"
    assert "timestamp" not in bom["metadata"]  # no SOURCE_DATE_EPOCH: no build time recorded
    by_purl = {c["purl"]: c for c in bom["components"]}
    assert {
        "pkg:generic/cpython@3.11.7",
        "pkg:pypi/pyyaml@6.0.2",
        "pkg:pypi/packaging@25.0",
        "pkg:cargo/pyo3@0.30.1",
        "pkg:generic/pyembed@0.1.0",
    } <= set(by_purl)
    summary = report_summary((install / "COPYING.txt").read_text())
    assert sorted(f"{c['name']} {c['version']}" for c in bom["components"]) == sorted(summary)
    assert by_purl["pkg:pypi/pyyaml@6.0.2"]["licenses"] == [{"expression": "MIT"}]
    assert by_purl["pkg:cargo/pyo3@0.30.1"]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    for purl, comp in by_purl.items():
        if purl.startswith(("pkg:pypi/", "pkg:cargo/")):
            assert [h["alg"] for h in comp["hashes"]] == ["SHA-256"], purl
    lock = next(p for p in debug_builds[0].parents if p.name == "app")
    del lock
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert sorted(deps["pkg:generic/trustapp"]) == sorted(by_purl)


@pytest.mark.cargo
def test_embedded_sbom_reads_back(debug_builds: tuple[Path, Path], tmp_path: Path) -> None:
    install = debug_builds[0]
    assert read_embedded_sbom(install / "trustapp") == (install / "sbom.cdx.json").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "sbom", "--validate", str(install / "trustapp")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (install / "sbom.cdx.json").read_text()
    plain = subprocess.run([sys.executable, "-m", "pyoxidizer_py", "sbom", "/bin/true"], capture_output=True, text=True)
    assert "/bin/true has no embedded SBOM" in one_error_line(plain)
    not_elf = tmp_path / "notes.txt"
    not_elf.write_text("hello")
    bad = subprocess.run([sys.executable, "-m", "pyoxidizer_py", "sbom", str(not_elf)], capture_output=True, text=True)
    assert "is not an ELF executable" in one_error_line(bad)


def test_unknown_license_fails_the_build_by_policy(tmp_path: Path) -> None:
    project = tmp_path / "nolicense"
    shutil.copytree(Path(__file__).resolve().parent / "data" / "nolicense", project)
    base = [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(project), "--python-distribution", PY311]
    result = subprocess.run([*base, "--var", "POLICY", "error"], capture_output=True, text=True)
    line = one_error_line(result)
    assert "unknown license for nolicense 1.0 (python-distribution), unlicensed-crate 0.1.0 (rust-crate)" in line
    assert not list(project.rglob("install"))


def _dist_records(directory: str, files: dict[str, bytes]) -> list[PythonPackageDistributionResource]:
    name, version = directory.removesuffix(".dist-info").split("-")
    return [
        PythonPackageDistributionResource(package=name, version=version, name=rel, directory=directory, data=data)
        for rel, data in files.items()
    ]


def test_distribution_license_sources() -> None:
    pep639 = _dist_records(
        "demo_pkg-2.0.dist-info",
        {
            "METADATA": b"Metadata-Version: 2.4\nName: Demo_Pkg\nVersion: 2.0\nLicense-Expression: mit OR apache-2.0\n"
            b"License-File: LICENSE\nLicense-File: NOTICE\n\n",
            "licenses/LICENSE": b"MIT text\n",
            "licenses/NOTICE": b"notice\n",
            "RECORD": b"demo_pkg/__init__.py,,\n",
        },
    )
    legacy = _dist_records(
        "old-1.0.dist-info",
        {
            "METADATA": b"Metadata-Version: 2.1\nName: old\nVersion: 1.0\nLicense: BSD-3-Clause\n\n",
            "COPYING": b"copying text\n",
        },
    )
    bare = _dist_records("bare-0.1.dist-info", {"METADATA": b"Metadata-Version: 2.1\nName: bare\nVersion: 0.1\n\n"})
    # "files" resource handling mode: metadata arrives as plain File resources.
    as_files = [
        File(
            path_in_install="plain-3.1.dist-info/METADATA",
            data=b"Metadata-Version: 2.1\nName: plain\nVersion: 3.1\n"
            b"Classifier: License :: OSI Approved :: MIT License\n\n",
        ),
        File(path_in_install="plain-3.1.dist-info/LICENSE.txt", data=b"plain license\n"),
        File(path_in_install="plain/__init__.py", data=b""),
    ]
    comps = {c.name: c for c in python_distribution_components([*pep639, *legacy, *bare, *as_files])}
    assert comps["plain"].license_expression == "MIT" and [t.name for t in comps["plain"].texts] == ["LICENSE.txt"]
    demo = comps["Demo_Pkg"]
    assert demo.license_expression == "MIT OR Apache-2.0"
    assert [t.name for t in demo.texts] == ["licenses/LICENSE", "licenses/NOTICE"]
    assert demo.purl == "pkg:pypi/demo-pkg@2.0"
    assert demo.hashes == (("SHA-256", hashlib.sha256(b"demo_pkg/__init__.py,,\n").hexdigest()),)
    assert comps["old"].license_expression == "BSD-3-Clause"
    assert [t.name for t in comps["old"].texts] == ["COPYING"]
    assert comps["bare"].is_unknown and comps["bare"].license_label == "UNKNOWN"
    with pytest.raises(BuildError, match=r"app: unknown license for bare 0.1 \(python-distribution\)"):
        check_unknown_licenses(list(comps.values()), "error", exe_name="app")
    assert check_unknown_licenses(list(comps.values()), "ignore", exe_name="app") == [comps["bare"]]
    assert isinstance(demo, Component)


def test_python_build_standalone_licenses(tmp_path: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    archive = pbs_archives.full_v8
    root = tmp_path / "tree"
    extract_members(archive.path, root)
    dist = distribution_from_tree(root, description=str(archive.path), sha256=archive.sha256)
    ssl = PythonExtensionModule(name="_ssl", is_stdlib=True, file_suffix=".so", path=root / "x.so")
    comps = cpython_components(dist, [ssl])
    core = comps[0]
    assert (core.name, core.version, core.license_expression) == (
        "CPython",
        archive.python_version,
        "Python-2.0 OR CNRI-Python",
    )
    assert core.purl == f"pkg:generic/cpython@{archive.python_version}"
    assert core.hashes == (("SHA-256", archive.sha256),)
    assert [t.name for t in core.texts] == ["licenses/LICENSE.cpython.txt"]
    libs = {c.name: c for c in comps[1:]}
    # _ssl ships as a lib-dynload module that this executable includes; _decimal's module is not included.
    assert libs["_ssl"].license_expression == "Apache-2.0" and libs["_ssl"].used_by == ("_ssl",)
    assert [t.text for t in libs["_ssl"].texts] == ["license text of _ssl\n"]
    assert "_decimal" not in libs
    # pyexpat is compiled into libpython, so its license is reported whether or not resources name it.
    expat = next(c for c in comps[1:] if "pyexpat" in c.used_by)
    assert expat.license_expression == "MIT" and expat.kind == "library"
