//! Narration beside the stage: the rebalance banner above it, and the dock below it with
//! the selected anomaly's explanation (each step of its cause replays the lab to that
//! moment), a tapped record's details, what the last step did, or the first screen's
//! call to action.

use leptos::prelude::*;

use super::flights::ellipsize;
use super::format::{computation, secs};
use super::state::expect_lab;
use super::topbar::toggle_play;
use crate::engine::view::{self, GroupState};

/// The rebalance banner: shown only while the shown group rebalances.
#[component]
pub fn Banner() -> impl IntoView {
    let lab = expect_lab();
    let text = Memo::new(move |_| {
        let group = lab.selection.group.get();
        lab.with(|l| {
            let sim = l.sim();
            let groups = view::groups(sim);
            let g = groups.iter().find(|g| g.id == group)?;
            let since = g.rebalancing_since_ms?;
            let phase = match g.state {
                GroupState::PreparingRebalance => "JoinGroup",
                GroupState::CompletingRebalance => "JoinGroup ✓ SyncGroup",
                _ => "JoinGroup ✓ SyncGroup ✓ assignment",
            };
            let protocol = if g.cooperative {
                "cooperative: only partitions that move are revoked"
            } else {
                "eager: all partitions revoked until SyncGroup (stop the world)"
            };
            let elapsed = secs(sim.now_ms().saturating_sub(since));
            // The first join revokes nothing: no member owned a partition yet.
            if g.generation <= 0 {
                return Some(format!(
                    "The group forms · generation 0 → 1 · members join, then the leader assigns the partitions · {phase} … {elapsed}"
                ));
            }
            Some(format!(
                "Rebalance · generation {} → {} · {protocol} · {phase} … {elapsed}",
                g.generation,
                g.generation + 1,
            ))
        })
    });
    view! {
        <div class="lab-banner-slot">
            {move || {
                text.get()
                    .map(|t| view! { <p class="lab-banner" data-testid="rebalance">{t}</p> })
            }}
            {move || (lab.playing.get() && lab.speed.get() >= super::state::FAST_SPEED_INDEX).then(|| view! {
                <p class="lab-fast" data-testid="fast-forward">"Fast-forward: the clock and the counts run live; the stage redraws once a second."</p>
            })}
            <Notice/>
        </div>
    }
}

