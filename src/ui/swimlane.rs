//! The group protocol as a swimlane: per member, its latest JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, commits and assignments, oldest on the left.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::event::{Event, GroupEvent, HeartbeatResult};

/// How many events each member's lane shows.
const PER_MEMBER: usize = 10;
/// How far back the lanes look, in events.
const SCAN_EVENTS: usize = 5_000;

/// `(kind class, label, title)` of one protocol event, or `None` for other events.
fn chip(event: &GroupEvent) -> Option<(&'static str, String)> {
    Some(match event {
        GroupEvent::JoinGroup { .. } => ("join", "JoinGroup".into()),
        GroupEvent::SyncGroup { generation, .. } => ("sync", format!("SyncGroup g{generation}")),
        GroupEvent::Heartbeat { result, .. } => match result {
            HeartbeatResult::Ok => ("heartbeat", "♥".into()),
            HeartbeatResult::RebalanceInProgress => ("heartbeat-rebalance", "♥ rebalance".into()),
            HeartbeatResult::UnknownMemberId => ("heartbeat-unknown", "♥ unknown".into()),
        },
        GroupEvent::LeaveGroup { .. } => ("leave", "LeaveGroup".into()),
        GroupEvent::MemberRemoved { reason, .. } => ("removed", format!("removed ({reason:?})")),
        GroupEvent::Revoked { partitions, .. } => ("revoke", format!("revoke {partitions:?}")),
        GroupEvent::Assigned { partitions, .. } => ("assign", format!("assign {partitions:?}")),
        GroupEvent::CommitRejected { .. } => ("commit-rejected", "commit rejected".into()),
        GroupEvent::ConsumerCrashed { .. } => ("crash", "crash".into()),
        _ => return None,
    })
}

fn member_of(event: &GroupEvent) -> Option<&str> {
    match event {
        GroupEvent::JoinGroup { member, .. }
        | GroupEvent::SyncGroup { member, .. }
        | GroupEvent::Heartbeat { member, .. }
        | GroupEvent::LeaveGroup { member, .. }
        | GroupEvent::MemberRemoved { member, .. }
        | GroupEvent::Revoked { member, .. }
        | GroupEvent::Assigned { member, .. }
        | GroupEvent::CommitRejected { member, .. }
        | GroupEvent::ConsumerCrashed { member, .. } => Some(member),
        _ => None,
    }
}

/// The swimlane panel for group 0.
#[component]
pub fn Swimlane() -> impl IntoView {
    let lab = expect_lab();
    let lanes = Memo::new(move |_| {
        lab.with(|sim| {
            let gi = lab.group.get();
            let Some(g) = sim.groups().get(gi as usize) else {
                return Vec::new();
            };
            g.consumers
                .iter()
                .map(|c| {
                    let mut chips: Vec<(&'static str, String, String)> = sim
                        .events()
                        .iter()
                        .rev()
                        // Bounded: a lane needs only the recent past, whatever the run's length.
                        .take(SCAN_EVENTS)
                        .filter_map(|e| match e {
                            Event::Group {
                                group,
                                at_ms,
                                event,
                            } if *group == gi && member_of(event) == Some(&c.client_id) => {
                                chip(event).map(|(k, l)| (k, l, format!("t={} ms", at_ms)))
                            }
                            _ => None,
                        })
                        .take(PER_MEMBER)
                        .collect();
                    chips.reverse();
                    (c.client_id.clone(), chips)
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="lab-panel lab-swimlane" aria-labelledby="swimlane-title">
            <h2 id="swimlane-title" class="lab-panel__title">"Group protocol, per member"</h2>
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
                                        .map(|(kind, label, title)| {
                                            view! {
                                                <span class=format!("lab-chip lab-chip--{kind}") title=title>
                                                    {label}
                                                </span>
                                            }
                                        })
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
