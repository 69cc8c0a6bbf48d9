//! Property tests. Random command sequences (picked from live members, with faults,
//! producers, poison records, static members, workload changes and network faults drawn
//! independently) keep every invariant after every step and replay to the same trace; and
//! commands built from the whole value range never panic: each is applied or refused.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use kafka_lab::engine::config::{GroupConfig, ManualCommit, ProducerConfig};
use kafka_lab::engine::ids::{GroupId, MemberId, NodeId, ProducerId, TopicId};
use kafka_lab::engine::producer::{KeySpace, ProduceFault, Workload};
use kafka_lab::engine::{invariants, Command, SeekTo, Sim};

use super::quick_group;

/// Fixed, so a CI failure reproduces; the failing input (seed included) is printed.
const PROPTEST_SEED: u64 = 0x6b61_666b_616c_6162;

#[derive(Clone, Debug)]
enum Op {
    AddConsumer {
        group: u8,
        instance: Option<u8>,
    },
    Crash {
        group: u8,
        pick: u8,
    },
    Close {
        group: u8,
        pick: u8,
    },
    Restart {
        group: u8,
        pick: u8,
    },
    Slow {
        group: u8,
        pick: u8,
        ms: Option<u16>,
    },
    Fault {
        producer: u8,
        lost_request: bool,
    },
    Send {
        producer: u8,
        key: u8,
        poison: bool,
    },
    Workload {
        producer: u8,
        rate: Option<u16>,
        hot: bool,
    },
    AddPartitions,
    Seek {
        group: u8,
        pick: u8,
        to: u8,
    },
    Isolate {
        group: u8,
        pick: u8,
    },
    Heal,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..2, prop::option::of(0u8..4)).prop_map(|(group, instance)| Op::AddConsumer { group, instance }),
        3 => (0u8..2, any::<u8>()).prop_map(|(group, pick)| Op::Crash { group, pick }),
        2 => (0u8..2, any::<u8>()).prop_map(|(group, pick)| Op::Close { group, pick }),
        3 => (0u8..2, any::<u8>()).prop_map(|(group, pick)| Op::Restart { group, pick }),
        2 => (0u8..2, any::<u8>(), prop::option::of(0u16..400)).prop_map(|(group, pick, ms)| Op::Slow { group, pick, ms }),
        2 => (0u8..3, any::<bool>()).prop_map(|(producer, lost_request)| Op::Fault { producer, lost_request }),
        3 => (0u8..3, any::<u8>(), prop::bool::weighted(0.1)).prop_map(|(producer, key, poison)| Op::Send { producer, key, poison }),
        1 => (0u8..3, prop::option::of(1u16..400), any::<bool>()).prop_map(|(producer, rate, hot)| Op::Workload { producer, rate, hot }),
        1 => Just(Op::AddPartitions),
        2 => (0u8..2, any::<u8>(), 0u8..4).prop_map(|(group, pick, to)| Op::Seek { group, pick, to }),
        1 => (0u8..2, any::<u8>()).prop_map(|(group, pick)| Op::Isolate { group, pick }),
        1 => Just(Op::Heal),
    ]
}

fn commit_mode(i: u8) -> ManualCommit {
    [
        ManualCommit::Off,
        ManualCommit::BeforeProcessing,
        ManualCommit::AfterEachRecord,
        ManualCommit::AfterBatch,
    ][usize::from(i % 4)]
}

/// A consumer of the group, chosen among the existing ones (alive ones first).
fn pick(sim: &Sim, group: u8, pick: u8, alive: bool) -> Option<MemberId> {
    let g = sim.world().groups.get(usize::from(group))?;
    let candidates: Vec<MemberId> = g
        .consumers
        .iter()
        .filter(|c| c.status().alive() == alive)
        .map(|c| c.id().member)
        .collect();
    let from = if candidates.is_empty() {
        g.consumers.iter().map(|c| c.id().member).collect()
    } else {
        candidates
    };
    (!from.is_empty()).then(|| from[usize::from(pick) % from.len()])
}

