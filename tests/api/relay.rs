//! Relay in full: `Node` with opaque global ids on every object a client refetches,
//! `node(id:)` and `nodes(ids:)` under the same policy as the objects' own queries, and
//! connections that page backwards with `last`/`before`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, NewEvent, append_event, gid, insert_dispute};
use crate::support::tokens::token;
use crate::support::{Gql, TestApp, spawn_app};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

async fn node_as(app: &TestApp, token: Option<&str>, id: &str) -> Gql {
    app.gql_as(token, NODE, json!({ "id": id })).await
}

fn decoded(id: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(id).expect("base64url")).expect("UTF-8")
}

#[tokio::test]
async fn every_reference_object_has_a_global_id_that_node_answers_again() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            r#"{ province(code: "31") { id posko { id host { id } } }
                 regency(code: "36.03") { id districts { id } }
                 agency(code: "POLDA_METRO_JAYA") { id }
                 elections(provinceCode: "31", kind: GOVERNOR) { id stages { id } candidates { id } } }"#,
        )
        .await;
    answer.expect_ok();
    let mut ids: Vec<(&str, String)> = vec![
        (
            "Province",
            answer.data("province.id").as_str().unwrap().to_owned(),
        ),
        (
            "Posko",
            answer
                .data("province.posko.id")
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "Agency",
            answer
                .data("province.posko.host.id")
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "Regency",
            answer.data("regency.id").as_str().unwrap().to_owned(),
        ),
        (
            "District",
            answer
                .data("regency.districts.0.id")
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "Agency",
            answer.data("agency.id").as_str().unwrap().to_owned(),
        ),
        (
            "Election",
            answer.data("elections.0.id").as_str().unwrap().to_owned(),
        ),
        (
            "ElectionStage",
            answer
                .data("elections.0.stages.0.id")
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "CandidatePair",
            answer
                .data("elections.0.candidates.0.id")
                .as_str()
                .unwrap()
                .to_owned(),
        ),
    ];
    ids.dedup();
    for (typename, id) in &ids {
        assert!(
            decoded(id).starts_with(&format!("{typename}:")),
            "{typename}'s id is base64url(\"{typename}:…\"): {id}"
        );
        let again = node_as(&app, None, id).await;
        again.expect_ok();
        assert_eq!(again.data("node.__typename"), *typename);
        assert_eq!(
            again.data("node.id"),
            id.as_str(),
            "node(id:) answers the same id"
        );
    }
    assert_eq!(
        decoded(answer.data("province.id").as_str().unwrap()),
        "Province:31"
    );

    // nodes(ids:) answers them in the order given, with fragments on each type.
    let list: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
    let answer = app
        .gql_as(
            None,
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Province { name } ... on Agency { code } } }",
            json!({ "ids": list }),
        )
        .await;
    answer.expect_ok();
    let nodes = answer.data("nodes").as_array().unwrap();
    assert_eq!(nodes.len(), ids.len());
    for (node, (typename, id)) in nodes.iter().zip(&ids) {
        assert_eq!(
            (node["__typename"].as_str(), node["id"].as_str()),
            (Some(*typename), Some(id.as_str()))
        );
    }
    assert_eq!(nodes[0]["name"], "Daerah Khusus Ibukota Jakarta");
}

