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
    RegencyKind {
        /// A regency (kabupaten): a mostly rural region led by a regent (bupati); Kemendagri
        /// codes `PP.01`–`PP.69`.
        Kabupaten,
        /// A city (kota) led by a mayor (wali kota); Kemendagri codes `PP.71`–`PP.99`.
        Kota,
    }
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
    StagePhase {
        /// Persiapan: planning, budgets and forming the ad hoc bodies, before registration.
        Preparation,
        /// Penyelenggaraan: from voter lists and candidate registration through campaign,
        /// vote, count and the declaration of the winners.
        Implementation,
    }
);

vocabulary!(
    /// How a candidate pair was nominated.
    NominationPath {
        /// Nominated by a political party or a coalition of parties.
        PartyCoalition,
        /// Nominated by voters' signatures (jalur perseorangan), without parties.
        Independent,
    }
);

vocabulary!(
    /// What kind of body an agency is; decides which token roles fit it.
    AgencyKind {
        /// Badan Kesatuan Bangsa dan Politik, the regional government's office for national
        /// unity and politics: it hosts the posko; its officers sign in as ADMIN.
        Kesbangpol,
        /// Komisi Pemilihan Umum, the election commission (KIP in Aceh): runs the election
        /// and its schedule; role KPU.
        Kpu,
        /// Badan Pengawas Pemilihan Umum, the election supervisory body (Panwaslih in
        /// Aceh): receives reports of violations and classifies them; role BAWASLU.
        Bawaslu,
        /// The police (Polri: Mabes Polri nationally, a Polda per region); role POLICE.
        Police,
        /// The army (TNI, e.g. Kodam Jaya); role MEMBER.
        Military,
        /// The prosecutors (Kejaksaan, e.g. Kejati DKI); role MEMBER.
        Prosecutor,
        /// Other offices of the regional government (e.g. a city's administration); role
        /// MEMBER.
        LocalGovernment,
        /// Community representatives (religious, customary or civil-society groups); role
        /// MEMBER.
        Community,
    }
);

vocabulary!(
    /// Where an agency sits; a NATIONAL agency covers the whole country.
    AgencyLevel {
        /// A national body (KPU RI, Bawaslu RI, Mabes Polri): its jurisdiction is the whole
        /// country.
        National,
        /// A provincial body (e.g. KPU DKI, Polda Metro Jaya); its jurisdiction is listed.
        Province,
        /// A body of one regency or city; its jurisdiction is listed.
        Regency,
    }
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
    Coverage {
        /// The whole province or regency/city.
        Full,
        /// Only the listed districts (kecamatan) of a regency/city.
        Partial,
    }
);

vocabulary!(
    /// The caller's role, from the token (`PUBLIC` when there is none).
    Role {
        /// Anyone without a token: reference data and k-anonymous statistics, no single
        /// dispute.
        Public,
        /// Other posko members (army, prosecutors, local government, community): disputes
        /// in the agency's jurisdiction.
        Member,
        /// The election commission (KPU): disputes in its jurisdiction, Bawaslu's
        /// classification, and editing election stages.
        Kpu,
        /// The election supervisory body (Bawaslu): disputes in its jurisdiction, the
        /// reporter's identity, and classifying violations.
        Bawaslu,
        /// The police: disputes in its jurisdiction and its own intelligence notes; the
        /// reporter once a dispute is escalated to the police or Gakkumdu.
        Police,
        /// The posko coordinator (Kesbangpol): disputes in its jurisdiction, the posko's
        /// data and the access log.
        Admin,
    }
);

vocabulary!(
    /// Where a dispute stands in the posko's workflow.
    DisputeStatus {
        /// Filed and not yet checked.
        Reported,
        /// Checked by the posko: it happened and is within its remit.
        Verified,
        /// The posko is mediating between the parties.
        InMediation,
        /// Handed to another body (Bawaslu, Gakkumdu, police, DKPP, BKN, the
        /// Constitutional Court).
        Escalated,
        /// Settled, with an outcome (closed; ADMIN can reopen it).
        Resolved,
        /// Not pursued, with a reason (closed; ADMIN can reopen it).
        Dismissed,
    }
);

vocabulary!(
    /// How serious a dispute is.
    Severity {
        /// Minor: no harm to people and no effect on the vote.
        Low,
        /// Harm or an effect on the vote is possible; needs follow-up.
        Medium,
        /// Harm to people or to the vote is likely; needs prompt action.
        High,
        /// Violence, or a threat to the vote itself, under way.
        Critical,
    }
);

vocabulary!(
    /// What a dispute is about (Bawaslu's 2024 figures and the vulnerability index).
    DisputeCategory {
        /// Vote buying (politik uang): money, goods or promises for votes.
        MoneyPolitics,
        /// A civil servant, soldier, police officer or village head taking sides.
        Neutrality,
        /// Hoaxes, or incitement on ethnicity, religion, race or group (SARA).
        HoaxOrSara,
        /// Damaged, misplaced or illegal campaign props (alat peraga kampanye, APK).
        CampaignProps,
        /// Campaigning during the quiet period (masa tenang) before the vote.
        QuietPeriodCampaigning,
        /// Threats or pressure on voters, candidates, officials or reporters.
        Intimidation,
        /// A clash between supporters.
        Clash,
        /// A witness's objection at the count or recapitulation.
        CountingObjection,
        /// Anything else.
        Other,
    }
);

vocabulary!(
    /// Who brought a dispute to the posko.
    ReporterKind {
        /// A voter.
        Voter,
        /// An election observer (pemantau).
        Observer,
        /// A candidate pair or its campaign team.
        CandidatePair,
        /// A posko member's own finding (temuan).
        PoskoFinding,
    }
);

vocabulary!(
    /// The bodies a dispute can be handed to.
    EscalationTarget {
        /// Bawaslu, for administrative violations (it recommends to KPU).
        Bawaslu,
        /// Sentra Gakkumdu (Bawaslu, police and prosecutors together), for election crimes.
        Gakkumdu,
        /// The police, for ordinary crimes (violence, threats).
        Police,
        /// DKPP, the ethics council of election officials.
        Dkpp,
        /// BKN, the civil service agency, for civil servants who are not neutral.
        Bkn,
        /// The Constitutional Court (Mahkamah Konstitusi, MK), for disputes over results.
        ConstitutionalCourt,
    }
);

vocabulary!(
    /// Bawaslu's classification of a dispute.
    ViolationClass {
        /// A breach of election procedure; Bawaslu recommends a remedy to KPU.
        Administrative,
        /// An election crime (tindak pidana pemilihan), for Gakkumdu.
        ElectionCrime,
        /// A breach of election officials' code of ethics, for DKPP.
        Ethics,
        /// A breach of another law (e.g. civil-service neutrality, for BKN).
        OtherLaw,
        /// Not a violation.
        NotAViolation,
    }
);

vocabulary!(
    /// What a timeline event records.
    EventKind {
        /// The report was filed.
        Reported,
        /// The posko verified it.
        Verified,
        /// Mediation started.
        MediationStarted,
        /// A mediation session was recorded.
        MediationRecorded,
        /// It was handed to another body.
        Escalated,
        /// Bawaslu classified it.
        Classified,
        /// The police added an intelligence note.
        IntelNote,
        /// Someone added a note.
        Note,
        /// An agency was assigned.
        AgencyAssigned,
        /// An agency's assignment was removed.
        AgencyUnassigned,
        /// It was resolved.
        Resolved,
        /// It was dismissed.
        Dismissed,
        /// It was reopened.
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
