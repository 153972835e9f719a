//! Early warning: hotspots and the vulnerability ratings they weigh.

use crate::graphql::scalars::{Date, Timestamp};
use async_graphql::{Context, Object};
use entity::vulnerability_index;

use super::dispute::Count;
use super::region::Regency;
use crate::domain::hotspots::{self, HotspotLevel, Trend, VulnerabilityLevel};
use crate::graphql::context::ContextExt;

/// A regency or city where friction is rising, with the numbers behind its score.
/// `score = friction × trendWeight × vulnerabilityWeight`, where `friction` sums each
/// count of `byCategory` times its category's weight (clash 5; intimidation, hoax/SARA 4;
/// money politics, counting objection 3; neutrality, quiet-period campaigning 2; campaign
/// props, other 1) and each count of `bySeverity` times its severity's weight (low 1,
/// medium 2, high 3, critical 5). For PUBLIC every count is rounded down to a multiple of
/// k as in `disputeStats`, and the score is computed from the rounded counts.
pub struct Hotspot(pub hotspots::Hotspot);

/// A regency or city where friction is rising, with the numbers behind its score.
/// `score = friction × trendWeight × vulnerabilityWeight`, where `friction` sums each
/// count of `byCategory` times its category's weight (clash 5; intimidation, hoax/SARA 4;
/// money politics, counting objection 3; neutrality, quiet-period campaigning 2; campaign
/// props, other 1) and each count of `bySeverity` times its severity's weight (low 1,
/// medium 2, high 3, critical 5). For PUBLIC every count is rounded down to a multiple of
/// k as in `disputeStats`, and the score is computed from the rounded counts.
#[Object]
impl Hotspot {
    /// The regency or city, e.g. `"31.74"`.
    async fn regency_code(&self) -> &str {
        &self.0.regency_code
    }
    /// The regency or city.
    async fn regency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Regency>> {
        Ok(ctx
            .request()?
            .reference()
            .regency(&self.0.regency_code)
            .cloned()
            .map(Regency))
    }
    /// Its province's code.
    async fn province_code(&self) -> &str {
        &self.0.province_code
    }
    /// The ranking score (see the type's description); higher is hotter.
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// A coarse reading of the score: HIGH from 40, ELEVATED from 15, else WATCH.
    async fn level(&self) -> HotspotLevel {
        self.0.level
    }
    /// Disputes that occurred in the window `[windowStart, windowEnd)`.
    async fn count(&self) -> i64 {
        self.0.count
    }
    /// Disputes that occurred in the window of equal length before it.
    async fn previous_count(&self) -> i64 {
        self.0.previous_count
    }
    /// `count` against `previousCount`.
    async fn trend(&self) -> Trend {
        self.0.trend
    }
    /// What the trend multiplies the friction by: 1.5 rising, 1 steady, 0.75 falling.
    async fn trend_weight(&self) -> f64 {
        self.0.trend.weight()
    }
    /// The window's disputes weighted by category and severity (see the type).
    async fn friction(&self) -> i64 {
        self.0.friction
    }
    /// The window's counts by category, ordered by key.
    async fn by_category(&self) -> Vec<Count> {
        counts(&self.0.by_category)
    }
    /// The window's counts by severity, ordered by key.
    async fn by_severity(&self) -> Vec<Count> {
        counts(&self.0.by_severity)
    }
    /// The province's rating in Bawaslu's Pilkada 2024 vulnerability mapping, which the
    /// score weighs; null where the province has none.
    async fn vulnerability(&self) -> Option<VulnerabilityRating> {
        self.0.vulnerability.clone().map(VulnerabilityRating)
    }
    /// What the province's rating multiplies the friction by: 1.5 high, 1.25 medium,
    /// 1 low or unrated.
    async fn vulnerability_weight(&self) -> f64 {
        self.0.vulnerability_weight()
    }
    /// The province's ratings in every edition of the index Posko holds, newest first
    /// (the December 2022 edition scores provinces out of 100).
    async fn vulnerability_ratings(&self) -> Vec<VulnerabilityRating> {
        self.0
            .ratings
            .iter()
            .cloned()
            .map(VulnerabilityRating)
            .collect()
    }
    /// Start of the window (inclusive).
    async fn window_start(&self) -> Timestamp {
        self.0.window_start.into()
    }
    /// End of the window (exclusive): now, or for PUBLIC the last midnight UTC.
    async fn window_end(&self) -> Timestamp {
        self.0.window_end.into()
    }
    /// Start of the previous window, which ends at `windowStart`.
    async fn previous_window_start(&self) -> Timestamp {
        self.0.previous_start.into()
    }
}

fn counts(values: &[(String, i64)]) -> Vec<Count> {
    values
        .iter()
        .map(|(key, count)| Count {
            key: key.clone(),
            count: *count,
        })
        .collect()
}

/// A province's rating in one edition of Bawaslu's vulnerability index (Indeks
/// Kerawanan Pemilu), as published.
pub struct VulnerabilityRating(pub vulnerability_index::Model);

/// A province's rating in one edition of Bawaslu's vulnerability index (Indeks
/// Kerawanan Pemilu), as published.
#[Object]
impl VulnerabilityRating {
    /// `PILKADA_2024` (mapping of 26 Aug 2024) or `IKP_2022_DEC` (index of 16 Dec 2022).
    async fn edition(&self) -> &str {
        &self.0.edition
    }
    /// The province code as the source prints it (the 2022 edition predates the Papua
    /// split).
    async fn province_code(&self) -> &str {
        &self.0.province_code
    }
    /// The province's name as the source prints it.
    async fn province_name(&self) -> &str {
        &self.0.province_name
    }
    /// The category: high, medium or low.
    async fn level(&self) -> async_graphql::Result<VulnerabilityLevel> {
        VulnerabilityLevel::from_source(&self.0.category).ok_or_else(|| {
            async_graphql::Error::new(format!("unknown stored IKP category {}", self.0.category))
        })
    }
    /// The score out of 100, where the edition gives one.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// How many of the 27 indicators were present, where the source reports it.
    async fn indicators_present(&self) -> Option<i32> {
        self.0.indicators_present
    }
    /// When Bawaslu published the edition.
    async fn published_on(&self) -> Date {
        self.0.published_on.into()
    }
    /// Where the figure comes from.
    async fn source(&self) -> &str {
        &self.0.source
    }
}
