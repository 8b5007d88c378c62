"""Property-based fuzzing of config evaluation (run by tests/test_config_fuzz.py in a subprocess).

Hypothesis mutates real-world-shaped configs (the files in tests/data/configs plus small
target graphs) with deletions, duplications, line swaps and inserted fragments chosen to hit
the engine's weak spots: deep nesting, huge repetitions and loops, unknown and removed names,
writes outside the project, load() of odd files, invalid UTF-8 and byte-order marks. Each
mutated config is evaluated in-process, listing targets and then resolving all of them.

Properties, for every input:
* evaluation ends with a value or a ``PyOxidizerError`` whose message is one line (no other
  exception: that would be a traceback for the user);
* it ends within ``HANG_SECONDS`` (limits are lowered so well-behaved runs are quick);
* nothing is written anywhere (the project directory and a directory outside it are compared
  before and after).

A crash of the engine kills this process; the input being evaluated is always in
``<workdir>/current.bzl`` so the caller can report it. Usage:
``python tests/fuzz_config.py WORKDIR MAX_EXAMPLES``; exit status 0 when every property held.
The examples are the same on every run (reproducible in CI); ``PYOXIDIZER_PY_FUZZ_RANDOM=1``
explores new ones.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
HANG_SECONDS = 60.0  # generous: the 2-core CI machine is shared

SMALL_TARGETS = """\
def base():
    return {"name": "app", "files": ["a.py", "b.py"]}

def files(b):
    out = []
    for f in b["files"]:
        out.append(f.upper())
    return out

def summary(b, f):
    return "%s: %s" % (b["name"], ", ".join(f))

register_target("base", base)
register_target("files", files, depends = ["base"])
register_target("summary", summary, depends = ["base", "files"], default = True)
resolve_targets()
"""

WRITER = """\
def notes():
    c = FileContent(filename = "NOTES.txt", content = "notes")
    c.write_to_directory("notes")
    m = FileManifest()
    m.add_file(c)
    m.install("installed")
    return m

