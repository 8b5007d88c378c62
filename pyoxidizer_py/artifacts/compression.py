"""Zstandard compression of packed resources payloads, cached across builds.

Payloads are compressed one frame each (RFC 8878; the ``zstandard`` binding of the reference
library, https://python-zstandard.readthedocs.io/), so the runtime decompresses only what is
imported. Frames carry their content size and no checksum (the executable's own bytes are
what they are; a checksum would cost time on every import) and are single-threaded, so equal
input gives equal bytes. Payloads up to 1 MiB (bytecode, sources, data files) use level 19;
larger ones (extension modules, shared libraries) level 9, which is about 10x faster for a
size about 10% larger, and are cut into 4 MiB pieces compressed one frame each and stored
back to back (RFC 8878 section 3.1 allows concatenated frames). The runtime decodes those
frames in parallel, and each alone decodes faster than one large frame, whose window no
longer fits the CPU caches: numpy's 25 MB OpenBLAS library decoded in 27 ms as one frame and in
16 ms as seven, on one thread, for 7% more bytes.

Small frames compress poorly on their own: each module's bytecode repeats the same opcodes,
names and constants as its neighbours but cannot refer to them. So the payloads up to 1 MiB are
compressed with a dictionary (RFC 8878 section 5; trained by zstd's fastCover algorithm,
``zstandard.train_dictionary``) trained on the standard library's bytecode of the build. It is
stored once in the packed resources; its frames name it by its ID in their header. On CPython
3.11's standard library (12.7 MB of bytecode, 4.7 MB as separate frames) a 256 KiB dictionary
saves about 0.7 MB. The dictionary depends only on the standard library's bytecode, so editing
an application's own modules leaves it, and every other cached frame, as it was.

Compressing the standard library at level 19 takes a few seconds, so frames are cached under
the work dir by the payload's hash, the level and the dictionary's hash; a cached frame is used
only when it decompresses to the payload again, so a corrupt cache entry is recompressed, never
shipped. Dictionaries are cached by the hash of their samples, and used only when zstd loads
them and they carry the ID derived from that hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LARGE_PAYLOAD", "Compression", "compressor_for", "train_dictionary", "zstd_compressor"]

_log = logging.getLogger(__name__)

LARGE_PAYLOAD = 1 << 20
"""Payloads larger than this (bytes) are compressed at the faster level, in pieces."""
PIECE = 4 << 20
"""How much of a large payload (bytes) one frame holds."""

_SMALL_LEVEL = 19
_LARGE_LEVEL = 9

_DICTIONARY_MAX = 256 << 10
_DICTIONARY_MIN = 16 << 10
_DICTIONARY_MIN_SAMPLES = 64
_DICTIONARY_MIN_SAMPLE_BYTES = 1 << 20
"""Below this many samples or bytes of samples, a dictionary costs more than it saves."""
_FASTCOVER = {"k": 200, "d": 8}
"""fastCover's segment and d-mer sizes, fixed so training needs one pass (zstd's defaults are a
parameter search over many): measured within 1% of the searched optimum on CPython's bytecode."""


@dataclass(frozen=True, slots=True)
class Compression:
    """Zstandard settings of one build's packed resources (``policy.resources_compression = "zstd"``).

    Attributes:
        cache_dir: where frames and dictionaries are kept between builds, or None for no cache.
        dictionary: compress payloads up to 1 MiB with a dictionary trained on the standard
            library's bytecode (when there is enough of it: 64 modules and 1 MiB).
    """

    cache_dir: Path | None = None
    dictionary: bool = True


