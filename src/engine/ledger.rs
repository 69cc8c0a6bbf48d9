//! The delivery ledger: for every produced record, what happened to it, and for every
//! group, whether it was processed exactly once, twice or more, never, or out of order,
//! with the chain of events that caused each anomaly.
//!
//! Per record and group the ledger keeps one byte, so millions of records stay cheap.
//! Invariant, for every group at every step: produced = once + duplicate + lost + pending.

use std::fmt::Write as _;

use super::log::KeyId;

/// What the producer knows about a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProduceStatus {
    /// In the accumulator or on the wire.
    InFlight,
    /// Acknowledged by the broker.
    Acked,
    /// Sent with `acks=0`: the producer will never know.
    SentNoAck,
    /// Failed: `delivery.timeout.ms` passed.
    Failed,
}

/// The producer-side facts of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// The producer's index.
    pub producer: u16,
    /// The key, or `None` for a null key.
    pub key: Option<KeyId>,
    /// When `send()` was called.
    pub produced_ms: u64,
    /// The partition the partitioner chose.
    pub partition: u32,
    /// The offset of its first copy in the log.
    pub first_offset: Option<u64>,
    /// Copies in the log (more than one = a duplicate left by a retry).
    pub copies: u8,
    /// What the producer knows.
    pub status: ProduceStatus,
    /// A poison record crashes the consumer that processes it.
    pub poison: bool,
}

/// A record's outcome for one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Not processed yet, and not skipped.
    Pending,
    /// Processed exactly once.
    Once,
    /// Processed two or more times.
    Duplicate,
    /// Never processed, although the group committed past it.
    Lost,
}

const OUTCOME_MASK: u8 = 0b11;
const OUT_OF_ORDER: u8 = 0b100;

fn outcome_of(byte: u8) -> Outcome {
    match byte & OUTCOME_MASK {
        1 => Outcome::Once,
        2 => Outcome::Duplicate,
        3 => Outcome::Lost,
        _ => Outcome::Pending,
    }
}

fn byte_of(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Pending => 0,
        Outcome::Once => 1,
        Outcome::Duplicate => 2,
        Outcome::Lost => 3,
    }
}

/// Per-group totals. `pending` is derived: produced minus the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Totals {
    /// Records produced.
    pub produced: u64,
    /// Processed exactly once.
    pub once: u64,
    /// Processed two or more times.
    pub duplicate: u64,
    /// Skipped: committed past, never processed.
    pub lost: u64,
    /// Neither yet.
    pub pending: u64,
    /// Processed before an earlier record with the same key (a flag, not a fifth bucket).
    pub out_of_order: u64,
}

/// The kind of an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    /// Records processed again.
    Duplicate,
    /// Records skipped.
    Lost,
    /// A record processed before an earlier one with the same key.
    OutOfOrder,
    /// A retry left a second copy of a record in the log (producer side).
    LogDuplicate,
}

impl AnomalyKind {
    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::Lost => "lost",
            AnomalyKind::OutOfOrder => "out of order",
            AnomalyKind::LogDuplicate => "duplicate in log",
        }
    }
}

/// One step of an anomaly's cause chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CauseStep {
    /// When it happened.
    pub at_ms: u64,
    /// What happened, in plain words.
    pub text: String,
}

/// A run of anomalous records on one partition, with its cause.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Anomaly {
    /// What went wrong.
    pub kind: AnomalyKind,
    /// The group (`None` for producer-side anomalies).
    pub group: Option<String>,
    /// The partition.
    pub partition: u32,
    /// First offset of the run.
    pub first_offset: u64,
    /// Last offset of the run (inclusive).
    pub last_offset: u64,
    /// Records in the run.
    pub count: u64,
    /// When it was detected.
    pub at_ms: u64,
    /// The member that processed (or skipped) the records, if any.
    pub member: Option<String>,
    /// The cause, as a chain of events, oldest first.
    pub chain: Vec<CauseStep>,
    /// The cause in one sentence.
    pub explanation: String,
}

impl Anomaly {
    /// An anomaly of one record at `offset`, to be extended as neighbours join it.
    #[allow(clippy::too_many_arguments)] // each field is a distinct fact of the anomaly
    fn single(
        kind: AnomalyKind,
        group: Option<String>,
        partition: u32,
        offset: u64,
        at_ms: u64,
        member: Option<String>,
        chain: Vec<CauseStep>,
        explanation: String,
    ) -> Self {
        Anomaly {
            kind,
            group,
            partition,
            first_offset: offset,
            last_offset: offset,
            count: 1,
            at_ms,
            member,
            chain,
            explanation,
        }
    }

