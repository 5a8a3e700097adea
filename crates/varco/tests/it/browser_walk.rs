//! The seed document walked in a real browser (headless Chromium driven by
//! `tests/node/seed-walk.mjs`), against a real Varco with its demo world. The
//! screenshots of each step are kept in `docs/screenshots/` and shown by
//! `docs/seed-walk.md`.
mod common;

use common::node::{node_modules_ready, repo_root, run_node};
use varco::testkit::{spawn_app, Backend};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::model::{ProductId, ProductRole, RoleStatus};
use varco_selfcare::service::SelfCare;

#[tokio::test]
async fn seed_document_in_a_real_browser() {
    node_modules_ready();
    let app = spawn_app(Backend::Sqlite).await;
    let out = repo_root().join("docs/screenshots");
    let out_arg = out.to_string_lossy().to_string();
    let run =
        run_node(std::path::Path::new("seed-walk.mjs"), &["--base", &app.running.base_url, "--out", &out_arg], &[])
            .await;
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success() && stdout.contains("WALK OK"), "the browser walk failed:\n{stdout}");
    for name in ["01-accesso-area-riservata", "06-crea-utente", "11-collaudo-home", "12-produzione-negata"] {
        let png = std::fs::read(out.join(format!("{name}.png"))).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}.png is not a real screenshot");
    }

    // What the browser did is what the database holds: the technician has exactly
    // the role the seed asks for, and was told by mail.
    let sc = SelfCare::new(app.running.platform.store.clone());
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
}
