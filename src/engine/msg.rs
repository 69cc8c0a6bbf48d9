//! What actors say to each other and to the kernel: Kafka's requests and responses as
//! messages, each actor's timers, and the [`Out`] every handler writes into.
//!
//! Handlers never call another actor. They push sends, timers and events into `Out`; the
//! kernel (`sim.rs`) drains it: sends go through the network, timers into the queue,
//! events into the trace, the ledger and the event log. This module imports no actor, so
//! every actor can import it without a cycle.

use std::rc::Rc;

use super::assignor::Strategy;
use super::ids::{BrokerId, GroupId, Tp};
use super::log::LogRecord;

/// Kafka's error codes, where the lab produces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KafkaError {
    /// `NONE`.
    None,
    /// `UNKNOWN_MEMBER_ID`.
    UnknownMemberId,
    /// `ILLEGAL_GENERATION`.
    IllegalGeneration,
    /// `REBALANCE_IN_PROGRESS`.
    RebalanceInProgress,
    /// `FENCED_INSTANCE_ID`.
    FencedInstanceId,
    /// `MEMBER_ID_REQUIRED` (KIP-394: a new dynamic member rejoins with the id it is given).
    MemberIdRequired,
    /// `COORDINATOR_NOT_AVAILABLE`.
    CoordinatorNotAvailable,
    /// `OFFSET_OUT_OF_RANGE`.
    OffsetOutOfRange,
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`.
    OutOfOrderSequenceNumber,
    /// `DUPLICATE_SEQUENCE_NUMBER` (the client treats it as a success).
    DuplicateSequenceNumber,
    /// `INVALID_PRODUCER_EPOCH`.
    InvalidProducerEpoch,
    /// `UNKNOWN_TOPIC_OR_PARTITION`.
    UnknownTopicOrPartition,
    /// `NOT_LEADER_OR_FOLLOWER`: this broker does not lead the partition (any more).
    NotLeaderOrFollower,
    /// `INVALID_RECORD`: the broker's validation refused the batch (a record without a key
    /// for a compacted topic: `LogValidator.validateKey`). Not retriable.
    InvalidRecord,
    /// `NOT_ENOUGH_REPLICAS`: `acks=all` and the ISR is below `min.insync.replicas`; the
    /// batch was not written.
    NotEnoughReplicas,
    /// `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: written, but the ISR shrank below
    /// `min.insync.replicas` before it was replicated.
    NotEnoughReplicasAfterAppend,
    /// `REQUEST_TIMED_OUT`: the followers did not fetch the batch within the request's
    /// timeout.
    RequestTimedOut,
    /// `NETWORK_EXCEPTION`: the connection to the broker broke (it is down).
    NetworkException,
    /// `FENCED_LEADER_EPOCH`: the request's leader epoch is older than the broker's.
    FencedLeaderEpoch,
    /// `NOT_COORDINATOR`: this broker does not coordinate the group (any more).
    NotCoordinator,
    /// `DUPLICATE_BROKER_REGISTRATION`: the broker's previous process still has a valid
    /// session with the controller.
    DuplicateBrokerRegistration,
    /// `STALE_BROKER_EPOCH`: the request comes from a registration the controller
    /// replaced.
    StaleBrokerEpoch,
    /// `INELIGIBLE_REPLICA`: an ISR change names a fenced or unregistered broker.
    IneligibleReplica,
    /// `INVALID_REQUEST`.
    InvalidRequest,
    /// `UNKNOWN_LEADER_EPOCH`: the request names a leader epoch newer than the broker's.
    UnknownLeaderEpoch,
}

