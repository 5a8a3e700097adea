//! Hostile or careless input: malformed token requests and garbage JWTs over HTTP
//! (generic 400, 413, 404, never a 500), and bad keys, unknown ids and ids of another
//! environment given to the platform services (a clear error, nothing written).
use crate::common;
use varco_platform::Caller;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use varco::both_backends;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_jose::{b64url_encode, RsaPrivateKey};
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, SEND_UAT};
use varco_platform::AppError;

const FORM: &str = "application/x-www-form-urlencoded";

/// A refused request: the generic 400, and this reason in the log.
fn assert_refused(logs: &LogCapture, r: &Reply, reason: &str, what: &str) {
    let corr = check_generic_400(r).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(logs.reason_for(&corr).as_deref(), Some(reason), "{what}: {:?}", logs.lines_with(&corr));
}

fn good_fields(assertion: &str) -> String {
    encode_form(&token_form(assertion, None))
}

both_backends!(malformed_forms_get_the_generic_400, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let path = token_path(Env::Collaudo);
    let assertion = c.assertion(&app);

    // Binary garbage, as a form.
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let r = post_raw(&app, &path, Some(FORM), garbage.clone()).await;
    assert_refused(&logs, &r, "invalidAssertionType", "binary garbage");
    // Invalid UTF-8 in the values (percent-encoded and raw).
    let body = format!(
        "client_assertion=%FF%FE%00&client_assertion_type={}&grant_type=client_credentials",
        urlencode(ASSERTION_TYPE)
    );
    let r = post_raw(&app, &path, Some(FORM), body.into_bytes()).await;
    assert_refused(&logs, &r, "invalidClientAssertionFormat", "invalid UTF-8 assertion");
    let mut body = good_fields(&assertion).into_bytes();
    body.extend_from_slice(b"&client_id=\xff\xfe");
    let r = post_raw(&app, &path, Some(FORM), body).await;
    assert_refused(&logs, &r, "invalidClientIdFormat", "raw invalid UTF-8 client_id");
    // Empty body, and only separators.
    for body in ["", "&&&", "=", "client_assertion"] {
        let r = post_raw(&app, &path, Some(FORM), body.into()).await;
        assert_refused(&logs, &r, "invalidAssertionType", &format!("body {body:?}"));
    }

    // Every field given twice, even with the same value.
    for field in ["client_assertion", "client_assertion_type", "grant_type", "client_id"] {
        let mut form = token_form(&assertion, Some(&c.client_id.to_string()));
        let value = form.iter().find(|(k, _)| k == field).unwrap().1.clone();
        form.push((field.into(), value));
        let r = post_token(&app, Env::Collaudo, &form, &[]).await;
        assert_refused(&logs, &r, "invalidRequest", &format!("{field} twice"));
    }

    // No content type, or another one, with a body that would be valid.
    let r = post_raw(&app, &path, None, good_fields(&assertion).into_bytes()).await;
    assert_refused(&logs, &r, "invalidContentType", "no content type");
    for ct in
        ["text/plain", "application/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencodedX"]
    {
        let r = post_raw(&app, &path, Some(ct), good_fields(&assertion).into_bytes()).await;
        assert_refused(&logs, &r, "invalidContentType", ct);
    }
    // A JSON body, with its own content type or labelled as a form.
    let json_body = serde_json::to_vec(&json!({
        "client_assertion": assertion,
        "client_assertion_type": ASSERTION_TYPE,
        "grant_type": "client_credentials",
    }))
    .unwrap();
    let r = post_raw(&app, &path, Some("application/json"), json_body.clone()).await;
    assert_refused(&logs, &r, "invalidContentType", "JSON body");
    let r = post_raw(&app, &path, Some(FORM), json_body).await;
    assert_refused(&logs, &r, "invalidAssertionType", "JSON body labelled as a form");

    // Unknown fields are ignored and the content type's parameters and case are accepted.
    let mut body = good_fields(&c.assertion(&app));
    body.push_str("&scope=openid&foo=bar");
    for ct in ["application/x-www-form-urlencoded; charset=UTF-8", "Application/X-WWW-Form-Urlencoded"] {
        let r = post_raw(&app, &path, Some(ct), body.clone().into_bytes()).await;
        assert_eq!(r.status, StatusCode::OK, "{ct}: {}", r.text);
    }
    // Still healthy.
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
});

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

