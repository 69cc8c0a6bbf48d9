//! The log side: Produce with the idempotent producers' sequence checks, the batches
//! remembered for duplicates, and the coordinator's own appends (UnifiedLog.append,
//! ProducerStateManager).

use super::*;

impl Broker {
    /// Appends a group coordinator's record to partition `k` of `__consumer_offsets` as
    /// its leader (`CoordinatorPartitionWriter.append`, acks=1: the coordinator waits for
    /// the high watermark itself). Returns the record's offset.
    ///
    /// # Errors
    /// NOT_COORDINATOR when this broker does not lead the partition.
    pub fn append_coordinator_record(
        &mut self,
        ctx: &mut Ctx,
        k: u32,
        record: LogRecord,
    ) -> Result<u64, KafkaError> {
        let tp = Tp::new(OFFSETS_TOPIC, k);
        if !self.leads(tp) {
            return Err(KafkaError::NotCoordinator);
        }
        let log = self.log_mut(tp).ok_or(KafkaError::NotCoordinator)?;
        let offset = log.append_uncommitted(&[record]);
        self.after_leader_append(ctx, &[tp]);
        Ok(offset)
    }

    /// Appends directly (records typed by hand: an admin path with no producer client).
    pub fn append_direct(&mut self, ctx: &mut Ctx, tp: Tp, record: LogRecord) -> Option<u64> {
        let base = self.log_mut(tp)?.append_uncommitted(&[record]);
        self.after_leader_append(ctx, &[tp]);
        Some(base)
    }

    pub(super) fn on_produce(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        request_id: u64,
        acks: Acks,
        pid: i64,
        batches: Vec<ProduceBatch>,
    ) {
        // A producer, or the application in a consumer's process writing a dead letter.
        let producer = match from {
            NodeId::Producer(p) => Some(p),
            NodeId::Consumer(_) => None,
            _ => return,
        };
        let mut results = Vec::with_capacity(batches.len());
        let mut touched = Vec::with_capacity(batches.len());
        let mut waits = Vec::new();
        for batch in batches {
            let refused = self.leader_refusal(ctx, acks.all, &batch);
            let result = match (refused, producer) {
                (Some(error), _) => BatchResult {
                    batch_id: batch.batch_id,
                    tp: batch.tp,
                    error,
                    base_offset: None,
                },
                (None, Some(p)) => self.produce_batch(ctx, p, request_id, pid, &batch),
                (None, None) => self.dead_letter_batch(ctx, &batch),
            };
            if result.error == KafkaError::None {
                touched.push(batch.tp);
                if let (true, Some(base)) = (acks.all, result.base_offset) {
                    waits.push((batch.tp, base + batch.records.len() as u64));
                }
            }
            results.push(result);
        }
        self.after_leader_append(ctx, &touched);
        if acks.zero {
            return;
        }
        let satisfied = waits
            .iter()
            .all(|&(tp, required)| self.log(tp).is_some_and(|l| l.high_watermark() >= required));
        if satisfied {
            ctx.out.send(
                self.node(),
                from,
                Msg::ProduceResponse {
                    request_id,
                    results,
                },
            );
            return;
        }
        // DelayedProduce: answer when the high watermark passes every batch, or time out.
        let deadline_ms = ctx.now_ms.saturating_add(acks.timeout_ms);
        self.arm_produce_timer(ctx, deadline_ms);
        self.pending.push(PendingProduce {
            deadline_ms,
            from,
            request_id,
            results,
            waits,
        });
    }

