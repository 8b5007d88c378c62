"""Turn a python-build-standalone archive (cached, downloaded or local) into a ``Distribution``.

Entry points:

- ``ensure_catalog_distribution(entry)``: a catalog entry, through the cache (mirror applied);
- ``ensure_distribution(sha256=..., url=... | local_path=...)``: what ``PythonDistribution(...)``
  names; cache first, then download (or hash a local file), then extract once;
- ``distribution_from_tree(root)``: an already extracted tree (``root/python/...``).

Full archives are described by their ``PYTHON.json``; install_only archives by their files
(``introspect``). The parsed document and the tree's root are kept in ``Distribution.pbs``
(a ``PbsInfo``) so that a static libpython can be assembled from the objects later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.distribution.pbs.cache import DistributionCache, open_cache
from pyoxidizer_py.distribution.pbs.catalog import CatalogEntry, host_target_triple, parse_archive_name
from pyoxidizer_py.distribution.pbs.download import (
    DownloadOptions,
    ProgressCallback,
    download_file,
    hash_file,
)
from pyoxidizer_py.distribution.pbs.extract import extract_archive, remove_stale_staging, validate_layout
from pyoxidizer_py.distribution.pbs.integrity import verify_local_archive
from pyoxidizer_py.distribution.pbs.introspect import introspect_install_tree
from pyoxidizer_py.distribution.pbs.python_json import ExtensionVariant, PythonJson, load_python_json
from pyoxidizer_py.distribution.pbs.safepaths import check_python_json_paths, inside_or_error
from pyoxidizer_py.errors import DistributionError

__all__ = [
    "PBS_ORIGIN",
    "PbsInfo",
    "check_extracted_tree",
    "distribution_from_tree",
    "ensure_archive",
    "ensure_catalog_distribution",
    "ensure_distribution",
    "ensure_extracted",
    "load_archive",
    "runs_on_host",
]

logger = logging.getLogger(__name__)

PBS_ORIGIN = "python-build-standalone"


@dataclass(frozen=True, kw_only=True, slots=True)
class PbsInfo:
    """What a PBS distribution adds to ``Distribution`` (its ``pbs`` attribute).

    Attributes:
        root: the archive's ``python/`` directory (every PYTHON.json path is relative to it).
        archive_kind: ``"full"`` or ``"install_only"``.
        sha256: the archive digest (the cache key), or None for a tree given directly.
        python_json: the parsed ``PYTHON.json`` (full archives), else None.
    """

    root: Path
    archive_kind: str
    sha256: str | None = None
    python_json: PythonJson | None = None

    def path(self, relative: str) -> Path:
        """An absolute path for a PYTHON.json path (relative to ``python/``), symbolic links resolved.

        Raises:
            DistributionError: the path resolves outside ``root`` (``distribution_from_tree`` has
                already refused such documents; this guards paths built by later stages).
        """
        return inside_or_error(self.root, relative, what="python-build-standalone archive path")

    @property
    def object_file_format(self) -> str | None:
        """``build_info.object_file_format`` (``"elf"``, ``"llvm-bitcode:..."``), or None (install_only)."""
        return self.python_json.build_info.object_file_format if self.python_json else None

    @property
    def has_linkable_objects(self) -> bool:
        """True when the full archive's objects are machine code (not LLVM bitcode)."""
        pj = self.python_json
        return pj is not None and not pj.build_info.is_llvm_bitcode and bool(pj.build_info.core.objs)

    @property
    def static_library(self) -> Path | None:
        """The archive's prebuilt static libpython (``python/<LIBPL>/<LIBRARY>``) if present, else None.
        It lacks the third-party libraries named by the extensions' ``links``."""
        if self.python_json is None:
            return None
        rel = self.python_json.static_library_path()
        return self.path(rel) if rel and self.path(rel).exists() else None

    def core_objects(self, *, include_inittab: bool = False) -> tuple[Path, ...]:
        """``build_info.core.objs`` as absolute paths, without the inittab object unless asked."""
        if self.python_json is None:
            return ()
        bi = self.python_json.build_info
        return tuple(self.path(o) for o in bi.core.objs if include_inittab or o != bi.inittab_object)

    def extension_variants(self) -> Mapping[str, tuple[ExtensionVariant, ...]]:
        """``build_info.extensions`` (empty for install_only)."""
        return self.python_json.build_info.extensions if self.python_json else {}