def _cache_write(path: Path, data: bytes) -> None:
    """Write a cache entry atomically; an unwritable cache is ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass


def train_dictionary(samples: Sequence[bytes], cache_dir: Path | None = None) -> bytes | None:
    """A Zstandard dictionary for ``samples`` (the standard library's bytecode payloads), or None.

    Args:
        samples: payloads to train on; their order does not matter (they are sorted by hash).
        cache_dir: where trained dictionaries are kept (``dict-<blake2b>.zdict``), or None.

    Returns:
        The dictionary's bytes (zstd's format, RFC 8878 section 5, at most 256 KiB: about 1/50
        of the samples), or None when there are fewer than 64 samples or 1 MiB of them, or
        zstd cannot train on them (its ``ZstdError``). Equal
        samples give equal bytes: fastCover runs single-threaded with fixed parameters, and the
        dictionary ID (in 32768..2**31-1, the range RFC 8878 leaves to users) is derived from
        the samples' hash.
    """
    import zstandard

    total = sum(len(s) for s in samples)
    if len(samples) < _DICTIONARY_MIN_SAMPLES or total < _DICTIONARY_MIN_SAMPLE_BYTES:
        return None
    hashes = sorted((hashlib.blake2b(s, digest_size=20).digest(), i) for i, s in enumerate(samples))
    size = max(_DICTIONARY_MIN, min(_DICTIONARY_MAX, total // 50))
    key = hashlib.blake2b(f"{size}:{_SMALL_LEVEL}:{_FASTCOVER}".encode(), digest_size=20)
    for digest, _ in hashes:
        key.update(digest)
    dict_id = 32768 + int.from_bytes(key.digest()[:4], "little") % (2**31 - 32768)
    path = None if cache_dir is None else cache_dir / f"dict-{key.hexdigest()}.zdict"
    if path is not None:
        try:
            cached = path.read_bytes()
            loaded = zstandard.ZstdCompressionDict(cached, dict_type=zstandard.DICT_TYPE_FULLDICT)
            loaded.precompute_compress(level=_SMALL_LEVEL)  # raises when zstd cannot load it
            if loaded.dict_id() == dict_id:
                return cached
        except (OSError, zstandard.ZstdError):
            pass
    ordered: list[bytes | bytearray | memoryview] = [samples[i] for _, i in hashes]
    try:
        trained = zstandard.train_dictionary(size, ordered, dict_id=dict_id, level=_SMALL_LEVEL, **_FASTCOVER)
    except zstandard.ZstdError as exc:  # samples zstd cannot learn from: frames without a dictionary
        _log.debug("no zstd dictionary: training failed: %s", exc)
        return None
    data = trained.as_bytes()
    if path is not None:
        _cache_write(path, data)
    return data


def compressor_for(compression: Compression, samples: Sequence[bytes]) -> tuple[Callable[[bytes], bytes], bytes | None]:
    """The compressor of one packed resources blob and the dictionary its frames need.

    Args:
        compression: the build's settings.
        samples: the standard library's bytecode payloads (``train_dictionary``).

    Returns:
        ``(compressor, dictionary)``; the dictionary is None when not wanted or not worth it.
    """
    dictionary = train_dictionary(samples, compression.cache_dir) if compression.dictionary else None
    return zstd_compressor(compression.cache_dir, dictionary), dictionary


def zstd_compressor(cache_dir: Path | None = None, dictionary: bytes | None = None) -> Callable[[bytes], bytes]:
    """A compressor for ``encode_packed_resources``.

    Args:
        cache_dir: where frames are kept between builds (``<blake2b>-<level>[-<dictionary
            blake2b>].zst``), or None for no cache. Unwritable caches are ignored.
        dictionary: a dictionary (``train_dictionary``) for the payloads up to 1 MiB; their
            frames then need it to decompress (the packed resources store it).

    Returns:
        A function from a payload to the Zstandard frames that decompress to it: one frame,
        or for a payload above 1 MiB one frame per 4 MiB piece, back to back.

    Raises:
        zstandard.ZstdError: ``dictionary`` is not a zstd dictionary.
    """
    import zstandard

    zdict = None
    suffix = ""
    if dictionary is not None:
        zdict = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_FULLDICT)
        suffix = "-" + hashlib.blake2b(dictionary, digest_size=8).hexdigest()
    compressors = {
        _SMALL_LEVEL: zstandard.ZstdCompressor(
            level=_SMALL_LEVEL, dict_data=zdict, write_content_size=True, write_checksum=False
        ),
        _LARGE_LEVEL: zstandard.ZstdCompressor(level=_LARGE_LEVEL, write_content_size=True, write_checksum=False),
    }
    decompressors = {
        _SMALL_LEVEL: zstandard.ZstdDecompressor(dict_data=zdict),
        _LARGE_LEVEL: zstandard.ZstdDecompressor(),
    }

    def compress(payload: bytes) -> bytes:
        if len(payload) > LARGE_PAYLOAD:
            pieces = (payload[at : at + PIECE] for at in range(0, len(payload), PIECE))
            return b"".join(one_frame(piece, _LARGE_LEVEL) for piece in pieces)
        return one_frame(payload, _SMALL_LEVEL)

    def one_frame(payload: bytes, level: int) -> bytes:
        path = None
        if cache_dir is not None:
            digest = hashlib.blake2b(payload, digest_size=20).hexdigest()
            path = cache_dir / digest[:2] / f"{digest}-{level}{suffix if level == _SMALL_LEVEL else ''}.zst"
            try:
                cached = path.read_bytes()
                if decompressors[level].decompress(cached) == payload:
                    return cached
            except (OSError, zstandard.ZstdError):
                pass
        frame = compressors[level].compress(payload)
        if path is not None:
            _cache_write(path, frame)
        return frame

    return compress
