//! Partition logs: append-only sequences of records addressed by offset.
//!
//! Each log keeps `log_start_offset <= high_watermark <= log_end_offset`. With one replica
//! per partition the high watermark follows the log end as soon as the leader appends.

use std::rc::Rc;

use super::chunked::ChunkVec;

/// An interned key: an index into the simulation's key table.
pub type KeyId = u32;

/// A record as it sits in a partition log. Kept small: a million of these stay cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogRecord {
    /// Producer timestamp (virtual time).
    pub timestamp_ms: u64,
    /// The ledger's id of the produced record this entry is a copy of.
    /// A retried batch without idempotence appends a second copy with the same id.
    pub record_id: u32,
    /// The record's key, or `None` for a null key.
    pub key: Option<KeyId>,
    /// Estimated size on the wire: key, value and framing (capped at 65535).
    pub size_bytes: u16,
    /// A poison record crashes the consumer that processes it (the lab's stand-in for a
    /// value the application cannot handle).
    pub poison: bool,
    /// The producer's index, or [`NO_PRODUCER`] for a record typed by hand. Kept here
    /// (in a byte of padding) so the ledger's order check reads the log sequentially
    /// instead of jumping into the record table for every processed record.
    pub producer: u8,
}

/// [`LogRecord::producer`] of a record no producer sent.
pub const NO_PRODUCER: u8 = u8::MAX;

impl LogRecord {
    /// The producer that sent it, if any.
    pub fn producer(&self) -> Option<super::ids::ProducerId> {
        (self.producer != NO_PRODUCER).then(|| super::ids::ProducerId(u16::from(self.producer)))
    }
}

/// A shared chunk of a log and the range of it that is read.
type Part = (Rc<Vec<LogRecord>>, usize, usize);

/// Records read from a log without copying it: a fetch is zero-copy, as Kafka's is (the
/// broker sends log segments with `sendfile`). Full log chunks are shared by reference;
/// cloning this shares the parts too.
#[derive(Clone, Debug, Default)]
pub struct SharedRecords {
    parts: Rc<[Part]>,
    len: usize,
}

impl SharedRecords {
    /// Records already in a vector of their own.
    pub fn from_vec(records: Vec<LogRecord>) -> Self {
        let len = records.len();
        SharedRecords {
            parts: Rc::from([(Rc::new(records), 0, len)]),
            len,
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The record at `index`.
    pub fn get(&self, mut index: usize) -> Option<&LogRecord> {
        for (chunk, from, to) in self.parts.iter() {
            if index < to - from {
                return chunk.get(from + index);
            }
            index -= to - from;
        }
        None
    }

    /// The records in `from..to` (clamped), as contiguous slices in order.
    pub fn slices(&self, from: usize, to: usize) -> impl Iterator<Item = &[LogRecord]> + '_ {
        let to = to.min(self.len);
        let mut skip = from.min(to);
        let mut left = to - skip;
        self.parts.iter().filter_map(move |(chunk, start, end)| {
            let n = end - start;
            if skip >= n {
                skip -= n;
                return None;
            }
            let take = (n - skip).min(left);
            let s = &chunk[start + skip..start + skip + take];
            skip = 0;
            left -= take;
            (take > 0).then_some(s)
        })
    }
}

impl PartialEq for SharedRecords {
    /// Equal when they hold the same records in the same order, however they are shared.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self
                .slices(0, self.len)
                .flatten()
                .eq(other.slices(0, other.len).flatten())
    }
}

impl Eq for SharedRecords {}

/// One partition replica's log and its offsets.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    log_start_offset: u64,
    records: ChunkVec<LogRecord>,
    high_watermark: u64,
    /// Which leader epoch wrote which offsets (truncation reads it).
    pub epochs: super::replication::EpochCache,
}

