//! Dates and instants a client gets wrong are refused with a message that names the
//! argument and the format it expects (issue 13: what Python's `isoformat()` gives for a
//! naive datetime has no offset).

use serde_json::{Value, json};

use crate::support::tokens::token;
use crate::support::{Gql, spawn_app};

const REPORT: &str = "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id occurredAt } } }";

fn report_input(occurred_at: &str) -> Value {
    json!({
        "regencyCode": "31.71",
        "occurredAt": occurred_at,
        "category": "CAMPAIGN_PROPS",
        "severity": "LOW",
        "title": "Baliho dirusak",
        "description": "Baliho pasangan calon dirusak di depan kantor kelurahan.",
    })
}

/// The only error of an answer, with its code, field and message.
fn only_error(answer: &Gql) -> (String, String, String) {
    let errors = answer.body["errors"].as_array().expect("an error");
    assert_eq!(errors.len(), 1, "one error: {:#}", answer.body);
    let error = &errors[0];
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["extensions"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

fn assert_names_the_format(message: &str) {
    assert!(
        message.contains("RFC 3339") && message.contains("2024-11-25T10:00:00+07:00"),
        "the message says what is expected: {message}"
    );
}

#[tokio::test]
async fn a_timestamp_without_an_offset_in_a_variable_names_the_input_field_and_the_format() {
    let app = spawn_app().await;
    let kesbangpol = token("ADMIN", "KESBANGPOL_DKI");
    let answer = app
        .gql_as(
            Some(&kesbangpol),
            REPORT,
            json!({ "input": report_input("2024-11-25T10:00:00") }),
        )
        .await;
    let (code, field, message) = only_error(&answer);
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(field, "input.occurredAt");
    assert!(message.contains("input.occurredAt"), "{message}");
    assert_names_the_format(&message);
    assert!(
        answer.body["data"].is_null(),
        "nothing ran: {:#}",
        answer.body
    );

    // A date alone, and a value that is not a string, are refused the same way.
    for wrong in [json!("2024-11-25"), json!(1_732_500_000)] {
        let mut input = report_input("");
        input["occurredAt"] = wrong;
        let answer = app
            .gql_as(Some(&kesbangpol), REPORT, json!({ "input": input }))
            .await;
        let (code, field, _) = only_error(&answer);
        assert_eq!(
            (code.as_str(), field.as_str()),
            ("BAD_USER_INPUT", "input.occurredAt")
        );
    }

    // With an offset it is accepted, and answered in UTC.
    let answer = app
        .gql_as(
            Some(&kesbangpol),
            REPORT,
            json!({ "input": report_input("2024-11-25T10:00:00+07:00") }),
        )
        .await;
    answer.expect_ok();
    assert_eq!(
        answer.data("reportDispute.dispute.occurredAt"),
        "2024-11-25T03:00:00+00:00"
    );
    let answer = app
        .gql_as(
            Some(&kesbangpol),
            REPORT,
            json!({ "input": report_input("2024-11-25T03:00:00Z") }),
        )
        .await;
    answer.expect_ok();
}

#[tokio::test]
async fn a_timestamp_without_an_offset_inline_names_the_argument_and_the_format() {
    let app = spawn_app().await;
    let kpu = token("KPU", "KPU_DKI");
    let answer = app
        .gql_as(
            Some(&kpu),
            r#"{ disputes(filter: { occurredFrom: "2024-11-25T10:00:00" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    let (code, field, message) = only_error(&answer);
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(field, "filter.occurredFrom");
    assert_names_the_format(&message);

    let answer = app
        .gql_as(
            Some(&kpu),
            r#"{ disputes(filter: { occurredFrom: "2024-11-25T10:00:00+07:00" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    answer.expect_ok();
}

#[tokio::test]
async fn a_date_in_another_format_names_the_argument_and_yyyy_mm_dd() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ stages(activeOn: "27-11-2024") { code } }"#)
        .await;
    let (code, field, message) = only_error(&answer);
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(field, "activeOn");
    assert!(message.contains("YYYY-MM-DD"), "{message}");
    app.gql(r#"{ stages(activeOn: "2024-11-27") { code } }"#)
        .await
        .expect_ok();
}
