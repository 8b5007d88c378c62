"""Leave out standard library modules an application cannot import: ``policy.stdlib_filter``
and the ``extension_module_filter = "no-unused-ui"`` default.

Both run once per build, after every resource of the executable is known (the stdlib is
added by ``to_python_executable``, before the application's code), and before placement:

* ``stdlib_filter = "imported"`` keeps only the stdlib modules reachable from the
  application: a static scan of import statements by the standard library's
  ``modulefinder`` (https://docs.python.org/3/library/modulefinder.html), run with the
  target interpreter (so the target's syntax and stdlib layout apply), starting from
  every module that is not from the distribution (the application and its packages),
  the interpreter configuration's ``run_command``/``run_module``, the modules CPython
  imports while it starts (minus ``site``'s interactive helpers), ``traceback`` (uncaught
  exceptions are printed through it), ``policy.stdlib_filter_keep``, the stdlib module
  names found as strings in the packages' compiled extension modules (Cython and C
  modules import by name at run time), and ``DYNAMIC_IMPORTS``: imports the stdlib does
  by computed name or from C. Every ``encodings`` codec is kept (``bytes.decode(name)``
  imports one by name). Unreachable stdlib module sources, package data and
  ``lib-dynload`` extension modules are dropped; modules compiled into libpython stay.
* ``extension_module_filter = "no-unused-ui"`` (the default, and every value but ``all``)
  drops the Tk and curses modules (``_tkinter``, ``tkinter``, ``turtle``, ``_curses``,
  ``_curses_panel``, ``curses``) when no module of the application or its packages (nor
  ``run_command``) mentions them; test extension modules (``_test*``, ``xx*``) are dropped by
  ``resources.stdlib`` unless ``include_test``.

What was dropped is returned for the build report, and an in-memory module
``_pyoxidizer_dropped`` maps each dropped name to the setting that dropped it, so the
runtime's importer can say so in its ``ModuleNotFoundError``. Static scans cannot see
imports by computed names (``importlib.import_module(name)``, plugins, ``pickle`` data
naming classes): list those modules in ``policy.stdlib_filter_keep``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.distribution.host_python import bytecode_python
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import ResourceError
from pyoxidizer_py.resources.model import (
    AddAttributes,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageResource,
    Resource,
    read_content,
)
from pyoxidizer_py.resources.policy import PackagingPolicy

__all__ = [
    "DROPPED_MODULE",
    "DYNAMIC_IMPORTS",
    "UI_MODULES",
    "Dropped",
    "FilterResult",
    "apply_import_filters",
    "scan_imports",
]

_log = logging.getLogger(__name__)

DROPPED_MODULE = "_pyoxidizer_dropped"
"""The generated module naming what the filters dropped (read by the runtime's importer)."""

DYNAMIC_IMPORTS: dict[str, tuple[str, ...]] = {
    # module reached: stdlib modules it imports by computed name or from C (``name.*``: a package
    # with all its submodules, ``prefix*``: every module whose name starts so).
    "time": ("_strptime",),  # time.strptime (C) imports _strptime
    "datetime": ("_strptime",),  # _datetime (C) imports _strptime for strptime()
    "decimal": ("numbers", "collections", "contextvars"),  # _decimal (C) imports them
    "sysconfig": ("_sysconfigdata_*", "_sysconfig_vars*"),  # build-time data imported by computed name
    "dbm": ("dbm.*",),  # dbm.open() imports dbm.gnu / dbm.ndbm / dbm.dumb by name
    "shelve": ("dbm.*",),
    "xml.sax": ("xml.sax.expatreader",),  # xml.sax.make_parser() imports its default parser by name
    "xml.dom.domreg": ("xml.dom.minidom",),  # getDOMImplementation() imports by name
    "sqlite3": ("sqlite3.dump",),  # Connection.iterdump (C) imports sqlite3.dump
    "logging.config": ("logging.handlers",),  # handler classes named in config dicts and files
    "multiprocessing": ("multiprocessing.*",),  # start methods and children import by name
    "asyncio": ("asyncio.*",),  # _asyncio (C) imports asyncio submodules
    "importlib.resources": ("pathlib", "importlib.resources.abc", "importlib.abc"),  # the runtime's reader
    "importlib.metadata": ("pathlib",),
    "encodings": ("encodings.*",),  # codecs are looked up by name
    "codecs": ("encodings.*",),
    "pickle": ("_compat_pickle", "copyreg"),  # _pickle (C) imports them
    "ctypes": ("ctypes._endian",),
}

UI_MODULES = ("_tkinter", "tkinter", "turtle", "_curses", "_curses_panel", "curses")
"""Top-level stdlib names ``extension_module_filter = "no-unused-ui"`` drops when nothing uses them."""

_UI_MENTION = re.compile(rb"\b(?:_?tkinter|turtle|_?curses)\b")
# Names stored as NUL-terminated strings in compiled extension modules (Cython's string table).
_BINARY_NAME = re.compile(rb"(?<=\x00)[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?=\x00)")
_ALWAYS = ("traceback", "encodings")
# Modules reached but not followed: site's interactive helpers (help(), the REPL's completion would
# bring pydoc), and the import system's own lazy imports (zip packages' resource readers,
# PathFinder.find_distributions), which only run once the application imported what they serve.
_NOT_SCANNED = frozenset(
    {
        "site",
        "_sitebuiltins",
        "sitecustomize",
        "usercustomize",
        "zipimport",
        "importlib._bootstrap",
        "importlib._bootstrap_external",
    }
)
_SCAN_TIMEOUT = 600
_STDLIB_FILTER = 'stdlib_filter = "imported"'


@dataclass(frozen=True, kw_only=True, slots=True)
class Dropped:
    """One resource a filter left out.

    Attributes:
        name: the module name (``xml.dom.minidom``) or, for package data, ``package:file``.
        kind: ``"module"``, ``"extension module"`` or ``"package data"``.
        setting: the policy setting that dropped it, as written in a config
            (``stdlib_filter = "imported"``).
    """

    name: str
    kind: str
    setting: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterResult:
    """What ``apply_import_filters`` kept and dropped.

    Attributes:
        resources: the executable's resources without the dropped ones, plus the
            ``_pyoxidizer_dropped`` module when something was dropped.
        dropped: every dropped resource, sorted by name.
        kept_stdlib_modules: stdlib module sources kept.
        stdlib_modules: stdlib module sources before filtering.
    """

    resources: tuple[Resource, ...]
    dropped: tuple[Dropped, ...]
    kept_stdlib_modules: int
    stdlib_modules: int

    def report(self) -> str:
        """The build report: a header, then one ``name<TAB>kind<TAB>setting`` line per dropped resource."""
        lines = [
            "# Resources left out of this executable by the packaging policy (generated by pyoxidizer-py).",
            f"# stdlib modules kept: {self.kept_stdlib_modules} of {self.stdlib_modules}; dropped: {len(self.dropped)}",
            "# name\tkind\tsetting",
        ]
        lines += [f"{d.name}\t{d.kind}\t{d.setting}" for d in self.dropped]
        return "\n".join(lines) + "\n"


_SCANNER = r"""
import ast, json, sys

import os

with open(sys.argv[1], encoding="utf-8") as f:
    job = json.load(f)
modules = job["modules"]  # name -> [source path or None, is package, is stdlib]
cache = {}  # "path|mtime_ns|size|stdlib|package" -> imports found, reused across builds
if job["cache"]:
    try:
        with open(job["cache"], encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
used = {}


def is_main_test(test):
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def called_names(node):
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def imports_of(name, path, is_package, stdlib):
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)
    body = tree.body
    if stdlib:
        # A stdlib module's `python -m` entry point (the __main__ block and the top-level functions it
        # calls: main(), _test(), ...) is not reachable by importing the module.
        entry = [n for n in body if isinstance(n, ast.If) and is_main_test(n.test)]
        skipped = set().union(*(called_names(n) for n in entry)) if entry else set()
        body = [n for n in body if n not in entry and not (
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in skipped)]
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for top in body:
        for node in ast.walk(top):
            if isinstance(node, ast.Import):
                found += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".") if package else []
                    if node.level - 1 > len(parts):
                        continue
                    base = ".".join(parts[:len(parts) - (node.level - 1)])
                    target = base + "." + node.module if node.module and base else (node.module or base)
                else:
                    target = node.module
                if target:
                    found.append(target)
                    found += [target + "." + a.name for a in node.names if a.name != "*"]
            elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)
                  and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                       or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
                found.append(node.args[0].value)  # __import__("x"), importlib.import_module("x")
    return found


seen = set()
queue = []


def add(name):
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in modules and prefix not in seen:
            seen.add(prefix)
            queue.append(prefix)


for root in job["roots"]:
    add(root)
failed = []
while queue:
    name = queue.pop()
    path, is_package, stdlib = modules[name]
    if path is None or name in job["excludes"]:
        continue
    try:
        st = os.stat(path)
        key = "%s|%d|%d|%d|%d|%s" % (path, st.st_mtime_ns, st.st_size, stdlib, is_package, name)
        found = cache.get(key)
        if found is None:
            found = imports_of(name, path, is_package, stdlib)
        used[key] = found
    except (SyntaxError, ValueError, OSError, RecursionError) as exc:
        failed.append("%s: %s: %s" % (name, type(exc).__name__, exc))
        continue
    for other in found:
        add(other)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump({"modules": sorted(seen), "failed": failed}, f)
if job["cache"]:
    cache.update(used)
    with open(job["cache"] + ".tmp", "w", encoding="utf-8") as f:
        json.dump({k: v for k, v in cache.items() if k in used or k.split("|")[3] == "1"}, f)
    os.replace(job["cache"] + ".tmp", job["cache"])
"""


def scan_imports(
    python_exe: Path,
    modules: dict[str, tuple[str | None, bool, bool]],
    roots: Iterable[str],
    *,
    excludes: Iterable[str] = (),
    cache: Path | None = None,
) -> frozenset[str]:
    """Every module reachable from ``roots`` by import statements, parsed by ``python_exe``'s ``ast``.

    The scan follows ``import`` and ``from ... import`` statements anywhere in a module
    (function bodies included), relative imports, and ``__import__("x")`` /
    ``importlib.import_module("x")`` calls with a literal name; importing ``a.b.c`` reaches
    ``a`` and ``a.b``. In stdlib modules, the ``if __name__ == "__main__":`` block and the
    top-level functions it calls (``python -m`` entry points) are not followed.

    Args:
        python_exe: the interpreter whose parser reads the code (the target's, or a same-version one).
        modules: every module that can be reached: ``{name: (source path or None, is package, is stdlib)}``
            (None for extension and built-in modules, which are reached but not read).
        roots: module names to start from; names not in ``modules`` are skipped.
        excludes: modules that are reached but whose imports are not followed.
        cache: a JSON file keeping each file's imports (keyed by path, mtime and size) across scans,
            so a rebuild parses only the files that changed; None parses everything.

    Returns:
        Names of the modules reached, the roots included.

    Raises:
        ResourceError: the interpreter cannot run the scan.
    """
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-scan-") as tmp:
        job = Path(tmp, "job.json")
        out = Path(tmp, "out.json")
        job.write_text(
            json.dumps(
                {
                    "modules": modules,
                    "roots": sorted(set(roots)),
                    "excludes": sorted(set(excludes)),
                    "cache": str(cache) if cache is not None else None,
                }
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        cmd = [str(python_exe), "-I", "-S", "-c", _SCANNER, str(job), str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=_SCAN_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ResourceError(f"stdlib_filter: cannot run the import scan with {python_exe}: {exc}") from exc
        if proc.returncode != 0 or not out.is_file():
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise ResourceError(f"stdlib_filter: the import scan failed with {python_exe}: {tail}")
        result = json.loads(out.read_text(encoding="utf-8"))
    for line in result["failed"]:
        _log.debug("import scan: %s", line)
    return frozenset(result["modules"])


def _expand(patterns: Iterable[str], names: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for pattern in patterns:
        if pattern.endswith(".*"):
            base = pattern[:-2]
            out |= {n for n in names if n == base or n.startswith(base + ".")}
        elif pattern.endswith("*"):
            out |= {n for n in names if n.startswith(pattern[:-1])}
        elif pattern in names:
            out.add(pattern)
    return out


def _with_parents(names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def _binary_names(extension: PythonExtensionModule, stdlib_names: frozenset[str]) -> set[str]:
    try:
        data = read_content(extension)
    except OSError:
        return set()
    return {m.decode() for m in _BINARY_NAME.findall(data)} & stdlib_names


def _reachable(
    resources: Sequence[Resource],
    dist: Distribution,
    policy: PackagingPolicy,
    *,
    run_command: str | None,
    run_module: str | None,
    startup: Iterable[str],
    stdlib_names: frozenset[str],
    cache: Path | None,
) -> set[str]:
    """The stdlib modules the application can import (see the module docstring)."""
    startup = set(startup)
    roots: set[str] = set(_ALWAYS) | set(policy.stdlib_filter_keep) | startup
    if run_module:
        roots |= {run_module, "runpy"}
    modules: dict[str, tuple[str | None, bool, bool]] = {}
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-app-") as tmp:
        tree = Path(tmp)
        for index, resource in enumerate(resources):
            if isinstance(resource, PythonModuleSource):
                if resource.is_stdlib and resource.path is not None:
                    path = str(resource.path)
                else:  # in-memory sources (make_python_module_source) are written out for the scan
                    path = str(tree / f"{index}.py")
                    try:
                        Path(path).write_bytes(read_content(resource))
                    except OSError as exc:
                        raise ResourceError(f"cannot read resource file {resource.path}: {exc}") from exc
                if not resource.is_stdlib:
                    roots.add(resource.name)
                modules[resource.name] = (path, resource.is_package, resource.is_stdlib)
            elif isinstance(resource, PythonExtensionModule):
                modules.setdefault(resource.name, (None, False, resource.is_stdlib))
                if not resource.is_stdlib:
                    roots.add(resource.name)
                    roots |= _binary_names(resource, stdlib_names)
        if run_command:
            command_path = tree / "run_command.py"
            command_path.write_text(run_command, encoding="utf-8")
            modules["__pyoxidizer_run_command__"] = (str(command_path), False, False)
            roots.add("__pyoxidizer_run_command__")
        python = bytecode_python(dist)
        reached = set(scan_imports(python, modules, roots, excludes=_NOT_SCANNED, cache=cache)) | (
            startup & stdlib_names
        )
        # Imports by computed name, until nothing new is added.
        while True:
            extra: set[str] = set()
            for trigger, patterns in DYNAMIC_IMPORTS.items():
                if trigger in reached:
                    extra |= _expand(patterns, stdlib_names)
            extra = _with_parents(extra) - reached
            if not extra:
                break
            reached |= scan_imports(python, modules, extra, excludes=_NOT_SCANNED, cache=cache)
    return _with_parents(reached) & stdlib_names


def _top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def _ui_unused(resources: Sequence[Resource], run_command: str | None) -> bool:
    """Whether no module outside the stdlib (nor ``run_command``) mentions a Tk or curses module."""
    if run_command and _UI_MENTION.search(run_command.encode("utf-8")):
        return False
    for resource in resources:
        if isinstance(resource, PythonModuleSource) and not resource.is_stdlib:
            try:
                if _UI_MENTION.search(read_content(resource)):
                    return False
            except OSError:
                return False
    return True


def _stdlib_name(resource: Resource) -> tuple[str, str] | None:
    """(module name, kind) of a stdlib resource the filters may drop, else None."""
    if isinstance(resource, PythonModuleSource) and resource.is_stdlib and resource.name != DROPPED_MODULE:
        return resource.name, "module"
    if isinstance(resource, PythonExtensionModule) and resource.is_stdlib and not resource.is_builtin:
        return resource.name, "extension module"
    if isinstance(resource, PythonPackageResource) and resource.is_stdlib:
        return resource.package, "package data"
    return None


def _reason(setting: str) -> str:
    if setting == _STDLIB_FILTER:
        return (
            'policy.stdlib_filter = "imported" (no import of it was found); list it in '
            'policy.stdlib_filter_keep or set policy.stdlib_filter = "all"'
        )
    return f'policy.{setting} (nothing in the build mentions it); set policy.extension_module_filter = "all"'


def dropped_module_source(dropped: Sequence[Dropped]) -> bytes:
    """Source of ``_pyoxidizer_dropped``, read by the runtime's importer when an import fails.

    It defines ``REASONS`` (a tuple of sentences naming a setting and how to change it) and
    ``DROPPED = {module name: index into REASONS}`` for dropped modules and extension modules.
    """
    reasons = sorted({d.setting for d in dropped})
    table = {d.name: reasons.index(d.setting) for d in dropped if d.kind != "package data"}
    body = "".join(f"    {name!r}: {index},\n" for name, index in sorted(table.items()))
    texts = "".join(f"    {_reason(r)!r},\n" for r in reasons)
    return (
        '"""Modules left out of this executable by its packaging policy (generated by pyoxidizer-py)."""\n'
        f"REASONS = (\n{texts})\nDROPPED = {{\n{body}}}\n"
    ).encode()


def apply_import_filters(
    resources: Sequence[Resource],
    dist: Distribution,
    policy: PackagingPolicy,
    *,
    run_command: str | None = None,
    run_module: str | None = None,
    startup: Iterable[str] = (),
    scan_cache: Path | None = None,
) -> FilterResult:
    """Drop the stdlib resources ``policy.stdlib_filter`` and ``extension_module_filter`` leave out.

    Args:
        resources: every resource of the executable, ``add`` set (excluded ones are passed through).
        dist: the target distribution (its interpreter runs the import scan).
        policy: the packaging policy (``stdlib_filter``, ``stdlib_filter_keep``, ``extension_module_filter``).
        run_command: the interpreter configuration's ``run_command`` (scanned like a module).
        run_module: the configured ``run_module``.
        startup: modules the interpreter imports while it starts (``resource_artifacts.startup_modules``).
        scan_cache: a file the import scan keeps per-file results in across builds (see ``scan_imports``).

    Returns:
        A ``FilterResult``; ``resources`` is the input unchanged when nothing is dropped.

    Raises:
        ResourceError: the import scan cannot run, or a resource cannot be read.
    """
    resources = list(resources)
    stdlib = [(r, n) for r in resources if (n := _stdlib_name(r)) is not None]
    stdlib_modules = {n for _, (n, kind) in stdlib if kind == "module"}
    drop: dict[str, str] = {}
    if policy.stdlib_filter == "imported":
        names = frozenset(n for _, (n, _kind) in stdlib)
        reached = _reachable(
            resources,
            dist,
            policy,
            run_command=run_command,
            run_module=run_module,
            startup=startup,
            stdlib_names=names,
            cache=scan_cache,
        )
        drop |= {n: _STDLIB_FILTER for n in names - reached}
    if policy.extension_module_filter != "all" and _ui_unused(resources, run_command):
        ui = {n for _, (n, _kind) in stdlib if _top(n) in UI_MODULES}
        setting = f'extension_module_filter = "{policy.extension_module_filter}"'
        drop |= {n: setting for n in ui if n not in drop}
    if not drop:
        count = sum(1 for r, (n, kind) in stdlib if kind == "module" and r.add.include)
        return FilterResult(
            resources=tuple(resources), dropped=(), kept_stdlib_modules=count, stdlib_modules=len(stdlib_modules)
        )
    kept: list[Resource] = []
    dropped: dict[tuple[str, str], Dropped] = {}
    for resource in resources:
        found = _stdlib_name(resource)
        if found is not None and found[0] in drop:
            name, kind = found
            if resource.add.include:
                label = f"{name}:{resource.name}" if kind == "package data" else name  # type: ignore[union-attr]
                dropped[(label, kind)] = Dropped(name=label, kind=kind, setting=drop[name])
            continue
        kept.append(resource)
    ordered = tuple(sorted(dropped.values(), key=lambda d: (d.name, d.kind)))
    if ordered:
        kept.append(
            PythonModuleSource(
                name=DROPPED_MODULE,
                data=dropped_module_source(ordered),
                is_stdlib=True,
                add=dataclasses.replace(
                    AddAttributes(),
                    source=False,
                    location=policy.resources_location,
                    location_fallback=policy.resources_location_fallback,
                ),
            )
        )
    kept_modules = sum(
        1
        for r in kept
        if isinstance(r, PythonModuleSource) and r.is_stdlib and r.add.include and r.name != DROPPED_MODULE
    )
    return FilterResult(
        resources=tuple(kept),
        dropped=ordered,
        kept_stdlib_modules=kept_modules,
        stdlib_modules=len(stdlib_modules),
    )
