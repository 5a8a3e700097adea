//! The machine API (v2): a producer's e-service writes (create, versions, state
//! changes, quotas) and the attribute groups of a version.
use crate::common;
use crate::pdnd_schema;
use varco_platform::Caller;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;

const BASE: &str = "/interop/collaudo/api/v2";

async fn voucher(app: &TestApp, tenant: &str, admin: bool) -> String {
    let api = setup_api_client(app, Env::Collaudo, tenant, admin).await;
    let r = post_token(app, Env::Collaudo, &token_form(&api.assertion(app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// One call of the API; `body` is sent raw so that broken JSON can be tried too.
async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(&format!("{BASE}{path}"))).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let r = read(req.send().await.unwrap()).await;
    pdnd_schema::seen(&r);
    (r.status, pdnd_schema::body_of(&r.text))
}

fn descriptor_seed() -> Value {
    json!({
        "description": "Prima versione del servizio",
        "audience": ["https://api.pagopa.example/test"],
        "voucherLifespan": 600,
        "dailyCallsPerConsumer": 100,
        "dailyCallsTotal": 1000,
        "agreementApprovalPolicy": "AUTOMATIC"
    })
}

fn eservice_seed(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Un e-service creato dall'API",
        "technology": "REST",
        "mode": "DELIVER",
        "descriptor": descriptor_seed(),
    })
}

varco::both_backends!(producer_writes_its_eservices, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let token = voucher(&app, "PagoPA S.p.A.", true).await;
    let post = Method::POST;

    // Create: the e-service comes with its first version, in draft.
    let seed = eservice_seed("Servizio di prova API").to_string();
    let (status, es) = call(&app, post.clone(), "/eservices", &token, Some(&seed)).await;
    assert_eq!(status, 201, "{es}");
    rec.record("post", "/eservices", 201, &es);
    assert_eq!(es["name"], "Servizio di prova API");
    assert_eq!(es["technology"], "REST");
    let eid = es["id"].as_str().unwrap().to_string();
    let (status, list) =
        call(&app, Method::GET, &format!("/eservices/{eid}/descriptors?offset=0&limit=10"), &token, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["pagination"]["totalCount"], 1, "{list}");
    let d1 = list["results"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["results"][0]["state"], "DRAFT");
    assert_eq!(list["results"][0]["voucherLifespan"], 600);

    // A second draft is refused (400: PDND documents no 409 here).
    let (status, body) = call(
        &app,
        post.clone(),
        &format!("/eservices/{eid}/descriptors"),
        &token,
        Some(&descriptor_seed().to_string()),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("post", "/eservices/{eserviceId}/descriptors", 400, &body);

    // Publish, then a second version, published too: the first, with no agreements,
    // is archived.
    let (status, d) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{d1}/publish"), &token, None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["state"], "PUBLISHED");
    assert!(d["publishedAt"].is_string(), "{d}");
    rec.record("post", "/eservices/{eserviceId}/descriptors/{descriptorId}/publish", 200, &d);
    let (status, d) = call(
        &app,
        post.clone(),
        &format!("/eservices/{eid}/descriptors"),
        &token,
        Some(&descriptor_seed().to_string()),
    )
    .await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["state"], "DRAFT");
    assert_eq!(d["version"], "2");
    rec.record("post", "/eservices/{eserviceId}/descriptors", 201, &d);
    let d2 = d["id"].as_str().unwrap().to_string();
    let (status, d) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{d2}/publish"), &token, None).await;
    assert_eq!(status, 200, "{d}");
    let (_, old) = call(&app, Method::GET, &format!("/eservices/{eid}/descriptors/{d1}"), &token, None).await;
    assert_eq!(old["state"], "ARCHIVED", "{old}");

    // Quotas: a merge patch, only what is given changes.
    let path = format!("/eservices/{eid}/descriptors/{d2}/quotas");
    let (status, d) = call(&app, Method::PATCH, &path, &token, Some(r#"{"dailyCallsTotal":5000}"#)).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!((d["dailyCallsTotal"].clone(), d["dailyCallsPerConsumer"].clone()), (json!(5000), json!(100)));
    rec.record("patch", "/eservices/{eserviceId}/descriptors/{descriptorId}/quotas", 200, &d);
    let (status, d) = call(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(r#"{"voucherLifespan":120,"dailyCallsPerConsumer":10,"dailyCallsTotal":20}"#),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!((d["voucherLifespan"].clone(), d["dailyCallsTotal"].clone()), (json!(120), json!(20)));
    for bad in [
        r#"{"voucherLifespan":59}"#,
        r#"{"voucherLifespan":86401}"#,
        r#"{"dailyCallsPerConsumer":21}"#,
        r#"{"dailyCallsPerConsumer":0}"#,
        r#"{"dailyCallsTotal":"many"}"#,
        r#"{"other":1}"#,
        "not json",
        "",
    ] {
        let (status, body) = call(&app, Method::PATCH, &path, &token, Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("patch", "/eservices/{eserviceId}/descriptors/{descriptorId}/quotas", 400, &body);
    }

    // Suspend and unsuspend.
    let (status, d) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{d2}/suspend"), &token, None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["state"], "SUSPENDED");
    assert!(d["suspendedAt"].is_string(), "{d}");
    rec.record("post", "/eservices/{eserviceId}/descriptors/{descriptorId}/suspend", 200, &d);
    let (status, body) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{d2}/suspend"), &token, None).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("post", "/eservices/{eserviceId}/descriptors/{descriptorId}/suspend", 400, &body);
    let (status, d) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{d2}/unsuspend"), &token, None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["state"], "PUBLISHED");
    rec.record("post", "/eservices/{eserviceId}/descriptors/{descriptorId}/unsuspend", 200, &d);

    // Attribute groups of a version, made through the platform (the API has no
    // attribute writes yet): two certified groups, one declared, no verified.
    let platform = app.running.platform.env(Env::Collaudo);
    let op = Caller::Operator;
    let c1 = platform
        .create_attribute(&op, AttributeKind::Certified, "Comune", "Ente comunale", Some("IPA"), Some("L6"))
        .await
        .unwrap();
    let c2 = platform
        .create_attribute(&op, AttributeKind::Certified, "Regione", "Ente regionale", Some("IPA"), Some("L4"))
        .await
        .unwrap();
    let dc = platform
        .create_attribute(&op, AttributeKind::Declared, "Dichiarato", "Un attributo dichiarato", None, None)
        .await
        .unwrap();
    let eservice_id: EServiceId = eid.parse().unwrap();
    let input = eservice::DescriptorInput {
        description: None,
        audience: vec!["aud".into()],
        voucher_lifespan: 60,
        daily_calls_per_consumer: 1,
        daily_calls_total: 1,
        agreement_approval_policy: ApprovalPolicy::Manual,
        server_urls: vec![],
        attributes: AttributeGroups {
            certified: vec![vec![c1.id, c2.id], vec![c2.id]],
            declared: vec![vec![dc.id]],
            verified: vec![],
        },
    };
    let d3 = platform.add_descriptor(&op, eservice_id, input).await.unwrap();
    let attrs = |kind: &str, q: &str| format!("/eservices/{eid}/descriptors/{d3}/{kind}Attributes?{q}");
    let (status, page) = call(&app, Method::GET, &attrs("certified", "offset=0&limit=2"), &token, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["pagination"]["totalCount"], 3, "{page}");
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert_eq!(page["results"][0]["groupIndex"], 0);
    assert_eq!(page["results"][0]["attribute"]["origin"], "IPA");
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}/certifiedAttributes", 200, &page);
    let (_, page) = call(&app, Method::GET, &attrs("certified", "offset=2&limit=2"), &token, None).await;
    assert_eq!(page["results"][0]["groupIndex"], 1, "{page}");
    let (status, page) = call(&app, Method::GET, &attrs("declared", "offset=0&limit=50"), &token, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["results"][0]["attribute"]["name"], "Dichiarato", "{page}");
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}/declaredAttributes", 200, &page);
    let (status, page) = call(&app, Method::GET, &attrs("verified", "offset=0&limit=50"), &token, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["pagination"]["totalCount"], 0, "{page}");
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}/verifiedAttributes", 200, &page);
    let (status, body) = call(&app, Method::GET, &attrs("verified", "offset=0"), &token, None).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}/verifiedAttributes", 400, &body);
    // The draft is the producer's business: another organisation does not see it.
    let other = voucher(&app, "Comune di Prova", false).await;
    let (status, body) = call(&app, Method::GET, &attrs("certified", "offset=0&limit=5"), &other, None).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    rec.record("get", "/eservices/{eserviceId}/descriptors/{descriptorId}/certifiedAttributes", 404, &body);

    rec.check(pdnd_schema::V2);
});

