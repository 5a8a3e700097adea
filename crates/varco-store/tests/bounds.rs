//! The store's own bound: no aggregate document (copied whole into its event, and
//! decoded by every replica that follows the log) is larger than 64 KiB.
use varco_domain::event::Actor;
use varco_domain::*;
use varco_store::{Store, StoreError, MAX_DOC_BYTES};
use varco_testkit::{Backend, TestDb};

fn tenant(name: String) -> Tenant {
    Tenant {
        id: TenantId::new(),
        selfcare_id: None,
        external_id: ExternalId { origin: "IPA".into(), value: "c_x000".into() },
        name,
        kind: TenantKind::Pa,
        attributes: vec![],
        contact_email: None,
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn a_document_over_64_kib_is_refused_and_nothing_is_written() {
    for backend in Backend::BOTH {
        let db = TestDb::new(backend).await;
        let store = Store::connect(&db.url).await.unwrap();
        const EVENTS: &str = "SELECT COUNT(*) FROM events";
        let before = db.count(EVENTS).await;
        // Just under: stored. Then the same tenant grown past the bound: refused.
        let mut t = tenant("n".repeat(MAX_DOC_BYTES - 400));
        let mut tx = store.begin(Env::Collaudo, Actor::System).await.unwrap();
        tx.insert(&t, "TenantOnboarded").await.unwrap();
        tx.commit().await.unwrap();
        t.name.push_str(&"n".repeat(1000));
        let mut tx = store.begin(Env::Collaudo, Actor::System).await.unwrap();
        match tx.update(&t, 1, "TenantUpdated").await {
            Err(StoreError::TooLarge { kind, bytes }) => {
                assert_eq!(kind, "tenant", "{backend:?}");
                assert!(bytes > MAX_DOC_BYTES, "{backend:?}: {bytes}");
            }
            other => panic!("{backend:?}: expected TooLarge, got {other:?}"),
        }
        drop(tx);
        let big = tenant("n".repeat(MAX_DOC_BYTES + 1));
        let mut tx = store.begin(Env::Collaudo, Actor::System).await.unwrap();
        assert!(matches!(tx.insert(&big, "TenantOnboarded").await, Err(StoreError::TooLarge { .. })), "{backend:?}");
        drop(tx);
        assert_eq!(db.count(EVENTS).await, before + 1, "{backend:?}: only the first change left an event");
        let stored: Vec<Tenant> = store.all(Env::Collaudo).await.unwrap();
        assert_eq!(stored.len(), 1, "{backend:?}");
        assert_eq!(stored[0].name.len(), MAX_DOC_BYTES - 400, "{backend:?}");
    }
}

/// U+0000: PostgreSQL can neither store nor compare it (a server error there, once a
/// form or a body carried one). Refused on writes and matching nothing on reads, the
/// same on both backends.
#[tokio::test]
async fn a_nul_character_is_refused_on_writes_and_matches_nothing() {
    for backend in Backend::BOTH {
        let db = TestDb::new(backend).await;
        let store = Store::connect(&db.url).await.unwrap();
        let mut tx = store.begin(Env::Collaudo, Actor::System).await.unwrap();
        let r = tx.insert(&tenant("Comune\0di Prova".into()), "TenantOnboarded").await;
        assert!(matches!(r, Err(StoreError::Nul { kind: "tenant" })), "{backend:?}: {r:?}");
        drop(tx);
        let found: Vec<Tenant> = store.list(Env::Collaudo, &[("name", "Comune\0di Prova")]).await.unwrap();
        assert!(found.is_empty(), "{backend:?}");
        assert_eq!(db.count("SELECT COUNT(*) FROM events").await, 0, "{backend:?}");
    }
}
