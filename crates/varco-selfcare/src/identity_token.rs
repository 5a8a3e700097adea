//! SelfCare's short-lived identity token ("token exchange").
//!
//! When a user picks an environment on the "Interoperabilità" card, SelfCare issues
//! an RS256 token valid for a few seconds, carrying the session claims plus the
//! selected `organization` (with the user's *active* roles only) and `aud` set to
//! that environment's back-office audience. The back office verifies it with
//! [`verify`] against the keys SelfCare publishes at `/.well-known/jwks.json`
//! (see [`jwks`]) and exchanges it for its own session token.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use varco_jose::{encode_rs256, Compact, JwtFormatError, RsaPrivateKey, RsaPublicKey};

/// One role of the user on the organization, with SelfCare's wire names
/// (`partyRole`, `role`, `productId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleClaim {
    /// SelfCare party role, e.g. `MANAGER`, `DELEGATE`, `SUB_DELEGATE`, `OPERATOR`.
    #[serde(rename = "partyRole")]
    pub party_role: String,
    /// Product role, e.g. `admin`, `api`, `security`.
    pub role: String,
    /// Product the role belongs to, e.g. `prod-interop-coll`.
    #[serde(rename = "productId")]
    pub product_id: String,
}

/// The organization the user entered with, as serialised by SelfCare
/// (`id`, `name`, `fiscal_code`, `ipaCode`, `roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationClaim {
    pub id: String,
    pub name: String,
    pub fiscal_code: String,
    /// IPA code; `null` for organizations not in IPA (e.g. private entities).
    #[serde(rename = "ipaCode", default)]
    pub ipa_code: Option<String>,
    pub roles: Vec<RoleClaim>,
}

/// The user the token is issued for (the SelfCare session claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdentity {
    pub uid: String,
    pub fiscal_number: String,
    pub name: String,
    pub family_name: String,
}

/// Claims of a verified identity token.
///
/// `aud` is the audience the token was accepted for (the verifier's expected
/// audience), even when the token carried an array of audiences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityClaims {
    pub uid: String,
    pub fiscal_number: String,
    pub name: String,
    pub family_name: String,
    pub organization: OrganizationClaim,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// When the back office's own session should end (seconds since the epoch).
    pub desired_exp: i64,
}

