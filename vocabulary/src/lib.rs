//! The closed vocabularies of Posko, the lowest layer: the entities hold these enums (as
//! sea-orm string enums), and the policy, the domain and the API use the same types. Each
//! is stored as its SCREAMING_SNAKE_CASE name and published under the same name in
//! GraphQL, so the database, the API and the seed files spell every value one way, and no
//! code compares a stored string by hand.

use async_graphql::Enum;
use sea_orm::{DeriveActiveEnum, entity::prelude::StringLen};
use strum::{AsRefStr, Display, EnumIter, EnumString, IntoStaticStr};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
                 EnumString, IntoStaticStr, AsRefStr, EnumIter, serde::Serialize, Display,
                 DeriveActiveEnum)]
        #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)",
                  rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The stored and published spelling.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

vocabulary!(
    /// Whether a regency-level region is a regency (kabupaten) or a city (kota).
    RegencyKind { Kabupaten, Kota }
);

vocabulary!(
    /// The office an election fills.
    ElectionKind {
        /// Governor and vice-governor (Pilgub).
        Governor,
        /// Regent and vice-regent (Pilbup).
        Regent,
        /// Mayor and vice-mayor (Pilwalkot).
        Mayor,
    }
);

vocabulary!(
    /// How a contest is won.
    WinRule {
        /// Most votes wins.
        Plurality,
        /// More than 50 % of valid votes, else a second round between the top two
        /// (Jakarta's governor, UU 2/2024 Pasal 10).
        MajorityWithRunoff,
        /// A single pair must win more than 50 % against the empty box.
        MajorityAgainstEmptyBox,
    }
);

vocabulary!(
    /// The two phases of PKPU 2/2024 (persiapan, penyelenggaraan).
    StagePhase { Preparation, Implementation }
);

vocabulary!(
    /// How a candidate pair was nominated.
    NominationPath { PartyCoalition, Independent }
);

vocabulary!(
    /// What kind of body an agency is; decides which token roles fit it.
    AgencyKind {
        Kesbangpol,
        Kpu,
        Bawaslu,
        Police,
        Military,
        Prosecutor,
        LocalGovernment,
        Community,
    }
);

vocabulary!(
    /// Where an agency sits; a NATIONAL agency covers the whole country.
    AgencyLevel { National, Province, Regency }
);

impl AgencyLevel {
    /// Whether an agency at this level covers the whole country (KPU RI, Bawaslu RI,
    /// Mabes Polri): the one place that says so.
    pub fn is_national(self) -> bool {
        self == Self::National
    }
}

vocabulary!(
    /// Whether a jurisdiction row covers its whole region or only listed districts.
    Coverage { Full, Partial }
);

vocabulary!(
    /// The caller's role, from the token (`PUBLIC` when there is none).
    Role { Public, Member, Kpu, Bawaslu, Police, Admin }
);

vocabulary!(
    /// Where a dispute stands in the posko's workflow.
    DisputeStatus { Reported, Verified, InMediation, Escalated, Resolved, Dismissed }
);

vocabulary!(
    /// How serious a dispute is.
    Severity { Low, Medium, High, Critical }
);

vocabulary!(
    /// What a dispute is about (Bawaslu's 2024 figures and the vulnerability index).
    DisputeCategory {
        MoneyPolitics,
        Neutrality,
        HoaxOrSara,
        CampaignProps,
        QuietPeriodCampaigning,
        Intimidation,
        Clash,
        CountingObjection,
        Other,
    }
);

vocabulary!(
    /// Who brought a dispute to the posko.
    ReporterKind { Voter, Observer, CandidatePair, PoskoFinding }
);

vocabulary!(
    /// The bodies a dispute can be handed to.
    EscalationTarget { Bawaslu, Gakkumdu, Police, Dkpp, Bkn, ConstitutionalCourt }
);

vocabulary!(
    /// Bawaslu's classification of a dispute.
    ViolationClass { Administrative, ElectionCrime, Ethics, OtherLaw, NotAViolation }
);

vocabulary!(
    /// What a timeline event records.
    EventKind {
        Reported,
        Verified,
        MediationStarted,
        MediationRecorded,
        Escalated,
        Classified,
        IntelNote,
        Note,
        AgencyAssigned,
        AgencyUnassigned,
        Resolved,
        Dismissed,
        Reopened,
    }
);

/// A stored value the binary does not know: the database and the code disagree.
#[derive(Debug)]
pub struct UnknownStoredValue {
    pub column: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownStoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown stored value {:?} in column {}",
            self.value, self.column
        )
    }
}

impl std::error::Error for UnknownStoredValue {}

/// Parses a vocabulary value kept in a text column that holds several kinds of value (a
/// statistics key, an audience list). Columns of one kind hold the enum itself.
pub fn parse_stored<T: std::str::FromStr>(
    column: &'static str,
    value: &str,
) -> Result<T, UnknownStoredValue> {
    value.parse().map_err(|_| UnknownStoredValue {
        column,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    fn same_spelling<T>()
    where
        T: ActiveEnum<Value = String> + sea_orm::Iterable + Copy + Into<&'static str>,
    {
        for value in T::iter() {
            // The database, the API and the seed files spell every value one way: what is
            // stored is today's spelling, so typed columns needed no data migration.
            let published: &'static str = value.into();
            assert_eq!(value.to_value(), published);
        }
    }

    #[test]
    fn stored_spelling_is_the_published_spelling() {
        same_spelling::<RegencyKind>();
        same_spelling::<ElectionKind>();
        same_spelling::<WinRule>();
        same_spelling::<StagePhase>();
        same_spelling::<NominationPath>();
        same_spelling::<AgencyKind>();
        same_spelling::<AgencyLevel>();
        same_spelling::<Coverage>();
        same_spelling::<Role>();
        same_spelling::<DisputeStatus>();
        same_spelling::<Severity>();
        same_spelling::<DisputeCategory>();
        same_spelling::<ReporterKind>();
        same_spelling::<EscalationTarget>();
        same_spelling::<ViolationClass>();
        same_spelling::<EventKind>();
        assert_eq!(DisputeStatus::InMediation.to_value(), "IN_MEDIATION");
        assert_eq!(ViolationClass::NotAViolation.to_value(), "NOT_A_VIOLATION");
        assert!(AgencyLevel::National.is_national() && !AgencyLevel::Province.is_national());
    }
}
