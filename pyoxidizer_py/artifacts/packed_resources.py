"""The ``packed-resources`` file: pyoxidizer-py's own format for resources the importer serves.

One blob, embedded in the executable (``include_bytes!``) or memory-mapped from a file
beside it, that the runtime reads without copying. Described for users in
``docs/packed-resources.md``; in short (all integers little-endian):

* an 88-byte **header**: magic ``b"PYOXRES\\0"``, format version (u32), header size (u32),
  then (offset, length) u64 pairs of the frozen section, the index and the data section, the
  target CPython's 4-byte bytecode magic number, a reserved u32, and the (offset, length) u64
  pair of the Zstandard dictionary (length 0: none; its bytes lie in the data section). The
  sections follow in the order frozen, data, index;
* the **frozen section**, read by the Rust runtime before CPython starts: a count (u32),
  a reserved u32, then per module (name offset u64, code offset u64, code length u32,
  flags u32 with bit 0 = package, bit 1 = the code is a Zstandard frame) and the
  NUL-terminated ASCII names. These become
  entries of CPython's ``PyImport_FrozenModules`` table, so the modules CPython imports
  while it initialises (``encodings`` and its codecs, ``site`` on 3.10, ...) and the
  importer itself come from memory on every CPython 3.10-3.14;
* the **data** section: module sources, bytecode (bare marshal payloads, no ``.pyc``
  header), file contents and shared objects, each a slice addressed by absolute
  (offset, length). Identical payloads are stored once. A **negative length** ``-n`` means
  the ``n`` bytes at the offset are one Zstandard frame (RFC 8878, with its content size)
  that decompresses to the payload, or for a payload above 1 MiB consecutive frames of 4 MiB
  of content each, which the runtime decodes in parallel; a frame whose header names a
  dictionary ID needs the header's dictionary (the only one a blob has), frames without one
  need none. The frozen
  section's code is not compressed, nor are the modules it holds, so what CPython imports
  while it starts costs no decompression,
  except the codecs only unusual locales need at start-up (bit 1 of their flags);
* the **index** (last), a ``marshal`` (format version 2: no back-references, so equal
  input gives equal bytes) tuple the importer loads with one ``marshal.loads`` call.

The index tuple is ``(FORMAT_VERSION, prefixes, modules, package_data, distributions,
shared_libraries, options)``:

* ``prefixes``: directory names relative to the executable's directory; ``prefixes[0]``
  is where in-memory resources *appear* to be (``__file__`` of in-memory modules points
  there), the others are ``filesystem-relative`` install prefixes. A "location" ``loc``
  below is an index into it: 0 = in memory, k > 0 = files under ``prefixes[k]``.
* ``modules``: ``{name: entry}``; ``entry[0]`` is a flag set (``MODULE_*``):

  - in memory: ``(flags, 0, source_offset, source_length, bc0_offset, bc0_length,
    bc1_offset, bc1_length, bc2_offset, bc2_length)``, trailing zeros trimmed;
  - files: ``(flags, loc)``; the source is ``<prefix>/<name as path>.py`` (or
    ``/__init__.py``), bytecode in ``__pycache__`` as CPython writes it, or a single
    ``<path>.pyc`` beside it when ``MODULE_SOURCELESS``;
  - extension module files: ``(flags, loc, path relative to the prefix)``, with
    ``MODULE_PACKAGE`` for a package's ``__init__`` extension (``pkg/__init__<suffix>``);
  - extension modules in memory: ``(flags, 0, path relative to the in-memory prefix, offset,
    length, key, dependencies)``, where ``key`` is a content hash (hex) and ``dependencies``
    the names of the ``shared_libraries`` entries to load first, in load order;
  - namespace packages: ``(flags, loc, ...)`` listing every location holding part of it.
* ``package_data``: ``{package: {relative name: (0, offset, length) | (loc,)}}``.
* ``distributions``: ``{"name-1.0.dist-info": {relative name: (0, offset, length) | (loc,)}}``.
* ``shared_libraries``: ``{path relative to the in-memory prefix: (0, offset, length, key)}``,
  shared libraries loaded from memory before the extension modules that need them.
* ``options``: ``{name: value}`` settings of the importer (``"memory_only"``: True when a
  shared object that cannot be loaded from memory is an error rather than extracted to the
  per-user cache; ``"cache_shared_objects"``: True when shared objects load from copies in
  that cache, written at the first start that needs them).
"""

