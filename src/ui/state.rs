//! The lab's reactive state: the engine kept in place, plus a version signal that
//! views subscribe to. The engine is never cloned into a signal.

use leptos::prelude::*;

use crate::engine::error::EngineError;
use crate::engine::history::Session;
use crate::engine::scenario::Scenario;
use crate::engine::{Command, Sim};

/// Where the lab keeps the current session between visits.
pub const STORAGE_KEY: &str = "kafka-lab/session/v1";

/// The simulation speeds the controls offer (× virtual time), logarithmic from 0.1× to 100×.
pub const SPEEDS: [f64; 7] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];

/// Shared state, provided as context. `Copy`, so closures capture it freely.
#[derive(Clone, Copy)]
pub struct LabState {
    sim: StoredValue<Sim>,
    session: StoredValue<Session>,
    persist: bool,
    version: RwSignal<u64>,
    /// The furthest virtual time reached, for the timeline's range.
    pub horizon_ms: RwSignal<u64>,
    /// The setup the lab was built from.
    pub scenario: RwSignal<Scenario>,
    /// The play loop runs.
    pub playing: RwSignal<bool>,
    /// Index into [`SPEEDS`].
    pub speed: RwSignal<usize>,
    /// Presentation mode: large type and high contrast.
    pub presenting: RwSignal<bool>,
    /// Theme: "auto" (the system's), "light" or "dark".
    pub theme: RwSignal<&'static str>,
    /// The keyboard help is open.
    pub help_open: RwSignal<bool>,
    /// Panels the presenter hid, by name.
    pub hidden_panels: RwSignal<Vec<&'static str>>,
    /// The group the panels show.
    pub group: RwSignal<u16>,
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
    /// A lab restored from local storage when a valid session is saved there, else the
    /// default [`Scenario`] at t = 0. A corrupt saved session is discarded with a notice.
    pub fn new() -> Self {
        let (session, problem) = match load_saved() {
            Ok(Some(s)) => (s, None),
            Ok(None) => (Session::new(Scenario::default()), None),
            Err(e) => (Session::new(Scenario::default()), Some(e)),
        };
        let lab = Self::from_session(session, true);
        if let Some(problem) = problem {
            clear_saved();
            lab.error(format!(
                "The saved lab could not be restored ({problem}); starting fresh."
            ));
        }
        lab
    }

    /// A fresh default lab that never touches local storage.
    pub fn ephemeral() -> Self {
        Self::from_session(Session::new(Scenario::default()), false)
    }

    /// A lab at the session's time (its scenario alone if the replay fails), paused.
    fn from_session(session: Session, persist: bool) -> Self {
        let sim = session
            .replay_to(session.now_ms)
            .or_else(|_| Scenario::default().build())
            .expect("the default scenario is valid");
        LabState {
            persist,
            sim: StoredValue::new(sim),
            horizon_ms: RwSignal::new(
                session
                    .now_ms
                    .max(session.commands.last().map_or(0, |c| c.0)),
            ),
            scenario: RwSignal::new(session.scenario.clone()),
            session: StoredValue::new(session),
            version: RwSignal::new(0),
            playing: RwSignal::new(false),
            speed: RwSignal::new(2),
            presenting: RwSignal::new(false),
            theme: RwSignal::new("auto"),
            help_open: RwSignal::new(false),
            hidden_panels: RwSignal::new(Vec::new()),
            group: RwSignal::new(0),
            selected_anomaly: RwSignal::new(None),
            notice: RwSignal::new(None),
        }
    }

    /// True unless the presenter hid the panel `name`.
    pub fn shows(&self, name: &'static str) -> bool {
        !self.hidden_panels.with(|h| h.contains(&name))
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

    /// Rebuilds the lab from `scenario` (time back to 0, no actions). A refused scenario
    /// changes nothing.
    pub fn reset(&self, scenario: Scenario) {
        match scenario.build() {
            Ok(sim) => {
                self.update(|s| *s = sim);
                self.session.set_value(Session::new(scenario.clone()));
                self.scenario.set(scenario);
                self.horizon_ms.set(0);
                self.group.set(0);
                self.selected_anomaly.set(None);
                self.notice.set(None);
                self.save();
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Gives the engine a command now and records it, so replays and reloads repeat it.
    ///
    /// # Errors
    /// The engine's refusal, unchanged (nothing is recorded then).
    pub fn command(&self, command: Command) -> Result<(), EngineError> {
        let now = self.sim.with_value(Sim::now_ms);
        self.update(|s| s.apply(command.clone()))?;
        self.session
            .try_update_value(|s| s.record(now, command))
            .expect("lab state is alive")?;
        self.horizon_ms.set(now);
        self.save();
        Ok(())
    }

    /// Gives a command and shows a refusal as the notice.
    pub fn act(&self, command: Command) {
        if let Err(e) = self.command(command) {
            self.error(e.to_string());
        }
    }

    /// Advances virtual time by `ms`.
    pub fn advance(&self, ms: u64) {
        let now = self.update(|s| {
            let t = s.now_ms() + ms;
            s.run_until(t);
            s.now_ms()
        });
        self.horizon_ms.update(|h| *h = (*h).max(now));
        self.save();
    }

    /// Runs the next scheduled action, if any.
    pub fn step(&self) {
        let now = self.update(|s| {
            s.step();
            s.now_ms()
        });
        self.horizon_ms.update(|h| *h = (*h).max(now));
        self.save();
    }

    /// Goes to virtual time `t_ms`, backwards or forwards, by replaying the session from
    /// its seed.
    pub fn seek(&self, t_ms: u64) {
        let replayed = self.session.with_value(|s| s.replay_to(t_ms));
        match replayed {
            Ok(sim) => {
                self.update(|s| *s = sim);
                self.horizon_ms.update(|h| *h = (*h).max(t_ms));
                self.save();
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Stores the session (scenario, actions, time) in local storage.
    pub fn save(&self) {
        let now = self.sim.with_value(Sim::now_ms);
        self.session.update_value(|s| s.now_ms = now);
        if !self.persist {
            return;
        }
        let json = self.session.with_value(|s| serde_json::to_string(s).ok());
        if let (Some(json), Some(storage)) = (json, local_storage()) {
            let _ = storage.set_item(STORAGE_KEY, &json);
        }
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

fn local_storage() -> Option<web_sys::Storage> {
    // Natively (unit tests) there is no window; in a browser storage may be disabled.
    if cfg!(not(target_arch = "wasm32")) {
        return None;
    }
    web_sys::window()?.local_storage().ok().flatten()
}

/// Reads the saved session: `Ok(None)` when there is none.
fn load_saved() -> Result<Option<Session>, String> {
    let Some(json) = local_storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) else {
        return Ok(None);
    };
    parse_session(&json).map(Some)
}

/// Parses and checks a session from JSON (local storage, or an imported file later).
///
/// # Errors
/// Malformed JSON, or a session that does not build and replay, in words.
pub fn parse_session(json: &str) -> Result<Session, String> {
    let session: Session =
        serde_json::from_str(json).map_err(|e| format!("not a Kafka Lab session: {e}"))?;
    session.validate().map_err(|e| e.to_string())?;
    Ok(session)
}

fn clear_saved() {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

/// The lab state from context.
pub fn expect_lab() -> LabState {
    expect_context::<LabState>()
}
