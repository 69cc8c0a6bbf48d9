//! The producer panel: type a key and a value, produce, and read the computation.

use leptos::prelude::*;

use super::format::computation;
use super::state::expect_lab;
use crate::engine::event::Event;
use crate::engine::producer::{KeySpace, Workload};
use crate::engine::topic::MAX_PARTITIONS;
use crate::engine::Command;

/// Produce form, "10 random orders", the last computation, and "add a partition".
#[component]
pub fn ProducePanel() -> impl IntoView {
    let lab = expect_lab();
    let key = RwSignal::new(String::from("order-42"));
    let value = RwSignal::new(String::from("{\"total\": 42}"));
    let last = RwSignal::new(None::<String>);

    // The computation of the newest directly produced record, read back from the events.
    let last_computation = move || {
        lab.with(|sim| {
            sim.events().iter().rev().find_map(|e| match e {
                Event::RecordAppended {
                    key,
                    partition,
                    reason,
                    ..
                } => {
                    let name = key.and_then(|k| sim.keys().get(k)).map(|k| k.name.as_str());
                    Some(computation(name, reason, *partition))
                }
                _ => None,
            })
        })
    };
    let produce_one = move || {
        let k = key.get_untracked();
        let key_opt = (!k.is_empty()).then_some(k);
        match lab.command(Command::Produce {
            key: key_opt,
            value: value.get_untracked(),
        }) {
            Ok(()) => {
                last.set(last_computation());
                lab.notice.set(None);
            }
            Err(e) => lab.error(e.to_string()),
        }
    };
    let produce_random = move |_: leptos::ev::MouseEvent| {
        lab.act(Command::ProduceRandomOrders { count: 10 });
        last.set(last_computation());
    };
    let add_partition = move |_: leptos::ev::MouseEvent| {
        let current = lab.with(|sim| sim.topic().partition_count());
        if let Err(e) = lab.command(Command::AddPartitions { total: current + 1 }) {
            lab.error(e.to_string());
            return;
        }
        let names: Vec<String> = lab.with(|sim| {
            sim.events()
                .iter()
                .rev()
                .find_map(|e| match e {
                    Event::PartitionsAdded { moved, .. } => Some(
                        moved
                            .iter()
                            .filter_map(|(id, from, to)| {
                                sim.keys()
                                    .get(*id)
                                    .map(|k| format!("{} p{from}→p{to}", k.name))
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .unwrap_or_default()
        });
        if names.is_empty() {
            lab.info(format!(
                "Now {} partitions. No known key moved.",
                current + 1
            ));
        } else {
            lab.info(format!(
                "Now {} partitions. {} key(s) now map elsewhere (old records stay put): {}",
                current + 1,
                names.len(),
                names.join(", ")
            ));
        }
    };
    let partitions = move || lab.with(|sim| sim.topic().partition_count());

    view! {
        <section class="lab-panel lab-producer" aria-labelledby="producer-title">
            <h2 id="producer-title" class="lab-panel__title">"Producers"</h2>
            <ul class="lab-producers" data-testid="producers">
                {move || {
                    lab.with(|sim| {
                        sim.producers()
                            .iter()
                            .map(|p| {
                                let workload = p.workload.as_ref().map_or("no workload".to_owned(), |w| {
                                    format!("{} records/s", w.rate_per_sec)
                                });
                                let line = format!(
                                    "{}: {workload} · acks={} · idempotent={} · acked {}{}",
                                    p.client_id,
                                    p.config.acks.kafka_value(),
                                    p.config.idempotence(),
                                    p.acked_records,
                                    if p.failed_records > 0 { format!(" · failed {}", p.failed_records) } else { String::new() },
                                );
                                view! { <li>{line}</li> }
                            })
                            .collect_view()
                    })
                }}
            </ul>
            <button
                type="button"
                class="lab-button lab-button--small"
                data-testid="add-producer"
                on:click=move |_| {
                    let s = lab.scenario.get_untracked();
                    lab.act(Command::AddProducer {
                        config: s.producer.clone(),
                        workload: Some(Workload {
                            rate_per_sec: s.rate_per_sec,
                            key_space: KeySpace::Uniform { prefix: "order-".into(), count: s.keys },
                            payload_bytes: 100,
                        }),
                    });
                }
            >
                "Add a producer"
            </button>
            <h3 class="lab-producer__manual">"Send by hand (appended directly)"</h3>
            <form
                class="lab-producer__form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    produce_one();
                }
            >
                <label class="lab-field">
                    <span class="lab-field__label">"key"</span>
                    <input
                        class="lab-field__input"
                        data-testid="key-input"
                        aria-label="record key"
                        placeholder="empty = null key"
                        prop:value=move || key.get()
                        on:input=move |ev| key.set(event_target_value(&ev))
                    />
                </label>
                <label class="lab-field">
                    <span class="lab-field__label">"value"</span>
                    <input
                        class="lab-field__input"
                        data-testid="value-input"
                        aria-label="record value"
                        prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="lab-button lab-button--primary" data-testid="produce">
                    "Produce"
                </button>
            </form>
            <button
                type="button"
                class="lab-button"
                data-testid="poison"
                title="The consumer that processes it crashes"
                on:click=move |_| {
                    lab.act(Command::Send { producer: 0, key: Some("poison".into()), payload_bytes: 100, poison: true })
                }
            >
                "Send a poison record"
            </button>
            <button type="button" class="lab-button" data-testid="produce-random" on:click=produce_random>
                "Produce 10 random orders"
            </button>
            <p class="lab-computation" data-testid="computation" aria-live="polite">
                {move || last.get().unwrap_or_else(|| "Produce a record to see where its key lands.".into())}
            </p>
            <div class="lab-producer__partitions">
                <span>"partitions: " <strong data-testid="partition-count">{partitions}</strong></span>
                <button
                    type="button"
                    class="lab-button"
                    data-testid="add-partition"
                    disabled=move || { partitions() >= MAX_PARTITIONS }
                    on:click=add_partition
                >
                    "Add a partition"
                </button>
            </div>
        </section>
    }
}
