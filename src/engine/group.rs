//! Consumer groups, classic protocol: the coordinator's view of a group (members,
//! generation, state, committed offsets) and each consumer client's own state.
//!
//! The simulation (`sim.rs`) drives both; the rules that decide an answer live here as
//! small pure functions.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::assignor::{rebalance_protocol, Protocol, Strategy};
use super::config::GroupConfig;
use super::event::{CommitError, GroupState};

/// The most consumers one group may have.
pub const MAX_CONSUMERS_PER_GROUP: usize = 16;
/// The most groups the lab runs.
pub const MAX_GROUPS: usize = 10;
/// `group.initial.rebalance.delay.ms`, the broker default.
pub const GROUP_INITIAL_REBALANCE_DELAY_MS: u64 = 3_000;
/// How long an idle `poll()` waits for data before returning empty (`fetch.max.wait.ms`).
pub const IDLE_POLL_MS: u64 = 500;

/// A committed offset and who committed it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommittedOffset {
    /// The next offset to read.
    pub offset: u64,
    /// When.
    pub at_ms: u64,
    /// Client id of the committer.
    pub by: String,
}

/// The coordinator's record of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Kafka's member id.
    pub member_id: String,
    /// The consumer client behind it (index in [`Group::consumers`]).
    pub consumer: usize,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// Last heartbeat (or join/sync) seen.
    pub last_heartbeat_ms: u64,
    /// Joined in the current join phase.
    pub joined: bool,
}

/// Where a consumer client is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConsumerStatus {
    /// Started; its first poll will join.
    Starting,
    /// JoinGroup sent; waiting for the generation to form.
    Joining,
    /// Has an assignment in a generation.
    Active,
    /// Crashed: no heartbeats, no commits.
    Crashed,
    /// Closed gracefully.
    Closed,
    /// Stopped by an exception (e.g. `auto.offset.reset=none`).
    Failed(String),
}

impl ConsumerStatus {
    /// True while the client runs (its threads are alive).
    pub fn alive(&self) -> bool {
        matches!(
            self,
            ConsumerStatus::Starting | ConsumerStatus::Joining | ConsumerStatus::Active
        )
    }
}

/// One consumer client.
#[derive(Clone, Debug)]
pub struct Consumer {
    /// `client.id`, e.g. `c1`.
    pub client_id: String,
    /// `group.instance.id`, for static membership.
    pub group_instance_id: Option<String>,
    /// The member id the coordinator gave it, while it has one.
    pub member_id: Option<String>,
    /// Its generation (-1 = none).
    pub generation: i32,
    /// Where it is in its life.
    pub status: ConsumerStatus,
    /// Partitions it owns.
    pub assigned: Vec<u32>,
    /// Per owned partition: the next offset to fetch.
    pub positions: BTreeMap<u32, u64>,
    /// A rebalance is pending: rejoin at the next poll.
    pub rejoin_needed: bool,
    /// When `poll()` was last called.
    pub last_poll_ms: u64,
    /// When auto-commit is next due.
    pub next_auto_commit_ms: u64,
    /// Fetched but not yet processed, in order: `(partition, offset, record_id)`.
    pub batch: VecDeque<(u32, u64, u32)>,
    /// Per partition: processed up to (next offset), for commits after processing.
    pub processed: BTreeMap<u32, u64>,
    /// Lab: per-record processing time override ("slow down").
    pub processing_ms_override: Option<u64>,
    /// A graceful close was requested; it happens after the current batch.
    pub closing: bool,
    /// Invalidates stale scheduled wake-ups.
    pub wake_token: u64,
    /// Waiting for data (woken by an append).
    pub idle: bool,
    /// How many times it started; stale heartbeat timers of an older life are ignored.
    pub incarnation: u32,
    /// Its heartbeat timer is running.
    pub heartbeating: bool,
}

impl Consumer {
    /// A new client.
    pub fn new(client_id: String, group_instance_id: Option<String>) -> Self {
        Consumer {
            client_id,
            group_instance_id,
            member_id: None,
            generation: -1,
            status: ConsumerStatus::Starting,
            assigned: Vec::new(),
            positions: BTreeMap::new(),
            rejoin_needed: false,
            last_poll_ms: 0,
            next_auto_commit_ms: 0,
            batch: VecDeque::new(),
            processed: BTreeMap::new(),
            processing_ms_override: None,
            closing: false,
            wake_token: 0,
            idle: false,
            incarnation: 0,
            heartbeating: false,
        }
    }

    /// The fetched-but-unprocessed offsets per partition, as `(partition, from, to_exclusive)`.
    pub fn held_ranges(&self) -> Vec<(u32, u64, u64)> {
        let mut out: Vec<(u32, u64, u64)> = Vec::new();
        for &(p, o, _) in &self.batch {
            match out.iter_mut().find(|r| r.0 == p && r.2 == o) {
                Some(r) => r.2 = o + 1,
                None => out.push((p, o, o + 1)),
            }
        }
        out
    }
}

/// A consumer group: the coordinator's state plus its consumer clients.
#[derive(Clone, Debug)]
pub struct Group {
    /// `group.id`.
    pub group_id: String,
    /// Configuration shared by its consumers.
    pub config: GroupConfig,
    /// Coordinator state.
    pub state: GroupState,
    /// Generation id.
    pub generation: i32,
    /// Leader's member id.
    pub leader: Option<String>,
    /// Members by member id (sorted: stable order).
    pub members: BTreeMap<String, Member>,
    /// Committed offsets per partition.
    pub committed: Vec<Option<CommittedOffset>>,
    /// The consumer clients.
    pub consumers: Vec<Consumer>,
    /// The current generation's assignment by member id.
    pub assignment: BTreeMap<String, Vec<u32>>,
    /// When the current rebalance started.
    pub rebalance_started_ms: Option<u64>,
    /// The join phase may not complete before this (initial rebalance delay).
    pub join_not_before_ms: u64,
    /// The join phase must complete by this (rebalance timeout).
    pub join_deadline_ms: u64,
    /// Completed rebalances.
    pub rebalances: u32,
    /// Total time members spent without partitions while a rebalance ran.
    pub stop_the_world_ms: u64,
    /// Token that invalidates stale rebalance timers.
    pub rebalance_token: u64,
    /// Records processed (all deliveries, duplicates included).
    pub processed_records: u64,
}

