"""Issue 6 and 13 benchmarks: single-file executables, their size and start-up, against python and PyInstaller.

All against one CPython (pyenv 3.11 by default), release builds with a static libpython and the
default packaging policy (bytecode only for the stdlib and packages) unless a row says otherwise.
PyInstaller (pinned) and the apps' packages are installed into a virtual environment of that CPython
made by the bench under ``~/.cache/pyoxidizer-py-bench/`` (never into the interpreter itself); it is
also "the same app in a venv" of the start-up rows. Every comparison interleaves its commands
(``timing.compare_commands``) and reports minimums beside means.

- hello (``print("hello")``): sizes with the full stdlib (``extension_module_filter = "minimal"``
  so the output is one file), with ``stdlib_filter = "imported"`` and with that and
  ``executable_compression = "zstd"``, against PyInstaller ``--onefile``; start-up of each, and
  with ``site`` off, against ``python -S -I -c pass``;
- importing every importable stdlib module (about 640; the list comes from the interpreter's
  ``sys.stdlib_module_names``, minus tests, GUIs and ``__main__`` modules) from memory against
  ``python -S -I`` importing them from the filesystem;
- a rich-table app (``rich`` prints a table) against the same script run by the venv's python and
  against its PyInstaller ``--onefile``;
- start-up of the numpy app built with ``policy.in_memory_shared_library_cache = True``, its
  cache filled by the warm-up runs;
- sizes of the rich app, a click app, a PyYAML app and a numpy app, built with
  ``stdlib_filter = "imported"`` (PyInstaller also packs only what its import analysis finds;
  install directory: the executable plus any files beside it) against PyInstaller ``--onefile``;
- rebuild of the rich app after a one-line edit of its own ``.py`` file (release profile).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from timing import Stats, compare_commands, env_with_repo, timed_run, tree_size

TRIPLE = "x86_64-unknown-linux-gnu"
PYINSTALLER = "pyinstaller==6.22.3"
APP_REQUIREMENTS = {"rich": "rich==15.0.0", "click": "click==8.5.1", "yaml": "PyYAML==6.0.2", "numpy": "numpy==2.4.6"}

HELLO_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.extension_module_filter = "minimal"
    if VARS.get("FILTER") == "1":
        policy.stdlib_filter = "imported"
    config = dist.make_python_interpreter_config()
    config.run_command = 'print("hello")'
    if VARS.get("SITE") == "0":
        config.site_import = False
    exe = dist.to_python_executable(name = "hello", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.licenses_filename = None
    if VARS.get("COMPRESS") == "1":
        exe.executable_compression = "zstd"
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""

STDLIB_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    config = dist.make_python_interpreter_config()
    config.site_import = False
    config.run_command = "import import_stdlib"
    exe = dist.to_python_executable(name = "stdlib", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.add_python_resources(exe.read_package_root(path = ".", packages = ["import_stdlib"]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""

APP_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.stdlib_filter = "imported"
    if VARS.get("CACHE") == "1":
        policy.in_memory_shared_library_cache = True
    config = dist.make_python_interpreter_config()
    config.run_module = "app"
    exe = dist.to_python_executable(name = "app", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.licenses_filename = None
    exe.add_python_resources(exe.read_package_root(path = ".", packages = ["app"]))
    exe.add_python_resources(exe.pip_install([REQUIREMENT]))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""

APPS = {
    "rich": "from rich.console import Console\nfrom rich.table import Table\n\n"
    'table = Table(title="bench")\nfor column in ("name", "value"):\n    table.add_column(column)\n'
    'table.add_row("answer", "42")  # edited by the rebuild benchmark\n'
    "Console(width=60, force_terminal=False).print(table)\n",
    "click": 'import click\n\n\n@click.command()\n@click.option("--name", default="world")\n'
    'def hello(name):\n    click.echo(f"hello {name}")\n\n\nhello()\n',
    "yaml": 'import yaml\n\nprint(yaml.safe_dump(yaml.safe_load("a: [1, 2]\\nb: {c: d}\\n")), end="")\n',
    "numpy": "import numpy as np\n\nprint(int(np.arange(10).sum()))\n",
}

# Runs under ``python -S -I``; prints the modules that import, in a stable order.
_LIST_MODULES = r"""
import importlib, pkgutil, sys
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "ensurepip",
        "lib2to3", "pydoc_data", "__hello__", "__phello__", "xxlimited", "xxlimited_35", "xxsubtype",
        "_tkinter", "msilib", "winreg", "winsound", "_winapi", "_msi", "nt", "_overlapped", "msvcrt"}
