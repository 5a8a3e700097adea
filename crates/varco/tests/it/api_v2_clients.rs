//! The machine API (v2): clients, keys, tenants and attributes.
use crate::common;
use varco_platform::Caller;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::Env;

const BASE: &str = "/interop/collaudo/api/v2";

async fn voucher(app: &TestApp, api: &ApiClient) -> String {
    let r = post_token(app, api.env, &token_form(&api.assertion(app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(&format!("{BASE}{path}"))).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = read(req.send().await.unwrap()).await;
    if r.status.is_client_error() {
        assert_eq!(r.content_type(), Some("application/problem+json"), "{}", r.text);
    }
    let body = if r.text.is_empty() { Value::Null } else { r.json() };
    (r.status, body)
}

async fn get_(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    call(app, Method::GET, path, token, None).await
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

varco::both_backends!(clients_purposes_and_keys, |backend| async move {
    let app = spawn_app(backend).await;
    let consumer = setup_consumer(&app, "Comune di Prova").await;
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let token = voucher(&app, &api).await;
    let other = setup_consumer(&app, "Comune di Esempio").await;
    let cid = consumer.client_id;

    // The list shows own clients in full and the others' only as id + owner.
    let (status, list) = get_(&app, "/clients?offset=0&limit=50", &token).await;
    assert_eq!(status, 200, "{list}");
    let results = list["results"].as_array().unwrap();
    let own = results.iter().find(|c| c["id"] == json!(cid)).expect("own consumer client listed");
    assert_eq!(keys_of(own), ["consumerId", "createdAt", "id", "name"]);
    assert_eq!(own["consumerId"], json!(consumer.tenant_id));
    let theirs = results.iter().find(|c| c["id"] == json!(other.client_id)).expect("other client listed");
    assert_eq!(keys_of(theirs), ["consumerId", "id"]);
    let (_, mine) = get_(&app, &format!("/clients?offset=0&limit=50&consumerId={}", consumer.tenant_id), &token).await;
    assert!(mine["results"].as_array().unwrap().iter().all(|c| c["consumerId"] == json!(consumer.tenant_id)));
    assert_eq!(mine["pagination"]["totalCount"], 2, "consumer client and API client: {mine}");
    let (_, named) = get_(&app, "/clients?offset=0&limit=50&name=client", &token).await;
    assert!(named["results"].as_array().unwrap().iter().all(|c| c["consumerId"] == json!(consumer.tenant_id)));
    assert_api_refused(get_(&app, "/clients?offset=0&limit=50&consumerId=nope", &token).await, 400);
    assert_api_refused(get_(&app, "/clients?offset=0", &token).await, 400);

    let (status, one) = get_(&app, &format!("/clients/{cid}"), &token).await;
    assert_eq!((status, &one), (StatusCode::OK, own));
    let (status, partial) = get_(&app, &format!("/clients/{}", other.client_id), &token).await;
    assert_eq!(status, 200);
    assert_eq!(keys_of(&partial), ["consumerId", "id"]);

    // Purposes: remove the association made by setup, add it back, twice → 409.
    let path = format!("/clients/{cid}/purposes");
    let (status, ps) = get_(&app, &format!("{path}?offset=0&limit=10"), &token).await;
    assert_eq!(status, 200, "{ps}");
    assert_eq!(ps["results"][0]["id"], json!(consumer.purpose_id));
    assert_eq!(ps["results"][0]["currentVersion"]["state"], "ACTIVE");
    assert_eq!(ps["results"][0]["isRiskAnalysisValid"], true);
    let (status, body) = call(&app, Method::DELETE, &format!("{path}/{}", consumer.purpose_id), &token, None).await;
    assert_eq!(status, 204, "{body}");
    let (_, ps) = get_(&app, &format!("{path}?offset=0&limit=10"), &token).await;
    assert_eq!(ps["pagination"]["totalCount"], 0);
    let (status, body) = call(&app, Method::DELETE, &format!("{path}/{}", consumer.purpose_id), &token, None).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    let seed = json!({ "purposeId": consumer.purpose_id });
    let (status, body) = call(&app, Method::POST, &path, &token, Some(seed.clone())).await;
    assert_eq!(status, 204, "{body}");
    assert_api_refused(call(&app, Method::POST, &path, &token, Some(seed.clone())).await, 409);
    let (_, ps) = get_(&app, &format!("{path}?offset=0&limit=10&states=ACTIVE"), &token).await;
    assert_eq!(ps["pagination"]["totalCount"], 1);
    let (_, ps) = get_(&app, &format!("{path}?offset=0&limit=10&states=ARCHIVED"), &token).await;
    assert_eq!(ps["pagination"]["totalCount"], 0);
    assert_api_refused(get_(&app, &format!("{path}?offset=0&limit=10&states=NOPE"), &token).await, 400);
    // Bad bodies.
    for bad in [json!({}), json!({ "purposeId": "x" }), json!({ "purposeId": consumer.purpose_id, "extra": 1 })] {
        let (status, body) = call(&app, Method::POST, &path, &token, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
    }
    let unknown = json!({ "purposeId": uuid::Uuid::new_v4() });
    assert_api_refused(call(&app, Method::POST, &path, &token, Some(unknown)).await, 404);
    // Another organisation's purpose, and another organisation's client.
    let theirs = json!({ "purposeId": other.purpose_id });
    assert_api_refused(call(&app, Method::POST, &path, &token, Some(theirs)).await, 403);
    let other_path = format!("/clients/{}/purposes", other.client_id);
    assert_api_refused(call(&app, Method::POST, &other_path, &token, Some(seed.clone())).await, 403);
    assert_api_refused(get_(&app, &format!("{other_path}?offset=0&limit=10"), &token).await, 403);
    let del = format!("{other_path}/{}", other.purpose_id);
    assert_api_refused(call(&app, Method::DELETE, &del, &token, None).await, 403);

    // Keys: the client's JWKs, and one by kid with the same n/e as the uploaded key.
    let (status, ks) = get_(&app, &format!("/clients/{cid}/keys?offset=0&limit=10"), &token).await;
    assert_eq!(status, 200, "{ks}");
    assert_eq!(ks["pagination"]["totalCount"], 1);
    let uploaded = consumer.key.public_key().jwk();
    let listed = &ks["results"][0];
    assert_eq!((&listed["kid"], &listed["n"], &listed["e"]), (&uploaded["kid"], &uploaded["n"], &uploaded["e"]));
    assert_eq!(listed["kty"], "RSA");
    assert_api_refused(get_(&app, &format!("/clients/{}/keys?offset=0&limit=10", other.client_id), &token).await, 403);
    // Any caller reads any key by kid, even the other organisation's.
    let (status, k) = get_(&app, &format!("/keys/{}", consumer.kid), &token).await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["clientId"], json!(cid));
    assert_eq!(k["jwk"]["n"], uploaded["n"]);
    assert_eq!(k["jwk"]["e"], uploaded["e"]);
    assert_eq!(k["jwk"]["kid"], json!(consumer.kid));
    let (status, k) = get_(&app, &format!("/keys/{}", other.kid), &token).await;
    assert_eq!((status, &k["jwk"]["n"]), (StatusCode::OK, &other.key.public_key().jwk()["n"]));
    assert_api_refused(get_(&app, "/keys/unknown-kid", &token).await, 404);

    // Unknown ids, bad UUIDs.
    let nobody = uuid::Uuid::new_v4();
    assert_api_refused(get_(&app, &format!("/clients/{nobody}"), &token).await, 404);
    assert_api_refused(get_(&app, &format!("/clients/{nobody}/keys?offset=0&limit=10"), &token).await, 404);
    assert_api_refused(get_(&app, "/clients/not-a-uuid", &token).await, 400);
    assert_api_refused(get_(&app, "/clients/not-a-uuid/purposes?offset=0&limit=10", &token).await, 400);
    assert_api_refused(call(&app, Method::DELETE, &format!("{path}/not-a-uuid"), &token, None).await, 400);

    // A read-only (m2m) caller reads but does not write.
    let reader = setup_api_client(&app, Env::Collaudo, "Comune di Prova", false).await;
    let ro = voucher(&app, &reader).await;
    assert_eq!(get_(&app, &format!("/clients/{cid}/keys?offset=0&limit=10"), &ro).await.0, 200);
    assert_api_refused(call(&app, Method::POST, &path, &ro, Some(seed)).await, 403);
    let del = format!("{path}/{}", consumer.purpose_id);
    assert_api_refused(call(&app, Method::DELETE, &del, &ro, None).await, 403);
});

varco::both_backends!(tenants_and_declared_attributes, |backend| async move {
    let app = spawn_app(backend).await;
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let token = voucher(&app, &api).await;
    let me = api.tenant_id;

    let (status, list) = get_(&app, "/tenants?offset=0&limit=50", &token).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["pagination"]["totalCount"], 3, "{list}");
    let (_, by_ipa) = get_(&app, "/tenants?offset=0&limit=50&IPACode=c_prova", &token).await;
    assert_eq!(by_ipa["pagination"]["totalCount"], 1);
    let t = &by_ipa["results"][0];
    assert_eq!(t["id"], json!(me));
    assert_eq!(t["name"], "Comune di Prova");
    assert_eq!(t["kind"], "PA");
    assert_eq!(t["externalId"], json!({ "origin": "IPA", "value": "c_prova" }));
    assert_eq!(keys_of(t), ["createdAt", "externalId", "id", "kind", "name", "onboardedAt"]);
    let (_, none) = get_(&app, "/tenants?offset=0&limit=50&taxCode=c_prova", &token).await;
    assert_eq!(none["pagination"]["totalCount"], 0);
    assert_api_refused(get_(&app, "/tenants?offset=0&limit=50&taxCode=a&IPACode=b", &token).await, 400);
    let (status, one) = get_(&app, &format!("/tenants/{me}"), &token).await;
    assert_eq!((status, &one), (StatusCode::OK, t));
    assert_api_refused(get_(&app, &format!("/tenants/{}", uuid::Uuid::new_v4()), &token).await, 404);
    assert_api_refused(get_(&app, "/tenants/123", &token).await, 400);

    // A declared attribute: created in the registry, declared, listed, revoked.
    let seed = json!({ "name": "Ente con sportello digitale", "description": "L'ente offre uno sportello digitale" });
    let (status, attr) = call(&app, Method::POST, "/declaredAttributes", &token, Some(seed.clone())).await;
    assert_eq!(status, 201, "{attr}");
    assert_eq!(keys_of(&attr), ["createdAt", "description", "id", "name"]);
    let aid = attr["id"].as_str().unwrap().to_string();
    assert_api_refused(call(&app, Method::POST, "/declaredAttributes", &token, Some(seed)).await, 409);
    let short = json!({ "name": "Ente", "description": "troppo" });
    assert_api_refused(call(&app, Method::POST, "/declaredAttributes", &token, Some(short)).await, 400);
    let (status, again) = get_(&app, &format!("/declaredAttributes/{aid}"), &token).await;
    assert_eq!((status, &again), (StatusCode::OK, &attr));
    assert_api_refused(get_(&app, &format!("/certifiedAttributes/{aid}"), &token).await, 404);
    let (_, all) = get_(&app, "/declaredAttributes?offset=0&limit=50", &token).await;
    assert!(all["results"].as_array().unwrap().contains(&attr), "{all}");

    let path = format!("/tenants/{me}/declaredAttributes");
    let (status, held) = call(&app, Method::POST, &path, &token, Some(json!({ "id": aid }))).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["id"], json!(aid));
    assert!(held.get("revokedAt").is_none());
    let (_, ds) = get_(&app, &format!("{path}?offset=0&limit=10"), &token).await;
    assert_eq!(ds["pagination"]["totalCount"], 1);
    assert_eq!(ds["results"][0], held);
    let (_, cs) = get_(&app, &format!("/tenants/{me}/certifiedAttributes?offset=0&limit=10"), &token).await;
    assert_eq!(cs["pagination"]["totalCount"], 0);
    let (status, vs) = get_(&app, &format!("/tenants/{me}/verifiedAttributes?offset=0&limit=10"), &token).await;
    assert_eq!((status, &vs["pagination"]["totalCount"]), (StatusCode::OK, &json!(0)));

    // Not for another organisation; not read-only callers; bad input.
    let other = app
        .running
        .platform
        .env(Env::Collaudo)
        .tenant_by_name(&Caller::Operator, "Comune di Esempio")
        .await
        .unwrap()
        .id;
    let other_path = format!("/tenants/{other}/declaredAttributes");
    assert_api_refused(call(&app, Method::POST, &other_path, &token, Some(json!({ "id": aid }))).await, 403);
    assert_api_refused(call(&app, Method::DELETE, &format!("{other_path}/{aid}"), &token, None).await, 403);
    let reader = setup_api_client(&app, Env::Collaudo, "Comune di Prova", false).await;
    let ro = voucher(&app, &reader).await;
    assert_api_refused(call(&app, Method::POST, &path, &ro, Some(json!({ "id": aid }))).await, 403);
    assert_api_refused(call(&app, Method::DELETE, &format!("{path}/{aid}"), &ro, None).await, 403);
    let ro_seed = json!({ "name": "Attributo in sola lettura", "description": "Non deve essere creato" });
    assert_api_refused(call(&app, Method::POST, "/declaredAttributes", &ro, Some(ro_seed)).await, 403);
    assert_eq!(get_(&app, &format!("{path}?offset=0&limit=10"), &ro).await.0, 200);
    assert_api_refused(call(&app, Method::POST, &path, &token, Some(json!({ "id": "x" }))).await, 400);
    let unknown = json!({ "id": uuid::Uuid::new_v4() });
    assert_api_refused(call(&app, Method::POST, &path, &token, Some(unknown)).await, 404);

    let (status, revoked) = call(&app, Method::DELETE, &format!("{path}/{aid}"), &token, None).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    assert_api_refused(call(&app, Method::DELETE, &format!("{path}/{aid}"), &token, None).await, 404);
    let (_, ds) = get_(&app, &format!("{path}?offset=0&limit=10"), &token).await;
    assert!(ds["results"][0]["revokedAt"].is_string(), "{ds}");
    assert_api_refused(call(&app, Method::DELETE, &format!("{path}/not-a-uuid"), &token, None).await, 400);
});
