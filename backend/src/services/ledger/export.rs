//! The offline export: JSON Lines of every entry (optionally with its payload), then the
//! latest checkpoint and public key.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use std::collections::HashMap;

use chrono::Utc;
use ledger::export::{ExportHeader, ExportPayload, ExportWriter};
use sea_orm::ConnectionTrait;
use tokio::sync::mpsc;

use super::LedgerKeys;
use super::cosign_store::head_with_cosignatures;
use super::read::{StoredEntry, entries_before, payloads_between};
use super::visibility::Visibility;
use crate::entities::ledger_payload;
use crate::error::{AppError, AppResult};

/// What an export carries besides the entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Each entry shown in full carries its payload (canonical JSON) or, if the payload was
    /// erased, the erasure marker, so an offline verifier checks payload hashes and
    /// erasures too. Redacted entries never carry one.
    pub with_payloads: bool,
}

/// Entries per chunk sent to the consumer.
const PAGE: u64 = 2_000;

/// Streams the export without payloads; see [`write_export_with`].
pub async fn write_export(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
    visibility: &Visibility,
    out: mpsc::Sender<Vec<u8>>,
) -> AppResult<()> {
    write_export_with(db, keys, visibility, ExportOptions::default(), out).await
}

/// Streams the export as chunks of bytes into `out`, page by page, so memory stays flat
/// whatever the ledger's size. The export ends with the latest checkpoint, which covers
/// every entry written (entries appended meanwhile are left out), with the cosignature
/// lines of the witnesses that have cosigned it so far. Entries that `visibility`
/// does not show are written as redacted lines.
pub async fn write_export_with(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
    visibility: &Visibility,
    options: ExportOptions,
    out: mpsc::Sender<Vec<u8>>,
) -> AppResult<()> {
    let head = head_with_cosignatures(db, keys)
        .await?
        .map(|cosigned| cosigned.head);
    let buffer = SharedBuffer::default();
    let header = ExportHeader {
        origin: keys.origin().to_string(),
        exported_at_ms: Utc::now().timestamp_millis(),
    };
    let mut writer = ExportWriter::new(buffer.clone(), &header).map_err(internal)?;
    let size = head.as_ref().map_or(0, |h| h.size);
    let mut after = None;
    let mut written = 0u64;
    while written < size {
        let rows = entries_before(db, after, PAGE.min(size - written), Some(size)).await?;
        let Some(last) = rows.last() else { break };
        after = u64::try_from(last.seq).ok();
        let payloads = match options.with_payloads {
            true => payloads_between(db, rows[0].seq, last.seq).await?,
            false => HashMap::new(),
        };
        for row in &rows {
            let stored = StoredEntry::from_row(row)?;
            if visibility.shows(&stored.entry) {
                let payload = match payloads.get(&row.seq) {
                    _ if !options.with_payloads => ExportPayload::Omitted,
                    Some(p) if p.erased => ExportPayload::Erased,
                    Some(ledger_payload::Model {
                        body: Some(body), ..
                    }) => ExportPayload::Json(body.as_bytes()),
                    // No payload to give: the verifier checks the entry without it.
                    Some(_) | None => ExportPayload::Omitted,
                };
                writer.write_entry_line(&stored.entry, stored.leaf_hash, payload)
            } else {
                writer.write_redacted(&stored.entry, stored.leaf_hash)
            }
            .map_err(internal)?;
            written += 1;
        }
        send(&out, buffer.take()).await?;
    }
    match &head {
        Some(head) => {
            writer
                .finish(&head.note, &head.public_key)
                .map_err(internal)?;
        }
        None => {
            // An empty ledger has no checkpoint; the export is the header alone.
        }
    }
    send(&out, buffer.take()).await
}

async fn send(out: &mpsc::Sender<Vec<u8>>, chunk: Vec<u8>) -> AppResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    out.send(chunk)
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("the export's reader went away")))
}

fn internal(err: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing the export failed: {err}"))
}

/// A `Write` whose bytes are taken out between pages.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
