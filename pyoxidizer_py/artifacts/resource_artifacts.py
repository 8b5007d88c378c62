"""Turn an executable's resources into its resource artifacts: files beside it and ``packed-resources``.

Each included resource goes where the resource plan (``resources.plan.plan_resources``) says:

* ``filesystem-relative:PREFIX`` resources are installed by
  ``filesystem.install_filesystem_resources``;
* ``in-memory`` module sources, package data, distribution metadata, extension modules and
  shared libraries go into the packed resources blob (``packed_resources``), together with an
  index entry for every file installed above, so the runtime's importer finds everything
  without probing the filesystem.

The blob also carries the runtime's importer module (``templates/pyembed/python/``) and a
frozen-module table of the in-memory modules CPython imports while it initialises, found by
asking the target interpreter which modules its own start-up imports (``startup_modules``).
Bytecode is compiled by the target interpreter (``resources.bytecode``), sharing the on-disk
cache with the filesystem install.

``packed_resources_load_mode`` (a ``PythonExecutable`` attribute) decides where the blob goes:
``embedded:FILE`` (default ``embedded:packed-resources``) writes ``FILE`` into the artifacts
directory for ``include_bytes!``; ``binary-relative-memory-mapped:FILE`` writes it beside the
executable, to be memory-mapped at start-up; ``none`` writes none (every resource must then be
a file, found through ``sys.path`` by CPython's own importer).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import logging
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed
from pyoxidizer_py.artifacts.compression import Compression, compressor_for
from pyoxidizer_py.artifacts.filesystem import FilesystemInstall, install_filesystem_resources, module_search_path
from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.artifacts.packed_resources import (
    FrozenEntry,
    PackedContents,
    PackedFileModule,
    PackedMemoryExtension,
    PackedMemoryModule,
    PackedSharedLibrary,
    encode_packed_resources,
)
from pyoxidizer_py.artifacts.python_config_rs import PackedResourcesRef
from pyoxidizer_py.distribution.host_python import bytecode_python
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.bytecode import BytecodeRequest, compile_bytecode
from pyoxidizer_py.resources.model import (
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageDistributionResource,
    PythonPackageResource,
    Resource,
    SharedLibrary,
    read_content,
)
from pyoxidizer_py.resources.plan import IN_MEMORY, ResourcePlan, extension_path
from pyoxidizer_py.templates_dir import templates_dir

__all__ = [
    "IMPORTER_MODULE",
    "ResourceArtifacts",
    "StartupModules",
    "importer_source",
    "parse_load_mode",
    "startup_modules",
    "write_resource_artifacts",
]

_log = logging.getLogger(__name__)

IMPORTER_MODULE = "_pyoxidizer_importer"
"""Name of the runtime's importer module (its source is ``templates/pyembed/python/<name>.py``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceArtifacts:
    """What ``write_resource_artifacts`` produced.

    Attributes:
        filesystem: the filesystem install (its ``files`` include a memory-mapped blob).
        module_search_paths: ``$ORIGIN``-relative ``sys.path`` entries: the in-memory prefix
            (``$ORIGIN/lib``, so ``pkgutil`` and path hooks see in-memory modules) then the
            filesystem prefixes.
        packed_resources: sources for ``default_python_config.rs`` (empty for load mode ``none``).
        blob_path: the written blob, or None.
        in_memory_modules: how many modules are served from memory.
        frozen_modules: names in the blob's frozen table.
    """

    filesystem: FilesystemInstall
    module_search_paths: tuple[str, ...]
    packed_resources: tuple[PackedResourcesRef, ...]
    blob_path: Path | None
    in_memory_modules: int
    frozen_modules: tuple[str, ...]


def parse_load_mode(value: str) -> tuple[str, str | None]:
    """Split ``packed_resources_load_mode``.

    Returns:
        ``("none", None)``, ``("embedded", FILE)`` or ``("memory-mapped", FILE)``.

    Raises:
        BuildError: any other value, or a FILE that is absolute or leaves its directory.
    """
    if value == "none":
        return ("none", None)
    for prefix, kind in (("embedded:", "embedded"), ("binary-relative-memory-mapped:", "memory-mapped")):
        if value.startswith(prefix) and len(value) > len(prefix):
            name = value[len(prefix) :]
            if name.startswith("/") or ".." in name.split("/") or (kind == "embedded" and "/" in name):
                raise BuildError(f"packed_resources_load_mode {value!r}: {name!r} is not a plain relative file name")
            return (kind, name)
    raise BuildError(
        f"invalid packed_resources_load_mode {value!r}: expected 'none', 'embedded:FILE' "
        "or 'binary-relative-memory-mapped:FILE'"
    )


