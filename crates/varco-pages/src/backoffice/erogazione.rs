//! Erogazione > "I miei e-service": the Ente's e-services as their producer. The
//! list (filters name, state, fruitore); "Crea nuovo" in PDND's steps
//! (Informazioni generali, Soglie e attributi, Specifiche tecniche, Riepilogo →
//! Pubblica), each saving the draft version; an e-service's page with its versions
//! and their actions (Sospendi, Riattiva, Crea nuova, Archivia versione) and
//! "Scarica l'elenco dei fruitori". Every role sees these pages; Amministratore and
//! Operatore API change them. The platform checks every rule (audiences owned,
//! thresholds, the interface file); the pages say its reasons next to the fields.
use super::catalogo::{
    descriptor_state_label as state_label, ids, page_links, page_number, technology_label, thousands, PageLink,
};
use super::finalita::Step;
use super::frame::{action_route, confirm, notice, Bo, Nav};
use super::richieste::query_string;
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_platform::{AgreementFilter, AppError, Change, EServiceFilter, Page};

const LIST: &str = "/interop/{env}/erogazione/e-service";
const CREATE: &str = "/interop/{env}/erogazione/e-service/crea";
const ESERVICE: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}";
const THRESHOLDS: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/modifica/soglie";
const TECHNICAL: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/modifica/specifiche";
const SUMMARY: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/riepilogo";
const PUBLISH: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/pubblica";
const SUSPEND: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/sospendi";
const UNSUSPEND: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/riattiva";
const ARCHIVE: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/archivia";
const NEW_VERSION: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/nuova-versione";
const CONSUMERS: &str = "/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/fruitori";

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", LIST),
    ("GET", CREATE),
    ("POST", CREATE),
    ("GET", ESERVICE),
    ("GET", THRESHOLDS),
    ("POST", THRESHOLDS),
    ("GET", TECHNICAL),
    ("POST", TECHNICAL),
    ("GET", SUMMARY),
    ("POST", PUBLISH),
    ("POST", SUSPEND),
    ("POST", UNSUSPEND),
    ("POST", ARCHIVE),
    ("POST", NEW_VERSION),
    ("GET", CONSUMERS),
];

/// E-services per page of the list.
pub const PAGE_SIZE: usize = 10;
/// The technical step's form: the file and a few short fields.
const TECHNICAL_BODY_MAX: usize = varco_interface::MAX_FILE_BYTES + 64 * 1024;
/// "Indirizzi del server": one per line, at most this many (the domain's bound).
const URLS_MAX: usize = varco_domain::eservice::MAX_SERVER_URLS;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(LIST, get(list))
        .route(CREATE, get(create_page).post(create))
        .route(ESERVICE, get(eservice_page))
        .route(THRESHOLDS, get(thresholds_page).post(save_thresholds))
        .route(TECHNICAL, get(technical_page).post(save_technical).layer(DefaultBodyLimit::max(TECHNICAL_BODY_MAX)))
        .route(SUMMARY, get(summary))
        .route(PUBLISH, action_route(version_action, VersionAct::Publish))
        .route(SUSPEND, action_route(version_action, VersionAct::Suspend))
        .route(UNSUSPEND, action_route(version_action, VersionAct::Unsuspend))
        .route(ARCHIVE, action_route(version_action, VersionAct::Archive))
        .route(NEW_VERSION, action_route(version_action, VersionAct::NewVersion))
        .route(CONSUMERS, get(consumers_csv))
}

/// The notices after an action (`?esito=`).
const NOTICES: &[(&str, &str)] = &[
    ("creato", "Bozza dell'e-service creata: indica soglie e attributi."),
    ("soglie", "Soglie e attributi salvati."),
    ("specifiche", "Specifiche tecniche salvate."),
    ("pubblicata", "Versione pubblicata: ora è nel catalogo."),
    ("sospesa", "Versione sospesa: i fruitori non ottengono voucher finché non la riattivi."),
    ("riattivata", "Versione riattivata."),
    ("archiviata", "Versione archiviata."),
    ("nuova", "Bozza della nuova versione creata dalla precedente: modificala e pubblicala."),
];

/// The states of a version, in the filter's order, with the filter's value (the
/// labels are the catalogue's).
const STATES: [(DescriptorState, &str); 5] = [
    (DescriptorState::Published, "PUBLISHED"),
    (DescriptorState::Draft, "DRAFT"),
    (DescriptorState::Suspended, "SUSPENDED"),
    (DescriptorState::Deprecated, "DEPRECATED"),
    (DescriptorState::Archived, "ARCHIVED"),
];

/// The version an e-service is shown at: the newest one that is not archived (a
/// draft included), else the newest.
fn shown_descriptor(e: &EService) -> Option<&Descriptor> {
    e.descriptors
        .iter()
        .filter(|d| d.state != DescriptorState::Archived)
        .max_by_key(|d| d.version)
        .or_else(|| e.descriptors.iter().max_by_key(|d| d.version))
}

fn eservice_path(bo: &Bo, e: EServiceId, d: DescriptorId) -> String {
    bo.path(&format!("erogazione/e-service/{e}/{d}"))
}

/// The producer's e-service and one of its versions (another Ente's: not found).
async fn load(state: &PagesState, bo: &Bo, e: &str, d: &str) -> Result<(EService, Descriptor), PageError> {
    let missing = || bo.err(state, PageError::not_found("L'e-service"));
    let (eid, did) = ids(e, d).ok_or_else(missing)?;
    let es = state.platform.env(bo.env).eservice(&bo.caller, eid).await.map_err(|e| match e {
        AppError::NotFound(_) => missing(),
        e => bo.err(state, e),
    })?;
    // These are the Ente's own e-services; others' are in the catalogue.
    if es.producer_id != bo.tenant {
        return Err(missing());
    }
    let desc = es.descriptor(did).cloned().ok_or_else(missing)?;
    Ok((es, desc))
}