/// Why an identity token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityTokenError {
    #[error("the identity token is not a well-formed JWT: {0}")]
    Malformed(#[from] JwtFormatError),
    #[error("the identity token uses algorithm {0:?}; only RS256 is accepted")]
    UnsupportedAlgorithm(String),
    #[error("the identity token header has no kid")]
    MissingKid,
    #[error("the identity token is signed with key {0:?}, which is not among SelfCare's published keys")]
    UnknownKid(String),
    #[error("the identity token signature is not valid")]
    BadSignature,
    #[error("the identity token has no {0} claim")]
    MissingClaim(&'static str),
    #[error("the identity token claim {claim} is invalid: {reason}")]
    InvalidClaim { claim: &'static str, reason: String },
    #[error("the identity token was issued by {found:?}, expected {expected:?}")]
    WrongIssuer { expected: String, found: String },
    #[error("the identity token is meant for audience {found}, not for {expected:?} (was it issued for another environment?)")]
    WrongAudience { expected: String, found: String },
    #[error("the identity token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the identity token was issued in the future (iat {iat}, now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the user has no active role on organization {organization_id}")]
    NoRoles { organization_id: String },
}

/// Issues an identity token for `user` entering `organization` in the environment
/// whose back office is `audience`.
///
/// `organization.roles` must contain only the user's **ACTIVE** roles (suspended or
/// deleted ones must be filtered out by the caller); a token without roles is
/// refused by [`verify`]. `lifetime_secs` is the token lifetime in seconds (a few
/// seconds, e.g. 30); `desired_exp` is when the back-office session should end.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    key: &RsaPrivateKey,
    issuer: &str,
    audience: &str,
    user: &UserIdentity,
    organization: OrganizationClaim,
    now: i64,
    lifetime_secs: i64,
    desired_exp: i64,
) -> String {
    let claims = IdentityClaims {
        uid: user.uid.clone(),
        fiscal_number: user.fiscal_number.clone(),
        name: user.name.clone(),
        family_name: user.family_name.clone(),
        organization,
        aud: audience.to_string(),
        iss: issuer.to_string(),
        iat: now,
        exp: now.saturating_add(lifetime_secs),
        jti: uuid::Uuid::new_v4().to_string(),
        desired_exp,
    };
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": key.kid().as_str() });
    let claims = serde_json::to_value(&claims).expect("identity claims serialise to JSON");
    encode_rs256(&header, &claims, key)
}

/// Verifies an identity token for the back office identified by `expected_audience`.
///
/// Checks, in order: JWT syntax, `alg` = RS256, `kid` among `keys`, signature,
/// `iss`, `aud` (string or array containing the expected audience), `exp > now -
/// leeway`, `iat <= now + leeway`, claim shapes, and at least one organization role.
/// A negative `leeway` is treated as 0.
pub fn verify(
    token: &str,
    keys: &[RsaPublicKey],
    expected_issuer: &str,
    expected_audience: &str,
    now: i64,
    leeway: i64,
) -> Result<IdentityClaims, IdentityTokenError> {
    let leeway = leeway.max(0);
    let jwt = Compact::parse(token)?;

    match jwt.header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(alg)) => return Err(IdentityTokenError::UnsupportedAlgorithm(alg.clone())),
        Some(other) => return Err(IdentityTokenError::UnsupportedAlgorithm(other.to_string())),
        None => return Err(IdentityTokenError::UnsupportedAlgorithm("(none)".to_string())),
    }
    let kid = match jwt.header.get("kid") {
        Some(Value::String(kid)) => kid.as_str(),
        _ => return Err(IdentityTokenError::MissingKid),
    };
    let key =
        keys.iter().find(|k| k.kid().as_str() == kid).ok_or_else(|| IdentityTokenError::UnknownKid(kid.to_string()))?;
    if !jwt.verify_rs256(key) {
        return Err(IdentityTokenError::BadSignature);
    }

    let payload = &jwt.payload;
    let iss = string_claim(payload, "iss")?;
    if iss != expected_issuer {
        return Err(IdentityTokenError::WrongIssuer { expected: expected_issuer.to_string(), found: iss.to_string() });
    }
    check_audience(payload, expected_audience)?;
    let exp = int_claim(payload, "exp")?;
    if exp <= now.saturating_sub(leeway) {
        return Err(IdentityTokenError::Expired { exp, now });
    }
    let iat = int_claim(payload, "iat")?;
    if iat > now.saturating_add(leeway) {
        return Err(IdentityTokenError::IssuedInFuture { iat, now });
    }

    let mut normalised = payload.clone();
    normalised.insert("aud".to_string(), Value::String(expected_audience.to_string()));
    for claim in ["uid", "fiscal_number", "name", "family_name", "organization", "jti", "desired_exp"] {
        if !normalised.contains_key(claim) {
            return Err(IdentityTokenError::MissingClaim(claim));
        }
    }
    let claims: IdentityClaims = serde_json::from_value(Value::Object(normalised))
        .map_err(|e| IdentityTokenError::InvalidClaim { claim: "payload", reason: e.to_string() })?;
    if claims.organization.roles.is_empty() {
        return Err(IdentityTokenError::NoRoles { organization_id: claims.organization.id });
    }
    Ok(claims)
}

/// The JWKS document SelfCare publishes at `/.well-known/jwks.json`.
pub fn jwks(keys: &[RsaPublicKey]) -> Value {
    json!({ "keys": keys.iter().map(RsaPublicKey::jwk).collect::<Vec<_>>() })
}

