//! The README's walk with the real `varco` binary: serve, then the operator and
//! client-side commands, ending with a voucher; on the default embedded SQLite (the
//! README's commands as written) and on PostgreSQL (`VARCO_DATABASE_URL`). Also: a
//! voucher is never issued when its audit record cannot be stored.
use std::path::Path;
use std::process::{Command, Stdio};
use varco::both_backends;
use varco::testkit::{spawn_app, Backend, TestDb};

const VARCO: &str = env!("CARGO_BIN_EXE_varco");

/// Where the walk runs: its directory, the server's URL, and the database (None:
/// the default `./varco-data` of that directory, as the README's commands have it).
struct Walk<'a> {
    dir: &'a Path,
    url: String,
    database_url: Option<String>,
}

impl Walk<'_> {
    fn command(&self) -> Command {
        let mut c = Command::new(VARCO);
        c.current_dir(self.dir).env("VARCO_PUBLIC_URL", &self.url);
        match &self.database_url {
            Some(db) => c.env("VARCO_DATABASE_URL", db),
            None => c.env_remove("VARCO_DATABASE_URL"),
        };
        c
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().expect("varco runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (success, stdout, stderr) = self.run(args);
        assert!(success, "varco {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

both_backends!(readme_walk_gives_api_and_send_vouchers_and_debug_explains_refusals, |backend| async move {
    // PostgreSQL: a database of its own; SQLite: the default place, as in the README.
    let pg = match backend {
        Backend::Postgres => Some(TestDb::new(backend).await),
        Backend::Sqlite => None,
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let w = Walk { dir: dir.path(), url: format!("http://{listen}"), database_url: pg.as_ref().map(|d| d.url.clone()) };
    let _server = Server(
        w.command()
            .env_remove("VARCO_PUBLIC_URL")
            .args(["serve", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("varco serve starts"),
    );
    // Ready once it answers over HTTP: it seeds the demo world before serving (the
    // port is bound earlier, so a connection alone says nothing).
    let start = std::time::Instant::now();
    let jwks = format!("{}/interop/collaudo/.well-known/jwks.json", w.url);
    while !reqwest::get(&jwks).await.is_ok_and(|r| r.status().is_success()) {
        assert!(start.elapsed().as_secs() < 30, "varco serve did not start serving");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // API client voucher.
    w.ok(&["key", "generate", "--out", "comune"]);
    let api = w.ok(&[
        "client",
        "create-api",
        "--env",
        "collaudo",
        "--tenant",
        "Comune di Prova",
        "--public-key",
        "comune.rsa.pub",
    ]);
    std::fs::write(w.dir.join("api-client.json"), &api).unwrap();
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["role"], "m2m-admin");
    let assertion = w.ok(&["assertion", "build", "--key", "comune.rsa.priv", "--from", "api-client.json"]);
    std::fs::write(w.dir.join("api-assertion.jwt"), &assertion).unwrap();
    // No pause: the server must see the client the CLI just created.
    let voucher = w.ok(&["voucher", "get", "--from", "api-client.json", "--assertion", "@api-assertion.jwt"]);
    let voucher: serde_json::Value = serde_json::from_str(&voucher).unwrap();
    assert_eq!(voucher["token_type"], "Bearer");
    assert_eq!(voucher["expires_in"], 600);

    // SEND - UAT voucher.
    w.ok(&["key", "generate", "--out", "send"]);
    let send = w.ok(&[
        "demo",
        "setup-consumer",
        "--env",
        "collaudo",
        "--tenant",
        "Comune di Prova",
        "--public-key",
        "send.rsa.pub",
    ]);
    std::fs::write(w.dir.join("send-client.json"), &send).unwrap();
    let assertion = w.ok(&["assertion", "build", "--key", "send.rsa.priv", "--from", "send-client.json"]);
    std::fs::write(w.dir.join("send-assertion.jwt"), &assertion).unwrap();
    let voucher = w.ok(&["voucher", "get", "--from", "send-client.json", "--assertion", "@send-assertion.jwt"]);
    let voucher: serde_json::Value = serde_json::from_str(&voucher).unwrap();
    assert_eq!(voucher["expires_in"], 3600);

    // The debug tool accepts it in Collaudo and explains the refusal in Produzione.
    let report = w.ok(&["assertion", "debug", "--env", "collaudo", "--assertion", "@send-assertion.jwt"]);
    assert!(report.contains("\"valid\": true"), "{report}");
    let (success, report, _) =
        w.run(&["assertion", "debug", "--env", "produzione", "--assertion", "@send-assertion.jwt"]);
    assert!(!success);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["reason"], "invalidAudience");

    // A key file is never overwritten.
    let (success, _, stderr) = w.run(&["key", "generate", "--out", "send"]);
    assert!(!success && stderr.contains("send.rsa.priv"), "{stderr}");
    // Bad input to the CLI: a clear message, no panic.
    let (success, _, stderr) = w.run(&[
        "client",
        "create-api",
        "--env",
        "collaudo",
        "--tenant",
        "Comune di Prova",
        "--public-key",
        "comune.rsa.priv",
    ]);
    assert!(!success && stderr.contains("chiave pubblica non valida"), "{stderr}");
    let (success, _, stderr) = w.run(&[
        "client",
        "create-api",
        "--env",
        "collaudo",
        "--tenant",
        "Comune Inesistente",
        "--public-key",
        "comune.rsa.pub",
    ]);
    assert!(!success && stderr.contains("non trovato"), "{stderr}");
    let (success, _, stderr) =
        w.run(&["client", "create-api", "--env", "staging", "--tenant", "x", "--public-key", "comune.rsa.pub"]);
    assert!(!success && stderr.contains("unknown environment"), "{stderr}");
});

both_backends!(no_voucher_without_its_audit_record, |backend| async move {
    let app = spawn_app(backend).await;
    let platform = &app.running.platform;
    let key = varco_jose::RsaPrivateKey::generate_2048();
    let setup = varco::cli::setup_consumer(
        platform,
        varco_domain::Env::Collaudo,
        "Comune di Prova",
        "SEND - UAT (Piattaforma Notifiche)",
        &key.public_key().to_pem(),
        100,
    )
    .await
    .unwrap();
    let assertion = varco_jose::build_client_assertion(
        &varco_jose::AssertionParams {
            kid: setup["kid"].as_str().unwrap().into(),
            client_id: setup["clientId"].as_str().unwrap().into(),
            audience: setup["clientAssertionAudience"].as_str().unwrap().into(),
            purpose_id: Some(setup["purposeId"].as_str().unwrap().into()),
            digest: None,
            lifetime_secs: 600,
            iat: chrono::Utc::now().timestamp(),
            jti: None,
        },
        &key,
    );
    let form = [
        ("client_assertion", assertion.as_str()),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("grant_type", "client_credentials"),
    ];
    let token_url = app.url("/interop/collaudo/token.oauth2");
    let r = app.http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Make the audit table unwritable: the next voucher must not be issued.
    app.db.execute("DROP TABLE voucher_audit").await;
    let r = app.http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.get("access_token").is_none());
    assert_eq!(body["status"], 500);
    assert!(body["correlationId"].as_str().is_some());
});
