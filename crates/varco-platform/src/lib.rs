//! The use cases of Varco's Interoperabilità platform, one environment at a time.
//!
//! Each use case takes a [`Caller`] and decides, with the rules of [`access`], what
//! that caller may see (`reads.rs`) and change (here): load what it needs inside one
//! transaction, let the pure domain function decide, store the result with its
//! event, commit. Nothing here knows about HTTP; the fronts and the CLI call these
//! functions and nothing below them.

pub mod access;
pub mod config;
pub mod demo;
pub mod error;
mod reads;

pub use access::{ApiRole, Caller, Change, ClientScope, ProductRoles};
pub use config::EnvConfig;
pub use error::{AppError, AppResult};
pub use reads::{AgreementFilter, ClientFilter, ClientView, EServiceFilter, Page, Paged, PurposeFilter, TenantFilter};

use access::require_tenant;
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::Notify;
use varco_domain::eservice::DescriptorInput;
use varco_domain::purpose::Quota;
use varco_domain::*;
use varco_jose::RsaPublicKey;
use varco_selfcare::model::{Institution, InstitutionType, Origin};
use varco_store::{Store, Tx, Versioned};

/// Bounds of a client (README, "Security"): with 2048-bit keys a full client stays
/// under the store's 64 KiB per document; larger keys reach that cap sooner, and
/// the store refuses the change with a clear message.
pub const MAX_CLIENT_MEMBERS: usize = 100;
pub const MAX_CLIENT_KEYS: usize = 100;
pub const MAX_CLIENT_PURPOSES: usize = 200;

/// The whole platform: storage plus the configuration of every environment.
#[derive(Clone)]
pub struct Platform {
    /// Private: the fronts reach the data only through the services' rules.
    store: Store,
    configs: Arc<Vec<EnvConfig>>,
    /// Counts this process's commits and wakes whoever follows them: the token
    /// view catches up before it answers, so a removal made here is seen at once.
    pub commits: Arc<LocalCommits>,
}

/// This process's commits: a counter, and a wake-up for the log follower.
#[derive(Default)]
pub struct LocalCommits {
    count: std::sync::atomic::AtomicU64,
    notify: Notify,
}

