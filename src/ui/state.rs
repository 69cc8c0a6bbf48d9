//! The lab's reactive state: the engine kept in place, plus a version signal that
//! views subscribe to. The engine is never cloned into a signal.

use leptos::prelude::*;

use crate::engine::scenario::Scenario;
use crate::engine::Sim;

/// The simulation speeds the controls offer (× virtual time), logarithmic from 0.1× to 100×.
pub const SPEEDS: [f64; 7] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];

/// Shared state, provided as context. `Copy`, so closures capture it freely.
#[derive(Clone, Copy)]
pub struct LabState {
    sim: StoredValue<Sim>,
    version: RwSignal<u64>,
    /// The setup the lab was built from.
    pub scenario: RwSignal<Scenario>,
    /// The play loop runs.
    pub playing: RwSignal<bool>,
    /// Index into [`SPEEDS`].
    pub speed: RwSignal<usize>,
    /// The anomaly selected in the ledger panel: `(group, index)`.
    pub selected_anomaly: RwSignal<Option<(u16, usize)>>,
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
    /// A fresh lab built from the default [`Scenario`], paused at t = 0.
    pub fn new() -> Self {
        let scenario = Scenario::default();
        let sim = scenario.build().expect("the default scenario is valid");
        LabState {
            sim: StoredValue::new(sim),
            version: RwSignal::new(0),
            scenario: RwSignal::new(scenario),
            playing: RwSignal::new(false),
            speed: RwSignal::new(2),
            selected_anomaly: RwSignal::new(None),
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

    /// Rebuilds the lab from `scenario` (time back to 0). A refused scenario changes nothing.
    pub fn reset(&self, scenario: Scenario) {
        match scenario.build() {
            Ok(sim) => {
                self.update(|s| *s = sim);
                self.scenario.set(scenario);
                self.selected_anomaly.set(None);
                self.notice.set(None);
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Advances virtual time by `ms`.
    pub fn advance(&self, ms: u64) {
        self.update(|s| {
            let t = s.now_ms() + ms;
            s.run_until(t);
        });
    }

    /// Runs the next scheduled action, if any.
    pub fn step(&self) {
        self.update(|s| {
            s.step();
        });
    }

    /// The current speed factor.
    pub fn speed_factor(&self) -> f64 {
        SPEEDS[self.speed.get_untracked().min(SPEEDS.len() - 1)]
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
