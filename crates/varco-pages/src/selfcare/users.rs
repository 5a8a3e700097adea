//! Utenti: the list with its filters, "Aggiungi utente" (SelfCare's "Crea
//! Utente" form), and each user's page with their roles and the buttons to
//! suspend, reactivate or remove one.
//!
//! SelfCare's service decides who gets these pages (someone who may manage users
//! on at least one product of the Ente: `SelfCare::management`) and everything
//! else (which product, which roles, who may change which role); the pages show
//! what it says.

use super::dashboard::status_label;
use super::login::CsrfForm;
use super::ScUser;
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;
use varco_selfcare::model::{Institution, PartyRole, ProductId, ProductRole, RoleStatus, User};
use varco_selfcare::rules::{ErrorKind, FieldErrors, NewUserForm, FORBIDDEN_MESSAGE};
use varco_selfcare::service::{AddUserError, RoleRecord, ServiceError};

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route("/selfcare/enti/{id}/utenti", get(list))
        .route("/selfcare/enti/{id}/utenti/nuovo", get(new_user).post(create_user))
        .route("/selfcare/enti/{id}/utenti/{user_id}", get(detail))
        .route("/selfcare/enti/{id}/utenti/{user_id}/ruoli/{role_id}/{action}", post(change_role))
}

fn list_url(institution: &Institution) -> String {
    format!("/selfcare/enti/{}/utenti", institution.id)
}

fn detail_url(institution: &Institution, user_id: Uuid) -> String {
    format!("/selfcare/enti/{}/utenti/{user_id}", institution.id)
}

/// The Ente as seen by someone who may manage its users, with the products
/// on which they may.
struct Manager {
    institution: Institution,
    products: Vec<ProductId>,
    /// The person's own live roles there (which roles of others they may change).
    actor_roles: Vec<varco_selfcare::model::UserProductRole>,
}

/// The Ente's users as SelfCare lets this person manage them: 404 for an Ente
/// they have no role at, 403 for one where they may manage users on no product.
async fn manager(state: &PagesState, user: &ScUser, id: &str) -> Result<Manager, PageError> {
    let (institution, roles) = user.membership(state, id).await?;
    let actor_roles = roles.into_iter().map(|r| r.role).collect();
    match state.selfcare.management(user.identity().user_id, institution.id).await {
        Ok((institution, products)) => Ok(Manager { institution, products, actor_roles }),
        Err(ServiceError::Forbidden) => Err(PageError::forbidden(format!(
            "{FORBIDDEN_MESSAGE}: con i tuoi ruoli presso {} non puoi vedere né modificare gli utenti dell'ente.",
            institution.name
        ))
        .back(&format!("/selfcare/enti/{}", institution.id), "Torna all'ente")),
        Err(e) => Err(e.into()),
    }
}

/// An option of a select.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

// ------------------------------------------------------------------ list

#[derive(Deserialize)]
pub struct ListQuery {
    prodotto: Option<String>,
    ruolo: Option<String>,
}

/// A filter value: absent or empty means "Tutti".
fn filter<T: std::str::FromStr>(raw: Option<&str>, what: &str, back: &str) -> Result<Option<T>, PageError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            PageError::bad_request(format!("Il filtro «{what}» non ha un valore valido: «{s}»."))
                .back(back, "Mostra tutti gli utenti")
        }),
    }
}

struct RoleCell {
    product: &'static str,
    role: &'static str,
    status: &'static str,
    active: bool,
}

struct MemberRow {
    href: String,
    name: String,
    fiscal_code: String,
    email: String,
    roles: Vec<RoleCell>,
}

#[derive(Template)]
#[template(path = "sc_users_list.html")]
struct ListPage {
    layout: Layout,
    institution: Institution,
    can_manage: bool,
    new_href: String,
    products: Vec<Choice>,
    roles: Vec<Choice>,
    filtered: bool,
    members: Vec<MemberRow>,
}