    /// Grows the run by the next offset, keeping the explanation's range in step.
    fn extend_to(&mut self, offset: u64) {
        let first = self.first_offset;
        self.explanation = self.explanation.replacen(
            &format!("offsets {first}–{}", self.last_offset),
            &format!("offsets {first}–{offset}"),
            1,
        );
        self.last_offset = offset;
        self.count += 1;
    }
}

/// A contiguous stretch of processing by one member on one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingRun {
    /// The member (client id shown to users).
    pub member: String,
    /// The generation it owned the partition in.
    pub generation: i32,
    /// First offset processed.
    pub from: u64,
    /// Last offset processed (inclusive).
    pub to: u64,
    /// When the first record was processed.
    pub first_ms: u64,
    /// When the last record was processed.
    pub last_ms: u64,
}

/// How a member's position on a partition was set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PositionSource {
    /// From the group's committed offset.
    Committed,
    /// `auto.offset.reset` (earliest / latest) because nothing was committed.
    Reset(&'static str),
    /// An explicit seek.
    Seek,
}

/// Something a member did that may explain an anomaly later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The member started reading a partition at an offset.
    Resumed {
        /// The partition.
        partition: u32,
        /// The offset.
        offset: u64,
        /// The generation.
        generation: i32,
        /// Why that offset.
        source: PositionSource,
        /// The log end offset at that moment.
        log_end_offset: u64,
    },
    /// The member committed an offset for a partition.
    Committed {
        /// The partition.
        partition: u32,
        /// The committed offset (next to read).
        offset: u64,
        /// Auto-commit or the application.
        auto: bool,
    },
    /// The member stopped: crash, close, removal, or losing the partition.
    Stopped {
        /// What happened, e.g. "crashed".
        what: String,
        /// Fetched records it never processed, per partition `(partition, from, to_exclusive)`.
        abandoned: Vec<(u32, u64, u64)>,
    },
    /// The member lost partitions in a rebalance.
    Revoked {
        /// The partitions.
        partitions: Vec<u32>,
        /// The generation it lost them in.
        generation: i32,
    },
}

/// A note with its time and member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberNote {
    /// When.
    pub at_ms: u64,
    /// Who (client id).
    pub member: String,
    /// What.
    pub note: Note,
}

/// One group's view of every record.
#[derive(Clone, Debug, Default)]
pub struct GroupLedger {
    /// The group id.
    pub group: String,
    state: Vec<u8>,
    totals: Totals,
    /// Per producer, per key: the highest record id processed plus one.
    last_by_key: Vec<Vec<u32>>,
    runs: Vec<Vec<ProcessingRun>>,
    lost_cursor: Vec<u64>,
    notes: Vec<MemberNote>,
    /// The group's anomalies, oldest first.
    pub anomalies: Vec<Anomaly>,
}

/// The most notes a group keeps for explanations; older ones are dropped.
const MAX_NOTES: usize = 4096;
/// The most anomalies a group keeps; counts stay exact beyond it.
pub const MAX_ANOMALIES: usize = 10_000;

impl GroupLedger {
    /// An empty ledger for `group`.
    pub fn new(group: &str) -> Self {
        GroupLedger {
            group: group.to_owned(),
            ..Default::default()
        }
    }

    /// The outcome of one record.
    pub fn outcome(&self, record_id: u32) -> Outcome {
        self.state
            .get(record_id as usize)
            .map_or(Outcome::Pending, |&b| outcome_of(b))
    }

    /// True when the record was processed out of order.
    pub fn out_of_order(&self, record_id: u32) -> bool {
        self.state
            .get(record_id as usize)
            .is_some_and(|&b| b & OUT_OF_ORDER != 0)
    }

    /// Totals for `produced` records.
    pub fn totals(&self, produced: u64) -> Totals {
        let t = self.totals;
        Totals {
            produced,
            pending: produced - t.once - t.duplicate - t.lost,
            ..t
        }
    }