/// The one-line message: errors in red, information neutral; dismissable.
#[component]
fn Notice() -> impl IntoView {
    let lab = expect_lab();
    view! {
        <div class="lab-notice" role="status" aria-live="polite" data-testid="notice">
            {move || {
                lab.chrome.notice
                    .get()
                    .map(|n| {
                        let class = if n.is_error { "lab-notice__text lab-notice__text--error" } else { "lab-notice__text" };
                        let download = n.offers_run.then(|| view! {
                            <button class="lab-button lab-button--small" data-testid="notice-download" on:click=move |_| {
                                if let Err(e) = super::files::download("kafka-lab-run.json", &lab.session_json()) {
                                    lab.error(e);
                                }
                            }>"Download the run"</button>
                        });
                        view! {
                            <p class=class>
                                <span class="lab-notice__words">{n.text}</span>
                                {download}
                                <button class="lab-button lab-button--small" aria-label="dismiss the message" on:click=move |_| lab.chrome.notice.set(None)>"×"</button>
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The dock under the stage.
#[component]
pub fn Dock() -> impl IntoView {
    let lab = expect_lab();
    let fresh = move || lab.with(|l| l.now_ms() == 0 && l.session().commands.is_empty());
    let body = move || {
        if let Some((g, i)) = lab.selection.selected_anomaly.get() {
            return anomaly_view(g, i).into_any();
        }
        if let Some((tp, offset)) = lab.selection.selected_cell.get() {
            return cell_view(tp, offset).into_any();
        }
        if let Some(words) = lab.chrome.last_step.get() {
            return view! { <p class="lab-dock__line" data-testid="step-words">{words}</p> }
                .into_any();
        }
        if fresh() && lab.run.level.get().is_none() {
            return view! {
                <div class="lab-intro" data-testid="intro">
                    <p class="lab-intro__what">
                        "A simulated Kafka: watch which partition each key lands in, how the consumer group shares the partitions, and which records get processed twice or never."
                    </p>
                    <button class="lab-button lab-button--primary lab-intro__cta" data-testid="intro-play" on:click=move |_| toggle_play(lab)>
                        "▶ Press Play (Space)"
                    </button>
                </div>
            }
            .into_any();
        }
        view! { <Hint/> }.into_any()
    };
    view! {
        <section class="lab-dock" aria-label="what happened">
            <super::levels::LevelDock/>
            {body}
            <p class="lab-legend">
                "Cell colour = key · faded = not processed yet · ×2 = processed twice · hatched = lost · C = committed offset · P = position · amber bar = processed, not committed · click a cell or an anomaly for details"
                {move || logs_have_segments(lab).then_some(" · black bar = first record of a segment · ∅ = tombstone (null value) · empty dashed box = removed by the cleaner")}
            </p>
        </section>
    }
}

/// A nudge when nothing is selected: the newest anomaly, or what to try.
#[component]
fn Hint() -> impl IntoView {
    let lab = expect_lab();
    let newest = move || {
        let g = lab.selection.group.get();
        lab.with(|l| {
            let total = view::anomaly_count(l.sim(), g);
            (total > 0).then(|| (g, total - 1, total))
        })
    };
    move || {
        match newest() {
        Some((g, i, total)) => view! {
            <p class="lab-dock__line">
                {format!("{total} anomal{} so far. ", if total == 1 { "y" } else { "ies" })}
                <button class="lab-button lab-button--small" data-testid="explain-newest" on:click=move |_| lab.selection.selected_anomaly.set(Some((g, i)))>
                    "Explain the newest"
                </button>
            </p>
        }
        .into_any(),
        None => view! {
            <p class="lab-dock__line">
                "Try: crash a consumer on the right, then watch who processes its records again. Panels (D) hold the producer, groups and setup."
            </p>
        }
        .into_any(),
    }
    }
}

fn anomaly_view(group: view::GroupId, index: usize) -> impl IntoView {
    let lab = expect_lab();
    // Kept apart from the engine so it stays while the user replays its steps.
    let snapshot = lab.with_untracked(|l| {
        let sim = l.sim();
        view::anomalies(sim, group).get(index).map(|a| {
            let records = a.count;
            let (what, whose) = match a.kind {
                view::AnomalyKind::LostBeforeLog => ("record #", ""),
                view::AnomalyKind::AckedThenLost | view::AnomalyKind::WrittenThenLost => {
                    ("offset ", " on the replica that truncated them")
                }
                _ => ("offset ", ""),
            };
            let range = if a.first_offset == a.last_offset {
                format!(
                    "{} {what}{}{whose}",
                    view::tp_name(sim, a.tp),
                    a.first_offset
                )
            } else {
                format!(
                    "{} {}s {}–{}{whose}",
                    view::tp_name(sim, a.tp),
                    what.trim_end_matches(['#', ' ']),
                    a.first_offset,
                    a.last_offset
                )
            };
            (
                format!(
                    "{} · {range} ({records} record{})",
                    capitalise(a.kind.label()),
                    if records == 1 { "" } else { "s" }
                ),
                a.sentence.clone(),
                a.chain.clone(),
                sim.now_ms(),
            )
        })
    });
    let Some((title, sentence, chain, seen_at)) = snapshot else {
        return view! { <p class="lab-dock__line">"That anomaly is not in this moment of the history."</p> }.into_any();
    };
    view! {
        <div class="lab-cause" data-testid="cause">
            <h2 class="lab-cause__title">
                {title}
                <button class="lab-button lab-button--small lab-cause__close" aria-label="close the explanation" on:click=move |_| lab.selection.selected_anomaly.set(None)>"×"</button>
            </h2>
            <p class="lab-cause__sentence">{sentence}</p>
            <ol class="lab-cause__chain" aria-label="the cause, step by step: click a time to replay the lab to it">
                {chain
                    .into_iter()
                    .map(|(at, text)| {
                        view! {
                            <li>
                                <button class="lab-cause__step" on:click=move |_| {
                                    lab.playing.set(false);
                                    lab.seek(at);
                                }>{format!("t={:.1} s", at as f64 / 1000.0)}</button>
                                " " {text}
                            </li>
                        }
                    })
                    .collect_view()}
                <li>
                    <button class="lab-cause__step" data-testid="cause-back" on:click=move |_| lab.seek(seen_at)>
                        {format!("back to t={:.1} s", seen_at as f64 / 1000.0)}
                    </button>
                </li>
            </ol>
        </div>
    }
    .into_any()
}

fn cell_view(tp: view::Tp, offset: u64) -> impl IntoView {
    let lab = expect_lab();
    let group = lab.selection.group.get_untracked();
    let text = move || {
        lab.with(|l| {
            let sim = l.sim();
            let lane = view::lane(sim, tp, group, 1, Some(offset));
            let c = lane.cells.first().filter(|c| c.offset == offset)?;
            let key = c.key.as_deref();
            Some((
                format!(
                    "{} offset {offset} · key {}",
                    view::tp_name(sim, tp),
                    key.map_or("null".to_owned(), |k| format!("\"{}\"", ellipsize(k, 60)))
                ),
                computation(key, &c.reason, tp.p()),
                format!(
                    "{} for {}{}{} · produced at {}",
                    c.outcome.label(),
                    view::group_name(sim, group),
                    if c.out_of_order {
                        " · out of order"
                    } else {
                        ""
                    },
                    if c.log_duplicate {
                        " · a second copy left by a retry"
                    } else {
                        ""
                    },
                    secs(c.produced_ms)
                ),
                key.map(str::to_owned),
            ))
        })
    };
    view! {
        <div class="lab-cause" data-testid="cell-details">
            {move || match text() {
                Some((title, computation, outcome, full_key)) => view! {
                    <h2 class="lab-cause__title" title=full_key.unwrap_or_default()>
                        {title}
                        <button class="lab-button lab-button--small lab-cause__close" aria-label="close the record's details" on:click=move |_| lab.selection.selected_cell.set(None)>"×"</button>
                    </h2>
                    <p class="lab-cause__sentence lab-mono">{computation}</p>
                    <p class="lab-cause__sentence">{outcome}</p>
                }
                .into_any(),
                None => view! {
                    <p class="lab-dock__line">
                        "That record is not in the log at this moment."
                        <button class="lab-button lab-button--small" on:click=move |_| lab.selection.selected_cell.set(None)>"×"</button>
                    </p>
                }
                .into_any(),
            }}
        </div>
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Whether the legend should name segments, tombstones and the cleaner's gaps: a topic is
/// compacted, or some partition has rolled a segment.
fn logs_have_segments(lab: super::state::LabState) -> bool {
    lab.with(|l| {
        let sim = l.sim();
        view::topics(sim).iter().any(|t| {
            t.compacted
                || (0..t.partitions).any(|p| view::segments(sim, view::Tp::new(t.id, p)).len() > 1)
        })
    })
}
