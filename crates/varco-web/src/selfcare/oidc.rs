//! Login through an OpenID Connect provider (how SPID and CIE reach SelfCare).
//! (Being written.)
use crate::pages::PageError;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;

/// The OpenID Connect client, discovered at start.
#[derive(Debug)]
pub struct OidcClient {}

pub async fn begin(State(_state): State<AppState>) -> Result<Response, PageError> {
    Err(PageError::not_found("L'accesso con SPID/CIE"))
}

pub async fn callback(State(_state): State<AppState>) -> Result<Response, PageError> {
    Err(PageError::not_found("L'accesso con SPID/CIE"))
}

impl OidcClient {
    /// Reads the provider's discovery document and keys.
    pub async fn discover(
        _issuer: String,
        _client_id: String,
        _client_secret: Option<String>,
        _public_url: &str,
    ) -> Result<OidcClient, String> {
        Err("not yet".into())
    }
}
