//! Ledger benchmarks: in-memory append, full export verification at 1,000,000 entries, and
//! inclusion-proof generation at 1,000,000 entries.
//!
//! Run with `cargo bench -p ledger`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ledger::merkle::{CompactRange, MemoryTree, verify_inclusion};
use ledger::payload::{commitment, payload_hash};
use ledger::{
    Checkpoint, Entry, EntryKind, ExportHeader, ExportWriter, Hash, Signer, verify_export,
};

const MILLION: u64 = 1_000_000;

/// A realistic entry: two subjects (trial id and participant commitment), ~300 encoded bytes.
fn template() -> Entry {
    Entry {
        seq: 0,
        kind: EntryKind::ConsentGranted,
        timestamp_ms: 1_700_000_000_000,
        actor_user: "3f1c2a9e-5b7d-4c1e-9a2b-7d8e6f5a4b3c".into(),
        actor_org: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
        subjects: BTreeMap::from([
            (
                "trial".into(),
                "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f".into(),
            ),
            (
                "participant".into(),
                commitment(b"salt", "patient").to_hex(),
            ),
        ]),
        payload_hash: payload_hash(b"{}"),
        prev_hash: None,
    }
}

/// Appends `n` entries: set seq/prev/payload, canonical encoding + leaf hash, tree append.
fn append_memory(n: u64) -> Hash {
    let mut entry = template();
    let mut tree = MemoryTree::with_capacity(n as usize);
    let mut prev = None;
    for seq in 0..n {
        entry.seq = seq;
        entry.timestamp_ms = 1_700_000_000_000 + seq as i64;
        entry.prev_hash = prev;
        let leaf = entry.leaf_hash();
        tree.append(leaf);
        prev = Some(leaf);
    }
    tree.root()
}

fn append_compact(n: u64) -> Hash {
    let mut entry = template();
    let mut range = CompactRange::new();
    let mut prev = None;
    for seq in 0..n {
        entry.seq = seq;
        entry.timestamp_ms = 1_700_000_000_000 + seq as i64;
        entry.prev_hash = prev;
        let leaf = entry.leaf_hash();
        range.append_with(leaf, |_, _| {});
        prev = Some(leaf);
    }
    range.root()
}

fn bench_append(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(N));
    group.sample_size(20);
    group.bench_function("memory_tree_100k_entries", |b| {
        b.iter(|| black_box(append_memory(N)))
    });
    group.bench_function("compact_range_100k_entries", |b| {
        b.iter(|| black_box(append_compact(N)))
    });
    group.finish();
}

/// A complete 1,000,000-entry export (with payloads) and its trusted key.
fn export(n: u64) -> (Vec<u8>, String) {
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    let signer = Signer::from_pkcs8("veritrial.bench", &pkcs8).expect("signer");
    let header = ExportHeader {
        origin: "veritrial.bench/ledger".into(),
        exported_at_ms: 0,
    };
    let mut w = ExportWriter::new(Vec::with_capacity(700 * n as usize), &header).expect("header");
    let mut entry = template();
    let mut range = CompactRange::new();
    let mut prev = None;
    for seq in 0..n {
        let payload = format!("{{\"seq\":{seq},\"value\":\"yes\"}}");
        entry.seq = seq;
        entry.payload_hash = payload_hash(payload.as_bytes());
        entry.prev_hash = prev;
        let leaf = w
            .write_entry(&entry, Some(payload.as_bytes()))
            .expect("entry");
        range.append_with(leaf, |_, _| {});
        prev = Some(leaf);
    }
    let note = signer
        .sign(&Checkpoint {
            origin: header.origin.clone(),
            size: n,
            root: range.root(),
            timestamp_ms: 0,
        })
        .expect("sign");
    let bytes = w.finish(&note, &signer.verifier_key()).expect("finish");
    (bytes, signer.verifier_key())
}

fn bench_verify_export(c: &mut Criterion) {
    let (bytes, key) = export(MILLION);
    eprintln!(
        "export of {MILLION} entries: {:.1} MB",
        bytes.len() as f64 / 1e6
    );
    let mut group = c.benchmark_group("verify_export");
    group.throughput(Throughput::Elements(MILLION));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("1m_entries_with_payloads", |b| {
        b.iter(|| {
            let report = verify_export(black_box(&bytes[..]), Some(&key)).expect("export");
            assert!(report.ok && report.entries_checked == MILLION);
            report
        })
    });
    group.finish();
}

fn bench_inclusion_proof(c: &mut Criterion) {
    let mut tree = MemoryTree::with_capacity(MILLION as usize);
    for i in 0..MILLION {
        tree.append(ledger::merkle::leaf_hash(&i.to_be_bytes()));
    }
    let root = tree.root();
    let mut group = c.benchmark_group("inclusion_proof");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_index = move || {
        // xorshift: a fresh pseudo-random leaf index for each proof
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % MILLION
    };
    group.bench_function("generate_at_1m", |b| {
        b.iter_batched(
            &mut next_index,
            |i| tree.inclusion_proof(i, MILLION).expect("proof"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("generate_and_verify_at_1m", |b| {
        b.iter_batched(
            &mut next_index,
            |i| {
                let proof = tree.inclusion_proof(i, MILLION).expect("proof");
                let leaf = tree.node(ledger::merkle::NodeId::leaf(i)).expect("leaf");
                verify_inclusion(&leaf, i, MILLION, &proof, &root).expect("verifies");
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_append,
    bench_inclusion_proof,
    bench_verify_export
);
criterion_main!(benches);
