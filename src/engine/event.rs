//! Events: everything the engine did, in order. The UI animates them, the ledger learns
//! from them, and the trace hash over them proves determinism.

use std::hash::{Hash, Hasher};

use super::ids::{BrokerId, GroupId, MemberId, NodeId, ProducerId, TopicId, Tp};
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
    /// A seeded uniform pick (records typed by hand with a null key).
    Random,
    /// Named by the application: a dead letter goes to the failed record's own partition
    /// number (as Spring Kafka's `DeadLetterPublishingRecoverer` sends it by default).
    Explicit,
}

/// One thing that happened in the simulation, stamped with virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A topic was created.
    TopicCreated {
        /// Virtual time.
        at_ms: u64,
        /// Its id.
        topic: TopicId,
        /// Its name.
        name: String,
        /// Its partition count.
        partitions: u32,
    },
    /// A topic was deleted: its records are gone, groups lose its partitions.
    TopicDeleted {
        /// Virtual time.
        at_ms: u64,
        /// Its id.
        topic: TopicId,
    },
    /// A record typed by hand was appended directly (the partition calculator's path).
    RecordAppended {
        /// Virtual time of the append.
        at_ms: u64,
        /// The ledger id of the record.
        record_id: u32,
        /// Null key or interned key.
        key: Option<KeyId>,
        /// Where it landed.
        tp: Tp,
        /// Its offset there.
        offset: u64,
        /// How the partition was chosen.
        reason: PartitionReason,
    },
    /// Partitions were added; keys seen so far that now map elsewhere are listed.
    PartitionsAdded {
        /// Virtual time.
        at_ms: u64,
        /// The topic.
        topic: TopicId,
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
        /// The producer.
        producer: ProducerId,
        /// What happened.
        event: ProducerEvent,
    },
    /// Something a group's coordinator or one of its consumers did.
    Group {
        /// Virtual time.
        at_ms: u64,
        /// The group.
        group: GroupId,
        /// What happened.
        event: GroupEvent,
    },
    /// The network changed, or dropped a message.
    Net {
        /// Virtual time.
        at_ms: u64,
        /// What happened.
        event: NetEvent,
    },
    /// A scripted command (a scenario's rig, a level's solution, a replayed session) was
    /// refused by the engine; nothing happened.
    CommandRefused {
        /// Virtual time.
        at_ms: u64,
        /// The command, in short.
        command: String,
        /// Why.
        error: String,
    },
    /// Something a broker or the controller did (replication, failures, elections).
    Broker {
        /// Virtual time.
        at_ms: u64,
        /// The broker.
        broker: BrokerId,
        /// What happened.
        event: BrokerEvent,
    },
}

