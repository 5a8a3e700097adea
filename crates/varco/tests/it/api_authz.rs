//! The authorisation matrix of the machine API: every state-changing operation of
//! v2 and v3, read from Varco's own OpenAPI document (made from the route table),
//! tried without credentials, with another environment's voucher, as the owner's
//! read-only role (m2m) and as another organisation, on the owner's things. Each
//! must be refused, and the event log must be unchanged after each refusal. A new
//! operation without a row in `ROWS` fails the test.
use crate::common;

use common::*;
use reqwest::Method;
use serde_json::Value;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_jose::{build_dpop_proof, RsaPrivateKey};
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, PAGOPA};
use varco_platform::Caller;

/// Whose things a route's path names: the e-service routes are the producer's
/// (PagoPA's SEND - UAT), the others the consumer's (Comune di Prova's).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Owner {
    Producer,
    Consumer,
    /// A route that names nobody's things (it creates the caller's own): only the
    /// checks that do not depend on whose things they are apply.
    Own,
}

/// Every state-changing operation, as `method path` under `/api/{v}`, and its owner.
const ROWS: &[(&str, &str, Owner)] = &[
    ("delete", "/agreements/{id}", Owner::Consumer),
    ("delete", "/clients/{id}", Owner::Consumer),
    ("delete", "/clients/{id}/keys/{kid}", Owner::Consumer),
    ("delete", "/clients/{id}/purposes/{pid}", Owner::Consumer),
    ("delete", "/purposes/{id}", Owner::Consumer),
    ("delete", "/tenants/{id}/declaredAttributes/{aid}", Owner::Consumer),
    ("patch", "/eservices/{id}/descriptors/{did}/quotas", Owner::Producer),
    ("post", "/agreements", Owner::Own),
    ("post", "/agreements/{id}/approve", Owner::Producer),
    ("post", "/agreements/{id}/clone", Owner::Consumer),
    ("post", "/agreements/{id}/reject", Owner::Producer),
    ("post", "/agreements/{id}/submit", Owner::Consumer),
    ("post", "/agreements/{id}/suspend", Owner::Consumer),
    ("post", "/agreements/{id}/unsuspend", Owner::Consumer),
    ("post", "/agreements/{id}/upgrade", Owner::Consumer),
    ("post", "/certifiedAttributes", Owner::Own),
    ("post", "/clients", Owner::Own),
    ("post", "/clients/{id}/keys", Owner::Consumer),
    ("post", "/clients/{id}/purposes", Owner::Consumer),
    ("post", "/declaredAttributes", Owner::Own),
    ("post", "/eservices", Owner::Own),
    ("post", "/eservices/{id}/descriptors", Owner::Producer),
    ("post", "/eservices/{id}/descriptors/{did}/publish", Owner::Producer),
    ("post", "/eservices/{id}/descriptors/{did}/suspend", Owner::Producer),
    ("post", "/eservices/{id}/descriptors/{did}/unsuspend", Owner::Producer),
    ("post", "/purposes", Owner::Own),
    ("post", "/purposes/{id}/activate", Owner::Consumer),
    ("post", "/purposes/{id}/approve", Owner::Producer),
    ("post", "/purposes/{id}/archive", Owner::Consumer),
    ("post", "/purposes/{id}/suspend", Owner::Consumer),
    ("post", "/purposes/{id}/unsuspend", Owner::Consumer),
    ("post", "/purposes/{id}/versions", Owner::Consumer),
    ("post", "/tenants/{id}/declaredAttributes", Owner::Consumer),
    ("post", "/verifiedAttributes", Owner::Own),
];

/// A voucher, and for v3 the DPoP key it is bound to.
struct Cred {
    voucher: String,
    dpop: Option<RsaPrivateKey>,
}

async fn cred(app: &TestApp, env: Env, tenant: &str, admin: bool, v3: bool) -> Cred {
    let api = setup_api_client(app, env, tenant, admin).await;
    let htu = app.url(&format!("/interop/{}/token.oauth2", env.slug()));
    let dpop = v3.then(RsaPrivateKey::generate_2048);
    let proofs: Vec<String> = dpop
        .iter()
        .map(|k| build_dpop_proof(k, "POST", &htu, now(), &uuid::Uuid::new_v4().to_string(), None))
        .collect();
    let r = post_token(app, env, &token_form(&api.assertion(app), None), &proofs).await;
    assert_eq!(r.status, 200, "{}", r.text);
    Cred { voucher: r.json()["access_token"].as_str().unwrap().to_string(), dpop }
}

