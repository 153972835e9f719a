//! The legal clocks (DOMAIN.md; data/dispute_timelines.csv), in calendar days as Bawaslu
//! counts Pilkada deadlines, and in working days where the law says so (the
//! Constitutional Court's, `calendar`). `deadlines` evaluates them for one dispute and
//! `overdue_condition` is the same rules in SQL for the `overdue` filter; a test keeps the
//! two in agreement, and another that every step of the timelines file with a deadline is
//! a clock here (or says why it is none).
//!
//! Posko records when a dispute went to Gakkumdu, not each step of the criminal chain
//! after it, so the chain's clocks are its outer bounds counted from the escalation: each
//! step's due date assumes every step before it took its full time, and the 3 + 3 days of
//! a file the prosecutor returns (Pasal 146(2)-(3)) are the extension of every step after
//! the first. Each is met when the dispute is closed.

use chrono::{DateTime, Duration, Utc};
use entity::{dispute, dispute_escalation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::calendar::{self, Calendar};
use crate::domain::reference;
use crate::domain::types::{DisputeCategory, DisputeStatus, EscalationTarget};

/// A report must reach Bawaslu within 7 days of the event being known (UU 1/2015 Pasal
/// 134(4)); Posko counts from `occurredAt`, the earliest it can have been known.
pub const REPORT_WINDOW_DAYS: i64 = 7;
/// Bawaslu decides within 3 days of receiving a report (Pasal 134(5))…
pub const BAWASLU_DECISION_DAYS: i64 = 3;
/// …plus 2 when it asks the reporter for more (Pasal 134(6)).
pub const BAWASLU_EXTENSION_DAYS: i64 = 2;
/// The police hand the file to prosecutors within 14 days (Pasal 146(1)).
pub const GAKKUMDU_FILE_DAYS: i64 = 14;
/// A prosecutor returns an incomplete file within 3 days (Pasal 146(2))…
pub const GAKKUMDU_RETURN_DAYS: i64 = 3;
/// …and the police resubmit it within 3 (Pasal 146(3)).
pub const GAKKUMDU_RESUBMIT_DAYS: i64 = 3;
/// The prosecutor files the case with the district court within 5 days (Pasal 147).
pub const GAKKUMDU_TO_COURT_DAYS: i64 = 5;
/// The district court decides within 7 days (Pasal 148).
pub const GAKKUMDU_VERDICT_DAYS: i64 = 7;
/// An appeal is filed within 3 days of the verdict (Pasal 148).
pub const GAKKUMDU_APPEAL_DAYS: i64 = 3;
/// The high court decides within 7 days, final and binding (Pasal 148).
pub const GAKKUMDU_APPEAL_VERDICT_DAYS: i64 = 7;
/// A petition to the Constitutional Court within 3 working days of the result's
/// announcement (UU 10/2016 Pasal 157(5)).
pub const MK_PETITION_WORKING_DAYS: u32 = 3;
/// The Constitutional Court decides within 45 working days (Pasal 157(8)).
pub const MK_DECISION_WORKING_DAYS: u32 = 45;

/// Days from an escalation to Gakkumdu to the due date of each step of the chain, and the
/// extension a returned file adds.
const GAKKUMDU_CHAIN: [(DeadlineKind, i64); 5] = [
    (DeadlineKind::GakkumduFileToProsecutor, GAKKUMDU_FILE_DAYS),
    (
        DeadlineKind::GakkumduCaseToCourt,
        GAKKUMDU_FILE_DAYS + GAKKUMDU_TO_COURT_DAYS,
    ),
    (
        DeadlineKind::GakkumduCourtVerdict,
        GAKKUMDU_FILE_DAYS + GAKKUMDU_TO_COURT_DAYS + GAKKUMDU_VERDICT_DAYS,
    ),
    (
        DeadlineKind::GakkumduAppealFiled,
        GAKKUMDU_FILE_DAYS + GAKKUMDU_TO_COURT_DAYS + GAKKUMDU_VERDICT_DAYS + GAKKUMDU_APPEAL_DAYS,
    ),
    (
        DeadlineKind::GakkumduAppealVerdict,
        GAKKUMDU_FILE_DAYS
            + GAKKUMDU_TO_COURT_DAYS
            + GAKKUMDU_VERDICT_DAYS
            + GAKKUMDU_APPEAL_DAYS
            + GAKKUMDU_APPEAL_VERDICT_DAYS,
    ),
];
const GAKKUMDU_RETURN_EXTENSION: i64 = GAKKUMDU_RETURN_DAYS + GAKKUMDU_RESUBMIT_DAYS;

/// Which clock.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeadlineKind {
    /// 7 days from the event to report it to Bawaslu; met by escalating to Bawaslu or
    /// Gakkumdu.
    BawasluReportWindow,
    /// 3 (+2) days for Bawaslu to decide after an escalation to it; met by a classification.
    BawasluDecision,
    /// 14 days for the police to hand the file to prosecutors after an escalation to
    /// Gakkumdu; met by resolving the dispute.
    GakkumduFileToProsecutor,
    /// 5 more days for the prosecutor to file the case with the district court (19 from
    /// the escalation; +6 if the file was returned); met by closing the dispute.
    GakkumduCaseToCourt,
    /// 7 more days for the district court's verdict (26; +6); met by closing the dispute.
    GakkumduCourtVerdict,
    /// 3 more days to appeal the verdict (29; +6); met by closing the dispute.
    GakkumduAppealFiled,
    /// 7 more days for the high court's final verdict (36; +6); met by closing the
    /// dispute.
    GakkumduAppealVerdict,
    /// 3 working days from the announcement of the result to petition the Constitutional
    /// Court, for a counting objection; met by escalating to the Court (or closing it).
    ConstitutionalCourtPetition,
    /// 45 working days for the Constitutional Court to decide after an escalation to it;
    /// met by closing the dispute.
    ConstitutionalCourtDecision,
}

