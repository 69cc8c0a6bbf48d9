//! Read models of tables: the table a compacted topic stands for (each key with its latest
//! value, as a reader from the log start rebuilds it), the size of each partition on disk
//! (what `kafka-log-dirs --describe` reports), a group's application database (what
//! processing charged to each key), and the dead-letter topics its application writes
//! (with each dead letter's headers). Part of the view.

use super::ids::{GroupId, TopicId, Tp};
use super::ledger::effects::{effect_of, Row, RowId};
use super::ledger::{LogLookup, Outcome};
use super::log::LogRecord;
use super::sim::Sim;

/// One key's row in a group's application database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectRow {
    /// The key (`null` for records without one).
    pub key: String,
    /// Charges applied.
    pub charges: u32,
    /// Their total amount.
    pub amount: u64,
    /// Records of this key charged more than once.
    pub doubled: u32,
    /// What the log says the balance is (each record once), if it was checked.
    pub expected: Option<u64>,
}

/// A group's application database: its rows and what its guard did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EffectsView {
    /// The guard's name (`off`, `event-id`, `stored-offsets`, `upsert`).
    pub dedupe: &'static str,
    /// Records charged more than once.
    pub double_charges: u64,
    /// Repeated deliveries that left the table as it was (skipped by their event id, or
    /// upserted again).
    pub deduped: u64,
    /// Rows with a charge, or that the log says should have one: rows off the log first,
    /// then double-charged keys, then by key.
    pub rows: Vec<EffectRow>,
    /// Rows whose balance is not what the log says (`None`: the log is too long to check).
    pub mismatched: Option<u64>,
    /// The rows are customers (order events: a `paid` event charges its customer), not keys.
    pub per_customer: bool,
}

/// The most records the table check folds; past it the page does not compare (a fold per
/// frame must stay cheap).
const MAX_FOLD_RECORDS: u64 = 200_000;

/// Balances by row: by key id, the keyless row, by customer id.
#[derive(Default)]
struct Balances {
    by_key: Vec<u64>,
    keyless: u64,
    by_customer: Vec<u64>,
}

impl Balances {
    fn slot(&mut self, row: RowId) -> &mut u64 {
        let grown = |v: &mut Vec<u64>, i: usize| {
            if v.len() <= i {
                v.resize(i + 1, 0);
            }
        };
        match row {
            RowId::Key(k) => {
                grown(&mut self.by_key, k as usize);
                &mut self.by_key[k as usize]
            }
            RowId::Keyless => &mut self.keyless,
            RowId::Customer(c) => {
                grown(&mut self.by_customer, c as usize);
                &mut self.by_customer[c as usize]
            }
        }
    }

    fn get(&self, row: RowId) -> u64 {
        match row {
            RowId::Key(k) => self.by_key.get(k as usize).copied().unwrap_or(0),
            RowId::Keyless => self.keyless,
            RowId::Customer(c) => self.by_customer.get(c as usize).copied().unwrap_or(0),
        }
    }

    /// The rows with a balance, in [`RowId`] order.
    fn iter(&self) -> impl Iterator<Item = (RowId, u64)> + '_ {
        let keys = self.by_key.iter().enumerate();
        let customers = self.by_customer.iter().enumerate();
        keys.map(|(k, &a)| (RowId::Key(k as u32), a))
            .chain(std::iter::once((RowId::Keyless, self.keyless)))
            .chain(customers.map(|(c, &a)| (RowId::Customer(c as u32), a)))
            .filter(|&(_, a)| a > 0)
    }
}

