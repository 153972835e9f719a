//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::Verifier;
use crate::auth::viewer::Authenticator;
use crate::config::Config;
use crate::db::{Database, seed};
use crate::graphql::schema::{PoskoSchema, build_schema};
use crate::http::{graphql, health};

/// What every worker shares: one pool and one schema, built once.
pub struct AppState {
    pub db: Database,
    pub schema: PoskoSchema,
    pub auth: std::sync::Arc<Authenticator>,
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
        let db = Database::connect(&config.database_url, config.db_max_connections).await?;
        db.migrate().await?;
        if config.seed_reference {
            seed::run(&db.conn).await?;
        }
        let listener = TcpListener::bind(config.listen)
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let state = web::Data::new(AppState {
            db: db.clone(),
            schema: build_schema(),
            auth: std::sync::Arc::new(Authenticator::new(
                verifier,
                db.conn.clone(),
                std::time::Duration::from_secs(config.jurisdiction_cache_secs),
            )),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .route("/graphql", web::post().to(graphql::graphql))
                .route("/graphql", web::get().to(graphql::graphql))
                .route("/graphiql", web::get().to(graphql::graphiql))
                .route("/schema.graphql", web::get().to(graphql::sdl))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
        })
        .shutdown_timeout(30);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
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

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
