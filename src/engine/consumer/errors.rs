//! What the application does when processing a record throws (`on.error`): retry it in
//! place (`error.retries`, `error.retry.backoff.ms`), then crash, log and skip it, or write
//! it to the dead-letter topic and go on. The dead letter is produced from the consumer's
//! process, as an application's own producer would, and the application waits for its
//! acknowledgement before the next record (Spring Kafka's `DeadLetterPublishingRecoverer`
//! waits the same way), so the commit that follows never passes a record that is nowhere.

use super::*;
use crate::engine::config::DLQ_SUFFIX;
use crate::engine::log::NO_PRODUCER;
use crate::engine::msg::{BatchResult, KafkaError, ProduceBatch};
use crate::engine::record::{ReasonTag, RecordInfo};

/// How long the application waits for a dead letter's acknowledgement before it sends it
/// again (the producer's `request.timeout.ms` default).
const DEAD_LETTER_TIMEOUT_MS: u64 = 30_000;
/// The wait before a refused dead letter is sent again (`retry.backoff.ms`).
const DEAD_LETTER_BACKOFF_MS: u64 = 100;

/// A dead letter on its way: the failed record, and its copy for `<topic>.dlq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DeadLetter {
    /// Where the failed record is.
    tp: Tp,
    offset: u64,
    /// Where its copy goes: the dead-letter topic's partition of the same number.
    dlq: Tp,
    record: LogRecord,
    /// The produce request in flight, if one is.
    request_id: Option<u64>,
}

impl Consumer {
    /// Processing the record at `offset` threw: what was processed before it is reported,
    /// then the error policy decides. Returns whether the application stops here (it
    /// crashed, waits to retry, or waits for the dead letter); `false`: it logged and
    /// skipped the record and goes on with the next.
    pub(super) fn failed(
        &mut self,
        ctx: &mut Ctx,
        run: Option<(Tp, u64, u64)>,
        tp: Tp,
        offset: u64,
        record: LogRecord,
    ) -> bool {
        self.flush_processed(ctx, run);
        self.event(
            ctx,
            GroupEvent::ProcessingFailed {
                member: self.id.member,
                tp,
                offset,
            },
        );
        let retries = match self.failing {
            Some((t, o, n)) if t == tp && o == offset => n,
            _ => 0,
        };
        if retries < self.config.error_retries {
            // Retried in place: the record goes back to the front of the batch, and the
            // whole poll loop waits (the partition, the other partitions, the poll timer).
            self.failing = Some((tp, offset, retries + 1));
            if let Some(front) = self.batch.front_mut() {
                front.next -= 1;
                front.next_offset -= 1;
            }
            let at = ctx
                .now_ms
                .saturating_add(self.config.error_retry_backoff_ms);
            self.timer(ctx, at, ConsumerTimerKind::App);
            return true;
        }
        self.failing = None;
        match self.config.on_error {
            OnError::Crash => {
                self.crash(ctx, CrashReason::Poison { tp, offset });
                true
            }
            OnError::Skip => self.past_failed(ctx, tp, offset, None),
            OnError::DeadLetter => self.start_dead_letter(ctx, tp, offset, record),
        }
    }

    /// The application gave up on the failed record (logged and skipped it, or wrote its
    /// dead letter there): it counts as done for the commits that follow; with a commit per
    /// record, that commit is made now. Returns whether the application waits for it.
    fn past_failed(
        &mut self,
        ctx: &mut Ctx,
        tp: Tp,
        offset: u64,
        dead_letter: Option<(Tp, u64)>,
    ) -> bool {
        self.event(
            ctx,
            GroupEvent::ErrorHandled {
                member: self.id.member,
                tp,
                offset,
                dead_letter,
            },
        );
        self.processed.insert(tp, offset + 1);
        // The skip (or the dead letter's acknowledgement) is written with its offset, so the
        // next owner does not handle the record again.
        self.store_offset(ctx, tp, offset + 1);
        self.config.manual_commit == ManualCommit::AfterEachRecord
            && self.commit_offsets(
                ctx,
                vec![(tp, offset + 1)],
                false,
                Some(AfterCommit::Continue),
            )
    }

