//! The producer's pages of the back office, in a browser's shoes: Laura Bianchi,
//! Amministratore of PagoPA S.p.A. in Collaudo, receives the requests for
//! "Notifiche di prova – approvazione manuale" (manual approval, a verified
//! attribute, low thresholds): she verifies the attribute and activates one,
//! suspends and reactivates it, rejects another with a reason the consumer reads
//! (an empty one is refused and changes nothing); she approves an estimate of a
//! purpose waiting for approval, the load against the thresholds shown. Another
//! Ente decides nothing on requests that are not on its e-services; an Operatore
//! API reads the pages, an Operatore di sicurezza is refused them.
use crate::common::web::{give_technician, give_technician_at, Browser, Page};
use reqwest::StatusCode;
use varco::testkit::{spawn_app, Backend, TestApp};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, NOTIFICHE_PROVA, NOTIFICHE_PROVA_ATTRIBUTE, PAGOPA};
use varco_platform::{Caller, ProductRoles};
use varco_selfcare::demo::{ADMIN_COMUNE, PAGOPA_STAFF, TECHNICIAN};

const BO: &str = "/interop/collaudo";

/// `fiscal_code` logged in to SelfCare and into the back office of Collaudo for `institution`.
pub(crate) async fn enter(app: &TestApp, fiscal_code: &str, institution: &str) -> Browser {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(fiscal_code).await;
    b.enter_backoffice(institution, "collaudo").await;
    b
}

/// The demo world's Collaudo, as these tests use it.
pub(crate) struct World {
    pub prova: TenantId,
    pub esempio: TenantId,
    pub pagopa: TenantId,
    pub eservice: EServiceId,
    /// "Ente abilitato alle notifiche di prova", the verified attribute it asks for.
    pub attribute: AttributeId,
}

pub(crate) async fn world(app: &TestApp) -> World {
    let svc = app.running.platform.env(Env::Collaudo);
    let svc = &svc;
    let id = |name: &'static str| async move { svc.tenant_by_name(&Caller::Operator, name).await.unwrap().id };
    let es = svc.eservice_by_name(&Caller::Operator, NOTIFICHE_PROVA).await.unwrap();
    let d = es.latest_published().unwrap();
    assert_eq!(d.agreement_approval_policy, ApprovalPolicy::Manual);
    let attribute = d.attributes.verified[0][0];
    let a = svc.attribute(&Caller::Operator, attribute).await.unwrap();
    assert_eq!((a.name.as_str(), a.kind), (NOTIFICHE_PROVA_ATTRIBUTE, AttributeKind::Verified));
    World {
        prova: id(COMUNE_DI_PROVA).await,
        esempio: id(COMUNE_DI_ESEMPIO).await,
        pagopa: id(PAGOPA).await,
        eservice: es.id,
        attribute,
    }
}

/// An Amministratore of `tenant`, for the platform directly.
pub(crate) fn admin(tenant: TenantId) -> Caller {
    Caller::Person {
        env: Env::Collaudo,
        tenant,
        user: UserId::new(),
        roles: ProductRoles { admin: true, ..ProductRoles::default() },
    }
}

/// `consumer` asks for Notifiche di prova with `message`: waiting for approval.
pub(crate) async fn pending(app: &TestApp, w: &World, consumer: TenantId, message: &str) -> AgreementId {
    let svc = app.running.platform.env(Env::Collaudo);
    let c = admin(consumer);
    let a = svc.create_agreement(&c, consumer, w.eservice).await.unwrap();
    let a = svc.submit_agreement(&c, a.id, Some(message.into())).await.unwrap();
    assert_eq!(a.state, AgreementState::Pending);
    a.id
}

async fn agreement(app: &TestApp, id: AgreementId) -> Agreement {
    app.running.platform.env(Env::Collaudo).agreement(&Caller::Operator, id).await.unwrap()
}

async fn tenant(app: &TestApp, id: TenantId) -> Tenant {
    app.running.platform.env(Env::Collaudo).tenant(&Caller::Operator, id).await.unwrap()
}

