//! The Produce panel: the producers and their workloads, a record by hand with its
//! partition computation, a poison record, faults, and "add a partition" with the keys
//! that move.

use leptos::prelude::*;

use super::flights::ellipsize;
use super::format::computation;
use super::state::expect_lab;
use crate::engine::view::{
    self, Command, KeySpace, ProduceFault, ProducerId, TopicId, TopicView, Workload,
    MAX_PARTITIONS, MAX_PRODUCERS,
};

/// The one-line simplification behind "add a partition".
const SIMPLIFIED_METADATA: &str = "Simplified: the lab's producers see the new partition at once; a Java producer waits for its next metadata refresh (metadata.max.age.ms, 5 min by default).";

/// How many moved keys the notice names before "and N more".
const MOVED_NAMED: usize = 24;

/// The Produce panel: the topic it writes to, then its parts.
#[component]
pub fn ProducePanel() -> impl IntoView {
    let lab = expect_lab();
    // The topic this panel writes to, grows and points new producers at.
    let topic_sel = RwSignal::new(TopicId(0));
    let topics = Memo::new(move |_| lab.with(|l| view::topics(l.sim())));
    view! {
        <section class="lab-panel" aria-labelledby="producer-title">
            <h2 id="producer-title" class="lab-panel__title">"Producers"</h2>
            {move || (topics.with(Vec::len) > 1).then(|| view! {
                <label class="lab-field lab-field--inline">
                    <span class="lab-field__label">"this panel writes to topic"</span>
                    <select
                        class="lab-select"
                        data-testid="produce-topic"
                        prop:value=move || topic_sel.get().0.to_string()
                        on:change=move |ev| {
                            if let Ok(t) = event_target_value(&ev).parse::<u16>() {
                                topic_sel.set(TopicId(t));
                            }
                        }
                    >
                        {topics.get().into_iter().map(|t| view! { <option value=t.id.0.to_string()>{t.name}</option> }).collect_view()}
                    </select>
                </label>
            })}
            <ProducerList topics=topics topic_sel=topic_sel/>
            <HandRecord topic_sel=topic_sel/>
            <Faults/>
            <PartitionsBox topics=topics topic_sel=topic_sel/>
            <h3 class="lab-panel__subtitle">"Topics"</h3>
            <p class="lab-hint" data-testid="topics">
                {move || topics.with(|ts| ts.iter().map(|t| format!("{} ({} partitions)", t.name, t.partitions)).collect::<Vec<_>>().join(" · "))}
            </p>
            <NewTopic/>
        </section>
    }
}

