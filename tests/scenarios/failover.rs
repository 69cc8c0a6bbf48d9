//! Failover under compound faults (issue "Failover you can trust"): one scenario per row of
//! the failover audit, each citing the Kafka source whose behaviour it checks, and the
//! compound-fault run that checks liveness and safety over many seeds.

use kafka_lab::engine::config::{Acks, AutoOffsetReset, ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{CommitError, Event, GroupEvent, ProducerEvent};
use kafka_lab::engine::ids::{BrokerId, NodeId, ProducerId, Tp};
use kafka_lab::engine::producer::{KeySpace, Workload};
use kafka_lab::engine::replication::ReplicationConfig;
use kafka_lab::engine::{view, Command, Sim};

use super::replication::{acked, hold_followers, kill, leader, leader_and_followers, restart};
use super::{
    add_consumer, add_payments, c, group_events, quick_group, run_checked, stop_producers, G0, T0,
};

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
        .committed()
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
            .positions()
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

/// The first seed whose partition 0 of a one-partition topic (RF 3) has a replica order
/// `[leader, f1, f2]`, built by `build`.
fn with_order(build: impl Fn(u64) -> Sim) -> (Sim, BrokerId, BrokerId, BrokerId) {
    for seed in 0..100 {
        let mut sim = build(seed);
        run_checked(&mut sim, 2_000);
        let replicas = sim.world().cluster.replicas(super::replication::p0());
        if leader(&sim) == replicas.first().copied() && replicas.len() == 3 {
            return (sim, replicas[0], replicas[1], replicas[2]);
        }
    }
    panic!("no seed gave the leader first in replica order");
}

/// R3, PartitionChangeBuilder `electAnyLeader` (replica order, not log length),
/// Partition `makeLeader` (a new leader keeps its whole log) and AbstractFetcherThread
/// `truncateOnFetchResponse`: an election deletes nothing. Two brokers die within a
/// second; the controller first elects the replica that missed the last records, then,
/// once that one is fenced too, the one that has them: they come back, the group reads
/// them, and nothing is counted lost.
#[test]
fn r3_records_a_later_leader_still_holds_are_not_lost_at_an_earlier_election() {
    let (mut sim, l, f1, f2) =
        with_order(|seed| super::replication::cluster(seed, 3, 3, 1, Acks::One, 30, 1));
    run_checked(&mut sim, 5_000);
    // f1 stops replicating (its link to the leader holds); f2 keeps up.
    sim.apply(Command::NetHold {
        a: vec![NodeId::Broker(l)],
        b: vec![NodeId::Broker(f1)],
    })
    .unwrap();
    run_checked(&mut sim, 9_000);
    kill(&mut sim, l);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 10_500);
    kill(&mut sim, f1);
    run_checked(&mut sim, 60_000);
    assert_eq!(
        leader(&sim),
        Some(f2),
        "the replica with every record leads"
    );
    stop_producers(&mut sim);
    run_checked(&mut sim, 150_000);
    assert_eq!(sim.ledger().acked_then_lost(), 0);
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.lost, 0, "{t:?}");
    assert_eq!(t.pending, 0, "{t:?}");
}

/// R3 (divergent histories) with R5/R15: a leader cut off from the controller and its
/// followers, but not from its producer, is fenced and replaced, yet keeps appending
/// (`acks=1`) in its old epoch until it hears the new metadata. Those records were
/// acknowledged and are lost when it comes back as a follower and truncates them
/// (ReplicaFetcherThread `truncate`); until then they are pending, not lost.
#[test]
fn r3_a_zombie_leaders_acknowledged_records_are_lost_when_it_truncates() {
    let (mut sim, l, f1, f2) =
        with_order(|seed| super::replication::cluster(seed, 3, 3, 1, Acks::One, 100, 1));
    run_checked(&mut sim, 5_000);
    sim.apply(Command::NetPartition {
        a: vec![NodeId::Broker(l)],
        b: vec![NodeId::Controller, NodeId::Broker(f1), NodeId::Broker(f2)],
    })
    .unwrap();
    run_checked(&mut sim, 20_000);
    assert_ne!(
        leader(&sim),
        Some(l),
        "the controller fenced it and moved leadership"
    );
    assert_eq!(sim.ledger().acked_then_lost(), 0, "nothing is lost yet");
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 40_000);
    assert!(
        sim.ledger().acked_then_lost() > 100,
        "the zombie's acknowledged records: {}",
        sim.ledger().acked_then_lost()
    );
    let log = |b: BrokerId| {
        sim.world().brokers[b.index()]
            .log(super::replication::p0())
            .unwrap()
    };
    let new = leader(&sim).unwrap();
    assert_eq!(
        log(l).divergence(log(new)),
        log(l).log_end_offset().min(log(new).log_end_offset())
    );
}