    /// Counts every record's outcome from scratch (for invariant checks).
    pub fn recount(&self, produced: u64) -> Totals {
        let mut t = Totals {
            produced,
            ..Default::default()
        };
        for id in 0..produced {
            let b = self.state.get(id as usize).copied().unwrap_or(0);
            match outcome_of(b) {
                Outcome::Pending => t.pending += 1,
                Outcome::Once => t.once += 1,
                Outcome::Duplicate => t.duplicate += 1,
                Outcome::Lost => t.lost += 1,
            }
            if b & OUT_OF_ORDER != 0 {
                t.out_of_order += 1;
            }
        }
        t
    }

    fn set(&mut self, record_id: u32, outcome: Outcome) {
        let i = record_id as usize;
        if self.state.len() <= i {
            self.state.resize(i + 1, 0);
        }
        let old = outcome_of(self.state[i]);
        if old == outcome {
            return;
        }
        match old {
            Outcome::Once => self.totals.once -= 1,
            Outcome::Duplicate => self.totals.duplicate -= 1,
            Outcome::Lost => self.totals.lost -= 1,
            Outcome::Pending => {}
        }
        match outcome {
            Outcome::Once => self.totals.once += 1,
            Outcome::Duplicate => self.totals.duplicate += 1,
            Outcome::Lost => self.totals.lost += 1,
            Outcome::Pending => {}
        }
        self.state[i] = (self.state[i] & !OUTCOME_MASK) | byte_of(outcome);
    }

    /// Records a member's note (bounded; the oldest go first).
    pub fn note(&mut self, at_ms: u64, member: &str, note: Note) {
        if self.notes.len() >= MAX_NOTES {
            self.notes.drain(..MAX_NOTES / 4);
        }
        self.notes.push(MemberNote {
            at_ms,
            member: member.to_owned(),
            note,
        });
    }

    /// The notes kept, oldest first.
    pub fn notes(&self) -> &[MemberNote] {
        &self.notes
    }

    /// Records that `member` processed `record` at `offset` of `partition`. Returns the
    /// record's new outcome.
    #[allow(clippy::too_many_arguments)] // one call site, every argument a distinct fact
    pub fn processed(
        &mut self,
        at_ms: u64,
        member: &str,
        generation: i32,
        partition: u32,
        offset: u64,
        record_id: u32,
        info: &RecordInfo,
    ) -> Outcome {
        let before = self.outcome(record_id);
        let after = match before {
            Outcome::Pending | Outcome::Lost => Outcome::Once,
            Outcome::Once | Outcome::Duplicate => Outcome::Duplicate,
        };
        self.set(record_id, after);
        if after == Outcome::Duplicate {
            self.explain_duplicate(at_ms, member, generation, partition, offset);
        }
        // Order is judged on first processing; a re-run of old records is a duplicate.
        if let (Some(key), Outcome::Pending | Outcome::Lost) = (info.key, before) {
            self.check_order(
                at_ms,
                member,
                partition,
                offset,
                record_id,
                info.producer,
                key,
            );
        }
        self.extend_run(at_ms, member, generation, partition, offset);
        after
    }

    #[allow(clippy::too_many_arguments)] // private helper of `processed`
    fn check_order(
        &mut self,
        at_ms: u64,
        member: &str,
        partition: u32,
        offset: u64,
        record_id: u32,
        producer: u16,
        key: KeyId,
    ) {
        let per_producer = {
            let p = producer as usize;
            if self.last_by_key.len() <= p {
                self.last_by_key.resize_with(p + 1, Vec::new);
            }
            &mut self.last_by_key[p]
        };
        let k = key as usize;
        if per_producer.len() <= k {
            per_producer.resize(k + 1, 0);
        }
        let last = per_producer[k];
        if last > record_id + 1 {
            // A later-produced record with this key was already processed.
            let i = record_id as usize;
            if self.state[i] & OUT_OF_ORDER == 0 {
                self.state[i] |= OUT_OF_ORDER;
                self.totals.out_of_order += 1;
                let explanation = format!(
                    "{member} processed offset {offset} of p{partition} after a record with the same key that was produced later: \
                     a retried batch landed behind a newer one (no idempotence, max.in.flight.requests.per.connection > 1), \
                     or the key moved to another partition"
                );
                self.push_anomaly(Anomaly::single(
                    AnomalyKind::OutOfOrder,
                    Some(self.group.clone()),
                    partition,
                    offset,
                    at_ms,
                    Some(member.to_owned()),
                    vec![CauseStep {
                        at_ms,
                        text: explanation.clone(),
                    }],
                    explanation,
                ));
            }
        } else {
            per_producer[k] = record_id + 1;
        }
    }

