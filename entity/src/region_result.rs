//! `region_result` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// The official count of one election's round in one region (or the province's total).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "region_result")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub election_id: i32,
    pub round: i32,
    pub region_code: String,
    pub region_name: String,
    pub valid_votes: i64,
    pub invalid_votes: i64,
    pub votes_cast: i64,
    pub registered_voters: Option<i64>,
    pub source: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
