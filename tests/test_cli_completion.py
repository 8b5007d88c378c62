"""`pyoxidizer-py completion SHELL` prints a completion script that the shell itself accepts and uses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyoxidizer_py.cli import build_parser


def _script(shell: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "completion", shell], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def _needs(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")
    return path


def test_every_command_is_in_every_script() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for shell in ("bash", "zsh", "fish"):
        text = _script(shell)
        for name in sub.choices:  # type: ignore[union-attr]
            assert name in text, f"{shell}: {name}"


def test_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "completion", "csh"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'csh'" in done.stderr


def test_bash_completes_commands(tmp_path: Path) -> None:
    bash = _needs("bash")
    script = tmp_path / "pyoxidizer-py.bash"
    script.write_text(_script("bash"))
    probe = (
        f"source {script}; COMP_WORDS=(pyoxidizer-py python-distribution-l); COMP_CWORD=1; "
        'COMP_LINE="pyoxidizer-py python-distribution-l"; COMP_POINT=${#COMP_LINE}; '
        "_shtab_pyoxidizer_py pyoxidizer-py python-distribution-l pyoxidizer-py; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run([bash, "--norc", "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["python-distribution-licenses", "python-distribution-list"]


def test_fish_completes_commands_and_flags(tmp_path: Path) -> None:
    fish = _needs("fish")
    script = tmp_path / "pyoxidizer-py.fish"
    script.write_text(_script("fish"))
    probe = f'source {script}; complete -C "pyoxidizer-py bu"; complete -C "pyoxidizer-py build --rel"'
    out = subprocess.run(
        [fish, "--no-config", "-c", probe], capture_output=True, text=True, check=True, env={"HOME": str(tmp_path)}
    ).stdout
    assert [line.split("\t")[0] for line in out.splitlines()] == ["build", "--release"]


def test_zsh_accepts_the_script(tmp_path: Path) -> None:
    zsh = _needs("zsh")
    script = tmp_path / "_pyoxidizer-py"
    script.write_text(_script("zsh"))
    assert script.read_text().startswith("#compdef pyoxidizer-py")
    subprocess.run([zsh, "-n", str(script)], check=True)
