//! The delivery ledger: for every produced record, what happened to it, and for every
//! group, whether it was processed exactly once, twice or more, skipped by choice, failed,
//! lost, or not yet, with the typed causes of each anomaly (`explain.rs` words them).
//!
//! The ledger is not an actor: the kernel feeds it every event, in order, and it reads the
//! logs to map offsets to records. Per record and group it keeps one byte.
//!
//! Invariant, per group at every step:
//! produced = once + duplicate + lost + skipped + failed + pending, where `lost` includes
//! the records lost before the log, and pending = in the producer + in the log, unprocessed.

use std::collections::BTreeMap;

use super::chunked::ChunkVec;
use super::event::{BrokerEvent, CrashReason, Event, GroupEvent, PositionSource, ProducerEvent};
use super::ids::{BrokerId, GroupId, MemberId, ProducerId, TopicId, Tp};
use super::log::{KeyId, LogRecord, PartitionLog};
use super::record::{Held, ProduceStatus, RecordInfo};

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
        }
    }
}

const OUTCOME_MASK: u8 = 0b111;
const OUT_OF_ORDER: u8 = 0b1000;

fn outcome_of(byte: u8) -> Outcome {
    match byte & OUTCOME_MASK {
        1 => Outcome::Once,
        2 => Outcome::Duplicate,
        3 => Outcome::Lost,
        4 => Outcome::Skipped,
        5 => Outcome::Failed,
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
            AnomalyKind::LostBeforeLog | AnomalyKind::AckedThenLost | AnomalyKind::WrittenThenLost
        )
    }

    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::Lost => "lost",
            AnomalyKind::Skipped => "skipped",
            AnomalyKind::Failed => "failed",
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
    runs: BTreeMap<Tp, Vec<ProcessingRun>>,
    classified_to: BTreeMap<Tp, u64>,
    /// Partitions some member of the group has had a position on.
    started: std::collections::BTreeSet<Tp>,
    held: BTreeMap<MemberId, Vec<(Tp, u64, u64)>>,
    generation: BTreeMap<MemberId, i32>,
    failures: BTreeMap<u32, u32>,
    processed: u64,
    /// The last join phase was cooperative (its revocations commit nothing).
    cooperative: bool,
    notes: Vec<MemberNote>,
    /// The group's anomalies, oldest first.
    pub anomalies: Vec<Anomaly>,
}

