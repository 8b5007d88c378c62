"""PYTHON.json validation, safe extraction, install_only introspection and the catalog."""

# ruff: noqa: F811 - fixture functions imported from fixtures_pbs are redefined as test parameters

from __future__ import annotations

import copy
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import zstandard
from fixtures_pbs import PbsArchives, pbs_archives, write_tar_gz, write_tar_zst  # noqa: F401 - pytest fixtures

from pyoxidizer_py.distribution.pbs.catalog import (
    CATALOG_TRIPLES,
    SUPPORTED_MINORS,
    list_catalog,
    load_catalog,
    resolve_catalog_entry,
)
from pyoxidizer_py.distribution.pbs.distribution import load_archive
from pyoxidizer_py.distribution.pbs.extract import extract_archive
from pyoxidizer_py.distribution.pbs.introspect import introspect_install_tree
from pyoxidizer_py.distribution.pbs.python_json import PythonJson, PythonJsonError
from pyoxidizer_py.errors import DistributionError


def _doc(archive: Path) -> dict[str, Any]:
    with (
        archive.open("rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw) as r,
        tarfile.open(fileobj=r, mode="r|") as tf,
    ):
        first = next(iter(tf))
        assert first.name == "python/PYTHON.json"
        data = tf.extractfile(first).read()  # type: ignore[union-attr]
    return json.loads(data)


# -- PYTHON.json ------------------------------------------------------------------------------


def test_v7_and_v8_round_trip(pbs_archives: PbsArchives) -> None:
    for archive, version in ((pbs_archives.full_v8, "8"), (pbs_archives.full_v7, "7")):
        doc = _doc(archive.path)
        pj = PythonJson.from_dict(doc)
        assert pj.version == version
        assert pj.effective_build_options == "noopt"
        assert (pj.build_options is None) == (version == "7")
        assert pj.to_dict() == {k: v for k, v in doc.items() if v is not None}
        assert pj.build_info.extensions["_io"][0].required
        assert pj.build_info.extensions["sys"][0].init_fn == "NULL"
        assert not pj.build_info.is_llvm_bitcode


def test_unknown_version_is_rejected(pbs_archives: PbsArchives) -> None:
    doc = _doc(pbs_archives.full_v8.path)
    doc["version"] = "9"
    with pytest.raises(PythonJsonError, match=r"version: unsupported PYTHON.json version '9' \(supported: 7, 8\)"):
        PythonJson.from_dict(doc)


def test_missing_keys_and_bad_types_name_the_dotted_key(pbs_archives: PbsArchives) -> None:
    doc = _doc(pbs_archives.full_v8.path)
    bad = copy.deepcopy(doc)
    del bad["python_exe"]
    del bad["build_options"]
    bad["build_info"]["extensions"]["_ssl"][0]["objs"] = 3
    del bad["build_info"]["core"]["links"][0]["name"]
    bad["libpython_link_mode"] = "dynamic"
    with pytest.raises(PythonJsonError) as info:
        PythonJson.from_dict(bad, source="x.tar.zst: python/PYTHON.json")
    problems = info.value.problems
    assert "python_exe: required key is missing" in problems
    assert "build_options: required key is missing" in problems
    assert "build_info.extensions._ssl[0].objs: expected a list of strings, got int" in problems
    assert "build_info.core.links[0].name: required key is missing" in problems
    assert "libpython_link_mode: expected 'shared' or 'static', got 'dynamic'" in problems
    assert str(info.value).startswith("invalid PYTHON.json in x.tar.zst: python/PYTHON.json: ")
    assert isinstance(info.value, DistributionError)


def test_archive_with_invalid_python_json_fails_to_load(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    from fixtures_pbs import build_full_archive

    def drop(doc: dict[str, Any]) -> None:
        del doc["build_info"]["inittab_object"]

    bad = build_full_archive(tmp_path / "bad", mutate=drop, workdir=pbs_archives.workdir)
    with pytest.raises(PythonJsonError, match=r"build_info\.inittab_object: required key is missing"):
        load_archive(bad.path, cache_dir=tmp_path / "c")


def test_llvm_bitcode_format_is_parsed() -> None:
    from pyoxidizer_py.distribution.pbs.python_json import BuildInfo, _Problems

    problems = _Problems()
    bi = BuildInfo.from_dict(
        {
            "core": {"objs": [], "links": []},
            "extensions": {},
            "inittab_object": "o",
            "inittab_source": "c",
            "inittab_cflags": [],
            "object_file_format": "llvm-bitcode:%22.1.3",
        },
        "build_info",
        problems,
    )
    assert problems.items == []
    assert bi.is_llvm_bitcode
    assert bi.llvm_version == "22.1.3"


# -- extraction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "needle"),
    [
        ([("python", None, None), ("python/../evil.txt", b"x", None)], "escapes the destination"),
        ([("/tmp/evil.txt", b"x", None)], "absolute path"),
        ([("python", None, None), ("python/link", None, "../../outside")], "symlink"),
        ([("python", None, None), ("python/abs", None, "/etc/passwd")], "symlink"),
        ([("python", None, None), ("python/d", None, "."), ("python/d/../../x", b"x", None)], "escapes"),
    ],
)
def test_members_escaping_destination_are_refused(tmp_path: Path, members: list[Any], needle: str) -> None:
    for writer, suffix in ((write_tar_zst, "tar.zst"), (write_tar_gz, "tar.gz")):
        archive = tmp_path / f"evil.{suffix}"
        writer(archive, members)
        dest = tmp_path / "out" / suffix
        with pytest.raises(DistributionError, match=needle):
            extract_archive(archive, dest)
        assert not dest.exists()
        assert list(dest.parent.iterdir()) == []  # the staging directory is gone too
    assert not (tmp_path / "evil.txt").exists()


def test_hardlink_outside_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("python/hl")
        info.type = tarfile.LNKTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
    archive.write_bytes(buf.getvalue())
    with pytest.raises(DistributionError, match="hard link"):
        extract_archive(archive, tmp_path / "out")


def test_layout_is_validated(tmp_path: Path) -> None:
    archive = tmp_path / "x.tar.zst"
    write_tar_zst(archive, [("other", None, None), ("other/f", b"x", None)])
    with pytest.raises(DistributionError, match="unexpected entry at the archive root: 'other'"):
        extract_archive(archive, tmp_path / "out")
    write_tar_zst(
        archive,
        [
            ("python", None, None),
            ("python/PYTHON.json", b"{}", None),
            ("python/install", None, None),
            ("python/weird", b"", None),
        ],
    )
    with pytest.raises(DistributionError, match="unexpected entry in python/ directory: weird"):
        extract_archive(archive, tmp_path / "out2")


def test_not_an_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "x.tar.zst"
    bogus.write_bytes(b"hello world")
    with pytest.raises(DistributionError, match="not a python-build-standalone archive"):
        load_archive(bogus, cache_dir=tmp_path / "c")


# -- install_only introspection ---------------------------------------------------------------


def test_install_only_is_introspected_without_running(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    dist = load_archive(
        pbs_archives.install_only.path, sha256=pbs_archives.install_only.sha256, cache_dir=tmp_path / "c"
    )
    assert dist.version == "3.11.7"
    assert dist.major_minor == "3.11"
    assert dist.target_triple == "x86_64-unknown-linux-gnu"
    assert dist.bytecode_magic == (3495).to_bytes(2, "little") + b"\r\n"
    assert dist.extension_suffixes[0] == ".cpython-311-x86_64-linux-gnu.so"
    assert {"_io", "sys", "posix", "_codecs"} <= set(dist.builtin_extensions)
    assert dist.shared_library is not None
    assert dist.shared_library.is_file()
    assert dist.pbs.python_json is None  # type: ignore[union-attr]


def test_foreign_triple_tree_is_inspected(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    """Rewrite the sysconfig data to say aarch64: the tree is described, nothing runs."""
    dest = tmp_path / "tree"
    extract_archive(pbs_archives.install_only.path, dest)
    stdlib = dest / "python" / "lib" / "python3.11"
    sysconfig_file = next(stdlib.glob("_sysconfigdata_*.py"))
    text = sysconfig_file.read_text().replace("x86_64-pc-linux-gnu", "aarch64-unknown-linux-gnu")
    sysconfig_file.write_text(text)
    (dest / "python" / "bin" / "python3.11").write_bytes(b"\x7fELF not runnable")
    info = introspect_install_tree(dest / "python")
    assert info.target_triple == "aarch64-unknown-linux-gnu"
    from pyoxidizer_py.distribution.pbs.distribution import distribution_from_tree

    dist = distribution_from_tree(dest)
    assert dist.target_triple == "aarch64-unknown-linux-gnu"
    assert dist.python_exe is None  # cannot run here


# -- catalog ----------------------------------------------------------------------------------


def test_catalog_covers_minors_and_triples() -> None:
    entries = load_catalog()
    assert {e.major_minor for e in entries} == set(SUPPORTED_MINORS)
    for minor in SUPPORTED_MINORS:
        for triple in CATALOG_TRIPLES:
            if (minor, triple) == ("3.10", "aarch64-pc-windows-msvc"):
                continue  # PBS builds Windows arm64 from 3.11 on
            kinds = {e.archive_kind for e in list_catalog(python_version=minor, target_triple=triple)}
            assert "full" in kinds, (minor, triple)
            assert kinds & {"install_only", "install_only_stripped"}, (minor, triple)
    assert all(len(e.sha256) == 64 for e in entries)


def test_minor_version_picks_newest_patch() -> None:
    entry = resolve_catalog_entry(python_version="3.12", target_triple="x86_64-unknown-linux-gnu")
    patches = [e.version_key for e in list_catalog(python_version="3.12", target_triple="x86_64-unknown-linux-gnu")]
    assert entry.version_key == max(patches)
    assert entry.archive_kind == "full"
    assert entry.url.endswith(".tar.zst")
    small = resolve_catalog_entry(
        python_version="3.12", target_triple="x86_64-unknown-linux-gnu", archive_kind="install_only"
    )
    assert small.archive_kind == "install_only_stripped"
    exact = list_catalog(python_version="3.12", target_triple="aarch64-apple-darwin")[-1]
    assert (
        resolve_catalog_entry(
            python_version=exact.python_version,
            target_triple="aarch64-apple-darwin",
        ).python_version
        == exact.python_version
    )


def test_flavors_keep_pyoxidizer_meaning() -> None:
    dyn = resolve_catalog_entry(
        python_version="3.11", target_triple="x86_64-pc-windows-msvc", flavor="standalone-dynamic"
    )
    assert dyn.supports_prebuilt_extension_modules
    with pytest.raises(DistributionError, match="no standalone_static distribution"):
        resolve_catalog_entry(
            python_version="3.11", target_triple="x86_64-unknown-linux-gnu", flavor="standalone_static"
        )
    with pytest.raises(DistributionError, match="did you mean 'standalone_dynamic'"):
        resolve_catalog_entry(flavor="standalone_dynamc")
    with pytest.raises(DistributionError, match=r"3\.9 is not in the python-build-standalone catalog"):
        resolve_catalog_entry(python_version="3.9")


def test_mirror_url(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = resolve_catalog_entry(python_version="3.13", target_triple="aarch64-apple-darwin")
    monkeypatch.delenv("PYOXIDIZER_PY_MIRROR", raising=False)
    assert entry.effective_url() == entry.url
    monkeypatch.setenv("PYOXIDIZER_PY_MIRROR", "file:///srv/pbs/")
    assert entry.effective_url() == f"file:///srv/pbs/{entry.release}/{entry.filename.replace('+', '%2B')}"
    monkeypatch.setenv("PYOXIDIZER_PY_MIRROR", "ftp://x")
    with pytest.raises(DistributionError, match="PYOXIDIZER_PY_MIRROR"):
        entry.effective_url()