/// "Utenti": the people with a live role at the Ente, filtered by product and
/// role; each row shows the roles that match the filters.
pub async fn list(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let m = manager(&state, &user, &id).await?;
    let back = list_url(&m.institution);
    let product: Option<ProductId> = filter(q.prodotto.as_deref(), "Prodotto", &back)?;
    let role: Option<ProductRole> = filter(q.ruolo.as_deref(), "Ruolo", &back)?;
    let members = state
        .selfcare
        .members_managed_by(user.identity().user_id, m.institution.id)
        .await?
        .into_iter()
        .filter_map(|(u, roles)| {
            let roles: Vec<RoleCell> = roles
                .iter()
                .map(|r| &r.role)
                .filter(|r| r.status != RoleStatus::Deleted)
                .filter(|r| product.is_none_or(|p| r.product == p) && role.is_none_or(|p| r.product_role == p))
                .map(|r| RoleCell {
                    product: r.product.label(),
                    role: r.product_role.label(),
                    status: status_label(r.status),
                    active: r.status == RoleStatus::Active,
                })
                .collect();
            (!roles.is_empty()).then(|| MemberRow {
                href: detail_url(&m.institution, u.id),
                email: email_at(&u, &m.institution),
                name: format!("{} {}", u.name, u.family_name),
                fiscal_code: u.fiscal_code.as_str().to_string(),
                roles,
            })
        })
        .collect();
    render(&ListPage {
        layout: user.layout("Utenti", &state),
        new_href: format!("{back}/nuovo"),
        products: ProductId::ALL
            .into_iter()
            .map(|p| Choice { value: p.as_str(), label: p.label(), selected: product == Some(p) })
            .collect(),
        roles: ProductRole::ALL
            .into_iter()
            .map(|r| Choice { value: r.as_str(), label: r.label(), selected: role == Some(r) })
            .collect(),
        filtered: product.is_some() || role.is_some(),
        members,
        institution: m.institution,
        can_manage: true,
    })
}

fn email_at(user: &User, institution: &Institution) -> String {
    user.emails.get(&institution.id).map(|e| e.as_str().to_string()).unwrap_or_default()
}

// ------------------------------------------------------------------ "Aggiungi utente"

/// A text input of the form, with what was typed and its error.
struct TextField {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    hint: &'static str,
    value: String,
    error: Option<String>,
}

impl TextField {
    /// The ids of the hint and of the error under the input, for `aria-describedby`.
    fn describedby(&self) -> String {
        let hint = (!self.hint.is_empty()).then(|| format!("{}-hint", self.name));
        let error = self.error.as_ref().map(|_| format!("{}-error", self.name));
        hint.into_iter().chain(error).collect::<Vec<_>>().join(" ")
    }
}

struct RoleChoice {
    value: &'static str,
    label: &'static str,
    description: &'static str,
    checked: bool,
}

/// One line of the summary at the top: the field's id, label and message.
struct SummaryItem {
    anchor: &'static str,
    label: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "sc_users_new.html")]
struct NewUserPage {
    layout: Layout,
    institution: Institution,
    can_manage: bool,
    action: String,
    back: String,
    fields: Vec<TextField>,
    products: Vec<Choice>,
    product_error: Option<String>,
    roles: Vec<RoleChoice>,
    role_error: Option<String>,
    summary: Vec<SummaryItem>,
}

/// The form's fields in page order: key (as in [`FieldErrors`] and the HTML
/// `name`), label.
const FIELDS: [(&str, &str); 7] = [
    ("nome", "Nome"),
    ("cognome", "Cognome"),
    ("codice_fiscale", "Codice Fiscale"),
    ("email", "Email istituzionale"),
    ("conferma_email", "Conferma email"),
    ("prodotto", "Prodotto"),
    ("ruolo", "Ruolo"),
];

