//! SelfCare persistence: institutions, users, their roles and the mails those
//! changes send, stored in Varco's database.
//!
//! The rules live in [`crate::rules`] and [`crate::model`]; this module only
//! loads what they need, runs them and writes the outcome. Every operation
//! that changes something does it in one transaction together with the mail
//! it announces (queued in `mail_outbox`), so a refused or failed operation
//! leaves neither data nor mail behind.
//!
//! Plain SQL with `$N` placeholders through sqlx's `Any` driver, so the same
//! statements run on SQLite and PostgreSQL (see the 0002 migrations).

use chrono::Utc;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;
use varco_store::Store;

use crate::codice_fiscale::CodiceFiscale;
use crate::model::{self, Institution, PartyRole, ProductId, ProductRole, RoleStatus, User, UserProductRole};
use crate::rules::{self, FieldErrors, NewUserForm, TransitionError};

pub const NEW_ROLE_SUBJECT: &str = "Hai un nuovo ruolo per un prodotto PagoPA";
pub const SUSPENDED_SUBJECT: &str = "Il tuo ruolo per un prodotto PagoPA è stato sospeso";
pub const REACTIVATED_SUBJECT: &str = "Il tuo ruolo per un prodotto PagoPA è stato riattivato";
pub const DELETED_SUBJECT: &str = "Il tuo ruolo per un prodotto PagoPA è stato rimosso";

/// A stored role: the model has no id of its own, but suspend/reactivate/delete
/// must name exactly one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub id: Uuid,
    pub role: UserProductRole,
}

