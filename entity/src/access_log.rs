//! `access_log` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `access_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub at: DateTimeUtc,
    pub viewer_sub: String,
    pub viewer_role: Role,
    pub agency_code: String,
    pub dispute_id: i32,
    /// The dispute's public id, which is what the log shows.
    pub dispute_public_id: String,
    pub province_code: String,
    pub regency_code: String,
    pub field: String,
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
