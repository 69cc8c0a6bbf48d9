//! The consumer client actor (classic protocol): the application's poll loop and its
//! commit policy, the fetcher, the heartbeat thread, and the client half of the group
//! protocol (JoinGroup, SyncGroup, the assignor on the leader, revocation).
//!
//! Citations are to apache/kafka `clients/.../consumer/internals/` (AbstractCoordinator,
//! ConsumerCoordinator, FetchCollector, CompletedFetch) and ClassicKafkaConsumer.

use super::sort;
use std::collections::{BTreeMap, VecDeque};

use super::actor::Ctx;
use super::assignor::{assign, rebalance_protocol, Protocol, Strategy, Subscription};
use super::config::{AutoOffsetReset, GroupConfig, ManualCommit};
use super::event::{CommitError, CrashReason, Event, GroupEvent, PartitionOffset, PositionSource};
use super::ids::{consumer_client_id, BrokerId, ConsumerRef, NodeId, Tp};
use super::log::{LogRecord, SharedRecords};
use super::msg::{
    CommittedAt, ConsumerTimer, ConsumerTimerKind, EpochEnd, FetchedPartition, JoinedMember,
    KafkaError, MemberMetadata, Msg, OffsetSpec, Timer,
};

/// How long the application's `poll(timeout)` waits for records before it returns empty
/// and the loop polls again (the lab's application uses 500 ms).
pub const APP_POLL_TIMEOUT_MS: u64 = 500;
/// `retry.backoff.ms`, the consumer default: the heartbeat thread's idle wait, and the
/// fetcher's pause before it fetches again from a leader that failed.
pub const RETRY_BACKOFF_MS: u64 = 100;
/// `request.timeout.ms`, the consumer default.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// `retry.backoff.max.ms`, the consumer default: the cap of `commitSync`'s exponential
/// backoff.
pub const RETRY_BACKOFF_MAX_MS: u64 = 1_000;
/// `default.api.timeout.ms`: how long `commitSync` keeps trying.
pub const DEFAULT_API_TIMEOUT_MS: u64 = 60_000;
/// `close()`'s default timeout: how long the closing auto-commit keeps trying.
pub const CLOSE_TIMEOUT_MS: u64 = 30_000;

/// `commitSync`'s wait before attempt `attempts + 1`: `retry.backoff.ms` doubling up to
/// `retry.backoff.max.ms` (ExponentialBackoff; the lab leaves out its ±20 % jitter).
pub fn commit_backoff_ms(attempts: u32) -> u64 {
    RETRY_BACKOFF_MS
        .saturating_mul(1u64 << attempts.min(16))
        .min(RETRY_BACKOFF_MAX_MS)
}

/// Where a consumer client is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConsumerStatus {
    /// Running.
    Active,
    /// Crashed: no heartbeats, no commits.
    Crashed,
    /// Closed gracefully.
    Closed,
    /// Stopped by an exception (e.g. `auto.offset.reset=none`).
    Failed(String),
}

impl ConsumerStatus {
    /// True while the client runs.
    pub fn alive(&self) -> bool {
        *self == ConsumerStatus::Active
    }
}

/// AbstractCoordinator's `MemberState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Not in the group (never joined, left, or reset).
    Unjoined,
    /// JoinGroup sent, waiting for the join phase to end.
    PreparingRebalance,
    /// SyncGroup sent, waiting for the assignment.
    CompletingRebalance,
    /// Has an assignment in a generation.
    Stable,
}

/// What the application thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppState {
    /// Blocked in `poll()`, waiting for records.
    Polling,
    /// Processing the records the last poll returned.
    Processing,
    /// Blocked in `commitSync()`.
    Committing,
}

/// What the application does when a `commitSync` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AfterCommit {
    /// Start processing the polled records.
    Process,
    /// Process the next record, or poll.
    Continue,
    /// Finish closing.
    Close,
}

/// Records of one partition from one fetch response, from index `next` up to `end`. The
/// fetch buffer holds these (a fetch's chunk, handed out over consecutive polls) and so does
/// the application's batch (the part one poll returned): both share the response's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The partition.
    pub tp: Tp,
    /// The offset of the record at `next`.
    pub next_offset: u64,
    records: SharedRecords,
    next: usize,
    end: usize,
    /// The records' leader epochs: `(epoch, start offset)`.
    epochs: std::rc::Rc<[(u32, u64)]>,
}

impl Chunk {
    /// The leader epoch of the record at `offset` (its batch's `partitionLeaderEpoch`).
    fn epoch_of(&self, offset: u64) -> Option<u32> {
        self.epochs
            .iter()
            .rev()
            .find(|&&(_, start)| start <= offset)
            .map(|&(e, _)| e)
    }

    /// Records left in it.
    pub fn len(&self) -> usize {
        self.end - self.next
    }

    /// True when none are left.
    pub fn is_empty(&self) -> bool {
        self.next >= self.end
    }

    /// Takes the first `n` records as a chunk of their own.
    fn split_front(&mut self, n: usize) -> Chunk {
        let n = n.min(self.len());
        let front = Chunk {
            end: self.next + n,
            ..self.clone()
        };
        self.next += n;
        self.next_offset += n as u64;
        front
    }

    /// Takes the next record with its offset.
    fn pop(&mut self) -> Option<(u64, LogRecord)> {
        if self.is_empty() {
            return None;
        }
        let r = *self.records.get(self.next)?;
        let o = self.next_offset;
        self.next += 1;
        self.next_offset += 1;
        Some((o, r))
    }
}

/// A commit waiting for its response, or (`commitSync`) for its next attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingCommit {
    /// The request in flight, if one is.
    request_id: Option<u64>,
    offsets: Vec<PartitionOffset>,
    auto: bool,
    then: Option<AfterCommit>,
    /// The generation it was made in.
    generation: i32,
    /// `commitSync`'s deadline (`default.api.timeout.ms`); `None` for an async commit.
    deadline_ms: Option<u64>,
    /// Attempts that failed with a retriable error.
    attempts: u32,
    /// No attempt before this (the backoff after a retriable failure).
    next_try_ms: u64,
}

/// A partition whose position is being looked up (Kafka's INITIALIZING and AWAIT_RESET
/// fetch states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Resolve {
    /// Why: `None` while the committed offset is fetched.
    source: Option<PositionSource>,
    /// Where ListOffsets looks, once a reset or a seek decided it.
    spec: Option<OffsetSpec>,
    /// The leader an outstanding ListOffsets went to.
    sent_to: Option<BrokerId>,
    /// No ListOffsets before this: `request.timeout.ms` after one was sent
    /// (`setNextAllowedRetry`), `retry.backoff.ms` after one failed (`requestFailed`).
    next_try_ms: u64,
}

/// A position waiting for OffsetsForLeaderEpoch (SubscriptionState AWAIT_VALIDATION).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Validation {
    /// The position and its epoch being checked.
    offset: u64,
    epoch: u32,
    /// The leader the request went to, while it is outstanding.
    sent_to: Option<BrokerId>,
    /// No request before this (as for resets).
    next_try_ms: u64,
}

impl Resolve {
    fn committed() -> Self {
        Resolve {
            source: None,
            spec: None,
            sent_to: None,
            next_try_ms: 0,
        }
    }

    fn reset(source: PositionSource, spec: OffsetSpec) -> Self {
        Resolve {
            source: Some(source),
            spec: Some(spec),
            sent_to: None,
            next_try_ms: 0,
        }
    }
}

/// One consumer client.
#[derive(Clone, Debug)]
pub struct Consumer {
    /// Its group and place in it.
    pub id: ConsumerRef,
    /// `client.id` (`c1`).
    pub client_id: String,
    /// `group.instance.id`, for static membership.
    pub group_instance_id: Option<String>,
    /// Subscribed topics, by name.
    pub topics: Vec<String>,
    /// Its configuration (the group's).
    pub config: GroupConfig,
    /// Where it is in its life.
    pub status: ConsumerStatus,
    incarnation: u32,
    coordinator: Option<BrokerId>,
    /// The coordinator it last knew (its connection carries this client's fetches too when
    /// the coordinator leads their partitions).
    last_coordinator: Option<BrokerId>,
    find_in_flight: bool,
    /// The broker asked FindCoordinator.
    find_target: Option<BrokerId>,
    /// When the FindCoordinator in flight was sent.
    find_sent_ms: u64,
    /// Which broker to ask first next time (moves on after a failure).
    bootstrap_cursor: u32,
    /// Where it is in the group protocol.
    pub member_state: MemberState,
    /// The member id the coordinator gave it (empty: none).
    pub member_id: String,
    /// Its generation (-1 = none).
    pub generation: i32,
    rejoin_needed: bool,
    needs_join_prepare: bool,
    /// Leader of its generation.
    pub is_leader: bool,
    /// Partitions it owns, in fetch order (a partition moves to the end once its fetched
    /// records are handed out).
    pub assigned: Vec<Tp>,
    /// Per owned partition: the next offset `poll()` returns.
    pub positions: BTreeMap<Tp, u64>,
    /// Owned partitions whose position is being looked up.
    resolving: BTreeMap<Tp, Resolve>,
    /// Per owned partition: the leader epoch of the last record consumed (`offsetEpoch`),
    /// when known.
    position_epochs: BTreeMap<Tp, u32>,
    /// Per owned partition: the leader epoch the position was last checked against
    /// (`FetchPosition.currentLeader`).
    checked_epochs: BTreeMap<Tp, u32>,
    /// Partitions awaiting validation (AWAIT_VALIDATION): not fetched until the leader
    /// says where the position's epoch ends.
    validating: BTreeMap<Tp, Validation>,
    offsets_in_flight: bool,
    sticky_user_data: Option<(Vec<Tp>, i32)>,
    pending_assignment: Option<Vec<Tp>>,
    buffer: VecDeque<Chunk>,
    /// The fetch in flight to each leader, with when it was sent (one per broker, as the
    /// Java fetcher sends).
    fetch_in_flight: BTreeMap<BrokerId, (u64, u64)>,
    /// Leaders whose last fetch failed, and until when the fetcher leaves them alone
    /// (`retry.backoff.ms`, while the metadata refreshes).
    fetch_backoff_until: BTreeMap<BrokerId, u64>,
    next_request_id: u64,
    /// What the application thread does.
    pub app: AppState,
    /// Polled records not yet processed, in order, as chunks per partition.
    pub batch: VecDeque<Chunk>,
    /// Per partition: processed up to (next offset), for commits after processing.
    processed: BTreeMap<Tp, u64>,
    app_token: u64,
    /// Lab: per-record processing time override ("slow down").
    pub processing_ms_override: Option<u64>,
    /// When and why it last crashed (kept until it restarts, for the card).
    pub crashed: Option<(u64, CrashReason)>,
    /// When `poll()` was last called.
    pub last_poll_ms: u64,
    poll_token: u64,
    poll_timer_at: Option<u64>,
    /// A graceful close was requested.
    pub closing: bool,
    /// When auto-commit is next due.
    pub next_auto_commit_ms: u64,
    commit: Option<PendingCommit>,
    hb_token: u64,
    heartbeat_in_flight: bool,
    last_heartbeat_sent_ms: u64,
    /// When a heartbeat was last answered without error.
    pub last_heartbeat_ok_ms: u64,
    /// When the next heartbeat is due, while the thread runs.
    pub next_heartbeat_ms: Option<u64>,
    /// Group requests sent to the coordinator and not answered yet, with when each was
    /// sent: NetworkClient times out each request on its own.
    coordinator_requests: BTreeMap<GroupRequest, u64>,
}

