//! SelfCare's rows (migrations 0002 and 0004): institutions, people
//! (`sc_users`), their roles and the mail outbox.
//!
//! What the rows mean is varco-selfcare's business: here they cross as plain
//! documents (the model value as JSON) with their ids and versions, so this
//! crate needs nothing of SelfCare's model. A change is an optimistic update
//! (`version` column) and fails with [`StoreError::Conflict`] when the row moved;
//! a uniqueness rule of the schema fails with [`StoreError::Duplicate`]. Both
//! name the table, so the caller can word them.
//!
//! Whatever changes several rows goes through one [`ScTx`], with the mail that
//! announces it queued in the same transaction. The outbox's delivery is the
//! exception: each of its writes is one statement that writes first, in its own
//! short transaction, so two senders racing for a mail never both take it.
use crate::{map_unique, Result, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

/// A stored document with the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRow {
    pub doc: String,
    pub version: i64,
}

/// A stored role: its id (the model has none), document and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub id: String,
    pub doc: String,
    pub version: i64,
}

/// A role to insert: the document plus the columns the schema filters and
/// enforces uniqueness on (wire names, as in the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoleRow {
    pub id: String,
    pub user_id: String,
    pub institution_id: String,
    pub product: String,
    pub party_role: String,
    pub product_role: String,
    pub status: String,
    pub doc: String,
}

/// One queued mail and how its delivery is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub created_ms: i64,
    /// Empty until a sender delivered it.
    pub sent_ms: Option<i64>,
    /// Not taken before this time (claimed, or pausing after a failure).
    pub next_try_ms: Option<i64>,
    /// Failed attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
}

const OUTBOX_COLUMNS: &str = "seq, to_addr, subject, body, created_ms, sent_ms, next_try_ms, attempts, last_error";

/// A SelfCare write transaction. It holds the SQLite writer's turn
/// ([`Store::write_guard`]) from `BEGIN` to the end; nothing is visible to
/// others until [`ScTx::commit`], and dropping it rolls everything back.
pub struct ScTx {
    tx: sqlx::Transaction<'static, Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Store {
    /// Starts a SelfCare write transaction. SelfCare and the platform share one
    /// database, so on SQLite they take turns.
    pub async fn sc_begin(&self) -> Result<ScTx> {
        let guard = self.write_guard().await;
        let tx = self.begin_write().await?;
        Ok(ScTx { tx, _guard: guard })
    }