impl DeadlineKind {
    /// Whether the clock's state tells if Bawaslu has classified the dispute.
    pub fn reveals_classification(self) -> bool {
        self == Self::BawasluDecision
    }

    /// The step of `data/dispute_timelines.csv` the clock is: (process, step, legal basis).
    pub fn step(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::BawasluReportWindow => (
                "LAPORAN_PELANGGARAN",
                "Time limit to report",
                "UU 1/2015 Pasal 134(4)",
            ),
            Self::BawasluDecision => (
                "LAPORAN_PELANGGARAN",
                "Bawaslu must act on a verified report",
                "UU 1/2015 Pasal 134(5); +2 days Pasal 134(6)",
            ),
            Self::GakkumduFileToProsecutor => (
                "PIDANA_GAKKUMDU",
                "Police investigation file to prosecutor",
                "UU 1/2015 Pasal 146(1)",
            ),
            Self::GakkumduCaseToCourt => (
                "PIDANA_GAKKUMDU",
                "Prosecutor files case to Pengadilan Negeri",
                "UU 1/2015 Pasal 147; a returned file Pasal 146(2)-(3)",
            ),
            Self::GakkumduCourtVerdict => (
                "PIDANA_GAKKUMDU",
                "Pengadilan Negeri decides (special panel)",
                "UU 1/2015 Pasal 148",
            ),
            Self::GakkumduAppealFiled => (
                "PIDANA_GAKKUMDU",
                "Appeal (banding) filed",
                "UU 1/2015 Pasal 148",
            ),
            Self::GakkumduAppealVerdict => (
                "PIDANA_GAKKUMDU",
                "Pengadilan Tinggi decides (final and binding)",
                "UU 1/2015 Pasal 148",
            ),
            Self::ConstitutionalCourtPetition => (
                "PERSELISIHAN_HASIL",
                "Petition to MK",
                "UU 10/2016 Pasal 157(5)",
            ),
            Self::ConstitutionalCourtDecision => (
                "PERSELISIHAN_HASIL",
                "MK decides",
                "UU 10/2016 Pasal 157(8)",
            ),
        }
    }

    /// Whether the law counts this clock in working days.
    pub fn in_working_days(self) -> bool {
        matches!(
            self,
            Self::ConstitutionalCourtPetition | Self::ConstitutionalCourtDecision
        )
    }
}

/// One clock of one dispute (`graphql::types::dispute::Deadline` publishes it).
#[derive(Clone, Debug)]
pub struct Deadline {
    /// Which clock.
    pub kind: DeadlineKind,
    /// The step of the legal chain, as `data/dispute_timelines.csv` names it.
    pub step: String,
    /// The article that sets the deadline, e.g. "UU 10/2016 Pasal 157(5)".
    pub legal_basis: String,
    /// Counted in working days (Monday to Friday, not a national holiday or collective
    /// leave day; `data/non_working_days.csv`) rather than calendar days.
    pub working_days: bool,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// The latest date with the extension the law allows, where there is one.
    pub extended_due_at: Option<DateTime<Utc>>,
    /// Whatever the clock asks for has been done.
    pub met: bool,
    /// Not met, the dispute is still open, and `dueAt` has passed.
    pub overdue: bool,
}

