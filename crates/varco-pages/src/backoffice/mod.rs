//! The back office of each environment: it trusts only SelfCare's identity
//! token (signature with SelfCare's key, issuer, this environment's audience,
//! expiry, single use), keeps the roles of this environment's product, and
//! opens its own session. Roles on another environment's product give nothing
//! here: Amministratore in Collaudo is nobody in Produzione.
//!
//! `frame` holds what every page shares (the person, checked against SelfCare at
//! each request, the sidebar, notices, confirmations); the consumer's pages are
//! `catalogo`, `richieste` and `finalita`; the producer's `erogazione` (its
//! e-services) and `ricevute` (what consumers asked of them); `ente` is the
//! Ente's own data and attributes.
pub mod catalogo;
pub mod client;
pub mod ente;
pub mod erogazione;
pub mod finalita;
pub mod frame;
pub mod ricevute;
pub mod richieste;
pub mod tool;

use crate::pages::{render, see_other, with_cookies, Layout, PageError};
use crate::session::{self, SetCookie};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use varco_domain::Env;
use varco_http::parse_env;
use varco_platform::Caller;
use varco_selfcare::identity_token::{self, IdentityClaims, IdentityTokenError};
use varco_selfcare::model::ProductRole;

/// Identity tokens live seconds: just the hop from SelfCare to the back office.
pub const IDENTITY_TOKEN_LIFETIME_SECS: i64 = 60;
/// How long a back-office session lasts at most.
pub const SESSION_TTL: Duration = Duration::from_secs(9 * 3600);
/// Clock difference tolerated between SelfCare and a back office on other hosts.
const LEEWAY_SECS: i64 = 5;

/// Every route of the back offices: (method, path). The authorisation tests take
/// the state-changing ones from here, so a new route without its test fails them.
pub const ROUTES: &[(&str, &str)] =
    &[("GET", "/interop/{env}/"), ("POST", "/interop/{env}/selfcare/login"), ("POST", "/interop/{env}/logout")];

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route("/interop/{env}/", get(home))
        .route("/interop/{env}/selfcare/login", post(login))
        .route("/interop/{env}/logout", post(logout))
        .merge(catalogo::routes())
        .merge(richieste::routes())
        .merge(finalita::routes())
        .merge(client::routes())
        .merge(tool::routes())
        .merge(erogazione::routes())
        .merge(ricevute::routes())
        .merge(ente::routes())
}

/// All the back office's routes, with the pages' own.
pub fn all_routes() -> Vec<(&'static str, &'static str)> {
    [
        ROUTES,
        catalogo::ROUTES,
        richieste::ROUTES,
        finalita::ROUTES,
        client::ROUTES,
        tool::ROUTES,
        erogazione::ROUTES,
        ricevute::ROUTES,
        ente::ROUTES,
    ]
    .concat()
}

fn scope(env: Env) -> String {
    format!("bo:{}", env.slug())
}

fn cookie_name(env: Env) -> String {
    format!("varco_bo_{}", env.slug())
}

fn cookie_path(env: Env) -> String {
    format!("/interop/{}/", env.slug())
}

/// A back-office session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoIdentity {
    pub user_id: String,
    pub name: String,
    pub family_name: String,
    pub fiscal_code: String,
    pub selfcare_id: String,
    pub organization: String,
    pub tenant_id: String,
    /// Product roles on this environment's product (`admin`, `api`, `security`)
    /// when the session opened; each request takes SelfCare's current ones.
    pub roles: Vec<String>,
    /// The SelfCare session that handed over (server side only): this one ends
    /// with it.
    #[serde(default)]
    pub selfcare_session: Option<String>,
}

/// The back-office session of the request for `env`, if any.
pub async fn current(
    state: &PagesState,
    headers: &HeaderMap,
    env: Env,
) -> Result<Option<session::Session<BoIdentity>>, PageError> {
    session::load(state, headers, &scope(env), &cookie_name(env)).await
}

fn layout(env: Env, title: &str, state: &PagesState) -> Layout {
    Layout {
        title: title.into(),
        brand: format!("Interoperabilità {}", env.label()),
        brand_href: cookie_path(env),
        logout_action: format!("/interop/{}/logout", env.slug()),
        demo: !state.web.production,
        env_label: Some(env.label().into()),
        ..Layout::default()
    }
}

