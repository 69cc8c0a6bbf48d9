//! Lab mode: the level map (in the drawer), and the level's own strip in the dock: what
//! it teaches, the predict round, narration that follows the run, the goal checklist that
//! turns green when it holds, hints one at a time, the solution, reset, and back to the
//! sandbox. A teacher verifies a learner's run here too, with the same grader as
//! `kafka-lab-check`.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::files::{download, file_button, read_first};
use super::state::{expect_lab, expect_run, LabState};
use crate::lab::level::{parse_run, Check, Kind, Level, Verdict};
use crate::lab::link;

/// The Levels panel: the level map once the level files have arrived, and what is
/// happening until then.
#[component]
pub fn LevelsPanel() -> impl IntoView {
    let run = expect_run();
    move || {
        if run.levels_ready.get() {
            view! { <LevelMap/> }.into_any()
        } else if let Some(problem) = run.levels_problem.get() {
            view! {
                <section class="lab-panel">
                    <h2 class="lab-panel__title">"Lessons and challenges"</h2>
                    <p class="lab-hint lab-hint--alert" role="alert" data-testid="levels-problem">
                        {format!("The levels could not be loaded ({problem}). The sandbox works as before; reload the page to try again.")}
                    </p>
                </section>
            }
            .into_any()
        } else {
            view! {
                <section class="lab-panel">
                    <h2 class="lab-panel__title">"Lessons and challenges"</h2>
                    <p class="lab-hint" data-testid="levels-loading">"Loading the levels…"</p>
                </section>
            }
            .into_any()
        }
    }
}

/// The level map: levels by topic with their progress, the progress box and Verify.
#[component]
fn LevelMap() -> impl IntoView {
    let lab = expect_lab();
    let levels = lab.levels();
    let mut topics: Vec<(String, Vec<Level>)> = Vec::new();
    for l in levels.iter() {
        match topics.iter_mut().find(|(t, _)| *t == l.topic) {
            Some((_, list)) => list.push(l.clone()),
            None => topics.push((l.topic.clone(), vec![l.clone()])),
        }
    }
    let lessons = levels.iter().filter(|l| l.kind == Kind::Lesson).count();
    let challenges = levels.len() - lessons;
    view! {
        <section class="lab-panel" aria-labelledby="levels-title">
            <h2 id="levels-title" class="lab-panel__title">"Lessons and challenges"</h2>
            <p class="lab-hint">
                {format!("{lessons} lessons show one idea each; {challenges} challenges give you a broken setup to fix. The simulation checks the goal; your progress stays in this browser.")}
            </p>
            <div class="lab-row">
                <button class="lab-button" data-testid="sandbox" disabled=move || lab.run.level.get().is_none() on:click=move |_| lab.leave_level()>
                    "Back to the sandbox"
                </button>
                <span class="lab-hint" data-testid="progress-summary">
                    {move || lab.run.progress.with(|p| {
                        let right = p.predictions.iter().filter(|(_, r)| *r).count();
                        let solved = format!("{} of {} solved", p.done.len(), lessons + challenges);
                        if p.predictions.is_empty() {
                            solved
                        } else {
                            format!("{solved} · predictions right: {right} of {}", p.predictions.len())
                        }
                    })}
                </span>
            </div>
            {topics
                .into_iter()
                .map(|(topic, list)| {
                    view! {
                        <h3 class="lab-panel__subtitle">{topic}</h3>
                        <ul class="lab-list lab-levels">
                            {list.into_iter().map(level_row).collect_view()}
                        </ul>
                    }
                })
                .collect_view()}
            <ProgressBox/>
            <VerifyBox/>
        </section>
    }
}

fn level_row(l: Level) -> impl IntoView {
    let lab = expect_lab();
    let id = l.id.clone();
    let id2 = l.id.clone();
    let id3 = l.id.clone();
    let state = move || {
        lab.run.progress.with(|p| {
            if p.done.contains(&id) {
                ("done", "✓ solved")
            } else if p.started.contains(&id) {
                ("started", "◐ started")
            } else {
                ("new", "○ new")
            }
        })
    };
    let state_class = state.clone();
    let kind = match l.kind {
        Kind::Lesson => "lesson",
        Kind::Challenge => "challenge",
    };
    view! {
        <li class="lab-levels__row">
            <button
                class="lab-level"
                data-level=l.id.clone()
                aria-current=move || (lab.run.level.get().as_deref() == Some(id2.as_str())).then_some("true")
                on:click=move |_| {
                    lab.open_level(&id3, false);
                    lab.chrome.drawer.set(None);
                }
                title=l.teaches.clone()
            >
                <span class=move || format!("lab-level__state lab-level__state--{}", state_class().0)>{move || state().1}</span>
                <span class="lab-level__title">{format!("{} · {}", l.id, l.title)}</span>
                <span class="lab-level__meta">{format!("{kind} · seed {}", l.seed_section)}</span>
            </button>
        </li>
    }
}

