//! Keeps this instance's `ReferenceSnapshot` current on every instance. Database triggers
//! bump `reference_version` on any write to a reference table, whoever makes it; each
//! instance reads that one row every `POLL_INTERVAL` and reloads the whole snapshot when
//! it moved. A write through this instance reloads before it answers (`sync`), so a caller
//! always reads its own change.
//!
//! Why polling and not the dispute feed's LISTEN/NOTIFY: a poll of one row works the same
//! on both backends and across processes over one SQLite file, cannot miss a change while
//! a notification connection is down, and costs one primary-key read four times a second
//! per instance.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, IsolationLevel, Statement,
    TransactionTrait,
};

use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::error::{AppError, AppResult};

/// How often each instance checks the version: a change anywhere is served everywhere
/// within this much (plus one reload, a few milliseconds).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

type Listener = Box<dyn Fn() + Send + Sync>;

/// The current snapshot and what keeps it current.
pub struct ReferenceCache {
    db: DatabaseConnection,
    current: RwLock<Arc<ReferenceSnapshot>>,
    /// One reload at a time; a caller that waited finds the work done.
    reloading: tokio::sync::Mutex<()>,
    /// Told after each reload (caches derived from reference data, e.g. jurisdictions).
    listeners: RwLock<Vec<Listener>>,
}

impl ReferenceCache {
    /// Reads the snapshot once; fails when the database cannot be read.
    pub async fn load(db: &DatabaseConnection) -> AppResult<Arc<Self>> {
        let snapshot = read_snapshot(db).await?;
        Ok(Arc::new(Self {
            db: db.clone(),
            current: RwLock::new(Arc::new(snapshot)),
            reloading: tokio::sync::Mutex::new(()),
            listeners: RwLock::new(Vec::new()),
        }))
    }

    /// The snapshot to answer from. A request takes it once, so it reads one version.
    pub fn current(&self) -> Arc<ReferenceSnapshot> {
        match self.current.read() {
            Ok(current) => current.clone(),
            // A panic while swapping cannot leave a half-written Arc; serve what is there.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Runs `listener` after every reload.
    pub fn on_reload(&self, listener: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut listeners) = self.listeners.write() {
            listeners.push(Box::new(listener));
        }
    }

    /// Reloads now if the database holds a newer version; whether it did.
    pub async fn sync(&self) -> AppResult<bool> {
        let _one_at_a_time = self.reloading.lock().await;
        let version = read_version(&self.db).await?;
        if version == self.current().version {
            return Ok(false);
        }
        let snapshot = read_snapshot(&self.db).await?;
        tracing::info!(
            from = self.current().version,
            to = snapshot.version,
            "reference data reloaded"
        );
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(snapshot),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(snapshot),
        }
        if let Ok(listeners) = self.listeners.read() {
            for listener in listeners.iter() {
                listener();
            }
        }
        Ok(true)
    }

    /// Checks the version every `POLL_INTERVAL` for as long as the cache lives. A failed
    /// check is logged once per outage; the last snapshot keeps being served meanwhile.
    pub fn watch(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut failing = false;
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(cache) = cache.upgrade() else {
                    return;
                };
                match cache.sync().await {
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("reference data checks work again");
                    }
                    Ok(_) => {}
                    Err(err) if !failing => {
                        failing = true;
                        tracing::warn!(error = %err, "cannot check the reference data's version; serving the last copy");
                    }
                    Err(_) => {}
                }
            }
        })
    }
}

async fn read_version<C: ConnectionTrait>(db: &C) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT version FROM reference_version WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("reference_version has no row")))?;
    Ok(row.try_get::<i64>("", "version")?)
}

/// The version, then every table, in one read-only transaction (repeatable read on
/// PostgreSQL; SQLite's read transaction is a snapshot by itself).
async fn read_snapshot(db: &DatabaseConnection) -> AppResult<ReferenceSnapshot> {
    let isolation = (db.get_database_backend() == DatabaseBackend::Postgres)
        .then_some(IsolationLevel::RepeatableRead);
    let txn = db.begin_with_config(isolation, None).await?;
    let version = read_version(&txn).await?;
    let snapshot = ReferenceSnapshot::read(&txn, version).await?;
    txn.commit().await?;
    Ok(snapshot)
}
