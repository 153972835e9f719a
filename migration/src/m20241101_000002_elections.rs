//! Elections, their stages (national schedule or one election's own) and candidate pairs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20241101_000001_regions::{Province, Regency};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Election::Table)
                    .col(pk_auto(Election::Id))
                    // `region_code` is the province or regency the contest is for; it is
                    // unique per cycle and is the seed's natural key.
                    .col(string(Election::RegionCode))
                    .col(string(Election::ProvinceCode))
                    .col(string_null(Election::RegencyCode))
                    .col(string(Election::Kind))
                    .col(integer(Election::Year))
                    .col(date(Election::VotingDate))
                    .col(string(Election::WinRule))
                    .col(integer(Election::MaxRounds))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_election_province")
                            .from(Election::Table, Election::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_election_regency")
                            .from(Election::Table, Election::RegencyCode)
                            .to(Regency::Table, Regency::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_election_year_region")
                    .table(Election::Table)
                    .col(Election::Year)
                    .col(Election::RegionCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_election_province")
                    .table(Election::Table)
                    .col(Election::ProvinceCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_election_regency")
                    .table(Election::Table)
                    .col(Election::RegencyCode)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ElectionStage::Table)
                    .col(pk_auto(ElectionStage::Id))
                    // Natural key: `<year>:NATIONAL:<round>:<code>` or `<year>:<region>:<round>:<code>`.
                    .col(string_uniq(ElectionStage::Key))
                    .col(integer(ElectionStage::Year))
                    .col(integer_null(ElectionStage::ElectionId))
                    .col(integer(ElectionStage::Seq))
                    .col(string(ElectionStage::Code))
                    .col(string(ElectionStage::Name))
                    .col(string(ElectionStage::LabelEn))
                    .col(string(ElectionStage::Phase))
                    .col(date_null(ElectionStage::StartsOn))
                    .col(date_null(ElectionStage::EndsOn))
                    .col(text_null(ElectionStage::DateRule))
                    .col(boolean(ElectionStage::Confirmed))
                    .col(string(ElectionStage::Confirmation))
                    .col(integer(ElectionStage::Round))
                    .col(boolean(ElectionStage::Held))
                    .col(text_null(ElectionStage::Source))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_stage_election")
                            .from(ElectionStage::Table, ElectionStage::ElectionId)
                            .to(Election::Table, Election::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stage_election")
                    .table(ElectionStage::Table)
                    .col(ElectionStage::ElectionId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CandidatePair::Table)
                    .col(pk_auto(CandidatePair::Id))
                    .col(integer(CandidatePair::ElectionId))
                    .col(integer(CandidatePair::BallotNumber))
                    .col(string(CandidatePair::HeadName))
                    .col(string(CandidatePair::DeputyName))
                    .col(string_null(CandidatePair::ShortName))
                    .col(string(CandidatePair::NominationPath))
                    .col(text(CandidatePair::SupportingParties))
                    .col(big_integer_null(CandidatePair::VotesRoundOne))
                    .col(string_null(CandidatePair::Result))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_candidate_pair_election")
                            .from(CandidatePair::Table, CandidatePair::ElectionId)
                            .to(Election::Table, Election::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_candidate_pair_ballot")
                    .table(CandidatePair::Table)
                    .col(CandidatePair::ElectionId)
                    .col(CandidatePair::BallotNumber)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CandidatePair::Table.into_iden(),
            ElectionStage::Table.into_iden(),
            Election::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Election {
    Table,
    Id,
    RegionCode,
    ProvinceCode,
    RegencyCode,
    Kind,
    Year,
    VotingDate,
    WinRule,
    MaxRounds,
}

#[derive(DeriveIden)]
pub enum ElectionStage {
    Table,
    Id,
    Key,
    Year,
    ElectionId,
    Seq,
    Code,
    Name,
    LabelEn,
    Phase,
    StartsOn,
    EndsOn,
    DateRule,
    Confirmed,
    Confirmation,
    Round,
    Held,
    Source,
}

#[derive(DeriveIden)]
pub enum CandidatePair {
    Table,
    Id,
    ElectionId,
    BallotNumber,
    HeadName,
    DeputyName,
    ShortName,
    NominationPath,
    SupportingParties,
    VotesRoundOne,
    Result,
}
