//! DPoP proof verification (RFC 9449 §4.3). Replay protection (remembering `jti`s)
//! is the caller's job: it needs shared state this crate does not have.

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::b64::b64url_encode;
use crate::jwk::{jwk_thumbprint, verifier_from_jwk};
use crate::jwt::{encode_rs256, Compact, JwtFormatError};
use crate::keys::RsaPrivateKey;

/// How old a proof may be, in seconds. Proofs are made just before the request, so
/// a minute covers network time and modest clock skew without letting a stolen proof
/// live long.
pub const DPOP_IAT_LEEWAY_PAST: i64 = 60;
/// How far in the future a proof's `iat` may be: only clock skew justifies it.
pub const DPOP_IAT_LEEWAY_FUTURE: i64 = 10;

/// Bound on `jti` length, so the caller's replay cache cannot be bloated.
const MAX_JTI_LEN: usize = 256;

/// JWK members that only private (or symmetric) keys have.
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a valid proof tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// RFC 7638 thumbprint of the proof's key, to bind the access token to (`cnf.jkt`).
    pub jkt: String,
    /// For the caller's replay cache.
    pub jti: String,
    pub iat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error("malformed DPoP proof: {0}")]
    Malformed(#[from] JwtFormatError),
    #[error("the DPoP proof header has no typ")]
    MissingTyp,
    #[error("the DPoP proof typ is {0:?}, expected \"dpop+jwt\"")]
    WrongTyp(String),
    #[error("the DPoP proof alg {0:?} is not accepted (RS256 or ES256)")]
    BadAlg(String),
    #[error("the DPoP proof header uses critical extensions, none of which are supported")]
    CritUnsupported,
    #[error("the DPoP proof header has no jwk object")]
    MissingJwk,
    #[error("the DPoP proof jwk contains private key material")]
    PrivateJwk,
    #[error("the DPoP proof jwk is unusable: {0}")]
    BadJwk(String),
    #[error("the DPoP proof signature is invalid")]
    BadSignature,
    #[error("the DPoP proof has no {0} claim or it has the wrong type")]
    MissingClaim(&'static str),
    #[error("the DPoP proof htm {found:?} does not match the request method {expected:?}")]
    HtmMismatch { expected: String, found: String },
    #[error("the DPoP proof htu {found:?} does not match the request URI {expected:?}")]
    HtuMismatch { expected: String, found: String },
    #[error("the DPoP proof iat {iat} is outside the accepted window around {now}")]
    IatOutOfWindow { iat: i64, now: i64 },
    #[error("the DPoP proof has no jti, or it is empty or too long")]
    MissingJti,
    #[error("the DPoP proof ath does not match the access token")]
    AthMismatch,
}

/// Verifies a DPoP proof for a request with method `expected_htm` to `expected_htu`.
/// When `access_token` is given (resource requests), the proof must carry its hash.
pub fn verify_dpop_proof(
    proof: &str,
    expected_htm: &str,
    expected_htu: &str,
    now_unix: i64,
    access_token: Option<&str>,
) -> Result<DpopProof, DpopError> {
    let jws = Compact::parse(proof)?;
    let h = &jws.header;

    match h.get("typ") {
        None => return Err(DpopError::MissingTyp),
        Some(Value::String(t)) if t == "dpop+jwt" => {}
        Some(other) => return Err(DpopError::WrongTyp(value_preview(other))),
    }
    let alg = match h.get("alg") {
        Some(Value::String(a)) if a == "RS256" || a == "ES256" => a.as_str(),
        Some(other) => return Err(DpopError::BadAlg(value_preview(other))),
        None => return Err(DpopError::BadAlg(String::new())),
    };
    // RFC 7515 §4.1.11: a recipient must reject extensions it does not understand.
    if h.contains_key("crit") {
        return Err(DpopError::CritUnsupported);
    }
    let jwk = h.get("jwk").and_then(Value::as_object).ok_or(DpopError::MissingJwk)?;
    if PRIVATE_JWK_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateJwk);
    }
    let verifier = verifier_from_jwk(alg, jwk).map_err(DpopError::BadJwk)?;
    // Signature before claims: nothing in an unauthenticated payload is worth reporting.
    verifier.verify_sig(jws.signing_input.as_bytes(), &jws.signature).map_err(|_| DpopError::BadSignature)?;
    let jkt = jwk_thumbprint(jwk).map_err(|e| DpopError::BadJwk(e.to_string()))?;

    let p = &jws.payload;
    let htm = str_claim(p, "htm")?;
    if htm != expected_htm {
        return Err(DpopError::HtmMismatch { expected: expected_htm.into(), found: truncate(htm) });
    }
    let htu = str_claim(p, "htu")?;
    if normalize_htu(htu) != normalize_htu(expected_htu) {
        return Err(DpopError::HtuMismatch { expected: expected_htu.into(), found: truncate(htu) });
    }
    // A float or string iat is refused: NumericDate is "a JSON numeric value", but a
    // fractional proof time has no legitimate use and only invites rounding games.
    let iat = p.get("iat").and_then(Value::as_i64).ok_or(DpopError::MissingClaim("iat"))?;
    if iat < now_unix.saturating_sub(DPOP_IAT_LEEWAY_PAST) || iat > now_unix.saturating_add(DPOP_IAT_LEEWAY_FUTURE) {
        return Err(DpopError::IatOutOfWindow { iat, now: now_unix });
    }
    let jti = match p.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= MAX_JTI_LEN => j.clone(),
        _ => return Err(DpopError::MissingJti),
    };
    if let Some(token) = access_token {
        let ath = str_claim(p, "ath")?;
        if ath != access_token_hash(token) {
            return Err(DpopError::AthMismatch);
        }
    }
    Ok(DpopProof { jkt, jti, iat })
}

