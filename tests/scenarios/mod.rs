//! Engine scenarios: the classic delivery outcomes, determinism over many seeds, and
//! property tests over random command sequences with invariants checked after every step.

use kafka_lab::engine::config::{AutoOffsetReset, GroupConfig, ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{
    CommitError, Event, GroupEvent, GroupState, ProducerEvent, RemovalReason,
};
use kafka_lab::engine::ledger::Totals;
use kafka_lab::engine::producer::{KeySpace, ProduceFault, Workload};
use kafka_lab::engine::{Command, Sim};

mod invariants;
mod props;

pub use invariants::{check_invariants, check_invariants_full};

/// A lab: one topic, one keyed producer at `rate` records/s, one group with `consumers`.
pub fn lab(seed: u64, partitions: u32, rate: u32, group: GroupConfig, consumers: u16) -> Sim {
    let mut sim = Sim::new("orders", partitions, seed).unwrap();
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: group,
    })
    .unwrap();
    for _ in 0..consumers {
        sim.apply(Command::AddConsumer {
            group: 0,
            group_instance_id: None,
        })
        .unwrap();
    }
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(Workload {
            rate_per_sec: rate,
            key_space: KeySpace::Uniform {
                prefix: "order-".into(),
                count: 50,
            },
            payload_bytes: 100,
        }),
    })
    .unwrap();
    sim
}

/// A group config for scenarios: short timeouts so things happen within seconds.
pub fn quick_group(manual_commit: ManualCommit) -> GroupConfig {
    GroupConfig {
        session_timeout_ms: 10_000,
        heartbeat_interval_ms: 1_000,
        max_poll_records: 20,
        enable_auto_commit: manual_commit == ManualCommit::Off,
        manual_commit,
        auto_offset_reset: AutoOffsetReset::Earliest,
        processing_ms: 20,
        ..GroupConfig::default()
    }
}

/// Runs to `t_ms`, checking the invariants after every step.
pub fn run_checked(sim: &mut Sim, t_ms: u64) {
    let mut steps = 0u64;
    while sim.next_event_ms().is_some_and(|t| t <= t_ms) {
        sim.step();
        check_invariants(sim);
        steps += 1;
        if steps.is_multiple_of(2_000) {
            check_invariants_full(sim);
        }
    }
    sim.run_until(t_ms);
    check_invariants_full(sim);
}

/// Runs until `c1` holds fetched records it has not processed yet, then crashes it.
fn crash_c1_mid_batch(sim: &mut Sim) {
    let mut t = sim.now_ms();
    while sim.groups()[0].consumers[0].batch.is_empty() {
        t += 1;
        run_checked(sim, t);
        assert!(t < 60_000, "c1 never held a batch");
    }
    sim.apply(Command::CrashConsumer {
        group: 0,
        consumer: 0,
    })
    .unwrap();
}

fn stop_producers(sim: &mut Sim) {
    sim.apply(Command::SetWorkload {
        producer: 0,
        workload: None,
    })
    .unwrap();
}

fn totals(sim: &Sim) -> Totals {
    sim.totals(0).unwrap()
}

fn group_events(sim: &Sim) -> impl Iterator<Item = &GroupEvent> {
    sim.events().iter().filter_map(|e| match e {
        Event::Group { event, .. } => Some(event),
        _ => None,
    })
}

#[test]
fn commit_before_processing_plus_a_crash_loses_records() {
    let mut group = quick_group(ManualCommit::BeforeProcessing);
    group.processing_ms = 100;
    let mut sim = lab(1, 3, 12, group, 2);
    run_checked(&mut sim, 8_000);
    crash_c1_mid_batch(&mut sim);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let t = totals(&sim);
    assert!(t.lost > 0, "{t:?}");
    assert_eq!(t.duplicate, 0, "{t:?}");
    assert_eq!(t.pending, 0, "the survivor drains everything else: {t:?}");
    let lost = sim.ledger().groups[0]
        .anomalies
        .iter()
        .find(|a| a.kind == kafka_lab::engine::ledger::AnomalyKind::Lost);
    let lost = lost.expect("a lost anomaly");
    assert!(
        lost.explanation
            .contains("committed past them before processing"),
        "{}",
        lost.explanation
    );
    assert!(lost.explanation.contains("crashed"), "{}", lost.explanation);
}

