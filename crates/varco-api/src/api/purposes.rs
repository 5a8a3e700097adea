//! Purposes ("finalità") and their versions, as PDND's machine API (v2) shows them.
//!
//! Who sees a purpose (its consumer; the producer of its e-service once it is no
//! longer a draft; nobody else: 404, so ids of others' purposes reveal nothing) and
//! who may change what are decided by the platform's use cases.
use super::agreements::agreement_json;
use super::doc::ApiRoutes;
use super::{api_problem, app_problem, bad_request, list_param, parse_id, to_json, Caller, PageQuery};
use crate::{ApiState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use varco_domain::*;
use varco_platform::PurposeFilter;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/purposes", list, "getPurposes")
        .post("/purposes", create, "createPurpose")
        .get("/purposes/{id}", read, "getPurpose")
        .delete("/purposes/{id}", remove, "deletePurpose")
        .get("/purposes/{id}/versions", versions, "getPurposeVersions")
        .post("/purposes/{id}/versions", new_version, "createPurposeVersion")
        .get("/purposes/{id}/versions/{vid}", version, "getPurposeVersion")
        .post("/purposes/{id}/activate", activate, "activateDraftPurpose")
        .post("/purposes/{id}/approve", approve, "approvePurpose")
        .post("/purposes/{id}/suspend", suspend, "suspendPurpose")
        .post("/purposes/{id}/unsuspend", unsuspend, "unsuspendPurpose")
        .post("/purposes/{id}/archive", archive, "archivePurpose")
        .get("/purposes/{id}/agreement", agreement, "getPurposeAgreement")
}

// ------------------------------------------------------------------ shapes

/// Sets the optional properties that have a value; PDND's schemas forbid nulls.
fn put_opt(v: &mut Value, fields: Vec<(&str, Option<Value>)>) {
    for (name, x) in fields {
        if let Some(x) = x {
            v[name] = x;
        }
    }
}

/// PDND's `PurposeVersion`.
pub fn version_json(v: &PurposeVersion) -> Value {
    let mut out = json!({
        "id": v.id,
        "state": to_json(v.state),
        "createdAt": v.created_at,
        "dailyCalls": v.daily_calls,
    });
    put_opt(
        &mut out,
        vec![
            ("suspendedAt", v.suspended_at.map(|t| json!(t))),
            ("updatedAt", v.updated_at.map(|t| json!(t))),
            ("firstActivationAt", v.first_activation_at.map(|t| json!(t))),
            ("rejectionReason", v.rejection_reason.clone().map(Value::String)),
        ],
    );
    out
}

/// PDND's `Purpose`. Its versions are shown in three slots: the waiting one, the
/// latest rejected one, and the current one — the newest version in any other state
/// (Active/Suspended while in use, Draft before the first activation, Archived at
/// the end). Versions are appended in creation order, so "newest" is "last".
pub fn purpose_json(p: &Purpose) -> Value {
    use PurposeVersionState as S;
    let newest = |f: &dyn Fn(S) -> bool| p.versions.iter().rev().find(|v| f(v.state)).map(version_json);
    let mut out = json!({
        "id": p.id,
        "eserviceId": p.eservice_id,
        "consumerId": p.consumer_id,
        "suspendedByConsumer": p.suspended_by_consumer,
        "suspendedByProducer": p.suspended_by_producer,
        "title": p.title,
        "description": p.description,
        "createdAt": p.created_at,
        // The platform's check for now; the PDND rule set will replace it there.
        "isRiskAnalysisValid": varco_platform::risk_analysis_valid(p.risk_analysis.as_ref()),
        "isFreeOfCharge": p.is_free_of_charge,
    });
    put_opt(
        &mut out,
        vec![
            ("updatedAt", p.updated_at.map(|t| json!(t))),
            ("freeOfChargeReason", p.free_of_charge_reason.clone().map(Value::String)),
            ("currentVersion", newest(&|s| !matches!(s, S::WaitingForApproval | S::Rejected))),
            ("waitingForApprovalVersion", newest(&|s| s == S::WaitingForApproval)),
            ("rejectedVersion", newest(&|s| s == S::Rejected)),
        ],
    );
    out
}

