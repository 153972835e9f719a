//! `POST /graphql` and `GET /graphql`, following the GraphQL-over-HTTP draft: the media
//! type comes from `Accept` (`application/graphql-response+json` or `application/json`),
//! request errors are 4xx under the former (the latter keeps 200 for a well-formed request,
//! as the spec asks of legacy clients), a mutation over GET is 405, a POST that is not
//! `application/json` is 415 (which also keeps web pages from posting queries with forms),
//! an oversized body is 413 and a body that does not arrive in time 408. The handler parses
//! the body itself rather than using async-graphql-actix-web's extractor, whose responder
//! cannot negotiate media types or status codes.
//!
//! A request goes through one step per module: `params` (body or query string →
//! parameters) → `admit` (who is calling, rate limit) → `operation` (persisted document →
//! cost → strings → a kept answer (`kept_answers`) or execution, for each
//! operation) → the access log → `respond`.

pub(crate) mod admit;
pub(crate) mod kept_answers;
pub(crate) mod operation;
pub(crate) mod params;
pub(crate) mod parsed_documents;
pub(crate) mod respond;
mod sse;

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::config::Introspection;
use crate::domain::audit;
use crate::error::ErrorCode;
use crate::http::limits::{DocumentLimits, VariableLimits};
use crate::http::request_meta::RequestMeta;
use crate::http::server::AppState;

pub use respond::{MediaType, negotiate, unauthenticated};

use params::{Batch, Params};
use respond::{accepted, internal_error, refuse};

/// Request-level limits of the endpoint.
#[derive(Clone, Copy, Debug)]
pub struct EndpointLimits {
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
    pub max_document_bytes: usize,
    pub document: DocumentLimits,
    pub variables: VariableLimits,
    pub max_batch: usize,
    pub timeout: Duration,
    pub introspection: Introspection,
}

/// Admits the caller, runs each operation, writes the access log, and answers.
async fn run(
    state: web::Data<AppState>,
    http: HttpRequest,
    meta: RequestMeta,
    batch: Batch,
    media: MediaType,
    is_get: bool,
) -> HttpResponse {
    let started = Instant::now();
    let request_id = meta.id;
    let viewer = match admit::authenticate(&state, &http, media, &request_id, started).await {
        Ok(viewer) => viewer,
        Err(refusal) => return refusal,
    };
    crate::telemetry::record_caller(&viewer);
    if let Some(refusal) = admit::over_rate_limit(&state, &http, &viewer, media, started) {
        return refusal;
    }
    let mut outcomes = Vec::with_capacity(batch.items.len());
    let mut reads = Vec::new();
    for params in batch.items {
        // A context per operation: its memoised statistics must not outlive a mutation
        // that changes them in the same batch.
        let context = state.request_context(viewer.clone(), request_id.clone());
        outcomes.push(operation::run(&state, &context, params, is_get).await);
        reads.extend(context.take_reads());
    }
    // No answer leaves without its audit rows: if they cannot be written, the data is
    // withheld.
    if let Err(err) = audit::record(state.request_db().writer(), &viewer, &request_id, reads).await
    {
        tracing::error!(error = ?err, "cannot write the access log; answer withheld");
        return internal_error(media, &request_id);
    }
    let seconds = started.elapsed().as_secs_f64();
    for outcome in &outcomes {
        state.metrics.observe(
            outcome.operation.as_deref(),
            outcome.result(),
            seconds,
            &outcome.codes,
        );
    }
    respond::answer(outcomes, batch.is_batch, media)
}

fn not_acceptable() -> HttpResponse {
    refuse(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "accept application/graphql-response+json or application/json",
        ErrorCode::BadUserInput,
    )
}

/// `POST /graphql`: one operation, or a batch (a JSON array) of at most `max_batch`.
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    meta: RequestMeta,
    payload: web::Payload,
) -> HttpResponse {
    let limits = state.limits;
    let body = params::read_body(&http, payload, limits.max_body_bytes, limits.body_timeout).await;
    if sse::wanted(&http) {
        let body = match body {
            Ok(body) => body,
            Err(err) => return err.response(MediaType::Json, limits.max_body_bytes),
        };
        if !params::is_json(&http) {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                MediaType::Json,
                "send GraphQL requests as application/json",
                ErrorCode::BadUserInput,
            );
        }
        return sse::stream(state, http, meta.id, body).await;
    }
    let Some(media) = accepted(&http) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(err) => return err.response(media, limits.max_body_bytes),
    };
    if !params::is_json(&http) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send GraphQL requests as application/json",
            ErrorCode::BadUserInput,
        );
    }
    let batch = match params::from_body(&body, limits.max_batch) {
        Ok(batch) => batch,
        Err((message, code)) => return refuse(StatusCode::BAD_REQUEST, media, &message, code),
    };
    run(state, http, meta, batch, media, false).await
}

/// `GET /graphql?query=…`: queries only.
pub async fn get(state: web::Data<AppState>, http: HttpRequest, meta: RequestMeta) -> HttpResponse {
    let Some(media) = accepted(&http) else {
        return not_acceptable();
    };
    let params: Params = match params::from_query_string(http.query_string()) {
        Ok(params) => params,
        Err(message) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                media,
                message,
                ErrorCode::BadUserInput,
            );
        }
    };
    let batch = Batch {
        items: vec![params],
        is_batch: false,
    };
    run(state, http, meta, batch, media, true).await
}

/// The SDL of the running schema (the same text as `schema.graphql`), to callers who may
/// introspect it: it tells exactly what introspection would.
pub async fn sdl(state: web::Data<AppState>, http: HttpRequest, meta: RequestMeta) -> HttpResponse {
    let started = Instant::now();
    let media = MediaType::Json;
    let viewer = match admit::authenticate(&state, &http, media, &meta.id, started).await {
        Ok(viewer) => viewer,
        Err(refusal) => return refusal,
    };
    if let Some(refusal) = admit::over_rate_limit(&state, &http, &viewer, media, started) {
        return refusal;
    }
    if !operation::introspection_allowed(state.limits.introspection, viewer.role) {
        return refuse(
            StatusCode::FORBIDDEN,
            media,
            "introspection is not allowed for this caller",
            ErrorCode::Forbidden,
        );
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.schema.sdl())
}
