//! `TERMINFO_DIRS` detection, so curses/readline find a terminal database
//! (none is shipped with the executable).

use std::path::Path;

/// Directories, in search order, that commonly hold a terminfo database.
const CANDIDATES: &[&str] = &[
    "/etc/terminfo",
    "/lib/terminfo",
    "/usr/share/terminfo",
    "/usr/lib/terminfo",
    "/usr/share/lib/terminfo",
    "/usr/local/share/terminfo",
    "/opt/homebrew/share/terminfo",
];

/// The existing candidate directories joined with `:`, or None when there are none.
pub fn detect_terminfo_dirs() -> Option<String> {
    if cfg!(windows) {
        return None;
    }
    let found: Vec<&str> = CANDIDATES
        .iter()
        .copied()
        .filter(|d| Path::new(d).is_dir())
        .collect();
    if found.is_empty() {
        None
    } else {
        Some(found.join(":"))
    }
}
