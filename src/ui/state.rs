//! The lab's reactive state: the engine kept in place, plus a version signal that
//! views subscribe to. The engine is never cloned into a signal.

use leptos::prelude::*;

use crate::engine::Sim;

/// The seed a fresh lab starts from.
pub const DEFAULT_SEED: u64 = 42;
/// The partition count a fresh lab starts with.
pub const DEFAULT_PARTITIONS: u32 = 3;

/// Shared state, provided as context. `Copy`, so closures capture it freely.
#[derive(Clone, Copy)]
pub struct LabState {
    sim: StoredValue<Sim>,
    version: RwSignal<u64>,
    /// The last message for the user (an error, or what just happened).
    pub notice: RwSignal<Option<Notice>>,
}

/// A one-line message shown above the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// True for a refused input, false for information.
    pub is_error: bool,
    /// The text.
    pub text: String,
}

impl LabState {
    /// A fresh lab: topic `orders` with [`DEFAULT_PARTITIONS`] partitions.
    pub fn new() -> Self {
        let sim =
            Sim::new("orders", DEFAULT_PARTITIONS, DEFAULT_SEED).expect("default topic is valid");
        LabState {
            sim: StoredValue::new(sim),
            version: RwSignal::new(0),
            notice: RwSignal::new(None),
        }
    }

    /// Reads the engine; tracks the version so the caller re-runs after each change.
    pub fn with<R>(&self, f: impl FnOnce(&Sim) -> R) -> R {
        self.version.track();
        self.sim.with_value(f)
    }

    /// Changes the engine and notifies every view.
    pub fn update<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let out = self.sim.try_update_value(f).expect("lab state is alive");
        self.version.update(|v| *v += 1);
        out
    }

    /// Shows an error message.
    pub fn error(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice {
            is_error: true,
            text: text.into(),
        }));
    }

    /// Shows an informational message.
    pub fn info(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice {
            is_error: false,
            text: text.into(),
        }));
    }
}

impl Default for LabState {
    fn default() -> Self {
        Self::new()
    }
}

/// The lab state from context.
pub fn expect_lab() -> LabState {
    expect_context::<LabState>()
}
