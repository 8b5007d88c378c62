//! The runtime side of the in-memory importer.
//!
//! Packed resources (format: pyoxidizer-py's `docs/packed-resources.md`) are
//! bytes embedded in the executable or a file memory-mapped beside it; nothing is
//! copied. Their use takes three steps around `Py_InitializeFromConfig`:
//!
//! 1. before: CPython's `PyImport_FrozenModules` table is replaced by a copy of
//!    itself (3.10 keeps `_frozen_importlib` there) plus the blob's frozen
//!    section, whose names and code point into the blob. CPython's
//!    `FrozenImporter` then serves the modules initialisation imports
//!    (`encodings` and its codecs, `site` on 3.10, ...) and the importer module
//!    from memory on every CPython 3.10-3.14, without two-phase initialisation
//!    (`_Py_InitializeMain` is gone in 3.14.0);
//! 2. after: `_pyoxidizer_importer.install(blobs, origin, filesystem_importer, load,
//!    decompress)` runs with memoryviews over the blobs, the shared object loader of
//!    `memload.rs` (Linux) and the Zstandard decoder of `decompress.rs`, and puts `OxidizedFinder` first on
//!    `sys.meta_path` (see `templates/pyembed/python/_pyoxidizer_importer.py`);
//! 3. the original frozen table is put back, so `FrozenImporter` only knows
//!    CPython's own frozen modules again.

use std::ffi::{c_char, c_int, CStr, OsStr};
use std::path::Path;

use pyo3::ffi;

use crate::config::PackedResourcesSource;
use crate::interpreter::NewInterpreterError;
use crate::pystr;

const MAGIC: &[u8; 8] = b"PYOXRES\0";
const FORMAT_VERSION: u32 = 4;
const HEADER_SIZE: usize = 88;
const FROZEN_ENTRY_SIZE: usize = 24;
const FROZEN_PACKAGE: u32 = 0x01;
/// The entry's code is one Zstandard frame: a codec only unusual locales need at start-up.
const FROZEN_COMPRESSED: u32 = 0x02;
const IMPORTER_MODULE: &CStr = c"_pyoxidizer_importer";

fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

fn read_u64(data: &[u8], at: usize) -> usize {
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap()) as usize
}

/// One frozen module of a blob: pointers into the blob.
struct FrozenModule {
    name: *const c_char,
    code: *const u8,
    size: c_int,
    is_package: bool,
    compressed: bool,
}

/// The packed resources of this process and the frozen table built from them.
pub(crate) struct PackedImporter<'a> {
    blobs: Vec<&'a [u8]>,
    table: Vec<ffi::_frozen>,
    original: *const ffi::_frozen,
    table_installed: bool,
}

fn invalid(what: &str, detail: &str) -> NewInterpreterError {
    NewInterpreterError::new(format!("invalid packed resources ({what}): {detail}"))
}

/// Check a blob's header and return its frozen modules.
fn frozen_modules(blob: &[u8], what: &str) -> Result<Vec<FrozenModule>, NewInterpreterError> {
    if blob.len() < HEADER_SIZE || &blob[..8] != MAGIC {
        return Err(invalid(what, "not a pyoxidizer-py packed resources blob"));
    }
    let version = read_u32(blob, 8);
    if version != FORMAT_VERSION || read_u32(blob, 12) as usize != HEADER_SIZE {
        return Err(invalid(
            what,
            &format!("format version {version} is not supported by this runtime"),
        ));
    }
    let (offset, length) = (read_u64(blob, 16), read_u64(blob, 24));
    if offset
        .checked_add(length)
        .map_or(true, |end| end > blob.len())
        || length < 8
    {
        return Err(invalid(what, "frozen section out of bounds"));
    }
    let count = read_u32(blob, offset) as usize;
    if count.saturating_mul(FROZEN_ENTRY_SIZE) > length - 8 {
        return Err(invalid(what, "frozen section out of bounds"));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = offset + 8 + i * FROZEN_ENTRY_SIZE;
        let name_at = read_u64(blob, at);
        let code_at = read_u64(blob, at + 8);
        let code_len = read_u32(blob, at + 16) as usize;
        let flags = read_u32(blob, at + 20);
        let name_ok = name_at < blob.len() && blob[name_at..].contains(&0);
        let code_ok = code_at
            .checked_add(code_len)
            .is_some_and(|end| end <= blob.len());
        if !name_ok || !code_ok || code_len == 0 || code_len > c_int::MAX as usize {
            return Err(invalid(what, &format!("frozen entry {i} out of bounds")));
        }
        out.push(FrozenModule {
            name: blob[name_at..].as_ptr() as *const c_char,
            code: blob[code_at..].as_ptr(),
            size: code_len as c_int,
            is_package: flags & FROZEN_PACKAGE != 0,
            compressed: flags & FROZEN_COMPRESSED != 0,
        });
    }
    Ok(out)
}