def runs_on_host(target_triple: str) -> bool:
    """True when an interpreter built for ``target_triple`` can run on this machine."""
    return target_triple == host_target_triple()


_MAX_LICENSE_BYTES = 8 << 20  # CPython's LICENSE is ~14 KB; more is not a license text


def _license_text(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_LICENSE_BYTES + 1)
    except OSError as exc:
        raise DistributionError(f"cannot read the license file {path}: {exc.strerror}") from exc
    if len(data) > _MAX_LICENSE_BYTES:
        raise DistributionError(f"{path}: license file larger than {_MAX_LICENSE_BYTES >> 20} MiB; refusing it")
    return data.decode("utf-8", errors="replace")


def _from_python_json(root: Path, pj: PythonJson, description: str, sha256: str | None) -> Distribution:
    python = root / "python"
    # Every path the document names must resolve inside python/ (a license_path of
    # "../../../../etc/passwd" would otherwise be copied into the build as COPYING.txt).
    check_python_json_paths(pj, python, source=f"{description}: python/PYTHON.json")

    def inside(rel: str, key: str) -> Path:
        return inside_or_error(python, rel, what=f"{description}: python/PYTHON.json: {key}")

    stdlib = inside(pj.python_paths["stdlib"], "python_paths.stdlib")
    exe = inside(pj.python_exe, "python_exe")
    shared_rel = pj.shared_library_path()
    shared = inside(shared_rel, "python_config_vars.INSTSONAME") if shared_rel else None
    lib_dynload = inside(f"{pj.python_paths['stdlib']}/lib-dynload", "python_paths.stdlib")
    dlls = inside("install/DLLs", "install/DLLs")
    system_libs = tuple(dict.fromkeys(link.name for link in pj.build_info.core.links if link.system))
    return Distribution(
        origin=PBS_ORIGIN,
        description=description,
        python_exe=exe if exe.is_file() and runs_on_host(pj.target_triple) else None,
        version=pj.python_version,
        major_minor=pj.python_major_minor_version,
        abiflags=pj.abiflags,
        target_triple=pj.target_triple,
        cache_tag=pj.python_implementation_cache_tag,
        bytecode_magic=pj.bytecode_magic,
        extension_suffixes=tuple(pj.python_suffixes.get("extension", ())),
        prefix=inside("install", "install"),
        stdlib_dir=stdlib,
        lib_dynload_dir=lib_dynload if lib_dynload.is_dir() else dlls if dlls.is_dir() else None,
        include_dir=inside(pj.python_paths["include"], "python_paths.include"),
        shared_library=shared if shared is not None and shared.exists() else None,
        # No ready-to-use static library: artifacts.libpython assembles libpython3.a from the
        # objects PYTHON.json lists (when they are not LLVM bitcode) at link planning time.
        static_library=None,
        static_link_libraries=system_libs,
        builtin_extensions=pj.builtin_extension_names(),
        licenses=tuple(pj.licenses) if pj.licenses else ("Python-2.0",),
        license_text=_license_text(inside(pj.license_path, "license_path") if pj.license_path else None),
        pbs=PbsInfo(root=python, archive_kind="full", sha256=sha256, python_json=pj),
    )


def distribution_from_tree(
    root: Path, *, description: str | None = None, sha256: str | None = None, target_triple: str | None = None
) -> Distribution:
    """Describe an extracted PBS archive.

    Args:
        root: the directory containing ``python/``.
        description: what the user named, for messages (default: ``root``).
        sha256: the archive digest, recorded in ``Distribution.pbs``.
        target_triple: overrides the triple derived from an install_only tree's sysconfig data
            (e.g. from the archive name); ignored for full archives (PYTHON.json says).

    Returns:
        The ``Distribution`` (origin ``"python-build-standalone"``). ``python_exe`` is None when the
        target triple is not this host's. ``static_library`` is None: a static link of a full
        archive assembles its own library from the objects (``artifacts.libpython``).

    Raises:
        DistributionError: invalid layout, invalid PYTHON.json (``PythonJsonError``), or missing files.
    """
    description = description or str(root)
    try:
        return _describe_tree(root, description, sha256, target_triple)
    except OSError as exc:  # unreadable files, link loops in the tree
        raise DistributionError(f"{description}: cannot read the extracted archive: {exc}") from exc


