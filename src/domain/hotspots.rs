//! Early warning (the posko's first purpose: "to see friction early"): regencies and
//! cities ranked by recent friction. The disputes counted are exactly those statistics
//! count for the viewer (`policy::disputes_for_stats`: a member's jurisdiction and what it
//! may see; for PUBLIC every unrestricted dispute), and PUBLIC sees only what its
//! statistics would show: every count rounded by `policy::publish_count`, and a score
//! computed from those rounded counts alone, so a hotspot says nothing `disputeStats`
//! does not.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use entity::{dispute, vulnerability_index};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::policy;
use crate::auth::viewer::Viewer;
use crate::domain::disputes::DisputeFilter;
use crate::domain::reference;
use crate::domain::types::{DisputeCategory, Severity};
use crate::error::{AppError, AppResult};

/// Hotspots returned when `first` is not given.
pub const DEFAULT_HOTSPOTS: u64 = 10;
/// Most hotspots one request may ask for.
pub const MAX_HOTSPOTS: u64 = 100;
/// The window when `since` is not given.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;
/// How far back `since` may reach: one year (a leap year's too).
pub const MAX_LOOKBACK_DAYS: i64 = 366;
/// The edition of Bawaslu's index the score weighs: the Pilkada 2024 mapping.
pub const WEIGHED_EDITION: &str = "PILKADA_2024";

/// A vulnerability category of Bawaslu's index (tinggi / sedang / rendah).
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VulnerabilityLevel {
    /// Tinggi (high).
    High,
    /// Sedang (medium).
    Medium,
    /// Rendah (low).
    Low,
}

impl VulnerabilityLevel {
    /// The level of a category as the source spells it (`TINGGI`, `SEDANG`, `RENDAH`).
    pub fn from_source(category: &str) -> Option<Self> {
        match category {
            "TINGGI" => Some(Self::High),
            "SEDANG" => Some(Self::Medium),
            "RENDAH" => Some(Self::Low),
            _ => None,
        }
    }

    /// How much the province's rating raises a score.
    pub fn weight(self) -> f64 {
        match self {
            Self::High => 1.5,
            Self::Medium => 1.25,
            Self::Low => 1.0,
        }
    }
}

/// How the window compares with the one before it.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Trend {
    /// More disputes than in the previous window.
    Rising,
    /// As many as in the previous window.
    Steady,
    /// Fewer than in the previous window.
    Falling,
}

impl Trend {
    fn of(count: i64, previous: i64) -> Self {
        match count.cmp(&previous) {
            std::cmp::Ordering::Greater => Self::Rising,
            std::cmp::Ordering::Equal => Self::Steady,
            std::cmp::Ordering::Less => Self::Falling,
        }
    }

    /// How much the trend raises (or lowers) a score.
    pub fn weight(self) -> f64 {
        match self {
            Self::Rising => 1.5,
            Self::Steady => 1.0,
            Self::Falling => 0.75,
        }
    }
}

/// A coarse reading of a score, for a briefing.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum HotspotLevel {
    /// Score 40 or more: act today.
    High,
    /// Score 15 to 40: watch closely.
    Elevated,
    /// Below 15.
    Watch,
}

impl HotspotLevel {
    fn of(score: f64) -> Self {
        if score >= 40.0 {
            Self::High
        } else if score >= 15.0 {
            Self::Elevated
        } else {
            Self::Watch
        }
    }
}

/// The weight of a category in the friction sum: open conflict and what incites it weigh
/// most, campaign props least (DOMAIN.md; Bawaslu's vulnerability dimensions).
pub fn category_weight(category: DisputeCategory) -> i64 {
    match category {
        DisputeCategory::Clash => 5,
        DisputeCategory::Intimidation | DisputeCategory::HoaxOrSara => 4,
        DisputeCategory::MoneyPolitics | DisputeCategory::CountingObjection => 3,
        DisputeCategory::Neutrality | DisputeCategory::QuietPeriodCampaigning => 2,
        DisputeCategory::CampaignProps | DisputeCategory::Other => 1,
    }
}

/// The weight of a severity in the friction sum.
pub fn severity_weight(severity: Severity) -> i64 {
    match severity {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 5,
    }
}

/// What the caller asked for.
#[derive(Default)]
pub struct HotspotQuery {
    pub province_code: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub first: Option<i32>,
}

