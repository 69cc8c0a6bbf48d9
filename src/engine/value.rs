//! Typed record values: the order events of the seeds' shop (an order is created, then
//! paid or cancelled), with the fields a key can be chosen from. A value is packed in a
//! `u64` (0 = a record without one), so the ledger keeps one word per record and only
//! for runs whose workload produces orders.

use super::rng::Rng;

/// The amount a record charges: derived from an id (a record's event id, or an order's
/// id for its events), so every copy and every delivery charges the same.
pub fn order_amount(id: u32) -> u64 {
    // A hash of the id mapped onto 0..96 by multiply-and-shift (no division on the hot path).
    let hash = u64::from(id.wrapping_mul(2_654_435_761) >> 16);
    5 + ((hash * 96) >> 16)
}

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// The customer placed it.
    Created,
    /// The customer paid for it.
    Paid,
    /// The customer cancelled it.
    Cancelled,
}

impl OrderKind {
    /// Its name in the value's `type` field.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Created => "created",
            OrderKind::Paid => "paid",
            OrderKind::Cancelled => "cancelled",
        }
    }
}

/// One order event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderValue {
    /// `order_id`.
    pub order_id: u32,
    /// `customer_id` (at most 2^24 - 1).
    pub customer_id: u32,
    /// `type`.
    pub kind: OrderKind,
}

impl OrderValue {
    /// The packed word: order id, customer id, kind (1 to 3, so 0 stays "no value").
    pub fn pack(self) -> u64 {
        let kind = match self.kind {
            OrderKind::Created => 1,
            OrderKind::Paid => 2,
            OrderKind::Cancelled => 3,
        };
        (u64::from(self.order_id) << 32) | (u64::from(self.customer_id & 0xFF_FFFF) << 8) | kind
    }

    /// The value of a packed word (`None` for 0, a record without a value).
    pub fn unpack(word: u64) -> Option<Self> {
        let kind = match word & 0xFF {
            1 => OrderKind::Created,
            2 => OrderKind::Paid,
            3 => OrderKind::Cancelled,
            _ => return None,
        };
        Some(OrderValue {
            order_id: (word >> 32) as u32,
            customer_id: ((word >> 8) & 0xFF_FFFF) as u32,
            kind,
        })
    }

    /// The value as JSON, as a producer would serialize it.
    pub fn json(self) -> String {
        format!(
            "{{\"order_id\": \"order-{}\", \"customer_id\": \"customer-{}\", \"type\": \"{}\", \"amount\": {}}}",
            self.order_id,
            self.customer_id,
            self.kind.name(),
            order_amount(self.order_id),
        )
    }
}

/// The field a producer takes a record's key from (lab setting `key.field`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum KeyField {
    /// `order_id`: one order's events stay in order.
    #[default]
    OrderId,
    /// `customer_id`: one customer's events stay in order.
    CustomerId,
    /// `customer_id:order_id`, a composite key: a busy customer's orders spread over the
    /// partitions, each order's events still in order.
    CustomerAndOrder,
    /// No key: the partitioner spreads the records.
    None,
}

impl KeyField {
    /// Every field, in the order the Setup panel offers them.
    pub const ALL: [KeyField; 4] = [
        KeyField::OrderId,
        KeyField::CustomerId,
        KeyField::CustomerAndOrder,
        KeyField::None,
    ];

    /// Its name in settings and level files.
    pub fn name(self) -> &'static str {
        match self {
            KeyField::OrderId => "order_id",
            KeyField::CustomerId => "customer_id",
            KeyField::CustomerAndOrder => "customer_id+order_id",
            KeyField::None => "none",
        }
    }

    /// The field named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        KeyField::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The key of `value`, or `None` for no key.
    pub fn key_of(self, value: OrderValue) -> Option<String> {
        let (o, c) = (value.order_id, value.customer_id);
        match self {
            KeyField::OrderId => Some(format!("order-{o}")),
            KeyField::CustomerId => Some(format!("customer-{c}")),
            KeyField::CustomerAndOrder => Some(format!("customer-{c}:order-{o}")),
            KeyField::None => None,
        }
    }

    /// Whether it is the default (left out of saved files).
    pub fn is_default(&self) -> bool {
        *self == KeyField::OrderId
    }
}

/// Order ids each producer's shop numbers from: producer `i` starts at `i` times this, so
/// two shops never share an order id.
pub const ORDER_ID_BLOCK: u32 = 1_000_000;