/// A request to the group coordinator whose answer the client waits for (FindCoordinator
/// and heartbeats keep their own clocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum GroupRequest {
    Join,
    Sync,
    Commit,
    OffsetFetch,
}

impl GroupRequest {
    /// The request a message is, if the client times it out here.
    fn of(msg: &Msg) -> Option<GroupRequest> {
        match msg {
            Msg::JoinGroup { .. } => Some(GroupRequest::Join),
            Msg::SyncGroup { .. } => Some(GroupRequest::Sync),
            Msg::OffsetCommit { .. } => Some(GroupRequest::Commit),
            Msg::OffsetFetch { .. } => Some(GroupRequest::OffsetFetch),
            _ => None,
        }
    }
}

impl Consumer {
    /// A client, not started yet.
    pub fn new(
        id: ConsumerRef,
        group_instance_id: Option<String>,
        topics: Vec<String>,
        config: GroupConfig,
    ) -> Self {
        Consumer {
            id,
            client_id: consumer_client_id(id.member),
            group_instance_id,
            topics,
            config,
            status: ConsumerStatus::Closed,
            incarnation: 0,
            coordinator: None,
            last_coordinator: None,
            find_target: None,
            find_sent_ms: 0,
            bootstrap_cursor: 0,
            find_in_flight: false,
            member_state: MemberState::Unjoined,
            member_id: String::new(),
            generation: -1,
            rejoin_needed: true,
            needs_join_prepare: true,
            is_leader: false,
            assigned: Vec::new(),
            positions: BTreeMap::new(),
            resolving: BTreeMap::new(),
            position_epochs: BTreeMap::new(),
            checked_epochs: BTreeMap::new(),
            validating: BTreeMap::new(),
            offsets_in_flight: false,
            sticky_user_data: None,
            pending_assignment: None,
            buffer: VecDeque::new(),
            fetch_in_flight: BTreeMap::new(),
            fetch_backoff_until: BTreeMap::new(),
            next_request_id: 0,
            app: AppState::Polling,
            batch: VecDeque::new(),
            processed: BTreeMap::new(),
            app_token: 0,
            processing_ms_override: None,
            crashed: None,
            last_poll_ms: 0,
            poll_token: 0,
            poll_timer_at: None,
            closing: false,
            next_auto_commit_ms: 0,
            commit: None,
            hb_token: 0,
            heartbeat_in_flight: false,
            last_heartbeat_sent_ms: 0,
            last_heartbeat_ok_ms: 0,
            next_heartbeat_ms: None,
            coordinator_requests: BTreeMap::new(),
        }
    }

    fn node(&self) -> NodeId {
        NodeId::Consumer(self.id)
    }

    /// Eager or cooperative: the highest protocol all its assignors support.
    pub fn protocol(&self) -> Protocol {
        rebalance_protocol(&self.config.partition_assignment_strategy)
    }

    /// Milliseconds per record (the override, else the group's).
    pub fn processing_ms(&self) -> u64 {
        self.processing_ms_override
            .unwrap_or(self.config.processing_ms)
    }

    /// The fetched-but-unprocessed offsets per partition, as `(partition, from, to_exclusive)`.
    pub fn held_ranges(&self) -> Vec<(Tp, u64, u64)> {
        let mut out: Vec<(Tp, u64, u64)> = Vec::new();
        for c in self.batch.iter().filter(|c| !c.is_empty()) {
            let (from, to) = (c.next_offset, c.next_offset + c.len() as u64);
            match out.iter_mut().find(|r| r.0 == c.tp && r.2 == from) {
                Some(r) => r.2 = to,
                None => out.push((c.tp, from, to)),
            }
        }
        out
    }

    /// Records polled and not yet processed.
    pub fn in_hand(&self) -> usize {
        self.batch.iter().map(Chunk::len).sum()
    }

    /// True when it waits in `poll()` with nothing to hand out (no records buffered).
    pub fn idle(&self) -> bool {
        self.status.alive() && self.app == AppState::Polling && self.in_hand() == 0
    }

    // ---- timers -----------------------------------------------------------------------

    fn timer(&mut self, ctx: &mut Ctx, at_ms: u64, kind: ConsumerTimerKind) {
        let token = match kind {
            ConsumerTimerKind::App => {
                self.app_token += 1;
                self.app_token
            }
            ConsumerTimerKind::Heartbeat => {
                self.hb_token += 1;
                self.hb_token
            }
            ConsumerTimerKind::PollTimeout => {
                self.poll_token += 1;
                self.poll_token
            }
        };
        ctx.out.timer(
            at_ms.max(ctx.now_ms),
            self.node(),
            Timer::Consumer(ConsumerTimer {
                kind,
                incarnation: self.incarnation,
                token,
            }),
        );
    }

    /// Handles one of its timers; stale ones (an earlier life or step) are ignored.
    pub fn on_timer(&mut self, ctx: &mut Ctx, t: ConsumerTimer) {
        if t.incarnation != self.incarnation || !self.status.alive() {
            return;
        }
        match t.kind {
            ConsumerTimerKind::App if t.token == self.app_token => self.app_step(ctx),
            ConsumerTimerKind::Heartbeat if t.token == self.hb_token => self.heartbeat_tick(ctx),
            ConsumerTimerKind::PollTimeout if t.token == self.poll_token => {
                self.poll_timeout_check(ctx)
            }
            _ => {}
        }
    }

    fn event(&self, ctx: &mut Ctx, event: GroupEvent) {
        ctx.out.event(Event::Group {
            at_ms: ctx.now_ms,
            group: self.id.group,
            event,
        });
    }

    fn send(&mut self, ctx: &mut Ctx, to: BrokerId, msg: Msg) {
        if let Some(kind) = GroupRequest::of(&msg) {
            self.coordinator_requests.insert(kind, ctx.now_ms);
        }
        ctx.out.send(self.node(), NodeId::Broker(to), msg);
    }

    // ---- life cycle -------------------------------------------------------------------

    /// Starts (or restarts) the client: a new life with nothing but its ids and config.
    pub fn start(&mut self, ctx: &mut Ctx) {
        let fresh = Consumer::new(
            self.id,
            self.group_instance_id.clone(),
            self.topics.clone(),
            self.config.clone(),
        );
        let incarnation = self.incarnation + 1;
        let slow = self.processing_ms_override;
        *self = fresh;
        self.incarnation = incarnation;
        self.processing_ms_override = slow;
        self.status = ConsumerStatus::Active;
        self.last_poll_ms = ctx.now_ms;
        self.close_connections(ctx);
        self.event(
            ctx,
            GroupEvent::ConsumerStarted {
                member: self.id.member,
            },
        );
        self.timer(ctx, ctx.now_ms, ConsumerTimerKind::App);
    }

    /// Kills the client: no commit, no LeaveGroup; its timers die with it.
    pub fn crash(&mut self, ctx: &mut Ctx, reason: CrashReason) {
        if !self.status.alive() {
            return;
        }
        self.status = ConsumerStatus::Crashed;
        self.crashed = Some((ctx.now_ms, reason));
        self.incarnation += 1;
        self.close_connections(ctx);
        self.event(
            ctx,
            GroupEvent::ConsumerCrashed {
                member: self.id.member,
                reason,
            },
        );
        self.batch.clear();
        self.assigned.clear();
        self.positions.clear();
        self.buffer.clear();
        self.next_heartbeat_ms = None;
    }

    /// The process is gone: its connections close with it, and the answers still on
    /// their way go nowhere (a restarted client opens new connections).
    fn close_connections(&self, ctx: &mut Ctx) {
        for b in 0..ctx.cluster.broker_count() {
            ctx.out
                .closed_connections
                .push((self.node(), NodeId::Broker(BrokerId(b as u16))));
        }
    }