    fn extend_run(
        &mut self,
        at_ms: u64,
        member: &str,
        generation: i32,
        partition: u32,
        offset: u64,
    ) {
        let p = partition as usize;
        if self.runs.len() <= p {
            self.runs.resize_with(p + 1, Vec::new);
        }
        let runs = &mut self.runs[p];
        if let Some(last) = runs.last_mut() {
            if last.member == member && last.generation == generation && last.to + 1 == offset {
                last.to = offset;
                last.last_ms = at_ms;
                return;
            }
        }
        if runs.len() >= 1024 {
            runs.drain(..256);
        }
        runs.push(ProcessingRun {
            member: member.to_owned(),
            generation,
            from: offset,
            to: offset,
            first_ms: at_ms,
            last_ms: at_ms,
        });
    }

    /// Processing runs on a partition, oldest first.
    pub fn runs(&self, partition: u32) -> &[ProcessingRun] {
        self.runs.get(partition as usize).map_or(&[], Vec::as_slice)
    }

    fn explain_duplicate(
        &mut self,
        at_ms: u64,
        member: &str,
        generation: i32,
        partition: u32,
        offset: u64,
    ) {
        // Merge into the previous anomaly when this extends it.
        if let Some(last) = self.anomalies.last_mut() {
            if last.kind == AnomalyKind::Duplicate
                && last.partition == partition
                && last.member.as_deref() == Some(member)
                && last.last_offset + 1 == offset
            {
                last.extend_to(offset);
                return;
            }
        }
        let mut chain = Vec::new();
        let prev = self
            .runs(partition)
            .iter()
            .rev()
            .find(|r| r.from <= offset && offset <= r.to)
            .cloned();
        let mut sentence =
            format!("{member} processed offsets {offset}–{offset} of p{partition} a second time");
        if let Some(r) = &prev {
            chain.push(CauseStep {
                at_ms: r.first_ms,
                text: format!(
                    "{} processed offsets {}–{} of p{partition} in generation {} (t={}–{} ms)",
                    r.member, r.from, r.to, r.generation, r.first_ms, r.last_ms
                ),
            });
            let fate = self.fate_after(&r.member, r.last_ms, partition);
            if let Some((t, text)) = &fate {
                chain.push(CauseStep {
                    at_ms: *t,
                    text: format!("{} {text}", r.member),
                });
            }
            let _ = write!(
                sentence,
                ": {} had processed it in generation {} at t={} ms",
                r.member, r.generation, r.last_ms
            );
            match fate {
                Some((t, text)) => {
                    let _ = write!(
                        sentence,
                        " and {text} at t={t} ms before committing past it"
                    );
                }
                None => sentence.push_str(" without committing past it"),
            }
        }
        if let Some((t, text)) = self.resume_of(member, partition, offset) {
            let _ = write!(sentence, "; {member} {text}");
            chain.push(CauseStep {
                at_ms: t,
                text: format!("{member} {text}"),
            });
        }
        chain.push(CauseStep {
            at_ms,
            text: format!("{member} (generation {generation}) processed offset {offset} again"),
        });
        sentence.push('.');
        self.push_anomaly(Anomaly::single(
            AnomalyKind::Duplicate,
            Some(self.group.clone()),
            partition,
            offset,
            at_ms,
            Some(member.to_owned()),
            chain,
            sentence,
        ));
    }

    /// What ended `member`'s ownership of `partition` after `after_ms`, if noted.
    fn fate_after(&self, member: &str, after_ms: u64, partition: u32) -> Option<(u64, String)> {
        self.notes.iter().find_map(|n| {
            if n.member != member || n.at_ms < after_ms {
                return None;
            }
            match &n.note {
                Note::Stopped { what, .. } => Some((n.at_ms, what.clone())),
                Note::Revoked {
                    partitions,
                    generation,
                } if partitions.contains(&partition) => Some((
                    n.at_ms,
                    format!(
                        "lost p{partition} in the rebalance to generation {}",
                        generation + 1
                    ),
                )),
                _ => None,
            }
        })
    }

