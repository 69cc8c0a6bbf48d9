//! The coordinator client: finding the coordinator, JoinGroup and SyncGroup with the
//! leader's assignor, revocation before a join, heartbeats, and leaving
//! (AbstractCoordinator, ConsumerCoordinator's membership side).

use super::*;

impl Consumer {
    /// AbstractCoordinator `maybeLeaveGroup`: a dynamic member sends LeaveGroup; every
    /// member resets its generation and member id (`resetGenerationOnLeaveGroup`).
    pub(super) fn leave_group(&mut self, ctx: &mut Ctx, reason: &str) {
        let in_group = self.member_state != MemberState::Unjoined || !self.member_id.is_empty();
        if in_group {
            let dynamic = self.group_instance_id.is_none();
            self.event(
                ctx,
                GroupEvent::LeaveGroup {
                    member: self.id.member,
                    reason: reason.to_owned(),
                    sent: dynamic,
                },
            );
            if dynamic && !self.member_id.is_empty() {
                if let Some(c) = self.coordinator {
                    let msg = Msg::LeaveGroup(LeaveGroupRequest {
                        group: self.id.group,
                        member_id: self.member_id.clone(),
                        group_instance_id: None,
                        reason: reason.to_owned(),
                    });
                    ctx.out.send(self.node(), NodeId::Broker(c), msg);
                }
            }
        }
        self.reset_generation(true);
    }

    pub(super) fn reset_generation(&mut self, member_id_too: bool) {
        self.generation = -1;
        if member_id_too {
            self.member_id.clear();
        }
        self.member_state = MemberState::Unjoined;
        self.rejoin_needed = true;
        self.needs_join_prepare = true;
        self.is_leader = false;
        self.next_heartbeat_ms = None;
        self.heartbeat_in_flight = false;
    }

    /// ConsumerCoordinator `poll`: find the coordinator, (re)join without blocking the
    /// fetch, auto-commit when due. Returns false while the coordinator is unknown.
    pub(super) fn coordinator_poll(&mut self, ctx: &mut Ctx) -> bool {
        // The assignment a SyncGroup response brought is applied here, in the application
        // thread, between batches (AbstractCoordinator `joinGroupIfNeeded`).
        if let Some(assignment) = self.pending_assignment.take() {
            self.join_complete(ctx, assignment);
        }
        // A JoinGroup (or another group request) unanswered past its timeout: the
        // connection is dropped and the coordinator looked up again.
        if self.member_state == MemberState::PreparingRebalance {
            self.request_timed_out(ctx);
        }
        if self.coordinator.is_none() {
            self.lookup_coordinator(ctx);
            return false;
        }
        if self.rejoin_needed && self.member_state != MemberState::PreparingRebalance {
            if self.member_state != MemberState::CompletingRebalance {
                self.join_prepare(ctx);
                self.send_join(ctx);
            }
        } else if self.member_state == MemberState::Stable {
            self.maybe_auto_commit(ctx);
        }
        true
    }

    /// AbstractCoordinator `lookupCoordinator`: FindCoordinator to a live broker (the next
    /// one after a failure), one at a time.
    pub(super) fn lookup_coordinator(&mut self, ctx: &mut Ctx) {
        if self.coordinator.is_some() {
            return;
        }
        if self.find_in_flight {
            // An unanswered FindCoordinator fails after request.timeout.ms; ask the next.
            if ctx.now_ms < self.find_sent_ms.saturating_add(REQUEST_TIMEOUT_MS) {
                return;
            }
            self.bootstrap_cursor = self.bootstrap_cursor.wrapping_add(1);
        }
        self.find_in_flight = true;
        self.find_sent_ms = ctx.now_ms;
        let n = ctx.cluster.broker_count().max(1);
        let bootstrap = (0..n)
            .map(|i| BrokerId(((self.bootstrap_cursor as usize + i) % n) as u16))
            .find(|&b| ctx.cluster.is_live(b))
            .unwrap_or(BrokerId(0));
        self.find_target = Some(bootstrap);
        self.send(
            ctx,
            bootstrap,
            Msg::FindCoordinator {
                group: self.id.group,
            },
        );
    }

