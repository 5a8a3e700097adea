//! Fruizione > "Catalogo e-service": the e-services published in the environment,
//! searched by name and producer, 12 a page; an e-service's page with what it asks
//! of its consumers (attributes, thresholds, approval) and the one action that fits
//! the Ente's situation: "Richiedi fruizione", "Completa richiesta", "Visualizza
//! richiesta" or "Aggiorna a nuova versione". The platform decides what the person
//! may see and do; the page only hides what their role may not use.
use super::frame::{notice, Bo, Nav};
use super::richieste::{self, group_rows, query_string, AttrGroup};
use crate::pages::{render, see_other, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use varco_domain::*;
use varco_platform::{AgreementFilter, Change, EServiceFilter, Page, TenantFilter};

const LIST: &str = "/interop/{env}/catalogo-e-service";
const ESERVICE: &str = "/interop/{env}/catalogo-e-service/{eservice_id}/{descriptor_id}";
const REQUEST: &str = "/interop/{env}/catalogo-e-service/{eservice_id}/{descriptor_id}/richiedi";
const INTERFACE: &str = "/interop/{env}/catalogo-e-service/{eservice_id}/{descriptor_id}/interfaccia";

pub const ROUTES: &[(&str, &str)] = &[("GET", LIST), ("GET", ESERVICE), ("POST", REQUEST), ("GET", INTERFACE)];

/// E-services per page of the catalogue, as PDND's.
pub const PAGE_SIZE: usize = 12;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(LIST, get(list))
        .route(ESERVICE, get(eservice_page))
        .route(REQUEST, post(request))
        .route(INTERFACE, get(interface))
}

/// The version of an e-service the catalogue shows: the published one, else the
/// newest one still in use (suspended or deprecated).
pub(crate) fn catalog_descriptor(e: &EService) -> Option<&Descriptor> {
    e.latest_published().or_else(|| {
        e.descriptors
            .iter()
            .filter(|d| matches!(d.state, DescriptorState::Suspended | DescriptorState::Deprecated))
            .max_by_key(|d| d.version)
    })
}

pub(crate) fn technology_label(t: Technology) -> &'static str {
    match t {
        Technology::Rest => "REST",
        Technology::Soap => "SOAP",
    }
}

// ------------------------------------------------------------------ the catalogue

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    nome: String,
    #[serde(default)]
    erogatore: String,
    pagina: Option<String>,
}

struct Card {
    name: String,
    producer: String,
    version: String,
    technology: &'static str,
    description: String,
    href: Option<String>,
}

pub(crate) struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
}

/// Links to every page of a list of `total` items (`base` already carries the
/// other parameters of the query, ending in `?` or `&`).
pub(crate) fn page_links(base: &str, total: usize, size: usize, current: usize) -> Vec<PageLink> {
    let pages = total.div_ceil(size);
    if pages <= 1 {
        return vec![];
    }
    (1..=pages).map(|n| PageLink { number: n, href: format!("{base}pagina={n}"), current: n == current }).collect()
}

/// The page number asked for (1 when absent or not a number).
pub(crate) fn page_number(raw: Option<&str>) -> usize {
    raw.and_then(|p| p.trim().parse::<usize>().ok()).filter(|&n| n >= 1).unwrap_or(1)
}

#[derive(Template)]
#[template(path = "bo_catalogo.html")]
struct ListPage {
    layout: crate::pages::Layout,
    action: String,
    nome: String,
    erogatore: String,
    filtered: bool,
    total: usize,
    cards: Vec<Card>,
    pages: Vec<PageLink>,
}

