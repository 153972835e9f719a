//! Log output: human-readable in development, JSON lines in production, and the request
//! span every line of a request carries. The span names the method, the path (never the
//! query string, which may hold GraphQL variables), the status and the request id that
//! the `x-request-id` header and INTERNAL errors show.

use std::io::IsTerminal as _;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::web;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::Mode;
use crate::http::request_meta::{RequestMeta, TrustedProxies};
use crate::http::server::AppState;

/// Flushes exported spans when dropped (at the end of `main`): the batch exporter holds up
/// to a few seconds of spans that would otherwise be lost at shutdown.
#[must_use]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("posko: could not flush the last spans: {err}");
        }
    }
}

/// Installs the global subscriber; a second call (tests) is a no-op. A filter that does
/// not parse is refused rather than silently replaced (an operator who asked for `debug`
/// on election night must not get `info` without a word). When
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans
/// are also exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the
/// default, or `http/json`), each request's span continuing the caller's `traceparent`.
pub fn init(filter: &str, mode: Mode) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|err| anyhow::anyhow!("POSKO_LOG={filter:?} is not a log filter: {err}"))?;
    // Colours only for a person at a terminal: a file or a collector gets plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match mode {
        Mode::Production => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        Mode::Development => fmt.boxed(),
    };
    let provider = otlp_provider()?;
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("posko")));
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok();
    Ok(Telemetry {
        provider: provider.filter(|_| installed),
    })
}

/// The OTLP exporter the standard `OTEL_*` variables ask for, if any.
fn otlp_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if !configured {
        return Ok(None);
    }
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        Err(_) | Ok("http/protobuf") => Protocol::HttpBinary,
        Ok("http/json") => Protocol::HttpJson,
        Ok(other) => anyhow::bail!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={other:?}: Posko exports over http/protobuf or http/json"
        ),
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|err| anyhow::anyhow!("cannot set up the OTLP exporter: {err}"))?;
    let resource = Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "posko".to_owned()),
        )
        .build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
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
        // The request's span continues the caller's trace in the exported spans.
        if let Some(traceparent) = &meta.traceparent {
            let carrier =
                std::collections::HashMap::from([("traceparent".to_owned(), traceparent.clone())]);
            let parent = TraceContextPropagator::new().extract(&carrier);
            let _ = span.set_parent(parent);
        }
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