    /// Makes the failed record's dead letter and sends it. Without a dead-letter topic
    /// (deleted since), there is nowhere to write it: the exception escapes.
    fn start_dead_letter(&mut self, ctx: &mut Ctx, tp: Tp, offset: u64, record: LogRecord) -> bool {
        let dlq_topic = ctx
            .cluster
            .topic(tp.topic)
            .and_then(|t| ctx.cluster.topic_id(&format!("{}{DLQ_SUFFIX}", t.name)));
        let n = dlq_topic.map_or(0, |t| ctx.cluster.partition_count(t));
        let Some(dlq_topic) = dlq_topic.filter(|_| n > 0) else {
            self.crash(ctx, CrashReason::Poison { tp, offset });
            return true;
        };
        let dlq = Tp::new(dlq_topic, tp.p() % n);
        let record_id = ctx.next_record_id();
        ctx.trace_record(record_id, dlq.p());
        ctx.records.push(RecordInfo::sent(
            ctx.now_ms,
            record.key,
            dlq,
            None,
            ReasonTag::Explicit,
            n,
            false,
        ));
        let copy = LogRecord {
            timestamp_ms: ctx.now_ms,
            record_id,
            key: record.key,
            size_bytes: record.size_bytes,
            flags: LogRecord::DEAD_LETTER,
            producer: NO_PRODUCER,
        };
        self.dead_letter = Some(DeadLetter {
            tp,
            offset,
            dlq,
            record: copy,
            request_id: None,
        });
        self.app = AppState::DeadLettering;
        self.send_dead_letter(ctx);
        true
    }

    /// Sends the dead letter to its partition's leader (acks=all), or waits for one.
    pub(super) fn send_dead_letter(&mut self, ctx: &mut Ctx) {
        let Some(d) = self.dead_letter.as_mut() else {
            return;
        };
        let Some(leader) = ctx.cluster.leader(d.dlq) else {
            d.request_id = None;
            let at = ctx.now_ms + DEAD_LETTER_BACKOFF_MS;
            self.timer(ctx, at, ConsumerTimerKind::App);
            return;
        };
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        d.request_id = Some(request_id);
        let msg = Msg::Produce {
            request_id,
            acks_zero: false,
            acks_all: true,
            timeout_ms: DEAD_LETTER_TIMEOUT_MS,
            pid: -1,
            batches: vec![ProduceBatch {
                batch_id: request_id,
                tp: d.dlq,
                base_sequence: None,
                epoch: 0,
                records: std::rc::Rc::new(vec![d.record]),
            }],
        };
        self.send(ctx, leader, msg);
        let at = ctx.now_ms + DEAD_LETTER_TIMEOUT_MS;
        self.timer(ctx, at, ConsumerTimerKind::App);
    }

    /// The dead letter's write was answered: written, the application goes on past the
    /// failed record; refused, it is sent again after a backoff.
    pub(super) fn on_dead_letter_response(
        &mut self,
        ctx: &mut Ctx,
        request_id: u64,
        results: &[BatchResult],
    ) {
        let Some(d) = self
            .dead_letter
            .as_mut()
            .filter(|d| d.request_id == Some(request_id))
        else {
            return;
        };
        let written = results
            .first()
            .filter(|r| r.error == KafkaError::None)
            .and_then(|r| r.base_offset);
        let Some(at) = written else {
            d.request_id = None;
            let at = ctx.now_ms + DEAD_LETTER_BACKOFF_MS;
            self.timer(ctx, at, ConsumerTimerKind::App);
            return;
        };
        let (tp, offset, dlq) = (d.tp, d.offset, d.dlq);
        self.dead_letter = None;
        self.app = AppState::Processing;
        if !self.past_failed(ctx, tp, offset, Some((dlq, at))) {
            self.after_record(ctx);
        }
    }
}
