// Handlers return `Result<_, PageError>`: the error is rendered at once, on the
// cold path (an error page, a redirect), so its size does not matter.
#![allow(clippy::result_large_err)]
//! Varco's pages: what people use in a browser. SelfCare's Area Riservata
//! (`selfcare`: login, OpenID Connect, the choice of Ente, the Ente's users and
//! the way into each environment), the back office of each environment
//! (`backoffice`), the front page, and the static files (`assets`). Handlers are
//! thin: they check the session (`session`), call `varco_selfcare` or the
//! platform, and render an askama template (`templates/`); their one error type
//! becomes an error page in one place (`pages`).

mod assets;
pub mod backoffice;
pub mod pages;
pub mod selfcare;
pub mod session;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use varco_domain::Env;
use varco_jose::{RsaPrivateKey, RsaPublicKey};
use varco_platform::Platform;
use varco_selfcare::service::SelfCare;

/// What the pages need: SelfCare, the platform (each environment's
/// configuration and tenants), and their own configuration.
#[derive(Clone)]
pub struct PagesState {
    pub platform: Platform,
    pub selfcare: SelfCare,
    /// The token server, for "Tool per lo sviluppo" (the debug of a client
    /// assertion is decided by the same checks as the token endpoint).
    pub token: Arc<varco_token::TokenServer>,
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

/// The routes of the pages: the front page, SelfCare, every environment's back
/// office, the static files.
pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/", get(home))
        .merge(backoffice::routes())
        .merge(selfcare::routes())
        .fallback(fallback)
        // Pages carry personal data and form tokens: no cache keeps them.
        .layer(axum::middleware::map_response(no_store))
        .merge(assets::routes())
        .with_state(state)
}

async fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    r
}

/// The answer to a path no route serves: under SelfCare and the back offices, a
/// page (in the signed-in person's frame); elsewhere, and for the machine paths of
/// an environment (API, token endpoint, `.well-known`, the OpenAPI document), the
/// problem+json of the server.
async fn fallback(State(state): State<PagesState>, uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    let missing = || pages::PageError::not_found("La pagina richiesta");
    if let Some(rest) = path.strip_prefix("/interop/") {
        let (env, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let machine = tail.starts_with("api/")
            || tail == "token.oauth2"
            || tail.starts_with(".well-known/")
            || tail == "openapi.json";
        if !machine {
            let e = match backoffice::frame::Bo::enter(&state, &headers, env).await {
                Ok(bo) => bo.err(&state, missing()),
                Err(_) => missing().back(&format!("/interop/{env}/"), "Torna alla home"),
            };
            return e.into_response();
        }
    } else if path == "/selfcare" || path.starts_with("/selfcare/") {
        let e =
            match session::load::<selfcare::ScIdentity>(&state, &headers, "selfcare", session::SELFCARE_COOKIE).await {
                Ok(Some(s)) => {
                    let layout = selfcare::ScUser(s).layout("Pagina non trovata", &state);
                    missing().with_layout(layout)
                }
                _ => missing(),
            };
        return e.into_response();
    }
    varco_http::not_found().await.into_response()
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: pages::Layout,
    /// Label, back office, token endpoint, JWKS, client-assertion audience.
    envs: Vec<(String, String, String, String, String)>,
}

/// The front page: the way in (Area Riservata) and each environment's endpoints.
async fn home(State(s): State<PagesState>) -> Result<Response, pages::PageError> {
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
