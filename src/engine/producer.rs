//! Producers: workloads, partitioners, the record accumulator (`linger.ms`, `batch.size`),
//! in-flight requests, retries and idempotent sequence numbers.
//!
//! The decisions here are pure functions of the producer's state and the one RNG; the
//! simulation schedules when they run.

use std::collections::VecDeque;

use super::config::{Acks, PartitionerKind, ProducerConfig};
use super::event::PartitionReason;
use super::keys::KeyTable;
use super::log::KeyId;
use super::partitioner::to_positive;
use super::rng::Rng;

/// Bytes a record batch's header takes (v2 format).
pub const BATCH_HEADER_BYTES: u32 = 61;
/// Approximate per-record framing (attributes, deltas, lengths) added to key and value bytes.
pub const RECORD_OVERHEAD_BYTES: u32 = 8;

/// Which keys a workload produces.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeySpace {
    /// Every record has the same key.
    Fixed(String),
    /// `count` keys `{prefix}0 .. {prefix}{count-1}`, drawn uniformly.
    Uniform {
        /// Key name prefix.
        prefix: String,
        /// Number of distinct keys (1 to 100000).
        count: u32,
    },
    /// One hot key takes `hot_percent` of the records; the rest are uniform over `count` keys.
    HotKey {
        /// Key name prefix; the hot key is `{prefix}hot`.
        prefix: String,
        /// Number of other keys.
        count: u32,
        /// Share of records with the hot key, 0 to 100.
        hot_percent: u32,
    },
    /// Null keys: the sticky partitioner decides.
    Null,
}

/// A producer's steady load.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// Records per second of virtual time (1 to 1,000,000).
    pub rate_per_sec: u32,
    /// The keys.
    pub key_space: KeySpace,
    /// Value size in bytes.
    pub payload_bytes: u32,
}

/// Keys of a workload, interned once so drawing one costs an index.
#[derive(Clone, Debug, Default)]
pub struct KeyPool {
    keys: Vec<KeyId>,
    hot: Option<(KeyId, u32)>,
}

impl KeyPool {
    /// Interns every key of `space` into `table`.
    pub fn new(space: &KeySpace, table: &mut KeyTable) -> Self {
        match space {
            KeySpace::Fixed(k) => KeyPool {
                keys: vec![table.intern(k)],
                hot: None,
            },
            KeySpace::Uniform { prefix, count } => KeyPool {
                keys: (0..*count)
                    .map(|i| table.intern(&format!("{prefix}{i}")))
                    .collect(),
                hot: None,
            },
            KeySpace::HotKey {
                prefix,
                count,
                hot_percent,
            } => KeyPool {
                keys: (0..*count)
                    .map(|i| table.intern(&format!("{prefix}{i}")))
                    .collect(),
                hot: Some((
                    table.intern(&format!("{prefix}hot")),
                    (*hot_percent).min(100),
                )),
            },
            KeySpace::Null => KeyPool::default(),
        }
    }

    /// Draws the next key (`None` = null key).
    pub fn draw(&self, rng: &mut Rng) -> Option<KeyId> {
        if let Some((hot, percent)) = self.hot {
            if self.keys.is_empty() || rng.below(100) < u64::from(percent) {
                return Some(hot);
            }
        }
        match self.keys.len() {
            0 => None,
            1 => Some(self.keys[0]),
            n => Some(self.keys[rng.below(n as u64) as usize]),
        }
    }
}

/// A batch of records for one partition, as the accumulator holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Unique within the producer.
    pub batch_id: u64,
    /// The partition it is for.
    pub partition: u32,
    /// Ledger ids of its records, in send order.
    pub record_ids: Vec<u32>,
    /// Estimated size in bytes, header included.
    pub size_bytes: u32,
    /// When the first record was added.
    pub created_ms: u64,
    /// The idempotent base sequence, fixed at the first drain.
    pub base_sequence: Option<i32>,
    /// How many times it was sent.
    pub attempts: u32,
    /// Not sendable before this time (retry backoff).
    pub not_before_ms: u64,
    /// True once no more records fit.
    pub closed: bool,
}

/// The null-key sticky state of the built-in partitioner (KIP-794).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StickyState {
    /// The current sticky partition.
    pub current: Option<u32>,
    /// Bytes produced into it since it was chosen.
    pub produced_bytes: u32,
    /// librdkafka only: when the sticky partition was chosen.
    pub chosen_at_ms: u64,
}

