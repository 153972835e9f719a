//! The reference data (regions, elections, stages, candidate pairs, agencies, their
//! jurisdictions, poskos) as one immutable value in memory, and every read of it that
//! the API serves. It is public (CONTRACT.md, Roles: PUBLIC) and small (a few hundred
//! kilobytes), so an instance answers these reads without the database;
//! `reference_cache` keeps it current. The SQL reads in `reference` remain for writes,
//! which must see their own transaction.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::NaiveDate;
use entity::{
    agency, agency_jurisdiction, candidate_pair, district, election, election_stage,
    jurisdiction_district, posko, posko_member, province, regency, region_alias,
};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::domain::reference::{AgencyFilter, ElectionFilter, StageFilter};
use crate::error::AppResult;

/// One consistent copy of the reference data, as of `version`.
#[derive(Debug, Default)]
pub struct ReferenceSnapshot {
    /// The `reference_version` it was read at.
    pub version: i64,
    provinces: BTreeMap<String, province::Model>,
    regencies: BTreeMap<String, regency::Model>,
    districts: BTreeMap<String, district::Model>,
    aliases: HashMap<String, String>,
    elections: BTreeMap<i32, election::Model>,
    stages: BTreeMap<i32, election_stage::Model>,
    candidate_pairs: BTreeMap<i32, candidate_pair::Model>,
    agencies: BTreeMap<String, agency::Model>,
    /// By agency, then region code.
    jurisdictions: BTreeMap<String, Vec<agency_jurisdiction::Model>>,
    /// By jurisdiction row, then district code.
    jurisdiction_districts: HashMap<i32, Vec<jurisdiction_district::Model>>,
    /// By province code.
    poskos: BTreeMap<String, posko::Model>,
    /// By posko, then agency code.
    posko_members: HashMap<i32, Vec<posko_member::Model>>,
    /// Relations the schema walks, indexed once per load so that a walk of the whole
    /// region tree costs a lookup per node, not a scan of every row per node.
    groups: Groups,
}

/// Keys of related rows, each list in the order the schema serves it.
#[derive(Debug, Default)]
struct Groups {
    /// Regency codes by province, by code.
    regencies_by_province: HashMap<String, Vec<String>>,
    /// District codes by regency, by code.
    districts_by_regency: HashMap<String, Vec<String>>,
    /// Election ids by province, by region code.
    elections_by_province: HashMap<String, Vec<i32>>,
    /// Election ids by the region they are for, by year.
    elections_by_region: HashMap<String, Vec<i32>>,
    /// An election's own stage ids, by order in the schedule.
    stages_by_election: HashMap<i32, Vec<i32>>,
    /// The national schedule's stage ids by year, by order.
    national_stages_by_year: HashMap<i32, Vec<i32>>,
    /// Candidate pair ids by election, by ballot number.
    candidates_by_election: HashMap<i32, Vec<i32>>,
}

impl Groups {
    fn of(snapshot: &ReferenceSnapshot) -> Self {
        Self {
            regencies_by_province: grouped(
                snapshot.regencies.values(),
                |r| Some(r.province_code.clone()),
                |r| r.code.clone(),
                |r| r.code.clone(),
            ),
            districts_by_regency: grouped(
                snapshot.districts.values(),
                |d| Some(d.regency_code.clone()),
                |d| d.code.clone(),
                |d| d.code.clone(),
            ),
            elections_by_province: grouped(
                snapshot.elections.values(),
                |e| Some(e.province_code.clone()),
                |e| e.region_code.clone(),
                |e| e.id,
            ),
            elections_by_region: grouped(
                snapshot.elections.values(),
                |e| Some(e.region_code.clone()),
                |e| e.year,
                |e| e.id,
            ),
            stages_by_election: grouped(
                snapshot.stages.values(),
                |s| s.election_id,
                |s| s.seq,
                |s| s.id,
            ),
            national_stages_by_year: grouped(
                snapshot.stages.values(),
                |s| s.election_id.is_none().then_some(s.year),
                |s| s.seq,
                |s| s.id,
            ),
            candidates_by_election: grouped(
                snapshot.candidate_pairs.values(),
                |c| Some(c.election_id),
                |c| c.ballot_number,
                |c| c.id,
            ),
        }
    }
}

