//! The broker actor: partition logs, the idempotent producers' sequence state, and the
//! Produce, Fetch and ListOffsets requests. (The group coordinator it hosts is its own
//! actor, in `coordinator/`.)

use super::vecmap::VecMap;
use std::collections::VecDeque;
use std::rc::Rc;

use super::actor::Ctx;
use super::chunked::ChunkVec;
use super::cleaner::{self, LogToClean, LOG_CLEANER_BACKOFF_MS};
use super::cluster::{Cluster, Compaction, OFFSETS_TOPIC};
use super::event::{BrokerEvent, CleanedLog, Event, ProducerEvent};
use super::ids::{BrokerId, ConsumerRef, NodeId, ProducerId, TopicId, Tp};
use super::log::{LogRecord, PartitionLog, SharedRecords};
use super::msg::{
    AlterPartition, BatchResult, BrokerTimer, FetchedPartition, KafkaError, Msg, OffsetSpec,
    ProduceBatch, ReplicaFetchPartition, ReplicaFetchedPartition, Timer,
};
use super::replication::{self, BatchMeta, FollowerState, PartitionState};

mod fetch;
mod follower;
mod leader;
mod lifecycle;
mod log;

/// `log.retention.check.interval.ms`: how often a broker applies retention.
pub const LOG_RETENTION_CHECK_INTERVAL_MS: u64 = 300_000;
/// `log.initial.task.delay.ms` (internal): the first retention check after a start.
pub const LOG_INITIAL_TASK_DELAY_MS: u64 = 30_000;

/// How `__consumer_offsets` rolls: `offsets.topic.segment.bytes` (100 MiB), `segment.ms`'s
/// default.
pub const OFFSETS_ROLL: super::log::Roll = super::log::Roll {
    segment_bytes: 104_857_600,
    segment_ms: 604_800_000,
};
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
    pub(crate) id: BrokerId,
    /// Partition logs by topic, then partition.
    logs: Vec<Vec<PartitionLog>>,
    producer_states: VecMap<(i64, Tp), ProducerStateEntry>,
    parked: Vec<ParkedFetch>,
    /// Running (a killed broker keeps its logs, as its disk would, and loses the rest).
    pub(crate) alive: bool,
    /// Its life: a restart starts a new one, and timers of an old life are ignored.
    pub(crate) incarnation: u32,
    hosted: VecMap<Tp, Hosted>,
    pending: Vec<PendingProduce>,
    /// When the one timeout timer of the parked produces is set to fire, if armed.
    produce_timer_at: Option<u64>,
    parked_replica: Vec<ParkedReplicaFetch>,
    /// Follower side: the fetch in flight to each leader, with when it was sent.
    fetching: VecMap<BrokerId, (u64, u64)>,
    /// When the one replica-fetch timeout timer fires, if armed.
    fetch_timer_at: Option<u64>,
    next_fetch_id: u64,
    isr_timer_armed: bool,
    backoff_armed: bool,
    /// Per replicated partition, the idempotent batches in its log, oldest first (in shared
    /// chunks: a time-travel checkpoint clones this, and it grows with the log).
    batch_meta: VecMap<Tp, ChunkVec<BatchMeta>>,
    /// The lifecycle manager's state (registration, heartbeats, fencing).
    pub(crate) lifecycle: Lifecycle,
    /// Its replicas of the `__consumer_offsets` partitions some group lives on, by number.
    offsets_logs: VecMap<u32, PartitionLog>,
    /// The log cleaner's checkpoint per compacted log: where its last pass stopped (kept
    /// on disk in Kafka, so a restart keeps it too).
    cleaner_checkpoints: VecMap<Tp, u64>,
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
            producer_states: VecMap::new(),
            parked: Vec::new(),
            alive: true,
            incarnation: 0,
            hosted: VecMap::new(),
            pending: Vec::new(),
            produce_timer_at: None,
            parked_replica: Vec::new(),
            fetching: VecMap::new(),
            fetch_timer_at: None,
            next_fetch_id: 0,
            isr_timer_armed: false,
            backoff_armed: false,
            batch_meta: VecMap::new(),
            lifecycle: Lifecycle {
                registered: true,
                fenced: false,
                broker_epoch: 0,
                metadata_offset: 0,
                attempts: 0,
                token: 0,
            },
            offsets_logs: VecMap::new(),
            cleaner_checkpoints: VecMap::new(),
            news: Vec::new(),
        }
    }

    /// What its coordinator must hear since it last asked.
    pub fn take_news(&mut self) -> Vec<CoordinatorNews> {
        std::mem::take(&mut self.news)
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

    /// Where the log cleaner's last pass over `tp` stopped (its first dirty offset), if it
    /// cleaned it.
    pub fn cleaner_checkpoint(&self, tp: Tp) -> Option<u64> {
        self.cleaner_checkpoints.get(&tp).copied()
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
            Msg::AlterPartitionResponse { tp, .. } => self.on_alter_partition_response(tp),
            Msg::OffsetsForLeaderEpoch {
                request_id,
                partitions,
            } => self.on_offsets_for_leader_epoch(ctx, from, request_id, partitions),
            Msg::ListOffsets {
                request_id,
                partitions,
            } => self.on_list_offsets(ctx, from, request_id, partitions),
            _ => {}
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
            BrokerTimer::RetentionCheck { incarnation } if incarnation == self.incarnation => {
                self.retention_check(ctx);
            }
            BrokerTimer::LogCleaner { incarnation } if incarnation == self.incarnation => {
                self.clean_logs(ctx);
            }
            BrokerTimer::ReplicaFetchBackoff { incarnation } if incarnation == self.incarnation => {
                self.backoff_armed = false;
                self.fetch_from_leaders(ctx);
            }
            _ => {}
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

    // ---- leader: followers' fetches ---------------------------------------------------

    // ---- follower: fetching from the leaders -------------------------------------------

    // ---- leader: the ISR check --------------------------------------------------------

    // ---- the controller's pushes, and life and death ------------------------------------

    // ---- the lifecycle manager: registration and heartbeats -----------------------------
}

#[cfg(test)]
mod tests;
