//! Events: everything the engine did, in order. The UI animates them; the trace hash
//! proves determinism.

use std::hash::{Hash, Hasher};

use super::log::KeyId;

/// Why a record went to the partition it went to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PartitionReason {
    /// Keyed, Java default: `toPositive(murmur2(key)) % partition_count`.
    Murmur2 {
        /// `Utils.murmur2` of the key bytes (signed, as Java prints it).
        hash: i32,
        /// The partition count the modulo used.
        partition_count: u32,
    },
    /// Keyed, librdkafka `consistent`: `crc32(key) % partition_count`.
    Crc32 {
        /// CRC-32 of the key bytes.
        hash: u32,
        /// The partition count the modulo used.
        partition_count: u32,
    },
    /// The sticky partition of a null-key (or keys-ignored) record.
    Sticky,
    /// `RoundRobinPartitioner`'s counter.
    RoundRobin,
    /// A seeded uniform pick (the slice's null-key stand-in).
    Random,
}

/// One thing that happened in the simulation, stamped with virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A record was appended to a partition log.
    RecordAppended {
        /// Virtual time of the append.
        at_ms: u64,
        /// The ledger id of the produced record.
        record_id: u32,
        /// Null key or interned key.
        key: Option<KeyId>,
        /// The partition it landed in.
        partition: u32,
        /// Its offset there.
        offset: u64,
        /// How the partition was chosen.
        reason: PartitionReason,
    },
    /// Partitions were added; keys seen so far that now map elsewhere are listed.
    PartitionsAdded {
        /// Virtual time.
        at_ms: u64,
        /// Partition count before.
        from: u32,
        /// Partition count after.
        to: u32,
        /// `(key, old partition, new partition)` for every known key that moved.
        moved: Vec<(KeyId, u32, u32)>,
    },
    /// Something a producer or the broker did for it.
    Producer {
        /// Virtual time.
        at_ms: u64,
        /// The producer's index.
        producer: u16,
        /// What happened.
        event: ProducerEvent,
    },
    /// Something a group's coordinator or one of its consumers did.
    Group {
        /// Virtual time.
        at_ms: u64,
        /// The group's index.
        group: u16,
        /// What happened.
        event: GroupEvent,
    },
}

impl Event {
    /// When it happened.
    pub fn at_ms(&self) -> u64 {
        match self {
            Event::RecordAppended { at_ms, .. }
            | Event::PartitionsAdded { at_ms, .. }
            | Event::Producer { at_ms, .. }
            | Event::Group { at_ms, .. } => *at_ms,
        }
    }
}

/// Producer-side events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProducerEvent {
    /// `send()`: the partitioner placed a record in the accumulator.
    Sent {
        /// Ledger id.
        record_id: u32,
        /// Key, or `None` for a null key.
        key: Option<KeyId>,
        /// Partition chosen.
        partition: u32,
        /// Why that partition.
        reason: PartitionReason,
    },
    /// A produce request left the producer.
    RequestSent {
        /// Request id (per producer).
        request_id: u64,
        /// `(partition, records, base_sequence, attempt)` per batch.
        batches: Vec<(u32, u32, Option<i32>, u32)>,
    },
    /// The broker appended a batch.
    Appended {
        /// Request id.
        request_id: u64,
        /// The partition.
        partition: u32,
        /// Offset of the first record.
        base_offset: u64,
        /// Records appended.
        count: u32,
    },
    /// The broker recognised a retried batch it already had (idempotence) and did not append it.
    DuplicateBatchDropped {
        /// Request id.
        request_id: u64,
        /// The partition.
        partition: u32,
        /// Its base sequence.
        base_sequence: i32,
    },
    /// The broker refused a batch whose sequence left a gap (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
    OutOfOrderSequence {
        /// Request id.
        request_id: u64,
        /// The partition.
        partition: u32,
        /// Its base sequence.
        base_sequence: i32,
    },
    /// The producer received the response.
    Acked {
        /// Request id.
        request_id: u64,
    },
    /// Fault: the broker appended but the response was lost.
    AckLost {
        /// Request id.
        request_id: u64,
    },
    /// Fault: the request never reached the broker.
    RequestLost {
        /// Request id.
        request_id: u64,
    },
    /// No response within `request.timeout.ms`: its batches will be retried.
    RequestTimedOut {
        /// Request id.
        request_id: u64,
    },
    /// Records failed: `delivery.timeout.ms` passed, or retries ran out.
    Expired {
        /// The partition.
        partition: u32,
        /// Records failed.
        records: u32,
    },
}

/// How a heartbeat was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeartbeatResult {
    /// The member is in the current generation and the group is stable.
    Ok,
    /// A rebalance started: the member must rejoin at its next poll.
    RebalanceInProgress,
    /// The coordinator does not know the member (removed): it must rejoin with a new id.
    UnknownMemberId,
}

/// Why the coordinator removed a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// No heartbeat within `session.timeout.ms`.
    SessionTimeout,
    /// It did not rejoin within the rebalance timeout (`max.poll.interval.ms`).
    RebalanceTimeout,
    /// It sent LeaveGroup (close, or `max.poll.interval.ms` exceeded).
    Left,
}

