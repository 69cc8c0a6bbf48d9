//! Engine throughput: 1,000,000 records produced and consumed (12 partitions, 2 groups of
//! 3 consumers), next to the floor: the same records through a plain `Vec` append-and-read.
//! Run with `make bench`; the numbers go in BENCHMARKS.md.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    divan::main();
}

// The benchmark is native-only (divan is a native dev-dependency); wasm builds get an empty main.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod engine {
    use kafka_lab::engine::config::{AutoOffsetReset, GroupConfig, ProducerConfig};
    use kafka_lab::engine::ids::{GroupId, ProducerId, TopicId};
    use kafka_lab::engine::log::LogRecord;
    use kafka_lab::engine::producer::{KeySpace, Workload};
    use kafka_lab::engine::{view, Command, Sim};

    const RECORDS: u64 = 1_000_000;

    /// The engine end to end: producer batching, broker appends, two groups polling and
    /// processing every record, the ledger tracking each one.
    #[divan::bench(sample_count = 10)]
    fn engine_1m_records_12_partitions_2_groups_of_3() -> u64 {
        run_1m(Sim::with_topic("orders", 12, 42).unwrap())
    }

    /// The same load on 3 brokers with replication factor 3: two followers fetch every
    /// record and `acks=all` waits for them (the cost of replication, against the run above).
    #[divan::bench(sample_count = 5)]
    fn engine_1m_records_rf3_on_3_brokers() -> u64 {
        let replication = kafka_lab::engine::replication::ReplicationConfig {
            brokers: 3,
            default_replication_factor: 3,
            ..Default::default()
        };
        let mut sim = Sim::with_replication(42, replication);
        sim.apply(Command::CreateTopic {
            name: "orders".into(),
            partitions: 12,
            config: Default::default(),
        })
        .unwrap();
        run_1m(sim)
    }

    fn run_1m(mut sim: Sim) -> u64 {
        for g in 0..2 {
            let config = GroupConfig {
                auto_offset_reset: AutoOffsetReset::Earliest,
                processing_ms: 0,
                max_poll_records: 500,
                ..GroupConfig::default()
            };
            sim.apply(Command::AddGroup {
                group_id: format!("group-{g}"),
                config,
                topics: vec!["orders".into()],
            })
            .unwrap();
            for _ in 0..3 {
                sim.apply(Command::AddConsumer {
                    group: GroupId(g),
                    group_instance_id: None,
                })
                .unwrap();
            }
        }
        sim.apply(Command::AddProducer {
            config: ProducerConfig::default(),
            workload: Some(Workload {
                rate_per_sec: 1_000_000,
                key_space: KeySpace::Uniform {
                    prefix: "order-".into(),
                    count: 1000,
                },
                payload_bytes: 100,
                topic: TopicId(0),
            }),
        })
        .unwrap();
        // At 1,000,000 records/s, 1 s of virtual time produces them all; stop just after.
        // BENCH_PRODUCE_MS scales the run down for profiling (e.g. 20 = 20,000 records).
        let produce_ms: u64 = std::env::var("BENCH_PRODUCE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000);
        sim.schedule_command(
            produce_ms + 1,
            Command::SetWorkload {
                producer: ProducerId(0),
                workload: None,
            },
        );
        sim.run_until(produce_ms + 9_000);
        let expected = produce_ms * 1_000;
        let consumed: u64 = view::metrics(&sim)
            .groups
            .iter()
            .map(|g| g.processed_records)
            .sum();
        assert!(sim.ledger().produced() >= expected);
        assert!(consumed >= 2 * expected, "consumed {consumed}");
        consumed
    }

    /// The page's time-travel load: 10,000 records/s into 12 partitions for 200 s
    /// (2,000,000 records, no consumers), built through `Lab` with its checkpoints, as
    /// the frame benchmark does in Chromium (`seek_build_0_to_200s_ms`): the same work
    /// compiled natively, for the wasm/native ratio. Prints the checkpoints' memory once.
    #[divan::bench(sample_count = 3)]
    fn lab_seek_to_200s_2m_records_with_checkpoints() -> u64 {
        use kafka_lab::lab::Lab;
        let scenario = seek_session();
        let mut lab = Lab::fresh(scenario).unwrap();
        lab.seek(200_000).unwrap();
        static REPORT: std::sync::Once = std::sync::Once::new();
        REPORT.call_once(|| {
            let c = lab.checkpoints();
            let (_, live_all, live_share) = lab.sim().memory();
            // Shares split each shared chunk among its holders, so their sum is the
            // distinct bytes of the live engine and every checkpoint together.
            let distinct = live_share + c.memory_bytes();
            eprintln!(
                "checkpoints: {} kept, every {} s; live engine {} MB; with checkpoints {} MB distinct, so checkpoints add {} MB",
                c.len(),
                c.times().get(1).copied().unwrap_or(0) / 1000,
                live_all / 1_000_000,
                distinct / 1_000_000,
                distinct.saturating_sub(live_all) / 1_000_000
            );
        });
        lab.now_ms()
    }

    /// Seeks on that session: back from 200 s to 100 s and 50 s, then forward to 200 s,
    /// each from the nearest checkpoint.
    #[divan::bench(sample_count = 5)]
    fn lab_seeks_on_2m_records(bencher: divan::Bencher) {
        three_seeks(bencher, seek_session());
    }

    /// The same seeks on the lab's default cluster (3 brokers, replication factor 3):
    /// every record sits in three logs (`rf3_seek_*` in `frames.spec.js`).
    #[divan::bench(sample_count = 5)]
    fn lab_seeks_on_2m_records_rf3(bencher: divan::Bencher) {
        let scenario = kafka_lab::lab::scenario::Scenario {
            cluster: kafka_lab::engine::replication::ReplicationConfig {
                brokers: 3,
                default_replication_factor: 3,
                ..Default::default()
            },
            ..seek_session()
        };
        three_seeks(bencher, scenario);
    }

    /// Builds `scenario` to 200 s, then times seeking back to 100 s and 50 s and forward to
    /// 200 s, each from the nearest checkpoint.
    fn three_seeks(bencher: divan::Bencher, scenario: kafka_lab::lab::scenario::Scenario) {
        use kafka_lab::lab::Lab;
        let mut lab = Lab::fresh(scenario).unwrap();
        lab.seek(200_000).unwrap();
        bencher.bench_local(|| {
            for t in [100_000, 50_000, 200_000] {
                lab.seek(t).unwrap();
            }
            lab.now_ms()
        });
    }

    /// The time-travel session of the frame benchmark (`frames.spec.js`): one broker, as the
    /// seek budget was set on (the lab's default is 3 brokers with replication factor 3).
    fn seek_session() -> kafka_lab::lab::scenario::Scenario {
        kafka_lab::lab::scenario::Scenario {
            partitions: 12,
            rate_per_sec: 10_000,
            keys: 1_000,
            consumers: 0,
            cluster: kafka_lab::engine::replication::ReplicationConfig {
                brokers: 1,
                default_replication_factor: 1,
                ..Default::default()
            },
            ..kafka_lab::lab::scenario::Scenario::default()
        }
    }

    /// The floor: append 1,000,000 records to a `Vec`, then read them once per group.
    #[divan::bench(sample_count = 10)]
    fn floor_vec_append_and_read_twice() -> u64 {
        let mut log: Vec<LogRecord> = Vec::new();
        for i in 0..RECORDS {
            log.push(LogRecord {
                record_id: i as u32,
                key: Some((i % 1000) as u32),
                timestamp_ms: i / 1000,
                size_bytes: 117,
                flags: 0,
                producer: kafka_lab::engine::log::NO_PRODUCER,
            });
        }
        let mut sum = 0u64;
        for _ in 0..2 {
            for r in divan::black_box(&log) {
                sum = sum.wrapping_add(u64::from(r.record_id));
            }
        }
        sum
    }
}
