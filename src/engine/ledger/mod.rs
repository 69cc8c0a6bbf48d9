//! The delivery ledger: for every produced record, what happened to it, and for every
//! group, whether it was processed exactly once, twice or more, skipped by choice, failed,
//! lost, or not yet, with the typed causes of each anomaly (`explain.rs` words them).
//!
//! The ledger is not an actor: the kernel feeds it every event, in order, and it reads the
//! logs to map offsets to records. Per record and group it keeps one byte.
//!
//! Invariant, per group at every step:
//! produced = once + duplicate + lost + skipped + failed + deleted + compacted + pending, where `lost` includes
//! the records lost before the log, and pending = in the producer + in the log, unprocessed.

use super::vecmap::VecMap;

use super::chunked::ChunkVec;
use super::event::{BrokerEvent, CrashReason, Event, GroupEvent, PositionSource, ProducerEvent};
use super::ids::{BrokerId, GroupId, MemberId, ProducerId, TopicId, Tp};
use super::log::{KeyId, LogRecord, PartitionLog};
use super::record::{Held, ProduceStatus, RecordInfo};
use cleanup::Cleanups;

mod causes;
mod cleanup;
mod delivery;
pub mod effects;
pub mod entities;

mod logs;
mod totals;

/// A record's outcome for one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Not processed yet (in the producer, or in the log).
    Pending,
    /// Processed exactly once.
    Once,
    /// Processed two or more times.
    Duplicate,
    /// Never processed: a failure made the group commit past it (or it never reached the
    /// log).
    Lost,
    /// Never processed by choice: `auto.offset.reset=latest` or a seek moved past it.
    Skipped,
    /// Its processing failed (a poison record): never processed successfully.
    Failed,
    /// Deleted by retention before the group read it: its segment expired while the
    /// group's position was below it.
    Deleted,
    /// Removed by the log cleaner before the group read it: a later record with its key
    /// (or, for a tombstone past its horizon, the key's absence) stands for it.
    Compacted,
    /// Its processing failed, and the application wrote it to the dead-letter topic and
    /// went on (`on.error=dead-letter`).
    DeadLettered,
}

impl Outcome {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Once => "once",
            Outcome::Duplicate => "duplicate",
            Outcome::Lost => "lost",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Deleted => "deleted",
            Outcome::Compacted => "compacted",
            Outcome::DeadLettered => "dead-lettered",
        }
    }
}

const OUTCOME_MASK: u8 = 0b1111;
const OUT_OF_ORDER: u8 = 0b1_0000;
/// Outcomes, for the per-outcome tallies indexed by outcome byte.
const OUTCOMES: usize = 9;

fn outcome_of(byte: u8) -> Outcome {
    match byte & OUTCOME_MASK {
        1 => Outcome::Once,
        2 => Outcome::Duplicate,
        3 => Outcome::Lost,
        4 => Outcome::Skipped,
        5 => Outcome::Failed,
        6 => Outcome::Deleted,
        7 => Outcome::Compacted,
        8 => Outcome::DeadLettered,
        _ => Outcome::Pending,
    }
}

fn byte_of(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Pending => 0,
        Outcome::Once => 1,
        Outcome::Duplicate => 2,
        Outcome::Lost => 3,
        Outcome::Skipped => 4,
        Outcome::Failed => 5,
        Outcome::Deleted => 6,
        Outcome::Compacted => 7,
        Outcome::DeadLettered => 8,
    }
}

/// Per-group totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Totals {
    /// Records produced.
    pub produced: u64,
    /// Processed exactly once.
    pub once: u64,
    /// Processed two or more times.
    pub duplicate: u64,
    /// Never processed because of a failure, including `lost_before_log`.
    pub lost: u64,
    /// Of `lost`: sent, and never reached the log (for every group).
    pub lost_before_log: u64,
    /// Skipped by choice (`auto.offset.reset=latest`, a seek forward).
    pub skipped: u64,
    /// Processing failed (poison records).
    pub failed: u64,
    /// Deleted by retention before the group read them.
    pub deleted: u64,
    /// Removed by the cleaner before the group read them (superseded by their key's later
    /// records).
    pub compacted: u64,
    /// Failed, and written to the dead-letter topic.
    pub dead_lettered: u64,
    /// Not yet: `in_producer + in_log`.
    pub pending: u64,
    /// Of `pending`: still in the producer (accumulator or on the wire).
    pub in_producer: u64,
    /// Of `pending`: in the log, not yet processed by this group.
    pub in_log: u64,
    /// Processed before an earlier record with the same key (a flag, not a bucket).
    pub out_of_order: u64,
}

