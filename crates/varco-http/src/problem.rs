//! The `application/problem+json` answer, and the one table that says which HTTP
//! status each of the services' errors is.
use crate::correlation::PendingCorrelation;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use varco_platform::AppError;
use varco_selfcare::service::ServiceError;

/// An `application/problem+json` answer, in PDND's shape.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: u16,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub errors: Vec<ProblemError>,
    #[serde(rename = "correlationId", skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Carries the request's correlation id, which the [`crate::CorrelationLayer`]
    /// puts in when the answer passes through it.
    #[serde(skip)]
    of_request: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemError {
    pub code: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: &str) -> Problem {
        Problem {
            kind: "about:blank".into(),
            status: status.as_u16(),
            title: title.into(),
            detail: Some(detail.into()),
            errors: vec![],
            correlation_id: None,
            of_request: false,
        }
    }

    pub fn with_error(mut self, code: &str, detail: &str) -> Problem {
        self.errors.push(ProblemError { code: code.into(), detail: detail.into() });
        self
    }

    /// Names this correlation id (a handler that already holds the request's).
    pub fn with_correlation(mut self, id: &str) -> Problem {
        self.correlation_id = Some(id.into());
        self
    }

    /// Names the request's correlation id, whoever makes the problem: the
    /// [`crate::CorrelationLayer`] writes it in, so the body, the
    /// `X-Correlation-Id` header and the request's log lines agree. (Answered
    /// outside that layer, the problem names an id of its own.)
    pub fn with_request_correlation(mut self) -> Problem {
        self.of_request = true;
        self
    }

    /// The answer, with exactly this body.
    pub(crate) fn render(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(self).expect("problem serializes");
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if !self.of_request || self.correlation_id.is_some() {
            return self.render();
        }
        self.correlation_id = Some(uuid::Uuid::new_v4().to_string());
        let mut r = self.render();
        r.extensions_mut().insert(PendingCorrelation(self));
        r
    }
}

/// The HTTP status of a service's error: the one table for every front.
pub trait HttpStatus {
    fn http_status(&self) -> StatusCode;
}

impl HttpStatus for AppError {
    fn http_status(&self) -> StatusCode {
        use varco_domain::DomainError as D;
        match self {
            AppError::NotFound(_) | AppError::Domain(D::NotFound(_)) => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Domain(D::Forbidden(_)) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) | AppError::Domain(D::Conflict(_)) | AppError::Domain(D::InvalidState { .. }) => {
                StatusCode::CONFLICT
            }
            AppError::Invalid(_) | AppError::InvalidKey(_) | AppError::Domain(D::Invalid(_)) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for ServiceError {
    fn http_status(&self) -> StatusCode {
        match self {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Forbidden | ServiceError::OwnRole | ServiceError::ManagerRole => StatusCode::FORBIDDEN,
            ServiceError::Transition(_) | ServiceError::Duplicate(_) | ServiceError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            ServiceError::Db(_) | ServiceError::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A platform error as a problem: the status from [`HttpStatus`], the message as
/// detail. Internal errors are logged and answered without their details.
impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        let status = e.http_status();
        let title = match status {
            StatusCode::NOT_FOUND => "Resource not found",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::BAD_REQUEST => "Bad Request",
            _ => "Internal Server Error",
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "internal error");
            return Problem::new(status, title, "Errore interno");
        }
        Problem::new(status, title, &e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_errors_map_to_statuses_and_hide_internals() {
        let p = Problem::from(AppError::NotFound("eservice".into()));
        assert_eq!((p.status, p.title.as_str()), (404, "Resource not found"));
        let p = Problem::from(AppError::InvalidKey("x".into()));
        assert_eq!((p.status, p.title.as_str()), (400, "Bad Request"));
        let p = Problem::from(AppError::Internal("db password wrong".into()));
        assert_eq!((p.status, p.detail.as_deref()), (500, Some("Errore interno")));
    }

    #[test]
    fn selfcare_errors_map_to_statuses() {
        assert_eq!(ServiceError::NotFound("utente").http_status(), StatusCode::NOT_FOUND);
        assert_eq!(ServiceError::OwnRole.http_status(), StatusCode::FORBIDDEN);
        assert_eq!(ServiceError::Duplicate("ruolo").http_status(), StatusCode::CONFLICT);
    }
}
