//! The producer's side of the journey (step 10): SEND verifies a voucher from Varco
//! with `varco-verifier`, using only what Varco publishes (varco.json and the JWKS).
use crate::common;

use common::*;
use varco::testkit::spawn_app;
use varco_domain::Env;
use varco_verifier::{Expectations, Verifier, VerifyError};

varco::both_backends!(send_verifies_vouchers_with_the_published_jwks, |backend| async move {
    let app = spawn_app(backend).await;
    let consumer = setup_consumer(&app, "Comune di Prova").await;
    let reply = post_token(&app, Env::Collaudo, &token_form(&consumer.assertion(&app), None), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let voucher = reply.json()["access_token"].as_str().unwrap().to_string();

    let discovery: serde_json::Value =
        app.http.get(app.url("/interop/collaudo/.well-known/varco.json")).send().await.unwrap().json().await.unwrap();
    let jwks: serde_json::Value =
        app.http.get(discovery["jwksUri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let svc = app.running.platform.env(Env::Collaudo);
    let producer = svc.eservice(&varco_platform::Caller::Operator, consumer.eservice_id).await.unwrap().producer_id;
    let expect = Expectations::new(
        discovery["issuer"].as_str().unwrap(),
        varco_platform::demo::SEND_UAT_AUDIENCE,
        producer.to_string(),
    )
    .for_eservice(consumer.eservice_id.to_string());
    let verifier = Verifier::from_jwks(&jwks, expect.clone()).unwrap();
    let claims = verifier.verify(&voucher, now()).expect("SEND accepts the voucher");
    assert_eq!(claims["purposeId"], consumer.purpose_id.to_string());
    assert_eq!(claims["consumerId"], consumer.tenant_id.to_string());

    // Another environment's keys and issuer do not accept it.
    let prod: serde_json::Value =
        app.http.get(app.url("/interop/produzione/.well-known/varco.json")).send().await.unwrap().json().await.unwrap();
    let prod_jwks: serde_json::Value =
        app.http.get(prod["jwksUri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let prod_verifier = Verifier::from_jwks(&prod_jwks, expect.clone()).unwrap();
    assert!(matches!(prod_verifier.verify(&voucher, now()), Err(VerifyError::UnknownKid(_))));
    // Another producer's audience does not either.
    let other = Verifier::from_jwks(
        &jwks,
        Expectations::new(expect.issuer.clone(), "https://api.other.example", producer.to_string()),
    )
    .unwrap();
    assert!(matches!(other.verify(&voucher, now()), Err(VerifyError::WrongAudience { .. })));
    // Nor once it has expired.
    assert!(matches!(verifier.verify(&voucher, now() + 3601), Err(VerifyError::Expired { .. })));
});
