//! Small plots over time for the group the stage shows: lag per partition, records
//! processed per second, and rebalances. Sampled once per second of virtual time (at most
//! once per frame), from the read model; a jump back in time starts them over.

use leptos::prelude::*;

use super::format::key_hue;
use super::state::{expect_lab, LabState, Sample, Samples};
use crate::engine::view::{self, murmur2, GroupId};

/// Samples kept (the newest), about five minutes of virtual time.
const KEPT: usize = 300;
/// Virtual time between samples.
const EVERY_MS: u64 = 1_000;

fn sample(sim: &view::Sim, group: GroupId) -> Option<Sample> {
    let m = view::metrics(sim);
    let g = m.groups.iter().find(|g| g.group == group)?;
    Some(Sample {
        t_ms: sim.now_ms(),
        lags: g
            .partitions
            .iter()
            .map(|p| p.lag.unwrap_or(p.log_end_offset))
            .collect(),
        processed: g.processed_records,
        rebalances: g.rebalances,
    })
}

/// Keeps `lab.samples` up to date; call once, in the app.
pub fn track(lab: LabState) {
    Effect::new(move |_| {
        let group = lab.selection.group.get();
        let epoch = lab.epoch.get();
        let now = lab.with(|l| l.now_ms());
        let stale = lab.samples.with_untracked(|s| {
            s.group != Some(group)
                || s.epoch != epoch
                || s.points.last().is_some_and(|p| p.t_ms > now)
        });
        if stale {
            lab.samples.set(Samples {
                group: Some(group),
                epoch,
                points: Vec::new(),
            });
        }
        let due = lab
            .samples
            .with_untracked(|s| s.points.last().is_none_or(|p| now >= p.t_ms + EVERY_MS));
        if due {
            if let Some(s) = lab.with_untracked(|l| sample(l.sim(), group)) {
                lab.samples.update(|x| {
                    x.points.push(s);
                    let excess = x.points.len().saturating_sub(KEPT);
                    x.points.drain(..excess);
                });
            }
        }
    });
}

const W: f64 = 400.0;
const H: f64 = 80.0;

fn polyline(points: &[(f64, f64)], x0: f64, x1: f64, y1: f64) -> String {
    points
        .iter()
        .map(|(x, y)| {
            let px = if x1 > x0 {
                (x - x0) / (x1 - x0) * W
            } else {
                0.0
            };
            let py = if y1 > 0.0 { H - y / y1 * (H - 4.0) } else { H };
            format!("{px:.1},{py:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three plots.
#[component]
pub fn Plots() -> impl IntoView {
    let lab = expect_lab();
    let plots = move || {
        lab.samples.with(|s| {
            let pts = &s.points;
            if pts.len() < 2 {
                return view! { <p class="lab-hint">"Plots appear after two seconds of virtual time."</p> }.into_any();
            }
            let x0 = pts[0].t_ms as f64;
            let x1 = pts[pts.len() - 1].t_ms as f64;
            let partitions = pts.last().map_or(0, |p| p.lags.len());
            let max_lag = pts.iter().flat_map(|p| p.lags.iter()).copied().max().unwrap_or(0).max(1) as f64;
            let lag_lines = (0..partitions)
                .map(|i| {
                    let line: Vec<(f64, f64)> = pts
                        .iter()
                        .filter_map(|p| p.lags.get(i).map(|l| (p.t_ms as f64, *l as f64)))
                        .collect();
                    let hue = key_hue(murmur2(format!("p{i}").as_bytes()));
                    view! {
                        <polyline class="lab-plot__line" points=polyline(&line, x0, x1, max_lag) style=format!("stroke: hsl({hue} 65% 45%)")>
                            <title>{format!("p{i}")}</title>
                        </polyline>
                    }
                })
                .collect_view();
            let rates: Vec<(f64, f64)> = pts
                .windows(2)
                .map(|w| {
                    let dt = (w[1].t_ms - w[0].t_ms).max(1) as f64 / 1000.0;
                    (w[1].t_ms as f64, (w[1].processed.saturating_sub(w[0].processed)) as f64 / dt)
                })
                .collect();
            let max_rate = rates.iter().map(|r| r.1).fold(1.0, f64::max);
            let rebal: Vec<(f64, f64)> = pts.iter().map(|p| (p.t_ms as f64, f64::from(p.rebalances))).collect();
            let max_rebal = rebal.iter().map(|r| r.1).fold(1.0, f64::max);
            let last = pts.last().cloned().unwrap_or(Sample { t_ms: 0, lags: Vec::new(), processed: 0, rebalances: 0 });
            let last_rate = rates.last().map_or(0.0, |r| r.1);
            view! {
                <figure class="lab-plot" data-testid="plot-lag">
                    <figcaption>{format!("Lag per partition (now {}; most {})", last.lags.iter().sum::<u64>(), max_lag as u64)}</figcaption>
                    <svg viewBox=format!("0 0 {W} {H}") class="lab-plot__svg" role="img" aria-label="lag per partition over time">{lag_lines}</svg>
                </figure>
                <figure class="lab-plot" data-testid="plot-rate">
                    <figcaption>{format!("Processed per second (now {last_rate:.0})")}</figcaption>
                    <svg viewBox=format!("0 0 {W} {H}") class="lab-plot__svg" role="img" aria-label="records processed per second over time">
                        <polyline class="lab-plot__line" points=polyline(&rates, x0, x1, max_rate)/>
                    </svg>
                </figure>
                <figure class="lab-plot" data-testid="plot-rebalances">
                    <figcaption>{format!("Rebalances (now {})", last.rebalances)}</figcaption>
                    <svg viewBox=format!("0 0 {W} {H}") class="lab-plot__svg" role="img" aria-label="rebalances over time">
                        <polyline class="lab-plot__line" points=polyline(&rebal, x0, x1, max_rebal)/>
                    </svg>
                </figure>
            }
            .into_any()
        })
    };
    view! {
        <h3 class="lab-panel__subtitle">"Over time"</h3>
        {plots}
    }
}
