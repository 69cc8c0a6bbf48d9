//! Replication as data and pure rules: the cluster's replication settings, each
//! partition's replica set as the controller records it (replicas, ISR, leader, leader
//! epoch), the controller's leader election, the leader's high watermark and ISR checks,
//! and the leader epoch cache a returning replica truncates by. The broker and the
//! world's light KRaft controller call these; nothing here sends a message.
//!
//! Sources (Kafka 3.x/4.x): `PartitionChangeBuilder` and `ReplicationControlManager`
//! (elections, ISR changes), `Partition.maybeIncrementLeaderHW`, `maybeShrinkIsr`,
//! `maybeExpandIsr` and `ReplicaState.isCaughtUp` (the leader's rules), and
//! `LeaderEpochFileCache.endOffsetFor` with KIP-101/KIP-279 (truncation). The facts, with
//! their sources, are in `docs/replication-facts.md`.

use super::ids::BrokerId;

/// The most brokers a lab cluster has.
pub const MAX_BROKERS: u16 = 9;

/// The cluster's replication settings, with Kafka's names and 4.x defaults.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReplicationConfig {
    /// How many brokers the cluster has (1 to [`MAX_BROKERS`]; the lab's own setting).
    pub brokers: u16,
    /// `default.replication.factor`: the replication factor of topics created without one
    /// (Kafka's default 1; capped by the broker count).
    pub default_replication_factor: u16,
    /// `min.insync.replicas` (broker level; a topic may override it). Kafka's default 1.
    pub min_insync_replicas: u16,
    /// `unclean.leader.election.enable`: may an out-of-sync replica lead (default false).
    pub unclean_leader_election_enable: bool,
    /// `replica.lag.time.max.ms`: a follower that has not caught up for this long leaves
    /// the ISR (default 30000).
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader holds a follower's fetch that finds
    /// no new records (default 500).
    pub replica_fetch_wait_max_ms: u64,
    /// `broker.session.timeout.ms`: how long the controller waits for a silent broker's
    /// heartbeat before fencing it (default 9000).
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`: how often a broker heartbeats to the controller
    /// (default 2000).
    pub broker_heartbeat_interval_ms: u64,
    /// `auto.leader.rebalance.enable`: the controller moves leadership back to each
    /// partition's preferred (first) replica (default true).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`: how long after an imbalance appears the
    /// controller balances the leaders (default 300).
    pub leader_imbalance_check_interval_seconds: u64,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            brokers: 1,
            default_replication_factor: 1,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
        }
    }
}

/// The settings' ranges, stated once.
pub const RANGES: &[super::config::Range] = &[
    ("brokers", 1, MAX_BROKERS as u64),
    ("default.replication.factor", 1, MAX_BROKERS as u64),
    ("min.insync.replicas", 1, MAX_BROKERS as u64),
    ("replica.lag.time.max.ms", 1_000, 3_600_000),
    ("replica.fetch.wait.max.ms", 1, 60_000),
    ("broker.session.timeout.ms", 1_000, 600_000),
    ("broker.heartbeat.interval.ms", 100, 60_000),
    ("leader.imbalance.check.interval.seconds", 1, 86_400),
];

impl ReplicationConfig {
    /// True when this is the default (serialised scenarios leave it out).
    pub fn is_default(&self) -> bool {
        *self == ReplicationConfig::default()
    }

