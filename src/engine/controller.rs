//! The KRaft controller actor: broker registrations and sessions, fencing and unfencing,
//! leader elections, ISR changes (`AlterPartition`), the preferred-leader balancer, and the
//! metadata it sends the brokers. Brokers reach it only through messages, on links without
//! latency (the lab's quorum is one node that never fails).
//!
//! Citations are to apache/kafka `metadata/.../controller/` (ClusterControlManager,
//! BrokerHeartbeatManager, ReplicationControlManager, QuorumController) and
//! `core/.../server/BrokerLifecycleManager` unless said otherwise.

use super::actor::Out;
use super::cluster::Cluster;
use super::event::{BrokerEvent, Event};
use super::ids::{BrokerId, NodeId, Tp};
use super::msg::{AlterPartition, ControllerTimer, KafkaError, Msg, Timer};
use super::replication::{self, Election, PartitionState};

/// What the controller knows of one broker's registration (`BrokerHeartbeatManager`'s
/// `BrokerHeartbeatState` with the registration it belongs to).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BrokerSession {
    /// The registered process (its incarnation), if any.
    pub incarnation: Option<u32>,
    /// The broker epoch the registration got (the metadata offset it was written at).
    pub broker_epoch: u64,
    /// Fenced: not eligible to lead or to be in an ISR.
    pub fenced: bool,
    /// Its last heartbeat (or registration).
    pub last_contact_ms: u64,
}

/// The controller.
#[derive(Clone, Debug)]
pub struct Controller {
    sessions: Vec<BrokerSession>,
    /// The offset of the last metadata change the brokers were sent.
    metadata_offset: u64,
    /// When the stale-broker check is armed for.
    fence_check_at: Option<u64>,
    /// When the leader balancer runs next, if an imbalance was seen.
    balance_at: Option<u64>,
}

/// What a controller handler may read and write.
pub struct ControllerCtx<'a> {
    /// Virtual time.
    pub now_ms: u64,
    /// Where sends, timers and events go.
    pub out: &'a mut Out,
    /// The metadata image the controller writes.
    pub cluster: &'a mut Cluster,
}

impl ControllerCtx<'_> {
    fn event(&mut self, broker: BrokerId, event: BrokerEvent) {
        // `__consumer_offsets` partitions no group uses change silently.
        let tp = match &event {
            BrokerEvent::IsrChanged { tp, .. } | BrokerEvent::LeaderElected { tp, .. } => Some(*tp),
            _ => None,
        };
        if let Some(k) = tp.and_then(Cluster::offsets_partition_of) {
            if !self.cluster.offsets_partition_active(k) {
                return;
            }
        }
        self.out.event(Event::Broker {
            at_ms: self.now_ms,
            broker,
            event,
        });
    }
}

/// Where the controller's messages and timers are addressed.
const NODE: NodeId = NodeId::Controller;

impl Controller {
    /// A cluster of `brokers` brokers that formed at time 0: each registered (incarnation
    /// 0), unfenced, heard from now.
    pub fn new(brokers: usize) -> Self {
        Controller {
            sessions: (0..brokers)
                .map(|_| BrokerSession {
                    incarnation: Some(0),
                    broker_epoch: 0,
                    fenced: false,
                    last_contact_ms: 0,
                })
                .collect(),
            metadata_offset: 0,
            fence_check_at: None,
            balance_at: None,
        }
    }

    /// The broker's session, as the controller holds it.
    pub fn session(&self, b: BrokerId) -> Option<&BrokerSession> {
        self.sessions.get(b.index())
    }

    /// The offset of the last metadata change.
    pub fn metadata_offset(&self) -> u64 {
        self.metadata_offset
    }

    /// Arms the first stale-broker check (the cluster formed at time 0).
    pub fn start(&mut self, ctx: &mut ControllerCtx) {
        self.reschedule_fence_check(ctx);
    }

    // ---- messages ---------------------------------------------------------------------

