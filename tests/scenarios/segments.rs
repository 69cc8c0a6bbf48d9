//! Segments and retention (issue "Retention and compaction"): each replica's log rolls its
//! active segment as Kafka's `UnifiedLog.maybeRoll` / `LogSegment.shouldRoll` do, and its
//! retention check deletes old segments as `UnifiedLog.deleteOldSegments` does
//! (`docs/retention-facts.md` §1–3).

use kafka_lab::engine::cluster::TopicConfig;
use kafka_lab::engine::config::Acks;
use kafka_lab::engine::event::{BrokerEvent, Event};
use kafka_lab::engine::ids::Tp;
use kafka_lab::engine::log::{PartitionLog, RetentionRule};
use kafka_lab::engine::replication::ReplicationConfig;
use kafka_lab::engine::{view, Command, Sim};

use super::{run_checked, workload, T0};

/// Three brokers (seed `seed`) and topic `orders` (one partition, RF 3) with the topic
/// configs given.
pub(super) fn cluster(seed: u64, configs: &[(&str, &str)]) -> Sim {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(seed, replication);
    let mut config = TopicConfig::default();
    for (name, value) in configs {
        config.set(name, value).unwrap();
    }
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config,
    })
    .unwrap();
    sim
}

/// [`cluster`] (seed 7) and a producer at 50 records/s with `acks=all`.
pub(super) fn with_configs(configs: &[(&str, &str)]) -> Sim {
    let mut sim = cluster(7, configs);
    let producer = kafka_lab::engine::config::ProducerConfig {
        acks: Acks::All,
        ..Default::default()
    };
    sim.apply(Command::AddProducer {
        config: producer,
        workload: Some(workload(50, 20)),
    })
    .unwrap();
    sim
}

/// [`with_configs`] with `segment.ms`.
fn lab(segment_ms: &str) -> Sim {
    with_configs(&[("segment.ms", segment_ms)])
}

/// [`with_configs`] with `segment.ms` and `retention.ms`.
fn retained(segment_ms: &str, retention_ms: &str) -> Sim {
    with_configs(&[("segment.ms", segment_ms), ("retention.ms", retention_ms)])
}

pub(super) fn replica_log(sim: &Sim, b: u16, tp: Tp) -> &PartitionLog {
    sim.world().brokers[usize::from(b)]
        .log(tp)
        .expect("a replica")
}

/// Each replica's segments tile its log: the first starts at the log start, each starts
/// where the previous ended, their sizes add up to the records' bytes, and each one's
/// largest timestamp is its records' newest.
fn assert_tiled(log: &PartitionLog) {
    let segs = log.segments();
    assert_eq!(segs[0].base_offset, log.log_start_offset());
    for (i, s) in segs.iter().enumerate() {
        let end = segs
            .get(i + 1)
            .map_or(log.log_end_offset(), |n| n.base_offset);
        let records: Vec<_> = log.range(s.base_offset, end).map(|(_, r)| *r).collect();
        assert!(
            !records.is_empty() || i + 1 == segs.len(),
            "an empty closed segment"
        );
        let bytes: u64 = records.iter().map(|r| r.stored_bytes()).sum();
        assert_eq!(s.size_bytes, bytes, "segment {i} at {}", s.base_offset);
        let newest = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
        assert_eq!(s.largest_timestamp_ms, newest);
    }
}

#[test]
fn by_default_a_partition_is_one_segment() {
    // segment.ms 7 days, segment.bytes 1 GiB: a lab's minute never rolls.
    let mut sim = lab("604800000");
    run_checked(&mut sim, 30_000);
    let tp = Tp::new(T0, 0);
    let segs = view::segments(&sim, tp);
    assert_eq!(segs.len(), 1);
    assert!(segs[0].size_bytes > 0);
}

