//! The levels shipped with the lab: the JSON files under `src/lab/levels/`. Native builds
//! (the tests, `kafka-lab-check`) embed them; the page fetches them from `levels/` next to
//! itself after the lab is on screen, so they cost the first paint nothing (34 KB gzip).
//! A test checks that this list and the directory agree.

use super::level::{Level, LevelError};

/// The list once: the names, and (natively) the files' contents.
macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        /// The file name of every shipped level, in the order the level map shows them.
        pub const NAMES: &[&str] = &[$($name),*];

        /// `(file name, contents)` of every shipped level (native builds only).
        #[cfg(not(target_arch = "wasm32"))]
        pub const FILES: &[(&str, &str)] = &[$(($name, include_str!(concat!("levels/", $name)))),*];
    };
}

shipped![
    "L01-the-log-is-kept.json",
    "L02-addresses-and-bookmarks.json",
    "L03-predict-the-partition.json",
    "L04-same-key-same-lane.json",
    "L05-no-key-no-order.json",
    "L06-one-more-partition.json",
    "L07-share-the-work.json",
    "L08-two-groups-two-copies.json",
    "L09-a-rebalance-step-by-step.json",
    "L10-close-or-crash.json",
    "L11-eager-vs-cooperative.json",
    "L12-position-committed-lag.json",
    "L13-auto-commit-window.json",
    "L14-earliest-or-latest.json",
    "L15-at-most-once.json",
    "L16-at-least-once.json",
    "L17-consumers-down-producer-not.json",
    "L18-poison-pill.json",
    "L19-rebalance-storm.json",
    "L20-hot-key.json",
    "L21-idempotent-producer.json",
    "L22-more-partitions-more-throughput.json",
    "L23-leaders-and-failover.json",
    "L24-acks-and-min-insync.json",
    "L25-a-slow-follower-leaves-the-isr.json",
    "L26-an-unclean-election.json",
    "L27-restarted-too-soon.json",
    "L28-truncation-detected.json",
    "L29-when-does-offset-0-vanish.json",
    "L30-the-latest-value-per-key.json",
    "L31-the-delete-that-never-arrived.json",
    "L32-retention-or-compaction.json",
    "L33-the-idempotent-consumer.json",
    "L34-rebuild-a-projection.json",
    "L35-cheat-sheet-review.json",
    "C01-ten-thousand-orders.json",
    "C02-keep-each-order-in-order.json",
    "C03-order-per-customer.json",
    "C04-make-the-fourth-consumer-useful.json",
    "C05-catch-up.json",
    "C06-crash-without-loss.json",
    "C07-fewer-dups-still-auto.json",
    "C08-no-duplicates-in-the-log.json",
    "C09-the-setting-that-switched-idempotence-off.json",
    "C24-order-through-retries.json",
    "C10-deploy-without-stopping-the-world.json",
    "C11-calm-the-storm.json",
    "C12-get-past-the-poison.json",
    "C13-route-poison-to-a-dlq.json",
    "C14-a-new-reporting-service.json",
    "C15-reprocess-safely.json",
    "C16-no-loss-on-leader-failure.json",
    "C18-latest-profile-per-user.json",
    "C19-outrun-retention.json",
    "C20-close-the-dual-write-gap.json",
    "C23-tame-the-hot-tenant.json",
];

/// Parses level files, naming the file of any that does not parse.
///
/// # Errors
/// The first file that does not parse.
pub fn parse_all<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Level>, LevelError> {
    files
        .into_iter()
        .map(|(name, json)| Level::parse(json).map_err(|e| LevelError(format!("{name}: {e}"))))
        .collect()
}

/// Every shipped level, parsed (native builds: the embedded files).
///
/// # Errors
/// A shipped file that does not parse (a test keeps this from happening).
#[cfg(not(target_arch = "wasm32"))]
pub fn all() -> Result<Vec<Level>, LevelError> {
    parse_all(FILES.iter().copied())
}
