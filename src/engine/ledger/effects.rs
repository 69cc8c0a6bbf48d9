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
use super::super::value::{OrderKind, OrderValue};

/// One row of the application's table: a key's (or a customer's) charges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// Charges applied (a record charged twice counts twice).
    pub charges: u32,
    /// Their total amount.
    pub amount: u64,
    /// Records of this row charged more than once.
    pub doubled: u32,
}

/// Which row a record's effect lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowId {
    /// A record without a typed value: its key's row.
    Key(KeyId),
    /// A record without a key or a value.
    Keyless,
    /// A `paid` order event: its customer's balance, whatever field the key was taken from.
    Customer(u32),
}

pub use super::super::value::order_amount;

/// What processing `r` writes: its row and amount. A record without a typed value charges
/// its key the amount of its event id; an order event charges its customer the order's
/// amount when it is `paid`, and `created` and `cancelled` charge nothing (`None`).
pub fn effect_of(r: &LogRecord, values: &ChunkVec<u64>) -> Option<(RowId, u64)> {
    let word = values.get(r.record_id as usize).copied().unwrap_or(0);
    match OrderValue::unpack(word) {
        None => Some((
            r.key.map_or(RowId::Keyless, RowId::Key),
            order_amount(r.record_id),
        )),
        Some(v) if v.kind == OrderKind::Paid => {
            Some((RowId::Customer(v.customer_id), order_amount(v.order_id)))
        }
        Some(_) => None,
    }
}

/// One group's application database.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    dedupe: Dedupe,
    /// Per interned key: its row.
    rows: Vec<Row>,
    /// The row of records without a key.
    keyless: Row,
    /// Per customer id: its balance (order events only).
    customers: Vec<Row>,
    /// Records whose effect was applied more than once.
    doubled: u64,
    /// Repeated deliveries that left the table as it was: skipped by their event id, or
    /// upserts that rewrote their own row.
    skipped: u64,
    /// After a truncation: per record id, the times its effect was applied since.
    applied: Option<ChunkVec<u8>>,
}

fn grown(rows: &mut Vec<Row>, i: usize) -> &mut Row {
    if rows.len() <= i {
        rows.resize(i + 1, Row::default());
    }
    &mut rows[i]
}

impl Effects {
    /// An empty database guarded as `dedupe` says.
    pub fn new(dedupe: Dedupe) -> Self {
        Effects {
            dedupe,
            ..Effects::default()
        }
    }

    fn row(&mut self, id: RowId) -> &mut Row {
        match id {
            RowId::Key(k) => grown(&mut self.rows, k as usize),
            RowId::Keyless => &mut self.keyless,
            RowId::Customer(c) => grown(&mut self.customers, c as usize),
        }
    }