/// The projection rebuilt from scratch: each row's balance if every record the group has
/// processed were charged exactly once (a retried copy in the log counts once; records not
/// read yet, or never, count not at all). `None` past [`MAX_FOLD_RECORDS`].
fn log_balances(sim: &Sim, group: GroupId) -> Option<Balances> {
    let world = sim.world();
    let ledger = sim.ledger();
    let mut balances = Balances::default();
    let mut folded = 0u64;
    for t in world.subscribed_topics(group) {
        for p in 0..world.cluster.partition_count(t) {
            let Some(log) = world.log(Tp::new(t, p)) else {
                continue;
            };
            folded += log.log_end_offset() - log.log_start_offset();
            if folded > MAX_FOLD_RECORDS {
                return None;
            }
            for (offset, r) in log.range_retained(log.log_start_offset(), log.log_end_offset()) {
                let first = ledger
                    .records
                    .get(r.record_id as usize)
                    .and_then(|i| i.first_offset());
                let read = matches!(
                    ledger.outcome(group, r.record_id),
                    Outcome::Once | Outcome::Duplicate
                );
                if !read || first.is_some_and(|o| o != offset) {
                    continue;
                }
                if let Some((row, amount)) = effect_of(r, &ledger.values) {
                    *balances.slot(row) += amount;
                }
            }
        }
    }
    Some(balances)
}

/// The application database of `group`, if the group exists.
pub fn effects(sim: &Sim, group: super::ids::GroupId) -> Option<EffectsView> {
    let e = &sim.ledger().groups.get(group.index())?.effects;
    let keys = &sim.world().keys;
    let fold = log_balances(sim, group);
    let name = |row: RowId| match row {
        RowId::Key(k) => keys
            .get(k)
            .map_or_else(|| "null".to_owned(), |i| i.name.clone()),
        RowId::Keyless => "null".to_owned(),
        RowId::Customer(c) => format!("customer-{c}"),
    };
    let table: Vec<(RowId, Row)> = e.rows().collect();
    let per_customer = !sim.ledger().values.is_empty();
    let mut rows: Vec<EffectRow> = table
        .iter()
        .map(|&(id, r)| EffectRow {
            key: name(id),
            charges: r.charges,
            amount: r.amount,
            doubled: r.doubled,
            expected: fold.as_ref().map(|b| b.get(id)),
        })
        .collect();
    // Rows the log has and the table lacks (a truncated table not yet replayed). Both
    // lists are in `RowId` order.
    if let Some(balances) = &fold {
        let present: Vec<RowId> = table.iter().map(|&(id, _)| id).collect();
        let owed = balances
            .iter()
            .filter(|(id, _)| present.binary_search(id).is_err());
        rows.extend(owed.map(|(id, a)| EffectRow {
            key: name(id),
            charges: 0,
            amount: 0,
            doubled: 0,
            expected: Some(a),
        }));
    }
    let off = |r: &EffectRow| r.expected.is_some_and(|x| x != r.amount);
    let mismatched = fold
        .as_ref()
        .map(|_| rows.iter().filter(|r| off(r)).count() as u64);
    super::sort::sort_by(&mut rows, |a, b| {
        (off(b), b.doubled > 0, &a.key).cmp(&(off(a), a.doubled > 0, &b.key))
    });
    Some(EffectsView {
        dedupe: e.dedupe().name(),
        double_charges: e.doubled(),
        deduped: e.skipped(),
        rows,
        mismatched,
        per_customer,
    })
}

