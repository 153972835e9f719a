//! DataLoaders: every relation is fetched with one `IN (…)` query per request and level,
//! so the number of SQL statements a request runs does not grow with the rows it returns.
//! A fresh set is made per request: nothing cached outlives the request that read it.
//! Reference data (regions, elections, stages, agencies, poskos) needs none: it is served
//! from memory (`domain::reference_snapshot`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    dispute_assignment, dispute_escalation, dispute_event, dispute_party, region_result,
    region_result_votes,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Value,
};

use crate::domain::visible::DisputeId;
use crate::error::AppError;

/// A database failure shared by every key of the failed batch.
#[derive(Clone, Debug)]
pub struct LoadError(pub Arc<DbErr>);

impl From<LoadError> for AppError {
    fn from(err: LoadError) -> Self {
        AppError::Internal(anyhow::anyhow!("batched load failed: {}", err.0))
    }
}

/// All rows of `E` whose `column` is one of the keys, grouped by that column.
pub struct ManyBy<E: EntityTrait, K> {
    db: DatabaseConnection,
    column: E::Column,
    order: E::Column,
    key: fn(&E::Model) -> K,
}

impl<E, K> Loader<K> for ManyBy<E, K>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    K: Into<Value> + Clone + Hash + Eq + Send + Sync + 'static,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let rows = E::find()
            .filter(self.column.is_in(keys.iter().cloned()))
            .order_by_asc(self.order)
            .all(&self.db)
            .await
            .map_err(|err| LoadError(Arc::new(err)))?;
        let mut grouped: HashMap<K, Vec<E::Model>> = HashMap::with_capacity(keys.len());
        for row in rows {
            grouped.entry((self.key)(&row)).or_default().push(row);
        }
        Ok(grouped)
    }
}

fn many<E: EntityTrait, K>(
    db: &DatabaseConnection,
    column: E::Column,
    order: E::Column,
    key: fn(&E::Model) -> K,
) -> DataLoader<ManyBy<E, K>>
where
    ManyBy<E, K>: Loader<K>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    DataLoader::new(
        ManyBy {
            db: db.clone(),
            column,
            order,
            key,
        },
        tokio::spawn,
    )
}

/// All rows of a dispute's child table (timeline, escalations, assignments, parties) for
/// disputes the viewer sees: keyed by `DisputeId`, which only a `VisibleDispute` hands
/// out, so these loaders cannot be pointed at a dispute outside the viewer's scope.
pub struct ChildrenOf<E: EntityTrait> {
    db: DatabaseConnection,
    column: E::Column,
    order: E::Column,
    parent: fn(&E::Model) -> i32,
}

impl<E> Loader<DisputeId> for ChildrenOf<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DisputeId],
    ) -> Result<HashMap<DisputeId, Self::Value>, Self::Error> {
        let by_row: HashMap<i32, DisputeId> = keys.iter().map(|k| (k.raw(), *k)).collect();
        let rows = E::find()
            .filter(self.column.is_in(by_row.keys().copied()))
            .order_by_asc(self.order)
            .all(&self.db)
            .await
            .map_err(|err| LoadError(Arc::new(err)))?;
        let mut grouped: HashMap<DisputeId, Vec<E::Model>> = HashMap::with_capacity(keys.len());
        for row in rows {
            if let Some(key) = by_row.get(&(self.parent)(&row)) {
                grouped.entry(*key).or_default().push(row);
            }
        }
        Ok(grouped)
    }
}

fn children<E: EntityTrait>(
    db: &DatabaseConnection,
    column: E::Column,
    order: E::Column,
    parent: fn(&E::Model) -> i32,
) -> DataLoader<ChildrenOf<E>>
where
    E::Model: Send + Sync + Clone,
{
    DataLoader::new(
        ChildrenOf {
            db: db.clone(),
            column,
            order,
            parent,
        },
        tokio::spawn,
    )
}

/// The newest `window` events of each dispute (the viewer sees the dispute: keyed by
/// `DisputeId`), oldest first: what `events(last:)` reads first, so that a dispute with a
/// long mediation history is not loaded whole to show its last few events. Which of them
/// the viewer may see is still decided by the policy, in Rust (`projection::timeline`).
/// One statement per request and window, whatever the number of disputes.
pub struct RecentEvents {
    db: DatabaseConnection,
}

