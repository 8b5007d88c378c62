"""Dialect façades for PyOxidizer's Python types.

``PythonDistribution``, ``PythonPackagingPolicy``, ``PythonInterpreterConfig``,
``PythonExecutable`` and ``PythonEmbeddedResources``
(https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_type_python_executable.html
and the pages beside it). They record configuration and delegate work (finding the
distribution, collecting resources) to the stage packages; building happens in
``pyoxidizer_py.build`` after evaluation.
"""

from __future__ import annotations

import glob as globmod
from pathlib import Path
from typing import Any, ClassVar

from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.config import engine
from pyoxidizer_py.config.context import DistributionRequest, current_context
from pyoxidizer_py.config.dialect.base import (
    SettingsFacade,
    check_bool,
    check_list_of_str,
    check_str,
    type_name,
)
from pyoxidizer_py.config.dialect.resources import ResourceFacade, unwrap_resource, wrap_resource
from pyoxidizer_py.errors import ConfigError
from pyoxidizer_py.resources import model
from pyoxidizer_py.resources.policy import PackagingPolicy

__all__ = [
    "PythonDistribution",
    "PythonEmbeddedResources",
    "PythonExecutable",
    "PythonInterpreterConfig",
    "PythonPackagingPolicy",
]

FLAVORS = ("standalone", "standalone_static", "standalone-static", "standalone_dynamic", "standalone-dynamic")


class PythonPackagingPolicy(SettingsFacade):
    """``PythonPackagingPolicy``: settings of ``resources.policy.PackagingPolicy`` plus callbacks."""

    RECORD_TYPE = PackagingPolicy
    STARLARK_TYPE = "PythonPackagingPolicy"
    STARLARK_CALL = frozenset(
        {"register_resource_callback", "set_preferred_extension_module_variant", "set_resource_handling_mode"}
    )
    STARLARK_TAKES_CALLABLES = frozenset({"register_resource_callback"})

    def register_resource_callback(self, func: Any) -> None:
        """Call ``func(policy, resource)`` on every resource created from now on."""
        if not engine.is_starlark_function(func):
            raise TypeError(f"register_resource_callback(): expected a function, got {type_name(func)}")
        self.record.resource_callbacks.append(func)

    def set_preferred_extension_module_variant(self, name: Any, variant: Any) -> None:
        """Prefer ``variant`` of extension module ``name`` (python-build-standalone variants)."""
        fn = "set_preferred_extension_module_variant"
        self.record.preferred_extension_module_variants[check_str(fn, "name", name)] = check_str(fn, "variant", variant)

    def set_resource_handling_mode(self, mode: Any) -> None:
        """``"classify"`` or ``"files"``: bulk-set the scanner, include and allow_files attributes."""
        self.record.set_resource_handling_mode(check_str("set_resource_handling_mode", "mode", mode))

    def run_callbacks(self, record: model.Resource) -> model.Resource:
        """Run the registered resource callbacks on a freshly collected resource.

        Returns:
            The record with the ``add`` attributes the callbacks chose.
        """
        if not self.record.resource_callbacks:
            return record
        facade = wrap_resource(record)
        ctx = current_context()
        for cb in self.record.resource_callbacks:
            engine.call_nested(cb, self, facade, print_sink=ctx.print_line)
        return unwrap_resource(facade, "resource callback")


class PythonInterpreterConfig(SettingsFacade):
    """``PythonInterpreterConfig``: settings of ``artifacts.interpreter_config.InterpreterConfig``."""

    RECORD_TYPE = InterpreterConfig
    STARLARK_TYPE = "PythonInterpreterConfig"
    STARLARK_CALL = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "module_search_paths" and self.record.module_search_paths:
            # As PyOxidizer: registering search paths enables CPython's path-based importer,
            # which is what finds the files these paths hold (PyOxidizer's
            # python_interpreter_config.rs, "Automatically enable filesystem importer").
            self.record.filesystem_importer = True


