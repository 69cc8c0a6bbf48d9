//! The group coordinator actor (classic protocol), as Kafka 4.x's `GroupMetadataManager`
//! runs it for classic groups: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
//! OffsetFetch, and the timers that end a join phase or expire a member.
//!
//! Citations are to apache/kafka `group-coordinator/.../GroupMetadataManager.java`
//! (GMM) and `classic/ClassicGroup.java` unless said otherwise.

use super::sort;
use super::vecmap::VecMap;

use super::actor::Ctx;
use super::assignor::{java_hashmap_order, rebalance_protocol, Protocol, Strategy};
use super::event::{Event, GroupEvent, GroupState, HeartbeatResult, RemovalReason};
use super::ids::{BrokerId, ConsumerRef, GroupId, MemberId, NodeId, Tp};
use super::log::LogRecord;
use super::msg::{CoordinatorTimer, JoinedMember, KafkaError, MemberMetadata, Msg, Timer};
use super::msg::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
};

mod classic;
use classic::{arm_expiry, respond_join_error, validate_member};
pub use classic::{CoordGroup, GroupMember};
mod offsets;

/// `group.initial.rebalance.delay.ms`, the broker default.
pub const GROUP_INITIAL_REBALANCE_DELAY_MS: u64 = 3_000;
/// How long a new member may wait in a join phase before it expires
/// (`CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS`).
pub const NEW_MEMBER_JOIN_TIMEOUT_MS: u64 = 300_000;
/// The most member ids one group remembers for Java's map order (older ones are forgotten).
const MAX_PUT_HISTORY: usize = 256;
/// `offsets.commit.timeout.ms`: how long a commit waits for the offsets partition's high
/// watermark before it fails (REQUEST_TIMED_OUT, answered as COORDINATOR_NOT_AVAILABLE).
pub const OFFSETS_COMMIT_TIMEOUT_MS: u64 = 5_000;
/// Bits of a `__consumer_offsets` record id that number a group's writes (the group's index
/// is above them).
const SEQ_BITS: u32 = 24;

/// One write of a group to `__consumer_offsets`, as the coordinator keeps it beside the
/// log (a record there names it by sequence number; the loader reads it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// An offset commit of one partition (an OffsetCommit record).
    Commit {
        /// The partition.
        tp: Tp,
        /// The committed offset.
        offset: u64,
        /// When.
        at_ms: u64,
        /// Who.
        by: MemberId,
        /// Its leader epoch, if known.
        leader_epoch: Option<u32>,
    },
    /// The group's metadata (a GroupMetadata record): snapshot number `snapshot`.
    Group {
        /// Its index among the group's snapshots.
        snapshot: u32,
    },
}

/// The group's metadata as a GroupMetadata record holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSnapshot {
    generation: i32,
    protocol: Option<Strategy>,
    leader: Option<String>,
    members: VecMap<String, GroupMember>,
}

/// An OffsetCommit waiting for its records to be committed in `__consumer_offsets`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingCommit {
    group: GroupId,
    client: ConsumerRef,
    request_id: u64,
    offsets: Vec<(Tp, u64)>,
    leader_epochs: Vec<Option<u32>>,
    auto: bool,
    /// The last record's id, and once appended, the offset the high watermark must reach.
    record_id: u32,
    required: Option<u64>,
    deadline_ms: u64,
}

/// A committed offset and who committed it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommittedOffset {
    /// The next offset to read.
    pub offset: u64,
    /// When.
    pub at_ms: u64,
    /// Who.
    pub by: MemberId,
    /// The leader epoch of the record before it, if the client knew it (KIP-320).
    pub leader_epoch: Option<u32>,
}

/// The group coordinator on one broker.
#[derive(Clone, Debug)]
pub struct Coordinator {
    /// The broker it runs on.
    pub(crate) broker: BrokerId,
    groups: Vec<Option<CoordGroup>>,
    /// Records for its broker to append to `__consumer_offsets`: `(partition, record)`.
    outbox: Vec<(u32, LogRecord)>,
    /// Commits waiting for the high watermark.
    pending: Vec<PendingCommit>,
    /// When the one commit-timeout timer fires, if armed.
    timeout_at: Option<u64>,
}