/// One queued mail. `sent_ms` stays empty until a sender delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub seq: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_ms: i64,
    pub sent_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("corrupt document in {table}: {error}")]
    Corrupt { table: &'static str, error: String },
    #[error("{0} non trovato")]
    NotFound(&'static str),
    #[error("{}", rules::FORBIDDEN_MESSAGE)]
    Forbidden,
    #[error("{0}")]
    Transition(#[from] TransitionError),
    /// Nobody suspends, reactivates or removes their own roles: an
    /// Amministratore who did could leave the Ente with nobody to manage users.
    #[error("non puoi sospendere, riabilitare o rimuovere i tuoi ruoli: chiedilo a un altro Amministratore dell'ente")]
    OwnRole,
    /// A uniqueness rule of the schema was hit (tax code, fiscal code, or a
    /// live role given twice by concurrent requests).
    #[error("già esistente: {0}")]
    Duplicate(&'static str),
    /// Someone else changed the row since it was read; the caller may retry.
    #[error("{0} modificato da un'altra richiesta, riprovare")]
    Conflict(&'static str),
}

/// "Crea Utente" can be refused by the rules (shown on the form, field by
/// field, or as 403 per [`FieldErrors::kind`]) or fail for other reasons.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("{0}")]
    Rejected(FieldErrors),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for AddUserError {
    fn from(e: sqlx::Error) -> Self {
        AddUserError::Service(e.into())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// The SelfCare service over a [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct SelfCare {
    store: Store,
}

type Tx = Transaction<'static, Any>;

struct WriteTx {
    tx: Tx,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl SelfCare {
    pub fn new(store: Store) -> Self {
        SelfCare { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn begin(&self) -> Result<WriteTx> {
        // The platform's writer lock: SelfCare and platform transactions share
        // one database, so on SQLite they must take turns.
        let guard = self.store.write_guard().await;
        let tx = self.store.pool().begin().await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Stores a new institution as given (its onboardings included).
    pub async fn create_institution(&self, institution: &Institution) -> Result<Institution> {
        let mut w = self.begin().await?;
        sqlx::query("INSERT INTO institutions (id, tax_code, name, doc, version) VALUES ($1, $2, $3, $4, 1)")
            .bind(institution.id.to_string())
            .bind(&institution.tax_code)
            .bind(&institution.name)
            .bind(to_doc(institution))
            .execute(&mut *w.tx)
            .await
            .map_err(|e| map_unique(e, "institutions"))?;
        w.tx.commit().await?;
        Ok(institution.clone())
    }

    /// Onboards the institution on `product` (and its test products, per
    /// [`model::onboard`]) and returns it as stored.
    pub async fn onboard(&self, institution_id: Uuid, product: ProductId) -> Result<Institution> {
        let mut w = self.begin().await?;
        let (mut institution, version) = load_institution(&mut w.tx, institution_id).await?;
        model::onboard(&mut institution, product, Utc::now());
        save_institution(&mut w.tx, &institution, version).await?;
        w.tx.commit().await?;
        Ok(institution)
    }

    pub async fn institution(&self, id: Uuid) -> Result<Option<Institution>> {
        let row = sqlx::query("SELECT doc FROM institutions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| from_doc(&r, "institutions")).transpose()
    }

    /// The institutions where the user holds at least one role that is not
    /// deleted (suspended ones count: the user still belongs there), by name.
    pub async fn institutions_of_user(&self, user_id: Uuid) -> Result<Vec<Institution>> {
        let rows = sqlx::query(
            "SELECT doc FROM institutions WHERE id IN \
             (SELECT institution_id FROM user_roles WHERE user_id = $1 AND status <> 'DELETED') \
             ORDER BY name, id",
        )
        .bind(user_id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|r| from_doc(r, "institutions")).collect()
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>> {
        let row = sqlx::query("SELECT doc FROM sc_users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| from_doc(&r, "sc_users")).transpose()
    }

    pub async fn user_by_fiscal_code(&self, fiscal_code: &CodiceFiscale) -> Result<Option<User>> {
        let row = sqlx::query("SELECT doc FROM sc_users WHERE fiscal_code = $1")
            .bind(fiscal_code.as_str())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| from_doc(&r, "sc_users")).transpose()
    }

    /// Every role (deleted ones included) of a user at an institution.
    pub async fn roles_of(&self, user_id: Uuid, institution_id: Uuid) -> Result<Vec<RoleRecord>> {
        let mut conn = self.store.pool().acquire().await?;
        roles_of(&mut conn, user_id, institution_id).await
    }

    pub async fn role(&self, role_id: Uuid) -> Result<Option<RoleRecord>> {
        let row = sqlx::query("SELECT id, doc FROM user_roles WHERE id = $1")
            .bind(role_id.to_string())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| role_record(&r)).transpose()
    }

    /// Bootstrap/demo only: makes `user` Legale rappresentante (MANAGER,
    /// `admin`) on every product the institution is active on, without the
    /// "Crea Utente" rules. In SelfCare that role comes from the signed
    /// onboarding contract, which Varco does not have, and without a first
    /// admin nobody could add anyone. Existing live roles are left alone.
    pub async fn seed_manager(&self, institution_id: Uuid, user: &User) -> Result<(User, Vec<RoleRecord>)> {
        let mut w = self.begin().await?;
        let (institution, _) = load_institution(&mut w.tx, institution_id).await?;
        let user =
            upsert_user(&mut w.tx, user.clone(), institution_id, user.emails.get(&institution_id).cloned()).await?;
        let existing = roles_of(&mut w.tx, user.id, institution_id).await?;
        let now = Utc::now();
        let mut added = Vec::new();
        for onboarding in &institution.onboardings {
            if !institution.is_active_on(onboarding.product) {
                continue;
            }
            let held = existing.iter().any(|r| {
                r.role.product == onboarding.product
                    && r.role.product_role == ProductRole::Admin
                    && r.role.status != RoleStatus::Deleted
            });
            if held {
                continue;
            }
            let role = UserProductRole {
                user: user.id,
                institution: institution_id,
                product: onboarding.product,
                party_role: PartyRole::Manager,
                product_role: ProductRole::Admin,
                status: RoleStatus::Active,
                created_at: now,
            };
            added.push(insert_role(&mut w.tx, role).await?);
        }
        w.tx.commit().await?;
        Ok((user, added))
    }

    /// Makes sure a person is known (by fiscal code), without roles: how a
    /// person who logged in, or a demo user, first exists. Returns the stored one.
    pub async fn ensure_user(&self, user: &User) -> Result<User> {
        let mut w = self.begin().await?;
        let user = upsert_user(&mut w.tx, user.clone(), Uuid::nil(), None).await?;
        w.tx.commit().await?;
        Ok(user)
    }

    /// Every institution, by name (for the demo identity provider and operators).
    pub async fn institutions(&self) -> Result<Vec<Institution>> {
        let rows = sqlx::query("SELECT doc FROM institutions ORDER BY name, id").fetch_all(self.store.pool()).await?;
        rows.iter().map(|r| from_doc(r, "institutions")).collect()
    }

    /// The people holding a role (deleted ones excluded) at an institution, with
    /// those roles, by family name then name. Filters are applied by the caller.
    pub async fn members(&self, institution_id: Uuid) -> Result<Vec<(User, Vec<RoleRecord>)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT u.id AS id, u.doc AS doc FROM sc_users u JOIN user_roles r ON r.user_id = u.id \
             WHERE r.institution_id = $1 AND r.status <> 'DELETED'",
        )
        .bind(institution_id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let user: User = from_doc(row, "sc_users")?;
            let roles = self.roles_of(user.id, institution_id).await?;
            out.push((user, roles));
        }
        out.sort_by(|(a, _), (b, _)| (&a.family_name, &a.name, a.id).cmp(&(&b.family_name, &b.name, b.id)));
        Ok(out)
    }

    /// "Crea Utente": `actor_user_id` gives the person described by `form`
    /// roles at the institution. The person is reused if already known by
    /// fiscal code (their e-mail at this institution becomes the one given);
    /// otherwise created. All or nothing, mail included.
    pub async fn add_user(
        &self,
        actor_user_id: Uuid,
        institution_id: Uuid,
        form: NewUserForm,
    ) -> Result<(User, Vec<UserProductRole>), AddUserError> {
        let mut w = self.begin().await?;
        let (institution, _) = load_institution(&mut w.tx, institution_id).await?;
        let actor: Vec<UserProductRole> =
            roles_of(&mut w.tx, actor_user_id, institution_id).await?.into_iter().map(|r| r.role).collect();
        // The target's existing roles are needed before validation (duplicate
        // and admin/operator mix rules), so look the person up by the code as
        // parsed; an unparseable code just means no existing roles, and the
        // rules will report the code itself.
        let existing_user = match CodiceFiscale::parse(&form.codice_fiscale) {
            Ok(cf) => find_user_by_cf(&mut w.tx, &cf).await?,
            Err(_) => None,
        };
        let existing: Vec<UserProductRole> = match &existing_user {
            Some(u) => roles_of(&mut w.tx, u.id, institution_id).await?.into_iter().map(|r| r.role).collect(),
            None => Vec::new(),
        };
        let valid = rules::validate_new_user(&form, &institution, &actor, &existing).map_err(AddUserError::Rejected)?;

        let user = existing_user.unwrap_or_else(|| User {
            id: Uuid::new_v4(),
            name: valid.nome.clone(),
            family_name: valid.cognome.clone(),
            fiscal_code: valid.fiscal_code.clone(),
            emails: Default::default(),
        });
        let user = upsert_user(&mut w.tx, user, institution_id, Some(valid.email.clone())).await?;
        let roles = valid.roles_for(user.id, institution_id, Utc::now());
        for role in &roles {
            insert_role(&mut w.tx, role.clone()).await?;
        }
        let role_labels: Vec<&str> = roles.iter().map(|r| r.product_role.label()).collect();
        let body = format!(
            "Gentile {} {},\n\n{} ti ha assegnato il ruolo {} per il prodotto {}.\n\
             Accedi all'Area Riservata per usarlo.\n",
            user.name,
            user.family_name,
            institution.name,
            role_labels.join(", "),
            valid.product.label(),
        );
        queue_mail(&mut w.tx, valid.email.as_str(), NEW_ROLE_SUBJECT, &body).await?;
        w.tx.commit().await?;
        Ok((user, roles))
    }

    pub async fn suspend_role(&self, actor_user_id: Uuid, role_id: Uuid) -> Result<RoleRecord> {
        self.transition(actor_user_id, role_id, rules::suspend, SUSPENDED_SUBJECT, "sospeso").await
    }

    pub async fn reactivate_role(&self, actor_user_id: Uuid, role_id: Uuid) -> Result<RoleRecord> {
        self.transition(actor_user_id, role_id, rules::reactivate, REACTIVATED_SUBJECT, "riattivato").await
    }

    pub async fn delete_role(&self, actor_user_id: Uuid, role_id: Uuid) -> Result<RoleRecord> {
        self.transition(actor_user_id, role_id, rules::delete, DELETED_SUBJECT, "rimosso").await
    }

    async fn transition(
        &self,
        actor_user_id: Uuid,
        role_id: Uuid,
        op: fn(&mut UserProductRole) -> Result<(), TransitionError>,
        subject: &str,
        verb: &str,
    ) -> Result<RoleRecord> {
        let mut w = self.begin().await?;
        let row = sqlx::query("SELECT id, doc, version FROM user_roles WHERE id = $1")
            .bind(role_id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(ServiceError::NotFound("ruolo"))?;
        let mut record = role_record(&row)?;
        let version: i64 = row.try_get("version")?;
        let (institution, _) = load_institution(&mut w.tx, record.role.institution).await?;
        let actor: Vec<UserProductRole> =
            roles_of(&mut w.tx, actor_user_id, institution.id).await?.into_iter().map(|r| r.role).collect();
        // Same authority as "Crea Utente": an admin on that product of that
        // institution. Checked before the transition so a non-admin learns
        // nothing about the role's state.
        if !rules::can_manage_users(&actor, &institution, record.role.product) {
            return Err(ServiceError::Forbidden);
        }
        if record.role.user == actor_user_id {
            return Err(ServiceError::OwnRole);
        }
        op(&mut record.role)?;
        let done =
            sqlx::query("UPDATE user_roles SET status = $1, doc = $2, version = $3 WHERE id = $4 AND version = $5")
                .bind(model::wire_name(&record.role.status))
                .bind(to_doc(&record.role))
                .bind(version + 1)
                .bind(role_id.to_string())
                .bind(version)
                .execute(&mut *w.tx)
                .await
                .map_err(|e| map_unique(e, "user_roles"))?;
        if done.rows_affected() != 1 {
            return Err(ServiceError::Conflict("ruolo"));
        }
        let user = load_user(&mut w.tx, record.role.user).await?;
        // A user without an e-mail at this institution can only come from a
        // bootstrap seed without one: there is nobody to write to, which must
        // not block the change itself.
        if let Some(email) = user.emails.get(&institution.id) {
            let body = format!(
                "Gentile {} {},\n\n{} ha {} il tuo ruolo {} per il prodotto {}.\n",
                user.name,
                user.family_name,
                institution.name,
                verb,
                record.role.product_role.label(),
                record.role.product.label(),
            );
            queue_mail(&mut w.tx, email.as_str(), subject, &body).await?;
        }
        w.tx.commit().await?;
        Ok(record)
    }

    /// Every queued mail, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxMail>> {
        Ok(self.outbox_entries(false).await?.into_iter().map(|e| e.mail).collect())
    }

    // Delivery of the outbox (see `crate::mailer`). Each write is one statement
    // that writes first, in its own transaction: no read-then-write upgrade, so
    // SQLite just waits (busy_timeout) even for another `SelfCare` instance.

    /// Queued mails with their delivery state, oldest first; only the unsent
    /// ones if `unsent_only`.
    pub async fn outbox_entries(&self, unsent_only: bool) -> Result<Vec<OutboxEntry>> {
        let sql = if unsent_only {
            format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE sent_ms IS NULL ORDER BY seq")
        } else {
            format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox ORDER BY seq")
        };
        let rows = sqlx::query(&sql).fetch_all(self.store.pool()).await?;
        rows.iter().map(outbox_entry).collect()
    }

    /// One queued mail with its delivery state.
    pub async fn outbox_entry(&self, seq: i64) -> Result<Option<OutboxEntry>> {
        let row = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE seq = $1"))
            .bind(seq)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(outbox_entry).transpose()
    }

    /// At most `limit` unsent mails, oldest first, due or not.
    pub async fn unsent_mail(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE sent_ms IS NULL ORDER BY seq LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|r| outbox_entry(r).map(|e| e.mail)).collect()
    }

    /// Takes the oldest unsent mail that is due at `now_ms` for this sender:
    /// nobody else takes it before `now_ms + lease_ms`. The claim is a
    /// conditional update, so of two replicas racing for a row exactly one
    /// wins; the loser moves on to the next row. `None`: nothing is due.
    pub async fn claim_due_mail(&self, now_ms: i64, lease_ms: i64) -> Result<Option<OutboxEntry>> {
        loop {
            let Some(row) = sqlx::query(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM mail_outbox \
                 WHERE sent_ms IS NULL AND (next_try_ms IS NULL OR next_try_ms <= $1) ORDER BY seq LIMIT 1"
            ))
            .bind(now_ms)
            .fetch_optional(self.store.pool())
            .await?
            else {
                return Ok(None);
            };
            let mut entry = outbox_entry(&row)?;
            let mut w = self.begin().await?;
            let done = sqlx::query(
                "UPDATE mail_outbox SET next_try_ms = $1 \
                 WHERE seq = $2 AND sent_ms IS NULL AND (next_try_ms IS NULL OR next_try_ms <= $3)",
            )
            .bind(now_ms + lease_ms)
            .bind(entry.mail.seq)
            .bind(now_ms)
            .execute(&mut *w.tx)
            .await?;
            w.tx.commit().await?;
            if done.rows_affected() == 1 {
                entry.next_try_ms = Some(now_ms + lease_ms);
                return Ok(Some(entry));
            }
        }
    }

    /// Records that the SMTP server accepted mail `seq`. False if it was
    /// already marked sent (by another replica whose lease had run out).
    pub async fn mark_mail_sent(&self, seq: i64, now_ms: i64) -> Result<bool> {
        let mut w = self.begin().await?;
        let done = sqlx::query(
            "UPDATE mail_outbox SET sent_ms = $1, next_try_ms = NULL, last_error = NULL \
             WHERE seq = $2 AND sent_ms IS NULL",
        )
        .bind(now_ms)
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt at mail `seq`: it stays unsent and is due
    /// again at `retry_at_ms`. `error` is stored for `varco mail list`, so it
    /// must not hold secrets.
    pub async fn mark_mail_failed(&self, seq: i64, retry_at_ms: i64, error: &str) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        let mut w = self.begin().await?;
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_try_ms = $2 \
             WHERE seq = $3 AND sent_ms IS NULL",
        )
        .bind(error)
        .bind(retry_at_ms)
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(())
    }
}

/// A queued mail and how its delivery is going (migration 0004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub mail: OutboxMail,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The last failure, as the SMTP client reported it.
    pub last_error: Option<String>,
    /// Not taken before this time: claimed by a sender, or pausing after a failure.
    pub next_try_ms: Option<i64>,
}

const OUTBOX_COLUMNS: &str = "seq, to_addr, subject, body, created_ms, sent_ms, next_try_ms, attempts, last_error";

fn outbox_entry(r: &AnyRow) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        mail: OutboxMail {
            seq: r.try_get("seq")?,
            to: r.try_get("to_addr")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            created_ms: r.try_get("created_ms")?,
            sent_ms: r.try_get("sent_ms")?,
        },
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        next_try_ms: r.try_get("next_try_ms")?,
    })
}

fn to_doc<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model values serialise to JSON")
}

