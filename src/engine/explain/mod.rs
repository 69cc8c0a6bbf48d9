//! Words for the ledger's typed causes: one sentence per anomaly and one line per step of
//! its chain; and, in `events.rs`, for every event. The only place that turns causes and
//! events into prose, so levels can grade on types and every sentence is written once.

use std::fmt::Write as _;

use super::config::AutoOffsetReset;
use super::event::{CrashReason, PositionSource};
use super::ids::{consumer_client_id, producer_client_id, GroupId, MemberId, Tp};
use super::ledger::{Anomaly, AnomalyKind, Cause, Stop};
use super::log::{RetentionRule, SegmentSpan};

mod events;
pub use events::{broker_event_words, event_words, state_words, step_words, tps};

/// How to name partitions (with the topic when the lab has several) and groups.
pub trait Names {
    /// `p0`, or `orders/p0`.
    fn tp(&self, tp: Tp) -> String;
    /// A group's `group.id`.
    fn group(&self, group: GroupId) -> String;
}

fn who(m: MemberId) -> String {
    consumer_client_id(m)
}

fn range(a: &Anomaly) -> String {
    if a.first_offset == a.last_offset {
        format!("offset {}", a.first_offset)
    } else {
        format!("offsets {}–{}", a.first_offset, a.last_offset)
    }
}

fn source_words(source: PositionSource, offset: u64) -> String {
    match source {
        PositionSource::Committed => format!("from the committed offset {offset}"),
        PositionSource::Reset(p) => format!(
            "from offset {offset} (auto.offset.reset={}: nothing was committed)",
            p.kafka_value()
        ),
        PositionSource::OutOfRange(p) => format!(
            "from offset {offset} (its position was out of range; auto.offset.reset={})",
            p.kafka_value()
        ),
        PositionSource::Seek => format!("from offset {offset} after a seek"),
        PositionSource::Truncation => format!(
            "from offset {offset}, where the new leader's log parts from the one it had read (a leader change, checked with OffsetsForLeaderEpoch)"
        ),
        PositionSource::Stored => format!(
            "from offset {offset}, the offset its application stored in its database with the data it wrote (dedupe=stored-offsets)"
        ),
    }
}

fn stop_words(how: Stop) -> String {
    match how {
        Stop::Crashed(CrashReason::Killed) => "crashed".into(),
        Stop::Crashed(CrashReason::Poison { tp, offset }) => {
            format!("crashed on the poison record at p{}/{offset}", tp.p())
        }
        Stop::Closed => "closed".into(),
        Stop::Failed => "stopped on an exception".into(),
        Stop::Revoked {
            generation,
            cooperative: false,
        } => format!("gave the partition up in the rebalance after generation {generation}"),
        Stop::Revoked {
            generation,
            cooperative: true,
        } => format!(
            "gave the partition up in a cooperative rebalance after generation {generation}, without a commit"
        ),
        Stop::Lost => "found it was no longer in the group and dropped its partitions".into(),
        Stop::PollTimeout => "left the group: its poll was later than max.poll.interval.ms".into(),
    }
}

/// A span of simulated time in the two largest units that are not zero: `500 ms`,
/// `12.5 s`, `10 min`, `7 d`, `1 d 6 h`.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        return if ms.is_multiple_of(1_000) {
            format!("{} s", ms / 1_000)
        } else {
            format!("{:.1} s", ms as f64 / 1_000.0)
        };
    }
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1_000, "s"),
    ];
    let mut left = ms;
    let mut parts = Vec::new();
    for (size, name) in units {
        let n = left / size;
        left %= size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, name));
        }
    }
    let shown: Vec<String> = parts
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    shown.join(" ")
}

/// A byte count in the largest binary unit it fills: `512 B`, `1 MiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, name) in units {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {name}", n / size)
            } else {
                format!("{:.1} {name}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} B")
}

fn retention_words(rule: RetentionRule, limit: i64, segment: &SegmentSpan, at_ms: u64) -> String {
    let limit = u64::try_from(limit).unwrap_or(0);
    match rule {
        RetentionRule::Time => format!(
            "its newest record was {} old, past retention.ms={limit} ({})",
            duration(at_ms.saturating_sub(segment.largest_timestamp_ms)),
            duration(limit)
        ),
        RetentionRule::Size => format!(
            "the partition held more than retention.bytes={limit} ({}); the oldest segments go first",
            bytes(limit)
        ),
        RetentionRule::LogStart => {
            "it lay below the leader's log start, which this follower took from a fetch".into()
        }
    }
}

