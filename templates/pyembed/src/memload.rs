//! Extension modules and shared libraries loaded from memory (Linux).
//!
//! The importer (`python/_pyoxidizer_importer.py`) calls one function,
//! `load(name, data, kind, key, memory_only, compressed, cache)`, that this module hands
//! it as a Python callable. It turns the bytes of a shared object held in the
//! packed resources (with `compressed`, its Zstandard frames) into a path the
//! dynamic loader can open:
//!
//! * normally a memory file: `memfd_create(2)` with `MFD_CLOEXEC |
//!   MFD_ALLOW_SEALING` (and `MFD_EXEC`, which kernels since 6.3 want when
//!   `vm.memfd_noexec` is set; older kernels reject the flag and get the call
//!   without it), sized with `ftruncate(2)` and filled through a shared
//!   writable mapping (frames are decoded straight into it, in parallel for a
//!   large object: see `decompress.rs`), the file sealed against any change
//!   (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`, fcntl(2)),
//!   then probed with an executable `mmap`, which is what the loader does with
//!   a text segment. The path is `/proc/self/fd/N`; the descriptor stays open
//!   for the life of the process, and a descriptor number is never handed out
//!   twice, because glibc's `dlopen` treats a path it has loaded before as the
//!   same object;
//! * when memory files are refused (no `memfd_create`, seccomp, an LSM or
//!   `vm.memfd_noexec=2` refusing executable mappings) or disabled with
//!   `PYOXIDIZER_PY_NO_MEMFD=1`: a file in a per-user cache,
//!   `$XDG_CACHE_HOME/pyoxidizer-py/extracted/<key>/<name>` (else
//!   `~/.cache/...`), written once under a temporary name and renamed into
//!   place (safe under concurrent starts), and compared byte for byte with the
//!   packed bytes before every use. `memory_only` turns this fallback into an
//!   error;
//! * with `cache` (`policy.in_memory_shared_library_cache`), that cache is the
//!   first choice: a file already there is used when it is a regular file of the
//!   decoded size, owned by the effective user and writable by no one else, in a
//!   directory only that user can open (`cached_file`); nothing is decoded then,
//!   and processes share its pages. A missing or different file is written as
//!   above; where the cache cannot be written the object loads from memory.
//!
//! `kind` 0 is an extension module: the path is returned and CPython's own
//! `_imp.create_dynamic` opens it, so module state, multi-phase init and the
//! sub-interpreter checks are CPython's. `kind` 1 is a shared library an
//! extension module needs: it is opened here with `dlopen(RTLD_NOW)` and never
//! closed, so when the extension module is opened next the loader finds its
//! `DT_NEEDED` entry among the loaded objects by `DT_SONAME` instead of
//! searching the filesystem.

use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::ffi;

// <linux/memfd.h> and <linux/fcntl.h>.
const MFD_CLOEXEC: c_uint = 0x0001;
const MFD_ALLOW_SEALING: c_uint = 0x0002;
const MFD_EXEC: c_uint = 0x0010;
const F_ADD_SEALS: c_int = 1033;
const F_SEAL_SEAL: c_int = 0x0001;
const F_SEAL_SHRINK: c_int = 0x0002;
const F_SEAL_GROW: c_int = 0x0004;
const F_SEAL_WRITE: c_int = 0x0008;

const KIND_EXTENSION: c_int = 0;
const KIND_SHARED_LIBRARY: c_int = 1;

