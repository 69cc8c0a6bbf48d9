//! The consumer client actor (classic protocol): the application's poll loop and its
//! commit policy, the fetcher, the heartbeat thread, and the client half of the group
//! protocol (JoinGroup, SyncGroup, the assignor on the leader, revocation).
//!
//! Citations are to apache/kafka `clients/.../consumer/internals/` (AbstractCoordinator,
//! ConsumerCoordinator, FetchCollector, CompletedFetch) and ClassicKafkaConsumer.

use super::sort;
use super::vecmap::VecMap;
use std::collections::{BTreeMap, VecDeque};

use super::actor::Ctx;
use super::assignor::{assign, rebalance_protocol, Protocol, Strategy, Subscription};
use super::config::{AutoOffsetReset, Dedupe, GroupConfig, ManualCommit, OnError};
use super::event::{CommitError, CrashReason, Event, GroupEvent, PartitionOffset, PositionSource};
use super::ids::{consumer_client_id, each_once, BrokerId, ConsumerRef, NodeId, Tp};
use super::log::{LogRecord, SharedRecords};
use super::msg::{
    CommittedAt, ConsumerTimer, ConsumerTimerKind, EpochEnd, FetchedPartition, JoinedMember,
    KafkaError, MemberMetadata, Msg, OffsetSpec, Timer,
};
use super::msg::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    SyncGroupRequest, SyncGroupResponse,
};

