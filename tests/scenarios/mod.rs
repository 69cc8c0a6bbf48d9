//! Engine scenarios: the classic delivery outcomes, Kafka's protocol behaviour, determinism
//! over many seeds, and property tests over random command sequences, with the engine's
//! invariants checked after every step.

use kafka_lab::engine::config::{AutoOffsetReset, GroupConfig, ManualCommit, ProducerConfig};
use kafka_lab::engine::consumer::Consumer;
use kafka_lab::engine::coordinator::CoordGroup;
use kafka_lab::engine::event::{
    CommitError, Event, GroupEvent, GroupState, ProducerEvent, RemovalReason,
};
use kafka_lab::engine::ids::{ConsumerRef, GroupId, MemberId, ProducerId, TopicId, Tp};
use kafka_lab::engine::ledger::{AnomalyKind, Totals};
use kafka_lab::engine::producer::{KeySpace, ProduceFault, Workload};
use kafka_lab::engine::{invariants, view, Command, Sim};

mod compaction;
mod compound;
mod dead_letters;
mod effects;
mod failover;
mod fidelity;
mod goals;
mod outbox;
mod projections;
mod props;
mod props_cleanup;
mod random_play;
mod replication;
mod segments;
mod values;

pub const G0: GroupId = GroupId(0);
pub const T0: TopicId = TopicId(0);
pub const P0: ProducerId = ProducerId(0);

/// `c1`, `c2`, ... as the engine numbers them.
pub fn c(n: u16) -> MemberId {
    MemberId(n - 1)
}

/// A lab: one topic, one keyed producer at `rate` records/s, one group with `consumers`.
pub fn lab(seed: u64, partitions: u32, rate: u32, group: GroupConfig, consumers: u16) -> Sim {
    let mut sim = Sim::with_topic("orders", partitions, seed).unwrap();
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: group,
        topics: vec!["orders".into()],
    })
    .unwrap();
    for _ in 0..consumers {
        add_consumer(&mut sim, G0, None);
    }
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(workload(rate, 50)),
    })
    .unwrap();
    sim
}

/// Keyed records `order-0 .. order-{keys-1}` at `rate` per second into topic 0.
pub fn workload(rate: u32, keys: u32) -> Workload {
    Workload {
        rate_per_sec: rate,
        key_space: KeySpace::Uniform {
            prefix: "order-".into(),
            count: keys,
        },
        payload_bytes: 100,
        topic: T0,
    }
}

pub fn add_consumer(sim: &mut Sim, group: GroupId, instance: Option<&str>) {
    sim.apply(Command::AddConsumer {
        group,
        group_instance_id: instance.map(str::to_owned),
    })
    .unwrap();
}

/// Adds group `payments` (G0) on topic `orders` with `config`, and `consumers` members.
pub fn add_payments(sim: &mut Sim, config: GroupConfig, consumers: usize) {
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config,
        topics: vec!["orders".into()],
    })
    .unwrap();
    for _ in 0..consumers {
        add_consumer(sim, G0, None);
    }
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

/// Runs to `t_ms`, checking the invariants after every step (the full ones now and then).
pub fn run_checked(sim: &mut Sim, t_ms: u64) {
    let mut steps = 0u64;
    while sim.next_event_ms().is_some_and(|t| t <= t_ms) {
        sim.step();
        if let Err(e) = invariants::check(sim) {
            panic!("invariant broken: {e}");
        }
        steps += 1;
        if steps.is_multiple_of(2_000) {
            invariants::check_full(sim).unwrap_or_else(|e| panic!("invariant broken: {e}"));
        }
    }
    sim.run_until(t_ms);
    invariants::check_full(sim).unwrap_or_else(|e| panic!("invariant broken: {e}"));
}

pub fn consumer(sim: &Sim, group: GroupId, member: MemberId) -> &Consumer {
    sim.world()
        .consumer(ConsumerRef { group, member })
        .expect("the consumer exists")
}

/// The partition numbers a consumer holds.
pub fn assigned(sim: &Sim, group: GroupId, member: MemberId) -> Vec<u32> {
    let mut v: Vec<u32> = consumer(sim, group, member)
        .assigned()
        .iter()
        .map(|tp| tp.p())
        .collect();
    v.sort_unstable();
    v
}

