//! The effect side of the ledger: the application's database of one group. The lab's
//! application charges each record's order amount to its key's row (a balance per
//! customer) in the same step it processes the record. The database lives with the
//! application, outside the consumer: a crash loses nothing written, and a restarted or
//! another member writes on the same rows. So a record delivered twice is charged twice,
//! unless the idempotent consumer ([`Dedupe::EventId`]) stores each record's event id in
//! the same write as its charge and skips the ids it has, or each charge is a row keyed by
//! its event id and written with an upsert ([`Dedupe::Upsert`]), which a repeat rewrites.
//! Stored offsets ([`Dedupe::StoredOffsets`]) guard where delivery starts instead (see
//! `engine::database`): the table itself charges every delivery it gets.
//!
//! Whether a delivery is a repeat comes from the ledger's own outcome byte (pending, once,
//! duplicate), so the effect side costs no memory per record: a record's effect was
//! applied once if the group processed it once or dedupes, and twice or more if the group
//! processed it twice or more without the guard. Once the table is truncated (to rebuild
//! it by replaying the log) the outcome byte no longer says what the table holds, so from
//! then on the table counts, per record, the times it was applied since (one byte each).

use super::super::chunked::ChunkVec;
use super::super::config::Dedupe;
use super::super::log::{KeyId, LogRecord};

/// One row of the application's table: a key's charges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// Charges applied (a record charged twice counts twice).
    pub charges: u32,
    /// Their total amount.
    pub amount: u64,
    /// Records of this key charged more than once.
    pub doubled: u32,
}

/// The amount an order record charges: the lab derives it from the record's id (the
/// producer's event id), so every copy and every delivery of a record charges the same.
pub fn order_amount(record_id: u32) -> u64 {
    // A hash of the id mapped onto 0..96 by multiply-and-shift (no division on the hot path).
    let hash = u64::from(record_id.wrapping_mul(2_654_435_761) >> 16);
    5 + ((hash * 96) >> 16)
}

/// One group's application database.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    dedupe: Dedupe,
    /// Per interned key: its row.
    rows: Vec<Row>,
    /// The row of records without a key.
    keyless: Row,
    /// Records whose effect was applied more than once.
    doubled: u64,
    /// Repeated deliveries that left the table as it was: skipped by their event id, or
    /// upserts that rewrote their own row.
    skipped: u64,
    /// After a truncation: per record id, the times its effect was applied since.
    applied: Option<ChunkVec<u8>>,
}

impl Effects {
    /// An empty database guarded as `dedupe` says.
    pub fn new(dedupe: Dedupe) -> Self {
        Effects {
            dedupe,
            ..Effects::default()
        }
    }

    fn row(&mut self, key: Option<KeyId>) -> &mut Row {
        match key {
            Some(k) => {
                let k = k as usize;
                if self.rows.len() <= k {
                    self.rows.resize(k + 1, Row::default());
                }
                &mut self.rows[k]
            }
            None => &mut self.keyless,
        }
    }

    /// Processes `records` (one run, in offset order): each charges its amount to its
    /// key's row. Records the group had processed before are then passed to
    /// [`Self::repeated`].
    pub fn apply(&mut self, records: &[LogRecord]) {
        if self.applied.is_some() {
            self.apply_counted(records);
            return;
        }
        // Room for every key of the run first, so the loop only indexes.
        let top = records.iter().filter_map(|r| r.key).max();
        if let Some(k) = top.map(|k| k as usize).filter(|&k| k >= self.rows.len()) {
            self.rows.resize(k + 1, Row::default());
        }
        for r in records {
            let row = match r.key {
                Some(k) => &mut self.rows[k as usize],
                None => &mut self.keyless,
            };
            row.charges += 1;
            row.amount += order_amount(r.record_id);
        }
    }

    /// `r` was processed again (`second`: for the second time). The idempotent consumer
    /// finds its event id stored and takes its charge back (the write never happened);
    /// without it, the record is now charged twice.
    pub fn repeated(&mut self, r: &LogRecord, second: bool) {
        if self.applied.is_some() {
            return; // counted in `apply_counted`
        }
        let dedupe = self.dedupe.guards_effect();
        let row = self.row(r.key);
        if dedupe {
            row.charges -= 1;
            row.amount -= order_amount(r.record_id);
            self.skipped += 1;
        } else if second {
            row.doubled += 1;
            self.doubled += 1;
        }
    }

    /// [`Self::apply`] after a truncation: each record's applications are counted here.
    fn apply_counted(&mut self, records: &[LogRecord]) {
        let dedupe = self.dedupe.guards_effect();
        for r in records {
            let Some(applied) = self.applied.as_mut() else {
                return;
            };
            let i = r.record_id as usize;
            applied.resize_up(i + 1, 0);
            let n = applied.get_mut(i).expect("resized above");
            let before = *n;
            if before > 0 && dedupe {
                self.skipped += 1;
                continue;
            }
            *n = before.saturating_add(1);
            let counts_double = before == 1;
            if counts_double {
                self.doubled += 1;
            }
            let row = self.row(r.key);
            row.charges += 1;
            row.amount += order_amount(r.record_id);
            if counts_double {
                row.doubled += 1;
            }
        }
    }

