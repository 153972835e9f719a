//! Events written before salts existed (migration 9) have no secret in their hash, so an
//! event id derived from that hash would confirm a guess of a hidden event before it, as
//! the hash itself would. Each such event gets random bits of its own, used only for its
//! public id; its hash and its chain are untouched.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DisputeEvent {
    Table,
    KeySalt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DisputeEvent::Table)
                    .add_column(ColumnDef::new(DisputeEvent::KeySalt).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        let random = crate::random_hex_128(manager.get_database_backend());
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE dispute_event SET key_salt = {random} WHERE salt IS NULL AND key_salt IS NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DisputeEvent::Table)
                    .drop_column(DisputeEvent::KeySalt)
                    .to_owned(),
            )
            .await
    }
}
