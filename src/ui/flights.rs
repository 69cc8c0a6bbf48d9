//! What moves on the stage: records flying from a producer to their partition, fetches
//! flying from a partition to its consumer, commit pulses on the committed cursor, and
//! flashes for crashes, duplicates and losses. Each is made from the engine's new events
//! after a frame and animated by CSS, so the page does no per-frame work for them.
//!
//! Under load the stage summarises: at most a few flights per frame, one per partition,
//! and the partition reason rides along only while records come slowly enough to read.

use leptos::prelude::*;

use super::format::{key_hue, short_reason};
use super::layout::{StageModel, CONSUMER_H, CONSUMER_W, CONSUMER_X, PRODUCER_RIGHT, VISIBLE};
use super::state::{expect_lab, LabState};
use crate::engine::view::{
    self, AnomalyKind, BrokerEvent, CrashReason, Event, GroupEvent, ProducerEvent, Tp,
};

/// Flights alive at once, at most.
const MAX_ALIVE: usize = 48;
/// New record flights per frame, at most (one per partition).
const RECORDS_PER_FRAME: usize = 6;
/// New fetch flights and commit pulses per frame, at most.
const OTHERS_PER_FRAME: usize = 6;
/// Wall ms between two flights that carry a reason label.
const LABEL_GAP_MS: f64 = 1_000.0;
/// A frame that moved virtual time further than this is a jump, not motion.
const MAX_ANIMATED_MS: u64 = 2_000;
/// Above this many records per wall-clock second, flights carry no reason label.
const READABLE_PER_SEC: f64 = 4.0;

/// One thing in flight (or one pulse).
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// A unique id (the keyed list's key).
    pub id: u64,
    /// `record`, `fetch`, `commit`, `flash`.
    pub kind: &'static str,
    /// Where it starts.
    pub from: (f64, f64),
    /// Where it ends (equal to `from` for a pulse).
    pub to: (f64, f64),
    /// Fill colour.
    pub color: String,
    /// Text that rides along.
    pub label: Option<String>,
    /// Wall-clock ms it lasts.
    pub duration_ms: f64,
    /// Wall-clock ms it was born.
    pub born_ms: f64,
}

fn wall_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

/// Keeps a long key readable: at most `max` characters, then an ellipsis.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// What the scan of one frame's new events found.
#[derive(Default)]
struct Found {
    /// `(tp, record id, producer?)` of the newest record per partition, with counts.
    records: Vec<(Tp, u32, Option<view::ProducerId>, u32)>,
    record_total: u32,
    fetches: Vec<(Tp, view::MemberId, u64)>,
    commits: Vec<(Tp, u64, bool)>,
    crashes: Vec<(view::MemberId, CrashReason)>,
    rebalances: Vec<i32>,
    /// Log cleaning and retention, one of each per partition (every replica reports its
    /// own; the lane shows the leader's log, and the replicas do alike).
    cleanups: Vec<(Tp, Cleanup)>,
}

/// What the log cleaner or a retention check did to a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cleanup {
    /// A cleaning pass: its new checkpoint, and how many records it removed.
    Cleaned { to: u64, removed: u64 },
    /// A retention check deleted segments: the new log start.
    Deleted { log_start: u64 },
}

