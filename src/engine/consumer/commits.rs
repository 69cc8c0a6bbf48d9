//! Offsets and the group: auto-commit, `commitSync`/`commitAsync` with their retries, and
//! reading the committed offsets back on assignment (ConsumerCoordinator's offset side).

use super::*;

impl Consumer {
    /// `subscriptions.allConsumed()`: the position of every owned partition.
    pub(super) fn consumed_offsets(&self) -> Vec<PartitionOffset> {
        self.assigned
            .iter()
            .filter_map(|tp| self.positions.get(tp).map(|&o| (*tp, o)))
            .collect()
    }

    /// Auto-commit at the start of poll once the interval has passed: it commits what
    /// earlier polls returned (ConsumerCoordinator `maybeAutoCommitOffsetsAsync`).
    pub(super) fn maybe_auto_commit(&mut self, ctx: &mut Ctx) {
        if !self.config.enable_auto_commit || ctx.now_ms < self.next_auto_commit_ms {
            return;
        }
        self.next_auto_commit_ms = ctx.now_ms + self.config.auto_commit_interval_ms;
        let offsets = self.consumed_offsets();
        if !offsets.is_empty() && self.commit.is_none() {
            self.commit_offsets(ctx, offsets, true, None);
        }
    }

    /// The application's continuation once a `commitSync` returned (or threw).
    pub(super) fn after_commit(&mut self, ctx: &mut Ctx, then: Option<AfterCommit>) {
        match then {
            None => {}
            Some(AfterCommit::Process) => self.schedule_processing(ctx),
            Some(AfterCommit::Continue) => {
                self.app = AppState::Processing;
                self.after_record(ctx);
            }
            Some(AfterCommit::Close) => self.finish_close(ctx),
        }
    }

    /// Sends the pending commit, or (no coordinator) looks for one first: `commitSync`
    /// waits in `ensureCoordinatorReady`. The application timer wakes it to try again.
    pub(super) fn send_commit(&mut self, ctx: &mut Ctx) {
        let Some(coordinator) = self.coordinator else {
            self.lookup_coordinator(ctx);
            if let Some(deadline) = self.commit.as_ref().and_then(|c| c.deadline_ms) {
                let at = (ctx.now_ms + RETRY_BACKOFF_MS).min(deadline);
                self.timer(ctx, at, ConsumerTimerKind::App);
            }
            return;
        };
        let Some(c) = self.commit.as_mut() else {
            return;
        };
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        c.request_id = Some(request_id);
        let (offsets, generation, auto) = (c.offsets.clone(), c.generation, c.auto);
        let deadline = c.deadline_ms;
        // Each offset carries the leader epoch of the record before it (KIP-320).
        let leader_epochs = offsets
            .iter()
            .map(|(tp, _)| self.position_epochs.get(tp).copied())
            .collect();
        let msg = Msg::OffsetCommit(OffsetCommitRequest {
            group: self.id.group,
            request_id,
            generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            offsets,
            leader_epochs,
            auto,
        });
        self.send(ctx, coordinator, msg);
        if let Some(deadline) = deadline {
            // The sync commit's timer runs out even if no answer comes.
            self.timer(ctx, deadline, ConsumerTimerKind::App);
        }
    }

