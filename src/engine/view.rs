//! The read model: what the UI shows, computed in one place from the engine's state.
//! The UI and the lab application read the engine through this module (the UI imports it
//! and `crate::lab`, nothing else), so every Kafka decision stays here or below.
//!
//! Definitions used everywhere:
//! - a partition's **owner** (for a group) is the live consumer whose client-side
//!   assignment holds it: the one actually reading it. During an eager rebalance nobody
//!   owns it; a cooperative owner keeps it until it revokes it.
//! - **position** is the owner's next offset to return from `poll()`;
//! - **committed** is the coordinator's committed offset for the group;
//! - **lag** is `log end offset − committed` (what `kafka-consumer-groups` prints).

use super::sort;
use std::collections::BTreeMap;

pub use super::cluster::{TopicConfig, MAX_PARTITIONS, MAX_TOPICS};
pub use super::command::{Command, SeekTo};
pub use super::config::{
    Acks, AutoOffsetReset, GroupConfig, ManualCommit, PartitionerKind, ProducerConfig,
};
pub use super::error::EngineError;
pub use super::event::{
    BrokerEvent, CommitError, CrashReason, Event, GroupEvent, GroupState, HeartbeatResult,
    NetEvent, PartitionReason, PositionSource, ProducerEvent, RemovalReason,
};
pub use super::ids::{
    consumer_client_id, producer_client_id, BrokerId, ConsumerRef, GroupId, MemberId, NodeId,
    PartitionId, ProducerId, TopicId, Tp,
};
pub use super::ledger::{AnomalyKind, Outcome, Totals};
pub use super::log::Segment;
pub use super::net::Latency;
pub use super::partitioner::{crc32, crc32_partition, java_partition, murmur2, to_positive};
pub use super::producer::{KeySpace, ProduceFault, Workload};
pub use super::sim::Sim;
use super::table::cell_value;
pub use super::table::{
    cleaner, effects, partition_sizes, service_db, stage_topics, table, CleanerView, EffectRow,
    EffectsView, PartitionSize, ServiceDbView, TableRow,
};
pub use super::world::{
    MAX_CONSUMERS_PER_GROUP, MAX_GROUPS, MAX_KEY_BYTES, MAX_PRODUCERS, MAX_VALUE_BYTES,
};

use super::consumer::{AppState, ConsumerStatus, MemberState};
use super::explain;

/// A topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicView {
    /// Its id.
    pub id: TopicId,
    /// Its name.
    pub name: String,
    /// Its partition count.
    pub partitions: u32,
    /// Its logs are compacted (`compact` in `cleanup.policy`).
    pub compacted: bool,
}

/// Every existing topic.
pub fn topics(sim: &Sim) -> Vec<TopicView> {
    sim.world()
        .cluster
        .topics()
        .map(|t| TopicView {
            id: t.id,
            name: t.name.clone(),
            partitions: t.partitions,
            compacted: t.config.compacted(),
        })
        .collect()
}

/// How a partition is named (`p0`, or `topic/p0` when the lab has several topics), and a
/// group (its `group.id`).
pub struct TpNames<'a>(&'a Sim);

impl explain::Names for TpNames<'_> {
    fn tp(&self, tp: Tp) -> String {
        tp_name(self.0, tp)
    }

    fn group(&self, group: GroupId) -> String {
        group_name(self.0, group)
    }
}

pub use explain::{broker_event_words, state_words, tps};

/// One event in words (`None` for the routine ones a story leaves out).
pub fn event_words(sim: &Sim, e: &Event) -> Option<String> {
    explain::event_words(&TpNames(sim), e)
}

/// What one step did, at `at` (the time in the page's words): its most telling events.
pub fn step_words(sim: &Sim, at: &str, events: &[Event]) -> String {
    explain::step_words(&TpNames(sim), at, events)
}

/// `p0`, or `orders/p0` when there are several topics.
pub fn tp_name(sim: &Sim, tp: Tp) -> String {
    let several = sim.world().cluster.topics().count() > 1;
    match sim.world().cluster.topic(tp.topic) {
        Some(t) if several => format!("{}/p{}", t.name, tp.p()),
        _ => format!("p{}", tp.p()),
    }
}

/// Where a consumer is, in words a class can read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    /// Looking for the coordinator or waiting in a join phase.
    Joining,
    /// Owns partitions and works.
    Active,
    /// In the group with nothing to do (no partition, or no records).
    Idle,
    /// Crashed.
    Crashed,
    /// Closed.
    Closed,
    /// Stopped on an exception.
    Failed(String),
}

impl MemberStatus {
    /// The word the UI shows.
    pub fn label(&self) -> &'static str {
        match self {
            MemberStatus::Joining => "joining",
            MemberStatus::Active => "active",
            MemberStatus::Idle => "idle",
            MemberStatus::Crashed => "crashed",
            MemberStatus::Closed => "closed",
            MemberStatus::Failed(_) => "failed",
        }
    }
}

/// What a countdown on a member card counts down to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadlineKind {
    /// The next auto-commit.
    AutoCommit,
    /// The coordinator removes the member unless it hears a heartbeat (`session.timeout.ms`).
    SessionTimeout,
    /// The member leaves unless it polls (`max.poll.interval.ms`).
    PollTimeout,
}

