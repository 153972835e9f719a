//! Schedule (KPU) and directory (ADMIN) changes, each recorded with who, when, before
//! and after.

use entity::directory_change;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::support::fixtures::{NewDispute, gid, insert_dispute};
use crate::support::spawn_app;
use crate::support::tokens::token;

const CREATE: &str = "mutation($input: CreateStageInput!) { createStage(input: $input) { id code round startsOn endsOn election { id } } }";

async fn election_id(app: &crate::support::TestApp, region: &str) -> String {
    let answer = app.gql("{ elections(year: 2024) { id regionCode } }").await;
    answer
        .data("elections")
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["regionCode"] == region)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn kpu_dki_schedules_a_second_round_only_where_the_win_rule_has_one() {
    let app = spawn_app().await;
    let jakarta = election_id(&app, "31").await;
    let kpu = token("KPU", "KPU_DKI");
    let input = json!({ "electionId": jakarta, "code": "DEBAT_PUTARAN_KEDUA", "name": "Debat publik putaran kedua",
                        "labelEn": "Second-round debate", "phase": "IMPLEMENTATION", "startsOn": "2025-02-10", "endsOn": "2025-02-10", "round": 2 });
    let created = app
        .gql_as(Some(&kpu), CREATE, json!({ "input": input }))
        .await;
    created.expect_ok();
    assert_eq!(created.data("createStage.round"), 2);
    assert_eq!(created.data("createStage.election.id"), &json!(jakarta));

    let depok = election_id(&app, "32.76").await;
    let mut outside = input.clone();
    outside["electionId"] = json!(depok);
    outside["round"] = json!(1);
    assert_eq!(
        app.gql_as(Some(&kpu), CREATE, json!({ "input": outside }))
            .await
            .error_codes(),
        ["FORBIDDEN"]
    );

    let national = token("KPU", "KPU_RI");
    let mut no_runoff = outside.clone();
    no_runoff["round"] = json!(2);
    let refused = app
        .gql_as(Some(&national), CREATE, json!({ "input": no_runoff }))
        .await;
    assert_eq!(refused.error_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "round");

    let bawaslu = app
        .gql_as(
            Some(&token("BAWASLU", "BAWASLU_DKI")),
            CREATE,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(bawaslu.error_codes(), ["FORBIDDEN"]);

    let stage_id = created.data("createStage.id").as_str().unwrap().to_owned();
    let update = app
        .gql_as(Some(&kpu), "mutation($input: UpdateStageInput!) { updateStage(input: $input) { startsOn endsOn held } }",
            json!({ "input": { "id": stage_id, "startsOn": "2025-02-11", "endsOn": "2025-02-11", "held": false } }))
        .await;
    update.expect_ok();
    assert_eq!(update.data("updateStage.startsOn"), "2025-02-11");
    let backwards = app
        .gql_as(
            Some(&kpu),
            "mutation($input: UpdateStageInput!) { updateStage(input: $input) { id } }",
            json!({ "input": { "id": stage_id, "startsOn": "2025-03-01" } }),
        )
        .await;
    assert_eq!(backwards.error_codes(), ["BAD_USER_INPUT"]);

    let changes = directory_change::Entity::find()
        .all(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(changes.len(), 2, "a create and an update");
    assert_eq!(changes[1].actor_agency, "KPU_DKI");
    assert!(changes[1].before.as_deref().unwrap().contains("2025-02-10"));
    assert!(changes[1].after.as_deref().unwrap().contains("2025-02-11"));
}

#[tokio::test]
async fn admin_changes_a_jurisdiction_and_it_applies_at_once() {
    let app = spawn_app().await;
    let timur = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "31.75",
            ..Default::default()
        },
    )
    .await;
    let depok = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.76",
            ..Default::default()
        },
    )
    .await;
    let kodam = token("MEMBER", "KODAM_JAYA");
    let read = "query($id: ID!) { dispute(id: $id) { id } }";
    for id in [timur, depok] {
        app.gql_as(Some(&kodam), read, json!({ "id": gid(id) }))
            .await
            .expect_ok();
    }

    // Kesbangpol DKI narrows Kodam Jaya inside DKI to Jakarta Pusat; what Kodam holds
    // outside DKI (Depok) is not Kesbangpol DKI's to change and stays.
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let set = "mutation($input: SetJurisdictionInput!) { setAgencyJurisdiction(input: $input) { code jurisdiction { code coverage } } }";
    let answer = app
        .gql_as(Some(&admin), set, json!({ "input": { "agencyCode": "KODAM_JAYA", "regions": [{ "code": "31.71", "coverage": "FULL" }] } }))
        .await;
    answer.expect_ok();
    let codes: Vec<&str> = answer
        .data("setAgencyJurisdiction.jurisdiction")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"31.71") && codes.contains(&"32.76"),
        "{codes:?}"
    );
    assert!(!codes.contains(&"31"), "{codes:?}");
    assert_eq!(
        app.gql_as(Some(&kodam), read, json!({ "id": gid(timur) }))
            .await
            .error_codes(),
        ["NOT_FOUND"]
    );
    app.gql_as(Some(&kodam), read, json!({ "id": gid(depok) }))
        .await
        .expect_ok();

    // Kesbangpol DKI may not grant what it does not hold itself.
    let outside = app
        .gql_as(Some(&admin), set, json!({ "input": { "agencyCode": "KODAM_JAYA", "regions": [{ "code": "32.76", "coverage": "FULL" }] } }))
        .await;
    assert_eq!(outside.error_codes(), ["FORBIDDEN"]);
    let national = app
        .gql_as(Some(&admin), set, json!({ "input": { "agencyCode": "MABES_POLRI", "regions": [{ "code": "31", "coverage": "FULL" }] } }))
        .await;
    assert_eq!(national.error_codes(), ["FORBIDDEN"]);
    assert_eq!(
        directory_change::Entity::find()
            .count(&app.db.conn)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn admin_manages_agencies_and_posko_membership() {
    let app = spawn_app().await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let upsert =
        "mutation($input: UpsertAgencyInput!) { upsertAgency(input: $input) { code kind level } }";
    let created = app
        .gql_as(Some(&admin), upsert, json!({ "input": { "code": "FPK_DKI", "name": "Forum Pembauran Kebangsaan DKI", "kind": "COMMUNITY", "level": "PROVINCE", "provinceCode": "31" } }))
        .await;
    created.expect_ok();
    let add = "mutation($input: PoskoMemberInput!) { addPoskoMember(input: $input) { members { code } } }";
    let members = app
        .gql_as(
            Some(&admin),
            add,
            json!({ "input": { "provinceCode": "31", "agencyCode": "FPK_DKI" } }),
        )
        .await;
    members.expect_ok();
    assert!(
        members
            .data("addPoskoMember.members")
            .to_string()
            .contains("FPK_DKI")
    );
    let again = app
        .gql_as(
            Some(&admin),
            add,
            json!({ "input": { "provinceCode": "31", "agencyCode": "FPK_DKI" } }),
        )
        .await;
    assert_eq!(again.error_codes(), ["BAD_USER_INPUT"]);
    let remove = "mutation($input: PoskoMemberInput!) { removePoskoMember(input: $input) { members { code } } }";
    let host = app
        .gql_as(
            Some(&admin),
            remove,
            json!({ "input": { "provinceCode": "31", "agencyCode": "KESBANGPOL_DKI" } }),
        )
        .await;
    assert_eq!(host.error_codes(), ["BAD_USER_INPUT"], "the host stays");
    let removed = app
        .gql_as(
            Some(&admin),
            remove,
            json!({ "input": { "provinceCode": "31", "agencyCode": "FPK_DKI" } }),
        )
        .await;
    assert!(
        !removed
            .data("removePoskoMember.members")
            .to_string()
            .contains("FPK_DKI")
    );
    let elsewhere = app
        .gql_as(Some(&admin), upsert, json!({ "input": { "code": "FKUB_JABAR", "name": "FKUB Jawa Barat", "kind": "COMMUNITY", "level": "PROVINCE", "provinceCode": "32" } }))
        .await;
    assert_eq!(elsewhere.error_codes(), ["FORBIDDEN"]);
    let member = app
        .gql_as(
            Some(&token("MEMBER", "KODAM_JAYA")),
            add,
            json!({ "input": { "provinceCode": "31", "agencyCode": "KPU_RI" } }),
        )
        .await;
    assert_eq!(member.error_codes(), ["FORBIDDEN"]);
    assert_eq!(
        directory_change::Entity::find()
            .count(&app.db.conn)
            .await
            .unwrap(),
        3
    );
}
