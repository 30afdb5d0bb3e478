//! The encrypted key store: one file per key under `<repo>/keystore/`, sealed with
//! XChaCha20-Poly1305 under a key derived from the wallet password with scrypt.
//!
//! Layout:
//! - `keystore/meta.json` — scrypt parameters, salt and a sealed check value, written when the
//!   password is first set; a wrong password fails to open the check value.
//! - `keystore/<address>.key` — `{address, type, nonce, ciphertext}`; the address is the AEAD's
//!   associated data, so a key file renamed or copied under another address does not open.
//!
//! Unlocked, the store holds the derived key (zeroised on lock/drop) and a cache of opened
//! keys; locked, it holds neither and every operation needing a secret fails with `Locked`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use parking_lot::RwLock;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT_VERSION: u32 = 1;
const CHECK_PLAINTEXT: &[u8] = b"venus-wallet keystore v1";
const CHECK_AAD: &[u8] = b"venus-wallet password check";

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("wallet locked: unlock it with `venus-wallet unlock` first")]
    Locked,
    #[error("no password set: set one with `venus-wallet set-password` first")]
    NoPassword,
    #[error("a password is already set; use `unlock`")]
    PasswordAlreadySet,
    #[error("wrong password")]
    WrongPassword,
    #[error("key {0} not found")]
    NotFound(String),
    #[error("key {0} exists already")]
    Exists(String),
    #[error("key file {path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid scrypt parameters: {0}")]
    Params(String),
    #[error("keystore I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeystoreError + '_ {
    move |source| KeystoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// scrypt cost. The defaults match venus-wallet's (N = 2^18, r = 8, p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            log_n: 18,
            r: 8,
            p: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(with = "hex_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    version: u32,
    kdf: KdfParams,
    #[serde(with = "hex_bytes")]
    salt: Vec<u8>,
    check: Sealed,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    address: String,
    #[serde(rename = "type")]
    key_type: String,
    #[serde(flatten)]
    sealed: Sealed,
}

/// A decrypted key: its type name (`secp256k1`, `bls`, …) and private key bytes.
#[derive(Clone)]
pub struct SecretKey {
    pub key_type: String,
    pub private_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

struct Unlocked {
    cipher_key: Zeroizing<[u8; 32]>,
    cache: BTreeMap<String, SecretKey>,
}

pub struct Keystore {
    dir: PathBuf,
    kdf: KdfParams,
    state: RwLock<Option<Unlocked>>,
}

impl Keystore {
    /// Open (creating the directory if needed) the store in `dir`. `kdf` is used when the
    /// password is first set; an existing store keeps its own parameters.
    pub fn open(dir: impl Into<PathBuf>, kdf: KdfParams) -> Result<Self, KeystoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        restrict_dir(&dir)?;
        Ok(Self {
            dir,
            kdf,
            state: RwLock::new(None),
        })
    }

    fn meta_path(&self) -> PathBuf {
        self.dir.join("meta.json")
    }

    fn key_path(&self, address: &str) -> PathBuf {
        self.dir.join(format!("{address}.key"))
    }

    pub fn has_password(&self) -> bool {
        self.meta_path().exists()
    }

    pub fn is_unlocked(&self) -> bool {
        self.state.read().is_some()
    }

