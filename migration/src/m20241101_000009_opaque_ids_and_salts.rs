//! Metadata that reveals nothing: each dispute gets a random public id (the `id` clients
//! see, so ids cannot be counted), and each timeline event a random salt that its hash
//! commits to (so a hash cannot confirm a guess of hidden content). The salt is never
//! served. Events written before this migration keep no salt and the old hash; they still
//! verify, and their hashes are never served. The access log keeps the public id it shows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Dispute {
    Table,
    PublicId,
}

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    DisputePublicId,
}

#[derive(DeriveIden)]
enum DisputeEvent {
    Table,
    Salt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Dispute::Table)
                    .add_column(ColumnDef::new(Dispute::PublicId).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DisputeEvent::Table)
                    .add_column(ColumnDef::new(DisputeEvent::Salt).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        let random = crate::random_hex_128(manager.get_database_backend());
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE dispute SET public_id = {random} WHERE public_id IS NULL"
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AccessLog::Table)
                    .add_column(
                        ColumnDef::new(AccessLog::DisputePublicId)
                            .string_len(32)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE access_log SET dispute_public_id = \
                 (SELECT public_id FROM dispute WHERE dispute.id = access_log.dispute_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dispute_public_id")
                    .table(Dispute::Table)
                    .col(Dispute::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AccessLog::Table)
                    .drop_column(AccessLog::DisputePublicId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_dispute_public_id")
                    .table(Dispute::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DisputeEvent::Table)
                    .drop_column(DisputeEvent::Salt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Dispute::Table)
                    .drop_column(Dispute::PublicId)
                    .to_owned(),
            )
            .await
    }
}