def _describe_tree(root: Path, description: str, sha256: str | None, target_triple: str | None) -> Distribution:
    kind = validate_layout(root, source=description)
    if kind == "full":
        pj = load_python_json(root / "python" / "PYTHON.json", source=f"{description}: python/PYTHON.json")
        return _from_python_json(root, pj, description, sha256)
    info = introspect_install_tree(root / "python")
    triple = target_triple or info.target_triple
    if not triple:
        raise DistributionError(f"{description}: cannot tell the target triple of this install_only archive")
    license_file = info.stdlib_dir / "LICENSE.txt"
    return Distribution(
        origin=PBS_ORIGIN,
        description=description,
        python_exe=info.python_exe if runs_on_host(triple) else None,
        version=info.version,
        major_minor=info.major_minor,
        abiflags=info.abiflags,
        target_triple=triple,
        cache_tag="cpython-" + info.major_minor.replace(".", ""),
        bytecode_magic=info.bytecode_magic,
        extension_suffixes=info.extension_suffixes,
        prefix=info.prefix,
        stdlib_dir=info.stdlib_dir,
        lib_dynload_dir=info.lib_dynload_dir,
        include_dir=info.include_dir,
        shared_library=info.shared_library,
        static_library=None,
        static_link_libraries=info.link_libraries,
        builtin_extensions=info.builtin_extensions,
        license_text=_license_text(license_file),
        pbs=PbsInfo(root=info.prefix, archive_kind="install_only", sha256=sha256),
    )


def _archive_triple(filename: str) -> str | None:
    parts = parse_archive_name(filename)
    return parts["triple"] if parts else None


def check_extracted_tree(root: Path, archive: Path) -> None:
    """Describe a freshly extracted tree once, raising what ``distribution_from_tree`` raises.

    Used as ``extract_archive(check=...)`` so that a tree whose ``PYTHON.json`` is invalid or names
    paths outside it is never renamed into the cache or a user's destination. An install_only tree
    whose triple the file name does not tell is accepted here (the triple matters only for a build).
    """
    distribution_from_tree(root, description=str(archive), target_triple=_archive_triple(archive.name) or "unknown")


def _url_filename(url: str) -> str:
    name = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    return name or "archive"


def ensure_archive(
    url: str,
    sha256: str,
    *,
    cache: DistributionCache | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
    _locked: bool = False,
) -> Path:
    """Return the cached archive with this digest, downloading it first if needed.

    A cached archive is re-hashed; a corrupt one is discarded and fetched again. Two processes
    asking at once share one download (the second waits on the lock, then finds the file).

    Args:
        url: where to fetch from (``http(s)://`` or ``file://``).
        sha256: expected digest (hex).
        cache: the cache (default: ``open_cache()``).
        options, progress: see ``download.download_file``.

    Returns:
        Path of the verified archive in the cache.

    Raises:
        DistributionError: download failure (URL and offline advice in the message) or digest mismatch.
    """
    cache = cache or open_cache()
    sha256 = sha256.lower()
    if not _locked:
        with cache.lock(sha256):
            return ensure_archive(url, sha256, cache=cache, options=options, progress=progress, _locked=True)
    existing = cache.cached_archive(sha256)
    if existing is not None:
        if hash_file(existing) == sha256:
            logger.debug("cache hit: %s", existing)
            return existing
        logger.warning("discarding corrupt cached archive %s", existing)
        existing.unlink()
    dest = cache.archive_path(sha256, _url_filename(url))
    return download_file(url, sha256, dest, partial=cache.partial_path(sha256), options=options, progress=progress)


def ensure_extracted(archive: Path, sha256: str, *, cache: DistributionCache, _locked: bool = False) -> Path:
    """Extract a verified archive into ``extracted/<sha256>`` once (atomic, under the lock).

    Returns:
        The directory containing ``python/``.

    Raises:
        DistributionError: unsafe or corrupt archive, or bad layout.
    """
    sha256 = sha256.lower()
    if not _locked:
        with cache.lock(sha256):
            return ensure_extracted(archive, sha256, cache=cache, _locked=True)
    dest = cache.extracted_path(sha256)
    if cache.is_extracted(sha256):
        return dest
    remove_stale_staging(cache.staging_dir())  # left by killed runs (their locks are gone)
    if dest.exists():  # interrupted after the rename, or extracted by an older version: redo it
        import shutil

        try:
            shutil.rmtree(dest)
        except OSError as exc:
            raise DistributionError(f"cannot remove the incomplete cache entry {dest}: {exc.strerror}") from exc
    # The tree is described once before it enters the cache, so an archive whose PYTHON.json is
    # invalid or names paths outside it is never cached as complete.
    from pyoxidizer_py import progress

    progress.update(f"extracting {archive.name}", force=True, download_over=True)
    extract_archive(archive, dest, source=str(archive), check=lambda root: check_extracted_tree(root, archive))
    cache.mark_extracted(sha256)
    return dest


