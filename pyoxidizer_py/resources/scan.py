"""Classify the files of a site-packages-like directory tree into typed resources.

Rules (paths relative to the scanned root, ``/``-separated):

* ``__pycache__`` directories and ``*.pyc``/``*.pyo`` files are skipped (bytecode is
  compiled later with the target Python).
* ``NAME-VERSION.dist-info/FILE`` (and ``.egg-info``) -> ``PythonPackageDistributionResource``.
* A chain of directories whose names are Python identifiers is a package path
  (regular with ``__init__.py``, or a PEP 420 namespace package without one):

  - ``pkg/mod.py`` -> ``PythonModuleSource("pkg.mod")``; ``pkg/__init__.py`` ->
    ``PythonModuleSource("pkg", is_package=True)``; a top-level ``mod.py`` -> ``"mod"``;
  - ``pkg/_x.cpython-311-x86_64-linux-gnu.so`` / ``_x.abi3.so`` / ``_x.so`` ->
    ``PythonExtensionModule("pkg._x")``, the suffix being one of the target's extension
    suffixes (longest match first). A bare ``.so`` whose stem starts with ``lib`` is taken to
    be a shared library, not a module. ``pkg/__init__<suffix>`` is the package ``pkg`` itself
    (``is_package``; mypyc compiles ``__init__.py`` so). The stem may be any ASCII word, not only
    an identifier: mypyc's shared module ``<hex>__mypyc<suffix>`` is imported by C code
    (``PyImport_ImportModule``), and CPython's path-based finder finds it too;
  - any other file inside a package -> ``PythonPackageResource(package, name)``, where package is
    the deepest *regular* package (directory with ``__init__.py``) above the file and name the rest
    of the path: ``pkg/data/x.txt`` and ``pkg/data-files/x.txt`` belong to ``pkg`` when ``pkg/data``
    has no ``__init__.py`` (inside a pure namespace tree, the deepest identifier directory).
* Shared libraries (``*.so``/``*.so.N`` not classified as modules, anything under a
  top-level ``*.libs`` directory as wheels repaired by auditwheel have) -> ``SharedLibrary``.
* Files that fit none of these (a top-level ``README``, a ``.pth`` file, files under a
  non-identifier top-level directory) are only reported as ``File`` records, when the scan
  emits files (``file_scanner_emit_files``).

With ``emit_files`` every file is also reported as a ``File`` record.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.resources.model import (
    File,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageDistributionResource,
    PythonPackageResource,
    Resource,
    SharedLibrary,
)

__all__ = ["ScanOptions", "is_stdlib_test_name", "scan_tree"]

_log = logging.getLogger(__name__)

_SHLIB_RE = re.compile(r"\.so(\.\d+)*$|\.dylib$|\.dll$")
_EXTENSION_STEM_RE = re.compile(r"[A-Za-z0-9_]+")
_METADATA_SUFFIXES = (".dist-info", ".egg-info")

# Stdlib packages that are tests, test data or development tools rather than runtime code.
# They follow the policy's include_test (PyOxidizer keyed only on test packages; idlelib,
# ensurepip with its bundled wheels, turtledemo and the __hello__/__phello__ freeze test
# modules are grouped with them here because no application needs them at run time).
_STDLIB_DEV_TOP_LEVEL = frozenset(
    {
        "test",
        "idlelib",
        "ensurepip",
        "turtledemo",
        "__phello__",
        "__hello__",
        "__phello_alias__",
    }
)
_TEST_COMPONENTS = frozenset({"test", "tests", "idle_test"})


def is_stdlib_test_name(name: str) -> bool:
    """Whether a stdlib module or package name is test/dev-tool code excluded unless ``include_test``.

    Args:
        name: dotted module or package name (``"unittest.test.test_case"``, ``"idlelib"``).

    Returns:
        True for ``test`` and anything under it, any package component named ``test``, ``tests``
        or ``idle_test`` (``ctypes.test``, ``lib2to3.tests``, ``tkinter.test``, ...), and the dev
        tools ``idlelib``, ``ensurepip``, ``turtledemo``, ``__phello__``/``__hello__``.
    """
    parts = name.split(".")
    return parts[0] in _STDLIB_DEV_TOP_LEVEL or any(p in _TEST_COMPONENTS for p in parts[1:])


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanOptions:
    """How to classify a tree.

    Attributes:
        extension_suffixes: the target's extension module suffixes, longest match wins.
        is_stdlib: mark resources as coming from the distribution (and mark test code ``is_test``).
        classify: emit typed resources (``file_scanner_classify_files``).
        emit_files: also emit every file as ``File`` (``file_scanner_emit_files``).
        skip_top_level: top-level names (files or directories) to ignore entirely.
    """

    extension_suffixes: tuple[str, ...] = (".abi3.so", ".so")
    is_stdlib: bool = False
    classify: bool = True
    emit_files: bool = False
    skip_top_level: frozenset[str] = frozenset()


def _walk(root: Path, skip_top_level: frozenset[str]) -> Iterator[tuple[Path, str]]:
    """Yield ``(absolute path, relative posix path)`` of regular files, sorted, skipping bytecode."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        at_top = rel_dir == "."
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not (at_top and d in skip_top_level))
        for fname in sorted(filenames):
            if fname.endswith((".pyc", ".pyo")) or (at_top and fname in skip_top_level):
                continue
            full = Path(dirpath, fname)
            if full.is_symlink() and not full.exists():
                continue
            rel = fname if at_top else f"{Path(rel_dir).as_posix()}/{fname}"
            yield full, rel