from __future__ import annotations

import hashlib
import marshal
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed
from pyoxidizer_py.errors import BuildError

__all__ = [
    "DEFAULT_PACKED_RESOURCES_FILENAME",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "MODULE_BYTECODE",
    "MODULE_EXTENSION",
    "MODULE_NAMESPACE",
    "MODULE_PACKAGE",
    "MODULE_SOURCE",
    "MODULE_SOURCELESS",
    "FrozenEntry",
    "PackedContents",
    "PackedFileModule",
    "PackedMemoryExtension",
    "PackedMemoryModule",
    "PackedSharedLibrary",
    "PackedView",
    "content_key",
    "encode_packed_resources",
    "read_packed_resources",
    "write_packed_resources",
]

DEFAULT_PACKED_RESOURCES_FILENAME = "packed-resources"
MAGIC = b"PYOXRES\x00"
FORMAT_VERSION = 4
_HEADER = struct.Struct("<8sIIQQQQQQ4sIQQ")
HEADER_SIZE = _HEADER.size  # 88
_FROZEN_COUNT = struct.Struct("<II")
_FROZEN_ENTRY = struct.Struct("<QQII")
_INDEX_MARSHAL_VERSION = 2

MODULE_PACKAGE = 0x01
MODULE_NAMESPACE = 0x02
MODULE_SOURCE = 0x04
MODULE_BYTECODE = (0x08, 0x10, 0x20)
"""Flag for bytecode of optimisation level 0, 1 and 2."""
MODULE_EXTENSION = 0x40
MODULE_SOURCELESS = 0x80

FROZEN_PACKAGE = 0x01
FROZEN_COMPRESSED = 0x02


@dataclass(frozen=True, kw_only=True, slots=True)
class PackedMemoryModule:
    """A module served from memory.

    Attributes:
        name: dotted name.
        is_package: a regular package (has ``__init__``).
        source: the source bytes, or None when the source is not kept.
        bytecode: ``{level: marshal payload}`` (no ``.pyc`` header) for levels 0-2.
    """

    name: str
    is_package: bool
    source: bytes | None
    bytecode: Mapping[int, bytes]


@dataclass(frozen=True, kw_only=True, slots=True)
class PackedFileModule:
    """A module installed as files, indexed so the importer needs no path probing.

    Attributes:
        name: dotted name.
        prefix: its ``filesystem-relative`` prefix.
        is_package: a regular package.
        source: the ``.py`` file exists.
        levels: optimisation levels with a ``__pycache__`` ``.pyc``.
        sourceless: bytecode is a single ``.pyc`` beside the package directory.
        extension: for an extension module, its file relative to the prefix (else None).
    """

    name: str
    prefix: str
    is_package: bool = False
    source: bool = False
    levels: tuple[int, ...] = ()
    sourceless: bool = False
    extension: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PackedMemoryExtension:
    """An extension module loaded from memory (Linux: a sealed memfd handed to CPython's loader).

    Attributes:
        name: dotted module name.
        is_package: the module is a package's ``__init__`` (``pkg/__init__.cpython-311-*.so``).
        path: its path relative to the in-memory prefix (``yaml/_yaml.cpython-311-x86_64-linux-gnu.so``):
            ``__file__`` is that path under the executable's directory.
        data: the shared object's bytes.
        dependencies: names (paths) of ``PackedSharedLibrary`` entries to load first, in order.
    """

    name: str
    is_package: bool
    path: str
    data: bytes
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PackedSharedLibrary:
    """A shared library loaded from memory before the extension modules that need it.

    Attributes:
        name: its path relative to the in-memory prefix (``numpy.libs/libscipy_openblas64_-x.so``).
        data: the library's bytes.
    """

    name: str
    data: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class FrozenEntry:
    """A module CPython's ``FrozenImporter`` serves while the interpreter initialises.

    Attributes:
        name: dotted ASCII name.
        is_package: whether it is a package.
        code: the marshal payload of its code object.
        cold: only needed by initialisation on unusual locales (a codec other than UTF-8,
            ASCII and Latin-1): stored as a Zstandard frame when the blob is compressed, with
            the ``FROZEN_COMPRESSED`` flag; the runtime decompresses it before initialisation
            only when the locale needs it, and otherwise serves it through the index.
    """

    name: str
    is_package: bool
    code: bytes
    cold: bool = False


