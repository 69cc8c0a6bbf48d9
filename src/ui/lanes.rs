//! The topic as partition lanes: one cell per offset, coloured by key, newest on the right.

use leptos::prelude::*;

use super::format::{computation, key_hue};
use super::state::expect_lab;
use crate::engine::event::PartitionReason;
use crate::engine::ledger::Outcome;
use crate::engine::partitioner::java_partition;

/// How many of the newest cells a lane shows; older ones scroll out of view.
const VISIBLE_CELLS: u64 = 12;

/// One cell's view model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Cell {
    offset: u64,
    key: Option<String>,
    hue: Option<u32>,
    /// Group 0's outcome for the record: "pending", "once", "duplicate" or "lost".
    outcome: &'static str,
    /// Part of the anomaly selected in the ledger.
    highlighted: bool,
    /// Appended since the previous render: it slides in.
    fresh: bool,
    /// Became a duplicate since the previous render: it flashes once.
    flash: bool,
    /// Group 0's markers at this offset: "committed", "position", "both" or "".
    mark: &'static str,
    /// Hover text: offset, key and its hash.
    title: String,
}

/// One lane's view model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Lane {
    partition: u32,
    /// The lane shows the selected anomaly rather than the newest records.
    focused: bool,
    log_end_offset: u64,
    cells: Vec<Cell>,
    /// Group 0 on this partition: owner, position and committed offset, in words.
    marker: String,
    /// Group 0's lag on this partition, capped at 100, for the lag bar.
    lag_bar: u64,
}

