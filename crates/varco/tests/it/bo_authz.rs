//! Every state-changing route of the back office, taken from its route table
//! (`varco_pages::backoffice::all_routes`), refuses whoever may not use it, and
//! changes nothing when it does: without a session → SelfCare's login; without the
//! form's token, with a role that may not, with another environment's session →
//! 403; on another Ente's things → 403, or 404 where the page reads the thing before
//! it acts (the reads do not show another Ente's finalità). "Nothing changed" is the event log:
//! every change of the platform is an event. A new route without a row here fails.
use crate::common::web::Browser;
use reqwest::StatusCode;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, SEND_UAT};
use varco_platform::Caller;
use varco_selfcare::demo::{ADMIN_COMUNE, TECHNICIAN};

/// Routes that change no platform state, with why they are not in the table.
const EXEMPT: &[(&str, &str)] = &[
    // Opens the session from SelfCare's identity token: tested in selfcare_access.
    ("POST", "/interop/{env}/selfcare/login"),
    // Ends one's own session; its token check is tested in selfcare_access.
    ("POST", "/interop/{env}/logout"),
    // "Debug client assertion": reads only, open to every role (PDND); its session
    // and form-token checks are tested in bo_tool.
    ("POST", "/interop/{env}/tool-sviluppo/debug-voucher"),
];

/// The things of one Ente the routes act on.
struct Things {
    agreement: AgreementId,
    eservice: EServiceId,
    descriptor: DescriptorId,
    active_purpose: PurposeId,
    draft_purpose: PurposeId,
    /// The client e-service of `setup_consumer`, and its key.
    client: ClientId,
    kid: String,
    /// An e-service the Ente produces: its published version and its next one, in draft.
    produced: EServiceId,
    produced_published: DescriptorId,
    produced_draft: DescriptorId,
}

