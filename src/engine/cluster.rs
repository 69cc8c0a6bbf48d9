//! The cluster's metadata: topics (names, partition counts, configs) and where each
//! partition and group lives. Clients read it as their metadata cache would hold it; the
//! kernel changes it on topic commands. The records themselves live in the brokers.

use super::error::EngineError;
use super::ids::{BrokerId, GroupId, TopicId, Tp};
use super::placement::{Candidate, Placer};
use super::replication::{PartitionState, ReplicationConfig};
use super::rng::Rng;
use super::sort;

/// The most topics the lab holds (deleted ones included: ids are never reused).
pub const MAX_TOPICS: usize = 16;
/// The most partitions a topic may have in the lab.
pub const MAX_PARTITIONS: u32 = 64;
/// Kafka's longest legal topic name.
pub const MAX_TOPIC_NAME: usize = 249;

/// `cleanup.policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CleanupPolicy {
    /// `delete`: old segments are deleted by retention (the default).
    Delete,
    /// `compact`: the latest record per key is kept.
    Compact,
    /// `delete,compact`.
    DeleteAndCompact,
}

impl CleanupPolicy {
    /// Its value as Kafka writes it.
    pub fn name(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::DeleteAndCompact => "delete,compact",
        }
    }
}

/// `segment.bytes`' least value in Kafka 4 (`LogConfig`: 1 MiB).
pub const MIN_SEGMENT_BYTES: u64 = 1_048_576;
/// `segment.bytes`' greatest value (an `int` config).
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;

/// Per-topic configs: segments roll by `segment.bytes` and `segment.ms`, retention deletes
/// by `retention.ms` and `retention.bytes`, and the cleaner compacts by the compaction
/// settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TopicConfig {
    /// `cleanup.policy`, default delete.
    pub cleanup_policy: CleanupPolicy,
    /// `retention.ms`, default 604800000 (7 days); -1 keeps records forever.
    pub retention_ms: i64,
    /// `retention.bytes` per partition, default -1 (no limit).
    #[serde(default = "no_limit")]
    pub retention_bytes: i64,
    /// `segment.bytes`, default 1073741824 (1 GiB), at least 1 MiB.
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
    /// `segment.ms`, default 604800000 (7 days), at least 1.
    #[serde(default = "default_segment_ms")]
    pub segment_ms: u64,
    /// The compaction settings (`min.cleanable.dirty.ratio`, the compaction lags and
    /// `delete.retention.ms`).
    #[serde(default)]
    pub compaction: Compaction,
    /// `min.insync.replicas` set on the topic (else the broker's applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<u16>,
    /// The replication factor asked at creation (`--replication-factor`; not a config
    /// Kafka lists under `Configs:`); else `default.replication.factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u16>,
}

fn no_limit() -> i64 {
    -1
}

fn default_segment_bytes() -> u64 {
    super::log::Roll::default().segment_bytes
}

fn default_segment_ms() -> u64 {
    super::log::Roll::default().segment_ms
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            cleanup_policy: CleanupPolicy::Delete,
            retention_ms: 604_800_000,
            retention_bytes: no_limit(),
            segment_bytes: default_segment_bytes(),
            segment_ms: default_segment_ms(),
            compaction: Compaction::default(),
            min_insync_replicas: None,
            replication_factor: None,
        }
    }
}

