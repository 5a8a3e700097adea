//! Target `dpop_proof`: `verify_dpop_proof` (RFC 9449) for a token request or, with
//! an access token, a resource request.
//!
//! Input: one flag byte, then the proof.
//! - bit 0: signed mode. The rest is `header NUL claims` (or only claims, with the
//!   usual header `{"typ":"dpop+jwt","alg":..,"jwk":<the public key>}`), encoded and
//!   signed with a fixed test key, so the claims checks after the signature are
//!   reached. Otherwise the rest is the proof as sent.
//! - bit 1: in signed mode, ES256 (P-256 key) instead of RS256.
//! - bit 2: a resource request: the proof must carry the hash of an access token.
//! - bit 3: the request's method is GET instead of POST.
use base64::Engine as _;
use serde_json::{json, Value};
use varco_jose::{b64url_decode, b64url_encode, jwk_thumbprint, verify_dpop_proof, Compact, DpopError};

use crate::world::{world, HTU, NOW};
use crate::{assert_message, compact, split_header, split_mode};

/// The access token of resource requests (any string does: only its hash matters).
pub const ACCESS_TOKEN: &str = "fuzz-access-token";

pub fn dpop_proof(data: &[u8]) {
    let (mode, rest) = split_mode(data);
    let es256 = mode & 2 == 2;
    let proof = if mode & 1 == 1 {
        let w = world();
        let (header, claims) = split_header(rest);
        let default_header;
        let header = match header {
            Some(h) => h,
            None => {
                let (alg, jwk) = if es256 {
                    ("ES256", w.ec_jwk.clone())
                } else {
                    let p = w.rsa.public_key();
                    ("RS256", json!({"kty": "RSA", "n": p.n_b64(), "e": p.e_b64()}))
                };
                default_header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}).to_string();
                default_header.as_bytes()
            }
        };
        if es256 {
            compact(header, claims, |i| w.sign_es256(i))
        } else {
            compact(header, claims, |i| w.sign_rs256(i))
        }
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    let token = (mode & 4 == 4).then_some(ACCESS_TOKEN);
    let htm = if mode & 8 == 8 { "GET" } else { "POST" };

    match verify_dpop_proof(&proof, htm, HTU, NOW, token) {
        Ok(ok) => {
            let jws = Compact::parse(&proof).expect("an accepted proof is a JWS");
            let h = &jws.header;
            assert_eq!(h.get("typ").and_then(Value::as_str), Some("dpop+jwt"));
            assert!(matches!(jws.alg(), Some("RS256" | "ES256")), "accepted alg {:?}", jws.alg());
            assert!(!h.contains_key("crit"), "accepted a proof with crit");
            let jwk = h.get("jwk").and_then(Value::as_object).expect("an accepted proof has a jwk");
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(!jwk.contains_key(private), "accepted a jwk with the private member {private}");
            }
            assert_eq!(jwk_thumbprint(jwk).expect("the jwk has a thumbprint"), ok.jkt, "jkt is not the jwk's");
            let p = &jws.payload;
            assert_eq!(p.get("htm").and_then(Value::as_str), Some(htm), "accepted for another method");
            assert_eq!(p.get("jti").and_then(Value::as_str), Some(ok.jti.as_str()));
            assert!(!ok.jti.is_empty() && ok.jti.len() <= 256, "jti of {} bytes", ok.jti.len());
            assert_eq!(p.get("iat").and_then(Value::as_i64), Some(ok.iat));
            assert!(
                ok.iat >= NOW - varco_jose::DPOP_IAT_LEEWAY_PAST && ok.iat <= NOW + varco_jose::DPOP_IAT_LEEWAY_FUTURE
            );
            if let Some(t) = token {
                assert_eq!(p.get("ath").and_then(Value::as_str), Some(access_token_hash(t).as_str()));
            }
            // The signature is what made it pass: the same proof with one bit of its
            // signature changed is refused, for its signature.
            let (input, sig) = proof.rsplit_once('.').expect("three parts");
            let mut sig = b64url_decode(sig).expect("the signature is base64url");
            let last = sig.len() - 1;
            sig[last] ^= 1;
            let tampered = format!("{input}.{}", b64url_encode(&sig));
            assert_eq!(
                verify_dpop_proof(&tampered, htm, HTU, NOW, token),
                Err(DpopError::BadSignature),
                "a proof with a changed signature was not refused for its signature"
            );
        }
        Err(e) => assert_message("error", &e.to_string()),
    }
}

/// RFC 9449 §4.2 (base64url of SHA-256), written again here so the check does not
/// lean on the code under test.
pub(crate) fn access_token_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}
