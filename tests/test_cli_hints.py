"""Errors point the way: hints name flags that exist, the offline error is short and fast, a fresh
``cargo build`` of a new Rust project says what to run first (issue 17)."""

from __future__ import annotations

import argparse
import ast
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyoxidizer_py.cli import build_parser
from tests.cli_helpers import run_cli as cli

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "pyoxidizer_py"


def command_flags() -> dict[str, set[str]]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {opt for action in p._actions for opt in action.option_strings} for name, p in sub.choices.items()}


def hint_texts() -> list[tuple[str, str]]:
    """(file:line, text) of every ``hint=...`` argument and ``*HINT*`` constant in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            hint_arg = isinstance(node, ast.keyword) and node.arg == "hint"
            constant = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "HINT" in t.id for t in node.targets
            )
            value = node.value if isinstance(node, (ast.keyword, ast.Assign)) and (hint_arg or constant) else None
            if value is not None:
                parts = [c.value for c in ast.walk(value) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", "".join(parts)))
    return found


# Flags of other tools that hints quote (a compiler's configure option), not ours.
FOREIGN_FLAGS = {"--enable-shared", "--format"}


def test_every_flag_a_hint_names_exists() -> None:
    ours = set().union(*command_flags().values())
    hints = hint_texts()
    assert len(hints) > 20
    for where, text in hints:
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text):
            assert flag in ours or flag in FOREIGN_FLAGS, f"{where}: the hint names {flag}, which no command accepts"


def test_commands_that_download_a_distribution_accept_python_distribution() -> None:
    # The offline hint of a failed download says "pass --python-distribution host".
    flags = command_flags()
    for command in ("build", "run", "run-build-script", "generate-python-embedding-artifacts"):
        assert "--python-distribution" in flags[command], command


def refused_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens, connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_extract_error_is_three_lines_fast_and_names_archive_path(tmp_path: Path) -> None:
    env = {
        "PYOXIDIZER_PY_MIRROR": f"http://127.0.0.1:{refused_port()}/pbs",
        "PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache"),
    }
    started = time.monotonic()
    result = cli("python-distribution-extract", str(tmp_path / "d"), "--download-default", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    what, url, hint = result.stderr.splitlines()
    assert what.startswith("error: cannot download cpython-") and "connection refused" in what
    assert url.startswith("  | http://127.0.0.1:") and url.endswith(".tar.zst")
    assert hint.startswith("hint: offline, pass --archive-path ARCHIVE")
    assert "--python-distribution" not in result.stderr  # this command has no such flag
    assert "Traceback" not in result.stderr
    assert elapsed < 15, elapsed  # a generous bound: retries give up within seconds when nothing answers


def test_run_build_script_accepts_python_distribution_and_a_fresh_cargo_build_says_what_to_run(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "PYO3_", "PYOXIDIZER"))}
    env["PYOXIDIZER_PY_MIRROR"] = f"http://127.0.0.1:{refused_port()}/pbs"  # offline
    env["PYOXIDIZER_PY_CACHE_DIR"] = str(tmp_path / "cache")
    made = cli("init-rust-project", "fresh", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert "offline: add --python-distribution host" in made.stderr
    project = tmp_path / "fresh"

    first = subprocess.run(
        ["nice", "-n", "10", "cargo", "build"],
        cwd=project,
        env={**env, "CARGO_BUILD_JOBS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode != 0
    assert "run `pyoxidizer-py run-build-script build.rs` in this project once before the first `cargo build`" in (
        first.stderr
    )
    assert "failed to open PyO3 config file" not in first.stderr

    prep = cli("run-build-script", "build.rs", "--python-distribution", "host", cwd=project, env=env)
    assert prep.returncode == 0, prep.stderr
    pyo3 = (project / "artifacts" / "pyo3-build-config-file.txt").read_text()
    assert f"version={sys.version_info.major}.{sys.version_info.minor}" in pyo3.splitlines()


@pytest.mark.parametrize("command", ["init-config-file", "init-rust-project"])
def test_next_steps_name_flags_that_exist(tmp_path: Path, command: str) -> None:
    result = cli(command, "app", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    flags = command_flags()
    for line in result.stderr.splitlines():
        match = re.search(r"pyoxidizer-py ([a-z-]+)(.*)", line)
        if match and match.group(1) in flags:
            for flag in re.findall(r"--[a-z][a-z-]*", match.group(2)):
                assert flag in flags[match.group(1)], line
