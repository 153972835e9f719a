//! The one way tests start Posko: `spawn_app()`.

pub mod db;

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
        if std::env::var_os("TEST_LOG").is_some() {
            posko::telemetry::init("info", posko::config::Mode::Development);
        }
    });
}

/// Builds the config a test server runs with, over the given database URL.
pub fn test_cli(database_url: &str) -> Cli {
    Cli::try_parse_from([
        "posko",
        "--database-url",
        database_url,
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--db-max-connections",
        "5",
        "--jwt-secret",
        TEST_SECRET,
    ])
    .expect("test configuration parses")
}

/// Starts a migrated, seeded server on its own database.
pub async fn spawn_app() -> TestApp {
    init_tracing();
    let test_db = TestDb::new().await;
    let cli = test_cli(test_db.url());
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
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        Gql { status, body }
    }

    /// POSTs a GraphQL document as `PUBLIC`.
    pub async fn gql(&self, query: &str) -> Gql {
        self.gql_as(None, query, json!({})).await
    }

    /// Runs a document and returns how many SQL statements the server issued for it.
    pub async fn statements_for(&self, query: &str) -> (u64, Gql) {
        let before = self.db.statements_run();
        let answer = self.gql(query).await;
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
