//! The simulation loop: a virtual clock, one queue of scheduled actions ordered by
//! `(time, sequence)`, and the handlers that move records from producers through the
//! broker to consumer groups.
//!
//! Every handler takes the current time and its input, changes state, and emits events.
//! Nothing reads a wall clock; every random draw goes through the one [`Rng`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use super::assignor::{assign, Protocol, Strategy, Subscription};
use super::config::{AutoOffsetReset, GroupConfig, ManualCommit, ProducerConfig};
use super::error::EngineError;
use super::event::{
    CommitError, Event, GroupEvent, GroupState, HeartbeatResult, PartitionOffset, PartitionReason,
    ProducerEvent, RemovalReason, TraceHash,
};
use super::group::{
    validate_offset_commit, CommittedOffset, Consumer, ConsumerStatus, Group, Member,
    GROUP_INITIAL_REBALANCE_DELAY_MS, IDLE_POLL_MS, MAX_CONSUMERS_PER_GROUP, MAX_GROUPS,
};
use super::keys::KeyTable;
use super::ledger::{Ledger, Note, PositionSource, ProduceStatus, RecordInfo, Totals};
use super::log::{KeyId, LogRecord};
use super::partitioner::to_positive;
use super::producer::{record_bytes, InFlight, KeyPool, ProduceFault, Producer, Workload};
use super::rng::Rng;
use super::topic::Topic;

/// One-way network latency between any client and the broker, in ms.
pub const NETWORK_LATENCY_MS: u64 = 1;
/// The most producers the lab runs.
pub const MAX_PRODUCERS: usize = 8;
/// The most records one simulation may hold.
pub const MAX_RECORDS: u64 = 20_000_000;
/// The most events kept in memory; older ones are dropped (the trace hash keeps them all).
pub const MAX_EVENTS_KEPT: usize = 200_000;
/// The producer index used for records produced directly (no accumulator).
pub const DIRECT_PRODUCER: u16 = MAX_PRODUCERS as u16;
/// The longest key the lab accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The longest value the lab accepts, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Where a consumer seeks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SeekTo {
    /// `seekToBeginning`: the log start offset.
    Beginning,
    /// `seekToEnd`: the log end offset.
    End,
    /// `seek(offset)`.
    Offset(u64),
}

/// A user action or a fault. Commands are data: scenarios and challenges are lists of them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// Adds a producer with a config and an optional steady workload.
    AddProducer {
        /// Its configuration.
        config: ProducerConfig,
        /// Its load, if any.
        workload: Option<Workload>,
    },
    /// Replaces (or stops, with `None`) a producer's workload.
    SetWorkload {
        /// Producer index.
        producer: u16,
        /// The new load.
        workload: Option<Workload>,
    },
    /// `send()` one record through a producer (batched like any other).
    Send {
        /// Producer index.
        producer: u16,
        /// Key (`None` = null key).
        key: Option<String>,
        /// Value size.
        payload_bytes: u32,
        /// A poison record crashes the consumer that processes it.
        poison: bool,
    },
    /// Arms a fault for a producer's next request.
    InjectProduceFault {
        /// Producer index.
        producer: u16,
        /// The fault.
        fault: ProduceFault,
    },
    /// Adds a consumer group.
    AddGroup {
        /// `group.id`.
        group_id: String,
        /// Its configuration.
        config: GroupConfig,
    },
    /// Adds (and starts) a consumer in a group.
    AddConsumer {
        /// Group index.
        group: u16,
        /// `group.instance.id` for a static member.
        group_instance_id: Option<String>,
    },
    /// Kills a consumer: no commit, no LeaveGroup.
    CrashConsumer {
        /// Group index.
        group: u16,
        /// Consumer index in the group.
        consumer: u16,
    },
    /// Closes a consumer gracefully after its current batch: commit, then LeaveGroup.
    CloseConsumer {
        /// Group index.
        group: u16,
        /// Consumer index in the group.
        consumer: u16,
    },
    /// Starts a crashed or closed consumer again.
    RestartConsumer {
        /// Group index.
        group: u16,
        /// Consumer index in the group.
        consumer: u16,
    },
    /// Sets one consumer's processing time per record (`None` = the group's).
    SlowConsumer {
        /// Group index.
        group: u16,
        /// Consumer index in the group.
        consumer: u16,
        /// Milliseconds per record.
        processing_ms: Option<u64>,
    },
    /// Moves a consumer's position on one of its partitions.
    Seek {
        /// Group index.
        group: u16,
        /// Consumer index in the group.
        consumer: u16,
        /// The partition.
        partition: u32,
        /// Where to.
        to: SeekTo,
    },
    /// Appends one record directly (the partition calculator's path, no batching).
    Produce {
        /// Key (`None` = null key).
        key: Option<String>,
        /// The value typed.
        value: String,
    },
    /// Appends `count` records directly with random `order-N` keys from the seeded stream.
    ProduceRandomOrders {
        /// How many (1 to 1000).
        count: u32,
    },
    /// Grows the topic to `total` partitions.
    AddPartitions {
        /// The new partition count.
        total: u32,
    },
}

/// What the queue holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    Command(Command),
    ProducerTick {
        producer: u16,
    },
    SenderWake {
        producer: u16,
    },
    RequestArrive {
        producer: u16,
        request_id: u64,
        lose_ack: bool,
    },
    ResponseArrive {
        producer: u16,
        request_id: u64,
        retry: Vec<u64>,
    },
    RequestTimeout {
        producer: u16,
        request_id: u64,
    },
    ConsumerWake {
        group: u16,
        consumer: u16,
        token: u64,
    },
    Heartbeat {
        group: u16,
        consumer: u16,
        incarnation: u32,
    },
    SessionCheck {
        group: u16,
        member_id: String,
    },
    JoinTimer {
        group: u16,
        token: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Scheduled {
    at_ms: u64,
    seq: u64,
    action: Action,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The broker's idempotence bookkeeping for one producer id and partition.
#[derive(Clone, Debug, Default)]
struct SequenceState {
    last_sequence: Option<i32>,
    /// The last five batches: `(base_sequence, last_sequence)`, as the broker caches them.
    recent: VecDeque<(i32, i32)>,
}

/// Where a record produced directly landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The ledger id of the record.
    pub record_id: u32,
    /// The partition chosen.
    pub partition: u32,
    /// The offset it got.
    pub offset: u64,
    /// Why that partition.
    pub reason: PartitionReason,
}

/// One row of `kafka-consumer-groups --describe`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DescribeRow {
    /// GROUP
    pub group: String,
    /// TOPIC
    pub topic: String,
    /// PARTITION
    pub partition: u32,
    /// CURRENT-OFFSET (`None` prints as `-`)
    pub current_offset: Option<u64>,
    /// LOG-END-OFFSET
    pub log_end_offset: u64,
    /// LAG (`None` prints as `-`)
    pub lag: Option<u64>,
    /// CONSUMER-ID (`-` when unassigned)
    pub consumer_id: String,
    /// HOST
    pub host: String,
    /// CLIENT-ID
    pub client_id: String,
}

/// One partition's numbers for one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionMetrics {
    /// The partition.
    pub partition: u32,
    /// The owner's position (next offset it will fetch), if a live member owns it.
    pub position: Option<u64>,
    /// The group's committed offset.
    pub committed: Option<u64>,
    /// The log end offset.
    pub log_end_offset: u64,
    /// `log_end_offset - committed` (the tools' LAG), if something was committed.
    pub lag: Option<u64>,
}

/// One group's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupMetrics {
    /// `group.id`.
    pub group_id: String,
    /// Coordinator state.
    pub state: GroupState,
    /// Generation id.
    pub generation: i32,
    /// Completed rebalances.
    pub rebalances: u32,
    /// Total time eager rebalances stopped the group.
    pub stop_the_world_ms: u64,
    /// Records processed, duplicates included.
    pub processed_records: u64,
    /// Processed records per second of virtual time.
    pub processed_per_sec: f64,
    /// Ledger totals.
    pub totals: Totals,
    /// Per partition.
    pub partitions: Vec<PartitionMetrics>,
}

/// Cluster-wide numbers for the metrics panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Virtual time.
    pub now_ms: u64,
    /// Records produced (`send()` calls).
    pub produced: u64,
    /// Records in the logs, retried copies included.
    pub appended: u64,
    /// Produced records per second of virtual time.
    pub produced_per_sec: f64,
    /// Records with more than one copy in the log.
    pub log_duplicates: u64,
    /// Per group.
    pub groups: Vec<GroupMetrics>,
}

/// The whole simulated cluster and its clients.
#[derive(Clone, Debug)]
pub struct Sim {
    now_ms: u64,
    seq: u64,
    rng: Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    topic: Topic,
    keys: KeyTable,
    producers: Vec<Producer>,
    sequences: BTreeMap<(i64, u32), SequenceState>,
    groups: Vec<Group>,
    ledger: Ledger,
    values: BTreeMap<u32, String>,
    events: Vec<Event>,
    events_dropped: u64,
    trace: TraceHash,
}

