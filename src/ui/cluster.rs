//! The Cluster tab: brokers as columns, each partition's replicas in rows (the leader
//! starred, the ISR, each replica's log end offset against the high watermark), and the
//! faults a broker can suffer: kill, restart, slow links to the other brokers, cut off.
//!
//! The grid's cells stay in place while the run plays (only their classes, widths and
//! words change), so CSS transitions animate a follower's fetches, the high watermark
//! moving, a replica leaving or rejoining the ISR and the leader moving.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::view::{self, BrokerId, ClusterView, Command, Tp};

/// The Cluster tab.
#[component]
pub fn ClusterPanel() -> impl IntoView {
    let lab = expect_lab();
    let model = Memo::new(move |_| lab.with(|l| view::cluster(l.sim())));
    // The grid's shape: it is rebuilt only when brokers or partitions come or go.
    let shape = Memo::new(move |_| {
        model.with(|m| {
            (
                m.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
                m.partitions
                    .iter()
                    .map(|p| (p.tp, p.name.clone()))
                    .collect::<Vec<_>>(),
            )
        })
    });
    let act = move |c: Command| lab.act(c);
    view! {
        <section class="lab-panel" aria-labelledby="cluster-title">
            <h2 id="cluster-title" class="lab-panel__title">"Cluster"</h2>
            <p class="lab-hint" data-testid="cluster-summary">{move || model.with(summary)}</p>
            {move || {
                let (brokers, partitions) = shape.get();
                if brokers.len() < 2 {
                    return view! {
                        <p class="lab-hint" data-testid="cluster-single">
                            "One broker holds every partition, so there is nothing to fail over to. Set brokers and replication.factor in the Setup tab (or open level L23) to see leaders and followers."
                        </p>
                    }
                    .into_any();
                }
                grid(model, brokers, partitions, act).into_any()
            }}
            <div class="lab-row">
                <button class="lab-button" data-testid="heal-network" on:click=move |_| act(Command::NetHeal)>
                    "Heal the network"
                </button>
            </div>
            <p class="lab-hint">
                "Simplified: one controller that never fails, reached without delay; clients see new leaders at once. Elections follow Kafka 4.0 (eligible leader replicas off)."
            </p>
        </section>
    }
}

fn summary(m: &ClusterView) -> String {
    let rf = m.partitions.first().map_or(0, |p| p.replicas.len());
    let up = m.brokers.iter().filter(|b| b.alive).count();
    format!(
        "{} broker{} ({up} running) · replication.factor {rf} · min.insync.replicas {} · unclean.leader.election.enable={}",
        m.brokers.len(),
        if m.brokers.len() == 1 { "" } else { "s" },
        m.min_insync_replicas,
        m.unclean_leader_election
    )
}

fn grid(
    model: Memo<ClusterView>,
    brokers: Vec<BrokerId>,
    partitions: Vec<(Tp, String)>,
    act: impl Fn(Command) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let columns = format!(
        "grid-template-columns: 4.5rem repeat({}, minmax(5.2rem, 1fr))",
        brokers.len()
    );
    let heads = brokers
        .iter()
        .map(|&id| broker_head(model, id, act))
        .collect_view();
    let rows = partitions
        .into_iter()
        .map(|(tp, name)| {
            let part = move || model.with(|m| m.partitions.iter().find(|p| p.tp == tp).cloned());
            let offline = move || part().is_some_and(|p| p.leader.is_none());
            let detail = move || {
                part().map_or_else(String::new, |p| {
                    format!("epoch {} · HW {}", p.leader_epoch, p.high_watermark)
                })
            };
            let cells = brokers
                .iter()
                .map(|&b| replica_cell(model, tp, b))
                .collect_view();
            view! {
                <div
                    class=move || if offline() { "lab-cluster__part lab-cluster__part--offline" } else { "lab-cluster__part" }
                    data-testid=format!("replicas-{name}")
                >
                    <strong>{name.clone()}</strong>
                    <span class="lab-broker__status">{detail}</span>
                    <span class="lab-broker__status">{move || if offline() { "offline: no leader" } else { "" }}</span>
                </div>
                {cells}
            }
        })
        .collect_view();
    view! {
        <div class="lab-cluster" style=columns data-testid="cluster">
            <div class="lab-cluster__corner">"partition"</div>
            {heads}
            {rows}
        </div>
    }
}