/// One consumer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemberView {
    /// Its place in the group.
    pub member: MemberId,
    /// `c1`.
    pub client_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Kafka's member id (empty when it has none).
    pub member_id: String,
    /// Its generation.
    pub generation: i32,
    /// Where it is.
    pub status: MemberStatus,
    /// Leader of its generation.
    pub is_leader: bool,
    /// What it owns.
    pub owned: Vec<Tp>,
    /// Records polled and not yet processed.
    pub in_hand: usize,
    /// Milliseconds per record.
    pub processing_ms: u64,
    /// Slowed down by the user.
    pub slowed: bool,
    /// Upcoming deadlines, soonest first.
    pub deadlines: Vec<(DeadlineKind, u64)>,
    /// Why it is idle, in words (when it is).
    pub idle_reason: Option<String>,
    /// When and why it crashed, while it stays down.
    pub crashed: Option<(u64, CrashReason)>,
}

/// One group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupView {
    /// Its id.
    pub id: GroupId,
    /// `group.id`.
    pub name: String,
    /// The topics it subscribes to.
    pub topics: Vec<String>,
    /// Coordinator state.
    pub state: GroupState,
    /// Generation.
    pub generation: i32,
    /// The assignor.
    pub assignor: String,
    /// Cooperative rebalancing.
    pub cooperative: bool,
    /// The leader.
    pub leader: Option<MemberId>,
    /// Its consumers.
    pub members: Vec<MemberView>,
    /// When the running rebalance started.
    pub rebalancing_since_ms: Option<u64>,
    /// Completed rebalances.
    pub rebalances: u32,
    /// Time eager rebalances stopped the group.
    pub stop_the_world_ms: u64,
    /// The group's configuration.
    pub config: GroupConfig,
}

/// Every group.
pub fn groups(sim: &Sim) -> Vec<GroupView> {
    sim.world()
        .groups
        .iter()
        .map(|g| group_view(sim, g))
        .collect()
}

/// One group, by id.
pub fn group(sim: &Sim, id: GroupId) -> Option<GroupView> {
    sim.world()
        .groups
        .get(id.index())
        .map(|g| group_view(sim, g))
}

fn group_view(sim: &Sim, g: &super::world::GroupClients) -> GroupView {
    let world = sim.world();
    let coord = world.coordinators.iter().find_map(|c| c.group(g.id));
    let members = g
        .consumers
        .iter()
        .map(|c| member_view(sim, g.id, c, coord))
        .collect();
    let cooperative = super::assignor::rebalance_protocol(&g.config.partition_assignment_strategy)
        == super::assignor::Protocol::Cooperative;
    GroupView {
        id: g.id,
        name: g.name.clone(),
        topics: g.topics.clone(),
        state: coord.map_or(GroupState::Empty, |c| c.state),
        generation: coord.map_or(0, |c| c.generation),
        assignor: coord
            .and_then(|c| c.protocol)
            .unwrap_or_else(|| g.config.strategy())
            .kafka_name()
            .to_owned(),
        cooperative,
        leader: coord
            .and_then(|c| c.leader.as_ref())
            .and_then(|l| coord.and_then(|c| c.members.get(l)))
            .map(|m| m.client.member),
        members,
        rebalancing_since_ms: coord.and_then(|c| c.rebalancing_since_ms),
        rebalances: coord.map_or(0, |c| c.rebalances),
        stop_the_world_ms: coord.map_or(0, |c| c.stop_the_world_ms),
        config: g.config.clone(),
    }
}

/// Where a member is, as its card says it.
fn member_status(c: &super::consumer::Consumer) -> MemberStatus {
    match &c.status {
        ConsumerStatus::Crashed => MemberStatus::Crashed,
        ConsumerStatus::Closed => MemberStatus::Closed,
        ConsumerStatus::Failed(e) => MemberStatus::Failed(e.clone()),
        ConsumerStatus::Active if c.member_state != MemberState::Stable => MemberStatus::Joining,
        ConsumerStatus::Active
            if c.assigned.is_empty() || (c.idle() && c.app == AppState::Polling) =>
        {
            MemberStatus::Idle
        }
        ConsumerStatus::Active => MemberStatus::Active,
    }
}

/// Why an idle member is idle: no partition (more consumers than partitions), or nothing
/// new to read.
fn idle_reason(sim: &Sim, group: GroupId, c: &super::consumer::Consumer) -> String {
    if !c.assigned.is_empty() {
        return "waiting for records".to_owned();
    }
    let world = sim.world();
    let partitions: u32 = c
        .topics
        .iter()
        .filter_map(|t| world.cluster.topic_id(t))
        .map(|t| world.cluster.partition_count(t))
        .sum();
    let live = world.groups[group.index()]
        .consumers
        .iter()
        .filter(|x| x.status.alive())
        .count();
    format!("no partition: {live} consumers, {partitions} partitions")
}

