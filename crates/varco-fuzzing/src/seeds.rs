//! The first inputs of each target, from which the fuzzer starts: valid requests of
//! every kind and one near miss per check, so the fuzzer begins deep in the code.
//! `cargo run -p varco-fuzzing --example seeds` writes them into fuzz/corpus/.
use serde_json::{json, Value};

use crate::world::{world, API_CLIENT, AUDIENCE, CONSUMER_CLIENT, HTU, NOW, PURPOSE_GONE, PURPOSE_INACTIVE};
use crate::world::{PURPOSE_OK, PURPOSE_SUSPENDED};

/// The public-key fixtures of varco-jose (openssl-made), as a person would paste them.
const RSA2048: &str = include_str!("../../varco-jose/tests/data/rsa2048_public.pem");
const RSA2048_B64: &str = include_str!("../../varco-jose/tests/data/rsa2048_public.pem.b64");
const RSA4096: &str = include_str!("../../varco-jose/tests/data/rsa4096_public.pem");
const RSA1024: &str = include_str!("../../varco-jose/tests/data/rsa1024_public.pem");
const RSA_PKCS1: &str = include_str!("../../varco-jose/tests/data/rsa2048_public_pkcs1.pem");
const CERT: &str = include_str!("../../varco-jose/tests/data/rsa2048_cert.pem");
const EC: &str = include_str!("../../varco-jose/tests/data/ec_p256_public.pem");
/// DPoP proofs signed outside Rust, for `https://varco.example/token.oauth2`, POST, at NOW.
const DPOP_RS256: &str = include_str!("../../varco-jose/tests/data/dpop_rs256.jwt");
const DPOP_ES256: &str = include_str!("../../varco-jose/tests/data/dpop_es256.jwt");

pub struct Seed {
    pub target: &'static str,
    pub name: &'static str,
    pub data: Vec<u8>,
}

fn seed(target: &'static str, name: &'static str, data: impl Into<Vec<u8>>) -> Seed {
    Seed { target, name, data: data.into() }
}

fn with_mode(mode: u8, rest: impl AsRef<[u8]>) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(rest.as_ref());
    v
}

/// The claims of a good assertion of `client`, with `purpose`.
pub fn claims(client: varco_domain::ClientId, purpose: Option<varco_domain::PurposeId>) -> Value {
    let mut c = json!({
        "iss": client.to_string(), "sub": client.to_string(), "aud": AUDIENCE,
        "jti": "seed-jti", "iat": NOW, "exp": NOW + 120,
    });
    if let Some(p) = purpose {
        c["purposeId"] = json!(p.to_string());
    }
    c
}

