//! Hostile inputs shared by the API tests, the drills and the fuzz target: the process CPU
//! clock the server runs on, and the costly documents the request path must refuse cheaply.

use std::time::Duration;

use serde_json::{Value, json};

/// CPU time (user + system) this process has used: the server runs in it.
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name may hold spaces; the fields after it are fixed.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

/// The fragment bomb: `levels` fragments each spreading the one below four times.
pub fn fragment_bomb(levels: usize) -> String {
    let mut query = String::from("query { ...F16 } fragment F0 on Query { __typename }");
    for n in 1..=levels {
        let p = n - 1;
        query.push_str(&format!(
            " fragment F{n} on Query {{ ...F{p} ...F{p} ...F{p} ...F{p} }}"
        ));
    }
    query
}

/// Each costly document with its name: every one must be `QUERY_TOO_COMPLEX`, refused for
/// little CPU. The first is the fragment bomb, under 1 KB.
pub fn costly_documents() -> Vec<(&'static str, Value)> {
    let bomb = fragment_bomb(16);
    // Each level adds a field through a fragment: 30 levels deep with a short text.
    let mut deep = String::from("{ provinces { ...D0 } }");
    for n in 0..30 {
        deep.push_str(&format!(
            " fragment D{n} on Province {{ regencies {{ province {{ ...D{} }} }} }}",
            n + 1
        ));
    }
    deep.push_str(" fragment D30 on Province { code }");
    let fan_out = format!(
        "{{ me {{ {} }} }}",
        "... on Viewer { role role role role role role role role } ".repeat(300)
    );
    let operations: String = (0..11)
        .map(|n| format!("query Q{n} {{ __typename }} "))
        .collect();
    let brackets = format!(
        "{{ regency(code: {}\"31\"{}) {{ name }} }}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let nested_variable = (0..20).fold(json!(1), |inner, _| json!([inner]));
    vec![
        ("fragment bomb", json!({ "query": bomb })),
        (
            "fragment bomb, one level less",
            json!({ "query": fragment_bomb(15).replace("F16", "F15") }),
        ),
        ("depth through fragments", json!({ "query": deep })),
        ("inline fragment fan-out", json!({ "query": fan_out })),
        (
            "many operations",
            json!({ "query": operations, "operationName": "Q0" }),
        ),
        ("bracket nesting", json!({ "query": brackets })),
        (
            "many variable values",
            json!({ "query": "query($v: [String!]) { __typename }", "variables": { "v": vec!["x"; 5000] } }),
        ),
        (
            "deep variables",
            json!({ "query": "query($v: [String!]) { __typename }", "variables": { "v": nested_variable } }),
        ),
    ]
}
