//! Posko: the GraphQL API of the coordination posts that Indonesian provinces run during
//! regional elections. Reading the module list below tours the codebase; dependencies run
//! one way: `http → graphql → domain → db/entity`.

/// Who is calling and what they may see or do.
pub mod auth;
/// The command line (`serve`, `migrate`, `schema`, `seed-demo`, `token`).
pub mod cli;
/// `POSKO_*` configuration, validated at start.
pub mod config;
/// Connection, migrations, reference seed and demo data.
pub mod db;
/// What Posko does, independent of GraphQL and HTTP.
pub mod domain;
/// The one error type and its stable codes.
pub mod error;
/// Schema, resolvers, DataLoaders.
pub mod graphql;
/// Routes, the GraphQL endpoint, health.
pub mod http;
/// Log output.
pub mod telemetry;
