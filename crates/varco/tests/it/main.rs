//! The `varco` crate's black-box tests, in one test binary: each file of this
//! directory is a module, and `common/` and `pdnd_schema/` are their shared helpers.
//! One binary instead of one per file: the whole stack is linked once, which is
//! most of the time a test run takes to build.
//!
//! Run a single file's tests with its module name as the filter, e.g.
//! `cargo test -p varco --test it token_refusals::`.

mod common;
mod pdnd_schema;

mod api_authz;
mod api_v2;
mod api_v2_agreements;
mod api_v2_clients;
mod api_v2_eservice_writes;
mod api_v2_purposes;
mod api_v3;
mod audiences;
mod bad_input;
mod bo_authz;
mod bo_client;
mod bo_client_admin;
mod bo_ente;
mod bo_erogazione;
mod bo_finalita;
mod bo_fruizione;
mod bo_ricevute;
mod bo_session;
mod bo_simulatore;
mod bo_tool;
mod browser_walk;
mod cli_ente;
mod cli_walk;
mod hardening;
mod independent_jose;
mod journey_http;
mod oidc_login;
mod openapi_doc;
mod platform_backends;
mod producer_side;
mod producer_walk;
mod revocation;
mod risk_analysis;
mod schemathesis;
mod selfcare_access;
mod selfcare_users;
mod signing_keys;
mod smtp;
mod token_refusals;
