"""Memory allocators: executables whose Rust global allocator and CPython domains use
jemalloc, mimalloc, snmalloc or Rust's allocator, checked from inside Python.

Each executable runs a probe script that allocates through CPython's C API
(``ctypes.pythonapi``) and asks the backend itself, through the symbols the
executable exports (binaries link with ``--export-dynamic``), whether it owns the
pointer; a pointer from the C library's ``malloc`` is the negative control, so a
probe that says "owned" for everything fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line

PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
TRIPLE_DIR = Path("build") / "x86_64-unknown-linux-gnu" / "debug"

# The probe: allocates through every domain the executable's allocator serves, asks the
# backend about each pointer, exercises CPython's edge cases (malloc(0), realloc(NULL),
# realloc(p, 0), calloc zeroing) and runs a workload; prints one JSON object.
PROBE = r"""
import ctypes, json, sys

info = dict(sys.oxidized_allocator)
info["domains"] = list(info["domains"])
backend = info["backend"]
exe = ctypes.CDLL(None)          # the executable's own (exported) symbols
api = ctypes.pythonapi           # the same, calls made holding the GIL
vp, sz = ctypes.c_void_p, ctypes.c_size_t
for name, args in [
    ("PyMem_RawMalloc", [sz]), ("PyMem_RawCalloc", [sz, sz]), ("PyMem_RawRealloc", [vp, sz]),
    ("PyMem_RawFree", [vp]), ("PyMem_Malloc", [sz]), ("PyMem_Free", [vp]),
    ("PyObject_Malloc", [sz]), ("PyObject_Free", [vp]),
]:
    fn = getattr(api, name)
    fn.argtypes = args
    fn.restype = vp if name.endswith(("alloc", "Calloc", "Realloc")) else None
libc_malloc, libc_free = exe.malloc, exe.free
libc_malloc.argtypes, libc_malloc.restype = [sz], vp
libc_free.argtypes, libc_free.restype = [vp], None

if backend == "jemalloc":
    mallctl = exe._rjem_mallctl
    mallctl.argtypes = [ctypes.c_char_p, vp, ctypes.POINTER(sz), vp, sz]
    def owned(p, size):
        arena, length, ptr = ctypes.c_uint(), sz(ctypes.sizeof(ctypes.c_uint)), vp(p)
        return mallctl(b"arenas.lookup", ctypes.addressof(arena), ctypes.byref(length),
                       ctypes.addressof(ptr), ctypes.sizeof(ptr)) == 0
elif backend == "mimalloc":
    in_heap = exe.mi_is_in_heap_region
    in_heap.argtypes, in_heap.restype = [vp], ctypes.c_bool
    def owned(p, size):
        return in_heap(p)
elif backend == "snmalloc":
    usable = exe.sn_rust_usable_size
    usable.argtypes, usable.restype = [vp], sz
    def owned(p, size):
        return usable(p) >= size
elif backend == "rust":
    # The runtime's Rust backend keeps the requested size in a 16-byte header.
    def owned(p, size):
        return sz.from_address(p - 16).value == size

out = {"info": info}
foreign = libc_malloc(1000)
out["libc_malloc_owned"] = owned(foreign, 1000)
libc_free(foreign)

p = api.PyMem_RawMalloc(1000)
out["raw_malloc"] = owned(p, 1000)
p = api.PyMem_RawRealloc(p, 300000)
out["raw_realloc"] = owned(p, 300000)
api.PyMem_RawFree(p)
c = api.PyMem_RawCalloc(100, 7)
out["raw_calloc"] = owned(c, 700) and ctypes.string_at(c, 700) == bytes(700)
api.PyMem_RawFree(c)
r = api.PyMem_RawRealloc(None, 4000)
out["raw_realloc_null"] = owned(r, 4000)
api.PyMem_RawFree(r)
z1, z2 = api.PyMem_RawMalloc(0), api.PyMem_RawMalloc(0)
out["raw_malloc_zero_distinct"] = bool(z1) and bool(z2) and z1 != z2
z1 = api.PyMem_RawRealloc(z1, 0)
out["raw_realloc_zero"] = bool(z1)
api.PyMem_RawFree(z1)
api.PyMem_RawFree(z2)
api.PyMem_RawFree(None)

# Large requests: pymalloc hands them to the RAW domain when it serves MEM/OBJ.
m = api.PyMem_Malloc(5000)
out["mem_large"] = owned(m, 5000)
api.PyMem_Free(m)
o = api.PyObject_Malloc(5000)
out["obj_large"] = owned(o, 5000)
api.PyObject_Free(o)
# Small requests: from a pymalloc pool (inside an arena) unless the domain was replaced.
m = api.PyMem_Malloc(40)
out["mem_small"] = owned(m, 40)
api.PyMem_Free(m)
s = api.PyObject_Malloc(56)
out["obj_small"] = owned(s, 56)
# CPython's debug hooks put 0xFD "forbidden bytes" right after every block.
out["debug_tail"] = ctypes.string_at(s + 56, 8) == b"\xfd" * 8
api.PyObject_Free(s)

