//! Where the engine must behave as Kafka does: one scenario per behaviour, each citing the
//! Kafka source it follows. Written against the engine before the fix, and failing there.

use kafka_lab::engine::config::{GroupConfig, ManualCommit, ProducerConfig};
use kafka_lab::engine::event::{
    CommitError, GroupEvent, HeartbeatResult, PositionSource, ProducerEvent, RemovalReason,
};
use kafka_lab::engine::ids::{GroupId, Tp};
use kafka_lab::engine::ledger::{AnomalyKind, Outcome};
use kafka_lab::engine::producer::{KeySpace, ProduceFault, Workload};
use kafka_lab::engine::{view, Command, SeekTo, Sim};

use super::{
    add_consumer, assigned, c, coordinator_group, group_events, lab, producer_events, quick_group,
    run_checked, G0, P0, T0,
};

fn crash(sim: &mut Sim, member: u16) {
    sim.apply(Command::CrashConsumer {
        group: G0,
        consumer: c(member),
    })
    .unwrap();
}

/// GroupMetadataManager `classicGroupHeartbeat` reschedules a member's heartbeat deadline in
/// every state, and `expireClassicGroupMemberHeartbeat` removes a member that is not
/// awaiting a join: a member that crashes during a rebalance is removed after its session
/// timeout, not after the rebalance timeout.
#[test]
fn a_member_that_crashes_during_a_rebalance_expires_after_its_session_timeout() {
    let mut sim = lab(21, 3, 12, quick_group(ManualCommit::AfterBatch), 2);
    run_checked(&mut sim, 15_000);
    sim.apply(Command::AddConsumer {
        group: GroupId(0),
        group_instance_id: None,
    })
    .unwrap();
    // Step until c2 hears REBALANCE_IN_PROGRESS, then crash it before it rejoins.
    let mut crashed_at = None;
    while crashed_at.is_none() {
        sim.step();
        let heard = group_events(&sim).iter().any(|(t, e)| {
            *t >= 15_000
                && matches!(e, GroupEvent::Heartbeat { member, result: HeartbeatResult::RebalanceInProgress } if *member == c(2))
        });
        if heard {
            crash(&mut sim, 2);
            crashed_at = Some(sim.now_ms());
        }
        assert!(sim.now_ms() < 60_000, "c2 never heard of the rebalance");
    }
    let crashed_at = crashed_at.unwrap();
    run_checked(&mut sim, crashed_at + 40_000);
    let removed = group_events(&sim).into_iter().find_map(|(t, e)| match e {
        GroupEvent::MemberRemoved { member, reason } if member == c(2) => Some((t, reason)),
        _ => None,
    });
    let (t, reason) = removed.expect("c2 is removed");
    assert_eq!(reason, RemovalReason::SessionTimeout);
    assert!(
        t <= crashed_at + 10_000 + 1_000,
        "removed at {t} ms, crashed at {crashed_at} ms with a 10 s session"
    );
}

/// StickyAssignor sends its previous assignment in its own subscription user data
/// (`StickyAssignor.subscriptionUserData`, kept by `onAssignment`) because the eager
/// protocol revokes everything before the join: survivors keep their partitions.
#[test]
fn eager_sticky_keeps_the_survivors_partitions_when_a_member_leaves() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group
        .set("partition.assignment.strategy", "sticky")
        .unwrap();
    let mut sim = lab(22, 6, 30, group, 3);
    run_checked(&mut sim, 8_000);
    let before: Vec<Vec<u32>> = (1..=2).map(|n| assigned(&sim, G0, c(n))).collect();
    assert!(before.iter().all(|a| a.len() == 2), "{before:?}");
    sim.apply(Command::CloseConsumer {
        group: GroupId(0),
        consumer: c(3),
    })
    .unwrap();
    run_checked(&mut sim, 16_000);
    for (i, old) in before.iter().enumerate() {
        let now = assigned(&sim, G0, c(i as u16 + 1));
        assert_eq!(now.len(), 3, "c{} owns {now:?}", i + 1);
        assert!(
            old.iter().all(|p| now.contains(p)),
            "c{} owned {old:?} and now owns {now:?}",
            i + 1
        );
    }
}

