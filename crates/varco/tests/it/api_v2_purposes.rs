//! The machine API (v2): purposes ("finalità") and their versions, over HTTP, with
//! the consumer ("Comune di Prova") and the producer (PagoPA) each on its own API client.
use crate::common;
use crate::pdnd_schema;
use varco_platform::Caller;

use common::*;
use pdnd_schema::Recorder;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, PAGOPA, SEND_UAT};

const BASE: &str = "/interop/collaudo/api/v2";

async fn voucher(app: &TestApp, api: &ApiClient) -> String {
    let r = post_token(app, Env::Collaudo, &token_form(&api.assertion(app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// An API client of `tenant` in Collaudo and its voucher.
async fn client(app: &TestApp, tenant: &str, admin: bool) -> String {
    let api = setup_api_client(app, Env::Collaudo, tenant, admin).await;
    voucher(app, &api).await
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(&format!("{BASE}{path}"))).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = read(req.send().await.unwrap()).await;
    pdnd_schema::seen(&r);
    (r.status, pdnd_schema::body_of(&r.text))
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    call(app, Method::GET, path, token, None).await
}

async fn post_json(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, path, token, Some(body)).await
}

/// A form of PDND's latest PA rules with these answers.
fn ra(answers: Value) -> Value {
    let version = varco_domain::risk_analysis::rules_for(varco_domain::TenantKind::Pa, None).unwrap().version.clone();
    json!({ "version": version, "answers": answers })
}

fn many_answers(n: usize) -> serde_json::Map<String, Value> {
    (0..n).map(|i| (format!("domanda{i}"), json!(["x".repeat(100)]))).collect()
}

/// A complete PA form under PDND's latest rules.
fn risk_analysis() -> Value {
    serde_json::to_value(
        varco_domain::risk_analysis::rules_for(varco_domain::TenantKind::Pa, None).unwrap().example_form(),
    )
    .unwrap()
}

fn seed(eservice: EServiceId, daily_calls: i64) -> Value {
    json!({
        "eserviceId": eservice,
        "title": "Notifiche dei tributi",
        "description": "Invio delle notifiche degli avvisi di pagamento dei tributi comunali",
        "isFreeOfCharge": false,
        "dailyCalls": daily_calls,
        "riskAnalysisForm": risk_analysis(),
    })
}

/// An Active agreement of `consumer` on `eservice`, made through the platform (the
/// producer approves it when the e-service asks for manual approval).
async fn active_agreement(app: &TestApp, consumer: &str, eservice: EServiceId) -> AgreementId {
    let svc = app.running.platform.env(Env::Collaudo);
    let c = svc.tenant_by_name(&Caller::Operator, consumer).await.unwrap();
    let actor = Caller::Operator;
    let a = svc.create_agreement(&actor, c.id, eservice).await.unwrap();
    let a = svc.submit_agreement(&actor, a.id, None).await.unwrap();
    let a = if a.state == AgreementState::Pending { svc.approve_agreement(&actor, a.id).await.unwrap() } else { a };
    assert_eq!(a.state, AgreementState::Active);
    a.id
}

/// A PagoPA e-service in Collaudo with manual approval and a small quota: 100 calls a
/// day per consumer, 1000 in all.
async fn low_quota_eservice(app: &TestApp) -> EServiceId {
    let svc = app.running.platform.env(Env::Collaudo);
    let pagopa = svc.tenant_by_name(&Caller::Operator, PAGOPA).await.unwrap();
    let actor = Caller::Operator;
    let es = svc
        .create_eservice(
            &actor,
            pagopa.id,
            "Servizio a quota ridotta",
            "Un e-service di prova con poche chiamate giornaliere",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await
        .unwrap();
    let d = svc
        .add_descriptor(
            &actor,
            es.id,
            DescriptorInput {
                description: None,
                audience: vec!["https://quota.example.it".into()],
                voucher_lifespan: 600,
                daily_calls_per_consumer: 100,
                daily_calls_total: 1000,
                agreement_approval_policy: ApprovalPolicy::Manual,
                server_urls: vec!["https://quota.example.it/api".into()],
                attributes: AttributeGroups::default(),
            },
        )
        .await
        .unwrap();
    svc.publish_descriptor(&actor, es.id, d).await.unwrap();
    es.id
}

async fn send_uat(app: &TestApp) -> EServiceId {
    app.running.platform.env(Env::Collaudo).eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap().id
}

/// No property of PDND's schemas is nullable: absent values must be left out.
fn assert_no_nulls(v: &Value) {
    match v {
        Value::Null => panic!("null in an answer"),
        Value::Object(m) => m.values().for_each(assert_no_nulls),
        Value::Array(a) => a.iter().for_each(assert_no_nulls),
        _ => {}
    }
}

fn ids_of(list: &Value) -> Vec<&str> {
    list["results"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect()
}

varco::both_backends!(consumer_walks_a_purpose_through_its_life, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = Recorder::default();
    let send = send_uat(&app).await;
    let agreement = active_agreement(&app, COMUNE_DI_PROVA, send).await;
    let token = client(&app, COMUNE_DI_PROVA, true).await;
    let prova =
        app.running.platform.env(Env::Collaudo).tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap().id;

    // Create: a draft with one version.
    let (status, p) = post_json(&app, "/purposes", &token, seed(send, 1000)).await;
    assert_eq!(status, 201, "{p}");
    rec.record("post", "/purposes", 201, &p);
    assert_no_nulls(&p);
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["eserviceId"], json!(send));
    assert_eq!(p["consumerId"], json!(prova));
    assert_eq!(p["title"], "Notifiche dei tributi");
    assert_eq!(p["isFreeOfCharge"], false);
    assert_eq!(p["isRiskAnalysisValid"], true);
    assert_eq!(p["suspendedByConsumer"], false);
    assert_eq!(p["currentVersion"]["state"], "DRAFT");
    assert_eq!(p["currentVersion"]["dailyCalls"], 1000);
    assert!(p.get("waitingForApprovalVersion").is_none() && p.get("freeOfChargeReason").is_none(), "{p}");
    let (status, read_back) = get_json(&app, &format!("/purposes/{id}"), &token).await;
    assert_eq!((status, &read_back), (StatusCode::OK, &p));
    rec.record("get", "/purposes/{purposeId}", 200, &read_back);

    // Activate: within SEND's quota, so Active at once.
    let (status, p) = post_json(&app, &format!("/purposes/{id}/activate"), &token, json!({})).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/activate", 200, &p);
    assert_eq!(p["currentVersion"]["state"], "ACTIVE");
    assert!(p["currentVersion"]["firstActivationAt"].is_string(), "{p}");
    let (status, again) = post_json(&app, &format!("/purposes/{id}/activate"), &token, json!({})).await;
    assert_eq!(status, 409, "{again}");
    assert_api_problem(&again, 409);

    // List and its filters.
    let (status, list) = get_json(&app, "/purposes?offset=0&limit=10", &token).await;
    assert_eq!(status, 200, "{list}");
    rec.record("get", "/purposes", 200, &list);
    assert_eq!(ids_of(&list), vec![id.as_str()]);
    assert_eq!(list["pagination"]["totalCount"], 1);
    for (query, expected) in [
        (format!("eserviceIds={send}"), 1),
        (format!("eserviceIds={}", uuid::Uuid::new_v4()), 0),
        (format!("consumerIds={prova}"), 1),
        ("states=ACTIVE,SUSPENDED".into(), 1),
        ("states=ARCHIVED".into(), 0),
        ("title=TRIBUTI".into(), 1),
        ("title=altro".into(), 0),
    ] {
        let (_, l) = get_json(&app, &format!("/purposes?offset=0&limit=10&{query}"), &token).await;
        assert_eq!(l["pagination"]["totalCount"], expected, "{query}: {l}");
    }

    // The agreement behind it.
    let (status, a) = get_json(&app, &format!("/purposes/{id}/agreement"), &token).await;
    assert_eq!(status, 200, "{a}");
    rec.record("get", "/purposes/{purposeId}/agreement", 200, &a);
    assert_eq!(a["id"], json!(agreement));
    assert_eq!(a["state"], "ACTIVE");

    // A new version within quota replaces the current one at once.
    let (status, v) = post_json(&app, &format!("/purposes/{id}/versions"), &token, json!({"dailyCalls": 2000})).await;
    assert_eq!(status, 201, "{v}");
    rec.record("post", "/purposes/{purposeId}/versions", 201, &v);
    assert_eq!((v["state"].as_str(), v["dailyCalls"].as_u64()), (Some("ACTIVE"), Some(2000)));
    let (status, vs) = get_json(&app, &format!("/purposes/{id}/versions?offset=0&limit=10"), &token).await;
    assert_eq!(status, 200, "{vs}");
    rec.record("get", "/purposes/{purposeId}/versions", 200, &vs);
    let states: Vec<&str> = vs["results"].as_array().unwrap().iter().map(|v| v["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["ARCHIVED", "ACTIVE"]);
    let (_, only) = get_json(&app, &format!("/purposes/{id}/versions?offset=0&limit=10&state=ACTIVE"), &token).await;
    assert_eq!(only["results"][0], v, "{only}");
    let vid = v["id"].as_str().unwrap();
    let (status, one) = get_json(&app, &format!("/purposes/{id}/versions/{vid}"), &token).await;
    assert_eq!((status, &one), (StatusCode::OK, &v));
    rec.record("get", "/purposes/{purposeId}/versions/{versionId}", 200, &one);
    let (_, p) = get_json(&app, &format!("/purposes/{id}"), &token).await;
    assert_eq!(p["currentVersion"], v);

    // Suspend, unsuspend, archive.
    let (status, p) = post_json(&app, &format!("/purposes/{id}/suspend"), &token, json!({})).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/suspend", 200, &p);
    assert_eq!(
        (p["currentVersion"]["state"].as_str(), p["suspendedByConsumer"].as_bool()),
        (Some("SUSPENDED"), Some(true))
    );
    assert!(p["currentVersion"]["suspendedAt"].is_string(), "{p}");
    let (status, p) = post_json(&app, &format!("/purposes/{id}/suspend"), &token, json!({})).await;
    assert_eq!(status, 409, "{p}");
    assert_api_problem(&p, 409);
    let (status, p) = call(&app, Method::POST, &format!("/purposes/{id}/unsuspend"), &token, None).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/unsuspend", 200, &p);
    assert_eq!(
        (p["currentVersion"]["state"].as_str(), p["suspendedByConsumer"].as_bool()),
        (Some("ACTIVE"), Some(false))
    );
    let (status, p) = call(&app, Method::POST, &format!("/purposes/{id}/archive"), &token, None).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/archive", 200, &p);
    assert_eq!(p["currentVersion"]["state"], "ARCHIVED");
    let (_, l) = get_json(&app, "/purposes?offset=0&limit=10&states=ARCHIVED", &token).await;
    assert_eq!(ids_of(&l), vec![id.as_str()]);
    // Once used, a purpose stays in the history.
    let (status, body) = call(&app, Method::DELETE, &format!("/purposes/{id}"), &token, None).await;
    assert!(status == 409 || status == 400, "{status} {body}");
    assert_api_problem(&body, status.as_u16());

    // A draft may be deleted.
    let (_, draft) = post_json(&app, "/purposes", &token, seed(send, 10)).await;
    let did = draft["id"].as_str().unwrap();
    let (status, body) = call(&app, Method::DELETE, &format!("/purposes/{did}"), &token, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = get_json(&app, &format!("/purposes/{did}"), &token).await;
    assert_eq!(status, 404);
    assert_api_problem(&body, 404);
    rec.record("get", "/purposes/{purposeId}", 404, &body);

    rec.check(pdnd_schema::V2);
});

varco::both_backends!(over_quota_waits_for_the_producer, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = Recorder::default();
    let es = low_quota_eservice(&app).await;
    active_agreement(&app, COMUNE_DI_PROVA, es).await;
    let consumer = client(&app, COMUNE_DI_PROVA, true).await;
    let producer = client(&app, PAGOPA, true).await;

    let (status, p) = post_json(&app, "/purposes", &consumer, seed(es, 500)).await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    // A draft is the consumer's business.
    assert_api_refused(get_json(&app, &format!("/purposes/{id}"), &producer).await, 404);
    let (_, l) = get_json(&app, "/purposes?offset=0&limit=10", &producer).await;
    assert!(ids_of(&l).is_empty(), "{l}");

    // 500 calls a day is over the 100 allowed per consumer.
    let (status, p) = post_json(&app, &format!("/purposes/{id}/activate"), &consumer, json!({})).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/activate", 200, &p);
    assert_eq!(p["waitingForApprovalVersion"]["state"], "WAITING_FOR_APPROVAL");
    assert!(p.get("currentVersion").is_none(), "{p}");
    let (_, l) = get_json(&app, "/purposes?offset=0&limit=10&states=WAITING_FOR_APPROVAL", &consumer).await;
    assert_eq!(ids_of(&l), vec![id.as_str()]);

    // Only the producer approves.
    let (status, body) = post_json(&app, &format!("/purposes/{id}/approve"), &consumer, json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("post", "/purposes/{purposeId}/approve", 403, &body);
    let (status, l) = get_json(&app, "/purposes?offset=0&limit=10", &producer).await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&l), vec![id.as_str()]);
    rec.record("get", "/purposes", 200, &l);
    let (status, p) = post_json(&app, &format!("/purposes/{id}/approve"), &producer, json!({})).await;
    assert_eq!(status, 200, "{p}");
    rec.record("post", "/purposes/{purposeId}/approve", 200, &p);
    assert_eq!(p["currentVersion"]["state"], "ACTIVE");
    assert_eq!(p["currentVersion"]["dailyCalls"], 500);
    assert!(p.get("waitingForApprovalVersion").is_none(), "{p}");

    // The producer suspends and lifts its own suspension.
    let (status, p) = post_json(&app, &format!("/purposes/{id}/suspend"), &producer, json!({})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!((p["suspendedByProducer"].as_bool(), p["suspendedByConsumer"].as_bool()), (Some(true), Some(false)));
    assert_eq!(p["currentVersion"]["state"], "SUSPENDED");
    let (status, p) = post_json(&app, &format!("/purposes/{id}/unsuspend"), &producer, json!({})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["currentVersion"]["state"], "ACTIVE");
    // Archiving is the consumer's.
    let (status, body) = call(&app, Method::POST, &format!("/purposes/{id}/archive"), &producer, None).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);

    // A bigger new version waits while the current one keeps working.
    let (status, v) = post_json(&app, &format!("/purposes/{id}/versions"), &consumer, json!({"dailyCalls": 900})).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["state"], "WAITING_FOR_APPROVAL");
    let (_, p) = get_json(&app, &format!("/purposes/{id}"), &producer).await;
    rec.record("get", "/purposes/{purposeId}", 200, &p);
    assert_eq!(p["currentVersion"]["dailyCalls"], 500);
    assert_eq!(p["waitingForApprovalVersion"], v);
    let (status, body) =
        post_json(&app, &format!("/purposes/{id}/versions"), &consumer, json!({"dailyCalls": 50})).await;
    assert_eq!(status, 409, "{body}");
    assert_api_problem(&body, 409);
    let (status, p) = post_json(&app, &format!("/purposes/{id}/approve"), &producer, json!({})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["currentVersion"]["dailyCalls"].as_u64(), p["currentVersion"]["state"].as_str()),
        (Some(900), Some("ACTIVE"))
    );
    // The producer reads the agreement behind it too.
    let (status, a) = get_json(&app, &format!("/purposes/{id}/agreement"), &producer).await;
    assert_eq!((status, a["state"].as_str()), (StatusCode::OK, Some("ACTIVE")), "{a}");

    rec.check(pdnd_schema::V2);
});

varco::both_backends!(refusals, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = Recorder::default();
    let send = send_uat(&app).await;
    active_agreement(&app, COMUNE_DI_PROVA, send).await;
    let admin = client(&app, COMUNE_DI_PROVA, true).await;
    let reader = client(&app, COMUNE_DI_PROVA, false).await;
    let other = client(&app, COMUNE_DI_ESEMPIO, true).await;
    let (status, p) = post_json(&app, "/purposes", &admin, seed(send, 10)).await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();

    // The m2m role reads but does not write.
    assert_eq!(get_json(&app, &format!("/purposes/{id}"), &reader).await.0, 200);
    let (status, body) = post_json(&app, "/purposes", &reader, seed(send, 10)).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("post", "/purposes", 403, &body);
    for op in ["activate", "suspend", "unsuspend", "archive", "approve"] {
        let (status, body) = post_json(&app, &format!("/purposes/{id}/{op}"), &reader, json!({})).await;
        assert_eq!(status, 403, "{op}: {body}");
        assert_api_problem(&body, 403);
    }
    let (status, refusal) =
        post_json(&app, &format!("/purposes/{id}/versions"), &reader, json!({"dailyCalls": 5})).await;
    assert_eq!(status, 403);
    assert_api_problem(&refusal, 403);
    assert_api_refused(call(&app, Method::DELETE, &format!("/purposes/{id}"), &reader, None).await, 403);

    // Another organisation sees nothing of it.
    let (status, body) = get_json(&app, &format!("/purposes/{id}"), &other).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    rec.record("get", "/purposes/{purposeId}", 404, &body);
    for path in [format!("/purposes/{id}/versions?offset=0&limit=5"), format!("/purposes/{id}/agreement")] {
        let (status, body) = get_json(&app, &path, &other).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_api_problem(&body, 404);
    }
    let (status, body) = post_json(&app, &format!("/purposes/{id}/activate"), &other, json!({})).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    assert_api_refused(call(&app, Method::DELETE, &format!("/purposes/{id}"), &other, None).await, 404);
    let (_, l) = get_json(&app, "/purposes?offset=0&limit=10", &other).await;
    assert!(ids_of(&l).is_empty(), "{l}");
    // Without an agreement of its own it cannot create one either.
    let (status, body) = post_json(&app, "/purposes", &other, seed(send, 10)).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);

    // Unknown ids and ids that are not UUIDs.
    let unknown = uuid::Uuid::new_v4();
    let (status, body) = get_json(&app, &format!("/purposes/{unknown}"), &admin).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    assert_api_refused(post_json(&app, &format!("/purposes/{unknown}/activate"), &admin, json!({})).await, 404);
    let (status, body) = get_json(&app, &format!("/purposes/{id}/versions/{unknown}"), &admin).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    let (status, body) = get_json(&app, "/purposes/not-a-uuid", &admin).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("get", "/purposes/{purposeId}", 400, &body);
    assert_api_refused(post_json(&app, "/purposes/not-a-uuid/activate", &admin, json!({})).await, 400);
    assert_api_refused(get_json(&app, &format!("/purposes/{id}/versions/nope"), &admin).await, 400);
    assert_api_refused(post_json(&app, "/purposes", &admin, seed(EServiceId::new(), 10)).await, 404);

    // Bad queries.
    for q in ["offset=0", "offset=0&limit=0", "offset=0&limit=10&states=NOPE", "offset=0&limit=10&eserviceIds=x"] {
        let (status, body) = get_json(&app, &format!("/purposes?{q}"), &admin).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_api_problem(&body, 400);
    }
    rec.record("get", "/purposes", 400, &get_json(&app, "/purposes?offset=0", &admin).await.1);
    let (status, refusal) =
        get_json(&app, &format!("/purposes/{id}/versions?offset=0&limit=5&state=NOPE"), &admin).await;
    assert_eq!(status, 400);
    assert_api_problem(&refusal, 400);

    // Bad bodies.
    let valid = seed(send, 10);
    let with = |k: &str, v: Value| {
        let mut s = valid.clone();
        s[k] = v;
        s
    };
    let without = |k: &str| {
        let mut s = valid.clone();
        s.as_object_mut().unwrap().remove(k);
        s
    };
    for (what, body) in [
        ("no title", without("title")),
        ("no dailyCalls", without("dailyCalls")),
        ("dailyCalls 0", with("dailyCalls", json!(0))),
        ("dailyCalls too many", with("dailyCalls", json!(1_000_000_001i64))),
        ("dailyCalls text", with("dailyCalls", json!("10"))),
        ("short title", with("title", json!("abc"))),
        ("short description", with("description", json!("breve"))),
        ("eserviceId not a UUID", with("eserviceId", json!("x"))),
        ("unknown property", with("color", json!("blue"))),
        ("free without reason", with("isFreeOfCharge", json!(true))),
        ("risk analysis without version", with("riskAnalysisForm", json!({"answers": {}}))),
        ("empty answer", with("riskAnalysisForm", json!({"version": "3.0", "answers": {"purpose": [""]}}))),
        // A draft's form may be incomplete, but only in the shape of its rules: that
        // is also what bounds the size of every purpose (and of its events).
        ("risk analysis of an unknown version", with("riskAnalysisForm", json!({"version": "9.9", "answers": {}}))),
        ("a question of no rule set", with("riskAnalysisForm", ra(json!({"colore": ["blu"]})))),
        ("5,000 answers", with("riskAnalysisForm", ra(Value::Object(many_answers(5_000))))),
        (
            "two values for a one-answer question",
            with("riskAnalysisForm", ra(json!({"purpose": ["INSTITUTIONAL", "OTHER"]}))),
        ),
        ("a value of no option", with("riskAnalysisForm", ra(json!({"purpose": ["ALTRO"]})))),
        (
            "2,000 values for a many-answer question",
            with("riskAnalysisForm", ra(json!({"personalDataTypes": vec!["WITH_NON_IDENTIFYING_DATA"; 2_000]}))),
        ),
    ] {
        let (status, reply) = post_json(&app, "/purposes", &admin, body).await;
        assert_eq!(status, 400, "{what}: {reply}");
        assert_api_problem(&reply, 400);
        assert_eq!(reply["status"], 400, "{what}: {reply}");
    }
    let r = read(
        app.http
            .post(app.url(&format!("{BASE}/purposes")))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_problem(&r, StatusCode::BAD_REQUEST);
    pdnd_schema::seen(&r);
    rec.record("post", "/purposes", 400, &r.json());
    for bad in [json!({}), json!({"dailyCalls": 0}), json!({"dailyCalls": 5, "x": 1})] {
        let (status, body) = post_json(&app, &format!("/purposes/{id}/versions"), &admin, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
    }
    let (status, body) = post_json(&app, &format!("/purposes/{id}/activate"), &admin, json!({"x": 1})).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    let delegation = json!({"delegationId": uuid::Uuid::new_v4()});
    let (status, body) = post_json(&app, &format!("/purposes/{id}/activate"), &admin, delegation).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);

    // A free purpose needs its reason, and then keeps it.
    let mut free = with("isFreeOfCharge", json!(true));
    free["freeOfChargeReason"] = json!("Servizio reso gratuitamente per legge");
    let (status, p) = post_json(&app, "/purposes", &admin, free).await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["freeOfChargeReason"], "Servizio reso gratuitamente per legge");

    // Without a risk analysis it can be drafted, but not activated.
    let (status, p) = post_json(&app, "/purposes", &admin, without("riskAnalysisForm")).await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["isRiskAnalysisValid"], false);
    let (status, body) =
        post_json(&app, &format!("/purposes/{}/activate", p["id"].as_str().unwrap()), &admin, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("post", "/purposes/{purposeId}/activate", 400, &body);

    rec.check(pdnd_schema::V2);
});
