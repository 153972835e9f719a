//! Connecting to SQLite or PostgreSQL, migrating, and counting the SQL statements Posko
//! issues (the count backs the "no N+1" tests and the benchmark).

pub mod audit_tools;
pub mod demo;
pub mod dispute_rows;
pub mod restage;
pub mod seed;
pub mod sqlite_planner;
pub mod worker_pool;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use futures_util::FutureExt as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, DatabaseBackend, DatabaseConnection};

/// The default database: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://posko.db?mode=rwc";

/// A connection pool plus the statement counter fed by sea-orm's metric callback.
#[derive(Clone)]
pub struct Database {
    pub conn: DatabaseConnection,
    /// Where a request's writes go (`writer`).
    writer: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// Kept for the migration lock's own connection.
    url: Arc<str>,
    /// The longest wait for a pooled connection, for the workers' pools.
    acquire_timeout: Duration,
    /// The pools of this server's HTTP workers (`worker_pool`), for metrics.
    worker_pools: Arc<Mutex<WorkerPools>>,
}

/// The pools of a server's live HTTP workers, each under an id its worker removes it by
/// when the worker's thread ends (`worker_pool`).
#[derive(Default)]
struct WorkerPools {
    next_id: u64,
    pools: Vec<(u64, DatabaseConnection)>,
}

/// The pool settings of both backends.
fn connect_options(url: &str, max_connections: u32, acquire_timeout: Duration) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false)
        // sqlx pings a connection on every checkout by default: one more round trip
        // per statement (measured: 4 sends per one-statement request). Only a
        // connection idle long enough to have been dropped by a restart or a proxy is
        // pinged; a busy one that broke fails one statement and leaves the pool.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .map_sqlx_postgres_opts(|opts| {
            // Posko's statements are short OLTP reads over an index; PostgreSQL's JIT would
            // spend ~300 ms compiling each one whose estimated cost crosses
            // `jit_above_cost` (measured on the dispute statistics query).
            let opts = opts.options([("jit", "off")]);
            // PostgreSQL plans a prepared statement again on every execution for as long
            // as it estimates that a plan for the bound values beats its generic one, and
            // it so estimated every scoped list and statistics statement of Posko's: Q2's
            // list spent 1.9 ms planning for 0.9 ms running, on every request, for the same
            // plan. A generic plan is made once per connection and statement (BENCHMARKS.md,
            // session 13: Q2, Q4, Q5 +44 to +60 %). An operator who meets a statement that
            // needs plans for its values names the mode in the URL's options or in
            // PGOPTIONS, which this then leaves alone (a session option would override a
            // role's or database's own).
            let named = opts
                .get_options()
                .is_some_and(|given| given.contains("plan_cache_mode"));
            if named {
                opts
            } else {
                opts.options([("plan_cache_mode", "force_generic_plan")])
            }
        })
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        })
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| Box::pin(sqlite_planner::stabilise(conn)))
        });
    options
}

/// Counts each statement a pool runs into `statements`, and traces it.
fn count_statements(conn: &mut DatabaseConnection, statements: &Arc<AtomicU64>) {
    let counter = statements.clone();
    conn.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        // The statement with its values inlined: the benchmark replays these against
        // the database alone. Trace level only, and never on in production logs,
        // since values may include reporters' names.
        tracing::trace!(target: "posko::sql", elapsed_us = info.elapsed.as_micros() as u64, "{}", info.statement);
    });
}

/// An in-memory SQLite database cannot be opened twice: one pool serves it all.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The PostgreSQL advisory lock key that serialises migrations and seeding across
/// instances (an arbitrary constant: "posko" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0070_6f73_6b6f;

