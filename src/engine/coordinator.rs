//! The group coordinator actor (classic protocol), as Kafka 4.x's `GroupMetadataManager`
//! runs it for classic groups: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
//! OffsetFetch, and the timers that end a join phase or expire a member.
//!
//! Citations are to apache/kafka `group-coordinator/.../GroupMetadataManager.java`
//! (GMM) and `classic/ClassicGroup.java` unless said otherwise.

use super::sort;
use std::collections::{BTreeMap, BTreeSet};

use super::actor::Ctx;
use super::assignor::{java_hashmap_order, rebalance_protocol, Protocol, Strategy};
use super::event::{Event, GroupEvent, GroupState, HeartbeatResult, RemovalReason};
use super::ids::{BrokerId, ConsumerRef, GroupId, MemberId, NodeId, Tp};
use super::log::LogRecord;
use super::msg::{CoordinatorTimer, JoinedMember, KafkaError, MemberMetadata, Msg, Timer};

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
    members: BTreeMap<String, GroupMember>,
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

/// The coordinator's record of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// Kafka's member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// The client behind it.
    pub client: ConsumerRef,
    /// `session.timeout.ms` from its last JoinGroup.
    pub session_timeout_ms: u64,
    /// Its rebalance timeout (`max.poll.interval.ms`).
    pub rebalance_timeout_ms: u64,
    /// Its assignors, in preference order.
    pub protocols: Vec<Strategy>,
    /// Its subscription.
    pub metadata: MemberMetadata,
    /// It sent JoinGroup in this join phase and waits for the answer.
    pub awaiting_join: bool,
    /// It sent SyncGroup and waits for the leader's assignment.
    pub awaiting_sync: bool,
    /// It joined and has not yet completed a join phase.
    pub is_new: bool,
    /// Its heartbeat deadline.
    pub heartbeat_deadline_ms: u64,
    /// Its partitions in the current generation.
    pub assignment: Vec<Tp>,
    /// When its one expiry timer fires, if armed.
    expiry_timer_at: Option<u64>,
}

impl GroupMember {
    /// `ClassicGroupMember.hasSatisfiedHeartbeat`: a member waiting for a join or sync
    /// answer needs no heartbeat, unless it is new.
    fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join || self.awaiting_sync)
    }
}

/// One classic group, as its coordinator holds it.
#[derive(Clone, Debug)]
pub struct CoordGroup {
    /// The group.
    pub id: GroupId,
    /// `group.id`.
    pub name: String,
    /// State.
    pub state: GroupState,
    previous_state: GroupState,
    /// Generation id.
    pub generation: i32,
    /// The assignor of the current generation.
    pub protocol: Option<Strategy>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Members by member id.
    pub members: BTreeMap<String, GroupMember>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet rejoined (KIP-394).
    pending: BTreeSet<String>,
    /// Member ids in the order they were put into Kafka's `HashMap` (for its iteration order).
    put_history: Vec<String>,
    /// Committed offsets.
    pub committed: BTreeMap<Tp, CommittedOffset>,
    rebalance_token: u64,
    new_member_added: bool,
    rebalance_started_ms: Option<u64>,
    /// Completed rebalances (join phases that produced a generation with members).
    pub rebalances: u32,
    /// Total time eager rebalances stopped the group (PreparingRebalance to Stable). A
    /// group's first join stops nothing: no member owned a partition yet.
    pub stop_the_world_ms: u64,
    /// When the current rebalance started, if one runs.
    pub rebalancing_since_ms: Option<u64>,
    /// When the current rebalance started, if the group owned partitions then.
    stop_since_ms: Option<u64>,
    /// Every write to `__consumer_offsets`, by sequence number (in shared chunks: a
    /// time-travel checkpoint copies pointers).
    journal: super::chunked::ChunkVec<Write>,
    /// The group metadata snapshots the journal names.
    snapshots: Vec<GroupSnapshot>,
}

impl CoordGroup {
    fn new(id: GroupId, name: &str) -> Self {
        CoordGroup {
            id,
            name: name.to_owned(),
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeSet::new(),
            put_history: Vec::new(),
            committed: BTreeMap::new(),
            rebalance_token: 0,
            new_member_added: false,
            rebalance_started_ms: None,
            rebalances: 0,
            stop_the_world_ms: 0,
            rebalancing_since_ms: None,
            stop_since_ms: None,
            journal: super::chunked::ChunkVec::default(),
            snapshots: Vec::new(),
        }
    }