/// The effect of a duplicate run on `group`'s database, as the last step of its cause
/// chain: the repeated records charged again (how many, how much), or skipped by the
/// idempotent consumer. `None` for other anomalies.
pub fn duplicate_effect(
    sim: &Sim,
    group: super::ids::GroupId,
    a: &super::ledger::Anomaly,
) -> Option<(u64, String)> {
    if a.kind != super::ledger::AnomalyKind::Duplicate {
        return None;
    }
    let g = sim.ledger().groups.get(group.index())?;
    let e = &g.effects;
    use super::config::Dedupe;
    let guarded = match e.dedupe() {
        Dedupe::EventId => Some(
            "the application skipped them: their event ids were already in its database with \
             their charges (dedupe=event-id), so nothing was charged twice",
        ),
        Dedupe::Upsert => Some(
            "the application upserted them again: each charge is a row keyed by its event id, \
             so a repeat rewrote its own row with the same amount (dedupe=upsert), and nothing \
             was charged twice",
        ),
        Dedupe::Off | Dedupe::StoredOffsets => None,
    };
    if let Some(words) = guarded {
        return Some((a.at_ms, words.to_owned()));
    }
    let log = sim.world().log(a.tp)?;
    let (mut n, mut amount) = (0u64, 0u64);
    let values = &sim.ledger().values;
    for (_, r) in log.range_retained(a.first_offset, a.last_offset + 1) {
        if g.outcome(r.record_id) != super::ledger::Outcome::Duplicate {
            continue;
        }
        if let Some((_, charged)) = effect_of(r, values) {
            n += 1;
            amount += charged;
        }
    }
    let why = if e.dedupe() == Dedupe::StoredOffsets {
        "the offsets stored in its database guard only where a consumer starts, and this \
         delivery did not start from them, dedupe=stored-offsets"
    } else {
        "its database kept no event ids, dedupe=off"
    };
    let words = format!(
        "the application charged them again: {n} record(s), ${amount} charged twice ({why})"
    );
    Some((a.at_ms, words))
}

/// One key of a compacted topic's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    /// The key.
    pub key: String,
    /// Its partition.
    pub partition: u32,
    /// The offset of its latest record still in the log.
    pub offset: u64,
    /// Which update of the key that record is (1 for its first record ever).
    pub version: u32,
    /// Its value: the text typed with it, else `v<version>`; `None` for a tombstone (the
    /// key is deleted, and a reader that sees the tombstone drops it).
    pub value: Option<String>,
}

/// The table `topic`'s logs stand for: per key, its latest record a reader from the log
/// start would see (records the cleaner removed are not read), in partition then key
/// order. Versions count every record of the key the partition ever held.
pub fn table(sim: &Sim, topic: TopicId) -> Vec<TableRow> {
    let world = sim.world();
    let mut rows = Vec::new();
    for p in 0..world.cluster.partition_count(topic) {
        let Some(log) = world.log(Tp::new(topic, p)) else {
            continue;
        };
        // Indexed by interned key: updates seen, and the latest record a reader sees.
        let mut versions: Vec<u32> = Vec::new();
        let mut latest: Vec<Option<(u64, u32, u32)>> = Vec::new();
        for (offset, r) in log.range_retained(0, log.log_end_offset()) {
            let Some(k) = r.key.map(|k| k as usize) else {
                continue;
            };
            if versions.len() <= k {
                versions.resize(k + 1, 0);
                latest.resize(k + 1, None);
            }
            versions[k] += 1;
            if offset >= log.log_start_offset() && !r.cleaned() {
                latest[k] = Some((offset, r.record_id, versions[k]));
            }
        }
        let mut part: Vec<TableRow> = latest
            .iter()
            .enumerate()
            .filter_map(|(k, seen)| {
                let (offset, record_id, version) = (*seen)?;
                let record = log.get(offset)?;
                let value = (!record.tombstone()).then(|| {
                    world
                        .values
                        .get(&record_id)
                        .cloned()
                        .unwrap_or_else(|| format!("v{version}"))
                });
                Some(TableRow {
                    key: world.keys.get(k as u32)?.name.clone(),
                    partition: p,
                    offset,
                    version,
                    value,
                })
            })
            .collect();
        super::sort::sort_by(&mut part, |a, b| a.key.cmp(&b.key));
        rows.extend(part);
    }
    rows
}

/// One partition's size on its leader (`kafka-log-dirs --describe`: `size` per partition),
/// with its segment count and log start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionSize {
    /// The partition.
    pub partition: u32,
    /// The bytes of its segments.
    pub size_bytes: u64,
    /// Its segments (the last is the active one).
    pub segments: usize,
    /// Its log start offset.
    pub log_start_offset: u64,
    /// Its log end offset.
    pub log_end_offset: u64,
}

