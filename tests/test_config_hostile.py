"""Hostile configs (issue 15, config side): no crashes, bounded evaluation, no writes, clear messages.

Every case runs the real command line in a subprocess, so a crash of the engine would show as a
signal exit status here instead of killing pytest, and asserts what a user sees: exit status 1 and
one ``error:`` line naming file:line:col.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config
from pyoxidizer_py.errors import ConfigError

LIMIT_ENV = ("PYOXIDIZER_PY_EVAL_MAX_STEPS", "PYOXIDIZER_PY_EVAL_MAX_SECONDS", "PYOXIDIZER_PY_EVAL_MAX_MEMORY")


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in LIMIT_ENV}
    return subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def config(tmp_path: Path, text: str | bytes, name: str = "pyoxidizer.bzl") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


# --- item 2: evaluation never crashes ------------------------------------------------------------
NESTING = "expression nested too deeply (more than 150 levels of brackets, chained operators and indentation)"


@pytest.mark.parametrize(
    ("text", "col"),
    [
        ("x = " + "+".join(["1"] * 6000) + "\n", 306),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", 155),
        ("x = " + "lambda: " * 3000 + "1\n", 1210),
        ("x = " + "-" * 6000 + "1\n", 457),
        ("x = struct(a = 1)" + ".a" * 6000 + "\n", 318),
    ],
    ids=["6000-term-sum", "5000-nested-brackets", "lambda-chain", "unary-chain", "attribute-chain"],
)
def test_deep_nesting_is_refused_before_the_engine(tmp_path: Path, text: str, col: int) -> None:
    path = config(tmp_path, text)
    line = one_error_line(cli("list-targets", str(path)))
    assert line.startswith(f"error: {path}:1:{col}: {NESTING}")


def test_deeply_nested_values_built_at_run_time_do_not_crash(tmp_path: Path) -> None:
    # Values nested far deeper than any source text can be: printing and comparing them
    # recurses in the engine (this overflowed an 8 MiB stack near 150000 levels).
    path = config(
        tmp_path,
        """
        x = []
        for i in range(300000):
            x = [x]
        s = str(x)
        same = [x] == [x]
        t = type(x)
        """,
    )
    line = one_error_line(cli("list-targets", str(path)))
    assert line == f"error: {path}:7:5: a value nested too deeply was passed to a dialect function"


def test_strings_grown_past_the_limit_end_in_one_error(tmp_path: Path) -> None:
    # Doubling a string 40 times made the engine panic ("len overflow") after allocating GiBs.
    path = config(tmp_path, 's = "ab"\nfor i in range(40):\n    s = s + s\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (
        f"error: {path}:3:9: evaluation exceeded the memory limit of 512 MiB of strings and lists "
        "(raise it with --eval-max-memory or PYOXIDIZER_PY_EVAL_MAX_MEMORY)"
    )


def test_huge_range_materialised_is_a_memory_error(tmp_path: Path) -> None:
    path = config(tmp_path, "x = list(range(1000000000))\n")
    line = one_error_line(cli("list-targets", str(path)))
    assert line.startswith(f"error: {path}:1:10: evaluation exceeded the memory limit of 512 MiB")


def test_engine_panic_becomes_one_error() -> None:
    # Every input known to make xingque 0.2.1 panic is stopped earlier by the limits, so the
    # mapping is driven with an exception of the name pyo3 gives its panic type.
    from pyoxidizer_py.config import engine

    class PanicException(BaseException):  # the name pyo3 gives its panic type
        pass

    def boom() -> None:
        raise PanicException("len overflow")

    with pytest.raises(engine._EnginePanic) as info:
        engine._engine_call(boom)
    err = engine._panic_error(info.value, "pyoxidizer.bzl")
    assert str(err) == (
        "pyoxidizer.bzl: the Starlark engine gave up: len overflow (a string or list grew past the engine's "
        "size limits)"
    )


def test_invalid_utf8_is_reported_with_its_byte_offset(tmp_path: Path) -> None:
    path = config(tmp_path, b'x = 1\ny = "caf\xc3\xa9 \xff"\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == f"error: {path}:2:11: invalid UTF-8 byte 0xff at byte offset 17: config files must be UTF-8"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = config(tmp_path, b"\xef\xbb\xbfdef one():\r\n    return 1\r\nregister_target('one', one)\r\n")
    result = cli("list-targets", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["*one"]


# --- item 3: limits ----------------------------------------------------------------------------
LOOPS = """
n = 0
for a in range(100000):
    for b in range(100000):
        n += 1
