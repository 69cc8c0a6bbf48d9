//! The Cluster tab: brokers as columns, each partition's replicas in rows (the leader
//! starred, the ISR, each replica's log end offset against the high watermark), and the
//! faults a broker can suffer: kill, restart, slow links to the other brokers, cut off.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::view::{self, BrokerId, ClusterView, Command};

/// The Cluster tab.
#[component]
pub fn ClusterPanel() -> impl IntoView {
    let lab = expect_lab();
    let model = Memo::new(move |_| lab.with(|l| view::cluster(l.sim())));
    let act = move |c: Command| lab.act(c);
    view! {
        <section class="lab-panel" aria-labelledby="cluster-title">
            <h2 id="cluster-title" class="lab-panel__title">"Cluster"</h2>
            {move || summary(&model.get())}
            {move || {
                let m = model.get();
                if m.brokers.len() < 2 {
                    return view! {
                        <p class="lab-hint" data-testid="cluster-single">
                            "One broker holds every partition, so there is nothing to fail over to. Set brokers and replication.factor in the Setup tab (or open level L23) to see leaders and followers."
                        </p>
                    }
                    .into_any();
                }
                grid(&m, act).into_any()
            }}
            <div class="lab-row">
                <button class="lab-button" data-testid="heal-network" on:click=move |_| act(Command::NetHeal)>
                    "Heal the network"
                </button>
            </div>
            <p class="lab-hint">
                "Simplified: the controller answers at once and clients see new leaders at once; a group's coordinator moves with its __consumer_offsets partition, which is always in sync."
            </p>
        </section>
    }
}

fn summary(m: &ClusterView) -> impl IntoView {
    let rf = m.partitions.first().map_or(0, |p| p.replicas.len());
    let up = m.brokers.iter().filter(|b| b.alive).count();
    let text = format!(
        "{} broker{} ({up} running) · replication.factor {rf} · min.insync.replicas {} · unclean.leader.election.enable={}",
        m.brokers.len(),
        if m.brokers.len() == 1 { "" } else { "s" },
        m.min_insync_replicas,
        m.unclean_leader_election
    );
    view! { <p class="lab-hint" data-testid="cluster-summary">{text}</p> }
}

fn grid(m: &ClusterView, act: impl Fn(Command) + Copy + 'static) -> impl IntoView {
    let lab = expect_lab();
    let columns = format!(
        "grid-template-columns: 4.5rem repeat({}, minmax(5.2rem, 1fr))",
        m.brokers.len()
    );
    let widest = m
        .partitions
        .iter()
        .flat_map(|p| p.replicas.iter().map(|r| r.log_end_offset))
        .max()
        .unwrap_or(0)
        .max(1);
    let heads = m
        .brokers
        .iter()
        .map(|b| {
            let id = b.id;
            let state = if !b.alive {
                "down"
            } else if !b.registered {
                "fenced"
            } else {
                "up"
            };
            let status = match state {
                "down" if b.registered => "down, not fenced yet",
                "down" => "down, fenced",
                _ if b.leads > 0 => "running · leads",
                _ => "running",
            };
            let alive = b.alive;
            let coordinates = (!b.coordinates.is_empty())
                .then(|| format!("coordinator of {}", b.coordinates.join(", ")));
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
                <div class=format!("lab-broker lab-broker--{state}") data-testid=format!("broker-{}", id.0)>
                    <strong>{format!("broker {}", id.0)}</strong>
                    <span class="lab-broker__status">{status}</span>
                    {coordinates.map(|c| view! { <span class="lab-broker__status" data-testid=format!("coordinates-{}", id.0)>{c}</span> })}
                    <span class="lab-broker__actions">
                        {if alive {
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
        })
        .collect_view();
    let rows = m
        .partitions
        .iter()
        .map(|p| {
            let name = p.name.clone();
            let detail = format!("epoch {} · HW {}", p.leader_epoch, p.high_watermark);
            let offline = p.leader.is_none();
            let cells = m
                .brokers
                .iter()
                .map(|b| replica_cell(p, b.id, widest))
                .collect_view();
            view! {
                <div class=if offline { "lab-cluster__part lab-cluster__part--offline" } else { "lab-cluster__part" } data-testid=format!("replicas-{}", p.name)>
                    <strong>{name}</strong>
                    <span class="lab-broker__status">{detail}</span>
                    {offline.then(|| view! { <span class="lab-broker__status">"offline: no leader"</span> })}
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

fn replica_cell(p: &view::PartitionReplicas, b: BrokerId, widest: u64) -> impl IntoView {
    let Some(r) = p.replicas.iter().find(|r| r.broker == b) else {
        return view! { <div class="lab-replica lab-replica--none">"—"</div> }.into_any();
    };
    let role = if r.leader {
        "leader"
    } else if r.in_sync {
        "in-sync"
    } else {
        "out-of-sync"
    };
    let words = if r.leader {
        "★ leader"
    } else if r.in_sync {
        "in sync"
    } else {
        "out of sync"
    };
    let pct = |o: u64| (o as f64 * 100.0 / widest as f64).min(100.0);
    let fill = format!("width: {:.1}%", pct(r.log_end_offset));
    let hw = format!("left: {:.1}%", pct(p.high_watermark));
    let title = format!(
        "broker {}: log end offset {}, high watermark {} (the leader's: {})",
        b.0, r.log_end_offset, r.high_watermark, p.high_watermark
    );
    view! {
        <div class=format!("lab-replica lab-replica--{role}") title=title data-role=role>
            <span class="lab-replica__role">{words}</span>
            <span class="lab-replica__bar" aria-hidden="true">
                <span class="lab-replica__fill" style=fill></span>
                <span class="lab-replica__hw" style=hw></span>
            </span>
            <span class="lab-replica__leo">{format!("LEO {}", r.log_end_offset)}</span>
        </div>
    }
    .into_any()
}
