//! The dual write and the outbox (issue "What the consumer does", deliverable 5): a
//! service that writes its own order row and produces the order's event. A crash between
//! the two writes leaves them disagreeing: a row without an event (row first) or an event
//! without a row (event first). With an outbox the row and the event are one database
//! write and a relay produces the outbox at least once: no gap, and with the idempotent
//! consumer downstream, each order charged once. Seeds 004 §15 and 001 (the outbox).

use kafka_lab::engine::config::{Dedupe, ManualCommit, ProducerConfig, ServiceWrite};
use kafka_lab::engine::ids::ProducerId;
use kafka_lab::engine::{view, Command, Sim};

use super::{add_payments, quick_group, run_checked, totals, workload, G0, P0};

/// One service producing 40 orders/s with `linger.ms=200` (so records wait in its client),
/// and a group of two charging them. The service crashes three times with records still
/// unsent or unacknowledged; the workload stops at 20 s and the group drains.
fn crashing(write: ServiceWrite, dedupe: Dedupe) -> Sim {
    let mut sim = Sim::with_topic("orders", 3, 61).unwrap();
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.dedupe = dedupe;
    add_payments(&mut sim, group, 2);
    let mut config = ProducerConfig::default();
    config.set("linger.ms", "200").unwrap();
    config.service_write = write;
    sim.apply(Command::AddProducer {
        config,
        workload: Some(workload(40, 50)),
    })
    .unwrap();
    for t in [4_000, 9_000, 14_000] {
        crash_with_records_in_hand(&mut sim, t);
    }
    run_checked(&mut sim, 20_000);
    sim.apply(Command::SetWorkload {
        producer: P0,
        workload: None,
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    sim
}

/// From `from`, the first millisecond the service has records both queued and on the
/// wire; it crashes then.
fn crash_with_records_in_hand(sim: &mut Sim, from: u64) {
    let mut t = from;
    loop {
        run_checked(sim, t);
        let p = &view::producers(sim)[0];
        if p.pending > 0 && p.in_flight_requests > 0 {
            break;
        }
        t += 1;
        assert!(t < from + 5_000, "the service never had records in hand");
    }
    sim.apply(Command::CrashProducer { producer: P0 }).unwrap();
}

fn db(sim: &Sim) -> view::ServiceDbView {
    view::service_db(sim, ProducerId(0)).expect("a service with a database")
}

#[test]
fn a_dual_write_with_a_crash_between_the_writes_leaves_a_detectable_gap() {
    let row_first = crashing(ServiceWrite::RowThenEvent, Dedupe::Off);
    let d = db(&row_first);
    assert_eq!(d.restarts, 3);
    assert!(d.rows_without_events > 0, "{d:?}");
    assert_eq!(d.events_without_rows, 0, "{d:?}");
    assert_eq!(d.rows, d.events + d.rows_without_events, "{d:?}");
    // The ledger says the same: those records never reached the log, lost for every group.
    assert_eq!(totals(&row_first).lost_before_log, d.rows_without_events);
    let why = view::anomalies(&row_first, G0)
        .into_iter()
        .find(|a| a.sentence.contains("never reached the log"))
        .expect("a lost-before-the-log anomaly");
    assert!(why.sentence.contains("crashed"), "{}", why.sentence);

    let event_first = crashing(ServiceWrite::EventThenRow, Dedupe::Off);
    let d = db(&event_first);
    assert!(d.events_without_rows > 0, "{d:?}");
    assert_eq!(d.rows_without_events, 0, "{d:?}");
}

#[test]
fn the_outbox_leaves_no_gap_and_the_idempotent_consumer_charges_once() {
    let outbox = crashing(ServiceWrite::Outbox, Dedupe::Off);
    let d = db(&outbox);
    assert_eq!(
        (d.rows_without_events, d.events_without_rows),
        (0, 0),
        "{d:?}"
    );
    assert_eq!(d.rows, d.events, "every row's event is in the log: {d:?}");
    assert!(
        d.relayed_again > 0,
        "the relay sent unacknowledged entries again"
    );
    let t = totals(&outbox);
    assert_eq!((t.lost, t.pending), (0, 0), "{t:?}");
    // At least once: entries on the wire at the crash were appended twice, and the plain
    // consumer charges those twice.
    assert!(outbox.ledger().log_duplicates > 0);
    let plain = view::effects(&outbox, G0).unwrap();
    assert!(plain.double_charges > 0);

    let guarded = crashing(ServiceWrite::Outbox, Dedupe::EventId);
    let e = view::effects(&guarded, G0).unwrap();
    assert_eq!(e.double_charges, 0);
    assert_eq!(e.mismatched, Some(0), "each order charged once");
}
