//! The real `posko` binary as a process, for what only a process shows: its log output,
//! its exit on a signal, its exported spans. Each gets a fresh SQLite file and a free port.

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `posko serve`.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
    pub base_url: String,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary with the test secret and these extra variables (which win over the
    /// defaults here); its stderr is kept for `stop` when `capture_logs`.
    pub fn start(env: &[(&str, &str)], capture_logs: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("posko.db").display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_posko"));
        command
            .env("POSKO_DATABASE_URL", &url)
            .env("POSKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSKO_JWT_SECRET", super::TEST_SECRET)
            .env("POSKO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(if capture_logs {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        for (name, value) in env {
            command.env(name, value);
        }
        Self {
            child: command.spawn().unwrap(),
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Waits until `/readyz` answers 200 (up to 20 s).
    pub async fn ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/readyz", self.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready");
    }

    /// Sends SIGTERM, waits for the exit, and returns what it logged (empty unless
    /// captured).
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut logs).unwrap();
        }
        logs
    }
}

/// A test that fails midway leaves no server behind.
impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
