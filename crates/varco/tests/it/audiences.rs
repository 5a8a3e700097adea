//! Audiences are owned (issue 11): tried over the machine API as the review did, a
//! tenant publishing SEND - UAT's audience, or one of the platform's own, got a
//! platform-signed voucher that SEND (or the platform) would take for its own.
use crate::common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_PROVA, PAGOPA, SEND_UAT_AUDIENCE};
use varco_platform::Caller;

const BASE: &str = "/interop/collaudo/api/v2";

async fn voucher(app: &TestApp, tenant: &str) -> String {
    let api = setup_api_client(app, Env::Collaudo, tenant, true).await;
    let r = post_token(app, Env::Collaudo, &token_form(&api.assertion(app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(&format!("{BASE}{path}"))).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = read(req.send().await.unwrap()).await;
    (r.status, r.json())
}

fn seed(name: &str, audience: &str) -> Value {
    json!({
        "name": name,
        "description": "Un e-service con la sua audience",
        "technology": "REST",
        "mode": "DELIVER",
        "descriptor": {
            "audience": [audience],
            "voucherLifespan": 600,
            "dailyCallsPerConsumer": 100,
            "dailyCallsTotal": 1000,
            "agreementApprovalPolicy": "AUTOMATIC"
        }
    })
}

/// Creates an e-service with `audience` and tries to publish its first version.
async fn create_and_publish(app: &TestApp, token: &str, name: &str, audience: &str) -> (StatusCode, Value) {
    let (status, es) = call(app, Method::POST, "/eservices", token, Some(seed(name, audience))).await;
    if status != StatusCode::CREATED {
        return (status, es);
    }
    let id = es["id"].as_str().unwrap();
    let (_, list) = call(app, Method::GET, &format!("/eservices/{id}/descriptors?offset=0&limit=5"), token, None).await;
    let did = list["results"][0]["id"].as_str().unwrap();
    call(app, Method::POST, &format!("/eservices/{id}/descriptors/{did}/publish"), token, None).await
}

varco::both_backends!(audiences_belong_to_the_producer_that_published_them, |backend| async move {
    let app = spawn_app(backend).await;
    let prova = voucher(&app, COMUNE_DI_PROVA).await;
    let pagopa = voucher(&app, PAGOPA).await;
    let cfg = app.running.platform.config(Env::Collaudo).clone();
    let prod = app.running.platform.config(Env::Produzione).clone();
    let events_before = app.running.store.last_event_seq().await.unwrap();

    // SEND - UAT's audience (PagoPA's), in its own spelling and in others: refused.
    // (Each try is a new e-service: names are unique per producer.)
    let mut n = 0;
    let mut name = || {
        n += 1;
        format!("Servizio abusivo {n}")
    };
    for aud in [SEND_UAT_AUDIENCE.to_string(), format!("{SEND_UAT_AUDIENCE}/"), SEND_UAT_AUDIENCE.to_uppercase()] {
        let (status, body) = create_and_publish(&app, &prova, &name(), &aud).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{aud}: {body}");
        assert_api_problem(&body, 400);
        assert!(body["detail"].as_str().unwrap().contains("già usata da un e-service di un altro erogatore"), "{body}");
    }
    // The platform's own audiences, of this environment and of another.
    for aud in [&cfg.client_assertion_audience, &cfg.m2m_audience, &cfg.backoffice_audience, &prod.m2m_audience] {
        let (status, body) = create_and_publish(&app, &prova, &name(), aud).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{aud}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("della piattaforma"), "{aud}: {body}");
    }
    // An audience that would read as two, or with a space: refused at once.
    for aud in [format!("https://api.prova.example,{SEND_UAT_AUDIENCE}"), "https://api prova.example".into()] {
        let refused = name();
        let (status, body) = call(&app, Method::POST, "/eservices", &prova, Some(seed(&refused, &aud))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{aud}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("virgole o spazi"), "{body}");
        // The e-service and its first version are one change: nothing was left
        // behind to hold the name (it used to be, in a transaction of its own).
        let good = seed(&refused, &format!("https://api.prova.example/{n}", n = refused.len()));
        let (status, body) = call(&app, Method::POST, "/eservices", &prova, Some(good)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Nothing refused was published: the only e-services with SEND's audience are PagoPA's.
    let svc = app.running.platform.env(Env::Collaudo);
    let all = svc.eservices(&Caller::Operator, &Default::default(), varco_platform::Page::ALL).await.unwrap();
    let holders: std::collections::BTreeSet<TenantId> = all
        .items
        .iter()
        .filter(|es| {
            varco_domain::eservice::held_audiences(es)
                .any(|a| varco_domain::eservice::audience_key(a) == "api.uat.notifichedigitali.it")
        })
        .map(|es| es.producer_id)
        .collect();
    assert_eq!(holders.len(), 1, "{holders:?}");
    assert!(app.running.store.last_event_seq().await.unwrap() > events_before);

    // The owner may use its audience again, on another e-service of its own.
    let (status, body) = create_and_publish(&app, &pagopa, "SEND - UAT bis", SEND_UAT_AUDIENCE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A free audience is taken by whoever publishes it first; then it is theirs.
    let (status, body) = create_and_publish(&app, &prova, "Servizio del Comune", "https://api.prova.example").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = create_and_publish(&app, &pagopa, "Servizio di PagoPA", "api.prova.example").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
});
