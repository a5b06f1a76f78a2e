//! A witness's mirror of each log it follows: the verified state (size, root, frontier, the
//! checkpoint that signs it), every entry as the log served it (a canonical entry, or a
//! redacted item when the witness may not read it) with its payload when the witness may
//! read it, and the tree nodes its hash tiles above level 0 need.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MirrorLog::Table)
                    .col(string(MirrorLog::Origin).primary_key())
                    .col(big_integer(MirrorLog::Size))
                    .col(string_len(MirrorLog::RootHash, 64))
                    .col(text(MirrorLog::Frontier))
                    .col(string_len_null(MirrorLog::LastLeafHash, 64))
                    .col(text(MirrorLog::Note))
                    .col(big_integer(MirrorLog::UpdatedMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MirrorEntry::Table)
                    .col(string(MirrorEntry::Origin))
                    .col(big_integer(MirrorEntry::Seq))
                    .col(blob(MirrorEntry::Item))
                    .col(string_len(MirrorEntry::LeafHash, 64))
                    .col(small_integer(MirrorEntry::PayloadState))
                    .col(blob_null(MirrorEntry::Payload))
                    .primary_key(
                        Index::create()
                            .col(MirrorEntry::Origin)
                            .col(MirrorEntry::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MirrorNode::Table)
                    .col(string(MirrorNode::Origin))
                    .col(small_integer(MirrorNode::Level))
                    .col(big_integer(MirrorNode::Idx))
                    .col(string_len(MirrorNode::Hash, 64))
                    .primary_key(
                        Index::create()
                            .col(MirrorNode::Origin)
                            .col(MirrorNode::Level)
                            .col(MirrorNode::Idx),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MirrorNode::Table.into_iden(),
            MirrorEntry::Table.into_iden(),
            MirrorLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum MirrorLog {
    Table,
    Origin,
    Size,
    RootHash,
    Frontier,
    LastLeafHash,
    Note,
    UpdatedMs,
}

#[derive(DeriveIden)]
enum MirrorEntry {
    Table,
    Origin,
    Seq,
    Item,
    LeafHash,
    PayloadState,
    Payload,
}

#[derive(DeriveIden)]
enum MirrorNode {
    Table,
    Origin,
    Level,
    Idx,
    Hash,
}
