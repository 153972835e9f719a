//! `regency` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `regency`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "regency")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub province_code: String,
    pub name: String,
    pub kind: RegencyKind,
    pub is_administrative: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
