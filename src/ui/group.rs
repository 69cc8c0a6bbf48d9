//! The consumer group: coordinator state and generation, one card per member with the
//! partitions it owns, and the per-consumer actions.

use leptos::prelude::*;

use super::state::expect_lab;
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
            sim.groups().first().map(|g| {
                let live = g.consumers.iter().filter(|c| c.status.alive()).count();
                GroupView {
                    group_id: g.group_id.clone(),
                    state: g.state.name(),
                    generation: g.generation,
                    assignor: g.strategy().kafka_name().to_owned(),
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
    view! {
        <section class="lab-panel lab-group" aria-labelledby="group-title">
            {move || {
                view_model
                    .get()
                    .map(|g| {
                        view! {
                            <h2 id="group-title" class="lab-panel__title">
                                "Group " <code>{g.group_id.clone()}</code>
                            </h2>
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
                                                                on:click=move |_| act(Command::CrashConsumer { group: 0, consumer: i })
                                                            >
                                                                "Crash"
                                                            </button>
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("slow down {}", m.client_id)
                                                                aria-pressed=m.slow.to_string()
                                                                title="1 s per record: past max.poll.interval.ms the consumer is removed"
                                                                on:click=move |_| act(Command::SlowConsumer {
                                                                    group: 0,
                                                                    consumer: i,
                                                                    processing_ms: if m.slow { None } else { Some(1_000) },
                                                                })
                                                            >
                                                                {if m.slow { "Normal speed" } else { "Slow down" }}
                                                            </button>
                                                            <button
                                                                class="lab-button lab-button--small"
                                                                aria-label=format!("close {}", m.client_id)
                                                                on:click=move |_| act(Command::CloseConsumer { group: 0, consumer: i })
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
                                                                on:click=move |_| act(Command::RestartConsumer { group: 0, consumer: i })
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
                                on:click=move |_| act(Command::AddConsumer { group: 0, group_instance_id: None })
                            >
                                "Add a consumer"
                            </button>
                        }
                    })
            }}
        </section>
    }
}
