//! Starting Varco: database, demo world, token server, HTTP listener.
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use varco_api::ApiState;
use varco_domain::clock::Clock;
use varco_domain::Env;
use varco_jose::RsaPrivateKey;
use varco_pages::{PagesState, WebConfig};
use varco_platform::{EnvConfig, Platform};
use varco_selfcare::service::SelfCare;
use varco_store::{KeyEncryptionKey, Store, StoreError};
use varco_token::{Hardened, TokenConfig, TokenServer};

/// What `varco serve` and the tests need to start a server.
#[derive(Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// Public base URL; defaults to `http://{listen}`.
    pub public_url: Option<String>,
    pub demo: bool,
    pub rate_limit: u32,
    /// Machine API calls per organisation per second.
    pub api_rate_limit: u32,
    /// Days the voucher audit records are kept; `None` keeps them all.
    pub audit_retention_days: Option<u32>,
    /// Connections served at once, and how long a client has to send its headers.
    pub serve: crate::serve::ServeLimits,
    pub hardened: bool,
    /// Production mode: the demo identity provider is off, and a key-encryption key
    /// is required.
    pub production: bool,
    /// The key the private keys are encrypted with at rest (`VARCO_KEY_ENCRYPTION_KEY`
    /// or `--key-encryption-key-file`); without one they are stored in plaintext.
    pub key_encryption_key: Option<KeyEncryptionKey>,
    /// SMTP server for SelfCare's mails (`smtp://host:port`, `smtps://user:pass@host`);
    /// without one, mails stay in the outbox (`varco mail list`).
    pub smtp_url: Option<String>,
    /// Sender of SelfCare's mails.
    pub mail_from: String,
    /// OpenID Connect provider for SPID/CIE login (issuer URL, client id, secret).
    pub oidc: Option<OidcOptions>,
    /// Where the keys made at the first start come from (`varco serve`: fresh ones).
    pub keys: KeySource,
    /// The time the token server goes by: the system's, or a test's manual clock.
    pub clock: Clock,
}

/// Where a server's RSA keys come from when its database has none yet: SelfCare's
/// identity-token key and the first voucher signing key of each environment, four
/// RSA-2048 keys in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySource {
    /// Generated at start-up, each time (`varco serve`).
    #[default]
    Generate,
    /// Taken from four distinct keys generated once per process and handed to every
    /// server the process starts: for the tests, which start hundreds of servers and
    /// would otherwise spend much of each start generating keys. Never for a real
    /// server: every server of the process signs with the same keys.
    SharedForTests,
}

/// SelfCare's key, then one per environment (in `Env::ALL` order).
const KEY_SLOTS: usize = 1 + Env::ALL.len();

impl KeySource {
    /// The key for `slot` (`0`: SelfCare, `1 + i`: `Env::ALL[i]`).
    fn key(self, slot: usize) -> RsaPrivateKey {
        match self {
            KeySource::Generate => RsaPrivateKey::generate_2048(),
            KeySource::SharedForTests => {
                static SHARED: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
                SHARED.get_or_init(|| (0..KEY_SLOTS).map(|_| RsaPrivateKey::generate_2048()).collect())[slot].clone()
            }
        }
    }
}

// By hand: the SMTP URL may carry a password, and `{:?}` must not print it.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact))
            .field("public_url", &self.public_url)
            .field("demo", &self.demo)
            .field("rate_limit", &self.rate_limit)
            .field("api_rate_limit", &self.api_rate_limit)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("serve", &self.serve)
            .field("hardened", &self.hardened)
            .field("production", &self.production)
            .field("key_encryption_key", &self.key_encryption_key)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("mail_from", &self.mail_from)
            .field("oidc", &self.oidc)
            .field("keys", &self.keys)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The OpenID Connect provider SelfCare logs in through.
#[derive(Clone)]
pub struct OidcOptions {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The authentication level to ask for and require (`acr`); `None` for
    /// SPID level 2.
    pub acr: Option<String>,
}

// The secret must never reach a log line, even through `{:?}` of the options.
impl std::fmt::Debug for OidcOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcOptions")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("acr", &self.acr)
            .finish()
    }
}

