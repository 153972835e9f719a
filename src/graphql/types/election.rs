//! Elections, their stages and candidate pairs.

use async_graphql::{Context, ID, Object};
use entity::{candidate_pair, election, election_stage};

use super::loaded;
use super::region::{Province, Regency};
use super::results::RegionResult;
use crate::domain::types::{ElectionKind, NominationPath, StagePhase, WinRule};
use crate::graphql::context::ContextExt;
use crate::graphql::node::{self, Kind};
use crate::graphql::scalars::Date;

/// One contest: a governor's, a regent's or a mayor's, in one cycle.
pub struct Election(pub election::Model);

/// One contest of a Pilkada (regional head election): a governor's, a regent's or a
/// mayor's, in one cycle (e.g. 27 November 2024).
#[Object]
impl Election {
    /// Globally unique and opaque (Relay `Node`); `node(id:)`, `election(id:)`,
    /// `stages(electionId:)` and `createStage` take it (and the bare numbers these ids
    /// were before).
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::Election, &self.0.id.to_string())
    }
    /// The office it fills.
    async fn kind(&self) -> async_graphql::Result<ElectionKind> {
        Ok(self.0.kind)
    }
    /// The cycle's year, e.g. 2024.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// Election day.
    async fn voting_date(&self) -> Date {
        self.0.voting_date.into()
    }
    /// How the contest is won.
    async fn win_rule(&self) -> async_graphql::Result<WinRule> {
        Ok(self.0.win_rule)
    }
    /// 2 where a second round is possible (Jakarta's governor), else 1.
    async fn max_rounds(&self) -> i32 {
        self.0.max_rounds
    }
    /// The code of the region the contest is for (a province or a regency/city).
    async fn region_code(&self) -> &str {
        &self.0.region_code
    }
    /// The province the contest is in (for a governor's, the region itself).
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(&self.0.province_code)
            .cloned()
            .map(Province))
    }
    /// The regency or city for a regent's or mayor's contest; null for a governor's.
    async fn regency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Regency>> {
        let Some(code) = self.0.regency_code.clone() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .regency(&code)
            .cloned()
            .map(Regency))
    }
    /// The national schedule of its cycle followed by the election's own stages (such as
    /// Jakarta's planned second round).
    async fn stages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ElectionStage>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .national_stages(self.0.year)
            .into_iter()
            .chain(reference.stages_of_election(self.0.id))
            .cloned()
            .map(ElectionStage)
            .collect())
    }
    /// Candidate pairs by ballot number (loaded for Jakarta; empty where not yet loaded).
    async fn candidates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CandidatePair>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .candidates_of(self.0.id)
            .into_iter()
            .cloned()
            .map(CandidatePair)
            .collect())
    }
    /// The official count by region, the province's total first (loaded for Jakarta's
    /// governor, round one; empty where not loaded).
    async fn results(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RegionResult>> {
        let rows = loaded(
            ctx.request()?
                .loaders()
                .results_by_election
                .load_one(self.0.id)
                .await,
        )?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(RegionResult)
            .collect())
    }
}

/// A stage (tahapan) of the schedule: national, or one election's own.
pub struct ElectionStage(pub election_stage::Model);

/// A stage (tahapan) of the election schedule: national (PKPU 2/2024, e.g. the campaign
/// or the quiet period, masa tenang) or one election's own (e.g. Jakarta's planned second
/// round).
#[Object]
impl ElectionStage {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` and `updateStage` take it
    /// (and the bare numbers these ids were before).
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::ElectionStage, &self.0.id.to_string())
    }
    /// Stable code, e.g. `MASA_TENANG`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The official Indonesian name, e.g. "Masa tenang".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// An English label for the stage.
    async fn label_en(&self) -> &str {
        &self.0.label_en
    }
    /// Preparation (persiapan) or implementation (penyelenggaraan).
    async fn phase(&self) -> async_graphql::Result<StagePhase> {
        Ok(self.0.phase)
    }
    /// First day, when published.
    async fn starts_on(&self) -> Option<Date> {
        self.0.starts_on.map(Date)
    }
    /// Last day, when published.
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }
    /// The rule in words when the dates are relative or missing (e.g. "within 5 days
    /// after the Constitutional Court …").
    async fn date_rule(&self) -> Option<&str> {
        self.0.date_rule.as_deref()
    }
    /// Whether both dates are confirmed by the sources.
    async fn confirmed(&self) -> bool {
        self.0.confirmed
    }
    /// How far the sources confirm the dates: `confirmed`, `end_confirmed_start_unknown`,
    /// `rule_confirmed`, `decided_not_held`, `end_unreported`.
    async fn confirmation(&self) -> &str {
        &self.0.confirmation
    }
    /// 1, or 2 for a second round.
    async fn round(&self) -> i32 {
        self.0.round
    }
    /// False for a stage that was planned but not held (Jakarta's second round in 2025).
    async fn held(&self) -> bool {
        self.0.held
    }
    /// Whether the stage belongs to the national schedule rather than one election.
    async fn is_national(&self) -> bool {
        self.0.election_id.is_none()
    }
    /// The cycle's year.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// Where the facts come from.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// The election the stage belongs to; null for the national schedule.
    async fn election(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Election>> {
        let Some(id) = self.0.election_id else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .election(id)
            .cloned()
            .map(Election))
    }
}

/// A candidate pair (pasangan calon) on one election's ballot.
pub struct CandidatePair(pub candidate_pair::Model);

/// A candidate pair (pasangan calon, paslon): a head of region and a deputy on one
/// election's ballot.
#[Object]
impl CandidatePair {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::CandidatePair, &self.0.id.to_string())
    }
    /// The pair's number on the ballot (nomor urut).
    async fn ballot_number(&self) -> i32 {
        self.0.ballot_number
    }
    /// The candidate for the head of region (governor, regent or mayor).
    async fn head_name(&self) -> &str {
        &self.0.head_name
    }
    /// The candidate for the deputy.
    async fn deputy_name(&self) -> &str {
        &self.0.deputy_name
    }
    /// The pair's popular short name, e.g. "RIDO".
    async fn short_name(&self) -> Option<&str> {
        self.0.short_name.as_deref()
    }
    /// By parties or independent.
    async fn nomination_path(&self) -> async_graphql::Result<NominationPath> {
        Ok(self.0.nomination_path)
    }
    /// Supporting parties; empty for an independent pair.
    async fn supporting_parties(&self) -> Vec<String> {
        self.0
            .supporting_parties
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }
    /// Valid votes in round one, where published.
    async fn votes_round_one(&self) -> Option<i64> {
        self.0.votes_round_one
    }
    /// The outcome as published, e.g. `WON_FIRST_ROUND`.
    async fn result(&self) -> Option<&str> {
        self.0.result.as_deref()
    }
    /// The contest the pair runs in.
    async fn election(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Election>> {
        Ok(ctx
            .request()?
            .reference()
            .election(self.0.election_id)
            .cloned()
            .map(Election))
    }
}
