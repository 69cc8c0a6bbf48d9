//! Configuration with Kafka's real names, defaults (Kafka 4.x Java client) and units.
//!
//! Each config struct parses `name = value` pairs the way the UI receives them, and refuses
//! a bad value with an [`EngineError::InvalidConfig`] that names the config.

use super::assignor::Strategy;
use super::error::EngineError;

/// `acks`: how many replicas must have a record before the producer hears back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Acks {
    /// `acks=0`: no response at all; the producer learns no offset.
    Zero,
    /// `acks=1`: the leader answers after its own append.
    One,
    /// `acks=all` (`-1`): the leader answers once every in-sync replica has it. The default.
    All,
}

impl Acks {
    /// The value as Kafka writes it.
    pub fn kafka_value(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

/// Which partitioner a producer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PartitionerKind {
    /// The Java producer's built-in logic (no `partitioner.class`): murmur2 for keys, uniform
    /// sticky for null keys.
    JavaDefault,
    /// `org.apache.kafka.clients.producer.RoundRobinPartitioner`.
    RoundRobin,
    /// librdkafka's default `consistent_random`: CRC32 for keys, random (sticky) for empty ones.
    LibrdkafkaConsistentRandom,
}

impl PartitionerKind {
    /// The name the UI and `partitioner.class` show.
    pub fn name(self) -> &'static str {
        match self {
            PartitionerKind::JavaDefault => "default",
            PartitionerKind::RoundRobin => {
                "org.apache.kafka.clients.producer.RoundRobinPartitioner"
            }
            PartitionerKind::LibrdkafkaConsistentRandom => "consistent_random",
        }
    }
}

/// Producer configuration (Kafka 4.x defaults).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProducerConfig {
    /// `acks`, default `all`.
    pub acks: Acks,
    /// `enable.idempotence`: `None` = not set by the user (default true, but silently off when
    /// another setting conflicts); `Some(true)` set explicitly (conflicts are errors).
    pub enable_idempotence: Option<bool>,
    /// `linger.ms`, default 5 (Kafka 4.0, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size` in bytes, default 16384; 0 behaves like 1 (no batching).
    pub batch_size: u32,
    /// `max.in.flight.requests.per.connection`, default 5.
    pub max_in_flight_requests_per_connection: u32,
    /// `retries`, default `Integer.MAX_VALUE`; bounded in practice by `delivery.timeout.ms`.
    pub retries: u32,
    /// `retry.backoff.ms`, default 100.
    pub retry_backoff_ms: u64,
    /// `request.timeout.ms`, default 30000.
    pub request_timeout_ms: u64,
    /// `delivery.timeout.ms`, default 120000.
    pub delivery_timeout_ms: u64,
    /// The partitioner (`partitioner.class`, or librdkafka's `partitioner`).
    pub partitioner: PartitionerKind,
    /// `partitioner.ignore.keys`, default false.
    pub partitioner_ignore_keys: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: None,
            linger_ms: 5,
            batch_size: 16384,
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            partitioner: PartitionerKind::JavaDefault,
            partitioner_ignore_keys: false,
        }
    }
}

impl ProducerConfig {
    /// Whether the producer is idempotent, as `KafkaProducer` decides it: on by default, but
    /// silently off when the user did not set it and `acks` is not `all`, `retries` is 0, or
    /// more than 5 requests may be in flight.
    pub fn idempotence(&self) -> bool {
        match self.enable_idempotence {
            Some(explicit) => explicit,
            None => !self.idempotence_conflict(),
        }
    }

    fn idempotence_conflict(&self) -> bool {
        self.acks != Acks::All
            || self.retries == 0
            || self.max_in_flight_requests_per_connection > 5
    }