    /// How `member` came to read `partition` from at or below `offset`.
    fn resume_of(&self, member: &str, partition: u32, offset: u64) -> Option<(u64, String)> {
        self.notes.iter().rev().find_map(|n| match &n.note {
            Note::Resumed {
                partition: p,
                offset: o,
                generation,
                source,
                ..
            } if n.member == member && *p == partition && *o <= offset => {
                let how = match source {
                    PositionSource::Committed => format!("from the committed offset {o}"),
                    PositionSource::Reset(policy) => {
                        format!("from offset {o} (auto.offset.reset={policy})")
                    }
                    PositionSource::Seek => format!("from offset {o} after a seek"),
                };
                Some((
                    n.at_ms,
                    format!("took p{partition} in generation {generation} and resumed {how}"),
                ))
            }
            _ => None,
        })
    }

    /// The group's committed offset for `partition` advanced to `committed`: every record
    /// below it that nobody processed and nobody still holds is lost. `log_record` maps an
    /// offset to its record id; `held` says whether a live member still holds the offset
    /// (fetched, about to process it).
    pub fn committed(
        &mut self,
        at_ms: u64,
        partition: u32,
        committed: u64,
        log_record: impl Fn(u64) -> Option<u32>,
        held: impl Fn(u64) -> bool,
    ) {
        let p = partition as usize;
        if self.lost_cursor.len() <= p {
            self.lost_cursor.resize(p + 1, 0);
        }
        let from = self.lost_cursor[p];
        if committed <= from {
            return;
        }
        self.lost_cursor[p] = committed;
        for offset in from..committed {
            if held(offset) {
                continue;
            }
            if let Some(id) = log_record(offset) {
                self.mark_lost(at_ms, partition, offset, id);
            }
        }
    }

    /// Records a member abandoned (crash) that the group had already committed past.
    pub fn abandoned(
        &mut self,
        at_ms: u64,
        partition: u32,
        offsets: std::ops::Range<u64>,
        committed: u64,
        log_record: impl Fn(u64) -> Option<u32>,
    ) {
        for offset in offsets.start..offsets.end.min(committed) {
            if let Some(id) = log_record(offset) {
                self.mark_lost(at_ms, partition, offset, id);
            }
        }
    }

    fn mark_lost(&mut self, at_ms: u64, partition: u32, offset: u64, record_id: u32) {
        if self.outcome(record_id) != Outcome::Pending {
            return;
        }
        self.set(record_id, Outcome::Lost);
        if let Some(last) = self.anomalies.last_mut() {
            if last.kind == AnomalyKind::Lost
                && last.partition == partition
                && last.last_offset + 1 == offset
            {
                last.extend_to(offset);
                return;
            }
        }
        let (chain, explanation) = self.explain_lost(at_ms, partition, offset);
        self.push_anomaly(Anomaly::single(
            AnomalyKind::Lost,
            Some(self.group.clone()),
            partition,
            offset,
            at_ms,
            None,
            chain,
            explanation,
        ));
    }

