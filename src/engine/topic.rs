//! A topic: named, with 1 to [`MAX_PARTITIONS`] partition logs. Partitions can only be added.

use super::error::EngineError;
use super::log::PartitionLog;

/// The most partitions a topic may have in the lab.
pub const MAX_PARTITIONS: u32 = 64;

/// A topic and its partition logs.
#[derive(Clone, Debug)]
pub struct Topic {
    /// The topic name.
    pub name: String,
    partitions: Vec<PartitionLog>,
}

impl Topic {
    /// A topic with `partitions` empty logs.
    ///
    /// # Errors
    /// When `partitions` is 0 or above [`MAX_PARTITIONS`], or the name is empty.
    pub fn new(name: &str, partitions: u32) -> Result<Self, EngineError> {
        if name.trim().is_empty() {
            return Err(EngineError::InvalidCommand("a topic needs a name".into()));
        }
        check_partition_count(partitions)?;
        Ok(Topic {
            name: name.to_owned(),
            partitions: (0..partitions).map(|_| PartitionLog::new()).collect(),
        })
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// One partition's log.
    pub fn partition(&self, partition: u32) -> Option<&PartitionLog> {
        self.partitions.get(partition as usize)
    }

    /// One partition's log, mutably.
    pub fn partition_mut(&mut self, partition: u32) -> Option<&mut PartitionLog> {
        self.partitions.get_mut(partition as usize)
    }

    /// All partitions in order.
    pub fn partitions(&self) -> &[PartitionLog] {
        &self.partitions
    }

    /// Grows the topic to `total` partitions. Kafka can add partitions but never remove them.
    ///
    /// # Errors
    /// When `total` is not larger than the current count, or above [`MAX_PARTITIONS`].
    pub fn add_partitions(&mut self, total: u32) -> Result<(), EngineError> {
        check_partition_count(total)?;
        if total <= self.partition_count() {
            return Err(EngineError::InvalidCommand(format!(
                "topic `{}` has {} partitions; Kafka can add partitions but never remove them",
                self.name,
                self.partition_count()
            )));
        }
        self.partitions
            .resize_with(total as usize, PartitionLog::new);
        Ok(())
    }

    /// Total records over all partitions.
    pub fn record_count(&self) -> u64 {
        self.partitions.iter().map(PartitionLog::len).sum()
    }
}

/// Checks a partition count against the lab's range, 1 to [`MAX_PARTITIONS`].
///
/// # Errors
/// When the count is outside that range.
pub fn check_partition_count(partitions: u32) -> Result<(), EngineError> {
    if partitions == 0 || partitions > MAX_PARTITIONS {
        return Err(EngineError::InvalidConfig {
            name: "num.partitions".into(),
            reason: format!("must be between 1 and {MAX_PARTITIONS}, got {partitions}"),
        });
    }
    Ok(())
}
