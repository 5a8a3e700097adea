//! Erogazione > "I miei e-service".
use crate::PagesState;
use axum::Router;

pub const ROUTES: &[(&str, &str)] = &[];

pub fn routes() -> Router<PagesState> {
    Router::new()
}
