//! The witness node over real HTTP, on a SQLite and on a PostgreSQL store: it cosigns
//! consistent checkpoints, answers the C2SP tlog-witness status codes, keeps evidence of a
//! split view and raises the alarm, serialises concurrent requests, and keeps its state
//! across a restart.

mod common;

use std::path::Path;

use common::{Backend, PgDatabase, http_client};
use ledger::merkle::MemoryTree;
use ledger::witness::{
    AddCheckpointRequest, CosignatureVerifier, SIZE_CONTENT_TYPE, add_signature_lines,
    split_signature_lines, verify_quorum,
};
use ledger::{Checkpoint, Hash, Signer};
use serde_json::Value;
use tempfile::TempDir;
use veritrial::witness::{RunningWitness, WitnessConfig, serve};

const ORIGIN: &str = "log.test/ledger";

/// A log (its key and tree) and a witness of it, with the witness's own data directory and,
/// on PostgreSQL, a database of its own.
struct Fixture {
    dir: TempDir,
    pg: Option<PgDatabase>,
    log: Signer,
    tree: MemoryTree,
    witness: RunningWitness,
}

impl Fixture {
    async fn start(backend: Backend) -> Option<Self> {
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await?),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let pkcs8 = Signer::generate_pkcs8().expect("keygen");
        let log = Signer::from_pkcs8("log.test", &pkcs8).expect("signer");
        let witness = serve(config(dir.path(), pg.as_ref(), &log))
            .await
            .expect("serve");
        Some(Self {
            dir,
            pg,
            log,
            tree: MemoryTree::new(),
            witness,
        })
    }

    async fn restart(&mut self) {
        let old = std::mem::replace(
            &mut self.witness,
            serve(config(self.dir.path(), self.pg.as_ref(), &self.log))
                .await
                .expect("serve"),
        );
        old.shutdown().await.expect("shutdown");
    }

    /// Appends leaves until the tree has `size` of them.
    fn grow(&mut self, size: u64) {
        while self.tree.size() < size {
            self.tree
                .append(Hash::sha256(&self.tree.size().to_be_bytes()));
        }
    }

    /// The log's signed note for its tree at `size`.
    fn note(&self, size: u64) -> String {
        self.signed(size, self.tree.root_at(size).expect("root"))
    }

    fn signed(&self, size: u64, root: Hash) -> String {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
            timestamp_ms: 1_700_000_000_000 + size as i64,
        };
        self.log.sign(&cp).expect("sign")
    }

    /// A request for the checkpoint at `size`, proven from `old`.
    fn request(&self, old: u64, size: u64) -> AddCheckpointRequest {
        AddCheckpointRequest {
            old_size: old,
            consistency_proof: if old == 0 {
                vec![]
            } else {
                self.tree.consistency_proof(old, size).expect("proof")
            },
            checkpoint: self.note(size),
        }
    }

    async fn post(&self, request: &AddCheckpointRequest) -> (u16, String, String) {
        post(&self.witness.url(), &request.to_body()).await
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = http_client()
            .get(format!("{}{path}", self.witness.url()))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn status(&self) -> Value {
        let (code, body) = self.get("/status").await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }

    fn witness_key(&self) -> String {
        self.witness.node.cosigner.verifier_key()
    }
}

fn config(dir: &Path, pg: Option<&PgDatabase>, log: &Signer) -> WitnessConfig {
    WitnessConfig {
        data_dir: dir.join("witness"),
        database_url: pg.map(|pg| pg.url.clone()),
        listen: "127.0.0.1:0".parse().expect("addr"),
        name: Some("witness.test/w1".into()),
        logs: vec![
            format!("{ORIGIN}={}", log.verifier_key())
                .parse()
                .expect("log"),
        ],
    }
}

