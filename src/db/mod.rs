//! Connecting to SQLite or PostgreSQL, migrating, and counting the SQL statements Posko
//! issues (the count backs the "no N+1" tests and the benchmark).

pub mod audit_tools;
pub mod demo;
pub mod seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, DatabaseBackend, DatabaseConnection};

/// The default database: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://posko.db?mode=rwc";

/// A connection pool plus the statement counter fed by sea-orm's metric callback.
#[derive(Clone)]
pub struct Database {
    pub conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
}

impl Database {
    /// Connects with settings tuned per backend: WAL, a busy timeout and foreign keys for a
    /// SQLite file; a bounded pool for PostgreSQL.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            // sqlx pings a connection on every checkout by default: one more round trip
            // per statement (measured: 4 sends per one-statement request). Only a
            // connection idle long enough to have been dropped by a restart or a proxy is
            // pinged; a busy one that broke fails one statement and leaves the pool.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            // Posko's statements are short OLTP reads over an index; PostgreSQL's JIT would
            // spend ~300 ms compiling each one whose estimated cost crosses
            // `jit_above_cost` (measured on the dispute statistics query).
            .map_sqlx_postgres_opts(|opts| opts.options([("jit", "off")]))
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        let mut conn = sea_orm::Database::connect(options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            // The statement with its values inlined: the benchmark replays these against
            // the database alone. Trace level only, and never on in production logs,
            // since values may include reporters' names.
            tracing::trace!(target: "posko::sql", elapsed_us = info.elapsed.as_micros() as u64, "{}", info.statement);
        });
        Ok(Self { conn, statements })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None)
            .await
            .context("cannot migrate the database")
    }

    /// How many SQL statements this pool has run since it was opened.
    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Which SQL dialect the pool speaks.
    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// The pool's (size, idle) connections, for metrics.
    pub fn pool_use(&self) -> (u32, u32) {
        match self.backend() {
            DatabaseBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (
                    pool.size(),
                    u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                )
            }
            DatabaseBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (
                    pool.size(),
                    u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                )
            }
            _ => (0, 0),
        }
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://posko:s3cret@db:5432/posko"),
            "postgres://posko:***@db:5432/posko"
        );
        assert_eq!(
            redact("sqlite://posko.db?mode=rwc"),
            "sqlite://posko.db?mode=rwc"
        );
    }
}
