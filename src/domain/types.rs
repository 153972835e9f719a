//! The closed vocabularies of Posko. Each enum is stored as its SCREAMING_SNAKE_CASE name
//! (strum) and published under the same name in GraphQL, so the database, the API and the
//! seed files spell every value one way.

use async_graphql::Enum;
use strum::{AsRefStr, EnumIter, EnumString, IntoStaticStr};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
                 EnumString, IntoStaticStr, AsRefStr, EnumIter, serde::Serialize)]
        #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

/// Parses a stored vocabulary value. A value the code does not know means the database
/// and the binary disagree, which is an internal error, never the caller's.
pub fn parse_stored<T: std::str::FromStr>(column: &'static str, value: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown stored value {value:?} in column {column}"))
}
