//! The page: header, notice line, producer panel and the topic's partition lanes.

use leptos::prelude::*;

use super::lanes::Lanes;
use super::produce::ProducePanel;
use super::state::LabState;

/// The whole lab. Provides [`LabState`] as context to every panel.
#[component]
pub fn App() -> impl IntoView {
    let lab = LabState::new();
    provide_context(lab);
    view! {
        <div class="lab">
            <header class="lab-header">
                <h1 class="lab-header__title">"Kafka Lab"</h1>
                <p class="lab-header__subtitle">
                    "Which partition does a key land in, and why? Keys are hashed exactly as the Java producer does."
                </p>
            </header>
            <Notice/>
            <main class="lab-main">
                <ProducePanel/>
                <Lanes/>
            </main>
            <footer class="lab-footer">
                "Simplified: one broker, one replica per partition. Partitioning itself is bit-exact with Kafka's Java client."
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
