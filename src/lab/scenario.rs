//! Scenarios are data: the setup a lab starts from. Building one gives a `Sim` with topic
//! `orders`, a keyed producer and the group `payments`, plus any extra commands (more
//! topics, groups, producers) applied at t = 0. The UI's setup panel, levels and tests
//! build labs the same way.

use crate::engine::cluster::TopicConfig;
use crate::engine::command::Command;
use crate::engine::config::{AutoOffsetReset, GroupConfig, ManualCommit, ProducerConfig};
use crate::engine::error::EngineError;
use crate::engine::ids::{GroupId, TopicId};
use crate::engine::net::Latency;
use crate::engine::producer::{KeySpace, Workload};
use crate::engine::replication::ReplicationConfig;
use crate::engine::sim::Sim;

/// What a lab starts with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scenario {
    /// The seed every random draw comes from.
    pub seed: u64,
    /// Partitions of topic `orders`.
    pub partitions: u32,
    /// The producer's rate, records per second (0: no workload).
    pub rate_per_sec: u32,
    /// How many distinct keys (`order-0` ...) the producer draws from.
    pub keys: u32,
    /// The group's configuration.
    pub group: GroupConfig,
    /// Consumers in the group at the start.
    pub consumers: u16,
    /// The producer's configuration.
    #[serde(default)]
    pub producer: ProducerConfig,
    /// Every link's latency.
    #[serde(default)]
    pub latency: Latency,
    /// More setup, applied at t = 0 after the standard part (topics, groups, producers).
    #[serde(default)]
    pub setup: Vec<Command>,
    /// Timed commands that are part of the start (a level's rigged faults): they belong
    /// to the scenario, so a learner's actions never cut them.
    #[serde(default)]
    pub rig: Vec<(u64, Command)>,
    /// Brokers and replication. Always written; a session or run saved before the lab
    /// had brokers has none, and reads as the one broker it was recorded on.
    #[serde(default)]
    pub cluster: ReplicationConfig,
    /// Topic `orders`' configs (retention, segments, compaction): written only when set
    /// away from Kafka's defaults, so older sessions and links read the same.
    #[serde(default, skip_serializing_if = "is_default_topic")]
    pub topic: TopicConfig,
    /// The producer sends typed order events (`values=orders`), `keys` being the number of
    /// customers, instead of records that carry only a key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orders: bool,
    /// Share of the records one key (or, with orders, one customer) takes, 0 to 100.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hot_percent: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_default_topic(t: &TopicConfig) -> bool {
    *t == TopicConfig::default()
}

impl Default for Scenario {
    /// The classroom default: small and quick. Timeouts are shortened so a crash plays out
    /// in seconds (the UI says so next to each shortened value).
    fn default() -> Self {
        Scenario {
            seed: 42,
            partitions: 3,
            rate_per_sec: 12,
            keys: 12,
            group: GroupConfig {
                session_timeout_ms: 10_000,
                heartbeat_interval_ms: 1_000,
                max_poll_records: 20,
                auto_offset_reset: AutoOffsetReset::Earliest,
                processing_ms: 100,
                ..GroupConfig::default()
            },
            consumers: 2,
            producer: ProducerConfig::default(),
            latency: Latency::default(),
            setup: Vec::new(),
            rig: Vec::new(),
            // Three brokers, three copies of each partition: the classroom cluster.
            cluster: ReplicationConfig {
                brokers: 3,
                default_replication_factor: 3,
                ..ReplicationConfig::default()
            },
            topic: TopicConfig::default(),
            orders: false,
            hot_percent: 0,
        }
    }
}

/// The scenario's name of a cluster setting, as [`ReplicationConfig::set`] takes it (the
/// lab's topics take `default.replication.factor`, so the Setup panel calls it
/// `replication.factor`).
fn cluster_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "brokers" => "brokers",
        "replication.factor" => "default.replication.factor",
        "min.insync.replicas" => "min.insync.replicas",
        "unclean.leader.election.enable" => "unclean.leader.election.enable",
        "replica.lag.time.max.ms" => "replica.lag.time.max.ms",
        "replica.fetch.wait.max.ms" => "replica.fetch.wait.max.ms",
        "broker.session.timeout.ms" => "broker.session.timeout.ms",
        _ => return None,
    })
}

