//! After login: the choice of Ente, the Ente's overview with its product cards,
//! and the "Interoperabilità" card that leads into an environment.
use super::ScUser;
use crate::pages::{render, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use varco_domain::Env;
use varco_selfcare::identity_token::{self, UserIdentity};
use varco_selfcare::model::{Institution, ProductId, RoleStatus};
use varco_selfcare::service::RoleRecord;

/// `/selfcare/`: the login page for strangers, the choice of Ente for others.
pub async fn start(State(state): State<PagesState>, headers: HeaderMap) -> Result<Response, PageError> {
    let logged =
        crate::session::load::<super::ScIdentity>(&state, &headers, "selfcare", crate::session::SELFCARE_COOKIE)
            .await?
            .is_some();
    Ok(see_other(if logged { "/selfcare/enti" } else { "/selfcare/login" }))
}

pub async fn jwks(State(state): State<PagesState>) -> Response {
    Json(identity_token::jwks(std::slice::from_ref(&state.web.selfcare_public))).into_response()
}

#[derive(Template)]
#[template(path = "sc_institutions.html")]
struct InstitutionsPage {
    layout: Layout,
    institutions: Vec<Institution>,
}

/// "Seleziona il tuo ente".
pub async fn institutions(State(state): State<PagesState>, user: ScUser) -> Result<Response, PageError> {
    let institutions = state.selfcare.institutions_of_user(user.identity().user_id).await?;
    render(&InstitutionsPage { layout: user.layout("Seleziona il tuo ente", &state), institutions })
}

/// The environments (and their products) the user may enter at an institution:
/// those where the Ente is onboarded and the user holds an ACTIVE role.
fn enterable(institution: &Institution, roles: &[RoleRecord]) -> Vec<Env> {
    // Attestazione, Collaudo, Produzione: the order SelfCare shows them in.
    [Env::Attestazione, Env::Collaudo, Env::Produzione]
        .into_iter()
        .filter(|env| !identity_token::active_roles(institution, roles, *env).is_empty())
        .collect()
}

#[derive(Template)]
#[template(path = "sc_overview.html")]
struct OverviewPage {
    layout: Layout,
    institution: Institution,
    /// The "Interoperabilità" card is shown when at least one environment opens.
    interop: bool,
    /// Utenti is offered to those who may manage users on some product.
    can_manage: bool,
    roles: Vec<(String, String, String)>,
}

/// The Ente's "Panoramica": its data, "I tuoi prodotti", and the menu.
pub async fn overview(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (institution, roles) = user.membership(&state, &id).await?;
    // "Utenti" is offered to whom SelfCare lets manage users on some product.
    let can_manage = match state.selfcare.management(user.identity().user_id, institution.id).await {
        Ok(_) => true,
        Err(varco_selfcare::service::ServiceError::Forbidden) => false,
        Err(e) => return Err(e.into()),
    };
    let role_rows = roles
        .iter()
        .map(|r| {
            (
                r.role.product.label().to_string(),
                r.role.product_role.label().to_string(),
                status_label(r.role.status).to_string(),
            )
        })
        .collect();
    render(&OverviewPage {
        layout: user.layout(&institution.name, &state),
        interop: !enterable(&institution, &roles).is_empty(),
        can_manage,
        roles: role_rows,
        institution,
    })
}

pub fn status_label(s: RoleStatus) -> &'static str {
    match s {
        RoleStatus::Active => "Attivo",
        RoleStatus::Suspended => "Sospeso",
        RoleStatus::Deleted => "Rimosso",
    }
}

#[derive(Deserialize)]
pub struct EnvQuery {
    ambiente: Option<String>,
}

#[derive(Template)]
#[template(path = "sc_env_choice.html")]
struct EnvChoicePage {
    layout: Layout,
    institution: Institution,
    envs: Vec<(String, String)>,
    /// "Scegli l'ambiente…" after a submit without a choice.
    error: Option<String>,
}

/// The choice among `envs`: nothing pre-selected, so that nobody enters an
/// environment they did not mean to.
fn choice_page(
    state: &PagesState,
    user: &ScUser,
    institution: Institution,
    envs: &[Env],
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = EnvChoicePage {
        layout: user.layout("In quale ambiente vuoi entrare?", state),
        envs: envs.iter().map(|e| (e.slug().to_string(), env_choice_label(*e).to_string())).collect(),
        institution,
        error,
    };
    match page.error {
        Some(_) => crate::pages::render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page),
        None => render(&page),
    }
}

#[derive(Template)]
#[template(path = "sc_enter.html")]
struct EnterPage {
    layout: Layout,
    institution_id: String,
    institution_name: String,
    env_slug: String,
    env_label: String,
}

