//! Events: every state change is recorded as one immutable event, written in the same
//! transaction as the change. The log is the audit trail and the feed that keeps the
//! token server's in-memory view current.
use crate::{env::Env, ids::*, model::Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateKind {
    Tenant,
    Attribute,
    Eservice,
    Agreement,
    Purpose,
    Client,
    SigningKey,
}

impl AggregateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateKind::Tenant => "tenant",
            AggregateKind::Attribute => "attribute",
            AggregateKind::Eservice => "eservice",
            AggregateKind::Agreement => "agreement",
            AggregateKind::Purpose => "purpose",
            AggregateKind::Client => "client",
            AggregateKind::SigningKey => "signing_key",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "tenant" => AggregateKind::Tenant,
            "attribute" => AggregateKind::Attribute,
            "eservice" => AggregateKind::Eservice,
            "agreement" => AggregateKind::Agreement,
            "purpose" => AggregateKind::Purpose,
            "client" => AggregateKind::Client,
            "signing_key" => AggregateKind::SigningKey,
            _ => return None,
        })
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A person acting for an organisation (back office, SelfCare).
    User { user_id: UserId, tenant_id: TenantId },
    /// A program acting for an organisation with an API client's voucher.
    Client { client_id: ClientId, tenant_id: TenantId },
    /// The operator, from the command line.
    Operator,
    /// Varco itself (demo world, automatic transitions).
    System,
}

impl Actor {
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Actor::User { tenant_id, .. } | Actor::Client { tenant_id, .. } => Some(*tenant_id),
            Actor::Operator | Actor::System => None,
        }
    }
    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::User { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }
}

/// An event about to be written: the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub aggregate: AggregateKind,
    pub aggregate_id: String,
    /// e.g. "AgreementSubmitted"
    pub event_type: String,
    /// The aggregate after the change (or what changed), as JSON.
    pub payload: serde_json::Value,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub env: Env,
    pub aggregate: AggregateKind,
    pub aggregate_id: String,
    pub event_type: String,
    pub actor: Actor,
    pub at: Timestamp,
    pub payload: serde_json::Value,
}
