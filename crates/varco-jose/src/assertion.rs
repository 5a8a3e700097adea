//! The client assertion a PDND client signs to ask for a voucher
//! (`client_assertion` in the token request, RFC 7521/7523).

use serde_json::{json, Value};

use crate::jwt::encode_rs256;
use crate::keys::RsaPrivateKey;

/// Everything that goes into a client assertion. Times are Unix seconds; passing
/// `iat` in (rather than reading the clock) keeps the builder deterministic for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionParams {
    pub kid: String,
    /// Used as both `iss` and `sub`, as PDND requires.
    pub client_id: String,
    pub audience: String,
    pub purpose_id: Option<String>,
    /// Hex SHA-256 of the tracking evidence; emitted as `{"alg":"SHA256","value":..}`.
    /// Not validated here: the builder is also used to produce deliberately bad
    /// assertions in tests.
    pub digest: Option<String>,
    pub lifetime_secs: i64,
    pub iat: i64,
    /// A fresh UUID v4 when `None`.
    pub jti: Option<String>,
}

pub fn build_client_assertion(params: &AssertionParams, key: &RsaPrivateKey) -> String {
    let header = json!({ "alg": "RS256", "kid": params.kid, "typ": "JWT" });
    let jti = params.jti.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut claims = json!({
        "iss": params.client_id,
        "sub": params.client_id,
        "aud": params.audience,
        "jti": jti,
        "iat": params.iat,
        "exp": params.iat.saturating_add(params.lifetime_secs),
    });
    if let Some(purpose_id) = &params.purpose_id {
        claims["purposeId"] = Value::String(purpose_id.clone());
    }
    if let Some(digest) = &params.digest {
        claims["digest"] = json!({ "alg": "SHA256", "value": digest });
    }
    encode_rs256(&header, &claims, key)
}
