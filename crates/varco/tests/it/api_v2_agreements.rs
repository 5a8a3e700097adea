//! The machine API (v2): agreements ("richieste di fruizione"), their lifecycle from
//! both sides, who may see and change them, and the answers' shape against PDND's file.
use crate::common;
use crate::pdnd_schema;
use varco_platform::Caller;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, PAGOPA, SEND_UAT};

const BASE: &str = "/interop/collaudo/api/v2";

/// An API client's voucher, used as Bearer on the machine API.
struct Api<'a> {
    app: &'a TestApp,
    token: String,
    tenant_id: TenantId,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp, tenant: &str, admin: bool) -> Api<'a> {
        let c = setup_api_client(app, Env::Collaudo, tenant, admin).await;
        let r = post_token(app, Env::Collaudo, &token_form(&c.assertion(app), None), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        Api { app, token: r.json()["access_token"].as_str().unwrap().to_string(), tenant_id: c.tenant_id }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = read(req.bearer_auth(&self.token).send().await.unwrap()).await;
        pdnd_schema::seen(&r);
        if r.status.is_client_error() {
            assert_eq!(r.content_type(), Some("application/problem+json"), "{}", r.text);
        }
        let body = if r.text.is_empty() { Value::Null } else { r.json() };
        (r.status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.app.http.get(self.app.url(&format!("{BASE}{path}")))).await
    }

    async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.app.http.post(self.app.url(&format!("{BASE}{path}")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let req = self
            .app
            .http
            .post(self.app.url(&format!("{BASE}{path}")))
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(req).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.app.http.delete(self.app.url(&format!("{BASE}{path}")))).await
    }

    /// Creates a Draft on the e-service's latest published version.
    async fn create(&self, es: &EService) -> Value {
        let did = es.latest_published().expect("published").id;
        let (status, body) = self.post("/agreements", Some(json!({ "eserviceId": es.id, "descriptorId": did }))).await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("id in {v}")).to_string()
}

fn descriptor(policy: ApprovalPolicy) -> DescriptorInput {
    DescriptorInput {
        description: Some("Versione di prova".into()),
        audience: vec!["https://api.example.it/prova".into()],
        voucher_lifespan: 600,
        daily_calls_per_consumer: 1000,
        daily_calls_total: 10_000,
        agreement_approval_policy: policy,
        server_urls: vec!["https://api.example.it/prova/v1".into()],
        attributes: AttributeGroups::default(),
    }
}