// ------------------------------------------------------------------ inputs

fn ids<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Result<Vec<T>, Problem> {
    list_param(q, name, |x| parse_id(x, name))
}

fn state(s: &str, name: &str) -> Result<PurposeVersionState, Problem> {
    serde_json::from_value(json!(s.trim())).map_err(|_| bad_request(&format!("{name}: unknown purpose state {s:?}")))
}

/// Parses a JSON body ourselves: axum's own rejections are not PDND problems.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    super::from_json(bytes).map_err(|e| bad_request(&format!("invalid request body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DelegationRef {
    delegation_id: Option<String>,
}

/// The optional `DelegationRef` body of the state changes. Varco has no delegations,
/// so naming one can only point at something that does not exist.
fn no_delegation(bytes: &Bytes) -> Result<(), Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let r: DelegationRef = body(bytes)?;
    check_delegation(r.delegation_id.as_deref())
}

fn check_delegation(d: Option<&str>) -> Result<(), Problem> {
    match d {
        None => Ok(()),
        Some(raw) => {
            let d: uuid::Uuid = parse_id(raw, "delegationId")?;
            Err(api_problem(StatusCode::NOT_FOUND, &format!("delegation {d} not found")))
        }
    }
}

const MAX_DAILY_CALLS: i64 = 1_000_000_000;

fn daily_calls(n: i64) -> Result<u32, Problem> {
    if (1..=MAX_DAILY_CALLS).contains(&n) {
        Ok(n as u32)
    } else {
        Err(bad_request("dailyCalls must be between 1 and 1000000000"))
    }
}

/// Length limits of the schema, counted in characters as JSON Schema does.
fn length(name: &str, v: &str, min: usize, max: usize) -> Result<(), Problem> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(bad_request(&format!("{name} must have from {min} to {max} characters")));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskAnalysisFormSeed {
    version: String,
    answers: BTreeMap<String, Vec<String>>,
}

impl RiskAnalysisFormSeed {
    /// Only the schema's shape; the meaning of the answers is checked at activation.
    fn into_form(self) -> Result<RiskAnalysisForm, Problem> {
        length("riskAnalysisForm.version", &self.version, 1, 250)?;
        for (q, answers) in &self.answers {
            for a in answers {
                length(&format!("riskAnalysisForm.answers.{q}[]"), a, 1, 2000)?;
            }
        }
        Ok(RiskAnalysisForm { version: self.version, answers: self.answers })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PurposeSeed {
    eservice_id: String,
    delegation_id: Option<String>,
    risk_analysis_form: Option<RiskAnalysisFormSeed>,
    title: String,
    description: String,
    is_free_of_charge: bool,
    free_of_charge_reason: Option<String>,
    daily_calls: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PurposeVersionSeed {
    daily_calls: i64,
}

// ------------------------------------------------------------------ reads

/// A purpose the caller may see (the platform decides; others are 404).
async fn load(s: &ApiState, caller: &Caller, raw: &str) -> Result<Purpose, Problem> {
    let pid: PurposeId = parse_id(raw, "purposeId")?;
    s.platform.env(caller.env).purpose(caller.who(), pid).await.map_err(app_problem)
}

async fn list(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let filter = PurposeFilter {
        eservices: ids(&q, "eserviceIds")?,
        consumers: ids(&q, "consumerIds")?,
        states: list_param(&q, "states", |x| state(x, "states"))?,
        title: q.get("title").cloned(),
        ..PurposeFilter::default()
    };
    let found = s.platform.env(caller.env).purposes(caller.who(), &filter, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, purpose_json))))
}

async fn read(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(purpose_json(&load(&s, &caller, &raw).await?)))
}

async fn versions(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let wanted = q.get("state").map(|x| state(x, "state")).transpose()?;
    let p = load(&s, &caller, &raw).await?;
    let vs: Vec<Value> = p.versions.iter().filter(|v| wanted.is_none_or(|w| v.state == w)).map(version_json).collect();
    Ok(Json(serde_json::to_value(page.apply(vs)).expect("page serializes")))
}

