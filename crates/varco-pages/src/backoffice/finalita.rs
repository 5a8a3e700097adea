//! Fruizione > "Finalità inoltrate": the Ente's purposes (finalità) on the
//! e-services it uses. The list ("Le mie finalità inoltrate"); "Crea nuovo" in two
//! steps, "Informazioni generali" (the draft is made on "Salva bozza e prosegui")
//! and "Analisi del rischio" (`rischio`); the "Riepilogo" with "Pubblica"; the
//! purpose's page with its clients and the actions its state allows, each ending
//! with a notice. Every read and change goes to the platform with the person's
//! caller: the platform decides what they may see and do; the pages only leave
//! out the buttons their role may not use.
mod rischio;

use super::frame::{confirm, notice, Bo, Nav};
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
pub(crate) use rischio::AnswerView;
use rischio::QuestionView;
use serde::Deserialize;
use std::collections::hash_map::{Entry, HashMap};
use varco_domain::risk_analysis::{rules_for, RiskAnalysisError};
use varco_domain::{
    AgreementState, ClientKind, DomainError, EService, EServiceId, Purpose, PurposeId, PurposeVersionState,
    RiskAnalysisForm, TenantKind,
};
use varco_platform::{AgreementFilter, AppError, Change, ClientFilter, ClientView, EnvService, Page, PurposeFilter};

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/interop/{env}/fruizione/finalita"),
    ("GET", "/interop/{env}/fruizione/finalita/crea"),
    ("POST", "/interop/{env}/fruizione/finalita/crea"),
    ("GET", "/interop/{env}/fruizione/finalita/{id}"),
    ("GET", "/interop/{env}/fruizione/finalita/{id}/modifica"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/modifica"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/modifica/informazioni"),
    ("GET", "/interop/{env}/fruizione/finalita/{id}/riepilogo"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/pubblica"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/elimina"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/sospendi"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/riattiva"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/archivia"),
    ("GET", "/interop/{env}/fruizione/finalita/{id}/cambio-stima"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/cambio-stima"),
    ("POST", "/interop/{env}/fruizione/finalita/{id}/client/aggiungi"),
];

pub fn routes() -> Router<PagesState> {
    const BASE: &str = "/interop/{env}/fruizione/finalita";
    Router::new()
        .route(BASE, get(list))
        .route(&format!("{BASE}/crea"), get(new_form).post(create))
        .route(&format!("{BASE}/{{id}}"), get(detail))
        .route(&format!("{BASE}/{{id}}/modifica"), get(edit).post(save_risk_analysis))
        .route(&format!("{BASE}/{{id}}/modifica/informazioni"), post(save_general))
        .route(&format!("{BASE}/{{id}}/riepilogo"), get(summary))
        .route(&format!("{BASE}/{{id}}/pubblica"), post(publish))
        .route(&format!("{BASE}/{{id}}/elimina"), post(remove))
        .route(&format!("{BASE}/{{id}}/sospendi"), post(suspend))
        .route(&format!("{BASE}/{{id}}/riattiva"), post(unsuspend))
        .route(&format!("{BASE}/{{id}}/archivia"), post(archive))
        .route(&format!("{BASE}/{{id}}/cambio-stima"), get(estimate_form).post(change_estimate))
        .route(&format!("{BASE}/{{id}}/client/aggiungi"), post(client_add))
}

/// Purposes a page of the list shows.
const PAGE_SIZE: usize = 10;

/// The notices after an action (`?esito=`).
const NOTICES: &[(&str, &str)] = &[
    ("pubblicata", "La finalità è stata pubblicata ed è attiva."),
    (
        "in-attesa",
        "La finalità è stata pubblicata: la stima di carico supera la soglia dell'e-service, quindi è in attesa \
         di approvazione da parte dell'erogatore.",
    ),
    ("salvata", "La bozza è stata salvata."),
    ("eliminata", "La bozza della finalità è stata eliminata."),
    ("sospesa", "La finalità è stata sospesa."),
    ("riattivata", "La finalità è stata riattivata."),
    ("archiviata", "La finalità è stata archiviata."),
    ("stima-attiva", "La nuova stima di carico è attiva."),
    ("client-associato", "Client associato alla finalità."),
    (
        "stima-in-attesa",
        "Il cambio stima è stato richiesto: supera la soglia dell'e-service ed è in attesa di approvazione da \
         parte dell'erogatore. Fino ad allora resta in uso la stima attuale.",
    ),
];

// Bounds of the fields of "Informazioni generali", as the platform enforces them
// (`varco_domain::purpose`): checked here too, to show every message at once next
// to its field; the platform still decides.
const TITLE_CHARS: (usize, usize) = (5, 60);
const DESCRIPTION_CHARS: (usize, usize) = (10, 250);
const REASON_MAX_CHARS: usize = 250;

// ------------------------------------------------------------------ helpers

fn base(bo: &Bo) -> String {
    bo.path("fruizione/finalita")
}

fn url(bo: &Bo, id: PurposeId, rest: &str) -> String {
    let b = format!("{}/{id}", base(bo));
    if rest.is_empty() {
        b
    } else {
        format!("{b}/{rest}")
    }
}

fn parse_id(raw: &str) -> Result<PurposeId, PageError> {
    raw.parse().map_err(|_| PageError::not_found("La finalità"))
}

/// PDND's labels of a purpose's states.
pub(crate) fn state_label(s: PurposeVersionState) -> &'static str {
    match s {
        PurposeVersionState::Draft => "In bozza",
        PurposeVersionState::Active => "Attivo",
        PurposeVersionState::Suspended => "Sospeso",
        PurposeVersionState::WaitingForApproval => "In attesa di approvazione",
        PurposeVersionState::Archived => "Archiviato",
        PurposeVersionState::Rejected => "Rifiutato",
    }
}

