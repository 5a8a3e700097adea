use varco_domain::DomainError;
use varco_store::StoreError;

/// The one error type of Varco's use cases. The web crate maps it to HTTP in one
/// place; the CLI prints it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0} non trovato")]
    NotFound(String),
    #[error("chiave pubblica non valida: {0}")]
    InvalidKey(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("errore interno: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { kind, bytes } => AppError::Invalid(format!(
                "la modifica porterebbe il documento ({kind}) a {bytes} byte, oltre il massimo di {} KiB",
                varco_store::MAX_DOC_BYTES / 1024
            )),
            StoreError::Nul { .. } => AppError::Invalid("il testo non può contenere il carattere NUL (U+0000)".into()),
            StoreError::Conflict(what) => AppError::Conflict(format!("{what}: modifica concorrente, riprovare")),
            StoreError::Duplicate(what) => AppError::Conflict(format!("elemento già presente ({what})")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