/// One regency or city and the numbers behind its score.
#[derive(Clone, Debug)]
pub struct Hotspot {
    pub regency_code: String,
    pub province_code: String,
    /// Disputes that occurred in the window.
    pub count: i64,
    /// Disputes that occurred in the window of equal length before it.
    pub previous_count: i64,
    /// The window's counts by category, ordered by key.
    pub by_category: Vec<(String, i64)>,
    /// The window's counts by severity, ordered by key.
    pub by_severity: Vec<(String, i64)>,
    /// Σ count × category weight + Σ count × severity weight, over the two lists above.
    pub friction: i64,
    pub trend: Trend,
    /// The province's rating in the weighed edition, if it has one.
    pub vulnerability: Option<vulnerability_index::Model>,
    /// The province's ratings in every edition Posko holds, newest first.
    pub ratings: Vec<vulnerability_index::Model>,
    pub score: f64,
    pub level: HotspotLevel,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub previous_start: DateTime<Utc>,
}

impl Hotspot {
    /// The weight the province's rating gives (1 without one).
    pub fn vulnerability_weight(&self) -> f64 {
        self.vulnerability
            .as_ref()
            .and_then(|v| VulnerabilityLevel::from_source(&v.category))
            .map_or(1.0, VulnerabilityLevel::weight)
    }
}

/// Counts of one window by regency: (province, category, severity) → count.
type Grouped = BTreeMap<String, (String, Vec<(DisputeCategory, Severity, i64)>)>;

async fn counts_in<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
) -> AppResult<Grouped> {
    let rows: Vec<(String, String, DisputeCategory, Severity, i64)> =
        policy::disputes_for_stats(viewer)
            .filter(filter.condition())
            .select_only()
            .column(dispute::Column::RegencyCode)
            .column(dispute::Column::ProvinceCode)
            .column(dispute::Column::Category)
            .column(dispute::Column::Severity)
            .column_as(Expr::col(dispute::Column::Id).count(), "count")
            .group_by(dispute::Column::RegencyCode)
            .group_by(dispute::Column::ProvinceCode)
            .group_by(dispute::Column::Category)
            .group_by(dispute::Column::Severity)
            .into_tuple()
            .all(db)
            .await?;
    let mut grouped = Grouped::new();
    for (regency, province, category, severity, count) in rows {
        grouped
            .entry(regency)
            .or_insert_with(|| (province, Vec::new()))
            .1
            .push((category, severity, count));
    }
    Ok(grouped)
}

