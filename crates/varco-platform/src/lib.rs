//! The use cases of Varco's Interoperabilità platform, one environment at a time.
//!
//! Each use case: check who is asking (the actor's organisation must be the party
//! the rule names), load what it needs inside one transaction, let the pure domain
//! function decide, store the result with its event, commit. Nothing here knows
//! about HTTP; the web crate and the CLI call these functions.

pub mod config;
pub mod demo;
pub mod error;

pub use config::EnvConfig;
pub use error::{AppError, AppResult};

use chrono::Utc;
use std::sync::Arc;
use tokio::sync::Notify;
use varco_domain::eservice::DescriptorInput;
use varco_domain::event::Actor;
use varco_domain::purpose::Quota;
use varco_domain::*;
use varco_jose::RsaPublicKey;
use varco_store::{Store, Tx, Versioned};

/// The whole platform: storage plus the configuration of every environment.
#[derive(Clone)]
pub struct Platform {
    pub store: Store,
    configs: Arc<Vec<EnvConfig>>,
    /// Woken after every local commit, so the token view catches up at once.
    pub changed: Arc<Notify>,
}

impl Platform {
    pub fn new(store: Store, configs: Vec<EnvConfig>) -> Platform {
        Platform { store, configs: Arc::new(configs), changed: Arc::new(Notify::new()) }
    }

    pub fn config(&self, env: Env) -> &EnvConfig {
        self.configs.iter().find(|c| c.env == env).expect("every environment is configured")
    }

    pub fn env(&self, env: Env) -> EnvService<'_> {
        EnvService { p: self, env }
    }
}

/// New tenant data (normally from a SelfCare onboarding).
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub origin: String,
    pub origin_id: String,
    pub kind: TenantKind,
    pub selfcare_id: Option<String>,
}

/// The use cases of one environment.
pub struct EnvService<'a> {
    p: &'a Platform,
    env: Env,
}

fn now() -> Timestamp {
    Utc::now()
}

fn not_found(what: &str, id: impl std::fmt::Display) -> AppError {
    AppError::NotFound(format!("{what} {id}"))
}

/// The organisation an actor acts for; operators and the system act for anyone.
fn acting_tenant(actor: &Actor) -> Option<TenantId> {
    actor.tenant()
}

fn require_tenant(actor: &Actor, tenant: TenantId, what: &str) -> AppResult<()> {
    match acting_tenant(actor) {
        None => Ok(()),
        Some(t) if t == tenant => Ok(()),
        Some(_) => Err(AppError::Forbidden(format!("operazione non consentita: {what}"))),
    }
}

/// Which side of an agreement or purpose the actor is on.
fn party_of(actor: &Actor, consumer: TenantId, producer: TenantId, default: Party) -> AppResult<Party> {
    match acting_tenant(actor) {
        None => Ok(default),
        Some(t) if t == consumer => Ok(Party::Consumer),
        Some(t) if t == producer => Ok(Party::Producer),
        Some(_) => Err(AppError::Forbidden("operazione non consentita a questo ente".into())),
    }
}

