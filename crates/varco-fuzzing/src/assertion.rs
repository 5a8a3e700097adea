//! Target `client_assertion`: the checks of a token request (`check_steps` in both
//! of its modes, and `check_assertion`) against the fixed world.
//!
//! Input: one flag byte, then the assertion.
//! - bit 0: signed mode. The rest is `header NUL claims` (or only claims, with the
//!   usual header `{"alg":"RS256","kid":<the world's kid>,"typ":"JWT"}`), encoded and
//!   signed with the world's RSA key, so the signature passes and the state checks
//!   are reached. Otherwise the rest is the assertion as sent.
//! - bits 1-2: the form's `client_id`: none, the client e-service's, the client
//!   API's, or a value that is not a UUID.
//! - bit 3: hardened mode.
use serde_json::Value;
use varco_domain::{ClientId, TenantId};
use varco_token::checks::{check_assertion, check_steps, Request, TokenForm};
use varco_token::{Accepted, Grant, Hardened, Step, Steps};

use crate::world::{world, API_CLIENT, AUDIENCE, CONSUMER_CLIENT, NOW, OTHER_TENANT, TENANT};
use crate::{assert_message, compact, split_header, split_mode};

const HARDENED: Hardened = Hardened { max_lifetime_secs: 300, clock_skew_secs: 5 };

