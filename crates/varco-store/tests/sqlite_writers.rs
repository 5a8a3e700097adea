//! Two writers on one SQLite database, as two processes (a server and the CLI) or
//! the token server's audit writer and a use case are: a transaction that reads
//! and then writes must not fail because the other committed in between.
use varco_domain::event::Actor;
use varco_domain::*;
use varco_store::Store;
use varco_testkit::{Backend, TestDb};

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId::new(),
        selfcare_id: None,
        external_id: ExternalId { origin: "IPA".into(), value: name.into() },
        name: name.into(),
        kind: TenantKind::Pa,
        attributes: vec![],
        contact_email: None,
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_then_write_transaction_survives_another_connections_commit() {
    let db = TestDb::new(Backend::Sqlite).await;
    // Two stores: two pools, so the in-process writer's turn does not serialise them.
    let (a, b) = (Store::connect(&db.url).await.unwrap(), Store::connect(&db.url).await.unwrap());
    let first = tokio::spawn(async move {
        let mut tx = a.begin(Env::Collaudo, Actor::System).await.unwrap();
        let before: Vec<Tenant> = tx.list(&[]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        tx.insert(&tenant("primo"), "TenantOnboarded").await.unwrap();
        tx.commit().await.unwrap();
        before.len()
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut tx = b.begin(Env::Collaudo, Actor::System).await.unwrap();
    tx.insert(&tenant("secondo"), "TenantOnboarded").await.unwrap();
    tx.commit().await.unwrap();
    // The first saw the table before the second wrote (it held the write lock).
    assert_eq!(first.await.unwrap(), 0);
    let all: Vec<Tenant> = b.all(Env::Collaudo).await.unwrap();
    assert_eq!(all.len(), 2);
}
