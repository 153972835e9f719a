//! `dispute_escalation` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `dispute_escalation`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_escalation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub dispute_id: i32,
    pub target: EscalationTarget,
    pub reason: String,
    pub escalated_at: DateTimeUtc,
    pub escalated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
