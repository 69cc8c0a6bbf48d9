//! A group's totals: the counts per outcome kept as records move between outcomes, and the
//! record-by-record recount that checks them.

use super::*;

impl Ledger {
    pub(super) fn topic_counts(&self, topics: &[TopicId]) -> TopicCounts {
        let mut t = TopicCounts::default();
        for c in topics
            .iter()
            .filter_map(|id| self.per_topic.get(id.index()))
        {
            t.produced += c.produced;
            t.in_log += c.in_log;
            t.lost_before_log += c.lost_before_log;
            t.gone += c.gone;
        }
        t
    }

    /// A group's totals over the records of `topics` (the topics it subscribes to).
    pub fn totals(&self, group: GroupId, topics: &[TopicId]) -> Option<Totals> {
        let g = self.groups.get(group.index())?;
        let tc = self.topic_counts(topics);
        // Records sent but not yet synced belong to the producer.
        let unsynced: u64 = self
            .records
            .range(self.seen, self.records.len())
            .filter(|r| topics.contains(&r.tp().topic))
            .count() as u64;
        let produced = tc.produced + unsynced;
        let c = g.counts(topics);
        let settled = c.once
            + c.duplicate
            + c.lost
            + c.skipped
            + c.failed
            + c.deleted
            + c.compacted
            + c.dead_lettered
            + tc.lost_before_log;
        // Saturating: a ledger out of balance is reported by `invariants::check` (and the
        // page's health check), not by a panic in the middle of a redraw.
        let pending = produced.saturating_sub(settled);
        let in_producer = produced
            .saturating_sub(tc.in_log + tc.lost_before_log + tc.gone + c.settled_returned)
            .min(pending);
        Some(Totals {
            produced,
            once: c.once,
            duplicate: c.duplicate,
            lost: c.lost + tc.lost_before_log,
            lost_before_log: tc.lost_before_log,
            skipped: c.skipped,
            failed: c.failed,
            deleted: c.deleted,
            compacted: c.compacted,
            dead_lettered: c.dead_lettered,
            pending,
            in_producer,
            in_log: pending - in_producer,
            out_of_order: c.out_of_order,
        })
    }

    /// A group's totals over `topics`, counted from every record's state, for invariant
    /// checks.
    pub fn recount(&self, group: GroupId, topics: &[TopicId]) -> Option<Totals> {
        let g = self.groups.get(group.index())?;
        let mut t = Totals::default();
        for (id, info) in self.records.iter().enumerate() {
            if !topics.contains(&info.tp().topic) {
                continue;
            }
            t.produced += 1;
            let byte = g.state.get(id).copied().unwrap_or(0);
            if byte & OUT_OF_ORDER != 0 {
                t.out_of_order += 1;
            }
            if info.never_in_log {
                t.lost += 1;
                t.lost_before_log += 1;
                continue;
            }
            match outcome_of(byte) {
                Outcome::Pending if !info.held() => {
                    t.pending += 1;
                    t.in_producer += 1;
                }
                Outcome::Pending => {
                    t.pending += 1;
                    t.in_log += 1;
                }
                Outcome::Once => t.once += 1,
                Outcome::Duplicate => t.duplicate += 1,
                Outcome::Lost => t.lost += 1,
                Outcome::Skipped => t.skipped += 1,
                Outcome::Failed => t.failed += 1,
                Outcome::Deleted => t.deleted += 1,
                Outcome::Compacted => t.compacted += 1,
                Outcome::DeadLettered => t.dead_lettered += 1,
            }
        }
        Some(t)
    }
}

impl GroupLedger {
    /// Records processed so far, second times included.
    pub fn processed_count(&self) -> u64 {
        self.processed
    }

    /// The outcome bytes' memory (see `ChunkVec::memory`).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.state.memory()
    }

    pub(super) fn counts(&self, topics: &[TopicId]) -> Counts {
        let mut c = Counts::default();
        for x in topics.iter().filter_map(|t| self.counts.get(t.index())) {
            c.once += x.once;
            c.duplicate += x.duplicate;
            c.lost += x.lost;
            c.skipped += x.skipped;
            c.failed += x.failed;
            c.deleted += x.deleted;
            c.compacted += x.compacted;
            c.dead_lettered += x.dead_lettered;
            c.out_of_order += x.out_of_order;
            c.settled_returned += x.settled_returned;
        }
        c
    }
}