impl PartitionLog {
    /// Where this log parts from `other`: every record below the returned offset is the
    /// same in both. Found from the leader epochs as a follower with this log would find it
    /// fetching from a leader with `other` (one round), then checked record by record
    /// downwards (so it is exact where the epochs would need another round).
    pub fn divergence(&self, other: &PartitionLog) -> u64 {
        let leo = self.log_end_offset();
        let mut from = match self.epochs.latest() {
            Some(epoch) => match other.epochs.end_offset_for(epoch, other.log_end_offset()) {
                Some((e, end)) => super::replication::truncation_offset(&self.epochs, leo, e, end),
                None => self.log_start_offset(),
            },
            None => leo.min(other.log_end_offset()),
        };
        from = from.min(leo).min(other.log_end_offset());
        let floor = self.log_start_offset().max(other.log_start_offset());
        while from > floor {
            let same = match (self.get(from - 1), other.get(from - 1)) {
                (Some(x), Some(y)) => x.record_id == y.record_id,
                _ => false,
            };
            if same {
                break;
            }
            from -= 1;
        }
        from
    }

    /// An empty log.
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

    /// Appends records and returns the offset of the first. With one replica they are
    /// replicated at once, so the high watermark moves with the log end.
    pub fn append(&mut self, records: &[LogRecord]) -> u64 {
        let base = self.log_end_offset();
        self.records.extend_from_slice(records);
        self.high_watermark = self.log_end_offset();
        debug_assert!(self.log_start_offset <= self.high_watermark);
        debug_assert!(self.high_watermark <= self.log_end_offset());
        base
    }

    /// Appends records without moving the high watermark (a replicated log: the leader
    /// moves it when its followers have the records) and returns the first one's offset.
    pub fn append_uncommitted(&mut self, records: &[LogRecord]) -> u64 {
        let base = self.log_end_offset();
        debug_assert!(
            self.high_watermark <= base,
            "high watermark past the log end"
        );
        self.records.extend_from_slice(records);
        // The log end moves by exactly what was appended; offsets are never reused.
        debug_assert_eq!(self.log_end_offset(), base + records.len() as u64);
        base
    }

    /// Moves the high watermark to `hw` (clamped to the log end). It never goes back
    /// except through [`PartitionLog::truncate_to`].
    pub fn set_high_watermark(&mut self, hw: u64) {
        let before = self.high_watermark;
        let hw = hw.min(self.log_end_offset());
        if hw > self.high_watermark {
            self.high_watermark = hw;
        }
        // In pairs: it only grows, and never passes the log end.
        debug_assert!(self.high_watermark >= before);
        debug_assert!(self.high_watermark <= self.log_end_offset());
    }

    /// Drops every record from `offset` on (a follower whose log diverged from its new
    /// leader's) and returns them, oldest first.
    pub fn truncate_to(&mut self, offset: u64) -> Vec<LogRecord> {
        let offset = offset.max(self.log_start_offset);
        if offset >= self.log_end_offset() {
            // UnifiedLog.truncateTo: nothing to drop, but an epoch that starts at the log end
            // with no record goes (a leader that appended nothing before the next election).
            self.epochs.truncate_from(self.log_end_offset());
            return Vec::new();
        }
        let keep = (offset - self.log_start_offset) as usize;
        let dropped: Vec<LogRecord> = self
            .records
            .range(keep, self.records.len())
            .copied()
            .collect();
        self.records.truncate(keep);
        self.high_watermark = self.high_watermark.min(offset);
        self.epochs.truncate_from(offset);
        // The log now ends where it was cut, and the high watermark is not past it.
        debug_assert_eq!(self.log_end_offset(), offset);
        debug_assert!(self.log_start_offset <= self.high_watermark);
        debug_assert!(self.high_watermark <= self.log_end_offset());
        dropped
    }

    /// The record at `offset`, if it is in the log.
    pub fn get(&self, offset: u64) -> Option<&LogRecord> {
        let index = offset.checked_sub(self.log_start_offset)?;
        self.records.get(usize::try_from(index).ok()?)
    }

