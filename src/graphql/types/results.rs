//! Official results by region, served beside the disputes about them.

use async_graphql::{Context, Object};
use entity::{region_result, region_result_votes};

use super::loaded;
use crate::graphql::context::ContextExt;

/// The official count of one round of an election in one region (a city, or the
/// province's total), as KPU's recapitulation published it.
pub struct RegionResult(pub region_result::Model);

/// The official count of one round of an election in one region (a city, or the
/// province's total), as KPU's recapitulation published it.
#[Object]
impl RegionResult {
    /// The region counted: a regency/city code such as `"31.74"`, or the province's code
    /// for its total.
    async fn region_code(&self) -> &str {
        &self.0.region_code
    }
    /// The region's name as the source prints it.
    async fn region_name(&self) -> &str {
        &self.0.region_name
    }
    /// The round (1; Jakarta's second round was not held).
    async fn round(&self) -> i32 {
        self.0.round
    }
    /// Each pair's votes, by ballot number.
    async fn votes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PairVotes>> {
        let rows = loaded(
            ctx.request()?
                .loaders()
                .votes_by_result
                .load_one(self.0.id)
                .await,
        )?;
        let valid = self.0.valid_votes;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| PairVotes { row, valid })
            .collect())
    }
    /// Valid votes (the sum of the pairs' votes).
    async fn valid_votes(&self) -> i64 {
        self.0.valid_votes
    }
    /// Invalid ballots.
    async fn invalid_votes(&self) -> i64 {
        self.0.invalid_votes
    }
    /// Ballots cast: valid plus invalid.
    async fn votes_cast(&self) -> i64 {
        self.0.votes_cast
    }
    /// Registered voters (DPT); null where the source did not report them.
    async fn registered_voters(&self) -> Option<i64> {
        self.0.registered_voters
    }
    /// Ballots cast per registered voter, in percent (two decimals); null without the
    /// number of registered voters.
    async fn turnout_percent(&self) -> Option<f64> {
        #[allow(
            clippy::cast_precision_loss,
            reason = "voter counts are far below 2^52"
        )]
        self.0
            .registered_voters
            .filter(|n| *n > 0)
            .map(|n| (self.0.votes_cast as f64 * 10_000.0 / n as f64).round() / 100.0)
    }
    /// Where the figures come from.
    async fn source(&self) -> &str {
        &self.0.source
    }
}

/// One pair's votes in an official count.
pub struct PairVotes {
    row: region_result_votes::Model,
    valid: i64,
}

/// One pair's votes in an official count.
#[Object]
impl PairVotes {
    /// The pair's ballot number (see `Election.candidates`).
    async fn ballot_number(&self) -> i32 {
        self.row.ballot_number
    }
    /// Its votes.
    async fn votes(&self) -> i64 {
        self.row.votes
    }
    /// Its share of the valid votes, in percent (two decimals).
    async fn percent_of_valid(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss, reason = "vote counts are far below 2^52")]
        (self.valid > 0)
            .then(|| (self.row.votes as f64 * 10_000.0 / self.valid as f64).round() / 100.0)
    }
}

/// The results of a region's count for disputes and regencies: the region's own rows.
pub async fn of_region(
    ctx: &Context<'_>,
    region_code: &str,
) -> async_graphql::Result<Vec<RegionResult>> {
    let rows = loaded(
        ctx.request()?
            .loaders()
            .results_by_region
            .load_one(region_code.to_owned())
            .await,
    )?;
    Ok(rows
        .unwrap_or_default()
        .into_iter()
        .map(RegionResult)
        .collect())
}
