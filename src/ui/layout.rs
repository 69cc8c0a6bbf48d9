//! The stage's layout: where producers, lanes, cells, cursors and consumer cards go, as
//! one model built from the engine's read model. The stage (`stage.rs`) draws it and the
//! flights (`flights.rs`) aim at it; nothing here decides Kafka behaviour.

use super::format::{computation, key_hue, secs, tps};
use crate::engine::view::{
    self, consumer_client_id, DeadlineKind, GroupId, MemberId, MemberStatus, ProducerId, Tp,
};

/// The picture's width in SVG units; it scales to the screen.
pub const WIDTH: f64 = 1280.0;
/// Where the producers' cards end.
pub const PRODUCER_RIGHT: f64 = 222.0;
/// Where the first cell starts.
pub const CELLS_X: f64 = 270.0;
/// Cells shown per lane.
pub const VISIBLE: u64 = 10;
/// Where the consumers' cards start.
pub const CONSUMER_X: f64 = 1022.0;
/// A consumer card's width.
pub const CONSUMER_W: f64 = 250.0;
/// A consumer card's height.
pub const CONSUMER_H: f64 = 112.0;
/// A consumer card's height, with the gap below it.
pub const CONSUMER_STEP: f64 = 122.0;
/// A producer card's height, with the gap below it.
pub const PRODUCER_STEP: f64 = 120.0;
/// Space above the first lane for the topic's name.
pub const TOPIC_HEADER: f64 = 34.0;

/// Sizes that depend on how many lanes there are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// A lane's height.
    pub lane_h: f64,
    /// A cell's side.
    pub cell: f64,
    /// Cell pitch.
    pub step: f64,
}

impl Metrics {
    /// Roomy for a few lanes, tighter for many (a 12-partition topic still fits).
    pub fn for_lanes(lanes: usize) -> Self {
        Self::for_cell(match lanes {
            0..=6 => 52.0,
            7..=10 => 44.0,
            _ => 36.0,
        })
    }

    /// The sizes around a cell of side `cell`: room below it for the C and P cursors.
    pub fn for_cell(cell: f64) -> Self {
        Metrics {
            lane_h: cell + 46.0,
            cell,
            step: cell + 6.0,
        }
    }

    /// The x where the cell of window slot `i` starts.
    pub fn cell_x(&self, i: u64) -> f64 {
        CELLS_X + i as f64 * self.step
    }

    /// The x of an offset's cell in the lane's own coordinates: the lane slides left by
    /// [`Metrics::shift`] as the log grows, so a cell keeps its place in the DOM.
    pub fn offset_x(&self, offset: u64) -> f64 {
        CELLS_X + offset as f64 * self.step
    }

    /// How far a lane whose window starts at `first` is slid left.
    pub fn shift(&self, first: u64) -> f64 {
        first as f64 * self.step
    }

    /// The x just right of the last visible cell.
    pub fn cells_end(&self) -> f64 {
        self.cell_x(VISIBLE)
    }

    /// Where the ownership links start: right of the lanes' LEO and lag.
    pub fn link_x(&self) -> f64 {
        self.cells_end() + 86.0
    }
}

/// The colour of a member (stable per member index), as a CSS variable: each theme
/// defines its own palette so the names stay readable on its background.
pub fn member_color(m: MemberId) -> &'static str {
    const PALETTE: [&str; 8] = [
        "var(--member-0)",
        "var(--member-1)",
        "var(--member-2)",
        "var(--member-3)",
        "var(--member-4)",
        "var(--member-5)",
        "var(--member-6)",
        "var(--member-7)",
    ];
    PALETTE[m.index() % PALETTE.len()]
}

/// One cell's view model.
#[derive(Clone, Debug, PartialEq)]
pub struct CellModel {
    /// Its offset.
    pub offset: u64,
    /// Key hue, or none for a null key.
    pub hue: Option<u32>,
    /// `pending`, `once`, `duplicate`, `lost`, `skipped`, `failed`.
    pub outcome: &'static str,
    /// Processed out of order.
    pub out_of_order: bool,
    /// A second copy left by a retry.
    pub copy: bool,
    /// A poison record.
    pub poison: bool,
    /// A tombstone (a null value).
    pub tombstone: bool,
    /// A dead letter (in a dead-letter topic).
    pub dead_letter: bool,
    /// Removed by the log cleaner (drawn as a gap).
    pub cleaned: bool,
    /// The first record of a segment after the log start (a segment boundary).
    pub segment_start: bool,
    /// Part of the selected anomaly.
    pub highlighted: bool,
    /// Hover text.
    pub title: String,
    /// The key's name (`None`: a null key).
    pub key: Option<String>,
}

