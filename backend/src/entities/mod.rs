//! sea-orm entities: the relational model, one module per table.

pub mod checkpoint;
pub mod ledger_entry;
pub mod ledger_head;
pub mod ledger_payload;
pub mod merkle_node;
pub mod organization;
pub mod user;