impl Deadline {
    fn new(
        kind: DeadlineKind,
        due_at: DateTime<Utc>,
        extended_due_at: Option<DateTime<Utc>>,
        met: bool,
        overdue: bool,
    ) -> Self {
        let (_, step, legal_basis) = kind.step();
        Self {
            kind,
            step: step.to_owned(),
            legal_basis: legal_basis.to_owned(),
            working_days: kind.in_working_days(),
            due_at,
            extended_due_at,
            met,
            overdue,
        }
    }
}

fn is_open(status: DisputeStatus) -> bool {
    !matches!(status, DisputeStatus::Resolved | DisputeStatus::Dismissed)
}

/// The clocks running for a dispute.
pub fn deadlines(
    dispute: &dispute::Model,
    escalations: &[dispute_escalation::Model],
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    let open = is_open(dispute.status);
    let to = |target: EscalationTarget| escalations.iter().filter(move |e| e.target == target);
    let reached_bawaslu = escalations
        .iter()
        .any(|e| e.target == EscalationTarget::Bawaslu || e.target == EscalationTarget::Gakkumdu);
    let mut out = Vec::new();
    let due = dispute.occurred_at + Duration::days(REPORT_WINDOW_DAYS);
    out.push(Deadline::new(
        DeadlineKind::BawasluReportWindow,
        due,
        None,
        reached_bawaslu,
        open && !reached_bawaslu && now > due,
    ));
    for escalation in to(EscalationTarget::Bawaslu) {
        let due = escalation.escalated_at + Duration::days(BAWASLU_DECISION_DAYS);
        let met = dispute.violation.is_some();
        out.push(Deadline::new(
            DeadlineKind::BawasluDecision,
            due,
            Some(due + Duration::days(BAWASLU_EXTENSION_DAYS)),
            met,
            open && !met && now > due,
        ));
    }
    for escalation in to(EscalationTarget::Gakkumdu) {
        for (index, (kind, days)) in GAKKUMDU_CHAIN.into_iter().enumerate() {
            let due = escalation.escalated_at + Duration::days(days);
            let extended = (index > 0).then(|| due + Duration::days(GAKKUMDU_RETURN_EXTENSION));
            out.push(Deadline::new(kind, due, extended, !open, open && now > due));
        }
    }
    let calendar = calendar::calendar();
    if dispute.category == DisputeCategory::CountingObjection {
        let due = petition_due(calendar, &dispute.province_code, &dispute.regency_code);
        let met = !to(EscalationTarget::ConstitutionalCourt)
            .collect::<Vec<_>>()
            .is_empty();
        out.push(Deadline::new(
            DeadlineKind::ConstitutionalCourtPetition,
            due,
            None,
            met,
            open && !met && now > due,
        ));
    }
    for escalation in to(EscalationTarget::ConstitutionalCourt) {
        let due = decision_due(calendar, escalation.escalated_at, &dispute.province_code);
        out.push(Deadline::new(
            DeadlineKind::ConstitutionalCourtDecision,
            due,
            None,
            !open,
            open && now > due,
        ));
    }
    out
}

/// The end of the last day to petition the Constitutional Court over a region's result.
fn petition_due(calendar: &Calendar, province_code: &str, regency_code: &str) -> DateTime<Utc> {
    let announced = calendar.announced_on(province_code, regency_code);
    calendar::end_of_local_day(
        calendar.add_working_days(announced, MK_PETITION_WORKING_DAYS),
        province_code,
    )
}

/// The end of the Court's last day to decide on a petition filed at `filed_at`.
fn decision_due(
    calendar: &Calendar,
    filed_at: DateTime<Utc>,
    province_code: &str,
) -> DateTime<Utc> {
    let filed = calendar::local_day(filed_at, province_code);
    calendar::end_of_local_day(
        calendar.add_working_days(filed, MK_DECISION_WORKING_DAYS),
        province_code,
    )
}

