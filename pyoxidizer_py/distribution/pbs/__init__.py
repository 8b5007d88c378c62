"""python-build-standalone distributions: catalog, download, cache, extraction, PYTHON.json.

Stage 2 for PBS archives
(https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html; the catalog comes
from pbs-installer's data, https://pypi.org/project/pbs-installer/): resolve a
catalog entry (``catalog``), fetch and verify it into the cache (``download``, ``cache``),
extract it safely (``extract``), and describe it as a ``Distribution`` from its
``PYTHON.json`` (``python_json``) or its files (``introspect``) in ``distribution``.
``commands`` holds the functions behind the distribution CLI commands.
"""

from __future__ import annotations

from pyoxidizer_py.distribution.pbs.catalog import CatalogEntry, resolve_catalog_entry
from pyoxidizer_py.distribution.pbs.distribution import (
    PbsInfo,
    distribution_from_tree,
    ensure_catalog_distribution,
    ensure_distribution,
    load_archive,
)
from pyoxidizer_py.distribution.pbs.python_json import PythonJson, PythonJsonError

__all__ = [
    "CatalogEntry",
    "PbsInfo",
    "PythonJson",
    "PythonJsonError",
    "distribution_from_tree",
    "ensure_catalog_distribution",
    "ensure_distribution",
    "load_archive",
    "resolve_catalog_entry",
]
