//! The offsets manager (Kafka's OffsetMetadataManager): OffsetCommit validated against the
//! member and generation, written to `__consumer_offsets` and answered once that write is
//! committed, and OffsetFetch.

use super::*;

impl Coordinator {
    pub(super) fn apply_commit(&mut self, ctx: &mut Ctx, p: PendingCommit) {
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

    pub(super) fn answer_commit(&self, ctx: &mut Ctx, p: PendingCommit, error: KafkaError) {
        ctx.out.send(
            self.node(),
            NodeId::Consumer(p.client),
            Msg::OffsetCommitResponse(OffsetCommitResponse {
                group: p.group,
                request_id: p.request_id,
                error,
            }),
        );
    }

    pub(super) fn arm_commit_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
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
    pub(super) fn commit_timeouts(&mut self, ctx: &mut Ctx) {
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

    /// GMM `handleOffsetFetch` for a classic group: each partition's committed offset and
    /// its leader epoch, or nothing.
    pub(super) fn on_offset_fetch(
        &mut self,
        ctx: &mut Ctx,
        client: ConsumerRef,
        req: OffsetFetchRequest,
    ) {
        let OffsetFetchRequest {
            group,
            request_id,
            partitions,
        } = req;
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
        let reply = Msg::OffsetFetchResponse(OffsetFetchResponse {
            group,
            request_id,
            offsets,
        });
        ctx.out.send(self.node(), NodeId::Consumer(client), reply);
    }

    /// GMM `commitOffset`: a valid commit is answered once its records are committed; an
    /// invalid one at once.
    pub(super) fn on_commit(
        &mut self,
        ctx: &mut Ctx,
        client: ConsumerRef,
        req: OffsetCommitRequest,
    ) {
        let error = self
            .group(req.group)
            .map_or(KafkaError::CoordinatorNotAvailable, |g| {
                validate_commit(g, &req)
            });
        if error == KafkaError::None {
            self.write_commit(ctx, client, req);
            return;
        }
        let reply = Msg::OffsetCommitResponse(OffsetCommitResponse {
            group: req.group,
            request_id: req.request_id,
            error,
        });
        ctx.out.send(self.node(), NodeId::Consumer(client), reply);
    }

    /// A valid commit's records go to `__consumer_offsets`; it is answered once they are
    /// committed (or at once when it names nothing).
    fn write_commit(&mut self, ctx: &mut Ctx, client: ConsumerRef, req: OffsetCommitRequest) {
        let OffsetCommitRequest {
            group,
            request_id,
            offsets,
            leader_epochs,
            auto,
            ..
        } = req;
        let Some(g) = self.group_mut(group) else {
            return;
        };
        let leader_epochs: Vec<Option<u32>> = (0..offsets.len())
            .map(|i| leader_epochs.get(i).copied().flatten())
            .collect();
        let records: Vec<LogRecord> = offsets
            .iter()
            .zip(&leader_epochs)
            .map(|(&(tp, offset), &leader_epoch)| {
                let write = Write::Commit {
                    tp,
                    offset,
                    at_ms: ctx.now_ms,
                    by: client.member,
                    leader_epoch,
                };
                g.journal(ctx.now_ms, write)
            })
            .collect();
        let mut pending = PendingCommit {
            group,
            client,
            request_id,
            offsets,
            leader_epochs,
            auto,
            record_id: 0,
            required: None,
            deadline_ms: 0,
        };
        let Some(last) = records.last().map(|r| r.record_id) else {
            self.answer_commit(ctx, pending, KafkaError::None);
            return;
        };
        for r in records {
            self.write(ctx, group, r);
        }
        pending.record_id = last;
        pending.deadline_ms = ctx.now_ms + OFFSETS_COMMIT_TIMEOUT_MS;
        let deadline_ms = pending.deadline_ms;
        self.pending.push(pending);
        self.arm_commit_timer(ctx, deadline_ms);
    }
}

/// GMM `validateOffsetCommit` for a classic group: a dead group, then a commit from outside
/// the group (generation -1 on an empty group: manual assignment, accepted), then the
/// member and its generation; none while the group completes a rebalance.
fn validate_commit(g: &CoordGroup, req: &OffsetCommitRequest) -> KafkaError {
    let instance = req.group_instance_id.as_deref();
    if g.state == GroupState::Dead {
        KafkaError::CoordinatorNotAvailable
    } else if req.generation < 0 && g.state == GroupState::Empty {
        KafkaError::None
    } else if let Err(e) = validate_member(g, &req.member_id, instance) {
        e
    } else if req.generation != g.generation {
        KafkaError::IllegalGeneration
    } else if g.state == GroupState::CompletingRebalance {
        KafkaError::RebalanceInProgress
    } else {
        KafkaError::None
    }
}
