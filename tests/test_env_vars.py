"""docs/cli.md's "Environment variables" table names every variable the code reads, and only those.

The code is pyoxidizer_py/ (Python) and templates/ (the generated build.rs and the runtime crate).
A variable is "read" where the code looks it up (``environ.get("X")``, ``env["X"]``,
``std::env::var("X")``), names it in a ``*_ENV`` constant or as a ``PYOXIDIZER_PY_*`` string, or
filters the environment by a prefix (``k.startswith("PIP_")``: documented as ``PIP_*``).
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent

_READS = (
    re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["'](?!\]\s*=[^=])"""),
    re.compile(r"""_ENV\s*=\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""["'](PYOXIDIZER_PY_[A-Z0-9_]*[A-Z0-9])["']"""),
    re.compile(r"""_tool\(["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""_CARGO_VARS\s*=\s*\(([^)]*)\)"""),
    re.compile(r"""env::var(?:_os)?\("([A-Z][A-Z0-9_]*)"\)"""),
)
_PREFIX = re.compile(r"""k\.startswith\(["']([A-Z][A-Z0-9_]*)["']\)""")
# Documented but not read by our code: PyOxidizer's variables nothing reads any more, and cargo's own.
_NOT_OURS = ("nothing", "cargo ")


def _code_variables() -> set[str]:
    names: set[str] = set()
    files = [*(ROOT / "pyoxidizer_py").rglob("*.py"), *(ROOT / "templates").rglob("*.rs")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in _READS:
            for match in pattern.finditer(text):
                names.update(re.findall(r"[A-Z][A-Z0-9_]*[A-Z0-9]", match.group(1)))
        names.update(f"{m.group(1)}*" for m in _PREFIX.finditer(text))
    return names


def _documented() -> dict[str, str]:
    """``{variable: "read by" cell}`` from the table under "## Environment variables" in docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    tokens = MarkdownIt("commonmark").enable("table").parse(section)
    tables = sum(1 for t in tokens if t.type == "table_open")
    assert tables == 1, f"the section has {tables} tables; keep every variable in one"
    rows: list[list[str]] = []
    for tok in tokens:
        if tok.type == "tr_open":
            rows.append([])
        elif tok.type == "inline" and rows:
            rows[-1].append(tok.content)
    header, *body = rows
    assert header[:2] == ["variable", "read by"]
    out: dict[str, str] = {}
    for cells in body:
        for name in re.findall(r"`([A-Z][A-Z0-9_]*\*?)`", cells[0]):
            out[name] = cells[1]
    return out


def test_the_scan_finds_the_variables_it_should() -> None:
    found = _code_variables()
    assert {"PYOXIDIZER_PY_HOST_PYTHON", "PYOXIDIZER_PY_EVAL_MAX_STEPS", "PIP_*", "CARGO_MANIFEST_DIR"} <= found
    assert {"PYOXIDIZER_PY_NO_MEMFD", "PYOXIDIZER_EXE", "CC", "AR"} <= found


def test_every_variable_read_is_in_the_table() -> None:
    missing = sorted(_code_variables() - set(_documented()))
    assert not missing, f"add to docs/cli.md's environment table: {missing}"


def test_every_variable_in_the_table_is_read() -> None:
    read = _code_variables()
    stale = sorted(n for n, by in _documented().items() if n not in read and not by.startswith(_NOT_OURS))
    assert not stale, f"docs/cli.md documents variables nothing reads: {stale}"
