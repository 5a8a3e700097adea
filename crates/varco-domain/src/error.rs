use serde::Serialize;

/// Why the domain refused a change. Each variant maps to one HTTP status in the web
/// crate (one place); the message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum DomainError {
    /// The transition is not allowed from the current state.
    #[error("{what} non consentito: {entity} è in stato {state}")]
    InvalidState { entity: &'static str, state: String, what: &'static str },
    /// The input is not acceptable (message says which field and why).
    #[error("{0}")]
    Invalid(String),
    /// Something with the same identity already exists.
    #[error("{0}")]
    Conflict(String),
    /// The caller is not the party that may do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} non trovato")]
    NotFound(String),
}

impl DomainError {
    pub fn invalid_state(entity: &'static str, state: impl std::fmt::Debug, what: &'static str) -> Self {
        DomainError::InvalidState { entity, state: format!("{state:?}"), what }
    }
}
