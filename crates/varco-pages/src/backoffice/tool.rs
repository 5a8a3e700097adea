//! "Tool per lo sviluppo": the list of the tools and "Debug client assertion"
//! ("Effettua il debug"), which tells why a client assertion would (not) get a
//! voucher, step by step as PDND numbers them. The answer comes from the token
//! server's own checker (`varco_token::checks::check_steps`), the one the token
//! endpoint runs: the page cannot say "valid" where the endpoint refuses. Only the
//! person's Ente's clients are examined. "Simula l'ottenimento del voucher" is
//! in [`simulatore`].
mod simulatore;

use super::frame::{Bo, Nav};
use crate::pages::{render, render_status, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use varco_token::{Grant, Step, Steps};

const INDEX: &str = "/interop/{env}/tool-sviluppo";
const DEBUG: &str = "/interop/{env}/tool-sviluppo/debug-voucher";

pub const ROUTES: &[(&str, &str)] = &[("GET", INDEX), ("GET", DEBUG), ("POST", DEBUG), ("GET", simulatore::PATH)];

/// "Client assertion": at most this many characters (a 4096-bit RS256 JWT with
/// generous claims is well under it).
pub const ASSERTION_MAX: usize = 16 * 1024;
/// "DPoP Proof": at most this many characters.
pub const DPOP_MAX: usize = 8 * 1024;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route(INDEX, get(index))
        .route(DEBUG, get(debug_form).post(debug_run))
        .route(simulatore::PATH, get(simulatore::simulatore))
}

#[derive(Template)]
#[template(path = "bo_tool.html")]
struct IndexPage {
    layout: Layout,
    debug_href: String,
    simulatore_href: String,
}

/// "Tool per lo sviluppo".
async fn index(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    render(&IndexPage {
        layout: bo.layout(&state, "Tool per lo sviluppo", Nav::Tool),
        debug_href: bo.path("tool-sviluppo/debug-voucher"),
        simulatore_href: bo.path("tool-sviluppo/simulatore"),
    })
}

#[derive(Deserialize, Default)]
pub struct DebugForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_assertion: String,
    #[serde(default)]
    dpop: String,
    #[serde(default)]
    client_id: String,
}

