//! Erogazione > "Richieste ricevute" and "Finalità ricevute": what consumers asked
//! of the Ente's e-services. The requests (agreements) on them, filtered by
//! e-service, fruitore and state, without the consumers' drafts; a request's page
//! with the consumer's message, its attributes against what the version asks, and
//! the producer's decisions: "Attiva" / "Rifiuta" (with the reason the consumer
//! reads) while it waits, "Sospendi" / "Riattiva" (the producer's own suspension),
//! "Verifica attributo" / "Revoca attributo" for the verified attributes the
//! version asks for. The purposes are in `finalita`. The platform decides who may
//! see and decide what (only the e-service's producer, with a role that may); the
//! pages hide the buttons a role may not use and refuse an Operatore di sicurezza,
//! who does not see these pages (PDND).
mod finalita;

use super::catalogo::{page_links, page_number, PageLink};
use super::frame::{action_route, notice, Bo, Nav};
use super::richieste::{
    dates, filter_id, filter_state, group_rows, party_choices, query_string, state_choices, state_label, AttrGroup,
    Button, Choice, Names, NoticeQuery, STATES,
};
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
use varco_platform::{AgreementFilter, AppError, Change, Page};

const LIST: &str = "/interop/{env}/erogazione/richieste";
const DETAIL: &str = "/interop/{env}/erogazione/richieste/{id}";
const ACTIVATE: &str = "/interop/{env}/erogazione/richieste/{id}/attiva";
const REJECT: &str = "/interop/{env}/erogazione/richieste/{id}/rifiuta";
const SUSPEND: &str = "/interop/{env}/erogazione/richieste/{id}/sospendi";
const UNSUSPEND: &str = "/interop/{env}/erogazione/richieste/{id}/riattiva";
const VERIFY: &str = "/interop/{env}/erogazione/richieste/{id}/verifica";
const REVOKE: &str = "/interop/{env}/erogazione/richieste/{id}/revoca";
const P_LIST: &str = "/interop/{env}/erogazione/finalita";
const P_DETAIL: &str = "/interop/{env}/erogazione/finalita/{id}";
const P_APPROVE: &str = "/interop/{env}/erogazione/finalita/{id}/approva";
const P_REJECT: &str = "/interop/{env}/erogazione/finalita/{id}/rifiuta";
const P_SUSPEND: &str = "/interop/{env}/erogazione/finalita/{id}/sospendi";
const P_UNSUSPEND: &str = "/interop/{env}/erogazione/finalita/{id}/riattiva";

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", LIST),
    ("GET", DETAIL),
    ("POST", ACTIVATE),
    ("POST", REJECT),
    ("POST", SUSPEND),
    ("POST", UNSUSPEND),
    ("POST", VERIFY),
    ("POST", REVOKE),
    ("GET", P_LIST),
    ("GET", P_DETAIL),
    ("POST", P_APPROVE),
    ("POST", P_REJECT),
    ("POST", P_SUSPEND),
    ("POST", P_UNSUSPEND),
];

/// Requests per page of the list.
pub const PAGE_SIZE: usize = 10;
/// "Motivo del rifiuto": required, at most this many characters (as PDND's API).
pub const REASON_MAX: usize = 1000;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(LIST, get(list))
        .route(DETAIL, get(detail))
        .route(ACTIVATE, action_route(act, Act::Activate))
        .route(REJECT, action_route(act, Act::Reject))
        .route(SUSPEND, action_route(act, Act::Suspend))
        .route(UNSUSPEND, action_route(act, Act::Unsuspend))
        .route(VERIFY, action_route(act, Act::Verify))
        .route(REVOKE, action_route(act, Act::Revoke))
        .merge(finalita::routes(P_LIST, P_DETAIL, P_APPROVE, P_REJECT, P_SUSPEND, P_UNSUSPEND))
}

