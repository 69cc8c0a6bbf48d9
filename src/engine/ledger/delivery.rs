//! A group's side of the ledger: what each member's position, processing, commits and stops
//! did to each record's outcome.

use super::*;

/// What a position passed over: whose, where, by choice or not, and the move.
struct Passed {
    member: MemberId,
    tp: Tp,
    deliberate: bool,
    resumed: Cause,
}

/// A member's new position on a partition, and why it is there.
#[derive(Clone, Copy, Debug)]
pub(super) struct Position {
    pub(super) member: MemberId,
    pub(super) tp: Tp,
    pub(super) offset: u64,
    pub(super) source: PositionSource,
}

impl GroupLedger {
    /// A commit's offsets, each noted for its member and applied to the records below it.
    fn offsets_committed(
        &mut self,
        at_ms: u64,
        member: MemberId,
        offsets: &[(Tp, u64)],
        auto: bool,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        for &(tp, offset) in offsets {
            self.note(at_ms, member, Note::Committed { tp, offset, auto });
            self.committed(at_ms, tp, offset, logs, cleanups);
        }
    }

    /// A member stopped owning partitions: revoked, lost, or out of the group after its poll
    /// timeout (a close leaves the group too, but its ConsumerClosed event tells that story).
    fn stopped_owning(&mut self, at_ms: u64, event: &GroupEvent) {
        let (member, how, partitions) = match event {
            GroupEvent::Revoked { member, partitions } => {
                let generation = self.generation.get(member).copied().unwrap_or(-1);
                let how = Stop::Revoked {
                    generation,
                    cooperative: self.cooperative,
                };
                (*member, how, partitions.clone())
            }
            GroupEvent::Lost { member, partitions } => (*member, Stop::Lost, partitions.clone()),
            GroupEvent::LeaveGroup { member, reason, .. } if !reason.contains("closed") => {
                (*member, Stop::PollTimeout, Vec::new())
            }
            _ => return,
        };
        let note = Note::Stopped {
            how,
            partitions,
            abandoned: Vec::new(),
        };
        self.note(at_ms, member, note);
    }

    pub(super) fn observe(
        &mut self,
        at_ms: u64,
        event: &GroupEvent,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
        values: &ChunkVec<u64>,
    ) {
        match event {
            &GroupEvent::PositionSet {
                member,
                tp,
                offset,
                source,
            } => {
                let at = Position {
                    member,
                    tp,
                    offset,
                    source,
                };
                self.position_set(at_ms, at, logs, cleanups)
            }
            GroupEvent::Polled { member, ranges } => {
                self.held
                    .entry(*member)
                    .or_default()
                    .extend(ranges.iter().copied());
            }
            GroupEvent::Processed {
                member,
                generation,
                tp,
                from,
                to,
            } => {
                self.generation.insert(*member, *generation);
                self.processed(at_ms, *member, *generation, *tp, *from..*to, logs, values);
            }
            GroupEvent::ProcessingFailed { .. } | GroupEvent::ErrorHandled { .. } => {
                self.failure(at_ms, event, logs)
            }
            GroupEvent::Committed {
                member,
                offsets,
                auto,
            } => self.offsets_committed(at_ms, *member, offsets, *auto, logs, cleanups),
            GroupEvent::ConsumerCrashed { member, reason } => {
                self.stopped(at_ms, *member, Stop::Crashed(*reason), logs, cleanups)
            }
            GroupEvent::ConsumerFailed { member, .. } => {
                self.stopped(at_ms, *member, Stop::Failed, logs, cleanups)
            }
            GroupEvent::ConsumerClosed { member } => {
                self.stopped(at_ms, *member, Stop::Closed, logs, cleanups)
            }
            GroupEvent::Revoked { .. }
            | GroupEvent::Lost { .. }
            | GroupEvent::LeaveGroup { .. } => self.stopped_owning(at_ms, event),
            GroupEvent::Assigned {
                member, generation, ..
            } => {
                self.generation.insert(*member, *generation);
            }
            GroupEvent::JoinComplete { cooperative, .. } => self.cooperative = *cooperative,
            GroupEvent::TableChanged { truncated: true } => self.effects.truncate(),
            GroupEvent::TableChanged { truncated: false } => self.effects.corrupt(),
            _ => {}
        }
    }

