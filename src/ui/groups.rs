//! The Groups panel: which group the stage shows, adding groups and consumers (static
//! ones too), and every member with its actions as ordinary buttons (the stage's card
//! buttons, for keyboard and screen-reader users).

use leptos::prelude::*;

use super::format::{state_words, tps};
use super::state::expect_lab;
use crate::engine::view::{self, Command, GroupId, MAX_CONSUMERS_PER_GROUP, MAX_GROUPS};

/// The Groups panel.
#[component]
pub fn GroupsPanel() -> impl IntoView {
    let lab = expect_lab();
    let groups = Memo::new(move |_| lab.with(|l| view::groups(l.sim())));
    let shown = Memo::new(move |_| {
        let g = lab.selection.group.get();
        groups.with(|gs| gs.iter().find(|x| x.id == g).cloned())
    });
    let instance = RwSignal::new(String::new());
    let add_consumer = move |_| {
        let id = instance.get_untracked();
        let group_instance_id = (!id.trim().is_empty()).then(|| id.trim().to_owned());
        lab.act(Command::AddConsumer {
            group: lab.selection.group.get_untracked(),
            group_instance_id,
        });
    };
    view! {
        <section class="lab-panel" aria-labelledby="groups-title">
            <h2 id="groups-title" class="lab-panel__title">"Consumer groups"</h2>
            <div class="lab-row">
                <label class="lab-field lab-field--inline">
                    <span class="lab-field__label">"the stage shows"</span>
                    <select
                        class="lab-select"
                        aria-label="group shown on the stage"
                        data-testid="group-select"
                        prop:value=move || lab.selection.group.get().0.to_string()
                        on:change=move |ev| {
                            if let Ok(g) = event_target_value(&ev).parse::<u16>() {
                                lab.selection.group.set(GroupId(g));
                                lab.selection.selected_anomaly.set(None);
                            }
                        }
                    >
                        {move || {
                            groups
                                .get()
                                .into_iter()
                                .map(|g| view! { <option value=g.id.0.to_string()>{g.name}</option> })
                                .collect_view()
                        }}
                    </select>
                </label>
            </div>
            <NewGroup full=Signal::derive(move || groups.with(|g| g.len() >= MAX_GROUPS))/>
            {move || groups.with(|g| g.len() >= MAX_GROUPS).then(|| view! {
                <p class="lab-hint">{format!("The lab runs at most {MAX_GROUPS} groups.")}</p>
            })}
            {move || {
                shown
                    .get()
                    .map(|g| {
                        let full = g.members.len() >= MAX_CONSUMERS_PER_GROUP;
                        view! {
                            <p class="lab-group__state" data-testid="group-state">
                                <code>{g.name.clone()}</code> " · " <strong>{state_words(g.state)}</strong>
                                " · generation " <strong data-testid="generation">{g.generation.max(0)}</strong>
                                " · " <code>{g.assignor.clone()}</code>
                                {format!(" · {} rebalance{} · stop-the-world {:.1} s", g.rebalances, if g.rebalances == 1 { "" } else { "s" }, g.stop_the_world_ms as f64 / 1000.0)}
                            </p>
                            <ul class="lab-list lab-members" aria-label="members">
                                {g.members.iter().map(|m| member_row(g.id, m)).collect_view()}
                            </ul>
                            <div class="lab-row">
                                <label class="lab-field lab-field--inline">
                                    <span class="lab-field__label">"group.instance.id"</span>
                                    <input
                                        class="lab-field__input"
                                        aria-label="group.instance.id of the new consumer (empty: a dynamic member)"
                                        data-testid="instance-id"
                                        placeholder="empty = dynamic"
                                        prop:value=move || instance.get()
                                        on:input=move |ev| instance.set(event_target_value(&ev))
                                    />
                                </label>
                                <button class="lab-button" data-testid="add-consumer" disabled=full on:click=add_consumer>
                                    "Add a consumer"
                                </button>
                            </div>
                            {full.then(|| view! {
                                <p class="lab-hint">{format!("A group has at most {MAX_CONSUMERS_PER_GROUP} consumers in the lab.")}</p>
                            })}
                            <super::metrics::Plots/>
                            <super::effects::AppTable/>
                        }
                    })
            }}
        </section>
    }
}