    /// Sets one setting by its Kafka name; on error nothing changes.
    ///
    /// # Errors
    /// An unknown name or a value out of range.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), super::error::EngineError> {
        let v = value.trim();
        if name == "unclean.leader.election.enable" || name == "auto.leader.rebalance.enable" {
            let on = match v {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(super::error::EngineError::InvalidConfig {
                        name: name.to_owned(),
                        reason: format!("must be true or false, not `{v}`"),
                    })
                }
            };
            if name == "unclean.leader.election.enable" {
                self.unclean_leader_election_enable = on;
            } else {
                self.auto_leader_rebalance_enable = on;
            }
            return Ok(());
        }
        let Some((lo, hi)) = super::config::range_of(RANGES, name) else {
            return Err(super::error::EngineError::InvalidConfig {
                name: name.to_owned(),
                reason: "not a replication setting the lab models".into(),
            });
        };
        let n = super::config::parse_in_range(name, v, lo, hi)?;
        match name {
            "brokers" => self.brokers = n as u16,
            "default.replication.factor" => self.default_replication_factor = n as u16,
            "min.insync.replicas" => self.min_insync_replicas = n as u16,
            "replica.lag.time.max.ms" => self.replica_lag_time_max_ms = n,
            "replica.fetch.wait.max.ms" => self.replica_fetch_wait_max_ms = n,
            "broker.heartbeat.interval.ms" => self.broker_heartbeat_interval_ms = n,
            "leader.imbalance.check.interval.seconds" => {
                self.leader_imbalance_check_interval_seconds = n
            }
            _ => self.broker_session_timeout_ms = n,
        }
        Ok(())
    }

    /// The value of one setting, as text.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "brokers" => self.brokers.to_string(),
            "default.replication.factor" => self.default_replication_factor.to_string(),
            "min.insync.replicas" => self.min_insync_replicas.to_string(),
            "unclean.leader.election.enable" => self.unclean_leader_election_enable.to_string(),
            "replica.lag.time.max.ms" => self.replica_lag_time_max_ms.to_string(),
            "replica.fetch.wait.max.ms" => self.replica_fetch_wait_max_ms.to_string(),
            "broker.session.timeout.ms" => self.broker_session_timeout_ms.to_string(),
            "broker.heartbeat.interval.ms" => self.broker_heartbeat_interval_ms.to_string(),
            "auto.leader.rebalance.enable" => self.auto_leader_rebalance_enable.to_string(),
            "leader.imbalance.check.interval.seconds" => {
                self.leader_imbalance_check_interval_seconds.to_string()
            }
            _ => return None,
        })
    }

    /// The replication factor a new topic gets: its own, or the default, capped by the
    /// broker count (the lab caps rather than refuses, and says so).
    pub fn replication_factor_for(&self, asked: Option<u16>) -> u16 {
        asked
            .unwrap_or(self.default_replication_factor)
            .clamp(1, self.brokers.max(1))
    }
}

/// An idempotent batch's sequence numbers, kept beside a replicated log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchMeta {
    /// Where its first record sits.
    pub base_offset: u64,
    /// The producer id.
    pub pid: i64,
    /// The producer epoch.
    pub epoch: u16,
    /// Its first sequence.
    pub first_sequence: i32,
    /// Its last sequence.
    pub last_sequence: i32,
}

/// One partition as the controller records it (`PartitionRegistration`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionState {
    /// Every replica, in assignment order (the preferred leader first).
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas, in the order the controller stored them (a returning follower
    /// goes to the end).
    pub isr: Vec<BrokerId>,
    /// The leader, or `None` when the partition is offline.
    pub leader: Option<BrokerId>,
    /// Bumped at every leader change.
    pub leader_epoch: u32,
}

impl PartitionState {
    /// A new partition on `replicas`: the ISR is the live ones in replica order, and the
    /// first of them leads (`buildPartitionRegistration`).
    pub fn new(replicas: Vec<BrokerId>, live: impl Fn(BrokerId) -> bool) -> Self {
        let isr: Vec<BrokerId> = replicas.iter().copied().filter(|&b| live(b)).collect();
        PartitionState {
            leader: isr.first().copied(),
            replicas,
            isr,
            leader_epoch: 0,
        }
    }
}

/// How a leader was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Election {
    /// From the ISR: no acknowledged record is lost.
    Clean,
    /// An out-of-sync replica, because `unclean.leader.election.enable` allowed it: what
    /// it lacks is lost.
    Unclean,
}

/// The controller's change when broker `gone` is fenced (`handleBrokerFenced`): it leaves
/// the ISR (unless it is the last member: Kafka never writes an empty ISR), and if it led,
/// the first live ISR replica in replica order leads; with none, and unclean election
/// allowed, the first live replica; else the partition goes offline. Returns the election
/// when the leader changed to a broker.
pub fn fence(
    state: &mut PartitionState,
    gone: BrokerId,
    live: impl Fn(BrokerId) -> bool,
    unclean_allowed: bool,
) -> Option<Election> {
    if state.isr.len() > 1 {
        state.isr.retain(|&b| b != gone);
    }
    if state.leader != Some(gone) {
        return None;
    }
    elect(state, live, unclean_allowed)
}

/// Elects a leader for a partition whose leader is gone (or that is offline): the first
/// live ISR member in replica order, or, with unclean election allowed, the first live
/// replica (whose ISR then is itself alone). The leader epoch moves on either way.
pub fn elect(
    state: &mut PartitionState,
    live: impl Fn(BrokerId) -> bool,
    unclean_allowed: bool,
) -> Option<Election> {
    let clean = state
        .replicas
        .iter()
        .copied()
        .find(|&b| live(b) && state.isr.contains(&b));
    let (leader, how) = match clean {
        Some(b) => (Some(b), Some(Election::Clean)),
        None if unclean_allowed => match state.replicas.iter().copied().find(|&b| live(b)) {
            Some(b) => (Some(b), Some(Election::Unclean)),
            None => (None, None),
        },
        None => (None, None),
    };
    if leader != state.leader {
        state.leader_epoch += 1;
    }
    state.leader = leader;
    if how == Some(Election::Unclean) {
        state.isr = leader.into_iter().collect();
    }
    how
}