async fn post(base: &str, body: &str) -> (u16, String, String) {
    let response = http_client()
        .post(format!("{base}/add-checkpoint"))
        .body(body.to_owned())
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

/// Good checkpoints are cosigned, and the cosignature verifies with the witness's key.
async fn cosigns_consistent_checkpoints(backend: Backend) {
    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(10);
    let (code, _, body) = f.post(&f.request(0, 3)).await;
    assert_eq!(code, 200, "{body}");
    let lines = split_signature_lines(&body).expect("lines");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("\u{2014} witness.test/w1 "));
    let cosigned = add_signature_lines(&f.note(3), &lines).expect("add");
    let verifier = CosignatureVerifier::parse(&f.witness_key()).expect("vkey");
    let t = verifier.verify(&cosigned).expect("cosignature verifies");
    assert!(t > 1_700_000_000);
    let cp =
        verify_quorum(&cosigned, &f.log.verifier_key(), &[f.witness_key()], 1).expect("quorum");
    assert_eq!(cp.size, 3);

    // Extensions from the cosigned size, and the same checkpoint again.
    for (old, new) in [(3, 7), (7, 10), (10, 10)] {
        let (code, _, body) = f.post(&f.request(old, new)).await;
        assert_eq!(code, 200, "{old}->{new}: {body}");
    }
    let status = f.status().await;
    assert_eq!(status["verifierKey"], f.witness_key().as_str());
    assert_eq!(status["logs"][0]["size"], 10);
    assert_eq!(status["alarm"], false);
    let stored = status["logs"][0]["checkpoint"].as_str().expect("note");
    assert!(verifier.verify(stored).is_ok());
    // The monitor retrieval path of the spec serves the same note.
    let hash = Hash::sha256(ORIGIN.as_bytes()).to_hex();
    assert_eq!(
        f.get(&format!("/{hash}/checkpoint")).await,
        (200, stored.to_owned())
    );
    assert_eq!(
        f.get(&format!("/{}/checkpoint", Hash::ZERO.to_hex()))
            .await
            .0,
        404
    );
}

/// 409 (with the known size), 422, 404, 403 and 400, as C2SP tlog-witness specifies.
async fn refuses_with_the_spec_status_codes(backend: Backend) {
    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(12);
    assert_eq!(f.post(&f.request(0, 5)).await.0, 200);

    let (code, content_type, body) = f.post(&f.request(0, 8)).await;
    assert_eq!(
        (code, content_type.as_str(), body.as_str()),
        (409, SIZE_CONTENT_TYPE, "5\n")
    );
    let (code, _, body) = f.post(&f.request(4, 8)).await;
    assert_eq!((code, body.as_str()), (409, "5\n"));

    // A proof that does not lead from the cosigned root.
    let mut bad = f.request(5, 8);
    bad.consistency_proof[0].0[0] ^= 1;
    assert_eq!(f.post(&bad).await.0, 422);
    // No proof at all.
    let mut no_proof = f.request(0, 8);
    no_proof.old_size = 5;
    assert_eq!(f.post(&no_proof).await.0, 422);

    // Unknown origin.
    let stranger_note = f.note(8).replacen(ORIGIN, "other.test/ledger", 1);
    let stranger = AddCheckpointRequest {
        old_size: 0,
        consistency_proof: vec![],
        checkpoint: stranger_note,
    };
    assert_eq!(f.post(&stranger).await.0, 404);
    // Signed by another key, or tampered.
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    let impostor = Signer::from_pkcs8("log.test", &pkcs8).expect("signer");
    let mut forged = f.request(5, 8);
    forged.checkpoint = impostor
        .sign(
            &ledger::Verifier::from_key_string(&f.log.verifier_key())
                .expect("key")
                .open(&f.note(8))
                .expect("open"),
        )
        .expect("sign");
    assert_eq!(f.post(&forged).await.0, 403);
    let mut tampered = f.request(5, 8);
    tampered.checkpoint = tampered.checkpoint.replacen("\n8\n", "\n9\n", 1);
    assert_eq!(f.post(&tampered).await.0, 403);
    // Malformed bodies, and an old size above the size.
    for body in ["", "old 5\n", "old 05\n\nx\n", "hello"] {
        assert_eq!(post(&f.witness.url(), body).await.0, 400, "{body:?}");
    }
    let mut backwards = f.request(0, 5);
    backwards.old_size = 6;
    assert_eq!(f.post(&backwards).await.0, 400);

    // None of this moved the witness; only the proof that fails is evidence against the log.
    let status = f.status().await;
    assert_eq!(status["logs"][0]["size"], 5);
    assert_eq!(status["evidenceCount"], 1, "{status}");
    assert_eq!(status["evidence"][0]["presentedSize"], 8);
    assert_eq!(f.post(&f.request(5, 12)).await.0, 200);
}

