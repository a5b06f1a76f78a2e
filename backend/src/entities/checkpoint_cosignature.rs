//! A witness's cosignature on one of the log's checkpoints.

use sea_orm::entity::prelude::*;

/// A row of `checkpoint_cosignatures`: the C2SP `cosignature/v1` signature line a witness
/// returned for the checkpoint of `checkpoint_size` entries.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkpoint_cosignatures")]
pub struct Model {
    /// The size of the cosigned checkpoint (a row of `checkpoints`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub checkpoint_size: i64,
    /// The witness's verifier key (`name+keyid+base64(0x04 || key)`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub witness_key: String,
    /// The witness's name (its key name).
    pub witness_name: String,
    /// When the witness cosigned, Unix seconds (inside the signature).
    pub timestamp_secs: i64,
    /// The note signature line, `— <name> <base64>\n`, as the witness returned it.
    pub signature_line: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
