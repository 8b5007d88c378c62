"""Turn what a config asked for into a ``Distribution``, in DESIGN.md's order of preference.

1. ``PythonDistribution(sha256, local_path=..., url=...)`` in the config: that archive.
2. ``default_python_distribution()``: the user's override (``--python-distribution
   SPEC`` or ``PYOXIDIZER_PY_DISTRIBUTION``; SPEC is ``host``, a python executable,
   or a python-build-standalone archive path or URL), else the catalog (cache
   first, then download).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pyoxidizer_py.errors import DistributionError

if TYPE_CHECKING:
    from pyoxidizer_py.config.context import DistributionRequest
    from pyoxidizer_py.distribution.model import Distribution

__all__ = ["DISTRIBUTION_ENV", "resolve_request", "resolve_spec"]

DISTRIBUTION_ENV = "PYOXIDIZER_PY_DISTRIBUTION"
_ARCHIVE_SUFFIXES = (".tar.zst", ".tar.gz", ".tgz", ".tar.xz")


def resolve_spec(spec: str, *, target_triple: str, flavor: str = "standalone") -> Distribution:
    """Resolve a ``--python-distribution`` SPEC.

    Args:
        spec: ``host``, a path to a python executable, or a python-build-standalone
            archive path or ``http(s)://`` / ``file://`` URL.
        target_triple: the build's target triple.
        flavor: the requested flavor (for archives).

    Returns:
        The Distribution.

    Raises:
        DistributionError: the spec names nothing usable.
    """
    if spec.startswith(("http://", "https://", "file://")):
        raise DistributionError(
            f"{spec}: an archive URL needs its sha256; use PythonDistribution(sha256, url=...) in the config",
            hint="or download the archive and pass its path to --python-distribution",
        )
    if spec.endswith(_ARCHIVE_SUFFIXES):
        from pathlib import Path

        from pyoxidizer_py.distribution.pbs import load_archive

        return load_archive(Path(spec))
    from pyoxidizer_py.distribution.installed import resolve_distribution_spec

    return resolve_distribution_spec(spec)


def resolve_request(
    request: DistributionRequest, *, target_triple: str, override: str | None = None
) -> Distribution:
    """Resolve a config's distribution request.

    Args:
        request: what ``default_python_distribution()`` / ``PythonDistribution()`` recorded.
        target_triple: the build's target triple (``request.build_target`` wins when set).
        override: ``--python-distribution`` value; None falls back to ``PYOXIDIZER_PY_DISTRIBUTION``.

    Returns:
        The Distribution.

    Raises:
        DistributionError: it cannot be found, downloaded or used.
    """
    triple = request.build_target or target_triple
    if request.kind == "archive":
        from pathlib import Path

        from pyoxidizer_py.distribution.pbs import ensure_distribution
        from pyoxidizer_py.distribution.pbs.download import terminal_progress

        with terminal_progress() as progress:
            return ensure_distribution(
                sha256=request.sha256 or "",
                url=request.url,
                local_path=Path(request.local_path) if request.local_path else None,
                progress=progress,
            )
    spec = override if override is not None else os.environ.get(DISTRIBUTION_ENV)
    if spec:
        return resolve_spec(spec, target_triple=triple, flavor=request.flavor)
    from pyoxidizer_py.distribution.pbs import ensure_catalog_distribution, resolve_catalog_entry
    from pyoxidizer_py.distribution.pbs.download import terminal_progress

    entry = resolve_catalog_entry(python_version=request.python_version, target_triple=triple, flavor=request.flavor)
    with terminal_progress() as progress:
        return ensure_catalog_distribution(entry, progress=progress)
