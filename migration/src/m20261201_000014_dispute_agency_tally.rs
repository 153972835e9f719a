//! Running counts of the disputes linked to each agency (it reported them, or is assigned
//! to them), per place, attribute value and audience. Statistics add to the place counters
//! (`dispute_tally`) what a viewer sees only through that link: restricted disputes it
//! reported or was assigned and that no escalation opened to it, and disputes outside its
//! jurisdiction. Counting those live read rows that grow with the data (26 000 disputes
//! assigned to one police force at 1 000 000).
//!
//! The migration fills the table from the disputes already present; the statement is the
//! one `posko::domain::tally::rebuild` ran when this migration was written.

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
                    .table(DisputeAgencyTally::Table)
                    .col(string(DisputeAgencyTally::AgencyCode))
                    .col(string(DisputeAgencyTally::Dimension))
                    .col(string(DisputeAgencyTally::ProvinceCode))
                    .col(string(DisputeAgencyTally::RegencyCode))
                    .col(string(DisputeAgencyTally::DistrictCode))
                    .col(string(DisputeAgencyTally::Value))
                    .col(string(DisputeAgencyTally::Audience))
                    .col(big_integer(DisputeAgencyTally::Count))
                    // Statistics read one agency's rows of one dimension.
                    .primary_key(
                        Index::create()
                            .col(DisputeAgencyTally::AgencyCode)
                            .col(DisputeAgencyTally::Dimension)
                            .col(DisputeAgencyTally::ProvinceCode)
                            .col(DisputeAgencyTally::RegencyCode)
                            .col(DisputeAgencyTally::DistrictCode)
                            .col(DisputeAgencyTally::Value)
                            .col(DisputeAgencyTally::Audience),
                    )
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
                "INSERT INTO dispute_agency_tally \
                 (agency_code, dimension, province_code, regency_code, district_code, value, \
                 audience, count) \
                 SELECT linked.agency_code, '{dimension}', province_code, regency_code, \
                 COALESCE(district_code, ''), COALESCE({column}, ''), {audience}, COUNT(*) \
                 FROM dispute JOIN (SELECT id AS dispute_id, reported_by_agency AS agency_code \
                 FROM dispute UNION SELECT dispute_id, agency_code FROM dispute_assignment) \
                 linked ON linked.dispute_id = dispute.id \
                 GROUP BY linked.agency_code, province_code, regency_code, \
                 COALESCE(district_code, ''), COALESCE({column}, ''), {audience}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DisputeAgencyTally::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DisputeAgencyTally {
    Table,
    AgencyCode,
    Dimension,
    ProvinceCode,
    RegencyCode,
    DistrictCode,
    Value,
    Audience,
    Count,
}