both_backends!(garbage_jwts_get_the_generic_400, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let good = c.assertion(&app);
    let parts: Vec<&str> = good.split('.').collect();
    let huge_header =
        b64url_encode(json!({ "alg": "RS256", "kid": c.kid, "x": "A".repeat(20_000) }).to_string().as_bytes());
    let almost_huge =
        b64url_encode(json!({ "alg": "RS256", "kid": c.kid, "x": "A".repeat(40_000) }).to_string().as_bytes());
    let garbage: Vec<String> = vec![
        "x".into(),
        "random string with spaces".into(),
        uuid::Uuid::new_v4().to_string(),
        "....".into(),
        "..".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{}.{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[0], parts[1]),
        "!!!.???.***".into(),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", b64url_encode(b"[1,2,3]"), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], b64url_encode(b"\"a string\""), parts[2]),
        format!("{}.{}.{}", b64url_encode(b"\xff\xfe{"), parts[1], parts[2]),
        format!("{}.{}.{}", b64url_encode(b"null"), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], "not base64!"),
        format!("{}.{}.{}", huge_header, parts[1], parts[2]),
        format!("{}.{}.{}", almost_huge, parts[1], parts[2]),
        format!("Bearer {good}"),
        format!(" {good}"),
    ];
    for g in &garbage {
        let r = request_voucher(&app, Env::Collaudo, g).await;
        assert_refused(&logs, &r, "invalidClientAssertionFormat", &g.chars().take(80).collect::<String>());
        let (report, ok) = varco::cli::debug_report(&app.running.token, Env::Collaudo, g, None);
        assert!(!ok && report["reason"] == "invalidClientAssertionFormat", "{report}");
    }
    // JSON that parses but has the wrong types.
    let header = b64url_encode(json!({ "alg": ["RS256"], "kid": c.kid }).to_string().as_bytes());
    let r = request_voucher(&app, Env::Collaudo, &format!("{header}.{}.{}", parts[1], parts[2])).await;
    assert_refused(&logs, &r, "algorithmNotAllowed", "alg an array");
    // Nothing of this was logged at error level, and the good one still works.
    assert!(!logs.text().contains("ERROR"), "{}", logs.text());
    assert_eq!(request_voucher(&app, Env::Collaudo, &good).await.status, StatusCode::OK);
});

both_backends!(oversized_bodies_and_unknown_paths, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let path = token_path(Env::Collaudo);
    for size in [1024 * 1024, 64 * 1024 + 1] {
        let mut body = good_fields("x").into_bytes();
        body.extend(std::iter::repeat_n(b'a', size - body.len()));
        let r = post_raw(&app, &path, Some(FORM), body).await;
        let problem = assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
        // No PDND code for this one (its token API lists none): a title, a detail, no errors.
        assert_eq!(problem["title"], "Payload Too Large", "{problem}");
        assert_eq!(problem["detail"], "the request body exceeds 65536 bytes", "{problem}");
        assert_eq!(problem["errors"], json!([]), "{problem}");
        let corr = problem["correlationId"].as_str().expect("correlationId");
        assert_eq!(logs.reason_for(corr).as_deref(), Some("bodyTooLarge"));
    }
    // Exactly the limit is read (and refused for what it says, not for its size).
    let mut body = good_fields("x").into_bytes();
    body.extend(std::iter::repeat_n(b'a', 64 * 1024 - body.len()));
    assert_generic_400(&post_raw(&app, &path, Some(FORM), body).await);

    for env in ["sviluppo", "COLLAUDO", "collaudo ", "..", "%00"] {
        let r = post_raw(&app, &format!("/interop/{env}/token.oauth2"), Some(FORM), good_fields("x").into()).await;
        let problem = assert_problem(&r, StatusCode::NOT_FOUND);
        if env == ".." {
            // The client resolves the dot segment: /token.oauth2, which no front serves.
            assert_eq!(problem["detail"], "no such resource", "{problem}");
            assert_eq!(problem["errors"], json!([]), "{problem}");
        } else {
            assert_unknown_environment(&problem, env);
        }
    }
    let r = get(&app, "/interop/sviluppo/.well-known/jwks.json").await;
    assert_unknown_environment(&assert_problem(&r, StatusCode::NOT_FOUND), "sviluppo");
    // Unknown pages under SelfCare and a back office: an HTML page for a person.
    for path in ["/interop/collaudo/no-such-thing", "/interop/sviluppo/catalogo-e-service", "/selfcare/nope"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.content_type().is_some_and(|c| c.starts_with("text/html")), "{path}: {:?}", r.content_type());
        assert!(
            r.text.contains("<html lang=\"it\">") && r.text.contains("<title>Pagina non trovata"),
            "{path}: {}",
            r.text
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
    // Paths no front serves elsewhere: the server's problem.
    for r in
        [get(&app, "/no-such-thing").await, post_raw(&app, "/token.oauth2", Some(FORM), good_fields("x").into()).await]
    {
        let problem = assert_problem(&r, StatusCode::NOT_FOUND);
        assert_eq!(problem["title"], "Not Found", "{problem}");
        assert_eq!(problem["detail"], "no such resource", "{problem}");
        assert_eq!(problem["errors"], json!([]), "{problem}");
    }
});