/// The producers with their workloads and the topic each writes to; add one, or make a
/// key hot.
#[component]
fn ProducerList(topics: Memo<Vec<TopicView>>, topic_sel: RwSignal<TopicId>) -> impl IntoView {
    let lab = expect_lab();
    let producers = Memo::new(move |_| lab.with(|l| view::producers(l.sim())));
    let workload = move |key_space: KeySpace| {
        let s = lab.scenario();
        Some(Workload {
            rate_per_sec: s.rate_per_sec.max(1),
            key_space,
            payload_bytes: 100,
            topic: topic_sel.get_untracked(),
        })
    };
    view! {
        <ul class="lab-list" data-testid="producers">
            {move || {
                producers
                    .get()
                    .into_iter()
                    .map(|p| {
                        let workload = p.workload.as_ref().map_or("no workload".to_owned(), |w| format!("{} records/s", w.rate_per_sec));
                        let pointed = p.workload.clone().map(|w| {
                            let id = p.id;
                            let current = w.topic;
                            view! {
                                <select
                                    class="lab-select lab-select--inline"
                                    aria-label=format!("the topic {} writes to", p.client_id)
                                    data-testid=format!("producer-topic-{}", p.client_id)
                                    on:change=move |ev| {
                                        if let Ok(t) = event_target_value(&ev).parse::<u16>() {
                                            lab.act(Command::SetWorkload { producer: id, workload: Some(Workload { topic: TopicId(t), ..w.clone() }) });
                                        }
                                    }
                                >
                                    {topics.get().into_iter().map(|t| view! { <option value=t.id.0.to_string() selected=t.id == current>{format!("→ {}", t.name)}</option> }).collect_view()}
                                </select>
                            }
                        });
                        view! {
                            <li>
                                <strong>{p.client_id.clone()}</strong>
                                {format!(
                                    ": {workload} · acks={} · enable.idempotence={} · acked {}{} ",
                                    p.config.acks.kafka_value(),
                                    p.idempotent,
                                    p.acked,
                                    if p.failed > 0 { format!(" · failed {}", p.failed) } else { String::new() },
                                )}
                                {pointed}
                                {
                                    let id = p.id;
                                    view! {
                                        <button class="lab-button lab-button--small" data-testid=format!("crash-{}", p.client_id)
                                            title="Lab: the service's process dies and is restarted at once, as a new producer"
                                            on:click=move |_| lab.act(Command::CrashProducer { producer: id })>"crash service"</button>
                                    }
                                }
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
        <div class="lab-row">
            <button
                type="button"
                class="lab-button"
                data-testid="add-producer"
                disabled=move || producers.with(|p| p.len() >= MAX_PRODUCERS)
                on:click=move |_| {
                    let s = lab.scenario();
                    lab.act(Command::AddProducer {
                        config: s.producer.clone(),
                        workload: workload(s.key_space()),
                    });
                }
            >
                "Add a producer"
            </button>
            <button
                type="button"
                class="lab-button"
                data-testid="hot-key"
                title="producer-1 sends 80% of its records with one key (with orders: one customer places 80% of the orders)"
                on:click=move |_| {
                    let s = lab.scenario();
                    lab.act(Command::SetWorkload {
                        producer: ProducerId(0),
                        workload: workload(if s.orders {
                            KeySpace::Orders { customers: s.keys, hot_percent: 80 }
                        } else {
                            KeySpace::HotKey { prefix: "order-".into(), count: s.keys, hot_percent: 80 }
                        }),
                    });
                }
            >
                "Make one key hot"
            </button>
        </div>
        {move || producers.with(|p| p.len() >= MAX_PRODUCERS).then(|| view! {
            <p class="lab-hint">{format!("The lab runs at most {MAX_PRODUCERS} producers.")}</p>
        })}
    }
}

/// A record typed by hand, with where its key landed and why; ten random orders; a poison
/// record.
#[component]
fn HandRecord(topic_sel: RwSignal<TopicId>) -> impl IntoView {
    let lab = expect_lab();
    let key = RwSignal::new(String::from("order-42"));
    let value = RwSignal::new(String::from("{\"total\": 42}"));
    let last = RwSignal::new(None::<String>);
    let produce_one = move || {
        let k = key.get_untracked();
        // An empty key is a null key, as in the Java client (no key, no hash).
        let key_opt = (!k.is_empty()).then_some(k);
        let command = Command::Produce {
            key: key_opt,
            value: value.get_untracked(),
            topic: topic_sel.get_untracked(),
        };
        match lab.command(command) {
            Ok(()) => last.set(lab.with_untracked(|l| {
                let landed = view::last_record_appended(l.sim())?;
                let name = landed.key.as_deref().map(|n| ellipsize(n, 40));
                let why = computation(name.as_deref(), &landed.reason, landed.tp.p());
                Some(format!("{why} → offset {}", landed.offset))
            })),
            Err(e) => lab.error(e.to_string()),
        }
    };
    view! {
        <h3 class="lab-panel__subtitle">"A record by hand"</h3>
        <p class="lab-hint">"Appended straight to the log, with the Java client's partitioner. An empty key is a null key."</p>
        <form
            class="lab-form"
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
            <button type="submit" class="lab-button lab-button--primary" data-testid="produce">"Produce"</button>
            <button
                type="button"
                class="lab-button"
                data-testid="tombstone"
                title="This key with a null value, sent by producer-1: on a compacted topic it deletes the key"
                on:click=move |_| {
                    let k = key.get_untracked();
                    if k.is_empty() {
                        lab.error("A tombstone deletes a key: type the key first.".to_owned());
                        return;
                    }
                    lab.act(Command::Send {
                        producer: ProducerId(0),
                        key: Some(k),
                        payload_bytes: 0,
                        poison: false,
                        tombstone: true,
                        topic: topic_sel.get_untracked(),
                    })
                }
            >
                "∅ Tombstone"
            </button>
        </form>
        <p class="lab-computation lab-mono" data-testid="computation" aria-live="polite">
            {move || last.get().unwrap_or_else(|| "Produce a record to see where its key lands.".into())}
        </p>
        <div class="lab-row">
            <button
                type="button"
                class="lab-button"
                data-testid="produce-random"
                on:click=move |_| lab.act(Command::ProduceRandomOrders { count: 10, topic: topic_sel.get_untracked() })
            >
                "10 random orders"
            </button>
            <button
                type="button"
                class="lab-button"
                data-testid="poison"
                title="The consumer that processes it crashes; its replacement crashes too"
                on:click=move |_| lab.act(Command::Send {
                    producer: ProducerId(0),
                    key: Some("poison".into()),
                    payload_bytes: 100,
                    poison: true,
                    tombstone: false,
                    topic: topic_sel.get_untracked(),
                })
            >
                "☠ Send a poison record"
            </button>
        </div>
    }
}

/// Faults on producer-1's next request or response.
#[component]
fn Faults() -> impl IntoView {
    let lab = expect_lab();
    let fault = move |fault: ProduceFault| {
        lab.act(Command::InjectProduceFault {
            producer: ProducerId(0),
            fault,
        })
    };
    view! {
        <h3 class="lab-panel__subtitle">"Faults"</h3>
        <div class="lab-row">
            <button type="button" class="lab-button" data-testid="lose-ack" title="The broker appends the next request, but its response is lost: the producer retries" on:click=move |_| fault(ProduceFault::LostAck)>
                "Lose the next response"
            </button>
            <button type="button" class="lab-button" data-testid="lose-request" title="The next produce request never reaches the broker" on:click=move |_| fault(ProduceFault::LostRequest)>
                "Lose the next request"
            </button>
        </div>
    }
}

/// The topic's partition count, and "add a partition" with the keys that move.
#[component]
fn PartitionsBox(topics: Memo<Vec<TopicView>>, topic_sel: RwSignal<TopicId>) -> impl IntoView {
    let lab = expect_lab();
    let topic_name = move || {
        let t = topic_sel.get();
        topics.with(|ts| {
            ts.iter()
                .find(|x| x.id == t)
                .map_or_else(String::new, |x| x.name.clone())
        })
    };
    let partitions = move || {
        let t = topic_sel.get();
        topics.with(|ts| ts.iter().find(|x| x.id == t).map_or(0, |x| x.partitions))
    };
    let add_partition = move |_: leptos::ev::MouseEvent| {
        let current = partitions();
        let command = Command::AddPartitions {
            total: current + 1,
            topic: topic_sel.get_untracked(),
        };
        if let Err(e) = lab.command(command) {
            lab.error(e.to_string());
            return;
        }
        let moved = lab.with_untracked(|l| view::keys_moved_by_last_partitions_added(l.sim()));
        lab.info(moved_words(current + 1, &moved));
    };
    view! {
        <h3 class="lab-panel__subtitle">"Partitions"</h3>
        <div class="lab-row">
            <span>"topic " {topic_name} " has " <strong data-testid="partition-count">{partitions}</strong> " partitions"</span>
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
        {move || (partitions() >= MAX_PARTITIONS).then(|| view! {
            <p class="lab-hint" data-testid="partition-limit">{format!("The lab's topics have at most {MAX_PARTITIONS} partitions.")}</p>
        })}
    }
}

/// What adding a partition did to the known keys, in words: `(key, from, to)` each.
fn moved_words(now: u32, moved: &[(String, u32, u32)]) -> String {
    let n = moved.len();
    if n == 0 {
        return format!("Now {now} partitions. No known key moved. {SIMPLIFIED_METADATA}");
    }
    let named: Vec<String> = moved
        .iter()
        .take(MOVED_NAMED)
        .map(|(k, from, to)| format!("{} p{from}→p{to}", ellipsize(k, 24)))
        .collect();
    let more = if n > MOVED_NAMED {
        format!(" and {} more", n - MOVED_NAMED)
    } else {
        String::new()
    };
    format!(
        "Now {now} partitions. {n} key{} now map elsewhere (their old records stay where they are): {}{more}. {SIMPLIFIED_METADATA}",
        if n == 1 { "" } else { "s" },
        named.join(", ")
    )
}

/// "Add a topic": a name, a partition count and a replication factor (at most the brokers).
#[component]
fn NewTopic() -> impl IntoView {
    let lab = expect_lab();
    let name = RwSignal::new(String::new());
    let partitions = RwSignal::new(String::from("2"));
    let brokers = move || lab.scenario().cluster.brokers.max(1);
    let rf = RwSignal::new(lab.scenario().cluster.brokers.clamp(1, 3));
    let create = move || {
        let typed = name.get_untracked();
        let n = lab.with_untracked(|l| view::topics(l.sim()).len());
        let name_now = if typed.trim().is_empty() {
            format!("topic-{}", n + 1)
        } else {
            typed.trim().to_owned()
        };
        let count = match partitions.get_untracked().trim().parse::<u32>() {
            Ok(c) if (1..=MAX_PARTITIONS).contains(&c) => c,
            _ => {
                lab.error(format!(
                    "A topic has 1 to {MAX_PARTITIONS} partitions in the lab, not \"{}\".",
                    super::state::capped(partitions.get_untracked())
                ));
                return;
            }
        };
        let replication_factor = rf.get_untracked();
        let config = view::TopicConfig {
            replication_factor: Some(replication_factor),
            ..Default::default()
        };
        match lab.command(Command::CreateTopic {
            name: name_now.clone(),
            partitions: count,
            config,
        }) {
            Ok(()) => {
                name.set(String::new());
                lab.info(format!(
                    "Created {name_now}: {count} partition{}, replication factor {replication_factor}. A group you add now reads every topic, and a producer can be pointed at it.",
                    if count == 1 { "" } else { "s" }
                ));
            }
            Err(e) => lab.error(e.to_string()),
        }
    };
    view! {
        <form
            class="lab-form"
            data-testid="new-topic"
            on:submit=move |ev| {
                ev.prevent_default();
                create();
            }
        >
            <label class="lab-field">
                <span class="lab-field__label">"name"</span>
                <input class="lab-field__input" data-testid="topic-name" maxlength="249" placeholder="topic-2" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label class="lab-field lab-field--inline">
                <span class="lab-field__label">"partitions"</span>
                <input class="lab-field__input lab-field__input--short" data-testid="topic-partitions" inputmode="numeric" maxlength="4" prop:value=move || partitions.get() on:input=move |ev| partitions.set(event_target_value(&ev))/>
            </label>
            <label class="lab-field lab-field--inline">
                <span class="lab-field__label">"replication.factor"</span>
                <select
                    class="lab-select"
                    data-testid="topic-rf"
                    prop:value=move || rf.get().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u16>() {
                            rf.set(v);
                        }
                    }
                >
                    {move || (1..=brokers()).map(|b| view! { <option value=b.to_string()>{b}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit" class="lab-button" data-testid="add-topic">"Add a topic"</button>
        </form>
    }
}