/// A blob's Zstandard dictionary (header bytes 72..88: offset and length; length 0: none).
fn dictionary<'b>(blob: &'b [u8], what: &str) -> Result<Option<&'b [u8]>, NewInterpreterError> {
    let (offset, length) = (read_u64(blob, 72), read_u64(blob, 80));
    if length == 0 {
        return Ok(None);
    }
    match offset.checked_add(length) {
        Some(end) if end <= blob.len() => Ok(Some(&blob[offset..end])),
        _ => Err(invalid(what, "zstd dictionary out of bounds")),
    }
}

/// A `struct _frozen` as this CPython version declares it (3.10 marks packages
/// with a negative size; 3.11 adds `is_package`; 3.11 and 3.12 have `get_code`).
fn frozen_entry(module: &FrozenModule) -> ffi::_frozen {
    ffi::_frozen {
        name: module.name,
        code: module.code,
        #[cfg(not(Py_3_11))]
        size: if module.is_package {
            -module.size
        } else {
            module.size
        },
        #[cfg(Py_3_11)]
        size: module.size,
        #[cfg(Py_3_11)]
        is_package: c_int::from(module.is_package),
        #[cfg(all(Py_3_11, not(Py_3_13)))]
        get_code: None,
    }
}

/// Whether CPython's initialisation may look up a codec other than UTF-8, ASCII and
/// Latin-1: its filesystem and stdio encodings come from the `LC_CTYPE` locale the
/// environment selects (`nl_langinfo(CODESET)` after `setlocale(LC_CTYPE, "")`, as
/// CPython's `Python/fileutils.c` reads it; the C locale is coerced to UTF-8, PEP 538
/// and PEP 540), or from `PYTHONIOENCODING`. The locale is put back as it was.
#[cfg(unix)]
unsafe fn other_codecs_at_startup() -> bool {
    if std::env::var_os("PYTHONIOENCODING").is_some() {
        return true;
    }
    let current = libc::setlocale(libc::LC_CTYPE, std::ptr::null());
    let saved = (!current.is_null()).then(|| CStr::from_ptr(current).to_owned());
    let codeset = if libc::setlocale(libc::LC_CTYPE, c"".as_ptr()).is_null() {
        Vec::new()
    } else {
        let name = libc::nl_langinfo(libc::CODESET);
        if name.is_null() {
            Vec::new()
        } else {
            CStr::from_ptr(name).to_bytes().to_ascii_lowercase()
        }
    };
    if let Some(saved) = saved {
        libc::setlocale(libc::LC_CTYPE, saved.as_ptr());
    }
    let known: [&[u8]; 8] = [
        b"utf-8",
        b"utf8",
        b"ansi_x3.4-1968",
        b"ascii",
        b"us-ascii",
        b"iso-8859-1",
        b"iso8859-1",
        b"",
    ];
    !known.contains(&codeset.as_slice())
}

/// Other platforms: always (their start-up codecs depend on more than the locale).
#[cfg(not(unix))]
unsafe fn other_codecs_at_startup() -> bool {
    true
}

