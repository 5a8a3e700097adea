//! RSA key parsing against fixtures generated with the openssl CLI (see data/README.md).

use varco_jose::{b64url_decode, KeyError, PrivateKeyError, RsaPrivateKey, RsaPublicKey, MAX_PEM_LEN};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// RFC 7638 thumbprint of rsa2048_public.pem, computed with openssl + python3
/// (modulus and exponent from `openssl rsa -pubin -modulus/-text`, canonical JSON
/// hashed with hashlib.sha256, base64url without padding). See data/README.md.
const KID_2048: &str = "_Oesfaxf1VyUJVQde7RakYcisfmWaVj4p7MdDHj7d-k";
/// Same computation for rsa4096_public.pem.
const KID_4096: &str = "yfUfxSatVybBxaKf3IH1uVUdBntOdc5XCPg8AuDBLIY";

#[test]
fn kid_matches_independently_computed_thumbprint() {
    let key = RsaPublicKey::from_pem(&fixture("rsa2048_public.pem")).unwrap();
    assert_eq!(key.kid().as_str(), KID_2048);
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.e_b64(), "AQAB");
    assert_eq!(b64url_decode(key.n_b64()).unwrap().len(), 256);

    let big = RsaPublicKey::from_pem(&fixture("rsa4096_public.pem")).unwrap();
    assert_eq!(big.kid().as_str(), KID_4096);
    assert_eq!(big.bits(), 4096);
}

#[test]
fn jwk_carries_the_published_members() {
    let key = RsaPublicKey::from_pem(&fixture("rsa2048_public.pem")).unwrap();
    let jwk = key.jwk();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["kid"], KID_2048);
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["n"], key.n_b64());
    // The thumbprint of the published JWK is the kid itself.
    assert_eq!(varco_jose::jwk_thumbprint(jwk.as_object().unwrap()).unwrap(), KID_2048);
}

#[test]
fn to_pem_is_canonical_spki() {
    // openssl's `pkey -pubout` output is canonical SPKI PEM, so ours must be identical.
    let pem = fixture("rsa2048_public.pem");
    let key = RsaPublicKey::from_pem(&pem).unwrap();
    assert_eq!(key.to_pem(), pem);
    let again = RsaPublicKey::from_pem(&key.to_pem()).unwrap();
    assert_eq!(again.spki_der(), key.spki_der());
    assert_eq!(again, key);
}

#[test]
fn crlf_and_surrounding_whitespace_are_tolerated() {
    let pem = fixture("rsa2048_public.pem").replace('\n', "\r\n");
    let key = RsaPublicKey::from_pem(&format!("\n  {pem}  \n")).unwrap();
    assert_eq!(key.kid().as_str(), KID_2048);
}

#[test]
fn debug_output_is_short() {
    let key = RsaPublicKey::from_pem(&fixture("rsa2048_public.pem")).unwrap();
    let dbg = format!("{key:?}");
    assert!(dbg.contains(KID_2048));
    assert!(!dbg.contains(key.n_b64()), "Debug must not print the modulus");
    let private = RsaPrivateKey::from_pem(&fixture("rsa2048_private_pkcs8.pem")).unwrap();
    assert!(format!("{private:?}").len() < 120);
}

#[test]
fn rejects_a_1024_bit_key() {
    assert_eq!(RsaPublicKey::from_pem(&fixture("rsa1024_public.pem")).unwrap_err(), KeyError::TooSmall { bits: 1024 });
}

#[test]
fn rejects_an_ec_key() {
    match RsaPublicKey::from_pem(&fixture("ec_p256_public.pem")).unwrap_err() {
        KeyError::NotRsa { algorithm } => assert!(algorithm.contains("EC"), "{algorithm}"),
        other => panic!("expected NotRsa, got {other:?}"),
    }
}