/// The step for a leader election that moved or lost the partition's log.
fn failover_step(cause: &Cause, p: &str) -> String {
    let Cause::LeaderFailover {
        old_leader,
        new_leader,
        unclean,
        new_log_end_offset,
        ..
    } = cause
    else {
        return String::new();
    };
    match new_leader {
        Some(l) => format!(
            "the controller moved {p}'s leadership from broker {} to broker {} {}; their logs part at offset {new_log_end_offset}, so what broker {} held from there on is no longer in the partition (still on its disk)",
            old_leader.0,
            l.0,
            if *unclean {
                "from outside the ISR (unclean.leader.election.enable=true)"
            } else {
                "from the ISR (a clean election)"
            },
            old_leader.0
        ),
        None => format!(
            "leader broker {} died and no replica could take over: {p} went offline",
            old_leader.0
        ),
    }
}

/// The steps where a broker's log lost records: a truncation, a segment retention
/// deleted (which broker, which offsets, which rule), or a tombstone the cleaner removed.
fn log_step(cause: &Cause, p: &str) -> String {
    if let Cause::Truncated {
        broker, to_offset, ..
    } = cause
    {
        return format!(
            "broker {} came back as a follower and truncated its log of {p} to offset {to_offset} to match the leader's: it was the last replica holding them",
            broker.0
        );
    }
    if let Cause::TombstoneRemoved {
        broker,
        offset,
        horizon_ms,
        ..
    } = cause
    {
        return format!(
            "broker {}'s cleaner removed the tombstone at {p}/{offset}: its delete horizon (t={horizon_ms} ms, delete.retention.ms after the pass that first kept it) had passed",
            broker.0
        );
    }
    let Cause::DeletedByRetention {
        at_ms,
        broker,
        rule,
        limit,
        segment,
    } = cause
    else {
        return String::new();
    };
    format!(
        "broker {}'s retention check deleted the segment of {p} holding offsets {}–{}: {}",
        broker.0,
        segment.base_offset,
        segment.end_offset.saturating_sub(1),
        retention_words(*rule, *limit, segment, *at_ms)
    )
}

/// The sentence for records that left the log unread: truncated after a failover
/// (acknowledged or not), deleted by retention before the group read them, or a tombstone
/// the cleaner removed before the group read it.
fn log_loss_sentence(a: &Anomaly, p: &str, member: &str) -> String {
    let n = a.count;
    if a.kind == AnomalyKind::AckedThenLost {
        let unclean = a
            .causes
            .iter()
            .any(|c| matches!(c, Cause::LeaderFailover { unclean: true, .. }));
        let fix = if unclean {
            "unclean.leader.election.enable=false (the default) would have kept the partition offline instead"
        } else {
            "acks=all with min.insync.replicas=2 would have waited for a follower before saying yes"
        };
        let why = if unclean {
            "the in-sync replicas had them, but the controller elected a replica outside the ISR, and the replicas that held them truncated them"
        } else {
            "the leader acknowledged them before any follower had them, lost its leadership, and then truncated them"
        };
        return format!(
            "{n} record{} for {p} were acknowledged, then lost: {why}. {fix}.",
            if n == 1 { "" } else { "s" }
        );
    }
    if a.kind == AnomalyKind::Resurrected {
        return format!("The tombstone at {p}/{} deleted its key, but the cleaner removed it before {member} read it. The group never saw the delete, so the value it read earlier lives on in its state: a resurrected key. A reader must reach the end of a compacted topic within delete.retention.ms to see every delete.", a.first_offset);
    }
    if matches!(a.kind, AnomalyKind::WrittenThenLost) {
        return format!("{n} record{} for {p} reached a leader's log, then were lost when the last replica holding them truncated its log after a failover. Their producer was never told they were written (acks=0, or it gave up), so nobody sends them again.", if n == 1 { "" } else { "s" });
    }
    let why = a
        .causes
        .iter()
        .find_map(|c| match c {
            Cause::DeletedByRetention {
                rule: RetentionRule::Size,
                ..
            } => Some("the partition grew past retention.bytes"),
            Cause::DeletedByRetention { .. } => Some("their segment grew older than retention.ms"),
            _ => None,
        })
        .unwrap_or("their segment was deleted");
    format!("{n} record{} of {p} were deleted by retention before {member} read them: {why} while the group's position was still below them. When it came back for them, the log started later, and it went on from there. Read faster (more consumers, faster processing) or keep the log longer.", if n == 1 { "" } else { "s" })
}

