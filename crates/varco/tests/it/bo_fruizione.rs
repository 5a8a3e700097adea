//! The consumer's pages of the back office, in a browser's shoes: Maria Bianchi,
//! Amministratore of Comune di Prova, in Collaudo finds SEND - UAT in the catalogue,
//! asks to use it, sends the request (automatic approval: active at once), then
//! suspends, reactivates and archives it; the draft keeps a message too long with
//! its error; every form needs the page's token; an Operatore di sicurezza sees the
//! requests without buttons, an Operatore API is refused them.
use crate::common;

use common::web::{Browser, Page};
use reqwest::StatusCode;
use varco::testkit::{spawn_app, Backend, TestApp};
use varco_domain::{AgreementId, AgreementState, Env};
use varco_platform::Caller;
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::demo::{ADMIN_COMUNE, TECHNICIAN};
use varco_selfcare::service::SelfCare;

const BO: &str = "/interop/collaudo";
const SEND: &str = "SEND - UAT (Piattaforma Notifiche)";

/// Logs `fiscal_code` in to SelfCare and into the back office of Collaudo for
/// Comune di Prova.
async fn enter_collaudo(app: &TestApp, fiscal_code: &str) -> Browser {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(fiscal_code).await;
    let comune = b.institution_id("Comune di Prova").await;
    let page = b.interop_card(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=collaudo")).await;
    let token = page.field("token").unwrap_or_else(|| panic!("no hand-over to Collaudo:\n{}", page.body));
    let binding = page.field("handoff").unwrap();
    let landed = b.post(&format!("{BO}/selfcare/login"), &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    b
}

/// The href of the first link whose text is `label`.
fn link(page: &Page, label: &str) -> String {
    let end = page.body.find(&format!("\">{label}</a>")).unwrap_or_else(|| panic!("no link {label}:\n{}", page.body));
    let start = page.body[..end].rfind("href=\"").unwrap() + "href=\"".len();
    page.body[start..end].replace("&amp;", "&")
}

/// The action of the form whose submit button says `label`.
fn form_action(page: &Page, label: &str) -> String {
    let at = page.body.find(&format!(">{label}</button>")).unwrap_or_else(|| panic!("no {label}:\n{}", page.body));
    let start = page.body[..at].rfind("action=\"").unwrap() + "action=\"".len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_string()
}

/// The agreement id in `/interop/collaudo/fruizione/richieste/{id}[/...]`.
fn agreement_id(location: &str) -> AgreementId {
    let rest = location.split("/fruizione/richieste/").nth(1).unwrap();
    rest[..36].parse().unwrap()
}

async fn state_of(app: &TestApp, id: AgreementId) -> varco_domain::Agreement {
    app.running.platform.env(Env::Collaudo).agreement(&Caller::Operator, id).await.unwrap()
}

/// From the catalogue's search to SEND - UAT's page.
async fn open_send(b: &Browser) -> Page {
    let found = b.get(&format!("{BO}/catalogo-e-service?nome=send+-+uat")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    b.get(&link(&found, SEND)).await
}

/// "Richiedi fruizione" on SEND - UAT: the draft's page.
async fn request_send(b: &Browser) -> (AgreementId, Page) {
    let es = open_send(b).await;
    let r = b.post(&form_action(&es, "Richiedi fruizione"), &[("csrf", &es.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location.unwrap();
    assert!(to.ends_with("/modifica?esito=creata"), "{to}");
    (agreement_id(&to), b.get(&to).await)
}

/// A request for SEND - UAT sent: active (automatic approval), its page.
async fn active_send(b: &Browser) -> (AgreementId, Page) {
    let (id, draft) = request_send(b).await;
    let r = b.post(&form_action(&draft, "Inoltra richiesta"), &[("csrf", &draft.csrf()), ("messaggio", "")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (id, b.get(&r.location.unwrap()).await)
}

varco::both_backends!(catalogue_request_and_submit, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;

    // The catalogue: SEND - UAT by name and by producer, nothing for others.
    let all = b.get(&format!("{BO}/catalogo-e-service")).await;
    all.assert_contains("<h1 class=\"h2\">Catalogo degli e-service</h1>");
    let by_name = b.get(&format!("{BO}/catalogo-e-service?nome=send+-+uat")).await;
    by_name.assert_contains(SEND);
    by_name.assert_contains("<dt>Erogatore</dt><dd>PagoPA S.p.A.</dd>");
    by_name.assert_contains("<dt>Versione</dt><dd>1</dd>");
    by_name.assert_contains("<dt>Tecnologia</dt><dd>REST</dd>");
    by_name.assert_contains("value=\"send - uat\"");
    let by_producer = b.get(&format!("{BO}/catalogo-e-service?erogatore=pagopa")).await;
    by_producer.assert_contains(SEND);
    for miss in ["nome=inesistente", "erogatore=Comune+di+Esempio", "nome=send&erogatore=Esempio"] {
        let none = b.get(&format!("{BO}/catalogo-e-service?{miss}")).await;
        assert!(!none.body.contains(SEND), "{miss} found SEND");
        none.assert_contains("Nessun e-service corrisponde alla ricerca.");
    }

    // Its page: the audience literal, thresholds, policy, the one button.
    let es = open_send(&b).await;
    es.assert_contains("<code class=\"varco-code varco-copyable\" data-testid=\"audience\">https://api.uat.notifichedigitali.it</code>");
    es.assert_contains("data-copy=\"https://api.uat.notifichedigitali.it\"");
    es.assert_contains("1.000.000");
    es.assert_contains("Automatica");
    es.assert_contains("Torna al catalogo");
    assert!(!es.body.contains("Completa richiesta") && !es.body.contains("Visualizza richiesta"));

    // "Richiedi fruizione": a draft, and its page.
    let (id, draft) = request_send(&b).await;
    draft.assert_contains("Bozza della richiesta creata");
    draft.assert_contains("Messaggio per l'erogatore</label>");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Draft);
    // The catalogue now offers to complete it, and the list shows it in draft.
    let es = open_send(&b).await;
    assert_eq!(link(&es, "Completa richiesta"), format!("{BO}/fruizione/richieste/{id}/modifica"));
    assert!(!es.body.contains(">Richiedi fruizione<"));
    let drafts = b.get(&format!("{BO}/fruizione/richieste?stato=DRAFT")).await;
    drafts.assert_contains("data-testid=\"stato\">in bozza</span>");

    // "Inoltra richiesta": automatic approval, active at once.
    let r = b
        .post(&form_action(&draft, "Inoltra richiesta"), &[("csrf", &draft.csrf()), ("messaggio", "Per il collaudo")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{BO}/fruizione/richieste/{id}?esito=inoltrata").as_str()));
    let page = b.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Gestisci richiesta di fruizione");
    page.assert_contains("Richiesta inoltrata.");
    page.assert_contains("<strong data-testid=\"stato\">attivo</strong>");
    page.assert_contains("Per il collaudo");
    let a = state_of(&app, id).await;
    assert_eq!(a.state, AgreementState::Active);
    assert_eq!(a.consumer_notes.as_deref(), Some("Per il collaudo"));

    // The list, by state; the catalogue now shows the request.
    let active = b.get(&format!("{BO}/fruizione/richieste?stato=ACTIVE")).await;
    active.assert_contains("Richieste di fruizione inoltrate");
    active.assert_contains(SEND);
    active.assert_contains("data-testid=\"stato\">attivo</span>");
    let none = b.get(&format!("{BO}/fruizione/richieste?stato=DRAFT")).await;
    assert!(!none.body.contains("tabella-richieste"), "{}", none.body);
    none.assert_contains("Nessuna richiesta corrisponde ai filtri scelti.");
    let es = open_send(&b).await;
    assert_eq!(link(&es, "Visualizza richiesta"), format!("{BO}/fruizione/richieste/{id}"));
});

varco::both_backends!(draft_keeps_a_message_too_long, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;
    let (id, draft) = request_send(&b).await;

    let saved =
        b.post(&form_action(&draft, "Salva bozza"), &[("csrf", &draft.csrf()), ("messaggio", "Prima nota")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let draft = b.get(saved.location.as_deref().unwrap()).await;
    draft.assert_contains("Bozza salvata.");
    draft.assert_contains(">Prima nota</textarea>");
    assert_eq!(state_of(&app, id).await.consumer_notes.as_deref(), Some("Prima nota"));

    let long = format!("{}fine", "è".repeat(1000));
    for button in ["Salva bozza", "Inoltra richiesta"] {
        let r = b.post(&form_action(&draft, button), &[("csrf", &draft.csrf()), ("messaggio", &long)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{button}: {}", r.body);
        // The error next to the field, and what was typed still in it.
        r.assert_contains(
            "<div class=\"field-error\" id=\"messaggio-error\" data-testid=\"errore-messaggio\">Il messaggio può avere al \
             massimo 1000 caratteri (ne ha 1004).</div>",
        );
        r.assert_contains(&format!(">{long}</textarea>"));
        r.assert_contains("aria-invalid=\"true\"");
        // Nothing stored.
        let a = state_of(&app, id).await;
        assert_eq!(a.state, AgreementState::Draft, "{button}");
        assert_eq!(a.consumer_notes.as_deref(), Some("Prima nota"), "{button}");
    }
});

varco::both_backends!(suspend_reactivate_archive, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;
    let (id, page) = active_send(&b).await;

    let r = b.post(&form_action(&page, "Sospendi"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Richiesta sospesa.");
    page.assert_contains("<strong data-testid=\"stato\">sospeso</strong> (dal tuo ente)");
    assert!(!page.body.contains(">Sospendi</button>"));
    let a = state_of(&app, id).await;
    assert!(a.state == AgreementState::Suspended && a.suspended_by_consumer);

    let r = b.post(&form_action(&page, "Riattiva"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Richiesta riattivata.");
    page.assert_contains("<strong data-testid=\"stato\">attivo</strong>");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Active);

    // "Archivia" asks first; nothing changes until confirmed.
    let archive = form_action(&page, "Archivia");
    let asked = b.post(&archive, &[("csrf", &page.csrf())]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    asked.assert_contains("Archivia la richiesta");
    asked.assert_contains("name=\"conferma\" value=\"si\"");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Active);
    let r = b.post(&archive, &[("csrf", &asked.csrf()), ("conferma", "si")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Richiesta archiviata.");
    page.assert_contains("<strong data-testid=\"stato\">archiviato</strong>");
    assert!(!page.body.contains("data-testid=\"azioni\""), "an archived request has no actions");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Archived);
    // Archived: the catalogue offers a new request.
    let es = open_send(&b).await;
    es.assert_contains(">Richiedi fruizione</button>");
});

varco::both_backends!(forms_need_the_page_token, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;

    // "Richiedi fruizione" without the token creates nothing.
    let es = open_send(&b).await;
    let request = form_action(&es, "Richiedi fruizione");
    for form in [vec![], vec![("csrf", "forged")]] {
        let r = b.post(&request, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        r.assert_contains("Modulo scaduto");
    }
    let mine = app
        .running
        .platform
        .env(Env::Collaudo)
        .agreements(&Caller::Operator, &Default::default(), varco_platform::Page::ALL)
        .await
        .unwrap();
    assert_eq!(mine.total, 0, "a request was created without the token");

    // Every action of a request, without the token: 403, in the person's frame,
    // and the request as it was. The routes come from the pages' own table.
    let (id, _) = active_send(&b).await;
    let before = state_of(&app, id).await;
    let posts: Vec<&str> =
        varco_pages::backoffice::richieste::ROUTES.iter().filter(|(m, _)| *m == "POST").map(|(_, p)| *p).collect();
    assert!(posts.len() >= 9, "{posts:?}");
    for path in posts {
        let url = path.replace("{env}", "collaudo").replace("{id}", &id.to_string());
        for form in [vec![("conferma", "si"), ("messaggio", "x")], vec![("csrf", "forged"), ("conferma", "si")]] {
            let r = b.post(&url, &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{url}: {}", r.body);
            r.assert_contains("data-testid=\"utente-collegato\">Maria Bianchi");
        }
        assert_eq!(state_of(&app, id).await, before, "{url} changed the request without the token");
    }
});

varco::both_backends!(operators_see_read_only_or_nothing, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let admin = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;
    let (id, _) = active_send(&admin).await;

    // Mario Rossi, Operatore di sicurezza in Collaudo: sees, may not act.
    let comune = crate::common::web::give_technician(&app, &["security"]).await;
    let security = enter_collaudo(&app, TECHNICIAN.fiscal_code).await;
    let list = security.get(&format!("{BO}/fruizione/richieste")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains(SEND);
    let page = security.get(&format!("{BO}/fruizione/richieste/{id}")).await;
    page.assert_contains("<strong data-testid=\"stato\">attivo</strong>");
    page.assert_contains("solamente un amministratore può modificarla");
    assert!(!page.body.contains(">Sospendi</button>") && !page.body.contains(">Archivia</button>"));
    let es = open_send(&security).await;
    es.assert_contains("Visualizza richiesta");
    // The platform refuses the action all the same, shown in the person's frame.
    let r = security.post(&format!("{BO}/fruizione/richieste/{id}/sospendi"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    r.assert_contains("data-testid=\"utente-collegato\">Mario Rossi");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Active);

    // Now Operatore API instead (SelfCare's current roles count at each request):
    // Fruizione is refused, in the person's frame.
    let sc = SelfCare::new(app.running.store.clone());
    let maria =
        sc.user_by_fiscal_code(&CodiceFiscale::parse(ADMIN_COMUNE.fiscal_code).unwrap()).await.unwrap().unwrap();
    let mario = sc.user_by_fiscal_code(&CodiceFiscale::parse(TECHNICIAN.fiscal_code).unwrap()).await.unwrap().unwrap();
    for r in sc.roles_of(mario.id, comune).await.unwrap() {
        sc.delete_role(maria.id, r.id).await.unwrap();
    }
    crate::common::web::give_technician(&app, &["api"]).await;
    for path in [format!("{BO}/fruizione/richieste"), format!("{BO}/fruizione/richieste/{id}")] {
        let r = security.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        r.assert_contains("Accesso negato");
        r.assert_contains("data-testid=\"utente-collegato\">Mario Rossi");
        assert!(!r.body.contains(SEND), "{path} shows the request to an Operatore API");
    }
    // The catalogue is for everyone, the request button disabled with the reason.
    let es = open_send(&security).await;
    es.assert_contains("Solamente un amministratore può richiedere la fruizione");
    es.assert_contains("disabled");
});

/// A producer's person for the platform's use cases (PagoPA's Amministratore).
async fn producer(app: &TestApp) -> (Caller, varco_domain::TenantId) {
    let svc = app.running.platform.env(Env::Collaudo);
    let pagopa = svc.tenant_by_name(&Caller::Operator, varco_platform::demo::PAGOPA).await.unwrap().id;
    let who = Caller::Person {
        env: Env::Collaudo,
        tenant: pagopa,
        user: varco_domain::UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    (who, pagopa)
}

fn descriptor(audience: &str, policy: varco_domain::ApprovalPolicy) -> varco_domain::eservice::DescriptorInput {
    varco_domain::eservice::DescriptorInput {
        description: None,
        audience: vec![audience.into()],
        voucher_lifespan: 600,
        daily_calls_per_consumer: 1000,
        daily_calls_total: 100_000,
        agreement_approval_policy: policy,
        server_urls: vec![audience.into()],
        attributes: Default::default(),
    }
}

// A newer version published by the producer: the request's page offers "Aggiorna a
// nuova versione", which moves it there (and the old version, unused, is archived).
varco::both_backends!(a_request_moves_to_the_new_version, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;
    let (id, page) = active_send(&b).await;
    assert!(!page.body.contains("Aggiorna a nuova versione"), "nothing newer yet");
    let (who, _) = producer(&app).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let es = state_of(&app, id).await.eservice_id;
    let v2 = svc
        .add_descriptor(&who, es, descriptor("https://send.example/v2", varco_domain::ApprovalPolicy::Automatic))
        .await
        .unwrap();
    svc.publish_descriptor(&who, es, v2).await.unwrap();

    let page = b.get(&format!("{BO}/fruizione/richieste/{id}")).await;
    let r = b.post(&form_action(&page, "Aggiorna a nuova versione"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location.unwrap();
    assert!(to.ends_with("?esito=aggiornata"), "{to}");
    let upgraded = b.get(&to).await;
    upgraded.assert_contains("Richiesta aggiornata alla nuova versione dell");
    let new_id = agreement_id(&to);
    let new = state_of(&app, new_id).await;
    assert_eq!((new.descriptor_id, new.state), (v2, AgreementState::Active));
    assert_eq!(state_of(&app, id).await.state, AgreementState::Archived);
});

// A request the producer rejects: its page shows the reason, and "Duplica" makes a new
// draft of it.
varco::both_backends!(a_rejected_request_shows_why_and_is_duplicated, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let (who, pagopa) = producer(&app).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let es = svc
        .create_eservice(
            &who,
            pagopa,
            "Servizio su approvazione",
            "Un e-service approvato a mano",
            varco_domain::Technology::Rest,
            varco_domain::EServiceMode::Deliver,
        )
        .await
        .unwrap();
    let d = svc
        .add_descriptor(&who, es.id, descriptor("https://manuale.example", varco_domain::ApprovalPolicy::Manual))
        .await
        .unwrap();
    svc.publish_descriptor(&who, es.id, d).await.unwrap();

    let b = enter_collaudo(&app, ADMIN_COMUNE.fiscal_code).await;
    let found = b.get(&format!("{BO}/catalogo-e-service?nome=approvazione")).await;
    let es_page = b.get(&link(&found, "Servizio su approvazione")).await;
    let r = b.post(&form_action(&es_page, "Richiedi fruizione"), &[("csrf", &es_page.csrf())]).await;
    let draft = b.get(&r.location.unwrap()).await;
    let r = b
        .post(&form_action(&draft, "Inoltra richiesta"), &[("csrf", &draft.csrf()), ("messaggio", "Per favore")])
        .await;
    let to = r.location.unwrap();
    let id = agreement_id(&to);
    let waiting = b.get(&to).await;
    waiting.assert_contains("in attesa di approvazione");
    assert_eq!(state_of(&app, id).await.state, AgreementState::Pending);

    svc.reject_agreement(&who, id, "Manca la convenzione firmata con l'erogatore".into()).await.unwrap();
    let rejected = b.get(&format!("{BO}/fruizione/richieste/{id}")).await;
    rejected.assert_contains("rifiutato");
    rejected.assert_contains("Manca la convenzione firmata con l");
    let r = b.post(&form_action(&rejected, "Duplica"), &[("csrf", &rejected.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location.unwrap();
    let copy = agreement_id(&to);
    assert_ne!(copy, id);
    b.get(&to).await.assert_contains("Richiesta duplicata: questa è la nuova bozza.");
    let copy = state_of(&app, copy).await;
    assert_eq!((copy.state, copy.eservice_id), (AgreementState::Draft, es.id));
    assert_eq!(state_of(&app, id).await.state, AgreementState::Rejected);
});
