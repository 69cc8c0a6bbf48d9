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

/// The ledger panel for group 0, with the selected anomaly's cause chain.
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
    let selected = Memo::new(move |_| {
        let (g, i) = lab.selected_anomaly.get()?;
        lab.with(|sim| {
            let a = sim.ledger().groups.get(g as usize)?.anomalies.get(i)?;
            Some((
                a.explanation.clone(),
                a.chain
                    .iter()
                    .map(|s| format!("t={} ms: {}", s.at_ms, s.text))
                    .collect::<Vec<_>>(),
            ))
        })
    });
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
                                                    on:click=move |_| lab.selected_anomaly.set(Some((lab.group.get_untracked(), i)))
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
                selected
                    .get()
                    .map(|(explanation, chain)| {
                        view! {
                            <div class="lab-ledger__cause" data-testid="cause">
                                <p class="lab-ledger__explanation">{explanation}</p>
                                <ol class="lab-ledger__chain">
                                    {chain.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
                                </ol>
                            </div>
                        }
                    })
            }}
        </section>
    }
}
