//! Lists, filters, ordering, cursors, totals and statistics, all under the caller's scope.

use base64::Engine as _;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, gid, insert_dispute};
use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app};

async fn arrange(app: &TestApp) {
    let base = Utc.with_ymd_and_hms(2024, 11, 1, 8, 0, 0).unwrap();
    let severities = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
    for n in 0..30 {
        insert_dispute(
            &app.db.conn,
            NewDispute {
                regency: ["31.71", "31.74", "32.76"][n % 3],
                title: format!("Laporan nomor {n}"),
                severity: severities[n % 4],
                status: if n % 5 == 0 { "RESOLVED" } else { "REPORTED" },
                category: if n % 2 == 0 {
                    "MONEY_POLITICS"
                } else {
                    "CLASH"
                },
                reported_at: base + Duration::hours(n as i64),
                stage_code: Some(if n < 20 { "KAMPANYE" } else { "MASA_TENANG" }),
                ..Default::default()
            },
        )
        .await;
    }
    // Out of every Jakarta agency's scope, and in KPU_RI's.
    insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            title: "Bogor".into(),
            ..Default::default()
        },
    )
    .await;
    insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "31.71",
            title: "Rahasia".into(),
            restricted: true,
            ..Default::default()
        },
    )
    .await;
}

fn titles(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

const PAGE: &str = "query($first: Int, $after: String, $filter: DisputeFilterInput, $order: DisputeOrderInput) {
  disputes(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor } nodes { id title severity reportedAt } } }";

#[tokio::test]
async fn cursors_walk_the_whole_scope_once_and_carry_no_field_values() {
    let app = spawn_app().await;
    arrange(&app).await;
    let kpu = token("KPU", "KPU_DKI");
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let answer = app
            .gql_as(Some(&kpu), PAGE, json!({ "first": 7, "after": after }))
            .await;
        answer.expect_ok();
        let page = answer.data("disputes");
        assert_eq!(
            page["totalCount"], 20,
            "KPU DKI: the 20 Jakarta disputes, not Depok, Bogor or the restricted one"
        );
        for edge in page["edges"].as_array().unwrap() {
            let cursor = edge["cursor"].as_str().unwrap();
            let decoded = String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(cursor)
                    .unwrap(),
            )
            .unwrap();
            assert!(
                decoded.starts_with("dispute:")
                    && !decoded.contains("2024")
                    && !decoded.contains("Laporan"),
                "{decoded}"
            );
        }
        seen.extend(titles(page));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 20);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "no row twice");
    assert_eq!(
        seen[0], "Laporan nomor 28",
        "newest report first by default"
    );
}

#[tokio::test]
async fn ordering_by_severity_follows_its_rank_and_cursors_follow_the_order() {
    let app = spawn_app().await;
    arrange(&app).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let order = json!({ "field": "SEVERITY", "direction": "DESC" });
    let rank = |s: &str| {
        ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let mut after: Option<String> = None;
    let mut ranks = Vec::new();
    for _ in 0..3 {
        let page = app
            .gql_as(
                Some(&admin),
                PAGE,
                json!({ "first": 6, "order": order, "after": after }),
            )
            .await;
        page.expect_ok();
        ranks.extend(
            page.data("disputes.nodes")
                .as_array()
                .unwrap()
                .iter()
                .map(|n| rank(n["severity"].as_str().unwrap())),
        );
        after = page
            .data("disputes.pageInfo.endCursor")
            .as_str()
            .map(str::to_owned);
    }
    // Jakarta holds 5 CRITICAL disputes (n = 3, 7, 15, 19, 27), then 5 HIGH, …
    assert_eq!(ranks.len(), 18);
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    assert_eq!(&ranks[..6], &[3, 3, 3, 3, 3, 2]);
}

#[tokio::test]
async fn filters_combine_under_the_scope() {
    let app = spawn_app().await;
    arrange(&app).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let count = |filter: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let answer = app
                .gql_as(Some(&admin), PAGE, json!({ "filter": filter }))
                .await;
            answer.expect_ok();
            answer.data("disputes.totalCount").as_u64().unwrap()
        }
    };
    assert_eq!(
        count(json!({})).await,
        21,
        "20 in Jakarta plus the restricted one (ADMIN)"
    );
    assert_eq!(count(json!({ "regencyCodes": ["31.74"] })).await, 10);
    assert_eq!(count(json!({ "statuses": ["RESOLVED"] })).await, 4);
    assert_eq!(
        count(json!({ "categories": ["CLASH"], "severities": ["MEDIUM"] })).await,
        5
    );
    assert_eq!(
        count(json!({ "search": "NOMOR 1" })).await,
        8,
        "case-insensitive: 1 and 10–19, minus Depok's 11, 14, 17"
    );
    assert_eq!(count(json!({ "restricted": true })).await, 1);
    assert_eq!(
        count(json!({ "stageCodes": ["MASA_TENANG"] })).await,
        6,
        "21, 22, 24, 25, 27, 28"
    );
    assert_eq!(
        count(
            json!({ "reportedFrom": "2024-11-01T10:00:00Z", "reportedTo": "2024-11-01T14:00:00Z" })
        )
        .await,
        2,
        "n = 2…5, of which 3 and 4 are in Jakarta (2 and 5 are in Depok)"
    );
    assert_eq!(
        count(json!({ "search": "100%_" })).await,
        0,
        "LIKE wildcards are literal"
    );
}

