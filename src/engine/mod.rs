//! The simulated Kafka: pure, deterministic Rust with no web dependency.
//!
//! [`Sim`] is the facade the UI drives. Same config, seed and commands give the same
//! events, bit for bit: time is virtual, every random draw goes through [`rng::Rng`], and
//! every collection that reaches output iterates in a stable order.

pub mod assignor;
pub mod config;
pub mod error;
pub mod event;
pub mod group;
pub mod history;
pub mod keys;
pub mod ledger;
pub mod log;
pub mod partitioner;
pub mod producer;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod topic;

pub use sim::{
    Appended, Command, DescribeRow, GroupMetrics, Metrics, PartitionMetrics, SeekTo, Sim,
    MAX_KEY_BYTES, MAX_VALUE_BYTES,
};

#[cfg(test)]
mod tests {
    use super::event::PartitionReason;
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
