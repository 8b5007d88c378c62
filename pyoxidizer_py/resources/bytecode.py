"""Compile module sources to ``.pyc`` bytes with the target Python, many modules per process.

The target interpreter (the distribution's ``python_exe``) runs a small compiler
script once per batch: requests go in as JSON on stdin (sources base64-encoded),
results come back as length-prefixed frames on stdout. Batches are split over at
most ``os.cpu_count()`` concurrent processes.

PYC flavour: **unchecked hash-based pycs** (PEP 552, flags ``0b01``) by default. The
header carries the SipHash of the source (``importlib.util.source_hash`` of the
target Python) instead of an mtime, so output is byte-for-byte reproducible, is
valid after the install directory is copied or moved (mtimes do not matter), and
the importer does not stat or hash the source at import time. The source file is
trusted to match: the install directory is build output, not something edited in
place. ``checked-hash`` is available for callers that want the importer to verify.

Sources that do not compile (``SyntaxError``, e.g. lib2to3 test data or
``test.badsyntax_*``) are skipped with a debug log; the build goes on without their
bytecode. (The application's own code was checked before, by ``resources/syntax.py``.)
With ``cache_dir`` set, results are cached on disk keyed by the target's
magic number, flavour, optimization level, file name and source hash, so a rebuild
only compiles changed modules.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.errors import ResourceError

__all__ = ["PYC_MODES", "BytecodeRequest", "compile_bytecode"]

_log = logging.getLogger(__name__)

PYC_MODES = ("unchecked-hash", "checked-hash")

_COMPILER = r"""
import base64, importlib.util, json, marshal, struct, sys
from importlib._bootstrap_external import _code_to_hash_pyc
req = json.loads(sys.stdin.buffer.read())
checked = req["mode"] == "checked-hash"
out = sys.stdout.buffer
for item in req["items"]:
    src = base64.b64decode(item["source"])
    try:
        code = compile(src, item["filename"], "exec", dont_inherit=True, optimize=item["optimize"])
    except (SyntaxError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        msg = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")
        out.write(b"E" + struct.pack("<I", len(msg)) + msg)
        continue
    data = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(src), checked))
    out.write(b"O" + struct.pack("<I", len(data)) + data)
out.flush()
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class BytecodeRequest:
    """One module at one optimization level.

    Attributes:
        name: dotted module name (for messages and the result key).
        source: the source bytes (PEP 263 coding lines and BOMs are honoured).
        filename: the ``co_filename`` to compile with (``pkg/mod.py``); the source file
            loader replaces it with the real path at import time.
        optimize: 0, 1 or 2.
    """

    name: str
    source: bytes
    filename: str
    optimize: int = 0


def _cache_key(magic: bytes, mode: str, req: BytecodeRequest) -> str:
    h = hashlib.sha256()
    for part in (magic, mode.encode(), str(req.optimize).encode(), req.filename.encode(), req.source):
        h.update(struct.pack("<Q", len(part)))
        h.update(part)
    return h.hexdigest()


def _run_batch(python_exe: Path, mode: str, batch: Sequence[BytecodeRequest]) -> list[bytes | None]:
    payload = json.dumps(
        {
            "mode": mode,
            "items": [
                {"filename": r.filename, "optimize": r.optimize, "source": base64.b64encode(r.source).decode()}
                for r in batch
            ],
        }
    ).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        proc = subprocess.run(
            [str(python_exe), "-E", "-s", "-S", "-c", _COMPILER],
            input=payload,
            capture_output=True,
            check=False,
            env=env,
        )
    except OSError as exc:
        raise ResourceError(f"{python_exe}: cannot run the bytecode compiler ({exc})") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:])
        raise ResourceError(f"bytecode compilation with {python_exe} failed: {tail}")
    results: list[bytes | None] = []
    data, pos = proc.stdout, 0
    for req in batch:
        kind, length = data[pos : pos + 1], struct.unpack_from("<I", data, pos + 1)[0]
        body = data[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if kind == b"O":
            results.append(body)
        else:
            reason = body.decode("utf-8", "replace")
            _log.debug("%s (%s): not compiled, skipped: %s", req.name, req.filename, reason)
            results.append(None)
    return results


def _cache_read(cache_dir: Path, key: str) -> bytes | None:
    try:
        return (cache_dir / key[:2] / f"{key}.pyc").read_bytes()
    except OSError:
        return None


def _cache_write(cache_dir: Path, key: str, data: bytes) -> None:
    target = cache_dir / key[:2] / f"{key}.pyc"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


def compile_bytecode(
    python_exe: Path,
    magic: bytes,
    requests: Sequence[BytecodeRequest],
    *,
    mode: str = "unchecked-hash",
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> dict[tuple[str, int], bytes]:
    """Compile many modules with the target Python in a few subprocesses.

    Args:
        python_exe: the target distribution's interpreter.
        magic: its bytecode magic number (``Distribution.bytecode_magic``), part of the cache key.
        requests: modules and levels to compile.
        mode: ``"unchecked-hash"`` (default) or ``"checked-hash"`` (see the module docstring).
        cache_dir: optional on-disk cache directory (created as needed).
        jobs: concurrent compiler processes (default ``os.cpu_count()``).

    Returns:
        ``{(module name, optimize level): pyc bytes with the 16-byte header}``; modules whose
        source does not compile are absent.

    Raises:
        ValueError: unknown ``mode``.
        ResourceError: the interpreter cannot be run or the compiler itself fails.
    """
    if mode not in PYC_MODES:
        raise ValueError(f"pyc mode must be one of {PYC_MODES}; got {mode!r}")
    results: dict[tuple[str, int], bytes] = {}
    todo: list[tuple[BytecodeRequest, str]] = []
    for req in requests:
        key = _cache_key(magic, mode, req)
        cached = _cache_read(cache_dir, key) if cache_dir is not None else None
        if cached is not None:
            results[(req.name, req.optimize)] = cached
        else:
            todo.append((req, key))
    if not todo:
        return results
    workers = max(1, min(jobs or os.cpu_count() or 1, (len(todo) + 99) // 100))
    chunks = [todo[i::workers] for i in range(workers)]
    _log.debug("compiling %d modules with %s in %d process(es)", len(todo), python_exe, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outputs = list(pool.map(lambda c: _run_batch(python_exe, mode, [r for r, _ in c]), chunks))
    for chunk, out in zip(chunks, outputs, strict=True):
        for (req, key), data in zip(chunk, out, strict=True):
            if data is None:
                continue
            results[(req.name, req.optimize)] = data
            if cache_dir is not None:
                _cache_write(cache_dir, key, data)
    return results
