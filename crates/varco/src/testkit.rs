//! Starts a real Varco on a free loopback port, on SQLite (a temporary directory) or
//! on PostgreSQL (a fresh database), for black-box tests.
use crate::app::{self, Options, Running};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests use (trust auth on the CI machines).
pub fn pg_admin_url() -> String {
    std::env::var("VARCO_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestApp {
    pub running: Running,
    pub database_url: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url, path)
    }
}

/// A fresh, empty database URL for `backend`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("varco.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is needed by the tests at {admin}: {e}"));
            let name = format!("varco_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
            let (base, _) = admin.rsplit_once('/').expect("database URL has a path");
            format!("{base}/{name}")
        }
    }
}

/// Starts Varco with the demo world.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Options)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let mut opts = Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        public_url: None,
        demo: true,
        rate_limit: 450,
        hardened: false,
        production: false,
        smtp_url: None,
        mail_from: "Area Riservata <noreply@varco.localhost>".into(),
        oidc: None,
    };
    tweak(&mut opts);
    let running = app::start(opts).await.expect("varco starts");
    TestApp { running, database_url, http: reqwest::Client::new(), _dir: dir }
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