/// Builds an RS256 DPoP proof, for tests and the CLI client.
pub fn build_dpop_proof(
    key: &RsaPrivateKey,
    htm: &str,
    htu: &str,
    iat: i64,
    jti: &str,
    access_token: Option<&str>,
) -> String {
    let public = key.public_key();
    let header = json!({
        "typ": "dpop+jwt",
        "alg": "RS256",
        "jwk": { "kty": "RSA", "n": public.n_b64(), "e": public.e_b64() },
    });
    let mut claims = json!({ "jti": jti, "htm": htm, "htu": htu, "iat": iat });
    if let Some(token) = access_token {
        claims["ath"] = Value::String(access_token_hash(token));
    }
    encode_rs256(&header, &claims, key)
}

/// RFC 9449 §4.2: base64url(SHA-256(ASCII access token)).
fn access_token_hash(token: &str) -> String {
    b64url_encode(&Sha256::digest(token.as_bytes()))
}

fn str_claim<'a>(p: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, DpopError> {
    p.get(name).and_then(Value::as_str).ok_or(DpopError::MissingClaim(name))
}

/// RFC 9449 §4.3 compares htu without query and fragment, after RFC 3986
/// syntax-based normalisation. We apply the parts that matter in practice: scheme
/// and host are case-insensitive, the default port is the same as no port, and an
/// empty path is "/". The path itself stays case-sensitive.
fn normalize_htu(uri: &str) -> String {
    let without_fragment = uri.split('#').next().unwrap_or_default();
    let base = without_fragment.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_string();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    if let Some(port) = default_port {
        if let Some(stripped) = authority.strip_suffix(port) {
            authority = stripped.to_string();
        }
    }
    format!("{scheme}://{authority}{path}")
}

fn value_preview(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    }
}

/// Error messages echo attacker-controlled text; keep it short.
fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::normalize_htu;

    #[test]
    fn htu_normalisation() {
        let base = normalize_htu("https://varco.example/token.oauth2");
        assert_eq!(normalize_htu("HTTPS://Varco.Example:443/token.oauth2?x=1#f"), base);
        assert_ne!(normalize_htu("https://varco.example/Token.oauth2"), base);
        assert_ne!(normalize_htu("https://varco.example:8443/token.oauth2"), base);
        assert_eq!(normalize_htu("https://varco.example"), normalize_htu("https://varco.example/"));
    }
}
