//! DataLoaders: every relation is fetched with one `IN (…)` query per request and level,
//! so the number of SQL statements a request runs does not grow with the rows it returns.
//! A fresh set is made per request: nothing cached outlives the request that read it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    agency, agency_jurisdiction, candidate_pair, dispute_assignment, dispute_escalation,
    dispute_event, dispute_party, district, election, election_stage, jurisdiction_district, posko,
    posko_member, province, regency, region_result, region_result_votes,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, Value,
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

/// The one row of `E` whose unique `column` equals each key.
pub struct OneBy<E: EntityTrait, K> {
    db: DatabaseConnection,
    column: E::Column,
    key: fn(&E::Model) -> K,
}

impl<E, K> Loader<K> for OneBy<E, K>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    K: Into<Value> + Clone + Hash + Eq + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let rows = E::find()
            .filter(self.column.is_in(keys.iter().cloned()))
            .all(&self.db)
            .await
            .map_err(|err| LoadError(Arc::new(err)))?;
        Ok(rows
            .into_iter()
            .map(|row| ((self.key)(&row), row))
            .collect())
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

fn one<E: EntityTrait, K>(
    db: &DatabaseConnection,
    column: E::Column,
    key: fn(&E::Model) -> K,
) -> DataLoader<OneBy<E, K>>
where
    OneBy<E, K>: Loader<K>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    DataLoader::new(
        OneBy {
            db: db.clone(),
            column,
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

/// The stages of a cycle's national schedule (those that belong to no single election).
pub struct NationalStages {
    db: DatabaseConnection,
}

impl Loader<i32> for NationalStages {
    type Value = Vec<election_stage::Model>;
    type Error = LoadError;

    async fn load(&self, years: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let rows = election_stage::Entity::find()
            .filter(election_stage::Column::Year.is_in(years.iter().copied()))
            .filter(election_stage::Column::ElectionId.is_null())
            .order_by_asc(election_stage::Column::Seq)
            .all(&self.db)
            .await
            .map_err(|err| LoadError(Arc::new(err)))?;
        let mut grouped: HashMap<i32, Self::Value> = HashMap::new();
        for row in rows {
            grouped.entry(row.year).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The per-request loaders, one per relation the schema exposes.
pub struct Loaders {
    pub province: DataLoader<OneBy<province::Entity, String>>,
    pub regency: DataLoader<OneBy<regency::Entity, String>>,
    pub district: DataLoader<OneBy<district::Entity, String>>,
    pub agency: DataLoader<OneBy<agency::Entity, String>>,
    pub election: DataLoader<OneBy<election::Entity, i32>>,
    pub posko_by_province: DataLoader<OneBy<posko::Entity, String>>,
    pub regencies_by_province: DataLoader<ManyBy<regency::Entity, String>>,
    pub districts_by_regency: DataLoader<ManyBy<district::Entity, String>>,
    pub elections_by_province: DataLoader<ManyBy<election::Entity, String>>,
    pub elections_by_region: DataLoader<ManyBy<election::Entity, String>>,
    pub stages_by_election: DataLoader<ManyBy<election_stage::Entity, i32>>,
    pub national_stages_by_year: DataLoader<NationalStages>,
    pub candidates_by_election: DataLoader<ManyBy<candidate_pair::Entity, i32>>,
    pub jurisdictions_by_agency: DataLoader<ManyBy<agency_jurisdiction::Entity, String>>,
    pub districts_by_jurisdiction: DataLoader<ManyBy<jurisdiction_district::Entity, i32>>,
    pub members_by_posko: DataLoader<ManyBy<posko_member::Entity, i32>>,
    pub candidate_pair: DataLoader<OneBy<candidate_pair::Entity, i32>>,
    pub stage: DataLoader<OneBy<election_stage::Entity, i32>>,
    pub escalations_by_dispute: DataLoader<ChildrenOf<dispute_escalation::Entity>>,
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
            province: one::<province::Entity, _>(db, province::Column::Code, |m| m.code.clone()),
            regency: one::<regency::Entity, _>(db, regency::Column::Code, |m| m.code.clone()),
            district: one::<district::Entity, _>(db, district::Column::Code, |m| m.code.clone()),
            agency: one::<agency::Entity, _>(db, agency::Column::Code, |m| m.code.clone()),
            election: one::<election::Entity, _>(db, election::Column::Id, |m| m.id),
            posko_by_province: one::<posko::Entity, _>(db, posko::Column::ProvinceCode, |m| {
                m.province_code.clone()
            }),
            regencies_by_province: many::<regency::Entity, _>(
                db,
                regency::Column::ProvinceCode,
                regency::Column::Code,
                |m| m.province_code.clone(),
            ),
            districts_by_regency: many::<district::Entity, _>(
                db,
                district::Column::RegencyCode,
                district::Column::Code,
                |m| m.regency_code.clone(),
            ),
            elections_by_province: many::<election::Entity, _>(
                db,
                election::Column::ProvinceCode,
                election::Column::RegionCode,
                |m| m.province_code.clone(),
            ),
            elections_by_region: many::<election::Entity, _>(
                db,
                election::Column::RegionCode,
                election::Column::Year,
                |m| m.region_code.clone(),
            ),
            stages_by_election: many::<election_stage::Entity, _>(
                db,
                election_stage::Column::ElectionId,
                election_stage::Column::Seq,
                |m| m.election_id.unwrap_or_default(),
            ),
            national_stages_by_year: DataLoader::new(
                NationalStages { db: db.clone() },
                tokio::spawn,
            ),
            candidates_by_election: many::<candidate_pair::Entity, _>(
                db,
                candidate_pair::Column::ElectionId,
                candidate_pair::Column::BallotNumber,
                |m| m.election_id,
            ),
            jurisdictions_by_agency: many::<agency_jurisdiction::Entity, _>(
                db,
                agency_jurisdiction::Column::AgencyCode,
                agency_jurisdiction::Column::RegionCode,
                |m| m.agency_code.clone(),
            ),
            districts_by_jurisdiction: many::<jurisdiction_district::Entity, _>(
                db,
                jurisdiction_district::Column::JurisdictionId,
                jurisdiction_district::Column::DistrictCode,
                |m| m.jurisdiction_id,
            ),
            members_by_posko: many::<posko_member::Entity, _>(
                db,
                posko_member::Column::PoskoId,
                posko_member::Column::AgencyCode,
                |m| m.posko_id,
            ),
            candidate_pair: one::<candidate_pair::Entity, _>(db, candidate_pair::Column::Id, |m| {
                m.id
            }),
            stage: one::<election_stage::Entity, _>(db, election_stage::Column::Id, |m| m.id),
            escalations_by_dispute: children::<dispute_escalation::Entity>(
                db,
                dispute_escalation::Column::DisputeId,
                dispute_escalation::Column::Id,
                |m| m.dispute_id,
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
