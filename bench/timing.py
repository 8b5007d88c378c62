"""Timing helpers shared by the benchmarks: statistics, timed subprocesses, hyperfine, machine facts.

Startup comparisons interleave their commands (one round runs each command once) in a
``time.perf_counter`` loop, so ratios are not skewed by a machine that got busier in between.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
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
    """The current environment with the checkout first on ``PYTHONPATH`` (so the bench measures it).

    ``PYTHONDONTWRITEBYTECODE`` is removed: users' interpreters cache bytecode, and a CLI start
    that recompiles its modules every time would measure the compiler.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    commands: Mapping[str, Sequence[str]],
    *,
    runs: int,
    warmup: int = 3,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> dict[str, Stats]:
    """Time each command ``runs`` times (after ``warmup`` rounds), interleaved.

    One round runs every command once, in order, so a machine that gets busier or quieter
    during the measurement affects every command alike; compare minimums (the least disturbed
    run) on a shared machine. Output of the commands is discarded; a failing command raises.
    ``env``/``cwd`` are the commands' environment and working directory.
    """
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(warmup + runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(
                list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
            )
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
    git = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {mem} RAM",
        "os": f"{platform.system()} {platform.release()}",
        "python (runs the tool)": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "cargo": tool_version(["cargo", "--version"]),
        "rustc": tool_version(["rustc", "--version"]),
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
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
