//! Configuration records of the runtime.
//!
//! `OxidizedPythonInterpreterConfig` mirrors PyOxidizer's type of the same name so
//! that a `default_python_config.rs` written by pyoxidizer-py (and custom
//! `main.rs` files written for PyOxidizer) read the same. `PythonInterpreterConfig`
//! holds the PEP 587 `PyPreConfig`/`PyConfig` settings; `None` everywhere means
//! "keep CPython's default for the chosen profile".

use std::ffi::OsString;
use std::path::PathBuf;

/// Which of CPython's two configuration presets to start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PythonInterpreterProfile {
    /// `PyConfig_InitIsolatedConfig`: environment ignored, no user site, argv not parsed.
    Isolated,
    /// `PyConfig_InitPythonConfig`: behaves like the `python` command.
    Python,
}

/// `PyPreConfig.allocator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocator {
    NotSet,
    Default,
    Debug,
    Malloc,
    MallocDebug,
    PyMalloc,
    PyMallocDebug,
}

impl Allocator {
    pub(crate) fn as_c(self) -> i32 {
        // PYMEM_ALLOCATOR_* values from Include/cpython/pymem.h.
        match self {
            Allocator::NotSet => 0,
            Allocator::Default => 1,
            Allocator::Debug => 2,
            Allocator::Malloc => 3,
            Allocator::MallocDebug => 4,
            Allocator::PyMalloc => 5,
            Allocator::PyMallocDebug => 6,
        }
    }
}

/// `PyPreConfig.coerce_c_locale` target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoerceCLocale {
    LCCType,
    C,
}

/// `PyConfig.bytes_warning` (`-b`, `-bb`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesWarning {
    None,
    Warn,
    Raise,
}

/// `PyConfig.check_hash_pycs_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckHashPycsMode {
    Always,
    Never,
    Default,
}

/// `PyConfig.optimization_level` (`-O`, `-OO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytecodeOptimizationLevel {
    Zero,
    One,
    Two,
}

/// Memory allocator the runtime installs for CPython's memory domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryAllocatorBackend {
    /// CPython's own allocators (nothing installed).
    Default,
    Jemalloc,
    Mimalloc,
    Snmalloc,
    /// Rust's global allocator.
    Rust,
}

/// Start method set when `multiprocessing` is imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiprocessingStartMethod {
    None,
    Fork,
    ForkServer,
    Spawn,
    Auto,
}

/// How `TERMINFO_DIRS` is set before the interpreter starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TerminfoResolution {
    /// Detect the usual terminfo directories of this machine (only when unset).
    Dynamic,
    /// Leave the environment alone.
    None,
    /// Set `TERMINFO_DIRS` to this value (only when unset).
    Static(String),
}

/// A source of packed resources for the in-memory importer. Neither is copied:
/// embedded bytes are used in place, a file is memory-mapped for the life of the
/// process.
#[derive(Clone, Debug)]
pub enum PackedResourcesSource<'a> {
    /// Bytes embedded in the executable (`include_bytes!`).
    Memory(&'a [u8]),
    /// A file memory-mapped at run time; `$ORIGIN` is the executable's directory.
    MemoryMappedPath(PathBuf),
}

