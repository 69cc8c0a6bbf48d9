//! Kafka Lab: an in-browser laboratory that makes Apache Kafka's behaviour visible.
//!
//! - [`engine`] is a deterministic simulation of Kafka in pure Rust (no web dependency).
//! - [`ui`] renders the engine with Leptos; it holds no Kafka logic.
//!
//! See ARCHITECTURE.md for the codemap and the invariants.

// Every public item is documented; clippy -D warnings turns a gap into a failure.
#![warn(missing_docs)]

pub mod engine;
pub mod lab;
pub mod ui;
