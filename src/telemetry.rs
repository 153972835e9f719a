//! Log output: human-readable in development, JSON lines in production, and the request
//! span every line of a request carries. The span names the method, the path (never the
//! query string, which may hold GraphQL variables), the status and the request id that
//! the `x-request-id` header and INTERNAL errors show.

use std::io::IsTerminal as _;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::web;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::Mode;
use crate::http::request_meta::{RequestMeta, TrustedProxies};
use crate::http::server::AppState;

/// Installs the global subscriber; a second call (tests) is a no-op. A filter that does
/// not parse is refused rather than silently replaced (an operator who asked for `debug`
/// on election night must not get `info` without a word).
pub fn init(filter: &str, mode: Mode) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|err| anyhow::anyhow!("POSKO_LOG={filter:?} is not a log filter: {err}"))?;
    // Colours only for a person at a terminal: a file or a collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match mode {
        Mode::Production => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        Mode::Development => builder.try_init(),
    };
    Ok(())
}

/// The root span of every HTTP request. Its fields are the request's log line: what was
/// asked (method, path, operation), by whom (role, agency, client address), with which
/// ids (request id, trace id), and how it ended (status, duration). The path never
/// includes the query string, which may hold GraphQL variables.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let no_proxies = TrustedProxies::default();
        let state = request.app_data::<web::Data<AppState>>();
        let trusted = state.map_or(&no_proxies, |s| &s.trusted_proxies);
        let meta = RequestMeta::of(
            request.headers(),
            request.peer_addr().map(|a| a.ip()),
            trusted,
            || {
                request
                    .extensions()
                    .get::<RequestId>()
                    .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.to_string())
            },
        );
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = %meta.id,
            trace_id = meta.trace_id(),
            client = meta.client.map(tracing::field::display),
            role = tracing::field::Empty,
            agency = tracing::field::Empty,
            operation = tracing::field::Empty,
            operation_type = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        request.extensions_mut().insert(meta);
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, started) = match outcome {
            Ok(response) => (
                response.status().as_u16(),
                response
                    .request()
                    .extensions()
                    .get::<RequestMeta>()
                    .map(|m| m.started),
            ),
            Err(err) => (err.as_response_error().status_code().as_u16(), None),
        };
        span.record("status", status);
        if let Some(started) = started {
            // Milliseconds with microseconds: fine enough for a fast read, readable as is.
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            span.record("duration_ms", (millis * 1000.0).round() / 1000.0);
        }
        tracing::info!(parent: &span, status, "request finished");
    }
}

/// Names the request's caller on its log line, once the token is read.
pub fn record_caller(viewer: &crate::auth::viewer::Viewer) {
    let span = Span::current();
    span.record("role", viewer.role.as_ref());
    if let Some(agency) = viewer.agency_code.as_deref() {
        span.record("agency", agency);
    }
}

/// Names the operation on the request's log line (a batch's line names its last one).
pub fn record_operation(name: Option<&str>, kind: Option<&str>) {
    let span = Span::current();
    if let Some(name) = name {
        span.record("operation", name);
    }
    if let Some(kind) = kind {
        span.record("operation_type", kind);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_log_filter_that_does_not_parse_is_refused() {
        let err = super::init("info,posko=loud", crate::config::Mode::Development)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("POSKO_LOG"), "{err}");
    }
}
