//! `kafka-lab-check LEVEL.json [RUN.json ...]`: grades runs against a level, by replay.
//!
//! - Without RUN, checks the level itself: its reference solution solves it; the untouched
//!   start does not (and fails the goals `untouched_fails` names); each wrong answer the
//!   file lists does not (and fails exactly the goals its `fails` names). One line each.
//! - With RUN files (runs exported from the lab as JSON, or share links saved as text),
//!   prints one line per run: `solved ...` or
//!   `not solved: <which goal failed, with the numbers>`.
//!
//! Exit status: 0 when everything checked is solved, 1 when something is not, 2 when a file
//! is missing or malformed (with a message, never a panic).

use std::process::ExitCode;
use std::time::Instant;

use kafka_lab::lab::level::Level;
use kafka_lab::lab::link::read_run;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("usage: kafka-lab-check LEVEL.json [RUN.json ...]");
        eprintln!("  without RUN: checks the level's reference solution");
        eprintln!("  with RUN files: grades each run (a run exported from the lab, or a share link), one line each");
        return ExitCode::from(2);
    }
    let level = match read(&args[0]).and_then(|text| Level::parse(&text).map_err(|e| e.to_string()))
    {
        Ok(level) => level,
        Err(e) => {
            eprintln!("{}: {e}", args[0]);
            return ExitCode::from(2);
        }
    };
    if args.len() == 1 {
        return check_level(&level);
    }
    let mut worst = 0u8;
    for path in &args[1..] {
        let graded = read(path)
            .and_then(|text| read_run(&text, &level).map_err(|e| e.to_string()))
            .and_then(|run| {
                let verdict = level.grade(&run).map_err(|e| e.to_string())?;
                Ok((run, verdict))
            });
        match graded {
            Ok((run, verdict)) => {
                // A failed run that looks like a known wrong answer gets its feedback.
                let known = level
                    .wrong_answer_for(&run, &verdict)
                    .map_or_else(String::new, |w| format!(" · {}", w.feedback));
                println!("{path}: {}{known}", verdict.line());
                if !verdict.solved() {
                    worst = worst.max(1);
                }
            }
            Err(e) => {
                println!("{path}: cannot grade: {e}");
                worst = 2;
            }
        }
    }
    ExitCode::from(worst)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))
}

/// The level's solution must solve it; doing nothing must not, for the reason the level
/// names; no wrong answer may.
fn check_level(level: &Level) -> ExitCode {
    let mut worst = 0u8;
    let mut say = |ok: bool, line: String| {
        println!("{line}");
        if !ok {
            worst = worst.max(1);
        }
    };
    let started = Instant::now();
    match level.solution_session().and_then(|s| level.grade(&s)) {
        Ok(v) => say(
            v.solved(),
            format!(
                "{}: solution: {} (replayed in {} ms)",
                level.id,
                v.line(),
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => return cannot(level, &e.to_string()),
    }
    match level.start_session().and_then(|s| level.grade(&s)) {
        Ok(v) => {
            let failed = level.failed_goals(&v);
            let missing: Vec<&String> = level
                .untouched_fails
                .iter()
                .filter(|n| !failed.contains(n))
                .collect();
            let named = !level.untouched_fails.is_empty();
            let ok = !v.solved() && named && missing.is_empty();
            let why = if !named {
                format!(
                    " (it fails {}; name the goal it must fail in `untouched_fails`)",
                    failed.join(", ")
                )
            } else if missing.is_empty() {
                String::new()
            } else {
                format!(
                    " (it fails {}; the file says it fails {})",
                    failed.join(", "),
                    missing
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            say(
                ok,
                format!("{}: untouched start: {}{why}", level.id, v.line()),
            );
        }
        Err(e) => return cannot(level, &e.to_string()),
    }
    for w in &level.wrong_answers {
        match level.wrong_answer_session(w).and_then(|s| level.grade(&s)) {
            Ok(v) => {
                let mut failed = level.failed_goals(&v);
                failed.sort();
                let mut expected = w.fails.clone();
                expected.sort();
                let ok = !v.solved() && failed == expected;
                let why = if !v.solved() && failed != expected {
                    format!(
                        " (it fails {}; the file says {})",
                        failed.join(", "),
                        expected.join(", ")
                    )
                } else {
                    String::new()
                };
                say(
                    ok,
                    format!(
                        "{}: wrong answer \"{}\": {}{why}",
                        level.id,
                        w.name,
                        v.line()
                    ),
                );
            }
            Err(e) => return cannot(level, &format!("wrong answer \"{}\": {e}", w.name)),
        }
    }
    ExitCode::from(worst)
}

fn cannot(level: &Level, e: &str) -> ExitCode {
    println!("{}: cannot check: {e}", level.id);
    ExitCode::from(2)
}
