//! Varco's own OpenAPI document is made from the route table: every operation it
//! lists is served, on both API versions (on SQLite and on PostgreSQL).
use crate::common;

use common::*;
use varco::testkit::{spawn_app, Backend};
use varco_domain::Env;
use varco_jose::{build_dpop_proof, RsaPrivateKey};

varco::both_backends!(every_documented_operation_is_routed, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let doc: serde_json::Value =
        app.http.get(app.url("/interop/collaudo/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["servers"][0]["url"], app.url("/interop/collaudo"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/token.oauth2"));
    for p in ["/api/v2/eservices", "/api/v2/agreements", "/api/v2/purposes", "/api/v2/clients", "/api/v3/clients"] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    assert!(paths["/api/v3/clients"].get("post").is_some(), "v3 creates clients");
    assert!(paths["/api/v2/clients"].get("post").is_none(), "v2 does not");

    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", false).await;
    let bearer = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[]).await.json()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let dpop_key = RsaPrivateKey::generate_2048();
    let token_url = app.url("/interop/collaudo/token.oauth2");
    let mut checked = 0;
    for (path, item) in paths {
        let Some(rest) = path.strip_prefix("/api/") else { continue };
        let v3 = rest.starts_with("v3/");
        for (method, _) in item.as_object().unwrap() {
            // Fill path parameters with well-formed values of nothing that exists.
            let concrete: String = path
                .split('/')
                .map(|seg| {
                    if seg == "{kid}" || seg == "{keyId}" {
                        "A".repeat(43)
                    } else if seg.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let url = app.url(&format!("/interop/collaudo{concrete}"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = app.http.request(m.clone(), format!("{url}?offset=0&limit=5"));
            if v3 {
                let proof =
                    build_dpop_proof(&dpop_key, "POST", &token_url, now(), &uuid::Uuid::new_v4().to_string(), None);
                let r = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[proof]).await;
                let voucher = r.json()["access_token"].as_str().unwrap().to_string();
                let proof = build_dpop_proof(
                    &dpop_key,
                    m.as_str(),
                    &url,
                    now(),
                    &uuid::Uuid::new_v4().to_string(),
                    Some(&voucher),
                );
                req = req.header("authorization", format!("DPoP {voucher}")).header("DPoP", proof);
            } else {
                req = req.bearer_auth(&bearer);
            }
            if m == reqwest::Method::POST {
                req = req.json(&serde_json::json!({}));
            }
            let r = read(req.send().await.unwrap()).await;
            assert_ne!(r.status, 405, "{method} {path} is not routed");
            assert!(!(r.status == 404 && r.text.contains("no such resource")), "{method} {path} is not routed");
            assert_ne!(r.status, 401, "{method} {path}: {}", r.text);
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} operations");
});