/// Descriptor numbers whose `/proc/self/fd/N` path was given to the loader.
static USED_FDS: Mutex<Vec<c_int>> = Mutex::new(Vec::new());

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A sealed memory file of `len` bytes that `fill` writes, at a descriptor number never used before.
unsafe fn memory_file(
    name: &CStr,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), String>,
) -> Result<c_int, String> {
    let flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    let mut fd = libc::memfd_create(name.as_ptr(), flags | MFD_EXEC);
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        fd = libc::memfd_create(name.as_ptr(), flags);
    }
    if fd < 0 {
        return Err(os_error("memfd_create"));
    }
    let close_with = |fd: c_int, message: String| {
        libc::close(fd);
        Err(message)
    };
    if len == 0 || libc::ftruncate(fd, len as libc::off_t) != 0 {
        return close_with(fd, os_error("ftruncate of a memfd"));
    }
    let map = libc::mmap(
        std::ptr::null_mut(),
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
        fd,
        0,
    );
    if map == libc::MAP_FAILED {
        return close_with(fd, os_error("mmap of a memfd"));
    }
    let filled = fill(std::slice::from_raw_parts_mut(map as *mut u8, len));
    // Unmapped before sealing: F_SEAL_WRITE is refused while a writable mapping exists.
    libc::munmap(map, len);
    if let Err(message) = filled {
        return close_with(fd, message);
    }
    // Sealing is defence in depth; a kernel that refuses it still runs the code.
    libc::fcntl(
        fd,
        F_ADD_SEALS,
        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL,
    );
    let probe_len = len.min(4096);
    let probe = libc::mmap(
        std::ptr::null_mut(),
        probe_len,
        libc::PROT_READ | libc::PROT_EXEC,
        libc::MAP_PRIVATE,
        fd,
        0,
    );
    if probe == libc::MAP_FAILED {
        return close_with(fd, os_error("executable mapping of a memfd refused"));
    }
    libc::munmap(probe, probe_len);
    let mut used = USED_FDS.lock().unwrap_or_else(|e| e.into_inner());
    if used.contains(&fd) {
        let above = used.iter().copied().max().unwrap_or(fd) + 1;
        let fresh = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, above);
        libc::close(fd);
        if fresh < 0 {
            return Err(os_error("fcntl(F_DUPFD_CLOEXEC)"));
        }
        fd = fresh;
    }
    used.push(fd);
    Ok(fd)
}

fn cache_root() -> Result<PathBuf, String> {
    let base = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => match std::env::var_os("HOME").map(PathBuf::from) {
            Some(home) if home.is_absolute() => home.join(".cache"),
            _ => {
                return Err("no cache directory for extracted extension modules \
                            (neither XDG_CACHE_HOME nor HOME is set)"
                    .to_string())
            }
        },
    };
    Ok(base.join("pyoxidizer-py").join("extracted"))
}

fn valid_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

/// `<cache>/<key>/<name>` holding exactly `data`: reused when it already does,
/// else written under a temporary name and renamed into place.
fn extracted_file(name: &str, key: &str, data: &[u8]) -> Result<PathBuf, String> {
    if !valid_component(name) || !key.bytes().all(|b| b.is_ascii_alphanumeric()) || key.is_empty() {
        return Err(format!(
            "invalid packed shared object name {name:?} / key {key:?}"
        ));
    }
    let dir = cache_root()?.join(key);
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read(&path) {
        if existing == data {
            // Only this user may change it (or its directory) from now on.
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
            return Ok(path);
        }
    }
    let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
    std::fs::create_dir_all(&dir).map_err(|e| fail("cannot create", e))?;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("cannot extract a shared object into", e));
    }
    Ok(path)
}

/// `<cache>/<key>/<name>` when an earlier start left it there intact: a regular file of
/// `size` bytes owned by the effective user and not writable by group or others, in a
/// directory of that user's that no one else may open. The key is the object's content
/// hash, so a file of the right size and provenance holds these bytes.
fn cached_file(name: &str, key: &str, size: usize) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    if !valid_component(name) || key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let dir = cache_root().ok()?.join(key);
    let path = dir.join(name);
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let d = std::fs::symlink_metadata(&dir).ok()?;
    let f = std::fs::symlink_metadata(&path).ok()?;
    let ok = d.is_dir()
        && d.uid() == uid
        && d.mode() & 0o077 == 0
        && f.is_file()
        && f.uid() == uid
        && f.mode() & 0o022 == 0
        && f.len() == size as u64;
    ok.then_some(path)
}

