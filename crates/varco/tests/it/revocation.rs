//! Revocations reach the token endpoint with nobody syncing by hand: for each way a
//! consumer can lose its vouchers, the change is made through the platform's use
//! cases (what the API and the pages call) and vouchers are asked of the server until
//! one is refused. A change made in the server's own process refuses the very next
//! request; one made by another process on the same database (a second server, or the
//! `varco` CLI) is refused within one second, by the server's log follower alone.
use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use varco::both_backends;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_platform::{Caller, NewTenant, Platform, ProductRoles};

/// The longest a change made elsewhere may take to be seen (the follower reads the
/// log every 250 ms).
const ACROSS_PROCESSES: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
enum Removal {
    DeleteKey,
    RemoveClientFromPurpose,
    SuspendAgreementByProducer,
    SuspendAgreementByConsumer,
    ArchiveAgreement,
    /// A new version deprecates the consumer's; upgrading archives it: vouchers go
    /// on while it is Deprecated, then are for the new version only.
    DeprecateThenArchiveVersion,
    SuspendPurposeByConsumer,
    SuspendPurposeByProducer,
    ArchivePurpose,
    DeleteClient,
}

const REMOVALS: &[Removal] = &[
    Removal::DeleteKey,
    Removal::RemoveClientFromPurpose,
    Removal::SuspendAgreementByProducer,
    Removal::SuspendAgreementByConsumer,
    Removal::ArchiveAgreement,
    Removal::DeprecateThenArchiveVersion,
    Removal::SuspendPurposeByConsumer,
    Removal::SuspendPurposeByProducer,
    Removal::ArchivePurpose,
    Removal::DeleteClient,
];

/// Where the change is made.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Maker {
    /// The server that issues the vouchers.
    SameProcess,
    /// A second server on the same database.
    Replica,
    /// The `varco` binary, another OS process (only what the CLI can remove).
    Cli,
}

fn person(tenant: TenantId) -> Caller {
    Caller::Person {
        env: Env::Collaudo,
        tenant,
        user: UserId::new(),
        roles: ProductRoles { admin: true, ..Default::default() },
    }
}

/// An e-service of its own (PagoPA's, automatic approval) with one published
/// version, so that the versions a case publishes touch nobody else.
async fn own_eservice(app: &TestApp, n: usize) -> (EServiceId, TenantId) {
    let svc = app.running.platform.env(Env::Collaudo);
    let pagopa = svc.tenant_by_name(&Caller::Operator, varco_platform::demo::PAGOPA).await.unwrap().id;
    let producer = person(pagopa);
    let es = svc
        .create_eservice(
            &producer,
            pagopa,
            &format!("Servizio di prova revoche {n}"),
            "E-service per le prove di revoca",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await
        .unwrap();
    publish_version(app, es.id, pagopa, "https://revoche.example/v1").await;
    (es.id, pagopa)
}

async fn publish_version(app: &TestApp, es: EServiceId, producer: TenantId, audience: &str) -> DescriptorId {
    let svc = app.running.platform.env(Env::Collaudo);
    let d = svc
        .add_descriptor(
            &person(producer),
            es,
            DescriptorInput {
                description: None,
                audience: vec![audience.into()],
                voucher_lifespan: 600,
                daily_calls_per_consumer: 1_000_000,
                daily_calls_total: 100_000_000,
                agreement_approval_policy: ApprovalPolicy::Automatic,
                server_urls: vec![audience.into()],
                attributes: AttributeGroups::default(),
            },
        )
        .await
        .unwrap();
    svc.publish_descriptor(&person(producer), es, d).await.unwrap();
    d
}

/// A consumer of its own (a new PA) on `eservice`, ready for vouchers. Nobody syncs.
async fn fresh_consumer(app: &TestApp, n: usize, eservice: EServiceId) -> Consumer {
    let svc = app.running.platform.env(Env::Collaudo);
    let name = format!("Comune delle revoche {n}");
    svc.create_tenant(
        &Caller::Operator,
        NewTenant {
            name: name.clone(),
            origin: "IPA".into(),
            origin_id: format!("c_rev{n}"),
            kind: TenantKind::Pa,
            selfcare_id: None,
        },
    )
    .await
    .unwrap();
    let key = varco_jose::RsaPrivateKey::generate_2048();
    let out = varco::cli::setup_consumer(
        &app.running.platform,
        Env::Collaudo,
        &name,
        &eservice.to_string(),
        &key.public_key().to_pem(),
        1000,
    )
    .await
    .expect("setup consumer");
    let id = |k: &str| out[k].as_str().unwrap().to_string();
    Consumer {
        env: Env::Collaudo,
        kid: id("kid"),
        client_id: id("clientId").parse().unwrap(),
        purpose_id: id("purposeId").parse().unwrap(),
        tenant_id: id("tenantId").parse().unwrap(),
        eservice_id: id("eserviceId").parse().unwrap(),
        agreement_id: id("agreementId").parse().unwrap(),
        key,
    }
}

/// The claims of the voucher in a 200 answer.
fn voucher_claims(r: &Reply) -> Value {
    let token = r.json()["access_token"].as_str().expect("access_token").to_string();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&varco_jose::b64url_decode(payload).unwrap()).unwrap()
}