/// The kind of an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    /// Records processed again.
    Duplicate,
    /// Records a failure made the group skip.
    Lost,
    /// Records skipped by choice.
    Skipped,
    /// A record whose processing failed.
    Failed,
    /// Records retention deleted before the group read them.
    Deleted,
    /// A tombstone the cleaner removed before the group read it, for a key the group last
    /// read as a value: the value lives on in the group's state.
    Resurrected,
    /// A record processed before an earlier one with the same key.
    OutOfOrder,
    /// A retry left a second copy of a record in the log (producer side).
    LogDuplicate,
    /// Records sent that never reached the log (producer side; lost for every group).
    LostBeforeLog,
    /// Records the producer got a successful ack for, then lost when the last replica
    /// holding them truncated its log after a failover (producer side; lost for every
    /// group that had not read them).
    AckedThenLost,
    /// Records written to a leader without an acknowledgement (`acks=0`, or the producer
    /// gave up), then lost when the last replica holding them truncated its log.
    WrittenThenLost,
}

impl AnomalyKind {
    /// True when its records are in the partition's current log at the anomaly's
    /// offsets (so the lane can show them). Records lost before the log are addressed by
    /// record id; records written then lost by the offsets they had on the replica that
    /// truncated them.
    pub fn in_log(self) -> bool {
        !matches!(
            self,
            AnomalyKind::LostBeforeLog
                | AnomalyKind::AckedThenLost
                | AnomalyKind::WrittenThenLost
                | AnomalyKind::Deleted
                | AnomalyKind::Resurrected
        )
    }

    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::Lost => "lost",
            AnomalyKind::Skipped => "skipped",
            AnomalyKind::Failed => "failed",
            AnomalyKind::Deleted => "deleted before read",
            AnomalyKind::Resurrected => "resurrected key",
            AnomalyKind::OutOfOrder => "out of order",
            AnomalyKind::LogDuplicate => "duplicate in log",
            AnomalyKind::LostBeforeLog => "lost before the log",
            AnomalyKind::AckedThenLost => "acknowledged, then lost",
            AnomalyKind::WrittenThenLost => "written, then lost",
        }
    }
}

/// Why a member stopped holding a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stop {
    /// Crashed.
    Crashed(CrashReason),
    /// Closed.
    Closed,
    /// Stopped on an exception.
    Failed,
    /// Revoked in a rebalance (cooperative revocations commit nothing).
    Revoked {
        /// The generation it lost the partition in.
        generation: i32,
        /// Cooperative (second-round) revocation.
        cooperative: bool,
    },
    /// Found it was out of the group (`onPartitionsLost`).
    Lost,
    /// Left the group after `max.poll.interval.ms`.
    PollTimeout,
}

