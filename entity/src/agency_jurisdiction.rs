//! `agency_jurisdiction` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `agency_jurisdiction`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency_jurisdiction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub agency_code: String,
    pub region_code: String,
    pub province_code: String,
    pub regency_code: Option<String>,
    pub coverage: Coverage,
    pub note: Option<String>,
    pub confidence: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
