//! The world: every actor's state, what commands may do to it, and the dispatcher that
//! hands each message, timer or command to the actor that owns it (turmoil's split: the
//! kernel in `sim.rs` drives time, this holds the state).

use super::vecmap::VecMap;

use super::actor::{Ctx, Out};
use super::broker::{Broker, CoordinatorNews};
use super::chunked::ChunkVec;
use super::cluster::Cluster;
use super::cluster::OFFSETS_TOPIC;
use super::command::Command;
use super::config::GroupConfig;
use super::consumer::Consumer;
use super::controller::{Controller, ControllerCtx};
use super::coordinator::Coordinator;
use super::event::{BrokerEvent, CrashReason, Event, GroupEvent, PartitionReason, TraceHash};
use super::ids::{BrokerId, ConsumerRef, GroupId, MemberId, NodeId, ProducerId, TopicId, Tp};
use super::keys::KeyTable;
use super::ledger::LogLookup;
use super::log::{LogRecord, PartitionLog};
use super::msg::{Msg, Timer};
use super::partitioner::to_positive;
use super::producer::{KeyPool, KeySpace, Producer, Workload};
use super::record::{tag_of, ProduceStatus, RecordInfo};
use super::replication::ReplicationConfig;
use super::rng::Rng;

/// The most producers the lab runs.
pub const MAX_PRODUCERS: usize = 8;
/// The most consumer groups the lab runs.
pub const MAX_GROUPS: usize = 10;
/// The most consumers one group may have.
pub const MAX_CONSUMERS_PER_GROUP: usize = 16;
/// The most records one simulation may hold.
pub const MAX_RECORDS: u64 = 20_000_000;
/// The longest key the lab accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The longest value the lab accepts, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;
/// The longest `group.id` or `group.instance.id` the lab accepts.
pub const MAX_ID_CHARS: usize = 128;

/// A consumer group's clients, as the lab created them.
#[derive(Clone, Debug)]
pub struct GroupClients {
    /// The group.
    pub id: GroupId,
    /// `group.id`.
    pub name: String,
    /// The configuration its consumers share.
    pub config: GroupConfig,
    /// The topics it subscribes to.
    pub topics: Vec<String>,
    /// Its consumer clients.
    pub consumers: Vec<Consumer>,
}

/// What a handler gets from the kernel besides the world.
pub struct Env<'a> {
    /// Virtual time.
    pub now_ms: u64,
    /// The one RNG.
    pub rng: &'a mut Rng,
    /// Where effects go.
    pub out: &'a mut Out,
    /// The ledger's record facts.
    pub records: &'a mut ChunkVec<RecordInfo>,
    /// The ledger's typed values, by record id.
    pub values: &'a mut ChunkVec<u64>,
    /// The trace hash.
    pub trace: &'a mut TraceHash,
}

/// Every actor's state.
#[derive(Clone, Debug)]
pub struct World {
    /// Topic metadata.
    pub cluster: Cluster,
    /// The brokers.
    pub brokers: Vec<Broker>,
    /// Their group coordinators (one per broker).
    pub coordinators: Vec<Coordinator>,
    /// The producer clients.
    pub producers: Vec<Producer>,
    /// The groups and their consumer clients.
    pub groups: Vec<GroupClients>,
    /// Interned keys.
    pub keys: KeyTable,
    /// The KRaft controller.
    pub controller: Controller,
    /// Values typed by hand, by record id.
    pub values: VecMap<u32, String>,
    /// The offsets the groups' applications store with their data.
    pub stored_offsets: super::database::StoredOffsets,
}

impl LogLookup for World {
    /// The leader's log; for an offline partition, its last leader's (the last member of
    /// its ISR, which a clean election would bring back).
    fn log(&self, tp: Tp) -> Option<&PartitionLog> {
        let b = self.lineage(tp)?;
        self.brokers.get(b.index())?.log(tp)
    }

    fn lineage(&self, tp: Tp) -> Option<BrokerId> {
        let state = self.cluster.state(tp)?;
        state.leader.or_else(|| state.isr.first().copied())
    }

