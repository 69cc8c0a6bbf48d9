//! The Setup panel: Kafka's configs with their real names, defaults and units; the commit
//! mode explained where it is chosen; starting over; and the session as a file or link.
//!
//! A valid change replays the lab from t = 0 with the new setup and the same recorded
//! actions, up to the same moment: the history is kept. An invalid value gets a message
//! under its field and changes nothing.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::files::{download, file_button};
use super::state::expect_lab;
use crate::engine::view::ManualCommit;
use crate::lab::level::parse_run;
use crate::lab::scenario::{commit_mode_sentence, Scenario};

/// The commit modes, in the order offered.
const MODES: [ManualCommit; 4] = [
    ManualCommit::Off,
    ManualCommit::AfterBatch,
    ManualCommit::AfterEachRecord,
    ManualCommit::BeforeProcessing,
];

/// How a field is edited.
enum Input {
    Text,
    Choice(&'static [&'static str]),
}

/// `(name as typed, input, note)` of the fields shown, in order.
const FIELDS: &[(&str, Input, &str)] = &[
    (
        "partition.assignment.strategy",
        Input::Choice(&["range", "roundrobin", "sticky", "cooperative-sticky"]),
        "Kafka 4.x default: range, cooperative-sticky",
    ),
    (
        "session.timeout.ms",
        Input::Text,
        "shortened here so a crash plays out in seconds (Kafka's default: 45000)",
    ),
    (
        "heartbeat.interval.ms",
        Input::Text,
        "shortened with the session timeout (Kafka's default: 3000)",
    ),
    ("max.poll.interval.ms", Input::Text, ""),
    (
        "max.poll.records",
        Input::Text,
        "lowered so batches stay visible (Kafka's default: 500)",
    ),
    ("enable.auto.commit", Input::Choice(&["true", "false"]), ""),
    ("auto.commit.interval.ms", Input::Text, ""),
    (
        "auto.offset.reset",
        Input::Choice(&["earliest", "latest", "none"]),
        "earliest here so the first records are seen (Kafka's default: latest)",
    ),
    (
        "processing.ms",
        Input::Text,
        "lab only: the time the application spends per record",
    ),
    (
        "dedupe",
        Input::Choice(&["off", "event-id", "stored-offsets", "upsert"]),
        "lab only: event-id skips ids stored with the effects; stored-offsets seeks to the offsets stored with them; upsert rewrites a charge's own row",
    ),
    (
        "on.error",
        Input::Choice(&["crash", "skip", "dead-letter"]),
        "lab only: a record that fails for good kills the consumer, is logged and skipped, or goes to orders.dlq with its error",
    ),
    (
        "service.write",
        Input::Choice(&["kafka-only", "row-then-event", "event-then-row", "outbox"]),
        "lab only: how producer-1's service writes its own order row with each event (a dual write, or an outbox and a relay)",
    ),
    (
        "error.retries",
        Input::Text,
        "lab only: retries of a failing record, in place, before on.error (the poll loop waits)",
    ),
    ("error.retry.backoff.ms", Input::Text, "lab only: the wait before each retry"),
    ("producer.acks", Input::Choice(&["all", "1", "0"]), ""),
    (
        "producer.enable.idempotence",
        Input::Choice(&["true", "false"]),
        "",
    ),
    ("producer.linger.ms", Input::Text, ""),
    ("producer.batch.size", Input::Text, ""),
    (
        "producer.max.in.flight.requests.per.connection",
        Input::Text,
        "",
    ),
    ("producer.retries", Input::Text, ""),
    ("producer.delivery.timeout.ms", Input::Text, ""),
    ("producer.request.timeout.ms", Input::Text, ""),
    (
        "producer.partitioner.class",
        Input::Choice(&["default", "RoundRobinPartitioner", "consistent_random"]),
        "consistent_random is librdkafka's default (crc32)",
    ),
    ("partitions", Input::Text, "lab: partitions of topic orders"),
    (
        "cleanup.policy",
        Input::Choice(&["delete", "compact", "delete,compact"]),
        "topic orders: delete drops old segments; compact keeps each key's latest record",
    ),
    (
        "retention.ms",
        Input::Text,
        "a closed segment goes once its newest record is this old (Kafka's default: 7 days); -1 keeps it",
    ),
    ("retention.bytes", Input::Text, "per partition; -1: no limit"),
    (
        "segment.ms",
        Input::Text,
        "the active segment rolls this long after its first record (Kafka's default: 7 days)",
    ),
    (
        "segment.bytes",
        Input::Text,
        "at least 1 MiB in Kafka 4; a lab record is a little over 100 bytes",
    ),
    (
        "min.cleanable.dirty.ratio",
        Input::Text,
        "the cleaner takes a compacted log once its dirty share is over this (lab: a pass takes no time)",
    ),
    ("min.compaction.lag.ms", Input::Text, ""),
    ("max.compaction.lag.ms", Input::Text, ""),
    (
        "delete.retention.ms",
        Input::Text,
        "a tombstone stays this long after the cleaning pass that first kept it (Kafka's default: 1 day)",
    ),
    (
        "brokers",
        Input::Text,
        "lab: brokers in the cluster, 1 to 9",
    ),
    (
        "replication.factor",
        Input::Text,
        "copies of each partition, capped by the brokers (Kafka's default.replication.factor: 1)",
    ),
    (
        "min.insync.replicas",
        Input::Text,
        "acks=all writes need this many in-sync replicas (Kafka's default: 1)",
    ),
    (
        "unclean.leader.election.enable",
        Input::Choice(&["false", "true"]),
        "true lets an out-of-sync replica lead, and its missing records are lost",
    ),
    ("replica.lag.time.max.ms", Input::Text, ""),
    (
        "rate",
        Input::Text,
        "lab: records per second from producer-1",
    ),
    ("keys", Input::Text, "lab: distinct keys order-0 … (with values=orders: customers)"),
    (
        "values",
        Input::Choice(&["keys", "orders"]),
        "lab only: records that carry only a key, or a shop's order events (created, then paid or cancelled); keys then counts customers",
    ),
    (
        "key.field",
        Input::Choice(&["order_id", "customer_id", "customer_id+order_id", "none"]),
        "lab only: the field of each order event the producer takes the key from",
    ),
    (
        "hot.percent",
        Input::Text,
        "lab only: the share of records one key (with orders, one customer) takes",
    ),
    (
        "consumers",
        Input::Text,
        "lab: consumers in group payments at the start",
    ),
    (
        "network.latency.ms",
        Input::Text,
        "lab: N or MIN-MAX per message",
    ),
    (
        "seed",
        Input::Text,
        "lab: the one random seed; same seed and actions, same run",
    ),
];

