//! Verifying vouchers, as a producer (e.g. SEND) does: header `typ` `at+jwt`, RS256
//! signature with the JWKS key named by `kid`, issuer, audience, expiry, and
//! optionally the e-service, version and producer the voucher is for.
//!
//! Works with PDND's vouchers and Varco's alike; keys are parsed once, when the
//! verifier is built from the JWKS.
use serde_json::{Map, Value};
use std::collections::HashMap;
use varco_jose::{b64url_decode, Compact, RsaPublicKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWS: {0}")]
    Malformed(String),
    #[error("header typ is {0:?}, expected \"at+jwt\"")]
    WrongType(Option<String>),
    #[error("alg is {0:?}, only RS256 is accepted")]
    WrongAlg(Option<String>),
    #[error("no key {0:?} in the JWKS")]
    UnknownKid(Option<String>),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("iss is {found:?}, expected {expected:?}")]
    WrongIssuer { expected: String, found: Option<String> },
    #[error("aud {found:?} does not include {expected:?}")]
    WrongAudience { expected: String, found: Option<String> },
    #[error("the voucher expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the voucher is not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("claim {claim} is {found:?}, expected {expected:?}")]
    ClaimMismatch { claim: &'static str, expected: String, found: Option<String> },
    #[error("JWKS unusable: {0}")]
    BadJwks(String),
}

/// What to check besides signature and time.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub issuer: String,
    /// The producer's audience (one of the voucher's comma-separated `aud`).
    pub audience: String,
    pub eservice_id: Option<String>,
    pub descriptor_id: Option<String>,
    /// The producer the voucher must be for: always set by `new`. An audience is
    /// only a string a producer chose; the platform signs vouchers for any
    /// e-service, so the producer is what proves the voucher is for you.
    pub producer_id: Option<String>,
    /// Seconds of clock tolerance on exp/nbf.
    pub leeway: i64,
}

impl Expectations {
    /// A producer's expectations: vouchers of `issuer`, for `audience`, for an
    /// e-service of `producer_id` (the producer's tenant id on the platform). Add
    /// `eservice_id` (and `descriptor_id`) to accept one e-service only.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, producer_id: impl Into<String>) -> Self {
        Expectations {
            issuer: issuer.into(),
            audience: audience.into(),
            eservice_id: None,
            descriptor_id: None,
            producer_id: Some(producer_id.into()),
            leeway: 0,
        }
    }

    /// The platform's own API (M2M) vouchers, which name no producer: only for the
    /// platform itself, whose audience nobody else can publish.
    pub fn platform_api(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Expectations {
            issuer: issuer.into(),
            audience: audience.into(),
            eservice_id: None,
            descriptor_id: None,
            producer_id: None,
            leeway: 0,
        }
    }

    /// Only vouchers for this e-service.
    pub fn for_eservice(mut self, eservice_id: impl Into<String>) -> Self {
        self.eservice_id = Some(eservice_id.into());
        self
    }
}

/// A verifier holding the parsed keys of one JWKS.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: HashMap<String, RsaPublicKey>,
    expect: Expectations,
}

/// An RSA JWK as SPKI DER, so that it can go through the same parser as uploads.
fn jwk_to_key(jwk: &Map<String, Value>) -> Result<RsaPublicKey, String> {
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("member {name} missing"))
            .and_then(|s| b64url_decode(s).map_err(|e| format!("{name}: {e}")))
    };
    let (n, e) = (field("n")?, field("e")?);
    RsaPublicKey::from_components(&n, &e).map_err(|e| e.to_string())
}

impl Verifier {
    /// Builds a verifier from a JWKS document (`{"keys": [...]}`); non-RSA or
    /// non-signature keys are skipped.
    pub fn from_jwks(jwks: &Value, expect: Expectations) -> Result<Verifier, VerifyError> {
        let list =
            jwks.get("keys").and_then(Value::as_array).ok_or_else(|| VerifyError::BadJwks("no keys array".into()))?;
        let mut keys = HashMap::new();
        for k in list {
            let Some(m) = k.as_object() else { continue };
            if m.get("kty").and_then(Value::as_str) != Some("RSA") {
                continue;
            }
            if m.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
                continue;
            }
            let Some(kid) = m.get("kid").and_then(Value::as_str) else { continue };
            let key = jwk_to_key(m).map_err(|e| VerifyError::BadJwks(format!("key {kid}: {e}")))?;
            keys.insert(kid.to_string(), key);
        }
        if keys.is_empty() {
            return Err(VerifyError::BadJwks("no RSA signature key".into()));
        }
        Ok(Verifier { keys, expect })
    }

    /// Builds a verifier from already parsed keys (e.g. the platform's own).
    pub fn from_keys(keys: impl IntoIterator<Item = RsaPublicKey>, expect: Expectations) -> Verifier {
        Verifier { keys: keys.into_iter().map(|k| (k.kid().to_string(), k)).collect(), expect }
    }

    /// Checks a voucher at `now` (unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Map<String, Value>, VerifyError> {
        let jwt = Compact::parse(token).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        let hs = |name: &str| jwt.header.get(name).and_then(Value::as_str).map(String::from);
        if hs("typ").as_deref() != Some("at+jwt") {
            return Err(VerifyError::WrongType(hs("typ")));
        }
        if hs("alg").as_deref() != Some("RS256") {
            return Err(VerifyError::WrongAlg(hs("alg")));
        }
        let kid = hs("kid");
        let key = kid.as_deref().and_then(|k| self.keys.get(k)).ok_or(VerifyError::UnknownKid(kid.clone()))?;
        if !jwt.verify_rs256(key) {
            return Err(VerifyError::BadSignature);
        }
        let c = jwt.payload;
        let cs = |name: &str| c.get(name).and_then(Value::as_str).map(String::from);
        let ci = |name: &str| c.get(name).and_then(Value::as_i64);
        if cs("iss").as_deref() != Some(self.expect.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer { expected: self.expect.issuer.clone(), found: cs("iss") });
        }
        // PDND joins several audiences with "," into one string.
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => a.split(',').any(|x| x.trim() == self.expect.audience),
            Some(Value::Array(list)) => list.iter().any(|x| x.as_str() == Some(self.expect.audience.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(VerifyError::WrongAudience {
                expected: self.expect.audience.clone(),
                found: c.get("aud").map(|a| a.to_string()),
            });
        }
        let exp = ci("exp").ok_or(VerifyError::Expired { exp: 0, now })?;
        if exp + self.expect.leeway <= now {
            return Err(VerifyError::Expired { exp, now });
        }
        if let Some(nbf) = ci("nbf") {
            if nbf - self.expect.leeway > now {
                return Err(VerifyError::NotYetValid { nbf, now });
            }
        }
        for (claim, expected) in [
            ("eserviceId", &self.expect.eservice_id),
            ("descriptorId", &self.expect.descriptor_id),
            ("producerId", &self.expect.producer_id),
        ] {
            if let Some(e) = expected {
                if cs(claim).as_deref() != Some(e.as_str()) {
                    return Err(VerifyError::ClaimMismatch { claim, expected: e.clone(), found: cs(claim) });
                }
            }
        }
        Ok(c)
    }
}