impl Sim {
    /// A cluster with one topic of `partitions` partitions, seeded with `seed`.
    ///
    /// # Errors
    /// When the partition count is outside 1 to 64, or the name is empty.
    pub fn new(topic_name: &str, partitions: u32, seed: u64) -> Result<Self, EngineError> {
        Ok(Sim {
            now_ms: 0,
            seq: 0,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            topic: Topic::new(topic_name, partitions)?,
            keys: KeyTable::default(),
            producers: Vec::new(),
            sequences: BTreeMap::new(),
            groups: Vec::new(),
            ledger: Ledger::default(),
            values: BTreeMap::new(),
            events: Vec::new(),
            events_dropped: 0,
            trace: TraceHash::default(),
        })
    }

    // ---- read access -------------------------------------------------------------------

    /// Virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The topic.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// The key table.
    pub fn keys(&self) -> &KeyTable {
        &self.keys
    }

    /// The producers.
    pub fn producers(&self) -> &[Producer] {
        &self.producers
    }

    /// The groups.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The delivery ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The events still in memory (the newest [`MAX_EVENTS_KEPT`] at most), in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events were dropped from memory; `events()[i]` is event number `dropped + i`.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// The hash of the whole event trace.
    pub fn trace_hash(&self) -> u64 {
        self.trace.value()
    }

    /// Events emitted so far (including dropped ones).
    pub fn event_count(&self) -> u64 {
        self.trace.count()
    }

    /// The value typed for a record, if any.
    pub fn value(&self, record_id: u32) -> Option<&str> {
        self.values.get(&record_id).map(String::as_str)
    }

    /// A group's ledger totals.
    pub fn totals(&self, group: u16) -> Option<Totals> {
        self.ledger
            .groups
            .get(group as usize)
            .map(|g| g.totals(self.ledger.produced()))
    }