/// R4, AbstractFetcherThread `getOffsetTruncationState`: a follower with an epoch the
/// leader never saw, where the leader holds more of an older epoch, truncates to its own
/// end of that older epoch in one round, then catches up and rejoins the ISR.
#[test]
fn r4_a_follower_with_an_epoch_the_leader_never_saw_truncates_and_rejoins() {
    let (mut sim, a, b, c) =
        with_order(|seed| super::replication::cluster(seed, 3, 3, 1, Acks::One, 100, 0));
    run_checked(&mut sim, 5_000);
    // b is slowed: its links to the other brokers hold.
    sim.apply(Command::NetHold {
        a: vec![NodeId::Broker(b)],
        b: vec![NodeId::Broker(a), NodeId::Broker(c)],
    })
    .unwrap();
    run_checked(&mut sim, 8_000);
    kill(&mut sim, a);
    // The controller elects b (first in replica order, still in the ISR); it writes a few
    // records in its own epoch that c cannot fetch.
    run_checked(&mut sim, 20_000);
    assert_eq!(leader(&sim), Some(b));
    kill(&mut sim, b);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 35_000);
    assert_eq!(leader(&sim), Some(c));
    restart(&mut sim, b);
    run_checked(&mut sim, 60_000);
    assert!(
        sim.world()
            .cluster
            .isr(super::replication::p0())
            .contains(&b),
        "b rejoined the ISR: {:?}",
        sim.world().cluster.isr(super::replication::p0())
    );
    let fetches = sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Broker { broker, event: kafka_lab::engine::event::BrokerEvent::Truncated { .. }, .. } if *broker == b))
        .count();
    assert!(fetches <= 2, "{fetches} truncations");
}

