//! Building the schema. The server and `posko schema` (and the drift test) share
//! `schema_builder`, so `schema.graphql` is exactly what the server serves.

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::graphql::mutation::Mutation;
use crate::graphql::query::Query;

/// Posko's GraphQL schema type.
pub type PoskoSchema = Schema<Query, Mutation, EmptySubscription>;

/// Types only: no request data, no limits (they do not change the SDL).
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The served schema, once per process: depth and complexity limits, and no "did you
/// mean …" suggestions in production (they reveal the schema to whoever guesses).
pub fn build_schema(config: &crate::config::Config) -> PoskoSchema {
    let builder = schema_builder()
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity);
    match config.mode {
        crate::config::Mode::Production => builder.disable_suggestions().finish(),
        crate::config::Mode::Development => builder.finish(),
    }
}

/// The SDL as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
