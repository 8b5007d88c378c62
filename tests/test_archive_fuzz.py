"""Property tests: hostile archives never crash, hang or write outside their destination (issue 15).

Hypothesis builds real tar streams (zstandard and gzip) from strategies for member names, member
kinds, symbolic-link chains and mutated ``PYTHON.json`` documents (starting from the fixture
archive's real one), and feeds them to the real extraction and description code:

- in this process, many examples: ``extract_archive`` (with the same ``check`` the cache uses) and
  ``python_distribution_info`` must either succeed or raise ``DistributionError``; afterwards nothing
  outside the sandbox's output and temporary directories may have changed, every link left in a
  successful extraction must resolve inside it, and a described distribution's paths must too;
  each example must finish within 60 s (``SIGALRM``);
- through the real command line, fewer examples: exit status 0 or 1, exactly one ``error:`` line and
  no traceback on failure, no signal, no hang (a timeout).

The run is bounded (about a minute for the module; ``PYOXIDIZER_PY_FUZZ=explore`` runs longer and
randomised). Examples found by earlier runs are pinned with ``@example`` as regression tests.
"""

# ruff: noqa: F811 - fixture functions imported from fixtures_pbs are redefined as test parameters

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from fixtures_pbs import PbsArchives, pbs_archives, tar_entry, write_raw_tar  # noqa: F401 - pytest fixtures
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pyoxidizer_py.distribution.pbs import commands
from pyoxidizer_py.distribution.pbs.distribution import check_extracted_tree, distribution_from_tree
from pyoxidizer_py.distribution.pbs.extract import ExtractLimits, extract_archive
from pyoxidizer_py.distribution.pbs.safepaths import python_json_paths, resolve_inside
from pyoxidizer_py.errors import DistributionError

EXPLORE = os.environ.get("PYOXIDIZER_PY_FUZZ") == "explore"


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples * 10 if EXPLORE else examples,
        derandomize=not EXPLORE,  # CI runs the same examples every time; explore finds new ones
        database=None,
        deadline=None,  # a hang is caught by the subprocess tests' timeouts; slow CI machines vary
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


# -- strategies ---------------------------------------------------------------------------------

_COMPONENTS = [
    "python",
    "install",
    "build",
    "lib",
    "licenses",
    "a",
    "b",
    "c",
    "..",
    ".",
    "",
    "x.py",
    "canary",
    "etc",
    "passwd",
    "\\",
    "C:",
    "é",
    "a b",
    "~",
]
component = st.sampled_from(_COMPONENTS)
path_text = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "", "", "/", "./", "../"]),
    st.lists(component, min_size=0, max_size=6),
)
member_name = st.one_of(
    st.builds(lambda parts: "python/" + "/".join(parts), st.lists(component, min_size=0, max_size=5)),
    path_text,
    st.text(min_size=1, max_size=40),
    st.integers(1, 300).map(lambda n: "python/" + "d/" * n + "f"),  # deep: os.makedirs recursion
)
link_target = st.one_of(
    path_text, st.sampled_from(["../..", "b/../..", "../../../../canary", "../../../canary", "/etc", ".", "a", "b/c"])
)


@st.composite
def member(draw: st.DrawFn, earlier: list[str]) -> tuple[tarfile.TarInfo, bytes | None]:
    name = draw(member_name)
    kind = draw(st.sampled_from(["file", "file", "dir", "symlink", "symlink", "hardlink", "fifo", "chr"]))
    if kind == "file":
        return tar_entry(name, data=draw(st.binary(max_size=64)), mode=draw(st.sampled_from([0o644, 0o4755, 0])))
    if kind in ("symlink", "hardlink"):
        target = draw(st.one_of(link_target, st.sampled_from(earlier or ["python"])))
        return tar_entry(name, kind=kind, link=target)
    return tar_entry(name, kind=kind)


