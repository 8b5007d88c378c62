//! Memory allocators for CPython's domains (`allocator_backend` and friends).
//!
//! This runtime version accepts the settings but installs no allocator of its
//! own: `MemoryAllocatorBackend::Default` (CPython's allocators) works, and a
//! request for another backend stops start-up with a message saying so, instead
//! of being ignored. The `allocator-*` Cargo features are declared so projects
//! that enable them build; a later version wires the backends through
//! `PyMem_SetAllocator` after `Py_PreInitialize`.

use crate::config::{MemoryAllocatorBackend, OxidizedPythonInterpreterConfig};
use crate::interpreter::NewInterpreterError;

/// Refuse settings this runtime cannot honour.
pub(crate) fn check_backend(
    config: &OxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    if config.allocator_pymalloc_arena && (config.allocator_mem || config.allocator_obj) {
        return Err(NewInterpreterError::new(
            "allocator_pymalloc_arena cannot be combined with allocator_mem or allocator_obj",
        ));
    }
    let (name, feature_enabled) = match config.allocator_backend {
        MemoryAllocatorBackend::Default => return Ok(()),
        MemoryAllocatorBackend::Jemalloc => ("jemalloc", cfg!(feature = "allocator-jemalloc")),
        MemoryAllocatorBackend::Mimalloc => ("mimalloc", cfg!(feature = "allocator-mimalloc")),
        MemoryAllocatorBackend::Snmalloc => ("snmalloc", cfg!(feature = "allocator-snmalloc")),
        MemoryAllocatorBackend::Rust => ("rust", true),
    };
    if !feature_enabled {
        return Err(NewInterpreterError::new(format!(
            "allocator_backend {name} requires the allocator-{name} feature of this executable"
        )));
    }
    Err(NewInterpreterError::new(format!(
        "allocator_backend {name} is not implemented by this runtime version; use allocator_backend \"default\""
    )))
}