    /// The document of institution `id`.
    pub async fn sc_institution(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT doc FROM institutions WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| doc_of(&r)).transpose()
    }

    /// Every institution's document, by name then id.
    pub async fn sc_institutions(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT doc FROM institutions ORDER BY name, id").fetch_all(&self.pool).await?;
        rows.iter().map(doc_of).collect()
    }

    /// The institutions where the user holds a role that is not deleted, by
    /// name then id.
    pub async fn sc_institutions_of_user(&self, user_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT doc FROM institutions WHERE id IN \
             (SELECT institution_id FROM user_roles WHERE user_id = $1 AND status <> 'DELETED') \
             ORDER BY name, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(doc_of).collect()
    }

    /// The document of person `id`.
    pub async fn sc_user(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT doc FROM sc_users WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| doc_of(&r)).transpose()
    }

    /// The document of the person with that fiscal code.
    pub async fn sc_user_by_fiscal_code(&self, fiscal_code: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT doc FROM sc_users WHERE fiscal_code = $1")
            .bind(fiscal_code)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| doc_of(&r)).transpose()
    }

    /// Every role (deleted ones included) of a person at an institution, in no
    /// particular order.
    pub async fn sc_roles_of(&self, user_id: &str, institution_id: &str) -> Result<Vec<RoleRow>> {
        roles_of(&self.pool, user_id, institution_id).await
    }

    pub async fn sc_role(&self, id: &str) -> Result<Option<RoleRow>> {
        role(&self.pool, id).await
    }

    /// The documents of the people holding a role that is not deleted at an
    /// institution, each once, in no particular order.
    pub async fn sc_member_docs(&self, institution_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT u.id AS id, u.doc AS doc FROM sc_users u JOIN user_roles r ON r.user_id = u.id \
             WHERE r.institution_id = $1 AND r.status <> 'DELETED'",
        )
        .bind(institution_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(doc_of).collect()
    }

    /// Queued mails, oldest first; only the unsent ones if `unsent_only`.
    pub async fn outbox_rows(&self, unsent_only: bool) -> Result<Vec<OutboxRow>> {
        let sql = if unsent_only {
            format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE sent_ms IS NULL ORDER BY seq")
        } else {
            format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox ORDER BY seq")
        };
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(outbox_row).collect()
    }

    pub async fn outbox_row(&self, seq: i64) -> Result<Option<OutboxRow>> {
        let row = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE seq = $1"))
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_row).transpose()
    }

    /// At most `limit` unsent mails, oldest first, due or not.
    pub async fn outbox_unsent(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE sent_ms IS NULL ORDER BY seq LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// Claims the oldest unsent mail due at `now_ms`: nobody else takes it before
    /// `now_ms + lease_ms`. The claim is a conditional update, so of two senders
    /// racing for a row exactly one wins and the other moves on to the next row.
    /// Returns the row as claimed; `None` when nothing is due.
    pub async fn outbox_claim_due(&self, now_ms: i64, lease_ms: i64) -> Result<Option<OutboxRow>> {
        loop {
            let Some(row) = sqlx::query(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM mail_outbox \
                 WHERE sent_ms IS NULL AND (next_try_ms IS NULL OR next_try_ms <= $1) ORDER BY seq LIMIT 1"
            ))
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?
            else {
                return Ok(None);
            };
            let mut found = outbox_row(&row)?;
            let mut tx = self.sc_begin().await?;
            let done = sqlx::query(
                "UPDATE mail_outbox SET next_try_ms = $1 \
                 WHERE seq = $2 AND sent_ms IS NULL AND (next_try_ms IS NULL OR next_try_ms <= $3)",
            )
            .bind(now_ms + lease_ms)
            .bind(found.seq)
            .bind(now_ms)
            .execute(&mut *tx.tx)
            .await?;
            tx.commit().await?;
            if done.rows_affected() == 1 {
                found.next_try_ms = Some(now_ms + lease_ms);
                return Ok(Some(found));
            }
        }
    }

    /// Records that mail `seq` was delivered. `false` if it already was marked
    /// sent (by another sender whose lease had run out).
    pub async fn outbox_mark_sent(&self, seq: i64, now_ms: i64) -> Result<bool> {
        let mut tx = self.sc_begin().await?;
        let done = sqlx::query(
            "UPDATE mail_outbox SET sent_ms = $1, next_try_ms = NULL, last_error = NULL \
             WHERE seq = $2 AND sent_ms IS NULL",
        )
        .bind(now_ms)
        .bind(seq)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt at mail `seq`: one more attempt, `error` kept,
    /// due again at `retry_at_ms`. Nothing happens to a mail already sent.
    pub async fn outbox_mark_failed(&self, seq: i64, retry_at_ms: i64, error: &str) -> Result<()> {
        let mut tx = self.sc_begin().await?;
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_try_ms = $2 \
             WHERE seq = $3 AND sent_ms IS NULL",
        )
        .bind(error)
        .bind(retry_at_ms)
        .bind(seq)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes every unsent mail due at `at_ms` (an operator's "retry now", or a
    /// test that will not wait out a pause); returns how many there were.
    pub async fn outbox_due_at(&self, at_ms: i64) -> Result<u64> {
        let mut tx = self.sc_begin().await?;
        let done = sqlx::query("UPDATE mail_outbox SET next_try_ms = $1 WHERE sent_ms IS NULL")
            .bind(at_ms)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

impl ScTx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Stores a new institution at version 1; `Duplicate("institutions")` if its
    /// id or tax code is taken.
    pub async fn insert_institution(&mut self, id: &str, tax_code: &str, name: &str, doc: &str) -> Result<()> {
        sqlx::query("INSERT INTO institutions (id, tax_code, name, doc, version) VALUES ($1, $2, $3, $4, 1)")
            .bind(id)
            .bind(tax_code)
            .bind(name)
            .bind(doc)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| map_unique(e, "institutions"))?;
        Ok(())
    }

    pub async fn institution(&mut self, id: &str) -> Result<Option<DocRow>> {
        let row = sqlx::query("SELECT doc, version FROM institutions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| doc_row(&r)).transpose()
    }

    /// Replaces an institution read at `version`; `Conflict("institutions")` if
    /// it changed since.
    pub async fn update_institution(&mut self, id: &str, name: &str, doc: &str, version: i64) -> Result<()> {
        let done =
            sqlx::query("UPDATE institutions SET name = $1, doc = $2, version = $3 WHERE id = $4 AND version = $5")
                .bind(name)
                .bind(doc)
                .bind(version + 1)
                .bind(id)
                .bind(version)
                .execute(&mut *self.tx)
                .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("institutions"));
        }
        Ok(())
    }

    pub async fn user(&mut self, id: &str) -> Result<Option<DocRow>> {
        let row = sqlx::query("SELECT doc, version FROM sc_users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| doc_row(&r)).transpose()
    }

    pub async fn user_by_fiscal_code(&mut self, fiscal_code: &str) -> Result<Option<DocRow>> {
        let row = sqlx::query("SELECT doc, version FROM sc_users WHERE fiscal_code = $1")
            .bind(fiscal_code)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| doc_row(&r)).transpose()
    }

    /// Stores a new person at version 1; `Duplicate("sc_users")` if the id or the
    /// fiscal code is taken.
    pub async fn insert_user(&mut self, id: &str, fiscal_code: &str, doc: &str) -> Result<()> {
        sqlx::query("INSERT INTO sc_users (id, fiscal_code, doc, version) VALUES ($1, $2, $3, 1)")
            .bind(id)
            .bind(fiscal_code)
            .bind(doc)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| map_unique(e, "sc_users"))?;
        Ok(())
    }

    /// Replaces a person read at `version`; `Conflict("sc_users")` if it changed.
    pub async fn update_user(&mut self, id: &str, doc: &str, version: i64) -> Result<()> {
        let done = sqlx::query("UPDATE sc_users SET doc = $1, version = $2 WHERE id = $3 AND version = $4")
            .bind(doc)
            .bind(version + 1)
            .bind(id)
            .bind(version)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("sc_users"));
        }
        Ok(())
    }

    /// As [`Store::sc_roles_of`], inside the transaction.
    pub async fn roles_of(&mut self, user_id: &str, institution_id: &str) -> Result<Vec<RoleRow>> {
        roles_of(&mut *self.tx, user_id, institution_id).await
    }

    pub async fn role(&mut self, id: &str) -> Result<Option<RoleRow>> {
        role(&mut *self.tx, id).await
    }

    /// Stores a new role at version 1; `Duplicate("user_roles")` if the person
    /// already holds that live role (or the id is taken).
    pub async fn insert_role(&mut self, role: &NewRoleRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_roles \
             (id, user_id, institution_id, product, party_role, product_role, status, doc, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
        )
        .bind(&role.id)
        .bind(&role.user_id)
        .bind(&role.institution_id)
        .bind(&role.product)
        .bind(&role.party_role)
        .bind(&role.product_role)
        .bind(&role.status)
        .bind(&role.doc)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| map_unique(e, "user_roles"))?;
        Ok(())
    }

    /// Gives a role read at `version` a new status and document;
    /// `Conflict("user_roles")` if it changed since, `Duplicate("user_roles")` if
    /// the new status makes it a second live copy of a role.
    pub async fn update_role(&mut self, id: &str, status: &str, doc: &str, version: i64) -> Result<()> {
        let done =
            sqlx::query("UPDATE user_roles SET status = $1, doc = $2, version = $3 WHERE id = $4 AND version = $5")
                .bind(status)
                .bind(doc)
                .bind(version + 1)
                .bind(id)
                .bind(version)
                .execute(&mut *self.tx)
                .await
                .map_err(|e| map_unique(e, "user_roles"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("user_roles"));
        }
        Ok(())
    }

    /// Queues a mail, to be sent once (and only if) the transaction commits.
    pub async fn queue_mail(&mut self, to: &str, subject: &str, body: &str, created_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO mail_outbox (to_addr, subject, body, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(to)
            .bind(subject)
            .bind(body)
            .bind(created_ms)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

async fn roles_of<'e, E>(ex: E, user_id: &str, institution_id: &str) -> Result<Vec<RoleRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT id, doc, version FROM user_roles WHERE user_id = $1 AND institution_id = $2")
        .bind(user_id)
        .bind(institution_id)
        .fetch_all(ex)
        .await?;
    rows.iter().map(role_row).collect()
}

async fn role<'e, E>(ex: E, id: &str) -> Result<Option<RoleRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT id, doc, version FROM user_roles WHERE id = $1").bind(id).fetch_optional(ex).await?;
    row.map(|r| role_row(&r)).transpose()
}

fn doc_of(r: &AnyRow) -> Result<String> {
    Ok(r.try_get("doc")?)
}

fn doc_row(r: &AnyRow) -> Result<DocRow> {
    Ok(DocRow { doc: r.try_get("doc")?, version: r.try_get("version")? })
}

fn role_row(r: &AnyRow) -> Result<RoleRow> {
    Ok(RoleRow { id: r.try_get("id")?, doc: r.try_get("doc")?, version: r.try_get("version")? })
}

fn outbox_row(r: &AnyRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        seq: r.try_get("seq")?,
        to_addr: r.try_get("to_addr")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        created_ms: r.try_get("created_ms")?,
        sent_ms: r.try_get("sent_ms")?,
        next_try_ms: r.try_get("next_try_ms")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
    })
}
