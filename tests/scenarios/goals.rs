//! Goals as typed predicates: what a level file may say is checked when it is read, and
//! a goal sampled while a run is played by hand (slices, steps, seeks, a command) reads
//! the same as the grader's straight replay.

use kafka_lab::engine::Command;
use kafka_lab::lab::history::Session;
use kafka_lab::lab::level::Level;
use kafka_lab::lab::Lab;

use super::{c, G0};

/// A small level: the default start (3 partitions, 12 records/s, 2 consumers), the
/// learner may crash consumers and add partitions, and `goals` is its goal.
fn level_with(goals: serde_json::Value) -> String {
    serde_json::json!({
        "format": 1,
        "id": "T01",
        "title": "test",
        "kind": "challenge",
        "topic": "tests",
        "seed_section": "-",
        "teaches": "-",
        "start": { "config": { "commit.mode": "after-batch" } },
        "allowed": ["CrashConsumer", "AddPartitions", "config:*"],
        "goal": goals,
        "check_at_ms": 40000,
        "hints": ["a", "b", "c"],
        "solution": { "commands": [
            { "at_ms": 12000, "command": { "CrashConsumer": { "group": 0, "consumer": 0 } } }
        ] }
    })
    .to_string()
}

fn refused(goal: serde_json::Value) -> String {
    let json = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&level_with(serde_json::json!([
            { "what": "lost", "op": "==", "value": 0 },
            goal
        ])))
        .unwrap(),
    )
    .unwrap();
    Level::parse(&json)
        .expect_err("the goal must be refused when the level is read")
        .to_string()
}

#[test]
fn a_goal_that_cannot_be_measured_is_refused_when_the_level_is_read_with_its_line() {
    use serde_json::json;
    let cases = [
        (
            json!({"what": "lag_maxx", "op": "<=", "value": 3}),
            "does not measure `lag_maxx`",
        ),
        (
            json!({"what": "lag_max", "topic": "payments-out", "op": "<=", "value": 3}),
            "no topic `payments-out`",
        ),
        (
            json!({"what": "once", "group": "analytics", "op": ">", "value": 3}),
            "no group `analytics`",
        ),
        (
            json!({"what": "lost", "op": "<=", "value": "three"}),
            "whole number",
        ),
        (
            json!({"what": "lost", "op": "<=", "value": -1}),
            "whole number",
        ),
        (
            json!({"what": "config:producer.acks", "op": ">=", "value": "all"}),
            "== or !=",
        ),
        (
            json!({"what": "config:producer.acks", "op": ">=", "value": 1}),
            "is not a number",
        ),
        (
            json!({"what": "config:linger.mss", "op": "==", "value": "5"}),
            "not a setting",
        ),
        (
            json!({"what": "lag", "op": "<=", "value": 5}),
            "needs a `partition`",
        ),
        (
            json!({"what": "brokers_alive", "group": "payments", "op": "==", "value": 3}),
            "has no group",
        ),
        (
            json!({"what": "lag_max", "over": [30000, 60000], "take": "max", "op": "<=", "value": 3}),
            "after the check time",
        ),
        (
            json!({"what": "lag_max", "over": [30000, 20000], "take": "max", "op": "<=", "value": 3}),
            "must start before it ends",
        ),
        (
            json!({"what": "lag_max", "over": [10000, 20000], "op": "<=", "value": 3}),
            "needs `take`",
        ),
        (
            json!({"what": "lag_max", "at_ms": 10000, "over": [10000, 20000], "take": "min", "op": "<=", "value": 3}),
            "not both",
        ),
        (
            json!({"what": "lag_total", "at_ms": 30000, "op": "<=", "value": {"at_ms": 90000}}),
            "after the check time",
        ),
        (
            json!({"what": "lag_total", "op": "<=", "value": {"t": 9}}),
            "{\"at_ms\": t}",
        ),
        (
            json!({"what": "config:producer.acks", "at_ms": 1000, "op": "==", "value": "all"}),
            "does not change during a run",
        ),
        (
            json!({"what": "event:Crashed", "op": ">=", "value": 1}),
            "not an event kind",
        ),
    ];
    for (goal, want) in cases {
        let e = refused(goal.clone());
        assert!(e.contains(want), "{goal}: {e}");
        // The second goal: the message points at its line in the file.
        assert!(e.contains("goal 2") && e.contains(", line "), "{goal}: {e}");
    }
}

#[test]
fn a_goal_names_the_goals_other_parts_of_the_file_refer_to() {
    let mut v: serde_json::Value = serde_json::from_str(&level_with(serde_json::json!([
        { "id": "repeats", "what": "duplicate", "op": ">", "value": 0 },
        { "what": "lost", "op": "==", "value": 0 }
    ])))
    .unwrap();
    v["untouched_fails"] = serde_json::json!(["repeats"]);
    assert!(Level::parse(&v.to_string()).is_ok());
    v["untouched_fails"] = serde_json::json!(["duplicate"]);
    let e = Level::parse(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("no goal is named `duplicate`"), "{e}");
    v["untouched_fails"] = serde_json::json!(["lost"]);
    v["wrong_answers"] = serde_json::json!([{
        "name": "nothing", "fails": ["nope"], "why": "-", "feedback": "-"
    }]);
    let e = Level::parse(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("wrong answer \"nothing\"") && e.contains("`nope`"),
        "{e}"
    );
}

