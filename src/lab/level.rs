//! Levels: lessons and challenges as data. A level is a start (a scenario with rigged
//! faults), the actions a learner may take, narration, predict rounds, a goal made of
//! predicates over the read model, three hints and a reference solution.
//!
//! One runner grades everything: the level test, `kafka-lab-check` and the page's
//! checklist all build the start here, replay a run and evaluate the same goal. The file
//! format is documented in `src/lab/README.md`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::goal::{compile, known_setting, Known, Monitor, Predicate};
use super::history::{Session, MAX_TIME_MS};
use super::scenario::Scenario;
use super::Lab;
use crate::engine::command::Command;
use crate::engine::error::EngineError;
use crate::engine::replication::ReplicationConfig;

pub use super::goal::{Check, Goal, Op, Take, Tracker, METRICS};
use crate::engine::event::EventKind;

/// The only level format this build reads.
pub const FORMAT: u32 = 1;
/// A level file larger than this is refused (levels are small).
pub const MAX_LEVEL_BYTES: usize = 200_000;

/// Lesson or challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Guided: narration explains while the learner follows.
    Lesson,
    /// A goal to reach on one's own, with hints.
    Challenge,
}

/// A command at a time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timed {
    /// Virtual time, ms.
    pub at_ms: u64,
    /// What happens.
    pub command: Command,
}

/// The start: settings by name (as the Setup panel takes them), extra commands at t = 0,
/// and timed commands that force the teaching case.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// `name → value`, e.g. `"partitions": "3"`, `"commit.mode": "after-batch"`,
    /// `"producer.enable.idempotence": "false"`. Applied in name order to the default.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// More setup at t = 0 (groups, producers, topics).
    #[serde(default)]
    pub setup: Vec<Command>,
    /// Timed faults and commands that are part of the level.
    #[serde(default)]
    pub rig: Vec<Timed>,
}

/// One line of narration, shown once its moment comes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narration {
    /// Shown from this virtual time on (default 0)...
    #[serde(default)]
    pub at_ms: u64,
    /// ...or from the first event of this kind (see [`EventKind`]), whichever is given.
    #[serde(default)]
    pub on: Option<String>,
    /// The text.
    pub text: String,
}

/// A question answered before Play, revealed by the run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    /// The question.
    pub question: String,
    /// The choices.
    pub choices: Vec<String>,
    /// The index of the right choice.
    pub answer: usize,
    /// Why, shown after the reveal.
    pub explain: String,
}

/// The reference solution: settings changed before the start, then timed commands.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Solution {
    /// Settings the learner changes (names as in [`Start::config`]).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Actions, at their times.
    #[serde(default)]
    pub commands: Vec<Timed>,
}

/// A wrong answer a learner is likely to try: what they change, why it does not solve
/// the level, and what the page tells a learner whose run fails the same way.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongAnswer {
    /// A short name: "max.poll.records alone".
    pub name: String,
    /// Settings changed before the start (names as in [`Start::config`]).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Actions, at their times.
    #[serde(default)]
    pub commands: Vec<Timed>,
    /// The goals it fails (their `id`, or their `what`): exactly these, which is how the
    /// page recognises a learner's run that failed the same way.
    pub fails: Vec<String>,
    /// Why it is wrong, for the teacher reading the file.
    pub why: String,
    /// What the page shows the learner, in the learner's terms.
    pub feedback: String,
}

/// A level file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Must be [`FORMAT`].
    pub format: u32,
    /// Stable id, e.g. `L13`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Lesson or challenge.
    pub kind: Kind,
    /// The level map's group, e.g. "Delivery guarantees".
    pub topic: String,
    /// Where the seeds teach this, e.g. "004 §8".
    pub seed_section: String,
    /// What it teaches, in one sentence.
    pub teaches: String,
    /// The start.
    #[serde(default)]
    pub start: Start,
    /// Action kinds the learner may use: command names (`CrashConsumer`...) and
    /// `config:name` (or `config:*`) for settings.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// Narration, in order.
    #[serde(default)]
    pub narration: Vec<Narration>,
    /// Predict-before-reveal rounds.
    #[serde(default)]
    pub predict: Vec<Predict>,
    /// The predict rounds are a graded quiz: the level counts as solved only with at least
    /// this many answered right (the page grades it; a run file carries no answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiz_pass: Option<usize>,
    /// Every predicate must hold at `check_at_ms`.
    pub goal: Vec<Goal>,
    /// When the goal is checked, ms.
    pub check_at_ms: u64,
    /// The goals the untouched start must fail (their `id` or `what`): the reason the
    /// level teaches, not merely an action nobody took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untouched_fails: Vec<String>,
    /// Wrong answers a learner is likely to try; each must not solve the level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrong_answers: Vec<WrongAnswer>,
    /// Three hints: the concept, the panel, the fix.
    pub hints: Vec<String>,
    /// The reference solution.
    pub solution: Solution,
    /// Golf: the fewest actions (commands plus changed settings) that solve it.
    #[serde(default)]
    pub par: Option<u32>,
    /// The goal, typed: built by [`Level::parse`].
    #[serde(skip)]
    predicates: Arc<Vec<Predicate>>,
}

