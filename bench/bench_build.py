"""Issue 3 benchmarks: build time, rebuild time, startup time and installed size of built executables.

For each distribution (an installed CPython, forced to a link mode with ``--var LINK_MODE``):

- cold build of ``examples/hello``: a fresh copy (no build dir) and a fresh ``CARGO_TARGET_DIR``,
  so cargo compiles pyo3 and the runtime crate from scratch (the crate sources themselves come from
  cargo's local registry cache; nothing is downloaded when it is warm);
- rebuilds of ``examples/local-app`` (a package tree plus ``pip_install(["PyYAML==6.0.2"])``):
  after editing only ``src/greeter/cli.py`` (the edit is checked in the rebuilt program's output),
  and with no change at all; the crates cargo recompiled are counted from its ``--verbose`` output;
- startup of the hello executable against ``python -S -I -c pass`` and ``python -I -c pass`` of the
  same interpreter, in one hyperfine run;
- installed size: every file of the install dir, and the executable alone.

Builds run the tool as a user would: ``python -m pyoxidizer_py build ...`` in a subprocess.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import REPO, Stats, compare_commands, env_with_repo, timed_run, tree_size

TRIPLE_DIR = Path("build") / "x86_64-unknown-linux-gnu" / "debug" / "install"
EDITED_FILE = Path("src") / "greeter" / "cli.py"
MAIN_LINE = '    names = sys.argv[1:] or ["world"]\n'


@dataclass(frozen=True, kw_only=True, slots=True)
class Distribution:
    """One python to embed and the link mode to force."""

    label: str
    python: Path
    link_mode: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildResult:
    """Everything measured for one distribution."""

    dist: Distribution
    linked: str
    python_version: str
    cold: Stats
    cold_compiled: int
    local_first: float
    edit_rebuild: Stats
    edit_compiled: int
    noop_rebuild: Stats
    noop_compiled: int
    startup: dict[str, Stats]
    install_bytes: int
    install_files: int
    exe_bytes: int
    libpython_bytes: int


def _compiled_crates(output: str) -> int:
    return len(re.findall(r"^\s+Compiling ", output, flags=re.MULTILINE))


def _build(project: Path, dist: Distribution, cargo_target: Path) -> tuple[float, str]:
    """Time one ``build`` of ``project`` (verbose, so cargo's own lines are in the output)."""
    cmd = [
        sys.executable,
        "-m",
        "pyoxidizer_py",
        "--verbose",
        "build",
        "--path",
        str(project),
        "--python-distribution",
        str(dist.python),
        "--var",
        "LINK_MODE",
        dist.link_mode,
    ]
    # The work dir (generated project, artifacts, bytecode cache) goes with the scratch dir, so a
    # cold build starts from nothing.
    env = {"CARGO_TARGET_DIR": str(cargo_target), "PYOXIDIZER_PY_WORK_DIR": str(project.parent / "pyoxidizer-work")}
    return timed_run(cmd, env=env_with_repo(env), cwd=project)


def _edit(cli: Path, marker: str) -> None:
    """Make the program print ``marker`` first: a Python-only change."""
    text = cli.read_text(encoding="utf-8")
    text = re.sub(r'    print\("bench-edit.*"\)\n', "", text)
    cli.write_text(text.replace(MAIN_LINE, f'{MAIN_LINE}    print("{marker}")\n'), encoding="utf-8")


def _link_kind(exe: Path) -> str:
    """``dynamic`` when the executable has a ``DT_NEEDED`` entry for libpython, else ``static``."""
    dynamic = subprocess.run(["readelf", "-d", str(exe)], capture_output=True, text=True, check=True).stdout
    return "dynamic" if re.search(r"NEEDED.*libpython", dynamic) else "static"


def _python_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()


def bench_distribution(
    dist: Distribution, work: Path, *, cold_runs: int, rebuild_runs: int, startup_runs: int
) -> BuildResult:
    """Run every build benchmark for one distribution under the scratch dir ``work``."""
    cold: list[float] = []
    compiled = 0
    hello = work / "hello"
    for i in range(cold_runs):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copytree(REPO / "examples" / "hello", hello, ignore=shutil.ignore_patterns("build"))
        elapsed, output = _build(hello, dist, work / f"cargo-target-{i}")
        cold.append(elapsed)
        compiled = _compiled_crates(output)
    install = hello / TRIPLE_DIR
    exe = install / "hello"
    libpythons = list((install / "lib").glob("libpython*.so*"))
    linked = _link_kind(exe)

    app = work / "local-app"
    shutil.copytree(REPO / "examples" / "local-app", app, ignore=shutil.ignore_patterns("build"))
    target = work / f"cargo-target-{cold_runs - 1}"  # reuse the compiled crates of the last cold build
    local_first, _ = _build(app, dist, target)
    edits: list[float] = []
    edit_compiled = 0
    for i in range(rebuild_runs):
        marker = f"bench-edit-{i}"
        _edit(app / EDITED_FILE, marker)
        elapsed, output = _build(app, dist, target)
        edits.append(elapsed)
        edit_compiled = max(edit_compiled, _compiled_crates(output))
        ran = subprocess.run([str(app / TRIPLE_DIR / "greet"), "bench"], capture_output=True, text=True, check=True)
        if not ran.stdout.startswith(marker):
            raise RuntimeError(f"rebuilt program does not show the edit {marker!r}: {ran.stdout!r}")
    noops: list[float] = []
    noop_compiled = 0
    for _ in range(rebuild_runs):
        elapsed, output = _build(app, dist, target)
        noops.append(elapsed)
        noop_compiled = max(noop_compiled, _compiled_crates(output))

    py = str(dist.python)
    startup = compare_commands(
        {
            "hello executable": [str(exe)],
            "python -S -I -c pass": [py, "-S", "-I", "-c", "pass"],
            "python -I -c pass": [py, "-I", "-c", "pass"],
        },
        runs=startup_runs,
        warmup=5,
    )
    total, files = tree_size(install)
    return BuildResult(
        dist=dist,
        linked=linked,
        python_version=_python_version(dist.python),
        cold=Stats(samples=tuple(cold)),
        cold_compiled=compiled,
        local_first=local_first,
        edit_rebuild=Stats(samples=tuple(edits)),
        edit_compiled=edit_compiled,
        noop_rebuild=Stats(samples=tuple(noops)),
        noop_compiled=noop_compiled,
        startup=startup,
        install_bytes=total,
        install_files=files,
        exe_bytes=exe.stat().st_size,
        libpython_bytes=sum(p.stat().st_size for p in libpythons if not p.is_symlink()),
    )