# A workload through every domain: objects, containers, big buffers, reallocs.
import decimal, hashlib, re
data = {str(i): [i, str(i) * 3, (i, float(i))] for i in range(200000)}
blob = bytearray()
for i in range(2000):
    blob += bytes([i % 256]) * 1000
text = json.dumps({"n": len(data), "h": hashlib.sha256(bytes(blob)).hexdigest()[:8]})
words = re.findall(r"\w+", " ".join(data))
out["workload"] = [len(data), len(blob), len(words), str(decimal.Decimal(1) / 7)[:6], len(text) > 10]
del data, blob, words
print(json.dumps(out))
"""

# allocator_* settings per backend: together they cover every domain, pymalloc's
# arenas and the debug hooks.
CASES = {
    "jemalloc": dict(allocator_raw=True, allocator_mem=True, allocator_obj=True),
    "mimalloc": dict(allocator_raw=True, allocator_pymalloc_arena=True, allocator_debug=True),
    "snmalloc": dict(allocator_raw=True, allocator_mem=True, allocator_obj=True),
    "rust": dict(allocator_raw=True, allocator_mem=True, allocator_obj=False),
}


@pytest.fixture(scope="session")
def allocator_cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir for every test here, shared by pytest-xdist workers (cargo locks it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "allocators-cargo-target"
    path.mkdir(exist_ok=True)
    return path


def pyoxidizer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )


def write_project(tmp_path: Path, backend: str, settings: dict[str, bool]) -> Path:
    """A config whose executable runs the script named by its first argument."""
    project = tmp_path / f"alloc-{backend}"
    project.mkdir()
    lines = "".join(f"    config.{key} = {value}\n" for key, value in settings.items())
    (project / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    config = dist.make_python_interpreter_config()\n"
        f"    config.allocator_backend = {json.dumps(backend)}\n"
        f"{lines}"
        "    config.run_command = \"import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')\"\n"
        "    return dist.to_python_executable(name = 'probe', config = config)\n"
        "register_target('exe', make_exe)\n"
        "resolve_targets()\n"
    )
    return project


@pytest.mark.cargo
@pytest.mark.parametrize("backend", list(CASES))
def test_allocator_backend_is_in_use(tmp_path: Path, allocator_cargo_target: Path, backend: str) -> None:
    settings = CASES[backend]
    project = write_project(tmp_path, backend, settings)
    built = pyoxidizer(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        PY311,
        env={"CARGO_TARGET_DIR": str(allocator_cargo_target)},
    )
    assert built.returncode == 0, built.stderr
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    ran = subprocess.run([str(project / TRIPLE_DIR / "exe" / "probe"), str(probe)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)

    domains = [d for d in ("raw", "mem", "obj") if settings.get(f"allocator_{d}")]
    arena = settings.get("allocator_pymalloc_arena", False)
    debug = settings.get("allocator_debug", False)
    assert out["info"] == {"backend": backend, "domains": domains, "pymalloc_arena": arena, "debug_hooks": debug}
    # The backend's own answer tells its blocks from the C library's.
    assert out["libc_malloc_owned"] is False
    for key in ("raw_malloc", "raw_realloc", "raw_calloc", "raw_realloc_null"):
        assert out[key] is True, key
    assert out["raw_malloc_zero_distinct"] is True
    assert out["raw_realloc_zero"] is True
    assert out["mem_large"] is True  # RAW serves them when MEM is pymalloc's
    assert out["obj_large"] is True
    # Small blocks come from the backend when it serves the domain or pymalloc's arenas.
    assert out["mem_small"] is ("mem" in domains or arena)
    assert out["obj_small"] is ("obj" in domains or arena)
    assert out["debug_tail"] is debug
    assert out["workload"] == [200000, 2000000, 200000, "0.1428", True]


def test_pymalloc_arena_with_obj_domain_fails_before_cargo(tmp_path: Path) -> None:
    project = write_project(tmp_path, "jemalloc", {"allocator_pymalloc_arena": True, "allocator_obj": True})
    # Without cargo on PATH: reaching cargo would be a different error.
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "cargo").exists())
    line = one_error_line(
        pyoxidizer("build", "--path", str(project), "--python-distribution", PY311, env={"PATH": path, "CARGO": ""})
    )
    assert "allocator_pymalloc_arena = True cannot be combined with allocator_obj = True" in line
    assert "probe" in line
    assert not list(project.rglob("Cargo.toml"))
