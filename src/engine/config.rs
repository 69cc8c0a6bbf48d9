//! Configuration with Kafka's real names, defaults (Kafka 4.x Java client) and units.
//!
//! Every numeric setting has one range, stated once in [`PRODUCER_RANGES`] or
//! [`GROUP_RANGES`] (Kafka's own range, or the lab's cap where that is smaller). `validate`
//! checks all of them, and every path goes through it: `set` by name (the UI), commands
//! (`AddProducer`, `AddGroup`), and sessions read back from storage or a link. A refused
//! value changes nothing and names the config.

use super::assignor::Strategy;
use super::error::EngineError;
use super::value::KeyField;

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

/// Lab: how the service that produces writes its own database along with each event (the
/// dual write of seeds 004 §15 and 001's outbox).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ServiceWrite {
    /// No database: the service only produces.
    #[default]
    KafkaOnly,
    /// Dual write: the order row first, then `send()`. A crash before the event is sent
    /// leaves a row without an event.
    RowThenEvent,
    /// Dual write: `send()` first, the row in the acknowledgement's callback. A crash
    /// before the callback leaves an event without a row.
    EventThenRow,
    /// The row and an outbox entry in one database transaction; a relay produces the
    /// outbox and marks an entry done only when acknowledged, so after a crash it sends
    /// every unacknowledged entry again (at least once).
    Outbox,
}

impl ServiceWrite {
    /// Its name in settings and level files.
    pub fn name(self) -> &'static str {
        match self {
            ServiceWrite::KafkaOnly => "kafka-only",
            ServiceWrite::RowThenEvent => "row-then-event",
            ServiceWrite::EventThenRow => "event-then-row",
            ServiceWrite::Outbox => "outbox",
        }
    }

    fn is_kafka_only(&self) -> bool {
        *self == ServiceWrite::KafkaOnly
    }
}

