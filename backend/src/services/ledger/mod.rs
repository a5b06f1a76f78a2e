//! The ledger service: appends entries through one group-committing writer per process,
//! serialised across processes; serves checkpoints, proofs and exports; verifies what is stored.

mod append;
mod cosign;
mod cosign_store;
mod erasure;
mod export;
mod gate;
mod held_rows;
mod proofs;
mod read;
mod restore;
mod rotation;
mod tile_client;
pub mod tiles;
mod unit_connection;
mod verify;
mod visibility;
mod watermark;
mod writer;

pub use append::{Actor, Appended, NewEntry, to_i64 as seq_i64};
pub use cosign::{Cosigning, WitnessSettings, WitnessSpec, WitnessStatus};
pub use cosign_store::{
    CosignedHead, Cosigner, NewCosignature, Quorum, checkpoint_for_entry, head_with_cosignatures,
    latest_cosigned, store_cosignature,
};
pub use erasure::{ErasureReason, erase_payload};
pub use export::{ExportOptions, write_export, write_export_with};
pub use gate::VerificationGate;
pub use proofs::{consistency_proof, inclusion_proof};
pub use read::{Head, StoredEntry, entries, head};
pub use restore::{Restored, restore};
pub use rotation::{KeyRotation, rotate_key};
pub use tile_client::{Fetched, TileClient};
pub use unit_connection::UnitConnection;
pub use verify::{Scope, verify, verify_scoped};
pub use visibility::Visibility;
pub use writer::{LedgerWriter, Work};

use std::sync::Arc;

use ledger::Signer;

use crate::error::{AppError, AppResult};
use crate::keys_dir::{KeysDir, SecretFormat};

/// The default origin line of checkpoints (the log's name).
pub const DEFAULT_ORIGIN: &str = "veritrial.local/ledger";

/// The current ledger key's file in the key directory.
pub const LEDGER_KEY_FILE: &str = "ledger.ed25519.pk8";

/// How the files of retired ledger keys end (`ledger.ed25519.pk8.<unix time>.retired`).
pub const RETIRED_SUFFIX: &str = ".retired";

/// The node's ledger identity: its origin and its Ed25519 checkpoint-signing key, shared by
/// every process that names the same key directory.
#[derive(Clone)]
pub struct LedgerKeys {
    signer: Arc<Signer>,
    keys_dir: KeysDir,
}

impl LedgerKeys {
    /// Loads the key from `KEYS/ledger.ed25519.pk8`, generating it (owner-only, atomically)
    /// on first start.
    pub fn load_or_create(keys_dir: &KeysDir, origin: &str) -> anyhow::Result<Self> {
        let pkcs8 = keys_dir.load_or_create(LEDGER_KEY_FILE, SecretFormat::Ed25519Pkcs8)?;
        Self::from_pkcs8(keys_dir, origin, &pkcs8)
    }

    /// Loads the key from `KEYS/ledger.ed25519.pk8`; `None` before the first start.
    pub fn load(keys_dir: &KeysDir, origin: &str) -> anyhow::Result<Option<Self>> {
        keys_dir
            .load(LEDGER_KEY_FILE, SecretFormat::Ed25519Pkcs8)?
            .map(|pkcs8| Self::from_pkcs8(keys_dir, origin, &pkcs8))
            .transpose()
    }

    /// The identity of the key `pkcs8`, kept in `keys_dir`.
    fn from_pkcs8(keys_dir: &KeysDir, origin: &str, pkcs8: &[u8]) -> anyhow::Result<Self> {
        let signer = Signer::from_pkcs8(origin, pkcs8)
            .map_err(|err| anyhow::anyhow!("the ledger key cannot be used: {err}"))?;
        Ok(Self {
            signer: Arc::new(signer),
            keys_dir: keys_dir.clone(),
        })
    }

    /// The origin line of this node's checkpoints.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The signed-note verifier key (`origin+keyid+base64`), what verifiers must trust.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The verifier keys of every ledger key this node holds or held: the one it signs
    /// with, the current one in the key directory (another process may have rotated it)
    /// and the retired ones kept there.
    pub fn own_verifier_keys(&self) -> anyhow::Result<Vec<String>> {
        let mut keys = vec![self.verifier_key()];
        let on_disk = self.load_verifier_key(LEDGER_KEY_FILE)?;
        let retired = self.retired_keys()?.into_iter().map(|(_, key)| key);
        for key in on_disk.into_iter().chain(retired) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The retired keys kept in the key directory, oldest first: file name and verifier key.
    pub fn retired_keys(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut retired = Vec::new();
        for name in self.keys_dir.names_ending_with(RETIRED_SUFFIX)? {
            if !name.starts_with(LEDGER_KEY_FILE) {
                continue;
            }
            if let Some(key) = self.load_verifier_key(&name)? {
                retired.push((name, key));
            }
        }
        Ok(retired)
    }

    /// The verifier key, under this origin, of the key file `name` if it exists.
    fn load_verifier_key(&self, name: &str) -> anyhow::Result<Option<String>> {
        let Some(pkcs8) = self.keys_dir.load(name, SecretFormat::Ed25519Pkcs8)? else {
            return Ok(None);
        };
        Ok(Some(
            Self::from_pkcs8(&self.keys_dir, self.origin(), &pkcs8)?.verifier_key(),
        ))
    }

    /// The key to verify a checkpoint that names `signed_by`: that key if it is one of this
    /// node's own (current or retired), else the current key, so that verification reports
    /// a checkpoint signed by a stranger.
    pub fn trusted_key_for(&self, signed_by: &str) -> AppResult<String> {
        let own = self.own_verifier_keys().map_err(AppError::Internal)?;
        Ok(if own.iter().any(|key| key == signed_by) {
            signed_by.to_string()
        } else {
            self.verifier_key()
        })
    }

    /// A freshly signed checkpoint of the empty tree, for a ledger with no entries yet.
    pub fn sign_empty(&self) -> AppResult<Head> {
        let timestamp_ms = chrono::Utc::now().timestamp_millis();
        let checkpoint = ledger::Checkpoint {
            origin: self.origin().to_string(),
            size: 0,
            root: ledger::merkle::empty_root(),
            timestamp_ms,
        };
        let note = self.signer.sign(&checkpoint).map_err(|err| {
            AppError::Internal(anyhow::anyhow!("signing the checkpoint failed: {err}"))
        })?;
        Ok(Head {
            size: 0,
            root: checkpoint.root,
            timestamp_ms,
            note,
            public_key: self.verifier_key(),
        })
    }
}
