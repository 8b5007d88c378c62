"""Check a local archive's sha256 against what is known about it, before it is extracted.

An archive fetched by URL is verified against the digest the config or the catalog gives
(``download``). A local archive (``python-distribution-info PATH``, ``--archive-path``,
``PythonDistribution(local_path=...)`` without ``sha256``) is compared, in this order, with:

1. ``<archive>.sha256`` beside it (python-build-standalone published one per asset until
   July 2025): the first word of the file;
2. ``SHA256SUMS`` beside it (a release asset since 20220227): the line ``<sha256>  <file name>``;
3. the catalog entry with the same file name (pbs-installer's data).

With none of these, the archive's own checks are all there is: zstandard frame checksums when the
frame carries them (python-build-standalone's full archives do not), gzip's CRC-32, and the tar
structure (see ``extract``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pyoxidizer_py.distribution.pbs.download import hash_file
from pyoxidizer_py.errors import DistributionError

__all__ = ["expected_digest", "verify_local_archive"]

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_MAX_SUMS_BYTES = 4 << 20


def _read_small(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SUMS_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def expected_digest(archive: Path) -> tuple[str, str] | None:
    """The sha256 that a sidecar file, ``SHA256SUMS`` or the catalog records for ``archive``.

    Returns:
        ``(lowercase hex digest, where it came from)``, or None when nothing records one.
    """
    sidecar = archive.with_name(archive.name + ".sha256")
    text = _read_small(sidecar)
    if text is not None:
        words = text.split()
        if words and _HEX64.fullmatch(words[0]):
            return words[0].lower(), str(sidecar)
    sums = archive.with_name("SHA256SUMS")
    text = _read_small(sums)
    if text is not None:
        for line in text.splitlines():
            words = line.split(maxsplit=1)
            if len(words) == 2 and _HEX64.fullmatch(words[0]) and words[1].lstrip("*").strip() == archive.name:
                return words[0].lower(), str(sums)
    from pyoxidizer_py.distribution.pbs.catalog import load_catalog, parse_archive_name

    if parse_archive_name(archive.name) is not None:
        for entry in load_catalog():
            if entry.filename == archive.name:
                return entry.sha256, f"the catalog entry {entry.url}"
    return None


def verify_local_archive(archive: Path, sha256: str | None = None) -> str:
    """Hash ``archive`` and compare it with ``sha256`` or, when None, with ``expected_digest``.

    Args:
        archive: a local archive file.
        sha256: the digest the user gave (hex), or None.

    Returns:
        The archive's sha256 (lowercase hex).

    Raises:
        DistributionError: the file is missing or unreadable, or its digest differs (both digests
            and where the expected one came from are in the message).
    """
    if not archive.is_file():
        raise DistributionError(f"python distribution archive {archive} does not exist")
    known = (sha256.lower(), "the given sha256") if sha256 else expected_digest(archive)
    try:
        actual = hash_file(archive)
    except OSError as exc:
        raise DistributionError(f"cannot read archive {archive}: {exc.strerror}") from exc
    if known is not None and known[0] != actual:
        raise DistributionError(
            f"sha256 mismatch for {archive}: expected {known[0]} (from {known[1]}), got {actual}; "
            "the archive is corrupt or is not the file that digest describes"
        )
    if known is None:
        logger.info("%s: no recorded sha256 (no .sha256 file, SHA256SUMS or catalog entry)", archive)
    return actual