#[test]
fn commit_after_processing_plus_a_crash_duplicates_records() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.processing_ms = 100;
    let mut sim = lab(2, 3, 12, group, 2);
    run_checked(&mut sim, 8_000);
    crash_c1_mid_batch(&mut sim);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let t = totals(&sim);
    assert!(t.duplicate > 0, "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    assert_eq!(t.pending, 0, "{t:?}");
    let dup = &sim.ledger().groups[0].anomalies[0];
    assert!(dup.explanation.contains("crashed"), "{}", dup.explanation);
    assert!(
        dup.explanation.contains("committed offset"),
        "{}",
        dup.explanation
    );
}

#[test]
fn auto_commit_plus_a_crash_duplicates_at_most_about_one_interval() {
    let rate = 40u32;
    let mut group = quick_group(ManualCommit::Off);
    group.auto_commit_interval_ms = 5_000;
    let mut sim = lab(3, 3, rate, group, 2);
    run_checked(&mut sim, 9_000);
    crash_c1_mid_batch(&mut sim);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let t = totals(&sim);
    assert!(t.duplicate > 0, "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    // One interval of the crashed member's share, plus one poll it had fetched.
    let bound = u64::from(rate) * 5 + 20;
    assert!(t.duplicate <= bound, "{} duplicates > {bound}", t.duplicate);
}

#[test]
fn four_consumers_on_three_partitions_leave_one_idle() {
    let mut sim = lab(4, 3, 50, quick_group(ManualCommit::AfterBatch), 4);
    run_checked(&mut sim, 6_000);
    let g = &sim.groups()[0];
    assert_eq!(g.state, GroupState::Stable);
    let mut sizes: Vec<usize> = g.consumers.iter().map(|c| c.assigned.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![0, 1, 1, 1]);
}

#[test]
fn adding_a_consumer_rebalances_to_contiguous_ranges() {
    let mut sim = lab(5, 6, 50, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 6_000);
    let generation = sim.groups()[0].generation;
    sim.apply(Command::AddConsumer {
        group: 0,
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 12_000);
    let g = &sim.groups()[0];
    assert_eq!(g.state, GroupState::Stable);
    assert!(g.generation > generation);
    // Range: members sorted by member id get p0-1, p2-3, p4-5.
    let mut owners: Vec<(&String, &Vec<u32>)> = g
        .consumers
        .iter()
        .map(|c| (c.member_id.as_ref().unwrap(), &c.assigned))
        .collect();
    owners.sort();
    let got: Vec<Vec<u32>> = owners.into_iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(got, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    assert!(
        group_events(&sim).any(|e| matches!(e, GroupEvent::Revoked { .. })),
        "eager revokes before reassigning"
    );
}

#[test]
fn a_consumer_slower_than_max_poll_interval_is_removed_and_its_commit_rejected() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_interval_ms = 5_000;
    let mut sim = lab(6, 2, 100, group, 2);
    run_checked(&mut sim, 6_000);
    // c1 now takes a second per record: a 20-record poll takes 20 s > 5 s.
    sim.apply(Command::SlowConsumer {
        group: 0,
        consumer: 0,
        processing_ms: Some(1_000),
    })
    .unwrap();
    run_checked(&mut sim, 40_000);
    sim.apply(Command::SlowConsumer {
        group: 0,
        consumer: 0,
        processing_ms: None,
    })
    .unwrap();
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let left = group_events(&sim).any(|e| matches!(e, GroupEvent::LeaveGroup { member, reason } if member == "c1" && reason.contains("max.poll.interval.ms")));
    assert!(left, "c1 leaves when its poll is overdue");
    let removed = group_events(&sim)
        .any(|e| matches!(e, GroupEvent::MemberRemoved { member, reason: RemovalReason::Left } if member == "c1"));
    assert!(removed);
    let rejected = group_events(&sim).any(|e| {
        matches!(e, GroupEvent::CommitRejected { member, error: CommitError::CommitFailed, .. } if member == "c1")
    });
    assert!(
        rejected,
        "c1's late commit fails with CommitFailedException"
    );
    let t = totals(&sim);
    assert!(
        t.duplicate > 0,
        "the new owner processes c1's records again: {t:?}"
    );
    assert_eq!(t.lost, 0, "{t:?}");
}

/// A one-partition topic with one producer (idempotent or not) and `fault` armed.
fn faulty_producer(
    seed: u64,
    config: ProducerConfig,
    idempotent: bool,
    fault: ProduceFault,
) -> Sim {
    let mut sim = Sim::new("orders", 1, seed).unwrap();
    let mut config = config;
    config
        .set(
            "enable.idempotence",
            if idempotent { "true" } else { "false" },
        )
        .unwrap();
    sim.apply(Command::AddProducer {
        config,
        workload: None,
    })
    .unwrap();
    sim.apply(Command::InjectProduceFault { producer: 0, fault })
        .unwrap();
    sim
}

#[test]
fn lost_ack_without_idempotence_duplicates_in_the_log() {
    let run = |idempotent: bool| {
        let mut sim = faulty_producer(
            7,
            ProducerConfig {
                request_timeout_ms: 1_000,
                ..ProducerConfig::default()
            },
            idempotent,
            ProduceFault::LostAck,
        );
        for i in 0..3 {
            sim.apply(Command::Send {
                producer: 0,
                key: Some(format!("k{i}")),
                payload_bytes: 10,
                poison: false,
            })
            .unwrap();
        }
        sim.run_until(5_000);
        sim
    };
    let plain = run(false);
    assert_eq!(
        plain.topic().partition(0).unwrap().log_end_offset(),
        6,
        "the retry appended the batch again"
    );
    assert_eq!(plain.ledger().log_duplicates, 3);
    let idem = run(true);
    assert_eq!(
        idem.topic().partition(0).unwrap().log_end_offset(),
        3,
        "the broker dropped the retried batch"
    );
    assert_eq!(idem.ledger().log_duplicates, 0);
    assert!(idem.events().iter().any(|e| matches!(
        e,
        Event::Producer {
            event: ProducerEvent::DuplicateBatchDropped { .. },
            ..
        }
    )));
}

#[test]
fn lost_request_with_five_in_flight_and_no_idempotence_reorders() {
    let run = |idempotent: bool| {
        let mut sim = faulty_producer(
            8,
            ProducerConfig {
                request_timeout_ms: 500,
                linger_ms: 0,
                ..ProducerConfig::default()
            },
            idempotent,
            ProduceFault::LostRequest,
        );
        sim.apply(Command::Send {
            producer: 0,
            key: Some("k".into()),
            payload_bytes: 10,
            poison: false,
        })
        .unwrap();
        sim.run_until(1);
        sim.apply(Command::Send {
            producer: 0,
            key: Some("k".into()),
            payload_bytes: 10,
            poison: false,
        })
        .unwrap();
        sim.run_until(5_000);
        let log = sim.topic().partition(0).unwrap();
        log.range(0, log.log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect::<Vec<u32>>()
    };
    assert_eq!(
        run(false),
        vec![1, 0],
        "the retried first batch lands after the second"
    );
    assert_eq!(run(true), vec![0, 1], "idempotence keeps the order");
}

#[test]
fn static_member_restart_within_session_timeout_does_not_rebalance() {
    let mut sim = Sim::new("orders", 4, 9).unwrap();
    sim.apply(Command::AddGroup {
        group_id: "g".into(),
        config: quick_group(ManualCommit::AfterBatch),
    })
    .unwrap();
    for id in ["a", "b"] {
        sim.apply(Command::AddConsumer {
            group: 0,
            group_instance_id: Some(id.into()),
        })
        .unwrap();
    }
    run_checked(&mut sim, 6_000);
    let generation = sim.groups()[0].generation;
    let before = sim.groups()[0].consumers[0].assigned.clone();
    sim.apply(Command::CloseConsumer {
        group: 0,
        consumer: 0,
    })
    .unwrap();
    run_checked(&mut sim, 7_000);
    sim.apply(Command::RestartConsumer {
        group: 0,
        consumer: 0,
    })
    .unwrap();
    run_checked(&mut sim, 9_000);
    let g = &sim.groups()[0];
    assert_eq!(g.generation, generation, "no rebalance");
    assert_eq!(g.consumers[0].assigned, before);
}

#[test]
fn cooperative_sticky_moves_partitions_in_two_rounds_without_revoking_the_rest() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group
        .set("partition.assignment.strategy", "cooperative-sticky")
        .unwrap();
    let mut sim = lab(10, 6, 50, group, 2);
    run_checked(&mut sim, 6_000);
    let generation = sim.groups()[0].generation;
    sim.apply(Command::AddConsumer {
        group: 0,
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 20_000);
    let g = &sim.groups()[0];
    assert_eq!(
        g.generation,
        generation + 2,
        "two rounds: revoke, then assign"
    );
    let sizes: Vec<usize> = g.consumers.iter().map(|c| c.assigned.len()).collect();
    assert_eq!(sizes, vec![2, 2, 2]);
    // Nobody revoked a partition it kept.
    for e in group_events(&sim) {
        if let GroupEvent::Revoked { partitions, .. } = e {
            assert_eq!(
                partitions.len(),
                1,
                "only moved partitions are revoked: {partitions:?}"
            );
        }
    }
}

#[test]
fn new_group_with_earliest_replays_history_and_latest_skips_it() {
    let mut sim = lab(11, 3, 100, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 5_000);
    for (id, reset) in [("replay", "earliest"), ("tail", "latest")] {
        let mut g = quick_group(ManualCommit::AfterBatch);
        g.set("auto.offset.reset", reset).unwrap();
        sim.apply(Command::AddGroup {
            group_id: id.into(),
            config: g,
        })
        .unwrap();
    }
    sim.apply(Command::AddConsumer {
        group: 1,
        group_instance_id: None,
    })
    .unwrap();
    sim.apply(Command::AddConsumer {
        group: 2,
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 12_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 40_000);
    let replay = sim.totals(1).unwrap();
    assert_eq!(
        (replay.once, replay.lost),
        (replay.produced, 0),
        "{replay:?}"
    );
    let tail = sim.totals(2).unwrap();
    assert!(
        tail.lost > 0,
        "latest skips what was there before: {tail:?}"
    );
    let a = &sim.ledger().groups[2].anomalies[0];
    assert!(
        a.explanation.contains("auto.offset.reset=latest"),
        "{}",
        a.explanation
    );
}

#[test]
fn every_seed_twice_gives_the_same_trace() {
    for seed in 0..16 {
        let run = || {
            let mut sim = lab(seed, 4, 300, quick_group(ManualCommit::AfterEachRecord), 3);
            sim.schedule_command(
                4_000,
                Command::CrashConsumer {
                    group: 0,
                    consumer: 1,
                },
            );
            sim.schedule_command(
                6_000,
                Command::AddConsumer {
                    group: 0,
                    group_instance_id: None,
                },
            );
            sim.schedule_command(7_000, Command::AddPartitions { total: 6 });
            sim.run_until(25_000);
            (sim.trace_hash(), sim.event_count(), sim.totals(0).unwrap())
        };
        let (a, b) = (run(), run());
        assert_eq!(
            a, b,
            "seed {seed} diverged: rerun with this seed to reproduce"
        );
    }
}

#[test]
fn metrics_count_rebalances_and_stop_the_world_time() {
    let mut sim = lab(13, 4, 50, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 6_000);
    sim.apply(Command::AddConsumer {
        group: 0,
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 15_000);
    let m = sim.metrics();
    assert_eq!(m.produced, sim.ledger().produced());
    assert_eq!(m.appended, sim.topic().record_count());
    let g = &m.groups[0];
    assert_eq!(
        g.rebalances, 2,
        "the first join and the one the new consumer caused"
    );
    assert!(
        g.stop_the_world_ms >= 3_000,
        "the first join waits group.initial.rebalance.delay.ms"
    );
    assert!(g.processed_per_sec > 0.0);
    for p in &g.partitions {
        assert!(p.position.is_some(), "every partition has a live owner");
        assert_eq!(p.lag, p.committed.map(|c| p.log_end_offset - c));
    }
}

#[test]
fn describe_group_matches_the_tools_columns() {
    let mut sim = lab(12, 3, 100, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 10_000);
    let rows = sim.describe_group(0);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!((r.group.as_str(), r.topic.as_str()), ("payments", "orders"));
        let leo = sim.topic().partition(r.partition).unwrap().log_end_offset();
        assert_eq!(r.log_end_offset, leo);
        assert_eq!(r.lag, r.current_offset.map(|c| leo - c));
        assert_ne!(r.client_id, "-");
    }
}
