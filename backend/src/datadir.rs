//! The data directory: the SQLite file, the index, attachments and keys, kept owner-only.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A data directory that exists and is writable.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the directory (owner-only) if needed and checks that it is writable.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        if !root.exists() {
            fs::create_dir_all(root)
                .with_context(|| format!("cannot create the data directory {}", root.display()))?;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict permissions of {}", root.display()))?;
        }
        anyhow::ensure!(
            root.is_dir(),
            "the data directory {} is not a directory",
            root.display()
        );
        let probe = root.join(".write-probe");
        fs::write(&probe, b"probe")
            .and_then(|()| fs::remove_file(&probe))
            .with_context(|| format!("the data directory {} is not writable", root.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded SQLite database file.
    pub fn sqlite_path(&self) -> PathBuf {
        self.root.join("veritrial.db")
    }

    /// Reads the secret file `name` under `keys/`, or creates it with `generate()` and
    /// owner-only permissions (0600) when it does not exist yet.
    pub fn load_or_create_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<Vec<u8>> {
        let dir = self.root.join("keys");
        fs::create_dir_all(&dir)
            .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)))
            .with_context(|| format!("cannot create the key directory {}", dir.display()))?;
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let bytes = generate()?;
                write_owner_only(&path, &bytes)?;
                tracing::info!(path = %path.display(), "generated a new secret");
                Ok(bytes)
            }
            Err(err) => {
                Err(err).with_context(|| format!("cannot read the secret {}", path.display()))
            }
        }
    }
}

/// Writes a new file readable and writable by its owner only; never overwrites.
fn write_owner_only(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// 32 fresh random bytes from the operating system's generator.
pub fn random_secret() -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_and_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(&tmp.path().join("data")).unwrap();
        let first = dir
            .load_or_create_secret("jwt.secret", random_secret)
            .unwrap();
        let again = dir
            .load_or_create_secret("jwt.secret", || panic!("must not regenerate"))
            .unwrap();
        assert_eq!(first, again);
        let mode = fs::metadata(dir.root().join("keys/jwt.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(dir.root()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn a_file_is_not_a_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        fs::write(&file, b"x").unwrap();
        let err = DataDir::open(&file).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }
}
