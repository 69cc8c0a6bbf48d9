//! The kernel: the virtual clock, one queue of scheduled items ordered by `(time, seq)`,
//! the one seeded RNG, the network, the event log and trace hash, and the dispatcher that
//! hands each command, message or timer to its owner and applies what the owner pushed
//! into its `Out`.
//!
//! Nothing here knows Kafka: the actors (`broker`, `coordinator`, `consumer`, `producer`)
//! do. Nothing reads a wall clock; every random draw goes through the one [`Rng`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

use super::actor::Out;
use super::command::Command;
use super::error::EngineError;
use super::event::{Event, NetEvent, PartitionReason, TraceHash};
use super::ids::{NodeId, TopicId, Tp};
use super::ledger::{Ledger, Totals};
use super::msg::{Msg, Timer};
use super::net::{Latency, Network, Route};
use super::rng::Rng;
use super::world::{Env, World};

/// The furthest a lab may run, in virtual ms: eight days, so a week of Kafka's default
/// `retention.ms` can pass and its retention check fire.
pub const MAX_TIME_MS: u64 = 8 * 86_400_000;

/// The most events kept in memory; older ones are dropped (the trace hash keeps them all).
pub const MAX_EVENTS_KEPT: usize = 200_000;
/// Events per chunk of the event log (old chunks are dropped whole).
const EVENT_CHUNK: usize = 4_096;

/// What the queue holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Command(Command),
    Deliver {
        from: NodeId,
        to: NodeId,
        epoch: u64,
        msg: Msg,
    },
    Timer {
        node: NodeId,
        timer: Timer,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Scheduled {
    at_ms: u64,
    seq: u64,
    /// Boxed: the heap moves its entries as it sifts, and a message is ~200 bytes.
    item: Box<Item>,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The newest events, in shared chunks so a checkpoint costs pointers, not copies.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    chunks: std::collections::VecDeque<Rc<Vec<Event>>>,
    /// Events dropped from the front.
    dropped: u64,
    len: usize,
}

impl EventLog {
    fn push(&mut self, event: Event) {
        if self.chunks.back().is_none_or(|c| c.len() >= EVENT_CHUNK) {
            self.chunks
                .push_back(Rc::new(Vec::with_capacity(EVENT_CHUNK)));
        }
        let last = self.chunks.back_mut().expect("ensured above");
        Rc::make_mut(last).push(event);
        self.len += 1;
        if self.len > MAX_EVENTS_KEPT + EVENT_CHUNK {
            let old = self.chunks.pop_front().expect("more than one chunk");
            self.len -= old.len();
            self.dropped += old.len() as u64;
        }
    }

    /// Events dropped from memory: the first kept event has this number.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Events kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when none are kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every kept event, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Events numbered `from` and later that are still kept.
    pub fn since(&self, from: u64) -> impl Iterator<Item = &Event> + '_ {
        let skip = from.saturating_sub(self.dropped) as usize;
        let mut chunk = 0;
        let mut offset = skip;
        while chunk < self.chunks.len() && offset >= self.chunks[chunk].len() {
            offset -= self.chunks[chunk].len();
            chunk += 1;
        }
        self.chunks
            .iter()
            .skip(chunk)
            .enumerate()
            .flat_map(move |(i, c)| c.iter().skip(if i == 0 { offset } else { 0 }))
    }
}

/// Where a record typed by hand landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The ledger id of the record.
    pub record_id: u32,
    /// The partition chosen.
    pub partition: u32,
    /// The offset it got.
    pub offset: u64,
    /// Why that partition.
    pub reason: PartitionReason,
}

/// The whole simulated cluster and its clients.
#[derive(Clone, Debug)]
pub struct Sim {
    now_ms: u64,
    seq: u64,
    rng: Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    world: World,
    net: Network,
    ledger: Ledger,
    events: EventLog,
    trace: TraceHash,
    refused: u64,
}