/// One typed step of an anomaly's cause chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A member processed the records before.
    ProcessedBefore {
        /// Who.
        member: MemberId,
        /// In which generation.
        generation: i32,
        /// First offset of that run.
        from: u64,
        /// Last offset of that run (inclusive).
        to: u64,
        /// When it started.
        first_ms: u64,
        /// When it ended.
        last_ms: u64,
    },
    /// A member stopped holding the partition.
    Stopped {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
        /// How.
        how: Stop,
    },
    /// A member committed an offset past records it had not processed yet.
    CommittedBeforeProcessing {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
        /// The offset committed.
        offset: u64,
        /// Auto-commit or the application.
        auto: bool,
    },
    /// A member took the partition and started reading at an offset.
    Resumed {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
        /// Its generation.
        generation: i32,
        /// The offset.
        offset: u64,
        /// Why that offset.
        source: PositionSource,
    },
    /// The group's committed offset went past the records.
    CommittedPast {
        /// When.
        at_ms: u64,
        /// The committed offset.
        offset: u64,
    },
    /// Processing the record threw, again (a crash loop).
    ProcessingFailed {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
        /// Which attempt.
        attempt: u32,
    },
    /// The application gave up on it (`on.error`): logged and skipped, or written to the
    /// dead-letter topic.
    ErrorHandled {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
        /// Where its dead letter went (`None`: skipped).
        dead_letter: Option<(Tp, u64)>,
    },
    /// The record was processed again after a record produced later, with the same key.
    ReorderedAfterLater {
        /// When.
        at_ms: u64,
        /// Who.
        member: MemberId,
    },
    /// The broker appended a retried batch again: no idempotence.
    RetriedWithoutIdempotence {
        /// When.
        at_ms: u64,
        /// The first copy's offset.
        first_offset: u64,
    },
    /// The producer gave up after `delivery.timeout.ms`.
    DeliveryTimedOut {
        /// When.
        at_ms: u64,
        /// Who.
        producer: ProducerId,
    },
    /// The producing service crashed with the records still in its client.
    ProducerCrashed {
        /// When.
        at_ms: u64,
        /// Who.
        producer: ProducerId,
    },
    /// An `acks=0` request was lost on the wire; the producer never knew.
    LostOnTheWire {
        /// When.
        at_ms: u64,
        /// Who.
        producer: ProducerId,
    },
    /// The producer's `acks` let it count the records as written while only the leader
    /// had them.
    AckedByLeaderAlone {
        /// When the first of them was acknowledged (the producer's send time).
        at_ms: u64,
        /// The producer.
        producer: ProducerId,
    },
    /// The leader that held them died, and the controller elected a replica that had not
    /// fetched them.
    LeaderFailover {
        /// When the new leader was elected.
        at_ms: u64,
        /// The leader that died.
        old_leader: BrokerId,
        /// The replica elected (`None`: the partition went offline).
        new_leader: Option<BrokerId>,
        /// Elected from outside the ISR (`unclean.leader.election.enable`).
        unclean: bool,
        /// Where the old leader's log and the new one's part: records of the old log from
        /// there on are not in the new one.
        new_log_end_offset: u64,
    },
    /// A retention check deleted the segment that held the records.
    DeletedByRetention {
        /// When.
        at_ms: u64,
        /// The broker whose check it was (the first replica to delete it).
        broker: BrokerId,
        /// Which rule.
        rule: super::log::RetentionRule,
        /// The rule's setting then (`retention.ms` or `retention.bytes`).
        limit: i64,
        /// The segment.
        segment: super::log::SegmentSpan,
    },
    /// The cleaner removed a tombstone past its delete horizon.
    TombstoneRemoved {
        /// When.
        at_ms: u64,
        /// The broker whose cleaner it was (the first replica to remove it).
        broker: BrokerId,
        /// The tombstone's offset.
        offset: u64,
        /// Its delete horizon (the pass that first kept it + `delete.retention.ms`).
        horizon_ms: u64,
    },
    /// The last replica holding the records truncated its log to follow the new leader.
    Truncated {
        /// When.
        at_ms: u64,
        /// The replica.
        broker: BrokerId,
        /// The offset it truncated to.
        to_offset: u64,
    },
}

/// A run of anomalous records on one partition, with its typed causes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Anomaly {
    /// What went wrong.
    pub kind: AnomalyKind,
    /// The group (`None` for producer-side anomalies, which count for every group).
    pub group: Option<GroupId>,
    /// The partition.
    pub tp: Tp,
    /// First offset of the run (for records never in the log: the first record id).
    pub first_offset: u64,
    /// Last offset of the run (inclusive).
    pub last_offset: u64,
    /// Records in the run.
    pub count: u64,
    /// When it was detected.
    pub at_ms: u64,
    /// The member that processed (or skipped) the records, if any.
    pub member: Option<MemberId>,
    /// The causes, oldest first.
    pub causes: Vec<Cause>,
}

impl Anomaly {
    fn single(kind: AnomalyKind, group: Option<GroupId>, tp: Tp, offset: u64, at_ms: u64) -> Self {
        Anomaly {
            kind,
            group,
            tp,
            first_offset: offset,
            last_offset: offset,
            count: 1,
            at_ms,
            member: None,
            causes: Vec::new(),
        }
    }

    /// True when `offset` extends this run (same kind, partition and member).
    fn extends(&self, kind: AnomalyKind, tp: Tp, member: Option<MemberId>, offset: u64) -> bool {
        self.kind == kind
            && self.tp == tp
            && self.member == member
            && self.last_offset + 1 == offset
    }
}

/// A contiguous stretch of processing by one member on one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingRun {
    /// Who.
    pub member: MemberId,
    /// The generation it processed in.
    pub generation: i32,
    /// First offset processed.
    pub from: u64,
    /// Last offset processed (inclusive).
    pub to: u64,
    /// When the first record was processed.
    pub first_ms: u64,
    /// When the last record was processed.
    pub last_ms: u64,
}

