//! Entry point of a pyoxidizer-py executable (generated from pyoxidizer-py's
//! templates; you may edit it).

#[cfg(feature = "global-allocator-jemalloc")]
#[global_allocator]
static GLOBAL: jemallocator::Jemalloc = jemallocator::Jemalloc;

#[cfg(feature = "global-allocator-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "global-allocator-snmalloc")]
#[global_allocator]
static GLOBAL: snmalloc_rs::SnMalloc = snmalloc_rs::SnMalloc;

// Defines `fn default_python_config<'a>() -> pyembed::OxidizedPythonInterpreterConfig<'a>`;
// build.rs says where the file is.
include!(env!("DEFAULT_PYTHON_CONFIG_RS"));

fn main() {
    // The interpreter is finalized (and dropped) before the process exits.
    let exit_code = {
        let config: pyembed::OxidizedPythonInterpreterConfig = default_python_config();
        match pyembed::MainPythonInterpreter::new(config) {
            Ok(interp) => interp.run(),
            Err(e) => {
                if e.exit_code().is_none() {
                    eprintln!("error instantiating embedded Python interpreter: {e}");
                }
                e.exit_status()
            }
        }
    };
    std::process::exit(exit_code);
}
