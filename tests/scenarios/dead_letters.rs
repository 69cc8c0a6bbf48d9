//! What the application does with a record that fails for good (issue "What the consumer
//! does", deliverable 4): `on.error` crashes (Kafka's own behaviour: the exception escapes
//! `poll`), logs and skips, or writes the record to `<topic>.dlq` and goes on; retries in
//! place come first. Seed 004 §18 (poison pills and dead-letter topics).

use kafka_lab::engine::config::{GroupConfig, ManualCommit, OnError};
use kafka_lab::engine::event::GroupEvent;
use kafka_lab::engine::ids::{TopicId, Tp};
use kafka_lab::engine::ledger::{AnomalyKind, Outcome};
use kafka_lab::engine::{view, Command, Sim};

use super::{group_events, lab, quick_group, run_checked, stop_producers, totals, G0, P0, T0};

/// Poison records sent with keys that land on different partitions.
const POISON_KEYS: [&str; 3] = ["bad-1", "bad-2", "bad-3"];

/// A group of two on three partitions, handling errors as `on_error` says; three poison
/// records are sent at 5, 10 and 15 s among the producer's 10 records/s, which stops at
/// 30 s; the run goes on until 90 s. Returns the run and the poison records' ids.
fn poisoned(
    mode: ManualCommit,
    processing_ms: u64,
    config: impl Fn(&mut GroupConfig),
) -> (Sim, Vec<u32>) {
    let mut group = quick_group(mode);
    group.processing_ms = processing_ms;
    config(&mut group);
    let mut sim = lab(41, 3, 10, group, 2);
    let mut ids = Vec::new();
    for (i, key) in POISON_KEYS.iter().enumerate() {
        run_checked(&mut sim, 5_000 * (i as u64 + 1));
        sim.apply(Command::Send {
            producer: P0,
            key: Some((*key).into()),
            payload_bytes: 10,
            poison: true,
            tombstone: false,
            topic: T0,
        })
        .unwrap();
        ids.push(sim.ledger().produced() as u32 - 1);
    }
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    (sim, ids)
}

fn crashes(sim: &Sim) -> usize {
    group_events(sim)
        .iter()
        .filter(|(_, e)| matches!(e, GroupEvent::ConsumerCrashed { .. }))
        .count()
}

fn dlq_topic(sim: &Sim) -> Option<TopicId> {
    sim.world().cluster.topic_id("orders.dlq")
}

/// The dead-letter topic's records: `(partition, record)`, in partition and offset order.
fn dead_letters(sim: &Sim) -> Vec<(u32, kafka_lab::engine::log::LogRecord)> {
    let Some(t) = dlq_topic(sim) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in 0..sim.world().cluster.partition_count(t) {
        let log = sim.log(Tp::new(t, p)).expect("a leader");
        out.extend(log.range(0, log.log_end_offset()).map(|(_, r)| (p, *r)));
    }
    out
}

const MODES: [ManualCommit; 3] = [
    ManualCommit::Off,
    ManualCommit::AfterBatch,
    ManualCommit::AfterEachRecord,
];

/// With a dead-letter topic, every poison record is written there once, with its key and
/// its partition number, no consumer dies, and the partitions drain: everything else is
/// processed, nothing is lost. The dead-letter topic holds exactly the poison records.
#[test]
fn the_dead_letter_topic_keeps_partitions_moving_and_holds_exactly_the_poison_records() {
    for mode in MODES {
        for processing_ms in [50, 0] {
            let (sim, ids) = poisoned(mode, processing_ms, |g| g.on_error = OnError::DeadLetter);
            let what = format!("{mode:?}, {processing_ms} ms");
            assert_eq!(crashes(&sim), 0, "{what}: nobody died");
            let t = totals(&sim);
            assert_eq!(
                (t.dead_lettered, t.failed, t.lost, t.pending),
                (3, 0, 0, 0),
                "{what}: {t:?}"
            );
            for &id in &ids {
                assert_eq!(
                    sim.ledger().outcome(G0, id),
                    Outcome::DeadLettered,
                    "{what}"
                );
            }
            let dlq = dlq_topic(&sim).expect("orders.dlq was created with the group");
            assert_eq!(sim.world().cluster.partition_count(dlq), 3);
            let letters = dead_letters(&sim);
            assert_eq!(letters.len(), 3, "{what}: one copy each");
            let notes = &sim.ledger().groups[0].dead_letters;
            assert_eq!(notes.len(), 3, "{what}");
            for (note, (p, copy)) in notes.iter().zip(&letters) {
                let original = *sim.log(note.tp).unwrap().get(note.offset).unwrap();
                assert!(original.poison() && !copy.poison() && copy.dead_letter());
                assert_eq!(copy.key, original.key, "{what}: the key travels");
                assert_eq!(
                    note.dlq.p(),
                    note.tp.p(),
                    "{what}: the same partition number"
                );
                assert_eq!(*p, note.dlq.p());
            }
            let failed = view::anomalies(&sim, G0)
                .into_iter()
                .filter(|a| a.kind == AnomalyKind::Failed)
                .collect::<Vec<_>>();
            assert_eq!(failed.len(), 3, "{what}");
            assert!(
                failed
                    .iter()
                    .all(|a| a.sentence.contains("dead-letter topic")),
                "{what}: {:?}",
                failed[0].sentence
            );
        }
    }
}