/// Something a member did that may explain an anomaly later.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Note {
    Resumed {
        tp: Tp,
        offset: u64,
        generation: i32,
        source: PositionSource,
    },
    Committed {
        tp: Tp,
        offset: u64,
        auto: bool,
    },
    Stopped {
        how: Stop,
        partitions: Vec<Tp>,
        abandoned: Vec<(Tp, u64, u64)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MemberNote {
    at_ms: u64,
    member: MemberId,
    note: Note,
}

/// The most notes a group keeps for explanations; older ones are dropped.
const MAX_NOTES: usize = 4096;
/// The most anomalies a group keeps; counts stay exact beyond it.
pub const MAX_ANOMALIES: usize = 10_000;
/// The most processing runs kept per partition.
const MAX_RUNS: usize = 1024;

/// One group's view of every record.
#[derive(Clone, Debug, Default)]
pub struct GroupLedger {
    /// The group.
    pub group: GroupId,
    state: ChunkVec<u8>,
    /// Outcome counts per topic, by topic index (a group's totals cover the topics it
    /// subscribes to).
    counts: Vec<Counts>,
    /// Per producer, per key: the highest record id processed plus one.
    last_by_key: Vec<Vec<u32>>,
    runs: VecMap<Tp, Vec<ProcessingRun>>,
    classified_to: VecMap<Tp, u64>,
    /// Partitions some member of the group has had a position on.
    started: VecMap<Tp, ()>,
    held: VecMap<MemberId, Vec<(Tp, u64, u64)>>,
    generation: VecMap<MemberId, i32>,
    failures: VecMap<u32, u32>,
    processed: u64,
    /// The last join phase was cooperative (its revocations commit nothing).
    cooperative: bool,
    notes: Vec<MemberNote>,
    /// The group's anomalies, oldest first.
    pub anomalies: Vec<Anomaly>,
    /// The application's database: what processing did (the effect side).
    pub effects: effects::Effects,
    /// The dead letters the application wrote, oldest first (at most `MAX_ANOMALIES`).
    pub dead_letters: Vec<DeadLetterNote>,
    /// With typed values: the order of each customer's and each order's events.
    pub entities: entities::EntityOrder,
}

/// A record the application wrote to the dead-letter topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeadLetterNote {
    /// When it was written.
    pub at_ms: u64,
    /// Who wrote it.
    pub member: MemberId,
    /// The failed record.
    pub tp: Tp,
    /// Its offset.
    pub offset: u64,
    /// Where its copy is.
    pub dlq: Tp,
    /// The copy's offset.
    pub dlq_offset: u64,
    /// How many times its processing failed before (retries and earlier owners).
    pub failures: u32,
}

/// Outcome counts of one group on one topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    once: u64,
    duplicate: u64,
    lost: u64,
    skipped: u64,
    failed: u64,
    deleted: u64,
    compacted: u64,
    dead_lettered: u64,
    out_of_order: u64,
    /// Records this group settled that left every log and are back in the producer
    /// (`Held::Returned`): not pending for it.
    settled_returned: u64,
}

impl Counts {
    fn counter(&mut self, o: Outcome) -> Option<&mut u64> {
        match o {
            Outcome::Once => Some(&mut self.once),
            Outcome::Duplicate => Some(&mut self.duplicate),
            Outcome::Lost => Some(&mut self.lost),
            Outcome::Skipped => Some(&mut self.skipped),
            Outcome::Failed => Some(&mut self.failed),
            Outcome::Deleted => Some(&mut self.deleted),
            Outcome::Compacted => Some(&mut self.compacted),
            Outcome::DeadLettered => Some(&mut self.dead_lettered),
            Outcome::Pending => None,
        }
    }

    /// Adds per-outcome changes, indexed by outcome byte (`Pending` is not counted).
    fn add(&mut self, delta: &[i64; OUTCOMES]) {
        for (byte, &d) in delta.iter().enumerate().skip(1) {
            if let Some(c) = self.counter(outcome_of(byte as u8)) {
                *c = c.wrapping_add_signed(d);
            }
        }
    }

    /// A record went from `old` to `new`.
    fn moved(&mut self, old: Outcome, new: Outcome) {
        if let Some(c) = self.counter(old) {
            *c -= 1;
        }
        if let Some(c) = self.counter(new) {
            *c += 1;
        }
    }
}

/// The entry of `topic` in a per-topic vector, grown on first use.
fn topic_entry<T: Default>(v: &mut Vec<T>, topic: TopicId) -> &mut T {
    if v.len() <= topic.index() {
        v.resize_with(topic.index() + 1, T::default);
    }
    &mut v[topic.index()]
}

/// Notes that `record_id` (from `producer`, with `key`) was processed, and says whether it
/// came in order: no later-produced record with that key was processed before it.
fn in_order(
    last_by_key: &mut Vec<Vec<u32>>,
    producer: ProducerId,
    key: KeyId,
    record_id: u32,
) -> bool {
    let p = producer.index();
    if last_by_key.len() <= p {
        last_by_key.resize_with(p + 1, Vec::new);
    }
    let per_producer = &mut last_by_key[p];
    let k = key as usize;
    if per_producer.len() <= k {
        per_producer.resize(k + 1, 0);
    }
    if per_producer[k] <= record_id {
        per_producer[k] = record_id + 1;
        true
    } else {
        false
    }
}