/// What a leader knows of one follower (`Replica`'s state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FollowerState {
    /// The follower.
    pub broker: BrokerId,
    /// Its log end offset: the offset of its last fetch (`None` until it fetches, as after
    /// a new leader resets it).
    pub log_end_offset: Option<u64>,
    /// When it was last caught up.
    pub last_caught_up_ms: u64,
    /// The leader's log end offset at its previous fetch, and when that was.
    pub last_fetch_leader_leo: u64,
    /// When its previous fetch came.
    pub last_fetch_ms: u64,
}

impl FollowerState {
    /// A follower as a new leader sees it: unknown offset; ISR members count as caught
    /// up now, the others never (`Replica.resetReplicaState`).
    pub fn new(broker: BrokerId, in_isr: bool, now_ms: u64) -> Self {
        FollowerState {
            broker,
            log_end_offset: None,
            last_caught_up_ms: if in_isr { now_ms } else { 0 },
            last_fetch_leader_leo: 0,
            last_fetch_ms: 0,
        }
    }

    /// A fetch at `fetch_offset` when the leader's log ends at `leader_leo`
    /// (`Replica.updateFetchStateOrThrow`).
    pub fn fetched(&mut self, fetch_offset: u64, leader_leo: u64, now_ms: u64) {
        if fetch_offset >= leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= self.last_fetch_leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.log_end_offset = Some(fetch_offset);
        self.last_fetch_leader_leo = leader_leo;
        self.last_fetch_ms = now_ms;
    }

    /// `ReplicaState.isCaughtUp`: at the leader's end, or caught up within the lag time.
    pub fn caught_up(&self, leader_leo: u64, now_ms: u64, lag_max_ms: u64) -> bool {
        self.log_end_offset == Some(leader_leo)
            || now_ms.saturating_sub(self.last_caught_up_ms) <= lag_max_ms
    }
}

/// The leader's high watermark candidate (`maybeIncrementLeaderHW`): the lowest log end
/// offset among the leader and its ISR followers (an ISR follower holds it back however far
/// behind it is, until it leaves the ISR). Followers outside the ISR do not count. An ISR
/// follower whose offset is unknown holds it at the current value. Below
/// `min.insync.replicas` the high watermark does not move (strict min ISR, KIP-966).
pub fn high_watermark(
    current: u64,
    leader_leo: u64,
    isr_followers: impl Iterator<Item = Option<u64>>,
    isr_size: usize,
    min_isr: usize,
) -> u64 {
    if isr_size < min_isr {
        return current;
    }
    let mut candidate = leader_leo;
    for leo in isr_followers {
        candidate = candidate.min(leo.unwrap_or(current));
    }
    candidate.max(current)
}

/// `AbstractFetcherThread.getOffsetTruncationState`, one round: a follower whose log ends
/// at `follower_leo` learns from the leader that its epoch `leader_epoch` ends at
/// `leader_end`. It looks up its own end of that epoch: the same epoch → truncate to the
/// smaller end (done); a smaller epoch only → to that epoch's end (and ask again); none
/// at or below it → to the leader's end.
pub fn truncation_offset(
    follower: &EpochCache,
    follower_leo: u64,
    leader_epoch: u32,
    leader_end: u64,
) -> u64 {
    match follower.end_offset_for(leader_epoch, follower_leo) {
        Some((e, end)) if e == leader_epoch => leader_end.min(end).min(follower_leo),
        Some((_, end)) => end.min(follower_leo),
        None => leader_end.min(follower_leo),
    }
}

/// A log's leader epochs: `(epoch, start offset)`, oldest first (`LeaderEpochFileCache`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EpochCache {
    entries: Vec<(u32, u64)>,
}

impl EpochCache {
    /// Records that `epoch` starts at `start_offset` (ignored if not newer).
    pub fn assign(&mut self, epoch: u32, start_offset: u64) {
        if self.entries.last().is_none_or(|&(e, _)| epoch > e) {
            self.entries.push((epoch, start_offset));
        }
    }

    /// Every `(epoch, start offset)`, oldest first.
    pub fn entries(&self) -> &[(u32, u64)] {
        &self.entries
    }

    /// The newest epoch, if any.
    pub fn latest(&self) -> Option<u32> {
        self.entries.last().map(|&(e, _)| e)
    }

