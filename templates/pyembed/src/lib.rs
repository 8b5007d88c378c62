//! pyoxidizer-py's runtime: start an embedded CPython from an
//! `OxidizedPythonInterpreterConfig` and run it.
//!
//! ```ignore
//! let config = default_python_config();
//! let code = match pyembed::MainPythonInterpreter::new(config) {
//!     Ok(interp) => interp.run(),
//!     Err(e) => { eprintln!("{e}"); e.exit_status() }
//! };
//! std::process::exit(code);
//! ```
//!
//! Module map: `config` (the records), `interpreter` (PyPreConfig/PyConfig and
//! Py_RunMain), `launch` (what runs: multiprocessing children, `python`-like
//! command lines), `start_method` (`multiprocessing_start_method`), `importer`
//! (packed resources: the frozen table during initialisation and the Python
//! importer in `python/_pyoxidizer_importer.py`), `memload` (extension modules
//! and shared libraries from memory, Linux), `decompress` (Zstandard frames of
//! the packed resources), `pystr` (string conversions),
//! `allocator`, `terminfo`.

mod allocator;
mod config;
mod decompress;
mod importer;
mod interpreter;
mod launch;
#[cfg(target_os = "linux")]
mod memload;
mod pystr;
mod start_method;
mod terminfo;

pub use config::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, CoerceCLocale,
    MemoryAllocatorBackend, MultiprocessingStartMethod, OxidizedPythonInterpreterConfig,
    PackedResourcesSource, PythonInterpreterConfig, PythonInterpreterProfile, TerminfoResolution,
};
pub use interpreter::{run_and_exit_code, MainPythonInterpreter, NewInterpreterError};
pub use pystr::expand_origin;