#[derive(Template)]
#[template(path = "bo_home.html")]
struct HomePage {
    layout: Layout,
    env_label: String,
    who: Option<BoIdentity>,
    role_labels: Vec<String>,
    token_url: String,
    jwks_url: String,
    audience: String,
    issuer: String,
}

/// The back office's home: who you are here, or how to get in.
async fn home(
    State(state): State<PagesState>,
    Path(env_seg): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let env = parse_env(&env_seg).map_err(|_| PageError::not_found("L'ambiente"))?;
    let c = state.platform.config(env);
    let title = format!("Interoperabilità – {}", env.label());
    let (layout, who, cookies) = match frame::Bo::enter(&state, &headers, &env_seg).await {
        Ok(bo) => (bo.layout(&state, &title, frame::Nav::Home), Some(bo.who), vec![]),
        // Not signed in (or no longer): how to get in, and the ended session's cookie goes.
        Err(e) if e.redirect.is_some() => (layout(env, &title, &state), None, e.cookies),
        Err(e) => return Err(e),
    };
    let role_labels = who
        .as_ref()
        .map(|w| {
            w.roles
                .iter()
                .map(|r| r.parse::<ProductRole>().map(|p| p.label().to_string()).unwrap_or(r.clone()))
                .collect()
        })
        .unwrap_or_default();
    let page = render(&HomePage {
        layout,
        env_label: env.label().into(),
        who,
        role_labels,
        token_url: c.token_url.clone(),
        jwks_url: c.jwks_url.clone(),
        audience: c.client_assertion_audience.clone(),
        issuer: c.issuer.clone(),
    })?;
    Ok(with_cookies(page, &cookies))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    handoff: String,
}

const HANDOFF_COOKIE: &str = "varco_handoff";

fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// When SelfCare and the back office of `env` are served from the same origin,
/// the hand-over is bound to the browser that asked for it: SelfCare sets this
/// cookie (only sent to the back office's login path, and, being `SameSite=Lax`,
/// never with a POST from another site) and puts the same value in the form.
/// Without it, another site could post its own identity token from a visitor's
/// browser and log them into someone else's back office (login CSRF). On
/// separate origins no cookie can be shared; the token's single use, audience
/// and 60 s lifetime are then the protection.
pub fn handoff_cookie(state: &PagesState, env: Env) -> Option<SetCookie> {
    same_origin(state, env).then(|| SetCookie {
        name: HANDOFF_COOKIE.into(),
        value: session::random_token(),
        path: format!("/interop/{}/selfcare/login", env.slug()),
        max_age: Some(120),
        secure: state.web.secure_cookies,
    })
}

fn same_origin(state: &PagesState, env: Env) -> bool {
    origin(&state.web.public_url) == origin(&state.platform.config(env).base_url)
}

/// Exchanges SelfCare's identity token for this back office's session.
async fn login(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let env = parse_env(&env).map_err(|_| PageError::not_found("L'ambiente"))?;
    let gone = SetCookie::removal(
        HANDOFF_COOKIE,
        &format!("/interop/{}/selfcare/login", env.slug()),
        state.web.secure_cookies,
    );
    let r = exchange(&state, env, &headers, form).await;
    Ok(with_cookies(r.unwrap_or_else(|e| e.into_response()), &[gone]))
}

