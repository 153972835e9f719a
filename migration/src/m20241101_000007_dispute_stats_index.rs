//! A covering index for statistics and scoped lists: everything the row scope and the
//! statistics read sits in the index, so counting a province's disputes by status is an
//! index-only scan instead of a visit to every (wide) dispute row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Dispute {
    Table,
    Id,
    ProvinceCode,
    RegencyCode,
    DistrictCode,
    Status,
    Severity,
    Category,
    StageCode,
    Restricted,
    ReportedByAgency,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_dispute_scope_stats")
                    .table(Dispute::Table)
                    .col(Dispute::ProvinceCode)
                    .col(Dispute::Status)
                    .col(Dispute::Severity)
                    .col(Dispute::Category)
                    .col(Dispute::StageCode)
                    .col(Dispute::RegencyCode)
                    .col(Dispute::DistrictCode)
                    .col(Dispute::Restricted)
                    .col(Dispute::ReportedByAgency)
                    .col(Dispute::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_dispute_scope_stats")
                    .table(Dispute::Table)
                    .to_owned(),
            )
            .await
    }
}
