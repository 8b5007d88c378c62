"""``extra-files.txt``: the files an executable needs beside it, listed in its artifacts directory.

An artifacts directory written for cargo (``run-build-script``,
``generate-python-embedding-artifacts``) holds, besides the link inputs and
``default_python_config.rs``, files the built executable needs next to it:
filesystem-relative Python resources (``lib/...``), a shared libpython
(``lib/libpython3.X.so.1.0``) and the license file. ``extra-files.txt`` lists them,
one ``/``-separated path relative to the artifacts directory per line, sorted; the
generated project's ``build.rs`` copies each into cargo's output directory
(``target/<profile>/``), so ``cargo run`` works as built.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_text_if_changed

__all__ = ["EXTRA_FILES_FILENAME", "read_extra_files_list", "write_extra_files_list"]

EXTRA_FILES_FILENAME = "extra-files.txt"

_HEADER = (
    "# Files the executable needs beside it, relative to this directory (written by pyoxidizer-py;\n"
    "# the project's build.rs copies them next to the executable cargo builds).\n"
)


def write_extra_files_list(artifacts_dir: Path, paths: Iterable[str]) -> Path:
    """Write ``<artifacts_dir>/extra-files.txt`` (atomically; untouched when unchanged).

    Args:
        artifacts_dir: the artifacts directory.
        paths: ``/``-separated paths relative to ``artifacts_dir``; duplicates are dropped.

    Returns:
        The path of the list file.

    Raises:
        ValueError: a path is absolute or leaves the directory (``..``).
        OSError: the file cannot be written.
    """
    clean = set()
    for p in paths:
        if p.startswith("/") or ".." in p.split("/") or not p:
            raise ValueError(f"extra file path must be relative and inside the artifacts directory: {p!r}")
        clean.add(p)
    dest = artifacts_dir / EXTRA_FILES_FILENAME
    write_text_if_changed(dest, _HEADER + "".join(f"{p}\n" for p in sorted(clean)))
    return dest


def read_extra_files_list(artifacts_dir: Path) -> list[str]:
    """Read ``<artifacts_dir>/extra-files.txt``.

    Returns:
        The listed relative paths, in file order; empty when the file does not exist.

    Raises:
        OSError: the file exists but cannot be read.
    """
    path = artifacts_dir / EXTRA_FILES_FILENAME
    if not path.is_file():
        return []
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