fn member_view(
    sim: &Sim,
    group: GroupId,
    c: &super::consumer::Consumer,
    coord: Option<&super::coordinator::CoordGroup>,
) -> MemberView {
    let status = member_status(c);
    let mut deadlines = Vec::new();
    let in_group = coord.and_then(|g| {
        g.member_of(ConsumerRef {
            group,
            member: c.id.member,
        })
    });
    // A member that is down is removed when its session times out. (A live member waiting
    // in a join has no session countdown: the coordinator holds it for the rebalance.)
    if let Some(m) = in_group {
        if !c.status.alive() {
            deadlines.push((DeadlineKind::SessionTimeout, m.heartbeat_deadline_ms));
        }
    }
    if c.status.alive() {
        if c.config.enable_auto_commit && c.member_state == MemberState::Stable {
            deadlines.push((DeadlineKind::AutoCommit, c.next_auto_commit_ms));
        }
        if c.app != AppState::Polling && c.member_state != MemberState::Unjoined {
            deadlines.push((
                DeadlineKind::PollTimeout,
                c.last_poll_ms.saturating_add(c.config.max_poll_interval_ms),
            ));
        }
    }
    sort::sort_by_key(&mut deadlines, |d| d.1);
    let idle_reason = (status == MemberStatus::Idle).then(|| idle_reason(sim, group, c));
    MemberView {
        member: c.id.member,
        client_id: c.client_id.clone(),
        group_instance_id: c.group_instance_id.clone(),
        member_id: c.member_id.clone(),
        generation: c.generation,
        status,
        is_leader: c.is_leader && c.status.alive(),
        owned: if c.status.alive() {
            c.assigned.clone()
        } else {
            Vec::new()
        },
        in_hand: c.in_hand(),
        processing_ms: c.processing_ms(),
        slowed: c.processing_ms_override.is_some(),
        deadlines,
        idle_reason,
        crashed: c.crashed,
    }
}

/// The owner of a partition for a group (see the module docs).
pub fn owner(sim: &Sim, group: GroupId, tp: Tp) -> Option<MemberId> {
    sim.world()
        .groups
        .get(group.index())?
        .consumers
        .iter()
        .find(|c| c.status.alive() && c.assigned.contains(&tp))
        .map(|c| c.id.member)
}

/// One record as a lane cell.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CellView {
    /// Its offset.
    pub offset: u64,
    /// The ledger's record id.
    pub record_id: u32,
    /// Its key.
    pub key: Option<String>,
    /// The key's murmur2 (for a stable colour).
    pub key_hash: Option<i32>,
    /// The group's outcome for it.
    pub outcome: Outcome,
    /// Processed out of order.
    pub out_of_order: bool,
    /// A second copy left by a retry.
    pub log_duplicate: bool,
    /// Why it went to this partition (stored when it was sent).
    pub reason: PartitionReason,
    /// A poison record.
    pub poison: bool,
    /// A tombstone (a null value).
    pub tombstone: bool,
    /// Removed by the log cleaner: its offset is a gap no fetch returns.
    pub cleaned: bool,
    /// A dead letter (its value holds its headers).
    pub dead_letter: bool,
    /// The amount the applications charge for it (derived from its event id, the record
    /// id, so every copy and delivery charges the same).
    pub amount: u64,
    /// The value typed by hand, or a dead letter's headers, if any.
    pub value: Option<String>,
    /// When it was produced.
    pub produced_ms: u64,
}

/// One partition as a lane, for one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LaneView {
    /// The partition.
    pub tp: Tp,
    /// Its owner in the group.
    pub owner: Option<MemberId>,
    /// The owner's position.
    pub position: Option<u64>,
    /// The group's committed offset.
    pub committed: Option<u64>,
    /// The log start offset.
    pub log_start_offset: u64,
    /// The log end offset.
    pub log_end_offset: u64,
    /// The high watermark.
    pub high_watermark: u64,
    /// `log end offset − committed`.
    pub lag: Option<u64>,
    /// Its leader, when the cluster has more than one broker (`Some(None)`: offline).
    pub leader: Option<Option<BrokerId>>,
    /// The cells in the window, oldest first.
    pub cells: Vec<CellView>,
}

/// The lanes of a topic for a group: for each partition, the cells in `[from, to)` of
/// offsets (`None`: the newest `window`).
pub fn lanes(
    sim: &Sim,
    topic: TopicId,
    group: GroupId,
    window: u64,
    focus: Option<(Tp, u64)>,
) -> Vec<LaneView> {
    let n = sim.world().cluster.partition_count(topic);
    (0..n)
        .map(|p| {
            let tp = Tp::new(topic, p);
            let from = match focus {
                Some((f, offset)) if f == tp => Some(offset.saturating_sub(window / 2)),
                _ => None,
            };
            lane(sim, tp, group, window, from)
        })
        .collect()
}

