//! sea-orm entities: the relational model, one module per table.

pub mod organization;
pub mod user;