impl KafkaError {
    /// The name Kafka's logs print.
    pub fn name(self) -> &'static str {
        match self {
            KafkaError::None => "NONE",
            KafkaError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            KafkaError::IllegalGeneration => "ILLEGAL_GENERATION",
            KafkaError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            KafkaError::FencedInstanceId => "FENCED_INSTANCE_ID",
            KafkaError::MemberIdRequired => "MEMBER_ID_REQUIRED",
            KafkaError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            KafkaError::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            KafkaError::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            KafkaError::DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            KafkaError::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            KafkaError::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            KafkaError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            KafkaError::InvalidRecord => "INVALID_RECORD",
            KafkaError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            KafkaError::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            KafkaError::RequestTimedOut => "REQUEST_TIMED_OUT",
            KafkaError::NetworkException => "NETWORK_EXCEPTION",
            KafkaError::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            KafkaError::NotCoordinator => "NOT_COORDINATOR",
            KafkaError::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            KafkaError::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            KafkaError::IneligibleReplica => "INELIGIBLE_REPLICA",
            KafkaError::InvalidRequest => "INVALID_REQUEST",
            KafkaError::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
        }
    }
}

/// A committed offset with the leader epoch it was committed with, as OffsetFetch returns it.
pub type CommittedAt = (u64, Option<u32>);
/// Where a leader epoch ends in a log: `(epoch, end offset)`.
pub type EpochEnd = (u32, u64);

/// The last sequence of a batch starting at `base` with `count` records (wrapping): the
/// producer and the broker both count this way.
pub fn last_sequence(base: i32, count: usize) -> i32 {
    base.wrapping_add(count as i32 - 1)
}

/// One batch in a produce request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceBatch {
    /// Unique within its producer.
    pub batch_id: u64,
    /// Where it goes.
    pub tp: Tp,
    /// Idempotent base sequence, if the producer is idempotent.
    pub base_sequence: Option<i32>,
    /// The producer epoch its sequences belong to.
    pub epoch: u16,
    /// The records (shared with the producer's in-flight copy: a request is not copied).
    pub records: Rc<Vec<LogRecord>>,
}

/// The broker's answer for one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchResult {
    /// The batch.
    pub batch_id: u64,
    /// Where it went.
    pub tp: Tp,
    /// Success, a duplicate (also a success) or why it failed.
    pub error: KafkaError,
    /// Offset of its first record, on success.
    pub base_offset: Option<u64>,
}

/// One partition in a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedPartition {
    /// The partition.
    pub tp: Tp,
    /// `NONE`, `OFFSET_OUT_OF_RANGE` or `UNKNOWN_TOPIC_OR_PARTITION`.
    pub error: KafkaError,
    /// The offset asked for.
    pub fetch_offset: u64,
    /// The partition's high watermark.
    pub high_watermark: u64,
    /// Records from `fetch_offset`, in order (shared with the log, and by the consumer's
    /// buffer and batch).
    pub records: super::log::SharedRecords,
    /// The leader epochs of the records: `(epoch, start offset)`, the first one covering
    /// `fetch_offset` (each batch carries its `partitionLeaderEpoch`).
    pub epochs: Vec<(u32, u64)>,
}

/// One partition of a follower's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaFetchPartition {
    /// The partition.
    pub tp: Tp,
    /// The follower's log end offset.
    pub fetch_offset: u64,
    /// The epoch of the follower's last record (KIP-320: the leader checks it for
    /// divergence).
    pub last_fetched_epoch: Option<u32>,
    /// The leader epoch the follower follows.
    pub leader_epoch: u32,
}

/// One partition of a follower's fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaFetchedPartition {
    /// The partition.
    pub tp: Tp,
    /// `NONE`, `NOT_LEADER_OR_FOLLOWER` or `FENCED_LEADER_EPOCH`.
    pub error: KafkaError,
    /// The offset asked for.
    pub fetch_offset: u64,
    /// The leader's high watermark.
    pub high_watermark: u64,
    /// The leader's log start offset (a follower's rises to it).
    pub log_start_offset: u64,
    /// When the follower's log diverged: `(epoch, end offset)`; it truncates to the end
    /// offset and fetches again (KIP-320's DivergingEpoch).
    pub diverging: Option<(u32, u64)>,
    /// Leader epochs starting inside the returned records: `(epoch, start offset)`.
    pub epochs: Vec<(u32, u64)>,
    /// The idempotent batches among the returned records (the follower's producer state).
    pub batches: Vec<super::replication::BatchMeta>,
    /// Records from `fetch_offset`.
    pub records: Rc<Vec<LogRecord>>,
}