/// The 404 of a path whose `{env}` is no environment: it names the environments, and
/// carries no error code.
#[track_caller]
fn assert_unknown_environment(problem: &serde_json::Value, env: &str) {
    assert_eq!(problem["title"], "Not Found", "{env}: {problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("unknown environment ") && detail.contains("collaudo"), "{env}: {problem}");
    assert_eq!(problem["errors"], json!([]), "{env}: {problem}");
}

// ------------------------------------------------------------ platform input

async fn expect_nothing_written(app: &TestApp, before: i64, what: &str) {
    let after = app.running.store.last_event_seq().await.unwrap();
    assert_eq!(after, before, "{what}: an event was appended");
}

both_backends!(bad_keys_are_refused_with_a_clear_message_and_not_stored, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let store = &app.running.store;
    let keys_before = svc.own_client(&Caller::Operator, c.client_id).await.unwrap().keys;
    let seq_before = store.last_event_seq().await.unwrap();

    // A 1024-bit key generated now with OpenSSL when it is installed, else the fixture.
    let rsa1024 = openssl_rsa1024().unwrap_or_else(|| fixture("rsa1024_public.pem"));
    let b64 = |s: &str| base64_std(s.as_bytes());
    let cert = fixture("rsa2048_cert.pem");
    let pkcs8 = fixture("rsa2048_private_pkcs8.pem");
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("RSA 1024", rsa1024.clone(), &["1024", "2048"][..]),
        ("RSA 1024 base64", b64(&rsa1024), &["1024", "2048"][..]),
        ("EC P-256 public", fixture("ec_p256_public.pem"), &["RSA"][..]),
        ("EC P-256 private", fixture("ec_p256_private.pem"), &["privat"][..]),
        ("RSA private PKCS#8", pkcs8.clone(), &["privat"][..]),
        ("RSA private PKCS#8 base64", b64(&pkcs8), &["privat"][..]),
        ("RSA private PKCS#1", fixture("rsa2048_private_pkcs1.pem"), &["privat"][..]),
        ("RSA private encrypted", fixture("rsa2048_private_encrypted.pem"), &["privat"][..]),
        ("public and private together", format!("{}\n{}", fixture("rsa2048_public.pem"), pkcs8), &["privat"][..]),
        ("certificate", cert.clone(), &["certificat"][..]),
        ("certificate base64", b64(&cert), &["certificat"][..]),
        ("PKCS#1 public key", fixture("rsa2048_public_pkcs1.pem"), &["PKCS#1"][..]),
        ("random base64", fixture("garbage.txt"), &[][..]),
        ("empty", String::new(), &["vuota"][..]),
        ("a sentence", "la mia chiave".into(), &[][..]),
        ("PEM with a broken body", "-----BEGIN PUBLIC KEY-----\nAAAA@@@@\n-----END PUBLIC KEY-----\n".into(), &[][..]),
        (
            "a huge PEM",
            format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", "A".repeat(100_000)),
            &[][..],
        ),
    ];
    for (what, pem, words) in &cases {
        let actor = Caller::Operator;
        match svc.add_client_key(&actor, c.client_id, "Chiave non valida", pem).await {
            Err(AppError::InvalidKey(msg)) => {
                assert!(!msg.trim().is_empty(), "{what}: empty message");
                for w in *words {
                    assert!(msg.contains(w), "{what}: message {msg:?} does not mention {w:?}");
                }
                // The message never echoes key material.
                assert!(!msg.contains("MII"), "{what}: {msg}");
                let shown = AppError::InvalidKey(msg.clone()).to_string();
                assert!(shown.starts_with("chiave pubblica non valida: "), "{shown}");
                let problem = varco_http::Problem::from(AppError::InvalidKey(msg.clone()));
                assert_eq!(problem.status, 400);
            }
            other => panic!("{what}: expected InvalidKey, got {other:?}"),
        }
        assert_eq!(
            svc.own_client(&Caller::Operator, c.client_id).await.unwrap().keys,
            keys_before,
            "{what}: keys changed"
        );
        expect_nothing_written(&app, seq_before, what).await;
    }
    // The fixtures' good public key, plain and base64 (as PDND's API sends it), is accepted.
    let good = svc.add_client_key(&Caller::Operator, c.client_id, "Chiave buona", &fixture("rsa2048_public.pem")).await;
    assert_eq!(good.unwrap().kid.as_str(), "_Oesfaxf1VyUJVQde7RakYcisfmWaVj4p7MdDHj7d-k");
    assert_eq!(svc.own_client(&Caller::Operator, c.client_id).await.unwrap().keys.len(), keys_before.len() + 1);
    let key4096 = fixture("rsa4096_public.pem");
    let k = svc.add_client_key(&Caller::Operator, c.client_id, "Chiave 4096", &b64(&key4096)).await.unwrap();
    assert_eq!(k.kid.as_str(), "yfUfxSatVybBxaKf3IH1uVUdBntOdc5XCPg8AuDBLIY");
});