    /// The time of the next scheduled action, if any.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(|s| s.0.at_ms)
    }

    /// A random order key, `order-0` to `order-99`, drawn from the seeded stream.
    pub fn random_order_key(&mut self) -> String {
        format!("order-{}", self.rng.below(100))
    }

    // ---- driving -----------------------------------------------------------------------

    fn schedule(&mut self, at_ms: u64, action: Action) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at_ms: at_ms.max(self.now_ms),
            seq: self.seq,
            action,
        }));
    }

    fn emit(&mut self, event: Event) {
        self.trace.push(&event);
        if self.events.len() >= MAX_EVENTS_KEPT {
            let drop = MAX_EVENTS_KEPT / 4;
            self.events.drain(..drop);
            self.events_dropped += drop as u64;
        }
        self.events.push(event);
    }

    fn emit_producer(&mut self, producer: u16, event: ProducerEvent) {
        self.emit(Event::Producer {
            at_ms: self.now_ms,
            producer,
            event,
        });
    }

    fn emit_group(&mut self, group: u16, event: GroupEvent) {
        self.emit(Event::Group {
            at_ms: self.now_ms,
            group,
            event,
        });
    }

    /// Applies a command now, checking it first.
    ///
    /// # Errors
    /// When the command names something that does not exist, breaks a cap, or carries an
    /// invalid config; the simulation is unchanged then.
    pub fn apply(&mut self, command: Command) -> Result<(), EngineError> {
        self.check(&command)?;
        self.run_command(command);
        Ok(())
    }

    /// Schedules a command for a later time (checked when it runs; an invalid one is skipped).
    pub fn schedule_command(&mut self, at_ms: u64, command: Command) {
        self.schedule(at_ms, Action::Command(command));
    }

    /// Runs the next scheduled action. Returns its time, or `None` when nothing is scheduled.
    pub fn step(&mut self) -> Option<u64> {
        let Reverse(next) = self.queue.pop()?;
        self.now_ms = self.now_ms.max(next.at_ms);
        self.handle(next.action);
        Some(self.now_ms)
    }

    /// Runs every action scheduled up to `t_ms`, then sets the clock to `t_ms`.
    pub fn run_until(&mut self, t_ms: u64) {
        while self.queue.peek().is_some_and(|s| s.0.at_ms <= t_ms) {
            self.step();
        }
        self.now_ms = self.now_ms.max(t_ms);
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::Command(c) => {
                // Scheduled commands are data from scenarios; an invalid one is skipped.
                let _ = self.apply(c);
            }
            Action::ProducerTick { producer } => self.producer_tick(producer),
            Action::SenderWake { producer } => {
                let p = &mut self.producers[producer as usize];
                if p.sender_wake_at == Some(self.now_ms) {
                    p.sender_wake_at = None;
                }
                self.run_sender(producer)
            }
            Action::RequestArrive {
                producer,
                request_id,
                lose_ack,
            } => self.broker_handle_produce(producer, request_id, lose_ack),
            Action::ResponseArrive {
                producer,
                request_id,
                retry,
            } => self.handle_response(producer, request_id, &retry),
            Action::RequestTimeout {
                producer,
                request_id,
            } => self.handle_request_timeout(producer, request_id),
            Action::ConsumerWake {
                group,
                consumer,
                token,
            } => {
                let c = &self.groups[group as usize].consumers[consumer as usize];
                if c.wake_token == token {
                    self.consumer_step(group, consumer);
                }
            }
            Action::Heartbeat {
                group,
                consumer,
                incarnation,
            } => self.heartbeat(group, consumer, incarnation),
            Action::SessionCheck { group, member_id } => self.session_check(group, &member_id),
            Action::JoinTimer { group, token } => self.join_timer(group, token),
        }
    }

    fn check(&self, command: &Command) -> Result<(), EngineError> {
        let producer_ok = |p: u16| {
            if (p as usize) < self.producers.len() {
                Ok(())
            } else {
                Err(EngineError::InvalidCommand(format!(
                    "there is no producer {}",
                    p + 1
                )))
            }
        };
        let consumer_ok = |g: u16, c: u16| match self.groups.get(g as usize) {
            None => Err(EngineError::InvalidCommand(format!(
                "there is no group {}",
                g + 1
            ))),
            Some(group) if (c as usize) >= group.consumers.len() => {
                Err(EngineError::InvalidCommand(format!(
                    "group `{}` has no consumer {}",
                    group.group_id,
                    c + 1
                )))
            }
            Some(_) => Ok(()),
        };
        match command {
            Command::AddProducer { config, workload } => {
                if self.producers.len() >= MAX_PRODUCERS {
                    return Err(EngineError::LimitExceeded {
                        what: "producers",
                        limit: MAX_PRODUCERS as u64,
                    });
                }
                config.validate()?;
                if let Some(w) = workload {
                    check_workload(w)?;
                }
                Ok(())
            }
            Command::SetWorkload { producer, workload } => {
                producer_ok(*producer)?;
                if let Some(w) = workload {
                    check_workload(w)?;
                }
                Ok(())
            }
            Command::Send {
                producer,
                key,
                payload_bytes,
                ..
            } => {
                producer_ok(*producer)?;
                check_key(key.as_deref())?;
                if *payload_bytes as usize > 1_048_576 {
                    return Err(EngineError::InvalidConfig {
                        name: "max.request.size".into(),
                        reason: "a record may be at most 1048576 bytes".into(),
                    });
                }
                self.check_record_cap()
            }
            Command::InjectProduceFault { producer, .. } => producer_ok(*producer),
            Command::AddGroup { group_id, config } => {
                if self.groups.len() >= MAX_GROUPS {
                    return Err(EngineError::LimitExceeded {
                        what: "consumer groups",
                        limit: MAX_GROUPS as u64,
                    });
                }
                if group_id.trim().is_empty() {
                    return Err(EngineError::InvalidCommand(
                        "a group needs a group.id".into(),
                    ));
                }
                if self.groups.iter().any(|g| g.group_id == *group_id) {
                    return Err(EngineError::InvalidCommand(format!(
                        "group `{group_id}` exists already"
                    )));
                }
                config.validate()
            }
            Command::AddConsumer {
                group,
                group_instance_id,
            } => {
                let g = self.groups.get(*group as usize).ok_or_else(|| {
                    EngineError::InvalidCommand(format!("there is no group {}", group + 1))
                })?;
                if g.consumers.len() >= MAX_CONSUMERS_PER_GROUP {
                    return Err(EngineError::LimitExceeded {
                        what: "consumers per group",
                        limit: MAX_CONSUMERS_PER_GROUP as u64,
                    });
                }
                if let Some(id) = group_instance_id {
                    if g.consumers
                        .iter()
                        .any(|c| c.group_instance_id.as_deref() == Some(id))
                    {
                        return Err(EngineError::InvalidCommand(format!(
                            "group.instance.id `{id}` is taken (Kafka fences the older member)"
                        )));
                    }
                }
                Ok(())
            }
            Command::CrashConsumer { group, consumer }
            | Command::CloseConsumer { group, consumer }
            | Command::RestartConsumer { group, consumer }
            | Command::SlowConsumer {
                group, consumer, ..
            } => consumer_ok(*group, *consumer),
            Command::Seek {
                group,
                consumer,
                partition,
                ..
            } => {
                consumer_ok(*group, *consumer)?;
                let c = &self.groups[*group as usize].consumers[*consumer as usize];
                if !c.assigned.contains(partition) {
                    return Err(EngineError::InvalidCommand(format!(
                        "{} does not own p{partition}: a consumer can only seek on its own partitions",
                        c.client_id
                    )));
                }
                Ok(())
            }
            Command::Produce { key, value } => {
                check_key(key.as_deref())?;
                if value.len() > MAX_VALUE_BYTES {
                    return Err(EngineError::InvalidCommand(format!(
                        "a value may be at most {MAX_VALUE_BYTES} bytes; this one has {}",
                        value.len()
                    )));
                }
                self.check_record_cap()
            }
            Command::ProduceRandomOrders { count } => {
                if !(1..=1000).contains(count) {
                    return Err(EngineError::InvalidCommand(
                        "produce 1 to 1000 random orders at a time".into(),
                    ));
                }
                self.check_record_cap()
            }
            Command::AddPartitions { total } => {
                super::topic::check_partition_count(*total)?;
                if *total <= self.topic.partition_count() {
                    return Err(EngineError::InvalidCommand(format!(
                        "topic `{}` has {} partitions; Kafka can add partitions but never remove them",
                        self.topic.name,
                        self.topic.partition_count()
                    )));
                }
                Ok(())
            }
        }
    }

    fn check_record_cap(&self) -> Result<(), EngineError> {
        if self.ledger.produced() >= MAX_RECORDS {
            return Err(EngineError::LimitExceeded {
                what: "records",
                limit: MAX_RECORDS,
            });
        }
        Ok(())
    }

    fn run_command(&mut self, command: Command) {
        match command {
            Command::AddProducer { config, workload } => {
                let index = self.producers.len() as u16;
                self.producers
                    .push(Producer::new(index, config, self.topic.partition_count()));
                self.set_workload(index, workload);
            }
            Command::SetWorkload { producer, workload } => self.set_workload(producer, workload),
            Command::Send {
                producer,
                key,
                payload_bytes,
                poison,
            } => {
                let key_id = key.as_deref().map(|k| self.keys.intern(k));
                self.send_record(producer, key_id, payload_bytes, poison);
            }
            Command::InjectProduceFault { producer, fault } => {
                self.producers[producer as usize].faults.push_back(fault)
            }
            Command::AddGroup { group_id, config } => {
                self.groups
                    .push(Group::new(&group_id, config, self.topic.partition_count()));
                self.ledger
                    .groups
                    .push(super::ledger::GroupLedger::new(&group_id));
            }
            Command::AddConsumer {
                group,
                group_instance_id,
            } => {
                let g = &mut self.groups[group as usize];
                let client_id = format!("c{}", g.consumers.len() + 1);
                g.consumers
                    .push(Consumer::new(client_id, group_instance_id));
                let consumer = (g.consumers.len() - 1) as u16;
                self.start_consumer(group, consumer);
            }
            Command::CrashConsumer { group, consumer } => {
                self.crash_consumer(group, consumer, "crashed")
            }
            Command::CloseConsumer { group, consumer } => {
                let c = &mut self.groups[group as usize].consumers[consumer as usize];
                if c.status.alive() {
                    c.closing = true;
                    if c.batch.is_empty() {
                        self.wake_consumer(group, consumer, self.now_ms);
                    }
                }
            }
            Command::RestartConsumer { group, consumer } => {
                if !self.groups[group as usize].consumers[consumer as usize]
                    .status
                    .alive()
                {
                    self.start_consumer(group, consumer);
                }
            }
            Command::SlowConsumer {
                group,
                consumer,
                processing_ms,
            } => {
                self.groups[group as usize].consumers[consumer as usize].processing_ms_override =
                    processing_ms;
            }
            Command::Seek {
                group,
                consumer,
                partition,
                to,
            } => self.seek(group, consumer, partition, to),
            Command::Produce { key, value } => {
                let _ = self.produce(key.as_deref(), &value);
            }
            Command::ProduceRandomOrders { count } => {
                for _ in 0..count {
                    let key = self.random_order_key();
                    let _ = self.produce(Some(&key), "");
                }
            }
            Command::AddPartitions { total } => {
                let _ = self.add_partitions(total);
            }
        }
    }

    // ---- producers ---------------------------------------------------------------------

    fn set_workload(&mut self, producer: u16, workload: Option<Workload>) {
        let p = &mut self.producers[producer as usize];
        p.key_pool = workload
            .as_ref()
            .map(|w| KeyPool::new(&w.key_space, &mut self.keys))
            .unwrap_or_default();
        p.workload = workload;
        p.workload_sent = 0;
        p.workload_started_ms = self.now_ms;
        if p.workload.is_some() {
            self.schedule(self.now_ms, Action::ProducerTick { producer });
        }
    }

    fn producer_tick(&mut self, producer: u16) {
        let p = &self.producers[producer as usize];
        let Some(w) = p.workload.clone() else { return };
        let rate = u64::from(w.rate_per_sec.max(1));
        let due = (self.now_ms - p.workload_started_ms) * rate / 1000 + 1;
        let mut sent = p.workload_sent;
        while sent < due && self.check_record_cap().is_ok() {
            let key = self.producers[producer as usize]
                .key_pool
                .draw(&mut self.rng);
            self.send_record(producer, key, w.payload_bytes, false);
            sent += 1;
        }
        let p = &mut self.producers[producer as usize];
        p.workload_sent = sent;
        // The next record is due at started + sent * 1000 / rate (rounded up).
        let next = p.workload_started_ms + (sent * 1000).div_ceil(rate);
        if self.check_record_cap().is_ok() {
            self.schedule(next.max(self.now_ms + 1), Action::ProducerTick { producer });
        }
    }

    fn send_record(&mut self, producer: u16, key: Option<KeyId>, payload_bytes: u32, poison: bool) {
        let n = self.topic.partition_count();
        let now = self.now_ms;
        let p = &mut self.producers[producer as usize];
        let (partition, reason) = p.choose_partition(key, &self.keys, n, now, &mut self.rng);
        let key_len = key
            .and_then(|k| self.keys.get(k))
            .map_or(0, |k| k.name.len());
        let bytes = record_bytes(key_len, payload_bytes);
        let record_id = self.ledger.produce(RecordInfo {
            producer,
            key,
            produced_ms: now,
            partition,
            first_offset: None,
            copies: 0,
            status: ProduceStatus::InFlight,
            poison,
        });
        let sticky = reason == PartitionReason::Sticky;
        let appended = p.append(partition, record_id, bytes, sticky, now);
        let linger = p.config.linger_ms;
        self.emit_producer(
            producer,
            ProducerEvent::Sent {
                record_id,
                key,
                partition,
                reason,
            },
        );
        if appended.full {
            self.schedule_sender(producer, now);
        } else if appended.opened_batch {
            self.schedule_sender(producer, now + linger);
        }
    }

    /// Wakes the sender at `at_ms`, unless a wake-up is already due by then: one pending
    /// wake-up per producer keeps the queue from filling with duplicates.
    fn schedule_sender(&mut self, producer: u16, at_ms: u64) {
        let now = self.now_ms;
        let p = &mut self.producers[producer as usize];
        if p.sender_wake_at.is_some_and(|w| w >= now && w <= at_ms) {
            return;
        }
        p.sender_wake_at = Some(at_ms);
        self.schedule(at_ms, Action::SenderWake { producer });
    }

    fn run_sender(&mut self, producer: u16) {
        let now = self.now_ms;
        loop {
            self.expire_batches(producer);
            let p = &mut self.producers[producer as usize];
            let batches = p.drain(now, false);
            if batches.is_empty() {
                break;
            }
            let request_id = p.next_request_id;
            p.next_request_id += 1;
            let fault = p.faults.pop_front();
            let fire_and_forget = p.fire_and_forget();
            let timeout = p.config.request_timeout_ms;
            let summary = batches
                .iter()
                .map(|b| {
                    (
                        b.partition,
                        b.record_ids.len() as u32,
                        b.base_sequence,
                        b.attempts,
                    )
                })
                .collect();
            if fire_and_forget {
                for b in &batches {
                    for &r in &b.record_ids {
                        self.ledger.records[r as usize].status = ProduceStatus::SentNoAck;
                    }
                    p.acked_records += b.record_ids.len() as u64;
                }
            }
            p.in_flight.push(InFlight {
                request_id,
                batches,
                sent_ms: now,
            });
            self.emit_producer(
                producer,
                ProducerEvent::RequestSent {
                    request_id,
                    batches: summary,
                },
            );
            match fault {
                Some(ProduceFault::LostRequest) => {
                    self.emit_producer(producer, ProducerEvent::RequestLost { request_id });
                }
                other => self.schedule(
                    now + NETWORK_LATENCY_MS,
                    Action::RequestArrive {
                        producer,
                        request_id,
                        lose_ack: other == Some(ProduceFault::LostAck),
                    },
                ),
            }
            if fire_and_forget {
                // acks=0: the request completes once written; nothing comes back. It stays
                // listed only until it reaches the broker (or is lost on the way).
                if fault == Some(ProduceFault::LostRequest) {
                    self.producers[producer as usize]
                        .in_flight
                        .retain(|r| r.request_id != request_id);
                }
            } else {
                self.schedule(
                    now + timeout,
                    Action::RequestTimeout {
                        producer,
                        request_id,
                    },
                );
            }
        }
        if let Some(t) = self.producers[producer as usize].next_ready_ms() {
            if t > now {
                self.schedule_sender(producer, t);
            }
        }
    }

    /// Fails batches older than `delivery.timeout.ms` or out of retries.
    fn expire_batches(&mut self, producer: u16) {
        let now = self.now_ms;
        let p = &mut self.producers[producer as usize];
        let delivery = p.config.delivery_timeout_ms;
        let retries = p.config.retries;
        let mut failed: Vec<(u32, Vec<u32>)> = Vec::new();
        for deque in &mut p.accumulator {
            while deque
                .front()
                .is_some_and(|b| now >= b.created_ms + delivery || b.attempts > retries)
            {
                let b = deque.pop_front().expect("front exists");
                failed.push((b.partition, b.record_ids));
            }
        }
        for (partition, ids) in failed {
            for &r in &ids {
                self.ledger.records[r as usize].status = ProduceStatus::Failed;
            }
            self.producers[producer as usize].failed_records += ids.len() as u64;
            self.emit_producer(
                producer,
                ProducerEvent::Expired {
                    partition,
                    records: ids.len() as u32,
                },
            );
        }
    }

    fn broker_handle_produce(&mut self, producer: u16, request_id: u64, lose_ack: bool) {
        let now = self.now_ms;
        let p = &self.producers[producer as usize];
        // acks=0 requests are no longer tracked; their batches travel with the arrival.
        let Some(request) = p
            .in_flight
            .iter()
            .find(|r| r.request_id == request_id)
            .cloned()
        else {
            return;
        };
        let pid = p.producer_id;
        let mut retry = Vec::new();
        for batch in &request.batches {
            if let Some(base) = batch.base_sequence {
                let last = base.wrapping_add(batch.record_ids.len() as i32 - 1);
                let state = self.sequences.entry((pid, batch.partition)).or_default();
                if state.recent.iter().any(|&(b, _)| b == base) {
                    self.emit_producer(
                        producer,
                        ProducerEvent::DuplicateBatchDropped {
                            request_id,
                            partition: batch.partition,
                            base_sequence: base,
                        },
                    );
                    continue;
                }
                let expected = state.last_sequence.map_or(0, |s| s.wrapping_add(1));
                if base != expected {
                    retry.push(batch.batch_id);
                    self.emit_producer(
                        producer,
                        ProducerEvent::OutOfOrderSequence {
                            request_id,
                            partition: batch.partition,
                            base_sequence: base,
                        },
                    );
                    continue;
                }
                state.last_sequence = Some(last);
                state.recent.push_back((base, last));
                if state.recent.len() > 5 {
                    state.recent.pop_front();
                }
            }
            let base_offset = self.append_records(batch.partition, &batch.record_ids);
            self.emit_producer(
                producer,
                ProducerEvent::Appended {
                    request_id,
                    partition: batch.partition,
                    base_offset,
                    count: batch.record_ids.len() as u32,
                },
            );
        }
        let p = &mut self.producers[producer as usize];
        if p.fire_and_forget() {
            p.in_flight.retain(|r| r.request_id != request_id);
            self.schedule_sender(producer, now);
            return;
        }
        if lose_ack {
            self.emit_producer(producer, ProducerEvent::AckLost { request_id });
        } else {
            self.schedule(
                now + NETWORK_LATENCY_MS,
                Action::ResponseArrive {
                    producer,
                    request_id,
                    retry,
                },
            );
        }
    }

    /// Appends records to a partition log, wakes idle consumers, returns the base offset.
    fn append_records(&mut self, partition: u32, record_ids: &[u32]) -> u64 {
        let now = self.now_ms;
        let log = self
            .topic
            .partition_mut(partition)
            .expect("batches target existing partitions");
        let base = log.log_end_offset();
        for &id in record_ids {
            let info = &self.ledger.records[id as usize];
            let offset = log.append(LogRecord {
                record_id: id,
                key: info.key,
                timestamp_ms: info.produced_ms,
            });
            self.ledger.appended(now, id, offset);
        }
        self.wake_idle_consumers(partition);
        base
    }

    fn wake_idle_consumers(&mut self, partition: u32) {
        let mut wake = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            for (ci, c) in g.consumers.iter().enumerate() {
                if c.idle && c.status == ConsumerStatus::Active && c.assigned.contains(&partition) {
                    wake.push((gi as u16, ci as u16));
                }
            }
        }
        for (g, c) in wake {
            self.groups[g as usize].consumers[c as usize].idle = false;
            self.wake_consumer(g, c, self.now_ms + NETWORK_LATENCY_MS);
        }
    }

    fn handle_response(&mut self, producer: u16, request_id: u64, retry: &[u64]) {
        let now = self.now_ms;
        let p = &mut self.producers[producer as usize];
        let Some(pos) = p.in_flight.iter().position(|r| r.request_id == request_id) else {
            return;
        };
        let request = p.in_flight.remove(pos);
        for batch in request.batches {
            if retry.contains(&batch.batch_id) {
                p.reenqueue(batch, now);
                continue;
            }
            p.acked_records += batch.record_ids.len() as u64;
            for &r in &batch.record_ids {
                self.ledger.records[r as usize].status = ProduceStatus::Acked;
            }
        }
        self.emit_producer(producer, ProducerEvent::Acked { request_id });
        self.run_sender(producer);
    }

    fn handle_request_timeout(&mut self, producer: u16, request_id: u64) {
        let now = self.now_ms;
        let p = &mut self.producers[producer as usize];
        let Some(pos) = p.in_flight.iter().position(|r| r.request_id == request_id) else {
            return;
        };
        let request = p.in_flight.remove(pos);
        // Retry in reverse so the oldest batch ends up first in each queue.
        for batch in request.batches.into_iter().rev() {
            p.reenqueue(batch, now);
        }
        self.emit_producer(producer, ProducerEvent::RequestTimedOut { request_id });
        self.run_sender(producer);
    }

    /// Produces one record straight into the log (no batching, no network): the partition
    /// calculator's path. A key goes where the Java producer puts it (murmur2); a null key
    /// goes to a seeded uniform pick.
    ///
    /// # Errors
    /// When the key or value is too long, or the record cap is reached.
    pub fn produce(&mut self, key: Option<&str>, value: &str) -> Result<Appended, EngineError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(EngineError::InvalidCommand(format!(
                "a value may be at most {MAX_VALUE_BYTES} bytes; this one has {}",
                value.len()
            )));
        }
        self.check_record_cap()?;
        let n = self.topic.partition_count();
        let (key_id, partition, reason) = match key {
            Some(k) => {
                let id = self.keys.intern(k);
                let hash = self.keys.get(id).map_or(0, |info| info.murmur2);
                (
                    Some(id),
                    to_positive(hash) % n,
                    PartitionReason::Murmur2 {
                        hash,
                        partition_count: n,
                    },
                )
            }
            None => (
                None,
                self.rng.below(u64::from(n)) as u32,
                PartitionReason::Random,
            ),
        };
        let record_id = self.ledger.produce(RecordInfo {
            producer: DIRECT_PRODUCER,
            key: key_id,
            produced_ms: self.now_ms,
            partition,
            first_offset: None,
            copies: 0,
            status: ProduceStatus::Acked,
            poison: false,
        });
        if !value.is_empty() {
            self.values.insert(record_id, value.to_owned());
        }
        let offset = self.append_records(partition, &[record_id]);
        let appended = Appended {
            record_id,
            partition,
            offset,
            reason,
        };
        self.emit(Event::RecordAppended {
            at_ms: self.now_ms,
            record_id,
            key: key_id,
            partition,
            offset,
            reason: appended.reason.clone(),
        });
        Ok(appended)
    }

    /// Grows the topic to `total` partitions and reports every known key that now maps to
    /// another partition (old records stay; new ones go elsewhere). Groups with members
    /// rebalance, as their leader notices the new metadata.
    ///
    /// # Errors
    /// When `total` is not more than the current count, or above the cap.
    pub fn add_partitions(&mut self, total: u32) -> Result<Vec<(KeyId, u32, u32)>, EngineError> {
        let from = self.topic.partition_count();
        self.topic.add_partitions(total)?;
        for p in &mut self.producers {
            p.resize(total);
        }
        for g in &mut self.groups {
            g.committed.resize(total as usize, None);
        }
        let moved: Vec<_> = self
            .keys
            .iter()
            .filter_map(|(id, info)| {
                let before = to_positive(info.murmur2) % from;
                let after = to_positive(info.murmur2) % total;
                (before != after).then_some((id, before, after))
            })
            .collect();
        self.emit(Event::PartitionsAdded {
            at_ms: self.now_ms,
            from,
            to: total,
            moved: moved.clone(),
        });
        for g in 0..self.groups.len() as u16 {
            if !self.groups[g as usize].members.is_empty() {
                self.prepare_rebalance(g);
            }
        }
        Ok(moved)
    }

    // ---- consumers: life cycle ---------------------------------------------------------

    fn wake_consumer(&mut self, group: u16, consumer: u16, at_ms: u64) {
        let c = &mut self.groups[group as usize].consumers[consumer as usize];
        c.wake_token += 1;
        let token = c.wake_token;
        self.schedule(
            at_ms,
            Action::ConsumerWake {
                group,
                consumer,
                token,
            },
        );
    }

    fn start_consumer(&mut self, group: u16, consumer: u16) {
        let c = &mut self.groups[group as usize].consumers[consumer as usize];
        c.status = ConsumerStatus::Starting;
        c.member_id = None;
        c.generation = -1;
        c.assigned.clear();
        c.positions.clear();
        c.processed.clear();
        c.batch.clear();
        c.closing = false;
        c.rejoin_needed = false;
        c.idle = false;
        c.incarnation += 1;
        c.heartbeating = false;
        let name = c.client_id.clone();
        self.emit_group(group, GroupEvent::ConsumerStarted { member: name });
        self.wake_consumer(group, consumer, self.now_ms);
    }

    fn crash_consumer(&mut self, group: u16, consumer: u16, reason: &str) {
        let now = self.now_ms;
        let c = &mut self.groups[group as usize].consumers[consumer as usize];
        if !c.status.alive() {
            return;
        }
        c.status = ConsumerStatus::Crashed;
        c.idle = false;
        c.wake_token += 1;
        let held = c.held_ranges();
        c.batch.clear();
        // A dead client owns nothing; the coordinator notices after session.timeout.ms.
        c.assigned.clear();
        c.positions.clear();
        let name = c.client_id.clone();
        let what = if reason == "crashed" {
            "crashed".to_owned()
        } else {
            format!("crashed ({reason})")
        };
        self.ledger.groups[group as usize].note(
            now,
            &name,
            Note::Stopped {
                what,
                abandoned: held.clone(),
            },
        );
        for (p, from, to) in held {
            let committed = self.groups[group as usize].committed[p as usize]
                .as_ref()
                .map_or(0, |c| c.offset);
            let topic = &self.topic;
            self.ledger.groups[group as usize].abandoned(now, p, from..to, committed, |o| {
                topic
                    .partition(p)
                    .and_then(|l| l.get(o))
                    .map(|r| r.record_id)
            });
        }
        self.emit_group(
            group,
            GroupEvent::ConsumerCrashed {
                member: name,
                reason: reason.to_owned(),
            },
        );
    }

    fn seek(&mut self, group: u16, consumer: u16, partition: u32, to: SeekTo) {
        let log = self.topic.partition(partition).expect("checked");
        let offset = match to {
            SeekTo::Beginning => log.log_start_offset(),
            SeekTo::End => log.log_end_offset(),
            SeekTo::Offset(o) => o.min(log.log_end_offset()),
        };
        let leo = log.log_end_offset();
        self.set_position(
            group,
            consumer,
            partition,
            offset,
            PositionSource::Seek,
            leo,
        );
    }

    fn set_position(
        &mut self,
        group: u16,
        consumer: u16,
        partition: u32,
        offset: u64,
        source: PositionSource,
        leo: u64,
    ) {
        let now = self.now_ms;
        let g = &mut self.groups[group as usize];
        let c = &mut g.consumers[consumer as usize];
        c.positions.insert(partition, offset);
        c.processed.insert(partition, offset);
        let name = c.client_id.clone();
        let generation = c.generation;
        let label = match &source {
            PositionSource::Committed => "committed".to_owned(),
            PositionSource::Reset(policy) => format!("auto.offset.reset={policy}"),
            PositionSource::Seek => "seek".to_owned(),
        };
        self.ledger.groups[group as usize].note(
            now,
            &name,
            Note::Resumed {
                partition,
                offset,
                generation,
                source,
                log_end_offset: leo,
            },
        );
        self.emit_group(
            group,
            GroupEvent::PositionSet {
                member: name,
                partition,
                offset,
                source: label,
            },
        );
    }

    // ---- consumers: the poll loop ------------------------------------------------------

    fn processing_ms(&self, group: u16, consumer: u16) -> u64 {
        let g = &self.groups[group as usize];
        g.consumers[consumer as usize]
            .processing_ms_override
            .unwrap_or(g.config.processing_ms)
    }

    fn consumer_step(&mut self, group: u16, consumer: u16) {
        let c = &self.groups[group as usize].consumers[consumer as usize];
        if !c.status.alive() {
            return;
        }
        if !c.batch.is_empty() {
            self.process_step(group, consumer);
            return;
        }
        if c.closing {
            self.close_consumer(group, consumer);
            return;
        }
        self.poll(group, consumer);
    }

    fn poll(&mut self, group: u16, consumer: u16) {
        let now = self.now_ms;
        let g = &mut self.groups[group as usize];
        let config = g.config.clone();
        let c = &mut g.consumers[consumer as usize];
        c.last_poll_ms = now;
        c.idle = false;
        if c.member_id.is_none() || c.rejoin_needed || c.status == ConsumerStatus::Starting {
            self.join_group(group, consumer);
            return;
        }
        if c.status != ConsumerStatus::Active {
            return; // still joining: the assignment wakes it
        }
        // Auto-commit: at the start of poll, once the interval has passed, commit what
        // earlier polls returned.
        if config.enable_auto_commit && now >= c.next_auto_commit_ms {
            c.next_auto_commit_ms = now + config.auto_commit_interval_ms;
            let offsets: Vec<PartitionOffset> = c.positions.iter().map(|(&p, &o)| (p, o)).collect();
            if !offsets.is_empty() {
                self.commit(group, consumer, offsets, true);
            }
        }
        let g = &mut self.groups[group as usize];
        let c = &mut g.consumers[consumer as usize];
        if !c.status.alive() || c.rejoin_needed {
            self.wake_consumer(group, consumer, now);
            return;
        }
        // Fetch up to max.poll.records below the high watermark, partitions in turn.
        let mut remaining = config.max_poll_records as u64;
        let mut ranges = Vec::new();
        let parts: Vec<u32> = c.assigned.clone();
        let start = if parts.is_empty() {
            0
        } else {
            (now as usize / 7) % parts.len()
        };
        for i in 0..parts.len() {
            let p = parts[(start + i) % parts.len()];
            if remaining == 0 {
                break;
            }
            let Some(&pos) = c.positions.get(&p) else {
                continue;
            };
            let log = self.topic.partition(p).expect("assigned partitions exist");
            let end = log.high_watermark().min(pos + remaining);
            if end > pos {
                for (o, r) in log.range(pos, end) {
                    c.batch.push_back((p, o, r.record_id));
                }
                ranges.push((p, pos, end));
                remaining -= end - pos;
                c.positions.insert(p, end);
            }
        }
        if ranges.is_empty() {
            c.idle = true;
            let next = (now + IDLE_POLL_MS).min(if config.enable_auto_commit {
                c.next_auto_commit_ms
            } else {
                u64::MAX
            });
            self.wake_consumer(group, consumer, next.max(now + 1));
            return;
        }
        let name = c.client_id.clone();
        self.emit_group(
            group,
            GroupEvent::Polled {
                member: name,
                ranges: ranges.clone(),
            },
        );
        if config.manual_commit == ManualCommit::BeforeProcessing {
            let offsets = ranges.iter().map(|&(p, _, end)| (p, end)).collect();
            self.commit(group, consumer, offsets, false);
        }
        // Each record's processing completes after the processing time.
        match self.processing_ms(group, consumer) {
            0 => self.process_step(group, consumer),
            ms => self.wake_consumer(group, consumer, now + ms),
        }
    }

    /// Processes the next record (or, with no processing time, the whole batch).
    fn process_step(&mut self, group: u16, consumer: u16) {
        let now = self.now_ms;
        let per_record = self.processing_ms(group, consumer);
        let manual = self.groups[group as usize].config.manual_commit;
        let take = if per_record == 0 { usize::MAX } else { 1 };
        let mut done: Vec<(u32, u64, u64, u32)> = Vec::new(); // partition, from, to, duplicates
        let mut poison = false;
        let member = self.groups[group as usize].consumers[consumer as usize]
            .client_id
            .clone();
        for _ in 0..take {
            let g = &mut self.groups[group as usize];
            let c = &mut g.consumers[consumer as usize];
            let Some((p, o, id)) = c.batch.pop_front() else {
                break;
            };
            let generation = c.generation;
            c.processed.insert(p, o + 1);
            g.processed_records += 1;
            let info = self.ledger.records[id as usize];
            let outcome = self.ledger.groups[group as usize]
                .processed(now, &member, generation, p, o, id, &info);
            let dup = u32::from(outcome == super::ledger::Outcome::Duplicate);
            match done.last_mut() {
                Some(last) if last.0 == p && last.2 == o => {
                    last.2 = o + 1;
                    last.3 += dup;
                }
                _ => done.push((p, o, o + 1, dup)),
            }
            if info.poison {
                poison = true;
                break;
            }
            if manual == ManualCommit::AfterEachRecord {
                // Emit what was processed so far before the commit, to keep causal order.
                self.flush_processed(group, consumer, &mut done);
                self.commit(group, consumer, vec![(p, o + 1)], false);
            }
        }
        self.flush_processed(group, consumer, &mut done);
        if poison {
            self.crash_consumer(group, consumer, "poison record");
            return;
        }
        let c = &self.groups[group as usize].consumers[consumer as usize];
        if !c.status.alive() {
            return;
        }
        if c.batch.is_empty() && manual == ManualCommit::AfterBatch {
            let offsets: Vec<PartitionOffset> = c
                .processed
                .iter()
                .filter(|(p, _)| c.assigned.contains(p) || c.member_id.is_none())
                .map(|(&p, &o)| (p, o))
                .collect();
            if !offsets.is_empty() {
                self.commit(group, consumer, offsets, false);
            }
        }
        let more = !self.groups[group as usize].consumers[consumer as usize]
            .batch
            .is_empty();
        let next = if more { now + per_record } else { now };
        self.wake_consumer(group, consumer, next);
    }

    fn flush_processed(&mut self, group: u16, consumer: u16, done: &mut Vec<(u32, u64, u64, u32)>) {
        let member = self.groups[group as usize].consumers[consumer as usize]
            .client_id
            .clone();
        for (partition, from, to, duplicates) in done.drain(..) {
            self.emit_group(
                group,
                GroupEvent::Processed {
                    member: member.clone(),
                    partition,
                    from,
                    to,
                    duplicates,
                },
            );
        }
    }

    fn close_consumer(&mut self, group: u16, consumer: u16) {
        let g = &self.groups[group as usize];
        let c = &g.consumers[consumer as usize];
        if g.config.enable_auto_commit && c.status == ConsumerStatus::Active {
            let offsets: Vec<PartitionOffset> = c.positions.iter().map(|(&p, &o)| (p, o)).collect();
            if !offsets.is_empty() {
                self.commit(group, consumer, offsets, true);
            }
        }
        let c = &mut self.groups[group as usize].consumers[consumer as usize];
        let name = c.client_id.clone();
        let revoked = std::mem::take(&mut c.assigned);
        c.positions.clear();
        c.status = ConsumerStatus::Closed;
        c.closing = false;
        let member_id = c.member_id.take();
        let is_static = c.group_instance_id.is_some();
        c.generation = -1;
        if !revoked.is_empty() {
            self.emit_group(
                group,
                GroupEvent::Revoked {
                    member: name.clone(),
                    partitions: revoked,
                },
            );
        }
        self.ledger.groups[group as usize].note(
            self.now_ms,
            &name,
            Note::Stopped {
                what: "closed".into(),
                abandoned: vec![],
            },
        );
        // A static member does not send LeaveGroup: the session timeout removes it.
        if let (Some(id), false) = (member_id, is_static) {
            self.emit_group(
                group,
                GroupEvent::LeaveGroup {
                    member: name.clone(),
                    reason: "the consumer is being closed".into(),
                },
            );
            self.remove_member(group, &id, RemovalReason::Left);
        }
        self.emit_group(group, GroupEvent::ConsumerClosed { member: name });
    }

    // ---- offsets -----------------------------------------------------------------------

    fn commit(&mut self, group: u16, consumer: u16, offsets: Vec<PartitionOffset>, auto: bool) {
        let now = self.now_ms;
        let g = &self.groups[group as usize];
        let c = &g.consumers[consumer as usize];
        let name = c.client_id.clone();
        if let Err(error) = validate_offset_commit(g, c) {
            self.emit_group(
                group,
                GroupEvent::CommitRejected {
                    member: name,
                    offsets,
                    error,
                },
            );
            let c = &mut self.groups[group as usize].consumers[consumer as usize];
            if error == CommitError::CommitFailed {
                // The client resets its generation and rejoins (CommitFailedException).
                if let Some(id) = c.member_id.clone() {
                    if !self.groups[group as usize].members.contains_key(&id) {
                        let c = &mut self.groups[group as usize].consumers[consumer as usize];
                        c.member_id = None;
                    }
                }
                let c = &mut self.groups[group as usize].consumers[consumer as usize];
                c.generation = -1;
            }
            let c = &mut self.groups[group as usize].consumers[consumer as usize];
            c.rejoin_needed = true;
            return;
        }
        for &(p, o) in &offsets {
            self.groups[group as usize].committed[p as usize] = Some(CommittedOffset {
                offset: o,
                at_ms: now,
                by: name.clone(),
            });
            self.ledger.groups[group as usize].note(
                now,
                &name,
                Note::Committed {
                    partition: p,
                    offset: o,
                    auto,
                },
            );
            // Offsets live members fetched and will still process are not lost.
            let held: Vec<(u64, u64)> = self.groups[group as usize]
                .consumers
                .iter()
                .filter(|c| c.status.alive())
                .flat_map(|c| c.held_ranges())
                .filter(|&(hp, _, _)| hp == p)
                .map(|(_, from, to)| (from, to))
                .collect();
            let topic = &self.topic;
            self.ledger.groups[group as usize].committed(
                now,
                p,
                o,
                |off| {
                    topic
                        .partition(p)
                        .and_then(|l| l.get(off))
                        .map(|r| r.record_id)
                },
                |off| held.iter().any(|&(from, to)| from <= off && off < to),
            );
        }
        self.emit_group(
            group,
            GroupEvent::Committed {
                member: name,
                offsets,
                auto,
            },
        );
    }

    // ---- the group coordinator ---------------------------------------------------------

    fn new_member_id(&mut self, client_id: &str) -> String {
        format!("{client_id}-{:08x}", self.rng.next_u32())
    }

    fn join_group(&mut self, group: u16, consumer: u16) {
        let now = self.now_ms;
        // onJoinPrepare: auto-commit, then (eager) revoke everything.
        let g = &self.groups[group as usize];
        let protocol = g.protocol();
        let c = &g.consumers[consumer as usize];
        if g.config.enable_auto_commit
            && c.status == ConsumerStatus::Active
            && !c.positions.is_empty()
        {
            let offsets: Vec<PartitionOffset> = c.positions.iter().map(|(&p, &o)| (p, o)).collect();
            self.commit(group, consumer, offsets, true);
        }
        let g = &mut self.groups[group as usize];
        let c = &mut g.consumers[consumer as usize];
        let name = c.client_id.clone();
        if protocol == Protocol::Eager && !c.assigned.is_empty() {
            let revoked = std::mem::take(&mut c.assigned);
            c.positions.clear();
            let generation = c.generation;
            self.revoke(group, &name, revoked, generation);
        }
        let g = &mut self.groups[group as usize];
        let c = &g.consumers[consumer as usize];
        let instance = c.group_instance_id.clone();
        // A static member that comes back while the group is stable takes its old place
        // (new member id, same assignment) without a rebalance.
        if let Some(inst) = &instance {
            if let Some(old_id) = g.member_by_instance(inst) {
                if c.member_id.as_deref() != Some(old_id.as_str()) && g.state == GroupState::Stable
                {
                    let new_id = self.new_member_id(&name);
                    let g = &mut self.groups[group as usize];
                    let mut member = g.members.remove(&old_id).expect("found above");
                    let parts = g.assignment.remove(&old_id).unwrap_or_default();
                    member.member_id = new_id.clone();
                    member.consumer = consumer as usize;
                    member.last_heartbeat_ms = now;
                    g.members.insert(new_id.clone(), member);
                    g.assignment.insert(new_id.clone(), parts.clone());
                    let generation = g.generation;
                    let c = &mut g.consumers[consumer as usize];
                    c.member_id = Some(new_id.clone());
                    c.generation = generation;
                    c.status = ConsumerStatus::Joining;
                    c.rejoin_needed = false;
                    self.emit_group(
                        group,
                        GroupEvent::JoinGroup {
                            member: name.clone(),
                            member_id: new_id,
                        },
                    );
                    self.on_assignment(group, consumer, parts);
                    return;
                }
            }
        }
        let member_id = match (&c.member_id, &instance) {
            (Some(id), _) if g.members.contains_key(id) => id.clone(),
            _ => {
                let new_id = self.new_member_id(&name);
                let g = &mut self.groups[group as usize];
                if let Some(old_id) = instance.as_deref().and_then(|i| g.member_by_instance(i)) {
                    // Same instance id rejoining during a rebalance: replace the old member.
                    let mut member = g.members.remove(&old_id).expect("found");
                    g.assignment.remove(&old_id);
                    member.member_id = new_id.clone();
                    member.consumer = consumer as usize;
                    g.members.insert(new_id.clone(), member);
                }
                new_id
            }
        };
        let g = &mut self.groups[group as usize];
        let is_new = !g.members.contains_key(&member_id);
        let member = g.members.entry(member_id.clone()).or_insert(Member {
            member_id: member_id.clone(),
            consumer: consumer as usize,
            group_instance_id: instance,
            last_heartbeat_ms: now,
            joined: false,
        });
        member.joined = true;
        member.last_heartbeat_ms = now;
        let c = &mut g.consumers[consumer as usize];
        c.member_id = Some(member_id.clone());
        c.status = ConsumerStatus::Joining;
        c.rejoin_needed = false;
        let session = g.config.session_timeout_ms;
        self.emit_group(
            group,
            GroupEvent::JoinGroup {
                member: name,
                member_id: member_id.clone(),
            },
        );
        self.schedule(now + session, Action::SessionCheck { group, member_id });
        self.start_heartbeats(group, consumer);
        let g = &mut self.groups[group as usize];
        match g.state {
            GroupState::PreparingRebalance => {
                if is_new && now < g.join_not_before_ms {
                    // Still in the initial delay: each new member extends it.
                    g.join_not_before_ms =
                        (now + GROUP_INITIAL_REBALANCE_DELAY_MS).min(g.join_deadline_ms);
                    let (t, token) = (g.join_not_before_ms, g.rebalance_token);
                    self.schedule(t, Action::JoinTimer { group, token });
                }
            }
            _ => self.prepare_rebalance(group),
        }
        self.try_complete_join(group);
    }

    /// `onPartitionsRevoked`: remembers it for explanations and tells the UI.
    fn revoke(&mut self, group: u16, member: &str, partitions: Vec<u32>, generation: i32) {
        let now = self.now_ms;
        self.ledger.groups[group as usize].note(
            now,
            member,
            Note::Revoked {
                partitions: partitions.clone(),
                generation,
            },
        );
        self.emit_group(
            group,
            GroupEvent::Revoked {
                member: member.to_owned(),
                partitions,
            },
        );
    }

    fn start_heartbeats(&mut self, group: u16, consumer: u16) {
        let g = &mut self.groups[group as usize];
        let interval = g.config.heartbeat_interval_ms;
        let c = &mut g.consumers[consumer as usize];
        if c.heartbeating {
            return;
        }
        c.heartbeating = true;
        let incarnation = c.incarnation;
        let at = self.now_ms + interval;
        self.schedule(
            at,
            Action::Heartbeat {
                group,
                consumer,
                incarnation,
            },
        );
    }

    fn set_state(&mut self, group: u16, to: GroupState) {
        let g = &mut self.groups[group as usize];
        if g.state != to {
            g.state = to;
            let generation = g.generation;
            self.emit_group(group, GroupEvent::StateChanged { to, generation });
        }
    }

    fn prepare_rebalance(&mut self, group: u16) {
        let now = self.now_ms;
        let g = &mut self.groups[group as usize];
        if g.state == GroupState::PreparingRebalance {
            return;
        }
        let was_empty = g.state == GroupState::Empty;
        for m in g.members.values_mut() {
            m.joined = false;
        }
        // Whoever just joined is in already.
        for c in &g.consumers {
            if c.status == ConsumerStatus::Joining {
                if let Some(m) = c.member_id.as_ref().and_then(|id| g.members.get_mut(id)) {
                    m.joined = true;
                }
            }
        }
        g.rebalance_token += 1;
        g.rebalance_started_ms = Some(now);
        g.join_deadline_ms = now + g.config.max_poll_interval_ms;
        g.join_not_before_ms = if was_empty {
            now + GROUP_INITIAL_REBALANCE_DELAY_MS
        } else {
            now
        };
        let (token, not_before, deadline) =
            (g.rebalance_token, g.join_not_before_ms, g.join_deadline_ms);
        self.set_state(group, GroupState::PreparingRebalance);
        if not_before > now {
            self.schedule(not_before, Action::JoinTimer { group, token });
        }
        self.schedule(deadline, Action::JoinTimer { group, token });
    }

    fn join_timer(&mut self, group: u16, token: u64) {
        let now = self.now_ms;
        let g = &self.groups[group as usize];
        if g.rebalance_token != token || g.state != GroupState::PreparingRebalance {
            return;
        }
        if now >= g.join_deadline_ms {
            // Rebalance timeout: members that did not rejoin are removed.
            let late: Vec<String> = g
                .members
                .values()
                .filter(|m| !m.joined)
                .map(|m| m.member_id.clone())
                .collect();
            for id in late {
                self.remove_member(group, &id, RemovalReason::RebalanceTimeout);
            }
            self.complete_join(group);
        } else {
            self.try_complete_join(group);
        }
    }

    fn try_complete_join(&mut self, group: u16) {
        let g = &self.groups[group as usize];
        if g.state == GroupState::PreparingRebalance
            && self.now_ms >= g.join_not_before_ms
            && g.members.values().all(|m| m.joined)
        {
            self.complete_join(group);
        }
    }

    fn complete_join(&mut self, group: u16) {
        let now = self.now_ms;
        let topic_name = self.topic.name.clone();
        let partitions = self.topic.partition_count();
        let g = &mut self.groups[group as usize];
        g.generation += 1;
        let generation = g.generation;
        if g.members.is_empty() {
            g.assignment.clear();
            g.leader = None;
            g.rebalance_started_ms = None;
            self.set_state(group, GroupState::Empty);
            return;
        }
        if !g.leader.as_ref().is_some_and(|l| g.members.contains_key(l)) {
            g.leader = g.members.keys().next().cloned();
        }
        let leader_id = g.leader.clone().expect("a member exists");
        let strategy = g.strategy();
        let protocol = g.protocol();
        // The leader's assignor sees every member's subscription, with what it owns.
        let subscriptions: Vec<Subscription> = g
            .members
            .values()
            .map(|m| {
                let c = &g.consumers[m.consumer];
                let sticky_owned =
                    protocol == Protocol::Cooperative || strategy == Strategy::Sticky;
                let owned: Vec<(String, u32)> = if sticky_owned {
                    c.assigned
                        .iter()
                        .map(|&p| (topic_name.clone(), p))
                        .collect()
                } else {
                    Vec::new()
                };
                Subscription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    topics: vec![topic_name.clone()],
                    generation: (!owned.is_empty() && c.generation >= 0).then_some(c.generation),
                    owned,
                }
            })
            .collect();
        let mut per_topic = BTreeMap::new();
        per_topic.insert(topic_name, partitions);
        let result = assign(strategy, &per_topic, &subscriptions);
        let members = g.member_names();
        let leader = g.consumers[g.members[&leader_id].consumer]
            .client_id
            .clone();
        g.assignment = result
            .iter()
            .map(|(id, parts)| (id.clone(), parts.iter().map(|(_, p)| *p).collect()))
            .collect();
        self.set_state(group, GroupState::CompletingRebalance);
        self.emit_group(
            group,
            GroupEvent::JoinComplete {
                generation,
                leader,
                members,
                assignor: strategy.kafka_name().to_owned(),
                cooperative: protocol == Protocol::Cooperative,
            },
        );
        // SyncGroup: the leader first (it carries the assignment), then the followers.
        let g = &self.groups[group as usize];
        let mut order: Vec<(String, usize)> = g
            .members
            .values()
            .map(|m| (m.member_id.clone(), m.consumer))
            .collect();
        order.sort_by_key(|(id, _)| *id != leader_id);
        for (_, ci) in &order {
            let member = self.groups[group as usize].consumers[*ci].client_id.clone();
            self.emit_group(group, GroupEvent::SyncGroup { member, generation });
        }
        self.set_state(group, GroupState::Stable);
        let g = &mut self.groups[group as usize];
        g.rebalances += 1;
        if let Some(start) = g.rebalance_started_ms.take() {
            if protocol == Protocol::Eager {
                g.stop_the_world_ms += now - start;
            }
        }
        for (id, ci) in order {
            let parts = self.groups[group as usize]
                .assignment
                .get(&id)
                .cloned()
                .unwrap_or_default();
            let c = &mut self.groups[group as usize].consumers[ci];
            c.generation = generation;
            self.on_assignment(group, ci as u16, parts);
        }
    }

    /// `onJoinComplete`: take the assignment; in cooperative mode revoke what moved away
    /// and rejoin for the second round.
    fn on_assignment(&mut self, group: u16, consumer: u16, mut parts: Vec<u32>) {
        let now = self.now_ms;
        parts.sort_unstable();
        let g = &mut self.groups[group as usize];
        let interval = g.config.auto_commit_interval_ms;
        let c = &mut g.consumers[consumer as usize];
        let name = c.client_id.clone();
        let generation = c.generation;
        let revoked: Vec<u32> = c
            .assigned
            .iter()
            .copied()
            .filter(|p| !parts.contains(p))
            .collect();
        let added: Vec<u32> = parts
            .iter()
            .copied()
            .filter(|p| !c.assigned.contains(p))
            .collect();
        for p in &revoked {
            c.positions.remove(p);
        }
        c.assigned = parts.clone();
        c.status = ConsumerStatus::Active;
        c.rejoin_needed = false;
        c.next_auto_commit_ms = now + interval;
        if !revoked.is_empty() {
            c.rejoin_needed = true;
            self.revoke(group, &name, revoked, generation);
        }
        self.emit_group(
            group,
            GroupEvent::Assigned {
                member: name.clone(),
                generation,
                partitions: parts,
                added: added.clone(),
            },
        );
        for p in added {
            self.init_position(group, consumer, p);
        }
        self.wake_consumer(group, consumer, now);
    }

    /// The position of a newly assigned partition: the committed offset, else
    /// `auto.offset.reset`.
    fn init_position(&mut self, group: u16, consumer: u16, partition: u32) {
        let g = &self.groups[group as usize];
        let log = self
            .topic
            .partition(partition)
            .expect("assigned partitions exist");
        let leo = log.log_end_offset();
        let (offset, source) = match (&g.committed[partition as usize], g.config.auto_offset_reset)
        {
            (Some(c), _) => (c.offset, PositionSource::Committed),
            (None, AutoOffsetReset::Earliest) => {
                (log.log_start_offset(), PositionSource::Reset("earliest"))
            }
            (None, AutoOffsetReset::Latest) => (leo, PositionSource::Reset("latest")),
            (None, AutoOffsetReset::None) => {
                let c = &mut self.groups[group as usize].consumers[consumer as usize];
                c.status = ConsumerStatus::Failed(format!(
                    "NoOffsetForPartitionException: no committed offset for p{partition} and auto.offset.reset=none"
                ));
                let member = c.client_id.clone();
                self.emit_group(
                    group,
                    GroupEvent::ConsumerFailed {
                        member,
                        error: format!(
                            "NoOffsetForPartitionException: no committed offset for p{partition}"
                        ),
                    },
                );
                return;
            }
        };
        self.set_position(group, consumer, partition, offset, source, leo);
    }

    /// The heartbeat thread: one tick now, then the next after `heartbeat.interval.ms`,
    /// for as long as the tick says the thread keeps running.
    fn heartbeat(&mut self, group: u16, consumer: u16, incarnation: u32) {
        let keep_going = self.heartbeat_tick(group, consumer, incarnation);
        let g = &mut self.groups[group as usize];
        let interval = g.config.heartbeat_interval_ms;
        let c = &mut g.consumers[consumer as usize];
        if keep_going {
            self.schedule(
                self.now_ms + interval,
                Action::Heartbeat {
                    group,
                    consumer,
                    incarnation,
                },
            );
        } else if c.incarnation == incarnation {
            c.heartbeating = false;
        }
    }

    /// One heartbeat: the poll-timeout check, then the coordinator's answer. Returns false
    /// when the thread stops (stale timer, dead client, or a static member past its poll).
    fn heartbeat_tick(&mut self, group: u16, consumer: u16, incarnation: u32) -> bool {
        let now = self.now_ms;
        let g = &self.groups[group as usize];
        let c = &g.consumers[consumer as usize];
        if c.incarnation != incarnation || !c.status.alive() {
            return false;
        }
        let session = g.config.session_timeout_ms;
        let poll_timeout = g.config.max_poll_interval_ms;
        let name = c.client_id.clone();
        // The heartbeat thread notices a poll() that is overdue.
        if c.status == ConsumerStatus::Active
            && c.member_id.is_some()
            && now > c.last_poll_ms + poll_timeout
        {
            if c.group_instance_id.is_some() {
                // A static member just stops heartbeating; the session timeout removes it,
                // and its next poll rejoins.
                self.groups[group as usize].consumers[consumer as usize].rejoin_needed = true;
                return false;
            }
            let c = &mut self.groups[group as usize].consumers[consumer as usize];
            let member_id = c.member_id.take();
            let revoked = std::mem::take(&mut c.assigned);
            c.positions.clear();
            c.generation = -1;
            c.rejoin_needed = true;
            self.emit_group(
                group,
                GroupEvent::LeaveGroup {
                    member: name.clone(),
                    reason: "consumer poll timeout has expired (max.poll.interval.ms)".into(),
                },
            );
            if !revoked.is_empty() {
                self.ledger.groups[group as usize].note(
                    now,
                    &name,
                    Note::Stopped {
                        what: "was removed for exceeding max.poll.interval.ms".into(),
                        abandoned: vec![],
                    },
                );
                self.emit_group(
                    group,
                    GroupEvent::Revoked {
                        member: name.clone(),
                        partitions: revoked,
                    },
                );
            }
            if let Some(id) = member_id {
                self.remove_member(group, &id, RemovalReason::Left);
            }
            return true;
        }
        let Some(member_id) = c.member_id.clone() else {
            return true;
        };
        let state = g.state;
        let result = match self.groups[group as usize].members.get_mut(&member_id) {
            None => HeartbeatResult::UnknownMemberId,
            Some(m) => {
                m.last_heartbeat_ms = now;
                if matches!(
                    state,
                    GroupState::PreparingRebalance | GroupState::CompletingRebalance
                ) {
                    HeartbeatResult::RebalanceInProgress
                } else {
                    HeartbeatResult::Ok
                }
            }
        };
        let c = &mut self.groups[group as usize].consumers[consumer as usize];
        match result {
            HeartbeatResult::Ok => {}
            // A member already (re)joining learns nothing new from this answer.
            HeartbeatResult::RebalanceInProgress => {
                c.rejoin_needed |= c.status == ConsumerStatus::Active
            }
            HeartbeatResult::UnknownMemberId => {
                c.member_id = None;
                c.generation = -1;
                c.rejoin_needed = true;
            }
        }
        let idle = c.idle;
        self.emit_group(
            group,
            GroupEvent::Heartbeat {
                member: name,
                result,
            },
        );
        if result == HeartbeatResult::Ok {
            self.schedule(now + session, Action::SessionCheck { group, member_id });
        } else if idle {
            self.wake_consumer(group, consumer, now);
        }
        true
    }

    fn session_check(&mut self, group: u16, member_id: &str) {
        let g = &self.groups[group as usize];
        let Some(m) = g.members.get(member_id) else {
            return;
        };
        if self.now_ms >= m.last_heartbeat_ms + g.config.session_timeout_ms {
            self.remove_member(group, member_id, RemovalReason::SessionTimeout);
        }
    }

    fn remove_member(&mut self, group: u16, member_id: &str, reason: RemovalReason) {
        let g = &mut self.groups[group as usize];
        let Some(m) = g.members.remove(member_id) else {
            return;
        };
        g.assignment.remove(member_id);
        let name = g.consumers[m.consumer].client_id.clone();
        self.emit_group(
            group,
            GroupEvent::MemberRemoved {
                member: name,
                reason,
            },
        );
        let g = &self.groups[group as usize];
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(group),
            GroupState::PreparingRebalance => self.try_complete_join(group),
            GroupState::Empty | GroupState::Dead => {}
        }
        let g = &self.groups[group as usize];
        if g.members.is_empty()
            && g.state == GroupState::PreparingRebalance
            && self.now_ms >= g.join_not_before_ms
        {
            self.complete_join(group);
        }
    }

    // ---- views -------------------------------------------------------------------------

    /// Throughput, rebalances, stop-the-world time, ledger totals, and per partition and
    /// group: position, committed offset, log end offset and lag.
    pub fn metrics(&self) -> Metrics {
        let seconds = self.now_ms.max(1) as f64 / 1000.0;
        let produced = self.ledger.produced();
        let groups = self
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| GroupMetrics {
                group_id: g.group_id.clone(),
                state: g.state,
                generation: g.generation,
                rebalances: g.rebalances,
                stop_the_world_ms: g.stop_the_world_ms,
                processed_records: g.processed_records,
                processed_per_sec: g.processed_records as f64 / seconds,
                totals: self.ledger.groups[gi].totals(produced),
                partitions: (0..self.topic.partition_count())
                    .map(|p| {
                        let leo = self.topic.partition(p).map_or(0, |l| l.log_end_offset());
                        let committed = g.committed[p as usize].as_ref().map(|c| c.offset);
                        let position = g
                            .consumers
                            .iter()
                            .find(|c| c.status.alive() && c.assigned.contains(&p))
                            .and_then(|c| c.positions.get(&p).copied());
                        PartitionMetrics {
                            partition: p,
                            position,
                            committed,
                            log_end_offset: leo,
                            lag: committed.map(|c| leo.saturating_sub(c)),
                        }
                    })
                    .collect(),
            })
            .collect();
        Metrics {
            now_ms: self.now_ms,
            produced,
            appended: self.topic.record_count(),
            produced_per_sec: produced as f64 / seconds,
            log_duplicates: self.ledger.log_duplicates,
            groups,
        }
    }

    /// The rows `kafka-consumer-groups --describe --group <id>` prints, one per partition.
    pub fn describe_group(&self, group: u16) -> Vec<DescribeRow> {
        let Some(g) = self.groups.get(group as usize) else {
            return Vec::new();
        };
        (0..self.topic.partition_count())
            .map(|p| {
                let leo = self.topic.partition(p).map_or(0, |l| l.log_end_offset());
                let committed = g.committed[p as usize].as_ref().map(|c| c.offset);
                let owner = g.owner_of(p).filter(|_| g.state == GroupState::Stable);
                let (consumer_id, host, client_id) = match owner {
                    Some(ci) => {
                        let c = &g.consumers[ci];
                        (
                            c.member_id.clone().unwrap_or_else(|| "-".into()),
                            format!("/10.0.0.{}", ci + 10),
                            c.client_id.clone(),
                        )
                    }
                    None => ("-".into(), "-".into(), "-".into()),
                };
                DescribeRow {
                    group: g.group_id.clone(),
                    topic: self.topic.name.clone(),
                    partition: p,
                    current_offset: committed,
                    log_end_offset: leo,
                    lag: committed.map(|c| leo.saturating_sub(c)),
                    consumer_id,
                    host,
                    client_id,
                }
            })
            .collect()
    }
}