#[tokio::test]
async fn election_and_stage_ids_of_before_global_ids_still_work() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ elections(provinceCode: "31", kind: GOVERNOR) { id } }"#)
        .await;
    let id = answer.data("elections.0.id").as_str().unwrap().to_owned();
    let number = decoded(&id).strip_prefix("Election:").unwrap().to_owned();
    for form in [id.as_str(), number.as_str()] {
        let answer = app
            .gql_as(
                None,
                "query($id: ID!) { election(id: $id) { id } stages(electionId: $id) { code } }",
                json!({ "id": form }),
            )
            .await;
        answer.expect_ok();
        assert_eq!(answer.data("election.id"), id.as_str());
        assert!(!answer.data("stages").as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_dispute_keeps_its_id_and_node_answers_only_what_the_caller_may_see() {
    let app = spawn_app().await;
    let jakarta = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let bogor = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            ..Default::default()
        },
    )
    .await;
    let kpu = token("KPU", "KPU_DKI");
    let mine = app
        .gql_as(
            Some(&kpu),
            "query($id: ID!) { dispute(id: $id) { id } node(id: $id) { __typename id ... on Dispute { title } } }",
            json!({ "id": gid(jakarta) }),
        )
        .await;
    mine.expect_ok();
    assert_eq!(
        mine.data("dispute.id"),
        gid(jakarta).as_str(),
        "Dispute.id is the public id as before"
    );
    assert_eq!(mine.data("node.id"), gid(jakarta).as_str());
    assert_eq!(mine.data("node.__typename"), "Dispute");
    assert_eq!(mine.data("node.title"), "Perusakan alat peraga kampanye");

    // Outside the caller's jurisdiction, missing, malformed, or asked by PUBLIC: one answer.
    let outside = node_as(&app, Some(&kpu), &gid(bogor)).await;
    let missing = node_as(&app, Some(&kpu), &gid(9_999_999)).await;
    let malformed = node_as(&app, Some(&kpu), "not an id").await;
    let public = node_as(&app, None, &gid(jakarta)).await;
    for answer in [&outside, &missing, &malformed, &public] {
        assert_eq!(answer.data("node"), &Value::Null, "{:#}", answer.body);
        assert_eq!(answer.error_codes(), ["NOT_FOUND"]);
        assert_eq!(
            answer.body["errors"][0]["message"],
            outside.body["errors"][0]["message"]
        );
    }
}

#[tokio::test]
async fn an_events_id_says_nothing_of_its_place_and_node_follows_the_timeline_policy() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    append_event(
        &app.db.conn,
        id,
        NewEvent {
            kind: "INTEL_NOTE",
            role: "POLICE",
            note: Some("massa bayaran dari luar kota"),
            audience: Some("POLICE"),
        },
    )
    .await;
    append_event(
        &app.db.conn,
        id,
        NewEvent {
            kind: "NOTE",
            role: "ADMIN",
            note: Some("koordinasi dengan Bawaslu"),
            audience: None,
        },
    )
    .await;
    let events = "query($id: ID!) { dispute(id: $id) { events { id seq kind } } }";
    let police = token("POLICE", "POLDA_METRO_JAYA");
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let by_police = app
        .gql_as(Some(&police), events, json!({ "id": gid(id) }))
        .await;
    by_police.expect_ok();
    let intel_id = by_police
        .data("dispute.events.1.id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(by_police.data("dispute.events.1.kind"), "INTEL_NOTE");
    let by_admin = app
        .gql_as(Some(&admin), events, json!({ "id": gid(id) }))
        .await;
    by_admin.expect_ok();
    let note = by_admin.data("dispute.events.1");
    assert_eq!(
        note["kind"], "NOTE",
        "ADMIN does not see the intelligence note"
    );
    let note_id = note["id"].as_str().unwrap().to_owned();

    // The id names the dispute and a key derived from the event's secret salt, never the
    // sequence number (which would count the hidden events before it).
    for event_id in [&intel_id, &note_id] {
        let text = decoded(event_id);
        let (dispute_ref, key) = text
            .strip_prefix("DisputeEvent:")
            .and_then(|rest| rest.split_once(':'))
            .unwrap();
        assert_eq!(dispute_ref, gid(id));
        assert!(
            key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
            "{text}"
        );
    }

    let again = node_as(&app, Some(&admin), &note_id).await;
    again.expect_ok();
    assert_eq!(again.data("node.__typename"), "DisputeEvent");
    assert_eq!(again.data("node.id"), note_id.as_str());
    let police_again = node_as(&app, Some(&police), &intel_id).await;
    police_again.expect_ok();

    // ADMIN may not see the intelligence note: the same NOT_FOUND as an event that does not
    // exist, and as an event of a dispute the caller does not see.
    let hidden = node_as(&app, Some(&admin), &intel_id).await;
    let forged = URL_SAFE_NO_PAD.encode(format!("DisputeEvent:{}:{}", gid(id), "0".repeat(32)));
    let missing = node_as(&app, Some(&admin), &forged).await;
    let banten = node_as(&app, Some(&token("POLICE", "POLDA_BANTEN")), &note_id).await;
    for answer in [&hidden, &missing, &banten] {
        assert_eq!(answer.data("node"), &Value::Null, "{:#}", answer.body);
        assert_eq!(answer.error_codes(), ["NOT_FOUND"]);
        assert_eq!(answer.body["errors"][0]["message"], "not found");
    }
    // No access-log entry for ADMIN, who read nothing sensitive.
    let log = app
        .gql_as(
            Some(&admin),
            "{ accessLog(filter: { field: INTEL_NOTES }) { nodes { subject } } }",
            json!({}),
        )
        .await;
    log.expect_ok();
    assert!(
        log.data("accessLog.nodes")
            .as_array()
            .unwrap()
            .iter()
            .all(|entry| entry["subject"] != "admin-officer"),
        "{:#}",
        log.body
    );
}