/// One lane (see [`lanes`]).
pub fn lane(sim: &Sim, tp: Tp, group: GroupId, window: u64, from: Option<u64>) -> LaneView {
    let world = sim.world();
    let ledger = sim.ledger();
    let log = world.log(tp);
    let (start, leo, hw) = log.map_or((0, 0, 0), |l| {
        (l.log_start_offset(), l.log_end_offset(), l.high_watermark())
    });
    let owner = owner(sim, group, tp);
    let position = owner.and_then(|m| {
        world.groups[group.index()].consumers[m.index()]
            .positions
            .get(&tp)
            .copied()
    });
    let committed = world
        .coordinators
        .iter()
        .find_map(|c| c.group(group))
        .and_then(|g| g.committed.get(&tp))
        .map(|c| c.offset);
    let first = from
        .unwrap_or_else(|| leo.saturating_sub(window))
        .max(start);
    let cells = log
        .map(|l| {
            l.range(first, first.saturating_add(window))
                .map(|(offset, r)| {
                    let info = ledger.records.get(r.record_id as usize);
                    let key = r.key.and_then(|k| world.keys.get(k));
                    CellView {
                        offset,
                        record_id: r.record_id,
                        key: key.map(|k| k.name.clone()),
                        key_hash: key.map(|k| k.murmur2),
                        outcome: ledger.outcome(group, r.record_id),
                        out_of_order: ledger.out_of_order(group, r.record_id),
                        log_duplicate: info.is_some_and(|i| i.first_offset() != Some(offset)),
                        reason: info.map_or(PartitionReason::Random, |i| i.reason(&world.keys)),
                        poison: r.poison(),
                        tombstone: r.tombstone(),
                        cleaned: r.cleaned(),
                        dead_letter: r.dead_letter(),
                        amount: super::ledger::effects::order_amount(r.record_id),
                        value: cell_value(sim, tp, offset, r),
                        produced_ms: r.timestamp_ms,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    LaneView {
        tp,
        owner,
        position,
        committed,
        log_start_offset: start,
        log_end_offset: leo,
        high_watermark: hw,
        lag: committed.map(|c| leo.saturating_sub(c)),
        leader: (world.brokers.len() > 1).then(|| world.cluster.leader(tp)),
        cells,
    }
}

/// What `kafka-topics --describe` prints for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    /// `Topic:`
    pub topic: String,
    /// `PartitionCount:`
    pub partition_count: u32,
    /// `ReplicationFactor:`
    pub replication_factor: u32,
    /// `Configs:` (only those set away from their defaults, `name=value`).
    pub configs: Vec<String>,
    /// One line per partition.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition's line of `kafka-topics --describe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDescription {
    /// `Partition:`
    pub partition: u32,
    /// `Leader:` (a broker id; `None` when the partition is offline: Kafka prints `none`).
    pub leader: Option<u32>,
    /// `Replicas:`, the preferred leader first.
    pub replicas: Vec<u32>,
    /// `Isr:`
    pub isr: Vec<u32>,
}

/// `kafka-topics --describe` for every live topic, in id order.
pub fn describe_topics(sim: &Sim) -> Vec<TopicDescription> {
    let cluster = &sim.world().cluster;
    let ids = |v: Vec<BrokerId>| v.into_iter().map(|b| u32::from(b.0)).collect::<Vec<_>>();
    cluster
        .topics()
        .map(|t| {
            let partitions: Vec<PartitionDescription> = (0..t.partitions)
                .map(|p| {
                    let tp = Tp::new(t.id, p);
                    PartitionDescription {
                        partition: p,
                        leader: cluster.leader(tp).map(|b| u32::from(b.0)),
                        replicas: ids(cluster.replicas(tp)),
                        isr: ids(cluster.isr(tp)),
                    }
                })
                .collect();
            TopicDescription {
                topic: t.name.clone(),
                partition_count: t.partitions,
                replication_factor: partitions.first().map_or(0, |p| p.replicas.len() as u32),
                configs: t.config.overrides(),
                partitions,
            }
        })
        .collect()
}

/// Where a group's coordinator lives: the broker (`None` while its partition has no
/// leader), and the partition of `__consumer_offsets` it leads for this group
/// (`Utils.abs(hashCode) % 50`).
pub fn coordinator(sim: &Sim, group: GroupId) -> (Option<u32>, u32) {
    let name = group_name(sim, group);
    let partition =
        super::cluster::offsets_partition_for(&name, super::cluster::OFFSETS_TOPIC_PARTITIONS);
    (
        sim.world()
            .cluster
            .coordinator(group)
            .map(|b| u32::from(b.0)),
        partition,
    )
}

/// One row of `kafka-consumer-groups --describe`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DescribeRow {
    /// GROUP
    pub group: String,
    /// TOPIC
    pub topic: String,
    /// PARTITION
    pub partition: u32,
    /// CURRENT-OFFSET (`None` prints as `-`)
    pub current_offset: Option<u64>,
    /// LOG-END-OFFSET
    pub log_end_offset: u64,
    /// LAG (`None` prints as `-`)
    pub lag: Option<u64>,
    /// CONSUMER-ID (`-` when unassigned)
    pub consumer_id: String,
    /// HOST
    pub host: String,
    /// CLIENT-ID
    pub client_id: String,
}

/// The rows `kafka-consumer-groups --describe --group <id>` prints: every partition of
/// the subscribed topics, with the coordinator's assignment while the group is stable
/// (the tool shows no members during a rebalance).
pub fn describe(sim: &Sim, group: GroupId) -> Vec<DescribeRow> {
    let world = sim.world();
    let Some(g) = world.groups.get(group.index()) else {
        return Vec::new();
    };
    let coord = world.coordinators.iter().find_map(|c| c.group(group));
    let stable = coord.is_some_and(|c| c.state == GroupState::Stable);
    world
        .cluster
        .partitions_of(&g.topics)
        .into_iter()
        .map(|tp| {
            let leo = world.log(tp).map_or(0, |l| l.log_end_offset());
            let committed = coord.and_then(|c| c.committed.get(&tp)).map(|c| c.offset);
            let holder = coord
                .filter(|_| stable)
                .and_then(|c| c.members.values().find(|m| m.assignment.contains(&tp)));
            let (consumer_id, host, client_id) = match holder {
                Some(m) => (
                    m.member_id.clone(),
                    format!("/10.0.0.{}", m.client.member.0 + 10),
                    consumer_client_id(m.client.member),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            DescribeRow {
                group: g.name.clone(),
                topic: world
                    .cluster
                    .topic(tp.topic)
                    .map_or_else(String::new, |t| t.name.clone()),
                partition: tp.p(),
                current_offset: committed,
                log_end_offset: leo,
                lag: committed.map(|c| leo.saturating_sub(c)),
                consumer_id,
                host,
                client_id,
            }
        })
        .collect()
}

/// One producer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProducerView {
    /// Its id.
    pub id: ProducerId,
    /// `producer-1`.
    pub client_id: String,
    /// Its configuration.
    pub config: ProducerConfig,
    /// Idempotent (as Kafka decides it).
    pub idempotent: bool,
    /// Its workload.
    pub workload: Option<Workload>,
    /// Records acknowledged.
    pub acked: u64,
    /// Records sent with `acks=0` (never acknowledged).
    pub sent_no_ack: u64,
    /// Records failed.
    pub failed: u64,
    /// Records in the accumulator or on the wire.
    pub pending: u64,
    /// Requests on the wire.
    pub in_flight_requests: usize,
    /// The producer epoch.
    pub epoch: u16,
}

/// Every producer.
pub fn producers(sim: &Sim) -> Vec<ProducerView> {
    sim.world()
        .producers
        .iter()
        .map(|p| ProducerView {
            id: p.id,
            client_id: p.client_id.clone(),
            config: p.config.clone(),
            idempotent: p.config.idempotence(),
            workload: p.workload.clone(),
            acked: p.acked_records,
            sent_no_ack: p.sent_no_ack_records,
            failed: p.failed_records,
            pending: p.pending_records() as u64,
            in_flight_requests: p.in_flight.len(),
            epoch: p.epoch,
        })
        .collect()
}

/// An anomaly, explained.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnomalyView {
    /// Its index (producer-side ones after the group's).
    pub index: usize,
    /// What went wrong.
    pub kind: AnomalyKind,
    /// Where.
    pub tp: Tp,
    /// First offset (record id for records never in the log).
    pub first_offset: u64,
    /// Last offset.
    pub last_offset: u64,
    /// Records in it.
    pub count: u64,
    /// When it was found.
    pub at_ms: u64,
    /// Who.
    pub member: Option<MemberId>,
    /// One sentence.
    pub sentence: String,
    /// The cause chain, oldest first: `(time, what)`.
    pub chain: Vec<(u64, String)>,
}

/// A group's anomalies, then the producer-side ones (which count for every group).
pub fn anomalies(sim: &Sim, group: GroupId) -> Vec<AnomalyView> {
    let ledger = sim.ledger();
    let names = TpNames(sim);
    let own = ledger
        .groups
        .get(group.index())
        .map_or(&[][..], |g| g.anomalies.as_slice());
    own.iter()
        .chain(&ledger.producer_anomalies)
        .enumerate()
        .map(|(index, a)| {
            let mut chain = explain::chain(a, &names);
            // A duplicate's last step is what it did to the application's database.
            chain.extend(super::table::duplicate_effect(sim, group, a));
            AnomalyView {
                index,
                kind: a.kind,
                tp: a.tp,
                first_offset: a.first_offset,
                last_offset: a.last_offset,
                count: a.count,
                at_ms: a.at_ms,
                member: a.member,
                sentence: explain::sentence(a, &names),
                chain,
            }
        })
        .collect()
}

/// One partition's numbers for one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionMetrics {
    /// The partition.
    pub tp: Tp,
    /// The owner's position.
    pub position: Option<u64>,
    /// The committed offset.
    pub committed: Option<u64>,
    /// The log end offset.
    pub log_end_offset: u64,
    /// `log end offset − committed`.
    pub lag: Option<u64>,
}

/// One group's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupMetrics {
    /// The group.
    pub group: GroupId,
    /// Completed rebalances.
    pub rebalances: u32,
    /// Time eager rebalances stopped the group.
    pub stop_the_world_ms: u64,
    /// Records processed, duplicates included.
    pub processed_records: u64,
    /// Ledger totals.
    pub totals: Totals,
    /// Per partition.
    pub partitions: Vec<PartitionMetrics>,
}

/// Cluster-wide numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Virtual time.
    pub now_ms: u64,
    /// Records produced.
    pub produced: u64,
    /// Records in the logs, second copies included.
    pub appended: u64,
    /// Records with more than one copy in the log.
    pub log_duplicates: u64,
    /// Per group.
    pub groups: Vec<GroupMetrics>,
}

