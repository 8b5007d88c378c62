"""``build`` and ``run``: evaluate the config, then build each resolved target.

This is the last stage of the flow (docs/building.md): for a ``PythonExecutable`` it
runs the artifact stage (libpython link plan, ``pyo3-build-config-file.txt``,
``default_python_config.rs``, filesystem resources), renders the Rust project,
runs cargo and installs the executable with its files into
``<build path>/<triple>/<debug|release>/<target>/``.

The output tree holds only what the config installs. Everything else (the Rust
project, the artifacts, cargo's target directory, the bytecode cache and the lists of
files installed by earlier builds) persists in a work dir outside it
(``environment.config_work_dir``: ``--work-dir``, ``PYOXIDIZER_PY_WORK_DIR`` or the
cache root's ``work/``, one subdirectory per config), so a rebuild after changing only
Python files reuses every compiled crate, and a build system that collects the build
path collects no intermediates::

    <work dir>/cargo-target/                      (unless CARGO_TARGET_DIR is set)
    <work dir>/bytecode-cache/
    <work dir>/<triple>/<profile>/<exe>/project/   the generated Rust project
    <work dir>/<triple>/<profile>/<exe>/artifacts/
    <work dir>/<triple>/<profile>/manifests/<output dir>.json
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from pyoxidizer_py import progress
from pyoxidizer_py.artifacts.atomic_write import copy_if_changed, write_bytes_if_changed
from pyoxidizer_py.artifacts.compression import Compression
from pyoxidizer_py.artifacts.extra_files import write_extra_files_list
from pyoxidizer_py.artifacts.filesystem import FilesystemInstall
from pyoxidizer_py.artifacts.link_args import write_link_args
from pyoxidizer_py.artifacts.pyo3_config import install_runtime_files, plan_link, write_link_artifacts
from pyoxidizer_py.artifacts.python_config_rs import write_python_config_rs
from pyoxidizer_py.artifacts.resource_artifacts import write_resource_artifacts
from pyoxidizer_py.artifacts.sbom import EMBEDDED_SBOM_FILE
from pyoxidizer_py.config.dialect.files import FileManifest
from pyoxidizer_py.config.dialect.platform import PlatformOnly
from pyoxidizer_py.config.dialect.python import PythonEmbeddedResources, PythonExecutable
from pyoxidizer_py.config.discovery import find_config
from pyoxidizer_py.config.evaluate import Evaluation, EvaluationOptions, evaluate_config
from pyoxidizer_py.config.pyproject import ZeroConfig, ZeroConfigOptions, check_entry_points, find_zero_config
from pyoxidizer_py.distribution.pbs.cache import CACHEDIR_TAG
from pyoxidizer_py.environment import config_identity, config_work_dir, work_root
from pyoxidizer_py.errors import BuildError, PyOxidizerError
from pyoxidizer_py.resources.plan import plan_resources, shared_objects_in_memory
from pyoxidizer_py.resources.strip import strip_shared_objects
from pyoxidizer_py.rust_project.cargo import CargoBuildOptions, cargo_build
from pyoxidizer_py.rust_project.compressed_executable import build_stub, check_compressible, compress_executable
from pyoxidizer_py.rust_project.project import render_project

__all__ = [
    "BuildOptions",
    "BuildResult",
    "allocator_features",
    "build",
    "build_embedded_artifacts",
    "build_evaluation",
    "run",
]

log = logging.getLogger(__name__)
_WORK_DIR_README = (
    "Intermediates of pyoxidizer-py builds of {config} (generated Rust project, artifacts,\n"
    "cargo target dir, bytecode cache). Safe to delete; the next build recreates them.\n"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildOptions:
    """What ``build`` / ``run`` were asked to do.

    Attributes:
        start: config file or a directory at or below it (``--path``).
        targets: targets to build; empty = the default target.
        release: release profile.
        target_triple: Rust target triple (None: the host's).
        vars: ``VARS`` values.
        distribution_spec: ``--python-distribution`` override.
        verbose: verbosity level (cargo and pip output is streamed to the log at >= 1).
        cargo_target_dir: cargo's target dir; None = ``$CARGO_TARGET_DIR`` if set, else
            ``<work dir>/cargo-target``.
        work_dir: ``--work-dir``: the directory the per-config work dirs go under; None =
            ``$PYOXIDIZER_PY_WORK_DIR`` or ``<cache root>/work``.
        system_rust: ``--system-rust``, accepted for PyOxidizer compatibility; pyoxidizer-py
            always uses the cargo on ``PATH``, so it changes nothing.
        script: ``--script NAME`` (or ``NAME=module:function``): with no ``pyoxidizer.bzl``,
            build only this ``[project.scripts]`` entry of ``pyproject.toml``.
        module: ``--module MOD``: with no ``pyoxidizer.bzl``, build one executable running
            ``python -m MOD``.
    """

    start: Path = Path()
    targets: Sequence[str] = ()
    release: bool = False
    target_triple: str | None = None
    vars: Mapping[str, str | None] = field(default_factory=dict)
    distribution_spec: str | None = None
    verbose: int = 0
    cargo_target_dir: Path | None = None
    work_dir: Path | None = None
    system_rust: bool = False
    script: str | None = None
    module: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildResult:
    """One built target.

    Attributes:
        target: target name.
        output: the target's output directory.
        run_path: the executable to run for ``run``, or None when the target has none.
    """

    target: str
    output: Path
    run_path: Path | None


def allocator_features(allocator_backend: str) -> tuple[str, ...]:
    """Cargo features a config's ``allocator_backend`` needs.

    Args:
        allocator_backend: ``default``, ``jemalloc``, ``mimalloc``, ``snmalloc`` or ``rust``.

    Returns:
        ``("global-allocator-X", "allocator-X")`` for the three C allocators, else ``()``.
    """
    if allocator_backend in ("jemalloc", "mimalloc", "snmalloc"):
        return (f"global-allocator-{allocator_backend}", f"allocator-{allocator_backend}")
    return ()


def check_allocator_settings(exe_name: str, config: Any, target_triple: str) -> None:
    """Refuse allocator settings the runtime cannot honour, before anything is built.

    The runtime crate checks the same at start-up (``templates/pyembed/src/allocator.rs``).

    Args:
        exe_name: the executable's name, for the message.
        config: the executable's ``InterpreterConfig`` record (``allocator_*`` fields,
            PyPreConfig ``allocator``).
        target_triple: the Rust target triple being built for.

    Raises:
        BuildError: ``allocator_pymalloc_arena`` together with ``allocator_mem`` or
            ``allocator_obj``; ``allocator_pymalloc_arena`` while ``allocator`` (PyPreConfig)
            takes pymalloc out of use; ``jemalloc`` for an MSVC target (it does not build there).
    """
    backend = config.allocator_backend
    if backend == "default":
        return
    where = f"{exe_name}: python_config.allocator_backend = {backend!r}"
    if config.allocator_pymalloc_arena and (config.allocator_mem or config.allocator_obj):
        both = " and ".join(n for n in ("allocator_mem", "allocator_obj") if getattr(config, n))
        raise BuildError(
            f"{where}: allocator_pymalloc_arena = True cannot be combined with {both} = True "
            "(pymalloc's arenas are only used while pymalloc serves the MEM and OBJ domains)",
            hint=f"set allocator_pymalloc_arena = False to give the MEM/OBJ domains to {backend}, "
            "or set allocator_mem = allocator_obj = False to keep pymalloc with arenas from it",
        )
    if config.allocator_pymalloc_arena and config.allocator in ("malloc", "malloc-debug"):
        raise BuildError(
            f"{where}: allocator_pymalloc_arena = True has no effect with python_config.allocator = "
            f"{config.allocator!r} (pymalloc, whose arenas it replaces, is not used)",
            hint="remove python_config.allocator or set allocator_pymalloc_arena = False",
        )
    if backend == "jemalloc" and target_triple.endswith("-windows-msvc"):
        raise BuildError(
            f"{where}: jemalloc does not build for {target_triple}",
            hint='use allocator_backend = "mimalloc", "snmalloc" or "rust" for this target',
        )


DEFAULT_SBOM_FILENAME = PythonExecutable._ATTRS["sbom_filename"]


class _Builder:
    """Builds the resolved targets of one evaluation (each executable at most once per output dir)."""

    def __init__(self, evaluation: Evaluation, options: BuildOptions) -> None:
        self.evaluation = evaluation
        self.options = options
        ctx = evaluation.context
        self.profile = "release" if options.release else "debug"
        self.triple = ctx.build_target_triple
        self.root = ctx.build_path / self.triple / self.profile
        self.work = config_work_dir(ctx.config_path, explicit=options.work_dir)
        self.work_profile = self.work / self.triple / self.profile
        # A build system's fresh sandbox (Pants' pyoxidizer_binary): see ``sbom_settings``.
        self.sandboxed = config_identity(ctx.config_path, work_root(options.work_dir)).startswith("sandbox:")
        self._sbom_note_shown = False
        self.built: dict[tuple[int, Path], Path] = {}
        try:
            self.work_profile.mkdir(parents=True, exist_ok=True)
            tag = self.work.parent / "CACHEDIR.TAG"  # marks the work root for backups and cache-clear
            if not tag.exists():
                write_bytes_if_changed(tag, CACHEDIR_TAG.encode("utf-8"))
            readme = self.work / "README.txt"
            if not readme.exists():
                write_bytes_if_changed(readme, _WORK_DIR_README.format(config=ctx.config_path).encode("utf-8"))
        except OSError as exc:
            raise BuildError(
                f"cannot create the work dir {self.work}: {exc.strerror or exc}",
                hint="set PYOXIDIZER_PY_WORK_DIR (build and run: --work-dir DIR) to a writable directory",
            ) from exc
        log.info("work dir: %s", self.work)

    def manifest_path(self, install_dir: Path) -> Path:
        """Where the list of files installed into ``install_dir`` is kept (in the work dir).

        Keyed by the install dir's path relative to the build output root, so it is stable
        when the whole tree moves (a build system's fresh sandbox) and never inside it.
        """
        try:
            rel = install_dir.relative_to(self.root).as_posix()
        except ValueError:
            import hashlib

            rel = "abs-" + hashlib.sha256(str(install_dir.absolute()).encode()).hexdigest()[:16]
        name = rel.replace("/", "%") if rel not in ("", ".") else "%"
        return self.work_profile / "manifests" / f"{name}.json"

    def output_dir(self, target: str) -> Path:
        return self.root / target

    def build_target(self, name: str) -> BuildResult:
        value = self.evaluation.values[name]
        out = self.output_dir(name)
        if isinstance(value, PythonExecutable):
            exe = self.build_executable(value, out)
            return BuildResult(target=name, output=out, run_path=exe)
        if isinstance(value, FileManifest):
            run_path = self.build_manifest(value, out)
            return BuildResult(target=name, output=out, run_path=run_path)
        if isinstance(value, PythonEmbeddedResources):
            self.write_embedded_artifacts(value.exe, out)
            return BuildResult(target=name, output=out, run_path=None)
        if isinstance(value, PlatformOnly):
            raise BuildError(f"target {name}: {value.build_error()}")
        kind = getattr(type(value), "STARLARK_TYPE", type(value).__name__)
        raise BuildError(f"target {name}: {kind} does not implement build()")

    # -- executables ----------------------------------------------------------------------
    def work_dir(self, exe: PythonExecutable) -> Path:
        return self.work_profile / str(exe.name)

    def sbom_settings(self, exe: PythonExecutable) -> tuple[str | None, bool]:
        """``(sbom_filename, sbom_embed)`` for this build.

        In a build system's sandbox (``environment.config_identity``), the default SBOM file is
        embedded in the executable instead of written beside it: Pants' ``pants run`` of a
        ``pyoxidizer_binary`` executes the one file directly in ``install/`` other than
        ``COPYING.txt`` (PyOxidizer's layout) and fails when there are two. An ``sbom_filename``
        the config sets to another name is kept.
        """
        filename, embed = exe.settings["sbom_filename"], bool(exe.settings["sbom_embed"])
        if self.sandboxed and filename == DEFAULT_SBOM_FILENAME:
            if not self._sbom_note_shown:
                progress.note(
                    "building in a sandbox: the SBOM is embedded in the executable, not beside it "
                    "(read it with `pyoxidizer-py sbom EXE`)"
                )
                self._sbom_note_shown = True
            return None, True
        return filename, embed

    def write_artifacts(
        self, exe: PythonExecutable, artifacts: Path, *, install_dir: Path
    ) -> tuple[Any, Path, FilesystemInstall]:
        """Artifact stage: link plan, PyO3 config, filesystem resources, ``default_python_config.rs``."""
        dist = exe.distribution.resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        plan = plan_link(dist, exe.settings["libpython_link_mode"], artifacts_dir=artifacts)
        pyo3_file = write_link_artifacts(dist, plan, artifacts)
        write_link_args(
            artifacts, target_triple=dist.target_triple, packed_relocations=exe.settings["packed_relocations"]
        )
        config = exe.config.record.copy()
        _check_syntax(dist, exe.resources, config.run_command)
        selected = _filter_stdlib(exe, dist, config, artifacts)
        if self.options.release:
            selected = strip_shared_objects(selected, self.work / "stripped")
        policy = exe.policy.record
        if policy.in_memory_shared_library_cache and policy.in_memory_shared_library_fallback == "error":
            raise BuildError(
                f"executable {exe.name}: policy.in_memory_shared_library_cache = True writes shared objects "
                "to a per-user cache, which in_memory_shared_library_fallback = 'error' forbids",
                hint="set one of them back to its default",
            )
        resource_plan = plan_resources(
            selected,
            shared_objects_in_memory=shared_objects_in_memory(policy, dist.target_triple, plan.mode),
            memory_only=policy.in_memory_shared_library_fallback == "error",
            cache_shared_objects=policy.in_memory_shared_library_cache,
        )
        resources = write_resource_artifacts(
            resource_plan,
            dist,
            artifacts_dir=artifacts,
            install_dir=install_dir,
            load_mode=exe.settings["packed_resources_load_mode"],
            config=config,
            bytecode_cache_dir=self.work / "bytecode-cache",
            manifest_path=self.manifest_path(install_dir),
            compression=Compression(self.work / "zstd-cache") if policy.resources_compression == "zstd" else None,
        )
        fs = resources.filesystem
        search = None if config.module_search_paths is not None else list(resources.module_search_paths)
        write_python_config_rs(
            artifacts,
            config,
            module_search_paths=search,
            packed_resources=resources.packed_resources,
            embedded_sbom=EMBEDDED_SBOM_FILE if self.sbom_settings(exe)[1] else None,
        )
        return plan, pyo3_file, fs

    def write_notices(
        self, exe: PythonExecutable, artifacts: Path, *, project_manifest: Path | None
    ) -> tuple[str, ...]:
        """The license report and SBOM (``artifacts.notices``); returns the files to install beside the exe.

        The Rust crates are those of ``project_manifest`` (the generated project, for the build's
        features and target) and of the config's ``add_cargo_manifest_licensing()`` manifests.
        """
        from pyoxidizer_py.artifacts.licensing import cpython_components, python_distribution_components
        from pyoxidizer_py.artifacts.notices import NoticeOptions, write_notices
        from pyoxidizer_py.rust_project.cargo import cargo_features
        from pyoxidizer_py.rust_project.crates import CrateQuery, crate_components
        from pyoxidizer_py.rust_project.reproducible import source_date_epoch

        settings = exe.settings
        sbom_filename, sbom_embed = self.sbom_settings(exe)
        if not (settings["licenses_filename"] or sbom_filename or sbom_embed):
            return ()
        try:
            timestamp = source_date_epoch()
        except ValueError as e:
            raise BuildError(str(e)) from e
        dist = exe.distribution.resolve()
        components = [*cpython_components(dist, exe.resources), *python_distribution_components(exe.resources)]
        queries = []
        if project_manifest is not None:
            allocators = allocator_features(exe.config.record.allocator_backend)
            features = cargo_features(CargoBuildOptions(features=allocators))
            queries.append(
                CrateQuery(
                    manifest_path=project_manifest,
                    target_triple=self.triple,
                    features=tuple(features),
                    no_default_features=True,
                    include_root=False,
                )
            )
        for path, all_features, extra_features in exe.cargo_licensing:
            manifest = Path(path) / "Cargo.toml" if Path(path).is_dir() else Path(path)
            queries.append(
                CrateQuery(
                    manifest_path=manifest,
                    target_triple=self.triple,
                    features=tuple(extra_features or ()),
                    all_features=bool(all_features),
                )
            )
        if queries:
            components += crate_components(queries)
        return write_notices(
            components,
            artifacts,
            NoticeOptions(
                exe_name=exe.name,
                licenses_filename=settings["licenses_filename"],
                sbom_filename=sbom_filename,
                sbom_embed=sbom_embed,
                unknown_license_policy=settings["unknown_license_policy"],
                timestamp=timestamp,
            ),
        )

    def write_embedded_artifacts(self, exe: PythonExecutable, dest: Path) -> None:
        """Write everything a cargo build of the executable needs into ``dest``.

        That is the artifact stage's files plus the extra files the executable needs
        beside it (filesystem-relative resources, a shared libpython, the license file),
        all listed in ``dest/extra-files.txt`` for the project's build script.
        """
        plan, _pyo3_file, fs = self.write_artifacts(exe, dest, install_dir=dest)
        extra = [*fs.files]
        extra += [Path(p).relative_to(dest).as_posix() for p in install_runtime_files(plan, dest)]
        extra += self.write_notices(exe, dest, project_manifest=None)
        write_extra_files_list(dest, extra)

    def build_executable(self, exe: PythonExecutable, install_dir: Path) -> Path:
        key = (id(exe), install_dir)
        if key in self.built:
            return self.built[key]
        check_allocator_settings(exe.name, exe.config.record, self.triple)
        progress.say(f"building executable {exe.name} for {self.triple} ({self.profile})")
        # Two builds of one config at once (a build system running targets in parallel
        # sandboxes that share one work dir) take turns per executable.
        with filelock.FileLock(str(self.work_profile / f"{exe.name}.lock")):
            dest = self._build_executable(exe, install_dir)
        self.built[key] = dest
        log.info("installed %s", dest)
        return dest

    def _build_executable(self, exe: PythonExecutable, install_dir: Path) -> Path:
        work = self.work_dir(exe)
        artifacts = work / "artifacts"
        install_dir.mkdir(parents=True, exist_ok=True)
        with progress.stage("resources", exe.name):
            plan, pyo3_file, _fs = self.write_artifacts(exe, artifacts, install_dir=install_dir)
            compressed = exe.settings["executable_compression"] != "none"
            if compressed:
                check_compressible(exe.name, target_triple=self.triple, link_mode=plan.mode)
            project = render_project(work / "project", name=exe.name)
            notices = self.write_notices(exe, artifacts, project_manifest=project.manifest_path)
        features = allocator_features(exe.config.record.allocator_backend)
        target_dir = (
            self.options.cargo_target_dir
            or (Path(os.environ["CARGO_TARGET_DIR"]) if os.environ.get("CARGO_TARGET_DIR") else None)
            or (self.work / "cargo-target")
        )
        cargo_options = CargoBuildOptions(
            release=self.options.release,
            target_triple=self.options.target_triple,
            features=features,
            verbose=self.options.verbose > 0,
        )
        with progress.stage("cargo build", exe.name):
            built = cargo_build(
                project.path,
                artifacts_dir=artifacts,
                pyo3_config_file=pyo3_file,
                target_dir=target_dir,
                options=cargo_options,
            )
        dest = install_dir / built.name
        if compressed:
            with progress.stage("compress", exe.name):
                stub = build_stub(
                    work / "stub",
                    artifacts_dir=artifacts,
                    pyo3_config_file=pyo3_file,
                    target_dir=target_dir,
                    options=cargo_options,
                )
                compress_executable(stub, built, dest, work_dir=work)
        else:
            copy_if_changed(built, dest)
        install_runtime_files(plan, install_dir)
        for name in notices:
            copy_if_changed(artifacts / name, install_dir / name)
        return dest

    # -- manifests ------------------------------------------------------------------------
    def build_manifest(self, manifest: FileManifest, out: Path) -> Path | None:
        from pyoxidizer_py.artifacts.filesystem import install_filesystem_resources as install_resources

        out.mkdir(parents=True, exist_ok=True)
        run_path: Path | None = None
        for prefix, exe in manifest.executables:
            run_path = self.build_executable(exe, out / prefix if prefix else out)
        for rel, entry in manifest.files.items():
            write_bytes_if_changed(out / rel, entry.read(), mode=0o755 if entry.executable else 0o644)
        by_prefix: dict[str, list[Any]] = {}
        for prefix, record in manifest.resources:
            by_prefix.setdefault(prefix, []).append(record)
        if by_prefix:
            dist = None
            for _prefix, exe in manifest.executables:
                dist = exe.distribution.resolve()
            if dist is None:
                raise BuildError(
                    "FileManifest.add_python_resource(): Python resources need an executable "
                    "in the same manifest (its distribution compiles their bytecode)"
                )
            _check_syntax(dist, [r for _p, r in manifest.resources], None)
            for prefix, records in by_prefix.items():
                dest = out / prefix if prefix else out
                install_resources(
                    plan_resources(records, in_memory_as="lib"), dist, dest, manifest_path=self.manifest_path(dest)
                )
        if run_path is None:
            executables = [out / rel for rel, e in manifest.files.items() if e.executable]
            run_path = executables[0] if len(executables) == 1 else None
        ctx = self.evaluation.context
        for dest, replace in manifest.installs:
            _check_install_dest(
                dest, out, replace=replace, config_dir=ctx.config_path.parent, build_path=ctx.build_path
            )
            _copy_tree(out, dest, replace)
        return run_path


def _check_syntax(dist: Any, resources: Sequence[Any], run_command: str | None) -> None:
    """Fail the build when the application's own code does not compile (``resources/syntax.py``)."""
    from pyoxidizer_py.distribution.host_python import bytecode_python
    from pyoxidizer_py.resources.syntax import check_first_party_syntax

    check_first_party_syntax(bytecode_python(dist), resources, run_command=run_command)


def _filter_stdlib(exe: PythonExecutable, dist: Any, config: Any, artifacts: Path) -> list[Any]:
    """Apply ``stdlib_filter`` / ``extension_module_filter = "no-unused-ui"``; write the report of what they dropped.

    The report is ``<artifacts>/dropped-modules.txt`` (removed when nothing is dropped).
    """
    from pyoxidizer_py.artifacts.resource_artifacts import startup_modules
    from pyoxidizer_py.distribution.host_python import bytecode_python
    from pyoxidizer_py.resources.stdlib_filter import apply_import_filters

    policy = exe.policy.record
    startup: frozenset[str] = frozenset()
    if policy.stdlib_filter != "all":
        # The same probe (and interpreter options) the artifact stage uses for the frozen table.
        options: list[str] = []
        for x in config.x_options or ():
            options += ["-X", x]
        for w in config.warn_options or ():
            options += ["-W", w]
        startup = startup_modules(bytecode_python(dist), tuple(options)).imported
    result = apply_import_filters(
        exe.resources,
        dist,
        policy,
        run_command=config.run_command,
        run_module=config.run_module,
        startup=startup,
        scan_cache=artifacts.parent / "import-scan-cache.json",
    )
    report = artifacts / "dropped-modules.txt"
    if result.dropped:
        write_bytes_if_changed(report, result.report().encode("utf-8"))
        progress.note(
            f"{exe.name}: left out {len(result.dropped)} stdlib resources (kept {result.kept_stdlib_modules} "
            f"of {result.stdlib_modules} stdlib modules); list in {report}"
        )
    else:
        report.unlink(missing_ok=True)
    return list(result.resources)


def _check_install_dest(dest: Path, out: Path, *, replace: bool, config_dir: Path, build_path: Path) -> None:
    """Refuse a ``FileManifest.install()`` destination that would delete what the build or the
    user stands on (``replace`` empties the destination first), or copy a tree into itself.

    Args:
        dest: the install destination.
        out: the manifest's own output directory (copied into ``dest``).
        replace: ``install()``'s ``replace``.
        config_dir: the directory of the config file.
        build_path: the build path.

    Raises:
        BuildError: ``dest`` lies inside ``out``; or ``replace`` is true and ``dest`` is, or
            contains, the config's directory, the build path, the working directory or the home
            directory (``/``, a parent of the project, ``~``).
    """
    real = Path(os.path.realpath(dest))
    if Path(os.path.realpath(out)) in [real, *real.parents]:
        raise BuildError(f"FileManifest.install(): {dest} is inside the manifest's own output {out}")
    if not replace:
        return
    protected = [
        ("the config's directory", config_dir),
        ("the build path", build_path),
        ("the working directory", Path.cwd()),
    ]
    with contextlib.suppress(RuntimeError, KeyError):  # no HOME and no password database entry
        protected.append(("the home directory", Path.home()))
    for what, path in protected:
        inner = Path(os.path.realpath(path))
        if real == inner or real in inner.parents:
            raise BuildError(
                f"FileManifest.install(): refusing to replace {dest}: it contains {what} ({path})",
                hint="install into a directory of its own, or pass replace = False",
            )


def _copy_tree(src: Path, dest: Path, replace: bool) -> None:
    """Copy the manifest output ``src`` into ``dest`` (``FileManifest.install``).

    Without ``replace`` the files are copied into ``dest`` as it is. With ``replace`` the copy is
    made in a locked staging directory beside ``dest`` (``.staging-<name>-*``) that takes
    ``dest``'s place only when complete, so a failed or killed install leaves the previous
    ``dest`` as it was; staging directories of killed runs are removed by the next install.

    Raises:
        BuildError: a file cannot be read or written.
    """
    import shutil
    import tempfile

    from pyoxidizer_py.distribution.pbs.extract import STAGING_PREFIX, lock_dir, remove_stale_staging

    try:
        if not replace:
            shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(dest.parent, dest.name)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{dest.name}-", dir=dest.parent))
        fd = lock_dir(staging)
        old: Path | None = None
        try:
            shutil.copytree(src, staging, dirs_exist_ok=True, symlinks=True)
            if dest.is_symlink() or dest.exists():
                old = staging.with_name(staging.name + "-old")
                os.rename(dest, old)
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if old is not None and not (dest.is_symlink() or dest.exists()):
                os.rename(old, dest)  # put the previous tree back
            raise
        finally:
            if fd is not None:
                os.close(fd)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            else:
                old.unlink()
    except OSError as exc:
        raise BuildError(f"FileManifest.install(): cannot install into {dest}: {exc.strerror or exc}") from exc


def _zero_config(options: BuildOptions) -> ZeroConfig | None:
    """The config generated from ``pyproject.toml`` when no ``pyoxidizer.bzl`` applies."""
    zero = find_zero_config(options.start, ZeroConfigOptions(script=options.script, module=options.module))
    if zero is None and (options.script or options.module):
        flag = "--script" if options.script else "--module"
        raise PyOxidizerError(
            f"{flag} applies to a project built from its pyproject.toml, and {options.start} has a pyoxidizer.bzl",
            hint="name a target of the pyoxidizer.bzl instead",
        )
    return zero


def _evaluate(options: BuildOptions, targets: Sequence[str] | None, zero: ZeroConfig | None = None) -> Evaluation:
    if zero is not None:
        log.info("no pyoxidizer.bzl: building from %s (dependencies %s)", zero.pyproject, zero.deps_origin)
        log.debug("generated config:\n%s", zero.text)
    config = zero.config_path if zero is not None else find_config(options.start)
    evaluation = evaluate_config(
        EvaluationOptions(
            config_path=config,
            target_triple=options.target_triple,
            vars=dict(options.vars),
            release=options.release,
            requested_targets=targets,
            distribution_spec=options.distribution_spec,
            config_text=zero.text if zero is not None else None,
            display_name=f"{config} (generated from pyproject.toml)" if zero is not None else None,
        )
    )
    if zero is not None:
        for ctx_input in zero.inputs:
            evaluation.context.record_input(ctx_input)
        by_name = {e.name: e for e in zero.entry_points}
        for value in evaluation.values.values():
            for _prefix, exe in getattr(value, "executables", ()):
                if exe.name in by_name:
                    check_entry_points(exe, [by_name[exe.name]], evaluation.context.build_target_triple)
    return evaluation


def build_evaluation(evaluation: Evaluation, options: BuildOptions) -> list[BuildResult]:
    """Build every resolved target of an evaluation.

    Returns:
        One ``BuildResult`` per resolved target, in order.

    Raises:
        PyOxidizerError: any stage failed (BuildError for cargo and linking).
    """
    builder = _Builder(evaluation, options)
    results = [builder.build_target(name) for name in evaluation.resolved]
    write_deferred_files(evaluation)
    return results


def write_deferred_files(evaluation: Evaluation) -> None:
    """Write the files the config asked for with ``write_to_directory()`` (only when building).

    Raises:
        BuildError: the content comes from an object that builds only on another platform.
    """
    for item in evaluation.context.deferred_writes:
        data = item.entry.read()
        write_bytes_if_changed(item.dest, data, mode=0o755 if item.entry.executable else 0o644)
        log.info("wrote %s", item.dest)


def build_embedded_artifacts(evaluation: Evaluation, name: str, dest: Path, options: BuildOptions) -> None:
    """Write a resolved target's artifacts for a cargo build into ``dest`` (``run-build-script``).

    Args:
        evaluation: an evaluation that resolved ``name``.
        name: a target whose value is ``exe.to_embedded_resources()`` (or a ``PythonExecutable``).
        dest: the artifacts directory (``PYOXIDIZER_ARTIFACT_DIR``).
        options: release / target triple of the build.

    Raises:
        BuildError: the target's value has no artifacts to write.
        PyOxidizerError: a stage failed.
    """
    value = evaluation.values[name]
    exe = value.exe if isinstance(value, PythonEmbeddedResources) else value
    if not isinstance(exe, PythonExecutable):
        kind = getattr(type(value), "STARLARK_TYPE", type(value).__name__)
        raise BuildError(
            f"target {name} is a {kind}; a build script needs a target returning exe.to_embedded_resources()",
        )
    _Builder(evaluation, options).write_embedded_artifacts(exe, dest)


def build(options: BuildOptions) -> list[BuildResult]:
    """``pyoxidizer-py build``: evaluate the config and build the requested (or default) targets.

    Raises:
        PyOxidizerError: the config, a distribution, pip or cargo failed.
    """
    zero = _zero_config(options)
    if zero is not None and zero.release and not options.release:
        options = dataclasses.replace(options, release=True)
    evaluation = _evaluate(options, list(options.targets) or None, zero)
    if not evaluation.resolved:
        raise PyOxidizerError(f"{evaluation.context.config_path}: no targets to build")
    return build_evaluation(evaluation, options)


def run(options: BuildOptions, args: Sequence[str]) -> int:
    """``pyoxidizer-py run``: build a target (``options.targets[0]`` or the default) and run it.

    Args:
        options: build options; at most one target.
        args: arguments passed to the program.

    Returns:
        The program's exit status.

    Raises:
        PyOxidizerError: the build failed, or the target has nothing to run.
    """
    zero = _zero_config(options)
    if zero is not None and len(zero.entry_points) > 1:
        names = ", ".join(e.name for e in zero.entry_points)
        raise PyOxidizerError(
            f"{zero.pyproject} declares several [project.scripts] ({names}): pass --script NAME to choose one to run"
        )
    results = build(options)
    result = results[0]
    if result.run_path is None:
        raise BuildError(f"target {result.target} has nothing to run")
    log.info("running %s", result.run_path)
    sys.stdout.flush()
    try:
        completed = subprocess.run([str(result.run_path), *args], check=False)
    except OSError as exc:
        raise BuildError(f"cannot run {result.run_path}: {exc.strerror or exc}") from exc
    return completed.returncode if completed.returncode >= 0 else 128 - completed.returncode
