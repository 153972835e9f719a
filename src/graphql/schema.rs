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
    let builder = schema_builder().extension(ComplexityCeiling(config.max_complexity));
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
