//! Posko's schema migrations. They run on SQLite and PostgreSQL alike, so foreign keys are
//! declared inside `create_table` (SQLite cannot add one to an existing table) and every
//! migration has a working `down`. Seed data is not here: applied migrations are immutable
//! and reference data changes (see `src/db/seed.rs`).

pub use sea_orm_migration::prelude::*;

mod m20241101_000001_regions;
mod m20241101_000002_elections;
mod m20241101_000003_agencies;
mod m20241101_000004_disputes;
mod m20241101_000005_audit;
mod m20241101_000006_seed_state;
mod m20241101_000007_dispute_stats_index;
mod m20241101_000008_dispute_tally;
mod m20241101_000009_opaque_ids_and_salts;
mod m20261130_000010_vulnerability_index;
mod m20261130_000011_region_results;
mod m20261201_000012_event_key_salts;
mod m20261201_000013_reference_version;
mod m20261201_000014_dispute_agency_tally;

pub use m20261201_000013_reference_version::REFERENCE_TABLES;

/// An SQL expression for 128 random bits as 32 lower-case hex digits, from each database's
/// own strong source (for backfilling random ids and salts).
pub(crate) fn random_hex_128(backend: sea_orm_migration::sea_orm::DbBackend) -> &'static str {
    match backend {
        sea_orm_migration::sea_orm::DbBackend::Postgres => {
            "replace(gen_random_uuid()::text, '-', '')"
        }
        _ => "lower(hex(randomblob(16)))",
    }
}

/// The ordered list of Posko's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20241101_000001_regions::Migration),
            Box::new(m20241101_000002_elections::Migration),
            Box::new(m20241101_000003_agencies::Migration),
            Box::new(m20241101_000004_disputes::Migration),
            Box::new(m20241101_000005_audit::Migration),
            Box::new(m20241101_000006_seed_state::Migration),
            Box::new(m20241101_000007_dispute_stats_index::Migration),
            Box::new(m20241101_000008_dispute_tally::Migration),
            Box::new(m20241101_000009_opaque_ids_and_salts::Migration),
            Box::new(m20261130_000010_vulnerability_index::Migration),
            Box::new(m20261130_000011_region_results::Migration),
            Box::new(m20261201_000012_event_key_salts::Migration),
            Box::new(m20261201_000013_reference_version::Migration),
            Box::new(m20261201_000014_dispute_agency_tally::Migration),
        ]
    }
}
