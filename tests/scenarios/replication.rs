//! Brokers and replication (issue "Brokers, replication and failover"): each scenario shows
//! one behaviour of Kafka's replication, citing the Kafka source it follows
//! (`docs/replication-facts.md` has the facts with their sources).

use kafka_lab::engine::config::{Acks, ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{BrokerEvent, Event, ProducerEvent};
use kafka_lab::engine::ids::{BrokerId, NodeId, Tp};
use kafka_lab::engine::ledger::{AnomalyKind, Cause};
use kafka_lab::engine::msg::KafkaError;
use kafka_lab::engine::replication::ReplicationConfig;
use kafka_lab::engine::{Command, Sim};

use super::{add_consumer, quick_group, run_checked, workload, G0, T0};

/// A cluster of `brokers` with topic `orders` (`partitions`, replication factor `rf`), a
/// producer with `acks` at `rate` records/s and, if `consumers` > 0, group `payments`.
pub fn cluster(
    seed: u64,
    brokers: u16,
    rf: u16,
    min_isr: u16,
    acks: Acks,
    rate: u32,
    consumers: u16,
) -> Sim {
    let replication = ReplicationConfig {
        brokers,
        default_replication_factor: rf,
        min_insync_replicas: min_isr,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(seed, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config: Default::default(),
    })
    .unwrap();
    if consumers > 0 {
        sim.apply(Command::AddGroup {
            group_id: "payments".into(),
            config: quick_group(ManualCommit::AfterBatch),
            topics: vec!["orders".into()],
        })
        .unwrap();
        for _ in 0..consumers {
            add_consumer(&mut sim, G0, None);
        }
    }
    let config = ProducerConfig {
        acks,
        ..ProducerConfig::default()
    };
    sim.apply(Command::AddProducer {
        config,
        workload: Some(workload(rate, 20)),
    })
    .unwrap();
    sim
}

pub fn p0() -> Tp {
    Tp::new(T0, 0)
}

pub fn leader(sim: &Sim) -> Option<BrokerId> {
    sim.world().cluster.leader(p0())
}

/// The leader of p0 and its followers.
pub fn leader_and_followers(sim: &Sim) -> (BrokerId, Vec<BrokerId>) {
    let l = leader(sim).expect("p0 has a leader");
    let followers = sim
        .world()
        .cluster
        .replicas(p0())
        .into_iter()
        .filter(|&b| b != l)
        .collect();
    (l, followers)
}

pub fn leo(sim: &Sim, b: BrokerId) -> u64 {
    sim.world().brokers[b.index()]
        .log(p0())
        .map_or(0, |l| l.log_end_offset())
}

pub fn broker_events(sim: &Sim) -> Vec<(u64, BrokerId, BrokerEvent)> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            Event::Broker {
                at_ms,
                broker,
                event,
            } => Some((*at_ms, *broker, event.clone())),
            _ => None,
        })
        .collect()
}

pub fn kill(sim: &mut Sim, b: BrokerId) {
    sim.apply(Command::KillBroker { broker: b }).unwrap();
}

pub fn restart(sim: &mut Sim, b: BrokerId) {
    sim.apply(Command::RestartBroker { broker: b }).unwrap();
}

/// Partition.maybeIncrementLeaderHW and ReplicaFetcherThread: followers fetch the leader's
/// records, the high watermark follows the slowest in-sync replica, and consumers read
/// below it only.
#[test]
fn followers_replicate_and_consumers_read_below_the_high_watermark() {
    let mut sim = cluster(1, 3, 3, 1, Acks::All, 50, 1);
    run_checked(&mut sim, 10_000);
    let l = leader(&sim).expect("a leader");
    let replicas = sim.world().cluster.replicas(p0());
    assert_eq!(replicas.len(), 3);
    assert_eq!(
        sim.world().cluster.isr(p0()),
        replicas,
        "every replica in sync"
    );
    let leader_leo = leo(&sim, l);
    assert!(leader_leo > 300, "records were produced: {leader_leo}");
    for &b in &replicas {
        // Each follower is at most a fetch behind.
        assert!(
            leader_leo - leo(&sim, b) <= 5,
            "broker {} at {}",
            b.0,
            leo(&sim, b)
        );
    }
    let hw = sim.world().log(p0()).unwrap().high_watermark();
    assert!(
        hw <= leader_leo && leader_leo - hw <= 5,
        "hw {hw} leo {leader_leo}"
    );
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.duplicate + t.lost, 0, "{t:?}");
    assert!(t.once > 300, "{t:?}");
}

