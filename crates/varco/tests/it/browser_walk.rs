//! The seed document walked in a real browser (headless Chromium driven by
//! `tests/node/seed-walk.mjs`), against a real Varco with its demo world. The
//! screenshots of each step are written to `target/screenshots/`; those shown by
//! `docs/seed-walk.md` (`docs/screenshots/`) change only with
//! `scripts/screenshots.sh`, which runs this test and copies them there.
use crate::common;

use common::node::{node_modules_ready, repo_root, run_node};
use std::path::PathBuf;
use varco::testkit::{spawn_app, Backend};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::model::{ProductId, ProductRole, RoleStatus};
use varco_selfcare::service::SelfCare;

#[tokio::test]
async fn seed_document_in_a_real_browser() {
    node_modules_ready();
    let app = spawn_app(Backend::Sqlite).await;
    let out = screenshots_dir();
    // Only this run's pictures are checked (and copied by scripts/screenshots.sh).
    let _ = std::fs::remove_dir_all(&out);
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
}

/// `screenshots/` in the workspace's target directory (`$CARGO_TARGET_DIR` if set,
/// else `target/` at the repository's root): a test run leaves the tracked files
/// alone. `scripts/screenshots.sh` looks for them in the same place.
fn screenshots_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => repo_root().join(dir),
        _ => repo_root().join("target"),
    };
    target.join("screenshots")
}
