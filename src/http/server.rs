//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_http::HttpService;
use actix_web::dev::AppConfig;
use actix_web::dev::{Server, Service as _};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Condition;
use actix_web::{App, HttpMessage as _, web};
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::Verifier;
use crate::auth::viewer::Authenticator;
use crate::config::{Config, Mode};
use crate::db::{Database, seed};
use crate::graphql::schema::{PoskoSchema, build_schema};
use crate::http::graphql::EndpointLimits;
use crate::http::limits::{DocumentLimits, VariableLimits};
use crate::http::metrics::Metrics;
use crate::http::persisted::PersistedOperations;
use crate::http::rate_limit::RateLimits;
use crate::http::request_meta::{
    REQUEST_ID_HEADER, RequestMeta, TRACEPARENT_HEADER, TrustedProxies,
};
use crate::http::{graphiql, graphql, health};

/// What every worker shares: one pool and one schema, built once.
pub struct AppState {
    pub db: Database,
    pub schema: PoskoSchema,
    pub auth: std::sync::Arc<Authenticator>,
    pub limits: EndpointLimits,
    pub persisted: PersistedOperations,
    pub rate_limits: RateLimits,
    pub metrics: Metrics,
    pub mode: Mode,
    /// Set when GraphiQL's token helper is on; the page carries it and the helper asks
    /// for it back, so only a page this server served can mint tokens.
    pub graphiql_nonce: Option<String>,
    /// The k of PUBLIC statistics.
    pub public_stats_k: u64,
    /// The limits of WebSocket connections, and what this instance's sockets hold.
    pub socket_limits: crate::http::ws::SocketLimits,
    pub sockets: crate::http::ws::SocketRegistry,
    /// The subscriptions this instance runs, one per audience and operation.
    pub fanout: crate::http::fanout::Fanout,
    /// Committed changes of disputes, for subscriptions.
    pub changes: std::sync::Arc<crate::domain::changes::ChangeFeed>,
    /// Whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Answers to queries of reference data, kept for reuse.
    pub kept_answers: crate::http::graphql::kept_answers::KeptAnswers,
    pub parsed_documents: crate::http::graphql::parsed_documents::ParsedDocuments,
    /// The reference data, served from memory.
    pub reference: std::sync::Arc<crate::domain::reference_cache::ReferenceCache>,
}

impl AppState {
    /// The pool for a request's statements: its HTTP worker's own on PostgreSQL
    /// (`db::worker_pool`), else the shared one.
    pub fn request_db(&self) -> Database {
        crate::db::worker_pool::for_this_thread(&self.db)
    }

    /// The context of one operation of `viewer`'s, whatever the transport.
    pub fn request_context(
        &self,
        viewer: crate::auth::viewer::Viewer,
        request_id: String,
    ) -> std::sync::Arc<crate::graphql::context::RequestContext> {
        std::sync::Arc::new(
            crate::graphql::context::RequestContext::new(
                self.request_db(),
                viewer,
                request_id,
                self.auth.clone(),
                self.reference.clone(),
            )
            .with_public_stats_k(self.public_stats_k)
            .with_changes(self.changes.clone()),
        )
    }
}

/// Each worker's share of the instance's connections, at least one.
fn worker_connections(max_connections: u32, workers: usize) -> u32 {
    let workers = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    max_connections.div_ceil(workers).max(1)
}

/// Browsers may call the API from the listed origins (and from the service's own, so
/// GraphiQL keeps working); without a list no CORS headers are sent at all.
fn cors(origins: Vec<String>, allowed_headers: &[HeaderName]) -> Cors {
    Cors::default()
        .allowed_origin_fn(move |origin, request| {
            let own = request
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .zip(origin.to_str().ok())
                .is_some_and(|(host, origin)| origin.ends_with(&format!("://{host}")));
            own || origins
                .iter()
                .any(|o| origin.as_bytes() == o.trim().as_bytes())
        })
        .allowed_methods(["GET", "POST"])
        .allowed_headers(allowed_headers.iter().cloned())
        .expose_headers([
            HeaderName::from_static(REQUEST_ID_HEADER),
            HeaderName::from_static(TRACEPARENT_HEADER),
        ])
        .max_age(3600)
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    local_addr: std::net::SocketAddr,
    db: Database,
}

