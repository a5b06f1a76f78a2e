//! The ledger, for ethics boards and admins: head, entries, proofs and verification; and
//! erasing a payload on the record (admins of the organisation that recorded it).

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ApiResult, cost, parts};
use crate::domain::Role;
use crate::error::AppError;
use crate::services::ledger::{
    self, CosignedHead, ErasureReason, Head, Scope, StoredEntry, Visibility, WitnessStatus,
};
use crate::services::names::{Names, describe_kind};

/// Who may read the ledger.
const READERS: &[Role] = &[Role::Ethics, Role::Admin];
/// Most entries returned by one `ledgerEntries` call.
const MAX_PAGE: u64 = 1_000;

/// The latest signed checkpoint.
#[derive(SimpleObject)]
pub struct LedgerHead {
    /// The signed note (C2SP tlog-checkpoint): origin, size, base64 root, time, signature.
    checkpoint: String,
    /// The signed-note verifier key to check it with.
    public_key: String,
    /// Entries covered.
    size: u64,
    /// Merkle root, lowercase hex.
    root_hash: String,
    /// When the checkpoint was signed.
    timestamp: DateTime<Utc>,
    /// The latest checkpoint that at least `--witness-quorum` witnesses have cosigned (null
    /// before there is one): its note carries their `cosignature/v1` lines after the log's
    /// signature.
    cosigned: Option<CosignedCheckpoint>,
    /// This server's witnesses and how cosigning them goes (empty without witnesses).
    witnesses: Vec<WitnessState>,
}

impl LedgerHead {
    fn new(head: Head, cosigned: Option<CosignedHead>, witnesses: Vec<WitnessStatus>) -> Self {
        Self {
            checkpoint: head.note,
            public_key: head.public_key,
            size: head.size,
            root_hash: head.root.to_hex(),
            timestamp: timestamp(head.timestamp_ms),
            cosigned: cosigned.map(CosignedCheckpoint::from),
            witnesses: witnesses.into_iter().map(WitnessState::from).collect(),
        }
    }
}

/// A checkpoint with its witnesses' cosignatures.
#[derive(SimpleObject)]
pub struct CosignedCheckpoint {
    /// The signed note with the cosignature lines appended (C2SP tlog-cosignature).
    checkpoint: String,
    /// The log's verifier key.
    public_key: String,
    /// Entries covered.
    size: u64,
    /// Merkle root, lowercase hex.
    root_hash: String,
    /// Who cosigned it.
    cosigners: Vec<CheckpointCosigner>,
}

impl From<CosignedHead> for CosignedCheckpoint {
    fn from(cosigned: CosignedHead) -> Self {
        Self {
            checkpoint: cosigned.head.note,
            public_key: cosigned.head.public_key,
            size: cosigned.head.size,
            root_hash: cosigned.head.root.to_hex(),
            cosigners: cosigned
                .cosigners
                .into_iter()
                .map(|c| CheckpointCosigner {
                    name: c.name,
                    key: c.key,
                    timestamp: timestamp(c.timestamp_secs.saturating_mul(1000)),
                })
                .collect(),
        }
    }
}

/// A witness that cosigned a checkpoint.
#[derive(SimpleObject)]
pub struct CheckpointCosigner {
    /// The witness's name.
    name: String,
    /// Its `cosignature/v1` verifier key.
    key: String,
    /// When it cosigned (whole seconds).
    timestamp: DateTime<Utc>,
}

/// How cosigning with one witness goes, as this server sees it.
#[derive(SimpleObject)]
pub struct WitnessState {
    /// The witness's name.
    name: String,
    /// The largest checkpoint it cosigned for this server since start.
    cosigned_size: Option<u64>,
    /// Times it refused a checkpoint (a rewritten or forked ledger, or a misconfiguration).
    refusals: u64,
    /// The last failure, while failing.
    last_error: Option<String>,
}

impl From<WitnessStatus> for WitnessState {
    fn from(status: WitnessStatus) -> Self {
        Self {
            name: status.name,
            cosigned_size: status.cosigned_size,
            refusals: status.refusals,
            last_error: status.last_error,
        }
    }
}

/// What an entry is about.
#[derive(SimpleObject)]
pub struct Subject {
    /// `trial`, `participant` (a salted commitment), `submission`, …
    key: String,
    /// The referenced id or commitment.
    value: String,
}

