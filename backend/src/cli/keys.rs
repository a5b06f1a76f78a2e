//! `veritrial keys …`: show the ledger's verifier keys, rotate the ledger key.

use clap::Subcommand;

use super::StoreArgs;
use crate::keys_dir::KeysDir;
use crate::server::open_stores;
use crate::services::ledger::{self as service, LedgerKeys};

/// Commands on the key directory.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the ledger's verifier keys: the current one, which verifiers should trust, and
    /// the retired ones, which signed older checkpoints. Reads the key directory only.
    Show {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replace the ledger signing key by a new one. The old key is kept as
    /// `ledger.ed25519.pk8.<unix time>.retired`, and a `ledger.key_rotated` entry naming both
    /// keys is appended, its checkpoint signed by the new key and cosigned by the old one.
    /// Restart every `veritrial serve` that uses this key directory afterwards.
    RotateLedger {
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl KeysCommand {
    /// Runs the command against the stores named in its arguments.
    pub async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        match self {
            KeysCommand::Show { store } => {
                let config = store.config(default_dir);
                let dir = KeysDir::open(&config.keys_dir())?;
                let keys = LedgerKeys::load(&dir, &config.ledger_origin)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "there is no ledger key in {} yet: it is made on first start",
                        dir.root().display()
                    )
                })?;
                println!("current: {}", keys.verifier_key());
                for (file, key) in keys.retired_keys()? {
                    println!("retired: {key} ({file})");
                }
                Ok(())
            }
            KeysCommand::RotateLedger { store } => {
                let stores = open_stores(&store.config(default_dir)).await?;
                let rotation = service::rotate_key(&stores.db, &stores.ledger).await?;
                println!(
                    "rotated the ledger key: entry {} records the hand-over\n\
                     old (kept in {}): {}\nnew: {}\n\
                     Restart every `veritrial serve` that uses {}: until then they sign with the old key.",
                    rotation.seq,
                    rotation.retired_file,
                    rotation.old_key,
                    rotation.new_key,
                    stores.keys.root().display()
                );
                Ok(())
            }
        }
    }
}
