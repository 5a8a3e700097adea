// Handlers return `Result<_, Problem>`: the error is answered at once, on the cold
// path, so its size does not matter and boxing it would only add noise.
#![allow(clippy::result_large_err)]
//! Varco's HTTP front end. Handlers are thin: they parse the request, call the
//! platform or the token server, and map the result; errors become HTTP in one
//! place (`problem`).

pub mod api;
mod assets;
pub mod backoffice;
pub mod pages;
mod problem;
pub mod selfcare;
pub mod session;
mod token;

pub use problem::Problem;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use varco_domain::Env;
use varco_jose::{RsaPrivateKey, RsaPublicKey};
use varco_platform::Platform;
use varco_selfcare::service::SelfCare;
use varco_token::TokenServer;

#[derive(Clone)]
pub struct AppState {
    pub platform: Platform,
    pub token: Arc<TokenServer>,
    pub selfcare: SelfCare,
    pub web: Arc<WebConfig>,
}

/// What the pages need besides the services.
pub struct WebConfig {
    /// Production mode: no demo identity provider.
    pub production: bool,
    /// Cookies get `Secure` when Varco is served over https.
    pub secure_cookies: bool,
    /// `iss` of SelfCare's identity tokens.
    pub selfcare_issuer: String,
    /// SelfCare's public URL (scheme, host, port), e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// SelfCare's key for identity tokens, parsed once.
    pub selfcare_key: RsaPrivateKey,
    pub selfcare_public: RsaPublicKey,
    /// The OpenID Connect provider for SPID/CIE, when configured.
    pub oidc: Option<selfcare::oidc::OidcClient>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/interop/{env}/token.oauth2", post(token::token))
        .route("/interop/{env}/.well-known/jwks.json", get(jwks))
        .route("/interop/{env}/.well-known/varco.json", get(discovery))
        .merge(backoffice::routes())
        .merge(selfcare::routes())
        .merge(api::routes())
        .merge(assets::routes())
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such resource") })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Pages may not be framed by other sites (clickjacking of their forms), and
/// nothing — a token in a URL, an Ente's id — leaks to other sites by Referer.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.entry(header::X_FRAME_OPTIONS).or_insert(header::HeaderValue::from_static("DENY"));
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(header::HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(header::HeaderValue::from_static("same-origin"));
    r
}

/// Parses the `{env}` path segment; an unknown environment is a 404.
pub fn parse_env(s: &str) -> Result<Env, Problem> {
    // Only the canonical slug: the CLI's aliases ("uat", "prod") and other spellings
    // are not paths of this server (the DPoP htu and the issuers use the slug).
    s.parse::<Env>().ok().filter(|e| e.slug() == s).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("unknown environment {s:?}: produzione, collaudo or attestazione"),
        )
    })
}

async fn jwks(State(s): State<AppState>, Path(env): Path<String>) -> Result<Response, Problem> {
    let env = parse_env(&env)?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(s.token.jwks(env))).into_response())
}

/// Everything a program needs to talk to one environment.
async fn discovery(State(s): State<AppState>, Path(env): Path<String>) -> Result<Response, Problem> {
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

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: pages::Layout,
    /// Label, back office, token endpoint, JWKS, client-assertion audience.
    envs: Vec<(String, String, String, String, String)>,
}

/// The front page: the way in (Area Riservata) and each environment's endpoints.
async fn home(State(s): State<AppState>) -> Result<Response, pages::PageError> {
    let envs = Env::ALL
        .iter()
        .map(|&env| {
            let c = s.platform.config(env);
            (
                env.label().to_string(),
                format!("/interop/{}/", env.slug()),
                c.token_url.clone(),
                c.jwks_url.clone(),
                c.client_assertion_audience.clone(),
            )
        })
        .collect();
    let layout = pages::Layout { brand_href: "/".into(), ..pages::Layout::selfcare("Varco", !s.web.production) };
    pages::render(&HomePage { layout, envs })
}
