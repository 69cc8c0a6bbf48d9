//! The log cleaner: which compacted log it takes and what one pass removes (Kafka's
//! `LogCleanerManager.grabFilthiestCompactedLog` and `cleanableOffsets`, `LogToClean`, and
//! `Cleaner.doClean` with its record filter). Pure functions of a replica's log; the broker
//! runs them every `log.cleaner.backoff.ms` on every log it hosts, leader or follower.

use super::cluster::{Compaction, RATIO_ONE};
use super::log::{KeyId, PartitionLog};

/// `log.cleaner.backoff.ms`: how long the cleaner sleeps when no log needs cleaning.
pub const LOG_CLEANER_BACKOFF_MS: u64 = 15_000;

/// What the cleaner would take from one log (`LogToClean`): its clean head, its dirty tail
/// up to the first offset it may not touch, and why it would be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogToClean {
    /// Where the last pass stopped (the cleaner checkpoint, at least the log start).
    pub first_dirty_offset: u64,
    /// The base of the segment that holds the first offset it may not clean: the active
    /// segment's base, the high watermark's segment, or the first segment younger than
    /// `min.compaction.lag.ms`, whichever comes first.
    pub first_uncleanable_offset: u64,
    /// Bytes of the segments below the first dirty offset (cleaned before).
    pub clean_bytes: u64,
    /// Bytes of the segments from the first dirty to the first uncleanable offset.
    pub cleanable_bytes: u64,
    /// A dirty record is older than `max.compaction.lag.ms`: the log is cleaned whatever
    /// its dirty ratio (`needCompactionNow`).
    pub need_compaction_now: bool,
}

impl LogToClean {
    /// `cleanableBytes / (cleanBytes + cleanableBytes)`, in millionths.
    pub fn cleanable_ratio_ppm(&self) -> u64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            return 0;
        }
        (u128::from(self.cleanable_bytes) * u128::from(RATIO_ONE) / u128::from(total)) as u64
    }

    /// Whether the cleaner takes it: forced by the maximum lag with something to clean,
    /// or dirtier than `min.cleanable.dirty.ratio` (strictly, as Kafka compares).
    pub fn eligible(&self, c: &Compaction) -> bool {
        let total = u128::from(self.clean_bytes + self.cleanable_bytes);
        let dirty_enough = u128::from(self.cleanable_bytes) * u128::from(RATIO_ONE)
            > u128::from(c.min_cleanable_dirty_ratio_ppm) * total;
        total > 0 && ((self.need_compaction_now && self.cleanable_bytes > 0) || dirty_enough)
    }
}

/// `cleanableOffsets` and `LogToClean` for one log at `now_ms`, from the cleaner checkpoint
/// (`None` before the first pass).
pub fn log_to_clean(
    log: &PartitionLog,
    checkpoint: Option<u64>,
    now_ms: u64,
    c: &Compaction,
) -> LogToClean {
    let start = log.log_start_offset();
    // A checkpoint below the log start (retention moved it) or past the log end (the log
    // was truncated) starts over at the log start.
    let first_dirty = checkpoint
        .filter(|&o| o >= start && o <= log.log_end_offset())
        .unwrap_or(start);
    let segments = log.segments();
    let active_base = segments.last().map_or(start, |s| s.base_offset);
    // Closed segments holding dirty records.
    let dirty: Vec<usize> = (0..segments.len().saturating_sub(1))
        .filter(|&i| log.segment_bounds(i).1 > first_dirty)
        .collect();
    let mut uncleanable = log.high_watermark().min(active_base);
    if c.min_compaction_lag_ms > 0 {
        let young = |i: usize| {
            now_ms
                .checked_sub(c.min_compaction_lag_ms)
                .is_none_or(|t| segments[i].largest_timestamp_ms > t)
        };
        if let Some(i) = dirty.iter().find(|&&i| young(i)) {
            uncleanable = uncleanable.min(segments[*i].base_offset);
        }
    }
    let uncleanable = uncleanable.max(first_dirty);
    // Aligned down to the base of the segment holding it.
    let first_uncleanable = segments
        .iter()
        .rev()
        .map(|s| s.base_offset)
        .find(|&b| b <= uncleanable)
        .unwrap_or(start)
        .max(first_dirty.min(uncleanable));
    let bytes_in = |from: u64, to: u64| -> u64 {
        (0..segments.len())
            .filter(|&i| {
                let (a, b) = log.segment_bounds(i);
                a < to && b > from
            })
            .map(|i| segments[i].size_bytes)
            .sum()
    };
    LogToClean {
        first_dirty_offset: first_dirty,
        first_uncleanable_offset: first_uncleanable,
        clean_bytes: bytes_in(0, first_dirty),
        cleanable_bytes: bytes_in(first_dirty.min(first_uncleanable), first_uncleanable),
        need_compaction_now: overdue(log, &dirty, now_ms, c),
    }
}