/// Progress as a file: export and import.
#[component]
fn ProgressBox() -> impl IntoView {
    let lab = expect_lab();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let import = move |json: &str| match lab.import_progress(json.trim()) {
        Ok(()) => {
            error.set(None);
            lab.info("Your progress is loaded.");
        }
        Err(e) => error.set(Some(format!(
            "That is not a progress file ({e}); nothing changed."
        ))),
    };
    view! {
        <h3 class="lab-panel__subtitle">"Your progress"</h3>
        <div class="lab-row">
            <button class="lab-button" data-testid="progress-download" on:click=move |_| {
                if let Err(e) = download("kafka-lab-progress.json", &lab.progress_json()) {
                    error.set(Some(format!("No file: {e}.")));
                }
            }>"Download it"</button>
            {file_button("Load a progress file", "progress-file", ".json,application/json", move |r| match r {
                Ok(json) => import(&json),
                Err(e) => error.set(Some(format!("That file could not be read ({e}); nothing changed."))),
            })}
            <button class="lab-button" data-testid="progress-export" on:click=move |_| text.set(lab.progress_json())>"Show it as JSON"</button>
            <button class="lab-button" data-testid="progress-import" on:click=move |_| import(&text.get_untracked())>"Load the JSON in the box"</button>
        </div>
        <textarea class="lab-session" rows="2" aria-label="progress as JSON" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        {move || error.get().map(|e| view! { <p class="lab-field__error" role="alert" data-testid="progress-error">{e}</p> })}
    }
}

/// A teacher pastes a learner's run (JSON or link) and sees whether it solves a level.
#[component]
fn VerifyBox() -> impl IntoView {
    let lab = expect_lab();
    let text = RwSignal::new(String::new());
    let chosen = RwSignal::new(lab.run.level.get_untracked().unwrap_or_else(|| {
        lab.levels()
            .first()
            .map(|l| l.id.clone())
            .unwrap_or_default()
    }));
    let verdict = RwSignal::new(None::<(bool, String)>);
    let verify = move |raw: String| {
        let levels = lab.levels();
        // A link names its level (the select follows it); a pasted JSON run uses the select.
        let run = if raw.trim_start().starts_with('{') {
            parse_run(raw.trim()).map_err(|e| format!("not a run the lab can read: {e}"))
        } else {
            link::decode(&raw, &levels)
                .map(|shared| {
                    if let Some(id) = shared.level {
                        chosen.set(id);
                    }
                    shared.session
                })
                .map_err(|e| format!("not a run the lab can read: {e}"))
        };
        let id = chosen.get_untracked();
        let result = run.and_then(|run| {
            let level = levels
                .iter()
                .find(|l| l.id == id)
                .ok_or_else(|| format!("no level {id}"))?;
            let v = level.grade(&run).map_err(|e| e.to_string())?;
            let known = level
                .wrong_answer_for(&run, &v)
                .map_or_else(String::new, |w| format!(" · {}", w.feedback));
            Ok((v, known))
        });
        verdict.set(Some(match result {
            Ok((v, known)) => (v.solved(), format!("{id}: {}{known}", v.line())),
            Err(e) => (false, format!("{id}: cannot grade: {e}")),
        }));
    };
    // A picked or dropped file fills the box and is verified at once.
    let verify_text = move |r: Result<String, String>| match r {
        Ok(t) => {
            text.set(t.clone());
            verify(t);
        }
        Err(e) => verdict.set(Some((false, format!("cannot grade: {e}")))),
    };
    view! {
        <h3 class="lab-panel__subtitle">"Verify a run"</h3>
        <p class="lab-hint">"Paste a learner's run (its JSON or its link; a link picks its level), or drop its file on the box: the lab replays it and checks the goal, as kafka-lab-check does."</p>
        <div class="lab-row">
            <select class="lab-select lab-select--shrink" aria-label="level to verify against" data-testid="verify-level" prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                {lab.levels().iter().map(|l| view! { <option value=l.id.clone()>{format!("{} · {}", l.id, l.title)}</option> }).collect_view()}
            </select>
            <button class="lab-button" data-testid="verify" on:click=move |_| verify(text.get_untracked())>"Verify"</button>
            {file_button("Verify a file", "verify-file", ".json,.txt,application/json,text/plain", verify_text)}
        </div>
        <textarea
            class="lab-session"
            rows="3"
            data-testid="verify-run"
            aria-label="a learner's run, as JSON or a link; or drop its file here"
            prop:value=move || text.get()
            on:input=move |ev| text.set(event_target_value(&ev))
            on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default()
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                read_first(ev.data_transfer().and_then(|d| d.files()), verify_text);
            }
        ></textarea>
        {move || verdict.get().map(|(ok, line)| view! {
            <p class=if ok { "lab-verdict lab-verdict--ok" } else { "lab-verdict" } data-testid="verdict" role="status">{super::state::capped(line)}</p>
        })}
    }
}

