//! The risk analysis of a purpose through the machine API (v2), as PDND checks it
//! when the purpose is activated: the version must be one of the consumer's kind
//! (PA for a PA; PRIVATE for a PRIVATE, GSP or SCP tenant) and not expired, and the
//! answers must follow that version's rules. The forms are written out by hand from
//! PDND's rule files (PA 3.0, PA 3.2, PRIVATE 2.1), not made from Varco's rules.
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use varco::testkit::{spawn_app, TestApp};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_PROVA, SEND_UAT};
use varco_platform::{Caller, NewTenant};

const BASE: &str = "/interop/collaudo/api/v2";

/// PA 3.2, with personal data.
fn pa_3_2() -> Value {
    json!({
        "version": "3.2",
        "answers": {
            "purpose": ["INSTITUTIONAL"],
            "institutionalPurpose": ["Notifica degli avvisi di pagamento dei tributi"],
            "usesPersonalData": ["YES"],
            "personalDataTypes": ["WITH_IDENTIFYING_DATA"],
            "legalBasis": ["PUBLIC_INTEREST"],
            "legalBasisPublicInterest": ["RULE_OF_LAW"],
            "ruleOfLawText": ["D.L. 76/2020, art. 26"],
            "knowsDataQuantity": ["NO"],
            "deliveryMethod": ["CLEARTEXT"],
            "policyProvided": ["YES"],
            "policyProvidedMedium": ["PRINT"],
            "confirmPricipleIntegrityAndDiscretion": ["true"],
            "doneDpia": ["NO"],
            "dataDownload": ["NO"],
            "purposePursuit": ["MERE_CORRECTNESS"],
            "checkedExistenceMereCorrectnessInteropCatalogue": ["true"],
            "isRequestOnBehalfOfThirdParties": ["NO"],
            "declarationConfirmGDPR": ["true"]
        }
    })
}

/// PA 3.0, answers complete under its rules; the version expired on 2026-02-15.
fn pa_3_0() -> Value {
    json!({
        "version": "3.0",
        "answers": {
            "purpose": ["INSTITUTIONAL"],
            "institutionalPurpose": ["Notifica degli avvisi di pagamento dei tributi"],
            "personalDataTypes": ["WITH_IDENTIFYING_DATA"],
            "legalBasis": ["LEGAL_OBLIGATION"],
            "legalObligationReference": ["D.L. 76/2020, art. 26"],
            "knowsDataQuantity": ["NO"],
            "deliveryMethod": ["CLEARTEXT"],
            "policyProvided": ["YES"],
            "confirmPricipleIntegrityAndDiscretion": ["true"],
            "doneDpia": ["NO"],
            "dataDownload": ["NO"],
            "purposePursuit": ["MERE_CORRECTNESS"],
            "checkedExistenceMereCorrectnessInteropCatalogue": ["true"],
            "usesThirdPartyData": ["NO"],
            "declarationConfirmGDPR": ["true"]
        }
    })
}

/// PRIVATE 2.1, with art. 9 data: its new question is answered.
fn private_2_1() -> Value {
    json!({
        "version": "2.1",
        "answers": {
            "purpose": ["OTHER"],
            "otherPurpose": ["Invio delle comunicazioni ai clienti"],
            "usesPersonalData": ["YES"],
            "personalDataTypes": ["GDPR_ART_9"],
            "legalBasis": ["CONTRACT"],
            "knowsDataQuantity": ["YES"],
            "dataQuantity": ["QUANTITY_101_TO_500"],
            "deliveryMethod": ["AGGREGATE"],
            "policyProvided": ["YES"],
            "policyProvidedMedium": ["ONLINE"],
            "policyProvidedOnlineLink": ["https://impresa.example/privacy"],
            "confirmPricipleIntegrityAndDiscretion": ["true"],
            "dataProtectionMeasuresParticular": ["Cifratura dei dati sanitari"],
            "doneDpia": ["YES"],
            "confirmedDoneDpia": ["NO"],
            "dataDownload": ["NO"],
            "purposePursuit": ["NEW_PERSONAL_DATA"],
            "checkedAllDataNeeded": ["true"],
            "declarationConfirmGDPR": ["true"]
        }
    })
}

/// A tenant of `kind` in Collaudo with an Active agreement on SEND and an API
/// client; returns its voucher.
async fn consumer_of_kind(app: &TestApp, name: &str, kind: TenantKind) -> String {
    let svc = app.running.platform.env(Env::Collaudo);
    svc.create_tenant(
        &Caller::Operator,
        NewTenant {
            name: name.into(),
            origin: "IPA".into(),
            origin_id: format!("ra_{kind:?}").to_lowercase(),
            kind,
            selfcare_id: None,
        },
    )
    .await
    .unwrap();
    consumer(app, name).await
}