/// Windows, moments and trends, in a level whose goal exercises each.
fn sampled_level() -> Level {
    Level::parse(&level_with(serde_json::json!([
        { "what": "lag_max", "over": [5000, 40000], "take": "max", "op": "<=", "value": 1000 },
        { "what": "members", "over": [0, 40000], "take": "min", "op": "<=", "value": 1 },
        { "what": "lag_total", "at_ms": 30000, "op": ">=", "value": { "at_ms": 10000 } },
        { "what": "event:ConsumerCrashed", "at_ms": 20000, "op": "==", "value": 1 },
        { "what": "lag", "partition": 1, "op": "<=", "value": 1000 },
        { "what": "log_end_offset", "op": ">", "value": 100 },
        { "what": "produced", "topic": "orders", "op": ">", "value": 100 },
        { "what": "config:producer.max.in.flight.requests.per.connection", "op": ">=", "value": 5 }
    ])))
    .expect("a level with every kind of goal")
}

fn crash_at(t: u64) -> (u64, Command) {
    (
        t,
        Command::CrashConsumer {
            group: G0,
            consumer: c(1),
        },
    )
}

#[test]
fn windows_moments_and_trends_are_measured_when_they_happen() {
    let level = sampled_level();
    let run = level.solution_session().unwrap();
    let v = level.grade(&run).unwrap();
    let holds: Vec<bool> = v.checks.iter().map(|c| c.holds).collect();
    // The crash at 12 s leaves one member from ~22 s on (session timeout): min members 1.
    assert_eq!(holds, vec![true; 8], "{}", v.line());
    assert!(v.checks.iter().all(|c| c.settled));
    assert!(
        v.checks[0]
            .actual
            .starts_with("max lag_max over 5 s–40 s = "),
        "{}",
        v.checks[0].actual
    );
    assert!(
        v.checks[2].actual.contains(", at 10 s = "),
        "{}",
        v.checks[2].actual
    );
    // Doing nothing: two members throughout, so `min members ≤ 1` fails; the lag falls
    // from 10 s to 30 s as the group catches up; nothing crashed.
    let idle = level.grade(&level.start_session().unwrap()).unwrap();
    assert_eq!(
        level.failed_goals(&idle),
        vec![
            "members".to_owned(),
            "lag_total".to_owned(),
            "event:ConsumerCrashed".to_owned()
        ],
        "{}",
        idle.line()
    );
    // A numeric setting compares as a number.
    let mut fewer = level.start_session().unwrap();
    fewer
        .scenario
        .set("producer.max.in.flight.requests.per.connection", "1")
        .unwrap();
    let v = level.grade(&fewer).unwrap();
    assert!(!v.checks[7].holds, "{}", v.checks[7].actual);
}

/// The page plays a level in frames of any size, steps, seeks back and forth, and the
/// learner acts mid-run: the goal reads exactly what the grader's straight replay reads.
#[test]
fn a_goal_sampled_while_playing_by_hand_reads_as_the_grader_does() {
    let level = sampled_level();
    let mut lab = Lab::watching(level.start_session().unwrap(), level.monitor()).unwrap();
    for ms in [7, 333, 1_000, 16, 2_500, 99] {
        lab.advance_by(ms);
    }
    lab.advance_to(5_050);
    // Step by step across window samples (one step is one event).
    while lab.now_ms() < 5_600 {
        lab.step();
    }
    // ...and stop in the middle of a sampled moment (items at it still to run).
    while !(lab.now_ms().is_multiple_of(100) && lab.sim().next_event_ms() == Some(lab.now_ms())) {
        lab.step();
    }
    lab.advance_to(11_950);
    lab.seek(3_000).unwrap();
    lab.advance_to(12_000);
    // The learner crashes c1 at 12 s, as the solution does.
    lab.command(crash_at(12_000).1).unwrap();
    lab.advance_to(25_000);
    lab.seek(18_000).unwrap();
    lab.advance_to(26_000);
    for _ in 0..25 {
        lab.step();
    }
    lab.advance_to(level.check_at_ms);
    let by_hand = level.checks(&lab);

    let mut run = Session::new(level.scenario().unwrap());
    let (at, command) = crash_at(12_000);
    run.record(at, command).unwrap();
    run.now_ms = level.check_at_ms;
    let graded = level.grade(&run).unwrap();
    assert_eq!(by_hand, graded.checks);
    // Sample for sample, too (a missed moment could hide behind the same max).
    let straight = Lab::watching(run, level.monitor()).unwrap();
    assert_eq!(
        lab.monitor().unwrap().samples(),
        straight.monitor().unwrap().samples()
    );
}

/// A command given after a seek back forks the run: samples after it were of the old
/// run and are taken again.
#[test]
fn a_fork_takes_the_samples_after_it_again() {
    let level = sampled_level();
    let mut lab = Lab::watching(level.solution_session().unwrap(), level.monitor()).unwrap();
    assert!(
        level.checks(&lab)[3].holds,
        "the solution crashed c1 by 20 s"
    );
    // Back before the crash; this time c2 crashes at 8 s, then c1's recorded crash is gone.
    lab.seek(8_000).unwrap();
    lab.command(Command::CrashConsumer {
        group: G0,
        consumer: c(2),
    })
    .unwrap();
    lab.advance_to(level.check_at_ms);
    let by_hand = level.checks(&lab);
    let mut run = Session::new(level.scenario().unwrap());
    run.record(
        8_000,
        Command::CrashConsumer {
            group: G0,
            consumer: c(2),
        },
    )
    .unwrap();
    run.now_ms = level.check_at_ms;
    assert_eq!(by_hand, level.grade(&run).unwrap().checks);
}
