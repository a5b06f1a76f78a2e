//! Where attachment files live: an object store (`object_store`), the local filesystem under
//! `DIR/attachments` by default, any directory or S3-compatible bucket when configured. Files
//! are content-addressed: the key is `<prefix>/<sha256>`, so writing the same file twice is
//! harmless and processes sharing the store see each other's files.
//!
//! An upload streams into a multipart upload under `<prefix>/incoming/<uuid>` while its
//! SHA-256 is computed (at most a few parts in memory), then is renamed to its content
//! address. A refused or failed upload is aborted and leaves nothing behind, except after a
//! crash: then a local staging file (`incoming/<uuid>#<n>`) or an incomplete S3 multipart
//! upload may remain (a bucket lifecycle rule that aborts incomplete uploads clears those).

use std::path::Path as FsPath;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, WriteMultipart};
use tokio_stream::{Stream, StreamExt};
use url::Url;

use crate::error::AppError;

/// Size of each part of a multipart upload: S3's smallest part size (except the last).
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one upload buffered or in flight at once, so an upload holds at most about
/// `(PARTS_IN_FLIGHT + 1) * PART_BYTES` in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// Where uploads are staged before they are renamed to their content address.
const INCOMING: &str = "incoming";

/// Where attachments are stored.
#[derive(Clone, Debug, Default)]
pub struct AttachmentsConfig {
    /// `s3://bucket/prefix` for an S3-compatible bucket, or `file:///path` for a directory
    /// (e.g. one shared by several processes); `None` for `DIR/attachments`.
    pub url: Option<String>,
    /// The S3-compatible endpoint, e.g. `http://127.0.0.1:9000` (plain `http://` is allowed);
    /// `None` for the `AWS_ENDPOINT_URL` environment variable, or AWS itself.
    pub s3_endpoint: Option<String>,
    /// S3 settings applied over those read from the `AWS_*` environment variables
    /// (credentials, region, …). The CLI reads the environment only; tests use this to hand
    /// their local S3 server's credentials to an in-process server.
    pub s3_settings: Vec<(AmazonS3ConfigKey, String)>,
}

/// The content of a stored file, as a stream of chunks.
pub type Content = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, object_store::Error>> + Send>>;

/// A content-addressed file store for attachments; cheap to clone.
#[derive(Clone, Debug)]
pub struct AttachmentStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

/// A file written to its content address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// SHA-256 of the content, lowercase hex: the key under the store's prefix.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why an upload was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body went past the size limit (in bytes); nothing was kept.
    #[error("the file is larger than the {0}-byte limit")]
    TooLarge(u64),
    /// The body was empty.
    #[error("the file is empty")]
    Empty,
    /// The client's body stream failed (a dropped connection, a timeout).
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The object store failed.
    #[error("attachment storage failed: {0}")]
    Storage(#[from] object_store::Error),
}

impl From<PutError> for AppError {
    fn from(err: PutError) -> Self {
        match err {
            PutError::Storage(err) => AppError::Internal(err.into()),
            refused => AppError::bad_input(refused.to_string()),
        }
    }
}

impl AttachmentStore {
    /// Opens the store `config` names, or `data_dir/attachments` when it names none.
    pub fn open(config: &AttachmentsConfig, data_dir: &FsPath) -> anyhow::Result<Self> {
        let Some(raw) = &config.url else {
            return Self::local(&data_dir.join("attachments"));
        };
        let url =
            Url::parse(raw).with_context(|| format!("the attachments URL {raw:?} is not a URL"))?;
        match ObjectStoreScheme::parse(&url) {
            Ok((ObjectStoreScheme::Local, _)) => {
                let dir = url.to_file_path().map_err(|()| {
                    anyhow::anyhow!("the attachments URL {raw:?} is not a local path")
                })?;
                Self::local(&dir)
            }
            Ok((ObjectStoreScheme::AmazonS3, prefix)) => Self::s3(&url, prefix, config),
            _ => anyhow::bail!(
                "the attachments URL {raw:?} is neither s3://bucket/prefix nor file:///directory"
            ),
        }
    }

    /// Files in `dir` (created if needed), synced to disk before a write returns.
    fn local(dir: &FsPath) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!("cannot create the attachments directory {}", dir.display())
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("cannot open the attachments directory {}", dir.display()))?
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            prefix: Path::default(),
        })
    }

    /// The bucket of an `s3://` URL, configured from the `AWS_*` environment, then the
    /// endpoint and settings of `config`. An `http://` endpoint (a local server) is allowed.
    fn s3(url: &Url, prefix: Path, config: &AttachmentsConfig) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        for (key, value) in &config.s3_settings {
            builder = builder.with_config(*key, value);
        }
        let plain_http = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .is_some_and(|endpoint| endpoint.starts_with("http://"));
        if plain_http {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .with_context(|| format!("cannot configure the attachments bucket {url}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix,
        })
    }

    /// Where the files go, for logs: the store (directory or bucket) and the prefix.
    pub fn describe(&self) -> String {
        format!("{} prefix {:?}", self.store, self.prefix.as_ref())
    }

    /// The key of the file with this SHA-256.
    fn key(&self, sha256: &str) -> Path {
        self.prefix.clone().join(sha256)
    }

    /// Streams `body` into the store while hashing it, at most `max_bytes`, and moves it to
    /// its content address. On any error nothing is left under `incoming/`.
    pub async fn put<S, E>(&self, mut body: S, max_bytes: u64) -> Result<StoredFile, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let incoming = self
            .prefix
            .clone()
            .join(INCOMING)
            .join(uuid::Uuid::new_v4().to_string());
        let upload = self.store.put_multipart(&incoming).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let stored = match write_hashed(&mut writer, &mut body, max_bytes).await {
            Ok(stored) => stored,
            Err(err) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "cannot abort a refused attachment upload");
                }
                return Err(err);
            }
        };
        writer.finish().await?;
        if let Err(err) = self
            .store
            .rename(&incoming, &self.key(&stored.sha256))
            .await
        {
            if let Err(delete) = self.store.delete(&incoming).await {
                tracing::warn!(error = %delete, "cannot delete a staged attachment");
            }
            return Err(err.into());
        }
        Ok(stored)
    }

    /// The content of the file with this SHA-256, as a stream of chunks.
    pub async fn get(&self, sha256: &str) -> Result<Content, object_store::Error> {
        Ok(self.store.get(&self.key(sha256)).await?.into_stream())
    }
}

