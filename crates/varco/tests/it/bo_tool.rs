//! "Tool per lo sviluppo" > "Debug client assertion": the page's verdict and the
//! token endpoint's are the same checker's. A valid assertion names the e-service;
//! a refused one names each failure in its step (several claim defects together in
//! step 1), the later steps "Impossibile eseguire", while the endpoint answers the
//! generic 400 with the first of them in the log. Another Ente's client reads on the
//! page exactly like an unknown key.
use crate::common::web::Browser;
use crate::common::*;
use serde_json::json;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_jose::RsaPrivateKey;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, SEND_UAT};
use varco_platform::Caller;
use varco_selfcare::demo::ADMIN_COMUNE;

const DEBUG: &str = "/interop/collaudo/tool-sviluppo/debug-voucher";

/// Maria Bianchi in Collaudo's back office, on the debug form; its form token.
async fn on_the_form(app: &TestApp) -> (Browser, String) {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;
    let tools = b.get("/interop/collaudo/tool-sviluppo").await;
    assert_eq!(tools.status, 200, "{}", tools.body);
    tools.assert_contains("Tool per lo sviluppo");
    tools.assert_contains("Debug client assertion");
    assert!(text(&tools.body).contains("Simula l'ottenimento del voucher"));
    let form = b.get(DEBUG).await;
    assert_eq!(form.status, 200, "{}", form.body);
    form.assert_contains("Client assertion");
    form.assert_contains("DPoP Proof");
    let csrf = form.csrf();
    (b, csrf)
}

/// The page's text, entities undone.
fn text(body: &str) -> String {
    body.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x22;", "\"")
        .replace("&amp;", "&")
}

/// "Esito della tua richiesta" and "Esito del debug", without the decoded request.
fn verdict(body: &str) -> String {
    let t = text(body);
    let start = t.find("data-testid=\"esito-richiesta\"").unwrap_or_else(|| panic!("no verdict in:\n{t}"));
    let end = t.find("data-testid=\"contenuto\"").expect("the decoded request");
    t[start..end].to_string()
}

/// Step `n` of the verdict: its outcome and its lines (up to the next step).
fn step(body: &str, n: u8) -> String {
    let v = verdict(body);
    let start = v.find(&format!("data-testid=\"passo-{n}\"")).unwrap_or_else(|| panic!("no step {n} in:\n{v}"));
    let rest = &v[start + 1..];
    let end = rest.find("data-testid=\"passo-").map_or(v.len(), |e| start + 1 + e);
    v[start..end].to_string()
}