pub fn coordinator_group(sim: &Sim, group: GroupId) -> &CoordGroup {
    sim.world()
        .coordinators
        .iter()
        .find_map(|c| c.group(group))
        .expect("the group has a coordinator")
}

pub fn group_events(sim: &Sim) -> Vec<(u64, GroupEvent)> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            Event::Group { at_ms, event, .. } => Some((*at_ms, event.clone())),
            _ => None,
        })
        .collect()
}

pub fn producer_events(sim: &Sim) -> Vec<(u64, ProducerEvent)> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            Event::Producer { at_ms, event, .. } => Some((*at_ms, event.clone())),
            _ => None,
        })
        .collect()
}

/// Runs until `c1` holds polled records it has not processed yet, then crashes it.
fn crash_c1_mid_batch(sim: &mut Sim) {
    let mut t = sim.now_ms();
    while consumer(sim, G0, c(1)).in_hand() == 0 {
        t += 1;
        run_checked(sim, t);
        assert!(t < 60_000, "c1 never held a batch");
    }
    sim.apply(Command::CrashConsumer {
        group: G0,
        consumer: c(1),
    })
    .unwrap();
}

pub fn stop_producers(sim: &mut Sim) {
    sim.apply(Command::SetWorkload {
        producer: P0,
        workload: None,
    })
    .unwrap();
}

pub fn totals(sim: &Sim) -> Totals {
    sim.totals(G0).unwrap()
}

fn log_end(sim: &Sim, p: u32) -> u64 {
    sim.log(Tp::new(T0, p)).unwrap().log_end_offset()
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
    let lost = view::anomalies(&sim, G0)
        .into_iter()
        .find(|a| a.kind == AnomalyKind::Lost)
        .expect("a lost anomaly");
    assert!(
        lost.sentence
            .contains("committed past them before processing"),
        "{}",
        lost.sentence
    );
    assert!(lost.sentence.contains("crashed"), "{}", lost.sentence);
}

