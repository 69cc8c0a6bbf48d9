//! Presentation helpers: how numbers, hashes and events are written and coloured. No
//! Kafka logic: every fact comes from the engine's read model.

use crate::engine::view::PartitionReason;

/// A stable hue (0 to 359) for a key, derived from its hash, so a key keeps its colour.
pub fn key_hue(murmur2: i32) -> u32 {
    // Multiply to spread neighbouring hashes across the wheel.
    (crate::engine::view::to_positive(murmur2).wrapping_mul(2_654_435_761) >> 8) % 360
}

/// Virtual time as the page writes it: `12.3 s`.
pub fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The clock in the top bar: `t = 12.3 s` under an hour (to the millisecond when paused
/// between tenths, after a step), then `t = 1:02:03.4`, and from a day on `t = 2 d 03:04`
/// (minutes: the top bar has no room for more, and retention checks run every 5 min).
pub fn clock(ms: u64, playing: bool) -> String {
    if ms < 3_600_000 {
        return if ms.is_multiple_of(100) || playing {
            format!("t = {:.1} s", ms as f64 / 1000.0)
        } else {
            format!("t = {:.3} s", ms as f64 / 1000.0)
        };
    }
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (h, m, s) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1_000 % 60);
    if days == 0 {
        format!("t = {h}:{m:02}:{s:02}.{}", rest / 100 % 10)
    } else {
        format!("t = {days} d {h:02}:{m:02}")
    }
}

/// The partition computation written out, e.g.
/// `murmur2("order-42") = 501153024 → 501153024 mod 3 = 0`.
pub fn computation(key: Option<&str>, reason: &PartitionReason, partition: u32) -> String {
    let positive = |h: i32| crate::engine::view::to_positive(h);
    match (key, reason) {
        (
            Some(k),
            PartitionReason::Murmur2 {
                hash,
                partition_count,
            },
        ) => {
            if *hash < 0 {
                format!(
                    "murmur2(\"{k}\") = {hash} → toPositive = {p} → {p} mod {partition_count} = {partition}",
                    p = positive(*hash)
                )
            } else {
                format!("murmur2(\"{k}\") = {hash} → {hash} mod {partition_count} = {partition}")
            }
        }
        (
            Some(k),
            PartitionReason::Crc32 {
                hash,
                partition_count,
            },
        ) => {
            format!("crc32(\"{k}\") = {hash} → {hash} mod {partition_count} = {partition}")
        }
        (_, PartitionReason::Sticky) => match key {
            Some(_) => format!("keys ignored → sticky partition {partition}"),
            None => format!("null key → sticky partition {partition}"),
        },
        (_, PartitionReason::RoundRobin) => format!("round-robin → partition {partition}"),
        (_, PartitionReason::Explicit) => {
            format!("dead letter → partition {partition}, the failed record's own")
        }
        (_, _) => format!("null key → partition {partition} (seeded pick)"),
    }
}

/// The short form a flying record carries: `murmur2("order-7") % 3 = 1`.
pub fn short_reason(key: Option<&str>, reason: &PartitionReason, partition: u32) -> String {
    match (key, reason) {
        (
            Some(k),
            PartitionReason::Murmur2 {
                partition_count, ..
            },
        ) => format!("murmur2(\"{k}\") % {partition_count} = {partition}"),
        (
            Some(k),
            PartitionReason::Crc32 {
                partition_count, ..
            },
        ) => format!("crc32(\"{k}\") % {partition_count} = {partition}"),
        (_, PartitionReason::Sticky) => format!("sticky → p{partition}"),
        (_, PartitionReason::RoundRobin) => format!("round-robin → p{partition}"),
        _ => format!("→ p{partition}"),
    }
}

pub use crate::engine::view::{state_words, tps};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computation_matches_the_issue_example() {
        let reason = PartitionReason::Murmur2 {
            hash: 501153024,
            partition_count: 3,
        };
        assert_eq!(
            computation(Some("order-42"), &reason, 0),
            "murmur2(\"order-42\") = 501153024 → 501153024 mod 3 = 0"
        );
    }

    #[test]
    fn negative_hash_shows_to_positive() {
        let reason = PartitionReason::Murmur2 {
            hash: -973932308,
            partition_count: 3,
        };
        let text = computation(Some("21"), &reason, 1);
        assert!(text.contains("toPositive = 1173551340"), "{text}");
    }

    /// Seconds under an hour (the e2e suite reads them), then hours, then days.
    #[test]
    fn the_clock_grows_units_with_time() {
        assert_eq!(clock(12_300, true), "t = 12.3 s");
        assert_eq!(clock(38_018, false), "t = 38.018 s");
        assert_eq!(clock(3_723_400, false), "t = 1:02:03.4");
        assert_eq!(clock(2 * 86_400_000 + 3_723_000, true), "t = 2 d 01:02");
    }

    #[test]
    fn hue_in_range() {
        for h in [i32::MIN, -1, 0, 1, i32::MAX] {
            assert!(key_hue(h) < 360);
        }
    }
}