/// "Catalogo degli e-service".
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let nome = q.nome.trim().chars().take(100).collect::<String>();
    let erogatore = q.erogatore.trim().chars().take(100).collect::<String>();
    let pagina = page_number(q.pagina.as_deref());

    // "Cerca per erogatore": the producers whose name contains the text.
    let tenants = svc.tenants(&bo.caller, &TenantFilter::default(), Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let names: HashMap<TenantId, String> = tenants.items.iter().map(|t| (t.id, t.name.clone())).collect();
    let producers: Vec<TenantId> = if erogatore.is_empty() {
        vec![]
    } else {
        let wanted = erogatore.to_lowercase();
        tenants.items.iter().filter(|t| t.name.to_lowercase().contains(&wanted)).map(|t| t.id).collect()
    };
    let nobody = !erogatore.is_empty() && producers.is_empty();
    let filter =
        EServiceFilter { producers, name: (!nome.is_empty()).then(|| nome.clone()), ..EServiceFilter::default() };
    let found = if nobody {
        varco_platform::Paged { items: vec![], total: 0 }
    } else {
        let window = Page { offset: (pagina - 1) * PAGE_SIZE, limit: PAGE_SIZE };
        svc.eservices(&bo.caller, &filter, window).await.map_err(|e| bo.err(&state, e))?
    };
    let cards = found
        .items
        .iter()
        .map(|e| {
            let d = catalog_descriptor(e);
            Card {
                name: e.name.clone(),
                producer: names.get(&e.producer_id).cloned().unwrap_or_default(),
                version: d.map(|d| d.version.to_string()).unwrap_or_else(|| "–".into()),
                technology: technology_label(e.technology),
                description: e.description.clone(),
                href: d.map(|d| bo.path(&format!("catalogo-e-service/{}/{}", e.id, d.id))),
            }
        })
        .collect();
    let action = bo.path("catalogo-e-service");
    let base = format!("{action}?{}", query_string(&[("nome", &nome), ("erogatore", &erogatore)]));
    render(&ListPage {
        layout: bo.layout(&state, "Catalogo degli e-service", Nav::Catalogo),
        pages: page_links(&base, found.total, PAGE_SIZE, pagina),
        action,
        filtered: !nome.is_empty() || !erogatore.is_empty(),
        nome,
        erogatore,
        total: found.total,
        cards,
    })
}

// ------------------------------------------------------------------ an e-service

#[derive(Deserialize, Default)]
pub struct EServiceQuery {
    esito: Option<String>,
}

/// The one action the page offers (`kind`): "richiedi" (POST to `href`, or
/// disabled with `refused`), "completa" and "visualizza" (links), "aggiorna" (POST
/// to `href` on the agreement, `view` its page), "nuova" (this version is no longer
/// the published one: `href` is that one, `version` its number), "nessuna".
struct Action {
    kind: &'static str,
    href: String,
    view: String,
    refused: Option<&'static str>,
    version: u32,
}

impl Action {
    fn new(kind: &'static str, href: String) -> Action {
        Action { kind, href, view: String::new(), refused: None, version: 0 }
    }
}

#[derive(Template)]
#[template(path = "bo_catalogo_eservice.html")]
struct EServicePage {
    layout: crate::pages::Layout,
    notice: Option<&'static str>,
    name: String,
    description: String,
    producer: String,
    version: u32,
    version_description: String,
    state: &'static str,
    technology: &'static str,
    audiences: Vec<String>,
    voucher_lifespan: String,
    per_consumer: String,
    total: String,
    manual: bool,
    certified: Vec<AttrGroup>,
    declared: Vec<AttrGroup>,
    verified: Vec<AttrGroup>,
    action: Action,
    interface: Option<InterfaceMeta>,
    interface_href: String,
    back: String,
}

pub(crate) fn descriptor_state_label(s: DescriptorState) -> &'static str {
    match s {
        DescriptorState::Draft => "in bozza",
        DescriptorState::Published => "pubblicata",
        DescriptorState::Deprecated => "deprecata",
        DescriptorState::Suspended => "sospesa",
        DescriptorState::Archived => "archiviata",
    }
}

