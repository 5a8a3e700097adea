//! Into an environment through SelfCare: the Interoperabilità card, the choice of
//! environment, the identity token and the back office that accepts only it.
//! Amministratore in Collaudo is nobody in Produzione.
use crate::common;
use varco_platform::Caller;

use common::web::Browser;
use reqwest::StatusCode;
use varco::testkit::{spawn_app, spawn_app_with, Backend, TestApp};
use varco_jose::{RsaPrivateKey, RsaPublicKey};
use varco_selfcare::demo::{ADMIN_COMUNE, TECHNICIAN};
use varco_selfcare::identity_token::{self, OrganizationClaim, RoleClaim, UserIdentity};
use varco_selfcare::service::SelfCare;

/// SelfCare's session cookie (varco-pages' `session::SELFCARE_COOKIE`).
const SC_COOKIE: &str = "varco_sc";

fn selfcare(app: &TestApp) -> SelfCare {
    SelfCare::new(app.running.store.clone())
}

/// Maria, Amministratore of Comune di Prova, gives Mario Rossi the role the seed
/// document asks for: "Interoperabilità Collaudo" / "Amministratore".
async fn give_technician_collaudo_admin(app: &TestApp) -> String {
    common::web::give_technician(app, &["admin"]).await.to_string()
}

fn host(app: &TestApp) -> String {
    app.running.base_url.trim_start_matches("http://").to_string()
}

/// The form action, the token and the browser binding of the page that hands over
/// to a back office.
fn handoff(page: &common::web::Page) -> (String, String, String) {
    let token = page.field("token").unwrap_or_else(|| panic!("no handoff form:\n{}", page.body));
    let binding = page.field("handoff").expect("same origin: the hand-over is bound to the browser");
    let start = page.body.find("action=\"http").unwrap() + "action=\"".len();
    let end = page.body[start..].find('"').unwrap() + start;
    (page.body[start..end].to_string(), token, binding)
}

