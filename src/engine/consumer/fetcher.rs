//! The fetcher: one Fetch per leader, the records it buffers, position validation against
//! the leader epoch, and `auto.offset.reset` through ListOffsets (Fetcher, OffsetFetcher,
//! OffsetsForLeaderEpochUtils).

use super::*;

impl Consumer {
    /// Records from the fetch buffer, up to `max.poll.records` (FetchCollector
    /// `collectFetch`). A partition's chunk is handed out over consecutive polls; once
    /// drained, the partition moves to the end of the fetch order (CompletedFetch `drain`).
    pub(super) fn collect_fetch(&mut self) -> Vec<Chunk> {
        let mut remaining = self.config.max_poll_records as usize;
        let mut out = Vec::new();
        while remaining > 0 {
            let Some(front) = self.buffer.front_mut() else {
                break;
            };
            let tp = front.tp;
            let current = self.positions.get(&tp).copied();
            if current != Some(front.next_offset) || self.validating.contains_key(&tp) {
                self.buffer.pop_front(); // stale: revoked, sought, reset or validating since
                continue;
            }
            let taken = front.split_front(remaining);
            remaining -= taken.len();
            if let Some(epoch) = front.epoch_of(front.next_offset - 1) {
                self.position_epochs.insert(tp, epoch);
            }
            out.push(taken);
            self.positions.insert(tp, front.next_offset);
            if front.is_empty() {
                self.buffer.pop_front();
                if let Some(i) = self.assigned.iter().position(|&p| p == tp) {
                    let p = self.assigned.remove(i);
                    self.assigned.push(p);
                }
            }
        }
        out
    }

    /// Looks up positions for owned partitions that have none: OffsetFetch, then
    /// `auto.offset.reset` (ClassicKafkaConsumer `updateFetchPositions`).
    pub(super) fn update_positions(&mut self, ctx: &mut Ctx) {
        self.send_resets(ctx);
        self.send_validations(ctx);
        self.seek_to_stored_offsets(ctx);
        let missing: Vec<Tp> = self
            .assigned
            .iter()
            .copied()
            .filter(|tp| !self.positions.contains_key(tp) && !self.resolving.contains_key(tp))
            .collect();
        if missing.is_empty() || self.offsets_in_flight {
            return;
        }
        let Some(coordinator) = self.coordinator else {
            return;
        };
        for &tp in &missing {
            self.resolving.insert(tp, Resolve::committed());
        }
        self.offsets_in_flight = true;
        self.next_request_id += 1;
        let msg = Msg::OffsetFetch(OffsetFetchRequest {
            group: self.id.group,
            request_id: self.next_request_id,
            partitions: missing,
        });
        self.send(ctx, coordinator, msg);
    }

    /// `dedupe=stored-offsets`: the application's rebalance listener seeks each newly
    /// assigned partition to the offset its database stored with the data (the javadoc's
    /// "Storing Offsets Outside Kafka"); partitions it has none for go on to OffsetFetch.
    fn seek_to_stored_offsets(&mut self, ctx: &mut Ctx) {
        if self.config.dedupe != Dedupe::StoredOffsets {
            return;
        }
        let stored: Vec<(Tp, u64)> = self
            .assigned
            .iter()
            .filter(|tp| !self.positions.contains_key(tp) && !self.resolving.contains_key(tp))
            .filter_map(|&tp| Some((tp, ctx.stored_offsets.get(self.id.group, tp)?)))
            .collect();
        for (tp, offset) in stored {
            self.set_position(ctx, tp, offset, PositionSource::Stored);
        }
    }

    /// KIP-320, `validatePositionsOnMetadataChange`: a partition whose leader epoch changed
    /// since its position was checked is validated before it is fetched again, if the
    /// position's own epoch is known (otherwise it is taken as it is).
    pub(super) fn check_leader_epochs(&mut self, ctx: &mut Ctx) {
        let changed: Vec<(Tp, u64, u32)> = self
            .positions
            .iter()
            .filter(|(tp, _)| !self.validating.contains_key(tp))
            .filter_map(|(&tp, &offset)| {
                let current = ctx.cluster.state(tp)?.leader_epoch;
                (self.checked_epochs.get(&tp) != Some(&current)).then_some((tp, offset, current))
            })
            .collect();
        for (tp, offset, current) in changed {
            match self.position_epochs.get(&tp).copied() {
                Some(epoch) => self.validate(tp, offset, epoch),
                None => {
                    self.checked_epochs.insert(tp, current);
                }
            }
        }
        self.send_validations(ctx);
    }

    /// AWAIT_VALIDATION: the partition is not fetched until the leader answered.
    pub(super) fn validate(&mut self, tp: Tp, offset: u64, epoch: u32) {
        self.buffer.retain(|c| c.tp != tp);
        self.validating.insert(
            tp,
            Validation {
                offset,
                epoch,
                sent_to: None,
                next_try_ms: 0,
            },
        );
    }