/// An Ente with an active richiesta on SEND - UAT, an active finalità and a draft.
async fn things_of(app: &TestApp, tenant: &str) -> Things {
    let key = varco_jose::RsaPrivateKey::generate_2048();
    let out = varco::cli::setup_consumer(
        &app.running.platform,
        Env::Collaudo,
        tenant,
        SEND_UAT,
        &key.public_key().to_pem(),
        100,
    )
    .await
    .unwrap();
    let id = |k: &str| out[k].as_str().unwrap().to_string();
    let svc = app.running.platform.env(Env::Collaudo);
    let tenant_id: TenantId = id("tenantId").parse().unwrap();
    let eservice: EServiceId = id("eserviceId").parse().unwrap();
    let admin = Caller::Person {
        env: Env::Collaudo,
        tenant: tenant_id,
        user: UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    let draft = svc
        .create_purpose(&admin, tenant_id, eservice, "Bozza di prova", "Una finalità ancora in bozza", 10, None, None)
        .await
        .unwrap();
    let es = svc.eservice(&Caller::Operator, eservice).await.unwrap();
    let version = varco_domain::eservice::DescriptorInput {
        description: None,
        audience: vec![format!("https://{}.example/api", tenant_id)],
        voucher_lifespan: 600,
        daily_calls_per_consumer: 10,
        daily_calls_total: 100,
        agreement_approval_policy: ApprovalPolicy::Automatic,
        server_urls: vec![],
        attributes: AttributeGroups::default(),
    };
    let produced = svc
        .create_eservice_with_version(
            &Caller::Operator,
            tenant_id,
            &format!("E-service erogato da {tenant}"),
            "Un e-service per provare i permessi",
            Technology::Rest,
            EServiceMode::Deliver,
            version.clone(),
        )
        .await
        .unwrap();
    let produced_published = produced.descriptors[0].id;
    svc.publish_descriptor(&Caller::Operator, produced.id, produced_published).await.unwrap();
    let produced_draft = svc.save_draft_descriptor(&Caller::Operator, produced.id, version).await.unwrap();
    Things {
        agreement: id("agreementId").parse().unwrap(),
        eservice,
        descriptor: es.latest_published().unwrap().id,
        active_purpose: id("purposeId").parse().unwrap(),
        draft_purpose: draft.id,
        client: id("clientId").parse().unwrap(),
        kid: id("kid"),
        produced: produced.id,
        produced_published,
        produced_draft,
    }
}

/// The row of a route: its path with the ids of `t` (None: no row, the test fails).
fn row(path: &str, t: &Things) -> Option<String> {
    let filled = path.replace("{env}", "collaudo");
    let p = match path {
        "/interop/{env}/catalogo-e-service/{eservice_id}/{descriptor_id}/richiedi" => filled
            .replace("{eservice_id}", &t.eservice.to_string())
            .replace("{descriptor_id}", &t.descriptor.to_string()),
        p if p.starts_with("/interop/{env}/fruizione/richieste/{id}/") => {
            filled.replace("{id}", &t.agreement.to_string())
        }
        "/interop/{env}/fruizione/finalita/crea" => filled,
        p if p.starts_with("/interop/{env}/fruizione/finalita/{id}/") => {
            // Draft actions on the draft, the others on the active one.
            let draft = ["/modifica", "/pubblica", "/elimina"].iter().any(|s| p.contains(s));
            filled.replace("{id}", &if draft { t.draft_purpose } else { t.active_purpose }.to_string())
        }
        "/interop/{env}/gestione-client/{tipo}/crea" => filled.replace("{tipo}", "api-e-service"),
        "/interop/{env}/erogazione/e-service/crea" => filled,
        p if p.starts_with("/interop/{env}/erogazione/e-service/{id}/{descriptor_id}/") => {
            // The steps and "Pubblica" on the draft, the versions' actions on the published one.
            let draft = ["/modifica/", "/pubblica"].iter().any(|s| p.contains(s));
            let d = if draft { t.produced_draft } else { t.produced_published };
            filled.replace("{id}", &t.produced.to_string()).replace("{descriptor_id}", &d.to_string())
        }
        // What a producer decides: the requests and purposes of `t` are on SEND - UAT,
        // PagoPA's; whoever posts here is not their producer.
        p if p.starts_with("/interop/{env}/erogazione/richieste/{id}/") => {
            filled.replace("{id}", &t.agreement.to_string())
        }
        p if p.starts_with("/interop/{env}/erogazione/finalita/{id}/") => {
            filled.replace("{id}", &t.active_purpose.to_string())
        }
        // The Ente's own data: no id, the session's Ente.
        p if p.starts_with("/interop/{env}/il-mio-ente/anagrafica/") => filled,
        p if p.starts_with("/interop/{env}/gestione-client/{tipo}/{id}/") => {
            filled.replace("{tipo}", "api-e-service").replace("{id}", &t.client.to_string()).replace("{kid}", &t.kid)
        }
        _ => return None,
    };
    Some(p)
}

/// The form of a request: every field the routes read, plausible values.
fn form(csrf: Option<&str>) -> Vec<(&str, &str)> {
    let mut f = vec![
        ("conferma", "si"),
        ("messaggio", "Richiesta di prova"),
        ("titolo", "Finalità di prova"),
        ("descrizione", "Una finalità creata per provare i permessi"),
        ("stima", "10"),
        ("azione", "riepilogo"),
        ("motivo", "Motivo di prova del rifiuto"),
        ("email", "ente@prova.example"),
    ];
    if let Some(c) = csrf {
        f.push(("csrf", c));
    }
    f
}

/// Mario Rossi as Operatore di sicurezza of Comune di Prova on Collaudo: he sees
/// Fruizione, read only.
async fn security_operator(app: &TestApp) -> (Browser, String) {
    crate::common::web::give_technician(app, &["security"]).await;
    signed_in(app, TECHNICIAN.fiscal_code, "collaudo").await
}

/// A browser in the back office of `env`, and the session's form token.
async fn signed_in(app: &TestApp, fiscal_code: &str, env: &str) -> (Browser, String) {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(fiscal_code).await;
    let landed = b.enter_backoffice("Comune di Prova", env).await;
    let home = b.get(landed.location.as_deref().unwrap()).await;
    let csrf = home.csrf();
    (b, csrf)
}

async fn events(app: &TestApp) -> i64 {
    app.running.store.last_event_seq().await.unwrap()
}

varco::both_backends!(every_state_changing_route_refuses_and_changes_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let own = things_of(&app, "Comune di Prova").await;
    let others = things_of(&app, COMUNE_DI_ESEMPIO).await;
    let (maria, maria_csrf) = signed_in(&app, ADMIN_COMUNE.fiscal_code, "collaudo").await;
    let (mario, mario_csrf) = security_operator(&app).await;
    // Maria's Attestazione session, its cookie copied onto Collaudo's paths.
    let attestazione = Browser::new(&app.running.base_url);
    attestazione.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let landed = attestazione.enter_backoffice("Comune di Prova", "attestazione").await;
    let att_cookie = landed
        .set_cookies
        .iter()
        .find_map(|c| c.split(';').next().filter(|kv| kv.starts_with("varco_bo_attestazione=")))
        .unwrap()
        .to_string();
    let att_csrf = attestazione.get("/interop/attestazione/").await.csrf();
    let anonymous = Browser::new(&app.running.base_url);

    let routes: Vec<_> = varco_pages::backoffice::all_routes()
        .into_iter()
        .filter(|(m, p)| *m == "POST" && !EXEMPT.contains(&(*m, *p)))
        .collect();
    assert!(routes.len() >= 15, "the route table: {routes:?}");
    let mut failures = Vec::new();
    for (_, route) in &routes {
        let (Some(mine), Some(theirs)) = (row(route, &own), row(route, &others)) else {
            failures.push(format!("{route}: no row in bo_authz.rs"));
            continue;
        };
        // The catalogue is everyone's, and "Crea nuovo" makes one's own: no other
        // Ente's thing to act on. Il mio ente is always the session's own Ente.
        let has_owner = !route.ends_with("/richiedi")
            && !route.ends_with("/finalita/crea")
            && !route.ends_with("/gestione-client/{tipo}/crea")
            && !route.ends_with("/erogazione/e-service/crea")
            && !route.starts_with("/interop/{env}/il-mio-ente/");
        let before = events(&app).await;
        let mut cases: Vec<(&str, crate::common::web::Page, &[u16])> = vec![
            ("without a session", anonymous.post(&mine, &form(Some("x"))).await, &[303]),
            ("without the form's token", maria.post(&mine, &form(None)).await, &[403]),
            ("with another session's token", maria.post(&mine, &form(Some(&mario_csrf))).await, &[403]),
            ("as Operatore di sicurezza", mario.post(&mine, &form(Some(&mario_csrf))).await, &[403]),
            ("with another environment's session", post_with_cookie(&app, &mine, &att_cookie, &att_csrf).await, &[403]),
        ];
        if has_owner {
            cases.push(("on another Ente's things", maria.post(&theirs, &form(Some(&maria_csrf))).await, &[403, 404]));
        }
        for (what, page, allowed) in cases {
            if !allowed.contains(&page.status.as_u16()) {
                failures.push(format!("{route} {what}: {} (expected {allowed:?})", page.status));
            } else if page.status == StatusCode::SEE_OTHER && page.location.as_deref() != Some("/selfcare/login") {
                failures.push(format!("{route} {what}: to {:?}, expected the login", page.location));
            } else if page.status == StatusCode::FORBIDDEN && !page.body.contains("<html lang=\"it\">") {
                failures.push(format!("{route} {what}: the 403 is no page: {}", page.body));
            }
        }
        let after = events(&app).await;
        if after != before {
            failures.push(format!("{route}: {} change(s) made by refused requests", after - before));
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
});

/// A POST from a browser holding only `cookie` (e.g. another environment's).
async fn post_with_cookie(app: &TestApp, path: &str, cookie: &str, csrf: &str) -> crate::common::web::Page {
    let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = bare.post(app.url(path)).header("cookie", cookie).form(&form(Some(csrf))).send().await.unwrap();
    let status = r.status();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    crate::common::web::Page { status, location, set_cookies: vec![], body: r.text().await.unwrap() }
}
