//! Disputes and everything hanging off them: involved candidate pairs, assigned agencies,
//! escalations and the append-only, hash-chained timeline.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20241101_000001_regions::{Province, Regency};
use crate::m20241101_000002_elections::{CandidatePair, Election, ElectionStage};
use crate::m20241101_000003_agencies::Agency;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: Dispute, cols: &[Dispute]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for col in cols {
        statement.col(*col);
    }
    statement.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Dispute::Table)
                    .col(pk_auto(Dispute::Id))
                    .col(string_uniq(Dispute::RefNo))
                    .col(string(Dispute::Title))
                    .col(text(Dispute::Description))
                    .col(string(Dispute::Category))
                    .col(string(Dispute::Severity))
                    .col(string(Dispute::Status))
                    .col(string(Dispute::ProvinceCode))
                    .col(string(Dispute::RegencyCode))
                    // No foreign key: districts are loaded only where Posko needs them,
                    // and a report may name one before it is in the table.
                    .col(string_null(Dispute::DistrictCode))
                    .col(text_null(Dispute::LocationText))
                    .col(integer_null(Dispute::ElectionId))
                    .col(integer_null(Dispute::StageId))
                    .col(string_null(Dispute::StageCode))
                    .col(timestamp_with_time_zone(Dispute::OccurredAt))
                    .col(timestamp_with_time_zone(Dispute::ReportedAt))
                    .col(timestamp_with_time_zone(Dispute::UpdatedAt))
                    .col(boolean(Dispute::Restricted))
                    .col(text_null(Dispute::ReporterName))
                    .col(text_null(Dispute::ReporterContact))
                    .col(string_null(Dispute::ReporterKind))
                    .col(string_null(Dispute::Violation))
                    .col(text_null(Dispute::Outcome))
                    .col(string(Dispute::ReportedByAgency))
                    .col(string(Dispute::ReportedBySub))
                    .col(string_null(Dispute::IdempotencyKey))
                    .col(string_null(Dispute::RequestHash))
                    .col(integer(Dispute::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_province")
                            .from(Dispute::Table, Dispute::ProvinceCode)
                            .to(Province::Table, Province::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_regency")
                            .from(Dispute::Table, Dispute::RegencyCode)
                            .to(Regency::Table, Regency::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_election")
                            .from(Dispute::Table, Dispute::ElectionId)
                            .to(Election::Table, Election::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_stage")
                            .from(Dispute::Table, Dispute::StageId)
                            .to(ElectionStage::Table, ElectionStage::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_reported_by")
                            .from(Dispute::Table, Dispute::ReportedByAgency)
                            .to(Agency::Table, Agency::Code),
                    )
                    .to_owned(),
            )
            .await?;
        for statement in [
            index(
                "idx_dispute_province_reported",
                Dispute::Table,
                &[Dispute::ProvinceCode, Dispute::ReportedAt],
            ),
            index(
                "idx_dispute_regency_reported",
                Dispute::Table,
                &[Dispute::RegencyCode, Dispute::ReportedAt],
            ),
            index(
                "idx_dispute_reported",
                Dispute::Table,
                &[Dispute::ReportedAt],
            ),
            index(
                "idx_dispute_occurred",
                Dispute::Table,
                &[Dispute::OccurredAt],
            ),
            index("idx_dispute_status", Dispute::Table, &[Dispute::Status]),
            index(
                "ux_dispute_idempotency",
                Dispute::Table,
                &[Dispute::ReportedByAgency, Dispute::IdempotencyKey],
            )
            .unique()
            .to_owned(),
        ] {
            manager.create_index(statement).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(DisputeParty::Table)
                    .col(integer(DisputeParty::DisputeId))
                    .col(integer(DisputeParty::CandidatePairId))
                    .primary_key(
                        Index::create()
                            .col(DisputeParty::DisputeId)
                            .col(DisputeParty::CandidatePairId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_party_dispute")
                            .from(DisputeParty::Table, DisputeParty::DisputeId)
                            .to(Dispute::Table, Dispute::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dispute_party_pair")
                            .from(DisputeParty::Table, DisputeParty::CandidatePairId)
                            .to(CandidatePair::Table, CandidatePair::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DisputeAssignment::Table)
                    .col(integer(DisputeAssignment::DisputeId))
                    .col(string(DisputeAssignment::AgencyCode))
                    .col(timestamp_with_time_zone(DisputeAssignment::AssignedAt))
                    .col(string(DisputeAssignment::AssignedBy))
                    .primary_key(
                        Index::create()
                            .col(DisputeAssignment::DisputeId)
                            .col(DisputeAssignment::AgencyCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assignment_dispute")
                            .from(DisputeAssignment::Table, DisputeAssignment::DisputeId)
                            .to(Dispute::Table, Dispute::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assignment_agency")
                            .from(DisputeAssignment::Table, DisputeAssignment::AgencyCode)
                            .to(Agency::Table, Agency::Code),
                    )
                    .to_owned(),
            )
            .await?;
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
            .create_table(
                Table::create()
                    .table(DisputeEscalation::Table)
                    .col(pk_auto(DisputeEscalation::Id))
                    .col(integer(DisputeEscalation::DisputeId))
                    .col(string(DisputeEscalation::Target))
                    .col(text(DisputeEscalation::Reason))
                    .col(timestamp_with_time_zone(DisputeEscalation::EscalatedAt))
                    .col(string(DisputeEscalation::EscalatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_dispute")
                            .from(DisputeEscalation::Table, DisputeEscalation::DisputeId)
                            .to(Dispute::Table, Dispute::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_escalation_dispute")
                    .table(DisputeEscalation::Table)
                    .col(DisputeEscalation::DisputeId)
                    .col(DisputeEscalation::Target)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DisputeEvent::Table)
                    .col(pk_auto(DisputeEvent::Id))
                    .col(integer(DisputeEvent::DisputeId))
                    // 1, 2, 3… per dispute; the unique index makes a gap-free, duplicate-free
                    // timeline a database guarantee, not only an application one.
                    .col(integer(DisputeEvent::Seq))
                    .col(string(DisputeEvent::Kind))
                    .col(string(DisputeEvent::ActorSub))
                    .col(string(DisputeEvent::ActorRole))
                    .col(string_null(DisputeEvent::ActorAgency))
                    .col(timestamp_with_time_zone(DisputeEvent::At))
                    .col(text_null(DisputeEvent::Changes))
                    .col(text_null(DisputeEvent::Note))
                    // NULL: everyone who may see the dispute; otherwise a comma-separated
                    // list of roles.
                    .col(string_null(DisputeEvent::Audience))
                    .col(string(DisputeEvent::PrevHash))
                    .col(string(DisputeEvent::Hash))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_dispute")
                            .from(DisputeEvent::Table, DisputeEvent::DisputeId)
                            .to(Dispute::Table, Dispute::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_event_dispute_seq")
                    .table(DisputeEvent::Table)
                    .col(DisputeEvent::DisputeId)
                    .col(DisputeEvent::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DisputeEvent::Table.into_iden(),
            DisputeEscalation::Table.into_iden(),
            DisputeAssignment::Table.into_iden(),
            DisputeParty::Table.into_iden(),
            Dispute::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Dispute {
    Table,
    Id,
    RefNo,
    Title,
    Description,
    Category,
    Severity,
    Status,
    ProvinceCode,
    RegencyCode,
    DistrictCode,
    LocationText,
    ElectionId,
    StageId,
    StageCode,
    OccurredAt,
    ReportedAt,
    UpdatedAt,
    Restricted,
    ReporterName,
    ReporterContact,
    ReporterKind,
    Violation,
    Outcome,
    ReportedByAgency,
    ReportedBySub,
    IdempotencyKey,
    RequestHash,
    Version,
}

#[derive(DeriveIden)]
enum DisputeParty {
    Table,
    DisputeId,
    CandidatePairId,
}

#[derive(DeriveIden)]
enum DisputeAssignment {
    Table,
    DisputeId,
    AgencyCode,
    AssignedAt,
    AssignedBy,
}

#[derive(DeriveIden)]
enum DisputeEscalation {
    Table,
    Id,
    DisputeId,
    Target,
    Reason,
    EscalatedAt,
    EscalatedBy,
}

#[derive(DeriveIden)]
enum DisputeEvent {
    Table,
    Id,
    DisputeId,
    Seq,
    Kind,
    ActorSub,
    ActorRole,
    ActorAgency,
    At,
    Changes,
    Note,
    Audience,
    PrevHash,
    Hash,
}
