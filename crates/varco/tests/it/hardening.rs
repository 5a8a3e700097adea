//! Issue 11's findings on the token endpoint and the machine API, each proven on the
//! wire: proofs spent only by accepted requests, the machine API's rate limit, and
//! no read of the event log for an assertion nobody signed.
use crate::common;

use common::*;
use reqwest::StatusCode;
use varco::both_backends;
use varco::testkit::{spawn_app_with, TestApp};
use varco_domain::clock::Clock;
use varco_domain::Env;
use varco_jose::{build_dpop_proof, RsaPrivateKey};
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA};

/// A manual clock at the start of a second just ahead: the rate windows are fixed
/// seconds of the server's clock, and the test moves it.
fn window_clock() -> Clock {
    Clock::manual(chrono::DateTime::from_timestamp(now() + 1, 0).unwrap())
}

fn proof_for(app: &TestApp, key: &RsaPrivateKey, method: &str, path: &str, at: i64, voucher: Option<&str>) -> String {
    build_dpop_proof(key, method, &app.url(path), at, &uuid::Uuid::new_v4().to_string(), voucher)
}

const TOKEN: &str = "/interop/collaudo/token.oauth2";

// A token request refused for the rate keeps its DPoP proof unspent: the client
// retries the same request in the next window and gets its voucher. (Before, the
// proof was recorded first, so the retry failed as a replay.)
both_backends!(a_proof_refused_for_the_rate_is_not_spent, |backend| async move {
    let clock = window_clock();
    let server_clock = clock.clone();
    let app = spawn_app_with(backend, move |o| {
        o.rate_limit = 1;
        o.clock = server_clock;
    })
    .await;
    let api = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, true).await;
    let key = RsaPrivateKey::generate_2048();
    let at = clock.now().timestamp();
    let form = token_form(&api.assertion(&app), None);
    let first = post_token(&app, Env::Collaudo, &form, &[proof_for(&app, &key, "POST", TOKEN, at, None)]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let proof = proof_for(&app, &key, "POST", TOKEN, at, None);
    let limited = post_token(&app, Env::Collaudo, &form, std::slice::from_ref(&proof)).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS);
    clock.advance(chrono::Duration::seconds(1));
    let retried = post_token(&app, Env::Collaudo, &form, std::slice::from_ref(&proof)).await;
    assert_eq!(retried.status, StatusCode::OK, "the retry after a 429: {}", retried.text);
    assert_eq!(retried.json()["token_type"], "DPoP");
    // Spent now: a third use is a replay.
    clock.advance(chrono::Duration::seconds(1));
    assert_generic_400(&post_token(&app, Env::Collaudo, &form, &[proof]).await);
});

async fn api_call(app: &TestApp, auth: &str, proof: Option<&str>, v: &str) -> Reply {
    let mut req = app.http.get(app.url(&format!("/interop/collaudo/api/{v}/eservices?offset=0&limit=1")));
    req = req.header("authorization", auth);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    read(req.send().await.unwrap()).await
}

fn assert_api_rate(r: &Reply, remaining: u32) {
    assert_eq!(r.header("x-rate-limit-limit"), Some("3"), "{:?}", r.headers);
    assert_eq!(r.header("x-rate-limit-interval"), Some("1000"), "{:?}", r.headers);
    assert_eq!(r.header("x-rate-limit-remaining"), Some(remaining.to_string().as_str()), "{:?}", r.headers);
}