/// What happened to a broker, or to partitions because of one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BrokerEvent {
    /// The broker's process was killed (its log stays on disk).
    Killed,
    /// It started again.
    Restarted,
    /// The controller fenced it: no heartbeat for `broker.session.timeout.ms`.
    Fenced,
    /// The controller took it back: registered, caught up with the metadata, eligible to
    /// lead and to rejoin ISRs.
    Unfenced,
    /// Its new process registered with the controller (fenced until it catches up).
    Registered,
    /// Its new process was refused (DUPLICATE_BROKER_REGISTRATION): the old process's
    /// session is still valid; it tries again after a backoff.
    RegistrationRefused,
    /// It leads a partition from this epoch on.
    BecameLeader {
        /// The partition.
        tp: Tp,
        /// The new leader epoch.
        leader_epoch: u32,
    },
    /// It follows a partition's (new) leader.
    BecameFollower {
        /// The partition.
        tp: Tp,
        /// The leader, if any.
        leader: Option<BrokerId>,
        /// The leader epoch.
        leader_epoch: u32,
    },
    /// The controller elected a leader for a partition whose leader was fenced: from the
    /// ISR (clean), or not (unclean), or none (the partition is offline).
    LeaderElected {
        /// The partition.
        tp: Tp,
        /// The new leader (`None`: offline).
        leader: Option<BrokerId>,
        /// The leader before.
        previous: Option<BrokerId>,
        /// The new leader epoch.
        leader_epoch: u32,
        /// `Some(true)` when unclean.
        unclean: Option<bool>,
        /// The preferred-leader balancer moved it back to its first replica.
        preferred: bool,
    },
    /// The controller changed a partition's ISR.
    IsrChanged {
        /// The partition.
        tp: Tp,
        /// The ISR before.
        from: Vec<BrokerId>,
        /// The ISR now.
        to: Vec<BrokerId>,
    },
    /// A group's coordinator moved with its `__consumer_offsets` partition's leader.
    CoordinatorMoved {
        /// The group.
        group: GroupId,
        /// The new coordinator (`None`: none for now).
        to: Option<BrokerId>,
    },
    /// A returning replica truncated its log to where it diverged from the leader's
    /// (KIP-101/KIP-279) and dropped these records.
    Truncated {
        /// The partition.
        tp: Tp,
        /// The new log end offset.
        to_offset: u64,
        /// The dropped records' ids.
        records: Vec<u32>,
    },
    /// A retention check deleted the oldest segments of this replica's log
    /// (`UnifiedLog.deleteOldSegments`): its log start jumped.
    SegmentsDeleted {
        /// The partition.
        tp: Tp,
        /// Which rule deleted them.
        rule: crate::engine::log::RetentionRule,
        /// The rule's setting at the check (`retention.ms` or `retention.bytes`; -1 for
        /// the log start rule).
        limit: i64,
        /// The segments, oldest first (each ends where the next begins, the last at
        /// `log_start_offset`).
        segments: Vec<crate::engine::log::SegmentSpan>,
        /// The new log start offset.
        log_start_offset: u64,
    },
    /// The log cleaner compacted this replica's log (`Cleaner.doClean`): the latest record
    /// per key stays, superseded records and expired tombstones go, and offsets keep their
    /// numbers (gaps appear). Boxed: a rare event should not widen every event.
    LogCleaned(Box<CleanedLog>),
}

/// One cleaning pass over a replica's log, as [`BrokerEvent::LogCleaned`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CleanedLog {
    /// The partition.
    pub tp: Tp,
    /// The dirty part it read, `[from, to)`; `to` is its new cleaner checkpoint.
    pub dirty: (u64, u64),
    /// Its dirty ratio when the cleaner took it, in millionths.
    pub dirty_ratio_ppm: u64,
    /// Taken because a dirty record was older than `max.compaction.lag.ms`.
    pub forced: bool,
    /// How many records it removed.
    pub removed: u64,
    /// The tombstones it removed, with the delete horizon each had passed.
    pub tombstones_removed: Vec<(u64, u64)>,
    /// The tombstones it kept for the first time, with their delete horizon.
    pub horizons: Vec<(u64, u64)>,
}

/// Declares [`EventKind`] with each kind's name taken from its variant (`stringify!`), so
/// the names levels and the narration use come from the type, not from a list kept by hand.
macro_rules! event_kinds {
    ($($kind:ident),* $(,)?) => {
        /// What kind an event is, as `event:` goals, narration cues and the tracker name it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $(#[doc = concat!("`", stringify!($kind), "`.")] $kind,)*
            /// A produce the broker refused, named by its error (`NOT_ENOUGH_REPLICAS`).
            Rejected(crate::engine::msg::KafkaError),
        }

        impl EventKind {
            /// The kinds without an error, in declaration order.
            const PLAIN: &'static [EventKind] = &[$(EventKind::$kind),*];

            /// Its name: the variant's own, or the refusal's Kafka error.
            pub fn name(self) -> &'static str {
                match self {
                    $(EventKind::$kind => stringify!($kind),)*
                    EventKind::Rejected(error) => error.name(),
                }
            }
        }
    };
}

event_kinds! {
    TopicCreated, TopicDeleted, RecordAppended, PartitionsAdded, CommandRefused, Net,
    Sent, RequestSent, Appended, DuplicateBatchDropped, OutOfOrderSequence, Acked,
    ConnectionClosed, Retrying, Expired, EpochBumped,
    StateChanged, JoinGroup, JoinComplete, SyncGroup, Assigned, Revoked, Lost, Heartbeat,
    LeaveGroup, MemberRemoved, PositionSet, Polled, Processed, ProcessingFailed, ErrorHandled,
    Committed, CommitRejected, CommitRetriable, RequestFailed, ConsumerStarted, ConsumerCrashed,
    ConsumerClosed, ConsumerFailed,
    BrokerKilled, BrokerRestarted, BrokerFenced, BrokerUnfenced, BecameLeader, BecameFollower,
    LeaderElected, BrokerRegistered, BrokerRegistrationRefused, TruncationDetected, IsrChanged,
    Truncated, CoordinatorMoved, SegmentsDeleted, LogCleaned, TableChanged, ProducerCrashed,
}

