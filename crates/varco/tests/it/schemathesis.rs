//! Schemathesis, a property-based API tester that is not Varco's, run against Varco's
//! own OpenAPI document (`/interop/{env}/openapi.json`, made from the route table):
//! it generates requests for every operation from the document alone (odd path
//! values, methods a path does not have, missing credentials, odd forms for the
//! token endpoint) and no answer may be a server error, nor a dropped connection.
//! The document declares no request bodies or query parameters for the API's
//! operations, so those are not generated here. The number of examples and the seed
//! are fixed, so a run is bounded and the same requests are sent each time.
//!
//! v2 is called with an m2m-admin Bearer voucher. v3 wants a DPoP proof made for
//! each request, which Schemathesis cannot make: its operations get the same Bearer
//! header, and so exercise the refusal path (401) with every generated input, which
//! must not be a 5xx either.
//!
//! Needs python3 with `python3 -m pip install -r tests/schemathesis/requirements.txt`.
//! Missing dependencies make the test fail (never skip).
use crate::common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use varco::testkit::{spawn_app_with, Backend};
use varco_domain::Env;

const INSTALL_HINT: &str = "python3 -m pip install -r tests/schemathesis/requirements.txt";
/// The version pinned in tests/schemathesis/requirements.txt: its CLI options and its
/// report format are what this test is written against.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Test cases per operation in the fuzzing phase (the coverage and examples phases
/// add their own, derived from the document). Chosen so that the whole run stays
/// well under a minute on two cores.
const MAX_EXAMPLES: u32 = 20;
/// Fixed, so that a failure found once is found again.
const SEED: u64 = 11;
/// Fewer than this many operations tested means the document was not read as meant.
const MIN_OPERATIONS: usize = 60;

/// Fails (does not skip) when python3 or the pinned Schemathesis is missing.
async fn require_schemathesis() {
    let out = tokio::process::Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('schemathesis'))"])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("python3 is not on PATH ({e}): install Python 3.11, then `{INSTALL_HINT}`"));
    assert!(
        out.status.success(),
        "this test needs Schemathesis: run `{INSTALL_HINT}` (from the repository root)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        version, SCHEMATHESIS_VERSION,
        "Schemathesis {version} is installed, not the pinned one: run `{INSTALL_HINT}`"
    );
}

#[derive(Debug)]
struct Answer {
    code: u16,
    method: String,
    uri: String,
    operation: String,
}

/// What the run's report (Schemathesis's NDJSON events) says was sent and answered.
#[derive(Default)]
struct Tally {
    /// Every request sent: its answer's status (0: no answer), method, URI and the
    /// operation it was made for (whose method differs when Schemathesis tries a
    /// method the path does not have).
    answers: Vec<Answer>,
    /// The operations ("METHOD /path" of the document) that got at least one request.
    operations: std::collections::BTreeSet<String>,
    /// Scenarios that neither passed nor were skipped, and the engine's own errors.
    problems: Vec<String>,
}

fn tally(events: &str) -> Tally {
    let mut t = Tally::default();
    for line in events.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("report line is not JSON ({e}): {line}"));
        let Some((kind, body)) = event.as_object().and_then(|o| o.iter().next()) else { continue };
        match kind.as_str() {
            "ScenarioFinished" => {
                let status = body["status"].as_str().unwrap_or_default();
                let label = body["recorder"]["label"].as_str().unwrap_or_default().to_string();
                if !matches!(status, "success" | "skip") {
                    t.problems.push(format!("{label}: {status} in phase {}", body["phase"]));
                }
                let interactions = body["recorder"]["interactions"].as_object().cloned().unwrap_or_default();
                if !interactions.is_empty() {
                    t.operations.insert(label.clone());
                }
                for i in interactions.values() {
                    let code = i["response"]["status_code"].as_u64().unwrap_or(0) as u16;
                    let method = i["request"]["method"].as_str().unwrap_or_default().to_string();
                    let uri = i["request"]["uri"].as_str().unwrap_or_default().to_string();
                    t.answers.push(Answer { code, method, uri, operation: label.clone() });
                }
            }
            "NonFatalError" | "FatalError" => t.problems.push(format!("{kind}: {body}")),
            _ => {}
        }
    }
    t
}

