//! Small domain vocabularies shared by the CLI, the services and the GraphQL layer.

use std::fmt;
use std::str::FromStr;

use crate::error::AppError;

/// Parses a vocabulary value read back from the database; a value the code does not know
/// means the stored data is corrupt, an internal fault.
pub fn from_stored<T: FromStr<Err = String>>(text: &str) -> Result<T, AppError> {
    text.parse()
        .map_err(|err: String| AppError::Internal(anyhow::anyhow!(err)))
}

/// What a user may do. Stored as lower-case text.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    clap::ValueEnum,
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages organisations and users.
    Admin,
    /// Publishes and amends protocols; follows its own trials.
    Sponsor,
    /// Queries cohort counts and invites cohorts; never sees who.
    Recruiter,
    /// Registers patients, records consent, enrolls, submits data.
    Site,
    /// Reads audit trails and verifies the ledger; changes nothing.
    Ethics,
}

/// What kind of organisation this is. Stored as lower-case text.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    clap::ValueEnum,
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// A trial sponsor (pharmaceutical company, academic group).
    Sponsor,
    /// A hospital or clinic that sees patients.
    Site,
    /// A recruitment organisation.
    Recruiter,
    /// An ethics board (IRB).
    Ethics,
}

/// What a patient consents to. Stored as snake-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ConsentScope {
    /// Being contacted by their site about trials they may fit (puts the profile in search).
    RecruitmentContact,
    /// Taking part in one trial (needed to enroll).
    TrialParticipation,
}

/// Where a trial stands. Stored as lower-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum TrialStatus {
    /// Written but not open to patients.
    Draft,
    /// Open: found by trial search, counted, invited, enrolled.
    Recruiting,
    /// No longer enrolling.
    Closed,
}

/// An ethics board's decision on a protocol version. Stored as snake-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ReviewDecision {
    /// The version may recruit and enroll.
    Approved,
    /// The version may not; the sponsor may submit an amendment.
    Rejected,
    /// The board asks for changes, to come as an amendment.
    ChangesRequested,
}

/// Where a protocol version stands in ethics review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ReviewStatus {
    /// Awaiting the board's decision (every new version starts here).
    Submitted,
    /// Approved by the board.
    Approved,
    /// Rejected by the board.
    Rejected,
    /// The board asked for changes.
    ChangesRequested,
}

impl From<ReviewDecision> for ReviewStatus {
    fn from(decision: ReviewDecision) -> Self {
        match decision {
            ReviewDecision::Approved => ReviewStatus::Approved,
            ReviewDecision::Rejected => ReviewStatus::Rejected,
            ReviewDecision::ChangesRequested => ReviewStatus::ChangesRequested,
        }
    }
}

/// What a site records of an invitation after acting on it. Stored as snake-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ContactOutcome {
    /// Not acted on yet (never recorded by a site).
    New,
    /// The site reached the patient.
    Contacted,
    /// The patient declined.
    Declined,
    /// The patient consented but failed screening.
    ScreenFailed,
}

/// Where an invitation stands on a site's work list: what the site recorded, overtaken by
/// what the records say (a trial consent in force, an enrollment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum InvitationStatus {
    /// Not acted on yet.
    New,
    /// Contacted, no decision yet.
    Contacted,
    /// The patient declined.
    Declined,
    /// The patient's consent to take part is in force.
    Consented,
    /// The patient is (or was) enrolled.
    Enrolled,
    /// The patient failed screening.
    ScreenFailed,
}

/// Where a data query stands. Stored as lower-case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum DataQueryStatus {
    /// Raised, waiting for the site's answer.
    Open,
    /// The site answered; waiting for the sponsor to close it (or raise another).
    Answered,
    /// The sponsor accepted the answer.
    Closed,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored, lower-case name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", stringify!($ty), " {:?}; expected one of: ", $($text, " "),+),
                        other
                    )),
                }
            }
        }
    };
}

text_enum!(Role { Admin => "admin", Sponsor => "sponsor", Recruiter => "recruiter", Site => "site", Ethics => "ethics" });
text_enum!(ConsentScope { RecruitmentContact => "recruitment_contact", TrialParticipation => "trial_participation" });
text_enum!(TrialStatus { Draft => "draft", Recruiting => "recruiting", Closed => "closed" });
text_enum!(OrgKind { Sponsor => "sponsor", Site => "site", Recruiter => "recruiter", Ethics => "ethics" });
text_enum!(ContactOutcome { New => "new", Contacted => "contacted", Declined => "declined", ScreenFailed => "screen_failed" });
text_enum!(DataQueryStatus { Open => "open", Answered => "answered", Closed => "closed" });
text_enum!(ReviewDecision { Approved => "approved", Rejected => "rejected", ChangesRequested => "changes_requested" });

impl Role {
    /// Whether a user with this role may belong to an organisation of `kind`.
    ///
    /// Admins may belong anywhere; recruiters work for recruiters or sponsors; every other
    /// role belongs to the organisation kind of the same name.
    pub fn fits(self, kind: OrgKind) -> bool {
        match self {
            Role::Admin => true,
            Role::Sponsor => kind == OrgKind::Sponsor,
            Role::Recruiter => matches!(kind, OrgKind::Recruiter | OrgKind::Sponsor),
            Role::Site => kind == OrgKind::Site,
            Role::Ethics => kind == OrgKind::Ethics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for role in [
            Role::Admin,
            Role::Sponsor,
            Role::Recruiter,
            Role::Site,
            Role::Ethics,
        ] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for kind in [
            OrgKind::Sponsor,
            OrgKind::Site,
            OrgKind::Recruiter,
            OrgKind::Ethics,
        ] {
            assert_eq!(kind.as_str().parse::<OrgKind>(), Ok(kind));
        }
        assert!(
            "superuser"
                .parse::<Role>()
                .unwrap_err()
                .contains("expected one of")
        );
    }

    #[test]
    fn roles_fit_their_organisations() {
        assert!(Role::Site.fits(OrgKind::Site));
        assert!(!Role::Site.fits(OrgKind::Sponsor));
        assert!(Role::Recruiter.fits(OrgKind::Sponsor));
        assert!(!Role::Ethics.fits(OrgKind::Recruiter));
        assert!(Role::Admin.fits(OrgKind::Ethics));
    }
}
