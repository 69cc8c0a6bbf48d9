//! The producer client actor: workloads and partitioners, the record accumulator
//! (`linger.ms`, `batch.size`), the sender with its connection (in-flight requests,
//! `request.timeout.ms`), retries with exponential backoff, and idempotent sequences with
//! the epoch bump that resolves an expired batch.
//!
//! Citations are to apache/kafka `clients/.../producer/internals/` (RecordAccumulator,
//! BuiltInPartitioner, Sender, TransactionManager) and `common/utils/ExponentialBackoff`.

use std::collections::VecDeque;
use std::rc::Rc;

use super::accumulator::{record_bytes, Accumulator, Batch};
use super::actor::Ctx;
use super::config::{PartitionerKind, ProducerConfig};
use super::event::{BatchSummary, Event, PartitionReason, ProducerEvent};
use super::ids::{producer_client_id, BrokerId, NodeId, ProducerId, TopicId, Tp};
use super::keys::KeyTable;
use super::log::{KeyId, LogRecord};
use super::msg::{BatchResult, KafkaError, Msg, ProduceBatch, ProducerTimer, Timer};
use super::partitioner::to_positive;
use super::record::{tag_of, ProduceStatus, RecordInfo};
use super::rng::Rng;
use super::value::OrderStream;

/// Which keys a workload produces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeySpace {
    /// Every record has the same key.
    Fixed(String),
    /// `count` keys `{prefix}0 .. {prefix}{count-1}`, drawn uniformly.
    Uniform {
        /// Key name prefix.
        prefix: String,
        /// Number of distinct keys (1 to 100000).
        count: u32,
    },
    /// One hot key takes `hot_percent` of the records; the rest are uniform over `count` keys.
    HotKey {
        /// Key name prefix; the hot key is `{prefix}hot`.
        prefix: String,
        /// Number of other keys.
        count: u32,
        /// Share of records with the hot key, 0 to 100.
        hot_percent: u32,
    },
    /// Null keys: the sticky partitioner decides.
    Null,
    /// Typed order events (created, then paid or cancelled) of `customers` customers,
    /// customer 0 placing `hot_percent` of the orders; the producer's `key.field` picks
    /// each record's key from its value.
    Orders {
        /// Number of customers (1 to 100000).
        customers: u32,
        /// Share of new orders placed by customer 0, 0 to 100.
        #[serde(default)]
        hot_percent: u32,
    },
}

/// A producer's steady load.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// Records per second of virtual time (1 to 1,000,000).
    pub rate_per_sec: u32,
    /// The keys.
    pub key_space: KeySpace,
    /// Value size in bytes.
    pub payload_bytes: u32,
    /// The topic it writes to.
    #[serde(default)]
    pub topic: TopicId,
}

/// Keys of a workload, interned once so drawing one costs an index.
#[derive(Clone, Debug, Default)]
pub struct KeyPool {
    keys: Vec<KeyId>,
    hot: Option<(KeyId, u32)>,
}

impl KeyPool {
    /// Interns every key of `space` into `table`.
    pub fn new(space: &KeySpace, table: &mut KeyTable) -> Self {
        match space {
            KeySpace::Fixed(k) => KeyPool {
                keys: vec![table.intern(k)],
                hot: None,
            },
            KeySpace::Uniform { prefix, count } => KeyPool {
                keys: (0..*count)
                    .map(|i| table.intern(&format!("{prefix}{i}")))
                    .collect(),
                hot: None,
            },
            KeySpace::HotKey {
                prefix,
                count,
                hot_percent,
            } => KeyPool {
                keys: (0..*count)
                    .map(|i| table.intern(&format!("{prefix}{i}")))
                    .collect(),
                hot: Some((
                    table.intern(&format!("{prefix}hot")),
                    (*hot_percent).min(100),
                )),
            },
            KeySpace::Null | KeySpace::Orders { .. } => KeyPool::default(),
        }
    }

    /// Draws the next key (`None` = null key).
    pub fn draw(&self, rng: &mut Rng) -> Option<KeyId> {
        if let Some((hot, percent)) = self.hot {
            if self.keys.is_empty() || rng.below(100) < u64::from(percent) {
                return Some(hot);
            }
        }
        match self.keys.len() {
            0 => None,
            1 => Some(self.keys[0]),
            n => Some(self.keys[rng.below(n as u64) as usize]),
        }
    }
}

/// A fault on the producer's connection: the next request or response is lost, and with
/// it the connection (TCP delivers in order or not at all) until the client gives up on
/// it after `request.timeout.ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProduceFault {
    /// The broker appends, but the response is lost.
    LostAck,
    /// The request never reaches the broker.
    LostRequest,
}

