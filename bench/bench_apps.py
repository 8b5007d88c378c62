"""Issue 12 benchmarks: single-file applications with C extensions against PyInstaller and a venv.

Two applications, each built three ways from the same pinned requirements with one CPython
(pyenv 3.11 by default):

* our release single file (extension modules and wheel-bundled libraries loaded from memory);
* PyInstaller ``--onefile`` of the same script (PyInstaller and the requirements installed into a
  venv of the bench's own, never into the interpreter that runs the bench);
* the script run by that venv's ``python`` (the baseline a user would otherwise ship).

Measured: whole-process start-up until exit (each app imports its package and does one small
computation), and file sizes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import Stats, compare_commands, env_with_repo, timed_run

TRIPLE = "x86_64-unknown-linux-gnu"

APPS = {
    "numpy": (
        ["numpy==2.1.3"],
        "import numpy as np\nprint(float(np.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))[1, 1]))\n",
        "0.25\n",
    ),
    "pyyaml": (
        ["PyYAML==6.0.2"],
        "import yaml\nprint(yaml.load('a: [1, 2]', Loader=yaml.CLoader))\n",
        "{'a': [1, 2]}\n",
    ),
}

CONFIG = """
def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
    config.run_module = "app"
    exe = dist.to_python_executable(name = "app", config = config)
    exe.add_python_resources(exe.pip_install({requirements!r}))
    exe.add_python_resources(exe.read_package_root(CWD, ["app"]))
    exe.licenses_filename = None
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class AppResult:
    """One application: start-up per variant and sizes (bytes)."""

    name: str
    startup: dict[str, Stats]
    ours_bytes: int
    ours_files: tuple[str, ...]
    pyinstaller_bytes: int
    venv_bytes: int


@dataclass(frozen=True, kw_only=True, slots=True)
class AppsResult:
    """Everything ``bench_apps`` measured."""

    python: Path
    python_version: str
    pyinstaller: str
    apps: tuple[AppResult, ...]


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _check(argv: list[str], expected: str) -> None:
    ran = subprocess.run(argv, capture_output=True, text=True, check=False)
    if ran.returncode != 0 or ran.stdout != expected:
        raise RuntimeError(f"{argv[0]}: exit {ran.returncode}, printed {ran.stdout!r} {ran.stderr[-300:]!r}")


def bench_apps(python: Path, work: Path, *, runs: int) -> AppsResult:
    """Build each application three ways under ``work`` and measure them (see the module docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    venv = work / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    requirements = sorted({r for reqs, _, _ in APPS.values() for r in reqs})
    subprocess.run(
        [str(vpy), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pyinstaller", *requirements],
        check=True,
    )
    pyinstaller = subprocess.run(
        [str(vpy), "-m", "PyInstaller", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    venv_bytes = _tree_bytes(venv)
    cargo_target = work / "cargo-target"
    results = []
    for name, (reqs, script, expected) in APPS.items():
        project = work / name
        project.mkdir()
        (project / "app.py").write_text(script)
        (project / "pyoxidizer.bzl").write_text(CONFIG.format(requirements=reqs))
        timed_run(
            [
                sys.executable,
                "-m",
                "pyoxidizer_py",
                "build",
                "--release",
                "--path",
                str(project),
                "--python-distribution",
                str(python),
            ],
            env=env_with_repo({"CARGO_TARGET_DIR": str(cargo_target)}),
            cwd=project,
        )
        out = project / "build" / TRIPLE / "release" / "exe"
        files = tuple(sorted(p.name for p in out.iterdir()))
        ours = work / f"{name}-single"
        shutil.copy2(out / "app", ours)
        pi = work / f"{name}-pyinstaller"
        subprocess.run(
            [
                str(vpy),
                "-m",
                "PyInstaller",
                "--onefile",
                "--noconfirm",
                "--log-level",
                "ERROR",
                "--name",
                name,
                "--distpath",
                str(pi / "dist"),
                "--workpath",
                str(pi / "build"),
                "--specpath",
                str(pi),
                str(project / "app.py"),
            ],
            check=True,
            cwd=work,
        )
        pi_exe = pi / "dist" / name
        commands = {
            "single file (ours)": [str(ours)],
            "PyInstaller --onefile": [str(pi_exe)],
            "venv python": [str(vpy), str(project / "app.py")],
        }
        for argv in commands.values():
            _check(argv, expected)
        startup = compare_commands(commands, runs=runs, warmup=3)
        results.append(
            AppResult(
                name=name,
                startup=startup,
                ours_bytes=ours.stat().st_size,
                ours_files=files,
                pyinstaller_bytes=pi_exe.stat().st_size,
                venv_bytes=venv_bytes,
            )
        )
    return AppsResult(python=python, python_version=version, pyinstaller=pyinstaller, apps=tuple(results))


def render_apps(result: AppsResult, runs: int) -> list[str]:
    """Markdown lines for ``docs/performance.md``."""

    def ms(s: Stats) -> str:
        return f"{s.mean * 1000:.1f} ± {s.stdev * 1000:.1f} ms (min {s.min * 1000:.1f})"

    def mb(n: int) -> str:
        return f"{n / 1e6:.1f} MB"

    out = [
        "### Single-file applications with C extensions",
        "",
        f"CPython {result.python_version} ({result.python}), release builds, default policy: extension "
        "modules and wheel-bundled libraries load from memory. PyInstaller "
        f"{result.pyinstaller} `--onefile` and the venv use the same pinned requirements. Start-up is the "
        f"whole process (import the package, one small computation, exit), {runs} interleaved runs.",
        "",
        "| app | variant | start-up | size |",
        "|---|---|---|---|",
    ]
    for app in result.apps:
        sizes = {
            "single file (ours)": app.ours_bytes,
            "PyInstaller --onefile": app.pyinstaller_bytes,
            "venv python": app.venv_bytes,
        }
        for variant, stats in app.startup.items():
            size = mb(sizes[variant]) + (" (whole venv, both apps)" if variant == "venv python" else "")
            out.append(f"| {app.name} | {variant} | {ms(stats)} | {size} |")
    out.append("")
    for app in result.apps:
        ours = app.startup["single file (ours)"].mean
        pi = app.startup["PyInstaller --onefile"].mean
        venv = app.startup["venv python"].mean
        out.append(
            f"- {app.name}: output directory holds `{', '.join(app.ours_files)}`; the single file starts "
            f"{pi / ours:.1f}x faster than PyInstaller's and at {ours / venv:.2f}x the venv's time."
        )
    return out