impl TopicConfig {
    /// Sets one topic config by its Kafka name; on error nothing changes.
    ///
    /// # Errors
    /// An unknown name or a bad value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        let v = value.trim();
        match name {
            "cleanup.policy" => {
                self.cleanup_policy = match v {
                    "delete" => CleanupPolicy::Delete,
                    "compact" => CleanupPolicy::Compact,
                    "delete,compact" | "compact,delete" => CleanupPolicy::DeleteAndCompact,
                    _ => return Err(invalid(name, "must be delete, compact or delete,compact")),
                }
            }
            "retention.ms" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| invalid(name, &format!("`{v}` is not a whole number")))?;
                if n < -1 {
                    return Err(invalid(name, "must be -1 (forever) or more"));
                }
                self.retention_ms = n;
            }
            "retention.bytes" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| invalid(name, &format!("`{v}` is not a whole number")))?;
                // Kafka has no validator here: any negative value means no limit.
                self.retention_bytes = n.max(-1);
            }
            "segment.bytes" => {
                self.segment_bytes =
                    super::config::parse_in_range(name, v, MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES)?;
            }
            "segment.ms" => {
                self.segment_ms = super::config::parse_in_range(name, v, 1, i64::MAX as u64)?;
            }
            "min.insync.replicas" | "replication.factor" => {
                let max = u64::from(super::replication::MAX_BROKERS);
                let n = super::config::parse_in_range(name, v, 1, max)? as u16;
                if name == "min.insync.replicas" {
                    self.min_insync_replicas = Some(n);
                } else {
                    self.replication_factor = Some(n);
                }
            }
            _ => return self.compaction.set(name, v),
        }
        Ok(())
    }

    /// The configs set away from their defaults, as `name=value` (what
    /// `kafka-topics --describe` prints after `Configs:`).
    pub fn overrides(&self) -> Vec<String> {
        let d = TopicConfig::default();
        let mut out = Vec::new();
        if self.cleanup_policy != d.cleanup_policy {
            out.push(format!("cleanup.policy={}", self.cleanup_policy.name()));
        }
        if self.retention_ms != d.retention_ms {
            out.push(format!("retention.ms={}", self.retention_ms));
        }
        if self.retention_bytes != d.retention_bytes {
            out.push(format!("retention.bytes={}", self.retention_bytes));
        }
        if self.segment_bytes != d.segment_bytes {
            out.push(format!("segment.bytes={}", self.segment_bytes));
        }
        if self.segment_ms != d.segment_ms {
            out.push(format!("segment.ms={}", self.segment_ms));
        }
        out.extend(self.compaction.overrides());
        if let Some(n) = self.min_insync_replicas {
            out.push(format!("min.insync.replicas={n}"));
        }
        out
    }

    /// The topic configs [`TopicConfig::get`] and [`TopicConfig::set`] know that a lab's
    /// setup may change (the replication settings are the cluster's).
    pub const NAMES: [&'static str; 9] = [
        "cleanup.policy",
        "retention.ms",
        "retention.bytes",
        "segment.bytes",
        "segment.ms",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "delete.retention.ms",
    ];

    /// One config's value by its Kafka name, as `kafka-configs --describe` prints it.
    pub fn get(&self, name: &str) -> Option<String> {
        let c = &self.compaction;
        Some(match name {
            "cleanup.policy" => self.cleanup_policy.name().to_owned(),
            "retention.ms" => self.retention_ms.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "min.cleanable.dirty.ratio" => {
                (f64::from(c.min_cleanable_dirty_ratio_ppm) / f64::from(RATIO_ONE)).to_string()
            }
            "min.compaction.lag.ms" => c.min_compaction_lag_ms.to_string(),
            "max.compaction.lag.ms" => c.max_compaction_lag_ms.to_string(),
            "delete.retention.ms" => c.delete_retention_ms.to_string(),
            _ => return None,
        })
    }

    /// Whether the cleaner compacts this topic's logs (`compact` in `cleanup.policy`).
    pub fn compacted(&self) -> bool {
        self.cleanup_policy != CleanupPolicy::Delete
    }

    /// What a retention check applies: with `delete` in `cleanup.policy`, `retention.ms`
    /// and `retention.bytes`; a compact-only topic neither (`UnifiedLog.deleteOldSegments`).
    pub fn retention(&self) -> super::log::Retention {
        match self.cleanup_policy {
            CleanupPolicy::Delete | CleanupPolicy::DeleteAndCompact => super::log::Retention {
                retention_ms: self.retention_ms,
                retention_bytes: self.retention_bytes,
            },
            CleanupPolicy::Compact => super::log::Retention::NONE,
        }
    }

    /// When the topic's logs roll their active segment.
    pub fn roll(&self) -> super::log::Roll {
        super::log::Roll {
            segment_bytes: self.segment_bytes,
            segment_ms: self.segment_ms,
        }
    }
}

/// Parts per million in a ratio: `min.cleanable.dirty.ratio` is kept exact, as an integer.
pub const RATIO_ONE: u32 = 1_000_000;