pub(crate) fn state_badge(s: PurposeVersionState) -> &'static str {
    match s {
        PurposeVersionState::Active => "bg-success",
        PurposeVersionState::Suspended | PurposeVersionState::Rejected => "bg-danger",
        PurposeVersionState::WaitingForApproval => "bg-warning text-dark",
        PurposeVersionState::Draft | PurposeVersionState::Archived => "bg-secondary",
    }
}

/// The state of the purpose as shown, and the daily calls of that version: the
/// version in use, else the one waiting for approval, else the draft, else the last.
pub(crate) fn shown(p: &Purpose) -> (PurposeVersionState, u32) {
    p.current_version()
        .or_else(|| p.waiting_version())
        .or_else(|| p.draft_version())
        .or_else(|| p.versions.last())
        .map(|v| (v.state, v.daily_calls))
        .unwrap_or((PurposeVersionState::Archived, 0))
}

fn is_draft(p: &Purpose) -> bool {
    p.versions.iter().all(|v| v.state == PurposeVersionState::Draft)
}

/// 1000000 → "1.000.000".
pub(crate) fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn is_invalid_input(e: &AppError) -> bool {
    matches!(e, AppError::Invalid(_) | AppError::Domain(DomainError::Invalid(_)))
}

fn sentence(s: &str) -> String {
    let mut out = varco_selfcare::rules::capitalize(s);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The Fruizione pages are for who may see the Ente's consumer side (as the sidebar).
async fn enter(state: &PagesState, headers: &HeaderMap, env: &str) -> Result<Bo, PageError> {
    let bo = Bo::enter(state, headers, env).await?;
    if !bo.sees_fruizione() {
        return Err(bo.err(state, PageError::forbidden("Il tuo ruolo non consente di vedere le finalità dell'ente.")));
    }
    Ok(bo)
}

/// The field value `name` of a posted form (the first one).
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Names of e-services, looked up once each.
struct Names<'a> {
    svc: EnvService<'a>,
    seen: HashMap<EServiceId, Option<EService>>,
}

impl<'a> Names<'a> {
    fn new(svc: EnvService<'a>) -> Self {
        Names { svc, seen: HashMap::new() }
    }

    async fn eservice(&mut self, bo: &Bo, id: EServiceId) -> Option<&EService> {
        if let Entry::Vacant(slot) = self.seen.entry(id) {
            slot.insert(self.svc.eservice(&bo.caller, id).await.ok());
        }
        self.seen.get(&id).and_then(|e| e.as_ref())
    }

    async fn name(&mut self, bo: &Bo, id: EServiceId) -> String {
        self.eservice(bo, id).await.map(|e| e.name.clone()).unwrap_or_else(|| id.to_string())
    }
}