    fn replica_log(&self, broker: BrokerId, tp: Tp) -> Option<&PartitionLog> {
        self.brokers.get(broker.index())?.log(tp)
    }

    fn replicas(&self, tp: Tp) -> Vec<BrokerId> {
        self.cluster.replicas(tp)
    }
}

macro_rules! ctx {
    ($env:expr, $world:expr) => {
        Ctx {
            now_ms: $env.now_ms,
            rng: &mut *$env.rng,
            out: &mut *$env.out,
            cluster: &$world.cluster,
            keys: &mut $world.keys,
            values: &mut *$env.values,
            stored_offsets: &mut $world.stored_offsets,
            records: &mut *$env.records,
            trace: &mut *$env.trace,
        }
    };
}

impl World {
    /// One broker and nothing else.
    pub fn new() -> Self {
        World::with_replication(ReplicationConfig::default(), 0)
    }

    /// `replication.brokers` brokers and nothing else; `seed` seeds replica placement.
    pub fn with_replication(replication: ReplicationConfig, seed: u64) -> Self {
        let cluster = Cluster::with_replication(replication, seed);
        let brokers = (0..cluster.broker_count())
            .map(|b| Broker::new(BrokerId(b as u16)))
            .collect();
        let coordinators = (0..cluster.broker_count())
            .map(|b| Coordinator::new(BrokerId(b as u16)))
            .collect();
        World {
            controller: Controller::new(cluster.broker_count()),
            cluster,
            brokers,
            coordinators,
            producers: Vec::new(),
            groups: Vec::new(),
            keys: KeyTable::default(),
            values: VecMap::new(),
            stored_offsets: Default::default(),
        }
    }

    /// A consumer client.
    pub fn consumer(&self, c: ConsumerRef) -> Option<&Consumer> {
        self.groups
            .get(c.group.index())?
            .consumers
            .get(c.member.index())
    }

    fn consumer_mut(&mut self, c: ConsumerRef) -> Option<&mut Consumer> {
        self.groups
            .get_mut(c.group.index())?
            .consumers
            .get_mut(c.member.index())
    }

    /// The ids of the existing topics a group subscribes to.
    pub fn subscribed_topics(&self, group: GroupId) -> Vec<TopicId> {
        self.groups.get(group.index()).map_or_else(Vec::new, |g| {
            g.topics
                .iter()
                .filter_map(|t| self.cluster.topic_id(t))
                .collect()
        })
    }

    /// The log of a partition (on its leader).
    pub fn log(&self, tp: Tp) -> Option<&PartitionLog> {
        LogLookup::log(self, tp)
    }

    // ---- dispatch ---------------------------------------------------------------------

    /// Hands a delivered message to the actor that owns it.
    pub fn deliver(&mut self, env: &mut Env, from: NodeId, to: NodeId, msg: Msg) {
        match to {
            NodeId::Broker(b) => {
                let for_coordinator = msg.for_coordinator();
                if for_coordinator {
                    if let Some(c) = self.coordinators.get_mut(b.index()) {
                        c.on_message(&mut ctx!(env, self), from, msg);
                        self.coordinator_writes(env, b);
                    }
                } else if let Some(broker) = self.brokers.get_mut(b.index()) {
                    broker.on_message(&mut ctx!(env, self), from, msg);
                    self.broker_news(env, b);
                }
            }
            NodeId::Producer(p) => {
                if let Some(producer) = self.producers.get_mut(p.index()) {
                    producer.on_message(&mut ctx!(env, self), msg);
                }
            }
            NodeId::Consumer(c) => {
                let World {
                    cluster,
                    keys,
                    groups,
                    stored_offsets,
                    ..
                } = self;
                if let Some(consumer) = groups
                    .get_mut(c.group.index())
                    .and_then(|g| g.consumers.get_mut(c.member.index()))
                {
                    let mut world = WorldRef {
                        cluster,
                        keys,
                        stored_offsets,
                    };
                    consumer.on_message(&mut ctx!(env, world), msg);
                }
            }
            NodeId::Controller => self.with_controller(env, |c, ctx| c.on_message(ctx, from, msg)),
        }
    }