/// The database URL: the given one, or SQLite in the data directory, which is
/// created (or tightened) so that only its owner can enter it (0700).
pub fn database_url(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<String> {
    if let Some(u) = database_url {
        return Ok(u.to_string());
    }
    private_dir(data_dir).with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    Ok(format!("sqlite://{}?mode=rwc", data_dir.join("varco.db").display()))
}

/// Creates `dir` (and its parents) with mode 0700, or takes group and other
/// permissions away from an existing one: it holds the database, keys included.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
            tracing::info!(dir = %dir.display(), "data directory made accessible to its owner only (0700)");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// The key-encryption key from the configuration: the value of
/// `VARCO_KEY_ENCRYPTION_KEY` (`value`) or the content of the file `file`, both as 64
/// hexadecimal digits or base64 of 32 bytes. Both at once is refused, as is a file
/// others may read.
pub fn key_encryption_key(value: Option<&str>, file: Option<&Path>) -> anyhow::Result<Option<KeyEncryptionKey>> {
    let text = match (value, file) {
        (Some(_), Some(_)) => anyhow::bail!(
            "give the key-encryption key once: VARCO_KEY_ENCRYPTION_KEY or --key-encryption-key-file, not both"
        ),
        (None, None) => return Ok(None),
        (Some(v), None) => v.to_string(),
        (None, Some(path)) => {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot read the key-encryption key file {}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o077 != 0 {
                    anyhow::bail!(
                        "the key-encryption key file {} may be read by others: make it 0600 (chmod 600)",
                        path.display()
                    );
                }
            }
            if meta.len() > 1024 {
                anyhow::bail!("the key-encryption key file {} is not a key (over 1 KiB)", path.display());
            }
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the key-encryption key file {}", path.display()))?
        }
    };
    let key = KeyEncryptionKey::parse(&text).map_err(|e| match file {
        Some(path) => anyhow::anyhow!("{}: {e}", path.display()),
        None => anyhow::anyhow!("VARCO_KEY_ENCRYPTION_KEY: {e}"),
    })?;
    Ok(Some(key))
}

/// Per-environment configuration: defaults from the public URL, each value
/// overridable with `VARCO_<ENV>_<NAME>` (e.g. `VARCO_COLLAUDO_ISSUER`).
pub fn env_configs(public_url: &str) -> Vec<EnvConfig> {
    Env::ALL
        .iter()
        .map(|&env| {
            let prefix = format!("VARCO_{}_", env.slug().to_uppercase());
            let var = |name: &str| std::env::var(format!("{prefix}{name}")).ok().filter(|v| !v.is_empty());
            let base = var("PUBLIC_URL").unwrap_or_else(|| public_url.to_string());
            let mut c = EnvConfig::derive(env, &base);
            if let Some(v) = var("ISSUER") {
                c.issuer = v;
            }
            if let Some(v) = var("CLIENT_ASSERTION_AUDIENCE") {
                c.client_assertion_audience = v;
            }
            if let Some(v) = var("M2M_AUDIENCE") {
                c.m2m_audience = v;
            }
            c
        })
        .collect()
}

/// Opens the database (creating it and bringing its schema up to date), with no
/// key-encryption key.
pub async fn open_store(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Store> {
    open_store_with(data_dir, database_url, None).await
}

/// Opens the database as [`open_store`] does, with the private keys encrypted at
/// rest under `kek` if one is given.
pub async fn open_store_with(
    data_dir: &Path,
    database_url: Option<&str>,
    kek: Option<KeyEncryptionKey>,
) -> anyhow::Result<Store> {
    let url = self::database_url(data_dir, database_url)?;
    Store::open(&url, kek).await.map_err(|e| match e {
        // Said plainly, with what to do: this stops `varco serve` at start.
        StoreError::KeysAtRest(m) => anyhow::anyhow!(
            "{m}. The database {} was left as it was. Give the key its keys were encrypted with, in \
             VARCO_KEY_ENCRYPTION_KEY or with --key-encryption-key-file, to `varco serve` and to every command \
             that opens the database",
            redact(&url)
        ),
        e => anyhow::Error::new(e).context(format!("cannot open the database {}", redact(&url))),
    })
}

/// The platform's services on that database, configured for `public_url`.
pub fn platform_on(store: Store, public_url: &str) -> Platform {
    Platform::new(store, env_configs(public_url))
}

/// Never print passwords of database URLs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}://***@{}", &url[..s], &url[a + 1..]),
        _ => url.to_string(),
    }
}