/// A choice of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Messages next to the fields of a form, by field name.
#[derive(Default)]
pub struct Errs(Vec<(&'static str, String)>);

impl Errs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, m)| m.as_str())
    }
    fn add(&mut self, name: &'static str, msg: impl Into<String>) {
        self.0.push((name, msg.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One step of "Crea finalità".
pub struct Step {
    pub number: usize,
    pub label: &'static str,
    pub current: bool,
}

fn steps(at: usize) -> Vec<Step> {
    ["Informazioni generali", "Analisi del rischio"]
        .into_iter()
        .enumerate()
        .map(|(i, label)| Step { number: i + 1, label, current: i + 1 == at })
        .collect()
}

// --------------------------------------------------------------------- list

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    eservice: Option<String>,
    stato: Option<String>,
    pagina: Option<usize>,
    esito: Option<String>,
}

const STATE_FILTERS: &[(&str, PurposeVersionState)] = &[
    ("DRAFT", PurposeVersionState::Draft),
    ("ACTIVE", PurposeVersionState::Active),
    ("SUSPENDED", PurposeVersionState::Suspended),
    ("WAITING_FOR_APPROVAL", PurposeVersionState::WaitingForApproval),
    ("ARCHIVED", PurposeVersionState::Archived),
    ("REJECTED", PurposeVersionState::Rejected),
];

pub struct Row {
    pub title: String,
    pub href: String,
    pub eservice: String,
    pub state: &'static str,
    pub badge: &'static str,
    pub daily_calls: String,
    /// A new estimate waits for the producer while this one is in use.
    pub change_waiting: bool,
}

#[derive(Template)]
#[template(path = "bo_finalita_list.html")]
struct ListPage {
    layout: Layout,
    notice: Option<&'static str>,
    can_create: bool,
    new_href: String,
    action: String,
    q: String,
    eservices: Vec<Choice>,
    states: Vec<Choice>,
    filtered: bool,
    rows: Vec<Row>,
    total: usize,
    page: usize,
    pages: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// "Le mie finalità inoltrate": filters by name, e-service and state, 10 a page.
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let mine = PurposeFilter { consumers: vec![bo.tenant], ..PurposeFilter::default() };
    // The e-services of the filter: those the Ente has purposes on.
    let all = svc.purposes(&bo.caller, &mine, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mut names = Names::new(state.platform.env(bo.env));
    let mut eservice_ids: Vec<EServiceId> = all.items.iter().map(|p| p.eservice_id).collect();
    eservice_ids.sort();
    eservice_ids.dedup();
    let chosen_eservice: Option<EServiceId> = q.eservice.as_deref().and_then(|s| s.parse().ok());
    let mut eservices = vec![];
    for id in eservice_ids {
        eservices.push(Choice {
            value: id.to_string(),
            label: names.name(&bo, id).await,
            selected: chosen_eservice == Some(id),
        });
    }
    eservices.sort_by(|a, b| a.label.cmp(&b.label));
    let chosen_state = STATE_FILTERS.iter().find(|(c, _)| Some(*c) == q.stato.as_deref()).map(|(_, s)| *s);
    let title = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    let filter = PurposeFilter {
        eservices: chosen_eservice.into_iter().collect(),
        states: chosen_state.into_iter().collect(),
        title: title.clone(),
        ..mine
    };
    let page = q.pagina.unwrap_or(1).max(1);
    let found = svc
        .purposes(&bo.caller, &filter, Page { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE })
        .await
        .map_err(|e| bo.err(&state, e))?;
    let mut rows = vec![];
    for p in &found.items {
        let (s, calls) = shown(p);
        rows.push(Row {
            title: p.title.clone(),
            href: url(&bo, p.id, ""),
            eservice: names.name(&bo, p.eservice_id).await,
            state: state_label(s),
            badge: state_badge(s),
            daily_calls: number(calls.into()),
            change_waiting: p.current_version().is_some() && p.waiting_version().is_some(),
        });
    }
    let pages = found.total.div_ceil(PAGE_SIZE).max(1);
    let link = |n: usize| {
        let mut qs = vec![format!("pagina={n}")];
        if let Some(t) = &title {
            qs.push(format!("q={}", encode(t)));
        }
        if let Some(e) = chosen_eservice {
            qs.push(format!("eservice={e}"));
        }
        if let Some(s) = q.stato.as_deref().filter(|_| chosen_state.is_some()) {
            qs.push(format!("stato={s}"));
        }
        format!("{}?{}", base(&bo), qs.join("&"))
    };
    render(&ListPage {
        layout: bo.layout(&state, "Le mie finalità inoltrate", Nav::Finalita),
        notice: notice(q.esito.as_deref(), NOTICES),
        can_create: bo.caller.may(Change::Fruizione),
        new_href: format!("{}/crea", base(&bo)),
        action: base(&bo),
        q: title.clone().unwrap_or_default(),
        eservices,
        states: STATE_FILTERS
            .iter()
            .map(|(c, s)| Choice {
                value: c.to_string(),
                label: state_label(*s).into(),
                selected: chosen_state == Some(*s),
            })
            .collect(),
        filtered: title.is_some() || chosen_eservice.is_some() || chosen_state.is_some(),
        rows,
        total: found.total,
        page,
        pages,
        prev_href: (page > 1).then(|| link(page - 1)),
        next_href: (page < pages).then(|| link(page + 1)),
    })
}

/// Percent-encoding of a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ------------------------------------------------- "Informazioni generali"

/// The fields of "Informazioni generali", as typed.
#[derive(Default, Clone)]
pub struct General {
    pub titolo: String,
    pub descrizione: String,
    pub eservice: String,
    pub chiamate: String,
    pub gratuita: bool,
    pub motivo: String,
}

impl General {
    fn posted(pairs: &[(String, String)]) -> General {
        General {
            titolo: field(pairs, "titolo").to_string(),
            descrizione: field(pairs, "descrizione").to_string(),
            eservice: field(pairs, "eservice").to_string(),
            chiamate: field(pairs, "chiamate").trim().to_string(),
            gratuita: field(pairs, "gratuita") == "si",
            motivo: field(pairs, "motivo").to_string(),
        }
    }

    fn of(p: &Purpose) -> General {
        General {
            titolo: p.title.clone(),
            descrizione: p.description.clone(),
            eservice: p.eservice_id.to_string(),
            chiamate: shown(p).1.to_string(),
            gratuita: p.is_free_of_charge,
            motivo: p.free_of_charge_reason.clone().unwrap_or_default(),
        }
    }

    /// The messages next to the fields, and the daily calls when valid.
    fn check(&self) -> (Errs, Option<u32>) {
        let mut errs = Errs::default();
        let count = |s: &str| s.trim().chars().count();
        let (min, max) = TITLE_CHARS;
        let n = count(&self.titolo);
        if n < min || n > max {
            errs.add("titolo", format!("Il nome deve avere da {min} a {max} caratteri (ne ha {n})."));
        }
        let (min, max) = DESCRIPTION_CHARS;
        let n = count(&self.descrizione);
        if n < min || n > max {
            errs.add("descrizione", format!("La descrizione deve avere da {min} a {max} caratteri (ne ha {n})."));
        }
        let calls = self.chiamate.parse::<u32>().ok().filter(|c| *c >= 1);
        if calls.is_none() {
            errs.add("chiamate", "Inserisci un numero intero superiore o uguale a 1.");
        }
        if self.gratuita {
            let n = count(&self.motivo);
            if n == 0 {
                errs.add("motivo", "Spiega perché l'accesso ai dati è a titolo gratuito.");
            } else if n > REASON_MAX_CHARS {
                errs.add("motivo", format!("Massimo {REASON_MAX_CHARS} caratteri: ne hai scritti {n}."));
            }
        }
        (errs, calls)
    }

    fn free_of_charge(&self) -> Option<String> {
        self.gratuita.then(|| self.motivo.trim().to_string())
    }
}

#[derive(Template)]
#[template(path = "bo_finalita_generali.html")]
struct GeneralPage {
    layout: Layout,
    heading: &'static str,
    steps: Vec<Step>,
    action: String,
    back: String,
    form: General,
    /// When creating: the e-services the Ente has an active agreement on.
    eservices: Vec<Choice>,
    /// When editing: the e-service, which does not change.
    fixed_eservice: Option<String>,
    errors: Errs,
    summary: Vec<String>,
    title_bounds: (usize, usize),
    description_bounds: (usize, usize),
    reason_max: usize,
    catalogue: String,
}

/// The e-services a purpose may be made for: those with an active agreement.
async fn offered(state: &PagesState, bo: &Bo) -> Result<Vec<(EServiceId, String)>, PageError> {
    let svc = state.platform.env(bo.env);
    let f = AgreementFilter { states: vec![AgreementState::Active], consumers: vec![bo.tenant], ..Default::default() };
    let agreements = svc.agreements(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(state, e))?;
    let mut names = Names::new(state.platform.env(bo.env));
    let mut out: Vec<(EServiceId, String)> = vec![];
    for a in agreements.items {
        if !out.iter().any(|(id, _)| *id == a.eservice_id) {
            out.push((a.eservice_id, names.name(bo, a.eservice_id).await));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn choices(offered: &[(EServiceId, String)], chosen: &str) -> Vec<Choice> {
    let only = offered.len() == 1;
    offered
        .iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: only || id.to_string() == chosen,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn general_page(
    state: &PagesState,
    bo: &Bo,
    heading: &'static str,
    action: String,
    back: String,
    form: General,
    eservices: Vec<Choice>,
    fixed_eservice: Option<String>,
    errors: Errs,
    summary: Vec<String>,
) -> GeneralPage {
    GeneralPage {
        layout: bo.layout(state, heading, Nav::Finalita),
        heading,
        steps: steps(1),
        action,
        back,
        form,
        eservices,
        fixed_eservice,
        errors,
        summary,
        title_bounds: TITLE_CHARS,
        description_bounds: DESCRIPTION_CHARS,
        reason_max: REASON_MAX_CHARS,
        catalogue: bo.path("catalogo-e-service"),
    }
}

#[derive(Deserialize, Default)]
struct NewQuery {
    eservice: Option<String>,
}

/// "Crea nuovo": the first step, "Informazioni generali".
async fn new_form(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let offered = offered(&state, &bo).await?;
    let form = General { eservice: q.eservice.unwrap_or_default(), chiamate: String::new(), ..General::default() };
    let eservices = choices(&offered, &form.eservice);
    render(&general_page(
        &state,
        &bo,
        "Crea finalità",
        format!("{}/crea", base(&bo)),
        base(&bo),
        form,
        eservices,
        None,
        Errs::default(),
        vec![],
    ))
}

/// "Salva bozza e prosegui": the draft purpose, then its risk analysis.
async fn create(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, field(&pairs, "csrf"), Change::Fruizione).await?;
    let form = General::posted(&pairs);
    let offered = offered(&state, &bo).await?;
    let (mut errs, calls) = form.check();
    let eservice = offered.iter().find(|(id, _)| id.to_string() == form.eservice).map(|(id, _)| *id);
    if eservice.is_none() {
        errs.add("eservice", "Scegli l'e-service da associare alla finalità.");
    }
    let again = |errs: Errs, summary: Vec<String>| {
        let eservices = choices(&offered, &form.eservice);
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &general_page(
                &state,
                &bo,
                "Crea finalità",
                format!("{}/crea", base(&bo)),
                base(&bo),
                form.clone(),
                eservices,
                None,
                errs,
                summary,
            ),
        )
    };
    let (Some(eservice), Some(calls), true) = (eservice, calls, errs.is_empty()) else {
        return again(errs, vec![]);
    };
    let svc = state.platform.env(bo.env);
    let created = svc
        .create_purpose(
            &bo.caller,
            bo.tenant,
            eservice,
            &form.titolo,
            &form.descrizione,
            calls,
            None,
            form.free_of_charge(),
        )
        .await;
    match created {
        Ok(p) => Ok(see_other(&url(&bo, p.id, "modifica"))),
        Err(e) if is_invalid_input(&e) => again(Errs::default(), vec![sentence(&e.to_string())]),
        Err(e) => Err(bo.err(&state, e)),
    }
}

/// A draft of the Ente, for its edit pages; anything else goes to its page.
async fn draft(state: &PagesState, bo: &Bo, raw: &str) -> Result<Result<Purpose, Response>, PageError> {
    let id = parse_id(raw).map_err(|e| bo.err(state, e))?;
    let p = state.platform.env(bo.env).purpose(&bo.caller, id).await.map_err(|e| bo.err(state, e))?;
    if !is_draft(&p) || p.consumer_id != bo.tenant {
        return Ok(Err(see_other(&url(bo, p.id, ""))));
    }
    Ok(Ok(p))
}

#[derive(Deserialize, Default)]
struct EditQuery {
    passo: Option<String>,
}

/// "Modifica finalità": the risk analysis, or (`?passo=informazioni`) the general
/// information of the draft.
async fn edit(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<EditQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let p = match draft(&state, &bo, &raw).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    if q.passo.as_deref() == Some("informazioni") {
        let name = Names::new(state.platform.env(bo.env)).name(&bo, p.eservice_id).await;
        return render(&general_page(
            &state,
            &bo,
            "Modifica finalità",
            url(&bo, p.id, "modifica/informazioni"),
            url(&bo, p.id, "riepilogo"),
            General::of(&p),
            vec![],
            Some(name),
            Errs::default(),
            vec![],
        ));
    }
    let ra = RiskPage::build(&state, &bo, &p).await?;
    let answers = p.risk_analysis.as_ref().map(|f| f.answers.clone()).unwrap_or_default();
    let shown = rischio::applicable(ra.rules, &answers, true);
    render(&ra.page(&state, &bo, &p, &shown, &[], false))
}

/// "Salva bozza e prosegui" on the general information of a draft.
async fn save_general(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, field(&pairs, "csrf"), Change::Fruizione).await?;
    let p = match draft(&state, &bo, &raw).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let form = General { eservice: p.eservice_id.to_string(), ..General::posted(&pairs) };
    let (errs, calls) = form.check();
    let name = Names::new(state.platform.env(bo.env)).name(&bo, p.eservice_id).await;
    let again = |errs: Errs, summary: Vec<String>| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &general_page(
                &state,
                &bo,
                "Modifica finalità",
                url(&bo, p.id, "modifica/informazioni"),
                url(&bo, p.id, "riepilogo"),
                form.clone(),
                vec![],
                Some(name.clone()),
                errs,
                summary,
            ),
        )
    };
    let (Some(calls), true) = (calls, errs.is_empty()) else {
        return again(errs, vec![]);
    };
    let svc = state.platform.env(bo.env);
    let r = svc
        .update_purpose(
            &bo.caller,
            p.id,
            &form.titolo,
            &form.descrizione,
            calls,
            p.risk_analysis.clone(),
            form.free_of_charge(),
        )
        .await;
    match r {
        Ok(p) => Ok(see_other(&url(&bo, p.id, "modifica"))),
        Err(e) if is_invalid_input(&e) => again(Errs::default(), vec![sentence(&e.to_string())]),
        Err(e) => Err(bo.err(&state, e)),
    }
}

// --------------------------------------------------- "Analisi del rischio"

/// One line of the summary of errors above a form: a link to the question.
pub struct Problem {
    pub anchor: String,
    pub label: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "bo_finalita_rischio.html")]
struct RiskAnalysisPage {
    layout: Layout,
    steps: Vec<Step>,
    title: String,
    action: String,
    back: String,
    version: String,
    kind: String,
    questions: Vec<QuestionView>,
    problems: Vec<Problem>,
    /// After "Aggiorna": the questions now shown.
    refreshed: bool,
}

/// The rules a draft's risk analysis is filled in with.
struct RiskPage {
    rules: &'static varco_domain::risk_analysis::RiskAnalysisRules,
}

impl RiskPage {
    async fn build(state: &PagesState, bo: &Bo, p: &Purpose) -> Result<RiskPage, PageError> {
        let t = state.platform.env(bo.env).tenant(&bo.caller, bo.tenant).await.map_err(|e| bo.err(state, e))?;
        let rules = rischio::rules_of(p, t.kind, chrono::Utc::now()).ok_or_else(|| {
            bo.err(state, PageError::internal(format!("nessuna analisi del rischio per un ente {:?}", t.kind)))
        })?;
        Ok(RiskPage { rules })
    }

    fn page(
        &self,
        state: &PagesState,
        bo: &Bo,
        p: &Purpose,
        answers: &rischio::Answers,
        errors: &[RiskAnalysisError],
        refreshed: bool,
    ) -> RiskAnalysisPage {
        let questions = rischio::views(self.rules, answers, errors);
        let mut problems: Vec<Problem> = questions
            .iter()
            .filter_map(|q| {
                q.error.as_ref().map(|m| Problem {
                    anchor: format!("q-{}", q.id),
                    label: q.label.clone(),
                    message: m.clone(),
                })
            })
            .collect();
        problems.extend(errors.iter().filter(|e| e.question().is_none()).map(|e| Problem {
            anchor: String::new(),
            label: String::new(),
            message: sentence(&e.to_string()),
        }));
        RiskAnalysisPage {
            layout: bo.layout(state, "Modifica finalità", Nav::Finalita),
            steps: steps(2),
            title: p.title.clone(),
            action: url(bo, p.id, "modifica"),
            back: format!("{}?passo=informazioni", url(bo, p.id, "modifica")),
            version: self.rules.version.clone(),
            kind: self.rules.kind.to_string(),
            questions,
            problems,
            refreshed,
        }
    }
}

/// "Aggiorna" (the questions that now apply, answers kept) or "Vai al riepilogo"
/// (the answers saved on the draft when complete; else the form again, 422, with
/// each problem next to its question).
async fn save_risk_analysis(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, field(&pairs, "csrf"), Change::Fruizione).await?;
    let p = match draft(&state, &bo, &raw).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let ra = RiskPage::build(&state, &bo, &p).await?;
    let given = rischio::posted(&pairs);
    if field(&pairs, "azione") == "aggiorna" {
        let shown = rischio::applicable(ra.rules, &given, true);
        return render(&ra.page(&state, &bo, &p, &shown, &[], true));
    }
    let answers = rischio::applicable(ra.rules, &given, false);
    let errors = ra.rules.check(&answers);
    if !errors.is_empty() {
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &ra.page(&state, &bo, &p, &answers, &errors, false));
    }
    let form = RiskAnalysisForm { version: ra.rules.version.clone(), answers };
    let g = General::of(&p);
    let svc = state.platform.env(bo.env);
    svc.update_purpose(&bo.caller, p.id, &p.title, &p.description, shown(&p).1, Some(form), g.free_of_charge())
        .await
        .map_err(|e| bo.err(&state, e))?;
    Ok(see_other(&format!("{}?esito=salvata", url(&bo, p.id, "riepilogo"))))
}

