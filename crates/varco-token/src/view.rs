//! The token server's in-memory view of one environment: what it needs to decide a
//! token request without touching the database. It is built from the aggregates at
//! start and kept current from the event log (each event carries the aggregate as it
//! is after the change, so applying an event is a replacement).
use std::collections::HashMap;
use varco_domain::event::{AggregateKind, Event};
use varco_domain::*;
use varco_jose::RsaPublicKey;

#[derive(Clone)]
pub struct ClientEntry {
    pub kind: ClientKind,
    pub consumer_id: TenantId,
    pub purposes: Vec<PurposeId>,
    /// kid -> parsed key. Keys are parsed once, when they first appear.
    pub keys: HashMap<String, RsaPublicKey>,
    pub admin_id: Option<UserId>,
}

#[derive(Clone)]
pub struct PurposeEntry {
    pub consumer_id: TenantId,
    pub eservice_id: EServiceId,
    /// The version vouchers are issued for, if it may issue them.
    pub active_version: Option<PurposeVersionId>,
    /// For explanations: the states of its versions.
    pub version_states: Vec<PurposeVersionState>,
}

#[derive(Clone)]
pub struct AgreementEntry {
    pub id: AgreementId,
    pub eservice_id: EServiceId,
    pub descriptor_id: DescriptorId,
    pub consumer_id: TenantId,
    pub state: AgreementState,
}

#[derive(Clone)]
pub struct DescriptorEntry {
    pub id: DescriptorId,
    pub state: DescriptorState,
    pub audience: Vec<String>,
    pub voucher_lifespan: u32,
}

#[derive(Clone)]
pub struct EServiceEntry {
    pub producer_id: TenantId,
    pub descriptors: Vec<DescriptorEntry>,
}

#[derive(Default)]
pub struct EnvView {
    pub clients: HashMap<ClientId, ClientEntry>,
    pub purposes: HashMap<PurposeId, PurposeEntry>,
    pub agreements: HashMap<AgreementId, AgreementEntry>,
    pub eservices: HashMap<EServiceId, EServiceEntry>,
    /// Per aggregate, the sequence of the last event applied: an older event arriving
    /// late (a re-read window) never overwrites a newer state.
    applied: HashMap<(AggregateKind, String), i64>,
}

