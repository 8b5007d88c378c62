"""Where the ``templates/`` tree lives: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

from pyoxidizer_py.errors import PyOxidizerError

__all__ = ["templates_dir"]


def templates_dir() -> Path:
    """Return the templates directory (``config/``, ``project/`` and ``pyembed/`` inside).

    Returns:
        ``pyoxidizer_py/_templates`` in an installed wheel (pyproject force-includes the
        top-level ``templates/`` there), else ``<checkout>/templates``.

    Raises:
        PyOxidizerError: neither exists (a broken installation).
    """
    package_dir = Path(__file__).resolve().parent
    candidates = (package_dir / "_templates", package_dir.parent / "templates")
    for candidate in candidates:
        if (candidate / "project").is_dir() and (candidate / "pyembed").is_dir():
            return candidate
    raise PyOxidizerError(
        f"pyoxidizer-py's templates were not found (looked in {candidates[0]} and {candidates[1]})",
        hint="reinstall pyoxidizer-py",
    )
