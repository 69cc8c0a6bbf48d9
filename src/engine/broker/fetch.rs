//! Consumer fetches: Fetch answered at once or parked until data or `fetch.max.wait.ms`,
//! ListOffsets and OffsetsForLeaderEpoch (ReplicaManager.fetchMessages, DelayedFetch).

use super::*;

impl Broker {
    pub(super) fn on_fetch(
        &mut self,
        ctx: &mut Ctx,
        consumer: ConsumerRef,
        fetch_id: u64,
        partitions: Vec<(Tp, u64)>,
    ) {
        let fetch = ParkedFetch {
            consumer,
            fetch_id,
            partitions,
        };
        if self.has_data(&fetch) {
            self.respond_fetch(ctx, &fetch);
        } else {
            // DelayedFetch: hold it until data arrives or fetch.max.wait.ms passes.
            ctx.out.timer(
                ctx.now_ms + FETCH_MAX_WAIT_MS,
                self.node(),
                Timer::Broker(BrokerTimer::FetchWait { consumer, fetch_id }),
            );
            self.parked.push(fetch);
        }
    }

    /// Forgets a crashed client's parked fetches (its connection is gone).
    pub fn forget_consumer(&mut self, consumer: ConsumerRef) {
        self.parked.retain(|f| f.consumer != consumer);
    }

    /// True when any partition of the fetch has records to return or an error to report.
    pub(super) fn has_data(&self, fetch: &ParkedFetch) -> bool {
        fetch
            .partitions
            .iter()
            .any(|&(tp, offset)| match self.log(tp) {
                _ if !self.leads(tp) => true,
                None => true,
                Some(log) => offset != log.high_watermark() || offset < log.log_start_offset(),
            })
    }

    pub(super) fn complete_parked(&mut self, ctx: &mut Ctx, touched: &[Tp]) {
        if self.parked.is_empty() || touched.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.parked.len() {
            let relevant = self.parked[i]
                .partitions
                .iter()
                .any(|(tp, _)| touched.contains(tp));
            if relevant && self.has_data(&self.parked[i]) {
                let fetch = self.parked.remove(i);
                self.respond_fetch(ctx, &fetch);
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn respond_fetch(&self, ctx: &mut Ctx, fetch: &ParkedFetch) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|&(tp, offset)| self.fetch_partition(tp, offset))
            .collect();
        ctx.out.send(
            self.node(),
            NodeId::Consumer(fetch.consumer),
            Msg::FetchResponse {
                fetch_id: fetch.fetch_id,
                partitions,
            },
        );
    }

    /// One partition's part of a fetch: records from `offset` below the high watermark,
    /// up to `max.partition.fetch.bytes` (at least one record).
    pub(super) fn fetch_partition(&self, tp: Tp, offset: u64) -> FetchedPartition {
        let Some(log) = self.log(tp) else {
            return FetchedPartition {
                tp,
                error: KafkaError::UnknownTopicOrPartition,
                fetch_offset: offset,
                high_watermark: 0,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        };
        let hw = log.high_watermark();
        if !self.leads(tp) {
            return FetchedPartition {
                tp,
                error: KafkaError::NotLeaderOrFollower,
                fetch_offset: offset,
                high_watermark: hw,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        }
        if offset < log.log_start_offset() || offset > log.log_end_offset() {
            return FetchedPartition {
                tp,
                error: KafkaError::OffsetOutOfRange,
                fetch_offset: offset,
                high_watermark: hw,
                records: SharedRecords::default(),
                epochs: Vec::new(),
            };
        }
        // What fits in `max.partition.fetch.bytes` (at least one record), shared, not copied.
        let mut bytes = 0u64;
        let mut count = 0u64;
        'scan: for slice in log.slices(offset, hw) {
            for r in slice {
                // A record the cleaner removed takes no room in the response.
                bytes += r.stored_bytes();
                if bytes > MAX_PARTITION_FETCH_BYTES && count > 0 {
                    break 'scan;
                }
                count += 1;
            }
        }
        FetchedPartition {
            tp,
            error: KafkaError::None,
            fetch_offset: offset,
            high_watermark: hw,
            records: log.share(offset, offset + count),
            epochs: epochs_from(log, offset, offset + count),
        }
    }

    /// `Partition.lastOffsetForLeaderEpoch` for a consumer (KIP-320): the end of `epoch`
    /// in the leader's log, once the request's current leader epoch matches this leader's.
    pub(super) fn offsets_for_leader_epoch(
        &self,
        tp: Tp,
        epoch: u32,
        current: u32,
    ) -> (KafkaError, Option<(u32, u64)>) {
        let Some(h) = self.hosted.get(&tp).filter(|_| self.leads(tp)) else {
            return (KafkaError::NotLeaderOrFollower, None);
        };
        if current < h.state.leader_epoch {
            return (KafkaError::FencedLeaderEpoch, None);
        }
        if current > h.state.leader_epoch {
            return (KafkaError::UnknownLeaderEpoch, None);
        }
        let Some(log) = self.log(tp) else {
            return (KafkaError::UnknownTopicOrPartition, None);
        };
        (
            KafkaError::None,
            log.epochs.end_offset_for(epoch, log.log_end_offset()),
        )
    }

    /// OffsetsForLeaderEpoch: where each asked epoch ends in this leader's log (KIP-320).
    pub(super) fn on_offsets_for_leader_epoch(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        request_id: u64,
        partitions: Vec<(Tp, u32, u32)>,
    ) {
        let partitions = partitions
            .into_iter()
            .map(|(tp, epoch, current)| {
                let (error, end) = self.offsets_for_leader_epoch(tp, epoch, current);
                (tp, error, end)
            })
            .collect();
        let reply = Msg::OffsetsForLeaderEpochResponse {
            request_id,
            partitions,
        };
        ctx.out.send(self.node(), from, reply);
    }

    /// ListOffsets: the log start, the high watermark, or the first offset at or after a
    /// time. Only the leader answers (NOT_LEADER_OR_FOLLOWER otherwise: no offset).
    pub(super) fn on_list_offsets(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        request_id: u64,
        partitions: Vec<(Tp, OffsetSpec)>,
    ) {
        let offsets = partitions
            .into_iter()
            .map(|(tp, spec)| {
                let offset = self.log(tp).filter(|_| self.leads(tp)).map(|l| match spec {
                    OffsetSpec::Earliest => l.log_start_offset(),
                    OffsetSpec::Latest => l.high_watermark(),
                    // Kafka answers -1 when no record is that recent; the lab's seek by
                    // time then goes to the end (see `SeekTo::Timestamp`).
                    OffsetSpec::Timestamp(t) => {
                        l.offset_for_time(t).unwrap_or_else(|| l.high_watermark())
                    }
                });
                (tp, spec, offset)
            })
            .collect();
        let reply = Msg::ListOffsetsResponse {
            request_id,
            offsets,
        };
        ctx.out.send(self.node(), from, reply);
    }
}
