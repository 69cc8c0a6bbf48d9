//! The broker's life with the controller: registration, heartbeats, fencing, metadata,
//! death and restart (BrokerLifecycleManager).

use super::*;

impl Broker {
    /// The process dies: its logs stay (on disk); requests waiting, fetches and timers go.
    pub fn kill(&mut self) {
        self.alive = false;
        self.hosted.clear();
        self.news.clear();
        self.pending.clear();
        self.produce_timer_at = None;
        self.parked.clear();
        self.parked_replica.clear();
        self.fetching.clear();
        self.fetch_timer_at = None;
        self.isr_timer_armed = false;
        self.backoff_armed = false;
    }

    /// The process starts again: it registers with the controller, which then tells it
    /// its partitions.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.alive = true;
        self.incarnation += 1;
        self.lifecycle.registered = false;
        self.lifecycle.fenced = true;
        self.lifecycle.attempts = 0;
        self.lifecycle_timer(ctx, ctx.now_ms);
        self.arm_retention(ctx, ctx.now_ms + LOG_INITIAL_TASK_DELAY_MS);
        self.arm_cleaner(ctx, ctx.now_ms + LOG_CLEANER_BACKOFF_MS);
    }

    /// True when the process runs and has registered: it serves requests.
    pub fn serving(&self) -> bool {
        self.alive && self.lifecycle.registered
    }

    /// Starts heartbeating (a broker of the cluster formed at time 0).
    pub fn start_lifecycle(&mut self, ctx: &mut Ctx) {
        let at = ctx.now_ms + ctx.cluster.replication.broker_heartbeat_interval_ms;
        self.lifecycle_timer(ctx, at);
        self.arm_retention(ctx, ctx.now_ms + LOG_INITIAL_TASK_DELAY_MS);
        self.arm_cleaner(ctx, ctx.now_ms + LOG_CLEANER_BACKOFF_MS);
    }

    pub(super) fn lifecycle_timer(&mut self, ctx: &mut Ctx, at_ms: u64) {
        self.lifecycle.token += 1;
        ctx.out.timer(
            at_ms,
            self.node(),
            Timer::Broker(BrokerTimer::Lifecycle {
                incarnation: self.incarnation,
                token: self.lifecycle.token,
            }),
        );
    }

    /// BrokerLifecycleManager: register until accepted (backing off 100 ms doubling up to
    /// `broker.session.timeout.ms`), then heartbeat every `broker.heartbeat.interval.ms`.
    pub(super) fn lifecycle_tick(&mut self, ctx: &mut Ctx) {
        let msg = if self.lifecycle.registered {
            Msg::BrokerHeartbeat {
                broker_epoch: self.lifecycle.broker_epoch,
                metadata_offset: self.lifecycle.metadata_offset,
            }
        } else {
            Msg::BrokerRegistration {
                incarnation: self.incarnation,
            }
        };
        let next = if self.lifecycle.registered {
            ctx.cluster.replication.broker_heartbeat_interval_ms
        } else {
            self.registration_backoff_ms(ctx)
        };
        ctx.out.send(self.node(), NodeId::Controller, msg);
        self.lifecycle_timer(ctx, ctx.now_ms + next);
    }

    pub(super) fn registration_backoff_ms(&self, ctx: &Ctx) -> u64 {
        (100u64 << self.lifecycle.attempts.min(16))
            .min(ctx.cluster.replication.broker_session_timeout_ms)
    }

    pub(super) fn on_registration_response(
        &mut self,
        ctx: &mut Ctx,
        error: KafkaError,
        broker_epoch: u64,
    ) {
        if self.lifecycle.registered {
            return;
        }
        if error == KafkaError::None {
            self.lifecycle.registered = true;
            self.lifecycle.broker_epoch = broker_epoch;
            self.lifecycle.attempts = 0;
            // A heartbeat at once, to be unfenced as soon as it has caught up.
            self.lifecycle_tick(ctx);
        } else {
            self.lifecycle.attempts += 1;
            let at = ctx.now_ms + self.registration_backoff_ms(ctx);
            self.lifecycle_timer(ctx, at);
        }
    }

    pub(super) fn on_heartbeat_response(&mut self, ctx: &mut Ctx, error: KafkaError, fenced: bool) {
        if error == KafkaError::StaleBrokerEpoch {
            // Its registration was replaced: register again.
            self.lifecycle.registered = false;
            self.lifecycle_timer(ctx, ctx.now_ms + self.registration_backoff_ms(ctx));
            return;
        }
        self.lifecycle.fenced = fenced;
    }

    /// Metadata from the controller, applied in order; after a gap (updates lost while it
    /// was cut off) it waits for the whole image, which its next heartbeat asks for.
    pub(super) fn on_metadata(
        &mut self,
        ctx: &mut Ctx,
        offset: u64,
        partitions: Vec<(Tp, PartitionState)>,
        full: bool,
    ) {
        // A new process that has not registered yet waits for the image its registration
        // brings.
        if !full && (offset != self.lifecycle.metadata_offset + 1 || !self.lifecycle.registered) {
            return;
        }
        self.lifecycle.metadata_offset = offset;
        for (tp, state) in partitions {
            self.apply_state(ctx, tp, &state);
        }
    }
}