async fn version(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, vid)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let p = load(&s, &caller, &raw).await?;
    let vid: PurposeVersionId = parse_id(&vid, "versionId")?;
    p.versions
        .iter()
        .find(|v| v.id == vid)
        .map(|v| Json(version_json(v)))
        .ok_or_else(|| api_problem(StatusCode::NOT_FOUND, &format!("purpose version {vid} not found")))
}

/// The agreement that lets the purpose's consumer use the e-service (in use or
/// suspended); none means 404, as PDND.
async fn agreement(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let pid: PurposeId = parse_id(&raw, "purposeId")?;
    let a = s.platform.env(caller.env).purpose_agreement(caller.who(), pid).await.map_err(app_problem)?;
    Ok(Json(agreement_json(&a)))
}

// ------------------------------------------------------------------ writes

async fn create(State(s): State<ApiState>, caller: Caller, bytes: Bytes) -> Result<(StatusCode, Json<Value>), Problem> {
    let seed: PurposeSeed = body(&bytes)?;
    let eservice: EServiceId = parse_id(&seed.eservice_id, "eserviceId")?;
    check_delegation(seed.delegation_id.as_deref())?;
    length("title", &seed.title, 5, 60)?;
    length("description", &seed.description, 10, 250)?;
    let calls = daily_calls(seed.daily_calls)?;
    let form = seed.risk_analysis_form.map(RiskAnalysisFormSeed::into_form).transpose()?;
    // The platform takes "free of charge" as the reason being present; an empty
    // reason for a free purpose is then refused there with its own message.
    let free = seed.is_free_of_charge.then(|| seed.free_of_charge_reason.unwrap_or_default());
    let p = s
        .platform
        .env(caller.env)
        .create_purpose(caller.who(), caller.tenant_id, eservice, &seed.title, &seed.description, calls, form, free)
        .await
        .map_err(app_problem)?;
    Ok((StatusCode::CREATED, Json(purpose_json(&p))))
}

async fn remove(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let p = load(&s, &caller, &raw).await?;
    s.platform.env(caller.env).delete_purpose(caller.who(), p.id).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn new_version(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let seed: PurposeVersionSeed = body(&bytes)?;
    let calls = daily_calls(seed.daily_calls)?;
    let p = load(&s, &caller, &raw).await?;
    let p = s.platform.env(caller.env).new_purpose_version(caller.who(), p.id, calls).await.map_err(app_problem)?;
    // The use case appends the new version.
    let v = p.versions.last().ok_or_else(|| app_problem(varco_platform::AppError::Internal("no version".into())))?;
    Ok((StatusCode::CREATED, Json(version_json(v))))
}

/// The state changes share their shape: m2m-admin, optional `DelegationRef`, the
/// purpose visible to the caller, then the use case, answering the new `Purpose`.
async fn change(s: ApiState, caller: Caller, raw: String, bytes: Bytes, op: Op) -> Result<Json<Value>, Problem> {
    no_delegation(&bytes)?;
    let p = load(&s, &caller, &raw).await?;
    let svc = s.platform.env(caller.env);
    let actor = caller.who();
    let p = match op {
        Op::Activate => svc.activate_purpose(actor, p.id).await,
        Op::Approve => svc.approve_purpose(actor, p.id).await,
        Op::Suspend => svc.suspend_purpose(actor, p.id).await,
        Op::Unsuspend => svc.unsuspend_purpose(actor, p.id).await,
        Op::Archive => svc.archive_purpose(actor, p.id).await,
    }
    .map_err(app_problem)?;
    Ok(Json(purpose_json(&p)))
}

enum Op {
    Activate,
    Approve,
    Suspend,
    Unsuspend,
    Archive,
}

async fn activate(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, Problem> {
    change(s, caller, raw, bytes, Op::Activate).await
}

async fn approve(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, Problem> {
    change(s, caller, raw, bytes, Op::Approve).await
}

async fn suspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, Problem> {
    change(s, caller, raw, bytes, Op::Suspend).await
}

async fn unsuspend(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, Problem> {
    change(s, caller, raw, bytes, Op::Unsuspend).await
}

/// PDND's archive has no body; one sent anyway is ignored like any other extra.
async fn archive(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    change(s, caller, raw, Bytes::new(), Op::Archive).await
}
