//! The `posko` binary: parses the command line and dispatches.

use std::process::ExitCode;

use clap::Parser;
use migration::MigratorTrait;
use posko::auth::jwt::{Claims, Verifier};
use posko::auth::policy;
use posko::cli::{Cli, Command};
use posko::db::{Database, demo, seed};
use posko::domain::types::{AgencyKind, Role};
use posko::http::server::Application;

/// See the `mimalloc` feature in Cargo.toml: a build choice for PostgreSQL deployments.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match posko::telemetry::init(&cli.config.log, cli.config.mode) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("posko: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("posko: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("posko: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let started = std::time::Instant::now();
            let app = Application::build(&config).await?;
            tracing::info!(
                listen = %app.local_addr(),
                database = %posko::db::redact(&config.database_url),
                ready_ms = started.elapsed().as_millis() as u64,
                "posko is ready"
            );
            let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
            tokio::spawn(exit_after_grace(grace));
            app.run_until_stopped().await?;
        }
        Command::Migrate { down } => {
            let db = Database::connect(&config.database_url, 2).await?;
            if down {
                migration::Migrator::down(&db.conn, None).await?;
                eprintln!("posko: every migration rolled back");
            } else {
                match db.migrate_then(|| seed::run(&db.conn)).await? {
                    Some(report) => eprintln!("posko: migrated and seeded {report:?}"),
                    None => eprintln!("posko: migrated; the reference data is up to date"),
                }
            }
        }
        Command::Schema => print!("{}", posko::graphql::schema::sdl()),
        Command::SeedDemo {
            disputes,
            seed: demo_seed,
        } => {
            let db = Database::connect(&config.database_url, 2).await?;
            db.migrate_then(|| seed::run(&db.conn)).await?;
            let report = demo::run(
                &db.conn,
                &demo::DemoOptions {
                    disputes,
                    seed: demo_seed,
                    progress: true,
                },
            )
            .await?;
            eprintln!(
                "posko: loaded {} disputes and {} events in {:.1} s",
                report.disputes, report.events, report.seconds
            );
        }
        Command::VerifyTimeline => {
            let db = Database::connect(&config.database_url, 2).await?;
            let report = posko::db::audit_tools::verify_timelines(&db.conn).await?;
            for broken in &report.broken {
                println!(
                    "dispute {} ({}): broken at event {}",
                    broken.dispute_id, broken.ref_no, broken.seq
                );
            }
            eprintln!(
                "posko: checked {} timelines with {} events; {} broken",
                report.disputes,
                report.events,
                report.broken.len()
            );
            if !report.broken.is_empty() {
                anyhow::bail!("{} timelines are broken", report.broken.len());
            }
        }
        Command::RecountStats { fix } => {
            let db = Database::connect(&config.database_url, 2).await?;
            let drift = posko::domain::tally::drift(&db.conn).await?;
            for d in &drift {
                println!(
                    "{}{}/{}/{} {}={} [{}]: counted {}, actually {}",
                    d.agency
                        .as_ref()
                        .map(|agency| format!("{agency} @ "))
                        .unwrap_or_default(),
                    d.place.0,
                    d.place.1,
                    d.place.2,
                    d.dimension,
                    d.value,
                    d.audience,
                    d.counted,
                    d.actual
                );
            }
            eprintln!("posko: {} statistics counters differ", drift.len());
            if fix {
                let rows = posko::domain::tally::rebuild(&db.conn).await?;
                eprintln!("posko: rebuilt {rows} statistics counters");
            } else if !drift.is_empty() {
                anyhow::bail!("{} counters differ; run with --fix", drift.len());
            }
        }
        Command::Token {
            role,
            agency,
            sub,
            ttl,
        } => {
            let verifier = Verifier::from_config(&config)?;
            let db = Database::connect(&config.database_url, 2).await?;
            db.migrate_then(|| seed::run(&db.conn)).await?;
            let role: Role = role
                .parse()
                .ok()
                .filter(|r| *r != Role::Public)
                .ok_or_else(|| {
                    anyhow::anyhow!("--role must be ADMIN, KPU, BAWASLU, POLICE or MEMBER")
                })?;
            let found = posko::domain::reference::agency(&db.conn, &agency)
                .await
                .map_err(|err| anyhow::anyhow!("cannot read the agency: {err}"))?
                .ok_or_else(|| anyhow::anyhow!("unknown agency {agency}"))?;
            let kind: AgencyKind = found.kind;
            if !policy::role_fits_agency(role, kind) {
                anyhow::bail!(
                    "role {} does not fit {agency}, a {} agency",
                    role.as_str(),
                    kind.as_str()
                );
            }
            let now = u64::try_from(chrono::Utc::now().timestamp())?;
            let claims = Claims {
                sub,
                role: role.as_str().to_owned(),
                agency,
                exp: now + ttl.as_secs(),
                iat: Some(now),
                nbf: Some(now),
                iss: None,
                aud: None,
            };
            println!("{}", verifier.mint(&claims)?);
        }
    }
    Ok(())
}

/// Ends the process `grace` after the first SIGTERM or SIGINT, whatever is still running.
/// The server's graceful stop waits for in-flight requests only as long as they yield;
/// a handler stuck in synchronous work would keep its worker thread, and the process,
/// alive past any orchestrator's patience.
async fn exit_after_grace(grace: std::time::Duration) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "stopping: in-flight requests may finish within the grace period"
    );
    // A thread of its own: the runtime's workers may be the ones that are stuck.
    std::thread::spawn(move || {
        std::thread::sleep(grace + std::time::Duration::from_millis(500));
        eprintln!("posko: requests still running after the grace period; exiting");
        std::process::exit(1);
    });
}