impl Sim {
    /// An empty cluster (one broker, no topics), seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Sim::with_world(seed, World::new())
    }

    /// An empty cluster of `replication.brokers` brokers with those replication settings,
    /// seeded with `seed`.
    pub fn with_replication(seed: u64, replication: super::replication::ReplicationConfig) -> Self {
        Sim::with_world(seed, World::with_replication(replication, seed))
    }

    /// A simulation of `world`, booted: its brokers heartbeat to the controller.
    fn with_world(seed: u64, world: World) -> Self {
        let mut sim = Sim {
            now_ms: 0,
            seq: 0,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            world,
            net: Network::new(Latency::default()),
            ledger: Ledger::default(),
            events: EventLog::default(),
            trace: TraceHash::default(),
            refused: 0,
        };
        let mut out = Out::default();
        {
            let mut env = env(0, &mut sim.rng, &mut out, &mut sim.ledger, &mut sim.trace);
            sim.world.boot(&mut env);
        }
        sim.drain(out);
        sim
    }

    /// A cluster with one topic, seeded with `seed`.
    ///
    /// # Errors
    /// An illegal topic name or partition count.
    pub fn with_topic(name: &str, partitions: u32, seed: u64) -> Result<Self, EngineError> {
        let mut sim = Sim::new(seed);
        sim.apply(Command::CreateTopic {
            name: name.to_owned(),
            partitions,
            config: Default::default(),
        })?;
        Ok(sim)
    }

    /// Sets every link's latency (before anything is sent).
    ///
    /// # Errors
    /// A latency above [`super::net::MAX_LATENCY_MS`] or with `min > max`.
    pub fn set_latency(&mut self, latency: Latency) -> Result<(), EngineError> {
        if latency.min_ms > latency.max_ms || latency.max_ms > super::net::MAX_LATENCY_MS {
            return Err(EngineError::InvalidConfig {
                name: "network.latency.ms".into(),
                reason: format!(
                    "must be a range within 0 to {} ms",
                    super::net::MAX_LATENCY_MS
                ),
            });
        }
        self.net = Network::new(latency);
        Ok(())
    }

    // ---- read access ------------------------------------------------------------------

    /// Virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Every actor's state.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The delivery ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The events still in memory, oldest first.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The hash of the whole event trace.
    pub fn trace_hash(&self) -> u64 {
        self.trace.value()
    }

    /// Events emitted so far (including dropped ones).
    pub fn event_count(&self) -> u64 {
        self.trace.count()
    }

    /// Scripted commands the engine refused (each also an event).
    pub fn refused_commands(&self) -> u64 {
        self.refused
    }

    /// A group's ledger totals.
    pub fn totals(&self, group: super::ids::GroupId) -> Option<Totals> {
        self.ledger
            .totals(group, &self.world.subscribed_topics(group))
    }

    /// A group's totals counted record by record (for invariant checks).
    pub fn recount(&self, group: super::ids::GroupId) -> Option<Totals> {
        self.ledger
            .recount(group, &self.world.subscribed_topics(group))
    }

    /// The time of the next scheduled item, if any.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(|s| s.0.at_ms)
    }

    // ---- driving ------------------------------------------------------------------------

    fn schedule(&mut self, at_ms: u64, item: Item) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at_ms: at_ms.max(self.now_ms),
            seq: self.seq,
            item: Box::new(item),
        }));
    }

    /// Applies a command now, checking it first.
    ///
    /// # Errors
    /// When the command names something that does not exist, breaks a cap, or carries an
    /// invalid config; the simulation is unchanged then.
    pub fn apply(&mut self, command: Command) -> Result<(), EngineError> {
        super::checks::check(&self.world, &command, self.ledger.produced())?;
        let mut out = Out::default();
        self.run_command(&mut out, command);
        self.drain(out);
        Ok(())
    }

    /// Schedules a command for a later time. It is checked when it runs; a refusal
    /// becomes an [`Event::CommandRefused`] (and counts in [`Self::refused_commands`]).
    pub fn schedule_command(&mut self, at_ms: u64, command: Command) {
        self.schedule(at_ms, Item::Command(command));
    }

    /// Runs the next scheduled item. Returns its time, or `None` when nothing is scheduled.
    pub fn step(&mut self) -> Option<u64> {
        let Reverse(next) = self.queue.pop()?;
        self.now_ms = self.now_ms.max(next.at_ms);
        self.handle(*next.item);
        Some(self.now_ms)
    }

    /// Runs every item scheduled up to `t_ms`, then sets the clock to `t_ms`.
    pub fn run_until(&mut self, t_ms: u64) {
        while self.queue.peek().is_some_and(|s| s.0.at_ms <= t_ms) {
            self.step();
        }
        self.now_ms = self.now_ms.max(t_ms);
    }

    fn handle(&mut self, item: Item) {
        let mut out = Out::default();
        match item {
            Item::Command(command) => {
                if let Err(e) = super::checks::check(&self.world, &command, self.ledger.produced())
                {
                    self.refused += 1;
                    out.event(Event::CommandRefused {
                        at_ms: self.now_ms,
                        command: command.name().to_owned(),
                        error: e.to_string(),
                    });
                } else {
                    self.run_command(&mut out, command);
                }
            }
            Item::Deliver {
                from,
                to,
                epoch,
                msg,
            } => match self.net.arrival(from, to, epoch) {
                Route::Deliver { .. } if !self.world.still_sending(from, &msg) => {
                    self.dropped(from, to, &msg);
                }
                Route::Deliver { .. } if !self.world.accepts(to, &msg) => {
                    // A dead broker: the connection is refused, the request is lost, and
                    // the sender finds out at once.
                    self.dropped(from, to, &msg);
                    let mut env = env(
                        self.now_ms,
                        &mut self.rng,
                        &mut out,
                        &mut self.ledger,
                        &mut self.trace,
                    );
                    self.world.unreachable(&mut env, from, to);
                }
                Route::Deliver { .. } => {
                    let mut env = env(
                        self.now_ms,
                        &mut self.rng,
                        &mut out,
                        &mut self.ledger,
                        &mut self.trace,
                    );
                    self.world.deliver(&mut env, from, to, msg);
                }
                Route::Held => self.net.hold(from, to, msg),
                Route::Dropped => {} // the link was cut or the connection closed since
            },
            Item::Timer { node, timer } => {
                let mut env = env(
                    self.now_ms,
                    &mut self.rng,
                    &mut out,
                    &mut self.ledger,
                    &mut self.trace,
                );
                self.world.fire(&mut env, node, timer);
            }
        }
        self.drain(out);
    }

    /// The next request (or its response) between a producer and any broker is lost.
    fn inject_produce_fault(
        &mut self,
        producer: super::ids::ProducerId,
        fault: super::producer::ProduceFault,
    ) {
        let p = NodeId::Producer(producer);
        let acks_zero = self
            .world
            .producers
            .get(producer.index())
            .is_some_and(|p| p.config.acks == super::config::Acks::Zero);
        for broker in 0..self.world.brokers.len() {
            let b = NodeId::Broker(super::ids::BrokerId(broker as u16));
            let (from, to) = match fault {
                super::producer::ProduceFault::LostRequest => (p, b),
                super::producer::ProduceFault::LostAck => (b, p),
            };
            // An acks=0 producer never notices a broken connection; only the one request
            // is lost.
            self.net.lose_next(from, to, !acks_zero);
        }
    }

    fn run_command(&mut self, out: &mut Out, command: Command) {
        match command {
            Command::InjectProduceFault { producer, fault } => {
                self.inject_produce_fault(producer, fault)
            }
            Command::NetPartition { a, b } => {
                self.net.partition(&a, &b);
                out.event(Event::Net {
                    at_ms: self.now_ms,
                    event: NetEvent::Partitioned { a, b },
                });
            }
            Command::NetHold { a, b } => {
                self.net.hold_links(&a, &b);
                out.event(Event::Net {
                    at_ms: self.now_ms,
                    event: NetEvent::Held { a, b },
                });
            }
            Command::NetRelease { a, b } => {
                let released = self.net.release(&a, &b);
                out.event(Event::Net {
                    at_ms: self.now_ms,
                    event: NetEvent::Released { a, b },
                });
                out.sends.extend(released);
            }
            Command::NetHeal => {
                let released = self.net.heal();
                out.event(Event::Net {
                    at_ms: self.now_ms,
                    event: NetEvent::Healed,
                });
                out.sends.extend(released);
            }
            Command::AddGroup { ref config, .. } => {
                let group = super::ids::GroupId(self.world.groups.len() as u16);
                let dedupe = config.dedupe;
                let mut env = env(
                    self.now_ms,
                    &mut self.rng,
                    out,
                    &mut self.ledger,
                    &mut self.trace,
                );
                self.world.execute(&mut env, command);
                self.ledger.add_group(group, dedupe);
            }
            command => {
                let mut env = env(
                    self.now_ms,
                    &mut self.rng,
                    out,
                    &mut self.ledger,
                    &mut self.trace,
                );
                self.world.execute(&mut env, command);
            }
        }
    }

    /// Applies what a handler asked for: events first (they happened now), then sends
    /// through the network, timers into the queue, and closed connections.
    fn drain(&mut self, out: Out) {
        let Out {
            sends,
            timers,
            events,
            closed_connections,
        } = out;
        for event in events {
            self.observe(event);
        }
        for (a, b) in closed_connections {
            self.net.close_connection(a, b);
        }
        for (from, to, msg) in sends {
            match self.net.route(self.now_ms, &mut self.rng, from, to) {
                Route::Deliver { at_ms, epoch } => self.schedule(
                    at_ms,
                    Item::Deliver {
                        from,
                        to,
                        epoch,
                        msg,
                    },
                ),
                Route::Held => self.net.hold(from, to, msg),
                Route::Dropped => self.dropped(from, to, &msg),
            }
        }
        for (at_ms, node, timer) in timers {
            self.schedule(at_ms, Item::Timer { node, timer });
        }
    }

    fn dropped(&mut self, from: NodeId, to: NodeId, msg: &Msg) {
        if let (
            NodeId::Producer(producer),
            Msg::Produce {
                acks_zero: true,
                batches,
                ..
            },
        ) = (from, msg)
        {
            for b in batches {
                let ids: Vec<u32> = b.records.iter().map(|r| r.record_id).collect();
                self.ledger
                    .lost_on_the_wire(self.now_ms, producer, b.tp, &ids);
            }
        }
        self.observe(Event::Net {
            at_ms: self.now_ms,
            event: NetEvent::Dropped {
                from,
                to,
                what: msg.name(),
            },
        });
    }

    fn observe(&mut self, event: Event) {
        self.trace.push(&event);
        self.ledger.observe(&event, &self.world);
        self.events.push(event);
    }

    /// Produces one record straight into the log (no batching, no network): the partition
    /// calculator's path. A key goes where the Java producer puts it (murmur2).
    ///
    /// # Errors
    /// When the key or value is too long, the topic does not exist, or the record cap is
    /// reached.
    pub fn produce(
        &mut self,
        topic: TopicId,
        key: Option<&str>,
        value: &str,
    ) -> Result<Appended, EngineError> {
        let command = Command::Produce {
            key: key.map(str::to_owned),
            value: value.to_owned(),
            topic,
        };
        super::checks::check(&self.world, &command, self.ledger.produced())?;
        let mut out = Out::default();
        let landed = {
            let mut env = env(
                self.now_ms,
                &mut self.rng,
                &mut out,
                &mut self.ledger,
                &mut self.trace,
            );
            self.world.produce_direct(&mut env, topic, key, value)
        };
        self.drain(out);
        let (record_id, partition, offset, reason) = landed.ok_or_else(|| {
            EngineError::InvalidCommand("the record could not be appended".into())
        })?;
        Ok(Appended {
            record_id,
            partition,
            offset,
            reason,
        })
    }

    /// The log of a partition (on its leader).
    pub fn log(&self, tp: Tp) -> Option<&super::log::PartitionLog> {
        self.world.log(tp)
    }

    /// Memory of the engine's big arrays (logs, record facts, outcomes), as
    /// `ChunkVec::memory` counts it: `(unshared, all, share)`. Summing `share` over the live
    /// engine and every checkpoint gives the distinct bytes they hold together.
    pub fn memory(&self) -> (usize, usize, usize) {
        let add =
            |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        let mut total = self
            .world
            .brokers
            .iter()
            .map(super::broker::Broker::memory)
            .fold((0, 0, 0), add);
        total = add(total, self.ledger.records.memory());
        for g in &self.ledger.groups {
            total = add(total, g.memory());
        }
        total
    }
}

fn env<'a>(
    now_ms: u64,
    rng: &'a mut Rng,
    out: &'a mut Out,
    ledger: &'a mut Ledger,
    trace: &'a mut TraceHash,
) -> Env<'a> {
    Env {
        now_ms,
        rng,
        out,
        records: &mut ledger.records,
        values: &mut ledger.values,
        trace,
    }
}