def skipped(name):
    parts = name.split(".")
    return (parts[0] in SKIP or parts[0].startswith(("_test", "_xx")) or parts[-1] == "__main__"
            or any(p in ("test", "tests", "idle_test") for p in parts))
names = []
for top in sorted(sys.stdlib_module_names):
    if skipped(top):
        continue
    names.append(top)
    try:
        spec = importlib.util.find_spec(top)
    except Exception:
        continue
    if spec and spec.submodule_search_locations:
        for info in pkgutil.walk_packages(spec.submodule_search_locations, top + ".", onerror=lambda n: None):
            if not skipped(info.name):
                names.append(info.name)
import io, contextlib, warnings
warnings.simplefilter("ignore")
ok = []
for name in names:
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            importlib.import_module(name)
    except BaseException:
        continue
    ok.append(name)
print("\n".join(ok))
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class AppSize:
    """Sizes of one app: ours (install dir) and PyInstaller's one file."""

    name: str
    requirement: str
    ours_bytes: int
    ours_files: int
    pyinstaller_bytes: int


@dataclass(frozen=True, kw_only=True, slots=True)
class InMemoryResult:
    """Everything measured by ``bench_in_memory``."""

    python: Path
    python_version: str
    pyinstaller: str
    hello: dict[str, Stats]
    stdlib: dict[str, Stats]
    app_startup: dict[str, dict[str, Stats]]
    """Per app: the executable, the same script in a venv, PyInstaller ``--onefile``."""
    module_count: int
    hello_sizes: dict[str, int]
    hello_files: tuple[str, ...]
    filtered_modules: str
    apps: tuple[AppSize, ...]
    release_rebuild: Stats


def _build(project: Path, python: Path, cargo_target: Path, *extra: str) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pyoxidizer_py",
        "build",
        "--release",
        "--path",
        str(project),
        "--python-distribution",
        str(python),
        *extra,
    ]
    _elapsed, output = timed_run(cmd, env=env_with_repo({"CARGO_TARGET_DIR": str(cargo_target)}), cwd=project)
    project.joinpath("build-output.txt").write_text(output)
    return project / "build" / TRIPLE / "release" / "exe"


def tools_venv(python: Path, cache: Path) -> Path:
    """A venv of ``python`` holding PyInstaller and the apps' packages (pinned); returns its python."""
    venv = cache / f"venv-{python.name}"
    venv_python = venv / "bin" / "python"
    wanted = [PYINSTALLER, *APP_REQUIREMENTS.values()]
    stamp = venv / "bench-requirements.txt"
    if not venv_python.exists() or not stamp.is_file() or stamp.read_text() != "\n".join(wanted):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted], check=True
        )
        stamp.write_text("\n".join(wanted))
    return venv_python


def _pyinstaller_onefile(venv_python: Path, script: Path, work: Path) -> Path:
    out = work / f"pyinstaller-{script.stem}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [
            str(venv_python),
            "-m",
            "PyInstaller",
            "--onefile",
            "--noconfirm",
            "--log-level",
            "ERROR",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            "--specpath",
            str(out),
            str(script),
        ],
        check=True,
        cwd=work,
        capture_output=True,
    )
    return out / "dist" / script.stem


def stdlib_modules(python: Path) -> list[str]:
    """Stdlib modules that ``python -S -I`` imports without error, in import order."""
    out = subprocess.run(
        [str(python), "-S", "-I", "-c", _LIST_MODULES], capture_output=True, text=True, check=True, timeout=600
    ).stdout
    return [ln for ln in out.splitlines() if ln]


