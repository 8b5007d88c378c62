"""Issue 2 benchmarks: in-process evaluation time of configs, and import/start time of the CLI.

- evaluation: the ``init-config-file`` template (``commands.render_config_template``) and the
  PyOxidizer 0.24 template fixture, each evaluated with ``requested_targets=[]`` (the file is
  evaluated and its targets registered, none resolved, so no distribution is needed). The first
  evaluation in a process is reported apart: it builds the dialect globals once.
- import: ``python -X importtime -c "import pyoxidizer_py.cli"`` (cumulative microseconds of the
  CLI module, median over runs), and the whole-process wall time of ``python -m pyoxidizer_py
  --version``, of the installed ``pyoxidizer-py`` console script's ``--version`` and of its
  ``list-targets`` in a directory made by ``init-config-file``, against ``python -c pass``, interleaved.
- clean venv (issue 13: ``list-targets`` on the init template <= 60 ms whole process): the checkout
  ``pip install``-ed into a fresh ``python -m venv`` (what a user gets), then hyperfine
  (``-N``, 5 warm-up runs) times ``pyoxidizer-py list-targets`` (pip's console script) and
  ``python -m pyoxidizer_py list-targets`` in a directory made by that venv's ``init-config-file``,
  with ``--version`` and the venv's ``python -c pass`` for reference; median and minimum.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from timing import REPO, Stats, compare_commands, env_with_repo

TEMPLATE_024 = REPO / "tests" / "data" / "configs" / "pyoxidizer_024_template.bzl"


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalResult:
    """Evaluation timings of one config."""

    name: str
    first: float
    stats: Stats


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportResult:
    """CLI import and start timings."""

    importtime_us: list[int]
    heaviest: list[tuple[str, int]]
    wall: dict[str, Stats]
    venv: dict[str, Stats]
    venv_note: str


def time_evaluation(config_path: Path, *, name: str, runs: int) -> EvalResult:
    """Evaluate ``config_path`` once (first call), then ``runs`` more times; times in seconds."""
    sys.path.insert(0, str(REPO))
    from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config

    options = EvaluationOptions(config_path=config_path, requested_targets=[])
    start = time.perf_counter()
    evaluate_config(options)
    first = time.perf_counter() - start
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        evaluate_config(options)
        samples.append(time.perf_counter() - start)
    return EvalResult(name=name, first=first, stats=Stats(samples=tuple(samples)))


def bench_evaluation(runs: int) -> list[EvalResult]:
    """Evaluation timings of the init-config-file template and the PyOxidizer 0.24 fixture."""
    sys.path.insert(0, str(REPO))
    from pyoxidizer_py.commands import render_config_template

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench" / "pyoxidizer.bzl"
        config.parent.mkdir()
        config.write_text(render_config_template("bench"), encoding="utf-8")
        results = [time_evaluation(config, name="init-config-file template", runs=runs)]
    results.append(time_evaluation(TEMPLATE_024, name="PyOxidizer 0.24 template fixture", runs=runs))
    return results


def _parse_importtime(stderr: str) -> list[tuple[str, int]]:
    """(module, cumulative us) of the imports made after ``site`` (i.e. by the ``-c`` code)."""
    rows: list[tuple[str, int]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line[len("import time:") :].split("|")
        if name.strip() == "site" and not name.startswith("  "):
            rows.clear()  # everything so far was interpreter start-up
            continue
        rows.append((name.rstrip(), int(cumulative)))
    return rows


def bench_import(runs: int, wall_runs: int) -> ImportResult:
    """``-X importtime`` of ``pyoxidizer_py.cli`` and wall time of ``--version`` vs ``-c pass``."""
    env = env_with_repo()
    totals: list[int] = []
    rows: list[tuple[str, int]] = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import pyoxidizer_py.cli"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows = _parse_importtime(proc.stderr)
        totals.append(next(us for name, us in rows if name.strip() == "pyoxidizer_py.cli"))
    # Direct children of pyoxidizer_py.cli and other top-level imports, by cumulative time.
    depth = {name: len(name) - len(name.lstrip()) for name, _ in rows}
    shallow = sorted(
        ((n.strip(), us) for n, us in rows if depth[n] <= 3 and n.strip() != "pyoxidizer_py.cli"), key=lambda r: -r[1]
    )
    # The console script pip installed beside this interpreter (not a pyenv shim, which adds a shell).
    script = Path(sys.executable).parent / "pyoxidizer-py"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        subprocess.run(
            [sys.executable, "-m", "pyoxidizer_py", "init-config-file", str(project)],
            env=env,
            capture_output=True,
            check=True,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -m pyoxidizer_py --version": [sys.executable, "-m", "pyoxidizer_py", "--version"],
        }
        if script.is_file():
            commands["pyoxidizer-py --version"] = [str(script), "--version"]
            commands["pyoxidizer-py list-targets"] = [str(script), "list-targets"]
        else:
            commands["python -m pyoxidizer_py list-targets"] = [sys.executable, "-m", "pyoxidizer_py", "list-targets"]
        wall = compare_commands(commands, runs=wall_runs, env=env, cwd=project)
    venv, venv_note = bench_clean_venv(wall_runs)
    return ImportResult(importtime_us=sorted(totals), heaviest=shallow[:6], wall=wall, venv=venv, venv_note=venv_note)


def _hyperfine(commands: dict[str, list[str]], *, runs: int, env: dict[str, str], cwd: Path) -> dict[str, Stats]:
    """Time each command with hyperfine (``-N``: no shell, 5 warm-up runs); seconds per run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hyperfine.json"
        subprocess.run(
            ["hyperfine", "-N", "-w", "5", "-r", str(runs), "--export-json", str(out), "--style", "none"]
            + ["--command-name=" + name for name in commands]
            + [" ".join(argv) for argv in commands.values()],
            env=env,
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = json.loads(out.read_text(encoding="utf-8"))["results"]
    return {name: Stats(samples=tuple(r["times"])) for name, r in zip(commands, results, strict=True)}


def bench_clean_venv(runs: int) -> tuple[dict[str, Stats], str]:
    """Start-up of the CLI as a user installs it: the checkout pip-installed into a fresh venv.

    Returns:
        (command name -> Stats in seconds, how it was measured); no rows and the reason when the
        venv cannot be made (offline pip) or hyperfine is missing.
    """
    if shutil.which("hyperfine") is None:
        return {}, "not measured: hyperfine is not installed"
    # The user's view: no checkout on PYTHONPATH, bytecode cached as pip writes it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-bench-venv-") as tmp:
        venv = Path(tmp) / "venv"
        python = venv / "bin" / "python"
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, check=True, capture_output=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            return {}, f"not measured: {' '.join(exc.cmd[:4])}... failed: {(exc.stderr or '').strip()[-200:]}"
        script = venv / "bin" / "pyoxidizer-py"
        project = Path(tmp) / "app"
        subprocess.run([str(script), "init-config-file", str(project)], env=env, check=True, capture_output=True)
        commands = {
            "pyoxidizer-py list-targets": [str(script), "list-targets"],
            "python -m pyoxidizer_py list-targets": [str(python), "-m", "pyoxidizer_py", "list-targets"],
            "pyoxidizer-py --version": [str(script), "--version"],
            "python -c pass": [str(python), "-c", "pass"],
        }
        stats = _hyperfine(commands, runs=runs, env=env, cwd=project)
    version = sys.version.split()[0]
    return stats, f"python -m venv (CPython {version}) + pip install of the checkout; hyperfine -N -w 5 -r {runs}"
