//! The producer's record accumulator: per-partition queues of batches (`batch.size`,
//! `linger.ms`), and the built-in partitioner's sticky state with its adaptive queue
//! statistics (KIP-794). Pure data and decisions; the producer actor drives it.
//!
//! Citations are to apache/kafka `clients/.../producer/internals/RecordAccumulator.java`
//! and `BuiltInPartitioner.java`.

use std::collections::VecDeque;
use std::rc::Rc;

use super::cluster::Cluster;
use super::config::ProducerConfig;
use super::ids::{TopicId, Tp};
use super::log::LogRecord;
use super::partitioner::to_positive;
use super::rng::Rng;

/// Bytes a record batch's header takes (v2 format).
pub const BATCH_HEADER_BYTES: u32 = 61;
/// Approximate per-record framing (attributes, deltas, lengths) added to key and value bytes.
pub const RECORD_OVERHEAD_BYTES: u32 = 8;

/// The most records a new batch reserves room for up front (a huge `batch.size` with tiny
/// records grows past it as a `Vec` does).
const MAX_BATCH_ROOM: usize = 4096;

/// The estimated wire size of a record: key, value and framing.
pub fn record_bytes(key_len: usize, payload_bytes: u32) -> u32 {
    (key_len as u32)
        .saturating_add(payload_bytes)
        .saturating_add(RECORD_OVERHEAD_BYTES)
}

/// A batch of records for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Unique within the producer.
    pub batch_id: u64,
    /// The partition it is for.
    pub tp: Tp,
    /// Its records, in send order (shared with the requests that carry it; appended to only
    /// while it is open and unshared).
    pub records: Rc<Vec<LogRecord>>,
    /// Estimated size in bytes, header included.
    pub size_bytes: u32,
    /// When the first record was added (delivery timeout runs from here).
    pub created_ms: u64,
    /// The idempotent base sequence, fixed when first drained.
    pub base_sequence: Option<i32>,
    /// The producer epoch of that sequence.
    pub epoch: u16,
    /// How many times it was sent.
    pub attempts: u32,
    /// Not sendable before this time (retry backoff).
    pub not_before_ms: u64,
    /// True once no more records fit.
    pub closed: bool,
}

/// What adding a record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// A batch is full: the sender should run now.
    pub full: bool,
    /// A new batch was opened: its linger timer starts.
    pub opened_batch: bool,
    /// Bytes the append added, the new batch's header included (`appendedBytes`).
    pub bytes: u32,
}

/// The built-in partitioner's sticky state for one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StickyState {
    /// The current sticky partition.
    pub current: Option<u32>,
    /// Bytes produced into it since it was chosen.
    pub produced_bytes: u32,
    /// librdkafka only: when the sticky partition was chosen.
    pub chosen_at_ms: u64,
}

/// `PartitionLoadStats`: a cumulative frequency table over the partitions that have a
/// leader, and their ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadStats {
    /// Cumulative weights.
    pub cft: Vec<u32>,
    /// The partition of each entry.
    pub partition_ids: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
struct TopicQueues {
    queues: Vec<VecDeque<Batch>>,
    /// A deque exists for the partition (Kafka's `batches` map gains an entry the first
    /// time a batch is created there, and never loses it).
    created: Vec<bool>,
    sticky: StickyState,
    /// Adaptive partitioning's cumulative frequency table and the partitions it covers
    /// (those with a leader), when it applies.
    load_stats: Option<LoadStats>,
    round_robin: u32,
}

/// The accumulator of one producer.
#[derive(Clone, Debug)]
pub struct Accumulator {
    topics: Vec<TopicQueues>,
    batch_size: u32,
    linger_ms: u64,
    adaptive: bool,
    sticky_linger_ms: u64,
    next_batch_id: u64,
}

impl Accumulator {
    /// An empty accumulator for a producer with `config`.
    pub fn new(config: &ProducerConfig) -> Self {
        Accumulator {
            topics: Vec::new(),
            batch_size: config.batch_size,
            linger_ms: config.linger_ms,
            adaptive: config.partitioner_adaptive_partitioning_enable,
            // librdkafka's sticky.partitioning.linger.ms: 2 × linger.ms, capped at 900000.
            sticky_linger_ms: (2 * config.linger_ms).min(900_000),
            next_batch_id: 0,
        }
    }

