//! Varco's storage: one database (SQLite by default, PostgreSQL for several replicas)
//! holding every environment's aggregates and the event log.
//!
//! Aggregates are stored whole, as JSON documents, with the few columns we filter on
//! copied beside them; a change is an optimistic update (version column) plus one
//! appended event, in one transaction. The same SQL runs on both backends through
//! sqlx's `Any` driver; only the migrations differ.

mod aggregate;
mod at_rest;
mod audit;
mod query;
mod selfcare;
mod sessions;
mod signing;

pub use aggregate::Aggregate;
pub use at_rest::{KeyEncryptionKey, PrivatePem};
pub use audit::{AuditSink, VoucherAuditRow};
pub use query::{Cond, Query};
pub use selfcare::{DocRow, NewRoleRow, OutboxRow, RoleRow, ScTx};
pub use sessions::SessionRow;
pub use signing::SigningKeyRow;

use chrono::{TimeZone, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;
use varco_domain::event::{Actor, AggregateKind, Event, NewEvent};
use varco_domain::{Env, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt document in {table}: {error}")]
    Corrupt { table: &'static str, error: String },
    /// The aggregate's document would be larger than `MAX_DOC_BYTES`: refused before
    /// anything is written (the services bound each field well below this).
    #[error("the {kind} would take {bytes} bytes, more than the {max} allowed", max = MAX_DOC_BYTES)]
    TooLarge { kind: &'static str, bytes: usize },
    /// A text holds U+0000, which PostgreSQL cannot store: refused on both backends.
    #[error("a text of the {kind} holds the NUL character (U+0000)")]
    Nul { kind: &'static str },
    /// Someone else changed the aggregate since we read it; the caller may retry.
    #[error("{0} was changed concurrently, retry")]
    Conflict(&'static str),
    /// A uniqueness rule of the schema was hit (e.g. a kid already registered).
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("unsupported database URL {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    /// The private keys at rest cannot be read with the key-encryption key given
    /// (or none was given for encrypted keys); the message says which and why.
    #[error("{0}")]
    KeysAtRest(String),
    /// A signing key named by an operator is not there (or no longer usable).
    #[error("{0}")]
    SigningKey(String),
}

/// The log filter that keeps the database driver's own chatter (every statement)
/// out of the default log; the binary adds it to its filter.
pub const QUIET_LOG_FILTER: &str = "sqlx=warn";

/// The migration files, embedded by `build.rs`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The schema's migrations for `backend`, as sqlx's `migrate!` would make them
/// (same versions, descriptions and checksums, so databases migrated before
/// are recognised).
fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    let files = match backend {
        Backend::Sqlite => embedded::SQLITE,
        Backend::Postgres => embedded::POSTGRES,
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            sqlx::migrate::Migration::new(
                version,
                description.into(),
                sqlx::migrate::MigrationType::Simple,
                sql.into(),
                false,
            )
        })
        .collect::<Vec<_>>();
    // The fields are public for `migrate!`; sqlx is pinned in Cargo.lock.
    sqlx::migrate::Migrator { migrations: migrations.into(), ignore_missing: false, locking: true, no_tx: false }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time; taking this lock before `BEGIN` avoids
    /// two in-process transactions deadlocking on the upgrade to a write lock.
    write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The key the private keys are sealed with at rest, if the operator gave one.
    kek: Option<Arc<KeyEncryptionKey>>,
}

/// An aggregate together with the version it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date,
    /// with no key-encryption key: private keys are stored in plaintext, and a
    /// database whose keys are encrypted is refused.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::open(url, None).await
    }

    /// Opens the database as [`Store::connect`] does, with the private keys sealed
    /// under `kek` when one is given: keys stored in plaintext before are encrypted
    /// now, in one transaction, and every stored key is checked to open with it, so a
    /// wrong key stops here, before anything is read or made. A SQLite file is
    /// created readable and writable by its owner only (so are its `-wal` and
    /// `-shm` files, which SQLite creates with the database file's mode).
    pub async fn open(url: &str, kek: Option<KeyEncryptionKey>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let mut opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            opts = opts.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers go on while one writer commits; NORMAL sync is
                    // durable across process crashes, which is what we need here.
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    Ok(())
                })
            });
        } else {
            opts = opts.max_connections(16);
        }
        if backend == Backend::Sqlite {
            at_rest::sqlite_file_modes(url);
        }
        let pool = opts.connect(url).await?;
        migrator(backend).run(&pool).await?;
        let store = Store {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(()))),
            kek: kek.map(Arc::new),
        };
        store.keys_at_rest().await?;
        Ok(store)
    }

    /// Whether private keys are sealed at rest by this handle (a key-encryption key
    /// was given).
    pub fn encrypts_keys(&self) -> bool {
        self.kek.is_some()
    }

    pub(crate) fn kek(&self) -> Option<&KeyEncryptionKey> {
        self.kek.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// On SQLite, the one in-process writer's turn: every transaction that reads
    /// then writes (here, in SelfCare, the session rows) holds it, so none fails
    /// upgrading a stale read snapshot to a write. `None` on PostgreSQL.
    pub async fn write_guard(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(l) => Some(l.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a write transaction. On SQLite it takes the database's write lock
    /// at once (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a transaction
    /// that first reads and later writes would otherwise fail at once with
    /// "database is locked" whenever another connection (the audit writer, another
    /// process) committed in between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Starts a write transaction in `env` on behalf of `actor`.
    pub async fn begin(&self, env: Env, actor: Actor) -> Result<Tx> {
        let guard = self.write_guard().await;
        let tx = self.begin_write().await?;
        Ok(Tx { tx, env, actor, events: Vec::new(), kek: self.kek.clone(), backend: self.backend, _guard: guard })
    }

    pub async fn get<T: Aggregate>(&self, env: Env, id: &str) -> Result<Option<Versioned<T>>> {
        let sql = format!("SELECT doc, version FROM {} WHERE env = $1 AND id = $2", T::TABLE);
        let row = sqlx::query(&sql).bind(env.slug()).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| decode_versioned::<T>(&r)).transpose()
    }

    /// Lists aggregates whose indexed columns equal the given values (all of them).
    pub async fn list<T: Aggregate>(&self, env: Env, filter: &[(&str, &str)]) -> Result<Vec<T>> {
        let (sql, binds) = list_sql::<T>(env, filter);
        if has_nul(&binds) {
            return Ok(vec![]);
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|r| decode_versioned::<T>(r).map(|v| v.value)).collect()
    }

    /// Every aggregate of a kind in an environment (used to build in-memory views).
    pub async fn all<T: Aggregate>(&self, env: Env) -> Result<Vec<T>> {
        self.list::<T>(env, &[]).await
    }

    /// Events with a sequence number above `after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, env, aggregate_kind, aggregate_id, event_type, actor, at_ms, payload \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_event).collect()
    }

    /// Events above `after`, and those of the sequence numbers in `also` (at most
    /// 500: numbers below `after` not seen yet), oldest first. Only these rows are
    /// read and decoded, so following the log costs what is new.
    pub async fn events_after_or_in(&self, after: i64, also: &[i64], limit: i64) -> Result<Vec<Event>> {
        let also = &also[..also.len().min(500)];
        let mut sql = String::from(
            "SELECT seq, env, aggregate_kind, aggregate_id, event_type, actor, at_ms, payload FROM events WHERE seq > $1",
        );
        if !also.is_empty() {
            let list: Vec<String> = (0..also.len()).map(|i| format!("${}", i + 3)).collect();
            sql.push_str(&format!(" OR seq IN ({})", list.join(", ")));
        }
        sql.push_str(" ORDER BY seq LIMIT $2");
        let mut q = sqlx::query(&sql).bind(after).bind(limit);
        for seq in also {
            q = q.bind(*seq);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(decode_event).collect()
    }

    /// The events of one aggregate, oldest first: its audit trail.
    pub async fn events_of(&self, env: Env, kind: AggregateKind, id: &str) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, env, aggregate_kind, aggregate_id, event_type, actor, at_ms, payload \
             FROM events WHERE env = $1 AND aggregate_kind = $2 AND aggregate_id = $3 ORDER BY seq",
        )
        .bind(env.slug())
        .bind(kind.as_str())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_event).collect()
    }

    pub async fn last_event_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM events").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("m")?)
    }

    /// The bytes of a version's interface file, if it has one.
    pub async fn interface_file(&self, env: Env, descriptor_id: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes FROM interface_files WHERE env = $1 AND descriptor_id = $2")
            .bind(env.slug())
            .bind(descriptor_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>("bytes")).transpose()?)
    }

    /// Which client holds a kid in an environment, if any.
    pub async fn client_of_kid(&self, env: Env, kid: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT client_id FROM client_keys WHERE env = $1 AND kid = $2")
            .bind(env.slug())
            .bind(kid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("client_id")).transpose()?)
    }
}