impl EventKind {
    /// The errors a broker refuses a produce with in the lab (each retriable).
    const REFUSALS: [crate::engine::msg::KafkaError; 5] = [
        crate::engine::msg::KafkaError::NotLeaderOrFollower,
        crate::engine::msg::KafkaError::NotEnoughReplicas,
        crate::engine::msg::KafkaError::NotEnoughReplicasAfterAppend,
        crate::engine::msg::KafkaError::RequestTimedOut,
        crate::engine::msg::KafkaError::NetworkException,
    ];

    /// Every kind a level may name.
    pub fn all() -> impl Iterator<Item = EventKind> {
        let refusals = Self::REFUSALS.into_iter().map(EventKind::Rejected);
        Self::PLAIN.iter().copied().chain(refusals)
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<EventKind> {
        Self::all().find(|k| k.name() == name)
    }
}

impl Event {
    /// What kind of event it is (a position set by truncation detection is its own kind).
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            Event::TopicCreated { .. } => K::TopicCreated,
            Event::TopicDeleted { .. } => K::TopicDeleted,
            Event::RecordAppended { .. } => K::RecordAppended,
            Event::PartitionsAdded { .. } => K::PartitionsAdded,
            Event::CommandRefused { .. } => K::CommandRefused,
            Event::Net { .. } => K::Net,
            Event::Broker { event, .. } => event.kind(),
            Event::Producer { event, .. } => event.kind(),
            Event::Group { event, .. } => event.kind(),
        }
    }
}

impl BrokerEvent {
    /// Its [`EventKind`].
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            BrokerEvent::Killed => K::BrokerKilled,
            BrokerEvent::Restarted => K::BrokerRestarted,
            BrokerEvent::Fenced => K::BrokerFenced,
            BrokerEvent::Unfenced => K::BrokerUnfenced,
            BrokerEvent::BecameLeader { .. } => K::BecameLeader,
            BrokerEvent::BecameFollower { .. } => K::BecameFollower,
            BrokerEvent::LeaderElected { .. } => K::LeaderElected,
            BrokerEvent::Registered => K::BrokerRegistered,
            BrokerEvent::RegistrationRefused => K::BrokerRegistrationRefused,
            BrokerEvent::IsrChanged { .. } => K::IsrChanged,
            BrokerEvent::Truncated { .. } => K::Truncated,
            BrokerEvent::CoordinatorMoved { .. } => K::CoordinatorMoved,
            BrokerEvent::SegmentsDeleted { .. } => K::SegmentsDeleted,
            BrokerEvent::LogCleaned(_) => K::LogCleaned,
        }
    }
}

impl ProducerEvent {
    /// Its [`EventKind`].
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            ProducerEvent::Sent { .. } => K::Sent,
            ProducerEvent::RequestSent { .. } => K::RequestSent,
            ProducerEvent::Appended { .. } => K::Appended,
            ProducerEvent::DuplicateBatchDropped { .. } => K::DuplicateBatchDropped,
            ProducerEvent::OutOfOrderSequence { .. } => K::OutOfOrderSequence,
            ProducerEvent::Acked { .. } => K::Acked,
            ProducerEvent::ConnectionClosed { .. } => K::ConnectionClosed,
            ProducerEvent::Retrying { .. } => K::Retrying,
            ProducerEvent::Expired { .. } => K::Expired,
            ProducerEvent::EpochBumped { .. } => K::EpochBumped,
            ProducerEvent::Rejected { error, .. } => K::Rejected(*error),
            ProducerEvent::Crashed { .. } => K::ProducerCrashed,
        }
    }
}