/// Each partition of `topic` on its leader's log.
pub fn partition_sizes(sim: &Sim, topic: TopicId) -> Vec<PartitionSize> {
    let world = sim.world();
    (0..world.cluster.partition_count(topic))
        .filter_map(|p| {
            let log = world.log(Tp::new(topic, p))?;
            Some(PartitionSize {
                partition: p,
                size_bytes: log.segments().iter().map(|s| s.size_bytes).sum(),
                segments: log.segments().len(),
                log_start_offset: log.log_start_offset(),
                log_end_offset: log.log_end_offset(),
            })
        })
        .collect()
}

/// Where the cleaner stands on a compacted partition's leader: the clean tail below the
/// first dirty offset, the dirty head above it, and the head's share of the cleanable bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanerView {
    /// The first offset the cleaner has not cleaned (its checkpoint, at least the log start).
    pub first_dirty_offset: u64,
    /// The dirty ratio in millionths: what `min.cleanable.dirty.ratio` is compared with.
    pub dirty_ratio_ppm: u64,
}

/// The cleaner's state for `tp`, when its topic is compacted.
pub fn cleaner(sim: &Sim, tp: Tp) -> Option<CleanerView> {
    let world = sim.world();
    let topic = world.cluster.topic(tp.topic)?;
    if !topic.config.compacted() {
        return None;
    }
    let leader = world.lineage(tp)?;
    let broker = world.brokers.get(leader.index())?;
    let log = broker.log(tp)?;
    let ltc = super::cleaner::log_to_clean(
        log,
        broker.cleaner_checkpoint(tp),
        sim.now_ms(),
        &topic.config.compaction,
    );
    Some(CleanerView {
        first_dirty_offset: ltc.first_dirty_offset,
        dirty_ratio_ppm: ltc.cleanable_ratio_ppm(),
    })
}

/// The topics the stage shows for a group: those it reads, then the dead-letter topics its
/// application writes to (`on.error=dead-letter`), where they exist.
pub fn stage_topics(sim: &Sim, group: GroupId) -> Vec<TopicId> {
    let mut topics = sim.world().subscribed_topics(group);
    let world = sim.world();
    let writes_dead_letters = world
        .groups
        .get(group.index())
        .is_some_and(|g| g.config.on_error == crate::engine::config::OnError::DeadLetter);
    super::sort::sort(&mut topics);
    if writes_dead_letters {
        let dlqs: Vec<TopicId> = topics
            .iter()
            .filter_map(|&t| world.cluster.topic(t))
            .filter_map(|t| {
                let name = format!("{}{}", t.name, crate::engine::config::DLQ_SUFFIX);
                world.cluster.topic_id(&name)
            })
            .collect();
        topics.extend(dlqs);
    }
    topics
}

/// A dead letter's headers as the application wrote them: where the failed record is, and
/// the error.
/// A lane cell's value: a dead letter's headers, the value typed by hand, or the typed
/// order event as JSON.
pub(super) fn cell_value(sim: &Sim, tp: Tp, offset: u64, r: &LogRecord) -> Option<String> {
    if r.dead_letter() {
        return Some(dead_letter_headers(sim, tp, offset));
    }
    sim.world().values.get(&r.record_id).cloned().or_else(|| {
        let word = sim.ledger().values.get(r.record_id as usize)?;
        super::value::OrderValue::unpack(*word).map(super::value::OrderValue::json)
    })
}

pub(super) fn dead_letter_headers(sim: &Sim, tp: Tp, offset: u64) -> String {
    let note = sim
        .ledger()
        .groups
        .iter()
        .flat_map(|g| &g.dead_letters)
        .find(|n| n.dlq == tp && n.dlq_offset == offset);
    match note {
        Some(n) => format!(
            "(a dead letter) headers: original {}@{} · error: processing threw, {} attempt{}",
            topic_partition(sim, n.tp),
            n.offset,
            n.failures,
            if n.failures == 1 { "" } else { "s" }
        ),
        None => "(a dead letter) headers: the original record's place and its error".to_owned(),
    }
}