/// A produce request on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Unique within the producer.
    pub request_id: u64,
    /// The batches it carries (at most one per partition).
    pub batches: Vec<Batch>,
    /// When it was sent.
    pub sent_ms: u64,
}

/// A fault armed for the producer's next request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProduceFault {
    /// The broker appends, but the response is lost: the request times out and is retried.
    LostAck,
    /// The request never reaches the broker: it times out and is retried.
    LostRequest,
}

/// One producer client.
#[derive(Clone, Debug)]
pub struct Producer {
    /// Index in the simulation.
    pub index: u16,
    /// `client.id`, e.g. `producer-1`.
    pub client_id: String,
    /// Its configuration.
    pub config: ProducerConfig,
    /// The idempotent producer id the broker assigned (`InitProducerId`).
    pub producer_id: i64,
    /// The steady load, if any.
    pub workload: Option<Workload>,
    /// The workload's interned keys.
    pub key_pool: KeyPool,
    /// Records created by the workload so far (drives the rate).
    pub workload_sent: u64,
    /// When the workload started.
    pub workload_started_ms: u64,
    /// Per partition: batches waiting to be sent, oldest first.
    pub accumulator: Vec<VecDeque<Batch>>,
    /// Null-key sticky partition.
    pub sticky: StickyState,
    /// `RoundRobinPartitioner`'s counter.
    pub round_robin_counter: u32,
    /// Per partition: the next idempotent sequence number.
    pub next_sequence: Vec<i32>,
    /// Requests on the wire.
    pub in_flight: Vec<InFlight>,
    /// Next request id.
    pub next_request_id: u64,
    /// Next batch id.
    pub next_batch_id: u64,
    /// Faults armed for the next requests, in order.
    pub faults: VecDeque<ProduceFault>,
    /// Records whose send completed (acked, or sent with acks=0).
    pub acked_records: u64,
    /// Records that failed (delivery timeout).
    pub failed_records: u64,
    /// When the sender is next woken, if a wake-up is pending.
    pub sender_wake_at: Option<u64>,
}

impl Producer {
    /// A producer for a topic of `partitions` partitions.
    pub fn new(index: u16, config: ProducerConfig, partitions: u32) -> Self {
        Producer {
            index,
            client_id: format!("producer-{}", index + 1),
            config,
            producer_id: 1000 + i64::from(index),
            workload: None,
            key_pool: KeyPool::default(),
            workload_sent: 0,
            workload_started_ms: 0,
            accumulator: (0..partitions).map(|_| VecDeque::new()).collect(),
            sticky: StickyState::default(),
            round_robin_counter: 0,
            next_sequence: vec![0; partitions as usize],
            in_flight: Vec::new(),
            next_request_id: 0,
            next_batch_id: 0,
            faults: VecDeque::new(),
            acked_records: 0,
            failed_records: 0,
            sender_wake_at: None,
        }
    }

    /// Grows per-partition state after partitions were added.
    pub fn resize(&mut self, partitions: u32) {
        self.accumulator
            .resize_with(partitions as usize, VecDeque::new);
        self.next_sequence.resize(partitions as usize, 0);
    }

    /// `batch.size` as the sticky logic uses it: `max(1, batch.size)`.
    fn sticky_batch_size(&self) -> u32 {
        self.config.batch_size.max(1)
    }

    /// Chooses the partition for a record, as the configured client would.
    pub fn choose_partition(
        &mut self,
        key: Option<KeyId>,
        keys: &KeyTable,
        partitions: u32,
        now_ms: u64,
        rng: &mut Rng,
    ) -> (u32, PartitionReason) {
        let info = key.and_then(|k| keys.get(k));
        match self.config.partitioner {
            PartitionerKind::RoundRobin => {
                // Kafka's counter is an int that wraps; toPositive keeps the index valid.
                let p = to_positive(self.round_robin_counter as i32) % partitions;
                self.round_robin_counter = self.round_robin_counter.wrapping_add(1);
                (p, PartitionReason::RoundRobin)
            }
            PartitionerKind::JavaDefault => match info {
                Some(k) if !self.config.partitioner_ignore_keys => (
                    to_positive(k.murmur2) % partitions,
                    PartitionReason::Murmur2 {
                        hash: k.murmur2,
                        partition_count: partitions,
                    },
                ),
                _ => (
                    self.java_sticky_partition(partitions, rng),
                    PartitionReason::Sticky,
                ),
            },
            PartitionerKind::LibrdkafkaConsistentRandom => match info {
                Some(k) if !k.name.is_empty() => (
                    k.crc32 % partitions,
                    PartitionReason::Crc32 {
                        hash: k.crc32,
                        partition_count: partitions,
                    },
                ),
                _ => (
                    self.librdkafka_sticky_partition(partitions, now_ms, rng),
                    PartitionReason::Sticky,
                ),
            },
        }
    }

