//! "Gestione dei client": the Ente's clients e-service (vouchers for an e-service,
//! through a finalità) and API Interoperabilità (vouchers for Varco's own machine
//! API). Lists, "Crea nuovo client", the client's page with its tabs "Membri del
//! client", "Chiavi pubbliche" and (clients e-service) "Finalità" or (clients API
//! Interoperabilità) "Admin API", a key's page.
//! The platform decides who may do what; the pages only hide what the role may not
//! use. A pasted key is parsed here first, to explain each mistake in Italian; a
//! private key pasted by mistake is never stored, logged nor shown back.
use super::catalogo::{page_links, page_number, PageLink};
use super::frame::{confirm, notice, Bo, Nav};
use super::richieste::query_string;
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use varco_domain::*;
use varco_jose::{KeyError, RsaPublicKey};
use varco_platform::{AppError, Change, ClientFilter, ClientScope, ClientView, Page, PurposeFilter};

const LIST: &str = "/interop/{env}/gestione-client/{tipo}";
const CREATE: &str = "/interop/{env}/gestione-client/{tipo}/crea";
const DETAIL: &str = "/interop/{env}/gestione-client/{tipo}/{id}";
const DELETE: &str = "/interop/{env}/gestione-client/{tipo}/{id}/elimina";
const MEMBER_ADD: &str = "/interop/{env}/gestione-client/{tipo}/{id}/membri/aggiungi";
const MEMBER_REMOVE: &str = "/interop/{env}/gestione-client/{tipo}/{id}/membri/rimuovi";
const KEY_ADD: &str = "/interop/{env}/gestione-client/{tipo}/{id}/chiavi/aggiungi";
const KEY: &str = "/interop/{env}/gestione-client/{tipo}/{id}/chiavi/{kid}";
const KEY_DOWNLOAD: &str = "/interop/{env}/gestione-client/{tipo}/{id}/chiavi/{kid}/scarica";
const KEY_DELETE: &str = "/interop/{env}/gestione-client/{tipo}/{id}/chiavi/{kid}/elimina";
const PURPOSE_ADD: &str = "/interop/{env}/gestione-client/{tipo}/{id}/finalita/aggiungi";
const PURPOSE_REMOVE: &str = "/interop/{env}/gestione-client/{tipo}/{id}/finalita/rimuovi";
const ADMIN_SET: &str = "/interop/{env}/gestione-client/{tipo}/{id}/admin/seleziona";
const ADMIN_REMOVE: &str = "/interop/{env}/gestione-client/{tipo}/{id}/admin/rimuovi";

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", LIST),
    ("GET", CREATE),
    ("POST", CREATE),
    ("GET", DETAIL),
    ("POST", DELETE),
    ("POST", MEMBER_ADD),
    ("POST", MEMBER_REMOVE),
    ("GET", KEY_ADD),
    ("POST", KEY_ADD),
    ("GET", KEY),
    ("GET", KEY_DOWNLOAD),
    ("POST", KEY_DELETE),
    ("POST", PURPOSE_ADD),
    ("POST", PURPOSE_REMOVE),
    ("POST", ADMIN_SET),
    ("POST", ADMIN_REMOVE),
];

/// Clients per page of a list.
pub const PAGE_SIZE: usize = 10;
/// "Nome del client": characters, as PDND.
pub const NAME_BOUNDS: (usize, usize) = (5, 60);
/// "Descrizione del client": characters, as PDND.
pub const DESCRIPTION_BOUNDS: (usize, usize) = (10, 250);
/// Keys a client may hold.
pub const MAX_KEYS: usize = 100;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(LIST, get(list))
        .route(CREATE, get(create_form).post(create))
        .route(DETAIL, get(detail))
        .route(DELETE, post(delete))
        .route(MEMBER_ADD, post(member_add))
        .route(MEMBER_REMOVE, post(member_remove))
        .route(KEY_ADD, get(key_form).post(key_add))
        .route(KEY, get(key_page))
        .route(KEY_DOWNLOAD, get(key_download))
        .route(KEY_DELETE, post(key_delete))
        .route(PURPOSE_ADD, post(purpose_add))
        .route(PURPOSE_REMOVE, post(purpose_remove))
        .route(ADMIN_SET, post(admin_set))
        .route(ADMIN_REMOVE, post(admin_remove))
}

