//! `posko_member` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `posko_member`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posko_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub posko_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_code: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