fn broker_event_times(sim: &Sim, b: BrokerId) -> Vec<(u64, String)> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            Event::Broker {
                at_ms,
                broker,
                event,
            } if *broker == b => Some((
                *at_ms,
                format!("{event:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// R5 and R15, ClusterControlManager `registerBroker` (DUPLICATE_BROKER_REGISTRATION while
/// the old session is valid), BrokerHeartbeatManager (fenced `broker.session.timeout.ms`
/// after the last heartbeat, sent every `broker.heartbeat.interval.ms`) and
/// ReplicationControlManager `handleBrokerUnfenced`: a broker restarted 2 s after its kill
/// is refused until the old process is fenced 7 to 9 s after the crash and its partitions
/// fail over; it then registers fenced, is unfenced, and returns as a follower.
#[test]
fn r5_a_broker_restarted_within_its_session_is_fenced_first_and_returns_as_a_follower() {
    let (mut sim, l, _, _) =
        with_order(|seed| super::replication::cluster(seed, 3, 3, 1, Acks::One, 50, 1));
    run_checked(&mut sim, 10_000);
    let killed_at = 10_500;
    run_checked(&mut sim, killed_at);
    kill(&mut sim, l);
    run_checked(&mut sim, killed_at + 2_000);
    restart(&mut sim, l);
    run_checked(&mut sim, 40_000);
    let events = broker_event_times(&sim, l);
    let at = |name: &str| events.iter().find(|(_, e)| e == name).map(|(t, _)| *t);
    let refused = at("RegistrationRefused").expect("refused while the old session was valid");
    let fenced = at("Fenced").expect("fenced");
    let registered = at("Registered").expect("registered");
    let unfenced = at("Unfenced").expect("unfenced");
    assert!(
        (killed_at + 7_000..=killed_at + 9_000).contains(&fenced),
        "fenced {} ms after the kill",
        fenced - killed_at
    );
    assert!(refused < fenced && fenced <= registered && registered <= unfenced);
    let new = leader(&sim).expect("a leader");
    assert_ne!(new, l, "it came back as a follower");
    assert!(sim
        .world()
        .cluster
        .isr(super::replication::p0())
        .contains(&l));
}

/// R11, QuorumController `maybeScheduleNextBalancePartitionLeaders` and
/// ReplicationControlManager `maybeBalancePartitionLeaders` (`auto.leader.rebalance.enable`,
/// `leader.imbalance.check.interval.seconds` 300): leadership moves back to the preferred
/// replica about five minutes after the imbalance appeared.
#[test]
fn r11_leadership_goes_back_to_the_preferred_replica_after_the_balance_interval() {
    let mut sim = cluster(23, 3, Acks::All, 1, 20, ManualCommit::AfterBatch, 1);
    run_checked(&mut sim, 5_000);
    let b = leader_of(&sim, 0).unwrap();
    kill(&mut sim, b);
    run_checked(&mut sim, 30_000);
    restart(&mut sim, b);
    run_checked(&mut sim, 100_000);
    assert_ne!(leader_of(&sim, 0), Some(b), "not yet");
    run_checked(&mut sim, 350_000);
    for p in 0..3 {
        let preferred = sim.world().cluster.replicas(tp(p))[0];
        assert_eq!(leader_of(&sim, p), Some(preferred), "p{p}");
    }
    let moved = sim.events().iter().any(|e| {
        matches!(
            e,
            Event::Broker {
                event: kafka_lab::engine::event::BrokerEvent::LeaderElected {
                    preferred: true,
                    ..
                },
                ..
            }
        )
    });
    assert!(moved);
}

/// The ISR of the group's partition of `__consumer_offsets`.
fn offsets_isr(sim: &Sim) -> Vec<BrokerId> {
    let k = sim.world().cluster.group_partition(G0);
    sim.world().cluster.offsets_partitions()[k as usize]
        .isr
        .clone()
}

/// R6, Partition `maybeExpandIsr` and `GroupCoordinatorService`: `__consumer_offsets` is a
/// partition like any other. Its replicas fetch the coordinator's records, leave the ISR
/// when they stop and rejoin it when they catch up, so the coordinator moves on every step
/// of a rolling restart, and after one, killing the coordinator's broker moves it again:
/// the group keeps consuming throughout.
#[test]
fn r6_the_group_keeps_consuming_through_a_rolling_restart_and_a_coordinator_kill() {
    let mut sim = cluster(29, 3, Acks::All, 1, 30, ManualCommit::AfterBatch, 2);
    run_checked(&mut sim, 15_000);
    let mut t = 15_000;
    let mut moves = 0;
    for b in 0..3u16 {
        let b = BrokerId(b);
        let before = coordinator(&sim);
        kill(&mut sim, b);
        t += 20_000;
        run_checked(&mut sim, t);
        restart(&mut sim, b);
        t += 40_000;
        run_checked(&mut sim, t);
        assert_eq!(
            offsets_isr(&sim).len(),
            3,
            "after restarting broker {}",
            b.0
        );
        if coordinator(&sim) != before {
            moves += 1;
        }
        for p in 0..3 {
            assert_eq!(
                isr(&sim, p).len(),
                3,
                "p{p} after restarting broker {}",
                b.0
            );
        }
    }
    assert!(
        moves >= 1,
        "the coordinator moved during the rolling restart"
    );
    let coord = coordinator(&sim);
    kill(&mut sim, coord);
    t += 40_000;
    run_checked(&mut sim, t);
    assert_ne!(coordinator(&sim), coord);
    assert!(
        processed_since(&sim, 0, t - 20_000)
            + processed_since(&sim, 1, t - 20_000)
            + processed_since(&sim, 2, t - 20_000)
            > 300
    );
    stop_producers(&mut sim);
    run_checked(&mut sim, t + 60_000);
    for p in 0..3 {
        assert_eq!(
            committed(&sim, p),
            high_watermark(&sim, p),
            "p{p} caught up"
        );
    }
    let t = sim.totals(G0).unwrap();
    assert_eq!((t.lost, t.pending), (0, 0), "{t:?}");
}

/// A cluster where an unclean election puts the group behind the new leader's log end:
/// broker `l` writes alone (its followers died at 5 s), the group reads from it, `l` dies at
/// 20 s, and an out-of-sync follower is elected at 25 s.
fn unclean_failover(reset: AutoOffsetReset) -> Sim {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        unclean_leader_election_enable: true,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(31, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config: Default::default(),
    })
    .unwrap();
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.auto_offset_reset = reset;
    group.processing_ms = 1;
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: group,
        topics: vec!["orders".into()],
    })
    .unwrap();
    add_consumer(&mut sim, G0, None);
    sim.apply(Command::AddProducer {
        config: ProducerConfig {
            acks: Acks::One,
            ..ProducerConfig::default()
        },
        workload: Some(super::workload(30, 20)),
    })
    .unwrap();
    run_checked(&mut sim, 5_000);
    let (l, followers) = leader_and_followers(&sim);
    for &f in &followers {
        kill(&mut sim, f);
    }
    run_checked(&mut sim, 20_000);
    kill(&mut sim, l);
    run_checked(&mut sim, 25_000);
    restart(&mut sim, followers[0]);
    restart(&mut sim, followers[1]);
    sim
}