/// One partition's position, committed offset, log end and lag for a group.
pub fn partition_metrics(sim: &Sim, group: GroupId, tp: Tp) -> PartitionMetrics {
    let l = lane(sim, tp, group, 0, None);
    PartitionMetrics {
        tp,
        position: l.position,
        committed: l.committed,
        log_end_offset: l.log_end_offset,
        lag: l.lag,
    }
}

/// Throughput, rebalances, stop-the-world time, totals, and per partition the numbers.
pub fn metrics(sim: &Sim) -> Metrics {
    let world = sim.world();
    let ledger = sim.ledger();
    let groups = groups(sim)
        .into_iter()
        .map(|g| {
            let topics = &world.groups[g.id.index()].topics;
            let partitions = world
                .cluster
                .partitions_of(topics)
                .into_iter()
                .map(|tp| partition_metrics(sim, g.id, tp))
                .collect();
            GroupMetrics {
                group: g.id,
                rebalances: g.rebalances,
                stop_the_world_ms: g.stop_the_world_ms,
                processed_records: ledger.groups[g.id.index()].processed_count(),
                totals: sim.totals(g.id).unwrap_or_default(),
                partitions,
            }
        })
        .collect();
    Metrics {
        now_ms: sim.now_ms(),
        produced: ledger.produced(),
        appended: world
            .brokers
            .iter()
            .map(super::broker::Broker::record_count)
            .sum(),
        log_duplicates: ledger.log_duplicates,
        groups,
    }
}

