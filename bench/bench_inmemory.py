"""Issue 6 benchmarks: in-memory imports and single-file executables against python and PyInstaller.

All against one CPython (pyenv 3.11 by default; PyInstaller is installed into it with pip when
missing), every comparison measured in one hyperfine run:

(a) startup of a single-file hello executable (release, static libpython, every Python module in
    memory) against ``python -S -I -c pass``; the executable is built twice: with
    ``site_import = False`` (what ``-S`` measures) and with the default config (imports ``site``,
    compared with ``python -I -c pass``);
(b) importing every importable stdlib module (the list is computed from the interpreter: its
    ``sys.stdlib_module_names`` and their submodules, minus tests, GUIs, ``__main__`` modules and
    modules that fail to import) from memory against ``python -S -I`` importing them from the
    filesystem: the executable's ``run_command`` imports an in-memory module holding the
    ``import`` lines, python runs them as a script;
(c) the single-file hello against PyInstaller ``--onefile`` of the same script;
(d) the sizes of both single files (and ours stripped).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import Stats, compare_commands, env_with_repo, timed_run

TRIPLE = "x86_64-unknown-linux-gnu"

HELLO_CONFIG = """
def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    policy.extension_module_filter = "minimal"
    config = dist.make_python_interpreter_config()
    config.run_command = 'print("hello")'
    if VARS.get("SITE") == "0":
        config.site_import = False
    exe = dist.to_python_executable(name = "hello", packaging_policy = policy, config = config)
    exe.libpython_link_mode = "static"
    exe.licenses_filename = None
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
class InMemoryResult:
    """Everything measured by ``bench_in_memory``."""

    python: Path
    python_version: str
    pyinstaller: str
    hello: dict[str, Stats]
    stdlib: dict[str, Stats]
    module_count: int
    single_file_bytes: int
    single_file_stripped_bytes: int
    pyinstaller_bytes: int
    output_files: tuple[str, ...]


def _build(project: Path, python: Path, cargo_target: Path, *extra: str) -> Path:
    cmd = [sys.executable, "-m", "pyoxidizer_py", "build", "--release", "--path", str(project),
           "--python-distribution", str(python), *extra]
    timed_run(cmd, env=env_with_repo({"CARGO_TARGET_DIR": str(cargo_target)}), cwd=project)
    return project / "build" / TRIPLE / "release" / "exe"