/// Replica placement spreads leaders round-robin over the brokers
/// (`StripedReplicaPlacer`: partition k starts one broker further round the ring).
#[test]
fn leaders_are_spread_over_the_brokers() {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 2,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(5, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 6,
        config: Default::default(),
    })
    .unwrap();
    let mut led = [0; 3];
    for p in 0..6 {
        let tp = Tp::new(T0, p);
        let replicas = sim.world().cluster.replicas(tp);
        assert_eq!(replicas.len(), 2);
        assert_ne!(replicas[0], replicas[1]);
        led[sim.world().cluster.leader(tp).unwrap().index()] += 1;
    }
    assert_eq!(led, [2, 2, 2]);
}

/// With `acks=1` the leader answers after its own append (ReplicaManager: no
/// DelayedProduce unless acks = -1). Kill it before its followers fetch: the controller
/// elects a follower (clean: from the ISR), which lacks what it acknowledged. The election
/// deletes nothing; the records are gone when the old leader comes back and truncates them.
#[test]
fn acks_1_loses_an_acknowledged_record_when_the_leader_dies_before_a_follower_fetched() {
    let mut sim = cluster(2, 3, 3, 1, Acks::One, 200, 0);
    run_checked(&mut sim, 5_000);
    // Hold the followers' links so the leader gets ahead, with acks already sent.
    let (old, _) = hold_followers(&mut sim);
    run_checked(&mut sim, 5_500);
    let acked_before = acked(&sim);
    kill(&mut sim, old);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 20_000);
    let new = leader(&sim).expect("a new leader");
    assert_ne!(new, old);
    let unclean = broker_events(&sim)
        .into_iter()
        .find_map(|(_, _, e)| match e {
            BrokerEvent::LeaderElected { unclean, .. } => Some(unclean),
            _ => None,
        })
        .expect("an election");
    assert_eq!(unclean, Some(false), "a clean election");
    assert!(
        super::replication::stray_records(&sim, old, new) > 0,
        "the old leader held records the new one lacks"
    );
    assert!(acked_before > 0);
    assert_eq!(
        sim.ledger().acked_then_lost(),
        0,
        "an election deletes nothing"
    );
    restart(&mut sim, old);
    run_checked(&mut sim, 40_000);
    let summary = sim.ledger().acked_then_lost();
    assert!(summary > 0, "acknowledged records were lost: {summary}");
}

/// The records `old`'s log holds from where it parts from `new`'s.
pub fn stray_records(sim: &Sim, old: BrokerId, new: BrokerId) -> u64 {
    let log = |b: BrokerId| sim.world().brokers[b.index()].log(p0()).unwrap();
    let from = log(old).divergence(log(new));
    log(old).log_end_offset() - from
}

pub fn acked(sim: &Sim) -> usize {
    sim.events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Producer {
                    event: ProducerEvent::Acked { .. },
                    ..
                }
            )
        })
        .count()
}

/// Holds every message from the current leader to its followers (their fetches get no
/// answer), so the leader runs ahead of them.
pub fn hold_followers(sim: &mut Sim) -> (BrokerId, Vec<BrokerId>) {
    let (l, followers) = leader_and_followers(sim);
    sim.apply(Command::NetHold {
        a: vec![NodeId::Broker(l)],
        b: followers.iter().map(|&b| NodeId::Broker(b)).collect(),
    })
    .unwrap();
    (l, followers)
}

fn rejected(sim: &Sim, error: KafkaError) -> usize {
    sim.events()
        .iter()
        .filter(|e| {
            matches!(e, Event::Producer { event: ProducerEvent::Rejected { error: x, .. }, .. } if *x == error)
        })
        .count()
}

