//! SelfCare persistence: institutions, users, their roles and the mails those
//! changes send, stored in Varco's database.
//!
//! The rules live in [`crate::rules`] and [`crate::model`]; this module only
//! loads what they need, runs them and writes the outcome. Every operation
//! that changes something does it in one transaction together with the mail
//! it announces (queued in `mail_outbox`), so a refused or failed operation
//! leaves neither data nor mail behind.
//!
//! The SQL itself is the store's ([`varco_store::ScTx`] and the `sc_*` and
//! `outbox_*` functions of [`Store`]): rows cross as JSON documents with their
//! ids and versions, and this module turns them into the model and back.

use chrono::Utc;
use uuid::Uuid;
use varco_store::{NewRoleRow, OutboxRow, RoleRow, ScTx, Store, StoreError};

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
    /// The database failed (the store's error says how).
    #[error("{0}")]
    Db(StoreError),
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
    /// An Amministratore tried to change a role of the Legale rappresentante
    /// ([`rules::may_change_role`]).
    #[error("solo un Legale rappresentante può sospendere, riabilitare o rimuovere i ruoli del Legale rappresentante dell'ente")]
    ManagerRole,
    /// A uniqueness rule of the schema was hit (tax code, fiscal code, or a
    /// live role given twice by concurrent requests).
    #[error("già esistente: {0}")]
    Duplicate(&'static str),
    /// Someone else changed the row since it was read; the caller may retry.
    #[error("{0} modificato da un'altra richiesta, riprovare")]
    Conflict(&'static str),
}

// Where a conflict or a duplicate can happen, the call maps it with [`named`]
// first, in SelfCare's words; this is for everything else.
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { table, error } => ServiceError::Corrupt { table, error },
            StoreError::Conflict(table) => ServiceError::Conflict(table),
            StoreError::Duplicate(_) => ServiceError::Duplicate("dato"),
            e => ServiceError::Db(e),
        }
    }
}

/// The store's conflict and duplicate errors named `what`, as SelfCare says them.
fn named(what: &'static str) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::Duplicate(_) => ServiceError::Duplicate(what),
        StoreError::Conflict(_) => ServiceError::Conflict(what),
        e => e.into(),
    }
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

impl From<StoreError> for AddUserError {
    fn from(e: StoreError) -> Self {
        AddUserError::Service(e.into())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// The SelfCare service over a [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct SelfCare {
    store: Store,
}

impl SelfCare {
    pub fn new(store: Store) -> Self {
        SelfCare { store }
    }

    /// The browser sessions, used identity tokens and identity-token key, kept
    /// in the same database.
    pub fn sessions(&self) -> crate::sessions::Sessions {
        crate::sessions::Sessions::new(self.store.clone())
    }

    /// Stores a new institution as given (its onboardings included).
    pub async fn create_institution(&self, institution: &Institution) -> Result<Institution> {
        let mut tx = self.store.sc_begin().await?;
        tx.insert_institution(
            &institution.id.to_string(),
            &institution.tax_code,
            &institution.name,
            &to_doc(institution),
        )
        .await
        .map_err(named("institutions"))?;
        tx.commit().await?;
        Ok(institution.clone())
    }

    /// Onboards the institution on `product` (and its test products, per
    /// [`model::onboard`]) and returns it as stored.
    pub async fn onboard(&self, institution_id: Uuid, product: ProductId) -> Result<Institution> {
        let mut tx = self.store.sc_begin().await?;
        let (mut institution, version) = load_institution(&mut tx, institution_id).await?;
        model::onboard(&mut institution, product, Utc::now());
        save_institution(&mut tx, &institution, version).await?;
        tx.commit().await?;
        Ok(institution)
    }

    pub async fn institution(&self, id: Uuid) -> Result<Option<Institution>> {
        let doc = self.store.sc_institution(&id.to_string()).await?;
        doc.map(|d| from_doc(&d, "institutions")).transpose()
    }