/// Why an offset commit failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitError {
    /// `CommitFailedException`: the member is no longer part of the group's generation.
    CommitFailed,
    /// `RebalanceInProgressException`: a rebalance is under way.
    RebalanceInProgress,
}

/// One partition's offset in a commit.
pub type PartitionOffset = (u32, u64);

/// Group coordinator states (classic protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's SyncGroup with the assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// The group is gone.
    Dead,
}

impl GroupState {
    /// The name Kafka's tools print.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// Group- and consumer-side events. Member names are client ids (`c1`); member ids are
/// Kafka's (`c1-3fa2…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupEvent {
    /// The coordinator moved the group to another state.
    StateChanged {
        /// New state.
        to: GroupState,
        /// Generation at that moment.
        generation: i32,
    },
    /// A member sent JoinGroup.
    JoinGroup {
        /// Client id.
        member: String,
        /// Member id it joined with (assigned by the coordinator when new).
        member_id: String,
    },
    /// The join phase completed: a new generation with a leader.
    JoinComplete {
        /// The new generation.
        generation: i32,
        /// The leader's client id.
        leader: String,
        /// Members of the generation (client ids), in member-id order.
        members: Vec<String>,
        /// Assignor used.
        assignor: String,
        /// `true` for cooperative (incremental) rebalancing.
        cooperative: bool,
    },
    /// A member sent SyncGroup (the leader's carries the assignment).
    SyncGroup {
        /// Client id.
        member: String,
        /// Generation.
        generation: i32,
    },
    /// A member received its assignment.
    Assigned {
        /// Client id.
        member: String,
        /// Generation.
        generation: i32,
        /// Its partitions now.
        partitions: Vec<u32>,
        /// Newly added ones.
        added: Vec<u32>,
    },
    /// A member gave partitions up (`onPartitionsRevoked`).
    Revoked {
        /// Client id.
        member: String,
        /// The partitions.
        partitions: Vec<u32>,
    },
    /// A heartbeat and its answer.
    Heartbeat {
        /// Client id.
        member: String,
        /// The answer.
        result: HeartbeatResult,
    },
    /// A member sent LeaveGroup.
    LeaveGroup {
        /// Client id.
        member: String,
        /// Why, in Kafka's words.
        reason: String,
    },
    /// The coordinator removed a member.
    MemberRemoved {
        /// Client id.
        member: String,
        /// Why.
        reason: RemovalReason,
    },
    /// A consumer's position on a partition was set.
    PositionSet {
        /// Client id.
        member: String,
        /// The partition.
        partition: u32,
        /// The offset.
        offset: u64,
        /// "committed", "auto.offset.reset=earliest", "seek", ...
        source: String,
    },
    /// `poll()` returned records.
    Polled {
        /// Client id.
        member: String,
        /// `(partition, from, to_exclusive)` per partition.
        ranges: Vec<(u32, u64, u64)>,
    },
    /// Records were processed (one step of the application).
    Processed {
        /// Client id.
        member: String,
        /// The partition.
        partition: u32,
        /// First offset.
        from: u64,
        /// One past the last offset.
        to: u64,
        /// How many of them were processed for a second (or later) time.
        duplicates: u32,
    },
    /// An offset commit was accepted.
    Committed {
        /// Client id.
        member: String,
        /// Offsets (next to read) per partition.
        offsets: Vec<PartitionOffset>,
        /// Auto-commit (true) or the application.
        auto: bool,
    },
    /// An offset commit was rejected.
    CommitRejected {
        /// Client id.
        member: String,
        /// Offsets it tried to commit.
        offsets: Vec<PartitionOffset>,
        /// The exception the client raises.
        error: CommitError,
    },
    /// A consumer started (or restarted).
    ConsumerStarted {
        /// Client id.
        member: String,
    },
    /// A consumer crashed: no commit, no LeaveGroup.
    ConsumerCrashed {
        /// Client id.
        member: String,
        /// Why (e.g. a poison record).
        reason: String,
    },
    /// A consumer closed gracefully.
    ConsumerClosed {
        /// Client id.
        member: String,
    },
    /// A consumer failed, e.g. `auto.offset.reset=none` with no committed offset.
    ConsumerFailed {
        /// Client id.
        member: String,
        /// The exception.
        error: String,
    },
}

/// FNV-1a (64-bit) with platform-independent integer widths, so the trace hash of a
/// run is the same natively and in the browser.
#[derive(Clone, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    // usize/isize differ between wasm32 and x86_64; widen them so both agree.
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

/// The running hash of an event trace: equal traces give equal hashes.
#[derive(Clone, Debug, Default)]
pub struct TraceHash {
    hasher: StableHasher,
    count: u64,
}

impl TraceHash {
    /// Folds one event into the hash.
    pub fn push(&mut self, event: &Event) {
        event.hash(&mut self.hasher);
        self.count += 1;
    }

    /// The hash of every event pushed so far.
    pub fn value(&self) -> u64 {
        self.hasher.finish()
    }

    /// How many events were pushed.
    pub fn count(&self) -> u64 {
        self.count
    }
}
