// Handlers return `Result<_, Problem>`: the error is answered at once, on the cold
// path, so its size does not matter and boxing it would only add noise.
#![allow(clippy::result_large_err)]
//! Varco's machine front: what programs call. The machine API of each
//! environment (v2, v3; `api`), its OpenAPI document, the token endpoint
//! (`token`), the JWKS and discovery documents under `.well-known`, and
//! `/healthz`. Handlers are thin: they parse the request, call the platform or
//! the token server, and map the result; errors become problems through
//! `varco_http`.

pub mod api;
mod token;

pub use varco_http::Problem;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use varco_http::parse_env;
use varco_platform::Platform;
use varco_token::TokenServer;

/// What the machine front needs: the platform (its reads and writes, and each
/// environment's configuration) and the token server.
#[derive(Clone)]
pub struct ApiState {
    pub platform: Platform,
    pub token: Arc<TokenServer>,
}

/// The routes of the machine front, for every environment.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/interop/{env}/token.oauth2", post(token::token))
        .route("/interop/{env}/.well-known/jwks.json", get(jwks))
        .route("/interop/{env}/.well-known/varco.json", get(discovery))
        .merge(api::routes())
        .with_state(state)
}

async fn jwks(State(s): State<ApiState>, Path(env): Path<String>) -> Result<Response, Problem> {
    let env = parse_env(&env)?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(s.token.jwks(env))).into_response())
}

/// Everything a program needs to talk to one environment.
async fn discovery(State(s): State<ApiState>, Path(env): Path<String>) -> Result<Response, Problem> {
    let env = parse_env(&env)?;
    let c = s.platform.config(env);
    Ok(Json(serde_json::json!({
        "environment": env.slug(),
        "label": env.label(),
        "selfcareProduct": varco_selfcare::model::ProductId::of_env(env).as_str(),
        "tokenEndpoint": c.token_url,
        "jwksUri": c.jwks_url,
        "issuer": c.issuer,
        "clientAssertionAudience": c.client_assertion_audience,
        "m2mAudience": c.m2m_audience,
        "apiV2": c.api_v2_url,
        "apiV3": c.api_v3_url,
        "backOffice": format!("{}/", c.base_url),
    }))
    .into_response())
}