/// "1.000.000".
pub(crate) fn thousands(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn lifespan(secs: u32) -> String {
    if secs.is_multiple_of(60) {
        format!("{} secondi ({} minuti)", thousands(secs), secs / 60)
    } else {
        format!("{} secondi", thousands(secs))
    }
}

/// The e-service and version of a page's path, if both are ids.
pub(crate) fn ids(e: &str, d: &str) -> Option<(EServiceId, DescriptorId)> {
    Some((e.parse().ok()?, d.parse().ok()?))
}

/// An e-service of the catalogue, at one of its versions.
async fn eservice_page(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<EServiceQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let missing = || bo.err(&state, PageError::not_found("L'e-service"));
    let (eid, did) = ids(&e, &d).ok_or_else(missing)?;
    let svc = state.platform.env(bo.env);
    let es = svc.eservice(&bo.caller, eid).await.map_err(|e| bo.err(&state, e))?;
    let desc = es.descriptor(did).filter(|d| d.state != DescriptorState::Draft).ok_or_else(missing)?;
    let producer = svc.tenant(&bo.caller, es.producer_id).await.map_err(|e| bo.err(&state, e))?;
    let me = svc.tenant(&bo.caller, bo.tenant).await.map_err(|e| bo.err(&state, e))?;
    let groups = |kind| group_rows(&state, &bo, desc, kind, &me, es.producer_id);
    let (certified, declared, verified) = (
        groups(AttributeKind::Certified).await?,
        groups(AttributeKind::Declared).await?,
        groups(AttributeKind::Verified).await?,
    );

    // The Ente's request on this e-service, if it has one still alive.
    let mine = if bo.sees_fruizione() {
        let f = AgreementFilter { consumers: vec![bo.tenant], eservices: vec![es.id], ..AgreementFilter::default() };
        svc.agreements(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?.items
    } else {
        vec![]
    };
    let live = mine.iter().find(|a| !matches!(a.state, AgreementState::Archived | AgreementState::Rejected));
    let latest = es.latest_published();
    let request = |a: &Agreement| bo.path(&format!("fruizione/richieste/{}", a.id));
    let action = match (live, latest) {
        (Some(a), _) if a.state == AgreementState::Draft => Action::new("completa", format!("{}/modifica", request(a))),
        (Some(a), Some(l))
            if matches!(a.state, AgreementState::Active | AgreementState::Suspended)
                && l.id == desc.id
                && es.descriptor(a.descriptor_id).is_some_and(|cur| cur.version < l.version)
                && bo.caller.may(Change::Fruizione) =>
        {
            Action { view: request(a), ..Action::new("aggiorna", format!("{}/aggiorna", request(a))) }
        }
        (Some(a), _) => Action::new("visualizza", request(a)),
        (None, Some(l)) if l.id != desc.id => Action {
            version: l.version,
            ..Action::new("nuova", bo.path(&format!("catalogo-e-service/{}/{}", es.id, l.id)))
        },
        (None, Some(_)) => Action {
            refused: (!bo.caller.may(Change::Fruizione))
                .then_some("Solamente un amministratore può richiedere la fruizione di un e-service."),
            ..Action::new("richiedi", bo.path(&format!("catalogo-e-service/{}/{}/richiedi", es.id, desc.id)))
        },
        (None, None) => Action::new("nessuna", String::new()),
    };
    render(&EServicePage {
        layout: bo.layout(&state, &es.name, Nav::Catalogo),
        notice: notice(q.esito.as_deref(), richieste::NOTICES),
        name: es.name.clone(),
        description: es.description.clone(),
        producer: producer.name,
        version: desc.version,
        version_description: desc.description.clone().unwrap_or_default(),
        state: descriptor_state_label(desc.state),
        technology: technology_label(es.technology),
        audiences: desc.audience.clone(),
        voucher_lifespan: lifespan(desc.voucher_lifespan),
        per_consumer: thousands(desc.daily_calls_per_consumer),
        total: thousands(desc.daily_calls_total),
        manual: desc.agreement_approval_policy == ApprovalPolicy::Manual,
        certified,
        declared,
        verified,
        action,
        interface: desc.interface.clone(),
        interface_href: bo.path(&format!("catalogo-e-service/{}/{}/interfaccia", es.id, desc.id)),
        back: bo.path("catalogo-e-service"),
    })
}

/// "Scarica" the interface file of a version: for whoever may see the version
/// (the platform decides: its producer, or anyone once published), always as an
/// attachment, never shown in the page.
async fn interface(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let missing = || bo.err(&state, PageError::not_found("L'interfaccia"));
    let (eid, did) = ids(&e, &d).ok_or_else(missing)?;
    let (meta, bytes) = state.platform.env(bo.env).interface_file(&bo.caller, eid, did).await.map_err(|e| match e {
        varco_platform::AppError::NotFound(_) => missing(),
        e => bo.err(&state, e),
    })?;
    super::erogazione::attachment(bytes, &meta.content_type, &meta.name)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// "Richiedi fruizione": a draft request on the published version, then its page.
async fn request(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let (eid, _) = ids(&e, &d).ok_or_else(|| bo.err(&state, PageError::not_found("L'e-service")))?;
    let back = bo.path(&format!("catalogo-e-service/{e}/{d}"));
    let a = state
        .platform
        .env(bo.env)
        .create_agreement(&bo.caller, bo.tenant, eid)
        .await
        .map_err(|x| bo.err(&state, x).back(&back, "Torna all'e-service"))?;
    tracing::info!(env = bo.env.slug(), agreement = %a.id, "agreement draft created from the catalogue");
    Ok(see_other(&bo.path(&format!("fruizione/richieste/{}/modifica?esito=creata", a.id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_pages() {
        assert_eq!(thousands(1_000_000), "1.000.000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1.000");
        assert_eq!(lifespan(3600), "3.600 secondi (60 minuti)");
        assert!(page_links("/x?", 12, 12, 1).is_empty());
        let links = page_links("/x?nome=a&", 13, 12, 2);
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].href, "/x?nome=a&pagina=2");
        assert!(links[1].current);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("3")), 3);
    }
}
