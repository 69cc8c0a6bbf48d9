//! Time travel and saved labs: a session is a scenario plus the commands the user gave,
//! each stamped with the virtual time it was given at. Replaying it from the seed gives
//! the same simulation, bit for bit. Checkpoints (RaftScope's idea) make a seek replay
//! only from the nearest snapshot before it; replay stays the source of truth.

use super::scenario::Scenario;
use crate::engine::command::Command;
use crate::engine::error::EngineError;
use crate::engine::sim::Sim;

/// The most commands a session records.
pub const MAX_COMMANDS: usize = 10_000;
pub use crate::engine::sim::MAX_TIME_MS;
/// Virtual time between checkpoints, at first (it doubles when they get too many).
pub const CHECKPOINT_EVERY_MS: u64 = 10_000;
/// The most checkpoints kept; past it, every other one goes and the spacing doubles.
pub const MAX_CHECKPOINTS: usize = 32;

/// A scenario, the user's commands, and where the user was in time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// What the lab started from.
    pub scenario: Scenario,
    /// `(at_ms, command)`, in time order. Each runs after everything else at its time.
    pub commands: Vec<(u64, Command)>,
    /// The virtual time the user was at.
    pub now_ms: u64,
    /// The furthest time this history has been run to (the timeline's end after a seek
    /// back). Cut to the fork's time when a command in the past replaces the future.
    #[serde(default)]
    pub furthest_ms: u64,
}

impl Session {
    /// A session with no commands yet.
    pub fn new(scenario: Scenario) -> Self {
        Session {
            scenario,
            commands: Vec::new(),
            now_ms: 0,
            furthest_ms: 0,
        }
    }

    /// The furthest recorded moment: the user's time or the last command's.
    pub fn horizon_ms(&self) -> u64 {
        self.now_ms
            .max(self.furthest_ms)
            .max(self.commands.last().map_or(0, |c| c.0))
    }

    /// Moves the user's time to `t_ms`, remembering how far the history reaches.
    pub fn set_now(&mut self, t_ms: u64) {
        self.now_ms = t_ms;
        self.furthest_ms = self.furthest_ms.max(t_ms);
    }

    /// Rebuilds the simulation at `t_ms` from the seed: the scenario, then each command at
    /// its time.
    ///
    /// # Errors
    /// An invalid scenario, or a time past [`MAX_TIME_MS`]. Commands the engine refuses
    /// are skipped, as they were when first given (and counted by the simulation).
    pub fn replay_to(&self, t_ms: u64) -> Result<Sim, EngineError> {
        check_time(t_ms)?;
        let mut sim = self.scenario.build()?;
        run_commands(&mut sim, &self.commands, 0, t_ms);
        Ok(sim)
    }

    /// Records a command given at `at_ms`. Commands after it (left over from before a seek
    /// back) are dropped: the timeline forks here.
    ///
    /// # Errors
    /// More than [`MAX_COMMANDS`] commands.
    pub fn record(&mut self, at_ms: u64, command: Command) -> Result<(), EngineError> {
        // Acting in the past replaces what came after: the timeline ends here now.
        self.furthest_ms = self.furthest_ms.min(at_ms);
        self.commands.retain(|(t, _)| *t <= at_ms);
        if self.commands.len() >= MAX_COMMANDS {
            return Err(EngineError::LimitExceeded {
                what: "recorded actions",
                limit: MAX_COMMANDS as u64,
            });
        }
        self.commands.push((at_ms, command));
        Ok(())
    }

    /// True when commands lie after `t_ms` (a recorded future a fork would cut).
    pub fn has_future(&self, t_ms: u64) -> bool {
        self.commands.iter().any(|(t, _)| *t > t_ms)
    }

    /// Checks a session read from storage or a link: it must build and replay.
    ///
    /// # Errors
    /// Whatever makes it unusable, in words.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.commands.len() > MAX_COMMANDS {
            return Err(EngineError::LimitExceeded {
                what: "recorded actions",
                limit: MAX_COMMANDS as u64,
            });
        }
        if self.commands.windows(2).any(|w| w[0].0 > w[1].0) {
            return Err(EngineError::InvalidCommand(
                "the recorded actions are out of time order".into(),
            ));
        }
        check_time(self.horizon_ms())?;
        self.replay_to(self.now_ms).map(|_| ())
    }
}

/// The most records a run opened from a link or a file may produce before its moment. About
/// 1.5 s of replay and 360 MB in a browser tab; a run someone shares is far smaller (the
/// classroom default makes 12 a second).
pub const MAX_OPEN_RECORDS: u64 = 5_000_000;

