//! The Interoperabilità domain of Varco.
//!
//! This crate knows nothing of HTTP, SQL or the clock: every function takes what it
//! needs (including "now") as arguments, so that every state change can be tested
//! exhaustively and replayed. Storage and protocol front ends live in other crates.

pub mod clock;
pub mod env;
pub mod error;
pub mod event;
pub mod ids;
pub mod model;

pub mod agreement;
pub mod eservice;
pub mod purpose;
pub mod risk_analysis;

pub use env::Env;
pub use error::DomainError;
pub use ids::*;
pub use model::*;