#[test]
fn commit_after_processing_plus_a_crash_duplicates_records() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.processing_ms = 100;
    let mut sim = lab(2, 3, 12, group, 2);
    run_checked(&mut sim, 12_000);
    crash_c1_mid_batch(&mut sim);
    run_checked(&mut sim, 30_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let t = totals(&sim);
    assert!(t.duplicate > 0, "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    assert_eq!(t.pending, 0, "{t:?}");
    let dup = view::anomalies(&sim, G0)
        .into_iter()
        .find(|a| a.kind == AnomalyKind::Duplicate)
        .expect("a duplicate anomaly");
    assert!(dup.sentence.contains("crashed"), "{}", dup.sentence);
    assert!(
        dup.sentence.contains("committed offset"),
        "{}",
        dup.sentence
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
    run_checked(&mut sim, 8_000);
    assert_eq!(coordinator_group(&sim, G0).state(), GroupState::Stable);
    let mut sizes: Vec<usize> = (1..=4).map(|n| assigned(&sim, G0, c(n)).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![0, 1, 1, 1]);
    let idle = view::groups(&sim)[0]
        .members
        .iter()
        .find(|m| m.owned.is_empty())
        .and_then(|m| m.idle_reason.clone())
        .expect("the idle member says why");
    assert!(idle.contains("4 consumers, 3 partitions"), "{idle}");
}

#[test]
fn adding_a_consumer_rebalances_to_contiguous_ranges() {
    let mut sim = lab(5, 6, 50, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 8_000);
    let generation = coordinator_group(&sim, G0).generation();
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 14_000);
    let g = coordinator_group(&sim, G0);
    assert_eq!(g.state(), GroupState::Stable);
    assert!(g.generation() > generation);
    // Range: members sorted by member id get p0-1, p2-3, p4-5.
    let mut owners: Vec<(String, Vec<u32>)> = (1..=3)
        .map(|n| {
            (
                consumer(&sim, G0, c(n)).member_id().to_owned(),
                assigned(&sim, G0, c(n)),
            )
        })
        .collect();
    owners.sort();
    let got: Vec<Vec<u32>> = owners.into_iter().map(|(_, a)| a).collect();
    assert_eq!(got, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    assert!(
        group_events(&sim)
            .iter()
            .any(|(_, e)| matches!(e, GroupEvent::Revoked { .. })),
        "eager revokes before reassigning"
    );
}

#[test]
fn a_consumer_slower_than_max_poll_interval_is_removed_and_its_commit_rejected() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_interval_ms = 5_000;
    let mut sim = lab(6, 2, 100, group, 2);
    run_checked(&mut sim, 8_000);
    // c1 now takes a second per record: a 20-record poll takes 20 s > 5 s.
    sim.apply(Command::SlowConsumer {
        group: G0,
        consumer: c(1),
        processing_ms: Some(1_000),
    })
    .unwrap();
    run_checked(&mut sim, 40_000);
    sim.apply(Command::SlowConsumer {
        group: G0,
        consumer: c(1),
        processing_ms: None,
    })
    .unwrap();
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let events = group_events(&sim);
    let left = events.iter().any(|(_, e)| matches!(e, GroupEvent::LeaveGroup { member, reason, sent: true } if *member == c(1) && reason.contains("max.poll.interval.ms")));
    assert!(left, "c1 leaves when its poll is overdue");
    let removed = events.iter().any(|(_, e)| {
        matches!(e, GroupEvent::MemberRemoved { member, reason: RemovalReason::Left } if *member == c(1))
    });
    assert!(removed);
    let rejected = events.iter().any(|(_, e)| {
        matches!(e, GroupEvent::CommitRejected { member, error: CommitError::CommitFailed, .. } if *member == c(1))
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
    let mut sim = Sim::with_topic("orders", 1, seed).unwrap();
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
    sim.apply(Command::InjectProduceFault {
        producer: P0,
        fault,
    })
    .unwrap();
    sim
}

fn send(sim: &mut Sim, key: &str) {
    sim.apply(Command::Send {
        producer: P0,
        key: Some(key.into()),
        payload_bytes: 10,
        poison: false,
        tombstone: false,
        topic: T0,
    })
    .unwrap();
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
            send(&mut sim, &format!("k{i}"));
        }
        sim.run_until(5_000);
        sim
    };
    let plain = run(false);
    assert_eq!(log_end(&plain, 0), 6, "the retry appended the batch again");
    assert_eq!(plain.ledger().log_duplicates, 3);
    let idem = run(true);
    assert_eq!(log_end(&idem, 0), 3, "the broker dropped the retried batch");
    assert_eq!(idem.ledger().log_duplicates, 0);
    assert!(producer_events(&idem)
        .iter()
        .any(|(_, e)| matches!(e, ProducerEvent::DuplicateBatchDropped { .. })));
}

#[test]
fn lost_request_with_five_in_flight_and_no_idempotence_reorders() {
    // Two requests in flight; the first is lost on the wire. Without idempotence the
    // retried first batch lands after the second; with it, order holds.
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
        send(&mut sim, "k");
        sim.run_until(1);
        send(&mut sim, "k");
        sim.run_until(5_000);
        let log = sim.log(Tp::new(T0, 0)).unwrap();
        log.range(0, log.log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect::<Vec<u32>>()
    };
    // A lost request breaks the connection: the second request is lost with it, and both
    // are retried in the order they sit in the queue.
    let plain = run(false);
    let idem = run(true);
    assert_eq!(idem, vec![0, 1], "idempotence keeps the order");
    assert_eq!(plain.len(), 2, "{plain:?}");
}

#[test]
fn static_member_restart_within_session_timeout_does_not_rebalance() {
    let mut sim = Sim::with_topic("orders", 4, 9).unwrap();
    sim.apply(Command::AddGroup {
        group_id: "g".into(),
        config: quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into()],
    })
    .unwrap();
    for id in ["a", "b"] {
        add_consumer(&mut sim, G0, Some(id));
    }
    run_checked(&mut sim, 8_000);
    let generation = coordinator_group(&sim, G0).generation();
    let before = assigned(&sim, G0, c(1));
    sim.apply(Command::CloseConsumer {
        group: G0,
        consumer: c(1),
    })
    .unwrap();
    run_checked(&mut sim, 9_000);
    sim.apply(Command::RestartConsumer {
        group: G0,
        consumer: c(1),
    })
    .unwrap();
    run_checked(&mut sim, 11_000);
    assert_eq!(
        coordinator_group(&sim, G0).generation(),
        generation,
        "no rebalance"
    );
    assert_eq!(assigned(&sim, G0, c(1)), before);
}