fn broker_head(
    model: Memo<ClusterView>,
    id: BrokerId,
    act: impl Fn(Command) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lab = expect_lab();
    let broker = move || model.with(|m| m.brokers.iter().find(|b| b.id == id).cloned());
    let state = move || match broker() {
        Some(b) if !b.alive => "down",
        Some(b) if !b.registered => "fenced",
        _ => "up",
    };
    let status = move || match broker() {
        Some(b) if !b.alive && b.registered => "down, not fenced yet",
        Some(b) if !b.alive => "down, fenced",
        Some(b) if !b.process_registered => "restarted: waiting for its old session to expire",
        Some(b) if !b.registered => "fenced: no heartbeat reaches the controller",
        Some(b) if b.leads > 0 => "running · leads",
        _ => "running",
    };
    let coordinates = move || {
        broker()
            .filter(|b| !b.coordinates.is_empty())
            .map_or_else(String::new, |b| {
                format!("coordinator of {}", b.coordinates.join(", "))
            })
    };
    let alive = Memo::new(move |_| broker().is_some_and(|b| b.alive));
    let cut = move |slow: bool| {
        let (all, brokers) = lab.with_untracked(|l| view::nodes_around(l.sim(), id));
        act(if slow {
            Command::NetHold {
                a: vec![view::NodeId::Broker(id)],
                b: brokers,
            }
        } else {
            Command::NetPartition {
                a: vec![view::NodeId::Broker(id)],
                b: all,
            }
        });
    };
    view! {
        <div class=move || format!("lab-broker lab-broker--{}", state()) data-testid=format!("broker-{}", id.0)>
            <strong>{format!("broker {}", id.0)}</strong>
            <span class="lab-broker__status">{status}</span>
            <span class="lab-broker__status" data-testid=format!("coordinates-{}", id.0)>{coordinates}</span>
            <span class="lab-broker__actions">
                {move || if alive.get() {
                    view! {
                        <button class="lab-button lab-button--small" data-testid=format!("kill-broker-{}", id.0) aria-label=format!("kill broker {}", id.0) on:click=move |_| act(Command::KillBroker { broker: id })>"Kill"</button>
                        <button class="lab-button lab-button--small" title="hold its messages to and from the other brokers (clients still reach it)" aria-label=format!("slow broker {}'s links to the other brokers", id.0) on:click=move |_| cut(true)>"Slow"</button>
                        <button class="lab-button lab-button--small" title="cut it off from every other node" aria-label=format!("cut broker {} off", id.0) on:click=move |_| cut(false)>"Cut off"</button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button class="lab-button lab-button--small" data-testid=format!("restart-broker-{}", id.0) aria-label=format!("restart broker {}", id.0) on:click=move |_| act(Command::RestartBroker { broker: id })>"Restart"</button>
                    }
                    .into_any()
                }}
            </span>
        </div>
    }
}

/// What one cell shows: `(role, log end offset, high watermark, widest log end)`, or
/// `None` when the broker holds no replica of the partition.
fn cell_of(m: &ClusterView, tp: Tp, b: BrokerId) -> Option<(&'static str, u64, u64, u64)> {
    let p = m.partitions.iter().find(|p| p.tp == tp)?;
    let r = p.replicas.iter().find(|r| r.broker == b)?;
    let role = if r.leader {
        "leader"
    } else if r.in_sync {
        "in-sync"
    } else {
        "out-of-sync"
    };
    let widest = p
        .replicas
        .iter()
        .map(|r| r.log_end_offset)
        .max()
        .unwrap_or(0)
        .max(1);
    Some((role, r.log_end_offset, p.high_watermark, widest))
}

fn replica_cell(model: Memo<ClusterView>, tp: Tp, b: BrokerId) -> impl IntoView {
    let cell = Memo::new(move |_| model.with(|m| cell_of(m, tp, b)));
    let pct = |o: u64, widest: u64| (o as f64 * 100.0 / widest as f64).min(100.0);
    let role = move || cell.get().map_or("none", |c| c.0);
    let words = move || match role() {
        "leader" => "★ leader",
        "in-sync" => "in sync",
        "out-of-sync" => "out of sync",
        _ => "—",
    };
    let fill = move || {
        cell.get().map_or_else(String::new, |(_, leo, _, w)| {
            format!("width: {:.1}%", pct(leo, w))
        })
    };
    let hw = move || {
        cell.get().map_or_else(String::new, |(_, _, hw, w)| {
            format!("left: {:.1}%", pct(hw, w))
        })
    };
    let leo = move || {
        cell.get()
            .map_or_else(String::new, |c| format!("LEO {}", c.1))
    };
    let title = move || {
        cell.get().map_or_else(String::new, |(_, leo, hw, _)| {
            format!(
                "broker {}: log end offset {leo}; the leader's high watermark {hw}",
                b.0
            )
        })
    };
    view! {
        <div class=move || format!("lab-replica lab-replica--{}", role()) title=title data-role=role>
            <span class="lab-replica__role">{words}</span>
            <span class="lab-replica__bar" aria-hidden="true" style=move || if cell.get().is_some() { "" } else { "display: none" }>
                <span class="lab-replica__fill" style=fill></span>
                <span class="lab-replica__hw" style=hw></span>
            </span>
            <span class="lab-replica__leo">{leo}</span>
        </div>
    }
}
