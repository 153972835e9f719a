//! Who is calling, and whether they may call now: the `Authorization` header verified
//! (a bad one is never `PUBLIC`), then the rate limit of the agency or address.

use std::time::Instant;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use crate::auth::viewer::{AuthFailure, Viewer};
use crate::error::{AppError, ErrorCode};
use crate::http::graphql::respond::{
    MediaType, internal_error, refuse, request_error_body, service_unavailable, unauthenticated,
    unavailable_body,
};
use crate::http::server::AppState;

/// Why a request's `Authorization` header names no one, before any token is read.
pub enum AuthorizationHeader {
    /// Proxies and clients disagree on which of two headers counts; answering with either
    /// would let one party's token stand in for another's.
    Repeated,
    /// Present but not text: refused, never read as absent (which would be PUBLIC).
    Unreadable,
}

impl AuthorizationHeader {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Repeated => "send one Authorization header",
            Self::Unreadable => "the Authorization header is not `Bearer <token>`",
        }
    }
}

/// The one `Authorization` header's value, if any: the rule of HTTP requests and socket
/// handshakes alike.
pub fn authorization(
    headers: &actix_web::http::header::HeaderMap,
) -> Result<Option<&str>, AuthorizationHeader> {
    let mut values = headers.get_all(header::AUTHORIZATION);
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthorizationHeader::Repeated);
    }
    first
        .map(|value| value.to_str().map_err(|_| AuthorizationHeader::Unreadable))
        .transpose()
}

/// The caller named by the request's `Authorization` header, or the refusal to send.
pub async fn authenticate(
    state: &AppState,
    http: &HttpRequest,
    media: MediaType,
    request_id: &str,
    started: Instant,
) -> Result<Viewer, HttpResponse> {
    let header = match authorization(http.headers()) {
        Ok(header) => header,
        Err(AuthorizationHeader::Repeated) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                media,
                AuthorizationHeader::Repeated.message(),
                ErrorCode::BadUserInput,
            ));
        }
        Err(AuthorizationHeader::Unreadable) => {
            return Err(unauthenticated(AuthorizationHeader::Unreadable.message()));
        }
    };
    match state.auth.authenticate(header).await {
        Ok(viewer) => Ok(viewer),
        Err(AuthFailure::Token(reason)) => {
            state.metrics.observe(
                None,
                "unauthenticated",
                started.elapsed().as_secs_f64(),
                &["UNAUTHENTICATED".into()],
            );
            Err(unauthenticated(reason.reason()))
        }
        Err(AuthFailure::Internal(AppError::ServiceUnavailable(_))) => {
            Err(service_unavailable(media, unavailable_body()))
        }
        Err(AuthFailure::Internal(err)) => {
            tracing::error!(error = ?err, "authentication could not read the agency");
            Err(internal_error(media, request_id))
        }
    }
}

/// The 429 with `Retry-After` for a caller over its rate limit, if it is.
pub fn over_rate_limit(
    state: &AppState,
    http: &HttpRequest,
    viewer: &Viewer,
    media: MediaType,
    started: Instant,
) -> Option<HttpResponse> {
    let address = crate::http::request_meta::client_of(http);
    let Err(wait) = state
        .rate_limits
        .check(viewer.agency_code.as_deref(), address)
    else {
        return None;
    };
    state.metrics.observe(
        None,
        "rate_limited",
        started.elapsed().as_secs_f64(),
        &["RATE_LIMITED".into()],
    );
    let seconds = wait.as_secs() + 1;
    Some(
        HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, seconds.to_string()))
            .content_type(media.as_str())
            .body(
                request_error_body(
                    &format!("too many requests; retry after {seconds} s"),
                    ErrorCode::RateLimited,
                )
                .to_string(),
            ),
    )
}
