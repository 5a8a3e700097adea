//! Erogazione > "Finalità ricevute": the consumers' purposes on the Ente's
//! e-services (never their drafts), filtered by e-service, fruitore and state; a
//! purpose's page with what the consumer wrote (the risk analysis read only, as
//! the consumer's summary shows it), its versions and, for an estimate waiting for
//! approval, the load it brings against the e-service's thresholds, with "Approva"
//! / "Rifiuta" (the reason required); "Sospendi" / "Riattiva" the producer's own
//! suspension. The platform decides who may see and decide; the page hides the
//! buttons a role may not use.
use super::{echo, enter, reason_error, suspension_button, ListQuery, REASON_MAX};
use crate::backoffice::catalogo::{page_links, page_number, PageLink};
use crate::backoffice::finalita::{number, risk_answers, shown, state_badge, state_label, AnswerView};
use crate::backoffice::frame::{action_route, notice, Bo, Nav};
use crate::backoffice::richieste::{party_choices, when, Button, Choice, Names, NoticeQuery};
use crate::pages::{render, render_status, see_other, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use varco_domain::*;
use varco_platform::{AppError, Change, Page, PurposeFilter};

pub(super) fn routes(
    list_path: &str,
    detail_path: &str,
    approve: &str,
    reject: &str,
    suspend: &str,
    unsuspend: &str,
) -> Router<PagesState> {
    Router::new()
        .route(list_path, get(list))
        .route(detail_path, get(detail))
        .route(approve, action_route(act, Act::Approve))
        .route(reject, action_route(act, Act::Reject))
        .route(suspend, action_route(act, Act::Suspend))
        .route(unsuspend, action_route(act, Act::Unsuspend))
}

const PAGE_SIZE: usize = 10;

const NOTICES: &[(&str, &str)] = &[
    ("approvata", "Stima di carico approvata: è quella in uso per la finalità."),
    ("rifiutata", "Stima di carico rifiutata: il fruitore ne vede il motivo nella sua finalità."),
    ("sospesa", "Finalità sospesa dal tuo ente."),
    ("riattivata", "Sospensione del tuo ente revocata."),
];

/// The states of a received purpose: all but the consumer's draft.
const STATES: &[(&str, PurposeVersionState)] = &[
    ("ACTIVE", PurposeVersionState::Active),
    ("SUSPENDED", PurposeVersionState::Suspended),
    ("WAITING_FOR_APPROVAL", PurposeVersionState::WaitingForApproval),
    ("ARCHIVED", PurposeVersionState::Archived),
    ("REJECTED", PurposeVersionState::Rejected),
];

fn base(bo: &Bo) -> String {
    bo.path("erogazione/finalita")
}

fn url(bo: &Bo, id: PurposeId) -> String {
    format!("{}/{id}", base(bo))
}

// ------------------------------------------------------------------ the list

struct Row {
    title: String,
    href: String,
    eservice: String,
    consumer: String,
    state: &'static str,
    badge: &'static str,
    daily_calls: String,
    /// A new estimate waits for this Ente while another is in use.
    change_waiting: bool,
}

#[derive(Template)]
#[template(path = "bo_ricevute_finalita.html")]
struct ListPage {
    layout: Layout,
    notice: Option<&'static str>,
    action: String,
    eservices: Vec<Choice>,
    consumers: Vec<Choice>,
    states: Vec<Choice>,
    filtered: bool,
    total: usize,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
}

/// "Finalità ricevute".
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let action = base(&bo);
    let (eservices, consumers) = q.parties(&bo, &state, &action)?;
    let chosen: Vec<PurposeVersionState> = match q.stato.trim() {
        "" => vec![],
        s => vec![STATES.iter().find(|(c, _)| *c == s).map(|(_, st)| *st).ok_or_else(|| {
            bo.err(&state, PageError::bad_request("Il filtro «Stato» non ha un valore valido."))
                .back(&action, "Mostra tutte le finalità")
        })?],
    };
    let pagina = page_number(q.pagina.as_deref());
    let all_states: Vec<PurposeVersionState> = STATES.iter().map(|(_, s)| *s).collect();
    let received = PurposeFilter { producers: vec![bo.tenant], states: all_states.clone(), ..PurposeFilter::default() };
    let all = svc.purposes(&bo.caller, &received, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mut names = Names::default();
    let pairs: Vec<(EServiceId, TenantId)> = all.items.iter().map(|p| (p.eservice_id, p.consumer_id)).collect();
    let (es_choices, co_choices) = party_choices(&state, &bo, &mut names, &pairs, &eservices, &consumers).await;
    let filtered = !(eservices.is_empty() && consumers.is_empty() && chosen.is_empty());
    let state_choices = STATES
        .iter()
        .map(|(c, s)| Choice { value: c.to_string(), label: state_label(*s).into(), selected: chosen.contains(s) })
        .collect();
    let f = PurposeFilter {
        producers: vec![bo.tenant],
        eservices,
        consumers,
        states: if chosen.is_empty() { all_states } else { chosen },
        ..PurposeFilter::default()
    };
    let window = Page { offset: (pagina - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    let found = svc.purposes(&bo.caller, &f, window).await.map_err(|e| bo.err(&state, e))?;
    let mut rows = vec![];
    for p in &found.items {
        let (s, calls) = shown(p);
        rows.push(Row {
            title: p.title.clone(),
            href: url(&bo, p.id),
            eservice: names.eservice_name(&state, &bo, p.eservice_id).await,
            consumer: names.tenant(&state, &bo, p.consumer_id).await,
            state: state_label(s),
            badge: state_badge(s),
            daily_calls: number(calls.into()),
            change_waiting: p.current_version().is_some() && p.waiting_version().is_some(),
        });
    }
    render(&ListPage {
        layout: bo.layout(&state, "Finalità ricevute", Nav::FinalitaRicevute),
        notice: notice(q.esito.as_deref(), NOTICES),
        pages: page_links(&q.page_base(&action), found.total, PAGE_SIZE, pagina),
        action,
        eservices: es_choices,
        consumers: co_choices,
        states: state_choices,
        filtered,
        total: found.total,
        rows,
    })
}

// ------------------------------------------------------------------ one purpose

struct Ctx {
    p: Purpose,
    es: EService,
    consumer: Tenant,
}

/// A purpose on one of the Ente's e-services: what the platform does not show is
/// "not found", and so are the Ente's own purposes as consumer of others.
async fn load(state: &PagesState, bo: &Bo, raw: &str) -> Result<Ctx, PageError> {
    let missing = || bo.err(state, PageError::not_found("La finalità"));
    let id: PurposeId = raw.parse().map_err(|_| missing())?;
    let svc = state.platform.env(bo.env);
    let p = svc.purpose(&bo.caller, id).await.map_err(|e| bo.err(state, e))?;
    let es = svc.eservice(&bo.caller, p.eservice_id).await.map_err(|e| bo.err(state, e))?;
    if es.producer_id != bo.tenant || p.versions.iter().all(|v| v.state == PurposeVersionState::Draft) {
        return Err(missing());
    }
    let consumer = svc.tenant(&bo.caller, p.consumer_id).await.map_err(|e| bo.err(state, e))?;
    Ok(Ctx { p, es, consumer })
}

/// The load an estimate waiting for approval brings: the consumer's and everyone's
/// daily calls already active on the e-service (this purpose's own left out, as the
/// approval replaces them), with the estimate, against the version's thresholds.
pub struct Load {
    pub waiting: String,
    pub consumer_active: String,
    pub consumer_with: String,
    pub per_consumer: String,
    pub consumer_over: bool,
    pub total_active: String,
    pub total_with: String,
    pub total: String,
    pub total_over: bool,
}

async fn load_of(state: &PagesState, bo: &Bo, p: &Purpose, d: &Descriptor, waiting: u32) -> Result<Load, PageError> {
    let svc = state.platform.env(bo.env);
    let f = PurposeFilter { eservices: vec![p.eservice_id], producers: vec![bo.tenant], ..PurposeFilter::default() };
    let on_eservice = svc.purposes(&bo.caller, &f, Page::ALL).await.map_err(|e| bo.err(state, e))?;
    let active = |q: &Purpose| -> u64 {
        q.versions.iter().filter(|v| v.state == PurposeVersionState::Active).map(|v| u64::from(v.daily_calls)).sum()
    };
    let others = on_eservice.items.iter().filter(|q| q.id != p.id);
    let total_active: u64 = others.clone().map(active).sum();
    let consumer_active: u64 = others.filter(|q| q.consumer_id == p.consumer_id).map(active).sum();
    let (w, per, total) = (u64::from(waiting), u64::from(d.daily_calls_per_consumer), u64::from(d.daily_calls_total));
    Ok(Load {
        waiting: number(w),
        consumer_active: number(consumer_active),
        consumer_with: number(consumer_active + w),
        per_consumer: number(per),
        consumer_over: consumer_active + w > per,
        total_active: number(total_active),
        total_with: number(total_active + w),
        total: number(total),
        total_over: total_active + w > total,
    })
}

pub struct VersionRow {
    pub state: &'static str,
    pub daily_calls: String,
    pub created: String,
    pub activated: String,
    pub rejection_reason: String,
}

#[derive(Template)]
#[template(path = "bo_ricevute_finalita_dettaglio.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<&'static str>,
    p: Purpose,
    state: &'static str,
    badge: &'static str,
    eservice: String,
    eservice_href: String,
    version: String,
    consumer: String,
    versions: Vec<VersionRow>,
    answers: Vec<AnswerView>,
    form_version: String,
    free_of_charge: String,
    load: Option<Load>,
    suspended_by: String,
    buttons: Vec<Button>,
    reject_action: Option<String>,
    reason: String,
    reason_error: Option<String>,
    reason_max: usize,
    read_only: bool,
    back: String,
}

async fn detail_page(
    state: &PagesState,
    bo: &Bo,
    ctx: Ctx,
    notice: Option<&'static str>,
    reason: String,
    reason_error: Option<String>,
) -> Result<DetailPage, PageError> {
    let Ctx { p, es, consumer } = ctx;
    let svc = state.platform.env(bo.env);
    let (s, _) = shown(&p);
    // The version of the consumer's request: its thresholds are the ones that count.
    let agreement = svc.purpose_agreement(&bo.caller, p.id).await.ok();
    let desc = agreement.and_then(|a| es.descriptor(a.descriptor_id)).or_else(|| es.latest_published()).cloned();
    let load = match (p.waiting_version(), &desc) {
        (Some(v), Some(d)) => Some(load_of(state, bo, &p, d, v.daily_calls).await?),
        _ => None,
    };
    let (answers, form_version) = risk_answers(consumer.kind, p.risk_analysis.as_ref());
    let versions = p
        .versions
        .iter()
        .map(|v| VersionRow {
            state: state_label(v.state),
            daily_calls: number(v.daily_calls.into()),
            created: when(&v.created_at),
            activated: v.first_activation_at.as_ref().map(when).unwrap_or_default(),
            rejection_reason: v.rejection_reason.clone().unwrap_or_default(),
        })
        .collect();
    let mut suspended_by = vec![];
    if p.suspended_by_consumer {
        suspended_by.push("dal fruitore");
    }
    if p.suspended_by_producer {
        suspended_by.push("dal tuo ente");
    }
    let at = url(bo, p.id);
    let button = |label, rest: &str, danger| Button { label, action: format!("{at}/{rest}"), danger };
    let mut buttons = vec![];
    let mut reject_action = None;
    if p.waiting_version().is_some() {
        buttons.push(button("Approva", "approva", false));
        reject_action = Some(format!("{at}/rifiuta"));
    }
    if p.current_version().is_some() {
        buttons.push(suspension_button(bo, &at, p.consumer_id, p.suspended_by_consumer, p.suspended_by_producer));
    }
    let may = bo.caller.may(Change::Ricevute);
    let read_only = !may && !buttons.is_empty();
    if !may {
        buttons.clear();
        reject_action = None;
    }
    Ok(DetailPage {
        layout: bo.layout(state, &p.title, Nav::FinalitaRicevute),
        notice,
        state: state_label(s),
        badge: state_badge(s),
        eservice: es.name.clone(),
        eservice_href: desc
            .as_ref()
            .map(|d| bo.path(&format!("catalogo-e-service/{}/{}", es.id, d.id)))
            .unwrap_or_default(),
        version: desc.as_ref().map(|d| d.version.to_string()).unwrap_or_default(),
        consumer: consumer.name.clone(),
        versions,
        answers,
        form_version,
        free_of_charge: if p.is_free_of_charge {
            match &p.free_of_charge_reason {
                Some(r) => format!("A titolo gratuito: {r}"),
                None => "A titolo gratuito".into(),
            }
        } else {
            "A pagamento".into()
        },
        load,
        suspended_by: suspended_by.join(" e "),
        buttons,
        reject_action,
        reason,
        reason_error,
        reason_max: REASON_MAX,
        read_only,
        back: base(bo),
        p,
    })
}

async fn detail(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let ctx = load(&state, &bo, &raw).await?;
    render(&detail_page(&state, &bo, ctx, notice(q.esito.as_deref(), NOTICES), String::new(), None).await?)
}

// ------------------------------------------------------------------ actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    motivo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Approve,
    Reject,
    Suspend,
    Unsuspend,
}

async fn act(
    State(state): State<PagesState>,
    Path((env, raw)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
    what: Act,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Ricevute).await?;
    let ctx = load(&state, &bo, &raw).await?;
    let svc = state.platform.env(bo.env);
    let id = ctx.p.id;
    let back = url(&bo, id);
    let fail = |e: AppError| bo.err(&state, e).back(&back, "Torna alla finalità");
    let esito = match what {
        Act::Approve => svc.approve_purpose(&bo.caller, id).await.map(|_| "approvata"),
        Act::Reject => {
            if let Some(msg) = reason_error(&form.motivo) {
                let typed = echo(&form.motivo, REASON_MAX);
                let page = detail_page(&state, &bo, ctx, None, typed, Some(msg)).await?;
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
            svc.reject_purpose(&bo.caller, id, form.motivo.trim().to_string()).await.map(|_| "rifiutata")
        }
        Act::Suspend => svc.suspend_purpose(&bo.caller, id).await.map(|_| "sospesa"),
        Act::Unsuspend => svc.unsuspend_purpose(&bo.caller, id).await.map(|_| "riattivata"),
    }
    .map_err(fail)?;
    Ok(see_other(&format!("{back}?esito={esito}")))
}
