//! The lab's reactive state: the engine's [`Lab`] kept in place (never cloned into a
//! signal), a version signal views subscribe to, and the page's own settings. Saves the
//! session on a command, a reset or a pause, not on every frame.

use leptos::prelude::*;

use crate::engine::view::EngineError;
use crate::lab::scenario::Scenario;
use crate::lab::Lab;
use std::rc::Rc;

use crate::engine::view::{self, Command, GroupId, MemberId, TopicId, Tp};
use crate::lab::level::Level;
use crate::lab::levels;
use crate::lab::link;
use crate::lab::Session;

/// Where the lab keeps the current session between visits.
pub const STORAGE_KEY: &str = "kafka-lab/session/v2";
/// Where the learner's progress lives.
pub const PROGRESS_KEY: &str = "kafka-lab/progress/v1";
/// Where the page keeps its settings (theme, presentation mode, speed).
pub const PREFS_KEY: &str = "kafka-lab/prefs/v1";
/// An older format nobody can read any more.
const OLD_STORAGE_KEY: &str = "kafka-lab/session/v1";

/// The simulation speeds the controls offer (× virtual time), logarithmic from 0.1× to 100×.
pub const SPEEDS: [f64; 7] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];
/// The first fast-forward speed (10×): the stage redraws less often from here on.
pub const FAST_SPEED_INDEX: usize = 4;

/// The page's colour theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// The system's.
    Auto,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    /// The value `<html data-theme>` takes.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn parse(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::Auto,
        }
    }
}

/// The drawer's tabs: the forms that are one click away from the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tab {
    /// Lessons and challenges.
    Levels,
    /// Producers, records by hand, faults.
    Produce,
    /// Groups and consumers.
    Groups,
    /// The setup (configuration).
    Setup,
    /// Every anomaly.
    Anomalies,
    /// `kafka-consumer-groups --describe`.
    Describe,
    /// The group protocol per member.
    Protocol,
    /// Predict the partition.
    Calculator,
    /// The same setup on a real cluster.
    Reproduce,
    /// Brokers, replicas, leaders and the ISR.
    Cluster,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 10] = [
        Tab::Levels,
        Tab::Produce,
        Tab::Groups,
        Tab::Setup,
        Tab::Anomalies,
        Tab::Describe,
        Tab::Protocol,
        Tab::Calculator,
        Tab::Reproduce,
        Tab::Cluster,
    ];

    /// Its label.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Levels => "Levels",
            Tab::Produce => "Produce",
            Tab::Groups => "Groups",
            Tab::Setup => "Setup",
            Tab::Anomalies => "Anomalies",
            Tab::Describe => "Describe",
            Tab::Protocol => "Protocol",
            Tab::Calculator => "Calculator",
            Tab::Reproduce => "Real Kafka",
            Tab::Cluster => "Cluster",
        }
    }

    /// A stable id for tests and URLs.
    pub fn id(self) -> &'static str {
        match self {
            Tab::Levels => "levels",
            Tab::Produce => "produce",
            Tab::Groups => "groups",
            Tab::Setup => "setup",
            Tab::Anomalies => "anomalies",
            Tab::Describe => "describe",
            Tab::Protocol => "protocol",
            Tab::Calculator => "calculator",
            Tab::Reproduce => "reproduce",
            Tab::Cluster => "cluster",
        }
    }
}

/// A one-line message shown above the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// True for a refused input, false for information.
    pub is_error: bool,
    /// The text.
    pub text: String,
    /// It offers the run as a file (a broken invariant: the run reproduces the bug).
    pub offers_run: bool,
}

/// The page's chrome: presentation mode, theme, help, the open drawer, and what the page
/// says (a notice, the screen reader's line, the last step in words).
#[derive(Clone, Copy)]
pub struct Chrome {
    /// Presentation mode: the stage fills the screen.
    pub presenting: RwSignal<bool>,
    /// The colour theme.
    pub theme: RwSignal<Theme>,
    /// The keyboard help is open.
    pub help_open: RwSignal<bool>,
    /// The open drawer tab, if any.
    pub drawer: RwSignal<Option<Tab>>,
    /// The last message for the user.
    pub notice: RwSignal<Option<Notice>>,
    /// What the screen reader hears (rebalances, crashes, duplicates, losses).
    pub announce: RwSignal<String>,
    /// What the last "step" did, in words.
    pub last_step: RwSignal<Option<String>>,
}

/// What the user has picked out: the group the stage shows, an anomaly, a record, the
/// consumer whose seek control is open.
#[derive(Clone, Copy)]
pub struct Selection {
    /// The group the stage shows.
    pub group: RwSignal<GroupId>,
    /// The anomaly selected: `(group, index)`.
    pub selected_anomaly: RwSignal<Option<(GroupId, usize)>>,
    /// The record tapped on the stage: `(partition, offset)`.
    pub selected_cell: RwSignal<Option<(Tp, u64)>>,
    /// The consumer whose seek control is open.
    pub seek_for: RwSignal<Option<(GroupId, MemberId)>>,
}

