//! Compaction (issue "Retention and compaction"): every replica's log cleaner takes a
//! compacted log as Kafka's `LogCleanerManager.grabFilthiestCompactedLog` does (dirty ratio
//! over `min.cleanable.dirty.ratio`, or a record older than `max.compaction.lag.ms`), never
//! touches the active segment, and cleans as `Cleaner.doClean` does: the latest record per
//! key stays, nothing is renumbered, and a tombstone survives the pass that stamps its
//! delete horizon, then goes on a later one.

use kafka_lab::engine::config::ManualCommit;
use kafka_lab::engine::event::{BrokerEvent, Event};
use kafka_lab::engine::ids::{MemberId, Tp};
use kafka_lab::engine::ledger::{AnomalyKind, Cause};
use kafka_lab::engine::log::PartitionLog;
use kafka_lab::engine::{view, Command, Sim};

use super::segments::{replica_log, with_configs};
use super::{run_checked, G0, P0, T0};

fn tp() -> Tp {
    Tp::new(T0, 0)
}

/// One `LogCleaned` event: `(broker, dirty, ratio ppm, forced, removed)`.
type PassSeen = (u16, (u64, u64), u64, bool, u64);

/// Every `LogCleaned` event.
fn passes(sim: &Sim) -> Vec<PassSeen> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            Event::Broker {
                broker,
                event: BrokerEvent::LogCleaned(c),
                ..
            } => Some((broker.0, c.dirty, c.dirty_ratio_ppm, c.forced, c.removed)),
            _ => None,
        })
        .collect()
}

/// The keyed records still in `log` below `to`, as `(offset, key)`.
fn kept(log: &PartitionLog, to: u64) -> Vec<(u64, u32)> {
    log.range(log.log_start_offset(), to)
        .filter(|(_, r)| !r.cleaned())
        .filter_map(|(o, r)| Some((o, r.key?)))
        .collect()
}

/// LogCleaner on a compacted topic with closed segments and many updates per key: behind
/// each replica's cleaner checkpoint every key appears once, as its latest record there;
/// every record keeps the offset it was appended at (gaps, no renumbering).
#[test]
fn a_compacted_log_keeps_the_latest_record_per_key_and_renumbers_nothing() {
    let mut sim = with_configs(&[("cleanup.policy", "compact"), ("segment.ms", "2000")]);
    run_checked(&mut sim, 40_000);
    let passes = passes(&sim);
    assert!(passes.len() >= 3, "each replica cleans: {passes:?}");
    for b in 0..3u16 {
        let log = replica_log(&sim, b, tp());
        let checkpoint = passes
            .iter()
            .filter(|p| p.0 == b)
            .map(|p| p.1 .1)
            .max()
            .expect("broker {b} cleaned");
        let kept = kept(log, checkpoint);
        let mut keys: Vec<u32> = kept.iter().map(|k| k.1).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            kept.len(),
            "one record per key below {checkpoint}"
        );
        // Each kept record is its key's latest below the checkpoint.
        for &(o, k) in &kept {
            let newer = log.range(o + 1, checkpoint).any(|(_, r)| r.key == Some(k));
            assert!(!newer, "offset {o} was superseded below the checkpoint");
        }
        assert!(log.range(0, checkpoint).any(|(_, r)| r.cleaned()), "gaps");
        for (o, r) in log.range(0, log.log_end_offset()) {
            let info = sim.ledger().records.get(r.record_id as usize).unwrap();
            assert_eq!(info.first_offset, o, "offset {o} renumbered");
        }
    }
}

/// `cleanableOffsets`: the first uncleanable offset is at most the active segment's base,
/// so a log that never rolled is never cleaned, however many duplicates it holds.
#[test]
fn the_active_segment_is_never_compacted() {
    let mut sim = with_configs(&[("cleanup.policy", "compact")]);
    run_checked(&mut sim, 60_000);
    assert!(passes(&sim).is_empty());
    let log = replica_log(&sim, 0, tp());
    assert_eq!(log.segments().len(), 1);
    assert!(log
        .range(0, log.log_end_offset())
        .all(|(_, r)| !r.cleaned()));
}

