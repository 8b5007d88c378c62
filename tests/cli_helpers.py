"""Helpers shared by tests that run the ``pyoxidizer-py`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Assert a command failed the way a user should see it: exit 1, one ``error:`` line, no traceback.

    Returns:
        The ``error:`` line.
    """
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pyoxidizer_py ARGS`` from this checkout, as a user's shell would, and capture its output.

    Args:
        args: the command line after the program name.
        cwd: the working directory (default: the current one).
        env: variables added to (or overriding) this process's environment.
        timeout: seconds before the run counts as hung.
    """
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
