//! The page: one row of controls, the rebalance banner, the stage (with the drawer beside
//! it when open), and the dock under the stage. Owns the keyboard and the theme.

use leptos::prelude::*;

use super::dock::{Banner, Dock};
use super::drawer::Drawer;
use super::stage::Stage;
use super::state::{LabState, Tab};
use super::topbar::{change_speed, toggle_play, TopBar};

/// The whole lab. Provides [`LabState`] as context to every part. With `ephemeral`, the
/// lab neither restores nor saves a session (component tests mount several at once).
#[component]
pub fn App(#[prop(optional)] ephemeral: bool) -> impl IntoView {
    let lab = if ephemeral {
        LabState::ephemeral()
    } else {
        LabState::new()
    };
    super::state::provide_lab(lab);
    super::metrics::track(lab);
    // Theme and presentation mode live on <html>, so rem-based sizes follow them.
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", lab.chrome.theme.get().name());
            let _ = root.set_attribute(
                "data-present",
                if lab.chrome.presenting.get() {
                    "on"
                } else {
                    "off"
                },
            );
            // Fast-forward: no transitions or fades, so idle frames stay idle.
            let fast = lab.playing.get() && lab.speed.get() >= super::state::FAST_SPEED_INDEX;
            let _ = root.set_attribute("data-fast", if fast { "on" } else { "off" });
        }
    });
    let keys = window_event_listener(leptos::ev::keydown, move |ev| on_key(lab, &ev));
    on_cleanup(move || keys.remove());
    view! {
        <div class="lab" class:lab--drawer=move || lab.chrome.drawer.get().is_some()>
            <TopBar/>
            <Banner/>
            <main class="lab-main">
                <div class="lab-main__stage">
                    <Stage/>
                    <Dock/>
                </div>
                <Drawer/>
            </main>
            <p class="lab-footer">
                "Simplified: three brokers and three copies of each partition unless Setup says otherwise; clients' metadata follows the controller at once; elections follow Kafka 4.0 (ELR off); timeouts are shortened so a crash plays out in seconds; the log cleaner's passes take no time. Partitioning and assignment are bit-exact with Kafka's Java client."
            </p>
            <Help/>
            <super::seek::SeekDialog/>
            <p class="lab-sr-only" aria-live="polite" data-testid="announce">{move || lab.chrome.announce.get()}</p>
        </div>
    }
}

/// The keyboard: Space, arrows, +/-, F, P, D, 1–9 and 0, ?, Esc.
fn on_key(lab: LabState, ev: &web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let target = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
    let typing = target
        .as_ref()
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    if ev.key() == "Escape" {
        if lab.skip.get_untracked().is_some() {
            super::skip::stop_skip(lab);
        } else if lab.selection.seek_for.get_untracked().is_some() {
            lab.selection.seek_for.set(None);
        } else if lab.chrome.help_open.get_untracked() {
            lab.chrome.help_open.set(false);
        } else if lab.selection.selected_anomaly.get_untracked().is_some()
            || lab.selection.selected_cell.get_untracked().is_some()
        {
            lab.selection.selected_anomaly.set(None);
            lab.selection.selected_cell.set(None);
        } else {
            lab.chrome.drawer.set(None);
        }
        return;
    }
    // Keys typed into a field belong to the field; modified keys to the browser.
    if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    // Space on a focused button presses it; elsewhere it plays or pauses.
    let on_button = target.as_ref().is_some_and(|el| {
        el.tag_name() == "BUTTON" || el.get_attribute("role").as_deref() == Some("button")
    });
    match ev.key().as_str() {
        " " if !on_button => {
            ev.prevent_default();
            toggle_play(lab);
        }
        "ArrowRight" | "PageDown" => {
            ev.prevent_default();
            lab.playing.set(false);
            lab.step();
        }
        "ArrowLeft" | "PageUp" => {
            ev.prevent_default();
            lab.playing.set(false);
            let now = lab.with_untracked(|l| l.now_ms());
            lab.seek(now.saturating_sub(1_000));
        }
        "+" | "=" => change_speed(lab, true),
        "-" | "_" => change_speed(lab, false),
        "f" | "F" => {
            if let Some(root) = document().document_element() {
                let _ = root.request_fullscreen();
            }
        }
        "p" | "P" => {
            lab.chrome.presenting.update(|p| *p = !*p);
            lab.prefs_changed();
        }
        "d" | "D" => lab.chrome.drawer.update(|d| {
            *d = if d.is_some() {
                None
            } else {
                Some(Tab::Produce)
            }
        }),
        "?" => lab.chrome.help_open.update(|h| *h = !*h),
        k => {
            if let Some(t) = k
                .parse::<usize>()
                .ok()
                // 1–9, and 0 for the tenth.
                .and_then(|i| Tab::ALL.get(if i == 0 { 9 } else { i - 1 }))
            {
                lab.chrome.drawer.set(Some(*t));
            }
        }
    }
}

/// The keyboard help.
#[component]
fn Help() -> impl IntoView {
    let lab = super::state::expect_lab();
    view! {
        <Show when=move || lab.chrome.help_open.get()>
            <div class="lab-help" role="dialog" aria-modal="false" aria-label="keyboard help" data-testid="help-dialog">
                <h2 class="lab-panel__title">"Keyboard"</h2>
                <dl class="lab-help__keys">
                    <dt>"Space"</dt><dd>"play / pause"</dd>
                    <dt>"→"</dt><dd>"step one event, and say what it was"</dd>
                    <dt>"←"</dt><dd>"back one second (replayed exactly)"</dd>
                    <dt>"+ / -"</dt><dd>"faster / slower"</dd>
                    <dt>"D"</dt><dd>"open or close the panels"</dd>
                    <dt>"1 – 9, 0"</dt><dd>"Levels, Produce, Groups, Setup, Anomalies, Describe, Protocol, Calculator, Real Kafka, Cluster"</dd>
                    <dt>"P"</dt><dd>"presentation mode"</dd>
                    <dt>"F"</dt><dd>"full screen"</dd>
                    <dt>"Esc"</dt><dd>"stop a skip; close the explanation, then the panels"</dd>
                    <dt>"?"</dt><dd>"this help"</dd>
                </dl>
                <button class="lab-button" on:click=move |_| lab.chrome.help_open.set(false)>"Close"</button>
            </div>
        </Show>
    }
}
