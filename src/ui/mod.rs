//! The Leptos UI. It renders the engine's read model (`engine::view`) and sends commands;
//! it decides no Kafka behaviour of its own.

mod app;
mod calculator;
mod cluster;
mod describe;
mod dock;
mod drawer;
mod effects;
mod files;
mod flights;
pub mod format;
mod frame;
mod groups;
pub mod layout;
mod levels;
mod metrics;
mod produce;
mod protocol;
mod seek;
mod setup;
mod skip;
pub mod stage;
mod state;
mod topbar;

pub use app::App;
pub use state::{parse_session, LabState, PREFS_KEY, STORAGE_KEY};
