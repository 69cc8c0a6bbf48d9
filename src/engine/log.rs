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
    /// [`LogRecord::POISON`], [`LogRecord::TOMBSTONE`] and [`LogRecord::CLEANED`], or'd.
    pub flags: u8,
    /// The producer's index, or [`NO_PRODUCER`] for a record typed by hand. Kept here
    /// (in a byte of padding) so the ledger's order check reads the log sequentially
    /// instead of jumping into the record table for every processed record.
    pub producer: u8,
}

/// [`LogRecord::producer`] of a record no producer sent.
pub const NO_PRODUCER: u8 = u8::MAX;

impl LogRecord {
    /// A poison record crashes the consumer that processes it (the lab's stand-in for a
    /// value the application cannot handle).
    pub const POISON: u8 = 1;
    /// A tombstone: a key with a null value, which deletes the key from a compacted topic.
    pub const TOMBSTONE: u8 = 2;
    /// Removed by the log cleaner: the offset stays taken (offsets are never renumbered) but
    /// no fetch returns it. The lab keeps the entry so the ledger can name what went.
    pub const CLEANED: u8 = 4;
    /// A dead letter: the copy of a record whose processing failed, written to
    /// `<topic>.dlq` by the application that gave up on it (never poison itself).
    pub const DEAD_LETTER: u8 = 8;

    /// Whether processing it throws.
    pub fn poison(&self) -> bool {
        self.flags & Self::POISON != 0
    }

    /// Whether it is a tombstone (a null value).
    pub fn tombstone(&self) -> bool {
        self.flags & Self::TOMBSTONE != 0
    }

    /// Whether it is a dead letter.
    pub fn dead_letter(&self) -> bool {
        self.flags & Self::DEAD_LETTER != 0
    }

    /// Whether the log cleaner removed it.
    pub fn cleaned(&self) -> bool {
        self.flags & Self::CLEANED != 0
    }

    /// The bytes it takes in its segment: none once the cleaner removed it.
    pub fn stored_bytes(&self) -> u64 {
        if self.cleaned() {
            0
        } else {
            u64::from(self.size_bytes)
        }
    }

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

/// One segment of a replica's log (`LogSegment`): where it starts, how many bytes it
/// holds, its largest record timestamp, and the timestamp its time-based roll counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The offset of its first record.
    pub base_offset: u64,
    /// The bytes of its records.
    pub size_bytes: u64,
    /// The largest record timestamp in it (`maxTimestampSoFar`): what `retention.ms`
    /// compares.
    pub largest_timestamp_ms: u64,
    /// The largest timestamp of its first append (`rollingBasedTimestamp`): `segment.ms`
    /// counts from it, in record time, not the broker's clock.
    pub rolling_based_timestamp_ms: u64,
}

/// When a log rolls its active segment (Kafka's `RollParams` less the jitter, which is 0
/// at `segment.jitter.ms`' default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roll {
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: u64,
}

impl Default for Roll {
    /// Kafka's defaults: 1 GiB, 7 days.
    fn default() -> Self {
        Roll {
            segment_bytes: 1 << 30,
            segment_ms: 604_800_000,
        }
    }
}

impl Roll {
    /// `LogSegment.shouldRoll` for an append of `size` bytes whose largest timestamp is
    /// `max_ts`: it would not fit, or (a segment with data) the time since its first
    /// append, in record time, is past `segment.ms`. An empty segment never rolls on time.
    pub fn should_roll(self, active: &Segment, size: u64, max_ts: u64) -> bool {
        let waited = max_ts.saturating_sub(active.rolling_based_timestamp_ms);
        active.size_bytes > self.segment_bytes.saturating_sub(size)
            || (active.size_bytes > 0 && waited > self.segment_ms)
    }
}

/// A topic's retention limits at one check (`retention.ms`, `retention.bytes`; -1: none).
/// A compact-only topic checks with neither (only the log start rule applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// `retention.ms`.
    pub retention_ms: i64,
    /// `retention.bytes`.
    pub retention_bytes: i64,
}

impl Retention {
    /// No time or size limit: only the log start rule applies.
    pub const NONE: Retention = Retention {
        retention_ms: -1,
        retention_bytes: -1,
    };
}