/// What one processed range did to a group's outcome counts, summed outside the hot loop.
#[derive(Default)]
struct Tally {
    /// Per-outcome changes other than first processings, by outcome byte.
    delta: [i64; OUTCOMES],
    /// Records processed for the first time (pending to once), counted in a register.
    first_times: i64,
    /// Records to explain after the loop, in log order: a repeated processing, or a key
    /// seen out of order.
    rare: Vec<(u64, u32, Rare)>,
}

/// Why a processed record needs a second look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rare {
    /// Processed before, once: this is its second processing.
    Second,
    /// Processed twice or more before.
    Again,
    /// Processed before an earlier record with its key.
    OutOfOrder,
}

/// The hot path of a processed range: marks each record of `slice` (starting at `offset`)
/// processed in `state`, a chunk of state bytes at a time (one share check per chunk), with
/// the order check's common case inline. Returns the offset after the slice.
fn mark_processed(
    state: &mut ChunkVec<u8>,
    last_by_key: &mut Vec<Vec<u32>>,
    slice: &[LogRecord],
    mut offset: u64,
    tally: &mut Tally,
) -> u64 {
    // Room for every record of the slice at once (not one resize per new record).
    let max_id = slice.iter().map(|r| r.record_id).max().unwrap_or(0);
    state.resize_up(max_id as usize + 1, 0);
    let mut k = 0;
    while let Some(first) = slice.get(k) {
        let (from, bytes) = state
            .chunk_mut(first.record_id as usize)
            .expect("resized above");
        while let Some((r, byte)) = slice.get(k).and_then(|r| {
            let i = (r.record_id as usize).checked_sub(from)?;
            bytes.get_mut(i).map(|b| (r, b))
        }) {
            let before = *byte & OUTCOME_MASK;
            let again = before == byte_of(Outcome::Once) || before == byte_of(Outcome::Duplicate);
            if before == byte_of(Outcome::Pending) {
                *byte |= byte_of(Outcome::Once);
                tally.first_times += 1;
            } else {
                let after = byte_of(if again {
                    Outcome::Duplicate
                } else {
                    Outcome::Once
                });
                *byte = (*byte & !OUTCOME_MASK) | after;
                tally.delta[usize::from(before)] -= 1;
                tally.delta[usize::from(after)] += 1;
            }
            if again {
                let second = before == byte_of(Outcome::Once);
                let rare = if second { Rare::Second } else { Rare::Again };
                tally.rare.push((offset, r.record_id, rare));
            } else if let (Some(producer), Some(key)) = (r.producer(), r.key) {
                if !in_order(last_by_key, producer, key, r.record_id) {
                    tally.rare.push((offset, r.record_id, Rare::OutOfOrder));
                }
            }
            offset += 1;
            k += 1;
        }
    }
    offset
}

/// Record counts of one topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TopicCounts {
    produced: u64,
    in_log: u64,
    lost_before_log: u64,
    /// Records that reached a log and then left every replica for good (`Held::Gone`).
    gone: u64,
}

/// The whole ledger: every produced record, and one [`GroupLedger`] per group.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Producer-side facts, indexed by record id.
    pub records: ChunkVec<RecordInfo>,
    /// Typed values by record id, packed ([`super::value::OrderValue`]; 0 = none); empty
    /// unless a workload produces orders.
    pub values: ChunkVec<u64>,
    /// Per group, in creation order.
    pub groups: Vec<GroupLedger>,
    /// Producer-side anomalies (duplicates in the log, records lost before the log).
    pub producer_anomalies: Vec<Anomaly>,
    /// Records with more than one copy in the log.
    pub log_duplicates: u64,
    /// Records sent that never reached the log (or left it with a failed leader before
    /// any group read them).
    pub lost_before_log: u64,
    /// Records acknowledged to their producer and then lost with a failed leader.
    pub acked_then_lost: u64,
    /// Record counts by topic index.
    per_topic: Vec<TopicCounts>,
    /// Records counted into `per_topic` so far.
    seen: usize,
    /// Records gone from every log for good, in the order they went (a group added later
    /// counts them lost too).
    gone: Vec<u32>,
    /// Per partition, the last election that moved its log to another replica.
    failovers: VecMap<Tp, Cause>,
    /// Partitions that had an unclean election.
    unclean: VecMap<Tp, ()>,
    /// What retention deleted and the cleaner removed, for the causes.
    cleanups: Cleanups,
}

