//! The demo world created on first start: the Collaudo environment with PagoPA S.p.A.
//! publishing "SEND - UAT (Piattaforma Notifiche)", and a few Enti as consumers.
//! Produzione and Attestazione get the same Enti as tenants, with their own ids.
use crate::{AppResult, NewTenant, Platform};
use varco_domain::eservice::DescriptorInput;
use varco_domain::event::Actor;
use varco_domain::*;

pub const PAGOPA: &str = "PagoPA S.p.A.";
pub const COMUNE_DI_PROVA: &str = "Comune di Prova";
pub const COMUNE_DI_ESEMPIO: &str = "Comune di Esempio";
pub const SEND_UAT: &str = "SEND - UAT (Piattaforma Notifiche)";
pub const SEND_UAT_AUDIENCE: &str = "https://api.uat.notifichedigitali.it";

/// The Enti of the demo world: name, IPA code, kind.
pub const DEMO_TENANTS: [(&str, &str, TenantKind); 3] = [
    (PAGOPA, "5N2TR557", TenantKind::Gsp),
    (COMUNE_DI_PROVA, "c_prova", TenantKind::Pa),
    (COMUNE_DI_ESEMPIO, "c_esempio", TenantKind::Pa),
];

/// Creates the demo world unless the database already has tenants. Returns whether
/// it created anything. `selfcare_ids` gives, by Ente name, the SelfCare
/// institution each tenant comes from (the back office finds the tenant of a
/// person entering from SelfCare by it).
pub async fn seed_if_empty(p: &Platform, selfcare_ids: &[(String, String)]) -> AppResult<bool> {
    let actor = Actor::System;
    let mut created = false;
    for env in Env::ALL {
        let svc = p.env(env);
        if !svc.tenants().await?.is_empty() {
            continue;
        }
        created = true;
        let mut ids = Vec::new();
        for (name, ipa, kind) in DEMO_TENANTS {
            let t = svc
                .create_tenant(
                    &actor,
                    NewTenant {
                        name: name.into(),
                        origin: "IPA".into(),
                        origin_id: ipa.into(),
                        kind,
                        selfcare_id: selfcare_ids.iter().find(|(n, _)| n == name).map(|(_, id)| id.clone()),
                    },
                )
                .await?;
            ids.push(t.id);
        }
        if env != Env::Collaudo {
            continue;
        }
        let pagopa = ids[0];
        let es = svc
            .create_eservice(
                &actor,
                pagopa,
                SEND_UAT,
                "Piattaforma Notifiche Digitali (SEND) in ambiente di collaudo: invio e consultazione \
                 delle notifiche a valore legale.",
                Technology::Rest,
                EServiceMode::Deliver,
            )
            .await?;
        let d = svc
            .add_descriptor(
                &actor,
                es.id,
                DescriptorInput {
                    description: Some("Versione 1 di SEND - UAT".into()),
                    audience: vec![SEND_UAT_AUDIENCE.into()],
                    voucher_lifespan: 3600,
                    daily_calls_per_consumer: 1_000_000,
                    daily_calls_total: 100_000_000,
                    agreement_approval_policy: ApprovalPolicy::Automatic,
                    server_urls: vec!["https://api.uat.notifichedigitali.it/delivery".into()],
                    attributes: AttributeGroups::default(),
                },
            )
            .await?;
        svc.publish_descriptor(&actor, es.id, d).await?;
    }
    Ok(created)
}
