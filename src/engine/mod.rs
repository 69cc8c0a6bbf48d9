//! The simulated Kafka: pure, deterministic Rust with no web dependency.
//!
//! [`Sim`] (the kernel, `sim.rs`) drives time and hands messages and timers to the actors
//! that own them: the broker (`broker.rs`), its group coordinator (`coordinator.rs`), the
//! consumer client (`consumer.rs`) and the producer client (`producer.rs`). They talk only
//! through messages (`msg.rs`) carried by the network (`net.rs`). The ledger (`ledger.rs`)
//! watches the events; the read model (`view.rs`) is what the UI shows.
//!
//! Same scenario, seed and commands give the same events, bit for bit: time is virtual,
//! every random draw goes through [`rng::Rng`], and every collection that reaches output
//! iterates in a stable order.

pub mod accumulator;
pub mod actor;
pub mod assignor;
pub mod broker;
pub mod checks;
pub mod chunked;
pub mod cleaner;
pub mod cluster;
pub mod command;
pub mod config;
pub mod consumer;
pub mod controller;
pub mod coordinator;
pub mod database;
pub mod error;
pub mod event;
pub mod explain;
pub mod ids;
pub mod inspect;
pub mod invariants;
pub mod keys;
pub mod ledger;
pub mod log;
pub mod msg;
pub mod net;
pub mod partitioner;
pub mod placement;
pub mod producer;
pub mod record;
pub mod replication;
pub mod rng;
pub mod sim;
pub mod sort;
pub mod table;
pub mod value;
pub mod vecmap;
pub mod view;
pub mod world;

pub use command::{Command, SeekTo};
pub use sim::{Appended, Sim};
pub use world::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