    /// Journals a write and returns the record that carries it.
    fn journal(&mut self, now_ms: u64, write: Write) -> LogRecord {
        let seq = self.journal.len() as u32;
        self.journal.push(write);
        LogRecord {
            timestamp_ms: now_ms,
            record_id: (u32::from(self.id.0) << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1)),
            key: None,
            size_bytes: 120,
            poison: false,
            producer: super::log::NO_PRODUCER,
        }
    }

    /// Journals the group's metadata (GroupMetadata record).
    fn snapshot(&mut self, now_ms: u64) -> LogRecord {
        self.snapshots.push(GroupSnapshot {
            generation: self.generation,
            protocol: self.protocol,
            leader: self.leader.clone(),
            members: self.members.clone(),
        });
        let snapshot = self.snapshots.len() as u32 - 1;
        self.journal(now_ms, Write::Group { snapshot })
    }

    /// The member id of a static member's instance id.
    pub fn member_by_instance(&self, instance: &str) -> Option<String> {
        self.members
            .values()
            .find(|m| m.group_instance_id.as_deref() == Some(instance))
            .map(|m| m.member_id.clone())
    }

    /// The member behind a client.
    pub fn member_of(&self, client: ConsumerRef) -> Option<&GroupMember> {
        self.members.values().find(|m| m.client == client)
    }

    /// Members in Java `HashMap` iteration order (how Kafka walks them).
    fn java_order(&self) -> Vec<String> {
        let live: Vec<&str> = self
            .put_history
            .iter()
            .map(String::as_str)
            .filter(|id| self.members.contains_key(*id))
            .collect();
        let history: Vec<&str> = self.put_history.iter().map(String::as_str).collect();
        let order = java_hashmap_order(&history);
        let mut out: Vec<String> = order
            .into_iter()
            .map(|i| history[i].to_owned())
            .filter(|id| live.contains(&id.as_str()))
            .collect();
        out.dedup();
        // Members older than the remembered history go last, in id order.
        for id in self.members.keys() {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    }

    fn put(&mut self, member_id: &str) {
        if self.put_history.len() >= MAX_PUT_HISTORY {
            let live: Vec<String> = self
                .put_history
                .iter()
                .filter(|id| self.members.contains_key(*id))
                .cloned()
                .collect();
            self.put_history = live;
        }
        if !self.put_history.iter().any(|id| id == member_id) {
            self.put_history.push(member_id.to_owned());
        }
    }

    fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// `ClassicGroup.hasAllMembersJoined`.
    fn all_members_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join)
    }

    /// Eager unless every member's assignors all support cooperative rebalancing.
    pub fn cooperative(&self) -> bool {
        !self.members.is_empty()
            && self
                .members
                .values()
                .all(|m| rebalance_protocol(&m.protocols) == Protocol::Cooperative)
    }

    /// `ClassicGroup.selectProtocol`: among the assignors every member supports, the one
    /// most members prefer (ties: the earliest in the leader's list).
    fn select_protocol(&self) -> Option<Strategy> {
        let first = self.members.values().next()?;
        let candidates: Vec<Strategy> = first
            .protocols
            .iter()
            .copied()
            .filter(|s| self.members.values().all(|m| m.protocols.contains(s)))
            .collect();
        let mut votes: Vec<(Strategy, usize)> = candidates.iter().map(|&s| (s, 0)).collect();
        for m in self.members.values() {
            if let Some(pick) = m.protocols.iter().find(|s| candidates.contains(s)) {
                if let Some(v) = votes.iter_mut().find(|(s, _)| s == pick) {
                    v.1 += 1;
                }
            }
        }
        let leader_order = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .map_or(first.protocols.clone(), |m| m.protocols.clone());
        sort::sort_by_key(&mut votes, |(s, n)| {
            (
                std::cmp::Reverse(*n),
                leader_order
                    .iter()
                    .position(|x| x == s)
                    .unwrap_or(usize::MAX),
            )
        });
        votes.first().map(|(s, _)| *s)
    }
}

/// The group coordinator on one broker.
#[derive(Clone, Debug)]
pub struct Coordinator {
    /// The broker it runs on.
    pub broker: BrokerId,
    groups: Vec<Option<CoordGroup>>,
    /// Records for its broker to append to `__consumer_offsets`: `(partition, record)`.
    outbox: Vec<(u32, LogRecord)>,
    /// Commits waiting for the high watermark.
    pending: Vec<PendingCommit>,
    /// When the one commit-timeout timer fires, if armed.
    timeout_at: Option<u64>,
}

/// What a JoinGroup carries besides its ids.
struct JoinRequest {
    member_id: String,
    group_instance_id: Option<String>,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    protocols: Vec<Strategy>,
    metadata: MemberMetadata,
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
                        Msg::SyncGroupResponse {
                            group,
                            error: KafkaError::NotCoordinator,
                            assignment: Vec::new(),
                        },
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

    fn apply_commit(&mut self, ctx: &mut Ctx, p: PendingCommit) {
        if let Some(g) = self.group_mut(p.group) {
            for (&(tp, offset), &leader_epoch) in p.offsets.iter().zip(&p.leader_epochs) {
                g.committed.insert(
                    tp,
                    CommittedOffset {
                        offset,
                        at_ms: ctx.now_ms,
                        by: p.client.member,
                        leader_epoch,
                    },
                );
            }
        }
        group_event(
            ctx,
            p.group,
            GroupEvent::Committed {
                member: p.client.member,
                offsets: p.offsets.clone(),
                auto: p.auto,
            },
        );
        self.answer_commit(ctx, p, KafkaError::None);
    }

    fn answer_commit(&self, ctx: &mut Ctx, p: PendingCommit, error: KafkaError) {
        ctx.out.send(
            self.node(),
            NodeId::Consumer(p.client),
            Msg::OffsetCommitResponse {
                group: p.group,
                request_id: p.request_id,
                error,
            },
        );
    }