mod app;
mod commits;
mod errors;
mod fetcher;
mod membership;
mod subscription;

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
    /// Waiting for a dead letter's write to be acknowledged (`on.error=dead-letter`).
    DeadLettering,
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
    pub(crate) id: ConsumerRef,
    /// `client.id` (`c1`).
    pub(crate) client_id: String,
    /// `group.instance.id`, for static membership.
    pub(crate) group_instance_id: Option<String>,
    /// Subscribed topics, by name.
    pub(crate) topics: Vec<String>,
    /// Its configuration (the group's).
    pub(crate) config: GroupConfig,
    /// Where it is in its life.
    pub(crate) status: ConsumerStatus,
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
    pub(crate) member_state: MemberState,
    /// The member id the coordinator gave it (empty: none).
    pub(crate) member_id: String,
    /// Its generation (-1 = none).
    pub(crate) generation: i32,
    rejoin_needed: bool,
    needs_join_prepare: bool,
    /// Leader of its generation.
    pub(crate) is_leader: bool,
    /// Partitions it owns, in fetch order (a partition moves to the end once its fetched
    /// records are handed out).
    pub(crate) assigned: Vec<Tp>,
    /// Per owned partition: the next offset `poll()` returns.
    pub(crate) positions: VecMap<Tp, u64>,
    /// Owned partitions whose position is being looked up.
    resolving: VecMap<Tp, Resolve>,
    /// Per owned partition: the leader epoch of the last record consumed (`offsetEpoch`),
    /// when known.
    position_epochs: VecMap<Tp, u32>,
    /// Per owned partition: the leader epoch the position was last checked against
    /// (`FetchPosition.currentLeader`).
    checked_epochs: VecMap<Tp, u32>,
    /// Partitions awaiting validation (AWAIT_VALIDATION): not fetched until the leader
    /// says where the position's epoch ends.
    validating: VecMap<Tp, Validation>,
    offsets_in_flight: bool,
    sticky_user_data: Option<(Vec<Tp>, i32)>,
    pending_assignment: Option<Vec<Tp>>,
    buffer: VecDeque<Chunk>,
    /// The fetch in flight to each leader, with when it was sent (one per broker, as the
    /// Java fetcher sends).
    fetch_in_flight: VecMap<BrokerId, (u64, u64)>,
    /// Leaders whose last fetch failed, and until when the fetcher leaves them alone
    /// (`retry.backoff.ms`, while the metadata refreshes).
    fetch_backoff_until: VecMap<BrokerId, u64>,
    next_request_id: u64,
    /// What the application thread does.
    pub(crate) app: AppState,
    /// Polled records not yet processed, in order, as chunks per partition.
    pub(crate) batch: VecDeque<Chunk>,
    /// Per partition: processed up to (next offset), for commits after processing.
    processed: VecMap<Tp, u64>,
    /// The record being retried in place, and how many retries it has had.
    failing: Option<(Tp, u64, u32)>,
    /// The dead letter being written.
    dead_letter: Option<errors::DeadLetter>,
    app_token: u64,
    /// Lab: per-record processing time override ("slow down").
    pub(crate) processing_ms_override: Option<u64>,
    /// When and why it last crashed (kept until it restarts, for the card).
    pub(crate) crashed: Option<(u64, CrashReason)>,
    /// When `poll()` was last called.
    pub(crate) last_poll_ms: u64,
    poll_token: u64,
    poll_timer_at: Option<u64>,
    /// A graceful close was requested.
    pub(crate) closing: bool,
    /// When auto-commit is next due.
    pub(crate) next_auto_commit_ms: u64,
    commit: Option<PendingCommit>,
    hb_token: u64,
    heartbeat_in_flight: bool,
    last_heartbeat_sent_ms: u64,
    /// When a heartbeat was last answered without error.
    pub(crate) last_heartbeat_ok_ms: u64,
    /// When the next heartbeat is due, while the thread runs.
    pub(crate) next_heartbeat_ms: Option<u64>,
    /// Group requests sent to the coordinator and not answered yet, with when each was
    /// sent: NetworkClient times out each request on its own.
    coordinator_requests: VecMap<GroupRequest, u64>,
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
            Msg::JoinGroup(_) => Some(GroupRequest::Join),
            Msg::SyncGroup(_) => Some(GroupRequest::Sync),
            Msg::OffsetCommit(_) => Some(GroupRequest::Commit),
            Msg::OffsetFetch(_) => Some(GroupRequest::OffsetFetch),
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
            positions: VecMap::new(),
            resolving: VecMap::new(),
            position_epochs: VecMap::new(),
            checked_epochs: VecMap::new(),
            validating: VecMap::new(),
            offsets_in_flight: false,
            sticky_user_data: None,
            pending_assignment: None,
            buffer: VecDeque::new(),
            fetch_in_flight: VecMap::new(),
            fetch_backoff_until: VecMap::new(),
            next_request_id: 0,
            app: AppState::Polling,
            batch: VecDeque::new(),
            processed: VecMap::new(),
            failing: None,
            dead_letter: None,
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
            coordinator_requests: VecMap::new(),
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

    // ---- the application thread -------------------------------------------------------

    // ---- offsets ----------------------------------------------------------------------

    // ---- the fetcher ------------------------------------------------------------------

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

    // ---- the group protocol -----------------------------------------------------------

    // ---- the heartbeat thread ---------------------------------------------------------

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

    // ---- messages ---------------------------------------------------------------------

    /// Handles a response from a broker.
    pub fn on_message(&mut self, ctx: &mut Ctx, msg: Msg) {
        if !self.status.alive() {
            return;
        }
        match msg {
            Msg::FindCoordinatorResponse { coordinator, .. } => {
                self.on_find_coordinator_response(ctx, coordinator)
            }
            Msg::JoinGroupResponse(response) => self.on_join_response(ctx, response),
            Msg::SyncGroupResponse(SyncGroupResponse {
                error, assignment, ..
            }) => self.on_sync_response(ctx, error, assignment),
            Msg::HeartbeatResponse(HeartbeatResponse { error, .. }) => {
                self.on_heartbeat_response(ctx, error)
            }
            Msg::OffsetCommitResponse(OffsetCommitResponse {
                request_id, error, ..
            }) => {
                if self.commit.as_ref().and_then(|c| c.request_id) == Some(request_id) {
                    self.coordinator_requests.remove(&GroupRequest::Commit);
                }
                self.on_commit_response(ctx, request_id, error)
            }
            Msg::OffsetFetchResponse(OffsetFetchResponse { offsets, .. }) => {
                self.coordinator_requests.remove(&GroupRequest::OffsetFetch);
                self.on_offset_fetch(ctx, offsets)
            }
            // AbstractCoordinator's LeaveGroupResponseHandler only logs: the member reset its
            // generation when it sent the request.
            Msg::LeaveGroupResponse(_) => {}
            Msg::ListOffsetsResponse { offsets, .. } => self.on_list_offsets(ctx, offsets),
            Msg::OffsetsForLeaderEpochResponse { partitions, .. } => {
                self.on_offsets_for_leader_epoch(ctx, partitions)
            }
            Msg::FetchResponse {
                fetch_id,
                partitions,
            } => self.on_fetch_response(ctx, fetch_id, partitions),
            Msg::ProduceResponse {
                request_id,
                results,
            } => self.on_dead_letter_response(ctx, request_id, &results),
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
    let assignment: Vec<(String, Vec<Tp>)> = assign(strategy, &per_topic, &subscriptions)
        .into_iter()
        .map(|(id, list)| {
            let tps = list
                .into_iter()
                .filter_map(|(t, p)| ctx.cluster.topic_id(&t).map(|id| Tp::new(id, p)))
                .collect();
            (id, tps)
        })
        .collect();
    // One owner per partition in a generation, whatever the assignor.
    debug_assert!(
        each_once(assignment.iter().flat_map(|(_, l)| l.iter().copied())),
        "a partition assigned twice: {assignment:?}"
    );
    assignment
}

#[cfg(test)]
mod tests;