/// One ledger entry. Entries carry ids, commitments and hashes, never personal data.
///
/// An ethics board sees in full only the entries of trials assigned to it (or to no board);
/// every other entry is `redacted`: only `seq`, `prevHash` and `leafHash` are given, enough
/// to check the hash chain and the Merkle tree, and the other fields are null.
#[derive(SimpleObject)]
pub struct LedgerEntry {
    seq: u64,
    /// True when the entry's contents are withheld from the caller.
    redacted: bool,
    kind: Option<String>,
    /// What the entry records, in words, e.g. "Protocol amended".
    description: Option<String>,
    timestamp: Option<DateTime<Utc>>,
    actor_user: Option<String>,
    /// The acting person's display name (null for the node itself).
    actor_name: Option<String>,
    /// The acting person's role.
    actor_role: Option<Role>,
    actor_org: Option<String>,
    /// The acting organisation's name.
    actor_org_name: Option<String>,
    subjects: Option<Vec<Subject>>,
    /// SHA-256 of the canonical payload this entry attests.
    payload_hash: Option<String>,
    /// Leaf hash of the previous entry (the hash chain); null for entry 0.
    prev_hash: Option<String>,
    /// RFC 6962 leaf hash of this entry's canonical bytes, as stored.
    leaf_hash: String,
}

impl LedgerEntry {
    /// The entry in full, its actors named from `names`.
    pub fn named(stored: StoredEntry, names: &Names) -> Self {
        let e = stored.entry;
        let person = names.person(&e.actor_user);
        Self {
            seq: e.seq,
            redacted: false,
            kind: Some(e.kind.as_str().to_string()),
            description: Some(describe_kind(e.kind.as_str())),
            timestamp: Some(timestamp(e.timestamp_ms)),
            actor_name: person.map(|p| p.name.clone()),
            actor_role: person.map(|p| p.role),
            actor_org_name: names.organization(&e.actor_org).map(str::to_string),
            actor_user: Some(e.actor_user),
            actor_org: Some(e.actor_org),
            subjects: Some(
                e.subjects
                    .into_iter()
                    .map(|(key, value)| Subject { key, value })
                    .collect(),
            ),
            payload_hash: Some(e.payload_hash.to_hex()),
            prev_hash: e.prev_hash.map(|h| h.to_hex()),
            leaf_hash: stored.leaf_hash.to_hex(),
        }
    }

    /// The entry's place in the chain and the tree only.
    fn withheld(stored: &StoredEntry) -> Self {
        Self {
            seq: stored.entry.seq,
            redacted: true,
            kind: None,
            description: None,
            timestamp: None,
            actor_user: None,
            actor_name: None,
            actor_role: None,
            actor_org: None,
            actor_org_name: None,
            subjects: None,
            payload_hash: None,
            prev_hash: stored.entry.prev_hash.map(|h| h.to_hex()),
            leaf_hash: stored.leaf_hash.to_hex(),
        }
    }

    /// The entry as `visibility` lets the caller see it.
    fn shown(stored: StoredEntry, visibility: &Visibility, names: &Names) -> Self {
        if visibility.shows(&stored.entry) {
            Self::named(stored, names)
        } else {
            Self::withheld(&stored)
        }
    }
}

/// An RFC 6962 inclusion proof.
#[derive(SimpleObject)]
pub struct InclusionProof {
    leaf_index: u64,
    tree_size: u64,
    /// Sibling hashes, lowest level first, lowercase hex.
    hashes: Vec<String>,
}

/// An RFC 6962 consistency proof.
#[derive(SimpleObject)]
pub struct ConsistencyProof {
    from_size: u64,
    to_size: u64,
    /// Lowercase hex.
    hashes: Vec<String>,
}

