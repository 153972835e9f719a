//! The one way tests start Posko: `spawn_app()`.

pub mod db;
pub mod fixtures;
pub mod hostile;
pub mod process;
pub mod tokens;

use std::sync::Once;

use clap::Parser;
use posko::cli::Cli;
use posko::db::Database;
use posko::http::server::Application;
use serde_json::{Value, json};

pub use db::TestDb;

/// The HS256 secret the test server is configured with.
pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!!";

/// A running server and what tests need to talk to it.
pub struct TestApp {
    pub base_url: String,
    pub db: Database,
    pub client: reqwest::Client,
    _test_db: TestDb,
}

/// One GraphQL answer: its HTTP status and JSON body.
#[derive(Debug)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
    pub www_authenticate: Option<String>,
}

impl Gql {
    /// The value at a dotted path under `data`, e.g. `"dispute.reporter.name"`; list
    /// items by index (`"provinces.0.code"`).
    pub fn data(&self, path: &str) -> &Value {
        let mut value = &self.body["data"];
        for part in path.split('.').filter(|p| !p.is_empty()) {
            value = match part.parse::<usize>() {
                Ok(index) => &value[index],
                Err(_) => &value[part],
            };
        }
        value
    }

    /// The `extensions.code` of every error.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `extensions.code` of the error at a response path such as
    /// `"dispute.reporter"` (list indices included), if any.
    pub fn error_at(&self, path: &str) -> Option<String> {
        let wanted: Vec<Value> = path
            .split('.')
            .map(|p| p.parse::<u64>().map_or_else(|_| json!(p), |i| json!(i)))
            .collect();
        self.body["errors"].as_array()?.iter().find_map(|e| {
            (e["path"].as_array() == Some(&wanted))
                .then(|| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
        })
    }

    /// Panics with the body when the answer carries errors.
    pub fn expect_ok(&self) -> &Self {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {:#}",
            self.body
        );
        self
    }
}

fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // TEST_LOG=1 shows the server's info logs; TEST_LOG=<filter> any other filter,
        // e.g. TEST_LOG=posko::sql=trace for every SQL statement.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let filter = if filter == "1" {
                "info".to_owned()
            } else {
                filter
            };
            // Kept for the whole test process (never dropped: the tests' runtime outlives it).
            std::mem::forget(
                posko::telemetry::init(&filter, posko::config::Mode::Development)
                    .expect("the test log filter parses"),
            );
        }
    });
}

/// Builds the config a test server runs with, over the given database URL.
pub fn test_cli(database_url: &str) -> Cli {
    test_cli_with(database_url, &[])
}

/// The test config plus extra `--flag value` arguments.
pub fn test_cli_with(database_url: &str, extra: &[&str]) -> Cli {
    let defaults = [
        ("--database-url", database_url),
        ("--listen", "127.0.0.1:0"),
        ("--workers", "1"),
        ("--db-max-connections", "5"),
        ("--jwt-secret", TEST_SECRET),
    ];
    // A flag the test gives itself replaces the default (clap refuses one given twice).
    let base = defaults
        .into_iter()
        .filter(|(flag, _)| !extra.contains(flag))
        .flat_map(|(flag, value)| [flag, value]);
    Cli::try_parse_from(
        std::iter::once("posko")
            .chain(base)
            .chain(extra.iter().copied()),
    )
    .expect("test configuration parses")
}

/// Starts a migrated, seeded server on its own database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra configuration flags.
/// A second instance over the same database as `app` (PostgreSQL: how Posko scales out).
pub async fn spawn_instance_beside(app: &TestApp, extra: &[&str]) -> TestApp {
    init_tracing();
    let cli = test_cli_with(app._test_db.url(), extra);
    let instance = Application::build(&cli.config)
        .await
        .expect("the second instance builds");
    let base_url = format!("http://{}", instance.local_addr());
    let db = instance.database();
    tokio::spawn(instance.run_until_stopped());
    TestApp {
        base_url,
        db,
        client: reqwest::Client::new(),
        _test_db: TestDb::borrowed(app._test_db.url()),
    }
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    init_tracing();
    let test_db = TestDb::new().await;
    let cli = test_cli_with(test_db.url(), extra);
    let app = Application::build(&cli.config)
        .await
        .expect("the app builds");
    let base_url = format!("http://{}", app.local_addr());
    let db = app.database();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base_url,
        db,
        client: reqwest::Client::new(),
        _test_db: test_db,
    }
}

impl TestApp {
    /// POSTs a GraphQL document with variables, optionally with a bearer token.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let header = token.map(|t| format!("Bearer {t}"));
        self.gql_with_header(header.as_deref(), query, variables)
            .await
    }

    /// POSTs a GraphQL document with a raw `Authorization` header value.
    pub async fn gql_with_header(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Gql {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = response.json().await.expect("a JSON body");
        Gql {
            status,
            body,
            www_authenticate,
        }
    }

    /// POSTs a GraphQL document as `PUBLIC`.
    pub async fn gql(&self, query: &str) -> Gql {
        self.gql_as(None, query, json!({})).await
    }

    /// Runs a document and returns how many SQL statements the server issued for it.
    pub async fn statements_for(&self, query: &str) -> (u64, Gql) {
        self.statements_for_as(None, query).await
    }

    /// Runs a document with a token and returns how many SQL statements the server issued.
    pub async fn statements_for_as(&self, token: Option<&str>, query: &str) -> (u64, Gql) {
        let before = self.db.statements_run();
        let answer = self.gql_as(token, query, json!({})).await;
        (self.db.statements_run() - before, answer)
    }

    /// GETs a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base_url, path))
            .send()
            .await
            .expect("the server answers")
    }
}
