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
* extension modules at ``PREFIX/<dotted path><suffix>`` (a package's at
  ``PREFIX/<dotted path>/__init__<suffix>``); shared libraries and ``File``
  records at ``PREFIX/<relative path>``. Built-in extension modules have no file.

Which resources are files was decided by the resource plan (``resources.plan``): this
stage installs the plan's ``filesystem-relative`` resources and nothing else (a
``FileManifest``, which has no packed resources, plans with ``in_memory_as="lib"``).
What was installed is reported per module, package data file and metadata file
(``FilesystemInstall.modules`` ...), so the packed resources index can name these files
and the importer never probes the filesystem.

Incremental: a file is only rewritten when its bytes change (atomic replace), and a
manifest lists the files this stage wrote, so files from a previous build that are no
longer produced are deleted (never files this stage did not write). ``build`` keeps the
manifest in its work dir, outside the install dir, so the install holds only what the
config installs; a caller that names no manifest path gets ``.pyoxidizer-py-manifest.json``
in the install dir, present only while the stage manages files there.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyoxidizer_py.distribution.host_python import bytecode_python
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
from pyoxidizer_py.resources.plan import FILESYSTEM, ResourcePlan, extension_path

__all__ = [
    "MANIFEST_NAME",
    "FilesystemInstall",
    "InstalledDataFile",
    "InstalledExtension",
    "InstalledModule",
    "install_filesystem_resources",
    "module_search_path",
]

_log = logging.getLogger(__name__)

MANIFEST_NAME = ".pyoxidizer-py-manifest.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledModule:
    """A module installed as files.

    Attributes:
        name: dotted module name.
        prefix: normalised install prefix (``"lib"``, ``"."``).
        is_package: a package (``name/__init__.py``).
        source: the ``.py`` file was written.
        levels: optimisation levels whose ``__pycache__`` ``.pyc`` was written (with source).
        sourceless: no source; the bytecode is the single ``<path>.pyc`` beside the package dir.
    """

    name: str
    prefix: str
    is_package: bool
    source: bool
    levels: tuple[int, ...]
    sourceless: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledExtension:
    """An extension module file: ``prefix/relpath`` (``yaml/_yaml.cpython-311-x86_64-linux-gnu.so``);
    ``is_package`` for a package's ``__init__`` (``pkg/__init__.cpython-311-x86_64-linux-gnu.so``)."""

    name: str
    prefix: str
    relpath: str
    is_package: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDataFile:
    """A package data file (``owner`` = package) or distribution metadata file (``owner`` = the
    ``*.dist-info`` directory name), with ``name`` relative to the owner."""

    owner: str
    name: str
    prefix: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FilesystemInstall:
    """What ``install_filesystem_resources`` did.

    Attributes:
        module_search_paths: entries for ``PyConfig.module_search_paths``, ``$ORIGIN``-relative
            (``("$ORIGIN/lib",)``), in first-use order.
        files: every file the stage manages now (relative ``/`` paths).
        written: files created or rewritten this run.
        removed: stale files deleted this run.
        modules, extensions, package_data, distribution_files: what was installed, for the
            packed resources index.
    """

    module_search_paths: tuple[str, ...]
    files: tuple[str, ...]
    written: tuple[str, ...]
    removed: tuple[str, ...]
    modules: tuple[InstalledModule, ...] = field(default=())
    extensions: tuple[InstalledExtension, ...] = field(default=())
    package_data: tuple[InstalledDataFile, ...] = field(default=())
    distribution_files: tuple[InstalledDataFile, ...] = field(default=())


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
    return [
        lvl
        for lvl, on in enumerate(
            (
                add.bytecode_optimization_level_zero,
                add.bytecode_optimization_level_one,
                add.bytecode_optimization_level_two,
            )
        )
        if on
    ]


