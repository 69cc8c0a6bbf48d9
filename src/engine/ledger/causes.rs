//! Why: the cause chains the ledger gives each anomaly (a lost range, a duplicate, a
//! reordering), read back from the members' notes.

use super::*;

impl GroupLedger {
    /// Adds `offset` to the last anomaly when it extends it, else starts one with `causes`.
    pub(super) fn anomaly_at(
        &mut self,
        kind: AnomalyKind,
        tp: Tp,
        offset: u64,
        at_ms: u64,
        member: Option<MemberId>,
        causes: impl FnOnce() -> Vec<Cause>,
    ) {
        if let Some(last) = self.anomalies.last_mut() {
            if last.extends(kind, tp, member, offset) {
                last.last_offset = offset;
                last.count += 1;
                return;
            }
        }
        let mut a = Anomaly::single(kind, Some(self.group), tp, offset, at_ms);
        a.member = member;
        a.causes = causes();
        push_bounded(&mut self.anomalies, a);
    }

    /// Why a record was committed past without being processed.
    pub(super) fn lost_causes(&self, at_ms: u64, tp: Tp, offset: u64) -> Vec<Cause> {
        let mut causes = Vec::new();
        let abandoned = self.notes.iter().rev().find(|n| match &n.note {
            Note::Stopped { abandoned, .. } => abandoned
                .iter()
                .any(|&(p, f, t)| p == tp && f <= offset && offset < t),
            _ => false,
        });
        if let Some(stop) = abandoned {
            let commit = self.notes.iter().rev().find(|c| {
                c.member == stop.member
                    && c.at_ms <= stop.at_ms
                    && matches!(&c.note, Note::Committed { tp: p, offset: o, .. } if *p == tp && *o > offset)
            });
            if let Some(MemberNote {
                at_ms: t,
                member,
                note: Note::Committed {
                    offset: o, auto, ..
                },
            }) = commit
            {
                causes.push(Cause::CommittedBeforeProcessing {
                    at_ms: *t,
                    member: *member,
                    offset: *o,
                    auto: *auto,
                });
            }
            if let Note::Stopped { how, .. } = &stop.note {
                causes.push(Cause::Stopped {
                    at_ms: stop.at_ms,
                    member: stop.member,
                    how: *how,
                });
            }
        }
        causes.push(Cause::CommittedPast { at_ms, offset });
        causes
    }

    #[allow(clippy::too_many_arguments)] // private helper of `processed`
    /// Flags a record processed after a later record with the same key from the same
    /// producer (once).
    pub(super) fn out_of_order(
        &mut self,
        at_ms: u64,
        member: MemberId,
        tp: Tp,
        offset: u64,
        record_id: u32,
    ) {
        let byte = self
            .state
            .get_mut(record_id as usize)
            .expect("set before the order check");
        if *byte & OUT_OF_ORDER == 0 {
            *byte |= OUT_OF_ORDER;
            topic_entry(&mut self.counts, tp.topic).out_of_order += 1;
            let mut a =
                Anomaly::single(AnomalyKind::OutOfOrder, Some(self.group), tp, offset, at_ms);
            a.member = Some(member);
            a.causes.push(Cause::ReorderedAfterLater { at_ms, member });
            push_bounded(&mut self.anomalies, a);
        }
    }

    pub(super) fn extend_run(
        &mut self,
        at_ms: u64,
        member: MemberId,
        generation: i32,
        tp: Tp,
        from: u64,
        to: u64,
    ) {
        let runs = self.runs.entry(tp).or_default();
        if let Some(last) = runs.last_mut() {
            if last.member == member && last.generation == generation && last.to + 1 == from {
                last.to = to;
                last.last_ms = at_ms;
                return;
            }
        }
        if runs.len() >= MAX_RUNS {
            runs.drain(..MAX_RUNS / 4);
        }
        runs.push(ProcessingRun {
            member,
            generation,
            from,
            to,
            first_ms: at_ms,
            last_ms: at_ms,
        });
    }

    pub(super) fn explain_duplicate(&mut self, at_ms: u64, member: MemberId, tp: Tp, offset: u64) {
        if let Some(last) = self.anomalies.last_mut() {
            if last.extends(AnomalyKind::Duplicate, tp, Some(member), offset) {
                last.last_offset = offset;
                last.count += 1;
                return;
            }
        }
        let mut causes = Vec::new();
        let prev = self
            .runs(tp)
            .iter()
            .rev()
            .find(|r| r.from <= offset && offset <= r.to)
            .cloned();
        if let Some(r) = &prev {
            causes.push(Cause::ProcessedBefore {
                member: r.member,
                generation: r.generation,
                from: r.from,
                to: r.to,
                first_ms: r.first_ms,
                last_ms: r.last_ms,
            });
            if let Some(stop) = self.fate_after(r.member, r.last_ms, tp) {
                causes.push(stop);
            }
        }
        if let Some(resume) = self.resume_of(member, tp, offset) {
            causes.push(resume);
        }
        let mut a = Anomaly::single(AnomalyKind::Duplicate, Some(self.group), tp, offset, at_ms);
        a.member = Some(member);
        a.causes = causes;
        push_bounded(&mut self.anomalies, a);
    }

    /// What ended `member`'s hold on `tp` after `after_ms`, if noted.
    pub(super) fn fate_after(&self, member: MemberId, after_ms: u64, tp: Tp) -> Option<Cause> {
        self.notes.iter().find_map(|n| {
            if n.member != member || n.at_ms < after_ms {
                return None;
            }
            match &n.note {
                Note::Stopped {
                    how, partitions, ..
                } if partitions.is_empty() || partitions.contains(&tp) => Some(Cause::Stopped {
                    at_ms: n.at_ms,
                    member,
                    how: *how,
                }),
                _ => None,
            }
        })
    }

    /// How `member` came to read `tp` from at or below `offset`.
    pub(super) fn resume_of(&self, member: MemberId, tp: Tp, offset: u64) -> Option<Cause> {
        self.notes.iter().rev().find_map(|n| match &n.note {
            Note::Resumed {
                tp: p,
                offset: o,
                generation,
                source,
            } if n.member == member && *p == tp && *o <= offset => Some(Cause::Resumed {
                at_ms: n.at_ms,
                member,
                generation: *generation,
                offset: *o,
                source: *source,
            }),
            _ => None,
        })
    }
}