fn from_doc<T: serde::de::DeserializeOwned>(row: &AnyRow, table: &'static str) -> Result<T> {
    let doc: String = row.try_get("doc")?;
    serde_json::from_str(&doc).map_err(|e| ServiceError::Corrupt { table, error: e.to_string() })
}

fn role_record(row: &AnyRow) -> Result<RoleRecord> {
    let id: String = row.try_get("id")?;
    let id = Uuid::parse_str(&id)
        .map_err(|e| ServiceError::Corrupt { table: "user_roles", error: format!("id {id:?}: {e}") })?;
    Ok(RoleRecord { id, role: from_doc(row, "user_roles")? })
}

fn map_unique(e: sqlx::Error, what: &'static str) -> ServiceError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return ServiceError::Duplicate(what);
        }
    }
    ServiceError::Db(e)
}

async fn load_institution(conn: &mut sqlx::AnyConnection, id: Uuid) -> Result<(Institution, i64)> {
    let row = sqlx::query("SELECT doc, version FROM institutions WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(ServiceError::NotFound("ente"))?;
    Ok((from_doc(&row, "institutions")?, row.try_get("version")?))
}

async fn save_institution(conn: &mut sqlx::AnyConnection, institution: &Institution, version: i64) -> Result<()> {
    let done = sqlx::query("UPDATE institutions SET name = $1, doc = $2, version = $3 WHERE id = $4 AND version = $5")
        .bind(&institution.name)
        .bind(to_doc(institution))
        .bind(version + 1)
        .bind(institution.id.to_string())
        .bind(version)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::Conflict("ente"));
    }
    Ok(())
}