/// Outcome counts of one group on one topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    once: u64,
    duplicate: u64,
    lost: u64,
    skipped: u64,
    failed: u64,
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
            Outcome::Pending => None,
        }
    }

    /// Adds per-outcome changes, indexed by outcome byte (`Pending` is not counted).
    fn add(&mut self, delta: &[i64; 6]) {
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
    delta: [i64; 6],
    /// Records processed for the first time (pending to once), counted in a register.
    first_times: i64,
    /// `(offset, record id, duplicate)` of records to explain after the loop, in log order:
    /// a second processing, or (not duplicate) a key seen out of order.
    rare: Vec<(u64, u32, bool)>,
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
                tally.rare.push((offset, r.record_id, true));
            } else if let (Some(producer), Some(key)) = (r.producer(), r.key) {
                if !in_order(last_by_key, producer, key, r.record_id) {
                    tally.rare.push((offset, r.record_id, false));
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
    failovers: BTreeMap<Tp, Cause>,
    /// Partitions that had an unclean election.
    unclean: std::collections::BTreeSet<Tp>,
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
    pub fn add_group(&mut self, group: GroupId) {
        let mut g = GroupLedger {
            group,
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

    fn topic_counts(&self, topics: &[TopicId]) -> TopicCounts {
        let mut t = TopicCounts::default();
        for c in topics
            .iter()
            .filter_map(|id| self.per_topic.get(id.index()))
        {
            t.produced += c.produced;
            t.in_log += c.in_log;
            t.lost_before_log += c.lost_before_log;
            t.gone += c.gone;
        }
        t
    }

    /// A group's totals over the records of `topics` (the topics it subscribes to).
    pub fn totals(&self, group: GroupId, topics: &[TopicId]) -> Option<Totals> {
        let g = self.groups.get(group.index())?;
        let tc = self.topic_counts(topics);
        // Records sent but not yet synced belong to the producer.
        let unsynced: u64 = self
            .records
            .range(self.seen, self.records.len())
            .filter(|r| topics.contains(&r.tp().topic))
            .count() as u64;
        let produced = tc.produced + unsynced;
        let c = g.counts(topics);
        let settled = c.once + c.duplicate + c.lost + c.skipped + c.failed + tc.lost_before_log;
        // Saturating: a ledger out of balance is reported by `invariants::check` (and the
        // page's health check), not by a panic in the middle of a redraw.
        let pending = produced.saturating_sub(settled);
        let in_producer = produced
            .saturating_sub(tc.in_log + tc.lost_before_log + tc.gone + c.settled_returned)
            .min(pending);
        Some(Totals {
            produced,
            once: c.once,
            duplicate: c.duplicate,
            lost: c.lost + tc.lost_before_log,
            lost_before_log: tc.lost_before_log,
            skipped: c.skipped,
            failed: c.failed,
            pending,
            in_producer,
            in_log: pending - in_producer,
            out_of_order: c.out_of_order,
        })
    }

    /// A group's totals over `topics`, counted from every record's state, for invariant
    /// checks.
    pub fn recount(&self, group: GroupId, topics: &[TopicId]) -> Option<Totals> {
        let g = self.groups.get(group.index())?;
        let mut t = Totals::default();
        for (id, info) in self.records.iter().enumerate() {
            if !topics.contains(&info.tp().topic) {
                continue;
            }
            t.produced += 1;
            let byte = g.state.get(id).copied().unwrap_or(0);
            if byte & OUT_OF_ORDER != 0 {
                t.out_of_order += 1;
            }
            if info.never_in_log {
                t.lost += 1;
                t.lost_before_log += 1;
                continue;
            }
            match outcome_of(byte) {
                Outcome::Pending if !info.held() => {
                    t.pending += 1;
                    t.in_producer += 1;
                }
                Outcome::Pending => {
                    t.pending += 1;
                    t.in_log += 1;
                }
                Outcome::Once => t.once += 1,
                Outcome::Duplicate => t.duplicate += 1,
                Outcome::Lost => t.lost += 1,
                Outcome::Skipped => t.skipped += 1,
                Outcome::Failed => t.failed += 1,
            }
        }
        Some(t)
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

    /// Learns from one event.
    pub fn observe(&mut self, event: &Event, logs: &impl LogLookup) {
        self.sync();
        match event {
            Event::Producer {
                at_ms,
                producer,
                event,
            } => match event {
                ProducerEvent::Appended {
                    tp,
                    base_offset,
                    count,
                    broker,
                    ..
                } => {
                    if logs.lineage(*tp).is_none_or(|l| l == *broker) {
                        self.appended(*at_ms, *tp, *base_offset, u64::from(*count), logs);
                    } else {
                        self.stray_appended(*broker, *tp, *base_offset, u64::from(*count), logs);
                    }
                }
                ProducerEvent::Expired { tp, records } => {
                    let cause = Cause::DeliveryTimedOut {
                        at_ms: *at_ms,
                        producer: *producer,
                    };
                    self.never_in_log(*at_ms, *tp, records, cause);
                }
                _ => {}
            },
            Event::RecordAppended {
                at_ms, tp, offset, ..
            } => self.appended(*at_ms, *tp, *offset, 1, logs),
            Event::Group {
                at_ms,
                group,
                event,
            } => {
                if let Some(g) = self.groups.get_mut(group.index()) {
                    g.observe(*at_ms, event, logs);
                }
            }
            Event::Broker {
                at_ms,
                event:
                    BrokerEvent::LeaderElected {
                        leader: Some(leader),
                        previous: Some(previous),
                        unclean,
                        tp,
                        ..
                    },
                ..
            } if leader != previous
                && super::cluster::Cluster::offsets_partition_of(*tp).is_none() =>
            {
                self.switch_lineage(
                    *at_ms,
                    *tp,
                    *previous,
                    *leader,
                    *unclean == Some(true),
                    logs,
                );
            }
            Event::Broker {
                at_ms,
                broker,
                event:
                    BrokerEvent::Truncated {
                        tp,
                        to_offset,
                        records,
                    },
            } if super::cluster::Cluster::offsets_partition_of(*tp).is_none() => {
                self.truncated(*at_ms, *broker, *tp, *to_offset, records, logs);
            }
            _ => {}
        }
    }

    /// An `acks=0` request carrying these records was lost on the wire.
    pub fn lost_on_the_wire(&mut self, at_ms: u64, producer: ProducerId, tp: Tp, records: &[u32]) {
        self.sync();
        let cause = Cause::LostOnTheWire { at_ms, producer };
        self.never_in_log(at_ms, tp, records, cause);
    }

    fn never_in_log(&mut self, at_ms: u64, tp: Tp, records: &[u32], cause: Cause) {
        let mut anomaly: Option<Anomaly> = None;
        for &id in records {
            let Some(info) = self.records.get_mut(id as usize) else {
                continue;
            };
            if info.held() || info.never_in_log || info.held == Held::Gone {
                continue;
            }
            if info.held == Held::Returned {
                // It was in a log once: gone for good now, not lost before the log.
                if let Some(kind) = self.gone_for_good(id) {
                    let mut a = Anomaly::single(kind, None, tp, u64::from(id), at_ms);
                    a.causes.push(cause.clone());
                    push_bounded(&mut self.producer_anomalies, a);
                }
                continue;
            }
            info.never_in_log = true;
            self.lost_before_log += 1;
            topic_entry(&mut self.per_topic, tp.topic).lost_before_log += 1;
            let a = anomaly.get_or_insert_with(|| {
                let mut a =
                    Anomaly::single(AnomalyKind::LostBeforeLog, None, tp, u64::from(id), at_ms);
                a.causes.push(cause.clone());
                a.count = 0;
                a
            });
            a.count += 1;
            a.last_offset = u64::from(id);
        }
        if let Some(a) = anomaly {
            push_bounded(&mut self.producer_anomalies, a);
        }
    }

    fn appended(&mut self, at_ms: u64, tp: Tp, base: u64, count: u64, logs: &impl LogLookup) {
        let Some(log) = logs.log(tp) else {
            return;
        };
        // The hot path, a chunk of record facts at a time; second copies are explained
        // after the loop, in log order.
        let mut in_log = 0u64;
        let mut again: Vec<(u64, u64)> = Vec::new();
        // Records back in a log after they had left every replica (rare).
        let mut back: Vec<u32> = Vec::new();
        let mut offset = base;
        for slice in log.slices(base, base + count) {
            let mut k = 0;
            while k < slice.len() {
                let Some((from, infos)) = self.records.chunk_mut(slice[k].record_id as usize)
                else {
                    k += 1;
                    offset += 1;
                    continue;
                };
                while let Some(r) = slice.get(k) {
                    let Some(info) = (r.record_id as usize)
                        .checked_sub(from)
                        .and_then(|i| infos.get_mut(i))
                    else {
                        break;
                    };
                    info.copies = info.copies.saturating_add(1);
                    if info.copies == 1 {
                        info.first_offset = offset;
                        match info.held {
                            Held::Clear => in_log += 1,
                            // Counted while it waited on another replica.
                            Held::Stray => info.held = Held::Clear,
                            Held::Returned | Held::Gone => back.push(r.record_id),
                        }
                    } else {
                        again.push((offset, info.first_offset));
                    }
                    offset += 1;
                    k += 1;
                }
            }
        }
        topic_entry(&mut self.per_topic, tp.topic).in_log += in_log;
        for id in back {
            self.back_in_a_log(id);
        }
        for (offset, first_offset) in again {
            self.log_duplicates += 1;
            if let Some(last) = self.producer_anomalies.last_mut() {
                if last.extends(AnomalyKind::LogDuplicate, tp, None, offset) {
                    last.last_offset = offset;
                    last.count += 1;
                    continue;
                }
            }
            let mut a = Anomaly::single(AnomalyKind::LogDuplicate, None, tp, offset, at_ms);
            a.causes.push(Cause::RetriedWithoutIdempotence {
                at_ms,
                first_offset,
            });
            push_bounded(&mut self.producer_anomalies, a);
        }
    }
}

fn push_bounded(list: &mut Vec<Anomaly>, a: Anomaly) {
    if list.len() < MAX_ANOMALIES {
        list.push(a);
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

    /// Records processed so far, second times included.
    pub fn processed_count(&self) -> u64 {
        self.processed
    }

    /// The outcome bytes' memory (see `ChunkVec::memory`).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.state.memory()
    }

    /// Processing runs on a partition, oldest first.
    pub fn runs(&self, tp: Tp) -> &[ProcessingRun] {
        self.runs.get(&tp).map_or(&[], Vec::as_slice)
    }

    fn counts(&self, topics: &[TopicId]) -> Counts {
        let mut c = Counts::default();
        for x in topics.iter().filter_map(|t| self.counts.get(t.index())) {
            c.once += x.once;
            c.duplicate += x.duplicate;
            c.lost += x.lost;
            c.skipped += x.skipped;
            c.failed += x.failed;
            c.out_of_order += x.out_of_order;
            c.settled_returned += x.settled_returned;
        }
        c
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

    fn observe(&mut self, at_ms: u64, event: &GroupEvent, logs: &impl LogLookup) {
        match event {
            GroupEvent::PositionSet {
                member,
                tp,
                offset,
                source,
            } => self.position_set(at_ms, *member, *tp, *offset, *source, logs),
            GroupEvent::Polled { member, ranges } => {
                self.held
                    .entry(*member)
                    .or_default()
                    .extend(ranges.iter().copied());
            }
            GroupEvent::Processed {
                member,
                generation,
                tp,
                from,
                to,
            } => {
                self.generation.insert(*member, *generation);
                self.processed(at_ms, *member, *generation, *tp, *from..*to, logs);
            }
            GroupEvent::ProcessingFailed { member, tp, offset } => {
                self.processing_failed(at_ms, *member, *tp, *offset, logs)
            }
            GroupEvent::Committed {
                member,
                offsets,
                auto,
            } => {
                for &(tp, o) in offsets {
                    self.note(
                        at_ms,
                        *member,
                        Note::Committed {
                            tp,
                            offset: o,
                            auto: *auto,
                        },
                    );
                    self.committed(at_ms, tp, o, logs);
                }
            }
            GroupEvent::ConsumerCrashed { member, reason } => {
                self.stopped(at_ms, *member, Stop::Crashed(*reason), Vec::new(), logs)
            }
            GroupEvent::ConsumerFailed { member, .. } => {
                self.stopped(at_ms, *member, Stop::Failed, Vec::new(), logs)
            }
            GroupEvent::ConsumerClosed { member } => {
                self.stopped(at_ms, *member, Stop::Closed, Vec::new(), logs)
            }
            GroupEvent::Revoked { member, partitions } => {
                let generation = self.generation.get(member).copied().unwrap_or(-1);
                let how = Stop::Revoked {
                    generation,
                    cooperative: self.cooperative,
                };
                self.note(
                    at_ms,
                    *member,
                    Note::Stopped {
                        how,
                        partitions: partitions.clone(),
                        abandoned: Vec::new(),
                    },
                );
            }
            GroupEvent::Lost { member, partitions } => {
                self.note(
                    at_ms,
                    *member,
                    Note::Stopped {
                        how: Stop::Lost,
                        partitions: partitions.clone(),
                        abandoned: Vec::new(),
                    },
                );
            }
            // A close leaves the group too; its ConsumerClosed event tells the story.
            GroupEvent::LeaveGroup { member, reason, .. } if !reason.contains("closed") => {
                self.note(
                    at_ms,
                    *member,
                    Note::Stopped {
                        how: Stop::PollTimeout,
                        partitions: Vec::new(),
                        abandoned: Vec::new(),
                    },
                );
            }
            GroupEvent::Assigned {
                member, generation, ..
            } => {
                self.generation.insert(*member, *generation);
            }
            GroupEvent::JoinComplete { cooperative, .. } => self.cooperative = *cooperative,
            _ => {}
        }
    }

    fn position_set(
        &mut self,
        at_ms: u64,
        member: MemberId,
        tp: Tp,
        offset: u64,
        source: PositionSource,
        logs: &impl LogLookup,
    ) {
        let generation = self.generation.get(&member).copied().unwrap_or(-1);
        self.note(
            at_ms,
            member,
            Note::Resumed {
                tp,
                offset,
                generation,
                source,
            },
        );
        // A move forward skips what lies between. It is a choice for a seek, or for
        // auto.offset.reset=latest when the group first reads the partition; a reset to the
        // log end after the group had read it (a member crashed before committing, or its
        // position fell out of range) loses what nobody processed.
        let first_read = self.started.insert(tp);
        let forward = matches!(
            source,
            PositionSource::Reset(super::config::AutoOffsetReset::Latest)
                | PositionSource::OutOfRange(super::config::AutoOffsetReset::Latest)
                | PositionSource::Seek
        );
        if !forward {
            return;
        }
        let deliberate = source == PositionSource::Seek
            || (first_read && matches!(source, PositionSource::Reset(_)));
        let from = self.classified_to.get(&tp).copied().unwrap_or(0);
        let Some(log) = logs.log(tp) else {
            return;
        };
        let held = self.held_offsets(tp);
        let ids: Vec<(u64, u32)> = log
            .range(from, offset)
            .filter(|(o, _)| !held.iter().any(|&(f, t)| f <= *o && *o < t))
            .map(|(o, r)| (o, r.record_id))
            .collect();
        let resumed = Cause::Resumed {
            at_ms,
            member,
            generation,
            offset,
            source,
        };
        for (o, id) in ids {
            if self.outcome(id) != Outcome::Pending {
                continue;
            }
            if deliberate {
                self.set(tp, id, Outcome::Skipped);
                self.anomaly_at(AnomalyKind::Skipped, tp, o, at_ms, Some(member), || {
                    vec![resumed.clone()]
                });
            } else {
                self.set(tp, id, Outcome::Lost);
                let mut causes = self.lost_causes(at_ms, tp, o);
                causes.retain(|c| !matches!(c, Cause::CommittedPast { .. }));
                causes.push(resumed.clone());
                self.anomaly_at(AnomalyKind::Lost, tp, o, at_ms, Some(member), || causes);
            }
        }
    }

    fn held_offsets(&self, tp: Tp) -> Vec<(u64, u64)> {
        self.held
            .values()
            .flatten()
            .filter(|r| r.0 == tp)
            .map(|r| (r.1, r.2))
            .collect()
    }

    fn release_held(&mut self, member: MemberId, tp: Tp, offset: u64) {
        if let Some(ranges) = self.held.get_mut(&member) {
            for r in ranges.iter_mut() {
                if r.0 == tp && r.1 <= offset && offset < r.2 {
                    r.1 = offset + 1;
                }
            }
            ranges.retain(|r| r.1 < r.2);
        }
    }

    #[allow(clippy::too_many_arguments)] // one call site; each argument a distinct fact
    fn processed(
        &mut self,
        at_ms: u64,
        member: MemberId,
        generation: i32,
        tp: Tp,
        offsets: std::ops::Range<u64>,
        logs: &impl LogLookup,
    ) {
        let Some(log) = logs.log(tp) else {
            return;
        };
        let start = offsets.start;
        let end = offsets.end;
        topic_entry(&mut self.counts, tp.topic);
        let mut tally = Tally::default();
        let mut offset = start;
        for slice in log.slices(start, end) {
            offset = mark_processed(
                &mut self.state,
                &mut self.last_by_key,
                slice,
                offset,
                &mut tally,
            );
        }
        self.processed += offset - start;
        tally.delta[usize::from(byte_of(Outcome::Once))] += tally.first_times;
        self.counts[tp.topic.index()].add(&tally.delta);
        for (offset, id, duplicate) in tally.rare {
            if duplicate {
                self.explain_duplicate(at_ms, member, tp, offset);
            } else {
                self.out_of_order(at_ms, member, tp, offset, id);
            }
        }
        if start < end {
            self.extend_run(at_ms, member, generation, tp, start, end - 1);
        }
        if let Some(ranges) = self.held.get_mut(&member) {
            for r in ranges.iter_mut() {
                if r.0 == tp && r.1 >= start && r.1 < end {
                    r.1 = end.min(r.2);
                }
            }
            ranges.retain(|r| r.1 < r.2);
        }
    }

    fn processing_failed(
        &mut self,
        at_ms: u64,
        member: MemberId,
        tp: Tp,
        offset: u64,
        logs: &impl LogLookup,
    ) {
        self.release_held(member, tp, offset);
        let Some(id) = logs
            .log(tp)
            .and_then(|l| l.get(offset))
            .map(|r| r.record_id)
        else {
            return;
        };
        let attempt = {
            let n = self.failures.entry(id).or_insert(0);
            *n += 1;
            *n
        };
        if self.outcome(id) != Outcome::Once && self.outcome(id) != Outcome::Duplicate {
            self.set(tp, id, Outcome::Failed);
        }
        let cause = Cause::ProcessingFailed {
            at_ms,
            member,
            attempt,
        };
        // One anomaly per poison record: each crash adds a step (the loop is visible).
        if let Some(a) = self
            .anomalies
            .iter_mut()
            .rev()
            .find(|a| a.kind == AnomalyKind::Failed && a.tp == tp && a.first_offset == offset)
        {
            a.causes.push(cause);
            a.at_ms = at_ms;
            a.member = Some(member);
            return;
        }
        let mut a = Anomaly::single(AnomalyKind::Failed, Some(self.group), tp, offset, at_ms);
        a.member = Some(member);
        a.causes.push(cause);
        push_bounded(&mut self.anomalies, a);
    }

    fn stopped(
        &mut self,
        at_ms: u64,
        member: MemberId,
        how: Stop,
        partitions: Vec<Tp>,
        logs: &impl LogLookup,
    ) {
        let abandoned = self.held.remove(&member).unwrap_or_default();
        self.note(
            at_ms,
            member,
            Note::Stopped {
                how,
                partitions,
                abandoned: abandoned.clone(),
            },
        );
        // Records it fetched and the group already committed past are lost now.
        for (tp, from, to) in abandoned {
            let committed = self.classified_to.get(&tp).copied().unwrap_or(0);
            self.mark_lost_range(at_ms, tp, from..to.min(committed), logs);
        }
    }

    /// The committed offset of `tp` advanced to `committed`: records below it that nobody
    /// processed and no live member still holds are lost.
    fn committed(&mut self, at_ms: u64, tp: Tp, committed: u64, logs: &impl LogLookup) {
        let from = self.classified_to.get(&tp).copied().unwrap_or(0);
        if committed <= from {
            return;
        }
        self.classified_to.insert(tp, committed);
        let held = self.held_offsets(tp);
        let mut start = from;
        for (f, t) in held
            .iter()
            .copied()
            .filter(|&(f, t)| f < committed && t > from)
        {
            self.mark_lost_range(at_ms, tp, start..f.max(start), logs);
            start = start.max(t);
        }
        self.mark_lost_range(at_ms, tp, start..committed, logs);
    }

    fn mark_lost_range(
        &mut self,
        at_ms: u64,
        tp: Tp,
        offsets: std::ops::Range<u64>,
        logs: &impl LogLookup,
    ) {
        if offsets.is_empty() {
            return;
        }
        let Some(log) = logs.log(tp) else {
            return;
        };
        let ids: Vec<(u64, u32)> = log
            .range(offsets.start, offsets.end)
            .map(|(o, r)| (o, r.record_id))
            .collect();
        for (offset, id) in ids {
            if self.outcome(id) != Outcome::Pending {
                continue;
            }
            self.set(tp, id, Outcome::Lost);
            self.anomaly_at(AnomalyKind::Lost, tp, offset, at_ms, None, Vec::new);
            let needs_causes = self.anomalies.last().is_some_and(|a| a.causes.is_empty());
            if needs_causes {
                let causes = self.lost_causes(at_ms, tp, offset);
                if let Some(a) = self.anomalies.last_mut() {
                    a.causes = causes;
                }
            }
        }
    }

    /// Adds `offset` to the last anomaly when it extends it, else starts one with `causes`.
    fn anomaly_at(
        &mut self,
        kind: AnomalyKind,
        tp: Tp,
        offset: u64,
        at_ms: u64,
        member: Option<MemberId>,
        causes: impl FnOnce() -> Vec<Cause>,
    ) {
        if let Some(last) = self.anomalies.last_mut() {
            if last.extends(kind, tp, member, offset) {
                last.last_offset = offset;
                last.count += 1;
                return;
            }
        }
        let mut a = Anomaly::single(kind, Some(self.group), tp, offset, at_ms);
        a.member = member;
        a.causes = causes();
        push_bounded(&mut self.anomalies, a);
    }

    /// Why a record was committed past without being processed.
    fn lost_causes(&self, at_ms: u64, tp: Tp, offset: u64) -> Vec<Cause> {
        let mut causes = Vec::new();
        let abandoned = self.notes.iter().rev().find(|n| match &n.note {
            Note::Stopped { abandoned, .. } => abandoned
                .iter()
                .any(|&(p, f, t)| p == tp && f <= offset && offset < t),
            _ => false,
        });
        if let Some(stop) = abandoned {
            let commit = self.notes.iter().rev().find(|c| {
                c.member == stop.member
                    && c.at_ms <= stop.at_ms
                    && matches!(&c.note, Note::Committed { tp: p, offset: o, .. } if *p == tp && *o > offset)
            });
            if let Some(MemberNote {
                at_ms: t,
                member,
                note: Note::Committed {
                    offset: o, auto, ..
                },
            }) = commit
            {
                causes.push(Cause::CommittedBeforeProcessing {
                    at_ms: *t,
                    member: *member,
                    offset: *o,
                    auto: *auto,
                });
            }
            if let Note::Stopped { how, .. } = &stop.note {
                causes.push(Cause::Stopped {
                    at_ms: stop.at_ms,
                    member: stop.member,
                    how: *how,
                });
            }
        }
        causes.push(Cause::CommittedPast { at_ms, offset });
        causes
    }

    #[allow(clippy::too_many_arguments)] // private helper of `processed`
    /// Flags a record processed after a later record with the same key from the same
    /// producer (once).
    fn out_of_order(&mut self, at_ms: u64, member: MemberId, tp: Tp, offset: u64, record_id: u32) {
        let byte = self
            .state
            .get_mut(record_id as usize)
            .expect("set before the order check");
        if *byte & OUT_OF_ORDER == 0 {
            *byte |= OUT_OF_ORDER;
            topic_entry(&mut self.counts, tp.topic).out_of_order += 1;
            let mut a =
                Anomaly::single(AnomalyKind::OutOfOrder, Some(self.group), tp, offset, at_ms);
            a.member = Some(member);
            a.causes.push(Cause::ReorderedAfterLater { at_ms, member });
            push_bounded(&mut self.anomalies, a);
        }
    }

    fn extend_run(
        &mut self,
        at_ms: u64,
        member: MemberId,
        generation: i32,
        tp: Tp,
        from: u64,
        to: u64,
    ) {
        let runs = self.runs.entry(tp).or_default();
        if let Some(last) = runs.last_mut() {
            if last.member == member && last.generation == generation && last.to + 1 == from {
                last.to = to;
                last.last_ms = at_ms;
                return;
            }
        }
        if runs.len() >= MAX_RUNS {
            runs.drain(..MAX_RUNS / 4);
        }
        runs.push(ProcessingRun {
            member,
            generation,
            from,
            to,
            first_ms: at_ms,
            last_ms: at_ms,
        });
    }

    fn explain_duplicate(&mut self, at_ms: u64, member: MemberId, tp: Tp, offset: u64) {
        if let Some(last) = self.anomalies.last_mut() {
            if last.extends(AnomalyKind::Duplicate, tp, Some(member), offset) {
                last.last_offset = offset;
                last.count += 1;
                return;
            }
        }
        let mut causes = Vec::new();
        let prev = self
            .runs(tp)
            .iter()
            .rev()
            .find(|r| r.from <= offset && offset <= r.to)
            .cloned();
        if let Some(r) = &prev {
            causes.push(Cause::ProcessedBefore {
                member: r.member,
                generation: r.generation,
                from: r.from,
                to: r.to,
                first_ms: r.first_ms,
                last_ms: r.last_ms,
            });
            if let Some(stop) = self.fate_after(r.member, r.last_ms, tp) {
                causes.push(stop);
            }
        }
        if let Some(resume) = self.resume_of(member, tp, offset) {
            causes.push(resume);
        }
        let mut a = Anomaly::single(AnomalyKind::Duplicate, Some(self.group), tp, offset, at_ms);
        a.member = Some(member);
        a.causes = causes;
        push_bounded(&mut self.anomalies, a);
    }

    /// What ended `member`'s hold on `tp` after `after_ms`, if noted.
    fn fate_after(&self, member: MemberId, after_ms: u64, tp: Tp) -> Option<Cause> {
        self.notes.iter().find_map(|n| {
            if n.member != member || n.at_ms < after_ms {
                return None;
            }
            match &n.note {
                Note::Stopped {
                    how, partitions, ..
                } if partitions.is_empty() || partitions.contains(&tp) => Some(Cause::Stopped {
                    at_ms: n.at_ms,
                    member,
                    how: *how,
                }),
                _ => None,
            }
        })
    }

    /// How `member` came to read `tp` from at or below `offset`.
    fn resume_of(&self, member: MemberId, tp: Tp, offset: u64) -> Option<Cause> {
        self.notes.iter().rev().find_map(|n| match &n.note {
            Note::Resumed {
                tp: p,
                offset: o,
                generation,
                source,
            } if n.member == member && *p == tp && *o <= offset => Some(Cause::Resumed {
                at_ms: n.at_ms,
                member,
                generation: *generation,
                offset: *o,
                source: *source,
            }),
            _ => None,
        })
    }
}

impl Ledger {
    /// True when an election of `tp` came from outside the ISR (its log may now end
    /// below offsets that were read and committed).
    pub fn had_unclean_election(&self, tp: Tp) -> bool {
        self.unclean.contains(&tp)
    }

    /// Records acknowledged to their producer and then lost with a failed leader.
    pub fn acked_then_lost(&self) -> u64 {
        self.acked_then_lost
    }

    /// A leader that lost its leadership (and does not know yet) appended records: they
    /// are on that replica only, outside the partition's log.
    fn stray_appended(
        &mut self,
        broker: BrokerId,
        tp: Tp,
        base: u64,
        count: u64,
        logs: &impl LogLookup,
    ) {
        let Some(log) = logs.replica_log(broker, tp) else {
            return;
        };
        let ids: Vec<u32> = log
            .range(base, base + count)
            .map(|(_, r)| r.record_id)
            .collect();
        for id in ids {
            self.becomes_stray(id);
        }
    }

    /// A record with no copy in the current log sits on some replica: pending in a log.
    fn becomes_stray(&mut self, id: u32) {
        let Some(info) = self.records.get_mut(id as usize) else {
            return;
        };
        if info.copies > 0 || info.held == Held::Stray {
            return;
        }
        let (was, tp) = (info.held, info.tp());
        info.held = Held::Stray;
        match was {
            Held::Clear => topic_entry(&mut self.per_topic, tp.topic).in_log += 1,
            Held::Returned | Held::Gone => {
                info.held = was;
                self.back_in_a_log(id);
                if let Some(info) = self.records.get_mut(id as usize) {
                    info.held = Held::Stray;
                }
            }
            Held::Stray => {}
        }
    }

    /// A record that had left every replica is in a log again: pending again for the
    /// groups that had not settled it.
    fn back_in_a_log(&mut self, id: u32) {
        let Some(info) = self.records.get_mut(id as usize) else {
            return;
        };
        let (was, tp) = (info.held, info.tp());
        info.held = Held::Clear;
        let counts = topic_entry(&mut self.per_topic, tp.topic);
        counts.in_log += 1;
        match was {
            Held::Returned => {
                for g in &mut self.groups {
                    if g.outcome(id) != Outcome::Pending {
                        topic_entry(&mut g.counts, tp.topic).settled_returned -= 1;
                    }
                }
            }
            Held::Gone => {
                counts.gone -= 1;
                self.gone.retain(|&x| x != id);
            }
            Held::Clear | Held::Stray => {}
        }
    }

    /// Kafka deletes nothing at an election: the partition's log is now the new leader's.
    /// Records of the old log from where the two part leave it (the old replica keeps them
    /// on disk: stray until it truncates); records the new leader holds from there join it
    /// (a replica elected before it truncated brings them back).
    fn switch_lineage(
        &mut self,
        at_ms: u64,
        tp: Tp,
        old: BrokerId,
        new: BrokerId,
        unclean: bool,
        logs: &impl LogLookup,
    ) {
        let (Some(old_log), Some(new_log)) = (logs.replica_log(old, tp), logs.replica_log(new, tp))
        else {
            return;
        };
        let from = old_log.divergence(new_log);
        if unclean {
            self.unclean.insert(tp);
        }
        let leaving: Vec<u32> = old_log
            .range(from, old_log.log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect();
        let joining: Vec<(u64, u32)> = new_log
            .range(from, new_log.log_end_offset())
            .map(|(o, r)| (o, r.record_id))
            .collect();
        self.failovers.insert(
            tp,
            Cause::LeaderFailover {
                at_ms,
                old_leader: old,
                new_leader: Some(new),
                unclean,
                new_log_end_offset: from,
            },
        );
        for id in leaving {
            if let Some(info) = self.records.get_mut(id as usize) {
                info.copies = info.copies.saturating_sub(1);
                if info.copies == 0 {
                    // Still on the old replica's disk (and counted in the log).
                    info.held = Held::Stray;
                }
            }
        }
        for (offset, id) in joining {
            let Some(info) = self.records.get_mut(id as usize) else {
                continue;
            };
            info.copies = info.copies.saturating_add(1);
            if info.copies > 1 {
                self.log_duplicates += 1;
                continue;
            }
            info.first_offset = offset;
            match info.held {
                Held::Stray => info.held = Held::Clear,
                Held::Clear => topic_entry(&mut self.per_topic, tp.topic).in_log += 1,
                Held::Returned | Held::Gone => self.back_in_a_log(id),
            }
        }
    }

    /// A replica truncated its log (`UnifiedLog.truncateTo`, to follow a new leader): the
    /// records it dropped that no other replica holds, and that are not in the current
    /// log, are gone. That is the moment Kafka loses them.
    fn truncated(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        tp: Tp,
        to_offset: u64,
        records: &[u32],
        logs: &impl LogLookup,
    ) {
        let replicas = logs.replicas(tp);
        let mut by_kind: BTreeMap<u8, Anomaly> = BTreeMap::new();
        for (i, &id) in records.iter().enumerate() {
            let offset = to_offset + i as u64;
            let Some(info) = self.records.get(id as usize) else {
                continue;
            };
            if info.copies > 0 || info.held != Held::Stray {
                continue;
            }
            let elsewhere = replicas.iter().any(|&x| {
                x != broker
                    && logs
                        .replica_log(x, tp)
                        .and_then(|l| l.get(offset))
                        .is_some_and(|r| r.record_id == id)
            });
            if elsewhere {
                continue;
            }
            let mut causes = Vec::new();
            let failover = self.failovers.get(&tp).cloned();
            if info.status == ProduceStatus::Acked
                && !matches!(failover, Some(Cause::LeaderFailover { unclean: true, .. }))
            {
                if let Some(producer) = info.producer() {
                    causes.push(Cause::AckedByLeaderAlone {
                        at_ms: info.produced_ms,
                        producer,
                    });
                }
            }
            causes.extend(failover);
            causes.push(Cause::Truncated {
                at_ms,
                broker,
                to_offset,
            });
            let kind = self.gone_for_good(id);
            if let Some(kind) = kind {
                let a = by_kind.entry(kind as u8).or_insert_with(|| {
                    let mut a = Anomaly::single(kind, None, tp, offset, at_ms);
                    a.causes = causes.clone();
                    a.count = 0;
                    a
                });
                a.count += 1;
                a.first_offset = a.first_offset.min(offset);
                a.last_offset = a.last_offset.max(offset);
            }
        }
        for a in by_kind.into_values() {
            push_bounded(&mut self.producer_anomalies, a);
        }
    }

    /// No replica holds the record any more. If its producer is still retrying it, it is
    /// back in the producer; otherwise it is gone for good: lost for every group that had
    /// not read it. Returns the producer-side anomaly kind it belongs to, if any.
    fn gone_for_good(&mut self, id: u32) -> Option<AnomalyKind> {
        let info = self.records.get_mut(id as usize)?;
        let (tp, status, was) = (info.tp(), info.status, info.held);
        info.first_offset = super::record::NO_OFFSET;
        let counts = topic_entry(&mut self.per_topic, tp.topic);
        if was == Held::Stray {
            counts.in_log -= 1;
        }
        if status == ProduceStatus::InFlight {
            info.held = Held::Returned;
            for g in &mut self.groups {
                if g.outcome(id) != Outcome::Pending {
                    topic_entry(&mut g.counts, tp.topic).settled_returned += 1;
                }
            }
            return None;
        }
        info.held = Held::Gone;
        counts.gone += 1;
        self.gone.push(id);
        for g in &mut self.groups {
            match g.outcome(id) {
                Outcome::Pending => g.set(tp, id, Outcome::Lost),
                _ if was == Held::Returned => {
                    topic_entry(&mut g.counts, tp.topic).settled_returned -= 1;
                }
                _ => {}
            }
        }
        match status {
            ProduceStatus::Acked => {
                self.acked_then_lost += 1;
                Some(AnomalyKind::AckedThenLost)
            }
            _ => Some(AnomalyKind::WrittenThenLost),
        }
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
                poison: false,
                producer: crate::engine::log::NO_PRODUCER,
            }]);
        }
        ledger.add_group(GroupId(0));
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
