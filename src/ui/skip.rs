//! Skipping ahead: retention is measured in hours and days, so the lab can jump a minute,
//! an hour, a day or a week of virtual time. The engine runs every request of the skipped
//! time (nothing is approximated), in slices across frames so the page never stalls; a bar
//! shows how far it is, and Stop or Esc ends it where it stands.

use leptos::prelude::*;

use super::frame::{each_frame, wall_ms};
use super::state::{expect_lab, LabState};
use crate::lab::MAX_TIME_MS;

/// What the skip menu offers: virtual ms and their name.
pub const SKIPS: [(u64, &str); 4] = [
    (60_000, "1 min"),
    (3_600_000, "1 hour"),
    (86_400_000, "1 day"),
    (7 * 86_400_000, "7 days"),
];

/// Wall ms the engine may take per frame while skipping: more than playing gets (the
/// stage is not animated meanwhile), leaving 4.7 ms of a 60 Hz frame to the page
/// (measured: frame p95 unchanged from idle, BENCHMARKS.md).
const SKIP_BUDGET_MS: f64 = 12.0;
/// While skipping the stage is redrawn at most this often (wall ms); the clock, the bar
/// and the ledger counts move every frame.
const REDRAW_MS: f64 = 1_000.0;

/// How far a skip from `from_ms` to `to_ms` is at `now_ms`, 0 to 100.
fn percent(from_ms: u64, to_ms: u64, now_ms: u64) -> u32 {
    let span = to_ms.saturating_sub(from_ms).max(1);
    let done = now_ms.saturating_sub(from_ms).min(span);
    (done * 100 / span) as u32
}

/// Starts skipping `ms` of virtual time (clamped to the lab's limit); pauses play first.
pub fn start_skip(lab: LabState, ms: u64) {
    let now = lab.with_untracked(|l| l.now_ms());
    if now >= MAX_TIME_MS {
        lab.info(limit_words());
        return;
    }
    let to_ms = now.saturating_add(ms).min(MAX_TIME_MS);
    if let Err(e) = lab.with_untracked(|l| l.session().check_skip(to_ms)) {
        lab.error(e.to_string());
        return;
    }
    lab.playing.set(false);
    let was_idle = lab.skip.get_untracked().is_none();
    lab.skip.set(Some((now, to_ms)));
    if was_idle {
        run_skip(lab);
    }
}

/// Ends a skip where it stands (the views catch up and the session is saved).
pub fn stop_skip(lab: LabState) {
    if lab.skip.get_untracked().is_some() {
        lab.skip.set(None);
        lab.refresh();
        lab.save();
    }
}

/// What the page says at the lab's time limit.
pub fn limit_words() -> String {
    format!(
        "The lab stops at {} days of virtual time.",
        MAX_TIME_MS / 86_400_000
    )
}

/// The frame loop of a skip: each frame runs the engine for [`SKIP_BUDGET_MS`] of wall
/// time towards the target, and stops at it (or when the skip is cancelled).
fn run_skip(lab: LabState) {
    let mut drawn_at = f64::NEG_INFINITY;
    each_frame(move |t| {
        let Some((_, to_ms)) = lab.skip.try_get_untracked().flatten() else {
            return false;
        };
        let now = lab.with_untracked(|l| l.now_ms());
        if now < to_ms {
            let max_slice = super::state::MAX_SLICE_MS;
            lab.advance_within(to_ms - now, SKIP_BUDGET_MS, max_slice, wall_ms);
        }
        let now = lab.with_untracked(|l| l.now_ms());
        if now >= to_ms {
            stop_skip(lab);
            if now >= MAX_TIME_MS {
                lab.info(limit_words());
            }
            return false;
        }
        if t - drawn_at >= REDRAW_MS {
            lab.refresh();
            drawn_at = t;
        } else {
            lab.tick();
        }
        true
    });
}

/// The skip menu, and while a skip runs, its bar and Stop button.
#[component]
pub fn SkipControl() -> impl IntoView {
    let lab = expect_lab();
    let skipping = move || lab.skip.get().is_some();
    let percent = move || {
        lab.skip.get().map_or(0, |(from, to)| {
            percent(from, to, lab.with_clock(|l| l.now_ms()))
        })
    };
    view! {
        <Show
            when=skipping
            fallback=move || view! {
                <select
                    class="lab-select lab-skip"
                    aria-label="skip ahead in virtual time"
                    data-testid="skip"
                    title="Skip ahead a minute, an hour, a day or a week (retention is measured in hours and days); every request of the skipped time still runs"
                    prop:value=""
                    on:change=move |ev| {
                        let chosen = event_target_value(&ev).parse::<usize>().ok();
                        if let Some((ms, _)) = chosen.and_then(|i| SKIPS.get(i)) {
                            start_skip(lab, *ms);
                        }
                    }
                >
                    <option value="" disabled=true selected=true>"»"</option>
                    {SKIPS
                        .iter()
                        .enumerate()
                        .map(|(i, (_, name))| view! { <option value=i.to_string()>{format!("+{name}")}</option> })
                        .collect_view()}
                </select>
            }
        >
            <span class="lab-skip__running" data-testid="skip-progress" role="status">
                <progress class="lab-skip__bar" max="100" prop:value=move || percent().to_string()></progress>
                <span class="lab-skip__words">{move || format!("skipping {} %", percent())}</span>
                <button class="lab-button" data-testid="skip-stop" aria-keyshortcuts="Escape" on:click=move |_| stop_skip(lab)>
                    "Stop"
                </button>
            </span>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar reads 0 at the start, 100 at the end, and never past it.
    #[test]
    fn percent_runs_from_0_to_100() {
        let (from, to) = (1_000, 3_601_000);
        assert_eq!(percent(from, to, 1_000), 0);
        assert_eq!(percent(from, to, 1_801_000), 50);
        assert_eq!(percent(from, to, to), 100);
        assert_eq!(percent(from, to, 9_000_000), 100);
    }
}
