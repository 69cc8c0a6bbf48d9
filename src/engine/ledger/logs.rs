//! The log side of the ledger: records lost before or after a log took them, strays left by
//! an unclean election, and lineage switches that truncate or bring records back.

use super::*;

impl Ledger {
    /// An `acks=0` request carrying these records was lost on the wire.
    pub fn lost_on_the_wire(&mut self, at_ms: u64, producer: ProducerId, tp: Tp, records: &[u32]) {
        self.sync();
        let cause = Cause::LostOnTheWire { at_ms, producer };
        self.never_in_log(at_ms, tp, records, cause);
    }

    pub(super) fn never_in_log(&mut self, at_ms: u64, tp: Tp, records: &[u32], cause: Cause) {
        let mut anomaly: Option<Anomaly> = None;
        for &id in records {
            let Some(info) = self.records.get_mut(id as usize) else {
                continue;
            };
            if info.held() || info.never_in_log || info.held == Held::Gone {
                continue;
            }
            if info.held == Held::Returned {
                // It was in a log once: gone for good now, not lost before the log.
                if let Some(kind) = self.gone_for_good(id) {
                    let mut a = Anomaly::single(kind, None, tp, u64::from(id), at_ms);
                    a.causes.push(cause.clone());
                    push_bounded(&mut self.producer_anomalies, a);
                }
                continue;
            }
            info.never_in_log = true;
            self.lost_before_log += 1;
            topic_entry(&mut self.per_topic, tp.topic).lost_before_log += 1;
            let a = anomaly.get_or_insert_with(|| {
                let mut a =
                    Anomaly::single(AnomalyKind::LostBeforeLog, None, tp, u64::from(id), at_ms);
                a.causes.push(cause.clone());
                a.count = 0;
                a
            });
            a.count += 1;
            a.last_offset = u64::from(id);
        }
        if let Some(a) = anomaly {
            push_bounded(&mut self.producer_anomalies, a);
        }
    }

    pub(super) fn appended(
        &mut self,
        at_ms: u64,
        tp: Tp,
        base: u64,
        count: u64,
        logs: &impl LogLookup,
    ) {
        let Some(log) = logs.log(tp) else {
            return;
        };
        // The hot path, a chunk of record facts at a time; second copies are explained
        // after the loop, in log order.
        let mut in_log = 0u64;
        let mut again: Vec<(u64, u64)> = Vec::new();
        // Records back in a log after they had left every replica (rare).
        let mut back: Vec<u32> = Vec::new();
        let mut offset = base;
        for slice in log.slices(base, base + count) {
            let mut k = 0;
            while k < slice.len() {
                let Some((from, infos)) = self.records.chunk_mut(slice[k].record_id as usize)
                else {
                    k += 1;
                    offset += 1;
                    continue;
                };
                while let Some(r) = slice.get(k) {
                    let Some(info) = (r.record_id as usize)
                        .checked_sub(from)
                        .and_then(|i| infos.get_mut(i))
                    else {
                        break;
                    };
                    info.copies = info.copies.saturating_add(1);
                    if info.copies == 1 {
                        info.first_offset = offset;
                        match info.held {
                            Held::Clear => in_log += 1,
                            // Counted while it waited on another replica.
                            Held::Stray => info.held = Held::Clear,
                            Held::Returned | Held::Gone => back.push(r.record_id),
                        }
                    } else {
                        again.push((offset, info.first_offset));
                    }
                    offset += 1;
                    k += 1;
                }
            }
        }
        topic_entry(&mut self.per_topic, tp.topic).in_log += in_log;
        for id in back {
            self.back_in_a_log(id);
        }
        self.log_duplicates_found(at_ms, tp, again);
    }

    /// Second copies of records in a log (a retry without idempotence), as anomalies that
    /// run on while offsets follow each other.
    fn log_duplicates_found(&mut self, at_ms: u64, tp: Tp, again: Vec<(u64, u64)>) {
        for (offset, first_offset) in again {
            self.log_duplicates += 1;
            if let Some(last) = self.producer_anomalies.last_mut() {
                if last.extends(AnomalyKind::LogDuplicate, tp, None, offset) {
                    last.last_offset = offset;
                    last.count += 1;
                    continue;
                }
            }
            let mut a = Anomaly::single(AnomalyKind::LogDuplicate, None, tp, offset, at_ms);
            a.causes.push(Cause::RetriedWithoutIdempotence {
                at_ms,
                first_offset,
            });
            push_bounded(&mut self.producer_anomalies, a);
        }
    }

