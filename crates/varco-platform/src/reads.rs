//! The reads of an environment, each for a [`Caller`]: what the caller may see is
//! decided here (with the rules of `access.rs`), never by the front that shows it.
//!
//! Refusals follow PDND's machine API, which the front ends reproduce: an agreement
//! of other organisations is 403, a purpose or an e-service the caller may not see
//! is 404 (as if it did not exist), a client of another organisation is visible
//! only as its id and owner.
use crate::access::{Caller, ClientScope};
use crate::{not_found, AppError, AppResult, EnvService};
use varco_domain::*;
use varco_store::{Cond, Query};

/// A window of a list: `offset` items skipped, at most `limit` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Page {
    /// Everything (for callers that show a whole list, e.g. the CLI).
    pub const ALL: Page = Page { offset: 0, limit: usize::MAX };

    /// The same window, asked of the database.
    fn of(self, q: Query) -> Query {
        let limit = (self.limit != usize::MAX).then_some(self.limit as u64);
        q.window(self.offset as u64, limit)
    }

    fn apply<T>(self, all: Vec<T>) -> Paged<T> {
        let total = all.len();
        Paged { items: all.into_iter().skip(self.offset).take(self.limit).collect(), total }
    }
}

/// One page of a list, with the number of items of the whole list.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: usize,
}

/// Filters of the agreement list; an empty list means "any".
#[derive(Debug, Clone, Default)]
pub struct AgreementFilter {
    pub states: Vec<AgreementState>,
    pub producers: Vec<TenantId>,
    pub consumers: Vec<TenantId>,
    pub eservices: Vec<EServiceId>,
    pub descriptors: Vec<DescriptorId>,
}

/// Filters of the purpose list.
#[derive(Debug, Clone, Default)]
pub struct PurposeFilter {
    pub eservices: Vec<EServiceId>,
    pub consumers: Vec<TenantId>,
    /// The producers of the purposes' e-services ("Finalità ricevute": the
    /// caller's own). Checked by [`EnvService::purposes`], not by [`PurposeFilter::matches`],
    /// which sees the purpose only.
    pub producers: Vec<TenantId>,
    /// PDND's rule: a purpose is in a state when one of its versions is, except
    /// ARCHIVED, which needs all of them archived.
    pub states: Vec<PurposeVersionState>,
    /// Case-insensitive part of the title.
    pub title: Option<String>,
}

impl PurposeFilter {
    /// Does the purpose pass every filter that is set?
    pub fn matches(&self, p: &Purpose) -> bool {
        let title = self.title.as_ref().map(|t| t.to_lowercase());
        (self.eservices.is_empty() || self.eservices.contains(&p.eservice_id))
            && (self.consumers.is_empty() || self.consumers.contains(&p.consumer_id))
            && title.as_ref().is_none_or(|t| p.title.to_lowercase().contains(t))
            && (self.states.is_empty() || in_states(p, &self.states))
    }
}

/// Filters of the e-service catalogue.
#[derive(Debug, Clone, Default)]
pub struct EServiceFilter {
    pub producers: Vec<TenantId>,
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    pub technology: Option<Technology>,
    pub mode: Option<EServiceMode>,
}

/// Filters of the client list.
#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    pub consumer: Option<TenantId>,
    /// Case-insensitive part of the name; names are seen by their owner only, so
    /// this matches only the caller's own clients.
    pub name: Option<String>,
}

/// Filters of the tenant list (PDND's `IPACode` / `taxCode`).
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    pub ipa_code: Option<String>,
    pub tax_code: Option<String>,
}

/// A client as the caller may see it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientView {
    /// The caller's own client (and one it may see in full).
    Full(Client),
    /// Somebody else's: only that it exists and whose it is.
    Partial { id: ClientId, consumer_id: TenantId },
}

impl ClientView {
    pub fn of(caller: &Caller, c: Client) -> ClientView {
        if caller.sees_client(&c) {
            ClientView::Full(c)
        } else {
            ClientView::Partial { id: c.id, consumer_id: c.consumer_id }
        }
    }
}

fn in_states(p: &Purpose, states: &[PurposeVersionState]) -> bool {
    let archived = PurposeVersionState::Archived;
    states.iter().any(|s| {
        if *s == archived {
            p.versions.iter().all(|v| v.state == archived)
        } else {
            p.versions.iter().any(|v| v.state == *s)
        }
    })
}

fn is_draft(p: &Purpose) -> bool {
    p.versions.iter().all(|v| v.state == PurposeVersionState::Draft)
}

fn forbidden(what: &str) -> AppError {
    AppError::Forbidden(what.into())
}

