//! SPID/CIE login through a real OpenID Connect provider: `oidc-provider` (the
//! certified Node implementation, see `tests/node/oidc-provider.mjs`) on loopback,
//! and Varco in production mode as its relying party. A browser is played with
//! reqwest (a cookie jar, redirects followed by hand so each hop is asserted).
use crate::common;

use common::node::{spawn_node, wait_for_line};
use common::web::Browser;
use common::LogCapture;
use reqwest::{StatusCode, Url};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::process::Child;
use varco::testkit::{spawn_app_with, Backend, TestApp};
use varco_jose::RsaPrivateKey;
use varco_pages::selfcare::login_state::LoginStateKey;

const CLIENT_ID: &str = "varco-selfcare";
const CLIENT_SECRET: &str = "s3cret-of-the-client-do-not-log";
const MARIO: &str = "RSSMRA80A01H501U";
const MARIA: &str = "BNCMRA85M41F205D";

struct Provider {
    issuer: String,
    _child: Child,
}

/// A free loopback port for Varco: the provider must know the redirect URI before
/// Varco (which discovers the provider at start) listens.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_provider(varco_port: u16, secret: Option<&str>, extra: &[&str]) -> Provider {
    let redirect = format!("http://127.0.0.1:{varco_port}/selfcare/login/oidc/callback");
    let mut args = vec!["--port", "0", "--client-id", CLIENT_ID, "--redirect-uri", redirect.as_str()];
    if let Some(s) = secret {
        args.extend(["--client-secret", s]);
    }
    args.extend(extra);
    let mut child = spawn_node(Path::new("oidc-provider.mjs"), &args, &[]);
    let line = wait_for_line(&mut child, "READY ", Duration::from_secs(60)).await;
    let issuer = line.trim_start_matches("READY ").trim().to_string();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{line}");
    Provider { issuer, _child: child }
}

