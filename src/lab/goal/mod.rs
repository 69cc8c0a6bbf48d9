//! Goals: what a level checks, read from its file once into typed predicates, and the
//! [`Monitor`] that samples them while a run plays.
//!
//! A predicate is `measure [scope] [when] op value`. The measure is a number the read
//! model gives (see [`METRICS`]), a count of events of one kind, or a setting. It is taken
//! at the check time, at another moment (`at_ms`), or over a window as its maximum or
//! minimum (`over` + `take`, sampled every [`SAMPLE_MS`] of virtual time). The value is a
//! number, a setting's text, or the same measure at another moment (a trend: "lag at 60 s ≤
//! lag at 40 s"). Everything a file names is checked when it is read, so a mistake stops
//! the level there, with the line, not at the end of a run.

use crate::engine::vecmap::VecMap;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::scenario::Scenario;
use crate::engine::event::{Event, EventKind};
use crate::engine::ids::{GroupId, TopicId, Tp};
use crate::engine::sim::Sim;
use crate::engine::view;

mod measure;
mod monitor;
pub use measure::*;
pub use monitor::*;

/// A window's samples are this far apart, in virtual time.
pub const SAMPLE_MS: u64 = 100;

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
    /// Whether `a op b`.
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    /// The symbol on the checklist.
    pub fn symbol(self) -> &'static str {
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

/// Which end of a window counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Take {
    /// The largest sample.
    Max,
    /// The smallest sample.
    Min,
}

/// One goal as a level file writes it (see `src/lab/README.md`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// A name other parts of the file use for it (`untouched_fails`, a wrong answer's
    /// `fails`); without one, its `what` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is measured (see [`METRICS`]), `event:Kind` for a count of events, or
    /// `config:name` for a setting.
    pub what: String,
    /// The group (`group.id`), for the measures of a group; default `payments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The topic, for the measures of a topic or partition; default `orders`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The partition, for the measures of one partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Measured at this moment instead of the check time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Measured over this window `[from, to]` (ms), with `take`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<[u64; 2]>,
    /// The window's largest or smallest sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take: Option<Take>,
    /// The comparison.
    pub op: Op,
    /// A whole number; text for a setting; or `{"at_ms": t}`: the same measure at `t`.
    pub value: serde_json::Value,
    /// The words on the checklist (default: made from the predicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Goal {
    /// The name other parts of a level use for this goal.
    pub fn name(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.what)
    }
}

/// What a measure may be narrowed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Nothing: the whole lab.
    Lab,
    /// A topic (`topic`, or all topics when none is named).
    AnyTopic,
    /// A topic (`topic`, default `orders`).
    Topic,
    /// A group (`group`, default `payments`).
    Group,
    /// A group, and optionally one of its topics.
    GroupTopic,
    /// A topic and optionally one partition (else the topic's sum).
    Partition,
    /// A group and one partition (`partition` required).
    GroupPartition,
}

