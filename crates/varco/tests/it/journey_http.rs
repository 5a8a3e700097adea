//! journey.md steps 4 to 9 over HTTP only, after the operator's bootstrap of an API
//! client: find SEND - UAT, request it, create and activate a purpose, create a client
//! e-service (v3), upload its key (v3), associate it with the purpose, then get a
//! voucher that an independent JOSE library (PyJWT) verifies. Every answer is checked
//! against PDND's own OpenAPI files.
use crate::common;
use crate::pdnd_schema;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::Env;
use varco_jose::{build_dpop_proof, RsaPrivateKey};

struct Session<'a> {
    app: &'a TestApp,
    key: RsaPrivateKey,
    api: ApiClient,
}

impl Session<'_> {
    async fn voucher(&self, dpop: bool) -> String {
        let token_url = self.app.url("/interop/collaudo/token.oauth2");
        let proofs: Vec<String> = if dpop {
            vec![build_dpop_proof(&self.key, "POST", &token_url, now(), &uuid::Uuid::new_v4().to_string(), None)]
        } else {
            vec![]
        };
        let r = post_token(self.app, Env::Collaudo, &token_form(&self.api.assertion(self.app), None), &proofs).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    /// Calls the API (v2 Bearer, v3 DPoP) and returns status and JSON body.
    async fn call(&self, version: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = self.app.url(&format!("/interop/collaudo/api/{version}{path}"));
        let mut req = self.app.http.request(method.clone(), &url);
        if version == "v3" {
            let voucher = self.voucher(true).await;
            let htu = url.split('?').next().unwrap().to_string();
            let proof = build_dpop_proof(
                &self.key,
                method.as_str(),
                &htu,
                now(),
                &uuid::Uuid::new_v4().to_string(),
                Some(&voucher),
            );
            req = req.header("authorization", format!("DPoP {voucher}")).header("DPoP", proof);
        } else {
            req = req.bearer_auth(self.voucher(false).await);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = read(req.send().await.unwrap()).await;
        pdnd_schema::seen(&r);
        (r.status.as_u16(), if r.text.is_empty() { Value::Null } else { r.json() })
    }
}

varco::both_backends!(journey_steps_4_to_9_over_http, |backend| async move {
    let app = spawn_app(backend).await;
    let (mut v2, mut v3) = (pdnd_schema::Recorder::default(), pdnd_schema::Recorder::default());
    // Operator bootstrap: an API client of Comune di Prova with an admin (m2m-admin).
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let s = Session { app: &app, key: RsaPrivateKey::generate_2048(), api };

    // 4. Catalogo: find SEND - UAT, request it, submit: automatic approval.
    let (st, list) = s.call("v2", Method::GET, "/eservices?name=SEND%20-%20UAT&offset=0&limit=10", None).await;
    assert_eq!(st, 200, "{list}");
    v2.record("get", "/eservices", st, &list);
    let eservice = &list["results"][0];
    assert_eq!(eservice["name"], varco_platform::demo::SEND_UAT);
    let eid = eservice["id"].as_str().unwrap().to_string();
    let (st, ds) = s
        .call("v2", Method::GET, &format!("/eservices/{eid}/descriptors?state=PUBLISHED&offset=0&limit=10"), None)
        .await;
    v2.record("get", "/eservices/{eserviceId}/descriptors", st, &ds);
    let did = ds["results"][0]["id"].as_str().unwrap().to_string();
    let (st, agreement) =
        s.call("v2", Method::POST, "/agreements", Some(json!({ "eserviceId": eid, "descriptorId": did }))).await;
    assert_eq!(st, 201, "{agreement}");
    v2.record("post", "/agreements", st, &agreement);
    assert_eq!(agreement["state"], "DRAFT");
    let aid = agreement["id"].as_str().unwrap().to_string();
    let (st, agreement) = s.call("v2", Method::POST, &format!("/agreements/{aid}/submit"), Some(json!({}))).await;
    assert_eq!(st, 200, "{agreement}");
    v2.record("post", "/agreements/{agreementId}/submit", st, &agreement);
    assert_eq!(agreement["state"], "ACTIVE");

    // 5. Finalità: create with the risk analysis and daily calls, then activate.
    let form = varco_domain::risk_analysis::rules_for(varco_domain::TenantKind::Pa, None).unwrap().example_form();
    let seed = json!({
        "eserviceId": eid,
        "title": "Notifiche digitali",
        "description": "Invio di notifiche a valore legale ai cittadini del Comune",
        "dailyCalls": 1000,
        "isFreeOfCharge": false,
        "riskAnalysisForm": form,
    });
    let (st, purpose) = s.call("v2", Method::POST, "/purposes", Some(seed)).await;
    assert_eq!(st, 201, "{purpose}");
    v2.record("post", "/purposes", st, &purpose);
    let pid = purpose["id"].as_str().unwrap().to_string();
    let (st, purpose) = s.call("v2", Method::POST, &format!("/purposes/{pid}/activate"), Some(json!({}))).await;
    assert_eq!(st, 200, "{purpose}");
    v2.record("post", "/purposes/{purposeId}/activate", st, &purpose);
    assert_eq!(purpose["currentVersion"]["state"], "ACTIVE", "{purpose}");

    // 6. Client e-service (v3), then 7. its public key (v3), then the association.
    let (st, client) =
        s.call("v3", Method::POST, "/clients", Some(json!({ "name": "Client SEND collaudo", "members": [] }))).await;
    assert_eq!(st, 200, "{client}");
    v3.record("post", "/clients", st, &client);
    let cid = client["id"].as_str().unwrap().to_string();
    let client_key = RsaPrivateKey::generate_2048();
    let pem_b64 = base64::engine::general_purpose::STANDARD.encode(client_key.public_key().to_pem());
    let (st, key) = s
        .call(
            "v3",
            Method::POST,
            &format!("/clients/{cid}/keys"),
            Some(json!({ "key": pem_b64, "use": "SIG", "alg": "RS256", "name": "Chiave SEND collaudo" })),
        )
        .await;
    assert_eq!(st, 200, "{key}");
    v3.record("post", "/clients/{clientId}/keys", st, &key);
    let kid = key["jwk"]["kid"].as_str().unwrap().to_string();
    assert_eq!(kid, client_key.kid().to_string());
    let (st, body) =
        s.call("v2", Method::POST, &format!("/clients/{cid}/purposes"), Some(json!({ "purposeId": pid }))).await;
    assert!(st == 200 || st == 204, "{st} {body}");
    let (st, keys) = s.call("v2", Method::GET, &format!("/clients/{cid}/keys?offset=0&limit=10"), None).await;
    assert_eq!(st, 200, "{keys}");
    v2.record("get", "/clients/{clientId}/keys", st, &keys);
    let (st, jwk) = s.call("v2", Method::GET, &format!("/keys/{kid}"), None).await;
    assert_eq!(st, 200, "{jwk}");
    v2.record("get", "/keys/{kid}", st, &jwk);

    // 8-9. The client assertion and the voucher, built and verified by PyJWT.
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("send.rsa.priv");
    std::fs::write(&private, client_key.to_pkcs8_pem()).unwrap();
    let discovery: Value =
        app.http.get(app.url("/interop/collaudo/.well-known/varco.json")).send().await.unwrap().json().await.unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tokio::process::Command::new("python3")
        .arg(root.join("tests/independent/voucher_flow.py"))
        .args(["--token-url", discovery["tokenEndpoint"].as_str().unwrap()])
        .args(["--jwks-url", discovery["jwksUri"].as_str().unwrap()])
        .args(["--audience", discovery["clientAssertionAudience"].as_str().unwrap()])
        // `=` form: a kid may begin with "-", which argparse would take for an option.
        .args([format!("--client-id={cid}"), format!("--kid={kid}"), format!("--purpose-id={pid}")])
        .arg("--private-key")
        .arg(&private)
        .args(["--expect-iss", discovery["issuer"].as_str().unwrap()])
        .args(["--expect-aud", varco_platform::demo::SEND_UAT_AUDIENCE, "--expect-kind", "consumer"])
        .args(["--expect-eservice-id", &eid, "--expect-descriptor-id", &did])
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "PyJWT flow failed (python3 -m pip install -r tests/independent/requirements.txt?):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Refused calls along the way, checked against the files too.
    let (st, body) = s.call("v2", Method::GET, &format!("/purposes/{}", uuid::Uuid::new_v4()), None).await;
    assert_eq!(st, 404);
    v2.record("get", "/purposes/{purposeId}", st, &body);
    let (st, body) = s.call("v2", Method::POST, "/purposes", Some(json!({ "title": "x" }))).await;
    assert_eq!(st, 400);
    v2.record("post", "/purposes", st, &body);
    v2.check(pdnd_schema::V2);
    v3.check(pdnd_schema::V3);
});
