//! The ledger: entries (hash-chained), their attested payloads, the Merkle tree's perfect
//! nodes for fast proofs, the head that serialises appends, and signed checkpoints.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .col(big_integer(LedgerEntries::Seq).primary_key())
                    .col(string(LedgerEntries::Kind))
                    .col(big_integer(LedgerEntries::TimestampMs))
                    .col(string(LedgerEntries::ActorUser))
                    .col(string(LedgerEntries::ActorOrg))
                    .col(text(LedgerEntries::Subjects))
                    .col(string_null(LedgerEntries::TrialId))
                    .col(string(LedgerEntries::PayloadHash))
                    .col(string_null(LedgerEntries::PrevHash))
                    .col(string(LedgerEntries::LeafHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_entries_trial")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::TrialId)
                    .col(LedgerEntries::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LedgerPayloads::Table)
                    .col(big_integer(LedgerPayloads::Seq).primary_key())
                    .col(text_null(LedgerPayloads::Body))
                    .col(boolean(LedgerPayloads::Erased).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MerkleNodes::Table)
                    .col(small_integer(MerkleNodes::Level))
                    .col(big_integer(MerkleNodes::Idx))
                    .col(string(MerkleNodes::Hash))
                    .primary_key(
                        Index::create()
                            .col(MerkleNodes::Level)
                            .col(MerkleNodes::Idx),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LedgerHead::Table)
                    .col(integer(LedgerHead::Id).primary_key())
                    .col(big_integer(LedgerHead::Size))
                    .col(text(LedgerHead::Frontier))
                    .col(string_null(LedgerHead::LastLeafHash))
                    .col(big_integer(LedgerHead::Appends))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LedgerHead::Table)
                    .columns([
                        LedgerHead::Id,
                        LedgerHead::Size,
                        LedgerHead::Frontier,
                        LedgerHead::Appends,
                    ])
                    .values_panic([1.into(), 0.into(), "[]".into(), 0.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Checkpoints::Table)
                    .col(big_integer(Checkpoints::Size).primary_key())
                    .col(string(Checkpoints::RootHash))
                    .col(big_integer(Checkpoints::TimestampMs))
                    .col(text(Checkpoints::Note))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Checkpoints::Table.into_iden(),
            LedgerHead::Table.into_iden(),
            MerkleNodes::Table.into_iden(),
            LedgerPayloads::Table.into_iden(),
            LedgerEntries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Seq,
    Kind,
    TimestampMs,
    ActorUser,
    ActorOrg,
    Subjects,
    TrialId,
    PayloadHash,
    PrevHash,
    LeafHash,
}

#[derive(DeriveIden)]
enum LedgerPayloads {
    Table,
    Seq,
    Body,
    Erased,
}

#[derive(DeriveIden)]
enum MerkleNodes {
    Table,
    Level,
    Idx,
    Hash,
}

#[derive(DeriveIden)]
enum LedgerHead {
    Table,
    Id,
    Size,
    Frontier,
    LastLeafHash,
    Appends,
}

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    Size,
    RootHash,
    TimestampMs,
    Note,
}
