//! The consumer group: coordinator state and generation, one card per member with the
//! partitions it owns, and the per-consumer actions.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::assignor::Protocol;
use crate::engine::event::GroupState;
use crate::engine::group::ConsumerStatus;
use crate::engine::Command;

/// One member card's view model.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MemberCard {
    index: u16,
    client_id: String,
    status: &'static str,
    alive: bool,
    partitions: Vec<u32>,
    idle_reason: Option<String>,
    detail: String,
    slow: bool,
    /// "auto-commit in 2.1 s", or "session timeout in 7.0 s" for a crashed member.
    timer: Option<String>,
}

/// The group's view model.
#[derive(Clone, Debug, PartialEq, Eq)]
struct GroupView {
    group_id: String,
    state: &'static str,
    generation: i32,
    assignor: String,
    members: Vec<MemberCard>,
    /// While a rebalance runs: what eager or cooperative means right now.
    rebalance: Option<String>,
}

fn status_name(s: &ConsumerStatus) -> &'static str {
    match s {
        ConsumerStatus::Starting => "starting",
        ConsumerStatus::Joining => "joining",
        ConsumerStatus::Active => "active",
        ConsumerStatus::Crashed => "crashed",
        ConsumerStatus::Closed => "closed",
        ConsumerStatus::Failed(_) => "failed",
    }
}