    fn topic_mut(&mut self, topic: TopicId) -> &mut TopicQueues {
        let t = topic.index();
        if self.topics.len() <= t {
            self.topics.resize_with(t + 1, TopicQueues::default);
        }
        &mut self.topics[t]
    }

    fn deque_mut(&mut self, tp: Tp) -> &mut VecDeque<Batch> {
        let t = self.topic_mut(tp.topic);
        let p = tp.p() as usize;
        if t.queues.len() <= p {
            t.queues.resize_with(p + 1, VecDeque::new);
            t.created.resize(p + 1, false);
        }
        &mut t.queues[p]
    }

    fn deque(&self, tp: Tp) -> Option<&VecDeque<Batch>> {
        self.topics
            .get(tp.topic.index())?
            .queues
            .get(tp.p() as usize)
    }

    /// `allBatchesFull`: the partition's last batch is full, or it has none.
    fn all_batches_full(&self, tp: Tp) -> bool {
        self.deque(tp)
            .and_then(VecDeque::back)
            .is_none_or(|b| b.closed)
    }

    // ---- partitioners -------------------------------------------------------------------

    /// `RoundRobinPartitioner`: a per-topic counter, `toPositive(counter++) % n`.
    pub fn round_robin(&mut self, topic: TopicId, partitions: u32) -> u32 {
        let t = self.topic_mut(topic);
        let p = to_positive(t.round_robin as i32) % partitions;
        t.round_robin = t.round_robin.wrapping_add(1);
        p
    }

    /// The built-in partitioner's sticky partition for a keyless record, checked before
    /// the append as RecordAccumulator `partitionChanged` does: when every batch of the
    /// current partition is full (or it has none) and `batch.size` bytes went there, switch.
    pub fn java_sticky_partition(
        &mut self,
        topic: TopicId,
        cluster: &Cluster,
        rng: &mut Rng,
    ) -> u32 {
        let partitions = cluster.partition_count(topic);
        let size = self.batch_size.max(1);
        let current = match self.topic_mut(topic).sticky.current {
            Some(p) if p < partitions => p,
            _ => self.switch_sticky(topic, cluster, rng),
        };
        let produced = self.topic_mut(topic).sticky.produced_bytes;
        if produced >= size && self.all_batches_full(Tp::new(topic, current)) {
            return self.switch_sticky(topic, cluster, rng);
        }
        current
    }

    /// BuiltInPartitioner `updatePartitionInfo` after an append: count the bytes (a new
    /// batch's header included) and switch after `batch.size` once the partition's batches
    /// are full, or after twice that regardless.
    pub fn after_sticky_append(
        &mut self,
        tp: Tp,
        appended_bytes: u32,
        rng: &mut Rng,
        cluster: &Cluster,
    ) {
        let size = self.batch_size.max(1);
        let enable_switch = self.all_batches_full(tp);
        let t = self.topic_mut(tp.topic);
        if t.sticky.current != Some(tp.p()) {
            return;
        }
        t.sticky.produced_bytes = t.sticky.produced_bytes.saturating_add(appended_bytes);
        let produced = t.sticky.produced_bytes;
        if (produced >= size && enable_switch) || produced >= size.saturating_mul(2) {
            self.switch_sticky(tp.topic, cluster, rng);
        }
    }

    fn switch_sticky(&mut self, topic: TopicId, cluster: &Cluster, rng: &mut Rng) -> u32 {
        let p = self.next_partition(topic, cluster, rng);
        self.topic_mut(topic).sticky = StickyState {
            current: Some(p),
            produced_bytes: 0,
            chosen_at_ms: 0,
        };
        p
    }

