//! Building the schema. The server and `posko schema` (and the drift test) share
//! `schema_builder`, so `schema.graphql` is exactly what the server serves.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{Schema, SchemaBuilder, ServerError, ValidationResult};

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

/// The served schema, once per process: the complexity ceiling, and no "did you mean …"
/// suggestions in production (they reveal the schema to whoever guesses). Depth and size
/// are the HTTP layer's cost check (`http::limits`), made before validation and with
/// introspection's own depth allowance.
pub fn build_schema(config: &crate::config::Config) -> PoskoSchema {
    let builder = schema_builder()
        .extension(ComplexityCeiling(config.max_complexity))
        .extension(ExplainFormats);
    match config.mode {
        crate::config::Mode::Production => builder.disable_suggestions().finish(),
        crate::config::Mode::Development => builder.finish(),
    }
}

/// The SDL as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// async-graphql's complexity score (a list counts as its page size times its children)
/// refused with our own code. The cost check before validation has already bounded the
/// document's size, so computing the score is cheap; the score catches what size alone
/// does not, such as large pages of large pages.
struct ComplexityCeiling(usize);

impl ExtensionFactory for ComplexityCeiling {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ComplexityCeiling(self.0))
    }
}

#[async_trait::async_trait]
impl Extension for ComplexityCeiling {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > self.0 {
            let mut error = ServerError::new(
                format!(
                    "the query's complexity is {}; at most {} is allowed",
                    result.complexity, self.0
                ),
                None,
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorCode::QueryTooComplex.as_str());
            return Err(vec![error]);
        }
        Ok(result)
    }
}

/// async-graphql refuses a scalar value that `is_valid` rejects with `Invalid value for
/// argument "input.occurredAt", expected type "DateTime"`: it names the argument but not
/// the format. This says what the scalar expects, with the code and `field` every
/// BAD_USER_INPUT carries.
struct ExplainFormats;

impl ExtensionFactory for ExplainFormats {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ExplainFormats)
    }
}

#[async_trait::async_trait]
impl Extension for ExplainFormats {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(explain_format).collect())
    }
}

fn explain_format(mut error: ServerError) -> ServerError {
    let Some(rest) = error.message.strip_prefix("Invalid value for argument \"") else {
        return error;
    };
    let Some((argument, tail)) = rest.split_once('"') else {
        return error;
    };
    let Some((_, expected)) = crate::graphql::scalars::EXPECTED_FORMATS
        .iter()
        .find(|(scalar, _)| tail == format!(", expected type \"{scalar}\""))
    else {
        return error;
    };
    let argument = argument.to_owned();
    error.message = format!("Invalid value for argument \"{argument}\": expected {expected}");
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::BadUserInput.as_str());
    extensions.set("field", argument);
    error
}
