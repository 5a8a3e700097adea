//! Fruizione > "Richieste inoltrate": the Ente's requests to use e-services
//! (agreements), filtered by e-service, producer and state; a draft's page
//! ("Messaggio per l'erogatore", the declared attributes to declare, "Salva bozza",
//! "Elimina bozza", "Inoltra richiesta"); a request's page ("Gestisci richiesta di
//! fruizione") with what it waits for and the actions of its state, each a POST
//! followed by a notice. The platform decides what the person may see and do; the
//! pages only hide the buttons their role may not use.
use super::catalogo::{page_links, page_number, PageLink};
use super::frame::{action_route, confirm, notice, Bo, Nav};
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use varco_domain::agreement::{certified_satisfied, declared_satisfied, verified_satisfied};
use varco_domain::*;
use varco_http::HttpStatus;
use varco_platform::{AgreementFilter, AppError, Change, Page};

const LIST: &str = "/interop/{env}/fruizione/richieste";
const DETAIL: &str = "/interop/{env}/fruizione/richieste/{id}";
const DRAFT: &str = "/interop/{env}/fruizione/richieste/{id}/modifica";
const SAVE: &str = "/interop/{env}/fruizione/richieste/{id}/salva";
const SUBMIT: &str = "/interop/{env}/fruizione/richieste/{id}/inoltra";
const DELETE: &str = "/interop/{env}/fruizione/richieste/{id}/elimina";
const DECLARE: &str = "/interop/{env}/fruizione/richieste/{id}/dichiara";
const SUSPEND: &str = "/interop/{env}/fruizione/richieste/{id}/sospendi";
const UNSUSPEND: &str = "/interop/{env}/fruizione/richieste/{id}/riattiva";
const ARCHIVE: &str = "/interop/{env}/fruizione/richieste/{id}/archivia";
const UPGRADE: &str = "/interop/{env}/fruizione/richieste/{id}/aggiorna";
const CLONE: &str = "/interop/{env}/fruizione/richieste/{id}/duplica";

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", LIST),
    ("GET", DETAIL),
    ("GET", DRAFT),
    ("POST", SAVE),
    ("POST", SUBMIT),
    ("POST", DELETE),
    ("POST", DECLARE),
    ("POST", SUSPEND),
    ("POST", UNSUSPEND),
    ("POST", ARCHIVE),
    ("POST", UPGRADE),
    ("POST", CLONE),
];

/// Requests per page of the list.
pub const PAGE_SIZE: usize = 10;
/// "Messaggio per l'erogatore": at most this many characters (as PDND's API).
pub const NOTES_MAX: usize = 1000;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(LIST, get(list))
        .route(DETAIL, get(detail))
        .route(DRAFT, get(draft))
        .route(SAVE, action_route(act, Act::Save))
        .route(SUBMIT, action_route(act, Act::Submit))
        .route(DELETE, action_route(act, Act::Delete))
        .route(DECLARE, action_route(act, Act::Declare))
        .route(SUSPEND, action_route(act, Act::Suspend))
        .route(UNSUSPEND, action_route(act, Act::Unsuspend))
        .route(ARCHIVE, action_route(act, Act::Archive))
        .route(UPGRADE, action_route(act, Act::Upgrade))
        .route(CLONE, action_route(act, Act::Clone))
}

/// The notices after an action (`?esito=`), for these pages and the catalogue's.
pub const NOTICES: &[(&str, &str)] = &[
    ("creata", "Bozza della richiesta creata: completala e inoltrala all'erogatore."),
    ("salvata", "Bozza salvata."),
    ("dichiarato", "Attributo dichiarato."),
    ("inoltrata", "Richiesta inoltrata."),
    ("sospesa", "Richiesta sospesa."),
    ("riattivata", "Richiesta riattivata."),
    ("archiviata", "Richiesta archiviata."),
    ("aggiornata", "Richiesta aggiornata alla nuova versione dell'e-service."),
    ("duplicata", "Richiesta duplicata: questa è la nuova bozza."),
    ("eliminata", "Richiesta eliminata."),
];

