//! The simulated Kafka: pure, deterministic Rust with no web dependency.
//!
//! [`Sim`] is the facade the UI drives. Same config, seed and commands give the same
//! events, bit for bit: time is virtual and every random draw goes through [`rng::Rng`].

pub mod error;
pub mod event;
pub mod keys;
pub mod log;
pub mod partitioner;
pub mod rng;
pub mod topic;

use error::EngineError;
use event::{Event, PartitionReason, TraceHash};
use keys::KeyTable;
use log::LogRecord;
use rng::Rng;
use topic::Topic;

/// The longest key the lab accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// The longest value the lab accepts, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Where a produced record landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The ledger id of the record.
    pub record_id: u32,
    /// The partition chosen.
    pub partition: u32,
    /// The offset it got.
    pub offset: u64,
    /// Why that partition.
    pub reason: PartitionReason,
}

/// The simulation: one topic, its keys, a virtual clock and the event trace.
#[derive(Clone, Debug)]
pub struct Sim {
    now_ms: u64,
    rng: Rng,
    topic: Topic,
    keys: KeyTable,
    next_record_id: u32,
    /// Values typed by hand, by record id; generated records carry none.
    values: std::collections::BTreeMap<u32, String>,
    events: Vec<Event>,
    trace: TraceHash,
}

impl Sim {
    /// A simulation of one topic with `partitions` partitions, seeded with `seed`.
    ///
    /// # Errors
    /// When the partition count is outside 1 to [`topic::MAX_PARTITIONS`].
    pub fn new(topic_name: &str, partitions: u32, seed: u64) -> Result<Self, EngineError> {
        Ok(Sim {
            now_ms: 0,
            rng: Rng::new(seed),
            topic: Topic::new(topic_name, partitions)?,
            keys: KeyTable::default(),
            next_record_id: 0,
            values: std::collections::BTreeMap::new(),
            events: Vec::new(),
            trace: TraceHash::default(),
        })
    }

    /// Virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The topic.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// The key table.
    pub fn keys(&self) -> &KeyTable {
        &self.keys
    }

    /// The value typed for a record, if any.
    pub fn value(&self, record_id: u32) -> Option<&str> {
        self.values.get(&record_id).map(String::as_str)
    }

    /// A random order key, `order-0` to `order-99`, drawn from the seeded stream.
    pub fn random_order_key(&mut self) -> String {
        format!("order-{}", self.rng.below(100))
    }

    /// Every event so far, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The hash of the whole event trace.
    pub fn trace_hash(&self) -> u64 {
        self.trace.value()
    }

    /// The seeded RNG, for workload generators that must share the one stream.
    pub fn rng_mut(&mut self) -> &mut Rng {
        &mut self.rng
    }

    fn emit(&mut self, event: Event) {
        self.trace.push(&event);
        self.events.push(event);
    }

    /// Produces one record. A key goes where the Java producer puts it (murmur2);
    /// a null key goes to a seeded uniform pick, a stand-in for the sticky partitioner.
    ///
    /// # Errors
    /// When the key is longer than [`MAX_KEY_BYTES`].
    pub fn produce(&mut self, key: Option<&str>, value: &str) -> Result<Appended, EngineError> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(EngineError::InvalidCommand(format!(
                "a value may be at most {MAX_VALUE_BYTES} bytes; this one has {}",
                value.len()
            )));
        }
        let n = self.topic.partition_count();
        let (key_id, partition, reason) = match key {
            Some(k) => {
                if k.len() > MAX_KEY_BYTES {
                    return Err(EngineError::InvalidCommand(format!(
                        "a key may be at most {MAX_KEY_BYTES} bytes; this one has {}",
                        k.len()
                    )));
                }
                let id = self.keys.intern(k);
                let hash = self.keys.get(id).map_or(0, |info| info.murmur2);
                (
                    Some(id),
                    partitioner::to_positive(hash) % n,
                    PartitionReason::Murmur2 {
                        hash,
                        partition_count: n,
                    },
                )
            }
            None => (
                None,
                self.rng.below(u64::from(n)) as u32,
                PartitionReason::Random,
            ),
        };
        let record_id = self.next_record_id;
        self.next_record_id += 1;
        if !value.is_empty() {
            self.values.insert(record_id, value.to_owned());
        }
        let record = LogRecord {
            record_id,
            key: key_id,
            timestamp_ms: self.now_ms,
        };
        let offset = self
            .topic
            .partition_mut(partition)
            .map_or(0, |log| log.append(record));
        let appended = Appended {
            record_id,
            partition,
            offset,
            reason,
        };
        self.emit(Event::RecordAppended {
            at_ms: self.now_ms,
            record_id,
            key: key_id,
            partition,
            offset,
            reason: appended.reason.clone(),
        });
        self.now_ms += 1;
        Ok(appended)
    }

    /// Grows the topic to `total` partitions and reports every known key that now maps
    /// to another partition (Kafka does not move old records; new ones go elsewhere).
    ///
    /// # Errors
    /// When `total` is not more than the current count, or above the cap.
    pub fn add_partitions(
        &mut self,
        total: u32,
    ) -> Result<Vec<(log::KeyId, u32, u32)>, EngineError> {
        let from = self.topic.partition_count();
        self.topic.add_partitions(total)?;
        let moved: Vec<_> = self
            .keys
            .iter()
            .filter_map(|(id, info)| {
                let before = partitioner::to_positive(info.murmur2) % from;
                let after = partitioner::to_positive(info.murmur2) % total;
                (before != after).then_some((id, before, after))
            })
            .collect();
        self.emit(Event::PartitionsAdded {
            at_ms: self.now_ms,
            from,
            to: total,
            moved: moved.clone(),
        });
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_records_land_where_java_puts_them() {
        let mut sim = Sim::new("orders", 3, 1).unwrap();
        let a = sim.produce(Some("order-42"), "").unwrap();
        assert_eq!(a.partition, partitioner::java_partition(b"order-42", 3));
        assert_eq!(
            a.reason,
            PartitionReason::Murmur2 {
                hash: 501153024,
                partition_count: 3
            }
        );
        assert_eq!(a.offset, 0);
        let b = sim.produce(Some("order-42"), "").unwrap();
        assert_eq!((b.partition, b.offset), (a.partition, 1));
    }

    #[test]
    fn overlong_key_is_an_error() {
        let mut sim = Sim::new("orders", 3, 1).unwrap();
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(sim.produce(Some(&long), "").is_err());
        assert_eq!(sim.topic().record_count(), 0);
    }

    #[test]
    fn adding_partitions_reports_moved_keys() {
        let mut sim = Sim::new("orders", 3, 1).unwrap();
        for i in 0..20 {
            sim.produce(Some(&format!("order-{i}")), "").unwrap();
        }
        let moved = sim.add_partitions(4).unwrap();
        for (id, from, to) in &moved {
            let name = &sim.keys().get(*id).unwrap().name;
            assert_eq!(*from, partitioner::java_partition(name.as_bytes(), 3));
            assert_eq!(*to, partitioner::java_partition(name.as_bytes(), 4));
        }
        assert!(!moved.is_empty());
        assert!(sim.add_partitions(2).is_err());
    }

    #[test]
    fn same_seed_same_trace() {
        let run = |seed| {
            let mut sim = Sim::new("t", 5, seed).unwrap();
            for i in 0..50 {
                let key = (i % 3 != 0).then(|| format!("k{i}"));
                sim.produce(key.as_deref(), "").unwrap();
            }
            sim.trace_hash()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