impl Group {
    /// A new, empty group.
    pub fn new(group_id: &str, config: GroupConfig, partitions: u32) -> Self {
        Group {
            group_id: group_id.to_owned(),
            config,
            state: GroupState::Empty,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            committed: vec![None; partitions as usize],
            consumers: Vec::new(),
            assignment: BTreeMap::new(),
            rebalance_started_ms: None,
            join_not_before_ms: 0,
            join_deadline_ms: 0,
            rebalances: 0,
            stop_the_world_ms: 0,
            rebalance_token: 0,
            processed_records: 0,
        }
    }

    /// The assignor the leader uses: the first configured one (all members share the list).
    pub fn strategy(&self) -> Strategy {
        self.config
            .partition_assignment_strategy
            .first()
            .copied()
            .unwrap_or(Strategy::Range)
    }

    /// Eager or cooperative: the highest protocol every configured assignor supports.
    pub fn protocol(&self) -> Protocol {
        rebalance_protocol(&self.config.partition_assignment_strategy)
    }

    /// The member id of a static member's instance id.
    pub fn member_by_instance(&self, instance: &str) -> Option<String> {
        self.members
            .values()
            .find(|m| m.group_instance_id.as_deref() == Some(instance))
            .map(|m| m.member_id.clone())
    }

    /// The owner (consumer index) of a partition in the current assignment.
    pub fn owner_of(&self, partition: u32) -> Option<usize> {
        self.assignment
            .iter()
            .find(|(_, parts)| parts.contains(&partition))
            .and_then(|(id, _)| self.members.get(id))
            .map(|m| m.consumer)
    }

    /// Members' client ids in member-id order.
    pub fn member_names(&self) -> Vec<String> {
        self.members
            .values()
            .map(|m| self.consumers[m.consumer].client_id.clone())
            .collect()
    }

    /// Every partition some member owns in the current generation.
    pub fn assigned_partitions(&self) -> BTreeSet<u32> {
        self.assignment.values().flatten().copied().collect()
    }
}

/// What the coordinator answers to an OffsetCommit (`ClassicGroup.validateOffsetCommit`,
/// plus the client's own check that it is in a stable generation).
pub fn validate_offset_commit(group: &Group, consumer: &Consumer) -> Result<(), CommitError> {
    // Client side: a consumer that uses subscribe() needs a stable generation.
    let Some(member_id) = &consumer.member_id else {
        return Err(if consumer.status == ConsumerStatus::Joining {
            CommitError::RebalanceInProgress
        } else {
            CommitError::CommitFailed
        });
    };
    if consumer.generation < 0 {
        return Err(CommitError::CommitFailed);
    }
    // Broker side.
    if !group.members.contains_key(member_id) {
        return Err(CommitError::CommitFailed); // UNKNOWN_MEMBER_ID
    }
    if consumer.generation != group.generation {
        return Err(CommitError::CommitFailed); // ILLEGAL_GENERATION
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(CommitError::RebalanceInProgress); // REBALANCE_IN_PROGRESS
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_with_member(generation: i32) -> (Group, Consumer) {
        let mut g = Group::new("g", GroupConfig::default(), 3);
        g.generation = generation;
        g.state = GroupState::Stable;
        g.members.insert(
            "c1-1".into(),
            Member {
                member_id: "c1-1".into(),
                consumer: 0,
                group_instance_id: None,
                last_heartbeat_ms: 0,
                joined: true,
            },
        );
        let mut c = Consumer::new("c1".into(), None);
        c.member_id = Some("c1-1".into());
        c.generation = generation;
        c.status = ConsumerStatus::Active;
        (g, c)
    }

    #[test]
    fn commit_from_current_generation_is_accepted() {
        let (g, c) = group_with_member(3);
        assert_eq!(validate_offset_commit(&g, &c), Ok(()));
    }

    #[test]
    fn commit_from_old_generation_is_illegal_generation() {
        let (mut g, c) = group_with_member(3);
        g.generation = 4;
        assert_eq!(
            validate_offset_commit(&g, &c),
            Err(CommitError::CommitFailed)
        );
    }

    #[test]
    fn commit_from_removed_member_fails() {
        let (mut g, c) = group_with_member(3);
        g.members.clear();
        assert_eq!(
            validate_offset_commit(&g, &c),
            Err(CommitError::CommitFailed)
        );
    }

    #[test]
    fn commit_while_completing_rebalance_is_rebalance_in_progress() {
        let (mut g, c) = group_with_member(3);
        g.state = GroupState::CompletingRebalance;
        assert_eq!(
            validate_offset_commit(&g, &c),
            Err(CommitError::RebalanceInProgress)
        );
    }

    #[test]
    fn held_ranges_merge_contiguous_offsets() {
        let mut c = Consumer::new("c1".into(), None);
        c.batch.extend([(0, 5, 0), (0, 6, 1), (1, 2, 2), (0, 7, 3)]);
        assert_eq!(c.held_ranges(), vec![(0, 5, 8), (1, 2, 3)]);
    }
}
