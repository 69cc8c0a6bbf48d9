//! The stage: one SVG picture of producers (left), partitions as horizontal logs
//! (middle) and the shown group's consumers (right), with a link from each partition to
//! its owner, the committed and position cursors, and records, fetches and commits in
//! flight. Everything is computed from the engine's read model; nothing here decides
//! Kafka behaviour.

use leptos::prelude::*;

use super::layout::*;
use super::state::{expect_lab, expect_selection};
use crate::engine::view::{self, consumer_client_id, GroupId, MemberId, Tp};

/// The stage.
#[component]
pub fn Stage() -> impl IntoView {
    let lab = expect_lab();
    let model = Memo::new(move |_| {
        let group = lab.selection.group.get();
        let selected = lab.selection.selected_anomaly.get();
        lab.with(|l| {
            let sim = l.sim();
            let focus = selected.and_then(|(g, i)| {
                view::anomalies(sim, g)
                    .get(i)
                    .filter(|a| a.kind.in_log())
                    .map(|a| (a.tp, a.first_offset, a.last_offset))
            });
            build_model(sim, group, focus)
        })
    });
    let view_box = move || format!("0 0 {WIDTH} {}", model.with(|m| m.height.round()));
    view! {
        <figure class="lab-stage" aria-label="the stage: producers, partitions and consumers">
            <svg
                class="lab-stage__svg"
                data-testid="stage"
                viewBox=view_box
                preserveAspectRatio="xMidYMid meet"
                role="group"
                aria-labelledby="stage-title"
            >
                <title id="stage-title">"Producers on the left, partition logs in the middle, consumers on the right"</title>
                <defs>
                    <pattern id="hatch-lost" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="10" height="10" class="lab-hatch__bg"/>
                        <rect width="4" height="10" class="lab-hatch__stripe lab-hatch__stripe--lost"/>
                    </pattern>
                    <pattern id="hatch-skipped" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="10" height="10" class="lab-hatch__bg"/>
                        <rect width="3" height="10" class="lab-hatch__stripe lab-hatch__stripe--skipped"/>
                    </pattern>
                    <clipPath id="lane-window">
                        <rect x=CELLS_X - 6.0 y="-10000" width=move || model.with(|m| m.metrics.cells_end() - CELLS_X + 6.0) height="20000"/>
                    </clipPath>
                </defs>
                <Links model=model/>
                <Producers model=model/>
                <Topics model=model/>
                <Members model=model/>
                <super::flights::Flights model=model/>
            </svg>
        </figure>
    }
}