fn to_command(sim: &Sim, op: &Op) -> Option<Command> {
    let group = |g: u8| GroupId(u16::from(g));
    Some(match *op {
        Op::AddConsumer { group: g, instance } => Command::AddConsumer {
            group: group(g),
            group_instance_id: instance.map(|i| format!("instance-{i}")),
        },
        Op::Crash { group: g, pick: p } => Command::CrashConsumer {
            group: group(g),
            consumer: pick(sim, g, p, true)?,
        },
        Op::Close { group: g, pick: p } => Command::CloseConsumer {
            group: group(g),
            consumer: pick(sim, g, p, true)?,
        },
        Op::Restart { group: g, pick: p } => Command::RestartConsumer {
            group: group(g),
            consumer: pick(sim, g, p, false)?,
        },
        Op::Slow {
            group: g,
            pick: p,
            ms,
        } => Command::SlowConsumer {
            group: group(g),
            consumer: pick(sim, g, p, true)?,
            processing_ms: ms.map(u64::from),
        },
        Op::Fault {
            producer,
            lost_request,
        } => Command::InjectProduceFault {
            producer: ProducerId(u16::from(producer)),
            fault: if lost_request {
                ProduceFault::LostRequest
            } else {
                ProduceFault::LostAck
            },
        },
        Op::Send {
            producer,
            key,
            poison,
        } => Command::Send {
            producer: ProducerId(u16::from(producer)),
            key: (key % 5 != 0).then(|| format!("k{key}")),
            payload_bytes: 50,
            poison,
            tombstone: false,
            topic: TopicId(0),
        },
        Op::Workload {
            producer,
            rate,
            hot,
        } => Command::SetWorkload {
            producer: ProducerId(u16::from(producer)),
            workload: rate.map(|r| Workload {
                rate_per_sec: u32::from(r),
                key_space: if hot {
                    KeySpace::HotKey {
                        prefix: "k".into(),
                        count: 20,
                        hot_percent: 50,
                    }
                } else {
                    KeySpace::Uniform {
                        prefix: "k".into(),
                        count: 20,
                    }
                },
                payload_bytes: 40,
                topic: TopicId(0),
            }),
        },
        Op::AddPartitions => Command::AddPartitions {
            total: sim.world().cluster.partition_count(TopicId(0)) + 1,
            topic: TopicId(0),
        },
        Op::Seek {
            group: g,
            pick: p,
            to,
        } => {
            let member = pick(sim, g, p, true)?;
            let c = &sim.world().groups[usize::from(g)].consumers[member.index()];
            let tp = *c.assigned().first()?;
            Command::Seek {
                group: group(g),
                consumer: member,
                partition: tp.p(),
                to: [
                    SeekTo::Beginning,
                    SeekTo::End,
                    SeekTo::Offset(3),
                    SeekTo::Timestamp(2_000),
                ][usize::from(to)],
                topic: tp.topic,
            }
        }
        Op::Isolate { group: g, pick: p } => Command::NetPartition {
            a: vec![NodeId::Consumer(kafka_lab::engine::ids::ConsumerRef {
                group: group(g),
                member: pick(sim, g, p, true)?,
            })],
            b: vec![NodeId::Broker(kafka_lab::engine::ids::BrokerId(0))],
        },
        Op::Heal => Command::NetHeal,
    })
}

