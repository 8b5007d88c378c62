//! Build script of a pyoxidizer-py project (generated from pyoxidizer-py's
//! templates; you may edit it).
//!
//! Exactly one `build-mode-*` feature selects where `default_python_config.rs`
//! comes from; the file's path is handed to `src/main.rs` as the compile-time
//! environment variable `DEFAULT_PYTHON_CONFIG_RS`:
//!
//! * `build-mode-pyoxidizer-exe` (default): runs `$PYOXIDIZER_EXE run-build-script
//!   build.rs [--target $PYOXIDIZER_BUILD_TARGET]` (default executable:
//!   `pyoxidizer-py` on PATH), which evaluates `pyoxidizer.bzl`, writes the artifacts
//!   into `PYOXIDIZER_ARTIFACT_DIR` (else `OUT_DIR`) and prints the `cargo:` lines
//!   (one `rerun-if-changed` per input, `DEFAULT_PYTHON_CONFIG_RS`).
//! * `build-mode-prebuilt-artifacts`: uses the artifacts already in
//!   `PYOXIDIZER_ARTIFACT_DIR` (default `OUT_DIR`), as written by `pyoxidizer-py
//!   run-build-script` or `generate-python-embedding-artifacts`.
//! * `build-mode-standalone`: a default configuration written to `OUT_DIR`; PyO3
//!   finds and links a Python on its own (`PYO3_PYTHON`, `python3` on PATH), so the
//!   `PYO3_CONFIG_FILE` of `.cargo/config.toml` has to be removed for this mode.
//!
//! PyO3 reads its link configuration only from `PYO3_CONFIG_FILE`, before this
//! script runs; `.cargo/config.toml` points it at the artifacts directory.
//!
//! In the two artifact modes, the files listed in `<artifacts>/extra-files.txt`
//! (filesystem-relative Python resources, a shared libpython, the license file)
//! are copied beside the executable in cargo's output directory, so `cargo run`
//! and `target/<profile>/<name>` work as built.
//!
//! Link arguments the final executable needs are printed here because cargo drops
//! `rustc-link-arg` lines printed by dependencies: the symbols extension modules
//! resolve from the executable, and, for a shared libpython only, an rpath of
//! `$ORIGIN/lib` (where it is installed beside the executable). On ELF targets the
//! executable exports only CPython's C API (every symbol libpython exports starts
//! with `Py` or `_Py`: CPython's `Tools/build/smelly.py` checks it) and the memory
//! allocators' own API, through a `--dynamic-list` file written to `OUT_DIR`
//! (GNU ld's manual, "Options"); with `--export-dynamic` every global symbol would
//! be exported and kept by `--gc-sections`, such as the compression half of libzstd
//! (the runtime only decompresses), about 0.4 MB of dead code. A
//! static build gets no rpath: the dynamic loader would probe `lib/` for libc and
//! libm on every start. The lines of `<artifacts>/link-args.txt` are passed too
//! (`-Wl,-z,pack-relative-relocs` when the build machine's glibc is 2.36 or later).

use std::path::{Path, PathBuf};

const DEFAULT_PYTHON_CONFIG_FILENAME: &str = "default_python_config.rs";
/// Files to place beside the executable, one path relative to the artifacts directory per line.
const EXTRA_FILES_FILENAME: &str = "extra-files.txt";
/// Linker arguments for the executable, one per line (DT_RELR packing on new enough glibc).
const LINK_ARGS_FILENAME: &str = "link-args.txt";
/// The symbols an ELF executable exports (GNU ld `--dynamic-list` syntax): CPython's C API,
/// and the allocator backends' API (`_rjem_` jemalloc, `mi_` mimalloc, `sn_` snmalloc), which
/// native tools may query through the executable.
const EXPORTED_SYMBOLS: &str = "{\n  Py*;\n  _Py*;\n  _rjem_*;\n  mi_*;\n  sn_*;\n};\n";

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

fn artifact_dir() -> PathBuf {
    std::env::var_os("PYOXIDIZER_ARTIFACT_DIR")
        .or_else(|| std::env::var_os("OUT_DIR"))
        .map(PathBuf::from)
        .expect("neither PYOXIDIZER_ARTIFACT_DIR nor OUT_DIR is set")
}

/// Cargo's output directory for this profile (`target/[<triple>/]<profile>`):
/// `OUT_DIR` is `<that>/build/<package>-<hash>/out`.
fn profile_output_dir() -> Option<PathBuf> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR")?);
    out_dir.ancestors().nth(3).map(Path::to_path_buf)
}

