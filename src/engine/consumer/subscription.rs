//! The subscription state: what the client owns and where it reads each partition next
//! (SubscriptionState: seek, positions, dropping a partition's state).

use super::*;
use crate::engine::command::SeekTo;

impl Consumer {
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

    /// Seeks an owned partition; the position is set at once for an offset, or after a
    /// ListOffsets for the beginning or the end. No check against the log end: an offset out
    /// of range shows up at the next fetch (ClassicKafkaConsumer `seek`).
    pub fn seek(&mut self, ctx: &mut Ctx, tp: Tp, to: SeekTo) {
        self.buffer.retain(|f| f.tp != tp);
        match to {
            SeekTo::Offset(offset) => self.set_position(ctx, tp, offset, PositionSource::Seek),
            SeekTo::Beginning => {
                self.request_reset(ctx, vec![tp], PositionSource::Seek, OffsetSpec::Earliest);
            }
            SeekTo::End => {
                self.request_reset(ctx, vec![tp], PositionSource::Seek, OffsetSpec::Latest);
            }
            SeekTo::Timestamp(t) => {
                let spec = OffsetSpec::Timestamp(t);
                self.request_reset(ctx, vec![tp], PositionSource::Seek, spec);
            }
        }
    }

    pub(super) fn set_position(
        &mut self,
        ctx: &mut Ctx,
        tp: Tp,
        offset: u64,
        source: PositionSource,
    ) {
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

    pub(super) fn drop_partition_state(&mut self) {
        let owned = &self.assigned;
        self.positions.retain(|tp, _| owned.contains(tp));
        self.resolving.retain(|tp, _| owned.contains(tp));
        self.position_epochs.retain(|tp, _| owned.contains(tp));
        self.checked_epochs.retain(|tp, _| owned.contains(tp));
        self.validating.retain(|tp, _| owned.contains(tp));
        self.buffer.retain(|f| owned.contains(&f.tp));
        self.processed.retain(|tp, _| owned.contains(tp));
    }
}
