//! SelfCare-side domain helpers for Varco.
//!
//! Kept in its own crate so that identity checks (who may act for an
//! institution) can be reused by the web layer and the CLI without pulling
//! in storage or HTTP dependencies.

pub mod codice_fiscale;
pub mod email;
pub mod identity_token;
pub mod model;
pub mod rules;