/// A topic's compaction settings (Kafka's `LogConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Compaction {
    /// `min.cleanable.dirty.ratio` in millionths (default 0.5): the cleaner takes a log once
    /// its dirty bytes are more than this share of its cleanable bytes.
    pub min_cleanable_dirty_ratio_ppm: u32,
    /// `min.compaction.lag.ms` (default 0): a record stays uncompacted at least this long.
    pub min_compaction_lag_ms: u64,
    /// `max.compaction.lag.ms` (default Long.MAX_VALUE): a log with a dirty record older
    /// than this is cleaned whatever its dirty ratio.
    pub max_compaction_lag_ms: u64,
    /// `delete.retention.ms` (default 1 day): how long a tombstone outlives the cleaning
    /// pass that first kept it.
    pub delete_retention_ms: u64,
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction {
            min_cleanable_dirty_ratio_ppm: RATIO_ONE / 2,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX as u64,
            delete_retention_ms: 86_400_000,
        }
    }
}

impl Compaction {
    /// Sets one compaction config by its Kafka name; on error nothing changes.
    ///
    /// # Errors
    /// An unknown name, a bad value, or a minimum lag over the maximum (Kafka's
    /// `LogConfig.validateValues` refuses that pair too).
    pub fn set(&mut self, name: &str, v: &str) -> Result<(), EngineError> {
        let max = i64::MAX as u64;
        let mut next = *self;
        match name {
            "min.cleanable.dirty.ratio" => {
                next.min_cleanable_dirty_ratio_ppm = parse_ratio(name, v)?
            }
            "min.compaction.lag.ms" => {
                next.min_compaction_lag_ms = super::config::parse_in_range(name, v, 0, max)?;
            }
            "max.compaction.lag.ms" => {
                next.max_compaction_lag_ms = super::config::parse_in_range(name, v, 1, max)?;
            }
            "delete.retention.ms" => {
                next.delete_retention_ms = super::config::parse_in_range(name, v, 0, max)?;
            }
            _ => return Err(invalid(name, "not a topic config the lab models")),
        }
        if next.min_compaction_lag_ms > next.max_compaction_lag_ms {
            return Err(invalid(
                name,
                "min.compaction.lag.ms must not be more than max.compaction.lag.ms",
            ));
        }
        *self = next;
        Ok(())
    }

    /// The compaction configs set away from their defaults, as `name=value`.
    pub fn overrides(&self) -> Vec<String> {
        let d = Compaction::default();
        let mut out = Vec::new();
        if self.min_cleanable_dirty_ratio_ppm != d.min_cleanable_dirty_ratio_ppm {
            let ratio = f64::from(self.min_cleanable_dirty_ratio_ppm) / f64::from(RATIO_ONE);
            out.push(format!("min.cleanable.dirty.ratio={ratio}"));
        }
        let lags = [
            (
                "min.compaction.lag.ms",
                self.min_compaction_lag_ms,
                d.min_compaction_lag_ms,
            ),
            (
                "max.compaction.lag.ms",
                self.max_compaction_lag_ms,
                d.max_compaction_lag_ms,
            ),
            (
                "delete.retention.ms",
                self.delete_retention_ms,
                d.delete_retention_ms,
            ),
        ];
        for (name, v, default) in lags {
            if v != default {
                out.push(format!("{name}={v}"));
            }
        }
        out
    }
}

/// A ratio in `[0, 1]` (Kafka's `between(0, 1)` on a double), kept in millionths.
fn parse_ratio(name: &str, v: &str) -> Result<u32, EngineError> {
    let x: f64 = v
        .parse()
        .map_err(|_| invalid(name, &format!("`{v}` is not a number")))?;
    if !(0.0..=1.0).contains(&x) {
        return Err(invalid(name, &format!("must be between 0 and 1, not {v}")));
    }
    Ok((x * f64::from(RATIO_ONE)).round() as u32)
}

/// One topic's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMeta {
    /// Its id.
    pub id: TopicId,
    /// Its name.
    pub name: String,
    /// Its partition count.
    pub partitions: u32,
    /// Its configs.
    pub config: TopicConfig,
    /// Deleted topics keep their id (and their place) but hold nothing.
    pub deleted: bool,
    /// Its replication factor.
    pub replication_factor: u16,
    /// Each partition's replicas, ISR, leader and leader epoch, by partition.
    pub states: Vec<PartitionState>,
}