/// PDND's states of a request: the value of the filter and the label.
pub const STATES: [(AgreementState, &str, &str); 7] = [
    (AgreementState::Active, "ACTIVE", "attivo"),
    (AgreementState::Draft, "DRAFT", "in bozza"),
    (AgreementState::Suspended, "SUSPENDED", "sospeso"),
    (AgreementState::Pending, "PENDING", "in attesa di approvazione"),
    (AgreementState::Archived, "ARCHIVED", "archiviato"),
    (AgreementState::Rejected, "REJECTED", "rifiutato"),
    (AgreementState::MissingCertifiedAttributes, "MISSING_CERTIFIED_ATTRIBUTES", "attributi certificati mancanti"),
];

pub fn state_label(s: AgreementState) -> &'static str {
    STATES.iter().find(|(x, _, _)| *x == s).map(|(_, _, l)| *l).unwrap_or("")
}

/// A date as the pages show it.
pub(crate) fn when(t: &Timestamp) -> String {
    t.format("%d/%m/%Y %H:%M UTC").to_string()
}

/// The dates a request's page lists: those that happened, with their labels.
pub(crate) fn dates<'a>(
    stamps: impl IntoIterator<Item = (&'static str, Option<&'a Timestamp>)>,
) -> Vec<(&'static str, String)> {
    stamps.into_iter().filter_map(|(l, t)| t.map(|t| (l, when(t)))).collect()
}

/// A query string of the non-empty `pairs`, each followed by `&`.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}&", encode(v))).collect()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ------------------------------------------------------------------ attributes

/// An attribute the e-service asks for, and whether the Ente holds it.
pub(crate) struct AttrRow {
    pub id: String,
    pub name: String,
    pub held: bool,
}

/// A group of attributes: any one of them suffices.
pub(crate) struct AttrGroup {
    pub attrs: Vec<AttrRow>,
    pub satisfied: bool,
}

/// The groups of `kind` that version `d` asks for, with what the Ente `me` holds
/// (verified ones count when verified by the e-service's `producer`).
pub(crate) async fn group_rows(
    state: &PagesState,
    bo: &Bo,
    d: &Descriptor,
    kind: AttributeKind,
    me: &Tenant,
    producer: TenantId,
) -> Result<Vec<AttrGroup>, PageError> {
    let svc = state.platform.env(bo.env);
    let groups = match kind {
        AttributeKind::Certified => &d.attributes.certified,
        AttributeKind::Declared => &d.attributes.declared,
        AttributeKind::Verified => &d.attributes.verified,
    };
    let holds = |g: &[AttributeId]| {
        let g = [g.to_vec()];
        match kind {
            AttributeKind::Certified => certified_satisfied(&g, me),
            AttributeKind::Declared => declared_satisfied(&g, me),
            AttributeKind::Verified => verified_satisfied(&g, me, producer),
        }
    };
    let mut out = vec![];
    for g in groups {
        let mut attrs = vec![];
        for id in g {
            let name = match svc.attribute(&bo.caller, *id).await {
                Ok(a) => a.name,
                Err(AppError::NotFound(_)) => id.to_string(),
                Err(e) => return Err(bo.err(state, e)),
            };
            attrs.push(AttrRow { id: id.to_string(), name, held: holds(std::slice::from_ref(id)) });
        }
        out.push(AttrGroup { satisfied: holds(g), attrs });
    }
    Ok(out)
}

// ------------------------------------------------------------------ the list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    eservice: String,
    #[serde(default)]
    erogatore: String,
    #[serde(default)]
    stato: String,
    pagina: Option<String>,
    esito: Option<String>,
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

struct Row {
    eservice: String,
    producer: String,
    version: String,
    state: &'static str,
    href: String,
    link_label: &'static str,
}

