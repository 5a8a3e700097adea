//! Utenti: the list with filters, "Aggiungi utente", and each user's roles.
//! (Being written.)
use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
