//! A property test of the request path up to execution: generated GraphQL documents (random
//! nesting, fragments and spreads with cycles, aliases, directives, variables, string
//! literals with odd characters) and JSON bodies (random values, arrays, wrong types). No
//! panic, every answer a well-formed GraphQL response or a 4xx, and no request over the
//! CPU bound.
//!
//! Its own test binary so that the process CPU clock (`/proc/self/stat`, as hostile.rs
//! reads it) counts only this server. `PROPTEST_CASES` sets the budget (32 by default so
//! `cargo test` stays quick; `.ci/run` runs 256).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a panic in a property test is a failed case with its message"
)]

#[path = "../api/support/mod.rs"]
#[allow(
    dead_code,
    reason = "the fuzz target uses part of the API tests' support"
)]
mod support;

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use support::hostile::process_cpu;

/// The CPU one request may take, generous for a debug build.
const CPU_BOUND: Duration = Duration::from_millis(500);

fn field_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "provinces",
        "code",
        "name",
        "regencies",
        "province",
        "me",
        "role",
        "__typename",
        "disputes",
        "nodes",
        "totalCount",
        "stages",
        "elections",
        "candidates",
        "agency",
        "agencies",
        "events",
        "disputeStats",
        "total",
        "__schema",
        "types",
        "fields",
        "ofType",
        "bogus",
        "id",
    ])
    .prop_map(str::to_owned)
}

/// A string literal of any characters (NUL, control, astral), escaped as GraphQL reads it.
fn string_literal() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap())
}

fn value_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("-1".to_owned()),
        Just("100000".to_owned()),
        string_literal(),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("$v".to_owned()),
        Just("$b".to_owned()),
        Just("$undefined".to_owned()),
        Just("[1, \"a\", [null]]".to_owned()),
        Just("{ provinceCodes: [\"31\"], bogus: 1 }".to_owned()),
        Just("REPORTED".to_owned()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
    ]
}

fn arguments() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "first", "last", "code", "after", "filter", "activeOn", "id", "x",
            ]),
            value_literal(),
        ),
        0..3,
    )
    .prop_map(|args| {
        if args.is_empty() {
            String::new()
        } else {
            let inner: Vec<String> = args.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("({})", inner.join(", "))
        }
    })
}

fn directive() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "",
        " @include(if: true)",
        " @skip(if: $b)",
        " @include(if: $v)",
        " @skip(if: \"no\")",
        " @bogus",
        " @deprecated",
        " @include(if: true) @include(if: false)",
    ])
    .prop_map(str::to_owned)
}

/// A field head: optional alias, name, arguments, directives.
fn field_head() -> impl Strategy<Value = String> {
    (
        prop::option::of(prop::sample::select(vec!["a", "b", "x1", "__a"])),
        field_name(),
        arguments(),
        directive(),
    )
        .prop_map(|(alias, name, args, dir)| match alias {
            Some(alias) => format!("{alias}: {name}{args}{dir}"),
            None => format!("{name}{args}{dir}"),
        })
}

fn type_condition() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["Query", "Province", "Dispute", "Viewer", "Bogus"])
        .prop_map(str::to_owned)
}

fn selection() -> impl Strategy<Value = String> {
    let leaf = field_head();
    leaf.prop_recursive(8, 96, 4, |inner| {
        prop_oneof![
            (field_head(), prop::collection::vec(inner.clone(), 1..4))
                .prop_map(|(head, items)| format!("{head} {{ {} }}", items.join(" "))),
            ((0..5usize), directive()).prop_map(|(n, dir)| format!("...F{n}{dir}")),
            (type_condition(), prop::collection::vec(inner, 1..3))
                .prop_map(|(on, items)| format!("... on {on} {{ {} }}", items.join(" "))),
        ]
    })
}

fn selection_set() -> impl Strategy<Value = String> {
    prop::collection::vec(selection(), 1..5).prop_map(|items| format!("{{ {} }}", items.join(" ")))
}

/// A document: an operation (sometimes with variables), then fragments F0… that spread each
/// other freely (cycles and unknown names included).
fn document() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "query ",
            "query Q ",
            "query Q($v: String, $b: Boolean!) ",
            "mutation M ",
            "subscription S ",
        ]),
        selection_set(),
        prop::collection::vec((type_condition(), selection_set()), 0..4),
    )
        .prop_map(|(head, set, fragments)| {
            let mut doc = format!("{head}{set}");
            for (n, (on, set)) in fragments.into_iter().enumerate() {
                doc.push_str(&format!(" fragment F{n} on {on} {set}"));
            }
            doc
        })
}

