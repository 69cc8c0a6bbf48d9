//! The delivery ledger: per group, how many records were processed once, twice, never or
//! out of order, and the list of anomalies with their causes.

use leptos::prelude::*;

use super::state::expect_lab;

/// Totals and anomaly rows for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LedgerView {
    once: u64,
    duplicate: u64,
    lost: u64,
    out_of_order: u64,
    pending: u64,
    anomalies: Vec<(usize, String, String)>,
}

/// A snapshot of one anomaly's cause, for the cause panel.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CauseView {
    explanation: String,
    chain: Vec<(u64, String)>,
    /// When the user selected it: "back" returns here.
    seen_at_ms: u64,
}

/// The ledger panel for the shown group, with the selected anomaly's cause chain.
#[component]
pub fn LedgerPanel() -> impl IntoView {
    let lab = expect_lab();
    let view_model = Memo::new(move |_| {
        lab.with(|sim| {
            let gi = lab.group.get();
            let t = sim.totals(gi)?;
            let g = sim.ledger().groups.get(gi as usize)?;
            Some(LedgerView {
                once: t.once,
                duplicate: t.duplicate,
                lost: t.lost,
                out_of_order: t.out_of_order,
                pending: t.pending,
                anomalies: g
                    .anomalies
                    .iter()
                    .enumerate()
                    .rev()
                    .take(50)
                    .map(|(i, a)| {
                        let label = format!(
                            "{} · p{} offsets {}–{} ({} record{})",
                            a.kind.label(),
                            a.partition,
                            a.first_offset,
                            a.last_offset,
                            a.count,
                            if a.count == 1 { "" } else { "s" }
                        );
                        (i, a.kind.label().replace(' ', "-"), label)
                    })
                    .collect(),
            })
        })
    });
    // The selected anomaly's cause, kept apart from the engine so it stays on screen while
    // the user replays its steps on the timeline (seeking back drops the anomaly itself).
    let cause = RwSignal::new(None::<CauseView>);
    let select = move |i: usize| {
        let g = lab.group.get_untracked();
        lab.selected_anomaly.set(Some((g, i)));
        cause.set(lab.with(|sim| {
            let a = sim.ledger().groups.get(g as usize)?.anomalies.get(i)?;
            Some(CauseView {
                explanation: a.explanation.clone(),
                chain: a.chain.iter().map(|s| (s.at_ms, s.text.clone())).collect(),
                seen_at_ms: sim.now_ms(),
            })
        }));
    };
    view! {
        <section class="lab-panel lab-ledger" aria-labelledby="ledger-title">
            <h2 id="ledger-title" class="lab-panel__title">"Delivery ledger: "
                <code>{move || lab.with(|s| s.groups().get(lab.group.get() as usize).map(|g| g.group_id.clone()))}</code></h2>
            {move || {
                view_model
                    .get()
                    .map(|v| {
                        view! {
                            <dl class="lab-ledger__totals">
                                <div><dt>"once"</dt><dd data-testid="count-once">{v.once}</dd></div>
                                <div class="lab-ledger__bad"><dt>"duplicate"</dt><dd data-testid="count-duplicate">{v.duplicate}</dd></div>
                                <div class="lab-ledger__warn"><dt>"lost"</dt><dd data-testid="count-lost">{v.lost}</dd></div>
                                <div><dt>"out of order"</dt><dd data-testid="count-out-of-order">{v.out_of_order}</dd></div>
                                <div><dt>"pending"</dt><dd data-testid="count-pending">{v.pending}</dd></div>
                            </dl>
                            <ul class="lab-anomalies" aria-label="anomalies">
                                {v
                                    .anomalies
                                    .into_iter()
                                    .map(|(i, kind, label)| {
                                        view! {
                                            <li>
                                                <button
                                                    class=format!("lab-anomaly lab-anomaly--{kind}")
                                                    aria-pressed=move || {
                                                        (lab.selected_anomaly.get() == Some((lab.group.get(), i))).to_string()
                                                    }
                                                    on:click=move |_| select(i)
                                                >
                                                    {label}
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                    })
            }}
            {move || {
                cause
                    .get()
                    .map(|c| {
                        let back = c.seen_at_ms;
                        view! {
                            <div class="lab-ledger__cause" data-testid="cause">
                                <p class="lab-ledger__explanation">{c.explanation}</p>
                                <p class="lab-legend">"Click a step to replay the lab to that moment."</p>
                                <ol class="lab-ledger__chain">
                                    {c
                                        .chain
                                        .into_iter()
                                        .map(|(at, text)| {
                                            view! {
                                                <li>
                                                    <button class="lab-ledger__step" on:click=move |_| lab.seek(at)>
                                                        {format!("t={:.1} s", at as f64 / 1000.0)}
                                                    </button>
                                                    " " {text}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ol>
                                <button class="lab-button lab-button--small" data-testid="cause-back" on:click=move |_| lab.seek(back)>
                                    {format!("Back to t={:.1} s", back as f64 / 1000.0)}
                                </button>
                            </div>
                        }
                    })
            }}
        </section>
    }
}