fn string_claim<'a>(payload: &'a Map<String, Value>, claim: &'static str) -> Result<&'a str, IdentityTokenError> {
    match payload.get(claim) {
        None | Some(Value::Null) => Err(IdentityTokenError::MissingClaim(claim)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(IdentityTokenError::InvalidClaim { claim, reason: "not a string".to_string() }),
    }
}

fn int_claim(payload: &Map<String, Value>, claim: &'static str) -> Result<i64, IdentityTokenError> {
    match payload.get(claim) {
        None | Some(Value::Null) => Err(IdentityTokenError::MissingClaim(claim)),
        Some(v) => v.as_i64().ok_or_else(|| IdentityTokenError::InvalidClaim {
            claim,
            reason: "not an integer number of seconds".to_string(),
        }),
    }
}

fn check_audience(payload: &Map<String, Value>, expected: &str) -> Result<(), IdentityTokenError> {
    let ok = match payload.get("aud") {
        None | Some(Value::Null) => return Err(IdentityTokenError::MissingClaim("aud")),
        Some(Value::String(aud)) => aud == expected,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected)),
        Some(_) => {
            return Err(IdentityTokenError::InvalidClaim {
                claim: "aud",
                reason: "not a string or an array of strings".to_string(),
            })
        }
    };
    if ok {
        Ok(())
    } else {
        let found = payload.get("aud").map(Value::to_string).unwrap_or_default();
        Err(IdentityTokenError::WrongAudience { expected: expected.to_string(), found })
    }
}

/// The user's ACTIVE roles at `institution` on the product of `env`, as claims; empty
/// when there are none or the Ente is not onboarded on that product. What opens an
/// environment is decided here, for the card, the choice and the token alike.
pub fn active_roles(
    institution: &crate::model::Institution,
    roles: &[crate::service::RoleRecord],
    env: varco_domain::Env,
) -> Vec<RoleClaim> {
    use crate::model::{ProductId, RoleStatus};
    let product = ProductId::of_env(env);
    if !institution.is_active_on(product) {
        return vec![];
    }
    roles
        .iter()
        .filter(|r| r.role.product == product && r.role.status == RoleStatus::Active)
        .map(|r| RoleClaim {
            party_role: crate::model::wire_name(&r.role.party_role),
            role: r.role.product_role.as_str().into(),
            product_id: product.as_str().into(),
        })
        .collect()
}