    pub(super) fn position_set(
        &mut self,
        at_ms: u64,
        at: Position,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        let Position {
            member,
            tp,
            offset,
            source,
        } = at;
        let generation = self.generation.get(&member).copied().unwrap_or(-1);
        self.note(
            at_ms,
            member,
            Note::Resumed {
                tp,
                offset,
                generation,
                source,
            },
        );
        // A move forward skips what lies between. It is a choice for a seek, or for
        // auto.offset.reset=latest when the group first reads the partition; a reset to the
        // log end after the group had read it (a member crashed before committing, or its
        // position fell out of range) loses what nobody processed, and so does a reset to
        // the log start past records retention deleted before the group read them.
        let first_read = self.started.insert(tp, ()).is_none();
        self.deleted_before_read(at_ms, at, logs, cleanups);
        let forward = matches!(
            source,
            PositionSource::Reset(crate::engine::config::AutoOffsetReset::Latest)
                | PositionSource::OutOfRange(_)
                | PositionSource::Seek
        );
        if !forward {
            return;
        }
        let deliberate = source == PositionSource::Seek
            || (first_read && matches!(source, PositionSource::Reset(_)));
        let from = self.classified_to.get(&tp).copied().unwrap_or(0);
        let Some(log) = logs.log(tp) else {
            return;
        };
        let held = self.held_offsets(tp);
        let records: Vec<(u64, LogRecord)> = log
            .range_retained(from.max(log.log_start_offset()), offset)
            .filter(|(o, _)| !held.iter().any(|&(f, t)| f <= *o && *o < t))
            .map(|(o, r)| (o, *r))
            .collect();
        let resumed = Cause::Resumed {
            at_ms,
            member,
            generation,
            offset,
            source,
        };
        let passed = Passed {
            member,
            tp,
            deliberate,
            resumed,
        };
        self.passed_over(at_ms, passed, records, logs, cleanups);
    }

    /// Records a position passed over without processing: skipped by choice (a seek, the
    /// first `latest` reset), or lost (a reset after the group had read the partition);
    /// records the cleaner removed are compacted instead.
    fn passed_over(
        &mut self,
        at_ms: u64,
        passed: Passed,
        records: Vec<(u64, LogRecord)>,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        let Passed {
            member,
            tp,
            deliberate,
            resumed,
        } = passed;
        for (o, r) in records {
            let id = r.record_id;
            if self.settle_cleaned(at_ms, Some(member), tp, o, &r, logs, cleanups) {
                continue;
            }
            if self.outcome(id) != Outcome::Pending {
                continue;
            }
            if deliberate {
                self.set(tp, id, Outcome::Skipped);
                self.anomaly_at(AnomalyKind::Skipped, tp, o, at_ms, Some(member), || {
                    vec![resumed.clone()]
                });
            } else {
                self.set(tp, id, Outcome::Lost);
                let mut causes = self.lost_causes(at_ms, tp, o);
                causes.retain(|c| !matches!(c, Cause::CommittedPast { .. }));
                causes.push(resumed.clone());
                self.anomaly_at(AnomalyKind::Lost, tp, o, at_ms, Some(member), || causes);
            }
        }
    }

    pub(super) fn held_offsets(&self, tp: Tp) -> Vec<(u64, u64)> {
        self.held
            .values()
            .flatten()
            .filter(|r| r.0 == tp)
            .map(|r| (r.1, r.2))
            .collect()
    }

    pub(super) fn release_held(&mut self, member: MemberId, tp: Tp, offset: u64) {
        if let Some(ranges) = self.held.get_mut(&member) {
            for r in ranges.iter_mut() {
                if r.0 == tp && r.1 <= offset && offset < r.2 {
                    r.1 = offset + 1;
                }
            }
            ranges.retain(|r| r.1 < r.2);
        }
    }