/// The group panel (group 0, `payments`).
#[component]
pub fn GroupPanel() -> impl IntoView {
    let lab = expect_lab();
    let view_model = Memo::new(move |_| {
        lab.with(|sim| {
            let partitions = sim.topic().partition_count();
            let gi = lab.group.get();
            sim.groups().get(gi as usize).map(|g| {
                let live = g.consumers.iter().filter(|c| c.status.alive()).count();
                GroupView {
                    group_id: g.group_id.clone(),
                    state: g.state.name(),
                    generation: g.generation,
                    assignor: g.strategy().kafka_name().to_owned(),
                    rebalance: matches!(g.state, GroupState::PreparingRebalance | GroupState::CompletingRebalance).then(|| {
                        match g.protocol() {
                            Protocol::Eager => format!(
                                "Eager rebalance: each member gives up all its partitions when it rejoins (at its next poll); none are processed again until generation {}.",
                                g.generation + 1
                            ),
                            Protocol::Cooperative => "Cooperative rebalance: members keep processing what they own; only partitions that move are revoked, then a second round hands them over.".to_owned(),
                        }
                    }),
                    members: g
                        .consumers
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let idle = c.status == ConsumerStatus::Active && c.assigned.is_empty();
                            MemberCard {
                                index: i as u16,
                                client_id: c.client_id.clone(),
                                status: status_name(&c.status),
                                alive: c.status.alive(),
                                partitions: c.assigned.clone(),
                                idle_reason: idle.then(|| {
                                    format!("idle: {live} consumers, {partitions} partitions")
                                }),
                                slow: c.processing_ms_override.is_some(),
                                timer: {
                                    let now = sim.now_ms();
                                    let secs = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
                                    let in_group = g.members.values().find(|m| m.consumer == i);
                                    match (&c.status, in_group) {
                                        (ConsumerStatus::Crashed, Some(m)) => Some(format!(
                                            "session timeout in {}",
                                            secs(
                                                (m.last_heartbeat_ms + g.config.session_timeout_ms)
                                                    .saturating_sub(now)
                                            )
                                        )),
                                        (ConsumerStatus::Active, _)
                                            if g.config.enable_auto_commit =>
                                        {
                                            Some(format!(
                                                "auto-commit in {}",
                                                secs(c.next_auto_commit_ms.saturating_sub(now))
                                            ))
                                        }
                                        _ => None,
                                    }
                                },
                                detail: match &c.status {
                                    ConsumerStatus::Failed(e) => e.clone(),
                                    _ => {
                                        c.member_id.clone().unwrap_or_else(|| "no member id".into())
                                    }
                                },
                            }
                        })
                        .collect(),
                }
            })
        })
    });
    let act = move |cmd: Command| lab.act(cmd);
    let group_ids = Memo::new(move |_| {
        lab.with(|sim| {
            sim.groups()
                .iter()
                .map(|g| g.group_id.clone())
                .collect::<Vec<_>>()
        })
    });
    let add_group = move |_| {
        let (n, config) = (
            lab.with(|s| s.groups().len()),
            lab.scenario.get_untracked().group,
        );
        let group_id = format!("group-{}", n + 1);
        if lab
            .command(Command::AddGroup {
                group_id: group_id.clone(),
                config,
            })
            .is_ok()
        {
            lab.act(Command::AddConsumer {
                group: n as u16,
                group_instance_id: None,
            });
            lab.group.set(n as u16);
            lab.info(format!(
                "Added {group_id}: it reads the same topic with its own offsets."
            ));
        } else {
            lab.error(format!(
                "The lab runs at most {} groups.",
                crate::engine::group::MAX_GROUPS
            ));
        }
    };
    view! {
        <section class="lab-panel lab-group" aria-labelledby="group-title">
            <div class="lab-group__switch">
                <label class="lab-controls__field">
                    "group "
                    <select
                        aria-label="group shown"
                        data-testid="group-select"
                        prop:value=move || lab.group.get().to_string()
                        on:change=move |ev| {
                            if let Ok(g) = event_target_value(&ev).parse::<u16>() {
                                lab.group.set(g);
                                lab.selected_anomaly.set(None);
                            }
                        }
                    >
                        {move || {
                            group_ids
                                .get()
                                .into_iter()
                                .enumerate()
                                .map(|(i, id)| view! { <option value=i.to_string()>{id}</option> })
                                .collect_view()
                        }}
                    </select>
                </label>
                <button class="lab-button lab-button--small" data-testid="add-group" on:click=add_group>
                    "Add a group"
                </button>
            </div>
            {move || {
                view_model
                    .get()
                    .map(|g| {
                        view! {
                            <h2 id="group-title" class="lab-panel__title">
                                "Group " <code>{g.group_id.clone()}</code>
                            </h2>
                            {g.rebalance.clone().map(|r| view! { <p class="lab-group__rebalance" data-testid="rebalance">{r}</p> })}
                            <p class="lab-group__state" data-testid="group-state">
                                <strong>{g.state}</strong>
                                " · generation "
                                <strong data-testid="generation">{g.generation}</strong>
                                " · " <code>{g.assignor.clone()}</code>
                            </p>
                            <ul class="lab-members">
                                {g
                                    .members
                                    .into_iter()
                                    .map(|m| {
                                        let i = m.index;
                                        let class = format!("lab-member lab-member--{}", m.status);
                                        let parts = if m.partitions.is_empty() {
                                            "—".to_owned()
                                        } else {
                                            m.partitions.iter().map(|p| format!("p{p}")).collect::<Vec<_>>().join(" ")
                                        };
                                        view! {
                                            <li class=class data-member=m.client_id.clone()>
                                                <div class="lab-member__head">
                                                    <strong>{m.client_id.clone()}</strong>
                                                    <span class="lab-member__status">{m.status}</span>
                                                </div>
                                                <div class="lab-member__parts" data-testid="owned">{parts}</div>
                                                {m.idle_reason.map(|r| view! { <div class="lab-member__idle">{r}</div> })}
                                                {m.timer.map(|t| view! { <div class="lab-member__timer" data-testid="member-timer">{t}</div> })}
                                                <div class="lab-member__detail">{m.detail}</div>
                                                <div class="lab-member__actions">
                                                    {if m.alive {
                                                        view! {
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("crash {}", m.client_id)
                                                                on:click=move |_| act(Command::CrashConsumer { group: lab.group.get_untracked(), consumer: i })
                                                            >
                                                                "Crash"
                                                            </button>
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("slow down {}", m.client_id)
                                                                aria-pressed=m.slow.to_string()
                                                                title="1 s per record: past max.poll.interval.ms the consumer is removed"
                                                                on:click=move |_| act(Command::SlowConsumer {
                                                                    group: lab.group.get_untracked(),
                                                                    consumer: i,
                                                                    processing_ms: if m.slow { None } else { Some(1_000) },
                                                                })
                                                            >
                                                                {if m.slow { "Normal speed" } else { "Slow down" }}
                                                            </button>
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("close {}", m.client_id)
                                                                on:click=move |_| act(Command::CloseConsumer { group: lab.group.get_untracked(), consumer: i })
                                                            >
                                                                "Close"
                                                            </button>
                                                        }
                                                            .into_any()
                                                    } else {
                                                        view! {
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("restart {}", m.client_id)
                                                                on:click=move |_| act(Command::RestartConsumer { group: lab.group.get_untracked(), consumer: i })
                                                            >
                                                                "Restart"
                                                            </button>
                                                        }
                                                            .into_any()
                                                    }}
                                                </div>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                            <button
                                class="lab-button"
                                data-testid="add-consumer"
                                on:click=move |_| act(Command::AddConsumer { group: lab.group.get_untracked(), group_instance_id: None })
                            >
                                "Add a consumer"
                            </button>
                        }
                    })
            }}
        </section>
    }
}
