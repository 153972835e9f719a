//! Provinces, regencies/cities, districts and the aliases of recoded regions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Province::Table)
                    .col(string(Province::Code).primary_key())
                    .col(string(Province::Name))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Regency::Table)
                    .col(string(Regency::Code).primary_key())
                    .col(string(Regency::ProvinceCode))
                    .col(string(Regency::Name))
                    .col(string(Regency::Kind))
                    .col(boolean(Regency::IsAdministrative))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_regency_province")
                            .from(Regency::Table, Regency::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_regency_province")
                    .table(Regency::Table)
                    .col(Regency::ProvinceCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(District::Table)
                    .col(string(District::Code).primary_key())
                    .col(string(District::RegencyCode))
                    .col(string(District::Name))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_district_regency")
                            .from(District::Table, District::RegencyCode)
                            .to(Regency::Table, Regency::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_district_regency")
                    .table(District::Table)
                    .col(District::RegencyCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegionAlias::Table)
                    .col(string(RegionAlias::OldCode).primary_key())
                    .col(string(RegionAlias::NewCode))
                    .col(string(RegionAlias::Reason))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RegionAlias::Table.into_iden(),
            District::Table.into_iden(),
            Regency::Table.into_iden(),
            Province::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Province {
    Table,
    Code,
    Name,
}

#[derive(DeriveIden)]
pub enum Regency {
    Table,
    Code,
    ProvinceCode,
    Name,
    Kind,
    IsAdministrative,
}

#[derive(DeriveIden)]
pub enum District {
    Table,
    Code,
    RegencyCode,
    Name,
}

#[derive(DeriveIden)]
enum RegionAlias {
    Table,
    OldCode,
    NewCode,
    Reason,
}