/// Ranks the regencies and cities of the viewer's statistics scope (within one province
/// if asked) by friction in `[since, now)`. BAD_USER_INPUT for `first` outside 1–100, a
/// `since` not before now or more than a year back, an unknown province, and (PUBLIC) a
/// `since` that is not a whole day.
pub async fn hotspots<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    k: u64,
    query: HotspotQuery,
    now: DateTime<Utc>,
) -> AppResult<Vec<Hotspot>> {
    let first = match query.first {
        None => DEFAULT_HOTSPOTS,
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_HOTSPOTS).contains(n))
            .ok_or_else(|| {
                AppError::bad_input("first", format!("first must be 1 to {MAX_HOTSPOTS}"))
            })?,
    };
    // PUBLIC counts over whole days only, as its statistics do: its window ends at the
    // last midnight (UTC), so both windows are whole days.
    let end = if policy::dates_must_be_whole_days(viewer) {
        now.date_naive().and_time(NaiveTime::MIN).and_utc()
    } else {
        now
    };
    let since = query
        .since
        .unwrap_or(end - Duration::days(DEFAULT_WINDOW_DAYS));
    if since >= end {
        return Err(AppError::bad_input(
            "since",
            "since must be before now (for PUBLIC, before the last midnight UTC)",
        ));
    }
    if since < now - Duration::days(MAX_LOOKBACK_DAYS) {
        return Err(AppError::bad_input(
            "since",
            format!("since may reach back at most {MAX_LOOKBACK_DAYS} days"),
        ));
    }
    let province = match &query.province_code {
        Some(code) => Some(
            reference::province(db, code)
                .await?
                .ok_or_else(|| AppError::bad_input("provinceCode", "unknown province"))?
                .code,
        ),
        None => None,
    };
    let previous_start = since - (end - since);
    let window = |from, to| DisputeFilter {
        province_codes: province.clone().map(|p| vec![p]),
        occurred_from: Some(from),
        occurred_to: Some(to),
        ..Default::default()
    };
    let current_filter = window(since, end);
    let previous_filter = window(previous_start, since);
    // The same checks as statistics over these filters (PUBLIC: whole days).
    current_filter
        .check(viewer)
        .map_err(|err| rename_field(err, "since"))?;
    previous_filter
        .check(viewer)
        .map_err(|err| rename_field(err, "since"))?;

    let current = counts_in(db, viewer, &current_filter).await?;
    let previous = counts_in(db, viewer, &previous_filter).await?;
    let mut ratings: HashMap<String, Vec<vulnerability_index::Model>> = HashMap::new();
    for rating in vulnerability_index::Entity::find()
        .order_by_desc(vulnerability_index::Column::PublishedOn)
        .all(db)
        .await?
    {
        ratings
            .entry(rating.province_code.clone())
            .or_default()
            .push(rating);
    }
    let publish = |n: i64| -> i64 {
        let published = policy::publish_count(viewer, u64::try_from(n).unwrap_or(0), k);
        i64::try_from(published).unwrap_or(i64::MAX)
    };

    let mut hotspots = Vec::new();
    for (regency, (province_code, cells)) in current {
        let mut by_category: BTreeMap<String, (DisputeCategory, i64)> = BTreeMap::new();
        let mut by_severity: BTreeMap<String, (Severity, i64)> = BTreeMap::new();
        let mut count = 0;
        for (category, severity, n) in cells {
            by_category
                .entry(category.as_str().to_owned())
                .or_insert((category, 0))
                .1 += n;
            by_severity
                .entry(severity.as_str().to_owned())
                .or_insert((severity, 0))
                .1 += n;
            count += n;
        }
        let previous_count: i64 = previous
            .get(&regency)
            .map_or(0, |(_, cells)| cells.iter().map(|(_, _, n)| n).sum());
        // Everything below is computed from the counts as published (rounded for
        // PUBLIC), so the score reveals nothing the counts do not.
        let (count, previous_count) = (publish(count), publish(previous_count));
        if count == 0 {
            continue;
        }
        let by_category: Vec<(String, DisputeCategory, i64)> = by_category
            .into_iter()
            .map(|(key, (c, n))| (key, c, publish(n)))
            .filter(|(_, _, n)| *n > 0)
            .collect();
        let by_severity: Vec<(String, Severity, i64)> = by_severity
            .into_iter()
            .map(|(key, (s, n))| (key, s, publish(n)))
            .filter(|(_, _, n)| *n > 0)
            .collect();
        let friction = by_category
            .iter()
            .map(|(_, c, n)| n * category_weight(*c))
            .sum::<i64>()
            + by_severity
                .iter()
                .map(|(_, s, n)| n * severity_weight(*s))
                .sum::<i64>();
        let trend = Trend::of(count, previous_count);
        let all_ratings = ratings.get(&province_code).cloned().unwrap_or_default();
        let vulnerability = all_ratings
            .iter()
            .find(|r| r.edition == WEIGHED_EDITION)
            .cloned();
        let mut hotspot = Hotspot {
            regency_code: regency,
            province_code,
            count,
            previous_count,
            by_category: by_category.into_iter().map(|(k, _, n)| (k, n)).collect(),
            by_severity: by_severity.into_iter().map(|(k, _, n)| (k, n)).collect(),
            friction,
            trend,
            vulnerability,
            ratings: all_ratings,
            score: 0.0,
            level: HotspotLevel::Watch,
            window_start: since,
            window_end: end,
            previous_start,
        };
        #[allow(clippy::cast_precision_loss, reason = "friction is a small count")]
        let raw = friction as f64 * trend.weight() * hotspot.vulnerability_weight();
        hotspot.score = (raw * 100.0).round() / 100.0;
        hotspot.level = HotspotLevel::of(hotspot.score);
        hotspots.push(hotspot);
    }
    hotspots.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.regency_code.cmp(&b.regency_code))
    });
    hotspots.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok(hotspots)
}

/// The window's filter errors name the argument the caller gave.
fn rename_field(err: AppError, field: &'static str) -> AppError {
    match err {
        AppError::BadUserInput { message, .. } => AppError::BadUserInput {
            message,
            field: Some(field),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashes_and_incitement_outweigh_campaign_props() {
        assert!(
            category_weight(DisputeCategory::Clash)
                > category_weight(DisputeCategory::Intimidation)
        );
        assert!(
            category_weight(DisputeCategory::HoaxOrSara)
                > category_weight(DisputeCategory::CampaignProps)
        );
        assert!(severity_weight(Severity::Critical) > severity_weight(Severity::Low));
        assert_eq!(Trend::of(3, 1), Trend::Rising);
        assert_eq!(Trend::of(1, 3), Trend::Falling);
        assert_eq!(
            VulnerabilityLevel::from_source("SEDANG"),
            Some(VulnerabilityLevel::Medium)
        );
        assert_eq!(VulnerabilityLevel::from_source("sedang"), None);
    }
}