    /// Checks the whole config, as `ProducerConfig` does at construction.
    ///
    /// # Errors
    /// `enable.idempotence=true` set explicitly together with a conflicting setting
    /// (Kafka raises `ConfigException`), or an out-of-range value.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.enable_idempotence == Some(true) && self.idempotence_conflict() {
            let reason = if self.acks != Acks::All {
                "must be false when acks is not `all` (Kafka raises ConfigException)"
            } else if self.retries == 0 {
                "must be false when retries is 0 (Kafka raises ConfigException)"
            } else {
                "must be false when max.in.flight.requests.per.connection is above 5 (Kafka raises ConfigException)"
            };
            return Err(invalid("enable.idempotence", reason));
        }
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(invalid(
                "max.in.flight.requests.per.connection",
                "must be at least 1",
            ));
        }
        if self.request_timeout_ms == 0 {
            return Err(invalid("request.timeout.ms", "must be at least 1"));
        }
        Ok(())
    }

    /// Sets one config by its Kafka name, then validates the result; on error nothing changes.
    ///
    /// # Errors
    /// An unknown name, a malformed or out-of-range value, or a conflict (see [`Self::validate`]).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        let mut next = self.clone();
        let v = value.trim();
        match name {
            "acks" => {
                next.acks = match v {
                    "0" => Acks::Zero,
                    "1" => Acks::One,
                    "all" | "-1" => Acks::All,
                    _ => return Err(invalid(name, "must be one of all, -1, 0, 1")),
                }
            }
            "enable.idempotence" => next.enable_idempotence = Some(parse_bool(name, v)?),
            "linger.ms" => next.linger_ms = parse_num(name, v, 0, 60_000)?,
            "batch.size" => next.batch_size = parse_num(name, v, 0, 1_048_576)? as u32,
            "max.in.flight.requests.per.connection" => {
                next.max_in_flight_requests_per_connection = parse_num(name, v, 1, 100)? as u32
            }
            "retries" => next.retries = parse_num(name, v, 0, i32::MAX as u64)? as u32,
            "retry.backoff.ms" => next.retry_backoff_ms = parse_num(name, v, 0, 60_000)?,
            "request.timeout.ms" => next.request_timeout_ms = parse_num(name, v, 1, 600_000)?,
            "delivery.timeout.ms" => next.delivery_timeout_ms = parse_num(name, v, 1, 3_600_000)?,
            "partitioner.ignore.keys" => next.partitioner_ignore_keys = parse_bool(name, v)?,
            "partitioner.class" | "partitioner" => {
                next.partitioner = match v {
                    "" | "default" | "null" => PartitionerKind::JavaDefault,
                    "org.apache.kafka.clients.producer.RoundRobinPartitioner" | "RoundRobinPartitioner" | "roundrobin" => {
                        PartitionerKind::RoundRobin
                    }
                    "consistent_random" => PartitionerKind::LibrdkafkaConsistentRandom,
                    _ => {
                        return Err(invalid(
                            name,
                            "the lab knows default, org.apache.kafka.clients.producer.RoundRobinPartitioner and consistent_random",
                        ))
                    }
                }
            }
            _ => return Err(invalid(name, "not a producer config the lab models")),
        }
        next.validate()?;
        *self = next;
        Ok(())
    }
}

/// `auto.offset.reset`: where a consumer starts when its group has no committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AutoOffsetReset {
    /// Start at the log start offset: a new group replays history.
    Earliest,
    /// Start at the log end offset: only new records. The default.
    Latest,
    /// Fail (`NoOffsetForPartitionException`).
    None,
}

/// How the lab's consumer application commits, besides `enable.auto.commit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ManualCommit {
    /// The application never calls commit itself.
    Off,
    /// `commitSync` of the polled positions right after `poll()`, before processing
    /// (at-most-once).
    BeforeProcessing,
    /// `commitSync` after each processed record (at-least-once, fine-grained).
    AfterEachRecord,
    /// `commitSync` after the whole polled batch is processed (at-least-once).
    AfterBatch,
}

