//! The reference data, as PUBLIC reads it over HTTP.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::tokens::{claims, hs256, now, token};
use crate::support::{TEST_SECRET, TestApp, spawn_app, spawn_app_with, spawn_instance_beside};

fn codes(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[key].as_str().expect("a code").to_owned())
        .collect()
}

#[tokio::test]
async fn seed_holds_38_provinces_514_regencies_and_545_elections() {
    let app = spawn_app().await;
    let answer = app
        .gql("{ provinces { code regencies { code kind isAdministrative elections { id } } } elections(year: 2024) { id kind } }")
        .await;
    answer.expect_ok();
    let provinces = answer.data("provinces").as_array().unwrap();
    assert_eq!(provinces.len(), 38);
    let regencies: Vec<&Value> = provinces
        .iter()
        .flat_map(|p| p["regencies"].as_array().unwrap())
        .collect();
    assert_eq!(regencies.len(), 514);
    assert_eq!(
        regencies
            .iter()
            .filter(|r| r["kind"] == "KABUPATEN")
            .count(),
        416
    );
    assert_eq!(regencies.iter().filter(|r| r["kind"] == "KOTA").count(), 98);
    let elections = answer.data("elections").as_array().unwrap();
    assert_eq!(elections.len(), 545);
    let count = |kind: &str| elections.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(
        (count("GOVERNOR"), count("REGENT"), count("MAYOR")),
        (37, 415, 93)
    );

    // Jakarta's six administrative regions are not autonomous and hold no election.
    let administrative: Vec<&&Value> = regencies
        .iter()
        .filter(|r| r["isAdministrative"] == true)
        .collect();
    assert_eq!(administrative.len(), 6);
    for region in administrative {
        assert!(
            region["code"].as_str().unwrap().starts_with("31."),
            "{region}"
        );
        assert_eq!(region["elections"].as_array().unwrap().len(), 0, "{region}");
    }
}

#[tokio::test]
async fn yogyakarta_elects_no_governor_and_jakarta_may_need_two_rounds() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ diy: elections(provinceCode: "34", kind: GOVERNOR) { id }
                 jakarta: elections(provinceCode: "31") { kind winRule maxRounds regency { code }
                   candidates { ballotNumber headName deputyName nominationPath supportingParties votesRoundOne }
                   stages { code round held isNational } } }"#)
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("diy").as_array().unwrap().len(), 0);
    let jakarta = answer.data("jakarta").as_array().unwrap();
    assert_eq!(jakarta.len(), 1, "only the governor is elected in Jakarta");
    let governor = &jakarta[0];
    assert_eq!(governor["kind"], "GOVERNOR");
    assert_eq!(governor["winRule"], "MAJORITY_WITH_RUNOFF");
    assert_eq!(governor["maxRounds"], 2);
    assert!(governor["regency"].is_null());
    let pairs = governor["candidates"].as_array().unwrap();
    assert_eq!(
        codes(&governor["candidates"], "headName"),
        ["Ridwan Kamil", "Dharma Pongrekun", "Pramono Anung (Wibowo)"]
    );
    assert_eq!(pairs[1]["nominationPath"], "INDEPENDENT");
    assert_eq!(pairs[1]["supportingParties"].as_array().unwrap().len(), 0);
    assert_eq!(pairs[2]["votesRoundOne"], 2_183_239);
    // The planned second round is there, marked as not held.
    let second: Vec<&Value> = governor["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["round"] == 2)
        .collect();
    assert_eq!(second.len(), 8);
    assert!(
        second
            .iter()
            .all(|s| s["held"] == false && s["isNational"] == false)
    );
    assert!(second.iter().any(|s| s["code"] == "PEMUNGUTAN_SUARA"));
}

