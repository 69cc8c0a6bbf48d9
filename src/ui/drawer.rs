//! The drawer: the forms, one click (or one key) away from the stage, in tabs. It sits
//! beside the stage on a wide screen and over it on a narrow one.

use leptos::prelude::*;

use super::calculator::Calculator;
use super::cluster::ClusterPanel;
use super::describe::DescribePanel;
use super::groups::GroupsPanel;
use super::levels::LevelsPanel;
use super::produce::ProducePanel;
use super::protocol::ProtocolPanel;
use super::setup::SetupPanel;
use super::state::{expect_chrome, expect_lab, Tab};
use crate::engine::view;

/// The drawer (rendered only while open).
#[component]
pub fn Drawer() -> impl IntoView {
    let chrome = expect_chrome();
    move || {
        chrome.drawer.get().map(|tab| {
            view! {
                <aside class="lab-drawer" id="lab-drawer" aria-label="panels" data-testid="drawer">
                    <div class="lab-tabs" role="tablist" aria-label="panels">
                        {Tab::ALL
                            .iter()
                            .map(|&t| {
                                view! {
                                    <button
                                        class="lab-tab"
                                        role="tab"
                                        id=format!("tab-{}", t.id())
                                        data-testid=format!("tab-{}", t.id())
                                        aria-selected=(t == tab).to_string()
                                        aria-controls="lab-drawer-panel"
                                        on:click=move |_| chrome.drawer.set(Some(t))
                                    >
                                        {t.label()}
                                    </button>
                                }
                            })
                            .collect_view()}
                        <button class="lab-tab lab-tab--close" aria-label="close the panels (Esc)" data-testid="drawer-close" on:click=move |_| chrome.drawer.set(None)>
                            "×"
                        </button>
                    </div>
                    <div class="lab-drawer__panel" id="lab-drawer-panel" role="tabpanel" aria-labelledby=format!("tab-{}", tab.id())>
                        {match tab {
                            Tab::Levels => view! { <LevelsPanel/> }.into_any(),
                            Tab::Produce => view! { <ProducePanel/> }.into_any(),
                            Tab::Groups => view! { <GroupsPanel/> }.into_any(),
                            Tab::Setup => view! { <SetupPanel/> }.into_any(),
                            Tab::Anomalies => view! { <AnomaliesPanel/> }.into_any(),
                            Tab::Describe => view! { <DescribePanel/> }.into_any(),
                            Tab::Protocol => view! { <ProtocolPanel/> }.into_any(),
                            Tab::Calculator => view! { <Calculator/> }.into_any(),
                            Tab::Reproduce => view! { <ReproducePanel/> }.into_any(),
                            Tab::Cluster => view! { <ClusterPanel/> }.into_any(),
                        }}
                    </div>
                </aside>
            }
        })
    }
}

/// How many anomalies the list shows (the newest).
const LISTED: usize = 100;

/// Every anomaly of the shown group, newest first; a click explains it under the stage.
#[component]
fn AnomaliesPanel() -> impl IntoView {
    let lab = expect_lab();
    let rows = Memo::new(move |_| {
        let g = lab.selection.group.get();
        lab.with(|l| {
            let sim = l.sim();
            let total = view::anomaly_count(sim, g);
            let list: Vec<(usize, &'static str, String)> = view::anomalies_since(sim, g, 0, LISTED)
                .into_iter()
                .rev()
                .map(|a| {
                    let range = if a.first_offset == a.last_offset {
                        format!("{}", a.first_offset)
                    } else {
                        format!("{}–{}", a.first_offset, a.last_offset)
                    };
                    let who = a.member.map_or(String::new(), |m| {
                        format!(" · {}", view::consumer_client_id(m))
                    });
                    (
                        a.index,
                        a.kind.label(),
                        format!(
                            "{} · {} {range}{who}",
                            a.kind.label(),
                            view::tp_name(sim, a.tp)
                        ),
                    )
                })
                .collect();
            (total, list)
        })
    });
    view! {
        <section class="lab-panel" aria-labelledby="anomalies-title">
            <h2 id="anomalies-title" class="lab-panel__title">"Anomalies"</h2>
            {move || {
                let (total, list) = rows.get();
                if total == 0 {
                    return view! { <p class="lab-hint">"None yet: every record so far was processed once, in order, or is still pending."</p> }.into_any();
                }
                view! {
                    <p class="lab-hint">{format!("{total} in all{}. Click one to see why it happened.", if total > LISTED { format!(", the newest {LISTED} listed") } else { String::new() })}</p>
                    <ul class="lab-list lab-anomalies" aria-label="anomalies" data-testid="anomalies">
                        {list
                            .into_iter()
                            .map(|(i, kind, label)| {
                                view! {
                                    <li>
                                        <button
                                            class=format!("lab-anomaly lab-anomaly--{}", kind.replace(", ", "-").replace(' ', "-"))
                                            aria-pressed=move || (lab.selection.selected_anomaly.get() == Some((lab.selection.group.get(), i))).to_string()
                                            on:click=move |_| {
                                                lab.selection.selected_cell.set(None);
                                                lab.selection.selected_anomaly.set(Some((lab.selection.group.get_untracked(), i)));
                                            }
                                        >
                                            {label}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

/// The current setup as commands and client configs for a real cluster.
#[component]
fn ReproducePanel() -> impl IntoView {
    let lab = expect_lab();
    let text = move || lab.with(|l| crate::lab::reproduce(l.scenario()));
    view! {
        <section class="lab-panel" aria-labelledby="reproduce-title">
            <h2 id="reproduce-title" class="lab-panel__title">"Reproduce it on real Kafka"</h2>
            <p class="lab-hint">"This setup as Kafka's own tools and client configs: start a broker, then copy these. The lab's actions (crashes, faults) are yours to do by hand."</p>
            <textarea class="lab-session lab-reproduce" data-testid="reproduce" readonly rows="18" aria-label="commands and configs for a real cluster" prop:value=text></textarea>
        </section>
    }
}