impl CellModel {
    /// Everything drawn, as a key: a keyed list re-creates a cell only when it changes.
    pub fn key(&self) -> (u64, &'static str, Option<u32>, u8) {
        let flags = u8::from(self.out_of_order)
            | u8::from(self.copy) << 1
            | u8::from(self.poison) << 2
            | u8::from(self.highlighted) << 3
            | u8::from(self.tombstone) << 4
            | u8::from(self.cleaned) << 5
            | u8::from(self.segment_start) << 6
            | u8::from(self.dead_letter) << 7;
        (self.offset, self.outcome, self.hue, flags)
    }
}

/// One lane's view model.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneModel {
    /// The partition.
    pub tp: Tp,
    /// Its top, in SVG units.
    pub y: f64,
    /// The first offset in the window.
    pub first: u64,
    /// The cells.
    pub cells: Vec<CellModel>,
    /// The owner in the shown group.
    pub owner: Option<MemberId>,
    /// Committed offset.
    pub committed: Option<u64>,
    /// The owner's position.
    pub position: Option<u64>,
    /// Log end offset.
    pub leo: u64,
    /// Log start offset (above 0 once retention deleted segments).
    pub log_start: u64,
    /// A compacted partition's cleaner: its first dirty offset and dirty ratio (millionths).
    pub cleaner: Option<(u64, u64)>,
    /// High watermark.
    pub hw: u64,
    /// `leo − committed`.
    pub lag: Option<u64>,
    /// With several brokers: `★b1` (its leader) or `offline`.
    pub leader_note: Option<String>,
    /// Why it is empty, when it is.
    pub empty_reason: Option<String>,
}

/// One topic's block of lanes.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicBlock {
    /// Its name.
    pub name: String,
    /// Top of its header.
    pub y: f64,
    /// Its lanes.
    pub lanes: Vec<LaneModel>,
}

/// One producer card.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerModel {
    /// Its id.
    pub id: ProducerId,
    /// Its top.
    pub y: f64,
    /// `producer-1`.
    pub name: String,
    /// `12 rec/s · 3 sending` (records it holds, not yet answered).
    pub line1: String,
    /// `acks=all · idempotent`.
    pub line2: String,
    /// `acked 120`.
    pub line3: String,
    /// The service's database beside its events, if it keeps one:
    /// `db 120 rows · 3 rows without an event`, and whether that is a gap.
    pub service: Option<(String, bool)>,
}

/// One consumer card.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberModel {
    /// Its place.
    pub member: MemberId,
    /// Its top.
    pub y: f64,
    /// `c1`.
    pub name: String,
    /// Status word.
    pub status: &'static str,
    /// `owns p0 p1`.
    pub owns: String,
    /// What it does now.
    pub activity: String,
    /// The next deadline, in words.
    pub deadline: String,
    /// Auto-commit ring: fraction of the interval left (0..1), if auto-commit runs.
    pub ring: Option<f64>,
    /// Alive (crash/close buttons) or not (restart).
    pub alive: bool,
    /// Slowed down by the user.
    pub slowed: bool,
    /// Leader of its generation.
    pub leader: bool,
    /// A static member's instance id.
    pub instance: Option<String>,
    /// Something the class should notice: a crash's cause, or the latest anomaly.
    pub note: Option<(bool, String)>,
}

/// Everything the stage draws.
#[derive(Clone, Debug, PartialEq)]
pub struct StageModel {
    /// Lane sizes.
    pub metrics: Metrics,
    /// Topics with their lanes.
    pub topics: Vec<TopicBlock>,
    /// Producers.
    pub producers: Vec<ProducerModel>,
    /// The shown group's consumers.
    pub members: Vec<MemberModel>,
    /// The picture's height.
    pub height: f64,
    /// The shown group.
    pub group: GroupId,
    /// A rebalance runs (links are let go).
    pub rebalancing: bool,
}

impl StageModel {
    /// The lane of a partition.
    pub fn lane(&self, tp: Tp) -> Option<&LaneModel> {
        self.topics
            .iter()
            .flat_map(|t| &t.lanes)
            .find(|l| l.tp == tp)
    }

    /// The vertical middle of a lane's cells.
    pub fn lane_mid(&self, tp: Tp) -> Option<f64> {
        self.lane(tp).map(|l| l.y + self.metrics.cell / 2.0 + 4.0)
    }

