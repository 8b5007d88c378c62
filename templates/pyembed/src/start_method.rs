//! `multiprocessing_start_method`: make `fork`, `forkserver` or `spawn` the
//! default start method when the application first imports `multiprocessing`.
//!
//! `none` and `auto` install nothing (`auto` keeps CPython's default for the
//! platform and version: `fork` on Linux up to 3.13, `forkserver` from 3.14,
//! `spawn` on macOS and Windows). For an explicit method, a finder at the front
//! of `sys.meta_path` waits for `import multiprocessing`, lets the other finders
//! find and load it, then changes the *default* context (as if CPython had that
//! default), removes itself and gets out of the way. `multiprocessing` is never
//! imported for applications that do not import it, and the application may
//! still call `multiprocessing.set_start_method()` itself: the method is not
//! fixed the way `set_start_method()` would fix it.
//!
//! Seam: the in-memory importer may take this over (PyOxidizer's OxidizedFinder
//! calls `multiprocessing.set_start_method` after executing `multiprocessing`);
//! this hook works in front of any importer.

use std::ffi::CString;

use pyo3::ffi;

use crate::config::MultiprocessingStartMethod;
use crate::interpreter::NewInterpreterError;

const HOOK: &str = r#"
def _pyembed_multiprocessing_start_method(method):
    import sys

    def apply(module):
        context = getattr(module, "context", None)
        default = getattr(context, "_default_context", None)
        concrete = getattr(context, "_concrete_contexts", None)
        if isinstance(concrete, dict) and method in concrete and hasattr(default, "_default_context"):
            default._default_context = concrete[method]
        else:
            module.set_start_method(method, force=True)

    existing = sys.modules.get("multiprocessing")
    if existing is not None:
        apply(existing)
        return

    class Loader:
        def __init__(self, loader):
            self._loader = loader

        def __getattr__(self, name):
            return getattr(self._loader, name)

        def create_module(self, spec):
            create = getattr(self._loader, "create_module", None)
            return None if create is None else create(spec)

        def exec_module(self, module):
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
            self._loader.exec_module(module)
            try:
                sys.meta_path.remove(finder)
            except ValueError:
                pass
            apply(module)

    class MultiprocessingStartMethodFinder:
        """pyembed: sets the multiprocessing start method when multiprocessing is imported."""

        def find_spec(self, fullname, path=None, target=None):
            if fullname != "multiprocessing":
                return None
            for other in sys.meta_path:
                find = None if other is self else getattr(other, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = Loader(spec.loader)
                    return spec
            return None

    finder = MultiprocessingStartMethodFinder()
    sys.meta_path.insert(0, finder)
"#;

/// Install the hook for `method` (nothing for `none`/`auto`). Needs the GIL.
///
/// Errors: the hook's Python code failed (the exception is printed).
pub(crate) unsafe fn install(
    method: MultiprocessingStartMethod,
) -> Result<(), NewInterpreterError> {
    let name = match method {
        MultiprocessingStartMethod::None | MultiprocessingStartMethod::Auto => return Ok(()),
        MultiprocessingStartMethod::Fork => "fork",
        MultiprocessingStartMethod::ForkServer => "forkserver",
        MultiprocessingStartMethod::Spawn => "spawn",
    };
    let code = format!("{HOOK}\n_pyembed_multiprocessing_start_method({name:?})\n");
    let code = CString::new(code).expect("no NUL in generated code");
    let globals = ffi::PyDict_New();
    if globals.is_null() {
        return Err(error());
    }
    // PyRun_String adds `__builtins__` to globals that lack it.
    let result = ffi::PyRun_StringFlags(
        code.as_ptr(),
        ffi::Py_file_input,
        globals,
        globals,
        std::ptr::null_mut(),
    );
    ffi::Py_DecRef(globals);
    if result.is_null() {
        return Err(error());
    }
    ffi::Py_DecRef(result);
    Ok(())
}

unsafe fn error() -> NewInterpreterError {
    if !ffi::PyErr_Occurred().is_null() {
        ffi::PyErr_Print();
    }
    NewInterpreterError::new("cannot install the multiprocessing_start_method hook")
}
