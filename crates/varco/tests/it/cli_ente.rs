//! `varco ente add`: an Ente brought in by the operator, on both backends, with the
//! real binary. Its Legale rappresentante is Amministratore on the three
//! Interoperabilità products, and each environment has its tenant, linked by
//! SelfCare id. A refused Ente leaves nothing behind.
use std::process::Command;
use varco::testkit::{Backend, TestDb};
use varco_domain::Env;
use varco_platform::Caller;
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::model::{ProductId, ProductRole, RoleStatus};
use varco_selfcare::service::SelfCare;

const VARCO: &str = env!("CARGO_BIN_EXE_varco");

fn varco(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(VARCO).args(args).arg("--database-url").arg(db).output().expect("varco runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const ENTE: [&str; 20] = [
    "ente",
    "add",
    "--name",
    "Comune di Test",
    "--tax-code",
    "00000000003",
    "--ipa-code",
    "c_test",
    "--type",
    "PA",
    "--pec",
    "protocollo@pec.comune.test.example",
    "--manager-fiscal-code",
    "RSSMRA80A01H501U",
    "--manager-name",
    "Mario",
    "--manager-family-name",
    "Rossi",
    "--manager-email",
    "mario.rossi@comune.test.example",
];

varco::both_backends!(operator_brings_an_ente_in, |backend: Backend| async move {
    let test_db = TestDb::new(backend).await;
    let db = test_db.url.clone();

    // A wrong codice fiscale for the Legale rappresentante: refused, nothing stored.
    let mut bad = ENTE;
    bad[13] = "RSSMRA80A01H501X";
    let (ok, _, err) = varco(&db, &bad);
    assert!(!ok);
    assert!(err.contains("--manager-fiscal-code"), "{err}");
    let (ok, list, _) = varco(&db, &["ente", "list"]);
    assert!(ok);
    assert_eq!(list.trim(), "", "a refused Ente left something: {list}");

    let (ok, out, err) = varco(&db, &ENTE);
    assert!(ok, "{out}\n{err}");
    let created: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let (_, list, _) = varco(&db, &["ente", "list"]);
    assert!(list.contains("Comune di Test") && list.contains("Interoperabilità Collaudo"), "{list}");

    // The same Ente twice is refused.
    let (ok, _, err) = varco(&db, &ENTE);
    assert!(!ok);
    assert!(err.contains("exists already"), "{err}");

    let store = varco::app::open_store(test_db.dir(), Some(&db)).await.unwrap();
    let platform = varco::app::platform_on(store.clone(), "http://127.0.0.1:8080");
    let sc = SelfCare::new(store);
    let mario = sc.user_by_fiscal_code(&CodiceFiscale::parse("RSSMRA80A01H501U").unwrap()).await.unwrap().unwrap();
    let roles = sc.roles_of(mario.id, id.parse().unwrap()).await.unwrap();
    let mut held: Vec<_> = roles.iter().map(|r| (r.role.product, r.role.product_role, r.role.status)).collect();
    held.sort_by_key(|(p, r, _)| (*p, *r));
    assert_eq!(
        held,
        vec![
            (ProductId::Interop, ProductRole::Admin, RoleStatus::Active),
            (ProductId::InteropColl, ProductRole::Admin, RoleStatus::Active),
            (ProductId::InteropAtst, ProductRole::Admin, RoleStatus::Active),
        ]
    );
    for env in Env::ALL {
        let tenants = platform
            .env(env)
            .tenants(&Caller::Operator, &Default::default(), varco_platform::Page::ALL)
            .await
            .unwrap()
            .items;
        let t: Vec<_> = tenants.iter().filter(|t| t.name == "Comune di Test").collect();
        assert_eq!(t.len(), 1, "{env:?}");
        assert_eq!(t[0].selfcare_id.as_deref(), Some(id.as_str()));
        assert_eq!(t[0].external_id.value, "c_test");
    }
    assert_eq!(sc.institutions().await.unwrap().len(), 1);
});

// The checks of `varco ente add`, field by field (nothing is written).
use varco::onboarding::{check, NewEnte};

fn ente() -> NewEnte {
    NewEnte {
        name: "Comune di Test".into(),
        tax_code: "00000000003".into(),
        ipa_code: "c_test".into(),
        kind: "PA".into(),
        pec: "protocollo@pec.comune.test.example".into(),
        manager_fiscal_code: "RSSMRA80A01H501U".into(),
        manager_name: "Mario".into(),
        manager_family_name: "Rossi".into(),
        manager_email: "mario.rossi@comune.test.example".into(),
    }
}

#[test]
fn each_bad_field_is_named() {
    assert!(check(&ente()).is_ok());
    type Spoil = fn(&mut NewEnte);
    let cases: [(Spoil, &str); 7] = [
        (|e| e.name = " ".into(), "--name"),
        (|e| e.tax_code = "0000000000A".into(), "--tax-code"),
        (|e| e.ipa_code = "c test".into(), "--ipa-code"),
        (|e| e.kind = "XYZ".into(), "--type"),
        (|e| e.pec = "nope".into(), "--pec"),
        (|e| e.manager_fiscal_code = "RSSMRA80A01H501X".into(), "--manager-fiscal-code"),
        (|e| e.manager_name = "Luigi".into(), "--manager-name"),
    ];
    for (spoil, flag) in cases {
        let mut e = ente();
        spoil(&mut e);
        let err = check(&e).expect_err("refused").to_string();
        assert!(err.starts_with(flag), "{flag}: {err}");
    }
}