@dataclass(kw_only=True, slots=True)
class PackedContents:
    """Everything that goes into one ``packed-resources`` blob.

    Attributes:
        bytecode_magic: the target CPython's ``importlib.util.MAGIC_NUMBER``.
        in_memory_prefix: the directory (relative to the executable) in-memory resources appear in.
        memory_modules: modules served from memory.
        file_modules: modules and extension modules installed as files.
        memory_data: package data in memory: ``{(package, relative name): bytes}``.
        file_data: package data files: ``{(package, relative name): prefix}``.
        memory_distribution_files: ``{(dist-info directory, relative name): bytes}``.
        file_distribution_files: ``{(dist-info directory, relative name): prefix}``.
        frozen: modules for the frozen table.
        memory_extensions: extension modules loaded from memory.
        memory_shared_libraries: shared libraries loaded from memory.
        memory_only: a shared object that cannot be loaded from memory at run time is an import
            error instead of being extracted to the per-user cache.
        cache_shared_objects: shared objects load from copies in the per-user cache
            (``policy.in_memory_shared_library_cache``).
    """

    bytecode_magic: bytes
    in_memory_prefix: str = "lib"
    memory_modules: list[PackedMemoryModule] = field(default_factory=list)
    file_modules: list[PackedFileModule] = field(default_factory=list)
    memory_data: dict[tuple[str, str], bytes] = field(default_factory=dict)
    file_data: dict[tuple[str, str], str] = field(default_factory=dict)
    memory_distribution_files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    file_distribution_files: dict[tuple[str, str], str] = field(default_factory=dict)
    frozen: list[FrozenEntry] = field(default_factory=list)
    memory_extensions: list[PackedMemoryExtension] = field(default_factory=list)
    memory_shared_libraries: list[PackedSharedLibrary] = field(default_factory=list)
    memory_only: bool = False
    cache_shared_objects: bool = False