/// A published e-service of PagoPA in Collaudo, made through the platform.
async fn pagopa_eservice(app: &TestApp, name: &str, policy: ApprovalPolicy) -> EService {
    let svc = app.running.platform.env(Env::Collaudo);
    let pagopa = svc.tenant_by_name(&Caller::Operator, PAGOPA).await.unwrap();
    let es = svc
        .create_eservice(
            &Caller::System,
            pagopa.id,
            name,
            "E-service di prova",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await
        .unwrap();
    let d = svc.add_descriptor(&Caller::System, es.id, descriptor(policy)).await.unwrap();
    svc.publish_descriptor(&Caller::System, es.id, d).await.unwrap();
    svc.eservice(&Caller::Operator, es.id).await.unwrap()
}

async fn send_uat(app: &TestApp) -> EService {
    app.running.platform.env(Env::Collaudo).eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap()
}

varco::both_backends!(automatic_flow_on_send_and_refusals, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let prova = Api::new(&app, COMUNE_DI_PROVA, true).await;
    let reader = Api::new(&app, COMUNE_DI_PROVA, false).await;
    let other = Api::new(&app, COMUNE_DI_ESEMPIO, true).await;
    let send = send_uat(&app).await;
    let did = send.latest_published().unwrap().id;

    // Invalid bodies, a descriptor other than the latest published, an unknown e-service.
    let seed = json!({ "eserviceId": send.id, "descriptorId": did });
    for bad in [
        "",
        "{",
        "[]",
        r#"{"descriptorId":"00000000-0000-0000-0000-000000000000"}"#,
        &json!({ "eserviceId": "nope", "descriptorId": did }).to_string(),
        &json!({ "eserviceId": send.id }).to_string(),
        &json!({ "eserviceId": send.id, "descriptorId": did, "extra": 1 }).to_string(),
        &json!({ "eserviceId": send.id, "descriptorId": did, "delegationId": uuid::Uuid::new_v4() }).to_string(),
        &json!({ "eserviceId": send.id, "descriptorId": uuid::Uuid::new_v4() }).to_string(),
    ] {
        let (status, body) = prova.post_raw("/agreements", bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("post", "/agreements", 400, &body);
    }
    let (status, body) =
        prova.post("/agreements", Some(json!({ "eserviceId": uuid::Uuid::new_v4(), "descriptorId": did }))).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    // m2m (not admin) may not write.
    let (status, body) = reader.post("/agreements", Some(seed.clone())).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("post", "/agreements", 403, &body);

    // create -> Draft.
    let draft = prova.create(&send).await;
    rec.record("post", "/agreements", 201, &draft);
    assert_eq!(draft["state"], "DRAFT");
    assert_eq!(draft["consumerId"], json!(prova.tenant_id));
    assert_eq!(draft["producerId"], json!(send.producer_id));
    assert_eq!(draft["eserviceId"], json!(send.id));
    assert_eq!(draft["descriptorId"], json!(did));
    assert_eq!(draft["suspendedByConsumer"], false);
    assert!(chrono::DateTime::parse_from_rfc3339(draft["createdAt"].as_str().unwrap()).is_ok(), "{draft}");
    let aid = id_of(&draft);
    let (status, body) = prova.post("/agreements", Some(seed.clone())).await;
    assert_eq!(status, 409, "a second live agreement: {body}");
    assert_api_problem(&body, 409);
    rec.record("post", "/agreements", 409, &body);

    // Reads: the consumer (also with m2m), not another organisation.
    let (status, one) = reader.get(&format!("/agreements/{aid}")).await;
    assert_eq!((status, &one), (StatusCode::OK, &draft));
    rec.record("get", "/agreements/{agreementId}", 200, &one);
    let (status, body) = other.get(&format!("/agreements/{aid}")).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("get", "/agreements/{agreementId}", 403, &body);
    let (status, body) = prova.get(&format!("/agreements/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    rec.record("get", "/agreements/{agreementId}", 404, &body);
    let (status, body) = prova.get("/agreements/not-a-uuid").await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("get", "/agreements/{agreementId}", 400, &body);
    assert_api_refused(prova.post("/agreements/not-a-uuid/submit", Some(json!({}))).await, 400);
    assert_api_refused(prova.delete("/agreements/not-a-uuid").await, 400);

    // submit: bad bodies, wrong callers, then Active at once (automatic policy).
    let submit = format!("/agreements/{aid}/submit");
    for bad in ["", "{", r#"{"notes":"x"}"#, &json!({ "consumerNotes": "x".repeat(1001) }).to_string()] {
        let (status, body) = prova.post_raw(&submit, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
    }
    let (status, body) = reader.post(&submit, Some(json!({}))).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("post", "/agreements/{agreementId}/submit", 403, &body);
    assert_api_refused(other.post(&submit, Some(json!({}))).await, 403);
    let (status, active) = prova.post(&submit, Some(json!({ "consumerNotes": "Richiesta per SEND" }))).await;
    assert_eq!(status, 200, "{active}");
    rec.record("post", "/agreements/{agreementId}/submit", 200, &active);
    assert_eq!(active["state"], "ACTIVE");
    assert_eq!(active["consumerNotes"], "Richiesta per SEND");
    assert!(active["updatedAt"].is_string(), "{active}");
    let (status, body) = prova.post(&submit, Some(json!({}))).await;
    assert_eq!(status, 409, "submitting twice: {body}");
    assert_api_problem(&body, 409);
    rec.record("post", "/agreements/{agreementId}/submit", 409, &body);

    // Active is history: not deletable; non-admins may not even try.
    assert_api_refused(reader.delete(&format!("/agreements/{aid}")).await, 403);
    let (status, body) = prova.delete(&format!("/agreements/{aid}")).await;
    assert_eq!(status, 409, "{body}");
    assert_api_problem(&body, 409);

    // suspend / unsuspend by the consumer.
    let (status, body) = reader.post(&format!("/agreements/{aid}/suspend"), None).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    assert_api_refused(other.post(&format!("/agreements/{aid}/suspend"), None).await, 403);
    assert_api_refused(prova.post_raw(&format!("/agreements/{aid}/suspend"), r#"{"x":1}"#).await, 400);
    let (status, susp) = prova.post(&format!("/agreements/{aid}/suspend"), None).await;
    assert_eq!(status, 200, "{susp}");
    rec.record("post", "/agreements/{agreementId}/suspend", 200, &susp);
    assert_eq!(susp["state"], "SUSPENDED");
    assert_eq!(susp["suspendedByConsumer"], true);
    assert_eq!(susp["suspendedByProducer"], false);
    assert!(chrono::DateTime::parse_from_rfc3339(susp["suspendedAt"].as_str().unwrap()).is_ok(), "{susp}");
    let (status, back) = prova.post(&format!("/agreements/{aid}/unsuspend"), Some(json!({}))).await;
    assert_eq!(status, 200, "{back}");
    rec.record("post", "/agreements/{agreementId}/unsuspend", 200, &back);
    assert_eq!(back["state"], "ACTIVE");
    assert!(back.get("suspendedAt").is_none(), "{back}");

    // No newer version to upgrade to; nothing rejected to clone.
    let (status, body) = prova.post(&format!("/agreements/{aid}/upgrade"), None).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    rec.record("post", "/agreements/{agreementId}/upgrade", 400, &body);
    let (status, body) = prova.post(&format!("/agreements/{aid}/clone"), None).await;
    assert_eq!(status, 409, "{body}");
    assert_api_problem(&body, 409);
    rec.record("post", "/agreements/{agreementId}/clone", 409, &body);

    // No purposes yet.
    let (status, ps) = prova.get(&format!("/agreements/{aid}/purposes?offset=0&limit=10")).await;
    assert_eq!(status, 200, "{ps}");
    assert_eq!(ps["pagination"]["totalCount"], 0);
    rec.record("get", "/agreements/{agreementId}/purposes", 200, &ps);
    assert_api_refused(prova.get(&format!("/agreements/{aid}/purposes?offset=0")).await, 400);
    assert_api_refused(other.get(&format!("/agreements/{aid}/purposes?offset=0&limit=10")).await, 403);
    rec.check(pdnd_schema::V2);
});

varco::both_backends!(manual_approval_by_the_producer, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let es = pagopa_eservice(&app, "Servizio con approvazione", ApprovalPolicy::Manual).await;
    let prova = Api::new(&app, COMUNE_DI_PROVA, true).await;
    let esempio = Api::new(&app, COMUNE_DI_ESEMPIO, true).await;
    let producer = Api::new(&app, PAGOPA, true).await;
    let producer_reader = Api::new(&app, PAGOPA, false).await;

    let aid = id_of(&prova.create(&es).await);
    let (status, pending) = prova.post(&format!("/agreements/{aid}/submit"), Some(json!({}))).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["state"], "PENDING");

    // The producer sees it; only the producer's admin may approve.
    let (status, seen) = producer_reader.get(&format!("/agreements/{aid}")).await;
    assert_eq!((status, &seen), (StatusCode::OK, &pending));
    let approve = format!("/agreements/{aid}/approve");
    let (status, body) = prova.post(&approve, None).await;
    assert_eq!(status, 403, "the consumer approving: {body}");
    assert_api_problem(&body, 403);
    rec.record("post", "/agreements/{agreementId}/approve", 403, &body);
    assert_api_refused(producer_reader.post(&approve, None).await, 403);
    assert_api_refused(esempio.post(&approve, None).await, 403);
    assert_api_refused(producer.post(&approve, Some(json!({ "delegationId": uuid::Uuid::new_v4() }))).await, 400);
    let (status, active) = producer.post(&approve, None).await;
    assert_eq!(status, 200, "{active}");
    rec.record("post", "/agreements/{agreementId}/approve", 200, &active);
    assert_eq!(active["state"], "ACTIVE");
    let (status, body) = producer.post(&approve, None).await;
    assert_eq!(status, 409, "{body}");
    assert_api_problem(&body, 409);
    rec.record("post", "/agreements/{agreementId}/approve", 409, &body);

    // Suspension by the producer is the producer's flag.
    let (status, susp) = producer.post(&format!("/agreements/{aid}/suspend"), None).await;
    assert_eq!(status, 200, "{susp}");
    assert_eq!((susp["suspendedByProducer"].clone(), susp["suspendedByConsumer"].clone()), (json!(true), json!(false)));
    let (status, body) = prova.post(&format!("/agreements/{aid}/unsuspend"), None).await;
    assert_eq!(status, 409, "the consumer cannot lift the producer's suspension: {body}");
    assert_api_problem(&body, 409);
    let (status, back) = producer.post(&format!("/agreements/{aid}/unsuspend"), None).await;
    assert_eq!((status, back["state"].clone()), (StatusCode::OK, json!("ACTIVE")), "{back}");

    // Rejection: reason required, 20..1000 characters, producer only.
    let bid = id_of(&esempio.create(&es).await);
    let (_, pending) = esempio.post(&format!("/agreements/{bid}/submit"), Some(json!({}))).await;
    assert_eq!(pending["state"], "PENDING");
    let reject = format!("/agreements/{bid}/reject");
    let reason = "Mancano i requisiti per la fruizione del servizio";
    for bad in ["", "{}", r#"{"reason":"troppo breve"}"#, &json!({ "reason": "x".repeat(1001) }).to_string()] {
        let (status, body) = producer.post_raw(&reject, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("post", "/agreements/{agreementId}/reject", 400, &body);
    }
    assert_api_refused(esempio.post(&reject, Some(json!({ "reason": reason }))).await, 403);
    assert_api_refused(producer_reader.post(&reject, Some(json!({ "reason": reason }))).await, 403);
    let (status, rejected) = producer.post(&reject, Some(json!({ "reason": reason }))).await;
    assert_eq!(status, 200, "{rejected}");
    rec.record("post", "/agreements/{agreementId}/reject", 200, &rejected);
    assert_eq!(rejected["state"], "REJECTED");
    assert_eq!(rejected["rejectionReason"], reason);

    // The consumer clones the rejected one into a new Draft, then deletes that.
    assert_api_refused(producer.post(&format!("/agreements/{bid}/clone"), None).await, 403);
    let (status, clone) = esempio.post(&format!("/agreements/{bid}/clone"), None).await;
    assert_eq!(status, 200, "{clone}");
    rec.record("post", "/agreements/{agreementId}/clone", 200, &clone);
    assert_eq!(clone["state"], "DRAFT");
    let cid = id_of(&clone);
    assert_ne!(cid, bid);
    assert_api_refused(producer.delete(&format!("/agreements/{cid}")).await, 403);
    let (status, body) = esempio.delete(&format!("/agreements/{cid}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = esempio.get(&format!("/agreements/{cid}")).await;
    assert_eq!(status, 404, "{body}");
    assert_api_problem(&body, 404);
    assert_api_refused(esempio.delete(&format!("/agreements/{cid}")).await, 404);

    // Upgrade to a new published version; the old descriptor may no longer be asked.
    let svc = app.running.platform.env(Env::Collaudo);
    let d2 = svc.add_descriptor(&Caller::System, es.id, descriptor(ApprovalPolicy::Manual)).await.unwrap();
    svc.publish_descriptor(&Caller::System, es.id, d2).await.unwrap();
    let old = es.latest_published().unwrap().id;
    let (status, body) = esempio.post("/agreements", Some(json!({ "eserviceId": es.id, "descriptorId": old }))).await;
    assert_eq!(status, 400, "{body}");
    assert_api_problem(&body, 400);
    assert_api_refused(producer.post(&format!("/agreements/{aid}/upgrade"), None).await, 403);
    let (status, up) = prova.post(&format!("/agreements/{aid}/upgrade"), None).await;
    assert_eq!(status, 200, "{up}");
    rec.record("post", "/agreements/{agreementId}/upgrade", 200, &up);
    assert_eq!(up["descriptorId"], json!(d2));
    assert_eq!(up["state"], "ACTIVE");
    assert_ne!(id_of(&up), aid);
    let (_, old_one) = prova.get(&format!("/agreements/{aid}")).await;
    assert_eq!(old_one["state"], "ARCHIVED");

    // The producer lists the agreements on its e-service, both consumers.
    let (status, list) = producer.get(&format!("/agreements?offset=0&limit=50&eserviceIds={}", es.id)).await;
    assert_eq!(status, 200, "{list}");
    rec.record("get", "/agreements", 200, &list);
    assert_eq!(list["pagination"]["totalCount"], 3, "archived, upgraded, rejected: {list}");
    let (_, list) =
        producer.get(&format!("/agreements?offset=0&limit=50&eserviceIds={}&states=ACTIVE,REJECTED", es.id)).await;
    assert_eq!(list["pagination"]["totalCount"], 2, "{list}");
    let (_, list) = producer
        .get(&format!("/agreements?offset=0&limit=50&eserviceIds={}&consumerIds={}", es.id, esempio.tenant_id))
        .await;
    assert_eq!(list["pagination"]["totalCount"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], json!(bid));
    rec.check(pdnd_schema::V2);
});

varco::both_backends!(list_filters_pagination_and_purposes, |backend| async move {
    let app = spawn_app(backend).await;
    let mut rec = pdnd_schema::Recorder::default();
    let prova = Api::new(&app, COMUNE_DI_PROVA, false).await;
    let prova_admin = Api::new(&app, COMUNE_DI_PROVA, true).await;
    let esempio = Api::new(&app, COMUNE_DI_ESEMPIO, false).await;
    let producer = Api::new(&app, PAGOPA, false).await;

    // Four agreements of Comune di Prova: SEND (Active) and three Drafts.
    let send = send_uat(&app).await;
    let first = id_of(&prova_admin.create(&send).await);
    prova_admin.post(&format!("/agreements/{first}/submit"), Some(json!({}))).await;
    let mut ess = vec![send.clone()];
    for n in 1..=3 {
        let es = pagopa_eservice(&app, &format!("Servizio {n}"), ApprovalPolicy::Automatic).await;
        prova_admin.create(&es).await;
        ess.push(es);
    }

    for bad in [
        "",
        "offset=0",
        "limit=5",
        "offset=0&limit=0",
        "offset=0&limit=51",
        "offset=-1&limit=5",
        "offset=0&limit=5&states=BOGUS",
        "offset=0&limit=5&states=active",
        "offset=0&limit=5&producerIds=nope",
        "offset=0&limit=5&consumerIds=1,2",
        "offset=0&limit=5&eserviceIds=x",
        "offset=0&limit=5&descriptorIds=x",
    ] {
        let (status, body) = prova.get(&format!("/agreements?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_api_problem(&body, 400);
        rec.record("get", "/agreements", 400, &body);
    }

    // Pages: a stable order, no overlap, the total each time.
    let mut seen = Vec::new();
    for offset in [0, 2] {
        let (status, page) = prova.get(&format!("/agreements?offset={offset}&limit=2")).await;
        assert_eq!(status, 200, "{page}");
        rec.record("get", "/agreements", 200, &page);
        assert_eq!(page["pagination"], json!({ "offset": offset, "limit": 2, "totalCount": 4 }));
        seen.extend(page["results"].as_array().unwrap().iter().map(id_of));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);
    let (_, page) = prova.get("/agreements?offset=4&limit=2").await;
    assert_eq!(page["results"], json!([]));
    assert_eq!(page["pagination"]["totalCount"], 4);

    let count = |v: &Value| v["pagination"]["totalCount"].as_u64().unwrap();
    let (_, v) = prova.get("/agreements?offset=0&limit=50&states=DRAFT").await;
    assert_eq!(count(&v), 3, "{v}");
    assert!(v["results"].as_array().unwrap().iter().all(|a| a["state"] == "DRAFT"));
    let (_, v) = prova.get("/agreements?offset=0&limit=50&states=DRAFT,ACTIVE").await;
    assert_eq!(count(&v), 4, "{v}");
    let (_, v) = prova.get("/agreements?offset=0&limit=50&states=").await;
    assert_eq!(count(&v), 4, "an empty list filters nothing: {v}");
    let (_, v) = prova.get(&format!("/agreements?offset=0&limit=50&eserviceIds={},{}", ess[1].id, ess[2].id)).await;
    assert_eq!(count(&v), 2, "{v}");
    let d3 = ess[3].latest_published().unwrap().id;
    let (_, v) = prova.get(&format!("/agreements?offset=0&limit=50&descriptorIds={d3}")).await;
    assert_eq!(count(&v), 1, "{v}");
    assert_eq!(v["results"][0]["descriptorId"], json!(d3));
    let (_, v) = prova.get(&format!("/agreements?offset=0&limit=50&producerIds={}", send.producer_id)).await;
    assert_eq!(count(&v), 4, "{v}");
    let (_, v) = prova.get(&format!("/agreements?offset=0&limit=50&producerIds={}", uuid::Uuid::new_v4())).await;
    assert_eq!(count(&v), 0, "{v}");
    let (_, v) = prova.get(&format!("/agreements?offset=0&limit=50&consumerIds={}", esempio.tenant_id)).await;
    assert_eq!(count(&v), 0, "{v}");

    // Only one's own agreements: Esempio has none, the producer sees Prova's.
    let (_, v) = esempio.get("/agreements?offset=0&limit=50").await;
    assert_eq!(count(&v), 0, "{v}");
    let (_, v) = producer.get(&format!("/agreements?offset=0&limit=50&consumerIds={}", prova.tenant_id)).await;
    assert_eq!(count(&v), 4, "{v}");

    // Purposes under an agreement: Esempio's, made by the consumer walk on SEND.
    let c = setup_consumer(&app, COMUNE_DI_ESEMPIO).await;
    let path = format!("/agreements/{}/purposes?offset=0&limit=10", c.agreement_id);
    let (status, ps) = esempio.get(&path).await;
    assert_eq!(status, 200, "{ps}");
    rec.record("get", "/agreements/{agreementId}/purposes", 200, &ps);
    assert_eq!(count(&ps), 1, "{ps}");
    let p = &ps["results"][0];
    assert_eq!(p["id"], json!(c.purpose_id));
    assert_eq!(p["consumerId"], json!(c.tenant_id));
    assert_eq!(p["eserviceId"], json!(send.id));
    assert_eq!(p["currentVersion"]["state"], "ACTIVE");
    assert_eq!(p["currentVersion"]["dailyCalls"], 1000);
    assert_eq!(p["isRiskAnalysisValid"], true);
    let (status, by_producer) = producer.get(&path).await;
    assert_eq!((status, &by_producer), (StatusCode::OK, &ps));
    let (status, body) = prova.get(&path).await;
    assert_eq!(status, 403, "{body}");
    assert_api_problem(&body, 403);
    rec.record("get", "/agreements/{agreementId}/purposes", 403, &body);
    let (status, refusal) =
        prova.get(&format!("/agreements/{}/purposes?offset=0&limit=10", uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404);
    assert_api_problem(&refusal, 404);
    rec.check(pdnd_schema::V2);
});
