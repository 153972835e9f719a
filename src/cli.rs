//! The `posko` command line.

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Posko: the GraphQL API of a Pilkada coordination post.
#[derive(Debug, Parser)]
#[command(name = "posko", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// What to do (default: `serve`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, seed the reference data and serve the API (the default). The server's
    /// options go before the subcommand or in `POSKO_*` variables; `posko --help` lists
    /// them. Each subcommand's own help lists only what it reads.
    Serve,
    /// Apply pending migrations and seed the reference data, then exit.
    Migrate {
        /// Roll every migration back instead (drops all tables).
        #[arg(long)]
        down: bool,
    },
    /// Print the GraphQL schema (SDL), identical to `schema.graphql`.
    Schema,
    /// Generate realistic demo disputes, deterministically from a seed.
    SeedDemo {
        /// How many disputes (each with about five timeline events).
        #[arg(long, default_value_t = 1_000)]
        disputes: usize,
        /// The random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Recompute every dispute's hash chain and name the first broken link of each; exits
    /// non-zero when any timeline was altered.
    VerifyTimeline,
    /// Compare the statistics counters with a recount of the disputes and name every
    /// difference; with `--fix`, rebuild them. Exits non-zero on a difference left unfixed.
    RecountStats {
        /// Rebuild the counters from the disputes.
        #[arg(long)]
        fix: bool,
    },
    /// Mint an HS256 token with the configured secret (development, tests, service
    /// accounts), e.g. `posko token --role POLICE --agency POLDA_METRO_JAYA --sub petugas-1`.
    Token {
        /// ADMIN, KPU, BAWASLU, POLICE or MEMBER; it must fit the agency's kind.
        #[arg(long)]
        role: String,
        /// An agency code known to the service, e.g. `KPU_DKI`.
        #[arg(long)]
        agency: String,
        /// Who the token is for.
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. `8h`, `30m`, `7d`.
        #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
    },
}
