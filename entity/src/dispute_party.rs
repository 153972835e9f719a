//! `dispute_party` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `dispute_party`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_party")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dispute_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub candidate_pair_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
