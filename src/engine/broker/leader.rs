//! The leader side of replication: the ISR and min.insync.replicas, the high watermark,
//! acks=all produces waiting for followers, follower fetches answered, and the ISR
//! shrinking (Partition.scala's leader half, DelayedProduce).

use super::*;

impl Broker {
    pub(super) fn isr_size(&self, tp: Tp) -> usize {
        self.hosted.get(&tp).map_or(0, |h| h.state.isr.len())
    }

    /// `Partition.effectiveMinIsr`: `min.insync.replicas`, but never more than the replicas.
    pub(super) fn effective_min_isr(&self, ctx: &Ctx, tp: Tp) -> usize {
        let replicas = self.hosted.get(&tp).map_or(1, |h| h.state.replicas.len());
        usize::from(ctx.cluster.min_insync_replicas(tp.topic)).min(replicas)
    }

    /// After records were appended as leader: move the high watermarks, then answer what
    /// waited for them (consumers' fetches, `acks=all` produces, followers' fetches).
    pub(super) fn after_leader_append(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if touched.is_empty() {
            return;
        }
        for &tp in touched {
            self.maybe_increment_hw(ctx, tp);
        }
        self.complete_parked(ctx, touched);
        self.try_complete_pending(ctx);
        self.complete_parked_replica(ctx, touched);
    }

    /// `Partition.maybeIncrementLeaderHW`. Returns true when it moved.
    pub(super) fn maybe_increment_hw(&mut self, ctx: &Ctx, tp: Tp) -> bool {
        let min_isr = self.effective_min_isr(ctx, tp);
        let Some(h) = self.hosted.get(&tp) else {
            return false;
        };
        if h.state.leader != Some(self.id) {
            return false;
        }
        // Partition.maybeIncrementLeaderHW: the ISR, and also a follower outside it that is
        // caught up and eligible to join it (`shouldWaitForReplicaToJoinIsr`), so that a
        // follower catching up under steady writes can reach the high watermark and rejoin.
        let leo = self.log(tp).map_or(0, PartitionLog::log_end_offset);
        let lag = ctx.cluster.replication.replica_lag_time_max_ms;
        let isr_followers: Vec<Option<u64>> = h
            .followers
            .iter()
            .filter(|f| {
                h.state.isr.contains(&f.broker)
                    || (f.log_end_offset.is_some()
                        && f.caught_up(leo, ctx.now_ms, lag)
                        && ctx.cluster.is_live(f.broker))
            })
            .map(|f| f.log_end_offset)
            .collect();
        let isr_size = h.state.isr.len();
        let Some(log) = self.log_mut(tp) else {
            return false;
        };
        let before = log.high_watermark();
        let hw = replication::high_watermark(
            before,
            log.log_end_offset(),
            isr_followers.into_iter(),
            isr_size,
            min_isr,
        );
        log.set_high_watermark(hw);
        let moved = log.high_watermark() > before;
        if moved {
            if let Some(k) = Cluster::offsets_partition_of(tp) {
                self.news.push(CoordinatorNews::HighWatermark(k, hw));
            }
        }
        moved
    }

