"""The catalog of python-build-standalone releases that ``default_python_distribution()`` picks from.

The data comes from the ``pbs-installer`` package (its ``versions.json``; its download code
is not used): for each CPython release, one full ``.tar.zst`` and one
``install_only_stripped`` (or ``install_only``) ``.tar.gz`` per platform, each with URL and
sha256. This module keeps CPython 3.10-3.14 final releases, not free-threaded, on the
triples of ``CATALOG_TRIPLES``. Formats: shared/reference/pbs-and-pyo3-formats.md §1 and §5.1.

Flavors keep PyOxidizer's meaning (pyoxidizer-facts.md §4.1): ``standalone`` is any
distribution, ``standalone_dynamic`` one that can load prebuilt extension modules
(``.so``/``.pyd``), ``standalone_static`` one that cannot (musl, Windows ``static``).
``PYOXIDIZER_PY_MIRROR`` replaces the release base URL when a URL is computed.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

from pyoxidizer_py.distribution.triples import host_triple
from pyoxidizer_py.errors import DistributionError

__all__ = [
    "ARCHIVE_KINDS",
    "CATALOG_TRIPLES",
    "DEFAULT_PYTHON_VERSION",
    "FLAVORS",
    "MIRROR_ENV",
    "RELEASE_BASE_URL",
    "SUPPORTED_MINORS",
    "CatalogEntry",
    "host_target_triple",
    "list_catalog",
    "load_catalog",
    "mirror_base",
    "normalize_flavor",
    "parse_archive_name",
    "resolve_catalog_entry",
]

logger = logging.getLogger(__name__)

MIRROR_ENV = "PYOXIDIZER_PY_MIRROR"
"""Environment variable replacing ``RELEASE_BASE_URL`` (``http(s)://`` or ``file://``)."""

RELEASE_BASE_URL = "https://github.com/astral-sh/python-build-standalone/releases/download"
"""Base of release asset URLs: ``{base}/{tag}/{percent-encoded file name}``."""

SUPPORTED_MINORS = ("3.10", "3.11", "3.12", "3.13", "3.14")
DEFAULT_PYTHON_VERSION = "3.13"
"""``python_version`` used when a caller gives none."""

CATALOG_TRIPLES = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
)
FLAVORS = ("standalone", "standalone_dynamic", "standalone_static")
ARCHIVE_KINDS = ("full", "install_only")
"""``install_only`` matches both ``install_only`` and ``install_only_stripped`` assets."""

_ARCHIVE_RE = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(?P<tag>\d{8})-"
    r"(?P<triple>[a-z\d_]+-[a-z\d]+-[a-z\d]+(?:-gnueabihf|-gnueabi|-gnu|-musl|-msvc)?)-"
    r"(?:(?P<build>[a-z+]+)-)?(?P<kind>full|install_only_stripped|install_only)"
    r"\.(?P<ext>tar\.zst|tar\.gz)$"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogEntry:
    """One downloadable python-build-standalone archive.

    Attributes:
        python_version: ``"3.13.5"``.
        release: PBS release tag (``"20250708"``).
        target_triple: Rust target triple (``"x86_64-unknown-linux-gnu"``).
        archive_kind: ``"full"``, ``"install_only"`` or ``"install_only_stripped"``.
        build_options: ``"pgo+lto"``, ``"pgo"``, ... for full archives; ``""`` for install_only.
        filename: asset file name (``+`` not encoded).
        url: the upstream URL (mirror not applied; see ``effective_url``).
        sha256: lowercase hex digest.
        supports_prebuilt_extension_modules: can load extension ``.so``/``.pyd`` files.
    """

    python_version: str
    release: str
    target_triple: str
    archive_kind: str
    build_options: str
    filename: str
    url: str
    sha256: str
    supports_prebuilt_extension_modules: bool = True

    @property
    def major_minor(self) -> str:
        """``"3.13"``."""
        return ".".join(self.python_version.split(".")[:2])

    @property
    def version_key(self) -> tuple[int, ...]:
        """Sortable ``(major, minor, micro)``."""
        return tuple(int(p) for p in self.python_version.split(".")[:3])

    @property
    def flavor(self) -> str:
        """``standalone_dynamic`` or ``standalone_static`` (PyOxidizer's meaning)."""
        return "standalone_dynamic" if self.supports_prebuilt_extension_modules else "standalone_static"

    @property
    def is_llvm_bitcode(self) -> bool:
        """True when the full archive's objects are LLVM bitcode (LTO builds): unusable for a static
        link with this toolchain (shared/reference/pbs-and-pyo3-formats.md §3.1)."""
        return self.archive_kind == "full" and "lto" in self.build_options.split("+")

    def effective_url(self, mirror: str | None = None) -> str:
        """The URL to fetch: ``{mirror}/{release}/{quoted filename}`` when a mirror is given or
        ``PYOXIDIZER_PY_MIRROR`` is set (read now), else ``url``."""
        base = mirror if mirror is not None else mirror_base()
        if not base:
            return self.url
        return f"{base.rstrip('/')}/{self.release}/{quote(self.filename, safe='')}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON output)."""
        return {
            "python_version": self.python_version,
            "release": self.release,
            "target_triple": self.target_triple,
            "archive_kind": self.archive_kind,
            "build_options": self.build_options,
            "filename": self.filename,
            "url": self.url,
            "sha256": self.sha256,
            "flavor": self.flavor,
        }