/// Builds a lab from the generated shape: three producers (idempotent, plain, acks=0) and
/// two groups. Replays `ops`, one every `gap_ms`, checking invariants after every step.
/// Returns the trace hash and how many commands were refused.
fn replay(seed: u64, modes: (u8, u8), ops: &[(u16, Op)], check: bool) -> (u64, usize) {
    let mut sim = Sim::with_topic("t", 3, seed).unwrap();
    let idempotent = ProducerConfig {
        request_timeout_ms: 300,
        ..ProducerConfig::default()
    };
    let mut plain = idempotent.clone();
    plain.set("enable.idempotence", "false").unwrap();
    let mut fire_and_forget = plain.clone();
    fire_and_forget.set("acks", "0").unwrap();
    for (i, config) in [idempotent, plain, fire_and_forget].into_iter().enumerate() {
        let workload = (i < 2).then(|| Workload {
            rate_per_sec: 150,
            key_space: KeySpace::HotKey {
                prefix: "k".into(),
                count: 20,
                hot_percent: 30,
            },
            payload_bytes: 40,
            topic: TopicId(0),
        });
        sim.apply(Command::AddProducer { config, workload })
            .unwrap();
    }
    for (i, mode) in [modes.0, modes.1].into_iter().enumerate() {
        let mut config: GroupConfig = quick_group(commit_mode(mode));
        config.max_poll_interval_ms = 4_000;
        if mode >= 4 {
            config
                .set("partition.assignment.strategy", "cooperative-sticky")
                .unwrap();
        }
        sim.apply(Command::AddGroup {
            group_id: format!("g{i}"),
            config,
            topics: vec!["t".into()],
        })
        .unwrap();
        sim.apply(Command::AddConsumer {
            group: GroupId(i as u16),
            group_instance_id: None,
        })
        .unwrap();
    }
    let mut t = 0;
    let mut refused = 0;
    for (gap, op) in ops {
        t += u64::from(*gap);
        while sim.next_event_ms().is_some_and(|n| n <= t) {
            sim.step();
            if check {
                invariants::check(&sim).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            }
        }
        sim.run_until(t);
        match to_command(&sim, op) {
            Some(cmd) => {
                if sim.apply(cmd).is_err() {
                    refused += 1;
                }
            }
            None => refused += 1,
        }
    }
    sim.apply(Command::NetHeal).unwrap();
    sim.run_until(t + 20_000);
    if check {
        invariants::check_full(&sim).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    (sim.trace_hash(), refused)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_commands_keep_every_invariant(
        seed in 0u64..1_000_000,
        modes in (0u8..8, 0u8..8),
        ops in prop::collection::vec((0u16..3_000, op()), 4..16),
    ) {
        let (first, refused) = replay(seed, modes, &ops, true);
        let (second, _) = replay(seed, modes, &ops, false);
        prop_assert_eq!(first, second, "seed {}: same seed and commands must give the same trace", seed);
        prop_assert!(refused * 2 <= ops.len(), "seed {}: {} of {} commands refused", seed, refused, ops.len());
    }
}

/// Any u64 (extremes included) for a numeric setting.
fn wide() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1u64),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        Just(i32::MAX as u64),
        0u64..100_000,
        any::<u64>(),
    ]
}

fn wide_group() -> impl Strategy<Value = GroupConfig> {
    (wide(), wide(), wide(), wide(), wide(), wide()).prop_map(|(s, h, p, r, a, ms)| GroupConfig {
        session_timeout_ms: s,
        heartbeat_interval_ms: h,
        max_poll_interval_ms: p,
        max_poll_records: r as u32,
        auto_commit_interval_ms: a,
        processing_ms: ms,
        ..GroupConfig::default()
    })
}

fn wide_producer() -> impl Strategy<Value = ProducerConfig> {
    (
        wide(),
        wide(),
        wide(),
        wide(),
        wide(),
        prop::option::of(wide()),
        wide(),
    )
        .prop_map(
            |(linger, batch, inflight, backoff, timeout, delivery, retries)| ProducerConfig {
                linger_ms: linger,
                batch_size: batch as u32,
                max_in_flight_requests_per_connection: inflight as u32,
                retry_backoff_ms: backoff,
                request_timeout_ms: timeout,
                delivery_timeout_ms: delivery,
                retries: retries as u32,
                ..ProducerConfig::default()
            },
        )
}

