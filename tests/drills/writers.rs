//! 32 concurrent writers on one server: every write succeeds or answers a clean code; no
//! `database is locked` (SQLite) or other INTERNAL leaks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{
    Answer, REPORT, backend, client, codes, post, report_input, spawn_instance, summary, transition,
};
use crate::support::TestDb;
use crate::support::tokens::token;

const WRITERS: usize = 32;
const DISPUTES_PER_WRITER: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_writers_get_success_or_a_clean_code() {
    let test_db = TestDb::new().await;
    // The production defaults, not the API tests' small pool and single worker.
    let base = spawn_instance(test_db.url(), |config| {
        config.workers = Some(2);
        config.db_max_connections = 10;
    })
    .await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let client = client();
    let started = Instant::now();
    let writers = (0..WRITERS).map(|w| {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..DISPUTES_PER_WRITER {
                let key = format!("w32-{w}-{n}");
                let body = json!({ "query": REPORT, "variables": { "input": report_input("Tiga puluh dua", &key) } });
                let sent = Instant::now();
                let answer = post(&client, &base, Some(&admin), &body).await;
                answers.push((answer.clone(), sent.elapsed()));
                let Answer::Http { body, .. } = answer else { continue };
                let Some(id) = body["data"]["reportDispute"]["dispute"]["id"].as_str() else { continue };
                for version in 1..=2 {
                    let body = transition(
                        "addNote",
                        "AddNoteInput",
                        json!({ "id": id, "expectedVersion": version, "note": format!("{key}-{version}") }),
                    );
                    let sent = Instant::now();
                    answers.push((post(&client, &base, Some(&admin), &body).await, sent.elapsed()));
                }
            }
            answers
        })
    });
    let mut outcomes: HashMap<String, u64> = HashMap::new();
    let mut latencies = Vec::new();
    let mut unclean = Vec::new();
    for handle in futures_util::future::join_all(writers).await {
        for (answer, latency) in handle.unwrap() {
            latencies.push(latency);
            let key = match &answer {
                Answer::Transport(_) => "transport".to_owned(),
                Answer::Http { status, body } => {
                    let codes = codes(body);
                    if *status >= 500 && !codes.iter().all(|c| c == "SERVICE_UNAVAILABLE") {
                        unclean.push(format!("{answer:?}"));
                    }
                    if codes.is_empty() {
                        format!("{status} ok")
                    } else {
                        format!("{status} {}", codes.join(","))
                    }
                }
            };
            if !(key == "200 ok"
                || key.ends_with(" CONFLICT")
                || key.ends_with("SERVICE_UNAVAILABLE")
                || key.ends_with(" TIMEOUT"))
            {
                unclean.push(format!("{answer:?}"));
            }
            *outcomes.entry(key).or_default() += 1;
        }
    }
    latencies.sort();
    let elapsed = started.elapsed();
    summary(
        &format!("writers32-{}", backend()),
        &[
            ("requests", latencies.len().to_string()),
            ("outcomes", format!("{outcomes:?}").replace(' ', "")),
            (
                "p50_ms",
                latencies[latencies.len() / 2].as_millis().to_string(),
            ),
            (
                "max_ms",
                latencies.last().map_or(0, Duration::as_millis).to_string(),
            ),
            ("elapsed_ms", elapsed.as_millis().to_string()),
        ],
    );
    assert!(
        unclean.is_empty(),
        "every write succeeds or answers a clean code: {unclean:#?}"
    );
    assert_eq!(
        latencies.len(),
        WRITERS * DISPUTES_PER_WRITER * 3,
        "every write was answered"
    );
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}