fn scan(lab: &LabState, from: u64, group: view::GroupId) -> (Found, u64) {
    let mut found = Found::default();
    let next = lab.with_untracked(|l| {
        let sim = l.sim();
        view::visit_events_since(sim, from, |e| match e {
            Event::Producer {
                producer,
                event:
                    ProducerEvent::Sent {
                        first_record,
                        count,
                    },
                ..
            } => {
                found.record_total += count;
                let last = first_record + count.saturating_sub(1);
                if let Some(r) = view::record(sim, last) {
                    note_record(&mut found, r.tp, last, Some(*producer), *count);
                }
            }
            Event::RecordAppended { record_id, tp, .. } => {
                found.record_total += 1;
                note_record(&mut found, *tp, *record_id, None, 1);
            }
            Event::Group {
                group: g, event, ..
            } if *g == group => match event {
                GroupEvent::Polled { member, ranges } => {
                    for (tp, a, b) in ranges {
                        if found.fetches.len() < 64 {
                            found.fetches.push((*tp, *member, b.saturating_sub(*a)));
                        }
                    }
                }
                GroupEvent::Committed { offsets, auto, .. } => {
                    for (tp, o) in offsets {
                        found.commits.retain(|c| c.0 != *tp);
                        found.commits.push((*tp, *o, *auto));
                    }
                }
                GroupEvent::ConsumerCrashed { member, reason } => {
                    found.crashes.push((*member, *reason));
                }
                GroupEvent::JoinComplete { generation, .. } => found.rebalances.push(*generation),
                _ => {}
            },
            Event::Broker { event, .. } => {
                let cleanup = match event {
                    BrokerEvent::LogCleaned(c) => (
                        c.tp,
                        Cleanup::Cleaned {
                            to: c.dirty.1,
                            removed: c.removed,
                        },
                    ),
                    BrokerEvent::SegmentsDeleted {
                        tp,
                        log_start_offset,
                        ..
                    } => (
                        *tp,
                        Cleanup::Deleted {
                            log_start: *log_start_offset,
                        },
                    ),
                    _ => return,
                };
                let same = |c: &(Tp, Cleanup)| {
                    c.0 == cleanup.0
                        && std::mem::discriminant(&c.1) == std::mem::discriminant(&cleanup.1)
                };
                if !found.cleanups.iter().any(same) {
                    found.cleanups.push(cleanup);
                }
            }
            _ => {}
        })
    });
    (found, next)
}

fn note_record(found: &mut Found, tp: Tp, id: u32, producer: Option<view::ProducerId>, n: u32) {
    if let Some(slot) = found.records.iter_mut().find(|r| r.0 == tp) {
        *slot = (tp, id, producer, slot.3 + n);
    } else {
        found.records.push((tp, id, producer, n));
    }
}

