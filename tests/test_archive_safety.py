"""Hostile python-build-standalone archives (issue 15, archive side), through the command line.

Every archive here is built by ``fixtures_pbs`` (real CPython files, real tar + zstandard/gzip);
every check runs the real ``pyoxidizer-py`` process and looks at its exit status, its one
``error:`` line and what it left on disk.
"""

# ruff: noqa: F811 - fixture functions imported from fixtures_pbs are redefined as test parameters

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard
from cli_helpers import one_error_line
from fixtures_pbs import (  # noqa: F401 - pytest fixtures
    BuiltArchive,
    PbsArchives,
    build_full_archive,
    pbs_archives,
    tar_entry,
    write_raw_tar,
)

EXE = [sys.executable, "-m", "pyoxidizer_py"]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, cwd=cwd, timeout=300
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- escapes through PYTHON.json ----------------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        last = keys[-1]
        if last.endswith("]"):
            name, index = last[:-1].split("[")
            node[name][int(index)] = value
        else:
            node[last] = value

    return mutate


ESCAPES = {
    "license_path": ("license_path", "../../../../etc/passwd"),
    "license_path_absolute": ("license_path", "/etc/passwd"),
    "stdlib": ("python_paths.stdlib", "../../../../usr/lib/python3.11"),
    "include": ("python_paths.include", "/usr/include/python3.11"),
    "core_obj": ("build_info.core.objs[0]", "/etc/passwd"),
    "inittab": ("build_info.inittab_object", "build/../../../etc/passwd"),
    "soname": ("python_config_vars.INSTSONAME", "../../../../../usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"),
}


@pytest.fixture(scope="module")
def escaping_archives(tmp_path_factory: pytest.TempPathFactory, pbs_archives: PbsArchives) -> dict[str, BuiltArchive]:
    root = tmp_path_factory.mktemp("escapes")
    out = {}
    for label, (key, value) in ESCAPES.items():
        out[label] = build_full_archive(root / label, mutate=_set(key, value), workdir=pbs_archives.workdir)

    # A link entry's path_static, an extension's object and license path, all in one document.
    def several(doc: dict[str, Any]) -> None:
        doc["build_info"]["core"]["links"][0]["path_static"] = "../../../../usr/lib/x86_64-linux-gnu/libm.a"
        doc["build_info"]["extensions"]["_io"][0]["objs"][0] = "/etc/passwd"
        doc["build_info"]["extensions"]["_ssl"][0]["license_paths"] = ["/etc/shadow"]

    out["several"] = build_full_archive(root / "several", mutate=several, workdir=pbs_archives.workdir)
    return out


@pytest.mark.parametrize("label", sorted(ESCAPES))
def test_python_json_path_outside_refused_by_info(
    label: str, escaping_archives: dict[str, BuiltArchive], tmp_path: Path
) -> None:
    key, value = ESCAPES[label]
    archive = escaping_archives[label].path
    line = one_error_line(cli("python-distribution-info", str(archive), env={"TMPDIR": str(tmp_path)}))
    assert str(archive) in line
    assert f"{key}: " in line and value in line and "resolves outside the archive's python/ directory" in line
    assert list(tmp_path.iterdir()) == []  # the temporary extraction is gone


def test_every_escaping_key_is_named(escaping_archives: dict[str, BuiltArchive]) -> None:
    line = one_error_line(cli("python-distribution-licenses", str(escaping_archives["several"].path)))
    for key in (
        "build_info.core.links[0].path_static",
        "build_info.extensions._io[0].objs[0]",
        "build_info.extensions._ssl[0].license_paths[0]",
    ):
        assert key in line


@pytest.mark.parametrize("label", ["license_path", "stdlib", "core_obj"])
def test_build_refuses_escaping_archive_and_caches_nothing(
    label: str, escaping_archives: dict[str, BuiltArchive], tmp_path: Path
) -> None:
    project = tmp_path / "app"
    assert cli("init-config-file", str(project), "--python-code", "print(1)").returncode == 0
    cache = tmp_path / "cache"
    result = cli(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        str(escaping_archives[label].path),
        env={"PYOXIDIZER_PY_CACHE_DIR": str(cache)},
    )
    line = one_error_line(result)
    assert ESCAPES[label][0] in line
    passwd = Path("/etc/passwd").read_bytes()
    for path in project.rglob("*"):
        assert not (path.is_file() and passwd in path.read_bytes()), path  # no COPYING.txt / libpython3.a of it
    extracted = cache / "python_distributions" / "extracted"
    assert [p.name for p in extracted.iterdir()] == []  # never cached as complete (nor a staging dir left)