    /// Why this broker may not append to `tp` as its leader, if it may not: an unknown
    /// partition, not the leader, or (Partition.appendRecordsToLeader) `acks=all` while the
    /// ISR is below `min.insync.replicas`, which writes nothing.
    fn leader_refusal(
        &self,
        ctx: &Ctx,
        acks_all: bool,
        batch: &ProduceBatch,
    ) -> Option<KafkaError> {
        let tp = batch.tp;
        // LogValidator.validateKey: a compacted topic cannot accept a record without a key.
        let compacted = ctx
            .cluster
            .topic(tp.topic)
            .is_some_and(|t| t.config.compacted());
        if self.log(tp).is_none() {
            Some(KafkaError::UnknownTopicOrPartition)
        } else if !self.leads(tp) {
            Some(KafkaError::NotLeaderOrFollower)
        } else if acks_all && self.isr_size(tp) < self.effective_min_isr(ctx, tp) {
            Some(KafkaError::NotEnoughReplicas)
        } else if compacted && batch.records.iter().any(|r| r.key.is_none()) {
            Some(KafkaError::InvalidRecord)
        } else {
            None
        }
    }

    /// Appends an application's dead letters (not idempotent), each reported as appended;
    /// the leader's checks passed.
    fn dead_letter_batch(&mut self, ctx: &mut Ctx, batch: &ProduceBatch) -> BatchResult {
        let tp = batch.tp;
        let log = self.log_mut(tp).expect("checked by the caller");
        let base_offset = log.append_uncommitted(&batch.records);
        for (i, r) in batch.records.iter().enumerate() {
            ctx.out.event(Event::RecordAppended {
                at_ms: ctx.now_ms,
                record_id: r.record_id,
                key: r.key,
                tp,
                offset: base_offset + i as u64,
                reason: crate::engine::event::PartitionReason::Explicit,
            });
        }
        BatchResult {
            batch_id: batch.batch_id,
            tp,
            error: KafkaError::None,
            base_offset: Some(base_offset),
        }
    }

    /// A producer's batch, the leader's checks passed: the idempotent sequence check,
    /// then the append.
    pub(super) fn produce_batch(
        &mut self,
        ctx: &mut Ctx,
        producer: ProducerId,
        request_id: u64,
        pid: i64,
        batch: &ProduceBatch,
    ) -> BatchResult {
        let tp = batch.tp;
        let mut result = BatchResult {
            batch_id: batch.batch_id,
            tp,
            error: KafkaError::None,
            base_offset: None,
        };
        let check = match batch.base_sequence {
            Some(base) if pid >= 0 => self.check_sequence(pid, tp, batch.epoch, base, batch),
            _ => SequenceCheck::Append,
        };
        let event = |event| Event::Producer {
            at_ms: ctx.now_ms,
            producer,
            event,
        };
        match check {
            SequenceCheck::Refuse(error) => {
                if error == KafkaError::OutOfOrderSequenceNumber {
                    ctx.out.event(event(ProducerEvent::OutOfOrderSequence {
                        request_id,
                        tp,
                        base_sequence: batch.base_sequence.unwrap_or(-1),
                    }));
                }
                result.error = error;
            }
            SequenceCheck::Duplicate(base_offset) => {
                ctx.out.event(event(ProducerEvent::DuplicateBatchDropped {
                    request_id,
                    tp,
                    base_sequence: batch.base_sequence.unwrap_or(-1),
                }));
                // UnifiedLog.append: a duplicate gets its first append's offsets and no
                // error; with acks=all it then waits for the high watermark like any append
                // (ReplicaManager `delayedProduceRequestRequired`).
                result.base_offset = Some(base_offset);
            }
            SequenceCheck::Append => {
                let log = self.log_mut(tp).expect("checked above");
                let base_offset = log.append_uncommitted(&batch.records);
                if let (Some(base), true) = (batch.base_sequence, pid >= 0) {
                    self.remember_batch(pid, tp, batch, base, base_offset);
                }
                ctx.out.event(event(ProducerEvent::Appended {
                    request_id,
                    broker: self.id,
                    tp,
                    base_offset,
                    count: batch.records.len() as u32,
                }));
                result.base_offset = Some(base_offset);
            }
        }
        result
    }