/// `openssl genpkey` 1024 bits, public half; None without the openssl CLI.
fn openssl_rsa1024() -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let priv_path = dir.path().join("k.pem");
    let ok = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out"])
        .arg(&priv_path)
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let out = std::process::Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&priv_path).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn base64_std(bytes: &[u8]) -> String {
    // The standard alphabet with padding, as `base64 -w0` writes it.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_helper_matches_the_fixture() {
    assert_eq!(base64_std(fixture("rsa2048_public.pem").as_bytes()), fixture("rsa2048_public.pem.b64").trim());
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::NotFound(_)) | Err(AppError::Domain(DomainError::NotFound(_))))
}

both_backends!(unknown_ids_are_not_found_and_write_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let before = app.running.store.last_event_seq().await.unwrap();
    let op = Caller::Operator;
    let pem = RsaPrivateKey::generate_2048().public_key().to_pem();
    let es = svc.eservice(&Caller::Operator, c.eservice_id).await.unwrap();
    let checks: Vec<(&str, bool)> = vec![
        ("client", is_not_found(svc.own_client(&Caller::Operator, ClientId::new()).await)),
        ("purpose", is_not_found(svc.purpose(&Caller::Operator, PurposeId::new()).await)),
        ("eservice", is_not_found(svc.eservice(&Caller::Operator, EServiceId::new()).await)),
        ("agreement", is_not_found(svc.agreement(&Caller::Operator, AgreementId::new()).await)),
        ("tenant", is_not_found(svc.tenant(&Caller::Operator, TenantId::new()).await)),
        ("tenant by name", is_not_found(svc.tenant_by_name(&Caller::Operator, "Comune che non c'è").await)),
        (
            "key on unknown client",
            is_not_found(svc.add_client_key(&op, ClientId::new(), "Chiave di prova", &pem).await),
        ),
        ("unknown purpose", is_not_found(svc.add_client_purpose(&op, c.client_id, PurposeId::new()).await)),
        ("purpose on unknown client", is_not_found(svc.add_client_purpose(&op, ClientId::new(), c.purpose_id).await)),
        (
            "agreement on unknown eservice",
            is_not_found(svc.create_agreement(&op, c.tenant_id, EServiceId::new()).await),
        ),
        ("agreement of unknown tenant", is_not_found(svc.create_agreement(&op, TenantId::new(), es.id).await)),
        ("suspend unknown agreement", is_not_found(svc.suspend_agreement(&op, AgreementId::new()).await)),
        ("suspend unknown purpose", is_not_found(svc.suspend_purpose(&op, PurposeId::new()).await)),
        ("activate unknown purpose", is_not_found(svc.activate_purpose(&op, PurposeId::new()).await)),
        ("suspend unknown descriptor", is_not_found(svc.suspend_descriptor(&op, es.id, DescriptorId::new()).await)),
        (
            "suspend unknown eservice",
            is_not_found(svc.suspend_descriptor(&op, EServiceId::new(), es.descriptors[0].id).await),
        ),
        (
            "delete a key the client does not have",
            is_not_found(svc.delete_client_key(&op, c.client_id, &RsaPrivateKey::generate_2048().kid()).await),
        ),
        (
            "client for unknown tenant",
            is_not_found(
                svc.create_client(&op, TenantId::new(), ClientKind::Api, "Client di prova", None, vec![], None).await,
            ),
        ),
    ];
    let wrong: Vec<_> = checks.iter().filter(|(_, ok)| !ok).map(|(w, _)| *w).collect();
    assert!(wrong.is_empty(), "not NotFound: {wrong:?}");
    expect_nothing_written(&app, before, "unknown ids").await;
});