"""


def test_step_limit_default_and_flag(tmp_path: Path) -> None:
    path = config(tmp_path, LOOPS)
    line = one_error_line(cli("list-targets", "--eval-max-steps", "5000", str(path)))
    assert line == (
        f"error: {path}:4:5: evaluation exceeded the step limit of 5000 loop iterations and calls "
        "(raise it with --eval-max-steps or PYOXIDIZER_PY_EVAL_MAX_STEPS)"
    )
    line = one_error_line(cli("list-targets", str(path), env={"PYOXIDIZER_PY_EVAL_MAX_STEPS": "7"}))
    assert "step limit of 7 loop iterations" in line


def test_time_limit(tmp_path: Path) -> None:
    path = config(tmp_path, LOOPS)
    line = one_error_line(cli("list-targets", "--eval-max-steps", "0", "--eval-max-seconds", "0.5", str(path)))
    assert line == (
        f"error: {path}:4:5: evaluation exceeded the time limit of 0.5 seconds of Starlark execution "
        "(raise it with --eval-max-seconds or PYOXIDIZER_PY_EVAL_MAX_SECONDS)"
    )
    env = {"PYOXIDIZER_PY_EVAL_MAX_STEPS": "0", "PYOXIDIZER_PY_EVAL_MAX_SECONDS": "0.25"}
    assert "time limit of 0.25 seconds" in one_error_line(cli("list-targets", str(path), env=env))


def test_memory_limit_default_and_env(tmp_path: Path) -> None:
    path = config(tmp_path, 'x = "x" * 1000000000\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (
        f"error: {path}:1:5: evaluation exceeded the memory limit of 512 MiB of strings and lists "
        "(raise it with --eval-max-memory or PYOXIDIZER_PY_EVAL_MAX_MEMORY)"
    )
    small = config(tmp_path, 'x = ["a"] * 100000\n', "small.bzl")
    line = one_error_line(cli("list-targets", str(small), env={"PYOXIDIZER_PY_EVAL_MAX_MEMORY": "1"}))
    assert "memory limit of 1 MiB" in line
    assert "memory limit of 1 MiB" in one_error_line(cli("list-targets", "--eval-max-memory", "1", str(small)))
    assert cli("list-targets", str(small)).returncode == 0


def test_limits_cover_target_functions_and_comprehensions(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        """
        def make():
            return len([x for x in range(50000) for y in range(50000)])
        register_target("m", make)
        resolve_targets()
        """,
    )
    assert cli("list-targets", str(path)).returncode == 0  # targets do not run for list-targets
    with pytest.raises(ConfigError) as info:
        evaluate_config(EvaluationOptions(config_path=path))
    assert info.value.location == f"{path}:3:41"  # the inner `for`
    assert "step limit of 2000000" in info.value.message


def test_bad_limit_values_are_usage_errors(tmp_path: Path) -> None:
    path = config(tmp_path, "x = 1\n")
    result = cli("list-targets", "--eval-max-memory", "lots", str(path))
    assert result.returncode == 2
    assert "argument --eval-max-memory: expected a non-negative int, got 'lots'" in result.stderr
    line = one_error_line(cli("list-targets", str(path), env={"PYOXIDIZER_PY_EVAL_MAX_SECONDS": "-1"}))
    assert line == "error: PYOXIDIZER_PY_EVAL_MAX_SECONDS='-1': expected a non-negative float"


# --- item 4: evaluation writes nothing ---------------------------------------------------------
WRITER = """
def notes():
    c = FileContent(filename = "NOTES.txt", content = "hello\\n")
    c.write_to_directory({where!r})
    return FileManifest()

