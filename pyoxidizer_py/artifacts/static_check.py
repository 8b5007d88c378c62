"""Is a static libpython linkable into an executable? Checked before cargo runs.

A static ``libpythonX.Y.a`` can exist and still be unusable for an executable:

* its objects are LLVM bitcode (an LTO build), which only the LLVM release that wrote them can
  link (python-build-standalone's LTO builds; detected from the archive members' magic bytes,
  https://llvm.org/docs/BitCodeFormat.html);
* it leaves symbols undefined that no library on its link line provides: Debian's
  ``libpython3.X-pic.a`` for 3.12+ holds ``_md5``/``_sha1``/``_sha2``/``_sha3``/``_blake2`` but not
  the HACL* objects they call (``_Py_LibHacl_*``; python/cpython#131298);
* it needs a system library that is not installed (3.15's ``_zstd`` needs ``-lzstd``).

Rather than predict the linker, ``check_static_libpython`` asks it: it links a one-line C
program with the library whole-archive (as the executable will) and the plan's link lines,
using ``$CC`` or ``cc`` (the linker cargo uses on Linux), and turns the linker's complaints
into one sentence. The verdict is cached in the artifacts directory, keyed by the library's
size and mtime, the link arguments and the compiler, so an unchanged rebuild does not link
again. The check runs only where it can answer: Linux targets built on a machine of the same
triple, with a C compiler on PATH; otherwise it says nothing and cargo's link decides.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pyoxidizer_py.distribution.triples import host_triple

__all__ = ["archive_has_bitcode", "check_static_libpython", "link_arguments"]

_log = logging.getLogger(__name__)

CHECK_FILENAME = "libpython-link-check.json"
"""Cache of the last verdict, in the artifacts directory."""
_SHOWN = 3
_BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")  # raw bitcode, bitcode wrapper


def archive_has_bitcode(path: Path) -> bool:
    """True when any member of the ``ar`` archive ``path`` is LLVM bitcode.

    Raises:
        OSError: the file cannot be read.
    """
    with path.open("rb") as fh:
        if os.fstat(fh.fileno()).st_size < 8:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if buf[:8] != b"!<arch>\n":
                return buf[:4] in _BITCODE_MAGIC
            pos = 8
            while pos + 60 <= len(buf):
                header = buf[pos : pos + 60]
                size = int(header[48:58].strip() or b"0")
                data = pos + 60
                name = header[:16].rstrip()
                if (not name.startswith(b"/") or name[1:2].isdigit()) and buf[data : data + 4] in _BITCODE_MAGIC:
                    return True
                pos = data + size + (size & 1)
    return False


def link_arguments(link_lines: Sequence[str]) -> list[str]:
    """Translate cargo link lines into C compiler arguments (the same order).

    ``rustc-link-search=native=D`` -> ``-LD``; ``rustc-link-lib=[KIND[:MODS]=]NAME`` -> ``-lNAME``
    (static kinds between ``-Bstatic``/``-Bdynamic``, ``+whole-archive`` wrapped in
    ``--whole-archive``, ``+verbatim`` as ``-l:NAME``); ``rustc-link-arg=A`` -> ``A``. Frameworks
    and unknown lines are skipped.
    """
    args: list[str] = []
    for line in link_lines:
        key, _, value = line.removeprefix("cargo:").partition("=")
        if key == "rustc-link-search":
            args.append("-L" + value.split("=", 1)[-1])
        elif key == "rustc-link-arg":
            args.append(value)
        elif key == "rustc-link-lib":
            spec, sep, name = value.rpartition("=")
            kind, _, mods = (spec if sep else "").partition(":")
            if kind == "framework":
                continue
            flag = f"-l:{name}" if "+verbatim" in mods else f"-l{name}"
            if kind == "static":
                pre, post = ["-Wl,-Bstatic"], ["-Wl,-Bdynamic"]
                if "+whole-archive" in mods:
                    pre, post = [*pre, "-Wl,--whole-archive"], ["-Wl,--no-whole-archive", *post]
                args += [*pre, flag, *post]
            else:
                args.append(flag)
    return args


def _explain(output: str, library: Path) -> str:
    undefined = sorted(set(re.findall(r"undefined reference to [`'\"]([^'`\"]+)['\"]", output)))
    missing = sorted(set(re.findall(r"cannot find -l\s*([^\s:]+)", output)))
    if missing:
        names = ", ".join(f"-l{m}" for m in missing)
        return (
            f"it needs the system librar{'y' if len(missing) == 1 else 'ies'} {names}, which the linker "
            f"cannot find (install the development package that provides "
            f"{', '.join(f'lib{m}.so' for m in missing)})"
        )
    if re.search(r"relocation R_\w+ against .* recompile with -fPIC", output):
        return "its objects are not position independent (the linker asks to recompile with -fPIC)"
    if undefined:
        shown = ", ".join(undefined[:_SHOWN]) + (
            f" and {len(undefined) - _SHOWN} more" if len(undefined) > _SHOWN else ""
        )
        why = ""
        if all(s.startswith("_Py_LibHacl_") for s in undefined):
            why = (
                "; the archive holds the hashlib modules but not the HACL* objects they call, a known gap "
                "of Debian's static libpython for 3.12+ (python/cpython#131298)"
            )
        count = f"{len(undefined)} symbol{'s' if len(undefined) > 1 else ''}"
        return f"it leaves {count} undefined that no library on its link line provides ({shown}){why}"
    first = next((ln.strip() for ln in output.splitlines() if "error" in ln.lower() or ln.strip()), "")
    return f"the linker rejects it: {first[:300]}"


def _cache_key(library: Path, args: list[str], cc: list[str]) -> str:
    st = library.stat()
    doc = [str(library), st.st_size, st.st_mtime_ns, args, cc]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def check_static_libpython(
    library: Path, link_lines: Sequence[str], *, target_triple: str, cache_dir: Path | None = None
) -> str | None:
    """Say why ``library`` cannot be linked into an executable with ``link_lines``, or None when it can.

    Args:
        library: the static libpython (an ``ar`` archive).
        link_lines: the cargo lines of the link, without libpython's own (``rustc-link-lib=m``,
            ``rustc-link-search=native=...``, ``rustc-link-arg=-Wl,--export-dynamic``).
        target_triple: the executable's target; the trial link runs only for the host's Linux triple.
        cache_dir: where the verdict is cached (``libpython-link-check.json``), or None for no cache.

    Returns:
        One sentence (``"its object files are LLVM bitcode ..."``, ``"it leaves 116 symbols undefined
        ..."``, ``"it needs the system library -lzstd ..."``), or None when the trial link succeeds
        or cannot be run here (no C compiler, a foreign or non-Linux target).
    """
    try:
        if archive_has_bitcode(library):
            return (
                "its object files are LLVM bitcode (an LTO build), which only the LLVM release that "
                "produced them can link, not the system linker"
            )
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if "-linux" not in target_triple or target_triple != host_triple():
        return None
    cc = shlex.split(os.environ.get("CC", "").strip() or "cc")
    if shutil.which(cc[0]) is None:
        _log.debug("no C compiler (%s) to check %s; leaving the verdict to cargo", cc[0], library)
        return None
    args = ["-Wl,--whole-archive", str(library), "-Wl,--no-whole-archive", *link_arguments(link_lines)]
    cache = cache_dir / CHECK_FILENAME if cache_dir is not None else None
    key = _cache_key(library, args, cc)
    if cache is not None:
        try:
            doc = json.loads(cache.read_text(encoding="utf-8"))
            if doc.get("key") == key:
                cached = doc.get("reason")
                return cached if isinstance(cached, str) else None
        except (OSError, ValueError):
            pass
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-link-check-") as tmp:
        source = Path(tmp, "probe.c")
        source.write_text("int main(void) { return 0; }\n", encoding="utf-8")
        cmd = [*cc, "-o", str(Path(tmp, "probe")), str(source), *args]
        _log.debug("checking the static libpython link: %s", shlex.join(cmd))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _log.debug("cannot run %s to check %s: %s", cc[0], library, exc)
            return None
    reason = None if proc.returncode == 0 else _explain(proc.stdout + proc.stderr, library)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp_file = cache.with_name(cache.name + ".tmp")
            tmp_file.write_text(
                json.dumps({"key": key, "library": str(library), "reason": reason}) + "\n", encoding="utf-8"
            )
            os.replace(tmp_file, cache)
        except OSError as exc:
            _log.debug("cannot cache the link check in %s: %s", cache, exc)
    return reason
