//! Attachments: streamed uploads with flat memory, content addressing, ledgering, access.

mod common;

use common::{Backend, TestServer};
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

async fn large_uploads_stream_with_flat_memory(backend: Backend) {
    let Some(server) = TestServer::spawn_process(backend).await else {
        return;
    };
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
    let on_disk = std::fs::metadata(server.data_dir().join("attachments").join(&expected)).unwrap();
    assert_eq!(on_disk.len(), chunks * CHUNK as u64);
}

async fn attachments_are_ledgered_and_guarded(backend: Backend) {
    let limits = HttpLimits {
        max_upload_bytes: 64 * 1024,
        ..HttpLimits::default()
    };
    let Some(server) = TestServer::start_with(backend, limits).await else {
        return;
    };
    let (site, submission) = common::site_with_submission(&server).await;
    server.org("Elsewhere", OrgKind::Site).await;
    let foreign = server
        .user("crc@elsewhere.org", "Elsewhere", Role::Site)
        .await;
    server.org("Board", OrgKind::Ethics).await;
    let ethics = server.user("irb@board.org", "Board", Role::Ethics).await;
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
    let incoming = std::fs::read_dir(server.data_dir().join("attachments/incoming"))
        .unwrap()
        .count();
    assert_eq!(incoming, 0, "a refused upload left a partial file behind");

    let created = post(&site, "consent.pdf", file.clone()).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        created["sha256"],
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &file))
    );

    let listed = server
        .ok(
            Some(&ethics),
            "query($s: ID!) { attachments(submissionId: $s) { id fileName sha256 ledgerSeq } }",
            json!({ "s": submission }),
        )
        .await;
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
        1
    );
}

on_both_databases!(
    large_uploads_stream_with_flat_memory,
    attachments_are_ledgered_and_guarded
);
