"""Names PyOxidizer's dialect once had, and what an old config should use instead.

A config may mention any name in code that never runs (PyOxidizer's engine looked
names up only when a statement ran). When such code does run, the error says which
release removed the name and what replaces it. Sources: PyOxidizer's version
history (``pyoxidizer/docs/pyoxidizer_history.rst``, "Backwards Compatibility
Notes" of each release) and the Starlark modules of its tagged releases. Names
marked "before 0.5.0" existed only in development versions between 0.4.0 (TOML
configs) and 0.5.0 (the first release with Starlark configs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyoxidizer_py.errors import ConfigError

__all__ = ["REMOVED_ATTRIBUTES", "REMOVED_GLOBALS", "Removal", "removed_attribute_message", "undefined_name_error"]


@dataclass(frozen=True, slots=True)
class Removal:
    """One removed name.

    Attributes:
        release: the PyOxidizer release that no longer has it ("0.8.0", or
            "before 0.5.0" for development-only names).
        replacement: what to write instead.
    """

    release: str
    replacement: str


_DEV = "before 0.5.0"  # development versions only; 0.5.0 was the first Starlark release
_PACKAGING_RULE = "the packaging rules of the development versions became methods of PythonExecutable"

REMOVED_GLOBALS: dict[str, Removal] = {
    "PythonInterpreterConfig": Removal(
        "0.8.0", "create it with dist.make_python_interpreter_config() and set its attributes"
    ),
    "Config": Removal(_DEV, "register targets with register_target() returning a PythonExecutable"),
    "BuildConfig": Removal(_DEV, "register targets with register_target(); set_build_path() sets the build path"),
    "EmbeddedPythonConfig": Removal(_DEV, "use dist.make_python_interpreter_config()"),
    "Stdlib": Removal(_DEV, "dist.to_python_executable() adds the standard library"),
    "StdlibExtensionsPolicy": Removal(_DEV, "set policy.extension_module_filter"),
    "StdlibExtensionsExplicitIncludes": Removal(_DEV, "set policy.extension_module_filter"),
    "StdlibExtensionsExplicitExcludes": Removal(_DEV, "set policy.extension_module_filter"),
    "StdlibExtensionVariant": Removal(_DEV, "use policy.set_preferred_extension_module_variant()"),
    "PipInstallSimple": Removal(_DEV, "use exe.add_python_resources(exe.pip_install([...]))"),
    "PipRequirementsFile": Removal(_DEV, "use exe.add_python_resources(exe.pip_install(['-r', 'requirements.txt']))"),
    "SetupPyInstall": Removal(_DEV, "use exe.add_python_resources(exe.setup_py_install(...))"),
    "Virtualenv": Removal(_DEV, "use exe.add_python_resources(exe.read_virtualenv(...))"),
    "PackageRoot": Removal(_DEV, "use exe.add_python_resources(exe.read_package_root(path, [...]))"),
    "FilterInclude": Removal(_DEV, "use exe.filter_resources_from_files()"),
    "WriteLicenseFiles": Removal(_DEV, "set exe.licenses_filename"),
    "CopyFilesDirectory": Removal(_DEV, "use a FileManifest"),
    "python_run_mode_eval": Removal(_DEV, "set config.run_command"),
    "python_run_mode_module": Removal(_DEV, "set config.run_module"),
    "python_run_mode_noop": Removal(_DEV, "leave config.run_* unset and set config.parse_argv = False"),
    "python_run_mode_repl": Removal(_DEV, "leave config.run_command, run_module and run_filename unset"),
}

# Names that were never PyOxidizer globals but appear in old configs.
_NOT_GLOBALS: dict[str, str] = {
    "PYOXIDIZER_VERSION": (
        "it is not a PyOxidizer global: `pyoxidizer init-config-file` wrote "
        '`PYOXIDIZER_VERSION = "..."` at the top of new configs until 0.17.0; define it in the file'
    ),
    "PYOXIDIZER_COMMIT": (
        "it is not a PyOxidizer global: `pyoxidizer init-config-file` wrote it at the top of new "
        "configs until 0.17.0; define it in the file"
    ),
}

_TO_EXE = "it moved to PythonExecutable: call it on the executable (exe.{name}(...))"
_ADD_RESOURCE = (
    "use exe.add_python_resource() / add_python_resources(); where a resource goes is set by its "
    "add_location attribute or the packaging policy"
)

REMOVED_ATTRIBUTES: dict[tuple[str, str], Removal] = {
    ("PythonDistribution", "pip_install"): Removal("0.8.0", _TO_EXE),
    ("PythonDistribution", "read_package_root"): Removal("0.8.0", _TO_EXE),
    ("PythonDistribution", "read_virtualenv"): Removal("0.8.0", _TO_EXE),
    ("PythonDistribution", "setup_py_install"): Removal("0.8.0", _TO_EXE),
    ("PythonDistribution", "extension_modules"): Removal("0.9.0", "use dist.python_resources()"),
    ("PythonDistribution", "package_resources"): Removal("0.9.0", "use dist.python_resources()"),
    ("PythonDistribution", "source_modules"): Removal("0.9.0", "use dist.python_resources()"),
    ("PythonDistribution", "resources_data"): Removal("0.7.0", "use dist.python_resources()"),
    ("PythonExecutable", "to_embedded_data"): Removal("0.7.0", "use exe.to_embedded_resources()"),
    ("PythonExecutable", "add_resource_data"): Removal("0.7.0", _ADD_RESOURCE),
    ("PythonInterpreterConfig", "run_mode"): Removal(
        "0.10.0", "set run_command, run_module or run_filename (none of them set starts a REPL)"
    ),
    ("PythonInterpreterConfig", "raw_allocator"): Removal("0.11.0", "it was renamed allocator_backend"),
}
for _old in (
    "add_module_source",
    "add_module_bytecode",
    "add_package_resource",
    "add_package_distribution_resource",
    "add_extension_module",
    "add_in_memory_module_source",
    "add_filesystem_relative_module_source",
    "add_in_memory_module_bytecode",
    "add_filesystem_relative_module_bytecode",
    "add_in_memory_package_resource",
    "add_filesystem_relative_package_resource",
    "add_in_memory_package_distribution_resource",
    "add_filesystem_relative_package_distribution_resource",
    "add_in_memory_extension_module",
    "add_filesystem_relative_extension_module",
    "add_in_memory_python_resource",
    "add_filesystem_relative_python_resource",
    "add_in_memory_python_resources",
    "add_filesystem_relative_python_resources",
):
    REMOVED_ATTRIBUTES[("PythonExecutable", _old)] = Removal("0.8.0", _ADD_RESOURCE)


def removed_attribute_message(type_name: str, name: str) -> str | None:
    """The message for a removed method or attribute of a dialect type, or None."""
    removal = REMOVED_ATTRIBUTES.get((type_name, name))
    if removal is None:
        return None
    return f"{type_name}.{name} was removed in PyOxidizer {removal.release}: {removal.replacement.format(name=name)}"


def undefined_name_error(name: str, known: Iterable[str] = ()) -> ConfigError:
    """The error raised when a config evaluates a name nobody defines.

    Args:
        name: the name.
        known: names that are defined (for a "did you mean" hint).

    Returns:
        A ``ConfigError`` (its location is added where it is raised).
    """
    removal = REMOVED_GLOBALS.get(name)
    if removal is not None:
        when = (
            "existed only in PyOxidizer's development versions before 0.5.0"
            if removal.release == _DEV
            else f"was removed in PyOxidizer {removal.release}"
        )
        return ConfigError(f"name '{name}' is not defined: {name} {when}; {removal.replacement}")
    if name in _NOT_GLOBALS:
        return ConfigError(f"name '{name}' is not defined: {_NOT_GLOBALS[name]}")
    import difflib  # only for the error message (keeps list-targets' start-up small)

    close = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return ConfigError(f"name '{name}' is not defined", hint=f"did you mean {close[0]!r}?" if close else None)
