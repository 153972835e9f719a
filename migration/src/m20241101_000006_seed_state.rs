//! Which version of the bundled reference data a database holds, so a restart skips the
//! upserts when nothing changed (start-up is then a few statements).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SeedState::Table)
                    .col(string(SeedState::Name).primary_key())
                    .col(string(SeedState::Fingerprint))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SeedState::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SeedState {
    Table,
    Name,
    Fingerprint,
}
