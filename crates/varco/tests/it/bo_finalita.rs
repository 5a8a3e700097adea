//! Fruizione > "Finalità inoltrate" in the back office of Collaudo, as Maria
//! Bianchi (Amministratore of Comune di Prova) walks it in a browser without
//! JavaScript: "Crea nuovo", the risk analysis in steps with "Aggiorna", the
//! "Riepilogo", "Pubblica"; a second purpose over SEND - UAT's threshold waits for
//! approval and says why; a missing answer is shown next to its question with the
//! answers kept; no form is accepted without the page's token.
use crate::common;

use common::web::{Browser, Page};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use varco::testkit::{spawn_app, Backend, TestApp};
use varco_domain::{AgreementState, ClientKind, Env, Purpose, PurposeId, PurposeVersionState, TenantId};
use varco_platform::demo::{COMUNE_DI_PROVA, SEND_UAT};
use varco_platform::{Caller, Page as Window, PurposeFilter};
use varco_selfcare::demo::ADMIN_COMUNE;

const BASE: &str = "/interop/collaudo/fruizione/finalita";

struct World {
    app: TestApp,
    b: Browser,
    tenant: TenantId,
    eservice: String,
}

/// Comune di Prova with an active agreement on SEND - UAT (made with the platform,
/// as the CLI's `setup-consumer` does), and Maria in the back office of Collaudo
/// through SelfCare's hand-over.
async fn world(backend: Backend) -> World {
    let app = spawn_app(backend).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let t = svc.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    let es = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let a = svc.create_agreement(&Caller::Operator, t.id, es.id).await.unwrap();
    let a = svc.submit_agreement(&Caller::Operator, a.id, None).await.unwrap();
    assert_eq!(a.state, AgreementState::Active);

    let b = Browser::new(&app.running.base_url);
    b.demo_login(ADMIN_COMUNE.fiscal_code).await;
    let comune = b.institution_id(COMUNE_DI_PROVA).await;
    let card = b.interop_card(&format!("/selfcare/enti/{comune}/interoperabilita?ambiente=collaudo")).await;
    let token = card.field("token").unwrap_or_else(|| panic!("no hand-over:\n{}", card.body));
    let binding = card.field("handoff").unwrap();
    let landed = b.post("/interop/collaudo/selfcare/login", &[("token", &token), ("handoff", &binding)]).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    World { tenant: t.id, eservice: es.id.to_string(), app, b }
}

impl World {
    async fn purposes(&self) -> Vec<Purpose> {
        let f = PurposeFilter { consumers: vec![self.tenant], ..PurposeFilter::default() };
        let svc = self.app.running.platform.env(Env::Collaudo);
        svc.purposes(&Caller::Operator, &f, Window::ALL).await.unwrap().items
    }

    async fn purpose(&self, id: PurposeId) -> Purpose {
        self.app.running.platform.env(Env::Collaudo).purpose(&Caller::Operator, id).await.unwrap()
    }

    /// "Crea nuovo" → "Salva bozza e prosegui": the new draft's id, landing on its risk analysis.
    async fn create(&self, title: &str, daily_calls: &str) -> PurposeId {
        let form = self.b.get(&format!("{BASE}/crea")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let r = self
            .b
            .post(
                &format!("{BASE}/crea"),
                &[
                    ("csrf", &form.csrf()),
                    ("titolo", title),
                    ("descrizione", "Invio di notifiche digitali a valore legale ai cittadini"),
                    ("eservice", &self.eservice),
                    ("chiamate", daily_calls),
                    ("gratuita", "no"),
                    ("motivo", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let to = r.location.unwrap();
        let id = to.strip_prefix(&format!("{BASE}/")).and_then(|s| s.strip_suffix("/modifica")).unwrap();
        id.parse().unwrap()
    }
}

/// The part of the risk-analysis form that is question `id` (up to the next question).
fn question<'a>(page: &'a Page, id: &str) -> &'a str {
    let marker = format!("id=\"q-{id}\"");
    let start = page.body.find(&marker).unwrap_or_else(|| panic!("question {id} not shown:\n{}", page.body));
    let rest = &page.body[start + marker.len()..];
    let end = rest.find("ra-question").unwrap_or(rest.len());
    &rest[..end]
}

fn shows(page: &Page, id: &str) -> bool {
    page.body.contains(&format!("id=\"q-{id}\""))
}

/// A form with `csrf` and the answers `ra.<id>`, plus extra fields.
fn answers<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)], given: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    let mut f = vec![("csrf".to_string(), csrf.to_string())];
    f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f.extend(given.iter().map(|(k, v)| (format!("ra.{k}"), v.to_string())));
    f
}