#[tokio::test]
async fn the_stage_active_on_25_november_2024_is_the_quiet_period() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ stages(activeOn: "2024-11-25") { code name phase startsOn endsOn confirmed } }"#)
        .await;
    answer.expect_ok();
    let stages = answer.data("stages").as_array().unwrap();
    assert_eq!(stages.len(), 1, "{stages:?}");
    assert_eq!(stages[0]["code"], "MASA_TENANG");
    assert_eq!(stages[0]["name"], "Masa tenang");
    assert_eq!(stages[0]["phase"], "IMPLEMENTATION");
    assert_eq!(stages[0]["startsOn"], "2024-11-24");
    assert_eq!(stages[0]["endsOn"], "2024-11-26");

    // Polling day overlaps counting; a relative stage has no dates and is never "active".
    let polling = app.gql(r#"{ stages(activeOn: "2024-11-27") { code } all: stages { code startsOn endsOn dateRule } }"#).await;
    assert_eq!(
        codes(polling.data("stages"), "code"),
        ["PEMUNGUTAN_SUARA", "PENGHITUNGAN_REKAPITULASI"]
    );
    let relative = polling
        .data("all")
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "PENETAPAN_TERPILIH_PASCA_MK")
        .expect("the post-MK stage");
    assert!(relative["startsOn"].is_null() && relative["endsOn"].is_null());
    assert!(relative["dateRule"].as_str().unwrap().contains("MK"));
}

#[tokio::test]
async fn polda_metro_jaya_covers_depok_but_not_bogor() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ agency(code: "POLDA_METRO_JAYA") { kind jurisdiction { code coverage districts { name } } }
                 depok: agencies(regionCode: "32.76", kind: POLICE) { code }
                 bogor: agencies(regionCode: "32.71", kind: POLICE) { code } }"#)
        .await;
    answer.expect_ok();
    let jurisdiction = answer.data("agency.jurisdiction");
    let covered = codes(jurisdiction, "code");
    assert!(covered.contains(&"32.76".to_owned()), "{covered:?}");
    assert!(!covered.contains(&"32.71".to_owned()), "{covered:?}");
    assert_eq!(
        codes(answer.data("depok"), "code"),
        ["MABES_POLRI", "POLDA_METRO_JAYA"]
    );
    assert_eq!(codes(answer.data("bogor"), "code"), ["MABES_POLRI"]);

    // Kabupaten Tangerang is split by district between two Poldas.
    let tangerang = jurisdiction
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["code"] == "36.03")
        .expect("a row for Kabupaten Tangerang");
    assert_eq!(tangerang["coverage"], "PARTIAL");
    let districts = codes(&tangerang["districts"], "name");
    assert!(
        districts.contains(&"Teluknaga".to_owned()) && !districts.contains(&"Tigaraksa".to_owned())
    );
}

#[tokio::test]
async fn the_jakarta_posko_is_hosted_by_kesbangpol_with_its_members() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ posko(provinceCode: "31") { name address host { code } members { code kind } province { code } }
                 province(code: "31") { posko { host { code } } } none: posko(provinceCode: "32") { name } }"#)
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("posko.host.code"), "KESBANGPOL_DKI");
    assert_eq!(answer.data("province.posko.host.code"), "KESBANGPOL_DKI");
    let members = codes(answer.data("posko.members"), "code");
    for code in [
        "KESBANGPOL_DKI",
        "KPU_DKI",
        "BAWASLU_DKI",
        "POLDA_METRO_JAYA",
        "KODAM_JAYA",
        "KEJATI_DKI",
    ] {
        assert!(
            members.contains(&code.to_owned()),
            "{code} missing from {members:?}"
        );
    }
    assert!(answer.data("none").is_null());
}

#[tokio::test]
async fn national_agencies_cover_the_whole_country() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ agencies { code level coversWholeCountry } papua: agencies(regionCode: "95") { code } }"#)
        .await;
    answer.expect_ok();
    let national: Vec<String> = answer
        .data("agencies")
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["coversWholeCountry"] == true)
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(national, ["BAWASLU_RI", "KPU_RI", "MABES_POLRI"]);
    assert_eq!(
        codes(answer.data("papua"), "code"),
        ["BAWASLU_RI", "KPU_RI", "MABES_POLRI"]
    );
}

