//! Typed access to what a request carries, so resolvers never `unwrap` context data.

use async_graphql::Context;

use crate::auth::viewer::Viewer;
use crate::db::Database;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;

/// Everything a resolver may need, built once per request by the HTTP layer.
pub struct RequestContext {
    pub db: Database,
    pub viewer: Viewer,
    pub loaders: Loaders,
    pub request_id: String,
}

impl RequestContext {
    /// A context for one request.
    pub fn new(db: Database, viewer: Viewer, request_id: String) -> Self {
        let loaders = Loaders::new(&db.conn);
        Self {
            db,
            viewer,
            loaders,
            request_id,
        }
    }
}

/// `ctx.request()` in resolvers.
pub trait ContextExt {
    fn request(&self) -> Result<&RequestContext, async_graphql::Error>;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> Result<&RequestContext, async_graphql::Error> {
        self.data::<RequestContext>().map_err(|_| {
            async_graphql::ErrorExtensions::extend(&AppError::Internal(anyhow::anyhow!(
                "request context missing"
            )))
        })
    }
}
