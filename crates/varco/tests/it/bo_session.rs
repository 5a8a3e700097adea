//! A back-office session follows SelfCare: logging out of SelfCare ends it, and a
//! role suspended, removed or changed there counts at the person's next request.
use crate::common::web::Browser;
use reqwest::StatusCode;
use varco::testkit::{spawn_app, TestApp};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::demo::{ADMIN_COMUNE, TECHNICIAN};
use varco_selfcare::model::User;
use varco_selfcare::service::SelfCare;

const HOME: &str = "/interop/collaudo/";

fn selfcare(app: &TestApp) -> SelfCare {
    SelfCare::new(app.running.store.clone())
}

async fn person(sc: &SelfCare, fiscal_code: &str) -> User {
    sc.user_by_fiscal_code(&CodiceFiscale::parse(fiscal_code).unwrap()).await.unwrap().unwrap()
}

async fn comune(sc: &SelfCare) -> uuid::Uuid {
    sc.institutions().await.unwrap().into_iter().find(|i| i.name == "Comune di Prova").unwrap().id
}

/// Maria gives Mario Rossi `role` on Interoperabilità Collaudo.
async fn give(app: &TestApp, role: &str) {
    crate::common::web::give_technician(app, &[role]).await;
}

/// The id of Mario's live role `role` on Collaudo.
async fn role_id(app: &TestApp, role: &str) -> uuid::Uuid {
    let sc = selfcare(app);
    let mario = person(&sc, TECHNICIAN.fiscal_code).await;
    let roles = sc.roles_of(mario.id, comune(&sc).await).await.unwrap();
    roles
        .iter()
        .find(|r| r.role.product_role.as_str() == role && r.role.product.as_str() == "prod-interop-coll")
        .unwrap_or_else(|| panic!("no {role} role: {roles:?}"))
        .id
}

/// Mario, in the back office of Collaudo.
async fn mario_in(app: &TestApp) -> Browser {
    let b = Browser::new(&app.running.base_url);
    b.demo_login(TECHNICIAN.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;
    let home = b.get(HOME).await;
    home.assert_contains("Benvenuto, Mario Rossi");
    b
}

#[track_caller]
fn assert_signed_out(page: &crate::common::web::Page, what: &str) {
    assert_eq!(page.status, StatusCode::OK, "{what}");
    assert!(!page.body.contains("Benvenuto,"), "{what}: still signed in:\n{}", page.body);
    page.assert_contains("Per entrare accedi");
    assert!(
        page.set_cookies.iter().any(|c| c.starts_with("varco_bo_collaudo=;") && c.contains("Max-Age=0")),
        "{what}: the ended session's cookie goes: {:?}",
        page.set_cookies
    );
}

varco::both_backends!(logging_out_of_selfcare_ends_the_back_office_session, |backend| async move {
    let app = spawn_app(backend).await;
    give(&app, "admin").await;
    let b = mario_in(&app).await;
    let sc_page = b.get("/selfcare/enti").await;
    let out = b.post("/selfcare/logout", &[("csrf", &sc_page.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_signed_out(&b.get(HOME).await, "after Esci in SelfCare");
});

varco::both_backends!(suspending_or_removing_the_role_ends_the_session, |backend| async move {
    let app = spawn_app(backend).await;
    let sc = selfcare(&app);
    let maria = person(&sc, ADMIN_COMUNE.fiscal_code).await;
    give(&app, "admin").await;

    let b = mario_in(&app).await;
    sc.suspend_role(maria.id, role_id(&app, "admin").await).await.unwrap();
    assert_signed_out(&b.get(HOME).await, "after the suspension");

    sc.reactivate_role(maria.id, role_id(&app, "admin").await).await.unwrap();
    let b = mario_in(&app).await;
    sc.delete_role(maria.id, role_id(&app, "admin").await).await.unwrap();
    assert_signed_out(&b.get(HOME).await, "after the removal");
});

varco::both_backends!(a_changed_role_counts_at_the_next_request, |backend| async move {
    let app = spawn_app(backend).await;
    let sc = selfcare(&app);
    let maria = person(&sc, ADMIN_COMUNE.fiscal_code).await;
    give(&app, "admin").await;
    let b = mario_in(&app).await;
    b.get(HOME).await.assert_contains("<dt class=\"col-sm-3\">Ruolo</dt><dd class=\"col-sm-9\">Amministratore</dd>");
    // Amministratore becomes Operatore di sicurezza, in the same session.
    sc.delete_role(maria.id, role_id(&app, "admin").await).await.unwrap();
    give(&app, "security").await;
    let home = b.get(HOME).await;
    home.assert_contains("<dt class=\"col-sm-3\">Ruolo</dt><dd class=\"col-sm-9\">Operatore di sicurezza</dd>");
    assert!(!home.body.contains("Amministratore"), "{}", home.body);
});