#[tokio::test]
async fn old_papua_barat_codes_resolve_to_papua_barat_daya() {
    let app = spawn_app().await;
    let answer = app.gql(r#"{ regency(code: "92.01") { code name province { code } } missing: regency(code: "99.99") { code } }"#).await;
    answer.expect_ok();
    assert_eq!(answer.data("regency.code"), "96.01");
    assert_eq!(answer.data("regency.province.code"), "96");
    assert!(answer.data("missing").is_null());
}

#[tokio::test]
async fn reference_reads_are_served_from_memory_without_sql() {
    let app = spawn_app().await;
    let documents = [
        r#"{ elections(provinceCode: "32") { id province { code posko { name } } regency { code districts { code } }
              stages { code election { id } } candidates { ballotNumber } } }"#,
        "{ provinces { regencies { code elections { id } } elections { id candidates { ballotNumber } } posko { members { code jurisdiction { code districts { code } } } } } }",
        r#"{ stages(provinceCode: "31", activeOn: "2024-11-25") { code } agencies(regionCode: "32.76") { code }
              agency(code: "POLDA_METRO_JAYA") { province { name } } regency(code: "92.01") { name province { name } }
              posko(provinceCode: "31") { host { code } members { code } } }"#,
    ];
    for document in documents {
        let (statements, answer) = app.statements_for(document).await;
        answer.expect_ok();
        assert_eq!(statements, 0, "{statements} SQL statements for {document}");
    }
    let provinces = app.gql("{ provinces { code } }").await;
    assert_eq!(provinces.data("provinces").as_array().unwrap().len(), 38);
}

