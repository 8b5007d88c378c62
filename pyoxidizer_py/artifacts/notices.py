"""Write an executable's license report (``COPYING.txt``) and SBOM into its artifacts directory.

The build collects the components (``artifacts.licensing`` for CPython and the Python
distributions, ``rust_project.crates`` for the Rust crates) and hands them here with the
executable's settings; this module applies the unknown-license policy and writes the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed
from pyoxidizer_py.artifacts.licensing import Component, check_unknown_licenses, render_copying
from pyoxidizer_py.artifacts.sbom import EMBEDDED_SBOM_FILE, render_sbom
from pyoxidizer_py.errors import BuildError

__all__ = ["NoticeOptions", "write_notices"]


@dataclass(frozen=True, kw_only=True, slots=True)
class NoticeOptions:
    """What to write, from the ``PythonExecutable`` settings.

    Attributes:
        exe_name: the executable's name.
        licenses_filename: ``exe.licenses_filename`` (``COPYING.txt``), or None for no report.
        sbom_filename: ``exe.sbom_filename`` (``sbom.cdx.json``), or None for no SBOM file.
        sbom_embed: ``exe.sbom_embed``: also write the SBOM to ``EMBEDDED_SBOM_FILE`` for the
            executable to embed.
        unknown_license_policy: ``exe.unknown_license_policy`` (``warn``, ``error``, ``ignore``).
        timestamp: ``SOURCE_DATE_EPOCH`` for the SBOM, or None.
    """

    exe_name: str
    licenses_filename: str | None = "COPYING.txt"
    sbom_filename: str | None = "sbom.cdx.json"
    sbom_embed: bool = False
    unknown_license_policy: str = "warn"
    timestamp: int | None = None


def _check_name(setting: str, value: str) -> None:
    path = Path(value)
    if not value or path.is_absolute() or ".." in path.parts or value == EMBEDDED_SBOM_FILE:
        raise BuildError(
            f"PythonExecutable.{setting} = {value!r} must be a relative file name inside the install directory"
            + (f" other than {EMBEDDED_SBOM_FILE!r}" if value == EMBEDDED_SBOM_FILE else "")
        )


def write_notices(components: Sequence[Component], artifacts_dir: Path, options: NoticeOptions) -> tuple[str, ...]:
    """Write the license report and the SBOM of one executable.

    Args:
        components: every component of the executable, in report order.
        artifacts_dir: the artifacts directory.
        options: the executable's settings.

    Returns:
        The files (relative to ``artifacts_dir``) to install beside the executable.

    Raises:
        BuildError: a license is unknown under the ``error`` policy, a file name escapes the
            install directory, or a file cannot be written.
    """
    for setting, value in (("licenses_filename", options.licenses_filename), ("sbom_filename", options.sbom_filename)):
        if value is not None:
            _check_name(setting, value)
    check_unknown_licenses(components, options.unknown_license_policy, exe_name=options.exe_name)
    beside: list[str] = []
    try:
        if options.licenses_filename:
            text = render_copying(components, exe_name=options.exe_name)
            write_bytes_if_changed(artifacts_dir / options.licenses_filename, text.encode("utf-8"))
            beside.append(options.licenses_filename)
        if options.sbom_filename or options.sbom_embed:
            sbom = render_sbom(components, exe_name=options.exe_name, timestamp=options.timestamp).encode("utf-8")
            if options.sbom_filename:
                write_bytes_if_changed(artifacts_dir / options.sbom_filename, sbom)
                beside.append(options.sbom_filename)
            if options.sbom_embed:
                write_bytes_if_changed(artifacts_dir / EMBEDDED_SBOM_FILE, sbom)
    except OSError as e:
        raise BuildError(f"cannot write the license report or SBOM in {artifacts_dir}: {e}") from e
    return tuple(beside)