/// Where ListOffsets looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (what `read_uncommitted` consumers see as the end).
    Latest,
    /// `offsetsForTimes`: the first offset below the high watermark whose timestamp is at
    /// or after this time.
    Timestamp(u64),
}

/// A member's subscription as the JoinGroup request carries it (ConsumerProtocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMetadata {
    /// Subscribed topics, by name.
    pub topics: Vec<String>,
    /// `ownedPartitions` (cooperative protocol).
    pub owned: Vec<Tp>,
    /// The generation of that ownership.
    pub generation: i32,
    /// `StickyAssignor`'s user data: its previous assignment and generation.
    pub sticky_user_data: Option<(Vec<Tp>, i32)>,
}

/// One member, as the leader's JoinGroup response lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedMember {
    /// Kafka's member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its subscription.
    pub metadata: MemberMetadata,
}

/// `JoinGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// The group.
    pub group: GroupId,
    /// Empty for a new member.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// The rebalance timeout (`max.poll.interval.ms`).
    pub rebalance_timeout_ms: u64,
    /// The assignors it supports, in preference order.
    pub protocols: Vec<Strategy>,
    /// Its subscription.
    pub metadata: MemberMetadata,
}

/// The response to `JoinGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// The group.
    pub group: GroupId,
    /// `NONE`, `MEMBER_ID_REQUIRED`, `UNKNOWN_MEMBER_ID`, `FENCED_INSTANCE_ID`...
    pub error: KafkaError,
    /// The new generation.
    pub generation: i32,
    /// The chosen assignor.
    pub protocol: Option<Strategy>,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// Every member with its subscription (the leader only).
    pub members: Vec<JoinedMember>,
    /// A static leader that rejoined a stable group: it must not reassign (KIP-814).
    pub skip_assignment: bool,
}

/// `SyncGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// The group.
    pub group: GroupId,
    /// Generation.
    pub generation: i32,
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// The leader's assignment (`member id → partitions`); empty for followers.
    pub assignments: Vec<(String, Vec<Tp>)>,
}

/// The response to `SyncGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupResponse {
    /// The group.
    pub group: GroupId,
    /// `NONE`, `REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`...
    pub error: KafkaError,
    /// This member's partitions.
    pub assignment: Vec<Tp>,
}

/// `Heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// The group.
    pub group: GroupId,
    /// Generation.
    pub generation: i32,
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
}

/// The response to `Heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// The group.
    pub group: GroupId,
    /// The answer.
    pub error: KafkaError,
}

/// `OffsetCommit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group.
    pub group: GroupId,
    /// Per consumer.
    pub request_id: u64,
    /// Generation (-1 outside a group).
    pub generation: i32,
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Offsets.
    pub offsets: Vec<(Tp, u64)>,
    /// Each offset's leader epoch (of the record before it), if known.
    pub leader_epochs: Vec<Option<u32>>,
    /// Auto-commit or the application (for the lab's events only).
    pub auto: bool,
}

/// The response to `OffsetCommit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitResponse {
    /// The group.
    pub group: GroupId,
    /// The request.
    pub request_id: u64,
    /// The answer.
    pub error: KafkaError,
}

/// `OffsetFetch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The group.
    pub group: GroupId,
    /// Per consumer.
    pub request_id: u64,
    /// Which partitions.
    pub partitions: Vec<Tp>,
}

/// The response to `OffsetFetch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    /// The group.
    pub group: GroupId,
    /// The request.
    pub request_id: u64,
    /// Committed offsets with their leader epochs (`None`: nothing committed).
    pub offsets: Vec<(Tp, Option<CommittedAt>)>,
}

/// `LeaveGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    /// The group.
    pub group: GroupId,
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// The reason the client gives.
    pub reason: String,
}