fn role_description(r: ProductRole) -> &'static str {
    match r {
        ProductRole::Admin => "Gestisce gli utenti dell'ente e tutte le funzioni del prodotto.",
        ProductRole::Api => "Gestisce gli e-service, le richieste di fruizione e i client per le API.",
        ProductRole::Security => "Gestisce le chiavi pubbliche dei client.",
    }
}

fn new_user_page(
    state: &PagesState,
    user: &ScUser,
    m: Manager,
    form: &NewUserForm,
    errors: Option<&FieldErrors>,
) -> NewUserPage {
    let err = |k: &str| errors.and_then(|e| e.get(k)).map(str::to_string);
    let text = |name, label, kind, autocomplete, hint, value: &str| TextField {
        name,
        label,
        kind,
        autocomplete,
        hint,
        value: value.to_string(),
        error: err(name),
    };
    let fields = vec![
        text("nome", "Nome", "text", "given-name", "", &form.nome),
        text("cognome", "Cognome", "text", "family-name", "", &form.cognome),
        text(
            "codice_fiscale",
            "Codice Fiscale",
            "text",
            "off",
            "16 caratteri, come sulla tessera sanitaria.",
            &form.codice_fiscale,
        ),
        text(
            "email",
            "Email istituzionale",
            "email",
            "email",
            "L'indirizzo che l'utente usa presso l'ente.",
            &form.email,
        ),
        text("conferma_email", "Conferma email", "email", "email", "", &form.conferma_email),
    ];
    // Products the Ente has joined and the actor manages; a product that was
    // submitted stays selected even if not among them, so the page shows what
    // the rules refused.
    let products = ProductId::ALL
        .into_iter()
        .filter(|&p| m.institution.is_active_on(p) && m.products.contains(&p))
        .map(|p| Choice { value: p.as_str(), label: p.label(), selected: form.product.trim() == p.as_str() })
        .collect();
    let roles = ProductRole::ALL
        .into_iter()
        .map(|r| RoleChoice {
            value: r.as_str(),
            label: r.label(),
            description: role_description(r),
            checked: form.roles.iter().any(|s| s.trim() == r.as_str()),
        })
        .collect();
    let mut summary: Vec<SummaryItem> = FIELDS
        .iter()
        .filter_map(|&(key, label)| err(key).map(|message| SummaryItem { anchor: key, label, message }))
        .collect();
    if let Some(e) = errors {
        // Anything not tied to one of our fields (the form-level message, or a
        // key this page does not know) still reaches the person.
        for (key, message) in &e.fields {
            if !FIELDS.iter().any(|(k, _)| k == key) {
                summary.push(SummaryItem { anchor: "", label: "", message: message.clone() });
            }
        }
    }
    let back = list_url(&m.institution);
    NewUserPage {
        layout: user.layout("Aggiungi un nuovo utente", state),
        action: format!("{back}/nuovo"),
        back,
        fields,
        products,
        product_error: err("prodotto"),
        roles,
        role_error: err("ruolo"),
        summary,
        institution: m.institution,
        can_manage: true,
    }
}

/// The empty "Aggiungi un nuovo utente" form.
pub async fn new_user(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = manager(&state, &user, &id).await?;
    // With one product only, it is the answer.
    let mut form = NewUserForm::default();
    let offered: Vec<ProductId> = m.products.iter().copied().filter(|&p| m.institution.is_active_on(p)).collect();
    if let [only] = offered.as_slice() {
        form.product = only.as_str().to_string();
    }
    render(&new_user_page(&state, &user, m, &form, None))
}

