//! The GraphQL layer: thin resolvers over `domain`, DataLoaders for relations.

pub mod context;
pub mod directory_mutation;
pub mod dispute_query;
pub mod hotspot_query;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod plain;
pub mod query;
pub mod scalars;
pub mod schema;
pub mod subscription;
pub mod types;