// The machine API answers PDND's X-Rate-Limit-* headers and 429 past the limit, per
// organisation, on v2 and v3 together; a v3 proof refused for the rate can be retried.
both_backends!(the_machine_api_is_rate_limited_per_organisation, |backend| async move {
    let clock = window_clock();
    let server_clock = clock.clone();
    let app = spawn_app_with(backend, move |o| {
        o.api_rate_limit = 3;
        o.clock = server_clock;
    })
    .await;
    let prova = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, true).await;
    let esempio = setup_api_client(&app, Env::Collaudo, COMUNE_DI_ESEMPIO, true).await;
    let bearer = |r: Reply| format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let prova_v2 = bearer(request_voucher(&app, Env::Collaudo, &prova.assertion(&app)).await);
    let esempio_v2 = bearer(request_voucher(&app, Env::Collaudo, &esempio.assertion(&app)).await);
    let key = RsaPrivateKey::generate_2048();
    let at = clock.now().timestamp();
    let form = token_form(&prova.assertion(&app), None);
    let r = post_token(&app, Env::Collaudo, &form, &[proof_for(&app, &key, "POST", TOKEN, at, None)]).await;
    let dpop_voucher = r.json()["access_token"].as_str().unwrap().to_string();

    // The token requests above are the token endpoint's budget, not the API's.
    for remaining in [2, 1] {
        let r = api_call(&app, &prova_v2, None, "v2").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_api_rate(&r, remaining);
    }
    let v3 = "/interop/collaudo/api/v3/eservices";
    let proof = proof_for(&app, &key, "GET", v3, at, Some(&dpop_voucher));
    let auth = format!("DPoP {dpop_voucher}");
    let r = api_call(&app, &auth, Some(&proof_for(&app, &key, "GET", v3, at, Some(&dpop_voucher))), "v3").await;
    assert_eq!(r.status, StatusCode::OK, "v3 shares the organisation's budget: {}", r.text);
    assert_api_rate(&r, 0);
    for (auth, proof, v) in [(&prova_v2, None, "v2"), (&auth, Some(proof.as_str()), "v3")] {
        let r = api_call(&app, auth, proof, v).await;
        let body = assert_problem(&r, StatusCode::TOO_MANY_REQUESTS);
        assert_api_problem(&body, 429);
        assert_eq!(body["detail"], format!("Requests limit exceeded for organization {}", prova.tenant_id));
        assert_api_rate(&r, 0);
    }
    let r = api_call(&app, &esempio_v2, None, "v2").await;
    assert_eq!(r.status, StatusCode::OK, "another organisation has its own budget: {}", r.text);
    assert_api_rate(&r, 2);
    // Calls refused before the voucher is known do not count, and carry no headers.
    let r = api_call(&app, "Bearer nonsense", None, "v2").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("x-rate-limit-limit"), None);

    clock.advance(chrono::Duration::seconds(1));
    let r = api_call(&app, &auth, Some(&proof), "v3").await;
    assert_eq!(r.status, StatusCode::OK, "the v3 proof refused for the rate is still good: {}", r.text);
    assert_api_rate(&r, 2);
    let r = api_call(&app, &auth, Some(&proof), "v3").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "now it is spent");
    // A replay does not use the budget either.
    let r = api_call(&app, &prova_v2, None, "v2").await;
    assert_api_rate(&r, 1);
});

// An assertion signed by nobody's key (a random sub, or a known client with a
// stranger's key) is answered without asking for a read of the event log; a
// signed one refused for the state asks for one, to be sure of the refusal.
both_backends!(unsigned_assertions_cause_no_read_of_the_log, |backend| async move {
    let app = spawn_app_with(backend, |_| {}).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let token = &app.running.token;
    let stranger = RsaPrivateKey::generate_2048();
    let before = token.demanded_reads();
    let started = std::time::Instant::now();
    for i in 0..10 {
        let sub = if i % 2 == 0 { varco_domain::ClientId::new() } else { c.client_id };
        let (h, p) = assertion_parts(&app, Env::Collaudo, &c.kid, sub, Some(c.purpose_id));
        assert_generic_400(&request_voucher(&app, Env::Collaudo, &sign(&h, &p, &stranger)).await);
    }
    assert_eq!(token.demanded_reads(), before, "ten unsigned assertions asked for reads of the log");
    // Each waited for the follower's pass (every 250 ms) rather than reading.
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());

    let svc = app.running.platform.env(Env::Collaudo);
    let who = varco_platform::Caller::Person {
        env: Env::Collaudo,
        tenant: c.tenant_id,
        user: varco_domain::UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    svc.suspend_purpose(&who, c.purpose_id).await.unwrap();
    assert_generic_400(&request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await);
    assert_eq!(token.demanded_reads(), before + 1, "a signed assertion refused for the state reads the log once");
});