#[derive(Template)]
#[template(path = "bo_richieste.html")]
struct ListPage {
    layout: Layout,
    notice: Option<&'static str>,
    action: String,
    eservices: Vec<Choice>,
    producers: Vec<Choice>,
    states: Vec<Choice>,
    filtered: bool,
    total: usize,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
    catalogue: String,
}

/// A filter value: empty means any; anything else must parse (else a 400 page
/// with a link to the unfiltered list `back`).
pub(crate) fn filter_id<T: std::str::FromStr>(
    bo: &Bo,
    state: &PagesState,
    raw: &str,
    what: &str,
    back: &str,
) -> Result<Vec<T>, PageError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(vec![]);
    }
    raw.parse().map(|v| vec![v]).map_err(|_| {
        bo.err(state, PageError::bad_request(format!("Il filtro «{what}» non ha un valore valido.")))
            .back(back, "Mostra tutte le richieste")
    })
}

/// The "Stato della richiesta" filter, among the list's `states`: empty means any;
/// anything else must be one of their codes (else a 400 page with a link to the
/// unfiltered list `back`).
pub(crate) fn filter_state<'a>(
    bo: &Bo,
    state: &PagesState,
    raw: &str,
    mut states: impl Iterator<Item = &'a (AgreementState, &'static str, &'static str)>,
    back: &str,
) -> Result<Vec<AgreementState>, PageError> {
    Ok(match raw.trim() {
        "" => vec![],
        s => vec![states.find(|(_, code, _)| *code == s).map(|(st, _, _)| *st).ok_or_else(|| {
            bo.err(state, PageError::bad_request("Il filtro «Stato della richiesta» non ha un valore valido."))
                .back(back, "Mostra tutte le richieste")
        })?],
    })
}

/// The choices of the state filter: the list's `states`, those `chosen` selected.
pub(crate) fn state_choices<'a>(
    states: impl Iterator<Item = &'a (AgreementState, &'static str, &'static str)>,
    chosen: &[AgreementState],
) -> Vec<Choice> {
    states
        .map(|(s, code, label)| Choice {
            value: code.to_string(),
            label: label.to_string(),
            selected: chosen.contains(s),
        })
        .collect()
}

/// The choices of a list's e-service and Ente filters (the producers or the
/// consumers, as the list shows the other party): each of the `pairs`' e-services
/// and Enti once, by name, sorted, those chosen selected. The names stay in `names`
/// for the list's rows.
pub(crate) async fn party_choices(
    state: &PagesState,
    bo: &Bo,
    names: &mut Names,
    pairs: &[(EServiceId, TenantId)],
    chosen_eservices: &[EServiceId],
    chosen_tenants: &[TenantId],
) -> (Vec<Choice>, Vec<Choice>) {
    let mut es_choices: Vec<Choice> = vec![];
    let mut te_choices: Vec<Choice> = vec![];
    for &(es, t) in pairs {
        if !es_choices.iter().any(|c| c.value == es.to_string()) {
            es_choices.push(Choice {
                value: es.to_string(),
                label: names.eservice_name(state, bo, es).await,
                selected: chosen_eservices.contains(&es),
            });
        }
        if !te_choices.iter().any(|c| c.value == t.to_string()) {
            te_choices.push(Choice {
                value: t.to_string(),
                label: names.tenant(state, bo, t).await,
                selected: chosen_tenants.contains(&t),
            });
        }
    }
    es_choices.sort_by(|a, b| a.label.cmp(&b.label));
    te_choices.sort_by(|a, b| a.label.cmp(&b.label));
    (es_choices, te_choices)
}

/// Names of e-services and tenants, looked up once per page.
#[derive(Default)]
pub(crate) struct Names {
    eservices: HashMap<EServiceId, Option<EService>>,
    tenants: HashMap<TenantId, String>,
}

