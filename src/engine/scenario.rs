//! Scenarios are data: a setup the lab starts from. Building one gives a `Sim` with the
//! topic, a keyed producer and one consumer group, ready to run. The UI's setup panel and
//! the tests build labs the same way.

use super::config::{AutoOffsetReset, GroupConfig, ManualCommit, ProducerConfig};
use super::error::EngineError;
use super::producer::{KeySpace, Workload};
use super::sim::{Command, Sim};

/// What a lab starts with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scenario {
    /// The seed every random draw comes from.
    pub seed: u64,
    /// Partitions of topic `orders`.
    pub partitions: u32,
    /// The producer's rate, records per second.
    pub rate_per_sec: u32,
    /// How many distinct keys (`order-0` ...) the producer draws from.
    pub keys: u32,
    /// The group's configuration.
    pub group: GroupConfig,
    /// Consumers in the group at the start.
    pub consumers: u16,
    /// The producer's configuration.
    #[serde(default)]
    pub producer: ProducerConfig,
}

impl Default for Scenario {
    /// The classroom default: small and quick. Timeouts are shortened so a crash plays out
    /// in seconds (the UI says so next to each shortened value).
    fn default() -> Self {
        Scenario {
            seed: 42,
            partitions: 3,
            rate_per_sec: 12,
            keys: 12,
            group: GroupConfig {
                session_timeout_ms: 10_000,
                heartbeat_interval_ms: 1_000,
                max_poll_records: 20,
                auto_offset_reset: AutoOffsetReset::Earliest,
                processing_ms: 100,
                ..GroupConfig::default()
            },
            consumers: 2,
            producer: ProducerConfig::default(),
        }
    }
}

impl Scenario {
    /// The default with a commit mode: `auto`, `before-processing`, `after-each-record`
    /// or `after-batch`.
    ///
    /// # Errors
    /// An unknown mode.
    pub fn with_commit_mode(mut self, mode: &str) -> Result<Self, EngineError> {
        self.group.set("commit.mode", mode)?;
        Ok(self)
    }

    /// Sets one setting by name: a lab setting (`partitions`, `rate`, `keys`, `consumers`,
    /// `seed`), a consumer config, or a producer config. On error nothing changes.
    ///
    /// # Errors
    /// An unknown name or an invalid value, naming the setting.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EngineError> {
        let v = value.trim();
        let number = |min: u64, max: u64| -> Result<u64, EngineError> {
            let n: u64 = v.parse().map_err(|_| EngineError::InvalidConfig {
                name: name.to_owned(),
                reason: format!("`{v}` is not a whole number"),
            })?;
            if n < min || n > max {
                return Err(EngineError::InvalidConfig {
                    name: name.to_owned(),
                    reason: format!("must be between {min} and {max}"),
                });
            }
            Ok(n)
        };
        match name {
            "partitions" => {
                self.partitions = number(1, u64::from(super::topic::MAX_PARTITIONS))? as u32
            }
            "rate" => self.rate_per_sec = number(1, 10_000)? as u32,
            "keys" => self.keys = number(1, 10_000)? as u32,
            "consumers" => {
                self.consumers = number(0, super::group::MAX_CONSUMERS_PER_GROUP as u64)? as u16
            }
            "seed" => self.seed = number(0, u64::MAX)?,
            _ if name.starts_with("producer.") => {
                self.producer.set(&name["producer.".len()..], v)?
            }
            _ => self.group.set(name, v)?,
        }
        Ok(())
    }

    /// The commit mode's name, as [`Self::with_commit_mode`] takes it.
    pub fn commit_mode(&self) -> &'static str {
        match self.group.manual_commit {
            ManualCommit::Off => "auto",
            ManualCommit::BeforeProcessing => "before-processing",
            ManualCommit::AfterEachRecord => "after-each-record",
            ManualCommit::AfterBatch => "after-batch",
        }
    }

    /// Builds the lab: topic `orders`, producer 1 with the workload, group `payments`.
    ///
    /// # Errors
    /// Any value out of range (partitions, rate, keys, consumers, group config).
    pub fn build(&self) -> Result<Sim, EngineError> {
        let mut sim = Sim::new("orders", self.partitions, self.seed)?;
        sim.apply(Command::AddGroup {
            group_id: "payments".into(),
            config: self.group.clone(),
        })?;
        for _ in 0..self.consumers {
            sim.apply(Command::AddConsumer {
                group: 0,
                group_instance_id: None,
            })?;
        }
        sim.apply(Command::AddProducer {
            config: self.producer.clone(),
            workload: Some(Workload {
                rate_per_sec: self.rate_per_sec,
                key_space: KeySpace::Uniform {
                    prefix: "order-".into(),
                    count: self.keys,
                },
                payload_bytes: 100,
            }),
        })?;
        Ok(sim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI walkthroughs rely on these outcomes: crash c1 at t=10 s, look at t=40 s.
    fn crash_at_10s(mode: &str) -> super::super::ledger::Totals {
        let mut sim = Scenario::default()
            .with_commit_mode(mode)
            .unwrap()
            .build()
            .unwrap();
        sim.run_until(10_000);
        sim.apply(Command::CrashConsumer {
            group: 0,
            consumer: 0,
        })
        .unwrap();
        sim.run_until(40_000);
        sim.totals(0).unwrap()
    }

    #[test]
    fn after_batch_crash_duplicates() {
        let t = crash_at_10s("after-batch");
        assert!(t.duplicate > 0 && t.lost == 0, "{t:?}");
    }

    #[test]
    fn before_processing_crash_loses() {
        let t = crash_at_10s("before-processing");
        assert!(t.lost > 0 && t.duplicate == 0, "{t:?}");
    }

    #[test]
    fn settings_by_name_validate_and_refuse_without_change() {
        let mut s = Scenario::default();
        s.set("producer.acks", "1").unwrap();
        s.set("session.timeout.ms", "12000").unwrap();
        s.set("partitions", "6").unwrap();
        assert_eq!((s.partitions, s.group.session_timeout_ms), (6, 12_000));
        let before = s.clone();
        for (name, value) in [
            ("partitions", "65"),
            ("producer.acks", "2"),
            ("max.poll.records", "x"),
            ("nope", "1"),
        ] {
            let err = s.set(name, value).unwrap_err();
            assert!(
                err.to_string()
                    .contains(name.trim_start_matches("producer.")),
                "{err}"
            );
        }
        assert_eq!(s, before);
        assert!(s.build().is_ok());
    }

    #[test]
    fn bad_mode_is_refused() {
        assert!(Scenario::default().with_commit_mode("sometimes").is_err());
    }
}