    /// The built-in partitioner's current sticky partition, chosen when there is none.
    fn java_sticky_partition(&mut self, partitions: u32, rng: &mut Rng) -> u32 {
        match self.sticky.current {
            Some(p) if p < partitions => p,
            _ => {
                let p = self.next_sticky_partition(partitions, rng);
                self.sticky = StickyState {
                    current: Some(p),
                    produced_bytes: 0,
                    chosen_at_ms: 0,
                };
                p
            }
        }
    }

    /// `BuiltInPartitioner.nextPartition`: uniform without queue statistics; with them
    /// (adaptive partitioning, once every partition has had a batch), weighted towards
    /// partitions with shorter queues: `w = (max_queue + 1) - queue`.
    fn next_sticky_partition(&self, partitions: u32, rng: &mut Rng) -> u32 {
        let random = to_positive(rng.next_i32());
        let queues: Vec<u32> = self.accumulator.iter().map(|d| d.len() as u32).collect();
        let all_have_batches = self.accumulator.iter().all(|d| !d.is_empty());
        let max = queues.iter().copied().max().unwrap_or(0);
        let all_equal = queues.iter().all(|&q| q == max);
        if partitions < 2 || !all_have_batches || all_equal {
            return random % partitions;
        }
        let mut cumulative = Vec::with_capacity(queues.len());
        let mut total = 0u32;
        for &q in &queues {
            total += max + 1 - q;
            cumulative.push(total);
        }
        let pick = random % total;
        cumulative.iter().position(|&c| c > pick).unwrap_or(0) as u32
    }

    /// librdkafka's sticky partition for keyless records: re-drawn every
    /// `sticky.partitioning.linger.ms` (2 × `linger.ms`, capped at 900000).
    fn librdkafka_sticky_partition(&mut self, partitions: u32, now_ms: u64, rng: &mut Rng) -> u32 {
        let interval = (2 * self.config.linger_ms).min(900_000);
        match self.sticky.current {
            Some(p) if p < partitions && now_ms < self.sticky.chosen_at_ms + interval.max(1) => p,
            _ => {
                let p = rng.below(u64::from(partitions)) as u32;
                self.sticky = StickyState {
                    current: Some(p),
                    produced_bytes: 0,
                    chosen_at_ms: now_ms,
                };
                p
            }
        }
    }

    /// Adds a record to the accumulator. Returns true when a batch became full (the
    /// sender should run now) and the creation time of a newly opened batch, if any.
    pub fn append(
        &mut self,
        partition: u32,
        record_id: u32,
        record_bytes: u32,
        sticky: bool,
        now_ms: u64,
    ) -> Appended {
        let limit = self.config.batch_size.max(1);
        let next_batch_id = self.next_batch_id;
        let deque = &mut self.accumulator[partition as usize];
        let mut opened = false;
        let fits = deque
            .back()
            .is_some_and(|b| !b.closed && b.attempts == 0 && b.size_bytes + record_bytes <= limit);
        if !fits {
            if let Some(last) = deque.back_mut() {
                last.closed = true;
            }
            deque.push_back(Batch {
                batch_id: next_batch_id,
                partition,
                record_ids: Vec::new(),
                size_bytes: BATCH_HEADER_BYTES,
                created_ms: now_ms,
                base_sequence: None,
                attempts: 0,
                not_before_ms: 0,
                closed: false,
            });
            opened = true;
        }
        let batch = deque.back_mut().expect("a batch was just ensured");
        batch.record_ids.push(record_id);
        batch.size_bytes += record_bytes;
        if batch.size_bytes >= limit {
            batch.closed = true;
        }
        let full = batch.closed || deque.len() > 1;
        if opened {
            self.next_batch_id += 1;
        }
        if sticky {
            self.after_sticky_append(partition, record_bytes);
        }
        Appended {
            full,
            opened_batch: opened,
        }
    }