/// Per-key record counts per partition (for "which keys land where").
pub fn keys_per_partition(sim: &Sim, topic: TopicId) -> BTreeMap<u32, usize> {
    let mut out = BTreeMap::new();
    for r in sim
        .ledger()
        .records
        .iter()
        .filter(|r| r.tp().topic == topic)
    {
        *out.entry(r.tp().p()).or_insert(0) += 1;
    }
    out
}

/// The name of an interned key.
pub fn key_name(sim: &Sim, key: u32) -> Option<String> {
    sim.world().keys.get(key).map(|k| k.name.clone())
}

/// The events numbered `from` and later that are still in memory, with the number the
/// next one will get (a cursor for views that consume events as they come).
pub fn events_since(sim: &Sim, from: u64) -> (Vec<Event>, u64) {
    let events = sim.events().since(from).cloned().collect();
    (events, sim.event_count())
}

/// The topic's name.
pub fn topic_name(sim: &Sim, topic: TopicId) -> String {
    sim.world()
        .cluster
        .all_topics()
        .get(topic.index())
        .map_or_else(|| format!("topic {}", topic.0), |t| t.name.clone())
}

/// A group's `group.id`.
pub fn group_name(sim: &Sim, group: GroupId) -> String {
    sim.world()
        .groups
        .get(group.index())
        .map_or_else(|| format!("group {}", group.0 + 1), |g| g.name.clone())
}

/// Where the last record typed by hand landed (in the last few events), and why.
pub fn last_record_appended(sim: &Sim) -> Option<Landed> {
    let mut found = None;
    visit_events_since(sim, sim.event_count().saturating_sub(8), |e| {
        if let Event::RecordAppended {
            key,
            tp,
            offset,
            reason,
            ..
        } = e
        {
            found = Some(Landed {
                key: key.and_then(|k| key_name(sim, k)),
                tp: *tp,
                offset: *offset,
                reason: reason.clone(),
            });
        }
    });
    found
}

/// A record typed by hand, where it landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landed {
    /// Its key (`None`: a null key).
    pub key: Option<String>,
    /// Its partition.
    pub tp: Tp,
    /// Its offset.
    pub offset: u64,
    /// Why that partition.
    pub reason: PartitionReason,
}

/// The known keys the last partitions added moved: `(key, from, to)`.
pub fn keys_moved_by_last_partitions_added(sim: &Sim) -> Vec<(String, u32, u32)> {
    let mut out = Vec::new();
    visit_events_since(sim, sim.event_count().saturating_sub(4), |e| {
        if let Event::PartitionsAdded { moved, .. } = e {
            out = moved
                .iter()
                .filter_map(|(k, from, to)| key_name(sim, *k).map(|n| (n, *from, *to)))
                .collect();
        }
    });
    out
}

/// A group's id by its `group.id`.
pub fn group_id(sim: &Sim, name: &str) -> Option<GroupId> {
    let groups = &sim.world().groups;
    groups.iter().find(|g| g.name == name).map(|g| g.id)
}

/// A topic's id by its name.
pub fn topic_id(sim: &Sim, name: &str) -> Option<TopicId> {
    sim.world().cluster.topic_id(name)
}

/// A topic's partition count (0: no such topic).
pub fn partition_count(sim: &Sim, topic: TopicId) -> u32 {
    sim.world().cluster.partition_count(topic)
}

/// How many brokers' processes run.
pub fn brokers_alive(sim: &Sim) -> u64 {
    sim.world().brokers.iter().filter(|b| b.alive).count() as u64
}

/// A topic's partitions with no leader, and with fewer in-sync replicas than replicas.
pub fn offline_and_under_replicated(sim: &Sim, topic: TopicId) -> (u64, u64) {
    let cluster = &sim.world().cluster;
    let states =
        (0..cluster.partition_count(topic)).filter_map(|p| cluster.state(Tp::new(topic, p)));
    states.fold((0, 0), |(offline, under), s| {
        (
            offline + u64::from(s.leader.is_none()),
            under + u64::from(s.isr.len() < s.replicas.len()),
        )
    })
}

/// A partition's segments on its leader, oldest first; the last is the active one.
pub fn segments(sim: &Sim, tp: Tp) -> Vec<Segment> {
    sim.world()
        .log(tp)
        .map(|l| l.segments().to_vec())
        .unwrap_or_default()
}

/// A partition's log end offset on its leader's log (0: none).
pub fn log_end_offset(sim: &Sim, tp: Tp) -> u64 {
    sim.world().log(tp).map_or(0, |l| l.log_end_offset())
}

