//! The topic as partition lanes: one cell per offset, coloured by key, newest on the right.

use leptos::prelude::*;

use super::format::key_hue;
use super::state::expect_lab;

/// How many of the newest cells a lane shows; older ones scroll out of view.
const VISIBLE_CELLS: u64 = 24;

/// One cell's view model.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cell {
    offset: u64,
    key: Option<String>,
    hue: Option<u32>,
}

/// One lane's view model.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Lane {
    partition: u32,
    log_end_offset: u64,
    cells: Vec<Cell>,
}

/// The partition lanes of the topic.
#[component]
pub fn Lanes() -> impl IntoView {
    let lab = expect_lab();
    let lanes = Memo::new(move |_| {
        lab.with(|sim| {
            let keys = sim.keys();
            sim.topic()
                .partitions()
                .iter()
                .enumerate()
                .map(|(p, log)| {
                    let end = log.log_end_offset();
                    let from = end.saturating_sub(VISIBLE_CELLS);
                    let cells = log
                        .range(from, end)
                        .map(|(offset, r)| {
                            let info = r.key.and_then(|k| keys.get(k));
                            Cell {
                                offset,
                                key: info.map(|i| i.name.clone()),
                                hue: info.map(|i| key_hue(i.murmur2)),
                            }
                        })
                        .collect();
                    Lane {
                        partition: p as u32,
                        log_end_offset: end,
                        cells,
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    let topic_name = move || lab.with(|sim| sim.topic().name.clone());

    view! {
        <section class="lab-panel lab-topic" aria-labelledby="topic-title">
            <h2 id="topic-title" class="lab-panel__title">"Topic " <code>{topic_name}</code></h2>
            <div class="lab-lanes">
                <For each=move || lanes.get() key=|lane| (lane.partition, lane.log_end_offset) let:lane>
                    <LaneRow lane=lane/>
                </For>
            </div>
            <p class="lab-legend">"Each cell is one record at its offset; its colour is its key's hash. Grey = null key."</p>
        </section>
    }
}

#[component]
fn LaneRow(lane: Lane) -> impl IntoView {
    let Lane {
        partition,
        log_end_offset,
        cells,
    } = lane;
    view! {
        <div class="lab-lane" data-partition=partition role="list" aria-label=format!("partition {partition}")>
            <span class="lab-lane__label">"p" {partition}</span>
            <div class="lab-lane__cells">
                {cells
                    .into_iter()
                    .map(|c| {
                        let style = c
                            .hue
                            .map(|h| format!("--key-hue: {h}"))
                            .unwrap_or_default();
                        let title = format!("offset {}: key {}", c.offset, c.key.clone().unwrap_or_else(|| "null".into()));
                        let class = if c.key.is_some() { "lab-record" } else { "lab-record lab-record--null" };
                        let data_key = c.key.clone().unwrap_or_default();
                        let label = c.key.unwrap_or_else(|| "∅".into());
                        view! {
                            <span
                                class=class
                                role="listitem"
                                style=style
                                title=title
                                data-offset=c.offset
                                data-key=data_key
                            >
                                <span class="lab-record__offset">{c.offset}</span>
                                <span class="lab-record__key">{label}</span>
                            </span>
                        }
                    })
                    .collect_view()}
            </div>
            <span class="lab-lane__end" title="log end offset">"LEO " {log_end_offset}</span>
        </div>
    }
}
