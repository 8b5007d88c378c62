"""Materialise filesystem-relative resources into an install directory.

For a resource whose location is ``filesystem-relative:PREFIX`` (``.`` = the
executable's directory) the files are laid out as CPython's path-based importer
expects them:

* module ``pkg.mod``: ``PREFIX/pkg/mod.py`` when its source is kept, with bytecode in
  ``PREFIX/pkg/__pycache__/mod.<cache_tag>[.opt-N].pyc``; without source, a sourceless
  ``PREFIX/pkg/mod.pyc`` (from level 0, else the lowest requested level: the sourceless
  loader reads only that one file);
* package resources at ``PREFIX/<package path>/<name>``; ``*.dist-info`` files at
  ``PREFIX/<directory>/<name>`` (so ``importlib.metadata`` finds them);
* extension modules at ``PREFIX/<dotted path><suffix>``; shared libraries and ``File``
  records at ``PREFIX/<relative path>``. Built-in extension modules have no file.

Until the in-memory importer exists, ``in-memory`` resources are installed as
``filesystem-relative:lib`` too: ``filesystem_location`` is the single place that
decides this.

Incremental: a file is only rewritten when its bytes change (atomic replace), and a
manifest (``.pyoxidizer-py-manifest.json`` in the install dir) lists the files this
stage wrote, so files from a previous build that are no longer produced are deleted
(never files this stage did not write).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.bytecode import BytecodeRequest, compile_bytecode
from pyoxidizer_py.resources.model import (
    AddAttributes,
    File,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageDistributionResource,
    PythonPackageResource,
    Resource,
    SharedLibrary,
    read_content,
)
from pyoxidizer_py.resources.policy import parse_location

__all__ = [
    "MANIFEST_NAME",
    "FilesystemInstall",
    "filesystem_location",
    "install_filesystem_resources",
    "module_search_path",
]

_log = logging.getLogger(__name__)

MANIFEST_NAME = ".pyoxidizer-py-manifest.json"
IN_MEMORY_STAND_IN = "lib"
"""Prefix used for ``in-memory`` resources until the in-memory importer exists."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FilesystemInstall:
    """What ``install_filesystem_resources`` did.

    Attributes:
        module_search_paths: entries for ``PyConfig.module_search_paths``, ``$ORIGIN``-relative
            (``("$ORIGIN/lib",)``), in first-use order.
        files: every file the stage manages now (relative ``/`` paths).
        written: files created or rewritten this run.
        removed: stale files deleted this run.
    """

    module_search_paths: tuple[str, ...]
    files: tuple[str, ...]
    written: tuple[str, ...]
    removed: tuple[str, ...]


def filesystem_location(add: AddAttributes) -> str | None:
    """The filesystem prefix a resource is installed under, or None when it is not a file.

    This is the one decision point for ``in-memory`` resources: there is no in-memory
    importer yet, so they go to ``filesystem-relative:lib`` (``IN_MEMORY_STAND_IN``).

    Raises:
        BuildError: the location string is invalid.
    """
    try:
        kind, prefix = parse_location(add.location)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    if kind == "in-memory":
        return IN_MEMORY_STAND_IN
    return prefix


def module_search_path(prefix: str) -> str:
    """``$ORIGIN``-relative search path entry for an install prefix (``.`` -> ``$ORIGIN``)."""
    clean = prefix.strip("/")
    return "$ORIGIN" if clean in ("", ".") else f"$ORIGIN/{clean}"


def _join(prefix: str, rel: str) -> str:
    clean = prefix.strip("/")
    rel = rel.strip("/")
    joined = rel if clean in ("", ".") else f"{clean}/{rel}"
    if any(part in ("..", "") for part in joined.split("/")):
        raise BuildError(f"resource path {joined!r} escapes the install directory")
    return joined


def _module_paths(module: PythonModuleSource) -> tuple[str, str]:
    """Return (source path, pyc stem dir-relative) for a module, relative to its prefix."""
    parts = module.name.split(".")
    if module.is_package:
        return "/".join([*parts, "__init__.py"]), "/".join([*parts, "__init__"])
    return "/".join(parts) + ".py", "/".join(parts)


def _levels(add: AddAttributes) -> list[int]:
    return [lvl for lvl, on in enumerate((
        add.bytecode_optimization_level_zero,
        add.bytecode_optimization_level_one,
        add.bytecode_optimization_level_two,
    )) if on]


