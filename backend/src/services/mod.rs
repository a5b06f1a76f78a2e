//! Domain services: each owns its rules and its transactions; resolvers and the CLI call them.

pub mod accounts;
pub mod anonymise;
pub mod attachments;
pub mod audit;
pub mod blocking;
pub mod case_reports;
pub mod cohort_audit;
pub mod cohort_sql;
pub mod imports;
pub mod indexer;
pub mod ledger;
pub mod lockout;
pub mod matching;
pub mod names;
pub mod outbox;
pub mod patients;
pub mod privacy;
pub mod protocols;
pub mod recruitment;
pub mod report;
pub mod reviews;
pub mod sessions;
pub mod signatures;
pub mod site_patients;
pub mod trial_data;
pub mod worklist;
