"""The embedded interpreter's configuration: PyOxidizer's ``PythonInterpreterConfig``.

Field names, allowed values and defaults follow PyOxidizer 0.24's Starlark type
(https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_type_python_interpreter_config.html, and the defaults
PyOxidizer writes into ``default_python_config.rs``,
https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_rust_generic_embedding.html). Three groups:

* ``runtime``: what our runtime crate does around CPython (allocators, importer,
  multiprocessing dispatch, ``sys.frozen``);
* ``PyPreConfig`` and ``PyConfig``: CPython's PEP 587 structures; None means
  "leave CPython's default for the chosen profile".

The artifact stage renders this record into ``default_python_config.rs``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxidizer_py.settings import setting

__all__ = ["InterpreterConfig"]

_RT = "runtime"
_PRE = "PyPreConfig"
_CFG = "PyConfig"


def _ob(doc: str, group: str = _CFG) -> bool | None:
    return setting("bool", None, optional=True, doc=doc, group=group)  # type: ignore[no-any-return]


def _os(doc: str, group: str = _CFG) -> str | None:
    return setting("str", None, optional=True, doc=doc, group=group)  # type: ignore[no-any-return]


@dataclass(kw_only=True, slots=True)
class InterpreterConfig:
    """Every setting of the embedded interpreter (mutable while Starlark runs; snapshot with ``copy()``).

    Types, choices and defaults are declared per field with ``setting()``; see
    ``docs/configuration.md`` for the generated table.
    """

    # --- runtime (our launcher, PyOxidizer's pyembed-level fields) ---
    allocator_backend: str = setting(
        "str",
        "default",
        choices=("default", "jemalloc", "mimalloc", "snmalloc", "rust"),
        group=_RT,
        doc="Memory allocator the runtime installs for CPython's domains (after Py_PreInitialize) and, for "
        "jemalloc/mimalloc/snmalloc, as Rust's global allocator too (the build enables the "
        "global-allocator-X and allocator-X Cargo features; snmalloc needs cmake and a C++ compiler). "
        "rust = Rust's global allocator via std::alloc. What was installed is in sys.oxidized_allocator. "
        "PyOxidizer defaulted to jemalloc; pyoxidizer-py defaults to CPython's own allocators "
        "so a first build compiles no C allocator.",
    )
    allocator_raw: bool = setting(
        "bool", True, group=_RT, doc="Use allocator_backend for the RAW domain (PyMem_RawMalloc)."
    )
    allocator_mem: bool = setting(
        "bool",
        False,
        group=_RT,
        doc="Use allocator_backend for the MEM domain (PyMem_Malloc) instead of pymalloc.",
    )
    allocator_obj: bool = setting(
        "bool",
        False,
        group=_RT,
        doc="Use allocator_backend for the OBJ domain (PyObject_Malloc) instead of pymalloc.",
    )
    allocator_pymalloc_arena: bool = setting(
        "bool",
        False,
        group=_RT,
        doc="Keep pymalloc for MEM and OBJ but take its arenas from allocator_backend "
        "(PyObject_SetArenaAllocator). An error together with allocator_mem or allocator_obj, "
        "or with allocator = malloc/malloc-debug (no pymalloc).",
    )
    allocator_debug: bool = setting(
        "bool",
        False,
        group=_RT,
        doc="Install CPython's debug hooks (PyMem_SetupDebugHooks) on top of the domains' allocators.",
    )
    oxidized_importer: bool = setting(
        "bool", True, group=_RT, doc="Install the importer that serves packed (in-memory and indexed) resources."
    )
    filesystem_importer: bool = setting(
        "bool", False, group=_RT, doc="Keep CPython's path-based importer (sys.path scanning) enabled."
    )
    argvb: bool = setting("bool", False, group=_RT, doc="Expose the raw argv bytes as sys.argvb.")
    multiprocessing_auto_dispatch: bool = setting(
        "bool",
        True,
        group=_RT,
        doc="In every profile, run multiprocessing's child processes instead of the application when "
        "multiprocessing starts this executable as sys.executable: spawn's `--multiprocessing-fork` "
        "arguments and the exact `-c` commands of forkserver, resource_tracker and (without sys.frozen) spawn.",
    )
    multiprocessing_start_method: str = setting(
        "str",
        "auto",
        choices=("none", "fork", "forkserver", "spawn", "auto"),
        group=_RT,
        doc="Default start method, set when the application first imports multiprocessing (never imported "
        "otherwise; set_start_method() still works). auto and none keep CPython's default for the platform "
        "and version (PyOxidizer's auto forced fork outside Windows).",
    )
    sys_frozen: bool = setting("bool", True, group=_RT, doc="Set sys.frozen = True.")
    sys_meipass: bool = setting("bool", False, group=_RT, doc="Set sys._MEIPASS to the executable's directory.")
    terminfo_resolution: str = setting(
        "str",
        "dynamic",
        choices=("dynamic", "none"),
        prefixes=("static:",),
        group=_RT,
        doc="How TERMINFO_DIRS is set: detect from the OS, leave alone, or static:<dirs>.",
    )
    write_modules_directory_env: str | None = _os(
        "Environment variable naming a directory where the loaded module names are written at exit.", _RT
    )

    # --- PyPreConfig ---
    config_profile: str = setting(
        "str",
        "isolated",
        choices=("isolated", "python"),
        group=_PRE,
        doc="Start from CPython's isolated configuration or its python-command configuration.",
    )
    allocator: str | None = setting(
        "str",
        None,
        optional=True,
        group=_PRE,
        choices=("not-set", "default", "debug", "malloc", "malloc-debug", "py-malloc", "py-malloc-debug"),
        doc="PyPreConfig.allocator (CPython's own allocator selection).",
    )
    configure_locale: bool | None = setting(
        "bool", True, optional=True, group=_PRE, doc="Set LC_CTYPE from the environment (needed for UTF-8 argv)."
    )
    coerce_c_locale: str | None = setting(
        "str", None, optional=True, choices=("LC_CTYPE", "C"), group=_PRE, doc="PEP 538 C locale coercion target."
    )
    coerce_c_locale_warn: bool | None = _ob("Warn when the C locale is coerced.", _PRE)
    development_mode: bool | None = _ob("Python development mode (-X dev).", _PRE)
    isolated: bool | None = _ob("Isolated mode (-I).", _PRE)
    legacy_windows_fs_encoding: bool | None = _ob("Windows: use the legacy mbcs filesystem encoding.", _PRE)
    parse_argv: bool | None = _ob("Parse Python command-line options out of argv.", _PRE)
    use_environment: bool | None = _ob("Read PYTHON* environment variables.", _PRE)
    utf8_mode: bool | None = _ob("UTF-8 mode (-X utf8).", _PRE)

    # --- PyConfig ---
    base_exec_prefix: str | None = _os("sys.base_exec_prefix.")
    base_executable: str | None = _os("sys._base_executable.")
    base_prefix: str | None = _os("sys.base_prefix.")
    buffered_stdio: bool | None = _ob("Buffer stdout and stderr (-u disables).")
    bytes_warning: str | None = setting(
        "str", None, optional=True, choices=("none", "warn", "raise"), group=_CFG, doc="-b / -bb behaviour."
    )
    check_hash_pycs_mode: str | None = setting(
        "str",
        None,
        optional=True,
        choices=("always", "never", "default"),
        group=_CFG,
        doc="Validation of hash-based .pyc files.",
    )
    configure_c_stdio: bool | None = _ob("Configure the C standard streams (binary mode, buffering).")
    dump_refs: bool | None = _ob("Dump remaining references at exit (debug builds).")
    exec_prefix: str | None = _os("sys.exec_prefix.")
    executable: str | None = _os("sys.executable (default: this executable).")
    fault_handler: bool | None = _ob("Enable faulthandler (-X faulthandler).")
    filesystem_encoding: str | None = _os("Filesystem encoding.")
    filesystem_errors: str | None = _os("Filesystem encoding error handler.")
    hash_seed: int | None = setting(
        "int",
        None,
        optional=True,
        group=_CFG,
        int_range=(0, 4294967295),
        doc="Fixed hash seed (PYTHONHASHSEED; 0 to 4294967295).",
    )
    home: str | None = _os("Python home; $ORIGIN is the executable's directory.")
    import_time: bool | None = _ob("Print import times (-X importtime).")
    inspect: bool | None = _ob("Enter interactive mode after running code (-i).")
    install_signal_handlers: bool | None = _ob("Install Python's signal handlers.")
    interactive: bool | None = _ob("Force interactive mode.")
    legacy_windows_stdio: bool | None = _ob("Windows: legacy console stdio.")
    malloc_stats: bool | None = _ob("Print pymalloc statistics at exit.")
    module_search_paths: list[str] | None = setting(
        "list[str]",
        None,
        optional=True,
        group=_CFG,
        doc="sys.path entries; $ORIGIN expands to the executable's directory at run time. Setting a "
        "non-empty list also sets filesystem_importer = True, as in PyOxidizer.",
    )
    optimization_level: int | None = setting(
        "int", None, optional=True, choices=("0", "1", "2"), group=_CFG, doc="-O level (0, 1 or 2)."
    )
    parser_debug: bool | None = _ob("Parser debug output (debug builds).")
    pathconfig_warnings: bool | None = _ob("Warn when the path configuration cannot be computed.")
    prefix: str | None = _os("sys.prefix.")
    program_name: str | None = _os("Program name used to compute the path configuration.")
    pycache_prefix: str | None = _os("Directory for .pyc caches (-X pycache_prefix).")
    python_path_env: str | None = _os("PYTHONPATH-style extra module search path.")
    quiet: bool | None = _ob("Do not print the version banner in interactive mode (-q).")
    run_command: str | None = _os("Python code to run (like python -c).")
    run_filename: str | None = _os("Python file to run (like python FILE).")
    run_module: str | None = _os("Module to run as __main__ (like python -m).")
    show_ref_count: bool | None = _ob("Show total reference count at exit (debug builds).")
    site_import: bool | None = _ob("Import the site module at startup.")
    skip_first_source_line: bool | None = _ob("Skip the first line of run_filename (-x).")
    stdio_encoding: str | None = _os("Encoding of sys.stdin/stdout/stderr.")
    stdio_errors: str | None = _os("Error handler of sys.stdin/stdout/stderr.")
    tracemalloc: bool | None = _ob("Start tracemalloc at startup.")
    user_site_directory: bool | None = _ob("Add the user site-packages directory to sys.path.")
    verbose: bool | None = _ob("Verbose import messages (-v).")
    warn_options: list[str] | None = setting(
        "list[str]", None, optional=True, group=_CFG, doc="Warning filters (-W options)."
    )
    write_bytecode: bool | None = _ob("Write .pyc files on import.")
    x_options: list[str] | None = setting("list[str]", None, optional=True, group=_CFG, doc="-X options.")

    def copy(self) -> InterpreterConfig:
        """Return an independent copy (lists copied), used to snapshot a config for a build."""
        import copy

        return copy.deepcopy(self)