impl GroupEvent {
    /// Its [`EventKind`].
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            GroupEvent::StateChanged { .. } => K::StateChanged,
            GroupEvent::JoinGroup { .. } => K::JoinGroup,
            GroupEvent::JoinComplete { .. } => K::JoinComplete,
            GroupEvent::SyncGroup { .. } => K::SyncGroup,
            GroupEvent::Assigned { .. } => K::Assigned,
            GroupEvent::Revoked { .. } => K::Revoked,
            GroupEvent::Lost { .. } => K::Lost,
            GroupEvent::Heartbeat { .. } => K::Heartbeat,
            GroupEvent::LeaveGroup { .. } => K::LeaveGroup,
            GroupEvent::MemberRemoved { .. } => K::MemberRemoved,
            GroupEvent::PositionSet {
                source: PositionSource::Truncation,
                ..
            } => K::TruncationDetected,
            GroupEvent::PositionSet { .. } => K::PositionSet,
            GroupEvent::Polled { .. } => K::Polled,
            GroupEvent::Processed { .. } => K::Processed,
            GroupEvent::ProcessingFailed { .. } => K::ProcessingFailed,
            GroupEvent::ErrorHandled { .. } => K::ErrorHandled,
            GroupEvent::TableChanged { .. } => K::TableChanged,
            GroupEvent::Committed { .. } => K::Committed,
            GroupEvent::CommitRejected { .. } => K::CommitRejected,
            GroupEvent::CommitRetriable { .. } => K::CommitRetriable,
            GroupEvent::RequestFailed { .. } => K::RequestFailed,
            GroupEvent::ConsumerStarted { .. } => K::ConsumerStarted,
            GroupEvent::ConsumerCrashed { .. } => K::ConsumerCrashed,
            GroupEvent::ConsumerClosed { .. } => K::ConsumerClosed,
            GroupEvent::ConsumerFailed { .. } => K::ConsumerFailed,
        }
    }
}

impl Event {
    /// When it happened.
    pub fn at_ms(&self) -> u64 {
        match self {
            Event::TopicCreated { at_ms, .. }
            | Event::TopicDeleted { at_ms, .. }
            | Event::RecordAppended { at_ms, .. }
            | Event::PartitionsAdded { at_ms, .. }
            | Event::Producer { at_ms, .. }
            | Event::Group { at_ms, .. }
            | Event::Net { at_ms, .. }
            | Event::CommandRefused { at_ms, .. }
            | Event::Broker { at_ms, .. } => *at_ms,
        }
    }
}

/// A produce batch as a request carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchSummary {
    /// Where it goes.
    pub tp: Tp,
    /// Records in it.
    pub records: u32,
    /// Its idempotent base sequence.
    pub base_sequence: Option<i32>,
    /// Which send this is (1 = first).
    pub attempt: u32,
}

/// Producer-side events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProducerEvent {
    /// `send()` placed records in the accumulator: ids `first_record ..
    /// first_record + count` (their partitions and reasons are in the ledger).
    Sent {
        /// Ledger id of the first.
        first_record: u32,
        /// How many (consecutive ids).
        count: u32,
    },
    /// A produce request left the producer.
    RequestSent {
        /// Request id (per producer).
        request_id: u64,
        /// The broker it went to.
        broker: BrokerId,
        /// Its batches (at most one per partition).
        batches: Vec<BatchSummary>,
    },
    /// The broker appended a batch.
    Appended {
        /// Request id.
        request_id: u64,
        /// The broker that appended it (a leader that lost its leadership and does not
        /// know yet appends outside the partition's log).
        broker: BrokerId,
        /// Where.
        tp: Tp,
        /// Offset of the first record.
        base_offset: u64,
        /// Records appended.
        count: u32,
    },
    /// The broker recognised a retried batch it already had (idempotence) and did not
    /// append it again (`DUPLICATE_SEQUENCE_NUMBER`, answered as a success).
    DuplicateBatchDropped {
        /// Request id.
        request_id: u64,
        /// Where.
        tp: Tp,
        /// Its base sequence.
        base_sequence: i32,
    },
    /// The broker refused a batch whose sequence left a gap (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
    OutOfOrderSequence {
        /// Request id.
        request_id: u64,
        /// Where.
        tp: Tp,
        /// Its base sequence.
        base_sequence: i32,
    },
    /// The producer received the response to a request.
    Acked {
        /// Request id.
        request_id: u64,
    },
    /// No response within `request.timeout.ms`: the client closed the connection, failing
    /// every request in flight on it (`NetworkClient.handleTimedOutRequests`).
    ConnectionClosed {
        /// The broker.
        broker: BrokerId,
        /// The request that timed out.
        request_id: u64,
        /// Requests that were in flight on the connection (all of them fail and retry).
        in_flight: u32,
    },
    /// A batch goes back to the accumulator to be retried after its backoff.
    Retrying {
        /// Where.
        tp: Tp,
        /// Its base sequence.
        base_sequence: Option<i32>,
        /// The attempt that failed.
        attempt: u32,
        /// Exponential backoff with jitter (`retry.backoff.ms`, `retry.backoff.max.ms`).
        backoff_ms: u64,
    },
    /// Records failed: `delivery.timeout.ms` passed (or retries ran out).
    Expired {
        /// Where they were going.
        tp: Tp,
        /// The records (ledger ids).
        records: Vec<u32>,
    },
    /// The idempotent producer bumped its epoch and restarted these partitions' sequences
    /// at 0 (`TransactionManager.bumpIdempotentProducerEpoch`).
    EpochBumped {
        /// The new epoch.
        epoch: u16,
        /// Partitions whose sequences restart.
        partitions: Vec<Tp>,
    },
    /// The broker refused or could not confirm a batch for a replication reason
    /// (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ..._AFTER_APPEND, REQUEST_TIMED_OUT,
    /// NETWORK_EXCEPTION); the producer retries it.
    Rejected {
        /// The request.
        request_id: u64,
        /// The partition.
        tp: Tp,
        /// Kafka's error.
        error: crate::engine::msg::KafkaError,
    },
    /// Lab: the service's process died and was started again; the records it had not sent
    /// yet are lost (none with an outbox: the relay sends them again).
    Crashed {
        /// Per partition, the records lost with the process.
        lost: Vec<(Tp, Vec<u32>)>,
    },
}

