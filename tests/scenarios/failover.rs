//! Failover under compound faults (issue "Failover you can trust"): one scenario per row of
//! the failover audit, each citing the Kafka source whose behaviour it checks, and the
//! compound-fault run that checks liveness and safety over many seeds.

use kafka_lab::engine::config::{Acks, ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{CommitError, Event, GroupEvent, ProducerEvent};
use kafka_lab::engine::ids::{BrokerId, NodeId, ProducerId, Tp};
use kafka_lab::engine::producer::{KeySpace, Workload};
use kafka_lab::engine::replication::ReplicationConfig;
use kafka_lab::engine::{view, Command, Sim};

use super::replication::{acked, hold_followers, kill, leader, leader_and_followers, restart};
use super::{add_consumer, c, group_events, quick_group, run_checked, stop_producers, G0, T0};

/// `brokers` brokers, topic `orders` with `partitions` partitions at replication factor 3
/// (capped), group `payments` with `consumers` consumers committing with `commit`, and a
/// keyed producer at `rate` records/s with `acks`.
pub fn cluster(
    seed: u64,
    partitions: u32,
    acks: Acks,
    min_isr: u16,
    rate: u32,
    commit: ManualCommit,
    consumers: u16,
) -> Sim {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        min_insync_replicas: min_isr,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(seed, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: quick_group(commit),
        topics: vec!["orders".into()],
    })
    .unwrap();
    for _ in 0..consumers {
        add_consumer(&mut sim, G0, None);
    }
    sim.apply(Command::AddProducer {
        config: ProducerConfig {
            acks,
            ..ProducerConfig::default()
        },
        workload: Some(super::workload(rate, 20)),
    })
    .unwrap();
    sim
}

fn tp(p: u32) -> Tp {
    Tp::new(T0, p)
}

fn coordinator(sim: &Sim) -> BrokerId {
    sim.world().cluster.coordinator(G0).expect("a coordinator")
}

fn isr(sim: &Sim, p: u32) -> Vec<BrokerId> {
    sim.world().cluster.isr(tp(p))
}

/// The group's committed offset of `p`, as the coordinator holds it.
fn committed(sim: &Sim, p: u32) -> u64 {
    super::coordinator_group(sim, G0)
        .committed
        .get(&tp(p))
        .map_or(0, |c| c.offset)
}

fn high_watermark(sim: &Sim, p: u32) -> u64 {
    sim.world().log(tp(p)).map_or(0, |l| l.high_watermark())
}

/// Everyone but broker `b`: the nodes a "cut off" separates it from.
fn everyone_but(sim: &Sim, b: BrokerId) -> Vec<NodeId> {
    view::nodes_around(sim, b).0
}

/// Records processed by the group on `p` from `from_ms` on.
fn processed_since(sim: &Sim, p: u32, from_ms: u64) -> u64 {
    group_events(sim)
        .into_iter()
        .filter(|(at, _)| *at >= from_ms)
        .map(|(_, e)| match e {
            GroupEvent::Processed {
                tp: t, from, to, ..
            } if t == tp(p) => to - from,
            _ => 0,
        })
        .sum()
}

/// R1, NetworkClient `handleTimedOutRequests` and AbstractFetcherThread
/// `handlePartitionsWithErrors`: requests lost on a cut link are found out by their
/// timeout and sent again, so a broker cut off and healed comes back: the partition it led
/// is consumed again, and its followers fetch again and rejoin the ISR.
#[test]
fn r1_a_broker_cut_off_and_healed_comes_back_consumed_and_in_sync() {
    let mut sim = cluster(3, 3, Acks::All, 1, 30, ManualCommit::AfterBatch, 2);
    run_checked(&mut sim, 15_000);
    let coord = coordinator(&sim);
    let (p, b) = (0..3)
        .find_map(|p| leader_of(&sim, p).filter(|&l| l != coord).map(|l| (p, l)))
        .expect("a partition led by a broker that is not the coordinator");
    let others = everyone_but(&sim, b);
    sim.apply(Command::NetPartition {
        a: vec![NodeId::Broker(b)],
        b: others,
    })
    .unwrap();
    run_checked(&mut sim, 40_000);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 150_000);
    assert!(
        processed_since(&sim, p, 45_000) > 100,
        "p{p} is consumed again after the heal"
    );
    stop_producers(&mut sim);
    run_checked(&mut sim, 200_000);
    for q in 0..3 {
        assert_eq!(isr(&sim, q).len(), 3, "p{q} ISR {:?}", isr(&sim, q));
        assert_eq!(
            committed(&sim, q),
            high_watermark(&sim, q),
            "the group caught up on p{q}"
        );
    }
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.pending, 0, "{t:?}");
}

fn leader_of(sim: &Sim, p: u32) -> Option<BrokerId> {
    sim.world().cluster.leader(tp(p))
}