/// DelayedProduce: with `acks=all` the leader answers only once the high watermark passes
/// the batch, so the same failure as above loses nothing: what the producer was told is
/// written is on a follower, and the controller elects a follower from the ISR.
#[test]
fn acks_all_with_min_insync_2_and_rf_3_loses_nothing_when_the_leader_dies() {
    let mut sim = cluster(2, 3, 3, 2, Acks::All, 40, 1);
    run_checked(&mut sim, 5_000);
    let (old, _) = hold_followers(&mut sim);
    run_checked(&mut sim, 5_500);
    kill(&mut sim, old);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 30_000);
    let new = leader(&sim).expect("a new leader");
    assert_ne!(new, old);
    assert_eq!(sim.ledger().acked_then_lost(), 0);
    // Writes went on after the failover, and the group read every acknowledged record.
    sim.apply(Command::SetWorkload {
        producer: kafka_lab::engine::ids::ProducerId(0),
        workload: None,
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.lost, 0, "{t:?}");
    assert_eq!(t.pending, 0, "{t:?}");
    // The idempotent producer's retries after the failover were recognised by the new
    // leader (it rebuilt the producer state from what it replicated): no second copies.
    assert_eq!(t.duplicate, 0, "{t:?}");
    assert_eq!(sim.ledger().log_duplicates, 0);
    assert!(leo(&sim, new) > 1_100, "writes resumed: {}", leo(&sim, new));
}

/// Partition.appendRecordsToLeader: `acks=all` below `min.insync.replicas` writes nothing
/// and answers NOT_ENOUGH_REPLICAS, which the producer retries; a follower that comes
/// back and catches up rejoins the ISR (maybeExpandIsr) and writes resume.
#[test]
fn with_two_replicas_down_writes_stop_with_not_enough_replicas_and_resume_after_a_restart() {
    let mut sim = cluster(3, 3, 3, 2, Acks::All, 50, 0);
    run_checked(&mut sim, 3_000);
    let (l, followers) = leader_and_followers(&sim);
    for &f in &followers {
        kill(&mut sim, f);
    }
    // The controller fences them after broker.session.timeout.ms (9 s).
    run_checked(&mut sim, 15_000);
    assert_eq!(sim.world().cluster.isr(p0()), vec![l]);
    // The requests already waiting for the followers time out after request.timeout.ms
    // (30 s: the client gives up as the broker does, and closes the connection); their
    // retries are refused before the append.
    run_checked(&mut sim, 36_000);
    let closed = sim.events().iter().any(|e| {
        matches!(
            e,
            Event::Producer {
                event: ProducerEvent::ConnectionClosed { .. },
                ..
            }
        )
    });
    assert!(closed || rejected(&sim, KafkaError::RequestTimedOut) > 0);
    let stalled_at = leo(&sim, l);
    run_checked(&mut sim, 45_000);
    assert_eq!(
        leo(&sim, l),
        stalled_at,
        "nothing is written below min.insync.replicas"
    );
    assert!(rejected(&sim, KafkaError::NotEnoughReplicas) > 0);
    restart(&mut sim, followers[0]);
    run_checked(&mut sim, 60_000);
    assert_eq!(
        sim.world().cluster.isr(p0()).len(),
        2,
        "the restarted follower rejoined"
    );
    assert!(leo(&sim, l) > stalled_at + 100, "writes resumed");
    assert_eq!(sim.ledger().acked_then_lost(), 0);
}

