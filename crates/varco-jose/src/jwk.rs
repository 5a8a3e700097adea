//! JWK thumbprints (RFC 7638) and turning a JWK into a verifier.

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::b64::{b64url_decode, b64url_encode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThumbprintError {
    #[error("the JWK has no \"kty\" string")]
    MissingKty,
    #[error("JWK key type {0:?} is not supported (only RSA and EC)")]
    UnsupportedKty(String),
    #[error("the JWK member {0:?} is missing or not a string")]
    MissingMember(&'static str),
}

/// RFC 7638 SHA-256 thumbprint, base64url. Only the required members take part, in
/// lexicographic order, so extra members (kid, use, alg...) do not change it.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, ThumbprintError> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or(ThumbprintError::MissingKty)?;
    let members: &[&'static str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        other => return Err(ThumbprintError::UnsupportedKty(other.to_string())),
    };
    let mut canonical = String::from("{");
    for (i, &name) in members.iter().enumerate() {
        let value = jwk.get(name).and_then(Value::as_str).ok_or(ThumbprintError::MissingMember(name))?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json's string serialisation is the JSON escaping RFC 7638 asks for;
        // base64url values never need escaping, but crv could in principle.
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        canonical.push_str(&Value::String(value.to_string()).to_string());
    }
    canonical.push('}');
    Ok(b64url_encode(&Sha256::digest(canonical.as_bytes())))
}

/// Builds a verifier for `alg` ("RS256" or "ES256") from a public JWK.
/// Non-canonical encodings (leading zero bytes, short coordinates) are refused so
/// that a key has exactly one thumbprint.
pub(crate) fn verifier_from_jwk(alg: &str, jwk: &Map<String, Value>) -> Result<ParsedPublicKey, String> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or("jwk has no kty")?;
    let member = |name: &str| -> Result<Vec<u8>, String> {
        let s = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("jwk member {name:?} missing or not a string"))?;
        b64url_decode(s).map_err(|e| format!("jwk member {name:?}: {e}"))
    };
    match (alg, kty) {
        ("RS256", "RSA") => {
            let n = member("n")?;
            let e = member("e")?;
            if n.first() == Some(&0) || e.first() == Some(&0) || n.is_empty() || e.is_empty() {
                return Err("jwk n and e must be minimal big-endian integers".into());
            }
            let bits = n.len() * 8 - n[0].leading_zeros() as usize;
            if !(2048..=8192).contains(&bits) {
                return Err(format!("RSA key of {bits} bits (2048 to 8192 accepted)"));
            }
            RsaPublicKeyComponents { n: &n, e: &e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .map_err(|e| format!("RSA key rejected: {e}"))
        }
        ("ES256", "EC") => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("ES256 needs crv P-256".into());
            }
            let x = member("x")?;
            let y = member("y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes each".into());
            }
            // SEC1 uncompressed point; aws-lc checks it is on the curve.
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).map_err(|e| format!("EC key rejected: {e}"))
        }
        (alg, kty) => Err(format!("jwk kty {kty:?} does not match alg {alg}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn rfc7638_example() {
        // The worked example of RFC 7638 §3.1.
        let jwk = obj(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn missing_members_are_reported() {
        assert_eq!(jwk_thumbprint(&obj(json!({"n": "x"}))), Err(ThumbprintError::MissingKty));
        assert_eq!(
            jwk_thumbprint(&obj(json!({"kty": "EC", "crv": "P-256", "x": "a"}))),
            Err(ThumbprintError::MissingMember("y"))
        );
        assert_eq!(
            jwk_thumbprint(&obj(json!({"kty": "oct", "k": "a"}))),
            Err(ThumbprintError::UnsupportedKty("oct".into()))
        );
    }
}