// ---------------------------------------------------------------- riepilogo

/// The load of a purpose against its e-service's thresholds.
pub struct Load {
    pub per_consumer: String,
    pub total: String,
    /// Why a version over the thresholds waits for the producer.
    pub over: Option<String>,
}

/// The thresholds of the e-service version the Ente's agreement is on, and whether
/// `calls` more would pass them (the Ente's other active purposes counted).
async fn load(state: &PagesState, bo: &Bo, p: &Purpose, calls: u32) -> Option<Load> {
    let svc = state.platform.env(bo.env);
    let es = svc.eservice(&bo.caller, p.eservice_id).await.ok()?;
    let agreement = svc.purpose_agreement(&bo.caller, p.id).await.ok();
    let d = agreement.and_then(|a| es.descriptor(a.descriptor_id)).or_else(|| es.latest_published())?;
    let f = PurposeFilter { eservices: vec![p.eservice_id], consumers: vec![p.consumer_id], ..Default::default() };
    let others = svc.purposes(&bo.caller, &f, Page::ALL).await.ok()?;
    let mine: u64 = others
        .items
        .iter()
        .filter(|q| q.id != p.id)
        .flat_map(|q| q.versions.iter())
        .filter(|v| v.state == PurposeVersionState::Active)
        .map(|v| u64::from(v.daily_calls))
        .sum();
    let (per, total, calls) = (u64::from(d.daily_calls_per_consumer), u64::from(d.daily_calls_total), u64::from(calls));
    let over = if mine + calls > per {
        Some(format!(
            "La stima di {} chiamate API/giorno, sommata alle {} già attive dell'ente su questo e-service ({} in \
             tutto), supera la soglia per fruitore di {} chiamate API/giorno: serve l'approvazione dell'erogatore.",
            number(calls),
            number(mine),
            number(mine + calls),
            number(per)
        ))
    } else if calls > total {
        Some(format!(
            "La stima di {} chiamate API/giorno supera la soglia totale dell'e-service di {} chiamate API/giorno: \
             serve l'approvazione dell'erogatore.",
            number(calls),
            number(total)
        ))
    } else {
        None
    };
    Some(Load { per_consumer: number(per), total: number(total), over })
}