def _check_output(exe: Path | list[str], expected: str) -> None:
    argv = [str(exe)] if isinstance(exe, Path) else exe
    ran = subprocess.run(argv, capture_output=True, text=True, check=True)
    if expected not in ran.stdout:
        raise RuntimeError(f"{argv} printed {ran.stdout!r}, expected {expected!r}")


def _app_project(work: Path, name: str) -> Path:
    project = work / f"app-{name}"
    (project / "app").mkdir(parents=True, exist_ok=True)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "__main__.py").write_text(APPS[name])
    (project / "pyoxidizer.bzl").write_text(APP_CONFIG.replace("REQUIREMENT", repr(APP_REQUIREMENTS[name])))
    (work / f"{name}_app.py").write_text(APPS[name])
    return project


def bench_in_memory(python: Path, work: Path, *, runs: int, cache: Path, rebuild_runs: int = 3) -> InMemoryResult:
    """Build the executables under ``work`` and measure everything in the module docstring."""
    work.mkdir(parents=True, exist_ok=True)
    target = work / "cargo-target"
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    venv_python = tools_venv(python, cache)
    pyinstaller = subprocess.run(
        [str(venv_python), "-m", "PyInstaller", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()

    hello = work / "hello"
    hello.mkdir(exist_ok=True)
    (hello / "pyoxidizer.bzl").write_text(HELLO_CONFIG)
    (work / "hello.py").write_text('print("hello")\n')
    singles: dict[str, Path] = {}
    files: tuple[str, ...] = ()
    filtered_modules = ""
    variants = (
        ("site0", ("--var", "SITE", "0")),
        ("default", ()),
        ("filtered", ("--var", "FILTER", "1")),
        ("compressed", ("--var", "FILTER", "1", "--var", "COMPRESS", "1")),
    )
    for label, extra in variants:
        out = _build(hello, python, target, *extra)
        files = tuple(sorted(p.name for p in out.iterdir())) if label == "default" else files
        dest = work / f"hello-{label}"
        shutil.copy2(out / "hello", dest)
        singles[label] = dest
        if label == "filtered":
            found = re.search(r"kept (\d+) of (\d+) stdlib modules", (hello / "build-output.txt").read_text())
            filtered_modules = f"{found.group(1)} of {found.group(2)}" if found else "?"
    pi_hello = _pyinstaller_onefile(venv_python, work / "hello.py", work)
    for exe in (*singles.values(), pi_hello):
        _check_output(exe, "hello")
    py = str(python)
    hello_stats = compare_commands(
        {
            "python -S -I -c pass": [py, "-S", "-I", "-c", "pass"],
            "single file, default config (site on)": [str(singles["default"])],
            "single file, site_import = False": [str(singles["site0"])],
            'single file, stdlib_filter = "imported"': [str(singles["filtered"])],
            'the same, executable_compression = "zstd"': [str(singles["compressed"])],
            "python -I -c pass": [py, "-I", "-c", "pass"],
            "PyInstaller --onefile": [str(pi_hello)],
        },
        runs=runs,
        warmup=5,
    )
    hello_sizes = {
        "full stdlib, bytecode only": singles["default"].stat().st_size,
        'stdlib_filter = "imported"': singles["filtered"].stat().st_size,
        'stdlib_filter = "imported", executable_compression = "zstd"': singles["compressed"].stat().st_size,
        f"PyInstaller --onefile ({pyinstaller})": pi_hello.stat().st_size,
    }

    modules = stdlib_modules(python)
    app = work / "stdlib"
    (app / "import_stdlib").mkdir(parents=True, exist_ok=True)
    script = "".join(f"import {name}\n" for name in modules)
    (app / "import_stdlib" / "__init__.py").write_text(script)
    (app / "import_stdlib.py").write_text(script)
    (app / "pyoxidizer.bzl").write_text(STDLIB_CONFIG)
    stdlib_exe = _build(app, python, target) / "stdlib"
    subprocess.run([str(stdlib_exe)], check=True, capture_output=True)
    stdlib_stats = compare_commands(
        {
            "executable, in-memory": [str(stdlib_exe)],
            "python -S -I (filesystem)": [py, "-S", "-I", str(app / "import_stdlib.py")],
        },
        runs=runs,
        warmup=3,
    )

    apps: list[AppSize] = []
    app_startup: dict[str, dict[str, Stats]] = {}
    for name in APPS:
        project = _app_project(work, name)
        install = _build(project, python, target)
        pi_exe = _pyinstaller_onefile(venv_python, work / f"{name}_app.py", work)
        expected = {"rich": "answer", "click": "hello world", "yaml": "a:", "numpy": "45"}[name]
        for exe in (install / "app", pi_exe):
            _check_output(exe, expected)
        total, count = tree_size(install)
        apps.append(
            AppSize(
                name=name,
                requirement=APP_REQUIREMENTS[name],
                ours_bytes=total,
                ours_files=count,
                pyinstaller_bytes=pi_exe.stat().st_size,
            )
        )
        commands = {
            "executable": [str(install / "app")],
            "venv python (same script)": [str(venv_python), str(work / f"{name}_app.py")],
            "PyInstaller --onefile": [str(pi_exe)],
        }
        xdg_cache = work / "xdg-cache"
        if name == "numpy":
            # The same app with policy.in_memory_shared_library_cache = True, measured once the
            # warm-up runs have filled its cache (a fresh one under the work dir).
            plain = work / "numpy-app"
            shutil.copy2(install / "app", plain)
            cached = _build(project, python, target, "--var", "CACHE", "1") / "app"
            commands["executable"] = [str(plain)]
            commands["cached"] = [str(cached)]
            shutil.rmtree(xdg_cache, ignore_errors=True)
        stats = compare_commands(
            commands,
            runs=runs if name == "rich" else max(runs // 2, 1),
            warmup=3,
            env={**os.environ, "XDG_CACHE_HOME": str(xdg_cache)},
        )
        cached_stats = stats.pop("cached", None)
        app_startup[name] = stats
        if cached_stats is not None:
            app_startup[f"{name}, in_memory_shared_library_cache = True"] = {**stats, "executable": cached_stats}
        if name == "rich":
            rebuilds = []
            main = project / "app" / "__main__.py"
            for i in range(rebuild_runs):
                main.write_text(
                    re.sub(r'table.add_row\("answer", "[^"]*"\)', f'table.add_row("answer", "{i}")', main.read_text())
                )
                start = time.perf_counter()
                _build(project, python, target)
                rebuilds.append(time.perf_counter() - start)
                _check_output(install / "app", f"answer │ {i}")
            release_rebuild = Stats(samples=tuple(rebuilds))
    return InMemoryResult(
        python=python,
        python_version=version,
        pyinstaller=pyinstaller,
        hello=hello_stats,
        stdlib=stdlib_stats,
        app_startup=app_startup,
        module_count=len(modules),
        hello_sizes=hello_sizes,
        hello_files=files,
        filtered_modules=filtered_modules,
        apps=tuple(apps),
        release_rebuild=release_rebuild,
    )


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f}"


def render_in_memory(result: InMemoryResult, runs: int) -> list[str]:
    """Markdown lines for ``docs/performance.md``."""

    def ms(s: Stats) -> str:
        return f"{s.mean * 1000:.1f} ± {s.stdev * 1000:.1f}"

    h = result.hello
    base = h["python -S -I -c pass"]
    out = [
        "### Single-file executables: start-up",
        "",
        f"CPython {result.python_version} ({result.python}), release builds (stripped), static libpython. "
        f"Interleaved runs, {runs} of each command; ratios against `python -S -I -c pass` of the same run "
        "compare minimums (means in brackets). The default hello is one file: "
        f"`{', '.join(result.hello_files)}`.",
        "",
        "| command | mean (ms) | min (ms) | vs `python -S -I -c pass` |",
        "|---|---:|---:|---:|",
    ]
    for name, stats in h.items():
        out.append(
            f"| {name} | {ms(stats)} | {stats.min * 1000:.1f} | **{stats.min / base.min:.2f}x** "
            f"({stats.mean / base.mean:.2f}x) |"
        )
    pi = h["PyInstaller --onefile"]
    ours = h["single file, default config (site on)"]
    out += [
        "",
        f"Target: a hello with `site` on within 1.05x of `python -S -I -c pass`. The single file starts "
        f"**{pi.min / ours.min:.1f}x faster** than PyInstaller `--onefile` ({result.pyinstaller}).",
        "",
    ]
    r = result.app_startup.get("rich")
    if r:
        exe, venv = r["executable"], r["venv python (same script)"]
        out += [
            "**A rich-table app** (`rich` renders a table; the executable runs it with `run_module`) against "
            "the same script run by a venv's python that has rich installed, and its PyInstaller `--onefile` "
            "(target: executable / venv <= 0.80):",
            "",
            "| command | mean (ms) | min (ms) | vs venv |",
            "|---|---:|---:|---:|",
        ]
        for name, stats in r.items():
            out.append(
                f"| {name} | {ms(stats)} | {stats.min * 1000:.1f} | **{stats.min / venv.min:.2f}x** "
                f"({stats.mean / venv.mean:.2f}x) |"
            )
        out += ["", f"The executable takes **{exe.min / venv.min:.2f}x** the venv's time (minimums).", ""]
    others = {name: stats for name, stats in result.app_startup.items() if name != "rich"}
    if others:
        out += [
            "**Start-up of the other applications** (single files with their extension modules in memory), "
            "minimums in ms, against the same script in the venv and PyInstaller `--onefile`:",
            "",
            "| app | executable | venv python | PyInstaller --onefile | executable / venv | PyInstaller / executable |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, stats in others.items():
            exe, venv, pi = stats["executable"], stats["venv python (same script)"], stats["PyInstaller --onefile"]
            out.append(
                f"| {name} | {exe.min * 1000:.1f} | {venv.min * 1000:.1f} | {pi.min * 1000:.1f} "
                f"| **{exe.min / venv.min:.2f}x** | **{pi.min / exe.min:.1f}x** |"
            )
        out.append("")
    s = result.stdlib
    mem, fs = s["executable, in-memory"], s["python -S -I (filesystem)"]
    out += [
        f"**Importing {result.module_count} stdlib modules** (every module `python -S -I` imports "
        "without error, minus tests, GUIs and `__main__` modules; `site` off in both; target: at least "
        "1.25x as fast):",
        "",
        "| command | mean (ms) | min (ms) |",
        "|---|---:|---:|",
        f"| executable, in-memory | {ms(mem)} | {mem.min * 1000:.1f} |",
        f"| `python -S -I import_stdlib.py` (filesystem) | {ms(fs)} | {fs.min * 1000:.1f} |",
        "",
        f"In memory is **{fs.min / mem.min:.2f}x** as fast as the filesystem (minimums; "
        f"{fs.mean / mem.mean:.2f}x comparing means).",
        "",
    ]
    out += [
        "### Single-file executables: size",
        "",
        '**hello** (targets: <= 10 MB with the full stdlib, <= 5 MB with `stdlib_filter = "imported"`; '
        f"the filter kept {result.filtered_modules} stdlib modules):",
        "",
        "| file | bytes | MiB |",
        "|---|---:|---:|",
    ]
    for name, size in result.hello_sizes.items():
        out.append(f"| {name} | {size:,} | {_mib(size)} |")
    out += [
        "",
        "**Applications** against PyInstaller `--onefile` of the same script (target: no larger), built "
        'with `stdlib_filter = "imported"` and `run_module`. Ours is everything the build installs (the '
        "executable, COPYING.txt and the SBOM; extension modules and their libraries load from memory):",
        "",
        "| app | requirement | ours (MiB) | files | PyInstaller --onefile (MiB) | ours / PyInstaller |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for a in result.apps:
        out.append(
            f"| {a.name} | `{a.requirement}` | {_mib(a.ours_bytes)} | {a.ours_files} "
            f"| {_mib(a.pyinstaller_bytes)} | **{a.ours_bytes / a.pyinstaller_bytes:.2f}x** |"
        )
    rb = result.release_rebuild
    out += [
        "",
        f"**Release rebuild** of the rich app after a one-line edit of its own `.py` file: median "
        f"**{rb.median:.2f} s**, min {rb.min:.2f} s ({len(rb.samples)} runs; target: <= 3 s; the debug "
        "rebuild is in the Builds table).",
        "",
    ]
    return out