async fn load_user(conn: &mut sqlx::AnyConnection, id: Uuid) -> Result<User> {
    let row = sqlx::query("SELECT doc FROM sc_users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(ServiceError::NotFound("utente"))?;
    from_doc(&row, "sc_users")
}

async fn find_user_by_cf(conn: &mut sqlx::AnyConnection, cf: &CodiceFiscale) -> Result<Option<User>> {
    let row = sqlx::query("SELECT doc FROM sc_users WHERE fiscal_code = $1")
        .bind(cf.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| from_doc(&r, "sc_users")).transpose()
}

/// Inserts the user, or, if one with the same fiscal code exists, keeps
/// that one (its id and name: the identity is the one already known) and
/// records `email` as its address at `institution_id`.
async fn upsert_user(
    conn: &mut sqlx::AnyConnection,
    user: User,
    institution_id: Uuid,
    email: Option<crate::email::Email>,
) -> Result<User> {
    let row = sqlx::query("SELECT doc, version FROM sc_users WHERE fiscal_code = $1")
        .bind(user.fiscal_code.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => {
            let mut stored: User = from_doc(&row, "sc_users")?;
            let version: i64 = row.try_get("version")?;
            let Some(email) = email else { return Ok(stored) };
            if stored.emails.get(&institution_id) == Some(&email) {
                return Ok(stored);
            }
            stored.emails.insert(institution_id, email);
            let done = sqlx::query("UPDATE sc_users SET doc = $1, version = $2 WHERE id = $3 AND version = $4")
                .bind(to_doc(&stored))
                .bind(version + 1)
                .bind(stored.id.to_string())
                .bind(version)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() != 1 {
                return Err(ServiceError::Conflict("utente"));
            }
            Ok(stored)
        }
        None => {
            let mut user = user;
            if let Some(email) = email {
                user.emails.insert(institution_id, email);
            }
            sqlx::query("INSERT INTO sc_users (id, fiscal_code, doc, version) VALUES ($1, $2, $3, 1)")
                .bind(user.id.to_string())
                .bind(user.fiscal_code.as_str())
                .bind(to_doc(&user))
                .execute(&mut *conn)
                .await
                .map_err(|e| map_unique(e, "utente"))?;
            Ok(user)
        }
    }
}

async fn roles_of(conn: &mut sqlx::AnyConnection, user_id: Uuid, institution_id: Uuid) -> Result<Vec<RoleRecord>> {
    let rows = sqlx::query("SELECT id, doc FROM user_roles WHERE user_id = $1 AND institution_id = $2")
        .bind(user_id.to_string())
        .bind(institution_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut roles = rows.iter().map(role_record).collect::<Result<Vec<_>>>()?;
    // Stable order for callers and tests; the database gives none.
    roles.sort_by_key(|r| (r.role.product, r.role.product_role, r.role.created_at, r.id));
    Ok(roles)
}

async fn insert_role(conn: &mut sqlx::AnyConnection, role: UserProductRole) -> Result<RoleRecord> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO user_roles (id, user_id, institution_id, product, party_role, product_role, status, doc, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
    )
    .bind(id.to_string())
    .bind(role.user.to_string())
    .bind(role.institution.to_string())
    .bind(role.product.as_str())
    .bind(model::wire_name(&role.party_role))
    .bind(role.product_role.as_str())
    .bind(model::wire_name(&role.status))
    .bind(to_doc(&role))
    .execute(&mut *conn)
    .await
    .map_err(|e| map_unique(e, "ruolo"))?;
    Ok(RoleRecord { id, role })
}

async fn queue_mail(conn: &mut sqlx::AnyConnection, to: &str, subject: &str, body: &str) -> Result<()> {
    sqlx::query("INSERT INTO mail_outbox (to_addr, subject, body, created_ms) VALUES ($1, $2, $3, $4)")
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
