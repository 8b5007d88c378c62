"""Progress a user sees on stderr: stage lines, -q, -v, prefixes, the final line, 80 columns (issue 17)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from pyoxidizer_py import progress
from pyoxidizer_py.distribution.pbs.download import DownloadEvent
from tests.cli_helpers import run_cli as cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess[str]]:
    """One app (a pip install, a config print()) built once with -v; later builds reuse cargo's work."""
    root = tmp_path_factory.mktemp("progress")
    code = "import six; print(six.__version__)"
    made = cli("init-config-file", "app", "--python-code", code, "--pip-install", "six==1.16.0", cwd=root)
    assert made.returncode == 0, made.stderr
    bzl = root / "app" / "pyoxidizer.bzl"
    bzl.write_text(
        bzl.read_text().replace("def make_exe():\n", 'def make_exe():\n    print("hello from the config")\n')
    )
    env = {
        "PYOXIDIZER_PY_PIP_CACHE": "0",  # pip runs on every build
        "CARGO_TARGET_DIR": str(root / "target"),
        "CARGO_BUILD_JOBS": "1",
    }
    first = cli("build", "--path", "app", "--python-distribution", "host", "-v", cwd=root, env=env)
    assert first.returncode == 0, first.stderr
    return root, env, first


STAGES = ("distribution: ", "pip install: ", "resources: ", "cargo build: ", "building executable ")


@pytest.mark.cargo
def test_verbose_streams_pip_and_cargo_output(
    project: tuple[Path, dict[str, str], subprocess.CompletedProcess[str]],
) -> None:
    _root, _env, first = project
    lines = first.stderr.splitlines()
    assert "Successfully installed six-1.16.0" in lines
    assert any(line.strip().startswith("Compiling pyo3") for line in lines)
    assert any(line.strip().startswith("Finished `dev` profile") for line in lines)


@pytest.mark.cargo
def test_plain_stage_lines_and_final_line(
    project: tuple[Path, dict[str, str], subprocess.CompletedProcess[str]],
) -> None:
    root, env, _first = project
    result = cli("build", "--path", "app", "--python-distribution", "host", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # stderr is a pipe here: plain lines, no terminal codes, each a stage line, a note, the config's print or the end
    assert "\x1b" not in result.stderr
    for line in lines[:-1]:
        assert line.startswith((*STAGES, "note: ", "warning: ", "hello from the config")), line
    assert "hello from the config" in lines  # the config's print() keeps its text, no prefix
    assert not any(line.startswith("warning: warning:") for line in lines)
    v = sys.version_info
    assert any(
        re.fullmatch(rf"distribution: CPython {v.major}\.{v.minor}\.\d+ \(.*\) \(\d+\.\d s\)", ln) for ln in lines
    )
    assert any(re.fullmatch(r"pip install: six==1\.16\.0 \(\d+\.\d s\)", ln) for ln in lines), lines
    assert any(re.fullmatch(r"cargo build: up to date \(\d+\.\d s\)", ln) for ln in lines), lines
    final = re.fullmatch(r"built install: (.+) \((\d+\.\d) MiB\)", lines[-1])
    assert final, lines[-1]
    exe = Path(final.group(1))
    assert exe == root / "app" / "build" / "x86_64-unknown-linux-gnu" / "debug" / "install" / "app"
    assert progress.format_size(exe.stat().st_size) == f"{final.group(2)} MiB"
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout == "1.16.0\n"


@pytest.mark.cargo
def test_quiet_prints_nothing_on_success(
    project: tuple[Path, dict[str, str], subprocess.CompletedProcess[str]],
) -> None:
    root, env, _first = project
    result = cli("build", "--path", "app", "--python-distribution", "host", "-q", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    # the config's own print() is its output, kept; progress, notes and the final line are not
    assert result.stderr.splitlines() == ["hello from the config"]


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


@pytest.mark.cargo
def test_on_an_80_column_terminal_every_frame_fits(
    project: tuple[Path, dict[str, str], subprocess.CompletedProcess[str]],
) -> None:
    import fcntl
    import pty
    import struct
    import termios

    root, env, _first = project
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    full_env = {**os.environ, "PYTHONPATH": path, **env, "TERM": "xterm-256color"}
    full_env.pop("COLUMNS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", "app", "--python-distribution", "host"],
        cwd=root,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=600) == 0
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in raw  # drawn live, with terminal codes
    text = _ANSI.sub("", raw)
    frames = [seg for line in text.replace("\r\n", "\n").split("\n") for seg in line.split("\r")]
    live = [seg for seg in frames if seg[:1] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"]  # the live lines (a spinner frame first)
    assert any(" cargo build " in seg for seg in live), frames
    assert all(len(seg) <= 80 for seg in live), [seg for seg in live if len(seg) > 80]
    # finished lines are plain text; only the final line's path may be longer than the terminal
    assert all(len(seg) <= 80 for seg in frames if not seg.startswith("built ")), frames
    assert any(seg.startswith("cargo build: ") for seg in frames)
    assert any(seg.startswith("built install: ") for seg in frames)


def test_a_stage_line_fits_80_columns() -> None:
    url = "https://github.com/astral-sh/python-build-standalone/releases/download/20261021/"
    url += "cpython-3.14.9%2B20261021-x86_64-unknown-linux-gnu-pgo%2Blto-full.tar.zst"
    with progress.stage("distribution", "CPython 3.14.9 (20261021)") as download:
        # the callback a real download drives
        progress.download_progress()(DownloadEvent(kind="progress", url=url, received=12 << 20, total=61 << 20))
    lines = [
        download,
        progress.StageLine(name="cargo build", detail="compiling pyo3-build-config, 12 crates done"),
        progress.StageLine(name="pip install", detail="Collecting " + "a-very-long-requirement-name" * 4),
    ]
    for line in lines:
        line.started = time.monotonic() - 75
        console = Console(width=80, record=True, file=open(os.devnull, "w"), force_terminal=True)  # noqa: SIM115
        console.print(line)
        text = console.export_text()
        console.file.close()
        rendered = text.rstrip("\n").splitlines()
        assert len(rendered) == 1, text
        assert len(rendered[0]) <= 80, rendered[0]
        assert line.name in rendered[0] and "1 min 15 s" in rendered[0]
    assert "12.0/61.0 MiB" in text_of(lines[0])
    assert "downloading cpython-3.14" in text_of(lines[0])  # a long name is cut in its middle
    assert text_of(lines[0]).rstrip().endswith("1 min 15 s")
    assert "…" in text_of(lines[2]) and "name" in text_of(lines[2]).split("…")[1]


def text_of(line: progress.StageLine) -> str:
    console = Console(width=80, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(line)
    console.file.close()
    return console.export_text()


def test_warnings_get_a_prefix_once(capsys: pytest.CaptureFixture[str]) -> None:
    progress.configure(force_mode="plain")
    logger = logging.getLogger("pyoxidizer_py.test_progress")
    handler = progress.LogHandler()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("unknown license for %s", "foo")
        logger.warning("warning: already prefixed")
        logger.warning("note: a note")
        logger.warning("printed by the config", extra={"plain": True})
    finally:
        logger.removeHandler(handler)
        progress.configure(force_mode="quiet")
    assert capsys.readouterr().err.splitlines() == [
        "warning: unknown license for foo",
        "warning: already prefixed",
        "note: a note",
        "printed by the config",
    ]
