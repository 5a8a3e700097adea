//! The machine API (v2), first slice: who may call it, pagination, e-service reads.
use crate::common;
use crate::pdnd_schema;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::Env;

async fn voucher(app: &TestApp, assertion: &str, env: Env) -> String {
    let r = post_token(app, env, &token_form(assertion, None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

async fn get_api(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = read(req.send().await.unwrap()).await;
    pdnd_schema::seen(&r);
    (r.status, pdnd_schema::body_of(&r.text))
}

varco::both_backends!(only_this_environments_api_vouchers_are_accepted, |backend| async move {
    let app = spawn_app(backend).await;
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let token = voucher(&app, &api.assertion(&app), Env::Collaudo).await;
    let path = "/interop/collaudo/api/v2/eservices?offset=0&limit=10";

    let (status, body) = get_api(&app, path, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let send = body["results"].as_array().unwrap().iter().find(|e| e["name"] == varco_platform::demo::SEND_UAT);
    assert!(send.is_some(), "{body}");
    assert_eq!(body["pagination"]["limit"], 10);

    // No voucher, a garbage one, a consumer (e-service) voucher, another environment's.
    let (status, body) = get_api(&app, path, None).await;
    assert_eq!(status, 401);
    assert_api_problem(&body, 401);
    assert_eq!(body["errors"][0]["code"].as_str().map(str::len), Some(8), "{body}");
    assert_api_refused(get_api(&app, path, Some("abc.def.ghi")).await, 401);
    let consumer = setup_consumer(&app, "Comune di Esempio").await;
    let consumer_voucher = voucher(&app, &consumer.assertion(&app), Env::Collaudo).await;
    assert_api_refused(get_api(&app, path, Some(&consumer_voucher)).await, 401);
    let prod = setup_api_client(&app, Env::Produzione, "Comune di Prova", true).await;
    let prod_token = voucher(&app, &prod.assertion(&app), Env::Produzione).await;
    assert_api_refused(get_api(&app, path, Some(&prod_token)).await, 401);
    assert_eq!(get_api(&app, "/interop/produzione/api/v2/eservices?offset=0&limit=10", Some(&prod_token)).await.0, 200);
    // A tampered voucher.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] = varco_jose::b64url_encode(br#"{"role":"m2m-admin"}"#);
    assert_api_refused(get_api(&app, path, Some(&parts.join("."))).await, 401);
});

varco::both_backends!(eservice_reads_and_pagination, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", false).await;
    let token = voucher(&app, &api.assertion(&app), Env::Collaudo).await;
    let base = "/interop/collaudo/api/v2";

    for bad in ["offset=0", "limit=5", "offset=0&limit=0", "offset=0&limit=51", "offset=-1&limit=5", "offset=x&limit=5"]
    {
        let (status, body) = get_api(&app, &format!("{base}/eservices?{bad}"), Some(&token)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("get", "/eservices", 400, &body);
    }
    let (_, list) = get_api(&app, &format!("{base}/eservices?offset=0&limit=50&name=send"), Some(&token)).await;
    assert_eq!(list["pagination"]["totalCount"], 1, "{list}");
    rec.record("get", "/eservices", 200, &list);
    let es = &list["results"][0];
    let id = es["id"].as_str().unwrap();
    assert_eq!(es["technology"], "REST");
    assert_eq!(es["mode"], "DELIVER");

    let (status, one) = get_api(&app, &format!("{base}/eservices/{id}"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(&one, es);
    rec.record("get", "/eservices/{eserviceId}", 200, &one);
    let (_, ds) = get_api(&app, &format!("{base}/eservices/{id}/descriptors?offset=0&limit=10"), Some(&token)).await;
    rec.record("get", "/eservices/{eserviceId}/descriptors", 200, &ds);
    let d = &ds["results"][0];
    assert_eq!(d["state"], "PUBLISHED");
    assert_eq!(d["audience"][0], varco_platform::demo::SEND_UAT_AUDIENCE);
    assert_eq!(d["voucherLifespan"], 3600);
    let did = d["id"].as_str().unwrap();
    let (status, one) = get_api(&app, &format!("{base}/eservices/{id}/descriptors/{did}"), Some(&token)).await;
    assert_eq!((status, &one), (StatusCode::OK, d));
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}", 200, &one);

    let (status, refusal) = get_api(&app, &format!("{base}/eservices/not-a-uuid"), Some(&token)).await;
    assert_eq!(status, 400);
    assert_api_problem(&refusal, 400);
    let (status, body) = get_api(&app, &format!("{base}/eservices/{}", uuid::Uuid::new_v4()), Some(&token)).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    rec.record("get", "/eservices/{eserviceId}", 404, &body);
    // The Collaudo e-service does not exist in Produzione.
    let prod = setup_api_client(&app, Env::Produzione, "Comune di Prova", false).await;
    let prod_token = voucher(&app, &prod.assertion(&app), Env::Produzione).await;
    let (status, refusal) =
        get_api(&app, &format!("/interop/produzione/api/v2/eservices/{id}"), Some(&prod_token)).await;
    assert_eq!(status, 404);
    assert_api_problem(&refusal, 404);
    let (status, body) = get_api(&app, &format!("{base}/eservices?offset=0&limit=5"), None).await;
    assert_eq!(status, 401);
    assert_api_problem(&body, 401);
    rec.record("get", "/eservices", 401, &body);
    rec.check(pdnd_schema::V2);
});
