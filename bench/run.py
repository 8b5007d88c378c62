"""Run every benchmark and write the results into ``docs/performance.md``.

    python bench/run.py            # full run (about 15 minutes on 2 cores; the first also builds a venv)
    python bench/run.py --quick    # fewer repetitions, for checking the bench itself

The Pants benchmark (``bench_pants.py``, also runnable alone) is part of the full run.

Only the section between the ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers of the
output file is replaced; text around it is kept. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bench_pants
from bench_build import BuildResult, Distribution, bench_distribution
from bench_config import bench_evaluation, bench_import
from bench_inmemory import bench_in_memory, render_in_memory
from report import render_section, write_section
from timing import REPO, machine_facts

DISTRIBUTIONS = (
    Distribution(label="pyenv 3.11", python=Path("/root/.pyenv/versions/3.11.7/bin/python3.11"), link_mode="static"),
    Distribution(label="pyenv 3.11", python=Path("/root/.pyenv/versions/3.11.7/bin/python3.11"), link_mode="dynamic"),
    Distribution(label="Debian 3.11", python=Path("/usr/bin/python3.11"), link_mode="static"),
    Distribution(label="Debian 3.11", python=Path("/usr/bin/python3.11"), link_mode="dynamic"),
)

IN_MEMORY_PYTHON = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
TOOLS_CACHE = Path.home() / ".cache" / "pyoxidizer-py-bench"
"""Where the bench keeps its own venv with PyInstaller and the apps' packages (reused across runs)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--skip-builds", action="store_true", help="only the configuration benchmarks")
    parser.add_argument(
        "--only-in-memory", action="store_true", help="only the in-memory / single-file benchmarks (issue 6)"
    )
    parser.add_argument(
        "--skip-pants", action="store_true", help="skip the Pants pyoxidizer_binary rebuild benchmark (issue 19)"
    )
    args = parser.parse_args(argv)
    q = args.quick
    started = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    params = {
        "eval_runs": 50 if q else 300,
        "import_runs": 5 if q else 20,
        "wall_runs": 10 if q else 40,
        "cold_runs": 1,
        "rebuild_runs": 1 if q else 3,
        "startup_runs": 10 if q else 50,
    }
    progress("configuration evaluation")
    evaluations = bench_evaluation(params["eval_runs"])
    progress("CLI import")
    imports = bench_import(params["import_runs"], params["wall_runs"])
    builds: list[BuildResult | tuple[Distribution, str]] = []
    extra: list[str] = []
    if not args.skip_builds:
        progress("single-file executables: size, start-up, PyInstaller")
        with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-bench-") as tmp:
            result = bench_in_memory(
                IN_MEMORY_PYTHON,
                Path(tmp),
                runs=params["startup_runs"],
                cache=TOOLS_CACHE,
                rebuild_runs=params["rebuild_runs"],
            )
        extra = render_in_memory(result, params["startup_runs"])
    if not args.skip_builds and not args.only_in_memory:
        with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-bench-") as tmp:
            for i, dist in enumerate(DISTRIBUTIONS):
                if not dist.python.exists():
                    builds.append((dist, f"{dist.python} not found"))
                    continue
                progress(f"builds: {dist.label} {dist.python} LINK_MODE={dist.link_mode}")
                try:
                    builds.append(
                        bench_distribution(
                            dist,
                            Path(tmp) / f"d{i}",
                            cold_runs=params["cold_runs"],
                            rebuild_runs=params["rebuild_runs"],
                            startup_runs=params["startup_runs"],
                        )
                    )
                except RuntimeError as exc:
                    builds.append((dist, str(exc).splitlines()[0]))
    elapsed = time.perf_counter() - started
    section = render_section(
        facts=machine_facts(),
        params=params,
        evaluations=evaluations,
        imports=imports,
        builds=builds,
        elapsed=elapsed,
        quick=q,
        extra=extra,
    )
    write_section(args.output, section)
    if not args.skip_builds and not args.only_in_memory and not args.skip_pants:
        progress("Pants pyoxidizer_binary: package, cache hit, rebuild after a one-line edit")
        runs = 2 if q else 3
        with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-bench-pants-") as tmp:
            pants = bench_pants.bench_pants(Path(tmp), runs=runs)
        bench_pants.write(args.output, bench_pants.render(pants, runs))
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
