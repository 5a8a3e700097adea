//! The machine API v3: DPoP-bound vouchers with a proof of possession per call.
mod common;

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

async fn call(app: &TestApp, path: &str, auth: Option<String>, proofs: &[String]) -> u16 {
    let mut req = app.http.get(app.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for p in proofs {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap().status().as_u16()
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
    assert_eq!(call(&app, path, Some(format!("DPoP {voucher}")), std::slice::from_ref(&good)).await, 200);
    // The same proof again: replay.
    assert_eq!(call(&app, path, Some(format!("DPoP {voucher}")), &[good]).await, 401);
    // No proof; a proof for another URL, method, voucher, or signed by another key.
    assert_eq!(call(&app, path, Some(format!("DPoP {voucher}")), &[]).await, 401);
    let other_url = app.url("/interop/collaudo/api/v3/clients");
    assert_eq!(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "GET", &other_url, Some(&voucher))]).await,
        401
    );
    assert_eq!(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "POST", &htu, Some(&voucher))]).await,
        401
    );
    assert_eq!(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&key, "GET", &htu, Some("other"))]).await,
        401
    );
    let stranger = RsaPrivateKey::generate_2048();
    assert_eq!(
        call(&app, path, Some(format!("DPoP {voucher}")), &[proof(&stranger, "GET", &htu, Some(&voucher))]).await,
        401
    );
    // The DPoP voucher as Bearer, on v3 or v2.
    let fresh = proof(&key, "GET", &htu, Some(&voucher));
    assert_eq!(call(&app, path, Some(format!("Bearer {voucher}")), &[fresh]).await, 401);
    assert_eq!(
        call(&app, "/interop/collaudo/api/v2/eservices?offset=0&limit=5", Some(format!("Bearer {voucher}")), &[]).await,
        401
    );
    // A Bearer (not bound) voucher on v3.
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Esempio", false).await;
    let r = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[]).await;
    let bearer = r.json()["access_token"].as_str().unwrap().to_string();
    let p = proof(&key, "GET", &htu, Some(&bearer));
    assert_eq!(call(&app, path, Some(format!("DPoP {bearer}")), &[p]).await, 401);
});
