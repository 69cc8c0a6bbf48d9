//! The broker actor: partition logs, the idempotent producers' sequence state, and the
//! Produce, Fetch and ListOffsets requests. (The group coordinator it hosts is its own
//! actor, in `coordinator.rs`.)

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use super::actor::Ctx;
use super::chunked::ChunkVec;
use super::cluster::{Cluster, OFFSETS_TOPIC};
use super::event::{BrokerEvent, Event, ProducerEvent};
use super::ids::{BrokerId, ConsumerRef, NodeId, ProducerId, TopicId, Tp};
use super::log::{LogRecord, PartitionLog, SharedRecords};
use super::msg::{
    AlterPartition, BatchResult, BrokerTimer, FetchedPartition, KafkaError, Msg, OffsetSpec,
    ProduceBatch, ReplicaFetchPartition, ReplicaFetchedPartition, Timer,
};
use super::replication::{self, BatchMeta, FollowerState, PartitionState};

/// `fetch.max.wait.ms`, the consumer default: how long the broker holds a fetch with no data.
pub const FETCH_MAX_WAIT_MS: u64 = 500;
/// `max.partition.fetch.bytes`, the consumer default: the most one partition returns.
pub const MAX_PARTITION_FETCH_BYTES: u64 = 1_048_576;
/// How many batches per producer and partition the broker remembers to spot duplicates
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

/// What the broker remembers of an idempotent producer on one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ProducerStateEntry {
    epoch: u16,
    last_sequence: i32,
    /// `(first sequence, last sequence, base offset)` of the newest batches.
    batches: VecDeque<(i32, i32, u64)>,
}

/// A fetch waiting for data.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ParkedFetch {
    consumer: ConsumerRef,
    fetch_id: u64,
    partitions: Vec<(Tp, u64)>,
}

/// Each follower's log end offset as its leader knows it (`None` before its first fetch).
pub type FollowerOffsets = Vec<(BrokerId, Option<u64>)>;

/// A follower's fetch waiting for new records.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ParkedReplicaFetch {
    follower: BrokerId,
    fetch_id: u64,
    partitions: Vec<ReplicaFetchPartition>,
}

/// An `acks=all` produce waiting for the high watermark (`DelayedProduce`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingProduce {
    /// When it times out (`request.timeout.ms` after it arrived).
    deadline_ms: u64,
    from: NodeId,
    request_id: u64,
    results: Vec<BatchResult>,
    /// `(partition, offset the high watermark must reach)`.
    waits: Vec<(Tp, u64)>,
}

/// What a broker knows of one partition it hosts: the controller's record, and, while it
/// leads, its followers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hosted {
    state: PartitionState,
    followers: Vec<FollowerState>,
    /// The log end when this leader's epoch began.
    epoch_start_offset: u64,
    /// When an ISR change went to the controller, while it is unanswered.
    alter_sent_ms: Option<u64>,
}

impl Hosted {
    /// An ISR change is on its way (AlterPartitionManager keeps one in flight; an
    /// unanswered one is sent again after `controller.socket.timeout.ms`).
    fn alter_pending(&self, now_ms: u64) -> bool {
        self.alter_sent_ms
            .is_some_and(|t| now_ms < t.saturating_add(CONTROLLER_SOCKET_TIMEOUT_MS))
    }
}

/// One broker.
#[derive(Clone, Debug)]
pub struct Broker {
    /// Its id.
    pub id: BrokerId,
    /// Partition logs by topic, then partition.
    logs: Vec<Vec<PartitionLog>>,
    producer_states: BTreeMap<(i64, Tp), ProducerStateEntry>,
    parked: Vec<ParkedFetch>,
    /// Running (a killed broker keeps its logs, as its disk would, and loses the rest).
    pub alive: bool,
    /// Its life: a restart starts a new one, and timers of an old life are ignored.
    pub incarnation: u32,
    hosted: BTreeMap<Tp, Hosted>,
    pending: Vec<PendingProduce>,
    /// When the one timeout timer of the parked produces is set to fire, if armed.
    produce_timer_at: Option<u64>,
    parked_replica: Vec<ParkedReplicaFetch>,
    /// Follower side: the fetch in flight to each leader, with when it was sent.
    fetching: BTreeMap<BrokerId, (u64, u64)>,
    /// When the one replica-fetch timeout timer fires, if armed.
    fetch_timer_at: Option<u64>,
    next_fetch_id: u64,
    isr_timer_armed: bool,
    backoff_armed: bool,
    /// Per replicated partition, the idempotent batches in its log, oldest first (in shared
    /// chunks: a time-travel checkpoint clones this, and it grows with the log).
    batch_meta: BTreeMap<Tp, ChunkVec<BatchMeta>>,
    /// The lifecycle manager's state (registration, heartbeats, fencing).
    pub lifecycle: Lifecycle,
    /// Its replicas of the `__consumer_offsets` partitions some group lives on, by number.
    offsets_logs: BTreeMap<u32, PartitionLog>,
    /// What its group coordinator must hear (the same process): leadership of an offsets
    /// partition won or lost, its high watermark moved.
    news: Vec<CoordinatorNews>,
}

/// What a broker tells the group coordinator it hosts (`CoordinatorPartitionWriter` and
/// the metadata publisher's `onElection`/`onResignation` in Kafka).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorNews {
    /// It now leads partition `k` of `__consumer_offsets`: load its groups.
    Elected(u32),
    /// It no longer leads partition `k`: its pending writes fail.
    Resigned(u32),
    /// Partition `k`'s high watermark moved: writes below it are committed.
    HighWatermark(u32, u64),
}

/// A broker's standing with the controller, as its `BrokerLifecycleManager` keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lifecycle {
    /// This process is registered (a restarted one registers first).
    pub registered: bool,
    /// The controller's last word: fenced (not eligible to lead or be in an ISR).
    pub fenced: bool,
    /// The registration's broker epoch.
    pub broker_epoch: u64,
    /// The last metadata offset applied.
    pub metadata_offset: u64,
    /// Refused registrations in a row (the backoff doubles).
    attempts: u32,
    /// The current lifecycle timer.
    token: u64,
}

/// How the broker judged a batch's sequence (ProducerAppendInfo `checkSequence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SequenceCheck {
    Append,
    Duplicate(u64),
    Refuse(KafkaError),
}

impl Broker {
    /// A broker with no partitions.
    pub fn new(id: BrokerId) -> Self {
        Broker {
            id,
            logs: Vec::new(),
            producer_states: BTreeMap::new(),
            parked: Vec::new(),
            alive: true,
            incarnation: 0,
            hosted: BTreeMap::new(),
            pending: Vec::new(),
            produce_timer_at: None,
            parked_replica: Vec::new(),
            fetching: BTreeMap::new(),
            fetch_timer_at: None,
            next_fetch_id: 0,
            isr_timer_armed: false,
            backoff_armed: false,
            batch_meta: BTreeMap::new(),
            lifecycle: Lifecycle {
                registered: true,
                fenced: false,
                broker_epoch: 0,
                metadata_offset: 0,
                attempts: 0,
                token: 0,
            },
            offsets_logs: BTreeMap::new(),
            news: Vec::new(),
        }
    }

