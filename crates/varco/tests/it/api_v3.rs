//! The machine API v3: DPoP-bound vouchers with a proof of possession per call.
use crate::common;
use crate::pdnd_schema;

use common::*;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::Env;
use varco_jose::{build_dpop_proof, RsaPrivateKey};

/// A DPoP-bound API voucher of Comune di Prova in Collaudo, and the DPoP key.
async fn dpop_voucher(app: &TestApp) -> (String, RsaPrivateKey) {
    let api = setup_api_client(app, Env::Collaudo, "Comune di Prova", true).await;
    let dpop_key = RsaPrivateKey::generate_2048();
    let htu = app.url("/interop/collaudo/token.oauth2");
    let proof = build_dpop_proof(&dpop_key, "POST", &htu, now(), &uuid::Uuid::new_v4().to_string(), None);
    let r = post_token(app, Env::Collaudo, &token_form(&api.assertion(app), None), &[proof]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token_type"], "DPoP");
    (r.json()["access_token"].as_str().unwrap().to_string(), dpop_key)
}

async fn call(app: &TestApp, path: &str, auth: Option<String>, proofs: &[String]) -> (u16, serde_json::Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for p in proofs {
        req = req.header("DPoP", p);
    }
    let r = read(req.send().await.unwrap()).await;
    (r.status.as_u16(), pdnd_schema::body_of(&r.text))
}

varco::both_backends!(v3_needs_a_fresh_proof_bound_to_the_voucher, |backend| async move {
    let app = spawn_app(backend).await;
    let (voucher, key) = dpop_voucher(&app).await;
    let path = "/interop/collaudo/api/v3/eservices?offset=0&limit=5";
    let htu = app.url("/interop/collaudo/api/v3/eservices");
    let proof = |k: &RsaPrivateKey, method: &str, htu: &str, token: Option<&str>| {
        build_dpop_proof(k, method, htu, now(), &uuid::Uuid::new_v4().to_string(), token)
    };
    let good = proof(&key, "GET", &htu, Some(&voucher));
    assert_eq!(call(&app, path, Some(format!("DPoP {voucher}")), std::slice::from_ref(&good)).await.0, 200);
    // The same proof again: replay.
    assert_api_refused(call(&app, path, Some(format!("DPoP {voucher}")), &[good]).await, 401);
    // No proof; a proof for another URL, method, voucher, or signed by another key.
    assert_api_refused(call(&app, path, Some(format!("DPoP {voucher}")), &[]).await, 401);
    let other_url = app.url("/interop/collaudo/api/v3/clients");
    assert_api_refused(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "GET", &other_url, Some(&voucher))]).await,
        401,
    );
    assert_api_refused(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "POST", &htu, Some(&voucher))]).await,
        401,
    );
    assert_api_refused(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "GET", &htu, Some("other"))]).await,
        401,
    );
    let stranger = RsaPrivateKey::generate_2048();
    assert_api_refused(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&stranger, "GET", &htu, Some(&voucher))]).await,
        401,
    );
    // The DPoP voucher as Bearer, on v3 or v2.
    let fresh = proof(&key, "GET", &htu, Some(&voucher));
    assert_api_refused(call(&app, path, Some(format!("Bearer {voucher}")), &[fresh]).await, 401);
    assert_api_refused(
        call(&app, "/interop/collaudo/api/v2/eservices?offset=0&limit=5", Some(format!("Bearer {voucher}")), &[]).await,
        401,
    );
    // A Bearer (not bound) voucher on v3.
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Esempio", false).await;
    let r = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[]).await;
    let bearer = r.json()["access_token"].as_str().unwrap().to_string();
    let p = proof(&key, "GET", &htu, Some(&bearer));
    assert_api_refused(call(&app, path, Some(format!("DPoP {bearer}")), &[p]).await, 401);
});

/// Sends `method path` on v3 with a fresh DPoP proof.
async fn v3(
    app: &TestApp,
    voucher: &str,
    key: &RsaPrivateKey,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = app.url(&format!("/interop/collaudo/api/v3{path}"));
    let proof = build_dpop_proof(key, method.as_str(), &url, now(), &uuid::Uuid::new_v4().to_string(), Some(voucher));
    let mut req =
        app.http.request(method, &url).header("authorization", format!("DPoP {voucher}")).header("DPoP", proof);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = read(req.send().await.unwrap()).await;
    pdnd_schema::seen(&r);
    (r.status.as_u16(), pdnd_schema::body_of(&r.text))
}

