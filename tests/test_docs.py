"""The documentation is generated from, or checked against, the code."""

from __future__ import annotations

from pathlib import Path

from pyoxidizer_py.cli import build_parser
from pyoxidizer_py.config.reference import render_reference

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert text == render_reference(), "regenerate: python -m pyoxidizer_py.config.reference > docs/configuration.md"


def test_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"`{name}" in readme, f"README does not mention {name}"