    /// Asks for a graceful close after the current batch.
    pub fn request_close(&mut self, ctx: &mut Ctx) {
        if !self.status.alive() || self.closing {
            return;
        }
        self.closing = true;
        if self.app == AppState::Polling {
            self.timer(ctx, ctx.now_ms, ConsumerTimerKind::App);
        }
    }

    /// The leader saw the subscribed topics' metadata change: it rejoins
    /// (`requestRejoin`), which makes the coordinator rebalance the group.
    pub fn request_rejoin(&mut self, ctx: &mut Ctx) {
        if self.status.alive() && self.member_state == MemberState::Stable {
            self.rejoin_needed = true;
            self.needs_join_prepare = true;
            self.wake_if_polling(ctx);
        }
    }

    fn fail(&mut self, ctx: &mut Ctx, error: String) {
        self.status = ConsumerStatus::Failed(error.clone());
        self.incarnation += 1;
        self.close_connections(ctx);
        self.next_heartbeat_ms = None;
        self.event(
            ctx,
            GroupEvent::ConsumerFailed {
                member: self.id.member,
                error,
            },
        );
    }

    /// `close()`: commit (with auto-commit), give up the partitions, leave the group.
    fn close(&mut self, ctx: &mut Ctx) {
        if self.config.enable_auto_commit
            && self.member_state == MemberState::Stable
            && self.commit.is_none()
            && !self.positions.is_empty()
        {
            let offsets = self.consumed_offsets();
            if self.commit_offsets(ctx, offsets, true, Some(AfterCommit::Close)) {
                return;
            }
        }
        self.finish_close(ctx);
    }

    fn finish_close(&mut self, ctx: &mut Ctx) {
        // onLeavePrepare: revoked if still in the generation, else lost.
        let owned = std::mem::take(&mut self.assigned);
        if !owned.is_empty() {
            let member = self.id.member;
            let event = if self.generation >= 0 && !self.member_id.is_empty() {
                GroupEvent::Revoked {
                    member,
                    partitions: owned,
                }
            } else {
                GroupEvent::Lost {
                    member,
                    partitions: owned,
                }
            };
            self.event(ctx, event);
        }
        self.leave_group(ctx, "the consumer is being closed");
        self.positions.clear();
        self.buffer.clear();
        self.status = ConsumerStatus::Closed;
        self.incarnation += 1;
        self.next_heartbeat_ms = None;
        self.event(
            ctx,
            GroupEvent::ConsumerClosed {
                member: self.id.member,
            },
        );
    }

    /// AbstractCoordinator `maybeLeaveGroup`: a dynamic member sends LeaveGroup; every
    /// member resets its generation and member id (`resetGenerationOnLeaveGroup`).
    fn leave_group(&mut self, ctx: &mut Ctx, reason: &str) {
        let in_group = self.member_state != MemberState::Unjoined || !self.member_id.is_empty();
        if in_group {
            let dynamic = self.group_instance_id.is_none();
            self.event(
                ctx,
                GroupEvent::LeaveGroup {
                    member: self.id.member,
                    reason: reason.to_owned(),
                    sent: dynamic,
                },
            );
            if dynamic && !self.member_id.is_empty() {
                if let Some(c) = self.coordinator {
                    let msg = Msg::LeaveGroup {
                        group: self.id.group,
                        member_id: self.member_id.clone(),
                        group_instance_id: None,
                        reason: reason.to_owned(),
                    };
                    ctx.out.send(self.node(), NodeId::Broker(c), msg);
                }
            }
        }
        self.reset_generation(true);
    }

    fn reset_generation(&mut self, member_id_too: bool) {
        self.generation = -1;
        if member_id_too {
            self.member_id.clear();
        }
        self.member_state = MemberState::Unjoined;
        self.rejoin_needed = true;
        self.needs_join_prepare = true;
        self.is_leader = false;
        self.next_heartbeat_ms = None;
        self.heartbeat_in_flight = false;
    }

    /// Seeks an owned partition; the position is set at once for an offset, or after a
    /// ListOffsets for the beginning or the end. No check against the log end: an offset out
    /// of range shows up at the next fetch (ClassicKafkaConsumer `seek`).
    pub fn seek(&mut self, ctx: &mut Ctx, tp: Tp, to: super::command::SeekTo) {
        self.buffer.retain(|f| f.tp != tp);
        match to {
            super::command::SeekTo::Offset(offset) => {
                self.set_position(ctx, tp, offset, PositionSource::Seek)
            }
            super::command::SeekTo::Beginning => {
                self.request_reset(ctx, vec![tp], PositionSource::Seek, OffsetSpec::Earliest);
            }
            super::command::SeekTo::End => {
                self.request_reset(ctx, vec![tp], PositionSource::Seek, OffsetSpec::Latest);
            }
            super::command::SeekTo::Timestamp(t) => {
                let spec = OffsetSpec::Timestamp(t);
                self.request_reset(ctx, vec![tp], PositionSource::Seek, spec);
            }
        }
    }

    fn set_position(&mut self, ctx: &mut Ctx, tp: Tp, offset: u64, source: PositionSource) {
        self.positions.insert(tp, offset);
        self.resolving.remove(&tp);
        self.validating.remove(&tp);
        self.position_epochs.remove(&tp);
        if let Some(state) = ctx.cluster.state(tp) {
            self.checked_epochs.insert(tp, state.leader_epoch);
        }
        self.event(
            ctx,
            GroupEvent::PositionSet {
                member: self.id.member,
                tp,
                offset,
                source,
            },
        );
        self.wake_if_polling(ctx);
    }

    fn wake_if_polling(&mut self, ctx: &mut Ctx) {
        if self.status.alive() && self.app == AppState::Polling {
            self.timer(ctx, ctx.now_ms, ConsumerTimerKind::App);
        }
    }

    // ---- the application thread -------------------------------------------------------

    fn app_step(&mut self, ctx: &mut Ctx) {
        match self.app {
            AppState::Processing => self.process_next(ctx),
            AppState::Committing => self.commit_tick(ctx),
            AppState::Polling => self.poll(ctx),
        }
    }

    /// One iteration of `poll()`: the coordinator's work, then records from the fetcher.
    fn poll(&mut self, ctx: &mut Ctx) {
        self.last_poll_ms = ctx.now_ms;
        if self.poll_timer_at.is_none() {
            // One timer at a time: when it fires early it re-arms at the current deadline.
            let deadline = ctx.now_ms.saturating_add(self.config.max_poll_interval_ms);
            self.poll_timer_at = Some(deadline);
            self.timer(ctx, deadline, ConsumerTimerKind::PollTimeout);
        }
        if self.closing {
            self.close(ctx);
            return;
        }
        // ClassicKafkaConsumer `poll`: the coordinator's result does not stop the fetch;
        // without a coordinator only the position lookups wait (`updateFetchPositions`).
        if self.coordinator_poll(ctx) {
            self.update_positions(ctx);
        }
        if self.assigned.is_empty() {
            // Still joining with nothing to fetch: poll again later (each poll resets the
            // poll timer, as the real poll loop does while it waits).
            self.timer(
                ctx,
                ctx.now_ms + APP_POLL_TIMEOUT_MS,
                ConsumerTimerKind::App,
            );
            return;
        }
        let records = self.collect_fetch();
        self.send_fetch(ctx);
        if records.is_empty() {
            let mut next = ctx.now_ms + APP_POLL_TIMEOUT_MS;
            if self.config.enable_auto_commit && self.member_state == MemberState::Stable {
                next = next.min(self.next_auto_commit_ms.max(ctx.now_ms + 1));
            }
            self.timer(ctx, next, ConsumerTimerKind::App);
            return;
        }
        self.polled(ctx, records);
    }

    /// ConsumerCoordinator `poll`: find the coordinator, (re)join without blocking the
    /// fetch, auto-commit when due. Returns false while the coordinator is unknown.
    fn coordinator_poll(&mut self, ctx: &mut Ctx) -> bool {
        // The assignment a SyncGroup response brought is applied here, in the application
        // thread, between batches (AbstractCoordinator `joinGroupIfNeeded`).
        if let Some(assignment) = self.pending_assignment.take() {
            self.join_complete(ctx, assignment);
        }
        // A JoinGroup (or another group request) unanswered past its timeout: the
        // connection is dropped and the coordinator looked up again.
        if self.member_state == MemberState::PreparingRebalance {
            self.request_timed_out(ctx);
        }
        if self.coordinator.is_none() {
            self.lookup_coordinator(ctx);
            return false;
        }
        if self.rejoin_needed && self.member_state != MemberState::PreparingRebalance {
            if self.member_state != MemberState::CompletingRebalance {
                self.join_prepare(ctx);
                self.send_join(ctx);
            }
        } else if self.member_state == MemberState::Stable {
            self.maybe_auto_commit(ctx);
        }
        true
    }

    /// AbstractCoordinator `lookupCoordinator`: FindCoordinator to a live broker (the next
    /// one after a failure), one at a time.
    fn lookup_coordinator(&mut self, ctx: &mut Ctx) {
        if self.coordinator.is_some() {
            return;
        }
        if self.find_in_flight {
            // An unanswered FindCoordinator fails after request.timeout.ms; ask the next.
            if ctx.now_ms < self.find_sent_ms.saturating_add(REQUEST_TIMEOUT_MS) {
                return;
            }
            self.bootstrap_cursor = self.bootstrap_cursor.wrapping_add(1);
        }
        self.find_in_flight = true;
        self.find_sent_ms = ctx.now_ms;
        let n = ctx.cluster.broker_count().max(1);
        let bootstrap = (0..n)
            .map(|i| BrokerId(((self.bootstrap_cursor as usize + i) % n) as u16))
            .find(|&b| ctx.cluster.is_live(b))
            .unwrap_or(BrokerId(0));
        self.find_target = Some(bootstrap);
        self.send(
            ctx,
            bootstrap,
            Msg::FindCoordinator {
                group: self.id.group,
            },
        );
    }

