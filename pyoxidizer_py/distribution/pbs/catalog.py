"""The catalog of python-build-standalone releases that ``default_python_distribution()`` picks from.

The data is a vendored, dated snapshot, ``catalog_snapshot.json`` beside this module, made
from the ``pbs-installer`` package's ``versions.json`` by ``catalog_refresh`` (the one command
that changes it; pbs-installer is not needed at run time). So a given pyoxidizer-py version
always resolves the same request to the same archive and sha256. For each CPython release
it has one full ``.tar.zst`` and one ``install_only_stripped`` (or ``install_only``)
``.tar.gz`` per target, for CPython 3.10-3.15 final releases and the free-threaded 3.14t/3.15t
builds on ``CATALOG_TRIPLES``. Archive names follow python-build-standalone's release scheme
(https://github.com/astral-sh/python-build-standalone/blob/main/docs/distributions.rst).

Version requests are ``X.Y``, ``X.Y.Z`` or either with a ``t`` suffix (``3.14t``) for the
free-threaded build (PEP 703); without ``t`` only GIL builds match. The default version is
``default_python_version()``: the newest minor whose first release (X.Y.0) in the snapshot is
at least ``DEFAULT_VERSION_MIN_AGE_DAYS`` older than the snapshot's newest release, so the
default moves only when the snapshot is refreshed, never with the clock.

Flavors keep PyOxidizer's meaning (``default_python_distribution()``,
https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_globals.html): ``standalone`` is any
distribution, ``standalone_dynamic`` one that can load prebuilt extension modules
(``.so``/``.pyd``), ``standalone_static`` one that cannot (musl, Windows ``static``).
``PYOXIDIZER_PY_MIRROR`` replaces the release base URL when a URL is computed.
"""

from __future__ import annotations

import datetime
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
    "DEFAULT_VERSION_MIN_AGE_DAYS",
    "FLAVORS",
    "FREETHREADED_MINORS",
    "LINK_MODES",
    "MIRROR_ENV",
    "RELEASE_BASE_URL",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_NAME",
    "SUPPORTED_MINORS",
    "CatalogEntry",
    "CatalogSnapshot",
    "VersionRequest",
    "default_python_version",
    "host_target_triple",
    "known_versions",
    "list_catalog",
    "load_catalog",
    "load_snapshot",
    "mirror_base",
    "normalize_flavor",
    "parse_archive_name",
    "parse_version_request",
    "resolve_catalog_entry",
]

logger = logging.getLogger(__name__)

MIRROR_ENV = "PYOXIDIZER_PY_MIRROR"
"""Environment variable replacing ``RELEASE_BASE_URL`` (``http(s)://`` or ``file://``)."""

RELEASE_BASE_URL = "https://github.com/astral-sh/python-build-standalone/releases/download"
"""Base of release asset URLs: ``{base}/{tag}/{percent-encoded file name}``."""

SUPPORTED_MINORS = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
"""CPython minors a build can embed (GIL builds)."""
FREETHREADED_MINORS = ("3.14", "3.15")
"""Minors whose free-threaded build (``3.14t``) can be embedded: PyO3 0.29 needs 3.14+ for it."""
DEFAULT_VERSION_MIN_AGE_DAYS = 182
"""The default version is the newest minor final for at least this long (about six months)."""

SNAPSHOT_NAME = "catalog_snapshot.json"
SNAPSHOT_FORMAT = 1

CATALOG_TRIPLES = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "i686-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
)
FLAVORS = ("standalone", "standalone_dynamic", "standalone_static")
ARCHIVE_KINDS = ("full", "install_only")
"""``install_only`` matches both ``install_only`` and ``install_only_stripped`` assets."""
LINK_MODES = ("default", "static", "dynamic")
"""libpython link modes an archive is chosen for (``exe.libpython_link_mode``)."""