/// The outcome of verifying the stored ledger.
#[derive(SimpleObject)]
pub struct LedgerVerification {
    ok: bool,
    /// Entries covered: every entry of the verified snapshot, including those below
    /// `resumedAt`.
    entries_checked: u64,
    /// Entries below this were verified by an earlier verification (the verified watermark)
    /// and not read again; 0 for a full verification.
    resumed_at: u64,
    /// The first entry found wrong, if any.
    first_bad_seq: Option<u64>,
    /// Everything found wrong, in human words.
    problems: Vec<String>,
}

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The latest signed checkpoint and the public key (a signed empty tree before any entry),
    /// and the latest checkpoint witnesses have cosigned.
    async fn ledger_head(&self, ctx: &Context<'_>) -> ApiResult<LedgerHead> {
        let (state, caller) = parts(ctx);
        caller.require(READERS)?;
        let head = match ledger::head(&state.db, &state.ledger).await? {
            Some(head) => head,
            None => state.ledger.sign_empty()?,
        };
        let quorum = state.cosigning.quorum();
        let cosigned = ledger::latest_cosigned(&state.db, &state.ledger, 0, quorum).await?;
        Ok(LedgerHead::new(head, cosigned, state.cosigning.statuses()))
    }

    /// Entries in order, after sequence number `after` (from the start when omitted),
    /// at most `first` (default 100, at most 1000). Entries of trials the caller may not
    /// read are redacted.
    #[graphql(complexity = "cost::ledger_entries(first, child_complexity)")]
    async fn ledger_entries(
        &self,
        ctx: &Context<'_>,
        after: Option<u64>,
        #[graphql(default = 100)] first: u64,
    ) -> ApiResult<Vec<LedgerEntry>> {
        let (state, caller) = parts(ctx);
        let who = caller.require(READERS)?;
        if first > MAX_PAGE {
            return Err(AppError::bad_input(format!("`first` may be at most {MAX_PAGE}")).into());
        }
        let visibility = Visibility::of(state, who).await?;
        let rows = ledger::entries(&state.db, after, first).await?;
        let stored = rows
            .iter()
            .map(StoredEntry::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let shown = stored.iter().filter(|s| visibility.shows(&s.entry));
        let names = Names::of(&state.db, shown.map(|s| &s.entry)).await?;
        Ok(stored
            .into_iter()
            .map(|s| LedgerEntry::shown(s, &visibility, &names))
            .collect())
    }

    /// Proof that entry `seq` is in the tree of the first `treeSize` entries.
    #[graphql(complexity = "cost::PROOF + child_complexity")]
    async fn inclusion_proof(
        &self,
        ctx: &Context<'_>,
        seq: u64,
        tree_size: u64,
    ) -> ApiResult<InclusionProof> {
        let (state, caller) = parts(ctx);
        caller.require(READERS)?;
        let hashes = ledger::inclusion_proof(&state.db, seq, tree_size).await?;
        Ok(InclusionProof {
            leaf_index: seq,
            tree_size,
            hashes: hashes.iter().map(|h| h.to_hex()).collect(),
        })
    }

    /// Proof that the tree of `toSize` entries extends the tree of `fromSize` entries.
    #[graphql(complexity = "cost::PROOF + child_complexity")]
    async fn consistency_proof(
        &self,
        ctx: &Context<'_>,
        from_size: u64,
        to_size: u64,
    ) -> ApiResult<ConsistencyProof> {
        let (state, caller) = parts(ctx);
        caller.require(READERS)?;
        let hashes = ledger::consistency_proof(&state.db, from_size, to_size).await?;
        Ok(ConsistencyProof {
            from_size,
            to_size,
            hashes: hashes.iter().map(|h| h.to_hex()).collect(),
        })
    }

    /// Recomputes every leaf, chain link, timestamp order, payload hash (and erasure), the
    /// Merkle root at every stored checkpoint, and checks their signatures; names the first
    /// bad entry. By default only the entries appended since the last verification that
    /// found nothing wrong are read (the stored tree is checked against the root verified
    /// then); `full: true` reads everything again, which also finds a change below that
    /// point.
    #[graphql(complexity = "cost::VERIFY_LEDGER + child_complexity")]
    async fn verify_ledger(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] full: bool,
    ) -> ApiResult<LedgerVerification> {
        let (state, caller) = parts(ctx);
        caller.require(READERS)?;
        let scope = if full {
            Scope::Full
        } else {
            Scope::Incremental
        };
        let report = state
            .verifications
            .verify_scoped(&state.db, &state.ledger, scope)
            .await?;
        Ok(LedgerVerification {
            ok: report.ok,
            entries_checked: report.entries_checked,
            resumed_at: report.resumed_at,
            first_bad_seq: report.first_bad_seq,
            problems: report.problems.iter().map(|p| p.message.clone()).collect(),
        })
    }
}

/// The record of an erasure.
#[derive(SimpleObject)]
pub struct PayloadErasure {
    /// The entry whose payload was erased.
    erased_seq: u64,
    /// The `payload.erased` entry that records it.
    erasure_seq: u64,
    /// That entry's leaf hash.
    leaf_hash: String,
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Erases the payload of entry `seq` (admins of the organisation that recorded it): the
    /// stored document is blanked and a `payload.erased` entry records who, when and why.
    /// The entry and its payload hash stay, so the ledger still verifies and still proves
    /// what was there. `NOT_FOUND` for no such entry, `CONFLICT` when already erased,
    /// `BAD_INPUT` for an erasure record.
    async fn erase_payload(
        &self,
        ctx: &Context<'_>,
        seq: u64,
        reason: ErasureReason,
    ) -> ApiResult<PayloadErasure> {
        let (state, caller) = parts(ctx);
        let who = caller.require(&[Role::Admin])?;
        let appended = ledger::erase_payload(&state.writer, who, seq, reason).await?;
        Ok(PayloadErasure {
            erased_seq: seq,
            erasure_seq: appended.seq,
            leaf_hash: appended.leaf_hash.to_hex(),
        })
    }
}

fn timestamp(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