def _extension_suffix(fname: str, suffixes: Iterable[str]) -> str | None:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if fname.endswith(suffix) and len(fname) > len(suffix):
            stem = fname[: -len(suffix)]
            if not _EXTENSION_STEM_RE.fullmatch(stem):
                continue
            if suffix == ".so" and stem.startswith("lib"):
                return None
            return suffix
    return None


def _classify(full: Path, rel: str, opts: ScanOptions) -> Resource | None:
    parts = rel.split("/")
    dirs, fname = parts[:-1], parts[-1]
    is_stdlib = opts.is_stdlib

    if dirs and dirs[0].endswith(_METADATA_SUFFIXES):
        stem = dirs[0].rsplit(".", 1)[0]
        bits = stem.split("-")
        return PythonPackageDistributionResource(
            package=bits[0],
            version=bits[1] if len(bits) > 1 else "",
            name="/".join(parts[1:]),
            directory=dirs[0],
            is_stdlib=is_stdlib,
            path=full,
        )

    # Leading identifier directories form the package path.
    k = 0
    while k < len(dirs) and dirs[k].isidentifier():
        k += 1
    pkg_parts = dirs[:k]
    package = ".".join(pkg_parts)

    if (dirs and dirs[0].endswith(".libs")) or (k < len(dirs) and _SHLIB_RE.search(fname)):
        return SharedLibrary(name=rel, path=full)

    if k == len(dirs):
        # In the stdlib, not only identifiers: importlib imports any file name, and sysconfig
        # imports ``_sysconfigdata__linux_x86_64-linux-gnu`` by name.
        stem_ok = fname[:-3].replace("-", "_").isidentifier() if is_stdlib else fname[:-3].isidentifier()
        if fname.endswith(".py") and stem_ok:
            stem = fname[:-3]
            if stem == "__init__":
                if not pkg_parts:
                    return None
                name = package
                is_pkg = True
            else:
                name = f"{package}.{stem}" if package else stem
                is_pkg = False
            return PythonModuleSource(
                name=name,
                is_package=is_pkg,
                is_stdlib=is_stdlib,
                is_test=is_stdlib and is_stdlib_test_name(name),
                path=full,
            )
        suffix = _extension_suffix(fname, opts.extension_suffixes)
        if suffix is not None:
            stem = fname[: -len(suffix)]
            if stem == "__init__":
                if not package:
                    return None
                return PythonExtensionModule(
                    name=package, is_stdlib=is_stdlib, is_package=True, file_suffix=suffix, path=full
                )
            name = f"{package}.{stem}" if package else stem
            return PythonExtensionModule(name=name, is_stdlib=is_stdlib, file_suffix=suffix, path=full)
        if _SHLIB_RE.search(fname):
            return SharedLibrary(name=rel, path=full)

    if not pkg_parts:
        return None
    # A data file belongs to the deepest regular package (a directory with __init__.py) above it,
    # so ``pkg/data/x.txt`` is ``("pkg", "data/x.txt")`` when ``pkg/data`` is a plain directory; in
    # a namespace package tree without any __init__.py, to the deepest identifier directory.
    top = full.parents[len(dirs) - 1] if dirs else full.parent
    regular = [i for i in range(k, 0, -1) if _is_regular_package(top.parent.joinpath(*dirs[:i]), opts)]
    if regular:
        k = regular[0]
        package = ".".join(dirs[:k])
    return PythonPackageResource(
        package=package,
        name="/".join(parts[k:]),
        is_stdlib=is_stdlib,
        is_test=is_stdlib and is_stdlib_test_name(package),
        path=full,
    )


def _is_regular_package(directory: Path, opts: ScanOptions) -> bool:
    """A directory with ``__init__.py`` or an ``__init__`` extension module."""
    if (directory / "__init__.py").is_file():
        return True
    return any((directory / f"__init__{suffix}").is_file() for suffix in opts.extension_suffixes)


def scan_tree(root: Path, options: ScanOptions | None = None) -> list[Resource]:
    """Classify every file under ``root`` (see the module docstring for the rules).

    Args:
        root: a site-packages-like directory (a pip ``--target`` dir, a package root, a stdlib dir).
        options: classification options (default: classify only, generic suffixes).

    Returns:
        Resources in walk order (sorted by path), with default ``add`` attributes (apply the
        packaging policy afterwards). Content is read lazily from each record's ``path``.
    """
    opts = options or ScanOptions()
    out: list[Resource] = []
    for full, rel in _walk(root, opts.skip_top_level):
        if opts.emit_files:
            out.append(File(path_in_install=rel, is_executable=os.access(full, os.X_OK), path=full))
        if not opts.classify:
            continue
        resource = _classify(full, rel, opts)
        if resource is None:
            _log.debug("%s: not a Python resource, ignored", full)
            continue
        out.append(resource)
    return out