    /// One timer serves every parked produce, armed for the earliest deadline (a timer per
    /// request would keep `request.timeout.ms` worth of no-ops in the kernel's queue, which
    /// every time-travel checkpoint then copies).
    pub(super) fn arm_produce_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.produce_timer_at.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.produce_timer_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::ProduceTimeout {
                incarnation: self.incarnation,
            }),
        );
    }

    pub(super) fn try_complete_pending(&mut self, ctx: &mut Ctx) {
        if self.pending.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.pending.len() {
            let done = self.pending[i].waits.iter().all(|&(tp, required)| {
                !self.leads(tp) || self.log(tp).is_some_and(|l| l.high_watermark() >= required)
            });
            if done {
                let p = self.pending.remove(i);
                self.answer_pending(ctx, p, false);
            } else {
                i += 1;
            }
        }
    }

    /// Answers a delayed produce (`Partition.checkEnoughReplicasReachOffset`, and
    /// REQUEST_TIMED_OUT for what had not reached the ISR in time).
    pub(super) fn answer_pending(&mut self, ctx: &mut Ctx, mut p: PendingProduce, timed_out: bool) {
        for r in &mut p.results {
            let Some(&(tp, required)) = p.waits.iter().find(|(tp, _)| *tp == r.tp) else {
                continue;
            };
            if r.error != KafkaError::None {
                continue;
            }
            let reached = self.log(tp).is_some_and(|l| l.high_watermark() >= required);
            r.error = if !self.leads(tp) {
                KafkaError::NotLeaderOrFollower
            } else if !reached && timed_out {
                KafkaError::RequestTimedOut
            } else if self.isr_size(tp) < self.effective_min_isr(ctx, tp) {
                KafkaError::NotEnoughReplicasAfterAppend
            } else {
                KafkaError::None
            };
        }
        ctx.out.send(
            self.node(),
            p.from,
            Msg::ProduceResponse {
                request_id: p.request_id,
                results: p.results,
            },
        );
    }

    pub(super) fn on_replica_fetch(
        &mut self,
        ctx: &mut Ctx,
        follower: BrokerId,
        fetch_id: u64,
        partitions: Vec<ReplicaFetchPartition>,
    ) {
        let mut moved = Vec::new();
        for p in &partitions {
            if self.diverging(p).is_some() || !self.leads(p.tp) {
                continue;
            }
            let Some(leo) = self.log(p.tp).map(PartitionLog::log_end_offset) else {
                continue;
            };
            let hw = self.log(p.tp).map_or(0, PartitionLog::high_watermark);
            let Some(h) = self.hosted.get_mut(&p.tp) else {
                continue;
            };
            if let Some(f) = h.followers.iter_mut().find(|f| f.broker == follower) {
                f.fetched(p.fetch_offset.min(leo), leo, ctx.now_ms);
            }
            // Partition.maybeExpandIsr: a follower at the high watermark (and past this
            // epoch's start) rejoins the ISR.
            let rejoin = !h.state.isr.contains(&follower)
                && !h.alter_pending(ctx.now_ms)
                && p.fetch_offset >= hw
                && p.fetch_offset >= h.epoch_start_offset
                && ctx.cluster.is_live(follower);
            if rejoin {
                // Partition.prepareIsrExpand: the follower goes to the end of the ISR.
                let mut isr = h.state.isr.clone();
                isr.push(follower);
                h.alter_sent_ms = Some(ctx.now_ms);
                let request = AlterPartition {
                    tp: p.tp,
                    leader: self.id,
                    leader_epoch: h.state.leader_epoch,
                    isr,
                };
                ctx.out.send(
                    self.node(),
                    NodeId::Controller,
                    Msg::AlterPartition(request),
                );
            }
            if self.maybe_increment_hw(ctx, p.tp) {
                moved.push(p.tp);
            }
        }
        if !moved.is_empty() {
            self.complete_parked(ctx, &moved);
            self.try_complete_pending(ctx);
        }
        let fetch = ParkedReplicaFetch {
            follower,
            fetch_id,
            partitions,
        };
        if self.replica_has_data(&fetch) {
            self.respond_replica_fetch(ctx, &fetch);
        } else {
            ctx.out.timer(
                ctx.now_ms + ctx.cluster.replication.replica_fetch_wait_max_ms,
                self.node(),
                Timer::Broker(BrokerTimer::ReplicaFetchWait { follower, fetch_id }),
            );
            self.parked_replica.push(fetch);
        }
    }

    /// KIP-320: the follower's last epoch ends earlier here (or is unknown here), so its
    /// log diverged: `(epoch, end offset)` it must truncate to.
    pub(super) fn diverging(&self, p: &ReplicaFetchPartition) -> Option<(u32, u64)> {
        let epoch = p.last_fetched_epoch?;
        let log = self.log(p.tp)?;
        if !self.leads(p.tp) {
            return None;
        }
        match log.epochs.end_offset_for(epoch, log.log_end_offset()) {
            Some((e, end)) if e == epoch && end >= p.fetch_offset => None,
            Some((e, end)) => Some((e, end.min(p.fetch_offset))),
            None => Some((0, log.log_start_offset())),
        }
    }

    pub(super) fn replica_has_data(&self, fetch: &ParkedReplicaFetch) -> bool {
        fetch.partitions.iter().any(|p| {
            !self.leads(p.tp)
                || self.diverging(p).is_some()
                || self
                    .log(p.tp)
                    .is_none_or(|l| p.fetch_offset < l.log_end_offset())
        })
    }

    pub(super) fn complete_parked_replica(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if self.parked_replica.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.parked_replica.len() {
            let relevant = self.parked_replica[i]
                .partitions
                .iter()
                .any(|p| touched.contains(&p.tp));
            if relevant && self.replica_has_data(&self.parked_replica[i]) {
                let fetch = self.parked_replica.remove(i);
                self.respond_replica_fetch(ctx, &fetch);
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn respond_replica_fetch(&self, ctx: &mut Ctx, fetch: &ParkedReplicaFetch) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|p| self.replica_fetch_partition(p))
            .collect();
        ctx.out.send(
            self.node(),
            NodeId::Broker(fetch.follower),
            Msg::ReplicaFetchResponse {
                fetch_id: fetch.fetch_id,
                partitions,
            },
        );
    }

    /// The idempotent batches a follower gets with records `[from, end)`.
    fn batches_between(&self, tp: Tp, from: u64, end: u64) -> Vec<BatchMeta> {
        let Some(metas) = self.batch_meta.get(&tp) else {
            return Vec::new();
        };
        let first = metas.partition_point(|m| m.base_offset < from);
        metas
            .range(first, metas.len())
            .take_while(|m| m.base_offset < end)
            .copied()
            .collect()
    }

    pub(super) fn replica_fetch_partition(
        &self,
        p: &ReplicaFetchPartition,
    ) -> ReplicaFetchedPartition {
        let mut out = ReplicaFetchedPartition {
            tp: p.tp,
            error: KafkaError::None,
            fetch_offset: p.fetch_offset,
            high_watermark: 0,
            log_start_offset: 0,
            diverging: None,
            epochs: Vec::new(),
            batches: Vec::new(),
            records: Rc::new(Vec::new()),
        };
        let Some(log) = self.log(p.tp) else {
            out.error = KafkaError::UnknownTopicOrPartition;
            return out;
        };
        out.high_watermark = log.high_watermark();
        out.log_start_offset = log.log_start_offset();
        let epoch = self.hosted.get(&p.tp).map_or(0, |h| h.state.leader_epoch);
        if !self.leads(p.tp) {
            out.error = KafkaError::NotLeaderOrFollower;
            return out;
        }
        if p.leader_epoch < epoch {
            out.error = KafkaError::FencedLeaderEpoch;
            return out;
        }
        if let Some(d) = self.diverging(p) {
            out.diverging = Some(d);
            return out;
        }
        if p.fetch_offset < log.log_start_offset() {
            // Below what retention left: the follower starts over at the log start.
            out.error = KafkaError::OffsetOutOfRange;
            return out;
        }
        let mut bytes = 0u64;
        let mut records = Vec::new();
        let mut end = p.fetch_offset;
        for (o, r) in log.range(p.fetch_offset, log.log_end_offset()) {
            bytes += u64::from(r.size_bytes);
            if bytes > REPLICA_FETCH_MAX_BYTES && !records.is_empty() {
                break;
            }
            records.push(*r);
            end = o + 1;
        }
        let entries = log.epochs.entries();
        let first = entries
            .iter()
            .rposition(|&(_, start)| start <= p.fetch_offset)
            .unwrap_or(0);
        out.epochs = entries[first..]
            .iter()
            .copied()
            .filter(|&(_, start)| start < end.max(p.fetch_offset + 1))
            .collect();
        out.batches = self.batches_between(p.tp, p.fetch_offset, end);
        out.records = Rc::new(records);
        out
    }

    pub(super) fn arm_isr_timer(&mut self, ctx: &mut Ctx) {
        let leads_followers = self
            .hosted
            .values()
            .any(|h| h.state.leader == Some(self.id) && h.state.replicas.len() > 1);
        if self.isr_timer_armed || !leads_followers || !self.alive {
            return;
        }
        self.isr_timer_armed = true;
        ctx.out.timer(
            ctx.now_ms + ctx.cluster.replication.replica_lag_time_max_ms / 2,
            self.node(),
            Timer::Broker(BrokerTimer::IsrExpiration {
                incarnation: self.incarnation,
            }),
        );
    }

    /// `Partition.maybeShrinkIsr`: ISR followers that have not caught up within
    /// `replica.lag.time.max.ms` are removed (through the controller).
    pub(super) fn shrink_isr(&mut self, ctx: &mut Ctx) {
        let lag = ctx.cluster.replication.replica_lag_time_max_ms;
        let tps: Vec<Tp> = self.hosted.keys().copied().collect();
        for tp in tps {
            let Some(leo) = self.log(tp).map(PartitionLog::log_end_offset) else {
                continue;
            };
            let id = self.id;
            let Some(h) = self.hosted.get_mut(&tp) else {
                continue;
            };
            if h.state.leader != Some(id) || h.alter_pending(ctx.now_ms) {
                continue;
            }
            let out_of_sync: Vec<BrokerId> = h
                .followers
                .iter()
                .filter(|f| h.state.isr.contains(&f.broker) && !f.caught_up(leo, ctx.now_ms, lag))
                .map(|f| f.broker)
                .collect();
            if out_of_sync.is_empty() {
                continue;
            }
            // The leader never proposes an ISR without itself: it is never out of sync with
            // its own log (Partition.maybeShrinkIsr looks at followers only).
            debug_assert!(!out_of_sync.contains(&id), "a leader out of its own ISR");
            let isr: Vec<BrokerId> = h
                .state
                .isr
                .iter()
                .copied()
                .filter(|b| !out_of_sync.contains(b))
                .collect();
            debug_assert!(
                isr.len() < h.state.isr.len(),
                "a shrink that removes nobody"
            );
            h.alter_sent_ms = Some(ctx.now_ms);
            let request = AlterPartition {
                tp,
                leader: id,
                leader_epoch: h.state.leader_epoch,
                isr,
            };
            ctx.out.send(
                NodeId::Broker(id),
                NodeId::Controller,
                Msg::AlterPartition(request),
            );
        }
    }

    /// The controller answered an AlterPartition: the ISR itself comes with the metadata,
    /// and an error lets the next check try again.
    pub(super) fn on_alter_partition_response(&mut self, tp: Tp) {
        if let Some(h) = self.hosted.get_mut(&tp) {
            h.alter_sent_ms = None;
        }
    }
}