/// The flights layer of the stage.
#[component]
pub fn Flights(model: Memo<StageModel>) -> impl IntoView {
    let lab = expect_lab();
    let flights = RwSignal::new(Vec::<Flight>::new());
    let cursor = StoredValue::new(lab.with_untracked(|l| l.sim().event_count()));
    let seen_epoch = StoredValue::new(lab.epoch.get_untracked());
    let seen_group = StoredValue::new(lab.selection.group.get_untracked());
    let seen_anomalies = StoredValue::new(None::<usize>);
    let next_id = StoredValue::new(0u64);
    let seen_now = StoredValue::new(lab.with_untracked(|l| l.now_ms()));
    // One reason label on the stage at a time, so two never overlap.
    let labelled_at = StoredValue::new(f64::NEG_INFINITY);
    // (wall ms, records) of recent frames: how fast records come, to the eye.
    let recent = StoredValue::new(std::collections::VecDeque::<(f64, u32)>::new());

    Effect::new(move |_| {
        let group = lab.selection.group.get();
        let epoch = lab.epoch.get();
        let m = model.get();
        let now = wall_ms();
        let count = lab.with(|l| l.sim().event_count());
        // A jump in time or a new group: start over from here, with nothing in flight.
        if epoch != seen_epoch.get_value()
            || group != seen_group.get_value()
            || count < cursor.get_value()
        {
            seen_epoch.set_value(epoch);
            seen_group.set_value(group);
            cursor.set_value(count);
            seen_anomalies.set_value(None);
            seen_now.set_value(lab.with_untracked(|l| l.now_ms()));
            flights.set(Vec::new());
            return;
        }
        // A jump (+10 s, a seek forward) is not an animation: skip what it ran over.
        let sim_now = lab.with_untracked(|l| l.now_ms());
        // Fast-forward summarises: nothing flies (the stage redraws once a second).
        let fast = lab.playing.get_untracked()
            && lab.speed.get_untracked() >= super::state::FAST_SPEED_INDEX;
        let jumped = fast || sim_now.saturating_sub(seen_now.get_value()) > MAX_ANIMATED_MS;
        seen_now.set_value(sim_now);
        if jumped {
            cursor.set_value(count);
            seen_anomalies.set_value(None);
            return;
        }
        let (found, next) = scan(&lab, cursor.get_value(), group);
        cursor.set_value(next);
        recent.update_value(|r| {
            r.push_back((now, found.record_total));
            while r.front().is_some_and(|f| now - f.0 > 1_000.0) {
                r.pop_front();
            }
        });
        let per_sec: u32 = recent.with_value(|r| r.iter().map(|x| x.1).sum());
        let readable = f64::from(per_sec) <= READABLE_PER_SEC;

        let mut launch = Launcher {
            new: Vec::new(),
            id: next_id.get_value(),
            now,
        };
        let (dups, losses) = lab.with_untracked(|l| {
            let sim = l.sim();
            record_flights(&mut launch, sim, &m, &found, readable, labelled_at);
            other_flights(&mut launch, &m, &found, readable);
            anomaly_flashes(&mut launch, sim, &m, group, seen_anomalies)
        });
        next_id.set_value(launch.id);
        let new = launch.new;
        announce(&lab, &found, dups, losses);
        let alive_or_new = flights.with_untracked(|f| {
            f.iter().any(|x| now - x.born_ms < x.duration_ms) || !new.is_empty()
        });
        if !alive_or_new && flights.with_untracked(Vec::is_empty) {
            return;
        }
        flights.update(|f| {
            f.retain(|x| now - x.born_ms < x.duration_ms);
            f.extend(new);
            let excess = f.len().saturating_sub(MAX_ALIVE);
            f.drain(..excess);
        });
    });

    view! {
        <g class="lab-flights" aria-hidden="true">
            <For each=move || flights.get() key=|f| f.id let:f>
                {flight_view(&f)}
            </For>
        </g>
    }
}

/// The flights one frame launches, numbered on from the last frame's.
struct Launcher {
    new: Vec<Flight>,
    id: u64,
    now: f64,
}

impl Launcher {
    fn push(
        &mut self,
        kind: &'static str,
        from: (f64, f64),
        to: (f64, f64),
        color: String,
        label: Option<String>,
        duration_ms: f64,
    ) {
        self.id += 1;
        self.new.push(Flight {
            id: self.id,
            kind,
            from,
            to,
            color,
            label,
            duration_ms,
            born_ms: self.now,
        });
    }
}

/// New records fly from their producer to their lane's end, one reason label at a time.
fn record_flights(
    launch: &mut Launcher,
    sim: &view::Sim,
    m: &StageModel,
    found: &Found,
    readable: bool,
    labelled_at: StoredValue<f64>,
) {
    let now = launch.now;
    for &(tp, rid, producer, n) in found.records.iter().rev().take(RECORDS_PER_FRAME) {
        let (Some(lane), Some(y)) = (m.lane(tp), m.lane_mid(tp)) else {
            continue;
        };
        let Some(r) = view::record(sim, rid) else {
            continue;
        };
        let from = producer
            .and_then(|p| m.producer_mid(p))
            .map_or((8.0, y), |py| (PRODUCER_RIGHT + 14.0, py));
        let slot = lane.leo.saturating_sub(lane.first).min(VISIBLE - 1);
        let to = (m.metrics.cell_x(slot) + m.metrics.cell / 2.0, y);
        let color = r.key_hash.map_or("#9aa0a6".to_owned(), |h| {
            format!("hsl({} 70% 60%)", key_hue(h))
        });
        let label = if n > 1 {
            Some(format!("×{n}"))
        } else if readable && now - labelled_at.get_value() >= LABEL_GAP_MS {
            labelled_at.set_value(now);
            let key = r.key.as_deref().map(|k| ellipsize(k, 18));
            Some(short_reason(key.as_deref(), &r.reason, tp.p()))
        } else {
            None
        };
        let duration = if readable { 1_100.0 } else { 650.0 };
        launch.push("record", from, to, color, label, duration);
    }
}