/// The answers of a risk analysis as the summary shows them (for the questions of
/// the consumer's kind of Ente), and the version of its form.
pub(crate) fn risk_answers(kind: TenantKind, form: Option<&RiskAnalysisForm>) -> (Vec<AnswerView>, String) {
    match form {
        Some(f) => match rules_for(kind, Some(&f.version)) {
            Some(r) => (rischio::summary(r, &f.answers), f.version.clone()),
            None => (vec![], f.version.clone()),
        },
        None => (vec![], String::new()),
    }
}

#[derive(Template)]
#[template(path = "bo_finalita_riepilogo.html")]
struct SummaryPage {
    layout: Layout,
    notice: Option<&'static str>,
    p: Purpose,
    eservice: String,
    producer: String,
    daily_calls: String,
    load: Option<Load>,
    answers: Vec<AnswerView>,
    version: String,
    /// Why "Pubblica" would be refused for the risk analysis.
    incomplete: Option<String>,
    can_change: bool,
    edit_href: String,
    risk_href: String,
    publish_action: String,
    delete_action: String,
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    esito: Option<String>,
    tab: Option<String>,
}

/// "Riepilogo": everything entered, with "Elimina bozza", "Modifica bozza", "Pubblica".
async fn summary(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let p = match draft(&state, &bo, &raw).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let svc = state.platform.env(bo.env);
    let t = svc.tenant(&bo.caller, bo.tenant).await.map_err(|e| bo.err(&state, e))?;
    let mut names = Names::new(state.platform.env(bo.env));
    let (eservice, producer_id) = match names.eservice(&bo, p.eservice_id).await {
        Some(e) => (e.name.clone(), Some(e.producer_id)),
        None => (p.eservice_id.to_string(), None),
    };
    let producer = match producer_id {
        Some(id) => svc.tenant(&bo.caller, id).await.map(|t| t.name).unwrap_or_default(),
        None => String::new(),
    };
    let calls = shown(&p).1;
    let (answers, version) = risk_answers(t.kind, p.risk_analysis.as_ref());
    let incomplete = varco_platform::risk_analysis_check(p.risk_analysis.as_ref(), t.kind, chrono::Utc::now())
        .err()
        .map(|e| sentence(&e));
    render(&SummaryPage {
        layout: bo.layout(&state, "Riepilogo", Nav::Finalita),
        notice: notice(q.esito.as_deref(), NOTICES),
        eservice,
        producer,
        daily_calls: number(calls.into()),
        load: load(&state, &bo, &p, calls).await,
        answers,
        version,
        incomplete,
        can_change: bo.caller.may(Change::Fruizione),
        edit_href: format!("{}?passo=informazioni", url(&bo, p.id, "modifica")),
        risk_href: url(&bo, p.id, "modifica"),
        publish_action: url(&bo, p.id, "pubblica"),
        delete_action: url(&bo, p.id, "elimina"),
        p,
    })
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conferma: String,
}