fn check_key(key: Option<&str>) -> Result<(), EngineError> {
    if let Some(k) = key {
        if k.len() > MAX_KEY_BYTES {
            return Err(EngineError::InvalidCommand(format!(
                "a key may be at most {MAX_KEY_BYTES} bytes; this one has {}",
                k.len()
            )));
        }
    }
    Ok(())
}

fn check_workload(w: &Workload) -> Result<(), EngineError> {
    use super::producer::KeySpace;
    if w.rate_per_sec == 0 || w.rate_per_sec > 1_000_000 {
        return Err(EngineError::InvalidCommand(
            "a workload's rate must be 1 to 1000000 records/s".into(),
        ));
    }
    if w.payload_bytes > 1_048_576 {
        return Err(EngineError::InvalidCommand(
            "a payload may be at most 1048576 bytes".into(),
        ));
    }
    match &w.key_space {
        KeySpace::Uniform { count, .. } | KeySpace::HotKey { count, .. } if *count > 100_000 => {
            Err(EngineError::LimitExceeded {
                what: "keys per workload",
                limit: 100_000,
            })
        }
        KeySpace::Uniform { count: 0, .. } => Err(EngineError::InvalidCommand(
            "a key space needs at least one key".into(),
        )),
        KeySpace::HotKey { hot_percent, .. } if *hot_percent > 100 => Err(
            EngineError::InvalidCommand("the hot key's share is a percentage, 0 to 100".into()),
        ),
        KeySpace::Fixed(k) => check_key(Some(k)),
        _ => Ok(()),
    }
}
