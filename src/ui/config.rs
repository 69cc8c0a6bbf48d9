//! Configuration with Kafka's names, defaults and units. A valid change restarts the lab
//! from t = 0 with the new setup; an invalid one gets a message under its field and
//! changes nothing.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::config::{Acks, AutoOffsetReset};
use crate::engine::scenario::Scenario;

/// `(section, name as typed, current value)` for every field.
fn fields(s: &Scenario) -> Vec<(&'static str, &'static str, String)> {
    let g = &s.group;
    let p = &s.producer;
    let strategies: Vec<&str> = g
        .partition_assignment_strategy
        .iter()
        .map(|x| x.kafka_name())
        .collect();
    vec![
        (
            "producer",
            "producer.acks",
            match p.acks {
                Acks::Zero => "0".into(),
                Acks::One => "1".into(),
                Acks::All => "all".into(),
            },
        ),
        (
            "producer",
            "producer.enable.idempotence",
            p.idempotence().to_string(),
        ),
        ("producer", "producer.linger.ms", p.linger_ms.to_string()),
        ("producer", "producer.batch.size", p.batch_size.to_string()),
        (
            "producer",
            "producer.max.in.flight.requests.per.connection",
            p.max_in_flight_requests_per_connection.to_string(),
        ),
        (
            "producer",
            "producer.partitioner.class",
            p.partitioner.name().to_owned(),
        ),
        (
            "group",
            "partition.assignment.strategy",
            strategies.join(","),
        ),
        (
            "group",
            "session.timeout.ms",
            g.session_timeout_ms.to_string(),
        ),
        (
            "group",
            "heartbeat.interval.ms",
            g.heartbeat_interval_ms.to_string(),
        ),
        (
            "group",
            "max.poll.interval.ms",
            g.max_poll_interval_ms.to_string(),
        ),
        ("group", "max.poll.records", g.max_poll_records.to_string()),
        (
            "group",
            "enable.auto.commit",
            g.enable_auto_commit.to_string(),
        ),
        (
            "group",
            "auto.commit.interval.ms",
            g.auto_commit_interval_ms.to_string(),
        ),
        (
            "group",
            "auto.offset.reset",
            match g.auto_offset_reset {
                AutoOffsetReset::Earliest => "earliest".into(),
                AutoOffsetReset::Latest => "latest".into(),
                AutoOffsetReset::None => "none".into(),
            },
        ),
        ("lab", "commit.mode", s.commit_mode().to_owned()),
        ("lab", "processing.ms", g.processing_ms.to_string()),
        ("lab", "partitions", s.partitions.to_string()),
        ("lab", "rate", s.rate_per_sec.to_string()),
        ("lab", "keys", s.keys.to_string()),
        ("lab", "consumers", s.consumers.to_string()),
        ("lab", "seed", s.seed.to_string()),
    ]
}

/// The configuration panel.
#[component]
pub fn ConfigPanel() -> impl IntoView {
    let lab = expect_lab();
    let errors = RwSignal::new(BTreeMap::<&'static str, String>::new());
    let apply = move |name: &'static str, value: String| {
        let mut draft = lab.scenario.get_untracked();
        match draft.set(name, &value) {
            Ok(()) => {
                // The restart rebuilds every field from the setup: old messages no longer apply.
                errors.update(BTreeMap::clear);
                lab.reset(draft);
                lab.info(format!(
                    "{name} = {value}: the lab restarted from t = 0 with this setup."
                ));
            }
            Err(e) => errors.update(|m| {
                m.insert(name, e.to_string());
            }),
        }
    };
    view! {
        <section class="lab-panel lab-config" aria-labelledby="config-title">
            <details>
                <summary>
                    <h2 id="config-title" class="lab-panel__title lab-config__title">"Configuration"</h2>
                </summary>
                <p class="lab-legend">
                    "Kafka's names and units. Producer settings are prefixed with producer. here. Changing one restarts the lab."
                </p>
                <div class="lab-config__grid">
                    {move || {
                        lab.scenario
                            .with(fields)
                            .into_iter()
                            .map(|(section, name, value)| {
                                let error = move || errors.with(|e| e.get(name).cloned());
                                view! {
                                    <label class=format!("lab-config__field lab-config__field--{section}")>
                                        <span class="lab-field__label">{name}</span>
                                        <input
                                            class="lab-field__input"
                                            data-config=name
                                            aria-label=name
                                            aria-invalid=move || error().is_some().to_string()
                                            prop:value=value
                                            on:change=move |ev| apply(name, event_target_value(&ev))
                                        />
                                        {move || error().map(|e| view! { <span class="lab-config__error" role="alert">{e}</span> })}
                                    </label>
                                }
                            })
                            .collect_view()
                    }}
                </div>
            </details>
        </section>
    }
}