pub struct Running {
    pub addr: SocketAddr,
    /// The database, for the tests and the binary; the fronts get only services.
    pub store: Store,
    pub platform: Platform,
    pub token: Arc<TokenServer>,
    pub base_url: String,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds, seeds the demo world if asked, and serves in the background.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let public_url = opts.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    if opts.production && opts.key_encryption_key.is_none() {
        anyhow::bail!(
            "--production needs a key-encryption key, so that the signing keys are not stored in plaintext: \
             set VARCO_KEY_ENCRYPTION_KEY (64 hexadecimal digits or base64 of 32 bytes, e.g. from \
             `openssl rand -base64 32`) or give --key-encryption-key-file"
        );
    }
    let store = open_store_with(&opts.data_dir, opts.database_url.as_deref(), opts.key_encryption_key.clone()).await?;
    if !store.encrypts_keys() {
        let database = match &opts.database_url {
            Some(u) => redact(u),
            None => opts.data_dir.join("varco.db").display().to_string(),
        };
        tracing::warn!(
            %database,
            "the signing keys are stored unencrypted: set VARCO_KEY_ENCRYPTION_KEY or --key-encryption-key-file \
             to encrypt them at rest (--production requires it)"
        );
    }
    let platform = platform_on(store.clone(), &public_url);
    let selfcare = SelfCare::new(store.clone());
    if opts.demo {
        let institutions = varco_selfcare::demo::seed_if_empty(&selfcare).await?;
        if varco_platform::demo::seed_if_empty(&platform, &institutions).await? {
            tracing::info!("demo world created");
        }
    }
    let web = web_config(&store, &opts, &public_url).await?;
    let token = TokenServer::start(
        store.clone(),
        platform.clone(),
        TokenConfig {
            rate_limit: opts.rate_limit,
            rate_interval_ms: 1000,
            api_rate_limit: opts.api_rate_limit,
            audit_retention_days: opts.audit_retention_days,
            hardened: opts.hardened.then_some(Hardened { max_lifetime_secs: 3600, clock_skew_secs: 30 }),
            clock: opts.clock.clone(),
        },
    )
    .await?;
    // SelfCare's mails: delivered from the outbox when an SMTP server is given,
    // otherwise they wait there (`varco mail list`). The URL is checked now.
    if let Some(smtp_url) = &opts.smtp_url {
        let config = varco_selfcare::mailer::MailerConfig { smtp_url: smtp_url.clone(), from: opts.mail_from.clone() };
        varco_selfcare::mailer::spawn(selfcare.clone(), config)?;
    }
    // Expired sessions and used identity tokens are refused by their expiry
    // anyway; this only keeps the tables small.
    let sessions = selfcare.sessions();
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(600);
        // Not at start-up: nothing has expired yet, and start-up has writes of its own.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            if let Err(e) = sessions.purge(chrono::Utc::now().timestamp_millis()).await {
                tracing::warn!("cannot purge expired sessions: {e}");
            }
        }
    });
    // The two fronts, then what every answer gets: the security headers, and
    // (outermost, so it sees every request) the correlation id.
    let pages =
        PagesState { platform: platform.clone(), selfcare: selfcare.clone(), token: token.clone(), web: Arc::new(web) };
    let app = varco_api::router(ApiState { platform: platform.clone(), token: token.clone() })
        // The pages' router has the fallback: pages for its paths, problems elsewhere.
        .merge(varco_pages::router(pages))
        .layer(axum::middleware::map_response(varco_http::security_headers))
        .layer(varco_http::CorrelationLayer);
    let limits = opts.serve;
    let server = tokio::spawn(async move { crate::serve::serve(listener, app, limits).await });
    Ok(Running { addr, store, platform, token, base_url: public_url, server })
}

/// SelfCare's identity-token key (made once, kept in the database so every
/// replica signs with it), the issuer, and the login providers. With keys from
/// [`KeySource::SharedForTests`], also the environments' first voucher signing
/// keys (otherwise the token server generates those when it starts).
async fn web_config(store: &Store, opts: &Options, public_url: &str) -> anyhow::Result<WebConfig> {
    if opts.keys != KeySource::Generate {
        for (i, env) in Env::ALL.into_iter().enumerate() {
            varco_token::signer::create_if_none(store, env, || opts.keys.key(1 + i))
                .await
                .with_context(|| format!("cannot store the signing key of {}", env.label()))?;
        }
    }
    let fresh = opts.keys.key(0);
    let pem = fresh.to_pkcs8_pem();
    let (_, pem) = varco_selfcare::sessions::Sessions::new(store.clone())
        .selfcare_key_init(fresh.kid().as_str(), &pem, chrono::Utc::now().timestamp_millis())
        .await
        .context("cannot store SelfCare's key")?;
    let key = RsaPrivateKey::from_pem(&pem).context("SelfCare's stored key does not parse")?;
    let root = public_url.trim_end_matches('/');
    let oidc = match &opts.oidc {
        Some(o) => Some(
            varco_pages::selfcare::oidc::OidcClient::discover(
                o.issuer.clone(),
                o.client_id.clone(),
                o.client_secret.clone(),
                o.acr.clone(),
                root,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot use the OpenID Connect provider {}: {e}", o.issuer))?,
        ),
        None => None,
    };
    Ok(WebConfig {
        production: opts.production,
        secure_cookies: root.starts_with("https://"),
        selfcare_issuer: format!("{}/selfcare", varco_platform::config::without_scheme(root)),
        public_url: root.to_string(),
        selfcare_public: key.public_key(),
        selfcare_key: key,
        oidc,
    })
}