// The token server follows the log reading only what it has not applied: idle, its
// polls (every 250 ms) decode nothing, on PostgreSQL too, where it keeps looking
// for numbers skipped by transactions still committing. (Before, each poll there
// decoded the newest 200 events again.)
both_backends!(following_the_log_decodes_only_new_events, |backend| async move {
    let app = spawn_app_with(backend, |_| {}).await;
    let _ = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let token = &app.running.token;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let before = token.events_read();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(token.events_read(), before, "idle polls decoded events again");
    // A change is read once.
    let _ = setup_api_client(&app, Env::Collaudo, COMUNE_DI_ESEMPIO, false).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let after_change = token.events_read();
    assert!(after_change > before, "the change was not read");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(token.events_read(), after_change);
});

// `--audit-retention-days`: records older than the retention go, newer ones stay;
// without the option every record is kept.
both_backends!(audit_records_past_their_retention_are_deleted, |backend| async move {
    let clock = Clock::manual(chrono::Utc::now());
    let server_clock = clock.clone();
    let app = spawn_app_with(backend, move |o| {
        o.audit_retention_days = Some(30);
        o.clock = server_clock;
    })
    .await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let client = c.client_id.to_string();
    assert_eq!(request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await.status, StatusCode::OK);
    clock.advance(chrono::Duration::days(20));
    let a = c.assertion_with(&app, |_, p| {
        let t = clock.now().timestamp();
        p.insert("iat".into(), serde_json::json!(t));
        p.insert("exp".into(), serde_json::json!(t + 300));
    });
    assert_eq!(request_voucher(&app, Env::Collaudo, &a).await.status, StatusCode::OK);
    let store = &app.running.store;
    assert_eq!(app.running.token.purge_audit().await.unwrap(), 0, "nothing is 30 days old yet");
    clock.advance(chrono::Duration::days(11));
    assert_eq!(app.running.token.purge_audit().await.unwrap(), 1, "the first record is 31 days old");
    let left = store.audit_of_client("collaudo", &client).await.unwrap();
    assert_eq!(left.len(), 1);
    // Without a retention, nothing is deleted.
    let keep = spawn_app_with(backend, |_| {}).await;
    let c = setup_consumer(&keep, COMUNE_DI_PROVA).await;
    assert_eq!(request_voucher(&keep, Env::Collaudo, &c.assertion(&keep)).await.status, StatusCode::OK);
    assert_eq!(keep.running.token.purge_audit().await.unwrap(), 0);
});