class _Plan:
    """Files to write (relative path -> (bytes, executable)) and prefixes in first-use order."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bool]] = {}
        self.prefixes: list[str] = []
        self.modules: list[tuple[PythonModuleSource, str, bytes]] = []
        self.installed_modules: dict[str, InstalledModule] = {}
        self.extensions: dict[str, InstalledExtension] = {}
        self.package_data: dict[tuple[str, str], InstalledDataFile] = {}
        self.distribution_files: dict[tuple[str, str], InstalledDataFile] = {}

    def put(self, rel: str, data: bytes, executable: bool = False) -> None:
        if rel in self.files and self.files[rel][0] != data:
            _log.debug("%s: provided twice with different content; last one wins", rel)
        self.files[rel] = (data, executable)

    def add(self, res: Resource, prefix: str) -> None:
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
            key = (res.package, res.name)
            self.package_data[key] = InstalledDataFile(owner=res.package, name=res.name, prefix=prefix)
        elif isinstance(res, PythonPackageDistributionResource):
            self.put(_join(prefix, f"{res.directory}/{res.name}"), data)
            key = (res.directory, res.name)
            self.distribution_files[key] = InstalledDataFile(owner=res.directory, name=res.name, prefix=prefix)
        elif isinstance(res, PythonExtensionModule):
            relpath = extension_path(res)
            self.put(_join(prefix, relpath), data, True)
            self.extensions[res.name] = InstalledExtension(
                name=res.name, prefix=prefix, relpath=relpath, is_package=res.is_package
            )
        elif isinstance(res, SharedLibrary):
            self.put(_join(prefix, res.name), data, True)
        elif isinstance(res, File):
            self.put(_join(prefix, res.path_in_install), data, res.is_executable)

    def add_bytecode(self, dist: Distribution, cache_dir: Path | None) -> None:
        if not self.modules:
            return
        requests = []
        for module, _prefix, data in self.modules:
            levels = _levels(module.add)
            if not module.add.source:
                levels = levels[:1]  # a sourceless module is one mod.pyc
            src_rel = _module_paths(module)[0]
            requests += [
                BytecodeRequest(name=module.name, source=data, filename=src_rel, optimize=lvl) for lvl in levels
            ]
        python = bytecode_python(dist)  # the distribution's, or a same-version one for a foreign triple
        compiled = compile_bytecode(python, dist.bytecode_magic, requests, cache_dir=cache_dir)
        for module, prefix, _data in self.modules:
            stem = _module_paths(module)[1]
            levels = _levels(module.add)
            written: list[int] = []
            if not module.add.source:
                pyc = compiled.get((module.name, levels[0])) if levels else None
                if pyc is not None:
                    self.put(_join(prefix, stem + ".pyc"), pyc)
                    written.append(levels[0])
                self.record_module(module, prefix, written)
                continue
            head, _, base = stem.rpartition("/")
            for lvl in levels:
                pyc = compiled.get((module.name, lvl))
                if pyc is None:
                    continue
                opt = "" if lvl == 0 else f".opt-{lvl}"
                name = f"__pycache__/{base}.{dist.cache_tag}{opt}.pyc"
                self.put(_join(prefix, f"{head}/{name}" if head else name), pyc)
                written.append(lvl)
            self.record_module(module, prefix, written)

    def record_module(self, module: PythonModuleSource, prefix: str, levels: list[int]) -> None:
        source = module.add.source
        if not source and not levels:
            return  # nothing importable was written (a sourceless module that does not compile)
        self.installed_modules[module.name] = InstalledModule(
            name=module.name,
            prefix=prefix,
            is_package=module.is_package,
            source=source,
            levels=tuple(levels),
            sourceless=not source,
        )


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
    plan: ResourcePlan,
    dist: Distribution,
    install_dir: Path,
    *,
    bytecode_cache_dir: Path | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    manifest_path: Path | None = None,
) -> FilesystemInstall:
    """Write the plan's ``filesystem-relative`` resources as files under ``install_dir``.

    Args:
        plan: the executable's resource plan (``resources.plan.plan_resources``).
        dist: the target distribution (cache tag, bytecode magic, python for compiling).
        install_dir: the directory the executable is installed in.
        bytecode_cache_dir: optional cache for compiled bytecode (speeds up rebuilds).
        extra_files: more files to manage the same way (relative ``/`` path -> bytes), such as a
            memory-mapped packed resources file.
        manifest_path: the JSON file listing what this stage wrote into ``install_dir`` (read
            to delete files a previous build wrote that are no longer produced); None =
            ``install_dir / MANIFEST_NAME``.

    Returns:
        A ``FilesystemInstall`` with the module search paths, file lists and what was installed.

    Raises:
        BuildError: a path escaping the install dir, an unreadable resource, or an I/O error
            while writing.
        ResourceError: the bytecode compiler cannot run.
        DistributionError: no interpreter on this machine can compile the distribution's bytecode.
    """
    install_dir = Path(install_dir)
    files_plan = _Plan()
    for planned in plan.at(FILESYSTEM):
        files_plan.add(planned.resource, planned.prefix)
    files_plan.add_bytecode(dist, bytecode_cache_dir)
    for rel, data in (extra_files or {}).items():
        files_plan.put(_join(".", rel), data)
    files, prefixes = files_plan.files, files_plan.prefixes
    manifest = install_dir / MANIFEST_NAME if manifest_path is None else Path(manifest_path)
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
        if files:
            _write_if_changed(manifest, json.dumps({"files": sorted(files)}, indent=0).encode(), False)
        else:
            manifest.unlink(missing_ok=True)
    except OSError as exc:
        raise BuildError(f"writing resources into {install_dir} failed: {exc}") from exc
    _log.debug("%s: %d files, %d written, %d removed", install_dir, len(files), len(written), len(removed))
    return FilesystemInstall(
        module_search_paths=tuple(module_search_path(p) for p in prefixes),
        files=tuple(sorted(files)),
        written=tuple(written),
        removed=tuple(removed),
        modules=tuple(files_plan.installed_modules.values()),
        extensions=tuple(files_plan.extensions.values()),
        package_data=tuple(files_plan.package_data.values()),
        distribution_files=tuple(files_plan.distribution_files.values()),
    )