/// Declares [`Metric`] and [`METRIC_TABLE`] from one list: each metric's variant, its name
/// in level files, its scope and what it means, written once.
macro_rules! metrics {
    ($($(#[$doc:meta])* $metric:ident = $name:literal, $scope:ident, $meaning:literal;)*) => {
        /// A number the read model gives.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Metric {
            $($(#[$doc])* $metric,)*
        }

        /// Every metric: its name in files, the metric, its scope, and what it means.
        pub const METRIC_TABLE: &[(&str, Metric, Scope, &str)] = &[
            $(($name, Metric::$metric, Scope::$scope, $meaning),)*
        ];
    };
}

metrics! {
    /// Records produced.
    Produced = "produced", AnyTopic, "records produced (all producers; to one topic with `topic`)";
    /// Processed exactly once.
    Once = "once", Group, "records the group processed exactly once";
    /// Processed more than once.
    Duplicate = "duplicate", Group, "records the group processed more than once";
    /// Skipped past for good.
    Lost = "lost", Group, "records the group skipped past for good (incl. lost before the log)";
    /// Not processed yet.
    Pending = "pending", Group, "records not processed yet";
    /// Skipped by a seek or a reset to the end.
    Skipped = "skipped", Group, "records skipped by a seek";
    /// Processing failed.
    Failed = "failed", Group, "records whose processing failed (poison)";
    /// Deleted by retention before the group read them.
    Deleted = "deleted", Group, "records retention deleted before the group read them";
    /// Processed before an earlier record of the same key.
    OutOfOrder = "out_of_order", Group, "records processed before an earlier record with the same key";
    /// Second copies in the log.
    LogDuplicates = "log_duplicates", Lab, "second copies of records left in the log by retries";
    /// Acknowledged to their producer.
    Acked = "acked", Lab, "records the producers got acknowledged";
    /// Acknowledged, then lost.
    AckedThenLost = "acked_then_lost", Lab, "records acknowledged to their producer, then lost with a failed leader";
    /// Brokers running.
    BrokersAlive = "brokers_alive", Lab, "brokers running";
    /// Partitions without a leader.
    OfflinePartitions = "offline_partitions", Topic, "partitions of the topic with no leader";
    /// Partitions with a short ISR.
    UnderReplicated = "under_replicated", Topic, "partitions of the topic whose ISR is smaller than their replicas";
    /// Records the producers gave up on.
    ProducerFailed = "producer_failed", Lab, "records the producers gave up on";
    /// The group's generation.
    Generation = "generation", Group, "the group's generation";
    /// Rebalances the group went through.
    Rebalances = "rebalances", Group, "rebalances the group went through";
    /// Time eager rebalances stopped the group.
    StopTheWorldMs = "stop_the_world_ms", Group, "ms the group spent with every partition revoked (eager)";
    /// Consumers alive.
    Members = "members", Group, "consumers in the group that are alive";
    /// Consumers alive that own nothing.
    IdleMembers = "idle_members", Group, "alive consumers that own no partition";
    /// Partitions with an owner.
    OwnedPartitions = "owned_partitions", Group, "partitions of the group's topics that have an owner";
    /// The topic's partitions.
    Partitions = "partitions", Topic, "partitions of the topic";
    /// Lag summed over the group's partitions.
    LagTotal = "lag_total", GroupTopic, "sum of the lag over the group's partitions (of one topic with `topic`)";
    /// The largest lag of one partition.
    LagMax = "lag_max", GroupTopic, "the largest lag of one of the group's partitions";
    /// Records processed, repeats counted.
    Processed = "processed", Group, "records the group's consumers processed (counting repeats)";
    /// One partition's lag.
    Lag = "lag", GroupPartition, "one partition's lag for the group (log end offset minus committed)";
    /// A partition's log end offset (or the topic's, summed).
    LogEndOffset = "log_end_offset", Partition, "a partition's log end offset (the topic's sum without `partition`)";
    /// A partition's committed offset.
    Committed = "committed", GroupPartition, "the group's committed offset of one partition (0 when none)";
    /// A partition's log start offset (or the topic's smallest).
    LogStartOffset = "log_start_offset", Partition, "a partition's log start offset (the topic's smallest without `partition`)";
    /// Bytes in a partition's segments (or the topic's, summed).
    LogBytes = "log_bytes", Partition, "bytes in a partition's segments on its leader (the topic's sum without `partition`)";
    /// Keys with a value in a compacted topic's table.
    TableKeys = "table_keys", Topic, "keys with a value in the table the topic stands for (a tombstoned key does not count)";
    /// Removed by the cleaner before the group read them.
    Compacted = "compacted", Group, "records the log cleaner removed before the group read them";
    /// Written to the dead-letter topic.
    DeadLettered = "dead_lettered", Group, "poison records the application wrote to the dead-letter topic";
    /// Producing services' rows whose event never reached the log.
    RowsWithoutEvents = "rows_without_events", Lab, "order rows a producing service wrote whose event never reached the log (a dual write's gap)";
    /// Events in the log whose producing service never wrote their row.
    EventsWithoutRows = "events_without_rows", Lab, "events in the log whose producing service never wrote their order row (the other gap)";
    /// Rows of the application's table that differ from the log's projection.
    TableMismatches = "table_mismatches", Group, "rows of the application's table whose balance is not what the log says (each record charged once)";
    /// Dead letters written (a record written twice counts twice).
    DeadLetters = "dead_letters", Group, "copies the application wrote to the dead-letter topic (a record given up on twice is written twice)";
    /// Keys the group still holds because their tombstone was removed before it read it.
    Resurrected = "resurrected", Group, "keys the group never saw deleted: their tombstone was cleaned away before it read it";
    /// Records the group's application charged more than once.
    DoubleCharges = "double_charges", Group, "records the group's application charged to its database more than once (a duplicate with an effect)";
    /// Order events processed after a later event of the same customer.
    OutOfOrderByCustomer = "out_of_order_by_customer", Group, "order events processed after a later event of the same customer (typed values only)";
    /// Order events processed after a later event of the same order.
    OutOfOrderByOrder = "out_of_order_by_order", Group, "order events processed after a later event of the same order, such as a payment before its order was created (typed values only)";
    /// Deliveries the idempotent consumer skipped.
    Deduped = "deduped", Group, "deliveries the group's application skipped because its database already held the record's event id";
}

/// The measures a goal can name, with what each means (documented in the format).
pub const METRICS: &[(&str, &str)] = &{
    let mut out = [("", ""); METRIC_TABLE.len()];
    let mut i = 0;
    while i < METRIC_TABLE.len() {
        out[i] = (METRIC_TABLE[i].0, METRIC_TABLE[i].3);
        i += 1;
    }
    out
};

/// What a predicate measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// A number of the read model.
    Metric(Metric),
    /// How many events of a kind happened.
    Events(&'static str),
    /// A setting's value.
    Setting(String),
}

/// When a measure is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// At the level's check time.
    Check,
    /// At this moment.
    At(u64),
    /// Over a window, its largest or smallest sample.
    Over {
        /// Window start, ms.
        from_ms: u64,
        /// Window end, ms.
        to_ms: u64,
        /// Which sample counts.
        take: Take,
    },
}

/// What the measure is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// A number.
    Number(u64),
    /// A setting's text.
    Text(String),
    /// The same measure (same scope) at another moment, plus a margin.
    SameAt(u64, u64),
}

/// A goal, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    /// Its name (`id`, or `what`).
    pub name: String,
    /// What is measured.
    pub measure: Measure,
    /// The group's name, when the measure takes one.
    pub group: Option<String>,
    /// The topic's name, when the measure takes one.
    pub topic: Option<String>,
    /// The partition, when the measure takes one.
    pub partition: Option<u32>,
    /// When.
    pub when: When,
    /// The comparison.
    pub op: Op,
    /// Compared with.
    pub rhs: Rhs,
    /// The checklist's words.
    pub label: String,
}