fn may_edit(bo: &Bo) -> bool {
    bo.caller.may(Change::Erogazione)
}

// ------------------------------------------------------------------ the list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    nome: String,
    #[serde(default)]
    stato: String,
    #[serde(default)]
    fruitore: String,
    pagina: Option<String>,
    esito: Option<String>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    name: String,
    version: u32,
    state: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "bo_erog_list.html")]
struct ListPage {
    layout: Layout,
    notice: Option<&'static str>,
    action: String,
    nome: String,
    states: Vec<Choice>,
    consumers: Vec<Choice>,
    filtered: bool,
    total: usize,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
    create_href: Option<String>,
}

/// "I miei e-service".
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let bad = |what: &str| {
        bo.err(&state, PageError::bad_request(format!("Il filtro «{what}» non ha un valore valido.")))
            .back(&bo.path("erogazione/e-service"), "Mostra tutti gli e-service")
    };
    let nome: String = q.nome.trim().chars().take(60).collect();
    let wanted_state = match q.stato.trim() {
        "" => None,
        s => Some(STATES.iter().find(|(_, c)| *c == s).map(|(x, _)| *x).ok_or_else(|| bad("Stato"))?),
    };
    let consumer: Option<TenantId> = match q.fruitore.trim() {
        "" => None,
        s => Some(s.parse().map_err(|_| bad("Fruitore"))?),
    };
    let f = EServiceFilter {
        producers: vec![bo.tenant],
        name: (!nome.is_empty()).then(|| nome.clone()),
        ..EServiceFilter::default()
    };
    let mine = svc.eservices(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    // The fruitori of the Ente's e-services (who may see them: Amministratore and
    // Operatore API; the platform shows no received requests to the others).
    let received = if bo.caller.sees_ricevute() {
        let f = AgreementFilter { producers: vec![bo.tenant], ..AgreementFilter::default() };
        svc.agreements(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?.items
    } else {
        vec![]
    };
    let mut consumers: BTreeMap<String, Choice> = BTreeMap::new();
    let mut names: HashMap<TenantId, String> = HashMap::new();
    for a in received.iter().filter(|a| a.state != AgreementState::Draft) {
        if let std::collections::hash_map::Entry::Vacant(v) = names.entry(a.consumer_id) {
            let n = svc.tenant(&bo.caller, a.consumer_id).await.map(|t| t.name).unwrap_or(a.consumer_id.to_string());
            v.insert(n.clone());
            consumers.insert(
                format!("{n}{}", a.consumer_id),
                Choice { value: a.consumer_id.to_string(), label: n, selected: consumer == Some(a.consumer_id) },
            );
        }
    }
    let all: Vec<Row> = mine
        .items
        .iter()
        .filter_map(|e| shown_descriptor(e).map(|d| (e, d)))
        .filter(|(_, d)| wanted_state.is_none_or(|s| d.state == s))
        .filter(|(e, _)| {
            consumer.is_none_or(|c| {
                received.iter().any(|a| a.eservice_id == e.id && a.consumer_id == c && a.state != AgreementState::Draft)
            })
        })
        .map(|(e, d)| Row {
            name: e.name.clone(),
            version: d.version,
            state: state_label(d.state),
            href: eservice_path(&bo, e.id, d.id),
        })
        .collect();
    let total = all.len();
    let pagina = page_number(q.pagina.as_deref());
    let rows: Vec<Row> = all.into_iter().skip((pagina - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    let action = bo.path("erogazione/e-service");
    let base = format!("{action}?{}", query_string(&[("nome", &nome), ("stato", &q.stato), ("fruitore", &q.fruitore)]));
    render(&ListPage {
        layout: bo.layout(&state, "I miei e-service", Nav::EServices),
        notice: notice(q.esito.as_deref(), NOTICES),
        pages: page_links(&base, total, PAGE_SIZE, pagina),
        action,
        filtered: !nome.is_empty() || wanted_state.is_some() || consumer.is_some(),
        nome,
        states: STATES
            .iter()
            .map(|(s, c)| Choice {
                value: c.to_string(),
                label: state_label(*s).to_string(),
                selected: wanted_state == Some(*s),
            })
            .collect(),
        consumers: consumers.into_values().collect(),
        total,
        rows,
        create_href: may_edit(&bo).then(|| bo.path("erogazione/e-service/crea")),
    })
}

// ------------------------------------------------------------------ the steps

fn steps(at: usize) -> Vec<Step> {
    ["Informazioni generali", "Soglie e attributi", "Specifiche tecniche", "Riepilogo"]
        .into_iter()
        .enumerate()
        .map(|(i, label)| Step { number: i + 1, label, current: i + 1 == at })
        .collect()
}

#[derive(Deserialize, Default, Clone)]
pub struct GeneralForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nome: String,
    #[serde(default)]
    descrizione: String,
    #[serde(default)]
    tecnologia: String,
}

#[derive(Template)]
#[template(path = "bo_erog_generali.html")]
struct GeneralPage {
    layout: Layout,
    steps: Vec<Step>,
    form: GeneralForm,
    errors: HashMap<&'static str, String>,
    summary: Vec<String>,
    action: String,
    back: String,
}

fn general_page(bo: &Bo, state: &PagesState, form: GeneralForm, errors: HashMap<&'static str, String>) -> GeneralPage {
    GeneralPage {
        layout: bo.layout(state, "Crea e-service", Nav::EServices),
        steps: steps(1),
        form,
        errors,
        summary: vec![],
        action: bo.path("erogazione/e-service/crea"),
        back: bo.path("erogazione/e-service"),
    }
}

fn require_editor(bo: &Bo, state: &PagesState) -> Result<(), PageError> {
    bo.require(state, Change::Erogazione)
}

async fn create_page(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    require_editor(&bo, &state)?;
    let form = GeneralForm { tecnologia: "REST".into(), ..GeneralForm::default() };
    render(&general_page(&bo, &state, form, HashMap::new()))
}

/// Checks a text like the domain does (trimmed, counted in characters).
fn text_error(value: &str, min: usize, max: usize) -> Option<String> {
    let n = value.trim().chars().count();
    (n < min || n > max).then(|| format!("Deve avere da {min} a {max} caratteri (ne ha {n})."))
}

/// The thresholds a new e-service starts with, changed in the next step.
fn default_input() -> DescriptorInput {
    DescriptorInput {
        description: None,
        audience: vec![],
        voucher_lifespan: 3600,
        daily_calls_per_consumer: 1000,
        daily_calls_total: 10_000,
        agreement_approval_policy: ApprovalPolicy::Automatic,
        server_urls: vec![],
        attributes: AttributeGroups::default(),
    }
}

/// "Informazioni generali" → "Salva bozza e prosegui": the e-service and its draft.
async fn create(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(form): Form<GeneralForm>,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Erogazione).await?;
    let mut errors = HashMap::new();
    if let Some(e) = text_error(&form.nome, 5, 60) {
        errors.insert("nome", e);
    }
    if let Some(e) = text_error(&form.descrizione, 10, 250) {
        errors.insert("descrizione", e);
    }
    let technology = match form.tecnologia.as_str() {
        "REST" => Some(Technology::Rest),
        "SOAP" => Some(Technology::Soap),
        _ => {
            errors.insert("tecnologia", "Scegli la tecnologia: REST o SOAP.".into());
            None
        }
    };
    let again = |errors: HashMap<&'static str, String>, summary: Vec<String>| {
        let mut page = general_page(&bo, &state, form.clone(), errors);
        page.summary = summary;
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let Some(technology) = technology.filter(|_| errors.is_empty()) else {
        return again(errors, vec![]);
    };
    let svc = state.platform.env(bo.env);
    let r = svc
        .create_eservice_draft(
            &bo.caller,
            bo.tenant,
            &form.nome,
            &form.descrizione,
            technology,
            EServiceMode::Deliver,
            default_input(),
        )
        .await;
    match r {
        Ok(es) => {
            let d = es.descriptors.first().map(|d| d.id).ok_or_else(|| PageError::internal("no draft version"))?;
            tracing::info!(env = bo.env.slug(), eservice = %es.id, "e-service draft created from the back office");
            Ok(see_other(&format!("{}/modifica/soglie?esito=creato", eservice_path(&bo, es.id, d))))
        }
        // A name already taken, or a text the domain refuses: said on the form.
        Err(e @ (AppError::Conflict(_) | AppError::Invalid(_) | AppError::Domain(_))) => {
            let msg = PageError::from(e).message;
            let mut errors = HashMap::new();
            errors.insert("nome", msg);
            again(errors, vec![])
        }
        Err(e) => Err(bo.err(&state, e)),
    }
}

/// A draft version's step: only a draft is edited in steps.
async fn load_draft(state: &PagesState, bo: &Bo, e: &str, d: &str) -> Result<(EService, Descriptor), PageError> {
    let (es, desc) = load(state, bo, e, d).await?;
    if desc.state != DescriptorState::Draft {
        return Err(bo
            .err(
                state,
                PageError::new(
                    StatusCode::CONFLICT,
                    "Versione già pubblicata",
                    "Si modificano solo le versioni in bozza: per cambiare l'e-service crea una nuova versione.",
                ),
            )
            .back(&eservice_path(bo, es.id, desc.id), "Torna all'e-service"));
    }
    Ok((es, desc))
}

fn input_of(d: &Descriptor) -> DescriptorInput {
    DescriptorInput {
        description: d.description.clone(),
        audience: d.audience.clone(),
        voucher_lifespan: d.voucher_lifespan,
        daily_calls_per_consumer: d.daily_calls_per_consumer,
        daily_calls_total: d.daily_calls_total,
        agreement_approval_policy: d.agreement_approval_policy,
        server_urls: d.server_urls.clone(),
        attributes: d.attributes.clone(),
    }
}

// ------------------------------------------------------ Soglie e attributi

/// One attribute of a group on the form, with the button that removes it.
struct GroupAttr {
    name: String,
    remove: String,
}

struct GroupRow {
    index: usize,
    attrs: Vec<GroupAttr>,
    /// The select's name and the button's value that add one to this group.
    add_field: String,
    add_value: String,
}

/// The groups of one kind of attribute on the form.
struct KindRows {
    kind: &'static str,
    title: &'static str,
    groups: Vec<GroupRow>,
    /// The environment's attributes of this kind (id, name).
    choices: Vec<(String, String)>,
    new_field: String,
    new_value: String,
}

#[derive(Template)]
#[template(path = "bo_erog_soglie.html")]
struct ThresholdsPage {
    layout: Layout,
    notice: Option<&'static str>,
    steps: Vec<Step>,
    name: String,
    version: u32,
    durata: String,
    per_fruitore: String,
    totali: String,
    manual: bool,
    kinds: Vec<KindRows>,
    errors: HashMap<&'static str, String>,
    action: String,
    back: String,
}

const KINDS: [(AttributeKind, &str, &str); 3] = [
    (AttributeKind::Certified, "certificati", "Attributi certificati"),
    (AttributeKind::Declared, "dichiarati", "Attributi dichiarati"),
    (AttributeKind::Verified, "verificati", "Attributi verificati"),
];

fn groups_of(g: &AttributeGroups, kind: AttributeKind) -> &Vec<Vec<AttributeId>> {
    match kind {
        AttributeKind::Certified => &g.certified,
        AttributeKind::Declared => &g.declared,
        AttributeKind::Verified => &g.verified,
    }
}

fn groups_of_mut(g: &mut AttributeGroups, kind: AttributeKind) -> &mut Vec<Vec<AttributeId>> {
    match kind {
        AttributeKind::Certified => &mut g.certified,
        AttributeKind::Declared => &mut g.declared,
        AttributeKind::Verified => &mut g.verified,
    }
}

#[allow(clippy::too_many_arguments)]
async fn thresholds_view(
    state: &PagesState,
    bo: &Bo,
    es: &EService,
    desc: &Descriptor,
    fields: (String, String, String, bool),
    groups: &AttributeGroups,
    errors: HashMap<&'static str, String>,
    notice_text: Option<&'static str>,
) -> Result<ThresholdsPage, PageError> {
    let svc = state.platform.env(bo.env);
    let mut kinds = vec![];
    for (kind, slug, title) in KINDS {
        let all = svc.attributes(&bo.caller, kind, Page::ALL).await.map_err(|e| bo.err(state, e))?.items;
        let name_of = |id: &AttributeId| {
            all.iter().find(|a| a.id == *id).map(|a| a.name.clone()).unwrap_or_else(|| id.to_string())
        };
        let groups = groups_of(groups, kind)
            .iter()
            .enumerate()
            .map(|(i, g)| GroupRow {
                index: i + 1,
                attrs: g
                    .iter()
                    .map(|a| GroupAttr { name: name_of(a), remove: format!("rimuovi:{slug}:{i}:{a}") })
                    .collect(),
                add_field: format!("aggiungi_{slug}_{i}"),
                add_value: format!("aggiungi:{slug}:{i}"),
            })
            .collect();
        kinds.push(KindRows {
            kind: slug,
            title,
            groups,
            choices: all.iter().map(|a| (a.id.to_string(), a.name.clone())).collect(),
            new_field: format!("nuovo_{slug}"),
            new_value: format!("gruppo:{slug}"),
        });
    }
    let (durata, per_fruitore, totali, manual) = fields;
    Ok(ThresholdsPage {
        layout: bo.layout(state, "Crea e-service", Nav::EServices),
        notice: notice_text,
        steps: steps(2),
        name: es.name.clone(),
        version: desc.version,
        durata,
        per_fruitore,
        totali,
        manual,
        kinds,
        errors,
        action: format!("{}/modifica/soglie", eservice_path(bo, es.id, desc.id)),
        back: eservice_path(bo, es.id, desc.id),
    })
}

#[derive(Deserialize, Default)]
pub struct StepQuery {
    esito: Option<String>,
}

async fn thresholds_page(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    require_editor(&bo, &state)?;
    let (es, desc) = load_draft(&state, &bo, &e, &d).await?;
    let fields = (
        (desc.voucher_lifespan / 60).to_string(),
        desc.daily_calls_per_consumer.to_string(),
        desc.daily_calls_total.to_string(),
        desc.agreement_approval_policy == ApprovalPolicy::Manual,
    );
    let page = thresholds_view(
        &state,
        &bo,
        &es,
        &desc,
        fields,
        &desc.attributes,
        HashMap::new(),
        notice(q.esito.as_deref(), NOTICES),
    )
    .await?;
    render(&page)
}

/// The form's value of `name` (the first one), or "".
fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// A whole number within bounds, or the field's message.
fn number(value: &str, min: u32, max: u32, what: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{what}: indica un numero intero da {} a {}.", thousands(min), thousands(max)))
}

/// "Soglie e attributi": the thresholds, and one change of the attribute groups
/// (the button pressed), saved on the draft; then this step again, or the next.
async fn save_thresholds(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if form.len() > 200 {
        return Err(PageError::bad_request("Il modulo ha troppi campi."));
    }
    let bo = Bo::act(&state, &headers, &env, field(&form, "csrf"), Change::Erogazione).await?;
    let (es, desc) = load_draft(&state, &bo, &e, &d).await?;
    let fields = (
        field(&form, "durata").to_string(),
        field(&form, "per_fruitore").to_string(),
        field(&form, "totali").to_string(),
        field(&form, "approvazione") == "MANUAL",
    );
    let mut errors: HashMap<&'static str, String> = HashMap::new();
    let lifespan = number(&fields.0, 1, 1440, "Durata del voucher").map_err(|m| errors.insert("durata", m)).ok();
    let per =
        number(&fields.1, 1, 1_000_000_000, "Soglia per fruitore").map_err(|m| errors.insert("per_fruitore", m)).ok();
    let total = number(&fields.2, 1, 1_000_000_000, "Soglia totale").map_err(|m| errors.insert("totali", m)).ok();
    if let (Some(p), Some(t)) = (per, total) {
        if p > t {
            errors.insert("per_fruitore", "La soglia per fruitore non può superare quella totale.".into());
        }
    }
    if !matches!(field(&form, "approvazione"), "AUTOMATIC" | "MANUAL") {
        errors.insert("approvazione", "Scegli come approvare le richieste di fruizione.".into());
    }
    // The groups as saved, with the change the button asks for.
    let mut groups = desc.attributes.clone();
    let azione = field(&form, "azione");
    let mut stay = azione != "prosegui";
    let parts: Vec<&str> = azione.split(':').collect();
    let kind_of = |slug: &str| KINDS.iter().find(|(_, s, _)| *s == slug).map(|(k, _, _)| *k);
    match parts.as_slice() {
        ["prosegui"] | ["salva"] => {}
        ["gruppo", slug] => match (kind_of(slug), field(&form, &format!("nuovo_{slug}")).parse::<AttributeId>()) {
            (Some(k), Ok(a)) => groups_of_mut(&mut groups, k).push(vec![a]),
            _ => drop(errors.insert("attributi", "Scegli l'attributo del nuovo gruppo.".into())),
        },
        ["aggiungi", slug, i] => {
            let chosen = field(&form, &format!("aggiungi_{slug}_{i}")).parse::<AttributeId>();
            match (kind_of(slug), i.parse::<usize>(), chosen) {
                (Some(k), Ok(i), Ok(a)) if i < groups_of(&groups, k).len() => {
                    let g = &mut groups_of_mut(&mut groups, k)[i];
                    if !g.contains(&a) {
                        g.push(a);
                    }
                }
                _ => drop(errors.insert("attributi", "Scegli l'attributo da aggiungere al gruppo.".into())),
            }
        }
        ["rimuovi", slug, i, a] => {
            if let (Some(k), Ok(i), Ok(a)) = (kind_of(slug), i.parse::<usize>(), a.parse::<AttributeId>()) {
                let gs = groups_of_mut(&mut groups, k);
                if let Some(g) = gs.get_mut(i) {
                    g.retain(|x| *x != a);
                    if g.is_empty() {
                        gs.remove(i);
                    }
                }
            }
        }
        _ => {
            stay = true;
            errors.insert("attributi", "Azione non riconosciuta.".into());
        }
    }
    if !errors.is_empty() {
        let page = thresholds_view(&state, &bo, &es, &desc, fields, &groups, errors, None).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // Every attribute named must be one of the environment's, of its kind.
    let svc = state.platform.env(bo.env);
    for (kind, _, title) in KINDS {
        for id in groups_of(&groups, kind).iter().flatten() {
            match svc.attribute(&bo.caller, *id).await {
                Ok(a) if a.kind == kind => {}
                _ => {
                    errors.insert("attributi", format!("{title}: un attributo scelto non è tra quelli dell'ambiente."));
                }
            }
        }
    }
    let mut input = input_of(&desc);
    input.voucher_lifespan = lifespan.unwrap_or(60) * 60;
    input.daily_calls_per_consumer = per.unwrap_or(1);
    input.daily_calls_total = total.unwrap_or(1);
    input.agreement_approval_policy = if fields.3 { ApprovalPolicy::Manual } else { ApprovalPolicy::Automatic };
    input.attributes = groups.clone();
    if errors.is_empty() {
        match svc.save_draft_descriptor(&bo.caller, es.id, input).await {
            Ok(_) => {}
            Err(e @ (AppError::Invalid(_) | AppError::Domain(_))) => {
                errors.insert("attributi", PageError::from(e).message);
            }
            Err(e) => return Err(bo.err(&state, e)),
        }
    }
    if !errors.is_empty() {
        let page = thresholds_view(&state, &bo, &es, &desc, fields, &groups, errors, None).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let base = eservice_path(&bo, es.id, desc.id);
    if stay {
        Ok(see_other(&format!("{base}/modifica/soglie?esito=soglie#attributi")))
    } else {
        Ok(see_other(&format!("{base}/modifica/specifiche?esito=soglie")))
    }
}

// ------------------------------------------------------ Specifiche tecniche

#[derive(Template)]
#[template(path = "bo_erog_specifiche.html")]
struct TechnicalPage {
    layout: Layout,
    notice: Option<&'static str>,
    steps: Vec<Step>,
    name: String,
    version: u32,
    technology: &'static str,
    audience: String,
    urls: String,
    urls_max: usize,
    interface: Option<InterfaceMeta>,
    max_mib: usize,
    errors: HashMap<&'static str, String>,
    action: String,
    back: String,
}

#[allow(clippy::too_many_arguments)]
fn technical_view(
    state: &PagesState,
    bo: &Bo,
    es: &EService,
    desc: &Descriptor,
    audience: String,
    urls: String,
    errors: HashMap<&'static str, String>,
    notice_text: Option<&'static str>,
) -> TechnicalPage {
    TechnicalPage {
        layout: bo.layout(state, "Crea e-service", Nav::EServices),
        notice: notice_text,
        steps: steps(3),
        name: es.name.clone(),
        version: desc.version,
        technology: technology_label(es.technology),
        audience,
        urls,
        urls_max: URLS_MAX,
        interface: desc.interface.clone(),
        max_mib: varco_interface::MAX_FILE_BYTES / (1024 * 1024),
        errors,
        action: format!("{}/modifica/specifiche", eservice_path(bo, es.id, desc.id)),
        back: format!("{}/modifica/soglie", eservice_path(bo, es.id, desc.id)),
    }
}

async fn technical_page(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    require_editor(&bo, &state)?;
    let (es, desc) = load_draft(&state, &bo, &e, &d).await?;
    let audience = desc.audience.first().cloned().unwrap_or_default();
    let urls = desc.server_urls.join("\n");
    render(&technical_view(
        &state,
        &bo,
        &es,
        &desc,
        audience,
        urls,
        HashMap::new(),
        notice(q.esito.as_deref(), NOTICES),
    ))
}

/// What the technical step's form sent.
#[derive(Default)]
struct TechnicalForm {
    csrf: String,
    audience: String,
    urls: String,
    file: Option<Vec<u8>>,
    /// A field or file over its bound (the message).
    too_large: Option<String>,
}

/// Reads the multipart form under bounds: short fields at most 8 KiB, the file
/// at most the interface file's limit (read in chunks: an upload past it stops
/// there, and nothing of it is kept).
async fn read_technical(mut m: Multipart) -> Result<TechnicalForm, PageError> {
    const SHORT: usize = 8 * 1024;
    let mut f = TechnicalForm::default();
    let bad = |_| PageError::bad_request("Il modulo inviato non è leggibile: riprova.");
    while let Some(mut part) = m.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or("").to_string();
        let limit = if name == "interfaccia" { varco_interface::MAX_FILE_BYTES } else { SHORT };
        let mut bytes = Vec::new();
        let mut over = false;
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > limit {
                over = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        if over {
            f.too_large = Some(if name == "interfaccia" {
                format!(
                    "Il file supera il limite di {} MiB: non è stato caricato.",
                    varco_interface::MAX_FILE_BYTES / (1024 * 1024)
                )
            } else {
                format!("Il campo «{name}» è troppo lungo.")
            });
            if name != "interfaccia" {
                continue;
            }
            // Past the file's limit: stop reading, the request is refused.
            break;
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => f.csrf = text(),
            "audience" => f.audience = text(),
            "url_server" => f.urls = text(),
            // A file input left empty sends an empty part.
            "interfaccia" if !bytes.is_empty() => f.file = Some(bytes),
            _ => {}
        }
    }
    Ok(f)
}

/// "Specifiche tecniche": audience, server addresses, interface file. Each refused
/// one is said on its field and nothing is saved; else the draft, then the file.
async fn save_technical(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, PageError> {
    // The session first: an anonymous upload is not read. A body that is no
    // multipart form has no form token either: refused as such, by `Bo::act`.
    let bo = Bo::enter(&state, &headers, &env).await?;
    let form = match Multipart::from_request(request, &state).await {
        Ok(m) => read_technical(m).await.map_err(|e| bo.err(&state, e))?,
        Err(_) => TechnicalForm::default(),
    };
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Erogazione).await?;
    let (es, desc) = load_draft(&state, &bo, &e, &d).await?;
    let svc = state.platform.env(bo.env);
    let mut errors: HashMap<&'static str, String> = HashMap::new();
    let audience = form.audience.trim().to_string();
    if audience.is_empty() {
        errors.insert("audience", "Indica l'audience: il valore che i fruitori mettono nel claim aud.".into());
    } else if audience.chars().count() > 512 {
        errors.insert("audience", "L'audience può avere al massimo 512 caratteri.".into());
    } else if let Some(why) =
        svc.audience_refusal(&bo.caller, es.id, desc.id, &audience).await.map_err(|e| bo.err(&state, e))?
    {
        errors.insert("audience", why);
    }
    let urls: Vec<String> = form.urls.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if urls.len() > URLS_MAX {
        errors.insert("url_server", format!("Al massimo {URLS_MAX} indirizzi, uno per riga."));
    } else if let Some(bad) =
        urls.iter().find(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2048)
    {
        let shown: String = bad.chars().take(80).collect();
        errors.insert("url_server", format!("«{shown}» non è un indirizzo http(s) valido."));
    }
    if let Some(m) = &form.too_large {
        errors.insert("interfaccia", m.clone());
    } else if let Some(bytes) = &form.file {
        if let Err(e) = varco_interface::check(bytes, es.technology) {
            errors.insert("interfaccia", format!("Il file non è stato caricato: {e}"));
        }
    } else if desc.interface.is_none() {
        errors.insert("interfaccia", "Carica il file dell'interfaccia (OpenAPI per REST, WSDL per SOAP).".into());
    }
    if !errors.is_empty() {
        let page = technical_view(&state, &bo, &es, &desc, audience, form.urls.clone(), errors, None);
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut input = input_of(&desc);
    input.audience = vec![audience.clone()];
    input.server_urls = urls;
    let fail = |e: AppError, errors: &mut HashMap<&'static str, String>, field: &'static str| match e {
        AppError::Invalid(_) | AppError::Domain(_) | AppError::Conflict(_) => {
            errors.insert(field, PageError::from(e).message);
            Ok(())
        }
        e => Err(bo.err(&state, e)),
    };
    if let Some(bytes) = &form.file {
        if let Err(e) = svc.set_draft_interface(&bo.caller, es.id, desc.id, bytes).await {
            fail(e, &mut errors, "interfaccia")?;
        }
    }
    if errors.is_empty() {
        if let Err(e) = svc.save_draft_descriptor(&bo.caller, es.id, input).await {
            fail(e, &mut errors, "audience")?;
        }
    }
    if !errors.is_empty() {
        let page = technical_view(&state, &bo, &es, &desc, audience, form.urls.clone(), errors, None);
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    Ok(see_other(&format!("{}/riepilogo?esito=specifiche", eservice_path(&bo, es.id, desc.id))))
}

// ------------------------------------------------------------------ riepilogo

/// A group of required attributes, by name.
struct NamedGroup {
    names: Vec<String>,
}

struct NamedKind {
    title: &'static str,
    groups: Vec<NamedGroup>,
}

/// What a version asks of its consumers, by name.
async fn named_groups(state: &PagesState, bo: &Bo, d: &Descriptor) -> Result<Vec<NamedKind>, PageError> {
    let svc = state.platform.env(bo.env);
    let mut out = vec![];
    for (kind, _, title) in KINDS {
        let mut groups = vec![];
        for g in groups_of(&d.attributes, kind) {
            let mut names = vec![];
            for id in g {
                names.push(svc.attribute(&bo.caller, *id).await.map(|a| a.name).unwrap_or(id.to_string()));
            }
            groups.push(NamedGroup { names });
        }
        out.push(NamedKind { title, groups });
    }
    Ok(out)
}

/// What the pages show of one version.
struct VersionView {
    version: u32,
    state: &'static str,
    technology: &'static str,
    audience: String,
    urls: Vec<String>,
    lifespan_minutes: u32,
    per_consumer: String,
    total: String,
    manual: bool,
    kinds: Vec<NamedKind>,
    interface: Option<InterfaceMeta>,
    interface_href: String,
}

async fn version_view(state: &PagesState, bo: &Bo, es: &EService, d: &Descriptor) -> Result<VersionView, PageError> {
    Ok(VersionView {
        version: d.version,
        state: state_label(d.state),
        technology: technology_label(es.technology),
        audience: d.audience.join(", "),
        urls: d.server_urls.clone(),
        lifespan_minutes: d.voucher_lifespan / 60,
        per_consumer: thousands(d.daily_calls_per_consumer),
        total: thousands(d.daily_calls_total),
        manual: d.agreement_approval_policy == ApprovalPolicy::Manual,
        kinds: named_groups(state, bo, d).await?,
        interface: d.interface.clone(),
        interface_href: bo.path(&format!("catalogo-e-service/{}/{}/interfaccia", es.id, d.id)),
    })
}

#[derive(Template)]
#[template(path = "bo_erog_riepilogo.html")]
struct SummaryPage {
    layout: Layout,
    notice: Option<&'static str>,
    error: Option<String>,
    steps: Vec<Step>,
    name: String,
    description: String,
    v: VersionView,
    thresholds_href: String,
    technical_href: String,
    publish_action: String,
    back: String,
}

async fn summary_page(
    state: &PagesState,
    bo: &Bo,
    es: &EService,
    desc: &Descriptor,
    notice_text: Option<&'static str>,
    error: Option<String>,
) -> Result<SummaryPage, PageError> {
    let base = eservice_path(bo, es.id, desc.id);
    Ok(SummaryPage {
        layout: bo.layout(state, "Riepilogo", Nav::EServices),
        notice: notice_text,
        error,
        steps: steps(4),
        name: es.name.clone(),
        description: es.description.clone(),
        v: version_view(state, bo, es, desc).await?,
        thresholds_href: format!("{base}/modifica/soglie"),
        technical_href: format!("{base}/modifica/specifiche"),
        publish_action: format!("{base}/pubblica"),
        back: base,
    })
}

async fn summary(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    require_editor(&bo, &state)?;
    let (es, desc) = load_draft(&state, &bo, &e, &d).await?;
    render(&summary_page(&state, &bo, &es, &desc, notice(q.esito.as_deref(), NOTICES), None).await?)
}

// ------------------------------------------------------------------ an e-service

struct VersionRow {
    version: u32,
    state: &'static str,
    href: String,
    current: bool,
}

struct Button {
    label: &'static str,
    action: String,
    danger: bool,
}

#[derive(Template)]
#[template(path = "bo_erog_eservice.html")]
struct EServicePage {
    layout: Layout,
    notice: Option<&'static str>,
    name: String,
    description: String,
    v: VersionView,
    draft: bool,
    edit_href: String,
    summary_href: String,
    buttons: Vec<Button>,
    read_only: bool,
    versions: Vec<VersionRow>,
    consumers_href: Option<String>,
    catalogue_href: Option<String>,
    back: String,
}

async fn eservice_page(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let (es, desc) = load(&state, &bo, &e, &d).await?;
    let base = eservice_path(&bo, es.id, desc.id);
    let has_draft = es.descriptors.iter().any(|x| x.state == DescriptorState::Draft);
    let newest_live = es
        .descriptors
        .iter()
        .filter(|x| !matches!(x.state, DescriptorState::Draft | DescriptorState::Archived))
        .max_by_key(|x| x.version)
        .map(|x| x.id);
    let newer_live = es.descriptors.iter().any(|x| {
        x.version > desc.version
            && matches!(x.state, DescriptorState::Published | DescriptorState::Deprecated | DescriptorState::Suspended)
    });
    let button = |label, rest: &str, danger| Button { label, action: format!("{base}/{rest}"), danger };
    let mut buttons = vec![];
    match desc.state {
        DescriptorState::Published | DescriptorState::Deprecated => {
            buttons.push(button("Sospendi versione", "sospendi", false))
        }
        DescriptorState::Suspended => buttons.push(button("Riattiva versione", "riattiva", false)),
        _ => {}
    }
    if !has_draft && newest_live == Some(desc.id) {
        buttons.push(button("Crea nuova versione", "nuova-versione", false));
    }
    if desc.state == DescriptorState::Deprecated || (desc.state == DescriptorState::Suspended && newer_live) {
        buttons.push(button("Archivia versione", "archivia", true));
    }
    let may = may_edit(&bo);
    let read_only = !may && !buttons.is_empty();
    if !may {
        buttons.clear();
    }
    let mut versions: Vec<VersionRow> = es
        .descriptors
        .iter()
        .map(|x| VersionRow {
            version: x.version,
            state: state_label(x.state),
            href: eservice_path(&bo, es.id, x.id),
            current: x.id == desc.id,
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let draft = desc.state == DescriptorState::Draft;
    render(&EServicePage {
        layout: bo.layout(&state, &es.name, Nav::EServices),
        notice: notice(q.esito.as_deref(), NOTICES),
        name: es.name.clone(),
        description: es.description.clone(),
        v: version_view(&state, &bo, &es, &desc).await?,
        draft: draft && may,
        edit_href: format!("{base}/modifica/soglie"),
        summary_href: format!("{base}/riepilogo"),
        buttons,
        read_only,
        versions,
        consumers_href: (bo.caller.sees_ricevute() && !draft).then(|| format!("{base}/fruitori")),
        catalogue_href: (!draft).then(|| bo.path(&format!("catalogo-e-service/{}/{}", es.id, desc.id))),
        back: bo.path("erogazione/e-service"),
    })
}

// ------------------------------------------------------------------ actions

#[derive(Deserialize, Default)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conferma: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionAct {
    Publish,
    Suspend,
    Unsuspend,
    Archive,
    NewVersion,
}

async fn version_action(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
    what: VersionAct,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Erogazione).await?;
    let (es, desc) = load(&state, &bo, &e, &d).await?;
    let svc = state.platform.env(bo.env);
    let base = eservice_path(&bo, es.id, desc.id);
    let fail = |e: AppError| bo.err(&state, e).back(&base, "Torna all'e-service");
    let done = |to: &str, esito: &str| Ok(see_other(&format!("{to}?esito={esito}")));
    match what {
        VersionAct::Publish => match svc.publish_descriptor(&bo.caller, es.id, desc.id).await {
            Ok(()) => {
                tracing::info!(env = bo.env.slug(), eservice = %es.id, descriptor = %desc.id, "version published from the back office");
                done(&base, "pubblicata")
            }
            // Not publishable as it is (an audience taken meanwhile, a missing
            // field): the summary again, with why.
            Err(e @ (AppError::Invalid(_) | AppError::Domain(_) | AppError::Conflict(_))) => {
                let msg = PageError::from(e).message;
                let page = summary_page(&state, &bo, &es, &desc, None, Some(msg)).await?;
                render_status(StatusCode::CONFLICT, &page)
            }
            Err(e) => Err(fail(e)),
        },
        VersionAct::Suspend => {
            svc.suspend_descriptor(&bo.caller, es.id, desc.id).await.map_err(fail)?;
            done(&base, "sospesa")
        }
        VersionAct::Unsuspend => {
            svc.unsuspend_descriptor(&bo.caller, es.id, desc.id).await.map_err(fail)?;
            done(&base, "riattivata")
        }
        VersionAct::Archive if form.conferma != "si" => confirm(
            &bo,
            &state,
            Nav::EServices,
            "Archivia versione",
            &format!(
                "La versione {} di «{}» sarà archiviata: non sarà più nel catalogo e nessuno potrà più usarla. \
                 L'operazione non si può annullare.",
                desc.version, es.name
            ),
            &format!("{base}/archivia"),
            "Archivia versione",
            &base,
            &[],
        ),
        VersionAct::Archive => {
            svc.archive_descriptor(&bo.caller, es.id, desc.id).await.map_err(fail)?;
            done(&base, "archiviata")
        }
        VersionAct::NewVersion => {
            let new = svc.save_draft_descriptor(&bo.caller, es.id, input_of(&desc)).await.map_err(fail)?;
            // Everything but the interface file is copied: each version has its own.
            done(&format!("{}/modifica/soglie", eservice_path(&bo, es.id, new)), "nuova")
        }
    }
}

// ------------------------------------------------------------------ fruitori

/// A CSV cell: quoted, and neutralised when a spreadsheet would read it as a
/// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return).
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// "Scarica l'elenco dei fruitori": the consumers of every version of the
/// e-service (requests not in draft), as CSV, downloaded.
async fn consumers_csv(
    State(state): State<PagesState>,
    Path((env, e, d)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    if !bo.caller.sees_ricevute() {
        return Err(bo.err(
            &state,
            PageError::forbidden("Il tuo ruolo non consente di consultare le richieste di fruizione ricevute."),
        ));
    }
    let (es, _) = load(&state, &bo, &e, &d).await?;
    let svc = state.platform.env(bo.env);
    let f = AgreementFilter { producers: vec![bo.tenant], eservices: vec![es.id], ..AgreementFilter::default() };
    let found = svc.agreements(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mut out = String::from("\u{feff}");
    out.push_str(
        &["Fruitore", "Codice", "Versione", "Stato della richiesta", "Data di attivazione"].map(csv_cell).join(","),
    );
    out.push_str("\r\n");
    for a in found.items.iter().filter(|a| a.state != AgreementState::Draft) {
        let t = svc.tenant(&bo.caller, a.consumer_id).await.ok();
        let version = es.descriptor(a.descriptor_id).map(|x| x.version.to_string()).unwrap_or_default();
        let row = [
            t.as_ref().map(|t| t.name.clone()).unwrap_or(a.consumer_id.to_string()),
            t.as_ref().map(|t| format!("{} {}", t.external_id.origin, t.external_id.value)).unwrap_or_default(),
            version,
            super::richieste::state_label(a.state).to_string(),
            a.stamps.activation.as_ref().map(|x| x.when.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let name = format!("fruitori-{}.csv", es.id);
    attachment(out.into_bytes(), "text/csv; charset=utf-8", &name)
}

/// A download: always an attachment, its type as given and never sniffed.
pub(crate) fn attachment(bytes: Vec<u8>, content_type: &str, name: &str) -> Result<Response, PageError> {
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).map_err(PageError::internal)?);
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")).map_err(PageError::internal)?,
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Nothing of it is run, even if a browser were told to show it.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_cell("Comune di Prova"), "\"Comune di Prova\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "\"'+1\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("a=b"), "\"a=b\"");
    }

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r), "{r:?} twice");
        }
    }
}