class PythonDistribution:
    """``PythonDistribution``: a request for a CPython, resolved on first use.

    Resolution (download, extraction, introspection) happens only when a method
    needs the distribution, so ``list-targets`` works offline.
    """

    STARLARK_TYPE: ClassVar[str] = "PythonDistribution"
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset({"flavor", "python_version"})
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset(
        {
            "make_python_packaging_policy",
            "make_python_interpreter_config",
            "python_resources",
            "to_python_executable",
        }
    )

    def __init__(self, request: DistributionRequest) -> None:
        self.request = request
        self._resolved: Any = None

    @property
    def flavor(self) -> str:
        return self.request.flavor

    @property
    def python_version(self) -> str | None:
        return self.request.python_version

    def resolve(self) -> Any:
        """Return the ``distribution.model.Distribution`` (resolving it on first call).

        Raises:
            PyOxidizerError: the distribution cannot be found or fetched.
        """
        if self._resolved is None:
            ctx = current_context()
            if ctx.resolve_distribution is None:
                raise ConfigError("no Python distribution resolver is configured for this evaluation")
            self._resolved = ctx.resolve_distribution(self.request)
        return self._resolved

    def make_python_packaging_policy(self) -> PythonPackagingPolicy:
        """A policy with PyOxidizer's defaults."""
        return PythonPackagingPolicy(PackagingPolicy())

    def make_python_interpreter_config(self) -> PythonInterpreterConfig:
        """An interpreter config with PyOxidizer's defaults (isolated profile)."""
        return PythonInterpreterConfig(InterpreterConfig())

    def python_resources(self) -> list[ResourceFacade]:
        """Every resource of the distribution (stdlib modules, extension modules, package data)."""
        from pyoxidizer_py.resources.stdlib import stdlib_resources

        policy = PackagingPolicy(include_test=True, include_distribution_resources=True)
        return [wrap_resource(r) for r in stdlib_resources(self.resolve(), policy)]

    def to_python_executable(
        self,
        name: Any,
        packaging_policy: Any = None,
        config: Any = None,
    ) -> PythonExecutable:
        """Create a ``PythonExecutable`` holding the distribution's resources selected by the policy."""
        fn = "to_python_executable"
        check_str(fn, "name", name)
        if not name:
            raise ValueError(f"{fn}(): name must not be empty")
        if packaging_policy is None:
            packaging_policy = self.make_python_packaging_policy()
        elif not isinstance(packaging_policy, PythonPackagingPolicy):
            raise TypeError(
                f"{fn}(): packaging_policy must be a PythonPackagingPolicy, got {type_name(packaging_policy)}"
            )
        if config is None:
            config = self.make_python_interpreter_config()
        elif not isinstance(config, PythonInterpreterConfig):
            raise TypeError(f"{fn}(): config must be a PythonInterpreterConfig, got {type_name(config)}")
        exe = PythonExecutable(name=name, distribution=self, policy=packaging_policy, config=config)
        exe.add_distribution_resources()
        return exe


_EXE_CHOICES = {
    "packed_resources_load_mode": (("none",), ("embedded:", "binary-relative-memory-mapped:")),
    "windows_runtime_dlls_mode": (("never", "when-present", "always"), ()),
    "libpython_link_mode": (("default", "static", "dynamic"), ()),
    "unknown_license_policy": (("warn", "error", "ignore"), ()),
    "packed_relocations": (("auto", "never"), ()),
    "executable_compression": (("none", "zstd"), ()),
}


