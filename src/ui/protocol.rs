//! The group protocol as a swimlane: per member, its latest JoinGroup, SyncGroup,
//! heartbeat answers, LeaveGroup, revocations, assignments and commits, oldest first.

use leptos::prelude::*;

use super::format::{secs, tps};
use super::state::expect_lab;
use crate::engine::view::{self, Event, GroupEvent, HeartbeatResult, MemberId};

/// How many chips each member's lane shows.
const PER_MEMBER: usize = 10;
/// How far back the lanes look, in events.
const SCAN_EVENTS: u64 = 5_000;

/// `(kind class, label)` of one protocol event, or `None` for other events.
fn chip(event: &GroupEvent) -> Option<(&'static str, String)> {
    Some(match event {
        GroupEvent::JoinGroup { .. } => ("join", "JoinGroup".into()),
        GroupEvent::SyncGroup { generation, .. } => ("sync", format!("SyncGroup g{generation}")),
        GroupEvent::Heartbeat { result, .. } => match result {
            HeartbeatResult::Ok => return None,
            HeartbeatResult::RebalanceInProgress => ("heartbeat", "♥ REBALANCE_IN_PROGRESS".into()),
            HeartbeatResult::UnknownMemberId => ("bad", "♥ UNKNOWN_MEMBER_ID".into()),
            HeartbeatResult::IllegalGeneration => ("bad", "♥ ILLEGAL_GENERATION".into()),
            HeartbeatResult::FencedInstanceId => ("bad", "♥ FENCED_INSTANCE_ID".into()),
        },
        GroupEvent::LeaveGroup { sent, .. } => (
            "leave",
            if *sent {
                "LeaveGroup".into()
            } else {
                "leaves (static: no LeaveGroup)".into()
            },
        ),
        GroupEvent::MemberRemoved { reason, .. } => ("bad", format!("removed: {reason:?}")),
        GroupEvent::Revoked { partitions, .. } => ("revoke", format!("revoke {}", tps(partitions))),
        GroupEvent::Lost { partitions, .. } => ("bad", format!("lost {}", tps(partitions))),
        GroupEvent::Assigned { partitions, .. } => (
            "assign",
            format!(
                "assign {}",
                if partitions.is_empty() {
                    "—".into()
                } else {
                    tps(partitions)
                }
            ),
        ),
        GroupEvent::Committed { offsets, auto, .. } => (
            "commit",
            format!(
                "{} {}",
                if *auto { "auto-commit" } else { "commit" },
                offsets
                    .iter()
                    .map(|(tp, o)| format!("p{}@{o}", tp.p()))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
        GroupEvent::CommitRejected { error, .. } => ("bad", error.exception().to_owned()),
        GroupEvent::ConsumerCrashed { .. } => ("bad", "crash".into()),
        _ => return None,
    })
}

/// The swimlane panel for the shown group.
#[component]
pub fn ProtocolPanel() -> impl IntoView {
    let lab = expect_lab();
    let lanes = Memo::new(move |_| {
        let group = lab.selection.group.get();
        lab.with(|l| {
            let sim = l.sim();
            let members: Vec<MemberId> = view::groups(sim)
                .into_iter()
                .find(|g| g.id == group)
                .map(|g| g.members.iter().map(|m| m.member).collect())
                .unwrap_or_default();
            let mut chips: Vec<Vec<(&'static str, String, String)>> =
                vec![Vec::new(); members.len()];
            let from = sim.event_count().saturating_sub(SCAN_EVENTS);
            view::visit_events_since(sim, from, |e| {
                if let Event::Group {
                    group: g,
                    at_ms,
                    event,
                } = e
                {
                    if *g != group {
                        return;
                    }
                    let Some(m) = event.member() else { return };
                    let Some(i) = members.iter().position(|x| *x == m) else {
                        return;
                    };
                    if let Some((kind, label)) = chip(event) {
                        chips[i].push((kind, label, format!("t = {}", secs(*at_ms))));
                    }
                }
            });
            members
                .into_iter()
                .zip(chips)
                .map(|(m, mut c)| {
                    let keep = c.len().saturating_sub(PER_MEMBER);
                    c.drain(..keep);
                    (view::consumer_client_id(m), c)
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="lab-panel" aria-labelledby="protocol-title">
            <h2 id="protocol-title" class="lab-panel__title">"Group protocol, per member"</h2>
            <p class="lab-hint">"The latest requests and answers of each member, oldest first (heartbeats that just say OK are left out)."</p>
            {move || {
                lanes
                    .get()
                    .into_iter()
                    .map(|(member, chips)| {
                        view! {
                            <div class="lab-swimlane__row">
                                <strong class="lab-swimlane__who">{member}</strong>
                                <div class="lab-swimlane__chips">
                                    {chips
                                        .into_iter()
                                        .map(|(kind, label, title)| view! { <span class=format!("lab-chip lab-chip--{kind}") title=title>{label}</span> })
                                        .collect_view()}
                                </div>
                            </div>
                        }
                    })
                    .collect_view()
            }}
        </section>
    }
}
