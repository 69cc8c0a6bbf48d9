//! The broker actor: partition logs, the idempotent producers' sequence state, and the
//! Produce, Fetch and ListOffsets requests. (The group coordinator it hosts is its own
//! actor, in `coordinator.rs`.)

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use super::event::{Event, ProducerEvent};
use super::ids::{BrokerId, ConsumerRef, NodeId, ProducerId, TopicId, Tp};
use super::log::{LogRecord, PartitionLog};
use super::msg::{
    BatchResult, BrokerTimer, Ctx, FetchedPartition, KafkaError, Msg, OffsetSpec, ProduceBatch,
    Timer,
};

/// `fetch.max.wait.ms`, the consumer default: how long the broker holds a fetch with no data.
pub const FETCH_MAX_WAIT_MS: u64 = 500;
/// `max.partition.fetch.bytes`, the consumer default: the most one partition returns.
pub const MAX_PARTITION_FETCH_BYTES: u64 = 1_048_576;
/// How many batches per producer and partition the broker remembers to spot duplicates
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

/// What the broker remembers of an idempotent producer on one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ProducerStateEntry {
    epoch: u16,
    last_sequence: i32,
    /// `(first sequence, last sequence, base offset)` of the newest batches.
    batches: VecDeque<(i32, i32, u64)>,
}

/// A fetch waiting for data.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ParkedFetch {
    consumer: ConsumerRef,
    fetch_id: u64,
    partitions: Vec<(Tp, u64)>,
}

/// One broker.
#[derive(Clone, Debug)]
pub struct Broker {
    /// Its id.
    pub id: BrokerId,
    /// Partition logs by topic, then partition.
    logs: Vec<Vec<PartitionLog>>,
    producer_states: BTreeMap<(i64, Tp), ProducerStateEntry>,
    parked: Vec<ParkedFetch>,
}

/// How the broker judged a batch's sequence (ProducerAppendInfo `checkSequence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SequenceCheck {
    Append,
    Duplicate(u64),
    Refuse(KafkaError),
}

impl Broker {
    /// A broker with no partitions.
    pub fn new(id: BrokerId) -> Self {
        Broker {
            id,
            logs: Vec::new(),
            producer_states: BTreeMap::new(),
            parked: Vec::new(),
        }
    }

    fn node(&self) -> NodeId {
        NodeId::Broker(self.id)
    }

    // ---- what the controller tells it ------------------------------------------------

    /// Makes room for a topic's partitions (creation, or partitions added).
    pub fn ensure_partitions(&mut self, topic: TopicId, partitions: u32) {
        if self.logs.len() <= topic.index() {
            self.logs.resize_with(topic.index() + 1, Vec::new);
        }
        self.logs[topic.index()].resize_with(partitions as usize, PartitionLog::new);
    }

    /// Drops a deleted topic's logs and state.
    pub fn delete_topic(&mut self, topic: TopicId) {
        if let Some(logs) = self.logs.get_mut(topic.index()) {
            logs.clear();
        }
        self.producer_states.retain(|(_, tp), _| tp.topic != topic);
        for f in &mut self.parked {
            f.partitions.retain(|(tp, _)| tp.topic != topic);
        }
    }

    // ---- reads (for the kernel's ledger and the read model) ---------------------------

    /// One partition's log.
    pub fn log(&self, tp: Tp) -> Option<&PartitionLog> {
        self.logs.get(tp.topic.index())?.get(tp.p() as usize)
    }

    /// A topic's logs.
    pub fn topic_logs(&self, topic: TopicId) -> &[PartitionLog] {
        self.logs.get(topic.index()).map_or(&[], Vec::as_slice)
    }

    fn log_mut(&mut self, tp: Tp) -> Option<&mut PartitionLog> {
        self.logs
            .get_mut(tp.topic.index())?
            .get_mut(tp.p() as usize)
    }

    /// Records held over every partition.
    pub fn record_count(&self) -> u64 {
        self.logs.iter().flatten().map(PartitionLog::len).sum()
    }