async fn purpose(app: &TestApp, id: PurposeId) -> Purpose {
    app.running.platform.env(Env::Collaudo).purpose(&Caller::Operator, id).await.unwrap()
}

pub(crate) async fn events(app: &TestApp) -> i64 {
    app.running.store.last_event_seq().await.unwrap()
}

/// The action of the form whose button's text starts with `label`.
pub(crate) fn form_action(page: &Page, label: &str) -> String {
    let at = [format!(">{label}</button>"), format!(">{label}<span")]
        .iter()
        .filter_map(|n| page.body.find(n.as_str()))
        .min()
        .unwrap_or_else(|| panic!("no button {label}:\n{}", page.body));
    let start = page.body[..at].rfind("action=\"").unwrap() + "action=\"".len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_string()
}

fn has_button(page: &Page, label: &str) -> bool {
    page.body.contains(&format!(">{label}</button>")) || page.body.contains(&format!(">{label}<span"))
}

/// Is `tenant` holding `attribute` as verified by `producer`?
fn verified_by(t: &Tenant, attribute: AttributeId, producer: TenantId) -> bool {
    t.attributes.iter().any(|a| {
        a.attribute_id == attribute
            && a.kind == AttributeKind::Verified
            && a.is_active()
            && a.verified_by.contains(&producer)
    })
}

