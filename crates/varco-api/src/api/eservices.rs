//! E-services and their descriptors (versions), as PDND's machine API shows them.
use super::doc::ApiRoutes;
use super::{api_problem, app_problem, bad_request, list_param, parse_id, to_json, Caller, PageQuery};
use crate::{ApiState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;
use varco_platform::EServiceFilter;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/eservices", list, "getEServices")
        .get("/eservices/{id}", read, "getEService")
        .get("/eservices/{id}/descriptors", descriptors, "getEServiceDescriptors")
        .get("/eservices/{id}/descriptors/{did}", descriptor, "getEServiceDescriptor")
        .post("/eservices", create, "createEService")
        .post("/eservices/{id}/descriptors", create_descriptor, "createDescriptor")
        .post("/eservices/{id}/descriptors/{did}/publish", publish, "publishDescriptor")
        .post("/eservices/{id}/descriptors/{did}/suspend", suspend, "suspendDescriptor")
        .post("/eservices/{id}/descriptors/{did}/unsuspend", unsuspend, "unsuspendDescriptor")
        .patch("/eservices/{id}/descriptors/{did}/quotas", quotas, "updatePublishedEServiceDescriptorQuotas")
        .get(
            "/eservices/{id}/descriptors/{did}/certifiedAttributes",
            certified_attributes,
            "getEServiceDescriptorCertifiedAttributes",
        )
        .get(
            "/eservices/{id}/descriptors/{did}/declaredAttributes",
            declared_attributes,
            "getEServiceDescriptorDeclaredAttributes",
        )
        .get(
            "/eservices/{id}/descriptors/{did}/verifiedAttributes",
            verified_attributes,
            "getEServiceDescriptorVerifiedAttributes",
        )
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

async fn list(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let producers: Vec<TenantId> = list_param(&q, "producerIds", |p| parse_id(p, "producerIds"))?;
    // A technology or mode that does not exist matches nothing, as before.
    fn known<T: serde::de::DeserializeOwned>(v: Option<&String>) -> Option<Option<T>> {
        v.map(|t| serde_json::from_value(json!(t)).ok())
    }
    let technology: Option<Option<Technology>> = known(q.get("technology"));
    let mode: Option<Option<EServiceMode>> = known(q.get("mode"));
    if matches!(technology, Some(None)) || matches!(mode, Some(None)) {
        return Ok(Json(to_json(page.apply(Vec::<Value>::new()))));
    }
    let filter = EServiceFilter {
        producers,
        name: q.get("name").cloned(),
        technology: technology.flatten(),
        mode: mode.flatten(),
    };
    let found = s.platform.env(caller.env).eservices(caller.who(), &filter, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, eservice_json))))
}

/// The e-service as the caller may see it (others see no drafts; the platform decides).
async fn load(s: &ApiState, caller: &Caller, raw: &str) -> Result<EService, Problem> {
    let eid: EServiceId = parse_id(raw, "eserviceId")?;
    s.platform.env(caller.env).eservice(caller.who(), eid).await.map_err(app_problem)
}

async fn read(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(eservice_json(&load(&s, &caller, &raw).await?)))
}

async fn descriptors(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let e = load(&s, &caller, &raw).await?;
    let mut ds = e.descriptors.clone();
    if let Some(state) = q.get("state") {
        ds.retain(|d| to_json(d.state) == json!(state));
    }
    ds.sort_by_key(|d| d.version);
    let page = page.apply(ds.iter().map(descriptor_json).collect());
    Ok(Json(serde_json::to_value(page).expect("page serializes")))
}

async fn descriptor(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let e = load(&s, &caller, &raw).await?;
    let did: DescriptorId = parse_id(&did, "descriptorId")?;
    e.descriptors
        .iter()
        .find(|d| d.id == did)
        .map(|d| Json(descriptor_json(d)))
        .ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("descriptor {did} not found")))
}

// ------------------------------------------------------------------ writes

/// Parses a JSON body ourselves: axum's own rejections are not PDND problems.
fn body<T: serde::de::DeserializeOwned>(raw: &Bytes) -> Result<T, Problem> {
    if raw.is_empty() {
        return Err(bad_request("a JSON body is required"));
    }
    super::from_json(raw).map_err(|e| bad_request(&format!("invalid request body: {e}")))
}