    /// Hands a timer to the actor that set it.
    pub fn fire(&mut self, env: &mut Env, node: NodeId, timer: Timer) {
        match (node, timer) {
            (NodeId::Producer(p), Timer::Producer(t)) => {
                if let Some(producer) = self.producers.get_mut(p.index()) {
                    producer.on_timer(&mut ctx!(env, self), t, MAX_RECORDS);
                }
            }
            (NodeId::Consumer(c), Timer::Consumer(t)) => {
                let World {
                    cluster,
                    keys,
                    groups,
                    stored_offsets,
                    ..
                } = self;
                if let Some(consumer) = groups
                    .get_mut(c.group.index())
                    .and_then(|g| g.consumers.get_mut(c.member.index()))
                {
                    let mut world = WorldRef {
                        cluster,
                        keys,
                        stored_offsets,
                    };
                    consumer.on_timer(&mut ctx!(env, world), t);
                }
            }
            (NodeId::Broker(b), Timer::Coordinator(t)) => {
                let alive = self.brokers.get(b.index()).is_some_and(|x| x.alive);
                if let Some(c) = self.coordinators.get_mut(b.index()).filter(|_| alive) {
                    c.on_timer(&mut ctx!(env, self), t);
                    self.coordinator_writes(env, b);
                }
            }
            (NodeId::Broker(b), Timer::Broker(t)) => {
                if let Some(broker) = self.brokers.get_mut(b.index()).filter(|b| b.alive) {
                    broker.on_timer(&mut ctx!(env, self), t);
                    self.broker_news(env, b);
                }
            }
            (NodeId::Controller, Timer::Controller(t)) => {
                self.with_controller(env, |c, ctx| c.on_timer(ctx, t))
            }
            _ => {}
        }
    }

    // ---- commands ---------------------------------------------------------------------

    /// A new topic: placed by the controller, its partitions on their brokers at once,
    /// and the clients' metadata refreshed.
    fn create_topic(
        &mut self,
        env: &mut Env,
        name: String,
        partitions: u32,
        config: super::cluster::TopicConfig,
    ) {
        let Ok(topic) = self.cluster.create_topic(&name, partitions, config) else {
            return;
        };
        for b in &mut self.brokers {
            b.ensure_partitions(topic, partitions);
        }
        let tps: Vec<Tp> = (0..partitions).map(|p| Tp::new(topic, p)).collect();
        self.push_created(env, &tps);
        env.out.event(Event::TopicCreated {
            at_ms: env.now_ms,
            topic,
            name: name.clone(),
            partitions,
        });
        self.metadata_changed(env, &name);
    }

    /// A new consumer group: its partition of `__consumer_offsets` goes to the brokers if
    /// it is the first group there, and only its coordinator holds it.
    fn add_group(
        &mut self,
        env: &mut Env,
        group_id: String,
        config: GroupConfig,
        topics: Vec<String>,
    ) {
        let id = GroupId(self.groups.len() as u16);
        let k = super::cluster::offsets_partition_for(
            &group_id,
            super::cluster::OFFSETS_TOPIC_PARTITIONS,
        );
        let first_on_k = !self.cluster.offsets_partition_active(k);
        self.cluster.register_group(id, &group_id);
        if first_on_k {
            self.push_created(env, &[Tp::new(OFFSETS_TOPIC, k)]);
        }
        let at = self.cluster.coordinator(id).unwrap_or(BrokerId(0));
        if let Some(c) = self.coordinators.get_mut(at.index()) {
            c.add_group(id, &group_id);
        }
        if config.on_error == super::config::OnError::DeadLetter {
            self.create_dead_letter_topics(env, &topics);
        }
        self.groups.push(GroupClients {
            id,
            name: group_id,
            config,
            topics,
            consumers: Vec::new(),
        });
    }

    /// Lab: the producing service's process dies and restarts at once.
    fn crash_producer(&mut self, env: &mut Env, producer: ProducerId) {
        if let Some(p) = self.producers.get_mut(producer.index()) {
            p.crash(&mut ctx!(env, self));
        }
    }

