//! The bad-input corpus: hostile documents, NUL characters in every string argument of the
//! mutations, pagination out of range and malformed bodies. Each is a 4xx or a clean
//! GraphQL error code, never a 5xx, and the server keeps answering `/healthz`.

use serde_json::{Value, json};

use crate::harness::{REPORT, backend, client, codes, report_input, spawn_instance, summary};
use crate::support::TestDb;
use crate::support::hostile::costly_documents;
use crate::support::tokens::token;

/// What a case must get.
enum Expect {
    /// This code in every error, no `data` or `data` without the value.
    Code(&'static str),
    /// An HTTP status between 400 and 499.
    ClientError,
}

/// Sets `path` (dotted) of a JSON object to `value`.
fn with(mut input: Value, path: &str, value: Value) -> Value {
    let mut slot = &mut input;
    for part in path.split('.') {
        slot = &mut slot[part];
    }
    *slot = value;
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_input_corpus_gets_4xx_or_clean_codes_and_the_server_stays_healthy() {
    let test_db = TestDb::new().await;
    let base = spawn_instance(test_db.url(), |_| {}).await;
    let client = client();
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let police = token("POLICE", "POLDA_METRO_JAYA");

    // A dispute for the mutations to aim at.
    let created: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&admin)
        .json(&json!({ "query": REPORT, "variables": { "input": report_input("Sasaran", "bad-input-target") } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["reportDispute"]["dispute"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // (name, bearer, body as raw bytes, content type, expectation)
    let mut cases: Vec<(String, Option<String>, Vec<u8>, &str, Expect)> = Vec::new();
    let mut graphql = |name: String, bearer: Option<&String>, body: Value, expect: Expect| {
        cases.push((
            name,
            bearer.cloned(),
            body.to_string().into_bytes(),
            "application/json",
            expect,
        ));
    };
    for (name, body) in costly_documents() {
        graphql(
            format!("costly: {name}"),
            None,
            body,
            Expect::Code("QUERY_TOO_COMPLEX"),
        );
    }
    graphql(
        "unknown fragment".into(),
        None,
        json!({ "query": "{ ...Missing }" }),
        Expect::Code("BAD_USER_INPUT"),
    );
    graphql(
        "fragment cycle".into(),
        None,
        json!({ "query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" }),
        Expect::Code("BAD_USER_INPUT"),
    );

    let mut full = report_input("Lengkap", "bad-input-nul");
    full["districtCode"] = json!("31.71.01");
    full["locationText"] = json!("Jl. Kebon Sirih");
    full["reporter"] = json!({ "name": "Warga", "contact": "0812", "kind": "VOTER" });
    for field in [
        "regencyCode",
        "districtCode",
        "locationText",
        "occurredAt",
        "title",
        "description",
        "idempotencyKey",
        "reporter.name",
        "reporter.contact",
    ] {
        let text = full
            .pointer(&format!("/{}", field.replace('.', "/")))
            .and_then(Value::as_str)
            .unwrap();
        let poisoned = with(full.clone(), field, json!(format!("{text}\u{0}x")));
        graphql(
            format!("NUL in reportDispute {field}"),
            Some(&admin),
            json!({ "query": REPORT, "variables": { "input": poisoned } }),
            Expect::Code("BAD_USER_INPUT"),
        );
    }
    let mutations: [(&str, &str, Value, &String); 8] = [
        (
            "verifyDispute",
            "TransitionInput",
            json!({ "id": id, "expectedVersion": 1, "note": "a" }),
            &admin,
        ),
        (
            "addNote",
            "AddNoteInput",
            json!({ "id": id, "expectedVersion": 1, "note": "a" }),
            &admin,
        ),
        (
            "addIntelNote",
            "AddIntelNoteInput",
            json!({ "id": id, "expectedVersion": 1, "note": "a" }),
            &police,
        ),
        (
            "escalateDispute",
            "EscalateDisputeInput",
            json!({ "id": id, "expectedVersion": 1, "to": "BAWASLU", "reason": "a" }),
            &admin,
        ),
        (
            "dismissDispute",
            "ReasonInput",
            json!({ "id": id, "expectedVersion": 1, "reason": "a" }),
            &admin,
        ),
        (
            "reopenDispute",
            "ReasonInput",
            json!({ "id": id, "expectedVersion": 1, "reason": "a" }),
            &admin,
        ),
        (
            "resolveDispute",
            "ResolveDisputeInput",
            json!({ "id": id, "expectedVersion": 1, "outcome": "a" }),
            &admin,
        ),
        (
            "recordMediation",
            "RecordMediationInput",
            json!({ "id": id, "expectedVersion": 1, "heldAt": "2024-11-26T19:00:00+07:00", "participants": ["a"], "outcome": "a" }),
            &admin,
        ),
    ];
    for (mutation, input_type, input, bearer) in mutations {
        let query = format!(
            "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ dispute {{ id }} }} }}"
        );
        let strings: Vec<String> = input
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.is_string() || v.is_array())
            .map(|(k, _)| k.clone())
            .collect();
        for field in strings {
            let value = &input[&field];
            let poisoned = if let Some(items) = value.as_array() {
                json!(
                    items
                        .iter()
                        .map(|i| format!("{}\u{0}", i.as_str().unwrap()))
                        .collect::<Vec<_>>()
                )
            } else {
                json!(format!("{}\u{0}x", value.as_str().unwrap()))
            };
            graphql(
                format!("NUL in {mutation} {field}"),
                Some(bearer),
                json!({ "query": query, "variables": { "input": with(input.clone(), &field, poisoned) } }),
                Expect::Code("BAD_USER_INPUT"),
            );
        }
        // The same, written into the document as a literal.
        let literal = format!(
            "mutation {{ {mutation}(input: {{ id: \"{id}\\u0000\", expectedVersion: 1 }}) {{ dispute {{ id }} }} }}"
        );
        cases_literal_ok(&literal);
        graphql(
            format!("NUL literal in {mutation} id"),
            Some(bearer),
            json!({ "query": literal }),
            Expect::Code("BAD_USER_INPUT"),
        );
    }
    for (name, query) in [
        (
            "disputes(first: -1)",
            "{ disputes(first: -1) { totalCount } }".to_owned(),
        ),
        (
            "disputes(first: 100000)",
            "{ disputes(first: 100000) { totalCount } }".to_owned(),
        ),
        (
            "disputes(first: 2147483647)",
            "{ disputes(first: 2147483647) { totalCount } }".to_owned(),
        ),
        (
            "events(last: -5)",
            format!("{{ dispute(id: \"{id}\") {{ events(last: -5) {{ seq }} }} }}"),
        ),
        (
            "events(last: 100000)",
            format!("{{ dispute(id: \"{id}\") {{ events(last: 100000) {{ seq }} }} }}"),
        ),
        (
            "a forged cursor",
            "{ disputes(first: 5, after: \"not-a-cursor\") { totalCount } }".to_owned(),
        ),
    ] {
        graphql(
            name.to_owned(),
            Some(&admin),
            json!({ "query": query }),
            Expect::Code("BAD_USER_INPUT"),
        );
    }
    drop(graphql);

    let deep_json = format!(
        "{{\"query\":\"{{ __typename }}\",\"variables\":{{\"v\":{}1{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let raw: [(&str, Vec<u8>, &str); 14] = [
        ("an unterminated object", b"{".to_vec(), "application/json"),
        (
            "query is a number",
            br#"{"query": 1}"#.to_vec(),
            "application/json",
        ),
        (
            "no query",
            br#"{"variables": {}}"#.to_vec(),
            "application/json",
        ),
        ("an empty batch", b"[]".to_vec(), "application/json"),
        ("a batch of numbers", b"[1, 2]".to_vec(), "application/json"),
        (
            "a string",
            br#""{ __typename }""#.to_vec(),
            "application/json",
        ),
        ("null", b"null".to_vec(), "application/json"),
        (
            "variables is a string",
            br#"{"query": "{ __typename }", "variables": "x"}"#.to_vec(),
            "application/json",
        ),
        (
            "operationName is a number",
            br#"{"query": "{ __typename }", "operationName": 5}"#.to_vec(),
            "application/json",
        ),
        (
            "a number beyond f64",
            br#"{"query": "query($n: Int) { __typename }", "variables": {"n": 1e999}}"#.to_vec(),
            "application/json",
        ),
        (
            "invalid UTF-8",
            b"{\"query\": \"{ \xff\xfe }\"}".to_vec(),
            "application/json",
        ),
        (
            "JSON nested 10 000 deep",
            deep_json.into_bytes(),
            "application/json",
        ),
        (
            "eleven operations in a batch",
            json!(vec![json!({ "query": "{ __typename }" }); 11])
                .to_string()
                .into_bytes(),
            "application/json",
        ),
        (
            "text/plain",
            br#"{"query": "{ __typename }"}"#.to_vec(),
            "text/plain",
        ),
    ];
    for (name, body, content_type) in raw {
        cases.push((
            name.to_owned(),
            None,
            body,
            content_type,
            Expect::ClientError,
        ));
    }

    let mut failures = Vec::new();
    let (mut four_xx, mut clean_codes, mut five_xx) = (0u64, 0u64, 0u64);
    let total = cases.len();
    for (name, bearer, body, content_type, expect) in cases {
        let mut request = client
            .post(format!("{base}/graphql"))
            .header("content-type", content_type)
            .body(body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let codes = codes(&answer);
        if status >= 500 {
            five_xx += 1;
        }
        if (400..500).contains(&status) {
            four_xx += 1;
        } else if !codes.is_empty() && !codes.iter().any(|c| c == "INTERNAL") {
            clean_codes += 1;
        }
        let ok = match expect {
            Expect::Code(code) => {
                status < 500 && !codes.is_empty() && codes.iter().all(|c| c == code)
            }
            Expect::ClientError => (400..500).contains(&status),
        };
        if !ok {
            failures.push(format!(
                "{name}: {status} {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        let health = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200, "healthy after {name}");
    }
    summary(
        &format!("bad-input-{}", backend()),
        &[
            ("cases", total.to_string()),
            ("4xx", four_xx.to_string()),
            ("clean_code_200", clean_codes.to_string()),
            ("5xx", five_xx.to_string()),
            ("unexpected", failures.len().to_string()),
        ],
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(five_xx, 0);
}

/// The literal must carry the escape, not a raw NUL (a document with a raw NUL is a
/// different case: a parse error).
fn cases_literal_ok(literal: &str) {
    assert!(literal.contains("\\u0000") && !literal.contains('\u{0}'));
}