    /// `TRUNCATE`: the table and its stored event ids are emptied (to rebuild them by
    /// replaying the log); what was charged twice before is gone with them.
    pub fn truncate(&mut self) {
        *self = Effects {
            dedupe: self.dedupe,
            applied: Some(ChunkVec::new()),
            ..Effects::default()
        };
    }

    /// A buggy deploy halves every balance: the table no longer matches the log.
    pub fn corrupt(&mut self) {
        for row in self
            .rows
            .iter_mut()
            .chain(std::iter::once(&mut self.keyless))
        {
            row.amount /= 2;
        }
    }

    /// Records whose effect was applied more than once (double charges).
    pub fn doubled(&self) -> u64 {
        self.doubled
    }

    /// Repeated deliveries that left the table as it was (skipped, or upserted again).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The guard.
    pub fn dedupe(&self) -> Dedupe {
        self.dedupe
    }

    /// The rows with a charge, by key (`None`: records without a key), in key-id order.
    pub fn rows(&self) -> impl Iterator<Item = (Option<KeyId>, Row)> + '_ {
        self.rows
            .iter()
            .enumerate()
            .map(|(k, r)| (Some(k as KeyId), *r))
            .chain(std::iter::once((None, self.keyless)))
            .filter(|(_, r)| r.charges > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u32, key: u32) -> LogRecord {
        LogRecord {
            record_id: id,
            key: Some(key),
            timestamp_ms: 0,
            size_bytes: 100,
            flags: 0,
            producer: super::super::super::log::NO_PRODUCER,
        }
    }

    /// A run delivered twice charges twice without a guard of the effect (stored offsets
    /// guard where delivery starts, not the write), once with one.
    #[test]
    fn a_second_delivery_charges_again_unless_deduped() {
        let run = [record(0, 3), record(1, 3), record(2, 5)];
        for dedupe in [Dedupe::Off, Dedupe::StoredOffsets] {
            let mut plain = Effects::new(dedupe);
            plain.apply(&run);
            plain.apply(&run[..2]);
            for r in &run[..2] {
                plain.repeated(r, true);
            }
            assert_eq!(plain.doubled(), 2);
            let row3 = plain.rows().find(|(k, _)| *k == Some(3)).unwrap().1;
            assert_eq!(row3.charges, 4);
            assert_eq!(row3.doubled, 2);
            assert_eq!(row3.amount, 2 * (order_amount(0) + order_amount(1)));
        }
        for dedupe in [Dedupe::EventId, Dedupe::Upsert] {
            let mut guarded = Effects::new(dedupe);
            guarded.apply(&run);
            guarded.apply(&run[..2]);
            for r in &run[..2] {
                guarded.repeated(r, true);
            }
            assert_eq!(guarded.doubled(), 0);
            assert_eq!(guarded.skipped(), 2);
            let row3 = guarded.rows().find(|(k, _)| *k == Some(3)).unwrap().1;
            assert_eq!(row3.charges, 2);
            assert_eq!(row3.amount, order_amount(0) + order_amount(1));
        }
    }

    /// After a truncation the table counts applications itself: a replay charges each
    /// record once, a second replay charges twice unless deduped; corrupting halves.
    #[test]
    fn a_truncated_table_counts_each_record_itself() {
        let run = [record(0, 3), record(1, 3), record(2, 5)];
        let total3 = order_amount(0) + order_amount(1);
        for dedupe in [Dedupe::Off, Dedupe::EventId, Dedupe::Upsert] {
            let mut e = Effects::new(dedupe);
            e.apply(&run);
            e.corrupt();
            let row3 = |e: &Effects| e.rows().find(|(k, _)| *k == Some(3)).unwrap().1;
            assert_eq!(row3(&e).amount, total3 / 2);
            e.truncate();
            assert_eq!(e.rows().count(), 0);
            e.apply(&run);
            e.repeated(&run[0], true); // the ledger's view is ignored after a truncation
            assert_eq!((row3(&e).amount, e.doubled()), (total3, 0), "{dedupe:?}");
            e.apply(&run[..1]);
            let twice = !dedupe.guards_effect();
            assert_eq!(e.doubled(), u64::from(twice), "{dedupe:?}");
            assert_eq!(e.skipped(), u64::from(!twice), "{dedupe:?}");
        }
    }

    /// Amounts are whole units from 5 to 100, the same for every copy of a record.
    #[test]
    fn amounts_stay_in_range() {
        for id in 0..10_000 {
            assert!((5..=100).contains(&order_amount(id)));
        }
    }
}
