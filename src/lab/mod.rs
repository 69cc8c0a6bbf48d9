//! The lab application around the simulated Kafka: the run a user builds (a scenario and
//! their timed commands, `history`), the live [`Lab`] that drives it with exact time travel,
//! levels and their grader (`level`, `goal`, `levels`), share links (`link`) and the export
//! to a real cluster (`reproduce`). `crate::engine` is the simulated Kafka; it knows nothing
//! of this module.
//!
//! [`Lab`]: a session (scenario + the user's timed commands) with its live simulation and
//! checkpoints. This is the UI's one handle on the engine for driving time.
//!
//! Time travel is exact because every path goes through the same rules:
//! - a command recorded at `t` runs after everything else the engine scheduled at `t`;
//! - running forward past recorded commands applies them (after a seek back, playing
//!   replays the recorded future like a video) until the user acts; then the future is
//!   cut (a fork) and the caller is told;
//! - a fresh lab, a reset and a reload are the same constructor: replay to a time.

pub mod goal;
pub mod history;
pub mod level;
pub mod levels;
pub mod link;
pub mod reproduce;
pub mod scenario;

pub use history::{Checkpoints, Session, MAX_TIME_MS};
pub use reproduce::reproduce;
pub use scenario::Scenario;

use self::goal::Monitor;
use crate::engine::command::Command;
use crate::engine::error::EngineError;
use crate::engine::event::Event;
use crate::engine::sim::Sim;

/// Items one step may run through while looking for the next event.
const STEP_LIMIT: usize = 100_000;
/// The most virtual time one step covers when nothing visible happens.
const STEP_MAX_MS: u64 = 30_000;

/// What a user command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The recorded future after this moment was cut.
    pub forked: bool,
}

/// A session, its simulation at the user's time, and checkpoints for seeking.
#[derive(Clone, Debug)]
pub struct Lab {
    session: Session,
    sim: Sim,
    checkpoints: Checkpoints,
    /// Index of the first recorded command not yet applied to `sim`.
    next_command: usize,
    /// A level's goal, sampled as time passes (see [`Lab::watching`]).
    monitor: Option<Monitor>,
}

impl Lab {
    /// The lab of a session, at the session's time.
    ///
    /// # Errors
    /// A session that does not build or replay.
    pub fn new(session: Session) -> Result<Self, EngineError> {
        session.scenario.validate()?;
        let mut checkpoints = Checkpoints::new();
        let t = session.now_ms.min(MAX_TIME_MS);
        let sim = checkpoints.seek(&session, t)?;
        let next_command = session
            .commands
            .iter()
            .take_while(|(at, _)| *at <= t)
            .count();
        Ok(Lab {
            session,
            sim,
            checkpoints,
            next_command,
            monitor: None,
        })
    }

    /// The lab of a session, watched by a level's monitor from t = 0: the session is
    /// replayed from the start to its time so every sample is taken on the way.
    ///
    /// # Errors
    /// A session that does not build or replay.
    pub fn watching(session: Session, monitor: Monitor) -> Result<Self, EngineError> {
        let target = session.now_ms.min(MAX_TIME_MS);
        let mut from_zero = session;
        from_zero.now_ms = 0;
        let mut lab = Lab::new(from_zero)?;
        lab.monitor = Some(monitor);
        lab.advance_to(target);
        Ok(lab)
    }

    /// The level's monitor, if one watches this lab.
    pub fn monitor(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }

    /// The first moment at or after now the monitor still has to sample.
    fn next_sample(&self) -> u64 {
        let now = self.sim.now_ms();
        self.monitor
            .as_ref()
            .and_then(|m| m.next_untaken(now))
            .unwrap_or(u64::MAX)
    }

    /// Samples now if a sample is due now: the moment is completed first (its remaining
    /// items run; recorded commands at it were applied by the caller), as a replay does.
    fn sample_if_due(&mut self) {
        let now = self.sim.now_ms();
        if self.next_sample() == now && self.next_command_at() != Some(now) {
            self.sim.run_until(now);
            if let Some(m) = self.monitor.as_mut() {
                m.sample(&self.sim);
            }
        }
    }

    /// Brings the monitor's event counts up to now.
    fn refresh_monitor(&mut self) {
        if let Some(m) = self.monitor.as_mut() {
            m.update(&self.sim);
        }
    }

    /// A new lab from a scenario, at t = 0.
    ///
    /// # Errors
    /// A scenario that does not build.
    pub fn fresh(scenario: Scenario) -> Result<Self, EngineError> {
        Lab::new(Session::new(scenario))
    }

    /// The simulation now.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// The session (with its time set to now).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The scenario the lab started from.
    pub fn scenario(&self) -> &Scenario {
        &self.session.scenario
    }

    /// Virtual time now.
    pub fn now_ms(&self) -> u64 {
        self.sim.now_ms()
    }

