//! The seed document walked in a real browser (headless Chromium driven by
//! `tests/node/seed-walk.mjs`), against a real Varco with its demo world, on SQLite
//! and on PostgreSQL, then on as the technician through the journey's next steps in
//! the Collaudo back office: a richiesta di fruizione for SEND - UAT (attivo), a
//! finalità with its risk analysis published (attivo), a second one over SEND - UAT's
//! threshold per consumer (in attesa di approvazione). The walk does only what a
//! person can (no forced clicks, no hidden fields read; after login no typed
//! addresses), and runs axe-core on every page it is shown: a serious or critical
//! violation fails it. The screenshots of each step are written afresh on every run
//! and checked here: the SQLite run's end up in `target/screenshots/`, the
//! PostgreSQL run's in `target/screenshots-postgres/`. Those shown by
//! `docs/seed-walk.md` (`docs/screenshots/`) change only with
//! `scripts/screenshots.sh`, which runs the SQLite walk and copies them there.
use crate::common;

use common::node::{node_modules_ready, repo_root, run_node};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use varco::testkit::{spawn_app, Backend};
use varco_domain::{AgreementState, Env, PurposeVersionState};
use varco_platform::demo::{COMUNE_DI_PROVA, SEND_UAT};
use varco_platform::{Caller, Page as Window, PurposeFilter};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::model::{ProductId, ProductRole, RoleStatus};
use varco_selfcare::service::SelfCare;

/// Every picture the walk takes, in order (`seed-walk.mjs`, `docs/seed-walk.md`).
const SCREENSHOTS: [&str; 24] = [
    "01-accesso-area-riservata",
    "02-amministratore-seleziona-ente",
    "03-panoramica-ente",
    "04-utenti",
    "05-crea-utente-errori",
    "06-crea-utente",
    "07-utente-creato",
    "08-tecnico-accede",
    "09-tecnico-seleziona-ente",
    "10-card-interoperabilita",
    "11-collaudo-home",
    "12-produzione-negata",
    "13-in-quale-ambiente",
    "14-catalogo-cerca-send",
    "15-eservice-send-uat",
    "16-richiesta-bozza",
    "17-richiesta-attiva",
    "18-finalita-informazioni-generali",
    "19-analisi-del-rischio",
    "20-riepilogo",
    "21-finalita-attiva",
    "22-riepilogo-oltre-soglia",
    "23-finalita-in-attesa",
    "24-finalita-inoltrate",
];