/// Polls `document` on `app` until `pick` of its answer equals `want`; the time it took.
async fn seen_within(
    app: &TestApp,
    token: Option<&str>,
    document: &str,
    pick: &str,
    want: &Value,
) -> Duration {
    let started = Instant::now();
    loop {
        let answer = app.gql_as(token, document, json!({})).await;
        answer.expect_ok();
        if answer.data(pick) == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{pick} is still {} after 5 s",
            answer.data(pick)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_instance_is_served_by_every_instance_within_a_second() {
    let app = spawn_app().await;
    let other = spawn_instance_beside(&app, &[]).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let name_of = r#"{ agency(code: "KODAM_JAYA") { name } }"#;
    // Both instances have served the old name from memory.
    for instance in [&app, &other] {
        assert_eq!(
            instance.gql(name_of).await.data("agency.name"),
            &json!("Kodam Jaya/Jayakarta")
        );
    }
    let renamed = app
        .gql_as(
            Some(&admin),
            "mutation($input: UpsertAgencyInput!) { upsertAgency(input: $input) { name } }",
            json!({ "input": { "code": "KODAM_JAYA", "name": "Komando Daerah Militer Jaya", "kind": "MILITARY", "level": "PROVINCE", "provinceCode": "31" } }),
        )
        .await;
    renamed.expect_ok();
    // The writing instance answers with its own change at once…
    assert_eq!(
        app.gql(name_of).await.data("agency.name"),
        &json!("Komando Daerah Militer Jaya")
    );
    // …and the other within a second.
    let took = seen_within(
        &other,
        None,
        name_of,
        "agency.name",
        &json!("Komando Daerah Militer Jaya"),
    )
    .await;
    assert!(
        took < Duration::from_secs(1),
        "the other instance took {took:?}"
    );

    // A change made outside Posko (a hand-written fix, `posko seed` in another process)
    // reaches both as well: triggers, not the mutation, mark reference data as changed.
    app.db
        .conn
        .execute_unprepared("UPDATE province SET name = 'Daerah Khusus Jakarta' WHERE code = '31'")
        .await
        .unwrap();
    for instance in [&app, &other] {
        let took = seen_within(
            instance,
            None,
            r#"{ province(code: "31") { name } }"#,
            "province.name",
            &json!("Daerah Khusus Jakarta"),
        )
        .await;
        assert!(took < Duration::from_secs(1), "an instance took {took:?}");
    }

    // Jurisdictions derive from reference rows: one narrowed on the first instance applies
    // to the other's callers within a second too (its agency cache is emptied on reload).
    let kodam = token("MEMBER", "KODAM_JAYA");
    let mine = "{ me { jurisdiction { provinceCodes regencyCodes } } }";
    let before = other.gql_as(Some(&kodam), mine, json!({})).await;
    assert!(
        before
            .data("me.jurisdiction.regencyCodes")
            .as_array()
            .unwrap()
            .len()
            > 1,
        "{:#}",
        before.body
    );
    app.gql_as(
        Some(&admin),
        "mutation($input: SetJurisdictionInput!) { setAgencyJurisdiction(input: $input) { code } }",
        json!({ "input": { "agencyCode": "KODAM_JAYA", "regions": [{ "code": "31.75", "coverage": "FULL" }] } }),
    )
    .await
    .expect_ok();
    let took = seen_within(
        &other,
        Some(&kodam),
        mine,
        "me.jurisdiction.regencyCodes",
        // Kesbangpol DKI edits only the DKI part; the regions outside DKI stay.
        &json!([
            "31.75", "32.16", "32.75", "32.76", "36.03", "36.71", "36.74"
        ]),
    )
    .await;
    assert!(
        took < Duration::from_secs(1),
        "the narrowed jurisdiction took {took:?}"
    );
}

/// How many PUBLIC answers were reused, from `/metrics`.
async fn reused_answers(app: &TestApp) -> u64 {
    counter(app, "posko_public_answers_reused_total").await
}

/// A counter's value, from `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn public_answers_of_reference_data_are_reused_until_it_changes_and_nothing_else_is() {
    let app = spawn_app().await;
    let provinces = "{ provinces { code name } }";
    let first = app.gql(provinces).await;
    first.expect_ok();
    let before = reused_answers(&app).await;
    let again = app.gql(provinces).await;
    assert_eq!(again.body, first.body);
    assert_eq!(
        reused_answers(&app).await,
        before + 1,
        "the same answer, kept"
    );

    // Variables and operation names are part of what an answer depends on.
    let one = "query One($code: String!) { province(code: $code) { name } }";
    let jakarta = app.gql_as(None, one, json!({ "code": "31" })).await;
    let bali = app.gql_as(None, one, json!({ "code": "51" })).await;
    assert_eq!(
        jakarta.data("province.name"),
        &json!("Daerah Khusus Ibukota Jakarta")
    );
    assert_eq!(bali.data("province.name"), &json!("Bali"));
    assert_eq!(
        app.gql_as(None, one, json!({ "code": "31" })).await.body,
        jakarta.body
    );

    // A change of reference data is served at once on this instance, kept answers or not.
    app.db
        .conn
        .execute_unprepared("UPDATE province SET name = 'Provinsi Bali' WHERE code = '51'")
        .await
        .unwrap();
    let took = seen_within(
        &app,
        None,
        "{ province(code: \"51\") { name } }",
        "province.name",
        &json!("Provinsi Bali"),
    )
    .await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    let changed = app.gql_as(None, one, json!({ "code": "51" })).await;
    assert_eq!(changed.data("province.name"), &json!("Provinsi Bali"));

    // An answer that read the database is never kept, even beside reference data.
    let mixed = "{ provinces { code } disputeStats { total } }";
    let reused = reused_answers(&app).await;
    for _ in 0..3 {
        app.gql(mixed).await.expect_ok();
    }
    assert_eq!(reused_answers(&app).await, reused);

    // PUBLIC's answers are PUBLIC's alone: a token's caller is never given one.
    let reused = reused_answers(&app).await;
    let kpu = token("KPU", "KPU_DKI");
    for _ in 0..2 {
        app.gql_as(Some(&kpu), provinces, json!({}))
            .await
            .expect_ok();
    }
    assert_eq!(reused_answers(&app).await, reused);
}

/// How many answers kept for callers with tokens were reused, from `/metrics`.
async fn reused_caller_answers(app: &TestApp) -> u64 {
    counter(app, "posko_caller_answers_reused_total").await
}

/// A token of the test server for a subject, role and agency, expiring at `exp`.
fn token_of(subject: &str, role: &str, agency: &str, exp: i64) -> String {
    let mut claims = claims(role, agency);
    claims["sub"] = json!(subject);
    claims["exp"] = json!(exp);
    hs256(&claims, TEST_SECRET.as_bytes())
}

#[tokio::test]
async fn a_callers_answers_of_reference_data_are_kept_for_that_caller_alone() {
    // No leeway, so a token can expire within the test.
    let app = spawn_app_with(&["--jwt-leeway", "0"]).await;
    // Read from the caller and the reference data alone: nothing here touches the database.
    let mine = "{ me { role subject agency { code } jurisdiction { wholeCountry provinceCodes regencyCodes } } provinces { code } }";
    let exp = now() + 3600;
    let officer = token_of("officer-a", "MEMBER", "KODAM_JAYA", exp);
    let first = app.gql_as(Some(&officer), mine, json!({})).await;
    first.expect_ok();
    assert_eq!(first.data("me.subject"), &json!("officer-a"));
    let reused = reused_caller_answers(&app).await;
    let public_reused = reused_answers(&app).await;
    let again = app.gql_as(Some(&officer), mine, json!({})).await;
    assert_eq!(again.body, first.body);
    assert_eq!(
        reused_caller_answers(&app).await,
        reused + 1,
        "the caller's own answer, kept"
    );

    // Whoever differs from that caller in anything its token says is another caller:
    // never given the first one's answer, and given its own the second time.
    let others = [
        ("another subject", "officer-b", "MEMBER", "KODAM_JAYA", exp),
        (
            "another role and agency",
            "officer-a",
            "ADMIN",
            "KESBANGPOL_DKI",
            exp,
        ),
        ("another agency", "officer-a", "MEMBER", "KEJATI_DKI", exp),
        (
            "another expiry",
            "officer-a",
            "MEMBER",
            "KODAM_JAYA",
            exp + 60,
        ),
    ];
    for (difference, subject, role, agency, exp) in others {
        let other = token_of(subject, role, agency, exp);
        let reused = reused_caller_answers(&app).await;
        let answer = app.gql_as(Some(&other), mine, json!({})).await;
        answer.expect_ok();
        assert_eq!(
            reused_caller_answers(&app).await,
            reused,
            "{difference}: executed, not given the first caller's answer"
        );
        assert_eq!(answer.data("me.subject"), &json!(subject), "{difference}");
        assert_eq!(answer.data("me.role"), &json!(role), "{difference}");
        assert_eq!(
            answer.data("me.agency.code"),
            &json!(agency),
            "{difference}"
        );
        let twice = app.gql_as(Some(&other), mine, json!({})).await;
        assert_eq!(twice.body, answer.body, "{difference}");
        assert_eq!(
            reused_caller_answers(&app).await,
            reused + 1,
            "{difference}: its own answer, kept"
        );
    }
    // The other agency's answer is its own jurisdiction, not the first one's.
    let kejati = app
        .gql_as(
            Some(&token_of("officer-a", "MEMBER", "KEJATI_DKI", exp)),
            mine,
            json!({}),
        )
        .await;
    assert_ne!(
        kejati.data("me.jurisdiction"),
        first.data("me.jurisdiction")
    );

    // PUBLIC and the callers share nothing either way.
    let public = app.gql(mine).await;
    public.expect_ok();
    assert_eq!(public.data("me.subject"), &Value::Null);
    assert_eq!(reused_answers(&app).await, public_reused);

    // An answer that read the database is never kept for a caller either.
    let mixed = "{ provinces { code } disputeStats { total } }";
    let reused = reused_caller_answers(&app).await;
    for _ in 0..3 {
        app.gql_as(Some(&officer), mixed, json!({}))
            .await
            .expect_ok();
    }
    assert_eq!(reused_caller_answers(&app).await, reused);

    // An expired token is refused before any kept answer is looked at.
    let short = token_of("officer-c", "MEMBER", "KODAM_JAYA", now() + 2);
    app.gql_as(Some(&short), mine, json!({})).await.expect_ok();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = app.gql_as(Some(&short), mine, json!({})).await;
    assert_eq!(late.error_codes(), ["UNAUTHENTICATED"], "{:#}", late.body);
}

#[tokio::test]
async fn a_malformed_id_is_bad_user_input() {
    let app = spawn_app().await;
    let answer = app.gql(r#"{ election(id: "abc") { id } }"#).await;
    assert_eq!(answer.status, 200, "a field error is not a request error");
    assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(answer.body["errors"][0]["extensions"]["field"], "id");
}
