//! `POST /interop/{env}/token.oauth2`, wire-compatible with PDND's authorization server.
use crate::{ApiState, Problem};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use varco_http::{parse_env, CorrelationId};
use varco_token::{RateInfo, TokenError};

/// Token requests are small (an assertion is a few KiB); refuse anything bigger
/// before reading it.
pub const MAX_TOKEN_BODY: usize = 64 * 1024;

pub const GENERIC_CODE: &str = "015-0008";

pub fn generic_400(correlation_id: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "The request contains bad syntax or cannot be fulfilled.", "Bad request")
        .with_error(GENERIC_CODE, "Unable to generate a token for the given request")
        .with_correlation(correlation_id)
}

/// Every answer, and every log line of the request, names the request's
/// correlation id (see `varco_http::correlation`).
pub async fn token(
    State(s): State<ApiState>,
    Path(env): Path<String>,
    correlation: CorrelationId,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = correlation.to_string();
    let env = match parse_env(&env) {
        Ok(e) => e,
        Err(p) => return p.with_correlation(&correlation_id).into_response(),
    };
    let body = match to_bytes(body, MAX_TOKEN_BODY).await {
        Ok(b) => b,
        Err(_) => {
            tracing::warn!(correlation_id, reason = "bodyTooLarge", "token request refused");
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                &format!("the request body exceeds {MAX_TOKEN_BODY} bytes"),
            )
            .with_correlation(&correlation_id)
            .into_response();
        }
    };
    let form_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form_type {
        tracing::warn!(correlation_id, reason = "invalidContentType", "token request refused");
        return generic_400(&correlation_id).into_response();
    }
    let dpop = match headers.get_all("dpop").iter().collect::<Vec<_>>().as_slice() {
        [] => None,
        [one] => match one.to_str() {
            Ok(v) => Some(v.to_string()),
            Err(_) => {
                tracing::warn!(correlation_id, reason = "dpopProofInvalid", "token request refused");
                return generic_400(&correlation_id).into_response();
            }
        },
        _ => {
            tracing::warn!(
                correlation_id,
                reason = "dpopProofInvalid",
                detail = "several DPoP headers",
                "token request refused"
            );
            return generic_400(&correlation_id).into_response();
        }
    };
    match s.token.issue(env, &body, dpop.as_deref(), &correlation_id).await {
        Ok(issued) => {
            let mut r = axum::Json(issued.response).into_response();
            rate_headers(r.headers_mut(), issued.rate);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
            r
        }
        Err(TokenError::Refused(_)) => generic_400(&correlation_id).into_response(),
        Err(TokenError::RateLimited { organization, rate }) => {
            tracing::warn!(correlation_id, organization, reason = "tooManyRequests", "token request refused");
            let mut r = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                &format!("Requests limit exceeded for organization {organization}"),
            )
            .with_error("015-0009", "Too many requests")
            .with_correlation(&correlation_id)
            .into_response();
            rate_headers(r.headers_mut(), rate);
            r
        }
        Err(TokenError::Internal(e)) => {
            tracing::error!(correlation_id, error = %e, "token request failed");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "Unable to generate a token")
                .with_error("015-0000", "Unexpected error")
                .with_correlation(&correlation_id)
                .into_response()
        }
    }
}

fn rate_headers(h: &mut HeaderMap, rate: RateInfo) {
    h.insert("x-rate-limit-limit", HeaderValue::from(rate.limit));
    h.insert("x-rate-limit-remaining", HeaderValue::from(rate.remaining));
    h.insert("x-rate-limit-interval", HeaderValue::from(rate.interval_ms));
}
