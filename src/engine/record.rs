//! The producer-side facts of each record, written once when it is sent and updated as
//! the producer and the broker learn its fate. Kept small: millions of these stay cheap.

use super::event::PartitionReason;
use super::ids::{ProducerId, TopicId, Tp};
use super::keys::KeyTable;
use super::log::KeyId;

/// `first_offset` of a record not yet in the log.
pub const NO_OFFSET: u64 = u64::MAX;

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

/// How the partition was chosen, without the numbers the key table already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReasonTag {
    /// murmur2 of the key.
    Murmur2,
    /// CRC-32 of the key (librdkafka).
    Crc32,
    /// The sticky partition.
    Sticky,
    /// Round robin.
    RoundRobin,
    /// A seeded uniform pick.
    Random,
    /// Named by the application.
    Explicit,
}

/// The producer-side facts of one record: 32 bytes (the key, partition and producer are
/// packed; read them through [`RecordInfo::key`], [`RecordInfo::tp`] and
/// [`RecordInfo::producer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// When `send()` was called.
    pub produced_ms: u64,
    /// The offset of its first copy in the log ([`NO_OFFSET`] until appended; a sentinel
    /// instead of `Option` keeps the struct small).
    pub first_offset: u64,
    /// The key id, or [`NO_KEY`] for a null key.
    key: KeyId,
    /// The topic index.
    topic: u16,
    /// The partition (at most [`super::cluster::MAX_PARTITIONS`]).
    partition: u16,
    /// The producer's index, or [`NO_PRODUCER`] when typed by hand.
    producer: u8,
    /// Copies in the log (more than one = a duplicate left by a retry).
    pub copies: u8,
    /// What the producer knows.
    pub status: ProduceStatus,
    /// How the partition was chosen.
    pub reason: ReasonTag,
    /// The topic's partition count when it was chosen.
    pub partition_count: u8,
    /// A poison record crashes the consumer that processes it.
    pub poison: bool,
    /// Sent, and will never reach the log (acks=0 request lost, or failed before any copy
    /// was appended).
    pub never_in_log: bool,
    /// Where it is when no copy is in the partition's current log.
    pub held: Held,
}

/// Where a record is when its partition's current log (its leader's) holds no copy of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Held {
    /// Nowhere else: in the producer (or in the current log).
    #[default]
    Clear,
    /// On a replica outside the current log: it left the log at an election, or a leader
    /// that had lost its leadership appended it. It is lost once no replica holds it, or
    /// back if a replica holding it is elected.
    Stray,
    /// It was in a log and no replica holds it any more; its producer is retrying it.
    Returned,
    /// It was in a log and no replica holds it any more, and nobody will send it again: lost
    /// for every group that had not read it.
    Gone,
}

/// [`RecordInfo`]'s packed null key.
const NO_KEY: KeyId = KeyId::MAX;
/// [`RecordInfo`]'s packed "no producer" (records typed by hand).
const NO_PRODUCER: u8 = u8::MAX;

impl RecordInfo {
    /// A record just sent (in flight, not yet in the log).
    pub fn sent(
        produced_ms: u64,
        key: Option<KeyId>,
        tp: Tp,
        producer: Option<ProducerId>,
        reason: ReasonTag,
        partition_count: u32,
        poison: bool,
    ) -> Self {
        debug_assert!(key != Some(NO_KEY));
        debug_assert!(producer.is_none_or(|p| p.0 < u16::from(NO_PRODUCER)));
        RecordInfo {
            produced_ms,
            first_offset: NO_OFFSET,
            key: key.unwrap_or(NO_KEY),
            topic: tp.topic.0,
            partition: tp.p() as u16,
            producer: producer.map_or(NO_PRODUCER, |p| p.0 as u8),
            copies: 0,
            status: ProduceStatus::InFlight,
            reason,
            partition_count: partition_count.min(255) as u8,
            poison,
            never_in_log: false,
            held: Held::Clear,
        }
    }

    /// The key, or `None` for a null key.
    pub fn key(&self) -> Option<KeyId> {
        (self.key != NO_KEY).then_some(self.key)
    }

    /// Where the partitioner put it.
    pub fn tp(&self) -> Tp {
        Tp::new(TopicId(self.topic), u32::from(self.partition))
    }

    /// The producer (`None`: typed by hand, appended directly).
    pub fn producer(&self) -> Option<ProducerId> {
        (self.producer != NO_PRODUCER).then(|| ProducerId(u16::from(self.producer)))
    }

    /// The full partition reason, with the hash recomputed from the key table.
    pub fn reason(&self, keys: &KeyTable) -> PartitionReason {
        let key = self.key().and_then(|k| keys.get(k));
        let partition_count = u32::from(self.partition_count);
        match (self.reason, key) {
            (ReasonTag::Murmur2, Some(k)) => PartitionReason::Murmur2 {
                hash: k.murmur2,
                partition_count,
            },
            (ReasonTag::Crc32, Some(k)) => PartitionReason::Crc32 {
                hash: k.crc32,
                partition_count,
            },
            (ReasonTag::RoundRobin, _) => PartitionReason::RoundRobin,
            (ReasonTag::Random, _) => PartitionReason::Random,
            (ReasonTag::Explicit, _) => PartitionReason::Explicit,
            _ => PartitionReason::Sticky,
        }
    }

    /// The offset of its first copy, if it is in the log.
    pub fn first_offset(&self) -> Option<u64> {
        (self.first_offset != NO_OFFSET).then_some(self.first_offset)
    }

    /// True once a copy is in the log.
    pub fn in_log(&self) -> bool {
        self.copies > 0
    }

    /// True while some replica holds a copy: in the current log, or stray (the ledger
    /// counts it as pending in the log).
    pub fn held(&self) -> bool {
        self.copies > 0 || self.held == Held::Stray
    }
}

/// The compact tag of a full reason.
pub fn tag_of(reason: &PartitionReason) -> ReasonTag {
    match reason {
        PartitionReason::Murmur2 { .. } => ReasonTag::Murmur2,
        PartitionReason::Crc32 { .. } => ReasonTag::Crc32,
        PartitionReason::Sticky => ReasonTag::Sticky,
        PartitionReason::RoundRobin => ReasonTag::RoundRobin,
        PartitionReason::Random => ReasonTag::Random,
        PartitionReason::Explicit => ReasonTag::Explicit,
    }
}

#[cfg(test)]
mod tests {
    /// Memory per retained record is a budget (BENCHMARKS.md); this fails if it grows.
    #[test]
    fn record_facts_stay_small() {
        assert!(
            std::mem::size_of::<super::RecordInfo>() <= 32,
            "{}",
            std::mem::size_of::<super::RecordInfo>()
        );
    }
}
