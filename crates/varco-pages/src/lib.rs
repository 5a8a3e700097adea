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
        .merge(assets::routes())
        .with_state(state)
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
