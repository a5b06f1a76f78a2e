//! Attachments: streamed uploads with flat memory, content addressing, ledgering, access,
//! storage shared by servers; each on the local filesystem and on S3 (a local moto server).

mod common;

use common::{Backend, Storage, TestServer, TestStore};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;

/// Deterministic pseudo-random bytes, generated chunk by chunk (never held whole).
fn chunk(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const CHUNK: usize = 1 << 20;

fn upload_url(server: &TestServer, submission: &str, name: &str) -> String {
    server.url(&format!(
        "/attachments?submissionId={submission}&fileName={name}"
    ))
}

async fn large_uploads_stream_with_flat_memory(backend: Backend, storage: Storage) {
    let Some(store) = TestStore::with_storage(backend, storage).await else {
        return;
    };
    let server = TestServer::spawn_process_on(store, &[]).await;
    let (site, submission) = common::site_with_submission(&server).await;
    let chunks = 384u64; // 384 MiB
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for i in 0..chunks {
        digest.update(&chunk(i, CHUNK));
    }
    let expected = hex::encode(digest.finish());
    let before = server.process_peak_rss_kib().unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream::iter(
        (0..chunks).map(|i| Ok::<_, std::io::Error>(chunk(i, CHUNK))),
    ));
    let response = server
        .http
        .post(upload_url(&server, &submission, "scan.bin"))
        .bearer_auth(&site)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["sha256"], expected);
    assert_eq!(stored["sizeBytes"], chunks * CHUNK as u64);
    let after = server.process_peak_rss_kib().unwrap();
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "the server's peak memory grew by {grown_mib} MiB for a 384 MiB upload"
    );
    assert_eq!(
        server.store.stored_attachments().await,
        [(expected, chunks * CHUNK as u64)]
    );
}