/// The level being played, the learner's progress, and the shipped levels.
#[derive(Clone, Copy)]
pub struct LevelRun {
    /// The level being played (`None`: the sandbox).
    pub level: RwSignal<Option<String>>,
    /// Hints shown in the current level.
    pub hints: RwSignal<usize>,
    /// The learner's answers to the level's predict rounds so far, in order (each is
    /// given before the reveal).
    pub answers: RwSignal<Vec<usize>>,
    /// Done and started levels, and predict scores (saved).
    pub progress: RwSignal<Progress>,
    levels: StoredValue<Option<Rc<Vec<Level>>>, LocalStorage>,
    /// The shipped levels have arrived (the page fetches them after the first paint).
    pub levels_ready: RwSignal<bool>,
    /// Why the levels could not be loaded, if they could not.
    pub levels_problem: RwSignal<Option<String>>,
    /// The level the saved run belongs to, restored once the levels arrive.
    pending_level: StoredValue<Option<String>>,
    /// A shared link (`#run=…`) read at startup, opened once the levels arrive.
    pending_link: StoredValue<Option<String>>,
}

/// Shared state, provided as context; `Copy`, so closures capture it freely.
/// The lab handle: the run (the engine's [`Lab`], kept in place), its version and clock,
/// play and speed; and the narrower parts each panel may take on their own ([`Chrome`],
/// [`Selection`], [`LevelRun`], the samples), each also provided as its own context.
#[derive(Clone, Copy)]
pub struct LabState {
    lab: StoredValue<Lab, LocalStorage>,
    persist: bool,
    version: RwSignal<u64>,
    /// Bumped every frame while playing: the cheap readouts (clock, counts) follow it,
    /// while the stage follows `version`, which fast-forward bumps less often.
    clock: RwSignal<u64>,
    /// Bumped when time jumps (seek, reset): animations restart from the new state.
    pub epoch: RwSignal<u64>,
    /// The play loop runs.
    pub playing: RwSignal<bool>,
    /// A skip ahead under way, `(from_ms, to_ms)` of virtual time (its own frame loop runs
    /// while this is set).
    pub skip: RwSignal<Option<(u64, u64)>>,
    /// Index into [`SPEEDS`].
    pub speed: RwSignal<usize>,
    /// The virtual length of one slice of [`Self::advance_within`], learned (ms).
    slice_ms: StoredValue<u64>,
    /// The virtual second the engine's rules were last checked at.
    health_checked_s: StoredValue<Option<u64>>,
    /// The page's chrome.
    pub chrome: Chrome,
    /// What is selected.
    pub selection: Selection,
    /// The level run.
    pub run: LevelRun,
    /// Samples for the plots of the shown group.
    pub samples: RwSignal<Samples>,
}

/// One sample of the shown group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Virtual time.
    pub t_ms: u64,
    /// Lag per partition (end offset minus committed; the end offset before any commit).
    pub lags: Vec<u64>,
    /// Records processed so far, counting repeats.
    pub processed: u64,
    /// Rebalances so far.
    pub rebalances: u32,
}

/// The samples and what they belong to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    pub(crate) group: Option<GroupId>,
    pub(crate) epoch: u64,
    /// Oldest first.
    pub points: Vec<Sample>,
}

/// What the learner has done, kept in local storage.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Levels solved.
    #[serde(default)]
    pub done: Vec<String>,
    /// Levels opened.
    #[serde(default)]
    pub started: Vec<String>,
    /// Predict rounds answered: `(round, right)`; a round is its level's id, with `/2`,
    /// `/3`... after it from the second round on.
    #[serde(default)]
    pub predictions: Vec<(String, bool)>,
}

impl LabState {
    /// A lab restored from local storage when a valid session is saved there, else the
    /// default scenario at t = 0. A corrupt saved session is discarded with a notice.
    pub fn new() -> Self {
        let (session, problem) = match load_saved() {
            Ok(Some(s)) => (s, None),
            Ok(None) => (Session::new(Scenario::default()), None),
            Err(e) => (Session::new(Scenario::default()), Some(e)),
        };
        let state = Self::from_session(session, true);
        if let Some(problem) = problem {
            clear_saved();
            state.error(format!(
                "The saved lab could not be restored ({problem}); starting fresh."
            ));
        }
        state.load_prefs();
        // The link is read now and taken out of the address at once (a later hash change is
        // another navigation); opening it, like the saved level, waits for the levels.
        let link = link_hash().filter(|h| h.starts_with("#run="));
        if link.is_some() {
            forget_link();
        }
        state.run.pending_link.set_value(link);
        state.start_loading_levels();
        state
    }