/// The ids of `rows` under each key (`None`: under none), each list ordered by `order`.
fn grouped<'a, M: 'a, K: Hash + Eq, O: Ord, I>(
    rows: impl Iterator<Item = &'a M>,
    key: impl Fn(&M) -> Option<K>,
    order: impl Fn(&M) -> O,
    id: impl Fn(&M) -> I,
) -> HashMap<K, Vec<I>> {
    let mut rows: Vec<&M> = rows.collect();
    rows.sort_by_key(|row| order(row));
    let mut groups: HashMap<K, Vec<I>> = HashMap::new();
    for row in rows {
        if let Some(key) = key(row) {
            groups.entry(key).or_default().push(id(row));
        }
    }
    groups
}

/// The rows of `map` whose keys `index` lists under `key`, in that order.
fn listed<'a, K, Q, I, M>(
    index: &HashMap<K, Vec<I>>,
    key: &Q,
    map: &'a BTreeMap<I, M>,
) -> Vec<&'a M>
where
    K: Hash + Eq + std::borrow::Borrow<Q>,
    Q: Hash + Eq + ?Sized,
    I: Ord,
{
    index
        .get(key)
        .into_iter()
        .flatten()
        .filter_map(|id| map.get(id))
        .collect()
}

/// The one rule of which stages are in force on a day. Only a stage that was held (or is
/// scheduled and not cancelled: `held`) is ever in force; a planned round that did not
/// happen stays listed but never counts. A stage is in force from its first to its last
/// day. A date the sources did not report is not guessed: a stage with only one date is
/// in force on that day alone, and one with none (relative to the Constitutional Court's
/// schedule) never is; so no stage is open-ended.
pub fn in_force(stage: &election_stage::Model, day: NaiveDate) -> bool {
    stage.held
        && match (stage.starts_on, stage.ends_on) {
            (Some(start), Some(end)) => start <= day && day <= end,
            (None, Some(end)) => end == day,
            (Some(start), None) => start == day,
            (None, None) => false,
        }
}