    /// `BuiltInPartitioner.updatePartitionInfo`: count bytes into the sticky partition and
    /// switch after `batch.size` bytes once its batches are full, or after `2 × batch.size`.
    fn after_sticky_append(&mut self, partition: u32, record_bytes: u32) {
        if self.config.partitioner != PartitionerKind::JavaDefault
            || self.sticky.current != Some(partition)
        {
            return;
        }
        self.sticky.produced_bytes += record_bytes;
        let size = self.sticky_batch_size();
        let deque = &self.accumulator[partition as usize];
        let all_batches_full = deque.back().is_none_or(|b| b.closed);
        if (self.sticky.produced_bytes >= size && all_batches_full)
            || self.sticky.produced_bytes >= 2 * size
        {
            self.sticky.current = None;
        }
    }

    /// Takes the batches ready to send now: at most one per partition (the head of its
    /// queue), when it is full, has lingered `linger.ms`, or `flush` is set. Returns an
    /// empty list when `max.in.flight.requests.per.connection` requests are already out.
    pub fn drain(&mut self, now_ms: u64, flush: bool) -> Vec<Batch> {
        if self.in_flight.len() as u32 >= self.config.max_in_flight_requests_per_connection {
            return Vec::new();
        }
        let linger = self.config.linger_ms;
        let idempotent = self.config.idempotence();
        let mut out = Vec::new();
        for (p, deque) in self.accumulator.iter_mut().enumerate() {
            let ready = deque.front().is_some_and(|b| {
                b.not_before_ms <= now_ms
                    && (b.closed
                        || deque.len() > 1
                        || flush
                        || now_ms >= b.created_ms + linger
                        || b.attempts > 0)
            });
            if !ready {
                continue;
            }
            let mut batch = deque.pop_front().expect("front exists");
            batch.closed = true;
            if idempotent && batch.base_sequence.is_none() {
                let seq = &mut self.next_sequence[p];
                batch.base_sequence = Some(*seq);
                *seq = seq.wrapping_add(batch.record_ids.len() as i32);
            }
            batch.attempts += 1;
            out.push(batch);
        }
        out
    }

    /// The earliest time a queued batch becomes ready by lingering or backoff, if any.
    pub fn next_ready_ms(&self) -> Option<u64> {
        self.accumulator
            .iter()
            .filter_map(|d| d.front())
            .map(|b| {
                if b.attempts > 0 {
                    b.not_before_ms
                } else {
                    b.created_ms + self.config.linger_ms
                }
            })
            .min()
    }

    /// Puts a batch back for a retry. With idempotence it goes in sequence order, so the
    /// broker sees sequences without gaps; without, at the head of its queue (Kafka's
    /// `reenqueue`), which is how a retried batch can land after a later one.
    pub fn reenqueue(&mut self, mut batch: Batch, now_ms: u64) {
        batch.not_before_ms = now_ms + self.config.retry_backoff_ms;
        let deque = &mut self.accumulator[batch.partition as usize];
        match batch.base_sequence {
            Some(seq) => {
                let at = deque
                    .iter()
                    .position(|b| b.base_sequence.is_none_or(|s| s > seq))
                    .unwrap_or(deque.len());
                deque.insert(at, batch);
            }
            None => deque.push_front(batch),
        }
    }

    /// True when the producer expects no response (acks=0).
    pub fn fire_and_forget(&self) -> bool {
        self.config.acks == Acks::Zero
    }

    /// Records waiting in the accumulator.
    pub fn queued_records(&self) -> usize {
        self.accumulator
            .iter()
            .flatten()
            .map(|b| b.record_ids.len())
            .sum()
    }
}

/// What adding a record to the accumulator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// A batch is full: the sender should run now.
    pub full: bool,
    /// A new batch was opened: its linger timer starts.
    pub opened_batch: bool,
}

