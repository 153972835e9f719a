//! `election` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `election`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "election")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub region_code: String,
    pub province_code: String,
    pub regency_code: Option<String>,
    pub kind: ElectionKind,
    pub year: i32,
    pub voting_date: Date,
    pub win_rule: WinRule,
    pub max_rounds: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