    fn explain_lost(&self, at_ms: u64, partition: u32, offset: u64) -> (Vec<CauseStep>, String) {
        let mut chain = Vec::new();
        // Skipped by auto.offset.reset=latest (or a seek past it)?
        let skipped = self.notes.iter().rev().find_map(|n| match &n.note {
            Note::Resumed {
                partition: p,
                offset: o,
                source,
                generation,
                ..
            } if *p == partition && *o > offset => Some((n, *o, source.clone(), *generation)),
            _ => None,
        });
        // Abandoned by a member that had committed before processing?
        let abandoned = self.notes.iter().rev().find_map(|n| match &n.note {
            Note::Stopped { what, abandoned } => abandoned
                .iter()
                .find(|(p, from, to)| *p == partition && *from <= offset && offset < *to)
                .map(|_| (n, what.clone())),
            _ => None,
        });
        if let Some((n, what)) = abandoned {
            let commit = self.notes.iter().rev().find(|c| {
                c.member == n.member
                    && c.at_ms <= n.at_ms
                    && matches!(&c.note, Note::Committed { partition: p, offset: o, .. } if *p == partition && *o > offset)
            });
            if let Some(c) = commit {
                if let Note::Committed {
                    offset: o, auto, ..
                } = &c.note
                {
                    let how = if *auto {
                        "auto-commit"
                    } else {
                        "the application"
                    };
                    chain.push(CauseStep {
                        at_ms: c.at_ms,
                        text: format!("{} committed offset {o} of p{partition} ({how}) before processing offset {offset}", c.member),
                    });
                }
            }
            chain.push(CauseStep {
                at_ms: n.at_ms,
                text: format!("{} {what} with offset {offset} unprocessed", n.member),
            });
            let sentence = format!(
                "offsets {offset}–{offset} of p{partition} were never processed: {} committed past them before processing, then {what} at t={} ms; the next owner starts from the committed offset.",
                n.member, n.at_ms
            );
            chain.push(CauseStep {
                at_ms,
                text: "the group's committed offset is past them: nobody will read them".into(),
            });
            return (chain, sentence);
        }
        if let Some((n, o, source, generation)) = skipped {
            let why = match source {
                PositionSource::Reset(policy) => {
                    format!("auto.offset.reset={policy} started it at offset {o}")
                }
                PositionSource::Seek => format!("a seek moved it to offset {o}"),
                PositionSource::Committed => format!("it resumed from the committed offset {o}"),
            };
            chain.push(CauseStep {
                at_ms: n.at_ms,
                text: format!(
                    "{} took p{partition} in generation {generation}; {why}",
                    n.member
                ),
            });
            chain.push(CauseStep {
                at_ms,
                text: format!("the group committed past offset {offset} without reading it"),
            });
            let sentence = format!(
                "offsets {offset}–{offset} of p{partition} were never processed: {why} for {}, so the group skipped them.",
                n.member
            );
            return (chain, sentence);
        }
        let sentence = format!(
            "offsets {offset}–{offset} of p{partition} were never processed: the group committed past them at t={at_ms} ms."
        );
        chain.push(CauseStep {
            at_ms,
            text: sentence.clone(),
        });
        (chain, sentence)
    }

    fn push_anomaly(&mut self, anomaly: Anomaly) {
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(anomaly);
        }
    }
}

/// The whole ledger: every produced record, and one [`GroupLedger`] per group.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Producer-side facts, indexed by record id.
    pub records: Vec<RecordInfo>,
    /// Per group, in creation order.
    pub groups: Vec<GroupLedger>,
    /// Producer-side anomalies (duplicates in the log).
    pub producer_anomalies: Vec<Anomaly>,
    /// Records with more than one copy in the log.
    pub log_duplicates: u64,
}

impl Ledger {
    /// Records produced so far.
    pub fn produced(&self) -> u64 {
        self.records.len() as u64
    }

    /// Registers a new record and returns its id.
    pub fn produce(&mut self, info: RecordInfo) -> u32 {
        self.records.push(info);
        (self.records.len() - 1) as u32
    }

