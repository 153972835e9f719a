//! `posko` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// One row of `posko`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posko")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub province_code: String,
    pub name: String,
    pub host_agency_code: String,
    pub address: Option<String>,
    pub hotline: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