both_backends!(ids_of_another_environment_are_not_found_and_write_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let prod = app.running.platform.env(Env::Produzione);
    let op = Caller::Operator;
    let prod_tenant = prod.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    assert_ne!(prod_tenant.id, c.tenant_id);
    let prod_client = prod
        .create_client(&op, prod_tenant.id, ClientKind::Consumer, "Client e-service produzione", None, vec![], None)
        .await
        .unwrap();
    let before = app.running.store.last_event_seq().await.unwrap();
    let collaudo_es =
        app.running.platform.env(Env::Collaudo).eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    assert!(
        is_not_found(prod.eservice_by_name(&Caller::Operator, SEND_UAT).await),
        "the demo e-service is only in Collaudo"
    );
    let pem = RsaPrivateKey::generate_2048().public_key().to_pem();
    let as_user = Caller::Person {
        env: Env::Produzione,
        tenant: prod_tenant.id,
        user: UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    let checks: Vec<(&str, bool)> = vec![
        ("read the client", is_not_found(prod.own_client(&Caller::Operator, c.client_id).await)),
        ("read the purpose", is_not_found(prod.purpose(&Caller::Operator, c.purpose_id).await)),
        ("read the agreement", is_not_found(prod.agreement(&Caller::Operator, c.agreement_id).await)),
        ("read the tenant", is_not_found(prod.tenant(&Caller::Operator, c.tenant_id).await)),
        (
            "agreement on the Collaudo e-service",
            is_not_found(prod.create_agreement(&op, prod_tenant.id, collaudo_es.id).await),
        ),
        (
            "agreement on the Collaudo e-service, as the tenant",
            is_not_found(prod.create_agreement(&as_user, prod_tenant.id, collaudo_es.id).await),
        ),
        (
            "agreement for the Collaudo tenant",
            is_not_found(prod.create_agreement(&op, c.tenant_id, collaudo_es.id).await),
        ),
        (
            "associate a Collaudo purpose",
            is_not_found(prod.add_client_purpose(&op, prod_client.id, c.purpose_id).await),
        ),
        (
            "associate on the Collaudo client",
            is_not_found(prod.add_client_purpose(&op, c.client_id, c.purpose_id).await),
        ),
        (
            "key on the Collaudo client",
            is_not_found(prod.add_client_key(&op, c.client_id, "Chiave di prova", &pem).await),
        ),
        (
            "purpose on the Collaudo e-service",
            is_not_found(
                prod.create_purpose(&op, prod_tenant.id, collaudo_es.id, "Finalità", "Descrizione", 10, None, None)
                    .await,
            ),
        ),
        ("suspend the Collaudo agreement", is_not_found(prod.suspend_agreement(&op, c.agreement_id).await)),
        ("suspend the Collaudo purpose", is_not_found(prod.suspend_purpose(&op, c.purpose_id).await)),
        (
            "suspend the Collaudo descriptor",
            is_not_found(prod.suspend_descriptor(&op, collaudo_es.id, collaudo_es.descriptors[0].id).await),
        ),
        (
            "client for the Collaudo tenant",
            is_not_found(
                prod.create_client(&op, c.tenant_id, ClientKind::Api, "Client di prova", None, vec![], None).await,
            ),
        ),
    ];
    let wrong: Vec<_> = checks.iter().filter(|(_, ok)| !ok).map(|(w, _)| *w).collect();
    assert!(wrong.is_empty(), "not NotFound: {wrong:?}");
    expect_nothing_written(&app, before, "Collaudo ids in Produzione").await;
    assert!(prod.own_client(&Caller::Operator, prod_client.id).await.unwrap().purposes.is_empty());
    assert!(prod
        .agreements(
            &Caller::Operator,
            &varco_platform::AgreementFilter { consumers: vec![prod_tenant.id], ..Default::default() },
            varco_platform::Page::ALL
        )
        .await
        .unwrap()
        .items
        .is_empty());
    // The Collaudo side is untouched.
    let collaudo = app.running.platform.env(Env::Collaudo);
    assert_eq!(collaudo.agreement(&Caller::Operator, c.agreement_id).await.unwrap().state, AgreementState::Active);
    assert_eq!(collaudo.own_client(&Caller::Operator, c.client_id).await.unwrap().keys.len(), 1);
});

