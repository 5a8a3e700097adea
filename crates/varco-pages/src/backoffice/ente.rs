//! Il mio ente > "Anagrafica e attributi": the Ente's data as SelfCare has it
//! (name, codice fiscale, IPA code, PEC), its contact e-mail on Interoperabilità
//! (an Amministratore changes it), and its attributes: certified (from the
//! certifiers), declared (the Ente declares and revokes them here, "Dichiara
//! attributo" / "Revoca attributo"), verified (by the producers that verified them).
//! Everyone of the Ente sees the page; the platform decides who may change what.
use super::frame::{action_route, notice, Bo, Nav};
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use varco_domain::{AttributeId, AttributeKind, Tenant, TenantId};
use varco_platform::{AppError, Change, Page};
use varco_selfcare::email::Email;

const PAGE: &str = "/interop/{env}/il-mio-ente/anagrafica";
const EMAIL: &str = "/interop/{env}/il-mio-ente/anagrafica/email";
const DECLARE: &str = "/interop/{env}/il-mio-ente/anagrafica/dichiara";
const REVOKE: &str = "/interop/{env}/il-mio-ente/anagrafica/revoca";

pub const ROUTES: &[(&str, &str)] = &[("GET", PAGE), ("POST", EMAIL), ("POST", DECLARE), ("POST", REVOKE)];

/// "E-mail di contatto": at most this many characters (RFC 5321, as SelfCare's).
pub const EMAIL_MAX: usize = 254;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(PAGE, get(page))
        .route(EMAIL, post(set_email))
        .route(DECLARE, action_route(declaration, Declaration::Declare))
        .route(REVOKE, action_route(declaration, Declaration::Revoke))
}

const NOTICES: &[(&str, &str)] = &[
    ("email", "E-mail di contatto aggiornata."),
    ("dichiarato", "Attributo dichiarato."),
    ("revocato", "Dichiarazione dell'attributo revocata."),
];

/// An attribute the Ente holds.
struct AttrView {
    id: String,
    name: String,
    since: String,
    /// Verified ones: the producers that verified it.
    verified_by: String,
}

#[derive(Template)]
#[template(path = "bo_ente.html")]
struct EntePage {
    layout: Layout,
    notice: Option<&'static str>,
    name: String,
    tax_code: String,
    ipa_code: String,
    pec: String,
    email: String,
    email_error: Option<String>,
    email_max: usize,
    may_edit: bool,
    email_action: String,
    certified: Vec<AttrView>,
    declared: Vec<AttrView>,
    verified: Vec<AttrView>,
    /// The environment's declared attributes the Ente has not declared (id, name).
    declarable: Vec<(String, String)>,
    declare_action: String,
    revoke_action: String,
}

fn here(bo: &Bo) -> String {
    bo.path("il-mio-ente/anagrafica")
}

