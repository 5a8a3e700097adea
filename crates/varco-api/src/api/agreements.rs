//! Agreements ("richieste di fruizione") as PDND's machine API shows them, and their
//! lifecycle. Who may see and do what on an agreement is the platform's business;
//! here we parse the input strictly and map the entities to PDND's schemas.
use super::doc::ApiRoutes;
use super::purposes::purpose_json;
use super::{app_problem, bad_request, list_param, parse_id, to_json, Caller, PageQuery};
use crate::{ApiState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;
use varco_platform::AgreementFilter;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/agreements", list, "getAgreements")
        .post("/agreements", create, "createAgreement")
        .get("/agreements/{id}", read, "getAgreement")
        .delete("/agreements/{id}", delete, "deleteAgreement")
        .get("/agreements/{id}/purposes", purposes, "getAgreementPurposes")
        .post("/agreements/{id}/submit", submit, "submitAgreement")
        .post("/agreements/{id}/approve", approve, "approveAgreement")
        .post("/agreements/{id}/reject", reject, "rejectAgreement")
        .post("/agreements/{id}/suspend", suspend, "suspendAgreement")
        .post("/agreements/{id}/unsuspend", unsuspend, "unsuspendAgreement")
        .post("/agreements/{id}/upgrade", upgrade, "upgradeAgreement")
        .post("/agreements/{id}/clone", clone, "cloneAgreement")
}

/// Sets the optional properties that have a value: PDND's schemas have
/// `additionalProperties: false` and no nullable fields here, so absent means omitted.
fn put_some(v: &mut Value, fields: Vec<(&str, Option<Value>)>) {
    for (name, x) in fields {
        if let Some(x) = x {
            v[name] = x;
        }
    }
}

/// PDND's `Agreement`.
pub fn agreement_json(a: &Agreement) -> Value {
    let mut v = json!({
        "id": a.id,
        "eserviceId": a.eservice_id,
        "descriptorId": a.descriptor_id,
        "producerId": a.producer_id,
        "consumerId": a.consumer_id,
        "state": to_json(a.state),
        "suspendedByConsumer": a.suspended_by_consumer,
        "suspendedByProducer": a.suspended_by_producer,
        "suspendedByPlatform": a.suspended_by_platform,
        "createdAt": a.created_at,
    });
    // When suspended, the date of the first suspension still in force.
    let suspended_at = (a.state == AgreementState::Suspended)
        .then(|| {
            [&a.stamps.suspension_by_consumer, &a.stamps.suspension_by_producer]
                .into_iter()
                .flatten()
                .map(|s| s.when)
                .min()
        })
        .flatten();
    put_some(
        &mut v,
        vec![
            ("consumerNotes", a.consumer_notes.clone().map(Value::String)),
            ("rejectionReason", a.rejection_reason.clone().map(Value::String)),
            ("updatedAt", a.updated_at.map(|t| json!(t))),
            ("suspendedAt", suspended_at.map(|t| json!(t))),
        ],
    );
    v
}

fn state_param(s: &str) -> Result<AgreementState, Problem> {
    serde_json::from_value(json!(s)).map_err(|_| bad_request(&format!("states: {s:?} is not an agreement state")))
}

