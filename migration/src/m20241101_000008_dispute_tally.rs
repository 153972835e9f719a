//! Running counts of disputes per place, attribute value and audience, kept by the write
//! path in the same transaction as the dispute, so statistics over a province read tens of
//! counter rows instead of aggregating tens of thousands of disputes on every request.
//! The audience says who may count a row: empty for unrestricted disputes, else
//! `restricted` and the bodies the disputes were escalated to (`posko::auth::policy::
//! tally_audience`), since a restricted dispute is visible only to those.
//!
//! The migration fills the table from the disputes already present; the statement is
//! the one `posko::domain::tally::rebuild` ran when this migration was written.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (dimension name, dispute column holding its value).
const DIMENSIONS: [(&str, &str); 4] = [
    ("status", "status"),
    ("category", "category"),
    ("severity", "severity"),
    ("stage", "stage_code"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DisputeTally::Table)
                    .col(string(DisputeTally::ProvinceCode))
                    .col(string(DisputeTally::RegencyCode))
                    .col(string(DisputeTally::DistrictCode))
                    .col(string(DisputeTally::Dimension))
                    .col(string(DisputeTally::Value))
                    .col(string(DisputeTally::Audience))
                    .col(big_integer(DisputeTally::Count))
                    .primary_key(
                        Index::create()
                            .col(DisputeTally::ProvinceCode)
                            .col(DisputeTally::RegencyCode)
                            .col(DisputeTally::DistrictCode)
                            .col(DisputeTally::Dimension)
                            .col(DisputeTally::Value)
                            .col(DisputeTally::Audience),
                    )
                    .to_owned(),
            )
            .await?;
        // Regencies are matched without their province (`regencyCodes`, jurisdictions
        // over whole regencies).
        manager
            .create_index(
                Index::create()
                    .name("idx_dispute_tally_regency")
                    .table(DisputeTally::Table)
                    .col(DisputeTally::RegencyCode)
                    .col(DisputeTally::Dimension)
                    .to_owned(),
            )
            .await?;
        // Statistics count restricted disputes live: this finds a province's few
        // restricted rows without reading its unrestricted ones, and holds everything
        // the row scope and the grouping read, so the count never visits the table.
        manager
            .create_index(
                Index::create()
                    .name("idx_dispute_restricted_region")
                    .table(Dispute::Table)
                    .col(Dispute::Restricted)
                    .col(Dispute::ProvinceCode)
                    .col(Dispute::RegencyCode)
                    .col(Dispute::DistrictCode)
                    .col(Dispute::Status)
                    .col(Dispute::Severity)
                    .col(Dispute::Category)
                    .col(Dispute::StageCode)
                    .col(Dispute::ReportedByAgency)
                    .col(Dispute::Id)
                    .to_owned(),
            )
            .await?;
        // The live part of statistics reads an agency's assignments once, as a hashed
        // set: with the dispute id in the index that read never visits the table. It
        // supersedes the index on the agency alone.
        manager
            .create_index(
                Index::create()
                    .name("idx_assignment_agency_dispute")
                    .table(DisputeAssignment::Table)
                    .col(DisputeAssignment::AgencyCode)
                    .col(DisputeAssignment::DisputeId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_assignment_agency")
                    .table(DisputeAssignment::Table)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let audience = "CASE WHEN dispute.restricted THEN 'restricted' \
            || CASE WHEN EXISTS (SELECT 1 FROM dispute_escalation WHERE dispute_escalation.dispute_id = dispute.id AND dispute_escalation.target = 'BAWASLU') THEN ',BAWASLU' ELSE '' END \
            || CASE WHEN EXISTS (SELECT 1 FROM dispute_escalation WHERE dispute_escalation.dispute_id = dispute.id AND dispute_escalation.target = 'GAKKUMDU') THEN ',GAKKUMDU' ELSE '' END \
            || CASE WHEN EXISTS (SELECT 1 FROM dispute_escalation WHERE dispute_escalation.dispute_id = dispute.id AND dispute_escalation.target = 'POLICE') THEN ',POLICE' ELSE '' END \
            ELSE '' END";
        for (dimension, column) in DIMENSIONS {
            db.execute_unprepared(&format!(
                "INSERT INTO dispute_tally \
                 (province_code, regency_code, district_code, dimension, value, audience, count) \
                 SELECT province_code, regency_code, COALESCE(district_code, ''), \
                 '{dimension}', COALESCE({column}, ''), {audience}, COUNT(*) FROM dispute \
                 GROUP BY province_code, regency_code, COALESCE(district_code, ''), \
                 COALESCE({column}, ''), {audience}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_assignment_agency")
                    .table(DisputeAssignment::Table)
                    .col(DisputeAssignment::AgencyCode)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_assignment_agency_dispute")
                    .table(DisputeAssignment::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_dispute_restricted_region")
                    .table(Dispute::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(DisputeTally::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DisputeTally {
    Table,
    ProvinceCode,
    RegencyCode,
    DistrictCode,
    Dimension,
    Value,
    Audience,
    Count,
}

#[derive(DeriveIden)]
enum Dispute {
    Table,
    Id,
    Restricted,
    ProvinceCode,
    RegencyCode,
    DistrictCode,
    Status,
    Severity,
    Category,
    StageCode,
    ReportedByAgency,
}

#[derive(DeriveIden)]
enum DisputeAssignment {
    Table,
    AgencyCode,
    DisputeId,
}
