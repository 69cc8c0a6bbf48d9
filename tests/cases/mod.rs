//! Replays Kafka's own assignor test cases (tests/data/kafka_assignor_cases.json, restated
//! from apache/kafka's RangeAssignorTest, RoundRobinAssignorTest, StickyAssignorTest,
//! CooperativeStickyAssignorTest and AbstractStickyAssignorTest) against
//! `kafka_lab::engine::assignor::assign`. The file's "source" field documents the format.

use std::collections::{BTreeMap, BTreeSet};

use kafka_lab::engine::assignor::{assign, Strategy, Subscription};
use serde_json::Value;

type Assignment = BTreeMap<String, Vec<(String, u32)>>;

const CASES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/kafka_assignor_cases.json"
));

fn tp_list(v: &Value) -> Vec<(String, u32)> {
    v.as_array()
        .expect("partition list")
        .iter()
        .map(|pair| {
            let pair = pair.as_array().expect("[topic, partition]");
            (
                pair[0].as_str().expect("topic").to_string(),
                pair[1].as_u64().expect("partition") as u32,
            )
        })
        .collect()
}

fn members_of(case: &Value) -> Vec<Subscription> {
    case["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| Subscription {
            member_id: m["member_id"].as_str().expect("member_id").to_string(),
            group_instance_id: m["group_instance_id"].as_str().map(str::to_string),
            topics: m["topics"]
                .as_array()
                .expect("topics")
                .iter()
                .map(|t| t.as_str().expect("topic").to_string())
                .collect(),
            owned: tp_list(&m["owned"]),
            generation: m["generation"].as_i64().map(|g| g as i32),
        })
        .collect()
}

/// Compares the members listed in `expected`; returns a description of each mismatch.
fn compare(expected: &Value, compare: &str, got: &Assignment, what: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(expected) = expected.as_object() else {
        return errors;
    };
    for (member, list) in expected {
        let want = tp_list(list);
        let Some(have) = got.get(member) else {
            errors.push(format!("{what}: member {member} missing from result"));
            continue;
        };
        let same = if compare == "set" {
            want.iter().collect::<BTreeSet<_>>() == have.iter().collect::<BTreeSet<_>>()
                && want.len() == have.len()
        } else {
            &want == have
        };
        if !same {
            errors.push(format!("{what}: {member} expected {want:?}, got {have:?}"));
        }
    }
    errors
}

/// The "check" and "size_range" properties of the format, on the final result.
fn check(case: &Value, members: &[Subscription], got: &Assignment) -> Vec<String> {
    let mut errors = Vec::new();
    let ppt = partitions_per_topic(case);
    let mut seen = BTreeSet::new();
    if let Some(kind) = case["check"].as_str() {
        for (member, list) in got {
            let sub = members.iter().rev().find(|m| &m.member_id == member);
            for (t, p) in list {
                if !seen.insert((t.clone(), *p)) {
                    errors.push(format!("{t}-{p} assigned twice"));
                }
                if ppt.get(t).is_none_or(|&n| *p >= n) {
                    errors.push(format!("{t}-{p} does not exist"));
                }
                if sub.is_none_or(|s| !s.topics.contains(t)) {
                    errors.push(format!("{member} got {t}-{p} without subscribing"));
                }
            }
        }
        let sizes: Vec<usize> = got.values().map(Vec::len).collect();
        match kind {
            "fully_balanced" => {
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    if hi - lo > 1 {
                        errors.push(format!("not fully balanced: {sizes:?}"));
                    }
                }
            }
            "balanced" => {
                let lists: Vec<(&String, &Vec<(String, u32)>)> = got.iter().collect();
                for (i, (a, la)) in lists.iter().enumerate() {
                    for (b, lb) in &lists[i + 1..] {
                        if la.len().abs_diff(lb.len()) <= 1 {
                            continue;
                        }
                        let ta: BTreeSet<&String> = la.iter().map(|(t, _)| t).collect();
                        if lb.iter().any(|(t, _)| ta.contains(t)) {
                            errors.push(format!(
                                "{a} ({}) and {b} ({}) share a topic",
                                la.len(),
                                lb.len()
                            ));
                        }
                    }
                }
            }
            "valid" => {}
            other => errors.push(format!("unknown check {other}")),
        }
    }
    if let Some(range) = case["size_range"].as_array() {
        let (lo, hi) = (
            range[0].as_u64().unwrap() as usize,
            range[1].as_u64().unwrap() as usize,
        );
        for (member, list) in got {
            if list.len() < lo || list.len() > hi {
                errors.push(format!(
                    "{member} has {} partitions, outside {lo}..={hi}",
                    list.len()
                ));
            }
        }
    }
    errors
}

fn partitions_per_topic(case: &Value) -> BTreeMap<String, u32> {
    case["partitions_per_topic"]
        .as_object()
        .expect("partitions_per_topic")
        .iter()
        .map(|(t, n)| (t.clone(), n.as_u64().expect("count") as u32))
        .collect()
}

