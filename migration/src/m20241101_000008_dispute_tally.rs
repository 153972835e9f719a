//! Running counts of unrestricted disputes per place and attribute value, kept by the
//! write path in the same transaction as the dispute, so statistics over a province read
//! tens of counter rows instead of aggregating tens of thousands of disputes on every
//! request. Restricted disputes are not counted here: who may see them depends on
//! escalations, so statistics count those live (`posko::domain::tally`).
//!
//! The migration fills the table from the disputes already present; the statements are
//! those of `posko::domain::tally::rebuild` when this migration was written.

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
                    .col(big_integer(DisputeTally::Count))
                    .primary_key(
                        Index::create()
                            .col(DisputeTally::ProvinceCode)
                            .col(DisputeTally::RegencyCode)
                            .col(DisputeTally::DistrictCode)
                            .col(DisputeTally::Dimension)
                            .col(DisputeTally::Value),
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
        // restricted rows without reading its unrestricted ones.
        manager
            .create_index(
                Index::create()
                    .name("idx_dispute_restricted_region")
                    .table(Dispute::Table)
                    .col(Dispute::Restricted)
                    .col(Dispute::ProvinceCode)
                    .col(Dispute::RegencyCode)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (dimension, column) in DIMENSIONS {
            db.execute_unprepared(&format!(
                "INSERT INTO dispute_tally \
                 (province_code, regency_code, district_code, dimension, value, count) \
                 SELECT province_code, regency_code, COALESCE(district_code, ''), \
                 '{dimension}', COALESCE({column}, ''), COUNT(*) \
                 FROM dispute WHERE restricted = false \
                 GROUP BY province_code, regency_code, COALESCE(district_code, ''), \
                 COALESCE({column}, '')"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
    Count,
}

#[derive(DeriveIden)]
enum Dispute {
    Table,
    Restricted,
    ProvinceCode,
    RegencyCode,
}