/// How a heartbeat was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeartbeatResult {
    /// The member is in the current generation (`NONE`).
    Ok,
    /// A rebalance started: the member must rejoin at its next poll.
    RebalanceInProgress,
    /// The coordinator does not know the member (removed): it must rejoin with a new id.
    UnknownMemberId,
    /// The member is from an older generation.
    IllegalGeneration,
    /// Another client took over this member's `group.instance.id`.
    FencedInstanceId,
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
    /// A new client with the same `group.instance.id` replaced it.
    Replaced,
}

/// Why an offset commit failed, as the client raises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitError {
    /// `CommitFailedException`: the member is no longer part of the group's generation.
    CommitFailed,
    /// `RebalanceInProgressException`: a rebalance is under way.
    RebalanceInProgress,
    /// `FencedInstanceIdException`: another client took this `group.instance.id`.
    FencedInstanceId,
    /// `TimeoutException`: `commitSync` kept failing with retriable errors until
    /// `default.api.timeout.ms` ran out.
    Timeout,
}

impl CommitError {
    /// The Java exception's name.
    pub fn exception(self) -> &'static str {
        match self {
            CommitError::CommitFailed => "CommitFailedException",
            CommitError::RebalanceInProgress => "RebalanceInProgressException",
            CommitError::FencedInstanceId => "FencedInstanceIdException",
            CommitError::Timeout => "TimeoutException",
        }
    }
}

/// One partition's offset in a commit.
pub type PartitionOffset = (Tp, u64);

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
    /// The states a group may move here from (ClassicGroupState `validPreviousStates`):
    /// Empty ← PreparingRebalance; PreparingRebalance ← Stable, CompletingRebalance, Empty;
    /// CompletingRebalance ← PreparingRebalance; Stable ← CompletingRebalance; Dead ← any.
    pub fn valid_previous(self) -> &'static [GroupState] {
        use GroupState::{CompletingRebalance, Dead, Empty, PreparingRebalance, Stable};
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }

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

/// How a consumer's position on a partition was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PositionSource {
    /// From the group's committed offset (OffsetFetch).
    Committed,
    /// `auto.offset.reset` because nothing was committed.
    Reset(super::config::AutoOffsetReset),
    /// `auto.offset.reset` because the position was out of range (OFFSET_OUT_OF_RANGE).
    OutOfRange(super::config::AutoOffsetReset),
    /// An explicit seek.
    Seek,
    /// KIP-320: after a leader change the position was checked against the new leader's
    /// log (OffsetsForLeaderEpoch) and moved back to where the two logs part.
    Truncation,
    /// Lab: the application sought to the offset its database stored with its data
    /// (`dedupe=stored-offsets`).
    Stored,
}

