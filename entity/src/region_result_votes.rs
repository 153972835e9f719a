//! `region_result_votes` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One pair's votes in one official count.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "region_result_votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub result_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ballot_number: i32,
    pub votes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
