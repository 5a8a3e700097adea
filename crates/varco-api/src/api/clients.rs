//! Clients and their keys, as PDND's machine API (v2) shows them.
//!
//! PDND lets any caller see that a client exists (`PartialClient`: id and owner)
//! but shows name, description, purposes and keys to the owner only; the platform
//! decides which view a caller gets and who may write.
use super::doc::ApiRoutes;
use super::purposes::purpose_json;
use super::v3::full_client_json;
use super::{api_problem, app_problem, list_param, parse_id, to_json, Caller, PageQuery};
use crate::{ApiState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use varco_domain::*;
use varco_platform::{ClientFilter, ClientView, PurposeFilter};

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

/// `FullClient` for what the caller may see in full, `PartialClient` otherwise (the
/// schema is `oneOf` the two; neither has a `kind`).
pub fn client_json(c: &ClientView) -> Value {
    match c {
        ClientView::Full(c) => full_client_json(c),
        ClientView::Partial { id, consumer_id } => json!({ "id": id, "consumerId": consumer_id }),
    }
}

async fn list(
    State(s): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let filter = ClientFilter {
        consumer: q.get("consumerId").filter(|v| !v.is_empty()).map(|v| parse_id(v, "consumerId")).transpose()?,
        name: q.get("name").cloned(),
    };
    let found = s.platform.env(caller.env).clients(caller.who(), &filter, page.window()).await;
    Ok(Json(to_json(page.of(found.map_err(app_problem)?, client_json))))
}

async fn read(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let cid: ClientId = parse_id(&raw, "clientId")?;
    Ok(Json(client_json(&s.platform.env(caller.env).client(caller.who(), cid).await.map_err(app_problem)?)))
}

async fn purposes(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let eservices: Vec<EServiceId> = list_param(&q, "eserviceIds", |e| parse_id(e, "eserviceIds"))?;
    let states: Vec<PurposeVersionState> = list_param(&q, "states", |st| {
        serde_json::from_value(json!(st))
            .map_err(|_| api_problem(StatusCode::BAD_REQUEST, &format!("unknown purpose state {st:?}")))
    })?;
    let cid: ClientId = parse_id(&raw, "clientId")?;
    let all = s.platform.env(caller.env).client_purposes(caller.who(), cid).await.map_err(app_problem)?;
    let filter = PurposeFilter { eservices, states, ..PurposeFilter::default() };
    let out: Vec<Value> = all.iter().filter(|p| filter.matches(p)).map(purpose_json).collect();
    Ok(Json(to_json(page.apply(out))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClientAddPurpose {
    purpose_id: String,
}

async fn add_purpose(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let cid: ClientId = parse_id(&raw, "clientId")?;
    let seed: ClientAddPurpose = super::from_json(&body)
        .map_err(|e| api_problem(StatusCode::BAD_REQUEST, &format!("invalid ClientAddPurpose: {e}")))?;
    let pid: PurposeId = parse_id(&seed.purpose_id, "purposeId")?;
    s.platform.env(caller.env).add_client_purpose(caller.who(), cid, pid).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_purpose(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw, pid)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let cid: ClientId = parse_id(&raw, "clientId")?;
    let pid: PurposeId = parse_id(&pid, "purposeId")?;
    s.platform.env(caller.env).remove_client_purpose(caller.who(), cid, pid).await.map_err(app_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let page = PageQuery::from_query(&q)?;
    let cid: ClientId = parse_id(&raw, "clientId")?;
    // Upload order, as the back office lists them (at most 100 keys per client).
    let jwks = s.platform.env(caller.env).client_keys(caller.who(), cid).await.map_err(app_problem)?;
    Ok(Json(to_json(page.apply(jwks))))
}

async fn key(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, kid)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let (client_id, jwk) = s.platform.env(caller.env).client_key_jwk(caller.who(), &kid).await.map_err(app_problem)?;
    Ok(Json(json!({ "clientId": client_id, "jwk": jwk })))
}