/// "Pubblica": active, or waiting for the producer's approval when over the thresholds.
async fn publish(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    match svc.activate_purpose(&bo.caller, id).await {
        Ok(p) => {
            let esito = if shown(&p).0 == PurposeVersionState::Active { "pubblicata" } else { "in-attesa" };
            Ok(see_other(&format!("{}?esito={esito}", url(&bo, id, ""))))
        }
        Err(e) => Err(bo.err(&state, e).back(&url(&bo, id, "riepilogo"), "Torna al riepilogo")),
    }
}

/// "Elimina bozza", after a confirmation.
async fn remove(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    if form.conferma != "si" {
        let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
        return confirm(
            &bo,
            &state,
            Nav::Finalita,
            "Elimina bozza",
            &format!("Vuoi eliminare la bozza della finalità «{}»? L'operazione non si può annullare.", p.title),
            &url(&bo, id, "elimina"),
            "Elimina bozza",
            &url(&bo, id, "riepilogo"),
            &[],
        );
    }
    svc.delete_purpose(&bo.caller, id)
        .await
        .map_err(|e| bo.err(&state, e).back(&url(&bo, id, ""), "Torna alla finalità"))?;
    Ok(see_other(&format!("{}?esito=eliminata", base(&bo))))
}

// ------------------------------------------------------------------- detail

