//! Conversions between Rust strings/paths and CPython's configuration strings,
//! and small helpers around `sys`.
//!
//! On Unix, paths and arguments are passed to CPython as bytes and decoded the
//! way CPython decodes its own command line (locale encoding, or UTF-8 mode, with
//! `surrogateescape`), so non-UTF-8 file names survive. On Windows they are
//! passed as UTF-16.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::path::Path;

use pyo3::ffi;

use crate::interpreter::NewInterpreterError;

/// Read a C string that may be NULL.
pub(crate) unsafe fn c_str_or(ptr: *const libc::c_char, default: &str) -> String {
    if ptr.is_null() {
        default.to_string()
    } else {
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}

/// Replace every `$ORIGIN` in `value` with `origin`.
pub fn expand_origin(value: &OsStr, origin: &Path) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let needle = b"$ORIGIN";
        let bytes = value.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(origin.as_os_str().as_bytes());
                i += needle.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        OsString::from_vec(out)
    }
    #[cfg(not(unix))]
    {
        let text = value.to_string_lossy();
        OsString::from(text.replace("$ORIGIN", &origin.to_string_lossy()))
    }
}

#[cfg(unix)]
fn to_cstring(value: &OsStr, name: &str) -> Result<CString, NewInterpreterError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(value.as_bytes())
        .map_err(|_| NewInterpreterError::new(format!("{name} contains a NUL byte")))
}

#[cfg(windows)]
fn to_wide(value: &OsStr) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt;
    value.encode_wide().chain(std::iter::once(0)).collect()
}

fn status_to_result(status: ffi::PyStatus, name: &str) -> Result<(), NewInterpreterError> {
    unsafe {
        if ffi::PyStatus_Exception(status) != 0 {
            let msg = c_str_or(status.err_msg, "unknown error");
            return Err(NewInterpreterError::new(format!(
                "cannot set {name}: {msg}"
            )));
        }
    }
    Ok(())
}

/// Set one `wchar_t*` field of a `PyConfig`.
pub(crate) unsafe fn set_config_string(
    config: *mut ffi::PyConfig,
    field: *mut *mut libc::wchar_t,
    value: &OsStr,
    name: &str,
) -> Result<(), NewInterpreterError> {
    #[cfg(unix)]
    let status = {
        let c = to_cstring(value, name)?;
        ffi::PyConfig_SetBytesString(config, field, c.as_ptr())
    };
    #[cfg(windows)]
    let status = {
        let w = to_wide(value);
        ffi::PyConfig_SetString(config, field, w.as_ptr() as *const libc::wchar_t)
    };
    status_to_result(status, name)
}

/// Append one item to a `PyWideStringList` of a `PyConfig`.
pub(crate) unsafe fn append_list(
    list: *mut ffi::PyWideStringList,
    value: &OsStr,
    name: &str,
) -> Result<(), NewInterpreterError> {
    #[cfg(unix)]
    {
        let c = to_cstring(value, name)?;
        let wide = ffi::Py_DecodeLocale(c.as_ptr(), std::ptr::null_mut());
        if wide.is_null() {
            return Err(NewInterpreterError::new(format!(
                "cannot decode {name} entry"
            )));
        }
        let status = ffi::PyWideStringList_Append(list, wide);
        ffi::PyMem_RawFree(wide as *mut libc::c_void);
        status_to_result(status, name)
    }
    #[cfg(windows)]
    {
        let w = to_wide(value);
        status_to_result(
            ffi::PyWideStringList_Append(list, w.as_ptr() as *const libc::wchar_t),
            name,
        )
    }
}