/// `unclean.leader.election.enable=true` lets an out-of-sync replica lead when no ISR
/// member is alive (PartitionChangeBuilder): what it lacks is lost, and the ledger names
/// the records and the election.
#[test]
fn an_unclean_election_loses_records_and_the_ledger_names_them() {
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        unclean_leader_election_enable: true,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(4, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 1,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddProducer {
        config: ProducerConfig {
            acks: Acks::One,
            ..ProducerConfig::default()
        },
        workload: Some(workload(50, 20)),
    })
    .unwrap();
    run_checked(&mut sim, 3_000);
    let (l, followers) = leader_and_followers(&sim);
    for &f in &followers {
        kill(&mut sim, f);
    }
    run_checked(&mut sim, 20_000); // fenced: the ISR is the leader alone; it keeps writing
    kill(&mut sim, l);
    run_checked(&mut sim, 30_000); // the last ISR member is fenced: offline, no unclean pick
    assert_eq!(leader(&sim), None);
    restart(&mut sim, followers[0]);
    run_checked(&mut sim, 35_000);
    assert_eq!(
        leader(&sim),
        Some(followers[0]),
        "an out-of-sync replica leads"
    );
    assert!(
        broker_events(&sim).into_iter().any(|(_, _, e)| matches!(
            e,
            BrokerEvent::LeaderElected {
                unclean: Some(true),
                ..
            }
        )),
        "an unclean election"
    );
    let lost = stray_records(&sim, l, followers[0]);
    assert!(lost > 500, "about 17 s of records: {lost}");
    // They are gone when the old leader comes back and truncates them.
    restart(&mut sim, l);
    run_checked(&mut sim, 50_000);
    assert_eq!(sim.ledger().acked_then_lost(), lost);
    let anomaly = sim
        .ledger()
        .producer_anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::AckedThenLost)
        .expect("an acknowledged-then-lost anomaly");
    assert!(anomaly
        .causes
        .iter()
        .any(|c| matches!(c, Cause::LeaderFailover { unclean: true, .. })));
}

/// KIP-101/KIP-279 (KIP-320's diverging epoch): the old leader comes back as a follower,
/// finds that its last epoch ends earlier on the new leader, truncates the records only it
/// had, and then copies the new leader's log.
#[test]
fn a_returning_replica_truncates_to_the_leader_epoch_end_and_catches_up() {
    let mut sim = cluster(2, 3, 3, 1, Acks::One, 200, 0);
    run_checked(&mut sim, 5_000);
    let (old, _) = hold_followers(&mut sim);
    run_checked(&mut sim, 5_500);
    kill(&mut sim, old);
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 20_000);
    let new = leader(&sim).unwrap();
    let lost: Vec<u32> = {
        let log = |b: BrokerId| sim.world().brokers[b.index()].log(p0()).unwrap();
        let from = log(old).divergence(log(new));
        log(old)
            .range(from, log(old).log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect()
    };
    assert!(!lost.is_empty());
    restart(&mut sim, old);
    run_checked(&mut sim, 25_000);
    let truncated = broker_events(&sim)
        .into_iter()
        .find_map(|(_, b, e)| match e {
            BrokerEvent::Truncated { records, .. } if b == old => Some(records),
            _ => None,
        })
        .expect("the old leader truncated");
    assert_eq!(truncated, lost, "it dropped exactly what the election lost");
    // Now it mirrors the new leader, record for record.
    let ids = |b: BrokerId| -> Vec<u32> {
        let log = sim.world().brokers[b.index()].log(p0()).unwrap();
        log.range(0, log.high_watermark())
            .map(|(_, r)| r.record_id)
            .collect()
    };
    let hw = sim.world().log(p0()).unwrap().high_watermark();
    assert_eq!(ids(old)[..hw as usize / 2], ids(new)[..hw as usize / 2]);
    assert!(
        sim.world().cluster.isr(p0()).contains(&old),
        "back in the ISR"
    );
}