impl Loader<(DisputeId, u32)> for RecentEvents {
    type Value = Vec<dispute_event::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(DisputeId, u32)],
    ) -> Result<HashMap<(DisputeId, u32), Self::Value>, Self::Error> {
        use sea_orm::FromQueryResult;
        use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query};
        let mut windows: HashMap<u32, HashMap<i32, DisputeId>> = HashMap::new();
        for (id, window) in keys {
            windows.entry(*window).or_default().insert(id.raw(), *id);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (window, by_row) in windows {
            if let [(row, id)] = by_row.iter().collect::<Vec<_>>().as_slice() {
                // One dispute (a dispute's own page): the index on (dispute_id, seq) hands
                // over the newest rows and stops, where ranking would read them all.
                let mut rows = dispute_event::Entity::find()
                    .filter(dispute_event::Column::DisputeId.eq(**row))
                    .order_by_desc(dispute_event::Column::Seq)
                    .limit(u64::from(window))
                    .all(&self.db)
                    .await
                    .map_err(|err| LoadError(Arc::new(err)))?;
                rows.reverse();
                found.insert((**id, window), rows);
                continue;
            }
            let recency = Alias::new("recency");
            let ranked = Query::select()
                .column(Asterisk)
                .expr_as(
                    Expr::cust("ROW_NUMBER() OVER (PARTITION BY dispute_id ORDER BY seq DESC)"),
                    recency.clone(),
                )
                .from(dispute_event::Entity)
                .and_where(dispute_event::Column::DisputeId.is_in(by_row.keys().copied()))
                .to_owned();
            let statement = Query::select()
                .column(Asterisk)
                .from_subquery(ranked, Alias::new("ranked"))
                .and_where(Expr::col(recency).lte(window))
                .order_by(Alias::new("dispute_id"), Order::Asc)
                .order_by(Alias::new("seq"), Order::Asc)
                .to_owned();
            let rows = dispute_event::Model::find_by_statement(
                self.db.get_database_backend().build(&statement),
            )
            .all(&self.db)
            .await
            .map_err(|err| LoadError(Arc::new(err)))?;
            for row in rows {
                if let Some(key) = by_row.get(&row.dispute_id) {
                    found
                        .entry((*key, window))
                        .or_insert_with(Vec::new)
                        .push(row);
                }
            }
        }
        Ok(found)
    }
}

/// The per-request loaders, one per relation the schema exposes.
pub struct Loaders {
    pub escalations_by_dispute: DataLoader<ChildrenOf<dispute_escalation::Entity>>,
    pub recent_events_by_dispute: DataLoader<RecentEvents>,
    pub events_by_dispute: DataLoader<ChildrenOf<dispute_event::Entity>>,
    pub assignments_by_dispute: DataLoader<ChildrenOf<dispute_assignment::Entity>>,
    pub parties_by_dispute: DataLoader<ChildrenOf<dispute_party::Entity>>,
    pub results_by_election: DataLoader<ManyBy<region_result::Entity, i32>>,
    pub results_by_region: DataLoader<ManyBy<region_result::Entity, String>>,
    pub votes_by_result: DataLoader<ManyBy<region_result_votes::Entity, i32>>,
}

impl Loaders {
    /// A fresh set for one request.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            escalations_by_dispute: children::<dispute_escalation::Entity>(
                db,
                dispute_escalation::Column::DisputeId,
                dispute_escalation::Column::Id,
                |m| m.dispute_id,
            ),
            recent_events_by_dispute: DataLoader::new(
                RecentEvents { db: db.clone() },
                tokio::spawn,
            ),
            events_by_dispute: children::<dispute_event::Entity>(
                db,
                dispute_event::Column::DisputeId,
                dispute_event::Column::Seq,
                |m| m.dispute_id,
            ),
            assignments_by_dispute: children::<dispute_assignment::Entity>(
                db,
                dispute_assignment::Column::DisputeId,
                dispute_assignment::Column::AgencyCode,
                |m| m.dispute_id,
            ),
            parties_by_dispute: children::<dispute_party::Entity>(
                db,
                dispute_party::Column::DisputeId,
                dispute_party::Column::CandidatePairId,
                |m| m.dispute_id,
            ),
            results_by_election: many::<region_result::Entity, _>(
                db,
                region_result::Column::ElectionId,
                region_result::Column::RegionCode,
                |m| m.election_id,
            ),
            results_by_region: many::<region_result::Entity, _>(
                db,
                region_result::Column::RegionCode,
                region_result::Column::Round,
                |m| m.region_code.clone(),
            ),
            votes_by_result: many::<region_result_votes::Entity, _>(
                db,
                region_result_votes::Column::ResultId,
                region_result_votes::Column::BallotNumber,
                |m| m.result_id,
            ),
        }
    }
}