fn member_row(group: GroupId, m: &view::MemberView) -> impl IntoView {
    let lab = expect_lab();
    let consumer = m.member;
    let name = m.client_id.clone();
    let alive = matches!(
        m.status,
        view::MemberStatus::Active | view::MemberStatus::Idle | view::MemberStatus::Joining
    );
    let slowed = m.slowed;
    let owned = if m.owned.is_empty() {
        "—".to_owned()
    } else {
        tps(&m.owned)
    };
    let detail = match &m.status {
        view::MemberStatus::Failed(e) => e.clone(),
        _ => m.idle_reason.clone().unwrap_or_default(),
    };
    let act = move |c: Command| lab.act(c);
    view! {
        <li class=format!("lab-members__row lab-members__row--{}", m.status.label()) data-member=name.clone()>
            <strong>{name.clone()}</strong>
            {m.group_instance_id.clone().map(|i| view! { <code>{format!(" ({i})")}</code> })}
            {format!(" · {} · owns {owned}", m.status.label())}
            {(!detail.is_empty()).then(|| view! { <span class="lab-hint">{format!(" · {detail}")}</span> })}
            <span class="lab-row lab-row--tight">
                {if alive {
                    view! {
                        <button class="lab-button lab-button--small" aria-label=format!("crash {name}") on:click=move |_| act(Command::CrashConsumer { group, consumer })>"Crash"</button>
                        <button class="lab-button lab-button--small" aria-label=format!("close {name}") on:click=move |_| act(Command::CloseConsumer { group, consumer })>"Close"</button>
                        <button class="lab-button lab-button--small" aria-label=format!("seek {name}") data-testid=format!("seek-{name}") on:click=move |_| lab.selection.seek_for.set(Some((group, consumer)))>"Seek…"</button>
                        <button
                            class="lab-button lab-button--small"
                            aria-pressed=slowed.to_string()
                            title="1 s per record: past max.poll.interval.ms the consumer leaves the group"
                            on:click=move |_| act(Command::SlowConsumer { group, consumer, processing_ms: if slowed { None } else { Some(1_000) } })
                        >
                            {if slowed { "Normal speed" } else { "Slow down" }}
                        </button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button class="lab-button lab-button--small" aria-label=format!("restart {name}") on:click=move |_| act(Command::RestartConsumer { group, consumer })>"Restart"</button>
                    }
                    .into_any()
                }}
            </span>
        </li>
    }
}

/// The choices of the new-group form: `(setting, choices)`; the first choice of the
/// strategy is Kafka 4's default list.
const NEW_GROUP_CHOICES: [(&str, &[&str]); 3] = [
    (
        "partition.assignment.strategy",
        &[
            "range, cooperative-sticky",
            "range",
            "roundrobin",
            "sticky",
            "cooperative-sticky",
        ],
    ),
    (
        "commit.mode",
        &[
            "auto",
            "after-batch",
            "after-each-record",
            "before-processing",
        ],
    ),
    ("auto.offset.reset", &["earliest", "latest"]),
];

/// "Add a group": its `group.id`, assignor, commit mode and reset policy; it starts with
/// one consumer and reads every topic.
#[component]
fn NewGroup(full: Signal<bool>) -> impl IntoView {
    let lab = expect_lab();
    let name = RwSignal::new(String::new());
    // Start from the lab's own group settings, as Setup shows them.
    let start = lab.scenario();
    let chosen: Vec<RwSignal<String>> = NEW_GROUP_CHOICES
        .iter()
        .map(|(setting, choices)| {
            let now = start.get(setting);
            let pick = choices
                .iter()
                .find(|c| c.replace(' ', "") == now.replace(' ', ""))
                .copied()
                .unwrap_or(choices[0]);
            RwSignal::new(pick.to_owned())
        })
        .collect();
    let chosen_for_add = chosen.clone();
    let add = move || {
        let groups = lab.with_untracked(|l| view::groups(l.sim()).len());
        let typed = name.get_untracked();
        let group_id = if typed.trim().is_empty() {
            format!("group-{}", groups + 1)
        } else {
            typed.trim().to_owned()
        };
        let mut config = lab.scenario().group;
        for ((setting, _), value) in NEW_GROUP_CHOICES.iter().zip(&chosen_for_add) {
            if let Err(e) = config.set(setting, &value.get_untracked()) {
                lab.error(e.to_string());
                return;
            }
        }
        // A new group reads every topic there is.
        let topics: Vec<String> =
            lab.with_untracked(|l| view::topics(l.sim()).into_iter().map(|t| t.name).collect());
        match lab.command(Command::AddGroup {
            group_id: group_id.clone(),
            config,
            topics,
        }) {
            Ok(()) => {
                let g = GroupId(groups as u16);
                lab.act(Command::AddConsumer {
                    group: g,
                    group_instance_id: None,
                });
                lab.selection.group.set(g);
                lab.selection.selected_anomaly.set(None);
                name.set(String::new());
                lab.info(format!("Added {group_id}: it reads every topic with its own committed offsets and settings. The stage now shows it."));
            }
            Err(e) => lab.error(e.to_string()),
        }
    };
    let fields = NEW_GROUP_CHOICES
        .iter()
        .zip(chosen)
        .map(|((setting, choices), value)| {
            view! {
                <label class="lab-field lab-field--inline">
                    <span class="lab-field__label">{*setting}</span>
                    <select
                        class="lab-select"
                        data-testid=format!("new-group-{setting}")
                        prop:value=move || value.get()
                        on:change=move |ev| value.set(event_target_value(&ev))
                    >
                        {choices.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                    </select>
                </label>
            }
        })
        .collect_view();
    view! {
        <form
            class="lab-form lab-form--wrap"
            data-testid="new-group"
            on:submit=move |ev| {
                ev.prevent_default();
                add();
            }
        >
            <label class="lab-field">
                <span class="lab-field__label">"group.id"</span>
                <input class="lab-field__input" data-testid="group-name" maxlength="249" placeholder="group-2" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            {fields}
            <button type="submit" class="lab-button" data-testid="add-group" disabled=move || full.get()>"Add a group"</button>
        </form>
    }
}