/// Every topic, every broker's liveness as the controller sees it, and where things
/// live: the metadata image clients read (the lab's clients see changes at once).
#[derive(Clone, Debug)]
pub struct Cluster {
    topics: Vec<TopicMeta>,
    /// The replication settings.
    pub replication: ReplicationConfig,
    /// Per broker: registered and not fenced.
    live: Vec<bool>,
    /// The controller's own random source for replica placement (Kafka's is unseeded;
    /// the lab's is seeded from the scenario, apart from the simulation's RNG).
    placer_rng: Rng,
    /// The partitions of `__consumer_offsets` (hidden from the topic list): their leaders
    /// are the group coordinators.
    offsets: Vec<PartitionState>,
    /// Each group's partition of `__consumer_offsets`, by group index.
    group_partitions: Vec<u32>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster::with_replication(ReplicationConfig::default(), 0)
    }
}

impl Cluster {
    /// A one-broker cluster with no topics.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cluster of `replication.brokers` live brokers with no topics; `seed` seeds the
    /// controller's placement draws.
    pub fn with_replication(replication: ReplicationConfig, seed: u64) -> Self {
        let brokers = usize::from(
            replication
                .brokers
                .clamp(1, super::replication::MAX_BROKERS),
        );
        // `__consumer_offsets`: 50 partitions, `offsets.topic.replication.factor` 3 (capped
        // by the brokers), placed like any topic (its own draws, so user topics are placed
        // the same whether or not a group exists).
        let rf = brokers.min(OFFSETS_TOPIC_REPLICATION_FACTOR) as i32;
        let candidates: Vec<Candidate> = (0..brokers)
            .map(|b| Candidate {
                id: b as i32,
                fenced: false,
            })
            .collect();
        let mut offsets_rng = Rng::new(seed ^ 0x0ff5_e75c_0ff5_e75a);
        let mut placer = Placer::new(&candidates, &mut offsets_rng);
        let offsets = (0..OFFSETS_TOPIC_PARTITIONS)
            .map(|_| {
                let replicas = placer
                    .place(rf, &mut offsets_rng)
                    .map(|ids| ids.into_iter().map(|i| BrokerId(i as u16)).collect())
                    .unwrap_or_else(|_| vec![BrokerId(0)]);
                PartitionState::new(replicas, |_| true)
            })
            .collect();
        Cluster {
            topics: Vec::new(),
            replication,
            live: vec![true; brokers],
            placer_rng: Rng::new(seed ^ 0x005e_ed0f_c017_0011),
            offsets,
            group_partitions: Vec::new(),
        }
    }

    /// Notes which partition of `__consumer_offsets` holds a new group.
    pub fn register_group(&mut self, id: GroupId, name: &str) {
        if self.group_partitions.len() <= id.index() {
            self.group_partitions.resize(id.index() + 1, 0);
        }
        self.group_partitions[id.index()] = offsets_partition_for(name, OFFSETS_TOPIC_PARTITIONS);
    }

    /// A group's partition of `__consumer_offsets`.
    pub fn group_partition(&self, id: GroupId) -> u32 {
        self.group_partitions.get(id.index()).copied().unwrap_or(0)
    }

    /// Every partition of `__consumer_offsets`, by number.
    pub fn offsets_partitions(&self) -> &[PartitionState] {
        &self.offsets
    }

    /// A partition of `__consumer_offsets`, to change (the controller's write path).
    pub fn offsets_partition_mut(&mut self, k: u32) -> Option<&mut PartitionState> {
        self.offsets.get_mut(k as usize)
    }

    /// True when some group lives on partition `k` of `__consumer_offsets`: its brokers
    /// host it (the others exist in the metadata only).
    pub fn offsets_partition_active(&self, k: u32) -> bool {
        self.group_partitions.contains(&k)
    }

    /// Every partition the brokers host: the topics' and the active ones of
    /// `__consumer_offsets`.
    pub fn hosted_partitions(&self) -> Vec<Tp> {
        let mut all = self.all_partitions();
        all.extend(
            (0..self.offsets.len() as u32)
                .filter(|&k| self.offsets_partition_active(k))
                .map(|k| Tp::new(OFFSETS_TOPIC, k)),
        );
        all
    }

    /// The groups held by partition `k` of `__consumer_offsets`.
    pub fn groups_on(&self, k: u32) -> Vec<GroupId> {
        self.group_partitions
            .iter()
            .enumerate()
            .filter(|(_, &p)| p == k)
            .map(|(g, _)| GroupId(g as u16))
            .collect()
    }

    /// How many brokers the cluster has.
    pub fn broker_count(&self) -> usize {
        self.live.len()
    }