/// "Crea Utente": the rules decide; a refusal on the input comes back as the
/// form with each message next to its field (422), one about who is asking as
/// 403; success leads to the user's page.
pub async fn create_user(
    State(state): State<PagesState>,
    user: ScUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, csrf) = new_user_form(&body);
    user.0.check_csrf(&csrf)?;
    let m = manager(&state, &user, &id).await?;
    match state.selfcare.add_user(user.identity().user_id, m.institution.id, form.clone()).await {
        Ok((created, roles)) => {
            tracing::info!(
                actor = %user.identity().user_id,
                user = %created.id,
                institution = %m.institution.id,
                roles = roles.len(),
                "SelfCare user added"
            );
            Ok(see_other(&format!("{}?creato=1", detail_url(&m.institution, created.id))))
        }
        Err(AddUserError::Rejected(e)) if e.kind == ErrorKind::Forbidden => Err(PageError::forbidden(
            e.get("").unwrap_or(FORBIDDEN_MESSAGE).to_string() + ": non puoi assegnare ruoli per questo prodotto.",
        )
        .back(&list_url(&m.institution), "Torna agli utenti")),
        Err(AddUserError::Rejected(e)) => {
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &new_user_page(&state, &user, m, &form, Some(&e)))
        }
        Err(AddUserError::Service(e)) => Err(e.into()),
    }
}

/// The submitted form. Read by hand because the roles are checkboxes sharing
/// one name, which the `Form` extractor cannot collect.
fn new_user_form(body: &[u8]) -> (NewUserForm, String) {
    let mut form = NewUserForm::default();
    let mut csrf = String::new();
    for (k, v) in parse_urlencoded(body) {
        match k.as_str() {
            "nome" => form.nome = v,
            "cognome" => form.cognome = v,
            "codice_fiscale" => form.codice_fiscale = v,
            "email" => form.email = v,
            "conferma_email" => form.conferma_email = v,
            "prodotto" => form.product = v,
            "ruolo" => form.roles.push(v),
            "csrf" => csrf = v,
            _ => {}
        }
    }
    (form, csrf)
}

/// `application/x-www-form-urlencoded` pairs, in order, repeated keys kept.
fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            let k = kv.next().unwrap_or_default();
            let v = kv.next().unwrap_or_default();
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------ a user's page

#[derive(Deserialize)]
pub struct DetailQuery {
    creato: Option<String>,
    esito: Option<String>,
}

struct RoleRow {
    product: &'static str,
    role: &'static str,
    /// "Legale rappresentante" for the one who signed the onboarding; the
    /// other party roles say no more than the product role.
    party_role: Option<&'static str>,
    status: &'static str,
    /// Where this role's buttons post, without the action.
    action: String,
    can_suspend: bool,
    can_reactivate: bool,
    can_remove: bool,
}

#[derive(Template)]
#[template(path = "sc_users_detail.html")]
struct DetailPage {
    layout: Layout,
    institution: Institution,
    can_manage: bool,
    back: String,
    name: String,
    fiscal_code: String,
    email: String,
    notice: Option<String>,
    is_self: bool,
    roles: Vec<RoleRow>,
}

/// The user and their roles at the Ente, deleted ones included as history.
/// Someone who never had a role here does not exist for this Ente.
pub async fn detail(
    State(state): State<PagesState>,
    user: ScUser,
    Path((id, user_id)): Path<(String, String)>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    let m = manager(&state, &user, &id).await?;
    let (target, roles) = member(&state, &user, &m.institution, &user_id).await?;
    let email = email_at(&target, &m.institution);
    let is_self = target.id == user.identity().user_id;
    let mailed = if email.is_empty() { "" } else { " Abbiamo avvisato l'utente via email." };
    let notice = if q.creato.is_some() {
        Some(format!("Utente aggiunto: gli abbiamo inviato un'email a {email} con il nuovo ruolo."))
    } else {
        match q.esito.as_deref() {
            Some("sospeso") => Some(format!("Ruolo sospeso.{mailed}")),
            Some("riabilitato") => Some(format!("Ruolo riabilitato.{mailed}")),
            Some("rimosso") => Some(format!("Ruolo rimosso.{mailed}")),
            _ => None,
        }
    };
    let base = detail_url(&m.institution, target.id);
    let rows = roles
        .iter()
        .map(|r| {
            // The same rules as the service's, so that no button leads to a refusal.
            let may = !is_self
                && m.products.contains(&r.role.product)
                && varco_selfcare::rules::may_change_role(&m.actor_roles, &m.institution, &r.role);
            RoleRow {
                product: r.role.product.label(),
                role: r.role.product_role.label(),
                party_role: (r.role.party_role == PartyRole::Manager).then(|| r.role.party_role.label()),
                status: status_label(r.role.status),
                action: format!("{base}/ruoli/{}", r.id),
                can_suspend: may && r.role.status == RoleStatus::Active,
                can_reactivate: may && r.role.status == RoleStatus::Suspended,
                can_remove: may && r.role.status != RoleStatus::Deleted,
            }
        })
        .collect();
    render(&DetailPage {
        layout: user.layout(&format!("{} {}", target.name, target.family_name), &state),
        back: list_url(&m.institution),
        name: format!("{} {}", target.name, target.family_name),
        fiscal_code: target.fiscal_code.as_str().to_string(),
        email,
        notice,
        is_self,
        roles: rows,
        institution: m.institution,
        can_manage: true,
    })
}

