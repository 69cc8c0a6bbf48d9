//! Typed values (issue "What the consumer does", deliverable 1): a shop's order events
//! (created, then paid or cancelled), keyed by the field the producer chooses. A key keeps
//! one key's records in order and nothing more: keyed by order id, each order's events
//! stay in order but a customer's orders interleave; keyed by customer id, both hold; with
//! no key, neither does. Seeds 000 (the challenge "key by customer_id") and 004 §10.

use kafka_lab::engine::ledger::entities::EntityOrder;
use kafka_lab::engine::value::{OrderKind, OrderValue};
use kafka_lab::engine::{view, Sim};
use kafka_lab::lab::scenario::Scenario;

use super::run_checked;

/// Six partitions, two consumers, 60 order events a second of 20 customers for 30 s,
/// keyed by `key_field`, with `hot` percent of the orders from customer 0.
fn shop(key_field: &str, hot: &str) -> Sim {
    let mut s = Scenario::default();
    for (name, value) in [
        ("partitions", "6"),
        ("consumers", "2"),
        ("values", "orders"),
        ("keys", "20"),
        ("rate", "60"),
        ("processing.ms", "10"),
        ("key.field", key_field),
        ("hot.percent", hot),
    ] {
        s.set(name, value).unwrap();
    }
    let mut sim = s.build().unwrap();
    run_checked(&mut sim, 30_000);
    sim
}

fn order(sim: &Sim) -> &EntityOrder {
    &sim.ledger().groups[0].entities
}

#[test]
fn a_key_keeps_in_order_exactly_the_entity_it_names() {
    let by_order = shop("order_id", "0");
    assert!(order(&by_order).out_of_order_customers > 0);
    assert_eq!(order(&by_order).out_of_order_orders, 0);

    let by_customer = shop("customer_id", "0");
    assert_eq!(order(&by_customer).out_of_order_customers, 0);
    assert_eq!(order(&by_customer).out_of_order_orders, 0);

    let composite = shop("customer_id+order_id", "0");
    assert!(order(&composite).out_of_order_customers > 0);
    assert_eq!(order(&composite).out_of_order_orders, 0);

    let keyless = shop("none", "0");
    assert!(order(&keyless).out_of_order_orders > 0);
    assert!(order(&keyless).out_of_order_customers > 0);
}

#[test]
fn the_events_in_the_log_are_a_shops_orders_with_their_keys() {
    let sim = shop("customer_id", "0");
    let ledger = sim.ledger();
    let values: Vec<OrderValue> = ledger
        .values
        .iter()
        .filter_map(|&w| OrderValue::unpack(w))
        .collect();
    assert_eq!(
        values.len(),
        ledger.records.len(),
        "every record has a value"
    );
    let mut created = std::collections::BTreeSet::new();
    for (id, v) in values.iter().enumerate() {
        if v.kind == OrderKind::Created {
            created.insert(v.order_id);
        } else {
            assert!(created.contains(&v.order_id), "record {id}: {v:?}");
        }
        let key = ledger.records.get(id).and_then(|r| r.key()).unwrap();
        let name = &sim.world().keys.get(key).unwrap().name;
        assert_eq!(*name, format!("customer-{}", v.customer_id));
    }
    // The lane shows each record's value.
    let lane = view::lane(
        &sim,
        view::Tp::new(view::TopicId(0), 0),
        super::G0,
        5,
        Some(0),
    );
    let json = lane.cells[0].value.as_deref().unwrap();
    assert!(json.starts_with("{\"order_id\": \"order-"), "{json}");
}

#[test]
fn a_hot_customer_keyed_by_customer_loads_one_partition() {
    let (max, total) = largest_and_total(&shop("customer_id", "60"));
    assert!(
        max * 2 > total,
        "{max} of {total}: the hot customer's partition has most"
    );
    let (max, total) = largest_and_total(&shop("customer_id+order_id", "60"));
    assert!(
        max * 3 < total,
        "{max} of {total}: a composite key spreads it"
    );
}

/// The largest partition's log end offset, and the sum of them all.
fn largest_and_total(sim: &Sim) -> (u64, u64) {
    let ends: Vec<u64> = view::partition_sizes(sim, view::TopicId(0))
        .iter()
        .map(|s| s.log_end_offset)
        .collect();
    (ends.iter().copied().max().unwrap_or(0), ends.iter().sum())
}

/// The application's table with order events: one balance per customer, whatever field
/// the key was taken from, and only `paid` events charge (the order's amount). A crash
/// before the commit charges twice exactly the paid events delivered twice, and every
/// balance stays what the log says the customer owes.
#[test]
fn the_table_charges_each_paid_order_to_its_customer() {
    use kafka_lab::engine::ledger::effects::order_amount;
    use kafka_lab::engine::ledger::Outcome;
    use kafka_lab::engine::Command;
    let mut sim = shop("order_id", "0");
    sim.apply(Command::CrashConsumer {
        group: super::G0,
        consumer: super::c(1),
    })
    .unwrap();
    run_checked(&mut sim, 60_000);
    let e = view::effects(&sim, super::G0).unwrap();
    assert!(e.per_customer);
    assert!(
        e.rows.iter().all(|r| r.key.starts_with("customer-")),
        "{:?}",
        e.rows
    );
    assert!(e.rows.len() <= 20);
    let ledger = sim.ledger();
    let g = &ledger.groups[0];
    let (mut paid, mut twice, mut owed) = (0u64, 0u64, 0u64);
    for (id, &w) in ledger.values.iter().enumerate() {
        let Some(v) = OrderValue::unpack(w) else {
            continue;
        };
        let outcome = g.outcome(id as u32);
        if v.kind != OrderKind::Paid || !matches!(outcome, Outcome::Once | Outcome::Duplicate) {
            continue;
        }
        paid += 1;
        owed += order_amount(v.order_id);
        twice += u64::from(outcome == Outcome::Duplicate);
    }
    assert!(twice > 0, "the crash redelivered paid orders");
    assert_eq!(e.double_charges, twice);
    let charges: u64 = e.rows.iter().map(|r| u64::from(r.charges)).sum();
    assert_eq!(
        charges,
        paid + twice,
        "each paid delivery charged, nothing else"
    );
    let expected: u64 = e.rows.iter().filter_map(|r| r.expected).sum();
    assert_eq!(expected, owed, "the projection: each paid order once");
}