    /// Lab: a group's application table is corrupted, or truncated to be rebuilt (the
    /// ledger keeps the table, so an event carries the change).
    fn table_changed(&mut self, env: &mut Env, group: GroupId, truncated: bool) {
        if truncated {
            // The offsets stored beside the table go with it.
            self.stored_offsets.clear(group);
        }
        env.out.event(Event::Group {
            at_ms: env.now_ms,
            group,
            event: GroupEvent::TableChanged { truncated },
        });
    }

    /// Lab: a group whose application writes dead letters gets `<topic>.dlq` for each topic
    /// it reads, with as many partitions (so each dead letter keeps its partition number),
    /// unless it exists. Teams create it beforehand; the lab does it for them.
    fn create_dead_letter_topics(&mut self, env: &mut Env, topics: &[String]) {
        for name in topics {
            let dlq = format!("{name}{}", super::config::DLQ_SUFFIX);
            let partitions = self
                .cluster
                .topic_id(name)
                .map_or(0, |t| self.cluster.partition_count(t));
            if partitions > 0 && self.cluster.topic_id(&dlq).is_none() {
                self.create_topic(env, dlq, partitions, super::cluster::TopicConfig::default());
            }
        }
    }

    /// What the user does to one consumer: crash, close, restart, slow it down, or seek.
    fn consumer_command(&mut self, env: &mut Env, command: Command) {
        match command {
            Command::CrashConsumer { group, consumer } => {
                self.with_consumer(env, group, consumer, |c, ctx| {
                    c.crash(ctx, CrashReason::Killed)
                })
            }
            Command::CloseConsumer { group, consumer } => {
                self.with_consumer(env, group, consumer, |c, ctx| c.request_close(ctx))
            }
            Command::RestartConsumer { group, consumer } => {
                self.with_consumer(env, group, consumer, |c, ctx| {
                    if !c.status.alive() {
                        c.start(ctx)
                    }
                })
            }
            Command::SlowConsumer {
                group,
                consumer,
                processing_ms,
            } => {
                let c = ConsumerRef {
                    group,
                    member: consumer,
                };
                if let Some(c) = self.consumer_mut(c) {
                    c.processing_ms_override = processing_ms;
                }
            }
            Command::Seek {
                group,
                consumer,
                partition,
                to,
                topic,
            } => self.with_consumer(env, group, consumer, |c, ctx| {
                c.seek(ctx, Tp::new(topic, partition), to)
            }),
            _ => {}
        }
    }

    /// Runs a checked command.
    pub fn execute(&mut self, env: &mut Env, command: Command) {
        match command {
            Command::CreateTopic {
                name,
                partitions,
                config,
            } => self.create_topic(env, name, partitions, config),
            Command::DeleteTopic { topic } => self.delete_topic(env, topic),
            Command::AddProducer { config, workload } => {
                let id = ProducerId(self.producers.len() as u16);
                self.producers.push(Producer::new(id, config));
                self.set_workload(env, id, workload);
            }
            Command::SetWorkload { producer, workload } => {
                self.set_workload(env, producer, workload)
            }
            Command::Send {
                producer,
                key,
                payload_bytes,
                poison,
                tombstone,
                topic,
            } => {
                let key = key.map(|k| self.keys.intern(&k));
                let flags = (u8::from(poison) * LogRecord::POISON)
                    | (u8::from(tombstone) * LogRecord::TOMBSTONE);
                // A tombstone has no value: only its key and framing go on the wire.
                let payload_bytes = if tombstone { 0 } else { payload_bytes };
                if let Some(p) = self.producers.get_mut(producer.index()) {
                    p.send_one(&mut ctx!(env, self), topic, key, payload_bytes, flags);
                }
            }
            Command::AddGroup {
                group_id,
                config,
                topics,
            } => self.add_group(env, group_id, config, topics),
            Command::AddConsumer {
                group,
                group_instance_id,
            } => self.add_consumer(env, group, group_instance_id),
            command @ (Command::CrashConsumer { .. }
            | Command::CloseConsumer { .. }
            | Command::RestartConsumer { .. }
            | Command::SlowConsumer { .. }
            | Command::Seek { .. }) => self.consumer_command(env, command),
            Command::Produce { key, value, topic } => {
                self.produce_direct(env, topic, key.as_deref(), &value);
            }
            Command::ProduceRandomOrders { count, topic } => {
                for _ in 0..count {
                    let key = format!("order-{}", env.rng.below(100));
                    self.produce_direct(env, topic, Some(&key), "");
                }
            }
            Command::AddPartitions { total, topic } => self.add_partitions(env, topic, total),
            // The network's commands and faults are the kernel's.
            Command::InjectProduceFault { .. }
            | Command::NetPartition { .. }
            | Command::NetHold { .. }
            | Command::NetRelease { .. }
            | Command::NetHeal => {}
            Command::KillBroker { broker } => self.kill_broker(env, broker),
            Command::RestartBroker { broker } => self.restart_broker(env, broker),
            Command::CrashProducer { producer } => self.crash_producer(env, producer),
            Command::CorruptTable { group } => self.table_changed(env, group, false),
            Command::TruncateTable { group } => self.table_changed(env, group, true),
        }
    }

