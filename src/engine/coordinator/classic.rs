//! The classic group protocol (GMM's `classicGroup*` handlers and ClassicGroup): JoinGroup
//! with its join phase, SyncGroup, Heartbeat and LeaveGroup, each opening with the checks
//! Kafka's code makes, and the state machine they drive.

use super::*;
use crate::engine::ids::each_once;
use crate::engine::vecmap::VecMap;

impl Coordinator {
    /// GMM `classicGroupJoin`.
    pub(super) fn on_join(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: JoinGroupRequest) {
        let group = req.group;
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
            self.join_new_member(ctx, client, req);
        } else {
            self.join_existing_member(ctx, client, req);
        }
    }

    /// GMM `classicGroupJoinNewMember`: a static member takes its instance's place (or
    /// joins), a dynamic one first gets its member id (KIP-394).
    fn join_new_member(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: JoinGroupRequest) {
        let group = req.group;
        let node = self.node();
        let Some(g) = self.group_mut(group) else {
            return;
        };
        if let Some(instance) = req.group_instance_id.clone() {
            let new_id = new_member_id(ctx, client);
            match g.member_by_instance(&instance) {
                Some(old_id) => self.replace_static_member(ctx, group, client, old_id, new_id, req),
                None => self.add_member_and_rebalance(ctx, group, client, new_id, req),
            }
        } else {
            // KIP-394: a new dynamic member gets its id first and must join again with it.
            let new_id = new_member_id(ctx, client);
            g.pending.insert(new_id.clone(), ());
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
    }

    /// GMM `classicGroupJoinExistingMember`: a pending member completes its join; a known
    /// one rejoins, and the group rebalances if its metadata changed.
    fn join_existing_member(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: JoinGroupRequest) {
        let group = req.group;
        let node = self.node();
        let Some(g) = self.group_mut(group) else {
            return;
        };
        let member_id = req.member_id.clone();
        if g.pending.remove(&member_id).is_some() {
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
    pub(super) fn add_member_and_rebalance(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        member_id: String,
        req: JoinGroupRequest,
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
    pub(super) fn replace_static_member(
        &mut self,
        ctx: &mut Ctx,
        group: GroupId,
        client: ConsumerRef,
        old_id: String,
        new_id: String,
        req: JoinGroupRequest,
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
    pub(super) fn prepare_rebalance(&mut self, ctx: &mut Ctx, group: GroupId) {
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
                    Msg::SyncGroupResponse(SyncGroupResponse {
                        group,
                        error: KafkaError::RebalanceInProgress,
                        assignment: Vec::new(),
                    }),
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
    pub(super) fn maybe_complete_join(&mut self, ctx: &mut Ctx, group: GroupId) {
        let g = self.group(group).expect("exists");
        if g.state == GroupState::PreparingRebalance
            && g.all_members_joined()
            && g.previous_state != GroupState::Empty
        {
            self.complete_join(ctx, group);
        }
    }

    /// GMM `completeClassicGroupJoin`.
    pub(super) fn complete_join(&mut self, ctx: &mut Ctx, group: GroupId) {
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
        answer_joins(ctx, node, broker, g);
    }

    /// GMM `classicGroupSync`: the member and its generation are checked first; the leader's
    /// assignment completes the rebalance, a follower waits for it.
    pub(super) fn on_sync(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: SyncGroupRequest) {
        let SyncGroupRequest {
            group,
            generation,
            member_id,
            group_instance_id,
            assignments,
        } = req;
        let (member_id, instance) = (member_id.as_str(), group_instance_id.as_deref());
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
                Msg::SyncGroupResponse(SyncGroupResponse {
                    group,
                    error,
                    assignment,
                }),
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
                let record = complete_sync(ctx, node, broker, g, &assignments);
                let k = ctx.cluster.group_partition(group);
                self.outbox.push((k, record));
            }
            GroupState::Empty | GroupState::Dead => {
                reply(ctx, KafkaError::UnknownMemberId, Vec::new())
            }
        }
    }

    /// GMM `classicGroupHeartbeat`: answered at once; the lab records the answer as an
    /// event.
    pub(super) fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx,
        client: ConsumerRef,
        req: HeartbeatRequest,
    ) {
        let group = req.group;
        let error = self.heartbeat_error(
            ctx,
            group,
            req.generation,
            &req.member_id,
            req.group_instance_id.as_deref(),
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
        let reply = Msg::HeartbeatResponse(HeartbeatResponse { group, error });
        ctx.out.send(self.node(), NodeId::Consumer(client), reply);
    }

    /// The heartbeat's answer, with the member's session renewed when it is valid (the
    /// deadline moves in every state that answers).
    pub(super) fn heartbeat_error(
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

    /// GMM `classicGroupLeave`: the member named by its instance id (a static member) or its
    /// member id leaves at once; an unknown member is UNKNOWN_MEMBER_ID, an instance id held
    /// by another member id FENCED_INSTANCE_ID.
    pub(super) fn on_leave(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: LeaveGroupRequest) {
        let group = req.group;
        let member_id = req.member_id.as_str();
        let found = self
            .group(group)
            .map(|g| match req.group_instance_id.as_deref() {
                Some(i) => match g.member_by_instance(i) {
                    None => Err(KafkaError::UnknownMemberId),
                    Some(id) if !member_id.is_empty() && id != member_id => {
                        Err(KafkaError::FencedInstanceId)
                    }
                    Some(id) => Ok(id),
                },
                None => g
                    .members
                    .contains_key(member_id)
                    .then(|| member_id.to_owned())
                    .ok_or(KafkaError::UnknownMemberId),
            });
        let error = match found {
            None => KafkaError::CoordinatorNotAvailable,
            Some(Err(e)) => e,
            Some(Ok(id)) => {
                self.remove_member(ctx, group, &id, RemovalReason::Left, true);
                KafkaError::None
            }
        };
        let reply = Msg::LeaveGroupResponse(LeaveGroupResponse { group, error });
        ctx.out.send(self.node(), NodeId::Consumer(client), reply);
    }

    /// GMM `removeMemberAndUpdateClassicGroup`.
    pub(super) fn remove_member(
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

    /// GMM `tryCompleteInitialRebalanceElseSchedule`: another window while newcomers keep
    /// arriving, bounded by the rebalance timeout.
    pub(super) fn initial_delay_ends(
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

/// The coordinator's record of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// Kafka's member id.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member.
    pub(crate) group_instance_id: Option<String>,
    /// The client behind it.
    pub(crate) client: ConsumerRef,
    /// `session.timeout.ms` from its last JoinGroup.
    pub(crate) session_timeout_ms: u64,
    /// Its rebalance timeout (`max.poll.interval.ms`).
    pub(crate) rebalance_timeout_ms: u64,
    /// Its assignors, in preference order.
    pub(crate) protocols: Vec<Strategy>,
    /// Its subscription.
    pub(crate) metadata: MemberMetadata,
    /// It sent JoinGroup in this join phase and waits for the answer.
    pub(crate) awaiting_join: bool,
    /// It sent SyncGroup and waits for the leader's assignment.
    pub(crate) awaiting_sync: bool,
    /// It joined and has not yet completed a join phase.
    pub(crate) is_new: bool,
    /// Its heartbeat deadline.
    pub(crate) heartbeat_deadline_ms: u64,
    /// Its partitions in the current generation.
    pub(crate) assignment: Vec<Tp>,
    /// When its one expiry timer fires, if armed.
    pub(super) expiry_timer_at: Option<u64>,
}

impl GroupMember {
    /// `ClassicGroupMember.hasSatisfiedHeartbeat`: a member waiting for a join or sync
    /// answer needs no heartbeat, unless it is new.
    pub(super) fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join || self.awaiting_sync)
    }
}

/// One classic group, as its coordinator holds it.
#[derive(Clone, Debug)]
pub struct CoordGroup {
    /// The group.
    pub(crate) id: GroupId,
    /// `group.id`.
    pub(crate) name: String,
    /// State.
    pub(crate) state: GroupState,
    pub(super) previous_state: GroupState,
    /// Generation id.
    pub(crate) generation: i32,
    /// The assignor of the current generation.
    pub(crate) protocol: Option<Strategy>,
    /// The leader's member id.
    pub(crate) leader: Option<String>,
    /// Members by member id.
    pub(crate) members: VecMap<String, GroupMember>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet rejoined (KIP-394).
    pub(super) pending: VecMap<String, ()>,
    /// Member ids in the order they were put into Kafka's `HashMap` (for its iteration order).
    pub(super) put_history: Vec<String>,
    /// Committed offsets.
    pub(crate) committed: VecMap<Tp, CommittedOffset>,
    pub(super) rebalance_token: u64,
    pub(super) new_member_added: bool,
    pub(super) rebalance_started_ms: Option<u64>,
    /// Completed rebalances (join phases that produced a generation with members).
    pub(crate) rebalances: u32,
    /// Total time eager rebalances stopped the group (PreparingRebalance to Stable). A
    /// group's first join stops nothing: no member owned a partition yet.
    pub(crate) stop_the_world_ms: u64,
    /// When the current rebalance started, if one runs.
    pub(crate) rebalancing_since_ms: Option<u64>,
    /// When the current rebalance started, if the group owned partitions then.
    pub(super) stop_since_ms: Option<u64>,
    /// Every write to `__consumer_offsets`, by sequence number (in shared chunks: a
    /// time-travel checkpoint copies pointers).
    pub(super) journal: crate::engine::chunked::ChunkVec<Write>,
    /// The group metadata snapshots the journal names.
    pub(super) snapshots: Vec<GroupSnapshot>,
}

impl CoordGroup {
    pub(super) fn new(id: GroupId, name: &str) -> Self {
        CoordGroup {
            id,
            name: name.to_owned(),
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: VecMap::new(),
            pending: VecMap::new(),
            put_history: Vec::new(),
            committed: VecMap::new(),
            rebalance_token: 0,
            new_member_added: false,
            rebalance_started_ms: None,
            rebalances: 0,
            stop_the_world_ms: 0,
            rebalancing_since_ms: None,
            stop_since_ms: None,
            journal: crate::engine::chunked::ChunkVec::default(),
            snapshots: Vec::new(),
        }
    }

    /// Journals a write and returns the record that carries it.
    pub(super) fn journal(&mut self, now_ms: u64, write: Write) -> LogRecord {
        let seq = self.journal.len() as u32;
        self.journal.push(write);
        LogRecord {
            timestamp_ms: now_ms,
            record_id: (u32::from(self.id.0) << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1)),
            key: None,
            size_bytes: 120,
            flags: 0,
            producer: crate::engine::log::NO_PRODUCER,
        }
    }

    /// Journals the group's metadata (GroupMetadata record).
    pub(super) fn snapshot(&mut self, now_ms: u64) -> LogRecord {
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
    pub(super) fn java_order(&self) -> Vec<String> {
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

    pub(super) fn put(&mut self, member_id: &str) {
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

    pub(super) fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// `ClassicGroup.hasAllMembersJoined`.
    pub(super) fn all_members_joined(&self) -> bool {
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
    pub(super) fn select_protocol(&self) -> Option<Strategy> {
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

/// `ClassicGroup.validateMember`: an unknown id, or another client's instance id.
pub(super) fn validate_member(
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
pub(super) fn elect_joined_leader(g: &mut CoordGroup) -> bool {
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
pub(super) fn new_member_id(ctx: &mut Ctx, client: ConsumerRef) -> String {
    format!(
        "{}-{:08x}",
        crate::engine::ids::consumer_client_id(client.member),
        ctx.rng.next_u32()
    )
}

/// Moves the group to `to` (ClassicGroup `transitionTo`, which refuses a move its state
/// machine does not have: checked here in debug builds and every test).
pub(super) fn set_state(ctx: &mut Ctx, g: &mut CoordGroup, to: GroupState) {
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

/// Arms the member's expiry timer unless one is pending: one timer per member, which
/// re-arms at the current deadline when a heartbeat moved it.
pub(super) fn arm_expiry(ctx: &mut Ctx, broker: BrokerId, group: GroupId, m: &mut GroupMember) {
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

pub(super) fn respond_join_error(
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
        Msg::JoinGroupResponse(JoinGroupResponse {
            group,
            error,
            generation: -1,
            protocol: None,
            leader: String::new(),
            member_id: member_id.to_owned(),
            members: Vec::new(),
            skip_assignment: false,
        }),
    );
}

/// A successful JoinGroup answer for the current generation; the leader's lists every
/// member with its subscription.
pub(super) fn respond_join(
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
        Msg::JoinGroupResponse(JoinGroupResponse {
            group: g.id,
            error: KafkaError::None,
            generation: g.generation,
            protocol: g.protocol,
            leader,
            member_id: member_id.to_owned(),
            members,
            skip_assignment,
        }),
    );
}

/// The leader's SyncGroup in CompletingRebalance: its assignment is stored, the group is
/// Stable, and every member waiting in SyncGroup gets its part (GMM `propagateAssignment`,
/// in Java's map order). Returns the group's metadata record to write.
fn complete_sync(
    ctx: &mut Ctx,
    node: NodeId,
    broker: BrokerId,
    g: &mut CoordGroup,
    assignments: &[(String, Vec<Tp>)],
) -> LogRecord {
    let group = g.id;
    for m in g.members.values_mut() {
        m.assignment = assignments
            .iter()
            .find(|(id, _)| *id == m.member_id)
            .map(|(_, a)| a.clone())
            .unwrap_or_default();
    }
    // One owner per partition in the generation the group now stores.
    debug_assert!(each_once(
        g.members
            .values()
            .flat_map(|m| m.assignment.iter().copied())
    ));
    set_state(ctx, g, GroupState::Stable);
    // GMM: the leader's assignment is stored as the group's metadata.
    let record = g.snapshot(ctx.now_ms);
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
            Msg::SyncGroupResponse(SyncGroupResponse {
                group,
                error: KafkaError::None,
                assignment: m.assignment.clone(),
            }),
        );
    }
    record
}

/// The generation is formed: the lab records it, and every member waiting in JoinGroup gets
/// its answer, in Java's map order, with its session restarted (GMM `completeClassicGroupJoin`).
fn answer_joins(ctx: &mut Ctx, node: NodeId, broker: BrokerId, g: &mut CoordGroup) {
    let group = g.id;
    let leader_id = g.leader.clone().expect("elected above");
    let order = g.java_order();
    let members: Vec<MemberId> = g.members.values().map(|m| m.client.member).collect();
    group_event(
        ctx,
        g.id,
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
