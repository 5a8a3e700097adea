//! "Gestione dei client" in the back office of Collaudo, as Maria Bianchi
//! (Amministratore of Comune di Prova): the list says what the kind of client is
//! for, "Crea nuovo client" keeps what was typed next to its error, a client
//! e-service with Maria as member gets a key (its kid shown), a finalità attached
//! and detached, then is deleted, each after a confirmation. Every paste mistake
//! is explained and stores nothing; a private key is never shown back nor logged.
use crate::common::web::{Browser, Page};
use crate::common::{fixture, LogCapture};
use reqwest::StatusCode;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::{ClientId, Env};
use varco_platform::demo::SEND_UAT;
use varco_platform::Caller;
use varco_selfcare::demo::ADMIN_COMUNE;

const LIST: &str = "/interop/collaudo/gestione-client/api-e-service";

/// Comune di Prova with an active finalità on SEND - UAT; Maria in Collaudo.
pub(crate) async fn world(app: &TestApp) -> (Browser, String, String) {
    let key = varco_jose::RsaPrivateKey::generate_2048();
    let out = varco::cli::setup_consumer(
        &app.running.platform,
        Env::Collaudo,
        "Comune di Prova",
        SEND_UAT,
        &key.public_key().to_pem(),
        100,
    )
    .await
    .unwrap();
    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;
    let csrf = b.get("/interop/collaudo/").await.csrf();
    (b, csrf, out["purposeId"].as_str().unwrap().to_string())
}

/// Maria's SelfCare id, as the create form offers her.
pub(crate) fn maria_id(form: &Page) -> String {
    let at = form.body.find("Maria Bianchi (tu)").unwrap_or_else(|| panic!("Maria not offered:\n{}", form.body));
    let start = form.body[..at].rfind("for=\"membro-").unwrap() + "for=\"membro-".len();
    form.body[start..start + 36].to_string()
}

