"""The distribution commands and the offline error, through the command line (issue 4)."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import one_error_line
from fixtures_pbs import PbsArchives, pbs_archives  # noqa: F401 - fixture

from tests.cli_helpers import run_cli as cli


def test_list_info_licenses_extract(tmp_path: Path, pbs_archives: PbsArchives) -> None:  # noqa: F811
    listing = cli("python-distribution-list", "--python-version", "3.12")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.split("\n\n")[0].splitlines()[1:]
    assert rows and all(r.startswith("3.12.") for r in rows)
    assert any("x86_64-unknown-linux-gnu" in r for r in rows) and any("x86_64-pc-windows-msvc" in r for r in rows)

    archive = str(pbs_archives.full_v8.path)
    env = {"PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache")}
    info = cli("python-distribution-info", archive, env=env)
    assert info.returncode == 0, info.stderr
    for section in ("High-Level Metadata", "Extension Modules", "Python Modules", "Python Resources"):
        assert section in info.stdout
    licenses = cli("python-distribution-licenses", archive, env=env)
    assert licenses.returncode == 0 and "Python Distribution Licenses:" in licenses.stdout

    dest = tmp_path / "extracted"
    extracted = cli("python-distribution-extract", str(dest), "--archive-path", archive, env=env)
    assert extracted.returncode == 0, extracted.stderr
    assert (dest / "python" / "PYTHON.json").is_file()
    assert cli("python-distribution-extract", str(dest)).returncode == 2  # neither option: usage error

    cleared = cli("cache-clear", env=env)
    assert cleared.returncode == 0 and not (tmp_path / "cache").exists()


def test_offline_empty_cache_build_fails_with_one_error_line(tmp_path: Path) -> None:
    project = tmp_path / "app"
    assert cli("init-config-file", str(project), "--python-code", "print(1)").returncode == 0
    env = {
        "PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PYOXIDIZER_PY_MIRROR": "http://127.0.0.1:9/pbs",  # nothing listens: behaves like no network
        "PYOXIDIZER_PY_DISTRIBUTION": "",
    }
    result = cli("build", "--path", str(project), env=env)
    line = one_error_line(result)
    assert "cannot download cpython-" in line and "connection refused" in line
    # what failed, the URL, the offline routes: three lines, the hint once (after the stage's progress line)
    lines = result.stderr.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("error:"))
    assert all(ln.startswith("distribution: ") for ln in lines[:start]), result.stderr
    lines = lines[start:]
    assert len(lines) == 3, result.stderr
    assert lines[1].startswith("  | http://127.0.0.1:9/pbs/")
    assert (
        lines[2].startswith("hint: ")
        and "--python-distribution host" in lines[2]
        and "PYOXIDIZER_PY_MIRROR" in lines[2]
    )
    assert result.stderr.count("--python-distribution") == 1
    assert not any((tmp_path / "empty-cache").rglob("*.tar.*"))