both_backends!(duplicate_kid_is_a_conflict_and_writes_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let other = setup_api_client(&app, Env::Collaudo, COMUNE_DI_ESEMPIO, false).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let store = &app.running.store;
    let before = store.last_event_seq().await.unwrap();
    let pem = c.key.public_key().to_pem();
    // Again on the same client, as base64 PEM, and on another organisation's client.
    for (what, client, key) in [
        ("same client", c.client_id, pem.clone()),
        ("same client, base64", c.client_id, base64_std(pem.as_bytes())),
        ("another tenant's client", other.client_id, pem.clone()),
    ] {
        match svc.add_client_key(&Caller::Operator, client, "Chiave duplicata", &key).await {
            Err(AppError::Conflict(msg)) => assert!(msg.contains(&c.kid), "{what}: {msg}"),
            r => panic!("{what}: expected Conflict, got {r:?}"),
        }
        expect_nothing_written(&app, before, what).await;
    }
    assert_eq!(svc.own_client(&Caller::Operator, c.client_id).await.unwrap().keys.len(), 1);
    assert_eq!(svc.own_client(&Caller::Operator, other.client_id).await.unwrap().keys.len(), 1);
    assert_eq!(store.client_of_kid(Env::Collaudo, &c.kid).await.unwrap(), Some(c.client_id.to_string()));
    // The store still works after the refused transaction (PostgreSQL aborts it).
    assert_eq!(request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await.status, StatusCode::OK);
    let pem = fixture("rsa2048_public.pem");
    assert!(svc.add_client_key(&Caller::Operator, other.client_id, "Seconda chiave", &pem).await.is_ok());
});

// The machine API answers in its own shape even where no operation is reached: an
// unknown environment, an unknown operation (PDND's Problem always lists an error).
both_backends!(machine_api_404s_carry_a_code_and_the_correlation_id, |backend| async move {
    let app = spawn_app(backend).await;
    for path in [
        "/interop/sviluppo/api/v2/eservices",
        "/interop/sviluppo/api/v3/eservices",
        "/interop/collaudo/api/v2/no-such-operation",
        "/interop/collaudo/api/v3/clients/x/y/z",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        let body = r.json();
        assert_api_problem(&body, 404);
        assert_eq!(body["correlationId"].as_str(), r.header("x-correlation-id"), "{path}: body and header agree");
    }
});