async fn start_varco(backend: Backend, port: u16, provider: &Provider, secret: Option<&str>) -> TestApp {
    let issuer = provider.issuer.clone();
    let client_secret = secret.map(str::to_string);
    spawn_app_with(backend, move |opts| {
        opts.listen = format!("127.0.0.1:{port}").parse().unwrap();
        opts.oidc = Some(varco::app::OidcOptions { issuer, client_id: CLIENT_ID.into(), client_secret, acr: None });
        opts.production = true;
        // Production mode wants the keys encrypted at rest.
        opts.key_encryption_key = Some(varco_store::KeyEncryptionKey::from_bytes([7; 32]));
    })
    .await
}

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// The `action` of the page's form and the value of its hidden `prompt` field.
fn form(body: &str) -> (String, String) {
    let grab = |needle: &str| {
        let start = body.find(needle).unwrap_or_else(|| panic!("no {needle} in the provider's page:\n{body}"));
        let rest = &body[start + needle.len()..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    };
    (grab("action=\""), grab("name=\"prompt\" value=\""))
}

/// GET `/selfcare/login/oidc?idp=spid` and check the redirect to the provider:
/// returns the authorization URL.
async fn begin(browser: &Browser, provider: &Provider) -> String {
    begin_with_cookie(browser, provider).await.0
}

/// As [`begin`], with the value of the login-state cookie set.
async fn begin_with_cookie(browser: &Browser, provider: &Provider) -> (String, String) {
    let start = browser.get("/selfcare/login/oidc?idp=spid").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let to = start.location.clone().unwrap();
    assert!(to.starts_with(&format!("{}/auth?", provider.issuer)), "{to}");
    let cookie = start.set_cookies.iter().find(|c| c.starts_with("varco_oidc=")).expect("the login-under-way cookie");
    assert!(cookie.contains("Path=/selfcare/login/oidc") && cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=600"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    (to, cookie_value(cookie))
}

/// The value of a `Set-Cookie` line.
fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string()
}

/// Every table of the server's database with its number of rows: an anonymous
/// request that writes nothing leaves this as it was.
async fn rows(app: &TestApp, backend: Backend) -> Vec<(String, i64)> {
    let tables = match backend {
        Backend::Sqlite => {
            app.db.strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").await
        }
        Backend::Postgres => {
            app.db
                .strings(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .await
        }
    };
    assert!(tables.iter().any(|t| t == "web_sessions"), "{tables:?}");
    let mut out = Vec::new();
    for t in tables {
        let n = app.db.count(&format!("SELECT COUNT(*) FROM {t}")).await;
        out.push((t, n));
    }
    out.sort();
    out
}

/// GET `url` from a browser holding only the cookie `pair` (`name=value`), or none.
async fn get_with_cookie(url: &str, pair: Option<&str>) -> common::web::Page {
    let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = bare.get(url);
    if let Some(pair) = pair {
        req = req.header("cookie", pair);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let set_cookies = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    common::web::Page { status, location, set_cookies, body: resp.text().await.unwrap() }
}

/// The key the server seals login states with, from SelfCare's key as stored.
async fn state_key(app: &TestApp) -> LoginStateKey {
    let (_, pem) = app.running.store.selfcare_key().await.unwrap().unwrap();
    LoginStateKey::derive(&RsaPrivateKey::from_pem(&pem).unwrap())
}

/// Plays the person at the provider, from the authorization URL to the redirect
/// back to Varco (returned, not followed): login with `login`, then consent.
async fn at_provider(browser: &Browser, authorize: &str, login: &str, varco: &str) -> String {
    let mut url = authorize.to_string();
    let mut prompts = Vec::new();
    for _ in 0..12 {
        let page = browser.get(&url).await;
        match page.status {
            StatusCode::SEE_OTHER | StatusCode::FOUND => {
                let next = Url::parse(&url).unwrap().join(page.location.as_deref().unwrap()).unwrap().to_string();
                if next.starts_with(varco) {
                    assert_eq!(prompts, ["login", "consent"], "the provider asked for login, then consent");
                    return next;
                }
                url = next;
            }
            StatusCode::OK => {
                let (action, prompt) = form(&page.body);
                let action = Url::parse(&url).unwrap().join(&action).unwrap().to_string();
                let fields: Vec<(&str, &str)> = match prompt.as_str() {
                    "login" => vec![("prompt", "login"), ("login", login), ("password", "any")],
                    "consent" => vec![("prompt", "consent")],
                    other => panic!("unexpected prompt {other}:\n{}", page.body),
                };
                prompts.push(prompt.clone());
                let sent = browser.post(&action, &fields).await;
                assert!(matches!(sent.status, StatusCode::SEE_OTHER | StatusCode::FOUND), "{}", sent.body);
                url = Url::parse(&action).unwrap().join(sent.location.as_deref().unwrap()).unwrap().to_string();
            }
            other => panic!("the provider answered {other} at {url}:\n{}", page.body),
        }
    }
    panic!("the provider never sent the browser back to Varco");
}

varco::both_backends!(spid_login_through_a_real_provider, |backend: Backend| async move {
    let log = LogCapture::start();
    let port = free_port();
    // The provider signs with a key its first JWKS does not list yet: Varco must
    // fetch the keys again when it meets the new kid.
    let provider = start_provider(port, Some(CLIENT_SECRET), &["--rotate-keys"]).await;
    let app = start_varco(backend, port, &provider, Some(CLIENT_SECRET)).await;
    let varco = app.url("");
    let browser = Browser::new(&varco);

    // Production mode: SPID and CIE, no demo identity provider.
    let login = browser.get("/selfcare/login").await;
    assert_eq!(login.status, StatusCode::OK);
    login.assert_contains("Entra con SPID");
    login.assert_contains("Entra con CIE");
    login.assert_contains("/selfcare/login/oidc?idp=spid");
    assert!(!login.body.contains("dimostrativo"), "no demo provider in production mode:\n{}", login.body);
    let demo = browser.post("/selfcare/login/demo", &[("csrf", "x"), ("fiscal_code", MARIO)]).await;
    assert_eq!(demo.status, StatusCode::NOT_FOUND);

    // To the provider: code flow, PKCE S256, state, nonce.
    let authorize = begin(&browser, &provider).await;
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{varco}/selfcare/login/oidc/callback"));
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{q:?}");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    // SPID level 2 asked for (the provider grants the level asked).
    assert_eq!(q["acr_values"], "https://www.spid.gov.it/SpidL2");
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32, "{q:?}");
    assert_ne!(q["state"], q["nonce"]);

    // Mario Rossi logs in at the provider and is sent back with a code.
    let callback = at_provider(&browser, &authorize, MARIO, &varco).await;
    assert!(callback.starts_with(&format!("{varco}/selfcare/login/oidc/callback?")), "{callback}");
    let cq = query(&callback);
    assert_eq!(cq["state"], q["state"]);
    assert_eq!(cq["iss"], provider.issuer);
    let code = cq["code"].clone();

    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/selfcare/"));
    assert!(landed.set_cookies.iter().any(|c| c.starts_with("varco_sc=") && !c.starts_with("varco_sc=;")));
    assert!(landed.set_cookies.iter().any(|c| c.starts_with("varco_oidc=;") && c.contains("Max-Age=0")));

    let home = browser.get("/selfcare/").await;
    assert_eq!(home.location.as_deref(), Some("/selfcare/enti"));
    let enti = browser.get("/selfcare/enti").await;
    assert_eq!(enti.status, StatusCode::OK);
    enti.assert_contains("Seleziona il tuo ente");
    enti.assert_contains("Non risulti associato a nessun ente");
    enti.assert_contains("Mario Rossi");

    // Replaying the callback: the login under way was used up.
    let again = browser.get(&callback).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    again.assert_contains("già stata usata");
    assert!(!again.set_cookies.iter().any(|c| c.starts_with("varco_sc=")), "{:?}", again.set_cookies);
    // ... from another browser too, which gets no session.
    let other = Browser::new(&varco);
    let replay = other.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(!replay.set_cookies.iter().any(|c| c.starts_with("varco_sc=")), "{:?}", replay.set_cookies);
    assert_eq!(other.get("/selfcare/enti").await.location.as_deref(), Some("/selfcare/login"));

    // A callback whose state is not the login's: refused, and the login is burnt
    // (the right state afterwards finds nothing).
    let third = Browser::new(&varco);
    let authorize = begin(&third, &provider).await;
    let callback = at_provider(&third, &authorize, MARIO, &varco).await;
    let forged = callback.replace(&format!("state={}", query(&callback)["state"]), "state=forged-state-value");
    assert_ne!(forged, callback);
    let refused = third.get(&forged).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    refused.assert_contains("non corrisponde");
    assert!(!refused.set_cookies.iter().any(|c| c.starts_with("varco_sc=")));
    let late = third.get(&callback).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);
    assert_eq!(third.get("/selfcare/enti").await.location.as_deref(), Some("/selfcare/login"));

    // The person gives up at the provider: access_denied comes back.
    let fourth = Browser::new(&varco);
    let authorize = begin(&fourth, &provider).await;
    let to_interaction = fourth.get(&authorize).await;
    let interaction = Url::parse(&authorize).unwrap().join(to_interaction.location.as_deref().unwrap()).unwrap();
    let abort = fourth.get(&format!("{interaction}/abort")).await;
    let back = Url::parse(interaction.as_str()).unwrap().join(abort.location.as_deref().unwrap()).unwrap();
    let back = fourth.get(back.as_str()).await;
    let denied_at = back.location.clone().unwrap_or_default();
    assert!(denied_at.contains("error=access_denied"), "{denied_at}");
    let denied = fourth.get(&denied_at).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    denied.assert_contains("annullato");
    denied.assert_contains("Torna all");

    // The log says what happened, never with codes, states, tokens or secrets.
    let text = log.text();
    assert!(text.contains("OpenID Connect provider keys fetched again"), "{text}");
    assert!(text.contains("SelfCare login"), "{text}");
    assert!(text.contains("state does not match"), "{text}");
    assert!(text.contains("no login under way"), "{text}");
    assert!(text.contains("error=access_denied"), "{text}");
    for secret in [code.as_str(), q["state"].as_str(), q["nonce"].as_str(), CLIENT_SECRET, "eyJ"] {
        assert!(!text.contains(secret), "the log shows {secret:?}:\n{text}");
    }
});

// A public client (PKCE only), a provider that keeps the person's claims in
// UserInfo and spells them fiscalNumber/familyName: Maria Bianchi, Amministratore
// of the Comune di Prova, sees her Ente.
varco::both_backends!(public_client_with_claims_from_userinfo, |backend: Backend| async move {
    let port = free_port();
    let provider = start_provider(port, None, &["--claims-in", "userinfo", "--claim-style", "camel"]).await;
    let app = start_varco(backend, port, &provider, None).await;
    let varco = app.url("");
    let browser = Browser::new(&varco);
    let authorize = begin(&browser, &provider).await;
    let callback = at_provider(&browser, &authorize, MARIA, &varco).await;
    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/selfcare/"));
    let enti = browser.get("/selfcare/enti").await;
    enti.assert_contains("Seleziona il tuo ente");
    enti.assert_contains("Comune di Prova");
    enti.assert_contains("Maria Bianchi");

    // Discovery insists on the exact issuer (here with a trailing slash).
    let wrong = varco_pages::selfcare::oidc::OidcClient::discover(
        format!("{}/", provider.issuer),
        CLIENT_ID.into(),
        None,
        None,
        &varco,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(wrong.contains("configure exactly"), "{wrong}");
});

// The login under way lives in a sealed cookie: beginning a login writes
// nothing; a callback whose cookie is missing, changed or expired, or whose
// state is not the cookie's, is refused with a page and writes nothing, before
// the code is even exchanged (the same code then still logs in).
varco::both_backends!(login_state_is_a_sealed_cookie, |backend: Backend| async move {
    let log = LogCapture::start();
    let port = free_port();
    let provider = start_provider(port, Some(CLIENT_SECRET), &[]).await;
    let app = start_varco(backend, port, &provider, Some(CLIENT_SECRET)).await;
    let varco = app.url("");
    let before = rows(&app, backend).await;
    for path in ["/selfcare/login/oidc", "/selfcare/login/oidc?idp=cie", "/selfcare/login/oidc?idp=spid"] {
        let start = Browser::new(&varco).get(path).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{path}: {}", start.body);
    }
    assert_eq!(rows(&app, backend).await, before, "an anonymous login start wrote to the database");

    let browser = Browser::new(&varco);
    let (authorize, cookie) = begin_with_cookie(&browser, &provider).await;
    assert_eq!(rows(&app, backend).await, before);
    let callback = at_provider(&browser, &authorize, MARIO, &varco).await;
    let state = query(&callback)["state"].clone();
    // What the cookie holds: this login's state, sealed with SelfCare's key.
    let key = state_key(&app).await;
    let now = chrono::Utc::now().timestamp();
    let pending = key.open(Some(&cookie), now).expect("the cookie opens with SelfCare's key");
    assert_eq!(pending.state, state);
    assert_eq!(pending.idp.as_deref(), Some("spid"));
    assert!(pending.exp > now && pending.exp <= now + 600, "{}", pending.exp);
    assert!(!cookie.contains(&state) && !cookie.contains(&pending.nonce), "the cookie shows its secrets");

    let mut tampered = cookie.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let expired = key.seal(&varco_pages::selfcare::login_state::PendingLogin { exp: now - 1, ..pending.clone() });
    let forged_state = callback.replace(&format!("state={state}"), "state=forged-state-value");
    let cases = [
        ("no cookie", callback.clone(), None, "scaduta o è già stata usata"),
        ("tampered cookie", callback.clone(), Some(tampered), "non è valida"),
        ("expired cookie", callback.clone(), Some(expired), "sono passati più di dieci minuti"),
        ("another state", forged_state, Some(cookie.clone()), "non corrisponde"),
    ];
    for (name, url, value, says) in cases {
        let pair = value.map(|v| format!("varco_oidc={v}"));
        let refused = get_with_cookie(&url, pair.as_deref()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{name}: {}", refused.body);
        refused.assert_contains("Accesso non riuscito");
        refused.assert_contains(says);
        refused.assert_contains("Torna all");
        assert!(!refused.set_cookies.iter().any(|c| c.starts_with("varco_sc=")), "{name}: {:?}", refused.set_cookies);
        assert!(refused.set_cookies.iter().any(|c| c.starts_with("varco_oidc=;") && c.contains("Max-Age=0")), "{name}");
        assert_eq!(rows(&app, backend).await, before, "{name}: a refused callback wrote to the database");
    }
    // None of them got as far as the code: with the right cookie it still logs in.
    let landed = get_with_cookie(&callback, Some(&format!("varco_oidc={cookie}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/selfcare/"));
    assert!(landed.set_cookies.iter().any(|c| c.starts_with("varco_sc=") && !c.starts_with("varco_sc=;")));
    assert_eq!(app.db.count("SELECT COUNT(*) FROM web_sessions WHERE scope = 'selfcare'").await, 1);
    let text = log.text();
    assert!(text.contains("does not open with SelfCare's key"), "{text}");
    assert!(text.contains("login-state cookie has expired"), "{text}");
    assert!(text.contains("state does not match"), "{text}");
});

// Over https the login-state cookie is `__Host-` (Secure, Path=/, this host's
// only), and the callback reads that one.
varco::both_backends!(login_state_cookie_over_https, |backend: Backend| async move {
    let port = free_port();
    let public = "https://varco.example";
    let redirect = format!("{public}/selfcare/login/oidc/callback");
    let args = ["--port", "0", "--client-id", CLIENT_ID, "--redirect-uri", redirect.as_str()];
    let mut child = spawn_node(Path::new("oidc-provider.mjs"), &args, &[]);
    let line = wait_for_line(&mut child, "READY ", Duration::from_secs(60)).await;
    let provider = Provider { issuer: line.trim_start_matches("READY ").trim().to_string(), _child: child };
    let issuer = provider.issuer.clone();
    let app = spawn_app_with(backend, move |opts| {
        opts.listen = format!("127.0.0.1:{port}").parse().unwrap();
        opts.public_url = Some(public.into());
        opts.oidc =
            Some(varco::app::OidcOptions { issuer, client_id: CLIENT_ID.into(), client_secret: None, acr: None });
    })
    .await;
    let direct = format!("http://127.0.0.1:{port}");
    let browser = Browser::new(&direct);
    let start = browser.get("/selfcare/login/oidc").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let cookie = start.set_cookies.iter().find(|c| c.starts_with("__Host-varco_oidc=")).expect("a __Host- cookie");
    for attribute in ["; Path=/;", "; HttpOnly", "; SameSite=Lax", "; Max-Age=600", "; Secure"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!start.set_cookies.iter().any(|c| c.starts_with("varco_oidc=")), "{:?}", start.set_cookies);
    let callback = at_provider(&browser, start.location.as_deref().unwrap(), MARIO, public).await;
    let callback = callback.replace(public, &direct);
    let value = cookie_value(cookie);
    // The plain-http name is not read over https.
    let refused = get_with_cookie(&callback, Some(&format!("varco_oidc={value}"))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let landed = get_with_cookie(&callback, Some(&format!("__Host-varco_oidc={value}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert!(landed.set_cookies.iter().any(|c| c.starts_with("__Host-varco_oidc=;") && c.contains("Path=/;")));
    let _ = app;
});

// SPID level: Varco asks for level 2 and refuses an ID Token at level 1, or
// without a level, with a page that says so, and opens no session.
varco::both_backends!(login_below_the_spid_level_is_refused, |backend: Backend| async move {
    let cases = [
        ("https://www.spid.gov.it/SpidL1", "è avvenuto con SPID di livello 1"),
        ("none", "è avvenuto senza dichiarare il livello di autenticazione"),
    ];
    for (acr, says) in cases {
        let port = free_port();
        let provider = start_provider(port, Some(CLIENT_SECRET), &["--acr", acr]).await;
        let app = start_varco(backend, port, &provider, Some(CLIENT_SECRET)).await;
        let varco = app.url("");
        let browser = Browser::new(&varco);
        let authorize = begin(&browser, &provider).await;
        assert_eq!(query(&authorize)["acr_values"], "https://www.spid.gov.it/SpidL2");
        let callback = at_provider(&browser, &authorize, MARIO, &varco).await;
        let before = rows(&app, backend).await;
        let refused = browser.get(&callback).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{acr}: {}", refused.body);
        refused.assert_contains(says);
        refused.assert_contains("Riservata serve almeno SPID di livello 2");
        assert!(!refused.set_cookies.iter().any(|c| c.starts_with("varco_sc=")), "{acr}: {:?}", refused.set_cookies);
        assert_eq!(rows(&app, backend).await, before, "{acr}");
        assert_eq!(browser.get("/selfcare/enti").await.location.as_deref(), Some("/selfcare/login"));
    }
});

// Replicas share no memory: a login begun on one Varco ends on another on the
// same database (behind one public address), because both derive the cookie's
// key from SelfCare's key in the database.
varco::both_backends!(a_login_begun_on_one_replica_ends_on_another, |backend: Backend| async move {
    let port = free_port();
    let provider = start_provider(port, Some(CLIENT_SECRET), &[]).await;
    let app = start_varco(backend, port, &provider, Some(CLIENT_SECRET)).await;
    let varco = app.url("");
    let mut opts = varco::testkit::options_on(&app.db);
    opts.demo = false;
    opts.public_url = Some(varco.clone());
    opts.production = true;
    opts.key_encryption_key = Some(varco_store::KeyEncryptionKey::from_bytes([7; 32]));
    opts.oidc = Some(varco::app::OidcOptions {
        issuer: provider.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        acr: None,
    });
    let other = varco::app::start(opts).await.expect("the second replica starts");
    let browser = Browser::new(&varco);
    let (authorize, cookie) = begin_with_cookie(&browser, &provider).await;
    let callback = at_provider(&browser, &authorize, MARIO, &varco).await;
    let at_other = callback.replace(&varco, &format!("http://{}", other.addr));
    assert_ne!(at_other, callback);
    let landed = get_with_cookie(&at_other, Some(&format!("varco_oidc={cookie}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/selfcare/"));
    assert!(landed.set_cookies.iter().any(|c| c.starts_with("varco_sc=") && !c.starts_with("varco_sc=;")));
    other.server.abort();
});