#[test]
fn rejects_private_keys_of_every_kind() {
    for (file, label) in [
        ("rsa2048_private_pkcs1.pem", "RSA PRIVATE KEY"),
        ("rsa2048_private_pkcs8.pem", "PRIVATE KEY"),
        ("rsa2048_private_encrypted.pem", "ENCRYPTED PRIVATE KEY"),
        ("ec_p256_private.pem", "PRIVATE KEY"),
    ] {
        assert_eq!(
            RsaPublicKey::from_pem(&fixture(file)).unwrap_err(),
            KeyError::PrivateKey { label: label.into() },
            "{file}"
        );
    }
    // Even when pasted together with the public key.
    let both = fixture("rsa2048_public.pem") + &fixture("rsa2048_private_pkcs8.pem");
    assert!(matches!(RsaPublicKey::from_pem(&both), Err(KeyError::PrivateKey { .. })));
}

#[test]
fn rejects_a_certificate() {
    assert_eq!(RsaPublicKey::from_pem(&fixture("rsa2048_cert.pem")).unwrap_err(), KeyError::Certificate);
}

#[test]
fn rejects_pkcs1_public_key_with_conversion_hint() {
    let err = RsaPublicKey::from_pem(&fixture("rsa2048_public_pkcs1.pem")).unwrap_err();
    assert_eq!(err, KeyError::Pkcs1PublicKey);
    assert!(err.to_string().contains("openssl rsa -RSAPublicKey_in -in k -pubout"));
    assert!(err.message_it().contains("openssl rsa -RSAPublicKey_in -in k -pubout"));
}

#[test]
fn rejects_garbage_empty_and_huge_input() {
    assert_eq!(RsaPublicKey::from_pem(&fixture("garbage.txt")).unwrap_err(), KeyError::NotPem);
    assert_eq!(RsaPublicKey::from_pem("").unwrap_err(), KeyError::Empty);
    assert_eq!(RsaPublicKey::from_pem(" \n\t").unwrap_err(), KeyError::Empty);
    let huge = fixture("rsa2048_public.pem") + &"A".repeat(MAX_PEM_LEN);
    assert_eq!(RsaPublicKey::from_pem(&huge).unwrap_err(), KeyError::TooLong);
    assert_eq!(RsaPublicKey::from_base64_pem(&"A".repeat(4 * MAX_PEM_LEN)).unwrap_err(), KeyError::TooLong);
}

#[test]
fn rejects_a_damaged_body_and_two_public_keys() {
    let pem = fixture("rsa2048_public.pem");
    let damaged = pem.replacen("MII", "MIJ", 1);
    assert!(matches!(RsaPublicKey::from_pem(&damaged), Err(KeyError::Malformed(_))));
    let lines: Vec<&str> = pem.lines().collect();
    let truncated = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    assert!(matches!(RsaPublicKey::from_pem(&truncated), Err(KeyError::Malformed(_))));
    let twice = pem.clone() + &pem;
    assert!(matches!(RsaPublicKey::from_pem(&twice), Err(KeyError::Malformed(_))));
    assert!(matches!(
        RsaPublicKey::from_pem("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"),
        Err(KeyError::UnexpectedLabel { .. })
    ));
}

#[test]
fn every_error_has_an_italian_message() {
    let errors = [
        KeyError::Empty,
        KeyError::TooLong,
        KeyError::NotPem,
        KeyError::NotBase64,
        KeyError::PrivateKey { label: "PRIVATE KEY".into() },
        KeyError::Certificate,
        KeyError::Pkcs1PublicKey,
        KeyError::UnexpectedLabel { label: "X".into() },
        KeyError::NotRsa { algorithm: "EC".into() },
        KeyError::TooSmall { bits: 1024 },
        KeyError::TooLarge { bits: 16384 },
        KeyError::Malformed("x".into()),
    ];
    for e in errors {
        assert!(!e.message_it().is_empty());
        assert_ne!(e.message_it(), e.to_string());
    }
}

#[test]
fn base64_encoded_pem_is_accepted() {
    // rsa2048_public.pem.b64 was produced by `base64 -w0`, as PDND's upload does.
    let key = RsaPublicKey::from_base64_pem(&fixture("rsa2048_public.pem.b64")).unwrap();
    assert_eq!(key.kid().as_str(), KID_2048);
    // Plain PEM through the same entry point.
    let key = RsaPublicKey::from_base64_pem(&fixture("rsa2048_public.pem")).unwrap();
    assert_eq!(key.kid().as_str(), KID_2048);
    // Line-wrapped base64 (plain `base64` output).
    let wrapped: String = fixture("rsa2048_public.pem.b64")
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(RsaPublicKey::from_base64_pem(&wrapped).unwrap().kid().as_str(), KID_2048);
}