/// One step of "Esito del debug".
struct StepRow {
    number: u8,
    label: &'static str,
    /// "Riuscita", "Impossibile eseguire" or "N errori".
    outcome: String,
    /// passed, failed, skipped (for the style).
    class: &'static str,
    /// Each failure: the sentence, and PDND's name of the reason (the one the token
    /// endpoint logs), for a support request.
    errors: Vec<(String, &'static str)>,
}

struct Outcome {
    valid: bool,
    sentence: String,
    steps: Vec<StepRow>,
    header: String,
    payload: String,
}

#[derive(Template)]
#[template(path = "bo_tool_debug.html")]
struct DebugPage {
    layout: Layout,
    action: String,
    back: String,
    assertion: String,
    dpop: String,
    client_id: String,
    assertion_max: usize,
    dpop_max: usize,
    error: Option<String>,
    outcome: Option<Outcome>,
}

impl DebugPage {
    fn new(bo: &Bo, state: &PagesState) -> DebugPage {
        DebugPage {
            layout: bo.layout(state, "Debug client assertion", Nav::Tool),
            action: bo.path("tool-sviluppo/debug-voucher"),
            back: bo.path("tool-sviluppo"),
            assertion: String::new(),
            dpop: String::new(),
            client_id: String::new(),
            assertion_max: ASSERTION_MAX,
            dpop_max: DPOP_MAX,
            error: None,
            outcome: None,
        }
    }
}

/// "Effettua il debug": the form.
async fn debug_form(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    render(&DebugPage::new(&bo, &state))
}

/// "Effettua il debug": the answer, under the form filled as sent.
async fn debug_run(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Form(f): Form<DebugForm>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    bo.check_csrf(&f.csrf)?;
    let assertion = f.client_assertion.trim();
    let dpop = f.dpop.trim();
    let client_id = f.client_id.trim();
    let mut page = DebugPage::new(&bo, &state);
    let error = if assertion.is_empty() {
        Some("Inserisci la client assertion (un JWT).".to_string())
    } else if assertion.chars().count() > ASSERTION_MAX {
        Some(format!("La client assertion è troppo lunga: al massimo {ASSERTION_MAX} caratteri."))
    } else if dpop.chars().count() > DPOP_MAX {
        Some(format!("Il DPoP proof è troppo lungo: al massimo {DPOP_MAX} caratteri."))
    } else if client_id.chars().count() > 100 {
        Some("Il client_id è troppo lungo: è un UUID di 36 caratteri.".to_string())
    } else {
        None
    };
    if let Some(e) = error {
        page.error = Some(e);
        page.assertion = assertion.chars().take(ASSERTION_MAX).collect();
        page.dpop = dpop.chars().take(DPOP_MAX).collect();
        page.client_id = client_id.chars().take(100).collect();
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let steps = state
        .token
        .debug_steps(
            bo.env,
            bo.tenant,
            assertion,
            (!client_id.is_empty()).then_some(client_id),
            (!dpop.is_empty()).then_some(dpop),
        )
        .await;
    page.outcome = Some(outcome(&state, &bo, &steps, !dpop.is_empty()).await);
    page.assertion = assertion.to_string();
    page.dpop = dpop.to_string();
    page.client_id = client_id.to_string();
    render(&page)
}

async fn outcome(state: &PagesState, bo: &Bo, steps: &Steps, with_dpop: bool) -> Outcome {
    let sentence = match steps.accepted.as_ref().map(|a| &a.grant) {
        None => "Non è possibile ottenere un voucher per questa richiesta".to_string(),
        Some(Grant::Api { .. }) => {
            "Questa richiesta è valida, è possibile ottenere un voucher per le API di PDND Interoperabilità".to_string()
        }
        Some(Grant::Consumer { eservice_id, descriptor_id, .. }) => {
            let es = state.platform.env(bo.env).eservice(&bo.caller, *eservice_id).await.ok();
            let name = es.as_ref().map_or(eservice_id.to_string(), |e| e.name.clone());
            let version = es
                .as_ref()
                .and_then(|e| e.descriptors.iter().find(|d| d.id == *descriptor_id))
                .map_or("?".to_string(), |d| d.version.to_string());
            format!(
                "Questa richiesta è valida, è possibile ottenere un voucher per l'e-service {name}, versione {version}"
            )
        }
    };
    let mut rows = vec![];
    for step in Step::ALL {
        if step == Step::Dpop && !with_dpop {
            continue;
        }
        let ran = steps.ran.iter().find(|(s, _)| *s == step);
        let (outcome, class, errors) = match ran {
            Some((_, found)) if found.is_empty() => ("Riuscita".to_string(), "passed", vec![]),
            Some((_, found)) => {
                let n = found.len();
                let label = if n == 1 { "1 errore".to_string() } else { format!("{n} errori") };
                (label, "failed", found.iter().map(|f| (f.italian.clone(), f.reason.code())).collect())
            }
            None => ("Impossibile eseguire".to_string(), "skipped", vec![]),
        };
        rows.push(StepRow { number: step.number(), label: step.label(), outcome, class, errors });
    }
    let pretty = |m: &Option<serde_json::Map<String, serde_json::Value>>| {
        m.as_ref()
            .map(|m| serde_json::to_string_pretty(m).unwrap_or_default())
            .unwrap_or_else(|| "(la client assertion non si può decodificare)".into())
    };
    Outcome {
        valid: steps.accepted.is_some(),
        sentence,
        steps: rows,
        header: pretty(&steps.header),
        payload: pretty(&steps.payload),
    }
}