pub const NOTICES: &[(&str, &str)] = &[
    ("creato", "Client creato."),
    ("eliminato", "Client eliminato."),
    ("membro-aggiunto", "Membro aggiunto al client."),
    ("membro-rimosso", "Membro rimosso dal client."),
    ("chiave-caricata", "Chiave pubblica caricata: usa questo kid nell'intestazione delle client assertion."),
    ("chiave-eliminata", "Chiave pubblica eliminata."),
    ("finalita-associata", "Finalità associata al client."),
    ("finalita-rimossa", "Finalità rimossa dal client."),
    ("admin-impostato", "Admin API impostato: i voucher del client hanno il ruolo m2m-admin."),
    ("admin-rimosso", "Admin API rimosso: i voucher del client hanno il ruolo m2m."),
];

/// The two kinds of client, as the path names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    kind: ClientKind,
    slug: &'static str,
    nav: Nav,
    title: &'static str,
    label: &'static str,
    purpose: &'static str,
}

const KINDS: [Kind; 2] = [
    Kind {
        kind: ClientKind::Consumer,
        slug: "api-e-service",
        nav: Nav::ClientEService,
        title: "I miei client API e-service",
        label: "client e-service",
        purpose: "Un client e-service ottiene i voucher per usare un e-service di un altro ente, attraverso una \
                  finalità a cui è associato.",
    },
    Kind {
        kind: ClientKind::Api,
        slug: "api-interop",
        nav: Nav::ClientApi,
        title: "I miei client API Interoperabilità",
        label: "client API Interoperabilità",
        purpose: "Un client API Interoperabilità ottiene i voucher per chiamare le API della piattaforma stessa \
                  (l'API machine-to-machine di Varco), per esempio per gestire e-service e richieste da un \
                  programma.",
    },
];

fn kind_of(state: &PagesState, bo: &Bo, slug: &str) -> Result<Kind, PageError> {
    KINDS.iter().copied().find(|k| k.slug == slug).ok_or_else(|| bo.err(state, PageError::not_found("La pagina")))
}

/// A person who does not see the clients (Operatore API) is told so.
fn may_see(state: &PagesState, bo: &Bo) -> Result<(), PageError> {
    if bo.caller.client_scope() == ClientScope::Nothing {
        return Err(bo.err(state, PageError::forbidden("Il tuo ruolo non consente di consultare i client dell'ente.")));
    }
    Ok(())
}

fn when(t: &Timestamp) -> String {
    t.format("%d/%m/%Y %H:%M UTC").to_string()
}

fn list_path(bo: &Bo, k: Kind) -> String {
    bo.path(&format!("gestione-client/{}", k.slug))
}

fn client_path(bo: &Bo, k: Kind, id: ClientId) -> String {
    bo.path(&format!("gestione-client/{}/{id}", k.slug))
}

// ------------------------------------------------------------------ people

/// A person of the Ente who may belong to a client.
struct Person {
    id: String,
    name: String,
    is_me: bool,
}

/// The Ente's people with an Amministratore or Operatore di sicurezza role on
/// this environment's product, as SelfCare has them now.
async fn people(state: &PagesState, bo: &Bo) -> Result<Vec<Person>, PageError> {
    people_with(state, bo, &["admin", "security"]).await
}

/// The Ente's people with one of `wanted` roles on this environment's product.
async fn people_with(state: &PagesState, bo: &Bo, wanted: &[&str]) -> Result<Vec<Person>, PageError> {
    let Ok(inst_id) = bo.who.selfcare_id.parse::<uuid::Uuid>() else { return Ok(vec![]) };
    let Some(inst) = state.selfcare.institution(inst_id).await.map_err(|e| bo.err(state, e))? else {
        return Ok(vec![]);
    };
    let members = state.selfcare.members(inst_id).await.map_err(|e| bo.err(state, e))?;
    let mut out = vec![];
    for (u, roles) in members {
        let ok = varco_selfcare::identity_token::active_roles(&inst, &roles, bo.env)
            .iter()
            .any(|r| wanted.contains(&r.role.as_str()));
        if ok {
            let id = u.id.to_string();
            out.push(Person { is_me: id == bo.who.user_id, id, name: format!("{} {}", u.name, u.family_name) });
        }
    }
    Ok(out)
}

/// A member's name (the id when SelfCare no longer knows them).
async fn person_name(state: &PagesState, user: UserId) -> String {
    match user.to_string().parse::<uuid::Uuid>() {
        Ok(u) => match state.selfcare.user(u).await {
            Ok(Some(p)) => format!("{} {}", p.name, p.family_name),
            _ => user.to_string(),
        },
        Err(_) => user.to_string(),
    }
}

