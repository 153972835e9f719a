//! Issue 15, the posko's members: Jakarta's city agencies and community bodies sit in the
//! posko with jurisdictions, and `MEMBER` tokens work for them.

use entity::posko_member;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, gid, insert_dispute};
use crate::support::spawn_app;
use crate::support::tokens::token;

fn codes_of_kind(members: &Value, kind: &str) -> Vec<String> {
    let mut codes: Vec<String> = members
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == kind)
        .map(|m| m["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn the_jakarta_posko_holds_city_agencies_and_community_bodies_with_jurisdictions() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ posko(provinceCode: "31") { members { code kind level jurisdiction { code coverage } } } }"#)
        .await;
    answer.expect_ok();
    let members = answer.data("posko.members");
    assert_eq!(
        codes_of_kind(members, "LOCAL_GOVERNMENT"),
        [
            "DISKOMINFOTIK_DKI",
            "KESBANGPOL_JAKBAR",
            "KESBANGPOL_JAKPUS",
            "KESBANGPOL_JAKSEL",
            "KESBANGPOL_JAKTIM",
            "KESBANGPOL_JAKUT",
            "SATPOL_PP_DKI",
        ]
    );
    assert_eq!(
        codes_of_kind(members, "COMMUNITY"),
        ["FKDM_DKI", "FKUB_DKI"]
    );
    let jaksel = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "KESBANGPOL_JAKSEL")
        .unwrap();
    assert_eq!(jaksel["level"], "REGENCY");
    assert_eq!(
        jaksel["jurisdiction"],
        json!([{ "code": "31.74", "coverage": "FULL" }])
    );
    for member in members.as_array().unwrap() {
        assert!(
            !member["jurisdiction"].as_array().unwrap().is_empty(),
            "{member} has no jurisdiction"
        );
    }
}

#[tokio::test]
async fn a_member_token_for_a_city_office_sees_its_city_only() {
    let app = spawn_app().await;
    let jaksel = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "31.74",
            title: "Bentrokan pendukung di Kebayoran".into(),
            ..Default::default()
        },
    )
    .await;
    let jakpus = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let list =
        "{ me { role agency { code kind } } disputes(first: 50) { totalCount nodes { id } } }";
    let answer = app
        .gql_as(Some(&token("MEMBER", "KESBANGPOL_JAKSEL")), list, json!({}))
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("me.agency.kind"), "LOCAL_GOVERNMENT");
    assert_eq!(answer.data("disputes.totalCount"), 1);
    assert_eq!(answer.data("disputes.nodes.0.id"), gid(jaksel).as_str());
    // A province-wide community body sees both.
    let fkub = app
        .gql_as(Some(&token("MEMBER", "FKUB_DKI")), list, json!({}))
        .await;
    fkub.expect_ok();
    assert_eq!(fkub.data("me.agency.kind"), "COMMUNITY");
    assert_eq!(fkub.data("disputes.totalCount"), 2);
    let _ = jakpus;
    // The kinds fit MEMBER only: an ADMIN token for a city Kesbangpol office is refused.
    let admin = app
        .gql_as(Some(&token("ADMIN", "KESBANGPOL_JAKSEL")), list, json!({}))
        .await;
    assert_eq!(admin.status, 401, "{:#}", admin.body);
}

#[tokio::test]
async fn the_seed_leaves_a_member_admin_removed_out() {
    let app = spawn_app().await;
    let removed = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "mutation($input: PoskoMemberInput!) { removePoskoMember(input: $input) { members { code } } }",
            json!({ "input": { "provinceCode": "31", "agencyCode": "FKDM_DKI" } }),
        )
        .await;
    removed.expect_ok();
    app.db
        .conn
        .execute_unprepared("UPDATE seed_state SET fingerprint = 'an older data version'")
        .await
        .unwrap();
    let report = posko::db::seed::run(&app.db.conn)
        .await
        .unwrap()
        .expect("the seed ran");
    assert!(
        report.skipped.iter().any(|s| s.contains("31:FKDM_DKI")),
        "{:?}",
        report.skipped
    );
    let members: Vec<String> = posko_member::Entity::find()
        .filter(posko_member::Column::AgencyCode.is_in(["FKDM_DKI", "FKUB_DKI"]))
        .all(&app.db.conn)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.agency_code)
        .collect();
    assert_eq!(members, ["FKUB_DKI"], "FKDM stays removed, FKUB is kept");
}
