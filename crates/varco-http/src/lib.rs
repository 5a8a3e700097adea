// Handlers return `Result<_, Problem>`: the error is answered at once, on the cold
// path, so its size does not matter and boxing it would only add noise.
#![allow(clippy::result_large_err)]
//! What Varco's HTTP fronts share, and nothing page- or API-specific: the
//! `application/problem+json` answer and the one mapping of the services' errors
//! to HTTP statuses (`problem`), the `{env}` path segment, the security headers,
//! and the correlation id of every request (`correlation`).
//!
//! The fronts (`varco-api`, `varco-pages`) depend on this crate and on the
//! services; the binary composes their routers and adds the layers of this one.

pub mod correlation;
mod problem;

pub use correlation::{CorrelationId, CorrelationLayer, CORRELATION_HEADER};
pub use problem::{HttpStatus, Problem, ProblemError};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use varco_domain::Env;

/// Parses the `{env}` path segment; an unknown environment is a 404.
pub fn parse_env(s: &str) -> Result<Env, Problem> {
    // Only the canonical slug: the CLI's aliases ("uat", "prod") and other spellings
    // are not paths of this server (the DPoP htu and the issuers use the slug).
    s.parse::<Env>().ok().filter(|e| e.slug() == s).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("unknown environment {s:?}: produzione, collaudo or attestazione"),
        )
    })
}

/// Pages may not be framed by other sites (clickjacking of their forms), and
/// nothing — a token in a URL, an Ente's id — leaks to other sites by Referer.
/// For `axum::middleware::map_response`, around every route of the server.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("same-origin"));
    r
}

/// The answer to a path no front serves (the server's fallback).
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such resource")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_slugs_are_environments() {
        assert_eq!(parse_env("collaudo").unwrap(), Env::Collaudo);
        for bad in ["uat", "prod", "Collaudo", "", "xyz"] {
            assert_eq!(parse_env(bad).unwrap_err().status, 404, "{bad:?}");
        }
    }
}