    fn with_consumer(
        &mut self,
        env: &mut Env,
        group: GroupId,
        member: MemberId,
        f: impl FnOnce(&mut Consumer, &mut Ctx),
    ) {
        let World {
            cluster,
            keys,
            groups,
            stored_offsets,
            ..
        } = self;
        if let Some(c) = groups
            .get_mut(group.index())
            .and_then(|g| g.consumers.get_mut(member.index()))
        {
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            f(c, &mut ctx!(env, world));
        }
    }

    /// Runs `f` on every producer client with its context.
    fn each_producer(&mut self, env: &mut Env, mut f: impl FnMut(&mut Producer, &mut Ctx)) {
        let World {
            cluster,
            keys,
            stored_offsets,
            producers,
            ..
        } = self;
        let mut world = WorldRef {
            cluster,
            keys,
            stored_offsets,
        };
        for p in producers.iter_mut() {
            f(p, &mut ctx!(env, world));
        }
    }

    fn add_consumer(&mut self, env: &mut Env, group: GroupId, instance: Option<String>) {
        let Some(g) = self.groups.get_mut(group.index()) else {
            return;
        };
        let member = MemberId(g.consumers.len() as u16);
        let c = Consumer::new(
            ConsumerRef { group, member },
            instance,
            g.topics.clone(),
            g.config.clone(),
        );
        g.consumers.push(c);
        self.with_consumer(env, group, member, |c, ctx| c.start(ctx));
    }

    fn set_workload(&mut self, env: &mut Env, producer: ProducerId, workload: Option<Workload>) {
        let pool = workload
            .as_ref()
            .map(|w| KeyPool::new(&w.key_space, &mut self.keys))
            .unwrap_or_default();
        if let Some(p) = self.producers.get_mut(producer.index()) {
            p.set_workload(&mut ctx!(env, self), workload, pool);
        }
    }

    /// A metadata change the groups subscribed to `topic` must see: their leader notices
    /// it and rejoins (ConsumerCoordinator `rejoinNeededOrPending`, assignment snapshot vs
    /// metadata). The lab notices at once; real clients at their next metadata refresh.
    fn metadata_changed(&mut self, env: &mut Env, topic: &str) {
        let affected: Vec<ConsumerRef> = self
            .groups
            .iter()
            .filter(|g| g.topics.iter().any(|t| t == topic))
            .flat_map(|g| g.consumers.iter())
            .filter(|c| c.status.alive() && c.is_leader)
            .map(|c| c.id)
            .collect();
        for c in affected {
            self.with_consumer(env, c.group, c.member, |c, ctx| c.request_rejoin(ctx));
        }
    }

    fn delete_topic(&mut self, env: &mut Env, topic: TopicId) {
        let Some(name) = self.cluster.topic(topic).map(|t| t.name.clone()) else {
            return;
        };
        let _ = self.cluster.delete_topic(topic);
        for b in &mut self.brokers {
            b.delete_topic(topic);
        }
        for c in &mut self.coordinators {
            c.forget_topic(topic);
        }
        self.each_producer(env, |p, ctx| p.forget_topic(ctx, topic));
        env.out.event(Event::TopicDeleted {
            at_ms: env.now_ms,
            topic,
        });
        self.metadata_changed(env, &name);
    }

