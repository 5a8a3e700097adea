//! Compact JWS parsing, RS256 encoding and the client assertion builder.

use serde_json::json;
use varco_jose::{
    b64url_decode, b64url_encode, build_client_assertion, encode_rs256, AssertionParams, Compact, JwtFormatError,
    RsaPrivateKey, MAX_JWT_LEN,
};

fn key() -> RsaPrivateKey {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048_private_pkcs8.pem");
    RsaPrivateKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn seg(s: &str) -> String {
    b64url_encode(s.as_bytes())
}

#[test]
fn encode_then_parse_round_trips_and_verifies() {
    let key = key();
    let token = encode_rs256(&json!({"alg": "RS256", "typ": "JWT"}), &json!({"sub": "abc", "n": 1}), &key);
    let jws = Compact::parse(&token).unwrap();
    assert_eq!(jws.header["alg"], "RS256");
    assert_eq!(jws.payload["sub"], "abc");
    assert_eq!(jws.signing_input, token[..token.rfind('.').unwrap()]);
    assert!(jws.verify_rs256(&key.public_key()));
    assert!(!jws.verify_rs256(&RsaPrivateKey::generate_2048().public_key()));
}

#[test]
fn tampered_tokens_are_refused() {
    let key = key();
    let token = encode_rs256(&json!({"alg": "RS256"}), &json!({"sub": "abc"}), &key);
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], seg(r#"{"sub":"admin"}"#), parts[2]);
    assert!(!Compact::parse(&forged).unwrap().verify_rs256(&key.public_key()));

    let mut sig = b64url_decode(parts[2]).unwrap();
    sig[0] ^= 0x80;
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], b64url_encode(&sig));
    assert!(!Compact::parse(&bad_sig).unwrap().verify_rs256(&key.public_key()));

    // Same bytes, but the header claims another algorithm.
    let relabelled = encode_rs256(&json!({"alg": "PS256"}), &json!({"sub": "abc"}), &key);
    assert!(!Compact::parse(&relabelled).unwrap().verify_rs256(&key.public_key()));
}

#[test]
fn wrong_part_counts_are_refused() {
    let h = seg(r#"{"alg":"RS256"}"#);
    let p = seg("{}");
    assert_eq!(Compact::parse(&format!("{h}.{p}")), Err(JwtFormatError::WrongPartCount(2)));
    assert_eq!(Compact::parse(&format!("{h}.{p}.AA.AA")), Err(JwtFormatError::WrongPartCount(4)));
    assert_eq!(Compact::parse("abc"), Err(JwtFormatError::WrongPartCount(1)));
    assert_eq!(Compact::parse(""), Err(JwtFormatError::Empty));
}

#[test]
fn bad_base64_is_refused_per_part() {
    let h = seg(r#"{"alg":"RS256"}"#);
    let p = seg("{}");
    assert_eq!(Compact::parse(&format!("{h}=.{p}.AA")), Err(JwtFormatError::BadBase64 { part: "header" }));
    assert_eq!(Compact::parse(&format!("{h}.{p}+.AA")), Err(JwtFormatError::BadBase64 { part: "payload" }));
    assert_eq!(Compact::parse(&format!("{h}.{p}.A")), Err(JwtFormatError::BadBase64 { part: "signature" }));
}

#[test]
fn non_object_and_invalid_json_are_refused() {
    let obj = seg("{}");
    for (json, part) in [("[1,2]", "header"), ("\"x\"", "header"), ("42", "header"), ("null", "header")] {
        assert_eq!(Compact::parse(&format!("{}.{obj}.", seg(json))), Err(JwtFormatError::NotObject { part }));
    }
    assert_eq!(Compact::parse(&format!("{obj}.{}.", seg("[]"))), Err(JwtFormatError::NotObject { part: "payload" }));
    assert!(matches!(
        Compact::parse(&format!("{}.{obj}.", seg("{not json"))),
        Err(JwtFormatError::BadJson { part: "header", .. })
    ));
    assert!(matches!(Compact::parse(&format!("{obj}..")), Err(JwtFormatError::BadJson { part: "payload", .. })));
}

#[test]
fn oversized_tokens_are_refused() {
    let big = format!("{}.{}.", seg("{}"), "A".repeat(MAX_JWT_LEN));
    assert_eq!(Compact::parse(&big), Err(JwtFormatError::TooLong));
}

fn params() -> AssertionParams {
    AssertionParams {
        kid: key().kid().to_string(),
        client_id: "9b361d49-33f4-4f1e-a88b-4e12661f2309".into(),
        audience: "auth.interop.pagopa.it/client-assertion".into(),
        purpose_id: Some("1b361d49-33f4-4f1e-a88b-4e12661f2300".into()),
        digest: Some("a".repeat(64)),
        lifetime_secs: 600,
        iat: 1_700_000_000,
        jti: Some("fixed-jti".into()),
    }
}

#[test]
fn client_assertion_has_the_pdnd_shape() {
    let key = key();
    let p = params();
    let token = build_client_assertion(&p, &key);
    let jws = Compact::parse(&token).unwrap();
    assert!(jws.verify_rs256(&key.public_key()));
    assert_eq!(serde_json::Value::Object(jws.header.clone()), json!({"alg": "RS256", "kid": p.kid, "typ": "JWT"}));
    let c = &jws.payload;
    assert_eq!(c["iss"], p.client_id);
    assert_eq!(c["sub"], p.client_id);
    assert_eq!(c["aud"], p.audience);
    assert_eq!(c["jti"], "fixed-jti");
    assert_eq!(c["iat"], 1_700_000_000);
    assert_eq!(c["exp"], 1_700_000_600);
    assert_eq!(c["purposeId"], "1b361d49-33f4-4f1e-a88b-4e12661f2300");
    assert_eq!(c["digest"], json!({"alg": "SHA256", "value": "a".repeat(64)}));
}

#[test]
fn client_assertion_optional_claims() {
    let key = key();
    let p = AssertionParams { purpose_id: None, digest: None, jti: None, ..params() };
    let a = Compact::parse(&build_client_assertion(&p, &key)).unwrap();
    let b = Compact::parse(&build_client_assertion(&p, &key)).unwrap();
    assert!(!a.payload.contains_key("purposeId"));
    assert!(!a.payload.contains_key("digest"));
    let jti = a.payload["jti"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(jti).unwrap().get_version_num(), 4);
    assert_ne!(a.payload["jti"], b.payload["jti"], "each assertion gets a fresh jti");
}
