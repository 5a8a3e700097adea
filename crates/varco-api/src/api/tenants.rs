//! Tenants, their attributes, and the attribute registry, as PDND's machine API (v2)
//! shows them. Who may declare what is the platform's rule (own organisation only).
use super::doc::ApiRoutes;
use super::{api_problem, app_problem, bad_request, parse_id, to_json, Caller, PageQuery};
use crate::{ApiState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;
use varco_platform::TenantFilter;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/tenants", list, "getTenants")
        .get("/tenants/{id}", read, "getTenant")
        .get("/tenants/{id}/declaredAttributes", declared, "getTenantDeclaredAttributes")
        .post("/tenants/{id}/declaredAttributes", declare, "assignTenantDeclaredAttribute")
        .delete("/tenants/{id}/declaredAttributes/{aid}", revoke_declared, "revokeTenantDeclaredAttribute")
        .get("/tenants/{id}/certifiedAttributes", certified, "getTenantCertifiedAttributes")
        .get("/tenants/{id}/verifiedAttributes", verified, "getTenantVerifiedAttributes")
        .get("/certifiedAttributes", list_certified, "getCertifiedAttributes")
        .post("/certifiedAttributes", create_certified, "createCertifiedAttribute")
        .get("/certifiedAttributes/{aid}", read_certified, "getCertifiedAttribute")
        .get("/declaredAttributes", list_declared, "getDeclaredAttributes")
        .post("/declaredAttributes", create_declared, "createDeclaredAttribute")
        .get("/declaredAttributes/{aid}", read_declared, "getDeclaredAttribute")
        .get("/verifiedAttributes", list_verified, "getVerifiedAttributes")
        .post("/verifiedAttributes", create_verified, "createVerifiedAttribute")
        .get("/verifiedAttributes/{aid}", read_verified, "getVerifiedAttribute")
}

/// PDND's `Tenant`. Its `required` list names `certifier`, `attributes` and `mails`,
/// which are not among its properties and `additionalProperties` is false: we emit
/// only the declared properties. `onboardedAt` is the SelfCare onboarding, which
/// is when the tenant was created here.
pub fn tenant_json(t: &Tenant) -> Value {
    json!({
        "id": t.id,
        "externalId": { "origin": t.external_id.origin, "value": t.external_id.value },
        "createdAt": t.created_at,
        "name": t.name,
        "kind": to_json(t.kind),
        "onboardedAt": t.created_at,
    })
}

/// `TenantDeclaredAttribute` / `TenantCertifiedAttribute` (revocation shown).
fn held_json(a: &TenantAttribute) -> Value {
    let mut v = json!({ "id": a.attribute_id, "assignedAt": a.assigned_at });
    if let Some(r) = a.revoked_at {
        v["revokedAt"] = json!(r);
    }
    v
}

async fn load(s: &ApiState, caller: &Caller, raw: &str) -> Result<Tenant, Problem> {
    let tid: TenantId = parse_id(raw, "tenantId")?;
    s.platform.env(caller.env).tenant(caller.who(), tid).await.map_err(app_problem)
}

async fn list(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let filter = TenantFilter {
        ipa_code: q.get("IPACode").filter(|v| !v.is_empty()).cloned(),
        tax_code: q.get("taxCode").filter(|v| !v.is_empty()).cloned(),
    };
    if filter.ipa_code.is_some() && filter.tax_code.is_some() {
        return Err(api_problem(StatusCode::BAD_REQUEST, "IPACode and taxCode are mutually exclusive"));
    }
    let found = s.platform.env(caller.env).tenants(caller.who(), &filter, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, tenant_json))))
}

async fn read(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(tenant_json(&load(&s, &caller, &raw).await?)))
}

async fn held(
    s: &ApiState,
    caller: &Caller,
    raw: &str,
    q: &HashMap<String, String>,
    kind: AttributeKind,
    show: fn(&TenantAttribute) -> Value,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(q)?;
    let t = load(s, caller, raw).await?;
    let mut held: Vec<&TenantAttribute> = t.attributes.iter().filter(|a| a.kind == kind).collect();
    held.sort_by(|a, b| a.assigned_at.cmp(&b.assigned_at).then(a.attribute_id.cmp(&b.attribute_id)));
    Ok(Json(to_json(page.apply(held.into_iter().map(show).collect()))))
}

async fn declared(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    if let Some(d) = q.get("delegationId").filter(|v| !v.is_empty()) {
        let _: uuid::Uuid = parse_id(d, "delegationId")?;
        // Varco has no delegations: nothing was declared through one.
        let page = PageQuery::from_query(&q)?;
        load(&s, &caller, &raw).await?;
        return Ok(Json(to_json(page.apply(Vec::<Value>::new()))));
    }
    held(&s, &caller, &raw, &q, AttributeKind::Declared, held_json).await
}

async fn certified(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    held(&s, &caller, &raw, &q, AttributeKind::Certified, held_json).await
}

