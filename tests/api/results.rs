//! Issue 15, results beside objections: Jakarta's official count by region on `Election`
//! and `Regency`, and on a counting objection the count of its region.

use serde_json::json;

use crate::support::fixtures::{NewDispute, gid, insert_dispute};
use crate::support::spawn_app;
use crate::support::tokens::token;

#[tokio::test]
async fn jakarta_results_by_region_are_served_on_the_election_and_its_cities() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ elections(provinceCode: "31") { results { regionCode round validVotes invalidVotes
                    votesCast registeredVoters turnoutPercent source votes { ballotNumber votes percentOfValid } } }
                 jaksel: regency(code: "31.74") { results { regionName validVotes registeredVoters turnoutPercent } }
                 depok: regency(code: "32.76") { results { regionCode } } }"#)
        .await;
    answer.expect_ok();
    let results = answer.data("elections.0.results").as_array().unwrap();
    assert_eq!(results.len(), 7, "the province's total and its six regions");
    let total = &results[0];
    assert_eq!(total["regionCode"], "31");
    assert_eq!(total["round"], 1);
    assert_eq!(
        total["votes"],
        json!([
            { "ballotNumber": 1, "votes": 1_718_160, "percentOfValid": 39.4 },
            { "ballotNumber": 2, "votes": 459_230, "percentOfValid": 10.53 },
            { "ballotNumber": 3, "votes": 2_183_239, "percentOfValid": 50.07 },
        ])
    );
    assert_eq!(total["validVotes"], 4_360_629);
    assert_eq!(total["invalidVotes"], 363_764);
    assert_eq!(total["votesCast"], 4_724_393);
    assert_eq!(total["registeredVoters"], 8_214_007);
    assert_eq!(total["turnoutPercent"], 57.52);
    assert!(total["source"].as_str().unwrap().contains("KPU DKI"));
    // Jakarta Selatan's registered voters were not captured: no turnout is made up.
    let jaksel = &answer.data("jaksel.results")[0];
    assert_eq!(jaksel["regionName"], "Kota Administrasi Jakarta Selatan");
    assert_eq!(jaksel["validVotes"], 956_702);
    assert!(jaksel["registeredVoters"].is_null() && jaksel["turnoutPercent"].is_null());
    assert_eq!(answer.data("depok.results"), &json!([]));
}

#[tokio::test]
async fn a_counting_objection_shows_the_official_count_of_its_region() {
    let app = spawn_app().await;
    let objection = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "31.73",
            category: "COUNTING_OBJECTION",
            title: "Saksi keberatan atas rekapitulasi Jakarta Barat".into(),
            ..Default::default()
        },
    )
    .await;
    let props = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let depok = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.76",
            category: "COUNTING_OBJECTION",
            ..Default::default()
        },
    )
    .await;
    let query = "query($id: ID!) { dispute(id: $id) { category officialCount { regionCode validVotes votes { ballotNumber votes } } } }";
    let answer = app
        .gql_as(
            Some(&token("MEMBER", "KESBANGPOL_JAKBAR")),
            query,
            json!({ "id": gid(objection) }),
        )
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("dispute.officialCount.regionCode"), "31.73");
    assert_eq!(answer.data("dispute.officialCount.validVotes"), 997_075);
    assert_eq!(
        answer.data("dispute.officialCount.votes.2"),
        &json!({ "ballotNumber": 3, "votes": 500_738 })
    );
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let other = app
        .gql_as(Some(&admin), query, json!({ "id": gid(props) }))
        .await;
    other.expect_ok();
    assert!(other.data("dispute.officialCount").is_null());
    let outside = app
        .gql_as(
            Some(&token("BAWASLU", "BAWASLU_RI")),
            query,
            json!({ "id": gid(depok) }),
        )
        .await;
    outside.expect_ok();
    assert!(
        outside.data("dispute.officialCount").is_null(),
        "no count loaded for Depok"
    );
}
