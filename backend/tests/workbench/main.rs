//! The site and data-manager workbench, on SQLite and PostgreSQL: finding patients, the
//! invitation work list, defined case-report forms, data queries and standard exports.
//! (One test binary for all of it, to keep the build and link time of the suite down.)

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod data_capture;
mod site_patients;
mod worklist;
