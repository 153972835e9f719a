//! `dispute_assignment` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `dispute_assignment`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_assignment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dispute_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_code: String,
    pub assigned_at: DateTimeUtc,
    pub assigned_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