/// A write transaction. Every insert or update appends its event; nothing is visible
/// to others until `commit`, and dropping the transaction rolls everything back.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    env: Env,
    actor: Actor,
    events: Vec<NewEvent>,
    kek: Option<Arc<KeyEncryptionKey>>,
    backend: Backend,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub fn env(&self) -> Env {
        self.env
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub async fn get<T: Aggregate>(&mut self, id: &str) -> Result<Option<Versioned<T>>> {
        let sql = format!("SELECT doc, version FROM {} WHERE env = $1 AND id = $2", T::TABLE);
        let row = sqlx::query(&sql).bind(self.env.slug()).bind(id).fetch_optional(&mut *self.tx).await?;
        row.map(|r| decode_versioned::<T>(&r)).transpose()
    }

    pub async fn list<T: Aggregate>(&mut self, filter: &[(&str, &str)]) -> Result<Vec<T>> {
        let (sql, binds) = list_sql::<T>(self.env, filter);
        if has_nul(&binds) {
            return Ok(vec![]);
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(&mut *self.tx).await?;
        rows.iter().map(|r| decode_versioned::<T>(r).map(|v| v.value)).collect()
    }

    /// Stores a new aggregate and records `event_type`. Its document, copied into
    /// the event and read again by every replica, is at most `MAX_DOC_BYTES`.
    pub async fn insert<T: Aggregate>(&mut self, value: &T, event_type: &str) -> Result<()> {
        let cols = value.columns();
        let mut names = vec!["env", "id", "doc", "version"];
        names.extend(cols.iter().map(|(c, _)| *c));
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", T::TABLE, names.join(", "), placeholders.join(", "));
        let doc = bounded_doc(value)?;
        let mut q = sqlx::query(&sql).bind(self.env.slug()).bind(value.id()).bind(doc).bind(1i64);
        for (_, v) in &cols {
            q = q.bind(v.clone());
        }
        q.execute(&mut *self.tx).await.map_err(|e| map_unique(e, T::TABLE))?;
        self.record::<T>(value, event_type).await
    }

    /// Replaces an aggregate read at `version`; fails with `Conflict` if it changed.
    pub async fn update<T: Aggregate>(&mut self, value: &T, version: i64, event_type: &str) -> Result<()> {
        let cols = value.columns();
        let mut sets = vec!["doc = $1".to_string(), "version = $2".to_string()];
        for (i, (c, _)) in cols.iter().enumerate() {
            sets.push(format!("{c} = ${}", i + 3));
        }
        let n = cols.len() + 3;
        let sql = format!(
            "UPDATE {} SET {} WHERE env = ${} AND id = ${} AND version = ${}",
            T::TABLE,
            sets.join(", "),
            n,
            n + 1,
            n + 2
        );
        let doc = bounded_doc(value)?;
        let mut q = sqlx::query(&sql).bind(doc).bind(version + 1);
        for (_, v) in &cols {
            q = q.bind(v.clone());
        }
        let done = q
            .bind(self.env.slug())
            .bind(value.id())
            .bind(version)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| map_unique(e, T::TABLE))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(T::TABLE));
        }
        self.record::<T>(value, event_type).await
    }

    /// Removes an aggregate (e.g. a draft agreement), recording `event_type`.
    pub async fn delete<T: Aggregate>(&mut self, value: &T, version: i64, event_type: &str) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE env = $1 AND id = $2 AND version = $3", T::TABLE);
        let done =
            sqlx::query(&sql).bind(self.env.slug()).bind(value.id()).bind(version).execute(&mut *self.tx).await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(T::TABLE));
        }
        self.record::<T>(value, event_type).await
    }

    /// Serialises, until this transaction ends, every transaction that takes the
    /// same `lock` (e.g. publishing audiences: two producers must not both see one
    /// free). SQLite already has one writer at a time.
    pub async fn serialise(&mut self, lock: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            // A stable 64-bit number for the name (not Rust's hasher: it varies
            // between builds and replicas must agree).
            let n =
                lock.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(n as i64).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Stores (or replaces) a version's interface file, in this transaction: with
    /// the e-service's update that describes it, or not at all.
    pub async fn put_interface_file(
        &mut self,
        eservice_id: &str,
        descriptor_id: &str,
        sha256: &str,
        bytes: &[u8],
        at_ms: i64,
    ) -> Result<()> {
        sqlx::query("DELETE FROM interface_files WHERE env = $1 AND descriptor_id = $2")
            .bind(self.env.slug())
            .bind(descriptor_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO interface_files (env, descriptor_id, eservice_id, sha256, bytes, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.env.slug())
        .bind(descriptor_id)
        .bind(eservice_id)
        .bind(sha256)
        .bind(bytes.to_vec())
        .bind(at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Registers a kid for a client; fails with `Duplicate` if the kid is taken.
    pub async fn add_kid(&mut self, kid: &str, client_id: &str) -> Result<()> {
        sqlx::query("INSERT INTO client_keys (env, kid, client_id) VALUES ($1, $2, $3)")
            .bind(self.env.slug())
            .bind(kid)
            .bind(client_id)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| map_unique(e, "client_keys"))?;
        Ok(())
    }

    pub async fn remove_kid(&mut self, kid: &str) -> Result<()> {
        sqlx::query("DELETE FROM client_keys WHERE env = $1 AND kid = $2")
            .bind(self.env.slug())
            .bind(kid)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends an event that is not tied to an aggregate document (e.g. key rotation).
    pub async fn append(&mut self, event: NewEvent) -> Result<()> {
        let actor = serde_json::to_string(&self.actor).expect("actor serializes");
        sqlx::query(
            "INSERT INTO events (env, aggregate_kind, aggregate_id, event_type, actor, at_ms, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.env.slug())
        .bind(event.aggregate.as_str())
        .bind(event.aggregate_id.clone())
        .bind(event.event_type.clone())
        .bind(actor)
        .bind(Utc::now().timestamp_millis())
        .bind(event.payload.to_string())
        .execute(&mut *self.tx)
        .await?;
        self.events.push(event);
        Ok(())
    }

    async fn record<T: Aggregate>(&mut self, value: &T, event_type: &str) -> Result<()> {
        let payload = serde_json::to_value(value).expect("aggregates serialize");
        self.append(NewEvent {
            aggregate: T::KIND,
            aggregate_id: value.id(),
            event_type: event_type.to_string(),
            payload,
        })
        .await
    }

    pub(crate) fn kek(&self) -> Option<&KeyEncryptionKey> {
        self.kek.as_deref()
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Commits; returns the events written, so the caller can update in-process views
    /// at once instead of waiting for the feed.
    pub async fn commit(self) -> Result<Vec<NewEvent>> {
        self.tx.commit().await?;
        Ok(self.events)
    }
}

fn list_sql<T: Aggregate>(env: Env, filter: &[(&str, &str)]) -> (String, Vec<String>) {
    let mut sql = format!("SELECT doc, version FROM {} WHERE env = $1", T::TABLE);
    let mut binds = vec![env.slug().to_string()];
    for (i, (col, val)) in filter.iter().enumerate() {
        // Column names come from our own code, never from users; still, refuse
        // anything that is not a plain identifier.
        assert!(col.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "bad column {col}");
        sql.push_str(&format!(" AND {col} = ${}", i + 2));
        binds.push(val.to_string());
    }
    sql.push_str(" ORDER BY id");
    (sql, binds)
}

fn decode_versioned<T: Aggregate>(row: &AnyRow) -> Result<Versioned<T>> {
    let doc: String = row.try_get("doc")?;
    let version: i64 = row.try_get("version")?;
    let value =
        serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt { table: T::TABLE, error: e.to_string() })?;
    Ok(Versioned { value, version })
}

fn decode_event(row: &AnyRow) -> Result<Event> {
    let corrupt = |e: String| StoreError::Corrupt { table: "events", error: e };
    let env: String = row.try_get("env")?;
    let kind: String = row.try_get("aggregate_kind")?;
    let actor: String = row.try_get("actor")?;
    let payload: String = row.try_get("payload")?;
    let at_ms: i64 = row.try_get("at_ms")?;
    Ok(Event {
        seq: row.try_get("seq")?,
        env: env.parse().map_err(|e: varco_domain::env::UnknownEnv| corrupt(e.to_string()))?,
        aggregate: AggregateKind::parse(&kind).ok_or_else(|| corrupt(format!("kind {kind}")))?,
        aggregate_id: row.try_get("aggregate_id")?,
        event_type: row.try_get("event_type")?,
        actor: serde_json::from_str(&actor).map_err(|e| corrupt(e.to_string()))?,
        at: millis_to_ts(at_ms),
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?,
    })
}

pub fn millis_to_ts(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn map_unique(e: sqlx::Error, table: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate(table.to_string());
        }
    }
    StoreError::Db(e)
}

/// The largest aggregate document stored. Each change copies the whole document
/// into its event, and every replica decodes new events as it follows the log, so
/// this bounds the work any change can cause.
pub const MAX_DOC_BYTES: usize = 64 * 1024;

/// Whether a filter value holds U+0000: nothing stored does (writes refuse it), and
/// PostgreSQL cannot even compare it, so such a filter matches nothing.
pub(crate) fn has_nul(binds: &[String]) -> bool {
    binds.iter().any(|b| b.contains('\0'))
}

fn bounded_doc<T: Aggregate>(value: &T) -> Result<String> {
    // The document is JSON (where NUL is written \u0000, which PostgreSQL's text
    // takes), but its indexed columns are the texts themselves.
    if value.columns().iter().any(|(_, v)| v.as_deref().is_some_and(|v| v.contains('\0'))) {
        return Err(StoreError::Nul { kind: T::KIND.as_str() });
    }
    let doc = serde_json::to_string(value).expect("aggregates serialize");
    if doc.len() > MAX_DOC_BYTES {
        return Err(StoreError::TooLarge { kind: T::KIND.as_str(), bytes: doc.len() });
    }
    Ok(doc)
}
