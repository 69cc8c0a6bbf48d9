//! Levels: lessons and challenges as data. A level is a start (a scenario with rigged
//! faults), the actions a learner may take, narration, predict rounds, a goal made of
//! predicates over the read model, three hints and a reference solution.
//!
//! One runner grades everything: the level test, `kafka-lab-check` and the page's
//! checklist all build the start here, replay a run and evaluate the same goal. The file
//! format is documented in `src/lab/README.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::command::Command;
use super::error::EngineError;
use super::event::{BrokerEvent, Event, GroupEvent, ProducerEvent};
use super::history::{Session, MAX_TIME_MS};
use super::ids::GroupId;
use super::replication::ReplicationConfig;
use super::scenario::Scenario;
use super::sim::Sim;
use super::view;

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
    /// ...or from the first event of this kind (see [`event_kind`]), whichever is given.
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

/// How a measured value is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// Equal.
    #[serde(rename = "==")]
    Eq,
    /// Not equal.
    #[serde(rename = "!=")]
    Ne,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// More than.
    #[serde(rename = ">")]
    Gt,
    /// At least.
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "≠",
            Op::Lt => "<",
            Op::Le => "≤",
            Op::Gt => ">",
            Op::Ge => "≥",
        }
    }
}

/// One predicate of a goal: `what [of group] op value`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// What is measured (see [`METRICS`]), `event:Kind` for a count of events, or
    /// `config:name` for a setting (compared as text with `==` or `!=`).
    pub what: String,
    /// The group (`group.id`), for per-group measures; default `payments`.
    #[serde(default)]
    pub group: Option<String>,
    /// The comparison.
    pub op: Op,
    /// A number, or text for `config:`.
    pub value: serde_json::Value,
    /// The words on the checklist (default: made from the predicate).
    #[serde(default)]
    pub label: Option<String>,
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
    /// Every predicate must hold at `check_at_ms`.
    pub goal: Vec<Goal>,
    /// When the goal is checked, ms.
    pub check_at_ms: u64,
    /// Three hints: the concept, the panel, the fix.
    pub hints: Vec<String>,
    /// The reference solution.
    pub solution: Solution,
    /// Golf: the fewest actions (commands plus changed settings) that solve it.
    #[serde(default)]
    pub par: Option<u32>,
}

/// The measures a goal can name, with what each means (documented in the format).
pub const METRICS: &[(&str, &str)] = &[
    ("produced", "records produced (all producers)"),
    ("once", "records the group processed exactly once"),
    ("duplicate", "records the group processed more than once"),
    (
        "lost",
        "records the group skipped past for good (incl. lost before the log)",
    ),
    ("pending", "records not processed yet"),
    ("skipped", "records skipped by a seek"),
    ("failed", "records whose processing failed (poison)"),
    (
        "out_of_order",
        "records processed before an earlier record with the same key",
    ),
    (
        "log_duplicates",
        "second copies of records left in the log by retries",
    ),
    ("acked", "records the producers got acknowledged"),
    (
        "acked_then_lost",
        "records acknowledged to their producer, then lost with a failed leader",
    ),
    ("brokers_alive", "brokers running"),
    (
        "offline_partitions",
        "partitions of topic orders with no leader",
    ),
    (
        "under_replicated",
        "partitions of topic orders whose ISR is smaller than their replicas",
    ),
    ("producer_failed", "records the producers gave up on"),
    ("generation", "the group's generation"),
    ("rebalances", "rebalances the group went through"),
    (
        "stop_the_world_ms",
        "ms the group spent with every partition revoked (eager)",
    ),
    ("members", "consumers in the group that are alive"),
    ("idle_members", "alive consumers that own no partition"),
    (
        "owned_partitions",
        "partitions of the group's topics that have an owner",
    ),
    ("partitions", "partitions of topic orders"),
    ("lag_total", "sum of the lag over the group's partitions"),
    ("lag_max", "the largest lag of one partition"),
    (
        "processed",
        "records the group's consumers processed (counting repeats)",
    ),
];