@st.composite
def archive_members(draw: st.DrawFn) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    entries = [tar_entry("python", kind="dir"), tar_entry("python/build", kind="dir")]
    if draw(st.booleans()):
        # a chain of links among python/build/{a,b,c}, in an order that may make it escape only once complete
        for name in draw(st.permutations(["a", "b", "c"])):
            entries.append(tar_entry(f"python/build/{name}", kind="symlink", link=draw(link_target)))
    if draw(st.integers(0, 3)) == 0:  # a long chain of links (os.path.realpath recursed once per link)
        length = draw(st.integers(2, 120))
        entries += [
            tar_entry(
                f"python/l{i}", kind="symlink", link=f"l{(i + 1) % length}" if draw(st.booleans()) else f"l{i + 1}"
            )
            for i in range(length)
        ]
    names = [e[0].name for e in entries]
    for _ in range(draw(st.integers(0, 8))):
        entry = draw(member(names))
        entries.append(entry)
        names.append(entry[0].name)
    if draw(st.booleans()):  # something written through whatever links now exist
        entries.append(tar_entry(f"python/build/{draw(st.sampled_from(['a', 'b', 'c']))}/x/evil", data=b"evil"))
    return entries


# -- sandbox ------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            out[rel] = os.readlink(path) if path.is_symlink() else (path.read_bytes() if path.is_file() else "dir")
    return out


