//! The seek control of a consumer: one of its partitions, then where to (Beginning, End, an
//! offset, or a time). It opens from the consumer's card on the stage and from its row in
//! the Groups panel, and sends one `Seek` command.

use leptos::prelude::*;

use super::state::{expect_lab, expect_selection};
use crate::engine::view::{self, Command, SeekTo, Tp};

/// Where the learner chose to seek, before it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Beginning,
    End,
    Offset,
    Time,
}

/// The largest offset or time the form accepts (a larger number is a typo, not a seek).
const LARGEST: u64 = 1_000_000_000;

/// Reads the form's number: a whole offset, or a time in seconds (to the millisecond).
fn parse_to(target: Target, text: &str) -> Result<SeekTo, String> {
    let text = text.trim();
    match target {
        Target::Beginning => Ok(SeekTo::Beginning),
        Target::End => Ok(SeekTo::End),
        Target::Offset => match text.parse::<u64>() {
            Ok(o) if o <= LARGEST => Ok(SeekTo::Offset(o)),
            _ => Err(format!(
                "an offset is a whole number from 0 to {LARGEST}, not \"{}\"",
                short(text)
            )),
        },
        Target::Time => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 && s * 1_000.0 <= LARGEST as f64 => {
                Ok(SeekTo::Timestamp((s * 1_000.0).round() as u64))
            }
            _ => Err(format!(
                "a time is a number of seconds (like 12.5), not \"{}\"",
                short(text)
            )),
        },
    }
}

/// At most 24 characters of what was typed, for a message.
fn short(text: &str) -> String {
    let mut s: String = text.chars().take(24).collect();
    if text.chars().count() > 24 {
        s.push('…');
    }
    s
}

/// The seek dialog, shown while a consumer is chosen for it.
#[component]
pub fn SeekDialog() -> impl IntoView {
    let selection = expect_selection();
    view! {
        <Show when=move || selection.seek_for.get().is_some()>
            {move || selection.seek_for.get().map(|(group, member)| seek_form(group, member))}
        </Show>
    }
}