fn wide_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        wide_group().prop_map(|config| Command::AddGroup {
            group_id: "x".into(),
            config,
            topics: vec!["t".into()]
        }),
        (wide_producer(), wide(), wide(), ".{0,300}").prop_map(
            |(config, rate, payload, prefix)| Command::AddProducer {
                config,
                workload: Some(Workload {
                    rate_per_sec: rate as u32,
                    key_space: KeySpace::Uniform {
                        prefix,
                        count: 1 + (payload % 200_000) as u32
                    },
                    payload_bytes: payload as u32,
                    topic: TopicId(0),
                }),
            }
        ),
        (any::<u16>(), any::<u16>(), prop::option::of(wide())).prop_map(|(g, c, ms)| {
            Command::SlowConsumer {
                group: GroupId(g % 2),
                consumer: MemberId(c % 3),
                processing_ms: ms,
            }
        }),
        (any::<u16>(), wide(), any::<u32>()).prop_map(|(c, offset, p)| Command::Seek {
            group: GroupId(0),
            consumer: MemberId(c % 3),
            partition: p % 5,
            to: SeekTo::Offset(offset),
            topic: TopicId(0),
        }),
        (wide(), ".{0,400}").prop_map(|(n, key)| Command::Send {
            producer: ProducerId(0),
            key: Some(key),
            payload_bytes: n as u32,
            poison: false,
            tombstone: false,
            topic: TopicId(0),
        }),
        (wide(), wide()).prop_map(|(n, t)| Command::AddPartitions {
            total: n as u32,
            topic: TopicId(t as u16)
        }),
        (".{0,300}", wide()).prop_map(|(name, n)| Command::CreateTopic {
            name,
            partitions: n as u32,
            config: Default::default()
        }),
        (wide()).prop_map(|n| Command::ProduceRandomOrders {
            count: n as u32,
            topic: TopicId(0)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED + 1),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn commands_from_the_whole_value_range_never_panic(
        commands in prop::collection::vec(wide_command(), 1..8),
    ) {
        let mut sim = Sim::with_topic("t", 3, 7).unwrap();
        sim.apply(Command::AddProducer { config: ProducerConfig::default(), workload: None }).unwrap();
        sim.apply(Command::AddGroup { group_id: "g".into(), config: quick_group(ManualCommit::AfterBatch), topics: vec!["t".into()] }).unwrap();
        sim.apply(Command::AddConsumer { group: GroupId(0), group_instance_id: None }).unwrap();
        let mut t = 0;
        for command in commands {
            // Applied or refused with a message: never a panic.
            if let Err(e) = sim.apply(command) {
                prop_assert!(!e.to_string().is_empty());
            }
            t += 200;
            sim.run_until(t);
            invariants::check(&sim).map_err(TestCaseError::fail)?;
        }
    }
}

/// A valid run as JSON, to cut and damage.
fn sample_run_json() -> String {
    let mut run =
        kafka_lab::lab::history::Session::new(kafka_lab::lab::scenario::Scenario::default());
    run.record(
        10_000,
        Command::CrashConsumer {
            group: kafka_lab::engine::ids::GroupId(0),
            consumer: kafka_lab::engine::ids::MemberId(0),
        },
    )
    .unwrap();
    run.now_ms = 20_000;
    serde_json::to_string(&run).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED + 2),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The run decoders (share links, pasted runs, files for `kafka-lab-check`) never
    /// panic, and every refusal says why: on any text, and on a valid run or link cut short
    /// or with one byte changed. A link cut short never opens as another run.
    #[test]
    fn the_run_decoder_refuses_bad_input_with_a_reason(
        text in ".{0,300}",
        cut in 0usize..4_000,
        at in 0usize..4_000,
        byte in 0u8..128,
    ) {
        use kafka_lab::lab::level::parse_run;
        if let Err(e) = parse_run(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
        use kafka_lab::lab::link;
        let levels = kafka_lab::lab::levels::all().unwrap();
        if let Err(e) = link::decode(&text, &levels) {
            prop_assert!(!e.to_string().is_empty());
        }
        let session = parse_run(&sample_run_json()).unwrap();
        let good_link = link::encode(Some(&levels[0]), &session).unwrap();
        let short_link = &good_link[..cut.min(good_link.len())];
        match link::decode(short_link, &levels) {
            Ok(shared) => prop_assert_eq!(shared.session, session.clone()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let mut link_bytes = good_link.clone().into_bytes();
        let i = at.min(link_bytes.len() - 1);
        link_bytes[i] = byte;
        if let Ok(damaged) = String::from_utf8(link_bytes) {
            if let Err(e) = link::decode(&damaged, &levels) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
        let good = sample_run_json();
        let short = &good[..cut.min(good.len())];
        match parse_run(short) {
            Ok(_) => prop_assert_eq!(short.len(), good.len(), "only the whole run parses"),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let mut bytes = good.clone().into_bytes();
        let i = at.min(bytes.len() - 1);
        bytes[i] = byte;
        if let Ok(damaged) = String::from_utf8(bytes) {
            if let Err(e) = parse_run(&damaged) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
