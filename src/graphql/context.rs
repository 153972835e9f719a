//! Typed access to what a request carries, so resolvers never `unwrap` context data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::Context;

use crate::auth::policy;
use crate::auth::viewer::{Authenticator, Viewer};
use crate::db::Database;
use crate::domain::audit::SensitiveRead;
use crate::domain::changes::ChangeFeed;
use crate::domain::disputes::{self, DisputeFilter, StatsDimension};
use crate::domain::projection::ReadLog;
use crate::domain::reference_cache::ReferenceCache;
use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;

/// The total of counts by status (a dispute has exactly one status).
fn total_of(by_status: &[(String, i64)]) -> u64 {
    by_status
        .iter()
        .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
        .sum()
}

/// The k of PUBLIC statistics when none is configured.
pub const DEFAULT_PUBLIC_STATS_K: u64 = 5;

/// Everything a resolver may need, built once per request by the HTTP layer.
pub struct RequestContext {
    /// Private: reaching the database goes through `db()`, which marks the answer as
    /// depending on more than reference data (see `read_only_reference_data`).
    db: Database,
    touched_database: std::sync::atomic::AtomicBool,
    pub viewer: Viewer,
    /// Made on first use: a subscription holds its context for hours, most of them idle.
    loaders: std::sync::OnceLock<Loaders>,
    pub request_id: String,
    /// Private like `db`: the authenticator reads agencies from the database, so reaching
    /// it goes through `auth()`, which marks the answer too.
    auth: std::sync::Arc<Authenticator>,
    /// The reference data in memory; a directory change syncs it before answering.
    reference: Arc<ReferenceCache>,
    /// Sensitive reads made while resolving; the HTTP layer writes them to the access log
    /// before the answer leaves (no answer without its audit row).
    reads: Mutex<Vec<SensitiveRead>>,
    /// Statistics computed in this request, so `disputeStats { total byStatus }` and
    /// `disputes { totalCount }` over one filter cost one query.
    stats: Mutex<HashMap<String, Arc<StatsCell>>>,
    /// The k of PUBLIC statistics.
    public_stats_k: u64,
    /// The instance's feed of committed changes, for subscriptions.
    changes: Option<Arc<ChangeFeed>>,
}

type StatsCell = tokio::sync::OnceCell<Vec<(String, i64)>>;

impl RequestContext {
    /// A context for one request.
    pub fn new(
        db: Database,
        viewer: Viewer,
        request_id: String,
        auth: std::sync::Arc<Authenticator>,
        reference: Arc<ReferenceCache>,
    ) -> Self {
        Self {
            db,
            touched_database: std::sync::atomic::AtomicBool::new(false),
            viewer,
            loaders: std::sync::OnceLock::new(),
            request_id,
            auth,
            reference,
            reads: Mutex::new(Vec::new()),
            stats: Mutex::new(HashMap::new()),
            public_stats_k: DEFAULT_PUBLIC_STATS_K,
            changes: None,
        }
    }

