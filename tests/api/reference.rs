//! The reference data, as PUBLIC reads it over HTTP.

use serde_json::Value;

use crate::support::spawn_app;

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
async fn sql_statements_do_not_grow_with_the_rows_returned() {
    let app = spawn_app().await;
    // Each loader appears at one depth only: a loader used at two depths may or may not
    // merge its two batches, depending on which timer fires first.
    let nested = |province: &str| {
        format!(
            r#"{{ elections(provinceCode: "{province}") {{ id province {{ code posko {{ name }} }} regency {{ code districts {{ code }} }}
                  stages {{ code election {{ id }} }} candidates {{ ballotNumber }} }} }}"#
        )
    };
    // Banten holds 9 contests, West Java 28: the same shape, three times the rows. (Lists
    // longer than 30 are resolved by `FuturesOrdered`, which yields every 32 items; in a
    // slow debug build a DataLoader's 1 ms window can then close early and split a batch
    // in two — still one statement per batch, never one per row.)
    let (small, small_answer) = app.statements_for(&nested("36")).await;
    let (large, large_answer) = app.statements_for(&nested("32")).await;
    small_answer.expect_ok();
    large_answer.expect_ok();
    let small_rows = small_answer.data("elections").as_array().unwrap().len();
    let large_rows = large_answer.data("elections").as_array().unwrap().len();
    assert!(large_rows >= 3 * small_rows, "{small_rows} vs {large_rows}");
    assert_eq!(
        small, large,
        "statements: {small} for {small_rows} rows, {large} for {large_rows} rows"
    );
    assert!(small <= 10, "{small} statements for one nested query");

    let (tree, tree_answer) = app
        .statements_for("{ provinces { regencies { code elections { id } } elections { id candidates { ballotNumber } } posko { members { code jurisdiction { code districts { code } } } } } }")
        .await;
    tree_answer.expect_ok();
    // One statement per relation in the document (11) for 38 provinces and 514 regencies;
    // at most a few more where a batch window closes early (see above).
    assert!(tree <= 16, "{tree} statements for the whole region tree");
}

#[tokio::test]
async fn a_malformed_id_is_bad_user_input() {
    let app = spawn_app().await;
    let answer = app.gql(r#"{ election(id: "abc") { id } }"#).await;
    assert_eq!(answer.status, 200, "a field error is not a request error");
    assert_eq!(answer.error_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(answer.body["errors"][0]["extensions"]["field"], "id");
}