impl EnvService<'_> {
    /// A caller authenticated in another environment sees nothing here.
    pub(crate) fn check_env(&self, caller: &Caller) -> AppResult<()> {
        match caller.env() {
            Some(e) if e != self.env => {
                Err(forbidden(&format!("credenziali dell'ambiente {}, non di {}", e.label(), self.env.label())))
            }
            _ => Ok(()),
        }
    }

    // ------------------------------------------------------------ tenants

    /// Tenants are public within an environment.
    pub async fn tenant(&self, caller: &Caller, id: TenantId) -> AppResult<Tenant> {
        self.check_env(caller)?;
        self.get(id, "ente").await
    }

    pub async fn tenants(&self, caller: &Caller, f: &TenantFilter, page: Page) -> AppResult<Paged<Tenant>> {
        self.check_env(caller)?;
        let mut q = Query::new().order_by("name");
        if let Some(c) = &f.ipa_code {
            q = q.with(Cond::Eq("origin", "IPA".into())).with(Cond::Eq("external_value", c.clone()));
        }
        if let Some(c) = &f.tax_code {
            q = q.with(Cond::Ne("origin", "IPA".into())).with(Cond::Eq("external_value", c.clone()));
        }
        self.paged(page.of(q)).await
    }

    pub async fn tenant_by_name(&self, caller: &Caller, name: &str) -> AppResult<Tenant> {
        self.check_env(caller)?;
        self.by_name(name, "ente").await
    }

    // --------------------------------------------------------- attributes

    /// The attribute registry is public within an environment.
    pub async fn attribute(&self, caller: &Caller, id: AttributeId) -> AppResult<Attribute> {
        self.check_env(caller)?;
        self.get(id, "attributo").await
    }

    pub async fn attributes(&self, caller: &Caller, kind: AttributeKind, page: Page) -> AppResult<Paged<Attribute>> {
        self.check_env(caller)?;
        self.paged(page.of(Query::new().with(Cond::Eq("kind", enum_text(kind))).order_by("name"))).await
    }

    // ---------------------------------------------------------- e-services

    /// Drafts are the producer's business: others see published versions only, and
    /// an e-service with nothing published does not exist for them.
    fn visible_eservice(caller: &Caller, mut e: EService) -> Option<EService> {
        if !caller.is(e.producer_id) {
            e.descriptors.retain(|d| d.state != DescriptorState::Draft);
        }
        (!e.descriptors.is_empty()).then_some(e)
    }

    pub async fn eservice(&self, caller: &Caller, id: EServiceId) -> AppResult<EService> {
        self.check_env(caller)?;
        let e: EService = self.get(id, "e-service").await?;
        Self::visible_eservice(caller, e).ok_or_else(|| not_found("e-service", id))
    }

    /// The catalogue, by name.
    pub async fn eservices(&self, caller: &Caller, f: &EServiceFilter, page: Page) -> AppResult<Paged<EService>> {
        self.check_env(caller)?;
        let all: Vec<EService> = self.p.store.all(self.env).await?;
        let name = f.name.as_ref().map(|n| n.to_lowercase());
        let mut all: Vec<EService> = all
            .into_iter()
            .filter(|e| {
                (f.producers.is_empty() || f.producers.contains(&e.producer_id))
                    && name.as_ref().is_none_or(|n| e.name.to_lowercase().contains(n))
                    && f.technology.is_none_or(|t| e.technology == t)
                    && f.mode.is_none_or(|m| e.mode == m)
            })
            .filter_map(|e| Self::visible_eservice(caller, e))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(page.apply(all))
    }

    pub async fn eservice_by_name(&self, caller: &Caller, name: &str) -> AppResult<EService> {
        self.check_env(caller)?;
        let e: EService = self.by_name(name, "e-service").await?;
        let id = e.id;
        Self::visible_eservice(caller, e).ok_or_else(|| not_found("e-service", id))
    }

    // ---------------------------------------------------------- agreements

    /// May the caller see this agreement: its consumer (with Fruizione's roles) or
    /// its producer (with the roles of Richieste ricevute)?
    fn sees_agreement(caller: &Caller, a: &Agreement) -> bool {
        (caller.is(a.consumer_id) && caller.sees_fruizione()) || (caller.is(a.producer_id) && caller.sees_ricevute())
    }

    pub async fn agreement(&self, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
        self.check_env(caller)?;
        let a: Agreement = self.get(id, "richiesta di fruizione").await?;
        if !Self::sees_agreement(caller, &a) {
            return Err(forbidden("la richiesta di fruizione è di altri enti"));
        }
        Ok(a)
    }

    /// The caller's agreements, on either side, oldest first.
    pub async fn agreements(&self, caller: &Caller, f: &AgreementFilter, page: Page) -> AppResult<Paged<Agreement>> {
        self.check_env(caller)?;
        let mut q = Query::new()
            .any_of("state", &f.states.iter().map(|s| enum_text(*s)).collect::<Vec<_>>())
            .any_of("producer_id", &f.producers)
            .any_of("consumer_id", &f.consumers)
            .any_of("eservice_id", &f.eservices)
            .any_of("descriptor_id", &f.descriptors)
            // A stable order, so that pages do not overlap.
            .order_by("created_ms");
        if let Some(me) = caller.tenant() {
            // Only the caller's own, on the sides it may see (an organisation
            // consuming its own e-service is listed once).
            let mut sides = vec![];
            if caller.sees_fruizione() {
                sides.push(vec![("consumer_id", me.to_string())]);
            }
            if caller.sees_ricevute() {
                sides.push(vec![("producer_id", me.to_string())]);
            }
            q = q.with(Cond::AnyOf(sides));
        }
        self.paged(page.of(q)).await
    }

    /// The purposes of an agreement's consumer on its e-service; the producer does
    /// not see drafts.
    pub async fn agreement_purposes(&self, caller: &Caller, id: AgreementId, page: Page) -> AppResult<Paged<Purpose>> {
        let a = self.agreement(caller, id).await?;
        let (consumer, eservice) = (a.consumer_id.to_string(), a.eservice_id.to_string());
        let mut ps: Vec<Purpose> = self
            .p
            .store
            .list(self.env, &[("consumer_id", consumer.as_str()), ("eservice_id", eservice.as_str())])
            .await?;
        if !(caller.is(a.consumer_id) && caller.sees_fruizione()) {
            ps.retain(|p| !is_draft(p));
        }
        ps.sort_by(|x, y| x.created_at.cmp(&y.created_at).then(x.id.cmp(&y.id)));
        Ok(page.apply(ps))
    }

    // ------------------------------------------------------------ purposes

    async fn sees_purpose(&self, caller: &Caller, p: &Purpose) -> AppResult<bool> {
        if caller.is(p.consumer_id) && caller.sees_fruizione() {
            return Ok(true);
        }
        if is_draft(p) || !caller.sees_ricevute() {
            return Ok(false);
        }
        let es: EService = self.get(p.eservice_id, "e-service").await?;
        Ok(caller.is(es.producer_id))
    }

    /// A purpose the caller may see: its own, or one on its e-services once
    /// submitted; anything else is "not found".
    pub async fn purpose(&self, caller: &Caller, id: PurposeId) -> AppResult<Purpose> {
        self.check_env(caller)?;
        let p: Purpose = self.get(id, "finalità").await?;
        if !self.sees_purpose(caller, &p).await? {
            return Err(not_found("finalità", id));
        }
        Ok(p)
    }

    /// The caller's purposes, as consumer and as producer, by title.
    pub async fn purposes(&self, caller: &Caller, f: &PurposeFilter, page: Page) -> AppResult<Paged<Purpose>> {
        self.check_env(caller)?;
        let mut all: Vec<Purpose> = match caller.tenant() {
            None => self.p.store.all(self.env).await?,
            Some(me) => {
                let mut mine = vec![];
                if caller.sees_fruizione() {
                    mine = self.p.store.list(self.env, &[("consumer_id", &me.to_string())]).await?;
                }
                if caller.sees_ricevute() {
                    let own: Vec<EService> = self.p.store.list(self.env, &[("producer_id", &me.to_string())]).await?;
                    for es in own {
                        let theirs: Vec<Purpose> =
                            self.p.store.list(self.env, &[("eservice_id", &es.id.to_string())]).await?;
                        let seen_as_consumer = caller.sees_fruizione();
                        mine.extend(
                            theirs.into_iter().filter(|p| !(is_draft(p) || seen_as_consumer && p.consumer_id == me)),
                        );
                    }
                }
                mine
            }
        };
        if !f.producers.is_empty() {
            let mut theirs = std::collections::HashSet::new();
            for producer in &f.producers {
                let es: Vec<EService> = self.p.store.list(self.env, &[("producer_id", &producer.to_string())]).await?;
                theirs.extend(es.into_iter().map(|e| e.id));
            }
            all.retain(|p| theirs.contains(&p.eservice_id));
        }
        all.retain(|p| f.matches(p));
        all.sort_by(|a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()).then(a.id.cmp(&b.id)));
        Ok(page.apply(all))
    }

    /// The agreement that lets a purpose's consumer use the e-service (active or
    /// suspended, the newest); none is "not found".
    pub async fn purpose_agreement(&self, caller: &Caller, id: PurposeId) -> AppResult<Agreement> {
        let p = self.purpose(caller, id).await?;
        let all: Vec<Agreement> = self
            .p
            .store
            .list(self.env, &[("consumer_id", &p.consumer_id.to_string()), ("eservice_id", &p.eservice_id.to_string())])
            .await?;
        all.into_iter()
            .filter(|a| matches!(a.state, AgreementState::Active | AgreementState::Suspended))
            .max_by_key(|a| a.created_at)
            .ok_or_else(|| not_found("richiesta di fruizione della finalità", id))
    }

    // ------------------------------------------------------------- clients

    /// Any client of the environment, in full only for who may see it so.
    pub async fn client(&self, caller: &Caller, id: ClientId) -> AppResult<ClientView> {
        self.check_env(caller)?;
        Ok(ClientView::of(caller, self.get(id, "client").await?))
    }

    /// A client the caller may see in full (its purposes, keys); others' are 403.
    pub async fn own_client(&self, caller: &Caller, id: ClientId) -> AppResult<Client> {
        match self.client(caller, id).await? {
            ClientView::Full(c) => Ok(c),
            ClientView::Partial { .. } => Err(forbidden("il client è di un altro ente")),
        }
    }

    /// Clients, oldest first. A person sees only its organisation's clients it may
    /// manage; a program sees every client, others' as id and owner only.
    pub async fn clients(&self, caller: &Caller, f: &ClientFilter, page: Page) -> AppResult<Paged<ClientView>> {
        self.check_env(caller)?;
        let mut q = Query::new().order_by("created_ms");
        if let Some(t) = f.consumer {
            q = q.with(Cond::Eq("consumer_id", t.to_string()));
        }
        if let Some(n) = &f.name {
            // Names are seen by their owner only.
            let me = caller.tenant().map(|t| t.to_string());
            q = q.with(Cond::Contains("name", n.clone()));
            if let Some(me) = me {
                q = q.with(Cond::Eq("consumer_id", me));
            }
        }
        let paged: Paged<Client> = match (caller, caller.client_scope()) {
            // People manage their own organisation's clients only: all of them, or
            // (Operatore di sicurezza) those they are members of, which the
            // documents know (filtered here: an organisation has few clients).
            (Caller::Person { tenant, .. }, scope) => {
                let q = q.with(Cond::Eq("consumer_id", tenant.to_string()));
                match scope {
                    ClientScope::All => self.paged(page.of(q)).await?,
                    ClientScope::Member(_) | ClientScope::Nothing => {
                        let (all, _) = self.p.store.query::<Client>(self.env, &q).await?;
                        page.apply(all.into_iter().filter(|c| caller.sees_client(c)).collect())
                    }
                }
            }
            _ => self.paged(page.of(q)).await?,
        };
        Ok(Paged { items: paged.items.into_iter().map(|c| ClientView::of(caller, c)).collect(), total: paged.total })
    }

    /// The purposes a client is associated with (purposes deleted since are skipped).
    pub async fn client_purposes(&self, caller: &Caller, id: ClientId) -> AppResult<Vec<Purpose>> {
        let c = self.own_client(caller, id).await?;
        let mut ids = c.purposes.clone();
        ids.sort_by_key(|p| p.to_string());
        let mut out = vec![];
        for pid in ids {
            match self.get::<Purpose, _>(pid, "finalità").await {
                Ok(p) => out.push(p),
                Err(AppError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A client's keys as JWKs, in upload order.
    pub async fn client_keys(&self, caller: &Caller, id: ClientId) -> AppResult<Vec<serde_json::Value>> {
        let c = self.own_client(caller, id).await?;
        c.keys.iter().map(crate::key_jwk).collect()
    }

    /// A client key as a JWK, with the client holding it. Any caller of the
    /// environment may read it: producers check the evidence of vouchers with it.
    pub async fn client_key_jwk(&self, caller: &Caller, kid: &str) -> AppResult<(ClientId, serde_json::Value)> {
        self.check_env(caller)?;
        let missing = || not_found("chiave", kid);
        let owner = self.p.store.client_of_kid(self.env, kid).await?.ok_or_else(missing)?;
        let client: Client = self.get(owner.parse::<ClientId>().map_err(|_| missing())?, "client").await?;
        let key = client.keys.iter().find(|k| k.kid.as_str() == kid).ok_or_else(missing)?;
        Ok((client.id, crate::key_jwk(key)?))
    }
}

impl EnvService<'_> {
    /// A page of `q`, counted and windowed by the database.
    async fn paged<T: varco_store::Aggregate>(&self, q: Query) -> AppResult<Paged<T>> {
        let (items, total) = self.p.store.query::<T>(self.env, &q).await?;
        Ok(Paged { items, total: total as usize })
    }
}

fn enum_text<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
