use varco_domain::event::AggregateKind;
use varco_domain::*;

/// What the store needs to know of an aggregate: its table, its id and the columns
/// copied out of the document for filtering.
pub trait Aggregate: serde::Serialize + serde::de::DeserializeOwned {
    const KIND: AggregateKind;
    const TABLE: &'static str;
    fn id(&self) -> String;
    /// Column name and value, in a fixed order, for the columns besides env/id/doc.
    fn columns(&self) -> Vec<(&'static str, Option<String>)>;
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// Creation time as a sortable text column: zero-padded milliseconds.
fn created(t: &Timestamp) -> Option<String> {
    Some(format!("{:015}", t.timestamp_millis()))
}

fn enum_str<T: serde::Serialize>(v: &T) -> Option<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

impl Aggregate for Tenant {
    const KIND: AggregateKind = AggregateKind::Tenant;
    const TABLE: &'static str = "tenants";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("name", s(&self.name)),
            ("origin", s(&self.external_id.origin)),
            ("external_value", s(&self.external_id.value)),
            ("selfcare_id", self.selfcare_id.clone()),
        ]
    }
}

impl Aggregate for Attribute {
    const KIND: AggregateKind = AggregateKind::Attribute;
    const TABLE: &'static str = "attributes";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![("kind", enum_str(&self.kind)), ("name", s(&self.name))]
    }
}

impl Aggregate for EService {
    const KIND: AggregateKind = AggregateKind::Eservice;
    const TABLE: &'static str = "eservices";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![("producer_id", s(self.producer_id)), ("name", s(&self.name))]
    }
}

impl Aggregate for Agreement {
    const KIND: AggregateKind = AggregateKind::Agreement;
    const TABLE: &'static str = "agreements";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("eservice_id", s(self.eservice_id)),
            ("descriptor_id", s(self.descriptor_id)),
            ("consumer_id", s(self.consumer_id)),
            ("producer_id", s(self.producer_id)),
            ("state", enum_str(&self.state)),
            ("created_ms", created(&self.created_at)),
        ]
    }
}

impl Aggregate for Purpose {
    const KIND: AggregateKind = AggregateKind::Purpose;
    const TABLE: &'static str = "purposes";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("eservice_id", s(self.eservice_id)),
            ("consumer_id", s(self.consumer_id)),
            ("title", s(&self.title)),
            ("created_ms", created(&self.created_at)),
        ]
    }
}

impl Aggregate for Client {
    const KIND: AggregateKind = AggregateKind::Client;
    const TABLE: &'static str = "clients";
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn columns(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("consumer_id", s(self.consumer_id)),
            ("kind", enum_str(&self.kind)),
            ("name", s(&self.name)),
            ("created_ms", created(&self.created_at)),
        ]
    }
}