/// A produce request on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Unique within the producer.
    pub request_id: u64,
    /// The broker it went to.
    pub broker: BrokerId,
    /// The batches it carries (at most one per partition).
    pub batches: Vec<Batch>,
    /// When it was sent.
    pub sent_ms: u64,
}

/// Per partition: the idempotent producer's sequence bookkeeping (TxnPartitionEntry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Sequences {
    next: i32,
    last_acked: Option<i32>,
    /// The epoch these sequences belong to.
    epoch: u16,
    /// Batches sent and not completed (on the wire or back in the queue for a retry).
    in_flight: u32,
    /// A batch that had a sequence failed: the sequence after it
    /// (`partitionsWithUnresolvedSequences`).
    unresolved: Option<i32>,
    /// An epoch bump was requested for this partition.
    rewrite: bool,
}

/// One producer client.
#[derive(Clone, Debug)]
pub struct Producer {
    /// Its id.
    pub(crate) id: ProducerId,
    /// `client.id`, e.g. `producer-1`.
    pub(crate) client_id: String,
    /// Its configuration.
    pub(crate) config: ProducerConfig,
    /// The idempotent producer id the broker assigned (`InitProducerId`), -1 if none.
    pub(crate) pid: i64,
    /// The producer epoch.
    pub(crate) epoch: u16,
    /// The steady load, if any.
    pub(crate) workload: Option<Workload>,
    key_pool: KeyPool,
    workload_sent: u64,
    workload_started_ms: u64,
    workload_generation: u32,
    /// The shop's order events, for an [`KeySpace::Orders`] workload.
    orders: OrderStream,
    /// The accumulator.
    pub(crate) accumulator: Accumulator,
    sequences: Vec<Vec<Sequences>>,
    /// Requests on the wire, oldest first.
    pub(crate) in_flight: VecDeque<InFlight>,
    next_request_id: u64,
    /// Records whose send completed with an acknowledgement.
    pub(crate) acked_records: u64,
    /// Records sent with `acks=0` (never acknowledged).
    pub(crate) sent_no_ack_records: u64,
    /// Records that failed (delivery timeout).
    pub(crate) failed_records: u64,
    sender_wake_at: Option<u64>,
    timeout_timer_at: Option<u64>,
    /// Times its process died and was started again (`CrashProducer`).
    pub(crate) restarts: u32,
    /// With an outbox: records the relay sent again after a restart.
    pub(crate) relayed_again: u64,
}

impl Producer {
    /// A producer.
    pub fn new(id: ProducerId, config: ProducerConfig) -> Self {
        let idempotent = config.idempotence();
        let accumulator = Accumulator::new(&config);
        Producer {
            id,
            client_id: producer_client_id(id),
            pid: if idempotent {
                1000 + i64::from(id.0)
            } else {
                -1
            },
            epoch: 0,
            config,
            workload: None,
            key_pool: KeyPool::default(),
            workload_sent: 0,
            workload_started_ms: 0,
            workload_generation: 0,
            orders: OrderStream::for_producer(u32::from(id.0)),
            accumulator,
            sequences: Vec::new(),
            in_flight: VecDeque::new(),
            next_request_id: 0,
            acked_records: 0,
            sent_no_ack_records: 0,
            failed_records: 0,
            sender_wake_at: None,
            timeout_timer_at: None,
            restarts: 0,
            relayed_again: 0,
        }
    }

    /// The service's process dies and its supervisor starts it again at once: the
    /// client's batches and requests are gone, and the new client is a new producer (a new
    /// producer id, sequences from 0), so what was on the wire may still be appended with
    /// nobody to hear the answer. The service keeps its workload. Without an outbox the
    /// queued records are lost before the log; with one they are still in the database,
    /// and the new relay sends every unacknowledged record again (at least once).
    pub fn crash(&mut self, ctx: &mut Ctx) {
        let mut unacked: Vec<(Tp, Rc<Vec<LogRecord>>)> = self
            .in_flight
            .drain(..)
            .flat_map(|r| r.batches)
            .map(|b| (b.tp, b.records))
            .collect();
        let queued: Vec<(Tp, Rc<Vec<LogRecord>>)> = self
            .accumulator
            .take_all()
            .into_iter()
            .map(|b| (b.tp, b.records))
            .collect();
        let mut fresh = Producer::new(self.id, self.config.clone());
        fresh.restarts = self.restarts + 1;
        if fresh.pid >= 0 {
            // InitProducerId hands the new process a new id.
            fresh.pid += i64::from(fresh.restarts) * 64;
        }
        fresh.workload = self.workload.take();
        fresh.key_pool = std::mem::take(&mut self.key_pool);
        fresh.workload_sent = self.workload_sent;
        fresh.workload_started_ms = self.workload_started_ms;
        fresh.workload_generation = self.workload_generation;
        // The shop's orders live in its database, not in the producer: they go on.
        fresh.orders = std::mem::take(&mut self.orders);
        // Answers to the old process's requests must not match the new one's.
        fresh.next_request_id = self.next_request_id;
        fresh.acked_records = self.acked_records;
        fresh.sent_no_ack_records = self.sent_no_ack_records;
        fresh.failed_records = self.failed_records;
        fresh.relayed_again = self.relayed_again;
        *self = fresh;
        if self.config.service_write == super::config::ServiceWrite::Outbox {
            unacked.extend(queued);
            for (tp, records) in unacked {
                for r in records.iter() {
                    self.accumulator
                        .append(tp, *r, u32::from(r.size_bytes), ctx.now_ms);
                    self.relayed_again += 1;
                }
            }
            self.event(ctx, ProducerEvent::Crashed { lost: Vec::new() });
            self.schedule_sender(ctx, ctx.now_ms);
            return;
        }
        let lost = queued
            .into_iter()
            .map(|(tp, records)| (tp, records.iter().map(|r| r.record_id).collect()))
            .collect();
        self.event(ctx, ProducerEvent::Crashed { lost });
    }

