//! The wallet: keys in the encrypted [`Keystore`], signing under [`policy`], and a broadcast
//! of address changes so every gateway link can tell its gateway at once.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use rand::RngCore;
use tokio::sync::broadcast;
use venus_types::{Address, KeyInfo, KeyType, MsgMeta, Network, PrivateKey, Signature};
use zeroize::Zeroizing;

use crate::keystore::{Keystore, KeystoreError, SecretKey};
use crate::policy::{self, PolicyError, SignPolicy};

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Key(String),
    #[error("address {0} is not in this wallet")]
    NotFound(String),
    #[error(transparent)]
    Slashing(#[from] crate::signed_blocks::SlashingError),
}

/// An address appeared in or left the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressChange {
    Added(Address),
    Removed(Address),
}

pub struct Wallet {
    keystore: Keystore,
    /// Keys parsed and checked against their address, kept while the store is unlocked: a
    /// secp256k1 key costs a scalar multiplication to open, as much as the signature itself.
    opened: parking_lot::RwLock<HashMap<Address, Arc<PrivateKey>>>,
    /// Random bytes of this process, sent to gateways for proofs of possession.
    sign_bytes: [u8; 32],
    changes: broadcast::Sender<AddressChange>,
    /// Which msg types are signed at all, checked before a key is opened.
    sign_policy: SignPolicy,
    /// Slashing protection: the block headers signed per key.
    signed_blocks: crate::signed_blocks::SignedBlocks,
}

/// Key files are named by the mainnet form of the address, whatever network is displayed.
fn key_name(addr: &Address) -> String {
    Network::Mainnet.format_address(addr)
}

impl Wallet {
    /// A wallet signing what [`SignPolicy::default`] allows.
    pub fn new(keystore: Keystore) -> Arc<Self> {
        Self::with_sign_policy(keystore, SignPolicy::default())
    }

