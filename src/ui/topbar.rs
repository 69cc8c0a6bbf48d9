//! The one row of controls: play and pause (a `requestAnimationFrame` loop), step, jump,
//! speed, the clock, the timeline with the marks of the whole recorded history, the
//! ledger counts, and the buttons for the drawer, presentation mode, theme and help.

use leptos::prelude::*;

use super::format::secs;
use super::frame::{each_frame, wall_ms};
use super::state::{expect_lab, LabState, Tab, Theme, SPEEDS};
use crate::engine::view;

/// The longest wall-clock gap one frame may turn into virtual time: after a stall (a
/// background tab, a slow frame) the lab resumes instead of leaping.
const MAX_FRAME_MS: f64 = 100.0;
/// Wall-clock ms the simulation may take per frame; the rest is the page's to draw. When
/// a load needs more, virtual time runs slower than the chosen speed: it never stalls.
const ENGINE_BUDGET_MS: f64 = 5.0;
/// At fast-forward speeds the stage is redrawn at most this often (wall ms): the eye
/// cannot follow single records there, and each redraw costs a long frame. The clock and
/// the ledger counts still move every frame.
const FAST_REDRAW_MS: f64 = 1_000.0;
/// From this speed on, redraws are spaced out.
const FAST_SPEED: f64 = SPEEDS[super::state::FAST_SPEED_INDEX];

/// Starts or stops the play loop to match `lab.playing`.
pub fn toggle_play(lab: LabState) {
    super::skip::stop_skip(lab);
    lab.playing.update(|p| *p = !*p);
}

/// One speed step up or down.
pub fn change_speed(lab: LabState, up: bool) {
    lab.speed.update(|s| {
        *s = if up {
            (*s + 1).min(SPEEDS.len() - 1)
        } else {
            s.saturating_sub(1)
        }
    });
    lab.prefs_changed();
}

/// Runs one `requestAnimationFrame` loop while the lab plays: each frame advances
/// virtual time by the wall-clock gap × speed (fractions carried to the next frame).
fn run_loop(lab: LabState) {
    let mut last: Option<f64> = None;
    let mut carry = 0.0;
    let mut drawn_at = f64::NEG_INFINITY;
    each_frame(move |t| {
        // Stop when paused, or when the page that owned the loop is gone.
        if lab.playing.try_get_untracked() != Some(true) {
            return false;
        }
        if let Some(prev) = last {
            let speed = lab.speed_factor();
            carry += (t - prev).clamp(0.0, MAX_FRAME_MS) * speed;
            let ms = carry.floor();
            carry -= ms;
            if ms >= 1.0 {
                // Slices of at most a 32nd of the frame's time: a load's bursts stay small.
                let ms = ms as u64;
                lab.advance_within(ms, ENGINE_BUDGET_MS, (ms / 32).max(1), wall_ms);
                // Virtual time the budget did not allow is dropped, not owed.
                carry = carry.min(1.0);
                if speed < FAST_SPEED || t - drawn_at >= FAST_REDRAW_MS {
                    lab.refresh();
                    drawn_at = t;
                } else {
                    lab.tick();
                }
            }
            if lab.with_untracked(|l| l.now_ms()) >= crate::lab::MAX_TIME_MS {
                lab.playing.set(false);
                lab.info(super::skip::limit_words());
            }
        }
        last = Some(t);
        true
    });
}