c = FileContent(filename = "TOP.txt", content = "top\\n")
c.write_to_directory({where!r})
register_target("notes", notes)
resolve_targets()
"""


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_list_targets_writes_nothing_even_for_absolute_paths(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    project = tmp_path / "project"
    project.mkdir()
    path = config(project, WRITER.format(where=str(outside)))
    result = cli("list-targets", str(path))
    assert result.returncode == 0, result.stderr
    assert not outside.exists()
    assert _tree(project) == ["pyoxidizer.bzl"]


def test_relative_writes_must_stay_in_the_build_path(tmp_path: Path) -> None:
    path = config(tmp_path, WRITER.format(where="../.."))
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (
        f"error: {path}:8:1: write_to_directory(): path must be relative and stay inside the manifest: '../..'"
    )
    assert _tree(tmp_path) == ["pyoxidizer.bzl"]


def test_writes_happen_when_a_target_is_built(tmp_path: Path) -> None:
    path = config(tmp_path, WRITER.format(where="notes"))
    result = cli("build", "--path", str(path), "notes")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "build" / "notes" / "NOTES.txt").read_text() == "hello\n"
    assert (tmp_path / "build" / "notes" / "TOP.txt").read_text() == "top\n"


@pytest.mark.parametrize("name", ["../../x", "/etc/x", "a/b", "..", ""])
def test_file_content_filename_is_validated(tmp_path: Path, name: str) -> None:
    path = config(tmp_path, f'c = FileContent(filename = {name!r}, content = "x")\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (
        f"error: {path}:1:5: FileContent(): filename must be a plain file name without directories, got {name!r}"
    )
    path = config(tmp_path, f'c = FileContent(filename = "ok", content = "x")\nc.filename = {name!r}\n')
    assert "filename must be a plain file name" in one_error_line(cli("list-targets", str(path)))


INSTALLER = """
def notes():
    m = FileManifest()
    m.add_file(FileContent(filename = "NOTES.txt", content = "hello\\n"))
    m.install({where!r}, replace = {replace})
    return m

