//! Drills: the service under faults a unit of code cannot stage — kill -9 under write
//! load, PostgreSQL restarted under load, two instances on one database, 32 concurrent
//! writers, the bad-input corpus, and idle or trickling connections. Each is bounded in
//! count and time, uses 127.0.0.1 only, asserts, and prints a `drill <name>: …` line of
//! figures (BENCHMARKS.md, "Drills").
//!
//! SQLite:      cargo test --test drills -- --test-threads=1
//! PostgreSQL:  POSKO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --test drills -- --test-threads=1
//! The PostgreSQL restart drill runs only with POSKO_DRILL_PG_RESTART=1 (it stops and
//! starts a cluster of its own); `.ci/run` sets it.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a panic in a drill is a failed drill with its message"
)]

// The API tests' support: spawn_app, tokens, databases per test.
#[path = "../api/support/mod.rs"]
#[allow(dead_code, reason = "the drills use part of the API tests' support")]
mod support;

mod harness;

mod bad_input;
mod connections;
mod instances;
mod kill9;
mod pg_restart;
mod writers;