/// The response to `LeaveGroup`: one error for the request, and one per member it named
/// (the classic client names itself only, so the lab keeps the member's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    /// The group.
    pub group: GroupId,
    /// `NONE`, or `UNKNOWN_MEMBER_ID` / `FENCED_INSTANCE_ID` for a member the group does
    /// not know as named.
    pub error: KafkaError,
}

/// A message between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// `Produce`.
    Produce {
        /// Per producer.
        request_id: u64,
        /// `acks`: 0 expects no response.
        acks_zero: bool,
        /// `acks=all`: answer once the ISR has the records (else after the leader's append).
        acks_all: bool,
        /// How long the broker may wait for its followers (`request.timeout.ms`).
        timeout_ms: u64,
        /// The idempotent producer id (`-1` when not idempotent).
        pid: i64,
        /// Batches, at most one per partition.
        batches: Vec<ProduceBatch>,
    },
    /// The response to `Produce`.
    ProduceResponse {
        /// The request.
        request_id: u64,
        /// Per batch.
        results: Vec<BatchResult>,
    },
    /// `Fetch`: records from each partition's offset; the broker may wait
    /// `fetch.max.wait.ms` for data.
    Fetch {
        /// Per consumer.
        fetch_id: u64,
        /// `(partition, offset)`.
        partitions: Vec<(Tp, u64)>,
    },
    /// The response to `Fetch`.
    FetchResponse {
        /// The request.
        fetch_id: u64,
        /// Per partition.
        partitions: Vec<FetchedPartition>,
    },
    /// `ListOffsets` (used for `auto.offset.reset`).
    ListOffsets {
        /// Per consumer.
        request_id: u64,
        /// Where to look.
        partitions: Vec<(Tp, OffsetSpec)>,
    },
    /// The response to `ListOffsets`.
    ListOffsetsResponse {
        /// The request.
        request_id: u64,
        /// `(partition, spec, offset)`; `None` for an unknown partition.
        offsets: Vec<(Tp, OffsetSpec, Option<u64>)>,
    },
    /// A follower's `Fetch` (replica id ≥ 0): records from its log end, up to the leader's
    /// log end; the leader waits up to `replica.fetch.wait.max.ms` for new ones.
    ReplicaFetch {
        /// Per follower.
        fetch_id: u64,
        /// Per partition.
        partitions: Vec<ReplicaFetchPartition>,
    },
    /// The response to a follower's fetch.
    ReplicaFetchResponse {
        /// The request.
        fetch_id: u64,
        /// Per partition.
        partitions: Vec<ReplicaFetchedPartition>,
    },
    /// `OffsetsForLeaderEpoch` (KIP-320): where each partition's leader epoch ends on the
    /// leader, to validate a position after a leader change.
    OffsetsForLeaderEpoch {
        /// Per consumer.
        request_id: u64,
        /// `(partition, the position's epoch, the leader epoch the consumer knows)`.
        partitions: Vec<(Tp, u32, u32)>,
    },
    /// The response to `OffsetsForLeaderEpoch`.
    OffsetsForLeaderEpochResponse {
        /// The request.
        request_id: u64,
        /// `(partition, error, (largest epoch at or below the one asked, its end offset))`;
        /// `None` when undefined (the leader knows no such epoch).
        partitions: Vec<(Tp, KafkaError, Option<EpochEnd>)>,
    },
    /// `FindCoordinator`.
    FindCoordinator {
        /// The group.
        group: GroupId,
    },
    /// The response to `FindCoordinator`.
    FindCoordinatorResponse {
        /// The group.
        group: GroupId,
        /// Its coordinator.
        coordinator: Option<BrokerId>,
    },
    /// `JoinGroup`.
    JoinGroup(JoinGroupRequest),
    /// The response to `JoinGroup`.
    JoinGroupResponse(JoinGroupResponse),
    /// `SyncGroup`.
    SyncGroup(SyncGroupRequest),
    /// The response to `SyncGroup`.
    SyncGroupResponse(SyncGroupResponse),
    /// `Heartbeat`.
    Heartbeat(HeartbeatRequest),
    /// The response to `Heartbeat`.
    HeartbeatResponse(HeartbeatResponse),
    /// `OffsetCommit`.
    OffsetCommit(OffsetCommitRequest),
    /// The response to `OffsetCommit`.
    OffsetCommitResponse(OffsetCommitResponse),
    /// `OffsetFetch`.
    OffsetFetch(OffsetFetchRequest),
    /// The response to `OffsetFetch`.
    OffsetFetchResponse(OffsetFetchResponse),
    /// `LeaveGroup`.
    LeaveGroup(LeaveGroupRequest),
    /// The response to `LeaveGroup`.
    LeaveGroupResponse(LeaveGroupResponse),
    /// A broker's `BrokerRegistration` to the controller, when its process starts.
    BrokerRegistration {
        /// The process (Kafka's incarnation id).
        incarnation: u32,
    },
    /// The controller's answer to a registration.
    BrokerRegistrationResponse {
        /// `NONE` or `DUPLICATE_BROKER_REGISTRATION`.
        error: KafkaError,
        /// The broker epoch of the new registration.
        broker_epoch: u64,
    },
    /// A broker's `BrokerHeartbeat`, every `broker.heartbeat.interval.ms`.
    BrokerHeartbeat {
        /// Its registration's broker epoch.
        broker_epoch: u64,
        /// The last metadata offset it applied (`currentMetadataOffset`).
        metadata_offset: u64,
    },
    /// The controller's answer to a heartbeat.
    BrokerHeartbeatResponse {
        /// `NONE` or `STALE_BROKER_EPOCH`.
        error: KafkaError,
        /// Fenced: not eligible to lead or to be in an ISR.
        fenced: bool,
    },
    /// A leader's `AlterPartition` to the controller: a new ISR.
    AlterPartition(AlterPartition),
    /// The controller's answer to `AlterPartition`.
    AlterPartitionResponse {
        /// The partition.
        tp: Tp,
        /// `NONE`, `FENCED_LEADER_EPOCH`, `INELIGIBLE_REPLICA`...
        error: KafkaError,
    },
    /// Metadata from the controller: partition records a broker applies in order (KRaft
    /// brokers read them from the metadata log).
    MetadataUpdate {
        /// The metadata offset this update brings the broker to.
        offset: u64,
        /// Each changed partition's record.
        partitions: Vec<(Tp, super::replication::PartitionState)>,
        /// The broker's whole image (after it registered, or missed updates).
        full: bool,
    },
}