impl LocalCommits {
    /// How many commits this process has made so far.
    pub fn count(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Called after each commit.
    pub fn bump(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// Resolves at the next commit.
    pub async fn next(&self) {
        self.notify.notified().await
    }
}

impl Platform {
    pub fn new(store: Store, configs: Vec<EnvConfig>) -> Platform {
        Platform { store, configs: Arc::new(configs), commits: Arc::default() }
    }

    /// The audiences of the platform itself, in every environment: no e-service
    /// may publish them (a voucher for one would pass for the platform's own).
    pub fn reserved_audiences(&self) -> Vec<String> {
        self.configs
            .iter()
            .flat_map(|c| [&c.client_assertion_audience, &c.m2m_audience, &c.backoffice_audience, &c.issuer])
            .cloned()
            .collect()
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

/// A stored client key as a JWK.
fn key_jwk(k: &ClientKey) -> AppResult<serde_json::Value> {
    let public = RsaPublicKey::from_pem(&k.pem).map_err(|e| AppError::Internal(format!("chiave {}: {e}", k.kid)))?;
    Ok(public.jwk())
}

/// Which side of an agreement or purpose the caller is on.
fn party_of(caller: &Caller, consumer: TenantId, producer: TenantId, default: Party) -> AppResult<Party> {
    match caller.tenant() {
        None => Ok(default),
        Some(t) if t == consumer => Ok(Party::Consumer),
        Some(t) if t == producer => Ok(Party::Producer),
        Some(_) => Err(AppError::Forbidden("operazione non consentita a questo ente".into())),
    }
}

/// The kind of change a party makes on an agreement or a purpose.
fn change_of(by: Party) -> Change {
    match by {
        Party::Consumer => Change::Fruizione,
        Party::Producer => Change::Ricevute,
    }
}

impl EnvService<'_> {
    pub fn env(&self) -> Env {
        self.env
    }

    pub fn config(&self) -> &EnvConfig {
        self.p.config(self.env)
    }

    /// Starts a change: the caller must be of this environment and allowed this kind
    /// of change; whose things it may change is checked once they are loaded.
    async fn begin(&self, caller: &Caller, change: Option<Change>) -> AppResult<Tx> {
        self.check_env(caller)?;
        if let Some(change) = change {
            caller.require(change)?;
        }
        Ok(self.p.store.begin(self.env, caller.actor()).await?)
    }

    async fn commit(&self, tx: Tx) -> AppResult<()> {
        tx.commit().await?;
        self.p.commits.bump();
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

    // ------------------------------------------------- reads (see reads.rs)

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

    async fn get<T: varco_store::Aggregate, I: std::fmt::Display>(&self, id: I, what: &str) -> AppResult<T> {
        self.p.store.get::<T>(self.env, &id.to_string()).await?.map(|v| v.value).ok_or_else(|| not_found(what, id))
    }

    // -------------------------------------------------------------- tenants

    pub async fn create_tenant(&self, caller: &Caller, t: NewTenant) -> AppResult<Tenant> {
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
        if caller.tenant().is_some() {
            return Err(AppError::Forbidden("gli enti sono aggiunti da SelfCare o dall'operatore".into()));
        }
        let mut tx = self.begin(caller, None).await?;
        tx.insert(&tenant, "TenantOnboarded").await?;
        self.commit(tx).await?;
        Ok(tenant)
    }

    /// The tenant of a SelfCare institution in this environment, found by its
    /// SelfCare id (the IPA code is no key: two Enti may share one), or created
    /// from the onboarding on first entry. The one seam between SelfCare and
    /// Interoperabilità: `varco ente add`, the demo world and the back office all
    /// come through here. Only the operator and Varco itself call it.
    pub async fn tenant_for(&self, caller: &Caller, institution: &Institution) -> AppResult<Tenant> {
        let id = institution.id.to_string();
        let find = || async {
            let found: Vec<Tenant> = self.p.store.list(self.env, &[("selfcare_id", id.as_str())]).await?;
            AppResult::Ok(found.into_iter().next())
        };
        if let Some(t) = find().await? {
            return Ok(t);
        }
        let kind = match institution.institution_type {
            InstitutionType::Pa => TenantKind::Pa,
            InstitutionType::Gsp => TenantKind::Gsp,
            InstitutionType::Scp => TenantKind::Scp,
            InstitutionType::Pt | InstitutionType::Psp | InstitutionType::Prv => TenantKind::Private,
        };
        let onboarding = NewTenant {
            name: institution.name.clone(),
            origin: match institution.origin {
                Origin::Ipa => "IPA",
                Origin::Anac => "ANAC",
                Origin::Ivass => "IVASS",
                Origin::Selc => "SELC",
                Origin::Infocamere => "INFOCAMERE",
                Origin::Ade => "ADE",
            }
            .to_string(),
            origin_id: institution.origin_id.clone(),
            kind,
            selfcare_id: Some(id.clone()),
        };
        match self.create_tenant(caller, onboarding).await {
            // Another replica created it meanwhile (the schema allows one).
            Err(AppError::Conflict(_)) => find().await?.ok_or_else(|| not_found("ente SelfCare", &id)),
            other => other,
        }
    }

    pub async fn create_attribute(
        &self,
        caller: &Caller,
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
        if kind == AttributeKind::Certified && caller.tenant().is_some() {
            return Err(AppError::Forbidden("solo un certificatore crea attributi certificati".into()));
        }
        let mut tx = self.begin(caller, Some(Change::Attributi)).await?;
        // Names are unique across the whole registry, whatever the kind.
        let wanted = a.name.to_lowercase();
        let all: Vec<Attribute> = tx.list(&[]).await?;
        if all.iter().any(|x| x.name.to_lowercase() == wanted) {
            return Err(AppError::Conflict(format!("esiste già un attributo di nome {:?}", a.name)));
        }
        tx.insert(&a, "AttributeCreated").await?;
        self.commit(tx).await?;
        Ok(a)
    }

    /// Gives a tenant an attribute: certified (operator/certifier), declared (the
    /// tenant itself), verified (by a producer, recorded in `verified_by`).
    pub async fn assign_attribute(
        &self,
        caller: &Caller,
        tenant: TenantId,
        attribute: AttributeId,
    ) -> AppResult<Tenant> {
        let mut tx = self.begin(caller, None).await?;
        let attr: Versioned<Attribute> = self.load(&mut tx, "attributo", attribute).await?;
        let mut t: Versioned<Tenant> = self.load(&mut tx, "ente", tenant).await?;
        let kind = attr.value.kind;
        match kind {
            AttributeKind::Declared => {
                caller.require(Change::Attributi)?;
                require_tenant(caller, tenant, "dichiarare attributi per un altro ente")?
            }
            AttributeKind::Certified => {
                if caller.tenant().is_some() {
                    return Err(AppError::Forbidden("solo un certificatore assegna attributi certificati".into()));
                }
            }
            // "Verifica attributo" is a producer's decision on a request it received.
            AttributeKind::Verified => {
                caller.require(Change::Ricevute)?;
                self.require_verifier(&mut tx, caller, tenant, attribute).await?;
            }
        }
        let verifier = if kind == AttributeKind::Verified { caller.tenant() } else { None };
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

    pub async fn revoke_attribute(
        &self,
        caller: &Caller,
        tenant: TenantId,
        attribute: AttributeId,
    ) -> AppResult<Tenant> {
        let mut tx = self.begin(caller, None).await?;
        let mut t: Versioned<Tenant> = self.load(&mut tx, "ente", tenant).await?;
        let i = t
            .value
            .attributes
            .iter()
            .position(|a| a.attribute_id == attribute && a.is_active())
            .ok_or_else(|| not_found("attributo dell'ente", attribute))?;
        // For a verified attribute: the producer whose verification goes.
        let mut verifier = None;
        match t.value.attributes[i].kind {
            AttributeKind::Declared => {
                caller.require(Change::Attributi)?;
                require_tenant(caller, tenant, "revocare attributi di un altro ente")?;
            }
            AttributeKind::Certified if caller.tenant().is_some() => {
                return Err(AppError::Forbidden("solo un certificatore revoca attributi certificati".into()));
            }
            AttributeKind::Certified => {}
            AttributeKind::Verified => {
                caller.require(Change::Ricevute)?;
                let by = caller
                    .tenant()
                    .ok_or_else(|| AppError::Forbidden("solo un erogatore revoca una verifica".into()))?;
                if !t.value.attributes[i].verified_by.contains(&by) {
                    return Err(AppError::Forbidden("il tuo ente non ha verificato questo attributo".into()));
                }
                self.require_verifier(&mut tx, caller, tenant, attribute).await?;
                verifier = Some(by);
            }
        }
        let a = &mut t.value.attributes[i];
        // A producer revokes its own verification; the attribute stays verified
        // while another producer's verification stands.
        if let Some(by) = verifier {
            a.verified_by.retain(|v| *v != by);
        }
        if verifier.is_none() || a.verified_by.is_empty() {
            a.revoked_at = Some(now());
        }
        tx.update(&t.value, t.version, "TenantAttributeRevoked").await?;
        self.commit(tx).await?;
        Ok(t.value)
    }

    /// Verifying `consumer`'s `attribute` is for the producer of an e-service that
    /// requires it, with a request of that consumer (`may_verify_attribute`).
    async fn require_verifier(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        consumer: TenantId,
        attribute: AttributeId,
    ) -> AppResult<()> {
        let producer =
            caller.tenant().ok_or_else(|| AppError::Forbidden("solo un erogatore verifica attributi".into()))?;
        let eservices: Vec<EService> = tx.list(&[("producer_id", &producer.to_string())]).await?;
        let agreements: Vec<Agreement> =
            tx.list(&[("consumer_id", &consumer.to_string()), ("producer_id", &producer.to_string())]).await?;
        if !varco_domain::agreement::may_verify_attribute(producer, consumer, attribute, &eservices, &agreements) {
            return Err(AppError::Forbidden(
                "solo l'erogatore di un e-service che richiede l'attributo, con una richiesta di fruizione di questo ente, può verificarlo o revocarlo".into(),
            ));
        }
        Ok(())
    }

    /// "Dichiara attributo": the caller's own organisation declares a declared
    /// attribute of the registry (any other kind is "not found" here).
    pub async fn declare_attribute(
        &self,
        caller: &Caller,
        tenant: TenantId,
        attribute: AttributeId,
    ) -> AppResult<Tenant> {
        self.check_env(caller)?;
        caller.require(Change::Attributi)?;
        if !caller.is(tenant) {
            return Err(AppError::Forbidden("gli attributi dichiarati li dichiara l'ente stesso".into()));
        }
        let attr: Attribute = self.get(attribute, "attributo dichiarato").await?;
        if attr.kind != AttributeKind::Declared {
            return Err(not_found("attributo dichiarato", attribute));
        }
        self.assign_attribute(caller, tenant, attribute).await
    }

    /// Withdraws a declaration of the caller's own organisation.
    pub async fn revoke_declared_attribute(
        &self,
        caller: &Caller,
        tenant: TenantId,
        attribute: AttributeId,
    ) -> AppResult<Tenant> {
        self.check_env(caller)?;
        caller.require(Change::Attributi)?;
        if !caller.is(tenant) {
            return Err(AppError::Forbidden("gli attributi dichiarati li revoca l'ente stesso".into()));
        }
        let t: Tenant = self.get(tenant, "ente").await?;
        if !t
            .attributes
            .iter()
            .any(|a| a.attribute_id == attribute && a.kind == AttributeKind::Declared && a.is_active())
        {
            return Err(not_found("attributo dichiarato dell'ente", attribute));
        }
        self.revoke_attribute(caller, tenant, attribute).await
    }

    /// "E-mail di contatto" of the caller's own organisation (PDND's tenant mail of
    /// kind CONTACT_EMAIL): the Ente's own data, changed by an Amministratore.
    pub async fn set_contact_email(&self, caller: &Caller, tenant: TenantId, email: &str) -> AppResult<Tenant> {
        let mut tx = self.begin(caller, Some(Change::Attributi)).await?;
        require_tenant(caller, tenant, "modificare i dati di un altro ente")?;
        let email = varco_selfcare::email::Email::parse(email).map_err(|e| AppError::Invalid(e.to_string()))?;
        let mut t: Versioned<Tenant> = self.load(&mut tx, "ente", tenant).await?;
        if t.value.contact_email.as_deref() == Some(email.as_str()) {
            // The same address again: nothing to record.
            return Ok(t.value);
        }
        t.value.contact_email = Some(email.as_str().to_string());
        tx.update(&t.value, t.version, "TenantContactEmailUpdated").await?;
        self.commit(tx).await?;
        Ok(t.value)
    }

    // ------------------------------------------------------------ e-services

    pub async fn create_eservice(
        &self,
        caller: &Caller,
        producer: TenantId,
        name: &str,
        description: &str,
        technology: Technology,
        mode: EServiceMode,
    ) -> AppResult<EService> {
        self.insert_eservice(caller, producer, name, description, technology, mode, None).await
    }

    /// Creates an e-service with its first (draft) version, as PDND's API does, in
    /// one transaction: a version refused leaves no e-service behind.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_eservice_with_version(
        &self,
        caller: &Caller,
        producer: TenantId,
        name: &str,
        description: &str,
        technology: Technology,
        mode: EServiceMode,
        first: DescriptorInput,
    ) -> AppResult<EService> {
        self.insert_eservice(caller, producer, name, description, technology, mode, Some((first, false))).await
    }

    /// The back office's "Informazioni generali": a new e-service with its draft
    /// version (still without audience, see [`eservice::save_draft_descriptor`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_eservice_draft(
        &self,
        caller: &Caller,
        producer: TenantId,
        name: &str,
        description: &str,
        technology: Technology,
        mode: EServiceMode,
        first: DescriptorInput,
    ) -> AppResult<EService> {
        self.insert_eservice(caller, producer, name, description, technology, mode, Some((first, true))).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_eservice(
        &self,
        caller: &Caller,
        producer: TenantId,
        name: &str,
        description: &str,
        technology: Technology,
        mode: EServiceMode,
        first: Option<(DescriptorInput, bool)>,
    ) -> AppResult<EService> {
        require_tenant(caller, producer, "creare e-service per un altro ente")?;
        let mut tx = self.begin(caller, Some(Change::Erogazione)).await?;
        let _: Versioned<Tenant> = self.load(&mut tx, "ente", producer).await?;
        let mut es = eservice::new_eservice(producer, name.into(), description.into(), technology, mode, now())?;
        match first {
            Some((first, true)) => drop(eservice::save_draft_descriptor(&mut es, first, now())?),
            Some((first, false)) => drop(eservice::add_descriptor(&mut es, first, now())?),
            None => {}
        }
        tx.insert(&es, "EServiceAdded").await?;
        self.commit(tx).await?;
        Ok(es)
    }

    pub async fn add_descriptor(
        &self,
        caller: &Caller,
        id: EServiceId,
        input: DescriptorInput,
    ) -> AppResult<DescriptorId> {
        self.change_eservice(caller, id, "EServiceDescriptorAdded", |es, _| {
            Ok(eservice::add_descriptor(es, input, now())?)
        })
        .await
    }

    pub async fn publish_descriptor(&self, caller: &Caller, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Erogazione)).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(caller, es.value.producer_id, "pubblicare e-service di un altro ente")?;
        // Audiences are owned: the first producer to publish one holds it until every
        // version using it is archived. Publications are serialised so two producers
        // cannot both find one free.
        tx.serialise("audiences").await?;
        let all: Vec<EService> = tx.list(&[]).await?;
        eservice::check_audiences_free(&es.value, d, &all, &self.p.reserved_audiences())?;
        let agreements: Vec<Agreement> = tx.list(&[("eservice_id", &id.to_string())]).await?;
        let has = |desc: DescriptorId| {
            agreements.iter().any(|a| a.descriptor_id == desc && a.state != AgreementState::Archived)
        };
        eservice::publish_descriptor(&mut es.value, d, &has, now())?;
        tx.update(&es.value, es.version, "EServiceDescriptorPublished").await?;
        self.commit(tx).await
    }

    pub async fn suspend_descriptor(&self, caller: &Caller, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        self.change_eservice(caller, id, "EServiceDescriptorSuspended", |es, _| {
            Ok(eservice::suspend_descriptor(es, d, now())?)
        })
        .await
    }

    pub async fn unsuspend_descriptor(&self, caller: &Caller, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        self.change_eservice(caller, id, "EServiceDescriptorActivated", |es, _| {
            eservice::unsuspend_descriptor(es, d, now())?;
            Ok(())
        })
        .await
    }

    /// The back office's steps save the one draft version (created if there is none,
    /// e.g. for "Crea nuova versione").
    pub async fn save_draft_descriptor(
        &self,
        caller: &Caller,
        id: EServiceId,
        input: DescriptorInput,
    ) -> AppResult<DescriptorId> {
        self.change_eservice(caller, id, "EServiceDraftDescriptorUpdated", |es, _| {
            Ok(eservice::save_draft_descriptor(es, input, now())?)
        })
        .await
    }

    /// Why `audience` cannot be the audience of version `d`, if it cannot: its form,
    /// the platform's own audiences, another producer's. Said while the producer
    /// fills the field; [`EnvService::publish_descriptor`] checks again, serialised.
    pub async fn audience_refusal(
        &self,
        caller: &Caller,
        id: EServiceId,
        d: DescriptorId,
        audience: &str,
    ) -> AppResult<Option<String>> {
        let mut es = self.eservice(caller, id).await?;
        if let Err(e) = eservice::check_audience(audience.trim()) {
            return Ok(Some(AppError::from(e).to_string()));
        }
        let Some(desc) = es.descriptors.iter_mut().find(|x| x.id == d) else {
            return Err(not_found("versione dell'e-service", d));
        };
        desc.audience = vec![audience.trim().to_string()];
        let all: Vec<EService> = self.p.store.all(self.env).await?;
        Ok(eservice::check_audiences_free(&es, d, &all, &self.p.reserved_audiences())
            .err()
            .map(|e| AppError::from(e).to_string()))
    }

    /// The draft version's interface file: parsed whole under
    /// [`varco_interface`]'s bounds before anything is written, then stored with
    /// the e-service's update in one transaction (a refused file leaves nothing).
    pub async fn set_draft_interface(
        &self,
        caller: &Caller,
        id: EServiceId,
        d: DescriptorId,
        bytes: &[u8],
    ) -> AppResult<InterfaceMeta> {
        caller.require(Change::Erogazione)?;
        let es = self.eservice(caller, id).await?;
        require_tenant(caller, es.producer_id, "modificare e-service di un altro ente")?;
        let file = varco_interface::check(bytes, es.technology).map_err(|e| AppError::Invalid(e.to_string()))?;
        let slug: String = es
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let version = es.descriptor(d).map(|x| x.version).unwrap_or(0);
        let summary = match &file.described {
            varco_interface::Described::OpenApi { openapi, title, version, paths } => {
                format!(
                    "OpenAPI {openapi} «{title}» {version}, {paths} {}",
                    if *paths == 1 { "percorso" } else { "percorsi" }
                )
            }
            varco_interface::Described::Wsdl { wsdl_version, services } => {
                format!("WSDL {}, servizi: {}", if *wsdl_version == 1 { "1.1" } else { "2.0" }, services.join(", "))
            }
        };
        let at = now();
        let meta = InterfaceMeta {
            name: format!("{}-v{version}.{}", if slug.is_empty() { "interfaccia" } else { &slug }, file.extension()),
            content_type: file.content_type().to_string(),
            sha256: file.sha256.clone(),
            size: file.size as u64,
            summary: summary.chars().take(200).collect(),
            uploaded_at: at,
        };
        let mut tx = self.begin(caller, Some(Change::Erogazione)).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(caller, es.value.producer_id, "modificare e-service di un altro ente")?;
        eservice::set_draft_interface(&mut es.value, d, meta.clone())?;
        tx.update(&es.value, es.version, "EServiceDescriptorInterfaceAdded").await?;
        tx.put_interface_file(&id.to_string(), &d.to_string(), &file.sha256, bytes, at.timestamp_millis()).await?;
        self.commit(tx).await?;
        Ok(meta)
    }

    /// A version's interface file, for whoever sees the version (the producer, any
    /// of its drafts; everyone else, the published ones: the catalogue's).
    pub async fn interface_file(
        &self,
        caller: &Caller,
        id: EServiceId,
        d: DescriptorId,
    ) -> AppResult<(InterfaceMeta, Vec<u8>)> {
        let es = self.eservice(caller, id).await?;
        let meta = es
            .descriptor(d)
            .and_then(|x| x.interface.clone())
            .ok_or_else(|| not_found("interfaccia della versione", d))?;
        let bytes = self
            .p
            .store
            .interface_file(self.env, &d.to_string())
            .await?
            .ok_or_else(|| not_found("interfaccia della versione", d))?;
        Ok((meta, bytes))
    }

    /// "Archivia versione": a version that is no longer the current one, once no
    /// richiesta di fruizione uses it (archived and refused ones do not count).
    pub async fn archive_descriptor(&self, caller: &Caller, id: EServiceId, d: DescriptorId) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Erogazione)).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(caller, es.value.producer_id, "archiviare versioni di e-service di un altro ente")?;
        let agreements: Vec<Agreement> = tx.list(&[("descriptor_id", &d.to_string())]).await?;
        let live = agreements
            .iter()
            .filter(|a| !matches!(a.state, AgreementState::Archived | AgreementState::Rejected))
            .count();
        if live > 0 {
            return Err(AppError::Conflict(format!(
                "la versione ha ancora {live} richieste di fruizione non archiviate: si archivia quando nessun \
                 fruitore la usa più"
            )));
        }
        eservice::archive_descriptor(&mut es.value, d, now())?;
        tx.update(&es.value, es.version, "EServiceDescriptorArchived").await?;
        self.commit(tx).await
    }

    /// Quotas of a live (or draft) version; PDND lets producers change them after
    /// publication, so unlike the rest of a descriptor they are not frozen.
    pub async fn update_descriptor_quotas(
        &self,
        caller: &Caller,
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
        self.change_eservice(caller, id, "EServiceDescriptorQuotasUpdated", |es, _| {
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
        caller: &Caller,
        id: EServiceId,
        event: &str,
        f: impl FnOnce(&mut EService, &Caller) -> AppResult<R>,
    ) -> AppResult<R> {
        let mut tx = self.begin(caller, Some(Change::Erogazione)).await?;
        let mut es: Versioned<EService> = self.load(&mut tx, "e-service", id).await?;
        require_tenant(caller, es.value.producer_id, "modificare e-service di un altro ente")?;
        let r = f(&mut es.value, caller)?;
        tx.update(&es.value, es.version, event).await?;
        self.commit(tx).await?;
        Ok(r)
    }

    // ------------------------------------------------------------ agreements

    /// "Richiedi fruizione": a Draft agreement on the latest published version.
    pub async fn create_agreement(
        &self,
        caller: &Caller,
        consumer: TenantId,
        eservice: EServiceId,
    ) -> AppResult<Agreement> {
        require_tenant(caller, consumer, "richiedere fruizione per un altro ente")?;
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
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
        caller: &Caller,
        id: AgreementId,
        notes: Option<String>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "inoltrare la richiesta di un altro ente")?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", a.value.eservice_id).await?;
        let c: Versioned<Tenant> = self.load(&mut tx, "ente", a.value.consumer_id).await?;
        agreement::submit(&mut a.value, &es.value, &c.value, notes, caller.user(), now())?;
        let event = match a.value.state {
            AgreementState::Active => "AgreementActivated",
            AgreementState::Pending => "AgreementSubmitted",
            _ => "AgreementSubmittedMissingAttributes",
        };
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    /// "Salva bozza": the message for the producer on a Draft.
    pub async fn update_agreement_draft(
        &self,
        caller: &Caller,
        id: AgreementId,
        notes: Option<String>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "modificare la richiesta di un altro ente")?;
        agreement::update_draft(&mut a.value, notes, now())?;
        tx.update(&a.value, a.version, "AgreementUpdated").await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    pub async fn approve_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement(caller, id, Some(Party::Producer), "AgreementActivated", |a, who| {
            Ok(agreement::approve(a, who, now())?)
        })
        .await
    }

    pub async fn reject_agreement(&self, caller: &Caller, id: AgreementId, reason: String) -> AppResult<Agreement> {
        self.change_agreement(caller, id, Some(Party::Producer), "AgreementRejected", |a, who| {
            Ok(agreement::reject(a, reason, who, now())?)
        })
        .await
    }

    pub async fn suspend_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement_by_party(caller, id, "AgreementSuspended", |a, by, who| {
            Ok(agreement::suspend(a, by, who, now())?)
        })
        .await
    }

    pub async fn unsuspend_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        self.change_agreement_by_party(caller, id, "AgreementUnsuspended", |a, by, who| {
            Ok(agreement::unsuspend(a, by, who, now())?)
        })
        .await
    }

    pub async fn archive_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "archiviare la richiesta di un altro ente")?;
        agreement::archive(&mut a.value, caller.user(), now())?;
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

    pub async fn upgrade_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "aggiornare la richiesta di un altro ente")?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", a.value.eservice_id).await?;
        let c: Versioned<Tenant> = self.load(&mut tx, "ente", a.value.consumer_id).await?;
        let new = agreement::upgrade(&mut a.value, &es.value, &c.value, caller.user(), now())?;
        tx.update(&a.value, a.version, "AgreementArchivedByUpgrade").await?;
        // The old version may have lost its last agreement with this.
        self.archive_descriptor_if_unused(&mut tx, &a.value).await?;
        tx.insert(&new, "AgreementUpgraded").await?;
        self.commit(tx).await?;
        Ok(new)
    }

    pub async fn clone_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "clonare la richiesta di un altro ente")?;
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

    pub async fn delete_agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        require_tenant(caller, a.value.consumer_id, "eliminare la richiesta di un altro ente")?;
        agreement::can_delete(&a.value)?;
        tx.delete(&a.value, a.version, "AgreementDeleted").await?;
        self.commit(tx).await
    }

    async fn change_agreement<R>(
        &self,
        caller: &Caller,
        id: AgreementId,
        side: Option<Party>,
        event: &str,
        f: impl FnOnce(&mut Agreement, Option<UserId>) -> AppResult<R>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, None).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        let (who_must, change) = match side {
            Some(Party::Producer) => (a.value.producer_id, Change::Ricevute),
            _ => (a.value.consumer_id, Change::Fruizione),
        };
        caller.require(change)?;
        require_tenant(caller, who_must, "operazione riservata all'altra parte della richiesta")?;
        f(&mut a.value, caller.user())?;
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    async fn change_agreement_by_party(
        &self,
        caller: &Caller,
        id: AgreementId,
        event: &str,
        f: impl FnOnce(&mut Agreement, Party, Option<UserId>) -> AppResult<()>,
    ) -> AppResult<Agreement> {
        let mut tx = self.begin(caller, None).await?;
        let mut a: Versioned<Agreement> = self.load(&mut tx, "richiesta di fruizione", id).await?;
        let by = party_of(caller, a.value.consumer_id, a.value.producer_id, Party::Consumer)?;
        caller.require(change_of(by))?;
        f(&mut a.value, by, caller.user())?;
        tx.update(&a.value, a.version, event).await?;
        self.commit(tx).await?;
        Ok(a.value)
    }

    // -------------------------------------------------------------- purposes

    #[allow(clippy::too_many_arguments)]
    pub async fn create_purpose(
        &self,
        caller: &Caller,
        consumer: TenantId,
        eservice: EServiceId,
        title: &str,
        description: &str,
        daily_calls: u32,
        risk_analysis: Option<RiskAnalysisForm>,
        free_of_charge: Option<String>,
    ) -> AppResult<Purpose> {
        require_tenant(caller, consumer, "creare finalità per un altro ente")?;
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
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

    /// "Modifica bozza": replaces what the consumer wrote while the purpose is a
    /// draft (title, description, daily calls, risk analysis, free of charge).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_purpose(
        &self,
        caller: &Caller,
        id: PurposeId,
        title: &str,
        description: &str,
        daily_calls: u32,
        risk_analysis: Option<RiskAnalysisForm>,
        free_of_charge: Option<String>,
    ) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(caller, p.value.consumer_id, "modificare la finalità di un altro ente")?;
        purpose::update_draft(
            &mut p.value,
            title.into(),
            description.into(),
            daily_calls,
            risk_analysis,
            free_of_charge.is_some(),
            free_of_charge,
            now(),
        )?;
        tx.update(&p.value, p.version, "PurposeUpdated").await?;
        self.commit(tx).await?;
        Ok(p.value)
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
    pub async fn activate_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(caller, p.value.consumer_id, "attivare la finalità di un altro ente")?;
        let quota = self.quota(&mut tx, &p.value).await?;
        let active = self.agreement_active(&mut tx, &p.value).await?;
        let consumer: Versioned<Tenant> = self.load(&mut tx, "ente", p.value.consumer_id).await?;
        let check = risk_analysis_check(p.value.risk_analysis.as_ref(), consumer.value.kind, now());
        let state = purpose::activate(&mut p.value, active, check, &quota, now())?;
        let event = if state == PurposeVersionState::Active { "PurposeActivated" } else { "PurposeWaitingForApproval" };
        tx.update(&p.value, p.version, event).await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn approve_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        self.change_purpose(caller, id, Party::Producer, "PurposeVersionApproved", |p| {
            purpose::approve(p, now())?;
            Ok(())
        })
        .await
    }

    pub async fn reject_purpose(&self, caller: &Caller, id: PurposeId, reason: String) -> AppResult<Purpose> {
        self.change_purpose(caller, id, Party::Producer, "PurposeVersionRejected", |p| {
            Ok(purpose::reject(p, reason, now())?)
        })
        .await
    }

    pub async fn archive_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        self.change_purpose(caller, id, Party::Consumer, "PurposeArchived", |p| Ok(purpose::archive(p, now())?)).await
    }

    pub async fn new_purpose_version(&self, caller: &Caller, id: PurposeId, daily_calls: u32) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(caller, p.value.consumer_id, "modificare la finalità di un altro ente")?;
        let quota = self.quota(&mut tx, &p.value).await?;
        purpose::new_version(&mut p.value, daily_calls, &quota, now())?;
        tx.update(&p.value, p.version, "PurposeNewVersion").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn suspend_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, None).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
        let by = party_of(caller, p.value.consumer_id, es.value.producer_id, Party::Consumer)?;
        caller.require(change_of(by))?;
        purpose::suspend(&mut p.value, by, now())?;
        tx.update(&p.value, p.version, "PurposeSuspended").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn unsuspend_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, None).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
        let by = party_of(caller, p.value.consumer_id, es.value.producer_id, Party::Consumer)?;
        caller.require(change_of(by))?;
        let quota = self.quota(&mut tx, &p.value).await?;
        purpose::unsuspend(&mut p.value, by, &quota, now())?;
        tx.update(&p.value, p.version, "PurposeUnsuspended").await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    pub async fn delete_purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Fruizione)).await?;
        let p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        require_tenant(caller, p.value.consumer_id, "eliminare la finalità di un altro ente")?;
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
        caller: &Caller,
        id: PurposeId,
        side: Party,
        event: &str,
        f: impl FnOnce(&mut Purpose) -> AppResult<()>,
    ) -> AppResult<Purpose> {
        let mut tx = self.begin(caller, Some(change_of(side))).await?;
        let mut p: Versioned<Purpose> = self.load(&mut tx, "finalità", id).await?;
        let owner = match side {
            Party::Consumer => p.value.consumer_id,
            Party::Producer => {
                let es: Versioned<EService> = self.load(&mut tx, "e-service", p.value.eservice_id).await?;
                es.value.producer_id
            }
        };
        require_tenant(caller, owner, "operazione riservata all'altra parte della finalità")?;
        f(&mut p.value)?;
        tx.update(&p.value, p.version, event).await?;
        self.commit(tx).await?;
        Ok(p.value)
    }

    // --------------------------------------------------------------- clients

    #[allow(clippy::too_many_arguments)]
    pub async fn create_client(
        &self,
        caller: &Caller,
        consumer: TenantId,
        kind: ClientKind,
        name: &str,
        description: Option<&str>,
        members: Vec<UserId>,
        admin_id: Option<UserId>,
    ) -> AppResult<Client> {
        require_tenant(caller, consumer, "creare client per un altro ente")?;
        let name = name.trim();
        if name.chars().count() < 5 || name.chars().count() > 60 {
            return Err(AppError::Invalid("il nome del client deve avere da 5 a 60 caratteri".into()));
        }
        if admin_id.is_some() && kind != ClientKind::Api {
            return Err(AppError::Invalid("solo un client API può avere un amministratore".into()));
        }
        if description.is_some_and(|d| d.trim().chars().count() > 250) {
            return Err(AppError::Invalid("la descrizione del client può avere al massimo 250 caratteri".into()));
        }
        let mut members = members;
        members.sort();
        members.dedup();
        if members.len() > MAX_CLIENT_MEMBERS {
            return Err(AppError::Invalid(format!("un client può avere al massimo {MAX_CLIENT_MEMBERS} membri")));
        }
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
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
    pub async fn add_client_key(
        &self,
        caller: &Caller,
        client: ClientId,
        name: &str,
        key: &str,
    ) -> AppResult<ClientKey> {
        let name = name.trim();
        if name.chars().count() < 5 || name.chars().count() > 60 {
            return Err(AppError::Invalid("il nome della chiave deve avere da 5 a 60 caratteri".into()));
        }
        let parsed = RsaPublicKey::from_base64_pem(key).map_err(|e| AppError::InvalidKey(e.message_it()))?;
        let mut tx = self.begin(caller, Some(Change::Chiavi)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "aggiungere chiavi al client di un altro ente")?;
        if let Some(user) = caller.user() {
            if !c.value.members.contains(&user) {
                return Err(AppError::Forbidden(
                    "per caricare una chiave devi prima aggiungerti ai membri del client".into(),
                ));
            }
        }
        if c.value.keys.len() >= MAX_CLIENT_KEYS {
            return Err(AppError::Invalid(format!("un client può avere al massimo {MAX_CLIENT_KEYS} chiavi")));
        }
        let kid = parsed.kid();
        tx.add_kid(kid.as_str(), &client.to_string()).await.map_err(|e| match e {
            varco_store::StoreError::Duplicate(_) => {
                AppError::Conflict(format!("la chiave con kid {kid} è già caricata su questa piattaforma"))
            }
            other => other.into(),
        })?;
        let k = ClientKey { kid, name: name.into(), pem: parsed.to_pem(), user_id: caller.user(), created_at: now() };
        c.value.keys.push(k.clone());
        tx.update(&c.value, c.version, "ClientKeyAdded").await?;
        self.commit(tx).await?;
        Ok(k)
    }

    pub async fn delete_client_key(&self, caller: &Caller, client: ClientId, kid: &Kid) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Chiavi)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "eliminare chiavi del client di un altro ente")?;
        // An Operatore di sicurezza manages only the clients it belongs to.
        if !caller.sees_client(&c.value) {
            return Err(AppError::Forbidden("solo i membri del client possono eliminarne le chiavi".into()));
        }
        let before = c.value.keys.len();
        c.value.keys.retain(|k| &k.kid != kid);
        if c.value.keys.len() == before {
            return Err(not_found("chiave", kid));
        }
        tx.remove_kid(kid.as_str()).await?;
        tx.update(&c.value, c.version, "ClientKeyDeleted").await?;
        self.commit(tx).await
    }

    /// "Membri del client" > "Aggiungi": a person of the organisation joins the client.
    pub async fn add_client_member(&self, caller: &Caller, client: ClientId, user: UserId) -> AppResult<Client> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "modificare il client di un altro ente")?;
        if c.value.members.contains(&user) {
            return Err(AppError::Conflict("la persona è già membro del client".into()));
        }
        if c.value.members.len() >= MAX_CLIENT_MEMBERS {
            return Err(AppError::Invalid(format!("un client può avere al massimo {MAX_CLIENT_MEMBERS} membri")));
        }
        c.value.members.push(user);
        tx.update(&c.value, c.version, "ClientUserAdded").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    /// "Membri del client" > "Rimuovi".
    pub async fn remove_client_member(&self, caller: &Caller, client: ClientId, user: UserId) -> AppResult<Client> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "modificare il client di un altro ente")?;
        if !c.value.members.contains(&user) {
            return Err(not_found("membro del client", user));
        }
        c.value.members.retain(|m| *m != user);
        // The admin of a client API is one of its members: leaving, they stop being
        // its admin, and its vouchers no longer name them.
        if c.value.admin_id == Some(user) {
            c.value.admin_id = None;
        }
        tx.update(&c.value, c.version, "ClientUserDeleted").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    /// "Admin API" of a client API Interoperabilità: Seleziona admin / Sostituisci
    /// (`Some`) or Rimuovi (`None`). Its vouchers then carry role m2m-admin and the
    /// adminId, or m2m. PDND wants an admin of the Ente among the client's members:
    /// the platform checks membership (the Ente's roles are SelfCare's, checked by
    /// the pages).
    pub async fn set_client_admin(
        &self,
        caller: &Caller,
        client: ClientId,
        admin: Option<UserId>,
    ) -> AppResult<Client> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "modificare il client di un altro ente")?;
        if c.value.kind != ClientKind::Api {
            return Err(AppError::Invalid("solo un client API può avere un amministratore".into()));
        }
        let event = match admin {
            Some(user) => {
                if !c.value.members.contains(&user) {
                    return Err(AppError::Invalid("l'amministratore deve essere un membro del client".into()));
                }
                "ClientAdminSet"
            }
            None => {
                if c.value.admin_id.is_none() {
                    return Err(not_found("amministratore del client", client));
                }
                "ClientAdminRemoved"
            }
        };
        c.value.admin_id = admin;
        tx.update(&c.value, c.version, event).await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    /// Finalità > "Client associati" > "Aggiungi".
    pub async fn add_client_purpose(
        &self,
        caller: &Caller,
        client: ClientId,
        purpose_id: PurposeId,
    ) -> AppResult<Client> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "modificare il client di un altro ente")?;
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
        if c.value.purposes.len() >= MAX_CLIENT_PURPOSES {
            return Err(AppError::Invalid(format!("un client può avere al massimo {MAX_CLIENT_PURPOSES} finalità")));
        }
        c.value.purposes.push(purpose_id);
        tx.update(&c.value, c.version, "ClientPurposeAdded").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    pub async fn remove_client_purpose(
        &self,
        caller: &Caller,
        client: ClientId,
        purpose_id: PurposeId,
    ) -> AppResult<Client> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let mut c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "modificare il client di un altro ente")?;
        if !c.value.purposes.contains(&purpose_id) {
            return Err(not_found("associazione client-finalità", purpose_id));
        }
        c.value.purposes.retain(|p| *p != purpose_id);
        tx.update(&c.value, c.version, "ClientPurposeRemoved").await?;
        self.commit(tx).await?;
        Ok(c.value)
    }

    /// "Elimina" a client: its keys go with it (their kids are free again) and so do
    /// its associations with finalità; no voucher is issued for it afterwards.
    pub async fn delete_client(&self, caller: &Caller, client: ClientId) -> AppResult<()> {
        let mut tx = self.begin(caller, Some(Change::Client)).await?;
        let c: Versioned<Client> = self.load(&mut tx, "client", client).await?;
        require_tenant(caller, c.value.consumer_id, "eliminare il client di un altro ente")?;
        for k in &c.value.keys {
            tx.remove_kid(k.kid.as_str()).await?;
        }
        tx.delete(&c.value, c.version, "ClientDeleted").await?;
        self.commit(tx).await
    }
}

/// The risk analysis must be complete and valid under PDND's rules for the
/// consumer's kind (PA, or PRIVATE for GSP/SCP/private) and the form's version, and
/// that version must not have expired at `now` (PDND refuses, e.g., PA 3.0 after
/// 2026-02-15T23:59:59Z).
pub fn risk_analysis_check(form: Option<&RiskAnalysisForm>, kind: TenantKind, now: Timestamp) -> Result<(), String> {
    let form = form.ok_or_else(|| "analisi del rischio mancante".to_string())?;
    varco_domain::risk_analysis::validate_at(form, kind, now)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
}

/// For display (`isRiskAnalysisValid`) where the consumer's kind is not at hand: valid
/// under the PA or the PRIVATE rules of its version (their versions do not overlap).
/// The version's expiry is not applied: it stops new activations, while a purpose
/// activated before keeps a valid form, as PDND reports it.
pub fn risk_analysis_valid(form: Option<&RiskAnalysisForm>) -> bool {
    let Some(form) = form else { return false };
    [TenantKind::Pa, TenantKind::Private].into_iter().any(|k| varco_domain::risk_analysis::validate(form, k).is_ok())
}