class PythonExecutable:
    """``PythonExecutable``: an executable to build, with its resources and settings."""

    STARLARK_TYPE: ClassVar[str] = "PythonExecutable"
    _ATTRS: ClassVar[dict[str, Any]] = {
        "licenses_filename": "COPYING.txt",
        "packed_resources_load_mode": "embedded:packed-resources",
        "tcl_files_path": None,
        "windows_runtime_dlls_mode": "when-present",
        "windows_subsystem": "console",
        "libpython_link_mode": "default",
        "sbom_filename": "sbom.cdx.json",
        "sbom_embed": False,
        "unknown_license_policy": "warn",
        "packed_relocations": "auto",
        "executable_compression": "none",
    }
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset({*_ATTRS, "name"})
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset(_ATTRS)
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset(
        {
            "build",
            "make_python_module_source",
            "pip_download",
            "pip_install",
            "read_package_root",
            "read_virtualenv",
            "setup_py_install",
            "add_python_resource",
            "add_python_resources",
            "add_cargo_manifest_licensing",
            "filter_resources_from_files",
            "to_embedded_resources",
            "to_file_manifest",
            "to_wix_msi_builder",
            "to_wix_bundle_builder",
        }
    )

    def __init__(
        self,
        *,
        name: str,
        distribution: PythonDistribution,
        policy: PythonPackagingPolicy,
        config: PythonInterpreterConfig,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "distribution", distribution)
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "resources", [])
        object.__setattr__(self, "cargo_licensing", [])
        object.__setattr__(self, "settings", dict(self._ATTRS))

    # -- attributes -----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        settings = object.__getattribute__(self, "settings")
        if name in settings:
            return settings[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        label = f"PythonExecutable.{name}"
        if name not in self._ATTRS:
            raise AttributeError(f"{label} cannot be assigned")
        if name in ("licenses_filename", "tcl_files_path", "sbom_filename"):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{label} must be a string or None, got {type_name(value)}")
        elif name == "sbom_embed":
            if not isinstance(value, bool):
                raise TypeError(f"{label} must be a bool, got {type_name(value)}")
        elif not isinstance(value, str):
            raise TypeError(f"{label} must be a string, got {type_name(value)}")
        elif name in _EXE_CHOICES:
            choices, prefixes = _EXE_CHOICES[name]
            if value not in choices and not any(value.startswith(p) and len(value) > len(p) for p in prefixes):
                allowed = ", ".join([*(repr(c) for c in choices), *(f"'{p}<file>'" for p in prefixes)])
                raise ValueError(f"{label} must be one of {allowed}; got {value!r}")
        self.settings[name] = value

    def __repr__(self) -> str:
        return f"<PythonExecutable {self.name}>"

    # -- resources ------------------------------------------------------------------------
    def _new(self, records: list[model.Resource]) -> list[ResourceFacade]:
        """Apply the policy and callbacks to freshly collected records; return façades."""
        return [wrap_resource(self.policy.run_callbacks(r)) for r in records]

    def _add(self, record: model.Resource) -> None:
        if record.add.include:
            self.resources.append(record)

    def add_distribution_resources(self) -> None:
        """Add the distribution's stdlib resources chosen by the policy (done by ``to_python_executable``)."""
        from pyoxidizer_py.resources.stdlib import stdlib_resources

        for facade in self._new(stdlib_resources(self.distribution.resolve(), self.policy.record)):
            self._add(facade.record)

    def make_python_module_source(self, name: Any, source: Any, is_package: Any = False) -> ResourceFacade:
        """Create a ``PythonModuleSource`` from a name and source text."""
        from pyoxidizer_py.resources.collect import make_python_module_source

        fn = "make_python_module_source"
        record = make_python_module_source(
            check_str(fn, "name", name),
            check_str(fn, "source", source),
            check_bool(fn, "is_package", is_package),
            policy=self.policy.record,
        )
        return self._new([record])[0]

    def pip_install(self, args: Any, extra_envs: Any = None) -> list[ResourceFacade]:
        """Run the distribution's pip (``pip install --target``) and return the installed resources."""
        from pyoxidizer_py.resources.collect import pip_install

        fn = "pip_install"
        if isinstance(args, str):
            raise TypeError(f"{fn}(): args must be a list of strings, e.g. [{args!r}]")
        argv = check_list_of_str(fn, "args", args)
        envs = _check_env_dict(fn, extra_envs)
        _record_pip_inputs(argv)
        return self._new(pip_install(self.distribution.resolve(), argv, self.policy.record, extra_envs=envs))

    def pip_download(self, args: Any) -> list[ResourceFacade]:
        """Install binary wheels only (``pip install --only-binary=:all:``) and return their resources."""
        from pyoxidizer_py.resources.collect import pip_install

        argv = check_list_of_str("pip_download", "args", args)
        return self._new(pip_install(self.distribution.resolve(), ["--only-binary=:all:", *argv], self.policy.record))

    def read_package_root(self, path: Any, packages: Any) -> list[ResourceFacade]:
        """Scan ``path`` and return the resources of the named top-level packages."""
        from pyoxidizer_py.resources.collect import read_package_root

        fn = "read_package_root"
        root = current_context().resolve_path(check_str(fn, "path", path))
        names = check_list_of_str(fn, "packages", packages)
        ctx = current_context()
        for name in names:
            ctx.record_input(root / name)
            ctx.record_input(root / f"{name}.py")
        return self._new(read_package_root(root, names, self.distribution.resolve(), self.policy.record))

    def read_virtualenv(self, path: Any) -> list[ResourceFacade]:
        """Return the resources installed in a virtualenv's site-packages."""
        from pyoxidizer_py.resources.collect import read_virtualenv

        root = current_context().resolve_path(check_str("read_virtualenv", "path", path))
        current_context().record_input(root)
        return self._new(read_virtualenv(root, self.distribution.resolve(), self.policy.record))

    def setup_py_install(
        self, package_path: Any, extra_envs: Any = None, extra_global_arguments: Any = None
    ) -> list[ResourceFacade]:
        """Install a source tree (``pip install --target``; setup.py-based trees work through pip)."""
        from pyoxidizer_py.resources.collect import pip_install

        fn = "setup_py_install"
        path = current_context().resolve_path(check_str(fn, "package_path", package_path))
        envs = _check_env_dict(fn, extra_envs)
        extra = check_list_of_str(fn, "extra_global_arguments", extra_global_arguments, optional=True)
        current_context().record_input(path)
        return self._new(
            pip_install(self.distribution.resolve(), [*extra, str(path)], self.policy.record, extra_envs=envs)
        )

    def add_python_resource(self, resource: Any) -> None:
        """Add one resource (honouring its ``add_include``)."""
        self._add(unwrap_resource(resource, "add_python_resource"))

    def add_python_resources(self, resources: Any) -> None:
        """Add every resource of a list."""
        if not isinstance(resources, (list, tuple)):
            raise TypeError(f"add_python_resources(): expected a list of resources, got {type_name(resources)}")
        for r in resources:
            self._add(unwrap_resource(r, "add_python_resources"))

    def add_cargo_manifest_licensing(self, manifest_path: Any, all_features: Any = False, features: Any = None) -> None:
        """Record a Rust crate manifest whose dependencies' licenses go into the licensing report."""
        fn = "add_cargo_manifest_licensing"
        path = current_context().resolve_path(check_str(fn, "manifest_path", manifest_path))
        self.cargo_licensing.append(
            (
                path,
                check_bool(fn, "all_features", all_features),
                check_list_of_str(fn, "features", features, optional=True),
            )
        )

    def filter_resources_from_files(self, files: Any = None, glob_files: Any = None) -> None:
        """Keep only resources whose names are listed in the given files (one name per line)."""
        fn = "filter_resources_from_files"
        ctx = current_context()
        paths = [ctx.resolve_path(p) for p in check_list_of_str(fn, "files", files, optional=True)]
        for pattern in check_list_of_str(fn, "glob_files", glob_files, optional=True):
            paths.extend(Path(p) for p in sorted(globmod.glob(str(ctx.resolve_path(pattern)))))
        names: set[str] = set()
        for p in paths:
            try:
                text = p.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"{fn}(): cannot read {p}: {exc.strerror or exc}") from exc
            for raw in text.splitlines():
                line = raw.strip()
                if line and not line.startswith("#"):
                    names.add(line)
        self.resources[:] = [r for r in self.resources if _resource_key(r) in names]

    # -- conversions ----------------------------------------------------------------------
    def build(self, target: Any) -> None:
        """Building happens after evaluation (``pyoxidizer-py build``), not from Starlark."""
        raise ConfigError(
            "PythonExecutable.build() cannot be called from a config; register a target that returns "
            "the executable and run `pyoxidizer-py build TARGET`"
        )

    def to_embedded_resources(self) -> PythonEmbeddedResources:
        """The artifacts a Rust project embeds (for ``run-build-script``)."""
        return PythonEmbeddedResources(self)

    def to_file_manifest(self, prefix: Any) -> Any:
        """A FileManifest holding the executable (and its extra files) under ``prefix``."""
        from pyoxidizer_py.config.dialect.files import FileManifest

        manifest = FileManifest()
        manifest.add_python_resource(prefix, self)
        return manifest

    def to_wix_msi_builder(
        self, id_prefix: Any, product_name: Any, product_version: Any, product_manufacturer: Any
    ) -> Any:
        """A Windows MSI builder for this executable (evaluates anywhere; builds only on Windows)."""
        from pyoxidizer_py.config.dialect.platform import WiXMSIBuilder

        builder = WiXMSIBuilder(id_prefix, product_name, product_version, product_manufacturer)
        builder.add_program_files_manifest(self.to_file_manifest("."))
        return builder

    def to_wix_bundle_builder(
        self,
        id_prefix: Any,
        product_name: Any,
        product_version: Any,
        product_manufacturer: Any,
        msi_builder_callback: Any = None,
    ) -> Any:
        """A Windows bundle installer builder (evaluates anywhere; builds only on Windows)."""
        from pyoxidizer_py.config.dialect.platform import WiXBundleBuilder

        return WiXBundleBuilder(id_prefix, product_name, product_version, product_manufacturer)


