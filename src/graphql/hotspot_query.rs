//! The early-warning query.

use async_graphql::{Context, Object};
use chrono::Utc;

use crate::graphql::scalars::Timestamp;

use crate::domain::hotspots::{self, HotspotQuery};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::types::hotspot::Hotspot;

/// As `disputes`' page cost: the items asked for, within bounds, so a `first` out of
/// range reaches the resolver and its BAD_USER_INPUT.
fn cost(first: Option<i32>, child_complexity: usize) -> usize {
    let size = first.map_or(hotspots::DEFAULT_HOTSPOTS, |n| {
        u64::try_from(n).unwrap_or(0).min(hotspots::MAX_HOTSPOTS)
    });
    usize::try_from(size)
        .unwrap_or(1)
        .max(1)
        .saturating_mul(child_complexity)
}

/// Early warning for the morning briefing.
#[derive(Default)]
pub struct EarlyWarningQuery;

#[Object]
impl EarlyWarningQuery {
    /// Regencies and cities ranked by recent friction, hottest first: the disputes that
    /// occurred since `since`, weighted by category and severity, against the window of
    /// equal length before, weighed by the province's vulnerability rating (see
    /// `Hotspot`). Counts the same disputes as `disputeStats` for the caller: members
    /// their jurisdiction, PUBLIC unrestricted disputes with every count rounded down to
    /// a multiple of k and whole days only.
    #[graphql(complexity = "cost(first, child_complexity)")]
    async fn hotspots(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only this province (a code such as `\"31\"`); else every province in the caller's scope."
        )]
        province_code: Option<String>,
        #[graphql(
            desc = "Start of the window (default: 7 days ago); at most a year back. PUBLIC: a whole day (midnight UTC)."
        )]
        since: Option<Timestamp>,
        #[graphql(desc = "How many hotspots, 1 to 100 (default 10).")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<Hotspot>> {
        let rc = ctx.request()?;
        let query = HotspotQuery {
            province_code,
            since: since.map(|s| s.0),
            first,
        };
        let rows = hotspots::hotspots(
            &rc.db().conn,
            &rc.viewer,
            rc.public_stats_k(),
            query,
            Utc::now(),
        )
        .await
        .gql()?;
        Ok(rows.into_iter().map(Hotspot).collect())
    }
}