/// Which rule deleted segments (`UnifiedLog.deleteOldSegments` runs them in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetentionRule {
    /// Wholly below the log start offset (a follower raised it to its leader's).
    LogStart,
    /// The log was over `retention.bytes`.
    Size,
    /// The segment's newest record was older than `retention.ms`.
    Time,
}

/// A deleted segment's offsets and newest timestamp, as its event and the ledger keep them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegmentSpan {
    /// Its first offset.
    pub base_offset: u64,
    /// The offset after its last record (the next segment's base).
    pub end_offset: u64,
    /// Its largest record timestamp.
    pub largest_timestamp_ms: u64,
}

impl Deleted {
    /// The deleted segments as spans, oldest first.
    pub fn spans(&self) -> Vec<SegmentSpan> {
        let ends = self
            .segments
            .iter()
            .skip(1)
            .map(|s| s.base_offset)
            .chain(std::iter::once(self.log_start_offset));
        self.segments
            .iter()
            .zip(ends)
            .map(|(s, end_offset)| SegmentSpan {
                base_offset: s.base_offset,
                end_offset,
                largest_timestamp_ms: s.largest_timestamp_ms,
            })
            .collect()
    }
}

/// Segments one rule deleted, and the log start they left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// The rule.
    pub rule: RetentionRule,
    /// The segments, oldest first.
    pub segments: Vec<Segment>,
    /// The log start offset after them.
    pub log_start_offset: u64,
}