// ------------------------------------------------------------------ the lists

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    nome: String,
    pagina: Option<String>,
    esito: Option<String>,
}

struct Row {
    name: String,
    href: String,
    members: usize,
    keys: usize,
}

#[derive(Template)]
#[template(path = "bo_client_list.html")]
struct ListPage {
    layout: Layout,
    notice: Option<&'static str>,
    heading: &'static str,
    purpose: &'static str,
    action: String,
    nome: String,
    filtered: bool,
    total: usize,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
    create_href: Option<String>,
}

async fn list(
    State(state): State<PagesState>,
    Path((env, tipo)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    let svc = state.platform.env(bo.env);
    let name = q.nome.trim().to_string();
    let f = ClientFilter { consumer: Some(bo.tenant), name: Some(name.clone()).filter(|n| !n.is_empty()) };
    let all = svc.clients(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mine: Vec<Client> = all
        .items
        .into_iter()
        .filter_map(|v| match v {
            ClientView::Full(c) if c.kind == k.kind => Some(c),
            _ => None,
        })
        .collect();
    let pagina = page_number(q.pagina.as_deref());
    let total = mine.len();
    let rows = mine
        .iter()
        .skip((pagina - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|c| Row {
            name: c.name.clone(),
            href: client_path(&bo, k, c.id),
            members: c.members.len(),
            keys: c.keys.len(),
        })
        .collect();
    let action = list_path(&bo, k);
    let base = format!("{action}?{}", query_string(&[("nome", &name)]));
    render(&ListPage {
        layout: bo.layout(&state, k.title, k.nav),
        notice: notice(q.esito.as_deref(), NOTICES),
        heading: k.title,
        purpose: k.purpose,
        pages: page_links(&base, total, PAGE_SIZE, pagina),
        filtered: !name.is_empty(),
        nome: name,
        total,
        rows,
        create_href: bo.caller.may(Change::Client).then(|| format!("{action}/crea")),
        action,
    })
}

// ------------------------------------------------------------------ create

struct Choice {
    id: String,
    name: String,
    is_me: bool,
    checked: bool,
}

#[derive(Template)]
#[template(path = "bo_client_crea.html")]
struct CreatePage {
    layout: Layout,
    kind_label: &'static str,
    action: String,
    back: String,
    nome: String,
    descrizione: String,
    people: Vec<Choice>,
    name_error: Option<String>,
    description_error: Option<String>,
    members_error: Option<String>,
    form_error: Option<String>,
    name_bounds: (usize, usize),
    description_bounds: (usize, usize),
}

impl CreatePage {
    fn has_errors(&self) -> bool {
        self.name_error.is_some()
            || self.description_error.is_some()
            || self.members_error.is_some()
            || self.form_error.is_some()
    }
}

async fn create_page(
    state: &PagesState,
    bo: &Bo,
    k: Kind,
    nome: String,
    descrizione: String,
    chosen: &[String],
) -> Result<CreatePage, PageError> {
    let people = people(state, bo)
        .await?
        .into_iter()
        .map(|p| Choice { checked: chosen.contains(&p.id), id: p.id, name: p.name, is_me: p.is_me })
        .collect();
    let list = list_path(bo, k);
    Ok(CreatePage {
        layout: bo.layout(state, "Crea nuovo client", k.nav),
        kind_label: k.label,
        action: format!("{list}/crea"),
        back: list,
        nome,
        descrizione,
        people,
        name_error: None,
        description_error: None,
        members_error: None,
        form_error: None,
        name_bounds: NAME_BOUNDS,
        description_bounds: DESCRIPTION_BOUNDS,
    })
}

async fn create_form(
    State(state): State<PagesState>,
    Path((env, tipo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    bo.require(&state, Change::Client)?;
    render(&create_page(&state, &bo, k, String::new(), String::new(), &[]).await?)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn length_error(what: &str, value: &str, (min, max): (usize, usize)) -> Option<String> {
    let n = value.trim().chars().count();
    if n == 0 {
        Some(format!("Inserisci {what}."))
    } else if n < min || n > max {
        Some(format!("Deve avere da {min} a {max} caratteri (ne ha {n})."))
    } else {
        None
    }
}

async fn create(
    State(state): State<PagesState>,
    Path((env, tipo)): Path<(String, String)>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, field(&pairs, "csrf"), Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let nome = field(&pairs, "nome").to_string();
    let descrizione = field(&pairs, "descrizione").to_string();
    let chosen: Vec<String> = pairs.iter().filter(|(k, _)| k == "membri").map(|(_, v)| v.clone()).collect();
    let mut page = create_page(&state, &bo, k, nome.clone(), descrizione.clone(), &chosen).await?;
    page.name_error = length_error("il nome del client", &nome, NAME_BOUNDS);
    page.description_error = length_error("la descrizione del client", &descrizione, DESCRIPTION_BOUNDS);
    let mut members = vec![];
    for m in &chosen {
        match (page.people.iter().any(|p| &p.id == m), m.parse::<UserId>()) {
            (true, Ok(u)) => members.push(u),
            _ => {
                page.members_error =
                    Some("Scegli i membri tra le persone dell'ente con un ruolo su questo ambiente.".into())
            }
        }
    }
    if page.has_errors() {
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let svc = state.platform.env(bo.env);
    match svc.create_client(&bo.caller, bo.tenant, k.kind, &nome, Some(&descrizione), members, None).await {
        Ok(c) => Ok(see_other(&format!("{}?esito=creato", client_path(&bo, k, c.id)))),
        Err(AppError::Invalid(m)) => {
            page.form_error = Some(PageError::from(AppError::Invalid(m)).message);
            render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(bo.err(&state, e)),
    }
}

// ------------------------------------------------------------------ one client

/// The client of the path, of this kind, which the person may see in full.
async fn load(state: &PagesState, bo: &Bo, k: Kind, id: &str) -> Result<Client, PageError> {
    let missing = || bo.err(state, PageError::not_found("Il client"));
    let id: ClientId = id.parse().map_err(|_| missing())?;
    let c = state.platform.env(bo.env).own_client(&bo.caller, id).await.map_err(|e| bo.err(state, e))?;
    if c.consumer_id != bo.tenant || c.kind != k.kind {
        return Err(missing());
    }
    Ok(c)
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    tab: Option<String>,
    esito: Option<String>,
}

struct Tab {
    label: &'static str,
    href: String,
    current: bool,
}

struct MemberRow {
    id: String,
    name: String,
}

struct KeyRow {
    name: String,
    kid: String,
    created: String,
    href: String,
}

struct PurposeRow {
    id: String,
    title: String,
    eservice: String,
    href: String,
}

#[derive(Template)]
#[template(path = "bo_client_dettaglio.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<&'static str>,
    name: String,
    description: String,
    kind_label: &'static str,
    client_id: String,
    created: String,
    back: String,
    list_title: &'static str,
    base: String,
    tabs: Vec<Tab>,
    tab: &'static str,
    may_manage: bool,
    may_keys: bool,
    is_member: bool,
    members: Vec<MemberRow>,
    addable: Vec<Person>,
    keys: Vec<KeyRow>,
    keys_full: bool,
    max_keys: usize,
    purposes: Vec<PurposeRow>,
    attachable: Vec<(String, String)>,
    /// "Admin API" (clients API Interoperabilità): the admin, and the members who
    /// are Amministratori of the Ente and may become it.
    admin: Option<MemberRow>,
    admin_candidates: Vec<MemberRow>,
}

async fn detail(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    let c = load(&state, &bo, k, &id).await?;
    let svc = state.platform.env(bo.env);
    let base = client_path(&bo, k, c.id);
    let mut names: Vec<(&'static str, &'static str)> =
        vec![("membri", "Membri del client"), ("chiavi", "Chiavi pubbliche")];
    if k.kind == ClientKind::Consumer {
        names.push(("finalita", "Finalità"));
    } else {
        names.push(("admin", "Admin API"));
    }
    let tab = names.iter().map(|(t, _)| *t).find(|t| Some(*t) == q.tab.as_deref()).unwrap_or("membri");
    let tabs =
        names.iter().map(|(t, label)| Tab { label, href: format!("{base}?tab={t}"), current: *t == tab }).collect();

    let mut members = vec![];
    for m in &c.members {
        members.push(MemberRow { id: m.to_string(), name: person_name(&state, *m).await });
    }
    let may_manage = bo.caller.may(Change::Client);
    let addable = if may_manage && tab == "membri" {
        people(&state, &bo).await?.into_iter().filter(|p| !members.iter().any(|m| m.id == p.id)).collect()
    } else {
        vec![]
    };
    let keys = c
        .keys
        .iter()
        .map(|key| KeyRow {
            name: key.name.clone(),
            kid: key.kid.to_string(),
            created: when(&key.created_at),
            href: format!("{base}/chiavi/{}", key.kid),
        })
        .collect();
    let mut purposes = vec![];
    let mut attachable = vec![];
    if k.kind == ClientKind::Consumer && tab == "finalita" {
        for p in svc.client_purposes(&bo.caller, c.id).await.map_err(|e| bo.err(&state, e))? {
            let eservice = svc.eservice(&bo.caller, p.eservice_id).await.map(|e| e.name).unwrap_or_default();
            purposes.push(PurposeRow {
                id: p.id.to_string(),
                href: bo.path(&format!("fruizione/finalita/{}", p.id)),
                title: p.title,
                eservice,
            });
        }
        if may_manage {
            let f = PurposeFilter {
                consumers: vec![bo.tenant],
                states: vec![PurposeVersionState::Active],
                ..PurposeFilter::default()
            };
            let active = svc.purposes(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
            attachable = active
                .items
                .into_iter()
                .filter(|p| !c.purposes.contains(&p.id))
                .map(|p| (p.id.to_string(), p.title))
                .collect();
        }
    }
    let mut admin = None;
    let mut admin_candidates = vec![];
    if k.kind == ClientKind::Api && tab == "admin" {
        if let Some(a) = c.admin_id {
            admin = Some(MemberRow { id: a.to_string(), name: person_name(&state, a).await });
        }
        if may_manage {
            let admins = people_with(&state, &bo, &["admin"]).await?;
            admin_candidates = members
                .iter()
                .filter(|m| admins.iter().any(|p| p.id == m.id))
                .filter(|m| admin.as_ref().is_none_or(|a| a.id != m.id))
                .map(|m| MemberRow { id: m.id.clone(), name: m.name.clone() })
                .collect();
        }
    }
    let is_member = bo.caller.user().is_some_and(|u| c.members.contains(&u));
    render(&DetailPage {
        layout: bo.layout(&state, &c.name, k.nav),
        notice: notice(q.esito.as_deref(), NOTICES),
        name: c.name.clone(),
        description: c.description.clone().unwrap_or_default(),
        kind_label: k.label,
        client_id: c.id.to_string(),
        created: when(&c.created_at),
        back: list_path(&bo, k),
        list_title: k.title,
        base,
        tabs,
        tab,
        may_manage,
        may_keys: bo.caller.may(Change::Chiavi),
        is_member,
        members,
        addable,
        keys_full: c.keys.len() >= MAX_KEYS,
        keys,
        max_keys: MAX_KEYS,
        purposes,
        attachable,
        admin,
        admin_candidates,
    })
}

// ------------------------------------------------------------------ actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conferma: String,
    #[serde(default)]
    membro: String,
    #[serde(default)]
    finalita: String,
    #[serde(default)]
    admin: String,
}

async fn delete(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let base = client_path(&bo, k, c.id);
    if form.conferma != "si" {
        let message = format!(
            "Vuoi eliminare il client «{}»? Le sue chiavi pubbliche vengono eliminate con lui e non potrà più \
             ottenere voucher. L'operazione non si può annullare.",
            c.name
        );
        return confirm(
            &bo,
            &state,
            k.nav,
            "Elimina client",
            &message,
            &format!("{base}/elimina"),
            "Elimina",
            &base,
            &[],
        );
    }
    let svc = state.platform.env(bo.env);
    svc.delete_client(&bo.caller, c.id).await.map_err(|e| bo.err(&state, e).back(&base, "Torna al client"))?;
    Ok(see_other(&format!("{}?esito=eliminato", list_path(&bo, k))))
}

async fn member_add(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let base = client_path(&bo, k, c.id);
    let back = format!("{base}?tab=membri");
    let allowed = people(&state, &bo).await?.iter().any(|p| p.id == form.membro.trim());
    let user: UserId = match form.membro.trim().parse() {
        Ok(u) if allowed => u,
        _ => {
            return Err(bo
                .err(&state, PageError::bad_request("Scegli una persona dell'ente con un ruolo su questo ambiente."))
                .back(&back, "Torna al client"))
        }
    };
    let svc = state.platform.env(bo.env);
    svc.add_client_member(&bo.caller, c.id, user)
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=membro-aggiunto")))
}

async fn member_remove(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let back = format!("{}?tab=membri", client_path(&bo, k, c.id));
    let fail = || bo.err(&state, PageError::not_found("Il membro del client")).back(&back, "Torna al client");
    let user: UserId = form.membro.trim().parse().map_err(|_| fail())?;
    let svc = state.platform.env(bo.env);
    svc.remove_client_member(&bo.caller, c.id, user)
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=membro-rimosso")))
}

async fn purpose_add(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let back = format!("{}?tab=finalita", client_path(&bo, k, c.id));
    let purpose: PurposeId = form.finalita.trim().parse().map_err(|_| {
        bo.err(&state, PageError::bad_request("Scegli una finalità attiva del tuo ente."))
            .back(&back, "Torna al client")
    })?;
    let svc = state.platform.env(bo.env);
    svc.add_client_purpose(&bo.caller, c.id, purpose)
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=finalita-associata")))
}

async fn purpose_remove(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let base = client_path(&bo, k, c.id);
    let back = format!("{base}?tab=finalita");
    let purpose: PurposeId = form
        .finalita
        .trim()
        .parse()
        .map_err(|_| bo.err(&state, PageError::not_found("La finalità")).back(&back, "Torna al client"))?;
    if form.conferma != "si" {
        let message = format!(
            "Vuoi rimuovere la finalità dal client «{}»? Il client non potrà più ottenere voucher per questa finalità.",
            c.name
        );
        let p = purpose.to_string();
        return confirm(
            &bo,
            &state,
            k.nav,
            "Rimuovi finalità dal client",
            &message,
            &format!("{base}/finalita/rimuovi"),
            "Rimuovi",
            &back,
            &[("finalita", &p)],
        );
    }
    let svc = state.platform.env(bo.env);
    svc.remove_client_purpose(&bo.caller, c.id, purpose)
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=finalita-rimossa")))
}

// ------------------------------------------------------------------ Admin API

/// A client API Interoperabilità of the path (the "Admin API" tab is theirs only).
async fn load_api(state: &PagesState, bo: &Bo, k: Kind, id: &str) -> Result<(Client, String), PageError> {
    let c = load(state, bo, k, id).await?;
    if c.kind != ClientKind::Api {
        return Err(bo.err(state, PageError::not_found("Il client API Interoperabilità")));
    }
    let back = format!("{}?tab=admin", client_path(bo, k, c.id));
    Ok((c, back))
}

/// "Seleziona admin" / "Sostituisci": a member who is an Amministratore of the Ente.
async fn admin_set(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let (c, back) = load_api(&state, &bo, k, &id).await?;
    let chosen = form.admin.trim();
    let admins = people_with(&state, &bo, &["admin"]).await?;
    let user: UserId =
        match chosen.parse::<UserId>() {
            Ok(u) if c.members.contains(&u) && admins.iter().any(|p| p.id == chosen) => u,
            _ => return Err(bo
                .err(
                    &state,
                    PageError::bad_request(
                        "Scegli come admin un membro del client che sia Amministratore dell'ente su questo ambiente.",
                    ),
                )
                .back(&back, "Torna al client")),
        };
    let svc = state.platform.env(bo.env);
    svc.set_client_admin(&bo.caller, c.id, Some(user))
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=admin-impostato")))
}

/// "Rimuovi" the admin, after a confirmation.
async fn admin_remove(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let (c, back) = load_api(&state, &bo, k, &id).await?;
    if c.admin_id.is_none() {
        return Err(bo.err(&state, PageError::not_found("L'admin del client")).back(&back, "Torna al client"));
    }
    if form.conferma != "si" {
        let message = format!(
            "Vuoi rimuovere l'admin dal client «{}»? I suoi voucher avranno il ruolo m2m, senza adminId: le \
             operazioni riservate a un amministratore non saranno più possibili.",
            c.name
        );
        return confirm(
            &bo,
            &state,
            k.nav,
            "Rimuovi admin",
            &message,
            &format!("{}/admin/rimuovi", client_path(&bo, k, c.id)),
            "Rimuovi",
            &back,
            &[],
        );
    }
    let svc = state.platform.env(bo.env);
    svc.set_client_admin(&bo.caller, c.id, None).await.map_err(|e| bo.err(&state, e).back(&back, "Torna al client"))?;
    Ok(see_other(&format!("{back}&esito=admin-rimosso")))
}

// ------------------------------------------------------------------ keys

#[derive(Template)]
#[template(path = "bo_client_chiave_nuova.html")]
struct KeyFormPage {
    layout: Layout,
    client: String,
    back: String,
    action: String,
    nome: String,
    chiave: String,
    name_error: Option<String>,
    key_error: Option<String>,
    private_key: bool,
    form_error: Option<String>,
}

impl KeyFormPage {
    fn has_errors(&self) -> bool {
        self.name_error.is_some() || self.key_error.is_some() || self.form_error.is_some()
    }
}

/// Members only: who is not one is told how to become one.
fn require_member(state: &PagesState, bo: &Bo, c: &Client, back: &str) -> Result<(), PageError> {
    if bo.caller.user().is_some_and(|u| c.members.contains(&u)) {
        return Ok(());
    }
    Err(bo
        .err(
            state,
            PageError::forbidden(
                "Per poter caricare una chiave, devi prima aggiungerti come utente nella tab «Membri del client».",
            ),
        )
        .back(back, "Torna al client"))
}

fn key_form_page(state: &PagesState, bo: &Bo, k: Kind, c: &Client) -> KeyFormPage {
    let base = client_path(bo, k, c.id);
    KeyFormPage {
        layout: bo.layout(state, "Inserisci nuova chiave pubblica", k.nav),
        client: c.name.clone(),
        back: format!("{base}?tab=chiavi"),
        action: format!("{base}/chiavi/aggiungi"),
        nome: String::new(),
        chiave: String::new(),
        name_error: None,
        key_error: None,
        private_key: false,
        form_error: None,
    }
}

async fn key_form(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    bo.require(&state, Change::Chiavi)?;
    let c = load(&state, &bo, k, &id).await?;
    let page = key_form_page(&state, &bo, k, &c);
    require_member(&state, &bo, &c, &page.back)?;
    if c.keys.len() >= MAX_KEYS {
        return Err(bo
            .err(&state, PageError::bad_request(format!("Il client ha già {MAX_KEYS} chiavi: eliminane una prima.")))
            .back(&page.back, "Torna al client"));
    }
    render(&page)
}

#[derive(Deserialize, Default)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nome: String,
    #[serde(default)]
    chiave: String,
}

/// What a paste error means, in Italian, for the person who pasted it.
fn key_problem(e: &KeyError) -> String {
    match e {
        KeyError::Empty => "Incolla la chiave pubblica, in formato PEM.".into(),
        KeyError::NotPem | KeyError::NotBase64 => "Il testo incollato non è una chiave in formato PEM: una chiave \
             pubblica inizia con «-----BEGIN PUBLIC KEY-----» e finisce con «-----END PUBLIC KEY-----»."
            .into(),
        KeyError::Certificate => "Hai incollato un certificato, non una chiave pubblica. Estrai la chiave dal \
             certificato con: openssl x509 -in cert.pem -pubkey -noout"
            .into(),
        KeyError::PrivateKey { .. } => "Hai incollato una chiave privata. Non è stata conservata. Una chiave \
             privata non va mai incollata da nessuna parte, né qui né altrove: resta solo sul sistema che firma le \
             client assertion. Se l'hai condivisa, considerala compromessa e generane una nuova. Qui va caricata \
             solo la chiave pubblica, che ottieni con: openssl rsa -in chiave-privata.pem -pubout"
            .into(),
        KeyError::NotRsa { .. } => "La chiave non è RSA: PDND Interoperabilità accetta solo chiavi RSA.".into(),
        KeyError::TooSmall { bits } => {
            format!("La chiave RSA è di {bits} bit: servono almeno 2048 bit. Generane una nuova più lunga.")
        }
        other => {
            let mut m = other.message_it();
            if let Some(f) = m.get(..1) {
                m = f.to_uppercase() + &m[1..];
            }
            format!("{m}.")
        }
    }
}

async fn key_add(
    State(state): State<PagesState>,
    Path((env, tipo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Chiavi).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let c = load(&state, &bo, k, &id).await?;
    let mut page = key_form_page(&state, &bo, k, &c);
    require_member(&state, &bo, &c, &page.back)?;
    page.nome = form.nome.clone();
    page.name_error = length_error("il nome della chiave", &form.nome, NAME_BOUNDS);
    let looks_private = form.chiave.to_ascii_uppercase().contains("PRIVATE");
    match RsaPublicKey::from_base64_pem(&form.chiave) {
        Ok(_) => page.chiave = form.chiave.clone(),
        Err(e) => {
            page.private_key = matches!(e, KeyError::PrivateKey { .. }) || looks_private;
            page.key_error = Some(if page.private_key {
                key_problem(&KeyError::PrivateKey { label: String::new() })
            } else {
                key_problem(&e)
            });
            // What was pasted goes back only when it is not secret.
            if !page.private_key {
                page.chiave = form.chiave.clone();
            }
        }
    }
    if page.has_errors() {
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let svc = state.platform.env(bo.env);
    match svc.add_client_key(&bo.caller, c.id, &form.nome, &form.chiave).await {
        Ok(key) => Ok(see_other(&format!("{}/chiavi/{}?esito=chiave-caricata", client_path(&bo, k, c.id), key.kid))),
        Err(AppError::Conflict(_)) => {
            page.key_error = Some(
                "Questa chiave è già caricata su questo ambiente (in questo o in un altro client): ogni chiave può \
                 essere caricata una volta sola. Genera una nuova coppia di chiavi."
                    .into(),
            );
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e @ (AppError::Invalid(_) | AppError::InvalidKey(_))) => {
            page.form_error = Some(PageError::from(e).message);
            render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(bo.err(&state, e).back(&page.back, "Torna al client")),
    }
}

#[derive(Template)]
#[template(path = "bo_client_chiave.html")]
struct KeyPage {
    layout: Layout,
    notice: Option<&'static str>,
    name: String,
    client: String,
    client_href: String,
    created: String,
    uploaded_by: String,
    kid: String,
    client_id: String,
    download: String,
    delete_action: String,
    may_delete: bool,
}

async fn load_key(state: &PagesState, bo: &Bo, k: Kind, id: &str, kid: &str) -> Result<(Client, ClientKey), PageError> {
    let c = load(state, bo, k, id).await?;
    let key = c
        .keys
        .iter()
        .find(|x| x.kid.as_str() == kid)
        .cloned()
        .ok_or_else(|| bo.err(state, PageError::not_found("La chiave")))?;
    Ok((c, key))
}

async fn key_page(
    State(state): State<PagesState>,
    Path((env, tipo, id, kid)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    let (c, key) = load_key(&state, &bo, k, &id, &kid).await?;
    let base = format!("{}/chiavi/{}", client_path(&bo, k, c.id), key.kid);
    let uploaded_by = match key.user_id {
        Some(u) => person_name(&state, u).await,
        None => "Caricata dal sistema".into(),
    };
    render(&KeyPage {
        layout: bo.layout(&state, &key.name, k.nav),
        notice: notice(q.esito.as_deref(), NOTICES),
        name: key.name.clone(),
        client: c.name.clone(),
        client_href: format!("{}?tab=chiavi", client_path(&bo, k, c.id)),
        created: when(&key.created_at),
        uploaded_by,
        kid: key.kid.to_string(),
        client_id: c.id.to_string(),
        download: format!("{base}/scarica"),
        delete_action: format!("{base}/elimina"),
        may_delete: bo.caller.may(Change::Chiavi),
    })
}

async fn key_download(
    State(state): State<PagesState>,
    Path((env, tipo, id, kid)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    may_see(&state, &bo)?;
    let (_, key) = load_key(&state, &bo, k, &id, &kid).await?;
    let mut r = key.pem.clone().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
    // The kid is [A-Za-z0-9_-] only: safe in the header.
    let disposition = format!("attachment; filename=\"{}.pem\"", key.kid);
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(PageError::internal)?);
    Ok(r)
}

async fn key_delete(
    State(state): State<PagesState>,
    Path((env, tipo, id, kid)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Chiavi).await?;
    let k = kind_of(&state, &bo, &tipo)?;
    let (c, key) = load_key(&state, &bo, k, &id, &kid).await?;
    let client = client_path(&bo, k, c.id);
    let here = format!("{client}/chiavi/{}", key.kid);
    if form.conferma != "si" {
        let message = format!(
            "Vuoi eliminare la chiave «{}» (kid {})? Le client assertion firmate con la sua chiave privata non \
             saranno più accettate.",
            key.name, key.kid
        );
        return confirm(
            &bo,
            &state,
            k.nav,
            "Elimina chiave",
            &message,
            &format!("{here}/elimina"),
            "Elimina",
            &here,
            &[],
        );
    }
    let svc = state.platform.env(bo.env);
    svc.delete_client_key(&bo.caller, c.id, &key.kid)
        .await
        .map_err(|e| bo.err(&state, e).back(&here, "Torna alla chiave"))?;
    Ok(see_other(&format!("{client}?tab=chiavi&esito=chiave-eliminata")))
}
