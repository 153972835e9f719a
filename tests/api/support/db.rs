//! A database per test: a temporary SQLite file by default, or a fresh PostgreSQL
//! database when `POSKO_TEST_DATABASE_URL` names a server (dropped when the test ends).

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::ConnectionTrait;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The test's database; dropping it removes it.
pub struct TestDb {
    url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates an empty database on the backend the environment selects.
    pub async fn new() -> Self {
        match std::env::var("POSKO_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => Self::postgres(admin_url).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("posko.db").display()
        );
        Self {
            url,
            postgres: None,
            _dir: Some(dir),
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!(
            "posko_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .expect("the PostgreSQL test server answers");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("a test database can be created");
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            postgres: Some((admin_url, name)),
            _dir: None,
        }
    }

    /// A handle on a database another `TestDb` owns (a second instance's view): dropping
    /// it drops nothing.
    pub fn borrowed(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            postgres: None,
            _dir: None,
        }
    }

    /// The URL the server under test connects to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own to block on.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
            Ok::<_, std::io::Error>(())
        })
        .join();
    }
}

impl TestDb {
    /// A pool on this database without a server (for migration and seed tests).
    pub async fn connect(&self) -> posko::db::Database {
        posko::db::Database::connect(&self.url, 2)
            .await
            .expect("the test database answers")
    }
}
