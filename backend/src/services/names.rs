//! Names for audit trails: the people and organisations behind ledger entries, by name and
//! role rather than bare ids, and entry kinds in words.

use std::collections::{HashMap, HashSet};

use ledger::Entry;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::{Role, from_stored};
use crate::entities::{organization, user};
use crate::error::AppResult;

/// A person as an audit trail names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Their display name.
    pub name: String,
    /// Their role (today's: a role change shows here, the signature keeps the one it had).
    pub role: Role,
}

/// The names of everyone (and every organisation) a set of entries mentions as actor.
#[derive(Clone, Debug, Default)]
pub struct Names {
    people: HashMap<String, Person>,
    organizations: HashMap<String, String>,
}

impl Names {
    /// Looks up the actors of `entries` and their organisations, in two queries.
    pub async fn of<'a>(
        db: &impl ConnectionTrait,
        entries: impl IntoIterator<Item = &'a Entry>,
    ) -> AppResult<Self> {
        let (mut users, mut orgs) = (HashSet::new(), HashSet::new());
        for entry in entries {
            users.insert(entry.actor_user.clone());
            orgs.insert(entry.actor_org.clone());
        }
        Self::of_ids(db, users, orgs).await
    }

    /// Looks up the accounts `users` (ids), in one query per 500.
    pub async fn of_users(
        db: &impl ConnectionTrait,
        users: impl IntoIterator<Item = String>,
    ) -> AppResult<Self> {
        Self::of_ids(db, users.into_iter().collect(), HashSet::new()).await
    }

    async fn of_ids(
        db: &impl ConnectionTrait,
        users: HashSet<String>,
        orgs: HashSet<String>,
    ) -> AppResult<Self> {
        let mut people = HashMap::new();
        for chunk in users.into_iter().collect::<Vec<_>>().chunks(500) {
            for row in user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.iter().cloned()))
                .all(db)
                .await?
            {
                let role = from_stored(&row.role)?;
                people.insert(
                    row.id,
                    Person {
                        name: row.display_name,
                        role,
                    },
                );
            }
        }
        let mut organizations = HashMap::new();
        for chunk in orgs.into_iter().collect::<Vec<_>>().chunks(500) {
            for row in organization::Entity::find()
                .filter(organization::Column::Id.is_in(chunk.iter().cloned()))
                .all(db)
                .await?
            {
                organizations.insert(row.id, row.name);
            }
        }
        Ok(Self {
            people,
            organizations,
        })
    }

    /// The person with account `user_id`, if it is a person's account.
    pub fn person(&self, user_id: &str) -> Option<&Person> {
        self.people.get(user_id)
    }

    /// The name of organisation `org_id`.
    pub fn organization(&self, org_id: &str) -> Option<&str> {
        self.organizations.get(org_id).map(String::as_str)
    }
}

/// What an entry of `kind` records, in words ("Protocol amended"); unknown kinds are
/// described by their code.
pub fn describe_kind(kind: &str) -> String {
    let words = match kind {
        "protocol.published" => "Protocol published",
        "protocol.amended" => "Protocol amended",
        "protocol.reviewed" => "Protocol reviewed by the ethics board",
        "consent.granted" => "Consent granted",
        "consent.withdrawn" => "Consent withdrawn",
        "enrollment.created" => "Participant enrolled",
        "enrollment.withdrawn" => "Participant withdrawn",
        "data.submitted" => "Case-report data submitted",
        "data.corrected" => "Case-report data corrected",
        "casereport.signed-off" => "Case report signed off",
        "attachment.added" => "Document attached",
        "invitation.created" => "Cohort invited",
        "invitation.updated" => "Invitation followed up by the site",
        "query.raised" => "Data query raised",
        "query.answered" => "Data query answered by the site",
        "query.closed" => "Data query closed",
        "cohort.released" => "Cohort count released",
        "record.signed" => "Electronic signature",
        "payload.erased" => "Payload erased",
        "ledger.key_rotated" => "Ledger signing key rotated",
        other => return format!("Other event ({other})"),
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::describe_kind;
    use ledger::EntryKind;

    #[test]
    fn every_kind_the_node_writes_has_words() {
        for kind in [
            EntryKind::ProtocolPublished,
            EntryKind::ProtocolAmended,
            EntryKind::ProtocolReviewed,
            EntryKind::ConsentGranted,
            EntryKind::ConsentWithdrawn,
            EntryKind::EnrollmentCreated,
            EntryKind::EnrollmentWithdrawn,
            EntryKind::DataSubmitted,
            EntryKind::DataCorrected,
            EntryKind::CaseReportSignedOff,
            EntryKind::AttachmentAdded,
            EntryKind::InvitationCreated,
            EntryKind::RecordSigned,
            EntryKind::PayloadErased,
        ] {
            let words = describe_kind(kind.as_str());
            assert!(!words.starts_with("Other event"), "{kind}: {words}");
        }
        assert_eq!(
            describe_kind("something.new"),
            "Other event (something.new)"
        );
    }
}