/// One line per cause, for the chain.
pub fn step(cause: &Cause, names: &impl Names, tp: Tp) -> (u64, String) {
    let p = names.tp(tp);
    match cause {
        Cause::ProcessedBefore {
            member,
            generation,
            from,
            to,
            first_ms,
            last_ms,
        } => (
            *first_ms,
            format!(
                "{} processed offsets {from}–{to} of {p} in generation {generation} (t={first_ms}–{last_ms} ms)",
                who(*member)
            ),
        ),
        Cause::Stopped { at_ms, member, how } => {
            (*at_ms, format!("{} {}", who(*member), stop_words(*how)))
        }
        Cause::CommittedBeforeProcessing {
            at_ms,
            member,
            offset,
            auto,
        } => (
            *at_ms,
            format!(
                "{} committed offset {offset} of {p} ({}) before processing the records below it",
                who(*member),
                if *auto { "auto-commit" } else { "the application" }
            ),
        ),
        Cause::Resumed {
            at_ms,
            member,
            generation,
            offset,
            source,
        } => (
            *at_ms,
            format!(
                "{} read {p} in generation {generation} {}",
                who(*member),
                source_words(*source, *offset)
            ),
        ),
        Cause::CommittedPast { at_ms, offset } => (
            *at_ms,
            format!("the group's committed offset moved to {offset}: nobody will read below it"),
        ),
        c @ (Cause::ProcessingFailed { .. }
        | Cause::ErrorHandled { .. }
        | Cause::ProducerCrashed { .. }
        | Cause::DeliveryTimedOut { .. }
        | Cause::LostOnTheWire { .. }) => failure_step(c, names),
        Cause::ReorderedAfterLater { at_ms, member } => (
            *at_ms,
            format!(
                "{} processed it after a record with the same key that was produced later",
                who(*member)
            ),
        ),
        Cause::RetriedWithoutIdempotence {
            at_ms,
            first_offset,
        } => (
            *at_ms,
            format!(
                "the broker appended a retried batch again (first copy at offset {first_offset}): the acknowledgement was lost and the producer is not idempotent"
            ),
        ),
        Cause::AckedByLeaderAlone { at_ms, producer } => (
            *at_ms,
            format!(
                "{} had its success from the leader alone, before any follower fetched the records (acks=1, or acks=all with only the leader left in the ISR)",
                producer_client_id(*producer)
            ),
        ),
        Cause::LeaderFailover { at_ms, .. } => (*at_ms, failover_step(cause, &p)),
        Cause::Truncated { at_ms, .. }
        | Cause::DeletedByRetention { at_ms, .. }
        | Cause::TombstoneRemoved { at_ms, .. } => {
            (*at_ms, log_step(cause, &p))
        }
    }
}

/// The cause chain as lines, oldest first.
pub fn chain(a: &Anomaly, names: &impl Names) -> Vec<(u64, String)> {
    a.causes.iter().map(|c| step(c, names, a.tp)).collect()
}