    fn node(&self) -> NodeId {
        NodeId::Producer(self.id)
    }

    fn event(&self, ctx: &mut Ctx, event: ProducerEvent) {
        ctx.out.event(Event::Producer {
            at_ms: ctx.now_ms,
            producer: self.id,
            event,
        });
    }

    fn seq(&mut self, tp: Tp) -> &mut Sequences {
        let t = tp.topic.index();
        if self.sequences.len() <= t {
            self.sequences.resize_with(t + 1, Vec::new);
        }
        let parts = &mut self.sequences[t];
        if parts.len() <= tp.p() as usize {
            parts.resize_with(tp.p() as usize + 1, Sequences::default);
        }
        &mut parts[tp.p() as usize]
    }

    /// Records waiting in the accumulator or on the wire.
    pub fn pending_records(&self) -> usize {
        self.accumulator.queued_records()
            + self
                .in_flight
                .iter()
                .flat_map(|r| &r.batches)
                .map(|b| b.records.len())
                .sum::<usize>()
    }

    // ---- workload ---------------------------------------------------------------------

    /// Replaces (or stops) the workload; it starts producing now. `pool` holds its keys,
    /// interned by the caller.
    pub fn set_workload(&mut self, ctx: &mut Ctx, workload: Option<Workload>, pool: KeyPool) {
        self.key_pool = pool;
        self.workload = workload;
        self.workload_sent = 0;
        self.workload_started_ms = ctx.now_ms;
        self.workload_generation += 1;
        if self.workload.is_some() {
            let generation = self.workload_generation;
            ctx.out.timer(
                ctx.now_ms,
                self.node(),
                Timer::Producer(ProducerTimer::Tick { generation }),
            );
        }
    }

