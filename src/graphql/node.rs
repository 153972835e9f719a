//! Relay's object identification: the `Node` interface, global ids, `node(id:)` and
//! `nodes(ids:)`.
//!
//! A dispute's global id is its public id as before (32 random hex digits), so ids that
//! clients already hold keep working with `dispute(id:)` and `node(id:)`. Every other
//! object's is `base64url("<Type>:<key>")` without padding, where the key is what already
//! names the object in the API (a region or agency code, a row number of public reference
//! data) or, for a timeline event, the dispute's public id and `timeline::event_key`. Such
//! an id starts with one of `Q`–`W` (a capital letter's first six bits), never a hex digit,
//! so the two forms cannot collide. Objects are loaded through the same domain functions
//! as their own queries: a dispute through `disputes::get_with_facts_by_ref`, an event
//! through the timeline's projection, so what the caller may not see is `NOT_FOUND` exactly
//! as what does not exist.

use async_graphql::{Context, ID, Interface, Object};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;

use crate::domain::disputes;
use crate::error::{AppError, IntoGql};
use crate::graphql::context::ContextExt;
use crate::graphql::types::agency::{Agency, Posko};
use crate::graphql::types::dispute::{Dispute, DisputeEvent};
use crate::graphql::types::election::{CandidatePair, Election, ElectionStage};
use crate::graphql::types::region::{District, Province, Regency};

/// The most ids one `nodes` call takes.
pub const MAX_NODES: usize = 100;

/// The types whose global id is `base64url("<Type>:<key>")`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    DisputeEvent,
    Province,
    Regency,
    District,
    Agency,
    Posko,
    Election,
    ElectionStage,
    CandidatePair,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::DisputeEvent,
        Kind::Province,
        Kind::Regency,
        Kind::District,
        Kind::Agency,
        Kind::Posko,
        Kind::Election,
        Kind::ElectionStage,
        Kind::CandidatePair,
    ];

    /// The GraphQL type name, which the id spells.
    pub fn name(self) -> &'static str {
        match self {
            Kind::DisputeEvent => "DisputeEvent",
            Kind::Province => "Province",
            Kind::Regency => "Regency",
            Kind::District => "District",
            Kind::Agency => "Agency",
            Kind::Posko => "Posko",
            Kind::Election => "Election",
            Kind::ElectionStage => "ElectionStage",
            Kind::CandidatePair => "CandidatePair",
        }
    }
}

/// The global id of an object of `kind` named by `key`.
pub fn global_id(kind: Kind, key: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", kind.name())))
}

fn decode(id: &str) -> Option<(Kind, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (name, key) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|kind| kind.name() == name)?;
    Some((kind, key.to_owned()))
}

/// The key inside a global id of `kind`; any other text is returned as it is. Elections'
/// and stages' ids were their row numbers before global ids existed, and arguments that
/// take those ids accept both forms.
pub fn key_of(kind: Kind, id: &str) -> String {
    match decode(id) {
        Some((found, key)) if found == kind => key,
        _ => id.to_owned(),
    }
}

/// An object with a globally unique, opaque `id` (Relay's object identification):
/// `node(id:)` refetches it and client caches (Apollo Client, urql Graphcache, Relay) key
/// it by `__typename` and `id` with no configuration. Treat ids as opaque strings.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Globally unique and opaque; `node(id:)` answers the object again."
))]
pub enum Node {
    Dispute(Box<Dispute>),
    DisputeEvent(DisputeEvent),
    Province(Province),
    Regency(Regency),
    District(District),
    Agency(Agency),
    Posko(Posko),
    Election(Election),
    ElectionStage(ElectionStage),
    CandidatePair(CandidatePair),
}

async fn resolve(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Node> {
    let rc = ctx.request()?;
    if disputes::is_public_id(id) {
        let (dispute, facts) = disputes::get_with_facts_by_ref(&rc.db().conn, &rc.viewer, id)
            .await
            .gql()?;
        return Ok(Node::Dispute(Box::new(Dispute::with_facts(dispute, facts))));
    }
    let Some((kind, key)) = decode(id) else {
        return Err(AppError::NotFound).gql();
    };
    let number = || key.parse::<i32>().ok();
    let reference = rc.reference();
    let found = match kind {
        Kind::DisputeEvent => {
            let Some((dispute_ref, event_key)) = key.split_once(':') else {
                return Err(AppError::NotFound).gql();
            };
            let (dispute, facts) =
                disputes::get_with_facts_by_ref(&rc.db().conn, &rc.viewer, dispute_ref)
                    .await
                    .gql()?;
            let dispute = Dispute::with_facts(dispute, facts);
            Some(Node::DisputeEvent(
                dispute.event_by_key(ctx, event_key).await?,
            ))
        }
        Kind::Province => reference
            .province(&key)
            .cloned()
            .map(|row| Node::Province(Province(row))),
        Kind::Regency => reference
            .regency(&key)
            .cloned()
            .map(|row| Node::Regency(Regency(row))),
        Kind::District => reference
            .district(&key)
            .cloned()
            .map(|row| Node::District(District(row))),
        Kind::Agency => reference
            .agency(&key)
            .cloned()
            .map(|row| Node::Agency(Agency(row))),
        Kind::Posko => reference
            .posko(&key)
            .cloned()
            .map(|row| Node::Posko(Posko(row))),
        Kind::Election => number()
            .and_then(|n| reference.election(n))
            .cloned()
            .map(|row| Node::Election(Election(row))),
        Kind::ElectionStage => number()
            .and_then(|n| reference.stage(n))
            .cloned()
            .map(|row| Node::ElectionStage(ElectionStage(row))),
        Kind::CandidatePair => number()
            .and_then(|n| reference.candidate_pair(n))
            .cloned()
            .map(|row| Node::CandidatePair(CandidatePair(row))),
    };
    found.ok_or(AppError::NotFound).gql()
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global `id`. An id that is malformed, names nothing, or names
    /// something outside the caller's scope (a dispute or timeline event the caller may
    /// not see) is the same NOT_FOUND.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An `id` the API returned.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        resolve(ctx, &id).await.map(Some)
    }

    /// Several objects by global id, in the order given (at most 100): each one that
    /// `node` would refuse is null, with a NOT_FOUND error at its index. Counts in the
    /// complexity score as one `node` per id.
    #[graphql(complexity = "ids.len().clamp(1, MAX_NODES).saturating_mul(child_complexity)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 ids the API returned.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<async_graphql::Result<Node>>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input(
                "ids",
                format!("at most {MAX_NODES} ids at once"),
            ))
            .gql();
        }
        // Concurrently, so that the DataLoaders batch the reference rows.
        Ok(join_all(ids.iter().map(|id| resolve(ctx, id)))
            .await
            .into_iter()
            .map(Some)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_never_look_like_a_dispute_id() {
        for kind in Kind::ALL {
            let id = global_id(kind, "31.71");
            assert_eq!(decode(&id), Some((kind, "31.71".to_owned())));
            assert!(!disputes::is_public_id(&id), "{id:?}");
            assert!(matches!(id.chars().next(), Some('Q'..='W')), "{id:?}");
            assert_eq!(key_of(kind, &id), "31.71");
        }
        assert_eq!(key_of(Kind::Election, "12"), "12");
        assert_eq!(
            key_of(Kind::Election, &global_id(Kind::ElectionStage, "3")),
            global_id(Kind::ElectionStage, "3").0
        );
    }
}