def content_key(data: bytes) -> str:
    """The content hash naming a shared object's extraction directory (32 hex digits, BLAKE2b)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


Compressor = Callable[[bytes], bytes]
"""Returns one Zstandard frame (with its content size) holding the given payload."""

_MIN_COMPRESSED = 64
"""Payloads shorter than this stay uncompressed (a frame's header and the call cost more)."""


class _Data:
    """The data section: payloads appended once each, addressed by absolute offsets.

    With a compressor, payloads added with ``compress=True`` are stored as Zstandard frames
    when that makes them smaller; their span then has a negative length.
    """

    def __init__(self, base: int, compressor: Compressor | None = None) -> None:
        self.base = base
        self.size = 0
        self.chunks: list[bytes] = []
        self.seen: dict[tuple[bytes, bool], tuple[int, int]] = {}
        self.compressor = compressor

    def add(self, payload: bytes, *, compress: bool = False) -> tuple[int, int]:
        if not payload:
            return (0, 0)
        compress = compress and self.compressor is not None and len(payload) >= _MIN_COMPRESSED
        key = (hashlib.blake2b(payload, digest_size=20).digest(), compress)
        span = self.seen.get(key)
        if span is None:
            stored, length = payload, len(payload)
            if compress:
                assert self.compressor is not None
                frame = self.compressor(payload)
                if len(frame) < len(payload):
                    stored, length = frame, -len(frame)
            span = (self.base + self.size, length)
            self.seen[key] = span
            self.chunks.append(stored)
            self.size += len(stored)
        return span


def _namespace_packages(names: Iterable[str], owners: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    """Parents of modules and data owners that are not modules themselves, with their locations."""
    known = set(names)
    found: dict[str, list[int]] = {}
    for name, loc in owners:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            parent = ".".join(parts[:i])
            if parent in known:
                continue
            locs = found.setdefault(parent, [])
            if loc not in locs:
                locs.append(loc)
    return found


def _trim(entry: list[int]) -> tuple[int, ...]:
    while len(entry) > 2 and entry[-1] == 0 and entry[-2] == 0:
        del entry[-2:]
    return tuple(entry)


def _frozen_section(frozen: list[FrozenEntry]) -> tuple[bytes, list[tuple[int, int, FrozenEntry]]]:
    """Return the section with code offsets left zero, plus (entry offset, flags, entry) to patch."""
    names = bytearray()
    name_offsets: list[int] = []
    table_size = _FROZEN_COUNT.size + _FROZEN_ENTRY.size * len(frozen)
    for entry in frozen:
        try:
            encoded = entry.name.encode("ascii")
        except UnicodeEncodeError:
            raise BuildError(f"module {entry.name!r}: frozen module names must be ASCII") from None
        name_offsets.append(HEADER_SIZE + table_size + len(names))
        names += encoded + b"\x00"
    section = bytearray(_FROZEN_COUNT.pack(len(frozen), 0))
    section += bytes(_FROZEN_ENTRY.size * len(frozen))
    section += names
    patches = []
    for i, entry in enumerate(frozen):
        pos = _FROZEN_COUNT.size + _FROZEN_ENTRY.size * i
        flags = FROZEN_PACKAGE if entry.is_package else 0
        _FROZEN_ENTRY.pack_into(section, pos, name_offsets[i], 0, 0, flags)
        patches.append((pos, flags, entry))
    return bytes(section), patches


def encode_packed_resources(
    contents: PackedContents, compressor: Compressor | None = None, *, dictionary: bytes | None = None
) -> bytes:
    """Serialise ``contents`` into the ``packed-resources`` format (module docstring).

    Later entries win over earlier ones with the same name; a module both in memory and in
    files keeps the in-memory one. Output is deterministic: equal input gives equal bytes
    (given a deterministic ``compressor``).

    Args:
        contents: what goes into the blob.
        compressor: compresses every payload but the frozen modules' (``zstd_compressor``);
            None stores everything uncompressed.
        dictionary: the Zstandard dictionary ``compressor`` compresses with, stored in the blob
            for the runtime; None when its frames need none.

    Raises:
        BuildError: a frozen module name is not ASCII, the bytecode magic is not 4 bytes, or a
            dictionary is given without a compressor.
    """
    magic = contents.bytecode_magic
    if len(magic) != 4:
        raise BuildError(f"packed resources: bytecode magic must be 4 bytes, got {magic!r}")
    prefixes: list[str] = [contents.in_memory_prefix]

    def loc_of(prefix: str) -> int:
        if prefix not in prefixes[1:]:
            prefixes.append(prefix)
        return prefixes.index(prefix, 1)

    if dictionary is not None and compressor is None:
        raise BuildError("packed resources: a compression dictionary needs a compressor")
    frozen = sorted({f.name: f for f in contents.frozen}.values(), key=lambda f: f.name)
    frozen_bytes, patches = _frozen_section(frozen)
    section = bytearray(frozen_bytes)
    data = _Data(HEADER_SIZE + len(section), compressor)  # data follows the frozen section; the index comes last
    dictionary_span = data.add(dictionary) if dictionary else (0, 0)
    for pos, flags, frozen_entry in patches:
        name_offset = _FROZEN_ENTRY.unpack_from(section, pos)[0]
        offset, length = data.add(frozen_entry.code, compress=frozen_entry.cold)
        stored_flags = flags | (FROZEN_COMPRESSED if length < 0 else 0)
        _FROZEN_ENTRY.pack_into(section, pos, name_offset, offset, abs(length), stored_flags)

    extensions = {e.name: e for e in contents.memory_extensions}
    memory = {m.name: m for m in contents.memory_modules if m.name not in extensions}
    files = {m.name: m for m in contents.file_modules if m.name not in memory and m.name not in extensions}
    modules: dict[str, tuple[Any, ...]] = {}
    owners: list[tuple[str, int]] = []
    hot = {f.name for f in frozen if not f.cold}
    for name in sorted(memory):
        module = memory[name]
        entry = [MODULE_PACKAGE if module.is_package else 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        cold = name not in hot
        if module.source is not None:
            entry[0] |= MODULE_SOURCE
            entry[2:4] = data.add(module.source, compress=cold)
        for level, payload in sorted(module.bytecode.items()):
            entry[0] |= MODULE_BYTECODE[level]
            entry[4 + 2 * level : 6 + 2 * level] = data.add(payload, compress=cold)
        modules[name] = _trim(entry)
        owners.append((name.rpartition(".")[0], 0))
    for name in sorted(extensions):
        ext = extensions[name]
        flags = MODULE_EXTENSION | (MODULE_PACKAGE if ext.is_package else 0)
        span = data.add(ext.data, compress=True)
        modules[name] = (flags, 0, ext.path, *span, content_key(ext.data), tuple(ext.dependencies))
        owners.append((name.rpartition(".")[0], 0))
    shared_libraries = {
        lib.name: (0, *data.add(lib.data, compress=True), content_key(lib.data))
        for lib in sorted(contents.memory_shared_libraries, key=lambda lib: lib.name)
    }
    for name in sorted(files):
        fm = files[name]
        loc = loc_of(fm.prefix)
        owners.append((name.rpartition(".")[0], loc))
        if fm.extension is not None:
            modules[name] = (MODULE_EXTENSION | (MODULE_PACKAGE if fm.is_package else 0), loc, fm.extension)
            continue
        flags = (MODULE_PACKAGE if fm.is_package else 0) | (MODULE_SOURCE if fm.source else 0)
        flags |= MODULE_SOURCELESS if fm.sourceless else 0
        for level in fm.levels:
            flags |= MODULE_BYTECODE[level]
        modules[name] = (flags, loc)
    package_data: dict[str, dict[str, tuple[int, ...]]] = {}
    for (package, rel), payload in sorted(contents.memory_data.items()):
        package_data.setdefault(package, {})[rel] = (0, *data.add(payload, compress=True))
        owners.append((package, 0))
    for (package, rel), prefix in sorted(contents.file_data.items()):
        if rel not in package_data.get(package, {}):
            loc = loc_of(prefix)
            package_data.setdefault(package, {})[rel] = (loc,)
            owners.append((package, loc))
    distributions: dict[str, dict[str, tuple[int, ...]]] = {}
    for (directory, rel), payload in sorted(contents.memory_distribution_files.items()):
        distributions.setdefault(directory, {})[rel] = (0, *data.add(payload, compress=True))
    for (directory, rel), prefix in sorted(contents.file_distribution_files.items()):
        if rel not in distributions.get(directory, {}):
            distributions.setdefault(directory, {})[rel] = (loc_of(prefix),)
    for name, locs in _namespace_packages(modules, [(o, loc) for o, loc in owners if o]).items():
        modules[name] = (MODULE_NAMESPACE | MODULE_PACKAGE, *locs)

    index = (
        FORMAT_VERSION,
        tuple(prefixes),
        {name: modules[name] for name in sorted(modules)},
        {k: dict(sorted(v.items())) for k, v in sorted(package_data.items())},
        {k: dict(sorted(v.items())) for k, v in sorted(distributions.items())},
        shared_libraries,
        {"memory_only": bool(contents.memory_only), "cache_shared_objects": bool(contents.cache_shared_objects)},
    )
    index_bytes = marshal.dumps(index, _INDEX_MARSHAL_VERSION)
    data_bytes = b"".join(data.chunks)
    index_offset = data.base + len(data_bytes)
    header = _HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        HEADER_SIZE,
        HEADER_SIZE,
        len(section),
        index_offset,
        len(index_bytes),
        data.base,
        len(data_bytes),
        magic,
        0,
        *dictionary_span,
    )
    return header + bytes(section) + data_bytes + index_bytes


def write_packed_resources(
    path: Path, contents: PackedContents, compressor: Compressor | None = None, *, dictionary: bytes | None = None
) -> tuple[Path, bool]:
    """Encode ``contents`` (``encode_packed_resources``) and write them to ``path`` atomically, only when
    the bytes changed.

    Returns:
        ``(path, written)``: written is False when the file already held these bytes (cargo
        then has nothing to recompile).

    Raises:
        BuildError: encoding fails or the file cannot be written.
    """
    blob = encode_packed_resources(contents, compressor, dictionary=dictionary)
    try:
        written = write_bytes_if_changed(path, blob)
    except OSError as exc:
        raise BuildError(f"cannot write {path}: {exc}") from exc
    return path, written


@dataclass(frozen=True, kw_only=True, slots=True)
class PackedView:
    """A parsed ``packed-resources`` blob (for tests, tools and documentation examples).

    Attributes:
        version: format version.
        bytecode_magic: the CPython bytecode magic number it was built for.
        frozen: ``(name, is_package, code bytes)`` of the frozen section, in table order.
        prefixes, modules, package_data, distributions, shared_libraries, options: the index
            (module docstring).
        blob: the whole blob (slice it with the index's offsets).
        dictionary: the Zstandard dictionary of its frames, or None.
    """

    version: int
    bytecode_magic: bytes
    frozen: tuple[tuple[str, bool, bytes], ...]
    prefixes: tuple[str, ...]
    modules: dict[str, tuple[Any, ...]]
    package_data: dict[str, dict[str, tuple[int, ...]]]
    distributions: dict[str, dict[str, tuple[int, ...]]]
    shared_libraries: dict[str, tuple[Any, ...]]
    options: dict[str, Any]
    blob: bytes
    dictionary: bytes | None = None

    def payload(self, offset: int, length: int) -> bytes:
        """The payload at a span of the index (a negative length: a Zstandard frame, decompressed)."""
        if length >= 0:
            return self.blob[offset : offset + length]
        return _decompress(self.blob[offset : offset - length], self.dictionary)

    def module_source(self, name: str) -> bytes | None:
        """The in-memory source of a module, or None."""
        entry = self.modules[name]
        if entry[1] != 0 or not entry[0] & MODULE_SOURCE or entry[0] & (MODULE_NAMESPACE | MODULE_EXTENSION):
            return None
        return self.payload(entry[2], entry[3])

    def extension_data(self, name: str) -> bytes | None:
        """The bytes of an extension module loaded from memory, or None (a file or not an extension)."""
        entry = self.modules[name]
        if not entry[0] & MODULE_EXTENSION or entry[1] != 0:
            return None
        return self.payload(entry[3], entry[4])

    def module_bytecode(self, name: str, level: int = 0) -> bytes | None:
        """The in-memory bytecode (marshal payload) of a module at ``level``, or None."""
        entry = self.modules[name]
        if entry[1] != 0 or not entry[0] & MODULE_BYTECODE[level] or entry[0] & MODULE_NAMESPACE:
            return None
        return self.payload(entry[4 + 2 * level], entry[5 + 2 * level])


def _decompress(frames: bytes, dictionary: bytes | None) -> bytes:
    """A payload's bytes: one frame, which may name the dictionary (RFC 8878 3.1.1.1.3), or
    consecutive frames without one (payloads above 1 MiB)."""
    import zstandard

    if zstandard.get_frame_parameters(frames).dict_id and dictionary is not None:
        zdict = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_FULLDICT)
        return zstandard.ZstdDecompressor(dict_data=zdict).decompress(frames)
    return zstandard.ZstdDecompressor().stream_reader(frames, read_across_frames=True).read()


def read_packed_resources(blob: bytes) -> PackedView:
    """Parse a ``packed-resources`` blob.

    Raises:
        ValueError: not a packed resources blob, or an unsupported format version.
    """
    if len(blob) < HEADER_SIZE or blob[:8] != MAGIC:
        raise ValueError("not a pyoxidizer-py packed resources blob (bad magic)")
    (
        _magic,
        version,
        header_size,
        frozen_off,
        frozen_len,
        index_off,
        index_len,
        _data_off,
        _data_len,
        bytecode_magic,
        _reserved,
        dict_off,
        dict_len,
    ) = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION or header_size != HEADER_SIZE:
        raise ValueError(f"unsupported packed resources format version {version}")
    dictionary = blob[dict_off : dict_off + dict_len] if dict_len else None
    count = _FROZEN_COUNT.unpack_from(blob, frozen_off)[0]
    frozen = []
    for i in range(count):
        name_off, code_off, code_len, flags = _FROZEN_ENTRY.unpack_from(
            blob, frozen_off + _FROZEN_COUNT.size + _FROZEN_ENTRY.size * i
        )
        name = blob[name_off : blob.index(b"\x00", name_off)].decode("ascii")
        code = blob[code_off : code_off + code_len]
        if flags & FROZEN_COMPRESSED:
            code = _decompress(code, dictionary)
        frozen.append((name, bool(flags & FROZEN_PACKAGE), code))
    assert frozen_off + frozen_len <= index_off
    index = marshal.loads(blob[index_off : index_off + index_len])
    version2, prefixes, modules, package_data, distributions, shared_libraries, options = index
    return PackedView(
        version=version2,
        bytecode_magic=bytecode_magic,
        frozen=tuple(frozen),
        prefixes=prefixes,
        modules=modules,
        package_data=package_data,
        distributions=distributions,
        shared_libraries=shared_libraries,
        options=options,
        blob=blob,
        dictionary=dictionary,
    )