/// R1, OffsetFetcher `resetPositionsAsync` → `onFailedResponseForResettingPositions`: a
/// reset whose ListOffsets went to a leader that died is sent again (to the new leader once
/// the controller moved it), so the partition is consumed from its start.
#[test]
fn r1_a_reset_whose_list_offsets_went_to_a_dead_leader_is_retried() {
    let mut sim = cluster(5, 3, Acks::All, 1, 30, ManualCommit::AfterBatch, 2);
    run_checked(&mut sim, 2_000);
    let b = leader_of(&sim, 0).expect("p0 has a leader");
    // Before the group's first assignment (about 6 s): its reset goes to the dead leader.
    kill(&mut sim, b);
    run_checked(&mut sim, 60_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 90_000);
    let owner_has_position = (1..=2).any(|m| {
        super::consumer(&sim, G0, c(m))
            .positions
            .contains_key(&tp(0))
    });
    assert!(owner_has_position, "p0's owner found its position");
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.pending, 0, "{t:?}");
}

/// R2, UnifiedLog `append` (`findDuplicateBatch` → the first append's offsets, no error)
/// and ReplicaManager `delayedProduceRequestRequired`: an `acks=all` retry the leader
/// recognises as a duplicate waits for the high watermark like any append, so a leader cut
/// off from its followers for more than `request.timeout.ms` acknowledges nothing it then
/// loses.
#[test]
fn r2_an_acks_all_retry_recognised_as_a_duplicate_waits_for_the_high_watermark() {
    let mut sim = super::replication::cluster(7, 3, 3, 2, Acks::All, 40, 1);
    run_checked(&mut sim, 5_000);
    let (old, _) = hold_followers(&mut sim);
    let acked_before = acked(&sim);
    run_checked(&mut sim, 35_500);
    assert!(
        sim.events().iter().any(|e| matches!(
            e,
            Event::Producer {
                event: ProducerEvent::DuplicateBatchDropped { .. },
                ..
            }
        )),
        "the leader recognised a retried batch"
    );
    let acked_while_held = acked(&sim) - acked_before;
    kill(&mut sim, old);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 80_000);
    restart(&mut sim, old);
    run_checked(&mut sim, 120_000);
    assert_eq!(
        sim.ledger().acked_then_lost(),
        0,
        "{acked_while_held} acks while the followers were held"
    );
}