impl Msg {
    /// Kafka's name for the request or response.
    pub fn name(&self) -> &'static str {
        match self {
            Msg::Produce { .. } => "Produce",
            Msg::ProduceResponse { .. } => "Produce response",
            Msg::Fetch { .. } => "Fetch",
            Msg::FetchResponse { .. } => "Fetch response",
            Msg::ListOffsets { .. } => "ListOffsets",
            Msg::ListOffsetsResponse { .. } => "ListOffsets response",
            Msg::ReplicaFetch { .. } => "Fetch (follower)",
            Msg::ReplicaFetchResponse { .. } => "Fetch response (to a follower)",
            Msg::OffsetsForLeaderEpoch { .. } => "OffsetsForLeaderEpoch",
            Msg::OffsetsForLeaderEpochResponse { .. } => "OffsetsForLeaderEpoch response",
            Msg::FindCoordinator { .. } => "FindCoordinator",
            Msg::FindCoordinatorResponse { .. } => "FindCoordinator response",
            Msg::JoinGroup(_) => "JoinGroup",
            Msg::JoinGroupResponse(_) => "JoinGroup response",
            Msg::SyncGroup(_) => "SyncGroup",
            Msg::SyncGroupResponse(_) => "SyncGroup response",
            Msg::Heartbeat(_) => "Heartbeat",
            Msg::HeartbeatResponse(_) => "Heartbeat response",
            Msg::OffsetCommit(_) => "OffsetCommit",
            Msg::OffsetCommitResponse(_) => "OffsetCommit response",
            Msg::OffsetFetch(_) => "OffsetFetch",
            Msg::OffsetFetchResponse(_) => "OffsetFetch response",
            Msg::LeaveGroup(_) => "LeaveGroup",
            Msg::LeaveGroupResponse(_) => "LeaveGroup response",
            Msg::BrokerRegistration { .. } => "BrokerRegistration",
            Msg::BrokerRegistrationResponse { .. } => "BrokerRegistration response",
            Msg::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Msg::BrokerHeartbeatResponse { .. } => "BrokerHeartbeat response",
            Msg::AlterPartition(_) => "AlterPartition",
            Msg::AlterPartitionResponse { .. } => "AlterPartition response",
            Msg::MetadataUpdate { .. } => "Metadata",
        }
    }

    /// The group a coordinator request is about.
    pub fn group(&self) -> Option<GroupId> {
        match self {
            Msg::FindCoordinator { group }
            | Msg::JoinGroup(JoinGroupRequest { group, .. })
            | Msg::SyncGroup(SyncGroupRequest { group, .. })
            | Msg::Heartbeat(HeartbeatRequest { group, .. })
            | Msg::OffsetCommit(OffsetCommitRequest { group, .. })
            | Msg::OffsetFetch(OffsetFetchRequest { group, .. })
            | Msg::LeaveGroup(LeaveGroupRequest { group, .. }) => Some(*group),
            _ => None,
        }
    }

    /// True for the group coordinator's responses.
    pub fn from_coordinator(&self) -> bool {
        matches!(
            self,
            Msg::FindCoordinatorResponse { .. }
                | Msg::JoinGroupResponse(_)
                | Msg::SyncGroupResponse(_)
                | Msg::HeartbeatResponse(_)
                | Msg::OffsetCommitResponse(_)
                | Msg::OffsetFetchResponse(_)
        )
    }

    /// True for what the controller sends a broker (a restarted broker hears it before it
    /// serves anyone else).
    pub fn from_controller_to_broker(&self) -> bool {
        matches!(
            self,
            Msg::BrokerRegistrationResponse { .. }
                | Msg::BrokerHeartbeatResponse { .. }
                | Msg::MetadataUpdate { .. }
                | Msg::AlterPartitionResponse { .. }
        )
    }

    /// True for requests the group coordinator handles.
    pub fn for_coordinator(&self) -> bool {
        matches!(
            self,
            Msg::FindCoordinator { .. }
                | Msg::JoinGroup(_)
                | Msg::SyncGroup(_)
                | Msg::Heartbeat(_)
                | Msg::OffsetCommit(_)
                | Msg::OffsetFetch(_)
                | Msg::LeaveGroup(_)
        )
    }
}