#[test]
fn segment_ms_rolls_every_replica_on_record_time() {
    // LogSegment.shouldRoll: a segment with data rolls once an append's largest timestamp
    // is more than segment.ms past its first append's.
    let mut sim = lab("5000");
    run_checked(&mut sim, 32_000);
    let tp = Tp::new(T0, 0);
    let segs = view::segments(&sim, tp);
    assert!((5..=7).contains(&segs.len()), "{segs:?}");
    for w in segs.windows(2) {
        let span = w[0].largest_timestamp_ms - w[0].rolling_based_timestamp_ms;
        assert!(
            span <= 5_000,
            "a closed segment spans at most segment.ms: {w:?}"
        );
        assert!(
            w[1].largest_timestamp_ms - w[0].rolling_based_timestamp_ms > 5_000,
            "the append that rolled was past segment.ms"
        );
    }
    for b in 0..3 {
        let log = replica_log(&sim, b, tp);
        assert_tiled(log);
        assert!(
            log.segments().len() >= 5,
            "broker {b} rolls its own log too"
        );
    }
}

#[test]
fn segment_configs_take_kafka_4s_bounds() {
    let mut c = TopicConfig::default();
    // LogConfig: segment.bytes at least 1 MiB, segment.ms at least 1.
    assert!(c.set("segment.bytes", "1048575").is_err());
    assert!(c.set("segment.ms", "0").is_err());
    c.set("segment.bytes", "1048576").unwrap();
    c.set("segment.ms", "60000").unwrap();
    c.set("retention.bytes", "-5").unwrap();
    assert_eq!(c.retention_bytes, -1, "any negative value is no limit");
    assert_eq!(
        c.overrides(),
        vec![
            "segment.bytes=1048576".to_owned(),
            "segment.ms=60000".to_owned()
        ]
    );
}

/// UnifiedLog.deleteOldSegments on every replica at each `log.retention.check.interval.ms`
/// (5 min, the first 30 s after start): closed segments whose newest record is older than
/// `retention.ms` go, the log start jumps to the next segment's base, the active segment
/// stays; followers delete on their own and follow the leader's log start.
#[test]
fn retention_ms_deletes_whole_old_segments_on_every_replica() {
    let mut sim = retained("5000", "20000");
    let tp = Tp::new(T0, 0);
    run_checked(&mut sim, 29_000);
    assert_eq!(
        view::segments(&sim, tp)[0].base_offset,
        0,
        "no check before 30 s"
    );
    run_checked(&mut sim, 31_000);
    let after_first = view::segments(&sim, tp)[0].base_offset;
    assert!(after_first > 0, "at 30 s the segments older than 10 s went");
    run_checked(&mut sim, 329_000);
    assert_eq!(
        view::segments(&sim, tp)[0].base_offset,
        after_first,
        "none until 330 s"
    );
    run_checked(&mut sim, 331_000);
    let deleted: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Broker {
                broker,
                event:
                    BrokerEvent::SegmentsDeleted {
                        rule,
                        log_start_offset,
                        ..
                    },
                ..
            } => Some((*broker, *rule, *log_start_offset)),
            _ => None,
        })
        .collect();
    assert_eq!(
        deleted.len(),
        6,
        "each replica deletes its own, twice: {deleted:?}"
    );
    assert!(deleted.iter().all(|d| d.1 == RetentionRule::Time));
    for b in 0..3 {
        let log = replica_log(&sim, b, tp);
        let first = log.segments()[0];
        assert_eq!(log.log_start_offset(), first.base_offset, "a whole segment");
        assert!(log.log_start_offset() > 0);
        // What stays is young enough: the first segment left ends after now − retention.ms.
        assert!(first.largest_timestamp_ms + 20_000 >= 330_000, "{first:?}");
        assert_tiled(log);
    }
}

