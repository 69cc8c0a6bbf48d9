//! Time controls: play/pause, one event, one second, speed, reset with a commit mode,
//! and the keyboard (space, →, +, -).

use leptos::prelude::*;

use super::state::{expect_lab, LabState, SPEEDS};
use crate::engine::event::{Event, GroupEvent};

/// How often the play loop ticks, in wall-clock ms.
const TICK_MS: u64 = 100;

/// The commit modes the setup offers, with the words shown for each.
const MODES: [(&str, &str); 4] = [
    (
        "auto",
        "enable.auto.commit=true (every auto.commit.interval.ms)",
    ),
    (
        "after-batch",
        "commitSync after processing each poll's batch",
    ),
    ("after-each-record", "commitSync after each record"),
    (
        "before-processing",
        "commitSync right after poll, before processing",
    ),
];

fn toggle_play(lab: LabState) {
    lab.playing.update(|p| *p = !*p);
}

fn change_speed(lab: LabState, up: bool) {
    lab.speed.update(|s| {
        *s = if up {
            (*s + 1).min(SPEEDS.len() - 1)
        } else {
            s.saturating_sub(1)
        }
    });
}

/// The control bar. Owns the play loop's timer and the keyboard listener, and clears
/// both when it unmounts.
#[component]
pub fn Controls() -> impl IntoView {
    let lab = expect_lab();

    // The play loop: each tick advances virtual time by tick × speed. The timer is
    // dropped (cancelled) when the controls unmount.
    let timer = StoredValue::new_local(Some(gloo_timers::callback::Interval::new(
        TICK_MS as u32,
        move || {
            if lab.playing.get_untracked() {
                let ms = (TICK_MS as f64 * lab.speed_factor()).round().max(1.0) as u64;
                lab.advance(ms);
            }
        },
    )));
    on_cleanup(move || timer.update_value(|t| drop(t.take())));

    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        // Escape closes the help from anywhere; other keys are left to the field being typed in.
        if ev.key() == "Escape" {
            lab.help_open.set(false);
            return;
        }
        if typing {
            return;
        }
        match ev.key().as_str() {
            " " => {
                ev.prevent_default();
                toggle_play(lab);
            }
            "ArrowRight" | "PageDown" => lab.step(),
            "ArrowLeft" | "PageUp" => {
                let now = lab.with(|s| s.now_ms());
                lab.seek(now.saturating_sub(1_000));
            }
            "+" | "=" => change_speed(lab, true),
            "-" => change_speed(lab, false),
            "f" | "F" => {
                if let Some(root) = document().document_element() {
                    let _ = root.request_fullscreen();
                }
            }
            "?" => lab.help_open.update(|h| *h = !*h),
            "p" | "P" => lab.presenting.update(|p| *p = !*p),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    let now = move || lab.with(|s| format!("t = {:.1} s", s.now_ms() as f64 / 1000.0));
    let now_ms = move || lab.with(|s| s.now_ms());
    // Timeline markers: (position in %, kind) for rebalances, commits and crashes so far.
    let markers = Memo::new(move |_| {
        let horizon = lab.horizon_ms.get().max(1) as f64;
        lab.with(|s| {
            s.events()
                .iter()
                .rev()
                // Bounded per frame: only the most recent events are marked.
                .take(20_000)
                .filter_map(|e| match e {
                    Event::Group { at_ms, event, .. } => {
                        let kind = match event {
                            GroupEvent::JoinComplete { .. } => "rebalance",
                            GroupEvent::ConsumerCrashed { .. } => "crash",
                            GroupEvent::Committed { .. } => "commit",
                            _ => return None,
                        };
                        Some(((*at_ms as f64 / horizon * 100.0).min(100.0), kind))
                    }
                    _ => None,
                })
                .take(400)
                .map(|(pos, kind)| ((pos * 10.0).round() as u32, kind))
                .collect::<Vec<_>>()
        })
    });
    let mode = move || lab.scenario.with(|s| s.commit_mode().to_owned());
    let on_mode = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let base = lab.scenario.get_untracked();
        match base.with_commit_mode(&value) {
            Ok(s) => {
                lab.reset(s);
                lab.info(format!("Reset with commit mode {value}."));
            }
            Err(e) => lab.error(e.to_string()),
        }
    };

    view! {
        <section class="lab-controls" aria-label="time controls">
            <button
                class="lab-button lab-button--primary"
                data-testid="play"
                aria-keyshortcuts="Space"
                on:click=move |_| toggle_play(lab)
            >
                {move || if lab.playing.get() { "Pause" } else { "Play" }}
            </button>
            <button class="lab-button" data-testid="step" aria-keyshortcuts="ArrowRight" on:click=move |_| lab.step()>
                "Step one event"
            </button>
            <button class="lab-button" data-testid="advance-1s" on:click=move |_| lab.advance(1_000)>
                "+1 s"
            </button>
            <button class="lab-button" data-testid="advance-10s" on:click=move |_| lab.advance(10_000)>
                "+10 s"
            </button>
            <label class="lab-controls__field">
                "speed "
                <select
                    aria-label="speed"
                    data-testid="speed"
                    prop:value=move || lab.speed.get().to_string()
                    on:change=move |ev| {
                        if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                            lab.speed.set(i.min(SPEEDS.len() - 1));
                        }
                    }
                >
                    {SPEEDS
                        .iter()
                        .enumerate()
                        .map(|(i, s)| view! { <option value=i.to_string()>{format!("{s}×")}</option> })
                        .collect_view()}
                </select>
            </label>
            <span class="lab-controls__time" data-testid="time">{now}</span>
            <div class="lab-timeline">
                <input
                    type="range"
                    class="lab-timeline__scrubber"
                    aria-label="timeline: drag to go back or forward in time"
                    data-testid="timeline"
                    min="0"
                    step="100"
                    prop:max=move || lab.horizon_ms.get().to_string()
                    prop:value=move || now_ms().to_string()
                    on:input=move |ev| {
                        if let Ok(t) = event_target_value(&ev).parse::<u64>() {
                            lab.seek(t);
                        }
                    }
                />
                <div class="lab-timeline__marks" aria-hidden="true">
                    {move || {
                        markers
                            .get()
                            .into_iter()
                            .map(|(pos, kind)| {
                                view! {
                                    <span
                                        class=format!("lab-timeline__mark lab-timeline__mark--{kind}")
                                        style=format!("left: {}%", f64::from(pos) / 10.0)
                                    ></span>
                                }
                            })
                            .collect_view()
                    }}
                </div>
            </div>
            <label class="lab-controls__field">
                "commit mode "
                <select aria-label="commit mode" data-testid="commit-mode" prop:value=mode on:change=on_mode>
                    {MODES
                        .iter()
                        .map(|(value, text)| view! { <option value=*value title=*text>{*value}</option> })
                        .collect_view()}
                </select>
            </label>
            <button
                class="lab-button"
                data-testid="reset"
                on:click=move |_| {
                    let s = lab.scenario.get_untracked();
                    lab.reset(s);
                }
            >
                "Reset"
            </button>
        </section>
    }
}