/// The lab's own settings, with their ranges (the Kafka configs have theirs in `config`).
pub const LAB_RANGES: &[crate::engine::config::Range] = &[
    (
        "partitions",
        1,
        crate::engine::cluster::MAX_PARTITIONS as u64,
    ),
    ("rate", 0, 10_000),
    ("keys", 1, 10_000),
    ("hot.percent", 0, 100),
    (
        "consumers",
        0,
        crate::engine::world::MAX_CONSUMERS_PER_GROUP as u64,
    ),
    ("seed", 0, u64::MAX),
];

impl Scenario {
    /// The default with a commit mode: `auto`, `before-processing`, `after-each-record`
    /// or `after-batch`.
    ///
    /// # Errors
    /// An unknown mode.
    pub fn with_commit_mode(mut self, mode: &str) -> Result<Self, EngineError> {
        self.group.set("commit.mode", mode)?;
        Ok(self)
    }

    /// Sets one setting by name: a lab setting (`partitions`, `rate`, `keys`, `consumers`,
    /// `seed`, `network.latency.ms`), a consumer config, or a producer config
    /// (`producer.` prefix). On error nothing changes.
    ///
    /// # Errors
    /// An unknown name or an invalid value, naming the setting.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        let v = value.trim();
        let number = |min: u64, max: u64| -> Result<u64, EngineError> {
            let n: u64 = v.parse().map_err(|_| EngineError::InvalidConfig {
                name: name.to_owned(),
                reason: format!("`{v}` is not a whole number"),
            })?;
            if n < min || n > max {
                return Err(EngineError::InvalidConfig {
                    name: name.to_owned(),
                    reason: format!("must be between {min} and {max}, not {n}"),
                });
            }
            Ok(n)
        };
        let range = |n: &str| crate::engine::config::range_of(LAB_RANGES, n).expect("stated");
        match name {
            "partitions" => {
                let (lo, hi) = range(name);
                self.partitions = number(lo, hi)? as u32
            }
            "rate" => {
                let (lo, hi) = range(name);
                self.rate_per_sec = number(lo, hi)? as u32
            }
            "keys" => {
                let (lo, hi) = range(name);
                self.keys = number(lo, hi)? as u32
            }
            "hot.percent" => {
                let (lo, hi) = range(name);
                self.hot_percent = number(lo, hi)? as u32
            }
            "values" => {
                self.orders = match v {
                    "keys" => false,
                    "orders" => true,
                    _ => {
                        return Err(EngineError::InvalidConfig {
                            name: name.to_owned(),
                            reason: "must be keys or orders".into(),
                        })
                    }
                }
            }
            "consumers" => {
                let (lo, hi) = range(name);
                self.consumers = number(lo, hi)? as u16
            }
            "seed" => self.seed = number(0, u64::MAX)?,
            "network.latency.ms" => self.latency = parse_latency(v)?,
            _ if TopicConfig::NAMES.contains(&name) => self.topic.set(name, v)?,
            _ if cluster_name(name).is_some() => {
                self.cluster.set(cluster_name(name).expect("checked"), v)?
            }
            "service.write" | "key.field" => self.producer.set(name, v)?,
            _ if name.starts_with("producer.") => {
                self.producer.set(&name["producer.".len()..], v)?
            }
            _ => self.group.set(name, v)?,
        }
        Ok(())
    }

    /// What the producer's workload draws its keys (or order events) from.
    pub fn key_space(&self) -> KeySpace {
        let (prefix, count, hot_percent) = ("order-".to_owned(), self.keys, self.hot_percent);
        if self.orders {
            KeySpace::Orders {
                customers: count,
                hot_percent,
            }
        } else if hot_percent > 0 {
            KeySpace::HotKey {
                prefix,
                count,
                hot_percent,
            }
        } else {
            KeySpace::Uniform { prefix, count }
        }
    }

    /// The value of a setting by the name [`Self::set`] takes, as text (`"3"`, `"all"`,
    /// `"range,cooperative-sticky"`, `"5-20"`): the Setup panel shows it and level goals
    /// compare it.
    pub fn get(&self, name: &str) -> String {
        let s = self;
        if name == "network.latency.ms" {
            return if s.latency.min_ms == s.latency.max_ms {
                s.latency.min_ms.to_string()
            } else {
                format!("{}-{}", s.latency.min_ms, s.latency.max_ms)
            };
        }
        let strip = name.strip_prefix("producer.");
        if let Some(p) = strip {
            if p == "partitioner.class" {
                return s.producer.partitioner.name().to_owned();
            }
            return s
                .producer
                .java_properties()
                .into_iter()
                .find(|(k, _)| *k == p)
                .map_or_else(String::new, |(_, v)| v);
        }
        if let Some(c) = cluster_name(name) {
            return s.cluster.get(c).unwrap_or_default();
        }
        if let Some(v) = s
            .topic
            .get(name)
            .filter(|_| TopicConfig::NAMES.contains(&name))
        {
            return v;
        }
        match name {
            "commit.mode" => s.commit_mode().to_owned(),
            "processing.ms" => s.group.processing_ms.to_string(),
            "dedupe" => s.group.dedupe.name().to_owned(),
            "service.write" => s.producer.service_write.name().to_owned(),
            "key.field" => s.producer.key_field.name().to_owned(),
            "values" => if s.orders { "orders" } else { "keys" }.to_owned(),
            "hot.percent" => s.hot_percent.to_string(),
            "on.error" => s.group.on_error.name().to_owned(),
            "error.retries" => s.group.error_retries.to_string(),
            "error.retry.backoff.ms" => s.group.error_retry_backoff_ms.to_string(),
            "partitions" => s.partitions.to_string(),
            "rate" => s.rate_per_sec.to_string(),
            "keys" => s.keys.to_string(),
            "consumers" => s.consumers.to_string(),
            "seed" => s.seed.to_string(),
            "partition.assignment.strategy" => s
                .group
                .partition_assignment_strategy
                .iter()
                .map(|x| x.kafka_name())
                .collect::<Vec<_>>()
                .join(","),
            _ => s
                .group
                .java_properties()
                .into_iter()
                .find(|(k, _)| *k == name)
                .map_or_else(String::new, |(_, v)| v),
        }
    }

    /// Every setting [`Self::get`] and [`Self::set`] know, by name, the ones that imply
    /// others first (`commit.mode` sets `enable.auto.commit`; `producer.acks` decides the
    /// default of `enable.idempotence`), each once.
    pub fn setting_names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "commit.mode",
            "producer.acks",
            "producer.enable.idempotence",
            "brokers",
            "replication.factor",
            "min.insync.replicas",
            "unclean.leader.election.enable",
            "replica.lag.time.max.ms",
            "replica.fetch.wait.max.ms",
            "broker.session.timeout.ms",
            "partitions",
            "rate",
            "keys",
            "values",
            "hot.percent",
            "consumers",
            "seed",
            "network.latency.ms",
            "processing.ms",
            "dedupe",
            "on.error",
            "service.write",
            "key.field",
            "error.retries",
            "error.retry.backoff.ms",
            "partition.assignment.strategy",
            "producer.partitioner.class",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        names.extend(TopicConfig::NAMES.iter().map(|s| (*s).to_owned()));
        names.extend(
            self.group
                .java_properties()
                .into_iter()
                .map(|(k, _)| k.to_owned()),
        );
        names.extend(
            self.producer
                .java_properties()
                .into_iter()
                .map(|(k, _)| format!("producer.{k}")),
        );
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }

    /// The settings to change on this scenario, in order, to give `target`'s values, and
    /// the scenario they give. A setting implied by an earlier one is not listed. Setup,
    /// rig and latency are the caller's to compare.
    ///
    /// # Errors
    /// A value that cannot be set here, or a setting that stays different, in words
    /// ("settings cannot be reached ... (`x` differs)").
    pub fn changes_to(&self, target: &Scenario) -> Result<(Vec<String>, Scenario), String> {
        let names = self.setting_names();
        let mut current = self.clone();
        let mut changed = Vec::new();
        for n in &names {
            let want = target.get(n);
            if current.get(n) != want {
                current
                    .set(n, &want)
                    .map_err(|e| format!("`{n}` cannot be replayed here: {e}"))?;
                changed.push(n.clone());
            }
        }
        match names.iter().find(|n| current.get(n) != target.get(n)) {
            Some(n) => Err(format!(
                "settings cannot be reached from the level's start (`{n}` differs)"
            )),
            None => Ok((changed, current)),
        }
    }

    /// True for the names of the cluster's settings (`brokers`, `replication.factor`...).
    pub fn cluster_setting(&self, name: &str) -> bool {
        cluster_name(name).is_some()
    }

    /// The commit mode's name, as [`Self::with_commit_mode`] takes it.
    pub fn commit_mode(&self) -> &'static str {
        self.group.manual_commit.name()
    }

    /// Checks every value (a scenario read from storage or a link goes through here).
    ///
    /// # Errors
    /// The first value out of range, naming it.
    pub fn validate(&self) -> Result<(), EngineError> {
        for (name, value) in [
            ("partitions", u64::from(self.partitions)),
            ("rate", u64::from(self.rate_per_sec)),
            ("keys", u64::from(self.keys)),
            ("consumers", u64::from(self.consumers)),
        ] {
            let (lo, hi) = crate::engine::config::range_of(LAB_RANGES, name).expect("stated");
            if value < lo || value > hi {
                return Err(EngineError::InvalidConfig {
                    name: name.into(),
                    reason: format!("must be between {lo} and {hi}, not {value}"),
                });
            }
        }
        if self.setup.len() > 64 || self.rig.len() > 64 {
            return Err(EngineError::LimitExceeded {
                what: "setup commands",
                limit: 64,
            });
        }
        if self
            .rig
            .iter()
            .any(|(t, _)| *t > crate::engine::sim::MAX_TIME_MS)
        {
            return Err(EngineError::LimitExceeded {
                what: "ms of virtual time",
                limit: crate::engine::sim::MAX_TIME_MS,
            });
        }
        for name in ["brokers", "replication.factor", "min.insync.replicas"] {
            let value = self.get(name);
            let mut check = ReplicationConfig::default();
            check.set(cluster_name(name).expect("a cluster setting"), &value)?;
        }
        self.group.validate()?;
        self.producer.validate()
    }

    /// Builds the lab: topic `orders`, group `payments` with its consumers, producer 1
    /// with the workload, then the extra setup.
    ///
    /// # Errors
    /// Any value out of range, or a setup command the engine refuses.
    pub fn build(&self) -> Result<Sim, EngineError> {
        self.validate()?;
        let mut sim = Sim::with_replication(self.seed, self.cluster.clone());
        sim.apply(Command::CreateTopic {
            name: "orders".into(),
            partitions: self.partitions,
            config: self.topic.clone(),
        })?;
        sim.set_latency(self.latency)?;
        sim.apply(Command::AddGroup {
            group_id: "payments".into(),
            config: self.group.clone(),
            topics: vec!["orders".into()],
        })?;
        for _ in 0..self.consumers {
            sim.apply(Command::AddConsumer {
                group: GroupId(0),
                group_instance_id: None,
            })?;
        }
        let workload = (self.rate_per_sec > 0).then(|| Workload {
            rate_per_sec: self.rate_per_sec,
            key_space: self.key_space(),
            payload_bytes: 100,
            topic: TopicId(0),
        });
        sim.apply(Command::AddProducer {
            config: self.producer.clone(),
            workload,
        })?;
        for command in &self.setup {
            sim.apply(command.clone())?;
        }
        for (at_ms, command) in &self.rig {
            sim.schedule_command(*at_ms, command.clone());
        }
        Ok(sim)
    }
}