    /// The vertical middle of a consumer card.
    pub fn member_mid(&self, m: MemberId) -> Option<f64> {
        self.members
            .iter()
            .find(|x| x.member == m)
            .map(|x| x.y + CONSUMER_H / 2.0)
    }

    /// The vertical middle of a producer card.
    pub fn producer_mid(&self, p: ProducerId) -> Option<f64> {
        self.producers
            .iter()
            .find(|x| x.id == p)
            .map(|x| x.y + 53.0)
    }

    /// The x of an offset's cell in its lane (clamped to the window's ends).
    pub fn offset_x(&self, lane: &LaneModel, offset: u64) -> f64 {
        let slot = offset.saturating_sub(lane.first).min(VISIBLE);
        self.metrics.cell_x(slot)
    }
}

/// The producer cards: load, acks and idempotence (or the service's database), acks.
fn producer_models(sim: &view::Sim) -> Vec<ProducerModel> {
    view::producers(sim)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let orders = p
                .workload
                .as_ref()
                .is_some_and(|w| matches!(w.key_space, view::KeySpace::Orders { .. }));
            let rate = p.workload.as_ref().map_or("no workload".to_owned(), |w| {
                format!(
                    "{} {}/s",
                    w.rate_per_sec,
                    if orders { "orders" } else { "rec" }
                )
            });
            let acked = if p.config.acks == view::Acks::Zero {
                format!("sent {} (acks=0: never acked)", p.sent_no_ack)
            } else {
                format!("acked {}", p.acked)
            };
            let service = view::service_db(sim, p.id).map(|d| service_line(&d));
            ProducerModel {
                service,
                id: p.id,
                y: 8.0 + TOPIC_HEADER + i as f64 * PRODUCER_STEP,
                name: p.client_id.clone(),
                // Records it holds (batching, or sent and not answered) are counted here,
                // where they are, before any lane shows them.
                line1: if p.pending > 0 {
                    format!("{rate} · {} sending", p.pending)
                } else {
                    rate
                },
                // With typed values the key field matters most; acks move down a line.
                line2: if orders {
                    format!("key {}", p.config.key_field.name())
                } else {
                    format!(
                        "acks={} · {}",
                        p.config.acks.kafka_value(),
                        if p.idempotent {
                            "idempotent"
                        } else {
                            "not idempotent"
                        }
                    )
                },
                line3: format!(
                    "{}{acked}{}",
                    if orders {
                        format!("acks={} · ", p.config.acks.kafka_value())
                    } else {
                        String::new()
                    },
                    if p.failed > 0 {
                        format!(" · failed {}", p.failed)
                    } else {
                        String::new()
                    }
                ),
            }
        })
        .collect()
}

/// The producing service's database in one card line, and whether it shows a gap.
fn service_line(d: &view::ServiceDbView) -> (String, bool) {
    match (d.rows_without_events, d.events_without_rows) {
        (0, 0) if d.relayed_again > 0 => (format!("outbox · resent {}", d.relayed_again), false),
        (0, 0) => (format!("db rows {}", d.rows), false),
        (n, 0) => (format!("{n} rows, no event"), true),
        (_, n) => (format!("{n} events, no row"), true),
    }
}

/// A member's latest anomaly in a few words: `reprocessed p1 26–28 (×2)`.
fn anomaly_note(kind: view::AnomalyKind, tp: &str, a: u64, b: u64) -> String {
    let range = if a == b {
        format!("{tp}/{a}")
    } else {
        format!("{tp} {a}–{b}")
    };
    match kind {
        view::AnomalyKind::Duplicate => format!("reprocessed {range} (×2)"),
        view::AnomalyKind::Lost => format!("skipped {range}: lost"),
        view::AnomalyKind::OutOfOrder => format!("out of order at {range}"),
        view::AnomalyKind::Failed => format!("failed on {range}"),
        // A seek, or auto.offset.reset=latest on a first read: a choice, not a loss.
        view::AnomalyKind::Skipped => format!("skipped {range}"),
        other => format!("{} {range}", other.label()),
    }
}

