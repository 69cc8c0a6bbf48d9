//! The effect side (issue "What the consumer does"): a group's application charges each
//! record to its database in the same step it processes it. A crash after processing and
//! before the commit redelivers, and the redelivered records are charged again, unless the
//! idempotent consumer stores each record's event id with its charge and skips ids it has.
//! Seeds 004 §9 and §20 (the idempotent consumer); Kafka's consumer guarantees at least
//! once with commits after processing, never once in the application's database.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use kafka_lab::engine::config::{Dedupe, ManualCommit};
use kafka_lab::engine::ids::{GroupId, MemberId};
use kafka_lab::engine::ledger::effects::order_amount;
use kafka_lab::engine::ledger::Outcome;
use kafka_lab::engine::producer::ProduceFault;
use kafka_lab::engine::{view, Command, Sim};

use kafka_lab::engine::event::{GroupEvent, PositionSource};

use super::{c, consumer, group_events, lab, quick_group, run_checked, stop_producers, G0, P0};

const PROPTEST_SEED: u64 = 0x6566_6665_6374_7321;

/// A group of two that processes 100 ms a record, under `mode`, guarded by `dedupe`: c1
/// crashes holding a batch (after processing some of it, before committing it); the
/// producer stops at 30 s and the group drains the rest.
fn crashed(mode: ManualCommit, dedupe: Dedupe) -> Sim {
    let mut group = quick_group(mode);
    group.processing_ms = 100;
    group.dedupe = dedupe;
    let mut sim = lab(2, 3, 12, group, 2);
    run_checked(&mut sim, 12_000);
    crash_c1_just_after_processing(&mut sim);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    sim
}

/// Crashes c1 in the millisecond it finishes a record with more in hand: the record is
/// processed and its offset not yet committed, whatever the commit mode (with a commit per
/// record, that commit is still on the wire).
fn crash_c1_just_after_processing(sim: &mut Sim) {
    let mut t = sim.now_ms();
    loop {
        let before = consumer(sim, G0, c(1)).in_hand();
        t += 1;
        run_checked(sim, t);
        let after = consumer(sim, G0, c(1)).in_hand();
        if after > 0 && after < before {
            break;
        }
        assert!(t < 60_000, "c1 never finished a record with more in hand");
    }
    let (group, consumer) = (G0, c(1));
    sim.apply(Command::CrashConsumer { group, consumer })
        .unwrap();
}

fn duplicates(sim: &Sim) -> u64 {
    sim.totals(G0).unwrap().duplicate
}

/// Under every commit mode that redelivers, the records processed twice are charged twice
/// (as many double charges as the ledger has duplicates); with the idempotent consumer the
/// same deliveries charge once, and the skipped deliveries are counted.
#[test]
fn a_crash_before_the_commit_charges_twice_unless_the_consumer_is_idempotent() {
    for mode in [
        ManualCommit::Off,
        ManualCommit::AfterBatch,
        ManualCommit::AfterEachRecord,
    ] {
        let plain = crashed(mode, Dedupe::Off);
        let e = view::effects(&plain, G0).unwrap();
        assert!(duplicates(&plain) > 0, "{mode:?} redelivers");
        assert_eq!(e.double_charges, duplicates(&plain), "{mode:?}");
        assert!(
            e.rows.iter().any(|r| r.doubled > 0),
            "{mode:?}: a row shows it"
        );

        for (dedupe, words) in [
            (Dedupe::EventId, "skipped them"),
            (Dedupe::Upsert, "upserted them again"),
        ] {
            let guarded = crashed(mode, dedupe);
            let g = view::effects(&guarded, G0).unwrap();
            let why = format!("{mode:?} {dedupe:?}");
            assert_eq!(
                duplicates(&guarded),
                duplicates(&plain),
                "{why}: same deliveries"
            );
            assert_eq!(g.double_charges, 0, "{why}");
            let dup = view::anomalies(&guarded, G0)
                .into_iter()
                .find(|a| a.kind == kafka_lab::engine::ledger::AnomalyKind::Duplicate)
                .expect("a duplicate anomaly");
            assert!(dup.chain.last().unwrap().1.contains(words), "{why}");
            assert!(g.deduped >= duplicates(&guarded), "{why}");
            // Every record processed at least once is charged exactly once.
            let charged: u64 = g.rows.iter().map(|r| u64::from(r.charges)).sum();
            let t = guarded.totals(G0).unwrap();
            assert_eq!(charged, t.once + t.duplicate, "{why}");
        }
    }
}

/// Offsets stored with the data guard delivery itself: under every commit mode, even
/// committing before processing, the partition's next owner starts where the crashed
/// member's database says it stopped, so nothing is delivered twice, nothing is lost, and
/// every record is charged once.
#[test]
fn offsets_stored_with_the_data_neither_repeat_nor_lose_after_a_crash() {
    for mode in [
        ManualCommit::Off,
        ManualCommit::BeforeProcessing,
        ManualCommit::AfterBatch,
        ManualCommit::AfterEachRecord,
    ] {
        let plain = crashed(mode, Dedupe::Off);
        let t = plain.totals(G0).unwrap();
        assert!(
            t.duplicate + t.lost > 0,
            "{mode:?}: the crash hurts without the guard"
        );

        let sim = crashed(mode, Dedupe::StoredOffsets);
        let t = sim.totals(G0).unwrap();
        let e = view::effects(&sim, G0).unwrap();
        assert_eq!((t.duplicate, t.lost, t.pending), (0, 0, 0), "{mode:?}");
        assert_eq!(e.double_charges, 0, "{mode:?}");
        assert_eq!(e.mismatched, Some(0), "{mode:?}");
        // The member that took c1's partitions read on from the stored offsets.
        let from_db = group_events(&sim).into_iter().any(|(_, e)| {
            matches!(
                e,
                GroupEvent::PositionSet {
                    source: PositionSource::Stored,
                    ..
                }
            )
        });
        assert!(from_db, "{mode:?}: a position came from the database");
    }
}

