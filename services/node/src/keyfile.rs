//! Key files in Lotus's export format (hex of `{"Type":"bls","PrivateKey":"<base64>"}`, as
//! `pre-seal-<id>.key` and `lotus wallet export` write them) and the node's keystore: one
//! such file per address under `<repo>/keystore/`, readable by the owner only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use venus_types::Address;
use venus_types::crypto::{KeyInfo, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {reason}")]
    File { path: String, reason: String },
}

fn file_err(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub fn read_key_file(path: &Path) -> Result<PrivateKey, KeyError> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_err(path, e))?);
    let info = KeyInfo::from_lotus_export(&text).map_err(|e| file_err(path, e))?;
    PrivateKey::from_key_info(&info).map_err(|e| file_err(path, e))
}

pub fn write_key_file(path: &Path, key: &PrivateKey) -> Result<(), KeyError> {
    let text = key.to_key_info().to_lotus_export();
    crate::repo::write_atomic(path, text.as_bytes()).map_err(|e| file_err(path, e))?;
    crate::repo::restrict_permissions(path, 0o600).map_err(|e| file_err(path, e))
}

/// The node's own keys (`MinerCreateBlock` signs with the worker key when it is here).
pub struct Keystore {
    dir: PathBuf,
    keys: HashMap<Address, PrivateKey>,
}

impl Keystore {
    /// Load every key file in `dir`; unreadable files are reported, not fatal.
    pub fn open(dir: &Path) -> Keystore {
        let mut keys = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                match read_key_file(&path) {
                    Ok(k) => {
                        keys.insert(k.address(), k);
                    }
                    Err(e) => tracing::warn!(error = %e, "skipping keystore entry"),
                }
            }
        }
        Keystore {
            dir: dir.to_path_buf(),
            keys,
        }
    }

    /// Import a key; returns its address.
    pub fn import(&mut self, key: PrivateKey) -> Result<Address, KeyError> {
        let addr = key.address();
        write_key_file(&self.dir.join(addr.to_string()), &key)?;
        self.keys.insert(addr, key);
        Ok(addr)
    }

    pub fn get(&self, addr: &Address) -> Option<&PrivateKey> {
        self.keys.get(addr)
    }

    pub fn addresses(&self) -> Vec<Address> {
        self.keys.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venus_types::crypto::KeyType;

    #[test]
    fn keys_round_trip_through_files_and_the_keystore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = PrivateKey::generate(KeyType::Bls, &mut rand::thread_rng()).expect("key");
        let file = dir.path().join("k.key");
        write_key_file(&file, &key).expect("write");
        let text = std::fs::read_to_string(&file).expect("read");
        let json = String::from_utf8(hex::decode(text.trim()).expect("hex")).expect("utf8");
        assert!(
            json.starts_with(r#"{"Type":"bls","PrivateKey":""#),
            "{json}"
        );
        assert_eq!(read_key_file(&file).expect("read").address(), key.address());
        std::fs::write(&file, "zz").expect("write");
        assert!(
            read_key_file(&file)
                .expect_err("must fail")
                .to_string()
                .contains("k.key")
        );

        let ks_dir = dir.path().join("keystore");
        std::fs::create_dir(&ks_dir).expect("mkdir");
        let mut ks = Keystore::open(&ks_dir);
        let addr = ks.import(key.clone()).expect("import");
        let again = Keystore::open(&ks_dir);
        assert!(again.get(&addr).is_some());
        assert_eq!(again.addresses(), vec![addr]);
    }
}