class _Plan:
    """Files to write (relative path -> (bytes, executable)) and prefixes in first-use order."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bool]] = {}
        self.prefixes: list[str] = []
        self.modules: list[tuple[PythonModuleSource, str, bytes]] = []

    def put(self, rel: str, data: bytes, executable: bool = False) -> None:
        if rel in self.files and self.files[rel][0] != data:
            _log.debug("%s: provided twice with different content; last one wins", rel)
        self.files[rel] = (data, executable)

    def add(self, res: Resource) -> None:
        if not res.add.include or (isinstance(res, PythonExtensionModule) and res.is_builtin):
            return
        prefix = filesystem_location(res.add)
        if prefix is None:
            return
        if prefix not in self.prefixes:
            self.prefixes.append(prefix)
        try:
            data = read_content(res)
        except OSError as exc:
            raise BuildError(f"cannot read resource file {res.path}: {exc}") from exc
        if isinstance(res, PythonModuleSource):
            if res.add.source:
                self.put(_join(prefix, _module_paths(res)[0]), data)
            self.modules.append((res, prefix, data))
        elif isinstance(res, PythonPackageResource):
            self.put(_join(prefix, res.package.replace(".", "/") + "/" + res.name), data)
        elif isinstance(res, PythonPackageDistributionResource):
            self.put(_join(prefix, f"{res.directory}/{res.name}"), data)
        elif isinstance(res, PythonExtensionModule):
            self.put(_join(prefix, res.name.replace(".", "/") + res.file_suffix), data, True)
        elif isinstance(res, SharedLibrary):
            self.put(_join(prefix, res.name), data, True)
        elif isinstance(res, File):
            self.put(_join(prefix, res.path_in_install), data, res.is_executable)

    def add_bytecode(self, dist: Distribution, cache_dir: Path | None) -> None:
        if not self.modules:
            return
        if dist.python_exe is None:
            raise BuildError(f"cannot compile bytecode: {dist.description} has no runnable python here")
        requests = []
        for module, _prefix, data in self.modules:
            levels = _levels(module.add)
            if not module.add.source:
                levels = levels[:1]  # a sourceless module is one mod.pyc
            src_rel = _module_paths(module)[0]
            requests += [
                BytecodeRequest(name=module.name, source=data, filename=src_rel, optimize=lvl)
                for lvl in levels
            ]
        compiled = compile_bytecode(dist.python_exe, dist.bytecode_magic, requests, cache_dir=cache_dir)
        for module, prefix, _data in self.modules:
            stem = _module_paths(module)[1]
            levels = _levels(module.add)
            if not module.add.source:
                pyc = compiled.get((module.name, levels[0])) if levels else None
                if pyc is not None:
                    self.put(_join(prefix, stem + ".pyc"), pyc)
                continue
            head, _, base = stem.rpartition("/")
            for lvl in levels:
                pyc = compiled.get((module.name, lvl))
                if pyc is None:
                    continue
                opt = "" if lvl == 0 else f".opt-{lvl}"
                name = f"__pycache__/{base}.{dist.cache_tag}{opt}.pyc"
                self.put(_join(prefix, f"{head}/{name}" if head else name), pyc)


def _write_if_changed(target: Path, data: bytes, executable: bool) -> bool:
    mode = 0o755 if executable else 0o644
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            if (target.stat().st_mode & 0o777) != mode:
                target.chmod(mode)
            return False
    except OSError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _read_manifest(path: Path) -> list[str]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = value.get("files", []) if isinstance(value, dict) else []
    return [f for f in files if isinstance(f, str)]


def install_filesystem_resources(
    resources: Iterable[Resource],
    dist: Distribution,
    install_dir: Path,
    *,
    bytecode_cache_dir: Path | None = None,
) -> FilesystemInstall:
    """Write included resources as files under ``install_dir`` (see the module docstring).

    Args:
        resources: resources with ``add`` set (excluded ones and built-in extensions are skipped).
        dist: the target distribution (cache tag, bytecode magic, python for compiling).
        install_dir: the directory the executable is installed in.
        bytecode_cache_dir: optional cache for compiled bytecode (speeds up rebuilds).

    Returns:
        A ``FilesystemInstall`` with the module search paths and file lists.

    Raises:
        BuildError: an invalid location, a path escaping the install dir, an unreadable resource,
            or an I/O error while writing.
        ResourceError: the bytecode compiler cannot run.
    """
    install_dir = Path(install_dir)
    plan = _Plan()
    for res in resources:
        plan.add(res)
    plan.add_bytecode(dist, bytecode_cache_dir)
    files, prefixes = plan.files, plan.prefixes
    manifest = install_dir / MANIFEST_NAME
    previous = _read_manifest(manifest)
    written: list[str] = []
    try:
        for rel in sorted(files):
            data, executable = files[rel]
            if _write_if_changed(install_dir / rel, data, executable):
                written.append(rel)
        removed = []
        for rel in sorted(set(previous) - set(files)):
            target = install_dir / rel
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed.append(rel)
                parent = target.parent
                while parent != install_dir and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
        _write_if_changed(manifest, json.dumps({"files": sorted(files)}, indent=0).encode(), False)
    except OSError as exc:
        raise BuildError(f"writing resources into {install_dir} failed: {exc}") from exc
    _log.debug("%s: %d files, %d written, %d removed", install_dir, len(files), len(written), len(removed))
    return FilesystemInstall(
        module_search_paths=tuple(module_search_path(p) for p in prefixes),
        files=tuple(sorted(files)),
        written=tuple(written),
        removed=tuple(removed),
    )