/// Set `PyConfig.argv` (and so `sys.argv`).
pub(crate) unsafe fn set_argv(
    config: *mut ffi::PyConfig,
    argv: &[OsString],
) -> Result<(), NewInterpreterError> {
    #[cfg(unix)]
    {
        let owned = argv
            .iter()
            .map(|a| to_cstring(a, "argv"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*const libc::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        let status =
            ffi::PyConfig_SetBytesArgv(config, ptrs.len() as ffi::Py_ssize_t, ptrs.as_mut_ptr());
        status_to_result(status, "argv")
    }
    #[cfg(windows)]
    {
        let owned: Vec<Vec<u16>> = argv.iter().map(|a| to_wide(a)).collect();
        let mut ptrs: Vec<*const libc::wchar_t> = owned
            .iter()
            .map(|w| w.as_ptr() as *const libc::wchar_t)
            .collect();
        let status =
            ffi::PyConfig_SetArgv(config, ptrs.len() as ffi::Py_ssize_t, ptrs.as_mut_ptr());
        status_to_result(status, "argv")
    }
}

/// Describe and clear the current Python exception.
unsafe fn fetch_error(what: &str) -> NewInterpreterError {
    if !ffi::PyErr_Occurred().is_null() {
        ffi::PyErr_Print();
    }
    NewInterpreterError::new(format!("error setting up the interpreter: {what}"))
}

/// `setattr(sys, name, value)`; `steal` = the reference to `value` is ours to drop.
pub(crate) unsafe fn sys_set(
    name: &CStr,
    value: *mut ffi::PyObject,
    steal: bool,
) -> Result<(), NewInterpreterError> {
    if value.is_null() {
        return Err(fetch_error(&format!(
            "cannot create sys.{}",
            name.to_string_lossy()
        )));
    }
    let rc = ffi::PySys_SetObject(name.as_ptr(), value);
    if steal {
        ffi::Py_DecRef(value);
    }
    if rc != 0 {
        return Err(fetch_error(&format!(
            "cannot set sys.{}",
            name.to_string_lossy()
        )));
    }
    Ok(())
}

/// A new `str` from an OS string (filesystem encoding, surrogateescape).
pub(crate) unsafe fn os_str_to_py(
    value: &OsStr,
) -> Result<*mut ffi::PyObject, NewInterpreterError> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = value.as_bytes();
        Ok(ffi::PyUnicode_DecodeFSDefaultAndSize(
            bytes.as_ptr() as *const libc::c_char,
            bytes.len() as ffi::Py_ssize_t,
        ))
    }
    #[cfg(not(unix))]
    {
        let text = value.to_string_lossy();
        Ok(ffi::PyUnicode_FromStringAndSize(
            text.as_ptr() as *const libc::c_char,
            text.len() as ffi::Py_ssize_t,
        ))
    }
}

/// A new `list[bytes]` holding the raw arguments.
pub(crate) unsafe fn argv_bytes_list(
    argv: &[OsString],
) -> Result<*mut ffi::PyObject, NewInterpreterError> {
    let list = ffi::PyList_New(0);
    if list.is_null() {
        return Err(fetch_error("cannot create sys.argvb"));
    }
    for arg in argv {
        #[cfg(unix)]
        let bytes: Vec<u8> = {
            use std::os::unix::ffi::OsStrExt;
            arg.as_bytes().to_vec()
        };
        #[cfg(not(unix))]
        let bytes: Vec<u8> = arg.to_string_lossy().into_owned().into_bytes();
        let item = ffi::PyBytes_FromStringAndSize(
            bytes.as_ptr() as *const libc::c_char,
            bytes.len() as ffi::Py_ssize_t,
        );
        if item.is_null() || ffi::PyList_Append(list, item) != 0 {
            ffi::Py_DecRef(list);
            return Err(fetch_error("cannot create sys.argvb"));
        }
        ffi::Py_DecRef(item);
    }
    Ok(list)
}

/// At exit, when the environment variable `env_name` names a directory, write
/// the sorted names of the loaded modules to `<dir>/modules-<random hex>`.
pub(crate) unsafe fn register_write_modules(env_name: &str) -> Result<(), NewInterpreterError> {
    if env_name.is_empty()
        || !env_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(NewInterpreterError::new(format!(
            "write_modules_directory_env must be an environment variable name, got {env_name:?}"
        )));
    }
    let code = format!(
        "def _pyembed_register():\n\
         \x20   import atexit, os, sys\n\
         \x20   def write():\n\
         \x20       d = os.environ.get('{env_name}')\n\
         \x20       if not d:\n\
         \x20           return\n\
         \x20       os.makedirs(d, exist_ok=True)\n\
         \x20       p = os.path.join(d, 'modules-' + os.urandom(16).hex())\n\
         \x20       with open(p, 'w', encoding='utf-8') as f:\n\
         \x20           f.write(''.join(name + '\\n' for name in sorted(sys.modules)))\n\
         \x20   atexit.register(write)\n\
         _pyembed_register()\n\
         del _pyembed_register\n"
    );
    let c = CString::new(code).expect("no NUL in generated code");
    if ffi::PyRun_SimpleString(c.as_ptr()) != 0 {
        return Err(NewInterpreterError::new(
            "cannot register the write_modules_directory_env hook",
        ));
    }
    Ok(())
}