/// R8, SubscriptionState `maybeValidatePositionForCurrentLeader` and
/// `maybeCompleteValidation` (KIP-320): after a leader change the consumer checks its
/// position with OffsetsForLeaderEpoch; past where the new leader's log ends for its epoch,
/// it moves to that offset ("the first offset known to diverge") instead of resetting to
/// the start under `auto.offset.reset=earliest`, so nothing is processed twice.
#[test]
fn r8_after_an_unclean_election_the_consumer_moves_to_the_divergence_not_the_start() {
    let mut sim = unclean_failover(AutoOffsetReset::Earliest);
    run_checked(&mut sim, 90_000);
    let moved = group_events(&sim).into_iter().any(|(_, e)| {
        matches!(
            e,
            GroupEvent::PositionSet {
                source: kafka_lab::engine::event::PositionSource::Truncation,
                ..
            }
        )
    });
    assert!(moved, "truncation detected");
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.duplicate, 0, "{t:?}");
    assert!(t.once > 1_000, "{t:?}");
}

/// R9, the ledger's labels: under `auto.offset.reset=latest`, a member that crashes before
/// its first commit leaves its successor starting at the log end. What the crashed member
/// never processed is the group's loss (a failure), not records skipped by choice.
#[test]
fn r9_a_crash_before_the_first_commit_under_latest_is_a_loss_not_a_skip() {
    let mut sim = Sim::with_topic("orders", 1, 37).unwrap();
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.auto_offset_reset = AutoOffsetReset::Latest;
    group.processing_ms = 300;
    add_payments(&mut sim, group, 2);
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(super::workload(20, 20)),
    })
    .unwrap();
    // The owner of p0 starts at the log end at about 6 s; it crashes holding its first
    // records, before its first commit.
    let mut t = 5_000;
    let owner = loop {
        t += 10;
        run_checked(&mut sim, t);
        assert!(t < 20_000, "nobody held a batch");
        if let Some(m) = (1..=2).find(|&m| super::consumer(&sim, G0, c(m)).in_hand() > 0) {
            break m;
        }
    };
    assert_eq!(committed(&sim, 0), 0, "nothing committed yet");
    sim.apply(Command::CrashConsumer {
        group: G0,
        consumer: c(owner),
    })
    .unwrap();
    run_checked(&mut sim, 40_000);
    let t = sim.totals(G0).unwrap();
    assert!(t.lost > 0, "{t:?}");
    let lost = view::anomalies(&sim, G0)
        .into_iter()
        .find(|a| a.kind == kafka_lab::engine::ledger::AnomalyKind::Lost)
        .expect("a lost anomaly");
    assert!(
        lost.sentence.contains("a failure, not a choice"),
        "{}",
        lost.sentence
    );
}