/// A consumer whose position falls below the log start gets OFFSET_OUT_OF_RANGE and
/// applies `auto.offset.reset` (earliest: the new log start); the ledger settles what the
/// group never read as deleted by retention, with the deletion that took each segment.
/// (Records a client already fetched stay readable from its own buffer, as in Kafka: here
/// the group's only consumer is down while retention runs, and comes back to a committed
/// offset that is gone.)
#[test]
fn a_consumer_back_below_the_log_start_resets_and_the_ledger_counts_the_gap() {
    use kafka_lab::engine::config::ManualCommit;
    use kafka_lab::engine::ids::MemberId;
    use kafka_lab::engine::ledger::{AnomalyKind, Cause};
    let mut sim = retained("5000", "20000");
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: super::quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into()],
    })
    .unwrap();
    super::add_consumer(&mut sim, super::G0, None);
    run_checked(&mut sim, 8_000);
    let crash = Command::CrashConsumer {
        group: super::G0,
        consumer: MemberId(0),
    };
    sim.apply(crash).unwrap();
    let tp = Tp::new(T0, 0);
    let committed = super::coordinator_group(&sim, super::G0)
        .committed()
        .get(&tp)
        .map_or(0, |c| c.offset);
    run_checked(&mut sim, 335_000);
    let start = view::segments(&sim, tp)[0].base_offset;
    assert!(
        start > committed,
        "retention passed the committed offset: {start} ≤ {committed}"
    );
    let before = sim.totals(super::G0).unwrap();
    assert_eq!(
        before.deleted, 0,
        "nothing is settled before the group comes back"
    );
    let restart = Command::RestartConsumer {
        group: super::G0,
        consumer: MemberId(0),
    };
    sim.apply(restart).unwrap();
    run_checked(&mut sim, 370_000);
    let after = sim.totals(super::G0).unwrap();
    // Every record of the gap it had not processed: all of it but the batch it processed
    // after its last commit (at most max.poll.records, 20, already counted once).
    let gap = start - committed;
    assert_eq!(after.lost, before.lost, "deleted, not lost: {after:?}");
    assert!(
        after.deleted <= gap && after.deleted + 20 >= gap,
        "deleted {} of a gap of {gap}: {after:?}",
        after.deleted
    );
    let position = super::consumer(&sim, super::G0, MemberId(0))
        .positions()
        .get(&tp)
        .copied()
        .unwrap_or(0);
    assert!(
        position >= start,
        "reset to the log start: {position} < {start}"
    );
    // One anomaly per deleted segment, each naming its segment, the rule and the time.
    let anomalies: Vec<_> = sim.ledger().groups[0]
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::Deleted)
        .collect();
    assert!(anomalies.len() >= 2, "{anomalies:?}");
    let counted: u64 = anomalies.iter().map(|a| a.count).sum();
    assert_eq!(counted, after.deleted);
    for a in &anomalies {
        let Some(Cause::DeletedByRetention {
            rule,
            limit,
            segment,
            at_ms,
            ..
        }) = a.causes.first()
        else {
            panic!("no deletion in {:?}", a.causes);
        };
        assert_eq!((*rule, *limit), (RetentionRule::Time, 20_000));
        assert!(segment.base_offset <= a.first_offset && a.last_offset < segment.end_offset);
        assert!(*at_ms > 8_000 && *at_ms <= 335_000);
        assert!(
            at_ms - segment.largest_timestamp_ms > 20_000,
            "older than retention.ms"
        );
        assert!(matches!(a.causes.last(), Some(Cause::Resumed { .. })));
    }
    let words = view::anomalies(&sim, super::G0);
    let deleted = words
        .iter()
        .find(|w| w.kind == AnomalyKind::Deleted)
        .expect("explained");
    assert!(
        deleted.sentence.contains("deleted by retention"),
        "{}",
        deleted.sentence
    );
    assert!(
        deleted
            .chain
            .iter()
            .any(|(_, l)| l.contains("retention.ms=20000")),
        "{:?}",
        deleted.chain
    );
}

/// A group that starts after deletion with `auto.offset.reset=earliest` starts at the log
/// start (ListOffsets EARLIEST returns it); the records already deleted are settled as
/// deleted for it, and the totals balance.
#[test]
fn a_new_group_reading_earliest_starts_at_the_log_start() {
    use kafka_lab::engine::config::ManualCommit;
    let mut sim = retained("5000", "20000");
    run_checked(&mut sim, 40_000);
    let tp = Tp::new(T0, 0);
    let start = view::segments(&sim, tp)[0].base_offset;
    assert!(start > 0);
    let mut config = super::quick_group(ManualCommit::AfterBatch);
    config.set("auto.offset.reset", "earliest").unwrap();
    sim.apply(Command::AddGroup {
        group_id: "late".into(),
        config,
        topics: vec!["orders".into()],
    })
    .unwrap();
    super::add_consumer(&mut sim, super::G0, None);
    run_checked(&mut sim, 50_000);
    let t = sim.totals(super::G0).unwrap();
    assert_eq!(t.deleted, start, "{t:?}");
    assert_eq!(t.lost + t.skipped, 0, "{t:?}");
    assert_eq!(
        t.produced,
        t.once + t.duplicate + t.deleted + t.pending + t.lost + t.skipped + t.failed
    );
}