varco::both_backends!(eservice_writes_are_refused_to_others_and_bad_input, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let pagopa = voucher(&app, "PagoPA S.p.A.", true).await;
    let reader = voucher(&app, "PagoPA S.p.A.", false).await;
    let comune = voucher(&app, "Comune di Prova", true).await;
    let post = Method::POST;

    let (status, es) =
        call(&app, post.clone(), "/eservices", &pagopa, Some(&eservice_seed("Servizio riservato").to_string())).await;
    assert_eq!(status, 201, "{es}");
    let eid = es["id"].as_str().unwrap().to_string();
    let (_, list) =
        call(&app, Method::GET, &format!("/eservices/{eid}/descriptors?offset=0&limit=10"), &pagopa, None).await;
    let did = list["results"][0]["id"].as_str().unwrap().to_string();
    let (status, _) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors/{did}/publish"), &pagopa, None).await;
    assert_eq!(status, 200);

    // Bodies that do not fit the seed.
    let mut bads = vec![json!({}), json!({"name": "Solo un nome"})];
    for (field, value) in [
        ("technology", json!("GRAPHQL")),
        ("mode", json!("SOMETIMES")),
        ("name", json!("abc")),
        ("extra", json!(true)),
        ("descriptor", json!({"audience": []})),
    ] {
        let mut s = eservice_seed("Servizio non valido");
        s[field] = value;
        bads.push(s);
    }
    for (field, value) in [
        ("voucherLifespan", json!(10)),
        ("audience", json!([])),
        ("dailyCallsPerConsumer", json!(2000)),
        ("agreementApprovalPolicy", json!("SOMETIMES")),
        ("description", json!("corta")),
    ] {
        let mut s = eservice_seed("Servizio non valido");
        s["descriptor"][field] = value;
        bads.push(s);
    }
    for bad in bads.iter().map(Value::to_string).chain(["not json".to_string(), String::new()]) {
        let (status, body) = call(&app, post.clone(), "/eservices", &pagopa, Some(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("post", "/eservices", 400, &body);
    }
    // Nothing was left behind by the refused seeds.
    let (_, all) = call(&app, Method::GET, "/eservices?offset=0&limit=50&name=non valido", &pagopa, None).await;
    assert_eq!(all["pagination"]["totalCount"], 0, "{all}");
    let mut bad_desc = descriptor_seed();
    bad_desc["voucherLifespan"] = json!(100000);
    let (status, body) =
        call(&app, post.clone(), &format!("/eservices/{eid}/descriptors"), &pagopa, Some(&bad_desc.to_string())).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("post", "/eservices/{eserviceId}/descriptors", 400, &body);

    // The m2m role (without admin) reads only.
    let seed = descriptor_seed().to_string();
    let quotas = r#"{"dailyCallsTotal":5000}"#;
    let es_seed = eservice_seed("Servizio altrui").to_string();
    let writes: Vec<(Method, String, Option<&str>, &str)> = vec![
        (post.clone(), "/eservices".into(), Some(&es_seed), "/eservices"),
        (post.clone(), format!("/eservices/{eid}/descriptors"), Some(&seed), "/eservices/{eserviceId}/descriptors"),
        (
            post.clone(),
            format!("/eservices/{eid}/descriptors/{did}/suspend"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/suspend",
        ),
        (
            post.clone(),
            format!("/eservices/{eid}/descriptors/{did}/unsuspend"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/unsuspend",
        ),
        (
            post.clone(),
            format!("/eservices/{eid}/descriptors/{did}/publish"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/publish",
        ),
        (
            Method::PATCH,
            format!("/eservices/{eid}/descriptors/{did}/quotas"),
            Some(quotas),
            "/eservices/{eserviceId}/descriptors/{descriptorId}/quotas",
        ),
    ];
    for (m, path, body, template) in &writes {
        let (status, b) = call(&app, m.clone(), path, &reader, *body).await;
        assert_eq!(status, 403, "m2m {m} {path}: {b}");
        assert_api_problem(&b, 403);
        rec.record(&m.as_str().to_lowercase(), template, 403, &b);
    }
    // Another organisation, even as admin, does not touch PagoPA's e-service
    // (creating its own is fine, so the first write is left out).
    for (m, path, body, template) in &writes[1..] {
        let (status, b) = call(&app, m.clone(), path, &comune, *body).await;
        assert_eq!(status, 403, "comune {m} {path}: {b}");
        assert_api_problem(&b, 403);
        rec.record(&m.as_str().to_lowercase(), template, 403, &b);
    }
    let (_, d) = call(&app, Method::GET, &format!("/eservices/{eid}/descriptors/{did}"), &pagopa, None).await;
    assert_eq!((d["state"].clone(), d["dailyCallsTotal"].clone()), (json!("PUBLISHED"), json!(1000)), "{d}");

    // Unknown and malformed ids.
    let unknown = uuid::Uuid::new_v4();
    for (m, path, body, template) in [
        (
            post.clone(),
            format!("/eservices/{unknown}/descriptors"),
            Some(seed.as_str()),
            "/eservices/{eserviceId}/descriptors",
        ),
        (
            post.clone(),
            format!("/eservices/{unknown}/descriptors/{did}/publish"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/publish",
        ),
        (
            post.clone(),
            format!("/eservices/{eid}/descriptors/{unknown}/suspend"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/suspend",
        ),
        (
            Method::PATCH,
            format!("/eservices/{eid}/descriptors/{unknown}/quotas"),
            Some(quotas),
            "/eservices/{eserviceId}/descriptors/{descriptorId}/quotas",
        ),
        (
            Method::GET,
            format!("/eservices/{eid}/descriptors/{unknown}/certifiedAttributes?offset=0&limit=5"),
            None,
            "/eservices/{eserviceId}/descriptors/{descriptorId}/certifiedAttributes",
        ),
    ] {
        let (status, b) = call(&app, m.clone(), &path, &pagopa, body).await;
        assert_eq!(status, 404, "{m} {path}: {b}");
        assert_api_problem(&b, 404);
        rec.record(&m.as_str().to_lowercase(), template, 404, &b);
    }
    for path in
        [format!("/eservices/nope/descriptors/{did}/publish"), format!("/eservices/{eid}/descriptors/nope/unsuspend")]
    {
        let (status, b) = call(&app, post.clone(), &path, &pagopa, None).await;
        assert_eq!(status, 400, "{path}: {b}");
        assert_api_problem(&b, 400);
    }

    rec.check(pdnd_schema::V2);
});