    /// Handles a broker's request.
    pub fn on_message(&mut self, ctx: &mut ControllerCtx, from: NodeId, msg: Msg) {
        let NodeId::Broker(b) = from else {
            return;
        };
        match msg {
            Msg::BrokerRegistration { incarnation } => self.on_registration(ctx, b, incarnation),
            Msg::BrokerHeartbeat {
                broker_epoch,
                metadata_offset,
            } => self.on_heartbeat(ctx, b, broker_epoch, metadata_offset),
            Msg::AlterPartition(request) => self.on_alter_partition(ctx, b, request),
            _ => {}
        }
    }

    /// `ClusterControlManager.registerBroker`: a new process is refused while the old
    /// one's session is still valid (DUPLICATE_BROKER_REGISTRATION); otherwise it is
    /// registered, fenced, with a new broker epoch, and sent its partitions.
    fn on_registration(&mut self, ctx: &mut ControllerCtx, b: BrokerId, incarnation: u32) {
        let Some(s) = self.sessions.get(b.index()).cloned() else {
            return;
        };
        let other = s.incarnation.is_some_and(|i| i != incarnation);
        let valid = !s.fenced && ctx.now_ms < s.last_contact_ms + self.session_timeout(ctx);
        if other && valid {
            ctx.event(b, BrokerEvent::RegistrationRefused);
            ctx.out.send(
                NODE,
                NodeId::Broker(b),
                Msg::BrokerRegistrationResponse {
                    error: KafkaError::DuplicateBrokerRegistration,
                    broker_epoch: 0,
                },
            );
            return;
        }
        if other && !s.fenced {
            // The old session ran out and its check has not run yet: fence it first.
            self.fence(ctx, b);
        }
        self.metadata_offset += 1;
        let broker_epoch = self.metadata_offset;
        let s = &mut self.sessions[b.index()];
        if s.incarnation != Some(incarnation) {
            s.incarnation = Some(incarnation);
            s.broker_epoch = broker_epoch;
            s.fenced = true;
            ctx.cluster.set_live(b, false);
        }
        s.last_contact_ms = ctx.now_ms;
        let broker_epoch = s.broker_epoch;
        ctx.event(b, BrokerEvent::Registered);
        self.send_image(ctx, b);
        ctx.out.send(
            NODE,
            NodeId::Broker(b),
            Msg::BrokerRegistrationResponse {
                error: KafkaError::None,
                broker_epoch,
            },
        );
        self.reschedule_fence_check(ctx);
    }

    /// `ReplicationControlManager.processBrokerHeartbeat`: the session goes on; a fenced
    /// broker that has caught up with the metadata is unfenced; one that missed metadata
    /// (it was cut off) is sent the whole of it again.
    fn on_heartbeat(
        &mut self,
        ctx: &mut ControllerCtx,
        b: BrokerId,
        broker_epoch: u64,
        metadata_offset: u64,
    ) {
        let Some(s) = self.sessions.get_mut(b.index()) else {
            return;
        };
        if s.incarnation.is_none() || s.broker_epoch != broker_epoch {
            ctx.out.send(
                NODE,
                NodeId::Broker(b),
                Msg::BrokerHeartbeatResponse {
                    error: KafkaError::StaleBrokerEpoch,
                    fenced: true,
                },
            );
            return;
        }
        s.last_contact_ms = ctx.now_ms;
        let caught_up = metadata_offset >= self.metadata_offset;
        if !caught_up {
            self.send_image(ctx, b);
        } else if self.sessions[b.index()].fenced {
            self.unfence(ctx, b);
        }
        let fenced = self.sessions[b.index()].fenced;
        ctx.out.send(
            NODE,
            NodeId::Broker(b),
            Msg::BrokerHeartbeatResponse {
                error: KafkaError::None,
                fenced,
            },
        );
        self.reschedule_fence_check(ctx);
    }