async fn debug(b: &Browser, csrf: &str, assertion: &str) -> crate::common::web::Page {
    let page = b.post(DEBUG, &[("csrf", csrf), ("client_assertion", assertion), ("dpop", ""), ("client_id", "")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// The token endpoint refuses `assertion` with the generic 400 and `reason` in the log.
async fn endpoint_refuses(app: &TestApp, logs: &LogCapture, assertion: &str, reason: &str) {
    let r = request_voucher(app, Env::Collaudo, assertion).await;
    let corr = check_generic_400(&r).unwrap_or_else(|e| panic!("not the generic 400: {e}"));
    assert_eq!(logs.reason_for(&corr).as_deref(), Some(reason), "the logged reason");
}

varco::both_backends!(debug_tool_reports_each_step_as_the_endpoint_decides, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let (b, csrf) = on_the_form(&app).await;

    // The form's token and a session are required.
    let valid = c.assertion(&app);
    let no_token = b.post(DEBUG, &[("client_assertion", valid.as_str())]).await;
    assert_eq!(no_token.status, 403, "without the form's token");
    let anonymous =
        Browser::new(&app.running.base_url).post(DEBUG, &[("csrf", "x"), ("client_assertion", &valid)]).await;
    assert_eq!(anonymous.location.as_deref(), Some("/selfcare/login"));

    // Valid: the e-service named, every step passed, the request decoded.
    let page = debug(&b, &csrf, &valid).await;
    let v = verdict(&page.body);
    assert!(
        v.contains(&format!(
            "Questa richiesta è valida, è possibile ottenere un voucher per l'e-service {SEND_UAT}, versione 1"
        )),
        "{v}"
    );
    for n in 1..=4 {
        assert!(step(&page.body, n).contains("Riuscita"), "step {n}: {}", step(&page.body, n));
    }
    assert!(!v.contains("passo-5"), "no DPoP step without a proof");
    assert!(text(&page.body).contains(&format!("\"purposeId\": \"{}\"", c.purpose_id)), "the decoded payload");
    assert_eq!(request_voucher(&app, Env::Collaudo, &valid).await.status, 200);

    // Step 1: three claim defects at once, all reported; the endpoint logs the first.
    let three = c.assertion_with(&app, |h, p| {
        h.insert("alg".into(), json!("HS256"));
        p.remove("exp");
        p.insert("aud".into(), json!("https://auth.uat.interop.pagopa.it/client-assertion"));
    });
    let page = debug(&b, &csrf, &three).await;
    let s1 = step(&page.body, 1);
    assert!(s1.contains("3 errori"), "{s1}");
    assert!(s1.contains("L'algoritmo ALG \"HS256\" non è ammesso"), "{s1}");
    assert!(s1.contains("non contiene il claim EXP"), "{s1}");
    assert!(s1.contains("Il claim AUD (audience) non contiene l'audience corretta"), "{s1}");
    for n in 2..=4 {
        assert!(step(&page.body, n).contains("Impossibile eseguire"), "step {n}");
    }
    assert!(verdict(&page.body).contains("Non è possibile ottenere un voucher per questa richiesta"));
    endpoint_refuses(&app, &logs, &three, "algorithmNotAllowed").await;

    // Step 2: a kid the client does not have.
    let unknown_kid = c.assertion_with(&app, |h, _| {
        h.insert("kid".into(), json!(RsaPrivateKey::generate_2048().public_key().kid().as_str()));
    });
    let page = debug(&b, &csrf, &unknown_kid).await;
    assert!(step(&page.body, 1).contains("Riuscita"));
    let s2 = step(&page.body, 2);
    assert!(
        s2.contains("1 errore") && s2.contains(&format!("Il client {} non ha una chiave pubblica", c.client_id)),
        "{s2}"
    );
    assert!(step(&page.body, 3).contains("Impossibile eseguire"));
    endpoint_refuses(&app, &logs, &unknown_kid, "tokenGenerationStatesEntryNotFound").await;

    // Step 3: signed with another private key.
    let (h, p) = assertion_parts(&app, Env::Collaudo, &c.kid, c.client_id, Some(c.purpose_id));
    let forged = sign(&h, &p, &RsaPrivateKey::generate_2048());
    let page = debug(&b, &csrf, &forged).await;
    assert!(step(&page.body, 2).contains("Riuscita"));
    let s3 = step(&page.body, 3);
    assert!(s3.contains("1 errore") && s3.contains("La firma della client assertion non è verificata"), "{s3}");
    assert!(step(&page.body, 4).contains("Impossibile eseguire"));
    endpoint_refuses(&app, &logs, &forged, "invalidSignature").await;

    // Step 4: the agreement suspended by the producer.
    let svc = app.running.platform.env(Env::Collaudo);
    let producer_id = svc.eservice(&Caller::Operator, c.eservice_id).await.unwrap().producer_id;
    let producer = Caller::Person {
        env: Env::Collaudo,
        tenant: producer_id,
        user: UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    svc.suspend_agreement(&producer, c.agreement_id).await.unwrap();
    let suspended = c.assertion(&app);
    let page = debug(&b, &csrf, &suspended).await;
    assert!(step(&page.body, 3).contains("Riuscita"));
    let s4 = step(&page.body, 4);
    assert!(
        s4.contains("1 errore") && s4.contains(&format!("La richiesta di fruizione {} non è attiva", c.agreement_id)),
        "{s4}"
    );
    endpoint_refuses(&app, &logs, &suspended, "invalidAgreementState").await;
});

varco::both_backends!(another_entes_client_reads_like_an_unknown_key, |backend| async move {
    let app = spawn_app(backend).await;
    let mine = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let theirs = setup_consumer(&app, COMUNE_DI_ESEMPIO).await;
    let (b, csrf) = on_the_form(&app).await;

    // Comune di Esempio's assertion is good: the endpoint gives it a voucher.
    let their_assertion = theirs.assertion(&app);
    assert_eq!(request_voucher(&app, Env::Collaudo, &their_assertion).await.status, 200);
    let seen = verdict(&debug(&b, &csrf, &their_assertion).await.body).replace(&theirs.client_id.to_string(), "CLIENT");

    // The same kid on Comune di Prova's own client: a key it does not have.
    let own_unknown = mine.assertion_with(&app, |h, _| {
        h.insert("kid".into(), json!(theirs.kid));
    });
    let unknown = verdict(&debug(&b, &csrf, &own_unknown).await.body).replace(&mine.client_id.to_string(), "CLIENT");
    assert!(unknown.contains("non ha una chiave pubblica con kid"), "{unknown}");
    assert_eq!(seen, unknown, "another Ente's client reads unlike an unknown key");

    // And like a client that does not exist at all.
    let nobody = ClientId::new();
    let (h, mut p) = assertion_parts(&app, Env::Collaudo, &theirs.kid, nobody, Some(theirs.purpose_id));
    p.insert("iss".into(), json!(nobody.to_string()));
    let none = verdict(&debug(&b, &csrf, &sign(&h, &p, &theirs.key)).await.body).replace(&nobody.to_string(), "CLIENT");
    assert_eq!(seen, none, "another Ente's client reads unlike an unknown client");
});

// Step 5, "Validazione DPoP proof", only when a proof is sent: a good proof passes, one
// for another method is refused there, as the token endpoint refuses it.
varco::both_backends!(debug_tool_checks_the_dpop_proof_in_step_5, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let (b, csrf) = on_the_form(&app).await;
    let token_url = app.running.platform.config(Env::Collaudo).token_url.clone();
    let key = RsaPrivateKey::generate_2048();
    let proof = |method: &str| {
        varco_jose::build_dpop_proof(&key, method, &token_url, now(), &uuid::Uuid::new_v4().to_string(), None)
    };
    let assertion = c.assertion(&app);
    let without = debug(&b, &csrf, &assertion).await;
    assert!(!verdict(&without.body).contains("data-testid=\"passo-5\""), "no proof, no step 5");

    let good = proof("POST");
    let page =
        b.post(DEBUG, &[("csrf", &csrf), ("client_assertion", &assertion), ("dpop", &good), ("client_id", "")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let five = step(&page.body, 5);
    assert!(five.contains("Riuscita"), "{five}");
    // The debug tool does not spend the proof: the token endpoint still takes it.
    let r = post_token(&app, Env::Collaudo, &token_form(&c.assertion(&app), None), &[good]).await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);

    let bad = proof("GET");
    let page =
        b.post(DEBUG, &[("csrf", &csrf), ("client_assertion", &assertion), ("dpop", &bad), ("client_id", "")]).await;
    let five = step(&page.body, 5);
    assert!(five.contains("1 errore") && five.contains("data-reason=\"dpopProofInvalid\""), "{five}");
    assert!(text(&page.body).contains("Non è possibile ottenere un voucher per questa richiesta"));
    let r = post_token(&app, Env::Collaudo, &token_form(&c.assertion(&app), None), &[bad]).await;
    let corr = check_generic_400(&r).unwrap();
    assert_eq!(logs.reason_for(&corr).as_deref(), Some("dpopProofInvalid"));
});