#[tokio::test]
async fn page_sizes_are_bounded() {
    let app = spawn_app().await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    for first in [0, 101, -1] {
        let answer = app
            .gql_as(Some(&admin), PAGE, json!({ "first": first }))
            .await;
        assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"], "first: {first}");
        assert_eq!(answer.body["errors"][0]["extensions"]["field"], "first");
    }
    let answer = app
        .gql_as(Some(&admin), PAGE, json!({ "first": 100 }))
        .await;
    answer.expect_ok();
    let bad_cursor = app
        .gql_as(Some(&admin), PAGE, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(bad_cursor.error_codes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_cursor_of_a_dispute_outside_the_scope_is_refused() {
    let app = spawn_app().await;
    let bogor = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            ..Default::default()
        },
    )
    .await;
    let cursor = posko::domain::disputes::encode_cursor(&gid(bogor));
    let answer = app
        .gql_as(
            Some(&token("KPU", "KPU_DKI")),
            PAGE,
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(answer.body["errors"][0]["message"], "invalid cursor");
}

#[tokio::test]
async fn statistics_are_computed_under_each_callers_scope() {
    let app = spawn_app().await;
    arrange(&app).await;
    let query = "{ disputeStats { total byStatus { key count } byProvince { key count } byStage { key count } } }";
    let kpu = app
        .gql_as(Some(&token("KPU", "KPU_DKI")), query, json!({}))
        .await;
    kpu.expect_ok();
    assert_eq!(kpu.data("disputeStats.total"), 20);
    assert_eq!(
        kpu.data("disputeStats.byProvince"),
        &json!([{ "key": "31", "count": 20 }])
    );
    let police = app
        .gql_as(Some(&token("POLICE", "POLDA_METRO_JAYA")), query, json!({}))
        .await;
    assert_eq!(police.data("disputeStats.total"), 30, "Jakarta and Depok");
    let national = app
        .gql_as(Some(&token("KPU", "KPU_RI")), query, json!({}))
        .await;
    assert_eq!(
        national.data("disputeStats.total"),
        31,
        "everything but the restricted one"
    );
    // PUBLIC counts the same 31 (25 reported, 6 resolved), published k-anonymously:
    // each count rounded down to a multiple of 5.
    let public = app.gql(query).await;
    assert_eq!(public.data("disputeStats.total"), 30);
    let by_status = public.data("disputeStats.byStatus");
    assert_eq!(
        by_status,
        &json!([{ "key": "REPORTED", "count": 25 }, { "key": "RESOLVED", "count": 5 }])
    );
}

#[tokio::test]
async fn sql_statements_do_not_grow_with_the_page_size() {
    let app = spawn_app().await;
    arrange(&app).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    // Each loader appears at one depth only: a loader used at two depths may or may not
    // merge its two batches, depending on which timer fires first.
    let query = "query($first: Int) { disputes(first: $first) { totalCount nodes { id title regency { name province { name } }
        reporter { name } violation escalations { to } assignedAgencies { code } events(last: 3) { kind } viewerCan { transitionTo } } } }";
    // The first request also loads the caller's agency and jurisdiction; warm it up.
    app.gql_as(Some(&admin), query, json!({ "first": 1 }))
        .await
        .expect_ok();
    let mut counts = Vec::new();
    for first in [2, 20, 2, 20] {
        let before = app.db.statements_run();
        let answer = app
            .gql_as(Some(&admin), query, json!({ "first": first }))
            .await;
        answer.expect_ok();
        assert_eq!(
            answer.data("disputes.nodes").as_array().unwrap().len(),
            first
        );
        counts.push(app.db.statements_run() - before);
    }
    assert!(
        counts.iter().all(|c| *c == counts[0]),
        "statements for 2 rows vs 20 rows: {counts:?}"
    );
}

#[tokio::test]
async fn every_pagination_argument_is_validated() {
    let app = spawn_app().await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let id = gid(insert_dispute(&app.db.conn, NewDispute::default()).await);
    for (query, field) in [
        ("{ disputes(first: -1) { totalCount } }", "first"),
        ("{ disputes(first: 0) { totalCount } }", "first"),
        ("{ disputes(first: 101) { totalCount } }", "first"),
        (
            "{ disputes(after: \"not-a-cursor\") { totalCount } }",
            "after",
        ),
        ("{ accessLog(first: -1) { nodes { field } } }", "first"),
        ("{ accessLog(first: 100000) { nodes { field } } }", "first"),
        (
            "{ accessLog(after: \"nope\") { nodes { field } } }",
            "after",
        ),
    ] {
        let answer = app.gql_as(Some(&admin), query, json!({})).await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{query}: {:#}",
            answer.body
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{query}"
        );
    }
    for last in [-5, -1, 1_001] {
        let answer = app
            .gql_as(
                Some(&admin),
                "query($id: ID!, $last: Int) { dispute(id: $id) { events(last: $last) { seq } } }",
                json!({ "id": id, "last": last }),
            )
            .await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "last {last}: {:#}",
            answer.body
        );
        assert_eq!(answer.body["errors"][0]["extensions"]["field"], "last");
    }
    let fine = app
        .gql_as(
            Some(&admin),
            "query($id: ID!) { dispute(id: $id) { events(last: 0) { seq } all: events { seq } } }",
            json!({ "id": id }),
        )
        .await;
    fine.expect_ok();
    assert_eq!(fine.data("dispute.events"), &json!([]));
}
