//! `dispute_event` rows: plain data, no GraphQL or business rules.

use sea_orm::entity::prelude::*;
use vocabulary::*;

/// One row of `dispute_event`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub dispute_id: i32,
    pub seq: i32,
    pub kind: EventKind,
    pub actor_sub: String,
    pub actor_role: Role,
    pub actor_agency: Option<String>,
    pub at: DateTimeUtc,
    pub changes: Option<String>,
    pub note: Option<String>,
    pub audience: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// The random salt the hash commits to; never served. `None` for events written
    /// before salts existed (their hashes are never served).
    pub salt: Option<String>,
    /// Random bits the public id of an event without a salt derives from (migration 12);
    /// `None` for salted events, whose id derives from their salt. Never served.
    pub key_salt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
