//! Clients and their keys, as PDND's machine API (v2) shows them.
//!
//! PDND lets any caller see that a client exists (`PartialClient`: id and owner)
//! but shows name, description, purposes and keys to the owner only; writes are the
//! owner's, with the m2m-admin role.
use super::doc::ApiRoutes;
use super::purposes::purpose_json;
use super::{api_problem, app_problem, parse_id, to_json, Caller, PageQuery};
use crate::{AppState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .get("/clients", list, "getClients")
        .get("/clients/{id}", read, "getClient")
        .get("/clients/{id}/purposes", purposes, "getClientPurposes")
        .post("/clients/{id}/purposes", add_purpose, "addClientPurpose")
        .delete("/clients/{id}/purposes/{pid}", remove_purpose, "removeClientPurpose")
        .get("/clients/{id}/keys", keys, "getClientKeys")
        .get("/keys/{kid}", key, "getJWKByKid")
}

/// `FullClient` for the owner, `PartialClient` for everybody else (the schema is
/// `oneOf` the two; neither has a `kind`).
pub fn client_json(c: &Client, caller: &Caller) -> Value {
    if c.consumer_id != caller.tenant_id {
        return json!({ "id": c.id, "consumerId": c.consumer_id });
    }
    let mut v = json!({ "id": c.id, "consumerId": c.consumer_id, "name": c.name, "createdAt": c.created_at });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    v
}

async fn load(s: &AppState, caller: &Caller, raw: &str) -> Result<Client, Problem> {
    let cid: ClientId = parse_id(raw, "clientId")?;
    s.platform.env(caller.env).client(cid).await.map_err(app_problem)
}

/// Purposes and keys are the owner's business (403, as PDND's visibility check).
async fn load_own(s: &AppState, caller: &Caller, raw: &str) -> Result<Client, Problem> {
    let c = load(s, caller, raw).await?;
    if c.consumer_id != caller.tenant_id {
        return Err(api_problem(StatusCode::FORBIDDEN, "the client belongs to another organisation"));
    }
    Ok(c)
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let consumer: Option<TenantId> =
        q.get("consumerId").filter(|v| !v.is_empty()).map(|v| parse_id(v, "consumerId")).transpose()?;
    // Names are visible to the owner only, so a name filter matches only own clients.
    let name = q.get("name").map(|n| n.to_lowercase());
    let mut all = s.platform.env(caller.env).clients().await.map_err(app_problem)?;
    all.retain(|c| {
        consumer.is_none_or(|t| c.consumer_id == t)
            && name.as_ref().is_none_or(|n| c.consumer_id == caller.tenant_id && c.name.to_lowercase().contains(n))
    });
    all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let page = page.apply(all.iter().map(|c| client_json(c, &caller)).collect());
    Ok(Json(to_json(page)))
}

async fn read(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(client_json(&load(&s, &caller, &raw).await?, &caller)))
}

async fn purposes(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let eservices: Vec<EServiceId> = match q.get("eserviceIds").filter(|v| !v.is_empty()) {
        Some(list) => list.split(',').map(|e| parse_id(e, "eserviceIds")).collect::<Result<_, _>>()?,
        None => vec![],
    };
    let states: Vec<PurposeVersionState> = match q.get("states").filter(|v| !v.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|st| {
                serde_json::from_value(json!(st))
                    .map_err(|_| api_problem(StatusCode::BAD_REQUEST, &format!("unknown purpose state {st:?}")))
            })
            .collect::<Result<_, _>>()?,
        None => vec![],
    };
    let c = load_own(&s, &caller, &raw).await?;
    let svc = s.platform.env(caller.env);
    let mut ids = c.purposes.clone();
    ids.sort_by_key(|p| p.to_string());
    let mut out = vec![];
    for pid in ids {
        let p = match svc.purpose(pid).await {
            Ok(p) => p,
            // A purpose deleted after the association simply is not listed.
            Err(varco_platform::AppError::NotFound(_)) => continue,
            Err(e) => return Err(app_problem(e)),
        };
        let state_ok = states.is_empty()
            || if states.contains(&PurposeVersionState::Archived) {
                // As PDND: ARCHIVED matches purposes whose versions are all archived.
                p.versions.iter().all(|v| v.state == PurposeVersionState::Archived)
            } else {
                p.versions.iter().any(|v| states.contains(&v.state))
            };
        if (eservices.is_empty() || eservices.contains(&p.eservice_id)) && state_ok {
            out.push(purpose_json(&p));
        }
    }
    Ok(Json(to_json(page.apply(out))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClientAddPurpose {
    purpose_id: String,
}

async fn add_purpose(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    let cid: ClientId = parse_id(&raw, "clientId")?;
    let seed: ClientAddPurpose = serde_json::from_slice(&body)
        .map_err(|e| api_problem(StatusCode::BAD_REQUEST, &format!("invalid ClientAddPurpose: {e}")))?;
    let pid: PurposeId = parse_id(&seed.purpose_id, "purposeId")?;
    s.platform.env(caller.env).add_client_purpose(&caller.actor(), cid, pid).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_purpose(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw, pid)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    let cid: ClientId = parse_id(&raw, "clientId")?;
    let pid: PurposeId = parse_id(&pid, "purposeId")?;
    s.platform.env(caller.env).remove_client_purpose(&caller.actor(), cid, pid).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let c = load_own(&s, &caller, &raw).await?;
    let svc = s.platform.env(caller.env);
    let mut jwks = vec![];
    // Upload order, as the back office lists them (at most 100 keys per client).
    for k in &c.keys {
        jwks.push(svc.client_key_jwk(k.kid.as_str()).await.map_err(app_problem)?.1);
    }
    let out = to_json(page.apply(jwks));
    Ok(Json(out))
}

async fn key(
    State(s): State<AppState>,
    caller: Caller,
    Path((_, kid)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let (client_id, jwk) = s.platform.env(caller.env).client_key_jwk(&kid).await.map_err(app_problem)?;
    Ok(Json(json!({ "clientId": client_id, "jwk": jwk })))
}