/// A signed client assertion with these claims, as a client would send it.
pub fn signed_assertion(claims: &Value) -> String {
    let w = world();
    let header = json!({"alg": "RS256", "kid": w.kid(), "typ": "JWT"}).to_string();
    crate::compact(header.as_bytes(), claims.to_string().as_bytes(), |i| w.sign_rs256(i))
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

pub fn all() -> Vec<Seed> {
    let w = world();
    let mut out = Vec::new();
    let good = signed_assertion(&claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    let api = signed_assertion(&claims(API_CLIENT, None));
    let cid = CONSUMER_CLIENT.to_string();
    let t = varco_token::checks::ASSERTION_TYPE;
    let cc = "client_credentials";

    // token_form
    for (name, body) in [
        ("ok", form(&[("client_assertion", &good), ("client_assertion_type", t), ("grant_type", cc)])),
        (
            "ok_client_id",
            form(&[("client_id", &cid), ("client_assertion", &good), ("client_assertion_type", t), ("grant_type", cc)]),
        ),
        ("api", form(&[("client_assertion", &api), ("client_assertion_type", t), ("grant_type", cc)])),
        // Near misses: a good request with one defect each.
        (
            "twice",
            form(&[("client_assertion", &good), ("client_assertion_type", t), ("grant_type", cc), ("grant_type", cc)]),
        ),
        ("bad_type", form(&[("client_assertion", &good), ("client_assertion_type", "jwt"), ("grant_type", cc)])),
        ("no_type", form(&[("client_assertion", &good), ("grant_type", cc)])),
        ("bad_grant", form(&[("client_assertion", &good), ("client_assertion_type", t), ("grant_type", "password")])),
        ("no_grant", form(&[("client_assertion", &good), ("client_assertion_type", t)])),
        (
            "bad_id",
            form(&[("client_assertion", &good), ("client_assertion_type", t), ("grant_type", cc), ("client_id", "x")]),
        ),
        ("no_assertion", form(&[("client_assertion_type", t), ("grant_type", cc), ("client_assertion", "")])),
    ] {
        out.push(seed("token_form", name, body));
    }

    // client_assertion: signed mode (bit 0), client_id in bits 1-2, hardened bit 3.
    let mut c = |name, mode: u8, claims: Value| {
        out.push(seed("client_assertion", name, with_mode(mode, claims.to_string())));
    };
    c("consumer_ok", 1, claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    c("consumer_ok_form_id", 1 | 2, claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    c("consumer_other_form_id", 1 | 4, claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    c("consumer_bad_form_id", 1 | 6, claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    c("consumer_hardened", 1 | 8, claims(CONSUMER_CLIENT, Some(PURPOSE_OK)));
    c("consumer_inactive", 1, claims(CONSUMER_CLIENT, Some(PURPOSE_INACTIVE)));
    c("consumer_suspended", 1, claims(CONSUMER_CLIENT, Some(PURPOSE_SUSPENDED)));
    c("consumer_gone", 1, claims(CONSUMER_CLIENT, Some(PURPOSE_GONE)));
    c("consumer_no_purpose", 1, claims(CONSUMER_CLIENT, None));
    c("api_ok", 1 | 4, claims(API_CLIENT, None));
    c("api_purpose", 1, claims(API_CLIENT, Some(PURPOSE_OK)));
    let mut digest = claims(CONSUMER_CLIENT, Some(PURPOSE_OK));
    digest["digest"] = json!({"alg": "SHA256", "value": "ab".repeat(32)});
    c("digest", 1, digest.clone());
    digest["digest"] = json!({"alg": "SHA1", "value": "ab"});
    c("digest_bad", 1, digest);
    let mut odd = claims(CONSUMER_CLIENT, Some(PURPOSE_OK));
    odd["aud"] = json!(["x", AUDIENCE]);
    odd["nbf"] = json!(NOW + 100);
    odd["exp"] = json!(NOW - 1);
    c("aud_list_expired_nbf", 1 | 8, odd);
    // Near misses: a good assertion with one defect each.
    let defect = |f: &dyn Fn(&mut Value)| {
        let mut v = claims(CONSUMER_CLIENT, Some(PURPOSE_OK));
        f(&mut v);
        v
    };
    c("aud_wrong", 1, defect(&|v| v["aud"] = json!("varco.example/interop/produzione/client-assertion")));
    c("aud_list_wrong", 1, defect(&|v| v["aud"] = json!(["x", "y"])));
    c("expired", 1, defect(&|v| v["exp"] = json!(NOW)));
    c("nbf_future", 1, defect(&|v| v["nbf"] = json!(NOW + 1)));
    c("too_long_hardened", 1 | 8, defect(&|v| v["exp"] = json!(NOW + 301)));
    c("no_jti", 1, defect(&|v| v["jti"] = json!("")));
    c("no_iss", 1, defect(&|v| v["iss"] = json!(null)));
    c("sub_not_uuid", 1, defect(&|v| v["sub"] = json!("client")));
    c("purpose_not_uuid", 1, defect(&|v| v["purposeId"] = json!(7)));
    c("empty_claims", 1, json!({}));
    for (name, header) in [
        ("alg_hs256", json!({"alg": "HS256", "kid": w.kid()})),
        ("no_alg", json!({"kid": w.kid()})),
        ("kid_unknown", json!({"alg": "RS256", "kid": "A".repeat(43)})),
        ("kid_number", json!({"alg": "RS256", "kid": 7})),
    ] {
        let mut with_header = with_mode(1, header.to_string());
        with_header.push(0);
        with_header.extend_from_slice(claims(CONSUMER_CLIENT, Some(PURPOSE_OK)).to_string().as_bytes());
        out.push(seed("client_assertion", name, with_header));
    }
    out.push(seed("client_assertion", "raw_ok", with_mode(0, &good)));
    out.push(seed("client_assertion", "raw_garbage", with_mode(0, "a.b.c")));

    // public_key: mode 0 PEM, 1 base64 PEM, 2 SPKI DER, 3 components.
    for (name, mode, text) in [
        ("rsa2048", 0, RSA2048),
        ("rsa4096", 0, RSA4096),
        ("rsa1024", 0, RSA1024),
        ("pkcs1", 0, RSA_PKCS1),
        ("cert", 0, CERT),
        ("ec", 0, EC),
        ("private_label", 0, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        ("b64", 1, RSA2048_B64),
        ("b64_plain_pem", 1, RSA2048),
    ] {
        out.push(seed("public_key", name, with_mode(mode, text)));
    }
    let key = w.rsa.public_key();
    out.push(seed("public_key", "der", with_mode(2, key.spki_der())));
    let ec_der = pem_rfc7468::decode_vec(EC.as_bytes()).expect("EC fixture").1;
    out.push(seed("public_key", "der_ec", with_mode(2, ec_der)));
    let n = varco_jose::b64url_decode(key.n_b64()).expect("n");
    let e = varco_jose::b64url_decode(key.e_b64()).expect("e");
    let mut comp = vec![3, (n.len() / 4) as u8];
    comp.extend_from_slice(&n);
    comp.extend_from_slice(&e);
    out.push(seed("public_key", "components", comp));

    // dpop_proof: signed bit 0, ES256 bit 1, access token bit 2, GET bit 3.
    let proof_claims = |htm: &str, ath: bool| {
        let mut c = json!({"jti": "seed-jti", "htm": htm, "htu": HTU, "iat": NOW});
        if ath {
            c["ath"] = json!(crate::dpop::access_token_hash(crate::dpop::ACCESS_TOKEN));
        }
        c.to_string()
    };
    for (name, mode, claims) in [
        ("rs256", 1, proof_claims("POST", false)),
        ("es256", 3, proof_claims("POST", false)),
        ("rs256_ath", 5, proof_claims("POST", true)),
        ("es256_get_ath", 15, proof_claims("GET", true)),
        // Near misses: a good proof with one defect each.
        ("wrong_htm", 1, proof_claims("GET", false)),
        ("no_ath", 5, proof_claims("POST", false)),
        ("wrong_htu", 1, proof_claims("POST", false).replace("token.oauth2", "token")),
        ("iat_old", 1, proof_claims("POST", false).replace(&NOW.to_string(), &(NOW - 61).to_string())),
        ("iat_future", 1, proof_claims("POST", false).replace(&NOW.to_string(), &(NOW + 11).to_string())),
        ("jti_long", 1, proof_claims("POST", false).replace("seed-jti", &"j".repeat(257))),
    ] {
        out.push(seed("dpop_proof", name, with_mode(mode, claims)));
    }
    out.push(seed("dpop_proof", "raw_rs256", with_mode(0, DPOP_RS256.trim())));
    out.push(seed("dpop_proof", "raw_es256", with_mode(0, DPOP_ES256.trim())));
    let mut hdr =
        with_mode(1, json!({"typ": "dpop+jwt", "alg": "RS256", "crit": ["x"], "jwk": {"kty": "RSA"}}).to_string());
    hdr.push(0);
    hdr.extend_from_slice(proof_claims("POST", false).as_bytes());
    out.push(seed("dpop_proof", "bad_header", hdr));

    // codice_fiscale: valid codes (men, women, omocodia), with names, and near misses.
    for (name, text) in [
        ("rossi", format!("{}\nMario\nRossi", valid_cf("RSSMRA85T10A562"))),
        ("woman", format!("{}\nAnna\nBianchi", valid_cf("BNCNNA90A41F205"))),
        ("omocodia", valid_cf("RSSMRA85T10A56N")),
        ("lower_spaces", format!("  {}  ", valid_cf("VRDGPP80E15H501").to_lowercase())),
        ("accents", format!("{}\nNiccolò\nD'Àngelo", valid_cf("DNGNCL75C12L219"))),
        ("short", "RSSMRA85T10".to_string()),
        ("bad_month", "RSSMRA85Z10A562X".to_string()),
        ("bad_day", "RSSMRA85T99A562X".to_string()),
    ] {
        out.push(seed("codice_fiscale", name, text));
    }
    out
}

/// The prefix with the check character that makes it a valid code.
fn valid_cf(first15: &str) -> String {
    (b'A'..=b'Z')
        .map(|c| format!("{first15}{}", char::from(c)))
        .find(|s| varco_selfcare::codice_fiscale::CodiceFiscale::parse(s).is_ok())
        .unwrap_or_else(|| panic!("{first15} has no valid check character"))
}
