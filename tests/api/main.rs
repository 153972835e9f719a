//! Posko's integration tests: one binary, a real server on a random port, real HTTP.
//!
//! SQLite (a temporary file per test):   cargo test
//! PostgreSQL (a database per test):     POSKO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test
//!
//! Set TEST_LOG=1 to see the server's logs.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a panic in test support is a test failure with its message"
)]

mod support;

mod configuration;
mod date_inputs;
mod demo_data;
mod directory;
mod dispute_lists;
mod graphiql_tokens;
mod held_stages;
mod hostile;
mod hotspots;
mod legal_chain;
mod members;
mod observability;
mod plain_lists;
mod policy_matrix;
mod protocol;
mod reference;
mod relay;
mod results;
mod schema_file;
mod service;
mod statistics;
mod subscriptions;
mod tokens;
mod trust;
mod visibility;
mod workflow;