impl EnvService<'_> {
    pub fn env(&self) -> Env {
        self.env
    }

    pub fn config(&self) -> &EnvConfig {
        self.p.config(self.env)
    }

    async fn begin(&self, actor: &Actor) -> AppResult<Tx> {
        Ok(self.p.store.begin(self.env, actor.clone()).await?)
    }

    async fn commit(&self, tx: Tx) -> AppResult<()> {
        tx.commit().await?;
        self.p.changed.notify_waiters();
        Ok(())
    }

    async fn load<T: varco_store::Aggregate>(
        &self,
        tx: &mut Tx,
        what: &str,
        id: impl std::fmt::Display,
    ) -> AppResult<Versioned<T>> {
        tx.get::<T>(&id.to_string()).await?.ok_or_else(|| not_found(what, id))
    }

    // ---------------------------------------------------------------- reads

    pub async fn tenant(&self, id: TenantId) -> AppResult<Tenant> {
        self.get(id, "ente").await
    }

    pub async fn tenants(&self) -> AppResult<Vec<Tenant>> {
        Ok(self.p.store.all(self.env).await?)
    }

    pub async fn tenant_by_name(&self, name: &str) -> AppResult<Tenant> {
        self.by_name(name, "ente").await
    }

    /// The aggregate with this exact name (tenants and e-services index it).
    async fn by_name<T: varco_store::Aggregate>(&self, name: &str, what: &str) -> AppResult<T> {
        self.p
            .store
            .list::<T>(self.env, &[("name", name)])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| not_found(what, format!("{name:?} in {}", self.env)))
    }

    pub async fn eservice(&self, id: EServiceId) -> AppResult<EService> {
        self.get(id, "e-service").await
    }

    pub async fn eservices(&self) -> AppResult<Vec<EService>> {
        Ok(self.p.store.all(self.env).await?)
    }

    pub async fn eservice_by_name(&self, name: &str) -> AppResult<EService> {
        self.by_name(name, "e-service").await
    }

    pub async fn agreement(&self, id: AgreementId) -> AppResult<Agreement> {
        self.get(id, "richiesta di fruizione").await
    }

    pub async fn agreements_of_consumer(&self, consumer: TenantId) -> AppResult<Vec<Agreement>> {
        Ok(self.p.store.list(self.env, &[("consumer_id", &consumer.to_string())]).await?)
    }

    pub async fn purpose(&self, id: PurposeId) -> AppResult<Purpose> {
        self.get(id, "finalità").await
    }

    pub async fn purposes_of_consumer(&self, consumer: TenantId) -> AppResult<Vec<Purpose>> {
        Ok(self.p.store.list(self.env, &[("consumer_id", &consumer.to_string())]).await?)
    }

    pub async fn purposes_of_eservice(&self, eservice: EServiceId) -> AppResult<Vec<Purpose>> {
        Ok(self.p.store.list(self.env, &[("eservice_id", &eservice.to_string())]).await?)
    }

    pub async fn client(&self, id: ClientId) -> AppResult<Client> {
        self.get(id, "client").await
    }

    pub async fn attribute(&self, id: AttributeId) -> AppResult<Attribute> {
        self.get(id, "attributo").await
    }

    pub async fn clients(&self) -> AppResult<Vec<Client>> {
        Ok(self.p.store.all(self.env).await?)
    }

    pub async fn attributes(&self) -> AppResult<Vec<Attribute>> {
        Ok(self.p.store.all(self.env).await?)
    }

    /// A client key as a JWK, with the client holding it. Any caller of the
    /// environment may read it: producers check the evidence of vouchers with it.
    pub async fn client_key_jwk(&self, kid: &str) -> AppResult<(ClientId, serde_json::Value)> {
        let missing = || not_found("chiave", kid);
        let owner = self.p.store.client_of_kid(self.env, kid).await?.ok_or_else(missing)?;
        let client = self.client(owner.parse().map_err(|_| missing())?).await?;
        let key = client.keys.iter().find(|k| k.kid.as_str() == kid).ok_or_else(missing)?;
        let public = RsaPublicKey::from_pem(&key.pem).map_err(|e| AppError::Internal(format!("chiave {kid}: {e}")))?;
        Ok((client.id, public.jwk()))
    }

    async fn get<T: varco_store::Aggregate, I: std::fmt::Display>(&self, id: I, what: &str) -> AppResult<T> {
        self.p.store.get::<T>(self.env, &id.to_string()).await?.map(|v| v.value).ok_or_else(|| not_found(what, id))
    }

    // -------------------------------------------------------------- tenants

    pub async fn create_tenant(&self, actor: &Actor, t: NewTenant) -> AppResult<Tenant> {
        let name = t.name.trim().to_string();
        if name.is_empty() || name.len() > 200 {
            return Err(AppError::Invalid("il nome dell'ente è obbligatorio (max 200 caratteri)".into()));
        }
        let tenant = Tenant {
            id: TenantId::new(),
            selfcare_id: t.selfcare_id,
            external_id: ExternalId { origin: t.origin, value: t.origin_id },
            name,
            kind: t.kind,
            attributes: vec![],
            contact_email: None,
            created_at: now(),
        };
        let mut tx = self.begin(actor).await?;
        tx.insert(&tenant, "TenantOnboarded").await?;
        self.commit(tx).await?;
        Ok(tenant)
    }

    pub async fn create_attribute(
        &self,
        actor: &Actor,
        kind: AttributeKind,
        name: &str,
        description: &str,
        origin: Option<&str>,
        code: Option<&str>,
    ) -> AppResult<Attribute> {
        if name.trim().len() < 3 || description.trim().len() < 3 {
            return Err(AppError::Invalid("nome e descrizione dell'attributo sono obbligatori".into()));
        }
        let a = Attribute {
            id: AttributeId::new(),
            kind,
            name: name.trim().into(),
            description: description.trim().into(),
            origin: origin.map(Into::into),
            code: code.map(Into::into),
            created_at: now(),
        };
        let mut tx = self.begin(actor).await?;
        tx.insert(&a, "AttributeCreated").await?;
        self.commit(tx).await?;
        Ok(a)
    }

    /// Gives a tenant an attribute: certified (operator/certifier), declared (the
    /// tenant itself), verified (by a producer, recorded in `verified_by`).
    pub async fn assign_attribute(&self, actor: &Actor, tenant: TenantId, attribute: AttributeId) -> AppResult<Tenant> {
        let mut tx = self.begin(actor).await?;
        let attr: Versioned<Attribute> = self.load(&mut tx, "attributo", attribute).await?;
        let mut t: Versioned<Tenant> = self.load(&mut tx, "ente", tenant).await?;
        let kind = attr.value.kind;
        match kind {
            AttributeKind::Declared => require_tenant(actor, tenant, "dichiarare attributi per un altro ente")?,
            AttributeKind::Certified => {
                if acting_tenant(actor).is_some() {
                    return Err(AppError::Forbidden("solo un certificatore assegna attributi certificati".into()));
                }
            }
            AttributeKind::Verified => {}
        }
        let verifier = if kind == AttributeKind::Verified { acting_tenant(actor) } else { None };
        if let Some(existing) = t.value.attributes.iter_mut().find(|a| a.attribute_id == attribute && a.kind == kind) {
            if existing.is_active() && verifier.is_none_or(|v| existing.verified_by.contains(&v)) {
                return Err(AppError::Conflict("attributo già assegnato".into()));
            }
            existing.revoked_at = None;
            existing.assigned_at = now();
            if let Some(v) = verifier {
                existing.verified_by.push(v);
            }
        } else {
            t.value.attributes.push(TenantAttribute {
                attribute_id: attribute,
                kind,
                assigned_at: now(),
                revoked_at: None,
                verified_by: verifier.into_iter().collect(),
            });
        }
        tx.update(&t.value, t.version, "TenantAttributeAssigned").await?;
        self.commit(tx).await?;
        Ok(t.value)
    }

    pub async fn revoke_attribute(&self, actor: &Actor, tenant: TenantId, attribute: AttributeId) -> AppResult<Tenant> {
        let mut tx = self.begin(actor).await?;
        let mut t: Versioned<Tenant> = self.load(&mut tx, "ente", tenant).await?;
        let a = t
            .value
            .attributes
            .iter_mut()
            .find(|a| a.attribute_id == attribute && a.is_active())
            .ok_or_else(|| not_found("attributo dell'ente", attribute))?;
        if a.kind == AttributeKind::Declared {
            require_tenant(actor, tenant, "revocare attributi di un altro ente")?;
        } else if acting_tenant(actor).is_some() && a.kind == AttributeKind::Certified {
            return Err(AppError::Forbidden("solo un certificatore revoca attributi certificati".into()));
        }
        a.revoked_at = Some(now());
        tx.update(&t.value, t.version, "TenantAttributeRevoked").await?;
        self.commit(tx).await?;
        Ok(t.value)
    }

    // ------------------------------------------------------------ e-services

    pub async fn create_eservice(
        &self,
        actor: &Actor,
        producer: TenantId,
        name: &str,
        description: &str,
        technology: Technology,
        mode: EServiceMode,
    ) -> AppResult<EService> {
        require_tenant(actor, producer, "creare e-service per un altro ente")?;
        let mut tx = self.begin(actor).await?;
        let _: Versioned<Tenant> = self.load(&mut tx, "ente", producer).await?;
        let es = eservice::new_eservice(producer, name.into(), description.into(), technology, mode, now())?;
        tx.insert(&es, "EServiceAdded").await?;
        self.commit(tx).await?;
        Ok(es)
    }

    pub async fn add_descriptor(
        &self,
        actor: &Actor,
        id: EServiceId,
        input: DescriptorInput,
    ) -> AppResult<DescriptorId> {
        self.change_eservice(actor, id, "EServiceDescriptorAdded", |es, _| {
            Ok(eservice::add_descriptor(es, input, now())?)
        })
        .await
    }

    pub async fn publish_descriptor(&self, actor: &Actor, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        let mut tx = self.begin(actor).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(actor, es.value.producer_id, "pubblicare e-service di un altro ente")?;
        let agreements: Vec<Agreement> = tx.list(&[("eservice_id", &id.to_string())]).await?;
        let has = |desc: DescriptorId| {
            agreements.iter().any(|a| a.descriptor_id == desc && a.state != AgreementState::Archived)
        };
        eservice::publish_descriptor(&mut es.value, d, &has, now())?;
        tx.update(&es.value, es.version, "EServiceDescriptorPublished").await?;
        self.commit(tx).await
    }

    pub async fn suspend_descriptor(&self, actor: &Actor, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        self.change_eservice(actor, id, "EServiceDescriptorSuspended", |es, _| {
            Ok(eservice::suspend_descriptor(es, d, now())?)
        })
        .await
    }

    pub async fn unsuspend_descriptor(&self, actor: &Actor, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        self.change_eservice(actor, id, "EServiceDescriptorActivated", |es, _| {
            eservice::unsuspend_descriptor(es, d, now())?;
            Ok(())
        })
        .await
    }

    /// Quotas of a live (or draft) version; PDND lets producers change them after
    /// publication, so unlike the rest of a descriptor they are not frozen.
    pub async fn update_descriptor_quotas(
        &self,
        actor: &Actor,
        id: EServiceId,
        d: DescriptorId,
        voucher_lifespan: u32,
        per_consumer: u32,
        total: u32,
    ) -> AppResult<Descriptor> {
        if !(60..=86400).contains(&voucher_lifespan) {
            return Err(AppError::Invalid(format!(
                "La durata del voucher deve essere tra 60 e 86400 secondi (indicati {voucher_lifespan})"
            )));
        }
        if per_consumer < 1 || per_consumer > total {
            return Err(AppError::Invalid(
                "Le chiamate giornaliere per fruitore devono essere almeno 1 e non superare quelle totali".into(),
            ));
        }
        self.change_eservice(actor, id, "EServiceDescriptorQuotasUpdated", |es, _| {
            let desc = es
                .descriptors
                .iter_mut()
                .find(|x| x.id == d)
                .ok_or_else(|| AppError::NotFound(format!("Descrittore {d}")))?;
            if desc.state == DescriptorState::Archived {
                return Err(AppError::Conflict("una versione archiviata non si modifica".into()));
            }
            desc.voucher_lifespan = voucher_lifespan;
            desc.daily_calls_per_consumer = per_consumer;
            desc.daily_calls_total = total;
            Ok(desc.clone())
        })
        .await
    }

    async fn change_eservice<R>(
        &self,
        actor: &Actor,
        id: EServiceId,
        event: &str,
        f: impl FnOnce(&mut EService, &Actor) -> AppResult<R>,
    ) -> AppResult<R> {
        let mut tx = self.begin(actor).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(actor, es.value.producer_id, "modificare e-service di un altro ente")?;
        let r = f(&mut es.value, actor)?;
        tx.update(&es.value, es.version, event).await?;
        self.commit(tx).await?;
        Ok(r)
    }

    // ------------------------------------------------------------ agreements

    /// "Richiedi fruizione": a Draft agreement on the latest published version.
    pub async fn create_agreement(
        &self,
        actor: &Actor,
        consumer: TenantId,
        eservice: EServiceId,
    ) -> AppResult<Agreement> {
        require_tenant(actor, consumer, "richiedere fruizione per un altro ente")?;
        let mut tx = self.begin(actor).await?;
        let c: Versioned<Tenant> = self.load(&mut tx, "ente", consumer).await?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", eservice).await?;
        let existing: Vec<Agreement> =
            tx.list(&[("consumer_id", &consumer.to_string()), ("eservice_id", &eservice.to_string())]).await?;
        let a = agreement::create(&c.value, &es.value, &existing, now())?;
        tx.insert(&a, "AgreementAdded").await?;
        self.commit(tx).await?;
        Ok(a)
    }

    /// "Inoltra richiesta di fruizione".
    pub async fn submit_agreement(
        &self,
        actor: &Actor,
        id: AgreementId,
        notes: Option<String>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(actor, a.value.consumer_id, "inoltrare la richiesta di un altro ente")?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", a.value.eservice_id).await?;
        let c: Versioned<Tenant> = self.load(&mut tx, "ente", a.value.consumer_id).await?;
        agreement::submit(&mut a.value, &es.value, &c.value, notes, actor.user(), now())?;
        let event = match a.value.state {
            AgreementState::Active => "AgreementActivated",
            AgreementState::Pending => "AgreementSubmitted",
            _ => "AgreementSubmittedMissingAttributes",
        };
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    pub async fn approve_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement(actor, id, Some(Party::Producer), "AgreementActivated", |a, who| {
            Ok(agreement::approve(a, who, now())?)
        })
        .await
    }

    pub async fn reject_agreement(&self, actor: &Actor, id: AgreementId, reason: String) -> AppResult<Agreement> {
        self.change_agreement(actor, id, Some(Party::Producer), "AgreementRejected", |a, who| {
            Ok(agreement::reject(a, reason, who, now())?)
        })
        .await
    }

    pub async fn suspend_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement_by_party(actor, id, "AgreementSuspended", |a, by, who| {
            Ok(agreement::suspend(a, by, who, now())?)
        })
        .await
    }

    pub async fn unsuspend_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement_by_party(actor, id, "AgreementUnsuspended", |a, by, who| {
            Ok(agreement::unsuspend(a, by, who, now())?)
        })
        .await
    }

    pub async fn archive_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(actor, a.value.consumer_id, "archiviare la richiesta di un altro ente")?;
        agreement::archive(&mut a.value, actor.user(), now())?;
        tx.update(&a.value, a.version, "AgreementArchived").await?;
        self.archive_descriptor_if_unused(&mut tx, &a.value).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    /// A Deprecated descriptor is archived when its last agreement is.
    async fn archive_descriptor_if_unused(&self, tx: &mut Tx, a: &Agreement) -> AppResult<()> {
        let mut es: Versioned<EService> = self.load(tx, "e-service", a.eservice_id).await?;
        let deprecated = es.value.descriptor(a.descriptor_id).is_some_and(|d| d.state == DescriptorState::Deprecated);
        if !deprecated {
            return Ok(());
        }
        let others: Vec<Agreement> = tx.list(&[("descriptor_id", &a.descriptor_id.to_string())]).await?;
        if others.iter().all(|o| o.id == a.id || o.state == AgreementState::Archived) {
            eservice::archive_descriptor(&mut es.value, a.descriptor_id, now())?;
            tx.update(&es.value, es.version, "EServiceDescriptorArchived").await?;
        }
        Ok(())
    }

    pub async fn upgrade_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(actor, a.value.consumer_id, "aggiornare la richiesta di un altro ente")?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", a.value.eservice_id).await?;
        let c: Versioned<Tenant> = self.load(&mut tx, "ente", a.value.consumer_id).await?;
        let new = agreement::upgrade(&mut a.value, &es.value, &c.value, actor.user(), now())?;
        tx.update(&a.value, a.version, "AgreementArchivedByUpgrade").await?;
        tx.insert(&new, "AgreementUpgraded").await?;
        self.commit(tx).await?;
        Ok(new)
    }

    pub async fn clone_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(actor, a.value.consumer_id, "clonare la richiesta di un altro ente")?;
        let existing: Vec<Agreement> = tx
            .list(&[
                ("consumer_id", &a.value.consumer_id.to_string()),
                ("eservice_id", &a.value.eservice_id.to_string()),
            ])
            .await?;
        let new = agreement::clone_rejected(&a.value, &existing, now())?;
        tx.insert(&new, "AgreementAdded").await?;
        self.commit(tx).await?;
        Ok(new)
    }

    pub async fn delete_agreement(&self, actor: &Actor, id: AgreementId) -> AppResult<()> {
        let mut tx = self.begin(actor).await?;
        let a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(actor, a.value.consumer_id, "eliminare la richiesta di un altro ente")?;
        agreement::can_delete(&a.value)?;
        tx.delete(&a.value, a.version, "AgreementDeleted").await?;
        self.commit(tx).await
    }

    async fn change_agreement<R>(
        &self,
        actor: &Actor,
        id: AgreementId,
        side: Option<Party>,
        event: &str,
        f: impl FnOnce(&mut Agreement, Option<UserId>) -> AppResult<R>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        let who_must = match side {
            Some(Party::Producer) => a.value.producer_id,
            _ => a.value.consumer_id,
        };
        require_tenant(actor, who_must, "operazione riservata all'altra parte della richiesta")?;
        f(&mut a.value, actor.user())?;
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    async fn change_agreement_by_party(
        &self,
        actor: &Actor,
        id: AgreementId,
        event: &str,
        f: impl FnOnce(&mut Agreement, Party, Option<UserId>) -> AppResult<()>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(actor).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        let by = party_of(actor, a.value.consumer_id, a.value.producer_id, Party::Consumer)?;
        f(&mut a.value, by, actor.user())?;
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    // -------------------------------------------------------------- purposes

    #[allow(clippy::too_many_arguments)]
    pub async fn create_purpose(
        &self,
        actor: &Actor,
        consumer: TenantId,
        eservice: EServiceId,
        title: &str,
        description: &str,
        daily_calls: u32,
        risk_analysis: Option<RiskAnalysisForm>,
        free_of_charge: Option<String>,
    ) -> AppResult<Purpose> {
        require_tenant(actor, consumer, "creare finalità per un altro ente")?;
        let mut tx = self.begin(actor).await?;
        let _: Versioned<Tenant> = self.load(&mut tx, "ente", consumer).await?;
        let _: Versioned<EService> = self.load(&mut tx, "e-service", eservice).await?;
        let agreements: Vec<Agreement> =
            tx.list(&[("consumer_id", &consumer.to_string()), ("eservice_id", &eservice.to_string())]).await?;
        if !agreements.iter().any(|a| matches!(a.state, AgreementState::Active | AgreementState::Suspended)) {
            return Err(AppError::Invalid(
                "serve una richiesta di fruizione attiva sull'e-service per creare una finalità".into(),
            ));
        }
        let p = purpose::create(
            consumer,
            eservice,
            title.into(),
            description.into(),
            daily_calls,
            risk_analysis,
            free_of_charge.is_some(),
            free_of_charge,
            now(),
        )?;
        tx.insert(&p, "PurposeAdded").await?;
        self.commit(tx).await?;
        Ok(p)
    }

    /// Daily calls already granted on the purpose's e-service, excluding the purpose itself.
    async fn quota(&self, tx: &mut Tx, p: &Purpose) -> AppResult<Quota> {
        let es: Versioned<EService> = self.load(tx, "e-service", p.eservice_id).await?;
        let all: Vec<Purpose> = tx.list(&[("eservice_id", &p.eservice_id.to_string())]).await?;
        let active = |q: &Purpose| -> u64 {
            q.versions.iter().filter(|v| v.state == PurposeVersionState::Active).map(|v| v.daily_calls as u64).sum()
        };
        let others = all.iter().filter(|q| q.id != p.id);
        let total: u64 = others.clone().map(active).sum();
        let mine: u64 = others.filter(|q| q.consumer_id == p.consumer_id).map(active).sum();
        // The limits of the descriptor the consumer's agreement is on.
        let agreements: Vec<Agreement> = tx
            .list(&[("consumer_id", &p.consumer_id.to_string()), ("eservice_id", &p.eservice_id.to_string())])
            .await?;
        let descriptor = agreements
            .iter()
            .find(|a| matches!(a.state, AgreementState::Active | AgreementState::Suspended))
            .and_then(|a| es.value.descriptor(a.descriptor_id))
            .or_else(|| es.value.latest_published())
            .ok_or_else(|| AppError::Invalid("l'e-service non ha versioni pubblicate".into()))?;
        Ok(Quota {
            consumer_active_calls: mine,
            total_active_calls: total,
            per_consumer_limit: descriptor.daily_calls_per_consumer as u64,
            total_limit: descriptor.daily_calls_total as u64,
        })
    }

    async fn agreement_active(&self, tx: &mut Tx, p: &Purpose) -> AppResult<bool> {
        let agreements: Vec<Agreement> = tx
            .list(&[("consumer_id", &p.consumer_id.to_string()), ("eservice_id", &p.eservice_id.to_string())])
            .await?;
        Ok(agreements.iter().any(|a| a.state == AgreementState::Active))
    }

    /// "Pubblica": Active, or WaitingForApproval when over the e-service's quota.
    pub async fn activate_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(actor).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(actor, p.value.consumer_id, "attivare la finalità di un altro ente")?;
        let quota = self.quota(&mut tx, &p.value).await?;
        let active = self.agreement_active(&mut tx, &p.value).await?;
        let consumer: Versioned<Tenant> = self.load(&mut tx, "ente", p.value.consumer_id).await?;
        let check = risk_analysis_check(p.value.risk_analysis.as_ref(), consumer.value.kind);
        let state = purpose::activate(&mut p.value, active, check, &quota, now())?;
        let event = if state == PurposeVersionState::Active { "PurposeActivated" } else { "PurposeWaitingForApproval" };
        tx.update(&p.value, p.version, event).await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn approve_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<Purpose> {
        self.change_purpose(actor, id, Party::Producer, "PurposeVersionApproved", |p| {
            purpose::approve(p, now())?;
            Ok(())
        })
        .await
    }

    pub async fn reject_purpose(&self, actor: &Actor, id: PurposeId, reason: String) -> AppResult<Purpose> {
        self.change_purpose(actor, id, Party::Producer, "PurposeVersionRejected", |p| {
            Ok(purpose::reject(p, reason, now())?)
        })
        .await
    }

    pub async fn archive_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<Purpose> {
        self.change_purpose(actor, id, Party::Consumer, "PurposeArchived", |p| Ok(purpose::archive(p, now())?)).await
    }

    pub async fn new_purpose_version(&self, actor: &Actor, id: PurposeId, daily_calls: u32) -> AppResult<Purpose> {
        let mut tx = self.begin(actor).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(actor, p.value.consumer_id, "modificare la finalità di un altro ente")?;
        let quota = self.quota(&mut tx, &p.value).await?;
        purpose::new_version(&mut p.value, daily_calls, &quota, now())?;
        tx.update(&p.value, p.version, "PurposeNewVersion").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn suspend_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(actor).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
        let by = party_of(actor, p.value.consumer_id, es.value.producer_id, Party::Consumer)?;
        purpose::suspend(&mut p.value, by, now())?;
        tx.update(&p.value, p.version, "PurposeSuspended").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn unsuspend_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(actor).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
        let by = party_of(actor, p.value.consumer_id, es.value.producer_id, Party::Consumer)?;
        let quota = self.quota(&mut tx, &p.value).await?;
        purpose::unsuspend(&mut p.value, by, &quota, now())?;
        tx.update(&p.value, p.version, "PurposeUnsuspended").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn delete_purpose(&self, actor: &Actor, id: PurposeId) -> AppResult<()> {
        let mut tx = self.begin(actor).await?;
        let p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(actor, p.value.consumer_id, "eliminare la finalità di un altro ente")?;
        purpose::can_delete(&p.value)?;
        // Detach it from every client first, in the same transaction.
        let clients: Vec<Client> = tx.list(&[("consumer_id", &p.value.consumer_id.to_string())]).await?;
        for c in clients.into_iter().filter(|c| c.purposes.contains(&id)) {
            let v: Versioned<Client> = self.load(&mut tx, "client", c.id).await?;
            let mut c = v.value;
            c.purposes.retain(|x| *x != id);
            tx.update(&c, v.version, "ClientPurposeRemoved").await?;
        }
        tx.delete(&p.value, p.version, "PurposeDeleted").await?;
        self.commit(tx).await
    }

    async fn change_purpose(
        &self,
        actor: &Actor,
        id: PurposeId,
        side: Party,
        event: &str,
        f: impl FnOnce(&mut Purpose) -> AppResult<()>,
    ) -> AppResult<Purpose> {
        let mut tx = self.begin(actor).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let owner = match side {
            Party::Consumer => p.value.consumer_id,
            Party::Producer => {
                let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
                es.value.producer_id
            }
        };
        require_tenant(actor, owner, "operazione riservata all'altra parte della finalità")?;
        f(&mut p.value)?;
        tx.update(&p.value, p.version, event).await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    // --------------------------------------------------------------- clients

    #[allow(clippy::too_many_arguments)]
    pub async fn create_client(
        &self,
        actor: &Actor,
        consumer: TenantId,
        kind: ClientKind,
        name: &str,
        description: Option<&str>,
        members: Vec<UserId>,
        admin_id: Option<UserId>,
    ) -> AppResult<Client> {
        require_tenant(actor, consumer, "creare client per un altro ente")?;
        let name = name.trim();
        if name.chars().count() < 5 || name.chars().count() > 60 {
            return Err(AppError::Invalid("il nome del client deve avere da 5 a 60 caratteri".into()));
        }
        if admin_id.is_some() && kind != ClientKind::Api {
            return Err(AppError::Invalid("solo un client API può avere un amministratore".into()));
        }
        let mut tx = self.begin(actor).await?;
        let _: Versioned<Tenant> = self.load(&mut tx, "ente", consumer).await?;
        let client = Client {
            id: ClientId::new(),
            consumer_id: consumer,
            kind,
            name: name.into(),
            description: description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
            members,
            purposes: vec![],
            keys: vec![],
            admin_id,
            created_at: now(),
        };
        tx.insert(&client, "ClientAdded").await?;
        self.commit(tx).await?;
        Ok(client)
    }

    /// Uploads a public key (PEM, or PEM base64-encoded as PDND's API sends it).
    pub async fn add_client_key(&self, actor: &Actor, client: ClientId, name: &str, key: &str) -> AppResult<ClientKey> {
        let name = name.trim();
        if name.chars().count() < 5 || name.chars().count() > 60 {
            return Err(AppError::Invalid("il nome della chiave deve avere da 5 a 60 caratteri".into()));
        }
        let parsed = RsaPublicKey::from_base64_pem(key).map_err(|e| AppError::InvalidKey(e.message_it()))?;
        let mut tx = self.begin(actor).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(actor, c.value.consumer_id, "aggiungere chiavi al client di un altro ente")?;
        if let Some(user) = actor.user() {
            if !c.value.members.contains(&user) {
                return Err(AppError::Forbidden("solo i membri del client possono caricare chiavi".into()));
            }
        }
        if c.value.keys.len() >= 100 {
            return Err(AppError::Invalid("un client può avere al massimo 100 chiavi".into()));
        }
        let kid = parsed.kid();
        tx.add_kid(kid.as_str(), &client.to_string()).await.map_err(|e| match e {
            varco_store::StoreError::Duplicate(_) => {
                AppError::Conflict(format!("la chiave con kid {kid} è già caricata su questa piattaforma"))
            }
            other => other.into(),
        })?;
        let k = ClientKey { kid, name: name.into(), pem: parsed.to_pem(), user_id: actor.user(), created_at: now() };
        c.value.keys.push(k.clone());
        tx.update(&c.value, c.version, "ClientKeyAdded").await?;
        self.commit(tx).await?;
        Ok(k)
    }

    pub async fn delete_client_key(&self, actor: &Actor, client: ClientId, kid: &Kid) -> AppResult<()> {
        let mut tx = self.begin(actor).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(actor, c.value.consumer_id, "eliminare chiavi del client di un altro ente")?;
        let before = c.value.keys.len();
        c.value.keys.retain(|k| &k.kid != kid);
        if c.value.keys.len() == before {
            return Err(not_found("chiave", kid));
        }
        tx.remove_kid(kid.as_str()).await?;
        tx.update(&c.value, c.version, "ClientKeyDeleted").await?;
        self.commit(tx).await
    }

    /// Finalità > "Client associati" > "Aggiungi".
    pub async fn add_client_purpose(
        &self,
        actor: &Actor,
        client: ClientId,
        purpose_id: PurposeId,
    ) -> AppResult<Client> {
        let mut tx = self.begin(actor).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(actor, c.value.consumer_id, "modificare il client di un altro ente")?;
        if c.value.kind != ClientKind::Consumer {
            return Err(AppError::Invalid("solo un client e-service può essere associato a una finalità".into()));
        }
        let p: Versioned<Purpose> = self.load(&mut tx, "finalità", purpose_id).await?;
        if p.value.consumer_id != c.value.consumer_id {
            return Err(AppError::Forbidden("la finalità appartiene a un altro ente".into()));
        }
        if p.value.versions.iter().all(|v| v.state == PurposeVersionState::Archived) {
            return Err(AppError::Invalid("la finalità è archiviata".into()));
        }
        if c.value.purposes.contains(&purpose_id) {
            return Err(AppError::Conflict("il client è già associato alla finalità".into()));
        }
        c.value.purposes.push(purpose_id);
        tx.update(&c.value, c.version, "ClientPurposeAdded").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    pub async fn remove_client_purpose(
        &self,
        actor: &Actor,
        client: ClientId,
        purpose_id: PurposeId,
    ) -> AppResult<Client> {
        let mut tx = self.begin(actor).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(actor, c.value.consumer_id, "modificare il client di un altro ente")?;
        if !c.value.purposes.contains(&purpose_id) {
            return Err(not_found("associazione client-finalità", purpose_id));
        }
        c.value.purposes.retain(|p| *p != purpose_id);
        tx.update(&c.value, c.version, "ClientPurposeRemoved").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }
}

/// The risk analysis must be complete and valid under PDND's rules for the
/// consumer's kind (PA, or PRIVATE for GSP/SCP/private) and the form's version.
pub fn risk_analysis_check(form: Option<&RiskAnalysisForm>, kind: TenantKind) -> Result<(), String> {
    let form = form.ok_or_else(|| "analisi del rischio mancante".to_string())?;
    varco_domain::risk_analysis::validate(form, kind)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
}

/// For display (`isRiskAnalysisValid`) where the consumer's kind is not at hand: valid
/// under the PA or the PRIVATE rules (their versions do not overlap).
pub fn risk_analysis_valid(form: Option<&RiskAnalysisForm>) -> bool {
    [TenantKind::Pa, TenantKind::Private].into_iter().any(|k| risk_analysis_check(form, k).is_ok())
}
