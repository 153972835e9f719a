//! PostgreSQL stopped and started under write load (POSKO_DRILL_PG_RESTART=1 only). The
//! drill stops a cluster of its own (`posko_drill`, port 5499, created on first use), so
//! tests and developers on the machine's main cluster are not cut off; the same
//! `pg_ctlcluster` command restarts `main` when POSKO_DRILL_PG_CLUSTER=main and
//! POSKO_DRILL_PG_PORT=5432 say so.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

use crate::harness::{
    Server, Tally, Target, audit, detached, free_port, posko_command, summary, writer,
};

const WRITERS: usize = 8;
const MAX_DISPUTES_PER_WRITER: usize = 200;
/// How long PostgreSQL stays down while the clients write.
const OUTAGE: Duration = Duration::from_secs(3);

/// A PostgreSQL cluster this drill may stop; dropping the guard starts it again, whatever
/// happened (a failed assertion included).
struct Cluster {
    version: String,
    name: String,
    port: String,
}

impl Cluster {
    fn from_env() -> Self {
        let version = std::fs::read_dir("/etc/postgresql")
            .expect("PostgreSQL is installed (/etc/postgresql)")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            // The first, as .ci/run picks it.
            .min()
            .expect("a PostgreSQL version under /etc/postgresql");
        let name = std::env::var("POSKO_DRILL_PG_CLUSTER").unwrap_or_else(|_| "posko_drill".into());
        let port = std::env::var("POSKO_DRILL_PG_PORT").unwrap_or_else(|_| "5499".into());
        Self {
            version,
            name,
            port,
        }
    }

    fn ctl(&self, action: &str) -> bool {
        detached("pg_ctlcluster")
            .args([
                "--skip-systemctl-redirect",
                &self.version,
                &self.name,
                action,
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Creates the cluster on first use (trust on 127.0.0.1, as the main one in CI) and
    /// starts it.
    fn ensure_running(&self) {
        let config = format!("/etc/postgresql/{}/{}", self.version, self.name);
        if !std::path::Path::new(&config).exists() {
            let created = detached("pg_createcluster")
                .args([
                    &self.version,
                    &self.name,
                    "-p",
                    &self.port,
                    "--",
                    "--auth=trust",
                ])
                .status()
                .unwrap();
            assert!(
                created.success(),
                "pg_createcluster {} {}",
                self.version,
                self.name
            );
        }
        if !self.ready() {
            self.ctl("start");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ready() {
            assert!(
                Instant::now() < deadline,
                "cluster {} does not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ready(&self) -> bool {
        Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.ready() {
            self.ctl("start");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load_answers_503_and_recovers_without_a_restart() {
    if std::env::var("POSKO_DRILL_PG_RESTART").as_deref() != Ok("1") {
        eprintln!("skipped: set POSKO_DRILL_PG_RESTART=1 to stop and start a PostgreSQL cluster");
        return;
    }
    let cluster = Cluster::from_env();
    cluster.ensure_running();
    let name = format!("posko_drill_{}", std::process::id());
    let admin = sea_orm::Database::connect(cluster.admin_url())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let _ = admin.close().await;
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port);

    let logs = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        &url,
        free_port(),
        logs.path(),
        &[("POSKO_DB_ACQUIRE_TIMEOUT_MS", "1000")],
    );
    server
        .wait_ready(Duration::from_secs(120))
        .await
        .expect("the server starts");
    let target = Target::new(vec![server.base()]);
    let run = "pgr".to_owned();
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
    tokio::time::sleep(Duration::from_millis(1500)).await;

    target.outage.store(true, Ordering::SeqCst);
    let stopping = Instant::now();
    assert!(cluster.ctl("stop"), "pg_ctlcluster stop");
    let stopped_after = stopping.elapsed();
    let acknowledged_at_stop = Tally::get(&target.tally.acknowledged);
    tokio::time::sleep(OUTAGE).await;
    let acknowledged_during_outage = Tally::get(&target.tally.acknowledged) - acknowledged_at_stop;
    assert!(cluster.ctl("start"), "pg_ctlcluster start");
    let started = Instant::now();
    // Recovered: the first write acknowledged after PostgreSQL is back.
    let acknowledged_at_start = Tally::get(&target.tally.acknowledged);
    while Tally::get(&target.tally.acknowledged) == acknowledged_at_start {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no write succeeds after the restart"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recovery = started.elapsed();
    target.outage.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2000)).await;
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
    let still_running = server.running();
    let outage_codes = target.outage_codes.lock().unwrap().clone();
    let tally = &target.tally;
    summary(
        "pg-restart-postgres",
        &[
            ("requests", Tally::get(&tally.requests).to_string()),
            ("acknowledged", result.settled.to_string()),
            (
                "confirmed_on_retry",
                Tally::get(&tally.confirmed_on_retry).to_string(),
            ),
            ("lost", result.lost.to_string()),
            ("duplicated", result.duplicated.to_string()),
            ("unsettled", result.unsettled.to_string()),
            ("5xx", Tally::get(&tally.status_5xx).to_string()),
            ("503", Tally::get(&tally.status_503).to_string()),
            (
                "acknowledged_while_down",
                acknowledged_during_outage.to_string(),
            ),
            (
                "outage_answers",
                format!("{outage_codes:?}").replace(' ', ""),
            ),
            ("stop_ms", stopped_after.as_millis().to_string()),
            ("recovery_ms", recovery.as_millis().to_string()),
        ],
    );
    let log = server.log_text();
    drop(server);
    let admin = sea_orm::Database::connect(cluster.admin_url())
        .await
        .unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    let _ = admin.close().await;

    assert!(
        still_running,
        "the server survived the outage without a restart"
    );
    assert!(
        outage_codes.keys().all(|k| k == "503 SERVICE_UNAVAILABLE"),
        "during the outage every failure is 503 SERVICE_UNAVAILABLE: {outage_codes:?}\n{log}"
    );
    assert_eq!(
        tally.code_count("INTERNAL"),
        0,
        "{:?}\n{log}",
        tally.codes.lock().unwrap()
    );
    assert_eq!(result.lost, 0, "acknowledged writes are all stored");
    assert_eq!(result.duplicated, 0);
    assert_eq!(result.unsettled, 0);
    assert!(result.refused.is_empty(), "{:#?}", result.refused);
    assert!(timelines_ok, "verify-timeline: {timelines}");
    assert!(stats_ok, "recount-stats: {stats}");
}
