//! Building the schema. The server and `posko schema` (and the drift test) share
//! `schema_builder`, so `schema.graphql` is exactly what the server serves.

use async_graphql::{Schema, SchemaBuilder, ServerError};

use crate::error::ErrorCode;

use crate::graphql::mutation::Mutation;
use crate::graphql::query::Query;
use crate::graphql::subscription::Subscription;

/// Posko's GraphQL schema type.
pub type PoskoSchema = Schema<Query, Mutation, Subscription>;

/// Types only: no request data, no limits (they do not change the SDL).
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
}

/// The served schema, once per process: the complexity ceiling (async-graphql's score: a
/// list counts as its page size times its children; the cost check before validation has
/// bounded the document's size, so computing it is cheap), and no "did you mean …"
/// suggestions in production (they reveal the schema to whoever guesses). Depth and size
/// are the HTTP layer's cost check (`http::limits`), made before validation and with
/// introspection's own depth allowance.
pub fn build_schema(config: &crate::config::Config) -> PoskoSchema {
    let builder = schema_builder().limit_complexity(config.max_complexity);
    match config.mode {
        crate::config::Mode::Production => builder.disable_suggestions().finish(),
        crate::config::Mode::Development => builder.finish(),
    }
}

/// The SDL as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// The message async-graphql gives a document over the complexity ceiling.
const TOO_COMPLEX: &str = "Query is too complex.";

/// Our code (and a message that says what the score is) for an error of async-graphql's
/// own validation, or `None`: the complexity ceiling, and a scalar value that `is_valid`
/// rejects, which async-graphql reports as `Invalid value for argument "input.occurredAt",
/// expected type "DateTime"`, naming the argument but not the format.
///
/// These used to be validation extensions; any extension makes async-graphql run every
/// field of every answer through its extension chain (two boxed futures per field per
/// extension), which measured about 4 % of the server's CPU on a 50-dispute page. The
/// errors are rewritten after execution instead (`respond::classify`).
pub fn explain_validation_error(error: &mut ServerError) -> Option<ErrorCode> {
    if error.message == TOO_COMPLEX {
        error.message = "the query's complexity (a list counts as its page size times its \
                         children) is above the ceiling"
            .to_owned();
        return Some(ErrorCode::QueryTooComplex);
    }
    explain_format(error)
}

fn explain_format(error: &mut ServerError) -> Option<ErrorCode> {
    let rest = error
        .message
        .strip_prefix("Invalid value for argument \"")?;
    let (argument, tail) = rest.split_once('"')?;
    let (_, expected) = crate::graphql::scalars::EXPECTED_FORMATS
        .iter()
        .find(|(scalar, _)| tail == format!(", expected type \"{scalar}\""))?;
    let argument = argument.to_owned();
    error.message = format!("Invalid value for argument \"{argument}\": expected {expected}");
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::BadUserInput.as_str());
    extensions.set("field", argument);
    Some(ErrorCode::BadUserInput)
}