    /// True when the broker is registered and not fenced.
    pub fn is_live(&self, b: BrokerId) -> bool {
        self.live.get(b.index()).copied().unwrap_or(false)
    }

    /// Per broker, by id: registered and not fenced (a snapshot the controller's
    /// election rules read while it changes a partition).
    pub fn live_flags(&self) -> Vec<bool> {
        self.live.clone()
    }

    /// Fences or unfences a broker (the controller's view of it).
    pub fn set_live(&mut self, b: BrokerId, live: bool) {
        if let Some(l) = self.live.get_mut(b.index()) {
            *l = live;
        }
    }

    /// The partition of `__consumer_offsets` that `tp` is, if it is one.
    pub fn offsets_partition_of(tp: Tp) -> Option<u32> {
        (tp.topic == OFFSETS_TOPIC).then(|| tp.p())
    }

    /// Any partition's replica set, `__consumer_offsets`' included.
    pub fn any_state(&self, tp: Tp) -> Option<&PartitionState> {
        match Cluster::offsets_partition_of(tp) {
            Some(k) => self.offsets.get(k as usize),
            None => self.state(tp),
        }
    }

    /// Any partition's replica set, to change (the controller's write path).
    pub fn any_state_mut(&mut self, tp: Tp) -> Option<&mut PartitionState> {
        match Cluster::offsets_partition_of(tp) {
            Some(k) => self.offsets.get_mut(k as usize),
            None => self.state_mut(tp),
        }
    }

    /// Every existing partition, then every partition of `__consumer_offsets`.
    pub fn every_partition(&self) -> Vec<Tp> {
        let mut all = self.all_partitions();
        all.extend((0..self.offsets.len() as u32).map(|k| Tp::new(OFFSETS_TOPIC, k)));
        all
    }

    /// One partition's replica set, if the partition exists.
    pub fn state(&self, tp: Tp) -> Option<&PartitionState> {
        self.topic(tp.topic)?.states.get(tp.p() as usize)
    }

    /// One partition's replica set, to change (the controller's write path).
    pub fn state_mut(&mut self, tp: Tp) -> Option<&mut PartitionState> {
        self.topics
            .get_mut(tp.topic.index())
            .filter(|t| !t.deleted)?
            .states
            .get_mut(tp.p() as usize)
    }

    /// Every existing partition, in topic then partition order.
    pub fn all_partitions(&self) -> Vec<Tp> {
        self.topics()
            .flat_map(|t| (0..t.partitions).map(move |p| Tp::new(t.id, p)))
            .collect()
    }

    /// The `min.insync.replicas` that applies to a topic: its own, else the broker's.
    pub fn min_insync_replicas(&self, topic: TopicId) -> u16 {
        self.topic(topic)
            .and_then(|t| t.config.min_insync_replicas)
            .unwrap_or(self.replication.min_insync_replicas)
    }

    /// Places `count` new partitions of `rf` replicas (StripedReplicaPlacer).
    fn place(&mut self, count: u32, rf: u16) -> Result<Vec<PartitionState>, EngineError> {
        let candidates: Vec<Candidate> = (0..self.live.len())
            .map(|b| Candidate {
                id: b as i32,
                fenced: !self.live[b],
            })
            .collect();
        let mut placer = Placer::new(&candidates, &mut self.placer_rng);
        let live = self.live.clone();
        (0..count)
            .map(|_| {
                let ids = placer
                    .place(i32::from(rf), &mut self.placer_rng)
                    .map_err(|e| {
                        EngineError::InvalidCommand(format!(
                            "{e} (Kafka: InvalidReplicationFactorException)"
                        ))
                    })?;
                let replicas = ids.into_iter().map(|i| BrokerId(i as u16)).collect();
                Ok(PartitionState::new(replicas, |b| live[b.index()]))
            })
            .collect()
    }

    /// Every topic ever created, deleted ones included, by id.
    pub fn all_topics(&self) -> &[TopicMeta] {
        &self.topics
    }