def importer_source() -> bytes:
    """The source of the runtime's importer module.

    Raises:
        BuildError: the templates are incomplete (a broken installation).
    """
    path = templates_dir() / "pyembed" / "python" / f"{IMPORTER_MODULE}.py"
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read the runtime's importer {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True, kw_only=True, slots=True)
class StartupModules:
    """Modules a CPython imports while it initialises.

    Attributes:
        imported: every module in ``sys.modules`` after initialisation (site included, without
            site-packages and customisation hooks, which the embedded interpreter does not have).
        cpython_frozen: those of them CPython itself serves from its own frozen modules.
    """

    imported: frozenset[str]
    cpython_frozen: frozenset[str]


_PROBE = r"""
import sys
import site, warnings
site.ENABLE_USER_SITE = False
site.PREFIXES[:] = []
site.execsitecustomize = site.execusercustomize = lambda: None
site.main()
import _imp
names = sorted(sys.modules)
print(repr((names, [n for n in names if _imp.is_frozen(n)])))
"""


@functools.lru_cache(maxsize=32)
def startup_modules(python_exe: Path, options: tuple[str, ...] = ()) -> StartupModules:
    """Ask the target interpreter which modules its start-up imports.

    Args:
        python_exe: the target distribution's interpreter.
        options: interpreter options the executable starts with (``-X``/``-W`` pairs), which can
            change the set (``-X frozen_modules=off``, warning options).

    Returns:
        The modules (cached per interpreter and options).

    Raises:
        BuildError: the interpreter cannot be run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    cmd = [str(python_exe), "-I", "-S", *options, "-c", _PROBE]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise BuildError(f"{python_exe}: cannot run the start-up module probe ({exc})") from exc
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise BuildError(f"{python_exe}: the start-up module probe failed: {tail}")
    names, frozen = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    return StartupModules(imported=frozenset(names), cpython_frozen=frozenset(frozen))


# Codecs CPython's start-up may need on Linux without a locale check: UTF-8 (and the C locale,
# coerced to UTF-8 by PEP 538/540), ASCII and Latin-1 (``coerce_c_locale = 0``, ``LANG=en_US``).
_HOT_CODECS = frozenset({"encodings", "encodings.aliases", "encodings.utf_8", "encodings.ascii", "encodings.latin_1"})


def _interpreter_options(config: InterpreterConfig) -> tuple[str, ...]:
    options: list[str] = []
    for x in config.x_options or ():
        options += ["-X", x]
    for w in config.warn_options or ():
        options += ["-W", w]
    return tuple(options)


def _levels(resource: PythonModuleSource) -> list[int]:
    add = resource.add
    flags = (
        add.bytecode_optimization_level_zero,
        add.bytecode_optimization_level_one,
        add.bytecode_optimization_level_two,
    )
    return [level for level, on in enumerate(flags) if on]


def _source_filename(name: str, is_package: bool) -> str:
    parts = name.split(".")
    return "/".join([*parts, "__init__.py"]) if is_package else "/".join(parts) + ".py"


def _read(resource: Resource) -> bytes:
    try:
        return read_content(resource)
    except OSError as exc:
        raise BuildError(f"cannot read resource file {resource.path}: {exc}") from exc


def _memory_modules(
    modules: Sequence[PythonModuleSource],
    dist: Distribution,
    *,
    frozen_names: Iterable[str],
    frozen_level: int,
    cache_dir: Path | None,
) -> tuple[list[PackedMemoryModule], list[FrozenEntry]]:
    """Compile the in-memory modules (and the frozen ones at ``frozen_level``) with the target Python."""
    frozen = set(frozen_names)
    sources = {m.name: _read(m) for m in modules}
    requests = []
    for module in modules:
        levels = set(_levels(module))
        if module.name in frozen:
            levels.add(frozen_level)
        filename = _source_filename(module.name, module.is_package)
        requests += [
            BytecodeRequest(name=module.name, source=sources[module.name], filename=filename, optimize=level)
            for level in sorted(levels)
        ]
    compiled: dict[tuple[str, int], bytes] = {}
    if requests:
        compiled = compile_bytecode(bytecode_python(dist), dist.bytecode_magic, requests, cache_dir=cache_dir)
    out: list[PackedMemoryModule] = []
    frozen_entries: list[FrozenEntry] = []
    for module in modules:
        bytecode = {lvl: compiled[(module.name, lvl)][16:] for lvl in _levels(module) if (module.name, lvl) in compiled}
        source = sources[module.name] if module.add.source else None
        if source is None and not bytecode:
            _log.warning("%s: no source kept and no bytecode (it does not compile): left out", module.name)
            continue
        out.append(PackedMemoryModule(name=module.name, is_package=module.is_package, source=source, bytecode=bytecode))
        if module.name in frozen:
            code = compiled.get((module.name, frozen_level))
            if code is not None:
                frozen_entries.append(FrozenEntry(name=module.name, is_package=module.is_package, code=code[16:]))
    return out, frozen_entries


def _file_modules(fs: FilesystemInstall) -> list[PackedFileModule]:
    out = [
        PackedFileModule(
            name=m.name,
            prefix=m.prefix,
            is_package=m.is_package,
            source=m.source,
            levels=m.levels,
            sourceless=m.sourceless,
        )
        for m in fs.modules
    ]
    out += [
        PackedFileModule(name=e.name, prefix=e.prefix, is_package=e.is_package, extension=e.relpath)
        for e in fs.extensions
    ]
    return out


def write_resource_artifacts(
    plan: ResourcePlan,
    dist: Distribution,
    *,
    artifacts_dir: Path,
    install_dir: Path,
    load_mode: str = "embedded:packed-resources",
    config: InterpreterConfig | None = None,
    bytecode_cache_dir: Path | None = None,
    manifest_path: Path | None = None,
    compression: Compression | None = None,
) -> ResourceArtifacts:
    """Install the filesystem resources and write the packed resources of one executable.

    Args:
        plan: the executable's resource plan (``resources.plan.plan_resources``).
        dist: the target distribution (its interpreter compiles bytecode and is probed).
        artifacts_dir: where an ``embedded:`` blob is written.
        install_dir: the executable's directory (filesystem resources, a memory-mapped blob).
        load_mode: ``packed_resources_load_mode``.
        config: the interpreter configuration (options that change start-up imports,
            ``optimization_level`` for the frozen table); default settings when None.
        bytecode_cache_dir: compiled bytecode cache shared across builds.
        manifest_path: where the list of installed files is kept between builds
            (``install_filesystem_resources``).
        compression: compress the in-memory payloads with Zstandard
            (``policy.resources_compression = "zstd"``; ``artifacts.compression``), with a
            dictionary trained on the in-memory standard library's bytecode; None stores them
            uncompressed.

    Returns:
        A ``ResourceArtifacts``.

    Raises:
        BuildError: in-memory resources with load mode ``none`` or without ``oxidized_importer``,
            unreadable resources, or an I/O error.
        DistributionError: no interpreter on this machine can compile the distribution's bytecode.
        ResourceError: the bytecode compiler cannot run.
    """
    config = config or InterpreterConfig()
    kind, blob_name = parse_load_mode(load_mode)
    fs = install_filesystem_resources(
        plan, dist, install_dir, bytecode_cache_dir=bytecode_cache_dir, manifest_path=manifest_path
    )
    extension_names = {e.name for e in fs.extensions}
    modules: dict[str, PythonModuleSource] = {}
    data: dict[tuple[str, str], bytes] = {}
    dist_files: dict[tuple[str, str], bytes] = {}
    extensions: dict[str, PackedMemoryExtension] = {}
    libraries: dict[str, PackedSharedLibrary] = {}
    for planned in plan.at(IN_MEMORY):
        resource = planned.resource
        if isinstance(resource, PythonModuleSource):
            modules[resource.name] = resource
        elif isinstance(resource, PythonPackageResource):
            data[(resource.package, resource.name)] = _read(resource)
        elif isinstance(resource, PythonPackageDistributionResource):
            dist_files[(resource.directory, resource.name)] = _read(resource)
        elif isinstance(resource, PythonExtensionModule):
            extensions[resource.name] = PackedMemoryExtension(
                name=resource.name,
                is_package=resource.is_package,
                path=extension_path(resource),
                data=_read(resource),
                dependencies=plan.library_dependencies.get(resource.name, ()),
            )
        elif isinstance(resource, SharedLibrary):
            libraries[resource.name] = PackedSharedLibrary(name=resource.name, data=_read(resource))
    # An extension module wins over a module source of the same name, as with files.
    for name in extension_names | set(extensions):
        modules.pop(name, None)
    in_memory = bool(modules or data or dist_files or extensions or libraries)
    has_encodings = "encodings" in modules or any(m.name == "encodings" for m in fs.modules)
    if not has_encodings and not config.module_search_paths:
        _log.warning(
            "the standard library's encodings package is not among the resources, so the executable cannot "
            "start (CPython imports it first); keep policy.include_classified_resources = True, which "
            'set_resource_handling_mode("files") does, or set python_config.module_search_paths'
        )

    if in_memory and not config.oxidized_importer:
        raise BuildError(
            "python_config.oxidized_importer is False, but in-memory resources need the importer",
            hint='set python_config.oxidized_importer = True, or policy.resources_location = "filesystem-relative:lib"',
        )
    if kind == "none":
        if in_memory:
            raise BuildError(
                f"packed_resources_load_mode is 'none' but "
                f"{len(modules) + len(data) + len(dist_files) + len(extensions) + len(libraries)} "
                "resources are in-memory",
                hint='set policy.resources_location = "filesystem-relative:lib" and '
                "python_config.filesystem_importer = True, or use the default load mode",
            )
        return ResourceArtifacts(
            filesystem=fs,
            module_search_paths=fs.module_search_paths,
            packed_resources=(),
            blob_path=None,
            in_memory_modules=0,
            frozen_modules=(),
        )

    importer = PythonModuleSource(name=IMPORTER_MODULE, data=importer_source(), is_stdlib=True)
    modules[IMPORTER_MODULE] = importer
    frozen_level = int(config.optimization_level or 0)
    # The modules this CPython imports while it initialises (asked of the distribution's interpreter,
    # or a same-version one of this machine for a foreign triple), minus those it freezes itself.
    probe = startup_modules(bytecode_python(dist), _interpreter_options(config))
    frozen_names = {IMPORTER_MODULE} | (probe.imported - probe.cpython_frozen)
    codecs = {n for n in modules if n == "encodings" or n.startswith("encodings.")} - probe.cpython_frozen
    frozen_names |= codecs
    frozen_names &= set(modules)
    ordered = [modules[n] for n in sorted(modules)]
    memory_modules, frozen = _memory_modules(
        ordered, dist, frozen_names=frozen_names, frozen_level=frozen_level, cache_dir=bytecode_cache_dir
    )
    if "-linux" in dist.target_triple:
        # Codecs only a non-UTF-8 locale asks for while CPython starts: compressed, and
        # decompressed before start-up only on such a locale (templates/pyembed/src/importer.rs).
        cold = codecs - probe.imported - _HOT_CODECS
        frozen = [dataclasses.replace(f, cold=True) if f.name in cold else f for f in frozen]
    prefix = plan.in_memory_prefix
    contents = PackedContents(
        bytecode_magic=dist.bytecode_magic,
        in_memory_prefix=prefix,
        memory_modules=memory_modules,
        file_modules=_file_modules(fs),
        memory_data=data,
        file_data={(d.owner, d.name): d.prefix for d in fs.package_data},
        memory_distribution_files=dist_files,
        file_distribution_files={(d.owner, d.name): d.prefix for d in fs.distribution_files},
        frozen=frozen,
        memory_extensions=list(extensions.values()),
        memory_shared_libraries=list(libraries.values()),
        memory_only=plan.memory_only,
        cache_shared_objects=plan.cache_shared_objects,
    )
    compressor, dictionary = None, None
    if compression is not None:
        stdlib = {m.name for m in ordered if m.is_stdlib and m.name != IMPORTER_MODULE}
        samples = [code for m in memory_modules if m.name in stdlib for code in m.bytecode.values()]
        compressor, dictionary = compressor_for(compression, samples)
    blob = encode_packed_resources(contents, compressor, dictionary=dictionary)
    assert blob_name is not None
    target = (artifacts_dir if kind == "embedded" else install_dir) / blob_name
    try:
        written = write_bytes_if_changed(target, blob)
    except OSError as exc:
        raise BuildError(f"cannot write {target}: {exc}") from exc
    _log.debug(
        "%s: %d bytes, %d in-memory modules, %d frozen%s",
        target,
        len(blob),
        len(memory_modules),
        len(frozen),
        "" if written else " (unchanged)",
    )
    if kind == "embedded":
        ref = PackedResourcesRef(kind="embedded", path=blob_name)
    else:
        ref = PackedResourcesRef(kind="memory-mapped", path=f"$ORIGIN/{blob_name}")
        fs = dataclasses.replace(fs, files=tuple(sorted({*fs.files, blob_name})))
    search = [module_search_path(prefix)] if in_memory else []
    search += [p for p in fs.module_search_paths if p not in search]
    return ResourceArtifacts(
        filesystem=fs,
        module_search_paths=tuple(search),
        packed_resources=(ref,),
        blob_path=target,
        in_memory_modules=len(memory_modules),
        frozen_modules=tuple(f.name for f in frozen),
    )