    #[allow(clippy::too_many_arguments)] // one call site; each argument a distinct fact
    pub(super) fn processed(
        &mut self,
        at_ms: u64,
        member: MemberId,
        generation: i32,
        tp: Tp,
        offsets: std::ops::Range<u64>,
        logs: &impl LogLookup,
        values: &ChunkVec<u64>,
    ) {
        let Some(log) = logs.log(tp) else {
            return;
        };
        let start = offsets.start;
        let end = offsets.end;
        topic_entry(&mut self.counts, tp.topic);
        let mut tally = Tally::default();
        let mut offset = start;
        for slice in log.slices(start, end) {
            offset = mark_processed(
                &mut self.state,
                &mut self.last_by_key,
                slice,
                offset,
                &mut tally,
            );
            // The application writes its database in the same step; repeats below.
            self.effects.apply(slice, values);
        }
        self.processed += offset - start;
        tally.delta[usize::from(byte_of(Outcome::Once))] += tally.first_times;
        self.counts[tp.topic.index()].add(&tally.delta);
        for (offset, id, rare) in tally.rare {
            if rare == Rare::OutOfOrder {
                self.out_of_order(at_ms, member, tp, offset, id);
                continue;
            }
            if let Some(r) = log.get(offset) {
                self.effects.repeated(r, rare == Rare::Second, values);
            }
            self.explain_duplicate(at_ms, member, tp, offset);
        }
        if start < end {
            self.extend_run(at_ms, member, generation, tp, start, end - 1);
        }
        if let Some(ranges) = self.held.get_mut(&member) {
            // A member processes what it polled in order, so a run ending at `end` passed
            // everything of its ranges below it: records it processed, and records the
            // cleaner had removed from what it fetched (never handed out).
            for r in ranges.iter_mut() {
                if r.0 == tp && r.1 < end {
                    r.1 = end.min(r.2);
                }
            }
            ranges.retain(|r| r.1 < r.2);
        }
    }

    pub(super) fn processing_failed(
        &mut self,
        at_ms: u64,
        member: MemberId,
        tp: Tp,
        offset: u64,
        logs: &impl LogLookup,
    ) {
        self.release_held(member, tp, offset);
        let Some(id) = record_at(logs, tp, offset) else {
            return;
        };
        let attempt = {
            let n = self.failures.entry(id).or_insert(0);
            *n += 1;
            *n
        };
        // A record processed, or already written to the dead-letter topic, stays so.
        if !matches!(
            self.outcome(id),
            Outcome::Once | Outcome::Duplicate | Outcome::DeadLettered
        ) {
            self.set(tp, id, Outcome::Failed);
        }
        let cause = Cause::ProcessingFailed {
            at_ms,
            member,
            attempt,
        };
        // One anomaly per poison record: each crash adds a step (the loop is visible).
        if let Some(a) = self.failed_anomaly(tp, offset) {
            a.causes.push(cause);
            a.at_ms = at_ms;
            a.member = Some(member);
            return;
        }
        let mut a = Anomaly::single(AnomalyKind::Failed, Some(self.group), tp, offset, at_ms);
        a.member = Some(member);
        a.causes.push(cause);
        push_bounded(&mut self.anomalies, a);
    }

    /// The anomaly of the poison record at `offset`, if it has one.
    fn failed_anomaly(&mut self, tp: Tp, offset: u64) -> Option<&mut Anomaly> {
        self.anomalies
            .iter_mut()
            .rev()
            .find(|a| a.kind == AnomalyKind::Failed && a.tp == tp && a.first_offset == offset)
    }

    /// A record's processing threw, or the application gave up on it.
    fn failure(&mut self, at_ms: u64, event: &GroupEvent, logs: &impl LogLookup) {
        match *event {
            GroupEvent::ProcessingFailed { member, tp, offset } => {
                self.processing_failed(at_ms, member, tp, offset, logs)
            }
            GroupEvent::ErrorHandled {
                member,
                tp,
                offset,
                dead_letter,
            } => self.error_handled(at_ms, member, tp, offset, dead_letter, logs),
            _ => {}
        }
    }

