//! Events in words: what the narration, the step button and the event log say about each
//! event. With the causes' words beside it (`mod.rs`), the only place events become prose.

use super::Names;
use crate::engine::event::{
    BrokerEvent, CrashReason, Event, GroupEvent, GroupState, HeartbeatResult, NetEvent,
    PositionSource, ProducerEvent, RemovalReason,
};
use crate::engine::ids::{
    consumer_client_id, producer_client_id, BrokerId, GroupId, ProducerId, Tp,
};
use crate::engine::log::{RetentionRule, SegmentSpan};

/// A list of partitions: `p0 p2` (`nothing` for none).
pub fn tps(list: &[Tp]) -> String {
    if list.is_empty() {
        return "nothing".into();
    }
    list.iter()
        .map(|tp| format!("p{}", tp.p()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_words(names: &impl Names, group: GroupId, e: &GroupEvent) -> Option<String> {
    let c = |m| consumer_client_id(m);
    Some(match e {
        GroupEvent::StateChanged { to, generation } => format!(
            "group {}: {} (generation {generation})",
            names.group(group),
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
        _ => return member_words(e),
    })
}

/// A member's life in words: heartbeats, leaving, removal, start, crash, close.
fn member_words(e: &GroupEvent) -> Option<String> {
    let c = |m| consumer_client_id(m);
    Some(match e {
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
        _ => return progress_words(e),
    })
}

/// A member's progress in words: positions, polls, processing.
/// The application's table changed outside processing.
fn table_words(truncated: bool) -> &'static str {
    if truncated {
        "the application's table and its stored event ids were truncated"
    } else {
        "a buggy deploy halved every balance in the application's table"
    }
}

fn progress_words(e: &GroupEvent) -> Option<String> {
    let c = |m| consumer_client_id(m);
    Some(match e {
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
                PositionSource::Stored => "the offset stored in its database".to_owned(),
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
            "{} could not process the poison record at p{}/{offset}",
            c(*member),
            tp.p()
        ),
        GroupEvent::TableChanged { truncated } => table_words(*truncated).to_owned(),
        GroupEvent::ErrorHandled {
            member,
            tp,
            offset,
            dead_letter,
        } => match dead_letter {
            Some((dlq, at)) => format!(
                "{} wrote the poison record at p{}/{offset} to the dead-letter topic (p{}/{at}) and went on",
                c(*member),
                tp.p(),
                dlq.p()
            ),
            None => format!(
                "{} logged the poison record at p{}/{offset} and skipped it",
                c(*member),
                tp.p()
            ),
        },
        _ => return commit_words(e),
    })
}

/// A member's commits and failed requests in words.
fn commit_words(e: &GroupEvent) -> Option<String> {
    let c = |m| consumer_client_id(m);
    Some(match e {
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
        _ => return None,
    })
}

fn producer_words(producer: ProducerId, e: &ProducerEvent) -> String {
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
        ProducerEvent::Crashed { lost } => {
            let n: usize = lost.iter().map(|(_, r)| r.len()).sum();
            format!("{p}'s service crashed and restarted as a new producer: {n} unsent record(s) lost with it")
        }
    }
}

/// One event in words.
pub fn event_words(names: &impl Names, e: &Event) -> Option<String> {
    match e {
        Event::Group { group, event, .. } => group_words(names, *group, event),
        Event::Producer {
            producer, event, ..
        } => Some(producer_words(*producer, event)),
        Event::RecordAppended {
            tp, offset, reason, ..
        } => Some(format!(
            "{} landed in {} at offset {offset}",
            if *reason == crate::engine::event::PartitionReason::Explicit {
                "a dead letter"
            } else {
                "a record typed by hand"
            },
            names.tp(*tp)
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
        Event::Broker { broker, event, .. } => broker_event_words(*broker, event),
    }
}

/// What one step did: its most telling events, in words.
pub fn step_words(names: &impl Names, at: &str, events: &[Event]) -> String {
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
        .filter_map(|e| event_words(names, e))
        .take(3)
        .collect();
    if telling.is_empty() {
        format!("t = {}: a timer ran; nothing visible happened", at)
    } else {
        format!("t = {}: {}", at, telling.join("; "))
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

/// A broker event in words (`None` for the routine ones the story leaves out).
pub fn broker_event_words(broker: BrokerId, event: &BrokerEvent) -> Option<String> {
    use BrokerEvent as B;
    let b = broker.0;
    Some(match event {
        B::Killed => format!("broker {b} was killed"),
        B::Restarted => format!("broker {b} started again"),
        B::Fenced => format!("the controller fenced broker {b}: no heartbeat for broker.session.timeout.ms"),
        B::Unfenced => format!("the controller unfenced broker {b}: it caught up with the metadata and may lead and rejoin ISRs"),
        B::Registered => format!("broker {b} registered with the controller (fenced until it catches up)"),
        B::RegistrationRefused => format!("the controller refused broker {b}'s new process: its old session is still valid (DUPLICATE_BROKER_REGISTRATION)"),
        B::BecameLeader { tp, leader_epoch } => {
            format!("broker {b} now leads p{} (leader epoch {leader_epoch})", tp.p())
        }
        B::BecameFollower { .. } => return None,
        B::LeaderElected {
            tp,
            leader,
            unclean,
            preferred,
            ..
        } => match leader {
            None => format!("p{} is offline: no in-sync replica is alive to lead it", tp.p()),
            Some(l) => {
                let how = if *preferred {
                    "a preferred-leader election (auto.leader.rebalance.enable)"
                } else if *unclean == Some(true) {
                    "an unclean election (an out-of-sync replica)"
                } else {
                    "a clean election (from the ISR)"
                };
                format!("broker {} leads p{} after {how}", l.0, tp.p())
            }
        },
        B::CoordinatorMoved { to, .. } => match to {
            Some(t) => format!("the group's coordinator moved to broker {}", t.0),
            None => "the group has no coordinator until a replica of its offsets partition is back".into(),
        },
        B::IsrChanged { tp, to, .. } => format!(
            "the ISR of p{} is now {}",
            tp.p(),
            to.iter().map(|x| x.0.to_string()).collect::<Vec<_>>().join(",")
        ),
        B::Truncated {
            tp,
            to_offset,
            records,
        } => format!(
            "broker {b} truncated p{} to offset {to_offset}, dropping {} record(s) the leader does not have",
            tp.p(),
            records.len()
        ),
        B::SegmentsDeleted {
            tp,
            rule,
            segments,
            log_start_offset,
            ..
        } => segments_deleted_words(b, *tp, *rule, segments, *log_start_offset),
        B::LogCleaned(c) => log_cleaned_words(b, c),
    })
}

/// `LogCleaned` in words: why the cleaner took the log, what it read, what went.
fn log_cleaned_words(b: u16, c: &crate::engine::event::CleanedLog) -> String {
    let crate::engine::event::CleanedLog {
        tp,
        dirty,
        dirty_ratio_ppm,
        forced,
        removed,
        tombstones_removed,
        horizons,
    } = c;
    let why = if *forced {
        "a dirty record was older than max.compaction.lag.ms".to_owned()
    } else {
        format!(
            "its dirty ratio {:.2} was over min.cleanable.dirty.ratio",
            *dirty_ratio_ppm as f64 / 1e6
        )
    };
    let mut words = format!(
        "broker {b}'s cleaner compacted p{} ({why}): it read offsets {}–{} for the latest record per key and removed {removed} record(s) below {}; the rest keep their offsets",
        tp.p(),
        dirty.0,
        dirty.1.saturating_sub(1),
        dirty.1
    );
    if !tombstones_removed.is_empty() {
        words.push_str(&format!(
            "; {} tombstone(s) past their delete horizon went",
            tombstones_removed.len()
        ));
    }
    if !horizons.is_empty() {
        words.push_str(&format!(
            "; {} tombstone(s) stay until their delete horizon (delete.retention.ms from now)",
            horizons.len()
        ));
    }
    words
}

/// `SegmentsDeleted` in words: how many segments and records went, and why.
fn segments_deleted_words(
    b: u16,
    tp: Tp,
    rule: RetentionRule,
    segments: &[SegmentSpan],
    log_start_offset: u64,
) -> String {
    let records = log_start_offset - segments.first().map_or(log_start_offset, |s| s.base_offset);
    let why = match rule {
        RetentionRule::Time => "their newest record was older than retention.ms",
        RetentionRule::Size => "the log was over retention.bytes",
        RetentionRule::LogStart => "they lay below the leader's log start",
    };
    format!(
        "broker {b} deleted {} segment(s) of p{} ({records} records): {why}; the log start is now {log_start_offset}",
        segments.len(),
        tp.p()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{EventKind, PositionSource};
    use crate::engine::ids::{MemberId, TopicId};

    struct Plain;

    impl Names for Plain {
        fn tp(&self, tp: Tp) -> String {
            format!("p{}", tp.p())
        }

        fn group(&self, group: GroupId) -> String {
            format!("g{}", group.0)
        }
    }

    fn group(event: GroupEvent) -> Event {
        Event::Group {
            at_ms: 0,
            group: GroupId(0),
            event,
        }
    }

    #[test]
    fn every_kind_of_group_event_has_words_and_a_kind() {
        let tp = Tp::new(TopicId(0), 2);
        let removed = group(GroupEvent::MemberRemoved {
            member: MemberId(1),
            reason: RemovalReason::Left,
        });
        assert_eq!(
            event_words(&Plain, &removed).as_deref(),
            Some("the coordinator removed c2: it left")
        );
        let truncation = group(GroupEvent::PositionSet {
            member: MemberId(0),
            tp,
            offset: 7,
            source: PositionSource::Truncation,
        });
        assert_eq!(truncation.kind(), EventKind::TruncationDetected);
        assert!(event_words(&Plain, &truncation).is_some_and(|w| w.contains("p2")));
    }

    #[test]
    fn kinds_are_named_by_their_variants_and_read_back() {
        for kind in EventKind::all() {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind), "{kind:?}");
        }
        assert_eq!(EventKind::JoinComplete.name(), "JoinComplete");
        assert_eq!(
            EventKind::from_name("NOT_ENOUGH_REPLICAS").map(EventKind::name),
            Some("NOT_ENOUGH_REPLICAS")
        );
        assert_eq!(EventKind::from_name("joincomplete"), None);
    }
}