/// The topics a group subscribes to (existing ones), in id order.
pub fn subscribed_topics(sim: &Sim, group: GroupId) -> Vec<TopicId> {
    let mut t = sim.world().subscribed_topics(group);
    sort::sort(&mut t);
    t
}

/// For a topic written by keyed workloads with Kafka's default partitioner: how many of
/// their keys map to `tp`, of how many keys in all (`None` when no keyed workload writes
/// there). Lets an empty partition explain itself.
pub fn keys_mapping_to(sim: &Sim, tp: Tp) -> Option<(usize, usize)> {
    let world = sim.world();
    let n = world.cluster.partition_count(tp.topic);
    let mut names: Vec<String> = Vec::new();
    for p in &world.producers {
        let Some(w) = &p.workload else { continue };
        if w.topic != tp.topic
            || p.config.partitioner != PartitionerKind::JavaDefault
            || p.config.partitioner_ignore_keys
        {
            continue;
        }
        match &w.key_space {
            KeySpace::Fixed(k) => names.push(k.clone()),
            KeySpace::Uniform { prefix, count } | KeySpace::HotKey { prefix, count, .. } => {
                names.extend((0..*count.min(&10_000)).map(|i| format!("{prefix}{i}")));
                if let KeySpace::HotKey { prefix, .. } = &w.key_space {
                    names.push(format!("{prefix}hot"));
                }
            }
            // Order ids are new with every order: only customers are a known set of keys.
            KeySpace::Orders { customers, .. }
                if p.config.key_field == crate::engine::value::KeyField::CustomerId =>
            {
                names.extend((0..*customers.min(&10_000)).map(|i| format!("customer-{i}")));
            }
            KeySpace::Null | KeySpace::Orders { .. } => {}
        }
    }
    if names.is_empty() || n == 0 {
        return None;
    }
    sort::sort(&mut names);
    names.dedup();
    let here = names
        .iter()
        .filter(|k| java_partition(k.as_bytes(), n) == tp.p())
        .count();
    Some((here, names.len()))
}

/// One produced record, as a flight on the stage needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordView {
    /// Where it goes (or went).
    pub tp: Tp,
    /// Who sent it (`None`: typed by hand).
    pub producer: Option<ProducerId>,
    /// The key's name.
    pub key: Option<String>,
    /// The key's murmur2 (for its colour).
    pub key_hash: Option<i32>,
    /// Why that partition.
    pub reason: PartitionReason,
    /// A poison record.
    pub poison: bool,
}

/// The record numbered `record_id`, if it exists.
pub fn record(sim: &Sim, record_id: u32) -> Option<RecordView> {
    let world = sim.world();
    let info = sim.ledger().records.get(record_id as usize)?;
    let key = info.key().and_then(|k| world.keys.get(k));
    Some(RecordView {
        tp: info.tp(),
        producer: info.producer(),
        key: key.map(|k| k.name.clone()),
        key_hash: key.map(|k| k.murmur2),
        reason: info.reason(&world.keys),
        poison: info.poison,
    })
}

/// Calls `f` on each event numbered `from` or later that is still in memory, newest
/// last, and returns the number the next event will get. Borrows, never clones: the
/// stage reads thousands of events per frame under load.
pub fn visit_events_since(sim: &Sim, from: u64, mut f: impl FnMut(&Event)) -> u64 {
    for e in sim.events().since(from) {
        f(e);
    }
    sim.event_count()
}

/// How many anomalies [`anomalies`] would list for `group` (cheap: no sentences).
pub fn anomaly_count(sim: &Sim, group: GroupId) -> usize {
    let ledger = sim.ledger();
    ledger
        .groups
        .get(group.index())
        .map_or(0, |g| g.anomalies.len())
        + ledger.producer_anomalies.len()
}

/// The ledger's totals for a group (once, duplicate, lost, …), if the group exists.
pub fn totals(sim: &Sim, group: GroupId) -> Option<Totals> {
    sim.totals(group)
}

/// A short note of the newest anomaly a member caused at or after `since_ms`: `(kind,
/// partition, first offset, last offset)`. Looks at the group's last 64 anomalies only,
/// so a card can ask every frame.
pub fn recent_anomaly_of(
    sim: &Sim,
    group: GroupId,
    member: MemberId,
    since_ms: u64,
) -> Option<(AnomalyKind, Tp, u64, u64, Option<bool>)> {
    let g = sim.ledger().groups.get(group.index())?;
    g.anomalies
        .iter()
        .rev()
        .take(64)
        .take_while(|a| a.at_ms >= since_ms)
        .find(|a| a.member == Some(member))
        .map(|a| {
            (
                a.kind,
                a.tp,
                a.first_offset,
                a.last_offset,
                a.error_handled(),
            )
        })
}

/// A few facts of one anomaly, without its sentence (cheap enough for every frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnomalyBrief {
    /// Its index in [`anomalies`].
    pub index: usize,
    /// What went wrong.
    pub kind: AnomalyKind,
    /// Where.
    pub tp: Tp,
    /// The first offset.
    pub first_offset: u64,
    /// The last offset.
    pub last_offset: u64,
    /// Who.
    pub member: Option<MemberId>,
}

