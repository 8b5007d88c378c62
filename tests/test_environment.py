"""Where state goes: cache root and work dirs under the variables a user or build system sets (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.environment import cache_root, config_work_dir, work_root

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "examples" / "hello"


def test_cache_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    assert cache_root({"PYOXIDIZER_PY_CACHE_DIR": str(ours), "PYOXIDIZER_CACHE_DIR": str(theirs)}) == ours
    # PyOxidizer's variable (Pants sets it): our own subdirectory of it.
    assert cache_root({"PYOXIDIZER_CACHE_DIR": str(theirs)}) == theirs / "pyoxidizer-py"
    assert (
        cache_root({"PYOXIDIZER_PY_CACHE_DIR": "  ", "PYOXIDIZER_CACHE_DIR": str(theirs)}) == theirs / "pyoxidizer-py"
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # platformdirs reads os.environ
    assert cache_root({}) == tmp_path / "xdg" / "pyoxidizer-py"
    assert work_root(None, {"PYOXIDIZER_PY_CACHE_DIR": str(ours)}) == ours / "work"
    assert work_root(None, {"PYOXIDIZER_PY_WORK_DIR": str(tmp_path / "w"), "PYOXIDIZER_PY_CACHE_DIR": str(ours)}) == (
        tmp_path / "w"
    )
    assert work_root(tmp_path / "flag", {"PYOXIDIZER_PY_WORK_DIR": str(tmp_path / "w")}) == tmp_path / "flag"


def test_no_home_falls_back_to_the_password_database() -> None:
    found = subprocess.run(
        [sys.executable, "-c", "from pyoxidizer_py.environment import cache_root; print(cache_root())"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    import pwd

    assert found == os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "pyoxidizer-py")


def test_no_cache_location_is_one_error_line(tmp_path: Path) -> None:
    # A user without HOME and without a password database entry (a container's arbitrary uid):
    # os.path.expanduser cannot expand "~". Simulated by removing this uid's entry.
    code = (
        "import pwd, sys\n"
        "def missing(uid): raise KeyError(uid)\n"
        "pwd.getpwuid = missing\n"
        "from pyoxidizer_py.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    args = ["build", "--path", str(HELLO), "--python-distribution", sys.executable]
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=tmp_path)
    line = one_error_line(result)
    assert "no cache location" in line and "HOME" in line
    assert "PYOXIDIZER_PY_CACHE_DIR" in result.stderr
    assert not (HELLO / "build").exists()


def test_work_dir_key_is_stable_across_sandboxes(tmp_path: Path) -> None:
    """Pants runs the tool in a fresh sandbox per build, the cache dir a link inside it."""
    named_cache = tmp_path / "named_caches" / "pyoxidizer"
    named_cache.mkdir(parents=True)
    dirs = []
    for run in ("sandbox-a", "sandbox-b"):
        sandbox = tmp_path / run
        (sandbox / ".cache").mkdir(parents=True)
        (sandbox / ".cache" / "pyoxidizer").symlink_to(named_cache)
        (sandbox / "pyoxidizer.bzl").write_text("")
        env = {"PYOXIDIZER_CACHE_DIR": str(sandbox / ".cache" / "pyoxidizer")}
        dirs.append(config_work_dir(sandbox / "pyoxidizer.bzl", environ=env))
    # The same directory of the named cache, by its real path (cargo keys its fingerprints on
    # absolute paths), not through either sandbox's link.
    assert dirs[0] == dirs[1] and dirs[0].name.startswith("sandbox-")
    assert dirs[0].parent == named_cache.resolve() / "pyoxidizer-py" / "work"
    # Elsewhere, two configs never share a work dir.
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    env = {"PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache")}
    one = config_work_dir(tmp_path / "p1" / "pyoxidizer.bzl", environ=env)
    two = config_work_dir(tmp_path / "p2" / "pyoxidizer.bzl", environ=env)
    assert one != two and one.name.startswith("p1-") and one.parent == (tmp_path / "cache" / "work").resolve()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
    )


def test_cache_clear_under_pyoxidizer_cache_dir_keeps_pyoxidizers_files(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "rust").mkdir(parents=True)  # PyOxidizer's managed toolchains
    (shared / "pyoxidizer-py" / "work").mkdir(parents=True)
    (shared / "pyoxidizer-py" / "CACHEDIR.TAG").write_text(
        "Signature: 8a477f597d28d172789f06886806bc55\n# pyoxidizer-py\n"
    )
    result = _cli("cache-clear", env={"PYOXIDIZER_CACHE_DIR": str(shared)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"removing {shared / 'pyoxidizer-py'}"
    assert (shared / "rust").is_dir() and not (shared / "pyoxidizer-py").exists()


def test_cache_clear_refuses_a_work_dir_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("x")
    env = {"PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache"), "PYOXIDIZER_PY_WORK_DIR": str(precious)}
    line = one_error_line(_cli("cache-clear", env=env))
    assert str(precious) in line and "CACHEDIR.TAG" in line
    assert (precious / "thesis.tex").is_file()


@pytest.mark.parametrize("where", ["before", "after"])
def test_system_rust_is_accepted_as_a_no_op(where: str) -> None:
    args = (
        ["--system-rust", "list-targets", str(HELLO)]
        if where == "before"
        else ["list-targets", "--system-rust", str(HELLO)]
    )
    result = _cli(*args, env={})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["exe", "*install"]
