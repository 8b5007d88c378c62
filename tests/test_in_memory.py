"""In-memory resources: the packed resources format, placement rules, the importer, and executables
built with real cargo, pip and CPython that import everything from memory (issue 6, items 1-4).

The first part runs without cargo: the blob writer and reader, and the importer module running in
plain CPython interpreters (3.10-3.13) over a blob built from their real standard library. The
second part (marker ``cargo``) builds executables and checks what a user sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_runtime import IMPORTER, PYENV_PYTHONS

from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.artifacts.packed_resources import (
    MAGIC,
    MODULE_EXTENSION,
    MODULE_NAMESPACE,
    MODULE_PACKAGE,
    MODULE_SOURCE,
    FrozenEntry,
    PackedContents,
    PackedFileModule,
    PackedMemoryExtension,
    PackedMemoryModule,
    encode_packed_resources,
    read_packed_resources,
)
from pyoxidizer_py.artifacts.resource_artifacts import IMPORTER_MODULE, write_resource_artifacts
from pyoxidizer_py.distribution.installed import introspect_installed
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.collect import make_python_module_source, read_package_root
from pyoxidizer_py.resources.model import (
    PythonExtensionModule,
    PythonPackageDistributionResource,
    Resource,
)
from pyoxidizer_py.resources.placement import apply_policy
from pyoxidizer_py.resources.plan import plan_resources
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.stdlib import stdlib_resources

DATA = Path(__file__).parent / "data"
PYTHONS = PYENV_PYTHONS


# --- the format -------------------------------------------------------------------------------------


def _contents() -> PackedContents:
    return PackedContents(
        bytecode_magic=b"\x01\x02\r\n",
        memory_modules=[
            PackedMemoryModule(name="app", is_package=True, source=b"", bytecode={0: b"CODE-app"}),
            PackedMemoryModule(
                name="app.main", is_package=False, source=b"print(1)\n", bytecode={0: b"CODE-main", 2: b"CODE-main-O2"}
            ),
            PackedMemoryModule(name="ns.part.mod", is_package=False, source=None, bytecode={1: b"CODE-O1"}),
            PackedMemoryModule(name="same", is_package=False, source=b"print(1)\n", bytecode={}),
        ],
        file_modules=[
            PackedFileModule(name="app._speed", prefix="lib", extension="app/_speed.abi3.so"),
            PackedFileModule(name="disk", prefix="other", source=True, levels=(0,)),
            PackedFileModule(name="app.main", prefix="other", source=True),  # shadowed by memory
        ],
        memory_data={("app", "data/x.txt"): b"x-data"},
        file_data={("app", "big.bin"): "lib"},
        memory_distribution_files={("app-1.0.dist-info", "METADATA"): b"Name: app\nVersion: 1.0\n"},
        frozen=[
            FrozenEntry(name="app", is_package=True, code=b"CODE-app"),
            FrozenEntry(name="app.main", is_package=False, code=b"CODE-main"),
        ],
    )


def test_packed_format_roundtrip_and_determinism() -> None:
    blob = encode_packed_resources(_contents())
    assert blob[:8] == MAGIC
    assert encode_packed_resources(_contents()) == blob  # equal input, equal bytes
    view = read_packed_resources(blob)
    assert view.bytecode_magic == b"\x01\x02\r\n"
    assert view.prefixes == ("lib", "lib", "other")  # in-memory prefix first, then file prefixes
    assert [(n, p) for n, p, _ in view.frozen] == [("app", True), ("app.main", False)]
    assert [c for _, _, c in view.frozen] == [b"CODE-app", b"CODE-main"]
    assert view.module_source("app.main") == b"print(1)\n"
    assert view.module_source("app") == b""
    assert view.module_bytecode("app.main", 2) == b"CODE-main-O2"
    assert view.module_bytecode("ns.part.mod", 1) == b"CODE-O1"
    assert view.module_bytecode("ns.part.mod", 0) is None
    assert view.modules["app"][0] & MODULE_PACKAGE
    assert view.modules["app.main"][0] & MODULE_SOURCE
    assert view.modules["app._speed"] == (MODULE_EXTENSION, 1, "app/_speed.abi3.so")
    assert view.modules["disk"][1] == 2
    # Parents that are not modules are namespace packages, located where their content is.
    assert view.modules["ns"] == (MODULE_NAMESPACE | MODULE_PACKAGE, 0)
    assert view.modules["ns.part"] == (MODULE_NAMESPACE | MODULE_PACKAGE, 0)
    off, length = view.package_data["app"]["data/x.txt"][1:]
    assert blob[off : off + length] == b"x-data"
    assert view.package_data["app"]["big.bin"] == (1,)
    off, length = view.distributions["app-1.0.dist-info"]["METADATA"][1:]
    assert blob[off : off + length].startswith(b"Name: app")
    # Identical payloads are stored once.
    assert blob.count(b"print(1)\n") == 1
    assert blob.count(b"CODE-main-O2") == 1


def test_compressed_payloads_roundtrip_and_frozen_modules_stay_raw(tmp_path: Path) -> None:
    from pyoxidizer_py.artifacts.compression import zstd_compressor

    text = b"print('a fairly long line of Python source that repeats')\n" * 40
    codec = b"CODEC-TABLE " * 300
    contents = PackedContents(
        bytecode_magic=b"\x01\x02\r\n",
        memory_modules=[
            PackedMemoryModule(name="cold", is_package=False, source=text, bytecode={0: text * 2}),
            PackedMemoryModule(name="hot", is_package=False, source=None, bytecode={0: text * 3}),
            PackedMemoryModule(name="tiny", is_package=False, source=b"x = 1\n", bytecode={}),
        ],
        memory_data={("cold", "data.txt"): text * 4},
        memory_extensions=[PackedMemoryExtension(name="_ext", is_package=False, path="_ext.so", data=text * 5)],
        frozen=[
            FrozenEntry(name="hot", is_package=False, code=text * 3),
            FrozenEntry(name="codec", is_package=False, code=codec, cold=True),
        ],
    )
    contents.memory_modules.append(PackedMemoryModule(name="codec", is_package=False, source=None, bytecode={0: codec}))
    cache = tmp_path / "zstd"
    blob = encode_packed_resources(contents, zstd_compressor(cache))
    plain = encode_packed_resources(contents)
    assert len(blob) < len(plain) / 3
    assert encode_packed_resources(contents, zstd_compressor(cache)) == blob  # the cache gives the same bytes
    assert encode_packed_resources(contents, zstd_compressor(None)) == blob
    view = read_packed_resources(blob)
    # Negative lengths mark frames; the payloads come back whole.
    assert view.modules["cold"][3] < 0 and view.modules["cold"][5] < 0
    assert view.module_source("cold") == text and view.module_bytecode("cold") == text * 2
    assert view.extension_data("_ext") == text * 5
    assert view.payload(*view.package_data["cold"]["data.txt"][1:]) == text * 4
    # The frozen table's code and the module it holds are raw (one copy, read in place); tiny payloads too.
    assert view.modules["hot"][5] > 0 and blob.count(text * 3) == 1
    assert view.frozen[1] == ("hot", False, text * 3)
    # A cold frozen entry (a codec only unusual locales need at start-up) is one frame, shared
    # with its index entry; uncompressed blobs keep it raw.
    assert view.frozen[0] == ("codec", False, codec) and view.modules["codec"][5] < 0
    assert blob.count(codec) == 0 and plain.count(codec) == 1
    assert view.modules["tiny"][3] == len(b"x = 1\n")
    # A corrupt cache entry is not shipped: it is compressed again.
    for frame in cache.rglob("*.zst"):
        frame.write_bytes(b"garbage")
    assert encode_packed_resources(contents, zstd_compressor(cache)) == blob


TEXT = {"capture_output": True, "text": True, "check": True}


def _stdlib_bytecode(count: int) -> list[bytes]:
    """Marshalled code of the first ``count`` stdlib modules (this interpreter's), as the build stores them."""
    import marshal
    import sysconfig

    out = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        out.append(marshal.dumps(compile(path.read_bytes(), path.name, "exec", dont_inherit=True)))
        if len(out) == count:
            break
    return out


def test_dictionary_compressed_frames_roundtrip_smaller_and_cached(tmp_path: Path) -> None:
    import zstandard

    from pyoxidizer_py.artifacts.compression import LARGE_PAYLOAD, PIECE, train_dictionary, zstd_compressor

    samples = _stdlib_bytecode(150)
    assert sum(map(len, samples)) > 1 << 20
    assert train_dictionary(samples[:40]) is None  # too few samples to be worth a dictionary
    cache = tmp_path / "zstd"
    dictionary = train_dictionary(samples, cache)
    assert dictionary is not None and len(dictionary) <= 256 << 10
    # Deterministic, whatever the samples' order; a cached dictionary is the same one.
    assert train_dictionary(samples[::-1]) == dictionary == train_dictionary(samples, cache)
    # A corrupt cached dictionary is trained again, never used.
    for entry in cache.glob("dict-*.zdict"):
        entry.write_bytes(b"garbage")
    assert train_dictionary(samples, cache) == dictionary

    large = bytes(range(256)) * (LARGE_PAYLOAD // 256 + 1)
    huge = os.urandom(1 << 16) * (2 * PIECE // (1 << 16) + 3)  # three pieces
    contents = PackedContents(
        bytecode_magic=b"\x01\x02\r\n",
        memory_modules=[
            PackedMemoryModule(name=f"m{i}", is_package=False, source=None, bytecode={0: code})
            for i, code in enumerate(samples)
        ],
        memory_data={("m0", "big.bin"): large, ("m0", "huge.bin"): huge},
    )
    plain = encode_packed_resources(contents, zstd_compressor(cache))
    blob = encode_packed_resources(contents, zstd_compressor(cache, dictionary), dictionary=dictionary)
    assert len(blob) < len(plain) * 0.95  # dictionary included
    assert encode_packed_resources(contents, zstd_compressor(None, dictionary), dictionary=dictionary) == blob
    view = read_packed_resources(blob)
    assert view.dictionary == dictionary and read_packed_resources(plain).dictionary is None
    dict_id = zstandard.ZstdCompressionDict(dictionary).dict_id()
    for i, code in enumerate(samples):
        offset, length = view.modules[f"m{i}"][4:6]
        assert length < 0 and view.module_bytecode(f"m{i}") == code
        assert zstandard.get_frame_parameters(blob[offset : offset - length]).dict_id == dict_id
    # Payloads above 1 MiB are compressed without the dictionary (a faster level; it would not help).
    offset, length = view.package_data["m0"]["big.bin"][1:]
    assert zstandard.get_frame_parameters(blob[offset : offset - length]).dict_id == 0
    assert view.payload(offset, length) == large
    # Above 4 MiB, one frame per 4 MiB piece, back to back (the runtime decodes them in parallel).
    offset, length = view.package_data["m0"]["huge.bin"][1:]
    assert length < 0 and zstandard.frame_content_size(blob[offset : offset - length]) == PIECE
    assert view.payload(offset, length) == huge
    with pytest.raises(BuildError, match="dictionary needs a compressor"):
        encode_packed_resources(contents, dictionary=dictionary)


def test_frozen_names_must_be_ascii() -> None:
    contents = PackedContents(bytecode_magic=b"abcd", frozen=[FrozenEntry(name="modé", is_package=False, code=b"x")])
    with pytest.raises(BuildError, match="ASCII"):
        encode_packed_resources(contents)


def test_read_rejects_other_blobs() -> None:
    with pytest.raises(ValueError, match="bad magic"):
        read_packed_resources(b"pyembed\x03" + bytes(100))


# --- placement --------------------------------------------------------------------------------------


def _where(resource: Resource, **options: bool) -> tuple[str, str] | None:
    plan = plan_resources([resource], **options)
    return (plan.resources[0].location, plan.resources[0].prefix) if plan.resources else None


def test_extension_modules_use_the_fallback_or_fail_naming_them(tmp_path: Path) -> None:
    strict = PackagingPolicy(resources_location_fallback=None)
    assert PackagingPolicy().resources_location_fallback == "filesystem-relative:lib"
    (tmp_path / "x.so").write_bytes(b"\x7fELF-not-really")
    ext = PythonExtensionModule(name="yaml._yaml", file_suffix=".abi3.so", path=tmp_path / "x.so")
    assert _where(apply_policy(ext, PackagingPolicy())) == ("filesystem-relative", "lib")
    # A build that loads shared objects from memory keeps it there.
    assert _where(apply_policy(ext, strict), shared_objects_in_memory=True) == ("in-memory", "")
    assert _where(apply_policy(make_python_module_source("m", "x = 1"), strict)) == ("in-memory", "")
    builtin = PythonExtensionModule(name="_io", is_builtin=True)
    assert _where(apply_policy(builtin, strict)) == ("built-in", "")
    assert _where(apply_policy(ext, PackagingPolicy(), extension_included=False)) is None
    with pytest.raises(BuildError) as info:
        _where(apply_policy(ext, strict))
    assert "extension module yaml._yaml cannot be loaded from memory" in str(info.value)
    assert "resources_location_fallback" in str(info.value)
    assert info.value.hint is not None and 'resources_location_fallback = "filesystem-relative:lib"' in info.value.hint


def test_every_unplaceable_resource_is_named_at_once(tmp_path: Path) -> None:
    dist = introspect_installed(PYTHONS["3.11"])
    strict = PackagingPolicy(resources_location_fallback=None)
    with pytest.raises(BuildError) as info:
        plan_resources(stdlib_resources(dist, strict))
    message = str(info.value)
    assert "resources cannot be loaded from memory" in message
    assert "extension module _asyncio" in message
    assert "resources_location_fallback None" in message


# --- the artifact stage -----------------------------------------------------------------------------


def _dist_info(name: str, version: str, files: dict[str, str]) -> list[Resource]:
    directory = f"{name}-{version}.dist-info"
    return [
        PythonPackageDistributionResource(
            package=name, version=version, name=rel, directory=directory, data=text.encode()
        )
        for rel, text in files.items()
    ]


def _app_resources(
    dist: Distribution, policy: PackagingPolicy, pkgroot: Path = DATA / "pkgroot", app_location: str = "in-memory"
) -> list[Resource]:
    """The stdlib, ``myapp`` from a package root and a hand-made ``myapp-1.2.3.dist-info``; the app's
    resources (package and metadata) at ``app_location``."""
    app_policy = policy.copy()
    app_policy.resources_location = app_location
    resources: list[Resource] = [*stdlib_resources(dist, policy)]
    resources += read_package_root(pkgroot, ["myapp"], dist, app_policy)
    resources += [
        apply_policy(r, app_policy)
        for r in _dist_info(
            "myapp",
            "1.2.3",
            {
                "METADATA": "Metadata-Version: 2.1\nName: myapp\nVersion: 1.2.3\n",
                "entry_points.txt": "[console_scripts]\nmyapp = myapp.sub.mod:main\n",
                "RECORD": "myapp/__init__.py,,\nmyapp/data/greeting.txt,,\n",
            },
        )
    ]
    return resources


def test_artifacts_in_memory_by_default(tmp_path: Path) -> None:
    dist = introspect_installed(PYTHONS["3.11"])
    resources = _app_resources(dist, PackagingPolicy())
    result = write_resource_artifacts(
        plan_resources(resources),
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert result.module_search_paths == ("$ORIGIN/lib",)
    assert result.blob_path == tmp_path / "art" / "packed-resources"
    installed = {p.relative_to(tmp_path / "inst").as_posix() for p in (tmp_path / "inst").rglob("*") if p.is_file()}
    # Only what cannot be in memory is a file: the distribution's extension modules.
    assert installed and all(p.endswith(".so") or p.endswith(".json") for p in installed)
    assert "lib/_json.cpython-311-x86_64-linux-gnu.so" in installed
    view = read_packed_resources(result.blob_path.read_bytes())
    assert {"json", "myapp", "myapp.sub.mod", IMPORTER_MODULE} <= set(view.modules)
    assert view.modules["_json"][0] == MODULE_EXTENSION
    frozen = {name for name, _, _ in view.frozen}
    # Modules CPython imports while it starts that 3.11 does not freeze itself, and the importer.
    assert {"encodings", "encodings.utf_8", "encodings.latin_1", IMPORTER_MODULE} <= frozen
    assert "os" not in frozen and "json" not in frozen
    # A rebuild with nothing changed leaves the blob alone (cargo has nothing to recompile).
    mtime = result.blob_path.stat().st_mtime_ns
    again = write_resource_artifacts(
        plan_resources(resources),
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert again.blob_path is not None and again.blob_path.stat().st_mtime_ns == mtime
    assert again.filesystem.written == ()


def test_artifacts_load_modes(tmp_path: Path) -> None:
    dist = introspect_installed(PYTHONS["3.10"])
    resources = _app_resources(dist, PackagingPolicy())
    mapped = write_resource_artifacts(
        plan_resources(resources),
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        load_mode="binary-relative-memory-mapped:app.packed",
        bytecode_cache_dir=tmp_path / "bc",
    )
    assert mapped.blob_path == tmp_path / "inst" / "app.packed"
    assert "app.packed" in mapped.filesystem.files
    assert [(r.kind, r.path) for r in mapped.packed_resources] == [("memory-mapped", "$ORIGIN/app.packed")]
    frozen = {name for name, _, _ in read_packed_resources(mapped.blob_path.read_bytes()).frozen}
    assert {"os", "site", "codecs", "io", "abc", "encodings"} <= frozen  # 3.10 freezes none of them
    with pytest.raises(BuildError, match="packed_resources_load_mode is 'none'"):
        write_resource_artifacts(
            plan_resources(resources),
            dist,
            artifacts_dir=tmp_path / "a2",
            install_dir=tmp_path / "i2",
            load_mode="none",
        )
    with pytest.raises(BuildError, match="oxidized_importer is False"):
        write_resource_artifacts(
            plan_resources(resources),
            dist,
            artifacts_dir=tmp_path / "a2",
            install_dir=tmp_path / "i2",
            config=InterpreterConfig(oxidized_importer=False),
        )
    with pytest.raises(BuildError, match="invalid packed_resources_load_mode"):
        write_resource_artifacts(
            plan_resources(resources),
            dist,
            artifacts_dir=tmp_path / "a2",
            install_dir=tmp_path / "i2",
            load_mode="elsewhere",
        )
    files_only = [apply_policy(r, PackagingPolicy(resources_location="filesystem-relative:lib")) for r in resources]
    none = write_resource_artifacts(
        plan_resources(files_only),
        dist,
        artifacts_dir=tmp_path / "a3",
        install_dir=tmp_path / "i3",
        load_mode="none",
        config=InterpreterConfig(filesystem_importer=True),
    )
    assert none.packed_resources == () and none.blob_path is None
    assert (tmp_path / "i3" / "lib" / "myapp" / "__init__.py").is_file()


# --- the importer in plain interpreters -------------------------------------------------------------

_HARNESS = r"""
import os, sys, types
blob_path, origin, importer_path = sys.argv[1:4]
decompress = None
if os.environ.get("ZSTD_PATH"):  # the runtime's decoder is Rust; in a plain interpreter use python-zstandard
    sys.path.insert(0, os.environ["ZSTD_PATH"])
    import zstandard
    del sys.path[0]
with open(blob_path, "rb") as f:
    blob = f.read()
if decompress is None and os.environ.get("ZSTD_PATH"):  # the header's dictionary (bytes 72..88), as the runtime
    at, size = int.from_bytes(blob[72:80], "little"), int.from_bytes(blob[80:88], "little")
    with_dict = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(blob[at : at + size]))
    plain = zstandard.ZstdDecompressor()
    def decompress(frames):  # one frame, maybe with the dictionary, or several without
        if size and zstandard.get_frame_parameters(bytes(frames[:18])).dict_id:
            return with_dict.decompress(frames)
        return plain.stream_reader(bytes(frames), read_across_frames=True).read()
module = types.ModuleType("_pyoxidizer_importer")
with open(importer_path, "rb") as f:
    exec(compile(f.read(), "_pyoxidizer_importer.py", "exec"), module.__dict__)
sys.modules["_pyoxidizer_importer"] = module
module.install([memoryview(blob)], origin, False, None, decompress)
sys.path[:] = [origin + "/lib"]  # what the executable's module_search_paths give
del sys.argv[:4]
exec(sys.argv[0], {"__name__": "__main__"})
"""

_CHECKS = r"""
import importlib.metadata, importlib.resources, inspect, json, os, pkgutil, runpy, sys, traceback
import myapp, myapp.sub.mod
from importlib.machinery import PathFinder
out = {}
out["path_finder"] = PathFinder in sys.meta_path
out["json_file"] = json.__file__
out["encodings_loader"] = type(sys.modules["encodings"].__loader__).__name__
out["myapp_file"] = myapp.__file__
out["myapp_path"] = list(myapp.__path__)
out["myapp_cached"] = myapp.__cached__
here = os.path.dirname(myapp.__file__)
out["get_data"] = myapp.__loader__.get_data(os.path.join(here, "data", "greeting.txt")).decode()
out["pkgutil_get_data"] = pkgutil.get_data("myapp", "data/greeting.txt").decode()
out["iter_modules"] = sorted(m.name for m in pkgutil.iter_modules(myapp.__path__))
out["top_level"] = {"json", "myapp"} <= {m.name for m in pkgutil.iter_modules()}
files = importlib.resources.files("myapp")
out["files"] = sorted(p.name for p in files.iterdir())
out["read_text"] = (files / "data" / "greeting.txt").read_text()
with importlib.resources.as_file(files / "data" / "greeting.txt") as path:
    with open(path) as f:
        out["as_file"] = f.read()
out["version"] = importlib.metadata.version("myapp")
out["entry_points"] = [e.value for e in importlib.metadata.entry_points().select(group="console_scripts")
                       if e.name == "myapp"]
out["dist_files"] = [str(p) for p in importlib.metadata.files("myapp")]
out["dist_file_text"] = importlib.metadata.files("myapp")[1].read_text()
out["getsource"] = inspect.getsource(json.dumps).splitlines()[0]
try:
    myapp.sub.mod.fail()
except ZeroDivisionError:
    out["traceback"] = traceback.format_exc()
out["runpy"] = runpy.run_module("myapp.sub.mod", run_name="not_main")["VALUE"]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def app_pkgroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``tests/data/pkgroot`` whose ``myapp.sub.mod`` has a failing function and a value."""
    import shutil

    root = tmp_path_factory.mktemp("pkgroot")
    shutil.copytree(DATA / "pkgroot", root, dirs_exist_ok=True)
    mod = root / "myapp" / "sub" / "mod.py"
    mod.write_text(mod.read_text() + "\nVALUE = 42\n\ndef fail():\n    return 1 / 0  # fails here\n")
    return root


HARNESS_CASES = [(v, "in-memory") for v in sorted(PYTHONS)] + [
    ("3.11", "filesystem-relative:app"),
    ("3.13", "filesystem-relative:app"),
    ("zstd", "in-memory"),  # this interpreter (which has python-zstandard), compressed payloads
]


@pytest.mark.parametrize("case", HARNESS_CASES, ids=[f"{v}-{loc.split(':')[0]}" for v, loc in HARNESS_CASES])
def test_importer_serves_stdlib_and_app_in_plain_interpreter(
    case: tuple[str, str], tmp_path: Path, app_pkgroot: Path
) -> None:
    version, app_location = case
    env = {"PATH": os.environ["PATH"]}
    compression = None
    python = PYTHONS.get(version)
    if version == "zstd":
        import zstandard

        from pyoxidizer_py.artifacts.compression import Compression

        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        python = Path(sys.executable)
        compression = Compression(tmp_path / "zstd")
        env["ZSTD_PATH"] = str(Path(zstandard.__file__).parent.parent)
    assert python is not None
    dist = introspect_installed(python)
    # Stdlib sources are not kept by default; keep them here to check the importer serves them.
    resources = _app_resources(dist, PackagingPolicy(include_distribution_sources=True), app_pkgroot, app_location)
    result = write_resource_artifacts(
        plan_resources(resources),
        dist,
        artifacts_dir=tmp_path / "art",
        install_dir=tmp_path / "inst",
        bytecode_cache_dir=tmp_path / "bc",
        compression=compression,
    )
    assert result.blob_path is not None
    if compression is not None:
        import zstandard

        view = read_packed_resources(result.blob_path.read_bytes())
        assert view.modules["json"][3] < 0  # compressed source
        # The stdlib's small frames name the blob's dictionary, trained on its bytecode.
        assert view.dictionary is not None
        offset, length = view.modules["json"][4:6]
        frame = view.blob[offset : offset - length]
        dict_id = zstandard.ZstdCompressionDict(view.dictionary).dict_id()
        assert zstandard.get_frame_parameters(frame).dict_id == dict_id != 0
    origin = tmp_path / "inst"
    proc = subprocess.run(
        [str(python), "-I", "-S", "-c", _HARNESS, str(result.blob_path), str(origin), str(IMPORTER), _CHECKS],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    lib = f"{origin}/lib"
    on_disk = app_location != "in-memory"
    app = f"{origin}/app" if on_disk else lib  # files, served from the index without probing
    assert out["path_finder"] is False
    assert out["json_file"] == f"{lib}/json/__init__.py"
    assert out["encodings_loader"] == "OxidizedFinder"
    assert out["myapp_file"] == f"{app}/myapp/__init__.py"
    assert out["myapp_path"] == [f"{app}/myapp"]
    tag = f"cpython-{version.replace('.', '')}"
    # As for zip imports, CPython derives __cached__ from __file__; for in-memory modules no such file exists.
    assert out["myapp_cached"] == f"{app}/myapp/__pycache__/__init__.{tag}.pyc"
    assert Path(out["myapp_cached"]).is_file() == on_disk
    assert out["get_data"] == out["pkgutil_get_data"] == out["read_text"] == out["as_file"] == "hello from myapp\n"
    assert out["iter_modules"] == ["__main__", "sub"]
    assert out["top_level"] is True
    expected = ["__init__.py", "__main__.py", "data", "sub"]
    assert out["files"] == (sorted([*expected, "__pycache__"]) if on_disk else expected)
    assert out["version"] == "1.2.3"
    assert out["entry_points"] == ["myapp.sub.mod:main"]
    assert out["dist_files"] == ["myapp/__init__.py", "myapp/data/greeting.txt"]
    assert out["dist_file_text"] == "hello from myapp\n"
    assert out["getsource"] == "def dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True,"
    assert f'File "{app}/myapp/sub/mod.py", line' in out["traceback"]
    assert "return 1 / 0  # fails here" in out["traceback"]
    assert out["runpy"] == 42


# --- executables (cargo) ----------------------------------------------------------------------------

TRIPLE_DIR = Path("build") / "x86_64-unknown-linux-gnu" / "debug"
DEBIAN311 = Path("/usr/bin/python3.11")
COMPAT_CONFIG = """
def certifi_on_disk(policy, resource):
    if VARS.get("CERTIFI_ON_DISK") and type(resource) == "PythonPackageResource" and resource.package == "certifi":
        resource.add_location = "filesystem-relative:lib"

def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.register_resource_callback(certifi_on_disk)
    config = dist.make_python_interpreter_config()
    config.run_module = "compatapp"
    exe = dist.to_python_executable(name = "compat", packaging_policy = policy, config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    exe.packed_resources_load_mode = VARS.get("LOAD_MODE", "embedded:packed-resources")
    exe.add_python_resources(exe.pip_install(["certifi==2026.10.18", "rich==15.0.0", "pyflakes==3.2.0"]))
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["compatapp"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


@pytest.fixture(scope="session")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cargo target dir per test process, so crates compile once."""
    return tmp_path_factory.mktemp("cargo-target")


def pyoxidizer(*args: str, cargo_target: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cargo_target is not None:
        env["CARGO_TARGET_DIR"] = str(cargo_target)
    return subprocess.run([sys.executable, "-m", "pyoxidizer_py", *args], env=env, capture_output=True, text=True)


def run(exe: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True)


def opened_python_files(exe: Path, *args: str, cwd: Path) -> list[str]:
    """Every ``.py``/``.pyc`` file the process (and its children) opened, seen by strace."""
    log = cwd / "strace.log"
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log), str(exe), *args],
        cwd=cwd,
        capture_output=True,
        check=True,
    )
    return [line for line in log.read_text().splitlines() if '.py"' in line or '.pyc"' in line]


COMPAT = [
    ("3.10", "static", "", "embedded:packed-resources"),
    ("3.12", "dynamic", "1", "binary-relative-memory-mapped:compat.pyres"),
    ("3.13", "static", "1", "embedded:packed-resources"),
]


@pytest.mark.cargo
@pytest.mark.parametrize("case", COMPAT, ids=[c[0] for c in COMPAT])
def test_real_packages_work_from_memory(tmp_path: Path, cargo_target: Path, case: tuple[str, str, str, str]) -> None:
    import shutil

    version, link, certifi_on_disk, load_mode = case
    project = tmp_path / "compat"
    shutil.copytree(DATA / "compatapp", project / "src")
    (project / "pyoxidizer.bzl").write_text(COMPAT_CONFIG)
    build = pyoxidizer(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        str(PYTHONS[version]),
        "--var",
        "LINK_MODE",
        link,
        "--var",
        "CERTIFI_ON_DISK",
        certifi_on_disk,
        "--var",
        "LOAD_MODE",
        load_mode,
        cargo_target=cargo_target,
    )
    assert build.returncode == 0, build.stderr
    install = project / TRIPLE_DIR / "exe"
    # Run a copy elsewhere, from another directory: every path follows the executable.
    app = tmp_path / "elsewhere" / "app"
    shutil.copytree(install, app)
    exe, lib = app / "compat", f"{app}/lib"
    (app / "lib").mkdir(exist_ok=True)  # static builds: extension modules are in memory, no lib/ at all
    (app / "lib" / "dropped_beside_exe.py").write_text("X = 1\n")  # not indexed: filesystem importing is off
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run(exe, cwd=cwd)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert not [k for k in report if k.startswith("error_")], report
    assert report["version"] == version
    assert report["executable"] == str(exe)
    # __file__, __spec__.origin, __path__ beside the executable; data through the loader.
    assert report["file"] == report["spec_origin"] == f"{lib}/compatapp/__init__.py"
    assert report["path"] == [f"{lib}/compatapp"]
    assert report["rich_path"] == [f"{lib}/rich"]
    message = "message from a data file\n"
    assert report["loader_get_data"] == report["pkgutil_get_data"] == message
    assert report["files_read_text"] == report["as_file"] == message
    assert report["read_text"] == "hello beside __init__\n"
    assert report["files_names"] == [
        "__init__.py",
        "__main__.py",
        "boom.py",
        "check.py",
        "data",
        "hello.txt",
        "tool.py",
    ]
    # certifi: a real file either way; on disk without extraction when its data is filesystem-relative.
    assert report["certifi_where_is_pem"] and report["certifi_contents"]
    if certifi_on_disk:
        assert report["certifi_where"] == f"{lib}/certifi/cacert.pem"
        assert report["certifi_files_type"] == "PosixPath"
    else:
        assert not report["certifi_where"].startswith(str(app))
        assert report["certifi_files_type"] == "OxidizedResourcePath"
    # importlib.metadata
    assert report["version_rich"] == "15.0.0"
    assert report["version_certifi"] == "2026.10.18"
    assert report["metadata_name"] == "pyflakes"
    assert {"pyflakes", "pygmentize", "markdown-it"} <= set(report["console_scripts"])
    assert report["entry_point_loads"] == "pyflakes.api"
    assert report["metadata_files"] and report["metadata_read"] is True
    assert report["metadata_file_read"] == "missing"  # rich/__init__.py: its package ships bytecode only
    # Sources for inspect, linecache and tracebacks.
    line = 'return value["missing"]  # <- the line a traceback must show'
    assert report["getsource"] == report["linecache"] == line
    assert f'File "{lib}/compatapp/boom.py", line 6, in explode' in report["traceback"]
    assert line in report["traceback"]
    # The stdlib and pip-installed packages have no source by default (bytecode only).
    assert report["stdlib_getsource"] == report["package_getsource"] == "OSError: could not get source code"
    # pkgutil, runpy, the importer's place.
    assert report["iter_rich"] and report["iter_top"]
    assert report["walk_packages"] == ["compatapp.__main__", "compatapp.boom", "compatapp.check", "compatapp.tool"]
    assert report["run_module"] == "ran compatapp.tool"
    assert report["meta_path_0"] == "OxidizedFinder" and report["path_finder"] is False
    assert report["encodings_loader"] == "OxidizedFinder"
    assert report["encodings_file"] == f"{lib}/encodings/__init__.py"
    assert report["filesystem_import"] is False
    assert report["rich_render"] is True
    assert report["pyflakes"] == 1
    # An uncaught exception shows the packed source line (a sys.excepthook on 3.10-3.12).
    failed = run(exe, "raise", cwd=cwd)
    assert failed.returncode == 1
    assert f'File "{lib}/compatapp/boom.py", line 6, in explode' in failed.stderr
    assert line in failed.stderr and "KeyError: 'missing'" in failed.stderr
    assert 'compatapp/__main__.py", line 5, in <module>\n    sys.exit(main(sys.argv[1:]))' in failed.stderr
    # Nothing of the stdlib or the packages is read from .py/.pyc files, start-up included.
    assert opened_python_files(exe, cwd=cwd) == []
    if load_mode.startswith("binary-relative-memory-mapped:"):
        (app / "compat.pyres").rename(app / "moved.pyres")
        missing = run(exe, cwd=cwd)
        assert missing.returncode == 1
        assert f"cannot map packed resources {app}/compat.pyres: No such file or directory" in missing.stderr


SINGLE_FILE_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.extension_module_filter = "minimal"
    config = dist.make_python_interpreter_config()
    config.filesystem_importer = True
    config.run_command = '''
import importlib.resources, json, sys
import myapp
from myapp.sub.mod import greet
print(json.dumps({"greet": greet(), "file": myapp.__file__, "argv": sys.argv[1:]}))
if sys.argv[1:] == ["extra"]:
    import extra_mod
    print(extra_mod.VALUE)
if sys.argv[1:] == ["encoding"]:
    print(sys.getfilesystemencoding(), sys.stdout.encoding, "encodings.koi8_r" in sys.modules)
'''
    exe = dist.to_python_executable(name = "onefile", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.licenses_filename = None
    exe.sbom_filename = None
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["myapp"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


@pytest.mark.cargo
def test_single_file_executable(tmp_path: Path, cargo_target: Path) -> None:
    import shutil

    project = tmp_path / "onefile"
    shutil.copytree(DATA / "pkgroot", project / "src")
    (project / "pyoxidizer.bzl").write_text(SINGLE_FILE_CONFIG)
    build = pyoxidizer(
        "build", "--path", str(project), "--python-distribution", str(DEBIAN311), cargo_target=cargo_target
    )
    assert build.returncode == 0, build.stderr
    install = project / TRIPLE_DIR / "exe"
    assert sorted(p.name for p in install.iterdir()) == ["onefile"]
    # Copied alone into an empty directory, run from another working directory.
    alone = tmp_path / "empty"
    alone.mkdir()
    shutil.copy2(install / "onefile", alone / "onefile")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run(alone / "onefile", "a b", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "greet": "hello from myapp",
        "file": f"{alone}/lib/myapp/__init__.py",
        "argv": ["a b"],
    }
    assert opened_python_files(alone / "onefile", cwd=cwd) == []
    # filesystem_importer = True: a module dropped into lib/ beside it is importable.
    (alone / "lib").mkdir()
    (alone / "lib" / "extra_mod.py").write_text("VALUE = 'from the filesystem'\n")
    extra = run(alone / "onefile", "extra", cwd=cwd)
    assert extra.returncode == 0, extra.stderr
    assert extra.stdout.splitlines()[-1] == "from the filesystem"
    # Codecs only other locales need at start-up are compressed in the frozen table: a UTF-8
    # locale starts without them, a KOI8-R one (compiled with localedef) gets its codec.
    locales = tmp_path / "locales"
    locales.mkdir()
    # localedef exits 1 for mere warnings; the compiled locale is what counts.
    subprocess.run(["localedef", "-i", "ru_RU", "-f", "KOI8-R", str(locales / "ru_RU.KOI8-R")], capture_output=True)
    assert (locales / "ru_RU.KOI8-R" / "LC_CTYPE").is_file()
    for lc_all, expected in (("C.UTF-8", "utf-8 utf-8 False"), ("ru_RU.KOI8-R", "koi8-r koi8-r True")):
        env = {**os.environ, "LOCPATH": str(locales), "LC_ALL": lc_all}
        ran = subprocess.run([str(alone / "onefile"), "encoding"], cwd=cwd, env=env, capture_output=True)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.decode("ascii").splitlines()[-1] == expected
    # It exports CPython's C API, what extension modules link against, and nothing else of its
    # own, so the linker drops code nothing calls: libzstd's compressor (the runtime decompresses).
    nm = ["nm", "--defined-only", str(alone / "onefile")]
    exported = [line.split()[-1] for line in subprocess.run([*nm, "-D"], **TEXT).stdout.splitlines()]
    assert "PyObject_GetAttr" in exported and "_Py_NoneStruct" in exported
    assert [name for name in exported if not name.startswith(("Py", "_Py"))] == []
    linked = subprocess.run(nm, **TEXT).stdout
    assert "ZSTD_decompressDCtx" in linked and "ZSTD_compressCCtx" not in linked


def test_strict_in_memory_policy_names_the_extension_module(tmp_path: Path) -> None:
    from cli_helpers import one_error_line

    project = tmp_path / "strict"
    project.mkdir()
    (project / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution()\n"
        "    policy = dist.make_python_packaging_policy()\n"
        "    policy.resources_location_fallback = None\n"
        "    policy.allow_in_memory_shared_library_loading = False\n"
        "    policy.extension_module_filter = 'minimal'\n"
        "    exe = dist.to_python_executable(name = 'strict', packaging_policy = policy)\n"
        "    exe.add_python_resources(exe.pip_install(['PyYAML==6.0.2']))\n"
        "    return exe\n"
        "register_target('exe', make_exe)\nresolve_targets()\n"
    )
    line = one_error_line(pyoxidizer("build", "--path", str(project), "--python-distribution", str(PYTHONS["3.11"])))
    assert "extension module yaml._yaml cannot be loaded from memory" in line
    assert "resources_location_fallback" in line
