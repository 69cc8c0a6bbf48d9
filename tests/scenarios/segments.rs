//! Segments (issue "Retention and compaction", part 1): each replica's log rolls its active
//! segment as Kafka's `UnifiedLog.maybeRoll` / `LogSegment.shouldRoll` do, on the topic's
//! `segment.bytes` and `segment.ms` (`docs/retention-facts.md` §1).

use kafka_lab::engine::cluster::TopicConfig;
use kafka_lab::engine::config::Acks;
use kafka_lab::engine::ids::Tp;
use kafka_lab::engine::log::PartitionLog;
use kafka_lab::engine::replication::ReplicationConfig;
use kafka_lab::engine::{view, Command, Sim};

use super::{run_checked, workload, T0};

/// Three brokers, topic `orders` (one partition, RF 3) with `segment.ms` as given, and a
/// producer at 50 records/s with `acks=all`.
fn lab(segment_ms: &str) -> Sim {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(7, replication);
    let mut config = TopicConfig::default();
    config.set("segment.ms", segment_ms).unwrap();
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config,
    })
    .unwrap();
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

fn replica_log(sim: &Sim, b: u16, tp: Tp) -> &PartitionLog {
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
        let bytes: u64 = records.iter().map(|r| u64::from(r.size_bytes)).sum();
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