/// One predicate's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The checklist's words.
    pub label: String,
    /// It holds.
    pub holds: bool,
    /// The measured value, in words (`duplicate = 3`).
    pub actual: String,
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

/// The kind of an event, as narration and `event:` goals name it: `JoinComplete`,
/// `ConsumerCrashed`, `CommitRejected`, `DuplicateBatchDropped`, `RecordAppended`...
pub fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::TopicCreated { .. } => "TopicCreated",
        Event::TopicDeleted { .. } => "TopicDeleted",
        Event::RecordAppended { .. } => "RecordAppended",
        Event::PartitionsAdded { .. } => "PartitionsAdded",
        Event::CommandRefused { .. } => "CommandRefused",
        Event::Net { .. } => "Net",
        Event::Broker { event, .. } => match event {
            BrokerEvent::Killed => "BrokerKilled",
            BrokerEvent::Restarted => "BrokerRestarted",
            BrokerEvent::Fenced => "BrokerFenced",
            BrokerEvent::Unfenced => "BrokerUnfenced",
            BrokerEvent::BecameLeader { .. } => "BecameLeader",
            BrokerEvent::BecameFollower { .. } => "BecameFollower",
            BrokerEvent::LeaderElected { .. } => "LeaderElected",
            BrokerEvent::Registered => "BrokerRegistered",
            BrokerEvent::RegistrationRefused => "BrokerRegistrationRefused",
            BrokerEvent::IsrChanged { .. } => "IsrChanged",
            BrokerEvent::Truncated { .. } => "Truncated",
            BrokerEvent::CoordinatorMoved { .. } => "CoordinatorMoved",
        },
        Event::Producer { event, .. } => match event {
            ProducerEvent::Sent { .. } => "Sent",
            ProducerEvent::RequestSent { .. } => "RequestSent",
            ProducerEvent::Appended { .. } => "Appended",
            ProducerEvent::DuplicateBatchDropped { .. } => "DuplicateBatchDropped",
            ProducerEvent::OutOfOrderSequence { .. } => "OutOfOrderSequence",
            ProducerEvent::Acked { .. } => "Acked",
            ProducerEvent::ConnectionClosed { .. } => "ConnectionClosed",
            ProducerEvent::Retrying { .. } => "Retrying",
            ProducerEvent::Expired { .. } => "Expired",
            ProducerEvent::EpochBumped { .. } => "EpochBumped",
            ProducerEvent::Rejected { error, .. } => error.name(),
        },
        Event::Group { event, .. } => match event {
            GroupEvent::StateChanged { .. } => "StateChanged",
            GroupEvent::JoinGroup { .. } => "JoinGroup",
            GroupEvent::JoinComplete { .. } => "JoinComplete",
            GroupEvent::SyncGroup { .. } => "SyncGroup",
            GroupEvent::Assigned { .. } => "Assigned",
            GroupEvent::Revoked { .. } => "Revoked",
            GroupEvent::Lost { .. } => "Lost",
            GroupEvent::Heartbeat { .. } => "Heartbeat",
            GroupEvent::LeaveGroup { .. } => "LeaveGroup",
            GroupEvent::MemberRemoved { .. } => "MemberRemoved",
            GroupEvent::PositionSet {
                source: super::event::PositionSource::Truncation,
                ..
            } => "TruncationDetected",
            GroupEvent::PositionSet { .. } => "PositionSet",
            GroupEvent::Polled { .. } => "Polled",
            GroupEvent::Processed { .. } => "Processed",
            GroupEvent::ProcessingFailed { .. } => "ProcessingFailed",
            GroupEvent::Committed { .. } => "Committed",
            GroupEvent::CommitRejected { .. } => "CommitRejected",
            GroupEvent::CommitRetriable { .. } => "CommitRetriable",
            GroupEvent::RequestFailed { .. } => "RequestFailed",
            GroupEvent::ConsumerStarted { .. } => "ConsumerStarted",
            GroupEvent::ConsumerCrashed { .. } => "ConsumerCrashed",
            GroupEvent::ConsumerClosed { .. } => "ConsumerClosed",
            GroupEvent::ConsumerFailed { .. } => "ConsumerFailed",
        },
    }
}

