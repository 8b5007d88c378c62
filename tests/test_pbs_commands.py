"""The distribution commands' output: extract, info, licenses, list, cache-clear."""

# ruff: noqa: F811 - fixture functions imported from fixtures_pbs are redefined as test parameters

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_pbs import PbsArchives, pbs_archives  # noqa: F401 - pytest fixtures

from pyoxidizer_py.distribution.pbs import commands
from pyoxidizer_py.distribution.pbs.cache import open_cache
from pyoxidizer_py.errors import DistributionError


def test_extract_local_archive(pbs_archives: PbsArchives, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    out = commands.python_distribution_extract(dest, archive_path=pbs_archives.full_v8.path)
    assert out == f"extracting archive to {dest}"
    assert (dest / "python" / "PYTHON.json").is_file()


def test_extract_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(DistributionError, match="must specify --download-default or --archive-path"):
        commands.python_distribution_extract(tmp_path)
    with pytest.raises(DistributionError, match="must only specify one of"):
        commands.python_distribution_extract(tmp_path, download_default=True, archive_path=tmp_path / "x")


def test_info_sections_full(pbs_archives: PbsArchives) -> None:
    text = commands.python_distribution_info(pbs_archives.full_v8.path)
    lines = text.splitlines()
    for section in ("High-Level Metadata", "Extension Modules", "Python Modules", "Python Resources"):
        i = lines.index(section)
        assert lines[i + 1] == "=" * len(section)
    assert "Target triple: x86_64-unknown-linux-gnu" in lines
    assert "Tag:           cp311" in lines
    assert "Platform tag:  linux-x86_64" in lines
    assert f"Version:       {pbs_archives.full_v8.python_version}" in lines
    i = lines.index("_ssl")
    assert lines[i + 1] == "----"
    assert lines[i + 3 : i + 7] == [
        "Required: false",
        "Built-in Default: false",
        "Licensing: Valid SPDX: Apache-2.0",
        "Links: ssl, crypto",
    ]
    i = lines.index("_io")
    assert lines[i + 3 : i + 5] == ["Required: true", "Built-in Default: true"]
    modules = lines[lines.index("Python Modules") + 3 : lines.index("Python Resources")]
    assert {"os", "json", "json.decoder", "encodings.utf_8", "importlib.metadata"} <= set(modules)
    resources = lines[lines.index("Python Resources") + 3 :]
    assert any(r.startswith("[") and "]." in r for r in resources if r)


def test_info_install_only(pbs_archives: PbsArchives) -> None:
    text = commands.python_distribution_info(pbs_archives.install_only.path)
    assert "Version:       3.11.7" in text
    assert "\n_io\n---\n" in text
    assert "\nos\n" in text


def test_licenses(pbs_archives: PbsArchives) -> None:
    text = commands.python_distribution_licenses(pbs_archives.full_v7.path)
    lines = text.splitlines()
    assert lines[0] == "Python Distribution Licenses: Python-2.0 OR CNRI-Python"
    i = lines.index("_ssl")
    assert lines[i + 2 : i + 9] == [
        "",
        "Dependency: ssl",
        "Link Type: system",
        "",
        "Dependency: crypto",
        "Link Type: system",
        "",
    ]
    assert lines[i + 9] == "Licensing: Valid SPDX: Apache-2.0"
    j = lines.index("_sqlite3")
    assert "Licensing: UNKNOWN" in lines[j : j + 8]
    io_text = commands.python_distribution_licenses(pbs_archives.install_only.path)
    assert io_text.startswith("Python Distribution Licenses: Python-2.0")


def test_list() -> None:
    text = commands.python_distribution_list(python_version="3.12", target_triple="x86_64-unknown-linux-gnu")
    lines = text.splitlines()
    assert lines[0].split() == ["version", "target", "kind", "build", "links", "flavor", "sha256"]
    assert len(lines) == 5  # newest full + newest install_only_stripped, blank, the default-version line
    assert all(line.startswith("3.12.") for line in lines[1:3])
    assert lines[3] == "" and lines[4].startswith("default version: 3.14 ")


def test_cache_clear(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "cache")
    assert commands.cache_clear(cache.root) == f"removing {cache.root}"
    assert not cache.root.exists()
    assert "does not exist" in commands.cache_clear(cache.root)
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("x")
    with pytest.raises(DistributionError, match="refusing to remove"):
        commands.cache_clear(precious)
    assert (precious / "thesis.txt").exists()
