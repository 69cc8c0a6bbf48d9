//! Projections and replay (issue "What the consumer does", deliverable 6): a group's
//! application table is a projection of the log. A buggy deploy corrupts it; truncating it
//! and seeking every partition to the beginning rebuilds it equal to the one built live.
//! Replaying into the table without truncating it charges every record again (the side
//! effects of replay); with the idempotent consumer the replay changes nothing, the damage
//! included. Seeds 004 §14 and 003 Concept 3 (rebuild a read model by replaying).

use kafka_lab::engine::command::SeekTo;
use kafka_lab::engine::config::{Dedupe, GroupConfig, ManualCommit};
use kafka_lab::engine::{view, Command, Sim};

use super::{add_consumer, assigned, c, lab, quick_group, run_checked, stop_producers, G0, T0};

/// A group of two that has drained 30 s of orders (the producer stopped at 30 s).
fn drained(dedupe: Dedupe) -> Sim {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.dedupe = dedupe;
    let mut sim = lab(51, 3, 12, group, 2);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 60_000);
    sim
}

/// Every member seeks every partition it owns to the beginning.
fn replay_from_the_beginning(sim: &mut Sim) {
    for n in 1..=2 {
        for partition in assigned(sim, G0, c(n)) {
            sim.apply(Command::Seek {
                group: G0,
                consumer: c(n),
                partition,
                to: SeekTo::Beginning,
                topic: T0,
            })
            .unwrap();
        }
    }
}

fn balances(sim: &Sim) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = view::effects(sim, G0)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| (r.key, r.amount))
        .collect();
    rows.sort();
    rows
}

fn mismatched(sim: &Sim) -> u64 {
    view::effects(sim, G0)
        .unwrap()
        .mismatched
        .expect("a short log is checked")
}

#[test]
fn truncating_and_replaying_from_the_beginning_rebuilds_the_projection_built_live() {
    let mut sim = drained(Dedupe::Off);
    let live = balances(&sim);
    assert!(live.len() > 5);
    assert_eq!(
        mismatched(&sim),
        0,
        "the live table is the log's projection"
    );
    sim.apply(Command::CorruptTable { group: G0 }).unwrap();
    assert!(mismatched(&sim) > 0, "a corrupted table is off the log");
    sim.apply(Command::TruncateTable { group: G0 }).unwrap();
    assert!(balances(&sim).iter().all(|(_, a)| *a == 0));
    replay_from_the_beginning(&mut sim);
    run_checked(&mut sim, 120_000);
    assert_eq!(balances(&sim), live, "rebuilt equal to the live projection");
    assert_eq!(mismatched(&sim), 0);
    assert_eq!(view::effects(&sim, G0).unwrap().double_charges, 0);
    // A new group reading from the beginning builds the same table in its own database.
    sim.apply(Command::AddGroup {
        group_id: "payments-v2".into(),
        config: GroupConfig {
            auto_offset_reset: kafka_lab::engine::config::AutoOffsetReset::Earliest,
            ..quick_group(ManualCommit::AfterBatch)
        },
        topics: vec!["orders".into()],
    })
    .unwrap();
    let v2 = kafka_lab::engine::ids::GroupId(1);
    add_consumer(&mut sim, v2, None);
    run_checked(&mut sim, 180_000);
    let mut rebuilt: Vec<(String, u64)> = view::effects(&sim, v2)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| (r.key, r.amount))
        .collect();
    rebuilt.sort();
    assert_eq!(rebuilt, live);
}

#[test]
fn replaying_into_the_table_without_truncating_it_charges_every_record_again() {
    let mut sim = drained(Dedupe::Off);
    let processed = sim.totals(G0).unwrap().once;
    sim.apply(Command::CorruptTable { group: G0 }).unwrap();
    replay_from_the_beginning(&mut sim);
    run_checked(&mut sim, 120_000);
    let e = view::effects(&sim, G0).unwrap();
    assert_eq!(
        e.double_charges, processed,
        "every record charged a second time"
    );
    assert!(e.mismatched.unwrap() > 0);

    // The idempotent consumer skips every replayed record: no double charge, and the
    // corrupted balances stay corrupted.
    let mut guarded = drained(Dedupe::EventId);
    guarded.apply(Command::CorruptTable { group: G0 }).unwrap();
    let corrupted = mismatched(&guarded);
    replay_from_the_beginning(&mut guarded);
    run_checked(&mut guarded, 120_000);
    let e = view::effects(&guarded, G0).unwrap();
    assert_eq!(e.double_charges, 0);
    assert!(e.deduped >= processed);
    assert_eq!(
        e.mismatched,
        Some(corrupted),
        "replaying fixes nothing it skips"
    );
}