/// Map a file read-only for the life of the process.
#[cfg(unix)]
fn map_file(path: &Path) -> Result<&'static [u8], NewInterpreterError> {
    use std::os::unix::io::AsRawFd;
    let fail = |e: std::io::Error| {
        NewInterpreterError::new(format!(
            "cannot map packed resources {}: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len() as usize;
    if len == 0 {
        return Err(invalid(&path.display().to_string(), "empty file"));
    }
    unsafe {
        let ptr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        );
        if ptr == libc::MAP_FAILED {
            return Err(fail(std::io::Error::last_os_error()));
        }
        Ok(std::slice::from_raw_parts(ptr as *const u8, len))
    }
}

/// Read a file for the life of the process (no `mmap` on this platform).
#[cfg(not(unix))]
fn map_file(path: &Path) -> Result<&'static [u8], NewInterpreterError> {
    let data = std::fs::read(path).map_err(|e| {
        NewInterpreterError::new(format!(
            "cannot read packed resources {}: {e}",
            path.display()
        ))
    })?;
    Ok(Box::leak(data.into_boxed_slice()))
}

impl<'a> PackedImporter<'a> {
    /// Load (embedded) or map (files, `$ORIGIN` expanded) every source and check it.
    ///
    /// Returns None when there is nothing to install.
    pub(crate) fn load(
        sources: &[PackedResourcesSource<'a>],
        origin: &Path,
    ) -> Result<Option<Self>, NewInterpreterError> {
        if sources.is_empty() {
            return Ok(None);
        }
        let mut blobs = Vec::with_capacity(sources.len());
        for source in sources {
            let (blob, what): (&'a [u8], String) = match source {
                PackedResourcesSource::Memory(bytes) => (bytes, "embedded".to_string()),
                PackedResourcesSource::MemoryMappedPath(path) => {
                    let expanded = pystr::expand_origin(path.as_os_str(), origin);
                    let path = Path::new(&expanded);
                    (map_file(path)?, path.display().to_string())
                }
            };
            frozen_modules(blob, &what)?;
            if let Some(dict) = dictionary(blob, &what)? {
                // SAFETY: before initialisation, on the thread that initialises Python.
                unsafe { crate::decompress::register_dictionary(dict) }
                    .map_err(|e| invalid(&what, &e))?;
            }
            blobs.push(blob);
        }
        Ok(Some(PackedImporter {
            blobs,
            table: Vec::new(),
            original: std::ptr::null(),
            table_installed: false,
        }))
    }

    /// Step 1: install the frozen table (before `Py_InitializeFromConfig`).
    ///
    /// Compressed entries (codecs other than UTF-8, ASCII and Latin-1) are decompressed
    /// into the table only when initialisation may ask for them (`other_codecs_at_startup`);
    /// otherwise they stay out of it and the finder serves them from the index later.
    /// `explicit_encoding`: the config names a filesystem or stdio encoding.
    ///
    /// # Safety
    /// The interpreter must not be initialised yet; the blobs outlive initialisation.
    pub(crate) unsafe fn install_frozen_table(
        &mut self,
        explicit_encoding: bool,
    ) -> Result<(), NewInterpreterError> {
        let mut other_codecs: Option<bool> = None;
        self.original = ffi::PyImport_FrozenModules;
        let mut table: Vec<ffi::_frozen> = Vec::new();
        let mut names: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        if !self.original.is_null() {
            let mut entry = self.original;
            while !(*entry).name.is_null() {
                names.insert(CStr::from_ptr((*entry).name).to_bytes());
                table.push(*entry);
                entry = entry.add(1);
            }
        }
        for blob in &self.blobs {
            for module in frozen_modules(blob, "embedded")? {
                let mut module = module;
                if module.compressed {
                    if !*other_codecs
                        .get_or_insert_with(|| explicit_encoding || other_codecs_at_startup())
                    {
                        continue;
                    }
                    let frame = std::slice::from_raw_parts(module.code, module.size as usize);
                    let code = crate::decompress::decompress_to_vec(frame)
                        .map_err(|e| invalid("embedded", &format!("frozen codec: {e}")))?;
                    if code.is_empty() || code.len() > c_int::MAX as usize {
                        return Err(invalid("embedded", "frozen codec: bad size"));
                    }
                    // Leaked: only on such locales, and CPython may keep pointers into it.
                    let code: &'static [u8] = Box::leak(code.into_boxed_slice());
                    module.code = code.as_ptr();
                    module.size = code.len() as c_int;
                }
                // CPython's own entries and earlier blobs win.
                if names.insert(CStr::from_ptr(module.name).to_bytes()) {
                    table.push(frozen_entry(&module));
                }
            }
        }
        table.push(std::mem::zeroed());
        self.table = table;
        ffi::PyImport_FrozenModules = self.table.as_ptr();
        self.table_installed = true;
        Ok(())
    }

    /// Step 3: put CPython's own frozen table back.
    ///
    /// # Safety
    /// Only after `install_frozen_table`, from the thread that initialises Python.
    pub(crate) unsafe fn restore_frozen_table(&mut self) {
        if self.table_installed {
            ffi::PyImport_FrozenModules = self.original;
            self.table_installed = false;
        }
    }

    /// Step 2: import the importer module and call its `install()`.
    ///
    /// # Safety
    /// The interpreter is initialised and this thread holds the GIL.
    pub(crate) unsafe fn install_finder(
        &self,
        origin: &Path,
        filesystem_importer: bool,
    ) -> Result<(), NewInterpreterError> {
        let fail = |what: &str| {
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Print();
            }
            NewInterpreterError::new(format!(
                "cannot install the packed resources importer: {what}"
            ))
        };
        let module = ffi::PyImport_ImportModule(IMPORTER_MODULE.as_ptr());
        if module.is_null() {
            return Err(fail("the importer module is not in the packed resources"));
        }
        let install = ffi::PyObject_GetAttrString(module, c"install".as_ptr());
        ffi::Py_DecRef(module);
        if install.is_null() {
            return Err(fail("the importer module has no install()"));
        }
        let views = ffi::PyList_New(0);
        for blob in &self.blobs {
            let view = ffi::PyMemoryView_FromMemory(
                blob.as_ptr() as *mut c_char,
                blob.len() as ffi::Py_ssize_t,
                ffi::PyBUF_READ,
            );
            if view.is_null() || ffi::PyList_Append(views, view) != 0 {
                ffi::Py_DecRef(install);
                ffi::Py_DecRef(views);
                return Err(fail("cannot create a memoryview of the packed resources"));
            }
            ffi::Py_DecRef(view);
        }
        let origin = pystr::os_str_to_py(OsStr::new(origin.as_os_str()))?;
        let flag = ffi::PyBool_FromLong(libc::c_long::from(filesystem_importer));
        // Loads extension modules and shared libraries from memory (memload.rs).
        #[cfg(target_os = "linux")]
        let loader = crate::memload::loader_function();
        #[cfg(not(target_os = "linux"))]
        let loader = {
            let none = ffi::Py_None();
            ffi::Py_IncRef(none);
            none
        };
        let decompress = crate::decompress::decompress_function();
        let result = if origin.is_null() || loader.is_null() || decompress.is_null() {
            std::ptr::null_mut()
        } else {
            ffi::PyObject_CallFunctionObjArgs(
                install,
                views,
                origin,
                flag,
                loader,
                decompress,
                std::ptr::null_mut::<ffi::PyObject>(),
            )
        };
        for object in [install, views, origin, flag, loader, decompress] {
            if !object.is_null() {
                ffi::Py_DecRef(object);
            }
        }
        if result.is_null() {
            return Err(fail("install() failed"));
        }
        ffi::Py_DecRef(result);
        Ok(())
    }
}

impl Drop for PackedImporter<'_> {
    fn drop(&mut self) {
        unsafe { self.restore_frozen_table() };
    }
}
