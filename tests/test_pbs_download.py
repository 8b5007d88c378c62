"""Download, cache, mirror and concurrency of python-build-standalone archives over a loopback server."""

# ruff: noqa: F811 - fixture functions imported from fixtures_pbs are redefined as test parameters

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures_pbs import PbsArchives, PbsServer, pbs_archives, pbs_server, publish  # noqa: F401 - pytest fixtures

from pyoxidizer_py import progress
from pyoxidizer_py.distribution.pbs.cache import open_cache
from pyoxidizer_py.distribution.pbs.catalog import CatalogEntry
from pyoxidizer_py.distribution.pbs.distribution import ensure_catalog_distribution, ensure_distribution
from pyoxidizer_py.distribution.pbs.download import DownloadEvent, DownloadOptions
from pyoxidizer_py.errors import DistributionError

FAST = DownloadOptions(retries=2, backoff=0.0, connect_timeout=2.0, read_timeout=5.0)


def _cache_files(cache_dir: Path) -> list[str]:
    base = cache_dir / "python_distributions"
    return sorted(
        p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() and not p.name.endswith(".lock")
    )


def test_download_full_v8_verifies_and_extracts(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path
) -> None:
    url = publish(pbs_server, pbs_archives.full_v8)
    events: list[DownloadEvent] = []
    dist = ensure_distribution(
        sha256=pbs_archives.full_v8.sha256, url=url, cache_dir=tmp_path / "c", options=FAST, progress=events.append
    )
    assert dist.origin == "python-build-standalone"
    assert dist.version == pbs_archives.full_v8.python_version
    assert dist.shared_library is not None
    assert dist.shared_library.name == "libpython3.11.so.1.0"
    assert dist.python_exe is not None
    out = subprocess.run(
        [str(dist.python_exe), "-c", "import json, sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "(3, 11)"
    assert dist.pbs.python_json.version == "8"  # type: ignore[union-attr]
    assert all(p.is_file() for p in dist.pbs.core_objects())  # type: ignore[union-attr]
    assert events[0].kind == "start"
    assert events[-1].kind == "done"
    assert events[-1].received == pbs_archives.full_v8.size
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    archive = tmp_path / "c" / "python_distributions" / "archives" / pbs_archives.full_v8.sha256
    assert [p.name for p in archive.iterdir()] == [pbs_archives.full_v8.filename]


def test_cache_hit_needs_no_network(pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    first = ensure_distribution(
        sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST
    )
    pbs_server.stop()
    second = ensure_distribution(
        sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST
    )
    assert second.stdlib_dir == first.stdlib_dir
    assert second.pbs.archive_kind == "install_only"  # type: ignore[union-attr]


def test_mirror_replaces_release_base(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = pbs_archives.install_only
    publish(pbs_server, archive, release="20990101")
    entry = CatalogEntry(
        python_version="3.11.7",
        release="20990101",
        target_triple="x86_64-unknown-linux-gnu",
        archive_kind="install_only",
        build_options="",
        filename=archive.filename,
        url="https://github.invalid/releases/download/20990101/x",
        sha256=archive.sha256,
    )
    monkeypatch.setenv("PYOXIDIZER_PY_MIRROR", pbs_server.base_url + "/")
    dist = ensure_catalog_distribution(entry, cache_dir=tmp_path / "c", options=FAST)
    assert dist.version == "3.11.7"
    expected = "/20990101/cpython-3.11.7%2B20250101-x86_64-unknown-linux-gnu-install_only.tar.gz"
    assert [g[0] for g in pbs_server.gets()] == [expected]


def test_file_mirror(pbs_archives: PbsArchives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = pbs_archives.install_only
    mirror = tmp_path / "mirror"
    (mirror / "20990101").mkdir(parents=True)
    (mirror / "20990101" / archive.filename).write_bytes(archive.path.read_bytes())
    entry = CatalogEntry(
        python_version="3.11.7",
        release="20990101",
        target_triple="x86_64-unknown-linux-gnu",
        archive_kind="install_only",
        build_options="",
        filename=archive.filename,
        url="https://github.invalid/x",
        sha256=archive.sha256,
    )
    monkeypatch.setenv("PYOXIDIZER_PY_MIRROR", mirror.as_uri())
    dist = ensure_catalog_distribution(entry, cache_dir=tmp_path / "c", options=FAST)
    assert dist.version == "3.11.7"


def test_tampered_archive_never_enters_cache(pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    pbs_server.faults.append({"tamper": True})
    with pytest.raises(DistributionError) as info:
        ensure_distribution(sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST)
    message = str(info.value)
    assert "sha256 mismatch" in message
    assert url in message
    assert pbs_archives.install_only.sha256 in message
    actual = message.split("got ")[1].split(";", maxsplit=1)[0]
    assert len(actual) == 64
    assert actual != pbs_archives.install_only.sha256
    assert _cache_files(tmp_path / "c") == []


def test_truncated_body_fails_after_bounded_retries(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path
) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    # every attempt is cut short and the server ignores ranges: no attempt can finish
    pbs_server.faults.extend({"truncate": 1000, "ignore_range": True} for _ in range(5))
    with pytest.raises(DistributionError) as info:
        ensure_distribution(sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST)
    assert "gave up after 3 attempts" in str(info.value)
    assert url in str(info.value)
    assert len(pbs_server.gets()) == 3
    assert not any(p.startswith(("archives/", "extracted/")) for p in _cache_files(tmp_path / "c"))


def test_server_error_then_retry(pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    pbs_server.faults.extend([{"status": 503}, {"status": 500}])
    dist = ensure_distribution(sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST)
    assert dist.version == "3.11.7"
    assert [g[2] for g in pbs_server.gets()] == [503, 500, 200]


def test_404_is_not_retried(pbs_server: PbsServer, tmp_path: Path) -> None:
    with pytest.raises(DistributionError, match="HTTP 404"):
        ensure_distribution(
            sha256="0" * 64, url=pbs_server.url_for("nope.tar.gz"), cache_dir=tmp_path / "c", options=FAST
        )
    assert len(pbs_server.gets()) == 1


def test_interrupted_download_is_resumed_with_range(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path
) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    pbs_server.faults.append({"truncate": 300_000})
    dist = ensure_distribution(sha256=pbs_archives.install_only.sha256, url=url, cache_dir=tmp_path / "c", options=FAST)
    assert dist.version == "3.11.7"
    log = pbs_server.gets()
    assert [(g[1] is None, g[2]) for g in log] == [(True, 200), (False, 206)]
    resumed_at = int(log[1][1].removeprefix("bytes=").rstrip("-"))  # type: ignore[union-attr]
    assert 0 < resumed_at <= 300_000  # whole chunks received before the cut are kept


def test_partial_file_from_earlier_process_is_resumed(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path
) -> None:
    archive = pbs_archives.install_only
    url = publish(pbs_server, archive)
    cache = open_cache(tmp_path / "c")
    partial = cache.partial_path(archive.sha256)
    partial.write_bytes(archive.path.read_bytes()[:123_456])
    ensure_distribution(sha256=archive.sha256, url=url, cache_dir=tmp_path / "c", options=FAST)
    assert [g[1] for g in pbs_server.gets()] == ["bytes=123456-"]
    assert not partial.exists()


def test_offline_with_empty_cache_names_url_and_offline_options(
    pbs_archives: PbsArchives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PYOXIDIZER_PY_MIRROR", f"http://127.0.0.1:{port}")
    entry = CatalogEntry(
        python_version="3.11.7",
        release="20990101",
        target_triple="x86_64-unknown-linux-gnu",
        archive_kind="install_only",
        build_options="",
        filename=pbs_archives.install_only.filename,
        url="https://github.invalid/x",
        sha256=pbs_archives.install_only.sha256,
    )
    with pytest.raises(DistributionError) as info:
        ensure_catalog_distribution(entry, cache_dir=tmp_path / "c", options=FAST)
    what, where = str(info.value).splitlines()  # what failed; the URL
    assert what.startswith("cannot download cpython-3.11.7+20250101") and "connection refused" in what
    assert where.startswith(f"http://127.0.0.1:{port}/20990101/cpython-3.11.7%2B20250101")
    for needle in ("PYOXIDIZER_PY_MIRROR", "--python-distribution host"):
        assert needle in (info.value.hint or "")


_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from pyoxidizer_py.distribution.pbs.distribution import ensure_distribution
    dist = ensure_distribution(sha256=sys.argv[1], url=sys.argv[2], cache_dir=Path(sys.argv[3]))
    print(json.dumps({"stdlib": str(dist.stdlib_dir), "version": dist.version}))
    """
)


def test_two_processes_share_one_download(pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path) -> None:
    archive = pbs_archives.full_v7
    url = publish(pbs_server, archive)
    pbs_server.faults.append({"slow": 0.01})  # the first download takes a while: the other process waits
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-c", _CHILD, archive.sha256, url, str(tmp_path / "c")]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    outs = [json.loads(r[0]) for r in results]
    assert outs[0] == outs[1]
    assert len(pbs_server.gets(archive.filename.replace("+", "%2B"))) == 1
    assert len(list((tmp_path / "c" / "python_distributions" / "extracted").iterdir())) == 1


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("mode", ["plain", "live"])
def test_download_progress_lines(
    pbs_archives: PbsArchives, pbs_server: PbsServer, tmp_path: Path, mode: progress.Mode
) -> None:
    url = publish(pbs_server, pbs_archives.install_only)
    out = _Tty() if mode == "live" else io.StringIO()
    progress.configure(stream=out, force_mode=mode)
    try:
        with progress.stage("distribution", "CPython 3.11.7"):
            ensure_distribution(
                sha256=pbs_archives.install_only.sha256,
                url=url,
                cache_dir=tmp_path / "c",
                options=FAST,
                progress=progress.download_progress(),
            )
    finally:
        progress.configure(force_mode="quiet")
    text = out.getvalue()
    # the finished line: the last detail (resolve_request then names the CPython it found)
    assert "distribution: extracting cpython-3.11.7+20250101-" in text
    if mode == "plain":
        assert "\x1b" not in text
        lines = text.splitlines()
        assert lines[0] == "distribution: CPython 3.11.7..."
        assert any(
            re.fullmatch(r"distribution: downloading cpython-3\.11\.7 [\d.]+ \w+ of [\d.]+ \w+ \(.*\)", ln)
            for ln in lines
        )