/// The page, with `email` in the field (what was typed, on an error).
async fn ente_page(
    state: &PagesState,
    bo: &Bo,
    notice: Option<&'static str>,
    email: Option<String>,
    email_error: Option<String>,
) -> Result<EntePage, PageError> {
    let svc = state.platform.env(bo.env);
    let t: Tenant = svc.tenant(&bo.caller, bo.tenant).await.map_err(|e| bo.err(state, e))?;
    // SelfCare's data of the Ente (the registry of record for them).
    let institution = match bo.who.selfcare_id.parse::<uuid::Uuid>() {
        Ok(id) => state.selfcare.institution(id).await.map_err(|e| bo.err(state, e))?,
        Err(_) => None,
    };
    let (name, tax_code, ipa_code, pec) = match institution {
        Some(i) => (i.name, i.tax_code, i.origin_id, i.digital_address),
        None => (t.name.clone(), String::new(), t.external_id.value.clone(), String::new()),
    };
    let mut names: HashMap<TenantId, String> = HashMap::new();
    let (mut certified, mut declared, mut verified) = (vec![], vec![], vec![]);
    for a in t.attributes.iter().filter(|a| a.is_active()) {
        let name = match svc.attribute(&bo.caller, a.attribute_id).await {
            Ok(x) => x.name,
            Err(AppError::NotFound(_)) => a.attribute_id.to_string(),
            Err(e) => return Err(bo.err(state, e)),
        };
        let mut by = vec![];
        for v in &a.verified_by {
            if !names.contains_key(v) {
                let n = svc.tenant(&bo.caller, *v).await.map(|x| x.name).unwrap_or(v.to_string());
                names.insert(*v, n);
            }
            by.push(names[v].clone());
        }
        let view = AttrView {
            id: a.attribute_id.to_string(),
            name,
            since: a.assigned_at.format("%d/%m/%Y").to_string(),
            verified_by: by.join(", "),
        };
        match a.kind {
            AttributeKind::Certified => certified.push(view),
            AttributeKind::Declared => declared.push(view),
            AttributeKind::Verified => verified.push(view),
        }
    }
    for list in [&mut certified, &mut declared, &mut verified] {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let may = bo.caller.may(Change::Attributi);
    let mut declarable = vec![];
    if may {
        let all = svc.attributes(&bo.caller, AttributeKind::Declared, Page::ALL).await.map_err(|e| bo.err(state, e))?;
        declarable = all
            .items
            .into_iter()
            .filter(|a| !t.has_active(AttributeKind::Declared, a.id))
            .map(|a| (a.id.to_string(), a.name))
            .collect();
    }
    let base = here(bo);
    Ok(EntePage {
        layout: bo.layout(state, "Anagrafica e attributi", Nav::Ente),
        notice,
        name,
        tax_code,
        ipa_code,
        pec,
        email: email.unwrap_or(t.contact_email.clone().unwrap_or_default()),
        email_error,
        email_max: EMAIL_MAX,
        may_edit: may,
        email_action: format!("{base}/email"),
        certified,
        declared,
        verified,
        declarable,
        declare_action: format!("{base}/dichiara"),
        revoke_action: format!("{base}/revoca"),
    })
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    esito: Option<String>,
}

/// "Anagrafica e attributi": for everyone of the Ente.
async fn page(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    render(&ente_page(&state, &bo, notice(q.esito.as_deref(), NOTICES), None, None).await?)
}

#[derive(Deserialize, Default)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// "E-mail di contatto": checked here to show the message next to the field; the
/// platform checks it again and records the change.
async fn set_email(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Attributi).await?;
    let typed: String = form.email.chars().take(EMAIL_MAX + 10).collect();
    let error = match Email::parse(&form.email) {
        Err(e) => Some(sentence(&e.to_string())),
        Ok(email) => match state.platform.env(bo.env).set_contact_email(&bo.caller, bo.tenant, email.as_str()).await {
            Ok(_) => return Ok(see_other(&format!("{}?esito=email", here(&bo)))),
            Err(AppError::Invalid(m)) => Some(sentence(&m)),
            Err(e) => return Err(bo.err(&state, e).back(&here(&bo), "Torna all'anagrafica")),
        },
    };
    let page = ente_page(&state, &bo, None, Some(typed), error).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

fn sentence(s: &str) -> String {
    let mut out = varco_selfcare::rules::capitalize(s);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[derive(Deserialize, Default)]
struct AttributeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    attributo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declaration {
    /// "Dichiara attributo": one of the environment's declared attributes.
    Declare,
    /// "Revoca attributo": withdraws one of the Ente's declarations.
    Revoke,
}

/// "Dichiara attributo" / "Revoca attributo": the same checks (token, role, the
/// attribute posted), the platform's change, then the page with its notice.
async fn declaration(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AttributeForm>,
    what: Declaration,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Attributi).await?;
    let attr: AttributeId = form.attributo.trim().parse().map_err(|_| {
        bo.err(&state, PageError::bad_request("Scegli un attributo dichiarato."))
            .back(&here(&bo), "Torna all'anagrafica")
    })?;
    let svc = state.platform.env(bo.env);
    let (r, esito) = match what {
        Declaration::Declare => (svc.declare_attribute(&bo.caller, bo.tenant, attr).await, "dichiarato"),
        Declaration::Revoke => (svc.revoke_declared_attribute(&bo.caller, bo.tenant, attr).await, "revocato"),
    };
    r.map_err(|e| bo.err(&state, e).back(&here(&bo), "Torna all'anagrafica"))?;
    Ok(see_other(&format!("{}?esito={esito}", here(&bo))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_messages() {
        assert_eq!(ROUTES.iter().filter(|(m, _)| *m == "POST").count(), 3);
        assert_eq!(sentence("l'indirizzo email è obbligatorio"), "L'indirizzo email è obbligatorio.");
    }
}
