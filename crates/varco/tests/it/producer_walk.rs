//! The producer's half of a voucher walked in a real browser (headless Chromium
//! driven by `tests/node/producer-walk.mjs`) against a real Varco with its demo
//! world: Laura Bianchi (PagoPA S.p.A.) creates and publishes an e-service with
//! manual approval and a group of one verified attribute, its OpenAPI file chosen
//! from disk; Mario Rossi (Comune di Prova) requests it; Laura refuses it with a
//! reason; Mario sees the reason, duplicates and resubmits; Laura verifies the
//! attribute and activates the request; Mario's finalità over the threshold waits;
//! Laura approves it; Mario's client gets a voucher for it, built and verified by
//! PyJWT (`tests/independent/walk_voucher.py`). axe-core runs on every page shown.
//! The screenshots of the SQLite run end up in `target/screenshots-erogazione/`;
//! `scripts/screenshots.sh` copies them to `docs/screenshots/erogazione/`
//! (`docs/producer-walk.md`).
use crate::browser_walk::{check_screenshots, publish, screenshots_dir};
use crate::common;

use common::node::{node_modules_ready, run_node};
use std::path::Path;
use std::time::{Instant, SystemTime};
use varco::testkit::{spawn_app, Backend};
use varco_domain::*;
use varco_platform::demo::{COMUNE_DI_PROVA, PAGOPA};
use varco_platform::{Caller, Page as Window, PurposeFilter};

/// Every picture the walk takes, in order (`producer-walk.mjs`, `docs/producer-walk.md`).
pub(crate) const SCREENSHOTS: [&str; 17] = [
    "01-i-miei-eservice",
    "02-informazioni-generali",
    "03-soglie-e-attributi",
    "04-specifiche-tecniche",
    "05-riepilogo",
    "06-eservice-pubblicato",
    "07-catalogo-eservice",
    "08-richiesta-in-attesa",
    "09-richiesta-ricevuta",
    "10-richiesta-rifiutata",
    "11-motivo-del-rifiuto",
    "12-attributo-verificato",
    "13-richiesta-attivata",
    "14-finalita-in-attesa",
    "15-finalita-ricevuta",
    "16-finalita-approvata",
    "17-simulatore-token",
];

varco::both_backends!(the_producer_side_in_a_real_browser, |backend: Backend| async move {
    node_modules_ready();
    let app = spawn_app(backend).await;
    // The technician is Amministratore of Comune di Prova in Collaudo (the seed walk
    // shows how he becomes it).
    crate::common::web::give_technician(&app, &["admin"]).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let attribute = svc
        .attributes(&Caller::Operator, AttributeKind::Verified, Window::ALL)
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("the demo world has a verified attribute");

    let out = screenshots_dir(backend, "-erogazione");
    let name = out.file_name().unwrap().to_string_lossy().to_string();
    let taking = out.with_file_name(format!("{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&taking);
    let taking_arg = taking.to_string_lossy().to_string();
    let started = SystemTime::now();
    let clock = Instant::now();
    let cfg = app.running.platform.config(Env::Collaudo).clone();
    let run = run_node(
        Path::new("producer-walk.mjs"),
        &[
            "--base",
            &app.running.base_url,
            "--out",
            &taking_arg,
            "--jwks-url",
            &cfg.jwks_url,
            "--voucher-iss",
            &cfg.issuer,
            "--attribute",
            &attribute.name,
            "--client-assertion-aud",
            &cfg.client_assertion_audience,
        ],
        &[],
    )
    .await;
    println!("producer walk on {backend:?}: {:.1} s", clock.elapsed().as_secs_f64());
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success() && stdout.contains("WALK OK"),
        "the producer walk on {backend:?} failed:\n{stdout}{stderr}"
    );
    let _ = std::fs::remove_dir_all(taking.with_file_name(format!("{name}.{}-file", std::process::id())));
    check_screenshots(&taking, started, &SCREENSHOTS);
    publish(&taking, &out);

    // What the browser did is what the database holds.
    let pagopa = svc.tenant_by_name(&Caller::Operator, PAGOPA).await.unwrap();
    let comune = svc.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    let es = svc.eservice_by_name(&Caller::Operator, "Anagrafe dei residenti").await.unwrap();
    assert_eq!(es.producer_id, pagopa.id);
    let d = es.latest_published().expect("published");
    assert_eq!(d.agreement_approval_policy, ApprovalPolicy::Manual);
    assert_eq!(d.attributes.verified, vec![vec![attribute.id]]);
    assert_eq!((d.daily_calls_per_consumer, d.daily_calls_total), (100, 1000));
    let meta = d.interface.as_ref().expect("the interface file");
    let bytes = app.running.store.interface_file(Env::Collaudo, &d.id.to_string()).await.unwrap().unwrap();
    assert_eq!(meta.size as usize, bytes.len());

    let f = varco_platform::AgreementFilter { eservices: vec![es.id], ..Default::default() };
    let mut agreements = svc.agreements(&Caller::Operator, &f, Window::ALL).await.unwrap().items;
    agreements.sort_by_key(|a| a.created_at);
    let states: Vec<_> = agreements.iter().map(|a| (a.consumer_id, a.state)).collect();
    assert_eq!(states, vec![(comune.id, AgreementState::Rejected), (comune.id, AgreementState::Active)]);
    assert!(agreements[0].rejection_reason.as_deref().unwrap().starts_with("Manca l'indicazione"));
    let me = svc.tenant(&Caller::Operator, comune.id).await.unwrap();
    assert!(
        me.attributes
            .iter()
            .any(|a| a.attribute_id == attribute.id && a.kind == AttributeKind::Verified && a.is_active()),
        "{me:?}"
    );

    let f = PurposeFilter { consumers: vec![comune.id], ..PurposeFilter::default() };
    let purposes = svc.purposes(&Caller::Operator, &f, Window::ALL).await.unwrap().items;
    assert_eq!(purposes.len(), 1, "{purposes:?}");
    let p = &purposes[0];
    assert_eq!(
        p.versions.iter().map(|v| (v.daily_calls, v.state)).collect::<Vec<_>>(),
        [(500, PurposeVersionState::Active)]
    );

    let line = stdout.lines().find_map(|l| l.strip_prefix("VOUCHER ")).expect("the walk printed no VOUCHER line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let claims = &v["voucher"]["claims"];
    assert_eq!(v["voucher"]["ok"], true, "{v}");
    assert_eq!(claims["aud"], d.audience.join(",").as_str(), "{v}");
    assert_eq!(claims["purposeId"], p.id.to_string().as_str(), "{v}");
    assert_eq!(claims["eserviceId"], es.id.to_string().as_str(), "{v}");
    assert_eq!(claims["consumerId"], comune.id.to_string().as_str(), "{v}");
});