/// Copies `body` into `writer`, hashing as it goes and waiting for part uploads so that only
/// a few parts are ever in memory; refuses bodies over `max_bytes` before writing the excess.
async fn write_hashed<S, E>(
    writer: &mut WriteMultipart,
    body: &mut S,
    max_bytes: u64,
) -> Result<StoredFile, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| PutError::Interrupted(err.to_string()))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(PutError::TooLarge(max_bytes));
        }
        digest.update(&chunk);
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(chunk);
    }
    if size == 0 {
        return Err(PutError::Empty);
    }
    Ok(StoredFile {
        sha256: hex::encode(digest.finish()),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&[u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        tokio_stream::iter(
            chunks
                .iter()
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
    }

    /// Every file under `dir`, relative to it, including staged uploads.
    fn files(dir: &FsPath) -> Vec<String> {
        let mut found: Vec<String> = walk(dir)
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        found.sort();
        found
    }

    fn walk(dir: &FsPath) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|e| {
                let path = e.unwrap().path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    vec![path]
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn the_default_store_keeps_files_by_hash_under_the_data_dir() {
        let data = tempfile::tempdir().unwrap();
        let store = AttachmentStore::open(&AttachmentsConfig::default(), data.path()).unwrap();
        let stored = store.put(body(&[b"hello ", b"world"]), 11).await.unwrap();
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, b"hello world"));
        assert_eq!(
            stored,
            StoredFile {
                sha256: sha256.clone(),
                size: 11
            }
        );
        // Today's layout, so files stored before object storage are still found.
        let dir = data.path().join("attachments");
        assert_eq!(files(&dir), [sha256.as_str()]);
        assert_eq!(std::fs::read(dir.join(&sha256)).unwrap(), b"hello world");
        let read: Vec<Bytes> = store
            .get(&sha256)
            .await
            .unwrap()
            .collect::<Result<_, _>>()
            .await
            .unwrap();
        assert_eq!(read.concat(), b"hello world");
        // The same content again is the same file.
        assert_eq!(
            store.put(body(&[b"hello world"]), 11).await.unwrap(),
            stored
        );
        assert_eq!(files(&dir), [sha256]);
    }

    #[tokio::test]
    async fn refused_uploads_leave_nothing_behind() {
        let data = tempfile::tempdir().unwrap();
        let store = AttachmentStore::open(&AttachmentsConfig::default(), data.path()).unwrap();
        let too_big = store.put(body(&[b"12345", b"678"]), 7).await;
        assert!(matches!(too_big, Err(PutError::TooLarge(7))), "{too_big:?}");
        let empty = store.put(body(&[]), 7).await;
        assert!(matches!(empty, Err(PutError::Empty)), "{empty:?}");
        let broken = tokio_stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("connection reset")),
        ]);
        let interrupted = store.put(broken, 7).await;
        assert!(
            matches!(&interrupted, Err(PutError::Interrupted(m)) if m == "connection reset"),
            "{interrupted:?}"
        );
        assert_eq!(
            files(&data.path().join("attachments")),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn a_file_url_names_a_directory() {
        let shared = tempfile::tempdir().unwrap();
        let config = AttachmentsConfig {
            url: Some(Url::from_directory_path(shared.path()).unwrap().to_string()),
            ..AttachmentsConfig::default()
        };
        let store = AttachmentStore::open(&config, FsPath::new("/nonexistent")).unwrap();
        let stored = store.put(body(&[b"x"]), 1).await.unwrap();
        assert_eq!(files(shared.path()), [stored.sha256]);
    }

    #[test]
    fn unsupported_urls_are_refused_with_the_forms_that_work() {
        let data = tempfile::tempdir().unwrap();
        for url in ["gs://bucket/x", "not a url", "https://example.com/bucket"] {
            let config = AttachmentsConfig {
                url: Some(url.to_string()),
                ..AttachmentsConfig::default()
            };
            let err = AttachmentStore::open(&config, data.path()).unwrap_err();
            assert!(format!("{err:#}").contains(url), "{url}: {err:#}");
        }
    }

    #[test]
    fn an_s3_url_names_the_bucket_and_prefix() {
        let data = tempfile::tempdir().unwrap();
        let config = AttachmentsConfig {
            url: Some("s3://trial-files/veritrial/attachments".to_string()),
            s3_endpoint: Some("http://127.0.0.1:9".to_string()),
            s3_settings: vec![(AmazonS3ConfigKey::Region, "eu-west-1".to_string())],
        };
        let store = AttachmentStore::open(&config, data.path()).unwrap();
        assert_eq!(
            store.key("ab").as_ref(),
            "veritrial/attachments/ab",
            "{}",
            store.describe()
        );
        assert!(
            store.describe().contains("trial-files"),
            "{}",
            store.describe()
        );
    }
}
