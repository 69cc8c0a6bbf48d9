//! The page: controls on top; producer and calculator on the left, the topic in the
//! middle, the group on the right; ledger and describe output below.

use leptos::prelude::*;

use super::calculator::Calculator;
use super::config::ConfigPanel;
use super::controls::Controls;
use super::describe::DescribePanel;
use super::group::GroupPanel;
use super::lanes::Lanes;
use super::ledger::LedgerPanel;
use super::produce::ProducePanel;
use super::state::LabState;
use super::swimlane::Swimlane;

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
    // Theme and presentation mode live on <html>, so rem-based sizes scale with them.
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", lab.theme.get());
            let _ = root.set_attribute(
                "data-present",
                if lab.presenting.get() { "on" } else { "off" },
            );
        }
    });
    let panel = move |name: &'static str| move || lab.shows(name);
    view! {
        <div class="lab">
            <header class="lab-header">
                <h1 class="lab-header__title">"Kafka Lab"</h1>
                <p class="lab-header__subtitle">
                    "Where each key lands, how the group shares partitions, and which records are processed twice or never."
                </p>
                <Controls/>
                <Toolbar/>
            </header>
            <Help/>
            <Notice/>
            <main class="lab-main">
                <div class="lab-column">
                    <Show when=panel("producer")>
                        <ProducePanel/>
                    </Show>
                    <Show when=panel("calculator")>
                        <Calculator/>
                    </Show>
                </div>
                <Lanes/>
                <GroupPanel/>
            </main>
            <div class="lab-lower">
                <Show when=panel("ledger")>
                    <LedgerPanel/>
                </Show>
                <div class="lab-column">
                    <Show when=panel("swimlane")>
                        <Swimlane/>
                    </Show>
                    <Show when=panel("describe")>
                        <DescribePanel/>
                    </Show>
                </div>
            </div>
            <Show when=panel("config")>
                <ConfigPanel/>
            </Show>
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

/// The panels a presenter may hide, with their labels.
const PANELS: [(&str, &str); 6] = [
    ("config", "Configuration"),
    ("producer", "Producer"),
    ("calculator", "Predict the partition"),
    ("ledger", "Ledger"),
    ("swimlane", "Group protocol"),
    ("describe", "Describe"),
];

/// Presentation mode, theme and help.
#[component]
fn Toolbar() -> impl IntoView {
    let lab = super::state::expect_lab();
    view! {
        <div class="lab-toolbar">
            <button
                class="lab-button"
                data-testid="present"
                aria-pressed=move || lab.presenting.get().to_string()
                aria-keyshortcuts="P"
                on:click=move |_| lab.presenting.update(|p| *p = !*p)
            >
                "Presentation mode"
            </button>
            <label class="lab-controls__field">
                "theme "
                <select
                    aria-label="theme"
                    data-testid="theme"
                    on:change=move |ev| {
                        lab.theme
                            .set(
                                match event_target_value(&ev).as_str() {
                                    "light" => "light",
                                    "dark" => "dark",
                                    _ => "auto",
                                },
                            )
                    }
                >
                    <option value="auto">"system"</option>
                    <option value="light">"light"</option>
                    <option value="dark">"dark"</option>
                </select>
            </label>
            <button
                class="lab-button"
                data-testid="help"
                aria-keyshortcuts="?"
                on:click=move |_| lab.help_open.update(|h| *h = !*h)
            >
                "Keys and panels (?)"
            </button>
        </div>
    }
}

/// The keyboard help and the panel chooser.
#[component]
fn Help() -> impl IntoView {
    let lab = super::state::expect_lab();
    view! {
        <Show when=move || lab.help_open.get()>
            <div class="lab-help" role="dialog" aria-label="keyboard help" data-testid="help-dialog">
                <h2 class="lab-panel__title">"Keyboard"</h2>
                <dl class="lab-help__keys">
                    <dt>"Space"</dt><dd>"play / pause"</dd>
                    <dt>"→ or PageDown"</dt><dd>"step one event"</dd>
                    <dt>"← or PageUp"</dt><dd>"back one second (replayed from the seed)"</dd>
                    <dt>"+ / -"</dt><dd>"faster / slower"</dd>
                    <dt>"F"</dt><dd>"full screen"</dd>
                    <dt>"P"</dt><dd>"presentation mode"</dd>
                    <dt>"?"</dt><dd>"this help; Esc closes it"</dd>
                </dl>
                <h2 class="lab-panel__title">"Panels"</h2>
                {PANELS
                    .iter()
                    .map(|&(name, label)| {
                        view! {
                            <label class="lab-help__panel">
                                <input
                                    type="checkbox"
                                    prop:checked=move || lab.shows(name)
                                    on:change=move |_| {
                                        lab.hidden_panels
                                            .update(|h| {
                                                if let Some(i) = h.iter().position(|n| *n == name) {
                                                    h.remove(i);
                                                } else {
                                                    h.push(name);
                                                }
                                            })
                                    }
                                />
                                {label}
                            </label>
                        }
                    })
                    .collect_view()}
                <p>
                    <button class="lab-button" on:click=move |_| lab.help_open.set(false)>
                        "Close"
                    </button>
                </p>
            </div>
        </Show>
    }
}