varco::both_backends!(seed_document_in_a_real_browser, |backend: Backend| async move {
    node_modules_ready();
    let app = spawn_app(backend).await;
    // This run's pictures go to a new directory of its own (two runs at once in one
    // checkout do not mix theirs), which replaces the backend's `screenshots…/` once
    // checked.
    let out = screenshots_dir(backend);
    let name = out.file_name().unwrap().to_string_lossy().to_string();
    let taking = out.with_file_name(format!("{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&taking);
    assert!(!taking.exists(), "cannot empty {}", taking.display());
    let taking_arg = taking.to_string_lossy().to_string();
    let started = SystemTime::now();
    let clock = Instant::now();
    let run = run_node(Path::new("seed-walk.mjs"), &["--base", &app.running.base_url, "--out", &taking_arg], &[]).await;
    println!("browser walk on {backend:?}: {:.1} s", clock.elapsed().as_secs_f64());
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success() && stdout.contains("WALK OK"),
        "the browser walk on {backend:?} failed:\n{stdout}{stderr}"
    );
    check_screenshots(&taking, started);
    publish(&taking, &out);

    // What the browser did is what the database holds: the technician has exactly
    // the role the seed asks for, and was told by mail.
    let sc = SelfCare::new(app.running.store.clone());
    let mario = sc.user_by_fiscal_code(&CodiceFiscale::parse("RSSMRA80A01H501U").unwrap()).await.unwrap().unwrap();
    let comune = sc.institutions().await.unwrap().into_iter().find(|i| i.name == "Comune di Prova").unwrap();
    let roles = sc.roles_of(mario.id, comune.id).await.unwrap();
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert_eq!(
        (roles[0].role.product, roles[0].role.product_role, roles[0].role.status),
        (ProductId::InteropColl, ProductRole::Admin, RoleStatus::Active)
    );
    let mails = sc.outbox().await.unwrap();
    assert!(mails.iter().any(|m| m.to == "mario.rossi@partner.example"), "{mails:?}");
    // The refused attempt with a wrong codice fiscale stored nothing more.
    assert_eq!(mails.iter().filter(|m| m.to == "mario.rossi@partner.example").count(), 1);

    // The richiesta and the two finalità the technician made in the pages.
    let svc = app.running.platform.env(Env::Collaudo);
    let tenant = svc.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    let send = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let agreements = svc.agreements(&Caller::Operator, &Default::default(), Window::ALL).await.unwrap().items;
    assert_eq!(agreements.len(), 1, "{agreements:?}");
    let a = &agreements[0];
    assert_eq!((a.consumer_id, a.eservice_id, a.state), (tenant.id, send.id, AgreementState::Active), "{a:?}");
    assert_eq!(a.consumer_notes.as_deref(), Some("Richiesta per il collaudo di SEND"));
    let f = PurposeFilter { consumers: vec![tenant.id], ..PurposeFilter::default() };
    let mut purposes = svc.purposes(&Caller::Operator, &f, Window::ALL).await.unwrap().items;
    purposes.sort_by(|x, y| x.title.cmp(&y.title));
    let shown: Vec<_> = purposes
        .iter()
        .map(|p| {
            (p.title.as_str(), p.eservice_id, p.versions.iter().map(|v| (v.daily_calls, v.state)).collect::<Vec<_>>())
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("Notifiche ai cittadini", send.id, vec![(1_000, PurposeVersionState::Active)]),
            ("Notifiche massive di prova", send.id, vec![(1_200_000, PurposeVersionState::WaitingForApproval)]),
        ]
    );
    for p in &purposes {
        let form = p.risk_analysis.as_ref().expect("the risk analysis is saved");
        assert_eq!(form.answers.get("purpose"), Some(&vec!["OTHER".to_string()]), "{form:?}");
        assert_eq!(form.answers.get("usesThirdPartyConfidentialData"), Some(&vec!["NO".to_string()]), "{form:?}");
    }
});

// The risk analysis without JavaScript (`tests/node/nojs-risk.mjs`, a browser context
// with scripts off): Maria Bianchi fills it in steps, each "Aggiorna" showing the
// questions that now apply with the answers kept, and publishes the finalità.
varco::both_backends!(risk_analysis_without_javascript, |backend: Backend| async move {
    node_modules_ready();
    let app = spawn_app(backend).await;
    // Comune di Prova's active richiesta on SEND - UAT, as `varco demo setup-consumer` makes it.
    let svc = app.running.platform.env(Env::Collaudo);
    let tenant = svc.tenant_by_name(&Caller::Operator, COMUNE_DI_PROVA).await.unwrap();
    let send = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let a = svc.create_agreement(&Caller::Operator, tenant.id, send.id).await.unwrap();
    let a = svc.submit_agreement(&Caller::Operator, a.id, None).await.unwrap();
    assert_eq!(a.state, AgreementState::Active);

    let clock = Instant::now();
    let run = run_node(Path::new("nojs-risk.mjs"), &["--base", &app.running.base_url], &[]).await;
    println!("risk analysis without JavaScript on {backend:?}: {:.1} s", clock.elapsed().as_secs_f64());
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success() && stdout.contains("NOJS OK"),
        "the walk without JavaScript on {backend:?} failed:\n{stdout}{stderr}"
    );

    let f = PurposeFilter { consumers: vec![tenant.id], ..PurposeFilter::default() };
    let purposes = svc.purposes(&Caller::Operator, &f, Window::ALL).await.unwrap().items;
    assert_eq!(purposes.len(), 1, "{purposes:?}");
    let p = &purposes[0];
    assert_eq!(p.title, "Notifiche senza JavaScript");
    assert_eq!(
        p.versions.iter().map(|v| (v.daily_calls, v.state)).collect::<Vec<_>>(),
        [(500, PurposeVersionState::Active)]
    );
    let answers = &p.risk_analysis.as_ref().expect("the risk analysis is saved").answers;
    let given: Vec<(&str, String)> = answers.iter().map(|(k, v)| (k.as_str(), v.join(","))).collect();
    assert_eq!(
        given,
        [
            ("isRequestOnBehalfOfThirdParties", "NO"),
            ("otherPurpose", "Invio di notifiche digitali per conto del Comune"),
            ("purpose", "OTHER"),
            ("usesPersonalData", "NO"),
            ("usesThirdPartyConfidentialData", "NO"),
            ("usesThirdPartyPersonalData", "YES"),
        ]
        .map(|(k, v)| (k, v.to_string())),
        "only the answers of the questions shown, as given in steps"
    );
});

/// `dir`, made by this run, holds exactly [`SCREENSHOTS`], each a PNG of the walk's
/// 1280 px wide page (at least its 900 px viewport high), written since `started`.
fn check_screenshots(dir: &Path, started: SystemTime) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("the walk wrote no {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    found.sort();
    let expected: Vec<String> = SCREENSHOTS.iter().map(|n| format!("{n}.png")).collect();
    assert_eq!(found, expected, "the screenshots written by this run, in {}", dir.display());
    // Some file systems keep modification times to the second (or two).
    let since = started - Duration::from_secs(2);
    for file in &expected {
        let path = dir.join(file);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
        assert!(modified >= since, "{file} was not written by this run");
        let png = std::fs::read(&path).unwrap();
        assert!(png.len() > 10_000, "{file} is only {} bytes", png.len());
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR", "{file} is not a PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert!(width == 1280 && height >= 900, "{file} is {width}x{height}, not a full-page shot at 1280x900");
    }
}

/// Makes `taking` the new `out` (for SQLite, what scripts/screenshots.sh copies to docs/).
fn publish(taking: &Path, out: &Path) {
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(out);
        // Fails only if another run published in between; then try again.
        if std::fs::rename(taking, out).is_ok() {
            return;
        }
    }
    panic!("cannot move {} to {}", taking.display(), out.display());
}

/// `screenshots/` (SQLite) or `screenshots-postgres/` in the workspace's target
/// directory (`$CARGO_TARGET_DIR` if set, else `target/` at the repository's root):
/// a test run leaves the tracked files alone. `scripts/screenshots.sh` looks for the
/// SQLite ones in the same place.
fn screenshots_dir(backend: Backend) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => repo_root().join(dir),
        _ => repo_root().join("target"),
    };
    target.join(match backend {
        Backend::Sqlite => "screenshots",
        Backend::Postgres => "screenshots-postgres",
    })
}