/// `grabFilthiestCompactedLog`: a log is taken when its dirty ratio is strictly over
/// `min.cleanable.dirty.ratio` (so 1.0 never cleans) or, whatever the ratio, when a dirty
/// record is older than `max.compaction.lag.ms`.
#[test]
fn the_dirty_ratio_or_the_max_lag_decides_when_the_cleaner_runs() {
    let mut sim = with_configs(&[("cleanup.policy", "compact"), ("segment.ms", "2000")]);
    run_checked(&mut sim, 60_000);
    let p = passes(&sim);
    assert!(p.iter().all(|p| p.2 > 500_000 && !p.3), "{p:?}");
    let mut never = with_configs(&[
        ("cleanup.policy", "compact"),
        ("segment.ms", "2000"),
        ("min.cleanable.dirty.ratio", "1"),
    ]);
    run_checked(&mut never, 60_000);
    assert!(passes(&never).is_empty(), "a ratio is never over 1.0");
    let mut forced = with_configs(&[
        ("cleanup.policy", "compact"),
        ("segment.ms", "2000"),
        ("min.cleanable.dirty.ratio", "1"),
        ("max.compaction.lag.ms", "20000"),
    ]);
    run_checked(&mut forced, 60_000);
    let p = passes(&forced);
    assert!(!p.is_empty() && p.iter().all(|p| p.3), "{p:?}");
}

/// A group reading a compacted topic, a tombstone for a key it read, and the group away:
/// the cleaner keeps the tombstone on its first pass (stamping its delete horizon
/// `delete.retention.ms` later) and removes it on a later pass past the horizon. A member
/// back before that reads the delete; one back after it never sees it, and the ledger
/// names the resurrected key with the removal that caused it.
fn tombstone_lab(back_at_ms: u64) -> Sim {
    let mut sim = with_configs(&[
        ("cleanup.policy", "compact"),
        ("segment.ms", "1000"),
        ("delete.retention.ms", "20000"),
        ("min.cleanable.dirty.ratio", "0.01"),
    ]);
    super::stop_producers(&mut sim);
    sim.apply(Command::AddGroup {
        group_id: "profiles".into(),
        config: super::quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into()],
    })
    .unwrap();
    super::add_consumer(&mut sim, G0, None);
    let send = |sim: &mut Sim, key: &str, tombstone: bool| {
        sim.apply(Command::Send {
            producer: P0,
            key: Some(key.into()),
            payload_bytes: 100,
            poison: false,
            tombstone,
            topic: T0,
        })
        .unwrap();
    };
    run_checked(&mut sim, 5_000);
    send(&mut sim, "user-1", false);
    run_checked(&mut sim, 8_000);
    let crash = Command::CrashConsumer {
        group: G0,
        consumer: MemberId(0),
    };
    sim.apply(crash).unwrap();
    run_checked(&mut sim, 9_000);
    send(&mut sim, "user-1", true);
    // Other users every 2 s roll segments behind the tombstone.
    for i in 0..30u64 {
        run_checked(&mut sim, 11_000 + 2_000 * i);
        send(&mut sim, &format!("user-{}", 2 + i % 3), false);
    }
    let restart = Command::RestartConsumer {
        group: G0,
        consumer: MemberId(0),
    };
    run_checked(&mut sim, back_at_ms);
    sim.apply(restart).unwrap();
    run_checked(&mut sim, back_at_ms + 20_000);
    sim
}

/// The offset of the tombstone in the log (it keeps it, cleaned or not).
fn tombstone_offset(sim: &Sim) -> u64 {
    let log = replica_log(sim, 0, tp());
    log.range(0, log.log_end_offset())
        .find(|(_, r)| r.tombstone())
        .map(|(o, _)| o)
        .expect("a tombstone")
}