/// The partition lanes of the topic.
#[component]
pub fn Lanes() -> impl IntoView {
    let lab = expect_lab();
    let lanes = Memo::new(move |prev: Option<&Vec<Lane>>| {
        // What the previous render showed, so only changes animate.
        let before: Vec<(u64, Vec<(u64, &'static str)>)> = prev
            .map(|lanes| {
                lanes
                    .iter()
                    .map(|l| {
                        (
                            l.log_end_offset,
                            l.cells.iter().map(|c| (c.offset, c.outcome)).collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let selected = lab.selected_anomaly.get();
        let gi = lab.group.get() as usize;
        lab.with(|sim| {
            // A selected anomaly scrolls its partition back to it; other lanes follow the newest.
            let focus = selected
                .and_then(|(g, i)| sim.ledger().groups.get(g as usize)?.anomalies.get(i))
                .map(|a| (a.partition, a.first_offset, a.last_offset));
            let keys = sim.keys();
            let ledger = sim.ledger().groups.get(gi);
            let group = sim.groups().get(gi);
            sim.topic()
                .partitions()
                .iter()
                .enumerate()
                .map(|(p, log)| {
                    let leo = log.log_end_offset();
                    let (from, end) = match focus {
                        Some((fp, first, _)) if fp == p as u32 => {
                            let from = first.saturating_sub(4);
                            (from, (from + VISIBLE_CELLS).min(leo))
                        }
                        _ => (leo.saturating_sub(VISIBLE_CELLS), leo),
                    };
                    // The shown group on this partition: its owner, committed offset and position.
                    let owner = group.and_then(|g| {
                        g.consumers.iter().find(|c| c.status.alive() && c.assigned.contains(&(p as u32)))
                    });
                    let committed = group.and_then(|g| g.committed.get(p).cloned().flatten()).map(|c| c.offset);
                    let position = owner.and_then(|c| c.positions.get(&(p as u32)).copied());
                    let cells = log
                        .range(from, end)
                        .map(|(offset, r)| {
                            let info = r.key.and_then(|k| keys.get(k));
                            let outcome = match ledger.map(|l| l.outcome(r.record_id)) {
                                Some(Outcome::Once) => "once",
                                Some(Outcome::Duplicate) => "duplicate",
                                Some(Outcome::Lost) => "lost",
                                _ => "pending",
                            };
                            Cell {
                                offset,
                                key: info.map(|i| i.name.clone()),
                                hue: info.map(|i| key_hue(i.murmur2)),
                                outcome,
                                highlighted: focus.is_some_and(|(fp, first, last)| {
                                    fp == p as u32 && (first..=last).contains(&offset)
                                }),
                                fresh: before.get(p).is_some_and(|(prev_leo, _)| offset >= *prev_leo),
                                flash: outcome == "duplicate"
                                    && before.get(p).is_some_and(|(_, cells)| {
                                        cells.iter().any(|&(o, out)| o == offset && out != "duplicate")
                                    }),
                                mark: match (committed == Some(offset), position == Some(offset)) {
                                    (true, true) => "both",
                                    (true, false) => "committed",
                                    (false, true) => "position",
                                    (false, false) => "",
                                },
                                title: match info {
                                    // The computation, when the current partition count explains
                                    // the lane; older records may predate added partitions.
                                    Some(k) => {
                                        let n = sim.topic().partition_count();
                                        let reason = PartitionReason::Murmur2 { hash: k.murmur2, partition_count: n };
                                        if java_partition(k.name.as_bytes(), n) == p as u32 {
                                            format!("offset {offset}: {}", computation(Some(&k.name), &reason, p as u32))
                                        } else {
                                            format!(
                                                "offset {offset}: murmur2(\"{}\") = {} (placed when the topic had fewer partitions)",
                                                k.name, k.murmur2
                                            )
                                        }
                                    }
                                    None => format!("offset {offset}: null key"),
                                },
                            }
                        })
                        .collect();
                    let marker = group.map_or_else(String::new, |g| {
                        let show = |v: Option<u64>| v.map_or("-".to_owned(), |o| o.to_string());
                        format!(
                            "{}: owner {} · position {} · committed {} · lag {}",
                            g.group_id,
                            owner.map_or("none", |c| c.client_id.as_str()),
                            show(position),
                            show(committed),
                            show(committed.map(|c| leo.saturating_sub(c))),
                        )
                    });
                    Lane {
                        partition: p as u32,
                        focused: focus.is_some_and(|(fp, _, _)| fp == p as u32),
                        log_end_offset: leo,
                        cells,
                        marker,
                        lag_bar: committed.map_or(0, |c| leo.saturating_sub(c).min(100)),
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
                <For each=move || lanes.get() key=|lane| lane.clone() let:lane>
                    <LaneRow lane=lane/>
                </For>
            </div>
            <p class="lab-legend">
                "Each cell is one record at its offset; its colour is its key's hash (grey = null key). "
                "Faded = not processed yet by the group shown; red ring = processed twice; amber stripes = lost (committed past, never processed). "
                "C = the group's committed offset, P = its owner's position; the bar is the lag."
            </p>
        </section>
    }
}

#[component]
fn LaneRow(lane: Lane) -> impl IntoView {
    let Lane {
        partition,
        focused,
        log_end_offset,
        cells,
        marker,
        lag_bar,
    } = lane;
    view! {
        <div class="lab-lane" data-partition=partition role="list" aria-label=format!("partition {partition}")>
            <span class="lab-lane__label">"p" {partition}</span>
            <div class=if focused { "lab-lane__cells lab-lane__cells--focused" } else { "lab-lane__cells" }>
                {cells
                    .into_iter()
                    .map(|c| {
                        let style = c
                            .hue
                            .map(|h| format!("--key-hue: {h}"))
                            .unwrap_or_default();
                        let title = c.title.clone();
                        let class = format!(
                            "lab-record lab-record--{}{}{}{}{}{}",
                            c.outcome,
                            if c.fresh { " lab-record--fresh" } else { "" },
                            if c.flash { " lab-record--flash" } else { "" },
                            if c.mark.is_empty() { String::new() } else { format!(" lab-record--mark-{}", c.mark) },
                            if c.key.is_some() { "" } else { " lab-record--null" },
                            if c.highlighted { " lab-record--highlight" } else { "" }
                        );
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
            <span class="lab-lane__marker" data-testid="lane-marker">
                <span class="lab-lag" title="lag (log end - committed), bar capped at 100 records">
                    <span class="lab-lag__bar" style=format!("width: {lag_bar}%")></span>
                </span>
                {marker}
            </span>
        </div>
    }
}