impl ReferenceSnapshot {
    /// Reads every reference table at `version`. The caller runs it in one transaction so
    /// the copy is consistent, and reads the version first: a change committed while it
    /// reads bumps the version past it, so the next check reloads.
    pub async fn read<C: ConnectionTrait>(db: &C, version: i64) -> AppResult<Self> {
        let mut jurisdictions: BTreeMap<String, Vec<agency_jurisdiction::Model>> = BTreeMap::new();
        for row in agency_jurisdiction::Entity::find().all(db).await? {
            jurisdictions
                .entry(row.agency_code.clone())
                .or_default()
                .push(row);
        }
        for rows in jurisdictions.values_mut() {
            rows.sort_by(|a, b| a.region_code.cmp(&b.region_code));
        }
        let mut jurisdiction_districts: HashMap<i32, Vec<jurisdiction_district::Model>> =
            HashMap::new();
        for row in jurisdiction_district::Entity::find().all(db).await? {
            jurisdiction_districts
                .entry(row.jurisdiction_id)
                .or_default()
                .push(row);
        }
        for rows in jurisdiction_districts.values_mut() {
            rows.sort_by(|a, b| a.district_code.cmp(&b.district_code));
        }
        let mut posko_members: HashMap<i32, Vec<posko_member::Model>> = HashMap::new();
        for row in posko_member::Entity::find().all(db).await? {
            posko_members.entry(row.posko_id).or_default().push(row);
        }
        for rows in posko_members.values_mut() {
            rows.sort_by(|a, b| a.agency_code.cmp(&b.agency_code));
        }
        let mut snapshot = Self {
            version,
            provinces: keyed(province::Entity::find().all(db).await?, |m| m.code.clone()),
            regencies: keyed(regency::Entity::find().all(db).await?, |m| m.code.clone()),
            districts: keyed(district::Entity::find().all(db).await?, |m| m.code.clone()),
            aliases: region_alias::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|a| (a.old_code, a.new_code))
                .collect(),
            elections: keyed(election::Entity::find().all(db).await?, |m| m.id),
            stages: keyed(election_stage::Entity::find().all(db).await?, |m| m.id),
            candidate_pairs: keyed(candidate_pair::Entity::find().all(db).await?, |m| m.id),
            agencies: keyed(agency::Entity::find().all(db).await?, |m| m.code.clone()),
            jurisdictions,
            jurisdiction_districts,
            poskos: keyed(posko::Entity::find().all(db).await?, |m| {
                m.province_code.clone()
            }),
            posko_members,
            groups: Groups::default(),
        };
        snapshot.groups = Groups::of(&snapshot);
        Ok(snapshot)
    }

    /// The region code a caller meant: a recoded region's old code maps to its new one.
    pub fn canonical_code<'a>(&'a self, code: &'a str) -> &'a str {
        self.aliases.get(code).map_or(code, String::as_str)
    }

    /// All provinces, by code.
    pub fn provinces(&self) -> impl Iterator<Item = &province::Model> {
        self.provinces.values()
    }

    /// One province by code (or an old alias of it).
    pub fn province(&self, code: &str) -> Option<&province::Model> {
        self.provinces.get(self.canonical_code(code))
    }

    /// One regency or city by code (or an old alias of it).
    pub fn regency(&self, code: &str) -> Option<&regency::Model> {
        self.regencies.get(self.canonical_code(code))
    }

    /// A province's regencies and cities, by code.
    pub fn regencies_of(&self, province_code: &str) -> Vec<&regency::Model> {
        listed(
            &self.groups.regencies_by_province,
            province_code,
            &self.regencies,
        )
    }

    /// One district by code.
    pub fn district(&self, code: &str) -> Option<&district::Model> {
        self.districts.get(code)
    }

    /// A regency's districts (those Posko knows of), by code.
    pub fn districts_of(&self, regency_code: &str) -> Vec<&district::Model> {
        listed(
            &self.groups.districts_by_regency,
            regency_code,
            &self.districts,
        )
    }

    /// Elections matching the filter, by year and region code.
    pub fn elections(&self, filter: &ElectionFilter) -> Vec<&election::Model> {
        let province = filter
            .province_code
            .as_deref()
            .map(|code| self.canonical_code(code));
        let mut rows: Vec<&election::Model> = self
            .elections
            .values()
            .filter(|e| province.is_none_or(|p| e.province_code == p))
            .filter(|e| filter.kind.is_none_or(|k| e.kind == k))
            .filter(|e| filter.year.is_none_or(|y| e.year == y))
            .collect();
        rows.sort_by(|a, b| (a.year, &a.region_code).cmp(&(b.year, &b.region_code)));
        rows
    }

    /// One election by id.
    pub fn election(&self, id: i32) -> Option<&election::Model> {
        self.elections.get(&id)
    }

    /// A province's contests (its governor's and its regencies'/cities'), by region code.
    pub fn elections_of_province(&self, province_code: &str) -> Vec<&election::Model> {
        listed(
            &self.groups.elections_by_province,
            province_code,
            &self.elections,
        )
    }

    /// A region's own contests, by year.
    pub fn elections_of_region(&self, region_code: &str) -> Vec<&election::Model> {
        listed(
            &self.groups.elections_by_region,
            region_code,
            &self.elections,
        )
    }

    /// Stages matching the filter: the national schedule first, then each election's own,
    /// each by round and order in the schedule.
    pub fn stages(&self, filter: &StageFilter) -> Vec<&election_stage::Model> {
        let election = filter
            .election_id
            .map(|id| (id, self.election(id).map_or(0, |e| e.year)));
        let province_elections: Option<Vec<i32>> = filter.province_code.as_deref().map(|code| {
            let code = self.canonical_code(code);
            self.elections
                .values()
                .filter(|e| e.province_code == code)
                .map(|e| e.id)
                .collect()
        });
        let mut rows: Vec<&election_stage::Model> = self
            .stages
            .values()
            .filter(|s| {
                election.is_none_or(|(id, year)| {
                    s.election_id == Some(id) || (s.election_id.is_none() && s.year == year)
                })
            })
            .filter(|s| {
                province_elections
                    .as_ref()
                    .is_none_or(|ids| s.election_id.is_none_or(|id| ids.contains(&id)))
            })
            .filter(|s| filter.active_on.is_none_or(|day| in_force(s, day)))
            .collect();
        rows.sort_by_key(|s| (s.year, s.election_id, s.round, s.seq));
        rows
    }

    /// The contest a place belongs to for disputes: its regency's own, or, where the
    /// regency holds none (Jakarta's administrative regions), its province's governor's.
    pub fn election_for(
        &self,
        province_code: &str,
        regency_code: &str,
        year: i32,
    ) -> Option<&election::Model> {
        let of = |region: &str| {
            self.elections
                .values()
                .find(|e| e.year == year && e.region_code == region)
        };
        of(regency_code).or_else(|| of(province_code))
    }

    /// The stage in force on a day for an election (`in_force`: never one that was not
    /// held): its own stages first, then the national schedule; the shortest first (polling
    /// day rather than the count that starts on it), a stage known by one date only last.
    pub fn stage_in_force(
        &self,
        election: Option<&election::Model>,
        year: i32,
        day: NaiveDate,
    ) -> Option<&election_stage::Model> {
        self.stages
            .values()
            .filter(|s| {
                (s.election_id.is_none() && s.year == year)
                    || election.is_some_and(|e| s.election_id == Some(e.id))
            })
            .filter(|s| in_force(s, day))
            .min_by_key(|s| {
                let span = s
                    .ends_on
                    .zip(s.starts_on)
                    .map_or(i64::MAX, |(end, start)| (end - start).num_days());
                (s.election_id.is_none(), span, -s.seq, s.id)
            })
    }

    /// One stage by id.
    pub fn stage(&self, id: i32) -> Option<&election_stage::Model> {
        self.stages.get(&id)
    }

    /// An election's own stages, by order in the schedule.
    pub fn stages_of_election(&self, election_id: i32) -> Vec<&election_stage::Model> {
        listed(&self.groups.stages_by_election, &election_id, &self.stages)
    }

    /// A cycle's national schedule (stages that belong to no single election), by order.
    pub fn national_stages(&self, year: i32) -> Vec<&election_stage::Model> {
        listed(&self.groups.national_stages_by_year, &year, &self.stages)
    }

    /// One candidate pair by id.
    pub fn candidate_pair(&self, id: i32) -> Option<&candidate_pair::Model> {
        self.candidate_pairs.get(&id)
    }

    /// An election's candidate pairs, by ballot number.
    pub fn candidates_of(&self, election_id: i32) -> Vec<&candidate_pair::Model> {
        listed(
            &self.groups.candidates_by_election,
            &election_id,
            &self.candidate_pairs,
        )
    }

    /// Agencies matching the filter, by code.
    pub fn agencies(&self, filter: &AgencyFilter) -> Vec<&agency::Model> {
        let region = filter
            .region_code
            .as_deref()
            .map(|code| self.canonical_code(code));
        self.agencies
            .values()
            .filter(|a| filter.kind.is_none_or(|k| a.kind == k))
            .filter(|a| {
                region.is_none_or(|code| a.level.is_national() || self.reaches(&a.code, code))
            })
            .collect()
    }

    /// Whether an agency's jurisdiction rows reach a region: a regency is reached by a row
    /// for it or for its whole province, a province by any row inside it.
    fn reaches(&self, agency_code: &str, code: &str) -> bool {
        let rows = self.jurisdictions_of(agency_code);
        match code.split_once('.') {
            Some((province, _)) => rows
                .iter()
                .any(|j| j.region_code == code || j.region_code == province),
            None => rows.iter().any(|j| j.province_code == code),
        }
    }

    /// One agency by code.
    pub fn agency(&self, code: &str) -> Option<&agency::Model> {
        self.agencies.get(code)
    }

    /// An agency's jurisdiction rows, by region code.
    pub fn jurisdictions_of(&self, agency_code: &str) -> &[agency_jurisdiction::Model] {
        self.jurisdictions
            .get(agency_code)
            .map_or(&[], Vec::as_slice)
    }

    /// The districts a PARTIAL jurisdiction row covers, by code.
    pub fn districts_of_jurisdiction(&self, jurisdiction_id: i32) -> Vec<&district::Model> {
        self.jurisdiction_districts
            .get(&jurisdiction_id)
            .into_iter()
            .flatten()
            .filter_map(|link| self.district(&link.district_code))
            .collect()
    }

    /// The posko of a province (or an old alias of its code), if it has one.
    pub fn posko(&self, province_code: &str) -> Option<&posko::Model> {
        self.poskos.get(self.canonical_code(province_code))
    }

    /// A posko's member agencies, by code.
    pub fn posko_members(&self, posko_id: i32) -> Vec<&agency::Model> {
        self.posko_members
            .get(&posko_id)
            .into_iter()
            .flatten()
            .filter_map(|link| self.agency(&link.agency_code))
            .collect()
    }
}

fn keyed<K: Ord, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> BTreeMap<K, V> {
    rows.into_iter().map(|row| (key(&row), row)).collect()
}