    /// Processes `records` (one run, in offset order): each charges its amount to its row
    /// ([`effect_of`]; `values`: the ledger's typed values by record id). Records the
    /// group had processed before are then passed to [`Self::repeated`].
    pub fn apply(&mut self, records: &[LogRecord], values: &ChunkVec<u64>) {
        if self.applied.is_some() || !values.is_empty() {
            for r in records {
                if let Some((row, amount)) = effect_of(r, values) {
                    self.apply_one(r.record_id, row, amount);
                }
            }
            return;
        }
        // Keys only (the common run): room for every key of the run first, so the loop
        // only indexes.
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
    /// finds its event id stored and takes its charge back (the write never happened), as
    /// does an upsert (it rewrote its own row); without either, the record is now charged
    /// twice.
    pub fn repeated(&mut self, r: &LogRecord, second: bool, values: &ChunkVec<u64>) {
        if self.applied.is_some() {
            return; // counted in `apply_one`
        }
        let Some((id, amount)) = effect_of(r, values) else {
            return;
        };
        let dedupe = self.dedupe.guards_effect();
        let row = self.row(id);
        if dedupe {
            row.charges -= 1;
            row.amount -= amount;
            self.skipped += 1;
        } else if second {
            row.doubled += 1;
            self.doubled += 1;
        }
    }

    /// One record's charge; after a truncation, counted per record here.
    fn apply_one(&mut self, record_id: u32, id: RowId, amount: u64) {
        let mut counts_double = false;
        if let Some(applied) = self.applied.as_mut() {
            let i = record_id as usize;
            applied.resize_up(i + 1, 0);
            let n = applied.get_mut(i).expect("resized above");
            let before = *n;
            if before > 0 && self.dedupe.guards_effect() {
                self.skipped += 1;
                return;
            }
            *n = before.saturating_add(1);
            counts_double = before == 1;
            if counts_double {
                self.doubled += 1;
            }
        }
        let row = self.row(id);
        row.charges += 1;
        row.amount += amount;
        if counts_double {
            row.doubled += 1;
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
            .chain(self.customers.iter_mut())
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

    /// The rows with a charge: by key id, then the keyless row, then by customer id.
    pub fn rows(&self) -> impl Iterator<Item = (RowId, Row)> + '_ {
        let keys = self.rows.iter().enumerate();
        let customers = self.customers.iter().enumerate();
        keys.map(|(k, r)| (RowId::Key(k as KeyId), *r))
            .chain(std::iter::once((RowId::Keyless, self.keyless)))
            .chain(customers.map(|(c, r)| (RowId::Customer(c as u32), *r)))
            .filter(|(_, r)| r.charges > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No typed values.
    fn none() -> ChunkVec<u64> {
        ChunkVec::new()
    }

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
            plain.apply(&run, &none());
            plain.apply(&run[..2], &none());
            for r in &run[..2] {
                plain.repeated(r, true, &none());
            }
            assert_eq!(plain.doubled(), 2);
            let row3 = plain.rows().find(|(k, _)| *k == RowId::Key(3)).unwrap().1;
            assert_eq!(row3.charges, 4);
            assert_eq!(row3.doubled, 2);
            assert_eq!(row3.amount, 2 * (order_amount(0) + order_amount(1)));
        }
        for dedupe in [Dedupe::EventId, Dedupe::Upsert] {
            let mut guarded = Effects::new(dedupe);
            guarded.apply(&run, &none());
            guarded.apply(&run[..2], &none());
            for r in &run[..2] {
                guarded.repeated(r, true, &none());
            }
            assert_eq!(guarded.doubled(), 0);
            assert_eq!(guarded.skipped(), 2);
            let row3 = guarded.rows().find(|(k, _)| *k == RowId::Key(3)).unwrap().1;
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
            e.apply(&run, &none());
            e.corrupt();
            let row3 = |e: &Effects| e.rows().find(|(k, _)| *k == RowId::Key(3)).unwrap().1;
            assert_eq!(row3(&e).amount, total3 / 2);
            e.truncate();
            assert_eq!(e.rows().count(), 0);
            e.apply(&run, &none());
            e.repeated(&run[0], true, &none()); // the ledger's view is ignored after a truncation
            assert_eq!((row3(&e).amount, e.doubled()), (total3, 0), "{dedupe:?}");
            e.apply(&run[..1], &none());
            let twice = !dedupe.guards_effect();
            assert_eq!(e.doubled(), u64::from(twice), "{dedupe:?}");
            assert_eq!(e.skipped(), u64::from(!twice), "{dedupe:?}");
        }
    }

    /// Order events: a `paid` event charges its customer, whatever the key; `created` and
    /// `cancelled` charge nothing, so their repeats charge nothing twice either.
    #[test]
    fn order_events_charge_the_customer_when_paid() {
        let order = |order_id, kind| {
            OrderValue {
                order_id,
                customer_id: 7,
                kind,
            }
            .pack()
        };
        let mut values = ChunkVec::new();
        values.extend_from_slice(&[
            order(1, OrderKind::Created),
            order(1, OrderKind::Paid),
            order(2, OrderKind::Created),
            order(2, OrderKind::Cancelled),
        ]);
        // Keyed by order id: keys 1 and 2.
        let run = [record(0, 1), record(1, 1), record(2, 2), record(3, 2)];
        let mut e = Effects::new(Dedupe::Off);
        e.apply(&run, &values);
        let rows: Vec<_> = e.rows().collect();
        assert_eq!(rows.len(), 1, "one customer row, no order rows: {rows:?}");
        assert_eq!(rows[0].0, RowId::Customer(7));
        assert_eq!(
            (rows[0].1.charges, rows[0].1.amount),
            (1, order_amount(1)),
            "order 1's amount"
        );
        e.apply(&run, &values);
        for r in &run {
            e.repeated(r, true, &values);
        }
        assert_eq!(e.doubled(), 1, "only the paid event is charged twice");
        assert_eq!(e.rows().next().unwrap().1.amount, 2 * order_amount(1));
    }

    /// Amounts are whole units from 5 to 100, the same for every copy of a record.
    #[test]
    fn amounts_stay_in_range() {
        for id in 0..10_000 {
            assert!((5..=100).contains(&order_amount(id)));
        }
    }
}
