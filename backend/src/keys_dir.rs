//! The key directory: every secret a `veritrial serve` process needs (the ledger's Ed25519
//! key, the per-site pseudonym keys, the JWT secret, the cohort-noise key), one file each,
//! owner-only. Several processes behind a load balancer name the same directory
//! (`--keys-dir`), so they sign, pseudonymise and add noise with the same keys.
//!
//! A key is created by the first process that needs it: written to a temporary file in the
//! same directory, flushed to disk, then published under its final name with a hard link,
//! which fails if the name exists. So processes that start at once on an empty directory all
//! end up with the one key that was published first; none overwrites another's. A key file
//! that is empty or too short is an error naming the file, never silently replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;

use crate::datadir::random_secret;

/// Shortest accepted random secret (JWT, pseudonym, cohort noise), in bytes.
const RANDOM_SECRET_LEN: usize = 32;

/// What a key file holds, how a fresh one is made and how a stored one is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretFormat {
    /// At least 32 random bytes (generated as exactly 32 by [`random_secret`]).
    Random32,
    /// An Ed25519 private key as a PKCS#8 document.
    Ed25519Pkcs8,
}

impl SecretFormat {
    /// Fresh key material from the operating system's generator.
    pub fn generate(self) -> anyhow::Result<Vec<u8>> {
        match self {
            SecretFormat::Random32 => random_secret(),
            SecretFormat::Ed25519Pkcs8 => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map(|doc| doc.as_ref().to_vec())
                .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed")),
        }
    }

    /// Why `bytes` cannot be a key of this format, if they cannot.
    fn problem(self, bytes: &[u8]) -> Option<String> {
        if bytes.is_empty() {
            return Some("it is empty".to_string());
        }
        match self {
            SecretFormat::Random32 if bytes.len() < RANDOM_SECRET_LEN => Some(format!(
                "it holds {} bytes, fewer than the {RANDOM_SECRET_LEN} a secret needs (truncated?)",
                bytes.len()
            )),
            SecretFormat::Random32 => None,
            SecretFormat::Ed25519Pkcs8 => Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes)
                .err()
                .map(|err| {
                    format!(
                        "its {} bytes are not an Ed25519 PKCS#8 key (truncated?): {err}",
                        bytes.len()
                    )
                }),
        }
    }
}

/// A key directory that exists, owner-only.
#[derive(Clone, Debug)]
pub struct KeysDir {
    root: PathBuf,
}

