//! Start CPython from an `OxidizedPythonInterpreterConfig` and run it.
//!
//! Order of operations (PEP 587):
//! 1. resolve the executable and `$ORIGIN` (for a compressed executable, the file
//!    its launcher ran from: `launched_from`), expand `$ORIGIN` in path settings;
//! 2. set process environment the config asks for (`TERMINFO_DIRS`, `TCL_LIBRARY`);
//! 3. `PyPreConfig` from the profile plus overrides -> `Py_PreInitialize`;
//! 4. `PyConfig` from the profile plus every setting that is set, argv, and the
//!    missing path configuration (home = `$ORIGIN`, program_name/executable = the
//!    executable) -> `Py_InitializeFromConfig`, with the packed resources' frozen
//!    table in place, then the importer on `sys.meta_path` (`importer.rs`);
//! 5. `sys` attributes (`frozen`, `oxidized`, `_MEIPASS`, `argvb`);
//! 6. `run()`: `Py_RunMain()`, which runs `run_command` / `run_module` /
//!    `run_filename` or the REPL, prints uncaught exceptions, finalizes and returns
//!    the exit status (`SystemExit(n)` -> n, uncaught exception -> 1).
//!
//! What runs is decided before step 3 by `launch.rs` from the configuration and
//! the arguments: a multiprocessing child's entry point, a `-c`/`-m` on a command
//! line that CPython parses (`parse_argv`), or the configured program.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::ffi;

use crate::config::*;
use crate::pystr;

/// Only one embedded interpreter may exist per process.
static INTERPRETER_EXISTS: AtomicBool = AtomicBool::new(false);

/// Why the interpreter could not be started.
#[derive(Debug)]
pub struct NewInterpreterError {
    message: String,
    exit_code: Option<i32>,
}

impl NewInterpreterError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        NewInterpreterError {
            message: message.into(),
            exit_code: None,
        }
    }

    /// CPython asked to exit during initialisation (for example `--help` with
    /// `parse_argv`): this is the status to exit with. None for real errors.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The status a `main` should exit with: the requested one, else 1.
    pub fn exit_status(&self) -> i32 {
        self.exit_code.unwrap_or(1)
    }
}

impl fmt::Display for NewInterpreterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NewInterpreterError {}

/// Turn a failed `PyStatus` into an error (None when the status is OK).
fn check_status(status: ffi::PyStatus, what: &str) -> Result<(), NewInterpreterError> {
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        if ffi::PyStatus_IsExit(status) != 0 {
            return Err(NewInterpreterError {
                message: String::new(),
                exit_code: Some(status.exitcode),
            });
        }
        let func = pystr::c_str_or(status.func, "");
        let msg = pystr::c_str_or(status.err_msg, "unknown error");
        let text = if func.is_empty() {
            format!("{what}: {msg}")
        } else {
            format!("{what}: {func}: {msg}")
        };
        Err(NewInterpreterError::new(text))
    }
}

fn flag(value: bool) -> i32 {
    i32::from(value)
}

/// The variable a compressed executable's launcher sets to its own path.
const LAUNCHER_VAR: &str = "PYOXIDIZER_PY_EXECUTABLE";

/// For an executable running from a memory file (`/proc/self/exe` is `/memfd:...`),
/// which a compressed executable's launcher (`templates/stub`) decoded and started:
/// the launcher's path, from `PYOXIDIZER_PY_EXECUTABLE`, which is then removed from
/// the environment so programs this one starts do not inherit it. None otherwise
/// (the variable is ignored for executables on disk).
#[cfg(target_os = "linux")]
fn launched_from(current: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if !current.as_os_str().as_bytes().starts_with(b"/memfd:") {
        return None;
    }
    let path = PathBuf::from(std::env::var_os(LAUNCHER_VAR)?);
    // Before Python starts, on the only thread of the process.
    std::env::remove_var(LAUNCHER_VAR);
    // The process name (`ps`, `top`, `killall`) is the memory file's, `memfd:NAME`: give it
    // the launcher's file name, as an executable started from that file has (at most 15
    // bytes, TASK_COMM_LEN; prctl(2), PR_SET_NAME).
    if let Some(name) = path.file_name() {
        let mut comm: Vec<u8> = name.as_bytes().iter().copied().take(15).collect();
        if !comm.contains(&0) {
            comm.push(0);
            // SAFETY: a NUL-terminated buffer that outlives the call.
            unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0) };
        }
    }
    Some(path.canonicalize().unwrap_or(path))
}

