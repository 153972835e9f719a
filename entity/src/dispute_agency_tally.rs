//! `dispute_agency_tally` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;

/// How many disputes linked to one agency (it reported them, or is assigned to them) of
/// one place and audience have one value of one attribute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_agency_tally")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_code: String,
    /// `status`, `category`, `severity` or `stage`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub dimension: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub province_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub regency_code: String,
    /// Empty when the disputes name no district.
    #[sea_orm(primary_key, auto_increment = false)]
    pub district_code: String,
    /// The attribute's value; empty when the disputes have none (a stage).
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
    /// Who may count these disputes, as in `dispute_tally`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub audience: String,
    pub count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
