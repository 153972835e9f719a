//! Issue 15, early warning: `hotspots` ranks regencies/cities by recent friction and shows
//! the counts behind each score, under the statistics' policy.

use chrono::{Duration, NaiveTime, Utc};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, insert_dispute};
use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app};

const BRIEFING: &str = "query($since: DateTime, $province: String, $first: Int) {
  hotspots(provinceCode: $province, since: $since, first: $first) {
    regencyCode regency { name } score level count previousCount trend trendWeight friction
    byCategory { key count } bySeverity { key count }
    vulnerability { edition level } vulnerabilityWeight
    vulnerabilityRatings { edition level score source }
    windowStart windowEnd previousWindowStart } }";

/// Midnight UTC `days` ago: a whole day, which PUBLIC needs.
fn days_ago(days: i64) -> chrono::DateTime<Utc> {
    (Utc::now() - Duration::days(days))
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc()
}

async fn arrange(
    app: &TestApp,
    regency: &'static str,
    category: &'static str,
    severity: &'static str,
    days: i64,
    n: usize,
    restricted: bool,
) {
    for _ in 0..n {
        insert_dispute(
            &app.db.conn,
            NewDispute {
                regency,
                category,
                severity,
                restricted,
                reported_at: days_ago(days) + Duration::hours(12),
                stage_code: None,
                ..Default::default()
            },
        )
        .await;
    }
}

fn instant(value: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .to_utc()
}

fn find<'a>(hotspots: &'a Value, regency: &str) -> Option<&'a Value> {
    hotspots
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["regencyCode"] == regency)
}

async fn briefing(app: &TestApp, who: Option<(&str, &str)>, vars: Value) -> crate::support::Gql {
    let token = who.map(|(role, agency)| token(role, agency));
    app.gql_as(token.as_deref(), BRIEFING, vars).await
}

