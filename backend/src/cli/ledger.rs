//! `veritrial ledger …` (on the stored ledger) and `veritrial verify` (offline, no database).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use ledger::export::{Report, verify_export};
use ledger::{Receipt, verify_receipt};

use super::StoreArgs;
use super::witnessed;
use crate::server::open_stores;
use crate::services::ledger as service;

/// Commands on this node's stored ledger.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Write the whole ledger as JSON Lines with the latest signed checkpoint and public key,
    /// for `veritrial verify` on any machine.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Include each entry's payload (canonical JSON), or the mark of its erasure, so
        /// that `veritrial verify` checks payload hashes and erasures too.
        #[arg(long)]
        with_payloads: bool,
    },
    /// Verify the stored ledger: every entry, chain link, timestamp, stored payload and
    /// erasure, every stored checkpoint against the tree at its size, and the latest
    /// checkpoint's signature. Only the entries appended since the last verification that
    /// found nothing wrong are read, unless `--full`. Exits 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// Read every entry again, not only those past the verified watermark.
        #[arg(long)]
        full: bool,
    },
    /// Print the latest signed checkpoint (with the cosignature lines of the witnesses that
    /// have cosigned it) and the public key that verifies it.
    Head {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rebuild the ledger of an EMPTY store (entries, payloads, tree, head, checkpoint) from a
    /// copy served as tlog-tiles: a witness's mirror or a log. Everything is verified first.
    Restore(RestoreArgs),
}

/// `veritrial ledger restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The copy's tlog-tiles prefix: `URL/checkpoint` and `URL/tile/...` must answer (a
    /// log serves it at `https://HOST/ledger`).
    #[arg(long, value_name = "URL")]
    from_witness: String,
    /// A file holding the bearer token that may read every entry and payload in full.
    #[arg(long, env = "VERITRIAL_RESTORE_TOKEN_FILE", value_name = "FILE")]
    token_file: PathBuf,
    /// The log's verifier key (repeatable); by default the ledger keys, current and retired,
    /// in the key directory.
    #[arg(long = "public-key", value_name = "KEY")]
    public_keys: Vec<String>,
}

/// `veritrial verify`: check an export or a consent receipt with no database.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An export (`veritrial ledger export`, `GET /ledger/export`) or a receipt (JSON).
    #[arg(required_unless_present = "compare")]
    file: Option<PathBuf>,
    /// The log's public key (signed-note verifier key, `name+keyid+base64`) obtained out of
    /// band. Without it the key inside the file is used, which only proves the file is
    /// consistent with itself.
    #[arg(long, value_name = "KEY")]
    public_key: Option<String>,
    #[command(flatten)]
    witnessed: WitnessedArgs,
}

/// What `veritrial verify` checks beyond the log's own signature (README "Witnesses").
#[derive(Debug, Args)]
struct WitnessedArgs {
    /// A witness's cosignature/v1 verifier key (`name+keyid+base64`); repeatable. The
    /// checkpoint must carry valid cosignatures by at least --quorum of them.
    #[arg(long = "witness-key", value_name = "KEY")]
    witness_keys: Vec<String>,
    /// How many of the --witness-key witnesses must have cosigned [default: all].
    #[arg(long, value_name = "K", requires = "witness_keys")]
    quorum: Option<usize>,
    /// A checkpoint saved earlier (a signed note, a receipt, or an older export): prove
    /// that the ledger in FILE (an export) extends it, or name where the histories part.
    #[arg(long, value_name = "OLD")]
    since: Option<PathBuf>,
    /// Compare two saved checkpoints (signed notes, receipts or exports) of the log: two
    /// different trees of one size are a split view (exit 1).
    #[arg(long, num_args = 2, value_names = ["NOTE1", "NOTE2"], conflicts_with_all = ["file", "since"])]
    compare: Option<Vec<PathBuf>>,
}

impl WitnessedArgs {
    fn quorum(&self) -> anyhow::Result<usize> {
        let quorum = self.quorum.unwrap_or(self.witness_keys.len());
        anyhow::ensure!(
            quorum <= self.witness_keys.len(),
            "--quorum {quorum} is more than the {} --witness-key given",
            self.witness_keys.len()
        );
        Ok(quorum)
    }

    /// The checks after the log's signature and the entries have verified.
    fn check(&self, file: &Path, key: Option<&str>) -> anyhow::Result<()> {
        if self.witness_keys.is_empty() && self.since.is_none() {
            return Ok(());
        }
        let current = witnessed::Saved::read(file)?;
        if !self.witness_keys.is_empty() {
            witnessed::check_quorum(&current.note, &self.witness_keys, self.quorum()?)?;
        }
        if let Some(old) = &self.since {
            witnessed::check_since(&current, &witnessed::Saved::read(old)?, key)?;
        }
        Ok(())
    }
}