impl KeysDir {
    /// Creates the directory (mode 0700) if needed.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        if !root.exists() {
            fs::create_dir_all(root)
                .and_then(|()| fs::set_permissions(root, fs::Permissions::from_mode(0o700)))
                .with_context(|| format!("cannot create the key directory {}", root.display()))?;
        }
        anyhow::ensure!(
            root.is_dir(),
            "the key directory {} is not a directory",
            root.display()
        );
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the key file `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Reads the key `name` and checks its format; `None` when there is no such file.
    pub fn load(&self, name: &str, format: SecretFormat) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.path(name);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read the key {}", path.display()));
            }
        };
        if let Some(problem) = format.problem(&bytes) {
            anyhow::bail!(
                "the key file {} cannot be used: {problem}; restore it from a backup \
                 (replacing it would change every pseudonym, token or signature made with it)",
                path.display()
            );
        }
        Ok(Some(bytes))
    }

    /// Reads the key `name`, or creates it when there is none. When several processes or
    /// threads create the same key at once, all of them get the one published first.
    pub fn load_or_create(&self, name: &str, format: SecretFormat) -> anyhow::Result<Vec<u8>> {
        if let Some(bytes) = self.load(name, format)? {
            return Ok(bytes);
        }
        if self.publish(name, &format.generate()?)? {
            tracing::info!(path = %self.path(name).display(), "generated a new key");
        }
        self.load(name, format)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the key {} vanished while it was created",
                self.path(name).display()
            )
        })
    }

    /// Publishes `bytes` as the new key file `name` (mode 0600), atomically: a reader sees no
    /// file or the complete one. Returns `false`, writing nothing, if `name` already exists.
    pub fn publish(&self, name: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        let target = self.path(name);
        let tmp = self.write_temporary(name, bytes)?;
        let linked = fs::hard_link(&tmp, &target);
        let removed = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::AlreadyExists => return Ok(false),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot publish {}", target.display()));
            }
        }
        removed.with_context(|| format!("cannot remove {}", tmp.display()))?;
        self.sync()?;
        Ok(true)
    }

    /// Replaces the key `name` by the key file `next` (which disappears), keeping the old
    /// key as `retired` (which must not exist). `name` never goes missing meanwhile: the old
    /// key is hard-linked to `retired` first, then `next` is renamed over `name`.
    pub fn replace(&self, name: &str, next: &str, retired: &str) -> anyhow::Result<()> {
        let (current, next, retired) = (self.path(name), self.path(next), self.path(retired));
        fs::hard_link(&current, &retired).with_context(|| {
            format!("cannot keep {} as {}", current.display(), retired.display())
        })?;
        fs::rename(&next, &current)
            .with_context(|| format!("cannot move {} to {}", next.display(), current.display()))?;
        self.sync()
    }

    /// The names of the files in the directory that end with `suffix`, sorted.
    pub fn names_ending_with(&self, suffix: &str) -> anyhow::Result<Vec<String>> {
        let entries = fs::read_dir(&self.root)
            .with_context(|| format!("cannot list the key directory {}", self.root.display()))?;
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(suffix) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Writes `bytes` to a fresh, uniquely named, owner-only file in the directory and
    /// flushes it to disk.
    fn write_temporary(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let mut nonce = [0u8; 8];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let tmp = self.path(&format!(".{name}.{}.tmp", hex::encode(nonce)));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(tmp)
    }

    /// Flushes the directory itself, so a published name survives a crash.
    fn sync(&self) -> anyhow::Result<()> {
        File::open(&self.root)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("cannot flush the key directory {}", self.root.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    fn keys() -> (tempfile::TempDir, KeysDir) {
        let tmp = tempfile::tempdir().unwrap();
        let keys = KeysDir::open(&tmp.path().join("keys")).unwrap();
        (tmp, keys)
    }

    #[test]
    fn keys_are_created_once_and_owner_only() {
        let (_tmp, keys) = keys();
        let first = keys
            .load_or_create("jwt.secret", SecretFormat::Random32)
            .unwrap();
        assert_eq!(first.len(), 32);
        let again = keys
            .load_or_create("jwt.secret", SecretFormat::Random32)
            .unwrap();
        assert_eq!(first, again);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys.path("jwt.secret")), 0o600);
        assert_eq!(mode(keys.root()), 0o700);
        assert_eq!(
            fs::read_dir(keys.root()).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
    }

    #[test]
    fn racing_creators_all_get_the_one_published_key() {
        let rounds = [SecretFormat::Random32, SecretFormat::Ed25519Pkcs8].repeat(10);
        for format in rounds {
            let (_tmp, keys) = keys();
            let threads = 16;
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (keys, barrier) = (keys.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        keys.load_or_create("shared.key", format).unwrap()
                    })
                })
                .collect();
            let got: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(got.iter().all(|key| *key == got[0]), "{format:?}");
            assert_eq!(fs::read(keys.path("shared.key")).unwrap(), got[0]);
            assert_eq!(fs::read_dir(keys.root()).unwrap().count(), 1);
        }
    }

    #[test]
    fn an_empty_or_truncated_key_is_an_error_naming_the_file() {
        let (_tmp, keys) = keys();
        let pkcs8 = SecretFormat::Ed25519Pkcs8.generate().unwrap();
        let cases = [
            ("empty.secret", Vec::new(), SecretFormat::Random32, "empty"),
            (
                "short.secret",
                vec![7u8; 31],
                SecretFormat::Random32,
                "31 bytes",
            ),
            ("empty.pk8", Vec::new(), SecretFormat::Ed25519Pkcs8, "empty"),
            (
                "cut.pk8",
                pkcs8[..pkcs8.len() - 1].to_vec(),
                SecretFormat::Ed25519Pkcs8,
                "not an Ed25519 PKCS#8 key",
            ),
        ];
        for (name, bytes, format, why) in cases {
            fs::write(keys.path(name), &bytes).unwrap();
            let err = keys.load_or_create(name, format).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(why), "{err}");
            assert_eq!(fs::read(keys.path(name)).unwrap(), bytes, "left as it was");
        }
    }

    #[test]
    fn publishing_never_overwrites_and_replacing_keeps_the_old_key() {
        let (_tmp, keys) = keys();
        assert!(keys.publish("k", b"first").unwrap());
        assert!(!keys.publish("k", b"second").unwrap());
        assert_eq!(fs::read(keys.path("k")).unwrap(), b"first");
        assert!(keys.publish("k.next", b"second").unwrap());
        keys.replace("k", "k.next", "k.1.retired").unwrap();
        assert_eq!(fs::read(keys.path("k")).unwrap(), b"second");
        assert_eq!(fs::read(keys.path("k.1.retired")).unwrap(), b"first");
        assert!(!keys.path("k.next").exists());
        assert_eq!(keys.names_ending_with(".retired").unwrap(), ["k.1.retired"]);
    }
}