/// The current level's strip in the dock (nothing in the sandbox).
#[component]
pub fn LevelDock() -> impl IntoView {
    let lab = expect_lab();
    // One evaluation per change of the lab: the lab's monitor has sampled the goal and
    // counted the events as time passed.
    let state = Memo::new(move |_| {
        let id = lab.run.level.get()?;
        let level = lab.levels().iter().find(|l| l.id == id).cloned()?;
        lab.with(|l| {
            let now_ms = l.now_ms();
            let checks = level.checks(l);
            let narration = l
                .monitor()
                .map(|m| {
                    level
                        .narration_now(now_ms, m.tracker())
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            // Past the check time, a failed run that looks like a known wrong answer
            // gets that answer's feedback (the grader's own matching).
            let known = (now_ms >= level.check_at_ms && !checks.iter().all(|c| c.holds))
                .then(|| {
                    let verdict = Verdict {
                        checks: checks.clone(),
                        at_ms: now_ms,
                        actions: 0,
                    };
                    level
                        .wrong_answer_for(l.session(), &verdict)
                        .map(|w| w.feedback.clone())
                })
                .flatten();
            Some(LevelNow {
                now_ms,
                checks,
                narration,
                known,
                level,
            })
        })
    });
    // The final verdict: solved once the goal holds at its check time.
    Effect::new(move |_| {
        state.with(|s| {
            if let Some(s) = s {
                if s.now_ms >= s.level.check_at_ms
                    && s.checks.iter().all(|c| c.holds)
                    && s.level.quiz_passed(&lab.run.answers.get())
                {
                    lab.mark_done(&s.level.id);
                }
            }
        })
    });
    move || state.get().map(|s| level_strip(lab, s))
}

/// The level at this moment.
#[derive(Clone, Debug, PartialEq)]
struct LevelNow {
    level: Level,
    now_ms: u64,
    checks: Vec<Check>,
    narration: Vec<String>,
    /// The feedback of the known wrong answer this run looks like, once checked.
    known: Option<String>,
}

/// The level's predict rounds: one question at a time until each has an answer, then
/// "play it", then every answer revealed with why.
fn predict_rounds(lab: LabState, l: &Level, reveal: bool) -> impl IntoView {
    let rounds = l.predict.clone();
    let total = rounds.len();
    let id = l.id.clone();
    move || {
        let given = lab.run.answers.get();
        if given.len() < total {
            let k = given.len();
            let p = rounds[k].clone();
            let choices = p
                .choices
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let id = id.clone();
                    let right = i == p.answer;
                    view! {
                        <button
                            class="lab-button lab-button--small lab-choice"
                            on:click=move |_| lab.predicted(&id, k, i, right)
                        >
                            {c.clone()}
                        </button>
                    }
                })
                .collect_view();
            let label = if total > 1 {
                format!("Predict ({} of {total}): ", k + 1)
            } else {
                "Predict: ".to_owned()
            };
            view! {
                <div class="lab-predict" data-testid="predict">
                    <p class="lab-predict__q"><strong>{label}</strong>{p.question.clone()}</p>
                    <div class="lab-row">{choices}</div>
                    <p class="lab-hint">"Answer first, then press Play to see."</p>
                </div>
            }
            .into_any()
        } else if !reveal {
            view! {
                <div class="lab-predict" data-testid="predict">
                    <p class="lab-hint">
                        {if total > 1 { format!("All {total} answered. Now play it and watch.") } else { "Answered. Now play it and watch.".to_owned() }}
                    </p>
                </div>
            }
            .into_any()
        } else {
            let reveals = rounds
                .iter()
                .zip(given)
                .map(|(p, a)| {
                    let verdict = if a == p.answer {
                        "Right. "
                    } else {
                        "Not quite. "
                    };
                    view! {
                        <p class="lab-predict__reveal" data-testid="reveal">
                            <span class="lab-predict__asked">{p.question.clone()}</span>
                            " "<strong>{verdict}</strong>
                            {p.explain.clone()}
                        </p>
                    }
                })
                .collect_view();
            view! { <div class="lab-predict" data-testid="predict">{reveals}</div> }.into_any()
        }
    }
}