impl Names {
    pub(crate) async fn eservice(&mut self, state: &PagesState, bo: &Bo, id: EServiceId) -> Option<&EService> {
        if let std::collections::hash_map::Entry::Vacant(v) = self.eservices.entry(id) {
            v.insert(state.platform.env(bo.env).eservice(&bo.caller, id).await.ok());
        }
        self.eservices.get(&id).and_then(Option::as_ref)
    }

    /// An e-service's name; its id when the platform does not show it.
    pub(crate) async fn eservice_name(&mut self, state: &PagesState, bo: &Bo, id: EServiceId) -> String {
        self.eservice(state, bo, id).await.map(|e| e.name.clone()).unwrap_or(id.to_string())
    }

    /// A request's e-service as the lists show it: its name (else its id) and the
    /// number of the request's version (empty when not shown).
    pub(crate) async fn eservice_version(&mut self, state: &PagesState, bo: &Bo, a: &Agreement) -> (String, String) {
        let es = self.eservice(state, bo, a.eservice_id).await;
        let eservice = es.map(|e| e.name.clone()).unwrap_or(a.eservice_id.to_string());
        let version = es.and_then(|e| e.descriptor(a.descriptor_id)).map(|d| d.version.to_string()).unwrap_or_default();
        (eservice, version)
    }

    pub(crate) async fn tenant(&mut self, state: &PagesState, bo: &Bo, id: TenantId) -> String {
        if let std::collections::hash_map::Entry::Vacant(v) = self.tenants.entry(id) {
            let t = state.platform.env(bo.env).tenant(&bo.caller, id).await;
            v.insert(t.map(|t| t.name).unwrap_or(id.to_string()));
        }
        self.tenants[&id].clone()
    }
}