    /// Set the password of a store that has none, and unlock it.
    pub fn set_password(&self, password: &str) -> Result<(), KeystoreError> {
        if self.has_password() {
            return Err(KeystoreError::PasswordAlreadySet);
        }
        let mut salt = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut salt);
        let key = derive(password, &salt, self.kdf)?;
        let check = seal(&key, CHECK_PLAINTEXT, CHECK_AAD);
        let meta = Meta {
            version: FORMAT_VERSION,
            kdf: self.kdf,
            salt,
            check,
        };
        write_private(&self.meta_path(), &to_json(&meta))?;
        *self.state.write() = Some(Unlocked {
            cipher_key: key,
            cache: BTreeMap::new(),
        });
        Ok(())
    }

    /// Unlock with the password; fails on a wrong one and leaves the store locked.
    pub fn unlock(&self, password: &str) -> Result<(), KeystoreError> {
        let path = self.meta_path();
        if !path.exists() {
            return Err(KeystoreError::NoPassword);
        }
        let meta: Meta = read_json(&path)?;
        let key = derive(password, &meta.salt, meta.kdf)?;
        open(&key, &meta.check, CHECK_AAD).map_err(|_| KeystoreError::WrongPassword)?;
        *self.state.write() = Some(Unlocked {
            cipher_key: key,
            cache: BTreeMap::new(),
        });
        Ok(())
    }

    /// Check a password without changing the lock state.
    pub fn verify_password(&self, password: &str) -> Result<(), KeystoreError> {
        let meta: Meta = read_json(&self.meta_path()).map_err(|e| match e {
            KeystoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                KeystoreError::NoPassword
            }
            e => e,
        })?;
        let key = derive(password, &meta.salt, meta.kdf)?;
        open(&key, &meta.check, CHECK_AAD)
            .map(drop)
            .map_err(|_| KeystoreError::WrongPassword)
    }

    /// Forget the derived key and every opened key.
    pub fn lock(&self) {
        // Dropping `Unlocked` zeroises the key and the cached secrets.
        *self.state.write() = None;
    }

    /// Addresses in the store (no password needed).
    pub fn list(&self) -> Result<Vec<String>, KeystoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            if let Some(addr) = name.to_str().and_then(|n| n.strip_suffix(".key")) {
                out.push(addr.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    pub fn has(&self, address: &str) -> bool {
        valid_name(address) && self.key_path(address).exists()
    }

    /// Seal and store a new key under `address`.
    pub fn insert(&self, address: &str, key: &SecretKey) -> Result<(), KeystoreError> {
        if !valid_name(address) {
            return Err(KeystoreError::NotFound(address.to_owned()));
        }
        let mut state = self.state.write();
        let unlocked = state.as_mut().ok_or(KeystoreError::Locked)?;
        let path = self.key_path(address);
        if path.exists() {
            return Err(KeystoreError::Exists(address.to_owned()));
        }
        let sealed = seal(&unlocked.cipher_key, &key.private_key, address.as_bytes());
        let file = KeyFile {
            address: address.to_owned(),
            key_type: key.key_type.clone(),
            sealed,
        };
        write_private(&path, &to_json(&file))?;
        unlocked.cache.insert(address.to_owned(), key.clone());
        Ok(())
    }

    /// The opened key of `address` (cached after first use).
    pub fn get(&self, address: &str) -> Result<SecretKey, KeystoreError> {
        if let Some(k) = self
            .state
            .read()
            .as_ref()
            .ok_or(KeystoreError::Locked)?
            .cache
            .get(address)
        {
            return Ok(k.clone());
        }
        if !self.has(address) {
            return Err(KeystoreError::NotFound(address.to_owned()));
        }
        let path = self.key_path(address);
        let file: KeyFile = read_json(&path)?;
        let mut state = self.state.write();
        let unlocked = state.as_mut().ok_or(KeystoreError::Locked)?;
        let private_key =
            open(&unlocked.cipher_key, &file.sealed, address.as_bytes()).map_err(|_| {
                KeystoreError::Corrupt {
                    path: path.clone(),
                    reason: "does not open under this password and address".into(),
                }
            })?;
        let key = SecretKey {
            key_type: file.key_type,
            private_key,
        };
        unlocked.cache.insert(address.to_owned(), key.clone());
        Ok(key)
    }

    /// Delete a key (needs the store unlocked, as the original).
    pub fn remove(&self, address: &str) -> Result<(), KeystoreError> {
        let mut state = self.state.write();
        let unlocked = state.as_mut().ok_or(KeystoreError::Locked)?;
        if !self.has(address) {
            return Err(KeystoreError::NotFound(address.to_owned()));
        }
        let path = self.key_path(address);
        fs::remove_file(&path).map_err(io_err(&path))?;
        unlocked.cache.remove(address);
        Ok(())
    }
}

/// Addresses are file names: allow only what addresses are made of.
fn valid_name(address: &str) -> bool {
    !address.is_empty()
        && address.len() <= 128
        && address.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn derive(
    password: &str,
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let params = scrypt::Params::new(kdf.log_n, kdf.r, kdf.p, 32)
        .map_err(|e| KeystoreError::Params(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.as_bytes(), salt, &params, key.as_mut_slice())
        .map_err(|e| KeystoreError::Params(e.to_string()))?;
    Ok(key)
}

fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Sealed {
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key));
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    // Encryption into a Vec cannot fail for inputs below the AEAD's 256 GiB limit.
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    Sealed {
        nonce: nonce.to_vec(),
        ciphertext,
    }
}

fn open(key: &[u8; 32], sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    if sealed.nonce.len() != 24 {
        return Err(());
    }
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key));
    cipher
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(drop)
}

