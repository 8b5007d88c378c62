"""An interpreter that runs on this machine for a distribution's bytecode (cross-compilation).

A distribution for another target triple has no runnable ``python_exe`` here. Bytecode only
depends on CPython's X.Y (its magic number), not on the triple, so it can be compiled by any
interpreter of the same version on the build machine, as PyOxidizer does with its host
distribution (https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_type_python_distribution.html).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import DistributionError

__all__ = ["HOST_PYTHON_ENV", "bytecode_python"]

HOST_PYTHON_ENV = "PYOXIDIZER_PY_HOST_PYTHON"
"""Names the build machine's interpreter to compile bytecode for a foreign distribution."""


@functools.cache
def _magic_of(python: str) -> bytes | None:
    try:
        out = subprocess.run(
            [python, "-I", "-c", "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return bytes.fromhex(out.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def bytecode_python(dist: Distribution) -> Path:
    """The interpreter that compiles ``dist``'s bytecode on this machine.

    Args:
        dist: the target distribution.

    Returns:
        ``dist.python_exe`` when it runs here; else ``$PYOXIDIZER_PY_HOST_PYTHON`` or
        ``python<X.Y>`` on PATH, when its bytecode magic number equals ``dist.bytecode_magic``.

    Raises:
        DistributionError: no interpreter with the same bytecode format was found.
    """
    if dist.python_exe is not None:
        return Path(dist.python_exe)
    candidates = [os.environ.get(HOST_PYTHON_ENV), shutil.which(f"python{dist.major_minor}")]
    for candidate in candidates:
        if candidate and _magic_of(candidate) == dist.bytecode_magic:
            return Path(candidate)
    raise DistributionError(
        f"{dist.description} (for {dist.target_triple}) cannot run here, and no CPython {dist.major_minor} "
        "of this machine was found to compile its bytecode",
        hint=f"install python{dist.major_minor} on PATH or set {HOST_PYTHON_ENV} to one",
    )