/// One partition replica's log and its offsets.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    log_start_offset: u64,
    /// The offset of `records[0]`: at or below the log start (records below it were
    /// deleted by retention; the lab keeps their memory, not their visibility).
    records_base: u64,
    records: ChunkVec<LogRecord>,
    high_watermark: u64,
    /// Which leader epoch wrote which offsets (truncation reads it).
    pub epochs: super::replication::EpochCache,
    /// Its segments, oldest first; the last is the active one (none before the first
    /// append).
    segments: Vec<Segment>,
    /// When it rolls.
    roll: Roll,
    /// Tombstones a cleaning pass kept, `(offset, horizon)` in offset order: when a later
    /// pass may remove them (`deleteHorizonMs`, stamped on the batch in Kafka, here per
    /// record).
    delete_horizons: Vec<(u64, u64)>,
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
        self.records_base + self.records.len() as u64
    }

    /// The end of the committed (replicated) prefix; consumers read below it.
    pub fn high_watermark(&self) -> u64 {
        self.high_watermark
    }

    /// Appends records and returns the offset of the first. With one replica they are
    /// replicated at once, so the high watermark moves with the log end.
    pub fn append(&mut self, records: &[LogRecord]) -> u64 {
        let base = self.log_end_offset();
        self.grow_segments(records);
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
        self.grow_segments(records);
        self.records.extend_from_slice(records);
        // The log end moves by exactly what was appended; offsets are never reused.
        debug_assert_eq!(self.log_end_offset(), base + records.len() as u64);
        base
    }

    /// The segments, oldest first; the last is the active one.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Sets when the log rolls (the topic's `segment.bytes` and `segment.ms`).
    pub fn set_roll(&mut self, roll: Roll) {
        self.roll = roll;
    }

    /// `UnifiedLog.maybeRoll` before an append: a new active segment at the log end when
    /// the append would not fit or the active one is old enough; then the append counts
    /// into the active segment.
    fn grow_segments(&mut self, records: &[LogRecord]) {
        if records.is_empty() {
            return;
        }
        let size: u64 = records.iter().map(LogRecord::stored_bytes).sum();
        let max_ts = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
        let roll = match self.segments.last() {
            None => true,
            Some(active) => self.roll.should_roll(active, size, max_ts),
        };
        if roll {
            self.segments.push(Segment {
                base_offset: self.log_end_offset(),
                size_bytes: 0,
                largest_timestamp_ms: max_ts,
                rolling_based_timestamp_ms: max_ts,
            });
        }
        if let Some(active) = self.segments.last_mut() {
            if active.size_bytes == 0 {
                // The first append into an empty segment starts its roll clock.
                active.rolling_based_timestamp_ms = max_ts;
            }
            active.size_bytes += size;
            active.largest_timestamp_ms = active.largest_timestamp_ms.max(max_ts);
        }
    }

    /// After a truncation to `offset`: segments that start past it go, and the one that
    /// holds it (perhaps now empty) is recounted from its remaining records
    /// (`LocalLog.truncateTo`). Its roll clock restarts from its first record (the lab
    /// keeps no batch bounds in the log).
    fn truncate_segments(&mut self, offset: u64) {
        self.segments.retain(|s| s.base_offset <= offset);
        let Some(&Segment { base_offset, .. }) = self.segments.last() else {
            return;
        };
        let (mut size, mut largest, mut first) = (0, 0, None);
        for (_, r) in self.range(base_offset, offset) {
            size += r.stored_bytes();
            largest = largest.max(r.timestamp_ms);
            first.get_or_insert(r.timestamp_ms);
        }
        if let Some(active) = self.segments.last_mut() {
            active.size_bytes = size;
            active.largest_timestamp_ms = largest;
            active.rolling_based_timestamp_ms = first.unwrap_or(0);
        }
    }

    /// `UnifiedLog.deleteOldSegments`: the log start rule, then size, then time, each
    /// deleting an unbroken run of the oldest segments that lie wholly below the high
    /// watermark. When every segment goes (the active one included: non-empty, HW at the
    /// log end), the log first rolls an empty one at the log end, as Kafka does.
    pub fn delete_old_segments(&mut self, now_ms: u64, r: Retention) -> Vec<Deleted> {
        let mut out = Vec::new();
        let start = self.log_start_offset;
        let n = self.deletable(|_, next| next.is_some_and(|n| n.base_offset <= start));
        out.extend(self.delete_prefix(n, RetentionRule::LogStart));
        if r.retention_bytes >= 0 {
            let total: u64 = self.segments.iter().map(|s| s.size_bytes).sum();
            let limit = r.retention_bytes as u64;
            if total >= limit {
                // Whole segments while they fit in the excess: never split, so the log may
                // stay over the limit by up to a segment.
                let mut excess = total - limit;
                let n = self.deletable(|s, _| {
                    let fits = s.size_bytes <= excess;
                    if fits {
                        excess -= s.size_bytes;
                    }
                    fits
                });
                out.extend(self.delete_prefix(n, RetentionRule::Size));
            }
        }
        if r.retention_ms >= 0 {
            let limit = r.retention_ms as u64;
            // Strictly older; a segment stamped in the future is never old enough.
            let old = |s: &Segment| {
                now_ms
                    .checked_sub(s.largest_timestamp_ms)
                    .is_some_and(|age| age > limit)
            };
            let n = self.deletable(|s, _| old(s));
            out.extend(self.delete_prefix(n, RetentionRule::Time));
        }
        out
    }

    /// `deletableSegments`: how many of the oldest segments in a row pass `rule` and lie
    /// wholly below the high watermark (the last one up to the log end, and not empty).
    fn deletable(&self, mut rule: impl FnMut(&Segment, Option<&Segment>) -> bool) -> usize {
        let mut n = 0;
        for (i, s) in self.segments.iter().enumerate() {
            let next = self.segments.get(i + 1);
            let upper = next.map_or(self.log_end_offset(), |x| x.base_offset);
            let last_and_empty = next.is_none() && s.size_bytes == 0;
            if self.high_watermark < upper || last_and_empty || !rule(s, next) {
                break;
            }
            n += 1;
        }
        n
    }

    /// Deletes the `n` oldest segments (`deleteSegments`), rolling an empty active segment
    /// first when all would go; the log start moves to the next segment's base.
    fn delete_prefix(&mut self, n: usize, rule: RetentionRule) -> Option<Deleted> {
        if n == 0 {
            return None;
        }
        if n == self.segments.len() {
            self.segments.push(Segment {
                base_offset: self.log_end_offset(),
                size_bytes: 0,
                largest_timestamp_ms: 0,
                rolling_based_timestamp_ms: 0,
            });
        }
        let segments: Vec<Segment> = self.segments.drain(..n).collect();
        let next = self.segments[0].base_offset;
        self.raise_log_start(next);
        let start = self.log_start_offset;
        self.delete_horizons.retain(|h| h.0 >= start);
        Some(Deleted {
            rule,
            segments,
            log_start_offset: self.log_start_offset,
        })
    }

    /// `maybeIncrementLogStartOffset`: the log start only rises, never past the high
    /// watermark (a follower takes its leader's this way; the segments wholly below it go
    /// at the next retention check).
    pub fn raise_log_start(&mut self, offset: u64) {
        let before = self.log_start_offset;
        self.log_start_offset = self.log_start_offset.max(offset.min(self.high_watermark));
        debug_assert!(
            self.log_start_offset >= before && self.log_start_offset <= self.high_watermark
        );
    }

    /// A follower whose log end is below its leader's log start starts over there
    /// (`truncateFullyAndStartAt`): every record goes, and the log is empty at `offset`.
    /// Returns the records dropped.
    pub fn truncate_fully_and_start_at(&mut self, offset: u64) -> Vec<LogRecord> {
        let dropped = self
            .range(self.log_start_offset, self.log_end_offset())
            .map(|(_, r)| *r)
            .collect();
        self.records = ChunkVec::default();
        self.records_base = offset;
        self.log_start_offset = offset;
        self.high_watermark = offset;
        self.segments.clear();
        self.delete_horizons.clear();
        self.epochs = Default::default();
        dropped
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
        let keep = (offset - self.records_base) as usize;
        let dropped: Vec<LogRecord> = self
            .records
            .range(keep, self.records.len())
            .copied()
            .collect();
        self.records.truncate(keep);
        self.delete_horizons.retain(|h| h.0 < offset);
        self.high_watermark = self.high_watermark.min(offset);
        self.epochs.truncate_from(offset);
        self.truncate_segments(offset);
        // The log now ends where it was cut, and the high watermark is not past it.
        debug_assert_eq!(self.log_end_offset(), offset);
        debug_assert!(self.log_start_offset <= self.high_watermark);
        debug_assert!(self.high_watermark <= self.log_end_offset());
        dropped
    }

    /// When the cleaner may remove the tombstone at `offset`: set by the first pass that
    /// kept it; `None` before that (or for any other record).
    pub fn delete_horizon(&self, offset: u64) -> Option<u64> {
        self.delete_horizons
            .binary_search_by_key(&offset, |h| h.0)
            .ok()
            .map(|i| self.delete_horizons[i].1)
    }

    /// Applies a cleaning pass (`Cleaner.cleanSegments`): the records at `removed` leave
    /// their segments (their offsets stay taken: nothing is renumbered), and each kept
    /// tombstone in `horizons` gets its delete horizon. Each touched segment's size and
    /// largest timestamp are recounted from the records it keeps.
    pub fn apply_cleaning(&mut self, removed: &[u64], horizons: &[(u64, u64)]) {
        for &offset in removed {
            let index = (offset - self.records_base) as usize;
            if let Some(r) = self.records.get_mut(index) {
                r.flags |= LogRecord::CLEANED;
            }
        }
        self.delete_horizons
            .retain(|h| removed.binary_search(&h.0).is_err());
        self.delete_horizons.extend(horizons.iter().copied());
        super::sort::sort(&mut self.delete_horizons);
        let touched: Vec<usize> = (0..self.segments.len())
            .filter(|&i| {
                let (from, to) = self.segment_bounds(i);
                removed.iter().any(|&o| from <= o && o < to)
            })
            .collect();
        for i in touched {
            let (from, to) = self.segment_bounds(i);
            let (mut size, mut largest) = (0, None);
            for (_, r) in self.range(from, to).filter(|(_, r)| !r.cleaned()) {
                size += r.stored_bytes();
                largest = Some(largest.unwrap_or(0).max(r.timestamp_ms));
            }
            let s = &mut self.segments[i];
            s.size_bytes = size;
            // An emptied segment keeps its old largest timestamp (the lab merges no
            // segments after cleaning, so nothing else would stamp it).
            s.largest_timestamp_ms = largest.unwrap_or(s.largest_timestamp_ms);
        }
    }

    /// The offsets segment `i` spans: its base to the next one's base (or the log end).
    pub fn segment_bounds(&self, i: usize) -> (u64, u64) {
        let from = self.segments[i].base_offset;
        let to = self
            .segments
            .get(i + 1)
            .map_or(self.log_end_offset(), |s| s.base_offset);
        (from, to)
    }

    /// The record at `offset`, if it is in the log.
    pub fn get(&self, offset: u64) -> Option<&LogRecord> {
        if offset < self.log_start_offset {
            return None;
        }
        let index = offset - self.records_base;
        self.records.get(usize::try_from(index).ok()?)
    }

    /// The first offset below the high watermark whose record's timestamp is at or after
    /// `t_ms` (the time index's answer to ListOffsets with a timestamp).
    pub fn offset_for_time(&self, t_ms: u64) -> Option<u64> {
        self.range(self.log_start_offset, self.high_watermark())
            .find(|(_, r)| !r.cleaned() && r.timestamp_ms >= t_ms)
            .map(|(offset, _)| offset)
    }

    /// Records in `[from, to)` clamped to what the log holds, with their offsets.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &LogRecord)> + '_ {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.records_base;
        self.records
            .range((start - base) as usize, (end - base) as usize)
            .enumerate()
            .map(move |(i, r)| (start + i as u64, r))
    }

    /// Records in `[from, to)` including those retention deleted (their memory is kept), for
    /// the ledger to name what a group never read.
    pub fn range_retained(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = (u64, &LogRecord)> + '_ {
        let start = from.clamp(self.records_base, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.records_base;
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
        let base = self.records_base;
        self.records
            .slices((start - base) as usize, (end - base) as usize)
    }

    /// Records in `[from, to)` clamped to what the log holds, shared rather than copied.
    pub fn share(&self, from: u64, to: u64) -> SharedRecords {
        let start = from.clamp(self.log_start_offset, self.log_end_offset());
        let end = to.min(self.log_end_offset()).max(start);
        let base = self.records_base;
        let parts = self
            .records
            .share((start - base) as usize, (end - base) as usize);
        SharedRecords {
            parts: parts.into(),
            len: (end - start) as usize,
        }
    }

    /// Number of records in the log (from its log start).
    pub fn len(&self) -> u64 {
        self.log_end_offset() - self.log_start_offset
    }

    /// True when the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This log's memory (see [`ChunkVec::memory`]).
    pub fn memory(&self) -> (usize, usize, usize) {
        self.records.memory()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100-byte record stamped `ts`.
    fn stamped(id: u32, ts: u64) -> LogRecord {
        LogRecord {
            timestamp_ms: ts,
            record_id: id,
            key: None,
            size_bytes: 100,
            flags: 0,
            producer: NO_PRODUCER,
        }
    }

    fn bases(log: &PartitionLog) -> Vec<u64> {
        log.segments().iter().map(|s| s.base_offset).collect()
    }

    /// LogSegment.shouldRoll: `size > segment.bytes - messagesSize`, so a segment fills
    /// exactly to `segment.bytes` and the next append opens a new one at the log end.
    #[test]
    fn a_segment_rolls_when_the_next_append_would_not_fit() {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: 1_000,
            segment_ms: u64::MAX,
        });
        for i in 0..10 {
            log.append_uncommitted(&[stamped(i, 0)]);
        }
        assert_eq!(bases(&log), vec![0], "1,000 bytes fit in 1,000");
        assert_eq!(log.segments()[0].size_bytes, 1_000);
        log.append_uncommitted(&[stamped(10, 0), stamped(11, 0)]);
        assert_eq!(bases(&log), vec![0, 10]);
        assert_eq!(log.segments()[1].size_bytes, 200);
    }

    /// LogSegment.timeWaitedForRoll: the incoming append's largest timestamp minus the
    /// first append's, in record time (UnifiedLogTest `testTimeBasedLogRollDuringAppend`);
    /// strictly greater than `segment.ms`.
    #[test]
    fn a_segment_rolls_on_record_time_past_segment_ms() {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: u64::MAX,
            segment_ms: 500,
        });
        log.append_uncommitted(&[stamped(0, 1_000)]);
        log.append_uncommitted(&[stamped(1, 1_500)]);
        assert_eq!(bases(&log), vec![0], "500 ms is not past 500 ms");
        log.append_uncommitted(&[stamped(2, 1_400), stamped(3, 1_501)]);
        assert_eq!(
            bases(&log),
            vec![0, 2],
            "the append's largest timestamp counts"
        );
        let s = log.segments()[1];
        assert_eq!(
            (s.rolling_based_timestamp_ms, s.largest_timestamp_ms),
            (1_501, 1_501)
        );
        assert_eq!(log.segments()[0].largest_timestamp_ms, 1_500);
        // An old timestamp (a producer's CreateTime) does not roll it.
        log.append_uncommitted(&[stamped(4, 0)]);
        assert_eq!(bases(&log).len(), 2);
    }

    /// Nine 100-byte records in three closed-and-active segments of 300 bytes: [0, 3)
    /// stamped 0–2, [3, 6) stamped 10–12, [6, 9) stamped 20–22; all committed.
    fn three_segments() -> PartitionLog {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: 300,
            segment_ms: u64::MAX,
        });
        for i in 0..9u32 {
            let ts = u64::from(i / 3) * 10 + u64::from(i % 3);
            log.append_uncommitted(&[stamped(i, ts)]);
        }
        log.set_high_watermark(9);
        assert_eq!(bases(&log), vec![0, 3, 6]);
        log
    }

    const NO_LIMITS: Retention = Retention {
        retention_ms: -1,
        retention_bytes: -1,
    };

    /// UnifiedLog.deleteRetentionMsBreachedSegments: `now − largestTimestamp > retention.ms`
    /// on the segment's newest record, deleting an unbroken run from the oldest.
    #[test]
    fn retention_ms_compares_a_segments_newest_record() {
        let mut log = three_segments();
        let r = Retention {
            retention_ms: 10,
            ..NO_LIMITS
        };
        // At 12 the first segment's newest record (2) is 10 ms old: not past 10.
        assert!(log.delete_old_segments(12, r).is_empty());
        // At 13 it is; the second (newest 12) is 1 ms old and shields every later one.
        let deleted = log.delete_old_segments(13, r);
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].rule, RetentionRule::Time);
        assert_eq!(deleted[0].segments[0].base_offset, 0);
        assert_eq!(
            log.log_start_offset(),
            3,
            "the log start jumps by a whole segment"
        );
        assert_eq!(bases(&log), vec![3, 6]);
        assert_eq!(log.get(2), None);
        assert_eq!(log.range(0, 9).next().map(|(o, _)| o), Some(3));
        assert_eq!((log.len(), log.log_end_offset()), (6, 9));
    }

    /// deletableSegments: nothing at or above the high watermark goes; a segment stamped in
    /// the future never does.
    #[test]
    fn retention_stops_at_the_high_watermark_and_future_timestamps() {
        let mut held = PartitionLog::new();
        held.set_roll(Roll {
            segment_bytes: 300,
            segment_ms: u64::MAX,
        });
        for i in 0..9 {
            held.append_uncommitted(&[stamped(i, 0)]);
        }
        held.set_high_watermark(2);
        let r = Retention {
            retention_ms: 0,
            ..NO_LIMITS
        };
        assert!(
            held.delete_old_segments(1_000, r).is_empty(),
            "[0, 3) ends above the HW"
        );
        held.set_high_watermark(3);
        assert_eq!(held.delete_old_segments(1_000, r).len(), 1);
        assert_eq!(held.log_start_offset(), 3);
        // A record from the future pins its segment.
        let mut future = PartitionLog::new();
        future.append_uncommitted(&[stamped(0, 5_000)]);
        future.append_uncommitted(&[stamped(1, 0)]);
        future.set_high_watermark(2);
        assert!(future.delete_old_segments(1_000, r).is_empty());
    }

    /// deleteSegments: when every segment is breached and the high watermark is at the log
    /// end, the log rolls an empty segment there and deletes the rest, active one included
    /// (UnifiedLogTest `testCannotDeleteSegmentsAtOrAboveHighWatermark` ends this way).
    #[test]
    fn an_expired_active_segment_goes_after_a_roll() {
        let mut log = three_segments();
        let r = Retention {
            retention_ms: 10,
            ..NO_LIMITS
        };
        let deleted = log.delete_old_segments(1_000, r);
        assert_eq!(deleted[0].segments.len(), 3);
        assert_eq!(bases(&log), vec![9]);
        assert_eq!(log.segments()[0].size_bytes, 0);
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (9, 9));
        assert!(log.is_empty());
        // The empty active segment is never deleted, and the log goes on at offset 9.
        assert!(log.delete_old_segments(2_000, r).is_empty());
        assert_eq!(log.append_uncommitted(&[stamped(9, 1_500)]), 9);
    }

    /// deleteRetentionSizeBreachedSegments: only once the log is at least `retention.bytes`,
    /// whole segments while they fit in the excess, never split; size and time are OR.
    #[test]
    fn retention_bytes_deletes_whole_segments_within_the_excess() {
        let mut log = three_segments();
        let r = Retention {
            retention_ms: -1,
            retention_bytes: 350,
        };
        // 900 bytes, 550 over: the first 300-byte segment fits, the second no longer does.
        let deleted = log.delete_old_segments(0, r);
        assert_eq!(deleted[0].rule, RetentionRule::Size);
        assert_eq!(
            bases(&log),
            vec![3, 6],
            "600 bytes stay, over the limit by less than a segment"
        );
        let both = Retention {
            retention_ms: 5,
            retention_bytes: 1_000,
        };
        let deleted = log.delete_old_segments(18, both);
        assert_eq!(
            deleted.len(),
            1,
            "under the size limit; the time rule still deletes"
        );
        assert_eq!(deleted[0].rule, RetentionRule::Time);
        assert_eq!(log.log_start_offset(), 6);
    }

    /// maybeIncrementLogStartOffset, then deleteLogStartOffsetBreachedSegments: a follower
    /// raised to its leader's log start drops the segments wholly below it, not the one it
    /// falls in; the start never passes the high watermark nor moves back.
    #[test]
    fn a_raised_log_start_deletes_the_segments_below_it() {
        let mut log = three_segments();
        log.raise_log_start(7);
        assert_eq!(log.log_start_offset(), 7);
        let deleted = log.delete_old_segments(0, NO_LIMITS);
        assert_eq!(deleted[0].rule, RetentionRule::LogStart);
        assert_eq!(bases(&log), vec![6]);
        assert_eq!(log.log_start_offset(), 7, "inside the segment it falls in");
        log.raise_log_start(5);
        assert_eq!(log.log_start_offset(), 7, "never back");
        log.raise_log_start(50);
        assert_eq!(log.log_start_offset(), 9, "never past the high watermark");
    }

    /// LocalLog.truncateTo: segments past the target go; the one holding it is recounted,
    /// and one that starts at the target stays, empty, as the active segment.
    #[test]
    fn truncation_drops_later_segments_and_recounts_the_active_one() {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: 300,
            segment_ms: u64::MAX,
        });
        for i in 0..9 {
            log.append_uncommitted(&[stamped(i, u64::from(i))]);
        }
        assert_eq!(bases(&log), vec![0, 3, 6]);
        log.truncate_to(4);
        assert_eq!(bases(&log), vec![0, 3]);
        let active = log.segments()[1];
        assert_eq!((active.size_bytes, active.largest_timestamp_ms), (100, 3));
        log.truncate_to(3);
        assert_eq!(bases(&log), vec![0, 3]);
        assert_eq!(log.segments()[1].size_bytes, 0);
        log.append_uncommitted(&[stamped(9, 50)]);
        assert_eq!(
            bases(&log),
            vec![0, 3],
            "the empty segment takes the next append"
        );
        assert_eq!(log.segments()[1].rolling_based_timestamp_ms, 50);
    }

    fn rec(id: u32) -> LogRecord {
        LogRecord {
            record_id: id,
            key: None,
            timestamp_ms: 0,
            size_bytes: 10,
            flags: 0,
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