/// Why a consumer crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrashReason {
    /// The user crashed it (kill -9): no commit, no LeaveGroup.
    Killed,
    /// Processing a poison record threw and the application died.
    Poison {
        /// Where the record is.
        tp: Tp,
        /// Its offset.
        offset: u64,
    },
}

/// Group- and consumer-side events. Members are the lab's consumers (`c1` is
/// `MemberId(0)`); Kafka's member id strings appear where the protocol hands them out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupEvent {
    /// The coordinator moved the group to another state.
    StateChanged {
        /// New state.
        to: GroupState,
        /// Generation at that moment.
        generation: i32,
    },
    /// The coordinator received a JoinGroup.
    JoinGroup {
        /// Who.
        member: MemberId,
        /// The member id it joined with (handed out by the coordinator when new).
        member_id: String,
    },
    /// The join phase completed: a new generation with a leader.
    JoinComplete {
        /// The new generation.
        generation: i32,
        /// The leader.
        leader: MemberId,
        /// Members of the generation, in member-id order.
        members: Vec<MemberId>,
        /// Assignor used.
        assignor: String,
        /// `true` for cooperative (incremental) rebalancing.
        cooperative: bool,
    },
    /// The coordinator received a SyncGroup (the leader's carries the assignment).
    SyncGroup {
        /// Who.
        member: MemberId,
        /// Generation.
        generation: i32,
    },
    /// A member took its assignment (`onJoinComplete`).
    Assigned {
        /// Who.
        member: MemberId,
        /// Generation.
        generation: i32,
        /// Its partitions now.
        partitions: Vec<Tp>,
        /// Newly added ones.
        added: Vec<Tp>,
    },
    /// A member gave partitions up in a rebalance (`onPartitionsRevoked`).
    Revoked {
        /// Who.
        member: MemberId,
        /// The partitions.
        partitions: Vec<Tp>,
    },
    /// A member found it was no longer in the group and dropped its partitions without
    /// committing (`onPartitionsLost`).
    Lost {
        /// Who.
        member: MemberId,
        /// The partitions.
        partitions: Vec<Tp>,
    },
    /// The coordinator answered a heartbeat.
    Heartbeat {
        /// Who.
        member: MemberId,
        /// The answer.
        result: HeartbeatResult,
    },
    /// A member left the group (it sends LeaveGroup unless it is static).
    LeaveGroup {
        /// Who.
        member: MemberId,
        /// Why, in Kafka's words.
        reason: String,
        /// False for a static member, which only resets its generation.
        sent: bool,
    },
    /// The coordinator removed a member.
    MemberRemoved {
        /// Who.
        member: MemberId,
        /// Why.
        reason: RemovalReason,
    },
    /// A consumer's position on a partition was set.
    PositionSet {
        /// Who.
        member: MemberId,
        /// The partition.
        tp: Tp,
        /// The offset.
        offset: u64,
        /// Why that offset.
        source: PositionSource,
    },
    /// `poll()` returned records.
    Polled {
        /// Who.
        member: MemberId,
        /// `(partition, from, to_exclusive)` per partition.
        ranges: Vec<(Tp, u64, u64)>,
    },
    /// Records were processed (one step of the application).
    Processed {
        /// Who.
        member: MemberId,
        /// The member's generation while processing.
        generation: i32,
        /// The partition.
        tp: Tp,
        /// First offset.
        from: u64,
        /// One past the last offset.
        to: u64,
    },
    /// Processing a record threw (a poison record): the application dies.
    ProcessingFailed {
        /// Who.
        member: MemberId,
        /// The partition.
        tp: Tp,
        /// The record's offset.
        offset: u64,
    },
    /// The coordinator accepted an offset commit.
    Committed {
        /// Who.
        member: MemberId,
        /// Offsets (next to read) per partition.
        offsets: Vec<PartitionOffset>,
        /// Auto-commit (true) or the application.
        auto: bool,
    },
    /// An offset commit failed, with the exception the client raises.
    CommitRejected {
        /// Who.
        member: MemberId,
        /// Offsets it tried to commit.
        offsets: Vec<PartitionOffset>,
        /// The exception.
        error: CommitError,
    },
    /// A commit failed with a retriable error (the coordinator moved or is unknown, a
    /// timeout): `commitSync` tries again after a backoff until `default.api.timeout.ms`
    /// runs out; an auto-commit tries again after `retry.backoff.ms`.
    CommitRetriable {
        /// Who.
        member: MemberId,
        /// Kafka's error name (`NOT_COORDINATOR`...).
        error: &'static str,
        /// How long until the next attempt.
        retry_in_ms: u64,
    },
    /// A request to a broker went unanswered for `request.timeout.ms` (or the broker could
    /// not be reached): the client gives up on it and sends it again.
    RequestFailed {
        /// Who.
        member: MemberId,
        /// The broker.
        broker: BrokerId,
        /// The request (`Fetch`, `ListOffsets`).
        request: &'static str,
        /// True for a timeout, false for a refused connection.
        timed_out: bool,
    },
    /// A consumer started (or restarted).
    ConsumerStarted {
        /// Who.
        member: MemberId,
    },
    /// A consumer crashed: no commit, no LeaveGroup.
    ConsumerCrashed {
        /// Who.
        member: MemberId,
        /// Why.
        reason: CrashReason,
    },
    /// A consumer closed gracefully.
    ConsumerClosed {
        /// Who.
        member: MemberId,
    },
    /// A consumer stopped on an exception (e.g. `auto.offset.reset=none`).
    ConsumerFailed {
        /// Who.
        member: MemberId,
        /// The exception.
        error: String,
    },
    /// The application gave up on a record that failed for good (`on.error`): it logged
    /// and skipped it, or its dead letter is written.
    ErrorHandled {
        /// Who.
        member: MemberId,
        /// The partition.
        tp: Tp,
        /// The record's offset.
        offset: u64,
        /// Where its dead letter was written (`None`: skipped).
        dead_letter: Option<(Tp, u64)>,
    },
    /// Lab: the group's application table changed outside processing: corrupted by a
    /// buggy deploy, or truncated to be rebuilt.
    TableChanged {
        /// Truncated (else corrupted).
        truncated: bool,
    },
}

