//! Memory allocators for CPython's domains (`allocator_backend` and friends).
//!
//! `install` runs after `Py_PreInitialize` and before `Py_InitializeFromConfig`
//! (the point where CPython documents `PyMem_SetAllocator` as safe) and puts the
//! chosen backend behind:
//!
//! * `PYMEM_DOMAIN_RAW` when `allocator_raw` (default true): `PyMem_RawMalloc`;
//! * `PYMEM_DOMAIN_MEM` when `allocator_mem`: `PyMem_Malloc`;
//! * `PYMEM_DOMAIN_OBJ` when `allocator_obj`: `PyObject_Malloc`;
//! * pymalloc's arena allocator (`PyObject_SetArenaAllocator`) when
//!   `allocator_pymalloc_arena`: pymalloc keeps serving MEM/OBJ from pools, but its
//!   1 MiB (256 KiB before 3.10) arenas come from the backend instead of `mmap`.
//!   Incompatible with `allocator_mem`/`allocator_obj`, which take pymalloc out of
//!   those domains.
//!
//! then `allocator_debug` reinstalls CPython's debug hooks (`PyMem_SetupDebugHooks`)
//! on top. Backends: `jemalloc` (tikv-jemalloc-sys, `_rjem_`-prefixed on Linux),
//! `mimalloc` (libmimalloc-sys), `snmalloc` (snmalloc-sys' libc API), each behind
//! the `allocator-<name>` Cargo feature, and `rust` (Rust's global allocator via
//! `std::alloc`, always available). They are the same C library instances as the
//! project's `global-allocator-<name>` features, so Rust and Python share one heap.
//!
//! CPython's contract for a domain allocator (Doc/c-api/memory.rst): `malloc(0)`,
//! `calloc(0, n)`/`calloc(n, 0)` and `realloc(p, 0)` return a distinct non-NULL
//! pointer (as for 1 byte) and `realloc(p, 0)` does not free; `realloc(NULL, n)` is
//! `malloc(n)`; `free(NULL)` does nothing; `calloc` returns NULL when
//! `nelem * elsize` overflows. The adapters below enforce that for every backend
//! (jemalloc's `realloc(p, 0)` frees by default, for example).
//!
//! What was installed is recorded and published as `sys.oxidized_allocator` by
//! `set_sys_attribute` (called once the interpreter exists):
//! `{"backend": "jemalloc", "domains": ("raw", "mem", "obj"), "pymalloc_arena": False,
//! "debug_hooks": False}`.

use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::ffi::PyMemAllocatorDomain::{PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ, PYMEM_DOMAIN_RAW};

use crate::config::{MemoryAllocatorBackend, OxidizedPythonInterpreterConfig};
use crate::interpreter::NewInterpreterError;

/// What `install` put in place, for `sys.oxidized_allocator`.
#[derive(Clone, Debug)]
struct Installed {
    backend: &'static str,
    domains: Vec<&'static str>,
    pymalloc_arena: bool,
    debug_hooks: bool,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

fn backend_name(backend: MemoryAllocatorBackend) -> &'static str {
    match backend {
        MemoryAllocatorBackend::Default => "default",
        MemoryAllocatorBackend::Jemalloc => "jemalloc",
        MemoryAllocatorBackend::Mimalloc => "mimalloc",
        MemoryAllocatorBackend::Snmalloc => "snmalloc",
        MemoryAllocatorBackend::Rust => "rust",
    }
}

