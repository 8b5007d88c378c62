"""Exit statuses a shell user meets: Ctrl-C, a reader that closes the pipe early, an empty query (issue 17)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def test_closed_pipe_exits_quietly_with_status_0() -> None:
    # The JSON of every release is ~700 KB: far more than a pipe buffer, so the writer meets the closed pipe.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyoxidizer_py", "python-distribution-list", "--all", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    with proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == b"["
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert stderr == ""


def test_closed_pipe_in_a_shell_pipeline() -> None:
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{sys.executable} -m pyoxidizer_py python-distribution-list --all | head -1"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


def test_ctrl_c_during_a_download_exits_130_without_traceback(tmp_path: Path) -> None:
    # A loopback server that accepts the connection and never answers: the download blocks in a read.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.settimeout(60)
        env = _env(
            PYOXIDIZER_PY_MIRROR=f"http://127.0.0.1:{server.getsockname()[1]}/pbs",
            PYOXIDIZER_PY_CACHE_DIR=str(tmp_path / "cache"),
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                # `python -m pyoxidizer_py` as started from a terminal, where SIGINT has its default
                # handler. A shell without job control starts background jobs (`bash .ci/run &`) with
                # SIGINT ignored; a child inherits that, and Python then leaves it ignored
                # (https://docs.python.org/3/library/signal.html#execution-of-python-signal-handlers).
                "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "runpy.run_module('pyoxidizer_py', run_name='__main__', alter_sys=True)",
                "python-distribution-extract",
                str(tmp_path / "d"),
                "--download-default",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        conn, _ = server.accept()  # the command is now waiting for the answer
        with conn:
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines() == ["error: interrupted"]


def test_empty_catalog_query_exits_1() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyoxidizer_py",
            "python-distribution-list",
            "--python-version",
            "3.14",
            "--target-triple",
            "nowhere-unknown-none",
        ],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: Python 3.14 is not in the python-build-standalone catalog for nowhere")
