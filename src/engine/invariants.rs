//! The engine's invariants, checked in one place that tests, levels and debug runs share.
//! Each is stated as what must never happen; `check` names the first one broken.

use super::vecmap::VecMap;
use std::collections::BTreeMap;

use super::consumer::MemberState;
use super::event::GroupState;
use super::ids::{GroupId, Tp};
use super::sim::Sim;

/// The cheap invariants, for after every step.
///
/// # Errors
/// A description of the first invariant broken.
pub fn check(sim: &Sim) -> Result<(), String> {
    let world = sim.world();
    let ledger = sim.ledger();
    for g in &ledger.groups {
        // Never more settled records than produced (totals() asserts it), and pending
        // splits exactly into the producer's and the log's.
        let t = sim.totals(g.group).ok_or("a group without totals")?;
        let sum = t.once
            + t.duplicate
            + t.lost
            + t.skipped
            + t.failed
            + t.deleted
            + t.compacted
            + t.dead_lettered
            + t.pending;
        if sum != t.produced || t.in_producer + t.in_log != t.pending {
            return Err(format!(
                "group {} out of balance at t={}: {t:?}",
                g.group.0,
                sim.now_ms()
            ));
        }
    }
    for topic in world.cluster.topics() {
        for p in 0..topic.partitions {
            let tp = Tp::new(topic.id, p);
            let log = world.log(tp).ok_or(format!("no log for {tp:?}"))?;
            // Never a high watermark past the log end, or a log start past it.
            if log.high_watermark() > log.log_end_offset()
                || log.log_start_offset() > log.high_watermark()
            {
                return Err(format!(
                    "{tp:?}: start {} hw {} leo {}",
                    log.log_start_offset(),
                    log.high_watermark(),
                    log.log_end_offset()
                ));
            }
            for c in &world.coordinators {
                for g in world.groups.iter().filter_map(|g| c.group(g.id)) {
                    if let Some(committed) = g.committed.get(&tp) {
                        // Never a committed offset past the log end (an unclean election
                        // can shorten the log below it: Kafka's too).
                        if committed.offset > log.log_end_offset()
                            && !ledger.had_unclean_election(tp)
                        {
                            return Err(format!(
                                "{} {tp:?}: committed {} > log end {}",
                                g.name,
                                committed.offset,
                                log.log_end_offset()
                            ));
                        }
                    }
                }
            }
        }
    }
    for g in &world.groups {
        one_owner_per_generation(sim, g.id)?;
    }
    Ok(())
}

/// Never two current members of a stable generation owning the same partition: neither
/// in the coordinator's assignment nor in what the clients hold.
fn one_owner_per_generation(sim: &Sim, group: GroupId) -> Result<(), String> {
    let world = sim.world();
    let Some(coord) = world.coordinators.iter().find_map(|c| c.group(group)) else {
        return Ok(());
    };
    if coord.state != GroupState::Stable {
        return Ok(());
    }
    let mut owners: VecMap<Tp, String> = VecMap::new();
    for m in coord.members.values() {
        for tp in &m.assignment {
            if let Some(other) = owners.insert(*tp, m.member_id.clone()) {
                return Err(format!(
                    "{}: {tp:?} assigned to {other} and {}",
                    coord.name, m.member_id
                ));
            }
        }
    }
    let mut held: BTreeMap<Tp, &str> = BTreeMap::new();
    for c in &world.groups[group.index()].consumers {
        let current = c.status.alive()
            && c.member_state == MemberState::Stable
            && c.generation == coord.generation
            && coord.members.contains_key(&c.member_id);
        if !current {
            continue;
        }
        for tp in &c.assigned {
            if let Some(other) = held.insert(*tp, &c.client_id) {
                return Err(format!(
                    "{} generation {}: {tp:?} held by {other} and {}",
                    coord.name, coord.generation, c.client_id
                ));
            }
        }
    }
    Ok(())
}

/// The invariants that cost a pass over every record: now and then, and at the end.
///
/// # Errors
/// A description of the first invariant broken.
pub fn check_full(sim: &Sim) -> Result<(), String> {
    check(sim)?;
    let ledger = sim.ledger();
    for g in &ledger.groups {
        // The running totals equal an independent recount of every record.
        let running = sim.totals(g.group);
        let recount = sim.recount(g.group);
        if running != recount {
            return Err(format!(
                "group {} totals drifted at t={}: running {running:?}, recount {recount:?}",
                g.group.0,
                sim.now_ms()
            ));
        }
    }
    // An idempotent producer's records keep their send order within a partition.
    let world = sim.world();
    for topic in world.cluster.topics() {
        for p in 0..topic.partitions {
            let tp = Tp::new(topic.id, p);
            let Some(log) = world.log(tp) else { continue };
            let mut last: VecMap<u16, u32> = VecMap::new();
            for (offset, r) in log.range(log.log_start_offset(), log.log_end_offset()) {
                let Some(info) = ledger.records.get(r.record_id as usize) else {
                    return Err(format!(
                        "{tp:?} offset {offset}: unknown record {}",
                        r.record_id
                    ));
                };
                let Some(pid) = info.producer() else { continue };
                // A restarted service is a new producer (a new producer id): the order
                // holds within one session, not across the restart.
                let idempotent = world
                    .producers
                    .get(pid.index())
                    .is_some_and(|pr| pr.config.idempotence() && pr.restarts == 0);
                if !idempotent {
                    continue;
                }
                if let Some(prev) = last.insert(pid.0, r.record_id) {
                    if prev >= r.record_id {
                        return Err(format!(
                            "{tp:?} offset {offset}: record {} after {prev}",
                            r.record_id
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