/// CPython's PEP 587 settings (`PyPreConfig` then `PyConfig`).
///
/// Path-like strings may contain `$ORIGIN`, replaced by the directory holding
/// the executable (canonicalized) before the interpreter starts.
#[derive(Clone, Debug)]
pub struct PythonInterpreterConfig {
    pub profile: PythonInterpreterProfile,
    // --- PyPreConfig ---
    pub allocator: Option<Allocator>,
    pub configure_locale: Option<bool>,
    pub coerce_c_locale: Option<CoerceCLocale>,
    pub coerce_c_locale_warn: Option<bool>,
    pub development_mode: Option<bool>,
    pub isolated: Option<bool>,
    pub legacy_windows_fs_encoding: Option<bool>,
    pub parse_argv: Option<bool>,
    pub use_environment: Option<bool>,
    pub utf8_mode: Option<bool>,
    // --- PyConfig ---
    /// Arguments for `sys.argv`; None = the process's arguments.
    pub argv: Option<Vec<OsString>>,
    pub base_exec_prefix: Option<PathBuf>,
    pub base_executable: Option<PathBuf>,
    pub base_prefix: Option<PathBuf>,
    pub buffered_stdio: Option<bool>,
    pub bytes_warning: Option<BytesWarning>,
    pub check_hash_pycs_mode: Option<CheckHashPycsMode>,
    pub configure_c_stdio: Option<bool>,
    pub dump_refs: Option<bool>,
    pub exec_prefix: Option<PathBuf>,
    pub executable: Option<PathBuf>,
    pub fault_handler: Option<bool>,
    pub filesystem_encoding: Option<String>,
    pub filesystem_errors: Option<String>,
    pub hash_seed: Option<u64>,
    pub home: Option<PathBuf>,
    pub import_time: Option<bool>,
    pub inspect: Option<bool>,
    pub install_signal_handlers: Option<bool>,
    pub interactive: Option<bool>,
    pub legacy_windows_stdio: Option<bool>,
    pub malloc_stats: Option<bool>,
    pub module_search_paths: Option<Vec<PathBuf>>,
    pub optimization_level: Option<BytecodeOptimizationLevel>,
    pub parser_debug: Option<bool>,
    pub pathconfig_warnings: Option<bool>,
    pub prefix: Option<PathBuf>,
    pub program_name: Option<PathBuf>,
    pub pycache_prefix: Option<PathBuf>,
    pub python_path_env: Option<String>,
    pub quiet: Option<bool>,
    pub run_command: Option<String>,
    pub run_filename: Option<PathBuf>,
    pub run_module: Option<String>,
    pub show_ref_count: Option<bool>,
    pub site_import: Option<bool>,
    pub skip_first_source_line: Option<bool>,
    pub stdio_encoding: Option<String>,
    pub stdio_errors: Option<String>,
    pub tracemalloc: Option<bool>,
    pub user_site_directory: Option<bool>,
    pub verbose: Option<bool>,
    pub warn_options: Option<Vec<String>>,
    pub write_bytecode: Option<bool>,
    pub x_options: Option<Vec<String>>,
}

impl PythonInterpreterConfig {
    /// Every setting unset, starting from `profile`.
    pub fn new(profile: PythonInterpreterProfile) -> Self {
        PythonInterpreterConfig {
            profile,
            allocator: None,
            configure_locale: None,
            coerce_c_locale: None,
            coerce_c_locale_warn: None,
            development_mode: None,
            isolated: None,
            legacy_windows_fs_encoding: None,
            parse_argv: None,
            use_environment: None,
            utf8_mode: None,
            argv: None,
            base_exec_prefix: None,
            base_executable: None,
            base_prefix: None,
            buffered_stdio: None,
            bytes_warning: None,
            check_hash_pycs_mode: None,
            configure_c_stdio: None,
            dump_refs: None,
            exec_prefix: None,
            executable: None,
            fault_handler: None,
            filesystem_encoding: None,
            filesystem_errors: None,
            hash_seed: None,
            home: None,
            import_time: None,
            inspect: None,
            install_signal_handlers: None,
            interactive: None,
            legacy_windows_stdio: None,
            malloc_stats: None,
            module_search_paths: None,
            optimization_level: None,
            parser_debug: None,
            pathconfig_warnings: None,
            prefix: None,
            program_name: None,
            pycache_prefix: None,
            python_path_env: None,
            quiet: None,
            run_command: None,
            run_filename: None,
            run_module: None,
            show_ref_count: None,
            site_import: None,
            skip_first_source_line: None,
            stdio_encoding: None,
            stdio_errors: None,
            tracemalloc: None,
            user_site_directory: None,
            verbose: None,
            warn_options: None,
            write_bytecode: None,
            x_options: None,
        }
    }
}