register_target("notes", notes)
resolve_targets()
"""


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("../..", "path must be relative and stay inside the manifest: '../..'"),
        ("a/../../b", "path must be relative and stay inside the manifest: 'a/../../b'"),
        (".", "path must name a directory inside the build path, got '.'"),
        ("", "path must name a directory inside the build path, got ''"),
    ],
)
def test_relative_install_paths_must_stay_in_the_build_path(tmp_path: Path, where: str, message: str) -> None:
    # install("../..") once resolved to the directory above the project and, replace being True,
    # emptied it when the target was built.
    project = tmp_path / "outer" / "project"
    project.mkdir(parents=True)
    (tmp_path / "outer" / "canary").write_text("keep")
    path = config(project, INSTALLER.format(where=where, replace=True))
    assert one_error_line(cli("build", "--path", str(path))) == f"error: {path}:5:5: install(): {message}"
    assert _tree(tmp_path) == ["outer", "outer/canary", "outer/project", "outer/project/pyoxidizer.bzl"]


@pytest.mark.parametrize("where", ["outer", "outer/project", "outer/project/build", "cwd"])
def test_install_refuses_to_replace_what_the_build_stands_on(tmp_path: Path, where: str) -> None:
    project = tmp_path / "outer" / "project"
    (tmp_path / "cwd" / "mine").mkdir(parents=True)
    project.mkdir(parents=True)
    (tmp_path / "outer" / "canary").write_text("keep")
    path = config(project, INSTALLER.format(where=str(tmp_path / where), replace=True))
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(path)],
        cwd=tmp_path / "cwd",
        capture_output=True,
        text=True,
        timeout=120,
    )
    what = {
        "outer": "the config's directory",
        "outer/project": "the config's directory",
        "outer/project/build": "the build path",
        "cwd": "the working directory",
    }[where]
    line = one_error_line(result)
    assert line.startswith(f"error: FileManifest.install(): refusing to replace {tmp_path / where}: it contains {what}")
    assert (tmp_path / "outer" / "canary").read_text() == "keep"
    assert path.is_file() and (tmp_path / "cwd" / "mine").is_dir()


def test_install_replaces_a_destination_of_its_own(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    project = tmp_path / "project"
    project.mkdir()
    path = config(project, INSTALLER.format(where=str(dest), replace=False))
    assert cli("build", "--path", str(path)).returncode == 0
    assert _tree(dest) == ["NOTES.txt", "old.txt"]
    # A replacing install copies into a staging dir beside the destination and renames it into
    # place; the staging dir of a run killed mid-copy (an hour old, unlocked) is removed.
    killed = tmp_path / ".staging-dest-killed"
    killed.mkdir()
    (killed / "NOTES.txt").write_text("half")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    path = config(project, INSTALLER.format(where=str(dest), replace=True))
    result = cli("build", "--path", str(path))
    assert result.returncode == 0, result.stderr
    assert _tree(dest) == ["NOTES.txt"]  # PyOxidizer's replace = True: emptied, then copied
    assert (dest / "NOTES.txt").read_text() == "hello\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "project"]


# --- item 6: messages ---------------------------------------------------------------------------
def test_syntax_error_in_loaded_file_at_its_line(tmp_path: Path) -> None:
    config(tmp_path, "A = 1\n\ndef broken(:\n    pass\n", "lib.star")
    path = config(tmp_path, 'load("lib.star", "A")\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line.startswith(f"error: {tmp_path / 'lib.star'}:3:12: Parse error: unexpected symbol ':'")


def test_load_cycle_message(tmp_path: Path) -> None:
    config(tmp_path, 'load("b.star", "B")\nA = 1\n', "a.star")
    config(tmp_path, 'load("a.star", "A")\nB = 2\n', "b.star")
    path = config(tmp_path, 'load("a.star", "A")\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (
        f"error: {tmp_path / 'b.star'}:1:1: load() cycle: {path} -> {tmp_path / 'a.star'} -> "
        f"{tmp_path / 'b.star'} -> {tmp_path / 'a.star'}"
    )
    assert "RuntimeError" not in line and "ConfigError" not in line


def test_loading_a_file_outside_the_project_does_not_echo_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:hunter2:/root:/bin/bash\n")
    project = tmp_path / "project"
    project.mkdir()
    path = config(project, f'load("{secret}", "x")\n')
    result = cli("list-targets", str(path))
    line = one_error_line(result)
    assert line == (
        f"error: {path}:1:1: cannot load '{secret}': {secret} is not a valid Starlark file (error at line 1, column 6)"
    )
    assert "hunter2" not in result.stderr and "root:x" not in result.stderr


MISTAKES = """
def a():
    return 1

def b(x, y):
    return x

register_target("a", a)
register_target("b", b, depends = {depends})
register_target("c", a, depends = ["b"])
resolve_targets()
"""


@pytest.mark.parametrize(
    ("depends", "target", "message"),
    [
        ('["a", "nope"]', "b", "9:1: target 'b' depends on 'nope', which does not exist (targets: a, b, c)"),
        ('["c", "a"]', "c", "9:1: dependency cycle between targets: c -> b -> c"),
        (
            '["a"]',
            "b",
            "9:1: target 'b': b() takes 2 positional argument(s) but depends= gives 1 ('a'); "
            "each dependency's value is passed positionally",
        ),
    ],
    ids=["missing-dependency", "cycle", "arity"],
)
def test_target_mistakes_are_located(tmp_path: Path, depends: str, target: str, message: str) -> None:
    path = config(tmp_path, MISTAKES.format(depends=depends))
    line = one_error_line(cli("build", "--path", str(path), target))
    assert line == f"error: {path}:{message}"


def test_hash_seed_out_of_range_at_evaluation(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        """
        def make():
            config = default_python_distribution().make_python_interpreter_config()
            config.hash_seed = 1180591620717411303424
            return config
        register_target("c", make)
        resolve_targets()
        """,
    )
    # Refused by `build` while the target is evaluated, before any distribution, cargo or rustc.
    line = one_error_line(cli("build", "--path", str(path), env={"PYOXIDIZER_PY_CACHE_DIR": str(tmp_path / "cache")}))
    assert line == (
        f"error: {path}:4:5: PythonInterpreterConfig.hash_seed must be between 0 and 4294967295; "
        "got 1180591620717411303424"
    )
    assert _tree(tmp_path) == ["pyoxidizer.bzl"]