    /// The topics that exist.
    pub fn topics(&self) -> impl Iterator<Item = &TopicMeta> + '_ {
        self.topics.iter().filter(|t| !t.deleted)
    }

    /// A topic that exists.
    pub fn topic(&self, id: TopicId) -> Option<&TopicMeta> {
        self.topics.get(id.index()).filter(|t| !t.deleted)
    }

    /// The id of the existing topic called `name`.
    pub fn topic_id(&self, name: &str) -> Option<TopicId> {
        self.topics().find(|t| t.name == name).map(|t| t.id)
    }

    /// The partition count of an existing topic (0 if it does not exist).
    pub fn partition_count(&self, id: TopicId) -> u32 {
        self.topic(id).map_or(0, |t| t.partitions)
    }

    /// True when the partition exists.
    pub fn has(&self, tp: Tp) -> bool {
        tp.p() < self.partition_count(tp.topic)
    }

    /// Every partition of the existing topics named in `topics`, in name order then
    /// partition order (unknown names are skipped, as Kafka's assignors do).
    pub fn partitions_of(&self, topics: &[String]) -> Vec<Tp> {
        let mut names: Vec<&String> = topics.iter().collect();
        sort::sort(&mut names);
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| self.topic_id(n))
            .flat_map(|t| (0..self.partition_count(t)).map(move |p| Tp::new(t, p)))
            .collect()
    }

    /// The leader of a partition, or `None` when it is offline (or does not exist).
    pub fn leader(&self, tp: Tp) -> Option<BrokerId> {
        self.state(tp)?.leader
    }

    /// The broker that coordinates a group: the leader of the group's partition of
    /// `__consumer_offsets` ([`offsets_partition_for`]); `None` while it has no leader.
    pub fn coordinator(&self, group: GroupId) -> Option<BrokerId> {
        self.offsets
            .get(self.group_partition(group) as usize)?
            .leader
    }

    /// Every replica of a partition, in assignment order.
    pub fn replicas(&self, tp: Tp) -> Vec<BrokerId> {
        self.state(tp).map_or_else(Vec::new, |s| s.replicas.clone())
    }

    /// The in-sync replicas of a partition.
    pub fn isr(&self, tp: Tp) -> Vec<BrokerId> {
        self.state(tp).map_or_else(Vec::new, |s| s.isr.clone())
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// An illegal or taken name, a partition count outside 1 to [`MAX_PARTITIONS`], or
    /// more than [`MAX_TOPICS`] topics.
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: u32,
        config: TopicConfig,
    ) -> Result<TopicId, EngineError> {
        validate_topic_name(name)?;
        check_partition_count(partitions)?;
        if self.topic_id(name).is_some() {
            return Err(EngineError::InvalidCommand(format!(
                "topic `{name}` already exists (Kafka: TopicExistsException)"
            )));
        }
        if self.topics.len() >= MAX_TOPICS {
            return Err(EngineError::LimitExceeded {
                what: "topics",
                limit: MAX_TOPICS as u64,
            });
        }
        let id = TopicId(self.topics.len() as u16);
        let replication_factor = self
            .replication
            .replication_factor_for(config.replication_factor);
        let states = self.place(partitions, replication_factor)?;
        self.topics.push(TopicMeta {
            id,
            name: name.to_owned(),
            partitions,
            config,
            deleted: false,
            replication_factor,
            states,
        });
        Ok(id)
    }

    /// Deletes a topic.
    ///
    /// # Errors
    /// When it does not exist.
    pub fn delete_topic(&mut self, id: TopicId) -> Result<(), EngineError> {
        self.check_topic(id)?;
        self.topics[id.index()].deleted = true;
        Ok(())
    }

    /// Grows a topic to `total` partitions.
    ///
    /// # Errors
    /// When it does not exist, `total` is not larger, or above the cap.
    pub fn add_partitions(&mut self, id: TopicId, total: u32) -> Result<u32, EngineError> {
        self.check_topic(id)?;
        check_partition_count(total)?;
        let t = &self.topics[id.index()];
        if total <= t.partitions {
            return Err(EngineError::InvalidCommand(format!(
                "topic `{}` has {} partitions; Kafka can add partitions but never remove them",
                t.name, t.partitions
            )));
        }
        let (from, rf) = (t.partitions, t.replication_factor);
        let added = self.place(total - from, rf)?;
        let t = &mut self.topics[id.index()];
        t.states.extend(added);
        t.partitions = total;
        Ok(from)
    }

    /// Checks that a topic exists.
    ///
    /// # Errors
    /// When it does not.
    pub fn check_topic(&self, id: TopicId) -> Result<(), EngineError> {
        if self.topic(id).is_none() {
            return Err(EngineError::InvalidCommand(format!(
                "there is no topic {} (Kafka: UnknownTopicOrPartitionException)",
                id.0
            )));
        }
        Ok(())
    }
}