/// The groups and topics a level can have (its start's, and those its solution and wrong
/// answers create), so a goal naming another is refused when the file is read.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// `group.id`s.
    pub groups: Vec<String>,
    /// Topic names.
    pub topics: Vec<String>,
}

/// The line in `json` of the `n`-th `"what"` (goals are the only entries with one), for
/// messages that point at the file.
fn line_of_goal(json: &str, n: usize) -> Option<usize> {
    let at = json.match_indices("\"what\"").nth(n)?.0;
    Some(json[..at].matches('\n').count() + 1)
}

/// Reads a level's goals into predicates.
///
/// # Errors
/// The first goal that names an unknown measure, group or topic, mixes types, or measures
/// outside the run, in words with its line in `json`.
pub fn compile(
    goals: &[Goal],
    check_at_ms: u64,
    known: &Known,
    json: Option<&str>,
) -> Result<Vec<Predicate>, String> {
    goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            compile_one(g, check_at_ms, known).map_err(|e| {
                let line = json
                    .and_then(|j| line_of_goal(j, i))
                    .map_or_else(String::new, |l| format!(", line {l}"));
                format!("goal {} (`{}`{line}): {e}", i + 1, g.what)
            })
        })
        .collect()
}

fn compile_one(g: &Goal, check_at_ms: u64, known: &Known) -> Result<Predicate, String> {
    let (measure, scope) = if let Some(kind) = g.what.strip_prefix("event:") {
        let kind = EventKind::from_name(kind)
            .ok_or_else(|| format!("`{kind}` is not an event kind the lab records"))?
            .name();
        (Measure::Events(kind), Scope::Group)
    } else if let Some(name) = g.what.strip_prefix("config:") {
        if !known_setting(name) {
            return Err(format!("`{name}` is not a setting"));
        }
        (Measure::Setting(name.to_owned()), Scope::Lab)
    } else {
        let (_, metric, scope, _) = METRIC_TABLE
            .iter()
            .find(|(n, ..)| *n == g.what)
            .ok_or_else(|| {
                format!(
                    "the lab does not measure `{}` (it measures: {})",
                    g.what,
                    METRIC_TABLE
                        .iter()
                        .map(|m| m.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        (Measure::Metric(*metric), *scope)
    };
    let events = matches!(measure, Measure::Events(_));
    let takes_group = events
        || matches!(
            scope,
            Scope::Group | Scope::GroupTopic | Scope::GroupPartition
        );
    let takes_topic = matches!(
        scope,
        Scope::AnyTopic
            | Scope::Topic
            | Scope::GroupTopic
            | Scope::Partition
            | Scope::GroupPartition
    );
    // Events that carry a partition (a record typed by hand) can be counted on one.
    let takes_partition = events || matches!(scope, Scope::Partition | Scope::GroupPartition);
    if g.group.is_some() && !takes_group {
        return Err("this measure has no group".into());
    }
    if g.topic.is_some() && !takes_topic {
        return Err("this measure has no topic".into());
    }
    if g.partition.is_some() && !takes_partition {
        return Err("this measure has no partition".into());
    }
    if scope == Scope::GroupPartition && g.partition.is_none() {
        return Err("this measure needs a `partition`".into());
    }
    if let Some(group) = &g.group {
        if !known.groups.iter().any(|k| k == group) {
            return Err(format!(
                "no group `{group}` in this level (it has: {})",
                known.groups.join(", ")
            ));
        }
    }
    if let Some(topic) = &g.topic {
        if !known.topics.iter().any(|k| k == topic) {
            return Err(format!(
                "no topic `{topic}` in this level (it has: {})",
                known.topics.join(", ")
            ));
        }
    }
    if let Some(p) = g.partition {
        if p >= crate::engine::cluster::MAX_PARTITIONS {
            return Err(format!("partition {p} is past the lab's largest topic"));
        }
    }
    let setting = matches!(measure, Measure::Setting(_));
    let within = |t: u64, what: &str| {
        if t > check_at_ms {
            Err(format!(
                "{what} {t} ms is after the check time ({check_at_ms} ms)"
            ))
        } else {
            Ok(())
        }
    };
    let when = match (g.at_ms, g.over, g.take) {
        (None, None, None) => When::Check,
        (Some(t), None, None) => {
            within(t, "at_ms")?;
            When::At(t)
        }
        (None, Some([from_ms, to_ms]), Some(take)) => {
            within(to_ms, "the window's end")?;
            if from_ms >= to_ms {
                return Err(format!(
                    "the window [{from_ms}, {to_ms}] must start before it ends"
                ));
            }
            When::Over {
                from_ms,
                to_ms,
                take,
            }
        }
        (None, Some(_), None) => return Err("a window (`over`) needs `take`: max or min".into()),
        (None, None, Some(_)) => return Err("`take` needs a window (`over`)".into()),
        _ => return Err("a goal has `at_ms` or `over`, not both".into()),
    };
    if setting && when != When::Check {
        return Err("a setting does not change during a run: no `at_ms` or `over`".into());
    }
    let rhs = match &g.value {
        serde_json::Value::String(text) if setting => {
            if !matches!(g.op, Op::Eq | Op::Ne) {
                return Err("text is compared with == or !=".into());
            }
            Rhs::Text(text.clone())
        }
        serde_json::Value::Number(n) => {
            let n = n
                .as_u64()
                .ok_or_else(|| format!("the value {n} is not a whole number"))?;
            if let Measure::Setting(name) = &measure {
                if Scenario::default().get(name).parse::<u64>().is_err() {
                    return Err(format!(
                        "`{name}` is not a number; compare it with text and == or !="
                    ));
                }
            }
            Rhs::Number(n)
        }
        serde_json::Value::Object(o) if !setting => {
            let plus = o.get("plus").map(serde_json::Value::as_u64);
            let fields_ok = o.keys().all(|k| k == "at_ms" || k == "plus");
            let t = match (
                fields_ok,
                o.get("at_ms").and_then(serde_json::Value::as_u64),
                plus,
            ) {
                (true, Some(t), None | Some(Some(_))) => t,
                _ => {
                    return Err(
                        "a value object is `{\"at_ms\": t}` (the same measure at t), \
                                with an optional whole `\"plus\"`"
                            .into(),
                    )
                }
            };
            within(t, "the value's at_ms")?;
            Rhs::SameAt(t, plus.flatten().unwrap_or(0))
        }
        _ if setting => return Err("a setting's value is text (or a whole number)".into()),
        _ => return Err("the value must be a whole number or {\"at_ms\": t}".into()),
    };
    let mut p = Predicate {
        name: g.name().to_owned(),
        measure,
        group: g.group.clone().filter(|_| takes_group),
        topic: g.topic.clone(),
        partition: g.partition,
        when,
        op: g.op,
        rhs,
        label: String::new(),
    };
    p.label = g
        .label
        .clone()
        .unwrap_or_else(|| default_label(&p, &g.what));
    Ok(p)
}

fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn default_label(p: &Predicate, what: &str) -> String {
    let mut s = match &p.measure {
        Measure::Events(kind) => format!("{kind} events"),
        Measure::Setting(name) => name.clone(),
        Measure::Metric(_) => what.replace('_', " "),
    };
    if let Some(part) = p.partition {
        let _ = write!(s, " of p{part}");
    }
    if let Some(t) = &p.topic {
        let _ = write!(s, " ({t})");
    }
    if let Some(g) = &p.group {
        let _ = write!(s, " ({g})");
    }
    let s = match p.when {
        When::Check => s,
        When::At(t) => format!("{s} at {}", seconds(t)),
        When::Over {
            from_ms,
            to_ms,
            take,
        } => format!(
            "{} {s} over {}–{}",
            match take {
                Take::Max => "max",
                Take::Min => "min",
            },
            seconds(from_ms),
            seconds(to_ms)
        ),
    };
    let rhs = match &p.rhs {
        Rhs::Number(n) => n.to_string(),
        Rhs::Text(t) => t.clone(),
        Rhs::SameAt(t, 0) => format!("its value at {}", seconds(*t)),
        Rhs::SameAt(t, plus) => format!("its value at {} + {plus}", seconds(*t)),
    };
    format!("{s} {} {rhs}", p.op.symbol())
}

/// The settings a level may name: the lab's, the consumer's and (`producer.`) the
/// producer's, as `Scenario::set` takes them.
pub fn known_setting(name: &str) -> bool {
    let mut s = Scenario::default();
    // A name is known if setting it is not refused as unknown.
    match s.set(name, "0") {
        Ok(()) => true,
        Err(crate::engine::error::EngineError::InvalidConfig { reason, .. }) => {
            !reason.contains("not a")
        }
        Err(_) => true,
    }
}