/// `maxCompactionDelay`: the earliest first timestamp (a positive one) of the closed dirty
/// segments is older than `max.compaction.lag.ms`.
fn overdue(log: &PartitionLog, dirty: &[usize], now_ms: u64, c: &Compaction) -> bool {
    let Some(clean_until) = now_ms.checked_sub(c.max_compaction_lag_ms) else {
        return false;
    };
    dirty
        .iter()
        .filter_map(|&i| {
            let (from, to) = log.segment_bounds(i);
            log.range(from, to)
                .find(|(_, r)| !r.cleaned())
                .map(|(_, r)| r.timestamp_ms)
        })
        .filter(|&t| t > 0)
        .min()
        .is_some_and(|earliest| earliest < clean_until)
}

/// A key the offset map has not seen.
const NOT_MAPPED: u64 = u64::MAX;

/// What one cleaning pass does to a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// The dirty part it read for the latest offset per key: `[from, to)`; `to` is the new
    /// checkpoint.
    pub dirty: (u64, u64),
    /// Offsets it removes: records superseded by a later one with their key, keyless
    /// records, and tombstones past their delete horizon.
    pub removed: Vec<u64>,
    /// Of `removed`, the tombstones (and when their horizon had passed).
    pub tombstones_removed: Vec<(u64, u64)>,
    /// Tombstones it keeps for the first time, with their new delete horizon
    /// (`now + delete.retention.ms`).
    pub horizons: Vec<(u64, u64)>,
}