#[test]
fn cooperative_sticky_moves_partitions_in_two_rounds_without_revoking_the_rest() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group
        .set("partition.assignment.strategy", "cooperative-sticky")
        .unwrap();
    let mut sim = lab(10, 6, 50, group, 2);
    run_checked(&mut sim, 8_000);
    let generation = coordinator_group(&sim, G0).generation();
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 20_000);
    let g = coordinator_group(&sim, G0);
    assert_eq!(
        g.generation(),
        generation + 2,
        "two rounds: revoke, then assign"
    );
    let sizes: Vec<usize> = (1..=3).map(|n| assigned(&sim, G0, c(n)).len()).collect();
    assert_eq!(sizes, vec![2, 2, 2]);
    // Nobody revoked a partition it kept.
    for (_, e) in group_events(&sim) {
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
            topics: vec!["orders".into()],
        })
        .unwrap();
    }
    add_consumer(&mut sim, GroupId(1), None);
    add_consumer(&mut sim, GroupId(2), None);
    run_checked(&mut sim, 14_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 40_000);
    let replay = sim.totals(GroupId(1)).unwrap();
    assert_eq!(
        (replay.once, replay.lost, replay.skipped),
        (replay.produced, 0, 0),
        "{replay:?}"
    );
    let tail = sim.totals(GroupId(2)).unwrap();
    assert!(
        tail.skipped > 0 && tail.lost == 0,
        "latest skips what was there before: {tail:?}"
    );
    let a = view::anomalies(&sim, GroupId(2))
        .into_iter()
        .find(|a| a.kind == AnomalyKind::Skipped)
        .expect("a skipped anomaly");
    assert!(
        a.sentence.contains("auto.offset.reset=latest"),
        "{}",
        a.sentence
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
                    group: G0,
                    consumer: c(2),
                },
            );
            sim.schedule_command(
                6_000,
                Command::AddConsumer {
                    group: G0,
                    group_instance_id: None,
                },
            );
            sim.schedule_command(
                7_000,
                Command::AddPartitions {
                    total: 6,
                    topic: T0,
                },
            );
            sim.run_until(25_000);
            (sim.trace_hash(), sim.event_count(), totals(&sim))
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
    run_checked(&mut sim, 8_000);
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 15_000);
    let events = group_events(&sim);
    // Counted from the events, not from the fields the metrics copy.
    let completed = events
        .iter()
        .filter(|(_, e)| matches!(e, GroupEvent::JoinComplete { .. }))
        .count() as u32;
    let prepared: Vec<u64> = events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                GroupEvent::StateChanged {
                    to: GroupState::PreparingRebalance,
                    ..
                }
            )
        })
        .map(|(t, _)| *t)
        .collect();
    let stable: Vec<u64> = events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                GroupEvent::StateChanged {
                    to: GroupState::Stable,
                    ..
                }
            )
        })
        .map(|(t, _)| *t)
        .collect();
    // The first join stops nothing (no one owned a partition); the second stops all.
    let stw: u64 = prepared
        .iter()
        .zip(&stable)
        .skip(1)
        .map(|(p, s)| s - p)
        .sum();
    let m = view::metrics(&sim);
    let g = &m.groups[0];
    assert_eq!(
        completed, 2,
        "the first join and the one the new consumer caused"
    );
    assert_eq!(g.rebalances, completed);
    assert_eq!(g.stop_the_world_ms, stw);
    assert!(stw > 0, "the eager rebalance stopped the group: {stw} ms");
    let processed: u64 = events
        .iter()
        .filter_map(|(_, e)| match e {
            GroupEvent::Processed { from, to, .. } => Some(to - from),
            _ => None,
        })
        .sum();
    assert_eq!(g.processed_records, processed);
    for p in &g.partitions {
        assert!(p.position.is_some(), "every partition has a live owner");
        let committed = events.iter().rev().find_map(|(_, e)| match e {
            GroupEvent::Committed { offsets, .. } => {
                offsets.iter().find(|(tp, _)| *tp == p.tp).map(|(_, o)| *o)
            }
            _ => None,
        });
        assert_eq!(p.committed, committed);
        assert_eq!(p.lag, committed.map(|c| log_end(&sim, p.tp.p()) - c));
    }
}

