"""Config fuzzing (issue 15 item 7) and the inputs it is seeded with.

``tests/fuzz_config.py`` runs Hypothesis over mutated real-world-shaped configs in a child
process, so an engine crash (a signal) fails this test with the input that caused it instead
of killing pytest. ``PYOXIDIZER_PY_FUZZ_EXAMPLES`` sets the number of examples (default 1200,
about a minute here); ``PYOXIDIZER_PY_FUZZ_RANDOM=1`` makes them new on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REGRESSIONS = sorted((HERE / "data" / "config_regressions").glob("*.bzl"))
LIMIT_ENV = ("PYOXIDIZER_PY_EVAL_MAX_STEPS", "PYOXIDIZER_PY_EVAL_MAX_SECONDS", "PYOXIDIZER_PY_EVAL_MAX_MEMORY")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LIMIT_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_fuzz_config_evaluation(tmp_path: Path) -> None:
    examples = os.environ.get("PYOXIDIZER_PY_FUZZ_EXAMPLES", "1200")
    try:
        result = subprocess.run(
            [sys.executable, str(HERE / "fuzz_config.py"), str(tmp_path), examples],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        current = (tmp_path / "current.bzl").read_bytes()
        pytest.fail(f"the fuzz run hung; input being evaluated:\n{current[:4000]!r}")
    if result.returncode < 0:
        current = (tmp_path / "current.bzl").read_bytes()
        pytest.fail(
            f"the evaluation crashed with signal {-result.returncode}; save this input under "
            f"tests/data/config_regressions/:\n{current[:4000]!r}"
        )
    assert result.returncode == 0, result.stderr[-8000:]
    assert "outcomes:" in result.stdout


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_regression_inputs_end_cleanly(tmp_path: Path, path: Path) -> None:
    # Each of these once crashed, hung, panicked or wrote during evaluation.
    config = tmp_path / "pyoxidizer.bzl"
    config.write_bytes(path.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "list-targets", str(config)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == (result.returncode == 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyoxidizer.bzl"]
    assert not Path("/tmp/pyoxidizer-py-regression-write").exists()
