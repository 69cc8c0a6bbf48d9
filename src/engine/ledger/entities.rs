//! The order of each customer's and each order's events, for runs whose records carry
//! typed values: a key keeps one key's records in order, and a learner checks whether the
//! key chosen keeps the entity that matters in order too.

use super::super::chunked::ChunkVec;
use super::super::ids::Tp;
use super::super::value::{OrderValue, ORDER_ID_BLOCK};
use super::{byte_of, GroupLedger, LogLookup, Outcome, OUTCOME_MASK};

/// Per value field, the events the group processed before an earlier event of the same
/// customer (or order): the order a key cannot promise when it is not that field.
#[derive(Clone, Debug, Default)]
pub struct EntityOrder {
    /// Per customer id: the highest record id processed plus one.
    last_by_customer: Vec<u32>,
    /// Per block of order ids (one per producer's shop), per order id in it: the highest
    /// record id processed plus one.
    last_by_order: Vec<Vec<u32>>,
    /// Events processed after a later event of their customer.
    pub out_of_order_customers: u64,
    /// Events processed after a later event of their order.
    pub out_of_order_orders: u64,
}

impl EntityOrder {
    /// Notes one first processing of `value` (record `record_id`).
    fn processed(&mut self, record_id: u32, value: OrderValue) {
        fn later_seen(last: &mut Vec<u32>, entity: u32, record_id: u32) -> bool {
            let i = entity as usize;
            if last.len() <= i {
                last.resize(i + 1, 0);
            }
            let before = last[i] > record_id;
            last[i] = last[i].max(record_id + 1);
            before
        }
        if later_seen(&mut self.last_by_customer, value.customer_id, record_id) {
            self.out_of_order_customers += 1;
        }
        let block = (value.order_id / ORDER_ID_BLOCK) as usize;
        if self.last_by_order.len() <= block {
            self.last_by_order.resize_with(block + 1, Vec::new);
        }
        let in_block = value.order_id % ORDER_ID_BLOCK;
        if later_seen(&mut self.last_by_order[block], in_block, record_id) {
            self.out_of_order_orders += 1;
        }
    }
}

impl GroupLedger {
    /// With typed values: checks each customer's and each order's event order over the
    /// records of `tp` just processed for the first time (`offsets`).
    pub(super) fn order_by_entity(
        &mut self,
        values: &ChunkVec<u64>,
        tp: Tp,
        offsets: std::ops::Range<u64>,
        logs: &impl LogLookup,
    ) {
        let Some(log) = logs.log(tp) else {
            return;
        };
        for slice in log.slices(offsets.start, offsets.end) {
            for r in slice {
                let first = self
                    .state
                    .get(r.record_id as usize)
                    .is_some_and(|&b| b & OUTCOME_MASK == byte_of(Outcome::Once));
                let value = values.get(r.record_id as usize).copied();
                if let (true, Some(v)) = (first, value.and_then(OrderValue::unpack)) {
                    self.entities.processed(r.record_id, v);
                }
            }
        }
    }
}
