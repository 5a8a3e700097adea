//! SelfCare's pages ("Area Riservata"): login, choice of Ente, the Ente's
//! dashboard, users, and the way into each Interoperabilità environment.
//! Handlers are thin: they check the session, call `varco_selfcare`, render.
pub mod dashboard;
pub mod login;
pub mod login_state;
pub mod oidc;
pub mod users;

use crate::pages::PageError;
use crate::session::{self, Session};
use crate::PagesState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use varco_selfcare::model::Institution;
use varco_selfcare::service::RoleRecord;

pub fn routes() -> Router<PagesState> {
    Router::new()
        .route("/selfcare", get(|| async { Redirect::to("/selfcare/") }))
        .route("/selfcare/", get(dashboard::start))
        .route("/selfcare/login", get(login::page))
        .route("/selfcare/login/demo", post(login::demo))
        .route("/selfcare/login/oidc", get(oidc::begin))
        .route("/selfcare/login/oidc/callback", get(oidc::callback))
        .route("/selfcare/logout", post(login::logout))
        .route("/selfcare/.well-known/jwks.json", get(dashboard::jwks))
        .route("/selfcare/enti", get(dashboard::institutions))
        .route("/selfcare/enti/{id}", get(dashboard::overview))
        .route("/selfcare/enti/{id}/interoperabilita", get(dashboard::interop).post(dashboard::interop_enter))
        .merge(users::routes())
}

/// Who is logged in to SelfCare: what the identity provider said, and the user
/// record it matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScIdentity {
    pub user_id: Uuid,
    pub name: String,
    pub family_name: String,
    pub fiscal_code: String,
    /// "demo" or "oidc".
    pub via: String,
}

impl ScIdentity {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.name, self.family_name)
    }
}

/// The SelfCare session of the request; without one, the browser is sent to
/// the login page.
pub struct ScUser(pub Session<ScIdentity>);

impl FromRequestParts<PagesState> for ScUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &PagesState) -> Result<Self, Self::Rejection> {
        match session::load::<ScIdentity>(state, &parts.headers, "selfcare", session::SELFCARE_COOKIE).await {
            Ok(Some(s)) => Ok(ScUser(s)),
            Ok(None) => Err(Redirect::to("/selfcare/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl ScUser {
    pub fn identity(&self) -> &ScIdentity {
        &self.0.data
    }

    pub fn layout(&self, title: &str, state: &PagesState) -> crate::pages::Layout {
        crate::pages::Layout::selfcare(title, !state.web.production).with_user(&self.0.data.full_name(), &self.0.csrf)
    }

    /// The institution and the user's roles there (deleted ones excluded). Someone
    /// with no role at an institution is told it does not exist, as for a wrong id.
    pub async fn membership(&self, state: &PagesState, id: &str) -> Result<(Institution, Vec<RoleRecord>), PageError> {
        let id = Uuid::parse_str(id).map_err(|_| PageError::not_found("L'ente"))?;
        match state.selfcare.membership(self.0.data.user_id, id).await {
            Ok(found) => Ok(found),
            Err(varco_selfcare::service::ServiceError::NotFound(_)) => Err(PageError::not_found("L'ente")),
            Err(e) => Err(e.into()),
        }
    }
}