/// The same size with another root is refused; both signed notes are kept as evidence and
/// shown in /status, and the alarm shows in /metrics, across a restart.
async fn a_split_view_is_refused_and_kept_as_evidence(backend: Backend) {
    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(6);
    assert_eq!(f.post(&f.request(0, 6)).await.0, 200);
    let cosigned = f.status().await["logs"][0]["checkpoint"]
        .as_str()
        .expect("note")
        .to_owned();

    let fork = f.signed(6, Hash::sha256(b"another history"));
    let split = AddCheckpointRequest {
        old_size: 6,
        consistency_proof: vec![],
        checkpoint: fork.clone(),
    };
    let (code, content_type, body) = f.post(&split).await;
    assert_eq!(
        (code, content_type.as_str(), body.as_str()),
        (409, SIZE_CONTENT_TYPE, "6\n"),
        "C2SP tlog-witness: the same size with another root is a 409 naming the known size"
    );

    f.restart().await;
    let status = f.status().await;
    assert_eq!(status["alarm"], true);
    assert_eq!(status["evidenceCount"], 1);
    let evidence = &status["evidence"][0];
    assert_eq!(evidence["origin"], ORIGIN);
    assert_eq!(evidence["cosignedSize"], 6);
    assert_eq!(evidence["presentedSize"], 6);
    assert_eq!(evidence["cosignedCheckpoint"], cosigned.as_str());
    assert_eq!(evidence["presentedCheckpoint"], fork.as_str());
    // Both notes verify under the log's key: proof that the log signed two histories.
    let log = ledger::Verifier::from_key_string(&f.log.verifier_key()).expect("key");
    let (a, b) = (
        log.open(evidence["cosignedCheckpoint"].as_str().expect("a"))
            .expect("a"),
        log.open(evidence["presentedCheckpoint"].as_str().expect("b"))
            .expect("b"),
    );
    assert_eq!(a.size, b.size);
    assert_ne!(a.root, b.root);
    // The witness still holds the history it cosigned.
    assert_eq!(status["logs"][0]["size"], 6);
    let (_, metrics) = f.get("/metrics").await;
    assert!(
        metrics.contains("\nveritrial_witness_evidence 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("veritrial_witness_log_size{origin=\"log.test/ledger\"} 6"));
}

/// Concurrent requests from the same old size: exactly one is cosigned, the others get 409.
async fn concurrent_requests_serialise(backend: Backend) {
    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(20);
    assert_eq!(f.post(&f.request(0, 2)).await.0, 200);
    let bodies: Vec<String> = (3..=10).map(|n| f.request(2, n).to_body()).collect();
    let url = f.witness.url();
    let answers = futures::future::join_all(bodies.iter().map(|b| post(&url, b))).await;
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 409).count(), 7, "{codes:?}");
    let size = f.status().await["logs"][0]["size"].as_u64().expect("size");
    assert!((3..=10).contains(&size));
}

/// A restarted witness keeps its key and the latest cosigned size.
async fn a_restart_keeps_state(backend: Backend) {
    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(9);
    assert_eq!(f.post(&f.request(0, 4)).await.0, 200);
    let key = f.witness_key();
    f.restart().await;
    assert_eq!(f.witness_key(), key);
    assert_eq!(f.post(&f.request(0, 9)).await.1, SIZE_CONTENT_TYPE);
    assert_eq!(f.post(&f.request(4, 9)).await.0, 200);
    assert_eq!(f.status().await["logs"][0]["size"], 9);
}

/// `veritrial witness` as a process: `--show-key` prints the key the running node uses, it
/// prints where it listens, cosigns, and stops on SIGTERM; a bad `--log` is refused.
async fn the_command_runs_a_witness(backend: Backend) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let Some(mut f) = Fixture::start(backend).await else {
        return;
    };
    f.grow(4);
    let dir = f.dir.path().join("process");
    let database = f.pg.as_ref().map(|pg| pg.url.clone());
    let command = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_veritrial"));
        cmd.arg("witness").arg("--data-dir").arg(&dir).args(extra);
        if let Some(url) = &database {
            cmd.arg("--database-url").arg(url);
        }
        cmd
    };
    let shown = command(&["--show-key", "--name", "witness.test/p"])
        .output()
        .expect("run");
    assert!(shown.status.success());
    let key = String::from_utf8(shown.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert!(key.starts_with("witness.test/p+"), "{key}");

    let log = format!("{ORIGIN}={}", f.log.verifier_key());
    let refused = command(&["--log", "nonsense"]).output().expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ORIGIN=VERIFIER_KEY"));

    let mut child = command(&[
        "--name",
        "witness.test/p",
        "--listen",
        "127.0.0.1:0",
        "--log",
        &log,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    assert!(line.contains(&key), "{line}");
    let (code, _, body) = post(&url, &f.request(0, 4).to_body()).await;
    assert_eq!(code, 200, "{body}");
    let cosigned = add_signature_lines(&f.note(4), &split_signature_lines(&body).expect("lines"))
        .expect("add");
    assert!(
        CosignatureVerifier::parse(&key)
            .expect("key")
            .verify(&cosigned)
            .is_ok()
    );
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(child.wait().expect("wait").success());
}

on_both_databases!(
    the_command_runs_a_witness,
    cosigns_consistent_checkpoints,
    refuses_with_the_spec_status_codes,
    a_split_view_is_refused_and_kept_as_evidence,
    concurrent_requests_serialise,
    a_restart_keeps_state,
);
