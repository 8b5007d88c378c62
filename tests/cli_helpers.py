"""Helpers shared by tests that run the ``pyoxidizer-py`` command line."""

from __future__ import annotations

import subprocess


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
