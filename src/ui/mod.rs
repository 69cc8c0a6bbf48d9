//! The Leptos UI. It renders what the engine produces and sends commands to it;
//! it decides no Kafka behaviour of its own.

mod app;
mod calculator;
mod config;
mod controls;
mod describe;
pub mod format;
mod group;
mod lanes;
mod ledger;
mod produce;
mod state;
mod swimlane;

pub use app::App;
pub use state::{LabState, STORAGE_KEY};