def test_python_json_path_through_an_inside_link_is_accepted(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    archive = build_full_archive(
        tmp_path / "ok",
        mutate=_set("license_path", "licenses/current/LICENSE.cpython.txt"),
        workdir=pbs_archives.workdir,
        extra_members=[("python/licenses/current", None, ".")],
    )
    result = cli("python-distribution-licenses", str(archive.path))
    assert result.returncode == 0, result.stderr


# -- links, hard links, deep JSON -------------------------------------------------------------


def _tiny_full(extra: list[tuple[tarfile.TarInfo, bytes | None]], doc: bytes = b"{}") -> list[Any]:
    return [
        tar_entry("python/PYTHON.json", data=doc),
        tar_entry("python", kind="dir"),
        tar_entry("python/install", kind="dir"),
        tar_entry("python/build", kind="dir"),
        *extra,
    ]


def test_two_step_symlink_chain_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "chain.tar.zst"
    write_raw_tar(
        archive,
        _tiny_full(
            [
                tar_entry("python/build/a", kind="symlink", link="b/../.."),
                tar_entry("python/build/b", kind="symlink", link="../.."),
            ]
        ),
    )
    dest = tmp_path / "dest"
    cache = tmp_path / "cache"
    line = one_error_line(cli("python-distribution-extract", str(dest), "--archive-path", str(archive)))
    assert "'python/build/a'" in line and "resolves outside the destination" in line
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.tar.zst"]
    # The cache path (a build naming the archive) refuses it too and caches nothing.
    project = tmp_path / "app"
    assert cli("init-config-file", str(project), "--python-code", "print(1)").returncode == 0
    one_error_line(
        cli(
            "build",
            "--path",
            str(project),
            "--python-distribution",
            str(archive),
            env={"PYOXIDIZER_PY_CACHE_DIR": str(cache)},
        )
    )
    assert list((cache / "python_distributions" / "extracted").iterdir()) == []


def test_hard_link_to_missing_member_is_one_error_line(tmp_path: Path) -> None:
    archive = tmp_path / "hl.tar.gz"
    write_raw_tar(
        archive,
        _tiny_full([tar_entry("python/install/x", kind="hardlink", link="python/install/nope")]),
        compression="gz",
    )
    for args in (
        ["python-distribution-info", str(archive)],
        ["python-distribution-extract", str(tmp_path / "dest"), "--archive-path", str(archive)],
    ):
        line = one_error_line(cli(*args))
        assert "'python/install/x' is a hard link to 'python/install/nope'" in line
    assert not (tmp_path / "dest").exists()


def test_hard_link_to_earlier_file_is_extracted(tmp_path: Path, pbs_archives: PbsArchives) -> None:
    # Re-pack a fixture archive with one extra hard link to an earlier regular file.
    with pbs_archives.full_v8.path.open("rb") as fh:
        raw = zstandard.ZstdDecompressor().stream_reader(fh).read()
    entries = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        for member in tf:
            data = tf.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            entries.append((member, data))
    entries.append(tar_entry("python/licenses/COPY", kind="hardlink", link="python/licenses/LICENSE.cpython.txt"))
    repacked = tmp_path / pbs_archives.full_v8.filename
    write_raw_tar(repacked, entries)
    dest = tmp_path / "dest"
    result = cli("python-distribution-extract", str(dest), "--archive-path", str(repacked))
    assert result.returncode == 0, result.stderr
    licenses = dest / "python" / "licenses"
    assert (licenses / "COPY").stat().st_ino == (licenses / "LICENSE.cpython.txt").stat().st_ino


def test_deeply_nested_directories_are_one_error_line(tmp_path: Path) -> None:
    archive = tmp_path / "deep-dirs.tar.zst"  # found by probing: os.makedirs recursed into a RecursionError
    write_raw_tar(archive, [tar_entry("python", kind="dir"), tar_entry("python/" + "d/" * 3000 + "f", data=b"x")])
    for args in (
        ["python-distribution-info", str(archive)],
        ["python-distribution-extract", str(tmp_path / "dest"), "--archive-path", str(archive)],
    ):
        assert "nested more than 64 directories deep" in one_error_line(cli(*args))
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


@pytest.mark.parametrize("order", ["forward", "backward", "loop"])
def test_long_link_chains_and_loops_are_one_error_line(order: str, tmp_path: Path) -> None:
    # found by probing: os.path.realpath recursed once per link into a RecursionError
    if order == "loop":
        links = [("a", "b"), ("b", "a"), ("c", "a/x")]
    else:
        links = [(f"l{i}", f"l{i + 1}" if order == "forward" else (f"l{i - 1}" if i else "x")) for i in range(3000)]
    archive = tmp_path / f"{order}.tar.zst"
    write_raw_tar(
        archive,
        [
            tar_entry("python", kind="dir"),
            *[tar_entry(f"python/{name}", kind="symlink", link=target) for name, target in links],
        ],
    )
    for args in (
        ["python-distribution-info", str(archive)],
        ["python-distribution-extract", str(tmp_path / "dest"), "--archive-path", str(archive)],
    ):
        line = one_error_line(cli(*args))
        assert "more than 40 symbolic links (a loop or a chain)" in line and ": member 'python/" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def test_deeply_nested_python_json_is_one_error_line(tmp_path: Path) -> None:
    archive = tmp_path / "deep.tar.zst"
    doc = b"[" * 100_000 + b"]" * 100_000
    write_raw_tar(archive, _tiny_full([tar_entry("python/install/lib", kind="dir")], doc=doc))
    for command in ("python-distribution-info", "python-distribution-licenses"):
        line = one_error_line(cli(command, str(archive)))
        assert "PYTHON.json nests arrays/objects too deeply" in line and str(archive) in line
    dest = tmp_path / "dest"
    line = one_error_line(cli("python-distribution-extract", str(dest), "--archive-path", str(archive)))
    assert "too deeply" in line
    assert not dest.exists()


# -- integrity: flipped bytes, digests ---------------------------------------------------------


def _flip(src: Path, dest: Path, count: int = 600) -> Path:
    data = bytearray(src.read_bytes())
    middle = len(data) // 2
    for i in range(count):
        data[middle + i * 7] ^= 0x5A
    dest.write_bytes(bytes(data))
    return dest


@pytest.fixture(scope="module")
def checksummed(tmp_path_factory: pytest.TempPathFactory, pbs_archives: PbsArchives) -> BuiltArchive:
    return build_full_archive(tmp_path_factory.mktemp("ck"), checksum=True, workdir=pbs_archives.workdir)


def test_flipped_bytes_in_checksummed_zstd_archive_fail_info_and_extract(
    checksummed: BuiltArchive, tmp_path: Path
) -> None:
    bad = _flip(checksummed.path, tmp_path / checksummed.filename)
    line = one_error_line(cli("python-distribution-info", str(bad)))
    assert f"cannot extract {bad}" in line
    dest = tmp_path / "dest"
    dest.mkdir()  # an existing empty destination stays empty
    one_error_line(cli("python-distribution-extract", str(dest), "--archive-path", str(bad)))
    assert list(dest.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name, "dest"]  # no staging dir left


def test_flipped_bytes_caught_by_sha256sums_beside_the_archive(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    good = pbs_archives.full_v8
    bad = _flip(good.path, tmp_path / good.filename)
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  other.tar.zst\n{good.sha256}  {good.filename}\n")
    line = one_error_line(cli("python-distribution-info", str(bad)))
    assert (
        f"sha256 mismatch for {bad}: expected {good.sha256} (from {tmp_path / 'SHA256SUMS'}), got {_sha(bad)}" in line
    )
    (tmp_path / "SHA256SUMS").unlink()
    (tmp_path / f"{good.filename}.sha256").write_text(good.sha256 + "\n")
    line = one_error_line(cli("python-distribution-extract", str(tmp_path / "d"), "--archive-path", str(bad)))
    assert "sha256 mismatch" in line and ".sha256" in line
    assert not (tmp_path / "d").exists()


def test_matching_sidecar_digest_is_accepted(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    good = pbs_archives.install_only
    copy = tmp_path / good.filename
    copy.write_bytes(good.path.read_bytes())
    (tmp_path / f"{good.filename}.sha256").write_text(f"{good.sha256}  {good.filename}\n")
    assert cli("python-distribution-info", str(copy)).returncode == 0


# -- staging, limits, stale directories --------------------------------------------------------


def test_extract_failing_midway_leaves_no_partial_destination(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    archive = build_full_archive(
        tmp_path / "a", workdir=pbs_archives.workdir, extra_members=[("python/install/evil", None, "../../../..")]
    )
    dest = tmp_path / "out" / "dest"
    line = one_error_line(cli("python-distribution-extract", str(dest), "--archive-path", str(archive.path)))
    assert "'python/install/evil' is a symlink" in line
    assert list((tmp_path / "out").iterdir()) == []  # thousands of members were written, then all removed


def test_extract_refuses_non_empty_destination(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    line = one_error_line(
        cli("python-distribution-extract", str(dest), "--archive-path", str(pbs_archives.install_only.path))
    )
    assert "already exists and is not an empty directory" in line
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


def test_zstd_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.zst"
    write_raw_tar(archive, _tiny_full([tar_entry("python/install/zeros", data=bytes(64 << 20))]))
    assert archive.stat().st_size < 64 << 10
    dest = tmp_path / "dest"
    line = one_error_line(
        cli(
            "python-distribution-extract",
            str(dest),
            "--archive-path",
            str(archive),
            env={"PYOXIDIZER_PY_MAX_EXTRACT_BYTES": "16M"},
        )
    )
    assert "expands to more than 16.0 MiB (the limit; set PYOXIDIZER_PY_MAX_EXTRACT_BYTES to raise it)" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.tar.zst"]


def test_declared_sizes_are_refused_before_writing(tmp_path: Path) -> None:
    # A tar header declaring 100 GiB (the default limit is 8 GiB): refused on the header alone.
    header = tar_entry("python/install/huge", data=b"")[0]
    header.size = 100 << 30
    raw = header.tobuf(tarfile.PAX_FORMAT) + bytes(1 << 16)
    archive = tmp_path / "huge.tar.zst"
    archive.write_bytes(
        zstandard.ZstdCompressor().compress(tar_entry("python", kind="dir")[0].tobuf(tarfile.PAX_FORMAT) + raw)
    )
    line = one_error_line(cli("python-distribution-extract", str(tmp_path / "d"), "--archive-path", str(archive)))
    assert "expands to more than 8.0 GiB" in line
    # A zstandard frame whose header declares ~4 GiB: refused on the frame header alone.
    frame = bytearray(zstandard.ZstdCompressor(write_content_size=True).compress(bytes(1 << 20)))
    descriptor = frame[4]
    assert descriptor >> 6 == 2  # a 4-byte Frame_Content_Size field (RFC 8878 §3.1.1.1.1)
    start = 5 + (0 if descriptor & 0x20 else 1) + [0, 1, 2, 4][descriptor & 3]
    frame[start : start + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    spoofed = tmp_path / "spoof.tar.zst"
    spoofed.write_bytes(bytes(frame))
    assert zstandard.get_frame_parameters(bytes(frame)).content_size == 0xFFFFFFF0
    line = one_error_line(
        cli(
            "python-distribution-extract",
            str(tmp_path / "d"),
            "--archive-path",
            str(spoofed),
            env={"PYOXIDIZER_PY_MAX_EXTRACT_BYTES": "1G"},
        )
    )
    assert "expands to more than 1.0 GiB" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.tar.zst", "spoof.tar.zst"]


_HOLD_LOCK = """
import fcntl, os, sys, time
path = sys.argv[1]
os.mkdir(path)
fd = os.open(path, os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
os.utime(path, (time.time() - 3600, time.time() - 3600))
print("locked", flush=True)
time.sleep(600)
"""


def test_stale_staging_dirs_of_killed_runs_are_removed(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    extracted = cache / "python_distributions" / "extracted"
    extracted.mkdir(parents=True)
    sha = pbs_archives.install_only.sha256
    # A run that was killed (its lock died with it), one still extracting, and a fresh one.
    dead = extracted / f".staging-{'a' * 64}-dead"
    dead.mkdir()
    (dead / "python").mkdir()
    os.utime(dead, (time.time() - 3600, time.time() - 3600))
    alive = extracted / f".staging-{'b' * 64}-alive"
    killed = extracted / f".staging-{sha}-killed"
    with (
        subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(alive)], stdout=subprocess.PIPE, text=True) as holder,
        subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(killed)], stdout=subprocess.PIPE, text=True) as victim,
    ):
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            assert victim.stdout is not None and victim.stdout.readline().strip() == "locked"
            victim.send_signal(signal.SIGKILL)  # a run killed mid-extraction: its staging dir stays behind
            victim.wait()
            assert killed.is_dir()
            from pyoxidizer_py.distribution.pbs import load_archive

            load_archive(pbs_archives.install_only.path, cache_dir=cache)
            assert sorted(p.name for p in extracted.iterdir()) == sorted([sha, alive.name])
        finally:
            holder.kill()


def test_tree_extracted_by_an_older_version_is_extracted_again(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    from pyoxidizer_py.distribution.pbs import load_archive

    cache = tmp_path / "cache"
    archive = pbs_archives.install_only
    entry = cache / "python_distributions" / "extracted" / archive.sha256
    entry.mkdir(parents=True)
    (entry / "python").mkdir()
    os.symlink("/etc", entry / "python" / "escape")  # what a weaker checker may have let through
    (entry / ".complete").write_text(archive.sha256 + "\n")  # the old marker format
    dist = load_archive(archive.path, cache_dir=cache)
    assert not (entry / "python" / "escape").exists()
    assert dist.stdlib_dir.is_relative_to(entry)
    assert json.dumps(sorted(p.name for p in entry.iterdir())) == json.dumps([".complete", "python"])


def _install_only(tmp_path: Path, build_time_vars: dict[str, str]) -> Path:
    py = "python/lib/python3.11"
    archive = tmp_path / "cpython-3.11.7+20250101-x86_64-unknown-linux-gnu-install_only.tar.gz"
    magic = b"MAGIC_NUMBER = (3495).to_bytes(2, 'little') + b'\\r\\n'\n"
    write_raw_tar(
        archive,
        [
            tar_entry("python", kind="dir"),
            tar_entry("python/lib", kind="dir"),
            tar_entry(py, kind="dir"),
            tar_entry(f"{py}/os.py", data=b""),
            tar_entry(f"{py}/importlib", kind="dir"),
            tar_entry(f"{py}/importlib/_bootstrap_external.py", data=magic),
            tar_entry(
                f"{py}/_sysconfigdata__linux_x86_64-linux-gnu.py",
                data=f"build_time_vars = {build_time_vars!r}\n".encode(),
            ),
            tar_entry("python/include", kind="dir"),
            tar_entry("python/include/python3.11", kind="dir"),
            tar_entry("python/include/python3.11/patchlevel.h", data=b'#define PY_VERSION "3.11.7"\n'),
        ],
        compression="gz",
    )
    return archive


UP = "/.." * 20  # past the file system root, wherever the extraction is


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("INSTSONAME", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("VERSION", f"3.11{UP}/usr/include/python3.11"),
        ("ABIFLAGS", f"{UP}/usr/include/python3.11"),
    ],
)
def test_install_only_sysconfig_paths_outside_are_refused(key: str, value: str, tmp_path: Path) -> None:
    good = {"VERSION": "3.11", "ABIFLAGS": "", "MULTIARCH": "x86_64-linux-gnu", "EXT_SUFFIX": ".so"}
    ok = _install_only(tmp_path, good)
    assert cli("python-distribution-info", str(ok)).returncode == 0
    ok.unlink()
    bad = _install_only(tmp_path, {**good, key: value})
    line = one_error_line(cli("python-distribution-info", str(bad)))
    assert "resolves outside" in line and key in line


def test_local_archive_named_like_a_catalog_entry_is_checked_against_it(
    pbs_archives: PbsArchives, tmp_path: Path
) -> None:
    from pyoxidizer_py.distribution.pbs.catalog import load_catalog

    entry = next(
        e for e in load_catalog() if e.archive_kind == "full" and e.target_triple == "x86_64-unknown-linux-gnu"
    )
    impostor = tmp_path / entry.filename
    impostor.write_bytes(pbs_archives.full_v8.path.read_bytes())
    line = one_error_line(cli("python-distribution-info", str(impostor)))
    assert f"expected {entry.sha256} (from the catalog entry {entry.url})" in line