/// What a run earned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Every predicate, in order.
    pub checks: Vec<Check>,
    /// When the goal was checked.
    pub at_ms: u64,
    /// Actions used (commands plus changed settings), for golf.
    pub actions: u32,
}

impl Verdict {
    /// Every predicate holds.
    pub fn solved(&self) -> bool {
        self.checks.iter().all(|c| c.holds)
    }

    /// `solved (checked at t = 60.0 s)`, or `not solved: <failed predicates with numbers>`.
    pub fn line(&self) -> String {
        if self.solved() {
            format!(
                "solved (checked at t = {:.1} s, {} action{})",
                self.at_ms as f64 / 1000.0,
                self.actions,
                if self.actions == 1 { "" } else { "s" }
            )
        } else {
            let failed: Vec<String> = self
                .checks
                .iter()
                .filter(|c| !c.holds)
                .map(|c| format!("{} (got {})", c.label, c.actual))
                .collect();
            format!(
                "not solved: {} at t = {:.1} s",
                failed.join("; "),
                self.at_ms as f64 / 1000.0
            )
        }
    }
}

/// Why a level or a run could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelError(pub String);

impl std::fmt::Display for LevelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LevelError {}

impl From<EngineError> for LevelError {
    fn from(e: EngineError) -> Self {
        LevelError(e.to_string())
    }
}

impl Level {
    /// Reads and checks a level file.
    ///
    /// # Errors
    /// Malformed JSON, a different format, or a level that does not hold together, in
    /// words naming the field.
    pub fn parse(json: &str) -> Result<Level, LevelError> {
        if json.len() > MAX_LEVEL_BYTES {
            return Err(LevelError(format!(
                "a level file is at most {MAX_LEVEL_BYTES} bytes"
            )));
        }
        let mut level: Level = serde_json::from_str(json)
            .map_err(|e| LevelError(format!("not a Kafka Lab level: {e}")))?;
        // The goal first, so its mistakes are reported with their line.
        level.predicates = Arc::new(level.compile_goals(Some(json))?);
        level.validate()?;
        Ok(level)
    }

    /// The groups and topics this level can have: its start's, and those its solution
    /// and wrong answers create.
    fn known(&self) -> Known {
        let mut known = Known {
            groups: vec!["payments".into()],
            topics: vec!["orders".into()],
        };
        let commands = self
            .start
            .setup
            .iter()
            .chain(self.start.rig.iter().map(|t| &t.command))
            .chain(self.solution.commands.iter().map(|t| &t.command))
            .chain(
                self.wrong_answers
                    .iter()
                    .flat_map(|w| w.commands.iter().map(|t| &t.command)),
            );
        for c in commands {
            match c {
                Command::AddGroup { group_id, .. } => known.groups.push(group_id.clone()),
                Command::CreateTopic { name, .. } => known.topics.push(name.clone()),
                _ => {}
            }
        }
        known
    }

    fn compile_goals(&self, json: Option<&str>) -> Result<Vec<Predicate>, LevelError> {
        compile(&self.goal, self.check_at_ms, &self.known(), json)
            .map_err(|e| LevelError(format!("level {}: {e}", self.id)))
    }

    /// The goal, typed.
    pub fn predicates(&self) -> Arc<Vec<Predicate>> {
        if self.predicates.is_empty() && !self.goal.is_empty() {
            // A level built in code rather than parsed: compiled here (validated already).
            return Arc::new(self.compile_goals(None).unwrap_or_default());
        }
        self.predicates.clone()
    }