/// The control bar.
#[component]
pub fn TopBar() -> impl IntoView {
    let lab = expect_lab();
    Effect::new(move |was: Option<bool>| {
        let playing = lab.playing.get();
        if playing && was != Some(true) {
            run_loop(lab);
        }
        if !playing && was == Some(true) {
            // A pause is a good moment to remember where the lab is; the views catch up.
            lab.refresh();
            lab.save();
        }
        playing
    });
    view! {
        <header class="lab-bar" class:lab-bar--skipping=move || lab.skip.get().is_some() aria-label="controls">
            <div class="lab-bar__group">
                <button
                    class="lab-button lab-button--primary lab-bar__play"
                    data-testid="play"
                    aria-keyshortcuts="Space"
                    aria-label=move || if lab.playing.get() { "Pause (Space)" } else { "Play (Space)" }
                    on:click=move |_| toggle_play(lab)
                >
                    <span aria-hidden="true">{move || if lab.playing.get() { "❚❚" } else { "▶" }}</span>
                    <span class="lab-bar__play-word">{move || if lab.playing.get() { "Pause" } else { "Play" }}</span>
                </button>
                <button
                    class="lab-button lab-bar__stepper"
                    data-testid="step"
                    aria-keyshortcuts="ArrowRight"
                    title="Run the next event and say what it was (→)"
                    on:click=move |_| lab.step()
                >
                    "Step"
                </button>
                <button class="lab-button lab-bar__stepper" data-testid="advance-1s" title="One second of virtual time" on:click=move |_| lab.advance(1_000)>
                    "+1 s"
                </button>
                <button class="lab-button lab-bar__stepper" data-testid="advance-10s" title="Ten seconds of virtual time" on:click=move |_| lab.advance(10_000)>
                    "+10 s"
                </button>
                <super::skip::SkipControl/>
                <select
                    class="lab-select"
                    aria-label="speed"
                    data-testid="speed"
                    title="Speed of virtual time (+ and -)"
                    prop:value=move || lab.speed.get().to_string()
                    on:change=move |ev| {
                        if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                            lab.speed.set(i.min(SPEEDS.len() - 1));
                            lab.prefs_changed();
                        }
                    }
                >
                    {SPEEDS
                        .iter()
                        .enumerate()
                        .map(|(i, s)| view! { <option value=i.to_string()>{format!("{s}×")}</option> })
                        .collect_view()}
                </select>
                <span class="lab-bar__time" data-testid="time" aria-live="off" title=move || lab.with_clock(|l| format!("virtual time: {} ms", l.now_ms()))>
                    // Tenths while playing; the millisecond once paused between them (a step).
                    {move || lab.with_clock(|l| super::format::clock(l.now_ms(), lab.playing.get() || lab.skip.get().is_some()))}
                </span>
            </div>
            <Timeline/>
            <Counts/>
            <div class="lab-bar__group lab-bar__group--end">
                <button
                    class="lab-button"
                    data-testid="drawer-toggle"
                    aria-keyshortcuts="D"
                    aria-expanded=move || lab.chrome.drawer.get().is_some().to_string()
                    aria-controls="lab-drawer"
                    on:click=move |_| lab.chrome.drawer.update(|d| *d = if d.is_some() { None } else { Some(Tab::Produce) })
                >
                    "Panels"
                </button>
                <button
                    class="lab-button lab-button--icon"
                    data-testid="present"
                    aria-keyshortcuts="P"
                    aria-label="presentation mode (P)"
                    title="Presentation mode (P): the stage fills the screen"
                    aria-pressed=move || lab.chrome.presenting.get().to_string()
                    on:click=move |_| {
                        lab.chrome.presenting.update(|p| *p = !*p);
                        lab.prefs_changed();
                    }
                >
                    "▣"
                </button>
                <button
                    class="lab-button lab-button--icon"
                    data-testid="theme"
                    aria-label=move || format!("colour theme: {} (click to change)", lab.chrome.theme.get().name())
                    title="Colour theme: system, light or dark"
                    on:click=move |_| {
                        lab.chrome.theme.update(|t| *t = match *t {
                            Theme::Auto => Theme::Light,
                            Theme::Light => Theme::Dark,
                            Theme::Dark => Theme::Auto,
                        });
                        lab.prefs_changed();
                    }
                >
                    {move || match lab.chrome.theme.get() { Theme::Auto => "◐", Theme::Light => "☀", Theme::Dark => "☾" }}
                </button>
                <button
                    class="lab-button lab-button--icon"
                    data-testid="help"
                    aria-keyshortcuts="?"
                    aria-label="keyboard help (?)"
                    on:click=move |_| lab.chrome.help_open.update(|h| *h = !*h)
                >
                    "?"
                </button>
            </div>
        </header>
    }
}