    /// ProducerAppendInfo `checkProducerEpoch` and `checkSequence`, and
    /// ProducerStateEntry `findDuplicateBatch`.
    pub(super) fn check_sequence(
        &self,
        pid: i64,
        tp: Tp,
        epoch: u16,
        base: i32,
        batch: &ProduceBatch,
    ) -> SequenceCheck {
        let Some(entry) = self.producer_states.get(&(pid, tp)) else {
            return SequenceCheck::Append; // no epoch known yet: any first sequence
        };
        if epoch < entry.epoch {
            return SequenceCheck::Refuse(KafkaError::InvalidProducerEpoch);
        }
        if epoch > entry.epoch {
            // A new epoch must start at sequence 0.
            return if base == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
            };
        }
        let last = crate::engine::msg::last_sequence(base, batch.records.len());
        if let Some(&(_, _, offset)) = entry
            .batches
            .iter()
            .find(|&&(f, l, _)| f == base && l == last)
        {
            return SequenceCheck::Duplicate(offset);
        }
        let in_sequence = base == entry.last_sequence.wrapping_add(1)
            || (base == 0 && entry.last_sequence == i32::MAX);
        if in_sequence {
            SequenceCheck::Append
        } else {
            SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
        }
    }

    pub(super) fn remember_batch(
        &mut self,
        pid: i64,
        tp: Tp,
        batch: &ProduceBatch,
        base: i32,
        offset: u64,
    ) {
        let meta = BatchMeta {
            base_offset: offset,
            pid,
            epoch: batch.epoch,
            first_sequence: base,
            last_sequence: crate::engine::msg::last_sequence(base, batch.records.len()),
        };
        self.remember(tp, meta);
    }

    /// Updates the producer state with a batch written at `meta.base_offset`, and keeps
    /// its sequence numbers beside the log when the partition has followers (they rebuild
    /// the same state from them).
    pub(super) fn remember(&mut self, tp: Tp, meta: BatchMeta) {
        let entry = self.producer_states.entry((meta.pid, tp)).or_default();
        if entry.epoch != meta.epoch {
            entry.batches.clear();
            entry.epoch = meta.epoch;
        }
        entry.last_sequence = meta.last_sequence;
        entry
            .batches
            .push_back((meta.first_sequence, meta.last_sequence, meta.base_offset));
        if entry.batches.len() > NUM_BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        let replicated = self
            .hosted
            .get(&tp)
            .is_some_and(|h| h.state.replicas.len() > 1);
        if replicated {
            self.batch_meta.entry(tp).or_default().push(meta);
        }
    }

    /// After a truncation: the producer state of `tp` as the batches still in the log
    /// leave it (`UnifiedLog.rebuildProducerState`).
    pub(super) fn rebuild_producer_state(&mut self, tp: Tp, from_offset: u64) {
        let metas = self.batch_meta.remove(&tp).unwrap_or_default();
        self.producer_states.retain(|(_, t), _| *t != tp);
        for m in metas.iter().filter(|m| m.base_offset < from_offset) {
            self.remember(tp, *m);
        }
    }

    /// Arms the retention check (`kafka-log-retention`) for this life of the broker.
    pub(super) fn arm_retention(&self, ctx: &mut Ctx, at_ms: u64) {
        let timer = BrokerTimer::RetentionCheck {
            incarnation: self.incarnation,
        };
        ctx.out.timer(at_ms, self.node(), Timer::Broker(timer));
    }

    /// `LogManager.cleanupLogs`: every log this broker hosts, leader or follower, applies its
    /// topic's retention on its own segments; then the check comes again after
    /// `log.retention.check.interval.ms`.
    pub(super) fn retention_check(&mut self, ctx: &mut Ctx) {
        let tps: Vec<Tp> = self.hosted.keys().copied().collect();
        for tp in tps {
            let retention = ctx
                .cluster
                .topic(tp.topic)
                .map_or(crate::engine::log::Retention::NONE, |t| {
                    t.config.retention()
                });
            let Some(log) = self.log_mut(tp) else {
                continue;
            };
            for d in log.delete_old_segments(ctx.now_ms, retention) {
                let limit = match d.rule {
                    crate::engine::log::RetentionRule::Time => retention.retention_ms,
                    crate::engine::log::RetentionRule::Size => retention.retention_bytes,
                    crate::engine::log::RetentionRule::LogStart => -1,
                };
                let event = BrokerEvent::SegmentsDeleted {
                    tp,
                    rule: d.rule,
                    limit,
                    segments: d.spans(),
                    log_start_offset: d.log_start_offset,
                };
                let at_ms = ctx.now_ms;
                ctx.out.event(Event::Broker {
                    at_ms,
                    broker: self.id,
                    event,
                });
            }
        }
        self.arm_retention(ctx, ctx.now_ms + LOG_RETENTION_CHECK_INTERVAL_MS);
    }

    /// Arms the log cleaner's next wake for this life of the broker.
    pub(super) fn arm_cleaner(&self, ctx: &mut Ctx, at_ms: u64) {
        let timer = BrokerTimer::LogCleaner {
            incarnation: self.incarnation,
        };
        ctx.out.timer(at_ms, self.node(), Timer::Broker(timer));
    }

    /// `CleanerThread.doWork`: clean the filthiest compacted log this broker hosts (leader
    /// or follower: each replica cleans its own), again while one needs it, then sleep
    /// `log.cleaner.backoff.ms`. A pass takes no simulated time.
    pub(super) fn clean_logs(&mut self, ctx: &mut Ctx) {
        let compacted: Vec<(Tp, Compaction)> = self
            .hosted
            .keys()
            .filter_map(|&tp| {
                let t = ctx.cluster.topic(tp.topic)?;
                t.config.compacted().then_some((tp, t.config.compaction))
            })
            .collect();
        // Each log at most once per wake: after a pass its dirty part is empty.
        for _ in 0..compacted.len() {
            let filthiest = compacted
                .iter()
                .filter_map(|&(tp, c)| {
                    let log = self.log(tp)?;
                    let checkpoint = self.cleaner_checkpoints.get(&tp).copied();
                    let ltc = cleaner::log_to_clean(log, checkpoint, ctx.now_ms, &c);
                    ltc.eligible(&c)
                        .then_some((ltc.cleanable_ratio_ppm(), tp, ltc, c))
                })
                // The highest ratio; on a tie the first partition (a stable order).
                .fold(None, |best: Option<(u64, Tp, _, _)>, x| match best {
                    Some(b) if b.0 >= x.0 => Some(b),
                    _ => Some(x),
                });
            let Some((ratio, tp, ltc, c)) = filthiest else {
                break;
            };
            self.clean_one(ctx, tp, ltc, ratio, &c);
        }
        self.arm_cleaner(ctx, ctx.now_ms + LOG_CLEANER_BACKOFF_MS);
    }

    /// One cleaning pass over `tp`'s log, its checkpoint moved, and its event.
    fn clean_one(&mut self, ctx: &mut Ctx, tp: Tp, ltc: LogToClean, ratio: u64, c: &Compaction) {
        let now_ms = ctx.now_ms;
        let Some(log) = self.log_mut(tp) else {
            return;
        };
        let pass = cleaner::clean_pass(log, &ltc, now_ms, c);
        log.apply_cleaning(&pass.removed, &pass.horizons);
        self.cleaner_checkpoints.insert(tp, pass.dirty.1);
        let event = BrokerEvent::LogCleaned(Box::new(CleanedLog {
            tp,
            dirty: pass.dirty,
            dirty_ratio_ppm: ratio,
            forced: ltc.need_compaction_now,
            removed: pass.removed.len() as u64,
            tombstones_removed: pass.tombstones_removed,
            horizons: pass.horizons,
        }));
        ctx.out.event(Event::Broker {
            at_ms: now_ms,
            broker: self.id,
            event,
        });
    }
}