#[tokio::test]
async fn nodes_answers_each_id_in_order_and_is_bounded_and_costed() {
    let app = spawn_app().await;
    let jakarta = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let bogor = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            ..Default::default()
        },
    )
    .await;
    let kpu = token("KPU", "KPU_DKI");
    let province = URL_SAFE_NO_PAD.encode("Province:31");
    let answer = app
        .gql_as(
            Some(&kpu),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [gid(jakarta), gid(bogor), province, "nonsense"] }),
        )
        .await;
    assert_eq!(answer.data("nodes.0.id"), gid(jakarta).as_str());
    assert_eq!(answer.data("nodes.1"), &Value::Null, "out of scope");
    assert_eq!(answer.data("nodes.2.id"), province.as_str());
    assert_eq!(answer.data("nodes.3"), &Value::Null);
    assert_eq!(answer.error_at("nodes.1").as_deref(), Some("NOT_FOUND"));
    assert_eq!(answer.error_at("nodes.3").as_deref(), Some("NOT_FOUND"));
    assert_eq!(answer.error_codes().len(), 2);

    let too_many: Vec<String> = (0..101).map(|_| province.clone()).collect();
    let answer = app
        .gql_as(
            Some(&kpu),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": too_many }),
        )
        .await;
    assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(answer.body["errors"][0]["extensions"]["field"], "ids");

    // Each id counts as a node with its selection: 100 disputes with 300 events each are
    // over the complexity ceiling (20 000), as a page of 100 would be; 10 are not.
    const HEAVY: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Dispute { events(last: 300) { seq kind } } } }";
    let hundred: Vec<String> = (0..100).map(|_| gid(jakarta)).collect();
    let answer = app
        .gql_as(Some(&kpu), HEAVY, json!({ "ids": hundred }))
        .await;
    assert_eq!(
        answer.error_codes(),
        ["QUERY_TOO_COMPLEX"],
        "{:#}",
        answer.body
    );
    let ten: Vec<String> = (0..10).map(|_| gid(jakarta)).collect();
    let answer = app.gql_as(Some(&kpu), HEAVY, json!({ "ids": ten })).await;
    answer.expect_ok();
}

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  disputes(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { title } } }";

