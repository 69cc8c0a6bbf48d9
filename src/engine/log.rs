//! Partition logs: append-only sequences of records addressed by offset.
//!
//! Each partition keeps `log_start_offset <= high_watermark <= log_end_offset`.
//! The lab runs one replica per partition, so the high watermark follows the log end
//! as soon as the leader appends; the leader is still named, for replication later.

/// An interned key: an index into the simulation's key table.
pub type KeyId = u32;

/// A record as it sits in a partition log. Kept small: a million of these stay cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogRecord {
    /// The ledger's id of the produced record this entry is a copy of.
    /// A retried batch without idempotence appends a second copy with the same id.
    pub record_id: u32,
    /// The record's key, or `None` for a null key.
    pub key: Option<KeyId>,
    /// Producer timestamp (virtual time).
    pub timestamp_ms: u64,
}

/// One partition: its log and its offsets.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    /// The broker that leads this partition (always 0 while there is one replica).
    pub leader: u32,
    log_start_offset: u64,
    records: Vec<LogRecord>,
    high_watermark: u64,
}

impl PartitionLog {
    /// An empty log led by broker 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// The offset the next appended record will get.
    pub fn log_end_offset(&self) -> u64 {
        self.log_start_offset + self.records.len() as u64
    }

    /// The end of the committed (replicated) prefix; consumers read below it.
    pub fn high_watermark(&self) -> u64 {
        self.high_watermark
    }

    /// Appends a record and returns its offset. With one replica the record is
    /// replicated at once, so the high watermark moves with the log end.
    pub fn append(&mut self, record: LogRecord) -> u64 {
        let offset = self.log_end_offset();
        self.records.push(record);
        self.high_watermark = self.log_end_offset();
        offset
    }

    /// The record at `offset`, if it is in the log.
    pub fn get(&self, offset: u64) -> Option<&LogRecord> {
        let index = offset.checked_sub(self.log_start_offset)?;
        self.records.get(usize::try_from(index).ok()?)
    }

    /// Records in `[from, to)` clamped to what the log holds, with their offsets.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &LogRecord)> + '_ {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.log_start_offset;
        self.records[(start - base) as usize..(end - base) as usize]
            .iter()
            .enumerate()
            .map(move |(i, r)| (start + i as u64, r))
    }

    /// Number of records in the log.
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// True when the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u32) -> LogRecord {
        LogRecord {
            record_id: id,
            key: None,
            timestamp_ms: 0,
        }
    }

    #[test]
    fn offsets_start_at_zero_and_grow() {
        let mut log = PartitionLog::new();
        assert_eq!(
            (
                log.log_start_offset(),
                log.log_end_offset(),
                log.high_watermark()
            ),
            (0, 0, 0)
        );
        assert_eq!(log.append(rec(7)), 0);
        assert_eq!(log.append(rec(8)), 1);
        assert_eq!((log.log_end_offset(), log.high_watermark()), (2, 2));
        assert_eq!(log.get(1).map(|r| r.record_id), Some(8));
        assert_eq!(log.get(2), None);
    }

    #[test]
    fn range_clamps() {
        let mut log = PartitionLog::new();
        for i in 0..5 {
            log.append(rec(i));
        }
        let got: Vec<u64> = log.range(3, 99).map(|(o, _)| o).collect();
        assert_eq!(got, vec![3, 4]);
        assert_eq!(log.range(9, 2).count(), 0);
    }
}