fn one_partition_producer(seed: u64, config: ProducerConfig) -> Sim {
    let mut sim = Sim::with_topic("orders", 1, seed).unwrap();
    sim.apply(Command::AddProducer {
        config,
        workload: None,
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

/// TransactionManager `markSequenceUnresolved`, `maybeResolveSequences` and
/// `bumpIdempotentProducerEpoch`: after a retried batch with a sequence expires, the
/// idempotent producer bumps its epoch, restarts the partition's sequences at 0, and what
/// follows is delivered (the broker accepts sequence 0 of a new epoch,
/// ProducerAppendInfo `checkSequence`).
#[test]
fn an_expired_idempotent_batch_does_not_block_its_partition() {
    let mut config = ProducerConfig::default();
    config.set("linger.ms", "0").unwrap();
    config.set("request.timeout.ms", "200").unwrap();
    // The least Kafka allows (linger.ms + request.timeout.ms): the first timeout is fatal.
    config.set("delivery.timeout.ms", "200").unwrap();
    let mut sim = one_partition_producer(23, config);
    sim.apply(Command::InjectProduceFault {
        producer: P0,
        fault: ProduceFault::LostRequest,
    })
    .unwrap();
    send(&mut sim, "first");
    sim.run_until(2_000);
    for i in 0..5 {
        send(&mut sim, &format!("later-{i}"));
        sim.run_until(2_000 + 100 * (i + 1));
    }
    sim.run_until(10_000);
    let log = sim.log(Tp::new(T0, 0)).unwrap();
    assert_eq!(
        log.log_end_offset(),
        5,
        "the five later records are delivered: {:?}",
        producer_events(&sim)
            .iter()
            .map(|(t, e)| format!("{t}: {e:?}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(sim.world().producers[0].failed_records(), 1);
    assert!(
        producer_events(&sim)
            .iter()
            .any(|(_, e)| matches!(e, ProducerEvent::EpochBumped { epoch: 1, .. })),
        "the gap is resolved by an epoch bump"
    );
    // The record that never reached the log is lost before the log.
    assert_eq!(sim.ledger().lost_before_log, 1);
}

/// NetworkClient `handleTimedOutRequests`: a request that gets no answer closes the
/// connection and fails every request in flight on it; all are retried (with
/// `retry.backoff.ms` doubling up to `retry.backoff.max.ms`, ±20 % jitter,
/// ExponentialBackoff). With idempotence the broker drops the copies it has: no
/// OUT_OF_ORDER_SEQUENCE storm, nothing failed, nothing duplicated.
#[test]
fn a_lost_response_times_out_the_connection_and_retries_what_was_in_flight() {
    let mut sim = Sim::with_topic("orders", 3, 24).unwrap();
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(Workload {
            rate_per_sec: 200,
            key_space: KeySpace::Uniform {
                prefix: "order-".into(),
                count: 12,
            },
            payload_bytes: 100,
            topic: T0,
        }),
    })
    .unwrap();
    sim.run_until(3_000);
    sim.apply(Command::InjectProduceFault {
        producer: P0,
        fault: ProduceFault::LostAck,
    })
    .unwrap();
    sim.run_until(60_000);
    sim.apply(Command::SetWorkload {
        producer: P0,
        workload: None,
    })
    .unwrap();
    sim.run_until(70_000);
    let events = producer_events(&sim);
    let out_of_order = events
        .iter()
        .filter(|(_, e)| matches!(e, ProducerEvent::OutOfOrderSequence { .. }))
        .count();
    let dropped = events
        .iter()
        .filter(|(_, e)| matches!(e, ProducerEvent::DuplicateBatchDropped { .. }))
        .count();
    let p = &sim.world().producers[0];
    assert_eq!(out_of_order, 0, "in-order retries never leave a gap");
    assert!(
        dropped >= 2,
        "every request in flight was retried: {dropped}"
    );
    assert_eq!(p.failed_records(), 0);
    assert_eq!(p.acked_records(), sim.ledger().produced());
    assert_eq!(sim.ledger().log_duplicates, 0);
}

/// AbstractCoordinator `maybeLeaveGroup` resets the generation and member id on a poll
/// timeout for static members too (they only skip LeaveGroup); the late commit then fails
/// (ConsumerCoordinator `sendOffsetCommitRequest`: CommitFailedException), the partitions
/// are lost (`onJoinPrepare` → `invokePartitionsLost`) and the records since the last commit
/// are processed again.
#[test]
fn a_static_member_past_max_poll_interval_loses_its_generation_and_reprocesses() {
    // A 10-record poll at 1 s a record takes 10 s: past max.poll.interval.ms (5 s), but
    // within session.timeout.ms (30 s), so the coordinator still has the member.
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_interval_ms = 5_000;
    group.session_timeout_ms = 30_000;
    group.max_poll_records = 10;
    let mut sim = Sim::with_topic("orders", 2, 25).unwrap();
    sim.apply(Command::AddGroup {
        group_id: "payments".into(),
        config: group,
        topics: vec!["orders".into()],
    })
    .unwrap();
    for id in ["a", "b"] {
        sim.apply(Command::AddConsumer {
            group: GroupId(0),
            group_instance_id: Some(id.into()),
        })
        .unwrap();
    }
    sim.apply(Command::AddProducer {
        config: ProducerConfig::default(),
        workload: Some(Workload {
            rate_per_sec: 200,
            key_space: KeySpace::Uniform {
                prefix: "order-".into(),
                count: 50,
            },
            payload_bytes: 100,
            topic: T0,
        }),
    })
    .unwrap();
    run_checked(&mut sim, 10_000);
    let generation = coordinator_group(&sim, G0).generation();
    sim.apply(Command::SlowConsumer {
        group: GroupId(0),
        consumer: c(1),
        processing_ms: Some(1_000),
    })
    .unwrap();
    run_checked(&mut sim, 20_000);
    // Back to normal speed once the slow batch is done.
    sim.apply(Command::SlowConsumer {
        group: GroupId(0),
        consumer: c(1),
        processing_ms: None,
    })
    .unwrap();
    run_checked(&mut sim, 40_000);
    sim.apply(Command::SetWorkload {
        producer: P0,
        workload: None,
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    let rejected = group_events(&sim).iter().any(|(_, e)| {
        matches!(e, GroupEvent::CommitRejected { member, error: CommitError::CommitFailed, .. } if *member == c(1))
    });
    assert!(rejected, "c1's commit after the poll timeout fails");
    assert_eq!(
        coordinator_group(&sim, G0).generation(),
        generation,
        "a static member rejoining a stable group does not rebalance"
    );
    let t = sim.totals(GroupId(0)).unwrap();
    assert!(
        t.duplicate > 0,
        "records since the last commit run again: {t:?}"
    );
}

/// GroupMetadataManager `tryCompleteInitialRebalanceElseSchedule`: when the initial delay
/// ends and a new member joined during it, another delay-sized window starts. Two
/// consumers starting together form generation 1 at about 6 s; one alone at about 3 s.
#[test]
fn two_consumers_starting_together_form_generation_one_after_two_initial_delays() {
    let formed_at = |consumers: u16| {
        let mut sim = lab(26, 3, 12, quick_group(ManualCommit::AfterBatch), consumers);
        run_checked(&mut sim, 12_000);
        group_events(&sim)
            .into_iter()
            .find_map(|(t, e)| {
                matches!(e, GroupEvent::JoinComplete { generation: 1, .. }).then_some(t)
            })
            .expect("generation 1 forms")
    };
    let one = formed_at(1);
    let two = formed_at(2);
    assert!((3_000..3_100).contains(&one), "one consumer: {one} ms");
    assert!((6_000..6_100).contains(&two), "two consumers: {two} ms");
}

/// RecordAccumulator `append`/`partitionChanged` and BuiltInPartitioner
/// `updatePartitionInfo`: when every batch of the sticky partition is already sent, the
/// switch check runs before the next append and fires once `batch.size` bytes were
/// produced, counting each new batch's header. At 10 records/s with `linger.ms=5` every
/// record opens its own batch of 61 + 118 bytes, so the switch comes after 6 records with
/// `batch.size=1000` (not after 2 × `batch.size`).
#[test]
fn uniform_sticky_switches_after_batch_size_bytes_when_batches_leave_between_records() {
    let mut config = ProducerConfig::default();
    config.set("batch.size", "1000").unwrap();
    let mut sim = Sim::with_topic("orders", 4, 27).unwrap();
    sim.apply(Command::AddProducer {
        config,
        workload: Some(Workload {
            rate_per_sec: 10,
            key_space: KeySpace::Null,
            payload_bytes: 110,
            topic: T0,
        }),
    })
    .unwrap();
    sim.run_until(30_000);
    let partitions: Vec<u32> = sim.ledger().records.iter().map(|r| r.tp().p()).collect();
    assert!(partitions.len() >= 200);
    // Runs of one partition: every completed run is a multiple of 6 records (a new sticky
    // partition may be drawn equal to the old one).
    let mut runs = Vec::new();
    let mut len = 1;
    for w in partitions.windows(2) {
        if w[0] == w[1] {
            len += 1;
        } else {
            runs.push(len);
            len = 1;
        }
    }
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r % 6 == 0),
        "sticky runs {runs:?} are not multiples of 6 records"
    );
}

/// ProducerConfig `postProcessAndValidateIdempotenceConfigs` (4.0, KAFKA-17927) and
/// KafkaProducer `configureDeliveryTimeout`: Kafka 4.x refuses these with ConfigException.
#[test]
fn configs_that_kafka_4_rejects_are_refused_with_its_message() {
    let mut p = ProducerConfig::default();
    let err = p
        .set("max.in.flight.requests.per.connection", "6")
        .expect_err("more than 5 in flight with idempotence on");
    assert!(
        err.to_string().contains("at most 5"),
        "the message says why: {err}"
    );
    let mut q = ProducerConfig::default();
    let err = q
        .set("delivery.timeout.ms", "1000")
        .and_then(|()| q.set("request.timeout.ms", "2000"))
        .expect_err("delivery.timeout.ms below linger.ms + request.timeout.ms");
    assert!(err.to_string().contains("linger.ms"), "{err}");
}

/// AbstractCoordinator.HeartbeatThread checks `pollTimeoutExpired` on every loop, waiting at
/// most `retry.backoff.ms` (100 ms) in between, so the poll timeout is noticed within about
/// 100 ms; the partitions are reported lost at the next poll (ConsumerCoordinator
/// `onJoinPrepare`), not revoked when the member leaves.
#[test]
fn the_poll_timeout_is_noticed_within_retry_backoff_and_partitions_are_lost_at_the_next_poll() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_interval_ms = 5_000;
    group.heartbeat_interval_ms = 3_000;
    let mut sim = lab(28, 2, 100, group, 2);
    run_checked(&mut sim, 8_000);
    sim.apply(Command::SlowConsumer {
        group: GroupId(0),
        consumer: c(1),
        processing_ms: Some(1_000),
    })
    .unwrap();
    run_checked(&mut sim, 30_000);
    let events = group_events(&sim);
    let left = events
        .iter()
        .find(|(_, e)| matches!(e, GroupEvent::LeaveGroup { member, .. } if *member == c(1)))
        .map(|(t, _)| *t)
        .expect("c1 left");
    let last_poll = events
        .iter()
        .filter(|(t, e)| {
            *t < left && matches!(e, GroupEvent::Polled { member, .. } if *member == c(1))
        })
        .map(|(t, _)| *t)
        .next_back()
        .expect("c1 polled before it left");
    assert!(
        left >= last_poll + 5_000 && left <= last_poll + 5_100,
        "poll at {last_poll} ms, left at {left} ms"
    );
    let revoked_at_leave = events.iter().any(|(t, e)| {
        *t == left && matches!(e, GroupEvent::Revoked { member, .. } if *member == c(1))
    });
    assert!(
        !revoked_at_leave,
        "the partitions are not revoked when c1 leaves; they are lost at its next poll"
    );
    let next = events.iter().find(|(t, e)| {
        *t > left
            && matches!(e, GroupEvent::Lost { member, .. } | GroupEvent::Polled { member, .. } if *member == c(1))
    });
    assert!(
        matches!(next, Some((_, GroupEvent::Lost { .. }))),
        "at its next poll c1 reports its partitions lost: {next:?}"
    );
}

/// ConsumerCoordinator `poll` joins without blocking the fetch, and
/// `maybeMarkPartitionsPendingRevocation` pauses fetching only under EAGER: a cooperative
/// member keeps processing what it owns while it rejoins. `onJoinComplete` revokes the
/// moved partitions without committing, so what it processed after `onJoinPrepare`'s
/// auto-commit is read again by the new owner.
#[test]
fn cooperative_members_keep_processing_while_they_rejoin() {
    let mut group = quick_group(ManualCommit::Off);
    group
        .set("partition.assignment.strategy", "cooperative-sticky")
        .unwrap();
    // Each poll returns what came in on both owned partitions, so the batch in hand during
    // the rejoin holds records of the partition that moves.
    group.processing_ms = 20;
    group.max_poll_records = 500;
    let mut sim = lab(29, 4, 80, group, 2);
    run_checked(&mut sim, 10_000);
    sim.apply(Command::AddConsumer {
        group: GroupId(0),
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 30_000);
    let events = group_events(&sim);
    let c1_join = events
        .iter()
        .find(|(t, e)| {
            *t >= 10_000 && matches!(e, GroupEvent::JoinGroup { member, .. } if *member == c(1))
        })
        .map(|(t, _)| *t)
        .expect("c1 rejoins");
    // c1 applies the new assignment at its next poll, between batches.
    let assigned_at = events
        .iter()
        .find(|(t, e)| {
            *t >= c1_join && matches!(e, GroupEvent::Assigned { member, .. } if *member == c(1))
        })
        .map(|(t, _)| *t)
        .expect("c1 takes its assignment");
    let processed_while_joining = events.iter().any(|(t, e)| {
        *t > c1_join
            && *t < assigned_at
            && matches!(e, GroupEvent::Processed { member, .. } if *member == c(1))
    });
    assert!(
        processed_while_joining,
        "c1 keeps processing between its JoinGroup ({c1_join} ms) and its new assignment ({assigned_at} ms)"
    );
    // The third consumer got its partitions in the second round, after they were revoked.
    let c3_owns = assigned(&sim, G0, c(3));
    assert_eq!(c3_owns.len(), 1, "{c3_owns:?}");
    assert_eq!(
        coordinator_group(&sim, G0).stop_the_world_ms(),
        0,
        "cooperative rebalances never stop the whole group"
    );
}

/// The other half of the same rule: a cooperative member revokes a moved partition
/// without a commit, so whatever it processed of it since `onJoinPrepare`'s auto-commit is
/// read again by the new owner. Eager members give everything up right after that commit,
/// so the same runs under eager rebalancing duplicate nothing.
#[test]
fn a_cooperative_revocation_commits_nothing_and_the_new_owner_repeats_what_followed() {
    let run = |strategy: &str, seed: u64| {
        let mut group = quick_group(ManualCommit::Off);
        group
            .set("partition.assignment.strategy", strategy)
            .unwrap();
        group.processing_ms = 20;
        group.max_poll_records = 500;
        let mut sim = lab(seed, 4, 80, group, 2);
        run_checked(&mut sim, 10_000);
        add_consumer(&mut sim, G0, None);
        run_checked(&mut sim, 40_000);
        let dups: Vec<String> = view::anomalies(&sim, G0)
            .into_iter()
            .filter(|a| a.kind == AnomalyKind::Duplicate)
            .map(|a| a.sentence)
            .collect();
        dups
    };
    let mut cooperative = Vec::new();
    for seed in 0..12 {
        assert!(
            run("range", seed).is_empty(),
            "seed {seed}: eager revokes after committing"
        );
        cooperative.extend(run("cooperative-sticky", seed));
    }
    assert!(
        !cooperative.is_empty(),
        "some cooperative run repeats records"
    );
    for sentence in &cooperative {
        assert!(sentence.contains("cooperative rebalance"), "{sentence}");
    }
}

/// CompletedFetch `drain` moves a partition to the end once its fetched records are handed
/// out (SubscriptionState `movePartitionToEnd`), so every owned partition gets its turn.
#[test]
fn fetch_rotation_does_not_starve_a_partition() {
    let mut group = quick_group(ManualCommit::AfterBatch);
    group.max_poll_records = 3;
    group.processing_ms = 7;
    let mut sim = lab(30, 3, 300, group, 1);
    run_checked(&mut sim, 60_000);
    let mut per_partition = [0u64; 3];
    for (_, e) in group_events(&sim) {
        if let GroupEvent::Processed { tp, from, to, .. } = e {
            per_partition[tp.p() as usize] += to - from;
        }
    }
    let (lo, hi) = (
        per_partition.iter().min().unwrap(),
        per_partition.iter().max().unwrap(),
    );
    assert!(
        *lo * 3 >= *hi,
        "processed per partition {per_partition:?}: one partition starves"
    );
}

/// ClassicKafkaConsumer `seek` accepts any offset; the next fetch gets OFFSET_OUT_OF_RANGE
/// and FetchCollector `handleInitializeErrors` applies `auto.offset.reset` (earliest: the
/// log start, so everything is read again).
#[test]
fn seeking_past_the_log_end_applies_auto_offset_reset() {
    let mut sim = lab(31, 1, 20, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 10_000);
    let leo = sim.log(Tp::new(T0, 0)).unwrap().log_end_offset();
    sim.apply(Command::Seek {
        group: GroupId(0),
        consumer: c(1),
        partition: 0,
        to: SeekTo::Offset(leo + 1_000),
        topic: T0,
    })
    .unwrap();
    run_checked(&mut sim, 20_000);
    let reset = group_events(&sim).into_iter().any(|(_, e)| {
        matches!(
            e,
            GroupEvent::PositionSet {
                offset: 0,
                source: PositionSource::OutOfRange(
                    kafka_lab::engine::config::AutoOffsetReset::Earliest
                ),
                ..
            }
        )
    });
    assert!(reset, "the out-of-range position resets to the log start");
    assert!(sim.totals(GroupId(0)).unwrap().duplicate > 0);
}

/// A group that starts at the log end (`auto.offset.reset=latest`) skipped the records
/// before it by choice: they are not lost.
#[test]
fn records_before_a_latest_group_are_skipped_not_lost() {
    let mut sim = lab(32, 3, 50, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 8_000);
    let mut g = quick_group(ManualCommit::AfterBatch);
    g.set("auto.offset.reset", "latest").unwrap();
    sim.apply(Command::AddGroup {
        group_id: "tail".into(),
        config: g,
        topics: vec!["orders".into()],
    })
    .unwrap();
    sim.apply(Command::AddConsumer {
        group: GroupId(1),
        group_instance_id: None,
    })
    .unwrap();
    run_checked(&mut sim, 20_000);
    let t = sim.totals(GroupId(1)).unwrap();
    assert_eq!(t.lost, 0, "skipping by choice is not a loss: {t:?}");
    assert!(t.skipped > 0, "{t:?}");
    let a = view::anomalies(&sim, GroupId(1));
    assert!(
        a.iter()
            .any(|a| a.kind == AnomalyKind::Skipped
                && a.sentence.contains("auto.offset.reset=latest"))
    );
}

/// A poison record's processing fails every time: it is never "once". Committed before
/// processing, the next owner skips it (the record itself is the loss); committed after,
/// every owner that reaches it crashes in turn, a loop the anomaly shows step by step.
/// The same with no processing time, where a consumer completes a whole batch at once.
#[test]
fn a_poison_record_is_never_processed_once() {
    for processing_ms in [50, 0] {
        poison_runs(processing_ms);
    }
}

fn poison_runs(processing_ms: u64) {
    let run = |mode: ManualCommit| {
        let mut group = quick_group(mode);
        group.processing_ms = processing_ms;
        let mut sim = lab(33, 1, 10, group, 2);
        run_checked(&mut sim, 8_000);
        sim.apply(Command::Send {
            producer: P0,
            key: Some("poison".into()),
            payload_bytes: 10,
            poison: true,
            tombstone: false,
            topic: T0,
        })
        .unwrap();
        let poison_id = sim.ledger().produced() as u32 - 1;
        run_checked(&mut sim, 60_000);
        assert_eq!(
            sim.ledger().outcome(G0, poison_id),
            Outcome::Failed,
            "{mode:?}: a record whose processing crashed the consumer was not processed once"
        );
        let failed = view::anomalies(&sim, G0)
            .into_iter()
            .find(|a| a.kind == AnomalyKind::Failed)
            .expect("a failed anomaly");
        assert!(failed.sentence.contains("poison"), "{}", failed.sentence);
        // No processed run covers the poison record; every crash names its offset.
        let poison_offset = failed.first_offset;
        for (_, e) in group_events(&sim) {
            match e {
                GroupEvent::Processed { from, to, .. } => {
                    assert!(!(from..to).contains(&poison_offset), "{mode:?}: {e:?}");
                }
                GroupEvent::ProcessingFailed { offset, .. } => {
                    assert_eq!(offset, poison_offset, "{mode:?}");
                }
                _ => {}
            }
        }
        failed.chain.len()
    };
    assert_eq!(
        run(ManualCommit::BeforeProcessing),
        1,
        "the next owner starts past it"
    );
    assert_eq!(
        run(ManualCommit::AfterBatch),
        2,
        "both consumers crash on it in turn"
    );
}

/// `acks=0`: the producer never hears back, so nothing counts as acknowledged.
#[test]
fn acks_zero_records_are_sent_not_acknowledged() {
    let mut config = ProducerConfig::default();
    config.set("acks", "0").unwrap();
    let mut sim = one_partition_producer(34, config);
    for i in 0..5 {
        send(&mut sim, &format!("k{i}"));
    }
    sim.run_until(1_000);
    let p = &view::producers(&sim)[0];
    assert_eq!((p.acked, p.sent_no_ack), (0, 5));
}

/// A record an `acks=0` producer sent and the log never got is lost before the log, for
/// every group: it is not pending forever.
#[test]
fn a_record_lost_on_the_wire_with_acks_zero_is_lost_for_every_group() {
    let mut config = ProducerConfig::default();
    config.set("acks", "0").unwrap();
    config.set("linger.ms", "0").unwrap();
    let mut sim = Sim::with_topic("orders", 1, 35).unwrap();
    for name in ["a", "b"] {
        sim.apply(Command::AddGroup {
            group_id: name.into(),
            config: quick_group(ManualCommit::AfterBatch),
            topics: vec!["orders".into()],
        })
        .unwrap();
    }
    sim.apply(Command::AddProducer {
        config,
        workload: None,
    })
    .unwrap();
    sim.apply(Command::InjectProduceFault {
        producer: P0,
        fault: ProduceFault::LostRequest,
    })
    .unwrap();
    send(&mut sim, "gone");
    sim.run_until(5_000);
    for g in 0..2 {
        let t = sim.totals(GroupId(g)).unwrap();
        assert_eq!((t.lost, t.pending), (1, 0), "group {g}: {t:?}");
    }
}

/// Every numeric setting has a range, checked on every path (commands, sessions, the UI):
/// extreme values are refused with a message, never a panic or an overflow.
#[test]
fn extreme_values_are_refused_not_overflowed() {
    let mut sim = Sim::with_topic("orders", 1, 36).unwrap();
    let config = GroupConfig {
        max_poll_interval_ms: u64::MAX,
        ..GroupConfig::default()
    };
    assert!(sim
        .apply(Command::AddGroup {
            group_id: "g".into(),
            config,
            topics: vec!["orders".into()],
        })
        .is_err());
    let long_prefix = "p".repeat(300);
    assert!(sim
        .apply(Command::AddProducer {
            config: ProducerConfig::default(),
            workload: Some(Workload {
                rate_per_sec: 1,
                key_space: KeySpace::Uniform {
                    prefix: long_prefix,
                    count: 2,
                },
                payload_bytes: 1,
                topic: T0,
            }),
        })
        .is_err());
}

/// A seek back is a cause of its own: the duplicates it makes are explained by the seek,
/// not by a crash or a missing commit (KafkaConsumer `seek` moves the position; the
/// records before it are simply fetched again).
#[test]
fn a_duplicate_after_a_seek_back_is_explained_by_the_seek() {
    let mut sim = lab(33, 1, 20, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 10_000);
    let committed = view::lane(&sim, Tp::new(T0, 0), G0, 0, None).committed;
    assert!(
        committed.is_some_and(|c| c > 5),
        "c1 committed first: {committed:?}"
    );
    sim.apply(Command::Seek {
        group: G0,
        consumer: c(1),
        partition: 0,
        to: SeekTo::Beginning,
        topic: T0,
    })
    .unwrap();
    run_checked(&mut sim, 15_000);
    let anomalies = view::anomalies(&sim, G0);
    let dup = anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Duplicate)
        .expect("the seek repeats records");
    assert!(dup.sentence.contains("seek"), "{}", dup.sentence);
    assert!(
        !dup.sentence.contains("without committing"),
        "offsets had been committed: {}",
        dup.sentence
    );
}

/// The read model shows each record's partition reason as it was chosen when it was
/// sent (RoundRobinPartitioner here), not a murmur2 recomputed from the key.
#[test]
fn the_lane_shows_the_reason_stored_when_the_record_was_sent() {
    let mut sim = Sim::with_topic("orders", 3, 34).unwrap();
    let mut config = ProducerConfig::default();
    config
        .set(
            "partitioner.class",
            "org.apache.kafka.clients.producer.RoundRobinPartitioner",
        )
        .unwrap();
    sim.apply(Command::AddProducer {
        config,
        workload: Some(super::workload(20, 50)),
    })
    .unwrap();
    run_checked(&mut sim, 3_000);
    let lane = view::lane(&sim, Tp::new(T0, 1), G0, 5, None);
    assert!(!lane.cells.is_empty());
    for cell in &lane.cells {
        assert_eq!(
            cell.reason,
            kafka_lab::engine::event::PartitionReason::RoundRobin,
            "offset {}",
            cell.offset
        );
    }
}

/// `offsetsForTimes` then `seek`: the position becomes the first offset whose record was
/// produced at or after the time (ListOffsets with a timestamp); a time past every record
/// seeks to the end, where the application's `null` check sends it.
#[test]
fn a_seek_by_time_lands_on_the_first_record_at_or_after_it() {
    let mut sim = lab(35, 1, 20, quick_group(ManualCommit::AfterBatch), 1);
    run_checked(&mut sim, 10_000);
    let tp = Tp::new(T0, 0);
    let expected = sim
        .log(tp)
        .unwrap()
        .range(0, u64::MAX)
        .find(|(_, r)| r.timestamp_ms >= 4_000)
        .map(|(o, _)| o)
        .expect("records from 4 s on");
    assert!(expected > 0, "records before 4 s too");
    for (t_ms, want) in [(4_000, Some(expected)), (1_000_000, None)] {
        let from = sim.now_ms();
        sim.apply(Command::Seek {
            group: G0,
            consumer: c(1),
            partition: 0,
            to: SeekTo::Timestamp(t_ms),
            topic: T0,
        })
        .unwrap();
        let hw = sim.log(tp).unwrap().high_watermark();
        run_checked(&mut sim, from + 2_000);
        let set = group_events(&sim)
            .into_iter()
            .filter(|(at, _)| *at >= from)
            .find_map(|(_, e)| match e {
                GroupEvent::PositionSet {
                    offset,
                    source: PositionSource::Seek,
                    ..
                } => Some(offset),
                _ => None,
            })
            .expect("the seek set a position");
        match want {
            Some(o) => assert_eq!(set, o, "seek to {t_ms} ms"),
            // The end as the broker answered: the high watermark then (or a little later).
            None => assert!(set >= hw, "seek past every record: {set} < {hw}"),
        }
    }
}