#[test]
fn a_tombstone_survives_one_pass_and_not_a_later_one_past_its_horizon() {
    let sim = tombstone_lab(75_000);
    let t = tombstone_offset(&sim);
    let mut stamped = None;
    let mut removed = None;
    for e in sim.events().iter() {
        if let &Event::Broker {
            at_ms,
            broker,
            event: BrokerEvent::LogCleaned(ref c),
        } = e
        {
            let (horizons, tombstones_removed) = (&c.horizons, &c.tombstones_removed);
            if broker.0 != 0 {
                continue;
            }
            if let Some(&(_, h)) = horizons.iter().find(|h| h.0 == t) {
                stamped = Some((at_ms, h));
            }
            if tombstones_removed.iter().any(|r| r.0 == t) {
                removed = Some(at_ms);
            }
        }
    }
    let (kept_at, horizon) = stamped.expect("the first pass kept it");
    assert_eq!(
        horizon,
        kept_at + 20_000,
        "delete.retention.ms after that pass"
    );
    let removed_at = removed.expect("a later pass removed it");
    assert!(
        removed_at >= horizon,
        "{removed_at} before its horizon {horizon}"
    );
    assert!(replica_log(&sim, 0, tp()).get(t).unwrap().cleaned());
}

#[test]
fn a_consumer_away_past_delete_retention_ms_resurrects_the_key() {
    let sim = tombstone_lab(75_000);
    let t = tombstone_offset(&sim);
    let anomalies = view::anomalies(&sim, G0);
    let a = anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Resurrected)
        .expect("the key came back to life");
    assert_eq!(a.first_offset, t);
    assert!(a.sentence.contains("resurrected key"), "{}", a.sentence);
    let totals = sim.totals(G0).unwrap();
    assert!(totals.compacted >= 1, "{totals:?}");
    let ledger_anomaly = sim.ledger().groups[G0.index()]
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Resurrected)
        .unwrap();
    assert!(matches!(
        ledger_anomaly.causes.first(),
        Some(Cause::TombstoneRemoved { offset, .. }) if *offset == t
    ));
    // Back within delete.retention.ms of the first pass, the member reads the delete.
    let early = tombstone_lab(20_000);
    let none = view::anomalies(&early, G0);
    assert!(
        none.iter().all(|a| a.kind != AnomalyKind::Resurrected),
        "{none:?}"
    );
}

/// `LogValidator.validateKey`: a compacted topic refuses a record without a key with
/// INVALID_RECORD, which the producer does not retry; the records after it still land
/// (the idempotent producer bumps its epoch past the gap in its sequence).
#[test]
fn a_compacted_topic_refuses_a_record_without_a_key() {
    use kafka_lab::engine::event::ProducerEvent;
    use kafka_lab::engine::msg::KafkaError;
    let mut sim = with_configs(&[("cleanup.policy", "compact")]);
    super::stop_producers(&mut sim);
    run_checked(&mut sim, 2_000);
    let produced = replica_log(&sim, 0, tp()).log_end_offset();
    for key in [None, Some("user-1".to_owned())] {
        sim.apply(Command::Send {
            producer: P0,
            key,
            payload_bytes: 100,
            poison: false,
            tombstone: false,
            topic: T0,
        })
        .unwrap();
        let next = sim.now_ms() + 2_000;
        run_checked(&mut sim, next);
    }
    let rejected = super::producer_events(&sim).into_iter().any(|(_, e)| {
        matches!(
            e,
            ProducerEvent::Rejected {
                error: KafkaError::InvalidRecord,
                ..
            }
        )
    });
    assert!(rejected, "INVALID_RECORD");
    let log = replica_log(&sim, 0, tp());
    let keys: Vec<_> = log
        .range(produced, log.log_end_offset())
        .map(|(_, r)| r.key.is_some())
        .collect();
    assert_eq!(keys, vec![true], "only the keyed record is in the log");
    assert_eq!(view::producers(&sim)[0].failed, 1);
}