    /// BuiltInPartitioner `nextPartition`: without load statistics, uniform over the
    /// partitions that have a leader (over all of them when none has); else weighted towards
    /// shorter queues through the cumulative frequency table, which leaves leaderless
    /// partitions out.
    fn next_partition(&mut self, topic: TopicId, cluster: &Cluster, rng: &mut Rng) -> u32 {
        let partitions = cluster.partition_count(topic).max(1);
        let random = to_positive(rng.next_i32());
        if let Some(stats) = &self.topic_mut(topic).load_stats {
            return stats.partition_ids[weighted_pick(&stats.cft, random) as usize];
        }
        let available: Vec<u32> = (0..partitions)
            .filter(|&p| cluster.leader(Tp::new(topic, p)).is_some())
            .collect();
        if available.is_empty() {
            random % partitions
        } else {
            available[(random % available.len() as u32) as usize]
        }
    }

    /// librdkafka's sticky partition for keyless records: re-drawn every
    /// `sticky.partitioning.linger.ms` (2 × `linger.ms`, capped at 900000).
    pub fn librdkafka_sticky_partition(
        &mut self,
        topic: TopicId,
        partitions: u32,
        now_ms: u64,
        rng: &mut Rng,
    ) -> u32 {
        let interval = self.sticky_linger_ms.max(1);
        let t = self.topic_mut(topic);
        match t.sticky.current {
            Some(p) if p < partitions && now_ms < t.sticky.chosen_at_ms + interval => p,
            _ => {
                let p = rng.below(u64::from(partitions)) as u32;
                t.sticky = StickyState {
                    current: Some(p),
                    produced_bytes: 0,
                    chosen_at_ms: now_ms,
                };
                p
            }
        }
    }

    /// RecordAccumulator `partitionReady` → BuiltInPartitioner `updatePartitionLoadStats`:
    /// once every partition of a topic has had a batch, the queue sizes (an empty queue
    /// counts 0) of the partitions with a leader weigh the next sticky pick; equal sizes
    /// over every partition mean uniform.
    pub fn update_load_stats(&mut self, cluster: &Cluster) {
        let adaptive = self.adaptive;
        for (i, t) in self.topics.iter_mut().enumerate() {
            let topic = TopicId(i as u16);
            let n = cluster.partition_count(topic) as usize;
            let all_created = n > 0 && t.created.len() >= n && t.created[..n].iter().all(|&c| c);
            t.load_stats = if adaptive && all_created {
                let (sizes, ids): (Vec<u32>, Vec<u32>) = (0..n as u32)
                    .filter(|&p| cluster.leader(Tp::new(topic, p)).is_some())
                    .map(|p| (t.queues[p as usize].len() as u32, p))
                    .unzip();
                load_stats(&sizes, n).map(|cft| LoadStats {
                    cft,
                    partition_ids: ids,
                })
            } else {
                None
            };
        }
    }

    // ---- batches ------------------------------------------------------------------------

    /// Adds a record to its partition's last batch, or a new one.
    pub fn append(&mut self, tp: Tp, record: LogRecord, bytes: u32, now_ms: u64) -> Appended {
        let limit = self.batch_size.max(1);
        let batch_id = self.next_batch_id;
        let deque = self.deque_mut(tp);
        let fits = deque
            .back()
            .is_some_and(|b| !b.closed && b.attempts == 0 && b.size_bytes + bytes <= limit);
        let mut appended_bytes = bytes;
        let opened = !fits;
        if opened {
            if let Some(last) = deque.back_mut() {
                last.closed = true;
            }
            // Room for a full batch of records this size, so the batch never regrows.
            let room = (limit / bytes.max(1)) as usize + 1;
            deque.push_back(Batch {
                batch_id,
                tp,
                records: Rc::new(Vec::with_capacity(room.min(MAX_BATCH_ROOM))),
                size_bytes: BATCH_HEADER_BYTES,
                created_ms: now_ms,
                base_sequence: None,
                epoch: 0,
                attempts: 0,
                not_before_ms: 0,
                closed: false,
            });
            appended_bytes += BATCH_HEADER_BYTES;
        }
        let batch = deque.back_mut().expect("a batch was just ensured");
        Rc::make_mut(&mut batch.records).push(record);
        batch.size_bytes = batch.size_bytes.saturating_add(bytes);
        if batch.size_bytes >= limit {
            batch.closed = true;
        }
        let full = batch.closed || deque.len() > 1;
        if opened {
            self.next_batch_id += 1;
            let t = self.topic_mut(tp.topic);
            t.created[tp.p() as usize] = true;
        }
        Appended {
            full,
            opened_batch: opened,
            bytes: appended_bytes,
        }
    }

