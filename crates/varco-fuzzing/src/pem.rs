//! Target `public_key`: the parser of the public keys clients upload (PEM, the
//! base64-wrapped PEM of PDND's API, SPKI DER, and bare modulus and exponent).
//!
//! Input: one mode byte (mod 4), then the text or bytes.
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use varco_jose::{b64url_decode, jwk_thumbprint, KeyError, RsaPublicKey};

use crate::{assert_message, split_mode};

pub fn public_key(data: &[u8]) {
    let (mode, rest) = split_mode(data);
    let text = String::from_utf8_lossy(rest);
    let result = match mode % 4 {
        0 => RsaPublicKey::from_pem(&text),
        1 => RsaPublicKey::from_base64_pem(&text),
        2 => RsaPublicKey::from_spki_der(rest),
        _ => {
            // The first byte says where the modulus ends and the exponent begins.
            let (cut, rest) = split_mode(rest);
            let cut = (usize::from(cut) * 4).min(rest.len());
            RsaPublicKey::from_components(&rest[..cut], &rest[cut..])
        }
    };
    match result {
        Ok(key) => {
            if mode % 4 == 0 {
                assert!(!has_private_block(&text), "accepted a text holding a private key block");
            }
            check_key(&key);
        }
        Err(e) => check_error(&e),
    }
}

/// Whether some `-----BEGIN <label>-----` line has a label ending in PRIVATE KEY.
/// Only boundaries count: text around a block is ignored by PEM parsers (RFC 7468
/// §2), so "PRIVATE KEY" written there holds no key.
fn has_private_block(text: &str) -> bool {
    text.match_indices("-----BEGIN ").any(|(i, b)| {
        let after = &text[i + b.len()..];
        after.find("-----").is_some_and(|end| after[..end].ends_with("PRIVATE KEY"))
    })
}

fn check_key(key: &RsaPublicKey) {
    assert!((2048..=8192).contains(&key.bits()), "accepted a key of {} bits", key.bits());
    // Every way to write the accepted key down reads back as the same key.
    let pem = key.to_pem();
    let again = RsaPublicKey::from_pem(&pem).expect("the canonical PEM of an accepted key parses");
    assert_eq!(&again, key);
    assert_eq!(again.kid(), key.kid());
    assert_eq!(&RsaPublicKey::from_spki_der(key.spki_der()).expect("canonical DER parses"), key);
    let wrapped = RsaPublicKey::from_base64_pem(&STANDARD.encode(&pem)).expect("base64 PEM of an accepted key parses");
    assert_eq!(&wrapped, key);
    let n = b64url_decode(key.n_b64()).expect("n is base64url");
    let e = b64url_decode(key.e_b64()).expect("e is base64url");
    assert_ne!(n.first(), Some(&0), "n is not minimal");
    assert_ne!(e.first(), Some(&0), "e is not minimal");
    assert_eq!(&RsaPublicKey::from_components(&n, &e).expect("the components parse"), key);
    // The kid is the RFC 7638 thumbprint of the published JWK.
    let jwk = key.jwk();
    let Value::Object(map) = &jwk else { panic!("the JWK is not an object") };
    assert_eq!(jwk_thumbprint(map).expect("the JWK has a thumbprint"), key.kid().as_str());
}

fn check_error(e: &KeyError) {
    assert_message("error", &e.to_string());
    assert_message("Italian error", &e.message_it());
}