#[tokio::test]
async fn clashes_rising_rank_above_falling_campaign_props_and_each_score_is_explained() {
    let app = spawn_app().await;
    // Jakarta Selatan: two serious clashes this week, none the week before.
    arrange(&app, "31.74", "CLASH", "HIGH", 2, 2, false).await;
    // Jakarta Pusat: three props this week, five the week before.
    arrange(&app, "31.71", "CAMPAIGN_PROPS", "MEDIUM", 3, 3, false).await;
    arrange(&app, "31.71", "CAMPAIGN_PROPS", "MEDIUM", 10, 5, false).await;
    // Older than both windows: not counted.
    arrange(&app, "31.75", "CLASH", "CRITICAL", 30, 4, false).await;
    // Outside the province asked for.
    arrange(&app, "32.76", "CLASH", "CRITICAL", 1, 4, false).await;
    let since = days_ago(7);
    let answer = briefing(
        &app,
        Some(("ADMIN", "KESBANGPOL_DKI")),
        json!({ "since": since, "province": "31" }),
    )
    .await;
    answer.expect_ok();
    let hotspots = answer.data("hotspots");
    let order: Vec<&str> = hotspots
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["regencyCode"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["31.74", "31.71"], "{hotspots:#}");
    let jaksel = &hotspots[0];
    assert_eq!(
        jaksel["regency"]["name"],
        "Kota Administrasi Jakarta Selatan"
    );
    assert_eq!(jaksel["count"], 2);
    assert_eq!(jaksel["previousCount"], 0);
    assert_eq!(jaksel["trend"], "RISING");
    assert_eq!(
        jaksel["byCategory"],
        json!([{ "key": "CLASH", "count": 2 }])
    );
    assert_eq!(jaksel["bySeverity"], json!([{ "key": "HIGH", "count": 2 }]));
    // 2 × clash 5 + 2 × high 3.
    assert_eq!(jaksel["friction"], 16);
    // Jakarta is rated medium (sedang) in the Pilkada 2024 mapping.
    assert_eq!(
        jaksel["vulnerability"],
        json!({ "edition": "PILKADA_2024", "level": "MEDIUM" })
    );
    assert_eq!(jaksel["vulnerabilityWeight"], 1.25);
    assert_eq!(jaksel["trendWeight"], 1.5);
    assert_eq!(jaksel["score"], 30.0);
    assert_eq!(jaksel["level"], "ELEVATED");
    let ratings = jaksel["vulnerabilityRatings"].as_array().unwrap();
    assert_eq!(ratings.len(), 2);
    assert_eq!(ratings[1]["edition"], "IKP_2022_DEC");
    assert_eq!(ratings[1]["score"], 88.95);
    assert_eq!(ratings[1]["level"], "HIGH");
    assert!(ratings[1]["source"].as_str().unwrap().contains("Bawaslu"));

    let jakpus = &hotspots[1];
    assert_eq!(
        (jakpus["count"].as_i64(), jakpus["previousCount"].as_i64()),
        (Some(3), Some(5))
    );
    assert_eq!(jakpus["trend"], "FALLING");
    // (3 × props 1 + 3 × medium 2) × 0.75 × 1.25 = 8.4375.
    assert_eq!(jakpus["friction"], 9);
    assert_eq!(jakpus["score"], 8.44);
    assert_eq!(jakpus["level"], "WATCH");
    assert_eq!(instant(&jaksel["windowStart"]), since);

    // `first` cuts the ranking.
    let top = briefing(
        &app,
        Some(("ADMIN", "KESBANGPOL_DKI")),
        json!({ "since": since, "province": "31", "first": 1 }),
    )
    .await;
    assert_eq!(top.data("hotspots").as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn members_rank_only_what_they_may_count() {
    let app = spawn_app().await;
    arrange(&app, "31.74", "INTIMIDATION", "HIGH", 1, 2, false).await;
    arrange(&app, "31.71", "HOAX_OR_SARA", "HIGH", 1, 1, false).await;
    arrange(&app, "31.71", "HOAX_OR_SARA", "CRITICAL", 1, 2, true).await;
    let since = json!({ "since": days_ago(7) });
    // A city office: its city only.
    let jaksel = briefing(&app, Some(("MEMBER", "KESBANGPOL_JAKSEL")), since.clone()).await;
    jaksel.expect_ok();
    let hotspots = jaksel.data("hotspots");
    assert_eq!(hotspots.as_array().unwrap().len(), 1, "{hotspots:#}");
    assert_eq!(hotspots[0]["regencyCode"], "31.74");
    // A province-wide community body does not count restricted disputes; ADMIN does.
    let fkub = briefing(&app, Some(("MEMBER", "FKUB_DKI")), since.clone()).await;
    assert_eq!(find(fkub.data("hotspots"), "31.71").unwrap()["count"], 1);
    let admin = briefing(&app, Some(("ADMIN", "KESBANGPOL_DKI")), since.clone()).await;
    assert_eq!(find(admin.data("hotspots"), "31.71").unwrap()["count"], 3);
    // Outside its jurisdiction a member sees nothing.
    let elsewhere = briefing(
        &app,
        Some(("MEMBER", "KESBANGPOL_JAKSEL")),
        json!({ "since": days_ago(7), "province": "32" }),
    )
    .await;
    assert_eq!(elsewhere.data("hotspots"), &json!([]));
}

#[tokio::test]
async fn public_sees_only_counts_rounded_as_public_statistics_are() {
    let app = spawn_app().await;
    // Seven clashes in Jakarta Timur (published as 5), four in Jakarta Barat (as 0: left
    // out), and restricted ones that PUBLIC never counts.
    arrange(&app, "31.75", "CLASH", "HIGH", 2, 7, false).await;
    arrange(&app, "31.73", "CLASH", "HIGH", 2, 4, false).await;
    arrange(&app, "31.73", "CLASH", "HIGH", 2, 6, true).await;
    let answer = briefing(
        &app,
        None,
        json!({ "since": days_ago(7), "province": "31" }),
    )
    .await;
    answer.expect_ok();
    let hotspots = answer.data("hotspots");
    assert_eq!(hotspots.as_array().unwrap().len(), 1, "{hotspots:#}");
    let jaktim = &hotspots[0];
    assert_eq!(jaktim["regencyCode"], "31.75");
    assert_eq!(jaktim["count"], 5);
    assert_eq!(
        jaktim["byCategory"],
        json!([{ "key": "CLASH", "count": 5 }])
    );
    // From the rounded counts only: 5 × 5 + 5 × 3.
    assert_eq!(jaktim["friction"], 40);
    // The window ends at the last midnight UTC.
    assert_eq!(instant(&jaktim["windowEnd"]), days_ago(0));
    // PUBLIC takes whole days only.
    let partial = briefing(
        &app,
        None,
        json!({ "since": (Utc::now() - Duration::hours(30)).to_rfc3339() }),
    )
    .await;
    assert_eq!(partial.error_codes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn out_of_bounds_arguments_are_bad_user_input() {
    let app = spawn_app().await;
    let admin = Some(("ADMIN", "KESBANGPOL_DKI"));
    for (vars, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "since": days_ago(400) }), "since"),
        (json!({ "since": Utc::now() + Duration::days(1) }), "since"),
        (json!({ "province": "99" }), "provinceCode"),
    ] {
        let answer = briefing(&app, admin, vars.clone()).await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{vars}: {:#}",
            answer.body
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{vars}"
        );
    }
    // The defaults work: the last 7 days, the caller's whole scope, 10 at most.
    let default = briefing(&app, admin, json!({})).await;
    default.expect_ok();
}
