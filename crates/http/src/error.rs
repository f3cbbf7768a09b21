//! The one error type handlers return, independent of any vendor's wire format.
//!
//! Each dialect renders it through its [`crate::envelope::Envelope`]; this module only
//! decides the HTTP status and keeps internal details out of responses (they are
//! logged instead).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use entreposto_app::AppError;
use entreposto_domain::FieldError;
use entreposto_store::{RowError, StoreError};

#[derive(Debug, Clone)]
pub enum ApiError {
    /// Missing or wrong credentials.
    Unauthorized(String),
    /// Valid credentials that may not do this (e.g. a seller header outside the operator).
    Forbidden(String),
    NotFound(String),
    /// Input that breaks a rule; names the field.
    Invalid(FieldError),
    /// Rows of a batch that break field rules (an import): each row with its reasons.
    InvalidRows(Vec<RowError>),
    /// Well-formed input that conflicts with the current state (closing twice).
    Conflict(String),
    PayloadTooLarge,
    /// The request target is longer than [`crate::limits::MAX_URI_BYTES`].
    UriTooLong,
    /// The request's headers are larger than [`crate::limits::MAX_HEADER_BYTES`].
    HeadersTooLarge,
    /// A request the HTTP layer could not parse (a broken request line or header).
    BadRequest(String),
    /// The client did not send its body in time.
    RequestTimeout,
    MethodNotAllowed,
    /// The credential sent more requests than its rate limit allows: retry after
    /// `retry_after` seconds (the edge adds the `RateLimit-*` headers).
    TooManyRequests {
        limit: entreposto_domain::RateLimit,
        retry_after: u64,
    },
    /// An `Idempotency-Key` sent again with another request (method, path or body).
    IdempotencyKeyReused,
    /// An `Idempotency-Key` whose first request has not finished yet.
    IdempotencyInFlight,
    /// The database is saturated: retry later.
    Busy,
    /// The handler did not answer within the request timeout: retry later.
    Timeout,
    /// A bug or an outage; details are logged, never sent.
    Internal,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(FieldError::new(field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid(_) | ApiError::InvalidRows(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::IdempotencyInFlight => StatusCode::CONFLICT,
            ApiError::Busy | ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-friendly kind, for envelopes that carry one.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Invalid(_) | ApiError::InvalidRows(_) => "invalid_field",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UriTooLong => "uri_too_long",
            ApiError::HeadersTooLarge => "headers_too_large",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::IdempotencyInFlight => "idempotency_key_in_flight",
            ApiError::Busy => "busy",
            ApiError::Timeout => "timeout",
            ApiError::Internal => "internal",
        }
    }

    /// The human message, naming the field for validation errors.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::BadRequest(m) => m.clone(),
            ApiError::Invalid(f) => f.to_string(),
            ApiError::InvalidRows(rows) => match rows.first() {
                Some(r) => format!(
                    "{} invalid item(s); item {}: {}",
                    rows.len(),
                    r.row,
                    r.reasons.join("; ")
                ),
                None => "invalid items".into(),
            },
            ApiError::PayloadTooLarge => format!(
                "request body is larger than this path accepts ({} bytes unless its \
                 documentation says more)",
                crate::MAX_BODY_BYTES
            ),
            ApiError::UriTooLong => format!(
                "the request URI is longer than {} bytes",
                crate::limits::MAX_URI_BYTES
            ),
            ApiError::HeadersTooLarge => format!(
                "the request headers are larger than {} bytes",
                crate::limits::MAX_HEADER_BYTES
            ),
            ApiError::RequestTimeout => "the request body did not arrive in time".into(),
            ApiError::MethodNotAllowed => "method not allowed on this route".into(),
            ApiError::TooManyRequests { limit, retry_after } => format!(
                "too many requests: this credential may send {limit}; retry in {retry_after} s"
            ),
            ApiError::IdempotencyKeyReused => "Idempotency-Key: already used with another \
                 request (method, path or body); send a new key for a new request"
                .into(),
            ApiError::IdempotencyInFlight => "Idempotency-Key: the first request with this \
                 key has not finished yet; retry shortly"
                .into(),
            ApiError::Busy => "the server is busy, retry shortly".into(),
            ApiError::Timeout => "the request took too long, retry shortly".into(),
            ApiError::Internal => "internal error".into(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid(f) => Some(&f.field),
            ApiError::IdempotencyKeyReused | ApiError::IdempotencyInFlight => {
                Some("Idempotency-Key")
            }
            ApiError::InvalidRows(rows) => rows
                .first()
                .and_then(|r| r.reasons.first())
                .and_then(|m| m.split(':').next()),
            _ => None,
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => ApiError::NotFound("not found".into()),
            AppError::UnknownSubject(s) => {
                ApiError::invalid("subject", format!("unknown subject '{s}'"))
            }
            AppError::Invalid(f) => ApiError::Invalid(f),
            AppError::InvalidRows(rows) => ApiError::InvalidRows(rows),
            AppError::AlreadyClosed => ApiError::Conflict(e.to_string()),
            AppError::Conflict(m) => ApiError::Conflict(m),
            AppError::Busy => ApiError::Busy,
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                ApiError::Internal
            }
        }
    }
}

/// Maps a use case's (or the store's) error the usual way, but words `NotFound` as
/// `message()` says (each dialect names the missing thing its own way). The message is
/// only built on failure.
pub fn not_found_with<E: Into<AppError>, F: FnOnce() -> String>(
    message: F,
) -> impl FnOnce(E) -> ApiError {
    move |e| match e.into() {
        AppError::NotFound => ApiError::NotFound(message()),
        e => e.into(),
    }
}

/// Outside any dialect (unknown top-level routes) errors use the hub's plain envelope.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::envelope::render::<crate::envelope::Plain>(&self)
    }
}
