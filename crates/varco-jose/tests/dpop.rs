//! DPoP proof verification (RFC 9449).

use serde_json::{json, Value};
use varco_jose::{
    b64url_decode, b64url_encode, build_dpop_proof, encode_rs256, verify_dpop_proof, DpopError, DpopProof,
    JwtFormatError, RsaPrivateKey,
};

const HTU: &str = "https://varco.example/token.oauth2";
const NOW: i64 = 1_700_000_000;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")).trim().to_string()
}

fn key() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(&fixture("rsa2048_private_pkcs8.pem")).unwrap()
}

fn public_jwk(key: &RsaPrivateKey) -> Value {
    let p = key.public_key();
    json!({"kty": "RSA", "n": p.n_b64(), "e": p.e_b64()})
}

/// A proof with an arbitrary header and claims, signed by `key`.
fn custom(key: &RsaPrivateKey, header: Value, claims: Value) -> String {
    encode_rs256(&header, &claims, key)
}

fn good_header(key: &RsaPrivateKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": public_jwk(key)})
}

fn good_claims() -> Value {
    json!({"jti": "j1", "htm": "POST", "htu": HTU, "iat": NOW})
}

fn verify(proof: &str) -> Result<DpopProof, DpopError> {
    verify_dpop_proof(proof, "POST", HTU, NOW, None)
}

#[test]
fn own_rs256_proof_is_accepted_with_the_key_thumbprint() {
    let key = key();
    let proof = build_dpop_proof(&key, "POST", HTU, NOW, "jti-1", None);
    let ok = verify(&proof).unwrap();
    assert_eq!(ok, DpopProof { jkt: key.kid().to_string(), jti: "jti-1".into(), iat: NOW });
    // The thumbprint hard-coded in keys.rs, computed with openssl + python.
    assert_eq!(ok.jkt, "_Oesfaxf1VyUJVQde7RakYcisfmWaVj4p7MdDHj7d-k");
}

#[test]
fn python_made_rs256_proof_is_accepted() {
    // Signed by python `cryptography` (data/make_dpop_fixtures.py), not by this crate.
    let ok = verify_dpop_proof(&fixture("dpop_rs256.jwt"), "POST", HTU, NOW, None).unwrap();
    assert_eq!(ok.jkt, "_Oesfaxf1VyUJVQde7RakYcisfmWaVj4p7MdDHj7d-k");
    assert_eq!(ok.jti, "rs256-fixture-1");
}

#[test]
fn python_made_es256_proof_is_accepted() {
    // jkt printed by data/make_dpop_fixtures.py (hashlib over the canonical EC JWK).
    let proof = fixture("dpop_es256.jwt");
    let ok = verify_dpop_proof(&proof, "POST", HTU, NOW, Some("fixture-access-token")).unwrap();
    assert_eq!(ok.jkt, "TYpSitw2eggJf1E1uddTPH21Wd8so6KCRVU_qDriPOo");
    assert_eq!(ok.jti, "es256-fixture-1");
    assert_eq!(ok.iat, NOW);
    assert_eq!(verify_dpop_proof(&proof, "POST", HTU, NOW, Some("another-token")), Err(DpopError::AthMismatch));
}

#[test]
fn tampered_es256_proof_is_refused() {
    let proof = fixture("dpop_es256.jwt");
    let (rest, sig) = proof.rsplit_once('.').unwrap();
    let mut sig = b64url_decode(sig).unwrap();
    sig[5] ^= 1;
    let bad = format!("{rest}.{}", b64url_encode(&sig));
    assert_eq!(verify_dpop_proof(&bad, "POST", HTU, NOW, None), Err(DpopError::BadSignature));
    // A DER-encoded or truncated ECDSA signature is not the fixed 64-byte form.
    let short = format!("{rest}.{}", b64url_encode(&sig[..63]));
    assert_eq!(verify_dpop_proof(&short, "POST", HTU, NOW, None), Err(DpopError::BadSignature));
}

#[test]
fn access_token_binding() {
    let key = key();
    let with_ath = build_dpop_proof(&key, "GET", "https://api.example/r", NOW, "j", Some("tok"));
    assert!(verify_dpop_proof(&with_ath, "GET", "https://api.example/r", NOW, Some("tok")).is_ok());
    assert_eq!(
        verify_dpop_proof(&with_ath, "GET", "https://api.example/r", NOW, Some("tok2")),
        Err(DpopError::AthMismatch)
    );
    let without = build_dpop_proof(&key, "GET", "https://api.example/r", NOW, "j", None);
    assert_eq!(
        verify_dpop_proof(&without, "GET", "https://api.example/r", NOW, Some("tok")),
        Err(DpopError::MissingClaim("ath"))
    );
}

#[test]
fn typ_is_required_and_exact() {
    let key = key();
    let mut h = good_header(&key);
    h.as_object_mut().unwrap().remove("typ");
    assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::MissingTyp));
    for typ in ["JWT", "DPOP+JWT", "at+jwt"] {
        let mut h = good_header(&key);
        h["typ"] = json!(typ);
        assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::WrongTyp(typ.into())));
    }
}

#[test]
fn only_rs256_and_es256_are_accepted() {
    let key = key();
    for alg in ["none", "HS256", "PS256", "RS512", "ES384"] {
        let mut h = good_header(&key);
        h["alg"] = json!(alg);
        assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::BadAlg(alg.into())));
    }
    let mut h = good_header(&key);
    h.as_object_mut().unwrap().remove("alg");
    assert!(matches!(verify(&custom(&key, h, good_claims())), Err(DpopError::BadAlg(_))));
    // ES256 label on an RSA key.
    let mut h = good_header(&key);
    h["alg"] = json!("ES256");
    assert!(matches!(verify(&custom(&key, h, good_claims())), Err(DpopError::BadJwk(_))));
}

