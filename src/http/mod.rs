//! The HTTP surface: routes, the GraphQL endpoint, health and readiness.

pub mod graphql;
pub mod health;
pub mod server;
