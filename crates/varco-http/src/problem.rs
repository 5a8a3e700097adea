use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use varco_platform::AppError;

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
        }
    }

    pub fn with_error(mut self, code: &str, detail: &str) -> Problem {
        self.errors.push(ProblemError { code: code.into(), detail: detail.into() });
        self
    }

    pub fn with_correlation(mut self, id: &str) -> Problem {
        self.correlation_id = Some(id.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).expect("problem serializes");
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

/// The one mapping from Varco's errors to HTTP.
impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        use varco_domain::DomainError as D;
        let (status, title) = match &e {
            AppError::NotFound(_) | AppError::Domain(D::NotFound(_)) => (StatusCode::NOT_FOUND, "Resource not found"),
            AppError::Forbidden(_) | AppError::Domain(D::Forbidden(_)) => (StatusCode::FORBIDDEN, "Forbidden"),
            AppError::Conflict(_) | AppError::Domain(D::Conflict(_)) | AppError::Domain(D::InvalidState { .. }) => {
                (StatusCode::CONFLICT, "Conflict")
            }
            AppError::Invalid(_) | AppError::InvalidKey(_) | AppError::Domain(D::Invalid(_)) => {
                (StatusCode::BAD_REQUEST, "Bad Request")
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "internal error");
            return Problem::new(status, title, "Errore interno");
        }
        Problem::new(status, title, &e.to_string())
    }
}
