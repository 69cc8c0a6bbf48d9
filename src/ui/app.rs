//! The page: controls on top; producer and calculator on the left, the topic in the
//! middle, the group on the right; ledger and describe output below.

use leptos::prelude::*;

use super::calculator::Calculator;
use super::controls::Controls;
use super::describe::DescribePanel;
use super::group::GroupPanel;
use super::lanes::Lanes;
use super::ledger::LedgerPanel;
use super::produce::ProducePanel;
use super::state::LabState;

/// The whole lab. Provides [`LabState`] as context to every panel. With `ephemeral`, the
/// lab neither restores nor saves a session (component tests mount several at once).
#[component]
pub fn App(#[prop(optional)] ephemeral: bool) -> impl IntoView {
    let lab = if ephemeral {
        LabState::ephemeral()
    } else {
        LabState::new()
    };
    provide_context(lab);
    view! {
        <div class="lab">
            <header class="lab-header">
                <h1 class="lab-header__title">"Kafka Lab"</h1>
                <p class="lab-header__subtitle">
                    "Where each key lands, how the group shares partitions, and which records are processed twice or never."
                </p>
                <Controls/>
            </header>
            <Notice/>
            <main class="lab-main">
                <div class="lab-column">
                    <ProducePanel/>
                    <Calculator/>
                </div>
                <Lanes/>
                <GroupPanel/>
            </main>
            <div class="lab-lower">
                <LedgerPanel/>
                <DescribePanel/>
            </div>
            <footer class="lab-footer">
                "Simplified: one broker, one replica per partition (acks=1 and acks=all behave alike); group requests take no time. "
                "This demo shortens session.timeout.ms to 10000 and heartbeat.interval.ms to 1000 (Kafka's defaults: 45000 and 3000). "
                "Partitioning and assignment are bit-exact with Kafka's Java client."
            </footer>
        </div>
    }
}

/// The one-line message area: errors in red, information in the neutral tone.
#[component]
fn Notice() -> impl IntoView {
    let lab = super::state::expect_lab();
    view! {
        <div class="lab-notice" role="status" aria-live="polite">
            {move || {
                lab.notice
                    .get()
                    .map(|n| {
                        let class = if n.is_error { "lab-notice__text lab-notice__text--error" } else { "lab-notice__text" };
                        view! { <p class=class>{n.text}</p> }
                    })
            }}
        </div>
    }
}
