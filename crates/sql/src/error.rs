//! The one error a learner sees for a bad application: where, what, why.

use sqlparser::tokenizer::Location;

/// A compile-time error in an application, with the position of the
/// offending token (1-based line and column) and a plain explanation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SqlError {
    pub line: u64,
    pub column: u64,
    /// The offending token as written, when there is one.
    pub token: Option<String>,
    pub message: String,
}

impl SqlError {
    pub fn at(loc: Location, token: Option<String>, message: String) -> SqlError {
        SqlError {
            line: loc.line,
            column: loc.column,
            token,
            message,
        }
    }
}
