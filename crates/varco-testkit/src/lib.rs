//! The database part of Varco's test kit: a fresh database per test, on SQLite (in
//! a temporary directory) or on PostgreSQL (a new database on the test server),
//! removed when the test ends, plus raw SQL for the few tests that must reach past
//! the store (to age a row, or to break a table on purpose).
//!
//! It sits beside `varco-store` rather than above it, so that the store's own tests,
//! SelfCare's and the binary's can all use it; the server part (a real Varco on a
//! loopback port) is `varco::testkit`, which builds on this one.
//!
//! This and `varco-store` are the only crates that name sqlx.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

/// The PostgreSQL server the tests use: `$VARCO_TEST_PG_URL`, or the CI machine's
/// (trust authentication, database `test`).
pub fn pg_admin_url() -> String {
    std::env::var("VARCO_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that exists for as long as this value lives. Dropping it removes the
/// PostgreSQL database (connections still open are ended) or the SQLite directory.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    dir: tempfile::TempDir,
}

impl TestDb {
    /// A fresh, empty database.
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::in_dir(backend, dir).await
    }

    /// A fresh database whose SQLite file (if any) lives in `dir`, which the
    /// `TestDb` then owns (a server's data directory, for instance).
    pub async fn in_dir(backend: Backend, dir: tempfile::TempDir) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("varco.db").display());
                TestDb { url, backend, pg_name: None, dir }
            }
            Backend::Postgres => {
                let name = format!("varco_test_{}", uuid::Uuid::new_v4().simple());
                admin_exec(&format!("CREATE DATABASE {name}")).await;
                let admin = pg_admin_url();
                let (base, _) = admin.rsplit_once('/').expect("database URL has a path");
                TestDb { url: format!("{base}/{name}"), backend, pg_name: Some(name), dir }
            }
        }
    }

    /// The directory the test may use for its files (the SQLite database is there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one raw statement on this database; for tests that age or break rows
    /// on purpose. Returns the number of rows affected.
    pub async fn execute(&self, sql: &str) -> u64 {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.expect("connect to the test database");
        let done = sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        done.rows_affected()
    }

    /// The first column of every row of `sql`, as text (cast in SQL if needed).
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.expect("connect to the test database");
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        rows.iter().map(|r| r.try_get::<String, _>(0).unwrap_or_else(|e| panic!("{sql}: {e}"))).collect()
    }

    /// `SELECT COUNT(*) ...` as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.expect("connect to the test database");
        let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        row.try_get::<i64, _>(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on; a
        // thread with a runtime of its own does the (quick) DROP and is joined.
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let done = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(admin_exec(&sql))
        })
        .join();
        if done.is_err() && !std::thread::panicking() {
            panic!("could not drop the test database {name}");
        }
    }
}

async fn admin_exec(sql: &str) {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is needed by the tests at {admin}: {e}"));
    sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}