/// Refuse allocator settings this executable cannot honour (before CPython starts):
/// pymalloc arenas together with replaced MEM/OBJ domains, or a backend whose
/// `allocator-<name>` feature was not compiled in.
pub(crate) fn check_backend(
    config: &OxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    if config.allocator_backend == MemoryAllocatorBackend::Default {
        return Ok(());
    }
    let name = backend_name(config.allocator_backend);
    if config.allocator_pymalloc_arena && (config.allocator_mem || config.allocator_obj) {
        return Err(NewInterpreterError::new(format!(
            "allocator_pymalloc_arena cannot be combined with allocator_mem or allocator_obj \
             (allocator_backend {name}): pymalloc arenas exist only while pymalloc serves those domains"
        )));
    }
    let feature_enabled = match config.allocator_backend {
        MemoryAllocatorBackend::Jemalloc => cfg!(feature = "allocator-jemalloc"),
        MemoryAllocatorBackend::Mimalloc => cfg!(feature = "allocator-mimalloc"),
        MemoryAllocatorBackend::Snmalloc => cfg!(feature = "allocator-snmalloc"),
        MemoryAllocatorBackend::Rust | MemoryAllocatorBackend::Default => true,
    };
    if !feature_enabled {
        return Err(NewInterpreterError::new(format!(
            "allocator_backend {name} requires the allocator-{name} feature of this executable"
        )));
    }
    Ok(())
}

/// A C-style allocator: the four calls CPython's domains need. Implementations may
/// assume the adapters' preconditions: sizes are non-zero, `calloc` does not
/// overflow, `realloc` and `free` get non-NULL pointers this backend returned.
trait Backend {
    unsafe fn malloc(size: usize) -> *mut c_void;
    unsafe fn calloc(nelem: usize, elsize: usize) -> *mut c_void;
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    unsafe fn free(ptr: *mut c_void);
}

extern "C" fn domain_malloc<B: Backend>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    unsafe { B::malloc(size.max(1)) }
}

extern "C" fn domain_calloc<B: Backend>(
    _ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    if nelem == 0 || elsize == 0 {
        return unsafe { B::calloc(1, 1) };
    }
    if nelem.checked_mul(elsize).is_none() {
        return std::ptr::null_mut();
    }
    unsafe { B::calloc(nelem, elsize) }
}

extern "C" fn domain_realloc<B: Backend>(
    _ctx: *mut c_void,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    unsafe {
        if ptr.is_null() {
            B::malloc(size.max(1))
        } else {
            B::realloc(ptr, size.max(1))
        }
    }
}

extern "C" fn domain_free<B: Backend>(_ctx: *mut c_void, ptr: *mut c_void) {
    if !ptr.is_null() {
        unsafe { B::free(ptr) }
    }
}

extern "C" fn arena_alloc<B: Backend>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    unsafe { B::malloc(size.max(1)) }
}

extern "C" fn arena_free<B: Backend>(_ctx: *mut c_void, ptr: *mut c_void, _size: usize) {
    if !ptr.is_null() {
        unsafe { B::free(ptr) }
    }
}

#[cfg(feature = "allocator-jemalloc")]
struct Jemalloc;

#[cfg(feature = "allocator-jemalloc")]
impl Backend for Jemalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        tikv_jemalloc_sys::malloc(size)
    }
    unsafe fn calloc(nelem: usize, elsize: usize) -> *mut c_void {
        tikv_jemalloc_sys::calloc(nelem, elsize)
    }
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        tikv_jemalloc_sys::realloc(ptr, size)
    }
    unsafe fn free(ptr: *mut c_void) {
        tikv_jemalloc_sys::free(ptr)
    }
}

#[cfg(feature = "allocator-mimalloc")]
struct Mimalloc;

#[cfg(feature = "allocator-mimalloc")]
impl Backend for Mimalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        libmimalloc_sys::mi_malloc(size)
    }
    unsafe fn calloc(nelem: usize, elsize: usize) -> *mut c_void {
        libmimalloc_sys::mi_calloc(nelem, elsize)
    }
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        libmimalloc_sys::mi_realloc(ptr, size)
    }
    unsafe fn free(ptr: *mut c_void) {
        libmimalloc_sys::mi_free(ptr)
    }
}

#[cfg(feature = "allocator-snmalloc")]
struct Snmalloc;