async fn post(b: &Browser, path: &str, form: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(path, &pairs).await
}

/// A complete PA 3.2 risk analysis without personal data, "Altra finalità".
const COMPLETE: &[(&str, &str)] = &[
    ("purpose", "OTHER"),
    ("otherPurpose", "Invio di notifiche per conto del Comune"),
    ("usesPersonalData", "NO"),
    ("usesThirdPartyPersonalData", "YES"),
    ("usesThirdPartyConfidentialData", "NO"),
    ("isRequestOnBehalfOfThirdParties", "NO"),
];

varco::both_backends!(create_risk_analysis_publish_and_over_threshold, |backend: Backend| async move {
    let w = world(backend).await;
    let list = w.b.get(BASE).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.assert_contains("<h1 class=\"h2 mb-0\">Le mie finalità inoltrate</h1>");
    list.assert_contains(&format!("href=\"{BASE}/crea\">Crea nuovo</a>"));
    list.assert_contains("L'ente non ha ancora finalità.");

    // Informazioni generali: the e-service among those with an active agreement.
    let form = w.b.get(&format!("{BASE}/crea")).await;
    form.assert_contains(&format!("<option value=\"{}\" selected>{SEND_UAT}</option>", w.eservice));
    form.assert_contains("Salva bozza e prosegui");
    // Out of bounds: each message next to its field, what was typed kept, nothing made.
    let bad =
        w.b.post(
            &format!("{BASE}/crea"),
            &[
                ("csrf", &form.csrf()),
                ("titolo", "Abc"),
                ("descrizione", "Corta"),
                ("eservice", &w.eservice),
                ("chiamate", "0"),
                ("gratuita", "si"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    bad.assert_contains(
        "<div class=\"field-error\" id=\"titolo-error\">Il nome deve avere da 5 a 60 caratteri (ne ha 3).</div>",
    );
    bad.assert_contains("id=\"descrizione-error\"");
    bad.assert_contains("id=\"chiamate-error\"");
    bad.assert_contains(
        "<div class=\"field-error\" id=\"motivo-error\">Spiega perché l&#39;accesso ai dati è a titolo gratuito.</div>",
    );
    bad.assert_contains("value=\"Abc\"");
    assert!(w.purposes().await.is_empty());

    let id = w.create("Notifiche ai cittadini", "1000").await;
    let p = w.purpose(id).await;
    assert_eq!(p.versions[0].state, PurposeVersionState::Draft);
    assert_eq!(p.versions[0].daily_calls, 1000);
    assert!(p.risk_analysis.is_none(), "the draft is made before its risk analysis");

    // Analisi del rischio, from the PA rules: the preselected "Fini istituzionali" shows
    // its text question, not the one of "Altra finalità".
    let edit = w.b.get(&format!("{BASE}/{id}/modifica")).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    edit.assert_contains("Questionario per enti PA, versione 3.2.");
    edit.assert_contains("<legend class=\"h6\">Finalità dell&#39;accesso ai dati*</legend>");
    assert!(question(&edit, "purpose").contains("value=\"INSTITUTIONAL\" checked"));
    assert!(question(&edit, "institutionalPurpose").contains("Max 2000 caratteri"));
    assert!(!shows(&edit, "otherPurpose"));
    assert!(!shows(&edit, "personalDataTypes"));

    // "Aggiorna" after choosing "Altra finalità": its question appears, the other goes,
    // the answers given stay.
    let csrf = edit.csrf();
    let step = post(
        &w.b,
        &format!("{BASE}/{id}/modifica"),
        &answers(
            &csrf,
            &[("azione", "aggiorna")],
            &[
                ("purpose", "OTHER"),
                ("institutionalPurpose", "Scritto prima di cambiare idea"),
                ("usesPersonalData", "NO"),
                ("usesThirdPartyPersonalData", "NO"),
                ("isRequestOnBehalfOfThirdParties", "NO"),
            ],
        ),
    )
    .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert!(shows(&step, "otherPurpose"));
    assert!(!shows(&step, "institutionalPurpose"));
    assert!(question(&step, "purpose").contains("value=\"OTHER\" checked"));
    assert!(question(&step, "usesPersonalData").contains("value=\"NO\" checked"));
    assert!(!shows(&step, "usesThirdPartyConfidentialData"));

    // A second "Aggiorna": a question depending on two answers appears; the text stays.
    let step = post(
        &w.b,
        &format!("{BASE}/{id}/modifica"),
        &answers(
            &csrf,
            &[("azione", "aggiorna")],
            &COMPLETE[..4].iter().chain(&COMPLETE[5..]).copied().collect::<Vec<_>>(),
        ),
    )
    .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert!(shows(&step, "usesThirdPartyConfidentialData"));
    assert!(question(&step, "otherPurpose").contains(">Invio di notifiche per conto del Comune</textarea>"));
    assert!(question(&step, "usesThirdPartyPersonalData").contains("value=\"YES\" checked"));
    assert!(w.purpose(id).await.risk_analysis.is_none(), "Aggiorna saves nothing");

    // "Vai al riepilogo": only the answers of the questions shown are kept, each a list.
    let mut given = COMPLETE.to_vec();
    given.push(("institutionalPurpose", "Non si applica più"));
    let saved = post(&w.b, &format!("{BASE}/{id}/modifica"), &answers(&csrf, &[("azione", "riepilogo")], &given)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some(format!("{BASE}/{id}/riepilogo?esito=salvata").as_str()));
    let form = w.purpose(id).await.risk_analysis.expect("the answers are saved");
    assert_eq!(form.version, "3.2");
    let expected: BTreeMap<String, Vec<String>> =
        COMPLETE.iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect();
    assert_eq!(form.answers, expected);

    // Riepilogo: what was entered, with its actions.
    let summary = w.b.get(&format!("{BASE}/{id}/riepilogo?esito=salvata")).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    summary.assert_contains("<h1 class=\"h2\">Riepilogo</h1>");
    summary.assert_contains("La bozza è stata salvata.");
    summary.assert_contains(&format!("<dd class=\"col-sm-8\">{SEND_UAT}</dd>"));
    summary.assert_contains("<dd class=\"col-sm-8\">1.000 chiamate API/giorno</dd>");
    summary.assert_contains("<dd class=\"col-sm-6\">Altra finalità</dd>");
    summary.assert_contains("Invio di notifiche per conto del Comune");
    summary.assert_contains("1.000.000 chiamate API/giorno");
    for action in ["Elimina bozza", "Modifica bozza", "Pubblica"] {
        summary.assert_contains(&format!(">{action}<"));
    }
    assert!(!summary.body.contains("analisi-incompleta"));

    // Pubblica → attivo.
    let published = w.b.post(&format!("{BASE}/{id}/pubblica"), &[("csrf", &summary.csrf())]).await;
    assert_eq!(published.status, StatusCode::SEE_OTHER, "{}", published.body);
    assert_eq!(published.location.as_deref(), Some(format!("{BASE}/{id}?esito=pubblicata").as_str()));
    let page = w.b.get(&format!("{BASE}/{id}?esito=pubblicata")).await;
    page.assert_contains("<h1 class=\"h2 mb-0\">Notifiche ai cittadini</h1>");
    page.assert_contains("data-testid=\"stato\">Attivo</span>");
    page.assert_contains("La finalità è stata pubblicata ed è attiva.");
    page.assert_contains("Dettagli finalità");
    page.assert_contains("Client associati");
    assert_eq!(w.purpose(id).await.versions[0].state, PurposeVersionState::Active);

    // A second purpose whose estimate, with the first one's, passes SEND - UAT's
    // 1.000.000 a consumer: it waits for PagoPA, and the page says why.
    let second = w.create("Notifiche massive di prova", "999500").await;
    let edit = w.b.get(&format!("{BASE}/{second}/modifica")).await;
    let r =
        post(&w.b, &format!("{BASE}/{second}/modifica"), &answers(&edit.csrf(), &[("azione", "riepilogo")], COMPLETE))
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let summary = w.b.get(&format!("{BASE}/{second}/riepilogo")).await;
    summary.assert_contains("data-testid=\"oltre-soglia\"");
    let r = w.b.post(&format!("{BASE}/{second}/pubblica"), &[("csrf", &summary.csrf())]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{second}?esito=in-attesa").as_str()), "{}", r.body);
    let page = w.b.get(&format!("{BASE}/{second}?esito=in-attesa")).await;
    page.assert_contains("data-testid=\"stato\">In attesa di approvazione</span>");
    page.assert_contains("in attesa di approvazione da parte dell&#39;erogatore");
    page.assert_contains(
        "La stima di 999.500 chiamate API/giorno, sommata alle 1.000 già attive dell&#39;ente su questo e-service \
         (1.000.500 in tutto), supera la soglia per fruitore di 1.000.000 chiamate API/giorno",
    );
    assert_eq!(w.purpose(second).await.versions[0].state, PurposeVersionState::WaitingForApproval);

    // The list shows both, with their states and estimates; the state filter works.
    let list = w.b.get(BASE).await;
    list.assert_contains(&format!("<a href=\"{BASE}/{id}\">Notifiche ai cittadini</a>"));
    list.assert_contains("<span class=\"badge bg-success\">Attivo</span>");
    list.assert_contains("<span class=\"badge bg-warning text-dark\">In attesa di approvazione</span>");
    list.assert_contains("<td class=\"text-end\">999.500</td>");
    let waiting = w.b.get(&format!("{BASE}?stato=WAITING_FOR_APPROVAL")).await;
    assert!(
        waiting.body.contains("Notifiche massive di prova") && !waiting.body.contains("Notifiche ai cittadini</a>")
    );

    // The actions of an active purpose, each with its notice.
    let csrf = page.csrf();
    let r = w.b.post(&format!("{BASE}/{id}/sospendi"), &[("csrf", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{id}?esito=sospesa").as_str()), "{}", r.body);
    let p = w.b.get(r.location.as_deref().unwrap()).await;
    p.assert_contains("data-testid=\"stato\">Sospeso</span>");
    p.assert_contains("La finalità è stata sospesa.");
    let r = w.b.post(&format!("{BASE}/{id}/riattiva"), &[("csrf", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{id}?esito=riattivata").as_str()), "{}", r.body);
    // "Richiedi cambio stima": within the threshold (the one waiting is no load yet)
    // the new estimate is in use at once; over it, it waits and the current one stays.
    let ask = w.b.get(&format!("{BASE}/{id}/cambio-stima")).await;
    ask.assert_contains("La stima attuale è di\n   <strong>1.000 chiamate API/giorno</strong>");
    let r = w.b.post(&format!("{BASE}/{id}/cambio-stima"), &[("csrf", &csrf), ("chiamate", "1000")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.assert_contains("deve essere diverso da quello attuale");
    let r = w.b.post(&format!("{BASE}/{id}/cambio-stima"), &[("csrf", &csrf), ("chiamate", "2000")]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{id}?esito=stima-attiva").as_str()), "{}", r.body);
    w.b.get(r.location.as_deref().unwrap())
        .await
        .assert_contains("<dd class=\"col-sm-8\">2.000 chiamate API/giorno</dd>");
    let r = w.b.post(&format!("{BASE}/{id}/cambio-stima"), &[("csrf", &csrf), ("chiamate", "1000001")]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{id}?esito=stima-in-attesa").as_str()), "{}", r.body);
    let p = w.b.get(r.location.as_deref().unwrap()).await;
    p.assert_contains("data-testid=\"stato\">Attivo</span>");
    p.assert_contains("Hai richiesto un cambio stima a 1.000.001 chiamate API/giorno");
    assert!(!p.body.contains(">Richiedi cambio stima<"), "one change at a time");

    // Client associati: the clients attached to it.
    let svc = w.app.running.platform.env(Env::Collaudo);
    let client = svc
        .create_client(&Caller::Operator, w.tenant, ClientKind::Consumer, "Client e-service SEND", None, vec![], None)
        .await
        .unwrap();
    svc.add_client_purpose(&Caller::Operator, client.id, id).await.unwrap();
    let tab = w.b.get(&format!("{BASE}/{id}?tab=client")).await;
    tab.assert_contains("<th scope=\"row\">Client e-service SEND</th>");
    tab.assert_contains(&client.id.to_string());

    // Archivia asks first; then it is archived.
    let ask = w.b.post(&format!("{BASE}/{id}/archivia"), &[("csrf", &csrf)]).await;
    assert_eq!(ask.status, StatusCode::OK);
    ask.assert_contains("Vuoi archiviare la finalità «Notifiche ai cittadini»?");
    assert!(w.purpose(id).await.current_version().is_some(), "nothing archived before the confirmation");
    let r = w.b.post(&format!("{BASE}/{id}/archivia"), &[("csrf", &csrf), ("conferma", "si")]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}/{id}?esito=archiviata").as_str()), "{}", r.body);
    w.b.get(r.location.as_deref().unwrap()).await.assert_contains("data-testid=\"stato\">Archiviato</span>");
});

varco::both_backends!(missing_answer_is_shown_next_to_its_question, |backend: Backend| async move {
    let w = world(backend).await;
    let id = w.create("Notifiche ai cittadini", "10").await;
    let edit = w.b.get(&format!("{BASE}/{id}/modifica")).await;
    // "Altra finalità" without its text, and "per conto di terzi" without saying whose.
    let r = post(
        &w.b,
        &format!("{BASE}/{id}/modifica"),
        &answers(
            &edit.csrf(),
            &[("azione", "riepilogo")],
            &[
                ("purpose", "OTHER"),
                ("otherPurpose", "   "),
                ("usesPersonalData", "NO"),
                ("usesThirdPartyPersonalData", "NO"),
                ("isRequestOnBehalfOfThirdParties", "YES"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let other = question(&r, "otherPurpose");
    assert!(
        other.contains(
            "<div class=\"field-error\" id=\"q-otherPurpose-error\">Risposta obbligatoria: rispondi a questa domanda.</div>"
        ),
        "{other}"
    );
    assert!(other.contains("aria-invalid=\"true\""));
    assert!(question(&r, "thirdPartiesRequestDataUsage").contains("id=\"q-thirdPartiesRequestDataUsage-error\""));
    assert!(!question(&r, "purpose").contains("field-error"), "no error on an answered question");
    r.assert_contains("<a href=\"#q-otherPurpose\">Descrivi la finalità</a>: Risposta obbligatoria");
    // The answers given stay.
    assert!(question(&r, "purpose").contains("value=\"OTHER\" checked"));
    assert!(question(&r, "usesPersonalData").contains("value=\"NO\" checked"));
    assert!(question(&r, "isRequestOnBehalfOfThirdParties").contains("value=\"YES\" checked"));
    // Nothing saved, and the summary says the analysis is not complete.
    assert!(w.purpose(id).await.risk_analysis.is_none());
    let summary = w.b.get(&format!("{BASE}/{id}/riepilogo")).await;
    summary.assert_contains("data-testid=\"analisi-incompleta\"");
    // Pubblica is refused by the platform.
    let r = w.b.post(&format!("{BASE}/{id}/pubblica"), &[("csrf", &summary.csrf())]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.assert_contains("Analisi del rischio mancante.");
    r.assert_contains("Torna al riepilogo");
    assert_eq!(w.purpose(id).await.versions[0].state, PurposeVersionState::Draft);
});

varco::both_backends!(no_form_without_the_page_token, |backend: Backend| async move {
    let w = world(backend).await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![
            ("titolo", "Notifiche ai cittadini"),
            ("descrizione", "Invio di notifiche digitali a valore legale ai cittadini"),
            ("eservice", w.eservice.as_str()),
            ("chiamate", "10"),
            ("gratuita", "no"),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let r = w.b.post(&format!("{BASE}/crea"), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        r.assert_contains("Modulo scaduto");
    }
    assert!(w.purposes().await.is_empty(), "no purpose without the page's token");

    let id = w.create("Notifiche ai cittadini", "10").await;
    let r = post(&w.b, &format!("{BASE}/{id}/modifica"), &answers("", &[("azione", "riepilogo")], COMPLETE)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(w.purpose(id).await.risk_analysis.is_none(), "no answers saved without the page's token");
    let r = w.b.post(&format!("{BASE}/{id}/pubblica"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = w.b.post(&format!("{BASE}/{id}/elimina"), &[("conferma", "si")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let p = w.purpose(id).await;
    assert_eq!(p.versions[0].state, PurposeVersionState::Draft);
    assert!(p.risk_analysis.is_none());

    // With the token, "Elimina bozza" asks first, then deletes.
    let summary = w.b.get(&format!("{BASE}/{id}/riepilogo")).await;
    let ask = w.b.post(&format!("{BASE}/{id}/elimina"), &[("csrf", &summary.csrf())]).await;
    assert_eq!(ask.status, StatusCode::OK);
    ask.assert_contains("Vuoi eliminare la bozza della finalità «Notifiche ai cittadini»?");
    let r = w.b.post(&format!("{BASE}/{id}/elimina"), &[("csrf", &summary.csrf()), ("conferma", "si")]).await;
    assert_eq!(r.location.as_deref(), Some(format!("{BASE}?esito=eliminata").as_str()), "{}", r.body);
    assert!(w.purposes().await.is_empty());
    w.b.get(r.location.as_deref().unwrap()).await.assert_contains("La bozza della finalità è stata eliminata.");
});