impl Session {
    /// An upper bound on the records produced by `t_ms`: every producer at its full rate,
    /// from the moment it is added or its workload changes, plus each record sent by hand.
    /// Cheap (no replay), so a shared run can be refused before it freezes the page.
    pub fn records_bound_at(&self, t_ms: u64) -> u64 {
        let mut timed: Vec<(u64, &Command)> = self.scenario.setup.iter().map(|c| (0, c)).collect();
        timed.extend(self.scenario.rig.iter().map(|(t, c)| (*t, c)));
        timed.extend(self.commands.iter().map(|(t, c)| (*t, c)));
        crate::engine::sort::sort_by_key(&mut timed, |(t, _)| *t);
        // Producer 0 is the scenario's own; its workload runs from t = 0.
        let mut rates: Vec<u64> = vec![u64::from(self.scenario.rate_per_sec)];
        let (mut total, mut last_ms) = (0u128, 0u64);
        let run = |rates: &[u64], from: u64, to: u64| {
            let per_sec: u128 = rates.iter().map(|r| u128::from(*r)).sum();
            // Rounded up: a producer may send its first record at once.
            per_sec * u128::from(to - from) / 1000 + rates.len() as u128
        };
        for (at, command) in timed.into_iter().filter(|(at, _)| *at <= t_ms) {
            total += run(&rates, last_ms, at);
            last_ms = at;
            let rate = |w: &Option<crate::engine::producer::Workload>| {
                w.as_ref().map_or(0, |w| u64::from(w.rate_per_sec))
            };
            match command {
                Command::AddProducer { workload, .. } => rates.push(rate(workload)),
                Command::SetWorkload { producer, workload } => {
                    if let Some(r) = rates.get_mut(producer.index()) {
                        *r = rate(workload);
                    }
                }
                Command::Produce { .. } | Command::Send { .. } => total += 1,
                Command::ProduceRandomOrders { count, .. } => total += u128::from(*count),
                _ => {}
            }
        }
        total += run(&rates, last_ms, t_ms.max(last_ms));
        u64::try_from(total).unwrap_or(u64::MAX)
    }

    /// Refuses a shared run (a link or a file) too heavy to open in a browser tab, before
    /// any replay: more than [`MAX_OPEN_RECORDS`] records could be produced by its moment.
    ///
    /// # Errors
    /// The bound and the limit, in words.
    pub fn check_openable(&self) -> Result<(), EngineError> {
        let t = self.now_ms.max(self.furthest_ms).min(MAX_TIME_MS);
        let bound = self.records_bound_at(t);
        if bound > MAX_OPEN_RECORDS {
            return Err(EngineError::InvalidCommand(format!(
                "this run could produce up to {bound} records by t = {} s, more than a browser \
                 tab opens from a link or a file ({MAX_OPEN_RECORDS})",
                t / 1000
            )));
        }
        Ok(())
    }
}

impl Session {
    /// Refuses a skip ahead to `t_ms` that could take the run past [`MAX_OPEN_RECORDS`]
    /// records (a week of the classroom default is 7 million): the tab would run out of
    /// memory, and the run could no longer be shared.
    ///
    /// # Errors
    /// The bound, the limit and the way out, in words.
    pub fn check_skip(&self, t_ms: u64) -> Result<(), EngineError> {
        let bound = self.records_bound_at(t_ms.min(MAX_TIME_MS));
        if bound > MAX_OPEN_RECORDS {
            return Err(EngineError::InvalidCommand(format!(
                "skipping to t = {} could produce up to {bound} records, more than a browser tab \
                 holds ({MAX_OPEN_RECORDS}): lower the producers' rate or stop them first",
                crate::engine::explain::duration(t_ms)
            )));
        }
        Ok(())
    }
}

fn check_time(t_ms: u64) -> Result<(), EngineError> {
    if t_ms > MAX_TIME_MS {
        return Err(EngineError::LimitExceeded {
            what: "ms of virtual time",
            limit: MAX_TIME_MS,
        });
    }
    Ok(())
}

/// Applies the commands with `from_ms <= at <= t_ms` in order, each after everything else
/// scheduled at its time, then runs to `t_ms`.
fn run_commands(sim: &mut Sim, commands: &[(u64, Command)], from_ms: u64, t_ms: u64) {
    for (at, command) in commands
        .iter()
        .filter(|(at, _)| *at >= from_ms)
        .take_while(|(at, _)| *at <= t_ms)
    {
        sim.run_until(*at);
        // A refusal is recorded by the simulation (CommandRefused); replay goes on.
        sim.schedule_command(*at, command.clone());
        sim.run_until(*at);
    }
    sim.run_until(t_ms);
}

