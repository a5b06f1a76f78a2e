//! The witnessed parts of `veritrial verify`: a quorum of witness cosignatures on the
//! checkpoint (`--witness-key`, `--quorum`), that the ledger extends a checkpoint saved
//! earlier (`--since`), and that two checkpoints do not contradict each other (`--compare`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger::history::{Comparison, HistoryError, check_extends, compare, parting_size};
use ledger::merkle::MemoryTree;
use ledger::witness::{CosignatureVerifier, WitnessError};
use ledger::{Checkpoint, Hash, Receipt, Verifier};
use serde_json::Value;

/// A checkpoint someone kept, read from a file: a signed note (as `ledgerHead` or
/// `veritrial ledger head` print it), a receipt, or an export (with all its leaves).
pub struct Saved {
    /// The file it came from.
    pub path: PathBuf,
    /// The signed note, with any cosignature lines.
    pub note: String,
    /// The log key named beside it (receipts and exports carry one).
    pub public_key: Option<String>,
    /// Every leaf, when the file is an export.
    pub leaves: Option<MemoryTree>,
}

impl Saved {
    /// Reads `path`, telling exports, receipts and bare notes apart.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let saved = |note: String, public_key: Option<String>, leaves: Option<MemoryTree>| Saved {
            path: path.to_path_buf(),
            note,
            public_key,
            leaves,
        };
        let first = text.lines().next().unwrap_or_default();
        if first.starts_with('{') && first.contains("\"header\"") {
            let (note, key, leaves) = read_export(&text)
                .with_context(|| format!("{} is not a ledger export", path.display()))?;
            return Ok(saved(note, Some(key), Some(leaves)));
        }
        if text.trim_start().starts_with('{') {
            let receipt: Receipt = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a receipt", path.display()))?;
            return Ok(saved(receipt.checkpoint, Some(receipt.public_key), None));
        }
        // A note saved by hand may have lost or gained newlines at its end.
        Ok(saved(format!("{}\n", text.trim_end()), None, None))
    }

    /// Opens the note with the log key `key` (or the key beside it).
    pub fn open(&self, key: Option<&str>) -> anyhow::Result<Checkpoint> {
        let key = key.or(self.public_key.as_deref()).ok_or_else(|| {
            anyhow::anyhow!(
                "{} carries no log key: give --public-key",
                self.path.display()
            )
        })?;
        Verifier::from_key_string(key)
            .and_then(|verifier| verifier.open(&self.note))
            .map_err(|err| {
                anyhow::anyhow!(
                    "the checkpoint in {} does not verify: {err}",
                    self.path.display()
                )
            })
    }
}

/// The export's checkpoint note, its key and its leaves (the export must have verified).
fn read_export(text: &str) -> anyhow::Result<(String, String, MemoryTree)> {
    let mut tree = MemoryTree::new();
    let mut checkpoint = None;
    for line in BufReader::new(text.as_bytes()).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)?;
        match value["type"].as_str() {
            Some("entry" | "redacted") => {
                let leaf = value["leafHash"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("an entry line has no leafHash"))?;
                tree.append(Hash::from_hex(leaf)?);
            }
            Some("checkpoint") => {
                let field = |name: &str| {
                    value[name]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow::anyhow!("the checkpoint line has no {name}"))
                };
                checkpoint = Some((field("note")?, field("publicKey")?));
            }
            _ => {}
        }
    }
    let (note, key) = checkpoint.ok_or_else(|| anyhow::anyhow!("it has no checkpoint line"))?;
    Ok((note, key, tree))
}

