"""The packaging policy: which resources go into a build, and where.

Field names, values and defaults are PyOxidizer 0.24's ``PythonPackagingPolicy``
(https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_type_python_packaging_policy.html).
Resource locations are ``in-memory`` (served from the
packed resources inside the executable) or ``filesystem-relative:PREFIX`` (files
in ``PREFIX/`` beside the executable, ``.`` meaning the executable's directory).
Defaults that differ from PyOxidizer's:

* ``allow_in_memory_shared_library_loading`` is True: on Linux with a static libpython,
  extension modules and their shared libraries load from memory, so the executable is
  one file (``in_memory_shared_library_fallback`` is new and says what happens where
  memory loading is refused);
* ``resources_location_fallback`` is ``filesystem-relative:lib`` instead of None, so
  extension modules that cannot load from memory (dynamic libpython, other platforms)
  go to ``lib/`` instead of failing the build;
* module sources: the stdlib (``include_distribution_sources``) and installed packages
  (the new ``include_third_party_sources``) ship bytecode only; the application's own
  modules keep their source (``include_non_distribution_sources``) so tracebacks show
  its lines. Code that reads the source of a module at run time (``inspect.getsource``,
  ``inspect.getsourcelines``, ``doctest``, libraries that compile from source such as
  numba or ``torch.jit.script``) needs the source of that module kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyoxidizer_py.settings import setting

__all__ = ["LOCATION_PREFIX", "PackagingPolicy", "parse_location"]

_G = "PythonPackagingPolicy"
LOCATION_PREFIX = "filesystem-relative:"


def parse_location(value: str) -> tuple[str, str]:
    """Split a resource location string.

    Args:
        value: ``"in-memory"`` or ``"filesystem-relative:PREFIX"``.

    Returns:
        ``("in-memory", "")`` or ``("filesystem-relative", PREFIX)``.

    Raises:
        ValueError: for any other string.
    """
    if value == "in-memory":
        return ("in-memory", "")
    if value.startswith(LOCATION_PREFIX) and len(value) > len(LOCATION_PREFIX):
        return ("filesystem-relative", value[len(LOCATION_PREFIX) :])
    raise ValueError(f"invalid resource location {value!r}: expected 'in-memory' or 'filesystem-relative:PREFIX'")


@dataclass(kw_only=True, slots=True)
class PackagingPolicy:
    """How resources are selected and placed (mutable while Starlark runs; snapshot with ``copy()``)."""

    allow_files: bool = setting("bool", False, group=_G, doc="Allow plain File resources to be added.")
    allow_in_memory_shared_library_loading: bool = setting(
        "bool",
        True,
        group=_G,
        doc="Load extension modules and the shared libraries they need from memory (Linux, static "
        "libpython: a sealed memfd opened by the dynamic loader), so the executable needs no files "
        "beside it. PyOxidizer defaulted to False and could do it only on Windows.",
    )
    in_memory_shared_library_fallback: str = setting(
        "str",
        "extract",
        choices=("extract", "error"),
        group=_G,
        doc="What an executable does when the system refuses to run code from memory files "
        "(memfd_create missing, seccomp, vm.memfd_noexec=2): 'extract' writes each shared object "
        "once into a per-user cache keyed by its content hash and verifies it before every use; "
        "'error' fails the import instead.",
    )
    in_memory_shared_library_cache: bool = setting(
        "bool",
        False,
        group=_G,
        doc="Load the extension modules and shared libraries packed in memory from copies in a per-user "
        "cache ($XDG_CACHE_HOME/pyoxidizer-py/extracted/<content hash>/, else ~/.cache/...) instead of "
        "decoding each into a memory file at every start: the first start that needs one writes it; "
        "later starts use it when it has the right size and owner and only its user can write it. "
        "Faster starts for applications with large native libraries (numpy, torch), whose pages "
        "processes then share; where the cache cannot be written, objects load from memory. Cannot "
        "be combined with in_memory_shared_library_fallback = 'error'.",
    )
    bytecode_optimize_level_zero: bool = setting("bool", True, group=_G, doc="Compile bytecode at -O0.")
    bytecode_optimize_level_one: bool = setting("bool", False, group=_G, doc="Compile bytecode at -O1.")
    bytecode_optimize_level_two: bool = setting("bool", False, group=_G, doc="Compile bytecode at -O2.")
    extension_module_filter: str = setting(
        "str",
        "no-unused-ui",
        choices=("all", "no-unused-ui", "minimal", "no-libraries", "no-copyleft"),
        group=_G,
        doc="Which of the distribution's extension modules are included. The default, no-unused-ui, is all "
        "of them except the Tk and curses modules (_tkinter, _curses, _curses_panel, with the tkinter, turtle "
        "and curses packages), which every value but all drops when no module of the application or its "
        "packages mentions them; PyOxidizer's default was all.",
    )
    file_scanner_classify_files: bool = setting(
        "bool", True, group=_G, doc="Classify scanned files into typed Python resources."
    )
    file_scanner_emit_files: bool = setting(
        "bool", False, group=_G, doc="Also emit every scanned file as a File resource."
    )
    include_classified_resources: bool = setting(
        "bool", True, group=_G, doc="Include classified (typed) resources by default."
    )
    include_distribution_sources: bool = setting(
        "bool",
        False,
        group=_G,
        doc="Keep the source of the distribution's (stdlib) modules beside their bytecode (for "
        "inspect.getsource and source lines in tracebacks). PyOxidizer defaulted to True; bytecode "
        "alone halves the stdlib's size.",
    )
    include_distribution_resources: bool = setting(
        "bool", False, group=_G, doc="Include the distribution's (stdlib) package data files."
    )
    include_file_resources: bool = setting("bool", False, group=_G, doc="Include File resources by default.")
    include_non_distribution_sources: bool = setting(
        "bool",
        True,
        group=_G,
        doc="Keep the source of modules that are not from the distribution: the application's own "
        "(read_package_root, make_python_module_source) and, with include_third_party_sources, installed "
        "packages.",
    )
    include_third_party_sources: bool = setting(
        "bool",
        False,
        group=_G,
        doc="Also keep the source of installed packages (pip_install, pip_download, setup_py_install, "
        "read_virtualenv) when include_non_distribution_sources is True; without it they ship bytecode only.",
    )
    include_test: bool = setting(
        "bool", False, group=_G, doc="Include test packages (test, tests, idlelib tests, ...)."
    )
    stdlib_filter: str = setting(
        "str",
        "all",
        choices=("all", "imported"),
        group=_G,
        doc="Which standard library modules are included: all, or imported (only those a static scan of "
        "import statements reaches from the application, its packages and the interpreter's start-up; see "
        "docs/building.md for what a scan cannot see).",
    )
    stdlib_filter_keep: list[str] = setting(
        "list[str]",
        [],
        group=_G,
        doc='Standard library modules stdlib_filter = "imported" keeps anyway, with everything they import '
        "(modules imported by computed names: importlib.import_module, plugins, pickled classes).",
    )
    resources_compression: str = setting(
        "str",
        "zstd",
        choices=("zstd", "none"),
        group=_G,
        doc="How in-memory resources are stored in the packed resources: zstd compresses each module's "
        "bytecode and source, each data file and each shared object into its own Zstandard frame, which the "
        "runtime decompresses when it is first imported or read (the modules CPython imports while it starts "
        "stay uncompressed), small frames with a dictionary trained on the standard library's bytecode and "
        "stored once; none stores them as they are (larger, no decompression). New in pyoxidizer-py.",
    )
    resources_location: str = setting(
        "str",
        "in-memory",
        choices=("in-memory",),
        prefixes=(LOCATION_PREFIX,),
        group=_G,
        doc="Where resources go: in-memory or filesystem-relative:PREFIX.",
    )
    resources_location_fallback: str | None = setting(
        "str",
        "filesystem-relative:lib",
        optional=True,
        choices=("in-memory",),
        prefixes=(LOCATION_PREFIX,),
        group=_G,
        doc="Where a resource goes when resources_location cannot hold it (extension modules, shared "
        "libraries and files cannot be loaded from memory). PyOxidizer defaulted to None, which made every "
        "C extension an error; None here still asks for that strict in-memory-only behaviour.",
    )
    preferred_extension_module_variants: dict[str, str] = setting(
        "dict",
        {},
        group=_G,
        read_only=True,
        doc="Extension module variant preferred per module (set with set_preferred_extension_module_variant).",
    )
    # Not settings: state that methods change.
    resource_callbacks: list[object] = field(default_factory=list)

    def copy(self) -> PackagingPolicy:
        """Return an independent copy (dicts and lists copied)."""
        import copy

        new = copy.copy(self)
        new.preferred_extension_module_variants = dict(self.preferred_extension_module_variants)
        new.resource_callbacks = list(self.resource_callbacks)
        new.stdlib_filter_keep = list(self.stdlib_filter_keep)
        return new

    def set_resource_handling_mode(self, mode: str) -> None:
        """Bulk-set the scanner, include and allow_files attributes (PyOxidizer semantics).

        Args:
            mode: ``"classify"`` (the scanner emits typed resources; only those are included) or
                ``"files"`` (the scanner emits plain ``File`` records, which are included and allowed;
                typed resources from elsewhere, such as the distribution's standard library, are still
                included, as in PyOxidizer's ``ResourceHandlingMode::Files``).

        Raises:
            ValueError: for any other mode.
        """
        if mode == "classify":
            self.file_scanner_classify_files = True
            self.file_scanner_emit_files = False
            self.include_classified_resources = True
            self.include_file_resources = False
            self.allow_files = False
        elif mode == "files":
            self.file_scanner_classify_files = False
            self.file_scanner_emit_files = True
            self.include_classified_resources = True  # PyOxidizer keeps classified ones (the stdlib)
            self.include_file_resources = True
            self.allow_files = True
        else:
            raise ValueError(f"resource handling mode must be 'classify' or 'files'; got {mode!r}")
