//! Configuration from `POSKO_*` environment variables (or the matching `--flags`), parsed
//! with clap so every value is validated at start with a message naming the variable.
//! clap is used rather than a layered config crate because Posko reads one flat set of
//! variables and already needs clap for its subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::db::DEFAULT_DATABASE_URL;

/// Development generates conveniences (a local JWT secret, GraphiQL's role picker);
/// production refuses to start without real keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Development,
    Production,
}

/// Who may introspect the schema.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Introspection {
    Always,
    Authenticated,
    Never,
}

/// Every setting of the service. Each field names its variable and default.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "POSKO_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "POSKO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// `development` or `production`.
    #[arg(
        long = "env",
        env = "POSKO_ENV",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub mode: Mode,

    /// Most database connections for requests, divided among the HTTP workers (on
    /// PostgreSQL each worker has a pool of its own; see `db::worker_pool`).
    #[arg(long, env = "POSKO_DB_MAX_CONNECTIONS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// Longest wait for a database connection, in milliseconds: a request that cannot get
    /// one in time is answered `SERVICE_UNAVAILABLE` (503).
    #[arg(long, env = "POSKO_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub db_acquire_timeout_ms: u64,

    /// After SIGTERM or SIGINT, how long in-flight requests may take before the process
    /// exits anyway, in seconds.
    #[arg(long, env = "POSKO_SHUTDOWN_GRACE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "POSKO_WORKERS")]
    pub workers: Option<usize>,

    /// Load the bundled reference data at start (idempotent).
    #[arg(long = "seed-reference", env = "POSKO_SEED", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub seed_reference: bool,

    /// Log filter in `tracing` syntax, e.g. `info` or `posko=debug,sqlx=warn`.
    #[arg(long, env = "POSKO_LOG", default_value = "info", global = true)]
    pub log: String,

    /// HS256 secret for tokens (at least 32 bytes in production).
    #[arg(long, env = "POSKO_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// A PEM public key file of an identity provider (RS256, ES256 or EdDSA).
    #[arg(long, env = "POSKO_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<PathBuf>,

    /// The algorithm of `POSKO_JWT_PUBLIC_KEY`: `RS256`, `ES256` or `EdDSA`.
    #[arg(
        long,
        env = "POSKO_JWT_ALGORITHM",
        default_value = "RS256",
        global = true
    )]
    pub jwt_algorithm: String,

    /// A JWKS file (keys chosen by `kid`, each with its `alg`), for key rotation.
    #[arg(long, env = "POSKO_JWT_JWKS", global = true)]
    pub jwt_jwks: Option<PathBuf>,

    /// A JWKS URL (an identity provider's `jwks_uri`): fetched at start, refreshed every
    /// `POSKO_JWT_JWKS_REFRESH_SECS` and when a token names an unknown `kid`.
    #[arg(long, env = "POSKO_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,

    /// Seconds between periodic refreshes of the JWKS URL.
    #[arg(long, env = "POSKO_JWT_JWKS_REFRESH_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_jwks_refresh_secs: u64,

    /// Fewest seconds between two fetches of the JWKS URL, however many unknown `kid`s
    /// arrive.
    #[arg(long, env = "POSKO_JWT_JWKS_MIN_REFRESH_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub jwt_jwks_min_refresh_secs: u64,

    /// Required `iss` claim, when set.
    #[arg(long, env = "POSKO_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, when set.
    #[arg(long, env = "POSKO_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[arg(long, env = "POSKO_JWT_LEEWAY", default_value_t = 30, global = true)]
    pub jwt_leeway: u64,

    /// How long an agency's jurisdiction is reused before being read again (at most 30 s,
    /// so a directory change reaches every instance within that time; 0 disables reuse).
    #[arg(long, env = "POSKO_JURISDICTION_CACHE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=30))]
    pub jurisdiction_cache_secs: u64,

    /// Largest request body, in bytes (a larger one is answered 413).
    #[arg(long, env = "POSKO_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Longest time for a request body to arrive, in milliseconds (then 408).
    #[arg(long, env = "POSKO_BODY_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_ms: u64,

    /// Longest GraphQL document, in bytes.
    #[arg(long, env = "POSKO_MAX_DOCUMENT_BYTES", default_value_t = 32 * 1024)]
    pub max_document_bytes: usize,

    /// Deepest selection a document may have, counted through fragments.
    #[arg(long, env = "POSKO_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,

    /// Deepest selection under a root `__schema` or `__type` (the standard introspection
    /// query of client tools needs 15).
    #[arg(long, env = "POSKO_MAX_INTROSPECTION_DEPTH", default_value_t = 15)]
    pub max_introspection_depth: usize,

    /// Most fields in one document, with every fragment expanded where it is spread.
    #[arg(long, env = "POSKO_MAX_FIELDS", default_value_t = 2_000)]
    pub max_fields: usize,

    /// Most operations in one document.
    #[arg(long, env = "POSKO_MAX_OPERATIONS", default_value_t = 10)]
    pub max_operations: usize,

    /// Deepest nesting of lists and objects in one variable.
    #[arg(long, env = "POSKO_MAX_VARIABLE_DEPTH", default_value_t = 8)]
    pub max_variable_depth: usize,

    /// Most values in a request's variables (each list item and object entry counts).
    #[arg(long, env = "POSKO_MAX_VARIABLE_VALUES", default_value_t = 1_000)]
    pub max_variable_values: usize,

    /// Largest complexity score (a list counts as its page size times its children).
    #[arg(long, env = "POSKO_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub max_complexity: usize,

    /// Most aliases in one document.
    #[arg(long, env = "POSKO_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,

    /// Most root fields in one operation.
    #[arg(long, env = "POSKO_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: usize,

    /// Most directives in one document.
    #[arg(long, env = "POSKO_MAX_DIRECTIVES", default_value_t = 20)]
    pub max_directives: usize,

    /// Most operations in one batched request (a JSON array body); 1 turns batching off.
    #[arg(long, env = "POSKO_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Longest execution of one request, in milliseconds.
    #[arg(long, env = "POSKO_EXECUTION_TIMEOUT_MS", default_value_t = 10_000)]
    pub execution_timeout_ms: u64,

    /// Requests per minute allowed to one agency on this instance (0: no limit).
    #[arg(long, env = "POSKO_RATE_LIMIT_PER_MINUTE", default_value_t = 6_000)]
    pub rate_limit_per_minute: u32,

    /// Requests per minute allowed to one client address without a token, on this instance.
    #[arg(
        long,
        env = "POSKO_PUBLIC_RATE_LIMIT_PER_MINUTE",
        default_value_t = 600
    )]
    pub public_rate_limit_per_minute: u32,

    /// Origins allowed to call the API from a browser, comma-separated (none by default).
    #[arg(long, env = "POSKO_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Request headers a browser may send cross-origin (comma-separated): by default what
    /// frontends, tracing and Apollo's clients send.
    #[arg(
        long,
        env = "POSKO_CORS_ALLOWED_HEADERS",
        value_delimiter = ',',
        default_value = "authorization,content-type,accept,x-request-id,traceparent,tracestate,apollographql-client-name,apollographql-client-version"
    )]
    pub cors_allowed_headers: Vec<String>,

    /// Reverse proxies (CIDRs or addresses, comma-separated) whose `Forwarded` or
    /// `X-Forwarded-For` names the client, for rate limits and logs. None by default: the
    /// TCP peer is the client, and forwarding headers are ignored.
    #[arg(long, env = "POSKO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Introspection: `always`, `authenticated` or `never` (default: always in development,
    /// authenticated in production).
    #[arg(long, env = "POSKO_INTROSPECTION", value_enum)]
    pub introspection: Option<Introspection>,

    /// A JSON file of reviewed operations, `{ "<sha256 hex>": "<document>" }`.
    #[arg(long, env = "POSKO_PERSISTED_OPERATIONS")]
    pub persisted_operations: Option<PathBuf>,

    /// Roles that may run only the reviewed operations of that file, comma-separated.
    #[arg(long, env = "POSKO_ALLOWLIST_ROLES", value_delimiter = ',')]
    pub allowlist_roles: Vec<String>,

    /// Subscriptions one WebSocket connection may hold at once.
    #[arg(long, env = "POSKO_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub ws_max_subscriptions: usize,

    /// Subscriptions one agency may hold on this instance, over all its connections.
    #[arg(
        long,
        env = "POSKO_WS_MAX_AGENCY_SUBSCRIPTIONS",
        default_value_t = 2_000
    )]
    pub ws_max_agency_subscriptions: usize,

    /// WebSocket connections one client address may hold on this instance.
    #[arg(long, env = "POSKO_WS_MAX_CONNECTIONS_PER_IP", default_value_t = 200)]
    pub ws_max_connections_per_ip: usize,

    /// Messages queued for one socket; a consumer that falls this far behind is closed
    /// (4500) rather than allowed to grow the server's memory.
    #[arg(long, env = "POSKO_WS_QUEUE", default_value_t = 256)]
    pub ws_queue: usize,

    /// How long a new socket may take to send `connection_init` (then 4408).
    #[arg(long, env = "POSKO_WS_INIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub ws_init_timeout_ms: u64,

    /// PUBLIC statistics round every count down to a multiple of this k (k-anonymity).
    #[arg(long, env = "POSKO_PUBLIC_STATS_K", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub public_stats_k: u64,

    /// GraphiQL's "explore as a role" token helper (`/graphiql/token`): development only,
    /// and off unless set, since it mints tokens for any role, ADMIN included.
    #[arg(long, env = "POSKO_GRAPHIQL_TOKENS", default_value_t = false, action = clap::ArgAction::Set)]
    pub graphiql_tokens: bool,

    /// Where development mode keeps its generated secret (default: next to the SQLite
    /// file, or `posko.secret` in the working directory).
    #[arg(long, env = "POSKO_SECRET_FILE", global = true)]
    pub secret_file: Option<PathBuf>,
}

impl Config {
    /// The introspection rule in force.
    pub fn introspection(&self) -> Introspection {
        self.introspection.unwrap_or(match self.mode {
            Mode::Development => Introspection::Always,
            Mode::Production => Introspection::Authenticated,
        })
    }

    /// The SQLite file the URL names, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
    }
}
