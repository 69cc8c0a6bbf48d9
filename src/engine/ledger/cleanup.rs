//! What retention and the log cleaner take from a log, as each group's ledger settles it:
//! records retention deleted before the group read them (*deleted*), records the cleaner
//! removed before the group read them (*compacted*: a later record with their key stands
//! for them), and the resurrected key: a tombstone the cleaner removed before the group
//! read it, so the group still holds the value the tombstone deleted.

use super::*;

/// What the ledger remembers of retention and cleaning, per partition, to name the causes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cleanups {
    /// Per partition, oldest first, as the causes they become: the segments retention
    /// deleted (each span once: the first replica's deletion; the others' repeat it) and the
    /// tombstones the cleaner removed (each once).
    causes: VecMap<Tp, Vec<Cause>>,
}

/// The most deleted segments and removed tombstones the ledger remembers per partition
/// (the oldest go first).
const MAX_CLEANUPS: usize = 1024;

impl Cleanups {
    /// Remembers the segments a retention check deleted that no replica had deleted
    /// before, for the causes of records that go with them.
    pub(super) fn segments_deleted(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        tp: Tp,
        rule: crate::engine::log::RetentionRule,
        limit: i64,
        segments: &[crate::engine::log::SegmentSpan],
    ) {
        let known = self.causes.entry(tp).or_default();
        for &segment in segments {
            let seen_to = known.iter().rev().find_map(|c| match c {
                Cause::DeletedByRetention { segment, .. } => Some(segment.end_offset),
                _ => None,
            });
            if segment.end_offset <= seen_to.unwrap_or(0) {
                continue;
            }
            bound(known);
            known.push(Cause::DeletedByRetention {
                at_ms,
                broker,
                rule,
                limit,
                segment,
            });
        }
    }

    /// Remembers the tombstones a cleaning pass removed (the first replica to remove each).
    pub(super) fn log_cleaned(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        tp: Tp,
        removed: &[(u64, u64)],
    ) {
        for &(offset, horizon_ms) in removed {
            if self.tombstone_removal(tp, offset).is_some() {
                continue;
            }
            let known = self.causes.entry(tp).or_default();
            bound(known);
            known.push(Cause::TombstoneRemoved {
                at_ms,
                broker,
                offset,
                horizon_ms,
            });
        }
    }

    /// The deletion of the segment that held `offset`, if the ledger still remembers it.
    fn deletion_of(&self, tp: Tp, offset: u64) -> Option<Cause> {
        self.causes
            .get(&tp)?
            .iter()
            .find(|c| {
                matches!(c,
            Cause::DeletedByRetention { segment, .. }
                if segment.base_offset <= offset && offset < segment.end_offset)
            })
            .cloned()
    }

    /// Whether a deleted segment starts at `offset`.
    fn segment_starts(&self, tp: Tp, offset: u64) -> bool {
        self.causes.get(&tp).is_some_and(|c| {
            c.iter().any(|c| {
                matches!(c, Cause::DeletedByRetention { segment, .. } if segment.base_offset == offset)
            })
        })
    }

    /// The removal of the tombstone at `offset`, as a cause.
    fn tombstone_removal(&self, tp: Tp, offset: u64) -> Option<Cause> {
        self.causes
            .get(&tp)?
            .iter()
            .find(|c| {
                matches!(c,
            Cause::TombstoneRemoved { offset: o, .. } if *o == offset)
            })
            .cloned()
    }
}

/// Makes room for one more remembered cleanup: the oldest quarter goes when full.
fn bound(known: &mut Vec<Cause>) {
    if known.len() >= MAX_CLEANUPS {
        known.drain(..MAX_CLEANUPS / 4);
    }
}