    /// Partitions whose head batch may be sent now: full, lingered long enough, or a retry
    /// whose backoff is over.
    pub fn ready_partitions(&self, now_ms: u64) -> Vec<Tp> {
        let linger = self.linger_ms;
        let mut out = Vec::new();
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, deque) in topic.queues.iter().enumerate() {
                let ready = deque.front().is_some_and(|b| {
                    b.not_before_ms <= now_ms
                        && (b.closed
                            || deque.len() > 1
                            || b.attempts > 0
                            || now_ms >= b.created_ms.saturating_add(linger))
                });
                if ready {
                    out.push(Tp::new(TopicId(t as u16), p as u32));
                }
            }
        }
        out
    }

    /// The partition's head batch.
    pub fn head(&self, tp: Tp) -> Option<&Batch> {
        self.deque(tp)?.front()
    }

    /// Every queued batch, oldest first per partition: what a client loses when its
    /// process dies.
    pub fn take_all(&mut self) -> Vec<Batch> {
        let mut out = Vec::new();
        for topic in &mut self.topics {
            for deque in &mut topic.queues {
                out.extend(deque.drain(..));
            }
        }
        out
    }

    /// Takes the partition's head batch (it is closed from now on).
    pub fn pop(&mut self, tp: Tp) -> Option<Batch> {
        let mut b = self.deque_mut(tp).pop_front()?;
        b.closed = true;
        Some(b)
    }

    /// Puts a batch back for a retry: in sequence order with idempotence (so the broker
    /// sees no gap), else at the head of its queue (`reenqueue`), which is how a retried
    /// batch can land after a later one.
    pub fn reenqueue(&mut self, batch: Batch) {
        let deque = self.deque_mut(batch.tp);
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

    /// Removes batches past `delivery.timeout.ms` (counted from creation) or out of retries.
    pub fn take_expired(&mut self, now_ms: u64, delivery_ms: u64, retries: u32) -> Vec<Batch> {
        let mut out = Vec::new();
        for topic in &mut self.topics {
            for deque in &mut topic.queues {
                while deque.front().is_some_and(|b| {
                    now_ms >= b.created_ms.saturating_add(delivery_ms) || b.attempts > retries
                }) {
                    out.push(deque.pop_front().expect("front exists"));
                }
            }
        }
        out
    }

    /// The earliest time a queued batch becomes ready by lingering or backoff.
    pub fn next_ready_ms(&self) -> Option<u64> {
        let linger = self.linger_ms;
        self.topics
            .iter()
            .flat_map(|t| &t.queues)
            .filter_map(|d| d.front())
            .map(|b| {
                if b.attempts > 0 {
                    b.not_before_ms
                } else {
                    b.created_ms.saturating_add(linger).max(b.not_before_ms)
                }
            })
            .min()
    }

    /// Renumbers a partition's sequenced batches from 0 under a new epoch
    /// (`startSequencesAtBeginning`); returns the next sequence.
    pub fn renumber(&mut self, tp: Tp, epoch: u16) -> i32 {
        let mut next = 0i32;
        for b in self.deque_mut(tp).iter_mut() {
            if b.base_sequence.is_some() {
                b.base_sequence = Some(next);
                b.epoch = epoch;
                next = next.wrapping_add(b.records.len() as i32);
            }
        }
        next
    }

    /// Takes every batch of a deleted topic.
    pub fn take_topic(&mut self, topic: TopicId) -> Vec<Batch> {
        let t = self.topic_mut(topic);
        t.sticky = StickyState::default();
        t.load_stats = None;
        t.queues.iter_mut().flat_map(|q| q.drain(..)).collect()
    }

    /// Records waiting in the accumulator.
    pub fn queued_records(&self) -> usize {
        self.topics
            .iter()
            .flat_map(|t| &t.queues)
            .flatten()
            .map(|b| b.records.len())
            .sum()
    }

    /// The current sticky partition of a topic, if any.
    pub fn sticky_partition(&self, topic: TopicId) -> Option<u32> {
        self.topics.get(topic.index())?.sticky.current
    }
}

