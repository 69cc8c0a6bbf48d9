//! The follower side: fetching from each leader, truncating at a diverging epoch, backing
//! off a failed leader, and applying the partition states the controller publishes
//! (ReplicaFetcherThread, Partition.makeFollower/makeLeader).

use super::*;

impl Broker {
    /// Sends a fetch to every leader this broker follows and has none in flight to.
    pub fn fetch_from_leaders(&mut self, ctx: &mut Ctx) {
        if !self.alive {
            return;
        }
        let mut by_leader: VecMap<BrokerId, Vec<ReplicaFetchPartition>> = VecMap::new();
        for (&tp, h) in &self.hosted {
            let Some(leader) = h.state.leader else {
                continue;
            };
            if leader == self.id || !h.state.replicas.contains(&self.id) {
                continue;
            }
            if self.fetching.contains_key(&leader) {
                continue;
            }
            let Some(log) = self.log(tp) else {
                continue;
            };
            by_leader
                .entry(leader)
                .or_default()
                .push(ReplicaFetchPartition {
                    tp,
                    fetch_offset: log.log_end_offset(),
                    last_fetched_epoch: log.epochs.latest(),
                    leader_epoch: h.state.leader_epoch,
                });
        }
        for (leader, partitions) in by_leader {
            self.next_fetch_id += 1;
            self.fetching
                .insert(leader, (self.next_fetch_id, ctx.now_ms));
            self.arm_fetch_timer(ctx, ctx.now_ms + REPLICA_SOCKET_TIMEOUT_MS);
            ctx.out.send(
                self.node(),
                NodeId::Broker(leader),
                Msg::ReplicaFetch {
                    fetch_id: self.next_fetch_id,
                    partitions,
                },
            );
        }
    }

    pub(super) fn on_replica_fetch_response(
        &mut self,
        ctx: &mut Ctx,
        leader: BrokerId,
        fetch_id: u64,
        parts: Vec<ReplicaFetchedPartition>,
    ) {
        if self.fetching.get(&leader).map(|f| f.0) != Some(fetch_id) {
            return;
        }
        self.fetching.remove(&leader);
        let mut failed = false;
        for part in parts {
            let follows = self
                .hosted
                .get(&part.tp)
                .is_some_and(|h| h.state.leader == Some(leader) && h.state.leader != Some(self.id));
            if !follows {
                continue;
            }
            let Some(log) = self.log_mut(part.tp) else {
                continue;
            };
            if part.error == KafkaError::OffsetOutOfRange {
                // ReplicaFetcherThread: below the leader's log start, truncate fully and
                // start there.
                let dropped = log.truncate_fully_and_start_at(part.log_start_offset);
                self.follower_truncated(ctx, part.tp, part.log_start_offset, dropped);
                continue;
            }
            if part.error != KafkaError::None {
                failed = true;
                continue;
            }
            if log.log_end_offset() != part.fetch_offset {
                continue; // truncated or grown since: the next fetch asks again
            }
            if let Some((epoch, leader_end)) = part.diverging {
                // getOffsetTruncationState: the follower's own end of the leader's epoch
                // counts too (one round; a further divergence shows at the next fetch).
                let leo = log.log_end_offset();
                let end = replication::truncation_offset(&log.epochs, leo, epoch, leader_end);
                let dropped = log.truncate_to(end);
                self.follower_truncated(ctx, part.tp, end, dropped);
                continue;
            }
            let base = log.append_uncommitted(&part.records);
            let _ = base;
            for &(epoch, start) in &part.epochs {
                log.epochs.assign(epoch, start);
            }
            log.set_high_watermark(part.high_watermark);
            // UnifiedLog.maybeIncrementLogStartOffset from the leader's fetch response.
            log.raise_log_start(part.log_start_offset);
            // UnifiedLog.appendAsFollower: the producer state follows the leader's.
            for &meta in &part.batches {
                self.remember(part.tp, meta);
            }
        }
        if failed {
            self.arm_backoff(ctx);
        } else {
            self.fetch_from_leaders(ctx);
        }
    }

    pub(super) fn arm_backoff(&mut self, ctx: &mut Ctx) {
        if !self.backoff_armed {
            self.backoff_armed = true;
            ctx.out.timer(
                ctx.now_ms + REPLICA_FETCH_BACKOFF_MS,
                self.node(),
                Timer::Broker(BrokerTimer::ReplicaFetchBackoff {
                    incarnation: self.incarnation,
                }),
            );
        }
    }

    /// A fetch to `leader` failed on the way (it is down): back off, then fetch again.
    pub fn replica_fetch_failed(&mut self, ctx: &mut Ctx, leader: BrokerId) {
        if self.fetching.remove(&leader).is_some() {
            self.arm_backoff(ctx);
        }
    }