#[test]
fn jwk_must_be_present_public_and_sound() {
    let key = key();
    let mut h = good_header(&key);
    h.as_object_mut().unwrap().remove("jwk");
    assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::MissingJwk));

    let mut h = good_header(&key);
    h["jwk"] = json!("not an object");
    assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::MissingJwk));

    let mut h = good_header(&key);
    h["jwk"]["d"] = json!("AQAB");
    assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::PrivateJwk));

    // A leading zero byte in n would give the same key a second thumbprint.
    let mut h = good_header(&key);
    let mut n = vec![0u8];
    n.extend(b64url_decode(key.public_key().n_b64()).unwrap());
    h["jwk"]["n"] = json!(b64url_encode(&n));
    assert!(matches!(verify(&custom(&key, h, good_claims())), Err(DpopError::BadJwk(_))));

    let mut h = good_header(&key);
    h["jwk"]["n"] = json!("!!!");
    assert!(matches!(verify(&custom(&key, h, good_claims())), Err(DpopError::BadJwk(_))));

    let mut h = good_header(&key);
    h["crit"] = json!(["exp"]);
    assert_eq!(verify(&custom(&key, h, good_claims())), Err(DpopError::CritUnsupported));
}

#[test]
fn signature_must_match_the_embedded_jwk() {
    let key = key();
    let other = RsaPrivateKey::generate_2048();
    // Header carries `key`'s jwk, but `other` signs.
    assert_eq!(verify(&custom(&other, good_header(&key), good_claims())), Err(DpopError::BadSignature));

    let proof = build_dpop_proof(&key, "POST", HTU, NOW, "j", None);
    let (rest, sig) = proof.rsplit_once('.').unwrap();
    let mut sig = b64url_decode(sig).unwrap();
    sig[42] ^= 4;
    assert_eq!(verify(&format!("{rest}.{}", b64url_encode(&sig))), Err(DpopError::BadSignature));
}

#[test]
fn htm_must_match_exactly() {
    let key = key();
    let proof = build_dpop_proof(&key, "POST", HTU, NOW, "j", None);
    assert!(matches!(verify_dpop_proof(&proof, "GET", HTU, NOW, None), Err(DpopError::HtmMismatch { .. })));
    let lower = build_dpop_proof(&key, "post", HTU, NOW, "j", None);
    assert!(matches!(verify(&lower), Err(DpopError::HtmMismatch { .. })));
    let mut c = good_claims();
    c.as_object_mut().unwrap().remove("htm");
    assert_eq!(verify(&custom(&key, good_header(&key), c)), Err(DpopError::MissingClaim("htm")));
}

#[test]
fn htu_is_compared_without_query_and_fragment() {
    let key = key();
    let with_query = build_dpop_proof(&key, "POST", &format!("{HTU}?a=b#frag"), NOW, "j", None);
    assert!(verify(&with_query).is_ok());
    let other_path = build_dpop_proof(&key, "POST", "https://varco.example/other", NOW, "j", None);
    assert!(matches!(verify(&other_path), Err(DpopError::HtuMismatch { .. })));
    let other_host = build_dpop_proof(&key, "POST", "https://evil.example/token.oauth2", NOW, "j", None);
    assert!(matches!(verify(&other_host), Err(DpopError::HtuMismatch { .. })));
    let mut c = good_claims();
    c["htu"] = json!(42);
    assert_eq!(verify(&custom(&key, good_header(&key), c)), Err(DpopError::MissingClaim("htu")));
}

#[test]
fn iat_window_is_60s_back_and_10s_ahead() {
    let key = key();
    let at = |iat: i64| verify(&build_dpop_proof(&key, "POST", HTU, iat, "j", None));
    assert!(at(NOW - 60).is_ok());
    assert!(at(NOW + 10).is_ok());
    assert_eq!(at(NOW - 61), Err(DpopError::IatOutOfWindow { iat: NOW - 61, now: NOW }));
    assert_eq!(at(NOW + 11), Err(DpopError::IatOutOfWindow { iat: NOW + 11, now: NOW }));
    for bad in [json!(1.7e9), json!("1700000000"), Value::Null] {
        let mut c = good_claims();
        c["iat"] = bad;
        assert_eq!(verify(&custom(&key, good_header(&key), c)), Err(DpopError::MissingClaim("iat")));
    }
}

#[test]
fn jti_must_be_a_non_empty_string() {
    let key = key();
    for bad in [Some(json!("")), Some(json!(7)), Some(json!("x".repeat(300))), None] {
        let mut c = good_claims();
        match bad {
            Some(v) => c["jti"] = v,
            None => {
                c.as_object_mut().unwrap().remove("jti");
            }
        }
        assert_eq!(verify(&custom(&key, good_header(&key), c)), Err(DpopError::MissingJti));
    }
}

#[test]
fn malformed_proofs_are_reported_as_such() {
    assert_eq!(verify("a.b"), Err(DpopError::Malformed(JwtFormatError::WrongPartCount(2))));
    assert_eq!(verify(""), Err(DpopError::Malformed(JwtFormatError::Empty)));
    assert!(matches!(verify("!.!.!"), Err(DpopError::Malformed(JwtFormatError::BadBase64 { .. }))));
}
