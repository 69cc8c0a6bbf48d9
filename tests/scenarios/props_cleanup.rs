//! Property tests of retention and compaction (issue "Retention and compaction"): for
//! random workloads, a compacted partition read from its log start gives each key the
//! latest value its full history gives, except keys whose tombstone expired (absent); and
//! retention deletes only segments whose newest record is older than `retention.ms`,
//! never a record a consumer that keeps up still needs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use kafka_lab::engine::config::{ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{BrokerEvent, Event};
use kafka_lab::engine::ids::{GroupId, ProducerId, TopicId, Tp};
use kafka_lab::engine::log::{KeyId, PartitionLog, RetentionRule};
use kafka_lab::engine::{invariants, Command, Sim};

use super::{quick_group, workload};

/// Fixed, so a CI failure reproduces; the failing input is printed.
const PROPTEST_SEED: u64 = 0x636c_6561_6e65_7221;

/// [`super::segments::cluster`] with owned config values (the strategies build them).
fn cluster(seed: u64, configs: &[(&str, String)]) -> Sim {
    let configs: Vec<(&str, &str)> = configs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    super::segments::cluster(seed, &configs)
}

/// Per key, its latest record in `log` as `(record id, tombstone)`: over every record the
/// log ever held (`full`), or only those the cleaner kept.
fn latest_per_key(log: &PartitionLog, full: bool) -> BTreeMap<KeyId, (u32, bool)> {
    let mut latest = BTreeMap::new();
    for (_, r) in log.range(log.log_start_offset(), log.log_end_offset()) {
        if let Some(k) = r.key.filter(|_| full || !r.cleaned()) {
            latest.insert(k, (r.record_id, r.tombstone()));
        }
    }
    latest
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The compaction guarantee, on every replica's log.
    #[test]
    fn a_compacted_log_keeps_each_keys_latest_value(
        seed in 0u64..1_000,
        sends in prop::collection::vec((0u8..6, prop::bool::weighted(0.2), 50u16..3_000), 20..120),
        segment_ms in 500u64..5_000,
        delete_retention_ms in 0u64..40_000,
        ratio in prop::sample::select(vec!["0.01", "0.5", "0.9"]),
    ) {
        let configs = [
            ("cleanup.policy", "compact".to_owned()),
            ("segment.ms", segment_ms.to_string()),
            ("delete.retention.ms", delete_retention_ms.to_string()),
            ("min.cleanable.dirty.ratio", ratio.to_owned()),
        ];
        let mut sim = cluster(seed, &configs);
        sim.apply(Command::AddProducer { config: ProducerConfig::default(), workload: None }).unwrap();
        let mut t = 0;
        for (key, tombstone, gap) in sends {
            t += u64::from(gap);
            sim.run_until(t);
            sim.apply(Command::Send {
                producer: ProducerId(0),
                key: Some(format!("user-{key}")),
                payload_bytes: 100,
                poison: false,
                tombstone,
                topic: TopicId(0),
            }).unwrap();
        }
        sim.run_until(t + 120_000);
        invariants::check(&sim).map_err(TestCaseError::fail)?;
        let tp = Tp::new(TopicId(0), 0);
        for b in &sim.world().brokers {
            let log = b.log(tp).expect("a replica");
            let full = latest_per_key(log, true);
            let kept = latest_per_key(log, false);
            for (k, latest) in &full {
                match kept.get(k) {
                    Some(v) => prop_assert_eq!(v, latest, "key {}", k),
                    // Gone only when its latest record was a tombstone that expired.
                    None => prop_assert!(latest.1, "key {} vanished without a tombstone", k),
                }
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED + 1),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Retention deletes a segment only when its newest record is older than
    /// `retention.ms`, and a group that keeps up loses nothing to it.
    #[test]
    fn retention_deletes_only_what_is_old_enough_and_nothing_a_reader_needs(
        seed in 0u64..1_000,
        rate in 5u32..60,
        segment_ms in 1_000u64..8_000,
        retention_ms in 10_000u64..40_000,
        run_ms in 60_000u64..130_000,
    ) {
        let configs = [
            ("segment.ms", segment_ms.to_string()),
            ("retention.ms", retention_ms.to_string()),
        ];
        let mut sim = cluster(seed, &configs);
        let mut w = workload(rate, 20);
        w.topic = TopicId(0);
        sim.apply(Command::AddProducer { config: ProducerConfig::default(), workload: Some(w) }).unwrap();
        let mut group = quick_group(ManualCommit::AfterBatch);
        group.processing_ms = 0;
        group.max_poll_records = 500;
        sim.apply(Command::AddGroup { group_id: "g".into(), config: group, topics: vec!["orders".into()] }).unwrap();
        sim.apply(Command::AddConsumer { group: GroupId(0), group_instance_id: None }).unwrap();
        sim.run_until(run_ms);
        invariants::check(&sim).map_err(TestCaseError::fail)?;
        let mut deletions = 0;
        for e in sim.events().iter() {
            if let Event::Broker { at_ms, event: BrokerEvent::SegmentsDeleted { rule, segments, .. }, .. } = e {
                if *rule == RetentionRule::Time {
                    deletions += 1;
                    for s in segments {
                        prop_assert!(s.largest_timestamp_ms + retention_ms < *at_ms, "{:?} at {}", s, at_ms);
                    }
                }
            }
        }
        prop_assume!(deletions > 0);
        let totals = sim.totals(GroupId(0)).unwrap();
        prop_assert_eq!(totals.deleted, 0, "{:?}", totals);
    }
}