/// `updatePartitionLoadStats`: the cumulative frequency table for these queue sizes, or
/// `None` when fewer than 2 partitions exist or every queue has the same size.
pub fn load_stats(queue_sizes: &[u32], partitions: usize) -> Option<Vec<u32>> {
    if queue_sizes.is_empty() || partitions < 2 {
        return None;
    }
    let max = *queue_sizes.iter().max()?;
    // Equal queues over every partition: uniform. With leaderless partitions left out the
    // table still applies (over the others).
    if queue_sizes.len() == partitions && queue_sizes.iter().all(|&q| q == max) {
        return None;
    }
    let mut total = 0u32;
    Some(
        queue_sizes
            .iter()
            .map(|&q| {
                total += max + 1 - q;
                total
            })
            .collect(),
    )
}

/// The partition a uniform `random` picks from a cumulative frequency table: the first
/// entry strictly greater than `random % total`.
pub fn weighted_pick(cft: &[u32], random: u32) -> u32 {
    let total = *cft.last().unwrap_or(&1);
    let r = random % total.max(1);
    cft.iter().position(|&c| c > r).unwrap_or(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u32) -> LogRecord {
        LogRecord {
            timestamp_ms: 0,
            record_id: id,
            key: None,
            size_bytes: 100,
            flags: 0,
            producer: crate::engine::log::NO_PRODUCER,
        }
    }

    #[test]
    fn adaptive_weights_follow_queue_sizes() {
        // Kafka's BuiltInPartitionerTest.adaptivePartitionsTest: queue sizes {5,0,3,0,1}
        // give weights {1,6,3,6,5}; over 2 × 21 sequential "random" values each partition
        // is picked exactly 2 × its weight.
        let cft = load_stats(&[5, 0, 3, 0, 1], 5).expect("sizes differ");
        assert_eq!(cft, vec![1, 7, 10, 16, 21]);
        let mut counts = [0u32; 5];
        for random in 0..42 {
            counts[weighted_pick(&cft, random) as usize] += 1;
        }
        assert_eq!(counts, [2, 12, 6, 12, 10]);
        assert_eq!(load_stats(&[2, 2, 2], 3), None, "equal queues: uniform");
        assert_eq!(load_stats(&[7], 1), None, "one partition: nothing to weigh");
        // Two of three partitions have a leader: equal queues still weigh (over those two).
        assert_eq!(load_stats(&[2, 2], 3), Some(vec![1, 2]));
    }

    #[test]
    fn batches_close_at_batch_size_and_linger() {
        let config = ProducerConfig {
            batch_size: 250,
            linger_ms: 5,
            ..ProducerConfig::default()
        };
        let mut a = Accumulator::new(&config);
        let tp = Tp::new(TopicId(0), 0);
        let first = a.append(tp, rec(0), 100, 0);
        assert!(!first.full && first.opened_batch);
        assert_eq!(first.bytes, 161, "the new batch's header counts");
        assert!(a.ready_partitions(1).is_empty(), "not lingered yet");
        assert!(
            a.append(tp, rec(1), 100, 1).full,
            "61 + 100 + 100 > 250 opens a second batch"
        );
        assert_eq!(a.ready_partitions(2), vec![tp]);
        assert_eq!(a.pop(tp).unwrap().records.len(), 1);
        assert!(a.ready_partitions(2).is_empty());
        assert_eq!(a.ready_partitions(6), vec![tp]);
    }

    #[test]
    fn idempotent_retries_go_back_in_sequence_order() {
        let config = ProducerConfig {
            batch_size: 100,
            linger_ms: 0,
            ..ProducerConfig::default()
        };
        let mut a = Accumulator::new(&config);
        let tp = Tp::new(TopicId(0), 0);
        for r in 0..3 {
            a.append(tp, rec(r), 90, 0);
        }
        let mut x = a.pop(tp).unwrap();
        x.base_sequence = Some(0);
        let mut y = a.pop(tp).unwrap();
        y.base_sequence = Some(1);
        a.reenqueue(y);
        a.reenqueue(x);
        let order: Vec<Option<i32>> = (0..3).map(|_| a.pop(tp).unwrap().base_sequence).collect();
        assert_eq!(order, vec![Some(0), Some(1), None]);
    }
}
