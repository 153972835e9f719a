//! Audit tables: reads of sensitive dispute fields, and changes to the schedule and directory.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20241101_000004_disputes::Dispute;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessLog::Table)
                    .col(pk_auto(AccessLog::Id))
                    .col(timestamp_with_time_zone(AccessLog::At))
                    .col(string(AccessLog::ViewerSub))
                    .col(string(AccessLog::ViewerRole))
                    .col(string(AccessLog::AgencyCode))
                    .col(integer(AccessLog::DisputeId))
                    // Copied from the dispute so an ADMIN's jurisdiction scope applies
                    // without a join.
                    .col(string(AccessLog::ProvinceCode))
                    .col(string(AccessLog::RegencyCode))
                    .col(string(AccessLog::Field))
                    .col(string_null(AccessLog::RequestId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_log_dispute")
                            .from(AccessLog::Table, AccessLog::DisputeId)
                            .to(Dispute::Table, Dispute::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_access_log_at")
                    .table(AccessLog::Table)
                    .col(AccessLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_access_log_dispute")
                    .table(AccessLog::Table)
                    .col(AccessLog::DisputeId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DirectoryChange::Table)
                    .col(pk_auto(DirectoryChange::Id))
                    .col(timestamp_with_time_zone(DirectoryChange::At))
                    .col(string(DirectoryChange::ActorSub))
                    .col(string(DirectoryChange::ActorAgency))
                    .col(string(DirectoryChange::Entity))
                    .col(string(DirectoryChange::EntityKey))
                    .col(text_null(DirectoryChange::Before))
                    .col(text_null(DirectoryChange::After))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DirectoryChange::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AccessLog::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    Id,
    At,
    ViewerSub,
    ViewerRole,
    AgencyCode,
    DisputeId,
    ProvinceCode,
    RegencyCode,
    Field,
    RequestId,
}

#[derive(DeriveIden)]
enum DirectoryChange {
    Table,
    Id,
    At,
    ActorSub,
    ActorAgency,
    Entity,
    EntityKey,
    Before,
    After,
}