    /// ConsumerCoordinator `onJoinPrepare`: auto-commit, then give partitions up: all of
    /// them as lost when the generation was reset, all under eager, none under cooperative.
    pub(super) fn join_prepare(&mut self, ctx: &mut Ctx) {
        if !self.needs_join_prepare {
            return;
        }
        self.needs_join_prepare = false;
        if self.config.enable_auto_commit
            && self.member_state == MemberState::Stable
            && self.commit.is_none()
        {
            let offsets = self.consumed_offsets();
            if !offsets.is_empty() {
                // Sent before the JoinGroup on the same connection, so it is handled first.
                self.commit_offsets(ctx, offsets, true, None);
            }
        }
        let member = self.id.member;
        if self.generation < 0 || self.member_id.is_empty() {
            if !self.assigned.is_empty() {
                let partitions = std::mem::take(&mut self.assigned);
                self.event(ctx, GroupEvent::Lost { member, partitions });
                self.drop_partition_state();
            }
        } else if self.protocol() == Protocol::Eager && !self.assigned.is_empty() {
            let partitions = std::mem::take(&mut self.assigned);
            self.event(ctx, GroupEvent::Revoked { member, partitions });
            self.drop_partition_state();
        }
    }

    pub(super) fn send_join(&mut self, ctx: &mut Ctx) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        self.member_state = MemberState::PreparingRebalance;
        self.next_heartbeat_ms = None;
        let cooperative = self.protocol() == Protocol::Cooperative;
        let metadata = MemberMetadata {
            topics: self.topics.clone(),
            owned: if cooperative {
                self.assigned.clone()
            } else {
                Vec::new()
            },
            generation: self.generation,
            sticky_user_data: self
                .config
                .partition_assignment_strategy
                .contains(&Strategy::Sticky)
                .then(|| self.sticky_user_data.clone())
                .flatten(),
        };
        let msg = Msg::JoinGroup(JoinGroupRequest {
            group: self.id.group,
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            protocols: self.config.partition_assignment_strategy.clone(),
            metadata,
        });
        self.send(ctx, coordinator, msg);
    }

    /// AbstractCoordinator's FindCoordinatorResponseHandler: a found coordinator restarts
    /// the session clock, and a `commitSync` waiting for one goes on.
    pub(super) fn on_find_coordinator_response(
        &mut self,
        ctx: &mut Ctx,
        coordinator: Option<BrokerId>,
    ) {
        self.find_in_flight = false;
        self.find_target = None;
        // COORDINATOR_NOT_AVAILABLE: the next poll asks again.
        self.coordinator = coordinator;
        if coordinator.is_some() {
            self.last_coordinator = coordinator;
            self.last_heartbeat_ok_ms = ctx.now_ms;
        }
        self.wake_if_polling(ctx);
        // A commitSync waiting in ensureCoordinatorReady goes on.
        let waiting = self.commit.as_ref().is_some_and(|c| {
            c.request_id.is_none() && c.deadline_ms.is_some() && ctx.now_ms >= c.next_try_ms
        });
        if waiting && coordinator.is_some() {
            self.send_commit(ctx);
        }
    }

    /// JoinGroupResponseHandler: the leader runs the assignor, everyone sends SyncGroup.
    pub(super) fn on_join_response(&mut self, ctx: &mut Ctx, response: JoinGroupResponse) {
        let JoinGroupResponse {
            error,
            generation,
            protocol,
            leader,
            member_id,
            members,
            skip_assignment,
            ..
        } = response;
        if self.member_state != MemberState::PreparingRebalance {
            return;
        }
        self.coordinator_requests.remove(&GroupRequest::Join);
        match error {
            KafkaError::None => {}
            KafkaError::NotCoordinator => {
                self.coordinator_unknown(ctx);
                return;
            }
            KafkaError::MemberIdRequired => {
                self.member_id = member_id;
                self.send_join(ctx);
                return;
            }
            KafkaError::FencedInstanceId => {
                self.fail(ctx, "FencedInstanceIdException".into());
                return;
            }
            KafkaError::UnknownMemberId => {
                self.member_id.clear();
                self.generation = -1;
                self.send_join(ctx);
                return;
            }
            _ => {
                self.member_state = MemberState::Unjoined;
                self.coordinator = None;
                return;
            }
        }
        self.generation = generation;
        self.member_id = member_id.clone();
        self.is_leader = leader == member_id;
        self.member_state = MemberState::CompletingRebalance;
        let assignments = if self.is_leader && !skip_assignment {
            leader_assignment(ctx, protocol, &members)
        } else {
            Vec::new()
        };
        let msg = Msg::SyncGroup(SyncGroupRequest {
            group: self.id.group,
            generation,
            member_id,
            group_instance_id: self.group_instance_id.clone(),
            assignments,
        });
        if let Some(c) = self.coordinator {
            self.send(ctx, c, msg);
        }
        self.start_heartbeats(ctx);
    }

    pub(super) fn on_sync_response(
        &mut self,
        ctx: &mut Ctx,
        error: KafkaError,
        assignment: Vec<Tp>,
    ) {
        if self.member_state != MemberState::CompletingRebalance {
            return;
        }
        self.coordinator_requests.remove(&GroupRequest::Sync);
        match error {
            KafkaError::NotCoordinator => self.coordinator_unknown(ctx),
            KafkaError::None => {
                self.member_state = MemberState::Stable;
                self.pending_assignment = Some(assignment);
                self.wake_if_polling(ctx);
            }
            KafkaError::RebalanceInProgress => {
                // Rejoin at once, without another onJoinPrepare.
                self.member_state = MemberState::Unjoined;
                self.rejoin_needed = true;
                self.send_join(ctx);
            }
            KafkaError::FencedInstanceId => self.fail(ctx, "FencedInstanceIdException".into()),
            _ => {
                self.reset_generation(error == KafkaError::UnknownMemberId);
                self.needs_join_prepare = false;
                self.send_join(ctx);
            }
        }
    }

    /// ConsumerCoordinator `onJoinComplete`: take the assignment; in cooperative mode revoke
    /// what moved away (without committing) and rejoin for the second round.
    pub(super) fn join_complete(&mut self, ctx: &mut Ctx, mut assignment: Vec<Tp>) {
        sort::sort(&mut assignment);
        self.rejoin_needed = false;
        let member = self.id.member;
        let revoked: Vec<Tp> = self
            .assigned
            .iter()
            .copied()
            .filter(|tp| !assignment.contains(tp))
            .collect();
        let added: Vec<Tp> = assignment
            .iter()
            .copied()
            .filter(|tp| !self.assigned.contains(tp))
            .collect();
        if !revoked.is_empty() {
            self.assigned.retain(|tp| !revoked.contains(tp));
            self.drop_partition_state();
            self.event(
                ctx,
                GroupEvent::Revoked {
                    member,
                    partitions: revoked,
                },
            );
            self.rejoin_needed = true;
            self.needs_join_prepare = true;
        }
        self.assigned.extend(added.iter().copied());
        self.sticky_user_data = Some((assignment.clone(), self.generation));
        self.next_auto_commit_ms = ctx.now_ms + self.config.auto_commit_interval_ms;
        self.event(
            ctx,
            GroupEvent::Assigned {
                member,
                generation: self.generation,
                partitions: assignment,
                added,
            },
        );
        self.wake_if_polling(ctx);
    }

    pub(super) fn start_heartbeats(&mut self, ctx: &mut Ctx) {
        self.last_heartbeat_ok_ms = ctx.now_ms;
        self.last_heartbeat_sent_ms = ctx.now_ms;
        let next = ctx.now_ms + self.config.heartbeat_interval_ms;
        self.next_heartbeat_ms = Some(next);
        self.timer(ctx, next, ConsumerTimerKind::Heartbeat);
    }

    /// One iteration of AbstractCoordinator.HeartbeatThread: it runs only once the member
    /// has joined (CompletingRebalance or Stable), and sends a heartbeat every
    /// `heartbeat.interval.ms`, one at a time.
    pub(super) fn heartbeat_tick(&mut self, ctx: &mut Ctx) {
        if !matches!(
            self.member_state,
            MemberState::CompletingRebalance | MemberState::Stable
        ) {
            self.next_heartbeat_ms = None;
            return;
        }
        let backoff = ctx.now_ms + RETRY_BACKOFF_MS;
        let session = self.config.session_timeout_ms;
        // The thread's loop: the coordinator first (the poll loop looks it up), then the
        // session, then a heartbeat when due; it keeps running through a lost coordinator.
        let next = if self.request_timed_out(ctx) {
            backoff
        } else if self.coordinator.is_none() {
            // HeartbeatThread: while the coordinator is unknown it looks for it.
            self.lookup_coordinator(ctx);
            backoff
        } else if ctx.now_ms >= self.last_heartbeat_ok_ms.saturating_add(session) {
            // Heartbeat.sessionTimeoutExpired: the coordinator is unreachable.
            self.coordinator_unknown(ctx);
            backoff
        } else if self.heartbeat_in_flight {
            backoff
        } else {
            self.heartbeat_in_flight = true;
            self.last_heartbeat_sent_ms = ctx.now_ms;
            let msg = Msg::Heartbeat(HeartbeatRequest {
                group: self.id.group,
                generation: self.generation,
                member_id: self.member_id.clone(),
                group_instance_id: self.group_instance_id.clone(),
            });
            if let Some(c) = self.coordinator {
                ctx.out.send(self.node(), NodeId::Broker(c), msg);
            }
            ctx.now_ms + self.config.heartbeat_interval_ms
        };
        self.next_heartbeat_ms = Some(next);
        self.timer(ctx, next, ConsumerTimerKind::Heartbeat);
    }

    pub(super) fn on_heartbeat_response(&mut self, ctx: &mut Ctx, error: KafkaError) {
        self.heartbeat_in_flight = false;
        match error {
            KafkaError::None => self.last_heartbeat_ok_ms = ctx.now_ms,
            KafkaError::RebalanceInProgress => {
                self.last_heartbeat_ok_ms = ctx.now_ms;
                if self.member_state == MemberState::Stable {
                    self.rejoin_needed = true;
                    self.needs_join_prepare = true;
                    self.wake_if_polling(ctx);
                }
            }
            KafkaError::FencedInstanceId => self.fail(ctx, "FencedInstanceIdException".into()),
            KafkaError::NotCoordinator => self.coordinator_unknown(ctx),
            KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => {
                if matches!(
                    self.member_state,
                    MemberState::Stable | MemberState::CompletingRebalance
                ) {
                    self.reset_generation(error == KafkaError::UnknownMemberId);
                    self.wake_if_polling(ctx);
                }
            }
            _ => {}
        }
    }

    /// `markCoordinatorUnknown`: forget the coordinator and what was in flight to it; the
    /// next poll looks it up again.
    pub(super) fn coordinator_unknown(&mut self, ctx: &mut Ctx) {
        if let Some(c) = self.coordinator.take() {
            ctx.out
                .closed_connections
                .push((self.node(), NodeId::Broker(c)));
        }
        self.find_in_flight = false;
        self.heartbeat_in_flight = false;
        self.coordinator_requests.clear();
        self.offsets_in_flight = false;
        self.resolving.retain(|_, r| r.source.is_some());
        if let Some(c) = self.last_coordinator {
            self.fetch_in_flight.remove(&c);
        }
        if self.member_state != MemberState::Stable {
            self.member_state = MemberState::Unjoined;
            self.rejoin_needed = true;
        }
        self.next_heartbeat_ms = None;
        if let Some(c) = self.commit.take_if(|c| c.request_id.is_some()) {
            // The connection is gone with the commit's answer: a retriable disconnect.
            self.retry_commit(ctx, c, KafkaError::NetworkException);
        }
        self.wake_if_polling(ctx);
    }
}
