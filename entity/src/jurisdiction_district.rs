//! `jurisdiction_district` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `jurisdiction_district`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jurisdiction_district")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jurisdiction_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub district_code: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