varco::both_backends!(producer_verifies_activates_suspends, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let id = pending(&app, &w, w.prova, "Per il collaudo delle notifiche del Comune").await;
    // Comune di Esempio's draft is its own business: not shown to the producer.
    let svc = app.running.platform.env(Env::Collaudo);
    let draft = svc.create_agreement(&admin(w.esempio), w.esempio, w.eservice).await.unwrap();
    let laura = enter(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;

    let list = laura.get(&format!("{BO}/erogazione/richieste")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains("<h1 class=\"h2\">Richieste di fruizione ricevute</h1>");
    list.assert_contains("aria-current=\"page\">Richieste ricevute</a>");
    list.assert_contains(&format!("<td>{COMUNE_DI_PROVA}</td>"));
    list.assert_contains("data-testid=\"stato\">in attesa di approvazione</span>");
    list.assert_contains(&format!("href=\"{BO}/erogazione/richieste/{id}\""));
    assert!(!list.body.contains(&draft.id.to_string()), "a consumer's draft is listed");
    assert!(!list.body.contains(&format!("<td>{COMUNE_DI_ESEMPIO}</td>")), "{}", list.body);
    // The filters: a state with nothing, a consumer, the consumers' drafts are no choice.
    let active = laura.get(&format!("{BO}/erogazione/richieste?stato=ACTIVE")).await;
    active.assert_contains("Nessuna richiesta corrisponde ai filtri scelti.");
    let by_consumer = laura.get(&format!("{BO}/erogazione/richieste?fruitore={}", w.prova)).await;
    by_consumer.assert_contains(&format!("{BO}/erogazione/richieste/{id}\""));
    let none = laura.get(&format!("{BO}/erogazione/richieste?fruitore={}", w.esempio)).await;
    none.assert_contains("Nessuna richiesta corrisponde ai filtri scelti.");
    assert_eq!(laura.get(&format!("{BO}/erogazione/richieste?stato=DRAFT")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(laura.get(&format!("{BO}/erogazione/richieste/{}", draft.id)).await.status, StatusCode::NOT_FOUND);

    // The request: the consumer, its message, the attribute to verify.
    let page = laura.get(&format!("{BO}/erogazione/richieste/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("<dd class=\"col-sm-8\" data-testid=\"fruitore\">Comune di Prova</dd>");
    page.assert_contains("Messaggio del fruitore</dt>");
    page.assert_contains("Per il collaudo delle notifiche del Comune");
    page.assert_contains(NOTIFICHE_PROVA_ATTRIBUTE);
    page.assert_contains("<span class=\"badge bg-warning text-dark\">da verificare</span>");
    page.assert_contains("data-testid=\"da-verificare\"");
    assert!(has_button(&page, "Attiva") && has_button(&page, "Rifiuta") && has_button(&page, "Verifica attributo"));

    // "Verifica attributo": verified by PagoPA for Comune di Prova.
    let r = laura
        .post(
            &form_action(&page, "Verifica attributo"),
            &[("csrf", &page.csrf()), ("attributo", &w.attribute.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{BO}/erogazione/richieste/{id}?esito=verificato").as_str()));
    assert!(verified_by(&tenant(&app, w.prova).await, w.attribute, w.pagopa));
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Attributo verificato per il fruitore.");
    page.assert_contains("<span class=\"badge bg-success\">verificato dal tuo ente</span>");
    assert!(has_button(&page, "Revoca attributo") && !has_button(&page, "Verifica attributo"));
    assert!(!page.body.contains("data-testid=\"da-verificare\""));

    // "Attiva".
    let r = laura.post(&form_action(&page, "Attiva"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{BO}/erogazione/richieste/{id}?esito=attivata").as_str()));
    assert_eq!(agreement(&app, id).await.state, AgreementState::Active);
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Richiesta attivata");
    page.assert_contains("<strong data-testid=\"stato\">attivo</strong>");
    assert!(!has_button(&page, "Attiva") && !has_button(&page, "Rifiuta"));

    // "Sospendi" sets the producer's suspension, "Riattiva" lifts it.
    let r = laura.post(&form_action(&page, "Sospendi"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let a = agreement(&app, id).await;
    assert_eq!(a.state, AgreementState::Suspended);
    assert!(a.suspended_by_producer && !a.suspended_by_consumer);
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("<strong data-testid=\"stato\">sospeso</strong> (dal tuo ente)");
    let r = laura.post(&form_action(&page, "Riattiva"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let a = agreement(&app, id).await;
    assert_eq!(a.state, AgreementState::Active);
    assert!(!a.suspended_by_producer);

    // "Revoca attributo": PagoPA's verification goes.
    let page = laura.get(&format!("{BO}/erogazione/richieste/{id}")).await;
    let r = laura
        .post(
            &form_action(&page, "Revoca attributo"),
            &[("csrf", &page.csrf()), ("attributo", &w.attribute.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location.as_deref().unwrap().ends_with("?esito=revocato"));
    assert!(!verified_by(&tenant(&app, w.prova).await, w.attribute, w.pagopa));
    // An attribute this version does not ask for is no choice.
    let before = events(&app).await;
    let other = laura
        .post(
            &format!("{BO}/erogazione/richieste/{id}/verifica"),
            &[("csrf", &page.csrf()), ("attributo", &AttributeId::new().to_string())],
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.body);
    assert_eq!(events(&app).await, before);
});

varco::both_backends!(rejection_needs_a_reason_the_consumer_reads, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let id = pending(&app, &w, w.prova, "Richiesta da rifiutare").await;
    let laura = enter(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;
    let page = laura.get(&format!("{BO}/erogazione/richieste/{id}")).await;
    page.assert_contains("<label for=\"motivo\" class=\"active\">Motivo del rifiuto (richiesto)</label>");
    let reject = form_action(&page, "Rifiuta");
    assert_eq!(reject, format!("{BO}/erogazione/richieste/{id}/rifiuta"));

    // No reason, or too long a one: the page again, with the message, nothing changed.
    let before = events(&app).await;
    let long = "x".repeat(1001);
    for (reason, message) in [
        ("", "Indica il motivo del rifiuto"),
        ("  \n ", "Indica il motivo del rifiuto"),
        (long.as_str(), "al massimo 1000 caratteri (ne ha 1001)"),
    ] {
        let r = laura.post(&reject, &[("csrf", &page.csrf()), ("motivo", reason)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{reason:?}: {}", r.body);
        r.assert_contains("data-testid=\"errore-motivo\"");
        r.assert_contains(message);
        r.assert_contains("aria-invalid=\"true\"");
        r.assert_contains("<strong data-testid=\"stato\">in attesa di approvazione</strong>");
    }
    assert_eq!(events(&app).await, before, "a refused rejection changed something");
    assert_eq!(agreement(&app, id).await.state, AgreementState::Pending);

    // With a reason: rejected, and the consumer reads why.
    let reason = "Manca la convenzione con PagoPA: sottoscrivila e invia una nuova richiesta.";
    let r = laura.post(&reject, &[("csrf", &page.csrf()), ("motivo", reason)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{BO}/erogazione/richieste/{id}?esito=rifiutata").as_str()));
    let a = agreement(&app, id).await;
    assert_eq!((a.state, a.rejection_reason.as_deref()), (AgreementState::Rejected, Some(reason)));
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("<strong data-testid=\"stato\">rifiutato</strong>");
    page.assert_contains(reason);
    assert!(!has_button(&page, "Rifiuta") && !has_button(&page, "Attiva"));

    let maria = enter(&app, ADMIN_COMUNE.fiscal_code, COMUNE_DI_PROVA).await;
    let mine = maria.get(&format!("{BO}/fruizione/richieste/{id}")).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    mine.assert_contains("<dt class=\"col-sm-4\">Motivo del rifiuto</dt>");
    mine.assert_contains(&format!("data-testid=\"motivo-rifiuto\">{reason}</dd>"));
});

varco::both_backends!(only_the_producer_decides, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let theirs = pending(&app, &w, w.esempio, "La richiesta di Comune di Esempio").await;
    let mine = pending(&app, &w, w.prova, "La richiesta di Comune di Prova").await;
    // Maria is Amministratore of Comune di Prova: a consumer of Notifiche di prova,
    // producer of nothing.
    let maria = enter(&app, ADMIN_COMUNE.fiscal_code, COMUNE_DI_PROVA).await;
    let list = maria.get(&format!("{BO}/erogazione/richieste")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains("Il tuo ente non ha ancora ricevuto richieste di fruizione.");
    let purposes = maria.get(&format!("{BO}/erogazione/finalita")).await;
    purposes.assert_contains("Il tuo ente non ha ancora ricevuto finalità.");
    // Her own request is hers as consumer, not here; another Ente's is not seen.
    let own = maria.get(&format!("{BO}/erogazione/richieste/{mine}")).await;
    assert_eq!(own.status, StatusCode::NOT_FOUND, "{}", own.body);
    let other = maria.get(&format!("{BO}/erogazione/richieste/{theirs}")).await;
    assert!([403, 404].contains(&other.status.as_u16()), "{}", other.body);
    let bad = maria.get(&format!("{BO}/erogazione/richieste/non-un-id")).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    bad.assert_contains("<html lang=\"it\">");

    let csrf = list.csrf();
    let attr = w.attribute.to_string();
    let before = events(&app).await;
    for (id, action) in [
        (theirs, "verifica"),
        (theirs, "attiva"),
        (theirs, "rifiuta"),
        (mine, "verifica"),
        (mine, "attiva"),
        (mine, "rifiuta"),
    ] {
        let r = maria
            .post(
                &format!("{BO}/erogazione/richieste/{id}/{action}"),
                &[("csrf", &csrf), ("attributo", &attr), ("motivo", "Non mi piace")],
            )
            .await;
        assert!([403, 404].contains(&r.status.as_u16()), "{action} on {id}: {} {}", r.status, r.body);
        r.assert_contains("<html lang=\"it\">");
    }
    assert_eq!(events(&app).await, before, "a refused decision changed something");
    assert!(!verified_by(&tenant(&app, w.esempio).await, w.attribute, w.prova));
    assert_eq!(agreement(&app, theirs).await.state, AgreementState::Pending);
    assert_eq!(agreement(&app, mine).await.state, AgreementState::Pending);
});

/// Comune di Prova's request on Notifiche di prova, active (PagoPA approved it).
async fn active(app: &TestApp, w: &World, consumer: TenantId) -> AgreementId {
    let id = pending(app, w, consumer, "Richiesta per le finalità").await;
    app.running.platform.env(Env::Collaudo).approve_agreement(&admin(w.pagopa), id).await.unwrap();
    id
}

/// A purpose of `consumer` on Notifiche di prova with `calls` a day, published.
async fn published(app: &TestApp, w: &World, consumer: TenantId, title: &str, calls: u32) -> Purpose {
    let svc = app.running.platform.env(Env::Collaudo);
    let c = admin(consumer);
    let kind = tenant(app, consumer).await.kind;
    let form = varco_domain::risk_analysis::rules_for(kind, None).unwrap().example_form();
    let p = svc
        .create_purpose(
            &c,
            consumer,
            w.eservice,
            title,
            "Invio di notifiche di prova ai cittadini",
            calls,
            Some(form),
            None,
        )
        .await
        .unwrap();
    svc.activate_purpose(&c, p.id).await.unwrap()
}

varco::both_backends!(purpose_waiting_is_approved_with_its_load, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    active(&app, &w, w.esempio).await;
    active(&app, &w, w.prova).await;
    // Comune di Esempio uses 40 calls a day; Comune di Prova asks 150, over the 100 a consumer.
    let theirs = published(&app, &w, w.esempio, "Notifiche di Esempio", 40).await;
    assert_eq!(theirs.active_version().map(|v| v.daily_calls), Some(40));
    let p = published(&app, &w, w.prova, "Notifiche del Comune di Prova", 150).await;
    assert!(p.waiting_version().is_some() && p.current_version().is_none());

    let laura = enter(&app, PAGOPA_STAFF.fiscal_code, PAGOPA).await;
    let list = laura.get(&format!("{BO}/erogazione/finalita")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains("<h1 class=\"h2\">Finalità ricevute</h1>");
    list.assert_contains("aria-current=\"page\">Finalità ricevute</a>");
    list.assert_contains("<th scope=\"row\">Notifiche del Comune di Prova</th>");
    list.assert_contains("<th scope=\"row\">Notifiche di Esempio</th>");
    let waiting = laura.get(&format!("{BO}/erogazione/finalita?stato=WAITING_FOR_APPROVAL")).await;
    waiting.assert_contains("Notifiche del Comune di Prova");
    assert!(!waiting.body.contains("Notifiche di Esempio"));
    let by_consumer = laura.get(&format!("{BO}/erogazione/finalita?fruitore={}", w.esempio)).await;
    assert!(by_consumer.body.contains("Notifiche di Esempio") && !by_consumer.body.contains("Notifiche del Comune"));

    // The purpose: what the consumer wrote, and the load against the thresholds.
    let page = laura.get(&format!("{BO}/erogazione/finalita/{}", p.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("<h1 class=\"h2 mb-0\">Notifiche del Comune di Prova</h1>");
    page.assert_contains("data-testid=\"fruitore\">Comune di Prova</dd>");
    page.assert_contains("Invio di notifiche di prova ai cittadini");
    page.assert_contains("data-testid=\"stato\">In attesa di approvazione</span>");
    page.assert_contains(
        "data-testid=\"carico-fruitore\">150 su una soglia per fruitore di 100 chiamate API/giorno – <strong>oltre la soglia</strong>",
    );
    page.assert_contains(
        "data-testid=\"carico-totale\">190 su una soglia totale di 1.000 chiamate API/giorno – entro la soglia",
    );
    page.assert_contains("data-testid=\"riepilogo-analisi\"");
    assert!(has_button(&page, "Approva") && has_button(&page, "Rifiuta") && !has_button(&page, "Sospendi"));

    // "Approva": the estimate is in use.
    let r = laura.post(&form_action(&page, "Approva"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{BO}/erogazione/finalita/{}?esito=approvata", p.id).as_str()));
    let now = purpose(&app, p.id).await;
    assert_eq!(now.active_version().map(|v| v.daily_calls), Some(150));
    assert!(now.waiting_version().is_none());
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Stima di carico approvata");
    page.assert_contains("data-testid=\"stato\">Attivo</span>");
    assert!(!page.body.contains("data-testid=\"carico\""));

    // "Sospendi" / "Riattiva": the producer's suspension.
    let r = laura.post(&form_action(&page, "Sospendi"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = purpose(&app, p.id).await;
    assert!(now.suspended_by_producer && !now.suspended_by_consumer);
    let page = laura.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("sospesa dal tuo ente");
    let r = laura.post(&form_action(&page, "Riattiva"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!purpose(&app, p.id).await.suspended_by_producer);

    // A new estimate over the threshold, rejected: a reason is needed, the consumer reads it.
    let svc = app.running.platform.env(Env::Collaudo);
    svc.new_purpose_version(&admin(w.prova), p.id, 300).await.unwrap();
    let page = laura.get(&format!("{BO}/erogazione/finalita/{}", p.id)).await;
    // 300 in place of the 150 in use: the Comune's other purposes have none.
    page.assert_contains("data-testid=\"carico-fruitore\">300 su una soglia per fruitore di 100");
    let reject = form_action(&page, "Rifiuta");
    let before = events(&app).await;
    let r = laura.post(&reject, &[("csrf", &page.csrf()), ("motivo", " ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.assert_contains("data-testid=\"errore-motivo\"");
    assert_eq!(events(&app).await, before);
    assert!(purpose(&app, p.id).await.waiting_version().is_some());
    let reason = "Oltre la soglia per fruitore: riduci la stima.";
    let r = laura.post(&reject, &[("csrf", &page.csrf()), ("motivo", reason)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = purpose(&app, p.id).await;
    assert!(now.waiting_version().is_none());
    assert_eq!(now.active_version().map(|v| v.daily_calls), Some(150));
    let maria = enter(&app, ADMIN_COMUNE.fiscal_code, COMUNE_DI_PROVA).await;
    let hers = maria.get(&format!("{BO}/fruizione/finalita/{}", p.id)).await;
    hers.assert_contains(&format!("Motivo: {reason}"));
});

varco::both_backends!(operatore_api_reads_operatore_di_sicurezza_is_refused, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let id = pending(&app, &w, w.prova, "Da approvare").await;
    active(&app, &w, w.esempio).await;
    let p = published(&app, &w, w.esempio, "Notifiche di Esempio", 500).await;
    assert!(p.waiting_version().is_some());

    // Mario Rossi, Operatore API of PagoPA S.p.A.: sees, decides nothing.
    give_technician_at(&app, PAGOPA_STAFF.fiscal_code, PAGOPA, &["api"]).await;
    let mario = enter(&app, TECHNICIAN.fiscal_code, PAGOPA).await;
    let list = mario.get(&format!("{BO}/erogazione/richieste")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains(&format!("{BO}/erogazione/richieste/{id}\""));
    let page = mario.get(&format!("{BO}/erogazione/richieste/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("data-testid=\"sola-lettura\"");
    for label in ["Attiva", "Rifiuta", "Verifica attributo"] {
        assert!(!has_button(&page, label), "{label} for an Operatore API");
    }
    assert!(!page.body.contains("name=\"motivo\""));
    let ps = mario.get(&format!("{BO}/erogazione/finalita/{}", p.id)).await;
    assert_eq!(ps.status, StatusCode::OK, "{}", ps.body);
    ps.assert_contains("data-testid=\"sola-lettura\"");
    assert!(!has_button(&ps, "Approva") && !ps.body.contains("name=\"motivo\""));
    let before = events(&app).await;
    let csrf = page.csrf();
    for path in [
        format!("{BO}/erogazione/richieste/{id}/attiva"),
        format!("{BO}/erogazione/richieste/{id}/verifica"),
        format!("{BO}/erogazione/finalita/{}/approva", p.id),
    ] {
        let r = mario.post(&path, &[("csrf", &csrf), ("attributo", &w.attribute.to_string())]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    assert_eq!(events(&app).await, before);

    // Mario, Operatore di sicurezza of Comune di Prova: the pages are not for him.
    give_technician(&app, &["security"]).await;
    let security = enter(&app, TECHNICIAN.fiscal_code, COMUNE_DI_PROVA).await;
    let home = security.get(&format!("{BO}/")).await;
    assert!(!home.body.contains("Richieste ricevute") && !home.body.contains("Finalità ricevute"));
    for path in [
        format!("{BO}/erogazione/richieste"),
        format!("{BO}/erogazione/richieste/{id}"),
        format!("{BO}/erogazione/finalita"),
        format!("{BO}/erogazione/finalita/{}", p.id),
    ] {
        let r = security.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        r.assert_contains("<html lang=\"it\">");
        r.assert_contains("data-testid=\"sidebar\"");
    }
});