    /// OffsetFetcher `validatePositionsAsync`: one OffsetsForLeaderEpoch per leader.
    pub(super) fn send_validations(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let mut by_leader: VecMap<BrokerId, Vec<(Tp, u32, u32)>> = VecMap::new();
        for (&tp, v) in &self.validating {
            let Some(state) = ctx.cluster.state(tp) else {
                continue;
            };
            // Unanswered for request.timeout.ms (next_try_ms), or failed: sent again.
            if let (Some(leader), true) = (state.leader, v.next_try_ms <= now) {
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp, v.epoch, state.leader_epoch));
            }
        }
        for (leader, partitions) in by_leader {
            for (tp, _, _) in &partitions {
                if let Some(v) = self.validating.get_mut(tp) {
                    v.sent_to = Some(leader);
                    v.next_try_ms = now + REQUEST_TIMEOUT_MS;
                }
            }
            self.next_request_id += 1;
            let msg = Msg::OffsetsForLeaderEpoch {
                request_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    /// `SubscriptionState.maybeCompleteValidation`: a position past where the leader's
    /// log ends for its epoch was truncated away: the consumer moves to the first offset
    /// known to diverge (any reset policy but `none`), or throws LogTruncationException.
    pub(super) fn on_offsets_for_leader_epoch(
        &mut self,
        ctx: &mut Ctx,
        partitions: Vec<(Tp, KafkaError, Option<EpochEnd>)>,
    ) {
        for (tp, error, end) in partitions {
            let Some(v) = self
                .validating
                .get(&tp)
                .copied()
                .filter(|v| v.sent_to.is_some())
            else {
                continue;
            };
            if self.positions.get(&tp) != Some(&v.offset) {
                self.validating.remove(&tp);
                continue;
            }
            if error != KafkaError::None {
                if let Some(v) = self.validating.get_mut(&tp) {
                    v.sent_to = None;
                    v.next_try_ms = ctx.now_ms + RETRY_BACKOFF_MS;
                }
                continue;
            }
            let policy = self.config.auto_offset_reset;
            match end {
                Some((epoch, end_offset)) if end_offset >= v.offset => {
                    let _ = epoch;
                    self.validating.remove(&tp);
                    if let Some(state) = ctx.cluster.state(tp) {
                        self.checked_epochs.insert(tp, state.leader_epoch);
                    }
                }
                _ if policy == AutoOffsetReset::None => {
                    self.fail(
                        ctx,
                        format!(
                            "LogTruncationException: p{} was truncated below offset {} after a leader change",
                            tp.p(),
                            v.offset
                        ),
                    );
                    return;
                }
                Some((epoch, end_offset)) => {
                    self.set_position(ctx, tp, end_offset, PositionSource::Truncation);
                    self.position_epochs.insert(tp, epoch);
                }
                None => {
                    // The leader knows no such epoch: a reset by the policy.
                    self.validating.remove(&tp);
                    let spec = match policy {
                        AutoOffsetReset::Latest => OffsetSpec::Latest,
                        _ => OffsetSpec::Earliest,
                    };
                    self.request_reset(ctx, vec![tp], PositionSource::Reset(policy), spec);
                }
            }
        }
        self.wake_if_polling(ctx);
    }

    /// Puts partitions in AWAIT_RESET (`requestOffsetReset`) and sends what can go now.
    pub(super) fn request_reset(
        &mut self,
        ctx: &mut Ctx,
        tps: Vec<Tp>,
        source: PositionSource,
        spec: OffsetSpec,
    ) {
        for tp in tps {
            self.positions.remove(&tp);
            self.resolving.insert(tp, Resolve::reset(source, spec));
        }
        self.send_resets(ctx);
    }

    /// OffsetFetcher `resetPositionsAsync`: one ListOffsets per leader for the partitions
    /// awaiting a reset whose retry time has come (`request.timeout.ms` after a request, so
    /// a lost one is sent again); a partition without a leader waits for the next poll.
    pub(super) fn send_resets(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let mut by_leader: VecMap<BrokerId, Vec<(Tp, OffsetSpec)>> = VecMap::new();
        for (&tp, r) in &self.resolving {
            let (Some(spec), Some(leader)) = (r.spec, ctx.cluster.leader(tp)) else {
                continue;
            };
            if r.next_try_ms <= now {
                by_leader.entry(leader).or_default().push((tp, spec));
            }
        }
        for (leader, partitions) in by_leader {
            for (tp, _) in &partitions {
                if let Some(r) = self.resolving.get_mut(tp) {
                    r.sent_to = Some(leader);
                    r.next_try_ms = now + REQUEST_TIMEOUT_MS;
                }
            }
            self.next_request_id += 1;
            let msg = Msg::ListOffsets {
                request_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    pub(super) fn on_list_offsets(
        &mut self,
        ctx: &mut Ctx,
        offsets: Vec<(Tp, OffsetSpec, Option<u64>)>,
    ) {
        for (tp, _, offset) in offsets {
            let Some(r) = self.resolving.get_mut(&tp) else {
                continue;
            };
            let Some(source) = r.source.filter(|_| r.sent_to.is_some()) else {
                continue;
            };
            match offset {
                Some(o) if self.assigned.contains(&tp) => self.set_position(ctx, tp, o, source),
                Some(_) => {
                    self.resolving.remove(&tp);
                }
                None => {
                    // NOT_LEADER_OR_FOLLOWER and the like: try again after a backoff.
                    r.sent_to = None;
                    r.next_try_ms = ctx.now_ms + RETRY_BACKOFF_MS;
                }
            }
        }
    }

    /// Sends a fetch to each leader of owned partitions with a position and no buffered
    /// records, unless one is in flight to it or it is backing off after an error.
    pub(super) fn send_fetch(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        // NetworkClient `handleTimedOutRequests`: a fetch unanswered for request.timeout.ms
        // fails (a message lost on a cut link is found out this way) and is sent again.
        let timed_out: Vec<BrokerId> = self
            .fetch_in_flight
            .iter()
            .filter(|(_, &(_, sent))| now >= sent.saturating_add(REQUEST_TIMEOUT_MS))
            .map(|(&b, _)| b)
            .collect();
        for b in timed_out {
            self.request_failed(ctx, b, true);
        }
        self.fetch_backoff_until.retain(|_, until| *until > now);
        self.check_leader_epochs(ctx);
        let mut by_leader: VecMap<BrokerId, Vec<(Tp, u64)>> = VecMap::new();
        for tp in &self.assigned {
            if self.buffer.iter().any(|f| f.tp == *tp) || self.validating.contains_key(tp) {
                continue;
            }
            let (Some(&offset), Some(leader)) = (self.positions.get(tp), ctx.cluster.leader(*tp))
            else {
                continue;
            };
            if self.fetch_in_flight.contains_key(&leader)
                || self.fetch_backoff_until.contains_key(&leader)
            {
                continue;
            }
            by_leader.entry(leader).or_default().push((*tp, offset));
        }
        for (leader, partitions) in by_leader {
            self.next_request_id += 1;
            self.fetch_in_flight
                .insert(leader, (self.next_request_id, now));
            let msg = Msg::Fetch {
                fetch_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    pub(super) fn on_fetch_response(
        &mut self,
        ctx: &mut Ctx,
        fetch_id: u64,
        parts: Vec<FetchedPartition>,
    ) {
        let Some(leader) = self
            .fetch_in_flight
            .iter()
            .find(|(_, &(id, _))| id == fetch_id)
            .map(|(&b, _)| b)
        else {
            return;
        };
        self.fetch_in_flight.remove(&leader);
        for part in parts {
            let tp = part.tp;
            if !self.assigned.contains(&tp) || self.positions.get(&tp) != Some(&part.fetch_offset) {
                continue; // revoked or moved since the fetch was sent
            }
            match part.error {
                KafkaError::None if !part.records.is_empty() => {
                    let end = part.records.len();
                    self.buffer.push_back(Chunk {
                        tp,
                        next_offset: part.fetch_offset,
                        records: part.records,
                        next: 0,
                        end,
                        epochs: part.epochs.into(),
                    });
                }
                KafkaError::OffsetOutOfRange if self.out_of_range(ctx, tp) => return,
                // The leader moved or is down: refresh metadata, back off, fetch again.
                KafkaError::NotLeaderOrFollower | KafkaError::NetworkException => {
                    let until = ctx.now_ms + RETRY_BACKOFF_MS;
                    self.fetch_backoff_until.insert(leader, until);
                }
                _ => {}
            }
        }
        self.wake_if_polling(ctx);
    }

    /// OFFSET_OUT_OF_RANGE: `auto.offset.reset` applies, or (none) the consumer throws
    /// OffsetOutOfRangeException (FetchCollector `handleInitializeErrors`). Returns true
    /// when the consumer failed.
    pub(super) fn out_of_range(&mut self, ctx: &mut Ctx, tp: Tp) -> bool {
        let policy = self.config.auto_offset_reset;
        let spec = match policy {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::None => {
                let offset = self.positions.get(&tp).copied().unwrap_or(0);
                self.fail(
                    ctx,
                    format!(
                        "OffsetOutOfRangeException: offset {offset} of p{} is out of range and auto.offset.reset=none",
                        tp.p()
                    ),
                );
                return true;
            }
        };
        self.request_reset(ctx, vec![tp], PositionSource::OutOfRange(policy), spec);
        false
    }
}