    fn add_partitions(&mut self, env: &mut Env, topic: TopicId, total: u32) {
        let Ok(from) = self.cluster.add_partitions(topic, total) else {
            return;
        };
        for b in &mut self.brokers {
            b.ensure_partitions(topic, total);
        }
        let tps: Vec<Tp> = (from..total).map(|p| Tp::new(topic, p)).collect();
        self.push_created(env, &tps);
        let moved = moved_keys(&self.keys, from, total);
        env.out.event(Event::PartitionsAdded {
            at_ms: env.now_ms,
            topic,
            from,
            to: total,
            moved,
        });
        if let Some(name) = self.cluster.topic(topic).map(|t| t.name.clone()) {
            self.metadata_changed(env, &name);
        }
    }

    /// Appends one record straight into the log (no producer client): the partition
    /// calculator's path. A key goes where the Java producer puts it (murmur2); a null key
    /// to a seeded uniform pick.
    pub fn produce_direct(
        &mut self,
        env: &mut Env,
        topic: TopicId,
        key: Option<&str>,
        value: &str,
    ) -> Option<(u32, u32, u64, PartitionReason)> {
        let n = self.cluster.partition_count(topic);
        if n == 0 {
            return None;
        }
        let key_id = key.map(|k| self.keys.intern(k));
        let (partition, reason) = match key_id.and_then(|k| self.keys.get(k)) {
            Some(info) => (
                to_positive(info.murmur2) % n,
                PartitionReason::Murmur2 {
                    hash: info.murmur2,
                    partition_count: n,
                },
            ),
            None => (env.rng.below(u64::from(n)) as u32, PartitionReason::Random),
        };
        let tp = Tp::new(topic, partition);
        // An offline partition takes nothing (the calculator says so).
        let leader = self.cluster.leader(tp)?;
        let record_id = env.records.len() as u32;
        let bytes = super::accumulator::record_bytes(key.map_or(0, str::len), value.len() as u32);
        // Typed by hand: appended directly, so the producer side knows it at once.
        let mut info = RecordInfo::sent(env.now_ms, key_id, tp, None, tag_of(&reason), n, false);
        info.status = ProduceStatus::Acked;
        env.records.push(info);
        env.trace
            .push_u64((u64::from(record_id) << 32) | u64::from(partition));
        if !value.is_empty() {
            self.values.insert(record_id, value.to_owned());
        }
        let record = LogRecord {
            timestamp_ms: env.now_ms,
            record_id,
            key: key_id,
            size_bytes: bytes.min(u32::from(u16::MAX)) as u16,
            flags: 0,
            producer: super::log::NO_PRODUCER,
        };
        let offset = {
            let World {
                cluster,
                keys,
                stored_offsets,
                brokers,
                ..
            } = self;
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            brokers[leader.index()].append_direct(&mut ctx!(env, world), tp, record)?
        };
        env.out.event(Event::RecordAppended {
            at_ms: env.now_ms,
            record_id,
            key: key_id,
            tp,
            offset,
            reason: reason.clone(),
        });
        Some((record_id, partition, offset, reason))
    }
}

// ---- brokers: life and death, and the controller's dispatch ------------------------------

impl World {
    /// False when `to` cannot take the message: a dead broker (its coordinator died with
    /// it), or a restarted one that has not registered yet (only the controller talks to
    /// it then).
    pub fn accepts(&self, to: NodeId, msg: &Msg) -> bool {
        match to {
            NodeId::Broker(b) => self.brokers.get(b.index()).is_some_and(|b| {
                b.alive && (b.lifecycle.registered || msg.from_controller_to_broker())
            }),
            _ => true,
        }
    }

    /// False when `from` is a dead broker: a crash drops what was still queued on its
    /// connections.
    pub fn still_sending(&self, from: NodeId, _msg: &Msg) -> bool {
        match from {
            NodeId::Broker(b) => self.brokers.get(b.index()).is_some_and(|b| b.alive),
            _ => true,
        }
    }

