//! A local S3-compatible server for one test: `moto_server` (moto in server mode, from PyPI)
//! on a free port, with an empty bucket.
//!
//! The binary is `VERITRIAL_TEST_MOTO_SERVER`, else `target/moto-venv/bin/moto_server` (where
//! `.ci/run` installs it, see [`INSTALL`]), else `moto_server` on the `PATH`. When it is
//! missing, S3 tests are skipped with a loud message, except under `CI=true`, where they fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use object_store::aws::AmazonS3ConfigKey;
use veritrial::services::attachments::AttachmentsConfig;

/// How to install moto where the harness looks first (run from the repository root).
pub const INSTALL: &str =
    "python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]'";

/// The prefix under which test servers store attachments in the bucket.
pub const PREFIX: &str = "attachments";

/// A running `moto_server` with one bucket; stopped when dropped.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
    http: reqwest::Client,
}

impl MotoServer {
    /// Starts moto and creates a bucket, or returns `None` (outside CI) when moto is missing.
    pub async fn start() -> Option<Self> {
        let Some(binary) = find_binary() else {
            let message = format!(
                "moto_server (a local S3 server) is not installed; install it with: {INSTALL}"
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but {message}");
            }
            eprintln!("SKIPPED (S3 leg): {message}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: format!("vt-{}", uuid::Uuid::new_v4().simple()),
            http: super::http_client(),
        };
        server.wait_until_up().await;
        // moto accepts unsigned requests: create the bucket with a plain PUT.
        let created = server
            .http
            .put(format!("{}/{}", server.endpoint, server.bucket))
            .send()
            .await
            .expect("moto answers");
        assert!(created.status().is_success(), "cannot create the bucket");
        Some(server)
    }

    async fn wait_until_up(&mut self) {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("moto's status") {
                panic!("moto_server exited at start ({status})");
            }
            if self.http.get(&self.endpoint).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not answer within 30 s");
    }

    /// Attachment storage in this server's bucket, with its (fake) credentials.
    pub fn attachments_config(&self) -> AttachmentsConfig {
        self.attachments_config_for(&self.bucket)
    }

    /// Attachment storage in `bucket` on this server (which may not exist).
    pub fn attachments_config_for(&self, bucket: &str) -> AttachmentsConfig {
        AttachmentsConfig {
            url: Some(format!("s3://{bucket}/{PREFIX}")),
            s3_endpoint: Some(self.endpoint.clone()),
            s3_settings: vec![
                (AmazonS3ConfigKey::AccessKeyId, "testing".to_string()),
                (AmazonS3ConfigKey::SecretAccessKey, "testing".to_string()),
                (AmazonS3ConfigKey::Region, "us-east-1".to_string()),
            ],
        }
    }

    /// Every object in the bucket under [`PREFIX`] (key without the prefix, size), and every
    /// multipart upload still open (as `upload:<key>`, size 0).
    pub async fn contents(&self) -> Vec<(String, u64)> {
        let objects = self.list("list-type=2").await;
        let uploads = self.list("uploads").await;
        let mut found: Vec<(String, u64)> = elements(&objects, "Contents")
            .into_iter()
            .map(|object| {
                let key = element(object, "Key");
                let size = element(object, "Size").parse().expect("a size");
                (unprefixed(key), size)
            })
            .collect();
        found.extend(
            elements(&uploads, "Upload")
                .into_iter()
                .map(|upload| (format!("upload:{}", unprefixed(element(upload, "Key"))), 0)),
        );
        found.sort();
        found
    }

    async fn list(&self, query: &str) -> String {
        self.http
            .get(format!("{}/{}?{query}", self.endpoint, self.bucket))
            .send()
            .await
            .expect("moto answers")
            .text()
            .await
            .expect("a listing")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("VERITRIAL_TEST_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    })
}

/// The bodies of the `<name>` elements of an S3 XML listing.
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(body, _)| body))
        .collect()
}

/// The body of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    elements(xml, name)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
}

fn unprefixed(key: &str) -> String {
    key.strip_prefix(PREFIX)
        .and_then(|k| k.strip_prefix('/'))
        .unwrap_or(key)
        .to_string()
}
