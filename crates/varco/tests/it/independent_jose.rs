//! Varco's vouchers, DPoP flow and SelfCare identity tokens checked by a JOSE
//! implementation that is not Varco's: PyJWT and `cryptography` (tests/independent/)
//! build the client assertion and the DPoP proofs as the voucher contract says, ask a
//! live Varco for a voucher over HTTP, call the machine API v3 with it, and verify the
//! voucher with the JWKS as a producer would, and SelfCare's identity token with
//! SelfCare's JWKS as a back office would; tampered or misdirected inputs are refused.
//!
//! Needs python3 on PATH with `python3 -m pip install -r tests/independent/requirements.txt`.
//! Missing dependencies make the tests fail (never skip).
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use varco::testkit::spawn_app;
use varco_domain::*;
use varco_jose::RsaPrivateKey;
use varco_platform::Caller;

const INSTALL_HINT: &str = "python3 -m pip install -r tests/independent/requirements.txt";
/// The scripts' exit code when PyJWT or cryptography cannot be imported.
const EXIT_MISSING_DEPS: i32 = 3;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn script(name: &str) -> PathBuf {
    repo_root().join("tests/independent").join(name)
}

/// Fails (does not skip) when python3 or the pinned dependencies are missing.
async fn require_python_deps() {
    let out = tokio::process::Command::new("python3")
        .args(["-c", "import jwt, cryptography; print(jwt.__version__, cryptography.__version__)"])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("python3 is not on PATH ({e}): install Python 3.11, then `{INSTALL_HINT}`"));
    assert!(
        out.status.success(),
        "the independent JOSE check needs PyJWT and cryptography: run `{INSTALL_HINT}` (from the repository root)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh RSA 2048 key: its PKCS#8 PEM in a temp file, and the SPKI PEM to upload.
struct ClientKeyPair {
    _dir: tempfile::TempDir,
    private_path: PathBuf,
    public_pem: String,
    kid: String,
}

fn new_key() -> ClientKeyPair {
    let key = RsaPrivateKey::generate_2048();
    let dir = tempfile::tempdir().expect("temp dir");
    let private_path = dir.path().join("client.rsa.priv");
    std::fs::write(&private_path, key.to_pkcs8_pem()).expect("write the private key");
    ClientKeyPair { public_pem: key.public_key().to_pem(), kid: key.kid().to_string(), private_path, _dir: dir }
}

/// Runs voucher_flow.py with `args`; asserts exit 0 and returns its JSON summary.
async fn voucher_flow(args: Vec<(&str, String)>) -> Value {
    run_script("voucher_flow.py", args).await
}

/// Runs the script `name` of tests/independent with `args`; asserts exit 0 and returns
/// its JSON summary.
async fn run_script(name: &str, args: Vec<(&str, String)>) -> Value {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script(name)).current_dir(repo_root()).kill_on_drop(true);
    for (name, value) in &args {
        // `=` form: a kid may begin with "-", which argparse would take for an option.
        cmd.arg(format!("--{name}={value}"));
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within 120 s"))
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3.11, then `{INSTALL_HINT}`"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(EXIT_MISSING_DEPS) {
        panic!("Python dependencies missing: run `{INSTALL_HINT}`\n{stderr}");
    }
    assert!(out.status.success(), "{name} failed ({}):\n{stderr}\n{stdout}\nargs: {args:?}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name} printed no JSON ({e}):\n{stdout}"))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