    /// Records from the fetch buffer, up to `max.poll.records` (FetchCollector
    /// `collectFetch`). A partition's chunk is handed out over consecutive polls; once
    /// drained, the partition moves to the end of the fetch order (CompletedFetch `drain`).
    fn collect_fetch(&mut self) -> Vec<Chunk> {
        let mut remaining = self.config.max_poll_records as usize;
        let mut out = Vec::new();
        while remaining > 0 {
            let Some(front) = self.buffer.front_mut() else {
                break;
            };
            let tp = front.tp;
            let current = self.positions.get(&tp).copied();
            if current != Some(front.next_offset) || self.validating.contains_key(&tp) {
                self.buffer.pop_front(); // stale: revoked, sought, reset or validating since
                continue;
            }
            let taken = front.split_front(remaining);
            remaining -= taken.len();
            if let Some(epoch) = front.epoch_of(front.next_offset - 1) {
                self.position_epochs.insert(tp, epoch);
            }
            out.push(taken);
            self.positions.insert(tp, front.next_offset);
            if front.is_empty() {
                self.buffer.pop_front();
                if let Some(i) = self.assigned.iter().position(|&p| p == tp) {
                    let p = self.assigned.remove(i);
                    self.assigned.push(p);
                }
            }
        }
        out
    }

    fn polled(&mut self, ctx: &mut Ctx, records: Vec<Chunk>) {
        let ranges: Vec<(Tp, u64, u64)> = records
            .iter()
            .map(|c| (c.tp, c.next_offset, c.next_offset + c.len() as u64))
            .collect();
        self.event(
            ctx,
            GroupEvent::Polled {
                member: self.id.member,
                ranges: ranges.clone(),
            },
        );
        self.batch.extend(records);
        self.app = AppState::Processing;
        if self.config.manual_commit == ManualCommit::BeforeProcessing {
            let offsets = ranges.iter().map(|&(tp, _, end)| (tp, end)).collect();
            if self.commit_offsets(ctx, offsets, false, Some(AfterCommit::Process)) {
                return;
            }
        }
        self.schedule_processing(ctx);
    }

    fn schedule_processing(&mut self, ctx: &mut Ctx) {
        self.app = AppState::Processing;
        match self.processing_ms() {
            0 => self.process_next(ctx),
            ms => self.timer(ctx, ctx.now_ms.saturating_add(ms), ConsumerTimerKind::App),
        }
    }

    /// Completes the next record (or, with no processing time, the whole batch).
    fn process_next(&mut self, ctx: &mut Ctx) {
        if self.processing_ms() == 0 && self.config.manual_commit != ManualCommit::AfterEachRecord {
            self.process_batch(ctx);
            return;
        }
        let take = if self.processing_ms() == 0 {
            usize::MAX
        } else {
            1
        };
        let mut run: Option<(Tp, u64, u64)> = None;
        for _ in 0..take {
            let Some((tp, offset, record)) = self.pop_record() else {
                break;
            };
            if record.poison {
                self.poisoned(ctx, run, tp, offset);
                return;
            }
            run = self.extend_processed(ctx, run, tp, offset, offset + 1);
            if self.config.manual_commit == ManualCommit::AfterEachRecord {
                self.flush_processed(ctx, run.take());
                let offsets = vec![(tp, offset + 1)];
                if self.commit_offsets(ctx, offsets, false, Some(AfterCommit::Continue)) {
                    return;
                }
            }
        }
        self.flush_processed(ctx, run);
        self.after_record(ctx);
    }

    /// With no processing time and no commit per record, the whole batch completes at once:
    /// the same runs, events and crash as the record-by-record loop above, found a chunk at
    /// a time (a scan for the first poison record) instead of one record at a time.
    fn process_batch(&mut self, ctx: &mut Ctx) {
        let mut run: Option<(Tp, u64, u64)> = None;
        while let Some(front) = self.batch.front_mut() {
            if front.is_empty() {
                self.batch.pop_front();
                continue;
            }
            let tp = front.tp;
            let from = front.next_offset;
            let rest = front.end - front.next;
            let clean = front
                .records
                .slices(front.next, front.end)
                .flatten()
                .position(|r| r.poison)
                .unwrap_or(rest);
            let poison = clean < rest;
            // The poison record is taken off the batch too, as `pop_record` would.
            let taken = clean + usize::from(poison);
            front.next += taken;
            front.next_offset += taken as u64;
            if clean > 0 {
                run = self.extend_processed(ctx, run, tp, from, from + clean as u64);
            }
            if poison {
                self.poisoned(ctx, run, tp, from + clean as u64);
                return;
            }
        }
        self.flush_processed(ctx, run);
        self.after_record(ctx);
    }

    /// Adds `from..to` of `tp` to the processed run: one run while the offsets follow on,
    /// else the run so far is reported and a new one starts.
    fn extend_processed(
        &mut self,
        ctx: &mut Ctx,
        run: Option<(Tp, u64, u64)>,
        tp: Tp,
        from: u64,
        to: u64,
    ) -> Option<(Tp, u64, u64)> {
        match run {
            Some((t, first, end)) if t == tp && end == from => Some((t, first, to)),
            other => {
                self.flush_processed(ctx, other);
                Some((tp, from, to))
            }
        }
    }

    /// Processing the record at `offset` threw: what was processed before it is reported,
    /// then the consumer crashes on it.
    fn poisoned(&mut self, ctx: &mut Ctx, run: Option<(Tp, u64, u64)>, tp: Tp, offset: u64) {
        self.flush_processed(ctx, run);
        self.event(
            ctx,
            GroupEvent::ProcessingFailed {
                member: self.id.member,
                tp,
                offset,
            },
        );
        self.crash(ctx, CrashReason::Poison { tp, offset });
    }

    fn pop_record(&mut self) -> Option<(Tp, u64, LogRecord)> {
        loop {
            let front = self.batch.front_mut()?;
            if let Some((o, r)) = front.pop() {
                return Some((front.tp, o, r));
            }
            self.batch.pop_front();
        }
    }

    fn flush_processed(&mut self, ctx: &mut Ctx, run: Option<(Tp, u64, u64)>) {
        if let Some((tp, from, to)) = run {
            self.processed.insert(tp, to);
            self.event(
                ctx,
                GroupEvent::Processed {
                    member: self.id.member,
                    generation: self.generation,
                    tp,
                    from,
                    to,
                },
            );
        }
    }

    /// After a record: the next one, or (batch done) the after-batch commit, then poll.
    fn after_record(&mut self, ctx: &mut Ctx) {
        if self.in_hand() > 0 {
            let at = ctx.now_ms.saturating_add(self.processing_ms());
            self.timer(ctx, at, ConsumerTimerKind::App);
            return;
        }
        if self.config.manual_commit == ManualCommit::AfterBatch {
            let offsets: Vec<PartitionOffset> = self
                .processed
                .iter()
                .filter(|(tp, _)| self.assigned.contains(tp))
                .map(|(&tp, &o)| (tp, o))
                .collect();
            self.processed.clear();
            if !offsets.is_empty()
                && self.commit_offsets(ctx, offsets, false, Some(AfterCommit::Continue))
            {
                return;
            }
        }
        self.app = AppState::Polling;
        self.timer(ctx, ctx.now_ms, ConsumerTimerKind::App);
    }

    // ---- offsets ----------------------------------------------------------------------

    /// `subscriptions.allConsumed()`: the position of every owned partition.
    fn consumed_offsets(&self) -> Vec<PartitionOffset> {
        self.assigned
            .iter()
            .filter_map(|tp| self.positions.get(tp).map(|&o| (*tp, o)))
            .collect()
    }

    /// Auto-commit at the start of poll once the interval has passed: it commits what
    /// earlier polls returned (ConsumerCoordinator `maybeAutoCommitOffsetsAsync`).
    fn maybe_auto_commit(&mut self, ctx: &mut Ctx) {
        if !self.config.enable_auto_commit || ctx.now_ms < self.next_auto_commit_ms {
            return;
        }
        self.next_auto_commit_ms = ctx.now_ms + self.config.auto_commit_interval_ms;
        let offsets = self.consumed_offsets();
        if !offsets.is_empty() && self.commit.is_none() {
            self.commit_offsets(ctx, offsets, true, None);
        }
    }

    /// The application's continuation once a `commitSync` returned (or threw).
    fn after_commit(&mut self, ctx: &mut Ctx, then: Option<AfterCommit>) {
        match then {
            None => {}
            Some(AfterCommit::Process) => self.schedule_processing(ctx),
            Some(AfterCommit::Continue) => {
                self.app = AppState::Processing;
                self.after_record(ctx);
            }
            Some(AfterCommit::Close) => self.finish_close(ctx),
        }
    }

