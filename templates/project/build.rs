//! Build script of a pyoxidizer-py project (generated from pyoxidizer-py's
//! templates; you may edit it).
//!
//! Exactly one `build-mode-*` feature selects where `default_python_config.rs`
//! comes from; the file's path is handed to `src/main.rs` as the compile-time
//! environment variable `DEFAULT_PYTHON_CONFIG_RS`:
//!
//! * `build-mode-standalone` (default): a default configuration written to
//!   `OUT_DIR`; PyO3 finds and links a Python on its own (`PYO3_PYTHON`, `python3`
//!   on PATH, or `PYO3_CONFIG_FILE`).
//! * `build-mode-pyoxidizer-exe`: runs `$PYOXIDIZER_EXE run-build-script build.rs`
//!   (default `pyoxidizer-py`), which prints the `cargo:` lines itself. PyO3's link
//!   configuration still has to come from `PYO3_CONFIG_FILE`.
//! * `build-mode-prebuilt-artifacts`: uses the artifacts in `PYOXIDIZER_ARTIFACT_DIR`
//!   (default `OUT_DIR`), as written by `pyoxidizer-py build`,
//!   `run-build-script` or `generate-python-embedding-artifacts`.
//!
//! Link arguments the final executable needs are printed here because cargo drops
//! `rustc-link-arg` lines printed by dependencies: `--export-dynamic` (extension
//! modules resolve `Py*` symbols from the executable) and an rpath of
//! `$ORIGIN/lib` (a shared libpython installed beside the executable).

use std::path::PathBuf;

const DEFAULT_PYTHON_CONFIG_FILENAME: &str = "default_python_config.rs";

fn feature(name: &str) -> bool {
    std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some()
}

fn build_mode_standalone() {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR not set"));
    let path = out_dir.join(DEFAULT_PYTHON_CONFIG_FILENAME);
    std::fs::write(
        &path,
        "/// The default configuration of build-mode-standalone.\n\
         pub fn default_python_config<'a>() -> pyembed::OxidizedPythonInterpreterConfig<'a> {\n\
         \x20   pyembed::OxidizedPythonInterpreterConfig::default()\n\
         }\n",
    )
    .expect("cannot write default_python_config.rs");
    println!(
        "cargo:rustc-env=DEFAULT_PYTHON_CONFIG_RS={}",
        path.display()
    );
    // A shared libpython found by PyO3 stays where it is: point the rpath at it.
    if std::env::var("DEP_PYEMBED_SHARED").as_deref() == Ok("true") {
        if let Ok(lib_dir) = std::env::var("DEP_PYEMBED_LIB_DIR") {
            if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("unix") {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
            }
        }
    }
}

fn build_mode_pyoxidizer_exe() {
    let exe = std::env::var("PYOXIDIZER_EXE").unwrap_or_else(|_| "pyoxidizer-py".to_string());
    let mut args = vec!["run-build-script".to_string(), "build.rs".to_string()];
    if let Ok(target) = std::env::var("PYOXIDIZER_BUILD_TARGET") {
        args.push("--target".to_string());
        args.push(target);
    }
    println!("cargo:rerun-if-env-changed=PYOXIDIZER_EXE");
    println!("cargo:rerun-if-env-changed=PYOXIDIZER_BUILD_TARGET");
    // The child's stdout is ours: its cargo: lines (including
    // DEFAULT_PYTHON_CONFIG_RS) go straight to cargo.
    match std::process::Command::new(&exe).args(&args).status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`{exe} {}` failed ({status})", args.join(" ")),
        Err(e) => panic!("cannot run `{exe}` (set PYOXIDIZER_EXE to pyoxidizer-py's path): {e}"),
    }
}

fn build_mode_prebuilt_artifacts() {
    println!("cargo:rerun-if-env-changed=PYOXIDIZER_ARTIFACT_DIR");
    let artifact_dir = std::env::var_os("PYOXIDIZER_ARTIFACT_DIR")
        .or_else(|| std::env::var_os("OUT_DIR"))
        .map(PathBuf::from)
        .expect("neither PYOXIDIZER_ARTIFACT_DIR nor OUT_DIR is set");
    println!("using pre-built artifacts from {}", artifact_dir.display());
    let path = artifact_dir.join(DEFAULT_PYTHON_CONFIG_FILENAME);
    if !path.exists() {
        panic!(
            "{} does not exist; is {} a valid artifacts directory?",
            path.display(),
            artifact_dir.display()
        );
    }
    println!("cargo:rerun-if-changed={}", path.display());
    println!(
        "cargo:rustc-env=DEFAULT_PYTHON_CONFIG_RS={}",
        path.display()
    );
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if feature("BUILD_MODE_STANDALONE") {
        build_mode_standalone();
    } else if feature("BUILD_MODE_PYOXIDIZER_EXE") {
        build_mode_pyoxidizer_exe();
    } else if feature("BUILD_MODE_PREBUILT_ARTIFACTS") {
        build_mode_prebuilt_artifacts();
    } else {
        panic!("build-mode-* feature not set");
    }

    let global_allocators = ["JEMALLOC", "MIMALLOC", "SNMALLOC"]
        .iter()
        .filter(|name| feature(&format!("GLOBAL_ALLOCATOR_{name}")))
        .count();
    if global_allocators > 1 {
        panic!("at most one global-allocator-* feature may be enabled");
    }

    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") | Ok("freebsd") | Ok("netbsd") | Ok("openbsd") | Ok("dragonfly") => {
            println!("cargo:rustc-link-arg=-Wl,--export-dynamic");
            println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/lib");
        }
        Ok("macos") => {
            println!("cargo:rustc-link-arg=-rdynamic");
            println!("cargo:rustc-link-arg=-Wl,-rpath,@executable_path/lib");
        }
        _ => {}
    }
}
