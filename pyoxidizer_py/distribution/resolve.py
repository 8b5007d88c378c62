"""Turn what a config asked for into a ``Distribution``, in the order of preference of docs/distributions.md.

1. ``PythonDistribution(sha256, local_path=..., url=...)`` in the config: that archive.
2. ``default_python_distribution()``: the user's override (``--python-distribution
   SPEC`` or ``PYOXIDIZER_PY_DISTRIBUTION``; SPEC is ``host``, a python executable,
   or a python-build-standalone archive path or URL), else the catalog (cache
   first, then download).

A distribution given by the user's override must be the one the config asked for: when the
request names a ``python_version`` (``3.12``, ``3.12.4``, ``3.14t``) or a build target and the
distribution is another, resolution fails naming both (``DistributionMismatch``). With an
explicit ``--python-distribution`` (the user chose it for this command) the mismatch is one
``warning:`` line instead and the given distribution is used.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from pyoxidizer_py.errors import DistributionError

if TYPE_CHECKING:
    from pyoxidizer_py.config.context import DistributionRequest
    from pyoxidizer_py.distribution.model import Distribution

__all__ = ["DISTRIBUTION_ENV", "check_request_match", "resolve_request", "resolve_spec"]

_log = logging.getLogger(__name__)

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


def check_request_match(dist: Distribution, *, python_version: str | None, target_triple: str) -> str | None:
    """Say how ``dist`` differs from what was requested, or None when it matches.

    Args:
        dist: the resolved distribution.
        python_version: the requested ``X.Y``, ``X.Y.Z`` or ``X.Yt`` (``t``: free-threaded), or
            None when any version will do.
        target_triple: the build's target triple.

    Returns:
        ``"is CPython 3.11.2 (x86_64-unknown-linux-gnu), but Python 3.12 was requested"``-style
        text naming both sides, or None.
    """
    have_t = "t" in dist.abiflags
    have = f"CPython {dist.version}{'t' if have_t else ''} ({dist.target_triple})"
    wanted: list[str] = []
    if python_version is not None:
        text = python_version.strip()
        want_t = text.endswith("t")
        number = text.removesuffix("t")
        version_ok = (dist.version == number or dist.version.startswith(number + ".")) and want_t == have_t
        if not version_ok:
            wanted.append(f"Python {text}")
    if target_triple != dist.target_triple:
        wanted.append(f"target {target_triple}")
    if not wanted:
        return None
    return f"is {have}, but {' for '.join(wanted)} was requested"


def resolve_request(request: DistributionRequest, *, target_triple: str, override: str | None = None) -> Distribution:
    """Resolve a config's distribution request.

    Args:
        request: what ``default_python_distribution()`` / ``PythonDistribution()`` recorded.
        target_triple: the build's target triple (``request.build_target`` wins when set).
        override: ``--python-distribution`` value; None falls back to ``PYOXIDIZER_PY_DISTRIBUTION``.

    Returns:
        The Distribution.

    Raises:
        DistributionError: it cannot be found, downloaded or used, or the distribution named by
            ``PYOXIDIZER_PY_DISTRIBUTION`` is not the requested version or target (an explicit
            ``override`` that does not match only logs a ``warning:`` line).
    """
    triple = request.build_target or target_triple
    if request.kind == "archive":
        from pathlib import Path

        from pyoxidizer_py import progress
        from pyoxidizer_py.distribution.pbs import ensure_distribution

        with progress.stage("distribution", request.local_path or request.url or ""):
            dist = ensure_distribution(
                sha256=request.sha256 or "",
                url=request.url,
                local_path=Path(request.local_path) if request.local_path else None,
                progress=progress.download_progress(),
            )
            progress.update(f"CPython {dist.version}")
            return dist
    spec = override if override is not None else os.environ.get(DISTRIBUTION_ENV)
    if spec:
        from pyoxidizer_py import progress

        with progress.stage("distribution", spec):
            dist = resolve_spec(spec, target_triple=triple, flavor=request.flavor)
            progress.update(f"CPython {dist.version} ({dist.python_exe or spec})")
        source = "--python-distribution" if override is not None else DISTRIBUTION_ENV
        problem = check_request_match(dist, python_version=request.python_version, target_triple=triple)
        if problem is not None:
            message = f"the Python distribution {spec} (from {source}) {problem}"
            if override is None:
                raise DistributionError(
                    message,
                    hint=f"point {DISTRIBUTION_ENV} at a matching CPython, or change the requested version",
                )
            _log.warning("warning: %s; using it as given", message)
        return dist
    from pyoxidizer_py import progress
    from pyoxidizer_py.distribution.pbs import ensure_catalog_distribution, resolve_catalog_entry

    entry = resolve_catalog_entry(python_version=request.python_version, target_triple=triple, flavor=request.flavor)
    with progress.stage("distribution", f"CPython {entry.python_version} ({entry.release})"):
        dist = ensure_catalog_distribution(entry, progress=progress.download_progress())
        progress.update(f"CPython {entry.python_version} ({entry.release}, python-build-standalone)")
        return dist
