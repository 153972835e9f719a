//! Committed changes of disputes, delivered to every instance for subscriptions. A change
//! carries only ids (the dispute's row id and the event's `seq`): each instance reads
//! what it needs and projects it per subscriber through the policy.
//!
//! On PostgreSQL the writing transaction sends `NOTIFY` itself, so a change is delivered to
//! every instance when, and only if, it commits (PostgreSQL holds notifications until
//! commit and drops them on rollback), with no broker beyond the database. Each instance
//! listens on one connection. On SQLite (one process) the writer hands the change to this
//! instance's feed after its commit.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::broadcast;

use crate::error::AppResult;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "posko_dispute";

/// How many changes a slow subscriber may fall behind before it is told to refetch.
const FEED_CAPACITY: usize = 4_096;

/// One committed change, or the news that some may have been missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Dispute `row` gained event `seq` (its version).
    Dispute { row: i32, seq: i32 },
    /// Changes may have been lost (the notification connection broke): refetch.
    Reset,
}

impl Change {
    fn payload(row: i32, seq: i32) -> String {
        format!("{row}:{seq}")
    }

    fn parse(payload: &str) -> Option<Self> {
        let (row, seq) = payload.split_once(':')?;
        Some(Self::Dispute {
            row: row.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// Announces a change from inside the transaction that makes it (PostgreSQL); a no-op on
/// SQLite, where `ChangeFeed::committed` delivers it after the commit.
pub async fn notify_in<C: ConnectionTrait>(txn: &C, row: i32, seq: i32) -> AppResult<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), Change::payload(row, seq).into()],
        ))
        .await?;
    }
    Ok(())
}

/// What one change looks like to every subscriber of one scope (role, agency and filter):
/// read once per instance, then projected (and its sensitive reads logged) for each
/// subscriber. `None` when that scope does not see the dispute.
pub struct ScopedChange {
    pub dispute: Option<crate::domain::visible::VisibleDispute>,
    pub escalations: Vec<entity::dispute_escalation::Model>,
    pub event: Option<entity::dispute_event::Model>,
}

/// This instance's feed of changes, which every subscription reads.
pub struct ChangeFeed {
    sender: broadcast::Sender<Change>,
    backend: DatabaseBackend,
    /// Each change read once per subscriber scope rather than once per subscriber; kept
    /// a few seconds, less than the jurisdiction cache, so a scope's answer is as fresh as
    /// a subscriber's own read would be.
    scoped: moka::future::Cache<String, Arc<ScopedChange>>,
}

impl ChangeFeed {
    /// A feed for this database; on PostgreSQL it starts listening for notifications.
    pub fn start(db: &DatabaseConnection) -> Arc<Self> {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        let feed = Arc::new(Self {
            sender,
            backend: db.get_database_backend(),
            scoped: moka::future::Cache::builder()
                .time_to_live(Duration::from_secs(5))
                .max_capacity(10_000)
                .build(),
        });
        if feed.backend == DatabaseBackend::Postgres {
            let pool = db.get_postgres_connection_pool().clone();
            tokio::spawn(listen(pool, feed.sender.clone()));
        }
        feed
    }

    /// A change as one scope sees it, read at most once per instance and scope (concurrent
    /// subscribers of the scope wait for the same read).
    pub async fn scoped<F>(
        &self,
        key: String,
        read: F,
    ) -> Result<Arc<ScopedChange>, crate::error::AppError>
    where
        F: std::future::Future<Output = Result<ScopedChange, crate::error::AppError>>,
    {
        self.scoped
            .try_get_with(key, async move { read.await.map(Arc::new) })
            .await
            .map_err(|err| match err.as_ref() {
                crate::error::AppError::ServiceUnavailable(cause) => {
                    crate::error::AppError::ServiceUnavailable(cause.clone())
                }
                other => crate::error::AppError::Internal(anyhow::anyhow!("{other}")),
            })
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    /// After a commit on this instance. SQLite delivers the change here; PostgreSQL has
    /// already sent it with the transaction and delivers it through the listener.
    pub fn committed(&self, row: i32, seq: i32) {
        if self.backend != DatabaseBackend::Postgres {
            // No receiver is not an error: nobody subscribes yet.
            let _ = self.sender.send(Change::Dispute { row, seq });
        }
    }
}

/// Listens for notifications for as long as the process runs. When the connection
/// breaks, subscribers are told to refetch (they may have missed changes) and the
/// listener reconnects.
async fn listen(pool: sea_orm::sqlx::PgPool, sender: broadcast::Sender<Change>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut connected = false;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "change feed: cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %err, "change feed: cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if connected {
            // Whatever was committed while the listener was away is unknown here.
            let _ = sender.send(Change::Reset);
        }
        connected = true;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(change) = Change::parse(notification.payload()) {
                        let _ = sender.send(change);
                    }
                }
                // The connection dropped and will be re-established: changes in between
                // are lost to this instance.
                Ok(None) => {
                    let _ = sender.send(Change::Reset);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "change feed: listener failed; reconnecting");
                    let _ = sender.send(Change::Reset);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn a_payload_names_a_dispute_and_an_event_and_nothing_else_parses() {
        assert_eq!(
            Change::parse(&Change::payload(12, 3)),
            Some(Change::Dispute { row: 12, seq: 3 })
        );
        assert_eq!(Change::parse("12"), None);
        assert_eq!(Change::parse("x:3"), None);
    }
}