fn level_strip(lab: LabState, s: LevelNow) -> impl IntoView {
    let l = s.level;
    let answers = lab.run.answers.get();
    let quiz = l.quiz_score(&answers).map(|(right, needed)| {
        let total = l.predict.len();
        let line = if answers.len() < total {
            format!("Quiz: {} of {total} answered; {needed} right answers are needed.", answers.len())
        } else if right >= needed {
            format!("Quiz: {right} of {total} right ({needed} needed). Passed.")
        } else {
            format!("Quiz: {right} of {total} right; {needed} are needed. Reset the level to answer again.")
        };
        (line, answers.len() >= total && right >= needed)
    });
    let holds = s.checks.iter().all(|c| c.holds) && quiz.as_ref().is_none_or(|q| q.1);
    let checked = s.now_ms >= l.check_at_ms;
    let id_reset = l.id.clone();
    let id_solution = l.id.clone();
    let hints = l.hints.clone();
    let status = match (holds, checked) {
        (true, true) => "Solved!".to_owned(),
        (true, false) => format!(
            "The goal holds now; it is checked at t = {:.0} s.",
            l.check_at_ms as f64 / 1000.0
        ),
        (false, _) => format!(
            "Goal, checked at t = {:.0} s:",
            l.check_at_ms as f64 / 1000.0
        ),
    };
    let kind = match l.kind {
        Kind::Lesson => "Lesson",
        Kind::Challenge => "Challenge",
    };
    let reveal = checked || holds;
    let predict = (!l.predict.is_empty()).then(|| predict_rounds(lab, &l, reveal));
    let narration = s.narration.last().cloned();
    let checks: BTreeMap<usize, Check> = s.checks.into_iter().enumerate().collect();
    view! {
        <div class="lab-levelstrip" class:lab-levelstrip--solved=holds data-testid="level-strip" data-level=l.id.clone()>
            <div class="lab-levelstrip__story">
            <h2 class="lab-cause__title">
                {format!("{kind} {} · {}", l.id, l.title)}
            </h2>
            <p class="lab-cause__sentence">{l.teaches.clone()}</p>
            {predict}
            {narration.map(|n| view! { <p class="lab-narration" data-testid="narration" aria-live="polite">{n}</p> })}
            </div>
            <div class="lab-levelstrip__check">
            <p class="lab-goal__status" data-testid="goal-status">{status}</p>
            {quiz.map(|(line, passed)| view! { <p class=if passed { "lab-quiz lab-quiz--ok" } else { "lab-quiz" } data-testid="quiz">{line}</p> })}
            <ul class="lab-goal" data-testid="goal">
                {checks
                    .into_values()
                    .map(|c| view! {
                        <li class=if c.holds { "lab-goal__item lab-goal__item--ok" } else { "lab-goal__item" }>
                            {if c.holds { "✓ " } else { "○ " }}{c.label}
                            <span class="lab-hint">{format!(" ({})", c.actual)}</span>
                        </li>
                    })
                    .collect_view()}
            </ul>
            {s.known.map(|k| view! { <p class="lab-wrong" data-testid="wrong-answer" role="status">{k}</p> })}
            <div class="lab-row">
                <button class="lab-button lab-button--small" data-testid="hint" disabled=move || { lab.run.hints.get() >= 3 } on:click=move |_| lab.run.hints.update(|h| *h = (*h + 1).min(3))>
                    {move || format!("Hint ({}/3)", lab.run.hints.get())}
                </button>
                <button class="lab-button lab-button--small" data-testid="level-reset" on:click=move |_| lab.open_level(&id_reset, false)>"Reset level"</button>
                <button class="lab-button lab-button--small" data-testid="level-solution" on:click=move |_| lab.open_level(&id_solution, true)>"Show solution"</button>
                <button class="lab-button lab-button--small" data-testid="level-leave" on:click=move |_| lab.leave_level()>"Sandbox"</button>
            </div>
            <ol class="lab-hints" data-testid="hints">
                {move || hints.iter().take(lab.run.hints.get()).map(|h| view! { <li>{h.clone()}</li> }).collect_view()}
            </ol>
            </div>
        </div>
    }
}