/// A producer's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerTimer {
    /// The workload's next records are due.
    Tick {
        /// Invalidates ticks of a replaced workload.
        generation: u32,
    },
    /// The sender loop should run (a batch lingered long enough or a backoff ended).
    SenderWake,
    /// The oldest request on the connection may have timed out (one timer at a time; it
    /// re-arms for the oldest request when that one is younger).
    RequestTimeout,
}

/// What a consumer's timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerTimerKind {
    /// The application thread's next step (poll, or the next record's processing).
    App,
    /// The heartbeat thread's next iteration.
    Heartbeat,
    /// `max.poll.interval.ms` may have passed since the last poll.
    PollTimeout,
}

/// A consumer's timer, stamped so that timers of an earlier life or step are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerTimer {
    /// What for.
    pub kind: ConsumerTimerKind,
    /// The consumer's life (restarts bump it).
    pub incarnation: u32,
    /// The token it must still match.
    pub token: u64,
}

/// The group coordinator's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorTimer {
    /// The initial rebalance delay of an empty group ends (`InitialDelayedJoin`).
    InitialDelay {
        /// The group.
        group: GroupId,
        /// The rebalance it belongs to.
        token: u64,
        /// This window's delay.
        delay_ms: u64,
        /// Rebalance time left after it.
        remaining_ms: u64,
    },
    /// The join phase's rebalance timeout.
    RebalanceTimeout {
        /// The group.
        group: GroupId,
        /// The rebalance it belongs to.
        token: u64,
    },
    /// The earliest commit waiting for the offsets partition's high watermark may have
    /// waited `offsets.commit.timeout.ms`.
    CommitTimeout,
    /// A member id handed out with MEMBER_ID_REQUIRED was not used within its session
    /// timeout: it stops holding the join phase up.
    PendingMemberExpiry {
        /// The group.
        group: GroupId,
        /// The pending member id.
        member_id: String,
    },
    /// A member's heartbeat deadline may have passed (one timer per member; it re-arms
    /// when a heartbeat moved the deadline).
    MemberExpiry {
        /// The group.
        group: GroupId,
        /// Kafka's member id.
        member_id: String,
        /// When this timer fires (a newer, earlier one supersedes it).
        at_ms: u64,
    },
}

