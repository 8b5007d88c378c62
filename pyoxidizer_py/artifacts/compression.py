"""Zstandard compression of packed resources payloads, cached across builds.

Payloads are compressed one frame each (RFC 8878; the ``zstandard`` binding of the reference
library, https://python-zstandard.readthedocs.io/), so the runtime decompresses only what is
imported. Frames carry their content size and no checksum (the executable's own bytes are
what they are; a checksum would cost time on every import) and are single-threaded, so equal
input gives equal bytes. Payloads up to 1 MiB (bytecode, sources, data files) use level 19;
larger ones (extension modules, shared libraries) level 9, which is about 10x faster for a
size about 10% larger.

Compressing the standard library at level 19 takes a few seconds, so frames are cached under
the work dir by the payload's hash and level; a cached frame is used only when it decompresses
to the payload again, so a corrupt cache entry is recompressed, never shipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["LARGE_PAYLOAD", "zstd_compressor"]

LARGE_PAYLOAD = 1 << 20
"""Payloads larger than this (bytes) are compressed at the faster level."""

_SMALL_LEVEL = 19
_LARGE_LEVEL = 9


def zstd_compressor(cache_dir: Path | None = None) -> Callable[[bytes], bytes]:
    """A compressor for ``encode_packed_resources``.

    Args:
        cache_dir: where frames are kept between builds (``<blake2b>-<level>.zst``), or None
            for no cache. Unwritable caches are ignored.

    Returns:
        A function from a payload to one Zstandard frame that decompresses to it.
    """
    import zstandard

    compressors = {
        level: zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False)
        for level in (_SMALL_LEVEL, _LARGE_LEVEL)
    }
    decompressor = zstandard.ZstdDecompressor()

    def compress(payload: bytes) -> bytes:
        level = _SMALL_LEVEL if len(payload) <= LARGE_PAYLOAD else _LARGE_LEVEL
        path = None
        if cache_dir is not None:
            digest = hashlib.blake2b(payload, digest_size=20).hexdigest()
            path = cache_dir / digest[:2] / f"{digest}-{level}.zst"
            try:
                frame = path.read_bytes()
                if decompressor.decompress(frame) == payload:
                    return frame
            except (OSError, zstandard.ZstdError):
                pass
        frame = compressors[level].compress(payload)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(frame)
                os.replace(tmp, path)
            except OSError:
                pass
        return frame

    return compress