def mirror_base() -> str | None:
    """``PYOXIDIZER_PY_MIRROR`` (read at call time), or None when unset or empty.

    Raises:
        DistributionError: the value is not an ``http://``, ``https://`` or ``file://`` URL.
    """
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://", "file://")):
        raise DistributionError(
            f"{MIRROR_ENV}={value!r} is not a URL; expected an http://, https:// or file:// base "
            "holding <release>/<archive file name>"
        )
    return value


def parse_archive_name(filename: str) -> dict[str, str] | None:
    """Split a PBS asset name (current scheme, releases 20220227+).

    Args:
        filename: e.g. ``cpython-3.12.3+20240415-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst``
            (``%2B`` is accepted for ``+``).

    Returns:
        Keys ``version``, ``tag``, ``triple``, ``build`` (``""`` when absent), ``kind``, ``ext``;
        or None when the name does not follow the scheme.
    """
    m = _ARCHIVE_RE.match(filename.replace("%2B", "+").replace("%2b", "+"))
    if not m:
        return None
    parts = m.groupdict()
    parts["build"] = parts["build"] or ""
    return parts


def _supports_prebuilt(triple: str, build: str) -> bool:
    # PyOxidizer's generator: musl (statically linked builds) and Windows static-noopt cannot load extensions.
    if "static" in build.split("+") or build.startswith("static"):
        return False
    return not triple.endswith("-musl")


def _read_pbs_installer_data() -> list[dict[str, Any]]:
    """File records (``filename``, ``url``, ``sha256``, ...) from pbs-installer, either layout."""
    try:
        text = resources.files("pbs_installer").joinpath("versions.json").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        text = None
    records: list[dict[str, Any]] = []
    if text is not None:
        for payload in json.loads(text):
            version = payload["python_version"]
            if version.get("implementation") != "cpython" or version.get("freethreaded"):
                continue
            records.extend(payload["files"])
        return records
    try:  # older pbs-installer: the data is a dict literal in _versions.py
        from pbs_installer._versions import PYTHON_VERSIONS
    except ImportError as exc:  # pragma: no cover - depends on the installed package
        raise DistributionError(f"cannot read the python-build-standalone catalog from pbs-installer: {exc}") from exc
    for py_ver, files in PYTHON_VERSIONS.items():
        if py_ver.implementation != "cpython" or getattr(py_ver, "freethreaded", False):
            continue
        for _key, (url, sha256) in files.items():
            records.append({"url": url, "sha256": sha256, "filename": url.rsplit("/", 1)[-1]})
    return records


@functools.lru_cache(maxsize=1)
def load_catalog() -> tuple[CatalogEntry, ...]:
    """Every catalog entry, newest Python first.

    Returns:
        Entries for CPython ``SUPPORTED_MINORS`` final releases on ``CATALOG_TRIPLES``, with a sha256.
        The result is computed once per process (the data is static).

    Raises:
        DistributionError: pbs-installer's data cannot be read.
    """
    entries: dict[str, CatalogEntry] = {}
    for record in _read_pbs_installer_data():
        sha256 = record.get("sha256")
        parts = parse_archive_name(record.get("filename") or "")
        if not sha256 or parts is None:
            continue
        major_minor = ".".join(parts["version"].split(".")[:2])
        if major_minor not in SUPPORTED_MINORS or not parts["version"].replace(".", "").isdigit():
            continue
        if parts["triple"] not in CATALOG_TRIPLES or "freethreaded" in parts["build"]:
            continue
        entry = CatalogEntry(
            python_version=parts["version"],
            release=parts["tag"],
            target_triple=parts["triple"],
            archive_kind=parts["kind"],
            build_options=parts["build"],
            filename=record["filename"].replace("%2B", "+"),
            url=record["url"],
            sha256=sha256.lower(),
            supports_prebuilt_extension_modules=_supports_prebuilt(parts["triple"], parts["build"]),
        )
        entries.setdefault(entry.filename, entry)
    return tuple(sorted(entries.values(), key=lambda e: (e.version_key, e.release), reverse=True))