def _ensure_pyinstaller(python: Path) -> str:
    probe = subprocess.run([str(python), "-m", "PyInstaller", "--version"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pyinstaller"], check=True)
        probe = subprocess.run([str(python), "-m", "PyInstaller", "--version"], capture_output=True, text=True,
                               check=True)
    return probe.stdout.strip()


def stdlib_modules(python: Path) -> list[str]:
    """Stdlib modules that ``python -S -I`` imports without error, in import order."""
    out = subprocess.run([str(python), "-S", "-I", "-c", _LIST_MODULES], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    return [ln for ln in out.splitlines() if ln]


def bench_in_memory(python: Path, work: Path, *, runs: int) -> InMemoryResult:
    """Build the executables under ``work`` and measure (a) to (d) against ``python``."""
    work.mkdir(parents=True, exist_ok=True)
    target = work / "cargo-target"
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()

    hello = work / "hello"
    hello.mkdir(exist_ok=True)
    (hello / "pyoxidizer.bzl").write_text(HELLO_CONFIG)
    (hello / "hello.py").write_text('print("hello")\n')
    singles = {}
    for site in ("0", "1"):
        out = _build(hello, python, target, "--var", "SITE", site)
        files = tuple(sorted(p.name for p in out.iterdir()))
        dest = work / f"hello-site{site}"
        shutil.copy2(out / "hello", dest)
        singles[site] = dest
    stripped = work / "hello-stripped"
    shutil.copy2(singles["1"], stripped)
    subprocess.run(["strip", str(stripped)], check=True)

    pyinstaller = _ensure_pyinstaller(python)
    pi = work / "pyinstaller"
    shutil.rmtree(pi, ignore_errors=True)
    subprocess.run([str(python), "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "ERROR",
                    "--distpath", str(pi / "dist"), "--workpath", str(pi / "build"), "--specpath", str(pi),
                    str(hello / "hello.py")], check=True, cwd=work)
    pi_exe = pi / "dist" / "hello"
    for exe in (singles["0"], singles["1"], pi_exe):
        ran = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
        if ran.stdout != "hello\n":
            raise RuntimeError(f"{exe} printed {ran.stdout!r}")

    py = str(python)
    hello_stats = compare_commands(
        {
            "single file, site_import = False": [str(singles["0"])],
            "python -S -I -c pass": [py, "-S", "-I", "-c", "pass"],
            "single file, default config": [str(singles["1"])],
            "python -I -c pass": [py, "-I", "-c", "pass"],
            "PyInstaller --onefile": [str(pi_exe)],
        },
        runs=runs,
        warmup=5,
    )

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
    return InMemoryResult(
        python=python, python_version=version, pyinstaller=pyinstaller, hello=hello_stats, stdlib=stdlib_stats,
        module_count=len(modules), single_file_bytes=singles["1"].stat().st_size,
        single_file_stripped_bytes=stripped.stat().st_size, pyinstaller_bytes=pi_exe.stat().st_size,
        output_files=files,
    )


def render_in_memory(result: InMemoryResult, runs: int) -> list[str]:
    """Markdown lines for ``docs/performance.md``."""

    def ms(s: Stats) -> str:
        return f"{s.mean * 1000:.1f} ± {s.stdev * 1000:.1f}"

    h = result.hello
    base = h["python -S -I -c pass"].mean
    out = ["### In-memory imports and single-file executables", "",
           f"CPython {result.python_version} ({result.python}), release builds, static libpython, every Python "
           f"module in memory. Mean of {runs} runs (hyperfine, same run for every row of a table).", "",
           "**(a), (c) start-up of a single-file hello** (the build output is one file: "
           f"`{', '.join(result.output_files)}`):", "",
           "| command | time (ms) | vs `python -S -I -c pass` |", "|---|---:|---:|"]
    for name, stats in h.items():
        out.append(f"| {name} | {ms(stats)} | {stats.mean / base:.2f}x |")
    pi = h["PyInstaller --onefile"].mean
    ours = h["single file, default config"].mean
    out += ["", f"The single file starts **{pi / ours:.1f}x faster** than PyInstaller `--onefile` "
            f"({result.pyinstaller}) with its default config, "
            f"{pi / h['single file, site_import = False'].mean:.1f}x without `site`.", ""]
    s = result.stdlib
    mem, fs = s["executable, in-memory"].mean, s["python -S -I (filesystem)"].mean
    out += [f"**(b) importing {result.module_count} stdlib modules** (every module `python -S -I` imports "
            "without error, minus tests, GUIs and `__main__` modules; `site` off in both):", "",
            "| command | mean (ms) | min (ms) |", "|---|---:|---:|",
            f"| executable, in-memory | {ms(s['executable, in-memory'])} "
            f"| {s['executable, in-memory'].min * 1000:.1f} |",
            f"| `python -S -I import_stdlib.py` (filesystem) | {ms(s['python -S -I (filesystem)'])} "
            f"| {s['python -S -I (filesystem)'].min * 1000:.1f} |", "",
            f"In memory is **{fs / mem:.2f}x** as fast as the filesystem (means; "
            f"{s['python -S -I (filesystem)'].min / s['executable, in-memory'].min:.2f}x comparing minimums).", "",
            "**(d) size of the single file**:", "",
            "| file | bytes | MiB |", "|---|---:|---:|"]
    for name, size in (("pyoxidizer-py single file", result.single_file_bytes),
                       ("pyoxidizer-py single file, stripped", result.single_file_stripped_bytes),
                       ("PyInstaller --onefile", result.pyinstaller_bytes)):
        out.append(f"| {name} | {size:,} | {size / 1048576:.1f} |")
    out.append("")
    return out