/// The "Interoperabilità" card: "In quale ambiente vuoi entrare?" among the
/// environments the user has roles on, or straight in when there is one (or
/// when `?ambiente=` names one of them). Straight in is a form that posts
/// itself to [`interop_enter`]: a GET issues no identity token, so a link from
/// another site, a prefetch or a crawler hands nobody over.
pub async fn interop(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
    Query(q): Query<EnvQuery>,
) -> Result<Response, PageError> {
    let (institution, roles) = user.membership(&state, &id).await?;
    let envs = enterable(&institution, &roles);
    let env = match (q.ambiente.as_deref(), envs.as_slice()) {
        (Some(wanted), _) => {
            let env = parse_env_choice(wanted)?;
            if !envs.contains(&env) {
                return Err(no_role(&institution, Some(env)));
            }
            env
        }
        (None, []) => return Err(no_role(&institution, None)),
        (None, [only]) => *only,
        (None, _) => return choice_page(&state, &user, institution, &envs, None),
    };
    render(&EnterPage {
        layout: user.layout("Accesso a Interoperabilità", &state),
        institution_id: institution.id.to_string(),
        institution_name: institution.name.clone(),
        env_slug: env.slug().into(),
        env_label: env.label().into(),
    })
}

fn parse_env_choice(raw: &str) -> Result<Env, PageError> {
    varco_http::parse_env(raw).map_err(|_| PageError::bad_request(format!("Ambiente sconosciuto: «{raw}».")))
}

fn env_choice_label(env: Env) -> &'static str {
    match env {
        Env::Attestazione => "Ambiente di Attestazione",
        Env::Collaudo => "Ambiente di Collaudo",
        Env::Produzione => "Ambiente di Produzione",
    }
}

#[derive(Deserialize)]
pub struct EnterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ambiente: String,
}

pub async fn interop_enter(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
    Form(form): Form<EnterForm>,
) -> Result<Response, PageError> {
    user.0.check_csrf(&form.csrf)?;
    let (institution, roles) = user.membership(&state, &id).await?;
    if form.ambiente.is_empty() {
        let envs = enterable(&institution, &roles);
        return choice_page(&state, &user, institution, &envs, Some("Scegli l'ambiente in cui entrare.".into()));
    }
    enter(&state, &user, &institution, &roles, &form.ambiente).await
}

fn no_role(institution: &Institution, env: Option<Env>) -> PageError {
    let msg = match env {
        Some(env) => format!(
            "Non hai un ruolo attivo su «{}» per {}: non puoi entrare nell'ambiente {}.",
            env_product_label(env),
            institution.name,
            env.label()
        ),
        None => format!("Non hai un ruolo attivo su Interoperabilità per {}.", institution.name),
    };
    PageError::forbidden(msg).back(&format!("/selfcare/enti/{}", institution.id), "Torna all'ente")
}

fn env_product_label(env: Env) -> &'static str {
    ProductId::of_env(env).label()
}

#[derive(Template)]
#[template(path = "sc_handoff.html")]
struct HandoffPage {
    layout: Layout,
    env_label: String,
    action: String,
    token: String,
    handoff: Option<String>,
}

/// Issues the identity token for `env` and hands it to that back office with a
/// form POST (a token in a URL would end up in logs and browser history). Only
/// [`interop_enter`] calls it, after the form token of the session.
async fn enter(
    state: &PagesState,
    user: &ScUser,
    institution: &Institution,
    roles: &[RoleRecord],
    env: &str,
) -> Result<Response, PageError> {
    let env = parse_env_choice(env)?;
    let id = user.identity();
    let now = chrono::Utc::now().timestamp();
    let token = identity_token::for_environment(
        &state.web.selfcare_key,
        &state.web.selfcare_issuer,
        &state.platform.config(env).backoffice_audience,
        &UserIdentity {
            uid: id.user_id.to_string(),
            fiscal_number: id.fiscal_code.clone(),
            name: id.name.clone(),
            family_name: id.family_name.clone(),
        },
        institution,
        roles,
        env,
        now,
        crate::backoffice::IDENTITY_TOKEN_LIFETIME_SECS,
        now + crate::backoffice::SESSION_TTL.as_secs() as i64,
    )
    .ok_or_else(|| no_role(institution, Some(env)))?;
    tracing::info!(user = %id.user_id, institution = %institution.id, env = env.slug(), "identity token issued");
    // The back-office session it opens ends with this SelfCare session.
    let jti = varco_jose::Compact::parse(&token)
        .ok()
        .and_then(|t| t.payload.get("jti").and_then(|j| j.as_str()).map(str::to_string))
        .ok_or_else(|| PageError::internal("an identity token without jti"))?;
    let until_ms = (now + crate::backoffice::IDENTITY_TOKEN_LIFETIME_SECS + 60) * 1000;
    crate::session::link_handoff(state, &jti, user.0.reference(), until_ms).await?;
    // Binds the hand-over to this browser (see `backoffice::handoff_cookie`).
    let handoff = crate::backoffice::handoff_cookie(state, env);
    let page = render(&HandoffPage {
        layout: user.layout("Accesso a Interoperabilità", state),
        env_label: env.label().into(),
        action: format!("{}/selfcare/login", state.platform.config(env).base_url),
        token,
        handoff: handoff.as_ref().map(|c| c.value.clone()),
    })?;
    Ok(match handoff {
        Some(cookie) => crate::pages::with_cookies(page, &[cookie]),
        None => page,
    })
}
