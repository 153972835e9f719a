//! Log output: human-readable in development, JSON lines in production, and the request
//! span every line of a request carries. The span names the method, the path (never the
//! query string, which may hold GraphQL variables), the status and the request id that
//! the `x-request-id` header and INTERNAL errors show.

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::Mode;

/// Installs the global subscriber; a second call (tests) is a no-op. A filter that does
/// not parse is refused rather than silently replaced (an operator who asked for `debug`
/// on election night must not get `info` without a word).
pub fn init(filter: &str, mode: Mode) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|err| anyhow::anyhow!("POSKO_LOG={filter:?} is not a log filter: {err}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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

/// The root span of every HTTP request.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(err) => err.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        tracing::info!(parent: &span, status, "request finished");
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
