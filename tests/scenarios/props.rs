//! Property tests: random command sequences, with every invariant checked after every step,
//! and determinism checked by replaying the same sequence.

use proptest::prelude::*;

use kafka_lab::engine::config::{GroupConfig, ManualCommit, ProducerConfig};
use kafka_lab::engine::producer::{KeySpace, ProduceFault, Workload};
use kafka_lab::engine::{Command, SeekTo, Sim};

use super::{check_invariants, check_invariants_full, quick_group};

#[derive(Clone, Debug)]
enum Op {
    AddConsumer(u16),
    Crash(u16, u16),
    Close(u16, u16),
    Restart(u16, u16),
    Slow(u16, u16, Option<u64>),
    Fault(bool),
    Send(u8),
    AddPartitions,
    SeekBegin(u16, u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u16..2).prop_map(Op::AddConsumer),
        (0u16..2, 0u16..4).prop_map(|(g, c)| Op::Crash(g, c)),
        (0u16..2, 0u16..4).prop_map(|(g, c)| Op::Close(g, c)),
        (0u16..2, 0u16..4).prop_map(|(g, c)| Op::Restart(g, c)),
        (0u16..2, 0u16..4, prop::option::of(0u64..400)).prop_map(|(g, c, ms)| Op::Slow(g, c, ms)),
        any::<bool>().prop_map(Op::Fault),
        any::<u8>().prop_map(Op::Send),
        Just(Op::AddPartitions),
        (0u16..2, 0u16..4).prop_map(|(g, c)| Op::SeekBegin(g, c)),
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

fn to_command(sim: &Sim, op: &Op) -> Command {
    match *op {
        Op::AddConsumer(g) => Command::AddConsumer {
            group: g,
            group_instance_id: None,
        },
        Op::Crash(g, c) => Command::CrashConsumer {
            group: g,
            consumer: c,
        },
        Op::Close(g, c) => Command::CloseConsumer {
            group: g,
            consumer: c,
        },
        Op::Restart(g, c) => Command::RestartConsumer {
            group: g,
            consumer: c,
        },
        Op::Slow(g, c, ms) => Command::SlowConsumer {
            group: g,
            consumer: c,
            processing_ms: ms,
        },
        Op::Fault(ack) => Command::InjectProduceFault {
            producer: u16::from(ack),
            fault: if ack {
                ProduceFault::LostAck
            } else {
                ProduceFault::LostRequest
            },
        },
        Op::Send(k) => Command::Send {
            producer: 0,
            key: (k % 5 != 0).then(|| format!("k{k}")),
            payload_bytes: 50,
            poison: false,
        },
        Op::AddPartitions => Command::AddPartitions {
            total: sim.topic().partition_count() + 1,
        },
        Op::SeekBegin(g, c) => {
            let partition = sim
                .groups()
                .get(g as usize)
                .and_then(|grp| grp.consumers.get(c as usize))
                .and_then(|con| con.assigned.first().copied())
                .unwrap_or(0);
            Command::Seek {
                group: g,
                consumer: c,
                partition,
                to: SeekTo::Beginning,
            }
        }
    }
}

/// Builds a lab from the generated shape and replays `ops`, one every `gap_ms`, checking
/// invariants after every step. Returns the trace hash.
fn replay(seed: u64, modes: (u8, u8), ops: &[(u16, Op)], check: bool) -> u64 {
    let mut sim = Sim::new("t", 3, seed).unwrap();
    let idempotent = ProducerConfig {
        request_timeout_ms: 300,
        ..ProducerConfig::default()
    };
    let mut plain = idempotent.clone();
    plain.set("enable.idempotence", "false").unwrap();
    for config in [idempotent, plain] {
        let workload = Workload {
            rate_per_sec: 150,
            key_space: KeySpace::HotKey {
                prefix: "k".into(),
                count: 20,
                hot_percent: 30,
            },
            payload_bytes: 40,
        };
        sim.apply(Command::AddProducer {
            config,
            workload: Some(workload),
        })
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
        })
        .unwrap();
        sim.apply(Command::AddConsumer {
            group: i as u16,
            group_instance_id: None,
        })
        .unwrap();
    }
    let mut t = 0;
    for (gap, op) in ops {
        t += u64::from(*gap);
        while sim.next_event_ms().is_some_and(|n| n <= t) {
            sim.step();
            if check {
                check_invariants(&sim);
            }
        }
        sim.run_until(t);
        let cmd = to_command(&sim, op);
        let _ = sim.apply(cmd); // invalid commands are refused with an error, never a panic
        if check {
            check_invariants(&sim);
        }
    }
    sim.run_until(t + 20_000);
    if check {
        check_invariants_full(&sim);
    }
    sim.trace_hash()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_keep_every_invariant(
        seed in 0u64..1_000,
        modes in (0u8..8, 0u8..8),
        ops in prop::collection::vec((0u16..3_000, op()), 1..14),
    ) {
        let first = replay(seed, modes, &ops, true);
        let second = replay(seed, modes, &ops, false);
        prop_assert_eq!(first, second, "same seed and commands must give the same trace");
    }
}
