//! The data directory: the SQLite file, the index, attachments and (by default) the keys,
//! kept owner-only.

use std::fs;
use std::os::unix::fs::PermissionsExt;
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
    fn a_new_data_directory_is_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(&tmp.path().join("data")).unwrap();
        let mode = fs::metadata(dir.root()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
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