impl Application {
    /// Connects, migrates, seeds, and binds the listener.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let verifier = Verifier::from_config(config)?;
        verifier.load_remote_keys().await?;
        let trusted_proxies = TrustedProxies::parse(&config.trusted_proxies)?;
        if config.graphiql_tokens && config.mode == Mode::Production {
            anyhow::bail!("POSKO_GRAPHIQL_TOKENS is a development aid; production refuses it");
        }
        let persisted = PersistedOperations::new(
            config.persisted_operations.as_deref(),
            &config.allowlist_roles,
        )?;
        let db = Database::connect_with(
            &config.database_url,
            config.db_max_connections,
            std::time::Duration::from_millis(config.db_acquire_timeout_ms),
        )
        .await?;
        db.migrate_then(|| async {
            if config.seed_reference {
                seed::run(&db.conn).await?;
            }
            Ok(())
        })
        .await?;
        let listener = TcpListener::bind(config.listen)
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let reference = crate::domain::reference_cache::ReferenceCache::load(
            &db.background_connection().await?,
        )
        .await?;
        let auth = std::sync::Arc::new(Authenticator::new(
            verifier,
            db.conn.clone(),
            std::time::Duration::from_secs(config.jurisdiction_cache_secs),
        ));
        // Jurisdictions are derived from reference rows: forget them when those change.
        let forget = std::sync::Arc::downgrade(&auth);
        reference.on_reload(move || {
            if let Some(auth) = forget.upgrade() {
                auth.invalidate();
            }
        });
        reference.watch();
        let state = web::Data::new(AppState {
            db: db.clone(),
            schema: build_schema(config),
            auth,
            reference,
            kept_answers: Default::default(),
            parsed_documents: Default::default(),
            limits: EndpointLimits {
                max_body_bytes: config.max_body_bytes,
                body_timeout: std::time::Duration::from_millis(config.body_timeout_ms),
                max_document_bytes: config.max_document_bytes,
                document: DocumentLimits {
                    max_fields: config.max_fields,
                    max_depth: config.max_depth,
                    max_introspection_depth: config.max_introspection_depth,
                    max_aliases: config.max_aliases,
                    max_root_fields: config.max_root_fields,
                    max_directives: config.max_directives,
                    max_operations: config.max_operations,
                },
                variables: VariableLimits {
                    max_depth: config.max_variable_depth,
                    max_values: config.max_variable_values,
                },
                max_batch: config.max_batch,
                timeout: std::time::Duration::from_millis(config.execution_timeout_ms),
                introspection: config.introspection(),
            },
            persisted,
            rate_limits: RateLimits::new(
                config.rate_limit_per_minute,
                config.public_rate_limit_per_minute,
            ),
            metrics: Metrics::new()?,
            mode: config.mode,
            public_stats_k: config.public_stats_k,
            changes: crate::domain::changes::ChangeFeed::start(&db.conn),
            socket_limits: crate::http::ws::SocketLimits {
                max_subscriptions: config.ws_max_subscriptions,
                max_agency_subscriptions: config.ws_max_agency_subscriptions,
                max_connections_per_ip: config.ws_max_connections_per_ip,
                queue: config.ws_queue.max(1),
                init_timeout: std::time::Duration::from_millis(config.ws_init_timeout_ms),
            },
            sockets: crate::http::ws::SocketRegistry::default(),
            fanout: crate::http::fanout::Fanout::default(),
            trusted_proxies,
            graphiql_nonce: config
                .graphiql_tokens
                .then(|| hex::encode(rand::random::<[u8; 16]>())),
        });
        if state.auth.verifier().has_remote_keys() {
            let refresher = state.clone();
            let every = std::time::Duration::from_secs(config.jwt_jwks_refresh_secs);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    refresher.auth.verifier().refresh_remote_keys().await;
                }
            });
        }
        let sweeper = state.clone();
        // Idle rate-limit keys are dropped once a minute so the table cannot grow without end.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                sweeper.rate_limits.shrink();
            }
        });
        let cors_origins = config.cors_origins.clone();
        let mut cors_headers = Vec::new();
        for name in &config.cors_allowed_headers {
            cors_headers.push(
                HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).map_err(
                    |_| {
                        anyhow::anyhow!("POSKO_CORS_ALLOWED_HEADERS: {name:?} is not a header name")
                    },
                )?,
            );
        }
        let max_body = config.max_body_bytes;
        let app_state = state.clone();
        let app = move || {
            let state = app_state.clone();
            App::new()
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(cors_origins.clone(), &cors_headers),
                ))
                .wrap_fn(|request, service| {
                    // The id (the caller's, when valid) and trace context go back out, so a
                    // caller can quote them and a proxy's trace continues.
                    let meta = request.extensions().get::<RequestMeta>().cloned();
                    let response = service.call(request);
                    async move {
                        let mut response = response.await?;
                        if let Some(meta) = meta {
                            let headers = response.headers_mut();
                            if let Ok(id) = HeaderValue::from_str(&meta.id) {
                                headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
                            }
                            if let Some(trace) = meta
                                .traceparent
                                .as_deref()
                                .and_then(|t| HeaderValue::from_str(t).ok())
                            {
                                headers.insert(HeaderName::from_static(TRACEPARENT_HEADER), trace);
                            }
                        }
                        Ok(response)
                    }
                })
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .route("/graphql", web::post().to(graphql::post))
                .route("/graphql", web::get().to(graphql::get))
                .route("/metrics", web::get().to(crate::http::metrics::metrics))
                .route("/graphiql", web::get().to(graphiql::page))
                .route("/graphiql/token", web::get().to(graphiql::token))
                .route("/graphiql/assets/{name}", web::get().to(graphiql::asset))
                .route("/schema.graphql", web::get().to(graphql::sdl))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
        };
        // actix-web's `HttpServer` is this same assembly without a way to set actix-http's
        // upgrade hook, which `socket::accept` needs (see there).
        // actix-server's own default, made explicit to share the connections among workers.
        let workers = config.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let connections_per_worker = worker_connections(config.db_max_connections, workers);
        let server = actix_server::Server::build()
            .shutdown_timeout(config.shutdown_grace_secs)
            .workers(workers)
            .listen("posko", listener, move || {
                // Called once on each worker's thread, before it serves.
                crate::db::worker_pool::install(&state.db, connections_per_worker);
                let state = state.clone();
                let upgrade = actix_service::fn_service(
                    move |(request, framed): (
                        actix_http::Request,
                        actix_codec::Framed<actix_web::rt::net::TcpStream, actix_http::h1::Codec>,
                    )| {
                        let accepted = crate::http::socket::accept(
                            state.clone(),
                            request,
                            framed,
                            crate::http::ws::serve,
                        );
                        // actix-http answers an upgrade service's error as a response, which
                        // needs an error type it can render.
                        async move { accepted.await.map_err(actix_web::Error::from) }
                    },
                );
                HttpService::build()
                    .keep_alive(actix_http::KeepAlive::Timeout(
                        std::time::Duration::from_secs(5),
                    ))
                    .client_request_timeout(std::time::Duration::from_secs(5))
                    .client_disconnect_timeout(std::time::Duration::from_secs(1))
                    .local_addr(local_addr)
                    .upgrade(upgrade)
                    .finish(actix_service::map_config(app(), |_| AppConfig::default()))
                    .tcp()
            })?
            .run();
        Ok(Self {
            server,
            local_addr,
            db,
        })
    }

    /// Where the server listens (useful with port 0).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    /// The server's database handle (tests read its statement counter).
    pub fn database(&self) -> Database {
        self.db.clone()
    }

    /// A handle that stops the server (for the tests; a deployment stops it by signal).
    pub fn stop_handle(&self) -> actix_server::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
