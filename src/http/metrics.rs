//! `/metrics` in Prometheus text format: GraphQL requests and latency by operation name
//! and outcome, error codes, database pool use, sockets, and the process (CPU, memory,
//! file descriptors, threads).

use std::collections::HashSet;
use std::sync::Mutex;

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::http::server::AppState;

/// Distinct operation names kept as labels; beyond them, `other` (a client choosing
/// random names must not grow the registry without end).
const MAX_OPERATION_LABELS: usize = 200;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    pool: IntGaugeVec,
    operations: Mutex<HashSet<String>>,
    /// Open WebSocket connections.
    pub sockets: IntGauge,
    /// Open subscriptions.
    pub subscriptions: IntGauge,
    /// Messages delivered to subscribers.
    pub delivered: IntCounter,
    /// Sockets closed because their consumer could not keep up.
    pub dropped: IntCounter,
    /// PUBLIC queries answered with a kept answer.
    public_answers_reused: IntCounter,
    /// Queries of callers with tokens answered with an answer kept for them.
    caller_answers_reused: IntCounter,
    /// Subscription executions this instance runs (`http::fanout`: one per audience and
    /// operation, shared by its subscribers).
    subscription_groups: IntGauge,
}

impl Metrics {
    /// A registry with Posko's series.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "posko_graphql_requests_total",
                "GraphQL requests by operation name and outcome",
            ),
            &["operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "posko_graphql_request_duration_seconds",
                "GraphQL request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["operation", "outcome"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "posko_graphql_errors_total",
                "GraphQL errors by extensions.code",
            ),
            &["code"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "posko_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        let sockets = IntGauge::new("posko_ws_connections", "Open WebSocket connections")?;
        let subscriptions = IntGauge::new("posko_ws_subscriptions", "Open subscriptions")?;
        let delivered = IntCounter::new(
            "posko_ws_events_delivered_total",
            "Subscription messages delivered",
        )?;
        let dropped = IntCounter::new(
            "posko_ws_slow_consumers_closed_total",
            "Sockets closed because their consumer fell behind",
        )?;
        registry.register(Box::new(sockets.clone()))?;
        registry.register(Box::new(subscriptions.clone()))?;
        registry.register(Box::new(delivered.clone()))?;
        registry.register(Box::new(dropped.clone()))?;
        let subscription_groups = IntGauge::new(
            "posko_subscription_executions",
            "Subscription executions running, each shared by the subscribers of one audience and operation",
        )?;
        registry.register(Box::new(subscription_groups.clone()))?;
        let public_answers_reused = IntCounter::new(
            "posko_public_answers_reused_total",
            "PUBLIC queries of reference data answered with a kept answer",
        )?;
        registry.register(Box::new(public_answers_reused.clone()))?;
        let caller_answers_reused = IntCounter::new(
            "posko_caller_answers_reused_total",
            "Queries of reference data by callers with tokens answered with an answer kept for that caller",
        )?;
        registry.register(Box::new(caller_answers_reused.clone()))?;
        // The process_* series every Prometheus dashboard expects (Linux only).
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            sockets,
            subscriptions,
            delivered,
            dropped,
            public_answers_reused,
            caller_answers_reused,
            subscription_groups,
            registry,
            requests,
            latency,
            errors,
            pool,
            operations: Mutex::new(HashSet::new()),
        })
    }

    fn label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation.filter(|n| !n.is_empty() && n.len() <= 64) else {
            return "anonymous".into();
        };
        let Ok(mut seen) = self.operations.lock() else {
            return "other".into();
        };
        if seen.contains(name) || seen.len() < MAX_OPERATION_LABELS {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    /// Counts a query answered with a kept answer: PUBLIC's, or one kept for its caller.
    pub fn answer_reused(&self, public: bool) {
        if public {
            self.public_answers_reused.inc();
        } else {
            self.caller_answers_reused.inc();
        }
    }

    /// Records one GraphQL request.
    pub fn observe(
        &self,
        operation: Option<&str>,
        outcome: &str,
        seconds: f64,
        error_codes: &[String],
    ) {
        let label = self.label(operation);
        self.requests
            .with_label_values(&[label.as_str(), outcome])
            .inc();
        self.latency
            .with_label_values(&[label.as_str(), outcome])
            .observe(seconds);
        for code in error_codes {
            self.errors.with_label_values(&[code.as_str()]).inc();
        }
    }

    fn render(&self, state: &AppState) -> Vec<u8> {
        let (size, idle) = state.db.pool_use();
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(size.saturating_sub(idle)));
        self.subscription_groups
            .set(i64::try_from(state.fanout.groups()).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        out
    }
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state))
}