    /// `ReplicationControlManager.alterPartition`: a leader's new ISR, taken if its leader
    /// epoch is current and every new member is eligible (registered and unfenced).
    fn on_alter_partition(&mut self, ctx: &mut ControllerCtx, b: BrokerId, req: AlterPartition) {
        let tp = req.tp;
        let live = ctx.cluster.live_flags();
        let error = match ctx.cluster.any_state(tp) {
            None => KafkaError::UnknownTopicOrPartition,
            Some(s) if s.leader != Some(b) || s.leader_epoch != req.leader_epoch => {
                KafkaError::FencedLeaderEpoch
            }
            Some(s)
                if req.isr.iter().any(|x| {
                    !s.isr.contains(x) && !live.get(x.index()).copied().unwrap_or(false)
                }) =>
            {
                KafkaError::IneligibleReplica
            }
            Some(_) if req.isr.is_empty() => KafkaError::InvalidRequest,
            Some(_) => KafkaError::None,
        };
        if error == KafkaError::None {
            let state = ctx.cluster.any_state_mut(tp).expect("checked above");
            if state.isr != req.isr {
                let from = std::mem::replace(&mut state.isr, req.isr.clone());
                ctx.event(
                    b,
                    BrokerEvent::IsrChanged {
                        tp,
                        from,
                        to: req.isr,
                    },
                );
                self.publish(ctx, &[tp]);
            }
        }
        ctx.out.send(
            NODE,
            NodeId::Broker(b),
            Msg::AlterPartitionResponse { tp, error },
        );
    }

    // ---- timers -----------------------------------------------------------------------

    /// Handles one of its timers.
    pub fn on_timer(&mut self, ctx: &mut ControllerCtx, timer: ControllerTimer) {
        match timer {
            ControllerTimer::FenceCheck => {
                if self.fence_check_at.is_some_and(|at| at <= ctx.now_ms) {
                    self.fence_check_at = None;
                }
                self.maybe_fence_one_stale_broker(ctx);
                self.reschedule_fence_check(ctx);
            }
            ControllerTimer::BalanceLeaders => {
                if self.balance_at.is_some_and(|at| at <= ctx.now_ms) {
                    self.balance_at = None;
                    self.balance_leaders(ctx);
                }
            }
        }
    }

    fn session_timeout(&self, ctx: &ControllerCtx) -> u64 {
        ctx.cluster.replication.broker_session_timeout_ms
    }

    /// `QuorumController.rescheduleMaybeFenceStaleBrokers`: one check, at the oldest
    /// unfenced broker's last contact plus the session timeout.
    fn reschedule_fence_check(&mut self, ctx: &mut ControllerCtx) {
        let timeout = self.session_timeout(ctx);
        let Some(at) = self
            .sessions
            .iter()
            .filter(|s| s.incarnation.is_some() && !s.fenced)
            .map(|s| s.last_contact_ms + timeout)
            .min()
        else {
            return;
        };
        if self.fence_check_at.is_some_and(|armed| armed <= at) {
            return;
        }
        self.fence_check_at = Some(at);
        ctx.out.timer(
            at.max(ctx.now_ms),
            NODE,
            Timer::Controller(ControllerTimer::FenceCheck),
        );
    }