    /// The furthest recorded moment (the timeline's end).
    pub fn horizon_ms(&self) -> u64 {
        self.session.horizon_ms().max(self.sim.now_ms())
    }

    /// True when recorded commands lie ahead (playing will replay them).
    pub fn has_future(&self) -> bool {
        self.next_command < self.session.commands.len()
    }

    /// The checkpoints kept.
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    fn next_command_at(&self) -> Option<u64> {
        self.session.commands.get(self.next_command).map(|c| c.0)
    }

    fn apply_due_commands(&mut self) {
        while let Some((at, command)) = self.session.commands.get(self.next_command).cloned() {
            if at > self.sim.now_ms() {
                break;
            }
            self.sim.run_until(at);
            // As when replaying: a refusal becomes an event, nothing else.
            self.sim.schedule_command(at, command);
            self.sim.run_until(at);
            self.next_command += 1;
        }
    }

    /// Runs forward to `t_ms`, applying recorded commands as their time comes, keeping
    /// checkpoints and taking the monitor's samples on the way.
    pub fn advance_to(&mut self, t_ms: u64) {
        let t_ms = t_ms.min(MAX_TIME_MS);
        loop {
            let now = self.sim.now_ms();
            let command = self.next_command_at().unwrap_or(u64::MAX);
            if command <= now {
                self.apply_due_commands();
                continue;
            }
            self.sample_if_due();
            let checkpoint = self.checkpoints.next_after(now);
            let sample = match self.next_sample() {
                s if s == now => self
                    .monitor
                    .as_ref()
                    .and_then(|m| m.next_untaken(now + 1))
                    .unwrap_or(u64::MAX),
                s => s,
            };
            let target = checkpoint.min(command).min(t_ms).min(sample);
            if target <= now {
                break;
            }
            self.sim.run_until(target);
            if target == checkpoint {
                // Before the commands recorded at this time, as seeks expect.
                self.checkpoints.offer(&self.sim);
            }
        }
        self.refresh_monitor();
        self.session.set_now(self.sim.now_ms());
    }

    /// Runs forward by `ms`.
    pub fn advance_by(&mut self, ms: u64) {
        let t = self.sim.now_ms().saturating_add(ms);
        self.advance_to(t);
    }

