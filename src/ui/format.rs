//! Presentation helpers: how numbers, hashes and events are written and coloured. No
//! Kafka logic: every fact comes from the engine's read model.

use crate::engine::view::{
    consumer_client_id, producer_client_id, CrashReason, Event, GroupEvent, GroupState,
    HeartbeatResult, NetEvent, PartitionReason, PositionSource, ProducerEvent, RemovalReason, Sim,
    Tp,
};

/// A stable hue (0 to 359) for a key, derived from its hash, so a key keeps its colour.
pub fn key_hue(murmur2: i32) -> u32 {
    // Multiply to spread neighbouring hashes across the wheel.
    (crate::engine::view::to_positive(murmur2).wrapping_mul(2_654_435_761) >> 8) % 360
}

/// Virtual time as the page writes it: `12.3 s`.
pub fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The partition computation written out, e.g.
/// `murmur2("order-42") = 501153024 → 501153024 mod 3 = 0`.
pub fn computation(key: Option<&str>, reason: &PartitionReason, partition: u32) -> String {
    let positive = |h: i32| crate::engine::view::to_positive(h);
    match (key, reason) {
        (
            Some(k),
            PartitionReason::Murmur2 {
                hash,
                partition_count,
            },
        ) => {
            if *hash < 0 {
                format!(
                    "murmur2(\"{k}\") = {hash} → toPositive = {p} → {p} mod {partition_count} = {partition}",
                    p = positive(*hash)
                )
            } else {
                format!("murmur2(\"{k}\") = {hash} → {hash} mod {partition_count} = {partition}")
            }
        }
        (
            Some(k),
            PartitionReason::Crc32 {
                hash,
                partition_count,
            },
        ) => {
            format!("crc32(\"{k}\") = {hash} → {hash} mod {partition_count} = {partition}")
        }
        (_, PartitionReason::Sticky) => match key {
            Some(_) => format!("keys ignored → sticky partition {partition}"),
            None => format!("null key → sticky partition {partition}"),
        },
        (_, PartitionReason::RoundRobin) => format!("round-robin → partition {partition}"),
        (_, _) => format!("null key → partition {partition} (seeded pick)"),
    }
}

/// The short form a flying record carries: `murmur2("order-7") % 3 = 1`.
pub fn short_reason(key: Option<&str>, reason: &PartitionReason, partition: u32) -> String {
    match (key, reason) {
        (
            Some(k),
            PartitionReason::Murmur2 {
                partition_count, ..
            },
        ) => format!("murmur2(\"{k}\") % {partition_count} = {partition}"),
        (
            Some(k),
            PartitionReason::Crc32 {
                partition_count, ..
            },
        ) => format!("crc32(\"{k}\") % {partition_count} = {partition}"),
        (_, PartitionReason::Sticky) => format!("sticky → p{partition}"),
        (_, PartitionReason::RoundRobin) => format!("round-robin → p{partition}"),
        _ => format!("→ p{partition}"),
    }
}