/// Every event kind a level may name.
pub const EVENT_KINDS: &[&str] = &[
    "TopicCreated",
    "TopicDeleted",
    "RecordAppended",
    "PartitionsAdded",
    "CommandRefused",
    "Net",
    "Sent",
    "RequestSent",
    "Appended",
    "DuplicateBatchDropped",
    "OutOfOrderSequence",
    "Acked",
    "ConnectionClosed",
    "Retrying",
    "Expired",
    "EpochBumped",
    "StateChanged",
    "JoinGroup",
    "JoinComplete",
    "SyncGroup",
    "Assigned",
    "Revoked",
    "Lost",
    "Heartbeat",
    "LeaveGroup",
    "MemberRemoved",
    "PositionSet",
    "Polled",
    "Processed",
    "ProcessingFailed",
    "Committed",
    "CommitRejected",
    "CommitRetriable",
    "RequestFailed",
    "ConsumerStarted",
    "ConsumerCrashed",
    "ConsumerClosed",
    "ConsumerFailed",
    "BrokerKilled",
    "BrokerRestarted",
    "BrokerFenced",
    "BrokerUnfenced",
    "BecameLeader",
    "BecameFollower",
    "LeaderElected",
    "BrokerRegistered",
    "BrokerRegistrationRefused",
    "TruncationDetected",
    "IsrChanged",
    "Truncated",
    "CoordinatorMoved",
    "NOT_LEADER_OR_FOLLOWER",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "REQUEST_TIMED_OUT",
    "NETWORK_EXCEPTION",
];