    /// A copy of `record_id` was appended at `offset`.
    pub fn appended(&mut self, at_ms: u64, record_id: u32, offset: u64) {
        let Some(info) = self.records.get_mut(record_id as usize) else {
            return;
        };
        info.copies = info.copies.saturating_add(1);
        if info.first_offset.is_none() {
            info.first_offset = Some(offset);
            return;
        }
        self.log_duplicates += 1;
        let partition = info.partition;
        let first = info.first_offset.unwrap_or(offset);
        if let Some(last) = self.producer_anomalies.last_mut() {
            if last.partition == partition && last.last_offset + 1 == offset && last.at_ms == at_ms
            {
                last.last_offset = offset;
                last.count += 1;
                return;
            }
        }
        if self.producer_anomalies.len() < MAX_ANOMALIES {
            let explanation = format!(
                "p{partition} offset {offset} is a second copy of the record at offset {first}: the broker appended the batch, \
                 the acknowledgement was lost, and the producer retried without idempotence"
            );
            self.producer_anomalies.push(Anomaly::single(
                AnomalyKind::LogDuplicate,
                None,
                partition,
                offset,
                at_ms,
                None,
                vec![CauseStep {
                    at_ms,
                    text: explanation.clone(),
                }],
                explanation,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RecordInfo {
        RecordInfo {
            producer: 0,
            key: Some(0),
            produced_ms: 0,
            partition: 0,
            first_offset: Some(0),
            copies: 1,
            status: ProduceStatus::Acked,
            poison: false,
        }
    }

    #[test]
    fn totals_balance_through_every_transition() {
        let mut g = GroupLedger::new("g");
        let i = info();
        g.processed(1, "c1", 1, 0, 0, 0, &RecordInfo { key: None, ..i });
        g.processed(2, "c1", 1, 0, 1, 1, &RecordInfo { key: None, ..i });
        g.processed(3, "c2", 2, 0, 1, 1, &RecordInfo { key: None, ..i });
        g.committed(4, 0, 4, |o| Some(o as u32), |_| false);
        let t = g.totals(5);
        assert_eq!((t.once, t.duplicate, t.lost, t.pending), (1, 1, 2, 1));
        assert_eq!(t, g.recount(5));
        assert_eq!(t.produced, t.once + t.duplicate + t.lost + t.pending);
        // Processing a lost record later makes it exactly-once.
        g.processed(5, "c2", 2, 0, 2, 2, &RecordInfo { key: None, ..i });
        assert_eq!(g.outcome(2), Outcome::Once);
        assert_eq!(g.totals(5), g.recount(5));
    }

    #[test]
    fn duplicates_merge_into_one_explained_anomaly() {
        let mut g = GroupLedger::new("g");
        let i = RecordInfo {
            key: None,
            ..info()
        };
        for o in 38..=41 {
            g.processed(5000 + o, "c2", 3, 0, o, o as u32, &i);
        }
        g.note(
            5300,
            "c2",
            Note::Stopped {
                what: "crashed".into(),
                abandoned: vec![],
            },
        );
        g.note(
            50_000,
            "c1",
            Note::Resumed {
                partition: 0,
                offset: 38,
                generation: 4,
                source: PositionSource::Committed,
                log_end_offset: 42,
            },
        );
        for o in 38..=41 {
            g.processed(50_000 + o, "c1", 4, 0, o, o as u32, &i);
        }
        assert_eq!(g.anomalies.len(), 1);
        let a = &g.anomalies[0];
        assert_eq!(
            (a.kind, a.first_offset, a.last_offset, a.count),
            (AnomalyKind::Duplicate, 38, 41, 4)
        );
        assert!(a.explanation.contains("offsets 38–41"), "{}", a.explanation);
        assert!(a.explanation.contains("crashed"), "{}", a.explanation);
        assert!(
            a.explanation.contains("committed offset 38"),
            "{}",
            a.explanation
        );
        assert!(a.chain.len() >= 3);
    }

    #[test]
    fn held_records_are_not_lost_until_abandoned() {
        let mut g = GroupLedger::new("g");
        g.note(
            10,
            "c1",
            Note::Committed {
                partition: 0,
                offset: 3,
                auto: false,
            },
        );
        g.committed(10, 0, 3, |o| Some(o as u32), |_| true);
        assert_eq!(g.totals(3).lost, 0);
        g.note(
            20,
            "c1",
            Note::Stopped {
                what: "crashed".into(),
                abandoned: vec![(0, 0, 3)],
            },
        );
        g.abandoned(20, 0, 0..3, 3, |o| Some(o as u32));
        assert_eq!(g.totals(3).lost, 3);
        assert_eq!(g.anomalies.len(), 1);
        assert!(
            g.anomalies[0]
                .explanation
                .contains("committed past them before processing"),
            "{}",
            g.anomalies[0].explanation
        );
    }

    #[test]
    fn out_of_order_is_flagged_once() {
        let mut g = GroupLedger::new("g");
        let i = info();
        g.processed(1, "c1", 1, 0, 0, 5, &i);
        g.processed(2, "c1", 1, 0, 1, 4, &i);
        assert!(g.out_of_order(4));
        assert_eq!(g.totals(6).out_of_order, 1);
        assert_eq!(g.anomalies[0].kind, AnomalyKind::OutOfOrder);
    }
}

#[cfg(test)]
mod size_tests {
    /// Memory per retained record is a budget (BENCHMARKS.md): the log entry, the ledger's
    /// producer-side facts and one byte per group. This fails if either struct grows.
    #[test]
    fn per_record_memory_stays_small() {
        assert_eq!(std::mem::size_of::<super::super::log::LogRecord>(), 24);
        assert!(
            std::mem::size_of::<super::RecordInfo>() <= 48,
            "{}",
            std::mem::size_of::<super::RecordInfo>()
        );
    }
}
