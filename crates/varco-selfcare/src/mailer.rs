//! Delivery of the mail outbox over SMTP.
//!
//! SelfCare queues its mails in `mail_outbox` in the same transaction as the
//! change they announce (see [`crate::service`]); this module sends them:
//! oldest first, each marked sent only after the SMTP server accepted it. A
//! mail that fails stays unsent and is tried again after a pause that grows
//! from 2 s to 5 min, with the error kept for `varco mail list`.
//!
//! Several replicas may run a mailer over the same database. Before sending,
//! a replica claims the mail with a conditional update that sets a lease
//! (`next_try_ms`, migration 0004): of two replicas exactly one wins, and the
//! other leaves the mail alone until the lease runs out. Marking after the
//! send alone would not do: every replica polls every 2 s, so they would all
//! find the same unsent rows and send most mails twice. With the claim, a
//! mail goes out twice only if a replica dies (or loses the database) between
//! the server's acceptance and the mark — the lease then runs out and another
//! replica sends it again. That is the usual at-least-once of an outbox: we
//! prefer a rare duplicate to a lost mail. The duplicate carries the same
//! `Message-ID` (derived from the outbox row), so mail systems can tell.
//!
//! The SMTP URL follows lettre's forms: `smtp://host:port` (plain, for a
//! local relay), `smtp://user:pass@host:587?tls=required` (STARTTLS),
//! `smtp://host?tls=opportunistic`, `smtps://user:pass@host` (TLS from the
//! start, port 465 by default). TLS is rustls with the Mozilla roots. A
//! password with reserved characters must be percent-encoded. The URL's
//! password never reaches a log line or an error: see [`redact`].

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::service::{OutboxMail, SelfCare, ServiceError};

/// The SMTP client the mailer uses.
pub type SmtpTransport = AsyncSmtpTransport<Tokio1Executor>;

/// Pause between two rounds when nothing wakes the mailer.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long a claimed mail is left to its sender before another replica may
/// take it. Far above the SMTP timeouts, so only a dead sender loses it.
pub const LEASE_MS: i64 = 10 * 60 * 1000;
/// Pause after a first failure; it doubles with each further failure...
pub const FIRST_RETRY_MS: i64 = 2_000;
/// ...up to this.
pub const MAX_RETRY_MS: i64 = 5 * 60 * 1000;
/// Timeout of each SMTP command.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many mails per round, so that a long queue does not keep one
/// round (and its database connections) busy indefinitely.
const MAX_PER_ROUND: usize = 100;

/// Where and as whom to send.
#[derive(Clone)]
pub struct MailerConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host`...
    pub smtp_url: String,
    /// The `From` of every mail, e.g. `Area Riservata <noreply@example.org>`.
    pub from: String,
}

// The URL may hold a password: `{:?}` of the configuration must not show it.
impl std::fmt::Debug for MailerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailerConfig").field("smtp_url", &redact(&self.smtp_url)).field("from", &self.from).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The URL is shown redacted.
    #[error("invalid SMTP URL {url}: {reason} (forms: smtp://host:port, smtp://user:password@host:587?tls=required, smtps://user:password@host)")]
    BadUrl { url: String, reason: String },
    #[error("invalid mail sender {from:?}: {reason} (e.g. \"Area Riservata <noreply@example.org>\")")]
    BadFrom { from: String, reason: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The URL with its password, if any, replaced by `***`:
/// `smtps://user:***@host:465`. What any log line or error shows of an SMTP URL.
pub fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    // The user information ends at the last '@' before the query or fragment
    // (a password written without percent-encoding may hold '/', '@', ':').
    let end = url[start..].find(['?', '#']).map_or(url.len(), |i| start + i);
    let Some(at) = url[start..end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}***{}", &url[..start + colon + 1], &url[at..]),
        None => url.to_string(),
    }
}

