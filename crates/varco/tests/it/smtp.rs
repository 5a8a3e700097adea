//! SelfCare's mails over real SMTP: a real SMTP server (Python's aiosmtpd, which
//! writes what it receives into a Maildir) on loopback, a real Varco whose mailer
//! delivers the outbox, and the mails read back with Python's own e-mail parser
//! (so the encoding of the subject and body is checked by an independent reader).
//! Also `varco mail` through the real binary.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;
use varco::testkit::{spawn_app_with, Backend, TestApp};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::email::Email;
use varco_selfcare::model::{Institution, InstitutionType, Origin, ProductId, User};
use varco_selfcare::rules::NewUserForm;
use varco_selfcare::service::{SelfCare, NEW_ROLE_SUBJECT, SUSPENDED_SUBJECT};

const VARCO: &str = env!("CARGO_BIN_EXE_varco");
const INSTALL: &str = "python3 -m pip install -r tests/independent/requirements.txt";

/// An aiosmtpd server on a loopback port, storing each mail in `<dir>/maildir/new`.
/// Killed on drop.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(port: u16, dir: &Path) -> SmtpServer {
        let maildir = dir.join("maildir");
        let log = dir.join(format!("aiosmtpd-{port}.log"));
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("aiosmtpd log file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 for the SMTP server ({e}); install Python 3 and: {INSTALL}")
            });
        let mut server = SmtpServer { child, maildir };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let err = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("the SMTP server (aiosmtpd) exited with {status}: is it installed? {INSTALL}\n{err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the SMTP server (aiosmtpd) did not listen on 127.0.0.1:{port} within 20 s; is it installed? {INSTALL}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Every mail received so far, oldest first, as Python's `email` package reads it.
    fn mails(&self) -> Vec<Mail> {
        read_maildir(&self.maildir)
    }

    /// Waits (30 s at most) until a mail with this subject has arrived.
    async fn wait_for(&self, subject: &str) -> Mail {
        let start = Instant::now();
        loop {
            if let Some(m) = self.mails().into_iter().find(|m| m.subject == subject) {
                return m;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no mail {subject:?} within 30 s: {:?}", self.mails());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
struct Mail {
    to: String,
    from: String,
    subject: String,
    content_type: String,
    body: String,
}

/// Decodes the Maildir with Python's `email` (RFC 2047 subjects, quoted-printable
/// or base64 bodies, charsets), independently of the Rust side that encoded it.
fn read_maildir(maildir: &Path) -> Vec<Mail> {
    const SCRIPT: &str = r#"
import email, email.policy, json, os, sys
new = os.path.join(sys.argv[1], "new")
names = sorted(os.listdir(new), key=lambda n: os.stat(os.path.join(new, n)).st_mtime_ns) if os.path.isdir(new) else []
out = []
for n in names:
    with open(os.path.join(new, n), "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    out.append({"to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]),
                "content_type": m.get_content_type() + ";" + str(m.get_content_charset()),
                "body": m.get_content()})
print(json.dumps(out))
"#;
    let out = Command::new("python3").args(["-c", SCRIPT]).arg(maildir).output().expect("python3 runs");
    assert!(out.status.success(), "reading the Maildir: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the reader prints JSON")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Varco without the demo world (its Enti would not matter here), delivering to
/// `smtp_port` if given.
async fn varco_app(backend: Backend, smtp_port: Option<u16>) -> TestApp {
    spawn_app_with(backend, |o| {
        o.demo = false;
        o.smtp_url = smtp_port.map(|p| format!("smtp://127.0.0.1:{p}"));
    })
    .await
}

/// An institution on Interoperabilità with Maria Bianchi as its manager, in the
/// running Varco's database.
async fn institution_with_manager(app: &TestApp) -> (SelfCare, Institution, User) {
    let sc = SelfCare::new(app.running.store.clone());
    let institution = Institution {
        id: Uuid::new_v4(),
        name: "Comune di Posta".into(),
        tax_code: "00000000077".into(),
        origin: Origin::Ipa,
        origin_id: "c_posta".into(),
        institution_type: InstitutionType::Pa,
        digital_address: "protocollo@pec.comune.posta.it".into(),
        onboardings: vec![],
    };
    sc.create_institution(&institution).await.unwrap();
    let institution = sc.onboard(institution.id, ProductId::Interop).await.unwrap();
    let manager = User {
        id: Uuid::new_v4(),
        name: "Maria".into(),
        family_name: "Bianchi".into(),
        fiscal_code: CodiceFiscale::parse("BNCMRA85M41F205D").unwrap(),
        emails: BTreeMap::from([(institution.id, Email::parse("maria.bianchi@comune.it").unwrap())]),
    };
    let (manager, _) = sc.seed_manager(institution.id, &manager).await.unwrap();
    (sc, institution, manager)
}

/// "Crea Utente": Mario Rossi, admin on Interoperabilità Collaudo.
async fn add_mario(sc: &SelfCare, institution: &Institution, manager: &User) -> User {
    let form = NewUserForm {
        nome: "Mario".into(),
        cognome: "Rossi".into(),
        codice_fiscale: "RSSMRA80A01H501U".into(),
        email: "mario.rossi@fornitore.it".into(),
        conferma_email: "mario.rossi@fornitore.it".into(),
        product: "prod-interop-coll".into(),
        roles: vec!["admin".into()],
    };
    sc.add_user(manager.id, institution.id, form).await.unwrap().0
}

/// Waits (10 s at most) until the outbox row with `subject` is marked sent.
async fn wait_sent(sc: &SelfCare, subject: &str) {
    let start = Instant::now();
    loop {
        let outbox = sc.outbox().await.unwrap();
        let mail = outbox.iter().find(|m| m.subject == subject).expect("the mail is in the outbox");
        if mail.sent_ms.is_some() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{subject:?} delivered but not marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

varco::both_backends!(the_running_mailer_delivers_new_role_and_suspension_mails, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp = SmtpServer::start(port, dir.path());
    let app = varco_app(backend, Some(port)).await;
    let (sc, institution, manager) = institution_with_manager(&app).await;
    let mario = add_mario(&sc, &institution, &manager).await;

    let mail = smtp.wait_for(NEW_ROLE_SUBJECT).await;
    assert_eq!(mail.to, "mario.rossi@fornitore.it");
    assert_eq!(mail.from, "Area Riservata <noreply@varco.localhost>");
    assert_eq!(mail.content_type, "text/plain;utf-8");
    assert!(mail.body.contains("Gentile Mario Rossi"), "{}", mail.body);
    assert!(mail.body.contains("per il prodotto Interoperabilità Collaudo"), "{}", mail.body);
    assert!(mail.body.contains("Comune di Posta"), "{}", mail.body);
    wait_sent(&sc, NEW_ROLE_SUBJECT).await;

    // Suspending the role announces it too, accents and all.
    let role = sc.roles_of(mario.id, institution.id).await.unwrap().remove(0);
    sc.suspend_role(manager.id, role.id).await.unwrap();
    let mail = smtp.wait_for(SUSPENDED_SUBJECT).await;
    assert_eq!(mail.subject, "Il tuo ruolo per un prodotto PagoPA è stato sospeso");
    assert_eq!(mail.to, "mario.rossi@fornitore.it");
    assert!(mail.body.contains("ha sospeso il tuo ruolo Amministratore"), "{}", mail.body);
    wait_sent(&sc, SUSPENDED_SUBJECT).await;

    // Each mail once.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.mails().len(), 2, "{:?}", smtp.mails());
});

varco::both_backends!(a_mail_waits_while_the_smtp_server_is_down_and_goes_when_it_is_back, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens there yet
    let app = varco_app(backend, Some(port)).await;
    let (sc, institution, manager) = institution_with_manager(&app).await;
    add_mario(&sc, &institution, &manager).await;

    // The mailer tries, fails, and keeps the mail with the reason.
    let start = Instant::now();
    let entry = loop {
        let entry = sc.outbox_entries(true).await.unwrap().remove(0);
        if entry.attempts > 0 {
            break entry;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the mailer never tried: {entry:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(entry.mail.sent_ms, None);
    let error = entry.last_error.expect("the failure is recorded");
    assert!(!error.is_empty());

    // The server comes up: the next attempt delivers it.
    let smtp = SmtpServer::start(port, dir.path());
    let mail = smtp.wait_for(NEW_ROLE_SUBJECT).await;
    assert_eq!(mail.to, "mario.rossi@fornitore.it");
    wait_sent(&sc, NEW_ROLE_SUBJECT).await;
    assert_eq!(smtp.mails().len(), 1);
});

fn varco_cli(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(VARCO)
        .args(args)
        .env("VARCO_DATABASE_URL", database_url)
        .env_remove("VARCO_SMTP_URL")
        .env_remove("VARCO_MAIL_FROM")
        .output()
        .expect("varco runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(database_url: &str, args: &[&str]) -> String {
    let (success, stdout, stderr) = varco_cli(database_url, args);
    assert!(success, "varco {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

varco::both_backends!(varco_mail_lists_shows_and_sends_the_outbox, |backend| async move {
    // No SMTP server configured: the mail stays in the outbox.
    let app = varco_app(backend, None).await;
    let (sc, institution, manager) = institution_with_manager(&app).await;
    add_mario(&sc, &institution, &manager).await;
    let db = app.db.url.clone();

    let list = ok(&db, &["mail", "list"]);
    let line = list.lines().find(|l| l.contains(NEW_ROLE_SUBJECT)).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("mario.rossi@fornitore.it") && line.contains("[da inviare]"), "{list}");
    let seq: i64 = line.split_whitespace().next().unwrap().parse().unwrap();
    let unsent = ok(&db, &["mail", "list", "--unsent"]);
    assert!(unsent.contains(NEW_ROLE_SUBJECT), "{unsent}");
    let json: serde_json::Value = serde_json::from_str(&ok(&db, &["mail", "list", "--json"])).unwrap();
    assert_eq!(json[0]["to"], "mario.rossi@fornitore.it");
    assert_eq!(json[0]["subject"], NEW_ROLE_SUBJECT);
    assert_eq!(json[0]["sent"], false);

    let show = ok(&db, &["mail", "show", &seq.to_string()]);
    assert!(show.contains(&format!("Oggetto: {NEW_ROLE_SUBJECT}")), "{show}");
    assert!(show.contains("Gentile Mario Rossi,\n\nComune di Posta ti ha assegnato il ruolo Amministratore"), "{show}");
    assert!(show.contains("Interoperabilità Collaudo"), "{show}");
    let (success, _, stderr) = varco_cli(&db, &["mail", "show", "999999"]);
    assert!(!success && stderr.contains("nessuna mail numero 999999"), "{stderr}");

    // A bad URL is refused clearly, without showing the password.
    let (success, _, stderr) = varco_cli(&db, &["mail", "send", "--smtp-url", "http://mario:s3gr3to@mail.example.org"]);
    assert!(!success && stderr.contains("invalid SMTP URL http://mario:***@mail.example.org"), "{stderr}");
    assert!(!stderr.contains("s3gr3to"), "{stderr}");

    // `mail send` delivers it once, by hand.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp = SmtpServer::start(port, dir.path());
    let sent = ok(&db, &["mail", "send", "--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    assert!(sent.contains("Inviate 1 mail"), "{sent}");
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(smtp.mails()[0].subject, NEW_ROLE_SUBJECT);
    assert!(ok(&db, &["mail", "list"]).contains("[inviata "));
    assert_eq!(ok(&db, &["mail", "list", "--unsent"]).trim(), "Nessuna mail da inviare.");
    let again = ok(&db, &["mail", "send", "--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    assert!(again.contains("Inviate 0 mail"), "{again}");
    assert_eq!(smtp.mails().len(), 1);
});
