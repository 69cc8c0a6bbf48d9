//! The levels shipped with the lab: the JSON files under `src/lab/levels/`, embedded in
//! the build. A test checks that this list and the directory agree.

use super::level::{Level, LevelError};

/// `(file name, contents)` of every shipped level, in the order the level map shows them.
pub const FILES: &[(&str, &str)] = &[(
    "L13-auto-commit-window.json",
    include_str!("../lab/levels/L13-auto-commit-window.json"),
)];

/// Every shipped level, parsed.
///
/// # Errors
/// A shipped file that does not parse (a test keeps this from happening).
pub fn all() -> Result<Vec<Level>, LevelError> {
    FILES
        .iter()
        .map(|(name, json)| Level::parse(json).map_err(|e| LevelError(format!("{name}: {e}"))))
        .collect()
}