    /// The application gave up on a failed record and went on: the record's anomaly gets
    /// the last step, and a dead-lettered record its own outcome.
    pub(super) fn error_handled(
        &mut self,
        at_ms: u64,
        member: MemberId,
        tp: Tp,
        offset: u64,
        dead_letter: Option<(Tp, u64)>,
        logs: &impl LogLookup,
    ) {
        let Some(id) = record_at(logs, tp, offset) else {
            return;
        };
        if let Some((dlq, dlq_offset)) = dead_letter {
            if self.outcome(id) == Outcome::Failed {
                self.set(tp, id, Outcome::DeadLettered);
            }
            if self.dead_letters.len() < MAX_ANOMALIES {
                self.dead_letters.push(DeadLetterNote {
                    at_ms,
                    member,
                    tp,
                    offset,
                    dlq,
                    dlq_offset,
                    failures: self.failures.get(&id).copied().unwrap_or(0),
                });
            }
        }
        let cause = Cause::ErrorHandled {
            at_ms,
            member,
            dead_letter,
        };
        if let Some(a) = self.failed_anomaly(tp, offset) {
            a.causes.push(cause);
            a.at_ms = at_ms;
        }
    }

    pub(super) fn stopped(
        &mut self,
        at_ms: u64,
        member: MemberId,
        how: Stop,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        let partitions = Vec::new();
        let abandoned = self.held.remove(&member).unwrap_or_default();
        self.note(
            at_ms,
            member,
            Note::Stopped {
                how,
                partitions,
                abandoned: abandoned.clone(),
            },
        );
        // Records it fetched and the group already committed past are lost now.
        for (tp, from, to) in abandoned {
            let committed = self.classified_to.get(&tp).copied().unwrap_or(0);
            self.mark_lost_range(at_ms, tp, from..to.min(committed), logs, cleanups);
        }
    }

    /// The committed offset of `tp` advanced to `committed`: records below it that nobody
    /// processed and no live member still holds are lost.
    pub(super) fn committed(
        &mut self,
        at_ms: u64,
        tp: Tp,
        committed: u64,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        let from = self.classified_to.get(&tp).copied().unwrap_or(0);
        if committed <= from {
            return;
        }
        self.classified_to.insert(tp, committed);
        let held = self.held_offsets(tp);
        let mut start = from;
        for (f, t) in held
            .iter()
            .copied()
            .filter(|&(f, t)| f < committed && t > from)
        {
            self.mark_lost_range(at_ms, tp, start..f.max(start), logs, cleanups);
            start = start.max(t);
        }
        self.mark_lost_range(at_ms, tp, start..committed, logs, cleanups);
    }

    pub(super) fn mark_lost_range(
        &mut self,
        at_ms: u64,
        tp: Tp,
        offsets: std::ops::Range<u64>,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        if offsets.is_empty() {
            return;
        }
        let Some(log) = logs.log(tp) else {
            return;
        };
        let records: Vec<(u64, LogRecord)> = log
            .range(offsets.start, offsets.end)
            .map(|(o, r)| (o, *r))
            .collect();
        for (offset, r) in records {
            let id = r.record_id;
            if self.settle_cleaned(at_ms, None, tp, offset, &r, logs, cleanups) {
                continue;
            }
            if self.outcome(id) != Outcome::Pending {
                continue;
            }
            self.set(tp, id, Outcome::Lost);
            self.anomaly_at(AnomalyKind::Lost, tp, offset, at_ms, None, Vec::new);
            let needs_causes = self.anomalies.last().is_some_and(|a| a.causes.is_empty());
            if needs_causes {
                let causes = self.lost_causes(at_ms, tp, offset);
                if let Some(a) = self.anomalies.last_mut() {
                    a.causes = causes;
                }
            }
        }
    }
}

/// The record id at `offset` of `tp`'s log, if the log holds it.
fn record_at(logs: &impl LogLookup, tp: Tp, offset: u64) -> Option<u32> {
    logs.log(tp)
        .and_then(|l| l.get(offset))
        .map(|r| r.record_id)
}