/// `EServiceDescriptorSeed` and `DescriptorSeedForEServiceCreation` (same fields).
/// Fields Varco has no notion of are accepted, as the schema allows them, and ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DescriptorSeed {
    description: Option<String>,
    audience: Vec<String>,
    voucher_lifespan: u32,
    daily_calls_per_consumer: u32,
    daily_calls_total: u32,
    agreement_approval_policy: ApprovalPolicy,
    #[serde(default)]
    #[allow(dead_code)]
    async_exchange_properties: Option<Value>,
}

impl DescriptorSeed {
    /// Checks what PDND's schema bounds (the domain re-checks its own rules): done
    /// before creating an e-service so that a bad first version leaves nothing behind.
    fn into_input(self) -> Result<eservice::DescriptorInput, Problem> {
        if self.audience.len() != 1 {
            return Err(bad_request("audience must hold exactly one item"));
        }
        if !(60..=86400).contains(&self.voucher_lifespan) {
            return Err(bad_request("voucherLifespan must be between 60 and 86400"));
        }
        if self.daily_calls_per_consumer < 1 || self.daily_calls_per_consumer > self.daily_calls_total {
            return Err(bad_request("dailyCallsPerConsumer must be at least 1 and at most dailyCallsTotal"));
        }
        if let Some(d) = &self.description {
            if !(10..=250).contains(&d.trim().chars().count()) {
                return Err(bad_request("description must have 10 to 250 characters"));
            }
        }
        if self.audience.iter().any(|a| a.trim().is_empty() || a.chars().count() > 250) {
            return Err(bad_request("audience items must have 1 to 250 characters"));
        }
        Ok(eservice::DescriptorInput {
            description: self.description,
            audience: self.audience,
            voucher_lifespan: self.voucher_lifespan,
            daily_calls_per_consumer: self.daily_calls_per_consumer,
            daily_calls_total: self.daily_calls_total,
            agreement_approval_policy: self.agreement_approval_policy,
            server_urls: vec![],
            attributes: AttributeGroups::default(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct EServiceSeed {
    name: String,
    description: String,
    technology: Technology,
    mode: EServiceMode,
    descriptor: DescriptorSeed,
    is_signal_hub_enabled: Option<bool>,
    is_consumer_delegable: Option<bool>,
    is_client_access_delegable: Option<bool>,
    personal_data: Option<bool>,
    async_exchange: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct QuotasSeed {
    voucher_lifespan: Option<u32>,
    daily_calls_per_consumer: Option<u32>,
    daily_calls_total: Option<u32>,
}

/// For the operations whose contract lists no 409: a state that forbids the change
/// (a second draft, suspending a suspended version) is then the request's fault.
fn no_conflict(e: varco_platform::AppError) -> Problem {
    let p = app_problem(e);
    if p.status == StatusCode::CONFLICT.as_u16() {
        return bad_request(p.detail.as_deref().unwrap_or("conflict"));
    }
    p
}

/// The descriptor as it is after a write, for the answer.
async fn reload_descriptor(
    s: &ApiState,
    caller: &Caller,
    eid: EServiceId,
    did: DescriptorId,
) -> Result<Value, Problem> {
    let e = s.platform.env(caller.env).eservice(caller.who(), eid).await.map_err(app_problem)?;
    e.descriptor(did)
        .map(descriptor_json)
        .ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("descriptor {did} not found")))
}

async fn create(State(s): State<ApiState>, caller: Caller, raw: Bytes) -> Result<(StatusCode, Json<Value>), Problem> {
    let seed: EServiceSeed = body(&raw)?;
    let input = seed.descriptor.into_input()?;
    let env = s.platform.env(caller.env);
    let actor = caller.who();
    // PDND creates the e-service with its first (draft) version in one go.
    let e = env
        .create_eservice_with_version(
            actor,
            caller.tenant_id,
            &seed.name,
            &seed.description,
            seed.technology,
            seed.mode,
            input,
        )
        .await
        .map_err(app_problem)?;
    Ok((StatusCode::CREATED, Json(eservice_json(&e))))
}

async fn create_descriptor(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let eid: EServiceId = parse_id(&raw, "eserviceId")?;
    let input = body::<DescriptorSeed>(&b)?.into_input()?;
    let did = s.platform.env(caller.env).add_descriptor(caller.who(), eid, input).await.map_err(no_conflict)?;
    Ok((StatusCode::CREATED, Json(reload_descriptor(&s, &caller, eid, did).await?)))
}

#[derive(Clone, Copy)]
enum Transition {
    Publish,
    Suspend,
    Unsuspend,
}

async fn transition(
    s: ApiState,
    caller: Caller,
    raw: String,
    did: String,
    t: Transition,
) -> Result<Json<Value>, Problem> {
    let eid: EServiceId = parse_id(&raw, "eserviceId")?;
    let did: DescriptorId = parse_id(&did, "descriptorId")?;
    let env = s.platform.env(caller.env);
    let actor = caller.who();
    match t {
        Transition::Publish => env.publish_descriptor(actor, eid, did).await,
        Transition::Suspend => env.suspend_descriptor(actor, eid, did).await,
        Transition::Unsuspend => env.unsuspend_descriptor(actor, eid, did).await,
    }
    .map_err(no_conflict)?;
    Ok(Json(reload_descriptor(&s, &caller, eid, did).await?))
}

async fn publish(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    transition(s, caller, raw, did, Transition::Publish).await
}

async fn suspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    transition(s, caller, raw, did, Transition::Suspend).await
}

async fn unsuspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    transition(s, caller, raw, did, Transition::Unsuspend).await
}

/// A merge patch: the quotas left out keep their value.
async fn quotas(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    let eid: EServiceId = parse_id(&raw, "eserviceId")?;
    let did: DescriptorId = parse_id(&did, "descriptorId")?;
    let seed: QuotasSeed = body(&b)?;
    let env = s.platform.env(caller.env);
    let e = env.eservice(caller.who(), eid).await.map_err(app_problem)?;
    let d =
        e.descriptor(did).ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("descriptor {did} not found")))?;
    let d = env
        .update_descriptor_quotas(
            caller.who(),
            eid,
            did,
            seed.voucher_lifespan.unwrap_or(d.voucher_lifespan),
            seed.daily_calls_per_consumer.unwrap_or(d.daily_calls_per_consumer),
            seed.daily_calls_total.unwrap_or(d.daily_calls_total),
        )
        .await
        .map_err(app_problem)?;
    Ok(Json(descriptor_json(&d)))
}