/// `name`'s Active agreement on SEND (automatic approval) and an API client's voucher.
async fn consumer(app: &TestApp, name: &str) -> String {
    let svc = app.running.platform.env(Env::Collaudo);
    let t = svc.tenant_by_name(&Caller::Operator, name).await.unwrap();
    let send = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let a = svc.create_agreement(&Caller::Operator, t.id, send.id).await.unwrap();
    let a = svc.submit_agreement(&Caller::Operator, a.id, None).await.unwrap();
    assert_eq!(a.state, AgreementState::Active);
    let api = setup_api_client(app, Env::Collaudo, name, true).await;
    let r = post_token(app, Env::Collaudo, &token_form(&api.assertion(app), None), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().unwrap().to_string()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let r = read(app.http.post(app.url(&format!("{BASE}{path}"))).bearer_auth(token).json(&body).send().await.unwrap())
        .await;
    let body = serde_json::from_str(&r.text).unwrap_or(Value::Null);
    (r.status, body)
}

/// Drafts a purpose on SEND with `form` (accepted whatever the form: PDND's draft),
/// then activates it: the answer to the activation.
async fn draft_and_activate(app: &TestApp, token: &str, title: &str, form: Value) -> (StatusCode, Value) {
    let svc = app.running.platform.env(Env::Collaudo);
    let send = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let seed = json!({
        "eserviceId": send.id,
        "title": title,
        "description": "Finalità di prova dell'analisi del rischio",
        "isFreeOfCharge": false,
        "dailyCalls": 10,
        "riskAnalysisForm": form,
    });
    let (status, p) = post(app, "/purposes", token, seed).await;
    assert_eq!(status, 201, "{p}");
    post(app, &format!("/purposes/{}/activate", p["id"].as_str().unwrap()), token, json!({})).await
}

/// A refusal: 400, PDND's problem shape with its one error, and `detail` naming why.
#[track_caller]
fn assert_refused(got: (StatusCode, Value), detail: &str) {
    let body = assert_api_refused(got, 400);
    assert_eq!(body["errors"][0]["code"], "000-0001", "{body}");
    assert_eq!(body["detail"], detail, "{body}");
    assert_eq!(body["errors"][0]["detail"], detail, "{body}");
}

#[track_caller]
fn assert_active(got: (StatusCode, Value)) {
    let (status, p) = got;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["currentVersion"]["state"], "ACTIVE", "{p}");
    assert_eq!(p["isRiskAnalysisValid"], true, "{p}");
}

varco::both_backends!(purposes_are_activated_only_with_a_current_form_of_the_consumers_kind, |backend| async move {
    let app = spawn_app(backend).await;

    // A PA (the demo's Comune di Prova): PA 3.2 is accepted.
    let pa = consumer(&app, COMUNE_DI_PROVA).await;
    assert_active(draft_and_activate(&app, &pa, "PA 3.2", pa_3_2()).await);
    // PA 3.0 is complete, but expired on 2026-02-15 (today is later).
    assert_refused(
        draft_and_activate(&app, &pa, "PA 3.0", pa_3_0()).await,
        "la versione 3.0 dell'analisi del rischio per un ente PA è scaduta il 2026-02-15T23:59:59Z",
    );
    // A PRIVATE form is not one of a PA's.
    assert_refused(
        draft_and_activate(&app, &pa, "PRIVATE 2.1 di un PA", private_2_1()).await,
        "versione 2.1 dell'analisi del rischio sconosciuta per un ente PA",
    );
    // A PA 3.2 form that misses a required answer.
    let mut incomplete = pa_3_2();
    incomplete["answers"].as_object_mut().unwrap().remove("declarationConfirmGDPR");
    assert_refused(
        draft_and_activate(&app, &pa, "PA 3.2 incompleta", incomplete).await,
        "declarationConfirmGDPR: risposta obbligatoria mancante",
    );

    // A PRIVATE tenant: PRIVATE 2.1 is accepted, a PA form is not.
    let private = consumer_of_kind(&app, "Impresa di Prova S.r.l.", TenantKind::Private).await;
    assert_active(draft_and_activate(&app, &private, "PRIVATE 2.1", private_2_1()).await);
    assert_refused(
        draft_and_activate(&app, &private, "PA 3.2 di un privato", pa_3_2()).await,
        "versione 3.2 dell'analisi del rischio sconosciuta per un ente PRIVATE",
    );

    // A GSP fills in the PRIVATE form, as on PDND.
    let gsp = consumer_of_kind(&app, "Gestore di Prova S.p.A.", TenantKind::Gsp).await;
    assert_active(draft_and_activate(&app, &gsp, "PRIVATE 2.1 di un GSP", private_2_1()).await);
    assert_refused(
        draft_and_activate(&app, &gsp, "PA 3.2 di un GSP", pa_3_2()).await,
        "versione 3.2 dell'analisi del rischio sconosciuta per un ente PRIVATE",
    );
    let mut without_art_9_measures = private_2_1();
    without_art_9_measures["answers"].as_object_mut().unwrap().remove("dataProtectionMeasuresParticular");
    assert_refused(
        draft_and_activate(&app, &gsp, "PRIVATE 2.1 incompleta", without_art_9_measures).await,
        "dataProtectionMeasuresParticular: risposta obbligatoria mancante",
    );
});