impl EnvView {
    pub fn put_client(&mut self, c: &Client) {
        let old = self.clients.remove(&c.id);
        let mut keys = HashMap::with_capacity(c.keys.len());
        for k in &c.keys {
            let reused = old.as_ref().and_then(|o| o.keys.get(k.kid.as_str()).cloned());
            let parsed = match reused {
                Some(p) => Some(p),
                None => match RsaPublicKey::from_pem(&k.pem) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::error!(client = %c.id, kid = %k.kid, error = %e, "stored key does not parse; ignored");
                        None
                    }
                },
            };
            if let Some(p) = parsed {
                keys.insert(k.kid.as_str().to_string(), p);
            }
        }
        self.clients.insert(
            c.id,
            ClientEntry {
                kind: c.kind,
                consumer_id: c.consumer_id,
                purposes: c.purposes.clone(),
                keys,
                admin_id: c.admin_id,
            },
        );
    }

    pub fn put_purpose(&mut self, p: &Purpose) {
        let usable = purpose::voucher_state(p);
        self.purposes.insert(
            p.id,
            PurposeEntry {
                consumer_id: p.consumer_id,
                eservice_id: p.eservice_id,
                active_version: if usable { p.active_version().map(|v| v.id) } else { None },
                version_states: p.versions.iter().map(|v| v.state).collect(),
            },
        );
    }

    pub fn put_agreement(&mut self, a: &Agreement) {
        self.agreements.insert(
            a.id,
            AgreementEntry {
                id: a.id,
                eservice_id: a.eservice_id,
                descriptor_id: a.descriptor_id,
                consumer_id: a.consumer_id,
                state: a.state,
            },
        );
    }

    pub fn put_eservice(&mut self, e: &EService) {
        self.eservices.insert(
            e.id,
            EServiceEntry {
                producer_id: e.producer_id,
                descriptors: e
                    .descriptors
                    .iter()
                    .map(|d| DescriptorEntry {
                        id: d.id,
                        state: d.state,
                        audience: d.audience.clone(),
                        voucher_lifespan: d.voucher_lifespan,
                    })
                    .collect(),
            },
        );
    }

    /// The consumer's agreement on an e-service that matters for vouchers: the Active
    /// one if any, else the most relevant non-archived one (for the explanation).
    pub fn agreement_for(&self, consumer: TenantId, eservice: EServiceId) -> Option<&AgreementEntry> {
        let rank = |s: AgreementState| match s {
            AgreementState::Active => 0,
            AgreementState::Suspended => 1,
            AgreementState::Pending => 2,
            AgreementState::MissingCertifiedAttributes => 3,
            AgreementState::Draft => 4,
            AgreementState::Rejected => 5,
            AgreementState::Archived => 6,
        };
        self.agreements
            .values()
            .filter(|a| a.consumer_id == consumer && a.eservice_id == eservice)
            .min_by_key(|a| rank(a.state))
    }

    /// Applies one event of this environment. Returns false if it was older than
    /// what the view already holds for that aggregate.
    pub fn apply(&mut self, e: &Event) -> bool {
        let key = (e.aggregate, e.aggregate_id.clone());
        if self.applied.get(&key).is_some_and(|seq| *seq >= e.seq) {
            return false;
        }
        self.applied.insert(key, e.seq);
        let deleted = removes_aggregate(e.aggregate, &e.event_type);
        macro_rules! put {
            ($ty:ty, $map:ident, $put:ident, $id:ty) => {{
                if deleted {
                    if let Ok(id) = e.aggregate_id.parse::<$id>() {
                        self.$map.remove(&id);
                    }
                } else {
                    match serde_json::from_value::<$ty>(e.payload.clone()) {
                        Ok(v) => self.$put(&v),
                        Err(err) => tracing::error!(seq = e.seq, error = %err, "event payload does not decode"),
                    }
                }
            }};
        }
        match e.aggregate {
            AggregateKind::Client => put!(Client, clients, put_client, ClientId),
            AggregateKind::Purpose => put!(Purpose, purposes, put_purpose, PurposeId),
            AggregateKind::Agreement => put!(Agreement, agreements, put_agreement, AgreementId),
            AggregateKind::Eservice => put!(EService, eservices, put_eservice, EServiceId),
            AggregateKind::Tenant | AggregateKind::Attribute | AggregateKind::SigningKey => {}
        }
        true
    }
}

/// Whether an event removes its aggregate (the store's `Tx::delete`), by its exact
/// name: many events that only change one ("ClientKeyDeleted", a draft version
/// deleted from an e-service) end in "Deleted" too.
fn removes_aggregate(kind: AggregateKind, event_type: &str) -> bool {
    matches!(
        (kind, event_type),
        (AggregateKind::Client, "ClientDeleted")
            | (AggregateKind::Agreement, "AgreementDeleted")
            | (AggregateKind::Purpose, "PurposeDeleted")
            | (AggregateKind::Eservice, "EServiceDeleted")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use varco_domain::event::Actor;

    fn event(seq: i64, es: &EService, event_type: &str) -> Event {
        Event {
            seq,
            env: Env::Collaudo,
            aggregate: AggregateKind::Eservice,
            aggregate_id: es.id.to_string(),
            event_type: event_type.into(),
            actor: Actor::System,
            at: chrono::Utc::now(),
            payload: serde_json::to_value(es).unwrap(),
        }
    }

    #[test]
    fn only_the_removal_of_an_aggregate_removes_it_from_the_view() {
        let es = varco_domain::eservice::new_eservice(
            TenantId::new(),
            "Servizio di prova".into(),
            "Un servizio per la prova della vista".into(),
            Technology::Rest,
            EServiceMode::Deliver,
            chrono::Utc::now(),
        )
        .unwrap();
        let mut view = EnvView::default();
        assert!(view.apply(&event(1, &es, "EServiceAdded")));
        // A draft version deleted changes the e-service; it is still there.
        assert!(view.apply(&event(2, &es, "EServiceDraftDescriptorDeleted")));
        assert!(view.eservices.contains_key(&es.id), "a change ending in Deleted removed the e-service");
        assert!(view.apply(&event(3, &es, "EServiceDeleted")));
        assert!(!view.eservices.contains_key(&es.id));
    }
}