/// A client e-service made on the page, Maria a member when `member`; its page path.
async fn new_client(b: &Browser, csrf: &str, member: bool) -> (ClientId, String) {
    let form = b.get(&format!("{LIST}/crea")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let maria = maria_id(&form);
    let mut fields = vec![("csrf", csrf), ("nome", "Client SEND"), ("descrizione", "Notifiche del Comune")];
    if member {
        fields.push(("membri", &maria));
    }
    let done = b.post(&format!("{LIST}/crea"), &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let to = done.location.unwrap();
    let path = to.split('?').next().unwrap().to_string();
    let id: ClientId = path.rsplit('/').next().unwrap().parse().unwrap();
    (id, path)
}

async fn key_count(app: &TestApp, id: ClientId) -> usize {
    app.running.platform.env(Env::Collaudo).own_client(&Caller::Operator, id).await.unwrap().keys.len()
}

varco::both_backends!(client_eservice_created_with_key_and_finalita_then_deleted, |backend| async move {
    let app = spawn_app(backend).await;
    let (b, csrf, purpose) = world(&app).await;

    let list = b.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains("I miei client API e-service");
    list.assert_contains("ottiene i voucher per usare un e-service");
    list.assert_contains("Cerca per nome");
    list.assert_contains(">Crea nuovo</a>");
    let interop = b.get("/interop/collaudo/gestione-client/api-interop").await;
    interop.assert_contains("I miei client API Interoperabilità");
    interop.assert_contains("chiamare le API della piattaforma");

    // A name too short: said next to the field, what was typed kept, nothing made.
    let bad = b
        .post(&format!("{LIST}/crea"), &[("csrf", &csrf), ("nome", "SEND"), ("descrizione", "Notifiche del Comune")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains("data-testid=\"errore-nome\">Deve avere da 5 a 60 caratteri (ne ha 4).");
    bad.assert_contains(">Notifiche del Comune</textarea>");
    bad.assert_contains("value=\"SEND\"");

    let (id, page) = new_client(&b, &csrf, true).await;
    let detail = b.get(&format!("{page}?esito=creato")).await;
    detail.assert_contains("Client creato.");
    detail.assert_contains("Maria Bianchi");
    assert!(b.get(LIST).await.body.contains("Client SEND"));

    // A key, by a member: its kid shown after the upload.
    let key = varco_jose::RsaPrivateKey::generate_2048().public_key();
    let pem = key.to_pem();
    let tab = b.get(&format!("{page}?tab=chiavi")).await;
    tab.assert_contains(&format!("href=\"{page}/chiavi/aggiungi\">Aggiungi</a>"));
    let up = b
        .post(&format!("{page}/chiavi/aggiungi"), &[("csrf", &csrf), ("nome", "Chiave di prova"), ("chiave", &pem)])
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    let kid = key.kid().to_string();
    let key_page = b.get(up.location.as_deref().unwrap()).await;
    key_page.assert_contains(&format!("data-testid=\"kid\">{kid}</code>"));
    key_page.assert_contains("Caricata da</dt><dd>Maria Bianchi");
    key_page.assert_contains("ID del client (clientId)");
    key_page.assert_contains("Data di creazione");
    let down = b.http.get(format!("{}{page}/chiavi/{kid}/scarica", b.base)).send().await.unwrap();
    let disposition = down.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(down.text().await.unwrap().trim(), pem.trim());
    assert_eq!(key_count(&app, id).await, 1);

    // The finalità: attached, then detached after a confirmation.
    let att = b.post(&format!("{page}/finalita/aggiungi"), &[("csrf", &csrf), ("finalita", &purpose)]).await;
    assert_eq!(att.status, StatusCode::SEE_OTHER, "{}", att.body);
    let svc = app.running.platform.env(Env::Collaudo);
    let purposes = |c: varco_domain::Client| c.purposes.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    assert_eq!(purposes(svc.own_client(&Caller::Operator, id).await.unwrap()), vec![purpose.clone()]);
    b.get(&format!("{page}?tab=finalita")).await.assert_contains("data-testid=\"finalita\"");
    let ask = b.post(&format!("{page}/finalita/rimuovi"), &[("csrf", &csrf), ("finalita", &purpose)]).await;
    assert_eq!(ask.status, StatusCode::OK);
    ask.assert_contains("name=\"conferma\" value=\"si\"");
    assert_eq!(purposes(svc.own_client(&Caller::Operator, id).await.unwrap()).len(), 1, "asked, not done");
    let gone = b
        .post(&format!("{page}/finalita/rimuovi"), &[("csrf", &csrf), ("finalita", &purpose), ("conferma", "si")])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert!(purposes(svc.own_client(&Caller::Operator, id).await.unwrap()).is_empty());

    // Elimina: asked first, then done.
    let ask = b.post(&format!("{page}/elimina"), &[("csrf", &csrf)]).await;
    assert_eq!(ask.status, StatusCode::OK);
    ask.assert_contains("Elimina client");
    assert!(svc.own_client(&Caller::Operator, id).await.is_ok(), "asked, not done");
    let done = b.post(&format!("{page}/elimina"), &[("csrf", &csrf), ("conferma", "si")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(format!("{LIST}?esito=eliminato").as_str()));
    assert!(svc.own_client(&Caller::Operator, id).await.is_err());
});

varco::both_backends!(each_paste_mistake_is_explained_and_stores_nothing, |backend| async move {
    let log = LogCapture::start();
    let app = spawn_app(backend).await;
    let (b, csrf, _) = world(&app).await;
    let (id, page) = new_client(&b, &csrf, true).await;
    let add = format!("{page}/chiavi/aggiungi");
    let cases: &[(&str, &str)] = &[
        ("garbage.txt", "non è una chiave in formato PEM"),
        ("rsa2048_cert.pem", "Hai incollato un certificato"),
        ("rsa2048_private_pkcs8.pem", "non va mai incollata da nessuna parte"),
        ("rsa2048_private_pkcs1.pem", "non va mai incollata da nessuna parte"),
        ("ec_p256_public.pem", "La chiave non è RSA"),
        ("rsa1024_public.pem", "La chiave RSA è di 1024 bit: servono almeno 2048 bit"),
    ];
    for (name, message) in cases {
        let pasted = fixture(name);
        let r = b.post(&add, &[("csrf", &csrf), ("nome", "Chiave sbagliata"), ("chiave", &pasted)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}: {}", r.body);
        assert!(r.body.contains(message), "{name}: expected {message:?} in\n{}", r.body);
        assert_eq!(key_count(&app, id).await, 0, "{name}: nothing stored");
        if name.contains("private") {
            // A line of the key's body: not in the page (not even the textarea), not in the log.
            let secret = pasted.lines().nth(3).unwrap();
            assert!(secret.len() > 40);
            assert!(!r.body.contains(secret), "{name}: the private key is shown back");
            assert!(!log.text().contains(secret), "{name}: the private key is in the log");
            r.assert_contains("></textarea>");
        }
    }
    // The same key twice: the second is refused, the first stays alone.
    let pem = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    let first = b.post(&add, &[("csrf", &csrf), ("nome", "Chiave di prova"), ("chiave", &pem)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = b.post(&add, &[("csrf", &csrf), ("nome", "Chiave doppia"), ("chiave", &pem)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    again.assert_contains("Questa chiave è già caricata");
    assert_eq!(key_count(&app, id).await, 1);
});

varco::both_backends!(who_is_not_a_member_cannot_upload_a_key, |backend| async move {
    let app = spawn_app(backend).await;
    let (b, csrf, _) = world(&app).await;
    let (id, page) = new_client(&b, &csrf, false).await;
    let tab = b.get(&format!("{page}?tab=chiavi")).await;
    tab.assert_contains("disabled aria-describedby=\"chiavi-non-membro\">Aggiungi</button>");
    tab.assert_contains(
        "Per poter caricare una chiave, devi prima aggiungerti come utente nella tab «Membri del client»",
    );
    let pem = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    let r = b
        .post(&format!("{page}/chiavi/aggiungi"), &[("csrf", &csrf), ("nome", "Chiave di prova"), ("chiave", &pem)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(key_count(&app, id).await, 0);
    // Maria adds herself in "Membri del client": now she may.
    let form = b.get(&format!("{LIST}/crea")).await;
    let maria = maria_id(&form);
    let add = b.post(&format!("{page}/membri/aggiungi"), &[("csrf", &csrf), ("membro", &maria)]).await;
    assert_eq!(add.status, StatusCode::SEE_OTHER, "{}", add.body);
    let r = b
        .post(&format!("{page}/chiavi/aggiungi"), &[("csrf", &csrf), ("nome", "Chiave di prova"), ("chiave", &pem)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(key_count(&app, id).await, 1);
});