    /// What its coordinator must hear since it last asked.
    pub fn take_news(&mut self) -> Vec<CoordinatorNews> {
        std::mem::take(&mut self.news)
    }

    /// Appends a group coordinator's record to partition `k` of `__consumer_offsets` as
    /// its leader (`CoordinatorPartitionWriter.append`, acks=1: the coordinator waits for
    /// the high watermark itself). Returns the record's offset.
    ///
    /// # Errors
    /// NOT_COORDINATOR when this broker does not lead the partition.
    pub fn append_coordinator_record(
        &mut self,
        ctx: &mut Ctx,
        k: u32,
        record: LogRecord,
    ) -> Result<u64, KafkaError> {
        let tp = Tp::new(OFFSETS_TOPIC, k);
        if !self.leads(tp) {
            return Err(KafkaError::NotCoordinator);
        }
        let log = self.log_mut(tp).ok_or(KafkaError::NotCoordinator)?;
        let offset = log.append_uncommitted(&[record]);
        self.after_leader_append(ctx, &[tp]);
        Ok(offset)
    }

    fn node(&self) -> NodeId {
        NodeId::Broker(self.id)
    }

    // ---- what the controller tells it ------------------------------------------------

    /// Makes room for a topic's partitions (creation, or partitions added).
    pub fn ensure_partitions(&mut self, topic: TopicId, partitions: u32) {
        if self.logs.len() <= topic.index() {
            self.logs.resize_with(topic.index() + 1, Vec::new);
        }
        self.logs[topic.index()].resize_with(partitions as usize, PartitionLog::new);
    }

    /// Drops a deleted topic's logs and state.
    pub fn delete_topic(&mut self, topic: TopicId) {
        if let Some(logs) = self.logs.get_mut(topic.index()) {
            logs.clear();
        }
        self.producer_states.retain(|(_, tp), _| tp.topic != topic);
        for f in &mut self.parked {
            f.partitions.retain(|(tp, _)| tp.topic != topic);
        }
        self.hosted.retain(|tp, _| tp.topic != topic);
        self.batch_meta.retain(|tp, _| tp.topic != topic);
        for f in &mut self.parked_replica {
            f.partitions.retain(|p| p.tp.topic != topic);
        }
        for p in &mut self.pending {
            p.waits.retain(|(tp, _)| tp.topic != topic);
        }
    }

    // ---- reads (for the kernel's ledger and the read model) ---------------------------

    /// One partition's log.
    pub fn log(&self, tp: Tp) -> Option<&PartitionLog> {
        if let Some(k) = Cluster::offsets_partition_of(tp) {
            return self.offsets_logs.get(&k);
        }
        self.logs.get(tp.topic.index())?.get(tp.p() as usize)
    }

    /// A topic's logs.
    pub fn topic_logs(&self, topic: TopicId) -> &[PartitionLog] {
        self.logs.get(topic.index()).map_or(&[], Vec::as_slice)
    }

    fn log_mut(&mut self, tp: Tp) -> Option<&mut PartitionLog> {
        if let Some(k) = Cluster::offsets_partition_of(tp) {
            return self.offsets_logs.get_mut(&k);
        }
        self.logs
            .get_mut(tp.topic.index())?
            .get_mut(tp.p() as usize)
    }

    /// Records held over every partition.
    pub fn record_count(&self) -> u64 {
        self.logs.iter().flatten().map(PartitionLog::len).sum()
    }

