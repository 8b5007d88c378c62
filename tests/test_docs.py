"""The documentation is generated from, or checked against, the code."""

from __future__ import annotations

import re
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


def test_code_and_docs_cite_public_sources_only() -> None:
    """Docstrings and docs cite PyOxidizer's, CPython's or PyO3's public docs, never notes outside the repo."""
    internal = re.compile(
        r"(pyoxidizer-facts|pbs-and-pyo3-formats|pbs-facts|starlark-engines|user-needs|cpython-init-notes)\.md"
        r"|shared/reference|\b(STYLE|DESIGN)\.md"
    )
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for folder in ("pyoxidizer_py", "templates"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in {".py", ".rs", ".j2", ".toml", ".md", ".bzl"}
        ]
    hits = [
        f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}"
        for path in files
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if internal.search(line)
    ]
    assert not hits, "\n".join(hits)