/// What the ledger reads while observing: the partition logs.
pub trait LogLookup {
    /// The partition's current log: its leader's (an offline partition's last leader's).
    fn log(&self, tp: Tp) -> Option<&PartitionLog>;
    /// The broker whose log [`LogLookup::log`] is, when the partition is replicated.
    fn lineage(&self, _tp: Tp) -> Option<BrokerId> {
        None
    }
    /// One replica's log of the partition.
    fn replica_log(&self, _broker: BrokerId, _tp: Tp) -> Option<&PartitionLog> {
        None
    }
    /// The partition's replicas.
    fn replicas(&self, _tp: Tp) -> Vec<BrokerId> {
        Vec::new()
    }
}

impl Ledger {
    /// Records produced so far.
    pub fn produced(&self) -> u64 {
        self.records.len() as u64
    }

    /// Records produced to one topic so far.
    pub fn produced_to(&self, topic: TopicId) -> u64 {
        let counted = self.per_topic.get(topic.index()).map_or(0, |c| c.produced);
        let unsynced = self
            .records
            .slices(self.seen, self.records.len())
            .flat_map(|s| s.iter())
            .filter(|info| info.tp().topic == topic)
            .count() as u64;
        counted + unsynced
    }

    /// Starts tracking a new group.
    pub fn add_group(&mut self, group: GroupId, dedupe: super::config::Dedupe) {
        let mut g = GroupLedger {
            group,
            effects: effects::Effects::new(dedupe),
            ..GroupLedger::default()
        };
        for &id in &self.gone {
            if let Some(info) = self.records.get(id as usize) {
                g.set(info.tp(), id, Outcome::Lost);
            }
        }
        self.groups.push(g);
    }

    /// Counts records sent since the last look into their topics.
    fn sync(&mut self) {
        let len = self.records.len();
        for slice in self.records.slices(self.seen, len) {
            for info in slice {
                topic_entry(&mut self.per_topic, info.tp().topic).produced += 1;
            }
        }
        self.seen = len;
    }

    /// A record's outcome for a group.
    pub fn outcome(&self, group: GroupId, record_id: u32) -> Outcome {
        if self
            .records
            .get(record_id as usize)
            .is_some_and(|r| r.never_in_log)
        {
            return Outcome::Lost;
        }
        self.groups
            .get(group.index())
            .map_or(Outcome::Pending, |g| g.outcome(record_id))
    }

    /// True when the group processed the record out of order.
    pub fn out_of_order(&self, group: GroupId, record_id: u32) -> bool {
        self.groups
            .get(group.index())
            .is_some_and(|g| g.flag(record_id))
    }

    // ---- observing --------------------------------------------------------------------

    /// A producer's records in a log (on the partition's lineage, or stray on a replica
    /// that is not), or given up on before any log took them.
    fn observe_producer(
        &mut self,
        at_ms: u64,
        producer: ProducerId,
        event: &ProducerEvent,
        logs: &impl LogLookup,
    ) {
        match event {
            ProducerEvent::Appended {
                tp,
                base_offset,
                count,
                broker,
                ..
            } => {
                let count = u64::from(*count);
                if logs.lineage(*tp).is_none_or(|l| l == *broker) {
                    self.appended(at_ms, *tp, *base_offset, count, logs);
                } else {
                    self.stray_appended(*broker, *tp, *base_offset, count, logs);
                }
            }
            ProducerEvent::Expired { tp, records } => {
                let cause = Cause::DeliveryTimedOut { at_ms, producer };
                self.never_in_log(at_ms, *tp, records, cause);
            }
            ProducerEvent::Crashed { lost } => {
                for (tp, records) in lost {
                    let cause = Cause::ProducerCrashed { at_ms, producer };
                    self.never_in_log(at_ms, *tp, records, cause);
                }
            }
            _ => {}
        }
    }

    /// Learns from one event.
    pub fn observe(&mut self, event: &Event, logs: &impl LogLookup) {
        self.sync();
        match event {
            Event::Producer {
                at_ms,
                producer,
                event,
            } => self.observe_producer(*at_ms, *producer, event, logs),
            Event::RecordAppended {
                at_ms, tp, offset, ..
            } => self.appended(*at_ms, *tp, *offset, 1, logs),
            Event::Group {
                at_ms,
                group,
                event,
            } => {
                if let Some(g) = self.groups.get_mut(group.index()) {
                    g.observe(*at_ms, event, logs, &self.cleanups, &self.values);
                    if let (false, GroupEvent::Processed { tp, from, to, .. }) =
                        (self.values.is_empty(), event)
                    {
                        g.order_by_entity(&self.values, *tp, *from..*to, logs);
                    }
                }
            }
            Event::Broker {
                at_ms,
                broker,
                event,
            } => self.observe_broker(*at_ms, *broker, event, logs),
            _ => {}
        }
    }
}