/// Requires `quorum` valid cosignatures on `note` by distinct keys of `witness_keys`; the
/// error names the witnesses whose cosignature is missing or invalid.
pub fn check_quorum(note: &str, witness_keys: &[String], quorum: usize) -> anyhow::Result<()> {
    let mut valid = Vec::new();
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    let mut seen = Vec::new();
    for key in witness_keys {
        let verifier = CosignatureVerifier::parse(key)
            .map_err(|err| anyhow::anyhow!("--witness-key {key:?} is not a witness key: {err}"))?;
        if seen.contains(&verifier.key_string()) {
            continue;
        }
        seen.push(verifier.key_string());
        match verifier.verify(note) {
            Ok(timestamp) => valid.push(format!("{} (at {timestamp})", verifier.name())),
            Err(WitnessError::MissingCosignature(_)) => missing.push(verifier.name().to_owned()),
            Err(err) => invalid.push(format!("{}: {err}", verifier.name())),
        }
    }
    if valid.len() >= quorum {
        println!(
            "OK: {} of {} witnesses cosigned the checkpoint (quorum {quorum}): {}",
            valid.len(),
            seen.len(),
            valid.join(", ")
        );
        return Ok(());
    }
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!("no cosignature by {}", missing.join(", ")));
    }
    if !invalid.is_empty() {
        why.push(format!("invalid cosignature by {}", invalid.join("; ")));
    }
    anyhow::bail!(
        "the checkpoint is NOT witnessed: {} valid cosignatures, {quorum} required ({})",
        valid.len(),
        why.join("; ")
    )
}

/// Proves that `current` (an export, whose leaves verified against its checkpoint) extends
/// the checkpoint in `old`; if not, names where the histories part (exactly when `old` is an
/// export too).
pub fn check_since(current: &Saved, old: &Saved, key: Option<&str>) -> anyhow::Result<()> {
    let now = current.open(key)?;
    let old_checkpoint = old.open(key.or(current.public_key.as_deref()))?;
    let Some(tree) = &current.leaves else {
        anyhow::bail!(
            "--since needs the current ledger as an export (with every leaf), not {}",
            current.path.display()
        );
    };
    match check_extends(&old_checkpoint, &now.origin, tree) {
        Ok(()) => {
            println!(
                "OK: the ledger of {} entries extends the saved checkpoint of {} entries ({})",
                now.size,
                old_checkpoint.size,
                old.path.display()
            );
            Ok(())
        }
        Err(err @ (HistoryError::Diverged { .. } | HistoryError::Shorter { .. })) => {
            // The old copy's leaves count only if they hash to its signed checkpoint.
            let old_leaves = old.leaves.as_ref().filter(|leaves| {
                leaves.size() == old_checkpoint.size && leaves.root() == old_checkpoint.root
            });
            if let Some(parted) = old_leaves.and_then(|old| parting_size(old, tree)) {
                anyhow::bail!(
                    "the ledger does NOT extend the saved checkpoint: the histories part at \
                     size {parted} (both hold the same first {parted} entries; entry {parted} \
                     differs)"
                );
            }
            anyhow::bail!("the ledger does NOT extend the saved checkpoint: {err}")
        }
        Err(err) => anyhow::bail!("the ledger does NOT extend the saved checkpoint: {err}"),
    }
}

/// Compares two saved checkpoints of one log, each checked with the log key (and, with
/// witness keys, a quorum of cosignatures): a split view (same size, other root) is an error.
pub fn check_compare(
    a: &Saved,
    b: &Saved,
    key: Option<&str>,
    witness_keys: &[String],
    quorum: usize,
) -> anyhow::Result<()> {
    let first = a.open(key)?;
    let second = b.open(key.or(a.public_key.as_deref()))?;
    if !witness_keys.is_empty() {
        for saved in [a, b] {
            check_quorum(&saved.note, witness_keys, quorum)
                .with_context(|| format!("{}", saved.path.display()))?;
        }
    }
    match compare(&first, &second) {
        Comparison::Same => {
            println!(
                "OK: both are the same checkpoint of {} entries (root {})",
                first.size,
                first.root.to_hex()
            );
            Ok(())
        }
        Comparison::DifferentSizes { smaller, larger } => {
            println!(
                "checkpoints of {smaller} and {larger} entries: no contradiction on their \
                 face; prove the larger extends the smaller with `veritrial verify EXPORT \
                 --since OLD` on an export of at least {larger} entries"
            );
            Ok(())
        }
        Comparison::SplitView { size } => anyhow::bail!(
            "SPLIT VIEW: the log signed two different trees of {size} entries (roots {} in {} \
             and {} in {}); keep both files as evidence",
            first.root.to_hex(),
            a.path.display(),
            second.root.to_hex(),
            b.path.display()
        ),
        Comparison::OtherLogs => anyhow::bail!(
            "the checkpoints are of two different logs ({:?} and {:?})",
            first.origin,
            second.origin
        ),
    }
}