/// Most orders open at once: past it, the oldest is settled before a new one is placed.
const MAX_OPEN: usize = 8;

/// A shop's stream of order events: each order is created, and later paid (nine in ten)
/// or cancelled, with other orders' events in between, as real traffic interleaves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderStream {
    next_order: u32,
    /// Orders created and not yet settled, oldest first: (order id, customer id).
    open: Vec<(u32, u32)>,
}

impl OrderStream {
    /// The stream of producer `index`'s shop (its order ids start at
    /// `index * ORDER_ID_BLOCK`).
    pub fn for_producer(index: u32) -> Self {
        OrderStream {
            next_order: index.saturating_mul(ORDER_ID_BLOCK),
            open: Vec::new(),
        }
    }

    /// The next event. Customer 0 gets `hot_percent` of the new orders; the others are
    /// uniform over `customers`.
    pub fn next(&mut self, rng: &mut Rng, customers: u32, hot_percent: u32) -> OrderValue {
        let settle = self.open.len() >= MAX_OPEN || (self.open.len() >= 2 && rng.below(2) == 0);
        if settle {
            let (order_id, customer_id) = self.open.remove(0);
            let kind = if rng.below(10) == 0 {
                OrderKind::Cancelled
            } else {
                OrderKind::Paid
            };
            return OrderValue {
                order_id,
                customer_id,
                kind,
            };
        }
        let customers = customers.clamp(1, 0xFF_FFFF);
        let customer_id = if rng.below(100) < u64::from(hot_percent.min(100)) {
            0
        } else {
            rng.below(u64::from(customers)) as u32
        };
        let order_id = self.next_order;
        self.next_order += 1;
        self.open.push((order_id, customer_id));
        OrderValue {
            order_id,
            customer_id,
            kind: OrderKind::Created,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_survives_packing_and_zero_is_no_value() {
        let v = OrderValue {
            order_id: 4_000_000_000,
            customer_id: 0xFF_FFFF,
            kind: OrderKind::Cancelled,
        };
        assert_eq!(OrderValue::unpack(v.pack()), Some(v));
        assert_eq!(OrderValue::unpack(0), None);
    }

    #[test]
    fn every_order_is_created_before_it_is_settled_once() {
        let mut s = OrderStream::default();
        let mut rng = Rng::new(7);
        let mut created = std::collections::BTreeSet::new();
        let mut settled = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            let v = s.next(&mut rng, 20, 0);
            assert!(v.customer_id < 20);
            match v.kind {
                OrderKind::Created => assert!(created.insert(v.order_id)),
                _ => {
                    assert!(created.contains(&v.order_id), "{v:?} before its creation");
                    assert!(settled.insert(v.order_id), "{v:?} settled twice");
                }
            }
        }
        assert!(created.len() - settled.len() <= MAX_OPEN);
        let paid_share = settled.len() * 10 / created.len();
        assert!((8..=10).contains(&paid_share));
    }

    #[test]
    fn the_hot_customer_gets_its_share_of_new_orders() {
        let mut s = OrderStream::default();
        let mut rng = Rng::new(3);
        let created: Vec<OrderValue> = (0..10_000)
            .map(|_| s.next(&mut rng, 50, 60))
            .filter(|v| v.kind == OrderKind::Created)
            .collect();
        let hot = created.iter().filter(|v| v.customer_id == 0).count();
        let percent = hot * 100 / created.len();
        assert!((55..=66).contains(&percent), "{percent}%");
    }

    #[test]
    fn each_field_gives_its_key() {
        let v = OrderValue {
            order_id: 17,
            customer_id: 3,
            kind: OrderKind::Paid,
        };
        let keys: Vec<Option<String>> = KeyField::ALL.iter().map(|f| f.key_of(v)).collect();
        assert_eq!(
            keys,
            [
                Some("order-17".to_owned()),
                Some("customer-3".to_owned()),
                Some("customer-3:order-17".to_owned()),
                None
            ]
        );
        for f in KeyField::ALL {
            assert_eq!(KeyField::parse(f.name()), Some(f));
        }
        assert!(v.json().contains("\"type\": \"paid\""));
        let amount = format!("\"amount\": {}}}", order_amount(v.order_id));
        assert!(v.json().ends_with(&amount), "{}", v.json());
    }
}