fn seek_form(group: view::GroupId, member: view::MemberId) -> impl IntoView {
    let lab = expect_lab();
    let found = lab.with_untracked(|l| {
        let groups = view::groups(l.sim());
        let g = groups.into_iter().find(|g| g.id == group)?;
        let m = g.members.into_iter().find(|m| m.member == member)?;
        let topics = view::topics(l.sim());
        Some((g.name, m.client_id, m.owned, topics))
    });
    let Some((group_name, client_id, owned, topics)) = found else {
        return view! { <p class="lab-hint">"That consumer is gone."</p> }.into_any();
    };
    let many_topics = topics.len() > 1;
    let tp_name = move |tp: Tp| {
        let topic = topics
            .iter()
            .find(|t| t.id == tp.topic)
            .map_or_else(String::new, |t| format!("{} ", t.name));
        if many_topics {
            format!("{topic}p{}", tp.p())
        } else {
            format!("p{}", tp.p())
        }
    };
    let partition = RwSignal::new(owned.first().copied());
    let target = RwSignal::new(Target::Beginning);
    let number = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let close = move || lab.selection.seek_for.set(None);
    let go = move || {
        let Some(tp) = partition.get_untracked() else {
            return;
        };
        match parse_to(target.get_untracked(), &number.get_untracked()) {
            Ok(to) => {
                lab.act(Command::Seek {
                    group,
                    consumer: member,
                    partition: tp.p(),
                    to,
                    topic: tp.topic,
                });
                close();
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    let choice = move |t: Target, label: &'static str, api: &'static str, id: &'static str| {
        view! {
            <label class="lab-seek__choice">
                <input
                    type="radio"
                    name="seek-to"
                    data-testid=format!("seek-{id}")
                    prop:checked=move || target.get() == t
                    on:change=move |_| {
                        target.set(t);
                        problem.set(None);
                    }
                />
                <span>{label} " " <code>{api}</code></span>
            </label>
        }
    };
    let options = owned
        .iter()
        .map(|tp| {
            let value = format!("{}:{}", tp.topic.0, tp.p());
            view! { <option value=value>{tp_name(*tp)}</option> }
        })
        .collect_view();
    let owns_nothing = owned.is_empty();
    view! {
        <div
            class="lab-help lab-seek"
            role="dialog"
            aria-modal="false"
            aria-labelledby="seek-title"
            data-testid="seek-dialog"
            on:keydown=move |ev| {
                if ev.key() == "Enter" && ev.target().is_some() {
                    ev.prevent_default();
                    go();
                }
            }
        >
            <h2 id="seek-title" class="lab-panel__title">{format!("Seek {client_id} ({group_name})")}</h2>
            {if owns_nothing {
                view! {
                    <p class="lab-hint" data-testid="seek-nothing">
                        {format!("{client_id} owns no partition now. A consumer can seek only the partitions assigned to it.")}
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <label class="lab-field lab-field--inline">
                        <span class="lab-field__label">"partition"</span>
                        <select
                            class="lab-select"
                            data-testid="seek-partition"
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                let parsed = v.split_once(':').and_then(|(t, p)| Some((t.parse::<u16>().ok()?, p.parse::<u32>().ok()?)));
                                if let Some((t, p)) = parsed {
                                    partition.set(Some(Tp::new(view::TopicId(t), p)));
                                }
                            }
                        >
                            {options}
                        </select>
                    </label>
                    <fieldset class="lab-seek__to">
                        <legend class="lab-field__label">"to"</legend>
                        {choice(Target::Beginning, "the beginning", "seekToBeginning", "beginning")}
                        {choice(Target::End, "the end", "seekToEnd", "end")}
                        {choice(Target::Offset, "an offset", "seek(offset)", "offset")}
                        {choice(Target::Time, "a time (s)", "offsetsForTimes", "time")}
                        <input
                            class="lab-field__input"
                            inputmode="decimal"
                            maxlength="24"
                            aria-label="the offset, or the time in seconds"
                            aria-invalid=move || problem.get().is_some().to_string()
                            data-testid="seek-number"
                            placeholder=move || if target.get() == Target::Time { "seconds, e.g. 12.5" } else { "offset, e.g. 2" }
                            disabled=move || matches!(target.get(), Target::Beginning | Target::End)
                            prop:value=move || number.get()
                            on:input=move |ev| {
                                number.set(event_target_value(&ev));
                                problem.set(None);
                            }
                        />
                    </fieldset>
                    {move || problem.get().map(|p| view! { <p class="lab-hint lab-hint--alert" role="alert" data-testid="seek-problem">{p}</p> })}
                    <p class="lab-hint">"The next poll() reads from there. A time finds the first record produced at or after it; past the last record, the lab seeks to the end (where Kafka answers null)."</p>
                }
                .into_any()
            }}
            <div class="lab-row">
                <button class="lab-button lab-button--primary" data-testid="seek-go" disabled=owns_nothing on:click=move |_| go()>"Seek"</button>
                <button class="lab-button" data-testid="seek-cancel" on:click=move |_| close()>"Cancel"</button>
            </div>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_offsets_and_seconds_and_refuses_the_rest() {
        assert_eq!(parse_to(Target::Offset, " 2 "), Ok(SeekTo::Offset(2)));
        assert_eq!(
            parse_to(Target::Time, "12.5"),
            Ok(SeekTo::Timestamp(12_500))
        );
        assert_eq!(parse_to(Target::End, "junk"), Ok(SeekTo::End));
        for bad in ["", "-1", "2.5", "1e99", "abc"] {
            assert!(parse_to(Target::Offset, bad).is_err(), "{bad}");
        }
        for bad in ["", "-1", "NaN", "inf", "1e99"] {
            assert!(parse_to(Target::Time, bad).is_err(), "{bad}");
        }
        let long = "9".repeat(10_000);
        let e = parse_to(Target::Offset, &long).unwrap_err();
        assert!(
            e.chars().count() < 100,
            "the message quotes a short piece: {e}"
        );
    }
}