impl GroupLedger {
    /// Records below the log start the group never read went with their segments: a
    /// position set at or past the log start (whatever its source: a reset after
    /// OFFSET_OUT_OF_RANGE, or a new group's first `earliest`) settles them as deleted
    /// by retention, each with the deletion that took it.
    pub(super) fn deleted_before_read(
        &mut self,
        at_ms: u64,
        at: delivery::Position,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) {
        let Some(log) = logs.log(at.tp) else {
            return;
        };
        let from = self.classified_to.get(&at.tp).copied().unwrap_or(0);
        let to = log.log_start_offset().min(at.offset);
        let held = self.held_offsets(at.tp);
        let records: Vec<(u64, LogRecord)> = log
            .range_retained(from, to)
            .filter(|(o, _)| !held.iter().any(|&(f, t)| f <= *o && *o < t))
            .map(|(o, r)| (o, *r))
            .collect();
        let generation = self.generation.get(&at.member).copied().unwrap_or(-1);
        let resumed = Cause::Resumed {
            at_ms,
            member: at.member,
            generation,
            offset: at.offset,
            source: at.source,
        };
        for (o, r) in records {
            if self.settle_cleaned(at_ms, Some(at.member), at.tp, o, &r, logs, cleanups) {
                continue;
            }
            if self.outcome(r.record_id) != Outcome::Pending {
                continue;
            }
            self.set(at.tp, r.record_id, Outcome::Deleted);
            let causes = || {
                let deleted = cleanups.deletion_of(at.tp, o);
                deleted.into_iter().chain([resumed.clone()]).collect()
            };
            // One anomaly per segment, so each names the deletion that took it.
            if cleanups.segment_starts(at.tp, o) {
                let mut a =
                    Anomaly::single(AnomalyKind::Deleted, Some(self.group), at.tp, o, at_ms);
                a.member = Some(at.member);
                a.causes = causes();
                push_bounded(&mut self.anomalies, a);
            } else {
                self.anomaly_at(
                    AnomalyKind::Deleted,
                    at.tp,
                    o,
                    at_ms,
                    Some(at.member),
                    causes,
                );
            }
        }
    }

    /// A pending record the group's position or commit passed: if the cleaner removed it,
    /// it is *compacted* for this group (a later record with its key stands for it) and
    /// this returns true. A removed tombstone for a key the group last read as a value
    /// leaves that value alive in the group's state: a resurrected key.
    #[allow(clippy::too_many_arguments)] // each a distinct fact of one settlement
    pub(super) fn settle_cleaned(
        &mut self,
        at_ms: u64,
        member: Option<MemberId>,
        tp: Tp,
        offset: u64,
        record: &LogRecord,
        logs: &impl LogLookup,
        cleanups: &Cleanups,
    ) -> bool {
        if !record.cleaned() {
            return false;
        }
        if self.outcome(record.record_id) != Outcome::Pending {
            return true;
        }
        self.set(tp, record.record_id, Outcome::Compacted);
        let Some(key) = record.key.filter(|_| record.tombstone()) else {
            return true;
        };
        let Some(read) = self.last_read_of_key(tp, key, logs) else {
            return true;
        };
        if read > offset {
            return true;
        }
        let mut a = Anomaly::single(
            AnomalyKind::Resurrected,
            Some(self.group),
            tp,
            offset,
            at_ms,
        );
        a.member = member;
        a.causes = cleanups.tombstone_removal(tp, offset).into_iter().collect();
        push_bounded(&mut self.anomalies, a);
        true
    }

    /// The offset of the newest record with `key` this group processed whose value it
    /// holds (a value, not a tombstone), if its latest read of the key was a value.
    fn last_read_of_key(&self, tp: Tp, key: KeyId, logs: &impl LogLookup) -> Option<u64> {
        let log = logs.log(tp)?;
        let (offset, r) = log
            .range_retained(0, log.log_end_offset())
            .filter(|(_, r)| r.key == Some(key))
            .filter(|(_, r)| {
                matches!(
                    self.outcome(r.record_id),
                    Outcome::Once | Outcome::Duplicate
                )
            })
            .last()?;
        (!r.tombstone()).then_some(offset)
    }
}