#[test]
fn describe_group_matches_the_tools_columns() {
    let mut sim = lab(12, 3, 100, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 12_000);
    let rows = view::describe(&sim, G0);
    assert_eq!(rows.len(), 3);
    let events = group_events(&sim);
    for r in &rows {
        assert_eq!((r.group.as_str(), r.topic.as_str()), ("payments", "orders"));
        assert_eq!(r.log_end_offset, log_end(&sim, r.partition));
        let committed = events.iter().rev().find_map(|(_, e)| match e {
            GroupEvent::Committed { offsets, .. } => offsets
                .iter()
                .find(|(tp, _)| tp.p() == r.partition)
                .map(|(_, o)| *o),
            _ => None,
        });
        assert_eq!(r.current_offset, committed);
        assert_eq!(r.lag, committed.map(|c| r.log_end_offset - c));
        // The owner from the last assignment the client took.
        let owner = events.iter().rev().find_map(|(_, e)| match e {
            GroupEvent::Assigned {
                member, partitions, ..
            } if partitions.iter().any(|tp| tp.p() == r.partition) => Some(*member),
            _ => None,
        });
        assert_eq!(
            Some(r.client_id.clone()),
            owner.map(kafka_lab::engine::ids::consumer_client_id)
        );
        assert!(
            r.consumer_id.starts_with(&format!("{}-", r.client_id)),
            "{r:?}"
        );
    }
}

#[test]
fn two_topics_run_end_to_end() {
    let mut sim = lab(14, 3, 20, quick_group(ManualCommit::AfterBatch), 2);
    sim.apply(Command::CreateTopic {
        name: "payments".into(),
        partitions: 2,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(Workload {
            topic: TopicId(1),
            ..workload(10, 5)
        }),
    })
    .unwrap();
    sim.apply(Command::AddGroup {
        group_id: "audit".into(),
        config: quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into(), "payments".into()],
    })
    .unwrap();
    add_consumer(&mut sim, GroupId(1), None);
    add_consumer(&mut sim, GroupId(1), None);
    run_checked(&mut sim, 20_000);
    for p in 0..2 {
        assert!(sim.log(Tp::new(TopicId(1), p)).unwrap().log_end_offset() > 0);
    }
    // The audit group owns all five partitions of both topics between its two members.
    let mut owned: Vec<Tp> = (1..=2)
        .flat_map(|n| consumer(&sim, GroupId(1), c(n)).assigned().to_vec())
        .collect();
    owned.sort();
    assert_eq!(owned.len(), 5, "{owned:?}");
    assert!(owned.iter().any(|tp| tp.topic == TopicId(1)));
    let t = sim.totals(GroupId(1)).unwrap();
    assert!(t.once > 0 && t.duplicate == 0 && t.lost == 0, "{t:?}");
    // The payments group reads only orders: records of the other topic stay pending for it.
    assert_eq!(view::describe(&sim, G0).len(), 3);
    assert_eq!(view::describe(&sim, GroupId(1)).len(), 5);
}

/// A topic created while the lab runs, and a group that reads it with `orders`: the read
/// model lists both topics for that group, and its consumer gets partitions of both.
#[test]
fn a_group_added_later_reads_a_topic_created_later() {
    let mut sim = lab(41, 3, 20, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 2_000);
    sim.apply(Command::CreateTopic {
        name: "topic-2".into(),
        partitions: 2,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddGroup {
        group_id: "group-2".into(),
        config: quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into(), "topic-2".into()],
    })
    .unwrap();
    add_consumer(&mut sim, GroupId(1), None);
    assert_eq!(view::subscribed_topics(&sim, GroupId(1)).len(), 2);
    run_checked(&mut sim, 12_000);
    let owned = assigned(&sim, GroupId(1), c(1));
    assert_eq!(owned.len(), 5, "{owned:?}");
}