    /// The institutions where the user holds at least one role that is not
    /// deleted (suspended ones count: the user still belongs there), by name.
    pub async fn institutions_of_user(&self, user_id: Uuid) -> Result<Vec<Institution>> {
        let docs = self.store.sc_institutions_of_user(&user_id.to_string()).await?;
        docs.iter().map(|d| from_doc(d, "institutions")).collect()
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>> {
        let doc = self.store.sc_user(&id.to_string()).await?;
        doc.map(|d| from_doc(&d, "sc_users")).transpose()
    }

    pub async fn user_by_fiscal_code(&self, fiscal_code: &CodiceFiscale) -> Result<Option<User>> {
        let doc = self.store.sc_user_by_fiscal_code(fiscal_code.as_str()).await?;
        doc.map(|d| from_doc(&d, "sc_users")).transpose()
    }

    /// Every role (deleted ones included) of a user at an institution.
    pub async fn roles_of(&self, user_id: Uuid, institution_id: Uuid) -> Result<Vec<RoleRecord>> {
        role_records(self.store.sc_roles_of(&user_id.to_string(), &institution_id.to_string()).await?)
    }

    pub async fn role(&self, role_id: Uuid) -> Result<Option<RoleRecord>> {
        let row = self.store.sc_role(&role_id.to_string()).await?;
        row.map(|r| role_record(&r)).transpose()
    }

    /// Bootstrap/demo only: makes `user` Legale rappresentante (MANAGER,
    /// `admin`) on every product the institution is active on, without the
    /// "Crea Utente" rules. In SelfCare that role comes from the signed
    /// onboarding contract, which Varco does not have, and without a first
    /// admin nobody could add anyone. Existing live roles are left alone.
    pub async fn seed_manager(&self, institution_id: Uuid, user: &User) -> Result<(User, Vec<RoleRecord>)> {
        let mut tx = self.store.sc_begin().await?;
        let (institution, _) = load_institution(&mut tx, institution_id).await?;
        let user =
            upsert_user(&mut tx, user.clone(), institution_id, user.emails.get(&institution_id).cloned()).await?;
        let existing = roles_in_tx(&mut tx, user.id, institution_id).await?;
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
            added.push(insert_role(&mut tx, role).await?);
        }
        tx.commit().await?;
        Ok((user, added))
    }