/// A list of partitions: `p0 p2`.
pub fn tps(list: &[Tp]) -> String {
    if list.is_empty() {
        return "nothing".into();
    }
    list.iter()
        .map(|tp| format!("p{}", tp.p()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_words(sim: &Sim, group: crate::engine::view::GroupId, e: &GroupEvent) -> Option<String> {
    let c = |m| consumer_client_id(m);
    Some(match e {
        GroupEvent::StateChanged { to, generation } => format!(
            "group {}: {} (generation {generation})",
            crate::engine::view::group_name(sim, group),
            to.name()
        ),
        GroupEvent::JoinGroup { member, .. } => format!("{} sent JoinGroup", c(*member)),
        GroupEvent::JoinComplete {
            generation,
            leader,
            members,
            assignor,
            ..
        } => format!(
            "generation {generation} formed: {} members, leader {}, assignor {assignor}",
            members.len(),
            c(*leader)
        ),
        GroupEvent::SyncGroup { member, .. } => format!("{} sent SyncGroup", c(*member)),
        GroupEvent::Assigned {
            member, partitions, ..
        } => format!("{} took its assignment: {}", c(*member), tps(partitions)),
        GroupEvent::Revoked { member, partitions } => {
            format!("{} gave up {}", c(*member), tps(partitions))
        }
        GroupEvent::Lost { member, partitions } => format!(
            "{} lost {}: it was no longer in the group",
            c(*member),
            tps(partitions)
        ),
        GroupEvent::Heartbeat { member, result } => format!(
            "{} heartbeat: {}",
            c(*member),
            match result {
                HeartbeatResult::Ok => "ok",
                HeartbeatResult::RebalanceInProgress =>
                    "REBALANCE_IN_PROGRESS (rejoin at next poll)",
                HeartbeatResult::UnknownMemberId => "UNKNOWN_MEMBER_ID",
                HeartbeatResult::IllegalGeneration => "ILLEGAL_GENERATION",
                HeartbeatResult::FencedInstanceId => "FENCED_INSTANCE_ID",
            }
        ),
        GroupEvent::LeaveGroup {
            member,
            reason,
            sent,
        } => {
            if *sent {
                format!("{} sent LeaveGroup: {reason}", c(*member))
            } else {
                format!("{} (static) left without LeaveGroup: {reason}", c(*member))
            }
        }
        GroupEvent::MemberRemoved { member, reason } => format!(
            "the coordinator removed {}: {}",
            c(*member),
            match reason {
                RemovalReason::SessionTimeout => "no heartbeat within session.timeout.ms",
                RemovalReason::RebalanceTimeout => "it did not rejoin in time",
                RemovalReason::Left => "it left",
                RemovalReason::Replaced => "its group.instance.id rejoined",
            }
        ),
        GroupEvent::PositionSet {
            member,
            tp,
            offset,
            source,
        } => format!(
            "{} reads p{} from offset {offset} ({})",
            c(*member),
            tp.p(),
            match source {
                PositionSource::Committed => "the committed offset".to_owned(),
                PositionSource::Reset(p) => format!("auto.offset.reset={}", p.kafka_value()),
                PositionSource::OutOfRange(p) => {
                    format!("out of range, auto.offset.reset={}", p.kafka_value())
                }
                PositionSource::Seek => "a seek".to_owned(),
                PositionSource::Truncation => {
                    "the new leader's log parts there: truncation detected (KIP-320)".to_owned()
                }
            }
        ),
        GroupEvent::Polled { member, ranges } => {
            let n: u64 = ranges.iter().map(|(_, a, b)| b - a).sum();
            format!(
                "{} polled {n} record{}",
                c(*member),
                if n == 1 { "" } else { "s" }
            )
        }
        GroupEvent::Processed {
            member,
            tp,
            from,
            to,
            ..
        } => format!("{} processed p{} {from}–{}", c(*member), tp.p(), to - 1),
        GroupEvent::ProcessingFailed { member, tp, offset } => format!(
            "{} crashed on the poison record at p{}/{offset}",
            c(*member),
            tp.p()
        ),
        GroupEvent::Committed {
            member,
            offsets,
            auto,
        } => format!(
            "{} committed {} ({})",
            c(*member),
            offsets
                .iter()
                .map(|(tp, o)| format!("p{}→{o}", tp.p()))
                .collect::<Vec<_>>()
                .join(" "),
            if *auto { "auto-commit" } else { "commitSync" }
        ),
        GroupEvent::CommitRejected { member, error, .. } => {
            format!("{}'s commit failed: {}", c(*member), error.exception())
        }
        GroupEvent::CommitRetriable {
            member,
            error,
            retry_in_ms,
        } => format!(
            "{}'s commit failed with {error}: it tries again in {retry_in_ms} ms",
            c(*member)
        ),
        GroupEvent::RequestFailed {
            member,
            broker,
            request,
            timed_out,
        } => format!(
            "{}'s {request} to broker {} {}: sent again after a backoff",
            c(*member),
            broker.0,
            if *timed_out {
                "got no answer within request.timeout.ms"
            } else {
                "failed: the broker is unreachable"
            }
        ),
        GroupEvent::ConsumerStarted { member } => format!("{} started", c(*member)),
        GroupEvent::ConsumerCrashed { member, reason } => match reason {
            CrashReason::Killed => format!("{} crashed", c(*member)),
            CrashReason::Poison { tp, offset } => format!(
                "{} crashed on the poison record at p{}/{offset}",
                c(*member),
                tp.p()
            ),
        },
        GroupEvent::ConsumerClosed { member } => format!("{} closed", c(*member)),
        GroupEvent::ConsumerFailed { member, error } => format!("{} failed: {error}", c(*member)),
    })
}

fn producer_words(producer: crate::engine::view::ProducerId, e: &ProducerEvent) -> String {
    let p = producer_client_id(producer);
    match e {
        ProducerEvent::Sent { count, .. } => format!(
            "{p} sent {count} record{} into its accumulator",
            if *count == 1 { "" } else { "s" }
        ),
        ProducerEvent::RequestSent {
            request_id,
            batches,
            ..
        } => format!(
            "{p} sent Produce request #{request_id} ({} batch{})",
            batches.len(),
            if batches.len() == 1 { "" } else { "es" }
        ),
        ProducerEvent::Appended {
            tp,
            base_offset,
            count,
            ..
        } => format!(
            "the broker appended {count} record{} to p{} at offset {base_offset}",
            if *count == 1 { "" } else { "s" },
            tp.p()
        ),
        ProducerEvent::DuplicateBatchDropped { tp, .. } => format!(
            "the broker dropped a retried batch for p{} it already had (idempotence)",
            tp.p()
        ),
        ProducerEvent::OutOfOrderSequence { tp, .. } => format!(
            "the broker refused a batch for p{}: OUT_OF_ORDER_SEQUENCE_NUMBER",
            tp.p()
        ),
        ProducerEvent::Acked { request_id } => {
            format!("{p} got the response to request #{request_id}")
        }
        ProducerEvent::ConnectionClosed { in_flight, .. } => format!(
            "{p} lost its connection (a timeout or a broker down): {in_flight} request{} in flight will be retried",
            if *in_flight == 1 { "" } else { "s" }
        ),
        ProducerEvent::Retrying {
            tp, backoff_ms, ..
        } => format!("{p} retries a batch for p{} in {backoff_ms} ms", tp.p()),
        ProducerEvent::Expired { tp, records } => format!(
            "{p} gave up on {} record{} for p{}: delivery.timeout.ms passed",
            records.len(),
            if records.len() == 1 { "" } else { "s" },
            tp.p()
        ),
        ProducerEvent::Rejected { tp, error, .. } => format!(
            "the broker answered {} for p{}: {p} will retry the batch",
            error.name(),
            tp.p()
        ),
        ProducerEvent::EpochBumped { epoch, .. } => {
            format!("{p} bumped its producer epoch to {epoch}: sequences restart at 0")
        }
    }
}

/// One event in words.
pub fn event_words(sim: &Sim, e: &Event) -> Option<String> {
    match e {
        Event::Group { group, event, .. } => group_words(sim, *group, event),
        Event::Producer {
            producer, event, ..
        } => Some(producer_words(*producer, event)),
        Event::RecordAppended { tp, offset, .. } => Some(format!(
            "a record typed by hand landed in p{} at offset {offset}",
            tp.p()
        )),
        Event::PartitionsAdded { to, .. } => Some(format!("the topic now has {to} partitions")),
        Event::TopicCreated {
            name, partitions, ..
        } => Some(format!("topic {name} created with {partitions} partitions")),
        Event::TopicDeleted { .. } => Some("a topic was deleted".into()),
        Event::Net { event, .. } => Some(match event {
            NetEvent::Dropped { from, to, what } => {
                format!("the network lost a {what} from {from} to {to}")
            }
            NetEvent::Partitioned { .. } => "the network was cut".into(),
            NetEvent::Held { .. } => "the network holds messages".into(),
            NetEvent::Released { .. } => "held messages were released".into(),
            NetEvent::Healed => "the network healed".into(),
        }),
        Event::CommandRefused { command, error, .. } => Some(format!(
            "a recorded action ({command}) was refused: {error}"
        )),
        Event::Broker { broker, event, .. } => {
            crate::engine::view::broker_event_words(*broker, event)
        }
    }
}

/// What one step did: its most telling events, in words.
pub fn step_words(sim: &Sim, events: &[Event]) -> String {
    let ok_heartbeat = |e: &&Event| {
        matches!(
            e,
            Event::Group {
                event: GroupEvent::Heartbeat {
                    result: HeartbeatResult::Ok,
                    ..
                },
                ..
            }
        )
    };
    let telling: Vec<String> = events
        .iter()
        .filter(|e| !ok_heartbeat(e))
        .chain(events.iter().filter(ok_heartbeat))
        .filter_map(|e| event_words(sim, e))
        .take(3)
        .collect();
    if telling.is_empty() {
        format!(
            "t = {}: a timer ran; nothing visible happened",
            secs(sim.now_ms())
        )
    } else {
        format!("t = {}: {}", secs(sim.now_ms()), telling.join("; "))
    }
}

/// A group state in the words a class reads.
pub fn state_words(state: GroupState) -> &'static str {
    match state {
        GroupState::Empty => "Empty",
        GroupState::PreparingRebalance => "PreparingRebalance: members rejoin (JoinGroup)",
        GroupState::CompletingRebalance => "CompletingRebalance: the leader assigns (SyncGroup)",
        GroupState::Stable => "Stable",
        GroupState::Dead => "Dead",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computation_matches_the_issue_example() {
        let reason = PartitionReason::Murmur2 {
            hash: 501153024,
            partition_count: 3,
        };
        assert_eq!(
            computation(Some("order-42"), &reason, 0),
            "murmur2(\"order-42\") = 501153024 → 501153024 mod 3 = 0"
        );
    }

    #[test]
    fn negative_hash_shows_to_positive() {
        let reason = PartitionReason::Murmur2 {
            hash: -973932308,
            partition_count: 3,
        };
        let text = computation(Some("21"), &reason, 1);
        assert!(text.contains("toPositive = 1173551340"), "{text}");
    }

    #[test]
    fn hue_in_range() {
        for h in [i32::MIN, -1, 0, 1, i32::MAX] {
            assert!(key_hue(h) < 360);
        }
    }
}