/// The estimated wire size of a record: key, value and framing.
pub fn record_bytes(key_len: usize, payload_bytes: u32) -> u32 {
    key_len as u32 + payload_bytes + RECORD_OVERHEAD_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(config: ProducerConfig, partitions: u32) -> Producer {
        Producer::new(0, config, partitions)
    }

    #[test]
    fn round_robin_spreads_evenly() {
        let mut p = producer(
            ProducerConfig {
                partitioner: PartitionerKind::RoundRobin,
                ..Default::default()
            },
            3,
        );
        let keys = KeyTable::default();
        let mut rng = Rng::new(1);
        let mut counts = [0; 3];
        for _ in 0..30 {
            counts[p.choose_partition(None, &keys, 3, 0, &mut rng).0 as usize] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
    }

    #[test]
    fn null_keys_stick_until_batch_size_bytes() {
        let mut p = producer(
            ProducerConfig {
                batch_size: 1000,
                ..Default::default()
            },
            4,
        );
        let keys = KeyTable::default();
        let mut rng = Rng::new(3);
        let (first, _) = p.choose_partition(None, &keys, 4, 0, &mut rng);
        // 100-byte records never fill a 1000-byte batch exactly (61-byte header), so the
        // switch waits for 2 x batch.size bytes, as in Kafka.
        for i in 0..20 {
            let (part, reason) = p.choose_partition(None, &keys, 4, 0, &mut rng);
            assert_eq!(
                (part, reason),
                (first, PartitionReason::Sticky),
                "record {i}"
            );
            p.append(part, i, 100, true, 0);
        }
        assert_eq!(
            p.sticky.current, None,
            "2000 bytes switch the sticky partition"
        );
    }

    #[test]
    fn adaptive_weights_follow_queue_sizes() {
        // Kafka's adaptivePartitionsTest: queue sizes {5,0,3,0,1}: weights {1,6,3,6,5}.
        let mut p = producer(ProducerConfig::default(), 5);
        for (part, n) in [(0u32, 5u32), (1, 1), (2, 3), (3, 1), (4, 1)] {
            for _ in 0..n {
                p.accumulator[part as usize].push_back(Batch {
                    batch_id: 0,
                    partition: part,
                    record_ids: vec![],
                    size_bytes: 0,
                    created_ms: 0,
                    base_sequence: None,
                    attempts: 0,
                    not_before_ms: 0,
                    closed: true,
                });
            }
        }
        // Partitions 1 and 3 hold one batch: every partition has batches; sizes {5,1,3,1,1}.
        let mut rng = Rng::new(11);
        let mut counts = [0u32; 5];
        for _ in 0..4000 {
            counts[p.next_sticky_partition(5, &mut rng) as usize] += 1;
        }
        // Weights {1,5,3,5,5} of 19: the short queues get about five times the long one.
        assert!(counts[0] < counts[2] && counts[2] < counts[1], "{counts:?}");
    }

    #[test]
    fn batches_close_at_batch_size_and_linger() {
        let mut p = producer(
            ProducerConfig {
                batch_size: 250,
                linger_ms: 5,
                ..Default::default()
            },
            1,
        );
        assert!(!p.append(0, 0, 100, false, 0).full);
        assert!(p.drain(1, false).is_empty(), "not lingered yet");
        assert!(
            p.append(0, 1, 100, false, 1).full,
            "61 + 100 + 100 > 250 opens a second batch"
        );
        let sent = p.drain(2, false);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].record_ids, vec![0]);
        assert_eq!(sent[0].base_sequence, Some(0));
        let later = p.drain(6, false);
        assert_eq!(later[0].record_ids, vec![1]);
        assert_eq!(later[0].base_sequence, Some(1));
    }

    #[test]
    fn idempotent_retries_go_back_in_sequence_order() {
        let mut p = producer(
            ProducerConfig {
                batch_size: 100,
                linger_ms: 0,
                ..Default::default()
            },
            1,
        );
        for r in 0..3 {
            p.append(0, r, 90, false, 0);
        }
        let a = p.drain(0, false).remove(0);
        let b = p.drain(0, false).remove(0);
        p.reenqueue(b, 0);
        p.reenqueue(a.clone(), 0);
        let order: Vec<Option<i32>> = p.accumulator[0].iter().map(|b| b.base_sequence).collect();
        assert_eq!(order, vec![Some(0), Some(1), None]);
    }
}