    pub fn with_sign_policy(keystore: Keystore, sign_policy: SignPolicy) -> Arc<Self> {
        let mut sign_bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut sign_bytes);
        let (changes, _) = broadcast::channel(256);
        Arc::new(Self {
            keystore,
            opened: parking_lot::RwLock::new(HashMap::new()),
            sign_bytes,
            changes,
            sign_policy,
            signed_blocks: crate::signed_blocks::SignedBlocks::in_memory(),
        })
    }

    /// The record of signed block headers (persist it with `persist_to`).
    pub fn signed_blocks(&self) -> &crate::signed_blocks::SignedBlocks {
        &self.signed_blocks
    }

    pub fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    pub fn sign_bytes(&self) -> &[u8; 32] {
        &self.sign_bytes
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<AddressChange> {
        self.changes.subscribe()
    }

    pub fn list(&self) -> Result<Vec<Address>, WalletError> {
        let mut out = Vec::new();
        for name in self.keystore.list()? {
            match Address::from_str(&name) {
                Ok(a) => out.push(a),
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "ignoring a key file whose name is not an address")
                }
            }
        }
        Ok(out)
    }

    pub fn has(&self, addr: &Address) -> bool {
        self.keystore.has(&key_name(addr))
    }

    pub fn new_key(&self, key_type: KeyType) -> Result<Address, WalletError> {
        let key = PrivateKey::generate(key_type, &mut rand::rngs::OsRng)
            .map_err(|e| WalletError::Key(e.to_string()))?;
        self.store(&key)
    }

    pub fn import(&self, info: &KeyInfo) -> Result<Address, WalletError> {
        let key = PrivateKey::from_key_info(info).map_err(|e| WalletError::Key(e.to_string()))?;
        self.store(&key)
    }

    fn store(&self, key: &PrivateKey) -> Result<Address, WalletError> {
        let addr = key.address();
        let secret = SecretKey {
            key_type: key.key_type().to_string(),
            private_key: key.to_bytes(),
        };
        self.keystore.insert(&key_name(&addr), &secret)?;
        let _ = self.changes.send(AddressChange::Added(addr));
        tracing::info!(%addr, key_type = %key.key_type(), "key added");
        Ok(addr)
    }

    pub fn export(&self, addr: &Address) -> Result<KeyInfo, WalletError> {
        Ok(self.private_key(addr)?.to_key_info())
    }

    /// Lock the keystore and forget every opened key.
    pub fn lock(&self) {
        self.keystore.lock();
        self.opened.write().clear();
    }

    pub fn delete(&self, addr: &Address) -> Result<(), WalletError> {
        self.keystore.remove(&key_name(addr))?;
        self.opened.write().remove(addr);
        let _ = self.changes.send(AddressChange::Removed(*addr));
        tracing::info!(%addr, "key deleted");
        Ok(())
    }

    fn private_key(&self, addr: &Address) -> Result<PrivateKey, WalletError> {
        let secret = self.keystore.get(&key_name(addr)).map_err(|e| match e {
            KeystoreError::NotFound(_) => WalletError::NotFound(addr.to_string()),
            e => WalletError::Keystore(e),
        })?;
        let key_type =
            KeyType::from_str(&secret.key_type).map_err(|e| WalletError::Key(e.to_string()))?;
        let key = PrivateKey::from_bytes(key_type, &secret.private_key)
            .map_err(|e| WalletError::Key(e.to_string()))?;
        if &key.address() != addr {
            return Err(WalletError::Key(format!(
                "the key stored for {addr} belongs to another address"
            )));
        }
        Ok(key)
    }

    /// Sign after checking the request against its `MsgMeta` ([`policy::bytes_to_sign`]).
    pub fn sign(
        &self,
        signer: &Address,
        to_sign: &[u8],
        meta: &MsgMeta,
    ) -> Result<Signature, WalletError> {
        self.sign_as("local", signer, to_sign, meta)
    }

    /// [`Wallet::sign`] for `caller` (a venus-auth user, a gateway link), named in the log
    /// when the sign policy refuses the request's type — before any key is opened.
    pub fn sign_as(
        &self,
        caller: &str,
        signer: &Address,
        to_sign: &[u8],
        meta: &MsgMeta,
    ) -> Result<Signature, WalletError> {
        self.sign_policy.check(&meta.msg_type, signer, caller)?;
        let bytes = Zeroizing::new(policy::bytes_to_sign(
            signer,
            to_sign,
            meta,
            &self.sign_bytes,
        )?);
        let key = self.opened_key(signer)?;
        if meta.msg_type == venus_types::MsgType::Block {
            // The policy decoded it already; never two headers for one miner and height.
            let header: venus_types::BlockHeader = venus_types::from_cbor(to_sign)
                .map_err(|e| WalletError::Key(format!("block header: {e}")))?;
            self.signed_blocks.check_and_record(signer, &header)?;
        }
        Ok(key.sign(&bytes))
    }

    /// The signing key of `addr`, from the opened keys while the store is unlocked.
    fn opened_key(&self, addr: &Address) -> Result<Arc<PrivateKey>, WalletError> {
        if !self.keystore.is_unlocked() {
            return Err(KeystoreError::Locked.into());
        }
        if let Some(key) = self.opened.read().get(addr) {
            return Ok(key.clone());
        }
        let key = Arc::new(self.private_key(addr)?);
        let mut opened = self.opened.write();
        // Checked again under the map's lock: `lock()` clears the map after locking the
        // store, so a key opened just before never outlives the lock.
        if self.keystore.is_unlocked() {
            opened.insert(*addr, key.clone());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::KdfParams;
    use venus_types::MsgType;

    fn wallet() -> (tempfile::TempDir, Arc<Wallet>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = Keystore::open(
            dir.path(),
            KdfParams {
                log_n: 4,
                r: 8,
                p: 1,
            },
        )
        .expect("open");
        ks.set_password("pw").expect("set");
        let policy = SignPolicy::default().allowing(&MsgType::Unknown);
        (dir, Wallet::with_sign_policy(ks, policy))
    }

    #[test]
    fn the_sign_policy_refuses_before_the_key_is_touched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kdf = KdfParams {
            log_n: 4,
            r: 8,
            p: 1,
        };
        let ks = Keystore::open(dir.path(), kdf).expect("open");
        ks.set_password("pw").expect("set");
        let w = Wallet::new(ks);
        let addr = w.new_key(KeyType::Secp256k1).expect("new");
        let raw = MsgMeta::new(MsgType::Unknown);
        assert!(matches!(
            w.sign_as("u1", &addr, b"x", &raw),
            Err(WalletError::Policy(PolicyError::NotAllowed(t))) if t == "unknown"
        ));
        assert!(w.opened.read().is_empty(), "no key was opened");
        // Locked or not, the answer is the policy's: the keystore is never consulted.
        w.lock();
        assert!(matches!(
            w.sign(&addr, b"x", &MsgMeta::new(MsgType::F3)),
            Err(WalletError::Policy(PolicyError::NotAllowed(_)))
        ));
    }

    #[test]
    fn signatures_verify_with_the_types_crate() {
        let (_d, w) = wallet();
        for kt in [KeyType::Secp256k1, KeyType::Bls] {
            let addr = w.new_key(kt).expect("new");
            let sig = w
                .sign(&addr, b"hello", &MsgMeta::new(MsgType::Unknown))
                .expect("sign");
            venus_types::crypto::verify(&sig, b"hello", &addr).expect("verifies");
            assert!(venus_types::crypto::verify(&sig, b"other", &addr).is_err());
        }
        assert_eq!(w.list().expect("list").len(), 2);
    }

    #[test]
    fn export_import_round_trip_and_locking() {
        let (_d, w) = wallet();
        let mut changes = w.subscribe_changes();
        let addr = w.new_key(KeyType::Secp256k1).expect("new");
        assert_eq!(
            changes.try_recv().expect("event"),
            AddressChange::Added(addr)
        );
        let exported = w.export(&addr).expect("export");
        w.delete(&addr).expect("delete");
        assert_eq!(
            changes.try_recv().expect("event"),
            AddressChange::Removed(addr)
        );
        assert!(!w.has(&addr));
        assert_eq!(w.import(&exported).expect("import"), addr);
        w.keystore().lock();
        assert!(matches!(
            w.sign(&addr, b"x", &MsgMeta::new(MsgType::Unknown)),
            Err(WalletError::Keystore(KeystoreError::Locked))
        ));
        assert!(w.has(&addr), "listing works while locked");
    }

    #[test]
    fn opened_keys_do_not_outlive_lock_or_delete() {
        let (_d, w) = wallet();
        let addr = w.new_key(KeyType::Secp256k1).expect("new");
        let meta = MsgMeta::new(MsgType::Unknown);
        let first = w.sign(&addr, b"x", &meta).expect("sign");
        assert_eq!(w.opened.read().len(), 1, "the key stays opened");
        assert_eq!(w.sign(&addr, b"x", &meta).expect("sign again"), first);
        w.lock();
        assert!(w.opened.read().is_empty());
        assert!(matches!(
            w.sign(&addr, b"x", &meta),
            Err(WalletError::Keystore(KeystoreError::Locked))
        ));
        // Locking the keystore alone (not through the wallet) also stops signing at once.
        w.keystore().unlock("pw").expect("unlock");
        w.sign(&addr, b"x", &meta).expect("sign after unlock");
        w.keystore().lock();
        assert!(matches!(
            w.sign(&addr, b"x", &meta),
            Err(WalletError::Keystore(KeystoreError::Locked))
        ));
        w.keystore().unlock("pw").expect("unlock");
        w.delete(&addr).expect("delete");
        assert!(matches!(
            w.sign(&addr, b"x", &meta),
            Err(WalletError::NotFound(_))
        ));
    }

    #[test]
    fn refused_requests_are_not_signed() {
        let (_d, w) = wallet();
        let addr = w.new_key(KeyType::Secp256k1).expect("new");
        let meta = MsgMeta {
            msg_type: MsgType::ChainMsg,
            extra: vec![].into(),
        };
        assert!(matches!(
            w.sign(&addr, b"x", &meta),
            Err(WalletError::Policy(_))
        ));
        let stranger = Address::new_id(5);
        assert!(matches!(
            w.sign(&stranger, b"x", &MsgMeta::new(MsgType::Unknown)),
            Err(WalletError::NotFound(_))
        ));
    }
}