#[cfg(not(target_os = "linux"))]
fn launched_from(_current: &Path) -> Option<PathBuf> {
    None
}

/// The embedded interpreter of this process.
///
/// `new` initialises CPython; `run` runs the configured code and finalizes;
/// dropping an interpreter that was not run finalizes it.
pub struct MainPythonInterpreter<'a> {
    config: OxidizedPythonInterpreterConfig<'a>,
    exe: PathBuf,
    origin: PathBuf,
    finalized: bool,
}

impl<'a> MainPythonInterpreter<'a> {
    /// Start the interpreter described by `config`.
    ///
    /// Errors: a second interpreter in the process, a setting this runtime cannot
    /// honour, or CPython failing to initialise (for example a stdlib that cannot
    /// be found: the message names CPython's failing step).
    pub fn new(config: OxidizedPythonInterpreterConfig<'a>) -> Result<Self, NewInterpreterError> {
        if INTERPRETER_EXISTS.swap(true, Ordering::SeqCst) {
            return Err(NewInterpreterError::new(
                "an embedded Python interpreter already exists in this process",
            ));
        }
        let exe = match &config.exe {
            Some(p) => p.clone(),
            None => {
                let raw = std::env::current_exe().map_err(|e| {
                    NewInterpreterError::new(format!("cannot locate the executable: {e}"))
                })?;
                launched_from(&raw).unwrap_or_else(|| raw.canonicalize().unwrap_or(raw))
            }
        };
        let origin = match &config.origin {
            Some(p) => p.clone(),
            None => exe
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let mut interp = MainPythonInterpreter {
            config,
            exe,
            origin,
            finalized: true,
        };
        interp.check_supported()?;
        interp.set_environment();
        interp.pre_initialize()?;
        // Allocators (allocator_backend, allocator_debug): after Py_PreInitialize,
        // before Py_InitializeFromConfig, as CPython documents for PyMem_SetAllocator.
        unsafe { crate::allocator::install(&interp.config)? };
        interp.initialize()?;
        interp.finalized = false;
        interp.set_sys_attributes()?;
        unsafe { crate::start_method::install(interp.config.multiprocessing_start_method)? };
        Ok(interp)
    }

    /// The executable this interpreter belongs to (canonical path).
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// The value of `$ORIGIN`: the directory holding the executable.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Settings that a later runtime version implements are refused here rather
    /// than silently ignored.
    fn check_supported(&self) -> Result<(), NewInterpreterError> {
        crate::allocator::check_backend(&self.config)?;
        Ok(())
    }

    fn expand(&self, path: &Path) -> OsString {
        pystr::expand_origin(path.as_os_str(), &self.origin)
    }

    fn set_environment(&self) {
        match &self.config.terminfo_resolution {
            TerminfoResolution::None => {}
            TerminfoResolution::Static(value) => {
                if std::env::var_os("TERMINFO_DIRS").is_none() {
                    std::env::set_var("TERMINFO_DIRS", value);
                }
            }
            TerminfoResolution::Dynamic => {
                if std::env::var_os("TERMINFO_DIRS").is_none() {
                    if let Some(value) = crate::terminfo::detect_terminfo_dirs() {
                        std::env::set_var("TERMINFO_DIRS", value);
                    }
                }
            }
        }
        if let Some(tcl) = &self.config.tcl_library {
            std::env::set_var("TCL_LIBRARY", self.expand(tcl));
        }
    }

    fn pre_initialize(&self) -> Result<(), NewInterpreterError> {
        let ic = &self.config.interpreter_config;
        unsafe {
            let mut pre: ffi::PyPreConfig = std::mem::zeroed();
            match ic.profile {
                PythonInterpreterProfile::Isolated => ffi::PyPreConfig_InitIsolatedConfig(&mut pre),
                PythonInterpreterProfile::Python => ffi::PyPreConfig_InitPythonConfig(&mut pre),
            }
            if let Some(v) = ic.allocator {
                pre.allocator = v.as_c();
            }
            if let Some(v) = ic.configure_locale {
                pre.configure_locale = flag(v);
            }
            if let Some(v) = ic.coerce_c_locale {
                pre.coerce_c_locale = match v {
                    CoerceCLocale::LCCType => 1,
                    CoerceCLocale::C => 2,
                };
            }
            if let Some(v) = ic.coerce_c_locale_warn {
                pre.coerce_c_locale_warn = flag(v);
            }
            if let Some(v) = ic.development_mode {
                pre.dev_mode = flag(v);
            }
            if let Some(v) = ic.isolated {
                pre.isolated = flag(v);
            }
            #[cfg(windows)]
            if let Some(v) = ic.legacy_windows_fs_encoding {
                pre.legacy_windows_fs_encoding = flag(v);
            }
            if let Some(v) = self.launch().parse_argv.or(ic.parse_argv) {
                pre.parse_argv = flag(v);
            }
            if let Some(v) = ic.use_environment {
                pre.use_environment = flag(v);
            }
            if let Some(v) = ic.utf8_mode {
                pre.utf8_mode = flag(v);
            }
            check_status(ffi::Py_PreInitialize(&pre), "error pre-initializing Python")
        }
    }

    /// The arguments for `sys.argv`, as given (argv[0] is the program as invoked).
    fn argv(&self) -> Vec<OsString> {
        if let Some(argv) = &self.config.argv {
            return argv.clone();
        }
        if let Some(argv) = &self.config.interpreter_config.argv {
            return argv.clone();
        }
        std::env::args_os().collect()
    }

    /// What this process runs and with which `sys.argv` (see `launch.rs`): a
    /// multiprocessing child's entry point, the program named on a parsed
    /// command line, or the configured one.
    fn launch(&self) -> crate::launch::Launch {
        let ic = &self.config.interpreter_config;
        let configured = crate::launch::Configured {
            parse_argv: ic
                .parse_argv
                .unwrap_or(ic.profile == PythonInterpreterProfile::Python),
            multiprocessing_auto_dispatch: self.config.multiprocessing_auto_dispatch,
            run_command: ic.run_command.clone(),
            run_module: ic.run_module.clone(),
            run_filename: ic.run_filename.as_deref().map(|p| self.expand(p)),
        };
        crate::launch::plan(&configured, self.argv())
    }

    fn initialize(&mut self) -> Result<(), NewInterpreterError> {
        // Packed resources (importer.rs): their frozen table serves the modules
        // initialisation imports; the finder goes on sys.meta_path right after.
        let mut importer = if self.config.oxidized_importer {
            crate::importer::PackedImporter::load(&self.config.packed_resources, &self.origin)?
        } else {
            None
        };
        unsafe {
            if let Some(importer) = importer.as_mut() {
                let ic = &self.config.interpreter_config;
                importer.install_frozen_table(
                    ic.filesystem_encoding.is_some() || ic.stdio_encoding.is_some(),
                )?;
            }
            let mut config: ffi::PyConfig = std::mem::zeroed();
            match self.config.interpreter_config.profile {
                PythonInterpreterProfile::Isolated => ffi::PyConfig_InitIsolatedConfig(&mut config),
                PythonInterpreterProfile::Python => ffi::PyConfig_InitPythonConfig(&mut config),
            }
            let mut result = self.fill_config(&mut config).and_then(|()| {
                check_status(
                    ffi::Py_InitializeFromConfig(&config),
                    "error initializing Python interpreter",
                )
            });
            ffi::PyConfig_Clear(&mut config);
            if let Some(importer) = importer.as_mut() {
                if result.is_ok() {
                    result = importer.install_finder(&self.origin, self.config.filesystem_importer);
                }
                importer.restore_frozen_table();
            }
            result
        }
    }

    /// Copy every setting that is set into `config`.
    unsafe fn fill_config(&self, config: &mut ffi::PyConfig) -> Result<(), NewInterpreterError> {
        let ic = &self.config.interpreter_config;
        let cfg: *mut ffi::PyConfig = config;
        // What runs (multiprocessing child, command line, configured program).
        let launch = self.launch();

        // Integer settings (the same override applies to PyConfig as to PyPreConfig
        // for the fields both structures have).
        let ints: [(Option<bool>, *mut i32); 23] = [
            (ic.isolated, &mut (*cfg).isolated),
            (ic.use_environment, &mut (*cfg).use_environment),
            (ic.development_mode, &mut (*cfg).dev_mode),
            (launch.parse_argv.or(ic.parse_argv), &mut (*cfg).parse_argv),
            (ic.buffered_stdio, &mut (*cfg).buffered_stdio),
            (ic.configure_c_stdio, &mut (*cfg).configure_c_stdio),
            (ic.dump_refs, &mut (*cfg).dump_refs),
            (ic.fault_handler, &mut (*cfg).faulthandler),
            (ic.import_time, &mut (*cfg).import_time),
            (ic.inspect, &mut (*cfg).inspect),
            (
                ic.install_signal_handlers,
                &mut (*cfg).install_signal_handlers,
            ),
            (ic.interactive, &mut (*cfg).interactive),
            (ic.malloc_stats, &mut (*cfg).malloc_stats),
            (ic.parser_debug, &mut (*cfg).parser_debug),
            (ic.pathconfig_warnings, &mut (*cfg).pathconfig_warnings),
            (ic.quiet, &mut (*cfg).quiet),
            (ic.show_ref_count, &mut (*cfg).show_ref_count),
            (ic.site_import, &mut (*cfg).site_import),
            (
                ic.skip_first_source_line,
                &mut (*cfg).skip_source_first_line,
            ),
            (ic.tracemalloc, &mut (*cfg).tracemalloc),
            (ic.user_site_directory, &mut (*cfg).user_site_directory),
            (ic.verbose, &mut (*cfg).verbose),
            (ic.write_bytecode, &mut (*cfg).write_bytecode),
        ];
        for (value, field) in ints {
            if let Some(v) = value {
                *field = flag(v);
            }
        }
        #[cfg(windows)]
        if let Some(v) = ic.legacy_windows_stdio {
            (*cfg).legacy_windows_stdio = flag(v);
        }
        if let Some(v) = ic.bytes_warning {
            (*cfg).bytes_warning = match v {
                BytesWarning::None => 0,
                BytesWarning::Warn => 1,
                BytesWarning::Raise => 2,
            };
        }
        if let Some(v) = ic.optimization_level {
            (*cfg).optimization_level = match v {
                BytecodeOptimizationLevel::Zero => 0,
                BytecodeOptimizationLevel::One => 1,
                BytecodeOptimizationLevel::Two => 2,
            };
        }
        if let Some(seed) = ic.hash_seed {
            (*cfg).use_hash_seed = 1;
            (*cfg).hash_seed = seed as _;
        }

        // String settings.
        let set = move |field: *mut *mut libc::wchar_t, value: &OsStr, name: &str| {
            pystr::set_config_string(cfg, field, value, name)
        };
        if let Some(v) = &ic.check_hash_pycs_mode {
            let text = match v {
                CheckHashPycsMode::Always => "always",
                CheckHashPycsMode::Never => "never",
                CheckHashPycsMode::Default => "default",
            };
            set(
                &mut (*cfg).check_hash_pycs_mode,
                OsStr::new(text),
                "check_hash_pycs_mode",
            )?;
        }
        let plain: [(&Option<String>, *mut *mut libc::wchar_t, &str); 6] = [
            (
                &ic.filesystem_encoding,
                &mut (*cfg).filesystem_encoding,
                "filesystem_encoding",
            ),
            (
                &ic.filesystem_errors,
                &mut (*cfg).filesystem_errors,
                "filesystem_errors",
            ),
            (
                &ic.stdio_encoding,
                &mut (*cfg).stdio_encoding,
                "stdio_encoding",
            ),
            (&ic.stdio_errors, &mut (*cfg).stdio_errors, "stdio_errors"),
            (&launch.run_command, &mut (*cfg).run_command, "run_command"),
            (&launch.run_module, &mut (*cfg).run_module, "run_module"),
        ];
        for (value, field, name) in plain {
            if let Some(v) = value {
                set(field, OsStr::new(v), name)?;
            }
        }
        if let Some(v) = &ic.python_path_env {
            let expanded = pystr::expand_origin(OsStr::new(v), &self.origin);
            set(&mut (*cfg).pythonpath_env, &expanded, "python_path_env")?;
        }

        // Path settings ($ORIGIN expanded).
        let mut home = ic.home.clone();
        let mut program_name = ic.program_name.clone();
        let mut executable = ic.executable.clone();
        if self.config.set_missing_path_configuration {
            home.get_or_insert_with(|| PathBuf::from("$ORIGIN"));
            program_name.get_or_insert_with(|| self.exe.clone());
            executable.get_or_insert_with(|| self.exe.clone());
        }
        let paths: [(&Option<PathBuf>, *mut *mut libc::wchar_t, &str); 9] = [
            (&home, &mut (*cfg).home, "home"),
            (&program_name, &mut (*cfg).program_name, "program_name"),
            (&executable, &mut (*cfg).executable, "executable"),
            (
                &ic.base_executable,
                &mut (*cfg).base_executable,
                "base_executable",
            ),
            (&ic.prefix, &mut (*cfg).prefix, "prefix"),
            (&ic.base_prefix, &mut (*cfg).base_prefix, "base_prefix"),
            (&ic.exec_prefix, &mut (*cfg).exec_prefix, "exec_prefix"),
            (
                &ic.base_exec_prefix,
                &mut (*cfg).base_exec_prefix,
                "base_exec_prefix",
            ),
            (
                &ic.pycache_prefix,
                &mut (*cfg).pycache_prefix,
                "pycache_prefix",
            ),
        ];
        for (value, field, name) in paths {
            if let Some(p) = value {
                set(field, &self.expand(p), name)?;
            }
        }
        if let Some(file) = &launch.run_filename {
            set(&mut (*cfg).run_filename, file, "run_filename")?;
        }

        // Lists.
        if let Some(items) = &ic.warn_options {
            for item in items {
                pystr::append_list(&mut (*cfg).warnoptions, OsStr::new(item), "warn_options")?;
            }
        }
        if let Some(items) = &ic.x_options {
            for item in items {
                pystr::append_list(&mut (*cfg).xoptions, OsStr::new(item), "x_options")?;
            }
        }
        if let Some(items) = &ic.module_search_paths {
            (*cfg).module_search_paths_set = 1;
            for item in items {
                pystr::append_list(
                    &mut (*cfg).module_search_paths,
                    &self.expand(item),
                    "module_search_paths",
                )?;
            }
        }

        // sys.argv: passed through unchanged unless parse_argv asks CPython to
        // parse its own options out of it (a multiprocessing child's may differ).
        pystr::set_argv(cfg, &launch.argv)?;
        Ok(())
    }

    fn set_sys_attributes(&self) -> Result<(), NewInterpreterError> {
        unsafe {
            // The in-memory importer was installed by initialize() (importer.rs).
            pystr::sys_set(c"oxidized", ffi::Py_True(), false)?;
            crate::allocator::set_sys_attribute()?;
            if self.config.sys_frozen {
                pystr::sys_set(c"frozen", ffi::Py_True(), false)?;
            }
            if self.config.sys_meipass {
                let value = pystr::os_str_to_py(self.origin.as_os_str())?;
                pystr::sys_set(c"_MEIPASS", value, true)?;
            }
            if self.config.argvb {
                let value = pystr::argv_bytes_list(&self.argv())?;
                pystr::sys_set(c"argvb", value, true)?;
            }
            if let Some(name) = &self.config.write_modules_directory_env {
                pystr::register_write_modules(name)?;
            }
        }
        Ok(())
    }

    /// Run the configured code (`run_command`, `run_module`, `run_filename`, else
    /// the REPL), finalize the interpreter and return its exit status.
    ///
    /// A multiprocessing child (`multiprocessing_auto_dispatch`) or a `-c`/`-m`
    /// on a parsed command line was already made the program to run by
    /// `launch()`, so Py_RunMain runs it like the `python` command would.
    pub fn run(mut self) -> i32 {
        self.finalized = true;
        unsafe { ffi::Py_RunMain() }
    }
}

impl Drop for MainPythonInterpreter<'_> {
    fn drop(&mut self) {
        if !self.finalized {
            self.finalized = true;
            unsafe {
                ffi::Py_FinalizeEx();
            }
        }
    }
}

/// Start an interpreter from `config`, run it and return the process exit status;
/// errors starting it are printed to stderr (status 1, or the status CPython asked for).
pub fn run_and_exit_code(config: OxidizedPythonInterpreterConfig<'_>) -> i32 {
    match MainPythonInterpreter::new(config) {
        Ok(interp) => interp.run(),
        Err(e) => {
            if e.exit_code().is_none() {
                eprintln!("error instantiating embedded Python interpreter: {e}");
            }
            e.exit_status()
        }
    }
}