/// A failure's step: a poison record's failures and what the application did about them,
/// or a producer's records that never reached the log.
fn failure_step(cause: &Cause, names: &impl Names) -> (u64, String) {
    match *cause {
        Cause::ProcessingFailed {
            at_ms,
            member,
            attempt,
        } => (
            at_ms,
            format!("{} failed to process it (attempt {attempt})", who(member)),
        ),
        Cause::ErrorHandled {
            at_ms,
            member,
            dead_letter: Some((dlq, at)),
        } => (
            at_ms,
            format!(
                "{} wrote it to the dead-letter topic ({}, offset {at}) and went on",
                who(member),
                names.tp(dlq)
            ),
        ),
        Cause::ErrorHandled { at_ms, member, .. } => (
            at_ms,
            format!("{} logged it, skipped it and went on", who(member)),
        ),
        Cause::ProducerCrashed { at_ms, producer } => (
            at_ms,
            format!(
                "{}'s service crashed before its client sent the batch",
                producer_client_id(producer)
            ),
        ),
        Cause::DeliveryTimedOut { at_ms, producer } => (
            at_ms,
            format!(
                "{} gave up on the batch after delivery.timeout.ms",
                producer_client_id(producer)
            ),
        ),
        Cause::LostOnTheWire { at_ms, producer } => (
            at_ms,
            format!(
                "{}'s acks=0 request was lost on the wire; the producer never knew",
                producer_client_id(producer)
            ),
        ),
        _ => (0, String::new()),
    }
}

/// A poison record's sentence: what the application did after it threw.
fn failed(a: &Anomaly, p: &str, names: &impl Names) -> String {
    let attempts = a
        .causes
        .iter()
        .filter(|c| matches!(c, Cause::ProcessingFailed { .. }))
        .count();
    let times = if attempts == 1 {
        "once".to_owned()
    } else {
        format!("{attempts} times")
    };
    let o = a.first_offset;
    let handled = a.causes.iter().find_map(|c| match c {
        Cause::ErrorHandled { dead_letter, .. } => Some(*dead_letter),
        _ => None,
    });
    match handled {
        Some(Some((dlq, at))) => format!(
            "Processing the poison record at {p}/{o} failed {times}; the application wrote it to the dead-letter topic ({}, offset {at}) with its error and went on: the partition kept moving.",
            names.tp(dlq)
        ),
        Some(None) => format!(
            "Processing the poison record at {p}/{o} failed {times}; the application logged it and skipped it: the partition kept moving, and the record is in no topic but its own."
        ),
        None if attempts > 1 => format!(
            "Processing the poison record at {p}/{o} failed {times}: retried in place, or met again by each new owner resuming from the committed offset. The exception escaped and the consumer died; the partition is stuck on it."
        ),
        None => format!(
            "Processing the poison record at {p}/{o} failed: the application threw and the consumer died."
        ),
    }
}

/// The anomaly in one sentence.
pub fn sentence(a: &Anomaly, names: &impl Names) -> String {
    let p = names.tp(a.tp);
    let records = range(a);
    let member = a.member.map(who).unwrap_or_default();
    match a.kind {
        AnomalyKind::Duplicate => duplicate(a, &p, &records, &member),
        AnomalyKind::Lost => lost(a, &p, &records),
        AnomalyKind::Skipped => {
            let how = a
                .causes
                .iter()
                .find_map(|c| match c {
                    Cause::Resumed {
                        source: PositionSource::Seek,
                        offset,
                        ..
                    } => Some(format!("a seek moved {member} to offset {offset}")),
                    Cause::Resumed {
                        source: PositionSource::Reset(AutoOffsetReset::Latest),
                        offset,
                        ..
                    } => Some(format!(
                        "{member} started at the log end (offset {offset}) because auto.offset.reset=latest and nothing was committed"
                    )),
                    Cause::Resumed { offset, .. } => {
                        Some(format!("{member} was moved to offset {offset}"))
                    }
                    _ => None,
                })
                .unwrap_or_default();
            format!("{records} of {p} were skipped by choice: {how}. Nothing failed; the group decided not to read them.")
        }
        AnomalyKind::Failed => failed(a, &p, names),
        AnomalyKind::OutOfOrder => format!(
            "{member} processed {records} of {p} after a record with the same key that was produced later: a retried batch landed behind a newer one (no idempotence, max.in.flight.requests.per.connection > 1), or the key moved to another partition."
        ),
        AnomalyKind::LogDuplicate => format!(
            "{records} of {p} are second copies: the broker appended the batch, the acknowledgement was lost, and the producer retried without idempotence."
        ),
        AnomalyKind::LostBeforeLog => {
            let why = a
                .causes
                .iter()
                .find_map(|c| match c {
                    Cause::LostOnTheWire { producer, .. } => Some(format!(
                        "{} sent them with acks=0 and the request was lost on the wire",
                        producer_client_id(*producer)
                    )),
                    Cause::DeliveryTimedOut { producer, .. } => Some(format!(
                        "{} gave up after delivery.timeout.ms without any copy reaching the broker",
                        producer_client_id(*producer)
                    )),
                    Cause::ProducerCrashed { producer, .. } => Some(format!(
                        "{}'s service crashed while they waited in its client, unsent",
                        producer_client_id(*producer)
                    )),
                    _ => None,
                })
                .unwrap_or_default();
            let n = a.count;
            format!("{n} record{} for {p} never reached the log: {why}. They are lost for every group.", if n == 1 { "" } else { "s" })
        }
        AnomalyKind::Deleted
        | AnomalyKind::WrittenThenLost
        | AnomalyKind::AckedThenLost
        | AnomalyKind::Resurrected => {
            log_loss_sentence(a, &p, &member)
        }
    }
}