    /// True when an election of `tp` came from outside the ISR (its log may now end
    /// below offsets that were read and committed).
    pub fn had_unclean_election(&self, tp: Tp) -> bool {
        self.unclean.contains_key(&tp)
    }

    /// Records acknowledged to their producer and then lost with a failed leader.
    pub fn acked_then_lost(&self) -> u64 {
        self.acked_then_lost
    }

    /// A leader that lost its leadership (and does not know yet) appended records: they
    /// are on that replica only, outside the partition's log.
    pub(super) fn stray_appended(
        &mut self,
        broker: BrokerId,
        tp: Tp,
        base: u64,
        count: u64,
        logs: &impl LogLookup,
    ) {
        let Some(log) = logs.replica_log(broker, tp) else {
            return;
        };
        let ids: Vec<u32> = log
            .range(base, base + count)
            .map(|(_, r)| r.record_id)
            .collect();
        for id in ids {
            self.becomes_stray(id);
        }
    }

    /// A record with no copy in the current log sits on some replica: pending in a log.
    pub(super) fn becomes_stray(&mut self, id: u32) {
        let Some(info) = self.records.get_mut(id as usize) else {
            return;
        };
        if info.copies > 0 || info.held == Held::Stray {
            return;
        }
        let (was, tp) = (info.held, info.tp());
        info.held = Held::Stray;
        match was {
            Held::Clear => topic_entry(&mut self.per_topic, tp.topic).in_log += 1,
            Held::Returned | Held::Gone => {
                info.held = was;
                self.back_in_a_log(id);
                if let Some(info) = self.records.get_mut(id as usize) {
                    info.held = Held::Stray;
                }
            }
            Held::Stray => {}
        }
    }

    /// A record that had left every replica is in a log again: pending again for the
    /// groups that had not settled it.
    pub(super) fn back_in_a_log(&mut self, id: u32) {
        let Some(info) = self.records.get_mut(id as usize) else {
            return;
        };
        let (was, tp) = (info.held, info.tp());
        info.held = Held::Clear;
        let counts = topic_entry(&mut self.per_topic, tp.topic);
        counts.in_log += 1;
        match was {
            Held::Returned => {
                for g in &mut self.groups {
                    if g.outcome(id) != Outcome::Pending {
                        topic_entry(&mut g.counts, tp.topic).settled_returned -= 1;
                    }
                }
            }
            Held::Gone => {
                counts.gone -= 1;
                self.gone.retain(|&x| x != id);
            }
            Held::Clear | Held::Stray => {}
        }
    }