    /// Fetches the level files that sit next to the page (`levels/NAME.json`, copied there
    /// by the build), all at once, once the lab is painted; then opens a pending link or
    /// level.
    #[cfg(target_arch = "wasm32")]
    fn start_loading_levels(&self) {
        let state = *self;
        super::frame::after_first_paint(move || {
            leptos::task::spawn_local(async move {
                let result = fetch_levels().await;
                state.levels_arrived(result);
            });
        });
    }

    /// Natively (the UI's unit tests) the levels are embedded.
    #[cfg(not(target_arch = "wasm32"))]
    fn start_loading_levels(&self) {
        self.levels_arrived(levels::all().map_err(|e| e.to_string()));
    }

    /// Keeps the parsed levels (or why there are none), then does what waited for them.
    fn levels_arrived(&self, result: Result<Vec<Level>, String>) {
        match result {
            Ok(all) => {
                self.run.levels.set_value(Some(Rc::new(all)));
                self.run.levels_ready.set(true);
            }
            Err(e) => self.run.levels_problem.set(Some(capped(e))),
        }
        if let Some(id) = self.run.pending_level.get_value() {
            self.run.pending_level.set_value(None);
            if self.levels().iter().any(|l| l.id == id) {
                self.run.level.set(Some(id));
                self.watch_current_level();
            }
        }
        self.open_link();
    }

    /// Opens a run shared as a link (`#run=…`): in its level, or in the sandbox. A bad
    /// link leaves the lab as it was (the saved run, nothing lost) and says why.
    fn open_link(&self) {
        let Some(hash) = self.run.pending_link.get_value() else {
            return;
        };
        self.run.pending_link.set_value(None);
        let opened = link::decode(&hash, &self.levels())
            .map_err(|e| e.to_string())
            .and_then(|shared| self.open_run(shared.level, shared.session));
        match opened {
            Ok(()) => self.info("Opened the run from the link."),
            Err(e) => self.error(format!(
                "The link could not be opened ({e}); the lab is as you left it."
            )),
        }
    }

    /// Opens `session` in a level (its strip, hints from the first) or in the sandbox.
    ///
    /// # Errors
    /// A level this lab does not have, or a session that does not replay; nothing
    /// changes then.
    pub fn open_run(&self, level: Option<String>, session: Session) -> Result<(), String> {
        if let Some(id) = &level {
            if !self.levels().iter().any(|l| &l.id == id) {
                return Err(format!("there is no level {id}"));
            }
        }
        let chosen = level
            .as_ref()
            .and_then(|id| self.levels().iter().find(|l| &l.id == id).cloned());
        self.load_in(chosen.as_ref(), session)?;
        if let Some(id) = &level {
            self.run.progress.update(|p| {
                if !p.started.contains(id) {
                    p.started.push(id.clone());
                }
            });
            self.save_progress();
        }
        self.run.level.set(level);
        self.run.hints.set(0);
        self.run.answers.set(Vec::new());
        self.playing.set(false);
        self.selection.selected_anomaly.set(None);
        self.save_prefs();
        Ok(())
    }

    /// Replaces the run with `session` (an imported file or a link).
    ///
    /// # Errors
    /// A session that does not replay, in words; nothing changes then.
    pub fn load(&self, session: Session) -> Result<(), String> {
        self.load_in(self.current_level().as_ref(), session)
    }

    /// [`Self::load`] for a level's run: the lab is watched by the level's monitor.
    fn load_in(&self, level: Option<&Level>, session: Session) -> Result<(), String> {
        let lab = lab_for(level, session).map_err(|e| e.to_string())?;
        self.update(|l| *l = lab);
        self.after_jump();
        // Another history: an open explanation belonged to the old one.
        self.selection.selected_anomaly.set(None);
        self.save();
        Ok(())
    }