/// Committing before processing loses records instead: nothing is charged twice, and
/// nothing lost is charged at all.
#[test]
fn committing_before_processing_charges_nothing_twice_and_misses_the_lost() {
    let sim = crashed(ManualCommit::BeforeProcessing, Dedupe::Off);
    let e = view::effects(&sim, G0).unwrap();
    let t = sim.totals(G0).unwrap();
    assert!(t.lost > 0);
    assert_eq!(e.double_charges, 0);
    let charged: u64 = e.rows.iter().map(|r| u64::from(r.charges)).sum();
    assert_eq!(charged, t.once);
}

/// Crashes, restarts and rebalances at random times, with producer retries (a lost
/// acknowledgement) and producing-service restarts among them: with the idempotent consumer
/// every processed record's effect is applied exactly once and the table equals the log's
/// projection; without it, the double charges are exactly the ledger's duplicates.
fn schedule() -> impl Strategy<Value = Vec<(u64, u8)>> {
    prop::collection::vec((1_000u64..30_000, 0u8..6), 1..6)
}

fn run(seed: u64, mode: ManualCommit, dedupe: Dedupe, faults: &[(u64, u8)]) -> Sim {
    let mut group = quick_group(mode);
    group.dedupe = dedupe;
    let mut sim = lab(seed, 3, 30, group, 3);
    let mut faults = faults.to_vec();
    faults.sort();
    for (at, what) in faults {
        run_checked(&mut sim, at);
        let consumer = MemberId(u16::from(what % 3));
        let group = GroupId(0);
        let command = match what {
            0..=2 => Command::CrashConsumer { group, consumer },
            3 => Command::RestartConsumer { group, consumer },
            // The producer retries a batch whose acknowledgement was lost.
            4 => Command::InjectProduceFault {
                producer: P0,
                fault: ProduceFault::LostAck,
            },
            // The producing service restarts as a new producer.
            _ => Command::CrashProducer { producer: P0 },
        };
        // A refused command (restarting a live member) changes nothing.
        let _ = sim.apply(command);
    }
    for consumer in 0..3 {
        let _ = sim.apply(Command::RestartConsumer {
            group: GroupId(0),
            consumer: MemberId(consumer),
        });
    }
    run_checked(&mut sim, 45_000);
    sim
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn effects_are_once_with_the_idempotent_consumer_and_match_duplicates_without(
        seed in 0u64..1_000,
        mode in prop::sample::select(vec![ManualCommit::Off, ManualCommit::AfterBatch, ManualCommit::AfterEachRecord]),
        faults in schedule(),
    ) {
        let plain = run(seed, mode, Dedupe::Off, &faults);
        let e = view::effects(&plain, G0).unwrap();
        prop_assert_eq!(e.double_charges, plain.totals(G0).unwrap().duplicate);

        let guarded = run(seed, mode, Dedupe::EventId, &faults);
        let t = guarded.totals(G0).unwrap();
        let g = view::effects(&guarded, G0).unwrap();
        prop_assert_eq!(g.double_charges, 0);
        prop_assert_eq!(g.mismatched, Some(0), "each record read is charged once");
        // Recomputed from the outcomes: each record processed at least once is charged
        // exactly once, with its amount.
        let ledger = guarded.ledger();
        let (mut charges, mut amount) = (0u64, 0u64);
        for id in 0..ledger.produced() as u32 {
            if matches!(ledger.groups[0].outcome(id), Outcome::Once | Outcome::Duplicate) {
                charges += 1;
                amount += order_amount(id);
            }
        }
        prop_assert_eq!(g.rows.iter().map(|r| u64::from(r.charges)).sum::<u64>(), charges);
        prop_assert_eq!(g.rows.iter().map(|r| r.amount).sum::<u64>(), amount);
        // Without the guard, every delivery charged: the charges are the deliveries.
        let delivered = plain.ledger().groups[0].processed_count();
        prop_assert_eq!(e.rows.iter().map(|r| u64::from(r.charges)).sum::<u64>(), delivered);
        prop_assert!(t.once + t.duplicate > 0);

        // An upsert per event id leaves the same table as the event-id check.
        let upserted = run(seed, mode, Dedupe::Upsert, &faults);
        let u = view::effects(&upserted, G0).unwrap();
        prop_assert_eq!(u.double_charges, 0);
        prop_assert_eq!(&u.rows, &g.rows);

        // Offsets stored with the data: every delivery charges, so the double charges are
        // still the duplicates, and a crash or a rebalance makes none.
        let stored = run(seed, mode, Dedupe::StoredOffsets, &faults);
        let s = view::effects(&stored, G0).unwrap();
        let st = stored.totals(G0).unwrap();
        prop_assert_eq!(s.double_charges, st.duplicate);
        prop_assert_eq!(st.duplicate, 0);
        prop_assert_eq!(s.mismatched, Some(0));
    }
}
