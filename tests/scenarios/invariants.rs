//! Invariants that must hold after every step of any run.

use std::collections::BTreeMap;

use kafka_lab::engine::event::GroupState;
use kafka_lab::engine::group::ConsumerStatus;
use kafka_lab::engine::Sim;

/// The cheap invariants, for after every step. Panics with a description when one breaks.
pub fn check_invariants(sim: &Sim) {
    let produced = sim.ledger().produced();
    for (gi, ledger) in sim.ledger().groups.iter().enumerate() {
        // The ledger balances.
        let t = ledger.totals(produced);
        assert_eq!(
            t.produced,
            t.once + t.duplicate + t.lost + t.pending,
            "group {gi} at t={}: {t:?}",
            sim.now_ms()
        );
    }
    for g in sim.groups() {
        // Committed offsets never pass the log end.
        for (p, c) in g.committed.iter().enumerate() {
            if let Some(c) = c {
                let leo = sim.topic().partition(p as u32).unwrap().log_end_offset();
                assert!(
                    c.offset <= leo,
                    "{} p{p}: committed {} > log end {leo}",
                    g.group_id,
                    c.offset
                );
            }
        }
        // In a stable generation, each partition has at most one owner among current members.
        if g.state == GroupState::Stable {
            let mut owners: BTreeMap<u32, &str> = BTreeMap::new();
            for c in &g.consumers {
                let current = c.status == ConsumerStatus::Active
                    && c.generation == g.generation
                    && c.member_id
                        .as_ref()
                        .is_some_and(|id| g.members.contains_key(id));
                if !current {
                    continue;
                }
                for &p in &c.assigned {
                    if let Some(other) = owners.insert(p, &c.client_id) {
                        panic!(
                            "{} generation {}: p{p} owned by {other} and {}",
                            g.group_id, g.generation, c.client_id
                        );
                    }
                }
            }
        }
    }
}

/// The invariants that cost a pass over every record: run them now and then, and at the end.
pub fn check_invariants_full(sim: &Sim) {
    check_invariants(sim);
    let produced = sim.ledger().produced();
    for (gi, ledger) in sim.ledger().groups.iter().enumerate() {
        // The running totals equal a recount from scratch.
        assert_eq!(
            ledger.totals(produced),
            ledger.recount(produced),
            "group {gi} totals drifted at t={}",
            sim.now_ms()
        );
    }
    // Order within a partition: an idempotent producer's records keep their send order.
    let records = &sim.ledger().records;
    for (p, log) in sim.topic().partitions().iter().enumerate() {
        let mut last: BTreeMap<u16, u32> = BTreeMap::new();
        for (offset, r) in log.range(log.log_start_offset(), log.log_end_offset()) {
            let info = &records[r.record_id as usize];
            let idempotent = sim
                .producers()
                .get(info.producer as usize)
                .is_some_and(|pr| pr.config.idempotence());
            if !idempotent {
                continue;
            }
            if let Some(prev) = last.insert(info.producer, r.record_id) {
                assert!(
                    prev < r.record_id,
                    "p{p} offset {offset}: record {} after {prev}",
                    r.record_id
                );
            }
        }
    }
}