/// R14, Partition `maybeIncrementLeaderHW` (`shouldWaitForReplicaToJoinIsr`): the high
/// watermark also waits for a follower outside the ISR that is caught up and eligible, so
/// a restarted follower can reach it and rejoin even when appends come faster than its
/// round trip.
#[test]
fn r14_a_restarted_follower_rejoins_the_isr_under_steady_writes_and_slow_links() {
    let replication = ReplicationConfig {
        brokers: 2,
        default_replication_factor: 2,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(41, replication);
    sim.set_latency(kafka_lab::engine::net::Latency {
        min_ms: 10,
        max_ms: 20,
    })
    .unwrap();
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config: Default::default(),
    })
    .unwrap();
    // Four producers: appends every millisecond or so, faster than a fetch's round trip.
    for _ in 0..4 {
        sim.apply(Command::AddProducer {
            config: ProducerConfig {
                acks: Acks::One,
                linger_ms: 0,
                ..ProducerConfig::default()
            },
            workload: Some(super::workload(250, 20)),
        })
        .unwrap();
    }
    run_checked(&mut sim, 5_000);
    let (_, followers) = leader_and_followers(&sim);
    let f = followers[0];
    kill(&mut sim, f);
    run_checked(&mut sim, 25_000);
    assert!(!sim
        .world()
        .cluster
        .isr(super::replication::p0())
        .contains(&f));
    restart(&mut sim, f);
    run_checked(&mut sim, 90_000);
    assert!(
        sim.world()
            .cluster
            .isr(super::replication::p0())
            .contains(&f),
        "the follower rejoined: {:?}",
        sim.world().cluster.isr(super::replication::p0())
    );
}

/// R9, `ProducerConfig` `acks` (with `acks=0` the callback gets offset -1: nothing is
/// acknowledged) and PartitionChangeBuilder `Election.UNCLEAN`: records an unclean election
/// drops are written, then lost, not "acknowledged, then lost", when their producer used
/// `acks=0`; and they are lost for every group that had not read them, while a group that had
/// read them keeps them processed.
#[test]
fn r9_acks_0_records_are_written_not_acknowledged_and_lost_for_groups_that_had_not_read_them() {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        unclean_leader_election_enable: true,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(43, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config: Default::default(),
    })
    .unwrap();
    // "payments" reads as records arrive; "audit" is created stopped and reads later.
    for name in ["payments", "audit"] {
        let mut group = quick_group(ManualCommit::AfterBatch);
        group.processing_ms = 1;
        sim.apply(Command::AddGroup {
            group_id: name.into(),
            config: group,
            topics: vec!["orders".into()],
        })
        .unwrap();
    }
    add_consumer(&mut sim, G0, None);
    sim.apply(Command::AddProducer {
        config: ProducerConfig {
            acks: Acks::Zero,
            ..ProducerConfig::default()
        },
        workload: Some(super::workload(30, 20)),
    })
    .unwrap();
    run_checked(&mut sim, 5_000);
    let (l, followers) = leader_and_followers(&sim);
    for &f in &followers {
        kill(&mut sim, f);
    }
    run_checked(&mut sim, 20_000);
    kill(&mut sim, l);
    run_checked(&mut sim, 25_000);
    restart(&mut sim, followers[0]);
    run_checked(&mut sim, 35_000);
    // The old leader returns and truncates what only it had.
    restart(&mut sim, l);
    run_checked(&mut sim, 50_000);
    assert_eq!(
        sim.ledger().acked_then_lost(),
        0,
        "acks=0: nothing was acknowledged"
    );
    let written_then_lost = sim
        .ledger()
        .producer_anomalies
        .iter()
        .filter(|a| a.kind == kafka_lab::engine::ledger::AnomalyKind::WrittenThenLost)
        .map(|a| a.count)
        .sum::<u64>();
    assert!(written_then_lost > 100, "{written_then_lost}");
    let level_acked: u64 = view::producers(&sim).iter().map(|p| p.acked).sum();
    assert_eq!(level_acked, 0);
    // payments read them before they were lost; audit, which had not, loses them.
    let audit = kafka_lab::engine::ids::GroupId(1);
    add_consumer(&mut sim, audit, None);
    run_checked(&mut sim, 80_000);
    let payments = sim.totals(G0).unwrap();
    let later = sim.totals(audit).unwrap();
    assert!(
        payments.once >= later.once + written_then_lost,
        "{payments:?} {later:?}"
    );
    assert!(later.lost >= written_then_lost, "{later:?}");
}
