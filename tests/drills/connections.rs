//! 200 idle and 64 trickling connections do not slow others down: a normal query still
//! answers within 2 s while they are open (a behaviour check, not a benchmark).

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;

use crate::harness::{backend, client, spawn_instance, summary};
use crate::support::TestDb;

const IDLE: usize = 200;
const TRICKLING: usize = 64;
const QUERIES: usize = 20;

async fn query_latency(client: &reqwest::Client, base: &str) -> Duration {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({ "query": "{ provinces { code name } }" }))
        .send()
        .await
        .expect("the query is answered");
    assert_eq!(response.status().as_u16(), 200);
    let _ = response.bytes().await.unwrap();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_do_not_slow_a_normal_query() {
    let test_db = TestDb::new().await;
    // One worker, as the API tests run: the hardest case for head-of-line blocking.
    let base = spawn_instance(test_db.url(), |_| {}).await;
    let address = base.trim_start_matches("http://").to_owned();
    let client = client();
    let mut baseline = Vec::new();
    for _ in 0..5 {
        baseline.push(query_latency(&client, &base).await);
    }

    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    // Each trickling connection sends its headers, then a body byte every 200 ms; they
    // stop after 4 s, before the 10 s body timeout would end them.
    let body = serde_json::json!({ "query": "{ provinces { code } }" }).to_string();
    let mut trickling = Vec::new();
    for _ in 0..TRICKLING {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let body = body.clone();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        trickling.push(tokio::spawn(async move {
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let started = Instant::now();
            for byte in body.into_bytes() {
                if started.elapsed() > Duration::from_secs(4)
                    || socket.write_all(&[byte]).await.is_err()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut loaded = Vec::new();
    for _ in 0..QUERIES {
        // A fresh client each time: a new connection must be accepted past the open ones.
        loaded.push(query_latency(&crate::harness::client(), &base).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in &trickling {
        task.abort();
    }
    drop(idle);
    baseline.sort();
    loaded.sort();
    summary(
        &format!("connections-{}", backend()),
        &[
            ("idle", IDLE.to_string()),
            ("trickling", TRICKLING.to_string()),
            ("queries", QUERIES.to_string()),
            (
                "baseline_p50_ms",
                baseline[baseline.len() / 2].as_millis().to_string(),
            ),
            ("p50_ms", loaded[loaded.len() / 2].as_millis().to_string()),
            ("max_ms", loaded[loaded.len() - 1].as_millis().to_string()),
        ],
    );
    assert!(
        loaded.iter().all(|l| *l < Duration::from_secs(2)),
        "every query answers within 2 s: {loaded:?}"
    );
}