    /// Handles a timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: ProducerTimer, record_cap: u64) {
        match timer {
            ProducerTimer::Tick { generation } if generation == self.workload_generation => {
                self.tick(ctx, record_cap)
            }
            ProducerTimer::Tick { .. } => {}
            ProducerTimer::SenderWake => {
                if self.sender_wake_at == Some(ctx.now_ms) {
                    self.sender_wake_at = None;
                }
                self.run_sender(ctx);
            }
            ProducerTimer::RequestTimeout => {
                self.timeout_timer_at = None;
                self.request_timeout(ctx);
            }
        }
    }

    fn tick(&mut self, ctx: &mut Ctx, record_cap: u64) {
        let Some(w) = self.workload.clone() else {
            return;
        };
        let rate = u64::from(w.rate_per_sec.max(1));
        let due = (ctx.now_ms - self.workload_started_ms) * rate / 1000 + 1;
        let first = ctx.next_record_id();
        let mut count = 0u32;
        while self.workload_sent < due && (ctx.records.len() as u64) < record_cap {
            let sent = if let KeySpace::Orders {
                customers,
                hot_percent,
            } = w.key_space
            {
                self.send_order(ctx, w.topic, customers, hot_percent, w.payload_bytes)
            } else {
                let key = self.key_pool.draw(ctx.rng);
                self.send_record(ctx, w.topic, key, w.payload_bytes, 0)
            };
            if !sent {
                break;
            }
            self.workload_sent += 1;
            count += 1;
        }
        if count > 0 {
            self.event(
                ctx,
                ProducerEvent::Sent {
                    first_record: first,
                    count,
                },
            );
        }
        // The next record is due at started + sent * 1000 / rate (rounded up).
        let next = self.workload_started_ms + (self.workload_sent * 1000).div_ceil(rate);
        if (ctx.records.len() as u64) < record_cap {
            let generation = self.workload_generation;
            ctx.out.timer(
                next.max(ctx.now_ms + 1),
                self.node(),
                Timer::Producer(ProducerTimer::Tick { generation }),
            );
        }
    }

    /// `send()` of the shop's next order event, keyed by the field `key.field` names.
    fn send_order(
        &mut self,
        ctx: &mut Ctx,
        topic: TopicId,
        customers: u32,
        hot_percent: u32,
        payload_bytes: u32,
    ) -> bool {
        let value = self.orders.next(ctx.rng, customers, hot_percent);
        let key = self
            .config
            .key_field
            .key_of(value)
            .map(|k| ctx.keys.intern(&k));
        let record_id = ctx.next_record_id() as usize;
        if !self.send_record(ctx, topic, key, payload_bytes, 0) {
            return false;
        }
        ctx.values.resize_up(record_id + 1, 0);
        *ctx.values.get_mut(record_id).expect("resized") = value.pack();
        true
    }

    /// `send()` of one record typed or scripted by the user.
    pub fn send_one(
        &mut self,
        ctx: &mut Ctx,
        topic: TopicId,
        key: Option<KeyId>,
        payload_bytes: u32,
        flags: u8,
    ) {
        let first = ctx.next_record_id();
        if self.send_record(ctx, topic, key, payload_bytes, flags) {
            self.event(
                ctx,
                ProducerEvent::Sent {
                    first_record: first,
                    count: 1,
                },
            );
        }
    }

    /// Partitions a record, writes its facts, and appends it to the accumulator.
    fn send_record(
        &mut self,
        ctx: &mut Ctx,
        topic: TopicId,
        key: Option<KeyId>,
        payload_bytes: u32,
        flags: u8,
    ) -> bool {
        let n = ctx.cluster.partition_count(topic);
        if n == 0 {
            return false;
        }
        let key_info = key.and_then(|k| ctx.keys.get(k));
        let key_len = key_info.map_or(0, |k| k.name.len());
        let bytes = record_bytes(key_len, payload_bytes);
        let (partition, reason) = self.choose_partition(ctx, topic, key, n);
        let tp = Tp::new(topic, partition);
        let record_id = ctx.next_record_id();
        ctx.trace_record(record_id, partition);
        ctx.records.push(RecordInfo::sent(
            ctx.now_ms,
            key,
            tp,
            Some(self.id),
            tag_of(&reason),
            n,
            flags & LogRecord::POISON != 0,
        ));
        let record = LogRecord {
            timestamp_ms: ctx.now_ms,
            record_id,
            key,
            size_bytes: bytes.min(u32::from(u16::MAX)) as u16,
            flags,
            // MAX_PRODUCERS (8) keeps every index well below NO_PRODUCER.
            producer: self.id.0 as u8,
        };
        let sticky = reason == PartitionReason::Sticky
            && self.config.partitioner == PartitionerKind::JavaDefault;
        let appended = self.accumulator.append(tp, record, bytes, ctx.now_ms);
        if sticky {
            self.accumulator
                .after_sticky_append(tp, appended.bytes, ctx.rng, ctx.cluster);
        }
        if appended.full {
            self.schedule_sender(ctx, ctx.now_ms);
        } else if appended.opened_batch {
            self.schedule_sender(ctx, ctx.now_ms + self.config.linger_ms);
        }
        true
    }

    /// Chooses the partition for a record, as the configured client would.
    fn choose_partition(
        &mut self,
        ctx: &mut Ctx,
        topic: TopicId,
        key: Option<KeyId>,
        partitions: u32,
    ) -> (u32, PartitionReason) {
        let info = key.and_then(|k| ctx.keys.get(k));
        match self.config.partitioner {
            PartitionerKind::RoundRobin => (
                self.accumulator.round_robin(topic, partitions),
                PartitionReason::RoundRobin,
            ),
            PartitionerKind::JavaDefault => match info {
                Some(k) if !self.config.partitioner_ignore_keys => (
                    to_positive(k.murmur2) % partitions,
                    PartitionReason::Murmur2 {
                        hash: k.murmur2,
                        partition_count: partitions,
                    },
                ),
                _ => (
                    self.accumulator
                        .java_sticky_partition(topic, ctx.cluster, ctx.rng),
                    PartitionReason::Sticky,
                ),
            },
            PartitionerKind::LibrdkafkaConsistentRandom => match info {
                Some(k) if !k.name.is_empty() => (
                    k.crc32 % partitions,
                    PartitionReason::Crc32 {
                        hash: k.crc32,
                        partition_count: partitions,
                    },
                ),
                _ => (
                    self.accumulator
                        .librdkafka_sticky_partition(topic, partitions, ctx.now_ms, ctx.rng),
                    PartitionReason::Sticky,
                ),
            },
        }
    }

    /// Wakes the sender at `at_ms`, unless a wake-up is already due by then: one pending
    /// wake-up per producer keeps the queue from filling with duplicates.
    fn schedule_sender(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self
            .sender_wake_at
            .is_some_and(|w| w >= ctx.now_ms && w <= at_ms)
        {
            return;
        }
        self.sender_wake_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Producer(ProducerTimer::SenderWake),
        );
    }

    // ---- the sender -------------------------------------------------------------------

    /// One run of the sender loop (Sender `runOnce`): expire, resolve sequences, bump the
    /// epoch if needed, refresh load stats, then drain ready batches into requests.
    fn run_sender(&mut self, ctx: &mut Ctx) {
        self.expire_batches(ctx);
        if self.config.idempotence() {
            self.maybe_resolve_sequences();
            self.maybe_bump_epoch(ctx);
        }
        self.accumulator.update_load_stats(ctx.cluster);
        loop {
            let batches = self.drain(ctx);
            if batches.is_empty() {
                break;
            }
            // One request per leader (NetworkClient: a connection per broker).
            let mut by_leader: Vec<(BrokerId, Vec<Batch>)> = Vec::new();
            for b in batches {
                let leader = ctx
                    .cluster
                    .leader(b.tp)
                    .expect("drain takes led partitions");
                match by_leader.iter_mut().find(|(l, _)| *l == leader) {
                    Some((_, v)) => v.push(b),
                    None => by_leader.push((leader, vec![b])),
                }
            }
            for (leader, batches) in by_leader {
                self.send_request(ctx, leader, batches);
            }
        }
        if let Some(t) = self.accumulator.next_ready_ms() {
            if t > ctx.now_ms {
                self.schedule_sender(ctx, t);
            }
        }
    }

    /// Requests in flight to one broker.
    fn in_flight_to(&self, broker: BrokerId) -> usize {
        self.in_flight.iter().filter(|r| r.broker == broker).count()
    }

    /// Takes at most one ready batch per partition whose leader is known and has room for
    /// another request (`max.in.flight.requests.per.connection`), stamping sequences on
    /// new ones.
    fn drain(&mut self, ctx: &mut Ctx) -> Vec<Batch> {
        let idempotent = self.config.idempotence();
        let max = self.config.max_in_flight_requests_per_connection as usize;
        let mut out = Vec::new();
        for tp in self.accumulator.ready_partitions(ctx.now_ms) {
            match ctx.cluster.leader(tp) {
                Some(leader) if self.in_flight_to(leader) < max => {}
                _ => continue,
            }
            let needs_sequence = self
                .accumulator
                .head(tp)
                .is_some_and(|b| b.base_sequence.is_none());
            if idempotent && needs_sequence {
                // TransactionManager: no new batch while the partition's sequence is
                // unresolved; a stale epoch restarts sequences once nothing is in flight
                // (`maybeUpdateProducerIdAndEpoch`).
                let epoch = self.epoch;
                let s = self.seq(tp);
                if s.unresolved.is_some() {
                    continue;
                }
                if s.epoch != epoch {
                    if s.in_flight > 0 {
                        // RecordAccumulator `shouldStopDrainBatchesForPartition`: no new
                        // batch while batches of an older epoch are in flight (a batch of
                        // the new epoch starts at 0 and would overtake them).
                        continue;
                    }
                    *s = Sequences {
                        epoch,
                        ..Sequences::default()
                    };
                }
            }
            let Some(mut batch) = self.accumulator.pop(tp) else {
                continue;
            };
            if idempotent && batch.base_sequence.is_none() {
                let s = self.seq(tp);
                batch.base_sequence = Some(s.next);
                batch.epoch = s.epoch;
                s.next = s.next.wrapping_add(batch.records.len() as i32);
                s.in_flight += 1;
            }
            batch.attempts += 1;
            out.push(batch);
        }
        out
    }

    fn send_request(&mut self, ctx: &mut Ctx, broker: BrokerId, batches: Vec<Batch>) {
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let acks_zero = self.config.acks == super::config::Acks::Zero;
        let acks_all = self.config.acks == super::config::Acks::All;
        let summary = batches
            .iter()
            .map(|b| BatchSummary {
                tp: b.tp,
                records: b.records.len() as u32,
                base_sequence: b.base_sequence,
                attempt: b.attempts,
            })
            .collect();
        let wire = batches
            .iter()
            .map(|b| ProduceBatch {
                batch_id: b.batch_id,
                tp: b.tp,
                base_sequence: b.base_sequence,
                epoch: b.epoch,
                records: Rc::clone(&b.records),
            })
            .collect();
        self.event(
            ctx,
            ProducerEvent::RequestSent {
                request_id,
                broker,
                batches: summary,
            },
        );
        ctx.out.send(
            self.node(),
            NodeId::Broker(broker),
            Msg::Produce {
                request_id,
                acks_zero,
                acks_all,
                timeout_ms: self.config.request_timeout_ms,
                pid: self.pid,
                batches: wire,
            },
        );
        if acks_zero {
            // acks=0: done once written; nothing comes back.
            for b in &batches {
                for r in b.records.iter() {
                    if let Some(info) = ctx.records.get_mut(r.record_id as usize) {
                        info.status = ProduceStatus::SentNoAck;
                    }
                }
                self.sent_no_ack_records += b.records.len() as u64;
            }
            return;
        }
        self.arm_timeout(
            ctx,
            ctx.now_ms.saturating_add(self.config.request_timeout_ms),
        );
        self.in_flight.push_back(InFlight {
            request_id,
            broker,
            batches,
            sent_ms: ctx.now_ms,
        });
    }

    /// Fails batches whose `delivery.timeout.ms` passed (Sender `sendProducerData`). A
    /// retried batch with a sequence leaves its partition unresolved.
    fn expire_batches(&mut self, ctx: &mut Ctx) {
        let delivery = self.config.delivery_timeout_ms();
        let retries = self.config.retries;
        let expired = self.accumulator.take_expired(ctx.now_ms, delivery, retries);
        for batch in expired {
            if let Some(base) = batch.base_sequence {
                let after = super::msg::last_sequence(base, batch.records.len()).wrapping_add(1);
                let s = self.seq(batch.tp);
                s.in_flight = s.in_flight.saturating_sub(1);
                if batch.attempts > 0 {
                    // TransactionManager `markSequenceUnresolved`.
                    s.unresolved = Some(s.unresolved.map_or(after, |u| u.max(after)));
                }
            }
            self.fail_batch(ctx, batch);
        }
    }

    fn fail_batch(&mut self, ctx: &mut Ctx, batch: Batch) {
        let ids: Vec<u32> = batch.records.iter().map(|r| r.record_id).collect();
        for &id in &ids {
            if let Some(info) = ctx.records.get_mut(id as usize) {
                info.status = ProduceStatus::Failed;
            }
        }
        self.failed_records += ids.len() as u64;
        self.event(
            ctx,
            ProducerEvent::Expired {
                tp: batch.tp,
                records: ids,
            },
        );
    }

    /// TransactionManager `maybeResolveSequences`: once nothing is in flight on an
    /// unresolved partition, either every sequence was acknowledged (the failed batch did
    /// land) or there is a gap, and the epoch must be bumped.
    fn maybe_resolve_sequences(&mut self) {
        for parts in &mut self.sequences {
            for s in parts
                .iter_mut()
                .filter(|s| s.unresolved.is_some() && s.in_flight == 0)
            {
                let next_expected = s.last_acked.map_or(0, |l| l.wrapping_add(1));
                if next_expected != s.next {
                    s.rewrite = true;
                }
                s.unresolved = None;
            }
        }
    }

    /// TransactionManager `bumpIdempotentProducerEpoch`: a new epoch, and the partitions
    /// that asked for it restart their sequences at 0 (their queued retries renumbered).
    fn maybe_bump_epoch(&mut self, ctx: &mut Ctx) {
        // A partition with batches on the wire waits for them before renumbering.
        let on_wire: Vec<Tp> = self
            .in_flight
            .iter()
            .flat_map(|r| r.batches.iter().map(|b| b.tp))
            .collect();
        let rewrite: Vec<Tp> = self
            .sequences
            .iter()
            .enumerate()
            .flat_map(|(t, parts)| {
                parts
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.rewrite)
                    .map(move |(p, _)| Tp::new(TopicId(t as u16), p as u32))
            })
            .filter(|tp| !on_wire.contains(tp))
            .collect();
        if rewrite.is_empty() {
            return;
        }
        self.epoch = self.epoch.wrapping_add(1);
        let epoch = self.epoch;
        for &tp in &rewrite {
            let next = self.accumulator.renumber(tp, epoch);
            let s = self.seq(tp);
            *s = Sequences {
                next,
                epoch,
                in_flight: s.in_flight,
                ..Sequences::default()
            };
        }
        self.event(
            ctx,
            ProducerEvent::EpochBumped {
                epoch,
                partitions: rewrite,
            },
        );
    }

    /// Puts a batch back for a retry after its backoff, or fails it when its delivery
    /// timeout has passed.
    fn retry(&mut self, ctx: &mut Ctx, mut batch: Batch) {
        let backoff = retry_backoff_ms(&self.config, batch.attempts, ctx.rng);
        batch.not_before_ms = ctx.now_ms + backoff;
        self.event(
            ctx,
            ProducerEvent::Retrying {
                tp: batch.tp,
                base_sequence: batch.base_sequence,
                attempt: batch.attempts,
                backoff_ms: backoff,
            },
        );
        self.accumulator.reenqueue(batch);
    }

    fn on_produce_response(&mut self, ctx: &mut Ctx, request_id: u64, results: Vec<BatchResult>) {
        let Some(pos) = self
            .in_flight
            .iter()
            .position(|r| r.request_id == request_id)
        else {
            return; // its connection was closed: the batches were already retried
        };
        let request = self.in_flight.remove(pos).expect("found above");
        for batch in request.batches {
            let error = results
                .iter()
                .find(|r| r.batch_id == batch.batch_id)
                .map_or(KafkaError::None, |r| r.error);
            match error {
                KafkaError::None | KafkaError::DuplicateSequenceNumber => {
                    self.complete_batch(ctx, &batch)
                }
                KafkaError::OutOfOrderSequenceNumber => {
                    self.out_of_order(&batch);
                    self.retry(ctx, batch);
                }
                KafkaError::UnknownTopicOrPartition if !ctx.cluster.has(batch.tp) => {
                    self.release_sequence(&batch);
                    self.fail_batch(ctx, batch);
                }
                KafkaError::InvalidRecord => {
                    // Not retriable: the batch fails, and an idempotent producer's sequence
                    // for the partition has a gap, so its epoch is bumped
                    // (TransactionManager `handleFailedBatch`).
                    let rejected = ProducerEvent::Rejected {
                        request_id,
                        tp: batch.tp,
                        error,
                    };
                    self.event(ctx, rejected);
                    self.unresolve(&batch);
                    self.fail_batch(ctx, batch);
                }
                KafkaError::NotLeaderOrFollower
                | KafkaError::NotEnoughReplicas
                | KafkaError::NotEnoughReplicasAfterAppend
                | KafkaError::RequestTimedOut
                | KafkaError::NetworkException => {
                    // Retriable (Sender `canRetry`); a leader error also refreshes the
                    // metadata, which the lab's clients always have fresh.
                    self.event(
                        ctx,
                        ProducerEvent::Rejected {
                            request_id,
                            tp: batch.tp,
                            error,
                        },
                    );
                    self.retry(ctx, batch);
                }
                _ => self.retry(ctx, batch),
            }
        }
        self.event(ctx, ProducerEvent::Acked { request_id });
        self.run_sender(ctx);
    }

    fn complete_batch(&mut self, ctx: &mut Ctx, batch: &Batch) {
        for r in batch.records.iter() {
            if let Some(info) = ctx.records.get_mut(r.record_id as usize) {
                info.status = ProduceStatus::Acked;
            }
        }
        self.acked_records += batch.records.len() as u64;
        if let Some(base) = batch.base_sequence {
            let epoch = batch.epoch;
            let last = super::msg::last_sequence(base, batch.records.len());
            let s = self.seq(batch.tp);
            s.in_flight = s.in_flight.saturating_sub(1);
            if s.epoch == epoch {
                s.last_acked = Some(s.last_acked.map_or(last, |l| l.max(last)));
            }
        }
    }

    /// A batch that failed after it was sent: its sequences are unresolved until nothing is
    /// in flight on its partition (TransactionManager `markSequenceUnresolved`).
    fn unresolve(&mut self, batch: &Batch) {
        if let Some(base) = batch.base_sequence {
            let after = super::msg::last_sequence(base, batch.records.len()).wrapping_add(1);
            let s = self.seq(batch.tp);
            s.in_flight = s.in_flight.saturating_sub(1);
            s.unresolved = Some(s.unresolved.map_or(after, |u| u.max(after)));
        }
    }

    fn release_sequence(&mut self, batch: &Batch) {
        if batch.base_sequence.is_some() {
            let s = self.seq(batch.tp);
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }

    /// TransactionManager `canRetry` for OUT_OF_ORDER_SEQUENCE_NUMBER: retry; and when the
    /// gap is real (no unresolved sequence, or this batch comes right after it), ask for an
    /// epoch bump.
    fn out_of_order(&mut self, batch: &Batch) {
        let Some(base) = batch.base_sequence else {
            return;
        };
        let s = self.seq(batch.tp);
        let next_expected = s.last_acked.map_or(0, |l| l.wrapping_add(1));
        let gap = match s.unresolved {
            Some(after_failed) => base == after_failed,
            None => base == next_expected && s.epoch == batch.epoch,
        };
        if gap {
            s.rewrite = true;
        }
    }

    /// The oldest request on the connection got no answer within `request.timeout.ms`:
    /// the client closes the connection and every request in flight on it fails and is
    /// retried (NetworkClient `handleTimedOutRequests`).
    fn request_timeout(&mut self, ctx: &mut Ctx) {
        let Some(oldest) = self.in_flight.front() else {
            return;
        };
        let deadline = oldest
            .sent_ms
            .saturating_add(self.config.request_timeout_ms);
        if ctx.now_ms < deadline {
            self.arm_timeout(ctx, deadline);
            return;
        }
        let (broker, request_id) = (oldest.broker, oldest.request_id);
        self.connection_closed(ctx, broker, request_id);
    }

    /// The connection to `broker` is gone (timed out or broken): every request in flight
    /// on it fails and is retried (NetworkClient `handleTimedOutRequests`,
    /// `handleDisconnections`).
    fn connection_closed(&mut self, ctx: &mut Ctx, broker: BrokerId, request_id: u64) {
        let (failed, kept): (Vec<InFlight>, Vec<InFlight>) =
            self.in_flight.drain(..).partition(|r| r.broker == broker);
        self.in_flight = kept.into();
        if failed.is_empty() {
            return;
        }
        self.event(
            ctx,
            ProducerEvent::ConnectionClosed {
                broker,
                request_id,
                in_flight: failed.len() as u32,
            },
        );
        ctx.out
            .closed_connections
            .push((self.node(), NodeId::Broker(broker)));
        // Retried newest first so each partition's queue ends up oldest first.
        for req in failed.into_iter().rev() {
            for batch in req.batches.into_iter().rev() {
                self.retry(ctx, batch);
            }
        }
        if let Some(oldest) = self.in_flight.front() {
            let deadline = oldest
                .sent_ms
                .saturating_add(self.config.request_timeout_ms);
            self.arm_timeout(ctx, deadline);
        }
        self.run_sender(ctx);
    }

    fn arm_timeout(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.timeout_timer_at.is_none() {
            self.timeout_timer_at = Some(at_ms);
            ctx.out.timer(
                at_ms,
                self.node(),
                Timer::Producer(ProducerTimer::RequestTimeout),
            );
        }
    }

    /// Handles a response from a broker.
    pub fn on_message(&mut self, ctx: &mut Ctx, msg: Msg) {
        if let Msg::ProduceResponse {
            request_id,
            results,
        } = msg
        {
            self.on_produce_response(ctx, request_id, results);
        }
    }

    /// The broker went down: the connection breaks and what was in flight on it is retried.
    pub fn broker_down(&mut self, ctx: &mut Ctx, broker: BrokerId) {
        if let Some(first) = self.in_flight.iter().find(|r| r.broker == broker) {
            let request_id = first.request_id;
            self.connection_closed(ctx, broker, request_id);
        }
    }

    /// Forgets a deleted topic: its queued batches fail.
    pub fn forget_topic(&mut self, ctx: &mut Ctx, topic: TopicId) {
        for batch in self.accumulator.take_topic(topic) {
            self.fail_batch(ctx, batch);
        }
    }
}