impl Ledger {
    /// Learns from one broker event: an election that moved a log, a truncation, a
    /// retention deletion, a cleaning pass.
    fn observe_broker(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        event: &BrokerEvent,
        logs: &impl LogLookup,
    ) {
        let internal = |tp: Tp| super::cluster::Cluster::offsets_partition_of(tp).is_some();
        match event {
            BrokerEvent::LeaderElected {
                leader: Some(leader),
                previous: Some(previous),
                unclean,
                tp,
                ..
            } if leader != previous && !internal(*tp) => {
                let unclean = *unclean == Some(true);
                self.switch_lineage(at_ms, *tp, *previous, *leader, unclean, logs);
            }
            BrokerEvent::Truncated {
                tp,
                to_offset,
                records,
            } if !internal(*tp) => {
                self.truncated(at_ms, broker, *tp, *to_offset, records, logs);
            }
            BrokerEvent::SegmentsDeleted {
                tp,
                rule,
                limit,
                segments,
                ..
            } => self
                .cleanups
                .segments_deleted(at_ms, broker, *tp, *rule, *limit, segments),
            BrokerEvent::LogCleaned(c) => {
                self.cleanups
                    .log_cleaned(at_ms, broker, c.tp, &c.tombstones_removed)
            }
            _ => {}
        }
    }
}

fn push_bounded(list: &mut Vec<Anomaly>, a: Anomaly) {
    if list.len() < MAX_ANOMALIES {
        list.push(a);
    }
}

impl Anomaly {
    /// For a failed record the application gave up on: `Some(true)` if it wrote it to the
    /// dead-letter topic, `Some(false)` if it logged and skipped it.
    pub fn error_handled(&self) -> Option<bool> {
        self.causes.iter().find_map(|c| match c {
            Cause::ErrorHandled { dead_letter, .. } => Some(dead_letter.is_some()),
            _ => None,
        })
    }
}

impl GroupLedger {
    /// The outcome of one record (records lost before the log are the ledger's to say).
    pub fn outcome(&self, record_id: u32) -> Outcome {
        self.state
            .get(record_id as usize)
            .map_or(Outcome::Pending, |&b| outcome_of(b))
    }

    fn flag(&self, record_id: u32) -> bool {
        self.state
            .get(record_id as usize)
            .is_some_and(|&b| b & OUT_OF_ORDER != 0)
    }

    /// Processing runs on a partition, oldest first.
    pub fn runs(&self, tp: Tp) -> &[ProcessingRun] {
        self.runs.get(&tp).map_or(&[], Vec::as_slice)
    }

    fn set(&mut self, tp: Tp, record_id: u32, outcome: Outcome) {
        let i = record_id as usize;
        self.state.resize_up(i + 1, 0);
        let byte = self.state.get_mut(i).expect("resized above");
        let old = outcome_of(*byte);
        if old == outcome {
            return;
        }
        *byte = (*byte & !OUTCOME_MASK) | byte_of(outcome);
        topic_entry(&mut self.counts, tp.topic).moved(old, outcome);
    }