impl Database {
    /// Connects with settings tuned per backend: WAL, a busy timeout and foreign keys for a
    /// SQLite file; a bounded pool for PostgreSQL.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::connect_with(url, max_connections, Duration::from_secs(10)).await
    }

    /// `connect`, with the longest wait for a pooled connection: past it a statement fails
    /// with a connection error instead of queueing behind an unreachable database.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let options = connect_options(url, max_connections, acquire_timeout);
        let mut conn = sea_orm::Database::connect(options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
        let statements = Arc::new(AtomicU64::new(0));
        count_statements(&mut conn, &statements);
        let writer = if conn.get_database_backend() == DatabaseBackend::Sqlite && !is_in_memory(url)
        {
            let mut writer = sea_orm::Database::connect(connect_options(url, 1, acquire_timeout))
                .await
                .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
            count_statements(&mut writer, &statements);
            writer
        } else {
            conn.clone()
        };
        Ok(Self {
            conn,
            writer,
            statements,
            url: url.into(),
            acquire_timeout,
            worker_pools: Arc::default(),
        })
    }

    /// A pool of the same database and settings for one HTTP worker (`worker_pool`), with
    /// the same statement counter: on PostgreSQL a new pool whose connections open on
    /// first use, on the calling thread's runtime, and the id to `forget_worker_pool` it
    /// by; `None` elsewhere (SQLite shares one).
    fn for_one_worker(&self, max_connections: u32) -> Option<(Self, u64)> {
        if self.backend() != DatabaseBackend::Postgres {
            return None;
        }
        let mut options = connect_options(&self.url, max_connections, self.acquire_timeout);
        options.connect_lazy(true).min_connections(0);
        // A lazy pool makes no connection, so the future is ready at its first poll; were
        // it ever not, the worker would use the shared pool, slower but correct.
        let mut conn = match sea_orm::Database::connect(options).now_or_never() {
            Some(Ok(conn)) => conn,
            Some(Err(err)) => {
                tracing::warn!(error = %err, "no pool of its own for a worker; it uses the shared one");
                return None;
            }
            None => return None,
        };
        count_statements(&mut conn, &self.statements);
        let mut list = self.worker_pools.lock().ok()?;
        let id = list.next_id;
        list.next_id += 1;
        list.pools.push((id, conn.clone()));
        drop(list);
        let own = Self {
            writer: conn.clone(),
            conn,
            statements: self.statements.clone(),
            url: self.url.clone(),
            acquire_timeout: self.acquire_timeout,
            worker_pools: self.worker_pools.clone(),
        };
        Some((own, id))
    }

    /// Lets a worker's pool go (its thread ended): dropping the last handle closes its
    /// idle connections, whose reaper ran on the worker's runtime and is gone with it.
    fn forget_worker_pool(&self, id: u64) {
        if let Ok(mut list) = self.worker_pools.lock() {
            list.pools.retain(|(pool_id, _)| *pool_id != id);
        }
    }

    /// Whether this is `other` or a worker's pool derived from it.
    fn derives_from(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.worker_pools, &other.worker_pools)
    }

    /// The open connections of each HTTP worker's own pool (for the tests).
    pub fn worker_pool_sizes(&self) -> Vec<u32> {
        self.worker_pools
            .lock()
            .map(|list| {
                list.pools
                    .iter()
                    .map(|(_, pool)| pool_use(pool).0)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The connection a request's writes (reports, workflow, directory, access log) use.
    /// SQLite lets one connection write at a time: pooled connections that each begin a
    /// write wait for one another in SQLite's busy handler, which sleeps in steps of up
    /// to 100 ms (session 5 measured a 0.5 s p99 for writes at 32 clients). On SQLite this
    /// is one connection of its own, so writers queue in the pool, first come first
    /// served, and readers keep the other connections. PostgreSQL locks rows, not the
    /// database: there it is the main pool.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// Applies every pending migration, one instance at a time.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.exclusively(|| async {
            Migrator::up(&self.conn, None)
                .await
                .context("cannot migrate the database")
        })
        .await
    }

    /// Applies pending migrations and then `then` (the reference seed), with no other
    /// instance migrating or seeding in between.
    pub async fn migrate_then<T, F, Fut>(&self, then: F) -> anyhow::Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        self.exclusively(|| async {
            Migrator::up(&self.conn, None)
                .await
                .context("cannot migrate the database")?;
            then().await
        })
        .await
    }

    /// Runs `work` while holding PostgreSQL's advisory lock on a connection of its own,
    /// outside the pool (so a pool of one connection cannot deadlock). Instances started
    /// together would otherwise create the same tables at once, and PostgreSQL's
    /// `CREATE … IF NOT EXISTS` is not safe against that (`pg_type_typname_nsp_index`).
    /// SQLite's own file locking serialises writers, so it needs none.
    async fn exclusively<T, F, Fut>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        use sea_orm::sqlx::{Connection as _, PgConnection};
        if self.backend() != DatabaseBackend::Postgres {
            return work().await;
        }
        let mut lock = PgConnection::connect(&self.url)
            .await
            .with_context(|| format!("cannot connect to {} to migrate", redact(&self.url)))?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut lock)
            .await
            .context("cannot take the migration lock")?;
        let result = work().await;
        // Closing the session releases the lock even if the unlock fails.
        let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut lock)
            .await;
        let _ = lock.close().await;
        result
    }

    /// A one-connection pool for background work that belongs to no request (the
    /// reference data's version checks): its statements are neither counted nor traced,
    /// so per-request statement counts and the benchmark's captured SQL stay exact. An
    /// in-memory SQLite database cannot be opened twice, so there the main pool serves.
    pub async fn background_connection(&self) -> anyhow::Result<DatabaseConnection> {
        if is_in_memory(&self.url) {
            return Ok(self.conn.clone());
        }
        sea_orm::Database::connect(connect_options(&self.url, 1, Duration::from_secs(10)))
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(&self.url)))
    }

    /// How many SQL statements this pool has run since it was opened.
    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Which SQL dialect the pool speaks.
    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// The (size, idle) connections of the shared pool and the workers' pools, for metrics.
    pub fn pool_use(&self) -> (u32, u32) {
        let mut total = pool_use(&self.conn);
        if let Ok(list) = self.worker_pools.lock() {
            for (_, pool) in &list.pools {
                let (size, idle) = pool_use(pool);
                total = (total.0.saturating_add(size), total.1.saturating_add(idle));
            }
        }
        total
    }

    /// Whether the database answers a trivial query within `within` (for `/readyz`,
    /// which must answer promptly while the database hangs).
    pub async fn ping(&self, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.conn.ping()).await,
            Ok(Ok(()))
        )
    }
}

/// One pool's (size, idle) connections.
fn pool_use(conn: &DatabaseConnection) -> (u32, u32) {
    let idle = |idle: usize| u32::try_from(idle).unwrap_or(u32::MAX);
    match conn.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
        DatabaseBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
        _ => (0, 0),
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