impl GroupEvent {
    /// The consumer the event is about, if one.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            GroupEvent::JoinGroup { member, .. }
            | GroupEvent::SyncGroup { member, .. }
            | GroupEvent::Assigned { member, .. }
            | GroupEvent::Revoked { member, .. }
            | GroupEvent::Lost { member, .. }
            | GroupEvent::Heartbeat { member, .. }
            | GroupEvent::LeaveGroup { member, .. }
            | GroupEvent::MemberRemoved { member, .. }
            | GroupEvent::PositionSet { member, .. }
            | GroupEvent::Polled { member, .. }
            | GroupEvent::Processed { member, .. }
            | GroupEvent::ProcessingFailed { member, .. }
            | GroupEvent::ErrorHandled { member, .. }
            | GroupEvent::Committed { member, .. }
            | GroupEvent::CommitRejected { member, .. }
            | GroupEvent::CommitRetriable { member, .. }
            | GroupEvent::RequestFailed { member, .. }
            | GroupEvent::ConsumerStarted { member }
            | GroupEvent::ConsumerCrashed { member, .. }
            | GroupEvent::ConsumerClosed { member }
            | GroupEvent::ConsumerFailed { member, .. } => Some(*member),
            GroupEvent::StateChanged { .. }
            | GroupEvent::JoinComplete { .. }
            | GroupEvent::TableChanged { .. } => None,
        }
    }
}

/// Network events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NetEvent {
    /// Links between every node of `a` and every node of `b` drop messages, both ways.
    Partitioned {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Messages between `a` and `b` wait until released.
    Held {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Held messages between `a` and `b` are delivered, in order.
    Released {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Every link works again and every held message is delivered.
    Healed,
    /// A message was lost.
    Dropped {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The request or response, by Kafka's name.
        what: &'static str,
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

    // Whole integers are folded in one step each: fewer multiplications, same determinism.
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_i32(&mut self, i: i32) {
        self.mix(u64::from(i as u32));
    }

    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }

    // usize/isize differ between wasm32 and x86_64; widen them so both agree.
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.mix(i as i64 as u64);
    }
}

impl StableHasher {
    fn mix(&mut self, v: u64) {
        self.0 ^= v;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        self.0 ^= self.0 >> 29;
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

    /// Folds raw facts (e.g. each sent record's partition) into the hash.
    pub fn push_u64(&mut self, v: u64) {
        self.hasher.mix(v);
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
