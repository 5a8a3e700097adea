//! The entities of one Interoperabilità environment. They are plain data; the
//! functions that change them live in `agreement`, `eservice` and `purpose`.
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantKind {
    Pa,
    Gsp,
    Scp,
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalId {
    /// e.g. "IPA"
    pub origin: String,
    /// e.g. the IPA code "c_h501"
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributeKind {
    Certified,
    Declared,
    Verified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub id: AttributeId,
    pub kind: AttributeKind,
    pub name: String,
    pub description: String,
    /// For certified attributes: who certifies them (e.g. "IPA") and the code.
    pub origin: Option<String>,
    pub code: Option<String>,
    pub created_at: Timestamp,
}

/// An attribute as held by a tenant. Revoked ones stay, with their revocation date,
/// because agreements keep a snapshot and the history matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantAttribute {
    pub attribute_id: AttributeId,
    pub kind: AttributeKind,
    pub assigned_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// For verified attributes: the producers that verified it.
    #[serde(default)]
    pub verified_by: Vec<TenantId>,
}

impl TenantAttribute {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    /// The SelfCare institution id this tenant was created from, when any.
    pub selfcare_id: Option<String>,
    pub external_id: ExternalId,
    pub name: String,
    pub kind: TenantKind,
    pub attributes: Vec<TenantAttribute>,
    pub contact_email: Option<String>,
    pub created_at: Timestamp,
}

impl Tenant {
    pub fn has_active(&self, kind: AttributeKind, id: AttributeId) -> bool {
        self.attributes.iter().any(|a| a.kind == kind && a.attribute_id == id && a.is_active())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Technology {
    Rest,
    Soap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EServiceMode {
    Deliver,
    Receive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DescriptorState {
    Draft,
    Published,
    Deprecated,
    Suspended,
    Archived,
}

impl DescriptorState {
    /// States in which vouchers may be issued for the descriptor.
    pub fn is_active(self) -> bool {
        matches!(self, DescriptorState::Published | DescriptorState::Deprecated)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalPolicy {
    Automatic,
    Manual,
}

/// Groups of attributes an e-service asks for: OR within a group, AND across groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeGroups {
    pub certified: Vec<Vec<AttributeId>>,
    pub declared: Vec<Vec<AttributeId>>,
    pub verified: Vec<Vec<AttributeId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    pub id: DescriptorId,
    pub version: u32,
    pub state: DescriptorState,
    pub description: Option<String>,
    pub audience: Vec<String>,
    /// Seconds, 60..=86400.
    pub voucher_lifespan: u32,
    pub daily_calls_per_consumer: u32,
    pub daily_calls_total: u32,
    pub agreement_approval_policy: ApprovalPolicy,
    pub server_urls: Vec<String>,
    pub attributes: AttributeGroups,
    /// The interface file (OpenAPI or WSDL), when one was uploaded: what the pages
    /// show of it. Its bytes are stored apart, never in this document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<InterfaceMeta>,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
    pub suspended_at: Option<Timestamp>,
    pub deprecated_at: Option<Timestamp>,
    pub archived_at: Option<Timestamp>,
}

/// What a version says of its interface file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceMeta {
    /// The name the file is downloaded with (made by Varco, not the uploader's).
    pub name: String,
    pub content_type: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// What the document says of itself ("OpenAPI 3.0.3 «SEND» 1.0").
    pub summary: String,
    pub uploaded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EService {
    pub id: EServiceId,
    pub producer_id: TenantId,
    pub name: String,
    pub description: String,
    pub technology: Technology,
    pub mode: EServiceMode,
    pub descriptors: Vec<Descriptor>,
    pub created_at: Timestamp,
}

impl EService {
    pub fn descriptor(&self, id: DescriptorId) -> Option<&Descriptor> {
        self.descriptors.iter().find(|d| d.id == id)
    }
    /// The newest Published descriptor, the one new agreements are made on.
    pub fn latest_published(&self) -> Option<&Descriptor> {
        self.descriptors.iter().filter(|d| d.state == DescriptorState::Published).max_by_key(|d| d.version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgreementState {
    Draft,
    Pending,
    Active,
    Suspended,
    Archived,
    MissingCertifiedAttributes,
    Rejected,
}

/// Who suspended something. Consumer and producer each have their own flag; the
/// platform flag is set when the e-service or attributes stop allowing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Party {
    Consumer,
    Producer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub who: Option<UserId>,
    pub when: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementStamps {
    pub submission: Option<Stamp>,
    pub activation: Option<Stamp>,
    pub rejection: Option<Stamp>,
    pub suspension_by_consumer: Option<Stamp>,
    pub suspension_by_producer: Option<Stamp>,
    pub upgrade: Option<Stamp>,
    pub archiving: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub eservice_id: EServiceId,
    pub descriptor_id: DescriptorId,
    pub producer_id: TenantId,
    pub consumer_id: TenantId,
    pub state: AgreementState,
    pub suspended_by_consumer: bool,
    pub suspended_by_producer: bool,
    pub suspended_by_platform: bool,
    /// Snapshot of the consumer's attributes taken at submission.
    pub certified_attributes: Vec<AttributeId>,
    pub declared_attributes: Vec<AttributeId>,
    pub verified_attributes: Vec<AttributeId>,
    pub consumer_notes: Option<String>,
    pub rejection_reason: Option<String>,
    pub stamps: AgreementStamps,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurposeVersionState {
    Draft,
    Active,
    Suspended,
    WaitingForApproval,
    Archived,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeVersion {
    pub id: PurposeVersionId,
    pub daily_calls: u32,
    pub state: PurposeVersionState,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub first_activation_at: Option<Timestamp>,
    pub suspended_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
}

/// The answers of the risk analysis ("analisi del rischio"): a form version and
/// answers keyed by PDND's question ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAnalysisForm {
    pub version: String,
    pub answers: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    pub id: PurposeId,
    pub eservice_id: EServiceId,
    pub consumer_id: TenantId,
    pub title: String,
    pub description: String,
    pub risk_analysis: Option<RiskAnalysisForm>,
    pub is_free_of_charge: bool,
    pub free_of_charge_reason: Option<String>,
    pub suspended_by_consumer: bool,
    pub suspended_by_producer: bool,
    pub versions: Vec<PurposeVersion>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Purpose {
    /// The version that vouchers are issued for: Active, or Suspended (which blocks).
    pub fn current_version(&self) -> Option<&PurposeVersion> {
        self.versions.iter().find(|v| matches!(v.state, PurposeVersionState::Active | PurposeVersionState::Suspended))
    }
    pub fn waiting_version(&self) -> Option<&PurposeVersion> {
        self.versions.iter().find(|v| v.state == PurposeVersionState::WaitingForApproval)
    }
    pub fn draft_version(&self) -> Option<&PurposeVersion> {
        self.versions.iter().find(|v| v.state == PurposeVersionState::Draft)
    }
    pub fn active_version(&self) -> Option<&PurposeVersion> {
        self.versions.iter().find(|v| v.state == PurposeVersionState::Active)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientKind {
    /// "client e-service": vouchers for the e-services of its purposes.
    Consumer,
    /// "client API Interop": vouchers for the platform's own M2M API.
    Api,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientKey {
    pub kid: Kid,
    pub name: String,
    /// SubjectPublicKeyInfo PEM, as uploaded (validated: RSA >= 2048 bits).
    pub pem: String,
    pub user_id: Option<UserId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    /// The organisation that owns the client.
    pub consumer_id: TenantId,
    pub kind: ClientKind,
    pub name: String,
    pub description: Option<String>,
    pub members: Vec<UserId>,
    pub purposes: Vec<PurposeId>,
    pub keys: Vec<ClientKey>,
    /// API clients only: the admin user whose presence gives role m2m-admin.
    pub admin_id: Option<UserId>,
    pub created_at: Timestamp,
}
