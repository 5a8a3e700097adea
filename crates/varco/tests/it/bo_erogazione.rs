//! Erogazione > "I miei e-service" through the pages, as a browser posts them: the
//! producer's list, "Crea nuovo" in its steps up to "Pubblica", the interface file
//! (checked before it is stored, served back only as an attachment), the audience
//! refused on its field, the versions' actions and the consumers' CSV.
use crate::common::web::{Browser, Page};
use reqwest::StatusCode;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_platform::demo::{PAGOPA, SEND_UAT, SEND_UAT_AUDIENCE};
use varco_platform::{Caller, NewTenant};
use varco_selfcare::demo::{ADMIN_COMUNE, PAGOPA_STAFF};

const OPENAPI: &str = r#"{"openapi":"3.0.3","info":{"title":"Anagrafe di prova","version":"1.0.0"},
"paths":{"/residenti/{id}":{"get":{"responses":{"200":{"description":"Il residente"}}}}}}"#;

/// A browser in the back office of Collaudo as `fiscal_code` for `ente`.
async fn signed_in(app: &TestApp, fiscal_code: &str, ente: &str) -> (Browser, String) {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(fiscal_code).await;
    let landed = b.enter_backoffice(ente, "collaudo").await;
    let home = b.get(landed.location.as_deref().unwrap()).await;
    let csrf = home.csrf();
    (b, csrf)
}

