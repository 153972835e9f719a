//! `region_alias` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `region_alias`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "region_alias")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub old_code: String,
    pub new_code: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