def ensure_distribution(
    *,
    sha256: str | None,
    url: str | None = None,
    local_path: Path | None = None,
    cache_dir: Path | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
    description: str | None = None,
) -> Distribution:
    """The distribution named by ``PythonDistribution(sha256, local_path=..., url=...)``.

    Exactly one of ``url`` and ``local_path`` must be given. When the extracted tree is already
    cached nothing is fetched or re-hashed (no network needed).

    Args:
        sha256: expected archive digest; required with ``url``; with ``local_path`` it may be None
            (the file is hashed and trusted).
        url: ``http(s)://`` or ``file://`` archive URL (used as given; see
            ``ensure_catalog_distribution`` for the mirror).
        local_path: an archive on disk (hashed in place, not copied into the cache).
        cache_dir: cache root (default: ``PYOXIDIZER_PY_CACHE_DIR`` or the user cache dir).
        options, progress: download settings and progress callback.
        description: for messages (default: the URL or path).

    Returns:
        The ``Distribution``.

    Raises:
        DistributionError: bad arguments, download/verification/extraction failure, invalid archive.
    """
    if (url is None) == (local_path is None):
        raise DistributionError("a python-build-standalone archive needs exactly one of url and local_path")
    cache = open_cache(cache_dir)
    name = url or str(local_path)
    triple = None
    parts = parse_archive_name(_url_filename(url) if url else Path(str(local_path)).name)
    if parts:
        triple = parts["triple"]
    if local_path is not None:
        path = Path(local_path)
        if not path.is_file():
            raise DistributionError(f"python distribution archive {path} does not exist")
        if sha256 is None or not cache.is_extracted(sha256.lower()):
            # Without a given sha256, a .sha256 file, SHA256SUMS or the catalog may record one.
            sha256 = verify_local_archive(path, sha256)
        digest = sha256.lower()
        with cache.lock(digest):
            root = ensure_extracted(path, digest, cache=cache, _locked=True)
    else:
        assert url is not None
        if not sha256:
            raise DistributionError(f"no sha256 given for {url}; a downloaded archive must be verified")
        digest = sha256.lower()
        with cache.lock(digest):
            if cache.is_extracted(digest):
                root = cache.extracted_path(digest)
            else:
                archive = ensure_archive(url, digest, cache=cache, options=options, progress=progress, _locked=True)
                root = ensure_extracted(archive, digest, cache=cache, _locked=True)
    return distribution_from_tree(root, description=description or name, sha256=digest, target_triple=triple)


def ensure_catalog_distribution(
    entry: CatalogEntry,
    *,
    mirror: str | None = None,
    cache_dir: Path | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
) -> Distribution:
    """Download (or reuse) and describe a catalog entry.

    Args:
        entry: from ``catalog.resolve_catalog_entry``.
        mirror: base URL replacing the release base; None reads ``PYOXIDIZER_PY_MIRROR`` now.
        cache_dir, options, progress: as for ``ensure_distribution``.

    Raises:
        DistributionError: as ``ensure_distribution``; when offline with an empty cache the message
            names the URL and how to proceed offline.
    """
    url = entry.effective_url(mirror)
    dist = ensure_distribution(
        sha256=entry.sha256,
        url=url,
        cache_dir=cache_dir,
        options=options,
        progress=progress,
        description=url,
    )
    return dist


def load_archive(path: Path, *, sha256: str | None = None, cache_dir: Path | None = None) -> Distribution:
    """Describe a local PBS archive (extracted once into the cache, keyed by its digest).

    Args:
        path: a ``.tar.zst`` (full) or ``.tar.gz`` (install_only) archive.
        sha256: expected digest, or None to trust the file.
        cache_dir: cache root.

    Raises:
        DistributionError: missing file, digest mismatch, unsafe/corrupt archive, invalid layout/PYTHON.json.
    """
    return ensure_distribution(sha256=sha256, local_path=path, cache_dir=cache_dir)