/// The notices after an action (`?esito=`).
const NOTICES: &[(&str, &str)] = &[
    ("attivata", "Richiesta attivata: il fruitore può usare l'e-service."),
    ("rifiutata", "Richiesta rifiutata: il fruitore ne vede il motivo nella sua richiesta."),
    ("sospesa", "Richiesta sospesa dal tuo ente."),
    ("riattivata", "Sospensione del tuo ente revocata."),
    ("verificato", "Attributo verificato per il fruitore."),
    ("revocato", "Verifica dell'attributo revocata."),
];

/// These pages are for who may see what the Ente received: Amministratore and
/// Operatore API (as the sidebar, from the platform's rule).
pub(crate) async fn enter(state: &PagesState, headers: &HeaderMap, env: &str) -> Result<Bo, PageError> {
    let bo = Bo::enter(state, headers, env).await?;
    if !bo.caller.sees_ricevute() {
        return Err(bo.err(
            state,
            PageError::forbidden(
                "Il tuo ruolo non consente di consultare le richieste e le finalità ricevute dall'ente.",
            ),
        ));
    }
    Ok(bo)
}

/// Why a rejection reason is not acceptable (the platform checks it too).
pub(crate) fn reason_error(reason: &str) -> Option<String> {
    let n = reason.trim().chars().count();
    if n == 0 {
        Some("Indica il motivo del rifiuto: il fruitore lo leggerà.".into())
    } else if n > REASON_MAX {
        Some(format!("Il motivo del rifiuto può avere al massimo {REASON_MAX} caratteri (ne ha {n})."))
    } else {
        None
    }
}

/// What a typed text shows again in its field: at most a little more than its
/// bound (a huge post is not echoed back whole).
pub(crate) fn echo(s: &str, max: usize) -> String {
    s.chars().take(max + 100).collect()
}

/// The suspension the producer's pages lift or set: the producer's, unless the
/// Ente uses its own e-service (then the platform takes it as the consumer's).
/// Set, "Riattiva"; else "Sospendi". The same rule for requests and purposes.
fn suspension_button(bo: &Bo, at: &str, consumer: TenantId, by_consumer: bool, by_producer: bool) -> Button {
    let own = if consumer == bo.tenant { by_consumer } else { by_producer };
    if own {
        Button { label: "Riattiva", action: format!("{at}/riattiva"), danger: false }
    } else {
        Button { label: "Sospendi", action: format!("{at}/sospendi"), danger: true }
    }
}

// ------------------------------------------------------------------ the list

/// The filters of both lists of what the Ente received (requests and purposes).
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    eservice: String,
    #[serde(default)]
    fruitore: String,
    #[serde(default)]
    stato: String,
    pagina: Option<String>,
    esito: Option<String>,
}

impl ListQuery {
    /// The e-service and fruitore filters: empty means any; a value not valid is a
    /// 400 page with a link to the unfiltered list `action`.
    fn parties(
        &self,
        bo: &Bo,
        state: &PagesState,
        action: &str,
    ) -> Result<(Vec<EServiceId>, Vec<TenantId>), PageError> {
        let eservices = filter_id(bo, state, &self.eservice, "E-service", action)?;
        let consumers = filter_id(bo, state, &self.fruitore, "Fruitore", action)?;
        Ok((eservices, consumers))
    }

    /// Where the list's page links go: the list `action` with the filters chosen.
    fn page_base(&self, action: &str) -> String {
        format!(
            "{action}?{}",
            query_string(&[("eservice", &self.eservice), ("fruitore", &self.fruitore), ("stato", &self.stato)])
        )
    }
}

struct Row {
    eservice: String,
    consumer: String,
    version: String,
    state: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "bo_ricevute_richieste.html")]
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

/// The states a received request may be in: all but the consumer's draft.
fn received_states() -> impl Iterator<Item = &'static (AgreementState, &'static str, &'static str)> {
    STATES.iter().filter(|(s, _, _)| *s != AgreementState::Draft)
}