pub struct ClientRow {
    pub name: String,
    pub id: String,
    pub kind: &'static str,
}

pub struct VersionRow {
    pub state: &'static str,
    pub daily_calls: String,
}

#[derive(Template)]
#[template(path = "bo_finalita_dettaglio.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<&'static str>,
    p: Purpose,
    state: &'static str,
    badge: &'static str,
    eservice: String,
    producer: String,
    /// The estimate in use, and a new one waiting for approval.
    current_calls: Option<String>,
    waiting_calls: Option<String>,
    rejected_reason: Option<String>,
    load: Option<Load>,
    clients_tab: bool,
    details_href: String,
    clients_href: String,
    clients: Vec<ClientRow>,
    /// "Aggiungi client": the Ente's clients e-service not yet attached (id, name),
    /// for who may manage the clients of an active finalità of their own Ente.
    may_add_client: bool,
    addable_clients: Vec<(String, String)>,
    draft: bool,
    summary_href: String,
    // The actions the state allows, for who may change the Ente's purposes.
    can_suspend: bool,
    can_unsuspend: bool,
    can_archive: bool,
    can_change_estimate: bool,
    action_base: String,
}

/// The purpose's page: tabs "Dettagli finalità" / "Client associati"; Sospendi,
/// Riattiva, Archivia, "Richiedi cambio stima" as its state allows.
async fn detail(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
    let (s, _) = shown(&p);
    let mut names = Names::new(state.platform.env(bo.env));
    let (eservice, producer_id) = match names.eservice(&bo, p.eservice_id).await {
        Some(e) => {
            let version = p
                .current_version()
                .and(svc.purpose_agreement(&bo.caller, p.id).await.ok())
                .and_then(|a| e.descriptor(a.descriptor_id))
                .map(|d| format!(", versione {}", d.version))
                .unwrap_or_default();
            (format!("{}{version}", e.name), Some(e.producer_id))
        }
        None => (p.eservice_id.to_string(), None),
    };
    let producer = match producer_id {
        Some(t) => svc.tenant(&bo.caller, t).await.map(|t| t.name).unwrap_or_default(),
        None => String::new(),
    };
    let waiting = p.waiting_version().map(|v| v.daily_calls);
    let load = match waiting {
        Some(calls) => load(&state, &bo, &p, calls).await,
        None => load(&state, &bo, &p, shown(&p).1).await.map(|l| Load { over: None, ..l }),
    };
    let clients_tab = q.tab.as_deref() == Some("client");
    let mut clients = vec![];
    let may_add_client =
        clients_tab && bo.caller.may(Change::Client) && p.consumer_id == bo.tenant && p.current_version().is_some();
    let mut addable_clients = vec![];
    if clients_tab {
        let f = ClientFilter { consumer: Some(p.consumer_id), name: None };
        let all = svc.clients(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
        for c in all.items {
            if let ClientView::Full(c) = c {
                if !c.purposes.contains(&p.id) {
                    if may_add_client && c.kind == ClientKind::Consumer {
                        addable_clients.push((c.id.to_string(), c.name));
                    }
                } else {
                    clients.push(ClientRow {
                        name: c.name,
                        id: c.id.to_string(),
                        kind: match c.kind {
                            ClientKind::Consumer => "Client e-service",
                            ClientKind::Api => "Client API Interoperabilità",
                        },
                    });
                }
            }
        }
    }
    let may = bo.caller.may(Change::Fruizione) && p.consumer_id == bo.tenant;
    let current = p.current_version();
    let render_page = DetailPage {
        layout: bo.layout(&state, &p.title, Nav::Finalita),
        notice: notice(q.esito.as_deref(), NOTICES),
        state: state_label(s),
        badge: state_badge(s),
        eservice,
        producer,
        current_calls: current.map(|v| number(v.daily_calls.into())),
        waiting_calls: waiting.map(|c| number(c.into())),
        rejected_reason: p
            .versions
            .iter()
            .rev()
            .find(|v| v.state == PurposeVersionState::Rejected)
            .and_then(|v| v.rejection_reason.clone()),
        load,
        clients_tab,
        details_href: url(&bo, p.id, ""),
        clients_href: format!("{}?tab=client", url(&bo, p.id, "")),
        clients,
        may_add_client,
        addable_clients,
        draft: is_draft(&p),
        summary_href: url(&bo, p.id, "riepilogo"),
        can_suspend: may && current.is_some() && !p.suspended_by_consumer,
        can_unsuspend: may && p.suspended_by_consumer,
        can_archive: may && current.is_some(),
        can_change_estimate: may && current.is_some() && waiting.is_none(),
        action_base: url(&bo, p.id, ""),
        p,
    };
    render(&render_page)
}

#[derive(Deserialize, Default)]
struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client: String,
}