    /// Sends the pending commit, or (no coordinator) looks for one first: `commitSync`
    /// waits in `ensureCoordinatorReady`. The application timer wakes it to try again.
    fn send_commit(&mut self, ctx: &mut Ctx) {
        let Some(coordinator) = self.coordinator else {
            self.lookup_coordinator(ctx);
            if let Some(deadline) = self.commit.as_ref().and_then(|c| c.deadline_ms) {
                let at = (ctx.now_ms + RETRY_BACKOFF_MS).min(deadline);
                self.timer(ctx, at, ConsumerTimerKind::App);
            }
            return;
        };
        let Some(c) = self.commit.as_mut() else {
            return;
        };
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        c.request_id = Some(request_id);
        let msg = Msg::OffsetCommit {
            group: self.id.group,
            request_id,
            generation: c.generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            offsets: c.offsets.clone(),
            leader_epochs: Vec::new(),
            auto: c.auto,
        };
        let deadline = c.deadline_ms;
        let msg = match msg {
            Msg::OffsetCommit {
                group,
                request_id,
                generation,
                member_id,
                group_instance_id,
                offsets,
                auto,
                ..
            } => Msg::OffsetCommit {
                leader_epochs: offsets
                    .iter()
                    .map(|(tp, _)| self.position_epochs.get(tp).copied())
                    .collect(),
                group,
                request_id,
                generation,
                member_id,
                group_instance_id,
                offsets,
                auto,
            },
            other => other,
        };
        self.send(ctx, coordinator, msg);
        if let Some(deadline) = deadline {
            // The sync commit's timer runs out even if no answer comes.
            self.timer(ctx, deadline, ConsumerTimerKind::App);
        }
    }