/// Kafka's topic name rules (`Topic.validate`): 1 to 249 characters of ASCII letters,
/// digits, `.`, `_` and `-`, and not `.` or `..`.
///
/// # Errors
/// The rule it breaks.
pub fn validate_topic_name(name: &str) -> Result<(), EngineError> {
    let bad = |why: &str| {
        Err(EngineError::InvalidConfig {
            name: "topic".into(),
            reason: format!("`{}` is not a legal topic name: {why}", shorten(name)),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("it cannot be `.` or `..`");
    }
    if name.len() > MAX_TOPIC_NAME {
        return bad("it is longer than 249 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad("use only ASCII letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
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
            reason: format!("must be between 1 and {MAX_PARTITIONS}, not {partitions}"),
        });
    }
    Ok(())
}

fn invalid(name: &str, reason: &str) -> EngineError {
    EngineError::InvalidConfig {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` (Kafka's default).
pub const OFFSETS_TOPIC_PARTITIONS: u32 = 50;
/// The id the internal topic `__consumer_offsets` goes by (no user topic reaches it).
pub const OFFSETS_TOPIC: TopicId = TopicId(u16::MAX);
/// `offsets.topic.replication.factor` (Kafka's default; capped by the brokers here).
pub const OFFSETS_TOPIC_REPLICATION_FACTOR: usize = 3;

/// The partition of `__consumer_offsets` that holds a group's offsets; its leader is the
/// group's coordinator. Kafka takes `Utils.abs(groupId.hashCode()) % partitions`
/// (GroupCoordinatorService `partitionFor`), where `Utils.abs` maps `Integer.MIN_VALUE` to
/// 0: not the `& 0x7fffffff` the partitioner uses, so a negative hash lands elsewhere.
pub fn offsets_partition_for(group_id: &str, partitions: u32) -> u32 {
    let hash = super::assignor::java_string_hash(group_id);
    let abs = if hash == i32::MIN {
        0
    } else {
        hash.unsigned_abs()
    };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Java's `String.hashCode` computed independently (UTF-16 units, 32-bit
    /// wrap); "analytics" and "reporting" hash negative, where `Utils.abs` and
    /// `toPositive` disagree (10 vs 38, 28 vs 20).
    #[test]
    fn a_group_lives_on_the_offsets_partition_kafka_picks() {
        for (group, partition) in [
            ("payments", 13),
            ("analytics", 10),
            ("group-0", 48),
            ("reporting", 28),
            ("console-consumer-12345", 6),
            ("polygenelubricants", 0),
            ("grüße-€", 0),
        ] {
            assert_eq!(
                offsets_partition_for(group, OFFSETS_TOPIC_PARTITIONS),
                partition,
                "{group}"
            );
        }
    }

    #[test]
    fn topics_are_created_checked_and_deleted() {
        let mut c = Cluster::new();
        let orders = c.create_topic("orders", 3, TopicConfig::default()).unwrap();
        assert!(c.create_topic("orders", 1, TopicConfig::default()).is_err());
        assert!(c
            .create_topic("bad name", 1, TopicConfig::default())
            .is_err());
        assert!(c.create_topic("..", 1, TopicConfig::default()).is_err());
        assert!(c.create_topic("x", 65, TopicConfig::default()).is_err());
        let dlq = c
            .create_topic("orders.dlq", 1, TopicConfig::default())
            .unwrap();
        assert_eq!(
            c.partitions_of(&["orders.dlq".into(), "orders".into(), "nope".into()])
                .len(),
            4
        );
        c.delete_topic(orders).unwrap();
        assert!(c.topic(orders).is_none());
        assert_eq!(c.topic_id("orders.dlq"), Some(dlq));
        // A deleted name can be created again, with a new id.
        let again = c.create_topic("orders", 2, TopicConfig::default()).unwrap();
        assert_ne!(again, orders);
    }

    #[test]
    fn the_topic_cap_is_an_error() {
        let mut c = Cluster::new();
        for i in 0..MAX_TOPICS {
            c.create_topic(&format!("t{i}"), 1, TopicConfig::default())
                .unwrap();
        }
        assert!(matches!(
            c.create_topic("one-more", 1, TopicConfig::default()),
            Err(EngineError::LimitExceeded { .. })
        ));
    }
}
