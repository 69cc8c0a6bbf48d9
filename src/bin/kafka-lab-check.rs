//! `kafka-lab-check LEVEL.json [RUN.json ...]`: grades runs against a level, by replay.
//!
//! - Without RUN, checks the level's own reference solution (and that the untouched start
//!   does not already meet the goal).
//! - With RUN files (runs exported from the lab as JSON, or share links saved as text),
//!   prints one line per run: `solved ...` or
//!   `not solved: <which goal failed, with the numbers>`.
//!
//! Exit status: 0 when everything checked is solved, 1 when something is not, 2 when a file
//! is missing or malformed (with a message, never a panic).

use std::process::ExitCode;
use std::time::Instant;

use kafka_lab::engine::level::Level;
use kafka_lab::engine::link::read_run;

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
            .and_then(|run| level.grade(&run).map_err(|e| e.to_string()));
        match graded {
            Ok(verdict) => {
                println!("{path}: {}", verdict.line());
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

/// The level's solution must solve it, and doing nothing must not.
fn check_level(level: &Level) -> ExitCode {
    let started = Instant::now();
    let solution = level.solution_session().and_then(|s| level.grade(&s));
    let replay_ms = started.elapsed().as_millis();
    let untouched = level.start_session().and_then(|s| level.grade(&s));
    match (solution, untouched) {
        (Ok(v), Ok(u)) if v.solved() && !u.solved() => {
            println!(
                "{}: the solution is {} (replayed in {replay_ms} ms); the untouched start is not",
                level.id,
                v.line()
            );
            ExitCode::SUCCESS
        }
        (Ok(v), Ok(u)) => {
            if !v.solved() {
                println!("{}: the solution is {}", level.id, v.line());
            }
            if u.solved() {
                println!("{}: the untouched start already meets the goal", level.id);
            }
            ExitCode::from(1)
        }
        (Err(e), _) | (_, Err(e)) => {
            println!("{}: cannot check: {e}", level.id);
            ExitCode::from(2)
        }
    }
}