    /// Kafka deletes nothing at an election: the partition's log is now the new leader's.
    /// Records of the old log from where the two part leave it (the old replica keeps them
    /// on disk: stray until it truncates); records the new leader holds from there join it
    /// (a replica elected before it truncated brings them back).
    pub(super) fn switch_lineage(
        &mut self,
        at_ms: u64,
        tp: Tp,
        old: BrokerId,
        new: BrokerId,
        unclean: bool,
        logs: &impl LogLookup,
    ) {
        let (Some(old_log), Some(new_log)) = (logs.replica_log(old, tp), logs.replica_log(new, tp))
        else {
            return;
        };
        let from = old_log.divergence(new_log);
        if unclean {
            self.unclean.insert(tp, ());
        }
        let leaving: Vec<u32> = old_log
            .range(from, old_log.log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect();
        let joining: Vec<(u64, u32)> = new_log
            .range(from, new_log.log_end_offset())
            .map(|(o, r)| (o, r.record_id))
            .collect();
        self.failovers.insert(
            tp,
            Cause::LeaderFailover {
                at_ms,
                old_leader: old,
                new_leader: Some(new),
                unclean,
                new_log_end_offset: from,
            },
        );
        for id in leaving {
            if let Some(info) = self.records.get_mut(id as usize) {
                info.copies = info.copies.saturating_sub(1);
                if info.copies == 0 {
                    // Still on the old replica's disk (and counted in the log).
                    info.held = Held::Stray;
                }
            }
        }
        for (offset, id) in joining {
            let Some(info) = self.records.get_mut(id as usize) else {
                continue;
            };
            info.copies = info.copies.saturating_add(1);
            if info.copies > 1 {
                self.log_duplicates += 1;
                continue;
            }
            info.first_offset = offset;
            match info.held {
                Held::Stray => info.held = Held::Clear,
                Held::Clear => topic_entry(&mut self.per_topic, tp.topic).in_log += 1,
                Held::Returned | Held::Gone => self.back_in_a_log(id),
            }
        }
    }

    /// A replica truncated its log (`UnifiedLog.truncateTo`, to follow a new leader): the
    /// records it dropped that no other replica holds, and that are not in the current
    /// log, are gone. That is the moment Kafka loses them.
    pub(super) fn truncated(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        tp: Tp,
        to_offset: u64,
        records: &[u32],
        logs: &impl LogLookup,
    ) {
        let replicas = logs.replicas(tp);
        let mut by_kind: VecMap<u8, Anomaly> = VecMap::new();
        for (i, &id) in records.iter().enumerate() {
            let offset = to_offset + i as u64;
            let Some(info) = self.records.get(id as usize) else {
                continue;
            };
            if info.copies > 0 || info.held != Held::Stray {
                continue;
            }
            let elsewhere = replicas.iter().any(|&x| {
                x != broker
                    && logs
                        .replica_log(x, tp)
                        .and_then(|l| l.get(offset))
                        .is_some_and(|r| r.record_id == id)
            });
            if elsewhere {
                continue;
            }
            let mut causes = Vec::new();
            let failover = self.failovers.get(&tp).cloned();
            if info.status == ProduceStatus::Acked
                && !matches!(failover, Some(Cause::LeaderFailover { unclean: true, .. }))
            {
                if let Some(producer) = info.producer() {
                    causes.push(Cause::AckedByLeaderAlone {
                        at_ms: info.produced_ms,
                        producer,
                    });
                }
            }
            causes.extend(failover);
            causes.push(Cause::Truncated {
                at_ms,
                broker,
                to_offset,
            });
            let kind = self.gone_for_good(id);
            if let Some(kind) = kind {
                let a = by_kind.entry(kind as u8).or_insert_with(|| {
                    let mut a = Anomaly::single(kind, None, tp, offset, at_ms);
                    a.causes = causes.clone();
                    a.count = 0;
                    a
                });
                a.count += 1;
                a.first_offset = a.first_offset.min(offset);
                a.last_offset = a.last_offset.max(offset);
            }
        }
        for a in by_kind.into_values() {
            push_bounded(&mut self.producer_anomalies, a);
        }
    }

    /// No replica holds the record any more. If its producer is still retrying it, it is
    /// back in the producer; otherwise it is gone for good: lost for every group that had
    /// not read it. Returns the producer-side anomaly kind it belongs to, if any.
    pub(super) fn gone_for_good(&mut self, id: u32) -> Option<AnomalyKind> {
        let info = self.records.get_mut(id as usize)?;
        let (tp, status, was) = (info.tp(), info.status, info.held);
        info.first_offset = crate::engine::record::NO_OFFSET;
        let counts = topic_entry(&mut self.per_topic, tp.topic);
        if was == Held::Stray {
            counts.in_log -= 1;
        }
        if status == ProduceStatus::InFlight {
            info.held = Held::Returned;
            for g in &mut self.groups {
                if g.outcome(id) != Outcome::Pending {
                    topic_entry(&mut g.counts, tp.topic).settled_returned += 1;
                }
            }
            return None;
        }
        info.held = Held::Gone;
        counts.gone += 1;
        self.gone.push(id);
        for g in &mut self.groups {
            match g.outcome(id) {
                Outcome::Pending => g.set(tp, id, Outcome::Lost),
                _ if was == Held::Returned => {
                    topic_entry(&mut g.counts, tp.topic).settled_returned -= 1;
                }
                _ => {}
            }
        }
        match status {
            ProduceStatus::Acked => {
                self.acked_then_lost += 1;
                Some(AnomalyKind::AckedThenLost)
            }
            _ => Some(AnomalyKind::WrittenThenLost),
        }
    }
}