/// Copy the files named in `<artifacts>/extra-files.txt` beside the executable,
/// skipping files whose size and modification time already match.
fn install_extra_files(artifacts: &Path) {
    let list = artifacts.join(EXTRA_FILES_FILENAME);
    // No list, no extra files (pyoxidizer-py build installs them itself). A rerun-if-changed
    // line for a missing file would make cargo rerun this script on every build.
    let Ok(text) = std::fs::read_to_string(&list) else {
        return;
    };
    println!("cargo:rerun-if-changed={}", list.display());
    let Some(dest_root) = profile_output_dir() else {
        return;
    };
    for rel in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let src = artifacts.join(rel);
        let dest = dest_root.join(rel);
        let src_meta = std::fs::metadata(&src).unwrap_or_else(|e| {
            panic!("{} lists {rel}, which cannot be read: {e}", list.display())
        });
        if let Ok(dest_meta) = std::fs::metadata(&dest) {
            if dest_meta.len() == src_meta.len()
                && dest_meta.modified().ok() == src_meta.modified().ok()
            {
                continue;
            }
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        // Replace rather than overwrite: the old file may be a running executable's library.
        let tmp = dest.with_extension("pyoxidizer-tmp");
        std::fs::copy(&src, &tmp)
            .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", src.display(), tmp.display()));
        if let (Ok(modified), Ok(file)) = (
            src_meta.modified(),
            std::fs::File::options().write(true).open(&tmp),
        ) {
            let _ = file.set_modified(modified);
        }
        std::fs::rename(&tmp, &dest)
            .unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", tmp.display(), dest.display()));
    }
}

/// Print a `cargo:rustc-link-arg` line for each line of `<artifacts>/link-args.txt`.
fn print_link_args(artifacts: &Path) {
    let list = artifacts.join(LINK_ARGS_FILENAME);
    let Ok(text) = std::fs::read_to_string(&list) else {
        return;
    };
    println!("cargo:rerun-if-changed={}", list.display());
    for arg in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        println!("cargo:rustc-link-arg={arg}");
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
    println!("cargo:rerun-if-env-changed=PYOXIDIZER_ARTIFACT_DIR");
    // The child's stdout is ours: its cargo: lines (including
    // DEFAULT_PYTHON_CONFIG_RS) go straight to cargo.
    match std::process::Command::new(&exe).args(&args).status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`{exe} {}` failed ({status})", args.join(" ")),
        Err(e) => panic!("cannot run `{exe}` (set PYOXIDIZER_EXE to pyoxidizer-py's path): {e}"),
    }
    install_extra_files(&artifact_dir());
    print_link_args(&artifact_dir());
}

fn build_mode_prebuilt_artifacts() {
    println!("cargo:rerun-if-env-changed=PYOXIDIZER_ARTIFACT_DIR");
    let artifact_dir = artifact_dir();
    eprintln!("using pre-built artifacts from {}", artifact_dir.display());
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
    install_extra_files(&artifact_dir);
    print_link_args(&artifact_dir);
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // An explicitly requested mode wins over the default one (build-mode-pyoxidizer-exe),
    // so `--features build-mode-prebuilt-artifacts` works without --no-default-features.
    if feature("BUILD_MODE_STANDALONE") {
        build_mode_standalone();
    } else if feature("BUILD_MODE_PREBUILT_ARTIFACTS") {
        build_mode_prebuilt_artifacts();
    } else if feature("BUILD_MODE_PYOXIDIZER_EXE") {
        build_mode_pyoxidizer_exe();
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

    let shared = std::env::var("DEP_PYEMBED_SHARED").as_deref() == Ok("true");
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") | Ok("freebsd") | Ok("netbsd") | Ok("openbsd") | Ok("dragonfly") => {
            let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR not set"));
            let list = out_dir.join("exported-symbols.list");
            std::fs::write(&list, EXPORTED_SYMBOLS).expect("cannot write exported-symbols.list");
            println!("cargo:rustc-link-arg=-Wl,--dynamic-list={}", list.display());
            if shared {
                println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/lib");
            }
        }
        Ok("macos") => {
            println!("cargo:rustc-link-arg=-rdynamic");
            if shared {
                println!("cargo:rustc-link-arg=-Wl,-rpath,@executable_path/lib");
            }
        }
        _ => {}
    }
}