impl Coordinator {
    /// A coordinator with no groups.
    pub fn new(broker: BrokerId) -> Self {
        Coordinator {
            broker,
            groups: Vec::new(),
            outbox: Vec::new(),
            pending: Vec::new(),
            timeout_at: None,
        }
    }

    /// The records it wrote since its broker last asked, for the broker's log.
    pub fn take_writes(&mut self) -> Vec<(u32, LogRecord)> {
        std::mem::take(&mut self.outbox)
    }

    fn write(&mut self, ctx: &Ctx, group: GroupId, record: LogRecord) {
        let k = ctx.cluster.group_partition(group);
        self.outbox.push((k, record));
    }

    /// Its broker appended record `record_id` to partition `k` at `offset`, or could not
    /// (it does not lead the partition: NOT_COORDINATOR).
    pub fn appended(&mut self, ctx: &mut Ctx, record_id: u32, result: Result<u64, KafkaError>) {
        let Some(i) = self.pending.iter().position(|p| p.record_id == record_id) else {
            return;
        };
        match result {
            Ok(offset) => self.pending[i].required = Some(offset + 1),
            Err(error) => {
                let p = self.pending.remove(i);
                self.answer_commit(ctx, p, error);
            }
        }
    }

    /// Partition `k`'s high watermark reached `hw`: the commits below it are committed
    /// (`CoordinatorRuntime` completes deferred events up to the high watermark).
    pub fn on_high_watermark(&mut self, ctx: &mut Ctx, k: u32, hw: u64) {
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i];
            if ctx.cluster.group_partition(p.group) == k && p.required.is_some_and(|r| r <= hw) {
                let p = self.pending.remove(i);
                self.apply_commit(ctx, p);
            } else {
                i += 1;
            }
        }
    }

    /// It no longer leads partition `k` (`onResignation`): waiting commits fail with
    /// NOT_COORDINATOR.
    pub fn resigned(&mut self, ctx: &mut Ctx, k: u32) {
        let mut i = 0;
        while i < self.pending.len() {
            if ctx.cluster.group_partition(self.pending[i].group) == k {
                let p = self.pending.remove(i);
                self.answer_commit(ctx, p, KafkaError::NotCoordinator);
            } else {
                i += 1;
            }
        }
        // Members waiting in a join or sync phase hear NOT_COORDINATOR and look again.
        let node = self.node();
        for g in self.groups.iter_mut().flatten() {
            if ctx.cluster.group_partition(g.id) != k {
                continue;
            }
            let group = g.id;
            for m in g.members.values_mut() {
                if std::mem::take(&mut m.awaiting_join) {
                    respond_join_error(
                        ctx,
                        node,
                        m.client,
                        group,
                        KafkaError::NotCoordinator,
                        &m.member_id,
                    );
                }
                if std::mem::take(&mut m.awaiting_sync) {
                    ctx.out.send(
                        node,
                        NodeId::Consumer(m.client),
                        Msg::SyncGroupResponse(SyncGroupResponse {
                            group,
                            error: KafkaError::NotCoordinator,
                            assignment: Vec::new(),
                        }),
                    );
                }
            }
        }
    }

    /// Its broker's process died: what waited in memory is gone (the groups' journals stay
    /// with the logs they describe).
    pub fn kill(&mut self) {
        self.outbox.clear();
        self.pending.clear();
        self.timeout_at = None;
    }

    fn node(&self) -> NodeId {
        NodeId::Broker(self.broker)
    }

    /// Starts coordinating a group (Kafka creates it on its first request; the lab creates
    /// it with the group so it can be described before anyone joins).
    pub fn add_group(&mut self, id: GroupId, name: &str) {
        if self.groups.len() <= id.index() {
            self.groups.resize_with(id.index() + 1, || None);
        }
        self.groups[id.index()] = Some(CoordGroup::new(id, name));
    }

    /// Gives up a group (its `__consumer_offsets` partition moved away).
    pub fn take_group(&mut self, id: GroupId) -> Option<CoordGroup> {
        self.groups.get_mut(id.index())?.take()
    }

    /// Takes over a group as `CoordinatorLoaderImpl` loads it from this broker's replica of
    /// `__consumer_offsets` (`log`): the committed offsets and the last group metadata that
    /// its log holds, in log order. A group with members is Stable in that generation,
    /// otherwise Empty; a rebalance under way is not in the log and starts again when the
    /// members rejoin. Every member's session starts again now.
    pub fn load_group(&mut self, ctx: &mut Ctx, mut g: CoordGroup, log: &super::log::PartitionLog) {
        let broker = self.broker;
        let id = g.id;
        let (committed, snapshot) = replay(&g, ctx, log);
        g.committed = committed;
        let snap = snapshot.and_then(|s| g.snapshots.get(s).cloned());
        g.generation = snap.as_ref().map_or(0, |s| s.generation);
        g.protocol = snap.as_ref().and_then(|s| s.protocol);
        g.leader = snap.as_ref().and_then(|s| s.leader.clone());
        g.members = snap.map(|s| s.members).unwrap_or_default();
        g.pending.clear();
        g.rebalance_token += 1;
        g.new_member_added = false;
        g.rebalancing_since_ms = None;
        g.stop_since_ms = None;
        g.put_history = g.members.keys().cloned().collect();
        g.previous_state = g.state;
        g.state = if g.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        for m in g.members.values_mut() {
            m.awaiting_join = false;
            m.awaiting_sync = false;
            m.is_new = false;
            m.heartbeat_deadline_ms = ctx.now_ms + m.session_timeout_ms;
            m.expiry_timer_at = None;
            arm_expiry(ctx, broker, id, m);
        }
        group_event(
            ctx,
            id,
            GroupEvent::StateChanged {
                to: g.state,
                generation: g.generation,
            },
        );
        if self.groups.len() <= id.index() {
            self.groups.resize_with(id.index() + 1, || None);
        }
        self.groups[id.index()] = Some(g);
    }

    /// A group it coordinates.
    pub fn group(&self, id: GroupId) -> Option<&CoordGroup> {
        self.groups.get(id.index())?.as_ref()
    }

    fn group_mut(&mut self, id: GroupId) -> Option<&mut CoordGroup> {
        self.groups.get_mut(id.index())?.as_mut()
    }

    /// Drops a deleted topic's committed offsets.
    pub fn forget_topic(&mut self, topic: super::ids::TopicId) {
        for g in self.groups.iter_mut().flatten() {
            g.committed.retain(|tp, _| tp.topic != topic);
        }
    }

    // ---- messages ---------------------------------------------------------------------

    /// Handles a group request.
    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        let Some(client) = from.consumer() else {
            return;
        };
        if let Some(group) = msg.group() {
            let mine = ctx.cluster.coordinator(group) == Some(self.broker);
            if !mine && !matches!(msg, Msg::FindCoordinator { .. }) {
                self.not_coordinator(ctx, from, msg);
                return;
            }
        }
        match msg {
            Msg::FindCoordinator { group } => {
                let coordinator = ctx.cluster.coordinator(group);
                ctx.out.send(
                    self.node(),
                    from,
                    Msg::FindCoordinatorResponse { group, coordinator },
                );
            }
            Msg::JoinGroup(req) => self.on_join(ctx, client, req),
            Msg::SyncGroup(req) => self.on_sync(ctx, client, req),
            Msg::Heartbeat(req) => self.on_heartbeat(ctx, client, req),
            Msg::LeaveGroup(req) => self.on_leave(ctx, client, req),
            Msg::OffsetCommit(req) => self.on_commit(ctx, client, req),
            Msg::OffsetFetch(req) => self.on_offset_fetch(ctx, client, req),
            _ => {}
        }
    }

    /// NOT_COORDINATOR for a request about a group this broker does not coordinate (a
    /// client with a stale coordinator): it looks the coordinator up again.
    fn not_coordinator(&self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        let error = KafkaError::NotCoordinator;
        let reply = match msg {
            Msg::JoinGroup(JoinGroupRequest {
                group, member_id, ..
            }) => Msg::JoinGroupResponse(JoinGroupResponse {
                group,
                error,
                generation: -1,
                protocol: None,
                leader: String::new(),
                member_id,
                members: Vec::new(),
                skip_assignment: false,
            }),
            Msg::SyncGroup(SyncGroupRequest { group, .. }) => {
                Msg::SyncGroupResponse(SyncGroupResponse {
                    group,
                    error,
                    assignment: Vec::new(),
                })
            }
            Msg::Heartbeat(HeartbeatRequest { group, .. }) => {
                Msg::HeartbeatResponse(HeartbeatResponse { group, error })
            }
            Msg::OffsetCommit(OffsetCommitRequest {
                group, request_id, ..
            }) => Msg::OffsetCommitResponse(OffsetCommitResponse {
                group,
                request_id,
                error,
            }),
            _ => return,
        };
        ctx.out.send(self.node(), from, reply);
    }

    // ---- timers -----------------------------------------------------------------------

    /// Handles a timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: CoordinatorTimer) {
        match timer {
            CoordinatorTimer::InitialDelay {
                group,
                token,
                delay_ms,
                remaining_ms,
            } => self.initial_delay_ends(ctx, group, token, delay_ms, remaining_ms),
            CoordinatorTimer::RebalanceTimeout { group, token } => {
                let live = self
                    .group(group)
                    .is_some_and(|g| g.rebalance_token == token);
                if live {
                    self.complete_join(ctx, group);
                }
            }
            CoordinatorTimer::CommitTimeout => self.commit_timeouts(ctx),
            CoordinatorTimer::PendingMemberExpiry { group, member_id } => {
                // GMM `removePendingMemberAndUpdateClassicGroup`: the join phase may now
                // complete without it.
                if self
                    .group_mut(group)
                    .is_some_and(|g| g.pending.remove(&member_id).is_some())
                {
                    self.maybe_complete_join(ctx, group);
                }
            }
            CoordinatorTimer::MemberExpiry {
                group,
                member_id,
                at_ms,
            } => {
                let broker = self.broker;
                let now = ctx.now_ms;
                let Some(m) = self
                    .group_mut(group)
                    .and_then(|g| g.members.get_mut(&member_id))
                else {
                    return;
                };
                if m.expiry_timer_at != Some(at_ms) {
                    return; // superseded by an earlier timer
                }
                m.expiry_timer_at = None;
                if m.heartbeat_deadline_ms > now {
                    arm_expiry(ctx, broker, group, m);
                    return;
                }
                if !m.has_satisfied_heartbeat() {
                    self.remove_member(ctx, group, &member_id, RemovalReason::SessionTimeout, true);
                }
            }
        }
    }
}