/// The settings a level may name: the lab's, the consumer's and (`producer.`) the
/// producer's, as `Scenario::set` takes them.
fn known_setting(name: &str) -> bool {
    let mut s = Scenario::default();
    // A name is known if setting it to its own current value is not refused as unknown.
    match s.set(name, "0") {
        Ok(()) => true,
        Err(EngineError::InvalidConfig { reason, .. }) => !reason.contains("not a"),
        Err(_) => true,
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
        let level: Level = serde_json::from_str(json)
            .map_err(|e| LevelError(format!("not a Kafka Lab level: {e}")))?;
        level.validate()?;
        Ok(level)
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
        for g in &self.goal {
            let known = METRICS.iter().any(|(m, _)| *m == g.what)
                || g.what
                    .strip_prefix("event:")
                    .is_some_and(|k| EVENT_KINDS.contains(&k))
                || g.what.strip_prefix("config:").is_some_and(known_setting);
            if !known {
                return bad(format!(
                    "the goal names `{}`, which the lab does not measure",
                    g.what
                ));
            }
            let numeric = !g.what.starts_with("config:");
            if numeric && g.value.as_u64().is_none() {
                return bad(format!("the goal on `{}` needs a whole number", g.what));
            }
            if !numeric && (!g.value.is_string() || !matches!(g.op, Op::Eq | Op::Ne)) {
                return bad(format!(
                    "the goal on `{}` compares text with == or !=",
                    g.what
                ));
            }
        }
        for n in &self.narration {
            if let Some(k) = &n.on {
                if !EVENT_KINDS.contains(&k.as_str()) {
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
                if name != "*" && !known_setting(name) {
                    return bad(format!("allows `{a}`, which is not a setting"));
                }
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
        let mut s = self.scenario()?;
        apply_config(&mut s, &self.solution.config)?;
        s.validate()?;
        Ok(s)
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
        let mut session = Session::new(self.solved_scenario()?);
        for t in &self.solution.commands {
            session.record(t.at_ms, t.command.clone())?;
        }
        session.now_ms = self.check_at_ms;
        Ok(session)
    }

    /// Whether a command kind is allowed.
    pub fn allows(&self, command: &Command) -> bool {
        self.allowed.iter().any(|a| a == command_kind(command))
    }

    /// Whether changing a setting is allowed.
    pub fn allows_setting(&self, name: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| a == "config:*" || a.strip_prefix("config:") == Some(name))
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
        let sim = run.replay_to(self.check_at_ms)?;
        let actions = (run.commands.len() + changed.len()) as u32;
        let mut tracker = Tracker::default();
        tracker.update(&sim);
        Ok(Verdict {
            checks: self.evaluate(&sim, &run.scenario, &tracker),
            at_ms: self.check_at_ms,
            actions,
        })
    }

    /// Evaluates every predicate on a simulation as it is now (the page's live
    /// checklist; the grader calls it at `check_at_ms`). `tracker` must be up to date.
    pub fn evaluate(&self, sim: &Sim, scenario: &Scenario, tracker: &Tracker) -> Vec<Check> {
        self.goal
            .iter()
            .map(|g| check(g, sim, scenario, tracker))
            .collect()
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

/// Counts events by kind as they come (from a cursor), so the page's checklist and
/// narration read new events only, once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracker {
    cursor: u64,
    counts: BTreeMap<(&'static str, Option<GroupId>), u64>,
    first: BTreeMap<&'static str, u64>,
}

impl Tracker {
    /// Reads the events since the last update.
    pub fn update(&mut self, sim: &Sim) {
        // Time went back (a seek, a reset): count again from the start.
        if sim.event_count() < self.cursor {
            *self = Tracker::default();
        }
        let Tracker {
            cursor,
            counts,
            first,
        } = self;
        *cursor = view::visit_events_since(sim, *cursor, |e| {
            let kind = event_kind(e);
            *counts.entry((kind, None)).or_insert(0) += 1;
            if let Event::Group { group, .. } = e {
                *counts.entry((kind, Some(*group))).or_insert(0) += 1;
            }
            first.entry(kind).or_insert_with(|| e.at_ms());
        });
    }

    /// How many events of a kind happened (in one group, if given).
    pub fn count(&self, kind: &str, group: Option<GroupId>) -> u64 {
        self.counts
            .iter()
            .find(|((k, g), _)| *k == kind && *g == group)
            .map_or(0, |(_, n)| *n)
    }

    /// When the first event of a kind happened.
    pub fn first_at(&self, kind: &str) -> Option<u64> {
        self.first
            .iter()
            .find(|(k, _)| **k == kind)
            .map(|(_, t)| *t)
    }
}

fn group_id(sim: &Sim, name: &str) -> GroupId {
    view::groups(sim)
        .iter()
        .find(|g| g.name == name)
        .map_or(GroupId(u16::MAX), |g| g.id)
}

fn check(g: &Goal, sim: &Sim, scenario: &Scenario, tracker: &Tracker) -> Check {
    let group_name = g.group.clone().unwrap_or_else(|| "payments".into());
    if let Some(name) = g.what.strip_prefix("config:") {
        let actual = setting_value(scenario, name);
        let want = g.value.as_str().unwrap_or_default();
        let holds = match g.op {
            Op::Ne => actual != want,
            _ => actual == want,
        };
        return Check {
            label: g
                .label
                .clone()
                .unwrap_or_else(|| format!("{name} {} {want}", g.op.symbol())),
            holds,
            actual: format!("{name} = {actual}"),
        };
    }
    let want = g.value.as_u64().unwrap_or(0);
    let value = if let Some(kind) = g.what.strip_prefix("event:") {
        let group = g.group.as_deref().map(|n| group_id(sim, n));
        tracker.count(kind, group)
    } else {
        measure(sim, &g.what, group_id(sim, &group_name))
    };
    let label = g.label.clone().unwrap_or_else(|| {
        let mut s = g.what.replace('_', " ");
        if let Some(kind) = g.what.strip_prefix("event:") {
            s = format!("{kind} events");
        }
        if g.group.is_some() {
            let _ = write!(s, " ({group_name})");
        }
        format!("{s} {} {want}", g.op.symbol())
    });
    Check {
        label,
        holds: g.op.holds(value, want),
        actual: format!("{} = {value}", g.what),
    }
}

/// The value of one measure (see [`METRICS`]) for a group.
pub fn measure(sim: &Sim, what: &str, group: GroupId) -> u64 {
    let totals = view::totals(sim, group).unwrap_or_default();
    let groups = view::groups(sim);
    let g = groups.iter().find(|x| x.id == group);
    let alive = |m: &&view::MemberView| {
        matches!(
            m.status,
            view::MemberStatus::Active | view::MemberStatus::Idle | view::MemberStatus::Joining
        )
    };
    let metrics = || view::metrics(sim);
    let group_metrics = |m: &view::Metrics| m.groups.iter().find(|x| x.group == group).cloned();
    match what {
        "produced" => totals.produced,
        "once" => totals.once,
        "duplicate" => totals.duplicate,
        "lost" => totals.lost,
        "pending" => totals.pending,
        "skipped" => totals.skipped,
        "failed" => totals.failed,
        "out_of_order" => totals.out_of_order,
        "log_duplicates" => metrics().log_duplicates,
        // acks=0 records are sent, never acknowledged (their callback gets offset -1).
        "acked" => view::producers(sim).iter().map(|p| p.acked).sum(),
        "producer_failed" => view::producers(sim).iter().map(|p| p.failed).sum(),
        "acked_then_lost" => sim.ledger().acked_then_lost(),
        "brokers_alive" => sim.world().brokers.iter().filter(|b| b.alive).count() as u64,
        "offline_partitions" | "under_replicated" => {
            let cluster = &sim.world().cluster;
            let partitions = cluster.partition_count(super::ids::TopicId(0));
            (0..partitions)
                .filter_map(|p| cluster.state(super::ids::Tp::new(super::ids::TopicId(0), p)))
                .filter(|s| {
                    if what == "offline_partitions" {
                        s.leader.is_none()
                    } else {
                        s.isr.len() < s.replicas.len()
                    }
                })
                .count() as u64
        }
        "generation" => g.map_or(0, |g| g.generation.max(0) as u64),
        "rebalances" => g.map_or(0, |g| u64::from(g.rebalances)),
        "stop_the_world_ms" => g.map_or(0, |g| g.stop_the_world_ms),
        "members" => g.map_or(0, |g| g.members.iter().filter(alive).count() as u64),
        "idle_members" => g.map_or(0, |g| {
            g.members
                .iter()
                .filter(alive)
                .filter(|m| m.owned.is_empty())
                .count() as u64
        }),
        "owned_partitions" => g.map_or(0, |g| {
            g.members
                .iter()
                .filter(alive)
                .map(|m| m.owned.len())
                .sum::<usize>() as u64
        }),
        "partitions" => view::topics(sim)
            .first()
            .map_or(0, |t| u64::from(t.partitions)),
        "lag_total" => group_metrics(&metrics()).map_or(0, |m| {
            m.partitions
                .iter()
                .map(|p| p.lag.unwrap_or(p.log_end_offset))
                .sum()
        }),
        "lag_max" => group_metrics(&metrics()).map_or(0, |m| {
            m.partitions
                .iter()
                .map(|p| p.lag.unwrap_or(p.log_end_offset))
                .max()
                .unwrap_or(0)
        }),
        "processed" => group_metrics(&metrics()).map_or(0, |m| m.processed_records),
        _ => 0,
    }
}

/// The value of a setting, as text (what `config:` goals compare): [`Scenario::get`].
pub fn setting_value(s: &Scenario, name: &str) -> String {
    s.get(name)
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
