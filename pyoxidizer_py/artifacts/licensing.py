"""The licensing report: every component in an executable, its license and its license texts.

Components and where their facts come from:

- **CPython** (``kind="cpython"``): a python-build-standalone archive's ``PYTHON.json``
  (``licenses``, the text at ``license_path``), or an installed CPython's ``LICENSE.txt``
  (which also carries the notices of the third-party code CPython's sources include).
- **Libraries bundled with CPython** (``kind="library"``): for python-build-standalone, the
  third-party libraries of the extension modules that are in the executable (compiled into
  libpython, or shipped as a ``lib-dynload`` module), from each extension variant's
  ``licenses``, ``license_paths`` and ``license_public_domain``
  (https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html). An installed
  CPython's extension modules link the system's shared libraries, which are not shipped.
- **Python distributions** (``kind="python-distribution"``): every ``*.dist-info`` /
  ``*.egg-info`` directory among the executable's resources, from its ``METADATA``
  (core metadata: ``License-Expression`` and ``License-File`` from PEP 639, else the
  ``License ::`` classifiers, else the ``License`` field) and the license files in the
  directory (``licenses/`` for metadata 2.4, the directory itself before).
- **Rust crates** (``kind="rust-crate"``): ``rust_project.crates`` (``cargo metadata``).

A component whose license cannot be determined is listed with the license ``UNKNOWN``;
``check_unknown_licenses`` turns that into a build error when the policy asks.
``render_copying`` writes the text of ``COPYING.txt`` (PyOxidizer's ``licenses_filename``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.model import (
    File,
    PythonExtensionModule,
    PythonPackageDistributionResource,
    Resource,
    read_content,
)

__all__ = [
    "UNKNOWN",
    "UNKNOWN_LICENSE_POLICIES",
    "Component",
    "LicenseText",
    "canonical_spdx",
    "check_unknown_licenses",
    "cpython_components",
    "is_license_file_name",
    "python_distribution_components",
    "render_copying",
]

_log = logging.getLogger(__name__)

UNKNOWN = "UNKNOWN"
"""The license shown for a component whose license could not be determined."""

UNKNOWN_LICENSE_POLICIES = ("warn", "error", "ignore")
"""Values of ``PythonExecutable.unknown_license_policy``."""

_LICENSE_FILE_RE = re.compile(r"^(licen[cs]e|copying|notice|copyright|unlicense|authors)([.\-_].*)?$", re.IGNORECASE)

# ``License ::`` trove classifiers that name exactly one SPDX license (https://pypi.org/classifiers/,
# https://spdx.org/licenses/). Classifiers such as "BSD License" name a family and stay as text.
_CLASSIFIER_SPDX = {
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: zlib/libpng License": "Zlib",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class LicenseText:
    """One license file of a component.

    Attributes:
        name: the file's name as the component ships it (``LICENSE``, ``licenses/LICENSE.APACHE``,
            ``licenses/LICENSE.openssl-3.txt``).
        text: its content (decoded as UTF-8, undecodable bytes replaced).
    """

    name: str
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Component:
    """One thing inside (or installed with) an executable.

    Attributes:
        kind: ``"cpython"``, ``"library"`` (bundled with CPython), ``"python-distribution"`` or
            ``"rust-crate"``.
        name: its name (``CPython``, ``PyYAML``, ``pyo3``, ``openssl-3``).
        version: its version, or None when the source does not say (bundled libraries).
        license_expression: an SPDX license expression, or None when no SPDX form is known.
        license_names: license names that are not SPDX (``License ::`` classifiers, the
            free-text ``License`` field), shown when there is no expression.
        public_domain: the source declares the code public domain.
        texts: the license files found.
        purl: its package URL (https://github.com/package-url/purl-spec): ``pkg:pypi/pyyaml@6.0.2``,
            ``pkg:cargo/pyo3@0.30.1``, ``pkg:generic/cpython@3.11.7``.
        hashes: ``(algorithm, hex digest)`` pairs in CycloneDX's algorithm names (``"SHA-256"``).
        description: what the component is and where its data came from, one line.
        used_by: for bundled libraries, the extension modules that link them.
    """

    kind: str
    name: str
    version: str | None
    license_expression: str | None
    license_names: tuple[str, ...] = ()
    public_domain: bool = False
    texts: tuple[LicenseText, ...] = ()
    purl: str
    hashes: tuple[tuple[str, str], ...] = ()
    description: str = ""
    used_by: tuple[str, ...] = field(default=())

    @property
    def license_label(self) -> str:
        """The license as one line: the SPDX expression, the names, ``Public Domain`` or ``UNKNOWN``."""
        if self.license_expression:
            return self.license_expression
        if self.public_domain:
            return "Public Domain"
        if self.license_names:
            return "; ".join(self.license_names)
        return UNKNOWN

    @property
    def is_unknown(self) -> bool:
        """True when nothing says what the license is."""
        return self.license_label == UNKNOWN

    @property
    def title(self) -> str:
        """``name version`` (or just the name)."""
        return f"{self.name} {self.version}" if self.version else self.name


def is_license_file_name(name: str) -> bool:
    """True for file names that hold license texts by convention (``LICENSE``, ``LICENSE-MIT``,
    ``COPYING.txt``, ``NOTICE``, ``UNLICENSE``, ``AUTHORS``), case-insensitively."""
    return bool(_LICENSE_FILE_RE.match(name))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def canonical_spdx(expression: str) -> str | None:
    """``expression`` in canonical SPDX form (packaging's validator), or None when it is not SPDX."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return str(canonicalize_license_expression(expression))
    except (InvalidLicenseExpression, ValueError):
        return None


def _sha256(data: bytes) -> tuple[tuple[str, str], ...]:
    return (("SHA-256", hashlib.sha256(data).hexdigest()),)


# -- CPython ----------------------------------------------------------------------------------------


def _included_extension_names(resources: Iterable[Resource]) -> set[str]:
    return {r.name for r in resources if isinstance(r, PythonExtensionModule) and r.is_stdlib}


def cpython_components(dist: Any, resources: Sequence[Resource]) -> list[Component]:
    """CPython and the libraries it bundles, for one distribution.

    Args:
        dist: the ``Distribution`` embedded (``version``, ``licenses``, ``license_text``, ``pbs``).
        resources: the executable's resources (which of the distribution's shared-library extension
            modules it ships).

    Returns:
        The CPython component first (purl ``pkg:generic/cpython@VERSION``; hashed by the archive's
        sha256 for python-build-standalone), then one ``library`` component per distinct license
        file set of the included extension modules' third-party code, sorted by name.
    """
    pbs = getattr(dist, "pbs", None)
    pj = getattr(pbs, "python_json", None)
    texts: list[LicenseText] = []
    if dist.license_text:
        license_path = getattr(pj, "license_path", None) if pj is not None else None
        texts.append(LicenseText(name=license_path or "LICENSE.txt", text=dist.license_text))
    hashes: tuple[tuple[str, str], ...] = ()
    if pbs is not None and getattr(pbs, "sha256", None):
        hashes = (("SHA-256", pbs.sha256),)
    origin = (
        "a python-build-standalone archive (PYTHON.json)"
        if pj is not None
        else (f"the {dist.origin} CPython {dist.description}")
    )
    expression = canonical_spdx(" OR ".join(dist.licenses)) if dist.licenses else None
    core = Component(
        kind="cpython",
        name="CPython",
        version=dist.version,
        license_expression=expression,
        license_names=() if expression else tuple(dist.licenses),
        texts=tuple(texts),
        purl=f"pkg:generic/cpython@{dist.version}",
        hashes=hashes,
        description=f"the Python interpreter and standard library, from {origin}",
    )
    if pj is None or pbs is None:
        return [core]
    included = _included_extension_names(resources)
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for name, variants in sorted(pj.build_info.extensions.items()):
        builtin = [v for v in variants if v.in_core or v.shared_lib is None]
        chosen = builtin[0] if builtin else next((v for v in variants if name in included), None)
        if chosen is None or (chosen.licenses is None and not chosen.license_public_domain):
            continue
        key = tuple(chosen.license_paths or ()) or (f"links:{'+'.join(link.name for link in chosen.links)}",)
        group = groups.setdefault(key, {"variant": chosen, "used_by": []})
        group["used_by"].append(name)
    out = [core]
    for group in groups.values():
        variant = group["variant"]
        paths = variant.license_paths or ()
        lib_name = _library_name(paths, variant, group["used_by"])
        lib_texts = []
        for rel in paths:
            text = _read_text(pbs.path(rel))
            if text is not None:
                lib_texts.append(LicenseText(name=rel, text=text))
        lib_expr = canonical_spdx(" OR ".join(variant.licenses)) if variant.licenses else None
        out.append(
            Component(
                kind="library",
                name=lib_name,
                version=None,
                license_expression=lib_expr,
                license_names=() if lib_expr or not variant.licenses else tuple(variant.licenses),
                public_domain=bool(variant.license_public_domain),
                texts=tuple(lib_texts),
                purl=f"pkg:generic/{lib_name}",
                description="a library bundled with CPython, linked by the extension modules "
                + ", ".join(group["used_by"]),
                used_by=tuple(group["used_by"]),
            )
        )
    out[1:] = sorted(out[1:], key=lambda c: c.name.lower())
    return out


def _library_name(paths: Sequence[str], variant: Any, used_by: Sequence[str]) -> str:
    """A bundled library's name: from its license file (``LICENSE.openssl-3.txt`` -> ``openssl-3``),
    else its link names, else the first extension module using it."""
    for rel in paths:
        stem = Path(rel).name
        stem = re.sub(r"^(LICENSE|COPYING)[.\-_]?", "", stem, flags=re.IGNORECASE)
        stem = re.sub(r"\.(txt|md|rst)$", "", stem, flags=re.IGNORECASE)
        if stem:
            return stem
    links = [link.name for link in variant.links if not getattr(link, "system", False)]
    return "+".join(links) if links else f"{used_by[0]} third-party code"


# -- Python distributions ---------------------------------------------------------------------------

_META_DIR_RE = re.compile(r"^(?:(?P<prefix>.*)/)?(?P<dir>[^/]+\.(?:dist|egg)-info)/(?P<rel>.+)$")


def _distribution_files(resources: Iterable[Resource]) -> dict[str, dict[str, bytes]]:
    """``{metadata dir name: {path inside it: bytes}}`` from typed and plain-file resources."""
    out: dict[str, dict[str, bytes]] = {}
    for r in resources:
        if isinstance(r, PythonPackageDistributionResource):
            out.setdefault(r.directory, {})[r.name] = read_content(r)
        elif isinstance(r, File):
            m = _META_DIR_RE.match(r.path_in_install)
            if m:
                out.setdefault(m.group("dir"), {})[m.group("rel")] = read_content(r)
    return out


def _normalize_pypi_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_component(directory: str, files: Mapping[str, bytes]) -> Component:
    from packaging.metadata import parse_email

    meta_bytes = files.get("METADATA") or files.get("PKG-INFO") or b""
    raw, _unparsed = parse_email(meta_bytes) if meta_bytes else ({}, {})
    stem = directory.rsplit(".", 1)[0]
    fallback_name, _, fallback_version = stem.partition("-")
    name = str(raw.get("name") or fallback_name)
    version = str(raw.get("version") or fallback_version) or None

    expression = None
    names: list[str] = []
    declared = raw.get("license_expression")
    if declared:
        expression = canonical_spdx(str(declared))
        if expression is None:
            names.append(str(declared))
    if expression is None and not names:
        classifiers = [c for c in raw.get("classifiers", []) if c.startswith("License ::")]
        mapped = [_CLASSIFIER_SPDX.get(c) for c in classifiers]
        if classifiers and all(mapped):
            expression = canonical_spdx(" OR ".join(dict.fromkeys(m for m in mapped if m)))
        if expression is None:
            names += [c.rsplit(" :: ", 1)[-1] for c in classifiers]
    license_field = str(raw.get("license") or "").strip()
    if expression is None and not names and license_field and license_field.upper() != UNKNOWN:
        first_line = license_field.splitlines()[0].strip()
        expression = canonical_spdx(first_line) if len(license_field) < 100 else None
        if expression is None:
            names.append(first_line if len(first_line) <= 100 else first_line[:97] + "...")

    texts: dict[str, LicenseText] = {}
    for declared_file in raw.get("license_files", []):
        for rel in (f"licenses/{declared_file}", declared_file):
            if rel in files and rel not in texts:
                texts[rel] = LicenseText(name=rel, text=files[rel].decode("utf-8", errors="replace"))
                break
    for rel in sorted(files):
        top = rel.split("/", 1)[0]
        if rel not in texts and (top == "licenses" or ("/" not in rel and is_license_file_name(rel))):
            texts[rel] = LicenseText(name=rel, text=files[rel].decode("utf-8", errors="replace"))
    if not expression and not names and license_field and len(license_field) >= 100:
        texts.setdefault("METADATA License", LicenseText(name="METADATA License field", text=license_field))

    record = files.get("RECORD")
    return Component(
        kind="python-distribution",
        name=name,
        version=version,
        license_expression=expression,
        license_names=tuple(names),
        texts=tuple(texts[k] for k in sorted(texts)),
        purl=f"pkg:pypi/{_normalize_pypi_name(name)}" + (f"@{version}" if version else ""),
        hashes=_sha256(record) if record is not None else (),
        description=f"a Python distribution ({directory})",
    )


def python_distribution_components(resources: Sequence[Resource]) -> list[Component]:
    """One component per Python distribution whose metadata directory is among ``resources``.

    Args:
        resources: the executable's resources after the policy (typed ``PythonPackageDistributionResource``
            records, or ``File`` records under ``*.dist-info/`` in "files" resource mode).

    Returns:
        Components sorted by normalized name. The hash is the sha256 of the distribution's
        ``RECORD`` file, which lists the sha256 of every file the distribution installed.
        A distribution whose metadata directory was filtered out of the resources is not listed.
    """
    comps = [_distribution_component(d, files) for d, files in _distribution_files(resources).items()]
    return sorted(comps, key=lambda c: (_normalize_pypi_name(c.name), c.version or ""))


# -- policy and rendering ---------------------------------------------------------------------------


def check_unknown_licenses(components: Sequence[Component], policy: str, *, exe_name: str) -> list[Component]:
    """Apply ``PythonExecutable.unknown_license_policy``.

    Args:
        components: every component of the executable.
        policy: ``"warn"`` (log a warning per unknown license), ``"error"`` (fail) or ``"ignore"``.
        exe_name: the executable's name, for messages.

    Returns:
        The components whose license is unknown.

    Raises:
        BuildError: the policy is ``"error"`` and a license is unknown (the message names every such component).
    """
    unknown = [c for c in components if c.is_unknown]
    if not unknown:
        return unknown
    listed = ", ".join(f"{c.title} ({c.kind})" for c in unknown)
    if policy == "error":
        raise BuildError(
            f"{exe_name}: unknown license for {listed}",
            hint='check the components\' metadata, or set exe.unknown_license_policy = "warn"',
        )
    if policy == "warn":
        _log.warning("%s: unknown license for %s (listed as UNKNOWN in the license report)", exe_name, listed)
    return unknown


_KIND_TITLES = (
    ("cpython", "CPython"),
    ("library", "Libraries bundled with CPython"),
    ("python-distribution", "Python distributions"),
    ("rust-crate", "Rust crates"),
)


def render_copying(components: Sequence[Component], *, exe_name: str) -> str:
    """The text of ``COPYING.txt``.

    Args:
        components: every component, in report order.
        exe_name: the executable's name.

    Returns:
        Plain text: a header, a summary table (component, version, license) per kind, the list of
        unknown licenses, then one section per component with its license, description, package
        URL and every license text.
    """
    lines = [
        f"Licenses of the software in {exe_name}",
        "=" * len(f"Licenses of the software in {exe_name}"),
        "",
        f"{exe_name} is built from the components below, each under its own license. This file",
        "names every one of them with its license and the license texts it ships.",
        "It was generated by pyoxidizer-py from the components' own metadata.",
        "",
    ]
    by_kind = {kind: [c for c in components if c.kind == kind] for kind, _ in _KIND_TITLES}
    for kind, title in _KIND_TITLES:
        items = by_kind[kind]
        if not items:
            continue
        lines += [f"{title} ({len(items)})", "-" * (len(title) + len(str(len(items))) + 3)]
        width = max(len(c.title) for c in items)
        lines += [f"  {c.title.ljust(width)}  {c.license_label}" for c in items]
        lines.append("")
    unknown = [c for c in components if c.is_unknown]
    lines.append("Components with an unknown license: " + (", ".join(c.title for c in unknown) or "none"))
    lines.append("")
    for c in components:
        heading = f"{c.title} ({c.kind})"
        lines += ["", "=" * 78, heading, "=" * 78, ""]
        lines.append(f"License: {c.license_label}")
        if c.description:
            lines.append(f"What: {c.description}")
        lines.append(f"Package URL: {c.purl}")
        if not c.texts:
            lines.append("License text: none shipped with the component")
        for t in c.texts:
            lines += ["", f"--- {t.name} ---", "", t.text.rstrip("\n")]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