/// The password of `url` (as written), to scrub it from any text.
fn password_of(url: &str) -> Option<&str> {
    let start = url.find("://")? + 3;
    let end = url[start..].find(['?', '#']).map_or(url.len(), |i| start + i);
    let at = start + url[start..end].rfind('@')?;
    let colon = start + url[start..at].find(':')?;
    Some(&url[colon + 1..at]).filter(|p| !p.is_empty())
}

/// Whether the URL sends credentials over a connection that may stay plain.
fn credentials_in_clear(url: &str) -> bool {
    password_of(url).is_some() && url.starts_with("smtp://") && !url.contains("tls=required")
}

/// The SMTP client and the sender for `config`; fails clearly on a bad URL or
/// sender, warns of a password that may travel in clear. Connects to nothing yet.
pub fn transport(config: &MailerConfig) -> Result<(SmtpTransport, Mailbox), MailerError> {
    if credentials_in_clear(&config.smtp_url) {
        tracing::warn!(
            smtp = %redact(&config.smtp_url),
            "SMTP credentials over a connection that may not be encrypted: add ?tls=required or use smtps://"
        );
    }
    let scrub = |text: String| match password_of(&config.smtp_url) {
        Some(p) => text.replace(p, "***"),
        None => text,
    };
    let transport = SmtpTransport::from_url(config.smtp_url.trim())
        .map_err(|e| MailerError::BadUrl { url: redact(&config.smtp_url), reason: scrub(error_chain(&e)) })?
        .timeout(Some(SMTP_TIMEOUT))
        .build();
    let from = config
        .from
        .parse::<Mailbox>()
        .map_err(|e| MailerError::BadFrom { from: config.from.clone(), reason: e.to_string() })?;
    Ok((transport, from))
}

