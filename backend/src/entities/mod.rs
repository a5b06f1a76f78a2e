//! sea-orm entities: the relational model, one module per table.

pub mod attachment;
pub mod checkpoint;
pub mod checkpoint_cosignature;
pub mod cohort_release;
pub mod consent;
pub mod database_identity;
pub mod enrollment;
pub mod index_outbox;
pub mod invitation;
pub mod ledger_entry;
pub mod ledger_head;
pub mod ledger_payload;
pub mod merkle_node;
pub mod organization;
pub mod patient;
pub mod patient_code;
pub mod patient_lab;
pub mod protocol_version;
pub mod session;
pub mod sign_in_failure;
pub mod submission;
pub mod submission_version;
pub mod trial;
pub mod user;
pub mod witness_evidence;
pub mod witness_log;
