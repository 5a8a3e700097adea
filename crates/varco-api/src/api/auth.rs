//! Who is calling the machine API: the organisation of an API client, proven by a
//! voucher of this environment's API audience, issued by this Varco.
use super::api_problem;
use crate::{ApiState, Problem};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use varco_domain::{ClientId, Env, TenantId};
use varco_http::parse_env;
use varco_platform::ApiRole;

/// The API client behind a request, as the platform's services take it. What it may
/// see and do is theirs to decide; this only proves who it is.
#[derive(Debug, Clone)]
pub struct Caller {
    pub env: Env,
    /// The organisation the client acts for.
    pub tenant_id: TenantId,
    who: varco_platform::Caller,
}

impl Caller {
    /// The caller as the services take it.
    pub fn who(&self) -> &varco_platform::Caller {
        &self.who
    }
}

/// The full request path: inside a nested router `parts.uri` has lost its prefix.
fn full_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|o| o.0.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

/// The environment of a machine API path: `/interop/{env}/api/...`.
fn env_of(path: &str) -> Result<Env, Problem> {
    let seg = path.trim_start_matches('/').split('/').nth(1).unwrap_or("");
    // In the machine API's shape: PDND's Problem always lists an error with a code.
    parse_env(seg).map_err(|p| api_problem(StatusCode::NOT_FOUND, p.detail.as_deref().unwrap_or_default()))
}

fn too_many(tenant: TenantId) -> Problem {
    api_problem(StatusCode::TOO_MANY_REQUESTS, &format!("Requests limit exceeded for organization {tenant}"))
}

/// Where `Caller` leaves the caller's rate window, for `rate_headers` to answer
/// with: every answer of an authenticated call carries PDND's X-Rate-Limit-*.
#[derive(Clone, Default)]
pub struct RateSlot(std::sync::Arc<parking_lot::Mutex<Option<varco_token::RateInfo>>>);

/// Middleware of the machine API: the X-Rate-Limit-* headers of the caller's window.
pub async fn rate_headers(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(rate) = *slot.0.lock() {
        let h = res.headers_mut();
        h.insert("x-rate-limit-limit", rate.limit.into());
        h.insert("x-rate-limit-remaining", rate.remaining.into());
        h.insert("x-rate-limit-interval", rate.interval_ms.into());
    }
    res
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let full = full_path(parts);
        let env = env_of(&full)?;
        let unauthorized = |why: &str| {
            tracing::info!(reason = why, "machine API call refused");
            api_problem(StatusCode::UNAUTHORIZED, "invalid or missing voucher")
        };
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("no Authorization header"))?;
        let v3 = full.contains("/api/v3/");
        let scheme = if v3 { "DPoP " } else { "Bearer " };
        let token = auth
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .map(|_| auth[scheme.len()..].trim())
            .ok_or_else(|| {
                unauthorized(if v3 { "Authorization is not DPoP" } else { "Authorization is not Bearer" })
            })?;
        // The token server's clock: what issued the voucher also judges its age.
        let now = state.token.now().timestamp();
        let claims = state.token.verify_api_voucher(env, token, now).map_err(|e| unauthorized(&e.to_string()))?;
        let jkt = claims.get("cnf").and_then(|c| c.get("jkt")).and_then(|j| j.as_str());
        let mut spent = None;
        if v3 {
            // v3: the voucher must be DPoP-bound and come with a fresh proof of
            // possession of that key, for this very request.
            let jkt = jkt.ok_or_else(|| unauthorized("v3 needs a DPoP-bound voucher (cnf.jkt)"))?;
            let proof = match parts.headers.get_all("dpop").iter().collect::<Vec<_>>().as_slice() {
                [one] => one.to_str().map_err(|_| unauthorized("DPoP header is not text"))?,
                [] => return Err(unauthorized("no DPoP proof")),
                _ => return Err(unauthorized("several DPoP proofs")),
            };
            let cfg = state.platform.config(env);
            let prefix = format!("/interop/{}", env.slug());
            let path = full.strip_prefix(&prefix).unwrap_or(&full);
            let htu = format!("{}{}", cfg.base_url, path);
            let p = state
                .token
                .check_dpop(proof, parts.method.as_str(), &htu, Some(token), now)
                .map_err(|e| unauthorized(&format!("DPoP proof: {e}")))?;
            if p.jkt != jkt {
                return Err(unauthorized("the DPoP proof is signed by another key than the voucher's cnf.jkt"));
            }
            spent = Some(p);
        } else if jkt.is_some() {
            // A DPoP-bound voucher is only good with its proof (v3).
            return Err(unauthorized("DPoP-bound voucher used as Bearer"));
        }
        let get = |n: &str| claims.get(n).and_then(|v| v.as_str());
        let role = match get("role") {
            Some("m2m") => ApiRole::M2m,
            Some("m2m-admin") => ApiRole::M2mAdmin,
            _ => return Err(api_problem(StatusCode::FORBIDDEN, "the voucher has no m2m role")),
        };
        let tenant_id =
            get("organizationId").and_then(|s| s.parse().ok()).ok_or_else(|| unauthorized("no organizationId"))?;
        let client: ClientId =
            get("client_id").and_then(|s| s.parse().ok()).ok_or_else(|| unauthorized("no client_id"))?;
        // Every check passed: count the call (PDND limits the API per organisation
        // too), then spend the proof, so a refused call can be retried with it.
        let rate = state.token.api_rate_hit(tenant_id);
        if let Some(slot) = parts.extensions.get::<RateSlot>() {
            *slot.0.lock() = Some(rate);
        }
        if !rate.allowed {
            tracing::info!(organization = %tenant_id, "machine API call refused: too many requests");
            return Err(too_many(tenant_id));
        }
        if let Some(p) = &spent {
            if let Err(e) = state.token.spend_dpop(&client.to_string(), p, now) {
                state.token.api_rate_refund(tenant_id);
                return Err(match e {
                    varco_token::DpopRefusal::Busy => too_many(tenant_id),
                    _ => unauthorized("DPoP proof replayed"),
                });
            }
        }
        Ok(Caller { env, tenant_id, who: varco_platform::Caller::Api { env, tenant: tenant_id, client, role } })
    }
}