/// `Cleaner.doClean`: the latest offset of each key in the dirty part (the offset map),
/// then every record from the log start to the first uncleanable offset filtered by
/// `shouldRetainRecord`. The lab's offset map never fills, so one pass always reaches the
/// first uncleanable offset.
pub fn clean_pass(log: &PartitionLog, ltc: &LogToClean, now_ms: u64, c: &Compaction) -> Pass {
    let (from, to) = (ltc.first_dirty_offset, ltc.first_uncleanable_offset);
    // The offset map, indexed by interned key (keys are small dense numbers).
    let mut latest: Vec<u64> = Vec::new();
    for (offset, r) in log.range(from, to).filter(|(_, r)| !r.cleaned()) {
        if let Some(k) = r.key {
            let k = k as usize;
            if latest.len() <= k {
                latest.resize(k + 1, NOT_MAPPED);
            }
            latest[k] = offset;
        }
    }
    let latest_of = |k: KeyId| latest.get(k as usize).copied().filter(|&o| o != NOT_MAPPED);
    let mut pass = Pass {
        dirty: (from, to),
        ..Pass::default()
    };
    for (offset, r) in log.range(log.log_start_offset(), to) {
        if r.cleaned() {
            continue;
        }
        // A keyless record cannot be compacted: the cleaner drops it as invalid.
        let latest_for_key = r
            .key
            .is_some_and(|k| latest_of(k).is_none_or(|l| offset >= l));
        let horizon = log.delete_horizon(offset);
        let keep_delete = horizon.is_none_or(|h| now_ms < h);
        let keep = latest_for_key && (!r.tombstone() || keep_delete);
        if !keep {
            pass.removed.push(offset);
            if r.tombstone() {
                pass.tombstones_removed
                    .push((offset, horizon.unwrap_or(now_ms)));
            }
        } else if r.tombstone() && horizon.is_none() {
            let h = now_ms.saturating_add(c.delete_retention_ms);
            pass.horizons.push((offset, h));
        }
    }
    pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::log::{LogRecord, Roll, NO_PRODUCER};

    fn rec(id: u32, key: Option<u32>, ts: u64, flags: u8) -> LogRecord {
        LogRecord {
            timestamp_ms: ts,
            record_id: id,
            key,
            size_bytes: 100,
            flags,
            producer: NO_PRODUCER,
        }
    }

    /// A log of `keys` (one record each, `None` = keyless) in segments of `per` records,
    /// stamped 1 s apart from t = 1 s.
    fn log_of(keys: &[Option<u32>], per: u64) -> PartitionLog {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: per * 100,
            segment_ms: u64::MAX,
        });
        for (i, k) in keys.iter().enumerate() {
            log.append(&[rec(i as u32, *k, 1_000 * (i as u64 + 1), 0)]);
        }
        log
    }

    #[test]
    fn the_active_segment_and_the_ratio_decide_what_is_cleanable() {
        // Segments of 2: [0,1] [2,3] [4] (active).
        let log = log_of(&[Some(1), Some(1), Some(1), Some(2), Some(1)], 2);
        let c = Compaction::default();
        let ltc = log_to_clean(&log, None, 10_000, &c);
        assert_eq!(ltc.first_dirty_offset, 0);
        assert_eq!(ltc.first_uncleanable_offset, 4);
        assert_eq!((ltc.clean_bytes, ltc.cleanable_bytes), (0, 400));
        assert_eq!(ltc.cleanable_ratio_ppm(), 1_000_000);
        assert!(ltc.eligible(&c));
        // After a pass to 4, the dirty part is empty: nothing to clean.
        let again = log_to_clean(&log, Some(4), 10_000, &c);
        assert_eq!(again.cleanable_bytes, 0);
        assert!(!again.eligible(&c));
    }

    #[test]
    fn a_pass_keeps_the_latest_per_key_and_renumbers_nothing() {
        let log = log_of(&[Some(1), Some(2), Some(1), None, Some(2), Some(3)], 5);
        let c = Compaction::default();
        let ltc = log_to_clean(&log, None, 60_000, &c);
        assert_eq!(ltc.first_uncleanable_offset, 5);
        let pass = clean_pass(&log, &ltc, 60_000, &c);
        // 0 and 1 are superseded by 2 and 4; 3 has no key; 5 is in the active segment.
        assert_eq!(pass.removed, vec![0, 1, 3]);
        assert_eq!(pass.dirty, (0, 5));
    }

    #[test]
    fn min_compaction_lag_holds_back_young_segments() {
        let log = log_of(&[Some(1), Some(1), Some(1), Some(1), Some(1)], 2);
        let c = Compaction {
            min_compaction_lag_ms: 3_500,
            ..Compaction::default()
        };
        // At 6 s, segment [2,3] (newest record at 4 s) is younger than 3.5 s.
        let ltc = log_to_clean(&log, None, 6_000, &c);
        assert_eq!(ltc.first_uncleanable_offset, 2);
        assert_eq!(clean_pass(&log, &ltc, 6_000, &c).removed, vec![0]);
    }

    #[test]
    fn max_compaction_lag_forces_a_clean_log_below_the_ratio() {
        // Segments [0,1] [2,3] [4]: pretend [0,1] was cleaned (checkpoint 2).
        let log = log_of(&[Some(1), Some(2), Some(3), Some(3), Some(4)], 2);
        let mut c = Compaction {
            min_cleanable_dirty_ratio_ppm: 900_000,
            ..Compaction::default()
        };
        let ltc = log_to_clean(&log, Some(2), 10_000, &c);
        assert_eq!(ltc.cleanable_ratio_ppm(), 500_000);
        assert!(!ltc.eligible(&c));
        c.max_compaction_lag_ms = 5_000;
        let ltc = log_to_clean(&log, Some(2), 10_000, &c);
        assert!(ltc.need_compaction_now && ltc.eligible(&c));
    }

    #[test]
    fn a_tombstone_survives_the_first_pass_and_not_a_later_one_past_its_horizon() {
        let mut log = PartitionLog::new();
        log.set_roll(Roll {
            segment_bytes: 200,
            segment_ms: u64::MAX,
        });
        log.append(&[rec(0, Some(1), 1_000, 0)]);
        log.append(&[rec(1, Some(1), 2_000, LogRecord::TOMBSTONE)]);
        log.append(&[rec(2, Some(2), 3_000, 0)]);
        let c = Compaction {
            delete_retention_ms: 60_000,
            ..Compaction::default()
        };
        let ltc = log_to_clean(&log, None, 10_000, &c);
        let first = clean_pass(&log, &ltc, 10_000, &c);
        assert_eq!(first.removed, vec![0]);
        assert_eq!(first.horizons, vec![(1, 70_000)]);
        log.apply_cleaning(&first.removed, &first.horizons);
        assert!(log.get(0).unwrap().cleaned());
        assert_eq!(log.segments()[0].size_bytes, 100);
        // Before the horizon a pass keeps it; at the horizon it goes.
        let early = clean_pass(&log, &ltc, 69_999, &c);
        assert!(early.removed.is_empty());
        let late = clean_pass(&log, &ltc, 70_000, &c);
        assert_eq!(late.removed, vec![1]);
        assert_eq!(late.tombstones_removed, vec![(1, 70_000)]);
    }
}
