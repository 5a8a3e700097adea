//! "Tool per lo sviluppo" > "Simula l'ottenimento del voucher": the values the
//! page shows are the literal ones the token endpoint wants. An assertion built
//! from the page's values alone (plus the private key) gets a voucher; a client
//! without finalità or keys is said so.
use crate::common::web::Browser;
use crate::common::*;
use serde_json::{json, Map, Value};
use varco::testkit::spawn_app;
use varco_domain::*;
use varco_platform::demo::COMUNE_DI_PROVA;
use varco_platform::Caller;
use varco_selfcare::demo::ADMIN_COMUNE;

const SIM: &str = "/interop/collaudo/tool-sviluppo/simulatore";

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x22;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of `<code id="{id}">` on the page.
fn code(body: &str, id: &str) -> String {
    let open = format!("<code id=\"{id}\">");
    let start = body.find(&open).unwrap_or_else(|| panic!("no {open} in:\n{body}")) + open.len();
    let end = body[start..].find("</code>").expect("</code>") + start;
    unescape(&body[start..end])
}

/// Every copyable value has its "Copia" button.
fn has_copy(body: &str, id: &str) -> bool {
    body.contains(&format!("data-copy=\"{id}\""))
}

varco::both_backends!(simulator_values_get_a_voucher, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let aud = app.running.platform.config(Env::Collaudo).client_assertion_audience.clone();
    let token_url = app.running.platform.config(Env::Collaudo).token_url.clone();
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;

    let tools = b.get("/interop/collaudo/tool-sviluppo").await;
    assert!(tools.body.contains("href=\"/interop/collaudo/tool-sviluppo/simulatore\""), "{}", tools.body);

    // 0: the ids of the chosen client, finalità and agreement.
    let p0 = b.get(&format!("{SIM}?client={}", c.client_id)).await;
    assert_eq!(p0.status, 200, "{}", p0.body);
    let t0 = unescape(&p0.body);
    for needle in ["Selezione parametri", "Tipologia voucher", "Bearer (v2)", "DPoP (v3)", "Client da utilizzare"] {
        assert!(t0.contains(needle), "{needle} missing");
    }
    assert_eq!(code(&p0.body, "sim-client-id"), c.client_id.to_string());
    assert_eq!(code(&p0.body, "sim-purpose-id"), c.purpose_id.to_string());
    assert_eq!(code(&p0.body, "sim-eservice-id"), c.eservice_id.to_string());
    assert_eq!(code(&p0.body, "sim-agreement-id"), c.agreement_id.to_string());
    assert_eq!(code(&p0.body, "sim-consumer-id"), c.tenant_id.to_string());
    assert!(!p0.body.contains("data-testid=\"bloccanti\""), "nothing blocks this client");

    // 1: the assertion's values, each copyable.
    let p1 = b.get(&format!("{SIM}?client={}&finalita={}&chiave={}&passo=1", c.client_id, c.purpose_id, c.kid)).await;
    assert_eq!(p1.status, 200, "{}", p1.body);
    let t1 = unescape(&p1.body);
    assert!(t1.contains("Genera client assertion"));
    assert!(t1.contains("Genera tu questo parametro"));
    assert_eq!(code(&p1.body, "sim-kid"), c.kid);
    assert_eq!(code(&p1.body, "sim-alg"), "RS256");
    assert_eq!(code(&p1.body, "sim-typ"), "JWT");
    assert_eq!(code(&p1.body, "sim-iss"), c.client_id.to_string());
    assert_eq!(code(&p1.body, "sim-sub"), c.client_id.to_string());
    assert_eq!(code(&p1.body, "sim-aud"), aud, "the literal audience");
    assert_eq!(code(&p1.body, "sim-purpose"), c.purpose_id.to_string());
    for id in ["sim-kid", "sim-alg", "sim-typ", "sim-iss", "sim-sub", "sim-aud", "sim-purpose", "sim-cli", "sim-python"]
    {
        assert!(has_copy(&p1.body, id), "Copia for {id}");
    }
    let cli = code(&p1.body, "sim-cli");
    assert!(cli.starts_with("varco assertion build"), "{cli}");
    for flag in [
        format!("--kid {}", c.kid),
        format!("--client-id {}", c.client_id),
        format!("--audience {aud}"),
        format!("--purpose-id {}", c.purpose_id),
    ] {
        assert!(cli.contains(&flag), "{flag} in {cli}");
    }
    let python = code(&p1.body, "sim-python");
    assert!(python.contains("import jwt") && python.contains(&format!("\"aud\": \"{aud}\"")), "{python}");

    // The page's values, and only they, make an assertion that gets a voucher.
    let header: Map<String, Value> = [
        ("alg".to_string(), json!(code(&p1.body, "sim-alg"))),
        ("kid".to_string(), json!(code(&p1.body, "sim-kid"))),
        ("typ".to_string(), json!(code(&p1.body, "sim-typ"))),
    ]
    .into_iter()
    .collect();
    let iat = now();
    let claims: Map<String, Value> = [
        ("iss".to_string(), json!(code(&p1.body, "sim-iss"))),
        ("sub".to_string(), json!(code(&p1.body, "sim-sub"))),
        ("aud".to_string(), json!(code(&p1.body, "sim-aud"))),
        ("purposeId".to_string(), json!(code(&p1.body, "sim-purpose"))),
        ("jti".to_string(), json!(uuid::Uuid::new_v4().to_string())),
        ("iat".to_string(), json!(iat)),
        ("exp".to_string(), json!(iat + 600)),
    ]
    .into_iter()
    .collect();
    let assertion = sign(&header, &claims, &c.key);
    let r = request_voucher(&app, Env::Collaudo, &assertion).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token_type"], "Bearer");

    // 2: the token request.
    let p2 = b.get(&format!("{SIM}?client={}&finalita={}&chiave={}&passo=2", c.client_id, c.purpose_id, c.kid)).await;
    assert_eq!(p2.status, 200, "{}", p2.body);
    let t2 = unescape(&p2.body);
    assert!(t2.contains("Ottieni token di accesso") && t2.contains("Esempio di richiesta di cURL"));
    assert_eq!(code(&p2.body, "sim-token-url"), token_url);
    assert_eq!(code(&p2.body, "sim-body-client_id"), c.client_id.to_string());
    assert_eq!(
        code(&p2.body, "sim-body-client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(code(&p2.body, "sim-body-grant_type"), "client_credentials");
    assert!(code(&p2.body, "sim-token-curl").contains(&format!("curl -X POST '{token_url}'")));
    assert!(t2.contains("Non riesci ad ottenere un voucher valido? Effettua il debug"));
    assert!(p2.body.contains("href=\"/interop/collaudo/tool-sviluppo/debug-voucher\""));

    // 3: the call, Bearer; with DPoP, the proof with ath.
    let p3 = b.get(&format!("{SIM}?client={}&passo=3", c.client_id)).await;
    assert_eq!(p3.status, 200, "{}", p3.body);
    assert!(unescape(&p3.body).contains("Accesso ai dati"));
    let curl = code(&p3.body, "sim-data-curl");
    assert!(curl.contains("Authorization: Bearer <VOUCHER>"), "{curl}");
    let d3 = b.get(&format!("{SIM}?tipo=dpop&client={}&passo=3", c.client_id)).await;
    let curl = code(&d3.body, "sim-data-curl");
    assert!(curl.contains("Authorization: DPoP <VOUCHER>") && curl.contains("DPoP: <DPOP_PROOF con ath>"), "{curl}");
    let d2 = b.get(&format!("{SIM}?tipo=dpop&client={}&passo=2", c.client_id)).await;
    assert!(code(&d2.body, "sim-token-curl").contains("-H 'DPoP: <DPOP_PROOF>'"));
    assert!(code(&d2.body, "sim-dpop-python").contains("dpop+jwt"));

    // The client page leads here with the client chosen.
    let detail = b.get(&format!("/interop/collaudo/gestione-client/api-e-service/{}", c.client_id)).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(
        detail.body.contains(&format!("href=\"/interop/collaudo/tool-sviluppo/simulatore?client={}\"", c.client_id)),
        "{}",
        detail.body
    );
});

varco::both_backends!(simulator_says_what_is_missing, |backend| async move {
    let app = spawn_app(backend).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let t = svc.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.expect("tenant");
    let empty = svc
        .create_client(&Caller::Operator, t.id, ClientKind::Consumer, "Client senza finalità", None, vec![], None)
        .await
        .expect("client");
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;
    // Whatever step is asked, with nothing to sign with the page stays at step 0.
    let p = b.get(&format!("{SIM}?client={}&passo=2", empty.id)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let t0 = unescape(&p.body);
    assert!(t0.contains("Il client selezionato non è associato ad alcuna finalità"), "{t0}");
    assert!(t0.contains("Il client selezionato non contiene chiavi pubbliche"), "{t0}");
    assert!(!t0.contains("Ottieni token di accesso</h2>"), "no step 2 without a key");
    assert_eq!(code(&p.body, "sim-client-id"), empty.id.to_string());
});