fn group_event(ctx: &mut Ctx, group: GroupId, event: GroupEvent) {
    ctx.out.event(Event::Group {
        at_ms: ctx.now_ms,
        group,
        event,
    });
}

/// The broker a node is (the coordinator's own node).
fn node_broker(node: NodeId) -> BrokerId {
    match node {
        NodeId::Broker(b) => b,
        _ => BrokerId(0),
    }
}

/// The group's records in a replica's `__consumer_offsets` log, read back in order (the
/// shard's replay on load): the committed offsets of partitions that still exist, and the
/// last group metadata snapshot.
fn replay(
    g: &CoordGroup,
    ctx: &Ctx,
    log: &super::log::PartitionLog,
) -> (VecMap<Tp, CommittedOffset>, Option<usize>) {
    let mut committed = VecMap::new();
    let mut snapshot = None;
    for (_, r) in log.range(log.log_start_offset(), log.log_end_offset()) {
        if r.record_id >> SEQ_BITS != u32::from(g.id.0) {
            continue;
        }
        let write = g
            .journal
            .get((r.record_id & ((1 << SEQ_BITS) - 1)) as usize);
        match write {
            Some(&Write::Commit {
                tp,
                offset,
                at_ms,
                by,
                leader_epoch,
            }) if ctx.cluster.has(tp) => {
                let c = CommittedOffset {
                    offset,
                    at_ms,
                    by,
                    leader_epoch,
                };
                committed.insert(tp, c);
            }
            Some(&Write::Group { snapshot: s }) => snapshot = Some(s as usize),
            _ => {}
        }
    }
    (committed, snapshot)
}

#[cfg(test)]
mod tests;