    /// The index of the goal a name refers to (`id`, or `what` when unique).
    fn goal_index(&self, name: &str) -> Result<usize, String> {
        let hits: Vec<usize> = self
            .goal
            .iter()
            .enumerate()
            .filter(|(_, g)| g.name() == name)
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(format!("no goal is named `{name}`")),
            _ => Err(format!(
                "several goals are named `{name}`: give them an `id`"
            )),
        }
    }

    /// Checks that the level holds together (the goal names real measures, the start
    /// builds, three hints...).
    ///
    /// # Errors
    /// The first problem, in words.
    pub fn validate(&self) -> Result<(), LevelError> {
        let bad = |s: String| Err(LevelError(format!("level {}: {s}", self.id)));
        if self.format != FORMAT {
            return bad(format!(
                "format {} (this lab reads format {FORMAT})",
                self.format
            ));
        }
        if self.hints.len() != 3 {
            return bad(format!("has {} hints; a level has three", self.hints.len()));
        }
        if self.goal.is_empty() {
            return bad("has no goal".into());
        }
        if self.check_at_ms == 0 || self.check_at_ms > MAX_TIME_MS {
            return bad(format!("check_at_ms must be between 1 and {MAX_TIME_MS}"));
        }
        if let Some(k) = self.quiz_pass {
            if k == 0 || k > self.predict.len() {
                return bad(format!(
                    "quiz_pass is {k}; it must be between 1 and the {} predict rounds",
                    self.predict.len()
                ));
            }
        }
        self.compile_goals(None)?;
        for name in &self.untouched_fails {
            if let Err(e) = self.goal_index(name) {
                return bad(format!("untouched_fails: {e}"));
            }
        }
        for w in &self.wrong_answers {
            if w.fails.is_empty() {
                return bad(format!(
                    "the wrong answer \"{}\" names no goal it fails",
                    w.name
                ));
            }
            for name in &w.fails {
                if let Err(e) = self.goal_index(name) {
                    return bad(format!("the wrong answer \"{}\": {e}", w.name));
                }
            }
            for name in w.config.keys() {
                if !known_setting(name) {
                    return bad(format!(
                        "the wrong answer \"{}\" changes `{name}`, which is not a setting",
                        w.name
                    ));
                }
            }
        }
        for n in &self.narration {
            if let Some(k) = &n.on {
                if EventKind::from_name(k).is_none() {
                    return bad(format!(
                        "narration waits on `{k}`, which is not an event kind"
                    ));
                }
            }
        }
        for p in &self.predict {
            if p.answer >= p.choices.len() {
                return bad(format!(
                    "a predict round's answer {} has no choice",
                    p.answer
                ));
            }
        }
        for a in &self.allowed {
            if let Some(name) = a.strip_prefix("config:") {
                let family = name.strip_suffix(".*").is_some_and(|f| {
                    matches!(f, "consumer" | "producer" | "cluster" | "topic" | "lab")
                });
                if name != "*" && !family && !known_setting(name) {
                    return bad(format!(
                        "allows `{a}`, which is not a setting or a family of them"
                    ));
                }
            } else if !COMMAND_KINDS.contains(&a.as_str()) {
                return bad(format!("allows `{a}`, which is not an action"));
            }
        }
        self.scenario()?;
        self.solved_scenario()?;
        Ok(())
    }

    /// The level's start as a scenario.
    ///
    /// # Errors
    /// A setting or command the engine refuses.
    pub fn scenario(&self) -> Result<Scenario, LevelError> {
        let mut s = Scenario::default();
        apply_config(&mut s, &self.start.config)?;
        s.setup = self.start.setup.clone();
        s.rig = self
            .start
            .rig
            .iter()
            .map(|t| (t.at_ms, t.command.clone()))
            .collect();
        s.validate()?;
        s.build()?;
        Ok(s)
    }

    fn solved_scenario(&self) -> Result<Scenario, LevelError> {
        self.changed_scenario(&self.solution.config)
    }

    fn changed_scenario(&self, config: &BTreeMap<String, String>) -> Result<Scenario, LevelError> {
        let mut s = self.scenario()?;
        apply_config(&mut s, config)?;
        s.validate()?;
        Ok(s)
    }

    fn session_of(
        &self,
        config: &BTreeMap<String, String>,
        commands: &[Timed],
    ) -> Result<Session, LevelError> {
        let mut session = Session::new(self.changed_scenario(config)?);
        for t in commands {
            session.record(t.at_ms, t.command.clone())?;
        }
        session.now_ms = self.check_at_ms;
        Ok(session)
    }

    /// A wrong answer, as a run.
    ///
    /// # Errors
    /// A wrong answer the engine refuses.
    pub fn wrong_answer_session(&self, w: &WrongAnswer) -> Result<Session, LevelError> {
        self.session_of(&w.config, &w.commands)
    }

    /// The wrong answer a failed run is: one that changes the same settings to the same
    /// values and takes the same actions (whenever it takes them). A run that only fails
    /// the same goals is not matched: its feedback would explain a mistake it did not make.
    pub fn wrong_answer_for(&self, run: &Session, verdict: &Verdict) -> Option<&WrongAnswer> {
        if verdict.solved() {
            return None;
        }
        // Actions compared without their times, in a stable order (as the JSON a session
        // stores them in: no Debug code in the bundle for this).
        let actions = |commands: &mut dyn Iterator<Item = &Command>| {
            let mut k: Vec<String> = commands
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect();
            k.sort_unstable();
            k
        };
        let run_actions = actions(&mut run.commands.iter().map(|(_, c)| c));
        let start = self.scenario().ok()?;
        let (mine, _) = start.changes_to(&run.scenario).ok()?;
        self.wrong_answers.iter().find(|w| {
            let Ok(theirs) = self.changed_scenario(&w.config) else {
                return false;
            };
            let Ok((their_names, _)) = start.changes_to(&theirs) else {
                return false;
            };
            mine == their_names
                && mine.iter().all(|n| run.scenario.get(n) == theirs.get(n))
                && run_actions == actions(&mut w.commands.iter().map(|t| &t.command))
        })
    }

    /// The quiz's score so far, `(right, needed)`, for a level whose predict rounds are
    /// graded; `answers` are the chosen indices, round by round.
    pub fn quiz_score(&self, answers: &[usize]) -> Option<(usize, usize)> {
        let needed = self.quiz_pass?;
        let right = self
            .predict
            .iter()
            .zip(answers)
            .filter(|(p, a)| p.answer == **a)
            .count();
        Some((right, needed))
    }

    /// The quiz is passed (or there is none): every round answered, enough of them right.
    pub fn quiz_passed(&self, answers: &[usize]) -> bool {
        self.quiz_score(answers)
            .is_none_or(|(right, needed)| answers.len() >= self.predict.len() && right >= needed)
    }

    /// The goals a verdict failed, by the names the file gives them.
    pub fn failed_goals(&self, verdict: &Verdict) -> Vec<String> {
        verdict
            .checks
            .iter()
            .zip(&self.goal)
            .filter(|(c, _)| !c.holds)
            .map(|(_, g)| g.name().to_owned())
            .collect()
    }

    /// A monitor for this level's goal, to attach to a lab ([`Lab::watch`]).
    pub fn monitor(&self) -> Monitor {
        Monitor::new(self.predicates(), self.check_at_ms)
    }

    /// The untouched start, as a run (what a learner who does nothing gets).
    ///
    /// # Errors
    /// A start the engine refuses.
    pub fn start_session(&self) -> Result<Session, LevelError> {
        Ok(Session::new(self.scenario()?))
    }

    /// The reference solution, as a run.
    ///
    /// # Errors
    /// A solution the engine refuses.
    pub fn solution_session(&self) -> Result<Session, LevelError> {
        self.session_of(&self.solution.config, &self.solution.commands)
    }

    /// Whether a command kind is allowed.
    pub fn allows(&self, command: &Command) -> bool {
        self.allowed.iter().any(|a| a == command_kind(command))
    }

    /// Whether changing a setting is allowed: by its name, by its family
    /// (`config:consumer.*`, `config:producer.*`, `config:cluster.*`, `config:topic.*`,
    /// `config:lab.*`; see
    /// [`setting_family`]) or by `config:*`.
    pub fn allows_setting(&self, name: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| match a.strip_prefix("config:") {
                Some("*") => true,
                Some(family) if family.ends_with(".*") => {
                    setting_family(name) == Some(&family[..family.len() - 2])
                }
                Some(n) => n == name,
                None => false,
            })
    }

    /// The settings this level lets a learner change, by name.
    pub fn allowed_settings(&self) -> Vec<String> {
        Scenario::default()
            .setting_names()
            .into_iter()
            .filter(|n| self.allows_setting(n))
            .collect()
    }

    /// Grades a run: checks it belongs to this level (same start, except for settings
    /// the level lets the learner change; only allowed actions), replays it to
    /// `check_at_ms` and evaluates the goal.
    ///
    /// # Errors
    /// A run for another start, an action the level does not allow, or a run the
    /// engine cannot replay; in words.
    pub fn grade(&self, run: &Session) -> Result<Verdict, LevelError> {
        let mut start = self.scenario()?;
        if run.scenario.cluster == ReplicationConfig::default() {
            // A run recorded on one broker (before the lab started on three) replays there.
            start = on_legacy_cluster(Some(self), start);
        }
        // The run is replayed from the level's start with its named changes, so nothing
        // else in its file can change the outcome.
        let (changed, scenario) = changed_settings(&start, &run.scenario)?;
        let run = Session {
            scenario,
            commands: run.commands.clone(),
            now_ms: run.now_ms,
            furthest_ms: run.furthest_ms,
        };
        for name in &changed {
            if !self.allows_setting(name) {
                return Err(LevelError(format!(
                    "this run changes `{name}`, which level {} does not let you change",
                    self.id
                )));
            }
        }
        for (_, c) in &run.commands {
            if !self.allows(c) {
                return Err(LevelError(format!(
                    "this run uses `{}`, which level {} does not allow",
                    command_kind(c),
                    self.id
                )));
            }
        }
        // Grading replays to the check time, whatever moment the run was saved at.
        let bound = run.records_bound_at(self.check_at_ms);
        if bound > super::history::MAX_OPEN_RECORDS {
            return Err(LevelError(format!(
                "this run could produce up to {bound} records by the check time, more than \
                 the grader replays ({})",
                super::history::MAX_OPEN_RECORDS
            )));
        }
        // The page's path exactly: a lab from t = 0 with the goal's monitor, run to the
        // check time.
        let mut from_zero = run.clone();
        from_zero.now_ms = 0;
        let mut lab = Lab::watching(from_zero, self.monitor())?;
        lab.advance_to(self.check_at_ms);
        let actions = (run.commands.len() + changed.len()) as u32;
        Ok(Verdict {
            checks: self.checks(&lab),
            at_ms: self.check_at_ms,
            actions,
        })
    }

    /// Every predicate's result in a lab watched by this level's monitor (the page's live
    /// checklist; the grader's verdict once the lab is at the check time). Without a
    /// monitor, only the settings can be checked and every measure reads "not watched".
    pub fn checks(&self, lab: &Lab) -> Vec<Check> {
        match lab.monitor() {
            Some(m) => m.checks(lab.sim(), lab.scenario()),
            None => {
                Monitor::new(self.predicates(), self.check_at_ms).checks(lab.sim(), lab.scenario())
            }
        }
    }

    /// The narration shown at this moment: lines whose time has come and whose event
    /// has happened, in order.
    pub fn narration_now(&self, now_ms: u64, tracker: &Tracker) -> Vec<&str> {
        self.narration
            .iter()
            .filter(|n| n.at_ms <= now_ms)
            .filter(|n| {
                n.on.as_deref()
                    .is_none_or(|k| tracker.first_at(k).is_some_and(|t| t <= now_ms))
            })
            .map(|n| n.text.as_str())
            .collect()
    }
}

