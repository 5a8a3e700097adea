//! The token endpoint of every environment (`token.oauth2`), the JWKS, and the
//! "Debug client assertion" tool.
//!
//! The hot path does no database query: client assertions are checked against an
//! in-memory view kept current from the event log, keys are parsed once, the
//! platform key is held ready to sign, and audit rows are written with group commit.

pub mod checks;
pub mod limits;
pub mod signer;
pub mod view;

pub use checks::{Accepted, Finding, Grant, Hardened, Reason, Refusal, Step, Steps};
pub use limits::{RateInfo, Use};

use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use varco_domain::clock::Clock;
use varco_domain::event::AggregateKind;
use varco_domain::Env;
use varco_platform::Platform;
use varco_store::{AuditSink, Backend, Store, StoreError, VoucherAuditRow};

use checks::short;
use limits::{RateLimiter, ReplayCache, ReplayLimits};
use signer::SigningKeys;
use view::EnvView;

/// Lifetime of API (M2M) vouchers, as PDND.
pub const API_VOUCHER_LIFESPAN: i64 = 600;

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Vouchers per organisation per interval (PDND production: 450 per second).
    pub rate_limit: u32,
    pub rate_interval_ms: u64,
    /// Machine API calls per organisation per interval (v2 and v3 together).
    pub api_rate_limit: u32,
    /// Audit records older than this many days are deleted (checked hourly);
    /// `None` keeps them all.
    pub audit_retention_days: Option<u32>,
    pub hardened: Option<Hardened>,
    /// The time the checks, the vouchers and the rate windows go by.
    pub clock: Clock,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            rate_limit: 450,
            rate_interval_ms: 1000,
            api_rate_limit: 450,
            audit_retention_days: None,
            hardened: None,
            clock: Clock::system(),
        }
    }
}

/// The body of a 200 answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[derive(Debug)]
pub struct Issued {
    pub response: TokenResponse,
    pub rate: RateInfo,
}

#[derive(Debug)]
pub enum TokenError {
    /// Any failed check: the wire shows only the generic 400.
    Refused(Refusal),
    RateLimited {
        organization: String,
        rate: RateInfo,
    },
    /// Anything else (audit not stored, ...): 500, no voucher.
    Internal(String),
}

struct EnvState {
    view: RwLock<EnvView>,
    keys: RwLock<Arc<SigningKeys>>,
}

pub struct TokenServer {
    platform: Platform,
    store: Store,
    envs: HashMap<Env, EnvState>,
    audit: AuditSink,
    limiter: RateLimiter,
    api_limiter: RateLimiter,
    /// DPoP proofs spent, at the token endpoint and on the v3 API, per client.
    dpop_seen: ReplayCache,
    /// Hardened mode: client assertions spent, per client.
    assertion_seen: ReplayCache,
    config: TokenConfig,
    /// How far the log has been read, and when the last read started.
    watermark: tokio::sync::Mutex<Follow>,
    /// This process's commit count (`Platform::commits`) when the last read started:
    /// every local commit up to it is in the view.
    synced_commits: AtomicU64,
    /// When the last completed read of the log started.
    passes: tokio::sync::watch::Sender<std::time::Instant>,
    /// Reads of the log asked for by token requests (not by the follower).
    demanded_reads: AtomicU64,
    /// Events read (and decoded) from the log since the start.
    events_read: AtomicU64,
}

/// On PostgreSQL, sequence numbers are taken before commit, so a transaction can
/// become visible after a later one: the numbers skipped in the last this-many are
/// asked for again at each read (only those: nothing is read or decoded twice).
/// Applying an event late is harmless (the view keeps the newest per aggregate).
const PG_LOOKBACK: i64 = 200;

/// The position in the event log.
struct Follow {
    /// The highest sequence number read.
    mark: i64,
    /// Numbers below `mark` not seen yet (PostgreSQL: maybe still committing).
    gaps: std::collections::BTreeSet<i64>,
    /// When the last read started.
    started: std::time::Instant,
}

