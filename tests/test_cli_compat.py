"""Every flag PyOxidizer 0.24's CLI accepts is accepted by ours with the same arity (issue 19).

The reference is the real ``pyoxidizer`` 0.24.0 wheel from PyPI (its binary runs here and
prints clap's ``--help``), installed into a virtual environment of this module's own.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyoxidizer_py.cli import build_parser

COMMANDS = ["build", "run", "list-targets", "init-config-file", "init-rust-project"]
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Flag:
    """One option: how many values it takes."""

    values: int


@dataclass(frozen=True)
class Positional:
    """One positional argument: required or not, one or many."""

    required: bool
    many: bool


@pytest.fixture(scope="module")
def pyoxidizer_024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pyoxidizer`` 0.24.0 from PyPI in a fresh venv (pip's own cache makes reruns quick)."""
    env_dir = tmp_path_factory.mktemp("pyoxidizer-0.24")
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    done = subprocess.run([*pip, "pyoxidizer==0.24.0"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    exe = env_dir / "bin" / "pyoxidizer"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("PyOxidizer 0.24.0")
    return exe


_OPTION = re.compile(r"^\s+(?:-(\w), )?(--[\w-]+)((?: <[^>]+>)*)(\.\.\.)?(?:\s|$)")
_POSITIONAL = re.compile(r"^\s+([<\[])([\w-]+)[>\]](\.\.\.)?(?:\s|$)")


def clap_interface(help_text: str) -> tuple[dict[str, Flag], dict[str, Positional]]:
    """Parse clap's short ``-h`` output: ``Options:`` and ``Arguments:`` sections."""
    flags: dict[str, Flag] = {}
    positionals: dict[str, Positional] = {}
    section = ""
    for line in help_text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            section = line[:-1]
            continue
        if section == "Options":
            m = _OPTION.match(line)
            if m:
                values = m.group(3).count("<")
                flags[m.group(2)] = Flag(values)
                if m.group(1):
                    flags["-" + m.group(1)] = Flag(values)
        elif section == "Arguments":
            m = _POSITIONAL.match(line)
            if m:
                positionals[m.group(2).lower()] = Positional(required=m.group(1) == "<", many=bool(m.group(3)))
    return flags, positionals


def _subparser(name: str | None) -> argparse.ArgumentParser:
    parser = build_parser()
    if name is None:
        return parser
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def our_interface(name: str | None) -> tuple[dict[str, Flag], dict[str, Positional]]:
    """The same shape, read from our argparse parser."""
    flags: dict[str, Flag] = {}
    positionals: dict[str, Positional] = {}
    for action in _subparser(name)._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            if action.nargs == 0 or isinstance(action, argparse._CountAction):
                values = 0
            elif isinstance(action.nargs, int):
                values = action.nargs
            else:
                values = 1
            for opt in action.option_strings:
                flags[opt] = Flag(values)
        else:
            many = action.nargs in ("*", "+", argparse.REMAINDER)
            required = action.nargs not in ("*", "?", argparse.REMAINDER)
            positionals[action.dest] = Positional(required=required, many=many)
    return flags, positionals


def _help(exe: Path, command: str | None) -> str:
    args = [str(exe), *([command] if command else []), "-h"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("command", [None, *COMMANDS], ids=["global", *COMMANDS])
def test_every_pyoxidizer_flag_is_accepted_with_the_same_arity(pyoxidizer_024: Path, command: str | None) -> None:
    theirs, their_positionals = clap_interface(_help(pyoxidizer_024, command))
    ours, our_positionals = our_interface(command)
    assert theirs, "parsed no options from PyOxidizer's help"
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"{command or 'global'}: PyOxidizer flags we do not accept: {missing}"
    for flag, shape in theirs.items():
        assert ours[flag] == shape, (command, flag, ours[flag], shape)
    # Positionals: same number, same required/optional and one/many shape, in order.
    assert list(our_positionals.values())[: len(their_positionals)] == list(their_positionals.values()), (
        command,
        our_positionals,
        their_positionals,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--system-rust", "--verbose", "build", "--release", "--target-triple", "x86_64-unknown-linux-gnu"],
        ["build", "--system-rust", "--path", ".", "--var", "A", "1", "--var-env", "B", "HOME", "install", "exe"],
        ["build", "--verbose", "--verbose", "install"],
        ["run", "--system-rust", "--target", "install", "--release", "--", "--flag-for-the-program", "x"],
        ["list-targets", "--system-rust", "."],
        ["init-config-file", "--system-rust", "--python-code", "print(1)", "--pip-install", "six", "app"],
        ["init-rust-project", "--system-rust", "app"],
    ],
)
def test_pyoxidizer_command_lines_parse(argv: list[str]) -> None:
    """Command lines written for PyOxidizer (as in Pants' ``[pyoxidizer] args``) parse as they did."""
    ns = build_parser().parse_args(argv)
    assert ns.command == next(a for a in argv if not a.startswith("-"))


def test_system_rust_env_var_is_ignored(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "list-targets", str(REPO / "examples" / "hello")],
        env={**os.environ, "PYTHONPATH": str(REPO), "PYOXIDIZER_SYSTEM_RUST": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["exe", "*install"]