    /// `endOffsetFor(epoch)`: the start offset of the first epoch after `epoch`, or this
    /// log's end when `epoch` is its latest; with the largest epoch at or below the one
    /// asked. `None` when the log knows no epoch at or below it.
    pub fn end_offset_for(&self, epoch: u32, log_end_offset: u64) -> Option<(u32, u64)> {
        let at_or_below = self.entries.iter().rev().find(|&&(e, _)| e <= epoch)?;
        let next = self.entries.iter().find(|&&(e, _)| e > at_or_below.0);
        Some((at_or_below.0, next.map_or(log_end_offset, |&(_, s)| s)))
    }

    /// Forgets epochs that start at or after `offset` (the log was truncated there).
    pub fn truncate_from(&mut self, offset: u64) {
        self.entries.retain(|&(_, s)| s < offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(n: u16) -> BrokerId {
        BrokerId(n)
    }

    #[test]
    fn a_new_partition_is_led_by_its_first_live_replica() {
        let s = PartitionState::new(vec![b(2), b(0), b(1)], |x| x != b(2));
        assert_eq!(s.leader, Some(b(0)));
        assert_eq!(s.isr, vec![b(0), b(1)]);
    }

    #[test]
    fn fencing_the_leader_elects_the_next_isr_replica_and_bumps_the_epoch() {
        let mut s = PartitionState::new(vec![b(0), b(1), b(2)], |_| true);
        let live = |x: BrokerId| x != b(0);
        assert_eq!(fence(&mut s, b(0), live, false), Some(Election::Clean));
        assert_eq!((s.leader, s.leader_epoch), (Some(b(1)), 1));
        assert_eq!(s.isr, vec![b(1), b(2)]);
    }

    #[test]
    fn the_last_isr_member_stays_and_the_partition_goes_offline() {
        let mut s = PartitionState {
            replicas: vec![b(0), b(1)],
            isr: vec![b(0)],
            leader: Some(b(0)),
            leader_epoch: 3,
        };
        assert_eq!(fence(&mut s, b(0), |x| x == b(1), false), None);
        assert_eq!(
            (s.leader, s.isr.clone(), s.leader_epoch),
            (None, vec![b(0)], 4)
        );
        // Unclean election lets the out-of-sync replica lead, alone in the ISR.
        assert_eq!(elect(&mut s, |x| x == b(1), true), Some(Election::Unclean));
        assert_eq!(
            (s.leader, s.isr.clone(), s.leader_epoch),
            (Some(b(1)), vec![b(1)], 5)
        );
    }

    #[test]
    fn an_offline_partition_comes_back_with_its_last_isr_member() {
        let mut s = PartitionState {
            replicas: vec![b(0), b(1)],
            isr: vec![b(0)],
            leader: None,
            leader_epoch: 4,
        };
        assert_eq!(elect(&mut s, |x| x == b(1), false), None);
        assert_eq!(elect(&mut s, |_| true, false), Some(Election::Clean));
        assert_eq!((s.leader, s.leader_epoch), (Some(b(0)), 5));
    }

    #[test]
    fn the_high_watermark_waits_for_every_isr_follower_and_never_goes_back() {
        assert_eq!(
            high_watermark(0, 10, [Some(7), Some(9)].into_iter(), 3, 1),
            7
        );
        assert_eq!(high_watermark(8, 10, [Some(7)].into_iter(), 2, 1), 8);
        assert_eq!(high_watermark(5, 10, [None].into_iter(), 2, 1), 5);
        assert_eq!(high_watermark(0, 10, std::iter::empty(), 1, 1), 10);
        // Below min.insync.replicas it holds still.
        assert_eq!(high_watermark(4, 10, std::iter::empty(), 1, 2), 4);
    }

    #[test]
    fn caught_up_follows_the_last_two_fetches() {
        let mut f = FollowerState::new(b(1), true, 0);
        f.fetched(5, 10, 1_000); // behind: caught up when the previous fetch's end was 0
        assert_eq!(f.last_caught_up_ms, 0);
        f.fetched(10, 12, 2_000); // reached the end the leader had at the fetch before
        assert_eq!(f.last_caught_up_ms, 1_000);
        assert!(f.caught_up(12, 31_000, 30_000));
        assert!(!f.caught_up(12, 31_001, 30_000));
        f.fetched(12, 12, 40_000);
        assert!(f.caught_up(12, 40_000, 30_000));
    }

    #[test]
    fn the_epoch_cache_answers_where_an_epoch_ended() {
        let mut c = EpochCache::default();
        c.assign(0, 0);
        c.assign(2, 40);
        c.assign(1, 30); // older: ignored
        assert_eq!(c.end_offset_for(0, 90), Some((0, 40)));
        assert_eq!(c.end_offset_for(1, 90), Some((0, 40)));
        assert_eq!(c.end_offset_for(2, 90), Some((2, 90)));
        c.truncate_from(40);
        assert_eq!(c.latest(), Some(0));
    }
}