/// Fetches fly from a lane to their consumer; commits and crashes pulse where they happen.
fn other_flights(launch: &mut Launcher, m: &StageModel, found: &Found, readable: bool) {
    let mut fetches = 0;
    for &(tp, member, n) in found.fetches.iter().rev() {
        if fetches >= OTHERS_PER_FRAME {
            break;
        }
        let (Some(lane), Some(y0), Some(y1)) = (m.lane(tp), m.lane_mid(tp), m.member_mid(member))
        else {
            continue;
        };
        fetches += 1;
        let slot = lane
            .position
            .unwrap_or(lane.leo)
            .saturating_sub(lane.first)
            .min(VISIBLE);
        let from = (m.metrics.cell_x(slot), y0);
        let label = readable.then(|| format!("{n} record{}", if n == 1 { "" } else { "s" }));
        let color = super::layout::member_color(member).to_owned();
        launch.push("fetch", from, (CONSUMER_X, y1), color, label, 700.0);
    }
    for &(tp, offset, auto) in found.commits.iter().rev().take(OTHERS_PER_FRAME) {
        let Some(lane) = m.lane(tp) else { continue };
        let slot = offset.saturating_sub(lane.first).min(VISIBLE);
        let at = (m.metrics.cell_x(slot) - 3.0, lane.y + m.metrics.cell + 12.0);
        let label = Some(if auto { "auto-commit" } else { "commit" }.to_owned());
        launch.push("commit", at, at, String::new(), label, 1_000.0);
    }
    cleanup_flights(launch, m, found);
    for &(member, reason) in &found.crashes {
        let Some(y) = m.member_mid(member) else {
            continue;
        };
        let at = (CONSUMER_X, y - CONSUMER_H / 2.0);
        let label = match reason {
            CrashReason::Poison { tp, offset } => format!("☠ crashed at p{}/{offset}", tp.p()),
            CrashReason::Killed => "crashed".to_owned(),
        };
        launch.push("card", at, at, String::new(), Some(label), 1_600.0);
    }
}

/// The cleaner sweeps its lane from the log start to its new checkpoint, saying how many
/// records it removed; a retention check flashes the log start it left.
fn cleanup_flights(launch: &mut Launcher, m: &StageModel, found: &Found) {
    for &(tp, cleanup) in found.cleanups.iter().take(OTHERS_PER_FRAME) {
        let (Some(lane), Some(y)) = (m.lane(tp), m.lane_mid(tp)) else {
            continue;
        };
        let x = |offset: u64| {
            m.metrics
                .cell_x(offset.saturating_sub(lane.first).min(VISIBLE))
        };
        match cleanup {
            Cleanup::Cleaned { to, removed } => {
                let label = format!("cleaner: {removed} removed");
                let (from, to) = ((x(lane.first), y), (x(to), y));
                launch.push("sweep", from, to, String::new(), Some(label), 1_600.0);
            }
            Cleanup::Deleted { log_start } => {
                let at = (x(lane.first), y);
                let label = format!("retention: log start {log_start}");
                launch.push("retention", at, at, String::new(), Some(label), 1_600.0);
            }
        }
    }
}