    /// One timer serves every fetch in flight, armed for the earliest deadline.
    pub(super) fn arm_fetch_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        if self.fetch_timer_at.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.fetch_timer_at = Some(at_ms);
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::ReplicaFetchTimeout {
                incarnation: self.incarnation,
            }),
        );
    }

    /// `replica.socket.timeout.ms` (BrokerBlockingSender): a fetch to a leader that got no
    /// answer fails, and the fetcher backs off `replica.fetch.backoff.ms` and fetches again
    /// (AbstractFetcherThread `handlePartitionsWithErrors`). A message lost on a cut link is
    /// found out this way.
    pub(super) fn replica_fetch_timeouts(&mut self, ctx: &mut Ctx) {
        if self.fetch_timer_at.is_some_and(|at| at <= ctx.now_ms) {
            self.fetch_timer_at = None;
        }
        let now = ctx.now_ms;
        let before = self.fetching.len();
        self.fetching
            .retain(|_, &mut (_, sent)| now < sent.saturating_add(REPLICA_SOCKET_TIMEOUT_MS));
        if self.fetching.len() < before {
            self.arm_backoff(ctx);
        }
        if let Some(next) = self.fetching.values().map(|&(_, sent)| sent).min() {
            self.arm_fetch_timer(ctx, next + REPLICA_SOCKET_TIMEOUT_MS);
        }
    }

    /// A `__consumer_offsets` partition's leadership won or lost: the coordinator in this
    /// process hears of it (it loads or gives up the groups that live there).
    fn coordinator_news(&mut self, k: u32, tp: Tp, led: bool, state: &PartitionState) {
        self.offsets_logs.entry(k).or_default();
        let leads = state.leader == Some(self.id);
        let new_epoch = self
            .hosted
            .get(&tp)
            .is_none_or(|h| h.state.leader_epoch != state.leader_epoch);
        if leads && (!led || new_epoch) {
            self.news.push(CoordinatorNews::Elected(k));
        } else if led && !leads {
            self.news.push(CoordinatorNews::Resigned(k));
        }
    }

    /// A new leader epoch on this replica: as the leader it starts the epoch at its log end
    /// and tracks each follower afresh (`Partition.makeLeader`); as a follower it only keeps
    /// the record.
    fn new_epoch(&mut self, ctx: &Ctx, tp: Tp, state: &PartitionState, leo: u64) -> Hosted {
        let leads = state.leader == Some(self.id);
        let mut followers = Vec::new();
        if leads {
            let id = self.id;
            followers = state
                .replicas
                .iter()
                .filter(|&&b| b != id)
                .map(|&b| FollowerState::new(b, state.isr.contains(&b), ctx.now_ms))
                .collect();
            if let Some(log) = self.log_mut(tp) {
                log.epochs.assign(state.leader_epoch, leo);
            }
        }
        Hosted {
            state: state.clone(),
            followers,
            epoch_start_offset: leo,
            alter_sent_ms: None,
        }
    }

    /// The controller's record of a partition changed (created, a new leader, a new ISR):
    /// become its leader or follower, as `Partition.makeLeader` / `makeFollower` do.
    pub fn apply_state(&mut self, ctx: &mut Ctx, tp: Tp, state: &PartitionState) {
        let led = self.leads(tp);
        if !self.alive || !state.replicas.contains(&self.id) {
            self.hosted.remove(&tp);
            return;
        }
        if let Some(k) = Cluster::offsets_partition_of(tp) {
            self.coordinator_news(k, tp, led, state);
        }
        let roll = ctx
            .cluster
            .topic(tp.topic)
            .map_or(OFFSETS_ROLL, |t| t.config.roll());
        if let Some(log) = self.log_mut(tp) {
            log.set_roll(roll);
        }
        let leo = self.log(tp).map_or(0, PartitionLog::log_end_offset);
        let id = self.id;
        let previous = self.hosted.get(&tp).cloned();
        let same_epoch = previous.as_ref().is_some_and(|p| {
            p.state.leader_epoch == state.leader_epoch && p.state.leader == state.leader
        });
        let leads = state.leader == Some(id);
        let hosted = if same_epoch {
            // An ISR change only: keep what the leader knows of its followers.
            let mut h = previous.expect("same epoch");
            h.state = state.clone();
            h.alter_sent_ms = None;
            h
        } else {
            self.new_epoch(ctx, tp, state, leo)
        };
        self.hosted.insert(tp, hosted);
        if !same_epoch && state.leader_epoch > 0 {
            let event = if leads {
                BrokerEvent::BecameLeader {
                    tp,
                    leader_epoch: state.leader_epoch,
                }
            } else {
                BrokerEvent::BecameFollower {
                    tp,
                    leader: state.leader,
                    leader_epoch: state.leader_epoch,
                }
            };
            let at_ms = ctx.now_ms;
            ctx.out.event(Event::Broker {
                at_ms,
                broker: id,
                event,
            });
        }
        if leads {
            self.maybe_increment_hw(ctx, tp);
            self.arm_isr_timer(ctx);
        }
        // Whatever waited on this partition and can no longer be served is answered.
        self.complete_parked(ctx, &[tp]);
        self.try_complete_pending(ctx);
        self.complete_parked_replica(ctx, &[tp]);
        if !leads {
            self.fetch_from_leaders(ctx);
        }
    }

    /// Applies metadata the controller wrote at `offset` directly (a topic created or
    /// partitions added: admin changes the lab applies at once), if this broker was up to
    /// date; one that was not catches up through its heartbeat.
    pub fn apply_created(&mut self, ctx: &mut Ctx, offset: u64, tp: Tp, state: &PartitionState) {
        if self.serving() && self.lifecycle.metadata_offset + 1 >= offset {
            self.lifecycle.metadata_offset = offset;
            self.apply_state(ctx, tp, state);
        }
    }

    /// After a truncation to `end`: the producer state is rebuilt, and dropped records
    /// are an event (the ledger follows where each record still lives).
    fn follower_truncated(&mut self, ctx: &mut Ctx, tp: Tp, end: u64, dropped: Vec<LogRecord>) {
        self.rebuild_producer_state(tp, end);
        if dropped.is_empty() {
            return;
        }
        let records = dropped.iter().map(|r| r.record_id).collect();
        let event = BrokerEvent::Truncated {
            tp,
            to_offset: end,
            records,
        };
        let at_ms = ctx.now_ms;
        ctx.out.event(Event::Broker {
            at_ms,
            broker: self.id,
            event,
        });
    }
}
