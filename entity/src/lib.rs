//! Posko's tables as sea-orm entities. Plain data only: no GraphQL derives (a column must
//! never become an API field by accident) and no business rules.

pub mod access_log;
pub mod agency;
pub mod agency_jurisdiction;
pub mod candidate_pair;
pub mod directory_change;
pub mod dispute;
pub mod dispute_agency_tally;
pub mod dispute_assignment;
pub mod dispute_escalation;
pub mod dispute_event;
pub mod dispute_party;
pub mod dispute_tally;
pub mod district;
pub mod election;
pub mod election_stage;
pub mod jurisdiction_district;
pub mod posko;
pub mod posko_member;
pub mod province;
pub mod regency;
pub mod region_alias;
pub mod region_result;
pub mod region_result_votes;
pub mod seed_state;
pub mod vulnerability_index;