/// "Richieste di fruizione inoltrate".
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    // The sidebar hides Fruizione from who may not open it (the platform's rule).
    if !bo.sees_fruizione() {
        return Err(bo.err(
            &state,
            PageError::forbidden("Il tuo ruolo non consente di consultare le richieste di fruizione dell'ente."),
        ));
    }
    let svc = state.platform.env(bo.env);
    let back = bo.path("fruizione/richieste");
    let eservices: Vec<EServiceId> = filter_id(&bo, &state, &q.eservice, "E-service", &back)?;
    let producers: Vec<TenantId> = filter_id(&bo, &state, &q.erogatore, "Erogatore", &back)?;
    let states = filter_state(&bo, &state, &q.stato, STATES.iter(), &back)?;
    let pagina = page_number(q.pagina.as_deref());

    // The choices of the filters: the e-services and producers of the Ente's requests.
    let mine = AgreementFilter { consumers: vec![bo.tenant], ..AgreementFilter::default() };
    let all = svc.agreements(&bo.caller, &mine, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mut names = Names::default();
    let pairs: Vec<(EServiceId, TenantId)> = all.items.iter().map(|a| (a.eservice_id, a.producer_id)).collect();
    let (es_choices, pr_choices) = party_choices(&state, &bo, &mut names, &pairs, &eservices, &producers).await;
    let state_choices = state_choices(STATES.iter(), &states);

    let filtered = !(eservices.is_empty() && producers.is_empty() && states.is_empty());
    let f = AgreementFilter { consumers: vec![bo.tenant], eservices, producers, states, ..AgreementFilter::default() };
    let window = Page { offset: (pagina - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    let found = svc.agreements(&bo.caller, &f, window).await.map_err(|e| bo.err(&state, e))?;
    let mut rows = vec![];
    for a in &found.items {
        let (eservice, version) = names.eservice_version(&state, &bo, a).await;
        let draft = a.state == AgreementState::Draft;
        let href = bo.path(&format!("fruizione/richieste/{}{}", a.id, if draft { "/modifica" } else { "" }));
        rows.push(Row {
            eservice,
            producer: names.tenant(&state, &bo, a.producer_id).await,
            version,
            state: state_label(a.state),
            href,
            link_label: if draft && bo.caller.may(Change::Fruizione) { "Modifica" } else { "Visualizza" },
        });
    }
    let action = bo.path("fruizione/richieste");
    let base = format!(
        "{action}?{}",
        query_string(&[("eservice", &q.eservice), ("erogatore", &q.erogatore), ("stato", &q.stato)])
    );
    render(&ListPage {
        layout: bo.layout(&state, "Richieste di fruizione inoltrate", Nav::Richieste),
        notice: notice(q.esito.as_deref(), NOTICES),
        pages: page_links(&base, found.total, PAGE_SIZE, pagina),
        action,
        eservices: es_choices,
        producers: pr_choices,
        states: state_choices,
        filtered,
        total: found.total,
        rows,
        catalogue: bo.path("catalogo-e-service"),
    })
}

// ------------------------------------------------------------------ one request

/// A request with what its pages show of it.
struct Ctx {
    a: Agreement,
    es: EService,
    desc: Descriptor,
    producer: Tenant,
    me: Tenant,
}

async fn load(state: &PagesState, bo: &Bo, id: &str) -> Result<Ctx, PageError> {
    let missing = || bo.err(state, PageError::not_found("La richiesta di fruizione"));
    let id: AgreementId = id.parse().map_err(|_| missing())?;
    let svc = state.platform.env(bo.env);
    let a = svc.agreement(&bo.caller, id).await.map_err(|e| bo.err(state, e))?;
    // These are the Ente's own requests; the ones it received are elsewhere.
    if a.consumer_id != bo.tenant {
        return Err(missing());
    }
    let es = svc.eservice(&bo.caller, a.eservice_id).await.map_err(|e| bo.err(state, e))?;
    let desc = es.descriptor(a.descriptor_id).cloned().ok_or_else(missing)?;
    let producer = svc.tenant(&bo.caller, a.producer_id).await.map_err(|e| bo.err(state, e))?;
    let me = svc.tenant(&bo.caller, bo.tenant).await.map_err(|e| bo.err(state, e))?;
    Ok(Ctx { a, es, desc, producer, me })
}

fn detail_path(bo: &Bo, id: AgreementId) -> String {
    bo.path(&format!("fruizione/richieste/{id}"))
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    pub(crate) esito: Option<String>,
}

/// A button of the request's page: a POST form.
pub(crate) struct Button {
    pub label: &'static str,
    pub action: String,
    pub danger: bool,
}

#[derive(Template)]
#[template(path = "bo_richieste_dettaglio.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<&'static str>,
    eservice: String,
    eservice_href: String,
    producer: String,
    version: u32,
    newer_version: Option<u32>,
    state: &'static str,
    suspended_by: String,
    dates: Vec<(&'static str, String)>,
    notes: String,
    rejection_reason: String,
    waiting: Vec<String>,
    missing_certified: Vec<AttrGroup>,
    edit_href: Option<String>,
    buttons: Vec<Button>,
    read_only: bool,
    back: String,
}

/// "Gestisci richiesta di fruizione".
async fn detail(
    State(state): State<PagesState>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let Ctx { a, es, desc, producer, me } = load(&state, &bo, &id).await?;
    let base = detail_path(&bo, a.id);
    let newer = es.latest_published().filter(|l| l.version > desc.version).map(|l| l.version);
    let live = matches!(a.state, AgreementState::Active | AgreementState::Suspended);

    let mut suspended_by = vec![];
    if a.state == AgreementState::Suspended {
        if a.suspended_by_consumer {
            suspended_by.push("dal tuo ente");
        }
        if a.suspended_by_producer {
            suspended_by.push("dall'erogatore");
        }
        if a.suspended_by_platform {
            suspended_by.push("dalla piattaforma");
        }
    }
    let s = &a.stamps;
    let dates = dates([
        ("Data di creazione", Some(&a.created_at)),
        ("Data di inoltro", s.submission.as_ref().map(|x| &x.when)),
        ("Data di attivazione", s.activation.as_ref().map(|x| &x.when)),
        ("Sospesa dal tuo ente il", s.suspension_by_consumer.as_ref().map(|x| &x.when)),
        ("Sospesa dall'erogatore il", s.suspension_by_producer.as_ref().map(|x| &x.when)),
        ("Data di rifiuto", s.rejection.as_ref().map(|x| &x.when)),
        ("Aggiornata di versione il", s.upgrade.as_ref().map(|x| &x.when)),
        ("Data di archiviazione", s.archiving.as_ref().map(|x| &x.when)),
    ]);

    // Why it waits.
    let mut waiting = vec![];
    let mut missing_certified = vec![];
    match a.state {
        AgreementState::Pending => {
            let verified = group_rows(&state, &bo, &desc, AttributeKind::Verified, &me, es.producer_id).await?;
            if desc.agreement_approval_policy == ApprovalPolicy::Manual {
                waiting.push(
                    "L'erogatore approva manualmente le richieste di questo e-service: la richiesta attende la sua \
                     approvazione."
                        .to_string(),
                );
            }
            for g in verified.iter().filter(|g| !g.satisfied) {
                let names: Vec<&str> = g.attrs.iter().map(|x| x.name.as_str()).collect();
                waiting.push(format!(
                    "L'erogatore deve verificare per il tuo ente uno di questi attributi: {}.",
                    names.join(", ")
                ));
            }
        }
        AgreementState::MissingCertifiedAttributes => {
            waiting.push(
                "Al tuo ente mancano attributi certificati richiesti dall'e-service: la richiesta potrà essere \
                 inoltrata quando li avrà."
                    .to_string(),
            );
            missing_certified = group_rows(&state, &bo, &desc, AttributeKind::Certified, &me, es.producer_id)
                .await?
                .into_iter()
                .filter(|g| !g.satisfied)
                .collect();
        }
        _ => {}
    }

    // The actions of its state.
    let button = |label, rest: &str, danger| Button { label, action: format!("{base}/{rest}"), danger };
    let mut buttons = vec![];
    let mut edit_href = None;
    match a.state {
        AgreementState::Draft => {
            edit_href = Some(format!("{base}/modifica"));
            buttons.push(button("Elimina bozza", "elimina", true));
        }
        AgreementState::Pending | AgreementState::MissingCertifiedAttributes => {
            buttons.push(button("Elimina", "elimina", true))
        }
        AgreementState::Active | AgreementState::Suspended => {
            if a.suspended_by_consumer {
                buttons.push(button("Riattiva", "riattiva", false));
            } else {
                buttons.push(button("Sospendi", "sospendi", false));
            }
            if newer.is_some() {
                buttons.push(button("Aggiorna a nuova versione", "aggiorna", false));
            }
            buttons.push(button("Archivia", "archivia", true));
        }
        AgreementState::Rejected => buttons.push(button("Duplica", "duplica", false)),
        AgreementState::Archived => {}
    }
    let may = bo.caller.may(Change::Fruizione);
    let read_only = !may && (!buttons.is_empty() || edit_href.is_some());
    if !may {
        buttons.clear();
        edit_href = None;
    }
    render(&DetailPage {
        layout: bo.layout(&state, "Gestisci richiesta di fruizione", Nav::Richieste),
        notice: notice(q.esito.as_deref(), NOTICES),
        eservice: es.name.clone(),
        eservice_href: bo.path(&format!("catalogo-e-service/{}/{}", es.id, desc.id)),
        producer: producer.name,
        version: desc.version,
        newer_version: newer.filter(|_| live),
        state: state_label(a.state),
        suspended_by: suspended_by.join(", "),
        dates,
        notes: a.consumer_notes.clone().unwrap_or_default(),
        rejection_reason: a.rejection_reason.clone().unwrap_or_default(),
        waiting,
        missing_certified,
        edit_href,
        buttons,
        read_only,
        back: bo.path("fruizione/richieste"),
    })
}

// ------------------------------------------------------------------ the draft

#[derive(Template)]
#[template(path = "bo_richieste_bozza.html")]
struct DraftPage {
    layout: Layout,
    notice: Option<&'static str>,
    eservice: String,
    eservice_href: String,
    producer: String,
    version: u32,
    manual: bool,
    certified: Vec<AttrGroup>,
    declared: Vec<AttrGroup>,
    verified: Vec<AttrGroup>,
    certified_missing: bool,
    declared_missing: bool,
    may_declare: bool,
    declare_action: String,
    notes: String,
    notes_max: usize,
    notes_error: Option<String>,
    form_error: Option<String>,
    may_edit: bool,
    save_action: String,
    submit_action: String,
    delete_action: String,
    back: String,
}

async fn draft_page(
    state: &PagesState,
    bo: &Bo,
    ctx: Ctx,
    notes: String,
    notes_error: Option<String>,
    form_error: Option<String>,
    notice: Option<&'static str>,
) -> Result<DraftPage, PageError> {
    let Ctx { a, es, desc, producer, me } = ctx;
    let groups = |kind| group_rows(state, bo, &desc, kind, &me, es.producer_id);
    let certified = groups(AttributeKind::Certified).await?;
    let declared = groups(AttributeKind::Declared).await?;
    let verified = groups(AttributeKind::Verified).await?;
    let base = detail_path(bo, a.id);
    Ok(DraftPage {
        layout: bo.layout(state, "Gestisci richiesta di fruizione", Nav::Richieste),
        notice,
        eservice: es.name.clone(),
        eservice_href: bo.path(&format!("catalogo-e-service/{}/{}", es.id, desc.id)),
        producer: producer.name,
        version: desc.version,
        manual: desc.agreement_approval_policy == ApprovalPolicy::Manual,
        certified_missing: certified.iter().any(|g| !g.satisfied),
        declared_missing: declared.iter().any(|g| !g.satisfied),
        certified,
        declared,
        verified,
        may_declare: bo.caller.may(Change::Attributi),
        declare_action: format!("{base}/dichiara"),
        notes,
        notes_max: NOTES_MAX,
        notes_error,
        form_error,
        may_edit: bo.caller.may(Change::Fruizione),
        save_action: format!("{base}/salva"),
        submit_action: format!("{base}/inoltra"),
        delete_action: format!("{base}/elimina"),
        back: bo.path("fruizione/richieste"),
    })
}

/// The draft's page; a request no longer in draft shows its own page.
async fn draft(
    State(state): State<PagesState>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let ctx = load(&state, &bo, &id).await?;
    if ctx.a.state != AgreementState::Draft {
        return Ok(see_other(&detail_path(&bo, ctx.a.id)));
    }
    let notes = ctx.a.consumer_notes.clone().unwrap_or_default();
    render(&draft_page(&state, &bo, ctx, notes, None, None, notice(q.esito.as_deref(), NOTICES)).await?)
}

// ------------------------------------------------------------------ actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conferma: String,
    #[serde(default)]
    messaggio: String,
    #[serde(default)]
    attributo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Save,
    Submit,
    Delete,
    Declare,
    Suspend,
    Unsuspend,
    Archive,
    Upgrade,
    Clone,
}

/// Every action of these pages: checked token, the platform's use case, then a
/// redirect with the notice (or the draft again, with what was typed, when the
/// message or the request is not acceptable).
async fn act(
    State(state): State<PagesState>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
    what: Act,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let ctx = load(&state, &bo, &id).await?;
    let svc = state.platform.env(bo.env);
    let id = ctx.a.id;
    let base = detail_path(&bo, id);
    let here = if ctx.a.state == AgreementState::Draft { format!("{base}/modifica") } else { base.clone() };
    let fail = |e: AppError| bo.err(&state, e).back(&here, "Torna alla richiesta");
    let done = |to: &str, esito: &str| Ok(see_other(&format!("{to}?esito={esito}")));
    match what {
        Act::Save | Act::Submit => {
            let notes = form.messaggio;
            let n = notes.chars().count();
            if n > NOTES_MAX {
                let msg = format!("Il messaggio può avere al massimo {NOTES_MAX} caratteri (ne ha {n}).");
                let page = draft_page(&state, &bo, ctx, notes, Some(msg), None, None).await?;
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
            let r = if what == Act::Save {
                svc.update_agreement_draft(&bo.caller, id, Some(notes.clone())).await
            } else {
                svc.submit_agreement(&bo.caller, id, Some(notes.clone())).await
            };
            match r {
                Ok(_) if what == Act::Save => done(&format!("{base}/modifica"), "salvata"),
                Ok(_) => {
                    tracing::info!(env = bo.env.slug(), agreement = %id, "agreement submitted from the back office");
                    done(&base, "inoltrata")
                }
                // Not acceptable as it is: the draft again, with the reason and what was typed.
                Err(e) if matches!(e.http_status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
                    let msg = PageError::from(e).message;
                    let page = draft_page(&state, &bo, ctx, notes, None, Some(msg), None).await?;
                    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
                }
                Err(e) => Err(fail(e)),
            }
        }
        Act::Declare => {
            let attr: AttributeId = form
                .attributo
                .trim()
                .parse()
                .map_err(|_| bo.err(&state, PageError::bad_request("Indica l'attributo da dichiarare.")))?;
            svc.declare_attribute(&bo.caller, bo.tenant, attr).await.map_err(fail)?;
            done(&here, "dichiarato")
        }
        Act::Delete | Act::Archive if form.conferma != "si" => {
            let (heading, message, label) = match (what, ctx.a.state) {
                (Act::Archive, _) => (
                    "Archivia la richiesta",
                    format!(
                        "Archiviando la richiesta di fruizione di «{}» il tuo ente non potrà più usare l'e-service \
                         con questa richiesta, e le sue finalità non otterranno più voucher. L'operazione non si \
                         può annullare.",
                        ctx.es.name
                    ),
                    "Archivia",
                ),
                (_, AgreementState::Draft) => (
                    "Elimina bozza",
                    format!("La bozza della richiesta di fruizione di «{}» sarà eliminata.", ctx.es.name),
                    "Elimina bozza",
                ),
                _ => (
                    "Elimina la richiesta",
                    format!("La richiesta di fruizione di «{}» sarà eliminata.", ctx.es.name),
                    "Elimina",
                ),
            };
            let action = format!("{base}/{}", if what == Act::Archive { "archivia" } else { "elimina" });
            confirm(&bo, &state, Nav::Richieste, heading, &message, &action, label, &here, &[])
        }
        Act::Delete => {
            svc.delete_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&bo.path("fruizione/richieste"), "eliminata")
        }
        Act::Archive => {
            svc.archive_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&base, "archiviata")
        }
        Act::Suspend => {
            svc.suspend_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&base, "sospesa")
        }
        Act::Unsuspend => {
            svc.unsuspend_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&base, "riattivata")
        }
        Act::Upgrade => {
            let new = svc.upgrade_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&detail_path(&bo, new.id), "aggiornata")
        }
        Act::Clone => {
            let new = svc.clone_agreement(&bo.caller, id).await.map_err(fail)?;
            done(&format!("{}/modifica", detail_path(&bo, new.id)), "duplicata")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_queries() {
        assert_eq!(state_label(AgreementState::MissingCertifiedAttributes), "attributi certificati mancanti");
        assert_eq!(state_label(AgreementState::Pending), "in attesa di approvazione");
        assert_eq!(query_string(&[("nome", "SEND - UAT"), ("x", "")]), "nome=SEND%20-%20UAT&");
        assert_eq!(encode("à&="), "%C3%A0%26%3D");
    }

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r), "{r:?} twice");
        }
        assert_eq!(ROUTES.iter().filter(|(m, _)| *m == "POST").count(), 9);
    }
}