/// The user `user_id` with their roles at the institution, or 404.
async fn member(
    state: &PagesState,
    user: &ScUser,
    institution: &Institution,
    user_id: &str,
) -> Result<(User, Vec<RoleRecord>), PageError> {
    let not_found = || PageError::not_found("L'utente").back(&list_url(institution), "Torna agli utenti");
    let user_id = Uuid::parse_str(user_id).map_err(|_| not_found())?;
    match state.selfcare.member_managed_by(user.identity().user_id, institution.id, user_id).await {
        Ok(found) => Ok(found),
        Err(ServiceError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// "Sospendi", "Riabilita", "Rimuovi" on one role of the user's page.
pub async fn change_role(
    State(state): State<PagesState>,
    user: ScUser,
    Path((id, user_id, role_id, action)): Path<(String, String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.0.check_csrf(&form.csrf)?;
    let m = manager(&state, &user, &id).await?;
    let (target, _) = member(&state, &user, &m.institution, &user_id).await?;
    let back = detail_url(&m.institution, target.id);
    let not_found = || PageError::not_found("Il ruolo").back(&back, "Torna all'utente");
    let role_id = Uuid::parse_str(&role_id).map_err(|_| not_found())?;
    let record = state.selfcare.role(role_id).await?.ok_or_else(not_found)?;
    if record.role.user != target.id || record.role.institution != m.institution.id {
        return Err(not_found());
    }
    let actor = user.identity().user_id;
    let (result, outcome) = match action.as_str() {
        "sospendi" => (state.selfcare.suspend_role(actor, role_id).await, "sospeso"),
        "riabilita" => (state.selfcare.reactivate_role(actor, role_id).await, "riabilitato"),
        "rimuovi" => (state.selfcare.delete_role(actor, role_id).await, "rimosso"),
        _ => return Err(PageError::not_found("L'operazione").back(&back, "Torna all'utente")),
    };
    result.map_err(|e| PageError::from(e).back(&back, "Torna all'utente"))?;
    tracing::info!(%actor, role = %role_id, outcome, "SelfCare role changed");
    Ok(see_other(&format!("{back}?esito={outcome}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_keep_repeated_keys_and_decode() {
        let (form, csrf) = new_user_form(
            b"csrf=a%2Bb&nome=Mario+Luigi&cognome=D%27Amico&ruolo=api&ruolo=security&email=m%40x.it&x=1&=&broken=%zz%4",
        );
        assert_eq!(csrf, "a+b");
        assert_eq!(form.nome, "Mario Luigi");
        assert_eq!(form.cognome, "D'Amico");
        assert_eq!(form.roles, ["api", "security"]);
        assert_eq!(form.email, "m@x.it");
        assert_eq!(
            parse_urlencoded(b"broken=%zz%4&e=%C3%A8"),
            [("broken".to_string(), "%zz%4".to_string()), ("e".to_string(), "è".to_string())]
        );
        assert!(parse_urlencoded(b"").is_empty());
    }
}