/// Cooperative rule checked by CooperativeStickyAssignorTest: no partition is added to one
/// member while being revoked from another in the same round. Returns whether anything was
/// revoked (so the harness must run another round).
fn cooperative_round(members: &[Subscription], got: &Assignment, errors: &mut Vec<String>) -> bool {
    let mut added = BTreeSet::new();
    let mut revoked = BTreeSet::new();
    for (member, list) in got {
        let owned: Vec<(String, u32)> = members
            .iter()
            .rev()
            .find(|m| &m.member_id == member)
            .map(|m| m.owned.clone())
            .unwrap_or_default();
        revoked.extend(owned.iter().filter(|tp| !list.contains(tp)).cloned());
        added.extend(list.iter().filter(|tp| !owned.contains(tp)).cloned());
    }
    let both: Vec<_> = added.intersection(&revoked).collect();
    if !both.is_empty() {
        errors.push(format!("added and revoked in one round: {both:?}"));
    }
    !revoked.is_empty()
}

/// Every partition of every topic some member subscribes to (and that exists) is owned.
fn completeness(
    ppt: &BTreeMap<String, u32>,
    members: &[Subscription],
    got: &Assignment,
    what: &str,
) -> Vec<String> {
    let owned: BTreeSet<(String, u32)> = got.values().flatten().cloned().collect();
    let subscribed: BTreeSet<&String> = members.iter().flat_map(|m| &m.topics).collect();
    let mut missing = Vec::new();
    for topic in subscribed {
        for p in 0..ppt.get(topic).copied().unwrap_or(0) {
            if !owned.contains(&(topic.clone(), p)) {
                missing.push(format!("{topic}-{p}"));
            }
        }
    }
    if missing.is_empty() {
        Vec::new()
    } else {
        vec![format!("{what}: unassigned {}", missing.join(", "))]
    }
}

/// Runs further cooperative rounds (owned = previous result, generation + 1 each round)
/// until nothing is revoked, then checks completeness.
fn converged_completeness(
    strategy: Strategy,
    ppt: &BTreeMap<String, u32>,
    members: &[Subscription],
    first: &Assignment,
) -> Vec<String> {
    let mut members = members.to_vec();
    let mut got = first.clone();
    for round in 0..8 {
        let mut scratch = Vec::new();
        if !cooperative_round(&members, &got, &mut scratch) {
            return completeness(ppt, &members, &got, "converged result");
        }
        for m in &mut members {
            m.owned = got[&m.member_id].clone();
            m.generation = Some(round + 1);
        }
        got = assign(strategy, ppt, &members);
    }
    vec!["cooperative rounds did not converge in 8 rounds".into()]
}

fn run_case(case: &Value) -> Vec<String> {
    let strategy = Strategy::from_kafka_name(case["strategy"].as_str().expect("strategy"))
        .expect("known strategy");
    let ppt = partitions_per_topic(case);
    let mut members = members_of(case);
    let order = case["compare"].as_str().unwrap_or("ordered");
    let mut got = assign(strategy, &ppt, &members);
    let mut errors = compare(&case["expected"], order, &got, "first call");

    let ids: BTreeSet<&String> = members.iter().map(|m| &m.member_id).collect();
    if got.keys().collect::<BTreeSet<_>>() != ids {
        errors.push(format!("result members {:?} != {:?}", got.keys(), ids));
    }

    if strategy != Strategy::CooperativeSticky {
        errors.extend(completeness(&ppt, &members, &got, "eager result"));
    }
    if strategy == Strategy::CooperativeSticky {
        // Whatever the case asserts, the rounds must converge to a complete assignment.
        errors.extend(converged_completeness(strategy, &ppt, &members, &got));
        let converge = &case["converge"];
        let max_rounds = converge["max_rounds"].as_u64().unwrap_or(4);
        let generation = converge["generation"].as_i64().unwrap_or(1) as i32;
        let mut rounds = 0;
        loop {
            let revoked = cooperative_round(&members, &got, &mut errors);
            if !revoked || converge.is_null() {
                break;
            }
            rounds += 1;
            if rounds > max_rounds {
                errors.push(format!("did not converge within {max_rounds} rounds"));
                break;
            }
            for m in &mut members {
                m.owned = got[&m.member_id].clone();
                m.generation = Some(generation);
            }
            got = assign(strategy, &ppt, &members);
        }
        errors.extend(compare(&converge["expected"], order, &got, "converged"));
    }
    errors.extend(check(case, &members, &got));
    errors
}

#[test]
fn kafka_assignor_cases() {
    let doc: Value = serde_json::from_str(CASES).expect("valid JSON");
    let cases = doc["cases"].as_array().expect("cases");
    let mut per_class: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let class = name.split('.').next().unwrap_or(name).to_string();
        let errors = run_case(case);
        let entry = per_class.entry(class).or_default();
        entry.1 += 1;
        if errors.is_empty() {
            entry.0 += 1;
        } else {
            failures.push(format!("{name}:\n    {}", errors.join("\n    ")));
        }
    }
    for (class, (pass, total)) in &per_class {
        println!("{class}: {pass}/{total} passed");
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