/// A consumer group's configuration: Kafka's consumer configs plus the lab's application model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GroupConfig {
    /// `partition.assignment.strategy`, default `[range, cooperative-sticky]` (resolves to eager range).
    pub partition_assignment_strategy: Vec<Strategy>,
    /// `session.timeout.ms`, default 45000.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`, default 3000.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`, default 300000 (also the rebalance timeout).
    pub max_poll_interval_ms: u64,
    /// `max.poll.records`, default 500.
    pub max_poll_records: u32,
    /// `enable.auto.commit`, default true.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`, default 5000.
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset`, default latest.
    pub auto_offset_reset: AutoOffsetReset,
    /// Lab: how the application commits by hand.
    pub manual_commit: ManualCommit,
    /// Lab: how long the application takes to process one record.
    pub processing_ms: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            partition_assignment_strategy: vec![Strategy::Range, Strategy::CooperativeSticky],
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            max_poll_records: 500,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: AutoOffsetReset::Latest,
            manual_commit: ManualCommit::Off,
            processing_ms: 10,
        }
    }
}

/// Broker-side limits on `session.timeout.ms` (`group.min/max.session.timeout.ms`).
pub const GROUP_MIN_SESSION_TIMEOUT_MS: u64 = 6_000;
/// See [`GROUP_MIN_SESSION_TIMEOUT_MS`].
pub const GROUP_MAX_SESSION_TIMEOUT_MS: u64 = 1_800_000;

impl GroupConfig {
    /// Checks the whole config.
    ///
    /// # Errors
    /// An empty strategy list, a session timeout outside the broker's limits, or a heartbeat
    /// interval not below the session timeout (Kafka's `ConsumerConfig` rule).
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.partition_assignment_strategy.is_empty() {
            return Err(invalid(
                "partition.assignment.strategy",
                "needs at least one assignor",
            ));
        }
        if !(GROUP_MIN_SESSION_TIMEOUT_MS..=GROUP_MAX_SESSION_TIMEOUT_MS)
            .contains(&self.session_timeout_ms)
        {
            return Err(invalid(
                "session.timeout.ms",
                &format!(
                    "the broker accepts {GROUP_MIN_SESSION_TIMEOUT_MS} to {GROUP_MAX_SESSION_TIMEOUT_MS} (group.min/max.session.timeout.ms)"
                ),
            ));
        }
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            return Err(invalid(
                "heartbeat.interval.ms",
                "must be lower than session.timeout.ms",
            ));
        }
        Ok(())
    }

    /// Sets one config by its Kafka name (or a lab name), then validates; on error nothing changes.
    ///
    /// # Errors
    /// An unknown name, a malformed or out-of-range value, or an inconsistent combination.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        let mut next = self.clone();
        let v = value.trim();
        match name {
            "partition.assignment.strategy" => {
                let mut list = Vec::new();
                for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let s = Strategy::from_kafka_name(part).ok_or_else(|| {
                        invalid(name, &format!("unknown assignor `{part}`; use range, roundrobin, sticky, cooperative-sticky"))
                    })?;
                    if !list.contains(&s) {
                        list.push(s);
                    }
                }
                next.partition_assignment_strategy = list;
            }
            "session.timeout.ms" => next.session_timeout_ms = parse_num(name, v, 1, 3_600_000)?,
            "heartbeat.interval.ms" => {
                next.heartbeat_interval_ms = parse_num(name, v, 1, 3_600_000)?
            }
            "max.poll.interval.ms" => next.max_poll_interval_ms = parse_num(name, v, 1, 3_600_000)?,
            "max.poll.records" => next.max_poll_records = parse_num(name, v, 1, 100_000)? as u32,
            "enable.auto.commit" => next.enable_auto_commit = parse_bool(name, v)?,
            "auto.commit.interval.ms" => {
                next.auto_commit_interval_ms = parse_num(name, v, 1, 3_600_000)?
            }
            "auto.offset.reset" => {
                next.auto_offset_reset = match v {
                    "earliest" => AutoOffsetReset::Earliest,
                    "latest" => AutoOffsetReset::Latest,
                    "none" => AutoOffsetReset::None,
                    _ => return Err(invalid(name, "must be earliest, latest or none")),
                }
            }
            "commit.mode" => {
                next.manual_commit = match v {
                    "auto" | "off" => ManualCommit::Off,
                    "before-processing" => ManualCommit::BeforeProcessing,
                    "after-each-record" => ManualCommit::AfterEachRecord,
                    "after-batch" => ManualCommit::AfterBatch,
                    _ => {
                        return Err(invalid(
                            name,
                            "must be auto, before-processing, after-each-record or after-batch",
                        ))
                    }
                };
                // The lab's commit modes are either auto-commit or the application's own commits.
                next.enable_auto_commit = next.manual_commit == ManualCommit::Off;
            }
            "processing.ms" => next.processing_ms = parse_num(name, v, 0, 3_600_000)?,
            _ => return Err(invalid(name, "not a consumer config the lab models")),
        }
        next.validate()?;
        *self = next;
        Ok(())
    }
}

fn invalid(name: &str, reason: &str) -> EngineError {
    EngineError::InvalidConfig {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, EngineError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, "must be true or false")),
    }
}

fn parse_num(name: &str, v: &str, min: u64, max: u64) -> Result<u64, EngineError> {
    let n: u64 = v
        .parse()
        .map_err(|_| invalid(name, &format!("`{v}` is not a whole number")))?;
    if n < min || n > max {
        return Err(invalid(name, &format!("must be between {min} and {max}")));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafka_4() {
        let p = ProducerConfig::default();
        assert_eq!(
            (
                p.acks,
                p.linger_ms,
                p.batch_size,
                p.max_in_flight_requests_per_connection
            ),
            (Acks::All, 5, 16384, 5)
        );
        assert!(p.idempotence());
        let g = GroupConfig::default();
        assert_eq!(
            g.partition_assignment_strategy,
            vec![Strategy::Range, Strategy::CooperativeSticky]
        );
        assert_eq!(
            (
                g.session_timeout_ms,
                g.heartbeat_interval_ms,
                g.max_poll_interval_ms
            ),
            (45_000, 3_000, 300_000)
        );
        assert_eq!(
            (
                g.max_poll_records,
                g.enable_auto_commit,
                g.auto_commit_interval_ms
            ),
            (500, true, 5_000)
        );
        assert_eq!(g.auto_offset_reset, AutoOffsetReset::Latest);
    }

    #[test]
    fn idempotence_is_silently_disabled_by_acks_1_unless_explicit() {
        let mut p = ProducerConfig::default();
        p.set("acks", "1").unwrap();
        assert!(!p.idempotence());
        let mut q = ProducerConfig::default();
        q.set("enable.idempotence", "true").unwrap();
        let err = q.set("acks", "1").unwrap_err();
        assert!(err.to_string().contains("enable.idempotence"), "{err}");
        assert_eq!(q.acks, Acks::All, "a refused value changes nothing");
    }

    #[test]
    fn bad_values_name_the_config() {
        let mut g = GroupConfig::default();
        for (name, value) in [
            ("session.timeout.ms", "abc"),
            ("session.timeout.ms", "1000"),
            ("heartbeat.interval.ms", "45000"),
            ("auto.offset.reset", "smallest"),
            ("partition.assignment.strategy", "fastest"),
            ("no.such.config", "1"),
        ] {
            let err = g.set(name, value).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
        assert_eq!(g, GroupConfig::default());
    }
}