/// The DPoP replay cache's bounds. A proof is accepted while its `iat` is within
/// the leeways, so it is remembered as long. Per client: 450 vouchers/s (the default
/// rate) for 70 s is 31,500 proofs; at most 600,000 in all is about 40 MiB.
pub const DPOP_CACHE: ReplayLimits = ReplayLimits {
    max_ttl_secs: varco_jose::DPOP_IAT_LEEWAY_PAST + 2 * varco_jose::DPOP_IAT_LEEWAY_FUTURE,
    per_owner: 40_000,
    total: 600_000,
};

/// Why a DPoP proof is refused, on the token endpoint or the v3 API.
#[derive(Debug)]
pub enum DpopRefusal {
    /// Malformed, badly signed, for another request, out of its time window.
    Invalid(String),
    /// Its jti was already spent.
    Replayed,
    /// The replay cache is full for this client: try again later (429).
    Busy,
}

impl std::fmt::Display for DpopRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DpopRefusal::Invalid(why) => f.write_str(why),
            DpopRefusal::Replayed => f.write_str("the DPoP proof was already used"),
            DpopRefusal::Busy => f.write_str("too many live DPoP proofs for this client"),
        }
    }
}

impl TokenServer {
    /// Builds the views from the database and starts following the event log.
    /// `store` is the database under `platform`: the view reads the event log and
    /// the signing keys from it directly.
    pub async fn start(store: Store, platform: Platform, config: TokenConfig) -> Result<Arc<TokenServer>, StoreError> {
        let watermark = store.last_event_seq().await?;
        let mut envs = HashMap::new();
        for env in Env::ALL {
            let mut view = EnvView::default();
            for c in store.all(env).await? {
                view.put_client(&c);
            }
            for p in store.all(env).await? {
                view.put_purpose(&p);
            }
            for a in store.all(env).await? {
                view.put_agreement(&a);
            }
            for e in store.all(env).await? {
                view.put_eservice(&e);
            }
            let keys = SigningKeys::load_or_create(&store, env, config.clock.now()).await?;
            envs.insert(env, EnvState { view: RwLock::new(view), keys: RwLock::new(keys) });
        }
        let server = Arc::new(TokenServer {
            audit: store.spawn_audit_writer(),
            platform: platform.clone(),
            store: store.clone(),
            envs,
            limiter: RateLimiter::new(config.rate_limit, config.rate_interval_ms),
            api_limiter: RateLimiter::new(config.api_rate_limit, config.rate_interval_ms),
            dpop_seen: ReplayCache::new(DPOP_CACHE),
            assertion_seen: ReplayCache::new(ReplayLimits {
                max_ttl_secs: config.hardened.map_or(0, |h| h.max_remembered_secs()),
                ..DPOP_CACHE
            }),
            config,
            watermark: tokio::sync::Mutex::new(Follow {
                // A transaction still committing while the views were built: the
                // first read takes the look-back again, once.
                mark: if store.backend() == Backend::Postgres { (watermark - PG_LOOKBACK).max(0) } else { watermark },
                gaps: Default::default(),
                started: std::time::Instant::now(),
            }),
            synced_commits: AtomicU64::new(platform.commits.count()),
            passes: tokio::sync::watch::Sender::new(std::time::Instant::now()),
            demanded_reads: AtomicU64::new(0),
            events_read: AtomicU64::new(0),
        });
        if server.config.audit_retention_days.is_some() {
            let weak = Arc::downgrade(&server);
            tokio::spawn(async move {
                loop {
                    let Some(s) = weak.upgrade() else { break };
                    match s.purge_audit().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deleted = n, "voucher audit records past retention deleted"),
                        Err(e) => tracing::error!(error = %e, "cannot delete old voucher audit records"),
                    }
                    drop(s);
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
            });
        }
        // Follow the log: at once after a local commit, and every 250 ms for changes
        // made by other processes (the CLI, other replicas).
        let weak = Arc::downgrade(&server);
        let commits = platform.commits.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = commits.next() => {}
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                }
                let Some(s) = weak.upgrade() else { break };
                if let Err(e) = s.sync().await {
                    tracing::error!(error = %e, "cannot read the event log");
                }
            }
        });
        Ok(server)
    }

    /// Reads the event log from the last position and applies what is new.
    pub async fn sync(&self) -> Result<usize, StoreError> {
        self.sync_since(std::time::Instant::now()).await
    }

    /// Makes sure the log has been read by a pass that started after `since`. Requests
    /// refused for a state reason call this before answering, so a change just made by
    /// another process (the CLI, another replica) is seen. Concurrent callers share
    /// passes: at most one read of the log runs at a time, whatever the load.
    pub async fn sync_since(&self, since: std::time::Instant) -> Result<usize, StoreError> {
        let mut guard = self.watermark.lock().await;
        if guard.started >= since {
            return Ok(0);
        }
        self.pass(&mut guard).await
    }

    /// Makes sure every commit of this process is in the view, so that a removal
    /// made here (a key deleted, an agreement suspended...) refuses the very next
    /// request, whatever the background follower is doing. One atomic read when
    /// nothing was committed since the last pass.
    async fn catch_up_with_local_commits(&self) -> Result<(), StoreError> {
        let wanted = self.platform.commits.count();
        if self.synced_commits.load(Ordering::Acquire) >= wanted {
            return Ok(());
        }
        let mut guard = self.watermark.lock().await;
        if self.synced_commits.load(Ordering::Acquire) >= wanted {
            return Ok(());
        }
        self.pass(&mut guard).await.map(drop)
    }

    /// One read of the log, under the watermark's lock.
    async fn pass(&self, guard: &mut Follow) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        // Read before the log: a commit counted here is already in the database.
        let commits = self.platform.commits.count();
        let applied = self.sync_locked(guard).await?;
        guard.started = started;
        self.synced_commits.fetch_max(commits, Ordering::AcqRel);
        self.passes.send_replace(started);
        Ok(applied)
    }

    /// Waits, without reading anything itself, until a read of the log that started
    /// after `since` has completed (the follower makes one every 250 ms), or 1 s.
    async fn next_pass_after(&self, since: std::time::Instant) {
        let mut rx = self.passes.subscribe();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), rx.wait_for(|started| *started >= since)).await;
    }

    /// Deletes the audit records older than the retention (`audit_retention_days`,
    /// by the platform's clock); without one, nothing. Runs hourly by itself.
    pub async fn purge_audit(&self) -> Result<u64, StoreError> {
        let Some(days) = self.config.audit_retention_days else { return Ok(0) };
        let before = self.now().timestamp_millis().saturating_sub(i64::from(days) * 86_400_000);
        self.store.purge_audit_before(before).await
    }

    /// How many events the follower has read and decoded from the log.
    pub fn events_read(&self) -> u64 {
        self.events_read.load(Ordering::Relaxed)
    }

    /// How many reads of the log token requests have asked for (a signed assertion
    /// refused for a state reason asks for one).
    pub fn demanded_reads(&self) -> u64 {
        self.demanded_reads.load(Ordering::Relaxed)
    }

    async fn sync_locked(&self, f: &mut Follow) -> Result<usize, StoreError> {
        // SQLite has one writer at a time: numbers become visible in order.
        let lookback = if self.store.backend() == Backend::Postgres { PG_LOOKBACK } else { 0 };
        let mut applied = 0;
        loop {
            let gaps: Vec<i64> = f.gaps.iter().copied().collect();
            let events = self.store.events_after_or_in(f.mark, &gaps, 1000).await?;
            self.events_read.fetch_add(events.len() as u64, Ordering::Relaxed);
            let fresh = events.iter().filter(|e| e.seq > f.mark).count();
            let mut rotated = Vec::new();
            let mut next = f.mark;
            for e in &events {
                if e.seq > next {
                    if lookback > 0 {
                        f.gaps.extend(next + 1..e.seq);
                    }
                    next = e.seq;
                } else {
                    f.gaps.remove(&e.seq);
                }
                let Some(state) = self.envs.get(&e.env) else { continue };
                if e.aggregate == AggregateKind::SigningKey {
                    rotated.push(e.env);
                    continue;
                }
                if state.view.write().apply(e) {
                    applied += 1;
                }
            }
            f.mark = next;
            // Older than the look-back: a rolled-back transaction's number, never coming.
            f.gaps = f.gaps.split_off(&(f.mark - lookback));
            for env in rotated {
                let keys = SigningKeys::load_or_create(&self.store, env, self.now()).await?;
                *self.envs[&env].keys.write() = keys;
            }
            if fresh == 0 || events.len() < 1000 {
                break;
            }
        }
        Ok(applied)
    }

    /// Verifies a voucher of this environment's API (M2M) audience, as the machine API
    /// does for every call; returns its claims.
    pub fn verify_api_voucher(
        &self,
        env: Env,
        token: &str,
        now: i64,
    ) -> Result<serde_json::Map<String, Value>, varco_verifier::VerifyError> {
        let cfg = self.platform.config(env);
        let keys = self.envs[&env].keys.read().clone();
        let verifier = varco_verifier::Verifier::from_keys(
            keys.published(self.now()),
            varco_verifier::Expectations::platform_api(cfg.issuer.clone(), cfg.m2m_audience.clone()),
        );
        verifier.verify(token, now)
    }

    /// The platform's time, by the configured clock: the machine API checks its
    /// vouchers and DPoP proofs by it too.
    pub fn now(&self) -> varco_domain::Timestamp {
        self.config.clock.now()
    }

    /// The DPoP rules, for the token endpoint and the v3 API alike: the proof is
    /// checked here, and spent (`spend_dpop`) only once the request is otherwise
    /// accepted, so that a refused or rate-limited request can be retried with it.
    pub fn check_dpop(
        &self,
        proof: &str,
        htm: &str,
        htu: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> Result<varco_jose::DpopProof, DpopRefusal> {
        varco_jose::verify_dpop_proof(proof, htm, htu, now, access_token)
            .map_err(|e| DpopRefusal::Invalid(e.to_string()))
    }

    /// Spends a checked proof of `client`: refused if already spent.
    pub fn spend_dpop(&self, client: &str, proof: &varco_jose::DpopProof, now: i64) -> Result<(), DpopRefusal> {
        let until = proof.iat.saturating_add(varco_jose::DPOP_IAT_LEEWAY_PAST + varco_jose::DPOP_IAT_LEEWAY_FUTURE);
        match self.dpop_seen.first_use(client, &proof.jti, until, now) {
            Use::First => Ok(()),
            Use::Replayed => Err(DpopRefusal::Replayed),
            Use::Full => Err(DpopRefusal::Busy),
        }
    }

    /// Counts one machine API call of `organization` (PDND's X-Rate-Limit-* headers).
    pub fn api_rate_hit(&self, organization: varco_domain::TenantId) -> RateInfo {
        self.api_limiter.hit(organization, self.now().timestamp_millis() as u64)
    }

    /// Gives back a call counted by `api_rate_hit` that was refused after.
    pub fn api_rate_refund(&self, organization: varco_domain::TenantId) {
        self.api_limiter.refund(organization, self.now().timestamp_millis() as u64)
    }

    /// Live entries of the DPoP replay cache and its heap estimate (benchmarks).
    pub fn dpop_cache_stats(&self) -> (usize, usize) {
        (self.dpop_seen.len(), self.dpop_seen.heap_bytes())
    }

    pub fn jwks(&self, env: Env) -> Value {
        self.envs[&env].keys.read().jwks(self.now())
    }

    /// The "Debug client assertion" tool: the same checks as the token endpoint, with
    /// the reason given back instead of hidden.
    pub fn debug(&self, env: Env, client_assertion: &str, client_id: Option<&str>) -> Result<Accepted, Refusal> {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("client_assertion", client_assertion)
            .append_pair("client_assertion_type", checks::ASSERTION_TYPE)
            .append_pair("grant_type", "client_credentials");
        if let Some(c) = client_id {
            body.append_pair("client_id", c);
        }
        let form = checks::parse_form(body.finish().as_bytes())?;
        let cfg = self.platform.config(env);
        let view = self.envs[&env].view.read();
        checks::check_assertion(
            &form,
            &cfg.client_assertion_audience,
            &view,
            self.config.clock.now().timestamp(),
            self.config.hardened,
        )
    }

    /// The "Debug client assertion" tool step by step, with the same checker as the
    /// token endpoint: each step reports all its failures. Only `owner`'s clients are
    /// examined (another organisation's reads as a key not found). A DPoP proof, when
    /// given, is checked as the endpoint would (step 5), without recording its jti.
    pub async fn debug_steps(
        &self,
        env: Env,
        owner: varco_domain::TenantId,
        client_assertion: &str,
        client_id: Option<&str>,
        dpop: Option<&str>,
    ) -> Steps {
        // A change just made (a key uploaded, a purpose activated) counts.
        let _ = self.catch_up_with_local_commits().await;
        let cfg = self.platform.config(env);
        let now_s = self.config.clock.now().timestamp();
        let req = checks::Request {
            client_assertion,
            client_id: client_id.map(|s| s.parse::<varco_domain::ClientId>().map_err(|_| s)),
        };
        let mut steps = {
            let view = self.envs[&env].view.read();
            checks::check_steps(
                &req,
                &cfg.client_assertion_audience,
                &view,
                now_s,
                self.config.hardened,
                Some(owner),
                true,
            )
        };
        if let (Some(proof), Some(_)) = (dpop, &steps.accepted) {
            let found = match self.check_dpop(proof, "POST", &cfg.token_url, None, now_s) {
                Ok(_) => vec![],
                Err(e) => vec![Finding {
                    reason: Reason::DpopProofInvalid,
                    detail: e.to_string(),
                    italian: format!("Il DPoP proof non è valido: {e}"),
                }],
            };
            if !found.is_empty() {
                steps.accepted = None;
            }
            steps.ran.push((Step::Dpop, found));
        }
        steps
    }

    /// Handles one token request. `correlation_id` ties the log line to the answer.
    pub async fn issue(
        &self,
        env: Env,
        body: &[u8],
        dpop: Option<&str>,
        correlation_id: &str,
    ) -> Result<Issued, TokenError> {
        let result = self.issue_inner(env, body, dpop, correlation_id).await;
        if let Err(TokenError::Refused(r)) = &result {
            tracing::warn!(
                correlation_id,
                env = env.slug(),
                reason = r.reason.code(),
                detail = %r.detail,
                "token request refused"
            );
        }
        result
    }

    async fn issue_inner(
        &self,
        env: Env,
        body: &[u8],
        dpop: Option<&str>,
        correlation_id: &str,
    ) -> Result<Issued, TokenError> {
        let cfg = self.platform.config(env);
        let now = self.config.clock.now();
        let now_s = now.timestamp();
        let form = checks::parse_form(body).map_err(TokenError::Refused)?;
        let received = std::time::Instant::now();
        self.catch_up_with_local_commits().await.map_err(|e| TokenError::Internal(e.to_string()))?;
        let req = checks::Request { client_assertion: &form.client_assertion, client_id: form.client_id.map(Ok) };
        let check = || {
            let view = self.envs[&env].view.read();
            checks::check_steps(&req, &cfg.client_assertion_audience, &view, now_s, self.config.hardened, None, false)
        };
        let steps = check();
        let signed = steps.signature_verified();
        let accepted = match steps.outcome() {
            Ok(a) => a,
            Err(r) if r.reason.depends_on_state() => {
                // The view may be a moment behind a change made elsewhere: look
                // again after a newer read of the log. Only a signed assertion may
                // ask for that read; an unknown client or key (anyone can make one
                // up) waits for the follower's next pass instead.
                if signed {
                    self.demanded_reads.fetch_add(1, Ordering::Relaxed);
                    self.sync_since(received).await.map_err(|e| TokenError::Internal(e.to_string()))?;
                } else {
                    self.next_pass_after(received).await;
                }
                check().outcome().map_err(TokenError::Refused)?
            }
            Err(r) => return Err(TokenError::Refused(r)),
        };
        let proof = match dpop {
            None => None,
            Some(proof) => Some(self.check_dpop(proof, "POST", &cfg.token_url, None, now_s).map_err(|e| {
                TokenError::Refused(Refusal { reason: Reason::DpopProofInvalid, detail: e.to_string() })
            })?),
        };
        // Every check passed: count the request, then spend its ids. A request
        // refused here (rate, replay) leaves its proof unspent for a retry.
        let now_ms = now.timestamp_millis() as u64;
        let org = accepted.organization_id;
        let rate = self.limiter.hit(org, now_ms);
        let busy = |rate: RateInfo| TokenError::RateLimited { organization: org.to_string(), rate };
        if !rate.allowed {
            return Err(busy(rate));
        }
        let client = accepted.client_id.to_string();
        if let Some(p) = &proof {
            let spent = self.spend_dpop(&client, p, now_s);
            if spent.is_err() {
                self.limiter.refund(org, now_ms);
            }
            match spent {
                Ok(()) => {}
                Err(DpopRefusal::Busy) => return Err(busy(RateInfo { remaining: 0, allowed: false, ..rate })),
                Err(_) => {
                    return Err(TokenError::Refused(Refusal {
                        reason: Reason::DpopJtiAlreadyUsed,
                        detail: format!("the DPoP proof jti {:?} was already used", short(&p.jti)),
                    }))
                }
            }
        }
        if let Some(h) = self.config.hardened {
            // Accepted until exp + skew, so remembered as long (the checks cap exp).
            let until = accepted.assertion_exp.saturating_add(h.clock_skew_secs);
            match self.assertion_seen.first_use(&client, &accepted.assertion_jti, until, now_s) {
                Use::First => {}
                Use::Replayed => {
                    self.limiter.refund(org, now_ms);
                    return Err(TokenError::Refused(Refusal {
                        reason: Reason::AssertionJtiAlreadyUsed,
                        detail: "this client assertion (jti) was already used".into(),
                    }));
                }
                Use::Full => {
                    self.limiter.refund(org, now_ms);
                    return Err(busy(RateInfo { remaining: 0, allowed: false, ..rate }));
                }
            }
        }
        let jkt = proof.map(|p| p.jkt);

        let jti = uuid::Uuid::new_v4().to_string();
        let (claims, lifespan, audience) = voucher_claims(cfg, &accepted, &jti, now_s, jkt.as_deref());
        let keys = self.envs[&env].keys.read().clone();
        let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": keys.active_kid, "use": "sig" });
        let token = varco_jose::encode_rs256(&header, &claims, &keys.active);

        let record = audit_record(&accepted, &claims, correlation_id, &keys.active_kid);
        self.audit
            .record(VoucherAuditRow {
                jti,
                env: env.slug().to_string(),
                correlation_id: correlation_id.to_string(),
                issued_ms: now.timestamp_millis(),
                client_id: accepted.client_id.to_string(),
                organization_id: accepted.organization_id.to_string(),
                kid: accepted.kid.clone(),
                audience,
                record,
            })
            .await
            .map_err(|e| TokenError::Internal(format!("audit record not stored: {e}")))?;

        Ok(Issued {
            response: TokenResponse {
                access_token: token,
                token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
                expires_in: lifespan,
            },
            rate,
        })
    }
}