/// The message for an outbox row: UTF-8 plain text; lettre encodes the
/// subject (RFC 2047) and the body (quoted-printable or base64) as needed.
pub fn message(mail: &OutboxMail, from: &Mailbox) -> Result<Message, String> {
    let to: Address = mail.to.parse().map_err(|e| format!("invalid recipient address: {e}"))?;
    // The same id on every attempt: a rare duplicate (see the module's
    // comment) is recognisable as such.
    let id = format!("<varco-outbox-{}-{}@{}>", mail.seq, mail.created_ms, from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(mail.subject.clone())
        .message_id(Some(id))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Sends the mails that are due, oldest first, each claimed first and marked
/// sent once the server accepted it. A failure is recorded and logged (by
/// outbox number, without the address or any secret), the mail is tried again
/// after its pause, and the round ends there. Returns how many were sent.
/// Fails only on database errors.
pub async fn deliver_pending<T>(sc: &SelfCare, transport: &T, from: &Mailbox) -> Result<usize, ServiceError>
where
    T: AsyncTransport + Sync,
    T::Error: std::error::Error,
{
    let mut sent = 0;
    for _ in 0..MAX_PER_ROUND {
        let Some(entry) = sc.claim_due_mail(now_ms(), LEASE_MS).await? else {
            break;
        };
        let seq = entry.mail.seq;
        let outcome = match message(&entry.mail, from) {
            Ok(m) => transport.send(m).await.map(|_| ()).map_err(|e| error_chain(&e)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                if !sc.mark_mail_sent(seq, now_ms()).await? {
                    tracing::warn!(seq, "mail already marked sent by another sender (sent twice)");
                }
                tracing::debug!(seq, "mail delivered");
                sent += 1;
            }
            Err(error) => {
                let attempts = entry.attempts + 1;
                let pause = retry_pause_ms(attempts);
                tracing::warn!(seq, attempts, retry_in_s = pause / 1000, %error, "mail not delivered, will retry");
                sc.mark_mail_failed(seq, now_ms() + pause, &error).await?;
                // End the round: if the server is down (or hangs until the
                // timeout), trying the rest now would only fail the same way,
                // one connection each. This mail now pauses, so the next round
                // starts with the others: one bad mail does not hold them up.
                break;
            }
        }
    }
    Ok(sent)
}

/// The pause before attempt `failures + 1`: 2 s, 4 s, 8 s... up to 5 min.
pub fn retry_pause_ms(failures: i64) -> i64 {
    let doublings = failures.clamp(1, 20) - 1;
    (FIRST_RETRY_MS << doublings).min(MAX_RETRY_MS)
}

/// Starts the mailer in the background: checks the configuration now (an
/// error names what is wrong, never the password), then delivers what is due
/// every [`POLL_INTERVAL`]. Needs a tokio runtime.
pub fn spawn(sc: SelfCare, config: MailerConfig) -> Result<tokio::task::JoinHandle<()>, MailerError> {
    spawn_with_wake(sc, config, Arc::new(Notify::new()))
}

/// As [`spawn`]; `wake.notify_one()` starts a round at once (e.g. right after
/// a mail was queued) instead of at the next tick.
pub fn spawn_with_wake(
    sc: SelfCare,
    config: MailerConfig,
    wake: Arc<Notify>,
) -> Result<tokio::task::JoinHandle<()>, MailerError> {
    let (transport, from) = transport(&config)?;
    tracing::info!(smtp = %redact(&config.smtp_url), from = %from, "mail delivery started");
    Ok(tokio::spawn(async move {
        loop {
            match deliver_pending(&sc, &transport, &from).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sent = n, "mails delivered"),
                Err(e) => tracing::warn!(error = %e, "mail delivery round failed, will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = wake.notified() => {}
            }
        }
    }))
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// An error and its causes on one line (lettre's own message is terse:
/// "Connection error" says nothing without its source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::stub::AsyncStubTransport;
    use varco_testkit::{Backend, TestDb};

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(redact("smtps://mario:s3gr3to@mail.example.org"), "smtps://mario:***@mail.example.org");
        assert_eq!(
            redact("smtp://mario%40ente.it:pa:ss@w/rd@mail.example.org:587?tls=required"),
            "smtp://mario%40ente.it:***@mail.example.org:587?tls=required"
        );
        assert_eq!(redact("smtp://apikey@relay:25"), "smtp://apikey@relay:25");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(password_of("smtps://u:p%2Fx@h"), Some("p%2Fx"));
        assert_eq!(password_of("smtps://u@h"), None);
    }

    #[test]
    fn debug_of_the_config_hides_the_password() {
        let c = MailerConfig { smtp_url: "smtps://mario:s3gr3to@mail.example.org".into(), from: "a@b.it".into() };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3gr3to"), "{shown}");
        assert!(shown.contains("mario:***@mail.example.org"), "{shown}");
    }

    #[tokio::test]
    async fn bad_configuration_is_refused_without_the_password() {
        let bad = |smtp_url: &str, from: &str| {
            transport(&MailerConfig { smtp_url: smtp_url.into(), from: from.into() }).map(|_| ()).unwrap_err()
        };
        let e = bad("http://mario:s3gr3to@mail.example.org", "a@b.it").to_string();
        assert!(e.starts_with("invalid SMTP URL http://mario:***@mail.example.org"), "{e}");
        assert!(!e.contains("s3gr3to"), "{e}");
        let e = bad("smtp://mario:s3gr3to@mail.example.org:99999", "a@b.it").to_string();
        assert!(e.contains("invalid SMTP URL") && !e.contains("s3gr3to"), "{e}");
        assert!(matches!(bad("smtp://127.0.0.1:25", "nobody"), MailerError::BadFrom { .. }));
        for good in
            ["smtp://127.0.0.1:2525", "smtp://u:p@h:587?tls=required", "smtps://u:p@h", "smtp://h?tls=opportunistic"]
        {
            transport(&MailerConfig { smtp_url: good.into(), from: "Area Riservata <noreply@varco.localhost>".into() })
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        assert!(credentials_in_clear("smtp://u:p@h:25"));
        assert!(!credentials_in_clear("smtp://u:p@h:587?tls=required"));
        assert!(!credentials_in_clear("smtps://u:p@h"));
        assert!(!credentials_in_clear("smtp://127.0.0.1:25"));
    }

    #[test]
    fn the_pause_doubles_up_to_five_minutes() {
        assert_eq!(retry_pause_ms(1), 2_000);
        assert_eq!(retry_pause_ms(2), 4_000);
        assert_eq!(retry_pause_ms(3), 8_000);
        assert_eq!(retry_pause_ms(9), MAX_RETRY_MS);
        assert_eq!(retry_pause_ms(i64::MAX), MAX_RETRY_MS);
    }

    #[test]
    fn the_message_is_utf8_plain_text_with_an_encoded_subject() {
        let mail = OutboxMail {
            seq: 7,
            to: "mario.rossi@fornitore.it".into(),
            subject: "Il tuo ruolo per un prodotto PagoPA è stato sospeso".into(),
            body: "Gentile Mario Rossi,\n\nComune di Prova ha sospeso il tuo ruolo.\n".into(),
            created_ms: 1_700_000_000_000,
            sent_ms: None,
        };
        let from: Mailbox = "Area Riservata <noreply@varco.localhost>".parse().unwrap();
        let m = message(&mail, &from).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("To: mario.rossi@fornitore.it\r\n"), "{raw}");
        assert!(raw.contains("From: \"Area Riservata\" <noreply@varco.localhost>\r\n"), "{raw}");
        let subject = raw.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject.contains("=?utf-8?"), "the accent is RFC 2047 encoded: {raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <varco-outbox-7-1700000000000@varco.localhost>\r\n"), "{raw}");
        assert!(raw.is_ascii(), "7-bit clean on the wire: {raw}");
        let mut bad = mail.clone();
        bad.to = "not an address".into();
        assert!(message(&bad, &from).unwrap_err().contains("invalid recipient"));
    }

    /// A SelfCare over a fresh database of `backend` with `n` queued mails, and its
    /// store. The outbox's guarantees (oldest first, one sender per mail) rest on the
    /// SQL, so every test of it runs on SQLite and on PostgreSQL.
    async fn outbox_with(backend: Backend, n: usize) -> (SelfCare, varco_store::Store, TestDb) {
        let db = TestDb::new(backend).await;
        let store = varco_store::Store::connect(&db.url).await.unwrap();
        let mut tx = store.sc_begin().await.unwrap();
        for i in 0..n {
            let (to, subject, body) = (format!("utente{i}@ente.it"), format!("Oggetto {i} è"), format!("Corpo {i}\n"));
            tx.queue_mail(&to, &subject, &body, 1_000 + i as i64).await.unwrap();
        }
        tx.commit().await.unwrap();
        (SelfCare::new(store.clone()), store, db)
    }

    /// One test per backend: `both_backends!(name, |backend| async move { ... })`.
    macro_rules! both_backends {
        ($name:ident, $body:expr) => {
            mod $name {
                use super::*;
                #[tokio::test]
                async fn sqlite() {
                    ($body)(Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    ($body)(Backend::Postgres).await
                }
            }
        };
    }

    fn from() -> Mailbox {
        "Area Riservata <noreply@varco.localhost>".parse().unwrap()
    }

    both_backends!(sends_oldest_first_and_marks_sent, |backend| async move {
        let (sc, _store, _dir) = outbox_with(backend, 3).await;
        let stub = AsyncStubTransport::new_ok();
        assert_eq!(deliver_pending(&sc, &stub, &from()).await.unwrap(), 3);
        let sent = stub.messages().await;
        let to: Vec<String> = sent.iter().map(|(env, _)| env.to()[0].to_string()).collect();
        assert_eq!(to, ["utente0@ente.it", "utente1@ente.it", "utente2@ente.it"]);
        assert!(sc.outbox().await.unwrap().iter().all(|m| m.sent_ms.is_some()));
        // Nothing left: the next round sends nothing.
        assert_eq!(deliver_pending(&sc, &stub, &from()).await.unwrap(), 0);
        assert_eq!(stub.messages().await.len(), 3);
    });

    both_backends!(a_failed_mail_stays_unsent_and_is_retried_after_its_pause, |backend| async move {
        let (sc, store, _dir) = outbox_with(backend, 1).await;
        let failing = AsyncStubTransport::new_error();
        assert_eq!(deliver_pending(&sc, &failing, &from()).await.unwrap(), 0);
        let e = &sc.outbox_entries(true).await.unwrap()[0];
        assert_eq!((e.mail.sent_ms, e.attempts), (None, 1));
        assert!(e.last_error.is_some());
        assert!(e.next_try_ms.unwrap() > now_ms(), "pausing");
        // Not due yet: the next round leaves it alone.
        let ok = AsyncStubTransport::new_ok();
        assert_eq!(deliver_pending(&sc, &ok, &from()).await.unwrap(), 0);
        // Once due, it goes.
        assert_eq!(store.outbox_due_at(0).await.unwrap(), 1);
        assert_eq!(deliver_pending(&sc, &ok, &from()).await.unwrap(), 1);
        let e = sc.outbox_entry(e.mail.seq).await.unwrap().unwrap();
        assert!(e.mail.sent_ms.is_some());
        assert_eq!((e.attempts, e.last_error), (1, None));
    });

    both_backends!(a_failure_ends_the_round_and_the_next_round_starts_past_that_mail, |backend| async move {
        let (sc, _store, _dir) = outbox_with(backend, 3).await;
        let failing = AsyncStubTransport::new_error();
        assert_eq!(deliver_pending(&sc, &failing, &from()).await.unwrap(), 0);
        assert_eq!(failing.messages().await.len(), 1, "one connection per round while failing");
        let attempts = |sc: SelfCare| async move {
            sc.outbox_entries(true).await.unwrap().iter().map(|e| e.attempts).collect::<Vec<_>>()
        };
        assert_eq!(attempts(sc.clone()).await, [1, 0, 0]);
        deliver_pending(&sc, &failing, &from()).await.unwrap();
        assert_eq!(attempts(sc.clone()).await, [1, 1, 0]);
        let ok = AsyncStubTransport::new_ok();
        assert_eq!(deliver_pending(&sc, &ok, &from()).await.unwrap(), 1, "the third one goes");
    });

    both_backends!(two_senders_never_send_the_same_mail, |backend| async move {
        let (sc, _store, db) = outbox_with(backend, 30).await;
        // Two "replicas": separate connections to the database, separate transports.
        let other = SelfCare::new(varco_store::Store::connect(&db.url).await.unwrap());
        let (a, b) = (AsyncStubTransport::new_ok(), AsyncStubTransport::new_ok());
        let from = from();
        let (ra, rb) = tokio::join!(deliver_pending(&sc, &a, &from), deliver_pending(&other, &b, &from));
        assert_eq!(ra.unwrap() + rb.unwrap(), 30);
        let mut to: Vec<String> =
            a.messages().await.into_iter().chain(b.messages().await).map(|(e, _)| e.to()[0].to_string()).collect();
        to.sort();
        to.dedup();
        assert_eq!(to.len(), 30, "each mail exactly once");
    });

    both_backends!(a_claimed_mail_is_left_to_its_sender_until_the_lease_ends, |backend| async move {
        let (sc, _store, _dir) = outbox_with(backend, 1).await;
        let now = now_ms();
        let claimed = sc.claim_due_mail(now, LEASE_MS).await.unwrap().unwrap();
        assert!(sc.claim_due_mail(now, LEASE_MS).await.unwrap().is_none());
        // The sender died: after the lease another one takes it.
        let again = sc.claim_due_mail(now + LEASE_MS, LEASE_MS).await.unwrap().unwrap();
        assert_eq!(again.mail.seq, claimed.mail.seq);
        assert!(sc.mark_mail_sent(claimed.mail.seq, now).await.unwrap());
        assert!(!sc.mark_mail_sent(claimed.mail.seq, now).await.unwrap(), "already sent");
        assert!(sc.unsent_mail(10).await.unwrap().is_empty());
    });
}