/// A JSON request body of type `T` (which denies unknown fields, as PDND's
/// `additionalProperties: false`). `optional` bodies may be empty.
fn body<T: serde::de::DeserializeOwned + Default>(raw: &Bytes, optional: bool) -> Result<T, Problem> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return if optional { Ok(T::default()) } else { Err(bad_request("a JSON body is required")) };
    }
    super::from_json(raw).map_err(|e| bad_request(&format!("invalid body: {e}")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgreementSeed {
    eservice_id: Option<String>,
    descriptor_id: Option<String>,
    delegation_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DelegationRef {
    delegation_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgreementSubmission {
    consumer_notes: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementRejection {
    reason: Option<String>,
}

/// Varco has no delegations: acting for another organisation is refused outright,
/// rather than silently acting for the caller's own.
fn no_delegation(d: &Option<String>) -> Result<(), Problem> {
    match d {
        None => Ok(()),
        Some(d) => {
            let _: uuid::Uuid = parse_id(d, "delegationId")?;
            Err(bad_request("delegations are not supported"))
        }
    }
}

async fn load(s: &ApiState, caller: &Caller, raw: &str) -> Result<Agreement, Problem> {
    let id: AgreementId = parse_id(raw, "agreementId")?;
    s.platform.env(caller.env).agreement(caller.who(), id).await.map_err(app_problem)
}

async fn list(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let filter = AgreementFilter {
        states: list_param(&q, "states", state_param)?,
        producers: list_param(&q, "producerIds", |x| parse_id(x, "producerIds"))?,
        consumers: list_param(&q, "consumerIds", |x| parse_id(x, "consumerIds"))?,
        eservices: list_param(&q, "eserviceIds", |x| parse_id(x, "eserviceIds"))?,
        descriptors: list_param(&q, "descriptorIds", |x| parse_id(x, "descriptorIds"))?,
    };
    let found = s.platform.env(caller.env).agreements(caller.who(), &filter, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, agreement_json))))
}

async fn create(State(s): State<ApiState>, caller: Caller, raw: Bytes) -> Result<(StatusCode, Json<Value>), Problem> {
    let seed: AgreementSeed = body(&raw, false)?;
    let eid: EServiceId =
        parse_id(seed.eservice_id.as_deref().ok_or_else(|| bad_request("eserviceId is required"))?, "eserviceId")?;
    let did: DescriptorId = parse_id(
        seed.descriptor_id.as_deref().ok_or_else(|| bad_request("descriptorId is required"))?,
        "descriptorId",
    )?;
    no_delegation(&seed.delegation_id)?;
    let svc = s.platform.env(caller.env);
    let es = svc.eservice(caller.who(), eid).await.map_err(app_problem)?;
    // The platform always makes agreements on the latest published version; asking
    // for another one is refused rather than silently changed.
    if let Some(latest) = es.latest_published() {
        if latest.id != did {
            return Err(bad_request(&format!(
                "descriptor {did} is not the latest published version of e-service {eid} (it is {})",
                latest.id
            )));
        }
    }
    let a = svc.create_agreement(caller.who(), caller.tenant_id, eid).await.map_err(app_problem)?;
    Ok((StatusCode::CREATED, Json(agreement_json(&a))))
}

async fn read(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(agreement_json(&load(&s, &caller, &raw).await?)))
}

async fn delete(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let id: AgreementId = parse_id(&raw, "agreementId")?;
    s.platform.env(caller.env).delete_agreement(caller.who(), id).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn purposes(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))?;
    let id: AgreementId = parse_id(&raw, "agreementId")?;
    let found = s.platform.env(caller.env).agreement_purposes(caller.who(), id, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, purpose_json))))
}

async fn submit(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body_raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let id: AgreementId = parse_id(&raw, "agreementId")?;
    let sub: AgreementSubmission = body(&body_raw, false)?;
    if sub.consumer_notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(bad_request("consumerNotes can have at most 1000 characters"));
    }
    let a = s.platform.env(caller.env).submit_agreement(caller.who(), id, sub.consumer_notes).await;
    Ok(Json(agreement_json(&a.map_err(app_problem)?)))
}

async fn reject(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body_raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let id: AgreementId = parse_id(&raw, "agreementId")?;
    let r: AgreementRejection = body(&body_raw, false)?;
    let reason = r.reason.ok_or_else(|| bad_request("reason is required"))?;
    if !(20..=1000).contains(&reason.chars().count()) {
        return Err(bad_request("reason must be between 20 and 1000 characters"));
    }
    let a = s.platform.env(caller.env).reject_agreement(caller.who(), id, reason).await;
    Ok(Json(agreement_json(&a.map_err(app_problem)?)))
}

#[derive(Clone, Copy)]
enum Op {
    Approve,
    Suspend,
    Unsuspend,
    Upgrade,
    Clone,
}

/// The operations whose body is at most a `DelegationRef` (or nothing at all).
async fn simple(s: ApiState, caller: Caller, raw: String, body_raw: Bytes, op: Op) -> Result<Json<Value>, Problem> {
    let id: AgreementId = parse_id(&raw, "agreementId")?;
    let r: DelegationRef = body(&body_raw, true)?;
    no_delegation(&r.delegation_id)?;
    let (svc, actor) = (s.platform.env(caller.env), caller.who());
    let a = match op {
        Op::Approve => svc.approve_agreement(actor, id).await,
        Op::Suspend => svc.suspend_agreement(actor, id).await,
        Op::Unsuspend => svc.unsuspend_agreement(actor, id).await,
        Op::Upgrade => svc.upgrade_agreement(actor, id).await,
        Op::Clone => svc.clone_agreement(actor, id).await,
    };
    Ok(Json(agreement_json(&a.map_err(app_problem)?)))
}

async fn approve(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    simple(s, caller, raw, b, Op::Approve).await
}

async fn suspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    simple(s, caller, raw, b, Op::Suspend).await
}

async fn unsuspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    simple(s, caller, raw, b, Op::Unsuspend).await
}

async fn upgrade(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    simple(s, caller, raw, b, Op::Upgrade).await
}

async fn clone(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    b: Bytes,
) -> Result<Json<Value>, Problem> {
    simple(s, caller, raw, b, Op::Clone).await
}