/// Producer configuration (Kafka 4.x defaults).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProducerConfig {
    /// `acks`, default `all`.
    pub acks: Acks,
    /// `enable.idempotence`: `None` = not set by the user (default true, but silently off
    /// when `acks` is not `all` or `retries` is 0); `Some(_)` set explicitly.
    pub enable_idempotence: Option<bool>,
    /// `linger.ms`, default 5 (Kafka 4.0, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size` in bytes, default 16384; 0 behaves like 1 (no batching).
    pub batch_size: u32,
    /// `max.in.flight.requests.per.connection`, default 5.
    pub max_in_flight_requests_per_connection: u32,
    /// `retries`, default `Integer.MAX_VALUE`; bounded in practice by `delivery.timeout.ms`.
    pub retries: u32,
    /// `retry.backoff.ms`, default 100: the first retry's backoff.
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms`, default 1000: the backoff doubles per attempt up to this.
    #[serde(default = "default_retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// `request.timeout.ms`, default 30000.
    pub request_timeout_ms: u64,
    /// `delivery.timeout.ms`: `None` = Kafka's default 120000 (raised to
    /// `linger.ms + request.timeout.ms` if that is more); `Some` = set explicitly.
    pub delivery_timeout_ms: Option<u64>,
    /// The partitioner (`partitioner.class`, or librdkafka's `partitioner`).
    pub partitioner: PartitionerKind,
    /// `partitioner.ignore.keys`, default false.
    pub partitioner_ignore_keys: bool,
    /// `partitioner.adaptive.partitioning.enable`, default true.
    #[serde(default = "default_true")]
    pub partitioner_adaptive_partitioning_enable: bool,
    /// Lab: how the producing service writes its database with each event.
    #[serde(default, skip_serializing_if = "ServiceWrite::is_kafka_only")]
    pub service_write: ServiceWrite,
    /// Lab: the field of a typed order value its key is taken from (`key.field`).
    #[serde(default, skip_serializing_if = "KeyField::is_default")]
    pub key_field: KeyField,
}

fn default_retry_backoff_max_ms() -> u64 {
    1_000
}

fn default_true() -> bool {
    true
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
            retry_backoff_max_ms: 1_000,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: None,
            partitioner: PartitionerKind::JavaDefault,
            partitioner_ignore_keys: false,
            partitioner_adaptive_partitioning_enable: true,
            service_write: ServiceWrite::KafkaOnly,
            key_field: KeyField::OrderId,
        }
    }
}

/// One numeric setting's range: `(name, min, max)`. The only place a range is stated.
pub type Range = (&'static str, u64, u64);

/// Producer ranges: Kafka's validators, capped where the lab needs a bound.
pub const PRODUCER_RANGES: &[Range] = &[
    ("linger.ms", 0, 60_000),
    ("batch.size", 0, 1_048_576),
    ("max.in.flight.requests.per.connection", 1, 100),
    ("retries", 0, i32::MAX as u64),
    ("retry.backoff.ms", 0, 60_000),
    ("retry.backoff.max.ms", 0, 60_000),
    ("request.timeout.ms", 1, 600_000),
    ("delivery.timeout.ms", 1, 3_600_000),
];

/// Consumer group ranges. `session.timeout.ms` is the broker's
/// `group.min.session.timeout.ms` to `group.max.session.timeout.ms`.
pub const GROUP_RANGES: &[Range] = &[
    ("session.timeout.ms", 6_000, 1_800_000),
    ("heartbeat.interval.ms", 1, 1_800_000),
    ("max.poll.interval.ms", 1, 86_400_000),
    ("max.poll.records", 1, 100_000),
    ("auto.commit.interval.ms", 0, 3_600_000),
    ("processing.ms", 0, 60_000),
    ("error.retries", 0, 10),
    ("error.retry.backoff.ms", 0, 60_000),
];

/// The range of `name` in `table`.
pub fn range_of(table: &[Range], name: &str) -> Option<(u64, u64)> {
    table
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// Parses a whole number and checks it against `lo..=hi`, naming the setting.
///
/// # Errors
/// Not a whole number, or outside the range.
pub fn parse_in_range(name: &str, v: &str, lo: u64, hi: u64) -> Result<u64, EngineError> {
    let n = parse_u64(name, v)?;
    if n < lo || n > hi {
        return Err(invalid(
            name,
            &format!("must be between {lo} and {hi}, not {n}"),
        ));
    }
    Ok(n)
}

fn check_range(table: &[Range], name: &str, value: u64) -> Result<(), EngineError> {
    let (lo, hi) = range_of(table, name).expect("every checked name has a range");
    if value < lo || value > hi {
        return Err(invalid(
            name,
            &format!("must be between {lo} and {hi}, not {value}"),
        ));
    }
    Ok(())
}

impl ProducerConfig {
    /// Whether the producer is idempotent, as `KafkaProducer` decides it: on by default,
    /// silently off when the user did not set it and `acks` is not `all` or `retries` is 0.
    pub fn idempotence(&self) -> bool {
        match self.enable_idempotence {
            Some(explicit) => explicit,
            None => self.acks == Acks::All && self.retries != 0,
        }
    }

    /// `delivery.timeout.ms` as the producer uses it (`KafkaProducer.configureDeliveryTimeout`:
    /// the default is raised to `linger.ms + request.timeout.ms` when that is more).
    pub fn delivery_timeout_ms(&self) -> u64 {
        self.delivery_timeout_ms.unwrap_or_else(|| {
            120_000u64.max(self.linger_ms.saturating_add(self.request_timeout_ms))
        })
    }

    /// Checks the whole config, as `ProducerConfig` and `KafkaProducer` do at construction.
    ///
    /// # Errors
    /// A value outside its range, or a combination Kafka 4.x refuses with ConfigException
    /// (its message is kept).
    pub fn validate(&self) -> Result<(), EngineError> {
        check_range(PRODUCER_RANGES, "linger.ms", self.linger_ms)?;
        check_range(PRODUCER_RANGES, "batch.size", u64::from(self.batch_size))?;
        check_range(
            PRODUCER_RANGES,
            "max.in.flight.requests.per.connection",
            u64::from(self.max_in_flight_requests_per_connection),
        )?;
        check_range(PRODUCER_RANGES, "retries", u64::from(self.retries))?;
        check_range(PRODUCER_RANGES, "retry.backoff.ms", self.retry_backoff_ms)?;
        check_range(
            PRODUCER_RANGES,
            "retry.backoff.max.ms",
            self.retry_backoff_max_ms,
        )?;
        check_range(
            PRODUCER_RANGES,
            "request.timeout.ms",
            self.request_timeout_ms,
        )?;
        if let Some(d) = self.delivery_timeout_ms {
            check_range(PRODUCER_RANGES, "delivery.timeout.ms", d)?;
            // KafkaProducer.configureDeliveryTimeout: only an explicit value is refused.
            if d < self.linger_ms + self.request_timeout_ms {
                return Err(invalid(
                    "delivery.timeout.ms",
                    "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms (Kafka raises ConfigException)",
                ));
            }
        }
        // ProducerConfig.postProcessAndValidateIdempotenceConfigs (4.x).
        if self.enable_idempotence == Some(true) {
            if self.retries == 0 {
                return Err(invalid(
                    "enable.idempotence",
                    "Must set retries to non-zero when using the idempotent producer (Kafka raises ConfigException)",
                ));
            }
            if self.acks != Acks::All {
                return Err(invalid(
                    "enable.idempotence",
                    "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence (Kafka raises ConfigException)",
                ));
            }
        }
        if self.idempotence() && self.max_in_flight_requests_per_connection > 5 {
            // Since 4.0 (KAFKA-17927) this is an error whenever idempotence is on, including
            // the default; 3.x silently turned idempotence off.
            return Err(invalid(
                "max.in.flight.requests.per.connection",
                &format!(
                    "To use the idempotent producer, max.in.flight.requests.per.connection must be set to at most 5. Current value is {}. (Kafka 4 raises ConfigException; set enable.idempotence=false to allow more)",
                    self.max_in_flight_requests_per_connection
                ),
            ));
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
            "service.write" => {
                next.service_write = match v {
                    "kafka-only" => ServiceWrite::KafkaOnly,
                    "row-then-event" => ServiceWrite::RowThenEvent,
                    "event-then-row" => ServiceWrite::EventThenRow,
                    "outbox" => ServiceWrite::Outbox,
                    _ => {
                        return Err(invalid(
                            name,
                            "must be kafka-only, row-then-event, event-then-row or outbox",
                        ))
                    }
                }
            }
            "key.field" => {
                next.key_field = KeyField::parse(v).ok_or_else(|| {
                    invalid(
                        name,
                        "must be order_id, customer_id, customer_id+order_id or none",
                    )
                })?
            }
            "linger.ms" => next.linger_ms = parse_u64(name, v)?,
            "batch.size" => next.batch_size = parse_u32(name, v)?,
            "max.in.flight.requests.per.connection" => {
                next.max_in_flight_requests_per_connection = parse_u32(name, v)?
            }
            "retries" => next.retries = parse_u32(name, v)?,
            "retry.backoff.ms" => next.retry_backoff_ms = parse_u64(name, v)?,
            "retry.backoff.max.ms" => next.retry_backoff_max_ms = parse_u64(name, v)?,
            "request.timeout.ms" => next.request_timeout_ms = parse_u64(name, v)?,
            "delivery.timeout.ms" => next.delivery_timeout_ms = Some(parse_u64(name, v)?),
            "partitioner.ignore.keys" => next.partitioner_ignore_keys = parse_bool(name, v)?,
            "partitioner.adaptive.partitioning.enable" => {
                next.partitioner_adaptive_partitioning_enable = parse_bool(name, v)?
            }
            "partitioner.class" | "partitioner" => {
                next.partitioner = match v {
                    "" | "default" | "null" => PartitionerKind::JavaDefault,
                    "org.apache.kafka.clients.producer.RoundRobinPartitioner"
                    | "RoundRobinPartitioner"
                    | "roundrobin" => PartitionerKind::RoundRobin,
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

    /// The config as `name = value` lines a Java client would take (for "reproduce it").
    pub fn java_properties(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("acks", self.acks.kafka_value().to_owned()),
            ("enable.idempotence", self.idempotence().to_string()),
            ("linger.ms", self.linger_ms.to_string()),
            ("batch.size", self.batch_size.to_string()),
            (
                "max.in.flight.requests.per.connection",
                self.max_in_flight_requests_per_connection.to_string(),
            ),
            ("retries", self.retries.to_string()),
            ("retry.backoff.ms", self.retry_backoff_ms.to_string()),
            (
                "retry.backoff.max.ms",
                self.retry_backoff_max_ms.to_string(),
            ),
            ("request.timeout.ms", self.request_timeout_ms.to_string()),
            (
                "delivery.timeout.ms",
                self.delivery_timeout_ms().to_string(),
            ),
            (
                "partitioner.ignore.keys",
                self.partitioner_ignore_keys.to_string(),
            ),
            (
                "partitioner.adaptive.partitioning.enable",
                self.partitioner_adaptive_partitioning_enable.to_string(),
            ),
        ];
        if self.partitioner == PartitionerKind::RoundRobin {
            out.push(("partitioner.class", self.partitioner.name().to_owned()));
        }
        out
    }
}

/// `auto.offset.reset`: where a consumer starts when its group has no committed offset, or
/// when its position is out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AutoOffsetReset {
    /// Start at the log start offset: a new group replays history.
    Earliest,
    /// Start at the log end offset: only new records. The default.
    Latest,
    /// Fail (`NoOffsetForPartitionException` / `OffsetOutOfRangeException`).
    None,
}

impl AutoOffsetReset {
    /// The value as Kafka writes it.
    pub fn kafka_value(self) -> &'static str {
        match self {
            AutoOffsetReset::Earliest => "earliest",
            AutoOffsetReset::Latest => "latest",
            AutoOffsetReset::None => "none",
        }
    }
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

impl ManualCommit {
    /// The lab's name for the mode (`commit.mode`).
    pub fn name(self) -> &'static str {
        match self {
            ManualCommit::Off => "auto",
            ManualCommit::BeforeProcessing => "before-processing",
            ManualCommit::AfterEachRecord => "after-each-record",
            ManualCommit::AfterBatch => "after-batch",
        }
    }
}

/// Lab: how a group's application guards its database against a record delivered twice
/// (the idempotent consumer of the seeds, 004 §9 and §20).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Dedupe {
    /// Every delivery applies its effect: a record delivered twice is charged twice.
    #[default]
    Off,
    /// Each record's event id is stored with its effect, in the same write, and a record
    /// whose id is already stored is skipped: duplicates in delivery, none in effect.
    EventId,
    /// Each partition's next offset is stored with the effects, in the same write, and a
    /// consumer assigned the partition seeks to it ("Storing Offsets Outside Kafka"): the
    /// group reads on from what its database holds, so a crash neither repeats nor skips.
    /// A delivery that does not start there (a seek back, a zombie) charges again.
    StoredOffsets,
    /// Each charge is a row keyed by its record's event id, written with an upsert: a
    /// repeat rewrites its own row with the same amount, so nothing adds up twice.
    Upsert,
}

impl Dedupe {
    /// Its name in settings and level files.
    pub fn name(self) -> &'static str {
        match self {
            Dedupe::Off => "off",
            Dedupe::EventId => "event-id",
            Dedupe::StoredOffsets => "stored-offsets",
            Dedupe::Upsert => "upsert",
        }
    }

    /// The guard a `dedupe` value names.
    fn parse(name: &str, v: &str) -> Result<Self, EngineError> {
        Ok(match v {
            "off" => Dedupe::Off,
            "event-id" => Dedupe::EventId,
            "stored-offsets" => Dedupe::StoredOffsets,
            "upsert" => Dedupe::Upsert,
            _ => {
                return Err(invalid(
                    name,
                    "must be off, event-id, stored-offsets or upsert",
                ))
            }
        })
    }

    /// Whether a repeated delivery leaves the effect as it was (the event id is checked,
    /// or the write is idempotent). Stored offsets guard delivery instead.
    pub fn guards_effect(self) -> bool {
        matches!(self, Dedupe::EventId | Dedupe::Upsert)
    }

    fn is_off(&self) -> bool {
        *self == Dedupe::Off
    }
}

/// Lab: what a group's application does with a record whose processing throws for good
/// (a poison record), once its retries are spent.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum OnError {
    /// The exception escapes the poll loop: the consumer dies, and the next owner of the
    /// partition meets the same record (the partition is stuck).
    #[default]
    Crash,
    /// The application logs the error and goes on: the record is never processed.
    Skip,
    /// The application produces the record to `<topic>.dlq` with its error in a header,
    /// waits for the write, and goes on (the dead-letter topic).
    DeadLetter,
}

impl OnError {
    /// Its name in settings and level files.
    pub fn name(self) -> &'static str {
        match self {
            OnError::Crash => "crash",
            OnError::Skip => "skip",
            OnError::DeadLetter => "dead-letter",
        }
    }

    fn is_crash(&self) -> bool {
        *self == OnError::Crash
    }
}

/// The suffix of a dead-letter topic's name: `orders` sends its poison records to `orders.dlq`.
pub const DLQ_SUFFIX: &str = ".dlq";

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_error_backoff_ms() -> u64 {
    1_000
}

fn is_default_error_backoff(ms: &u64) -> bool {
    *ms == default_error_backoff_ms()
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
    /// Lab: whether the application skips records its database has already applied.
    /// Written only when on, so older sessions and links read the same.
    #[serde(default, skip_serializing_if = "Dedupe::is_off")]
    pub dedupe: Dedupe,
    /// Lab: what the application does with a record that fails for good.
    #[serde(default, skip_serializing_if = "OnError::is_crash")]
    pub on_error: OnError,
    /// Lab: how many times the application retries a failing record, in place, before
    /// `on_error` (the partition and the poll loop wait meanwhile).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_retries: u32,
    /// Lab: the wait before each retry.
    #[serde(
        default = "default_error_backoff_ms",
        skip_serializing_if = "is_default_error_backoff"
    )]
    pub error_retry_backoff_ms: u64,
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
            dedupe: Dedupe::Off,
            on_error: OnError::Crash,
            error_retries: 0,
            error_retry_backoff_ms: default_error_backoff_ms(),
        }
    }
}

impl GroupConfig {
    /// Checks the whole config.
    ///
    /// # Errors
    /// A value outside its range, an empty strategy list, or a heartbeat interval not
    /// below the session timeout (Kafka's `GroupRebalanceConfig` rule).
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.partition_assignment_strategy.is_empty() {
            return Err(invalid(
                "partition.assignment.strategy",
                "needs at least one assignor",
            ));
        }
        check_range(GROUP_RANGES, "session.timeout.ms", self.session_timeout_ms)?;
        check_range(
            GROUP_RANGES,
            "heartbeat.interval.ms",
            self.heartbeat_interval_ms,
        )?;
        check_range(
            GROUP_RANGES,
            "max.poll.interval.ms",
            self.max_poll_interval_ms,
        )?;
        check_range(
            GROUP_RANGES,
            "max.poll.records",
            u64::from(self.max_poll_records),
        )?;
        check_range(
            GROUP_RANGES,
            "auto.commit.interval.ms",
            self.auto_commit_interval_ms,
        )?;
        check_range(GROUP_RANGES, "processing.ms", self.processing_ms)?;
        check_range(GROUP_RANGES, "error.retries", u64::from(self.error_retries))?;
        check_range(
            GROUP_RANGES,
            "error.retry.backoff.ms",
            self.error_retry_backoff_ms,
        )?;
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
            "session.timeout.ms" => next.session_timeout_ms = parse_u64(name, v)?,
            "heartbeat.interval.ms" => next.heartbeat_interval_ms = parse_u64(name, v)?,
            "max.poll.interval.ms" => next.max_poll_interval_ms = parse_u64(name, v)?,
            "max.poll.records" => next.max_poll_records = parse_u32(name, v)?,
            "enable.auto.commit" => next.enable_auto_commit = parse_bool(name, v)?,
            "auto.commit.interval.ms" => next.auto_commit_interval_ms = parse_u64(name, v)?,
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
            "processing.ms" => next.processing_ms = parse_u64(name, v)?,
            "dedupe" => next.dedupe = Dedupe::parse(name, v)?,
            "on.error" => {
                next.on_error = match v {
                    "crash" => OnError::Crash,
                    "skip" => OnError::Skip,
                    "dead-letter" => OnError::DeadLetter,
                    _ => return Err(invalid(name, "must be crash, skip or dead-letter")),
                }
            }
            "error.retries" => next.error_retries = parse_u32(name, v)?,
            "error.retry.backoff.ms" => next.error_retry_backoff_ms = parse_u64(name, v)?,
            _ => return Err(invalid(name, "not a consumer config the lab models")),
        }
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// The assignor the leader uses: the first configured one (all members share the list).
    pub fn strategy(&self) -> Strategy {
        self.partition_assignment_strategy
            .first()
            .copied()
            .unwrap_or(Strategy::Range)
    }

    /// The config as Java consumer properties (for "reproduce it").
    pub fn java_properties(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "partition.assignment.strategy",
                self.partition_assignment_strategy
                    .iter()
                    .map(|s| s.java_class())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("session.timeout.ms", self.session_timeout_ms.to_string()),
            (
                "heartbeat.interval.ms",
                self.heartbeat_interval_ms.to_string(),
            ),
            (
                "max.poll.interval.ms",
                self.max_poll_interval_ms.to_string(),
            ),
            ("max.poll.records", self.max_poll_records.to_string()),
            ("enable.auto.commit", self.enable_auto_commit.to_string()),
            (
                "auto.commit.interval.ms",
                self.auto_commit_interval_ms.to_string(),
            ),
            (
                "auto.offset.reset",
                self.auto_offset_reset.kafka_value().to_owned(),
            ),
        ]
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

/// Parses any whole number; the range is checked by `validate`, in one place.
fn parse_u64(name: &str, v: &str) -> Result<u64, EngineError> {
    v.parse()
        .map_err(|_| invalid(name, &format!("`{v}` is not a whole number")))
}

fn parse_u32(name: &str, v: &str) -> Result<u32, EngineError> {
    let n = parse_u64(name, v)?;
    u32::try_from(n).map_err(|_| invalid(name, &format!("`{v}` is too large")))
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
                p.max_in_flight_requests_per_connection,
                p.retry_backoff_ms,
                p.retry_backoff_max_ms,
                p.delivery_timeout_ms()
            ),
            (Acks::All, 5, 16384, 5, 100, 1_000, 120_000)
        );
        assert!(p.idempotence());
        assert!(p.validate().is_ok());
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
        assert!(g.validate().is_ok());
    }

    #[test]
    fn idempotence_is_silently_disabled_by_acks_1_unless_explicit() {
        let mut p = ProducerConfig::default();
        p.set("acks", "1").unwrap();
        assert!(!p.idempotence());
        let mut q = ProducerConfig::default();
        q.set("enable.idempotence", "true").unwrap();
        let err = q.set("acks", "1").unwrap_err();
        assert!(err.to_string().contains("Must set acks to all"), "{err}");
        assert_eq!(q.acks, Acks::All, "a refused value changes nothing");
    }

    #[test]
    fn the_default_delivery_timeout_is_raised_but_an_explicit_one_is_checked() {
        let mut p = ProducerConfig::default();
        p.set("request.timeout.ms", "200000").unwrap();
        assert_eq!(p.delivery_timeout_ms(), 200_005);
        assert!(p.set("delivery.timeout.ms", "1000").is_err());
        p.set("delivery.timeout.ms", "200005").unwrap();
        assert_eq!(p.delivery_timeout_ms(), 200_005);
    }

    #[test]
    fn bad_values_name_the_config() {
        let mut g = GroupConfig::default();
        for (name, value) in [
            ("session.timeout.ms", "abc"),
            ("session.timeout.ms", "1000"),
            ("session.timeout.ms", "1000000000000000000"),
            ("heartbeat.interval.ms", "45000"),
            ("auto.offset.reset", "smallest"),
            ("partition.assignment.strategy", "fastest"),
            ("max.poll.records", "99999999999"),
            ("no.such.config", "1"),
        ] {
            let err = g.set(name, value).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
        assert_eq!(g, GroupConfig::default());
    }

    #[test]
    fn one_range_is_stated_for_session_timeout() {
        let mut g = GroupConfig::default();
        let huge = g
            .set("session.timeout.ms", "1000000000000000000")
            .unwrap_err();
        let over = g.set("session.timeout.ms", "2400000").unwrap_err();
        assert!(
            huge.to_string().contains("between 6000 and 1800000"),
            "{huge}"
        );
        assert!(
            over.to_string().contains("between 6000 and 1800000"),
            "{over}"
        );
    }

    #[test]
    fn validate_catches_what_set_would_catch() {
        // A config built in code or read from a saved session goes through the same ranges.
        let g = GroupConfig {
            max_poll_interval_ms: u64::MAX,
            ..GroupConfig::default()
        };
        assert!(g.validate().is_err());
        let p = ProducerConfig {
            linger_ms: u64::MAX,
            ..ProducerConfig::default()
        };
        assert!(p.validate().is_err());
    }
}