/// The settings a run changed, by name, fewest first: a setting implied by another
/// (`commit.mode` sets `enable.auto.commit`; `producer.acks` decides the default of
/// `enable.idempotence`) is not counted on its own. Anything else that differs (setup
/// commands, the rig, latency) makes the run belong to another start.
/// `start` as it was before the lab's default cluster had three brokers: one broker,
/// unless the level itself sets the cluster.
pub fn on_legacy_cluster(level: Option<&Level>, mut start: Scenario) -> Scenario {
    let sets_cluster =
        level.is_some_and(|l| l.start.config.keys().any(|k| start.cluster_setting(k)));
    if !sets_cluster {
        start.cluster = ReplicationConfig::default();
    }
    start
}

fn changed_settings(
    start: &Scenario,
    run: &Scenario,
) -> Result<(Vec<String>, Scenario), LevelError> {
    if start.setup != run.setup || start.rig != run.rig || start.latency != run.latency {
        return Err(LevelError(
            "this run starts from another setup than the level's".into(),
        ));
    }
    start
        .changes_to(run)
        .map_err(|detail| LevelError(format!("this run's {detail}")))
}

fn apply_config(s: &mut Scenario, config: &BTreeMap<String, String>) -> Result<(), LevelError> {
    // Lab settings first, so a producer or group setting sees the final topology.
    for (name, value) in config {
        s.set(name, value)?;
    }
    Ok(())
}