#[cfg(feature = "allocator-snmalloc")]
impl Backend for Snmalloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        snmalloc_sys::sn_malloc(size)
    }
    unsafe fn calloc(nelem: usize, elsize: usize) -> *mut c_void {
        snmalloc_sys::sn_calloc(nelem, elsize)
    }
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        snmalloc_sys::sn_realloc(ptr, size)
    }
    unsafe fn free(ptr: *mut c_void) {
        snmalloc_sys::sn_free(ptr)
    }
}

/// Rust's global allocator (`std::alloc`: the system allocator, or whatever the
/// executable's `#[global_allocator]` is). `std::alloc` needs the size back on
/// free/realloc, so every block starts with a 16-byte header holding the requested
/// size (as a `usize`) and the caller gets the address just after it, aligned to 16
/// like `malloc` on 64-bit platforms.
struct RustAlloc;

const RUST_HEADER: usize = 16;
const RUST_ALIGN: usize = 16;

impl RustAlloc {
    fn layout(size: usize) -> Option<std::alloc::Layout> {
        let total = size.checked_add(RUST_HEADER)?;
        std::alloc::Layout::from_size_align(total, RUST_ALIGN).ok()
    }

    unsafe fn finish(base: *mut u8, size: usize) -> *mut c_void {
        if base.is_null() {
            return std::ptr::null_mut();
        }
        (base as *mut usize).write(size);
        base.add(RUST_HEADER) as *mut c_void
    }

    unsafe fn base_and_size(ptr: *mut c_void) -> (*mut u8, usize) {
        let base = (ptr as *mut u8).sub(RUST_HEADER);
        (base, (base as *const usize).read())
    }
}

impl Backend for RustAlloc {
    unsafe fn malloc(size: usize) -> *mut c_void {
        match Self::layout(size) {
            Some(layout) => Self::finish(std::alloc::alloc(layout), size),
            None => std::ptr::null_mut(),
        }
    }
    unsafe fn calloc(nelem: usize, elsize: usize) -> *mut c_void {
        let size = nelem * elsize; // the adapter checked for overflow
        match Self::layout(size) {
            Some(layout) => Self::finish(std::alloc::alloc_zeroed(layout), size),
            None => std::ptr::null_mut(),
        }
    }
    unsafe fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        let (base, old_size) = Self::base_and_size(ptr);
        let (Some(old), Some(_)) = (Self::layout(old_size), Self::layout(size)) else {
            return std::ptr::null_mut();
        };
        Self::finish(std::alloc::realloc(base, old, size + RUST_HEADER), size)
    }
    unsafe fn free(ptr: *mut c_void) {
        let (base, size) = Self::base_and_size(ptr);
        if let Some(layout) = Self::layout(size) {
            std::alloc::dealloc(base, layout);
        }
    }
}

/// Put backend `B` behind the domains and arenas `config` asks for.
unsafe fn install_backend<B: Backend>(
    config: &OxidizedPythonInterpreterConfig<'_>,
) -> (Vec<&'static str>, bool) {
    let mut domain = ffi::PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc: Some(domain_malloc::<B>),
        calloc: Some(domain_calloc::<B>),
        realloc: Some(domain_realloc::<B>),
        free: Some(domain_free::<B>),
    };
    let mut domains = Vec::new();
    let wanted = [
        (config.allocator_raw, PYMEM_DOMAIN_RAW, "raw"),
        (config.allocator_mem, PYMEM_DOMAIN_MEM, "mem"),
        (config.allocator_obj, PYMEM_DOMAIN_OBJ, "obj"),
    ];
    for (enabled, which, name) in wanted {
        if enabled {
            // CPython copies the structure.
            ffi::PyMem_SetAllocator(which, &mut domain);
            domains.push(name);
        }
    }
    if config.allocator_pymalloc_arena {
        let mut arena = ffi::PyObjectArenaAllocator {
            ctx: std::ptr::null_mut(),
            alloc: Some(arena_alloc::<B>),
            free: Some(arena_free::<B>),
        };
        ffi::PyObject_SetArenaAllocator(&mut arena);
    }
    (domains, config.allocator_pymalloc_arena)
}