varco::both_backends!(v3_creates_clients_and_manages_keys, |backend| async move {
    use base64::Engine;
    use reqwest::Method;
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let (voucher, key) = dpop_voucher(&app).await;

    let (status, client) = v3(
        &app,
        &voucher,
        &key,
        Method::POST,
        "/clients",
        Some(serde_json::json!({"name": "Client SEND v3", "description": "Client per le notifiche", "members": []})),
    )
    .await;
    assert_eq!(status, 200, "{client}");
    rec.record("post", "/clients", 200, &client);
    let client_id = client["id"].as_str().unwrap().to_string();

    let (status, bad) =
        v3(&app, &voucher, &key, Method::POST, "/clients", Some(serde_json::json!({"name": "x"}))).await;
    assert_eq!(status, 400, "{bad}");
    assert_api_problem(&bad, 400);
    rec.record("post", "/clients", 400, &bad);

    let upload = RsaPrivateKey::generate_2048();
    let pem_b64 = base64::engine::general_purpose::STANDARD.encode(upload.public_key().to_pem());
    let seed = serde_json::json!({"key": pem_b64, "use": "SIG", "alg": "RS256", "name": "Chiave v3 di prova"});
    let path = format!("/clients/{client_id}/keys");
    let (status, k) = v3(&app, &voucher, &key, Method::POST, &path, Some(seed.clone())).await;
    assert_eq!(status, 200, "{k}");
    rec.record("post", "/clients/{clientId}/keys", 200, &k);
    assert_eq!(k["jwk"]["kid"], upload.kid().to_string());
    assert_eq!(k["jwk"]["n"], upload.public_key().n_b64());
    // The same key again, a private key, a wrong use: 400.
    let (status, dup) = v3(&app, &voucher, &key, Method::POST, &path, Some(seed.clone())).await;
    assert_eq!(status, 400, "{dup}");
    assert_api_problem(&dup, 400);
    rec.record("post", "/clients/{clientId}/keys", 400, &dup);
    let mut private = seed.clone();
    private["key"] = serde_json::json!(base64::engine::general_purpose::STANDARD.encode(upload.to_pkcs8_pem()));
    assert_api_refused(v3(&app, &voucher, &key, Method::POST, &path, Some(private)).await, 400);
    let mut enc = seed.clone();
    enc["use"] = serde_json::json!("ENC");
    assert_api_refused(v3(&app, &voucher, &key, Method::POST, &path, Some(enc)).await, 400);

    // Another organisation cannot add keys to this client.
    let other = setup_api_client(&app, Env::Collaudo, "Comune di Esempio", true).await;
    let other_key = RsaPrivateKey::generate_2048();
    let htu = app.url("/interop/collaudo/token.oauth2");
    let proof = build_dpop_proof(&other_key, "POST", &htu, now(), &uuid::Uuid::new_v4().to_string(), None);
    let r = post_token(&app, Env::Collaudo, &token_form(&other.assertion(&app), None), &[proof]).await;
    let other_voucher = r.json()["access_token"].as_str().unwrap().to_string();
    let mut seed2 = seed.clone();
    seed2["key"] = serde_json::json!(
        base64::engine::general_purpose::STANDARD.encode(RsaPrivateKey::generate_2048().public_key().to_pem())
    );
    let (status, forbidden) = v3(&app, &other_voucher, &other_key, Method::POST, &path, Some(seed2)).await;
    assert_eq!(status, 403, "{forbidden}");
    assert_api_problem(&forbidden, 403);
    rec.record("post", "/clients/{clientId}/keys", 403, &forbidden);

    let kid = upload.kid().to_string();
    let del = format!("/clients/{client_id}/keys/{kid}");
    let (status, done) = v3(&app, &voucher, &key, Method::DELETE, &del, None).await;
    assert_eq!(status, 200, "{done}");
    rec.record("delete", "/clients/{clientId}/keys/{keyId}", 200, &done);
    let (status, gone) = v3(&app, &voucher, &key, Method::DELETE, &del, None).await;
    assert_eq!(status, 404, "{gone}");
    assert_api_problem(&gone, 404);
    rec.record("delete", "/clients/{clientId}/keys/{keyId}", 404, &gone);
    rec.check(pdnd_schema::V3);
});