varco::both_backends!(consumer_voucher_for_send_uat, |backend| async move {
    require_python_deps().await;
    let app = spawn_app(backend).await;
    let p = &app.running.platform;
    let key = new_key();

    let out = varco::cli::setup_consumer(
        p,
        Env::Collaudo,
        "Comune di Prova",
        "SEND - UAT (Piattaforma Notifiche)",
        &key.public_pem,
        1000,
    )
    .await
    .expect("setup_consumer");
    let s = |k: &str| out[k].as_str().unwrap_or_else(|| panic!("setup_consumer printed no {k}: {out}")).to_string();
    assert_eq!(s("kid"), key.kid);
    assert_eq!(out["purposeState"], "ACTIVE");

    let svc = p.env(Env::Collaudo);
    let es = svc.eservice(&Caller::Operator, s("eserviceId").parse().unwrap()).await.unwrap();
    let d = es.latest_published().expect("SEND - UAT is published").clone();
    let consumer = svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
    assert_eq!(s("tenantId"), consumer.id.to_string());
    let cfg = p.config(Env::Collaudo).clone();

    let evidence = "Agid-JWT-TrackingEvidence di prova";
    let summary = voucher_flow(vec![
        ("token-url", cfg.token_url.clone()),
        ("jwks-url", cfg.jwks_url.clone()),
        ("audience", cfg.client_assertion_audience.clone()),
        ("client-id", s("clientId")),
        ("kid", key.kid.clone()),
        ("private-key", key.private_path.display().to_string()),
        ("purpose-id", s("purposeId")),
        ("digest-of", evidence.to_string()),
        ("expect-iss", cfg.issuer.clone()),
        ("expect-aud", d.audience.join(",")),
        ("expect-kind", "consumer".into()),
        ("expect-eservice-id", es.id.to_string()),
        ("expect-descriptor-id", d.id.to_string()),
        ("expect-producer-id", es.producer_id.to_string()),
        ("expect-consumer-id", consumer.id.to_string()),
    ])
    .await;

    // The script checked everything; re-check the key facts from its summary.
    assert_eq!(summary["ok"], true);
    let claims = &summary["voucherClaims"];
    assert_eq!(summary["expiresIn"], d.voucher_lifespan);
    assert_eq!(claims["aud"], "https://api.uat.notifichedigitali.it");
    assert_eq!(claims["iss"], cfg.issuer.as_str());
    assert_eq!(claims["purposeId"], s("purposeId"));
    assert_eq!(claims["digest"]["alg"], "SHA256");
    assert_eq!(claims["digest"]["value"], sha256_hex(evidence));
    assert_eq!(summary["voucherHeader"]["typ"], "at+jwt");
    assert_eq!(summary["tamperedAssertion"]["code"], "015-0008");
    assert_eq!(summary["rateLimit"]["X-Rate-Limit-Limit"], 450);
});

varco::both_backends!(api_vouchers_m2m_admin_and_m2m, |backend| async move {
    require_python_deps().await;
    let app = spawn_app(backend).await;
    let p = &app.running.platform;

    // m2m-admin in Collaudo, m2m (no admin) in Produzione: each with its own issuer.
    for (env, with_admin) in [(Env::Collaudo, true), (Env::Produzione, false)] {
        let key = new_key();
        let svc = p.env(env);
        let tenant = svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
        let admin = with_admin.then(UserId::new);
        let client = svc
            .create_client(
                &Caller::Operator,
                tenant.id,
                ClientKind::Api,
                "Client API Interop di prova",
                None,
                admin.into_iter().collect(),
                admin,
            )
            .await
            .expect("create the API client");
        let k = svc.add_client_key(&Caller::Operator, client.id, "Chiave client API", &key.public_pem).await.unwrap();
        assert_eq!(k.kid.as_str(), key.kid);
        let cfg = p.config(env).clone();

        let role = if with_admin { "m2m-admin" } else { "m2m" };
        let summary = voucher_flow(vec![
            ("token-url", cfg.token_url.clone()),
            ("jwks-url", cfg.jwks_url.clone()),
            ("audience", cfg.client_assertion_audience.clone()),
            ("client-id", client.id.to_string()),
            ("kid", key.kid.clone()),
            ("private-key", key.private_path.display().to_string()),
            ("expect-iss", cfg.issuer.clone()),
            ("expect-aud", cfg.m2m_audience.clone()),
            ("expect-kind", "api".into()),
            ("expect-organization-id", tenant.id.to_string()),
            ("expect-role", role.into()),
        ])
        .await;
        assert_eq!(summary["ok"], true, "{env}");
        let claims = &summary["voucherClaims"];
        assert_eq!(summary["expiresIn"], 600, "{env}: API vouchers last 600 s");
        assert_eq!(claims["role"], role, "{env}");
        assert_eq!(claims["organizationId"], tenant.id.to_string(), "{env}");
        match admin {
            Some(a) => assert_eq!(claims["adminId"], a.to_string(), "{env}"),
            None => assert!(claims.get("adminId").is_none(), "{env}"),
        }
        assert_eq!(summary["tamperedAssertion"]["code"], "015-0008", "{env}");
    }
    // The two environments sign with different keys and issuers.
    assert_ne!(p.config(Env::Collaudo).issuer, p.config(Env::Produzione).issuer);
    assert_ne!(
        app.running.token.jwks(Env::Collaudo)["keys"][0]["kid"],
        app.running.token.jwks(Env::Produzione)["keys"][0]["kid"]
    );
});

