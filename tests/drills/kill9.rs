//! kill -9 under write load: the real binary is killed mid-load (three times) and restarted on the same
//! database and port, and the clients retry every unacknowledged write unchanged.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::harness::{
    Server, Tally, Target, audit, backend, free_port, posko_command, summary, writer,
};
use crate::support::TestDb;

const WRITERS: usize = 8;
const KILLS: usize = 3;
/// A writer's ceiling, so the load stays bounded whatever the speed of the machine.
const MAX_DISPUTES_PER_WRITER: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_write_load_loses_and_duplicates_nothing() {
    let test_db = TestDb::new().await;
    let url = test_db.url().to_owned();
    let logs = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::start(&url, port, logs.path(), &[]);
    server
        .wait_ready(Duration::from_secs(120))
        .await
        .expect("the server starts");
    let target = Target::new(vec![server.base()]);
    let run = "k9".to_owned();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            tokio::spawn(writer(
                target.clone(),
                run.clone(),
                n,
                MAX_DISPUTES_PER_WRITER,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let acknowledged_before_kill = Tally::get(&target.tally.acknowledged);
    // Several kills, each at a different point of the writers' work, so that some land
    // between a commit and its answer.
    let mut recoveries = Vec::new();
    for round in 0..KILLS {
        let killed = Instant::now();
        server.kill9();
        server = Server::start(&url, port, logs.path(), &[]);
        server
            .wait_ready(Duration::from_secs(120))
            .await
            .expect("the server restarts");
        recoveries.push(killed.elapsed());
        // Let the retries settle and the load run on the restarted server for a while.
        tokio::time::sleep(Duration::from_millis(1200 + 300 * round as u64)).await;
    }
    let recovery = recoveries.iter().max().copied().unwrap_or_default();
    target.stop.store(true, Ordering::SeqCst);
    let mut written = Vec::new();
    for handle in writers {
        written.push(
            tokio::time::timeout(Duration::from_secs(120), handle)
                .await
                .expect("writers finish within their budget")
                .unwrap(),
        );
    }
    let result = audit(&url, &run, &written).await;
    let (timelines_ok, timelines) = posko_command(&url, &["verify-timeline"]);
    let (stats_ok, stats) = posko_command(&url, &["recount-stats"]);
    let tally = &target.tally;
    summary(
        &format!("kill9-{}", backend()),
        &[
            ("requests", Tally::get(&tally.requests).to_string()),
            ("acknowledged", result.settled.to_string()),
            (
                "acknowledged_before_kill",
                acknowledged_before_kill.to_string(),
            ),
            (
                "confirmed_on_retry",
                Tally::get(&tally.confirmed_on_retry).to_string(),
            ),
            ("lost", result.lost.to_string()),
            ("duplicated", result.duplicated.to_string()),
            ("unsettled", result.unsettled.to_string()),
            ("5xx", Tally::get(&tally.status_5xx).to_string()),
            (
                "transport_errors",
                Tally::get(&tally.transport_errors).to_string(),
            ),
            ("codes", format!("{:?}", tally.codes.lock().unwrap())),
            ("kills", KILLS.to_string()),
            ("recovery_ms", recovery.as_millis().to_string()),
        ],
    );
    assert!(acknowledged_before_kill > 0, "the load ran before the kill");
    assert!(
        result.settled > acknowledged_before_kill,
        "the load ran after the restart"
    );
    assert_eq!(result.lost, 0, "acknowledged writes are all stored");
    assert_eq!(result.duplicated, 0, "no key or note is stored twice");
    assert_eq!(
        result.unsettled, 0,
        "every write settles once the server is back"
    );
    assert!(result.refused.is_empty(), "{:#?}", result.refused);
    assert_eq!(
        tally.code_count("INTERNAL"),
        0,
        "{:?}",
        tally.codes.lock().unwrap()
    );
    assert!(timelines_ok, "verify-timeline: {timelines}");
    assert!(stats_ok, "recount-stats: {stats}");
    assert!(server.running());
}