/// `orders/p0` (the dead-letter lanes make every stage with them show two topics).
fn topic_partition(sim: &Sim, tp: Tp) -> String {
    let name = sim
        .world()
        .cluster
        .topic(tp.topic)
        .map_or("?", |t| t.name.as_str());
    format!("{name}/p{}", tp.p())
}

/// The producing service's own database beside its events (`service.write`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceDbView {
    /// How it writes (`row-then-event`, `event-then-row`, `outbox`).
    pub mode: &'static str,
    /// Order rows written.
    pub rows: u64,
    /// Events in the log (first copies).
    pub events: u64,
    /// Rows whose event never reached the log and never will (a dual write's gap).
    pub rows_without_events: u64,
    /// Events in the log whose row was never written (the other gap).
    pub events_without_rows: u64,
    /// With an outbox: records the relay sent again after a restart.
    pub relayed_again: u64,
    /// Times the service crashed and restarted.
    pub restarts: u32,
}

/// The service database of a producer, `None` for a producer that only produces.
pub fn service_db(sim: &Sim, producer: super::ids::ProducerId) -> Option<ServiceDbView> {
    use super::config::ServiceWrite;
    let p = sim.world().producers.get(producer.index())?;
    let mode = p.config.service_write;
    if mode == ServiceWrite::KafkaOnly {
        return None;
    }
    let (mut sent, mut events, mut never) = (0u64, 0u64, 0u64);
    for info in sim
        .ledger()
        .records
        .iter()
        .filter(|i| i.producer() == Some(producer))
    {
        sent += 1;
        events += u64::from(info.first_offset().is_some());
        never += u64::from(info.never_in_log);
    }
    let rows = match mode {
        // The row is written in the acknowledgement's callback.
        ServiceWrite::EventThenRow => p.acked_records,
        _ => sent,
    };
    Some(ServiceDbView {
        mode: mode.name(),
        rows,
        events,
        rows_without_events: if mode == ServiceWrite::RowThenEvent {
            never
        } else {
            0
        },
        events_without_rows: events.saturating_sub(rows),
        relayed_again: p.relayed_again,
        restarts: p.restarts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::TopicConfig;
    use crate::engine::command::Command;
    use crate::engine::ids::ProducerId;

    #[test]
    fn the_table_keeps_each_keys_latest_value_and_a_tombstone_deletes() {
        let mut sim = Sim::new(1);
        let mut config = TopicConfig::default();
        config.set("cleanup.policy", "compact").unwrap();
        let create = Command::CreateTopic {
            name: "profiles".into(),
            partitions: 1,
            config,
        };
        sim.apply(create).unwrap();
        let add = Command::AddProducer {
            config: Default::default(),
            workload: None,
        };
        sim.apply(add).unwrap();
        let sends = [
            ("ann", false),
            ("bob", false),
            ("ann", false),
            ("bob", true),
        ];
        for (key, tombstone) in sends {
            let send = Command::Send {
                producer: ProducerId(0),
                key: Some(key.into()),
                payload_bytes: 10,
                poison: false,
                tombstone,
                topic: TopicId(0),
            };
            sim.apply(send).unwrap();
        }
        sim.run_until(2_000);
        let rows = table(&sim, TopicId(0));
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.key.as_str(), r.version, r.value.clone()))
            .collect();
        assert_eq!(
            got,
            vec![("ann", 2, Some("v2".to_owned())), ("bob", 2, None)]
        );
        let sizes = partition_sizes(&sim, TopicId(0));
        assert_eq!(sizes.len(), 1);
        assert_eq!(sizes[0].log_end_offset, 4);
        assert!(sizes[0].size_bytes > 0);
    }
}