fn duplicate(a: &Anomaly, p: &str, records: &str, member: &str) -> String {
    let mut s = format!("{member} processed {records} of {p} a second time");
    let seek = a.causes.iter().find_map(|c| match c {
        Cause::Resumed {
            source: PositionSource::Seek,
            offset,
            ..
        } => Some(*offset),
        _ => None,
    });
    if let Some(offset) = seek {
        let _ = write!(
            s,
            ": a seek moved it back to offset {offset}, below records already processed"
        );
        s.push('.');
        return s;
    }
    let before = a.causes.iter().find_map(|c| match c {
        Cause::ProcessedBefore {
            member,
            generation,
            last_ms,
            ..
        } => Some((*member, *generation, *last_ms)),
        _ => None,
    });
    let it = if a.count == 1 { "it" } else { "them" };
    if let Some((m, generation, last_ms)) = before {
        let _ = write!(
            s,
            ": {} had processed {it} in generation {generation} by t={last_ms} ms",
            who(m)
        );
        match a.causes.iter().find_map(|c| match c {
            Cause::Stopped { at_ms, how, .. } => Some((*at_ms, *how)),
            _ => None,
        }) {
            Some((t, how)) => {
                let _ = write!(
                    s,
                    " and then {} at t={t} ms before committing past {it}",
                    stop_words(how)
                );
            }
            None => {
                let _ = write!(s, " without committing past {it}");
            }
        }
    }
    if let Some((offset, source)) = a.causes.iter().find_map(|c| match c {
        Cause::Resumed { offset, source, .. } => Some((*offset, *source)),
        _ => None,
    }) {
        let _ = write!(s, "; {member} resumed {}", source_words(source, offset));
    }
    s.push('.');
    s
}

fn lost(a: &Anomaly, p: &str, records: &str) -> String {
    let committed_first = a.causes.iter().find_map(|c| match c {
        Cause::CommittedBeforeProcessing { member, .. } => Some(*member),
        _ => None,
    });
    let stopped = a.causes.iter().find_map(|c| match c {
        Cause::Stopped { at_ms, how, .. } => Some((*at_ms, *how)),
        _ => None,
    });
    let reset_to_end = a.causes.iter().find_map(|c| match c {
        Cause::Resumed {
            member,
            offset,
            source:
                PositionSource::Reset(AutoOffsetReset::Latest)
                | PositionSource::OutOfRange(AutoOffsetReset::Latest),
            ..
        } => Some((*member, *offset)),
        _ => None,
    });
    if let Some((m, offset)) = reset_to_end {
        let before = match stopped {
            Some((t, how)) => format!(
                "its previous owner {} at t={t} ms before committing them, and ",
                stop_words(how)
            ),
            None => String::new(),
        };
        return format!(
            "{records} of {p} were never processed: {before}{} started at the log end (offset {offset}) because auto.offset.reset=latest. The group had been reading this partition: a failure, not a choice.",
            who(m)
        );
    }
    match (committed_first, stopped) {
        (Some(m), Some((t, how))) => format!(
            "{records} of {p} were never processed: {} committed past them before processing, then {} at t={t} ms; the next owner starts from the committed offset.",
            who(m),
            stop_words(how)
        ),
        _ => format!(
            "{records} of {p} were never processed: the group committed past them at t={} ms.",
            a.at_ms
        ),
    }
}
