//! GraphQL over Server-Sent Events, `graphql-sse`'s distinct-connections mode: a POST with
//! `Accept: text/event-stream` gets one stream per operation, `next` events and a final
//! `complete`. For clients behind proxies that refuse WebSockets. The operation passes the
//! same steps as any other (`admit`, `operation::prepare`), and each event's sensitive
//! reads are in the access log before the event leaves. The stream ends when the token
//! expires.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;

use crate::domain::audit;
use crate::error::ErrorCode;
use crate::http::fanout::{self, Next};
use crate::http::graphql::operation;
use crate::http::graphql::respond::{MediaType, refuse, request_error_body};
use crate::http::graphql::{admit, params};
use crate::http::server::AppState;

/// Whether the client asks for an event stream.
pub fn wanted(http: &HttpRequest) -> bool {
    http.headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|range| {
                range
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "text/event-stream")
            })
        })
}

/// How often an idle stream writes a comment, so a client that left frees its place.
const HEARTBEAT: Duration = Duration::from_secs(15);

fn event(kind: &str, data: &str) -> web::Bytes {
    web::Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

/// Answers one operation as an event stream.
pub async fn stream(
    state: web::Data<AppState>,
    http: HttpRequest,
    request_id: String,
    body: web::Bytes,
) -> HttpResponse {
    let media = MediaType::Json;
    let started = Instant::now();
    let viewer = match admit::authenticate(&state, &http, media, &request_id, started).await {
        Ok(viewer) => viewer,
        Err(refusal) => return refusal,
    };
    crate::telemetry::record_caller(&viewer);
    if let Some(refusal) = admit::over_rate_limit(&state, &http, &viewer, media, started) {
        return refusal;
    }
    let batch = match params::from_body(&body, 1) {
        Ok(batch) if !batch.is_batch => batch,
        Ok(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                media,
                "an event stream carries one operation",
                ErrorCode::BadUserInput,
            );
        }
        Err((message, code)) => return refuse(StatusCode::BAD_REQUEST, media, &message, code),
    };
    let Some(params) = batch.items.into_iter().next() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            media,
            "a GraphQL request is required",
            ErrorCode::BadUserInput,
        );
    };
    let context = state.request_context(viewer.clone(), request_id.clone());
    let prepared = match operation::prepare(&state, &context, params) {
        Ok(prepared) => prepared,
        Err(outcome) => {
            return HttpResponse::BadRequest()
                .content_type(media.as_str())
                .body(outcome.body);
        }
    };
    if prepared.kind != Some(OperationType::Subscription) {
        // A query or mutation runs first, so a document that does not validate is an
        // ordinary 400 rather than a stream.
        let outcome = operation::execute(&state, prepared).await;
        let reads = context.take_reads();
        if let Err(err) =
            audit::record(state.request_db().writer(), &viewer, &request_id, reads).await
        {
            tracing::error!(error = ?err, "cannot write the access log; answer withheld");
            return crate::http::graphql::respond::internal_error(media, &request_id);
        }
        if outcome.request_error {
            return HttpResponse::BadRequest()
                .content_type(media.as_str())
                .body(outcome.body);
        }
        let body = [event("next", &outcome.body), event("complete", "")].concat();
        return HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header(("cache-control", "no-cache"))
            .body(body);
    }
    // A stream lives long: it counts against the same limits as a socket's subscription.
    let Some(held) = crate::http::ws::hold_stream(
        &state,
        crate::http::request_meta::client_of(&http),
        viewer.agency_code.clone(),
    ) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            media,
            "too many open streams from this address or agency on this instance",
            ErrorCode::RateLimited,
        );
    };
    let expires_in = viewer.expires_at.map(|exp| {
        let now = crate::auth::jwt::unix_now();
        Duration::from_secs(exp.saturating_sub(now))
    });
    let events = async_stream::stream! {
        let _held = held;
        let deadline = expires_in.map(|d| tokio::time::Instant::now() + d);
        {
            let mut member = fanout::join(&state, context, prepared, state.socket_limits.queue);
            let mut heartbeat = tokio::time::interval(HEARTBEAT);
            heartbeat.tick().await;
            loop {
                let next = async {
                    match deadline {
                        Some(at) => tokio::time::timeout_at(at, member.next()).await.ok(),
                        None => Some(member.next().await),
                    }
                };
                let next = tokio::select! {
                    next = next => next,
                    _ = heartbeat.tick() => {
                        // A comment line: clients ignore it, and writing it is how the
                        // server learns that a client went away while nothing happened.
                        yield Ok::<_, actix_web::Error>(web::Bytes::from_static(b":\n\n"));
                        continue;
                    }
                };
                let push = match next {
                    Some(Next::Push(push)) => push,
                    Some(Next::Lagged) => {
                        // The stream's reader fell behind its bounded queue.
                        state.metrics.dropped.inc();
                        let body = request_error_body(
                            "the client is not reading fast enough; refetch, then subscribe again",
                            ErrorCode::Reset,
                        );
                        yield Ok::<_, actix_web::Error>(event("next", &body.to_string()));
                        break;
                    }
                    Some(Next::Ended) | None => break,
                };
                if audit::record(state.request_db().writer(), &viewer, &request_id, push.reads.clone()).await.is_err() {
                    let body = request_error_body("internal error", ErrorCode::Internal);
                    yield Ok::<_, actix_web::Error>(event("next", &body.to_string()));
                    break;
                }
                state.metrics.delivered.inc();
                yield Ok(event("next", &push.response));
            }
        }
        yield Ok(event("complete", ""));
    };
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events)
}