    /// The application thread, blocked in `commitSync`, wakes: after a backoff it tries
    /// again; past `default.api.timeout.ms` the call throws TimeoutException.
    fn commit_tick(&mut self, ctx: &mut Ctx) {
        let Some(c) = self.commit.as_ref() else {
            return;
        };
        if c.deadline_ms.is_some_and(|d| ctx.now_ms >= d) {
            let c = self.commit.take().expect("checked above");
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets: c.offsets,
                    error: CommitError::Timeout,
                },
            );
            self.after_commit(ctx, c.then);
        } else if c.request_id.is_none() && ctx.now_ms >= c.next_try_ms {
            self.send_commit(ctx);
        }
    }

    /// A retriable failure (`RetriableException`): `commitSync` sleeps its exponential
    /// backoff and tries again while its timer lasts; an auto-commit tries again after
    /// `retry.backoff.ms` (ConsumerCoordinator `commitOffsetsSync`,
    /// `autoCommitOffsetsAsync`).
    fn retry_commit(&mut self, ctx: &mut Ctx, mut c: PendingCommit, error: KafkaError) {
        let wait = match c.deadline_ms {
            Some(deadline) => {
                commit_backoff_ms(c.attempts).min(deadline.saturating_sub(ctx.now_ms))
            }
            None => RETRY_BACKOFF_MS,
        };
        self.event(
            ctx,
            GroupEvent::CommitRetriable {
                member: self.id.member,
                error: error.name(),
                retry_in_ms: wait,
            },
        );
        if c.deadline_ms.is_none() {
            if c.auto {
                self.next_auto_commit_ms = ctx.now_ms + RETRY_BACKOFF_MS;
            }
            return;
        }
        c.attempts += 1;
        c.request_id = None;
        c.next_try_ms = ctx.now_ms + wait;
        self.commit = Some(c);
        self.timer(ctx, ctx.now_ms + wait, ConsumerTimerKind::App);
    }

    /// Sends an OffsetCommit, or fails at once when the client is not in a stable
    /// generation (ConsumerCoordinator `sendOffsetCommitRequest`). `then` is the
    /// application's continuation for a `commitSync` (None: async). Returns true when the
    /// application must wait for the response.
    fn commit_offsets(
        &mut self,
        ctx: &mut Ctx,
        offsets: Vec<PartitionOffset>,
        auto: bool,
        then: Option<AfterCommit>,
    ) -> bool {
        if self.member_state != MemberState::Stable {
            let error = if matches!(
                self.member_state,
                MemberState::PreparingRebalance | MemberState::CompletingRebalance
            ) {
                CommitError::RebalanceInProgress
            } else {
                CommitError::CommitFailed
            };
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets,
                    error,
                },
            );
            return false;
        }
        if then.is_none() && self.coordinator.is_none() {
            return false; // an async commit is not attempted while the coordinator is unknown
        }
        let timeout = match then {
            Some(AfterCommit::Close) => Some(CLOSE_TIMEOUT_MS),
            Some(_) => Some(DEFAULT_API_TIMEOUT_MS),
            None => None,
        };
        self.commit = Some(PendingCommit {
            request_id: None,
            offsets,
            auto,
            then,
            generation: self.generation,
            deadline_ms: timeout.map(|t| ctx.now_ms.saturating_add(t)),
            attempts: 0,
            next_try_ms: 0,
        });
        if then.is_some() {
            self.app = AppState::Committing;
        }
        self.send_commit(ctx);
        then.is_some()
    }

    /// ConsumerCoordinator `OffsetCommitResponseHandler`: retriable errors are tried again;
    /// CommitFailedException only when the member is out of the generation.
    fn on_commit_response(&mut self, ctx: &mut Ctx, request_id: u64, error: KafkaError) {
        let Some(pending) = self.commit.take_if(|c| c.request_id == Some(request_id)) else {
            return;
        };
        if matches!(
            error,
            KafkaError::CoordinatorNotAvailable
                | KafkaError::NotCoordinator
                | KafkaError::RequestTimedOut
                | KafkaError::UnknownTopicOrPartition
        ) {
            if error != KafkaError::UnknownTopicOrPartition {
                self.coordinator_unknown(ctx);
            }
            self.retry_commit(ctx, pending, error);
            return;
        }
        if error != KafkaError::None {
            let superseded = pending.generation != self.generation
                && self.member_state == MemberState::PreparingRebalance;
            let raised = match error {
                KafkaError::RebalanceInProgress => {
                    self.rejoin_needed = true;
                    CommitError::RebalanceInProgress
                }
                KafkaError::FencedInstanceId if pending.generation == self.generation => {
                    CommitError::FencedInstanceId
                }
                KafkaError::UnknownMemberId
                | KafkaError::IllegalGeneration
                | KafkaError::FencedInstanceId
                    if superseded =>
                {
                    CommitError::RebalanceInProgress
                }
                KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => {
                    self.reset_generation(error == KafkaError::UnknownMemberId);
                    CommitError::CommitFailed
                }
                _ => CommitError::CommitFailed,
            };
            self.event(
                ctx,
                GroupEvent::CommitRejected {
                    member: self.id.member,
                    offsets: pending.offsets,
                    error: raised,
                },
            );
            if raised == CommitError::FencedInstanceId {
                self.fail(ctx, "FencedInstanceIdException".into());
                return;
            }
        }
        self.after_commit(ctx, pending.then);
    }

    /// Looks up positions for owned partitions that have none: OffsetFetch, then
    /// `auto.offset.reset` (ClassicKafkaConsumer `updateFetchPositions`).
    fn update_positions(&mut self, ctx: &mut Ctx) {
        self.send_resets(ctx);
        self.send_validations(ctx);
        let missing: Vec<Tp> = self
            .assigned
            .iter()
            .copied()
            .filter(|tp| !self.positions.contains_key(tp) && !self.resolving.contains_key(tp))
            .collect();
        if missing.is_empty() || self.offsets_in_flight {
            return;
        }
        let Some(coordinator) = self.coordinator else {
            return;
        };
        for &tp in &missing {
            self.resolving.insert(tp, Resolve::committed());
        }
        self.offsets_in_flight = true;
        self.next_request_id += 1;
        let msg = Msg::OffsetFetch {
            group: self.id.group,
            request_id: self.next_request_id,
            partitions: missing,
        };
        self.send(ctx, coordinator, msg);
    }

    fn on_offset_fetch(&mut self, ctx: &mut Ctx, offsets: Vec<(Tp, Option<CommittedAt>)>) {
        self.offsets_in_flight = false;
        let mut resets = Vec::new();
        for (tp, committed) in offsets {
            let waiting = self.resolving.get(&tp).is_some_and(|r| r.source.is_none());
            if !self.assigned.contains(&tp) || !waiting {
                continue;
            }
            match committed {
                Some((o, epoch)) => {
                    self.set_position(ctx, tp, o, PositionSource::Committed);
                    // `seekUnvalidated`: a committed offset with its leader epoch is checked
                    // against the current leader before the first fetch (KIP-320).
                    if let Some(epoch) = epoch {
                        self.position_epochs.insert(tp, epoch);
                        self.validate(tp, o, epoch);
                    }
                }
                None => resets.push(tp),
            }
        }
        if resets.is_empty() {
            return;
        }
        let policy = self.config.auto_offset_reset;
        let spec = match policy {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::None => {
                let tp = resets[0];
                self.fail(
                    ctx,
                    format!(
                        "NoOffsetForPartitionException: no committed offset for p{} and auto.offset.reset=none",
                        tp.p()
                    ),
                );
                return;
            }
        };
        self.request_reset(ctx, resets, PositionSource::Reset(policy), spec);
    }

    /// KIP-320, `validatePositionsOnMetadataChange`: a partition whose leader epoch changed
    /// since its position was checked is validated before it is fetched again, if the
    /// position's own epoch is known (otherwise it is taken as it is).
    fn check_leader_epochs(&mut self, ctx: &mut Ctx) {
        let changed: Vec<(Tp, u64, u32)> = self
            .positions
            .iter()
            .filter(|(tp, _)| !self.validating.contains_key(tp))
            .filter_map(|(&tp, &offset)| {
                let current = ctx.cluster.state(tp)?.leader_epoch;
                (self.checked_epochs.get(&tp) != Some(&current)).then_some((tp, offset, current))
            })
            .collect();
        for (tp, offset, current) in changed {
            match self.position_epochs.get(&tp).copied() {
                Some(epoch) => self.validate(tp, offset, epoch),
                None => {
                    self.checked_epochs.insert(tp, current);
                }
            }
        }
        self.send_validations(ctx);
    }

    /// AWAIT_VALIDATION: the partition is not fetched until the leader answered.
    fn validate(&mut self, tp: Tp, offset: u64, epoch: u32) {
        self.buffer.retain(|c| c.tp != tp);
        self.validating.insert(
            tp,
            Validation {
                offset,
                epoch,
                sent_to: None,
                next_try_ms: 0,
            },
        );
    }

    /// OffsetFetcher `validatePositionsAsync`: one OffsetsForLeaderEpoch per leader.
    fn send_validations(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let mut by_leader: BTreeMap<BrokerId, Vec<(Tp, u32, u32)>> = BTreeMap::new();
        for (&tp, v) in &self.validating {
            let Some(state) = ctx.cluster.state(tp) else {
                continue;
            };
            // Unanswered for request.timeout.ms (next_try_ms), or failed: sent again.
            if let (Some(leader), true) = (state.leader, v.next_try_ms <= now) {
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp, v.epoch, state.leader_epoch));
            }
        }
        for (leader, partitions) in by_leader {
            for (tp, _, _) in &partitions {
                if let Some(v) = self.validating.get_mut(tp) {
                    v.sent_to = Some(leader);
                    v.next_try_ms = now + REQUEST_TIMEOUT_MS;
                }
            }
            self.next_request_id += 1;
            let msg = Msg::OffsetsForLeaderEpoch {
                request_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    /// `SubscriptionState.maybeCompleteValidation`: a position past where the leader's
    /// log ends for its epoch was truncated away: the consumer moves to the first offset
    /// known to diverge (any reset policy but `none`), or throws LogTruncationException.
    fn on_offsets_for_leader_epoch(
        &mut self,
        ctx: &mut Ctx,
        partitions: Vec<(Tp, KafkaError, Option<EpochEnd>)>,
    ) {
        for (tp, error, end) in partitions {
            let Some(v) = self
                .validating
                .get(&tp)
                .copied()
                .filter(|v| v.sent_to.is_some())
            else {
                continue;
            };
            if self.positions.get(&tp) != Some(&v.offset) {
                self.validating.remove(&tp);
                continue;
            }
            if error != KafkaError::None {
                if let Some(v) = self.validating.get_mut(&tp) {
                    v.sent_to = None;
                    v.next_try_ms = ctx.now_ms + RETRY_BACKOFF_MS;
                }
                continue;
            }
            let policy = self.config.auto_offset_reset;
            match end {
                Some((epoch, end_offset)) if end_offset >= v.offset => {
                    let _ = epoch;
                    self.validating.remove(&tp);
                    if let Some(state) = ctx.cluster.state(tp) {
                        self.checked_epochs.insert(tp, state.leader_epoch);
                    }
                }
                _ if policy == AutoOffsetReset::None => {
                    self.fail(
                        ctx,
                        format!(
                            "LogTruncationException: p{} was truncated below offset {} after a leader change",
                            tp.p(),
                            v.offset
                        ),
                    );
                    return;
                }
                Some((epoch, end_offset)) => {
                    self.set_position(ctx, tp, end_offset, PositionSource::Truncation);
                    self.position_epochs.insert(tp, epoch);
                }
                None => {
                    // The leader knows no such epoch: a reset by the policy.
                    self.validating.remove(&tp);
                    let spec = match policy {
                        AutoOffsetReset::Latest => OffsetSpec::Latest,
                        _ => OffsetSpec::Earliest,
                    };
                    self.request_reset(ctx, vec![tp], PositionSource::Reset(policy), spec);
                }
            }
        }
        self.wake_if_polling(ctx);
    }

    /// Puts partitions in AWAIT_RESET (`requestOffsetReset`) and sends what can go now.
    fn request_reset(
        &mut self,
        ctx: &mut Ctx,
        tps: Vec<Tp>,
        source: PositionSource,
        spec: OffsetSpec,
    ) {
        for tp in tps {
            self.positions.remove(&tp);
            self.resolving.insert(tp, Resolve::reset(source, spec));
        }
        self.send_resets(ctx);
    }

    /// OffsetFetcher `resetPositionsAsync`: one ListOffsets per leader for the partitions
    /// awaiting a reset whose retry time has come (`request.timeout.ms` after a request, so
    /// a lost one is sent again); a partition without a leader waits for the next poll.
    fn send_resets(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let mut by_leader: BTreeMap<BrokerId, Vec<(Tp, OffsetSpec)>> = BTreeMap::new();
        for (&tp, r) in &self.resolving {
            let (Some(spec), Some(leader)) = (r.spec, ctx.cluster.leader(tp)) else {
                continue;
            };
            if r.next_try_ms <= now {
                by_leader.entry(leader).or_default().push((tp, spec));
            }
        }
        for (leader, partitions) in by_leader {
            for (tp, _) in &partitions {
                if let Some(r) = self.resolving.get_mut(tp) {
                    r.sent_to = Some(leader);
                    r.next_try_ms = now + REQUEST_TIMEOUT_MS;
                }
            }
            self.next_request_id += 1;
            let msg = Msg::ListOffsets {
                request_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    fn on_list_offsets(&mut self, ctx: &mut Ctx, offsets: Vec<(Tp, OffsetSpec, Option<u64>)>) {
        for (tp, _, offset) in offsets {
            let Some(r) = self.resolving.get_mut(&tp) else {
                continue;
            };
            let Some(source) = r.source.filter(|_| r.sent_to.is_some()) else {
                continue;
            };
            match offset {
                Some(o) if self.assigned.contains(&tp) => self.set_position(ctx, tp, o, source),
                Some(_) => {
                    self.resolving.remove(&tp);
                }
                None => {
                    // NOT_LEADER_OR_FOLLOWER and the like: try again after a backoff.
                    r.sent_to = None;
                    r.next_try_ms = ctx.now_ms + RETRY_BACKOFF_MS;
                }
            }
        }
    }

    // ---- the fetcher ------------------------------------------------------------------

    /// Sends a fetch to each leader of owned partitions with a position and no buffered
    /// records, unless one is in flight to it or it is backing off after an error.
    fn send_fetch(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        // NetworkClient `handleTimedOutRequests`: a fetch unanswered for request.timeout.ms
        // fails (a message lost on a cut link is found out this way) and is sent again.
        let timed_out: Vec<BrokerId> = self
            .fetch_in_flight
            .iter()
            .filter(|(_, &(_, sent))| now >= sent.saturating_add(REQUEST_TIMEOUT_MS))
            .map(|(&b, _)| b)
            .collect();
        for b in timed_out {
            self.request_failed(ctx, b, true);
        }
        self.fetch_backoff_until.retain(|_, until| *until > now);
        self.check_leader_epochs(ctx);
        let mut by_leader: BTreeMap<BrokerId, Vec<(Tp, u64)>> = BTreeMap::new();
        for tp in &self.assigned {
            if self.buffer.iter().any(|f| f.tp == *tp) || self.validating.contains_key(tp) {
                continue;
            }
            let (Some(&offset), Some(leader)) = (self.positions.get(tp), ctx.cluster.leader(*tp))
            else {
                continue;
            };
            if self.fetch_in_flight.contains_key(&leader)
                || self.fetch_backoff_until.contains_key(&leader)
            {
                continue;
            }
            by_leader.entry(leader).or_default().push((*tp, offset));
        }
        for (leader, partitions) in by_leader {
            self.next_request_id += 1;
            self.fetch_in_flight
                .insert(leader, (self.next_request_id, now));
            let msg = Msg::Fetch {
                fetch_id: self.next_request_id,
                partitions,
            };
            ctx.out.send(self.node(), NodeId::Broker(leader), msg);
        }
    }

    fn on_fetch_response(&mut self, ctx: &mut Ctx, fetch_id: u64, parts: Vec<FetchedPartition>) {
        let Some(leader) = self
            .fetch_in_flight
            .iter()
            .find(|(_, &(id, _))| id == fetch_id)
            .map(|(&b, _)| b)
        else {
            return;
        };
        self.fetch_in_flight.remove(&leader);
        for part in parts {
            let tp = part.tp;
            if !self.assigned.contains(&tp) || self.positions.get(&tp) != Some(&part.fetch_offset) {
                continue; // revoked or moved since the fetch was sent
            }
            match part.error {
                KafkaError::None if !part.records.is_empty() => {
                    let end = part.records.len();
                    self.buffer.push_back(Chunk {
                        tp,
                        next_offset: part.fetch_offset,
                        records: part.records,
                        next: 0,
                        end,
                        epochs: part.epochs.into(),
                    });
                }
                KafkaError::OffsetOutOfRange if self.out_of_range(ctx, tp) => return,
                // The leader moved or is down: refresh metadata, back off, fetch again.
                KafkaError::NotLeaderOrFollower | KafkaError::NetworkException => {
                    let until = ctx.now_ms + RETRY_BACKOFF_MS;
                    self.fetch_backoff_until.insert(leader, until);
                }
                _ => {}
            }
        }
        self.wake_if_polling(ctx);
    }

    /// The broker went down: the fetch in flight to it is gone (back off before the
    /// next); if it was the coordinator, or the broker asked for it, look it up again.
    pub fn broker_down(&mut self, ctx: &mut Ctx, broker: BrokerId) {
        self.request_failed(ctx, broker, false);
        if self.find_target == Some(broker) {
            self.find_in_flight = false;
            self.find_target = None;
            self.bootstrap_cursor = self.bootstrap_cursor.wrapping_add(1);
        }
        if self.coordinator == Some(broker) {
            self.coordinator_unknown(ctx);
        }
    }

    /// The connection to `broker` failed (refused, or a request timed out): the fetch and
    /// the ListOffsets in flight on it fail and are sent again after a backoff
    /// (`handleFetchFailure`, `onFailedResponseForResettingPositions`).
    fn request_failed(&mut self, ctx: &mut Ctx, broker: BrokerId, timed_out: bool) {
        let now = ctx.now_ms;
        let mut failed = Vec::new();
        if self.fetch_in_flight.remove(&broker).is_some() {
            self.fetch_backoff_until
                .insert(broker, now + RETRY_BACKOFF_MS);
            failed.push("Fetch");
        }
        let mut resets = false;
        for r in self.resolving.values_mut() {
            if r.sent_to == Some(broker) {
                r.sent_to = None;
                r.next_try_ms = now + RETRY_BACKOFF_MS;
                resets = true;
            }
        }
        for v in self.validating.values_mut() {
            if v.sent_to == Some(broker) {
                v.sent_to = None;
                v.next_try_ms = now + RETRY_BACKOFF_MS;
            }
        }
        if resets {
            failed.push("ListOffsets");
        }
        for request in failed {
            self.event(
                ctx,
                GroupEvent::RequestFailed {
                    member: self.id.member,
                    broker,
                    request,
                    timed_out,
                },
            );
        }
    }

    /// OFFSET_OUT_OF_RANGE: `auto.offset.reset` applies, or (none) the consumer throws
    /// OffsetOutOfRangeException (FetchCollector `handleInitializeErrors`). Returns true
    /// when the consumer failed.
    fn out_of_range(&mut self, ctx: &mut Ctx, tp: Tp) -> bool {
        let policy = self.config.auto_offset_reset;
        let spec = match policy {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::None => {
                let offset = self.positions.get(&tp).copied().unwrap_or(0);
                self.fail(
                    ctx,
                    format!(
                        "OffsetOutOfRangeException: offset {offset} of p{} is out of range and auto.offset.reset=none",
                        tp.p()
                    ),
                );
                return true;
            }
        };
        self.request_reset(ctx, vec![tp], PositionSource::OutOfRange(policy), spec);
        false
    }

    // ---- the group protocol -----------------------------------------------------------

    /// ConsumerCoordinator `onJoinPrepare`: auto-commit, then give partitions up: all of
    /// them as lost when the generation was reset, all under eager, none under cooperative.
    fn join_prepare(&mut self, ctx: &mut Ctx) {
        if !self.needs_join_prepare {
            return;
        }
        self.needs_join_prepare = false;
        if self.config.enable_auto_commit
            && self.member_state == MemberState::Stable
            && self.commit.is_none()
        {
            let offsets = self.consumed_offsets();
            if !offsets.is_empty() {
                // Sent before the JoinGroup on the same connection, so it is handled first.
                self.commit_offsets(ctx, offsets, true, None);
            }
        }
        let member = self.id.member;
        if self.generation < 0 || self.member_id.is_empty() {
            if !self.assigned.is_empty() {
                let partitions = std::mem::take(&mut self.assigned);
                self.event(ctx, GroupEvent::Lost { member, partitions });
                self.drop_partition_state();
            }
        } else if self.protocol() == Protocol::Eager && !self.assigned.is_empty() {
            let partitions = std::mem::take(&mut self.assigned);
            self.event(ctx, GroupEvent::Revoked { member, partitions });
            self.drop_partition_state();
        }
    }

    fn drop_partition_state(&mut self) {
        let owned = &self.assigned;
        self.positions.retain(|tp, _| owned.contains(tp));
        self.resolving.retain(|tp, _| owned.contains(tp));
        self.position_epochs.retain(|tp, _| owned.contains(tp));
        self.checked_epochs.retain(|tp, _| owned.contains(tp));
        self.validating.retain(|tp, _| owned.contains(tp));
        self.buffer.retain(|f| owned.contains(&f.tp));
        self.processed.retain(|tp, _| owned.contains(tp));
    }

    fn send_join(&mut self, ctx: &mut Ctx) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        self.member_state = MemberState::PreparingRebalance;
        self.next_heartbeat_ms = None;
        let cooperative = self.protocol() == Protocol::Cooperative;
        let metadata = MemberMetadata {
            topics: self.topics.clone(),
            owned: if cooperative {
                self.assigned.clone()
            } else {
                Vec::new()
            },
            generation: self.generation,
            sticky_user_data: self
                .config
                .partition_assignment_strategy
                .contains(&Strategy::Sticky)
                .then(|| self.sticky_user_data.clone())
                .flatten(),
        };
        let msg = Msg::JoinGroup {
            group: self.id.group,
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            protocols: self.config.partition_assignment_strategy.clone(),
            metadata,
        };
        self.send(ctx, coordinator, msg);
    }

    #[allow(clippy::too_many_arguments)] // the response's fields
    fn on_join_response(
        &mut self,
        ctx: &mut Ctx,
        error: KafkaError,
        generation: i32,
        protocol: Option<Strategy>,
        leader: String,
        member_id: String,
        members: Vec<JoinedMember>,
        skip_assignment: bool,
    ) {
        if self.member_state != MemberState::PreparingRebalance {
            return;
        }
        self.coordinator_requests.remove(&GroupRequest::Join);
        match error {
            KafkaError::None => {}
            KafkaError::NotCoordinator => {
                self.coordinator_unknown(ctx);
                return;
            }
            KafkaError::MemberIdRequired => {
                self.member_id = member_id;
                self.send_join(ctx);
                return;
            }
            KafkaError::FencedInstanceId => {
                self.fail(ctx, "FencedInstanceIdException".into());
                return;
            }
            KafkaError::UnknownMemberId => {
                self.member_id.clear();
                self.generation = -1;
                self.send_join(ctx);
                return;
            }
            _ => {
                self.member_state = MemberState::Unjoined;
                self.coordinator = None;
                return;
            }
        }
        self.generation = generation;
        self.member_id = member_id.clone();
        self.is_leader = leader == member_id;
        self.member_state = MemberState::CompletingRebalance;
        let assignments = if self.is_leader && !skip_assignment {
            leader_assignment(ctx, protocol, &members)
        } else {
            Vec::new()
        };
        let msg = Msg::SyncGroup {
            group: self.id.group,
            generation,
            member_id,
            group_instance_id: self.group_instance_id.clone(),
            assignments,
        };
        if let Some(c) = self.coordinator {
            self.send(ctx, c, msg);
        }
        self.start_heartbeats(ctx);
    }

    fn on_sync_response(&mut self, ctx: &mut Ctx, error: KafkaError, assignment: Vec<Tp>) {
        if self.member_state != MemberState::CompletingRebalance {
            return;
        }
        self.coordinator_requests.remove(&GroupRequest::Sync);
        match error {
            KafkaError::NotCoordinator => self.coordinator_unknown(ctx),
            KafkaError::None => {
                self.member_state = MemberState::Stable;
                self.pending_assignment = Some(assignment);
                self.wake_if_polling(ctx);
            }
            KafkaError::RebalanceInProgress => {
                // Rejoin at once, without another onJoinPrepare.
                self.member_state = MemberState::Unjoined;
                self.rejoin_needed = true;
                self.send_join(ctx);
            }
            KafkaError::FencedInstanceId => self.fail(ctx, "FencedInstanceIdException".into()),
            _ => {
                self.reset_generation(error == KafkaError::UnknownMemberId);
                self.needs_join_prepare = false;
                self.send_join(ctx);
            }
        }
    }

    /// ConsumerCoordinator `onJoinComplete`: take the assignment; in cooperative mode revoke
    /// what moved away (without committing) and rejoin for the second round.
    fn join_complete(&mut self, ctx: &mut Ctx, mut assignment: Vec<Tp>) {
        sort::sort(&mut assignment);
        self.rejoin_needed = false;
        let member = self.id.member;
        let revoked: Vec<Tp> = self
            .assigned
            .iter()
            .copied()
            .filter(|tp| !assignment.contains(tp))
            .collect();
        let added: Vec<Tp> = assignment
            .iter()
            .copied()
            .filter(|tp| !self.assigned.contains(tp))
            .collect();
        if !revoked.is_empty() {
            self.assigned.retain(|tp| !revoked.contains(tp));
            self.drop_partition_state();
            self.event(
                ctx,
                GroupEvent::Revoked {
                    member,
                    partitions: revoked,
                },
            );
            self.rejoin_needed = true;
            self.needs_join_prepare = true;
        }
        self.assigned.extend(added.iter().copied());
        self.sticky_user_data = Some((assignment.clone(), self.generation));
        self.next_auto_commit_ms = ctx.now_ms + self.config.auto_commit_interval_ms;
        self.event(
            ctx,
            GroupEvent::Assigned {
                member,
                generation: self.generation,
                partitions: assignment,
                added,
            },
        );
        self.wake_if_polling(ctx);
    }

    // ---- the heartbeat thread ---------------------------------------------------------

    fn start_heartbeats(&mut self, ctx: &mut Ctx) {
        self.last_heartbeat_ok_ms = ctx.now_ms;
        self.last_heartbeat_sent_ms = ctx.now_ms;
        let next = ctx.now_ms + self.config.heartbeat_interval_ms;
        self.next_heartbeat_ms = Some(next);
        self.timer(ctx, next, ConsumerTimerKind::Heartbeat);
    }

    /// One iteration of AbstractCoordinator.HeartbeatThread: it runs only once the member
    /// has joined (CompletingRebalance or Stable), and sends a heartbeat every
    /// `heartbeat.interval.ms`, one at a time.
    fn heartbeat_tick(&mut self, ctx: &mut Ctx) {
        if !matches!(
            self.member_state,
            MemberState::CompletingRebalance | MemberState::Stable
        ) {
            self.next_heartbeat_ms = None;
            return;
        }
        let backoff = ctx.now_ms + RETRY_BACKOFF_MS;
        let session = self.config.session_timeout_ms;
        // The thread's loop: the coordinator first (the poll loop looks it up), then the
        // session, then a heartbeat when due; it keeps running through a lost coordinator.
        let next = if self.request_timed_out(ctx) {
            backoff
        } else if self.coordinator.is_none() {
            // HeartbeatThread: while the coordinator is unknown it looks for it.
            self.lookup_coordinator(ctx);
            backoff
        } else if ctx.now_ms >= self.last_heartbeat_ok_ms.saturating_add(session) {
            // Heartbeat.sessionTimeoutExpired: the coordinator is unreachable.
            self.coordinator_unknown(ctx);
            backoff
        } else if self.heartbeat_in_flight {
            backoff
        } else {
            self.heartbeat_in_flight = true;
            self.last_heartbeat_sent_ms = ctx.now_ms;
            let msg = Msg::Heartbeat {
                group: self.id.group,
                generation: self.generation,
                member_id: self.member_id.clone(),
                group_instance_id: self.group_instance_id.clone(),
            };
            if let Some(c) = self.coordinator {
                ctx.out.send(self.node(), NodeId::Broker(c), msg);
            }
            ctx.now_ms + self.config.heartbeat_interval_ms
        };
        self.next_heartbeat_ms = Some(next);
        self.timer(ctx, next, ConsumerTimerKind::Heartbeat);
    }

    fn on_heartbeat_response(&mut self, ctx: &mut Ctx, error: KafkaError) {
        self.heartbeat_in_flight = false;
        match error {
            KafkaError::None => self.last_heartbeat_ok_ms = ctx.now_ms,
            KafkaError::RebalanceInProgress => {
                self.last_heartbeat_ok_ms = ctx.now_ms;
                if self.member_state == MemberState::Stable {
                    self.rejoin_needed = true;
                    self.needs_join_prepare = true;
                    self.wake_if_polling(ctx);
                }
            }
            KafkaError::FencedInstanceId => self.fail(ctx, "FencedInstanceIdException".into()),
            KafkaError::NotCoordinator => self.coordinator_unknown(ctx),
            KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => {
                if matches!(
                    self.member_state,
                    MemberState::Stable | MemberState::CompletingRebalance
                ) {
                    self.reset_generation(error == KafkaError::UnknownMemberId);
                    self.wake_if_polling(ctx);
                }
            }
            _ => {}
        }
    }

    /// The heartbeat thread checks the poll timer on every iteration (it waits at most
    /// `retry.backoff.ms` between them), so the overdue poll is noticed at the deadline.
    fn poll_timeout_check(&mut self, ctx: &mut Ctx) {
        let deadline = self
            .last_poll_ms
            .saturating_add(self.config.max_poll_interval_ms);
        self.poll_timer_at = None;
        if ctx.now_ms < deadline {
            self.poll_timer_at = Some(deadline);
            self.timer(ctx, deadline, ConsumerTimerKind::PollTimeout);
            return;
        }
        if self.member_state == MemberState::Unjoined {
            return;
        }
        // The partitions stay assigned until the next poll, which reports them lost.
        self.leave_group(
            ctx,
            "consumer poll timeout has expired (max.poll.interval.ms)",
        );
    }

    /// A group request went unanswered for `request.timeout.ms` (a JoinGroup: the
    /// rebalance timeout plus 5 s, AbstractCoordinator `joinGroupTimeoutMs`): the client
    /// drops the connection and looks for the coordinator again.
    fn request_timed_out(&mut self, ctx: &mut Ctx) -> bool {
        let join_limit = REQUEST_TIMEOUT_MS.max(self.config.max_poll_interval_ms + 5_000);
        let expired = self.coordinator_requests.iter().any(|(&kind, &sent_ms)| {
            let limit = match kind {
                GroupRequest::Join => join_limit,
                _ => REQUEST_TIMEOUT_MS,
            };
            ctx.now_ms >= sent_ms.saturating_add(limit)
        });
        if expired {
            self.coordinator_unknown(ctx);
        }
        expired
    }

    /// `markCoordinatorUnknown`: forget the coordinator and what was in flight to it; the
    /// next poll looks it up again.
    fn coordinator_unknown(&mut self, ctx: &mut Ctx) {
        if let Some(c) = self.coordinator.take() {
            ctx.out
                .closed_connections
                .push((self.node(), NodeId::Broker(c)));
        }
        self.find_in_flight = false;
        self.heartbeat_in_flight = false;
        self.coordinator_requests.clear();
        self.offsets_in_flight = false;
        self.resolving.retain(|_, r| r.source.is_some());
        if let Some(c) = self.last_coordinator {
            self.fetch_in_flight.remove(&c);
        }
        if self.member_state != MemberState::Stable {
            self.member_state = MemberState::Unjoined;
            self.rejoin_needed = true;
        }
        self.next_heartbeat_ms = None;
        if let Some(c) = self.commit.take_if(|c| c.request_id.is_some()) {
            // The connection is gone with the commit's answer: a retriable disconnect.
            self.retry_commit(ctx, c, KafkaError::NetworkException);
        }
        self.wake_if_polling(ctx);
    }

    // ---- messages ---------------------------------------------------------------------

    /// Handles a response from a broker.
    pub fn on_message(&mut self, ctx: &mut Ctx, msg: Msg) {
        if !self.status.alive() {
            return;
        }
        match msg {
            Msg::FindCoordinatorResponse { coordinator, .. } => {
                self.find_in_flight = false;
                self.find_target = None;
                // COORDINATOR_NOT_AVAILABLE: the next poll asks again.
                self.coordinator = coordinator;
                if coordinator.is_some() {
                    self.last_coordinator = coordinator;
                    // AbstractCoordinator: a found coordinator restarts the session clock.
                    self.last_heartbeat_ok_ms = ctx.now_ms;
                }
                self.wake_if_polling(ctx);
                // A commitSync waiting in ensureCoordinatorReady goes on.
                let waiting = self.commit.as_ref().is_some_and(|c| {
                    c.request_id.is_none() && c.deadline_ms.is_some() && ctx.now_ms >= c.next_try_ms
                });
                if waiting && coordinator.is_some() {
                    self.send_commit(ctx);
                }
            }
            Msg::JoinGroupResponse {
                error,
                generation,
                protocol,
                leader,
                member_id,
                members,
                skip_assignment,
                ..
            } => self.on_join_response(
                ctx,
                error,
                generation,
                protocol,
                leader,
                member_id,
                members,
                skip_assignment,
            ),
            Msg::SyncGroupResponse {
                error, assignment, ..
            } => self.on_sync_response(ctx, error, assignment),
            Msg::HeartbeatResponse { error, .. } => self.on_heartbeat_response(ctx, error),
            Msg::OffsetCommitResponse {
                request_id, error, ..
            } => {
                if self.commit.as_ref().and_then(|c| c.request_id) == Some(request_id) {
                    self.coordinator_requests.remove(&GroupRequest::Commit);
                }
                self.on_commit_response(ctx, request_id, error)
            }
            Msg::OffsetFetchResponse { offsets, .. } => {
                self.coordinator_requests.remove(&GroupRequest::OffsetFetch);
                self.on_offset_fetch(ctx, offsets)
            }
            Msg::ListOffsetsResponse { offsets, .. } => self.on_list_offsets(ctx, offsets),
            Msg::OffsetsForLeaderEpochResponse { partitions, .. } => {
                self.on_offsets_for_leader_epoch(ctx, partitions)
            }
            Msg::FetchResponse {
                fetch_id,
                partitions,
            } => self.on_fetch_response(ctx, fetch_id, partitions),
            _ => {}
        }
    }
}

/// The leader runs the group's assignor over every member's subscription
/// (ConsumerCoordinator `onLeaderElected`).
fn leader_assignment(
    ctx: &Ctx,
    protocol: Option<Strategy>,
    members: &[JoinedMember],
) -> Vec<(String, Vec<Tp>)> {
    let strategy = protocol.unwrap_or(Strategy::Range);
    let mut per_topic = BTreeMap::new();
    for m in members {
        for name in &m.metadata.topics {
            if let Some(t) = ctx.cluster.topic_id(name) {
                per_topic.insert(name.clone(), ctx.cluster.partition_count(t));
            }
        }
    }
    let name_of = |tp: &Tp| {
        ctx.cluster
            .topic(tp.topic)
            .map(|t| (t.name.clone(), tp.p()))
    };
    let subscriptions: Vec<Subscription> = members
        .iter()
        .map(|m| {
            // StickyAssignor reads its previous assignment from its own user data; the
            // cooperative assignor from the subscription's owned partitions.
            let (owned, generation) = match (&m.metadata.sticky_user_data, strategy) {
                (Some((prev, g)), Strategy::Sticky) => (prev.clone(), *g),
                _ => (m.metadata.owned.clone(), m.metadata.generation),
            };
            let owned: Vec<(String, u32)> = owned.iter().filter_map(name_of).collect();
            Subscription {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                topics: m.metadata.topics.clone(),
                generation: (!owned.is_empty() && generation >= 0).then_some(generation),
                owned,
            }
        })
        .collect();
    assign(strategy, &per_topic, &subscriptions)
        .into_iter()
        .map(|(id, list)| {
            let tps = list
                .into_iter()
                .filter_map(|(t, p)| ctx.cluster.topic_id(&t).map(|id| Tp::new(id, p)))
                .collect();
            (id, tps)
        })
        .collect()
}
