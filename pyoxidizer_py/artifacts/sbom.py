"""A CycloneDX 1.6 JSON software bill of materials for an executable, and reading it back.

The document (https://cyclonedx.org/docs/1.6/json/) is written with cyclonedx-python-lib from
the licensing report's components: ``metadata.component`` is the executable (type
``application``), ``components`` holds CPython, its bundled libraries, every Python distribution
and every Rust crate (type ``library``) with its purl, hashes and licenses (an SPDX expression,
or license names), and ``dependencies`` says the executable depends on each of them.

The output is reproducible: every ``bom-ref`` is the component's purl, the serial number is a
UUID derived from the content (RFC 9562 version 5), and the timestamp is ``SOURCE_DATE_EPOCH``
when set and absent otherwise.

Embedding: the generated project's ``src/main.rs`` puts the file ``embedded-sbom.cdx.json`` of the
artifacts directory into an ELF section named ``.pyoxidizer_sbom`` (empty when the SBOM is not
embedded); ``read_embedded_sbom`` finds it again with pyelftools.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyoxidizer_py.artifacts.licensing import Component

__all__ = [
    "EMBEDDED_SBOM_FILE",
    "SBOM_SECTION",
    "read_embedded_sbom",
    "render_sbom",
    "validate_sbom",
]

EMBEDDED_SBOM_FILE = "embedded-sbom.cdx.json"
"""The artifacts-directory file that ``src/main.rs`` embeds (empty when nothing is embedded)."""

SBOM_SECTION = ".pyoxidizer_sbom"
"""The ELF section holding an embedded SBOM."""

_NAMESPACE = uuid.UUID("8d3c2f5e-6c1b-4d5e-9a47-1f0a2b3c4d5e")


def _license_objects(component: Component) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression

    if component.license_expression:
        return [LicenseExpression(component.license_expression)]
    if component.public_domain:
        return [DisjunctiveLicense(name="Public Domain")]
    return [DisjunctiveLicense(name=name) for name in component.license_names]


def _cdx_component(component: Component, *, kind: Any) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component as CdxComponent
    from packageurl import PackageURL

    algorithms = {"SHA-256": HashAlgorithm.SHA_256}
    properties = [Property(name="pyoxidizer-py:kind", value=component.kind)]
    if component.is_unknown:
        properties.append(Property(name="pyoxidizer-py:license", value="UNKNOWN"))
    return CdxComponent(
        name=component.name,
        version=component.version,
        type=kind,
        bom_ref=component.purl,
        purl=PackageURL.from_string(component.purl),
        description=component.description or None,
        hashes=[HashType(alg=algorithms[alg], content=digest) for alg, digest in component.hashes if alg in algorithms],
        licenses=_license_objects(component),
        properties=properties,
    )


def render_sbom(
    components: Sequence[Component],
    *,
    exe_name: str,
    exe_version: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The SBOM of one executable, as CycloneDX 1.6 JSON text.

    Args:
        components: the licensing report's components (CPython, libraries, distributions, crates).
        exe_name: the executable's name (``metadata.component``, purl ``pkg:generic/NAME@VERSION``).
        exe_version: its version, if the config says; else none is recorded.
        timestamp: ``metadata.timestamp`` in seconds since 1970 (``SOURCE_DATE_EPOCH``), or None to omit it.

    Returns:
        JSON text (UTF-8, sorted as cyclonedx-python-lib sorts, with a trailing newline). Equal
        components give equal text.
    """
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import ComponentType
    from cyclonedx.model.tool import Tool
    from cyclonedx.output.json import JsonV1Dot6

    from pyoxidizer_py import __version__

    root = Component(
        kind="application",
        name=exe_name,
        version=exe_version,
        license_expression=None,
        purl=f"pkg:generic/{exe_name}" + (f"@{exe_version}" if exe_version else ""),
        description="an executable built by pyoxidizer-py",
    )
    root_cdx = _cdx_component(root, kind=ComponentType.APPLICATION)
    root_cdx.properties.clear()
    libs = [_cdx_component(c, kind=ComponentType.LIBRARY) for c in components]
    fingerprint = hashlib.sha256(
        json.dumps(
            [exe_name, exe_version, timestamp, [(c.purl, c.hashes, c.license_label) for c in components]]
        ).encode("utf-8")
    ).hexdigest()
    metadata = BomMetaData(
        component=root_cdx,
        tools=[Tool(vendor="pyoxidizer-py", name="pyoxidizer-py", version=__version__)],
        timestamp=datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
        if timestamp is not None
        else None,
    )
    bom = Bom(components=libs, metadata=metadata, serial_number=uuid.uuid5(_NAMESPACE, fingerprint))
    if timestamp is None:
        bom.metadata.timestamp = None  # type: ignore[assignment]  # BomMetaData fills in "now" when given None
    bom.register_dependency(root_cdx, libs)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text.rstrip("\n") + "\n"


def validate_sbom(text: str) -> None:
    """Validate SBOM text against the CycloneDX 1.6 JSON schema (strict: no unknown properties).

    Raises:
        ValueError: the text is not valid CycloneDX 1.6 JSON (the message says where).
    """
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise ValueError(f"not a valid CycloneDX 1.6 document: {error}")


def read_embedded_sbom(executable: Path) -> str | None:
    """The SBOM embedded in an executable built by pyoxidizer-py.

    Args:
        executable: an ELF executable.

    Returns:
        The SBOM's JSON text, or None when the executable has no ``.pyoxidizer_sbom`` section or
        an empty one (built with ``exe.sbom_embed = False``).

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not an ELF file.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    with open(executable, "rb") as f:
        try:
            elf = ELFFile(f)
        except ELFError as e:
            raise ValueError(f"{executable} is not an ELF executable: {e}") from e
        section = elf.get_section_by_name(SBOM_SECTION)
        if section is None:
            return None
        data = section.data().rstrip(b"\0")
    return data.decode("utf-8") if data else None