    /// The application thread, blocked in `commitSync`, wakes: after a backoff it tries
    /// again; past `default.api.timeout.ms` the call throws TimeoutException.
    pub(super) fn commit_tick(&mut self, ctx: &mut Ctx) {
        let Some(c) = self.commit.as_ref() else {
            return;
        };
        if c.deadline_ms.is_some_and(|d| ctx.now_ms >= d) {
            let c = self.commit.take().expect("checked above");
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets: c.offsets,
                    error: CommitError::Timeout,
                },
            );
            self.after_commit(ctx, c.then);
        } else if c.request_id.is_none() && ctx.now_ms >= c.next_try_ms {
            self.send_commit(ctx);
        }
    }

    /// A retriable failure (`RetriableException`): `commitSync` sleeps its exponential
    /// backoff and tries again while its timer lasts; an auto-commit tries again after
    /// `retry.backoff.ms` (ConsumerCoordinator `commitOffsetsSync`,
    /// `autoCommitOffsetsAsync`).
    pub(super) fn retry_commit(&mut self, ctx: &mut Ctx, mut c: PendingCommit, error: KafkaError) {
        let wait = match c.deadline_ms {
            Some(deadline) => {
                commit_backoff_ms(c.attempts).min(deadline.saturating_sub(ctx.now_ms))
            }
            None => RETRY_BACKOFF_MS,
        };
        self.event(
            ctx,
            GroupEvent::CommitRetriable {
                member: self.id.member,
                error: error.name(),
                retry_in_ms: wait,
            },
        );
        if c.deadline_ms.is_none() {
            if c.auto {
                self.next_auto_commit_ms = ctx.now_ms + RETRY_BACKOFF_MS;
            }
            return;
        }
        c.attempts += 1;
        c.request_id = None;
        c.next_try_ms = ctx.now_ms + wait;
        self.commit = Some(c);
        self.timer(ctx, ctx.now_ms + wait, ConsumerTimerKind::App);
    }

    /// Sends an OffsetCommit, or fails at once when the client is not in a stable
    /// generation (ConsumerCoordinator `sendOffsetCommitRequest`). `then` is the
    /// application's continuation for a `commitSync` (None: async). Returns true when the
    /// application must wait for the response.
    pub(super) fn commit_offsets(
        &mut self,
        ctx: &mut Ctx,
        offsets: Vec<PartitionOffset>,
        auto: bool,
        then: Option<AfterCommit>,
    ) -> bool {
        if self.member_state != MemberState::Stable {
            let error = if matches!(
                self.member_state,
                MemberState::PreparingRebalance | MemberState::CompletingRebalance
            ) {
                CommitError::RebalanceInProgress
            } else {
                CommitError::CommitFailed
            };
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets,
                    error,
                },
            );
            return false;
        }
        if then.is_none() && self.coordinator.is_none() {
            return false; // an async commit is not attempted while the coordinator is unknown
        }
        let timeout = match then {
            Some(AfterCommit::Close) => Some(CLOSE_TIMEOUT_MS),
            Some(_) => Some(DEFAULT_API_TIMEOUT_MS),
            None => None,
        };
        self.commit = Some(PendingCommit {
            request_id: None,
            offsets,
            auto,
            then,
            generation: self.generation,
            deadline_ms: timeout.map(|t| ctx.now_ms.saturating_add(t)),
            attempts: 0,
            next_try_ms: 0,
        });
        if then.is_some() {
            self.app = AppState::Committing;
        }
        self.send_commit(ctx);
        then.is_some()
    }

    /// ConsumerCoordinator `OffsetCommitResponseHandler`: retriable errors are tried again;
    /// CommitFailedException only when the member is out of the generation.
    pub(super) fn on_commit_response(&mut self, ctx: &mut Ctx, request_id: u64, error: KafkaError) {
        let Some(pending) = self.commit.take_if(|c| c.request_id == Some(request_id)) else {
            return;
        };
        if matches!(
            error,
            KafkaError::CoordinatorNotAvailable
                | KafkaError::NotCoordinator
                | KafkaError::RequestTimedOut
                | KafkaError::UnknownTopicOrPartition
        ) {
            if error != KafkaError::UnknownTopicOrPartition {
                self.coordinator_unknown(ctx);
            }
            self.retry_commit(ctx, pending, error);
            return;
        }
        if error != KafkaError::None {
            let superseded = pending.generation != self.generation
                && self.member_state == MemberState::PreparingRebalance;
            let raised = match error {
                KafkaError::RebalanceInProgress => {
                    self.rejoin_needed = true;
                    CommitError::RebalanceInProgress
                }
                KafkaError::FencedInstanceId if pending.generation == self.generation => {
                    CommitError::FencedInstanceId
                }
                KafkaError::UnknownMemberId
                | KafkaError::IllegalGeneration
                | KafkaError::FencedInstanceId
                    if superseded =>
                {
                    CommitError::RebalanceInProgress
                }
                KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => {
                    self.reset_generation(error == KafkaError::UnknownMemberId);
                    CommitError::CommitFailed
                }
                _ => CommitError::CommitFailed,
            };
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets: pending.offsets,
                    error: raised,
                },
            );
            if raised == CommitError::FencedInstanceId {
                self.fail(ctx, "FencedInstanceIdException".into());
                return;
            }
        }
        self.after_commit(ctx, pending.then);
    }

    pub(super) fn on_offset_fetch(
        &mut self,
        ctx: &mut Ctx,
        offsets: Vec<(Tp, Option<CommittedAt>)>,
    ) {
        self.offsets_in_flight = false;
        let mut resets = Vec::new();
        for (tp, committed) in offsets {
            let waiting = self.resolving.get(&tp).is_some_and(|r| r.source.is_none());
            if !self.assigned.contains(&tp) || !waiting {
                continue;
            }
            match committed {
                Some((o, epoch)) => {
                    self.set_position(ctx, tp, o, PositionSource::Committed);
                    // `seekUnvalidated`: a committed offset with its leader epoch is checked
                    // against the current leader before the first fetch (KIP-320).
                    if let Some(epoch) = epoch {
                        self.position_epochs.insert(tp, epoch);
                        self.validate(tp, o, epoch);
                    }
                }
                None => resets.push(tp),
            }
        }
        if resets.is_empty() {
            return;
        }
        let policy = self.config.auto_offset_reset;
        let spec = match policy {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::None => {
                let tp = resets[0];
                self.fail(
                    ctx,
                    format!(
                        "NoOffsetForPartitionException: no committed offset for p{} and auto.offset.reset=none",
                        tp.p()
                    ),
                );
                return;
            }
        };
        self.request_reset(ctx, resets, PositionSource::Reset(policy), spec);
    }
}
