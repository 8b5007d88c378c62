"""Every Markdown table in docs/ and README.md has as many cells in each row as in its header.

GitHub-flavoured Markdown splits a table row at every unescaped ``|``, even inside a code span
(https://github.github.com/gfm/#tables-extension-), so ``str | None`` in a cell must be written
``str \\| None``. markdown-it-py pads or drops cells to fit the header, so its tokens only say where
the rows are; the cells are counted in the source lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _cell_count(line: str) -> int:
    row = line.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return len(_UNESCAPED_PIPE.split(row))


def _table_rows(text: str) -> list[tuple[int, int, int]]:
    """Return (line number, cells, header cells) for every body row of every table in ``text``."""
    lines = text.splitlines()
    md = MarkdownIt("commonmark").enable("table")
    rows: list[tuple[int, int, int]] = []
    header = 0
    in_head = False
    for tok in md.parse(text):
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open" and tok.map is not None:
            lineno = tok.map[0]
            count = _cell_count(lines[lineno])
            if in_head:
                header = count
            else:
                rows.append((lineno + 1, count, header))
    return rows


def test_rows_are_counted_from_the_source() -> None:
    text = "| a | b |\n|---|---|\n| `str \\| None` | x |\n| c | d | e |\n| f |\n"
    assert _table_rows(text) == [(3, 2, 2), (4, 3, 2), (5, 1, 2)]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_table_row_has_the_header_cell_count(path: Path) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{lineno}: {cells} cells, header has {header}"
        for lineno, cells, header in _table_rows(path.read_text(encoding="utf-8"))
        if cells != header
    ]
    assert not bad, "\n".join(bad)