#[component]
fn Topics(model: Memo<StageModel>) -> impl IntoView {
    let blocks = move || {
        model.with(|m| {
            m.topics
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        t.y.to_bits(),
                        t.lanes
                            .iter()
                            .map(|l| (l.tp, l.y.to_bits()))
                            .collect::<Vec<_>>(),
                        m.metrics.cell.to_bits(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <For each=blocks key=|b| b.clone() let:block>
            {
                let (name, y, lanes, cell) = block;
                let metrics = Metrics::for_cell(f64::from_bits(cell));
                view! {
                    <g class="lab-topic" data-topic=name.clone()>
                        <text class="lab-topic__name" x=CELLS_X y=f64::from_bits(y) + 24.0>{format!("topic {name}")}</text>
                        {lanes
                            .into_iter()
                            .map(|(tp, y)| view! { <Lane model=model tp=tp y=f64::from_bits(y) metrics=metrics/> })
                            .collect_view()}
                    </g>
                }
            }
        </For>
    }
}

/// The short text inside a cell: the offset, or its last digits when it is long.
fn offset_label(offset: u64) -> String {
    let s = offset.to_string();
    if s.len() <= 4 {
        s
    } else {
        format!("…{}", &s[s.len() - 3..])
    }
}

/// A lane's log end at its right, and the high watermark when it trails (replicas still
/// fetching).
fn log_offsets(l: &LaneModel) -> String {
    if l.hw < l.leo {
        format!("LEO {} HW {}", l.leo, l.hw)
    } else {
        format!("LEO {}", l.leo)
    }
}

/// A lane's third line: its leader (several brokers), its log start once retention moved
/// it, and a compacted partition's dirty ratio.
fn leader_and_start(l: &LaneModel) -> Option<String> {
    let parts: Vec<String> = [
        l.leader_note.clone(),
        (l.log_start > 0).then(|| format!("start {}", l.log_start)),
        l.cleaner.map(|(_, ppm)| format!("dirty {}%", ppm / 10_000)),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

#[component]
fn Lane(model: Memo<StageModel>, tp: Tp, y: f64, metrics: Metrics) -> impl IntoView {
    let selection = expect_selection();
    let lane = Memo::new(move |_| model.with(|m| m.lane(tp).cloned()));
    let first = move || lane.with(|l| l.as_ref().map_or(0, |l| l.first));
    let cell = metrics.cell;
    let p = tp.p();
    let shift = move || format!("transform: translateX({:.1}px)", -metrics.shift(first()));
    let cells = move || lane.with(|l| l.as_ref().map(|l| l.cells.clone()).unwrap_or_default());
    let cell_view = move |c: CellModel| {
        let x = metrics.offset_x(c.offset);
        let fill = match (c.hue, c.outcome) {
            (_, "lost") => "url(#hatch-lost)".to_owned(),
            (_, "skipped") => "url(#hatch-skipped)".to_owned(),
            // Not processed yet by this group: a pale tint of the key's colour.
            (Some(h), "pending") => format!("hsl({h} 60% 93%)"),
            (Some(h), _) => format!("hsl({h} 70% 72%)"),
            (None, "pending") => "#eceef1".to_owned(),
            (None, _) => "#bfc4cb".to_owned(),
        };
        let class = format!(
            "lab-cell lab-cell--{}{}{}{}{}",
            c.outcome,
            if c.cleaned { " lab-cell--cleaned" } else { "" },
            if c.highlighted {
                " lab-cell--highlight"
            } else {
                ""
            },
            if c.out_of_order { " lab-cell--ooo" } else { "" },
            if c.copy { " lab-cell--copy" } else { "" },
        );
        let badge = match c.outcome {
            _ if c.cleaned => None,
            "duplicate" => Some("×2"),
            "lost" => Some("lost"),
            "skipped" => Some("skip"),
            "failed" => Some("fail"),
            _ if c.out_of_order => Some("order"),
            _ if c.copy => Some("copy"),
            _ => None,
        };
        let offset = c.offset;
        let label = offset_label(offset);
        // Four digits fit a roomy cell at the small size; a tight one (many lanes) needs
        // the tiny size.
        let small = label.chars().count() > 3;
        let tiny = small && cell < 44.0;
        view! {
            <g
                class=class
                data-offset=offset
                data-key=c.key.clone()
                on:click=move |_| selection.selected_cell.set(Some((tp, offset)))
            >
                <title>{c.title.clone()}</title>
                <rect class="lab-cell__box" x=x y=y width=cell height=cell rx="6" style=format!("fill: {fill}")/>
                <text class="lab-cell__offset" class:lab-cell__offset--small=small class:lab-cell__offset--tiny=tiny x=x + cell / 2.0 y=y + cell / 2.0 + 6.0>{label}</text>
                {c.poison.then(|| view! { <text class="lab-cell__poison" x=x + cell - 4.0 y=y + 16.0>"☠"</text> })}
                {c.tombstone.then(|| view! { <text class="lab-cell__tombstone" x=x + cell - 4.0 y=y + 16.0>"∅"</text> })}
                {c.dead_letter.then(|| view! { <text class="lab-cell__poison" x=x + cell - 4.0 y=y + 16.0>"✉"</text> })}
                {c.segment_start.then(|| view! { <line class="lab-cell__segment" x1=x - 3.0 y1=y - 9.0 x2=x - 3.0 y2=y + cell + 4.0/> })}
                {badge.map(|b| view! { <text class="lab-cell__badge" x=x + cell / 2.0 y=y - 5.0>{b}</text> })}
            </g>
        }
    };
    // Cursors sit under the cells, clamped to the window's ends.
    let slot_x = move |offset: u64| {
        let f = first();
        let slot = offset.saturating_sub(f).min(VISIBLE);
        metrics.cell_x(slot) - 3.0
    };
    let cursor_y = y + cell + 5.0;
    let cursor = move |letter: &'static str,
                       get: fn(&LaneModel) -> Option<u64>,
                       same: Box<dyn Fn() -> Option<(u64, u64)> + Send + Sync>| {
        let at = move || lane.with(|l| l.as_ref().and_then(get));
        let x = move || at().map_or(-1000.0, slot_x);
        let label = move || {
            let edge = |o: u64| {
                let f = first();
                if o < f {
                    ("‹ ", "")
                } else if o > f + VISIBLE {
                    ("", " ›")
                } else {
                    ("", "")
                }
            };
            match (same(), letter) {
                (Some(_), "P") => String::new(),
                (Some((c, p)), _) if c == p => {
                    let (b, a) = edge(c);
                    format!("{b}C P {c}{a}")
                }
                (Some((c, p)), _) => {
                    let (b, a) = edge(c);
                    format!("{b}C {c} · P {p}{a}")
                }
                (None, _) => at().map_or(String::new(), |o| {
                    let (b, a) = edge(o);
                    format!("{b}{letter} {o}{a}")
                }),
            }
        };
        // C reads leftwards from its mark, P rightwards; at the window's left edge C reads
        // rightwards too, so it never runs over the producer's card.
        let at_left_edge = move || at().is_some_and(|o| o <= first());
        let committed = letter == "C";
        let anchor = move || {
            if committed && !at_left_edge() {
                "end"
            } else {
                "start"
            }
        };
        let dx = move || {
            if committed && !at_left_edge() {
                -4.0
            } else {
                4.0
            }
        };
        let class = if committed {
            "lab-cursor lab-cursor--committed"
        } else {
            "lab-cursor lab-cursor--position"
        };
        // Tight lanes (many partitions) leave less room under the cells.
        let label_dy = if cell < 44.0 { 26.0 } else { 30.0 };
        view! {
            <g class=class data-cursor=letter style=move || if at().is_some() { "" } else { "display: none" }>
                <path class="lab-cursor__mark" d=move || format!("M {:.1} {cursor_y} l -7 12 l 14 0 z", x())/>
                <text class="lab-cursor__label" class:lab-cursor__label--tight=cell < 44.0 text-anchor=anchor x=move || x() + dx() y=cursor_y + label_dy>{label}</text>
            </g>
        }
    };
    // When both cursors fall on the same slot, one label names both.
    let same_slot = move || {
        lane.with(|l| match l.as_ref().map(|l| (l.committed, l.position)) {
            Some((Some(c), Some(p))) => Some((c, p)),
            _ => None,
        })
        .filter(|(c, p)| slot_x(*c) == slot_x(*p))
    };
    let committed = cursor("C", |l| l.committed, Box::new(same_slot));
    let position = cursor("P", |l| l.position, Box::new(same_slot));
    // The span a crash would repeat or lose: returned by poll, not yet committed.
    let span = move || {
        lane.with(|l| match l.as_ref().map(|l| (l.committed, l.position)) {
            Some((Some(c), Some(p))) if p > c => Some((c, p)),
            _ => None,
        })
    };
    let span_x = move || span().map_or(0.0, |(c, _)| slot_x(c) + 3.0);
    let span_w = move || span().map_or(0.0, |(c, p)| (slot_x(p) - slot_x(c)).max(0.0));
    // The high watermark shows when it trails the log end (replicas still fetching).
    let leo = move || lane.with(|l| l.as_ref().map_or_else(String::new, log_offsets));
    let lag = move || {
        lane.with(|l| {
            l.as_ref()
                .and_then(|l| l.lag)
                .map_or("lag –".to_owned(), |lag| format!("lag {lag}"))
        })
    };
    // Its own line under the lag, so the ownership links keep their room.
    let leader = move || lane.with(|l| l.as_ref().and_then(leader_and_start));
    // A compacted partition: the cleaner's boundary, the clean tail left of it.
    let boundary = move || lane.with(|l| l.as_ref().and_then(|l| l.cleaner));
    let boundary_x = move || boundary().map_or(-1000.0, |(d, _)| slot_x(d) + 0.5);
    let empty = move || lane.with(|l| l.as_ref().and_then(|l| l.empty_reason.clone()));
    let end = metrics.cells_end();
    view! {
        <g class="lab-lane" data-partition=p data-testid=format!("lane-p{p}")>
            <text class="lab-lane__label" x=CELLS_X - 12.0 y=y + cell / 2.0 + 8.0>{format!("p{p}")}</text>
            <rect class="lab-lane__track" x=CELLS_X - 5.0 y=y - 5.0 width=end - CELLS_X + 4.0 height=cell + 10.0 rx="8"/>
            <text class="lab-lane__empty" x=CELLS_X + 10.0 y=y + cell / 2.0 + 6.0>{empty}</text>
            <g clip-path="url(#lane-window)">
                <g class="lab-lane__cells" style=shift>
                    <For each=cells key=|c| c.key() children=cell_view/>
                </g>
            </g>
            <rect class="lab-span" x=span_x y=y + cell + 1.0 width=span_w height="6" rx="2" style=move || if span().is_some() { "" } else { "display: none" }>
                <title>"processed but not committed: a crash now repeats these records"</title>
            </rect>
            <line class="lab-lane__cleaned-to" data-testid=format!("cleaned-to-p{p}") x1=boundary_x y1=y - 12.0 x2=boundary_x y2=y + cell + 2.0 style=move || if boundary().is_some() { "" } else { "display: none" }>
                <title>"The cleaner's checkpoint: left of it the clean tail (compacted), right of it the dirty head, which the cleaner takes once its share of the bytes is over min.cleanable.dirty.ratio; the active segment is never cleaned"</title>
            </line>
            {committed}
            {position}
            <text class="lab-lane__info" x=end + 6.0 y=y + cell / 2.0 - 2.0 data-testid=format!("lane-leo-p{p}")>{leo}</text>
            <text class="lab-lane__info lab-lane__info--lag" x=end + 6.0 y=y + cell / 2.0 + 18.0 data-testid=format!("lane-lag-p{p}")>{lag}</text>
            <text class="lab-lane__info" x=end + 6.0 y=y + cell / 2.0 + 38.0 data-testid=format!("lane-leader-p{p}")>{leader}</text>
        </g>
    }
}

#[component]
fn Links(model: Memo<StageModel>) -> impl IntoView {
    let tps = move || {
        model.with(|m| {
            m.topics
                .iter()
                .flat_map(|t| &t.lanes)
                .map(|l| l.tp)
                .collect::<Vec<_>>()
        })
    };
    view! {
        <g class="lab-links" class:lab-links--rebalancing=move || model.with(|m| m.rebalancing)>
            <For each=tps key=|tp| *tp let:tp>
                {
                    let link = move || {
                        model.with(|m| {
                            let l = m.lane(tp)?;
                            let owner = l.owner?;
                            let y1 = m.member_mid(owner)?;
                            let y0 = m.lane_mid(tp)?;
                            let (x0, x1) = (m.metrics.link_x(), CONSUMER_X);
                            let mid = (x0 + x1) / 2.0;
                            Some((
                                format!("path('M {x0} {y0:.1} C {mid} {y0:.1}, {mid} {y1:.1}, {x1} {y1:.1}')"),
                                member_color(owner),
                                consumer_client_id(owner),
                            ))
                        })
                    };
                    let style = move || match link() {
                        Some((d, color, _)) => format!("d: {d}; stroke: {color}"),
                        None => "display: none".to_owned(),
                    };
                    view! {
                        <path class="lab-link" style=style data-link=move || link().map(|(_, _, c)| format!("p{}-{c}", tp.p()))/>
                    }
                }
            </For>
        </g>
    }
}

#[component]
fn Producers(model: Memo<StageModel>) -> impl IntoView {
    let ids = move || {
        model.with(|m| {
            m.producers
                .iter()
                .map(|p| (p.id, p.y.to_bits()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <For each=ids key=|k| *k let:k>
            {
                let (id, y) = k;
                let y = f64::from_bits(y);
                let card = Memo::new(move |_| model.with(|m| m.producers.iter().find(|p| p.id == id).cloned()));
                let line = move |f: fn(&ProducerModel) -> String| move || card.with(|c| c.as_ref().map(f).unwrap_or_default());
                view! {
                    <g class="lab-producer-card" data-producer=line(|p| p.name.clone())>
                        <rect class="lab-card" x="8" y=y width=PRODUCER_RIGHT - 8.0 height="106" rx="10"/>
                        <text class="lab-card__name" x="22" y=y + 28.0>{line(|p| p.name.clone())}</text>
                        <text class="lab-card__line" x="22" y=y + 52.0>{line(|p| p.line1.clone())}</text>
                        // A service with a database shows it in place of its acks line.
                        {move || match card.with(|c| c.as_ref().and_then(|c| c.service.clone())) {
                            Some((text, alert)) => view! { <text class="lab-card__line" class:lab-card__line--alert=alert x="22" y=y + 74.0 data-testid="producer-db">{text}</text> }.into_any(),
                            None => view! { <text class="lab-card__line lab-card__line--muted" x="22" y=y + 74.0>{line(|p| p.line2.clone())}</text> }.into_any(),
                        }}
                        <text class="lab-card__line lab-card__line--muted" x="22" y=y + 96.0 data-testid="producer-acked">{line(|p| p.line3.clone())}</text>
                    </g>
                }
            }
        </For>
    }
}

#[component]
fn Members(model: Memo<StageModel>) -> impl IntoView {
    let keys = move || {
        model.with(|m| {
            m.members
                .iter()
                .map(|c| (m.group, c.member, c.y.to_bits(), c.alive, c.slowed))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <For each=keys key=|k| *k let:k>
            {
                let (group, member, y, alive, slowed) = k;
                member_card(model, group, member, f64::from_bits(y), alive, slowed)
            }
        </For>
    }
}

fn member_card(
    model: Memo<StageModel>,
    group: GroupId,
    member: MemberId,
    y: f64,
    alive: bool,
    slowed: bool,
) -> impl IntoView {
    let lab = expect_lab();
    let x = CONSUMER_X;
    let color = member_color(member);
    let name = consumer_client_id(member);
    let card =
        Memo::new(move |_| model.with(|m| m.members.iter().find(|c| c.member == member).cloned()));
    let text = move |f: fn(&MemberModel) -> String| {
        move || card.with(|c| c.as_ref().map(f).unwrap_or_default())
    };
    let class = move || {
        card.with(|c| {
            c.as_ref().map_or(String::new(), |c| {
                format!(
                    "lab-member lab-member--{}{}",
                    c.status,
                    if c.alive { "" } else { " lab-member--down" }
                )
            })
        })
    };
    let r = 10.0;
    let circumference = 2.0 * std::f64::consts::PI * r;
    let ring = move || card.with(|c| c.as_ref().and_then(|c| c.ring));
    let ring_style = move || {
        ring().map_or("display: none".to_owned(), |f| {
            format!(
                "stroke: {color}; stroke-dasharray: {circumference:.1}; stroke-dashoffset: {:.1}",
                circumference * (1.0 - f)
            )
        })
    };
    let note_or_deadline = move || {
        card.with(|c| {
            c.as_ref().map_or((false, String::new()), |c| {
                c.note.clone().unwrap_or((false, c.deadline.clone()))
            })
        })
    };
    let buttons: Vec<(&'static str, &'static str)> = if alive {
        vec![
            ("crash", "crash"),
            ("close", "close"),
            if slowed {
                ("speed", "fast")
            } else {
                ("slow", "slow")
            },
            ("seek", "seek"),
        ]
    } else {
        vec![("restart", "restart")]
    };
    let count = buttons.len() as f64;
    let buttons = buttons
        .into_iter()
        .enumerate()
        .map(|(i, (action, label))| {
            let w = if action == "restart" { 72.0 } else { 46.0 };
            let bx = x + CONSUMER_W - 8.0 - (count - i as f64) * (w + 4.0) + 4.0;
            let by = y + 8.0;
            let aria = match action {
                "slow" => format!("slow down {name}: 1 s per record"),
                "speed" => format!("normal speed for {name}"),
                "seek" => format!("seek {name}: a partition, then where to"),
                _ => format!("{action} {name}"),
            };
            let run = move || {
                use crate::engine::view::Command;
                if action == "seek" {
                    lab.selection.seek_for.set(Some((group, member)));
                    return;
                }
                let command = match action {
                    "crash" => Command::CrashConsumer {
                        group,
                        consumer: member,
                    },
                    "close" => Command::CloseConsumer {
                        group,
                        consumer: member,
                    },
                    "restart" => Command::RestartConsumer {
                        group,
                        consumer: member,
                    },
                    "slow" => Command::SlowConsumer {
                        group,
                        consumer: member,
                        processing_ms: Some(1_000),
                    },
                    _ => Command::SlowConsumer {
                        group,
                        consumer: member,
                        processing_ms: None,
                    },
                };
                lab.act(command);
            };
            view! {
                <g
                    class="lab-svg-button"
                    role="button"
                    tabindex="0"
                    aria-label=aria
                    data-action=action
                    on:click=move |_| run()
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" || ev.key() == " " {
                            ev.prevent_default();
                            ev.stop_propagation();
                            run();
                        }
                    }
                >
                    <rect class="lab-svg-button__box" x=bx y=by width=w height="28" rx="6"/>
                    <text class="lab-svg-button__text" x=bx + w / 2.0 y=by + 20.0>{label}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <g class=class data-member=name.clone() data-testid=format!("member-{name}")>
            <rect class="lab-card lab-member__card" x=x y=y width=CONSUMER_W height=CONSUMER_H rx="10" style=format!("stroke: {color}")/>
            <text class="lab-card__name" x=x + 14.0 y=y + 29.0 style=format!("fill: {color}")>
                {text(|c| format!("{}{}", c.name, if c.leader { " ★" } else { "" }))}
            </text>
            <text class="lab-member__status" x=x + 14.0 y=y + 54.0 data-testid="status">
                {text(|c| format!("{}{}", c.status, c.owns))}
            </text>
            <text class="lab-card__line" x=x + 14.0 y=y + 76.0 data-testid="activity">{text(|c| c.activity.clone())}</text>
            <text
                class=move || if note_or_deadline().0 { "lab-card__line lab-card__line--alert" } else { "lab-card__line lab-card__line--muted" }
                x=x + 14.0
                y=y + 98.0
                data-testid="deadline"
            >
                {move || note_or_deadline().1}
            </text>
            <g class="lab-ring" aria-hidden="true">
                <circle class="lab-ring__track" cx=x + CONSUMER_W - 20.0 cy=y + 49.0 r=r style=move || if ring().is_some() { "" } else { "display: none" }/>
                <circle class="lab-ring__left" cx=x + CONSUMER_W - 20.0 cy=y + 49.0 r=r style=ring_style/>
            </g>
            {buttons}
        </g>
    }
}
