//! The seed document walked in a real browser (headless Chromium driven by
//! `tests/node/seed-walk.mjs`), against a real Varco with its demo world. The
//! screenshots of each step are written to `target/screenshots/`; those shown by
//! `docs/seed-walk.md` (`docs/screenshots/`) change only with
//! `scripts/screenshots.sh`, which runs this test and copies them there.
use crate::common;

use common::node::{node_modules_ready, repo_root, run_node};
use std::path::{Path, PathBuf};
use varco::testkit::{spawn_app, Backend};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::model::{ProductId, ProductRole, RoleStatus};
use varco_selfcare::service::SelfCare;

#[tokio::test]
async fn seed_document_in_a_real_browser() {
    node_modules_ready();
    let app = spawn_app(Backend::Sqlite).await;
    // This run's pictures go to a directory of its own (two runs at once in one
    // checkout do not mix theirs), which replaces `screenshots/` once checked.
    let out = screenshots_dir();
    let taking = out.with_file_name(format!("screenshots.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&taking);
    let taking_arg = taking.to_string_lossy().to_string();
    let run = run_node(Path::new("seed-walk.mjs"), &["--base", &app.running.base_url, "--out", &taking_arg], &[]).await;
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success() && stdout.contains("WALK OK"), "the browser walk failed:\n{stdout}");
    for name in ["01-accesso-area-riservata", "06-crea-utente", "11-collaudo-home", "12-produzione-negata"] {
        let png = std::fs::read(taking.join(format!("{name}.png"))).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}.png is not a real screenshot");
    }
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
}

/// Makes `taking` the new `out` (what scripts/screenshots.sh copies to docs/).
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
