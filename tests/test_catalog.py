"""The vendored python-build-standalone catalog: versions 3.10-3.15 and 3.14t/3.15t, the default rule,
link modes per archive, unknown versions, and the refresh command that regenerates the snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.distribution.pbs import catalog_refresh
from pyoxidizer_py.distribution.pbs.catalog import (
    CATALOG_TRIPLES,
    SNAPSHOT_NAME,
    default_python_version,
    known_versions,
    list_catalog,
    load_snapshot,
    parse_version_request,
    resolve_catalog_entry,
)
from pyoxidizer_py.errors import DistributionError

LINUX = "x86_64-unknown-linux-gnu"
SNAPSHOT = Path(catalog_refresh.__file__).with_name(SNAPSHOT_NAME)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYOXIDIZER_PY_DISTRIBUTION": ""},
    )


def test_snapshot_has_every_supported_version_and_target() -> None:
    assert known_versions() == ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15", "3.14t", "3.15t")
    for version in known_versions():
        for triple in CATALOG_TRIPLES:
            if triple == "aarch64-pc-windows-msvc" and version in ("3.10",):
                continue  # PBS builds Windows arm64 from 3.11 on
            kinds = {e.archive_kind for e in list_catalog(python_version=version, target_triple=triple)}
            assert "full" in kinds and kinds & {"install_only", "install_only_stripped"}, (version, triple)
    snapshot = load_snapshot()
    assert snapshot.source.startswith("pbs-installer ") and snapshot.as_of == "2026-10-21"
    assert all(len(e.sha256) == 64 and e.url.startswith("https://github.com/astral-sh/") for e in snapshot.entries)


def test_free_threaded_is_a_distinct_choice() -> None:
    gil = resolve_catalog_entry(python_version="3.14", target_triple=LINUX)
    ft = resolve_catalog_entry(python_version="3.14t", target_triple=LINUX)
    assert not gil.freethreaded and "freethreaded" not in gil.filename
    assert ft.freethreaded and ft.build_options == "freethreaded+pgo+lto" and ft.version_label.endswith("t")
    assert ft.python_version == gil.python_version
    assert parse_version_request("3.15.1t").label == "3.15.1t"
    with pytest.raises(DistributionError, match=r"3\.13t is not in the python-build-standalone catalog"):
        resolve_catalog_entry(python_version="3.13t", target_triple=LINUX)  # PyO3 embeds free-threaded 3.14+


def test_default_version_rule() -> None:
    # 3.15.0 was released 2026-10-20, one day before the snapshot's newest release: not six months old.
    assert default_python_version() == "3.14"
    assert resolve_catalog_entry(target_triple=LINUX).major_minor == "3.14"
    assert resolve_catalog_entry(python_version="3.15", target_triple=LINUX).python_version == "3.15.1"


def test_archive_choice_per_link_mode() -> None:
    full = resolve_catalog_entry(python_version="3.15", target_triple=LINUX, link_mode="dynamic")
    assert full.is_llvm_bitcode and full.link_modes == ("dynamic",)
    with pytest.raises(
        DistributionError,
        match="no python-build-standalone archive of Python 3.15 for "
        "x86_64-unknown-linux-gnu that can be linked statically: its full archives are pgo.lto "
        r"builds \(LLVM bitcode objects\)",
    ):
        resolve_catalog_entry(python_version="3.15", target_triple=LINUX, link_mode="static")
    windows = resolve_catalog_entry(python_version="3.15", target_triple="x86_64-pc-windows-msvc")
    assert windows.build_options == "pgo" and windows.link_modes == ("dynamic",)


def test_list_315_and_unknown_versions_through_the_cli() -> None:
    listing = cli("python-distribution-list", "--python-version", "3.15")
    assert listing.returncode == 0, listing.stderr
    table, footer = listing.stdout.split("\n\n")
    header, *rows = table.splitlines()
    assert header.split() == ["version", "target", "kind", "build", "links", "flavor", "sha256"]
    assert {r.split()[1] for r in rows} == set(CATALOG_TRIPLES)
    assert all(r.startswith("3.15.1 ") for r in rows)
    linux_full = next(r.split() for r in rows if LINUX in r and " full " in r)
    assert linux_full[3:5] == ["pgo+lto", "dynamic"]
    assert footer.startswith("default version: 3.14 ")

    ft = cli("python-distribution-list", "--python-version", "3.15t", "--json")
    assert ft.returncode == 0 and all(e["freethreaded"] for e in json.loads(ft.stdout))

    for unknown in ("3.9", "3.16", "three"):
        line = one_error_line(cli("python-distribution-list", "--python-version", unknown))
        assert "is not in the python-build-standalone catalog" in line
        assert "known versions: 3.10, 3.11, 3.12, 3.13, 3.14, 3.15, 3.14t, 3.15t" in line
    line = one_error_line(cli("python-distribution-list", "--python-version", "3.15.9"))
    assert line.endswith("known 3.15 releases: 3.15.0, 3.15.1")


def _versions_json(tmp_path: Path) -> Path:
    def files(version: str, tag: str, ft: bool) -> list[dict[str, object]]:
        build = "freethreaded+pgo+lto" if ft else "pgo+lto"
        names = [
            f"cpython-{version}+{tag}-x86_64-unknown-linux-gnu-{build}-full.tar.zst",
            f"cpython-{version}+{tag}-x86_64-unknown-linux-gnu-"
            f"{'freethreaded-' if ft else ''}install_only_stripped.tar.gz",
            f"cpython-{version}+{tag}-riscv64-unknown-linux-gnu-lto-full.tar.zst",
        ]  # not a catalog target
        return [
            {"filename": n, "sha256": ("A" * 63) + str(i), "url": "https://example.invalid/" + n}
            for i, n in enumerate(names)
        ]

    data = [
        {
            "python_version": {"implementation": "cpython", "major": 3, "minor": 15, "micro": 1, "freethreaded": False},
            "files": files("3.15.1", "20261021", False),
        },
        {
            "python_version": {"implementation": "cpython", "major": 3, "minor": 15, "micro": 1, "freethreaded": True},
            "files": files("3.15.1", "20261021", True),
        },
        {
            "python_version": {"implementation": "cpython", "major": 3, "minor": 13, "micro": 9, "freethreaded": True},
            "files": files("3.13.9", "20251010", True),
        },  # free-threaded 3.13: not embeddable with PyO3
        {
            "python_version": {"implementation": "cpython", "major": 3, "minor": 9, "micro": 25, "freethreaded": False},
            "files": files("3.9.25", "20251010", False),
        },  # too old
        {
            "python_version": {"implementation": "pypy", "major": 3, "minor": 11, "micro": 1, "freethreaded": False},
            "files": [{"filename": "pypy3.11-v7.3.20-linux64.tar.bz2", "sha256": "0" * 64}],
        },
    ]
    path = tmp_path / "versions.json"
    path.write_text(json.dumps(data))
    return path


def test_refresh_command_writes_a_filtered_dated_snapshot(tmp_path: Path) -> None:
    out = tmp_path / SNAPSHOT_NAME
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyoxidizer_py.distribution.pbs.catalog_refresh",
            "--source",
            str(_versions_json(tmp_path)),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}: 4 archives" in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == 1 and doc["as_of"] == "2026-10-21" and doc["source"].startswith("versions.json")
    names = [name for name, _sha in doc["archives"]]
    assert names == sorted(names) and len(names) == 4
    assert all(name.startswith("cpython-3.15.1+20261021-x86_64-unknown-linux-gnu-") for name in names)
    assert all(sha == sha.lower() for _name, sha in doc["archives"])


def test_vendored_snapshot_matches_its_recorded_source() -> None:
    """Refreshing from the pbs-installer version the snapshot names reproduces it exactly."""
    snapshot = load_snapshot()
    try:
        installed = metadata.version("pbs-installer")
    except metadata.PackageNotFoundError:
        pytest.skip("pbs-installer (the refresh extra) is not installed")
    if not snapshot.source.startswith(f"pbs-installer {installed} "):
        pytest.skip(f"installed pbs-installer {installed} differs from the snapshot's source {snapshot.source}")
    payload, source = catalog_refresh._pbs_installer_source()
    doc = catalog_refresh.build_snapshot(payload, source=source, refreshed="x")
    assert doc["archives"] == json.loads(SNAPSHOT.read_text())["archives"]


def test_docs_version_table_matches_the_catalog() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "distributions.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `3.") and len(cells) == 4:
            rows[cells[0].strip("`")] = cells[2]
    assert tuple(rows) == ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15", "3.14t", "3.15t")
    for version, newest in rows.items():
        assert list_catalog(python_version=version, target_triple=LINUX)[0].version_label == newest
    assert f"it is **{default_python_version()}**" in text