/// Snapshots of a session's simulation at regular virtual times. Each is the state after
/// everything scheduled at its time and before the commands recorded at that time.
#[derive(Clone, Debug, Default)]
pub struct Checkpoints {
    points: Vec<(u64, Sim)>,
    every_ms: u64,
}

impl Checkpoints {
    /// No checkpoints yet.
    pub fn new() -> Self {
        Checkpoints {
            points: Vec::new(),
            every_ms: CHECKPOINT_EVERY_MS,
        }
    }

    /// How many are kept, and their spacing.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when none are kept.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The virtual times of the kept checkpoints.
    pub fn times(&self) -> Vec<u64> {
        self.points.iter().map(|(t, _)| *t).collect()
    }

    /// Distinct bytes the checkpoints hold beyond what they share with each other (and
    /// the live engine): the sum of their shares of the big arrays.
    pub fn memory_bytes(&self) -> usize {
        self.points.iter().map(|(_, s)| s.memory().2).sum()
    }

    /// Forgets checkpoints after `t_ms` (the timeline forked there).
    pub fn fork(&mut self, t_ms: u64) {
        self.points.retain(|(t, _)| *t <= t_ms);
    }

    fn keep(&mut self, t_ms: u64, sim: &Sim) {
        if self.points.last().is_some_and(|(t, _)| *t >= t_ms) {
            return;
        }
        self.points.push((t_ms, sim.clone()));
        if self.points.len() > MAX_CHECKPOINTS {
            // Keep every other one: the spacing doubles, memory stays bounded.
            self.every_ms *= 2;
            let every = self.every_ms;
            self.points.retain(|(t, _)| t % every == 0);
        }
    }

    /// The simulation of `session` at `t_ms`, replayed from the nearest checkpoint at or
    /// before it, keeping new checkpoints on the way.
    ///
    /// # Errors
    /// As [`Session::replay_to`].
    pub fn seek(&mut self, session: &Session, t_ms: u64) -> Result<Sim, EngineError> {
        check_time(t_ms)?;
        let (mut sim, mut from) = match self.points.iter().rev().find(|(t, _)| *t <= t_ms) {
            Some((t, s)) => (s.clone(), *t),
            None => {
                let sim = session.scenario.build()?;
                self.keep(0, &sim);
                (sim, 0)
            }
        };
        loop {
            let next = (from / self.every_ms + 1) * self.every_ms;
            if next > t_ms {
                break;
            }
            run_commands(&mut sim, &session.commands, from, next.saturating_sub(1));
            // Commands exactly at `next` come after the checkpoint.
            sim.run_until(next);
            self.keep(next, &sim);
            from = next;
        }
        run_commands(&mut sim, &session.commands, from, t_ms);
        Ok(sim)
    }

    /// Keeps a checkpoint of a live simulation that just reached a checkpoint time
    /// (before the commands recorded at that time).
    pub fn offer(&mut self, sim: &Sim) {
        let t = sim.now_ms();
        if t.is_multiple_of(self.every_ms) {
            self.keep(t, sim);
        }
    }

    /// The time of the latest checkpoint at or before `t_ms`, if any.
    pub fn latest_at_or_before(&self, t_ms: u64) -> Option<u64> {
        self.points
            .iter()
            .rev()
            .map(|(t, _)| *t)
            .find(|t| *t <= t_ms)
    }

