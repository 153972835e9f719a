//! Agencies, their jurisdictions (FULL or PARTIAL by district) and the poskos they staff.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20241101_000001_regions::{District, Province, Regency};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agency::Table)
                    .col(string(Agency::Code).primary_key())
                    .col(string(Agency::Name))
                    .col(string(Agency::Kind))
                    .col(string(Agency::Level))
                    .col(string_null(Agency::ProvinceCode))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agency_province")
                            .from(Agency::Table, Agency::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgencyJurisdiction::Table)
                    .col(pk_auto(AgencyJurisdiction::Id))
                    .col(string(AgencyJurisdiction::AgencyCode))
                    // A province code ("31") or a regency code ("32.76").
                    .col(string(AgencyJurisdiction::RegionCode))
                    .col(string(AgencyJurisdiction::ProvinceCode))
                    .col(string_null(AgencyJurisdiction::RegencyCode))
                    .col(string(AgencyJurisdiction::Coverage))
                    .col(text_null(AgencyJurisdiction::Note))
                    .col(string_null(AgencyJurisdiction::Confidence))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jurisdiction_agency")
                            .from(AgencyJurisdiction::Table, AgencyJurisdiction::AgencyCode)
                            .to(Agency::Table, Agency::Code)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jurisdiction_province")
                            .from(AgencyJurisdiction::Table, AgencyJurisdiction::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jurisdiction_regency")
                            .from(AgencyJurisdiction::Table, AgencyJurisdiction::RegencyCode)
                            .to(Regency::Table, Regency::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_jurisdiction_agency_region")
                    .table(AgencyJurisdiction::Table)
                    .col(AgencyJurisdiction::AgencyCode)
                    .col(AgencyJurisdiction::RegionCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jurisdiction_region")
                    .table(AgencyJurisdiction::Table)
                    .col(AgencyJurisdiction::RegionCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JurisdictionDistrict::Table)
                    .col(integer(JurisdictionDistrict::JurisdictionId))
                    .col(string(JurisdictionDistrict::DistrictCode))
                    .primary_key(
                        Index::create()
                            .col(JurisdictionDistrict::JurisdictionId)
                            .col(JurisdictionDistrict::DistrictCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jurisdiction_district_jurisdiction")
                            .from(
                                JurisdictionDistrict::Table,
                                JurisdictionDistrict::JurisdictionId,
                            )
                            .to(AgencyJurisdiction::Table, AgencyJurisdiction::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jurisdiction_district_district")
                            .from(
                                JurisdictionDistrict::Table,
                                JurisdictionDistrict::DistrictCode,
                            )
                            .to(District::Table, District::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Posko::Table)
                    .col(pk_auto(Posko::Id))
                    .col(string_uniq(Posko::ProvinceCode))
                    .col(string(Posko::Name))
                    .col(string(Posko::HostAgencyCode))
                    .col(text_null(Posko::Address))
                    .col(string_null(Posko::Hotline))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posko_province")
                            .from(Posko::Table, Posko::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posko_host")
                            .from(Posko::Table, Posko::HostAgencyCode)
                            .to(Agency::Table, Agency::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PoskoMember::Table)
                    .col(integer(PoskoMember::PoskoId))
                    .col(string(PoskoMember::AgencyCode))
                    .primary_key(
                        Index::create()
                            .col(PoskoMember::PoskoId)
                            .col(PoskoMember::AgencyCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posko_member_posko")
                            .from(PoskoMember::Table, PoskoMember::PoskoId)
                            .to(Posko::Table, Posko::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posko_member_agency")
                            .from(PoskoMember::Table, PoskoMember::AgencyCode)
                            .to(Agency::Table, Agency::Code),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PoskoMember::Table.into_iden(),
            Posko::Table.into_iden(),
            JurisdictionDistrict::Table.into_iden(),
            AgencyJurisdiction::Table.into_iden(),
            Agency::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Agency {
    Table,
    Code,
    Name,
    Kind,
    Level,
    ProvinceCode,
}

#[derive(DeriveIden)]
enum AgencyJurisdiction {
    Table,
    Id,
    AgencyCode,
    RegionCode,
    ProvinceCode,
    RegencyCode,
    Coverage,
    Note,
    Confidence,
}

#[derive(DeriveIden)]
enum JurisdictionDistrict {
    Table,
    JurisdictionId,
    DistrictCode,
}

#[derive(DeriveIden)]
enum Posko {
    Table,
    Id,
    ProvinceCode,
    Name,
    HostAgencyCode,
    Address,
    Hotline,
}

#[derive(DeriveIden)]
enum PoskoMember {
    Table,
    PoskoId,
    AgencyCode,
}