#[tokio::test]
async fn no_operation_of_the_document_answers_a_server_error() {
    require_schemathesis().await;
    // On PostgreSQL, the stricter of the two backends (text holding U+0000 was a
    // 500 there and not on SQLite). The API's per-organisation rate limit would turn
    // part of the run into 429s, which say nothing about the handlers.
    let app = spawn_app_with(Backend::Postgres, |o| o.api_rate_limit = 1_000_000).await;
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let r = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let voucher = r.json()["access_token"].as_str().expect("access_token").to_string();

    // The operations the document lists, as Schemathesis labels them.
    let doc: Value =
        app.http.get(app.url("/interop/collaudo/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        doc["servers"][0]["url"],
        app.url("/interop/collaudo"),
        "Schemathesis takes its base URL from `servers`"
    );
    let documented: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().expect("path item").keys().map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    assert!(documented.len() >= MIN_OPERATIONS, "the document lists only {} operations", documented.len());

    let work = tempfile::tempdir().expect("temp dir");
    let report = work.path().join("report.ndjson");
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args(["-m", "schemathesis.cli", "run"])
        .arg(app.url("/interop/collaudo/openapi.json"))
        .args(["--checks", "not_a_server_error"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        // No examples kept from earlier runs: the same requests every time.
        .args(["--generation-database", "none"])
        .args(["--workers", "2"])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        .args(["--report", "ndjson", "--report-ndjson-path"])
        .arg(&report)
        .args(["-H", &format!("Authorization: Bearer {voucher}")])
        // Nothing of the run is written into the repository.
        .current_dir(work.path())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("Schemathesis did not finish within 180 s")
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `{INSTALL_HINT}`"));
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("Schemathesis wrote no report ({e}) ({}):\n{stdout}\n{stderr}", out.status));
    let t = tally(&events);

    let server_errors: Vec<String> = t
        .answers
        .iter()
        .filter(|a| a.code >= 500 || a.code == 0)
        .map(|a| format!("{} {} {} ({})", a.code, a.method, a.uri, a.operation))
        .collect();
    assert!(server_errors.is_empty(), "server errors (0: no answer):\n{}\n\n{stdout}", server_errors.join("\n"));
    assert!(t.problems.is_empty(), "Schemathesis reports:\n{}\n\n{stdout}\n{stderr}", t.problems.join("\n"));
    assert!(out.status.success(), "Schemathesis failed ({}):\n{stdout}\n{stderr}", out.status);

    // It tested something: every documented operation got requests.
    let untested: Vec<&String> = documented.difference(&t.operations).collect();
    assert!(untested.is_empty(), "operations Schemathesis sent nothing to: {untested:?}\n{stdout}");
    let v2 = |path: &str| path.contains("/interop/collaudo/api/v2/");
    // The voucher worked on v2: some answers are successes, not only refusals.
    let v2_ok = t.answers.iter().filter(|a| v2(&a.uri) && (200..300).contains(&a.code)).count();
    assert!(v2_ok > 0, "no v2 request succeeded: was the voucher refused?\n{stdout}");
    // v3 without a DPoP proof: refused, except with 405 for a method the path does
    // not have.
    let v3_not_refused: Vec<_> = t
        .answers
        .iter()
        .filter(|a| a.uri.contains("/interop/collaudo/api/v3/"))
        .filter(|a| !(a.code == 401 || (a.code == 405 && !a.operation.starts_with(&format!("{} ", a.method)))))
        .collect();
    assert!(v3_not_refused.is_empty(), "v3 answered a Bearer voucher without DPoP: {v3_not_refused:?}");
    eprintln!(
        "Schemathesis: {} operations, {} requests ({v2_ok} v2 successes), no server error, in {:.1} s",
        t.operations.len(),
        t.answers.len(),
        elapsed.as_secs_f64()
    );
}

// What the run found once on PostgreSQL (with PDND's own m2mGatewayApi.yml, whose
// bodies and filters Varco's document does not describe): text holding U+0000,
// which PostgreSQL cannot store nor compare, was a 500. Every such value is now a
// 400 on both backends; the same text without a real NUL is not refused.
varco::both_backends!(nul_characters_are_refused_not_a_server_error, |backend: Backend| async move {
    let app = spawn_app_with(backend, |_| {}).await;
    let api = setup_api_client(&app, Env::Collaudo, "Comune di Prova", true).await;
    let r = post_token(&app, Env::Collaudo, &token_form(&api.assertion(&app), None), &[]).await;
    let voucher = r.json()["access_token"].as_str().expect("access_token").to_string();
    let base = app.url("/interop/collaudo/api/v2");
    let get = |path: &str| {
        let req = app.http.get(format!("{base}{path}")).bearer_auth(&voucher);
        async move { read(req.send().await.unwrap()).await }
    };
    for path in [
        "/keys/ab%00cd",
        "/tenants?offset=0&limit=5&IPACode=a%00b",
        "/tenants?offset=0&limit=5&taxCode=a%00b",
        "/clients?offset=0&limit=5&name=a%00",
    ] {
        let r = get(path).await;
        assert_eq!(r.status, 400, "GET {path}: {}", r.text);
        assert_api_problem(&r.json(), 400);
        assert!(r.json()["detail"].as_str().unwrap().contains("U+0000"), "GET {path}: {}", r.text);
    }
    // "%2500" is the text "%00", not a NUL.
    let r = get("/tenants?offset=0&limit=5&IPACode=a%2500b").await;
    assert_eq!(r.status, 200, "{}", r.text);

    let post = |body: &'static str| {
        let req = app
            .http
            .post(format!("{base}/declaredAttributes"))
            .bearer_auth(&voucher)
            .header("content-type", "application/json")
            .body(body);
        async move { read(req.send().await.unwrap()).await }
    };
    let r = post(r#"{"name": "Attributo\u0000di prova", "description": "Descrizione di prova"}"#).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_api_problem(&r.json(), 400);
    assert!(r.json()["detail"].as_str().unwrap().contains("U+0000"), "{}", r.text);
    // An escaped backslash followed by "u0000" is ordinary text.
    let r = post(r#"{"name": "Attributo \\u0000 di prova", "description": "Descrizione di prova"}"#).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["name"], "Attributo \\u0000 di prova");
});