    /// Starts the brokers' heartbeats and the controller's session checks (the cluster
    /// formed at time 0).
    pub fn boot(&mut self, env: &mut Env) {
        for i in 0..self.brokers.len() {
            let World {
                cluster,
                keys,
                stored_offsets,
                brokers,
                ..
            } = self;
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            brokers[i].start_lifecycle(&mut ctx!(env, world));
        }
        self.with_controller(env, |c, ctx| c.start(ctx));
    }

    /// Runs `f` on the controller with its context.
    fn with_controller(
        &mut self,
        env: &mut Env,
        f: impl FnOnce(&mut Controller, &mut ControllerCtx),
    ) {
        let mut ctx = ControllerCtx {
            now_ms: env.now_ms,
            out: &mut *env.out,
            cluster: &mut self.cluster,
        };
        f(&mut self.controller, &mut ctx);
    }

    /// Appends what broker `b`'s coordinator wrote to `__consumer_offsets` (the same
    /// process: a local append, as Kafka's coordinator runtime does through its
    /// partition writer), and tells it where each record went.
    fn coordinator_writes(&mut self, env: &mut Env, b: BrokerId) {
        loop {
            let writes = match self.coordinators.get_mut(b.index()) {
                Some(c) => c.take_writes(),
                None => return,
            };
            if writes.is_empty() {
                return;
            }
            let World {
                cluster,
                keys,
                stored_offsets,
                brokers,
                coordinators,
                ..
            } = self;
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            for (k, record) in writes {
                let result =
                    brokers[b.index()].append_coordinator_record(&mut ctx!(env, world), k, record);
                coordinators[b.index()].appended(&mut ctx!(env, world), record.record_id, result);
            }
            self.broker_news(env, b);
        }
    }

    /// Tells broker `b`'s coordinator what its broker saw about `__consumer_offsets`: a
    /// partition it now leads (it loads the groups there from its replica's log), one it
    /// no longer leads, a high watermark that moved.
    fn broker_news(&mut self, env: &mut Env, b: BrokerId) {
        let news = match self.brokers.get_mut(b.index()) {
            Some(broker) => broker.take_news(),
            None => return,
        };
        for n in news {
            let World {
                cluster,
                keys,
                stored_offsets,
                brokers,
                coordinators,
                ..
            } = self;
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            match n {
                CoordinatorNews::Elected(k) => {
                    for group in world.cluster.groups_on(k) {
                        let Some(state) = coordinators.iter_mut().find_map(|c| c.take_group(group))
                        else {
                            continue;
                        };
                        let Some(log) = brokers[b.index()].log(Tp::new(OFFSETS_TOPIC, k)) else {
                            continue;
                        };
                        coordinators[b.index()].load_group(&mut ctx!(env, world), state, log);
                        env.out.event(Event::Broker {
                            at_ms: env.now_ms,
                            broker: b,
                            event: BrokerEvent::CoordinatorMoved { group, to: Some(b) },
                        });
                    }
                }
                CoordinatorNews::Resigned(k) => {
                    coordinators[b.index()].resigned(&mut ctx!(env, world), k)
                }
                CoordinatorNews::HighWatermark(k, hw) => {
                    coordinators[b.index()].on_high_watermark(&mut ctx!(env, world), k, hw)
                }
            }
        }
    }

    /// `from` could not reach broker `to` (it is down): its connection breaks.
    pub fn unreachable(&mut self, env: &mut Env, from: NodeId, to: NodeId) {
        let NodeId::Broker(down) = to else {
            return;
        };
        match from {
            NodeId::Producer(p) => {
                let World {
                    cluster,
                    keys,
                    stored_offsets,
                    producers,
                    ..
                } = self;
                if let Some(producer) = producers.get_mut(p.index()) {
                    let mut world = WorldRef {
                        cluster,
                        keys,
                        stored_offsets,
                    };
                    producer.broker_down(&mut ctx!(env, world), down);
                }
            }
            NodeId::Consumer(c) => {
                self.with_consumer(env, c.group, c.member, |c, ctx| c.broker_down(ctx, down))
            }
            NodeId::Broker(b) => {
                if let Some(broker) = self.brokers.get_mut(b.index()) {
                    broker.replica_fetch_failed(&mut ctx!(env, self), down);
                }
            }
            NodeId::Controller => {}
        }
    }