    /// Makes the lab watched by the current level's monitor (or by none in the sandbox),
    /// replaying it from t = 0 if it was not: its goals are sampled along the whole run.
    fn watch_current_level(&self) {
        let level = self.current_level();
        let watched = self.with_untracked(|l| l.monitor().is_some());
        if watched == level.is_some() {
            return;
        }
        let session = self.with_untracked(|l| l.session().clone());
        match lab_for(level.as_ref(), session) {
            Ok(lab) => self.update(|l| *l = lab),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Replays the run from t = 0 with a new setup, keeping the recorded actions and the
    /// current moment. Returns how many actions were kept.
    ///
    /// # Errors
    /// A setup the engine refuses, in words; nothing changes then.
    pub fn rebuild(&self, scenario: Scenario) -> Result<usize, String> {
        let (commands, now_ms, furthest_ms) = self.with_untracked(|l| {
            let s = l.session();
            (s.commands.clone(), l.now_ms(), s.furthest_ms)
        });
        let kept = commands.len();
        let session = Session {
            scenario,
            commands,
            now_ms,
            furthest_ms,
        };
        session.validate().map_err(|e| e.to_string())?;
        self.load(session)?;
        Ok(kept)
    }

    /// The run as JSON (what local storage and links hold).
    pub fn session_json(&self) -> String {
        self.with_untracked(|l| serde_json::to_string(l.session()).unwrap_or_default())
    }

    /// A link that opens this run (the address bar is left alone: a reload there must
    /// restore later work, not this moment).
    ///
    /// # Errors
    /// The run is too long for a link.
    pub fn share_link(&self) -> Result<String, String> {
        let level = self.current_level();
        let fragment = self
            .with_untracked(|l| link::encode(level.as_ref(), l.session()))
            .map_err(|e| format!("No link: {e}."))?;
        let base = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .map(|h| h.split('#').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        Ok(format!("{base}#run={fragment}"))
    }

    /// Clears what belonged to the old moment after time jumped.
    fn after_jump(&self) {
        // A jump ends a skip where the user left it.
        self.skip.set(None);
        self.epoch.update(|e| *e += 1);
        self.selection.selected_cell.set(None);
        self.chrome.last_step.set(None);
        let groups = self.with_untracked(|l| crate::engine::view::groups(l.sim()).len());
        if self.selection.group.get_untracked().index() >= groups {
            self.selection.group.set(GroupId(0));
            self.selection.selected_anomaly.set(None);
        }
    }

    /// A fresh default lab that never touches local storage.
    pub fn ephemeral() -> Self {
        Self::from_session(Session::new(Scenario::default()), false)
    }

    /// A lab of `session` (its scenario alone if the replay fails), paused.
    pub fn from_session(session: Session, persist: bool) -> Self {
        let lab = Lab::new(session)
            .or_else(|_| Lab::fresh(Scenario::default()))
            .expect("the default scenario is valid");
        LabState {
            lab: StoredValue::new_local(lab),
            persist,
            version: RwSignal::new(0),
            clock: RwSignal::new(0),
            epoch: RwSignal::new(0),
            playing: RwSignal::new(false),
            skip: RwSignal::new(None),
            speed: RwSignal::new(2),
            slice_ms: StoredValue::new(FIRST_SLICE_MS),
            health_checked_s: StoredValue::new(None),
            chrome: Chrome {
                presenting: RwSignal::new(false),
                theme: RwSignal::new(Theme::Auto),
                help_open: RwSignal::new(false),
                drawer: RwSignal::new(None),
                notice: RwSignal::new(None),
                announce: RwSignal::new(String::new()),
                last_step: RwSignal::new(None),
            },
            selection: Selection {
                group: RwSignal::new(GroupId(0)),
                selected_anomaly: RwSignal::new(None),
                selected_cell: RwSignal::new(None),
                seek_for: RwSignal::new(None),
            },
            run: LevelRun {
                level: RwSignal::new(None),
                hints: RwSignal::new(0),
                answers: RwSignal::new(Vec::new()),
                progress: RwSignal::new(load_progress()),
                levels: StoredValue::new_local(None),
                levels_ready: RwSignal::new(false),
                levels_problem: RwSignal::new(None),
                pending_level: StoredValue::new(None),
                pending_link: StoredValue::new(None),
            },
            samples: RwSignal::new(Default::default()),
        }
    }

    /// Reads the lab for a cheap readout: re-runs every frame while playing.
    pub fn with_clock<R>(&self, f: impl FnOnce(&Lab) -> R) -> R {
        self.clock.track();
        self.with(f)
    }

    /// Tells the cheap readouts that time moved (every frame while playing).
    pub fn tick(&self) {
        self.clock.update(|v| *v += 1);
    }

    /// Reads the lab; tracks the version so the caller re-runs after each change.
    pub fn with<R>(&self, f: impl FnOnce(&Lab) -> R) -> R {
        self.version.track();
        self.lab.with_value(f)
    }

    /// Reads the lab without tracking.
    pub fn with_untracked<R>(&self, f: impl FnOnce(&Lab) -> R) -> R {
        self.lab.with_value(f)
    }

    /// Changes the lab and notifies every view.
    pub fn update<R>(&self, f: impl FnOnce(&mut Lab) -> R) -> R {
        let out = self.lab.try_update_value(f).expect("lab state is alive");
        self.version.update(|v| *v += 1);
        out
    }

    /// Advances virtual time by up to `ms` in slices of at most `max_slice_ms`, stopping
    /// once `budget_ms` of wall time (read by `clock`) is spent, without notifying the views (see [`Self::refresh`]).
    /// Under a load the page cannot simulate in real time, virtual time runs slower
    /// instead of the page freezing. Returns the virtual ms actually run.
    pub fn advance_within(
        &self,
        ms: u64,
        budget_ms: f64,
        max_slice_ms: u64,
        clock: impl Fn() -> f64,
    ) -> u64 {
        let mut slice = self.slice_ms.get_value();
        let done = self
            .lab
            .try_update_value(|l| {
                let advance = |step| l.advance_by(step);
                run_within(ms, budget_ms, clock, (&mut slice, max_slice_ms), advance)
            })
            .expect("lab state is alive");
        self.slice_ms.set_value(slice);
        done
    }

    /// Tells every view the lab changed (after [`Self::advance_within`]).
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
        self.check_health();
    }

    /// The scenario the lab started from.
    pub fn scenario(&self) -> Scenario {
        self.with(|l| l.scenario().clone())
    }

    /// Rebuilds the lab from `scenario` at t = 0 (exactly what a fresh load does).
    pub fn reset(&self, scenario: Scenario) {
        match lab_for(self.current_level().as_ref(), Session::new(scenario)) {
            Ok(lab) => {
                self.playing.set(false);
                self.update(|l| *l = lab);
                self.after_jump();
                self.selection.group.set(GroupId(0));
                self.selection.selected_anomaly.set(None);
                self.save();
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Gives the engine a command now and records it. A command after a seek back cuts
    /// the recorded future, and the page says so.
    ///
    /// # Errors
    /// The engine's refusal, unchanged (nothing is recorded then).
    pub fn command(&self, command: Command) -> Result<(), EngineError> {
        if let Some(level) = self.current_level() {
            if !level.allows(&command) {
                return Err(EngineError::InvalidCommand(format!(
                    "Level {} does not use \"{}\". Go back to the sandbox (Levels tab) to try anything.",
                    level.id,
                    command.name()
                )));
            }
        }
        let applied = self.update(|l| l.command(command))?;
        if applied.forked {
            let t = self.with_untracked(|l| l.now_ms());
            self.info(format!(
                "A new branch from t = {:.1} s: the recorded actions after this moment were replaced.",
                t as f64 / 1000.0
            ));
        }
        self.save();
        Ok(())
    }

    /// Gives a command and shows a refusal as the notice.
    pub fn act(&self, command: Command) {
        if let Err(e) = self.command(command) {
            self.error(e.to_string());
        }
    }

    /// Advances virtual time by `ms`, replaying recorded actions on the way.
    pub fn advance(&self, ms: u64) {
        self.update(|l| l.advance_by(ms));
        // A jump by a button is remembered at once; the play loop saves when it pauses.
        if !self.playing.get_untracked() {
            self.save();
        }
    }

    /// Runs the next event and says what it was.
    pub fn step(&self) {
        let events = self.update(|l| l.step());
        self.save();
        let words = self.with_untracked(|l| {
            crate::engine::view::step_words(
                l.sim(),
                &super::format::secs(l.sim().now_ms()),
                &events,
            )
        });
        self.chrome.last_step.set(Some(words));
    }

    /// Goes to `t_ms` (replayed from the nearest checkpoint).
    pub fn seek(&self, t_ms: u64) {
        match self.update(|l| l.seek(t_ms)) {
            Ok(()) => {
                self.after_jump();
                self.save();
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Stores the session (scenario, actions, time) and the page settings.
    pub fn save(&self) {
        self.check_health();
        if !self.persist {
            return;
        }
        let json = self.with_untracked(|l| serde_json::to_string(l.session()).ok());
        if let (Some(json), Some(storage)) = (json, local_storage()) {
            let _ = storage.set_item(STORAGE_KEY, &json);
        }
        self.save_prefs();
    }

    fn save_prefs(&self) {
        if !self.persist {
            return;
        }
        let prefs = serde_json::json!({
            "theme": self.chrome.theme.get_untracked().name(),
            "presenting": self.chrome.presenting.get_untracked(),
            "speed": self.speed.get_untracked(),
            "level": self.run.level.get_untracked(),
        });
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(PREFS_KEY, &prefs.to_string());
        }
    }

    fn load_prefs(&self) {
        let Some(json) = local_storage().and_then(|s| s.get_item(PREFS_KEY).ok().flatten()) else {
            return;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) else {
            return;
        };
        if let Some(t) = v["theme"].as_str() {
            self.chrome.theme.set(Theme::parse(t));
        }
        if let Some(p) = v["presenting"].as_bool() {
            self.chrome.presenting.set(p);
        }
        if let Some(s) = v["speed"].as_u64() {
            self.speed.set((s as usize).min(SPEEDS.len() - 1));
        }
        // The level the saved run belongs to (the run itself is the saved session), once
        // the levels arrive.
        if let Some(id) = v["level"].as_str() {
            self.run.pending_level.set_value(Some(id.to_owned()));
        }
    }

    /// Remembers the page settings (called when they change).
    pub fn prefs_changed(&self) {
        self.save_prefs();
    }

    /// The current speed factor.
    pub fn speed_factor(&self) -> f64 {
        SPEEDS[self.speed.get_untracked().min(SPEEDS.len() - 1)]
    }

    /// The topic shown first.
    pub fn first_topic(&self) -> TopicId {
        TopicId(0)
    }

    /// Shows an error message.
    pub fn error(&self, text: impl Into<String>) {
        self.chrome.notice.set(Some(Notice {
            is_error: true,
            text: capped(text.into()),
            offers_run: false,
        }));
    }

    /// Checks the engine's own rules (after a change, and once per virtual second while
    /// playing): a broken one pauses the lab and says so, with the run to download.
    pub fn check_health(&self) {
        let second = self.with_untracked(|l| l.now_ms() / 1000);
        if self.health_checked_s.get_value() == Some(second) && self.playing.get_untracked() {
            return;
        }
        self.health_checked_s.set_value(Some(second));
        if let Err(e) = self.with_untracked(|l| view::health(l.sim())) {
            self.playing.set(false);
            self.chrome.notice.set(Some(Notice {
                is_error: true,
                text: format!(
                    "The simulation broke one of its own rules ({e}). That is a bug in Kafka Lab, not Kafka's behaviour: please download this run and report it."
                ),
                offers_run: true,
            }));
        }
    }

    /// Shows an informational message.
    pub fn info(&self, text: impl Into<String>) {
        self.chrome.notice.set(Some(Notice {
            is_error: false,
            text: capped(text.into()),
            offers_run: false,
        }));
    }
}

/// The longest notice shown, in characters: a message that quotes a pasted or stored
/// value could otherwise be megabytes, and laying that out freezes the page.
pub const NOTICE_MAX_CHARS: usize = 400;

/// `text`, cut at [`NOTICE_MAX_CHARS`] with an ellipsis.
pub fn capped(text: String) -> String {
    match text.char_indices().nth(NOTICE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl LabState {
    /// Every shipped level, once they have arrived (none before; a reactive reader runs
    /// again when they come).
    pub fn levels(&self) -> Rc<Vec<Level>> {
        self.run.levels_ready.track();
        self.run.levels.get_value().unwrap_or_default()
    }

    /// The level being played, if any.
    pub fn current_level(&self) -> Option<Level> {
        let id = self.run.level.get_untracked()?;
        self.levels().iter().find(|l| l.id == id).cloned()
    }

    /// Opens a level at its start (`solution`: replays the reference solution instead).
    pub fn open_level(&self, id: &str, solution: bool) {
        let Some(level) = self.levels().iter().find(|l| l.id == id).cloned() else {
            self.error(format!("There is no level {id}."));
            return;
        };
        let session = if solution {
            level.solution_session()
        } else {
            level.start_session()
        };
        match session {
            Ok(mut session) => {
                if solution {
                    session.now_ms = 0;
                }
                if let Err(e) = self.open_run(Some(level.id.clone()), session) {
                    self.error(e);
                    return;
                }
                self.selection.group.set(GroupId(0));
                if solution {
                    self.info("The reference solution is loaded: press Play to watch it.");
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Back to the sandbox (the default scenario at t = 0).
    pub fn leave_level(&self) {
        self.run.level.set(None);
        self.reset(Scenario::default());
        self.save_prefs();
    }

    /// A level was solved: remember it.
    pub fn mark_done(&self, id: &str) {
        if self
            .run
            .progress
            .with_untracked(|p| p.done.iter().any(|d| d == id))
        {
            return;
        }
        self.run.progress.update(|p| p.done.push(id.to_owned()));
        self.save_progress();
        self.chrome.announce.set(format!("Level {id} solved."));
    }

    /// Records the answer to round `round` (from 0) of level `id`.
    pub fn predicted(&self, id: &str, round: usize, choice: usize, right: bool) {
        let key = if round == 0 {
            id.to_owned()
        } else {
            format!("{id}/{}", round + 1)
        };
        self.run.answers.update(|a| {
            if a.len() == round {
                a.push(choice);
            }
        });
        self.run.progress.update(|p| {
            p.predictions.retain(|(l, _)| *l != key);
            p.predictions.push((key, right));
        });
        self.save_progress();
    }

    /// The refusal for changing a setting in the current level, if it is not allowed.
    pub fn setting_refused(&self, name: &str) -> Option<String> {
        let level = self.current_level()?;
        (!level.allows_setting(name)).then(|| {
            format!(
                "Level {} does not let you change {name}. Go back to the sandbox to try it.",
                level.id
            )
        })
    }

    /// Progress as JSON, for export.
    pub fn progress_json(&self) -> String {
        self.run
            .progress
            .with_untracked(|p| serde_json::to_string(p).unwrap_or_default())
    }

    /// Replaces progress from an imported JSON.
    ///
    /// # Errors
    /// Not a progress file.
    pub fn import_progress(&self, json: &str) -> Result<(), String> {
        if json.len() > 200_000 {
            return Err("it is larger than 200 KB".into());
        }
        let p: Progress =
            serde_json::from_str(json).map_err(|e| format!("not a progress file: {e}"))?;
        self.run.progress.set(p);
        self.save_progress();
        Ok(())
    }

    fn save_progress(&self) {
        if !self.persist {
            return;
        }
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(PROGRESS_KEY, &self.progress_json());
        }
    }
}

fn load_progress() -> Progress {
    local_storage()
        .and_then(|s| s.get_item(PROGRESS_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

impl Default for LabState {
    fn default() -> Self {
        Self::new()
    }
}

/// The shipped level files, fetched from `levels/` beside the page, all requests at once.
#[cfg(target_arch = "wasm32")]
async fn fetch_levels() -> Result<Vec<Level>, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let requests: Vec<_> = levels::NAMES
        .iter()
        .map(|name| {
            (
                name,
                JsFuture::from(window.fetch_with_str(&format!("levels/{name}"))),
            )
        })
        .collect();
    let mut texts = Vec::with_capacity(requests.len());
    for (name, request) in requests {
        let failed = |why: String| format!("{name}: {why}");
        let response: web_sys::Response = request
            .await
            .map_err(|_| failed("the request failed".into()))?
            .dyn_into()
            .map_err(|_| failed("not a response".into()))?;
        if !response.ok() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let text = JsFuture::from(response.text().map_err(|_| failed("no body".into()))?)
            .await
            .map_err(|_| failed("the body could not be read".into()))?
            .as_string()
            .ok_or_else(|| failed("the body is not text".into()))?;
        texts.push((*name, text));
    }
    levels::parse_all(texts.iter().map(|(n, t)| (*n, t.as_str()))).map_err(|e| e.to_string())
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
    let storage = local_storage();
    if let Some(s) = &storage {
        if s.get_item(OLD_STORAGE_KEY).ok().flatten().is_some() {
            let _ = s.remove_item(OLD_STORAGE_KEY);
            return Err("it was saved by an older version of the lab".into());
        }
    }
    let Some(json) = storage.and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) else {
        return Ok(None);
    };
    parse_session(&json).map(Some)
}

/// Parses and checks the session this browser saved (local storage). Runs handed over by
/// someone else go through `lab::level::parse_run` or `lab::link`, which also refuse
/// runs too heavy to open.
///
/// # Errors
/// Malformed JSON, or a session that does not build and replay, in words.
pub fn parse_session(json: &str) -> Result<Session, String> {
    if json.len() > 4_000_000 {
        return Err("it is larger than 4 MB".into());
    }
    let session: Session =
        serde_json::from_str(json).map_err(|e| format!("not a Kafka Lab session: {e}"))?;
    session.validate().map_err(|e| e.to_string())?;
    Ok(session)
}

fn link_hash() -> Option<String> {
    if cfg!(not(target_arch = "wasm32")) {
        return None;
    }
    web_sys::window()?
        .location()
        .hash()
        .ok()
        .filter(|h| !h.is_empty())
}

fn forget_link() {
    if let Some(w) = web_sys::window() {
        let path = w.location().pathname().unwrap_or_default();
        if let Ok(history) = w.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
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

/// The page's chrome from context (for panels that need nothing else).
pub fn expect_chrome() -> Chrome {
    expect_context::<Chrome>()
}

/// The selection from context.
pub fn expect_selection() -> Selection {
    expect_context::<Selection>()
}

/// The level run from context.
pub fn expect_run() -> LevelRun {
    expect_context::<LevelRun>()
}

/// Provides the lab and each of its narrow parts as contexts.
pub fn provide_lab(lab: LabState) {
    provide_context(lab);
    provide_context(lab.chrome);
    provide_context(lab.selection);
    provide_context(lab.run);
}

/// Runs `advance` over `ms` of virtual time in slices while the wall time read by `clock`
/// stays within `budget_ms`, and returns the virtual ms run. A slice runs only if the last
/// one's cost still fits, so a frame stops *before* it overruns instead of after; the first
/// slice always runs, so time never stalls however slow a slice is.
///
/// `slice` is the virtual length of a slice, learned from frame to frame, and at most
/// `max_slice`: it doubles while a slice costs under a sixteenth of the budget and shrinks
/// in proportion when one costs more than a quarter, so a quiet week and a busy second both
/// fill a frame without overrunning it. Play caps it at a 32nd of the frame's virtual time
/// (a load's bursts stay small); a skip lets it grow to an hour.
fn run_within(
    ms: u64,
    budget_ms: f64,
    clock: impl Fn() -> f64,
    (slice, max_slice): (&mut u64, u64),
    mut advance: impl FnMut(u64),
) -> u64 {
    let max_slice = max_slice.clamp(MIN_SLICE_MS, MAX_SLICE_MS);
    *slice = (*slice).min(max_slice);
    let start = clock();
    let target = budget_ms / 4.0;
    let mut done = 0;
    let mut last_cost = 0.0;
    while done < ms {
        let before = clock();
        if done > 0 && before - start + last_cost > budget_ms {
            break;
        }
        let step = (*slice).max(MIN_SLICE_MS).min(ms - done);
        advance(step);
        done += step;
        last_cost = clock() - before;
        if step == *slice {
            if last_cost < target / 4.0 {
                *slice = (*slice * 2).min(max_slice);
            } else if last_cost > target {
                *slice = ((*slice as f64 * target / last_cost) as u64).max(MIN_SLICE_MS);
            }
        }
    }
    done
}

/// The shortest slice of virtual time (ms): below it a frame's overhead dominates.
const MIN_SLICE_MS: u64 = 5;
/// The longest slice (ms): an hour, so a quiet stretch still reports its progress.
pub const MAX_SLICE_MS: u64 = 3_600_000;
/// The slice a fresh page starts from (ms).
const FIRST_SLICE_MS: u64 = 50;

/// A lab of `session`, watched by `level`'s monitor when a level is played.
fn lab_for(level: Option<&Level>, session: Session) -> Result<Lab, EngineError> {
    match level {
        Some(l) => Lab::watching(session, l.monitor()),
        None => Lab::new(session),
    }
}

#[cfg(test)]
mod tests {
    use super::run_within;
    use std::cell::Cell;

    /// Runs `run_within` as play does (slices at most a 32nd of the frame's 1,670 ms) with a
    /// fake clock where every slice costs `cost_ms`, from a slice of 52 ms; returns the
    /// virtual ms run, the slices and the wall time spent.
    fn run(ms: u64, budget_ms: f64, cost_ms: f64) -> (u64, Vec<u64>, f64) {
        let now = Cell::new(0.0);
        let mut steps = Vec::new();
        let mut slice = 52;
        let done = run_within(
            ms,
            budget_ms,
            || now.get(),
            (&mut slice, 1_670 / 32),
            |step| {
                steps.push(step);
                now.set(now.get() + cost_ms);
            },
        );
        (done, steps, now.get())
    }

    #[test]
    fn cheap_slices_run_the_whole_frame() {
        let (done, steps, spent) = run(1_670, 5.0, 0.1);
        assert_eq!(done, 1_670);
        assert_eq!(steps.iter().sum::<u64>(), 1_670);
        // Cheap, but play's slices never grow past a 32nd of the frame.
        assert!(steps.iter().all(|&s| s <= 52), "{steps:?}");
        assert_eq!(steps.len(), 33);
        assert!(spent <= 5.0, "{spent}");
    }

    #[test]
    fn stops_before_a_slice_would_overrun() {
        // 1.5 ms a slice in a 5 ms budget: three slices (4.5 ms), not a fourth (6 ms); each
        // costs more than a quarter of the budget, so the slice shrinks.
        let (done, steps, spent) = run(1_670, 5.0, 1.5);
        assert_eq!(steps, vec![52, 43, 35]);
        assert_eq!(done, 52 + 43 + 35);
        assert!(spent <= 5.0, "{spent}");
    }

    #[test]
    fn one_slice_always_runs() {
        let (done, steps, _) = run(1_670, 5.0, 40.0);
        assert_eq!(steps, vec![52]);
        assert_eq!(done, 52);
        // Below the smallest slice, the frame's whole time runs.
        assert_eq!(run(3, 5.0, 40.0).0, 3);
    }

    /// A quiet stretch learns long slices (a week skips in few frames); a costly one
    /// comes back to short ones within a frame.
    #[test]
    fn the_slice_follows_the_cost() {
        let now = Cell::new(0.0);
        let mut slice = 50;
        for _ in 0..3 {
            run_within(
                u64::MAX,
                8.0,
                || now.get(),
                (&mut slice, super::MAX_SLICE_MS),
                |_| now.set(now.get() + 0.01),
            );
        }
        assert_eq!(slice, super::MAX_SLICE_MS);
        run_within(
            u64::MAX,
            8.0,
            || now.get(),
            (&mut slice, super::MAX_SLICE_MS),
            |step| now.set(now.get() + step as f64 / 100_000.0),
        );
        // One slice of an hour cost 36 ms: the next is sized to a quarter of the budget.
        assert_eq!(slice, 200_000);
    }
}
