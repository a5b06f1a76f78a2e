//! Consent receipts verify offline and fail when anything in them is altered.

use std::collections::BTreeMap;

use ledger::merkle::MemoryTree;
use ledger::payload::payload_hash;
use ledger::{Checkpoint, Entry, EntryKind, Hash, Receipt, ReceiptError, Signer, verify_receipt};

fn receipt() -> (Receipt, Signer) {
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    let signer = Signer::from_pkcs8("veritrial.test", &pkcs8).expect("signer");
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    let mut prev = None;
    for seq in 0..37u64 {
        let e = Entry {
            seq,
            kind: EntryKind::ConsentGranted,
            timestamp_ms: 1_700_000_000_000,
            actor_user: "u".into(),
            actor_org: "o".into(),
            subjects: BTreeMap::from([("participant".into(), format!("p{seq}"))]),
            payload_hash: payload_hash(&seq.to_be_bytes()),
            prev_hash: prev,
        };
        prev = Some(e.leaf_hash());
        tree.append(e.leaf_hash());
        entries.push(e);
    }
    let note = signer
        .sign(&Checkpoint {
            origin: "veritrial.test/ledger".into(),
            size: 37,
            root: tree.root(),
            timestamp_ms: 1_800_000_000_000,
        })
        .expect("sign");
    let receipt = Receipt {
        entry: entries[21].clone(),
        leaf_index: 21,
        tree_size: 37,
        proof: tree.inclusion_proof(21, 37).expect("proof"),
        checkpoint: note,
        public_key: signer.verifier_key(),
    };
    (receipt, signer)
}

#[test]
fn receipt_round_trips_and_verifies() {
    let (r, signer) = receipt();
    let json = serde_json::to_string(&r).expect("json");
    assert!(json.contains("\"leafIndex\":21"));
    let back: Receipt = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, r);
    let cp = verify_receipt(&back, Some(&signer.verifier_key())).expect("verifies");
    assert_eq!(cp.size, 37);
    assert!(r.verify(None).is_ok());
}

#[test]
fn altered_receipts_fail() {
    let (r, signer) = receipt();
    let key = signer.verifier_key();

    let mut bad = r.clone();
    bad.entry
        .subjects
        .insert("participant".into(), "someone else".into());
    assert!(matches!(
        verify_receipt(&bad, Some(&key)),
        Err(ReceiptError::NotIncluded(_))
    ));

    let mut bad = r.clone();
    bad.proof[0] = Hash::ZERO;
    assert!(matches!(
        verify_receipt(&bad, Some(&key)),
        Err(ReceiptError::NotIncluded(_))
    ));

    let mut bad = r.clone();
    bad.leaf_index = 20;
    assert!(matches!(
        verify_receipt(&bad, Some(&key)),
        Err(ReceiptError::IndexMismatch { .. })
    ));

    let mut bad = r.clone();
    bad.tree_size = 36;
    assert!(matches!(
        verify_receipt(&bad, Some(&key)),
        Err(ReceiptError::SizeMismatch { .. })
    ));

    let mut bad = r.clone();
    bad.checkpoint = bad.checkpoint.replacen("\n37\n", "\n38\n", 1);
    assert!(matches!(
        verify_receipt(&bad, Some(&key)),
        Err(ReceiptError::Checkpoint(_))
    ));

    let other = Signer::from_pkcs8("veritrial.test", &Signer::generate_pkcs8().expect("keygen"))
        .expect("signer");
    assert!(matches!(
        verify_receipt(&r, Some(&other.verifier_key())),
        Err(ReceiptError::UntrustedKey)
    ));
}