async fn voucher(app: &TestApp, c: &Consumer, what: &str) -> Value {
    let r = request_voucher(app, Env::Collaudo, &c.assertion(app)).await;
    assert_eq!(r.status, StatusCode::OK, "{what}: expected a voucher, got {}", r.text);
    voucher_claims(&r)
}

fn varco_cli(app: &TestApp, args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varco"))
        .args(args)
        .env("VARCO_DATABASE_URL", &app.db.url)
        .env("VARCO_PUBLIC_URL", &app.running.base_url)
        .output()
        .expect("varco runs");
    assert!(out.status.success(), "varco {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Makes the change with `platform` (the server's own, or the replica's), or with the
/// CLI. Returns what the vouchers must look like afterwards: None for "refused",
/// Some(descriptor) for "issued for this descriptor".
async fn remove(
    app: &TestApp,
    platform: &Platform,
    maker: Maker,
    r: Removal,
    c: &Consumer,
    producer: TenantId,
) -> Option<DescriptorId> {
    let svc = platform.env(Env::Collaudo);
    let (consumer, producer) = (person(c.tenant_id), person(producer));
    if maker == Maker::Cli {
        let (env, client) = ("collaudo", c.client_id.to_string());
        match r {
            Removal::DeleteKey => {
                varco_cli(app, &["client", "delete-key", "--env", env, "--client-id", &client, "--kid", &c.kid])
            }
            Removal::DeleteClient => varco_cli(app, &["client", "delete", "--env", env, "--client-id", &client]),
            other => panic!("the CLI does not make {other:?}"),
        }
        return None;
    }
    match r {
        Removal::DeleteKey => {
            svc.delete_client_key(&consumer, c.client_id, &Kid::parse(&c.kid).unwrap()).await.unwrap()
        }
        Removal::RemoveClientFromPurpose => {
            drop(svc.remove_client_purpose(&consumer, c.client_id, c.purpose_id).await.unwrap())
        }
        Removal::SuspendAgreementByProducer => drop(svc.suspend_agreement(&producer, c.agreement_id).await.unwrap()),
        Removal::SuspendAgreementByConsumer => drop(svc.suspend_agreement(&consumer, c.agreement_id).await.unwrap()),
        Removal::ArchiveAgreement => drop(svc.archive_agreement(&consumer, c.agreement_id).await.unwrap()),
        Removal::DeprecateThenArchiveVersion => {
            let upgraded = svc.upgrade_agreement(&consumer, c.agreement_id).await.unwrap();
            return Some(upgraded.descriptor_id);
        }
        Removal::SuspendPurposeByConsumer => drop(svc.suspend_purpose(&consumer, c.purpose_id).await.unwrap()),
        Removal::SuspendPurposeByProducer => drop(svc.suspend_purpose(&producer, c.purpose_id).await.unwrap()),
        Removal::ArchivePurpose => drop(svc.archive_purpose(&consumer, c.purpose_id).await.unwrap()),
        Removal::DeleteClient => svc.delete_client(&consumer, c.client_id).await.unwrap(),
    }
    None
}

/// Asks for vouchers until the answer is the expected one; returns how many requests
/// were still answered the old way, and how long after the change that lasted.
async fn until_seen(app: &TestApp, c: &Consumer, after: &Option<DescriptorId>, bound: Duration) -> (usize, Duration) {
    let changed = Instant::now();
    let mut stale = 0;
    loop {
        let r = request_voucher(app, Env::Collaudo, &c.assertion(app)).await;
        let seen = match after {
            None => {
                if r.status == StatusCode::OK {
                    false
                } else {
                    check_generic_400(&r).unwrap_or_else(|e| panic!("refused with a non-generic answer: {e}"));
                    true
                }
            }
            Some(d) => {
                assert_eq!(r.status, StatusCode::OK, "vouchers go on after an upgrade: {}", r.text);
                voucher_claims(&r)["descriptorId"] == d.to_string()
            }
        };
        if seen {
            return (stale, changed.elapsed());
        }
        stale += 1;
        assert!(changed.elapsed() < bound, "still answered the old way {stale} times, {:?} after", changed.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends!(every_removal_stops_vouchers_without_a_manual_sync, |backend| async move {
    let app = spawn_app(backend).await;
    let replica = app.replica().await;
    let mut n = 0;
    let mut report = Vec::new();
    for maker in [Maker::SameProcess, Maker::Replica, Maker::Cli] {
        for &r in REMOVALS {
            if maker == Maker::Cli && !matches!(r, Removal::DeleteKey | Removal::DeleteClient) {
                continue;
            }
            n += 1;
            let (eservice, producer) = own_eservice(&app, n).await;
            let c = fresh_consumer(&app, n, eservice).await;
            let before = voucher(&app, &c, &format!("{r:?} by {maker:?}, before")).await;
            if let Removal::DeprecateThenArchiveVersion = r {
                // A newer version deprecates the consumer's: its vouchers go on, still
                // for the version the agreement is on.
                publish_version(&app, eservice, producer, "https://revoche.example/v2").await;
                let during = voucher(&app, &c, "with the version Deprecated").await;
                assert_eq!(during["descriptorId"], before["descriptorId"]);
                assert_eq!(during["aud"], "https://revoche.example/v1");
            }
            let platform = match maker {
                Maker::Replica => &replica.running.platform,
                _ => &app.running.platform,
            };
            let after = remove(&app, platform, maker, r, &c, producer).await;
            let bound = if maker == Maker::SameProcess { Duration::ZERO } else { ACROSS_PROCESSES };
            let (stale, took) = until_seen(&app, &c, &after, bound).await;
            if maker == Maker::SameProcess {
                assert_eq!(stale, 0, "{r:?} made in the server's own process must refuse the very next request");
            }
            if let Some(d) = after {
                // The old version is Archived; the vouchers are for the new one.
                let es = app.running.platform.env(Env::Collaudo).eservice(&Caller::Operator, eservice).await.unwrap();
                let old = es.descriptors.iter().find(|x| x.id.to_string() == before["descriptorId"]).unwrap();
                assert_eq!(old.state, DescriptorState::Archived, "{r:?}");
                let v = voucher(&app, &c, "after the upgrade").await;
                assert_eq!(
                    (v["descriptorId"].as_str(), v["aud"].as_str()),
                    (Some(&*d.to_string()), Some("https://revoche.example/v2"))
                );
            }
            report.push(format!("{r:?} by {maker:?}: {stale} stale answer(s), seen after {took:?}"));
        }
    }
    // For the record in the test's output (`--nocapture`).
    println!("{}", report.join("\n"));
});
