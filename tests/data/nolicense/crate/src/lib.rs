//! Nothing: only its (missing) license matters.
