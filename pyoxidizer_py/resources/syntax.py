"""Check that the application's own Python code compiles, before anything is built.

A module that does not compile would otherwise be packaged without bytecode and fail only when
the executable imports it. The first-party code is checked with the target Python (the
interpreter that compiles the bytecode), so syntax newer than the host's is judged correctly:

- module sources from ``read_package_root()``, ``make_python_module_source()`` and of projects
  ``pip_install()`` installs from a local directory (PEP 610 ``dir_info``), which carry
  ``PythonModuleSource.first_party``, when the packaging policy includes them;
- ``PythonInterpreterConfig.run_command``.

Third-party code (``pip_install()`` from an index, wheels or archives, ``read_virtualenv()``) and
the standard library are not checked: their sources may hold test data that is not meant to
compile (lib2to3's test data, CPython's ``test.badsyntax_*``); those keep being skipped by the
bytecode compiler. The check uses
CPython's built-in ``compile()`` (https://docs.python.org/3/library/functions.html#compile) with
``ast.PyCF_ONLY_AST``, which reports a ``SyntaxError`` with ``lineno`` and ``offset`` (1-based;
https://docs.python.org/3/library/exceptions.html#SyntaxError).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.errors import ResourceError
from pyoxidizer_py.resources.model import PythonModuleSource, Resource, read_content

__all__ = ["SourceCheck", "SyntaxProblem", "check_first_party_syntax", "first_party_sources", "syntax_problems"]

_CHECKER = r"""
import ast, base64, json, sys
out = []
for item in json.loads(sys.stdin.buffer.read()):
    try:
        compile(base64.b64decode(item["source"]), item["filename"], "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        out.append([item["filename"], exc.lineno or 1, exc.offset or 1, "%s: %s" % (type(exc).__name__, exc.msg)])
    except (ValueError, UnicodeDecodeError) as exc:
        out.append([item["filename"], 1, 1, "%s: %s" % (type(exc).__name__, exc)])
sys.stdout.write(json.dumps(out))
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceCheck:
    """One piece of first-party code to check.

    Attributes:
        filename: what an error names (the source file's path, or a label such as
            ``run_command`` for code that has no file).
        source: the code's bytes (PEP 263 coding lines and a UTF-8 BOM are honoured).
    """

    filename: str
    source: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class SyntaxProblem:
    """Where a source does not compile: ``filename``, 1-based ``line`` and ``column``, ``message``."""

    filename: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.message}"


def first_party_sources(resources: Sequence[Resource], *, run_command: str | None = None) -> list[SourceCheck]:
    """Return the first-party code among ``resources`` (and ``run_command``) as checks.

    Args:
        resources: the executable's resource records.
        run_command: ``PythonInterpreterConfig.run_command``, or None.

    Returns:
        One ``SourceCheck`` per included first-party module source (named by its file, or
        ``<module name>`` when it has none) and one for ``run_command``.

    Raises:
        ResourceError: a module's source file cannot be read.
    """
    checks: list[SourceCheck] = []
    for resource in resources:
        if not isinstance(resource, PythonModuleSource) or not resource.first_party or not resource.add.include:
            continue
        try:
            data = read_content(resource)
        except OSError as exc:
            raise ResourceError(f"{resource.path}: cannot read module {resource.name}: {exc}") from exc
        label = str(resource.path) if resource.path is not None else f"<{resource.name}>"
        checks.append(SourceCheck(filename=label, source=data))
    if run_command is not None:
        checks.append(SourceCheck(filename="run_command", source=run_command.encode("utf-8")))
    return checks


def syntax_problems(python_exe: Path, checks: Sequence[SourceCheck]) -> list[SyntaxProblem]:
    """Compile ``checks`` with ``python_exe`` (one process) and return what does not compile.

    Args:
        python_exe: the target Python (``bytecode_python(dist)``).
        checks: the code to check.

    Returns:
        The problems, in the order of ``checks``; empty when everything compiles.

    Raises:
        ResourceError: the interpreter cannot be run or fails.
    """
    if not checks:
        return []
    payload = json.dumps([{"filename": c.filename, "source": base64.b64encode(c.source).decode()} for c in checks])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        proc = subprocess.run(
            [str(python_exe), "-E", "-s", "-S", "-c", _CHECKER],
            input=payload.encode(),
            capture_output=True,
            check=False,
            env=env,
        )
    except OSError as exc:
        raise ResourceError(f"{python_exe}: cannot run the syntax check ({exc})") from exc
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:])
        raise ResourceError(f"syntax check with {python_exe} failed: {tail}")
    return [
        SyntaxProblem(filename=f, line=int(line), column=int(col), message=msg)
        for f, line, col, msg in json.loads(proc.stdout)
    ]


def check_first_party_syntax(
    python_exe: Path, resources: Sequence[Resource], *, run_command: str | None = None
) -> None:
    """Fail when any first-party code does not compile with the target Python.

    Args:
        python_exe: the target Python.
        resources: the executable's resource records.
        run_command: ``PythonInterpreterConfig.run_command``, or None.

    Raises:
        ResourceError: ``FILE:LINE:COL: SyntaxError: message`` for the first problem (the
            message counts and names the others), or the checker could not run.
    """
    problems = syntax_problems(python_exe, first_party_sources(resources, run_command=run_command))
    if not problems:
        return
    message = str(problems[0])
    if len(problems) > 1:
        others = ", ".join(f"{p.filename}:{p.line}:{p.column}" for p in problems[1:6])
        more = "" if len(problems) <= 6 else f" and {len(problems) - 6} more"
        message += f" (also: {others}{more})"
    raise ResourceError(message)