varco::both_backends!(technician_enters_collaudo_and_not_produzione, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let comune = give_technician_collaudo_admin(&app).await;
    let b = Browser::new(&app.running.base_url);
    b.demo_login(TECHNICIAN.fiscal_code).await;

    // Seleziona il tuo ente → the Ente's overview with the Interoperabilità card.
    assert_eq!(b.institution_id("Comune di Prova").await, comune);
    let overview = b.get(&format!("/selfcare/enti/{comune}")).await;
    overview.assert_contains("I tuoi prodotti");
    overview.assert_contains("data-testid=\"card-interoperabilita\"");
    overview.assert_contains("<td>Interoperabilità Collaudo</td><td>Amministratore</td><td>Attivo</td>");
    // An Amministratore of a test product only may not manage the Ente's users in
    // Produzione, but may on Collaudo: the menu offers Utenti.
    overview.assert_contains("/utenti\">Utenti</a>");

    // One environment only: no question, straight to Collaudo, through a form
    // that posts itself. The GET issues no identity token and records nothing.
    let card_path = format!("/selfcare/enti/{comune}/interoperabilita");
    let handoffs = "SELECT COUNT(*) FROM web_sessions WHERE scope = 'handoff'";
    for path in [card_path.clone(), format!("{card_path}?ambiente=collaudo")] {
        let card = b.get(&path).await;
        assert_eq!(card.status, StatusCode::OK);
        assert!(!card.body.contains("In quale ambiente vuoi entrare?"));
        assert!(card.field("token").is_none(), "a GET issued an identity token:\n{}", card.body);
        assert!(!card.body.contains("eyJ"), "a GET shows a JWT:\n{}", card.body);
        card.assert_contains(&format!("<form method=\"post\" action=\"{card_path}\" data-autosubmit"));
        assert_eq!(card.field("ambiente").as_deref(), Some("collaudo"));
        card.assert_contains("<button type=\"submit\" class=\"btn btn-primary\">Continua</button>");
        assert_eq!(app.db.count(handoffs).await, 0, "a GET recorded a hand-over");
    }
    // The form's POST without the session's form token issues nothing either.
    for form in [vec![("ambiente", "collaudo")], vec![("ambiente", "collaudo"), ("csrf", "forged")]] {
        let r = b.post(&card_path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.field("token").is_none());
    }
    assert_eq!(app.db.count(handoffs).await, 0);
    // "Continua" pressed by hand (a browser without JavaScript): the hand-over.
    let card = b.interop_card(&card_path).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    assert_eq!(app.db.count(handoffs).await, 1);
    let (action, token, binding) = handoff(&card);
    assert_eq!(action, format!("{}/interop/collaudo/selfcare/login", app.running.base_url));

    // The token is SelfCare's, checked with the keys SelfCare publishes.
    let jwks: serde_json::Value =
        b.http.get(app.url("/selfcare/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let jwk = &jwks["keys"][0];
    let public = RsaPublicKey::from_components(
        &varco_jose::b64url_decode(jwk["n"].as_str().unwrap()).unwrap(),
        &varco_jose::b64url_decode(jwk["e"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = identity_token::verify(
        &token,
        &[public],
        &format!("{}/selfcare", host(&app)),
        &format!("{}/interop/collaudo/ui", host(&app)),
        now,
        0,
    )
    .expect("the identity token verifies against SelfCare's JWKS");
    assert_eq!(claims.fiscal_number, TECHNICIAN.fiscal_code);
    assert_eq!(claims.organization.name, "Comune di Prova");
    assert_eq!(
        claims.organization.roles,
        vec![RoleClaim { party_role: "DELEGATE".into(), role: "admin".into(), product_id: "prod-interop-coll".into() }]
    );
    assert!(claims.exp - claims.iat <= 60, "identity tokens live seconds");

    // The same token posted from another browser (as another site could make a
    // visitor's browser do) opens nothing, and is not used up by the attempt.
    let other = Browser::new(&app.running.base_url);
    for form in [vec![("token", token.as_str())], vec![("token", token.as_str()), ("handoff", binding.as_str())]] {
        let r = other.post(&action, &form).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        r.assert_contains("non è partito da questo browser");
        assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")));
    }
    let wrong_binding = b.post(&action, &[("token", &token), ("handoff", "x")]).await;
    assert_eq!(wrong_binding.status, StatusCode::UNAUTHORIZED);
    let card = b.interop_card(&card_path).await;
    let (_, token, binding) = handoff(&card);

    // The back office of Collaudo opens its session and says who is in.
    let landed = b.post(&action, &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/interop/collaudo/"));
    let cookie = landed.set_cookies.iter().find(|c| c.starts_with("varco_bo_collaudo=")).unwrap();
    assert!(
        cookie.contains("Path=/interop/collaudo/") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    let home = b.get("/interop/collaudo/").await;
    home.assert_contains("Benvenuto, Mario Rossi");
    home.assert_contains("<dt class=\"col-sm-3\">Ruolo</dt><dd class=\"col-sm-9\">Amministratore</dd>");
    home.assert_contains("<dd class=\"col-sm-9\">Comune di Prova</dd>");
    // The tenant is the demo world's Comune di Prova, found by its SelfCare id.
    let tenants = app
        .running
        .platform
        .env(varco_domain::Env::Collaudo)
        .tenants(&Caller::Operator, &Default::default(), varco_platform::Page::ALL)
        .await
        .unwrap()
        .items;
    let prova = tenants.iter().find(|t| t.name == "Comune di Prova").unwrap();
    assert_eq!(prova.selfcare_id.as_deref(), Some(comune.as_str()));
    assert_eq!(tenants.iter().filter(|t| t.name == "Comune di Prova").count(), 1);

    // The same token is good once.
    let card = b.interop_card(&card_path).await;
    let (_, _, binding) = handoff(&card);
    let again = b.post(&action, &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    again.assert_contains("già stato usato");

    // Produzione: SelfCare will not issue the token...
    let prod = b.get(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=produzione")).await;
    assert_eq!(prod.status, StatusCode::FORBIDDEN);
    prod.assert_contains("Non hai un ruolo attivo su «Interoperabilità» per Comune di Prova");
    assert!(prod.field("token").is_none());
    // ...nor through the form of the choice.
    let csrf = card.csrf();
    let prod = b
        .post(&format!("/selfcare/enti/{comune}/interoperabilita"), &[("csrf", &csrf), ("ambiente", "produzione")])
        .await;
    assert_eq!(prod.status, StatusCode::FORBIDDEN);
    // ...a Collaudo token is not for Produzione...
    let card = b.interop_card(&card_path).await;
    let (_, token, _) = handoff(&card);
    let wrong = b.post("/interop/produzione/selfcare/login", &[("token", &token)]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("destinato a un altro ambiente");
    // ...and a token properly made for Produzione but carrying the Collaudo role
    // (as a SelfCare bug or a forged claim set would) gives nothing there.
    let (_, pem) = app.running.store.selfcare_key().await.unwrap().unwrap();
    let key = RsaPrivateKey::from_pem(&pem).unwrap();
    let forged = identity_token::issue(
        &key,
        &format!("{}/selfcare", host(&app)),
        &format!("{}/interop/produzione/ui", host(&app)),
        &UserIdentity {
            uid: claims.uid.clone(),
            fiscal_number: claims.fiscal_number.clone(),
            name: "Mario".into(),
            family_name: "Rossi".into(),
        },
        OrganizationClaim { roles: claims.organization.roles.clone(), ..claims.organization.clone() },
        now,
        30,
        now + 3600,
    );
    let refused = b.post("/interop/produzione/selfcare/login", &[("token", &forged)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("non ha un ruolo su Interoperabilità Produzione");
    assert!(refused.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")), "{:?}", refused.set_cookies);
    let prod_home = b.get("/interop/produzione/").await;
    assert!(!prod_home.body.contains("Benvenuto"));
    prod_home.assert_contains("Per entrare accedi all");
});

varco::both_backends!(admin_on_three_environments_is_asked_which, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let comune = b.institution_id("Comune di Prova").await;
    let choice = b.get(&format!("/selfcare/enti/{comune}/interoperabilita")).await;
    choice.assert_contains("In quale ambiente vuoi entrare?");
    for label in ["Ambiente di Attestazione", "Ambiente di Collaudo", "Ambiente di Produzione"] {
        choice.assert_contains(label);
    }
    // A heading, and no environment chosen for the person.
    choice.assert_contains("<h1 class=\"h3\">Interoperabilità per Comune di Prova</h1>");
    assert!(!choice.body.contains("checked"), "{}", choice.body);
    let none = b.post(&format!("/selfcare/enti/{comune}/interoperabilita"), &[("csrf", &choice.csrf())]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    none.assert_contains("ambiente in cui entrare.");
    none.assert_contains("In quale ambiente vuoi entrare?");
    assert!(none.field("token").is_none());
    // Without the form's token the choice is refused.
    let forged =
        b.post(&format!("/selfcare/enti/{comune}/interoperabilita"), &[("csrf", "x"), ("ambiente", "collaudo")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.field("token").is_none());
    let go = b
        .post(
            &format!("/selfcare/enti/{comune}/interoperabilita"),
            &[("csrf", &choice.csrf()), ("ambiente", "produzione")],
        )
        .await;
    let (action, token, binding) = handoff(&go);
    assert!(action.ends_with("/interop/produzione/selfcare/login"));
    let landed = b.post(&action, &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let home = b.get("/interop/produzione/").await;
    home.assert_contains("Benvenuto, Maria Bianchi");
    home.assert_contains("ambiente Produzione");
    // Each environment has its own session: Collaudo does not know her yet.
    assert!(!b.get("/interop/collaudo/").await.body.contains("Benvenuto"));

    // Logging out of the back office needs the page's token, then ends the session.
    let bad = b.post("/interop/produzione/logout", &[("csrf", "nope")]).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    assert!(b.get("/interop/produzione/").await.body.contains("Benvenuto"));
    // A copy of the session cookie taken before "Esci" opens the session...
    let copied = b.get_with_copied_cookie("/interop/produzione/", &landed.set_cookies, "varco_bo_produzione").await;
    copied.assert_contains("Benvenuto, Maria Bianchi");
    let out = b.post("/interop/produzione/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!b.get("/interop/produzione/").await.body.contains("Benvenuto"));
    // ... and nothing after it: the session ended on the server, not just in the jar.
    let copied = b.get_with_copied_cookie("/interop/produzione/", &landed.set_cookies, "varco_bo_produzione").await;
    assert!(!copied.body.contains("Benvenuto"), "a copied cookie outlived Esci:\n{}", copied.body);
});

varco::both_backends!(bad_identity_tokens_open_nothing, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = Browser::new(&app.running.base_url);
    let (_, pem) = app.running.store.selfcare_key().await.unwrap().unwrap();
    let key = RsaPrivateKey::from_pem(&pem).unwrap();
    let other_key = RsaPrivateKey::generate_2048();
    let now = chrono::Utc::now().timestamp();
    // The demo world's Comune di Prova, as SelfCare knows it.
    let sc = Browser::new(&app.running.base_url);
    sc.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let comune = sc.institution_id("Comune di Prova").await;
    let org = OrganizationClaim {
        id: comune.clone(),
        name: "Comune di Prova".into(),
        fiscal_code: "00000000001".into(),
        ipa_code: Some("c_prova".into()),
        roles: vec![RoleClaim {
            party_role: "DELEGATE".into(),
            role: "admin".into(),
            product_id: "prod-interop-coll".into(),
        }],
    };
    let user = UserIdentity {
        uid: uuid::Uuid::new_v4().to_string(),
        fiscal_number: TECHNICIAN.fiscal_code.into(),
        name: "Mario".into(),
        family_name: "Rossi".into(),
    };
    let iss = format!("{}/selfcare", host(&app));
    let aud = format!("{}/interop/collaudo/ui", host(&app));
    let make = |k: &RsaPrivateKey, iss: &str, aud: &str, iat: i64, life: i64| {
        identity_token::issue(k, iss, aud, &user, org.clone(), iat, life, iat + 3600)
    };
    let good = make(&key, &iss, &aud, now, 30);
    let mut tampered = good.clone();
    tampered.insert(good.len() - 4, 'A');
    tampered.pop();
    let cases = [
        ("empty", String::new()),
        ("garbage", "not a token".to_string()),
        ("other key", make(&other_key, &iss, &aud, now, 30)),
        ("tampered", tampered),
        ("other issuer", make(&key, "elsewhere.example/selfcare", &aud, now, 30)),
        ("expired", make(&key, &iss, &aud, now - 600, 30)),
        ("for attestazione", make(&key, &iss, &format!("{}/interop/attestazione/ui", host(&app)), now, 30)),
    ];
    for (name, token) in cases {
        let r = b.post("/interop/collaudo/selfcare/login", &[("token", &token)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {}", r.body);
        assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")), "{name} opened a session");
        r.assert_contains("Accesso non riuscito");
    }
    assert!(!b.get("/interop/collaudo/").await.body.contains("Benvenuto"));
    // A good token, from a browser SelfCare handed over from, opens the session;
    // but only in the form's body: in a URL (which logs and histories keep) it
    // opens nothing, by POST or by GET, and is not used up.
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let page = b.interop_card(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=collaudo")).await;
    let (_, _, binding) = handoff(&page);
    let in_url = format!("/interop/collaudo/selfcare/login?token={good}&handoff={binding}");
    let r = b.post(&in_url, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")), "a token in the URL opened a session");
    let r = b.get(&in_url).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")));
    assert_eq!(app.db.count("SELECT COUNT(*) FROM consumed_tokens").await, 0);
    let page = b.interop_card(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=collaudo")).await;
    let (_, _, binding) = handoff(&page);
    let r = b.post("/interop/collaudo/selfcare/login", &[("token", &good), ("handoff", &binding)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Well signed, but for an Ente SelfCare does not have (the IPA code of a real
    // one is no key): refused, no new session, no tenant made.
    let ghost = OrganizationClaim { id: uuid::Uuid::new_v4().to_string(), ..org.clone() };
    let ghost_token = identity_token::issue(&key, &iss, &aud, &user, ghost, now, 30, now + 3600);
    let page = b.interop_card(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=collaudo")).await;
    let (_, _, binding) = handoff(&page);
    let r = b.post("/interop/collaudo/selfcare/login", &[("token", &ghost_token), ("handoff", &binding)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_bo_")), "an unknown Ente opened a session");
    let tenants = app
        .running
        .platform
        .env(varco_domain::Env::Collaudo)
        .tenants(&Caller::Operator, &Default::default(), varco_platform::Page::ALL)
        .await
        .unwrap()
        .items;
    // Found by SelfCare id: the demo world's Comune di Prova, not a second one.
    assert_eq!(tenants.iter().filter(|t| t.name == "Comune di Prova").count(), 1);
});

varco::both_backends!(selfcare_sessions_are_protected, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = Browser::new(&app.running.base_url);
    // Without a session, pages send to the login.
    let r = b.get("/selfcare/enti").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/selfcare/login"));
    // Pages cannot be framed by other sites.
    let resp = b.http.get(app.url("/selfcare/login")).send().await.unwrap();
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["referrer-policy"], "same-origin");
    // The demo login needs the login page's own token.
    let login = b.get("/selfcare/login").await;
    login.assert_contains("Provider di identità dimostrativo");
    let forged = b.post("/selfcare/login/demo", &[("csrf", "forged"), ("fiscal_code", ADMIN_COMUNE.fiscal_code)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let stranger =
        b.post("/selfcare/login/demo", &[("csrf", &login.csrf()), ("fiscal_code", "RSSMRA80A01H501U ")]).await;
    assert_eq!(stranger.status, StatusCode::BAD_REQUEST);

    let done =
        b.post("/selfcare/login/demo", &[("csrf", &login.csrf()), ("fiscal_code", ADMIN_COMUNE.fiscal_code)]).await;
    let cookie = done.set_cookies.iter().find(|c| c.starts_with("varco_sc=")).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/selfcare"));
    assert!(!cookie.contains("Secure"), "plain http: a Secure cookie would never come back");
    let value = cookie.split(';').next().unwrap().trim_start_matches("varco_sc=").to_string();
    let page = b.get("/selfcare/enti").await;
    page.assert_contains("Maria Bianchi");
    // Only a hash of the cookie is stored.
    let stored = app.db.strings("SELECT id_hash FROM web_sessions WHERE scope = 'selfcare'").await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], value);
    // Other people's Enti are not found.
    let pagopa = selfcare(&app).institutions().await.unwrap().into_iter().find(|i| i.name == "PagoPA S.p.A.").unwrap();
    assert_eq!(b.get(&format!("/selfcare/enti/{}", pagopa.id)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/selfcare/enti/not-an-id").await.status, StatusCode::NOT_FOUND);

    // Expiry: an expired session is no session.
    app.db.execute("UPDATE web_sessions SET expires_ms = 1").await;
    assert_eq!(b.get("/selfcare/enti").await.status, StatusCode::SEE_OTHER);

    // Logout needs the token of the page and ends the session on the server.
    let cookies = b.demo_login_cookies(ADMIN_COMUNE.fiscal_code).await;
    let page = b.get("/selfcare/enti").await;
    assert_eq!(b.post("/selfcare/logout", &[("csrf", "x")]).await.status, StatusCode::FORBIDDEN);
    let copied = b.get_with_copied_cookie("/selfcare/enti", &cookies, SC_COOKIE).await;
    assert_eq!(copied.status, StatusCode::OK, "the copy works before Esci");
    let out = b.post("/selfcare/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/selfcare/enti").await.status, StatusCode::SEE_OTHER);
    // A copy of the cookie taken before "Esci" gets the login page too.
    let copied = b.get_with_copied_cookie("/selfcare/enti", &cookies, SC_COOKIE).await;
    assert_eq!(copied.status, StatusCode::SEE_OTHER);
    assert_eq!(copied.location.as_deref(), Some("/selfcare/login"));
});

varco::both_backends!(production_mode_has_no_demo_identity_provider, |backend: Backend| async move {
    let app = spawn_app_with(backend, |o| {
        o.production = true;
        // Production mode wants the keys encrypted at rest.
        o.key_encryption_key = Some(varco_store::KeyEncryptionKey::from_bytes([7; 32]));
    })
    .await;
    let b = Browser::new(&app.running.base_url);
    let login = b.get("/selfcare/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(!login.body.contains("Provider di identità dimostrativo"));
    assert!(!login.body.contains("Ambiente dimostrativo"));
    login.assert_contains("non è configurato");
    let csrf = login.set_cookies.iter().find(|c| c.starts_with("varco_login=")).unwrap();
    let csrf = csrf.split(';').next().unwrap().trim_start_matches("varco_login=").to_string();
    let r = b.post("/selfcare/login/demo", &[("csrf", &csrf), ("fiscal_code", ADMIN_COMUNE.fiscal_code)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.set_cookies.iter().all(|c| !c.starts_with("varco_sc=")));
});

varco::both_backends!(cookies_are_secure_behind_https, |backend| async move {
    let app = spawn_app_with(backend, |o| o.public_url = Some("https://varco.example".into())).await;
    let b = Browser::new(&format!("http://{}", app.running.addr));
    let login = b.get("/selfcare/login").await;
    let cookie = login.set_cookies.iter().find(|c| c.starts_with("varco_login=")).unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
});
