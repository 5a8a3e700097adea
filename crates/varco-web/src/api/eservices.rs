//! E-services and their descriptors (versions), as PDND's machine API shows them.
use super::doc::ApiRoutes;
use super::{api_problem, app_problem, parse_id, to_json, Caller, PageQuery};
use crate::{AppState, Problem};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/eservices", list, "getEServices")
        .get("/eservices/{id}", read, "getEService")
        .get("/eservices/{id}/descriptors", descriptors, "getEServiceDescriptors")
        .get("/eservices/{id}/descriptors/{did}", descriptor, "getEServiceDescriptor")
}

pub fn eservice_json(e: &EService) -> Value {
    json!({
        "id": e.id,
        "producerId": e.producer_id,
        "name": e.name,
        "description": e.description,
        "technology": to_json(e.technology),
        "mode": to_json(e.mode),
    })
}

pub fn descriptor_json(d: &Descriptor) -> Value {
    let mut v = json!({
        "id": d.id,
        "version": d.version.to_string(),
        "audience": d.audience,
        "voucherLifespan": d.voucher_lifespan,
        "dailyCallsPerConsumer": d.daily_calls_per_consumer,
        "dailyCallsTotal": d.daily_calls_total,
        "state": to_json(d.state),
        "agreementApprovalPolicy": to_json(d.agreement_approval_policy),
        "serverUrls": d.server_urls,
    });
    for (name, at) in [
        ("description", d.description.clone().map(Value::String)),
        ("publishedAt", d.published_at.map(|t| json!(t))),
        ("suspendedAt", d.suspended_at.map(|t| json!(t))),
        ("deprecatedAt", d.deprecated_at.map(|t| json!(t))),
        ("archivedAt", d.archived_at.map(|t| json!(t))),
    ] {
        if let Some(x) = at {
            v[name] = x;
        }
    }
    v
}

/// Drafts are the producer's business: others see published versions only.
fn visible(e: &EService, caller: &Caller) -> Vec<Descriptor> {
    e.descriptors
        .iter()
        .filter(|d| d.state != DescriptorState::Draft || e.producer_id == caller.tenant_id)
        .cloned()
        .collect()
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let producers: Vec<TenantId> = match q.get("producerIds").filter(|v| !v.is_empty()) {
        Some(list) => list.split(',').map(|p| parse_id(p, "producerIds")).collect::<Result<_, _>>()?,
        None => vec![],
    };
    let name = q.get("name").map(|n| n.to_lowercase());
    let tech = q.get("technology").cloned();
    let mode = q.get("mode").cloned();
    let mut all = s.platform.env(caller.env).eservices().await.map_err(app_problem)?;
    all.retain(|e| {
        (producers.is_empty() || producers.contains(&e.producer_id))
            && name.as_ref().is_none_or(|n| e.name.to_lowercase().contains(n))
            && tech.as_ref().is_none_or(|t| to_json(e.technology) == json!(t))
            && mode.as_ref().is_none_or(|m| to_json(e.mode) == json!(m))
            && !visible(e, &caller).is_empty()
    });
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let page = page.apply(all.iter().map(eservice_json).collect());
    Ok(Json(serde_json::to_value(page).expect("page serializes")))
}

async fn load(s: &AppState, caller: &Caller, raw: &str) -> Result<EService, Problem> {
    let eid: EServiceId = parse_id(raw, "eserviceId")?;
    let e = s.platform.env(caller.env).eservice(eid).await.map_err(app_problem)?;
    if visible(&e, caller).is_empty() {
        return Err(api_problem(StatusCode::NOT_FOUND, &format!("e-service {eid} not found")));
    }
    Ok(e)
}

async fn read(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(eservice_json(&load(&s, &caller, &raw).await?)))
}

async fn descriptors(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let e = load(&s, &caller, &raw).await?;
    let mut ds = visible(&e, &caller);
    if let Some(state) = q.get("state") {
        ds.retain(|d| to_json(d.state) == json!(state));
    }
    ds.sort_by_key(|d| d.version);
    let page = page.apply(ds.iter().map(descriptor_json).collect());
    Ok(Json(serde_json::to_value(page).expect("page serializes")))
}

async fn descriptor(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let e = load(&s, &caller, &raw).await?;
    let did: DescriptorId = parse_id(&did, "descriptorId")?;
    visible(&e, &caller)
        .iter()
        .find(|d| d.id == did)
        .map(|d| Json(descriptor_json(d)))
        .ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("descriptor {did} not found")))
}