async fn attachments_are_ledgered_and_guarded(backend: Backend, storage: Storage) {
    let limits = HttpLimits {
        max_upload_bytes: 64 * 1024,
        ..HttpLimits::default()
    };
    let Some(server) = TestServer::start_with_storage(backend, storage, limits).await else {
        return;
    };
    let (site, submission) = common::site_with_submission(&server).await;
    server.org("Elsewhere", OrgKind::Site).await;
    let foreign = server
        .user("crc@elsewhere.org", "Elsewhere", Role::Site)
        .await;
    // The trial's own board (tests/common: `site_with_submission`).
    let ethics = server.login("board@irb.test").await;
    let file = b"%PDF-1.7 consent form scan".to_vec();

    let post = |token: &str, name: &str, body: Vec<u8>| {
        server
            .http
            .post(upload_url(&server, &submission, name))
            .bearer_auth(token)
            .header("content-type", "application/pdf")
            .body(body)
            .send()
    };
    assert_eq!(
        post(&foreign, "a.pdf", file.clone())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post(&ethics, "a.pdf", file.clone()).await.unwrap().status(),
        403
    );
    assert_eq!(
        post(&site, "../a.pdf", file.clone())
            .await
            .unwrap()
            .status(),
        400
    );
    let too_big = post(&site, "big.bin", vec![7; 65 * 1024]).await.unwrap();
    assert_eq!(too_big.status(), 400);
    assert_eq!(
        post(&site, "empty.pdf", Vec::new()).await.unwrap().status(),
        400
    );
    assert_eq!(
        server.store.stored_attachments().await,
        [],
        "a refused upload left a file behind"
    );

    let created = post(&site, "consent.pdf", file.clone()).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &file));
    assert_eq!(created["sha256"], sha256);
    // The same content again is a second attachment of the same stored file.
    let again = post(&site, "consent-copy.pdf", file.clone()).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(
        server.store.stored_attachments().await,
        [(sha256, file.len() as u64)]
    );

    let listed = server
        .ok(
            Some(&ethics),
            "query($s: ID!) { attachments(submissionId: $s) { id fileName sha256 ledgerSeq } }",
            json!({ "s": submission }),
        )
        .await;
    assert_eq!(listed["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(listed["attachments"][0]["fileName"], "consent.pdf");
    assert_eq!(listed["attachments"][0]["ledgerSeq"], created["ledgerSeq"]);
    let download = server
        .http
        .get(server.url(&format!("/attachments/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&site)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), file);
    let foreign_download = server
        .http
        .get(server.url(&format!("/attachments/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_download.status(), 404);

    let entries = server
        .ok(
            Some(&ethics),
            "{ ledgerEntries(first: 100) { kind } verifyLedger { ok } }",
            json!({}),
        )
        .await;
    assert_eq!(entries["verifyLedger"]["ok"], true);
    let kinds: Vec<&str> = entries["ledgerEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "attachment.added").count(),
        2
    );
}

/// Two servers behind a load balancer: a file uploaded through one downloads through the
/// other, whose data directory holds no attachments of its own.
async fn servers_share_attachment_storage(backend: Backend, storage: Storage) {
    let Some(a) = TestServer::start_with_storage(backend, storage, HttpLimits::default()).await
    else {
        return;
    };
    let b = a.second_on_same_database().await;
    let (site, submission) = common::site_with_submission(&a).await;
    let file: Vec<u8> = (0..3u64).flat_map(|i| chunk(i, CHUNK)).collect();
    let created = a
        .http
        .post(upload_url(&a, &submission, "scan.dcm"))
        .bearer_auth(&site)
        .header("content-type", "application/dicom")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let download = b
        .http
        .get(b.url(&format!("/attachments/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&site)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/dicom");
    assert!(download.bytes().await.unwrap().to_vec() == file);
    assert!(!b.data_dir().join("attachments").exists());
}

/// When the storage fails, the upload is refused with INTERNAL before anything is recorded:
/// no attachment row, no ledger entry.
async fn a_storage_failure_records_nothing(backend: Backend) {
    let Some(mut store) = TestStore::with_storage(backend, Storage::S3).await else {
        return;
    };
    let s3 = store.s3.as_ref().expect("an S3 server");
    store.attachments = s3.attachments_config_for("no-such-bucket");
    let server = TestServer::start_on(store, HttpLimits::default()).await;
    let (site, submission) = common::site_with_submission(&server).await;
    let response = server
        .http
        .post(upload_url(&server, &submission, "scan.pdf"))
        .bearer_auth(&site)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.7".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL");
    // The trial's own board (tests/common: `site_with_submission`).
    let ethics = server.login("board@irb.test").await;
    let seen = server
        .ok(
            Some(&ethics),
            "query($s: ID!) { attachments(submissionId: $s) { id } ledgerEntries(first: 100) { kind } }",
            json!({ "s": submission }),
        )
        .await;
    assert_eq!(seen["attachments"], json!([]));
    assert!(
        !seen["ledgerEntries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "attachment.added")
    );
}

async fn large_uploads_stream_with_flat_memory_on_disk(backend: Backend) {
    large_uploads_stream_with_flat_memory(backend, Storage::Local).await;
}

async fn large_uploads_stream_with_flat_memory_on_s3(backend: Backend) {
    large_uploads_stream_with_flat_memory(backend, Storage::S3).await;
}

async fn attachments_are_ledgered_and_guarded_on_disk(backend: Backend) {
    attachments_are_ledgered_and_guarded(backend, Storage::Local).await;
}

async fn attachments_are_ledgered_and_guarded_on_s3(backend: Backend) {
    attachments_are_ledgered_and_guarded(backend, Storage::S3).await;
}

async fn servers_share_attachment_storage_on_disk(backend: Backend) {
    servers_share_attachment_storage(backend, Storage::Local).await;
}

async fn servers_share_attachment_storage_on_s3(backend: Backend) {
    servers_share_attachment_storage(backend, Storage::S3).await;
}

on_both_databases!(
    large_uploads_stream_with_flat_memory_on_disk,
    large_uploads_stream_with_flat_memory_on_s3,
    attachments_are_ledgered_and_guarded_on_disk,
    attachments_are_ledgered_and_guarded_on_s3,
    servers_share_attachment_storage_on_disk,
    servers_share_attachment_storage_on_s3,
    a_storage_failure_records_nothing,
);
