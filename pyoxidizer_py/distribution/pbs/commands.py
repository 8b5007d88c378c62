"""The distribution commands as plain functions returning text (the CLI parses, calls and prints).

``python-distribution-extract``, ``python-distribution-info``, ``python-distribution-licenses``
(PyOxidizer's output sections, https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_managing_projects.html),
``python-distribution-list`` (the
catalog) and ``cache-clear``. Every function raises ``DistributionError`` for a problem the
user can fix.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.distribution.pbs.cache import clear_cache, open_cache
from pyoxidizer_py.distribution.pbs.catalog import list_catalog, resolve_catalog_entry
from pyoxidizer_py.distribution.pbs.distribution import (
    PbsInfo,
    check_extracted_tree,
    distribution_from_tree,
    ensure_archive,
)
from pyoxidizer_py.distribution.pbs.download import DownloadOptions, ProgressCallback
from pyoxidizer_py.distribution.pbs.extract import extract_archive
from pyoxidizer_py.distribution.pbs.integrity import verify_local_archive
from pyoxidizer_py.errors import DistributionError, DownloadError

__all__ = [
    "cache_clear",
    "python_distribution_extract",
    "python_distribution_info",
    "python_distribution_licenses",
    "python_distribution_list",
]


def _heading(title: str, char: str = "=") -> list[str]:
    return [title, char * len(title), ""]


def python_distribution_extract(
    dest: Path,
    *,
    download_default: bool = False,
    archive_path: Path | None = None,
    cache_dir: Path | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
) -> str:
    """``python-distribution-extract DEST (--download-default | --archive-path P)``.

    Args:
        dest: directory to extract into (must not exist or be empty; it receives ``dest/python/...``
            by one rename of a fully extracted and checked staging directory beside it).
        download_default: fetch this host's default catalog distribution (full archive) through the cache.
        archive_path: a local archive instead.
        cache_dir, options, progress: see ``distribution.ensure_archive``.

    Returns:
        Text for stdout: ``extracting archive to <dest>``.

    Raises:
        DistributionError: neither or both sources given (PyOxidizer's messages), download or
            extraction failure, unsafe member, a digest mismatch (``integrity``), a non-empty ``dest``.
    """
    if not download_default and archive_path is None:
        raise DistributionError("must specify --download-default or --archive-path")
    if download_default and archive_path is not None:
        raise DistributionError("must only specify one of --download-default or --archive-path")
    if archive_path is None:
        entry = resolve_catalog_entry()
        try:
            archive = ensure_archive(
                entry.effective_url(), entry.sha256, cache=open_cache(cache_dir), options=options, progress=progress
            )
        except DownloadError as exc:  # this command's offline route is a local archive, not a distribution spec
            raise DownloadError(
                exc.message,
                hint="offline, pass --archive-path ARCHIVE (a python-build-standalone archive you have), "
                "or set PYOXIDIZER_PY_MIRROR to a mirror holding <release>/<archive>",
            ) from exc
    else:
        archive = Path(archive_path)
        verify_local_archive(archive)
    # Staged beside dest and renamed into place: a failure (a corrupt archive, a full disk, a limit)
    # leaves dest as it was.
    extract_archive(archive, dest, check=lambda root: check_extracted_tree(root, archive))
    return f"extracting archive to {dest}"


@contextlib.contextmanager
def _extracted(archive: Path) -> Iterator[Distribution]:
    """A local archive verified, extracted into a temporary directory and described (PyOxidizer
    also works from a temporary extraction); the directory is removed on the way out, whatever happens."""
    sha256 = verify_local_archive(archive)
    tmp = Path(tempfile.mkdtemp(prefix="pyoxidizer-py-dist-"))
    try:
        root = tmp / "tree"
        extract_archive(archive, root)
        from pyoxidizer_py.distribution.pbs.catalog import parse_archive_name

        parts = parse_archive_name(archive.name)
        yield distribution_from_tree(
            root,
            description=str(archive),
            sha256=sha256,
            target_triple=parts["triple"] if parts else None,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stdlib_scan(dist: Distribution) -> tuple[list[str], list[str]]:
    """Module names and ``[package].resource`` names of the stdlib (site-packages etc. excluded)."""
    stdlib = dist.stdlib_dir
    modules: set[str] = set()
    resources: set[str] = set()
    skip = {"site-packages", "lib-dynload", "__pycache__"}
    for path in sorted(stdlib.rglob("*")):
        rel = path.relative_to(stdlib)
        if any(p in skip or p.startswith("config-") for p in rel.parts) or not path.is_file():
            continue
        if path.suffix == ".py":
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts and all(p.isidentifier() for p in parts):
                modules.add(".".join(parts))
        elif len(rel.parts) > 1 and (stdlib / rel.parts[0] / "__init__.py").is_file():
            package_parts = list(rel.parts[:-1])
            while package_parts and not (stdlib.joinpath(*package_parts) / "__init__.py").is_file():
                package_parts.pop()
            inner = rel.relative_to(*package_parts) if package_parts else rel
            if package_parts:
                resources.add(f"[{'.'.join(package_parts)}].{inner.as_posix()}")
    return sorted(modules), sorted(resources)


def _licensing(licenses: tuple[str, ...] | None, public_domain: bool | None) -> str:
    if public_domain:
        return "Public Domain"
    if licenses is None:
        return "UNKNOWN"
    if not licenses:
        return "None defined"
    return "Valid SPDX: " + " OR ".join(licenses)


def python_distribution_info(path: Path) -> str:
    """``python-distribution-info PATH``: describe a local archive.

    Returns:
        Text with the sections ``High-Level Metadata`` (Target triple, Tag, Platform tag, Version),
        ``Extension Modules`` (per module and variant: Required, Built-in Default, Licensing, Links),
        ``Python Modules`` and ``Python Resources`` (``[package].name``).

    Raises:
        DistributionError: missing or invalid archive.
    """
    with _extracted(Path(path)) as dist:
        info = dist.pbs
        assert isinstance(info, PbsInfo)
        pj = info.python_json
        lines = _heading("High-Level Metadata")
        lines += [
            f"Target triple: {dist.target_triple}",
            f"Tag:           {pj.python_tag if pj else 'cp' + dist.major_minor.replace('.', '')}",
            f"Platform tag:  {pj.python_platform_tag if pj else '(unknown: install_only archive)'}",
            f"Version:       {dist.version}",
            "",
        ]
        lines += _heading("Extension Modules")
        if pj is not None:
            for name, variants in sorted(pj.build_info.extensions.items()):
                lines += _heading(name, "-")
                for variant in variants:
                    links = ", ".join(link.name for link in variant.links)
                    licensing = _licensing(
                        variant.licenses
                        if variant.licenses is not None or variant.license_public_domain
                        else pj.licenses,
                        variant.license_public_domain,
                    )
                    lines += [
                        f"Required: {str(variant.required).lower()}",
                        f"Built-in Default: {str(variant.builtin).lower()}",
                        f"Licensing: {licensing}",
                        f"Links: {links}",
                        "",
                    ]
        else:
            lines.append("(install_only archive: no PYTHON.json; built-in modules from config.c)")
            lines.append("")
            for name in dist.builtin_extensions:
                lines += _heading(name, "-")
                lines += ["Built-in Default: true", ""]
        modules, resources = _stdlib_scan(dist)
        lines += _heading("Python Modules")
        lines += [*modules, ""]
        lines += _heading("Python Resources")
        lines += [*resources, ""]
    return "\n".join(lines)


def python_distribution_licenses(path: Path) -> str:
    """``python-distribution-licenses PATH``: licenses of CPython and of the libraries its extensions link.

    Returns:
        Text: ``Python Distribution Licenses: <SPDX OR list | NO LICENSE FOUND>``, then per
        extension variant that links libraries: ``Dependency:``, ``Link Type:`` (system, framework,
        library) and ``Licensing:`` (``Valid SPDX: ...``, ``Public Domain``, ``None defined``, ``UNKNOWN``).

    Raises:
        DistributionError: missing or invalid archive.
    """
    with _extracted(Path(path)) as dist:
        info = dist.pbs
        assert isinstance(info, PbsInfo)
        pj = info.python_json
        if pj is not None:
            core = " OR ".join(pj.licenses) if pj.licenses else "NO LICENSE FOUND"
        else:
            core = " OR ".join(dist.licenses) if dist.license_text else "NO LICENSE FOUND"
        lines = [f"Python Distribution Licenses: {core}", ""]
        lines += _heading("Extension Libraries and License Requirements")
        if pj is None:
            lines += ["(install_only archive: no PYTHON.json, so extension link information is unavailable)", ""]
            return "\n".join(lines)
        for name, variants in sorted(pj.build_info.extensions.items()):
            for variant in variants:
                if not variant.links:
                    continue
                title = name if variant.variant == "default" else f"{name} ({variant.variant})"
                lines += _heading(title, "-")
                for link in variant.links:
                    lines += [
                        f"Dependency: {link.name}",
                        f"Link Type: {link.kind}",
                        "",
                    ]
                lines += [f"Licensing: {_licensing(variant.licenses, variant.license_public_domain)}", ""]
    return "\n".join(lines)


def python_distribution_list(
    *,
    python_version: str | None = None,
    target_triple: str | None = None,
    archive_kind: str | None = None,
    all_releases: bool = False,
    as_json: bool = False,
) -> str:
    """``python-distribution-list``: the catalog.

    Args:
        python_version: ``"3.13"``, ``"3.13.5"`` or ``"3.14t"`` filter, or None.
        target_triple: filter, or None.
        archive_kind: ``"full"``/``"install_only"`` filter, or None.
        all_releases: list every patch release (default: only the newest of each minor).
        as_json: a JSON array of entries instead of a table.

    Returns:
        The text: a table with the columns version (``3.14.9``, ``3.14.9t`` for free-threaded),
        target, kind, build, links (the link modes the archive supports: ``static,dynamic`` or
        ``dynamic``), flavor and the start of the sha256; then a blank line and a line naming
        the default version and the snapshot the catalog comes from.

    Raises:
        DistributionError: ``python_version`` is not a known version, or no entry matches (the
            message lists the known versions or releases).
    """
    from pyoxidizer_py.distribution.pbs.catalog import (
        DEFAULT_VERSION_MIN_AGE_DAYS,
        default_python_version,
        known_versions,
        load_snapshot,
        parse_version_request,
    )

    entries = list_catalog(
        python_version=python_version,
        target_triple=target_triple,
        archive_kind=archive_kind,
        latest_only=not all_releases,
    )
    if not entries:
        where = f" for {target_triple}" if target_triple else ""
        if python_version is not None:
            request = parse_version_request(python_version)
            releases = sorted(
                {e.version_label for e in list_catalog(python_version=request.minor_label, target_triple=target_triple)}
            )
            known = (
                f"known {request.minor_label} releases: {', '.join(releases)}"
                if releases
                else (f"known versions: {', '.join(known_versions())}")
            )
            raise DistributionError(
                f"Python {python_version} is not in the python-build-standalone catalog{where}; {known}"
            )
        raise DistributionError(f"the python-build-standalone catalog has no distribution{where}")
    if as_json:
        return json.dumps([e.to_dict() for e in entries], indent=2)
    rows = [("version", "target", "kind", "build", "links", "flavor", "sha256")]
    rows += [
        (
            e.version_label,
            e.target_triple,
            e.archive_kind,
            e.build_options or "-",
            ",".join(e.link_modes),
            e.flavor,
            e.sha256[:12],
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = [("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()) for r in rows]
    snapshot = load_snapshot()
    table += [
        "",
        f"default version: {default_python_version()} (the newest minor released at least "
        f"{DEFAULT_VERSION_MIN_AGE_DAYS} days before {snapshot.as_of}, the newest release in the catalog "
        f"snapshot from {snapshot.source})",
    ]
    return "\n".join(table)


def cache_clear(cache_dir: Path | None = None) -> str:
    """``cache-clear``: delete the cache directory (``removing <dir>``).

    Raises:
        DistributionError: the directory is not a pyoxidizer-py cache, or cannot be removed.
    """
    return "\n".join(clear_cache(cache_dir))
