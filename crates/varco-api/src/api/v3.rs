//! Operations that only the v3 machine API has: creating client e-services and
//! managing their public keys, with DPoP-bound vouchers.
use super::doc::ApiRoutes;
use super::{api_problem, app_problem, parse_id, Caller};
use crate::{ApiState, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use varco_domain::*;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .post("/clients", create_client, "createClient")
        .delete("/clients/{id}", delete_client, "deleteClient")
        .post("/clients/{id}/keys", create_key, "createClientKey")
        .delete("/clients/{id}/keys/{kid}", delete_key, "deleteClientKeyById")
}

/// Parses a JSON body, turning every way it can be wrong into a 400 problem.
fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    super::from_json(raw).map_err(|e| api_problem(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSeed {
    name: String,
    description: Option<String>,
    members: Vec<String>,
}

pub fn full_client_json(c: &Client) -> Value {
    let mut v = json!({ "id": c.id, "consumerId": c.consumer_id, "name": c.name, "createdAt": c.created_at });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    v
}

async fn create_client(
    State(s): State<ApiState>,
    caller: Caller,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, Problem> {
    let seed: ClientSeed = body(&raw)?;
    if let Some(d) = &seed.description {
        let n = d.chars().count();
        if !(10..=250).contains(&n) {
            return Err(api_problem(StatusCode::BAD_REQUEST, "description must have 10 to 250 characters"));
        }
    }
    let members = seed.members.iter().map(|m| parse_id::<UserId>(m, "members[]")).collect::<Result<Vec<_>, _>>()?;
    let client = s
        .platform
        .env(caller.env)
        .create_client(
            caller.who(),
            caller.tenant_id,
            ClientKind::Consumer,
            &seed.name,
            seed.description.as_deref(),
            members,
            None,
        )
        .await
        .map_err(app_problem)?;
    Ok(Json(full_client_json(&client)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySeed {
    key: String,
    #[serde(rename = "use")]
    key_use: String,
    alg: String,
    name: String,
}

async fn create_key(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, client_id)): Path<(String, String)>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, Problem> {
    let client_id: ClientId = parse_id(&client_id, "clientId")?;
    let seed: KeySeed = body(&raw)?;
    if seed.key_use != "SIG" {
        return Err(api_problem(StatusCode::BAD_REQUEST, "use must be SIG: keys sign client assertions"));
    }
    if seed.alg != "RS256" {
        return Err(api_problem(StatusCode::BAD_REQUEST, "alg must be RS256"));
    }
    let svc = s.platform.env(caller.env);
    let key = svc.add_client_key(caller.who(), client_id, &seed.name, &seed.key).await.map_err(|e| match e {
        // The file lists no 409 for this operation: a key already on the platform is
        // a bad request.
        varco_platform::AppError::Conflict(m) => api_problem(StatusCode::BAD_REQUEST, &m),
        other => app_problem(other),
    })?;
    let parsed = varco_jose::RsaPublicKey::from_pem(&key.pem)
        .map_err(|e| api_problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    Ok(Json(json!({ "clientId": client_id, "jwk": parsed.jwk() })))
}

async fn delete_key(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, client_id, key_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let client_id: ClientId = parse_id(&client_id, "clientId")?;
    let kid = Kid::parse(&key_id).map_err(|e| api_problem(StatusCode::BAD_REQUEST, &e.to_string()))?;
    s.platform.env(caller.env).delete_client_key(caller.who(), client_id, &kid).await.map_err(app_problem)?;
    Ok(Json(json!({})))
}

async fn delete_client(
    State(s): State<ApiState>,
    caller: Caller,
    Path((_, client_id)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let client_id: ClientId = parse_id(&client_id, "clientId")?;
    s.platform.env(caller.env).delete_client(caller.who(), client_id).await.map_err(app_problem)?;
    Ok(Json(json!({})))
}
