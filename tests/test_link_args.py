"""``exe.packed_relocations`` and the ``link-args.txt`` the generated build.rs passes to the link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyoxidizer_py.artifacts.link_args import (
    LINK_ARGS_FILENAME,
    PACK_RELATIVE_RELOCS,
    packed_relocations_supported,
    write_link_args,
)

TRIPLE = "x86_64-unknown-linux-gnu"


def test_never_writes_no_argument(tmp_path: Path) -> None:
    assert write_link_args(tmp_path, target_triple=TRIPLE, packed_relocations="never") == ()
    assert (tmp_path / LINK_ARGS_FILENAME).read_text() == ""


def test_auto_packs_only_where_the_build_machine_can(tmp_path: Path) -> None:
    args = write_link_args(tmp_path, target_triple=TRIPLE, packed_relocations="auto")
    expected = (PACK_RELATIVE_RELOCS,) if packed_relocations_supported(TRIPLE) else ()
    assert args == expected
    assert (tmp_path / LINK_ARGS_FILENAME).read_text().splitlines() == list(expected)
    # Foreign targets and other systems never get it: the argument would need their glibc.
    assert not packed_relocations_supported("aarch64-unknown-linux-gnu")
    assert not packed_relocations_supported("x86_64-unknown-linux-musl")
    assert not packed_relocations_supported("x86_64-apple-darwin")


def test_a_bad_value_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    exe = dist.to_python_executable(name = 'app')\n"
        "    exe.packed_relocations = 'always'\n"
        "    return exe\n"
        "register_target('exe', make_exe, default = True)\n"
        "resolve_targets()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(tmp_path), "--python-distribution", "host"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1
    assert "pyoxidizer.bzl:4:" in errors[0] and "packed_relocations" in errors[0] and "'never'" in errors[0]


@pytest.mark.parametrize("value", ["auto", "never"])
def test_both_values_are_accepted(tmp_path: Path, value: str) -> None:
    (tmp_path / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    exe = dist.to_python_executable(name = 'app')\n"
        f"    exe.packed_relocations = {value!r}\n"
        "    return exe\n"
        "register_target('exe', make_exe, default = True)\n"
        "resolve_targets()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "list-targets", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