/// The provinces of each time zone, as conditions on the dispute's province, with a
/// province code of that zone (which `utc_offset_hours` maps to its offset).
fn time_zones() -> [(Condition, &'static str); 3] {
    let wita = reference::WITA_PROVINCES;
    let wit = reference::WIT_PROVINCES;
    [
        (
            Condition::all().add(
                dispute::Column::ProvinceCode.is_not_in(wita.iter().chain(wit.iter()).copied()),
            ),
            "31",
        ),
        (
            Condition::all().add(dispute::Column::ProvinceCode.is_in(wita.iter().copied())),
            wita[0],
        ),
        (
            Condition::all().add(dispute::Column::ProvinceCode.is_in(wit.iter().copied())),
            wit[0],
        ),
    ]
}

/// Counting objections whose window to petition the Court has closed at `now`.
fn petition_window_closed(calendar: &Calendar, now: DateTime<Utc>) -> Condition {
    let announced: Vec<(&str, chrono::NaiveDate)> = calendar.announced_regions().collect();
    let own_regencies: Vec<&str> = announced
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| code.contains('.'))
        .collect();
    let mut closed = Condition::any();
    let mut recorded = Condition::any();
    for (code, _) in &announced {
        let place = match code.split_once('.') {
            Some((province, _)) => Condition::all()
                .add(dispute::Column::RegencyCode.eq(*code))
                .add(dispute::Column::ProvinceCode.eq(province)),
            None => Condition::all()
                .add(dispute::Column::ProvinceCode.eq(*code))
                .add(dispute::Column::RegencyCode.is_not_in(own_regencies.iter().copied())),
        };
        recorded = recorded.add(place.clone());
        let province = code.split_once('.').map_or(*code, |(p, _)| p);
        if now > petition_due(calendar, province, code) {
            closed = closed.add(place);
        }
    }
    for (zone, sample) in time_zones() {
        let due = calendar::end_of_local_day(
            calendar.add_working_days(calendar.national_announcement(), MK_PETITION_WORKING_DAYS),
            sample,
        );
        if now > due {
            closed = closed.add(zone.add(recorded.clone().not()));
        }
    }
    Condition::all()
        .add(dispute::Column::Category.eq(DisputeCategory::CountingObjection.as_str()))
        .add(
            dispute::Column::Id
                .not_in_subquery(escalated(&[EscalationTarget::ConstitutionalCourt], None)),
        )
        .add(closed)
}

/// Disputes escalated to the Court long enough ago that its 45 working days have passed.
fn court_decision_late(calendar: &Calendar, now: DateTime<Utc>) -> Condition {
    let mut late = Condition::any();
    for (zone, sample) in time_zones() {
        // The due date grows with the filing day, so the filings that are late are those
        // up to the latest local day whose due date has passed.
        let mut day = calendar::local_day(now, sample);
        while decision_due(
            calendar,
            calendar::end_of_local_day(day, sample) - Duration::seconds(1),
            sample,
        ) >= now
        {
            day -= Duration::days(1);
        }
        let cutoff = calendar::end_of_local_day(day, sample);
        late = late.add(zone.add(dispute::Column::Id.in_subquery(escalated(
            &[EscalationTarget::ConstitutionalCourt],
            Some(cutoff),
        ))));
    }
    late
}

fn escalated(
    targets: &[EscalationTarget],
    before: Option<DateTime<Utc>>,
) -> sea_orm::sea_query::SelectStatement {
    let mut query = Query::select();
    query
        .column(dispute_escalation::Column::DisputeId)
        .from(dispute_escalation::Entity)
        .and_where(dispute_escalation::Column::Target.is_in(targets.iter().map(|t| t.as_str())));
    if let Some(before) = before {
        query.and_where(Expr::col(dispute_escalation::Column::EscalatedAt).lt(before));
    }
    query.to_owned()
}