/// The family a setting belongs to, as `allowed` names families: `producer` (the
/// producer's configs), `cluster` (brokers and replication), `topic` (topic `orders`'
/// retention, segment and compaction configs), `lab` (the lab's own knobs:
/// partitions, rate, keys, consumers, the application's processing time and dedupe),
/// `consumer` (the consumer's
/// configs and the commit mode). The seed and the network latency belong to none: a
/// level allows them by name only, so a challenge cannot be passed by trying seeds.
pub fn setting_family(name: &str) -> Option<&'static str> {
    let s = Scenario::default();
    if name.starts_with("producer.") {
        Some("producer")
    } else if s.cluster_setting(name) {
        Some("cluster")
    } else if crate::engine::cluster::TopicConfig::NAMES.contains(&name) {
        Some("topic")
    } else if matches!(
        name,
        "partitions"
            | "rate"
            | "keys"
            | "consumers"
            | "processing.ms"
            | "dedupe"
            | "on.error"
            | "service.write"
            | "key.field"
            | "values"
            | "hot.percent"
            | "error.retries"
            | "error.retry.backoff.ms"
    ) {
        Some("lab")
    } else if matches!(name, "seed" | "network.latency.ms") {
        None
    } else if s.setting_names().iter().any(|n| n == name) {
        Some("consumer")
    } else {
        None
    }
}