fn titles(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn disputes_page_backwards_with_last_and_before() {
    let app = spawn_app().await;
    let base = Utc.with_ymd_and_hms(2024, 11, 1, 8, 0, 0).unwrap();
    for n in 0..17 {
        insert_dispute(
            &app.db.conn,
            NewDispute {
                title: format!("Laporan {n:02}"),
                reported_at: base + Duration::hours(n),
                ..Default::default()
            },
        )
        .await;
    }
    let kpu = token("KPU", "KPU_DKI");
    let forwards: Vec<String> = (0..17).rev().map(|n| format!("Laporan {n:02}")).collect();

    // From the end of the list (the oldest reports), 5 at a time, each page in list order.
    let mut before: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let answer = app
            .gql_as(Some(&kpu), PAGE, json!({ "last": 5, "before": before }))
            .await;
        answer.expect_ok();
        let page = answer.data("disputes");
        pages.push(titles(page));
        assert_eq!(page["pageInfo"]["hasNextPage"], before.is_some());
        if page["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = page["pageInfo"]["startCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages.len(), 4);
    assert_eq!(pages[0], forwards[12..].to_vec(), "the last page first");
    assert_eq!(pages[3], forwards[..2].to_vec(), "the newest two last");
    let walked: Vec<String> = pages.into_iter().rev().flatten().collect();
    assert_eq!(walked, forwards, "backwards covers the list once, in order");

    // `before` a forward page's start is the page before it.
    let forward = app
        .gql_as(Some(&kpu), PAGE, json!({ "first": 4, "after": null }))
        .await;
    let second = app
        .gql_as(
            Some(&kpu),
            PAGE,
            json!({ "first": 4, "after": forward.data("disputes.pageInfo.endCursor") }),
        )
        .await;
    let back = app
        .gql_as(
            Some(&kpu),
            PAGE,
            json!({ "last": 4, "before": second.data("disputes.pageInfo.startCursor") }),
        )
        .await;
    assert_eq!(
        titles(back.data("disputes")),
        titles(forward.data("disputes"))
    );
    assert_eq!(back.data("disputes.pageInfo.hasPreviousPage"), false);

    for (variables, field) in [
        (json!({ "last": -1 }), "last"),
        (json!({ "last": 0 }), "last"),
        (json!({ "last": 101 }), "last"),
        (json!({ "first": 5, "last": 5 }), "last"),
        (json!({ "last": 5, "before": "bm90IGEgY3Vyc29y" }), "before"),
    ] {
        let answer = app.gql_as(Some(&kpu), PAGE, variables.clone()).await;
        assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"], "{variables}");
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
    }
}

#[tokio::test]
async fn the_access_log_pages_backwards_too() {
    let app = spawn_app().await;
    let bawaslu = token("BAWASLU", "BAWASLU_DKI");
    let mut disputes = Vec::new();
    for _ in 0..5 {
        let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
        // Each read of the reporter is one entry of the access log.
        app.gql_as(
            Some(&bawaslu),
            "query($id: ID!) { dispute(id: $id) { reporter { name } } }",
            json!({ "id": gid(id) }),
        )
        .await
        .expect_ok();
        disputes.push(gid(id));
    }
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    const LOG: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
      accessLog(first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { disputeId } } }";
    let ids = |answer: &Gql| -> Vec<String> {
        answer
            .data("accessLog.nodes")
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["disputeId"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = disputes.iter().rev().cloned().collect();
    let oldest = app.gql_as(Some(&admin), LOG, json!({ "last": 2 })).await;
    oldest.expect_ok();
    assert_eq!(ids(&oldest), newest_first[3..].to_vec());
    assert_eq!(oldest.data("accessLog.pageInfo.hasPreviousPage"), true);
    let before = app
        .gql_as(
            Some(&admin),
            LOG,
            json!({ "last": 2, "before": oldest.data("accessLog.pageInfo.startCursor") }),
        )
        .await;
    before.expect_ok();
    assert_eq!(ids(&before), newest_first[1..3].to_vec());
    assert_eq!(before.data("accessLog.pageInfo.hasNextPage"), true);
    let bad = app
        .gql_as(Some(&admin), LOG, json!({ "first": 2, "last": 2 }))
        .await;
    assert_eq!(bad.error_codes(), ["BAD_USER_INPUT"]);
}