    /// Makes sure a person is known (by fiscal code), without roles: how a
    /// person who logged in, or a demo user, first exists. Returns the stored one.
    pub async fn ensure_user(&self, user: &User) -> Result<User> {
        let mut tx = self.store.sc_begin().await?;
        let user = upsert_user(&mut tx, user.clone(), Uuid::nil(), None).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Every institution, by name (for the demo identity provider and operators).
    pub async fn institutions(&self) -> Result<Vec<Institution>> {
        let docs = self.store.sc_institutions().await?;
        docs.iter().map(|d| from_doc(d, "institutions")).collect()
    }

    /// An Ente as `user_id` sees it: the Ente and their live (not removed) roles
    /// there. An Ente where they have none does not exist for them (`NotFound`).
    pub async fn membership(&self, user_id: Uuid, institution_id: Uuid) -> Result<(Institution, Vec<RoleRecord>)> {
        let institution = self.institution(institution_id).await?.ok_or(ServiceError::NotFound("ente"))?;
        let mut roles = self.roles_of(user_id, institution_id).await?;
        roles.retain(|r| r.role.status != RoleStatus::Deleted);
        if roles.is_empty() {
            return Err(ServiceError::NotFound("ente"));
        }
        Ok((institution, roles))
    }

    /// The products on which `user_id` may manage the users of the Ente (with
    /// the Ente): an active Amministratore role on the product. `Forbidden` when
    /// none; `NotFound` when they have no role there at all.
    pub async fn management(&self, user_id: Uuid, institution_id: Uuid) -> Result<(Institution, Vec<ProductId>)> {
        let (institution, roles) = self.membership(user_id, institution_id).await?;
        let plain: Vec<UserProductRole> = roles.into_iter().map(|r| r.role).collect();
        let products: Vec<ProductId> =
            ProductId::ALL.into_iter().filter(|&p| rules::can_manage_users(&plain, &institution, p)).collect();
        if products.is_empty() {
            return Err(ServiceError::Forbidden);
        }
        Ok((institution, products))
    }

    /// "Utenti", for someone who may manage the Ente's users ([`SelfCare::management`]).
    pub async fn members_managed_by(
        &self,
        user_id: Uuid,
        institution_id: Uuid,
    ) -> Result<Vec<(User, Vec<RoleRecord>)>> {
        self.management(user_id, institution_id).await?;
        self.members(institution_id).await
    }

    /// One person with a role at the Ente, for someone who may manage its users;
    /// anybody else's page does not exist (`NotFound`).
    pub async fn member_managed_by(
        &self,
        user_id: Uuid,
        institution_id: Uuid,
        member_id: Uuid,
    ) -> Result<(User, Vec<RoleRecord>)> {
        self.management(user_id, institution_id).await?;
        let user = self.user(member_id).await?.ok_or(ServiceError::NotFound("utente"))?;
        let roles = self.roles_of(member_id, institution_id).await?;
        if roles.is_empty() {
            return Err(ServiceError::NotFound("utente"));
        }
        Ok((user, roles))
    }

    /// The people holding a role (deleted ones excluded) at an institution, with
    /// those roles, by family name then name. Filters are applied by the caller.
    /// No caller: for operators and the demo world; pages use
    /// [`SelfCare::members_managed_by`].
    pub async fn members(&self, institution_id: Uuid) -> Result<Vec<(User, Vec<RoleRecord>)>> {
        let docs = self.store.sc_member_docs(&institution_id.to_string()).await?;
        let mut out = Vec::new();
        for doc in &docs {
            let user: User = from_doc(doc, "sc_users")?;
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
        let mut tx = self.store.sc_begin().await?;
        let (institution, _) = load_institution(&mut tx, institution_id).await?;
        let actor: Vec<UserProductRole> =
            roles_in_tx(&mut tx, actor_user_id, institution_id).await?.into_iter().map(|r| r.role).collect();
        // The target's existing roles are needed before validation (duplicate
        // and admin/operator mix rules), so look the person up by the code as
        // parsed; an unparseable code just means no existing roles, and the
        // rules will report the code itself.
        let existing_user = match CodiceFiscale::parse(&form.codice_fiscale) {
            Ok(cf) => find_user_by_cf(&mut tx, &cf).await?,
            Err(_) => None,
        };
        let existing: Vec<UserProductRole> = match &existing_user {
            Some(u) => roles_in_tx(&mut tx, u.id, institution_id).await?.into_iter().map(|r| r.role).collect(),
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
        let user = upsert_user(&mut tx, user, institution_id, Some(valid.email.clone())).await?;
        let roles = valid.roles_for(user.id, institution_id, Utc::now());
        for role in &roles {
            insert_role(&mut tx, role.clone()).await?;
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
        queue_mail(&mut tx, valid.email.as_str(), NEW_ROLE_SUBJECT, &body).await?;
        tx.commit().await?;
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
        let mut tx = self.store.sc_begin().await?;
        let row = tx.role(&role_id.to_string()).await?.ok_or(ServiceError::NotFound("ruolo"))?;
        let mut record = role_record(&row)?;
        let version = row.version;
        let (institution, _) = load_institution(&mut tx, record.role.institution).await?;
        let actor: Vec<UserProductRole> =
            roles_in_tx(&mut tx, actor_user_id, institution.id).await?.into_iter().map(|r| r.role).collect();
        // Same authority as "Crea Utente": an admin on that product of that
        // institution. Checked before the transition so a non-admin learns
        // nothing about the role's state.
        if !rules::can_manage_users(&actor, &institution, record.role.product) {
            return Err(ServiceError::Forbidden);
        }
        if record.role.user == actor_user_id {
            return Err(ServiceError::OwnRole);
        }
        if !rules::may_change_role(&actor, &institution, &record.role) {
            return Err(ServiceError::ManagerRole);
        }
        op(&mut record.role)?;
        tx.update_role(&row.id, &model::wire_name(&record.role.status), &to_doc(&record.role), version).await.map_err(
            |e| match e {
                StoreError::Duplicate(_) => ServiceError::Duplicate("user_roles"),
                StoreError::Conflict(_) => ServiceError::Conflict("ruolo"),
                e => e.into(),
            },
        )?;
        let user = load_user(&mut tx, record.role.user).await?;
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
            queue_mail(&mut tx, email.as_str(), subject, &body).await?;
        }
        tx.commit().await?;
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
        Ok(self.store.outbox_rows(unsent_only).await?.into_iter().map(OutboxEntry::from).collect())
    }

    /// One queued mail with its delivery state.
    pub async fn outbox_entry(&self, seq: i64) -> Result<Option<OutboxEntry>> {
        Ok(self.store.outbox_row(seq).await?.map(OutboxEntry::from))
    }

    /// At most `limit` unsent mails, oldest first, due or not.
    pub async fn unsent_mail(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        Ok(self.store.outbox_unsent(limit).await?.into_iter().map(|r| OutboxEntry::from(r).mail).collect())
    }

    /// Takes the oldest unsent mail that is due at `now_ms` for this sender:
    /// nobody else takes it before `now_ms + lease_ms`. The claim is a
    /// conditional update, so of two replicas racing for a row exactly one
    /// wins; the loser moves on to the next row. `None`: nothing is due.
    pub async fn claim_due_mail(&self, now_ms: i64, lease_ms: i64) -> Result<Option<OutboxEntry>> {
        Ok(self.store.outbox_claim_due(now_ms, lease_ms).await?.map(OutboxEntry::from))
    }

    /// Records that the SMTP server accepted mail `seq`. False if it was
    /// already marked sent (by another replica whose lease had run out).
    pub async fn mark_mail_sent(&self, seq: i64, now_ms: i64) -> Result<bool> {
        Ok(self.store.outbox_mark_sent(seq, now_ms).await?)
    }

    /// Records a failed attempt at mail `seq`: it stays unsent and is due
    /// again at `retry_at_ms`. `error` is stored for `varco mail list`, so it
    /// must not hold secrets.
    pub async fn mark_mail_failed(&self, seq: i64, retry_at_ms: i64, error: &str) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        Ok(self.store.outbox_mark_failed(seq, retry_at_ms, &error).await?)
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

impl From<OutboxRow> for OutboxEntry {
    fn from(r: OutboxRow) -> Self {
        OutboxEntry {
            mail: OutboxMail {
                seq: r.seq,
                to: r.to_addr,
                subject: r.subject,
                body: r.body,
                created_ms: r.created_ms,
                sent_ms: r.sent_ms,
            },
            attempts: r.attempts,
            last_error: r.last_error,
            next_try_ms: r.next_try_ms,
        }
    }
}

fn to_doc<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model values serialise to JSON")
}

fn from_doc<T: serde::de::DeserializeOwned>(doc: &str, table: &'static str) -> Result<T> {
    serde_json::from_str(doc).map_err(|e| ServiceError::Corrupt { table, error: e.to_string() })
}

fn role_record(row: &RoleRow) -> Result<RoleRecord> {
    let id = Uuid::parse_str(&row.id)
        .map_err(|e| ServiceError::Corrupt { table: "user_roles", error: format!("id {:?}: {e}", row.id) })?;
    Ok(RoleRecord { id, role: from_doc(&row.doc, "user_roles")? })
}

fn role_records(rows: Vec<RoleRow>) -> Result<Vec<RoleRecord>> {
    let mut roles = rows.iter().map(role_record).collect::<Result<Vec<_>>>()?;
    // Stable order for callers and tests; the database gives none.
    roles.sort_by_key(|r| (r.role.product, r.role.product_role, r.role.created_at, r.id));
    Ok(roles)
}

async fn load_institution(tx: &mut ScTx, id: Uuid) -> Result<(Institution, i64)> {
    let row = tx.institution(&id.to_string()).await?.ok_or(ServiceError::NotFound("ente"))?;
    Ok((from_doc(&row.doc, "institutions")?, row.version))
}

async fn save_institution(tx: &mut ScTx, institution: &Institution, version: i64) -> Result<()> {
    tx.update_institution(&institution.id.to_string(), &institution.name, &to_doc(institution), version)
        .await
        .map_err(named("ente"))
}

async fn load_user(tx: &mut ScTx, id: Uuid) -> Result<User> {
    let row = tx.user(&id.to_string()).await?.ok_or(ServiceError::NotFound("utente"))?;
    from_doc(&row.doc, "sc_users")
}

async fn find_user_by_cf(tx: &mut ScTx, cf: &CodiceFiscale) -> Result<Option<User>> {
    let row = tx.user_by_fiscal_code(cf.as_str()).await?;
    row.map(|r| from_doc(&r.doc, "sc_users")).transpose()
}

/// Inserts the user, or, if one with the same fiscal code exists, keeps
/// that one (its id and name: the identity is the one already known) and
/// records `email` as its address at `institution_id`.
async fn upsert_user(
    tx: &mut ScTx,
    user: User,
    institution_id: Uuid,
    email: Option<crate::email::Email>,
) -> Result<User> {
    match tx.user_by_fiscal_code(user.fiscal_code.as_str()).await? {
        Some(row) => {
            let mut stored: User = from_doc(&row.doc, "sc_users")?;
            let Some(email) = email else { return Ok(stored) };
            if stored.emails.get(&institution_id) == Some(&email) {
                return Ok(stored);
            }
            stored.emails.insert(institution_id, email);
            tx.update_user(&stored.id.to_string(), &to_doc(&stored), row.version).await.map_err(named("utente"))?;
            Ok(stored)
        }
        None => {
            let mut user = user;
            if let Some(email) = email {
                user.emails.insert(institution_id, email);
            }
            tx.insert_user(&user.id.to_string(), user.fiscal_code.as_str(), &to_doc(&user))
                .await
                .map_err(named("utente"))?;
            Ok(user)
        }
    }
}

async fn roles_in_tx(tx: &mut ScTx, user_id: Uuid, institution_id: Uuid) -> Result<Vec<RoleRecord>> {
    role_records(tx.roles_of(&user_id.to_string(), &institution_id.to_string()).await?)
}

async fn insert_role(tx: &mut ScTx, role: UserProductRole) -> Result<RoleRecord> {
    let id = Uuid::new_v4();
    let row = NewRoleRow {
        id: id.to_string(),
        user_id: role.user.to_string(),
        institution_id: role.institution.to_string(),
        product: role.product.as_str().to_string(),
        party_role: model::wire_name(&role.party_role),
        product_role: role.product_role.as_str().to_string(),
        status: model::wire_name(&role.status),
        doc: to_doc(&role),
    };
    tx.insert_role(&row).await.map_err(named("ruolo"))?;
    Ok(RoleRecord { id, role })
}

async fn queue_mail(tx: &mut ScTx, to: &str, subject: &str, body: &str) -> Result<()> {
    Ok(tx.queue_mail(to, subject, body, Utc::now().timestamp_millis()).await?)
}
