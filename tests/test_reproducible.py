"""Reproducible builds (issue 16): the same project built twice, in two directories of different
lengths, from different working directories, with different source mtimes, gives byte-identical
executables and install trees, for the debug and the release profile; no build path leaks into
the executable."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def build_app(root: Path, *, release: bool, cwd: Path, mtime: float | None = None) -> Path:
    """Copy the test app to ``root/app`` and build it; returns the install directory."""
    project = root / "app"
    shutil.copytree(APP, project, ignore=shutil.ignore_patterns("build", "__pycache__"))
    if mtime is not None:
        for path in project.rglob("*"):
            os.utime(path, (mtime, mtime))
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "SOURCE_DATE_EPOCH")}
    args = [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(project),
            "--python-distribution", PY311, "--var", "LINK_MODE", "static"]
    if release:
        args.append("--release")
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return project / "build" / TRIPLE / ("release" if release else "debug") / "install"


def tree_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def build_twice(tmp: Path, *, release: bool) -> tuple[Path, Path]:
    first = build_app(tmp / "one", release=release, cwd=tmp)
    elsewhere = tmp / "a-much-longer-directory-name" / "nested"
    elsewhere.mkdir(parents=True)
    second = build_app(elsewhere, release=release, cwd=Path("/"), mtime=1_000_000_000)
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
    # The packed resources are embedded in the executable; where the artifacts directory is
    # kept under the project's build dir, its copy is identical too.
    packed = [sorted(p.parent.parent.parent.parent.rglob("packed-resources")) for p in (first, second)]
    assert len(packed[0]) == len(packed[1])
    for a, b in zip(*packed, strict=True):
        assert a.read_bytes() == b.read_bytes()
    data = exe_a.read_bytes()
    for root in (first, second):
        project_root = root.parent.parent.parent.parent  # <tmp>/.../app
        assert str(project_root).encode() not in data
    assert str(Path.home() / ".cargo").encode() not in data
    result = subprocess.run([str(exe_b)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["version: 1.2.3", "libyaml: True"]


@pytest.mark.cargo
def test_debug_builds_are_byte_identical(debug_builds: tuple[Path, Path]) -> None:
    _assert_identical(*debug_builds)


@pytest.mark.cargo
def test_release_builds_are_byte_identical(release_builds: tuple[Path, Path]) -> None:
    _assert_identical(*release_builds)


def test_remaps_longest_prefix_last(tmp_path: Path) -> None:
    target = tmp_path / "build" / "target"
    project = tmp_path / "build" / "target" / "nested-project"
    remaps = build_path_remaps(
        project_dir=project, artifacts_dir=tmp_path / "a", target_dir=target,
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
        ["cargo", "metadata", "--locked", "--offline", "--format-version", "1",
         "--manifest-path", str(project.manifest_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