/// The timeline: drag to any moment of the recorded history; marks show every recorded
/// action (the whole history, also past now) and the rebalances and crashes so far.
#[component]
fn Timeline() -> impl IntoView {
    let lab = expect_lab();
    let end = move || lab.with(|l| l.horizon_ms().max(l.now_ms()).max(1_000));
    // Rebalances and crashes, read from new events only (a cursor), started over when
    // time jumps back.
    let seen = StoredValue::new((0u64, 0u64, Vec::<(u64, &'static str)>::new()));
    let marks = Memo::new(move |_| {
        let epoch = lab.epoch.get();
        lab.with(|l| {
            let sim = l.sim();
            seen.update_value(|(e, cursor, found)| {
                if *e != epoch || sim.event_count() < *cursor {
                    *e = epoch;
                    *cursor = 0;
                    found.clear();
                }
                *cursor = view::visit_events_since(sim, *cursor, |ev| {
                    if let view::Event::Group { at_ms, event, .. } = ev {
                        let kind = match event {
                            view::GroupEvent::JoinComplete { .. } => "rebalance",
                            view::GroupEvent::ConsumerCrashed { .. } => "crash",
                            _ => return,
                        };
                        if found.len() < 2_000 {
                            found.push((*at_ms, kind));
                        }
                    }
                });
            });
            let end = l.horizon_ms().max(l.now_ms()).max(1_000) as f64;
            let mut marks: Vec<(u32, &'static str, String)> = l
                .session()
                .commands
                .iter()
                .take(400)
                .map(|(at, c)| {
                    (
                        permille(*at, end),
                        "action",
                        format!("{} at {}", c.name(), secs(*at)),
                    )
                })
                .collect();
            seen.with_value(|(_, _, found)| {
                marks.extend(found.iter().map(|(at, kind)| {
                    (
                        permille(*at, end),
                        *kind,
                        format!("{kind} at {}", secs(*at)),
                    )
                }));
            });
            marks.sort_by_key(|m| (m.0, m.1));
            marks.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
            marks
        })
    });
    view! {
        <div class="lab-timeline">
            <input
                type="range"
                class="lab-timeline__scrubber"
                aria-label="timeline: drag to go back or forward in the recorded history"
                data-testid="timeline"
                min="0"
                step="100"
                // The slider's steps reach past the end; its last step is the recorded
                // end itself, to the millisecond (a Step may end at 38.018 s).
                prop:max=move || end().div_ceil(100).saturating_mul(100).to_string()
                prop:value=move || lab.with_clock(|l| l.now_ms()).to_string()
                on:input=move |ev| {
                    if let Ok(t) = event_target_value(&ev).parse::<u64>() {
                        lab.playing.set(false);
                        // The step past the end is the end itself; further (a scripted
                        // seek ahead) runs the lab forward.
                        let end = end();
                        lab.seek(if t > end && t < end + 100 { end } else { t });
                    }
                }
            />
            <div class="lab-timeline__marks" aria-hidden="true">
                {move || {
                    marks
                        .get()
                        .into_iter()
                        .map(|(pos, kind, title)| {
                            view! {
                                <span
                                    class=format!("lab-timeline__mark lab-timeline__mark--{kind}")
                                    style=format!("left: {}%", f64::from(pos) / 10.0)
                                    title=title
                                ></span>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </div>
    }
}

fn permille(at: u64, end: f64) -> u32 {
    ((at as f64 / end) * 1000.0).round().clamp(0.0, 1000.0) as u32
}

/// The ledger counts of the shown group, always in view.
#[component]
fn Counts() -> impl IntoView {
    let lab = expect_lab();
    let totals = Memo::new(move |_| {
        let g = lab.selection.group.get();
        lab.with_clock(|l| view::totals(l.sim(), g))
    });
    let count = move |name: &'static str,
                      label: &'static str,
                      f: fn(&view::Totals) -> u64,
                      always: bool| {
        let value = move || totals.with(|t| t.as_ref().map_or(0, f));
        let alerting = matches!(name, "duplicate" | "lost" | "failed" | "deleted");
        let alert = move || alerting && value() != 0;
        view! {
            <div
                class=format!("lab-count lab-count--{name}")
                class:lab-count--alert=alert
                style=move || if always || value() != 0 { "" } else { "display: none" }
                data-testid=format!("count-{name}")
                title=count_title(name)
            >
                <span class="lab-count__label">{label}</span>
                <span class="lab-count__value" data-testid=format!("count-{name}-value")>{value}</span>
            </div>
        }
    };
    view! {
        <div class="lab-counts" role="group" aria-label="delivery ledger of the group shown">
            {count("once", "once", |t| t.once, true)}
            {count("duplicate", "duplicate", |t| t.duplicate, true)}
            {count("lost", "lost", |t| t.lost, true)}
            {count("out-of-order", "out of order", |t| t.out_of_order, true)}
            {count("pending", "pending", |t| t.pending, true)}
            {count("skipped", "skipped", |t| t.skipped, false)}
            {count("failed", "failed", |t| t.failed, false)}
            {count("deleted", "deleted unread", |t| t.deleted, false)}
            {count("dead-lettered", "to DLQ", |t| t.dead_lettered, false)}
        </div>
    }
}

fn count_title(name: &str) -> &'static str {
    match name {
        "once" => "records this group processed exactly once",
        "duplicate" => "records this group processed more than once",
        "lost" => "records this group will never process (skipped past by a commit, or lost before the log)",
        "out-of-order" => "records processed before an earlier record with the same key",
        "pending" => "records not processed yet (in the producer, or in the log)",
        "skipped" => "records skipped on purpose (a seek)",
        "deleted" => "records retention deleted before this group read them",
        "dead-lettered" => "poison records the application wrote to the dead-letter topic and went past",
        _ => "records whose processing failed",
    }
}