async fn call(app: &TestApp, v: &str, method: &str, path: &str, who: Option<&Cred>) -> (u16, Value) {
    let url = app.url(&format!("/interop/collaudo/api/{v}{path}"));
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app.http.request(m.clone(), &url).header("content-type", "application/json").body("{}");
    if let Some(c) = who {
        req = match &c.dpop {
            Some(k) => {
                let proof =
                    build_dpop_proof(k, m.as_str(), &url, now(), &uuid::Uuid::new_v4().to_string(), Some(&c.voucher));
                req.header("authorization", format!("DPoP {}", c.voucher)).header("DPoP", proof)
            }
            None => req.bearer_auth(&c.voucher),
        };
    }
    let r = read(req.send().await.unwrap()).await;
    let body = serde_json::from_str(&r.text).unwrap_or(Value::Null);
    (r.status.as_u16(), body)
}

varco::both_backends!(every_write_of_the_machine_api_is_refused_to_who_may_not, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let es = svc.eservice(&Caller::Operator, c.eservice_id).await.unwrap();
    let declared = svc
        .create_attribute(&Caller::Operator, AttributeKind::Declared, "Attributo dichiarato", "Per i test", None, None)
        .await
        .unwrap();
    let fill = |path: &str, owner: Owner| {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let id = match (first, owner) {
            ("agreements", _) => c.agreement_id.to_string(),
            ("clients", _) => c.client_id.to_string(),
            ("purposes", _) => c.purpose_id.to_string(),
            ("eservices", _) => es.id.to_string(),
            ("tenants", _) => c.tenant_id.to_string(),
            _ => String::new(),
        };
        path.replace("{id}", &id)
            .replace("{did}", &es.descriptors[0].id.to_string())
            .replace("{kid}", &c.kid)
            .replace("{pid}", &c.purpose_id.to_string())
            .replace("{aid}", &declared.id.to_string())
    };

    // The route table, from the OpenAPI document it also makes.
    let doc: Value =
        app.http.get(app.url("/interop/collaudo/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                if let Some(rest) = path.strip_prefix("/api/") {
                    let (v, p) = rest.split_once('/').unwrap();
                    ops.push((v.to_string(), method, format!("/{p}")));
                }
            }
        }
    }
    let rows: std::collections::BTreeSet<(&str, &str)> = ROWS.iter().map(|(m, p, _)| (*m, *p)).collect();
    let missing: Vec<_> = ops.iter().filter(|(_, m, p)| !rows.contains(&(*m, p.as_str()))).collect();
    assert!(missing.is_empty(), "state-changing operations without a row in ROWS: {missing:?}");
    assert!(ops.len() >= ROWS.len(), "{} operations for {} rows", ops.len(), ROWS.len());

    let mut failures = Vec::new();
    let mut tried = 0;
    for v in ["v2", "v3"] {
        let dpop = v == "v3";
        let read_only = [
            (Owner::Producer, cred(&app, Env::Collaudo, PAGOPA, false, dpop).await),
            (Owner::Consumer, cred(&app, Env::Collaudo, COMUNE_DI_PROVA, false, dpop).await),
        ];
        let stranger = cred(&app, Env::Collaudo, COMUNE_DI_ESEMPIO, true, dpop).await;
        let elsewhere = cred(&app, Env::Produzione, COMUNE_DI_PROVA, true, dpop).await;
        for (ov, method, path) in ops.iter().filter(|(ov, _, _)| ov == v) {
            let owner = ROWS.iter().find(|(m, p, _)| m == method && p == path).map(|r| r.2).unwrap();
            let url = fill(path, owner);
            let ro = read_only.iter().find(|(o, _)| *o == owner).map(|(_, c)| c);
            let mut tries: Vec<(&str, Option<&Cred>, &[u16])> = vec![
                ("without credentials", None, &[401]),
                ("with another environment's voucher", Some(&elsewhere), &[401]),
            ];
            if let Some(ro) = ro {
                // The body is "{}": a 400 for it is a refusal too (nothing written).
                tries.push(("as the owner's read-only role (m2m)", Some(ro), &[400, 403]));
            }
            if owner != Owner::Own {
                tries.push(("as another organisation", Some(&stranger), &[400, 403, 404, 409]));
            }
            for (who, cred, expected) in tries {
                let before = app.running.store.last_event_seq().await.unwrap();
                let (status, body) = call(&app, ov, method, &url, cred).await;
                tried += 1;
                let after = app.running.store.last_event_seq().await.unwrap();
                if !expected.contains(&status) {
                    failures.push(format!("{ov} {method} {path} {who}: {status} {body}"));
                }
                if after != before {
                    failures.push(format!("{ov} {method} {path} {who}: the event log changed ({before} -> {after})"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} refusal(s) failed:\n{}", failures.len(), failures.join("\n"));
    // 34 operations on v2 and 38 on v3, two to four tries each.
    assert!(tried >= 200, "only {tried} refusals tried");
    eprintln!("{tried} refusals tried on {} operations", ops.len());
});