    /// The first offset below the high watermark whose record's timestamp is at or after
    /// `t_ms` (the time index's answer to ListOffsets with a timestamp).
    pub fn offset_for_time(&self, t_ms: u64) -> Option<u64> {
        self.range(self.log_start_offset, self.high_watermark())
            .find(|(_, r)| r.timestamp_ms >= t_ms)
            .map(|(offset, _)| offset)
    }

    /// Records in `[from, to)` clamped to what the log holds, with their offsets.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &LogRecord)> + '_ {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.log_start_offset;
        self.records
            .range((start - base) as usize, (end - base) as usize)
            .enumerate()
            .map(move |(i, r)| (start + i as u64, r))
    }

    /// Records in `[from, to)` clamped to what the log holds, as contiguous slices in order
    /// (the hot paths copy or scan whole slices instead of one record at a time).
    pub fn slices(&self, from: u64, to: u64) -> impl Iterator<Item = &[LogRecord]> + '_ {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.log_start_offset;
        self.records
            .slices((start - base) as usize, (end - base) as usize)
    }

    /// Records in `[from, to)` clamped to what the log holds, shared rather than copied.
    pub fn share(&self, from: u64, to: u64) -> SharedRecords {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.log_start_offset;
        let parts = self
            .records
            .share((start - base) as usize, (end - base) as usize);
        SharedRecords {
            parts: parts.into(),
            len: (end - start) as usize,
        }
    }

    /// Number of records in the log.
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// True when the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// This log's memory (see [`ChunkVec::memory`]).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.records.memory()
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
            size_bytes: 10,
            poison: false,
            producer: NO_PRODUCER,
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
        assert_eq!(log.append(&[rec(7)]), 0);
        assert_eq!(log.append(&[rec(8)]), 1);
        assert_eq!((log.log_end_offset(), log.high_watermark()), (2, 2));
        assert_eq!(log.get(1).map(|r| r.record_id), Some(8));
        assert_eq!(log.get(2), None);
    }

    #[test]
    fn range_clamps() {
        let mut log = PartitionLog::new();
        let recs: Vec<LogRecord> = (0..5).map(rec).collect();
        log.append(&recs);
        let got: Vec<u64> = log.range(3, 99).map(|(o, _)| o).collect();
        assert_eq!(got, vec![3, 4]);
        assert_eq!(log.range(9, 2).count(), 0);
    }

    /// A shared read holds the same records as a copy, across full chunks and the tail,
    /// and the log keeps appending after it.
    #[test]
    fn a_shared_read_equals_a_copy() {
        let mut log = PartitionLog::new();
        let recs: Vec<LogRecord> = (0..10_000).map(rec).collect();
        log.append(&recs);
        for (from, to) in [
            (0, 0),
            (0, 10_000),
            (4_000, 8_300),
            (9_990, 20_000),
            (4_096, 4_097),
        ] {
            let shared = log.share(from, to);
            let copy: Vec<LogRecord> = log.range(from, to).map(|(_, r)| *r).collect();
            assert_eq!(shared.len(), copy.len());
            assert_eq!(
                shared,
                SharedRecords::from_vec(copy.clone()),
                "{from}..{to}"
            );
            for i in [0, copy.len() / 2, copy.len().saturating_sub(1)] {
                assert_eq!(shared.get(i), copy.get(i));
            }
            assert_eq!(shared.get(copy.len()), None);
            let part: Vec<LogRecord> = shared.slices(3, 200).flatten().copied().collect();
            assert_eq!(part, copy[3.min(copy.len())..200.min(copy.len())]);
        }
        let before = log.share(9_000, 10_000);
        log.append(&[rec(77)]);
        assert_eq!(before.len(), 1_000);
        assert_eq!(before.get(999).map(|r| r.record_id), Some(9_999));
    }

    #[test]
    fn a_record_stays_24_bytes() {
        assert_eq!(std::mem::size_of::<LogRecord>(), 24);
    }
}