class Sandbox:
    """``in/`` (the archive), ``out/`` (destinations), ``tmp/`` (TMPDIR), ``canary/`` (must never change)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("in", "out", "tmp", "canary"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "canary" / "passwd").write_text("canary\n")
        self.before = _snapshot(root / "canary")

    def check_untouched(self) -> None:
        assert _snapshot(self.root / "canary") == self.before
        assert sorted(p.name for p in self.root.iterdir()) == ["canary", "in", "out", "tmp"]
        assert list((self.root / "tmp").iterdir()) == []  # temporary extractions are always removed


def _assert_links_inside(dest: Path) -> None:
    real = os.path.realpath(dest)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                assert resolved == real or resolved.startswith(real + os.sep), (path, os.readlink(path))


class Hang(Exception):
    """An example ran past its time bound."""


@contextlib.contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    """Turn a hang in this process into a test failure (SIGALRM; the tests run in the main thread)."""

    def expired(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_in_process(sandbox: Sandbox, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _time_bound(60):
        _run_bounded(sandbox, archive, monkeypatch)


def _run_bounded(sandbox: Sandbox, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = sandbox.root / "out" / "dest"
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox.root / "tmp"))
    try:
        try:
            extract_archive(
                archive,
                dest,
                limits=ExtractLimits(max_bytes=1 << 24),
                check=lambda root: check_extracted_tree(root, archive),
            )
        except DistributionError:
            assert not dest.exists()
            assert list((sandbox.root / "out").iterdir()) == []  # no staging directory left
        else:
            _assert_links_inside(dest)
            dist = distribution_from_tree(dest, target_triple="x86_64-unknown-linux-gnu")
            for path in (dist.stdlib_dir, dist.include_dir, dist.prefix):
                assert os.path.realpath(path).startswith(os.path.realpath(dest) + os.sep)
            pj = getattr(dist.pbs, "python_json", None)
            if pj is not None:
                for key, rel in python_json_paths(pj):
                    assert resolve_inside(dest / "python", rel) is not None, key
        with contextlib.suppress(DistributionError):
            commands.python_distribution_info(archive)
    finally:
        import shutil

        shutil.rmtree(sandbox.root / "out" / "dest", ignore_errors=True)
    sandbox.check_untouched()


def _write(
    archive: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]], compression: str, checksum: bool
) -> None:
    try:
        write_raw_tar(archive, entries, compression=compression, checksum=checksum)
    except (ValueError, UnicodeEncodeError, tarfile.HeaderError):  # tarfile itself cannot write this entry
        assume(False)


# -- member names, kinds and link chains --------------------------------------------------------


@_settings(160)
@given(entries=archive_members(), compression=st.sampled_from(["zst", "gz"]), checksum=st.booleans())
@example(  # the two-step chain of issue 15
    entries=[
        tar_entry("python", kind="dir"),
        tar_entry("python/build", kind="dir"),
        tar_entry("python/build/a", kind="symlink", link="b/../.."),
        tar_entry("python/build/b", kind="symlink", link="../.."),
        tar_entry("python/build/a/canary/passwd", data=b"owned"),
    ],
    compression="zst",
    checksum=False,
)
@example(  # a hard link to a member that does not exist (tarfile's KeyError)
    entries=[tar_entry("python", kind="dir"), tar_entry("python/x", kind="hardlink", link="python/missing")],
    compression="gz",
    checksum=False,
)
def test_members_never_escape_or_crash(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    entries: list[tuple[tarfile.TarInfo, bytes | None]],
    compression: str,
    checksum: bool,
) -> None:
    sandbox = Sandbox(tmp_path_factory.mktemp("fz"))
    archive = sandbox.root / "in" / f"a.tar.{compression}"
    _write(archive, entries, compression, checksum)
    _run_in_process(sandbox, archive, monkeypatch)


@_settings(80)
@given(
    entries=archive_members(),
    flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 1 << 20)),
    compression=st.sampled_from(["zst", "gz"]),
)
def test_corrupt_tar_headers_never_escape_or_crash(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    entries: list[tuple[tarfile.TarInfo, bytes | None]],
    flips: list[tuple[int, int]],
    cut: int | None,
    compression: str,
) -> None:
    """Bytes of the uncompressed tar stream changed or cut off, then compressed validly: the tar
    parser itself sees garbage headers, sizes and pax records."""
    sandbox = Sandbox(tmp_path_factory.mktemp("fx"))
    buf = io.BytesIO()
    try:
        with tarfile.open(fileobj=buf, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for info, data in entries:
                tf.addfile(info, io.BytesIO(data) if data is not None else None)
    except (ValueError, UnicodeEncodeError, tarfile.HeaderError):
        assume(False)
    raw = bytearray(buf.getvalue())
    for offset, xor in flips:
        raw[offset % len(raw)] ^= xor
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    archive = sandbox.root / "in" / f"a.tar.{compression}"
    if compression == "zst":
        archive.write_bytes(zstandard.ZstdCompressor(level=1).compress(bytes(raw)))
    else:
        archive.write_bytes(gzip.compress(bytes(raw), compresslevel=1, mtime=0))
    _run_in_process(sandbox, archive, monkeypatch)


# -- PYTHON.json shapes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_doc(pbs_archives: PbsArchives) -> dict[str, Any]:
    with (
        pbs_archives.full_v8.path.open("rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw) as reader,
        tarfile.open(fileobj=reader, mode="r|") as tf,
    ):
        first = next(iter(tf))
        return json.loads(tf.extractfile(first).read())  # type: ignore[union-attr]


_PATH_KEYS = [
    ("license_path",),
    ("python_exe",),
    ("python_paths", "stdlib"),
    ("python_paths", "include"),
    ("python_stdlib_platform_config",),
    ("run_tests",),
    ("tcl_library_path",),
    ("python_config_vars", "INSTSONAME"),
    ("python_config_vars", "LIBRARY"),
    ("python_config_vars", "LDVERSION"),
    ("build_info", "core", "objs", 0),
    ("build_info", "inittab_object"),
    ("build_info", "core", "links", 0, "path_static"),
    ("build_info", "extensions", "_ssl", 0, "license_paths", 0),
    ("build_info", "extensions", "_io", 0, "objs", 0),
]
_BIG = "\x00big"  # written as a 5001-digit integer (past Python's default int/str conversion limit)
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.just(_BIG), st.text(max_size=10), st.floats(allow_nan=False)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, tuple[Any, ...], Any]:
    what = draw(st.sampled_from(["path", "path", "path", "value", "delete", "deep"]))
    key = draw(st.sampled_from(_PATH_KEYS))
    if what == "path":
        return (
            what,
            key,
            draw(
                st.one_of(
                    path_text,
                    st.sampled_from(["../../../../etc/passwd", "/etc/passwd", "install/../../canary/passwd", ""]),
                )
            ),
        )
    if what == "deep":
        return what, key, draw(st.integers(1, 200_000))
    return what, key, draw(json_value)


def _dumps(doc: Any) -> str:
    return json.dumps(doc).replace(json.dumps(_BIG), "1" + "0" * 5000)


def _apply(doc: dict[str, Any], change: tuple[str, tuple[Any, ...], Any]) -> bytes:
    what, key, value = change
    node: Any = doc
    for part in key[:-1]:
        node = node[part]
    if what == "delete":
        node.pop(key[-1]) if isinstance(node, dict) else node.__delitem__(key[-1])
    elif what == "deep":
        return ('{"deep": ' + "[" * value + "]" * value + ", " + _dumps(doc)[1:]).encode()
    else:
        node[key[-1]] = value
    return _dumps(doc).encode()


@_settings(100)
@given(
    changes=st.lists(mutation(), min_size=1, max_size=3),
    links=st.lists(link_target, max_size=2),
    compression=st.sampled_from(["zst", "gz"]),
)
@example(changes=[("path", ("license_path",), "../../../../etc/passwd")], links=[], compression="zst")
@example(changes=[("path", ("python_paths", "stdlib"), "../../canary")], links=[], compression="zst")
@example(changes=[("path", ("build_info", "core", "objs", 0), "/etc/passwd")], links=[], compression="gz")
@example(changes=[("deep", ("license_path",), 100_000)], links=[], compression="zst")
@example(changes=[("value", ("python_implementation_hex_version",), _BIG)], links=[], compression="zst")
@example(changes=[("path", ("license_path",), "licenses/l0/passwd")], links=["../../../../canary"], compression="zst")
def test_python_json_shapes_never_escape_or_crash(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    base_doc: dict[str, Any],
    changes: list[tuple[str, tuple[Any, ...], Any]],
    links: list[str],
    compression: str,
) -> None:
    sandbox = Sandbox(tmp_path_factory.mktemp("fj"))
    doc = copy.deepcopy(base_doc)
    data = b""
    for change in changes:
        try:
            data = _apply(doc, change)
        except (KeyError, IndexError, TypeError):
            data = _dumps(doc).encode()
    py = "python/install/lib/python3.11"
    entries = [
        tar_entry("python/PYTHON.json", data=data),
        tar_entry("python", kind="dir"),
        tar_entry("python/install", kind="dir"),
        tar_entry("python/install/bin", kind="dir"),
        tar_entry("python/install/bin/python3.11", data=b"#!/bin/false\n", mode=0o755),
        tar_entry("python/install/lib", kind="dir"),
        tar_entry(py, kind="dir"),
        tar_entry(f"{py}/os.py", data=b"# os\n"),
        tar_entry(f"{py}/json", kind="dir"),
        tar_entry(f"{py}/json/__init__.py", data=b""),
        tar_entry(f"{py}/json/data.txt", data=b"x"),
        tar_entry("python/install/include", kind="dir"),
        tar_entry("python/install/include/python3.11", kind="dir"),
        tar_entry("python/licenses", kind="dir"),
        tar_entry("python/licenses/LICENSE.cpython.txt", data=b"PSF license\n"),
    ]
    entries += [tar_entry(f"python/licenses/l{i}", kind="symlink", link=t) for i, t in enumerate(links)]
    archive = sandbox.root / "in" / f"cpython-3.11.2+20250101-x86_64-unknown-linux-gnu-noopt-full.tar.{compression}"
    _write(archive, entries, compression, False)
    _run_in_process(sandbox, archive, monkeypatch)


# -- the command line --------------------------------------------------------------------------


@_settings(8)
@given(entries=archive_members(), compression=st.sampled_from(["zst", "gz"]))
def test_cli_answers_every_archive_with_exit_0_or_one_error_line(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[tarfile.TarInfo, bytes | None]], compression: str
) -> None:
    sandbox = Sandbox(tmp_path_factory.mktemp("fc"))
    archive = sandbox.root / "in" / f"a.tar.{compression}"
    _write(archive, entries, compression, True)
    env = {**os.environ, "TMPDIR": str(sandbox.root / "tmp"), "PYOXIDIZER_PY_MAX_EXTRACT_BYTES": "16M"}
    for args in (
        ["python-distribution-info", str(archive)],
        ["python-distribution-extract", str(sandbox.root / "out" / "dest"), "--archive-path", str(archive)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "pyoxidizer_py", *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode in (0, 1), (args, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode == 1:
            assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1, result.stderr
    if (sandbox.root / "out" / "dest").exists():
        _assert_links_inside(sandbox.root / "out" / "dest")
        import shutil

        shutil.rmtree(sandbox.root / "out" / "dest")
    sandbox.check_untouched()