/// Partition.maybeShrinkIsr / maybeExpandIsr: a follower that has not caught up for
/// `replica.lag.time.max.ms` (30 s; checked every 15 s) leaves the ISR, and rejoins once it
/// reaches the high watermark again.
#[test]
fn a_slow_follower_leaves_the_isr_and_rejoins_when_it_catches_up() {
    let mut sim = cluster(6, 3, 3, 1, Acks::All, 50, 0);
    run_checked(&mut sim, 3_000);
    let l = leader(&sim).unwrap();
    let slow = sim
        .world()
        .cluster
        .replicas(p0())
        .into_iter()
        .find(|&b| b != l)
        .unwrap();
    sim.apply(Command::NetHold {
        a: vec![NodeId::Broker(l)],
        b: vec![NodeId::Broker(slow)],
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    let isr = sim.world().cluster.isr(p0());
    assert!(!isr.contains(&slow), "out after 30-45 s: {isr:?}");
    assert_eq!(isr.len(), 2);
    let shrunk_at = broker_events(&sim)
        .into_iter()
        .find_map(|(t, _, e)| match e {
            BrokerEvent::IsrChanged { to, .. } if !to.contains(&slow) => Some(t),
            _ => None,
        })
        .unwrap();
    assert!(
        (33_000..=48_001).contains(&shrunk_at),
        "shrunk at {shrunk_at}"
    );
    sim.apply(Command::NetHeal).unwrap();
    run_checked(&mut sim, 65_000);
    assert!(sim.world().cluster.isr(p0()).contains(&slow), "rejoined");
}

/// FetchIsolation HIGH_WATERMARK: a record the leader holds but its followers do not yet
/// is written and not readable.
#[test]
fn a_record_above_the_high_watermark_is_written_but_not_readable() {
    let mut sim = cluster(7, 3, 3, 1, Acks::One, 50, 1);
    run_checked(&mut sim, 8_000);
    let (l, _) = hold_followers(&mut sim);
    run_checked(&mut sim, 10_000);
    let log = sim.world().brokers[l.index()].log(p0()).unwrap();
    let (hw, end) = (log.high_watermark(), log.log_end_offset());
    assert!(end >= hw + 50, "the leader ran ahead: hw {hw} leo {end}");
    let c1 = &super::consumer(&sim, G0, super::c(1));
    let position = c1.positions().get(&p0()).copied().unwrap_or(0);
    assert!(
        position <= hw,
        "the consumer stays below the high watermark: {position} > {hw}"
    );
}

/// ReplicaFetcherThread appends through `UnifiedLog.appendAsFollower`, which updates the
/// producer state like a leader's append: after a failover, the new leader recognises an
/// idempotent producer's retry of a batch it already replicated (its acknowledgement died
/// with the old leader) and answers DUPLICATE_SEQUENCE_NUMBER instead of writing it twice.
#[test]
fn a_new_leader_recognises_a_retried_batch_it_already_replicated() {
    let mut sim = cluster(8, 3, 3, 2, Acks::All, 40, 0);
    run_checked(&mut sim, 5_000);
    let l = leader(&sim).unwrap();
    // The leader's answer to the producer is lost after the followers replicated the
    // batch and the high watermark passed it; then the leader dies.
    sim.apply(Command::InjectProduceFault {
        producer: kafka_lab::engine::ids::ProducerId(0),
        fault: kafka_lab::engine::producer::ProduceFault::LostAck,
    })
    .unwrap();
    run_checked(&mut sim, 5_300);
    kill(&mut sim, l);
    run_checked(&mut sim, 30_000);
    assert_ne!(leader(&sim), Some(l));
    assert_eq!(
        sim.ledger().log_duplicates,
        0,
        "no second copies in the log"
    );
    let dropped = sim.events().iter().any(|e| {
        matches!(
            e,
            Event::Producer {
                event: ProducerEvent::DuplicateBatchDropped { .. },
                ..
            }
        )
    });
    assert!(
        dropped,
        "the new leader dropped the retried batches as duplicates"
    );
}

/// One run of the fault-then-quiet schedule: `seed` picks single-broker faults (kill,
/// restart, cut off from everyone, slowed by held links) every 2 to 6 s for 60 s, then
/// everything heals and the run goes quiet for 60 s. Returns the acknowledged records that
/// are not in their partition's leader log at the end, after checking on every step that
/// no leader's high watermark moved back within its epoch and that every record a group
/// processed was acknowledged or still in flight.
fn fault_run(seed: u64, acks: Acks) -> usize {
    use kafka_lab::engine::record::ProduceStatus;
    use kafka_lab::engine::rng::Rng;
    use std::collections::BTreeMap;
    let replication = ReplicationConfig {
        brokers: 3,
        default_replication_factor: 3,
        min_insync_replicas: 2,
        ..ReplicationConfig::default()
    };
    let mut sim = Sim::with_replication(seed, replication);
    sim.apply(Command::CreateTopic {
        name: "orders".into(),
        partitions: 3,
        config: Default::default(),
    })
    .unwrap();
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: quick_group(ManualCommit::AfterBatch),
        topics: vec!["orders".into()],
    })
    .unwrap();
    add_consumer(&mut sim, G0, None);
    add_consumer(&mut sim, G0, None);
    sim.apply(Command::AddProducer {
        config: ProducerConfig {
            acks,
            ..ProducerConfig::default()
        },
        workload: Some(workload(40, 20)),
    })
    .unwrap();
    let mut rng = Rng::new(seed ^ 0xfa17);
    let all: Vec<NodeId> = (0..3)
        .map(|b| NodeId::Broker(BrokerId(b)))
        .chain([NodeId::Producer(kafka_lab::engine::ids::ProducerId(0))])
        .chain((1..=2).map(|m| {
            NodeId::Consumer(kafka_lab::engine::ids::ConsumerRef {
                group: G0,
                member: super::c(m),
            })
        }))
        .collect();
    let mut high_watermarks: BTreeMap<(u16, u32, u32), u64> = BTreeMap::new();
    let mut faulted: Option<(BrokerId, bool)> = None; // (broker, killed)
    let mut t = 2_000;
    let mut next_fault = 2_000;
    while t < 120_000 {
        t += 100;
        if t >= next_fault && t < 60_000 {
            next_fault = t + 2_000 + rng.below(4_000);
            match faulted.take() {
                Some((b, true)) => restart(&mut sim, b),
                // A cut-off or slowed broker is healed, or killed as it is.
                Some((b, false)) => {
                    if rng.below(2) == 0 {
                        sim.apply(Command::NetHeal).unwrap();
                    } else {
                        kill(&mut sim, b);
                        sim.apply(Command::NetHeal).unwrap();
                        faulted = Some((b, true));
                        // Down long enough, now and then, for the controller to fence it.
                        next_fault += rng.below(2) * 9_000;
                    }
                }
                None => {
                    let b = BrokerId(rng.below(3) as u16);
                    let others: Vec<NodeId> = all
                        .iter()
                        .copied()
                        .filter(|n| *n != NodeId::Broker(b))
                        .collect();
                    let brokers: Vec<NodeId> = others
                        .iter()
                        .copied()
                        .filter(|n| matches!(n, NodeId::Broker(_)))
                        .collect();
                    let killed = match rng.below(3) {
                        0 => {
                            kill(&mut sim, b);
                            next_fault += rng.below(2) * 9_000;
                            true
                        }
                        1 => {
                            // Cut off from everyone.
                            sim.apply(Command::NetPartition {
                                a: vec![NodeId::Broker(b)],
                                b: others,
                            })
                            .unwrap();
                            false
                        }
                        _ => {
                            // Slow: its links to the other brokers hold their messages
                            // (clients still reach it).
                            sim.apply(Command::NetHold {
                                a: vec![NodeId::Broker(b)],
                                b: brokers,
                            })
                            .unwrap();
                            false
                        }
                    };
                    faulted = Some((b, killed));
                }
            }
        }
        if t == 60_000 {
            // The quiet phase: heal everything, then the producer stops at 90 s.
            if let Some((b, true)) = faulted.take() {
                restart(&mut sim, b);
            }
            sim.apply(Command::NetHeal).unwrap();
        }
        if t == 90_000 {
            sim.apply(Command::SetWorkload {
                producer: kafka_lab::engine::ids::ProducerId(0),
                workload: None,
            })
            .unwrap();
        }
        run_checked(&mut sim, t);
        for (b, broker) in sim.world().brokers.iter().enumerate() {
            for p in 0..3 {
                let tp = Tp::new(T0, p);
                let Some((state, _)) = broker.hosted(tp) else {
                    continue;
                };
                if !broker.alive() || state.leader != Some(BrokerId(b as u16)) {
                    continue;
                }
                let hw = broker.log(tp).unwrap().high_watermark();
                let key = (b as u16, p, state.leader_epoch);
                let before = high_watermarks.insert(key, hw).unwrap_or(0);
                assert!(
                    hw >= before,
                    "seed {seed}: broker {b} p{p} hw {before} -> {hw}"
                );
            }
        }
    }
    // Every record a group processed was acknowledged or is still in flight.
    let ledger = sim.ledger();
    let g = &ledger.groups[0];
    for id in 0..ledger.produced() as u32 {
        let info = ledger.records.get(id as usize).unwrap();
        let seen = matches!(
            g.outcome(id),
            kafka_lab::engine::ledger::Outcome::Once
                | kafka_lab::engine::ledger::Outcome::Duplicate
        );
        if seen {
            assert!(
                matches!(info.status, ProduceStatus::Acked | ProduceStatus::InFlight),
                "seed {seed}: record {id} was processed with status {:?}",
                info.status
            );
        }
    }
    // Acknowledged records missing from their leader's log.
    let mut missing = 0;
    for p in 0..3 {
        let tp = Tp::new(T0, p);
        let log = sim.world().log(tp).unwrap();
        let present: std::collections::BTreeSet<u32> = log
            .range(0, log.log_end_offset())
            .map(|(_, r)| r.record_id)
            .collect();
        missing += (0..ledger.produced() as u32)
            .filter(|&id| {
                let info = ledger.records.get(id as usize).unwrap();
                info.tp() == tp && info.status == ProduceStatus::Acked && !present.contains(&id)
            })
            .count();
    }
    assert_eq!(
        missing as u64,
        ledger.acked_then_lost(),
        "seed {seed}: the ledger counts exactly the acknowledged records missing from the logs"
    );
    missing
}

