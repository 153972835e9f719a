//! `dispute` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `dispute`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The id clients see: random, so it tells nothing about how many disputes exist.
    /// Always set (the column is nullable only because the migration that added it
    /// backfilled it).
    pub public_id: String,
    #[sea_orm(unique)]
    pub ref_no: String,
    pub title: String,
    pub description: String,
    pub category: DisputeCategory,
    pub severity: Severity,
    pub status: DisputeStatus,
    pub province_code: String,
    pub regency_code: String,
    pub district_code: Option<String>,
    pub location_text: Option<String>,
    pub election_id: Option<i32>,
    pub stage_id: Option<i32>,
    pub stage_code: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub reported_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub restricted: bool,
    pub reporter_name: Option<String>,
    pub reporter_contact: Option<String>,
    pub reporter_kind: Option<ReporterKind>,
    pub violation: Option<ViolationClass>,
    pub outcome: Option<String>,
    pub reported_by_agency: String,
    pub reported_by_sub: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
