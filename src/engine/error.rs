//! The engine's one error type: every rejected input becomes a clear message, never a panic.

use std::fmt;

/// Why the engine refused a command or a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// A configuration value is out of range or malformed; names the Kafka config.
    InvalidConfig {
        /// The Kafka config name, e.g. `session.timeout.ms`.
        name: String,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// A hard cap of the simulation was reached (partitions, consumers, groups, records).
    LimitExceeded {
        /// What ran out, e.g. "partitions".
        what: &'static str,
        /// The cap.
        limit: u64,
    },
    /// A command referred to something that does not exist or is in the wrong state.
    InvalidCommand(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::InvalidConfig { name, reason } => {
                write!(f, "invalid value for `{name}`: {reason}")
            }
            EngineError::LimitExceeded { what, limit } => {
                write!(f, "the lab supports at most {limit} {what}")
            }
            EngineError::InvalidCommand(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for EngineError {}
