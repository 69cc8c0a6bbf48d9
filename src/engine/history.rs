//! Time travel and saved labs: a session is a scenario plus the commands the user gave,
//! each stamped with the virtual time it was given at. Replaying it from the seed gives
//! the same simulation, bit for bit, so seeking back is a rebuild, never a stored copy.

use super::error::EngineError;
use super::scenario::Scenario;
use super::sim::{Command, Sim};

/// The most commands a session records.
pub const MAX_COMMANDS: usize = 10_000;
/// The furthest a session may run, in virtual ms (one day).
pub const MAX_TIME_MS: u64 = 86_400_000;

/// A scenario, the user's commands, and where the user was in time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// What the lab started from.
    pub scenario: Scenario,
    /// `(at_ms, command)`, in the order they were given.
    pub commands: Vec<(u64, Command)>,
    /// The virtual time the user was at.
    pub now_ms: u64,
}

impl Session {
    /// A session with no commands yet.
    pub fn new(scenario: Scenario) -> Self {
        Session {
            scenario,
            commands: Vec::new(),
            now_ms: 0,
        }
    }

    /// Rebuilds the simulation at `t_ms`: the scenario, then each command at its time.
    ///
    /// # Errors
    /// An invalid scenario, or a time past [`MAX_TIME_MS`]. Commands the engine refuses
    /// are skipped, as they were when first given.
    pub fn replay_to(&self, t_ms: u64) -> Result<Sim, EngineError> {
        if t_ms > MAX_TIME_MS {
            return Err(EngineError::LimitExceeded {
                what: "ms of virtual time",
                limit: MAX_TIME_MS,
            });
        }
        let mut sim = self.scenario.build()?;
        for (at, command) in self.commands.iter().take_while(|(at, _)| *at <= t_ms) {
            sim.run_until(*at);
            let _ = sim.apply(command.clone());
        }
        sim.run_until(t_ms);
        Ok(sim)
    }

    /// Records a command given at `at_ms`. Commands after it (left over from before a seek
    /// back) are dropped: the timeline branches here.
    ///
    /// # Errors
    /// More than [`MAX_COMMANDS`] commands.
    pub fn record(&mut self, at_ms: u64, command: Command) -> Result<(), EngineError> {
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
        self.replay_to(self.now_ms).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_reaches_the_same_state_as_the_live_run() {
        let mut session =
            Session::new(Scenario::default().with_commit_mode("after-batch").unwrap());
        let mut live = session.scenario.build().unwrap();
        for (t, cmd) in [
            (
                5_000,
                Command::AddConsumer {
                    group: 0,
                    group_instance_id: None,
                },
            ),
            (
                12_000,
                Command::CrashConsumer {
                    group: 0,
                    consumer: 1,
                },
            ),
            (
                15_000,
                Command::Produce {
                    key: Some("order-42".into()),
                    value: "hi".into(),
                },
            ),
        ] {
            live.run_until(t);
            live.apply(cmd.clone()).unwrap();
            session.record(t, cmd).unwrap();
        }
        live.run_until(30_000);
        let replayed = session.replay_to(30_000).unwrap();
        assert_eq!(live.trace_hash(), replayed.trace_hash());
        // Seeking back and forward lands on the same state again.
        let back = session.replay_to(8_000).unwrap();
        assert!(back.now_ms() == 8_000 && back.trace_hash() != live.trace_hash());
        assert_eq!(
            session.replay_to(30_000).unwrap().trace_hash(),
            live.trace_hash()
        );
    }

    #[test]
    fn a_command_after_seeking_back_branches_the_timeline() {
        let mut s = Session::new(Scenario::default());
        s.record(
            10_000,
            Command::AddConsumer {
                group: 0,
                group_instance_id: None,
            },
        )
        .unwrap();
        s.record(
            4_000,
            Command::CrashConsumer {
                group: 0,
                consumer: 0,
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
            (5, Command::AddPartitions { total: 4 }),
            (1, Command::AddPartitions { total: 5 }),
        ];
        assert!(s.validate().is_err());
        s.commands.clear();
        s.now_ms = MAX_TIME_MS + 1;
        assert!(s.validate().is_err());
    }
}