/// The client assertion's claims that matter to an audit, each bounded, so that the
/// record is at most `MAX_AUDIT_RECORD` bytes whatever the assertion carried. Its
/// `purposeId` is the record's (checked equal).
fn assertion_summary(claims: &serde_json::Map<String, Value>) -> Value {
    let cut = |s: &str| json!(s.chars().take(40).collect::<String>());
    let mut out = serde_json::Map::new();
    for name in ["jti", "iss", "sub", "aud", "iat", "nbf", "exp"] {
        let Some(v) = claims.get(name) else { continue };
        let v = match v {
            Value::String(s) => cut(s),
            Value::Number(_) => v.clone(),
            other => cut(&other.to_string()),
        };
        out.insert(name.into(), v);
    }
    Value::Object(out)
}

/// The bound on one audit record's JSON.
pub const MAX_AUDIT_RECORD: usize = 2048;

/// The voucher's claims, its lifespan and its audience (as one string).
fn voucher_claims(
    cfg: &varco_platform::EnvConfig,
    a: &Accepted,
    jti: &str,
    iat: i64,
    jkt: Option<&str>,
) -> (Value, i64, String) {
    let mut c = serde_json::Map::new();
    c.insert("jti".into(), json!(jti));
    c.insert("iss".into(), json!(cfg.issuer));
    let (aud, lifespan) = match &a.grant {
        Grant::Consumer { audience, voucher_lifespan, .. } => (audience.join(","), *voucher_lifespan as i64),
        Grant::Api { .. } => (cfg.m2m_audience.clone(), API_VOUCHER_LIFESPAN),
    };
    c.insert("aud".into(), json!(aud));
    c.insert("sub".into(), json!(a.client_id));
    c.insert("client_id".into(), json!(a.client_id));
    c.insert("iat".into(), json!(iat));
    c.insert("nbf".into(), json!(iat));
    c.insert("exp".into(), json!(iat + lifespan));
    match &a.grant {
        Grant::Consumer { purpose_id, eservice_id, descriptor_id, producer_id, .. } => {
            c.insert("purposeId".into(), json!(purpose_id));
            c.insert("producerId".into(), json!(producer_id));
            c.insert("consumerId".into(), json!(a.organization_id));
            c.insert("eserviceId".into(), json!(eservice_id));
            c.insert("descriptorId".into(), json!(descriptor_id));
            if let Some(d) = &a.digest {
                c.insert("digest".into(), d.clone());
            }
        }
        Grant::Api { admin_id } => {
            c.insert("organizationId".into(), json!(a.organization_id));
            match admin_id {
                Some(admin) => {
                    c.insert("role".into(), json!("m2m-admin"));
                    c.insert("adminId".into(), json!(admin));
                }
                None => {
                    c.insert("role".into(), json!("m2m"));
                }
            }
        }
    }
    if let Some(jkt) = jkt {
        c.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    (Value::Object(c), lifespan, aud)
}

fn audit_record(a: &Accepted, claims: &Value, correlation_id: &str, platform_kid: &str) -> Value {
    let mut r = json!({
        "jwtDetails": claims,
        "correlationId": correlation_id,
        "clientId": a.client_id,
        "organizationId": a.organization_id,
        "kid": a.kid,
        "platformKid": platform_kid,
        "clientAssertion": assertion_summary(&a.assertion_claims),
    });
    if let Grant::Consumer { agreement_id, eservice_id, descriptor_id, purpose_id, purpose_version_id, .. } = &a.grant {
        r["agreementId"] = json!(agreement_id);
        r["eserviceId"] = json!(eservice_id);
        r["descriptorId"] = json!(descriptor_id);
        r["purposeId"] = json!(purpose_id);
        r["purposeVersionId"] = json!(purpose_version_id);
        if let Some(d) = &a.digest {
            r["digest"] = d.clone();
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use varco_domain::*;

    /// The largest record the endpoint can write: every claim at its bound, the
    /// assertion stuffed with big and extra claims, an audience of 250 characters.
    #[test]
    fn an_audit_record_stays_within_its_bound() {
        let cfg = varco_platform::EnvConfig::derive(Env::Collaudo, "https://varco.comune-di-prova.example.it");
        let huge = "x".repeat(60_000);
        let mut claims = serde_json::Map::new();
        for name in ["jti", "iss", "sub", "aud", "purposeId", "extra", "other"] {
            claims.insert(name.into(), json!(huge));
        }
        claims.insert("aud".into(), json!([huge, huge, huge, huge, huge]));
        claims.insert("iat".into(), json!(i64::MAX));
        claims.insert("exp".into(), json!(i64::MIN));
        claims.insert("nbf".into(), json!({ "nested": huge }));
        let digest = json!({ "alg": "SHA256", "value": "a".repeat(64) });
        let a = Accepted {
            client_id: ClientId::new(),
            kid: "k".repeat(43),
            organization_id: TenantId::new(),
            assertion_jti: huge.clone(),
            assertion_exp: i64::MAX,
            assertion_claims: claims,
            digest: Some(digest),
            grant: Grant::Consumer {
                purpose_id: PurposeId::new(),
                purpose_version_id: PurposeVersionId::new(),
                agreement_id: AgreementId::new(),
                eservice_id: EServiceId::new(),
                descriptor_id: DescriptorId::new(),
                producer_id: TenantId::new(),
                audience: vec!["a".repeat(250)],
                voucher_lifespan: 86_400,
            },
        };
        let jkt = "j".repeat(43);
        let (claims, _, _) = voucher_claims(&cfg, &a, &uuid::Uuid::new_v4().to_string(), i64::MAX / 2, Some(&jkt));
        let record = audit_record(&a, &claims, &uuid::Uuid::new_v4().to_string(), &"p".repeat(43));
        let size = record.to_string().len();
        eprintln!("largest audit record: {size} bytes");
        assert!(size <= MAX_AUDIT_RECORD, "{size} bytes: {record}");
        // What matters is kept: the assertion's jti (cut), its iat.
        assert_eq!(record["clientAssertion"]["jti"].as_str().map(str::len), Some(40));
        assert_eq!(record["clientAssertion"]["iat"], json!(i64::MAX));
        assert!(record["clientAssertion"].get("extra").is_none());
    }
}
