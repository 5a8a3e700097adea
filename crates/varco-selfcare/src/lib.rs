//! SelfCare for Varco: Enti, products, users and roles, the "Crea Utente" rules,
//! and the identity token that opens an Interoperabilità environment.
//!
//! The pure parts (`codice_fiscale`, `email`, `model`, `rules`, `identity_token`)
//! know nothing of storage; `service` stores them (same database as the platform,
//! through the store's typed functions: no SQL here) and queues the notification
//! mails in an outbox, which `mailer` delivers over SMTP; `sessions` keeps the web
//! fronts' browser sessions. No HTTP here.

pub mod codice_fiscale;
pub mod demo;
pub mod email;
pub mod identity_token;
pub mod mailer;
pub mod model;
pub mod rules;
pub mod service;
pub mod sessions;
