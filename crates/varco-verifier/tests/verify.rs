use serde_json::{json, Value};
use varco_jose::{encode_rs256, RsaPrivateKey};
use varco_verifier::{Expectations, Verifier, VerifyError};

const NOW: i64 = 1_800_000_000;

fn voucher(key: &RsaPrivateKey, header: Value, claims: Value) -> String {
    encode_rs256(&header, &claims, key)
}

fn setup() -> (RsaPrivateKey, Verifier, Value, Value) {
    let key = RsaPrivateKey::generate_2048();
    let jwks = json!({ "keys": [key.public_key().jwk()] });
    let expect = Expectations::new("uat.interop.example", "https://api.send.example", "pagopa").for_eservice("es-1");
    let v = Verifier::from_jwks(&jwks, expect).unwrap();
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid().to_string(), "use": "sig"});
    let claims = json!({
        "iss": "uat.interop.example", "aud": "https://other.example,https://api.send.example",
        "exp": NOW + 60, "nbf": NOW - 1, "iat": NOW - 1, "eserviceId": "es-1", "purposeId": "p",
        "producerId": "pagopa"
    });
    (key, v, header, claims)
}

#[test]
fn a_good_voucher_verifies_and_gives_its_claims() {
    let (key, v, h, c) = setup();
    let claims = v.verify(&voucher(&key, h, c), NOW).unwrap();
    assert_eq!(claims["purposeId"], "p");
}

#[test]
fn each_failed_check_has_its_error() {
    let (key, v, h, c) = setup();
    let with = |path: &str, val: Value, in_header: bool| {
        let (mut h, mut c) = (h.clone(), c.clone());
        if in_header {
            h[path] = val
        } else {
            c[path] = val
        }
        voucher(&key, h, c)
    };
    assert!(matches!(v.verify(&with("typ", json!("JWT"), true), NOW), Err(VerifyError::WrongType(_))));
    assert!(matches!(v.verify(&with("alg", json!("RS512"), true), NOW), Err(VerifyError::WrongAlg(_))));
    assert!(matches!(v.verify(&with("kid", json!("nope"), true), NOW), Err(VerifyError::UnknownKid(_))));
    assert!(matches!(v.verify(&with("iss", json!("evil"), false), NOW), Err(VerifyError::WrongIssuer { .. })));
    assert!(matches!(
        v.verify(&with("aud", json!("https://api.send"), false), NOW),
        Err(VerifyError::WrongAudience { .. })
    ));
    assert!(matches!(v.verify(&with("exp", json!(NOW), false), NOW), Err(VerifyError::Expired { .. })));
    assert!(matches!(v.verify(&with("nbf", json!(NOW + 5), false), NOW), Err(VerifyError::NotYetValid { .. })));
    assert!(matches!(v.verify(&with("eserviceId", json!("es-2"), false), NOW), Err(VerifyError::ClaimMismatch { .. })));
    // Another producer's voucher with the same audience: refused by default.
    assert!(matches!(
        v.verify(&with("producerId", json!("comune-di-prova"), false), NOW),
        Err(VerifyError::ClaimMismatch { claim: "producerId", .. })
    ));
    let mut no_producer = c.clone();
    no_producer.as_object_mut().unwrap().remove("producerId");
    assert!(matches!(
        v.verify(&voucher(&key, h.clone(), no_producer), NOW),
        Err(VerifyError::ClaimMismatch { claim: "producerId", .. })
    ));
    // Signed by another key under the same kid.
    let other = RsaPrivateKey::generate_2048();
    assert_eq!(v.verify(&voucher(&other, h.clone(), c.clone()), NOW), Err(VerifyError::BadSignature));
    assert!(matches!(v.verify("not.a.jwt.at.all", NOW), Err(VerifyError::Malformed(_))));
}

#[test]
fn jwks_without_rsa_keys_is_refused() {
    let e = Verifier::from_jwks(&json!({"keys": []}), Expectations::new("i", "a", "p")).unwrap_err();
    assert!(matches!(e, VerifyError::BadJwks(_)));
    assert!(Verifier::from_jwks(&json!({"nokeys": 1}), Expectations::new("i", "a", "p")).is_err());
}