/// "Client associati" > "Aggiungi client": one of the Ente's clients e-service.
async fn client_add(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ClientForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Client).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    // Another Ente's finalità is refused here, before the form is looked at.
    let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
    let back = format!("{}?tab=client", url(&bo, p.id, ""));
    let client: varco_domain::ClientId = form.client.trim().parse().map_err(|_| {
        bo.err(&state, PageError::bad_request("Scegli un client e-service del tuo ente."))
            .back(&back, "Torna alla finalità")
    })?;
    svc.add_client_purpose(&bo.caller, client, p.id)
        .await
        .map_err(|e| bo.err(&state, e).back(&back, "Torna alla finalità"))?;
    Ok(see_other(&format!("{back}&esito=client-associato")))
}

/// Sospendi / Riattiva / Archivia (this one after a confirmation).
#[derive(Clone, Copy)]
enum Action {
    Suspend,
    Unsuspend,
    Archive,
}

async fn act(
    state: PagesState,
    env: String,
    raw: String,
    headers: HeaderMap,
    form: ActionForm,
    action: Action,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    let back = url(&bo, id, "");
    let r = match action {
        Action::Suspend => svc.suspend_purpose(&bo.caller, id).await.map(|_| "sospesa"),
        Action::Unsuspend => svc.unsuspend_purpose(&bo.caller, id).await.map(|_| "riattivata"),
        Action::Archive => {
            if form.conferma != "si" {
                let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
                return confirm(
                    &bo,
                    &state,
                    Nav::Finalita,
                    "Archivia finalità",
                    &format!(
                        "Vuoi archiviare la finalità «{}»? Non sarà più possibile ottenere voucher per questa \
                         finalità e l'operazione non si può annullare.",
                        p.title
                    ),
                    &url(&bo, id, "archivia"),
                    "Archivia",
                    &back,
                    &[],
                );
            }
            svc.archive_purpose(&bo.caller, id).await.map(|_| "archiviata")
        }
    };
    match r {
        Ok(esito) => Ok(see_other(&format!("{back}?esito={esito}"))),
        Err(e) => Err(bo.err(&state, e).back(&back, "Torna alla finalità")),
    }
}

async fn suspend(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    act(state, env, raw, headers, form, Action::Suspend).await
}

async fn unsuspend(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    act(state, env, raw, headers, form, Action::Unsuspend).await
}

async fn archive(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    act(state, env, raw, headers, form, Action::Archive).await
}

// ------------------------------------------------------ "Richiedi cambio stima"

#[derive(Template)]
#[template(path = "bo_finalita_stima.html")]
struct EstimatePage {
    layout: Layout,
    title: String,
    back: String,
    action: String,
    current: String,
    load: Option<Load>,
    value: String,
    error: Option<String>,
}

async fn estimate_page(state: &PagesState, bo: &Bo, p: &Purpose, value: String, error: Option<String>) -> EstimatePage {
    let current = p.current_version().map(|v| v.daily_calls).unwrap_or(shown(p).1);
    EstimatePage {
        layout: bo.layout(state, "Richiedi cambio stima", Nav::Finalita),
        title: p.title.clone(),
        back: url(bo, p.id, ""),
        action: url(bo, p.id, "cambio-stima"),
        current: number(current.into()),
        load: load(state, bo, p, current).await.map(|l| Load { over: None, ..l }),
        value,
        error,
    }
}

/// "Richiedi cambio stima": the new daily calls.
async fn estimate_form(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let p = state.platform.env(bo.env).purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
    render(&estimate_page(&state, &bo, &p, String::new(), None).await)
}

#[derive(Deserialize, Default)]
struct EstimateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    chiamate: String,
}

/// A new version with the new daily calls: active at once within the thresholds,
/// else waiting for the producer while the current one stays in use.
async fn change_estimate(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<EstimateForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Fruizione).await?;
    let id = parse_id(&raw).map_err(|e| bo.err(&state, e))?;
    let svc = state.platform.env(bo.env);
    let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(&state, e))?;
    let value = form.chiamate.trim().to_string();
    let current = p.current_version().map(|v| v.daily_calls);
    let error = match value.parse::<u32>().ok().filter(|c| *c >= 1) {
        None => Some("Inserisci un numero intero superiore o uguale a 1.".to_string()),
        Some(c) if Some(c) == current => {
            Some("Il numero di chiamate API/giorno richiesto deve essere diverso da quello attuale.".to_string())
        }
        Some(c) => match svc.new_purpose_version(&bo.caller, id, c).await {
            Ok(p) => {
                let esito = if p.waiting_version().is_some() { "stima-in-attesa" } else { "stima-attiva" };
                return Ok(see_other(&format!("{}?esito={esito}", url(&bo, id, ""))));
            }
            Err(e) if is_invalid_input(&e) => Some(sentence(&e.to_string())),
            Err(e) => return Err(bo.err(&state, e).back(&url(&bo, id, ""), "Torna alla finalità")),
        },
    };
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &estimate_page(&state, &bo, &p, value, error).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_italian_thousands() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1.000");
        assert_eq!(number(1_000_000), "1.000.000");
        assert_eq!(number(12_345_678), "12.345.678");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("Notifiche è&x=1"), "Notifiche%20%C3%A8%26x%3D1");
    }
}
