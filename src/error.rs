//! The one error type of the request path and its stable `extensions.code` values
//! (CONTRACT.md, "Error codes"). Nothing else decides what a client is told about a failure.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// The `extensions.code` values clients may branch on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    InvalidTransition,
    RateLimited,
    QueryTooComplex,
    Internal,
    PersistedQueryNotFound,
    /// The request ran out of time; for a mutation the outcome is unknown.
    Timeout,
    /// A subscription may have missed changes: refetch and subscribe again.
    Reset,
    /// An idempotency key reused with a different report.
    IdempotencyKeyReused,
    /// The database cannot be reached (HTTP 503 with `Retry-After`).
    ServiceUnavailable,
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::RateLimited => "RATE_LIMITED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::Internal => "INTERNAL",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Timeout => "TIMEOUT",
            Self::Reset => "RESET",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }
}

/// Every failure a domain function can report. The `Display` texts are what clients read,
/// so they never carry data: an internal cause is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, or outside the caller's scope: the two are deliberately indistinguishable.
    #[error("not found")]
    NotFound,
    /// The caller may not do this. The text says why in terms of the caller (its role,
    /// its jurisdiction), never of the data.
    #[error("{0}")]
    Forbidden(std::borrow::Cow<'static, str>),
    #[error("{message}")]
    BadUserInput {
        message: String,
        field: Option<&'static str>,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        current_version: Option<i32>,
    },
    /// The same idempotency key with a different report: the first report's public id.
    #[error("this idempotencyKey was already used for a different report")]
    IdempotencyKeyReused { first: String },
    #[error("transition not allowed")]
    InvalidTransition { allowed: Vec<&'static str> },
    /// The database could not be reached: the request may succeed if retried later.
    #[error("the database cannot be reached; retry later")]
    ServiceUnavailable(#[source] DbErr),
    /// The text is generic on purpose: it reaches clients if someone writes `?` by mistake.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// A `BAD_USER_INPUT` naming the offending argument or input field.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            field: Some(field),
        }
    }

    /// A `FORBIDDEN` saying why.
    pub fn forbidden(reason: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::Forbidden(reason.into())
    }

    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::IdempotencyKeyReused { .. } => ErrorCode::IdempotencyKeyReused,
            Self::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Self::ServiceUnavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if matches!(err, DbErr::RecordNotFound(_)) {
            return Self::NotFound;
        }
        if unreachable(&err) {
            return Self::ServiceUnavailable(err);
        }
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::Conflict {
                message: "the record changed or already exists".into(),
                current_version: None,
            };
        }
        Self::Internal(err.into())
    }
}

impl From<crate::domain::types::UnknownStoredValue> for AppError {
    fn from(err: crate::domain::types::UnknownStoredValue) -> Self {
        Self::Internal(err.into())
    }
}

/// Whether the error says the database could not be reached (no connection could be had,
/// or the one in use broke), as opposed to a statement the database refused.
fn unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            matches!(
                cause.as_ref(),
                SqlxError::Io(_)
                    | SqlxError::Tls(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
            ) || lost_connection(cause)
        }
        _ => false,
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::ServiceUnavailable(cause) = self {
            tracing::warn!(error = %cause, "the database cannot be reached");
        }
        if let Self::Internal(cause) = self {
            // Logged once, here, where it is turned into a client answer; the request span
            // carries the request id the client sees.
            tracing::error!(error = ?cause, "request failed with an internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Self::BadUserInput {
                    field: Some(field), ..
                } => ext.set("field", *field),
                Self::Conflict {
                    current_version: Some(version),
                    ..
                } => ext.set("currentVersion", *version),
                Self::InvalidTransition { allowed } => ext.set("allowed", allowed.clone()),
                Self::IdempotencyKeyReused { first } => ext.set("disputeId", first.clone()),
                _ => {}
            }
        })
    }
}

/// The result type of domain functions.
pub type AppResult<T> = Result<T, AppError>;

/// Turns a domain result into a GraphQL one with the error's code attached.
pub trait IntoGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGql<T> for AppResult<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|err| err.extend())
    }
}

/// Whether PostgreSQL ended the session rather than refused the statement: class 08
/// (connection exception) and 57P (operator intervention: `57P01` when it is stopped or
/// restarted, as the restart drill does under load, `57P02` after a crash, `57P03` while it
/// starts or stops). The statement did not run to a commit the client was told of, so the
/// answer is `SERVICE_UNAVAILABLE` and a retry with the same key or version is safe.
fn lost_connection(cause: &sea_orm::sqlx::Error) -> bool {
    let Some(code) = cause.as_database_error().and_then(|e| e.code()) else {
        return false;
    };
    code.starts_with("08") || code.starts_with("57P")
}
