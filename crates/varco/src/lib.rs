//! The `varco` binary's library half: starting the server (also used by the tests'
//! `spawn_app`), and the command-line tools.

pub mod app;
pub mod cli;
pub mod onboarding;
pub mod serve;
pub mod testkit;
