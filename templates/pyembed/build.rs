//! Build script of the runtime crate.
//!
//! * Emits PyO3's `cfg`s (`Py_3_11`, ...) so the runtime can follow the CPython
//!   version's configuration structures.
//! * Re-exports what PyO3 resolved as `DEP_PYEMBED_*` metadata for the binary
//!   crate's build script (cargo only passes `DEP_PYTHON_PYO3_CONFIG` to direct
//!   dependents of pyo3-ffi): `shared`, `lib_dir`, `version`.
//!
//! Link arguments are not printed here: cargo drops `rustc-link-arg` lines of
//! dependencies, so the binary crate's own build.rs prints them.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    let config = pyo3_build_config::get();
    println!("cargo:shared={}", config.shared());
    if let Some(lib_dir) = config.lib_dir() {
        println!("cargo:lib_dir={}", lib_dir);
    }
    println!("cargo:version={}", config.version());
    println!("cargo:rerun-if-changed=build.rs");
}