/// Bytes as a hex string in the key files.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, KeystoreError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|e| KeystoreError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Write via a temporary file and rename, so a crash never leaves half a key file; mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

fn restrict_dir(dir: &Path) -> Result<(), KeystoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap scrypt so tests stay fast; production uses the default.
    const FAST: KdfParams = KdfParams {
        log_n: 4,
        r: 8,
        p: 1,
    };

    fn key(b: u8) -> SecretKey {
        SecretKey {
            key_type: "secp256k1".into(),
            private_key: Zeroizing::new(vec![b; 32]),
        }
    }

    #[test]
    fn keys_survive_a_restart_and_need_the_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = Keystore::open(dir.path(), FAST).expect("open");
        assert!(matches!(
            ks.insert("f1abc", &key(1)),
            Err(KeystoreError::Locked)
        ));
        assert!(matches!(ks.unlock("pw"), Err(KeystoreError::NoPassword)));
        ks.set_password("pw").expect("set");
        ks.insert("f1abc", &key(7)).expect("insert");
        assert!(matches!(
            ks.insert("f1abc", &key(7)),
            Err(KeystoreError::Exists(_))
        ));
        drop(ks);

        let ks = Keystore::open(dir.path(), FAST).expect("reopen");
        assert_eq!(ks.list().expect("list"), vec!["f1abc".to_owned()]);
        assert!(matches!(ks.get("f1abc"), Err(KeystoreError::Locked)));
        assert!(matches!(
            ks.unlock("nope"),
            Err(KeystoreError::WrongPassword)
        ));
        assert!(!ks.is_unlocked());
        ks.unlock("pw").expect("unlock");
        assert_eq!(*ks.get("f1abc").expect("get").private_key, vec![7u8; 32]);
        ks.lock();
        assert!(matches!(ks.get("f1abc"), Err(KeystoreError::Locked)));
    }

    #[test]
    fn key_material_is_not_on_disk_in_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = Keystore::open(dir.path(), FAST).expect("open");
        ks.set_password("pw").expect("set");
        ks.insert("f1abc", &key(0xAB)).expect("insert");
        let raw = fs::read(dir.path().join("f1abc.key")).expect("read");
        assert!(!raw.windows(8).any(|w| w == [0xAB; 8]));
        assert!(!String::from_utf8_lossy(&raw).contains(&"ab".repeat(16)));
    }

    #[test]
    fn a_key_file_moved_to_another_address_does_not_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = Keystore::open(dir.path(), FAST).expect("open");
        ks.set_password("pw").expect("set");
        ks.insert("f1aaa", &key(1)).expect("insert");
        fs::copy(dir.path().join("f1aaa.key"), dir.path().join("f1bbb.key")).expect("copy");
        ks.lock();
        ks.unlock("pw").expect("unlock");
        assert!(matches!(
            ks.get("f1bbb"),
            Err(KeystoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn remove_and_bad_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = Keystore::open(dir.path(), FAST).expect("open");
        ks.set_password("pw").expect("set");
        assert!(matches!(
            ks.set_password("again"),
            Err(KeystoreError::PasswordAlreadySet)
        ));
        ks.insert("f1aaa", &key(1)).expect("insert");
        ks.remove("f1aaa").expect("remove");
        assert!(matches!(ks.get("f1aaa"), Err(KeystoreError::NotFound(_))));
        assert!(!ks.has("../meta"));
        assert!(matches!(
            ks.insert("../x", &key(1)),
            Err(KeystoreError::NotFound(_))
        ));
        ks.verify_password("pw").expect("right password");
        assert!(matches!(
            ks.verify_password("x"),
            Err(KeystoreError::WrongPassword)
        ));
    }
}
