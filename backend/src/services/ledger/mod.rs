//! The ledger service: appends entries through one group-committing writer per process,
//! serialised across processes; serves checkpoints, proofs and exports; verifies what is stored.

mod append;
mod export;
mod gate;
mod proofs;
mod read;
mod verify;
mod visibility;
mod writer;

pub use append::{Actor, Appended, NewEntry, to_i64 as seq_i64};
pub use export::write_export;
pub use gate::VerificationGate;
pub use proofs::{consistency_proof, inclusion_proof};
pub use read::{Head, StoredEntry, entries, head};
pub use verify::verify;
pub use visibility::Visibility;
pub use writer::{LedgerWriter, Work};

use std::sync::Arc;

use ledger::Signer;

use crate::datadir::DataDir;
use crate::error::{AppError, AppResult};

/// The default origin line of checkpoints (the log's name).
pub const DEFAULT_ORIGIN: &str = "veritrial.local/ledger";

/// The node's ledger identity: its origin and its Ed25519 checkpoint-signing key.
#[derive(Clone)]
pub struct LedgerKeys {
    signer: Arc<Signer>,
}

impl LedgerKeys {
    /// Loads the key from `DIR/keys/ledger.ed25519.pk8`, generating it (owner-only) on first start.
    pub fn load_or_create(data_dir: &DataDir, origin: &str) -> anyhow::Result<Self> {
        let pkcs8 = data_dir.load_or_create_secret("ledger.ed25519.pk8", || {
            Signer::generate_pkcs8().map_err(anyhow::Error::from)
        })?;
        let signer = Signer::from_pkcs8(origin, &pkcs8)
            .map_err(|err| anyhow::anyhow!("the ledger key cannot be used: {err}"))?;
        Ok(Self {
            signer: Arc::new(signer),
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