varco::both_backends!(selfcare_identity_token_verified_with_pyjwt, |backend| async move {
    use crate::common::web::Browser;
    use varco_selfcare::demo::ADMIN_COMUNE;
    require_python_deps().await;
    let app = spawn_app(backend).await;
    let host = app.running.base_url.trim_start_matches("http://").to_string();
    // The README's values: issuer `{host}/selfcare`, audience `{host}/interop/{env}/ui`.
    let audience = format!("{host}/interop/collaudo/ui");
    assert_eq!(app.running.platform.config(Env::Collaudo).backoffice_audience, audience);

    // Maria, Amministratore of Comune di Prova on every environment, picks Collaudo.
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let comune = b.institution_id("Comune di Prova").await;
    let choice = b.get(&format!("/selfcare/enti/{comune}/interoperabilita")).await;
    let handoff = b
        .post(
            &format!("/selfcare/enti/{comune}/interoperabilita"),
            &[("csrf", &choice.csrf()), ("ambiente", "collaudo")],
        )
        .await;
    let token = handoff.field("token").unwrap_or_else(|| panic!("no identity token handed over:\n{}", handoff.body));

    let summary = run_script(
        "identity_token.py",
        vec![
            ("token", token.clone()),
            ("jwks-url", app.url("/selfcare/.well-known/jwks.json")),
            ("expect-iss", format!("{host}/selfcare")),
            ("expect-aud", audience.clone()),
            ("other-aud", format!("{host}/interop/produzione/ui")),
            ("expect-fiscal-number", ADMIN_COMUNE.fiscal_code.into()),
            ("expect-name", ADMIN_COMUNE.name.into()),
            ("expect-family-name", ADMIN_COMUNE.family_name.into()),
            ("expect-org-name", "Comune di Prova".into()),
            ("expect-product", "prod-interop-coll".into()),
        ],
    )
    .await;
    assert_eq!(summary["ok"], true);
    let claims = &summary["claims"];
    assert_eq!(claims["organization"]["id"], comune.as_str());
    assert_eq!(claims["aud"], audience.as_str());
    assert!(summary["jwksKids"].as_array().unwrap().contains(&summary["header"]["kid"]), "{summary}");

    // The token PyJWT verified is the one the back office takes.
    let binding = handoff.field("handoff").expect("same origin: the hand-over is bound to the browser");
    let landed = b.post("/interop/collaudo/selfcare/login", &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(landed.status, reqwest::StatusCode::SEE_OTHER, "{}", landed.body);
});

varco::both_backends!(dpop_proofs_made_with_pyjwt_for_the_token_endpoint_and_v3, |backend| async move {
    require_python_deps().await;
    let app = spawn_app(backend).await;
    let p = &app.running.platform;
    let key = new_key();
    let svc = p.env(Env::Collaudo);
    let tenant = svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
    let client = svc
        .create_client(&Caller::Operator, tenant.id, ClientKind::Api, "Client API DPoP di prova", None, vec![], None)
        .await
        .expect("create the API client");
    svc.add_client_key(&Caller::Operator, client.id, "Chiave client API", &key.public_pem).await.unwrap();
    let cfg = p.config(Env::Collaudo).clone();
    // The URLs a client is told (README): the token endpoint and the v3 API of Collaudo.
    assert_eq!(cfg.token_url, app.url("/interop/collaudo/token.oauth2"));

    let summary = run_script(
        "dpop_flow.py",
        vec![
            ("token-url", cfg.token_url.clone()),
            ("jwks-url", cfg.jwks_url.clone()),
            ("audience", cfg.client_assertion_audience.clone()),
            ("client-id", client.id.to_string()),
            ("kid", key.kid.clone()),
            ("private-key", key.private_path.display().to_string()),
            ("expect-iss", cfg.issuer.clone()),
            ("expect-aud", cfg.m2m_audience.clone()),
            ("api-url", app.url("/interop/collaudo/api/v3/eservices?offset=0&limit=5")),
            ("wrong-htu", app.url("/interop/produzione/token.oauth2")),
        ],
    )
    .await;
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["tokenType"], "DPoP");
    assert_eq!(summary["voucherClaims"]["cnf"]["jkt"], summary["jkt"]);
    assert!(summary["v3Results"].as_u64().unwrap() >= 1, "{summary}");
    for refusal in ["wrongHtu", "reusedProof"] {
        assert_eq!(summary["tokenRefusals"][refusal]["code"], "015-0008", "{refusal}: {summary}");
    }
    let (title, code) = crate::common::api_problem_title_and_code(401);
    for refusal in ["replayed", "otherUrl", "noAth"] {
        let r = &summary["v3Refusals"][refusal];
        assert_eq!((r["title"].as_str(), r["code"].as_str()), (Some(title), Some(code)), "{refusal}: {summary}");
    }
});
