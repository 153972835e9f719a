//! `candidate_pair` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `candidate_pair`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candidate_pair")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub election_id: i32,
    pub ballot_number: i32,
    pub head_name: String,
    pub deputy_name: String,
    pub short_name: Option<String>,
    pub nomination_path: NominationPath,
    pub supporting_parties: String,
    pub votes_round_one: Option<i64>,
    pub result: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
