"""A new config or Rust project from any directory name, and the next steps it prints (issue 17)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli as cli

REPO = Path(__file__).resolve().parents[1]


def exe_name(config: Path) -> str:
    match = re.search(r'to_python_executable\(\s*name = "([^"]*)"', config.read_text())
    assert match, config.read_text()
    return match.group(1)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("my app", "my-app"),
        ("café au lait", "cafe-au-lait"),
        ("2048", "app-2048"),
        ("test", "test-app"),
        ("日本", "app"),
    ],
)
def test_odd_directory_names_become_valid_program_names_with_a_note(tmp_path: Path, given: str, expected: str) -> None:
    result = cli("init-config-file", given, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert exe_name(tmp_path / given / "pyoxidizer.bzl") == expected
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: the program is named {expected}: {given!r} is not a valid executable name "
        "(letters, digits, '-' and '_', starting with a letter)"
    ]
    listing = cli("list-targets", given, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "exe" in listing.stdout.split()


def test_a_valid_name_is_kept_without_a_note(tmp_path: Path) -> None:
    result = cli("init-config-file", "My_App-2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert exe_name(tmp_path / "My_App-2" / "pyoxidizer.bzl") == "My_App-2"
    assert "note:" not in result.stderr


def test_init_rust_project_with_a_space_names_the_cargo_package(tmp_path: Path) -> None:
    result = cli("init-rust-project", "my app", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: the program is named my-app:" in result.stderr
    assert "  cd 'my app'" in result.stderr.splitlines()
    project = tmp_path / "my app"
    assert exe_name(project / "pyoxidizer.bzl") == "my-app"
    meta = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert meta.returncode == 0, meta.stderr
    (package,) = [p for p in json.loads(meta.stdout)["packages"] if p["manifest_path"] == str(project / "Cargo.toml")]
    assert package["name"] == "my-app"
    assert [t["name"] for t in package["targets"] if "bin" in t["kind"]] == ["my-app"]


@pytest.mark.cargo
def test_offline_next_step_printed_by_init_config_file_builds_and_runs(tmp_path: Path) -> None:
    result = cli("init-config-file", "my app", "--python-code", "print('hello from my app')", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = [line.strip() for line in result.stderr.splitlines() if line.startswith("  pyoxidizer-py ")]
    assert commands == [
        "pyoxidizer-py run --path 'my app'",
        "pyoxidizer-py run --path 'my app' --python-distribution host",
    ]
    offline = {
        "PYOXIDIZER_PY_MIRROR": "http://127.0.0.1:9/pbs",  # nothing listens: any download would fail
        "PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache"),
        "PYOXIDIZER_PY_DISTRIBUTION": "",
        "CARGO_TARGET_DIR": str(tmp_path / "target"),
    }
    run = cli(*shlex.split(commands[1])[1:], cwd=tmp_path, env=offline)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "hello from my app\n"
    assert (tmp_path / "my app" / "build" / "x86_64-unknown-linux-gnu" / "debug" / "install" / "my-app").is_file()