    /// Runs scheduled items (and recorded commands, in their turn) until the next event:
    /// internal timers and messages that show nothing are run through, so one step is one
    /// thing a class can see. Returns the events of that step.
    pub fn step(&mut self) -> Vec<Event> {
        let before = self.sim.event_count();
        let start_ms = self.sim.now_ms();
        // Bounded: a lab with nothing visible left stops instead of spinning (its brokers
        // still heartbeat to the controller, so time alone bounds an idle step).
        for _ in 0..STEP_LIMIT {
            if self.sim.now_ms() >= start_ms + STEP_MAX_MS {
                break;
            }
            let next_item = self.sim.next_event_ms();
            let upcoming = self
                .next_command_at()
                .unwrap_or(u64::MAX)
                .min(next_item.unwrap_or(u64::MAX));
            let sample = self.next_sample();
            if sample < upcoming && sample != u64::MAX {
                // Nothing happens before the sample's moment: take it, then go on.
                self.sim.run_until(sample);
                self.sample_if_due();
                continue;
            }
            match (self.next_command_at(), next_item) {
                (Some(c), Some(i)) if c < i => {
                    self.sim.run_until(c);
                    self.apply_due_commands();
                }
                (Some(c), None) => {
                    self.sim.run_until(c);
                    self.apply_due_commands();
                }
                (_, Some(_)) => {
                    // A recorded command at this time waits until the time is complete.
                    self.sim.step();
                }
                (None, None) => break,
            }
            if self.sim.event_count() > before {
                break;
            }
        }
        self.refresh_monitor();
        self.session.set_now(self.sim.now_ms());
        let new = (self.sim.event_count() - before) as usize;
        self.sim
            .events()
            .iter()
            .rev()
            .take(new)
            .cloned()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    /// Gives a command now, as the user: the current millisecond completes first (so a
    /// replay does the same), the command runs, and it is recorded. Recorded commands after
    /// now are cut.
    ///
    /// # Errors
    /// The engine's refusal (nothing is recorded then), or too many commands.
    pub fn command(&mut self, command: Command) -> Result<Applied, EngineError> {
        let now = self.sim.now_ms();
        self.sim.run_until(now);
        self.apply_due_commands();
        self.sim.apply(command.clone())?;
        let forked = self.session.has_future(now);
        self.session.record(now, command)?;
        self.next_command = self.session.commands.len();
        self.checkpoints.fork(now);
        if let Some(m) = self.monitor.as_mut() {
            // Samples from now on were of a run that no longer happens (the one at now
            // is taken again after this command, when time moves on).
            m.fork(now);
        }
        self.refresh_monitor();
        self.session.set_now(now);
        Ok(Applied { forked })
    }

    /// Goes to `t_ms`, backwards or forwards: replayed from the nearest checkpoint.
    ///
    /// # Errors
    /// A time past the limit, or a session that no longer replays.
    pub fn seek(&mut self, t_ms: u64) -> Result<(), EngineError> {
        let now = self.sim.now_ms();
        // Forward, a checkpoint past now saves replaying the stretch between.
        // (With a monitor, forward runs through: every moment on the way is sampled.)
        let jump = self.monitor.is_none()
            && self
                .checkpoints
                .latest_at_or_before(t_ms)
                .is_some_and(|c| c > now);
        if t_ms >= now && !jump {
            self.advance_to(t_ms);
            return Ok(());
        }
        self.sim = self.checkpoints.seek(&self.session, t_ms)?;
        self.next_command = self
            .session
            .commands
            .iter()
            .take_while(|(at, _)| *at <= t_ms)
            .count();
        self.refresh_monitor();
        self.session.set_now(t_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::{GroupId, MemberId};

    fn crash(member: u16) -> Command {
        Command::CrashConsumer {
            group: GroupId(0),
            consumer: MemberId(member),
        }
    }

    fn scenario() -> Scenario {
        Scenario::default().with_commit_mode("after-batch").unwrap()
    }

    #[test]
    fn playing_after_a_seek_back_replays_the_recorded_future() {
        let mut lab = Lab::fresh(scenario()).unwrap();
        lab.advance_to(12_000);
        lab.command(crash(0)).unwrap();
        lab.advance_to(30_000);
        let reference = lab.sim().trace_hash();
        lab.seek(5_000).unwrap();
        assert!(lab.has_future());
        lab.advance_to(30_000);
        assert_eq!(
            lab.sim().trace_hash(),
            reference,
            "the crash at 12 s was replayed"
        );
        // And a reload at 30 s is the same run.
        let reloaded = Lab::new(lab.session().clone()).unwrap();
        assert_eq!(reloaded.sim().trace_hash(), reference);
    }

    /// Many seeds, many seeks in both directions (checkpoint jumps included): each
    /// lands on exactly the state a replay from t = 0 reaches.
    #[test]
    fn seeks_in_any_order_equal_replaying_from_zero() {
        for seed in 1..=6 {
            let s = Scenario { seed, ..scenario() };
            let mut lab = Lab::fresh(s).unwrap();
            lab.advance_to(9_000);
            lab.command(crash(0)).unwrap();
            lab.advance_to(45_000);
            let mut rng = crate::engine::rng::Rng::new(seed);
            for _ in 0..8 {
                let t = rng.below(45_001);
                lab.seek(t).unwrap();
                let direct = lab.session().replay_to(t).unwrap();
                assert_eq!(
                    lab.sim().trace_hash(),
                    direct.trace_hash(),
                    "seed {seed}, t = {t}"
                );
                assert_eq!(lab.now_ms(), t);
            }
        }
    }

    #[test]
    fn acting_after_a_seek_back_forks_the_timeline() {
        let mut lab = Lab::fresh(scenario()).unwrap();
        lab.advance_to(12_000);
        lab.command(crash(0)).unwrap();
        lab.advance_to(20_000);
        lab.seek(6_000).unwrap();
        let applied = lab.command(crash(1)).unwrap();
        assert!(applied.forked);
        assert!(!lab.has_future());
        assert_eq!(lab.session().commands.len(), 1);
    }

    #[test]
    fn a_command_at_zero_replays_the_same_after_a_round_trip() {
        // A command given at t = 0 on a fresh lab: live, after a reload, and after a seek
        // there and back, one history.
        let mut lab = Lab::fresh(scenario()).unwrap();
        lab.command(Command::Produce {
            key: None,
            value: "x".into(),
            topic: crate::engine::ids::TopicId(0),
        })
        .unwrap();
        lab.advance_to(15_000);
        let live = lab.sim().trace_hash();
        let reloaded = Lab::new(lab.session().clone()).unwrap();
        assert_eq!(reloaded.sim().trace_hash(), live);
        lab.seek(0).unwrap();
        lab.advance_to(15_000);
        assert_eq!(lab.sim().trace_hash(), live);
    }

    #[test]
    fn stepping_and_a_command_mid_millisecond_equal_the_replay() {
        let mut lab = Lab::fresh(scenario()).unwrap();
        for _ in 0..40 {
            lab.step();
        }
        lab.command(crash(1)).unwrap();
        lab.advance_to(20_000);
        let live = lab.sim().trace_hash();
        let replay = lab.session().replay_to(20_000).unwrap();
        assert_eq!(replay.trace_hash(), live);
    }

    #[test]
    fn a_reset_is_a_fresh_load() {
        let a = Lab::fresh(scenario()).unwrap();
        let b = Lab::new(Session::new(scenario())).unwrap();
        assert_eq!(a.sim().trace_hash(), b.sim().trace_hash());
        assert_eq!(a.sim().event_count(), b.sim().event_count());
    }
}