async fn verified(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    // `TenantVerifiedAttribute` has no revokedAt: only the verifications in force.
    let page = PageQuery::from_query(&q)?;
    let t = load(&s, &caller, &raw).await?;
    let mut held: Vec<&TenantAttribute> =
        t.attributes.iter().filter(|a| a.kind == AttributeKind::Verified && a.is_active()).collect();
    held.sort_by(|a, b| a.assigned_at.cmp(&b.assigned_at).then(a.attribute_id.cmp(&b.attribute_id)));
    let out = held.into_iter().map(|a| json!({ "id": a.attribute_id, "assignedAt": a.assigned_at })).collect();
    Ok(Json(to_json(page.apply(out))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TenantDeclaredAttributeSeed {
    id: String,
    delegation_id: Option<String>,
}

async fn declare(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let tid: TenantId = parse_id(&raw, "tenantId")?;
    let seed: TenantDeclaredAttributeSeed = super::from_json(&body)
        .map_err(|e| api_problem(StatusCode::BAD_REQUEST, &format!("invalid TenantDeclaredAttributeSeed: {e}")))?;
    let aid: AttributeId = parse_id(&seed.id, "id")?;
    if let Some(d) = &seed.delegation_id {
        let d: uuid::Uuid = parse_id(d, "delegationId")?;
        return Err(api_problem(StatusCode::NOT_FOUND, &format!("delegation {d} not found")));
    }
    let t = s.platform.env(caller.env).declare_attribute(caller.who(), tid, aid).await.map_err(app_problem)?;
    let held = t.attributes.iter().find(|a| a.attribute_id == aid && a.kind == AttributeKind::Declared);
    Ok(Json(held.map(held_json).unwrap_or_else(|| json!({ "id": aid }))))
}

async fn revoke_declared(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, aid)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let tid: TenantId = parse_id(&raw, "tenantId")?;
    let aid: AttributeId = parse_id(&aid, "attributeId")?;
    let t = s.platform.env(caller.env).revoke_declared_attribute(caller.who(), tid, aid).await;
    let t = t.map_err(app_problem)?;
    let held = t.attributes.iter().find(|a| a.attribute_id == aid && a.kind == AttributeKind::Declared);
    Ok(Json(held.map(held_json).unwrap_or_else(|| json!({ "id": aid }))))
}

// ------------------------------------------------------------- the registry

/// `CertifiedAttribute` has code and origin; declared and verified ones do not.
fn attribute_json(a: &Attribute) -> Value {
    let mut v = json!({ "id": a.id, "name": a.name, "description": a.description, "createdAt": a.created_at });
    if a.kind == AttributeKind::Certified {
        v["code"] = json!(a.code.clone().unwrap_or_default());
        v["origin"] = json!(a.origin.clone().unwrap_or_default());
    }
    v
}

async fn list_kind(
    s: &ApiState,
    caller: &Caller,
    q: &HashMap<String, String>,
    kind: AttributeKind,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(q)?;
    let found = s.platform.env(caller.env).attributes(caller.who(), kind, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, attribute_json))))
}

async fn read_kind(s: &ApiState, caller: &Caller, raw: &str, kind: AttributeKind) -> Result<Json<Value>, Problem> {
    let aid: AttributeId = parse_id(raw, "attributeId")?;
    let a = s.platform.env(caller.env).attribute(caller.who(), aid).await.map_err(app_problem)?;
    if a.kind != kind {
        return Err(api_problem(StatusCode::NOT_FOUND, &format!("attribute {aid} not found")));
    }
    Ok(Json(attribute_json(&a)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeSeed {
    name: String,
    description: String,
}

/// Declared and verified attributes: any organisation may add them to the registry;
/// names are unique across all attributes (409).
async fn create_kind(
    s: &ApiState,
    caller: &Caller,
    body: &[u8],
    kind: AttributeKind,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let seed: AttributeSeed =
        super::from_json(body).map_err(|e| bad_request(&format!("invalid attribute seed: {e}")))?;
    if !(3..=100).contains(&seed.name.chars().count()) {
        return Err(bad_request("name must be 3 to 100 characters"));
    }
    if !(10..=500).contains(&seed.description.chars().count()) {
        return Err(bad_request("description must be 10 to 500 characters"));
    }
    let a = s
        .platform
        .env(caller.env)
        .create_attribute(caller.who(), kind, &seed.name, &seed.description, None, None)
        .await
        .map_err(app_problem)?;
    Ok((StatusCode::CREATED, Json(attribute_json(&a))))
}

async fn list_certified(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    list_kind(&s, &caller, &q, AttributeKind::Certified).await
}

async fn list_declared(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    list_kind(&s, &caller, &q, AttributeKind::Declared).await
}

async fn list_verified(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    list_kind(&s, &caller, &q, AttributeKind::Verified).await
}

async fn read_certified(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    read_kind(&s, &caller, &raw, AttributeKind::Certified).await
}

async fn read_declared(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    read_kind(&s, &caller, &raw, AttributeKind::Declared).await
}

async fn read_verified(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    read_kind(&s, &caller, &raw, AttributeKind::Verified).await
}

/// Certified attributes belong to certifiers (e.g. IPA), and no API client of
/// Varco is one: the platform refuses them as PDND refuses a non-certifier.
async fn create_certified(
    State(s): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    create_kind(&s, &caller, &body, AttributeKind::Certified).await
}

async fn create_declared(
    State(s): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    create_kind(&s, &caller, &body, AttributeKind::Declared).await
}

async fn create_verified(
    State(s): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    create_kind(&s, &caller, &body, AttributeKind::Verified).await
}