/// Any JSON value, nested.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "query",
                        "variables",
                        "v",
                        "b",
                        "operationName",
                        "extensions",
                        "persistedQuery"
                    ])
                    .prop_map(str::to_owned),
                    any::<String>(),
                ],
                inner,
                0..6,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A request body: a GraphQL request with random variables, a batch, random JSON, a
/// document mangled by truncation, or bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let request = (document(), json_value(), prop::option::of(json_value()))
        .prop_map(|(query, variables, name)| {
            let mut request = json!({ "query": query, "variables": variables });
            if let Some(name) = name {
                request["operationName"] = name;
            }
            request
        })
        .boxed();
    prop_oneof![
        4 => request.clone().prop_map(|r| r.to_string().into_bytes()),
        2 => (document(), any::<prop::sample::Index>()).prop_map(|(query, cut)| {
            let mut end = cut.index(query.len() + 1);
            while !query.is_char_boundary(end) {
                end -= 1;
            }
            json!({ "query": &query[..end] }).to_string().into_bytes()
        }),
        1 => prop::collection::vec(request, 0..12).prop_map(|batch| Value::from(batch).to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// Whether a JSON value is a GraphQL response: `data` and/or a non-empty `errors` list of
/// objects with a message, and no INTERNAL error.
fn well_formed(response: &Value) -> Result<(), String> {
    let Some(object) = response.as_object() else {
        return Err("not an object".into());
    };
    if !object.contains_key("data") && !object.contains_key("errors") {
        return Err("neither data nor errors".into());
    }
    if let Some(errors) = object.get("errors") {
        let errors = errors.as_array().ok_or("errors is not a list")?;
        if errors.is_empty() {
            return Err("errors is empty".into());
        }
        for error in errors {
            if !error["message"].is_string() {
                return Err("an error without a message".into());
            }
            if error["extensions"]["code"] == "INTERNAL" {
                return Err("INTERNAL".into());
            }
        }
    }
    Ok(())
}

#[test]
fn generated_documents_and_bodies_get_well_formed_answers_within_the_cpu_bound() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(support::spawn_app_with(&[
        "--rate-limit-per-minute",
        "0",
        "--public-rate-limit-per-minute",
        "0",
    ]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let bearer = support::tokens::token("ADMIN", "KESBANGPOL_DKI");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let worst = std::cell::Cell::new(Duration::ZERO);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&(body(), any::<bool>()), |(body, signed_in)| {
        let send = || {
            let mut request = client
                .post(format!("{}/graphql", app.base_url))
                .header("content-type", "application/json")
                .body(body.clone());
            if signed_in {
                request = request.bearer_auth(&bearer);
            }
            async move {
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let bytes = response.bytes().await.map_err(|e| e.to_string())?;
                Ok::<_, String>((status, bytes))
            }
        };
        // The least CPU over up to three tries: the client's own work shares the clock.
        let mut least = Duration::MAX;
        let mut answer = None;
        for _ in 0..3 {
            let before = process_cpu();
            let sent = runtime.block_on(send()).map_err(TestCaseError::fail)?;
            least = least.min(process_cpu() - before);
            answer = Some(sent);
            if least < CPU_BOUND {
                break;
            }
        }
        let (status, bytes) = answer.unwrap();
        worst.set(worst.get().max(least));
        *statuses.borrow_mut().entry(status).or_default() += 1;
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(
            least < CPU_BOUND,
            "{least:?} of CPU for {}",
            String::from_utf8_lossy(&body)
        );
        prop_assert!(status < 500, "{status}: {text}");
        if status == 200 {
            let response: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            let each: Vec<&Value> = match &response {
                Value::Array(batch) => batch.iter().collect(),
                single => vec![single],
            };
            for one in each {
                well_formed(one).map_err(|why| TestCaseError::fail(format!("{why}: {text}")))?;
            }
        } else {
            prop_assert!((400..500).contains(&status), "{status}: {text}");
        }
        Ok(())
    });
    eprintln!(
        "fuzz: {cases} cases, answers by status {:?}, the costliest took {:?} of CPU",
        statuses.borrow(),
        worst.get()
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let health = runtime.block_on(app.get("/healthz"));
    assert_eq!(health.status().as_u16(), 200);
}
