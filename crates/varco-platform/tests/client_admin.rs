//! The admin of a client API is one of its members, on both databases: a member may
//! become admin, a non-member may not, and a member who leaves stops being admin.
use varco_domain::*;
use varco_platform::*;
use varco_store::Store;
use varco_testkit::{Backend, TestDb};

async fn check(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let configs = Env::ALL.iter().map(|&e| EnvConfig::derive(e, "http://127.0.0.1:9")).collect();
    let p = Platform::new(store, configs);
    let svc = p.env(Env::Collaudo);
    let new = NewTenant {
        name: "Comune di Prova".into(),
        origin: "IPA".into(),
        origin_id: "c_prova".into(),
        kind: TenantKind::Pa,
        selfcare_id: None,
    };
    let tenant = svc.create_tenant(&Caller::Operator, new).await.unwrap().id;
    let (maria, mario) = (UserId::new(), UserId::new());
    let admin = Caller::Person {
        env: Env::Collaudo,
        tenant,
        user: maria,
        roles: ProductRoles { admin: true, ..Default::default() },
    };
    let c = svc.create_client(&admin, tenant, ClientKind::Api, "Gestionale", None, vec![maria], None).await.unwrap();
    assert!(svc.set_client_admin(&admin, c.id, Some(mario)).await.is_err(), "not a member: refused");
    svc.add_client_member(&admin, c.id, mario).await.unwrap();
    assert_eq!(svc.set_client_admin(&admin, c.id, Some(mario)).await.unwrap().admin_id, Some(mario));
    let after = svc.remove_client_member(&admin, c.id, mario).await.unwrap();
    assert_eq!((after.members.as_slice(), after.admin_id), ([maria].as_slice(), None));
    assert_eq!(svc.own_client(&Caller::Operator, c.id).await.unwrap().admin_id, None, "stored so");
}

#[tokio::test]
async fn sqlite() {
    check(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres() {
    check(Backend::Postgres).await
}