/// `network.latency.ms`: `N` or `MIN-MAX`.
fn parse_latency(v: &str) -> Result<Latency, EngineError> {
    let bad = || EngineError::InvalidConfig {
        name: "network.latency.ms".into(),
        reason: format!(
            "write N or MIN-MAX in ms, at most {}",
            crate::engine::net::MAX_LATENCY_MS
        ),
    };
    let (a, b) = v.split_once('-').unwrap_or((v, v));
    let min: u64 = a.trim().parse().map_err(|_| bad())?;
    let max: u64 = b.trim().parse().map_err(|_| bad())?;
    if min > max || max > crate::engine::net::MAX_LATENCY_MS {
        return Err(bad());
    }
    Ok(Latency {
        min_ms: min,
        max_ms: max,
    })
}

/// A commit mode's explanation, in one sentence (for where it is chosen).
pub fn commit_mode_sentence(mode: ManualCommit) -> &'static str {
    match mode {
        ManualCommit::Off => "enable.auto.commit=true: every auto.commit.interval.ms, poll() commits what earlier polls returned; a crash repeats up to one interval.",
        ManualCommit::BeforeProcessing => "commitSync() right after poll(), before processing: a crash loses what was fetched (at-most-once).",
        ManualCommit::AfterEachRecord => "commitSync() after every record: a crash repeats at most the record in hand (slow, but tight).",
        ManualCommit::AfterBatch => "commitSync() after the whole batch: a crash repeats the batch in hand (at-least-once).",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_and_their_key_field_are_settings_with_clear_refusals() {
        let mut s = Scenario::default();
        for (name, bad, says) in [
            ("key.field", "sku", "must be order_id, customer_id"),
            ("values", "json", "must be keys or orders"),
            ("hot.percent", "101", "between 0 and 100"),
        ] {
            let e = s.set(name, bad).unwrap_err().to_string();
            assert!(e.contains(says), "{name}={bad}: {e}");
        }
        assert_eq!(s, Scenario::default(), "a refused value changes nothing");
        s.set("values", "orders").unwrap();
        s.set("key.field", "customer_id+order_id").unwrap();
        s.set("hot.percent", "60").unwrap();
        assert_eq!(
            s.key_space(),
            KeySpace::Orders {
                customers: s.keys,
                hot_percent: 60
            }
        );
        for name in ["values", "key.field", "hot.percent"] {
            let v = s.get(name);
            let mut t = Scenario::default();
            t.set(name, &v).unwrap();
            assert_eq!(t.get(name), v, "{name} reads back");
        }
        let json = serde_json::to_string(&Scenario::default()).unwrap();
        assert!(
            !json.contains("\"orders\":") && !json.contains("key_field"),
            "defaults stay out of saved files"
        );
    }

    #[test]
    fn settings_by_name_validate_and_refuse_without_change() {
        let mut s = Scenario::default();
        s.set("producer.acks", "1").unwrap();
        s.set("session.timeout.ms", "12000").unwrap();
        s.set("partitions", "6").unwrap();
        s.set("network.latency.ms", "1-5").unwrap();
        assert_eq!((s.partitions, s.group.session_timeout_ms), (6, 12_000));
        assert_eq!((s.latency.min_ms, s.latency.max_ms), (1, 5));
        let before = s.clone();
        for (name, value) in [
            ("partitions", "65"),
            ("producer.acks", "2"),
            ("max.poll.records", "x"),
            ("network.latency.ms", "9-3"),
            ("nope", "1"),
        ] {
            let err = s.set(name, value).unwrap_err();
            assert!(
                err.to_string()
                    .contains(name.trim_start_matches("producer.")),
                "{err}"
            );
        }
        assert_eq!(s, before);
        assert!(s.build().is_ok());
    }

    #[test]
    fn bad_mode_is_refused() {
        assert!(Scenario::default().with_commit_mode("sometimes").is_err());
    }

    #[test]
    fn a_scenario_from_storage_is_range_checked() {
        let s = Scenario {
            partitions: 0,
            ..Scenario::default()
        };
        assert!(s.build().is_err());
        let mut g = Scenario::default();
        g.group.max_poll_interval_ms = u64::MAX;
        assert!(g.build().is_err());
    }
}