/// The identity token that opens `env`'s back office (`audience`) for `user` at
/// `institution`, with the roles of [`active_roles`]; `None` when there are none.
#[allow(clippy::too_many_arguments)]
pub fn for_environment(
    key: &RsaPrivateKey,
    issuer: &str,
    audience: &str,
    user: &UserIdentity,
    institution: &crate::model::Institution,
    roles: &[crate::service::RoleRecord],
    env: varco_domain::Env,
    now: i64,
    lifetime_secs: i64,
    desired_exp: i64,
) -> Option<String> {
    let active = active_roles(institution, roles, env);
    if active.is_empty() {
        return None;
    }
    let organization = OrganizationClaim {
        id: institution.id.to_string(),
        name: institution.name.clone(),
        fiscal_code: institution.tax_code.clone(),
        ipa_code: (institution.origin == crate::model::Origin::Ipa).then(|| institution.origin_id.clone()),
        roles: active,
    };
    Some(issue(key, issuer, audience, user, organization, now, lifetime_secs, desired_exp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use varco_jose::b64url_encode;

    const ISS: &str = "https://selfcare.varco.test";
    const AUD_COLL: &str = "uat.interop.varco.test/ui";
    const AUD_PROD: &str = "interop.varco.test/ui";
    const NOW: i64 = 1_700_000_000;

    fn key() -> &'static RsaPrivateKey {
        static K: OnceLock<RsaPrivateKey> = OnceLock::new();
        K.get_or_init(RsaPrivateKey::generate_2048)
    }

    fn other_key() -> &'static RsaPrivateKey {
        static K: OnceLock<RsaPrivateKey> = OnceLock::new();
        K.get_or_init(RsaPrivateKey::generate_2048)
    }

    fn user() -> UserIdentity {
        UserIdentity {
            uid: "8f0c2b4e-1111-4222-8333-944455556666".into(),
            fiscal_number: "RSSMRA80A01H501U".into(),
            name: "Mario".into(),
            family_name: "Rossi".into(),
        }
    }

    fn org(roles: Vec<RoleClaim>) -> OrganizationClaim {
        OrganizationClaim {
            id: "c9a1e0f2-0000-4000-8000-000000000001".into(),
            name: "Comune di Prova".into(),
            fiscal_code: "00000000001".into(),
            ipa_code: Some("c_x000".into()),
            roles,
        }
    }

    fn admin(product: &str) -> RoleClaim {
        RoleClaim { party_role: "MANAGER".into(), role: "admin".into(), product_id: product.into() }
    }

    fn token_for(aud: &str) -> String {
        issue(key(), ISS, aud, &user(), org(vec![admin("prod-interop-coll")]), NOW, 30, NOW + 9 * 3600)
    }

    fn pubkeys() -> Vec<RsaPublicKey> {
        vec![key().public_key()]
    }

    fn check(token: &str, aud: &str, now: i64) -> Result<IdentityClaims, IdentityTokenError> {
        verify(token, &pubkeys(), ISS, aud, now, 5)
    }

    /// Re-signs arbitrary header/claims with `signer`.
    fn forge(header: Value, claims: Value, signer: &RsaPrivateKey) -> String {
        encode_rs256(&header, &claims, signer)
    }

    fn payload_of(token: &str) -> Map<String, Value> {
        Compact::parse(token).unwrap().payload
    }

    #[test]
    fn round_trip() {
        let token = token_for(AUD_COLL);
        let jwt = Compact::parse(&token).unwrap();
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(jwt.header["typ"], "JWT");
        assert_eq!(jwt.header["kid"], key().kid().as_str());
        let p = &jwt.payload;
        assert_eq!(p["organization"]["ipaCode"], "c_x000");
        assert_eq!(p["organization"]["fiscal_code"], "00000000001");
        assert_eq!(p["organization"]["roles"][0]["partyRole"], "MANAGER");
        assert_eq!(p["organization"]["roles"][0]["productId"], "prod-interop-coll");
        assert_eq!(p["exp"], NOW + 30);

        let claims = check(&token, AUD_COLL, NOW + 10).unwrap();
        assert_eq!(claims.uid, user().uid);
        assert_eq!(claims.fiscal_number, "RSSMRA80A01H501U");
        assert_eq!(claims.family_name, "Rossi");
        assert_eq!(claims.organization, org(vec![admin("prod-interop-coll")]));
        assert_eq!(claims.aud, AUD_COLL);
        assert_eq!(claims.iss, ISS);
        assert_eq!((claims.iat, claims.exp, claims.desired_exp), (NOW, NOW + 30, NOW + 9 * 3600));
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
        assert_ne!(claims.jti, check(&token_for(AUD_COLL), AUD_COLL, NOW).unwrap().jti);
    }

    #[test]
    fn audience_array_is_accepted() {
        let mut p = payload_of(&token_for(AUD_COLL));
        p.insert("aud".into(), json!(["other", AUD_COLL]));
        let token = forge(json!({"alg": "RS256", "kid": key().kid().as_str()}), Value::Object(p), key());
        assert_eq!(check(&token, AUD_COLL, NOW).unwrap().aud, AUD_COLL);
        assert!(matches!(check(&token, AUD_PROD, NOW), Err(IdentityTokenError::WrongAudience { .. })));
    }

    #[test]
    fn null_ipa_code_is_accepted() {
        let mut o = org(vec![admin("prod-interop")]);
        o.ipa_code = None;
        let token = issue(key(), ISS, AUD_PROD, &user(), o, NOW, 30, NOW + 60);
        assert_eq!(check(&token, AUD_PROD, NOW).unwrap().organization.ipa_code, None);
    }

    #[test]
    fn collaudo_token_refused_by_produzione() {
        let err = check(&token_for(AUD_COLL), AUD_PROD, NOW).unwrap_err();
        assert!(matches!(&err, IdentityTokenError::WrongAudience { expected, .. } if expected == AUD_PROD));
        assert!(err.to_string().contains("another environment"));
    }

    #[test]
    fn wrong_issuer() {
        let err = verify(&token_for(AUD_COLL), &pubkeys(), "https://evil.test", AUD_COLL, NOW, 5).unwrap_err();
        assert!(matches!(err, IdentityTokenError::WrongIssuer { .. }));
    }

    #[test]
    fn expired() {
        let token = token_for(AUD_COLL);
        assert!(check(&token, AUD_COLL, NOW + 34).is_ok(), "within leeway");
        let err = check(&token, AUD_COLL, NOW + 35).unwrap_err();
        assert_eq!(err, IdentityTokenError::Expired { exp: NOW + 30, now: NOW + 35 });
    }

    #[test]
    fn future_iat() {
        let token = token_for(AUD_COLL);
        assert!(check(&token, AUD_COLL, NOW - 5).is_ok(), "within leeway");
        let err = check(&token, AUD_COLL, NOW - 6).unwrap_err();
        assert_eq!(err, IdentityTokenError::IssuedInFuture { iat: NOW, now: NOW - 6 });
    }

    #[test]
    fn tampered_payload() {
        let token = token_for(AUD_COLL);
        let parts: Vec<&str> = token.split('.').collect();
        let mut p = payload_of(&token);
        p.insert("fiscal_number".into(), json!("BNCLGU80A01H501X"));
        let forged = format!("{}.{}.{}", parts[0], b64url_encode(Value::Object(p).to_string().as_bytes()), parts[2]);
        assert_eq!(check(&forged, AUD_COLL, NOW).unwrap_err(), IdentityTokenError::BadSignature);
    }

    #[test]
    fn unknown_kid() {
        let token = issue(other_key(), ISS, AUD_COLL, &user(), org(vec![admin("x")]), NOW, 30, NOW);
        assert!(matches!(check(&token, AUD_COLL, NOW), Err(IdentityTokenError::UnknownKid(_))));
        let no_kid = forge(json!({"alg": "RS256"}), Value::Object(payload_of(&token)), key());
        assert_eq!(check(&no_kid, AUD_COLL, NOW).unwrap_err(), IdentityTokenError::MissingKid);
    }

    #[test]
    fn signed_by_other_key_with_our_kid() {
        let p = payload_of(&token_for(AUD_COLL));
        let token = forge(json!({"alg": "RS256", "kid": key().kid().as_str()}), Value::Object(p), other_key());
        assert_eq!(check(&token, AUD_COLL, NOW).unwrap_err(), IdentityTokenError::BadSignature);
    }

    #[test]
    fn alg_none_and_hs256_refused() {
        let token = token_for(AUD_COLL);
        let parts: Vec<&str> = token.split('.').collect();
        for alg in ["none", "HS256"] {
            let h = json!({"alg": alg, "typ": "JWT", "kid": key().kid().as_str()});
            let forged = format!("{}.{}.{}", b64url_encode(h.to_string().as_bytes()), parts[1], parts[2]);
            assert_eq!(
                check(&forged, AUD_COLL, NOW).unwrap_err(),
                IdentityTokenError::UnsupportedAlgorithm(alg.to_string())
            );
            let unsigned = format!("{}.{}.", b64url_encode(h.to_string().as_bytes()), parts[1]);
            assert!(matches!(check(&unsigned, AUD_COLL, NOW), Err(IdentityTokenError::UnsupportedAlgorithm(_))));
        }
    }

    #[test]
    fn no_roles() {
        let token = issue(key(), ISS, AUD_COLL, &user(), org(vec![]), NOW, 30, NOW + 60);
        let err = check(&token, AUD_COLL, NOW).unwrap_err();
        assert!(matches!(err, IdentityTokenError::NoRoles { .. }));
        assert!(err.to_string().contains("no active role"));
    }

    #[test]
    fn missing_claim() {
        let mut p = payload_of(&token_for(AUD_COLL));
        p.remove("desired_exp");
        let token = forge(json!({"alg": "RS256", "kid": key().kid().as_str()}), Value::Object(p), key());
        assert_eq!(check(&token, AUD_COLL, NOW).unwrap_err(), IdentityTokenError::MissingClaim("desired_exp"));
    }

    #[test]
    fn jwks_lists_public_keys() {
        let set = jwks(&[key().public_key(), other_key().public_key()]);
        let keys = set["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], key().kid().as_str());
        assert_eq!(keys[0]["alg"], "RS256");
        assert!(keys.iter().all(|k| k.get("d").is_none()));
    }
}