/// In the spirit of a Jepsen or VOPR run: many seeds of random single-broker faults with
/// `acks=all`, `min.insync.replicas=2`, RF 3 and clean elections never lose an
/// acknowledged record; the same schedules with `acks=1` do, which shows the check can
/// fail.
#[test]
fn random_single_broker_faults_lose_no_acknowledged_record_with_acks_all() {
    let seeds = 0..12u64;
    for seed in seeds.clone() {
        assert_eq!(
            fault_run(seed, Acks::All),
            0,
            "seed {seed} lost acknowledged records"
        );
    }
    let losing = seeds.clone().find(|&seed| fault_run(seed, Acks::One) > 0);
    assert!(losing.is_some(), "acks=1 under the same faults loses some");
}

/// GroupCoordinatorService: a group's coordinator is the leader of its `__consumer_offsets`
/// partition. When that broker dies, the controller moves the partition's leadership, the
/// new leader loads the group (members, generation, committed offsets), and the consumers
/// find it (FindCoordinator after their requests fail) and carry on without losing their
/// committed offsets.
#[test]
fn the_coordinator_moves_with_its_offsets_partition_and_the_group_recovers() {
    let mut sim = cluster(9, 3, 3, 1, Acks::All, 20, 2);
    run_checked(&mut sim, 15_000);
    let group = G0;
    let before = sim
        .world()
        .cluster
        .coordinator(group)
        .expect("a coordinator");
    let committed_before: u64 = super::coordinator_group(&sim, group)
        .committed()
        .values()
        .map(|c| c.offset)
        .sum();
    assert!(
        committed_before > 0,
        "the group committed before the failure"
    );
    kill(&mut sim, before);
    run_checked(&mut sim, 60_000);
    let after = sim
        .world()
        .cluster
        .coordinator(group)
        .expect("a new coordinator");
    assert_ne!(after, before);
    let moved = broker_events(&sim).into_iter().any(
        |(_, _, e)| matches!(e, BrokerEvent::CoordinatorMoved { to: Some(t), .. } if t == after),
    );
    assert!(moved, "the group's coordinator moved");
    // The new coordinator holds the group, its offsets went on from where they were, and
    // both consumers are still members, reading.
    let g = super::coordinator_group(&sim, group);
    assert_eq!(g.state(), kafka_lab::engine::event::GroupState::Stable);
    let committed_after: u64 = g.committed().values().map(|c| c.offset).sum();
    assert!(
        committed_after > committed_before,
        "{committed_before} -> {committed_after}"
    );
    assert_eq!(g.members().len(), 2);
    let t = sim.totals(G0).unwrap();
    assert_eq!(t.lost, 0, "{t:?}");
    assert!(sim.world().coordinators[after.index()]
        .group(group)
        .is_some());
}