/// The producer's retry backoff (ExponentialBackoff with base 2 and jitter 0.2, as
/// RecordAccumulator builds it): `retry.backoff.ms × 2^(attempts-1)`, times a random
/// factor in [0.8, 1.2), capped at `retry.backoff.max.ms`. The jitter comes from the one
/// seeded RNG.
pub fn retry_backoff_ms(config: &ProducerConfig, attempts: u32, rng: &mut Rng) -> u64 {
    let max = config.retry_backoff_max_ms;
    let initial = config.retry_backoff_ms.min(max);
    if max <= initial {
        return initial; // expMax == 0: no growth, no jitter
    }
    // Kafka computes initial × 2^min(attempts, log2(max / initial)) in floating point;
    // that is min(initial × 2^attempts, max) exactly, which integers give without `ln` or
    // `powf` (whose last bit may differ between wasm and native, and determinism may not).
    let doublings = attempts.saturating_sub(1).min(63);
    let term = initial
        .checked_mul(1u64 << doublings)
        .map_or(max, |t| t.min(max));
    let factor = 0.8 + 0.4 * rng.unit_f64();
    ((factor * term as f64) as u64).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_max() {
        let config = ProducerConfig::default();
        let mut rng = Rng::new(5);
        for (attempts, lo, hi) in [(1, 80, 120), (2, 160, 240), (3, 320, 480), (4, 640, 960)] {
            for _ in 0..50 {
                let b = retry_backoff_ms(&config, attempts, &mut rng);
                assert!((lo..hi).contains(&b), "attempt {attempts}: {b}");
            }
        }
        for _ in 0..50 {
            assert!(retry_backoff_ms(&config, 9, &mut rng) <= 1_000);
        }
        let flat = ProducerConfig {
            retry_backoff_max_ms: 50,
            ..ProducerConfig::default()
        };
        assert_eq!(retry_backoff_ms(&flat, 3, &mut rng), 50);
    }
}
