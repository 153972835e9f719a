//! `election_stage` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `election_stage`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "election_stage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub key: String,
    pub year: i32,
    pub election_id: Option<i32>,
    pub seq: i32,
    pub code: String,
    pub name: String,
    pub label_en: String,
    pub phase: StagePhase,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub date_rule: Option<String>,
    pub confirmed: bool,
    pub confirmation: String,
    pub round: i32,
    pub held: bool,
    pub source: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
