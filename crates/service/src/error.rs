//! The errors a use-case can end in, in terms of what the caller should tell the user.
//! The web crate maps each variant to one HTTP status in one place.

use tandem_store::StoreError;

pub type ServiceResult<T> = Result<T, ServiceError>;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well-formed but cannot be done in the current state.
    #[error("{0}")]
    Conflict(String),
    /// The input is wrong; the message says what and where.
    #[error("{message}")]
    Invalid { message: String, details: Vec<String> },
    #[error("{0}")]
    TooLarge(String),
    #[error("sign in to continue")]
    Unauthenticated,
    /// Sign-in refused for a while after too many failed attempts.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("your role ({have}) cannot {action}; it needs {need}")]
    Forbidden {
        have: String,
        need: String,
        action: String,
    },
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
    /// The server lacks something it needs for this request (a document tool that is not
    /// installed): the message says what, for the operator to fix.
    #[error("{0}")]
    Unavailable(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid_with(message: impl Into<String>, details: Vec<String>) -> Self {
        ServiceError::Invalid {
            message: message.into(),
            details,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(msg) => ServiceError::Conflict(msg),
            other => ServiceError::Store(other),
        }
    }
}

impl From<tandem_domain::InputError> for ServiceError {
    fn from(e: tandem_domain::InputError) -> Self {
        if e.is_too_large() {
            ServiceError::TooLarge(e.to_string())
        } else {
            ServiceError::invalid(e.to_string())
        }
    }
}
