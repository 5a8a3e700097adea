//! Il mio ente > "Anagrafica e attributi", in a browser's shoes: Maria Bianchi,
//! Amministratore of Comune di Prova in Collaudo, reads the Ente's data from
//! SelfCare, sets the contact e-mail (a bad one is refused next to the field and
//! changes nothing), declares a declared attribute and revokes it, and sees the
//! certified attribute and the one PagoPA S.p.A. verified, with who verified it;
//! an Operatore di sicurezza reads the page and changes nothing.
use crate::bo_ricevute::{admin, enter, events, form_action, pending, world};
use crate::common::web::give_technician;
use reqwest::StatusCode;
use varco::testkit::{spawn_app, Backend, TestApp};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_PROVA, NOTIFICHE_PROVA_ATTRIBUTE};
use varco_platform::Caller;
use varco_selfcare::demo::{ADMIN_COMUNE, TECHNICIAN};

const PAGE: &str = "/interop/collaudo/il-mio-ente/anagrafica";

async fn prova(app: &TestApp) -> Tenant {
    app.running.platform.env(Env::Collaudo).tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap()
}

varco::both_backends!(shows_selfcare_data_and_edits_the_email, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let maria = enter(&app, ADMIN_COMUNE.fiscal_code, COMUNE_DI_PROVA).await;
    let page = maria.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("<h1 class=\"h2\">Anagrafica e attributi</h1>");
    page.assert_contains("aria-current=\"page\">Anagrafica e attributi</a>");
    // SelfCare's data of the Ente.
    page.assert_contains("<dt class=\"col-sm-4\">Nome dell'ente</dt><dd class=\"col-sm-8\">Comune di Prova</dd>");
    page.assert_contains("<dd class=\"col-sm-8 varco-code\">00000000001</dd>");
    page.assert_contains("<dt class=\"col-sm-4\">Codice IPA</dt><dd class=\"col-sm-8 varco-code\">c_prova</dd>");
    page.assert_contains("<dd class=\"col-sm-8\">protocollo@pec.comune.prova.example</dd>");
    page.assert_contains("<label for=\"email\" class=\"active\">E-mail di contatto</label>");
    let action = form_action(&page, "Salva e-mail");
    assert_eq!(action, format!("{PAGE}/email"));

    // Bad e-mails: next to the field, with what was typed; nothing recorded.
    let before = events(&app).await;
    let long = format!("{}@comune.prova.example", "a".repeat(260));
    for (typed, message) in [
        ("protocollo.comune.prova.example", "una e una sola «@»"),
        ("", "è obbligatorio"),
        ("protocollo@comune", "email non è valido (esempio: nome@ente.it)"),
        (long.as_str(), "al massimo 254 caratteri"),
    ] {
        let r = maria.post(&action, &[("csrf", &page.csrf()), ("email", typed)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}: {}", r.body);
        r.assert_contains("data-testid=\"errore-email\"");
        r.assert_contains(message);
        r.assert_contains("aria-invalid=\"true\"");
        if typed.len() < 100 {
            r.assert_contains(&format!("name=\"email\" value=\"{typed}\""));
        }
    }
    assert_eq!(events(&app).await, before, "a refused e-mail changed something");
    assert_eq!(prova(&app).await.contact_email, None);

    // A good one, kept with its event.
    let r = maria.post(&action, &[("csrf", &page.csrf()), ("email", "  Interop@Comune.Prova.Example ")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{PAGE}?esito=email").as_str()));
    assert_eq!(prova(&app).await.contact_email.as_deref(), Some("Interop@comune.prova.example"));
    assert_eq!(events(&app).await, before + 1);
    let page = maria.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("E-mail di contatto aggiornata.");
    page.assert_contains("name=\"email\" value=\"Interop@comune.prova.example\"");

    // Mario Rossi, Operatore di sicurezza: reads it all, changes nothing.
    give_technician(&app, &["security"]).await;
    let mario = enter(&app, TECHNICIAN.fiscal_code, COMUNE_DI_PROVA).await;
    let his = mario.get(PAGE).await;
    assert_eq!(his.status, StatusCode::OK, "{}", his.body);
    his.assert_contains("c_prova");
    his.assert_contains("data-testid=\"email-contatto\">Interop@comune.prova.example</dd>");
    his.assert_contains("data-testid=\"sola-lettura\"");
    assert!(!his.body.contains("Salva e-mail") && !his.body.contains("Dichiara attributo"));
    let before = events(&app).await;
    let r = mario.post(&action, &[("csrf", &his.csrf()), ("email", "altro@comune.prova.example")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(events(&app).await, before);
    assert_eq!(prova(&app).await.contact_email.as_deref(), Some("Interop@comune.prova.example"));
});

varco::both_backends!(declares_and_revokes_and_lists_attributes, |backend: Backend| async move {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let op = Caller::Operator;
    let declared = svc
        .create_attribute(&op, AttributeKind::Declared, "Ente aderente al collaudo", "Aderisce al collaudo", None, None)
        .await
        .unwrap();
    let certified = svc
        .create_attribute(&op, AttributeKind::Certified, "Comuni italiani", "Enti comunali", Some("IPA"), Some("L6"))
        .await
        .unwrap();
    svc.assign_attribute(&op, w.prova, certified.id).await.unwrap();
    // PagoPA verifies its attribute on Comune di Prova's request.
    pending(&app, &w, w.prova, "Per la verifica").await;
    svc.assign_attribute(&admin(w.pagopa), w.prova, w.attribute).await.unwrap();

    let maria = enter(&app, ADMIN_COMUNE.fiscal_code, COMUNE_DI_PROVA).await;
    let page = maria.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("<ul data-testid=\"attributi-certificati\"><li>Comuni italiani");
    page.assert_contains(&format!(
        "{NOTIFICHE_PROVA_ATTRIBUTE} <span class=\"small\">– verificato da PagoPA S.p.A.</span>"
    ));
    page.assert_contains("Il tuo ente non ha dichiarato attributi.");
    page.assert_contains(&format!("<option value=\"{}\">Ente aderente al collaudo</option>", declared.id));

    // "Dichiara attributo".
    let r = maria
        .post(
            &form_action(&page, "Dichiara attributo"),
            &[("csrf", &page.csrf()), ("attributo", &declared.id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{PAGE}?esito=dichiarato").as_str()));
    assert!(prova(&app).await.has_active(AttributeKind::Declared, declared.id));
    let page = maria.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Attributo dichiarato.");
    page.assert_contains("<ul data-testid=\"attributi-dichiarati\">");
    page.assert_contains("data-testid=\"nulla-da-dichiarare\"");
    assert!(!page.body.contains("<option value="));

    // Declaring what is not a declared attribute, or no id at all: refused, nothing changed.
    let before = events(&app).await;
    for attr in [w.attribute.to_string(), certified.id.to_string(), "non-un-id".into()] {
        let r = maria.post(&format!("{PAGE}/dichiara"), &[("csrf", &page.csrf()), ("attributo", &attr)]).await;
        assert!([400, 404].contains(&r.status.as_u16()), "{attr}: {} {}", r.status, r.body);
    }
    // Nor is a certified one revoked here.
    let r = maria
        .post(&format!("{PAGE}/revoca"), &[("csrf", &page.csrf()), ("attributo", &certified.id.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(events(&app).await, before);

    // "Revoca attributo".
    let r = maria
        .post(
            &form_action(&page, "Revoca attributo"),
            &[("csrf", &page.csrf()), ("attributo", &declared.id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(format!("{PAGE}?esito=revocato").as_str()));
    let t = prova(&app).await;
    assert!(!t.has_active(AttributeKind::Declared, declared.id));
    assert!(t.has_active(AttributeKind::Certified, certified.id), "the certified attribute stays");
    let page = maria.get(r.location.as_deref().unwrap()).await;
    page.assert_contains("Dichiarazione dell&#39;attributo revocata.");
    page.assert_contains("Il tuo ente non ha dichiarato attributi.");
    page.assert_contains(&format!("<option value=\"{}\">Ente aderente al collaudo</option>", declared.id));
});
