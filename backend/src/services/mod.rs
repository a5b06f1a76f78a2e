//! Domain services: each owns its rules and its transactions; resolvers and the CLI call them.

pub mod accounts;
pub mod ledger;