/// Every command kind `allowed` may name.
pub const COMMAND_KINDS: &[&str] = &[
    "CreateTopic",
    "DeleteTopic",
    "AddProducer",
    "SetWorkload",
    "Send",
    "InjectProduceFault",
    "AddGroup",
    "AddConsumer",
    "CrashConsumer",
    "CloseConsumer",
    "RestartConsumer",
    "SlowConsumer",
    "Seek",
    "Produce",
    "ProduceRandomOrders",
    "AddPartitions",
    "NetPartition",
    "NetHold",
    "NetRelease",
    "NetHeal",
    "KillBroker",
    "RestartBroker",
    "CorruptTable",
    "TruncateTable",
    "CrashProducer",
];

/// The name of a command's kind, as `allowed` lists it.
pub fn command_kind(c: &Command) -> &'static str {
    match c {
        Command::CreateTopic { .. } => "CreateTopic",
        Command::DeleteTopic { .. } => "DeleteTopic",
        Command::AddProducer { .. } => "AddProducer",
        Command::SetWorkload { .. } => "SetWorkload",
        Command::Send { .. } => "Send",
        Command::InjectProduceFault { .. } => "InjectProduceFault",
        Command::AddGroup { .. } => "AddGroup",
        Command::AddConsumer { .. } => "AddConsumer",
        Command::CrashConsumer { .. } => "CrashConsumer",
        Command::CloseConsumer { .. } => "CloseConsumer",
        Command::RestartConsumer { .. } => "RestartConsumer",
        Command::SlowConsumer { .. } => "SlowConsumer",
        Command::Seek { .. } => "Seek",
        Command::Produce { .. } => "Produce",
        Command::ProduceRandomOrders { .. } => "ProduceRandomOrders",
        Command::AddPartitions { .. } => "AddPartitions",
        Command::NetPartition { .. } => "NetPartition",
        Command::NetHold { .. } => "NetHold",
        Command::NetRelease { .. } => "NetRelease",
        Command::NetHeal => "NetHeal",
        Command::KillBroker { .. } => "KillBroker",
        Command::RestartBroker { .. } => "RestartBroker",
        Command::CorruptTable { .. } => "CorruptTable",
        Command::TruncateTable { .. } => "TruncateTable",
        Command::CrashProducer { .. } => "CrashProducer",
    }
}

/// Reads a run someone hands over (an exported session: a file, a paste) for grading or
/// opening.
///
/// # Errors
/// Malformed JSON, a session that does not hold together, or one too heavy to open
/// ([`Session::check_openable`]).
pub fn parse_run(json: &str) -> Result<Session, LevelError> {
    if json.len() > 4_000_000 {
        return Err(LevelError("a run file is at most 4 MB".into()));
    }
    let session: Session =
        serde_json::from_str(json).map_err(|e| LevelError(format!("not a Kafka Lab run: {e}")))?;
    session.check_openable()?;
    session.validate()?;
    Ok(session)
}