/// The current value of a field; a select shows the first of a list (the assignor).
fn value_of(s: &Scenario, name: &str) -> String {
    let v = s.get(name);
    match name {
        "partition.assignment.strategy" => v.split(',').next().unwrap_or_default().to_owned(),
        _ => v,
    }
}

/// The Setup panel.
#[component]
pub fn SetupPanel() -> impl IntoView {
    let lab = expect_lab();
    let errors = RwSignal::new(BTreeMap::<&'static str, String>::new());
    let apply = move |name: &'static str, value: String| {
        if let Some(refusal) = lab.setting_refused(name) {
            errors.update(|m| {
                m.insert(name, refusal);
            });
            return;
        }
        let mut draft = lab.scenario();
        match draft.set(name, &value) {
            Ok(()) => match lab.rebuild(draft) {
                Ok(actions) => {
                    errors.update(BTreeMap::clear);
                    lab.info(format!(
                        "{name} = {value}: the lab replayed from t = 0 with this setup{}.",
                        if actions == 0 {
                            String::new()
                        } else {
                            format!(
                                " and your {actions} recorded action{}",
                                if actions == 1 { "" } else { "s" }
                            )
                        }
                    ));
                }
                Err(e) => errors.update(|m| {
                    m.insert(name, e);
                }),
            },
            Err(e) => errors.update(|m| {
                m.insert(name, e.to_string());
            }),
        }
    };
    let mode = move || lab.with(|l| l.scenario().group.manual_commit);
    let confirm_reset = RwSignal::new(false);
    let actions = move || lab.with(|l| l.session().commands.len());
    view! {
        <section class="lab-panel" aria-labelledby="setup-title">
            <h2 id="setup-title" class="lab-panel__title">"Setup"</h2>
            <fieldset class="lab-modes">
                <legend class="lab-panel__subtitle">"When the consumers commit"</legend>
                {MODES
                    .iter()
                    .map(|&m| {
                        view! {
                            <label class="lab-mode">
                                <input
                                    type="radio"
                                    name="commit-mode"
                                    data-testid=format!("commit-mode-{}", m.name())
                                    prop:checked=move || mode() == m
                                    on:change=move |_| apply("commit.mode", m.name().to_owned())
                                />
                                <span><code>{m.name()}</code> " " {commit_mode_sentence(m)}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            {move || errors.with(|e| e.get("commit.mode").cloned()).map(|e| view! { <p class="lab-field__error" role="alert">{e}</p> })}
            <p class="lab-hint">"Changing a value replays the lab from t = 0 with it, keeping your recorded actions and the current moment."</p>
            <div class="lab-config">
                {FIELDS
                    .iter()
                    .map(|(name, input, note)| {
                        let name: &'static str = name;
                        let value = move || lab.with(|l| value_of(l.scenario(), name));
                        let error = move || errors.with(|e| e.get(name).cloned());
                        let control = match input {
                            Input::Text => view! {
                                <input
                                    class="lab-field__input"
                                    data-config=name
                                    aria-label=name
                                    aria-invalid=move || error().is_some().to_string()
                                    prop:value=value
                                    on:change=move |ev| apply(name, event_target_value(&ev))
                                />
                            }
                            .into_any(),
                            Input::Choice(options) => view! {
                                <select
                                    class="lab-select"
                                    data-config=name
                                    aria-label=name
                                    prop:value=value
                                    on:change=move |ev| apply(name, event_target_value(&ev))
                                >
                                    {options.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                                </select>
                            }
                            .into_any(),
                        };
                        view! {
                            <label class="lab-config__field">
                                <span class="lab-field__label lab-mono">{name}</span>
                                {control}
                                {(!note.is_empty()).then(|| view! { <span class="lab-hint">{*note}</span> })}
                                {move || error().map(|e| view! { <span class="lab-field__error" role="alert">{e}</span> })}
                            </label>
                        }
                    })
                    .collect_view()}
            </div>

            <h3 class="lab-panel__subtitle">"Start over"</h3>
            <div class="lab-row">
                <button
                    class="lab-button"
                    data-testid="reset"
                    on:click=move |_| {
                        if actions() == 0 {
                            lab.reset(lab.scenario());
                        } else {
                            confirm_reset.set(true);
                        }
                    }
                >
                    "Start over at t = 0"
                </button>
                {move || confirm_reset.get().then(|| view! {
                    <span class="lab-confirm" role="alertdialog" aria-label="confirm starting over">
                        {format!("This discards your {} recorded action{}. ", actions(), if actions() == 1 { "" } else { "s" })}
                        <button class="lab-button lab-button--danger" data-testid="reset-confirm" on:click=move |_| {
                            confirm_reset.set(false);
                            lab.reset(lab.scenario());
                            lab.info("Started over: exactly what a fresh load shows.");
                        }>"Discard and start over"</button>
                        <button class="lab-button" on:click=move |_| confirm_reset.set(false)>"Keep"</button>
                    </span>
                })}
            </div>
            <SessionBox/>
        </section>
    }
}

/// The session as JSON: copy it out, paste one in, or copy a link that opens it.
#[component]
fn SessionBox() -> impl IntoView {
    let lab = expect_lab();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let open = move |json: &str| match parse_run(json.trim()).map_err(|e| e.to_string()) {
        Ok(session) => match lab.load(session) {
            Ok(()) => {
                error.set(None);
                lab.info("Opened the run.");
            }
            Err(e) => error.set(Some(format!(
                "That run could not be opened: {e}. Nothing changed."
            ))),
        },
        Err(e) => error.set(Some(format!(
            "That is not a run the lab can open: {e}. Nothing changed."
        ))),
    };
    view! {
        <h3 class="lab-panel__subtitle">"Share or restore this run"</h3>
        <p class="lab-hint">"A run is its setup, its seed and your actions with their times: anyone who opens it sees the same run."</p>
        <div class="lab-row">
            <button class="lab-button" data-testid="export" on:click=move |_| {
                text.set(lab.session_json());
                error.set(None);
            }>"Show this run as JSON"</button>
            <button class="lab-button" data-testid="share-link" on:click=move |_| {
                match lab.share_link() {
                    Ok(link) => {
                        text.set(link);
                        lab.info("The link to this run is in the box below: copy it and share it.");
                    }
                    Err(e) => lab.error(e),
                }
            }>"Make a link"</button>
            <button class="lab-button" data-testid="import" on:click=move |_| open(&text.get_untracked())>"Open the JSON in the box"</button>
        </div>
        <div class="lab-row">
            <button class="lab-button" data-testid="run-download" on:click=move |_| {
                if let Err(e) = download("kafka-lab-run.json", &lab.session_json()) {
                    error.set(Some(format!("No file: {e}.")));
                }
            }>"Download this run"</button>
            {file_button("Open a run file", "run-file", ".json,application/json", move |r| match r {
                Ok(json) => open(&json),
                Err(e) => error.set(Some(format!("That file could not be read ({e}). Nothing changed."))),
            })}
        </div>
        <textarea
            class="lab-session"
            data-testid="session-json"
            aria-label="a run as JSON, or a link to one"
            rows="4"
            prop:value=move || text.get()
            on:input=move |ev| text.set(event_target_value(&ev))
        ></textarea>
        {move || error.get().map(|e| view! { <p class="lab-field__error" role="alert" data-testid="import-error">{e}</p> })}
    }
}
