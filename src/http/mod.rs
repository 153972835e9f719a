//! The HTTP surface: routes, the GraphQL endpoint, health and readiness.

pub mod fanout;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod persisted;
pub mod rate_limit;
pub mod request_meta;
pub mod server;
pub mod socket;
pub mod text;
pub mod ws;