/// Install the configured backend and debug hooks. Call after `Py_PreInitialize`
/// (which sets up CPython's own allocators from `PyPreConfig.allocator`) and before
/// `Py_InitializeFromConfig`.
///
/// Errors: the settings `check_backend` refuses.
pub(crate) unsafe fn install(
    config: &OxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    check_backend(config)?;
    let (domains, pymalloc_arena) = match config.allocator_backend {
        MemoryAllocatorBackend::Default => (Vec::new(), false),
        #[cfg(feature = "allocator-jemalloc")]
        MemoryAllocatorBackend::Jemalloc => install_backend::<Jemalloc>(config),
        #[cfg(feature = "allocator-mimalloc")]
        MemoryAllocatorBackend::Mimalloc => install_backend::<Mimalloc>(config),
        #[cfg(feature = "allocator-snmalloc")]
        MemoryAllocatorBackend::Snmalloc => install_backend::<Snmalloc>(config),
        MemoryAllocatorBackend::Rust => install_backend::<RustAlloc>(config),
        #[allow(unreachable_patterns)] // check_backend refused backends not compiled in
        _ => (Vec::new(), false),
    };
    if config.allocator_debug {
        ffi::PyMem_SetupDebugHooks();
    }
    let _ = INSTALLED.set(Installed {
        backend: backend_name(config.allocator_backend),
        domains,
        pymalloc_arena,
        debug_hooks: config.allocator_debug,
    });
    Ok(())
}

/// A new reference to `{"backend": str, "domains": tuple[str, ...],
/// "pymalloc_arena": bool, "debug_hooks": bool}`, or NULL with an exception set.
unsafe fn installed_to_py(installed: &Installed) -> *mut ffi::PyObject {
    unsafe fn put(dict: *mut ffi::PyObject, key: &CStr, value: *mut ffi::PyObject) -> bool {
        if value.is_null() {
            return false;
        }
        let rc = ffi::PyDict_SetItemString(dict, key.as_ptr(), value);
        ffi::Py_DecRef(value);
        rc == 0
    }
    unsafe fn text(value: &str) -> *mut ffi::PyObject {
        ffi::PyUnicode_FromStringAndSize(value.as_ptr().cast(), value.len() as ffi::Py_ssize_t)
    }
    let dict = ffi::PyDict_New();
    if dict.is_null() {
        return dict;
    }
    if !put(dict, c"backend", text(installed.backend)) {
        ffi::Py_DecRef(dict);
        return std::ptr::null_mut();
    }
    let domains = ffi::PyTuple_New(installed.domains.len() as ffi::Py_ssize_t);
    let mut ok = !domains.is_null();
    if ok {
        for (i, name) in installed.domains.iter().enumerate() {
            // PyTuple_SetItem steals the item, also when it fails.
            let item = text(name);
            if item.is_null() || ffi::PyTuple_SetItem(domains, i as ffi::Py_ssize_t, item) != 0 {
                ffi::Py_DecRef(domains);
                ok = false;
                break;
            }
        }
    }
    ok = ok
        && put(dict, c"domains", domains)
        && put(
            dict,
            c"pymalloc_arena",
            ffi::PyBool_FromLong(installed.pymalloc_arena.into()),
        )
        && put(
            dict,
            c"debug_hooks",
            ffi::PyBool_FromLong(installed.debug_hooks.into()),
        );
    if !ok {
        ffi::Py_DecRef(dict);
        return std::ptr::null_mut();
    }
    dict
}

/// Set `sys.oxidized_allocator` to what `install` put in place (the `default`
/// backend with no domains when `install` did not run). Needs a live interpreter.
pub(crate) unsafe fn set_sys_attribute() -> Result<(), NewInterpreterError> {
    let installed = INSTALLED.get().cloned().unwrap_or(Installed {
        backend: "default",
        domains: Vec::new(),
        pymalloc_arena: false,
        debug_hooks: false,
    });
    crate::pystr::sys_set(c"oxidized_allocator", installed_to_py(&installed), true)
}
