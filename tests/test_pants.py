"""Pants' ``pyoxidizer_binary`` drives pyoxidizer-py (issue 19): package, run, cache, rebuild.

A real Pants: ``pantsbuild.pants`` 2.17.1 from PyPI in a CPython 3.9 venv (Pants 2.17 runs on
3.9 only), pex built from PyPI (Pants would download it from GitHub), pyoxidizer-py as a wheel
built from this checkout and locked into the example's ``pyoxidizer`` resolve. Pants runs the
tool as it runs PyOxidizer: ``env -i`` except ``PATH``/``LANG``/``PEX_*``/``SSL_CERT_*``, cwd a
fresh sandbox, ``PYOXIDIZER_CACHE_DIR`` pointing into a persistent named cache.

Everything is shared by one module-scoped repository (Pants' stores and named caches live in the
test's temporary directory, so the first build really runs and later ones really hit the cache).
Slow (a few minutes): marked ``pants`` and ``cargo``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cargo, pytest.mark.pants]

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pants"
PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")
PY311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
PANTS = "pantsbuild.pants==2.17.1"
PEX = "pex==2.1.137"
INSTALL = Path("dist") / "greet" / "x86_64-unknown-linux-gnu" / "debug" / "install"
PROCESS = "Building //:greet with PyOxidizer"

if not PY39.exists() or not PY311.exists():  # pragma: no cover - the machine's pyenv CPythons
    pytest.skip("needs pyenv's CPython 3.9 (for Pants) and 3.11 (to embed)", allow_module_level=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class PantsRepo:
    """A copy of examples/pants that Pants builds, with everything it needs offline-ish."""

    root: Path
    pants: Path
    env: dict[str, str]

    def __call__(self, *args: str, daemon: bool = True) -> subprocess.CompletedProcess[str]:
        flags = [] if daemon else ["--no-pantsd"]
        return subprocess.run(
            [str(self.pants), *flags, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=1200
        )

    def ok(self, *args: str, daemon: bool = True) -> subprocess.CompletedProcess[str]:
        result = self(*args, daemon=daemon)
        assert result.returncode == 0, result.stdout + result.stderr[-6000:]
        return result


def _check(cmd: list[str], **kwargs: object) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, (cmd, done.stdout, done.stderr[-4000:])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PantsRepo]:
    base = tmp_path_factory.mktemp("pants")
    # Pants from PyPI, in a 3.9 venv (pip's own cache makes reinstalls quick).
    env_dir = base / "venv"
    _check([str(PY39), "-m", "venv", str(env_dir)])
    _check([str(env_dir / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", PANTS])
    # pex, built from PyPI by the pex that came with Pants (instead of Pants' GitHub download).
    pex_file = base / "pex"
    _check([str(env_dir / "bin" / "pex"), PEX, "-c", "pex", "-o", str(pex_file)])
    digest, size = sha256(pex_file), pex_file.stat().st_size
    # The example, with a pyoxidizer-py wheel of this checkout where its find_links look.
    root = base / "repo"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("dist", ".pants.d", ".pids", "wheels", "pyoxidizer.lock")
    )
    _check([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "wheels"), str(REPO)])
    env = {
        "PATH": os.environ["PATH"],
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": os.environ["HOME"],  # Pants finds pyenv's interpreters through it
        "PANTS_PEX_CLI_URL_TEMPLATE": f"file://{pex_file}",
        "PANTS_PEX_CLI_KNOWN_VERSIONS": f'["v2.1.137|linux_x86_64|{digest}|{size}"]',
        "PANTS_PEX_CLI_VERSION": "v2.1.137",
        "PANTS_LOCAL_STORE_DIR": str(base / "lmdb_store"),
        "PANTS_NAMED_CACHES_DIR": str(base / "named_caches"),
        # The CPython to embed: the pyenv 3.11 on this machine, as the example's pants.toml
        # reads it (a pinned python-build-standalone archive would be the hermetic choice).
        "PYOXIDIZER_PY_DISTRIBUTION": str(PY311),
    }
    pants = PantsRepo(root=root, pants=env_dir / "bin" / "pants", env=env)
    # The tool's resolve pins this checkout's wheel: lock it here (PyYAML's lock is checked in).
    pants.ok("generate-lockfiles", "--resolve=pyoxidizer")
    yield pants
    for pid_file in (root / ".pids").rglob("pantsd/pid"):  # the pantsd this fixture started
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def _named_cache_rlib(repo: PantsRepo) -> Path:
    found = sorted((Path(repo.env["PANTS_NAMED_CACHES_DIR"]) / "pyoxidizer").rglob("libpyo3-*.rlib"))
    assert found, "no cargo target dir in the pyoxidizer named cache"
    return found[0]


def test_package_run_cache_and_incremental_rebuild(repo: PantsRepo) -> None:
    first = repo.ok("package", "::")
    assert PROCESS in first.stderr
    install = repo.root / INSTALL
    exe = install / "greet"
    # dist/ holds the executable, COPYING.txt and what the config installs, nothing of ours.
    # (PyYAML's _yaml is in the executable: extension modules load from memory.)
    assert sorted(p.name for p in install.iterdir()) == ["COPYING.txt", "greet"]
    tree = sorted(
        p.relative_to(repo.root / "dist" / "greet").as_posix()
        for p in (repo.root / "dist" / "greet").rglob("*")
        if p.is_file()
    )
    assert all(p.startswith("x86_64-unknown-linux-gnu/debug/install/") for p in tree), tree
    assert not [p for p in tree if "cargo" in p or "/." in p or "manifest" in p or p.endswith((".rs", ".toml"))]
    assert not [p for p in tree if p.endswith(".so")]
    ran = subprocess.run([str(exe), "Ann"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["Hello, Ann!", "libyaml: True"]
    # The SBOM is inside the executable (in a sandbox the default SBOM file is embedded instead).
    sbom = subprocess.run([sys.executable, "-m", "pyoxidizer_py", "sbom", str(exe)], capture_output=True, text=True)
    assert sbom.returncode == 0, sbom.stderr
    assert "PyYAML" in {c["name"] for c in json.loads(sbom.stdout)["components"]}
    digest = sha256(exe)
    rlib = _named_cache_rlib(repo)
    rlib_mtime = rlib.stat().st_mtime_ns

    # `pants run`: one executable in install/ (Pants takes the one file there that is not COPYING.txt).
    run = repo.ok("run", ":greet", "--", "Bo", "Cy")
    assert run.stdout.splitlines() == ["Hello, Bo!", "Hello, Cy!", "libyaml: True"]

    # Served from Pants' on-disk cache after `rm -rf dist` (a new Pants process, no daemon): no
    # pyoxidizer-py process runs and the executable is the same.
    shutil.rmtree(repo.root / "dist")
    again = repo.ok("package", "::", daemon=False)
    assert PROCESS not in again.stderr
    assert sha256(exe) == digest

    # A one-line .py edit: the process runs in a new sandbox and reuses the named cache's work
    # dir (cargo does not recompile PyO3).
    cli = repo.root / "src" / "greeter" / "cli.py"
    cli.write_text(
        cli.read_text().replace("print(f\"{doc['greeting']}, {name}!\")", "print(f\"{doc['greeting']}, {name}!!\")")
    )
    edited = repo.ok("package", "::")
    assert PROCESS in edited.stderr
    assert subprocess.run([str(exe), "Di"], capture_output=True, text=True).stdout.startswith("Hello, Di!!\n")
    assert rlib.stat().st_mtime_ns == rlib_mtime
