//! Building the schema. The server and `posko schema` (and the drift test) share
//! `schema_builder`, so `schema.graphql` is exactly what the server serves.

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::graphql::mutation::Mutation;
use crate::graphql::query::Query;

/// Posko's GraphQL schema type.
pub type PoskoSchema = Schema<Query, Mutation, EmptySubscription>;

/// Deepest selection a document may have; Posko's deepest useful query is about 8.
pub const MAX_DEPTH: usize = 12;
/// Largest complexity score a document may have.
pub const MAX_COMPLEXITY: usize = 5_000;

/// Types and limits, without request data.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema, once per process.
pub fn build_schema() -> PoskoSchema {
    schema_builder().finish()
}

/// The SDL as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl()
}