/// What a cell's hover adds for compaction and segments: a tombstone, a gap the cleaner
/// left, the first record of a segment.
fn cell_notes(c: &view::CellView, segment_start: bool) -> &'static str {
    match (c.cleaned, c.tombstone, segment_start) {
        (true, true, _) => "\nremoved by the log cleaner: a tombstone past its delete horizon",
        (true, false, _) => "\nremoved by the log cleaner: a later record with its key stands for it; the offset stays a gap",
        (false, true, true) => "\nvalue null: a tombstone (deletes its key)\nfirst record of a segment",
        (false, true, false) => "\nvalue null: a tombstone (deletes its key)",
        (false, false, true) => "\nfirst record of a segment",
        (false, false, false) => "",
    }
}

/// Builds the stage's model from the engine (read model only).
pub fn build_model(
    sim: &view::Sim,
    group: GroupId,
    selected: Option<(Tp, u64, u64)>,
) -> StageModel {
    let topics_v = view::stage_topics(sim, group);
    let topic_ids: Vec<_> = if topics_v.is_empty() {
        view::topics(sim).into_iter().map(|t| t.id).collect()
    } else {
        topics_v
    };
    let lane_count: usize = topic_ids
        .iter()
        .map(|t| {
            view::topics(sim)
                .iter()
                .find(|x| x.id == *t)
                .map_or(0, |x| x.partitions as usize)
        })
        .sum();
    let metrics = Metrics::for_lanes(lane_count);
    let mut y = 8.0;
    let mut topics = Vec::new();
    for t in topic_ids {
        let header_y = y;
        y += TOPIC_HEADER;
        let n = view::topics(sim)
            .iter()
            .find(|x| x.id == t)
            .map_or(0, |x| x.partitions);
        let mut lanes = Vec::new();
        for p in 0..n {
            let tp = Tp::new(t, p);
            let focus = selected.filter(|s| s.0 == tp);
            let from = focus.map(|(_, first, _)| first.saturating_sub(2));
            let l = view::lane(sim, tp, group, VISIBLE, from);
            let bases: Vec<u64> = view::segments(sim, tp)
                .iter()
                .map(|s| s.base_offset)
                .filter(|&b| b > l.log_start_offset)
                .collect();
            let first = l.cells.first().map_or(l.log_end_offset, |c| c.offset);
            let cells = l
                .cells
                .iter()
                .map(|c| {
                    let highlighted = focus.is_some_and(|(_, a, b)| c.offset >= a && c.offset <= b);
                    let key = c.key.as_deref();
                    let mut title = format!("offset {} · key {}", c.offset, key.unwrap_or("null"));
                    title.push_str(&format!("\n{}", computation(key, &c.reason, p)));
                    if !c.dead_letter {
                        title.push_str(&format!("\n{} for this group", c.outcome.label()));
                    }
                    if let Some(v) = &c.value {
                        title.push_str(&format!("\nvalue {v}"));
                    } else if !c.tombstone && !c.dead_letter {
                        title.push_str(&format!(
                            "\nevent id {} · amount ${}",
                            c.record_id, c.amount
                        ));
                    }
                    title.push_str(cell_notes(c, bases.contains(&c.offset)));
                    CellModel {
                        offset: c.offset,
                        hue: c.key_hash.map(key_hue),
                        outcome: c.outcome.label(),
                        out_of_order: c.out_of_order,
                        copy: c.log_duplicate,
                        poison: c.poison,
                        tombstone: c.tombstone,
                        dead_letter: c.dead_letter,
                        cleaned: c.cleaned,
                        segment_start: bases.contains(&c.offset),
                        highlighted,
                        title,
                        key: c.key.clone(),
                    }
                })
                .collect();
            let empty_reason =
                (l.log_end_offset == 0).then(|| match view::keys_mapping_to(sim, tp) {
                    Some((0, total)) => format!("no key of the {total} maps here"),
                    Some((k, total)) => format!("{k} of {total} keys map here; none sent yet"),
                    None => "empty".to_owned(),
                });
            lanes.push(LaneModel {
                tp,
                y,
                first,
                cells,
                owner: l.owner,
                committed: l.committed,
                position: l.position,
                leo: l.log_end_offset,
                log_start: l.log_start_offset,
                cleaner: view::cleaner(sim, tp).map(|c| (c.first_dirty_offset, c.dirty_ratio_ppm)),
                hw: l.high_watermark,
                lag: l.lag,
                leader_note: l.leader.map(|b| match b {
                    Some(b) => format!("★b{}", b.0),
                    None => "offline".to_owned(),
                }),
                empty_reason,
            });
            y += metrics.lane_h;
        }
        topics.push(TopicBlock {
            name: view::topic_name(sim, t),
            y: header_y,
            lanes,
        });
    }
    let lanes_bottom = y;
    let now = sim.now_ms();
    let producers = producer_models(sim);
    let groups = view::groups(sim);
    let g = groups.iter().find(|g| g.id == group);
    let members: Vec<MemberModel> = g
        .map(|g| {
            g.members
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mut card = member_model(
                        m,
                        i,
                        now,
                        g.config.auto_commit_interval_ms,
                        g.config.enable_auto_commit,
                    );
                    if card.note.is_none() {
                        card.note = view::recent_anomaly_of(
                            sim,
                            group,
                            m.member,
                            now.saturating_sub(10_000),
                        )
                        .map(|(kind, tp, a, b, handled)| {
                            let tp = view::tp_name(sim, tp);
                            match handled {
                                // The application went on: a fact, not an alarm.
                                Some(true) => (false, format!("dead-lettered {tp}/{a}")),
                                Some(false) => (false, format!("logged and skipped {tp}/{a}")),
                                None => (true, anomaly_note(kind, &tp, a, b)),
                            }
                        });
                    }
                    card
                })
                .collect()
        })
        .unwrap_or_default();
    let rebalancing = g.is_some_and(|g| g.rebalancing_since_ms.is_some());
    let right = 8.0 + TOPIC_HEADER + members.len() as f64 * CONSUMER_STEP;
    let left = 8.0 + TOPIC_HEADER + producers.len() as f64 * PRODUCER_STEP;
    StageModel {
        metrics,
        topics,
        producers,
        members,
        height: lanes_bottom.max(right).max(left) + 12.0,
        group,
        rebalancing,
    }
}

