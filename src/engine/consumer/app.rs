//! The application thread: `poll()`, handing records out, processing them one by one or as
//! a batch, and the poll-interval watchdog (ClassicKafkaConsumer.poll, FetchCollector).

use super::*;

impl Consumer {
    pub(super) fn wake_if_polling(&mut self, ctx: &mut Ctx) {
        if self.status.alive() && self.app == AppState::Polling {
            self.timer(ctx, ctx.now_ms, ConsumerTimerKind::App);
        }
    }

    pub(super) fn app_step(&mut self, ctx: &mut Ctx) {
        match self.app {
            AppState::Processing => self.process_next(ctx),
            AppState::Committing => self.commit_tick(ctx),
            AppState::Polling => self.poll(ctx),
            AppState::DeadLettering => self.send_dead_letter(ctx),
        }
    }

    /// One iteration of `poll()`: the coordinator's work, then records from the fetcher.
    pub(super) fn poll(&mut self, ctx: &mut Ctx) {
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

    pub(super) fn polled(&mut self, ctx: &mut Ctx, records: Vec<Chunk>) {
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

    pub(super) fn schedule_processing(&mut self, ctx: &mut Ctx) {
        self.app = AppState::Processing;
        match self.processing_ms() {
            0 => self.process_next(ctx),
            ms => self.timer(ctx, ctx.now_ms.saturating_add(ms), ConsumerTimerKind::App),
        }
    }

    /// Completes the next record (or, with no processing time, the whole batch).
    pub(super) fn process_next(&mut self, ctx: &mut Ctx) {
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
            if record.poison() {
                if self.failed(ctx, run.take(), tp, offset, record) {
                    return;
                }
                continue;
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
    pub(super) fn process_batch(&mut self, ctx: &mut Ctx) {
        let mut run: Option<(Tp, u64, u64)> = None;
        while let Some(front) = self.batch.front_mut() {
            if front.is_empty() {
                self.batch.pop_front();
                continue;
            }
            let tp = front.tp;
            let from = front.next_offset;
            let rest = front.end - front.next;
            let stop = front
                .records
                .slices(front.next, front.end)
                .flatten()
                .position(|r| r.poison() || r.cleaned());
            let clean = stop.unwrap_or(rest);
            let poison = stop
                .and_then(|i| front.records.get(front.next + i).copied())
                .filter(LogRecord::poison);
            // The record that stopped the scan is taken off the batch too, as `pop_record`
            // would: a poison record to crash on, or one the cleaner removed, never handed
            // to the application (a gap in the offsets).
            let taken = clean + usize::from(stop.is_some());
            front.next += taken;
            front.next_offset += taken as u64;
            if clean > 0 {
                run = self.extend_processed(ctx, run, tp, from, from + clean as u64);
            }
            if let Some(record) = poison {
                if self.failed(ctx, run.take(), tp, from + clean as u64, record) {
                    return;
                }
            }
        }
        self.flush_processed(ctx, run);
        self.after_record(ctx);
    }

    /// Adds `from..to` of `tp` to the processed run: one run while the offsets follow on,
    /// else the run so far is reported and a new one starts.
    pub(super) fn extend_processed(
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

    /// The next record to hand to the application; records the cleaner removed are gaps
    /// in the offsets, never handed out.
    pub(super) fn pop_record(&mut self) -> Option<(Tp, u64, LogRecord)> {
        loop {
            let front = self.batch.front_mut()?;
            match front.pop() {
                Some((_, r)) if r.cleaned() => {}
                Some((o, r)) => return Some((front.tp, o, r)),
                None => {
                    self.batch.pop_front();
                }
            }
        }
    }

    pub(super) fn flush_processed(&mut self, ctx: &mut Ctx, run: Option<(Tp, u64, u64)>) {
        if let Some((tp, from, to)) = run {
            self.processed.insert(tp, to);
            self.store_offset(ctx, tp, to);
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

    /// `dedupe=stored-offsets`: the application writes `next` as `tp`'s offset in its
    /// database, in the same write as what it did with the records before it.
    pub(super) fn store_offset(&self, ctx: &mut Ctx, tp: Tp, next: u64) {
        if self.config.dedupe == Dedupe::StoredOffsets {
            ctx.stored_offsets.store(self.id.group, tp, next);
        }
    }

    /// After a record: the next one, or (batch done) the after-batch commit, then poll.
    pub(super) fn after_record(&mut self, ctx: &mut Ctx) {
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

    /// The heartbeat thread checks the poll timer on every iteration (it waits at most
    /// `retry.backoff.ms` between them), so the overdue poll is noticed at the deadline.
    pub(super) fn poll_timeout_check(&mut self, ctx: &mut Ctx) {
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
}