/// R6, ClassicKafkaConsumer `poll` (the coordinator's result is ignored, `pollForFetches`
/// runs): a consumer that cannot reach its coordinator keeps fetching and processing the
/// partitions it owns.
#[test]
fn r6_a_consumer_keeps_consuming_while_its_coordinator_is_unreachable() {
    let mut sim = cluster(11, 3, Acks::All, 1, 30, ManualCommit::Off, 1);
    run_checked(&mut sim, 15_000);
    let coord = coordinator(&sim);
    let consumer = NodeId::Consumer(kafka_lab::engine::ids::ConsumerRef {
        group: G0,
        member: c(1),
    });
    // Its coordinator and the first broker it asks FindCoordinator stop answering it.
    let held = [coord, BrokerId(0)];
    sim.apply(Command::NetHold {
        a: vec![consumer],
        b: held.iter().map(|&b| NodeId::Broker(b)).collect(),
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    let elsewhere: u64 = (0..3)
        .filter(|&p| leader_of(&sim, p).is_some_and(|l| !held.contains(&l)))
        .map(|p| processed_since(&sim, p, 40_000))
        .sum();
    assert!(
        elsewhere > 100,
        "the partitions led by other brokers are still consumed: {elsewhere}"
    );
}

/// R7, ConsumerCoordinator `commitOffsetsSync` and `OffsetCommitResponseHandler`: a commit
/// that meets a coordinator failover is retried (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
/// and a broken connection are retriable) and never reported as CommitFailedException, so
/// at-most-once (commit before processing) gives no duplicate when a consumer then crashes.
#[test]
fn r7_commits_across_a_coordinator_failover_are_retried_and_at_most_once_holds() {
    let mut sim = cluster(13, 3, Acks::All, 1, 30, ManualCommit::BeforeProcessing, 2);
    run_checked(&mut sim, 15_000);
    let coord = coordinator(&sim);
    kill(&mut sim, coord);
    run_checked(&mut sim, 18_000);
    sim.apply(Command::CrashConsumer {
        group: G0,
        consumer: c(1),
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    stop_producers(&mut sim);
    run_checked(&mut sim, 120_000);
    let commit_failed = group_events(&sim).into_iter().any(|(_, e)| {
        matches!(
            e,
            GroupEvent::CommitRejected {
                error: CommitError::CommitFailed,
                ..
            }
        )
    });
    assert!(
        !commit_failed,
        "no CommitFailedException: the member never left"
    );
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.duplicate, 0, "at most once: {t:?}");
    assert_eq!(t.pending, 0, "{t:?}");
}

/// R10, BuiltInPartitioner `nextPartition` (`availablePartitionsForTopic`) and
/// RecordAccumulator `partitionReady` (leaderless partitions left out of the load stats):
/// keyless records go to partitions that have a leader.
#[test]
fn r10_keyless_records_go_to_partitions_with_a_leader() {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 1,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(17, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 3,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddProducer {
        // Uniform sticky picks (no load statistics), as before the first batches.
        config: ProducerConfig {
            partitioner_adaptive_partitioning_enable: false,
            ..ProducerConfig::default()
        },
        workload: Some(Workload {
            rate_per_sec: 50,
            key_space: KeySpace::Null,
            payload_bytes: 100,
            topic: T0,
        }),
    })
    .unwrap();
    run_checked(&mut sim, 5_000);
    let b = leader_of(&sim, 0).expect("p0 has a leader");
    kill(&mut sim, b);
    run_checked(&mut sim, 20_000);
    let leaderless: Vec<u32> = (0..3).filter(|&p| leader_of(&sim, p).is_none()).collect();
    assert!(
        !leaderless.is_empty(),
        "RF 1: the dead broker's partitions are offline"
    );
    let first = sim.ledger().produced() as usize;
    run_checked(&mut sim, 60_000);
    let ledger = sim.ledger();
    let misplaced = (first..ledger.produced() as usize)
        .filter(|&id| leaderless.contains(&ledger.records.get(id).unwrap().tp().p()))
        .count();
    assert_eq!(misplaced, 0, "keyless records sent to offline partitions");
    assert!(ledger.produced() as usize > first + 1_000);
}

/// R12, GroupMetadataManager `classicGroupJoinNewDynamicMember` (the pending member's
/// expiry) and `removePendingMemberAndUpdateClassicGroup`: a member id handed out with
/// MEMBER_ID_REQUIRED and never used expires after the session timeout, so the next
/// rebalance does not wait for it until the rebalance timeout.
#[test]
fn r12_a_pending_member_that_never_joins_expires_with_its_session() {
    let mut sim = Sim::with_topic("orders", 3, 19).unwrap();
    sim.set_latency(kafka_lab::engine::net::Latency {
        min_ms: 20,
        max_ms: 20,
    })
    .unwrap();
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_interval_ms = 120_000;
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: group,
        topics: vec!["orders".into()],
    })
    .unwrap();
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 20_000);
    // c2 finds the coordinator (40 ms); its first JoinGroup reaches it at 60 ms and gets a
    // member id; c2 crashes before the answer arrives (80 ms), so the id is never used.
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 20_070);
    sim.apply(Command::CrashConsumer {
        group: G0,
        consumer: c(2),
    })
    .unwrap();
    run_checked(&mut sim, 21_000);
    add_consumer(&mut sim, G0, None);
    run_checked(&mut sim, 60_000);
    let formed = group_events(&sim).into_iter().find_map(|(at, e)| match e {
        GroupEvent::JoinComplete { members, .. } if members.contains(&c(3)) => Some(at),
        _ => None,
    });
    let at = formed.expect("a generation with c3 formed within a minute");
    assert!(at < 35_000, "formed at {at} ms");
}

/// R13, Partition `prepareIsrExpand`: a follower that catches up is appended to the ISR,
/// which the controller stores in that order (`kafka-topics --describe` prints it so).
#[test]
fn r13_a_returning_follower_goes_to_the_end_of_the_isr() {
    for seed in 20..40 {
        let mut sim = super::replication::cluster(seed, 3, 3, 1, Acks::All, 40, 0);
        run_checked(&mut sim, 5_000);
        let (l, followers) = leader_and_followers(&sim);
        let replicas = sim.world().cluster.replicas(super::replication::p0());
        // The first follower in replica order that is not last in it.
        let Some(&f) = followers.iter().find(|&&f| replicas.last() != Some(&f)) else {
            continue;
        };
        sim.apply(Command::NetHold {
            a: vec![NodeId::Broker(f)],
            b: vec![NodeId::Broker(l)],
        })
        .unwrap();
        run_checked(&mut sim, 60_000);
        assert!(!sim
            .world()
            .cluster
            .isr(super::replication::p0())
            .contains(&f));
        sim.apply(Command::NetHeal).unwrap();
        run_checked(&mut sim, 75_000);
        let isr = sim.world().cluster.isr(super::replication::p0());
        assert_eq!(isr.last(), Some(&f), "seed {seed}: ISR {isr:?}");
        assert_eq!(leader(&sim), Some(l));
        return;
    }
    panic!("no seed placed a follower before the last replica");
}

#[allow(dead_code)]
fn producer() -> ProducerId {
    ProducerId(0)
}