    fn note(&mut self, at_ms: u64, member: MemberId, note: Note) {
        if self.notes.len() >= MAX_NOTES {
            self.notes.drain(..MAX_NOTES / 4);
        }
        self.notes.push(MemberNote {
            at_ms,
            member,
            note,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::log::LogRecord;
    use crate::engine::record::ReasonTag;

    struct Logs(PartitionLog);

    impl LogLookup for Logs {
        fn log(&self, tp: Tp) -> Option<&PartitionLog> {
            (tp == Tp::new(TopicId(0), 0)).then_some(&self.0)
        }
    }

    fn ledger_with(n: u32) -> (Ledger, Logs) {
        let mut ledger = Ledger::default();
        let mut log = PartitionLog::new();
        for id in 0..n {
            ledger.records.push(RecordInfo::sent(
                0,
                None,
                Tp::new(TopicId(0), 0),
                Some(ProducerId(0)),
                ReasonTag::Sticky,
                1,
                false,
            ));
            log.append(&[LogRecord {
                timestamp_ms: 0,
                record_id: id,
                key: None,
                size_bytes: 10,
                flags: 0,
                producer: crate::engine::log::NO_PRODUCER,
            }]);
        }
        ledger.add_group(GroupId(0), Default::default());
        let logs = Logs(log);
        if n > 1 {
            // All but the last record reach the log; the last stays in the producer.
            ledger.observe(
                &Event::Producer {
                    at_ms: 0,
                    producer: ProducerId(0),
                    event: ProducerEvent::Appended {
                        request_id: 0,
                        broker: BrokerId(0),
                        tp: TP,
                        base_offset: 0,
                        count: n - 1,
                    },
                },
                &logs,
            );
        }
        (ledger, logs)
    }

    fn group(at_ms: u64, event: GroupEvent) -> Event {
        Event::Group {
            at_ms,
            group: GroupId(0),
            event,
        }
    }

    const TP: Tp = Tp {
        topic: TopicId(0),
        partition: crate::engine::ids::PartitionId(0),
    };

    #[test]
    fn totals_balance_and_split_pending() {
        let (mut l, logs) = ledger_with(6);
        let c1 = MemberId(0);
        l.observe(
            &group(
                1,
                GroupEvent::Polled {
                    member: c1,
                    ranges: vec![(TP, 0, 3)],
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                2,
                GroupEvent::Processed {
                    member: c1,
                    generation: 1,
                    tp: TP,
                    from: 0,
                    to: 2,
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                3,
                GroupEvent::Processed {
                    member: c1,
                    generation: 2,
                    tp: TP,
                    from: 1,
                    to: 2,
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                4,
                GroupEvent::Committed {
                    member: c1,
                    offsets: vec![(TP, 4)],
                    auto: false,
                },
            ),
            &logs,
        );
        let t = l.totals(GroupId(0), &[TopicId(0)]).unwrap();
        // 0 once, 1 duplicate, 2 held (pending), 3 lost, 4 in the log, 5 in the producer.
        assert_eq!(
            (
                t.once,
                t.duplicate,
                t.lost,
                t.pending,
                t.in_producer,
                t.in_log
            ),
            (1, 1, 1, 3, 1, 2)
        );
        assert_eq!(t, l.recount(GroupId(0), &[TopicId(0)]).unwrap());
        assert_eq!(
            t.produced,
            t.once + t.duplicate + t.lost + t.skipped + t.failed + t.pending
        );
    }

    #[test]
    fn a_crash_after_committing_ahead_loses_what_it_held() {
        let (mut l, logs) = ledger_with(4);
        let c1 = MemberId(0);
        l.observe(
            &group(
                1,
                GroupEvent::Polled {
                    member: c1,
                    ranges: vec![(TP, 0, 3)],
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                2,
                GroupEvent::Committed {
                    member: c1,
                    offsets: vec![(TP, 3)],
                    auto: false,
                },
            ),
            &logs,
        );
        assert_eq!(
            l.totals(GroupId(0), &[TopicId(0)]).unwrap().lost,
            0,
            "held records are not lost yet"
        );
        l.observe(
            &group(
                5,
                GroupEvent::ConsumerCrashed {
                    member: c1,
                    reason: CrashReason::Killed,
                },
            ),
            &logs,
        );
        let g = &l.groups[0];
        assert_eq!(l.totals(GroupId(0), &[TopicId(0)]).unwrap().lost, 3);
        assert_eq!(g.anomalies.len(), 1);
        assert!(matches!(
            g.anomalies[0].causes[0],
            Cause::CommittedBeforeProcessing { .. }
        ));
        assert!(matches!(
            g.anomalies[0].causes[1],
            Cause::Stopped {
                how: Stop::Crashed(CrashReason::Killed),
                ..
            }
        ));
    }

    #[test]
    fn a_latest_reset_skips_and_a_poison_record_fails() {
        let (mut l, logs) = ledger_with(5);
        let c1 = MemberId(0);
        let latest = PositionSource::Reset(crate::engine::config::AutoOffsetReset::Latest);
        l.observe(
            &group(
                1,
                GroupEvent::PositionSet {
                    member: c1,
                    tp: TP,
                    offset: 3,
                    source: latest,
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                2,
                GroupEvent::ProcessingFailed {
                    member: c1,
                    tp: TP,
                    offset: 3,
                },
            ),
            &logs,
        );
        l.observe(
            &group(
                9,
                GroupEvent::ProcessingFailed {
                    member: MemberId(1),
                    tp: TP,
                    offset: 3,
                },
            ),
            &logs,
        );
        let t = l.totals(GroupId(0), &[TopicId(0)]).unwrap();
        assert_eq!((t.skipped, t.failed, t.lost), (3, 1, 0));
        let failed = l.groups[0]
            .anomalies
            .iter()
            .find(|a| a.kind == AnomalyKind::Failed)
            .unwrap();
        assert_eq!(
            failed.causes.len(),
            2,
            "each crash on it is a step of the loop"
        );
        assert_eq!(t, l.recount(GroupId(0), &[TopicId(0)]).unwrap());
    }
}
