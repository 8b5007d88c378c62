"""Package data read through ``__file__``: keep it on the filesystem.

Much code finds its data files with ``os.path.dirname(__file__)`` (or
``pathlib.Path(__file__).parent``) and reads them with ``open()``, ``os.path.exists()``
or ``os.listdir()`` rather than through ``importlib.resources`` (pytz's zone files,
black's ``blib2to3`` grammar, botocore's service models, setuptools' launcher templates).
The importer gives in-memory modules a ``__file__`` beside the executable
(``<exe dir>/lib/pkg/mod.py``), but no file exists there, so such reads fail.

The rule (``place_data_beside_file_users``): a module *reads beside ``__file__``* when it
passes a path built from ``__file__`` (directly, or through a name assigned from an expression
that uses it, as in ``HERE = os.path.dirname(__file__)``) to a call that may read it: any call
but those that only compute, format or log a path (``os.path.join``/``dirname``/``abspath``...,
``pathlib.Path`` and its ``with_name``/``resolve``/``joinpath``..., ``str``, ``format``,
``print``, logging). So ``open(os.path.join(HERE, "x"))``, ``os.path.exists(HERE + "/x")``,
``os.listdir(HERE)``, ``Path(__file__).parent.joinpath("g").read_text()`` and
``load_grammar(GRAMMAR_FILE)`` count; returning a path (``numpy.get_include()``) or naming it in
a message does not. When such a module is in package ``P``, every data file of ``P`` and its
subpackages (``PythonPackageResource`` records) whose location is ``in-memory`` moves to its
``location_fallback`` when that is ``filesystem-relative``, so the file exists where
``__file__`` points (the in-memory prefix and the fallback prefix are the same directory,
``lib`` by default). Without a filesystem fallback the data stays in memory and the build
warns, naming the package, the module and the line to add. Modules and metadata are not
moved: ``__file__`` is set for them either way.

Not counted, so they do not push whole packages out of a single-file executable: test code
(``conftest.py`` and modules under ``test``/``tests``/``testing`` subpackages), C build tooling
whose code reads beside ``__file__`` only while generating or compiling C code (packages named
``distutils``, as ``numpy.distutils`` and ``setuptools._distutils``; cffi's compiler modules
``cffi.recompiler``/``verifier``/``vengine_*``; pycparser's table generators), and
type-checker files (``*.pyi``, ``py.typed``), which nothing reads at run time.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pyoxidizer_py.resources.model import (
    PythonModuleSource,
    PythonPackageResource,
    Resource,
    read_content,
)
from pyoxidizer_py.resources.policy import parse_location

__all__ = ["DataPlacement", "place_data_beside_file_users", "uses_file_attribute"]

_log = logging.getLogger(__name__)

_FILE_RE = re.compile(rb"\b__file__\b")
FALLBACK_FIX = 'policy.resources_location_fallback = "filesystem-relative:lib"'


# Calls that only compute or print a path: a __file__-derived value passed to them is not read.
_PATH_ONLY_CALLS = frozenset(
    {
        "join",
        "dirname",
        "abspath",
        "realpath",
        "normpath",
        "normcase",
        "basename",
        "split",
        "splitext",
        "relpath",
        "expanduser",
        "fspath",
        "Path",
        "PurePath",
        "PosixPath",
        "PurePosixPath",
        "str",
        "repr",
        "format",
        "with_name",
        "with_suffix",
        "with_stem",
        "resolve",
        "absolute",
        "joinpath",
        "relative_to",
        "print",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "len",
        "isinstance",
        "startswith",
        "endswith",
        "replace",
        "strip",
        "rstrip",
        "lstrip",
        "encode",
        "decode",
        "append",
        "insert",
        "get",
        "getattr",
        "hasattr",
        "setattr",
    }
)


def uses_file_attribute(source: bytes) -> int | None:
    """The first line where ``source`` reads files beside ``__file__`` (module docstring), or None.

    Args:
        source: a module's source bytes.

    Returns:
        A 1-based line number of a file-access call whose arguments (or, for a method call, the
        object) use ``__file__`` or a name assigned from an expression using it; None otherwise
        (comments, strings and ``module.__file__`` attributes do not count), and None for source
        that does not parse.
    """
    if not _FILE_RE.search(source):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    derived: set[str] = {"__file__"}

    def uses_file(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id in derived and isinstance(n.ctx, ast.Load) for n in ast.walk(node))

    assignments = [n for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None]
    for _ in range(3):  # names derived from names derived from __file__
        for node in assignments:
            assert node.value is not None
            if uses_file(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                derived.update(t.id for t in targets if isinstance(t, ast.Name))
    lines = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name is None or name in _PATH_ONLY_CALLS or name.endswith(("Error", "Exception", "Warning")):
            continue  # path arithmetic, formatting, logging, or an exception's message
        operands = [*call.args, *(k.value for k in call.keywords)]
        if isinstance(func, ast.Attribute):
            operands.append(func.value)
        if any(uses_file(op) for op in operands):
            lines.append(call.lineno)
    return min(lines) if lines else None


# Modules that read beside __file__ only while generating or compiling C code.
_C_BUILD_MODULES = frozenset(
    {
        "cffi.recompiler",
        "cffi.verifier",
        "cffi.vengine_cpy",
        "cffi.vengine_gen",
        "pycparser._ast_gen",
        "pycparser._build_tables",
    }
)


def _not_counted(module: str) -> bool:
    """Test code and C build tooling (module docstring)."""
    parts = module.split(".")
    return (
        parts[-1] == "conftest"
        or module in _C_BUILD_MODULES
        or any(p in ("test", "tests", "testing", "distutils", "_distutils") for p in parts)
    )


def _type_checker_file(name: str) -> bool:
    return name.endswith(".pyi") or name.rpartition("/")[2] == "py.typed"


@dataclass(frozen=True, kw_only=True, slots=True)
class DataPlacement:
    """What ``place_data_beside_file_users`` did for one package tree.

    Attributes:
        package: the tree's root package (``pytz``, ``blib2to3``).
        module: a module naming ``__file__`` and the line (``"pytz:96"``).
        moved: data files moved to the filesystem.
        prefix: where they went (``"lib"``), or None when they stayed in memory (no fallback).
        in_memory: data files left in memory because there is no filesystem fallback.
    """

    package: str
    module: str
    moved: int
    prefix: str | None
    in_memory: int


def _is_memory(location: str) -> bool:
    try:
        return parse_location(location)[0] == "in-memory"
    except ValueError:
        return False


def _filesystem_fallback(resource: Resource) -> str | None:
    fallback = resource.add.location_fallback
    if fallback is None:
        return None
    try:
        kind = parse_location(fallback)[0]
    except ValueError:
        return None
    return fallback if kind == "filesystem-relative" else None


def place_data_beside_file_users(resources: Sequence[Resource]) -> tuple[list[Resource], list[DataPlacement]]:
    """Apply the module docstring's rule.

    Args:
        resources: an executable's resources with ``add`` set (policy and callbacks applied).

    Returns:
        ``(resources, placements)``: a new list in the same order, in which the in-memory data
        files of packages whose code uses ``__file__`` have their location fallback as location;
        and one ``DataPlacement`` per package tree that had in-memory data (sorted by package).
        A warning is logged for each tree whose data stays in memory.

    Raises:
        OSError: a module's source cannot be read.
    """
    users: dict[str, str] = {}
    for r in resources:
        if not isinstance(r, PythonModuleSource) or r.is_stdlib or not r.add.include or _not_counted(r.name):
            continue
        line = uses_file_attribute(read_content(r))
        if line is None:
            continue
        package = r.name if r.is_package else r.name.rpartition(".")[0]
        if not package:
            continue  # a top-level module has no package data
        users.setdefault(package, f"{r.name}:{line}")
    if not users:
        return list(resources), []

    def tree_of(package: str) -> str | None:
        parts = package.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in users:
                return candidate
        return None

    out: list[Resource] = []
    moved: dict[str, int] = {}
    kept: dict[str, int] = {}
    prefixes: dict[str, str] = {}
    for r in resources:
        if (
            isinstance(r, PythonPackageResource)
            and not r.is_stdlib
            and r.add.include
            and _is_memory(r.add.location)
            and not _type_checker_file(r.name)
        ):
            tree = tree_of(r.package)
            if tree is not None:
                fallback = _filesystem_fallback(r)
                if fallback is None:
                    kept[tree] = kept.get(tree, 0) + 1
                else:
                    out.append(dataclasses.replace(r, add=dataclasses.replace(r.add, location=fallback)))
                    moved[tree] = moved.get(tree, 0) + 1
                    prefixes.setdefault(tree, parse_location(fallback)[1] or ".")
                    continue
        out.append(r)
    placements = []
    for tree in sorted(set(moved) | set(kept)):
        placement = DataPlacement(
            package=tree,
            module=users[tree],
            moved=moved.get(tree, 0),
            prefix=prefixes.get(tree),
            in_memory=kept.get(tree, 0),
        )
        placements.append(placement)
        if placement.moved:
            _log.info(
                "%s: its code uses __file__ (%s); %d data files installed in %s/ so open() finds them",
                tree,
                placement.module,
                placement.moved,
                placement.prefix,
            )
        if placement.in_memory:
            _log.warning(
                "%s: its code uses __file__ (%s) but %d of its data files are in memory, where open() "
                "cannot read them; add %s (or set add_location on them)",
                tree,
                placement.module,
                placement.in_memory,
                FALLBACK_FIX,
            )
    return out, placements