    /// The next checkpoint time after `t_ms`.
    pub fn next_after(&self, t_ms: u64) -> u64 {
        (t_ms / self.every_ms + 1) * self.every_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::{GroupId, MemberId, TopicId};

    fn session() -> Session {
        let mut s = Session::new(Scenario::default().with_commit_mode("after-batch").unwrap());
        for (t, cmd) in [
            (
                5_000,
                Command::AddConsumer {
                    group: GroupId(0),
                    group_instance_id: None,
                },
            ),
            (
                12_000,
                Command::CrashConsumer {
                    group: GroupId(0),
                    consumer: MemberId(1),
                },
            ),
            (
                20_000,
                Command::Produce {
                    key: Some("order-42".into()),
                    value: "hi".into(),
                    topic: TopicId(0),
                },
            ),
        ] {
            s.record(t, cmd).unwrap();
        }
        s
    }

    #[test]
    fn replay_reaches_the_same_state_as_the_live_run() {
        let s = session();
        let mut live = s.scenario.build().unwrap();
        for (t, cmd) in &s.commands {
            live.run_until(*t);
            live.apply(cmd.clone()).unwrap();
        }
        live.run_until(30_000);
        let replayed = s.replay_to(30_000).unwrap();
        assert_eq!(live.trace_hash(), replayed.trace_hash());
    }

    /// The bound never undercounts (checked against a replay), and a run that would flood
    /// a browser tab is refused before anything is replayed.
    #[test]
    fn a_shared_run_too_heavy_to_open_is_refused_before_replay() {
        use crate::engine::config::ProducerConfig;
        use crate::engine::producer::{KeySpace, Workload};
        let mut s = session();
        s.record(
            12_000,
            Command::AddProducer {
                config: ProducerConfig::default(),
                workload: Some(Workload {
                    rate_per_sec: 500,
                    key_space: KeySpace::Uniform {
                        prefix: "k-".into(),
                        count: 10,
                    },
                    payload_bytes: 10,
                    topic: TopicId(0),
                }),
            },
        )
        .unwrap();
        s.record(
            15_000,
            Command::SetWorkload {
                producer: crate::engine::ids::ProducerId(1),
                workload: None,
            },
        )
        .unwrap();
        s.now_ms = 40_000;
        let produced = crate::engine::view::metrics(&s.replay_to(40_000).unwrap()).produced;
        let bound = s.records_bound_at(40_000);
        // 12/s for 40 s and 500/s for 3 s, plus rounding: a bound, and a tight one.
        assert!(
            produced <= bound && bound <= 12 * 40 + 500 * 3 + 10,
            "{produced} vs {bound}"
        );
        assert!(s.check_openable().is_ok());

        let mut heavy = Session::new(Scenario::default());
        heavy.scenario.set("rate", "10000").unwrap();
        heavy.now_ms = MAX_TIME_MS;
        let e = heavy.check_openable().unwrap_err().to_string();
        assert!(e.contains("691200") && e.contains("5000000"), "{e}");
    }

    /// A week of the classroom default (12 records/s) is refused before it runs, with the
    /// bound and the way out; an hour of it, or a week once the producer stopped, is not.
    #[test]
    fn a_skip_that_would_overfill_the_tab_is_refused() {
        let mut s = Session::new(Scenario::default());
        let week = 7 * 86_400_000;
        let e = s.check_skip(week).unwrap_err().to_string();
        assert!(
            e.contains("7257601") && e.contains("t = 7 d") && e.contains("stop them"),
            "{e}"
        );
        assert!(s.check_skip(3_600_000).is_ok());
        s.commands.push((
            60_000,
            Command::SetWorkload {
                producer: crate::engine::ids::ProducerId(0),
                workload: None,
            },
        ));
        assert!(s.check_skip(week).is_ok());
    }

    #[test]
    fn seeking_through_checkpoints_equals_replaying_from_zero() {
        let s = session();
        let mut cps = Checkpoints::new();
        for t in [35_000, 7_000, 20_000, 10_000, 0, 33_333, 12_000] {
            let via = cps.seek(&s, t).unwrap();
            let direct = s.replay_to(t).unwrap();
            assert_eq!(via.trace_hash(), direct.trace_hash(), "t = {t}");
            assert_eq!(via.now_ms(), t);
        }
        assert!(cps.len() >= 4, "{:?}", cps.times());
        cps.fork(15_000);
        assert!(cps.times().iter().all(|&t| t <= 15_000));
    }

    #[test]
    fn a_command_after_seeking_back_forks_the_timeline() {
        let mut s = Session::new(Scenario::default());
        s.record(
            10_000,
            Command::AddConsumer {
                group: GroupId(0),
                group_instance_id: None,
            },
        )
        .unwrap();
        assert!(s.has_future(4_000));
        s.record(
            4_000,
            Command::CrashConsumer {
                group: GroupId(0),
                consumer: MemberId(0),
            },
        )
        .unwrap();
        assert_eq!(s.commands.len(), 1);
        assert_eq!(s.commands[0].0, 4_000);
    }

    #[test]
    fn unusable_sessions_are_refused() {
        let mut s = Session::new(Scenario {
            partitions: 0,
            ..Scenario::default()
        });
        assert!(s.validate().is_err());
        s = Session::new(Scenario::default());
        s.commands = vec![
            (
                5,
                Command::AddPartitions {
                    total: 4,
                    topic: TopicId(0),
                },
            ),
            (
                1,
                Command::AddPartitions {
                    total: 5,
                    topic: TopicId(0),
                },
            ),
        ];
        assert!(s.validate().is_err());
        s.commands.clear();
        s.now_ms = MAX_TIME_MS + 1;
        assert!(s.validate().is_err());
    }
}
