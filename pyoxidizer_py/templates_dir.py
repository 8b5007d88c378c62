"""Where the ``templates/`` tree lives: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["templates_dir"]


def templates_dir() -> Path:
    """Return the templates directory.

    Returns:
        ``pyoxidizer_py/_templates`` in an installed wheel, else ``<checkout>/templates``.

    Raises:
        FileNotFoundError: neither exists (a broken installation).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pyoxidizer-py templates not found near {here}")