/// Posts the technical step as a browser does (multipart), with `file` if any.
async fn post_technical(b: &Browser, path: &str, csrf: &str, audience: &str, file: Option<(&str, Vec<u8>)>) -> Page {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("audience", audience.to_string())
        .text("url_server", "https://anagrafe.prova.example/api/v1".to_string());
    if let Some((name, bytes)) = file {
        form = form.part("interfaccia", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    }
    let r = b.http.post(format!("{}{path}", b.base)).multipart(form).send().await.unwrap();
    let status = r.status();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    Page { status, location, set_cookies: vec![], body: r.text().await.unwrap() }
}

/// "Crea nuovo" → "Salva bozza e prosegui": the new e-service's path
/// (`/interop/collaudo/erogazione/e-service/{id}/{descriptor}`).
async fn create_draft(b: &Browser, csrf: &str, name: &str, technology: &str) -> String {
    let form = b.get("/interop/collaudo/erogazione/e-service/crea").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    form.assert_contains("Informazioni generali");
    let r = b
        .post(
            "/interop/collaudo/erogazione/e-service/crea",
            &[
                ("csrf", csrf),
                ("nome", name),
                ("descrizione", "Un e-service creato dalle pagine per prova"),
                ("tecnologia", technology),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location.unwrap();
    to.split("/modifica/soglie").next().unwrap().to_string()
}

fn ids_of(path: &str) -> (EServiceId, DescriptorId) {
    let mut parts = path.rsplit('/');
    let d = parts.next().unwrap().parse().unwrap();
    let e = parts.next().unwrap().parse().unwrap();
    (e, d)
}

async fn eservice(app: &TestApp, id: EServiceId) -> EService {
    app.running.platform.env(Env::Collaudo).eservice(&Caller::Operator, id).await.unwrap()
}

async fn events(app: &TestApp) -> i64 {
    app.running.store.last_event_seq().await.unwrap()
}

async fn verified_attribute(app: &TestApp, name: &str) -> Attribute {
    app.running
        .platform
        .env(Env::Collaudo)
        .create_attribute(&Caller::Operator, AttributeKind::Verified, name, "Attributo verificato di prova", None, None)
        .await
        .unwrap()
}

varco::both_backends!(a_producer_creates_and_publishes_an_eservice_in_steps, |backend| async move {
    let app = spawn_app(backend).await;
    let attr = verified_attribute(&app, "Ente abilitato ai servizi anagrafici").await;
    let (laura, csrf) = signed_in(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;

    let list = laura.get("/interop/collaudo/erogazione/e-service").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains(SEND_UAT);
    list.assert_contains("Crea nuovo");

    let base = create_draft(&laura, &csrf, "Anagrafe di prova", "REST").await;
    let (eid, did) = ids_of(&base);
    let soglie = format!("{base}/modifica/soglie");
    let page = laura.get(&soglie).await;
    page.assert_contains("Soglie e attributi");
    page.assert_contains("Ente abilitato ai servizi anagrafici");

    // Thresholds and a group of verified attributes, then on.
    let fields = |azione: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("durata", "10".to_string()),
            ("per_fruitore", "100".to_string()),
            ("totali", "1000".to_string()),
            ("approvazione", "MANUAL".to_string()),
            ("nuovo_verificati", attr.id.to_string()),
            ("azione", azione.to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let laura = &laura;
        let soglie = soglie.clone();
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            laura.post(&soglie, &f).await
        }
    };
    let r = post(fields("gruppo:verificati")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Per consumer above the total: said on the field, nothing saved.
    let before = events(&app).await;
    let mut wrong = fields("prosegui");
    wrong[2].1 = "5000".into();
    let r = post(wrong).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.assert_contains("La soglia per fruitore non può superare quella totale.");
    assert_eq!(events(&app).await, before);
    let r = post(fields("prosegui")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let specifiche = format!("{base}/modifica/specifiche");
    assert!(r.location.as_deref().unwrap().starts_with(&specifiche), "{:?}", r.location);
    let d = eservice(&app, eid).await.descriptor(did).cloned().unwrap();
    assert_eq!(d.voucher_lifespan, 600);
    assert_eq!((d.daily_calls_per_consumer, d.daily_calls_total), (100, 1000));
    assert_eq!(d.agreement_approval_policy, ApprovalPolicy::Manual);
    assert_eq!(d.attributes.verified, vec![vec![attr.id]]);

    // The platform's own audience is nobody's: said on the field, nothing saved.
    let platform_aud = app.running.platform.config(Env::Collaudo).client_assertion_audience.clone();
    let before = events(&app).await;
    let r = post_technical(&laura, &specifiche, &csrf, &platform_aud, Some(("api.json", OPENAPI.into()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.assert_contains("data-testid=\"errore-audience\"");
    assert_eq!(events(&app).await, before, "nothing saved with a refused audience");
    assert!(app.running.store.interface_file(Env::Collaudo, &did.to_string()).await.unwrap().is_none());
    assert!(r.body.contains("è della piattaforma"), "{}", r.body);

    // Another producer's audience, held by its published version: said why, nothing saved.
    let svc = app.running.platform.env(Env::Collaudo);
    let esempio = svc.tenant_by_name(&Caller::Operator, varco_platform::demo::COMUNE_DI_ESEMPIO).await.unwrap();
    let other = svc
        .create_eservice_with_version(
            &Caller::Operator,
            esempio.id,
            "Anagrafe di Esempio",
            "L'anagrafe del Comune di Esempio",
            Technology::Rest,
            EServiceMode::Deliver,
            varco_domain::eservice::DescriptorInput {
                description: None,
                audience: vec!["https://anagrafe.esempio.example/api".into()],
                voucher_lifespan: 600,
                daily_calls_per_consumer: 10,
                daily_calls_total: 100,
                agreement_approval_policy: ApprovalPolicy::Automatic,
                server_urls: vec![],
                attributes: AttributeGroups::default(),
            },
        )
        .await
        .unwrap();
    svc.publish_descriptor(&Caller::Operator, other.id, other.descriptors[0].id).await.unwrap();
    let before = events(&app).await;
    let r = post_technical(
        &laura,
        &specifiche,
        &csrf,
        "HTTPS://anagrafe.esempio.example/api/",
        Some(("api.json", OPENAPI.into())),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("è già usata da un e-service di un altro erogatore"), "{}", r.body);
    assert_eq!(events(&app).await, before, "nothing saved with another producer's audience");

    let r = post_technical(
        &laura,
        &specifiche,
        &csrf,
        "https://anagrafe.prova.example/api",
        Some(("api.json", OPENAPI.into())),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let riepilogo = r.location.unwrap();
    assert!(riepilogo.starts_with(&format!("{base}/riepilogo")), "{riepilogo}");
    let page = laura.get(&riepilogo).await;
    page.assert_contains("Pubblica");
    page.assert_contains("https://anagrafe.prova.example/api");
    page.assert_contains("Ente abilitato ai servizi anagrafici");

    let r = laura.post(&format!("{base}/pubblica"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Versione pubblicata");
    let es = eservice(&app, eid).await;
    let d = es.descriptor(did).unwrap();
    assert_eq!(d.state, DescriptorState::Published);
    assert_eq!(d.audience, vec!["https://anagrafe.prova.example/api".to_string()]);
    let meta = d.interface.clone().expect("the interface file is described");
    assert_eq!(meta.content_type, "application/json");

    // A consumer downloads it from the catalogue: an attachment, never sniffed.
    let (maria, _) = signed_in(&app, ADMIN_COMUNE.fiscal_code, "Comune di Prova").await;
    let card = maria.get(&format!("/interop/collaudo/catalogo-e-service/{eid}/{did}")).await;
    card.assert_contains("Scarica l'interfaccia");
    let r = maria.http.get(format!("{}/interop/collaudo/catalogo-e-service/{eid}/{did}/interfaccia", maria.base));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    let disposition = h.get("content-disposition").unwrap().to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\""), "{disposition}");
    assert!(disposition.ends_with(".json\""), "{disposition}");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("content-type").unwrap(), "application/json");
    assert_eq!(r.bytes().await.unwrap().as_ref(), OPENAPI.as_bytes());

    // Another Ente's e-service is not in "I miei e-service".
    let page = maria.get(&base).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
});

varco::both_backends!(interface_files_are_checked_before_they_are_stored, |backend| async move {
    let app = spawn_app(backend).await;
    let (laura, csrf) = signed_in(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;
    let rest = create_draft(&laura, &csrf, "Anagrafe REST di prova", "REST").await;
    let soap = create_draft(&laura, &csrf, "Anagrafe SOAP di prova", "SOAP").await;
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" name="x"><service name="s">&e;</service></definitions>"#;
    let mut huge = String::from("{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"x\",\"version\":\"1\"},\"x\":\"");
    huge.push_str(&"a".repeat(10 * 1024 * 1024));
    huge.push_str("\"}");
    let cases: [(&str, &str, Vec<u8>, &str); 3] = [
        (&rest, "api.json", br#"{"openapi":"2.0","info":{"title":"x","version":"1"},"paths":{}}"#.to_vec(), "OpenAPI"),
        (&soap, "api.wsdl", xxe.as_bytes().to_vec(), "DTD"),
        (&rest, "grande.json", huge.into_bytes(), "supera il limite di 10 MiB"),
    ];
    for (base, name, bytes, said) in cases {
        let (_, did) = ids_of(base);
        let before = events(&app).await;
        let r = post_technical(
            &laura,
            &format!("{base}/modifica/specifiche"),
            &csrf,
            "https://anagrafe.prova.example/api",
            Some((name, bytes)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", r.body);
        let error = r.body.split("data-testid=\"errore-interfaccia\">").nth(1).unwrap_or_else(|| panic!("{}", r.body));
        assert!(error.contains(said), "{name}: {error}");
        assert_eq!(events(&app).await, before, "{name}: nothing saved");
        assert!(app.running.store.interface_file(Env::Collaudo, &did.to_string()).await.unwrap().is_none());
        let (eid, _) = ids_of(base);
        let d = eservice(&app, eid).await.descriptor(did).cloned().unwrap();
        assert!(d.interface.is_none() && d.audience.is_empty(), "{name}: {d:?}");
    }
});

varco::both_backends!(versions_are_suspended_renewed_and_archived_from_the_pages, |backend| async move {
    let app = spawn_app(backend).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let (laura, csrf) = signed_in(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;
    let send = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let v1 = send.latest_published().unwrap().id;
    let base = format!("/interop/collaudo/erogazione/e-service/{}/{v1}", send.id);

    // A consumer whose name a spreadsheet would run, with an active request.
    let odd = svc
        .create_tenant(
            &Caller::Operator,
            NewTenant {
                name: "=HYPERLINK(\"http://x\")".into(),
                origin: "IPA".into(),
                origin_id: "c_odd".into(),
                kind: TenantKind::Pa,
                selfcare_id: None,
            },
        )
        .await
        .unwrap();
    let a = svc.create_agreement(&Caller::Operator, odd.id, send.id).await.unwrap();
    svc.submit_agreement(&Caller::Operator, a.id, None).await.unwrap();

    let page = laura.get(&base).await;
    page.assert_contains("Sospendi versione");
    page.assert_contains("Crea nuova versione");
    page.assert_contains("Vedi tutte le versioni");

    let csv = laura.http.get(format!("{}{base}/fruitori", laura.base)).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(csv.headers()["x-content-type-options"], "nosniff");
    let text = csv.text().await.unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    assert!(!text.contains(",\"=HYPERLINK"), "{text}");

    let r = laura.post(&format!("{base}/sospendi"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(eservice(&app, send.id).await.descriptor(v1).unwrap().state, DescriptorState::Suspended);
    let r = laura.post(&format!("{base}/riattiva"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(eservice(&app, send.id).await.descriptor(v1).unwrap().state, DescriptorState::Published);

    // "Crea nuova versione": a draft from version 1, finished and published.
    let r = laura.post(&format!("{base}/nuova-versione"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let new_base = r.location.unwrap().split("/modifica/soglie").next().unwrap().to_string();
    let (_, v2) = ids_of(&new_base);
    let r = post_technical(
        &laura,
        &format!("{new_base}/modifica/specifiche"),
        &csrf,
        SEND_UAT_AUDIENCE,
        Some(("send.json", OPENAPI.into())),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "SEND's owner keeps its audience: {}", r.body);
    let r = laura.post(&format!("{new_base}/pubblica"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let es = eservice(&app, send.id).await;
    assert_eq!(es.descriptor(v2).unwrap().state, DescriptorState::Published);
    assert_eq!(es.descriptor(v1).unwrap().state, DescriptorState::Deprecated, "version 1 has a request");

    // Archivia versione: asked first, and refused while a request uses it.
    let r = laura.post(&format!("{base}/archivia"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.assert_contains("non si può annullare");
    let before = events(&app).await;
    let r = laura.post(&format!("{base}/archivia"), &[("csrf", &csrf), ("conferma", "si")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    r.assert_contains("richieste di fruizione non archiviate");
    assert_eq!(events(&app).await, before);
    // Its last request archived, the version goes by itself (domain.md).
    svc.archive_agreement(&Caller::Operator, a.id).await.unwrap();
    assert_eq!(eservice(&app, send.id).await.descriptor(v1).unwrap().state, DescriptorState::Archived);
});