    /// Its logs' memory (see `ChunkVec::memory`).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.logs
            .iter()
            .flatten()
            .map(PartitionLog::memory)
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    }

    // ---- messages -------------------------------------------------------------------

    /// Handles a Produce, Fetch or ListOffsets request.
    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Produce {
                request_id,
                acks_zero,
                pid,
                batches,
            } => self.on_produce(ctx, from, request_id, acks_zero, pid, batches),
            Msg::Fetch {
                fetch_id,
                partitions,
            } => {
                if let Some(consumer) = from.consumer() {
                    self.on_fetch(ctx, consumer, fetch_id, partitions);
                }
            }
            Msg::ListOffsets {
                request_id,
                partitions,
            } => {
                let offsets = partitions
                    .into_iter()
                    .map(|(tp, spec)| {
                        let offset = self.log(tp).map(|l| match spec {
                            OffsetSpec::Earliest => l.log_start_offset(),
                            OffsetSpec::Latest => l.high_watermark(),
                        });
                        (tp, spec, offset)
                    })
                    .collect();
                ctx.out.send(
                    self.node(),
                    from,
                    Msg::ListOffsetsResponse {
                        request_id,
                        offsets,
                    },
                );
            }
            _ => {}
        }
    }

    /// Appends directly (records typed by hand: an admin path with no producer client).
    pub fn append_direct(&mut self, ctx: &mut Ctx, tp: Tp, record: LogRecord) -> Option<u64> {
        let base = self.log_mut(tp)?.append(&[record]);
        self.complete_parked(ctx, &[tp]);
        Some(base)
    }

    fn on_produce(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        request_id: u64,
        acks_zero: bool,
        pid: i64,
        batches: Vec<ProduceBatch>,
    ) {
        let NodeId::Producer(producer) = from else {
            return;
        };
        let mut results = Vec::with_capacity(batches.len());
        let mut touched = Vec::with_capacity(batches.len());
        for batch in batches {
            let result = self.produce_batch(ctx, producer, request_id, pid, &batch);
            if result.error == KafkaError::None {
                touched.push(batch.tp);
            }
            results.push(result);
        }
        self.complete_parked(ctx, &touched);
        if !acks_zero {
            ctx.out.send(
                self.node(),
                from,
                Msg::ProduceResponse {
                    request_id,
                    results,
                },
            );
        }
    }

    fn produce_batch(
        &mut self,
        ctx: &mut Ctx,
        producer: ProducerId,
        request_id: u64,
        pid: i64,
        batch: &ProduceBatch,
    ) -> BatchResult {
        let tp = batch.tp;
        let mut result = BatchResult {
            batch_id: batch.batch_id,
            tp,
            error: KafkaError::None,
            base_offset: None,
        };
        if self.log(tp).is_none() {
            result.error = KafkaError::UnknownTopicOrPartition;
            return result;
        }
        let check = match batch.base_sequence {
            Some(base) if pid >= 0 => self.check_sequence(pid, tp, batch.epoch, base, batch),
            _ => SequenceCheck::Append,
        };
        let event = |event| Event::Producer {
            at_ms: ctx.now_ms,
            producer,
            event,
        };
        match check {
            SequenceCheck::Refuse(error) => {
                if error == KafkaError::OutOfOrderSequenceNumber {
                    ctx.out.event(event(ProducerEvent::OutOfOrderSequence {
                        request_id,
                        tp,
                        base_sequence: batch.base_sequence.unwrap_or(-1),
                    }));
                }
                result.error = error;
            }
            SequenceCheck::Duplicate(base_offset) => {
                ctx.out.event(event(ProducerEvent::DuplicateBatchDropped {
                    request_id,
                    tp,
                    base_sequence: batch.base_sequence.unwrap_or(-1),
                }));
                result.error = KafkaError::DuplicateSequenceNumber;
                result.base_offset = Some(base_offset);
            }
            SequenceCheck::Append => {
                let log = self.log_mut(tp).expect("checked above");
                let base_offset = log.append(&batch.records);
                if let (Some(base), true) = (batch.base_sequence, pid >= 0) {
                    self.remember_batch(pid, tp, batch, base, base_offset);
                }
                ctx.out.event(event(ProducerEvent::Appended {
                    request_id,
                    tp,
                    base_offset,
                    count: batch.records.len() as u32,
                }));
                result.base_offset = Some(base_offset);
            }
        }
        result
    }

    /// ProducerAppendInfo `checkProducerEpoch` and `checkSequence`, and
    /// ProducerStateEntry `findDuplicateBatch`.
    fn check_sequence(
        &self,
        pid: i64,
        tp: Tp,
        epoch: u16,
        base: i32,
        batch: &ProduceBatch,
    ) -> SequenceCheck {
        let Some(entry) = self.producer_states.get(&(pid, tp)) else {
            return SequenceCheck::Append; // no epoch known yet: any first sequence
        };
        if epoch < entry.epoch {
            return SequenceCheck::Refuse(KafkaError::InvalidProducerEpoch);
        }
        if epoch > entry.epoch {
            // A new epoch must start at sequence 0.
            return if base == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
            };
        }
        let last = last_sequence(base, batch.records.len());
        if let Some(&(_, _, offset)) = entry
            .batches
            .iter()
            .find(|&&(f, l, _)| f == base && l == last)
        {
            return SequenceCheck::Duplicate(offset);
        }
        let in_sequence = base == entry.last_sequence.wrapping_add(1)
            || (base == 0 && entry.last_sequence == i32::MAX);
        if in_sequence {
            SequenceCheck::Append
        } else {
            SequenceCheck::Refuse(KafkaError::OutOfOrderSequenceNumber)
        }
    }

    fn remember_batch(&mut self, pid: i64, tp: Tp, batch: &ProduceBatch, base: i32, offset: u64) {
        let entry = self.producer_states.entry((pid, tp)).or_default();
        if entry.epoch != batch.epoch {
            entry.batches.clear();
            entry.epoch = batch.epoch;
        }
        let last = last_sequence(base, batch.records.len());
        entry.last_sequence = last;
        entry.batches.push_back((base, last, offset));
        if entry.batches.len() > NUM_BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
    }

    fn on_fetch(
        &mut self,
        ctx: &mut Ctx,
        consumer: ConsumerRef,
        fetch_id: u64,
        partitions: Vec<(Tp, u64)>,
    ) {
        let fetch = ParkedFetch {
            consumer,
            fetch_id,
            partitions,
        };
        if self.has_data(&fetch) {
            self.respond_fetch(ctx, &fetch);
        } else {
            // DelayedFetch: hold it until data arrives or fetch.max.wait.ms passes.
            ctx.out.timer(
                ctx.now_ms + FETCH_MAX_WAIT_MS,
                self.node(),
                Timer::Broker(BrokerTimer::FetchWait { consumer, fetch_id }),
            );
            self.parked.push(fetch);
        }
    }

    /// Handles a timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: BrokerTimer) {
        match timer {
            BrokerTimer::FetchWait { consumer, fetch_id } => {
                if let Some(i) = self
                    .parked
                    .iter()
                    .position(|f| f.consumer == consumer && f.fetch_id == fetch_id)
                {
                    let fetch = self.parked.remove(i);
                    self.respond_fetch(ctx, &fetch);
                }
            }
        }
    }

    /// Forgets a crashed client's parked fetches (its connection is gone).
    pub fn forget_consumer(&mut self, consumer: ConsumerRef) {
        self.parked.retain(|f| f.consumer != consumer);
    }

    /// True when any partition of the fetch has records to return or an error to report.
    fn has_data(&self, fetch: &ParkedFetch) -> bool {
        fetch
            .partitions
            .iter()
            .any(|&(tp, offset)| match self.log(tp) {
                None => true,
                Some(log) => offset != log.high_watermark() || offset < log.log_start_offset(),
            })
    }

    fn complete_parked(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if self.parked.is_empty() || touched.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.parked.len() {
            let relevant = self.parked[i]
                .partitions
                .iter()
                .any(|(tp, _)| touched.contains(tp));
            if relevant && self.has_data(&self.parked[i]) {
                let fetch = self.parked.remove(i);
                self.respond_fetch(ctx, &fetch);
            } else {
                i += 1;
            }
        }
    }

    fn respond_fetch(&self, ctx: &mut Ctx, fetch: &ParkedFetch) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|&(tp, offset)| self.fetch_partition(tp, offset))
            .collect();
        ctx.out.send(
            self.node(),
            NodeId::Consumer(fetch.consumer),
            Msg::FetchResponse {
                fetch_id: fetch.fetch_id,
                partitions,
            },
        );
    }

    /// One partition's part of a fetch: records from `offset` below the high watermark,
    /// up to `max.partition.fetch.bytes` (at least one record).
    fn fetch_partition(&self, tp: Tp, offset: u64) -> FetchedPartition {
        let Some(log) = self.log(tp) else {
            return FetchedPartition {
                tp,
                error: KafkaError::UnknownTopicOrPartition,
                fetch_offset: offset,
                high_watermark: 0,
                records: Rc::new(Vec::new()),
            };
        };
        let hw = log.high_watermark();
        if offset < log.log_start_offset() || offset > log.log_end_offset() {
            return FetchedPartition {
                tp,
                error: KafkaError::OffsetOutOfRange,
                fetch_offset: offset,
                high_watermark: hw,
                records: Rc::new(Vec::new()),
            };
        }
        let mut bytes = 0u64;
        let mut records = Vec::new();
        for (_, r) in log.range(offset, hw) {
            bytes += u64::from(r.size_bytes);
            if bytes > MAX_PARTITION_FETCH_BYTES && !records.is_empty() {
                break;
            }
            records.push(*r);
        }
        FetchedPartition {
            tp,
            error: KafkaError::None,
            fetch_offset: offset,
            high_watermark: hw,
            records: Rc::new(records),
        }
    }
}

/// The last sequence of a batch starting at `base` with `count` records (wrapping).
pub fn last_sequence(base: i32, count: usize) -> i32 {
    base.wrapping_add(count as i32 - 1)
}