_ARCHIVE_RE = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(?P<tag>\d{8})-"
    r"(?P<triple>[a-z\d_]+-[a-z\d]+-[a-z\d]+(?:-gnueabihf|-gnueabi|-gnu|-musl|-msvc)?)-"
    r"(?:(?P<build>[a-z+]+)-)?(?P<kind>full|install_only_stripped|install_only)"
    r"\.(?P<ext>tar\.zst|tar\.gz)$"
)
_VERSION_RE = re.compile(r"^(?P<major>3)\.(?P<minor>\d+)(?:\.(?P<micro>\d+))?(?P<t>t)?$")


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionRequest:
    """A parsed ``python_version`` request.

    Attributes:
        major_minor: ``"3.14"``.
        micro: the patch release asked for, or None for the newest.
        freethreaded: the free-threaded (``t``) build was asked for.
    """

    major_minor: str
    micro: int | None
    freethreaded: bool

    @property
    def label(self) -> str:
        """The request as written canonically: ``3.14``, ``3.14.2``, ``3.15t``."""
        micro = f".{self.micro}" if self.micro is not None else ""
        return f"{self.major_minor}{micro}{'t' if self.freethreaded else ''}"

    @property
    def minor_label(self) -> str:
        """``3.14`` or ``3.14t``: the catalog's version key."""
        return f"{self.major_minor}{'t' if self.freethreaded else ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogEntry:
    """One downloadable python-build-standalone archive.

    Attributes:
        python_version: ``"3.13.5"``.
        release: PBS release tag (``"20250708"``).
        target_triple: Rust target triple (``"x86_64-unknown-linux-gnu"``).
        archive_kind: ``"full"``, ``"install_only"`` or ``"install_only_stripped"``.
        build_options: ``"pgo+lto"``, ``"freethreaded+pgo+lto"``, ... for full archives;
            ``""`` or ``"freethreaded"`` for install_only.
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
    def freethreaded(self) -> bool:
        """A free-threaded (``Py_GIL_DISABLED``, ABI flag ``t``) build."""
        return "freethreaded" in self.build_options.split("+")

    @property
    def version_label(self) -> str:
        """``"3.14.9"`` or ``"3.14.9t"`` for the free-threaded build."""
        return self.python_version + ("t" if self.freethreaded else "")

    @property
    def flavor(self) -> str:
        """``standalone_dynamic`` or ``standalone_static`` (PyOxidizer's meaning)."""
        return "standalone_dynamic" if self.supports_prebuilt_extension_modules else "standalone_static"

    @property
    def is_llvm_bitcode(self) -> bool:
        """True when the full archive's objects are LLVM bitcode (LTO builds): unusable for a static
        link with the system toolchain (python-build-standalone's docs/quirks.rst, issue #470)."""
        return self.archive_kind == "full" and "lto" in self.build_options.split("+")

    @property
    def link_modes(self) -> tuple[str, ...]:
        """How an executable can link this archive's libpython: ``("static", "dynamic")`` for a
        full archive with machine-code objects on a non-Windows target, else ``("dynamic",)``
        (install_only archives have no objects; LTO objects are bitcode; PyO3 cannot embed a
        static libpython on Windows)."""
        if self.archive_kind == "full" and not self.is_llvm_bitcode and "-windows-" not in self.target_triple:
            return ("static", "dynamic")
        return ("dynamic",)

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
            "freethreaded": self.freethreaded,
            "release": self.release,
            "target_triple": self.target_triple,
            "archive_kind": self.archive_kind,
            "build_options": self.build_options,
            "filename": self.filename,
            "url": self.url,
            "sha256": self.sha256,
            "flavor": self.flavor,
            "link_modes": list(self.link_modes),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogSnapshot:
    """The vendored catalog data.

    Attributes:
        source: where it came from (``"pbs-installer 2026.10.25 (versions.json)"``).
        refreshed: ISO date the snapshot was made.
        as_of: ISO date of the newest release in it (the default-version rule's "today").
        entries: every archive, newest Python first.
    """

    source: str
    refreshed: str
    as_of: str
    entries: tuple[CatalogEntry, ...]


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


@functools.lru_cache(maxsize=1)
def load_snapshot() -> CatalogSnapshot:
    """Read the vendored ``catalog_snapshot.json`` (once per process).

    Returns:
        The CatalogSnapshot, entries newest Python first (then newest release).

    Raises:
        DistributionError: the file is missing or not a snapshot of ``SNAPSHOT_FORMAT`` (a broken
            installation).
    """
    try:
        text = (
            resources.files(__package__ or "pyoxidizer_py.distribution.pbs")
            .joinpath(SNAPSHOT_NAME)
            .read_text(encoding="utf-8")
        )
        doc = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DistributionError(f"cannot read the python-build-standalone catalog {SNAPSHOT_NAME}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise DistributionError(f"{SNAPSHOT_NAME}: not a catalog snapshot of format {SNAPSHOT_FORMAT}")
    entries = []
    for name, sha256 in doc["archives"]:
        parts = parse_archive_name(name)
        if parts is None:
            continue
        entries.append(
            CatalogEntry(
                python_version=parts["version"],
                release=parts["tag"],
                target_triple=parts["triple"],
                archive_kind=parts["kind"],
                build_options=parts["build"],
                filename=name,
                url=f"{RELEASE_BASE_URL}/{parts['tag']}/{quote(name, safe='')}",
                sha256=sha256,
                supports_prebuilt_extension_modules=_supports_prebuilt(parts["triple"], parts["build"]),
            )
        )
    entries.sort(key=lambda e: e.filename)  # stable: by name within one release
    entries.sort(key=lambda e: (e.version_key, e.release), reverse=True)
    return CatalogSnapshot(
        source=str(doc.get("source", "")),
        refreshed=str(doc.get("refreshed", "")),
        as_of=str(doc.get("as_of", "")),
        entries=tuple(entries),
    )


def load_catalog() -> tuple[CatalogEntry, ...]:
    """Every catalog entry, newest Python first (``load_snapshot().entries``).

    Raises:
        DistributionError: the snapshot cannot be read.
    """
    return load_snapshot().entries


def known_versions() -> tuple[str, ...]:
    """The minors the catalog has, GIL builds first: ``("3.10", ..., "3.15", "3.14t", "3.15t")``."""
    gil = {e.major_minor for e in load_catalog() if not e.freethreaded}
    ft = {e.major_minor for e in load_catalog() if e.freethreaded}

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    return (*sorted(gil, key=key), *(f"{v}t" for v in sorted(ft, key=key)))


@functools.lru_cache(maxsize=1)
def default_python_version() -> str:
    """The version used when a config or command names none.

    Rule: the newest CPython minor whose first release (X.Y.0) in the snapshot is at least
    ``DEFAULT_VERSION_MIN_AGE_DAYS`` days older than the snapshot's newest release (its
    ``as_of`` date): a new minor becomes the default about six months after its release, when
    the packages an application needs have had time to publish wheels for it. The rule is
    evaluated against the snapshot, not the clock, so it changes only with a refresh.

    Returns:
        ``"3.14"`` for the snapshot shipped now.
    """
    snapshot = load_snapshot()
    as_of = datetime.date.fromisoformat(snapshot.as_of) if snapshot.as_of else datetime.date.today()
    first: dict[str, datetime.date] = {}
    for entry in snapshot.entries:
        date = datetime.datetime.strptime(entry.release, "%Y%m%d").date()
        if entry.major_minor not in first or date < first[entry.major_minor]:
            first[entry.major_minor] = date
    old_enough = [v for v, d in first.items() if (as_of - d).days >= DEFAULT_VERSION_MIN_AGE_DAYS]
    pool = old_enough or list(first)
    return max(pool, key=lambda v: tuple(int(p) for p in v.split(".")))


def _unknown_version(text: str) -> DistributionError:
    return DistributionError(
        f"Python {text} is not in the python-build-standalone catalog; known versions: {', '.join(known_versions())}",
        hint="free-threaded builds are written with a t suffix (3.14t)",
    )


def parse_version_request(text: str) -> VersionRequest:
    """Parse a ``python_version`` value: ``3.14``, ``3.14.2``, ``3.14t``, ``3.14.2t``.

    Args:
        text: the request.

    Returns:
        The VersionRequest (not yet checked against the catalog).

    Raises:
        DistributionError: it is not of that shape, or names a minor that is not supported (the
            message lists the known versions).
    """
    m = _VERSION_RE.match(text.strip())
    if m is None:
        raise _unknown_version(repr(text))
    major_minor = f"{m['major']}.{int(m['minor'])}"
    request = VersionRequest(
        major_minor=major_minor, micro=int(m["micro"]) if m["micro"] else None, freethreaded=bool(m["t"])
    )
    minors = FREETHREADED_MINORS if request.freethreaded else SUPPORTED_MINORS
    if major_minor not in minors:
        raise _unknown_version(text)
    return request


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


def _matches(entry: CatalogEntry, request: VersionRequest) -> bool:
    if entry.freethreaded != request.freethreaded or entry.major_minor != request.major_minor:
        return False
    return request.micro is None or entry.version_key[2] == request.micro


def list_catalog(
    *,
    python_version: str | None = None,
    target_triple: str | None = None,
    archive_kind: str | None = None,
    latest_only: bool = False,
) -> tuple[CatalogEntry, ...]:
    """Filter the catalog.

    Args:
        python_version: ``"3.13"``, ``"3.13.5"``, ``"3.14t"``, or None for all (GIL and free-threaded).
        target_triple: keep only this triple, or None for all.
        archive_kind: ``"full"`` or ``"install_only"`` (matches ``install_only_stripped`` too), or None.
        latest_only: keep only the newest patch release of each (minor, build, triple, kind).

    Returns:
        Matching entries, newest first (may be empty, e.g. for a patch release not in the catalog).

    Raises:
        DistributionError: ``python_version`` is malformed or names an unsupported minor.
    """
    request = parse_version_request(python_version) if python_version is not None else None
    out = []
    seen: set[tuple[str, bool, str, str]] = set()
    for entry in load_catalog():
        if request is not None and not _matches(entry, request):
            continue
        if target_triple is not None and entry.target_triple != target_triple:
            continue
        if archive_kind is not None and not entry.archive_kind.startswith(archive_kind):
            continue
        if latest_only:
            key = (
                entry.major_minor,
                entry.freethreaded,
                entry.target_triple,
                entry.archive_kind.removesuffix("_stripped"),
            )
            if key in seen:
                continue
            seen.add(key)
        out.append(entry)
    return tuple(out)


def resolve_catalog_entry(
    *,
    python_version: str | None = None,
    target_triple: str | None = None,
    flavor: str = "standalone",
    archive_kind: str = "full",
    link_mode: str = "default",
) -> CatalogEntry:
    """Pick the catalog entry for a build, as PyOxidizer's ``find_distribution`` does.

    Args:
        python_version: ``"3.13"`` picks the newest patch release of 3.13; ``"3.13.5"`` that release;
            ``"3.14t"`` the free-threaded build; None means ``default_python_version()``.
        target_triple: Rust triple; None means this machine's (``host_target_triple()``).
        flavor: ``standalone`` (any), ``standalone_dynamic`` or ``standalone_static`` (hyphens accepted).
        archive_kind: ``"full"`` (PYTHON.json, objects) or ``"install_only"`` (smaller; prefers stripped).
        link_mode: ``"static"`` keeps only archives whose objects this toolchain can link into the
            executable (``CatalogEntry.link_modes``); ``"default"`` and ``"dynamic"`` take any.

    Returns:
        The newest matching entry.

    Raises:
        DistributionError: unknown flavor/kind/link mode, unknown version (the message lists the
            known ones) or triple, or no entry matches (``standalone_static`` finds none; a static
            link finds none on targets whose full archives are all LTO builds, and says so).
    """
    flavor = normalize_flavor(flavor)
    if archive_kind not in ARCHIVE_KINDS:
        expected = ", ".join(ARCHIVE_KINDS)
        raise DistributionError(f"archive kind {archive_kind!r} not recognized; expected one of {expected}")
    if link_mode not in LINK_MODES:
        raise DistributionError(f"link mode {link_mode!r} not recognized; expected one of {', '.join(LINK_MODES)}")
    version = python_version or default_python_version()
    request = parse_version_request(version)
    triple = target_triple or host_target_triple()
    if triple not in CATALOG_TRIPLES:
        close = difflib.get_close_matches(triple, CATALOG_TRIPLES, n=1)
        extra = f" (did you mean {close[0]!r}?)" if close else ""
        raise DistributionError(
            f"no python-build-standalone distribution in the catalog for target {triple!r}{extra}; "
            f"catalog targets: {', '.join(CATALOG_TRIPLES)}; pass an archive with "
            "PythonDistribution(sha256=..., local_path=... or url=...)"
        )
    candidates = [
        e
        for e in list_catalog(python_version=version, target_triple=triple, archive_kind=archive_kind)
        if flavor in ("standalone", e.flavor)
    ]
    if not candidates and request.micro is not None:
        releases = sorted(
            {e.version_label for e in list_catalog(python_version=request.minor_label, target_triple=triple)}
        )
        raise DistributionError(
            f"Python {request.label} is not in the python-build-standalone catalog for {triple}; "
            f"known {request.minor_label} releases: {', '.join(releases) or 'none'}"
        )
    if archive_kind == "install_only":
        # Prefer install_only_stripped within the newest release.
        candidates.sort(
            key=lambda e: (e.version_key, e.release, e.archive_kind == "install_only_stripped"), reverse=True
        )
    if link_mode == "static":
        linkable = [e for e in candidates if "static" in e.link_modes]
        if candidates and not linkable:
            builds = ", ".join(sorted({e.build_options for e in candidates}))
            raise DistributionError(
                f"the catalog has no python-build-standalone archive of Python {request.label} for {triple} "
                f"that can be linked statically: its {archive_kind} archives are {builds} builds"
                + (" (LLVM bitcode objects)" if any(e.is_llvm_bitcode for e in candidates) else ""),
                hint='use libpython_link_mode = "dynamic" (or "default"), or give a non-LTO full archive '
                "(python-build-standalone's debug or noopt builds) with PythonDistribution(sha256, url=...)",
            )
        candidates = linkable
    if not candidates:
        if flavor == "standalone_static":
            raise DistributionError(
                f"the catalog has no standalone_static distribution for {triple} (Python {request.label}): "
                "python-build-standalone's statically linked builds (musl +static) are not in the catalog; "
                "use flavor 'standalone_dynamic' or pass an archive with PythonDistribution(...)"
            )
        raise DistributionError(
            f"no {archive_kind} python-build-standalone distribution for Python {request.label} on {triple} "
            "in the catalog"
        )
    chosen = candidates[0]
    logger.debug("catalog: %s -> %s", (version, triple, flavor, archive_kind, link_mode), chosen.filename)
    return chosen
