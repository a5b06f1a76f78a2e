//! Rotating the ledger key: a new key signs from now on, the old one is kept (retired) so
//! that checkpoints it signed stay verifiable, and the ledger records the hand-over.
//!
//! The hand-over is a `ledger.key_rotated` entry naming the old and the new verifier keys.
//! Its checkpoint is signed by the new key and cosigned by the old one (a second signature
//! line of the same signed note), so whoever trusts the old key can check that its holder
//! vouched for the new one.

use std::collections::BTreeMap;

use ledger::EntryKind;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use super::append::{Batch, begin_write, insert_chunked, to_i64};
use super::{Actor, LEDGER_KEY_FILE, LedgerKeys, NewEntry, RETIRED_SUFFIX};
use crate::entities::{checkpoint, ledger_entry};
use crate::keys_dir::SecretFormat;

/// Where the next key waits until the rotation entry is committed. A rotation that was
/// interrupted leaves it behind, and the next rotation finishes with that same key.
const NEXT_KEY_FILE: &str = "ledger.ed25519.pk8.next";

/// The dotted name of the hand-over entry.
pub const KEY_ROTATED: &str = "ledger.key_rotated";

/// What a rotation did.
#[derive(Clone, Debug)]
pub struct KeyRotation {
    /// The verifier key that signed until now.
    pub old_key: String,
    /// The verifier key that signs from now on.
    pub new_key: String,
    /// The sequence number of the `ledger.key_rotated` entry.
    pub seq: u64,
    /// The file the old key was kept in.
    pub retired_file: String,
}

/// Rotates the key of `keys` (the key directory's current key): generates the next key,
/// appends the hand-over entry signed by the new key and cosigned by the old one, then
/// retires the old key file and puts the new one in its place. Processes that still hold
/// the old key keep signing with it until restarted; their checkpoints name that key.
pub async fn rotate_key(db: &DatabaseConnection, keys: &LedgerKeys) -> anyhow::Result<KeyRotation> {
    let dir = &keys.keys_dir;
    let next_pkcs8 = dir.load_or_create(NEXT_KEY_FILE, SecretFormat::Ed25519Pkcs8)?;
    let next = LedgerKeys::from_pkcs8(dir, keys.origin(), &next_pkcs8)?;
    let (old_key, new_key) = (keys.verifier_key(), next.verifier_key());
    anyhow::ensure!(old_key != new_key, "the next ledger key is the current one");

    let txn = begin_write(db).await?;
    let seq = match recorded_hand_over(&txn, &old_key, &new_key).await? {
        Some(seq) => seq,
        None => {
            // The one append not made through the writer: its checkpoint is signed by the
            // next key, which no writer holds yet.
            let mut batch = Batch::open(&txn).await?;
            let size_before = batch.size();
            let (appended, payloads) = batch.append(vec![hand_over_entry(&old_key, &new_key)])?;
            insert_chunked(&txn, payloads).await?;
            let seq = appended[0].seq;
            batch.write(&txn, &next, size_before).await?;
            cosign_checkpoint(&txn, keys, seq + 1).await?;
            seq
        }
    };
    txn.commit().await?;

    let retired_file = format!(
        "{LEDGER_KEY_FILE}.{}{RETIRED_SUFFIX}",
        chrono::Utc::now().timestamp()
    );
    dir.replace(LEDGER_KEY_FILE, NEXT_KEY_FILE, &retired_file)?;
    Ok(KeyRotation {
        old_key,
        new_key,
        seq,
        retired_file,
    })
}

/// The `ledger.key_rotated` entry from `old_key` to `new_key`; the keys are subjects, so
/// they appear in exports and entry listings, not only in the (erasable) payload.
fn hand_over_entry(old_key: &str, new_key: &str) -> NewEntry {
    let subjects = BTreeMap::from([
        ("old_key".to_string(), old_key.to_string()),
        ("new_key".to_string(), new_key.to_string()),
    ]);
    NewEntry {
        kind: EntryKind::Other(KEY_ROTATED.to_string()),
        actor: Actor {
            user_id: "system".to_string(),
            org_id: "system".to_string(),
        },
        payload: serde_json::json!({ "oldKey": old_key, "newKey": new_key }),
        subjects,
    }
}

/// The hand-over entry already recorded by an interrupted rotation to `new_key`, if any.
async fn recorded_hand_over(
    txn: &sea_orm::DatabaseTransaction,
    old_key: &str,
    new_key: &str,
) -> anyhow::Result<Option<u64>> {
    let latest = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Kind.eq(KEY_ROTATED))
        .order_by_desc(ledger_entry::Column::Seq)
        .one(txn)
        .await?;
    let Some(row) = latest else { return Ok(None) };
    let subjects: BTreeMap<String, String> = serde_json::from_str(&row.subjects)?;
    let same = subjects.get("old_key").map(String::as_str) == Some(old_key)
        && subjects.get("new_key").map(String::as_str) == Some(new_key);
    Ok(same.then(|| u64::try_from(row.seq)).transpose()?)
}

/// Adds the old key's signature to the checkpoint of `size` entries.
async fn cosign_checkpoint(
    txn: &sea_orm::DatabaseTransaction,
    old: &LedgerKeys,
    size: u64,
) -> anyhow::Result<()> {
    let row = checkpoint::Entity::find_by_id(to_i64(size))
        .one(txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the checkpoint of the hand-over entry is missing"))?;
    let note = old
        .signer()
        .cosign(&row.note)
        .map_err(|err| anyhow::anyhow!("cosigning the checkpoint failed: {err}"))?;
    let mut row: checkpoint::ActiveModel = row.into();
    row.note = Set(note);
    checkpoint::Entity::update(row).exec(txn).await?;
    Ok(())
}