    /// Tells every broker a partition the controller just created (an admin change the lab
    /// applies at once).
    fn push_created(&mut self, env: &mut Env, tps: &[Tp]) {
        let offset = self.controller.note_created();
        for &tp in tps {
            let Some(state) = self.cluster.any_state(tp).cloned() else {
                continue;
            };
            for i in 0..self.brokers.len() {
                let World {
                    cluster,
                    keys,
                    stored_offsets,
                    brokers,
                    ..
                } = self;
                let mut world = WorldRef {
                    cluster,
                    keys,
                    stored_offsets,
                };
                brokers[i].apply_created(&mut ctx!(env, world), offset, tp, &state);
                self.broker_news(env, BrokerId(i as u16));
            }
        }
    }

    /// Kills a broker's process: its clients' connections break; the controller fences it
    /// once its heartbeats have stopped for `broker.session.timeout.ms`.
    fn kill_broker(&mut self, env: &mut Env, b: BrokerId) {
        let Some(broker) = self.brokers.get_mut(b.index()).filter(|x| x.alive) else {
            return;
        };
        broker.kill();
        if let Some(c) = self.coordinators.get_mut(b.index()) {
            c.kill();
        }
        env.out.event(Event::Broker {
            at_ms: env.now_ms,
            broker: b,
            event: BrokerEvent::Killed,
        });
        self.each_producer(env, |p, ctx| p.broker_down(ctx, b));
        let consumers: Vec<ConsumerRef> = self
            .groups
            .iter()
            .flat_map(|g| g.consumers.iter().map(|c| c.id))
            .collect();
        for c in consumers {
            self.with_consumer(env, c.group, c.member, |c, ctx| c.broker_down(ctx, b));
        }
        for i in 0..self.brokers.len() {
            if self.brokers[i].alive {
                self.brokers[i].replica_fetch_failed(&mut ctx!(env, self), b);
            }
        }
    }

    /// Starts a killed broker again: it registers with the controller (refused while the
    /// old process's session is valid), which then sends it its partitions.
    fn restart_broker(&mut self, env: &mut Env, b: BrokerId) {
        if self.brokers.get(b.index()).is_none_or(|x| x.alive) {
            return;
        }
        {
            let World {
                cluster,
                keys,
                stored_offsets,
                brokers,
                ..
            } = self;
            let mut world = WorldRef {
                cluster,
                keys,
                stored_offsets,
            };
            brokers[b.index()].restart(&mut ctx!(env, world));
        }
        env.out.event(Event::Broker {
            at_ms: env.now_ms,
            broker: b,
            event: BrokerEvent::Restarted,
        });
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared parts of the world a context borrows while an actor is borrowed mutably.
struct WorldRef<'a> {
    cluster: &'a Cluster,
    keys: &'a mut KeyTable,
    stored_offsets: &'a mut super::database::StoredOffsets,
}

/// Every known key whose murmur2 partition differs between `from` and `to` partitions.
pub fn moved_keys(keys: &KeyTable, from: u32, to: u32) -> Vec<(u32, u32, u32)> {
    keys.iter()
        .filter_map(|(id, info)| {
            let before = to_positive(info.murmur2) % from;
            let after = to_positive(info.murmur2) % to;
            (before != after).then_some((id, before, after))
        })
        .collect()
}

/// The longest key a key space generates, in bytes.
pub fn longest_key(space: &KeySpace) -> usize {
    let digits = |n: u32| n.saturating_sub(1).to_string().len();
    match space {
        KeySpace::Fixed(k) => k.len(),
        KeySpace::Uniform { prefix, count } => prefix.len() + digits(*count),
        KeySpace::HotKey { prefix, count, .. } => prefix.len() + digits(*count).max(3),
        KeySpace::Null => 0,
        // `customer-` + digits + `:order-` + an order id of up to ten digits.
        KeySpace::Orders { customers, .. } => 9 + digits(*customers) + 7 + 10,
    }
}
