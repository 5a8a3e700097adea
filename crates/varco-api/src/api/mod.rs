//! The machine API ("PDND Interoperability API") of each environment: v2 with Bearer
//! vouchers, v3 with DPoP vouchers. Paths, bodies and errors follow PDND's
//! `m2mGatewayApi.yml`; handlers are thin over the platform's use cases.
//!
//! Work in progress: authentication, pagination, errors, and the e-service reads.

mod agreements;
mod auth;
mod clients;
pub mod doc;
mod eservices;
mod page;
mod purposes;
mod tenants;
mod v3;

pub use auth::Caller;
pub use page::{Page, PageQuery};

use crate::{ApiState, Problem};
use axum::http::StatusCode;
use axum::Router;
use doc::ApiRoutes;

/// The operations of both versions: v2 (Bearer) and v3 (DPoP, which adds client
/// and key writes). `Caller` tells the two apart by the path.
fn operations() -> (ApiRoutes, ApiRoutes) {
    let common = || {
        eservices::routes()
            .merge(agreements::routes())
            .merge(purposes::routes())
            .merge(clients::routes())
            .merge(tenants::routes())
    };
    (common(), common().merge(v3::routes()))
}

pub fn routes() -> Router<ApiState> {
    let (v2, v3) = operations();
    // A path under the API that no operation has: the API's own 404, with its code.
    let no_such_operation = || async { api_problem(StatusCode::NOT_FOUND, "no such operation") };
    let rated = axum::middleware::from_fn(auth::rate_headers);
    let no_nul = axum::middleware::from_fn(refuse_nul_in_uri);
    Router::new()
        .nest("/interop/{env}/api/v2", v2.router.fallback(no_such_operation).layer(no_nul.clone()).layer(rated.clone()))
        .nest("/interop/{env}/api/v3", v3.router.fallback(no_such_operation).layer(no_nul).layer(rated))
        .route("/interop/{env}/openapi.json", axum::routing::get(openapi))
}

const NUL_REFUSED: &str = "text may not contain the NUL character (U+0000)";

/// PostgreSQL can neither store nor compare text holding U+0000 (SQLite can): a
/// path or query value with it (a kid, a filter) reached the database and came back
/// as a server error. Refused here, alike on both backends. A URI can carry it only
/// as `%00` (a literal NUL is not valid in a request line, and `%2500` decodes to
/// the text "%00", which is harmless).
async fn refuse_nul_in_uri(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let has_nul = |s: &str| s.contains("%00");
    if has_nul(req.uri().path()) || req.uri().query().is_some_and(has_nul) {
        return bad_request(NUL_REFUSED).into_response();
    }
    next.run(req).await
}

/// A JSON request body as `T`, or the reason it is not one. A string (or a key)
/// holding U+0000 is refused for the same reason as in `refuse_nul_in_uri`.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    let parsed: T = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    // JSON carries U+0000 only as the escape `\u0000`: without it there is nothing
    // to look for (with it, it may still be an escaped backslash followed by "u0000").
    if raw.windows(6).any(|w| w == b"\\u0000") {
        let value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
        if holds_nul(&value) {
            return Err(NUL_REFUSED.to_string());
        }
    }
    Ok(parsed)
}

fn holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// `GET /interop/{env}/openapi.json`: Varco's own OpenAPI document for that
/// environment (token endpoint, JWKS, API v2 and v3), made from the route table.
async fn openapi(
    axum::extract::State(s): axum::extract::State<ApiState>,
    axum::extract::Path(env): axum::extract::Path<String>,
) -> Result<axum::Json<serde_json::Value>, Problem> {
    let env = varco_http::parse_env(&env)?;
    let (v2, v3) = operations();
    Ok(axum::Json(doc::document(&s.platform.config(env).base_url, &v2.ops, &v3.ops)))
}

/// An error of the machine API: PDND's problem shape, which always lists at least
/// one error with a code.
/// Its `correlationId` is the request's (`varco_http::correlation`).
pub fn api_problem(status: StatusCode, detail: &str) -> Problem {
    let (title, code) = match status {
        StatusCode::BAD_REQUEST => ("Bad Request", "000-0001"),
        StatusCode::UNAUTHORIZED => ("Unauthorized", "000-0002"),
        StatusCode::FORBIDDEN => ("Forbidden", "000-0003"),
        StatusCode::NOT_FOUND => ("Resource not found", "000-0004"),
        StatusCode::CONFLICT => ("Conflict", "000-0005"),
        StatusCode::TOO_MANY_REQUESTS => ("Too Many Requests", "000-0006"),
        _ => ("Internal Server Error", "000-0000"),
    };
    Problem::new(status, title, detail).with_error(code, detail).with_request_correlation()
}

/// Maps a platform error to the API's problem shape (status from the one mapping).
pub fn app_problem(e: varco_platform::AppError) -> Problem {
    let p: Problem = e.into();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    api_problem(status, p.detail.as_deref().unwrap_or(""))
}

/// A comma-separated list query parameter (`explode: false`); absent or empty means
/// no filter.
pub(super) fn list_param<T>(
    q: &std::collections::HashMap<String, String>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, Problem>,
) -> Result<Vec<T>, Problem> {
    match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(list) => list.split(',').map(|x| parse(x.trim())).collect(),
        None => Ok(vec![]),
    }
}

/// A UUID (or other parsed) path or query parameter; anything else is a 400 problem.
pub(super) fn parse_id<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, Problem> {
    s.parse().map_err(|_| bad_request(&format!("{what} is not a UUID")))
}

/// A domain value as JSON: enums come out as PDND writes them (SCREAMING_CASE).
pub(super) fn to_json<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub(super) fn bad_request(detail: &str) -> Problem {
    api_problem(StatusCode::BAD_REQUEST, detail)
}
