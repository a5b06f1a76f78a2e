//! Reading a log (or a witness's copy of one) through its tlog-tiles endpoints.

use std::time::Duration;

use anyhow::Context;
use futures::{Stream, StreamExt};
use ledger::tiles::bundle::{BundleItem, encode_bundle};
use ledger::tiles::{TileKind, TilePath, parse_hash_tile};

/// Bundles fetched ahead of the one being checked.
const PREFETCH: usize = 8;

/// An entry bundle as fetched, with the payload bundle of the same entries when asked for.
pub struct Fetched {
    /// The entry bundle's path.
    pub tile: TilePath,
    /// Its bytes.
    pub entries: Vec<u8>,
    /// The bytes of `payloads/…` for the same entries.
    pub payloads: Option<Vec<u8>>,
}

/// A client of one tlog-tiles prefix, e.g. `https://log.example/ledger`: it fetches
/// `<prefix>/checkpoint` and `<prefix>/<tile path>`, sending a bearer token when it has one
/// (bundles need one; hash tiles and the checkpoint do not).
#[derive(Clone, Debug)]
pub struct TileClient {
    http: reqwest::Client,
    prefix: String,
    token: Option<String>,
}

impl TileClient {
    /// A client of `prefix` (a trailing `/` is ignored), with an optional bearer token.
    pub fn new(prefix: &str, token: Option<String>) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build an HTTP client")?;
        Ok(Self {
            http,
            prefix: prefix.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// Whether a token is sent (payloads can only be fetched with one).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The latest checkpoint note, unverified.
    pub async fn checkpoint(&self) -> anyhow::Result<String> {
        let bytes = self.get("checkpoint").await?;
        String::from_utf8(bytes).context("the checkpoint is not UTF-8")
    }

    /// The bytes of `tile`, unverified.
    pub async fn tile(&self, tile: &TilePath) -> anyhow::Result<Vec<u8>> {
        self.get(&tile.to_string()).await
    }

    /// Fetches the entry bundles `tiles` (and their payload bundles when `with_payloads`),
    /// in order, up to [`PREFETCH`] requests ahead of the consumer. Without a token, the
    /// level-0 hash tile of the same entries is fetched instead of each entry bundle.
    pub fn bundles(
        &self,
        tiles: Vec<TilePath>,
        with_payloads: bool,
    ) -> impl Stream<Item = anyhow::Result<Fetched>> + '_ {
        futures::stream::iter(tiles)
            .map(move |tile| async move {
                let entries = if self.has_token() {
                    self.tile(&tile).await?
                } else {
                    let leaves = TilePath {
                        kind: TileKind::Hash { level: 0 },
                        ..tile
                    };
                    leaves_as_bundle(&self.tile(&leaves).await?, tile.width)?
                };
                let payloads = if with_payloads {
                    let payload_tile = TilePath {
                        kind: TileKind::Payloads,
                        ..tile
                    };
                    Some(self.tile(&payload_tile).await?)
                } else {
                    None
                };
                Ok(Fetched {
                    tile,
                    entries,
                    payloads,
                })
            })
            .buffered(PREFETCH)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}/{path}", self.prefix);
        let mut request = self.http.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("GET {url} failed"))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!(
                "GET {url}: {status}: {}",
                body.chars().take(300).collect::<String>()
            );
        }
        Ok(response
            .bytes()
            .await
            .with_context(|| format!("GET {url}: the body did not arrive"))?
            .to_vec())
    }
}

/// A level-0 hash tile as a bundle of redacted items: what a reader without a token can
/// check (every leaf, hence the tree and the root) without seeing any entry.
fn leaves_as_bundle(hash_tile: &[u8], width: u64) -> anyhow::Result<Vec<u8>> {
    let leaves = parse_hash_tile(hash_tile, width)?;
    Ok(encode_bundle(
        leaves.iter().map(BundleItem::redacted_bytes),
    )?)
}