impl LedgerCommand {
    /// Runs the command against the stores named in its arguments.
    pub async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        match self {
            LedgerCommand::Export {
                store,
                out,
                with_payloads,
            } => {
                let stores = open_stores(&store.config(default_dir)).await?;
                let file = std::fs::File::create(&out)
                    .with_context(|| format!("cannot create {}", out.display()))?;
                let mut file = std::io::BufWriter::new(file);
                let (tx, mut rx) = tokio::sync::mpsc::channel(4);
                let options = service::ExportOptions { with_payloads };
                let producer = tokio::spawn(async move {
                    let everything = service::Visibility::Everything;
                    service::write_export_with(&stores.db, &stores.ledger, &everything, options, tx)
                        .await
                });
                while let Some(chunk) = rx.recv().await {
                    file.write_all(&chunk)
                        .with_context(|| format!("cannot write {}", out.display()))?;
                }
                producer.await??;
                file.flush()?;
                println!("wrote the ledger export to {}", out.display());
                Ok(())
            }
            LedgerCommand::Verify { store, full } => {
                let stores = open_stores(&store.config(default_dir)).await?;
                let scope = if full {
                    service::Scope::Full
                } else {
                    service::Scope::Incremental
                };
                let report = service::verify_scoped(&stores.db, &stores.ledger, scope).await?;
                print_report(&report)
            }
            LedgerCommand::Head { store } => {
                let stores = open_stores(&store.config(default_dir)).await?;
                let head = match service::head_with_cosignatures(&stores.db, &stores.ledger).await?
                {
                    Some(cosigned) => cosigned.head,
                    None => stores.ledger.sign_empty()?,
                };
                print!("{}", head.note);
                println!("\npublic key: {}", head.public_key);
                Ok(())
            }
            LedgerCommand::Restore(args) => args.run(default_dir).await,
        }
    }
}

impl RestoreArgs {
    async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        let stores = open_stores(&self.store.config(default_dir)).await?;
        let token = std::fs::read_to_string(&self.token_file)
            .with_context(|| format!("cannot read {}", self.token_file.display()))?;
        let source = service::TileClient::new(&self.from_witness, Some(token.trim().to_string()))?;
        let keys = if self.public_keys.is_empty() {
            stores.ledger.own_verifier_keys()?
        } else {
            self.public_keys
        };
        let restored = service::restore(&stores.db, &source, stores.ledger.origin(), &keys).await?;
        let cp = &restored.checkpoint;
        println!(
            "restored {} entries ({} payloads, {} erased) up to the checkpoint of {:?} \
             (size {}, root {}), signed by {}",
            cp.size,
            restored.payloads,
            restored.erased,
            cp.origin,
            cp.size,
            cp.root.to_hex(),
            restored.verifier_key
        );
        Ok(())
    }
}

impl VerifyArgs {
    /// Verifies the file (or compares two checkpoints); an error (non-zero exit) unless it
    /// is intact, and witnessed and consistent as asked.
    pub fn run(self) -> anyhow::Result<()> {
        let key = self.public_key.as_deref();
        if let Some([a, b]) = self.witnessed.compare.as_deref() {
            return witnessed::check_compare(
                &witnessed::Saved::read(a)?,
                &witnessed::Saved::read(b)?,
                key,
                &self.witnessed.witness_keys,
                self.witnessed.quorum()?,
            );
        }
        let file = self
            .file
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("name the FILE to verify"))?;
        verify_signed(file, key)?;
        self.witnessed.check(file, key)
    }
}

/// Verifies an export or a receipt against the log's key.
fn verify_signed(file: &Path, key: Option<&str>) -> anyhow::Result<()> {
    if let Some(receipt) = read_receipt(file)? {
        let checkpoint = verify_receipt(&receipt, key)
            .map_err(|err| anyhow::anyhow!("the receipt does not verify: {err}"))?;
        println!(
            "OK: entry {} ({}) is in the ledger {:?} of {} entries, root {}, signed by {}",
            receipt.entry.seq,
            receipt.entry.kind.as_str(),
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root.to_hex(),
            key.unwrap_or(&receipt.public_key)
        );
        return Ok(());
    }
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let report = verify_export(BufReader::new(reader), key)
        .with_context(|| format!("{} is not a Veritrial ledger export", file.display()))?;
    print_report(&report)
}

/// The file as a receipt, if it is one (a single JSON object with an `entry`).
fn read_receipt(path: &Path) -> anyhow::Result<Option<Receipt>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut first_line = String::new();
    BufReader::new(file).read_line(&mut first_line)?;
    let looks_like_export = first_line.contains("\"type\"") && first_line.contains("\"header\"");
    if looks_like_export {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match serde_json::from_str::<Receipt>(&text) {
        Ok(receipt) => Ok(Some(receipt)),
        Err(err) => anyhow::bail!(
            "{} is neither a ledger export nor a receipt: {err}",
            path.display()
        ),
    }
}

fn print_report(report: &Report) -> anyhow::Result<()> {
    if report.ok {
        match &report.checkpoint {
            Some(cp) => println!(
                "OK: {} entries verified against the checkpoint of {:?} (size {}, root {})",
                report.entries_checked,
                cp.origin,
                cp.size,
                cp.root.to_hex()
            ),
            None => println!("OK: the ledger is empty"),
        }
        if report.resumed_at > 0 {
            println!(
                "entries 0 to {} were verified before (the verified watermark) and not read again; \
                 --full reads them too",
                report.resumed_at - 1
            );
        }
        if report.entries_redacted > 0 {
            println!(
                "{} entries checked fully; {} redacted (withheld from this reader): \
                 checked by their place in the hash chain and the Merkle tree only",
                report.entries_fully_checked(),
                report.entries_redacted
            );
        }
        return Ok(());
    }
    for problem in &report.problems {
        println!("problem: {}", problem.message);
    }
    match report.first_bad_seq {
        Some(seq) => anyhow::bail!(
            "the ledger is NOT intact: first bad entry is {seq} ({} entries checked)",
            report.entries_checked
        ),
        None => anyhow::bail!(
            "the ledger is NOT intact ({} entries checked): {}",
            report.entries_checked,
            report.problems.first().map_or("", |p| p.message.as_str())
        ),
    }
}
