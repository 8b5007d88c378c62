"""Shared pytest configuration. Area-specific fixtures live in ``tests/fixtures_*.py`` modules."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build intermediates (``PYOXIDIZER_PY_WORK_DIR``) of every build the tests run go to one
    directory per test process, not into the user's cache (a test that names its own wins)."""
    path = tmp_path_factory.mktemp("pyoxidizer-py-work")
    previous = os.environ.get("PYOXIDIZER_PY_WORK_DIR")
    os.environ["PYOXIDIZER_PY_WORK_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PYOXIDIZER_PY_WORK_DIR", None)
    else:
        os.environ["PYOXIDIZER_PY_WORK_DIR"] = previous