PythonExecutable.STARLARK_TAKES_CALLABLES = frozenset({"to_wix_bundle_builder"})  # type: ignore[attr-defined]


def _resource_key(record: model.Resource) -> str:
    if isinstance(record, (model.PythonPackageResource,)):
        return f"{record.package}.{record.name}"
    if isinstance(record, model.PythonPackageDistributionResource):
        return f"{record.package}:{record.name}"
    if isinstance(record, model.File):
        return record.path_in_install
    return record.name


def _check_env_dict(fn: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TypeError(f"{fn}(): extra_envs must be a dict of strings, got {type_name(value)}")
    return dict(value)


class PythonEmbeddedResources:
    """``PythonEmbeddedResources``: the artifacts directory of an executable (built by ``run-build-script``)."""

    STARLARK_TYPE: ClassVar[str] = "PythonEmbeddedResources"
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, exe: PythonExecutable) -> None:
        self.exe = exe

    def __repr__(self) -> str:
        return f"<PythonEmbeddedResources of {self.exe.name}>"


def snapshot_policy(policy: PythonPackagingPolicy) -> PackagingPolicy:
    """A frozen-in-time copy of a policy record (for the build stages)."""
    return policy.record.copy()  # type: ignore[no-any-return]


def snapshot_config(config: PythonInterpreterConfig) -> InterpreterConfig:
    """A copy of an interpreter config record (for the artifact stage)."""
    return config.record.copy()  # type: ignore[no-any-return]


def _record_pip_inputs(argv: list[str]) -> None:
    """Record the local files a ``pip install`` reads: requirement/constraint files and local paths."""
    ctx = current_context()
    follows_file_option = False
    for arg in argv:
        if follows_file_option:
            ctx.record_input(ctx.resolve_path(arg))
            follows_file_option = False
        elif arg in ("-r", "--requirement", "-c", "--constraint", "-e", "--editable"):
            follows_file_option = True
        elif arg.startswith(("--requirement=", "--constraint=")):
            ctx.record_input(ctx.resolve_path(arg.split("=", 1)[1]))
        elif not arg.startswith("-") and ("/" in arg or arg in (".", "..")):
            ctx.record_input(ctx.resolve_path(arg))