register_target("notes", notes)
resolve_targets()
"""


REGRESSIONS = HERE / "data" / "config_regressions"


def _seeds() -> list[str]:
    texts = [SMALL_TARGETS, WRITER]
    for path in sorted((HERE / "data" / "configs").glob("*.bzl")):
        texts.append(path.read_text())
    for path in sorted(REGRESSIONS.glob("*.bzl")):
        texts.append(path.read_text())
    return texts


TOKENS = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "+",
    "*",
    "%",
    ".",
    "=",
    "==",
    "not ",
    " and ",
    " if 1 else ",
    "lambda: ",
    "\n",
    "\n    ",
    "\t",
    "#",
    '"',
    "'''",
    "\\",
]
EXPRESSIONS = [
    "1 + 2 * 3",
    "[[x for x in range(100000)] for y in range(100000)]",
    '"ab" * 1000000000',
    "[1] * 1000000000",
    "list(range(1000000000))",
    "[" * 400 + "]" * 400,
    "+".join(["1"] * 800),
    "PythonInterpreterConfig()",
    "python_run_mode_module('x')",
    "PYOXIDIZER_VERSION",
    "Stdlib()",
    "UNKNOWN_NAME",
    "default_python_distribution()",
    "default_python_distribution().make_python_packaging_policy()",
    "default_python_distribution().to_python_executable('x')",
    'FileContent(filename = "../../escape", content = "x")',
    'FileContent(filename = "ok.txt", content = "x").write_to_directory("{outside}")',
    'FileContent(filename = "ok.txt", content = "x").write_to_directory("../..")',
    'FileManifest().install("{outside}/installed")',
    'set_build_path("{outside}/build")',
    "resolve_target('nothere')",
    "type(default_python_distribution()).__class__",
    "default_python_distribution().__init__",
    "print.__self__",
    "dir(FileManifest())",
    "json.encode({'a': [1, 2]})",
    "struct(a = 1).a",
    "9223372036854775807 * 9223372036854775807",
    "1180591620717411303424",
    "-9223372036854775808 // -1",
    '"%s%s" % (1, 2)',
    '"{}".format(1)',
    "VARS['x']",
    "CWD + '/x'",
    "AppleUniversalBinary('x').to_file_content()",
    "WiXMSIBuilder('a', 'b', '1', 'c').write_to_directory('{outside}')",
]
STATEMENTS = [
    "def f():\n    return g()",
    "for i in range(1000000000):\n    pass",
    "s = 'x'\nfor i in range(64):\n    s = s + s",
    "s = 'x'\nfor i in range(64):\n    s += s",
    "v = []\nfor i in range(100000):\n    v = [v]\nprint(v)",
    'load("{outside}/missing.star", "x")',
    'load("/etc/passwd", "x")',
    'load("pyoxidizer.bzl", "x")',
    'load("lib.star", "X")',
    'register_target("base", lambda: 1)',
    'register_target("dup", base)\nregister_target("dup", base)',
    'register_target("loop", base, depends = ["loop"])',
    "resolve_targets()",
]
FRAGMENTS = TOKENS + EXPRESSIONS + STATEMENTS
BYTE_FRAGMENTS = [b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\x00", b"\r\n", "é".encode(), "😀".encode()]


@st.composite
def configs(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(_seeds()))
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["statement", "statement", "expression", "insert", "delete", "duplicate", "swap"]))
        n = len(text)
        a = draw(st.integers(0, n))
        b = draw(st.integers(a, min(n, a + 200)))
        if kind in ("statement", "expression"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines)))
            indent = ""
            if i < len(lines):
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            if kind == "statement":
                new = draw(st.sampled_from(STATEMENTS))
            else:
                new = "_v = " + draw(st.sampled_from(EXPRESSIONS))
            lines[i:i] = [indent + part for part in new.split("\n")]
            text = "\n".join(lines)
        elif kind == "insert":
            text = text[:a] + draw(st.sampled_from(FRAGMENTS)) + text[a:]
        elif kind == "delete":
            text = text[:a] + text[b:]
        elif kind == "duplicate":
            text = text[:b] + text[a:b] + text[b:]
        else:
            lines = text.split("\n")
            if len(lines) > 1:
                i = draw(st.integers(0, len(lines) - 1))
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                text = "\n".join(lines)
    data = text.encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(BYTE_FRAGMENTS)) + data[at:]
    return data


def _snapshot(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = p.read_bytes() if p.is_file() else b"<dir>"
    return out


def main(workdir: Path, max_examples: int) -> int:
    os.environ.update(
        {
            "PYOXIDIZER_PY_EVAL_MAX_STEPS": "200000",
            "PYOXIDIZER_PY_EVAL_MAX_SECONDS": "3",
            "PYOXIDIZER_PY_EVAL_MAX_MEMORY": "64",
        }
    )
    logging.getLogger("pyoxidizer_py").disabled = True  # print() output and warnings
    from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config
    from pyoxidizer_py.errors import DistributionError, PyOxidizerError

    project = workdir / "project"
    outside = workdir / "outside"
    project.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    (project / "lib.star").write_text("X = 1\n")
    current = workdir / "current.bzl"
    failures: list[str] = []
    outcomes: dict[str, int] = {}

    def no_distributions(request: object) -> object:
        raise DistributionError("the fuzz run resolves no Python distributions")

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=os.environ.get("PYOXIDIZER_PY_FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck),
    )
    @given(configs())
    def run(data: bytes) -> None:
        text = data.replace(b"{outside}", str(outside).encode())
        current.write_bytes(text)
        config = project / "pyoxidizer.bzl"
        config.write_bytes(text)
        before_project = _snapshot(project)
        before_outside = _snapshot(outside)
        started = time.monotonic()
        for requested in ([], None):
            try:
                evaluation = evaluate_config(
                    EvaluationOptions(
                        config_path=config, requested_targets=requested, resolve_distribution=no_distributions
                    )
                )
                if requested is None:
                    names = [t.name for t in evaluation.targets]
                    evaluate_config(
                        EvaluationOptions(
                            config_path=config, requested_targets=names, resolve_distribution=no_distributions
                        )
                    )
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except PyOxidizerError as exc:
                kind = type(exc).__name__
                outcomes[kind] = outcomes.get(kind, 0) + 1
                message = str(exc)
                assert "\n" not in message, f"multi-line error: {message!r}"
                assert "Traceback" not in message, message
            except Exception as exc:
                raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from exc
        took = time.monotonic() - started
        assert took < HANG_SECONDS, f"evaluation took {took:.1f} s"
        assert _snapshot(project) == before_project, "the evaluation wrote into the project"
        assert _snapshot(outside) == before_outside, "the evaluation wrote outside the project"

    try:
        run()
    except AssertionError as exc:
        failures.append(str(exc))
    except Exception as exc:  # hypothesis reports the minimal failing example in the exception
        failures.append(f"{type(exc).__name__}: {exc}")
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    for failure in failures:
        print(f"FAILURE: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