    fn arm_commit_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.timeout_at.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.timeout_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Coordinator(CoordinatorTimer::CommitTimeout),
        );
    }

    /// `offsets.commit.timeout.ms` passed: the write timed out (REQUEST_TIMED_OUT, which
    /// the coordinator answers as COORDINATOR_NOT_AVAILABLE). The record stays in the log
    /// and may still be committed later.
    fn commit_timeouts(&mut self, ctx: &mut Ctx) {
        if self.timeout_at.is_some_and(|at| at <= ctx.now_ms) {
            self.timeout_at = None;
        }
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].deadline_ms <= ctx.now_ms {
                let p = self.pending.remove(i);
                self.answer_commit(ctx, p, KafkaError::CoordinatorNotAvailable);
            } else {
                i += 1;
            }
        }
        if let Some(next) = self.pending.iter().map(|p| p.deadline_ms).min() {
            self.arm_commit_timer(ctx, next);
        }
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
        let mut committed = BTreeMap::new();
        let mut snapshot = None;
        for (_, r) in log.range(log.log_start_offset(), log.log_end_offset()) {
            if r.record_id >> SEQ_BITS != u32::from(id.0) {
                continue;
            }
            match g
                .journal
                .get((r.record_id & ((1 << SEQ_BITS) - 1)) as usize)
            {
                Some(&Write::Commit {
                    tp,
                    offset,
                    at_ms,
                    by,
                    leader_epoch,
                }) if ctx.cluster.has(tp) => {
                    committed.insert(
                        tp,
                        CommittedOffset {
                            offset,
                            at_ms,
                            by,
                            leader_epoch,
                        },
                    );
                }
                Some(&Write::Group { snapshot: s }) => snapshot = Some(s as usize),
                _ => {}
            }
        }
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
            Msg::JoinGroup {
                group,
                member_id,
                group_instance_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
                metadata,
            } => self.on_join(
                ctx,
                group,
                client,
                JoinRequest {
                    member_id,
                    group_instance_id,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    protocols,
                    metadata,
                },
            ),
            Msg::SyncGroup {
                group,
                generation,
                member_id,
                group_instance_id,
                assignments,
            } => self.on_sync(
                ctx,
                group,
                client,
                generation,
                &member_id,
                group_instance_id.as_deref(),
                assignments,
            ),
            Msg::Heartbeat {
                group,
                generation,
                member_id,
                group_instance_id,
            } => {
                let error = self.on_heartbeat(
                    ctx,
                    group,
                    generation,
                    &member_id,
                    group_instance_id.as_deref(),
                );
                let result = match error {
                    KafkaError::None => HeartbeatResult::Ok,
                    KafkaError::RebalanceInProgress => HeartbeatResult::RebalanceInProgress,
                    KafkaError::IllegalGeneration => HeartbeatResult::IllegalGeneration,
                    KafkaError::FencedInstanceId => HeartbeatResult::FencedInstanceId,
                    _ => HeartbeatResult::UnknownMemberId,
                };
                group_event(
                    ctx,
                    group,
                    GroupEvent::Heartbeat {
                        member: client.member,
                        result,
                    },
                );
                ctx.out
                    .send(self.node(), from, Msg::HeartbeatResponse { group, error });
            }
            Msg::LeaveGroup {
                group,
                member_id,
                group_instance_id,
                ..
            } => self.on_leave(ctx, group, &member_id, group_instance_id.as_deref()),
            Msg::OffsetCommit {
                group,
                request_id,
                generation,
                member_id,
                group_instance_id,
                offsets,
                leader_epochs,
                auto,
            } => {
                let error = self.on_commit(
                    ctx,
                    group,
                    client,
                    request_id,
                    generation,
                    &member_id,
                    group_instance_id.as_deref(),
                    (offsets, leader_epochs),
                    auto,
                );
                // A valid commit is answered once its records are committed.
                if error != KafkaError::None {
                    ctx.out.send(
                        self.node(),
                        from,
                        Msg::OffsetCommitResponse {
                            group,
                            request_id,
                            error,
                        },
                    );
                }
            }
            Msg::OffsetFetch {
                group,
                request_id,
                partitions,
            } => {
                let offsets = partitions
                    .into_iter()
                    .map(|tp| {
                        let o = self
                            .group(group)
                            .and_then(|g| g.committed.get(&tp))
                            .map(|c| (c.offset, c.leader_epoch));
                        (tp, o)
                    })
                    .collect();
                ctx.out.send(
                    self.node(),
                    from,
                    Msg::OffsetFetchResponse {
                        group,
                        request_id,
                        offsets,
                    },
                );
            }
            _ => {}
        }
    }

    /// NOT_COORDINATOR for a request about a group this broker does not coordinate (a
    /// client with a stale coordinator): it looks the coordinator up again.
    fn not_coordinator(&self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        let error = KafkaError::NotCoordinator;
        let reply = match msg {
            Msg::JoinGroup {
                group, member_id, ..
            } => Msg::JoinGroupResponse {
                group,
                error,
                generation: -1,
                protocol: None,
                leader: String::new(),
                member_id,
                members: Vec::new(),
                skip_assignment: false,
            },
            Msg::SyncGroup { group, .. } => Msg::SyncGroupResponse {
                group,
                error,
                assignment: Vec::new(),
            },
            Msg::Heartbeat { group, .. } => Msg::HeartbeatResponse { group, error },
            Msg::OffsetCommit {
                group, request_id, ..
            } => Msg::OffsetCommitResponse {
                group,
                request_id,
                error,
            },
            _ => return,
        };
        ctx.out.send(self.node(), from, reply);
    }

    /// GMM `classicGroupJoin`.
    fn on_join(&mut self, ctx: &mut Ctx, group: GroupId, client: ConsumerRef, req: JoinRequest) {
        let node = self.node();
        let Some(g) = self.group_mut(group) else {
            return;
        };
        if g.state == GroupState::Dead {
            respond_join_error(
                ctx,
                node,
                client,
                group,
                KafkaError::CoordinatorNotAvailable,
                &req.member_id,
            );
            return;
        }
        if req.member_id.is_empty() {
            if let Some(instance) = req.group_instance_id.clone() {
                let new_id = new_member_id(ctx, client);
                match g.member_by_instance(&instance) {
                    Some(old_id) => {
                        self.replace_static_member(ctx, group, client, old_id, new_id, req)
                    }
                    None => self.add_member_and_rebalance(ctx, group, client, new_id, req),
                }
            } else {
                // KIP-394: a new dynamic member gets its id first and must join again with it.
                let new_id = new_member_id(ctx, client);
                g.pending.insert(new_id.clone());
                // GMM `classicGroupJoinNewDynamicMember`: a pending member that never
                // rejoins expires after its session timeout.
                ctx.out.timer(
                    ctx.now_ms.saturating_add(req.session_timeout_ms),
                    node,
                    Timer::Coordinator(CoordinatorTimer::PendingMemberExpiry {
                        group,
                        member_id: new_id.clone(),
                    }),
                );
                respond_join_error(
                    ctx,
                    node,
                    client,
                    group,
                    KafkaError::MemberIdRequired,
                    &new_id,
                );
            }
            return;
        }
        let member_id = req.member_id.clone();
        if g.pending.remove(&member_id) {
            self.add_member_and_rebalance(ctx, group, client, member_id, req);
            return;
        }
        if let Err(error) = validate_member(g, &member_id, req.group_instance_id.as_deref()) {
            respond_join_error(ctx, node, client, group, error, &member_id);
            return;
        }
        // An existing member rejoins (GMM `updateMemberThenRebalanceOrCompleteJoin`).
        let m = g.members.get_mut(&member_id).expect("validated above");
        let changed = m.protocols != req.protocols || m.metadata != req.metadata;
        m.protocols = req.protocols;
        m.metadata = req.metadata;
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.awaiting_join = true;
        m.client = client;
        group_event(
            ctx,
            group,
            GroupEvent::JoinGroup {
                member: client.member,
                member_id: member_id.clone(),
            },
        );
        let is_leader = g.leader.as_deref() == Some(member_id.as_str());
        match g.state {
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group),
            GroupState::CompletingRebalance | GroupState::Stable
                if changed || (is_leader && g.state == GroupState::Stable) =>
            {
                self.prepare_rebalance(ctx, group)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                // Same metadata: answer with the current generation, no rebalance.
                let g = self.group_mut(group).expect("exists");
                g.members.get_mut(&member_id).expect("exists").awaiting_join = false;
                respond_join(ctx, node, g, &member_id, false);
            }
            GroupState::Empty | GroupState::Dead => self.prepare_rebalance(ctx, group),
        }
    }

    /// GMM `addMemberThenRebalanceOrCompleteJoin`.
    fn add_member_and_rebalance(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        member_id: String,
        req: JoinRequest,
    ) {
        let broker = self.broker;
        let g = self.group_mut(group).expect("checked by the caller");
        // Checked before the member is added: the first member of an empty group does not
        // count as a newcomer of its own initial delay.
        if g.state == GroupState::PreparingRebalance && g.previous_state == GroupState::Empty {
            g.new_member_added = true;
        }
        let deadline = ctx.now_ms + NEW_MEMBER_JOIN_TIMEOUT_MS;
        g.members.insert(
            member_id.clone(),
            GroupMember {
                member_id: member_id.clone(),
                group_instance_id: req.group_instance_id,
                client,
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocols: req.protocols,
                metadata: req.metadata,
                awaiting_join: true,
                awaiting_sync: false,
                is_new: true,
                heartbeat_deadline_ms: deadline,
                assignment: Vec::new(),
                expiry_timer_at: None,
            },
        );
        g.put(&member_id);
        if g.leader.is_none() {
            g.leader = Some(member_id.clone());
        }
        arm_expiry(
            ctx,
            broker,
            group,
            g.members.get_mut(&member_id).expect("inserted"),
        );
        group_event(
            ctx,
            group,
            GroupEvent::JoinGroup {
                member: client.member,
                member_id,
            },
        );
        let g = self.group(group).expect("exists");
        match g.state {
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group),
            _ => self.prepare_rebalance(ctx, group),
        }
    }

    /// GMM `updateStaticMemberThenRebalanceOrCompleteJoin`: a known `group.instance.id`
    /// returns with a new client; the old member id is fenced.
    fn replace_static_member(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        old_id: String,
        new_id: String,
        req: JoinRequest,
    ) {
        let node = self.node();
        let g = self.group_mut(group).expect("checked by the caller");
        let mut m = g.members.remove(&old_id).expect("found by instance id");
        let old_client = m.client;
        m.member_id = new_id.clone();
        m.client = client;
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        let protocol_changed = m.protocols != req.protocols;
        m.protocols = req.protocols;
        m.metadata = req.metadata;
        m.awaiting_join = true;
        let deadline = ctx.now_ms + m.session_timeout_ms;
        m.heartbeat_deadline_ms = deadline;
        g.members.insert(new_id.clone(), m);
        g.put(&new_id);
        if g.leader.as_deref() == Some(old_id.as_str()) {
            g.leader = Some(new_id.clone());
        }
        arm_expiry(
            ctx,
            node_broker(node),
            group,
            g.members.get_mut(&new_id).expect("inserted"),
        );
        if old_client != client {
            group_event(
                ctx,
                group,
                GroupEvent::MemberRemoved {
                    member: old_client.member,
                    reason: RemovalReason::Replaced,
                },
            );
        }
        group_event(
            ctx,
            group,
            GroupEvent::JoinGroup {
                member: client.member,
                member_id: new_id.clone(),
            },
        );
        let g = self.group_mut(group).expect("exists");
        match g.state {
            GroupState::Stable if !protocol_changed => {
                // No rebalance: answer with the current generation; a leader skips the
                // assignment and keeps the one it had (KIP-814).
                g.members.get_mut(&new_id).expect("inserted").awaiting_join = false;
                let is_leader = g.leader.as_deref() == Some(new_id.as_str());
                respond_join(ctx, node, g, &new_id, is_leader);
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group),
            _ => self.prepare_rebalance(ctx, group),
        }
    }

    /// GMM `prepareRebalance`.
    fn prepare_rebalance(&mut self, ctx: &mut Ctx, group: GroupId) {
        let broker = self.broker;
        let node = self.node();
        let g = self.group_mut(group).expect("exists");
        if g.state == GroupState::PreparingRebalance {
            return;
        }
        if g.state == GroupState::CompletingRebalance {
            // Followers waiting for the leader's assignment must rejoin.
            let waiting: Vec<String> = g
                .members
                .values()
                .filter(|m| m.awaiting_sync)
                .map(|m| m.member_id.clone())
                .collect();
            for id in waiting {
                let m = g.members.get_mut(&id).expect("listed");
                m.awaiting_sync = false;
                ctx.out.send(
                    node,
                    NodeId::Consumer(m.client),
                    Msg::SyncGroupResponse {
                        group,
                        error: KafkaError::RebalanceInProgress,
                        assignment: Vec::new(),
                    },
                );
            }
        }
        let was_empty = g.state == GroupState::Empty;
        g.rebalance_token += 1;
        g.new_member_added = false;
        if g.rebalancing_since_ms.is_none() {
            g.rebalancing_since_ms = Some(ctx.now_ms);
            if !was_empty {
                g.stop_since_ms = Some(ctx.now_ms);
            }
        }
        g.rebalance_started_ms = Some(ctx.now_ms);
        let token = g.rebalance_token;
        let timeout = g.rebalance_timeout_ms();
        set_state(ctx, g, GroupState::PreparingRebalance);
        let timer = if was_empty {
            let delay = GROUP_INITIAL_REBALANCE_DELAY_MS;
            (
                ctx.now_ms + delay,
                CoordinatorTimer::InitialDelay {
                    group,
                    token,
                    delay_ms: delay,
                    remaining_ms: timeout.saturating_sub(delay),
                },
            )
        } else {
            (
                ctx.now_ms.saturating_add(timeout),
                CoordinatorTimer::RebalanceTimeout { group, token },
            )
        };
        ctx.out
            .timer(timer.0, NodeId::Broker(broker), Timer::Coordinator(timer.1));
        if !was_empty {
            self.maybe_complete_join(ctx, group);
        }
    }

    /// GMM `maybeCompleteJoinPhase`: not during an empty group's initial delay.
    fn maybe_complete_join(&mut self, ctx: &mut Ctx, group: GroupId) {
        let g = self.group(group).expect("exists");
        if g.state == GroupState::PreparingRebalance
            && g.all_members_joined()
            && g.previous_state != GroupState::Empty
        {
            self.complete_join(ctx, group);
        }
    }

    /// GMM `completeClassicGroupJoin`.
    fn complete_join(&mut self, ctx: &mut Ctx, group: GroupId) {
        let node = self.node();
        let broker = self.broker;
        let g = self.group_mut(group).expect("exists");
        if g.state != GroupState::PreparingRebalance {
            return;
        }
        // Dynamic members that did not rejoin are removed; static ones stay.
        let late: Vec<String> = g
            .members
            .values()
            .filter(|m| !m.awaiting_join && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        g.pending.clear();
        for id in late {
            self.remove_member(ctx, group, &id, RemovalReason::RebalanceTimeout, false);
        }
        let g = self.group_mut(group).expect("exists");
        if !g.members.is_empty() && !elect_joined_leader(g) {
            // Only static members that have not rejoined: wait another rebalance timeout.
            g.rebalance_token += 1;
            let token = g.rebalance_token;
            let at = ctx.now_ms.saturating_add(g.rebalance_timeout_ms());
            ctx.out.timer(
                at,
                NodeId::Broker(broker),
                Timer::Coordinator(CoordinatorTimer::RebalanceTimeout { group, token }),
            );
            return;
        }
        // ClassicGroup.initNextGeneration.
        g.generation += 1;
        g.rebalance_token += 1;
        if g.members.is_empty() {
            g.protocol = None;
            g.leader = None;
            g.rebalancing_since_ms = None;
            g.stop_since_ms = None;
            set_state(ctx, g, GroupState::Empty);
            // An empty group is stored as such.
            let record = g.snapshot(ctx.now_ms);
            self.write(ctx, group, record);
            return;
        }
        g.protocol = g.select_protocol();
        set_state(ctx, g, GroupState::CompletingRebalance);
        let leader_id = g.leader.clone().expect("elected above");
        let order = g.java_order();
        let members: Vec<MemberId> = g.members.values().map(|m| m.client.member).collect();
        group_event(
            ctx,
            group,
            GroupEvent::JoinComplete {
                generation: g.generation,
                leader: g.members[&leader_id].client.member,
                members,
                assignor: g.protocol.map_or("-", Strategy::kafka_name).to_owned(),
                cooperative: g.cooperative(),
            },
        );
        for id in order {
            let m = g.members.get_mut(&id).expect("listed");
            if !m.awaiting_join {
                continue;
            }
            m.awaiting_join = false;
            m.is_new = false;
            let deadline = ctx.now_ms + m.session_timeout_ms;
            m.heartbeat_deadline_ms = deadline;
            arm_expiry(ctx, broker, group, m);
            respond_join(ctx, node, g, &id, false);
        }
    }

    /// GMM `classicGroupSync`.
    #[allow(clippy::too_many_arguments)] // the request's fields
    fn on_sync(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        assignments: Vec<(String, Vec<Tp>)>,
    ) {
        let node = self.node();
        let broker = self.broker;
        let Some(g) = self.group_mut(group) else {
            return;
        };
        group_event(
            ctx,
            group,
            GroupEvent::SyncGroup {
                member: client.member,
                generation,
            },
        );
        let reply = |ctx: &mut Ctx, error, assignment| {
            ctx.out.send(
                node,
                NodeId::Consumer(client),
                Msg::SyncGroupResponse {
                    group,
                    error,
                    assignment,
                },
            );
        };
        if let Err(error) = validate_member(g, member_id, instance) {
            reply(ctx, error, Vec::new());
            return;
        }
        if generation != g.generation {
            reply(ctx, KafkaError::IllegalGeneration, Vec::new());
            return;
        }
        match g.state {
            GroupState::PreparingRebalance => {
                reply(ctx, KafkaError::RebalanceInProgress, Vec::new())
            }
            GroupState::Stable => {
                let a = g.members[member_id].assignment.clone();
                reply(ctx, KafkaError::None, a);
            }
            GroupState::CompletingRebalance => {
                g.members
                    .get_mut(member_id)
                    .expect("validated")
                    .awaiting_sync = true;
                if g.leader.as_deref() != Some(member_id) {
                    return; // parked until the leader's assignment arrives
                }
                for m in g.members.values_mut() {
                    m.assignment = assignments
                        .iter()
                        .find(|(id, _)| *id == m.member_id)
                        .map(|(_, a)| a.clone())
                        .unwrap_or_default();
                }
                set_state(ctx, g, GroupState::Stable);
                // GMM: the leader's assignment is stored as the group's metadata.
                let record = g.snapshot(ctx.now_ms);
                let k = ctx.cluster.group_partition(group);
                g.rebalances += 1;
                g.rebalancing_since_ms = None;
                if let Some(start) = g.stop_since_ms.take() {
                    if !g.cooperative() {
                        g.stop_the_world_ms += ctx.now_ms - start;
                    }
                }
                // GMM `propagateAssignment`: answer every waiting member, reset its timer.
                for id in g.java_order() {
                    let m = g.members.get_mut(&id).expect("listed");
                    if !m.awaiting_sync {
                        continue;
                    }
                    m.awaiting_sync = false;
                    let deadline = ctx.now_ms + m.session_timeout_ms;
                    m.heartbeat_deadline_ms = deadline;
                    arm_expiry(ctx, broker, group, m);
                    ctx.out.send(
                        node,
                        NodeId::Consumer(m.client),
                        Msg::SyncGroupResponse {
                            group,
                            error: KafkaError::None,
                            assignment: m.assignment.clone(),
                        },
                    );
                }
                self.outbox.push((k, record));
            }
            GroupState::Empty | GroupState::Dead => {
                reply(ctx, KafkaError::UnknownMemberId, Vec::new())
            }
        }
    }

    /// GMM `classicGroupHeartbeat`: the deadline moves in every state that answers.
    fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> KafkaError {
        let broker = self.broker;
        let Some(g) = self.group_mut(group) else {
            return KafkaError::CoordinatorNotAvailable;
        };
        if let Err(error) = validate_member(g, member_id, instance) {
            return error;
        }
        if generation != g.generation {
            return KafkaError::IllegalGeneration;
        }
        let state = g.state;
        let m = g.members.get_mut(member_id).expect("validated");
        let deadline = ctx.now_ms + m.session_timeout_ms;
        m.heartbeat_deadline_ms = deadline;
        arm_expiry(ctx, broker, group, m);
        match state {
            GroupState::PreparingRebalance => KafkaError::RebalanceInProgress,
            GroupState::CompletingRebalance | GroupState::Stable => KafkaError::None,
            GroupState::Empty => KafkaError::UnknownMemberId,
            GroupState::Dead => KafkaError::CoordinatorNotAvailable,
        }
    }

    fn on_leave(&mut self, ctx: &mut Ctx, group: GroupId, member_id: &str, instance: Option<&str>) {
        let Some(g) = self.group(group) else {
            return;
        };
        let id = match instance {
            Some(i) => g.member_by_instance(i),
            None => g
                .members
                .contains_key(member_id)
                .then(|| member_id.to_owned()),
        };
        if let Some(id) = id {
            self.remove_member(ctx, group, &id, RemovalReason::Left, true);
        }
    }

    /// GMM `removeMemberAndUpdateClassicGroup`.
    fn remove_member(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        member_id: &str,
        reason: RemovalReason,
        update: bool,
    ) {
        let node = self.node();
        let g = self.group_mut(group).expect("exists");
        let Some(m) = g.members.remove(member_id) else {
            return;
        };
        if m.awaiting_join {
            respond_join_error(
                ctx,
                node,
                m.client,
                group,
                KafkaError::UnknownMemberId,
                member_id,
            );
        }
        if g.leader.as_deref() == Some(member_id) {
            g.leader = g.java_order().into_iter().next();
        }
        group_event(
            ctx,
            group,
            GroupEvent::MemberRemoved {
                member: m.client.member,
                reason,
            },
        );
        if !update {
            return;
        }
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(ctx, group)
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// `ClassicGroup.validateOffsetCommit`; on success one OffsetCommit record per
    /// partition goes to `__consumer_offsets`, and the answer waits for them.
    #[allow(clippy::too_many_arguments)] // the request's fields
    fn on_commit(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        request_id: u64,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        (offsets, leader_epochs): (Vec<(Tp, u64)>, Vec<Option<u32>>),
        auto: bool,
    ) -> KafkaError {
        let Some(g) = self.group_mut(group) else {
            return KafkaError::CoordinatorNotAvailable;
        };
        let error = if g.state == GroupState::Dead {
            KafkaError::CoordinatorNotAvailable
        } else if generation < 0 && g.state == GroupState::Empty {
            KafkaError::None // a commit from outside the group (manual assignment)
        } else if let Err(e) = validate_member(g, member_id, instance) {
            e
        } else if generation != g.generation {
            KafkaError::IllegalGeneration
        } else if g.state == GroupState::CompletingRebalance {
            KafkaError::RebalanceInProgress
        } else {
            KafkaError::None
        };
        if error != KafkaError::None {
            return error;
        }
        let leader_epochs: Vec<Option<u32>> = (0..offsets.len())
            .map(|i| leader_epochs.get(i).copied().flatten())
            .collect();
        let records: Vec<LogRecord> = offsets
            .iter()
            .zip(&leader_epochs)
            .map(|(&(tp, offset), &leader_epoch)| {
                g.journal(
                    ctx.now_ms,
                    Write::Commit {
                        tp,
                        offset,
                        at_ms: ctx.now_ms,
                        by: client.member,
                        leader_epoch,
                    },
                )
            })
            .collect();
        let Some(last) = records.last().map(|r| r.record_id) else {
            // Nothing to write: answered at once.
            self.answer_commit(
                ctx,
                PendingCommit {
                    group,
                    client,
                    request_id,
                    offsets,
                    leader_epochs,
                    auto,
                    record_id: 0,
                    required: None,
                    deadline_ms: 0,
                },
                KafkaError::None,
            );
            return KafkaError::None;
        };
        for r in records {
            self.write(ctx, group, r);
        }
        let deadline_ms = ctx.now_ms + OFFSETS_COMMIT_TIMEOUT_MS;
        self.pending.push(PendingCommit {
            group,
            client,
            request_id,
            offsets,
            leader_epochs,
            auto,
            record_id: last,
            required: None,
            deadline_ms,
        });
        self.arm_commit_timer(ctx, deadline_ms);
        KafkaError::None
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
                    .is_some_and(|g| g.pending.remove(&member_id))
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

    /// GMM `tryCompleteInitialRebalanceElseSchedule`: another window while newcomers keep
    /// arriving, bounded by the rebalance timeout.
    fn initial_delay_ends(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        token: u64,
        delay_ms: u64,
        remaining_ms: u64,
    ) {
        let broker = self.broker;
        let Some(g) = self.group_mut(group) else {
            return;
        };
        if g.rebalance_token != token || g.state != GroupState::PreparingRebalance {
            return;
        }
        if g.new_member_added && remaining_ms != 0 {
            g.new_member_added = false;
            let next_delay = GROUP_INITIAL_REBALANCE_DELAY_MS.min(remaining_ms);
            let next_remaining = remaining_ms.saturating_sub(delay_ms);
            ctx.out.timer(
                ctx.now_ms + next_delay,
                NodeId::Broker(broker),
                Timer::Coordinator(CoordinatorTimer::InitialDelay {
                    group,
                    token,
                    delay_ms: next_delay,
                    remaining_ms: next_remaining,
                }),
            );
        } else {
            self.complete_join(ctx, group);
        }
    }
}

/// `ClassicGroup.validateMember`: an unknown id, or another client's instance id.
fn validate_member(
    g: &CoordGroup,
    member_id: &str,
    instance: Option<&str>,
) -> Result<(), KafkaError> {
    if let Some(i) = instance {
        match g.member_by_instance(i) {
            Some(id) if id != member_id => return Err(KafkaError::FencedInstanceId),
            Some(_) => return Ok(()),
            None => return Err(KafkaError::UnknownMemberId),
        }
    }
    if g.members.contains_key(member_id) {
        Ok(())
    } else {
        Err(KafkaError::UnknownMemberId)
    }
}

/// `ClassicGroup.maybeElectNewJoinedLeader`: a leader that did not rejoin hands over to the
/// first member (in map order) that did.
fn elect_joined_leader(g: &mut CoordGroup) -> bool {
    let Some(leader) = g.leader.clone() else {
        return false;
    };
    if g.members.get(&leader).is_some_and(|m| m.awaiting_join) {
        return true;
    }
    match g
        .java_order()
        .into_iter()
        .find(|id| g.members[id].awaiting_join)
    {
        Some(id) => {
            g.leader = Some(id);
            true
        }
        None => false,
    }
}

/// A member id as Kafka forms it: client id, a dash, and a unique suffix (Kafka's is a
/// UUID; the lab draws 8 hex digits from the seeded RNG so runs repeat).
fn new_member_id(ctx: &mut Ctx, client: ConsumerRef) -> String {
    format!(
        "{}-{:08x}",
        super::ids::consumer_client_id(client.member),
        ctx.rng.next_u32()
    )
}

/// Moves the group to `to` (ClassicGroup `transitionTo`, which refuses a move its state
/// machine does not have: checked here in debug builds and every test).
fn set_state(ctx: &mut Ctx, g: &mut CoordGroup, to: GroupState) {
    if g.state != to {
        debug_assert!(
            to.valid_previous().contains(&g.state),
            "group {:?}: {} → {} is not a transition of the classic group",
            g.id,
            g.state.name(),
            to.name()
        );
        g.previous_state = g.state;
        g.state = to;
        let event = GroupEvent::StateChanged {
            to,
            generation: g.generation,
        };
        group_event(ctx, g.id, event);
    }
}

fn group_event(ctx: &mut Ctx, group: GroupId, event: GroupEvent) {
    ctx.out.event(Event::Group {
        at_ms: ctx.now_ms,
        group,
        event,
    });
}

/// Arms the member's expiry timer unless one is pending: one timer per member, which
/// re-arms at the current deadline when a heartbeat moved it.
fn node_broker(node: NodeId) -> BrokerId {
    match node {
        NodeId::Broker(b) => b,
        _ => BrokerId(0),
    }
}

fn arm_expiry(ctx: &mut Ctx, broker: BrokerId, group: GroupId, m: &mut GroupMember) {
    let at_ms = m.heartbeat_deadline_ms;
    if m.expiry_timer_at.is_some_and(|t| t <= at_ms) {
        return; // the pending timer comes first and re-arms if needed
    }
    m.expiry_timer_at = Some(at_ms);
    ctx.out.timer(
        at_ms,
        NodeId::Broker(broker),
        Timer::Coordinator(CoordinatorTimer::MemberExpiry {
            group,
            member_id: m.member_id.clone(),
            at_ms,
        }),
    );
}

fn respond_join_error(
    ctx: &mut Ctx,
    node: NodeId,
    client: ConsumerRef,
    group: GroupId,
    error: KafkaError,
    member_id: &str,
) {
    ctx.out.send(
        node,
        NodeId::Consumer(client),
        Msg::JoinGroupResponse {
            group,
            error,
            generation: -1,
            protocol: None,
            leader: String::new(),
            member_id: member_id.to_owned(),
            members: Vec::new(),
            skip_assignment: false,
        },
    );
}

/// A successful JoinGroup answer for the current generation; the leader's lists every
/// member with its subscription.
fn respond_join(
    ctx: &mut Ctx,
    node: NodeId,
    g: &CoordGroup,
    member_id: &str,
    skip_assignment: bool,
) {
    let m = &g.members[member_id];
    let leader = g.leader.clone().unwrap_or_default();
    let members = if leader == member_id {
        g.java_order()
            .into_iter()
            .map(|id| {
                let m = &g.members[&id];
                JoinedMember {
                    member_id: id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata.clone(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    ctx.out.send(
        node,
        NodeId::Consumer(m.client),
        Msg::JoinGroupResponse {
            group: g.id,
            error: KafkaError::None,
            generation: g.generation,
            protocol: g.protocol,
            leader,
            member_id: member_id.to_owned(),
            members,
            skip_assignment,
        },
    );
}