    /// Its logs' memory (see `ChunkVec::memory`).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.logs
            .iter()
            .flatten()
            .chain(self.offsets_logs.values())
            .map(PartitionLog::memory)
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    }

    // ---- messages -------------------------------------------------------------------

    /// Handles a Produce, Fetch or ListOffsets request.
    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Produce {
                request_id,
                acks_zero,
                acks_all,
                timeout_ms,
                pid,
                batches,
            } => {
                let acks = Acks {
                    zero: acks_zero,
                    all: acks_all,
                    timeout_ms,
                };
                self.on_produce(ctx, from, request_id, acks, pid, batches)
            }
            Msg::ReplicaFetch {
                fetch_id,
                partitions,
            } => {
                if let NodeId::Broker(follower) = from {
                    self.on_replica_fetch(ctx, follower, fetch_id, partitions);
                }
            }
            Msg::ReplicaFetchResponse {
                fetch_id,
                partitions,
            } => {
                if let NodeId::Broker(leader) = from {
                    self.on_replica_fetch_response(ctx, leader, fetch_id, partitions);
                }
            }
            Msg::Fetch {
                fetch_id,
                partitions,
            } => {
                if let Some(consumer) = from.consumer() {
                    self.on_fetch(ctx, consumer, fetch_id, partitions);
                }
            }
            Msg::BrokerRegistrationResponse {
                error,
                broker_epoch,
            } => self.on_registration_response(ctx, error, broker_epoch),
            Msg::BrokerHeartbeatResponse { error, fenced } => {
                self.on_heartbeat_response(ctx, error, fenced)
            }
            Msg::MetadataUpdate {
                offset,
                partitions,
                full,
            } => self.on_metadata(ctx, offset, partitions, full),
            Msg::AlterPartitionResponse { tp, .. } => {
                // The ISR itself comes with the metadata; an error lets the next check try
                // again.
                if let Some(h) = self.hosted.get_mut(&tp) {
                    h.alter_sent_ms = None;
                }
            }
            Msg::OffsetsForLeaderEpoch {
                request_id,
                partitions,
            } => {
                let partitions = partitions
                    .into_iter()
                    .map(|(tp, epoch, current)| {
                        let (error, end) = self.offsets_for_leader_epoch(tp, epoch, current);
                        (tp, error, end)
                    })
                    .collect();
                ctx.out.send(
                    self.node(),
                    from,
                    Msg::OffsetsForLeaderEpochResponse {
                        request_id,
                        partitions,
                    },
                );
            }
            Msg::ListOffsets {
                request_id,
                partitions,
            } => {
                // Only the leader answers (NOT_LEADER_OR_FOLLOWER otherwise: no offset).
                let offsets = partitions
                    .into_iter()
                    .map(|(tp, spec)| {
                        let offset = self.log(tp).filter(|_| self.leads(tp)).map(|l| match spec {
                            OffsetSpec::Earliest => l.log_start_offset(),
                            OffsetSpec::Latest => l.high_watermark(),
                            // Kafka answers -1 when no record is that recent; the lab's
                            // seek by time then goes to the end (see `SeekTo::Timestamp`).
                            OffsetSpec::Timestamp(t) => {
                                l.offset_for_time(t).unwrap_or_else(|| l.high_watermark())
                            }
                        });
                        (tp, spec, offset)
                    })
                    .collect();
                ctx.out.send(
                    self.node(),
                    from,
                    Msg::ListOffsetsResponse {
                        request_id,
                        offsets,
                    },
                );
            }
            _ => {}
        }
    }

    /// Appends directly (records typed by hand: an admin path with no producer client).
    pub fn append_direct(&mut self, ctx: &mut Ctx, tp: Tp, record: LogRecord) -> Option<u64> {
        let base = self.log_mut(tp)?.append_uncommitted(&[record]);
        self.after_leader_append(ctx, &[tp]);
        Some(base)
    }

    fn on_produce(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        request_id: u64,
        acks: Acks,
        pid: i64,
        batches: Vec<ProduceBatch>,
    ) {
        let NodeId::Producer(producer) = from else {
            return;
        };
        let mut results = Vec::with_capacity(batches.len());
        let mut touched = Vec::with_capacity(batches.len());
        let mut waits = Vec::new();
        for batch in batches {
            let result = self.produce_batch(ctx, producer, request_id, pid, acks.all, &batch);
            if result.error == KafkaError::None {
                touched.push(batch.tp);
                if let (true, Some(base)) = (acks.all, result.base_offset) {
                    waits.push((batch.tp, base + batch.records.len() as u64));
                }
            }
            results.push(result);
        }
        self.after_leader_append(ctx, &touched);
        if acks.zero {
            return;
        }
        let satisfied = waits
            .iter()
            .all(|&(tp, required)| self.log(tp).is_some_and(|l| l.high_watermark() >= required));
        if satisfied {
            ctx.out.send(
                self.node(),
                from,
                Msg::ProduceResponse {
                    request_id,
                    results,
                },
            );
            return;
        }
        // DelayedProduce: answer when the high watermark passes every batch, or time out.
        let deadline_ms = ctx.now_ms.saturating_add(acks.timeout_ms);
        self.arm_produce_timer(ctx, deadline_ms);
        self.pending.push(PendingProduce {
            deadline_ms,
            from,
            request_id,
            results,
            waits,
        });
    }

    fn produce_batch(
        &mut self,
        ctx: &mut Ctx,
        producer: ProducerId,
        request_id: u64,
        pid: i64,
        acks_all: bool,
        batch: &ProduceBatch,
    ) -> BatchResult {
        let tp = batch.tp;
        let mut result = BatchResult {
            batch_id: batch.batch_id,
            tp,
            error: KafkaError::None,
            base_offset: None,
        };
        if self.log(tp).is_none() {
            result.error = KafkaError::UnknownTopicOrPartition;
            return result;
        }
        if !self.leads(tp) {
            result.error = KafkaError::NotLeaderOrFollower;
            return result;
        }
        // Partition.appendRecordsToLeader: acks=all below min.insync.replicas writes nothing.
        if acks_all && self.isr_size(tp) < self.effective_min_isr(ctx, tp) {
            result.error = KafkaError::NotEnoughReplicas;
            return result;
        }
        let check = match batch.base_sequence {
            Some(base) if pid >= 0 => self.check_sequence(pid, tp, batch.epoch, base, batch),
            _ => SequenceCheck::Append,
        };
        let event = |event| Event::Producer {
            at_ms: ctx.now_ms,
            producer,
            event,
        };
        match check {
            SequenceCheck::Refuse(error) => {
                if error == KafkaError::OutOfOrderSequenceNumber {
                    ctx.out.event(event(ProducerEvent::OutOfOrderSequence {
                        request_id,
                        tp,
                        base_sequence: batch.base_sequence.unwrap_or(-1),
                    }));
                }
                result.error = error;
            }
            SequenceCheck::Duplicate(base_offset) => {
                ctx.out.event(event(ProducerEvent::DuplicateBatchDropped {
                    request_id,
                    tp,
                    base_sequence: batch.base_sequence.unwrap_or(-1),
                }));
                // UnifiedLog.append: a duplicate gets its first append's offsets and no
                // error; with acks=all it then waits for the high watermark like any append
                // (ReplicaManager `delayedProduceRequestRequired`).
                result.base_offset = Some(base_offset);
            }
            SequenceCheck::Append => {
                let log = self.log_mut(tp).expect("checked above");
                let base_offset = log.append_uncommitted(&batch.records);
                if let (Some(base), true) = (batch.base_sequence, pid >= 0) {
                    self.remember_batch(pid, tp, batch, base, base_offset);
                }
                ctx.out.event(event(ProducerEvent::Appended {
                    request_id,
                    broker: self.id,
                    tp,
                    base_offset,
                    count: batch.records.len() as u32,
                }));
                result.base_offset = Some(base_offset);
            }
        }
        result
    }

    /// ProducerAppendInfo `checkProducerEpoch` and `checkSequence`, and
    /// ProducerStateEntry `findDuplicateBatch`.
    fn check_sequence(
        &self,
        pid: i64,
        tp: Tp,
        epoch: u16,
        base: i32,
        batch: &ProduceBatch,
    ) -> SequenceCheck {
        let Some(entry) = self.producer_states.get(&(pid, tp)) else {
            return SequenceCheck::Append; // no epoch known yet: any first sequence
        };
        if epoch < entry.epoch {
            return SequenceCheck::Refuse(KafkaError::InvalidProducerEpoch);
        }
        if epoch > entry.epoch {
            // A new epoch must start at sequence 0.
            return if base == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
            };
        }
        let last = super::msg::last_sequence(base, batch.records.len());
        if let Some(&(_, _, offset)) = entry
            .batches
            .iter()
            .find(|&&(f, l, _)| f == base && l == last)
        {
            return SequenceCheck::Duplicate(offset);
        }
        let in_sequence = base == entry.last_sequence.wrapping_add(1)
            || (base == 0 && entry.last_sequence == i32::MAX);
        if in_sequence {
            SequenceCheck::Append
        } else {
            SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
        }
    }

    fn remember_batch(&mut self, pid: i64, tp: Tp, batch: &ProduceBatch, base: i32, offset: u64) {
        let meta = BatchMeta {
            base_offset: offset,
            pid,
            epoch: batch.epoch,
            first_sequence: base,
            last_sequence: super::msg::last_sequence(base, batch.records.len()),
        };
        self.remember(tp, meta);
    }

    /// Updates the producer state with a batch written at `meta.base_offset`, and keeps
    /// its sequence numbers beside the log when the partition has followers (they rebuild
    /// the same state from them).
    fn remember(&mut self, tp: Tp, meta: BatchMeta) {
        let entry = self.producer_states.entry((meta.pid, tp)).or_default();
        if entry.epoch != meta.epoch {
            entry.batches.clear();
            entry.epoch = meta.epoch;
        }
        entry.last_sequence = meta.last_sequence;
        entry
            .batches
            .push_back((meta.first_sequence, meta.last_sequence, meta.base_offset));
        if entry.batches.len() > NUM_BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        let replicated = self
            .hosted
            .get(&tp)
            .is_some_and(|h| h.state.replicas.len() > 1);
        if replicated {
            self.batch_meta.entry(tp).or_default().push(meta);
        }
    }

    /// After a truncation: the producer state of `tp` as the batches still in the log
    /// leave it (`UnifiedLog.rebuildProducerState`).
    fn rebuild_producer_state(&mut self, tp: Tp, from_offset: u64) {
        let metas = self.batch_meta.remove(&tp).unwrap_or_default();
        self.producer_states.retain(|(_, t), _| *t != tp);
        for m in metas.iter().filter(|m| m.base_offset < from_offset) {
            self.remember(tp, *m);
        }
    }

    fn on_fetch(
        &mut self,
        ctx: &mut Ctx,
        consumer: ConsumerRef,
        fetch_id: u64,
        partitions: Vec<(Tp, u64)>,
    ) {
        let fetch = ParkedFetch {
            consumer,
            fetch_id,
            partitions,
        };
        if self.has_data(&fetch) {
            self.respond_fetch(ctx, &fetch);
        } else {
            // DelayedFetch: hold it until data arrives or fetch.max.wait.ms passes.
            ctx.out.timer(
                ctx.now_ms + FETCH_MAX_WAIT_MS,
                self.node(),
                Timer::Broker(BrokerTimer::FetchWait { consumer, fetch_id }),
            );
            self.parked.push(fetch);
        }
    }

    /// Handles a timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: BrokerTimer) {
        match timer {
            BrokerTimer::FetchWait { consumer, fetch_id } => {
                if let Some(i) = self
                    .parked
                    .iter()
                    .position(|f| f.consumer == consumer && f.fetch_id == fetch_id)
                {
                    let fetch = self.parked.remove(i);
                    self.respond_fetch(ctx, &fetch);
                }
            }
            BrokerTimer::ReplicaFetchWait { follower, fetch_id } => {
                if let Some(i) = self
                    .parked_replica
                    .iter()
                    .position(|f| f.follower == follower && f.fetch_id == fetch_id)
                {
                    let fetch = self.parked_replica.remove(i);
                    self.respond_replica_fetch(ctx, &fetch);
                }
            }
            BrokerTimer::ProduceTimeout { incarnation } if incarnation == self.incarnation => {
                if self.produce_timer_at.is_some_and(|at| at <= ctx.now_ms) {
                    self.produce_timer_at = None;
                }
                // Every produce whose time is up, in the order they arrived.
                let mut i = 0;
                while i < self.pending.len() {
                    if self.pending[i].deadline_ms <= ctx.now_ms {
                        let p = self.pending.remove(i);
                        self.answer_pending(ctx, p, true);
                    } else {
                        i += 1;
                    }
                }
                if let Some(next) = self.pending.iter().map(|p| p.deadline_ms).min() {
                    self.arm_produce_timer(ctx, next);
                }
            }
            BrokerTimer::IsrExpiration { incarnation } if incarnation == self.incarnation => {
                self.isr_timer_armed = false;
                self.shrink_isr(ctx);
                self.arm_isr_timer(ctx);
            }
            BrokerTimer::Lifecycle { incarnation, token }
                if incarnation == self.incarnation && token == self.lifecycle.token =>
            {
                self.lifecycle_tick(ctx);
            }
            BrokerTimer::ReplicaFetchTimeout { incarnation } if incarnation == self.incarnation => {
                self.replica_fetch_timeouts(ctx);
            }
            BrokerTimer::ReplicaFetchBackoff { incarnation } if incarnation == self.incarnation => {
                self.backoff_armed = false;
                self.fetch_from_leaders(ctx);
            }
            _ => {}
        }
    }

    /// Forgets a crashed client's parked fetches (its connection is gone).
    pub fn forget_consumer(&mut self, consumer: ConsumerRef) {
        self.parked.retain(|f| f.consumer != consumer);
    }

    /// True when any partition of the fetch has records to return or an error to report.
    fn has_data(&self, fetch: &ParkedFetch) -> bool {
        fetch
            .partitions
            .iter()
            .any(|&(tp, offset)| match self.log(tp) {
                _ if !self.leads(tp) => true,
                None => true,
                Some(log) => offset != log.high_watermark() || offset < log.log_start_offset(),
            })
    }

    fn complete_parked(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if self.parked.is_empty() || touched.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.parked.len() {
            let relevant = self.parked[i]
                .partitions
                .iter()
                .any(|(tp, _)| touched.contains(tp));
            if relevant && self.has_data(&self.parked[i]) {
                let fetch = self.parked.remove(i);
                self.respond_fetch(ctx, &fetch);
            } else {
                i += 1;
            }
        }
    }

    fn respond_fetch(&self, ctx: &mut Ctx, fetch: &ParkedFetch) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|&(tp, offset)| self.fetch_partition(tp, offset))
            .collect();
        ctx.out.send(
            self.node(),
            NodeId::Consumer(fetch.consumer),
            Msg::FetchResponse {
                fetch_id: fetch.fetch_id,
                partitions,
            },
        );
    }

    /// One partition's part of a fetch: records from `offset` below the high watermark,
    /// up to `max.partition.fetch.bytes` (at least one record).
    fn fetch_partition(&self, tp: Tp, offset: u64) -> FetchedPartition {
        let Some(log) = self.log(tp) else {
            return FetchedPartition {
                tp,
                error: KafkaError::UnknownTopicOrPartition,
                fetch_offset: offset,
                high_watermark: 0,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        };
        let hw = log.high_watermark();
        if !self.leads(tp) {
            return FetchedPartition {
                tp,
                error: KafkaError::NotLeaderOrFollower,
                fetch_offset: offset,
                high_watermark: hw,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        }
        if offset < log.log_start_offset() || offset > log.log_end_offset() {
            return FetchedPartition {
                tp,
                error: KafkaError::OffsetOutOfRange,
                fetch_offset: offset,
                high_watermark: hw,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        }
        // What fits in `max.partition.fetch.bytes` (at least one record), shared, not copied.
        let mut bytes = 0u64;
        let mut count = 0u64;
        'scan: for slice in log.slices(offset, hw) {
            for r in slice {
                bytes += u64::from(r.size_bytes);
                if bytes > MAX_PARTITION_FETCH_BYTES && count > 0 {
                    break 'scan;
                }
                count += 1;
            }
        }
        FetchedPartition {
            tp,
            error: KafkaError::None,
            fetch_offset: offset,
            high_watermark: hw,
            records: log.share(offset, offset + count),
            epochs: epochs_from(log, offset, offset + count),
        }
    }
}

/// The leader epochs of the records in `from..to` of `log`: the entry covering `from`, then
/// every one starting before `to`.
fn epochs_from(log: &PartitionLog, from: u64, to: u64) -> Vec<(u32, u64)> {
    let entries = log.epochs.entries();
    let first = entries
        .iter()
        .rposition(|&(_, start)| start <= from)
        .unwrap_or(0);
    entries
        .get(first..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|&(_, start)| start < to.max(from + 1))
        .collect()
}

/// What a produce request asks of the broker's answer.
#[derive(Clone, Copy, Debug)]
struct Acks {
    zero: bool,
    all: bool,
    timeout_ms: u64,
}

/// `replica.fetch.max.bytes`: the most one partition returns to a follower.
pub const REPLICA_FETCH_MAX_BYTES: u64 = 1_048_576;
/// `replica.fetch.backoff.ms`: a follower's pause after a failed fetch.
pub const REPLICA_FETCH_BACKOFF_MS: u64 = 1_000;
/// `replica.socket.timeout.ms`: how long a follower waits for a fetch's answer.
pub const REPLICA_SOCKET_TIMEOUT_MS: u64 = 30_000;
/// `controller.socket.timeout.ms`: how long a request to the controller may go unanswered.
pub const CONTROLLER_SOCKET_TIMEOUT_MS: u64 = 30_000;

// ---- replication: the leader's side, the follower's side, and the controller's pushes ----

impl Broker {
    /// `Partition.lastOffsetForLeaderEpoch` for a consumer (KIP-320): the end of `epoch`
    /// in the leader's log, once the request's current leader epoch matches this leader's.
    fn offsets_for_leader_epoch(
        &self,
        tp: Tp,
        epoch: u32,
        current: u32,
    ) -> (KafkaError, Option<(u32, u64)>) {
        let Some(h) = self.hosted.get(&tp).filter(|_| self.leads(tp)) else {
            return (KafkaError::NotLeaderOrFollower, None);
        };
        if current < h.state.leader_epoch {
            return (KafkaError::FencedLeaderEpoch, None);
        }
        if current > h.state.leader_epoch {
            return (KafkaError::UnknownLeaderEpoch, None);
        }
        let Some(log) = self.log(tp) else {
            return (KafkaError::UnknownTopicOrPartition, None);
        };
        (
            KafkaError::None,
            log.epochs.end_offset_for(epoch, log.log_end_offset()),
        )
    }

    /// True when this broker leads `tp` (as the controller last told it).
    pub fn leads(&self, tp: Tp) -> bool {
        self.hosted
            .get(&tp)
            .is_some_and(|h| h.state.leader == Some(self.id))
    }

    /// What this broker knows of a partition it hosts: the controller's record as pushed,
    /// and, while it leads, each follower's log end offset as its last fetch told it.
    pub fn hosted(&self, tp: Tp) -> Option<(&PartitionState, FollowerOffsets)> {
        let h = self.hosted.get(&tp)?;
        let followers = h
            .followers
            .iter()
            .map(|f| (f.broker, f.log_end_offset))
            .collect();
        Some((&h.state, followers))
    }

    fn isr_size(&self, tp: Tp) -> usize {
        self.hosted.get(&tp).map_or(0, |h| h.state.isr.len())
    }

    /// `Partition.effectiveMinIsr`: `min.insync.replicas`, but never more than the replicas.
    fn effective_min_isr(&self, ctx: &Ctx, tp: Tp) -> usize {
        let replicas = self.hosted.get(&tp).map_or(1, |h| h.state.replicas.len());
        usize::from(ctx.cluster.min_insync_replicas(tp.topic)).min(replicas)
    }

    /// After records were appended as leader: move the high watermarks, then answer what
    /// waited for them (consumers' fetches, `acks=all` produces, followers' fetches).
    fn after_leader_append(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if touched.is_empty() {
            return;
        }
        for &tp in touched {
            self.maybe_increment_hw(ctx, tp);
        }
        self.complete_parked(ctx, touched);
        self.try_complete_pending(ctx);
        self.complete_parked_replica(ctx, touched);
    }

    /// `Partition.maybeIncrementLeaderHW`. Returns true when it moved.
    fn maybe_increment_hw(&mut self, ctx: &Ctx, tp: Tp) -> bool {
        let min_isr = self.effective_min_isr(ctx, tp);
        let Some(h) = self.hosted.get(&tp) else {
            return false;
        };
        if h.state.leader != Some(self.id) {
            return false;
        }
        // Partition.maybeIncrementLeaderHW: the ISR, and also a follower outside it that is
        // caught up and eligible to join it (`shouldWaitForReplicaToJoinIsr`), so that a
        // follower catching up under steady writes can reach the high watermark and rejoin.
        let leo = self.log(tp).map_or(0, PartitionLog::log_end_offset);
        let lag = ctx.cluster.replication.replica_lag_time_max_ms;
        let isr_followers: Vec<Option<u64>> = h
            .followers
            .iter()
            .filter(|f| {
                h.state.isr.contains(&f.broker)
                    || (f.log_end_offset.is_some()
                        && f.caught_up(leo, ctx.now_ms, lag)
                        && ctx.cluster.is_live(f.broker))
            })
            .map(|f| f.log_end_offset)
            .collect();
        let isr_size = h.state.isr.len();
        let Some(log) = self.log_mut(tp) else {
            return false;
        };
        let before = log.high_watermark();
        let hw = replication::high_watermark(
            before,
            log.log_end_offset(),
            isr_followers.into_iter(),
            isr_size,
            min_isr,
        );
        log.set_high_watermark(hw);
        let moved = log.high_watermark() > before;
        if moved {
            if let Some(k) = Cluster::offsets_partition_of(tp) {
                self.news.push(CoordinatorNews::HighWatermark(k, hw));
            }
        }
        moved
    }

    /// One timer serves every parked produce, armed for the earliest deadline (a timer per
    /// request would keep `request.timeout.ms` worth of no-ops in the kernel's queue, which
    /// every time-travel checkpoint then copies).
    fn arm_produce_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.produce_timer_at.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.produce_timer_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::ProduceTimeout {
                incarnation: self.incarnation,
            }),
        );
    }

    fn try_complete_pending(&mut self, ctx: &mut Ctx) {
        if self.pending.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.pending.len() {
            let done = self.pending[i].waits.iter().all(|&(tp, required)| {
                !self.leads(tp) || self.log(tp).is_some_and(|l| l.high_watermark() >= required)
            });
            if done {
                let p = self.pending.remove(i);
                self.answer_pending(ctx, p, false);
            } else {
                i += 1;
            }
        }
    }

    /// Answers a delayed produce (`Partition.checkEnoughReplicasReachOffset`, and
    /// REQUEST_TIMED_OUT for what had not reached the ISR in time).
    fn answer_pending(&mut self, ctx: &mut Ctx, mut p: PendingProduce, timed_out: bool) {
        for r in &mut p.results {
            let Some(&(tp, required)) = p.waits.iter().find(|(tp, _)| *tp == r.tp) else {
                continue;
            };
            if r.error != KafkaError::None {
                continue;
            }
            let reached = self.log(tp).is_some_and(|l| l.high_watermark() >= required);
            r.error = if !self.leads(tp) {
                KafkaError::NotLeaderOrFollower
            } else if !reached && timed_out {
                KafkaError::RequestTimedOut
            } else if self.isr_size(tp) < self.effective_min_isr(ctx, tp) {
                KafkaError::NotEnoughReplicasAfterAppend
            } else {
                KafkaError::None
            };
        }
        ctx.out.send(
            self.node(),
            p.from,
            Msg::ProduceResponse {
                request_id: p.request_id,
                results: p.results,
            },
        );
    }

    // ---- leader: followers' fetches ---------------------------------------------------

    fn on_replica_fetch(
        &mut self,
        ctx: &mut Ctx,
        follower: BrokerId,
        fetch_id: u64,
        partitions: Vec<ReplicaFetchPartition>,
    ) {
        let mut moved = Vec::new();
        for p in &partitions {
            if self.diverging(p).is_some() || !self.leads(p.tp) {
                continue;
            }
            let Some(leo) = self.log(p.tp).map(PartitionLog::log_end_offset) else {
                continue;
            };
            let hw = self.log(p.tp).map_or(0, PartitionLog::high_watermark);
            let Some(h) = self.hosted.get_mut(&p.tp) else {
                continue;
            };
            if let Some(f) = h.followers.iter_mut().find(|f| f.broker == follower) {
                f.fetched(p.fetch_offset.min(leo), leo, ctx.now_ms);
            }
            // Partition.maybeExpandIsr: a follower at the high watermark (and past this
            // epoch's start) rejoins the ISR.
            let rejoin = !h.state.isr.contains(&follower)
                && !h.alter_pending(ctx.now_ms)
                && p.fetch_offset >= hw
                && p.fetch_offset >= h.epoch_start_offset
                && ctx.cluster.is_live(follower);
            if rejoin {
                // Partition.prepareIsrExpand: the follower goes to the end of the ISR.
                let mut isr = h.state.isr.clone();
                isr.push(follower);
                h.alter_sent_ms = Some(ctx.now_ms);
                let request = AlterPartition {
                    tp: p.tp,
                    leader: self.id,
                    leader_epoch: h.state.leader_epoch,
                    isr,
                };
                ctx.out.send(
                    self.node(),
                    NodeId::Controller,
                    Msg::AlterPartition(request),
                );
            }
            if self.maybe_increment_hw(ctx, p.tp) {
                moved.push(p.tp);
            }
        }
        if !moved.is_empty() {
            self.complete_parked(ctx, &moved);
            self.try_complete_pending(ctx);
        }
        let fetch = ParkedReplicaFetch {
            follower,
            fetch_id,
            partitions,
        };
        if self.replica_has_data(&fetch) {
            self.respond_replica_fetch(ctx, &fetch);
        } else {
            ctx.out.timer(
                ctx.now_ms + ctx.cluster.replication.replica_fetch_wait_max_ms,
                self.node(),
                Timer::Broker(BrokerTimer::ReplicaFetchWait { follower, fetch_id }),
            );
            self.parked_replica.push(fetch);
        }
    }

    /// KIP-320: the follower's last epoch ends earlier here (or is unknown here), so its
    /// log diverged: `(epoch, end offset)` it must truncate to.
    fn diverging(&self, p: &ReplicaFetchPartition) -> Option<(u32, u64)> {
        let epoch = p.last_fetched_epoch?;
        let log = self.log(p.tp)?;
        if !self.leads(p.tp) {
            return None;
        }
        match log.epochs.end_offset_for(epoch, log.log_end_offset()) {
            Some((e, end)) if e == epoch && end >= p.fetch_offset => None,
            Some((e, end)) => Some((e, end.min(p.fetch_offset))),
            None => Some((0, log.log_start_offset())),
        }
    }

    fn replica_has_data(&self, fetch: &ParkedReplicaFetch) -> bool {
        fetch.partitions.iter().any(|p| {
            !self.leads(p.tp)
                || self.diverging(p).is_some()
                || self
                    .log(p.tp)
                    .is_none_or(|l| p.fetch_offset < l.log_end_offset())
        })
    }

    fn complete_parked_replica(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if self.parked_replica.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.parked_replica.len() {
            let relevant = self.parked_replica[i]
                .partitions
                .iter()
                .any(|p| touched.contains(&p.tp));
            if relevant && self.replica_has_data(&self.parked_replica[i]) {
                let fetch = self.parked_replica.remove(i);
                self.respond_replica_fetch(ctx, &fetch);
            } else {
                i += 1;
            }
        }
    }

    fn respond_replica_fetch(&self, ctx: &mut Ctx, fetch: &ParkedReplicaFetch) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|p| self.replica_fetch_partition(p))
            .collect();
        ctx.out.send(
            self.node(),
            NodeId::Broker(fetch.follower),
            Msg::ReplicaFetchResponse {
                fetch_id: fetch.fetch_id,
                partitions,
            },
        );
    }

    fn replica_fetch_partition(&self, p: &ReplicaFetchPartition) -> ReplicaFetchedPartition {
        let mut out = ReplicaFetchedPartition {
            tp: p.tp,
            error: KafkaError::None,
            fetch_offset: p.fetch_offset,
            high_watermark: 0,
            diverging: None,
            epochs: Vec::new(),
            batches: Vec::new(),
            records: Rc::new(Vec::new()),
        };
        let Some(log) = self.log(p.tp) else {
            out.error = KafkaError::UnknownTopicOrPartition;
            return out;
        };
        out.high_watermark = log.high_watermark();
        let epoch = self.hosted.get(&p.tp).map_or(0, |h| h.state.leader_epoch);
        if !self.leads(p.tp) {
            out.error = KafkaError::NotLeaderOrFollower;
            return out;
        }
        if p.leader_epoch < epoch {
            out.error = KafkaError::FencedLeaderEpoch;
            return out;
        }
        if let Some(d) = self.diverging(p) {
            out.diverging = Some(d);
            return out;
        }
        let mut bytes = 0u64;
        let mut records = Vec::new();
        let mut end = p.fetch_offset;
        for (o, r) in log.range(p.fetch_offset, log.log_end_offset()) {
            bytes += u64::from(r.size_bytes);
            if bytes > REPLICA_FETCH_MAX_BYTES && !records.is_empty() {
                break;
            }
            records.push(*r);
            end = o + 1;
        }
        let entries = log.epochs.entries();
        let first = entries
            .iter()
            .rposition(|&(_, start)| start <= p.fetch_offset)
            .unwrap_or(0);
        out.epochs = entries[first..]
            .iter()
            .copied()
            .filter(|&(_, start)| start < end.max(p.fetch_offset + 1))
            .collect();
        out.batches = self
            .batch_meta
            .get(&p.tp)
            .map(|metas| {
                let first = metas.partition_point(|m| m.base_offset < p.fetch_offset);
                metas
                    .range(first, metas.len())
                    .take_while(|m| m.base_offset < end)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        out.records = Rc::new(records);
        out
    }

    // ---- follower: fetching from the leaders -------------------------------------------

    /// Sends a fetch to every leader this broker follows and has none in flight to.
    pub fn fetch_from_leaders(&mut self, ctx: &mut Ctx) {
        if !self.alive {
            return;
        }
        let mut by_leader: BTreeMap<BrokerId, Vec<ReplicaFetchPartition>> = BTreeMap::new();
        for (&tp, h) in &self.hosted {
            let Some(leader) = h.state.leader else {
                continue;
            };
            if leader == self.id || !h.state.replicas.contains(&self.id) {
                continue;
            }
            if self.fetching.contains_key(&leader) {
                continue;
            }
            let Some(log) = self.log(tp) else {
                continue;
            };
            by_leader
                .entry(leader)
                .or_default()
                .push(ReplicaFetchPartition {
                    tp,
                    fetch_offset: log.log_end_offset(),
                    last_fetched_epoch: log.epochs.latest(),
                    leader_epoch: h.state.leader_epoch,
                });
        }
        for (leader, partitions) in by_leader {
            self.next_fetch_id += 1;
            self.fetching
                .insert(leader, (self.next_fetch_id, ctx.now_ms));
            self.arm_fetch_timer(ctx, ctx.now_ms + REPLICA_SOCKET_TIMEOUT_MS);
            ctx.out.send(
                self.node(),
                NodeId::Broker(leader),
                Msg::ReplicaFetch {
                    fetch_id: self.next_fetch_id,
                    partitions,
                },
            );
        }
    }

    fn on_replica_fetch_response(
        &mut self,
        ctx: &mut Ctx,
        leader: BrokerId,
        fetch_id: u64,
        parts: Vec<ReplicaFetchedPartition>,
    ) {
        if self.fetching.get(&leader).map(|f| f.0) != Some(fetch_id) {
            return;
        }
        self.fetching.remove(&leader);
        let mut failed = false;
        for part in parts {
            let follows = self
                .hosted
                .get(&part.tp)
                .is_some_and(|h| h.state.leader == Some(leader) && h.state.leader != Some(self.id));
            if !follows {
                continue;
            }
            let Some(log) = self.log_mut(part.tp) else {
                continue;
            };
            if part.error != KafkaError::None {
                failed = true;
                continue;
            }
            if log.log_end_offset() != part.fetch_offset {
                continue; // truncated or grown since: the next fetch asks again
            }
            if let Some((epoch, leader_end)) = part.diverging {
                // getOffsetTruncationState: the follower's own end of the leader's epoch
                // counts too (one round; a further divergence shows at the next fetch).
                let leo = log.log_end_offset();
                let end = replication::truncation_offset(&log.epochs, leo, epoch, leader_end);
                let dropped = log.truncate_to(end);
                self.rebuild_producer_state(part.tp, end);
                if !dropped.is_empty() {
                    let records = dropped.iter().map(|r| r.record_id).collect();
                    ctx.out.event(Event::Broker {
                        at_ms: ctx.now_ms,
                        broker: self.id,
                        event: BrokerEvent::Truncated {
                            tp: part.tp,
                            to_offset: end,
                            records,
                        },
                    });
                }
                continue;
            }
            let base = log.append_uncommitted(&part.records);
            let _ = base;
            for &(epoch, start) in &part.epochs {
                log.epochs.assign(epoch, start);
            }
            log.set_high_watermark(part.high_watermark);
            // UnifiedLog.appendAsFollower: the producer state follows the leader's.
            for &meta in &part.batches {
                self.remember(part.tp, meta);
            }
        }
        if failed {
            self.arm_backoff(ctx);
        } else {
            self.fetch_from_leaders(ctx);
        }
    }

    fn arm_backoff(&mut self, ctx: &mut Ctx) {
        if !self.backoff_armed {
            self.backoff_armed = true;
            ctx.out.timer(
                ctx.now_ms + REPLICA_FETCH_BACKOFF_MS,
                self.node(),
                Timer::Broker(BrokerTimer::ReplicaFetchBackoff {
                    incarnation: self.incarnation,
                }),
            );
        }
    }

    /// A fetch to `leader` failed on the way (it is down): back off, then fetch again.
    pub fn replica_fetch_failed(&mut self, ctx: &mut Ctx, leader: BrokerId) {
        if self.fetching.remove(&leader).is_some() {
            self.arm_backoff(ctx);
        }
    }

    /// One timer serves every fetch in flight, armed for the earliest deadline.
    fn arm_fetch_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.fetch_timer_at.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.fetch_timer_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::ReplicaFetchTimeout {
                incarnation: self.incarnation,
            }),
        );
    }

    /// `replica.socket.timeout.ms` (BrokerBlockingSender): a fetch to a leader that got no
    /// answer fails, and the fetcher backs off `replica.fetch.backoff.ms` and fetches again
    /// (AbstractFetcherThread `handlePartitionsWithErrors`). A message lost on a cut link is
    /// found out this way.
    fn replica_fetch_timeouts(&mut self, ctx: &mut Ctx) {
        if self.fetch_timer_at.is_some_and(|at| at <= ctx.now_ms) {
            self.fetch_timer_at = None;
        }
        let now = ctx.now_ms;
        let before = self.fetching.len();
        self.fetching
            .retain(|_, &mut (_, sent)| now < sent.saturating_add(REPLICA_SOCKET_TIMEOUT_MS));
        if self.fetching.len() < before {
            self.arm_backoff(ctx);
        }
        if let Some(next) = self.fetching.values().map(|&(_, sent)| sent).min() {
            self.arm_fetch_timer(ctx, next + REPLICA_SOCKET_TIMEOUT_MS);
        }
    }

    // ---- leader: the ISR check --------------------------------------------------------

    fn arm_isr_timer(&mut self, ctx: &mut Ctx) {
        let leads_followers = self
            .hosted
            .values()
            .any(|h| h.state.leader == Some(self.id) && h.state.replicas.len() > 1);
        if self.isr_timer_armed || !leads_followers || !self.alive {
            return;
        }
        self.isr_timer_armed = true;
        ctx.out.timer(
            ctx.now_ms + ctx.cluster.replication.replica_lag_time_max_ms / 2,
            self.node(),
            Timer::Broker(BrokerTimer::IsrExpiration {
                incarnation: self.incarnation,
            }),
        );
    }

    /// `Partition.maybeShrinkIsr`: ISR followers that have not caught up within
    /// `replica.lag.time.max.ms` are removed (through the controller).
    fn shrink_isr(&mut self, ctx: &mut Ctx) {
        let lag = ctx.cluster.replication.replica_lag_time_max_ms;
        let tps: Vec<Tp> = self.hosted.keys().copied().collect();
        for tp in tps {
            let Some(leo) = self.log(tp).map(PartitionLog::log_end_offset) else {
                continue;
            };
            let id = self.id;
            let Some(h) = self.hosted.get_mut(&tp) else {
                continue;
            };
            if h.state.leader != Some(id) || h.alter_pending(ctx.now_ms) {
                continue;
            }
            let out_of_sync: Vec<BrokerId> = h
                .followers
                .iter()
                .filter(|f| h.state.isr.contains(&f.broker) && !f.caught_up(leo, ctx.now_ms, lag))
                .map(|f| f.broker)
                .collect();
            if out_of_sync.is_empty() {
                continue;
            }
            let isr = h
                .state
                .isr
                .iter()
                .copied()
                .filter(|b| !out_of_sync.contains(b))
                .collect();
            h.alter_sent_ms = Some(ctx.now_ms);
            let request = AlterPartition {
                tp,
                leader: id,
                leader_epoch: h.state.leader_epoch,
                isr,
            };
            ctx.out.send(
                NodeId::Broker(id),
                NodeId::Controller,
                Msg::AlterPartition(request),
            );
        }
    }

    // ---- the controller's pushes, and life and death ------------------------------------

    /// The controller's record of a partition changed (created, a new leader, a new ISR):
    /// become its leader or follower, as `Partition.makeLeader` / `makeFollower` do.
    pub fn apply_state(&mut self, ctx: &mut Ctx, tp: Tp, state: &PartitionState) {
        let led = self.leads(tp);
        if !self.alive || !state.replicas.contains(&self.id) {
            self.hosted.remove(&tp);
            return;
        }
        if let Some(k) = Cluster::offsets_partition_of(tp) {
            self.offsets_logs.entry(k).or_default();
            let leads = state.leader == Some(self.id);
            let new_epoch = self
                .hosted
                .get(&tp)
                .is_none_or(|h| h.state.leader_epoch != state.leader_epoch);
            if leads && (!led || new_epoch) {
                self.news.push(CoordinatorNews::Elected(k));
            } else if led && !leads {
                self.news.push(CoordinatorNews::Resigned(k));
            }
        }
        let leo = self.log(tp).map_or(0, PartitionLog::log_end_offset);
        let id = self.id;
        let previous = self.hosted.get(&tp).cloned();
        let same_epoch = previous.as_ref().is_some_and(|p| {
            p.state.leader_epoch == state.leader_epoch && p.state.leader == state.leader
        });
        let leads = state.leader == Some(id);
        let hosted = if same_epoch {
            // An ISR change only: keep what the leader knows of its followers.
            let mut h = previous.expect("same epoch");
            h.state = state.clone();
            h.alter_sent_ms = None;
            h
        } else {
            let followers = if leads {
                state
                    .replicas
                    .iter()
                    .filter(|&&b| b != id)
                    .map(|&b| FollowerState::new(b, state.isr.contains(&b), ctx.now_ms))
                    .collect()
            } else {
                Vec::new()
            };
            if leads {
                if let Some(log) = self.log_mut(tp) {
                    log.epochs.assign(state.leader_epoch, leo);
                }
            }
            Hosted {
                state: state.clone(),
                followers,
                epoch_start_offset: leo,
                alter_sent_ms: None,
            }
        };
        self.hosted.insert(tp, hosted);
        if !same_epoch && state.leader_epoch > 0 {
            ctx.out.event(Event::Broker {
                at_ms: ctx.now_ms,
                broker: id,
                event: if leads {
                    BrokerEvent::BecameLeader {
                        tp,
                        leader_epoch: state.leader_epoch,
                    }
                } else {
                    BrokerEvent::BecameFollower {
                        tp,
                        leader: state.leader,
                        leader_epoch: state.leader_epoch,
                    }
                },
            });
        }
        if leads {
            self.maybe_increment_hw(ctx, tp);
            self.arm_isr_timer(ctx);
        }
        // Whatever waited on this partition and can no longer be served is answered.
        self.complete_parked(ctx, &[tp]);
        self.try_complete_pending(ctx);
        self.complete_parked_replica(ctx, &[tp]);
        if !leads {
            self.fetch_from_leaders(ctx);
        }
    }

    /// The process dies: its logs stay (on disk); requests waiting, fetches and timers go.
    pub fn kill(&mut self) {
        self.alive = false;
        self.hosted.clear();
        self.news.clear();
        self.pending.clear();
        self.produce_timer_at = None;
        self.parked.clear();
        self.parked_replica.clear();
        self.fetching.clear();
        self.fetch_timer_at = None;
        self.isr_timer_armed = false;
        self.backoff_armed = false;
    }

    /// The process starts again: it registers with the controller, which then tells it
    /// its partitions.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.alive = true;
        self.incarnation += 1;
        self.lifecycle.registered = false;
        self.lifecycle.fenced = true;
        self.lifecycle.attempts = 0;
        self.lifecycle_timer(ctx, ctx.now_ms);
    }

    /// True when the process runs and has registered: it serves requests.
    pub fn serving(&self) -> bool {
        self.alive && self.lifecycle.registered
    }

    // ---- the lifecycle manager: registration and heartbeats -----------------------------

    /// Starts heartbeating (a broker of the cluster formed at time 0).
    pub fn start_lifecycle(&mut self, ctx: &mut Ctx) {
        let at = ctx.now_ms + ctx.cluster.replication.broker_heartbeat_interval_ms;
        self.lifecycle_timer(ctx, at);
    }

    fn lifecycle_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        self.lifecycle.token += 1;
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::Lifecycle {
                incarnation: self.incarnation,
                token: self.lifecycle.token,
            }),
        );
    }

    /// BrokerLifecycleManager: register until accepted (backing off 100 ms doubling up to
    /// `broker.session.timeout.ms`), then heartbeat every `broker.heartbeat.interval.ms`.
    fn lifecycle_tick(&mut self, ctx: &mut Ctx) {
        let msg = if self.lifecycle.registered {
            Msg::BrokerHeartbeat {
                broker_epoch: self.lifecycle.broker_epoch,
                metadata_offset: self.lifecycle.metadata_offset,
            }
        } else {
            Msg::BrokerRegistration {
                incarnation: self.incarnation,
            }
        };
        let next = if self.lifecycle.registered {
            ctx.cluster.replication.broker_heartbeat_interval_ms
        } else {
            self.registration_backoff_ms(ctx)
        };
        ctx.out.send(self.node(), NodeId::Controller, msg);
        self.lifecycle_timer(ctx, ctx.now_ms + next);
    }

    fn registration_backoff_ms(&self, ctx: &Ctx) -> u64 {
        (100u64 << self.lifecycle.attempts.min(16))
            .min(ctx.cluster.replication.broker_session_timeout_ms)
    }

    fn on_registration_response(&mut self, ctx: &mut Ctx, error: KafkaError, broker_epoch: u64) {
        if self.lifecycle.registered {
            return;
        }
        if error == KafkaError::None {
            self.lifecycle.registered = true;
            self.lifecycle.broker_epoch = broker_epoch;
            self.lifecycle.attempts = 0;
            // A heartbeat at once, to be unfenced as soon as it has caught up.
            self.lifecycle_tick(ctx);
        } else {
            self.lifecycle.attempts += 1;
            let at = ctx.now_ms + self.registration_backoff_ms(ctx);
            self.lifecycle_timer(ctx, at);
        }
    }

    fn on_heartbeat_response(&mut self, ctx: &mut Ctx, error: KafkaError, fenced: bool) {
        if error == KafkaError::StaleBrokerEpoch {
            // Its registration was replaced: register again.
            self.lifecycle.registered = false;
            self.lifecycle_timer(ctx, ctx.now_ms + self.registration_backoff_ms(ctx));
            return;
        }
        self.lifecycle.fenced = fenced;
    }

    /// Metadata from the controller, applied in order; after a gap (updates lost while it
    /// was cut off) it waits for the whole image, which its next heartbeat asks for.
    fn on_metadata(
        &mut self,
        ctx: &mut Ctx,
        offset: u64,
        partitions: Vec<(Tp, PartitionState)>,
        full: bool,
    ) {
        // A new process that has not registered yet waits for the image its registration
        // brings.
        if !full && (offset != self.lifecycle.metadata_offset + 1 || !self.lifecycle.registered) {
            return;
        }
        self.lifecycle.metadata_offset = offset;
        for (tp, state) in partitions {
            self.apply_state(ctx, tp, &state);
        }
    }

    /// Applies metadata the controller wrote at `offset` directly (a topic created or
    /// partitions added: admin changes the lab applies at once), if this broker was up to
    /// date; one that was not catches up through its heartbeat.
    pub fn apply_created(&mut self, ctx: &mut Ctx, offset: u64, tp: Tp, state: &PartitionState) {
        if self.serving() && self.lifecycle.metadata_offset + 1 >= offset {
            self.lifecycle.metadata_offset = offset;
            self.apply_state(ctx, tp, state);
        }
    }
}