def normalize_flavor(flavor: str) -> str:
    """Map a flavor string to ``FLAVORS`` (hyphens accepted, as PyOxidizer does).

    Raises:
        DistributionError: unknown flavor (with a "did you mean").
    """
    normalized = flavor.replace("-", "_")
    if normalized in FLAVORS:
        return normalized
    close = difflib.get_close_matches(normalized, FLAVORS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(FLAVORS)}"
    raise DistributionError(f"distribution flavor {flavor!r} not recognized{hint}")


def host_target_triple() -> str:
    """This machine's Rust target triple (``distribution.triples.host_triple``)."""
    return host_triple()


def list_catalog(
    *,
    python_version: str | None = None,
    target_triple: str | None = None,
    archive_kind: str | None = None,
    latest_only: bool = False,
) -> tuple[CatalogEntry, ...]:
    """Filter the catalog.

    Args:
        python_version: ``"3.13"`` (a minor) or ``"3.13.5"`` (exact), or None for all.
        target_triple: keep only this triple, or None for all.
        archive_kind: ``"full"`` or ``"install_only"`` (matches ``install_only_stripped`` too), or None.
        latest_only: keep only the newest patch release of each (minor, triple, kind).

    Returns:
        Matching entries, newest first.
    """
    out = []
    seen: set[tuple[str, str, str]] = set()
    for entry in load_catalog():
        if python_version is not None and not _version_matches(entry.python_version, python_version):
            continue
        if target_triple is not None and entry.target_triple != target_triple:
            continue
        if archive_kind is not None and not entry.archive_kind.startswith(archive_kind):
            continue
        if latest_only:
            key = (entry.major_minor, entry.target_triple, entry.archive_kind.removesuffix("_stripped"))
            if key in seen:
                continue
            seen.add(key)
        out.append(entry)
    return tuple(out)


def _version_matches(version: str, request: str) -> bool:
    return version == request or version.startswith(request + ".")


def resolve_catalog_entry(
    *,
    python_version: str | None = None,
    target_triple: str | None = None,
    flavor: str = "standalone",
    archive_kind: str = "full",
) -> CatalogEntry:
    """Pick the catalog entry for a build, as PyOxidizer's ``find_distribution`` does.

    Args:
        python_version: ``"3.13"`` picks the newest patch release of 3.13; ``"3.13.5"`` that release;
            None means ``DEFAULT_PYTHON_VERSION``.
        target_triple: Rust triple; None means this machine's (``host_target_triple()``).
        flavor: ``standalone`` (any), ``standalone_dynamic`` or ``standalone_static`` (hyphens accepted).
        archive_kind: ``"full"`` (PYTHON.json, objects) or ``"install_only"`` (smaller; prefers stripped).

    Returns:
        The newest matching entry.

    Raises:
        DistributionError: unknown flavor/kind, unsupported version or triple, or no entry matches
            (the catalog has no statically linked distributions: ``standalone_static`` finds none).
    """
    flavor = normalize_flavor(flavor)
    if archive_kind not in ARCHIVE_KINDS:
        expected = ", ".join(ARCHIVE_KINDS)
        raise DistributionError(f"archive kind {archive_kind!r} not recognized; expected one of {expected}")
    version = python_version or DEFAULT_PYTHON_VERSION
    triple = target_triple or host_target_triple()
    major_minor = ".".join(version.split(".")[:2])
    if major_minor not in SUPPORTED_MINORS:
        raise DistributionError(
            f"Python {version} is not in the python-build-standalone catalog; "
            f"supported versions: {', '.join(SUPPORTED_MINORS)}"
        )
    if triple not in CATALOG_TRIPLES:
        close = difflib.get_close_matches(triple, CATALOG_TRIPLES, n=1)
        extra = f" (did you mean {close[0]!r}?)" if close else ""
        raise DistributionError(
            f"no python-build-standalone distribution in the catalog for target {triple!r}{extra}; "
            f"catalog targets: {', '.join(CATALOG_TRIPLES)}; pass an archive with "
            "PythonDistribution(sha256=..., local_path=... or url=...)"
        )
    candidates = [
        e for e in list_catalog(python_version=version, target_triple=triple, archive_kind=archive_kind)
        if flavor in ("standalone", e.flavor)
    ]
    if archive_kind == "install_only":
        # Prefer install_only_stripped within the newest release.
        candidates.sort(key=lambda e: (e.version_key, e.release, e.archive_kind == "install_only_stripped"),
                        reverse=True)
    if not candidates:
        if flavor == "standalone_static":
            raise DistributionError(
                f"the catalog has no standalone_static distribution for {triple} (Python {version}): "
                "python-build-standalone's statically linked builds (musl +static) are not in the catalog; "
                "use flavor 'standalone_dynamic' or pass an archive with PythonDistribution(...)"
            )
        raise DistributionError(
            f"no {archive_kind} python-build-standalone distribution for Python {version} on {triple} in the catalog"
        )
    chosen = candidates[0]
    logger.debug("catalog: %s -> %s", (version, triple, flavor, archive_kind), chosen.filename)
    return chosen