/// A broker's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerTimer {
    /// A parked fetch's `fetch.max.wait.ms` is up.
    FetchWait {
        /// Who asked.
        consumer: super::ids::ConsumerRef,
        /// Which fetch.
        fetch_id: u64,
    },
    /// A follower's parked fetch: `replica.fetch.wait.max.ms` is up.
    ReplicaFetchWait {
        /// The follower.
        follower: BrokerId,
        /// Which fetch.
        fetch_id: u64,
    },
    /// The earliest parked `acks=all` produce waited its `request.timeout.ms`.
    ProduceTimeout {
        /// The broker's life that set it (a restart starts a new one).
        incarnation: u32,
    },
    /// The broker's retention check (`kafka-log-retention`, every
    /// `log.retention.check.interval.ms`).
    RetentionCheck {
        /// The broker's life that set it (a restart starts a new one).
        incarnation: u32,
    },
    /// The log cleaner wakes (after `log.cleaner.backoff.ms` with nothing to clean).
    LogCleaner {
        /// The broker's life that set it (a restart starts a new one).
        incarnation: u32,
    },
    /// The leader's periodic ISR check (`isr-expiration`, every
    /// `replica.lag.time.max.ms / 2`).
    IsrExpiration {
        /// The broker's life that set it (a restart starts a new one).
        incarnation: u32,
    },
    /// The earliest fetch in flight to a leader waited `replica.socket.timeout.ms`.
    ReplicaFetchTimeout {
        /// The broker's life that set it.
        incarnation: u32,
    },
    /// A follower's backoff after an error ends: fetch again.
    ReplicaFetchBackoff {
        /// The broker's life that set it.
        incarnation: u32,
    },
    /// The broker's lifecycle manager: register (again), or heartbeat to the controller.
    Lifecycle {
        /// The broker's life that set it.
        incarnation: u32,
        /// Which of its timers (a newer one supersedes it).
        token: u64,
    },
}

/// The controller's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerTimer {
    /// The oldest unfenced broker's session may have run out (no heartbeat for
    /// `broker.session.timeout.ms`).
    FenceCheck,
    /// The preferred-leader balancer's turn.
    BalanceLeaders,
}

/// A leader's request to the controller (`AlterPartition`): a new ISR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartition {
    /// The partition.
    pub tp: Tp,
    /// The leader asking.
    pub leader: BrokerId,
    /// Its leader epoch.
    pub leader_epoch: u32,
    /// The ISR it wants.
    pub isr: Vec<BrokerId>,
}

/// Any timer, addressed to the node that set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A producer's.
    Producer(ProducerTimer),
    /// A consumer's.
    Consumer(ConsumerTimer),
    /// A broker's group coordinator's.
    Coordinator(CoordinatorTimer),
    /// A broker's.
    Broker(BrokerTimer),
    /// The controller's.
    Controller(ControllerTimer),
}