    /// `ReplicationControlManager.maybeFenceOneStaleBroker`: the unfenced broker heard from
    /// longest ago is fenced if its session ran out (one per check).
    fn maybe_fence_one_stale_broker(&mut self, ctx: &mut ControllerCtx) {
        let timeout = self.session_timeout(ctx);
        let stale = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.incarnation.is_some() && !s.fenced)
            .min_by_key(|(i, s)| (s.last_contact_ms, *i))
            .filter(|(_, s)| ctx.now_ms >= s.last_contact_ms + timeout)
            .map(|(i, _)| BrokerId(i as u16));
        if let Some(b) = stale {
            self.fence(ctx, b);
            // The next stale broker, if any, in the same millisecond.
            self.fence_check_at = Some(ctx.now_ms);
            ctx.out.timer(
                ctx.now_ms,
                NODE,
                Timer::Controller(ControllerTimer::FenceCheck),
            );
        }
    }

    // ---- fencing, unfencing, elections ------------------------------------------------

    /// `ReplicationControlManager.handleBrokerFenced`: out of every ISR (not the last
    /// member: ELR is off), and new leaders where it led.
    fn fence(&mut self, ctx: &mut ControllerCtx, b: BrokerId) {
        if let Some(s) = self.sessions.get_mut(b.index()) {
            s.fenced = true;
        }
        ctx.cluster.set_live(b, false);
        ctx.event(b, BrokerEvent::Fenced);
        let unclean = ctx.cluster.replication.unclean_leader_election_enable;
        let live = ctx.cluster.live_flags();
        let mut changed = Vec::new();
        for tp in ctx.cluster.every_partition() {
            let Some(state) = ctx.cluster.any_state_mut(tp) else {
                continue;
            };
            if !state.replicas.contains(&b) {
                continue;
            }
            let before = state.clone();
            let how = replication::fence(state, b, |x| live[x.index()], unclean);
            let after = state.clone();
            if after != before {
                self.changed(ctx, tp, &before, &after, how, false);
                changed.push(tp);
            }
        }
        self.publish(ctx, &changed);
    }

    /// `ReplicationControlManager.handleBrokerUnfenced`: eligible again; every leaderless
    /// partition holds an election (it is not put back in any ISR: its leaders do that once
    /// it catches up).
    fn unfence(&mut self, ctx: &mut ControllerCtx, b: BrokerId) {
        if let Some(s) = self.sessions.get_mut(b.index()) {
            s.fenced = false;
        }
        ctx.cluster.set_live(b, true);
        ctx.event(b, BrokerEvent::Unfenced);
        let unclean = ctx.cluster.replication.unclean_leader_election_enable;
        let live = ctx.cluster.live_flags();
        let mut changed = Vec::new();
        for tp in ctx.cluster.every_partition() {
            let Some(state) = ctx.cluster.any_state_mut(tp) else {
                continue;
            };
            if state.leader.is_some() {
                continue;
            }
            let before = state.clone();
            let how = replication::elect(state, |x| live[x.index()], unclean);
            let after = state.clone();
            if after.leader.is_some() {
                self.changed(ctx, tp, &before, &after, how, false);
                changed.push(tp);
            }
        }
        self.publish(ctx, &changed);
    }

    /// `ReplicationControlManager.maybeBalancePartitionLeaders`: where the preferred
    /// replica (the first) is back, in the ISR and unfenced, it leads again.
    fn balance_leaders(&mut self, ctx: &mut ControllerCtx) {
        if !ctx.cluster.replication.auto_leader_rebalance_enable {
            return;
        }
        let live = ctx.cluster.live_flags();
        let mut changed = Vec::new();
        for tp in ctx.cluster.every_partition() {
            let Some(state) = ctx.cluster.any_state_mut(tp) else {
                continue;
            };
            let Some(&preferred) = state.replicas.first() else {
                continue;
            };
            let eligible = live.get(preferred.index()).copied().unwrap_or(false)
                && state.isr.contains(&preferred);
            if state.leader == Some(preferred) || !eligible {
                continue;
            }
            let before = state.clone();
            state.leader = Some(preferred);
            state.leader_epoch += 1;
            let after = state.clone();
            self.changed(ctx, tp, &before, &after, Some(Election::Clean), true);
            changed.push(tp);
        }
        self.publish(ctx, &changed);
    }

    /// `QuorumController.maybeScheduleNextBalancePartitionLeaders`: once a partition is
    /// led by another replica than its first, a balance runs
    /// `leader.imbalance.check.interval.seconds` later.
    fn maybe_schedule_balance(&mut self, ctx: &mut ControllerCtx) {
        if self.balance_at.is_some() || !ctx.cluster.replication.auto_leader_rebalance_enable {
            return;
        }
        let imbalanced = ctx.cluster.every_partition().into_iter().any(|tp| {
            ctx.cluster
                .any_state(tp)
                .is_some_and(|s| s.leader.is_some() && s.leader != s.replicas.first().copied())
        });
        if imbalanced {
            let at = ctx.now_ms
                + ctx
                    .cluster
                    .replication
                    .leader_imbalance_check_interval_seconds
                    * 1_000;
            self.balance_at = Some(at);
            ctx.out
                .timer(at, NODE, Timer::Controller(ControllerTimer::BalanceLeaders));
        }
    }

    /// Reports a partition's change: its ISR, its leader (an election), and for
    /// `__consumer_offsets` the coordinator move.
    fn changed(
        &mut self,
        ctx: &mut ControllerCtx,
        tp: Tp,
        before: &PartitionState,
        after: &PartitionState,
        how: Option<Election>,
        preferred: bool,
    ) {
        let at = after.leader.or(before.leader).unwrap_or(BrokerId(0));
        if after.isr != before.isr {
            ctx.event(
                at,
                BrokerEvent::IsrChanged {
                    tp,
                    from: before.isr.clone(),
                    to: after.isr.clone(),
                },
            );
        }
        if after.leader == before.leader {
            return;
        }
        if let (Some(k), None) = (Cluster::offsets_partition_of(tp), after.leader) {
            // The groups there have no coordinator until a replica is back.
            for group in ctx.cluster.groups_on(k) {
                ctx.event(at, BrokerEvent::CoordinatorMoved { group, to: None });
            }
        }
        // The replica whose log was the partition's before: the old leader, or (for an
        // offline partition coming back) the last member of its ISR.
        let previous = before.leader.or_else(|| before.isr.first().copied());
        ctx.event(
            at,
            BrokerEvent::LeaderElected {
                tp,
                leader: after.leader,
                previous,
                leader_epoch: after.leader_epoch,
                unclean: how.map(|h| h == Election::Unclean),
                preferred,
            },
        );
    }

    /// Sends the changed partitions to every registered broker (as a metadata log entry
    /// each applies in order), then checks the leader balance.
    fn publish(&mut self, ctx: &mut ControllerCtx, tps: &[Tp]) {
        if tps.is_empty() {
            return;
        }
        self.metadata_offset += 1;
        let partitions: Vec<(Tp, PartitionState)> = tps
            .iter()
            .filter(|&&tp| {
                Cluster::offsets_partition_of(tp)
                    .is_none_or(|k| ctx.cluster.offsets_partition_active(k))
            })
            .filter_map(|&tp| Some((tp, ctx.cluster.any_state(tp)?.clone())))
            .collect();
        for (i, s) in self.sessions.iter().enumerate() {
            if s.incarnation.is_some() {
                ctx.out.send(
                    NODE,
                    NodeId::Broker(BrokerId(i as u16)),
                    Msg::MetadataUpdate {
                        offset: self.metadata_offset,
                        partitions: partitions.clone(),
                        full: false,
                    },
                );
            }
        }
        self.maybe_schedule_balance(ctx);
    }

    /// Sends one broker the whole image of the partitions it hosts (after it registered,
    /// or when it missed metadata).
    fn send_image(&mut self, ctx: &mut ControllerCtx, b: BrokerId) {
        let partitions: Vec<(Tp, PartitionState)> = ctx
            .cluster
            .hosted_partitions()
            .into_iter()
            .filter_map(|tp| {
                let s = ctx.cluster.any_state(tp)?;
                s.replicas.contains(&b).then(|| (tp, s.clone()))
            })
            .collect();
        ctx.out.send(
            NODE,
            NodeId::Broker(b),
            Msg::MetadataUpdate {
                offset: self.metadata_offset,
                partitions,
                full: true,
            },
        );
    }

    /// A topic or partitions were created (the lab applies admin changes at once): the
    /// metadata offset they were written at.
    pub fn note_created(&mut self) -> u64 {
        self.metadata_offset += 1;
        self.metadata_offset
    }
}