    /// `disputes::stats` for the caller, computed once per request for each filter and
    /// dimension.
    pub async fn stats(
        &self,
        filter: &DisputeFilter,
        dimension: StatsDimension,
    ) -> Result<Vec<(String, i64)>, AppError> {
        let key = format!("{dimension:?} {filter:?}");
        let cell = self
            .stats
            .lock()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("statistics memo poisoned")))?
            .entry(key)
            .or_default()
            .clone();
        let counts = cell
            .get_or_try_init(|| disputes::stats(&self.db().conn, &self.viewer, filter, dimension))
            .await?;
        Ok(counts.clone())
    }

    /// The total for a filter: the sum of its status counts (a dispute has exactly one
    /// status), so it shares `stats`'s query.
    pub async fn stats_total(&self, filter: &DisputeFilter) -> Result<u64, AppError> {
        Ok(total_of(&self.stats(filter, StatsDimension::Status).await?))
    }

    /// The same answer as PUBLIC statistics would give: counts rounded for k-anonymity
    /// where the policy says so.
    pub async fn published_stats(
        &self,
        filter: &DisputeFilter,
        dimension: StatsDimension,
    ) -> Result<Vec<(String, i64)>, AppError> {
        let counts = self.stats(filter, dimension).await?;
        Ok(policy::publish_counts(
            &self.viewer,
            counts,
            self.public_stats_k,
        ))
    }

    /// `stats_total` as the viewer may see it (rounded for PUBLIC, from the exact sum).
    pub async fn published_total(&self, filter: &DisputeFilter) -> Result<u64, AppError> {
        let total = self.stats_total(filter).await?;
        Ok(policy::publish_count(
            &self.viewer,
            total,
            self.public_stats_k,
        ))
    }

    /// Whether any sensitive read has been noted (and not yet taken for the access log).
    pub fn has_reads(&self) -> bool {
        self.reads.lock().map_or(true, |reads| !reads.is_empty())
    }

    /// The reads noted so far, emptied.
    pub fn take_reads(&self) -> Vec<SensitiveRead> {
        self.reads
            .lock()
            .map(|mut reads| std::mem::take(&mut *reads))
            .unwrap_or_default()
    }

    /// The database, for whatever is not reference data.
    pub fn db(&self) -> &Database {
        self.touches_database();
        &self.db
    }

    /// Marks the answer as depending on more than the reference data and the viewer.
    fn touches_database(&self) {
        self.touched_database
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The authenticator, for connections that re-read their caller's agency.
    pub fn auth(&self) -> &Authenticator {
        self.touches_database();
        &self.auth
    }

    /// Whether everything this operation read so far came from the reference data in
    /// memory: its answer then depends on nothing but the document, its variables, the
    /// viewer and the reference data's version.
    pub fn read_only_reference_data(&self) -> bool {
        !self
            .touched_database
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The reference data as this instance holds it now.
    pub fn reference(&self) -> Arc<ReferenceSnapshot> {
        self.reference.current()
    }

    /// After a write to reference data: serve it (and the jurisdictions derived from it)
    /// on this instance before answering, so the caller reads its own change. Other
    /// instances follow within `reference_cache::POLL_INTERVAL`. The write has committed,
    /// so a failed reload is logged, not returned; the next poll retries it.
    pub async fn reference_changed(&self) {
        self.touches_database();
        if let Err(err) = self.reference.sync().await {
            tracing::warn!(error = %err, "reference data not reloaded after a directory change");
        }
    }

    /// The request's DataLoaders.
    pub fn loaders(&self) -> &Loaders {
        self.loaders.get_or_init(|| Loaders::new(&self.db().conn))
    }

    /// Gives subscriptions the instance's feed of changes.
    pub fn with_changes(mut self, feed: Arc<ChangeFeed>) -> Self {
        self.changes = Some(feed);
        self
    }

    /// The feed of changes (set for every request the server builds).
    pub fn changes(&self) -> Result<&Arc<ChangeFeed>, AppError> {
        self.changes
            .as_ref()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no change feed in this context")))
    }

    /// Statistics computed now, bypassing this context's memo: a subscription lives long
    /// and must see what changed since its last push.
    pub async fn published_stats_now(
        &self,
        filter: &DisputeFilter,
        dimension: StatsDimension,
    ) -> Result<Vec<(String, i64)>, AppError> {
        let counts = disputes::stats(&self.db().conn, &self.viewer, filter, dimension).await?;
        Ok(policy::publish_counts(
            &self.viewer,
            counts,
            self.public_stats_k,
        ))
    }

    /// `published_total` computed now (see `published_stats_now`).
    pub async fn published_total_now(&self, filter: &DisputeFilter) -> Result<u64, AppError> {
        let total = total_of(
            &disputes::stats(
                &self.db().conn,
                &self.viewer,
                filter,
                StatsDimension::Status,
            )
            .await?,
        );
        Ok(policy::publish_count(
            &self.viewer,
            total,
            self.public_stats_k,
        ))
    }

    /// The k of PUBLIC statistics (`policy::publish_count`).
    pub fn public_stats_k(&self) -> u64 {
        self.public_stats_k
    }

    /// Sets the k of PUBLIC statistics (`policy::publish_counts`).
    pub fn with_public_stats_k(mut self, k: u64) -> Self {
        self.public_stats_k = k;
        self
    }
}

impl ReadLog for RequestContext {
    /// Notes a sensitive read for the access log, once per dispute and field. Fails
    /// closed: if the read cannot be noted, the value is not returned.
    fn record(&self, read: SensitiveRead) -> Result<(), AppError> {
        self.reads
            .lock()
            .map(|mut reads| {
                if !reads.contains(&read) {
                    reads.push(read);
                }
            })
            .map_err(|_| AppError::Internal(anyhow::anyhow!("access log buffer poisoned")))
    }
}

/// `ctx.request()` in resolvers.
pub trait ContextExt {
    fn request(&self) -> Result<&RequestContext, async_graphql::Error>;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> Result<&RequestContext, async_graphql::Error> {
        self.data::<std::sync::Arc<RequestContext>>()
            .map(|rc| rc.as_ref())
            .map_err(|_| {
                async_graphql::ErrorExtensions::extend(&AppError::Internal(anyhow::anyhow!(
                    "request context missing"
                )))
            })
    }
}