/// "Richieste di fruizione ricevute".
async fn list(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let action = bo.path("erogazione/richieste");
    let (eservices, consumers) = q.parties(&bo, &state, &action)?;
    let chosen = filter_state(&bo, &state, &q.stato, received_states(), &action)?;
    let pagina = page_number(q.pagina.as_deref());
    // Drafts are the consumer's business: never listed here.
    let all_states: Vec<AgreementState> = received_states().map(|(s, _, _)| *s).collect();

    // The choices of the filters: the e-services and consumers of the requests received.
    let received =
        AgreementFilter { producers: vec![bo.tenant], states: all_states.clone(), ..AgreementFilter::default() };
    let all = svc.agreements(&bo.caller, &received, Page::ALL).await.map_err(|e| bo.err(&state, e))?;
    let mut names = Names::default();
    let pairs: Vec<(EServiceId, TenantId)> = all.items.iter().map(|a| (a.eservice_id, a.consumer_id)).collect();
    let (es_choices, co_choices) = party_choices(&state, &bo, &mut names, &pairs, &eservices, &consumers).await;
    let state_choices = state_choices(received_states(), &chosen);

    let filtered = !(eservices.is_empty() && consumers.is_empty() && chosen.is_empty());
    let f = AgreementFilter {
        producers: vec![bo.tenant],
        eservices,
        consumers,
        states: if chosen.is_empty() { all_states } else { chosen },
        ..AgreementFilter::default()
    };
    let window = Page { offset: (pagina - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    let found = svc.agreements(&bo.caller, &f, window).await.map_err(|e| bo.err(&state, e))?;
    let mut rows = vec![];
    for a in &found.items {
        let (eservice, version) = names.eservice_version(&state, &bo, a).await;
        rows.push(Row {
            eservice,
            consumer: names.tenant(&state, &bo, a.consumer_id).await,
            version,
            state: state_label(a.state),
            href: detail_path(&bo, a.id),
        });
    }
    render(&ListPage {
        layout: bo.layout(&state, "Richieste di fruizione ricevute", Nav::RichiesteRicevute),
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

// ------------------------------------------------------------------ one request

/// A request received, with what its page shows of it.
struct Ctx {
    a: Agreement,
    es: EService,
    desc: Descriptor,
    consumer: Tenant,
}

/// A request on one of the Ente's e-services: another Ente's is refused by the
/// platform; the Ente's own requests as consumer, and drafts, are not here.
async fn load(state: &PagesState, bo: &Bo, id: &str) -> Result<Ctx, PageError> {
    let missing = || bo.err(state, PageError::not_found("La richiesta di fruizione"));
    let id: AgreementId = id.parse().map_err(|_| missing())?;
    let svc = state.platform.env(bo.env);
    let a = svc.agreement(&bo.caller, id).await.map_err(|e| bo.err(state, e))?;
    if a.producer_id != bo.tenant || a.state == AgreementState::Draft {
        return Err(missing());
    }
    let es = svc.eservice(&bo.caller, a.eservice_id).await.map_err(|e| bo.err(state, e))?;
    let desc = es.descriptor(a.descriptor_id).cloned().ok_or_else(missing)?;
    let consumer = svc.tenant(&bo.caller, a.consumer_id).await.map_err(|e| bo.err(state, e))?;
    Ok(Ctx { a, es, desc, consumer })
}

fn detail_path(bo: &Bo, id: AgreementId) -> String {
    bo.path(&format!("erogazione/richieste/{id}"))
}

#[derive(Template)]
#[template(path = "bo_ricevute_richiesta.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<&'static str>,
    eservice: String,
    eservice_href: String,
    consumer: String,
    version: u32,
    manual: bool,
    state: &'static str,
    suspended_by: String,
    dates: Vec<(&'static str, String)>,
    notes: String,
    rejection_reason: String,
    certified: Vec<AttrGroup>,
    declared: Vec<AttrGroup>,
    verified: Vec<AttrGroup>,
    /// Waiting, with verified attributes this Ente has not verified yet.
    unverified: bool,
    buttons: Vec<Button>,
    /// "Rifiuta": the reason's form (a request waiting for approval).
    reject_action: Option<String>,
    reason: String,
    reason_error: Option<String>,
    reason_max: usize,
    /// "Verifica attributo" / "Revoca attributo" for the verified attributes asked.
    may_verify: bool,
    verify_action: String,
    revoke_action: String,
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
    let Ctx { a, es, desc, consumer } = ctx;
    let base = detail_path(bo, a.id);
    let mut suspended_by = vec![];
    if a.state == AgreementState::Suspended {
        if a.suspended_by_consumer {
            suspended_by.push("dal fruitore");
        }
        if a.suspended_by_producer {
            suspended_by.push("dal tuo ente");
        }
        if a.suspended_by_platform {
            suspended_by.push("dalla piattaforma");
        }
    }
    let s = &a.stamps;
    let dates = dates([
        ("Data di inoltro", s.submission.as_ref().map(|x| &x.when)),
        ("Data di attivazione", s.activation.as_ref().map(|x| &x.when)),
        ("Sospesa dal fruitore il", s.suspension_by_consumer.as_ref().map(|x| &x.when)),
        ("Sospesa dal tuo ente il", s.suspension_by_producer.as_ref().map(|x| &x.when)),
        ("Data di rifiuto", s.rejection.as_ref().map(|x| &x.when)),
        ("Aggiornata di versione il", s.upgrade.as_ref().map(|x| &x.when)),
        ("Data di archiviazione", s.archiving.as_ref().map(|x| &x.when)),
    ]);
    let groups = |kind| group_rows(state, bo, &desc, kind, &consumer, es.producer_id);
    let certified = groups(AttributeKind::Certified).await?;
    let declared = groups(AttributeKind::Declared).await?;
    let verified = groups(AttributeKind::Verified).await?;

    let may = bo.caller.may(Change::Ricevute);
    let button = |label, rest: &str, danger| Button { label, action: format!("{base}/{rest}"), danger };
    let mut buttons = vec![];
    let mut reject_action = None;
    match a.state {
        AgreementState::Pending => {
            buttons.push(button("Attiva", "attiva", false));
            reject_action = Some(format!("{base}/rifiuta"));
        }
        AgreementState::Active | AgreementState::Suspended => {
            buttons.push(suspension_button(bo, &base, a.consumer_id, a.suspended_by_consumer, a.suspended_by_producer))
        }
        _ => {}
    }
    let live = matches!(a.state, AgreementState::Pending | AgreementState::Active | AgreementState::Suspended);
    let read_only = !may && (!buttons.is_empty() || (live && !verified.is_empty()));
    if !may {
        buttons.clear();
        reject_action = None;
    }
    Ok(DetailPage {
        layout: bo.layout(state, "Richiesta di fruizione ricevuta", Nav::RichiesteRicevute),
        notice,
        eservice: es.name.clone(),
        eservice_href: bo.path(&format!("catalogo-e-service/{}/{}", es.id, desc.id)),
        consumer: consumer.name.clone(),
        version: desc.version,
        manual: desc.agreement_approval_policy == ApprovalPolicy::Manual,
        state: state_label(a.state),
        suspended_by: suspended_by.join(", "),
        dates,
        notes: a.consumer_notes.clone().unwrap_or_default(),
        rejection_reason: a.rejection_reason.clone().unwrap_or_default(),
        unverified: a.state == AgreementState::Pending && verified.iter().any(|g| !g.satisfied),
        certified,
        declared,
        verified,
        buttons,
        reject_action,
        reason,
        reason_error,
        reason_max: REASON_MAX,
        may_verify: may && live,
        verify_action: format!("{base}/verifica"),
        revoke_action: format!("{base}/revoca"),
        read_only,
        back: bo.path("erogazione/richieste"),
    })
}

/// The page of a request received.
async fn detail(
    State(state): State<PagesState>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let bo = enter(&state, &headers, &env).await?;
    let ctx = load(&state, &bo, &id).await?;
    render(&detail_page(&state, &bo, ctx, notice(q.esito.as_deref(), NOTICES), String::new(), None).await?)
}

// ------------------------------------------------------------------ actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    motivo: String,
    #[serde(default)]
    attributo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Activate,
    Reject,
    Suspend,
    Unsuspend,
    Verify,
    Revoke,
}

/// Every decision on a request received: the session's token and a role that may
/// decide, the request (the Ente's as producer), the platform's use case, then a
/// redirect with the notice; a reason not acceptable shows the page again.
async fn act(
    State(state): State<PagesState>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
    what: Act,
) -> Result<Response, PageError> {
    let bo = Bo::act(&state, &headers, &env, &form.csrf, Change::Ricevute).await?;
    let ctx = load(&state, &bo, &id).await?;
    let svc = state.platform.env(bo.env);
    let id = ctx.a.id;
    let base = detail_path(&bo, id);
    let fail = |e: AppError| bo.err(&state, e).back(&base, "Torna alla richiesta");
    let done = |esito: &str| Ok(see_other(&format!("{base}?esito={esito}")));
    match what {
        Act::Activate => {
            svc.approve_agreement(&bo.caller, id).await.map_err(fail)?;
            tracing::info!(env = bo.env.slug(), agreement = %id, "agreement approved from the back office");
            done("attivata")
        }
        Act::Reject => {
            if let Some(msg) = reason_error(&form.motivo) {
                let typed = echo(&form.motivo, REASON_MAX);
                let page = detail_page(&state, &bo, ctx, None, typed, Some(msg)).await?;
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
            svc.reject_agreement(&bo.caller, id, form.motivo.trim().to_string()).await.map_err(fail)?;
            done("rifiutata")
        }
        Act::Suspend => {
            svc.suspend_agreement(&bo.caller, id).await.map_err(fail)?;
            done("sospesa")
        }
        Act::Unsuspend => {
            svc.unsuspend_agreement(&bo.caller, id).await.map_err(fail)?;
            done("riattivata")
        }
        Act::Verify | Act::Revoke => {
            let bad = |msg: &str| bo.err(&state, PageError::bad_request(msg)).back(&base, "Torna alla richiesta");
            let attr: AttributeId = form.attributo.trim().parse().map_err(|_| bad("Indica l'attributo."))?;
            if !ctx.desc.attributes.verified.iter().flatten().any(|x| *x == attr) {
                return Err(bad(
                    "L'attributo non è tra quelli verificati richiesti da questa versione dell'e-service.",
                ));
            }
            if what == Act::Verify {
                svc.assign_attribute(&bo.caller, ctx.a.consumer_id, attr).await.map_err(fail)?;
                done("verificato")
            } else {
                svc.revoke_attribute(&bo.caller, ctx.a.consumer_id, attr).await.map_err(fail)?;
                done("revocato")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_required_and_bounded() {
        assert!(reason_error("").is_some());
        assert!(reason_error("   \n").is_some());
        assert!(reason_error("Manca la convenzione").is_none());
        assert!(reason_error(&"à".repeat(REASON_MAX)).is_none());
        assert!(reason_error(&"à".repeat(REASON_MAX + 1)).unwrap().contains("1001"));
        assert_eq!(echo(&"x".repeat(5000), REASON_MAX).len(), REASON_MAX + 100);
    }

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r), "{r:?} twice");
        }
        assert_eq!(ROUTES.iter().filter(|(m, _)| *m == "POST").count(), 10);
        assert!(received_states().all(|(s, _, _)| *s != AgreementState::Draft));
    }
}