fn memfd_disabled() -> bool {
    std::env::var_os("PYOXIDIZER_PY_NO_MEMFD").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `<cache>/<key>/<name>` for `data` (decoded first when `compressed`).
///
/// # Safety
/// The caller holds the GIL (decoding uses the shared contexts).
unsafe fn extracted(
    name: &str,
    key: &str,
    data: &[u8],
    compressed: bool,
) -> Result<String, String> {
    let decoded;
    let bytes = if compressed {
        decoded = crate::decompress::decompress_to_vec(data)?;
        decoded.as_slice()
    } else {
        data
    };
    Ok(extracted_file(name, key, bytes)?
        .to_string_lossy()
        .into_owned())
}

/// A path the loader can open for `data` (Zstandard frames when `compressed`), and for
/// shared libraries, the object loaded.
///
/// # Safety
/// The caller holds the GIL.
unsafe fn load(
    name: &str,
    data: &[u8],
    kind: c_int,
    key: &str,
    memory_only: bool,
    compressed: bool,
    cache: bool,
) -> Result<String, String> {
    let memfd_name = CString::new(name).map_err(|_| format!("invalid name {name:?}"))?;
    let cached = if cache && !memory_only {
        let size = if compressed {
            crate::decompress::Payload::parse(data)?.size
        } else {
            data.len()
        };
        match cached_file(name, key, size) {
            Some(path) => Some(path.to_string_lossy().into_owned()),
            None => extracted(name, key, data, compressed).ok(),
        }
    } else {
        None
    };
    let path = if let Some(path) = cached {
        path
    } else if memfd_disabled() {
        if memory_only {
            return Err(format!(
                "{name}: PYOXIDIZER_PY_NO_MEMFD is set, but this executable loads shared objects \
                 from memory only (in_memory_shared_library_fallback = \"error\")"
            ));
        }
        extracted(name, key, data, compressed)?
    } else {
        let file = if compressed {
            crate::decompress::Payload::parse(data).and_then(|payload| {
                memory_file(&memfd_name, payload.size, |target| {
                    crate::decompress::decode_payload_into(&payload, target)
                })
            })
        } else {
            memory_file(&memfd_name, data.len(), |target| {
                target.copy_from_slice(data);
                Ok(())
            })
        };
        match file {
            Ok(fd) => format!("/proc/self/fd/{fd}"),
            Err(reason) if memory_only => {
                return Err(format!(
                    "{name}: cannot load from memory ({reason}), and this executable loads shared \
                     objects from memory only (in_memory_shared_library_fallback = \"error\")"
                ))
            }
            Err(_) => extracted(name, key, data, compressed)?,
        }
    };
    if kind == KIND_SHARED_LIBRARY {
        let cpath = CString::new(path.clone()).map_err(|_| "invalid path".to_string())?;
        let handle = libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            let err = libc::dlerror();
            let detail = if err.is_null() {
                "unknown error".to_string()
            } else {
                CStr::from_ptr(err).to_string_lossy().into_owned()
            };
            return Err(format!("cannot load shared library {name}: {detail}"));
        }
        // Never closed: the objects that need it are resolved against it.
    }
    Ok(path)
}

unsafe extern "C" fn py_load(
    _slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let mut name: *const c_char = std::ptr::null();
    let mut key: *const c_char = std::ptr::null();
    let mut kind: c_int = 0;
    let mut memory_only: c_int = 0;
    let mut compressed: c_int = 0;
    let mut cache: c_int = 0;
    let mut buffer: ffi::Py_buffer = std::mem::zeroed();
    if ffi::PyArg_ParseTuple(
        args,
        c"sy*isp|pp:load".as_ptr(),
        &mut name as *mut *const c_char,
        &mut buffer as *mut ffi::Py_buffer,
        &mut kind as *mut c_int,
        &mut key as *mut *const c_char,
        &mut memory_only as *mut c_int,
        &mut compressed as *mut c_int,
        &mut cache as *mut c_int,
    ) == 0
    {
        return std::ptr::null_mut();
    }
    let data = std::slice::from_raw_parts(buffer.buf as *const u8, buffer.len as usize);
    let name_s = CStr::from_ptr(name).to_string_lossy().into_owned();
    let key_s = CStr::from_ptr(key).to_string_lossy().into_owned();
    let result = if kind == KIND_EXTENSION || kind == KIND_SHARED_LIBRARY {
        load(
            &name_s,
            data,
            kind,
            &key_s,
            memory_only != 0,
            compressed != 0,
            cache != 0,
        )
    } else {
        Err(format!("unknown shared object kind {kind}"))
    };
    ffi::PyBuffer_Release(&mut buffer);
    match result {
        Ok(path) => {
            let c = CString::new(path).unwrap_or_default();
            ffi::PyUnicode_DecodeFSDefault(c.as_ptr())
        }
        Err(message) => {
            let c = CString::new(message).unwrap_or_default();
            ffi::PyErr_SetString(ffi::PyExc_ImportError, c.as_ptr());
            std::ptr::null_mut()
        }
    }
}

static mut LOAD_DEF: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"load".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: py_load,
    },
    ml_flags: ffi::METH_VARARGS,
    ml_doc:
        c"load(name, data, kind, key, memory_only, compressed=False, cache=False) -> path of a shared object the loader can open"
            .as_ptr(),
};

/// A new reference to the `load` callable the importer is installed with.
///
/// # Safety
/// The interpreter is initialised and this thread holds the GIL.
pub(crate) unsafe fn loader_function() -> *mut ffi::PyObject {
    ffi::PyCFunction_NewEx(
        std::ptr::addr_of_mut!(LOAD_DEF),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    )
}
