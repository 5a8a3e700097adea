//! The server part of Varco's test kit: a real Varco on a free loopback port, on a
//! fresh database of `varco_testkit` (SQLite in a temporary directory, or a new
//! PostgreSQL database), for black-box tests. The database goes when the
//! [`TestApp`] does.
//!
//! This is a module of the library (not `#[cfg(test)]`) because the integration
//! tests link the library as it is normally built; so `varco-testkit` is a normal
//! dependency of `varco`, although only the tests use it.
use crate::app::{self, KeySource, Options, Running};

pub use varco_testkit::{pg_admin_url, Backend, TestDb};

pub struct TestApp {
    pub running: Running,
    pub http: reqwest::Client,
    /// The server's database (and data directory); `db.url` is its URL, and
    /// `db.execute`/`strings`/`count` reach past the store when a test must.
    pub db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The HTTP server stops at the runtime's next turn; the database is dropped
        // right after this (field `db`), ending the connections still open, which
        // the pools and the background tasks then no longer use.
        self.running.server.abort();
    }
}

/// Starts Varco with the demo world.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Options)) -> TestApp {
    let db = TestDb::new(backend).await;
    let mut opts = options_on(&db);
    tweak(&mut opts);
    let running = app::start(opts).await.expect("varco starts");
    TestApp { running, http: reqwest::Client::new(), db }
}

/// What the test servers run with on `db` (for a test that starts its own).
pub fn options_on(db: &TestDb) -> Options {
    Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: db.dir().to_path_buf(),
        database_url: Some(db.url.clone()),
        public_url: None,
        demo: true,
        rate_limit: 450,
        api_rate_limit: 450,
        audit_retention_days: None,
        serve: crate::serve::ServeLimits::default(),
        hardened: false,
        production: false,
        key_encryption_key: None,
        smtp_url: None,
        mail_from: "Area Riservata <noreply@varco.localhost>".into(),
        oidc: None,
        keys: KeySource::SharedForTests,
        // The system clock unless a test sets its own (`spawn_app_with`).
        clock: varco_domain::clock::Clock::system(),
    }
}

/// A second Varco on the same database, as another replica (or another process)
/// would be: its own platform, token view and port, the same public URL. It learns
/// of the first one's changes only from the event log, and the first of its.
pub struct Replica {
    pub running: Running,
}

impl TestApp {
    pub async fn replica(&self) -> Replica {
        let mut opts = options_on(&self.db);
        opts.demo = false;
        opts.public_url = Some(self.running.base_url.clone());
        Replica { running: app::start(opts).await.expect("the replica starts") }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.running.server.abort();
    }
}

/// Declares one test per backend: `both_backends!(name, |backend| async move { ... })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::testkit::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::testkit::Backend::Postgres).await
            }
        }
    };
}