/// The group's anomalies numbered `from` and later (as [`anomalies`] numbers them), at
/// most the newest `max`.
pub fn anomalies_since(sim: &Sim, group: GroupId, from: usize, max: usize) -> Vec<AnomalyBrief> {
    let ledger = sim.ledger();
    let own = ledger
        .groups
        .get(group.index())
        .map_or(&[][..], |g| g.anomalies.as_slice());
    let total = own.len() + ledger.producer_anomalies.len();
    let start = from.max(total.saturating_sub(max));
    (start..total)
        .filter_map(|i| {
            let a = own
                .get(i)
                .or_else(|| ledger.producer_anomalies.get(i - own.len()))?;
            Some(AnomalyBrief {
                index: i,
                kind: a.kind,
                tp: a.tp,
                first_offset: a.first_offset,
                last_offset: a.last_offset,
                member: a.member,
            })
        })
        .collect()
}

/// One broker, as the cluster view shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerView {
    /// Its id.
    pub id: BrokerId,
    /// Its process runs.
    pub alive: bool,
    /// The controller counts it in (registered, not fenced). A killed broker stays in
    /// until `broker.session.timeout.ms` passes.
    pub registered: bool,
    /// Its process runs and has registered with the controller (a restarted one is
    /// refused while its old session is valid).
    pub process_registered: bool,
    /// Partitions it leads.
    pub leads: u32,
    /// The groups it coordinates (it leads their `__consumer_offsets` partitions).
    pub coordinates: Vec<String>,
}

/// One replica of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// Where it lives.
    pub broker: BrokerId,
    /// It leads the partition.
    pub leader: bool,
    /// It is in the ISR.
    pub in_sync: bool,
    /// Its log end offset (its disk's, even while its broker is down).
    pub log_end_offset: u64,
    /// Its high watermark as it knows it.
    pub high_watermark: u64,
}

/// One partition's replica set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReplicas {
    /// The partition.
    pub tp: Tp,
    /// Its name (`p0`, or `topic/p0`).
    pub name: String,
    /// The leader (`None`: offline).
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: u32,
    /// The leader's high watermark: consumers read below it.
    pub high_watermark: u64,
    /// Every replica, in assignment order.
    pub replicas: Vec<ReplicaView>,
}

/// The cluster: brokers, and every partition's replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    /// The brokers, by id.
    pub brokers: Vec<BrokerView>,
    /// Every partition of every topic.
    pub partitions: Vec<PartitionReplicas>,
    /// `min.insync.replicas` of the first topic (the one the lanes show).
    pub min_insync_replicas: u16,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
}

/// The engine's own rules, checked as the tests check them: `Err` names the first one
/// broken (a bug in the lab, never in Kafka), for the page to say so and offer the run.
///
/// # Errors
/// The broken invariant, in words.
pub fn health(sim: &Sim) -> Result<(), String> {
    super::invariants::check(sim)
}

/// The cluster view's model.
pub fn cluster(sim: &Sim) -> ClusterView {
    let world = sim.world();
    let c = &world.cluster;
    let partitions: Vec<PartitionReplicas> = c
        .all_partitions()
        .into_iter()
        .filter_map(|tp| {
            let state = c.state(tp)?;
            let replicas = state
                .replicas
                .iter()
                .map(|&b| {
                    let log = world.brokers.get(b.index()).and_then(|x| x.log(tp));
                    ReplicaView {
                        broker: b,
                        leader: state.leader == Some(b),
                        in_sync: state.isr.contains(&b),
                        log_end_offset: log.map_or(0, |l| l.log_end_offset()),
                        high_watermark: log.map_or(0, |l| l.high_watermark()),
                    }
                })
                .collect();
            Some(PartitionReplicas {
                tp,
                name: tp_name(sim, tp),
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                high_watermark: world.log(tp).map_or(0, |l| l.high_watermark()),
                replicas,
            })
        })
        .collect();
    let brokers = world
        .brokers
        .iter()
        .map(|b| BrokerView {
            id: b.id,
            alive: b.alive,
            registered: c.is_live(b.id),
            process_registered: b.alive && b.lifecycle.registered,
            leads: partitions.iter().filter(|p| p.leader == Some(b.id)).count() as u32,
            coordinates: world
                .groups
                .iter()
                .filter(|g| c.coordinator(g.id) == Some(b.id))
                .map(|g| g.name.clone())
                .collect(),
        })
        .collect();
    ClusterView {
        brokers,
        partitions,
        min_insync_replicas: c.min_insync_replicas(TopicId(0)),
        unclean_leader_election: c.replication.unclean_leader_election_enable,
    }
}

/// The nodes a fault on broker `b` cuts it from: `(every other node, the other brokers)`.
pub fn nodes_around(sim: &Sim, b: BrokerId) -> (Vec<NodeId>, Vec<NodeId>) {
    let world = sim.world();
    let brokers: Vec<NodeId> = world
        .brokers
        .iter()
        .filter(|x| x.id != b)
        .map(|x| NodeId::Broker(x.id))
        .collect();
    // Cut off from everyone: the controller too, so its heartbeats stop and it is fenced.
    let mut all = brokers.clone();
    all.push(NodeId::Controller);
    all.extend(world.producers.iter().map(|p| NodeId::Producer(p.id)));
    all.extend(
        world
            .groups
            .iter()
            .flat_map(|g| g.consumers.iter().map(|c| NodeId::Consumer(c.id))),
    );
    (all, brokers)
}