// The operator's try from the review, as a test: vouchers issued without pause on
// the default SQLite store while the machine API writes. Every write must succeed
// (it used to answer 500 "database is locked" for most: the audit writer began
// without the single writer's turn).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_succeed_while_vouchers_are_issued() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let app = spawn_app_with(varco::testkit::Backend::Sqlite, |o| o.rate_limit = 1_000_000).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let api = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, true).await;
    let r = request_voucher(&app, Env::Collaudo, &api.assertion(&app)).await;
    let bearer = r.json()["access_token"].as_str().unwrap().to_string();
    let form = token_form(&c.assertion(&app), None);
    let (stop, issued, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for _ in 0..12 {
        let (http, url, body) = (app.http.clone(), app.url(TOKEN), encode_form(&form));
        let (stop, issued, failed) = (stop.clone(), issued.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let counter = if r.status() == StatusCode::OK { &issued } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let risk = serde_json::to_value(
        varco_domain::risk_analysis::rules_for(varco_domain::TenantKind::Pa, None).unwrap().example_form(),
    )
    .unwrap();
    let mut statuses = Vec::new();
    for i in 0..60u64 {
        // Each write starts only after five more vouchers: the writes are spread over
        // the load however fast the machine is.
        let wanted = (i + 1) * 5;
        while issued.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < wanted {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let body = serde_json::json!({
            "eserviceId": c.eservice_id,
            "title": format!("Finalità sotto carico {i}"),
            "description": "Una finalità scritta mentre si emettono voucher",
            "isFreeOfCharge": false,
            "dailyCalls": 1,
            "riskAnalysisForm": risk,
        });
        let r =
            app.http.post(app.url("/interop/collaudo/api/v2/purposes")).bearer_auth(&bearer).json(&body).send().await;
        statuses.push(r.unwrap().status().as_u16());
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let (issued, failed) = (issued.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created, 60, "purposes created under load: {statuses:?}");
    assert_eq!(failed, 0, "voucher requests refused under load");
    assert!(issued >= 300, "the writes waited for 300 vouchers, {issued} counted");
    eprintln!("{issued} vouchers issued while 60 purposes were written");
}

/// A connection that sends the start of a request and never finishes its headers.
async fn slow_client(app: &TestApp) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.running.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: varco\r\n").await.unwrap();
    s
}

// A client that never finishes its headers is cut off after the header-read
// timeout (`--header-read-timeout`), and the connections served at once are capped
// (`--max-connections`): past the cap a new one waits for a free place.
#[tokio::test]
async fn slow_headers_are_cut_off_and_connections_are_capped() {
    use tokio::io::AsyncReadExt;
    let app = spawn_app_with(varco::testkit::Backend::Sqlite, |o| {
        o.serve.header_read_timeout = std::time::Duration::from_secs(1);
        o.serve.max_connections = 3;
    })
    .await;
    let started = std::time::Instant::now();
    let mut slow = slow_client(&app).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the slow client was still connected after 5 s");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());

    // Three slow clients hold the three places: a fourth request waits...
    let held = [slow_client(&app).await, slow_client(&app).await, slow_client(&app).await];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let quick = reqwest::Client::builder().timeout(std::time::Duration::from_millis(500)).build().unwrap();
    assert!(quick.get(app.url("/healthz")).send().await.is_err(), "a fourth connection was served");
    // ...until they go.
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let r = quick.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

// An untrusted `alg` is cut in the log line of the refusal: an assertion could carry
// tens of kilobytes there, and every refusal would write them all.
both_backends!(an_untrusted_alg_is_cut_in_the_log, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app_with(backend, |_| {}).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let (mut h, p) = assertion_parts(&app, Env::Collaudo, &c.kid, c.client_id, Some(c.purpose_id));
    h.insert("alg".into(), serde_json::json!("X".repeat(8_000)));
    let corr = assert_generic_400(&request_voucher(&app, Env::Collaudo, &sign(&h, &p, &c.key)).await);
    let lines = logs.lines_with(&corr);
    assert_eq!(logs.reason_for(&corr).as_deref(), Some("algorithmNotAllowed"), "{lines:?}");
    let longest = lines.iter().map(String::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a log line of {longest} bytes");
});

// A client's members are bounded (100), on creation and one by one: v3's `members`
// took any number, and each event copies the whole client.
both_backends!(a_client_has_at_most_100_members, |backend| async move {
    let app = spawn_app_with(backend, |_| {}).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let t = svc.tenant_by_name(&varco_platform::Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    let who = varco_platform::Caller::Operator;
    let users = |n: usize| (0..n).map(|_| varco_domain::UserId::new()).collect::<Vec<_>>();
    let kind = varco_domain::ClientKind::Consumer;
    let r = svc.create_client(&who, t.id, kind, "Client affollato", None, users(101), None).await;
    assert!(matches!(r, Err(varco_platform::AppError::Invalid(ref m)) if m.contains("100 membri")), "{r:?}");
    let c = svc.create_client(&who, t.id, kind, "Client pieno", None, users(100), None).await.unwrap();
    let seq = app.running.store.last_event_seq().await.unwrap();
    let r = svc.add_client_member(&who, c.id, varco_domain::UserId::new()).await;
    assert!(matches!(r, Err(varco_platform::AppError::Invalid(_))), "{r:?}");
    assert_eq!(app.running.store.last_event_seq().await.unwrap(), seq);
});