// ------------------------------------------------------- attribute groups

/// Every attribute of one kind the descriptor asks for, flattened as PDND lists
/// them: one item per attribute, with the index of its group.
async fn attribute_list(
    s: ApiState,
    caller: Caller,
    raw: String,
    did: String,
    q: HashMap<String, String>,
    kind: AttributeKind,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let e = load(&s, &caller, &raw).await?;
    let did: DescriptorId = parse_id(&did, "descriptorId")?;
    let d = e
        .descriptors
        .into_iter()
        .find(|d| d.id == did)
        .ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("descriptor {did} not found")))?;
    let groups = match kind {
        AttributeKind::Certified => &d.attributes.certified,
        AttributeKind::Declared => &d.attributes.declared,
        AttributeKind::Verified => &d.attributes.verified,
    };
    let registry = s.platform.env(caller.env).attributes(caller.who(), kind, varco_platform::Page::ALL).await;
    let all: HashMap<AttributeId, Attribute> =
        registry.map_err(app_problem)?.items.into_iter().map(|a| (a.id, a)).collect();
    let mut items = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        for id in group {
            let Some(a) = all.get(id) else { continue };
            let mut attribute = json!({
                "id": a.id,
                "name": a.name,
                "description": a.description,
                "createdAt": a.created_at,
            });
            if kind == AttributeKind::Certified {
                attribute["code"] = json!(a.code.clone().unwrap_or_default());
                attribute["origin"] = json!(a.origin.clone().unwrap_or_default());
            }
            items.push(json!({ "groupIndex": i, "attribute": attribute }));
        }
    }
    Ok(Json(serde_json::to_value(page.apply(items)).expect("page serializes")))
}

async fn certified_attributes(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    attribute_list(s, caller, raw, did, q, AttributeKind::Certified).await
}

async fn declared_attributes(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    attribute_list(s, caller, raw, did, q, AttributeKind::Declared).await
}

async fn verified_attributes(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, did)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    attribute_list(s, caller, raw, did, q, AttributeKind::Verified).await
}