fn member_model(
    m: &view::MemberView,
    i: usize,
    now: u64,
    interval: u64,
    auto: bool,
) -> MemberModel {
    let status = m.status.label();
    // More than three partitions would run off the card: their count (the links and the
    // Groups panel name them).
    let owns = match m.owned.len() {
        0 => String::new(),
        1..=3 => format!(" · owns {}", tps(&m.owned)),
        n => format!(" · {n} partitions"),
    };
    let activity = match &m.status {
        MemberStatus::Failed(e) => e.split(':').next().unwrap_or("failed").to_owned(),
        MemberStatus::Crashed | MemberStatus::Closed => m
            .deadlines
            .iter()
            .find(|(k, _)| *k == DeadlineKind::SessionTimeout)
            .map_or_else(
                || "out of the group".to_owned(),
                |(_, at)| format!("session ends in {}", secs(at.saturating_sub(now))),
            ),
        MemberStatus::Joining => "joining the group".to_owned(),
        MemberStatus::Idle => m.idle_reason.clone().unwrap_or_else(|| "idle".into()),
        MemberStatus::Active if m.in_hand > 0 => format!(
            "{} in hand · {} ms/record{}",
            m.in_hand,
            m.processing_ms,
            if m.slowed { " (slow)" } else { "" }
        ),
        MemberStatus::Active => "polling".to_owned(),
    };
    let deadline = m
        .deadlines
        .first()
        .map(|(kind, at)| {
            let left = secs(at.saturating_sub(now));
            match kind {
                DeadlineKind::AutoCommit => format!("auto-commit in {left}"),
                DeadlineKind::SessionTimeout => format!("session ends in {left}"),
                DeadlineKind::PollTimeout => format!("must poll within {left}"),
            }
        })
        .unwrap_or_else(|| format!("generation {}", m.generation.max(0)));
    let ring = m
        .deadlines
        .iter()
        .find(|(k, _)| *k == DeadlineKind::AutoCommit)
        .filter(|_| auto && interval > 0)
        .map(|(_, at)| (at.saturating_sub(now) as f64 / interval as f64).clamp(0.0, 1.0));
    let note = m.crashed.map(|(at, reason)| {
        (
            true,
            match reason {
                view::CrashReason::Poison { tp, offset } => {
                    format!("crashed on poison p{}/{offset}", tp.p())
                }
                view::CrashReason::Killed => format!("crashed at {}", secs(at)),
            },
        )
    });
    MemberModel {
        note,
        member: m.member,
        y: 8.0 + TOPIC_HEADER + i as f64 * CONSUMER_STEP,
        name: consumer_client_id(m.member),
        status,
        owns,
        activity,
        deadline,
        ring,
        alive: matches!(
            m.status,
            MemberStatus::Active | MemberStatus::Idle | MemberStatus::Joining
        ),
        slowed: m.slowed,
        leader: m.is_leader,
        instance: m.group_instance_id.clone(),
    }
}