/// Disputes with at least one overdue clock at `now` (the rules of `deadlines`, in SQL).
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    let open = dispute::Column::Status.is_not_in([
        DisputeStatus::Resolved.as_str(),
        DisputeStatus::Dismissed.as_str(),
    ]);
    let report_window = Condition::all()
        .add(dispute::Column::OccurredAt.lt(now - Duration::days(REPORT_WINDOW_DAYS)))
        .add(dispute::Column::Id.not_in_subquery(escalated(
            &[EscalationTarget::Bawaslu, EscalationTarget::Gakkumdu],
            None,
        )));
    let bawaslu = Condition::all()
        .add(dispute::Column::Violation.is_null())
        .add(dispute::Column::Id.in_subquery(escalated(
            &[EscalationTarget::Bawaslu],
            Some(now - Duration::days(BAWASLU_DECISION_DAYS)),
        )));
    let gakkumdu = dispute::Column::Id.in_subquery(escalated(
        &[EscalationTarget::Gakkumdu],
        Some(now - Duration::days(GAKKUMDU_FILE_DAYS)),
    ));
    // The later steps of Gakkumdu's chain fall due after its first one, which the
    // condition above already holds.
    let calendar = calendar::calendar();
    Condition::all().add(open).add(
        Condition::any()
            .add(report_window)
            .add(bawaslu)
            .add(gakkumdu)
            .add(petition_window_closed(calendar, now))
            .add(court_decision_late(calendar, now)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMELINES: &str = include_str!("../../data/dispute_timelines.csv");

    /// Steps with a deadline that are no clock of a dispute, and why.
    const NOT_CLOCKS: &[(&str, &str, &str)] = &[
        (
            "LAPORAN_PELANGGARAN",
            "Extra information from reporter",
            "the extension of BAWASLU_DECISION (extendedDueAt)",
        ),
        (
            "PIDANA_GAKKUMDU",
            "Prosecutor returns incomplete file",
            "the extension of the chain's later steps (extendedDueAt)",
        ),
        (
            "PIDANA_GAKKUMDU",
            "Police resubmits corrected file",
            "the extension of the chain's later steps (extendedDueAt)",
        ),
        (
            "SENGKETA_PROSES",
            "Bawaslu Prov / Kab/Kota decides process dispute",
            "a dispute between a candidate and the KPU, filed with Bawaslu, not a posko report",
        ),
        (
            "SENGKETA_TUN",
            "Objection to KPU Prov/Kab/Kota decision filed with Bawaslu",
            "administrative court chain over KPU decisions, not a posko report",
        ),
        ("SENGKETA_TUN", "Fix incomplete PT TUN claim", "same"),
        ("SENGKETA_TUN", "PT TUN decides", "same"),
        ("SENGKETA_TUN", "Kasasi to Mahkamah Agung filed", "same"),
        ("SENGKETA_TUN", "Mahkamah Agung decides", "same"),
        (
            "PENETAPAN_TERPILIH",
            "Declare winner when no MK petition",
            "KPU's duty after the Court, no dispute's",
        ),
    ];

    const ALL: [DeadlineKind; 9] = [
        DeadlineKind::BawasluReportWindow,
        DeadlineKind::BawasluDecision,
        DeadlineKind::GakkumduFileToProsecutor,
        DeadlineKind::GakkumduCaseToCourt,
        DeadlineKind::GakkumduCourtVerdict,
        DeadlineKind::GakkumduAppealFiled,
        DeadlineKind::GakkumduAppealVerdict,
        DeadlineKind::ConstitutionalCourtPetition,
        DeadlineKind::ConstitutionalCourtDecision,
    ];

    #[test]
    fn every_step_with_a_deadline_is_a_clock_or_says_why_not() {
        let mut reader = csv::Reader::from_reader(TIMELINES.as_bytes());
        for record in reader.records() {
            let record = record.unwrap();
            let (process, step, unit) = (&record[0], &record[1], &record[3]);
            if unit.is_empty() {
                continue;
            }
            let clock = ALL.iter().find(|k| {
                let (p, s, _) = k.step();
                p == process && s == step
            });
            let excused = NOT_CLOCKS
                .iter()
                .any(|(p, s, _)| *p == process && *s == step);
            assert!(
                clock.is_some() != excused,
                "{process} / {step}: a clock {clock:?} and excused {excused}"
            );
            if let Some(kind) = clock {
                assert_eq!(kind.in_working_days(), unit == "working days", "{kind:?}");
            }
        }
        for kind in ALL {
            let (process, step, _) = kind.step();
            assert!(
                TIMELINES.contains(&format!("{process},{step},")),
                "{kind:?} names no step of the timelines file"
            );
        }
    }

    #[test]
    fn the_chain_adds_up_to_the_statute() {
        assert_eq!(GAKKUMDU_CHAIN[4].1, 14 + 5 + 7 + 3 + 7);
        assert_eq!(GAKKUMDU_RETURN_EXTENSION, 6);
    }
}
