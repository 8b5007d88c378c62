"""Regenerate the vendored catalog snapshot (``catalog_snapshot.json``) from pbs-installer's data.

The catalog a build resolves ``default_python_distribution()`` against is a file shipped with
this package, so the same pyoxidizer-py version always picks the same CPython archive (same
URL, same sha256), whatever else is installed. This module is the one way to refresh it::

    pip install --upgrade pbs-installer          # the data source (not a runtime dependency)
    python -m pyoxidizer_py.distribution.pbs.catalog_refresh
    git diff --stat pyoxidizer_py/distribution/pbs/catalog_snapshot.json

The source is pbs-installer's ``versions.json`` (https://github.com/frostming/pbs-installer,
generated from python-build-standalone's GitHub releases and their ``SHA256SUMS``), or any file
of that shape given with ``--source``. Kept: CPython 3.10-3.15 final releases, GIL and
free-threaded (3.14+) builds, on ``catalog.CATALOG_TRIPLES``, with a sha256. Each archive is
one ``[file name, sha256]`` pair; its URL follows from the name (``catalog.RELEASE_BASE_URL``).
The snapshot also records where the data came from and the newest release date in it, the
date the default-version rule is evaluated at (``catalog.default_python_version``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from pyoxidizer_py.distribution.pbs.catalog import (
    CATALOG_TRIPLES,
    SNAPSHOT_FORMAT,
    SNAPSHOT_NAME,
    SUPPORTED_MINORS,
    parse_archive_name,
)

__all__ = ["build_snapshot", "main"]

_MIN_FREETHREADED = (3, 14)
"""PyO3 0.29 embeds free-threaded CPython from 3.14 on (3.13t is rejected by pyo3-build-config)."""


def _keep(filename: str) -> bool:
    parts = parse_archive_name(filename)
    if parts is None or parts["triple"] not in CATALOG_TRIPLES:
        return False
    version = parts["version"]
    if not version.replace(".", "").isdigit():  # pre-releases (3.15.0rc1) are not offered
        return False
    major_minor = ".".join(version.split(".")[:2])
    if major_minor not in SUPPORTED_MINORS:
        return False
    if "freethreaded" in parts["build"].split("+") or parts["build"] == "freethreaded":
        return tuple(int(p) for p in major_minor.split(".")) >= _MIN_FREETHREADED
    return True


def build_snapshot(payload: Iterable[dict[str, Any]], *, source: str, refreshed: str) -> dict[str, Any]:
    """Turn pbs-installer's ``versions.json`` records into the snapshot document.

    Args:
        payload: the parsed ``versions.json`` list (``{"python_version": {...}, "files": [{"filename",
            "sha256", ...}]}`` per release).
        source: where the data came from, recorded verbatim (``"pbs-installer 2026.10.25"``).
        refreshed: ISO date of the refresh (``"2026-12-03"``).

    Returns:
        ``{"format", "source", "refreshed", "as_of", "archives": [[file name, sha256], ...]}``,
        archives sorted by file name; ``as_of`` is the newest release tag as an ISO date.

    Raises:
        ValueError: no archive survived the filter (the source is not pbs-installer's data).
    """
    archives: dict[str, str] = {}
    for release in payload:
        version = release.get("python_version") or {}
        if version.get("implementation", "cpython") != "cpython":
            continue
        for record in release.get("files", []):
            name = str(record.get("filename") or "").replace("%2B", "+")
            sha256 = record.get("sha256")
            if sha256 and _keep(name):
                archives.setdefault(name, str(sha256).lower())
    if not archives:
        raise ValueError("no CPython archive of the supported versions and targets in the source data")
    tags = sorted({parse_archive_name(name)["tag"] for name in archives})  # type: ignore[index]
    as_of = datetime.datetime.strptime(tags[-1], "%Y%m%d").date().isoformat()
    return {
        "format": SNAPSHOT_FORMAT,
        "source": source,
        "refreshed": refreshed,
        "as_of": as_of,
        "archives": [[name, archives[name]] for name in sorted(archives)],
    }


def render_snapshot(doc: dict[str, Any]) -> str:
    """The snapshot as text: one archive per line, so a refresh reads as a short diff."""
    head = {k: v for k, v in doc.items() if k != "archives"}
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "archives": [')
    rows = [f"    {json.dumps(row)}" for row in doc["archives"]]
    lines.append(",\n".join(rows))
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def _pbs_installer_source() -> tuple[list[dict[str, Any]], str]:
    try:
        text = resources.files("pbs_installer").joinpath("versions.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise SystemExit(
            f"error: pbs-installer's versions.json is not available ({exc}); "
            "run `pip install --upgrade pbs-installer` or pass --source FILE"
        ) from exc
    return json.loads(text), f"pbs-installer {metadata.version('pbs-installer')} (versions.json)"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m pyoxidizer_py.distribution.pbs.catalog_refresh [--source FILE] [--output FILE]``.

    Returns:
        0 after writing the snapshot (atomically); prints the archive count and date to stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m pyoxidizer_py.distribution.pbs.catalog_refresh",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--source", type=Path, help="a versions.json file (default: the installed pbs-installer's)")
    default_out = Path(__file__).with_name(SNAPSHOT_NAME)
    parser.add_argument("--output", type=Path, default=default_out, help=f"snapshot to write (default: {default_out})")
    ns = parser.parse_args(argv)
    if ns.source is not None:
        payload, source = json.loads(ns.source.read_text(encoding="utf-8")), f"{ns.source.name} (versions.json shape)"
    else:
        payload, source = _pbs_installer_source()
    doc = build_snapshot(payload, source=source, refreshed=datetime.date.today().isoformat())
    tmp = ns.output.with_name(ns.output.name + ".tmp")
    tmp.write_text(render_snapshot(doc), encoding="utf-8")
    os.replace(tmp, ns.output)
    print(
        f"wrote {ns.output}: {len(doc['archives'])} archives from {source}, releases up to {doc['as_of']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover - command line entry
    raise SystemExit(main())
