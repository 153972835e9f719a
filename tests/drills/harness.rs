//! What the drills share: the real `posko` binary on a port of 127.0.0.1, a client that
//! tells a transport failure from an answer, writers that retry unacknowledged writes with
//! the same idempotency key or expected version, and the summary line of each drill.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entity::{dispute, dispute_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};

use crate::support::TEST_SECRET;
use crate::support::tokens::token;

/// The PostgreSQL server the suite runs on, if any (the API tests' variable).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("POSKO_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

pub fn backend() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A free port of 127.0.0.1 (the restarted server takes the same one).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A command for `program` that does not inherit the test's open descriptors beyond stdio.
/// Cargo runs under `flock` here (README), and a child that outlives the test — a
/// PostgreSQL started by a drill, a server left by a killed run — would otherwise hold the
/// build lock for as long as it lives.
pub fn detached(program: &str) -> Command {
    let mut command = Command::new("bash");
    command.args([
        "-c",
        r#"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; exec "$@""#,
        "posko-drill",
        program,
    ]);
    command
}

/// The `posko` binary serving one database; killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    /// Starts `posko serve` on the database and port, with extra environment.
    pub fn start(
        database_url: &str,
        port: u16,
        log_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Self {
        static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let log = log_dir.join(format!(
            "server-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = detached(env!("CARGO_BIN_EXE_posko"));
        command
            .arg("serve")
            .env("POSKO_DATABASE_URL", database_url)
            .env("POSKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSKO_JWT_SECRET", TEST_SECRET)
            .env("POSKO_LOG", "warn")
            .env("POSKO_WORKERS", "2")
            // The drills measure behaviour under load, not the limits.
            .env("POSKO_RATE_LIMIT_PER_MINUTE", "0")
            .env("POSKO_PUBLIC_RATE_LIMIT_PER_MINUTE", "0")
            .stdout(Stdio::null())
            .stderr(file);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        Self { child, port, log }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `/readyz` answers 200; how long it took, or `None` past the timeout.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        let client = client();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited ({status}); log: {}", self.log_text());
            }
            if let Ok(response) = client.get(format!("{}/readyz", self.base())).send().await
                && response.status().as_u16() == 200
            {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// SIGKILL: no drain, no shutdown hook.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `posko` command (verify-timeline, recount-stats) on the database; its exit
/// status and output.
pub fn posko_command(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_posko"))
        .args(args)
        .env("POSKO_DATABASE_URL", database_url)
        .env("POSKO_JWT_SECRET", TEST_SECRET)
        .env("POSKO_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A client whose every request ends within 15 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// One request's fate.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Refused, reset or timed out before an answer: the write may or may not have landed.
    /// The text is for failure messages.
    Transport(#[allow(dead_code, reason = "read through Debug in failure messages")] String),
    Http {
        status: u16,
        body: Value,
    },
}

impl Answer {
    pub fn codes(&self) -> Vec<String> {
        match self {
            Self::Transport(_) => Vec::new(),
            Self::Http { body, .. } => codes(body),
        }
    }
}

/// The `extensions.code` of every error of a GraphQL answer.
pub fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn post(
    client: &reqwest::Client,
    base: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Answer {
    let mut request = client.post(format!("{base}/graphql")).json(body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    match request.send().await {
        Err(err) => Answer::Transport(err.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Err(err) => Answer::Transport(err.to_string()),
                Ok(bytes) => Answer::Http {
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or_else(
                        |_| json!({ "unparsable": String::from_utf8_lossy(&bytes) }),
                    ),
                },
            }
        }
    }
}

/// Counters every writer adds to.
#[derive(Default)]
pub struct Tally {
    pub requests: AtomicU64,
    pub acknowledged: AtomicU64,
    /// Retries that found their earlier, unacknowledged attempt had landed (a replayed
    /// report, or a CONFLICT at exactly the next version of a dispute only this writer
    /// changes).
    pub confirmed_on_retry: AtomicU64,
    pub transport_errors: AtomicU64,
    pub status_5xx: AtomicU64,
    pub status_503: AtomicU64,
    /// Every error code answered, with its count (INTERNAL must stay absent).
    pub codes: std::sync::Mutex<HashMap<String, u64>>,
    /// Answers that are not a success, CONFLICT or SERVICE_UNAVAILABLE/TIMEOUT: bugs.
    pub unexpected: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn count(&self, answer: &Answer) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match answer {
            Answer::Transport(_) => {
                self.transport_errors.fetch_add(1, Ordering::Relaxed);
            }
            Answer::Http { status, body } => {
                if *status >= 500 {
                    self.status_5xx.fetch_add(1, Ordering::Relaxed);
                }
                if *status == 503 {
                    self.status_503.fetch_add(1, Ordering::Relaxed);
                }
                let mut seen = self.codes.lock().unwrap();
                for code in codes(body) {
                    *seen.entry(code).or_default() += 1;
                }
            }
        }
    }

    pub fn code_count(&self, code: &str) -> u64 {
        self.codes.lock().unwrap().get(code).copied().unwrap_or(0)
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How a write ended for its client.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// The server said it succeeded.
    Acknowledged(Value),
    /// A retry showed the earlier attempt had landed.
    ConfirmedOnRetry,
    /// Never settled within the writer's budget (it may or may not be stored).
    Unsettled,
    /// An answer that should not happen.
    Refused(String),
}

/// Where writers send requests; the drills that restart a server keep the address.
pub struct Target {
    pub bases: Vec<String>,
    pub token: String,
    pub tally: Tally,
    pub stop: AtomicBool,
    /// While set, every error answer is recorded as seen during an outage.
    pub outage: AtomicBool,
    pub outage_codes: std::sync::Mutex<HashMap<String, u64>>,
    pub client: reqwest::Client,
}

impl Target {
    pub fn new(bases: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            bases,
            token: token("ADMIN", "KESBANGPOL_DKI"),
            tally: Tally::default(),
            stop: AtomicBool::new(false),
            outage: AtomicBool::new(false),
            outage_codes: std::sync::Mutex::new(HashMap::new()),
            client: client(),
        })
    }

    /// Sends a write until it settles: a transport failure, 5xx, SERVICE_UNAVAILABLE or
    /// TIMEOUT is retried unchanged (same key, same expected version), within 200 tries
    /// and 90 s.
    pub async fn write(&self, writer: usize, body: &Value, expected_version: Option<i64>) -> Fate {
        let started = Instant::now();
        for attempt in 0..200 {
            if started.elapsed() > Duration::from_secs(90) {
                break;
            }
            let base = &self.bases[(writer + attempt) % self.bases.len()];
            let answer = post(&self.client, base, Some(&self.token), body).await;
            self.tally.count(&answer);
            if self.outage.load(Ordering::SeqCst) {
                let mut seen = self.outage_codes.lock().unwrap();
                match &answer {
                    Answer::Transport(_) => *seen.entry("<transport>".into()).or_default() += 1,
                    Answer::Http { status, .. } => {
                        for code in answer.codes() {
                            *seen.entry(format!("{status} {code}")).or_default() += 1;
                        }
                    }
                }
            }
            let retry = match &answer {
                Answer::Transport(_) => true,
                Answer::Http { status, body } => {
                    let codes = codes(body);
                    if codes.is_empty() && *status == 200 && body.get("data").is_some() {
                        let replayed = body["data"]["reportDispute"]["replayed"] == true;
                        if attempt > 0 && replayed {
                            self.tally
                                .confirmed_on_retry
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        self.tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                        return Fate::Acknowledged(body["data"].clone());
                    }
                    if let (Some(expected), true) =
                        (expected_version, codes.iter().any(|c| c == "CONFLICT"))
                    {
                        let current = body["errors"][0]["extensions"]["currentVersion"].as_i64();
                        return if attempt > 0 && current == Some(expected + 1) {
                            self.tally
                                .confirmed_on_retry
                                .fetch_add(1, Ordering::Relaxed);
                            Fate::ConfirmedOnRetry
                        } else {
                            Fate::Refused(format!("attempt {attempt}: {body}"))
                        };
                    }
                    *status >= 500
                        || codes
                            .iter()
                            .any(|c| c == "SERVICE_UNAVAILABLE" || c == "TIMEOUT")
                }
            };
            if !retry {
                let text = format!("{answer:?}");
                self.tally.unexpected.lock().unwrap().push(text.clone());
                return Fate::Refused(text);
            }
            // Back off a little: a restarting server refuses connections for a while.
            tokio::time::sleep(Duration::from_millis(50 + 10 * (attempt as u64).min(20))).await;
        }
        Fate::Unsettled
    }
}

pub const REPORT: &str = "mutation($input: ReportDisputeInput!) {
  reportDispute(input: $input) { replayed dispute { id version } } }";

pub fn report_input(title: &str, key: &str) -> Value {
    json!({
        "regencyCode": "31.71",
        "occurredAt": "2024-11-25T10:00:00+07:00",
        "category": "CLASH",
        "severity": "LOW",
        "title": title,
        "description": "Keributan di depan TPS.",
        "idempotencyKey": key,
    })
}

pub fn transition(mutation: &str, input_type: &str, input: Value) -> Value {
    json!({
        "query": format!("mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ dispute {{ id version }} }} }}"),
        "variables": { "input": input },
    })
}

/// What one writer tried and how each try ended: report keys and note texts.
#[derive(Default)]
pub struct Written {
    pub reports: Vec<(String, Fate)>,
    pub notes: Vec<(String, Fate)>,
}

/// One writer: reports a dispute with an idempotency key, verifies it with a note (version
/// 1 → 2) and adds two notes (2 → 3 → 4), each with `expectedVersion`, until told to stop or
/// `max_disputes` are done. Only this writer changes its disputes, so a CONFLICT at the next
/// version on a retry means its own earlier attempt landed.
pub async fn writer(
    target: Arc<Target>,
    run: String,
    writer: usize,
    max_disputes: usize,
) -> Written {
    let mut written = Written::default();
    for n in 0..max_disputes {
        if target.stop.load(Ordering::SeqCst) {
            break;
        }
        let key = format!("{run}-{writer}-{n}");
        let body = json!({ "query": REPORT, "variables": { "input": report_input(&format!("Drill {key}"), &key) } });
        let fate = target.write(writer, &body, None).await;
        written.reports.push((key.clone(), fate.clone()));
        let Fate::Acknowledged(data) = fate else {
            continue;
        };
        let Some(id) = data["reportDispute"]["dispute"]["id"]
            .as_str()
            .map(str::to_owned)
        else {
            continue;
        };
        for version in [1, 2, 3] {
            let note = format!("{key}-note-{version}");
            let input = json!({ "id": id, "expectedVersion": version, "note": note });
            let body = if version == 1 {
                transition("verifyDispute", "TransitionInput", input)
            } else {
                transition("addNote", "AddNoteInput", input)
            };
            let fate = target.write(writer, &body, Some(version)).await;
            let settled = matches!(fate, Fate::Acknowledged(_) | Fate::ConfirmedOnRetry);
            written.notes.push((note, fate));
            if !settled {
                break;
            }
        }
    }
    written
}

/// What the database holds of the writers' work, and what is missing or doubled.
pub struct Audit {
    pub settled: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub unsettled: u64,
    pub refused: Vec<String>,
}

/// Counts in the database every report key and note text the writers tried: a settled
/// write must be there exactly once, an unsettled one at most once.
pub async fn audit(database_url: &str, run: &str, written: &[Written]) -> Audit {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let keys: Vec<Option<String>> = dispute::Entity::find()
        .select_only()
        .column(dispute::Column::IdempotencyKey)
        .filter(dispute::Column::IdempotencyKey.starts_with(format!("{run}-")))
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let notes: Vec<Option<String>> = dispute_event::Entity::find()
        .select_only()
        .column(dispute_event::Column::Note)
        .filter(dispute_event::Column::Note.starts_with(format!("{run}-")))
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    let mut stored: HashMap<String, u64> = HashMap::new();
    for value in keys.into_iter().chain(notes).flatten() {
        *stored.entry(value).or_default() += 1;
    }
    let mut audit = Audit {
        settled: 0,
        lost: 0,
        duplicated: 0,
        unsettled: 0,
        refused: Vec::new(),
    };
    for (name, fate) in written
        .iter()
        .flat_map(|w| w.reports.iter().chain(w.notes.iter()))
    {
        let count = stored.get(name).copied().unwrap_or(0);
        audit.duplicated += count.saturating_sub(1);
        match fate {
            Fate::Acknowledged(_) | Fate::ConfirmedOnRetry => {
                audit.settled += 1;
                if count == 0 {
                    audit.lost += 1;
                }
            }
            Fate::Unsettled => audit.unsettled += 1,
            Fate::Refused(why) => audit.refused.push(format!("{name}: {why}")),
        }
    }
    audit
}

/// Prints the drill's figures on one line (CI collects them) and appends the line to
/// `$POSKO_DRILL_SUMMARY` when set.
pub fn summary(drill: &str, figures: &[(&str, String)]) {
    let line = format!(
        "drill {drill}: {}",
        figures
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // On its own line: the harness prints the test name before the output, unterminated.
    println!("\n{line}");
    if let Ok(path) = std::env::var("POSKO_DRILL_SUMMARY")
        && !path.is_empty()
    {
        use std::io::Write as _;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// Starts an in-process server on the database with the test configuration, rate limits
/// off, changed by `tweak`; its base URL.
pub async fn spawn_instance(
    database_url: &str,
    tweak: impl FnOnce(&mut posko::config::Config),
) -> String {
    let mut cli = crate::support::test_cli_with(
        database_url,
        &[
            "--rate-limit-per-minute",
            "0",
            "--public-rate-limit-per-minute",
            "0",
        ],
    );
    tweak(&mut cli.config);
    let app = posko::http::server::Application::build(&cli.config)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    base
}
