"""Timing helpers shared by the benchmarks: statistics, timed subprocesses, hyperfine, machine facts.

Startup comparisons go through hyperfine when it is on PATH (Debian package ``hyperfine``) and fall
back to a ``time.perf_counter`` loop otherwise; either way every command of one comparison is
measured in the same run, so ratios are not skewed by a machine that got busier in between.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True, slots=True)
class Stats:
    """Summary of repeated measurements, in seconds."""

    samples: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0


def env_with_repo(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment with the checkout first on ``PYTHONPATH`` (so the bench measures it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def timed_run(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, str]:
    """Run a command to completion; return (wall seconds, combined output). Raise on failure."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{output}")
    return elapsed, output


def compare_commands(
    commands: Mapping[str, Sequence[str]], *, runs: int, warmup: int = 3, env: Mapping[str, str] | None = None
) -> dict[str, Stats]:
    """Time each command ``runs`` times (after ``warmup`` runs), all in the same run.

    Uses hyperfine (``--shell=none``) when available, else a perf_counter loop that interleaves
    the commands so drift affects all of them alike. Output of the commands is discarded.
    ``env`` is the commands' environment (default: this process's).
    """
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        return _compare_hyperfine(hyperfine, commands, runs=runs, warmup=warmup, env=env)
    return _compare_loop(commands, runs=runs, warmup=warmup, env=env)


def _compare_hyperfine(
    hyperfine: str, commands: Mapping[str, Sequence[str]], *, runs: int, warmup: int, env: Mapping[str, str] | None
) -> dict[str, Stats]:
    import shlex

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        cmd = [hyperfine, "--shell=none", "--style=none", f"--runs={runs}", f"--warmup={warmup}",
               f"--export-json={export}"]
        for name, argv in commands.items():
            cmd += ["--command-name", name, shlex.join(argv)]
        subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
        data = json.loads(export.read_text())
    return {r["command"]: Stats(samples=tuple(r["times"])) for r in data["results"]}


def _compare_loop(
    commands: Mapping[str, Sequence[str]], *, runs: int, warmup: int, env: Mapping[str, str] | None
) -> dict[str, Stats]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(warmup + runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            if i >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: Stats(samples=tuple(s)) for name, s in samples.items()}


def tool_version(argv: Sequence[str]) -> str:
    """First line of a tool's version output, or ``unavailable``."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unavailable"
    return out.strip().splitlines()[0] if out.strip() else "unavailable"


def machine_facts() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {mem} RAM",
        "os": f"{platform.system()} {platform.release()}",
        "python (runs the tool)": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "cargo": tool_version(["cargo", "--version"]),
        "rustc": tool_version(["rustc", "--version"]),
        "hyperfine": (tool_version(["hyperfine", "--version"]) if shutil.which("hyperfine")
                      else "not installed (perf_counter loop)"),
        "commit": git.stdout.strip() or "unknown",
    }


def tree_size(path: Path) -> tuple[int, int]:
    """(total bytes of regular files, number of files) under ``path``; symlinks are not followed."""
    total = count = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = Path(root) / name
            if p.is_symlink():
                continue
            total += p.stat().st_size
            count += 1
    return total, count
