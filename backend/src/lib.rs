//! Veritrial: a clinical-trial recruitment and data-integrity platform.
//!
//! This crate is the `veritrial` binary's library: configuration and the command line
//! ([`cli`]), the HTTP surface ([`http`]), the GraphQL API ([`graphql`]), domain services
//! ([`services`]) over sea-orm entities ([`entities`]), and authentication ([`auth`]).

pub mod auth;
pub mod cli;
pub mod codes;
pub mod datadir;
pub mod db;
pub mod demo;
pub mod domain;
pub mod entities;
pub mod error;
pub mod forms;
pub mod frontend;
pub mod graphql;
pub mod graphql_body;
pub mod health;
pub mod http;
pub mod import;
pub mod keys_dir;
pub mod ledger_http;
pub mod security_headers;
pub mod server;
pub mod services;
pub mod state;
pub mod tls;
pub mod witness;
