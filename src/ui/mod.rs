//! The Leptos UI. It renders what the engine produces and sends commands to it;
//! it decides no Kafka behaviour of its own.

mod app;
pub mod format;
mod lanes;
mod produce;
mod state;

pub use app::App;
pub use state::LabState;