pub fn client_assertion(data: &[u8]) {
    let (mode, rest) = split_mode(data);
    let assertion = if mode & 1 == 1 {
        let w = world();
        let (header, claims) = split_header(rest);
        let default_header;
        let header = match header {
            Some(h) => h,
            None => {
                default_header = serde_json::json!({"alg": "RS256", "kid": w.kid(), "typ": "JWT"}).to_string();
                default_header.as_bytes()
            }
        };
        compact(header, claims, |input| w.sign_rs256(input))
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    let client_id = match (mode >> 1) & 3 {
        0 => None,
        1 => Some(Ok(CONSUMER_CLIENT)),
        2 => Some(Ok(API_CLIENT)),
        _ => Some(Err("not-a-uuid")),
    };
    let hardened = (mode & 8 == 8).then_some(HARDENED);
    check(&assertion, client_id, hardened);
}

/// Runs the checks every way they can be run on one request and compares the
/// answers. Also used by `token_form` on the forms it parses.
pub(crate) fn check(assertion: &str, client_id: Option<Result<ClientId, &str>>, hardened: Option<Hardened>) {
    let w = world();
    let req = Request { client_assertion: assertion, client_id };
    let run =
        |owner: Option<TenantId>, collect: bool| check_steps(&req, AUDIENCE, &w.view, NOW, hardened, owner, collect);
    let endpoint = run(None, false);
    let debug = run(None, true);

    // The endpoint's mode: exactly one of "accepted" and "one reason".
    let findings: Vec<_> = endpoint.ran.iter().flat_map(|(_, f)| f).collect();
    match &endpoint.accepted {
        Some(_) => assert!(findings.is_empty(), "accepted with findings: {findings:?}"),
        None => assert_eq!(findings.len(), 1, "refused with {} findings (want exactly 1)", findings.len()),
    }
    check_shape(&endpoint);
    check_shape(&debug);
    let is_jws = varco_jose::Compact::parse(assertion).is_ok();
    assert_eq!(endpoint.header.is_some(), is_jws, "header shown for a token that is not a JWS, or not for one that is");
    assert_eq!(endpoint.payload.is_some(), is_jws);

    // The debug tool decides as the endpoint does: same first failure, same outcome.
    assert_eq!(endpoint.first(), debug.first(), "the debug tool's first failure differs from the endpoint's");
    assert_eq!(endpoint.accepted.is_some(), debug.accepted.is_some(), "the debug tool decides otherwise");

    // `check_assertion` (the token endpoint's entry) says the same.
    if let Some(form_id) = form_client_id(client_id) {
        let form = TokenForm { client_assertion: assertion.to_string(), client_id: form_id };
        let direct = check_assertion(&form, AUDIENCE, &w.view, NOW, hardened);
        match (&direct, &endpoint.accepted, endpoint.first()) {
            (Ok(a), Some(b), None) => assert_eq!(a.kid, b.kid),
            (Err(r), None, Some(f)) => assert_eq!(r, &f.refusal()),
            _ => panic!("check_assertion {direct:?} disagrees with check_steps"),
        }
    }

    // Every client of the world is TENANT's: restricting to it changes nothing, and
    // restricting to another organisation never accepts.
    let own = run(Some(TENANT), false);
    assert_eq!(own.first(), endpoint.first(), "restricting to the owner changed the answer");
    let other = run(Some(OTHER_TENANT), true);
    assert!(other.accepted.is_none(), "another organisation's client was accepted");

    if let Some(accepted) = &endpoint.accepted {
        check_accepted(assertion, accepted, client_id, hardened);
    }
}

/// The form's client_id as a TokenForm holds it: None for a value that is not a
/// UUID, which `parse_form` refuses before the assertion is looked at.
fn form_client_id(client_id: Option<Result<ClientId, &str>>) -> Option<Option<ClientId>> {
    match client_id {
        None => Some(None),
        Some(Ok(id)) => Some(Some(id)),
        Some(Err(_)) => None,
    }
}

/// Steps run in the contract's order, the DPoP step never (no proof is given), only
/// the last step that ran may have failed, and every failure explains itself.
fn check_shape(steps: &Steps) {
    let order: Vec<Step> = steps.ran.iter().map(|(s, _)| *s).collect();
    assert_eq!(order[..], Step::ALL[..order.len()], "steps out of order: {order:?}");
    assert!(!order.contains(&Step::Dpop), "the DPoP step ran without a proof");
    assert!(!order.is_empty(), "no step ran");
    for (i, (step, found)) in steps.ran.iter().enumerate() {
        if i + 1 < steps.ran.len() {
            assert!(found.is_empty(), "step {step:?} failed yet the next one ran");
        }
        for f in found {
            assert_message("detail", &f.detail);
            assert_message("italian", &f.italian);
        }
    }
    if steps.accepted.is_some() {
        assert_eq!(order.len(), 4, "accepted before the state step ran");
    }
}

/// An accepted request is what the contract says, checked here from the raw token
/// with the key looked up independently of the checker.
fn check_accepted(
    assertion: &str,
    a: &Accepted,
    client_id: Option<Result<ClientId, &str>>,
    hardened: Option<Hardened>,
) {
    let w = world();
    let jwt = varco_jose::Compact::parse(assertion).expect("an accepted assertion is a JWS");
    assert_eq!(jwt.header.get("kid").and_then(Value::as_str), Some(a.kid.as_str()));
    let client = w.view.clients.get(&a.client_id).expect("accepted for a client of the view");
    let key = client.keys.get(&a.kid).expect("accepted with a key of the client");
    assert!(jwt.verify_rs256(key), "accepted an assertion whose RS256 signature does not verify");
    let p = &jwt.payload;
    assert_eq!(p.get("sub").and_then(Value::as_str), Some(a.client_id.to_string().as_str()));
    if let Some(Ok(id)) = client_id {
        assert_eq!(id, a.client_id, "accepted for another client than the form's client_id");
    }
    assert!(matches!(p.get("iss"), Some(Value::String(s)) if !s.is_empty()), "accepted without iss");
    assert!(matches!(p.get("jti"), Some(Value::String(s)) if s == &a.assertion_jti && !s.is_empty()));
    let skew = hardened.map_or(0, |h| h.clock_skew_secs);
    assert!(a.assertion_exp + skew > NOW, "accepted an expired assertion (exp {})", a.assertion_exp);
    let aud_ok = match p.get("aud") {
        Some(Value::String(s)) => s == AUDIENCE,
        Some(Value::Array(l)) => l.iter().any(|v| v.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    assert!(aud_ok, "accepted with the wrong audience: {:?}", p.get("aud"));
    assert_eq!(a.organization_id, client.consumer_id);
    match &a.grant {
        Grant::Api { admin_id } => {
            assert!(!p.contains_key("purposeId"), "an API grant for an assertion with purposeId");
            assert_eq!(*admin_id, client.admin_id);
        }
        Grant::Consumer { purpose_id, agreement_id, descriptor_id, .. } => {
            assert!(client.purposes.contains(purpose_id), "a grant for a purpose of another client");
            let purpose = &w.view.purposes[purpose_id];
            assert!(purpose.active_version.is_some(), "a grant for a purpose with no active version");
            let agreement = &w.view.agreements[agreement_id];
            assert_eq!(agreement.state, varco_domain::AgreementState::Active, "a grant on an inactive agreement");
            let es = &w.view.eservices[&purpose.eservice_id];
            let d = es.descriptors.iter().find(|d| d.id == *descriptor_id).expect("the grant's descriptor exists");
            assert!(d.state.is_active(), "a grant on an inactive e-service version");
        }
    }
}