async fn exchange(state: &PagesState, env: Env, headers: &HeaderMap, form: TokenForm) -> Result<Response, PageError> {
    let state = state.clone();
    let refused = |msg: String| {
        PageError::new(StatusCode::UNAUTHORIZED, "Accesso non riuscito", msg)
            .back("/selfcare/", "Torna all'Area Riservata")
    };
    let now = chrono::Utc::now().timestamp();
    let claims = identity_token::verify(
        form.token.trim(),
        std::slice::from_ref(&state.web.selfcare_public),
        &state.web.selfcare_issuer,
        &state.platform.config(env).backoffice_audience,
        now,
        LEEWAY_SECS,
    )
    .map_err(|e| {
        tracing::info!(env = env.slug(), "identity token refused: {e}");
        refused(explain(&e, env))
    })?;
    let product = varco_selfcare::model::ProductId::of_env(env).as_str();
    let roles: Vec<String> = claims
        .organization
        .roles
        .iter()
        .filter(|r| r.product_id == product)
        .map(|r| r.role.clone())
        .filter(|r| r.parse::<ProductRole>().is_ok())
        .collect();
    if roles.is_empty() {
        return Err(PageError::forbidden(format!(
            "{} {} non ha un ruolo su Interoperabilità {} per {}: in questo ambiente non può entrare.",
            claims.name,
            claims.family_name,
            env.label(),
            claims.organization.name
        ))
        .back("/selfcare/", "Torna all'Area Riservata"));
    }
    if same_origin(&state, env) {
        let expected = session::cookie(headers, HANDOFF_COOKIE).unwrap_or_default();
        if !session::same_secret(expected, &form.handoff) {
            tracing::info!(env = env.slug(), "identity token refused: not handed over by this browser's SelfCare page");
            return Err(refused("L'accesso non è partito da questo browser: rientra dall'Area Riservata.".into()));
        }
    }
    // Single use: a token copied from a page or a log cannot open a second session.
    if !state
        .selfcare
        .sessions()
        .consume_identity_token(&claims.jti, (claims.exp + LEEWAY_SECS) * 1000)
        .await
        .map_err(PageError::internal)?
    {
        return Err(refused("Questo accesso è già stato usato: rientra dall'Area Riservata.".into()));
    }
    let tenant = tenant_of(&state, env, &claims).await?;
    let selfcare_session = session::take_handoff(&state, &claims.jti).await?;
    let identity = BoIdentity {
        user_id: claims.uid.clone(),
        name: claims.name.clone(),
        family_name: claims.family_name.clone(),
        fiscal_code: claims.fiscal_number.clone(),
        selfcare_id: claims.organization.id.clone(),
        organization: claims.organization.name.clone(),
        tenant_id: tenant.to_string(),
        roles,
        selfcare_session,
    };
    let ttl = Duration::from_secs((claims.desired_exp - now).clamp(60, SESSION_TTL.as_secs() as i64) as u64);
    let (cookie, _) = session::open(&state, &scope(env), &cookie_name(env), &cookie_path(env), &identity, ttl).await?;
    tracing::info!(env = env.slug(), user = %claims.uid, tenant = %tenant, "back-office login");
    Ok(with_cookies(see_other(&cookie_path(env)), &[cookie]))
}

/// The Interoperabilità tenant of the organisation: the platform's one mapping
/// from a SelfCare Ente (by SelfCare id; created from the onboarding on first entry).
async fn tenant_of(state: &PagesState, env: Env, claims: &IdentityClaims) -> Result<varco_domain::TenantId, PageError> {
    let org = &claims.organization;
    // Signed by SelfCare yet naming an Ente it does not have: nothing to enter.
    let unknown = || PageError::forbidden(format!("L'ente «{}» non risulta su SelfCare.", org.name));
    let id: uuid::Uuid = org.id.parse().map_err(|_| unknown())?;
    let institution = state.selfcare.institution(id).await.map_err(PageError::internal)?.ok_or_else(unknown)?;
    let t = state.platform.env(env).tenant_for(&Caller::System, &institution).await.map_err(PageError::internal)?;
    Ok(t.id)
}

fn explain(e: &IdentityTokenError, env: Env) -> String {
    match e {
        IdentityTokenError::Expired { .. } => "L'accesso è scaduto: rientra dall'Area Riservata.".into(),
        IdentityTokenError::WrongAudience { .. } => {
            format!("L'accesso era destinato a un altro ambiente, non a {}: rientra dall'Area Riservata.", env.label())
        }
        IdentityTokenError::NoRoles { .. } => "Non hai ruoli attivi per questo ente.".into(),
        _ => "L'accesso presentato non è valido: rientra dall'Area Riservata.".into(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let env = parse_env(&env).map_err(|_| PageError::not_found("L'ambiente"))?;
    if let Some(s) = current(&state, &headers, env).await? {
        s.check_csrf(&form.csrf)?;
        s.end(&state).await?;
    }
    let gone = SetCookie::removal(&cookie_name(env), &cookie_path(env), state.web.secure_cookies);
    Ok(with_cookies(see_other(&cookie_path(env)), &[gone]))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin("http://127.0.0.1:8080/interop/collaudo"), "http://127.0.0.1:8080");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin("https://uat.example/interop/collaudo"), "https://uat.example");
        assert_ne!(origin("https://a.example/x"), origin("https://b.example/x"));
        assert_ne!(origin("http://a.example/x"), origin("https://a.example/x"));
    }
}