/// Crashing (the default), the first owner of a poison record's partition dies on it,
/// and so does each next owner: the partition is stuck. Skipping, nobody dies, the
/// partitions drain, and the poison records are failed and in no other topic.
#[test]
fn skipping_moves_on_where_crashing_sticks() {
    let (crashing, _) = poisoned(ManualCommit::AfterBatch, 50, |_| {});
    assert!(crashes(&crashing) >= 2, "both consumers die in turn");
    assert!(totals(&crashing).pending > 0, "a partition is stuck");
    assert!(dlq_topic(&crashing).is_none());

    let (skipping, ids) = poisoned(ManualCommit::AfterBatch, 50, |g| g.on_error = OnError::Skip);
    assert_eq!(crashes(&skipping), 0);
    let t = totals(&skipping);
    assert_eq!(
        (t.failed, t.dead_lettered, t.lost, t.pending),
        (3, 0, 0, 0),
        "{t:?}"
    );
    for id in ids {
        assert_eq!(skipping.ledger().outcome(G0, id), Outcome::Failed);
    }
    assert!(
        dlq_topic(&skipping).is_none(),
        "no dead-letter topic is made"
    );
    let sentence = &view::anomalies(&skipping, G0)
        .into_iter()
        .find(|a| a.kind == AnomalyKind::Failed)
        .unwrap()
        .sentence;
    assert!(sentence.contains("skipped it"), "{sentence}");
}

/// Retries happen in place, `error.retry.backoff.ms` apart, and hold up the whole poll
/// loop: the consumer fails the record `1 + error.retries` times before `on.error` applies.
#[test]
fn retries_come_first_and_hold_up_the_poll_loop() {
    let (sim, _) = poisoned(ManualCommit::AfterBatch, 50, |g| {
        g.on_error = OnError::DeadLetter;
        g.error_retries = 3;
        g.error_retry_backoff_ms = 1_000;
    });
    let events: Vec<(u64, GroupEvent)> = group_events(&sim);
    let first_poison = events
        .iter()
        .find_map(|(t, e)| match e {
            GroupEvent::ProcessingFailed { tp, offset, .. } => Some((*t, *tp, *offset)),
            _ => None,
        })
        .expect("a failure");
    let (t0, tp, offset) = first_poison;
    let failures: Vec<u64> = events
        .iter()
        .filter_map(|(t, e)| match e {
            GroupEvent::ProcessingFailed {
                tp: p, offset: o, ..
            } if (*p, *o) == (tp, offset) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 4, "one try and three retries");
    for w in failures.windows(2) {
        assert!(
            w[1] - w[0] >= 1_000,
            "retries wait their backoff: {failures:?}"
        );
    }
    let handled_at = events
        .iter()
        .find_map(|(t, e)| match e {
            GroupEvent::ErrorHandled {
                tp: p, offset: o, ..
            } if (*p, *o) == (tp, offset) => Some(*t),
            _ => None,
        })
        .expect("then the dead letter");
    assert!(handled_at >= t0 + 3_000);
    // Nothing else was processed by that consumer while it retried.
    let member = events
        .iter()
        .find_map(|(_, e)| match e {
            GroupEvent::ProcessingFailed { member, .. } => Some(*member),
            _ => None,
        })
        .unwrap();
    assert!(!events.iter().any(|(t, e)| matches!(e,
        GroupEvent::Processed { member: m, .. } if *m == member && *t > t0 && *t < handled_at)));
    assert_eq!(totals(&sim).dead_lettered, 3);
}

/// Offsets stored with the data (`dedupe=stored-offsets`) store the dead letter's offset
/// too: a poison record that is the last record of its partition, dead-lettered just before
/// every member crashes, is not handled again by the members that come back, so the
/// dead-letter topic holds it once.
#[test]
fn stored_offsets_do_not_dead_letter_a_record_twice() {
    let (mut sim, _) = poisoned(ManualCommit::Off, 0, |g| {
        g.on_error = OnError::DeadLetter;
        g.dedupe = kafka_lab::engine::config::Dedupe::StoredOffsets;
    });
    assert_eq!(dead_letters(&sim).len(), POISON_KEYS.len());
    sim.apply(Command::Send {
        producer: P0,
        key: Some(POISON_KEYS[0].into()),
        payload_bytes: 10,
        poison: true,
        tombstone: false,
        topic: T0,
    })
    .unwrap();
    run_checked(&mut sim, 95_000);
    assert_eq!(dead_letters(&sim).len(), POISON_KEYS.len() + 1);
    for consumer in [super::c(1), super::c(2)] {
        sim.apply(Command::CrashConsumer {
            group: G0,
            consumer,
        })
        .unwrap();
    }
    run_checked(&mut sim, 96_000);
    for consumer in [super::c(1), super::c(2)] {
        sim.apply(Command::RestartConsumer {
            group: G0,
            consumer,
        })
        .unwrap();
    }
    run_checked(&mut sim, 130_000);
    assert_eq!(
        dead_letters(&sim).len(),
        POISON_KEYS.len() + 1,
        "each poison record dead-lettered once"
    );
    assert_eq!(totals(&sim).duplicate, 0);
}