#[test]
fn base64_pem_rejections_are_specific() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert_eq!(RsaPublicKey::from_base64_pem("not base64 at all!").unwrap_err(), KeyError::NotBase64);
    assert_eq!(RsaPublicKey::from_base64_pem(&b64("hello")).unwrap_err(), KeyError::NotPem);
    assert_eq!(RsaPublicKey::from_base64_pem("").unwrap_err(), KeyError::Empty);
    assert!(matches!(
        RsaPublicKey::from_base64_pem(&b64(&fixture("rsa2048_private_pkcs1.pem"))),
        Err(KeyError::PrivateKey { .. })
    ));
    assert_eq!(
        RsaPublicKey::from_base64_pem(&b64(&fixture("rsa1024_public.pem"))).unwrap_err(),
        KeyError::TooSmall { bits: 1024 }
    );
}

#[test]
fn private_keys_load_in_both_formats_and_match_the_public_key() {
    let pkcs8 = RsaPrivateKey::from_pem(&fixture("rsa2048_private_pkcs8.pem")).unwrap();
    let pkcs1 = RsaPrivateKey::from_pem(&fixture("rsa2048_private_pkcs1.pem")).unwrap();
    assert_eq!(pkcs8.kid().as_str(), KID_2048);
    assert_eq!(pkcs1.kid().as_str(), KID_2048);
    assert_eq!(pkcs8.public_key().to_pem(), fixture("rsa2048_public.pem"));
}

#[test]
fn private_key_rejections() {
    assert_eq!(
        RsaPrivateKey::from_pem(&fixture("rsa2048_private_encrypted.pem")).unwrap_err(),
        PrivateKeyError::Encrypted
    );
    assert!(matches!(
        RsaPrivateKey::from_pem(&fixture("rsa2048_public.pem")),
        Err(PrivateKeyError::UnexpectedLabel { .. })
    ));
    assert_eq!(RsaPrivateKey::from_pem(&fixture("garbage.txt")).unwrap_err(), PrivateKeyError::NotPem);
    assert_eq!(RsaPrivateKey::from_pem("").unwrap_err(), PrivateKeyError::NotPem);
    // An EC key is PKCS#8 too, but not RSA.
    assert!(matches!(RsaPrivateKey::from_pem(&fixture("ec_p256_private.pem")), Err(PrivateKeyError::Rejected(_))));
    assert_eq!(RsaPrivateKey::from_pem(&"A".repeat(MAX_PEM_LEN + 1)).unwrap_err(), PrivateKeyError::TooLong);
}

#[test]
fn sign_verify_round_trip_and_tampering() {
    let signer = RsaPrivateKey::from_pem(&fixture("rsa2048_private_pkcs1.pem")).unwrap();
    let verifier = RsaPublicKey::from_pem(&fixture("rsa2048_public.pem")).unwrap();
    let msg = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
    let mut sig = signer.sign_rs256(msg);
    assert_eq!(sig.len(), 256);
    assert!(verifier.verify_rs256(msg, &sig));
    assert!(!verifier.verify_rs256(b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ5In0", &sig));
    sig[100] ^= 1;
    assert!(!verifier.verify_rs256(msg, &sig));
    assert!(!verifier.verify_rs256(msg, &[]));
    // Another key's signature does not verify.
    let other = RsaPrivateKey::generate_2048();
    assert!(!verifier.verify_rs256(msg, &other.sign_rs256(msg)));
}

#[test]
fn generated_keys_survive_a_pkcs8_round_trip() {
    let key = RsaPrivateKey::generate_2048();
    assert_eq!(key.public_key().bits(), 2048);
    let pem = key.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let reloaded = RsaPrivateKey::from_pem(&pem).unwrap();
    assert_eq!(reloaded.kid(), key.kid());
    let sig = reloaded.sign_rs256(b"x");
    assert!(key.public_key().verify_rs256(b"x", &sig));
}
