//! A version of the reference data (regions, elections, stages, candidate pairs, agencies,
//! jurisdictions, poskos), which every instance serves from memory. Triggers bump it on
//! any write to those tables, whoever makes it (a mutation on any instance, `posko seed`,
//! a hand-written fix), so an instance that polls the version cannot miss a change.
//! Disputes never touch these tables, so the dispute write path never waits on the row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables an instance holds in memory.
pub const REFERENCE_TABLES: &[&str] = &[
    "province",
    "regency",
    "district",
    "region_alias",
    "election",
    "election_stage",
    "candidate_pair",
    "agency",
    "agency_jurisdiction",
    "jurisdiction_district",
    "posko",
    "posko_member",
];

const BUMP: &str = "UPDATE reference_version SET version = version + 1 WHERE id = 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE reference_version (id integer PRIMARY KEY, version bigint NOT NULL)",
        )
        .await?;
        db.execute_unprepared("INSERT INTO reference_version (id, version) VALUES (1, 1)")
            .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION posko_reference_changed() RETURNS trigger LANGUAGE plpgsql \
                     AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
                ))
                .await?;
                for table in REFERENCE_TABLES {
                    // Once per statement: seeding 500 regencies bumps it once, not 500 times.
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_reference_changed \
                         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION posko_reference_changed()"
                    ))
                    .await?;
                }
            }
            _ => {
                // SQLite has only row triggers; the row is one page, so the cost is small.
                for table in REFERENCE_TABLES {
                    for (suffix, event) in [("ins", "INSERT"), ("upd", "UPDATE"), ("del", "DELETE")]
                    {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_reference_changed_{suffix} \
                             AFTER {event} ON {table} BEGIN {BUMP}; END"
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for table in REFERENCE_TABLES {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_reference_changed ON {table}"
                    ))
                    .await?;
                }
                db.execute_unprepared("DROP FUNCTION IF EXISTS posko_reference_changed()")
                    .await?;
            }
            _ => {
                for table in REFERENCE_TABLES {
                    for suffix in ["ins", "upd", "del"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER IF EXISTS {table}_reference_changed_{suffix}"
                        ))
                        .await?;
                    }
                }
            }
        }
        db.execute_unprepared("DROP TABLE reference_version")
            .await?;
        Ok(())
    }
}
