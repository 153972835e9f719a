//! GraphQL output types. Each wraps an entity model and exposes chosen fields only, so a
//! new column never becomes an API field by accident.

pub mod agency;
pub mod dispute;
pub mod election;
pub mod hotspot;
pub mod region;
pub mod results;
pub mod viewer;

use crate::error::{AppError, AppResult};

/// Reads a stored vocabulary column, or fails as an internal error.
pub(crate) fn stored<T: std::str::FromStr>(
    column: &'static str,
    value: &str,
) -> async_graphql::Result<T> {
    crate::domain::types::parse_stored(column, value)
        .map_err(|err| async_graphql::ErrorExtensions::extend(&AppError::Internal(err.into())))
}

/// Converts a loader result into a GraphQL result.
pub(crate) fn loaded<T>(
    result: Result<T, crate::graphql::loaders::LoadError>,
) -> async_graphql::Result<T> {
    use crate::error::IntoGql;
    AppResult::from(result.map_err(AppError::from)).gql()
}