impl Default for PythonInterpreterConfig {
    fn default() -> Self {
        Self::new(PythonInterpreterProfile::Python)
    }
}

/// Everything the runtime needs to start the embedded interpreter.
#[derive(Clone, Debug)]
pub struct OxidizedPythonInterpreterConfig<'a> {
    /// Path of the executable; None = `std::env::current_exe()`, canonicalized.
    pub exe: Option<PathBuf>,
    /// Value of `$ORIGIN`; None = the directory holding `exe`.
    pub origin: Option<PathBuf>,
    /// CPython's own settings.
    pub interpreter_config: PythonInterpreterConfig,
    pub allocator_backend: MemoryAllocatorBackend,
    pub allocator_raw: bool,
    pub allocator_mem: bool,
    pub allocator_obj: bool,
    pub allocator_pymalloc_arena: bool,
    pub allocator_debug: bool,
    /// When `home` is unset: home = `$ORIGIN`; when `program_name`/`executable`
    /// are unset: the executable, so `sys.executable` names this program.
    pub set_missing_path_configuration: bool,
    /// Install the importer for `packed_resources` (`OxidizedFinder`, first on
    /// `sys.meta_path`). Without it packed resources are not used.
    pub oxidized_importer: bool,
    /// Keep CPython's path-based importer (`sys.path` scanning) on `sys.meta_path`
    /// when the packed resources importer is installed. Without packed resources
    /// CPython's importer always stays: nothing else could import.
    pub filesystem_importer: bool,
    /// Packed resources blobs (pyoxidizer-py's format, `docs/packed-resources.md`),
    /// earlier ones win when a name is in several.
    pub packed_resources: Vec<PackedResourcesSource<'a>>,
    /// Arguments for `sys.argv`; None = `interpreter_config.argv`, then the process's.
    pub argv: Option<Vec<OsString>>,
    /// Expose the raw argument bytes as `sys.argvb`.
    pub argvb: bool,
    pub multiprocessing_auto_dispatch: bool,
    pub multiprocessing_start_method: MultiprocessingStartMethod,
    /// Set `sys.frozen = True`.
    pub sys_frozen: bool,
    /// Set `sys._MEIPASS` to `$ORIGIN`.
    pub sys_meipass: bool,
    pub terminfo_resolution: TerminfoResolution,
    /// Value for `TCL_LIBRARY` (`$ORIGIN` expanded).
    pub tcl_library: Option<PathBuf>,
    /// Name of an environment variable naming a directory where the names of the
    /// loaded modules are written at exit.
    pub write_modules_directory_env: Option<String>,
}

impl Default for OxidizedPythonInterpreterConfig<'_> {
    /// The configuration of `build-mode-standalone`: behave like the `python`
    /// command of the interpreter PyO3 linked against (its own stdlib, found from
    /// its compiled-in prefix), with the filesystem importer.
    fn default() -> Self {
        OxidizedPythonInterpreterConfig {
            exe: None,
            origin: None,
            interpreter_config: PythonInterpreterConfig::new(PythonInterpreterProfile::Python),
            allocator_backend: MemoryAllocatorBackend::Default,
            allocator_raw: true,
            allocator_mem: false,
            allocator_obj: false,
            allocator_pymalloc_arena: false,
            allocator_debug: false,
            set_missing_path_configuration: false,
            oxidized_importer: false,
            filesystem_importer: true,
            packed_resources: vec![],
            argv: None,
            argvb: false,
            multiprocessing_auto_dispatch: true,
            multiprocessing_start_method: MultiprocessingStartMethod::Auto,
            sys_frozen: false,
            sys_meipass: false,
            terminfo_resolution: TerminfoResolution::Dynamic,
            tcl_library: None,
            write_modules_directory_env: None,
        }
    }
}