/// New duplicates and losses flash where they happened; returns how many of each.
fn anomaly_flashes(
    launch: &mut Launcher,
    sim: &view::Sim,
    m: &StageModel,
    group: view::GroupId,
    seen_anomalies: StoredValue<Option<usize>>,
) -> (usize, usize) {
    let (mut dups, mut losses) = (0, 0);
    let total = view::anomaly_count(sim, group);
    let from = seen_anomalies.get_value().unwrap_or(total);
    seen_anomalies.set_value(Some(total));
    for a in view::anomalies_since(sim, group, from, 3) {
        match (a.kind, a.member.and_then(|mm| m.member_mid(mm))) {
            (AnomalyKind::Duplicate, y) => {
                dups += 1;
                if let Some(y) = y {
                    let at = (CONSUMER_X, y - CONSUMER_H / 2.0);
                    let label = Some("×2 reprocessed".into());
                    launch.push("card", at, at, String::new(), label, 1_600.0);
                }
            }
            (AnomalyKind::Lost | AnomalyKind::LostBeforeLog, _) => {
                losses += 1;
                if let (Some(lane), Some(y)) = (m.lane(a.tp), m.lane_mid(a.tp)) {
                    let slot = a.first_offset.saturating_sub(lane.first).min(VISIBLE);
                    let at = (m.metrics.cell_x(slot), y);
                    launch.push("flash", at, at, String::new(), Some("lost".into()), 1_600.0);
                }
            }
            _ => {}
        }
    }
    (dups, losses)
}

fn flight_view(f: &Flight) -> impl IntoView {
    let style = format!(
        "--x0: {:.1}px; --y0: {:.1}px; --x1: {:.1}px; --y1: {:.1}px; animation-duration: {:.0}ms",
        f.from.0, f.from.1, f.to.0, f.to.1, f.duration_ms
    );
    let class = format!("lab-flight lab-flight--{}", f.kind);
    let dot = match f.kind {
        "record" | "fetch" => Some(
            view! { <circle class="lab-flight__dot" r="11" style=format!("fill: {}", f.color)/> },
        ),
        _ => None,
    };
    let ring = (f.kind == "commit").then(|| view! { <circle class="lab-flight__ring" r="14"/> });
    let broom = (f.kind == "sweep").then(
        || view! { <rect class="lab-flight__broom" x="-3" y="-32" width="6" height="64" rx="3"/> },
    );
    let card = (f.kind == "card").then(
        || view! { <rect class="lab-flight__card" width=CONSUMER_W height=CONSUMER_H rx="10"/> },
    );
    let label = f.label.clone().map(|text| {
        let (x, y) = match f.kind {
            "record" | "fetch" => (0.0, -18.0),
            "commit" => (0.0, 34.0),
            "card" => (CONSUMER_W / 2.0, CONSUMER_H / 2.0 + 8.0),
            // Beside the broom, across the cells (the label's halo keeps it readable).
            "sweep" | "retention" => (10.0, 6.0),
            _ => (0.0, 6.0),
        };
        view! {
            <g class="lab-flight__tag">
                <text class="lab-flight__label" x=x y=y>{text}</text>
            </g>
        }
    });
    view! {
        <g class=class style=style data-flight=f.kind>
            {card}
            {broom}
            {dot}
            {ring}
            {label}
        </g>
    }
}

/// Tells screen readers what the class sees: rebalances, crashes, duplicates, losses.
fn announce(lab: &LabState, found: &Found, dups: usize, losses: usize) {
    let mut parts = Vec::new();
    if dups > 0 {
        parts.push("Records were processed twice.".to_owned());
    }
    if losses > 0 {
        parts.push("Records were lost.".to_owned());
    }
    if let Some(g) = found.rebalances.last() {
        parts.push(format!("Rebalance done: generation {g}."));
    }
    for (m, reason) in &found.crashes {
        let who = view::consumer_client_id(*m);
        parts.push(match reason {
            CrashReason::Poison { tp, offset } => {
                format!(
                    "{who} crashed on the poison record at p{}/{offset}.",
                    tp.p()
                )
            }
            CrashReason::Killed => format!("{who} crashed."),
        });
    }
    if !parts.is_empty() {
        lab.chrome.announce.set(parts.join(" "));
    }
}
