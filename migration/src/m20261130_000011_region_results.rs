//! Official results by region (Jakarta's 2024 governor election by city), so a counting
//! objection can be put beside the count it disputes. Reference data, seeded.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20241101_000002_elections::Election;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RegionResult::Table)
                    .col(pk_auto(RegionResult::Id))
                    .col(integer(RegionResult::ElectionId))
                    .col(integer(RegionResult::Round))
                    // The province (its total) or a regency/city the count is of.
                    .col(string(RegionResult::RegionCode))
                    .col(string(RegionResult::RegionName))
                    .col(big_integer(RegionResult::ValidVotes))
                    .col(big_integer(RegionResult::InvalidVotes))
                    .col(big_integer(RegionResult::VotesCast))
                    .col(big_integer_null(RegionResult::RegisteredVoters))
                    .col(text(RegionResult::Source))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_region_result_election")
                            .from(RegionResult::Table, RegionResult::ElectionId)
                            .to(Election::Table, Election::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_region_result_election_round_region")
                    .table(RegionResult::Table)
                    .col(RegionResult::ElectionId)
                    .col(RegionResult::Round)
                    .col(RegionResult::RegionCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_region_result_region")
                    .table(RegionResult::Table)
                    .col(RegionResult::RegionCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegionResultVotes::Table)
                    .col(integer(RegionResultVotes::ResultId))
                    .col(integer(RegionResultVotes::BallotNumber))
                    .col(big_integer(RegionResultVotes::Votes))
                    .primary_key(
                        Index::create()
                            .col(RegionResultVotes::ResultId)
                            .col(RegionResultVotes::BallotNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_region_result_votes_result")
                            .from(RegionResultVotes::Table, RegionResultVotes::ResultId)
                            .to(RegionResult::Table, RegionResult::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RegionResultVotes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RegionResult::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RegionResult {
    Table,
    Id,
    ElectionId,
    Round,
    RegionCode,
    RegionName,
    ValidVotes,
    InvalidVotes,
    VotesCast,
    RegisteredVoters,
    Source,
}

#[derive(DeriveIden)]
enum RegionResultVotes {
    Table,
    ResultId,
    BallotNumber,
    Votes,
}
